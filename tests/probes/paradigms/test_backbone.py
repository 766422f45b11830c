"""The shared MLP builder: stacked copies behave like separate networks; configs validate."""

from __future__ import annotations

import pytest
import torch

from probes.paradigms import BackboneConfig, build_mlp
from probes.paradigms._backbone import CrossStitchMLP, SharedTrunkNet


@pytest.mark.parametrize(
    "config", [BackboneConfig(), BackboneConfig(width=16, depth=3, activation="tanh", norm="layer")]
)
def test_stacked_copies_equal_separate_networks(config: BackboneConfig) -> None:
    torch.manual_seed(0)
    stacked = build_mlp(5, config, 2, copies=3)
    x = torch.randn(3, 7, 5)
    out = stacked(x)
    assert out.shape == (3, 7, 2)
    for k in range(3):
        single = build_mlp(5, config, 2)
        single.load_state_dict({name: value[k : k + 1] for name, value in stacked.state_dict().items()})
        torch.testing.assert_close(single(x[k : k + 1])[0], out[k])


def test_trunk_without_output_ends_at_the_hidden_width() -> None:
    trunk = build_mlp(4, BackboneConfig(width=12, depth=2))
    assert trunk(torch.randn(1, 3, 4)).shape == (1, 3, 12) and trunk.out_features == 12


def test_shared_trunk_gives_every_task_an_output() -> None:
    net = SharedTrunkNet(6, BackboneConfig(width=8), n_tasks=4, out_features=3)
    assert net(torch.randn(10, 6)).shape == (10, 4, 3)
    assert net.features(torch.randn(10, 6)).shape == (10, 8)


def test_cross_stitch_mixes_task_columns() -> None:
    net = CrossStitchMLP(6, BackboneConfig(width=8, depth=2), n_tasks=3, out_features=1)
    assert net(torch.randn(5, 6)).shape == (5, 3, 1)
    stitch = net.stitches[0].detach()
    assert torch.allclose(stitch.sum(1), torch.ones(3)) and (stitch.diagonal() > 0.8).all()


@pytest.mark.parametrize(
    "kwargs", [{"activation": "softsign"}, {"norm": "batch"}, {"width": 0}, {"dropout": 1.0}, {"depth": -1}]
)
def test_invalid_backbones_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        BackboneConfig(**kwargs)
