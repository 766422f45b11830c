"""The recommendation's words, built once from the decision: headline, confidence sentence, model evidence.

Nothing here decides anything: every sentence reads a :class:`~advisor._decision.Decision`
(and the probe evidence behind it), and no sentence is edited after it is written.
"""

from __future__ import annotations

from advisor._decision import Decision
from advisor._rules import NAMES, listed
from probes.budget import BUDGETS
from probes.evidence import ProbeEvidence

__all__ = ["confidence_sentence", "headline", "model_statement", "settle_hint"]

_VERDICT = {"clear": "Clear", "equivalent": "Equivalent", "uncertain": "Uncertain"}
#: The next larger budget, and what it adds, for "what would settle it".
_LARGER = {"fast": "standard", "standard": "thorough"}


def settle_hint(budget: str, *, partial: bool) -> str:
    """What would settle an uncertain answer: the run without its time limit, or the next budget."""
    if partial:
        return "rerunning without the time limit (or with a larger one) would settle it"
    larger = _LARGER.get(budget)
    if larger is None:
        return "a full-budget comparison on every row would settle it"
    p = BUDGETS[larger]
    rows = f"up to {p.max_rows_per_task:,} rows per task" if p.max_rows_per_task else "every row"
    search = f", a {p.n_trials}-trial hyper-parameter search" if p.n_trials else ""
    return f"the {larger} budget ({p.n_folds} folds, {rows}{search}) would settle it"


def _what(chosen: str, variant: str | None) -> str:
    return f"{NAMES[chosen]} ({variant})" if variant else NAMES[chosen]


def _gain(ev: ProbeEvidence, chosen: str) -> str:
    c = ev.deltas.get(chosen)
    if chosen == "stl":
        better = [p for p, d in ev.deltas.items() if d.significant and d.mean_difference > 0]
        return "no sharing paradigm beats it beyond noise" if not better else "it ties the best paradigm at full budget"
    if c is None:
        return "single-task learning could not be scored"
    return f"{c.mean_difference:+.3f} over single-task learning (95% interval [{c.ci_low:+.3f}, {c.ci_high:+.3f}])"


def headline(decision: Decision, ev: ProbeEvidence, variant: str | None, *, budget: str, partial: bool) -> str:
    """One paragraph: the verdict first, the choice, why, and its confidence."""
    s = decision.settled
    chosen, p = s.chosen, decision.confidence
    label = _VERDICT[s.verdict]
    end = f" Confidence {p:.2f}."
    if s.why == "only":
        return f"{label}: {_what(chosen, variant)}: there is one task, so nothing can be shared.{end}"
    if s.why == "ahead":
        return f"{label}: {_what(chosen, variant)}: {_gain(ev, chosen)}.{end}"
    if s.why == "tied":
        return (
            f"{label}: {listed(list(s.equivalent_to))} are practically tied; {_what(chosen, variant)} is the simplest "
            f"of them.{end}"
        )
    hint = settle_hint(budget, partial=partial)
    if s.why == "nothing_learned":
        return (
            f"{label}: no paradigm learns this target: every probe scores at or below a constant predictor "
            f"({ev.constant_score:g}). {_what(chosen, variant).capitalize()} does least badly, but expect little from "
            f"any of them; more rows or more informative features would help more than a paradigm.{end}"
        )
    if s.why == "partial":
        cut = [f"{q} {len(r.folds)}/{r.n_folds_planned}" for q, r in ev.representatives.items()]
        cut += [f"{q} none" for q in decision.unscored]
        return (
            f"{label} (partial: a time limit cut the probes; folds finished: {', '.join(cut)}): "
            f"{_what(chosen, variant)} leads so far; {hint}.{end}"
        )
    if s.why == "conflict":
        best = ev.noise.best
        return (
            f"{label}: {_what(chosen, variant)}: the learned model expects it to match the best paradigm at full "
            f"budget, but the probes put {best} ahead beyond noise ({ev.noise.means[best]:.3f} against "
            f"{ev.noise.means[chosen]:.3f}); {hint}.{end}"
        )
    if s.why == "overruled":
        above = sorted((v for v in decision.vetoes if decision.every.get(v, 0.0) > p), key=lambda v: -decision.every[v])
        rules = ", ".join(sorted({r for v in above for r in decision.vetoes[v]}))
        rated = ", ".join(f"{v} {decision.every[v]:.2f}" for v in above)
        return (
            f"{label}: {_what(chosen, variant)}: the learned model rates {listed(above)} higher ({rated}), but rule "
            f"{rules} ruled {'it' if len(above) == 1 else 'them'} out; {hint}.{end}"
        )
    vetoed = sorted(decision.vetoes)
    why = f"the learned model gives it only a {p:.2f} chance of matching the best paradigm at full budget"
    if vetoed:
        why += (
            f" (rule {', '.join(sorted({r for v in vetoed for r in decision.vetoes[v]}))} ruled out {listed(vetoed)})"
        )
    return f"{label}: {_what(chosen, variant)} is the simplest safe choice, but {why}; {hint}.{end}"


def confidence_sentence(decision: Decision) -> str:
    """What the one probability means, in one sentence."""
    chosen = decision.chosen
    if decision.settled.why == "only":
        return f"Confidence 1.00: {chosen} is the only paradigm that applies to a single task."
    if decision.model_cases is None:
        return (
            f"Confidence {decision.confidence:.2f}: the probability that no rival beats {chosen} by more than 0.01, "
            "from the probes' paired comparisons (no learned model is installed, so it is not calibrated)."
        )
    return (
        f"Confidence {decision.confidence:.2f}: the learned model's probability that {chosen} scores as well as the "
        f"best paradigm would with a full budget (within noise), from what these probes measured; the model was "
        f"trained on {decision.model_cases} benchmark cases with known full-budget results."
    )


def model_statement(decision: Decision) -> str:
    """The learned model's evidence: its probabilities, what the rules vetoed, and how the choice follows."""
    listed_p = ", ".join(f"{p} {v:.2f}" for p, v in sorted(decision.every.items(), key=lambda kv: -kv[1]))
    s = decision.settled
    text = f"The learned recommender's probability of being a full-budget co-winner: {listed_p}."
    if decision.vetoes:
        text += (
            " Ruled out by the rules, whatever their probability: "
            + "; ".join(f"{p} ({', '.join(rules)})" for p, rules in sorted(decision.vetoes.items()))
            + "."
        )
    if s.why == "tied":
        text += f" The practically tied set is {listed(list(s.equivalent_to))}; the simplest, {s.chosen}, is chosen."
    elif s.chosen != s.top:
        text += (
            f" {s.chosen} is within the model's simplicity margin ({decision.margin:.2f}) of {s.top} and simpler, so "
            "it is chosen."
        )
    if decision.rules_choice != s.chosen:
        text += f" The rules alone would choose {decision.rules_choice}."
    if decision.unscored:
        text += f" Not scored by the probes: {listed(list(decision.unscored))}."
    return text
