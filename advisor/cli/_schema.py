"""``advisor schema``: the JSON Schema of the recommendation (the contract pipelines validate against)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from advisor.cli._common import write_failure

OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", metavar="PATH", help="Write the schema to PATH instead of stdout.")
]


def schema_command(out: OutOpt = None) -> None:
    """Print the JSON Schema of the Recommendation that `recommend --json` emits."""
    from advisor.schemas import Recommendation

    text = json.dumps(Recommendation.json_schema(), indent=2, sort_keys=True) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise write_failure("the schema", out, exc) from None
