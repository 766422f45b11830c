"""Figures of the report as inline SVG strings, drawn with matplotlib's object API.

Every function builds its own ``matplotlib.figure.Figure`` (no pyplot) and returns ``None`` when
there is nothing measured to draw. Text is written as SVG ``<text>`` so that the browser draws it
with its own fonts (task names in any script); matplotlib is imported lazily.
"""

from __future__ import annotations

import io
import math
import threading
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from advisor._recommendation import LearningCurve, RankingEntry

PARADIGM_COLORS = {"stl": "#4c72b0", "mtl": "#dd8452", "transfer": "#55a868", "meta": "#8172b3"}
_MUTED = "#6b7280"
_CHOSEN_BAND = "#fff1b8"
# Up to this many tasks every heatmap row and column is labelled; beyond it every k-th one.
_MAX_LABELLED_TASKS = 40
# Up to this many tasks the value is written in each heatmap cell.
_MAX_ANNOTATED_TASKS = 8


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis in the middle (names often differ at either end)."""
    text = str(text).translate(_CONTROLS)
    if len(text) <= limit:
        return text
    keep = limit - 1
    head = (keep + 1) // 2
    tail = keep - head
    return text[:head] + "…" + (text[-tail:] if tail else "")


# Control characters have no glyph and are not allowed in SVG text.
_CONTROLS = dict.fromkeys([*range(0x00, 0x20), 0x7F])


def _escape(text: str) -> str:
    """Without control characters, and never parsed as mathtext ('$' escaped)."""
    return text.translate(_CONTROLS).replace("$", r"\$")


def _plain(text: str, limit: int = 28) -> str:
    """User text as a matplotlib label: shortened in the middle, and never parsed as mathtext."""
    return _escape(_shorten(text, limit))


def _distinct_labels(names: Sequence[str], limit: int) -> list[str]:
    """Shortened labels that stay distinct: where two shortened names collide, each is prefixed by its position.

    The position (1-based) is the task's "#" in the report's task table.
    """
    short = [_shorten(n, limit) for n in names]
    seen: dict[str, int] = {}
    for label in short:
        seen[label] = seen.get(label, 0) + 1
    out = []
    for i, (name, label) in enumerate(zip(names, short, strict=True), 1):
        if seen[label] > 1:
            prefix = f"{i}: "
            label = prefix + _shorten(name, max(limit - len(prefix), 3))
        out.append(_escape(label))
    return out


# matplotlib reads the SVG font setting from its process-wide rcParams at save time: the setting is
# changed only inside this lock, so that two reports rendered in threads cannot undo each other's.
_SAVE_LOCK = threading.Lock()


def _to_svg(fig: Figure, *, tight: bool = False) -> str:
    """The figure as an ``<svg>`` element for inlining in HTML (no XML prolog, no metadata).

    Text stays text (``svg.fonttype: none``): the browser draws it with its own fonts, so names in
    scripts matplotlib's bundled font lacks (CJK, Arabic, ...) are readable, and matplotlib's
    "Glyph ... missing from font" warnings, which only concern its own font, are silenced.
    ``tight`` grows or crops the canvas to what is drawn, for figures placed without a layout engine.
    """
    import matplotlib

    buffer = io.StringIO()
    with _SAVE_LOCK, matplotlib.rc_context({"svg.fonttype": "none"}), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from (current )?font", category=UserWarning)
        fig.savefig(
            buffer,
            format="svg",
            metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
            **({"bbox_inches": "tight", "pad_inches": 0.08} if tight else {}),
        )
    text = buffer.getvalue()
    start = text.find("<svg")
    # Inline SVG needs no XML prolog or DOCTYPE; CSS caps the width and the viewBox keeps the aspect.
    svg = text[start:] if start >= 0 else text
    return svg.replace("<svg ", '<svg role="img" ', 1).strip()


def ranking_svg(entries: Sequence[RankingEntry], *, chosen: str, goal: str) -> str | None:
    """Probe score with its 95 % interval per paradigm; co-winners filled, the choice on a band."""
    if not any(_finite(e.probe_score) for e in entries):
        return None
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory

    n = len(entries)
    fig = Figure(figsize=(7.6, 0.62 * n + 1.5), layout="constrained")
    ax = fig.add_subplot()
    left_text = blended_transform_factory(ax.transAxes, ax.transData)
    labels = []
    for i, entry in enumerate(entries):
        y = n - 1 - i
        variant = f"\n{_plain(entry.variant, 24)}" if entry.variant else ""
        labels.append(f"{entry.paradigm}{variant}")
        if entry.paradigm == chosen:
            ax.axhspan(y - 0.45, y + 0.45, color=_CHOSEN_BAND, zorder=0)
        score = entry.probe_score
        if not entry.applicable or not _finite(score):
            why = "not applicable" if not entry.applicable else "not scored"
            reason = f": {_plain(entry.reason, 70)}" if entry.reason else ""
            ax.text(0.01, y, why + reason, transform=left_text, va="center", color=_MUTED, style="italic", fontsize=9)
            continue
        color = PARADIGM_COLORS.get(entry.paradigm, "#333333")
        xerr = None
        if _finite(entry.ci_low) and _finite(entry.ci_high):
            xerr = [[max(score - entry.ci_low, 0.0)], [max(entry.ci_high - score, 0.0)]]
        ax.errorbar(
            [score], [y], xerr=xerr, fmt="o", ms=9, capsize=5, elinewidth=2, color=color,
            mfc=color if entry.co_winner else "white", mew=2, zorder=3,
        )  # fmt: skip
        label = f"{score:.3f}" if xerr is not None else f"{score:.3f} (interval not measured)"
        ax.annotate(label, (score, y), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=8)
        if _finite(entry.predicted_score):
            ax.plot([entry.predicted_score], [y], marker="D", ms=6, ls="none", color="#333333", zorder=4)
    ax.set_yticks(range(n - 1, -1, -1), labels)
    ax.set_ylim(-0.6, n - 0.4)
    ax.margins(x=0.12)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_xlabel(f"probe score ({_plain(goal, 40)}; higher is better) — bars: 95 % interval")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    scored = [e for e in entries if e.applicable and _finite(e.probe_score)]
    handles = []
    if any(e.co_winner for e in scored):
        handles.append(Line2D([], [], marker="o", ls="none", color="#333333", ms=8, label="co-winner"))
    if not all(e.co_winner for e in scored):
        handles.append(
            Line2D([], [], marker="o", ls="none", color="#333333", mfc="white", mew=2, ms=8, label="not a co-winner")
        )
    if any(_finite(e.predicted_score) for e in scored):
        handles.append(Line2D([], [], marker="D", ls="none", color="#333333", ms=6, label="predicted at full size"))
    handles.append(Patch(color=_CHOSEN_BAND, label="recommended"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=8.5)
    return _to_svg(fig)


def label_step(n_tasks: int) -> int:
    """Every how many tasks a heatmap labels a row and a column (1 up to 40 tasks)."""
    return max(1, math.ceil(n_tasks / _MAX_LABELLED_TASKS))


def _as_matrix(matrix: Sequence[Sequence[float | None]], n: int) -> np.ndarray | None:
    """A float ``n x n`` array (NaN where not measured), or ``None`` when the shape is wrong."""
    if len(matrix) != n or any(len(row) != n for row in matrix):
        return None
    arr = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix], dtype=float)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def heatmap_svg(
    matrix: Sequence[Sequence[float | None]],
    labels: Sequence[str],
    *,
    colorbar_label: str,
    xlabel: str,
    ylabel: str,
    diverging: bool,
    cmap: str,
    limits: tuple[float, float] | None = None,
    scale_off_diagonal: bool = False,
) -> str | None:
    """A tasks x tasks heatmap; diverging maps are centred at 0, unmeasured cells are grey.

    With ``scale_off_diagonal`` the colour range is set by the off-diagonal cells, so that a large
    self-affinity does not wash out the between-task structure (the diagonal is then clipped).
    """
    n = len(labels)
    arr = _as_matrix(matrix, n) if n else None
    if arr is None or not np.isfinite(arr).any():
        return None
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    scale_values = arr
    if scale_off_diagonal and n > 1:
        off = arr[~np.eye(n, dtype=bool)]
        if np.isfinite(off).any():
            scale_values = off
    finite = scale_values[np.isfinite(scale_values)]
    if diverging:
        bound = float(np.max(np.abs(finite))) if limits is None else max(abs(limits[0]), abs(limits[1]))
        bound = bound if bound > 0 else 1.0
        vmin, vmax = -bound, bound
    elif limits is not None:
        vmin, vmax = limits
    else:
        vmin, vmax = float(finite.min()), float(finite.max())
        if vmin == vmax:
            vmin, vmax = vmin - 0.5, vmax + 0.5
    all_finite = arr[np.isfinite(arr)]
    below, above = bool(all_finite.min() < vmin), bool(all_finite.max() > vmax)
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}[below, above]

    # The cells get a fixed area; tick labels of any length are added around it by the tight bounding
    # box at save time (a layout engine would squeeze the cells to make room for long task names).
    side = min(8.5, max(2.6, 0.42 * n))
    bar_gap, bar_width = 0.2, 0.16
    fig = Figure(figsize=(side + bar_gap + bar_width, side))
    ax = fig.add_axes((0.0, 0.0, side / fig.get_figwidth(), 1.0))
    cax = fig.add_axes(((side + bar_gap) / fig.get_figwidth(), 0.1, bar_width / fig.get_figwidth(), 0.8))
    palette = colormaps[cmap].with_extremes(bad="#d9d9d9")
    image = ax.imshow(
        np.ma.masked_invalid(arr), cmap=palette, norm=Normalize(vmin, vmax), interpolation="none", aspect="equal"
    )
    bar = fig.colorbar(image, cax=cax, extend=extend)
    bar.set_label(colorbar_label)

    step = label_step(n)
    ticks = list(range(0, n, step))
    fontsize = 9 if n <= 12 else 7
    distinct = _distinct_labels(labels, 24)
    names = [distinct[i] for i in ticks]
    # Column labels stay horizontal only when the longest one fits its cell.
    fits = max(len(name) for name in names) * 0.6 * fontsize < side * 72 / n * step
    ax.set_xticks(ticks, names, rotation=0 if fits else 90, fontsize=fontsize)
    ax.set_yticks(ticks, names, fontsize=fontsize)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if n <= _MAX_LABELLED_TASKS:
        ax.set_xticks(np.arange(-0.5, n, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, n, 1), minor=True)
        ax.grid(which="minor", color="white", linewidth=1.5 if n <= 12 else 0.6)
        ax.tick_params(which="minor", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if n <= _MAX_ANNOTATED_TASKS:
        for (i, j), value in np.ndenumerate(arr):
            text = "n/m" if not math.isfinite(value) else f"{value:.2f}"
            rgba = palette(image.norm(value)) if math.isfinite(value) else (0.85, 0.85, 0.85, 1)
            dark = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] < 0.5
            ax.text(
                j, i, text, ha="center", va="center", fontsize=9 if n <= 5 else 7.5, color="white" if dark else "black"
            )
    return _to_svg(fig, tight=True)


def curves_svg(curves: Sequence[LearningCurve]) -> str | None:
    """Score against training rows per variant (log axis), the fitted power law and its extrapolation."""
    drawable = [c for c in curves if any(_finite(s) for s in c.scores)]
    if not drawable:
        return None
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(8.0, 4.4), layout="constrained")
    ax = fig.add_subplot()
    palette = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]
    full_sizes = set()
    any_fit = False
    for k, curve in enumerate(drawable):
        color = palette[k % len(palette)]
        points = [(n, s) for n, s in zip(curve.n_train, curve.scores, strict=False) if n > 0 and _finite(s)]
        xs, ys = zip(*points, strict=True) if points else ((), ())
        fit = curve.fit or {}
        fitted = bool(points) and all(_finite(fit.get(key)) for key in ("a", "b", "c"))
        # With a fit the dashed model joins the points; without one, a solid line does.
        ax.plot(xs, ys, "o" if fitted else "o-", color=color, lw=1.5, ms=6, label=_plain(curve.variant, 30))
        if fitted:
            any_fit = True
            top = max(max(xs), curve.full_size or 0)
            grid = np.geomspace(min(xs), top, 80)
            ax.plot(grid, fit["a"] - fit["b"] * grid ** (-fit["c"]), "--", color=color, lw=1.2, alpha=0.8)
        if curve.full_size and _finite(curve.extrapolated):
            full_sizes.add(curve.full_size)
            ax.plot([curve.full_size], [curve.extrapolated], marker="*", ms=14, color=color, mec="black", mew=0.6)
            ax.annotate(
                f"{curve.extrapolated:.3f}", (curve.full_size, curve.extrapolated),
                xytext=(8, -3), textcoords="offset points", fontsize=8, color=color,
            )  # fmt: skip
    for size in full_sizes:
        ax.axvline(size, color=_MUTED, ls=":", lw=1)
    ax.set_xscale("log")
    ax.margins(x=0.08)
    ax.set_xlabel("training rows (log scale)")
    ax.set_ylabel("probe score")
    ax.grid(alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    handles, _ = ax.get_legend_handles_labels()
    if any_fit:
        handles.append(Line2D([], [], ls="--", color=_MUTED, label=r"fit $a - b\,n^{-c}$"))
    if full_sizes:
        handles.append(
            Line2D([], [], marker="*", ls="none", ms=12, color=_MUTED, mec="black", mew=0.6, label="at full size")
        )
    fig.legend(handles=handles, loc="outside right upper", frameon=False, fontsize=8.5)
    return _to_svg(fig)
