"""The decision: the rules' vetoes and the learned model's ranking in one object, and its verdict.

:func:`settle` is the one place a choice and its verdict are made, from plain numbers, so the
benchmark (which reads cached probe features) and a live recommendation decide alike:

* the **candidates** are the scored, applicable paradigms no rule vetoed (STL is never vetoed);
* the learned model gives each candidate P(full-budget co-winner);
* **equivalent** — the model's top paradigm and the next ones, in order of probability, while
  their joint probability (the product, as if independent) stays at or above ``tie`` and each is
  practically tied with the best probe (within :data:`PRACTICAL_DELTA` of its score, or a probe
  co-winner): when two or more qualify, the simplest of them is the choice;
* **clear** — otherwise the model's choice (the simplest within its margin of the top), when its
  probability is at least 0.5 and the probes do not contradict it (it is practically tied with
  the best probe);
* **uncertain** — every other case: the model rates its own choice below 0.5, or rates a paradigm
  a rule vetoed above it, the probes and the model disagree, the probes were cut short by a time
  limit, or no paradigm beats a constant predictor. The choice stays the model's
  (the simplest within its margin): on the generated benchmark cases where the probes and the
  model disagree, it loses 0.013 score points on average against 0.153 for always choosing STL,
  and where nothing is learned the simplest paradigm is often far worse (STL from a few shots
  on the radon case: 0.10 below meta-learning).

``tie`` is chosen by :mod:`benchmarks.train_recommender` on generated cases, out of fold, and
shipped in the model's ``meta`` (``equivalence``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from advisor._learned import ALL_PARADIGMS, candidates, choose
from probes.protocol import complexity

__all__ = ["PRACTICAL_DELTA", "Decision", "Settled", "decide", "practically_tied", "settle"]

#: Two probe scores this close (in the goal's score) are practically tied for a user.
PRACTICAL_DELTA = 0.005
#: Default joint probability for the equivalence rule when the model's meta has none.
DEFAULT_TIE = 0.7


@dataclass(frozen=True)
class Settled:
    """The outcome of :func:`settle`."""

    chosen: str
    verdict: str
    equivalent_to: tuple[str, ...]
    why: str
    """``ahead``, ``tied``, ``only``, ``low_probability``, ``conflict``, ``overruled``, ``partial`` or
    ``nothing_learned``."""
    top: str
    """The paradigm the model ranks first."""


def settle(
    probabilities: dict[str, float],
    practically_tied: set[str],
    *,
    margin: float = 0.0,
    tie: float = DEFAULT_TIE,
    alone: bool = False,
    partial: bool = False,
    nothing_learned: bool = False,
    vetoed: dict[str, float] | None = None,
) -> Settled:
    """Choose among ``probabilities``' paradigms (the candidates) and say how firm the choice is.

    ``practically_tied``: the paradigms within :data:`PRACTICAL_DELTA` of the best probe score or
    not significantly worse than it. ``alone``: nothing else applies (one task), so the one
    candidate is certain. ``vetoed``: the model's probabilities of the paradigms a rule ruled out;
    one rated above the choice makes the answer uncertain (the rule and the model disagree).
    """
    if not probabilities:
        raise ValueError("no candidate to choose from")
    top = max(probabilities, key=lambda p: (round(probabilities[p], 6), -complexity(p)))
    if alone and len(probabilities) == 1:
        return Settled(top, "clear", (), "only", top)
    chosen = choose(probabilities, margin)
    tied = _tied_set(probabilities, practically_tied, tie)
    if nothing_learned:
        return Settled(chosen, "uncertain", (), "nothing_learned", top)
    if partial:
        return Settled(chosen, "uncertain", (), "partial", top)
    if any(v > probabilities[chosen] for v in (vetoed or {}).values()):
        return Settled(chosen, "uncertain", (), "overruled", top)
    if len(tied) >= 2 and chosen in tied:
        return Settled(min(tied, key=complexity), "equivalent", tuple(sorted(tied, key=complexity)), "tied", top)
    if probabilities[chosen] < 0.5:
        return Settled(chosen, "uncertain", (), "low_probability", top)
    if chosen not in practically_tied:
        return Settled(chosen, "uncertain", (), "conflict", top)
    return Settled(chosen, "clear", (), "ahead", top)


def _tied_set(probabilities: dict[str, float], practically_tied: set[str], tie: float) -> list[str]:
    order = sorted(probabilities, key=lambda p: (-round(probabilities[p], 6), complexity(p)))
    tied, joint = [order[0]], probabilities[order[0]]
    if order[0] not in practically_tied:
        return []
    for p in order[1:]:
        if p in practically_tied and joint * probabilities[p] >= tie:
            tied.append(p)
            joint *= probabilities[p]
    return tied if len(tied) >= 2 else []


@dataclass(frozen=True)
class Decision:
    """Everything the recommendation says about its choice, before any wording."""

    rules_choice: str
    scored: tuple[str, ...]
    """Applicable paradigms the probes scored."""
    vetoes: dict[str, list[str]]
    """Per paradigm, the ids of the rules that ruled it out of the choice."""
    probabilities: dict[str, float]
    """The learned model's P(full-budget co-winner) per candidate (the rules' confidence without a model)."""
    settled: Settled
    margin: float = 0.0
    model_cases: int | None = None
    """Benchmark cases the learned model was trained on; ``None`` without a model."""
    unscored: tuple[str, ...] = field(default_factory=tuple)
    """Applicable paradigms the probes could not score (a time limit, a failure)."""
    every: dict[str, float] = field(default_factory=dict)
    """The model's probability for every scored paradigm, vetoed ones included."""

    @property
    def chosen(self) -> str:
        return self.settled.chosen

    @property
    def verdict(self) -> str:
        return self.settled.verdict

    @property
    def confidence(self) -> float:
        return self.probabilities[self.chosen]

    @property
    def candidates(self) -> list[str]:
        return list(self.probabilities)


def practically_tied(features: dict[str, float], probe_scores: dict[str, float]) -> set[str]:
    """Paradigms within :data:`PRACTICAL_DELTA` of the best probe score, or probe co-winners (features' flags)."""
    if not probe_scores:
        return set()
    best = max(probe_scores.values())
    return {
        p
        for p, s in probe_scores.items()
        if s >= best - PRACTICAL_DELTA or float(features.get(f"{p}_probe_cowinner", 0.0) or 0.0) > 0
    }


def decide(
    model: object | None,
    features: dict[str, float],
    probe_scores: dict[str, float],
    *,
    vetoes: dict[str, list[str]] | None = None,
    rules_choice: str | None = None,
    rules_confidence: float | None = None,
    nothing_learned: bool = False,
) -> tuple[Settled, dict[str, float], dict[str, float], dict[str, list[str]]]:
    """The decision from a case's meta-features and probe scores: what the answer and the benchmark both call.

    ``probe_scores``: the scored, applicable paradigms. ``vetoes``: per paradigm, the rules that
    ruled it out (default: the R6 veto read off the features, :func:`advisor._learned.candidates`).
    ``model``: a :class:`~advisor._learned.LearnedModel`, or ``None`` for the rules' own choice
    and confidence. Returns the settled choice, the candidates' probabilities, every scored
    paradigm's probability and the vetoes.
    """
    scored = [p for p in ALL_PARADIGMS if p in probe_scores]
    if vetoes is None:
        kept = candidates(features, scored)
        vetoes = {p: ["R6-small-budget-bias"] for p in scored if p not in kept}
    pool = [p for p in scored if p not in vetoes] or ["stl" if "stl" in scored else scored[0]]
    alone = len(scored) == 1 and not any(
        float(features.get(f"{p}_applicable", 0.0) or 0.0) > 0 for p in ALL_PARADIGMS if p != scored[0]
    )
    # A paradigm that applies but was not scored (a time limit, a failure) leaves the comparison incomplete.
    unscored = any(
        float(features.get(f"{p}_applicable", 0.0) or 0.0) > 0 and p not in probe_scores for p in ALL_PARADIGMS
    )
    partial = float(features.get("partial", 0.0) or 0.0) > 0 or unscored
    tied = practically_tied(features, probe_scores)
    if alone:
        probs = {scored[0]: 1.0}
        every = dict(probs)
    elif model is None:  # the rules' own choice and confidence
        choice = rules_choice if rules_choice in pool else pool[0]
        probs = {choice: float(rules_confidence if rules_confidence is not None else 0.0)}
        every = dict(probs)
    else:
        every = {p: model.probability(features, p) for p in scored}  # type: ignore[attr-defined]
        probs = {p: every[p] for p in pool}
    margin = float(getattr(model, "margin", 0.0)) if model is not None else 0.0
    tie = float((getattr(model, "meta", None) or {}).get("equivalence", DEFAULT_TIE))
    overruled = {p: every[p] for p in vetoes if p in every}  # the model's view of what the rules ruled out
    settled = settle(
        probs,
        tied,
        margin=margin,
        tie=tie,
        alone=alone,
        partial=partial,
        nothing_learned=nothing_learned,
        vetoed=overruled,
    )
    return settled, probs, every, vetoes
