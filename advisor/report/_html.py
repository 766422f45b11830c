"""The report page: one self-contained HTML document built from a ``Recommendation``.

Every user-provided string (task, column and variant names, warnings, reasons) goes through
``html.escape`` with control characters dropped, and names are isolated in ``<bdi>`` so that
right-to-left text in one cannot reorder the page around it; unmeasured numbers are shown as
"not measured", never guessed.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, partial
from importlib import metadata, resources
from typing import TYPE_CHECKING, Any

import numpy as np

from advisor.report import _plots
from advisor.report._style import CSS

if TYPE_CHECKING:
    from advisor._recommendation import (
        BudgetUsed,
        Evidence,
        LearningCurve,
        RankingEntry,
        Recommendation,
        Relatedness,
        TaskReport,
    )
    from probes.data import DataProfile

__all__ = ["render_html", "renderer_fingerprint"]

HIGH_RISK = 0.8
MEDIUM_RISK = 0.5
# Longer task tables scroll inside their own box, so the sections after them stay close.
_SCROLL_ROWS = 15
# Harmful sources listed inline before the rest fold away.
_INLINE_SOURCES = 2
_NA = '<span class="na">not measured</span>'
_DASH = '<span class="na" title="not measured">—</span>'
# Most tasks drawn in a heatmap: past this, a tasks x tasks matrix is texture, not information.
MAX_HEATMAP_TASKS = 40
# Sorts a table.sortable by the column of a clicked header (th[data-col]): numbers by their data-v
# (empty = not measured, always last), text in natural order (task 2 before task 10). No network.
SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  function key(row, col) {
    var cell = row.cells[col], s = cell.getAttribute("data-s"), v = cell.getAttribute("data-v");
    if (s !== null) { return s; }
    if (v === null) { return cell.textContent.trim(); }
    return v === "" ? null : parseFloat(v);
  }
  function sort(th) {
    var col = +th.getAttribute("data-col"), up = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, col), y = key(b, col);
      if (x === null || y === null) { return x === y ? 0 : (x === null ? 1 : -1); }
      var c = typeof x === "number" && typeof y === "number" ? x - y
        : String(x).localeCompare(String(y), undefined, {numeric: true, sensitivity: "base"});
      return up ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  table.querySelectorAll("th[data-col]").forEach(function (th) {
    th.tabIndex = 0;
    th.title = "Sort by this column (click again to reverse)";
    th.addEventListener("click", function () { sort(th); });
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(th); }
    });
  });
});
"""
# No network, and no script but the sorter above (allowed by its hash): even a string that escaped
# escaping could not load or run anything. A server sending the page should send this policy as its
# header (a stricter header would switch the sorter off; the page still reads, unsorted).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src 'sha256-{base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode()}'"
)


@cache
def renderer_fingerprint() -> str:
    """A short digest of what draws the page: this package's source and matplotlib's version.

    A page rendered once and kept (the service's ``data_dir/reports``) is drawn again when the
    digest changes, so an upgrade that changes the report is seen on jobs finished before it.
    """
    digest = hashlib.sha256()
    for module in ("_html.py", "_plots.py", "_style.py"):
        try:
            digest.update(resources.files("advisor.report").joinpath(module).read_bytes())
        except (FileNotFoundError, OSError):  # a packaging without sources: the versions must do
            digest.update(module.encode())
    for distribution in ("paradigm-advisor", "matplotlib"):
        try:
            digest.update(metadata.version(distribution).encode())
        except metadata.PackageNotFoundError:
            digest.update(distribution.encode())
    return digest.hexdigest()[:12]


def render_html(rec: Recommendation) -> str:
    """Render ``rec`` as one self-contained HTML page (inline CSS and SVG, no network).

    The only script is the page's own table sorter (:data:`SORT_SCRIPT`), allowed by its hash in the
    Content-Security-Policy: nothing else can run, whatever the data's names hold.

    Parameters
    ----------
    rec
        The recommendation to report. Fields that were not measured (``None``) are shown as
        "not measured".

    Returns
    -------
    str
        The HTML document. ``rec.to_html(path)`` writes it to a file.

    Examples
    --------
    >>> page = render_html(rec)  # doctest: +SKIP
    >>> Path("report.html").write_text(page, encoding="utf-8")  # doctest: +SKIP
    """
    sections = [
        _header(rec),
        _ranking(rec),
        _rationale(rec.rationale),
        _tasks(rec),
        _relatedness(rec),
        _groups(rec),
        _curves(rec.learning_curves),
        _warnings(rec.warnings),
        _data(rec.data),
        _footer(rec),
    ]
    title = f"Paradigm advice: {rec.headline}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(sections)
        + f"\n</main>\n<script>{SORT_SCRIPT}</script>\n</body>\n</html>\n"
    )


# --- formatting -------------------------------------------------------------------------------


# C0 controls (and DEL) other than tab, newline and carriage return: invisible, and some are not allowed in HTML.
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


def _e(value: object) -> str:
    return html.escape(str(value).translate(_CONTROLS), quote=True)


def _n(name: object) -> str:
    """A user-chosen name (task, column, variant), escaped and isolated so right-to-left text cannot reorder the rest."""
    return f"<bdi>{_e(name)}</bdi>"


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _num(value: float | None, digits: int = 3, *, na: str = _NA) -> str:
    if not _finite(value):
        return na
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return f"{value:+.3f}" if _finite(value) else "not measured"


def _interval(low: float | None, high: float | None, *, na: str = _NA) -> str:
    if not (_finite(low) and _finite(high)):
        return na
    return f"[{low:.3f}, {high:.3f}]"


def _value(value: Any) -> str:
    """Any JSON-like value as escaped HTML: numbers formatted, ``None`` as "not measured"."""
    if value is None:
        return _NA
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _num(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{_e(k)}: {_value(v)}" for k, v in value.items()) or '<span class="na">none</span>'
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or '<span class="na">none</span>'
    return _e(value)


def _rows(value: float | None) -> str:
    """A row count; medians may be halves."""
    if not _finite(value):
        return _NA
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _facts(rows: Iterable[tuple[str, str]]) -> str:
    """A definition list; values are HTML already escaped by the caller."""
    items = "".join(f"<dt>{_e(label)}</dt><dd>{value}</dd>" for label, value in rows)
    return f'<dl class="facts">{items}</dl>'


def _figure(plot_id: str, draw: Callable[[], str | None], caption: str, *, empty: str) -> str:
    """A ``<figure class="plot">`` with the drawn SVG, or a sentence saying why there is none."""
    try:
        svg = draw()
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("matplotlib"):
            raise
        return '<p class="na">Plot not drawn: matplotlib is not installed (<code>pip install matplotlib</code>).</p>'
    if svg is None:
        return f'<p class="na">{_e(empty)}</p>'
    return f'<figure class="plot" id="plot-{plot_id}">{svg}<figcaption>{caption}</figcaption></figure>'


def _section(section_id: str, title: str, body: str) -> str:
    return f'<section id="{section_id}">\n<h2>{_e(title)}</h2>\n{body}\n</section>'


def _table(head: Sequence[str], rows: Iterable[str], *, numeric: Iterable[int] = ()) -> str:
    numeric = set(numeric)
    cells = "".join(f'<th{" class=num" if i in numeric else ""} scope="col">{_e(h)}</th>' for i, h in enumerate(head))
    return f'<div class="wide"><table><thead><tr>{cells}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


# --- sections ---------------------------------------------------------------------------------


def _budget(budget: BudgetUsed) -> str:
    used = f"{budget.seconds_used:.1f} s"
    limit = f" of {budget.seconds_limit:.0f} s" if _finite(budget.seconds_limit) else " (no time limit)"
    parts = [f"<code>{_e(budget.name)}</code>: {used}{limit}", f"{budget.folds} folds"]
    if budget.max_rows_per_task is not None:
        parts.append(f"at most {budget.max_rows_per_task:,} rows per task")
    if budget.subsampled:
        parts.append("rows subsampled")
    text = ", ".join(parts)
    if budget.partial:
        text += ' <span class="badge warn">partial: the time limit cut some probes short</span>'
    if budget.phases:
        keys: list[str] = []
        for phase in budget.phases:
            keys += [k for k in phase if k not in keys]
        rows = ("<tr>" + "".join(f"<td>{_value(p.get(k))}</td>" for k in keys) + "</tr>" for p in budget.phases)
        text += f"<details><summary>phases</summary>{_table(keys, rows)}</details>"
    return text


def _target(rec: Recommendation) -> str:
    if rec.target_task:
        return _n(rec.target_task)
    if rec.goal == "new_tasks":
        return '<span class="na">none (the advice is for new tasks; held-out tasks stand in for them)</span>'
    return '<span class="na">none (all tasks)</span>'


def _header(rec: Recommendation) -> str:
    name = rec.data.source.get("name")
    dataset = _n(name) if name else '<span class="na">unnamed</span>'
    dataset += (
        f" — {rec.data.n_rows:,} rows, {rec.data.n_tasks} task{'s' if rec.data.n_tasks != 1 else ''}, "
        f"{rec.data.n_features} features"
    )
    variant = f" variant <code>{_n(rec.variant)}</code>" if rec.variant else ""
    choice = (
        f'Recommended: <span class="badge chosen">{_e(rec.paradigm.upper())}</span>{variant} — '
        f"confidence <strong>{rec.confidence:.2f}</strong> "
        f'<span class="muted">({_e(rec.confidence_method)})</span>'
    )
    versions = ", ".join(f"{_e(k)} {_e(v)}" for k, v in rec.versions.items()) or '<span class="na">none recorded</span>'
    facts = _facts(
        [
            ("Goal", _e(rec.goal)),
            ("Layout", _e(rec.layout)),
            ("Target task", _target(rec)),
            ("Dataset", dataset),
            ("Budget used", f'<div id="budget">{_budget(rec.budget)}</div>'),
            ("Seed", _e(rec.seed)),
            ("Versions", versions),
        ]
    )
    nav = (
        "<nav>"
        + "".join(
            f'<a href="#{i}">{t}</a>'
            for i, t in [
                ("ranking", "Ranking"),
                ("rationale", "Rationale"),
                ("tasks", "Tasks"),
                ("affinity", "Relatedness"),
                ("groups", "Groups"),
                ("curves", "Learning curves"),
                ("warnings", f"Warnings ({len(rec.warnings)})"),
                ("data", "Data"),
            ]
        )
        + "</nav>"
    )
    return (
        f'<header id="summary">\n<h1>Paradigm recommendation</h1>\n{_verdict(rec)}'
        f'<p class="headline">{_e(rec.headline)}</p>\n<p class="choice">{choice}</p>\n{facts}\n{nav}\n</header>'
    )


_VERDICTS = {
    "clear": ("Clear", "one paradigm is ahead beyond noise, and the learned model agrees"),
    "equivalent": ("Equivalent", "these paradigms are practically tied; the simplest of them is recommended"),
    "uncertain": ("Uncertain", "the evidence conflicts or is too thin; the simplest safe choice is recommended"),
}


def _verdict(rec: Recommendation) -> str:
    """The verdict as a badge with its meaning, first on the page; nothing for results without one (schema < 1.2)."""
    if rec.verdict is None:
        return ""
    label, meaning = _VERDICTS.get(str(rec.verdict), (str(rec.verdict).capitalize(), ""))
    if rec.verdict == "equivalent" and rec.equivalent_to:
        label += ": " + ", ".join(rec.equivalent_to)
    meaning = f' <span class="muted">{_e(meaning)}</span>' if meaning else ""
    return (
        f'<p class="verdict" id="verdict"><span class="badge verdict-{_e(rec.verdict)}">{_e(label)}</span>'
        f"{meaning}</p>\n"
    )


def _evidence(item: Evidence) -> str:
    meta = [f"rule <code>{_e(item.rule)}</code>"]
    if item.supports:
        meta.insert(0, f'supports <span class="badge">{_e(item.supports)}</span>')
    chips = "".join(f"<li>{_e(k)} = {_value(v)}</li>" for k, v in item.numbers.items())
    numbers = f'<ul class="chips">{chips}</ul>' if chips else ""
    return f'<li>{_e(item.statement)}<div class="small muted">{" · ".join(meta)}</div>{numbers}</li>'


def _about_one_task(item: Evidence) -> bool:
    """A finding about a single task (its harmful sources, say), which the per-task table shows."""
    return "task" in item.numbers


def _rationale(items: Sequence[Evidence]) -> str:
    if not items:
        return _section("rationale", "Rationale", '<p class="na">No rationale was recorded.</p>')
    overall = [i for i in items if not _about_one_task(i)]
    per_task = [i for i in items if _about_one_task(i)]
    body = f'<ol class="rationale">{"".join(map(_evidence, overall))}</ol>' if overall else ""
    if per_task:
        rules: dict[str, int] = {}
        for item in per_task:
            rules[item.rule] = rules.get(item.rule, 0) + 1
        kinds = ", ".join(f"{count} from <code>{_e(rule)}</code>" for rule, count in rules.items())
        findings = "".join(f"<li>{_e(item.statement)}</li>" for item in per_task)
        body += (
            f'<div class="per-task"><p>{len(per_task)} finding{"s" if len(per_task) != 1 else ""} about single '
            f"tasks ({kinds}) {'are' if len(per_task) != 1 else 'is'} shown per task in the "
            '<a href="#tasks">task table</a> (its risk and harmful-sources columns).</p>'
            f"<details><summary>List them</summary><ul class=small>{findings}</ul></details></div>"
        )
    return _section("rationale", "Rationale", body)


def _vetoed(rec: Recommendation) -> dict[str, str]:
    """Paradigms a rule ruled out of the choice, with why.

    Since schema 1.2 each ranking entry names the rules (``vetoed_by``). Results written before say
    it only by omission: when the learned recommender ran, it scored every paradigm the rules left
    it, and a scored one without P(co-winner) is one rule R6 vetoed (its difference to STL is not a
    gain beyond noise on tasks the probes subsampled).
    """
    named = {e.paradigm: e.vetoed_by for e in rec.ranking if e.vetoed_by}
    if named or rec.verdict is not None:
        return {p: f"ruled out of the choice by {_rule_list(rules)}" for p, rules in named.items()}
    if not any(e.p_cowinner is not None for e in rec.ranking):
        return {}  # no learned recommender ran: nothing was vetoed from it
    out = {}
    for e in rec.ranking:
        if e.applicable and e.probe_score is not None and e.p_cowinner is None:
            interval = _interval(e.delta_ci_low, e.delta_ci_high, na="")
            out[e.paradigm] = (
                f"vetoed by rule R6: its difference to STL ({_signed(e.delta_vs_stl)}"
                f"{', 95 % interval ' + interval if interval else ''}) is not a gain beyond noise, and the tasks "
                "advised on were subsampled for the probes; such gains shrink with the full data"
            )
    return out


def _rule_list(rules: Sequence[str]) -> str:
    return ("rule " if len(rules) == 1 else "rules ") + ", ".join(rules)


def _ranking_row(entry: RankingEntry, chosen: str, vetoed: Mapping[str, str]) -> str:
    classes = []
    if entry.paradigm == chosen:
        classes.append("chosen")
    if entry.paradigm in vetoed:
        classes.append("vetoed")
    if not entry.applicable:
        classes.append("inapplicable")
    css = f' class="{" ".join(classes)}"' if classes else ""
    name = f"<strong>{_e(entry.paradigm)}</strong>" if entry.paradigm == chosen else _e(entry.paradigm)
    variant = f"<code>{_n(entry.variant)}</code>" if entry.variant else _DASH
    if not entry.applicable:
        reason = f": {_e(entry.reason)}" if entry.reason else ""
        return f"<tr{css}><td>{name}</td><td>{variant}</td><td colspan=9>not applicable{reason}</td></tr>"
    notes = []
    if entry.probe_score is None:
        notes.append(f"not scored: {_e(entry.reason or 'no fold finished')}")
    else:
        if not entry.complete:
            notes.append("incomplete")
        if entry.reason:
            notes.append(_e(entry.reason))
    if entry.vetoed_by:
        rules = ", ".join(f"<code>{_e(r)}</code>" for r in entry.vetoed_by)
        notes.insert(0, f'<span class="badge warn">vetoed</span> by {rules}')
    elif entry.paradigm in vetoed:  # a result from before schema 1.2: the rule (R6) is inferred
        notes.insert(0, '<span class="badge warn">vetoed</span> by the rules (see below)')
    note = "; ".join(notes)
    if entry.paradigm == "stl" and entry.probe_score is not None:
        delta = '<span class="muted">reference</span>'
    elif _finite(entry.delta_vs_stl):
        interval = _interval(entry.delta_ci_low, entry.delta_ci_high, na="")
        delta = f"{entry.delta_vs_stl:+.3f}" + (f' <span class="ci">{interval}</span>' if interval else "")
    else:
        delta = _DASH
    score = _num(entry.probe_score, na=_DASH)
    if _interval(entry.ci_low, entry.ci_high, na=""):
        score += f' <span class="ci">{_interval(entry.ci_low, entry.ci_high)}</span>'
    cells = [
        name,
        variant,
        score,
        delta,
        _num(entry.predicted_score, na=_DASH),
        f"{entry.p_best:.2f}",
        "★ yes" if entry.co_winner else "no",
        _num(entry.p_cowinner, 2, na=_DASH),
        str(entry.folds),
        f"{entry.seconds:.1f}",
        note,
    ]
    classes = {**dict.fromkeys(_RANKING_NUMERIC, "num"), 1: "variant", len(cells) - 1: "note"}
    tds = "".join(f"<td{f' class={classes[i]}' if i in classes else ''}>{c}</td>" for i, c in enumerate(cells))
    return f"<tr{css}>{tds}</tr>"


_RANKING_NUMERIC = {2, 3, 4, 5, 7, 8, 9}


def _ranking(rec: Recommendation) -> str:
    head = [
        "Paradigm", "Variant", "Probe score [95 %]", "Δ vs STL [95 %]", "Predicted at full size",
        "P(best)", "Co-winner", "P(co-winner)", "Folds", "Seconds", "Note",
    ]  # fmt: skip
    vetoed = _vetoed(rec)
    rows = (_ranking_row(e, rec.paradigm, vetoed) for e in rec.ranking)
    table = _table(head, rows, numeric=_RANKING_NUMERIC)
    figure = _figure(
        "ranking",
        lambda: _plots.ranking_svg(rec.ranking, chosen=rec.paradigm, goal=rec.goal),
        "Probe score per paradigm with its 95 % interval (bars). Filled markers are co-winners (not "
        "significantly worse than the best); the highlighted row is the recommendation; diamonds are the "
        "score predicted at the full data size from the learning curve.",
        empty="No paradigm was scored, so there is no ranking plot.",
    )
    listing = ""
    if vetoed:
        items = "".join(f"<li><strong>{_e(p)}</strong>: {_e(why)}.</li>" for p, why in vetoed.items())
        title = "Ruled out by the rules" if rec.verdict is not None else "Not ranked by the learned recommender"
        listing += f"<h3>{title}</h3><ul>{items}</ul>"
    skipped = [e for e in rec.ranking if not e.applicable]
    if skipped:
        items = "".join(
            f"<li><strong>{_e(e.paradigm)}</strong>: {_e(e.reason) if e.reason else '<span class=na>no reason given</span>'}</li>"
            for e in skipped
        )
        listing += f"<h3>Not applicable</h3><ul>{items}</ul>"
    legend = (
        "— : not measured. ★ : co-winner of the probes (not significantly worse than the best probe score)."
        " A struck-through paradigm was vetoed: a rule (named in its note) ruled it out of the choice, whatever"
        " its score."
        " P(best): the share of bootstrap resamples of the probe folds in which the paradigm has the highest mean"
        " score; over the few folds a probe runs it is coarse (often 0 or 1), so read the intervals beside it."
    )
    if any(e.p_cowinner is not None for e in rec.ranking):
        legend += (
            " P(co-winner): the learned recommender's probability that the paradigm is a co-winner at full budget;"
            " it decides the choice (the highest, or the simplest within the model's margin of it) and the"
            " confidence is the chosen paradigm's."
        )
    return _section("ranking", "Paradigm ranking", table + f'<p class="small muted">{legend}</p>' + listing + figure)


# (field, title, colour bar label, diverging, colormap, limits, caption)
_MATRICES: list[tuple[str, str, str, bool, str, tuple[float, float] | None, str]] = [
    ("gradient_cosine", "Gradient cosine", "cosine", True, "RdBu", (-1.0, 1.0),
     "Cosine between task gradients on the shared trunk; negative (red) = the tasks pull the trunk apart."),
    ("conflict_share", "Gradient conflict share", "share of steps in conflict", False, "YlOrRd", (0.0, 1.0),
     "Share of training steps whose task gradients point against each other."),
    ("label_correlation", "Label correlation", "correlation", True, "RdBu", (-1.0, 1.0),
     "Correlation between targets on the rows they share."),
    ("mutual_information", "Mutual information", "mutual information", False, "Purples", None,
     "Mutual information between targets on the rows they share."),
    ("input_shift", "Input shift", "proxy A-distance", False, "YlOrRd", (0.0, 2.0),
     "Proxy A-distance between tasks' inputs: 0 = same distribution, 2 = perfectly separable."),
]  # fmt: skip


def _relatedness(rec: Recommendation) -> str:
    rel = rec.relatedness
    n = len(rel.tasks)
    parts = []
    if n < 2:
        parts.append('<p class="na">Fewer than two tasks: there is no relatedness to measure.</p>')
    keep, shown = _heatmap_tasks(rec)
    names = [rel.tasks[i] for i in keep]
    step = _plots.label_step(len(keep))
    crowd = f" With {len(keep)} tasks only every {step}-th task is labelled." if step > 1 else ""
    crowd = f" {shown}{crowd}" if shown else crowd
    method = f" Method: <code>{_e(rel.affinity_method)}</code>." if rel.affinity_method else ""
    if n >= 2:
        draw = partial(
            _plots.heatmap_svg,
            _submatrix(rel.affinity or [], keep, n),
            names,
            colorbar_label="affinity (relative loss drop)",
            xlabel="target task j (loss measured)",
            ylabel="source task i (step taken)",
            diverging=True,
            cmap="RdBu",
            scale_off_diagonal=True,
        )
        caption = (
            "Task affinity: row i, column j is the relative drop of task j's loss after a training step on "
            "task i. Blue = the step helps task j, red = it hurts; grey = not measured. The colour scale is "
            f"set by the off-diagonal cells (self-affinity may be clipped).{method}{crowd}"
        )
        parts.append(_figure("affinity", draw, caption, empty="Task affinity was not measured."))
    others = []
    for field, title, bar_label, diverging, cmap, limits, caption in _MATRICES:
        matrix = getattr(rel, field)
        if matrix is None:
            continue
        draw = partial(
            _plots.heatmap_svg,
            _submatrix(matrix, keep, n),
            names,
            colorbar_label=bar_label,
            xlabel="task",
            ylabel="task",
            diverging=diverging,
            cmap=cmap,
            limits=limits,
        )
        empty = f"{title}: no cell was measured (or the matrix does not match the {n} tasks)."
        figure = _figure(field.replace("_", "-"), draw, _e(caption) + crowd, empty=empty)
        others.append(f"<div><h3>{_e(title)}</h3>{figure}</div>")
    if others and len(keep) <= 20:  # small matrices sit side by side
        parts.append(f'<div class="matrices">{"".join(others)}</div>')
    elif others:  # large ones need the full width to stay readable: one at a time, on request
        parts.append(
            f"<details><summary>{len(others)} more matri{'ces' if len(others) > 1 else 'x'} over the same tasks "
            f"({', '.join(_e(t) for f, t, *_ in _MATRICES if getattr(rel, f) is not None)})</summary>"
            f"{''.join(others)}</details>"
        )
    if rel.transferability:
        rows = (
            f"<tr><td>{_n(k)}</td><td class=num>{_num(v, na=_DASH)}</td></tr>" for k, v in rel.transferability.items()
        )
        parts.append("<h3>Transferability</h3>" + _table(["Measure", "Value"], rows, numeric={1}))
    if rel.notes:
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{_e(note)}</li>" for note in rel.notes) + "</ul>")
    return _section("affinity", "Task relatedness", "\n".join(parts))


def _submatrix(matrix: Sequence[Sequence[float | None]], keep: Sequence[int], n: int) -> list[list[float | None]]:
    """Rows and columns ``keep`` of an ``n x n`` matrix, in that order (a matrix of another shape as it is,
    for the plot to refuse)."""
    if len(matrix) != n or any(len(row) != n for row in matrix):
        return [list(row) for row in matrix]
    return [[matrix[i][j] for j in keep] for i in keep]


def _heatmap_tasks(rec: Recommendation) -> tuple[list[int], str]:
    """The tasks the heatmaps draw, in cluster order, and a sentence saying which and why.

    Past :data:`MAX_HEATMAP_TASKS` tasks a heatmap is texture, so it shows the tasks most at risk
    (up to half of them) and then the most connected ones (largest mean absolute affinity to the
    others, either direction). Rows and columns follow the leaves of an average-linkage clustering
    of the tasks' affinity profiles (what they do to others and what others do to them), so tasks
    that help or hurt alike sit together.
    """
    rel = rec.relatedness
    n = len(rel.tasks)
    base = _relatedness_matrix(rel, n)
    keep, shown = list(range(n)), ""
    if n > MAX_HEATMAP_TASKS:
        risk = {t.name: t.negative_transfer_risk for t in rec.tasks}
        risky = [i for i in range(n) if _finite(risk.get(rel.tasks[i])) and risk[rel.tasks[i]] >= MEDIUM_RISK]
        risky = sorted(risky, key=lambda i: -risk[rel.tasks[i]])[: MAX_HEATMAP_TASKS // 2]
        connected = _connectivity(base) if base is not None else [0.0] * n
        rest = sorted(set(range(n)) - set(risky), key=lambda i: (-connected[i], i))
        keep = risky + rest[: MAX_HEATMAP_TASKS - len(risky)]
        why = []
        if risky:
            why.append(f"the {len(risky)} at the highest negative-transfer risk (at least {MEDIUM_RISK})")
        if len(keep) > len(risky):
            more = "others " if risky else ""
            why.append(
                f"the {len(keep) - len(risky)} {more}most connected to the rest (largest mean |affinity|, either "
                "direction)"
                if base is not None
                else f"the first {len(keep) - len(risky)} {more}in the data"
            )
        shown = (
            f"Showing {len(keep)} of {n} tasks: {' and '.join(why)}; the other {n - len(keep)} are in the task "
            "table and in the JSON (relatedness)."
        )
    if base is not None and len(keep) >= 3:
        order = _cluster_order(base[np.ix_(keep, keep)])
        if order != list(range(len(keep))):
            keep = [keep[i] for i in order]
            shown += " Tasks are ordered by hierarchical clustering of their affinity, so related tasks sit together."
    return keep, shown.strip()


def _relatedness_matrix(rel: Relatedness, n: int) -> np.ndarray | None:
    """The matrix that orders and picks the heatmaps' tasks: the affinity, or else the first other one measured."""
    for field in ("affinity", *(m[0] for m in _MATRICES)):
        matrix = getattr(rel, field)
        arr = _plots._as_matrix(matrix, n) if matrix and n else None
        if arr is not None and np.isfinite(arr).any():
            return arr
    return None


def _connectivity(arr: np.ndarray) -> list[float]:
    """Each task's mean absolute off-diagonal value over its row and column (0 where nothing was measured)."""
    off = np.abs(arr.copy())
    np.fill_diagonal(off, np.nan)
    both = np.concatenate([off, off.T], axis=1)
    counts = np.isfinite(both).sum(axis=1)
    sums = np.nansum(both, axis=1)
    return [float(s / c) if c else 0.0 for s, c in zip(sums, counts, strict=True)]


def _cluster_order(arr: np.ndarray) -> list[int]:
    """Leaf order of an average-linkage clustering of the rows' profiles (row and column; unmeasured = 0)."""
    x = np.where(np.isfinite(arr), arr, 0.0)
    np.fill_diagonal(x, 0.0)
    profiles = np.concatenate([x, x.T], axis=1)
    if not np.any(profiles):
        return list(range(len(arr)))
    try:
        from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering

        tree = linkage(profiles, method="average", metric="euclidean")
        tree = optimal_leaf_ordering(tree, profiles)
        return [int(i) for i in leaves_list(tree)]
    except (ImportError, ValueError):  # no scipy, or a degenerate matrix: the data's order
        return list(range(len(arr)))


def _risk_class(risk: float | None) -> str:
    if not _finite(risk):
        return ""
    if risk > HIGH_RISK:
        return "risk-high"
    return "risk-mid" if risk >= MEDIUM_RISK else "risk-low"


_PARADIGM_ORDER = ("stl", "mtl", "transfer", "meta")


def _keys(mappings: Iterable[Mapping[str, object]], *, skip: str = "") -> list[str]:
    """Keys present in any mapping: known paradigms first, in their usual order, then the rest."""
    seen = {k for m in mappings for k in m if k != skip}
    return [p for p in _PARADIGM_ORDER if p in seen] + sorted(seen.difference(_PARADIGM_ORDER))


def _sources(names: Sequence[str]) -> str:
    if not names:
        return '<span class="muted">none</span>'
    return _names(names, _INLINE_SOURCES, code=False)


def _sort_value(value: float | None) -> str:
    """A cell's sort key (``data-v``): the number, or empty for not measured (sorted last)."""
    return repr(float(value)) if _finite(value) else ""


def _risk_cell(risk: float | None) -> str:
    return f'<td data-v="{_sort_value(risk)}" class="num {_risk_class(risk)}">{_num(risk, 2, na=_DASH)}</td>'


def _score_cell(score: float | None) -> str:
    return f'<td data-v="{_sort_value(score)}" class=num>{_num(score, na=_DASH)}</td>'


def _task_row(index: int, task: TaskReport, score_keys: Sequence[str], risk_keys: Sequence[str], kinds: bool) -> str:
    name = _n(task.name)
    if task.near_constant:
        name += ' <span class="badge warn">near-constant target</span>'
    cells = [
        f'<td data-v="{index}" class=num>{index}</td>',
        f'<td data-s="{_e(task.name)}" class="name">{name}</td>',
        *([f"<td>{_e(task.kind)}</td>", f"<td>{_e(task.metric)}</td>"] if kinds else []),
        f'<td data-v="{task.n_rows}" class=num>{task.n_rows:,}</td>',
        _score_cell(task.stl_score),
        *(_score_cell(task.scores.get(k)) for k in score_keys),
        f"<td>{_e(task.best_paradigm) if task.best_paradigm else _DASH}</td>",
        _risk_cell(task.negative_transfer_risk),
        *(_risk_cell(task.risk_by_paradigm.get(k)) for k in risk_keys),
        f'<td data-v="{len(task.harmful_sources)}" class="small sources">{_sources(task.harmful_sources)}</td>',
    ]
    return f"<tr>{''.join(cells)}</tr>"


def _best_sharing(rec: Recommendation) -> str | None:
    """The paradigm behind each task's "best sharing" risk: the best-scoring sharing paradigm with a risk.

    The recommender takes it from the probe ranking (highest probe score first); the learned
    recommender may choose another paradigm, so the page names it.
    """
    measured = {p for t in rec.tasks for p, r in t.risk_by_paradigm.items() if r is not None}
    for e in rec.ranking:  # ordered by probe score
        if e.paradigm in measured and e.probe_score is not None:
            return e.paradigm
    return None


def _risky(tasks: Sequence[TaskReport], risk: Callable[[TaskReport], float | None]) -> list[str]:
    return [t.name for t in tasks if _finite(risk(t)) and risk(t) > HIGH_RISK]


def _risk_summary(rec: Recommendation) -> str:
    tasks = rec.tasks
    measured = [t for t in tasks if _finite(t.negative_transfer_risk)]
    if not measured:
        why = (
            " (under goal new_tasks the advice is for unseen tasks, which have no single-task baseline to compare)"
            if rec.goal == "new_tasks"
            else ""
        )
        return f"Negative-transfer risk was not measured for any task{why}."
    best = _best_sharing(rec)
    under = f" under {_e(best)}, the best-scoring sharing paradigm" if best else ""
    risky = _risky(tasks, lambda t: t.negative_transfer_risk)
    if risky:
        names = ", ".join(_n(n) for n in risky[:10]) + (f" and {len(risky) - 10} more" if len(risky) > 10 else "")
        text = (
            f'<strong class="bad">{len(risky)} at high negative-transfer risk (&gt; {HIGH_RISK}){under}:</strong> '
            f"{names}."
        )
    else:
        of = f" of the {len(measured)} measured" if len(measured) < len(tasks) else ""
        text = f"None{of} at high negative-transfer risk (&gt; {HIGH_RISK}){under}."
    if rec.paradigm != best and any(rec.paradigm in t.risk_by_paradigm for t in tasks):
        chosen = _risky(tasks, lambda t: t.risk_by_paradigm.get(rec.paradigm))
        text += f" Under the recommended {_e(rec.paradigm)}: " + (
            f"{len(chosen)} ({', '.join(_n(n) for n in chosen[:10])}"
            f"{f' and {len(chosen) - 10} more' if len(chosen) > 10 else ''})."
            if chosen
            else "none."
        )
    if len(measured) < len(tasks):
        text += f" Risk not measured for {len(tasks) - len(measured)}."
    return text


def _tasks(rec: Recommendation) -> str:
    tasks = rec.tasks
    if not tasks:
        return _section("tasks", "Tasks", '<p class="na">No per-task results were recorded.</p>')
    summary = f"{len(tasks)} task{'s' if len(tasks) != 1 else ''}. {_risk_summary(rec)}"
    best = _best_sharing(rec)
    # STL has its own column; every other paradigm scored or risk-rated on some task gets one.
    score_keys = _keys((t.scores for t in tasks), skip="stl")
    risk_keys = _keys(t.risk_by_paradigm for t in tasks)
    # Kind and metric get columns only when they differ between tasks; otherwise the legend says them.
    kinds = len({(t.kind, t.metric) for t in tasks}) > 1
    columns = iter(range(10_000))

    def sortable(label: str, *, rowspan: bool = False, numeric: bool = False) -> str:
        attrs = (" rowspan=2" if rowspan else "") + (" class=num" if numeric else "")
        return f'<th{attrs} scope="col" data-col="{next(columns)}">{label}</th>'

    lead = sortable("#", rowspan=True, numeric=True) + sortable("Task", rowspan=True)
    if kinds:
        lead += sortable("Kind", rowspan=True) + sortable("Metric", rowspan=True)
    lead += sortable("Rows", rowspan=True, numeric=True)
    scores = "".join(sortable(_e(h), numeric=True) for h in ("STL", *score_keys))
    best_th = sortable("Best paradigm", rowspan=True)
    sharing = f"best sharing ({_e(best)})" if best else "best sharing"
    risks = "".join(sortable(h, numeric=True) for h in (sharing, *map(_e, risk_keys)))
    sources_th = sortable("Harmful sources", rowspan=True)
    top = (
        f'<tr>{lead}<th colspan={1 + len(score_keys)} scope="colgroup" class="group">Probe score</th>{best_th}'
        f'<th colspan={1 + len(risk_keys)} scope="colgroup" class="group">Negative-transfer risk</th>'
        f"{sources_th}</tr>"
    )
    body = "".join(_task_row(i, t, score_keys, risk_keys, kinds) for i, t in enumerate(tasks, 1))
    table = f'<table class="tasks sortable"><thead>{top}<tr>{scores}{risks}</tr></thead><tbody>{body}</tbody></table>'
    table = f'<div class="{"scroll" if len(tasks) > _SCROLL_ROWS else "wide"}">{table}</div>'
    which = (
        f"{_e(best)}, the sharing paradigm with the highest probe score (not necessarily the recommendation)"
        if best
        else "the sharing paradigm with the highest probe score"
    )
    metrics = sorted({t.metric for t in tasks})
    scored = f"Scores are {_e(metrics[0])} (higher is better). " if not kinds and len(metrics) == 1 else ""
    legend = (
        f'<p class="small muted">{scored}Click a column header to sort by it (again to reverse; not measured '
        "last). Risk = probability that the paradigm scores below single-task learning on the "
        f"task (bootstrap over paired test rows); “best sharing” is {which}. Red above "
        f"{HIGH_RISK}, amber from {MEDIUM_RISK}. Harmful sources: tasks whose training steps raise this task's "
        "loss (negative affinity). — : not measured.</p>"
    )
    return _section("tasks", "Tasks", f"<p>{summary}</p>{table}{legend}")


def _group_check_rows(rec: Recommendation) -> list[tuple[str, str]]:
    """The group check's fields, each group on its own line, its paired units named as such."""
    check = rec.group_check or {}
    units = "paired held-out tasks" if rec.goal == "new_tasks" else "paired test rows"
    # Older results (no "paired_units") stored the comparison's paired units (test rows) under "folds".
    old = "paired_units" not in check
    rows = []
    for key, value in check.items():
        if key == "groups" and isinstance(value, list) and all(isinstance(g, list) for g in value):
            items = "".join(f"<li>{_names(g, code=False)}</li>" for g in value)
            rows.append(("groups", f'<ol class="groups">{items}</ol>'))
        elif (key == "paired_units" or (key == "folds" and old)) and _finite(value):
            rows.append((units, _value(value)))
        else:
            rows.append((str(key), _value(value)))
    return rows


def _groups(rec: Recommendation) -> str:
    parts = []
    if rec.groups:
        rows = (
            f"<tr><td class=num>{i}</td><td class=num>{len(g.tasks)}</td><td>{_names(g.tasks, code=False)}</td>"
            f"<td class=num>{_num(g.mean_affinity, na=_DASH)}</td></tr>"
            for i, g in enumerate(rec.groups, 1)
        )
        parts.append(_table(["Group", "Size", "Tasks", "Mean affinity"], rows, numeric={0, 1, 3}))
    else:
        parts.append('<p class="na">No task groups were suggested.</p>')
    parts.append("<h3>Group check</h3>")
    if rec.group_check:
        parts.append(_facts(_group_check_rows(rec)))
    else:
        parts.append('<p class="na">The grouping was not checked.</p>')
    return _section("groups", "Suggested task groups", "\n".join(parts))


def _curves(curves: Sequence[LearningCurve]) -> str:
    if not curves:
        return _section("curves", "Learning curves", '<p class="na">Learning curves were not measured.</p>')
    figure = _figure(
        "curves",
        lambda: _plots.curves_svg(curves),
        "Probe score against the number of training rows per variant (log scale), the fitted power law "
        "score(n) = a − b·n<sup>−c</sup> (dashed) and its value extrapolated to the full data size (star).",
        empty="No learning-curve point was measured.",
    )
    rows = []
    for c in curves:
        points = ", ".join(f"{n:,}: {_num(s, na=_DASH)}" for n, s in zip(c.n_train, c.scores, strict=False)) or _DASH
        fit = (
            ", ".join(f"{_e(k)} = {_num(v)}" for k, v in c.fit.items())
            if c.fit
            else '<span class="na">did not fit</span>'
        )
        full = f"{c.full_size:,}" if c.full_size is not None else _DASH
        rows.append(
            f"<tr><td><code>{_n(c.variant)}</code></td><td class=small>{points}</td><td class=small>{fit}</td>"
            f"<td class=num>{full}</td><td class=num>{_num(c.extrapolated, na=_DASH)}</td></tr>"
        )
    table = _table(["Variant", "Rows: score", "Fit", "Full size", "Extrapolated"], rows, numeric={3, 4})
    return _section("curves", "Learning curves", figure + table)


def _warning(text: str) -> str:
    # The recommender's text points JSON readers at budget.phases; on this page that is the "Budget used" entry.
    return _e(text).replace("see budget.phases", 'see <a href="#budget">Budget used</a> (phases)')


def _warnings(warnings: Sequence[str]) -> str:
    if not warnings:
        return _section("warnings", "Warnings", '<p class="muted">No warnings.</p>')
    items = "".join(f"<li>{_warning(w)}</li>" for w in warnings)
    return _section("warnings", "Warnings", f'<ul class="warnings">{items}</ul>')


def _names(names: Sequence[str], limit: int = 12, *, code: bool = True) -> str:
    """Names separated by commas; past ``limit`` the rest fold into a ``<details>``."""
    wrap = "<code>{}</code>" if code else "{}"
    shown = ", ".join(wrap.format(_n(n)) for n in names[:limit])
    if len(names) > limit:
        rest = ", ".join(wrap.format(_n(n)) for n in names[limit:])
        shown += f"<details><summary>and {len(names) - limit} more</summary>{rest}</details>"
    return shown


def _data(data: DataProfile) -> str:
    source = "; ".join(f"{_e(k)}: {_value(v)}" for k, v in data.source.items() if v is not None)
    features = "".join(
        f"<div><strong>{_e(kind)}</strong> ({len(cols)}): {_names(cols)}</div>" for kind, cols in data.features.items()
    )
    rpt = data.rows_per_task
    rows_per_task = ", ".join(f"{_e(k)} {_rows(v)}" for k, v in rpt.items()) or _NA
    facts = [
        ("Source", source or '<span class="na">unknown</span>'),
        ("Layout", _e(data.layout)),
        ("Goal", _e(data.goal)),
        ("Target task", _n(data.target_task) if data.target_task else '<span class="na">none</span>'),
        ("Shots", _e(data.shots) if data.shots is not None else '<span class="na">none</span>'),
        ("Rows", f"{data.n_rows:,}"),
        ("Tasks", str(data.n_tasks)),
        ("Rows per task", rows_per_task),
        ("Features", f"{data.n_features}{features}"),
        ("Missing cells", f"{data.missing_rate:.1%}" if _finite(data.missing_rate) else _NA),
    ]
    if data.dropped_tasks:
        dropped = "".join(f"<li><code>{_n(k)}</code>: {_e(v)}</li>" for k, v in data.dropped_tasks.items())
        facts.append(("Dropped tasks", f"<ul>{dropped}</ul>"))
    if data.warnings:
        facts.append(("Profile warnings", "<ul>" + "".join(f"<li>{_e(w)}</li>" for w in data.warnings) + "</ul>"))
    rows = []
    for t in data.tasks:
        if t.label_balance:
            shape = ", ".join(f"{_n(k)} {v:.0%}" for k, v in list(t.label_balance.items())[:6])
            if len(t.label_balance) > 6:
                shape += f", … ({len(t.label_balance)} classes)"
        elif t.target_spread:
            shape = ", ".join(f"{_e(k)} {_num(v, 3, na=_DASH)}" for k, v in t.target_spread.items())
        else:
            shape = _DASH
        rows.append(
            f"<tr><td>{_n(t.name)}</td><td>{_e(t.kind)}</td><td class=num>{t.n_rows:,}</td><td>{_e(t.metric)}</td>"
            f"<td class=num>{t.missing_rate:.1%}</td><td class=small>{shape}</td></tr>"
        )
    per_task = ""
    if rows:
        table = _table(
            ["Task", "Kind", "Rows", "Metric", "Missing", "Label balance / target spread"], rows, numeric={2, 4}
        )
        if len(rows) > _SCROLL_ROWS:
            table = f'<div class="scroll">{table}</div>'
        per_task = f"<details><summary>Per-task profile ({len(rows)} tasks)</summary>{table}</details>"
    return _section("data", "Data profile", _facts(facts) + per_task)


def _footer(rec: Recommendation) -> str:
    return (
        f"<footer>Recommendation schema {_e(rec.schema_version)}. This page is self-contained: "
        "nothing from the network (its one script, the table sorter, is inline).</footer>"
    )
