"""The HTML report: sections, figures, escaping, no network, unmeasured fields, size and a real render."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import advisor.report
from advisor._recommendation import (
    BudgetUsed,
    Evidence,
    LearningCurve,
    RankingEntry,
    Recommendation,
    Relatedness,
    TaskGroup,
    TaskReport,
)
from advisor.report import render_html
from probes.data import DataProfile
from probes.data._profile import TaskProfile

# The ranking right after the summary; the per-task table before the relatedness heatmaps.
SECTIONS = ["summary", "ranking", "rationale", "tasks", "affinity", "groups", "curves", "warnings", "data"]
XSS = "<script>alert(1)</script>"
CHROMIUM = Path("/usr/bin/chromium")


# --- builders -------------------------------------------------------------------------------------


def _profile(names: list[str], rows: list[int], *, goal: str = "all_tasks", target: str | None = None) -> DataProfile:
    tasks = [
        TaskProfile(
            name=name,
            kind="classification" if i % 3 == 2 else "regression",
            n_rows=n,
            metric="roc_auc" if i % 3 == 2 else "r2",
            label_balance={"yes": 0.3, "no": 0.7} if i % 3 == 2 else None,
            target_spread=None if i % 3 == 2 else {"mean": 1.2, "std": 0.8, "min": -1.5, "max": 4.1},
            missing_rate=0.02,
        )
        for i, (name, n) in enumerate(zip(names, rows, strict=True))
    ]
    return DataProfile(
        source={
            "name": "sales_regions.csv.gz",
            "format": "csv",
            "compressed": True,
            "encoding": "utf-8",
            "bytes": 48213,
        },
        layout="task_column",
        goal=goal,
        target_task=target,
        shots=None,
        n_rows=sum(rows),
        n_tasks=len(names),
        rows_per_task={"min": min(rows), "median": float(np.median(rows)), "max": max(rows)},
        tasks=tasks,
        features={"numeric": ["x1", "x2", "price"], "categorical": ["colour"], "boolean": ["flag"]},
        n_features=5,
        missing_rate=0.02,
        dropped_tasks={"tiny": "3 rows; at least 10 are needed"},
        warnings=["column 'id' looks like an identifier and was dropped"],
    )


def _budget(*, partial: bool = False) -> BudgetUsed:
    return BudgetUsed(
        name="quick",
        seconds_limit=60.0,
        seconds_used=48.7,
        folds=5,
        max_rows_per_task=2000,
        subsampled=True,
        partial=partial,
        phases=[{"phase": "probes", "seconds": 40.1}, {"phase": "signals", "seconds": 8.6}],
    )


def _ranking() -> list[RankingEntry]:
    return [
        RankingEntry(
            paradigm="mtl", variant="mtl/pcgrad", applicable=True, probe_score=0.812, ci_low=0.79, ci_high=0.83,
            delta_vs_stl=0.021, delta_ci_low=0.004, delta_ci_high=0.038, predicted_score=0.823, p_best=0.71,
            co_winner=True, folds=5, complete=True, seconds=31.2,
        ),
        RankingEntry(
            paradigm="stl", variant="stl/gbdt", applicable=True, probe_score=0.791, ci_low=0.77, ci_high=0.81,
            delta_vs_stl=0.0, predicted_score=0.797, p_best=0.22, co_winner=True, folds=5, complete=True,
            seconds=9.8,
        ),
        RankingEntry(
            paradigm="transfer", variant="transfer/finetune", applicable=True, probe_score=0.774, ci_low=0.75,
            ci_high=0.80, delta_vs_stl=-0.017, delta_ci_low=-0.035, delta_ci_high=0.001, p_best=0.07, folds=4,
            complete=False, seconds=7.5,
        ),
        RankingEntry(
            paradigm="meta", applicable=False,
            reason="goal is all_tasks; meta-learning needs goal new_tasks with shots",
        ),
    ]  # fmt: skip


def _rationale() -> list[Evidence]:
    return [
        Evidence(
            statement="MTL beats STL by 0.021 (95 % interval 0.004 to 0.038) on the same folds.",
            rule="R3-gain",
            supports="mtl",
            numbers={"delta": 0.021, "ci_low": 0.004, "ci_high": 0.038, "folds": 5},
        ),
        Evidence(
            statement="Task 'east-coast' is hurt by sharing (risk 0.91): train it alone.",
            rule="R4-risk",
            supports="stl",
            numbers={"risk": 0.91, "harmful": "north"},
        ),
        Evidence(statement="Input shift between tasks was not measured.", rule="signal/shift", numbers={"shift": None}),
    ]


def _curve(variant: str, fit: dict[str, float], noise: list[float | None]) -> LearningCurve:
    """Probe points scattered around a power law, extrapolated to 1,950 rows from that law."""
    n_train = [195, 390, 780]

    def law(n: int) -> float:
        return fit["a"] - fit["b"] * n ** (-fit["c"])

    return LearningCurve(
        variant=variant,
        fractions=[0.25, 0.5, 1.0],
        n_train=n_train,
        scores=[None if e is None else round(law(n) + e, 4) for n, e in zip(n_train, noise, strict=True)],
        fit=fit,
        full_size=1950,
        extrapolated=round(law(1950), 4),
    )


def make_rich(names: list[str] | None = None) -> Recommendation:
    """Three related tasks with every signal measured (one at high risk)."""
    names = names or ["north", "south", "east-coast"]
    rows = [1200, 950, 310]
    affinity = [[0.31, 0.12, -0.08], [0.10, 0.27, None], [-0.15, -0.02, 0.22]]
    cosine = [[1.0, 0.42, -0.31], [0.42, 1.0, 0.05], [-0.31, 0.05, 1.0]]
    tasks = [
        TaskReport(
            name=names[0], kind="regression", n_rows=rows[0], metric="r2", stl_score=0.84,
            scores={"stl": 0.84, "mtl": 0.86, "transfer": 0.83}, best_paradigm="mtl", negative_transfer_risk=0.08,
            risk_by_paradigm={"mtl": 0.08, "transfer": 0.41},
        ),
        TaskReport(
            name=names[1], kind="regression", n_rows=rows[1], metric="r2", stl_score=0.79,
            scores={"stl": 0.79, "mtl": 0.81, "transfer": None}, best_paradigm="mtl", negative_transfer_risk=0.22,
            risk_by_paradigm={"mtl": 0.22, "transfer": None},
        ),
        TaskReport(
            name=names[2], kind="classification", n_rows=rows[2], metric="roc_auc", stl_score=0.74,
            scores={"stl": 0.74, "mtl": 0.70, "transfer": 0.71}, best_paradigm="stl", negative_transfer_risk=0.91,
            risk_by_paradigm={"mtl": 0.91, "transfer": 0.86}, harmful_sources=[names[0]],
        ),
    ]  # fmt: skip
    return Recommendation(
        paradigm="mtl",
        variant="mtl/pcgrad",
        confidence=0.78,
        confidence_method="calibrated classifier (isotonic)",
        headline="Train north and south together (MTL, PCGrad); keep east-coast single-task.",
        goal="all_tasks",
        layout="task_column",
        ranking=_ranking(),
        rationale=_rationale(),
        tasks=tasks,
        relatedness=Relatedness(
            tasks=names,
            affinity=affinity,
            affinity_method="tag-lookahead",
            gradient_cosine=cosine,
            conflict_share=[[0.0, 0.21, 0.64], [0.21, 0.0, 0.45], [0.64, 0.45, 0.0]],
            label_correlation=[[1.0, 0.55, -0.2], [0.55, 1.0, 0.1], [-0.2, 0.1, 1.0]],
            input_shift=[[0.0, 0.3, 1.6], [0.3, 0.0, 1.4], [1.6, 1.4, 0.0]],
            transferability={f"{names[0]}+{names[1]}": 1.23, names[0]: None},
            notes=["affinity measured over 40 lookahead steps"],
        ),
        groups=[TaskGroup(tasks=names[:2], mean_affinity=0.11), TaskGroup(tasks=[names[2]])],
        group_check={"score_grouped": 0.815, "score_all_shared": 0.812, "better": True, "folds": 3},
        learning_curves=[
            _curve("mtl/pcgrad", {"a": 0.86, "b": 2.4, "c": 0.55}, noise=[0.004, -0.006, 0.003]),
            _curve("stl/gbdt", {"a": 0.84, "b": 1.9, "c": 0.5}, noise=[-0.003, None, 0.005]),
        ],
        warnings=[
            "Task 'east-coast' has only 310 rows; its scores are noisy.",
            "Budget subsampled rows to 2000 per task.",
        ],
        budget=_budget(),
        data=_profile(names, rows),
        seed=0,
        versions={"paradigm-advisor": "0.1.0", "python": "3.11.9", "torch": "2.3.1", "scikit-learn": "1.7.0"},
    )


def make_minimal() -> Recommendation:
    """One task: nothing relatedness-like was measured and only STL applies."""
    ranking = [
        RankingEntry(paradigm="stl", variant="stl/ridge", applicable=True, probe_score=0.63, ci_low=None,
                     ci_high=None, p_best=1.0, co_winner=True, folds=2, complete=False, seconds=3.1),
        RankingEntry(paradigm="mtl", applicable=False, reason="only one task"),
        RankingEntry(paradigm="transfer", applicable=False, reason="no source task"),
        RankingEntry(paradigm="meta", applicable=False, reason=None),
    ]  # fmt: skip
    return Recommendation(
        paradigm="stl",
        variant="stl/ridge",
        confidence=0.97,
        confidence_method="rule R1-one-task",
        headline="One task: train it alone (STL).",
        goal="all_tasks",
        layout="multi_target",
        ranking=ranking,
        rationale=[Evidence(statement="There is a single task.", rule="R1-one-task", supports="stl")],
        tasks=[TaskReport(name="y", kind="regression", n_rows=80, metric="r2")],
        relatedness=Relatedness(tasks=["y"]),
        budget=BudgetUsed(name="tiny", seconds_limit=None, seconds_used=3.4, folds=2, partial=True),
        data=_profile(["y"], [80]),
        seed=7,
        versions={},
    )


def make_many(n: int = 139, seed: int = 0) -> Recommendation:
    """``n`` tasks with a dense affinity matrix, as in a large task-column dataset."""
    rng = np.random.default_rng(seed)
    names = [f"store_{i:03d}_region_{'abcdefg'[i % 7]}" for i in range(n)]
    rows = [int(r) for r in rng.integers(40, 900, size=n)]
    affinity = rng.normal(0, 0.1, size=(n, n))
    np.fill_diagonal(affinity, 0.4)
    affinity_list = [
        [None if (i * j) % 97 == 5 else float(v) for j, v in enumerate(row)] for i, row in enumerate(affinity)
    ]
    risks = rng.random(n)
    tasks = [
        TaskReport(
            name=name, kind="regression", n_rows=r, metric="r2", stl_score=float(rng.uniform(0.2, 0.9)),
            scores={"stl": 0.5, "mtl": 0.52}, best_paradigm="mtl" if risk < 0.5 else "stl",
            negative_transfer_risk=None if k % 50 == 3 else float(risk), risk_by_paradigm={"mtl": float(risk)},
            harmful_sources=list(names[k + 1 : k + 1 + k % 9]),
        )
        for k, (name, r, risk) in enumerate(zip(names, rows, risks, strict=True))
    ]  # fmt: skip
    rec = make_rich()
    return rec.model_copy(
        update={
            "tasks": tasks,
            "relatedness": Relatedness(tasks=names, affinity=affinity_list, affinity_method="first-order",
                                       gradient_cosine=affinity_list),
            "groups": [TaskGroup(tasks=names[:70], mean_affinity=0.05), TaskGroup(tasks=names[70:])],
            "data": _profile(names, rows),
        }
    )  # fmt: skip


# --- a tiny HTML checker --------------------------------------------------------------------------


class _Page(HTMLParser):
    """Collects what the tests look at: ids, tags, URLs, figures and their children, text per section."""

    CONTAINERS = (
        "html",
        "head",
        "body",
        "main",
        "section",
        "header",
        "figure",
        "table",
        "tr",
        "div",
        "ul",
        "ol",
        "svg",
    )

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.section_ids: list[str] = []
        self.starts: Counter[str] = Counter()
        self.ends: Counter[str] = Counter()
        self.urls: list[tuple[str, str, str]] = []
        self.figures: dict[str, Counter[str]] = {}
        self.rows_in: Counter[str] = Counter()
        self.event_handlers: list[str] = []
        self._figure: str | None = None
        self._section: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.starts[tag] += 1
        if a.get("id"):
            self.ids.append(a["id"])
        if tag in ("section", "header") and a.get("id"):
            self.section_ids.append(a["id"])
            self._section = a["id"]
        if tag == "tr" and self._section:
            self.rows_in[self._section] += 1
        self.event_handlers += [k for k in a if k.startswith("on")]
        for key in ("src", "href", "xlink:href", "action", "srcset", "poster", "data"):
            if a.get(key) is not None:
                self.urls.append((tag, key, a[key]))
        if tag == "figure":
            self._figure = a.get("id") or "?"
            self.figures[self._figure] = Counter()
        elif self._figure is not None:
            self.figures[self._figure][tag] += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.ends[tag] += 1

    def handle_endtag(self, tag: str) -> None:
        self.ends[tag] += 1
        if tag == "figure":
            self._figure = None

    def unbalanced(self) -> dict[str, tuple[int, int]]:
        return {t: (self.starts[t], self.ends[t]) for t in self.CONTAINERS if self.starts[t] != self.ends[t]}


def _assert_offline(page: _Page, text: str) -> None:
    # one script, the page's own table sorter, allowed by its hash and nothing else
    from advisor.report._html import CONTENT_SECURITY_POLICY, SORT_SCRIPT

    assert page.starts["script"] == 1 and text.count("<script>") == 1
    assert (
        f"<script>{SORT_SCRIPT}</script>" in text
        and "script-src 'sha256-" in CONTENT_SECURITY_POLICY
        and "unsafe" not in CONTENT_SECURITY_POLICY.split("script-src")[1]
    )
    assert page.starts["link"] == 0
    assert page.starts["iframe"] == 0
    for tag, key, url in page.urls:
        assert url.startswith(("#", "data:")), f"<{tag} {key}={url[:60]!r}> leaves the page"
    lowered = text.lower()
    assert "@import" not in lowered
    assert "url(http" not in lowered
    assert "<script" not in lowered.replace(f"<script>{SORT_SCRIPT.lower()}</script>", "")


# --- tests ----------------------------------------------------------------------------------------


def test_all_is_pinned() -> None:
    assert advisor.report.__all__ == ["CONTENT_SECURITY_POLICY", "render_html", "renderer_fingerprint"]


@pytest.fixture(scope="module")
def rich_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The three-task report, written once through ``to_html`` and shared (matplotlib is the slow part)."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    return path, make_rich().to_html(path)


def test_rich_report_has_every_section_and_figure(rich_report: tuple[Path, str]) -> None:
    _, text = rich_report
    page = _Page(text)

    assert text.startswith("<!DOCTYPE html>")
    assert page.unbalanced() == {}
    assert page.section_ids == SECTIONS
    for plot in (
        "ranking",
        "affinity",
        "curves",
        "gradient-cosine",
        "conflict-share",
        "label-correlation",
        "input-shift",
    ):
        children = page.figures[f"plot-{plot}"]
        assert children["svg"] == 1, plot
        assert children["path"] + children["use"] + children["image"] > 10, f"plot-{plot} is empty"
    assert "plot-mutual-information" not in page.figures  # not measured, so not drawn
    page_ids = [i for i in page.ids if i in SECTIONS or i.startswith("plot-")]
    assert len(page_ids) == len(set(page_ids))
    # the numbers a reader checks
    for needle in (
        "0.812",
        "[0.790, 0.830]",
        "+0.021",
        "R3-gain",
        "tag-lookahead",
        "48.7 s of 60 s",
        "calibrated classifier",
    ):
        assert needle in text, needle
    assert 'class="num risk-high">0.91<' in text  # east-coast at high risk is highlighted
    assert "goal is all_tasks; meta-learning needs goal new_tasks with shots" in text
    assert page.rows_in["tasks"] == 2 + 3  # two header rows, one row per task
    _assert_offline(page, text)


def test_minimal_report_says_not_measured_instead_of_inventing() -> None:
    rec = make_minimal()
    text = render_html(rec)
    page = _Page(text)

    assert page.unbalanced() == {}
    assert page.section_ids == SECTIONS
    assert set(page.figures) == {"plot-ranking"}
    assert page.figures["plot-ranking"]["svg"] == 1
    assert "not measured" in text
    assert "Learning curves were not measured." in text
    assert "Fewer than two tasks" in text
    assert "No task groups were suggested." in text
    assert "The grouping was not checked." in text
    assert "only one task" in text and "no source task" in text
    assert "partial: the time limit cut some probes short" in text
    assert "nan" not in text.lower().replace("nanoseconds", "")
    _assert_offline(page, text)


def test_unmeasured_or_malformed_matrices_do_not_break_the_page() -> None:
    rec = make_rich()
    rel = rec.relatedness.model_copy(
        update={
            "affinity": [[None, None, None]] * 3,
            "gradient_cosine": [[1.0, 0.2], [0.2, 1.0]],  # wrong shape for 3 tasks
            "input_shift": [[0.0, math.nan, 1.0], [math.nan, 0.0, 1.0], [1.0, 1.0, 0.0]],
        }
    )
    text = render_html(
        rec.model_copy(
            update={
                "relatedness": rel,
                "learning_curves": [
                    rec.learning_curves[0].model_copy(
                        update={"scores": [None, None, None], "fit": None, "extrapolated": None}
                    )
                ],
            }
        )
    )
    page = _Page(text)

    assert "Task affinity was not measured." in text
    assert "plot-affinity" not in page.figures
    assert "plot-gradient-cosine" not in page.figures
    assert "Gradient cosine: no cell was measured" in text
    assert page.figures["plot-input-shift"]["svg"] == 1
    assert "No learning-curve point was measured." in text
    assert "did not fit" in text


def test_user_strings_are_escaped() -> None:
    names = [XSS, "price $ usd $", 'quote" onload="x']
    rec = make_rich(names)
    relatedness = Relatedness(tasks=names, affinity=rec.relatedness.affinity, notes=[XSS])
    rec = rec.model_copy(update={"warnings": [f"column {XSS} is constant"], "variant": XSS, "relatedness": relatedness})
    text = render_html(rec)
    page = _Page(text)

    assert page.starts["script"] == 1 and text.lower().count("<script>") == 1  # the page's own sorter only
    assert "<script>alert" not in text.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert not page.event_handlers  # the quote in a name did not open an attribute
    assert page.section_ids == SECTIONS  # the injected names did not break the structure
    assert page.unbalanced() == {}
    assert page.figures["plot-affinity"]["svg"] == 1  # '$' in a name is not read as mathtext


def test_139_tasks_render_fast_and_compact() -> None:
    rec = make_many(139)
    start = time.perf_counter()
    text = render_html(rec)
    seconds = time.perf_counter() - start
    page = _Page(text)

    assert seconds < 5.0
    assert len(text) < 3_000_000
    assert page.rows_in["tasks"] == 2 + 139
    # the cells are one raster image inside the SVG (the colour bar is another), not 19,321 paths
    assert page.figures["plot-affinity"]["image"] <= 2
    assert page.figures["plot-affinity"]["path"] < 2000
    assert 'class="scroll"' in text
    assert "Showing 40 of 139 tasks" in text and "labelled" not in text  # 40 tasks: each one labelled
    _assert_offline(page, text)


def test_report_without_matplotlib_still_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    text = render_html(make_rich())
    page = _Page(text)

    assert page.section_ids == SECTIONS
    assert page.figures == {}
    assert "matplotlib is not installed" in text
    assert page.rows_in["tasks"] == 2 + 3


def test_to_html_writes_the_file(rich_report: tuple[Path, str]) -> None:
    path, returned = rich_report

    written = path.read_text(encoding="utf-8")
    assert written == returned
    assert _Page(written).section_ids == SECTIONS


@pytest.mark.skipif(not CHROMIUM.exists(), reason="headless render needs /usr/bin/chromium (apt-get install chromium)")
def test_headless_chromium_renders_a_non_blank_page(rich_report: tuple[Path, str], tmp_path: Path) -> None:
    from PIL import Image, ImageStat

    page, _ = rich_report
    shot = tmp_path / "report.png"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,3000", page.as_uri(),
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)

    assert shot.exists() and shot.stat().st_size > 20_000
    with Image.open(shot) as image:
        assert image.size == (1280, 3000)
        grey = image.convert("L")
        assert ImageStat.Stat(grey).stddev[0] > 20  # text, tables and plots, not a blank page
        # plots are drawn: some clearly coloured pixels (heatmap and markers), not only black on white
        hsv = np.asarray(image.convert("HSV"))
        assert ((hsv[..., 1] > 100) & (hsv[..., 2] > 80)).mean() > 0.005


# --- what the page claims -------------------------------------------------------------------------


def _learned(rec: Recommendation, p: dict[str, float | None], *, cap: int = 2000) -> Recommendation:
    """``rec`` as the learned recommender leaves it: ``p_cowinner`` per paradigm, rows capped at ``cap``."""
    ranking = [e.model_copy(update={"p_cowinner": p.get(e.paradigm)}) for e in rec.ranking]
    budget = rec.budget.model_copy(update={"max_rows_per_task": cap})
    return rec.model_copy(update={"ranking": ranking, "budget": budget})


def _row(text: str, paradigm: str) -> list[str]:
    """The cells of the ranking row of ``paradigm`` (tags stripped)."""
    import re

    table = text.split('id="ranking"', 1)[1].split("</table>", 1)[0]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if cells and cells[0] == paradigm:
            return cells
    raise AssertionError(f"no ranking row for {paradigm}")


def test_ranking_shows_the_learned_p_cowinner_and_names_the_vetoed() -> None:
    # Tasks of 1,200 and 950 rows capped at 400: the advice is about subsampled tasks, so transfer's
    # gain inside noise (interval [-0.035, 0.001]) is vetoed by R6 and gets no P(co-winner).
    rec = _learned(make_rich(), {"mtl": 0.62, "stl": 0.55, "transfer": None}, cap=400)
    text = render_html(rec)

    head = text.split('id="ranking"', 1)[1].split("</thead>", 1)[0]
    assert ">P(co-winner)<" in head
    assert _row(text, "mtl")[7] == "0.62" and _row(text, "stl")[7] == "0.55"
    assert _row(text, "transfer")[7] == "—"
    assert "vetoed" in _row(text, "transfer")[-1]
    notes = text.split("Not ranked by the learned recommender", 1)[1].split("</ul>", 1)[0]
    assert "transfer" in notes and "R6" in notes and "-0.017" in notes and "subsampled" in notes

    # Without a learned recommender nothing was vetoed from it: the column reads "—" and no note.
    plain = render_html(make_rich())
    assert _row(plain, "mtl")[7] == "—" and "Not ranked by the learned recommender" not in plain


def test_ranking_notes_and_stl_delta_read_cleanly() -> None:
    rec = make_rich()
    ranking = [
        e.model_copy(update={"reason": "stopped by the time limit before every fold finished"})
        if e.paradigm == "transfer"
        else e
        for e in rec.ranking
    ]
    text = render_html(rec.model_copy(update={"ranking": ranking}))

    assert _row(text, "transfer")[-1] == "incomplete; stopped by the time limit before every fold finished"
    assert _row(text, "stl")[3] == "reference"  # STL against itself is the reference, not "+0.000"
    assert "+0.000" not in text


def test_risk_summary_does_not_claim_safety_when_nothing_was_measured() -> None:
    rec = make_rich()
    unmeasured = [
        t.model_copy(update={"negative_transfer_risk": None, "risk_by_paradigm": {}, "scores": {"stl": None}})
        for t in rec.tasks
    ]
    text = render_html(rec.model_copy(update={"goal": "new_tasks", "tasks": unmeasured}))
    summary = text.split('id="tasks"', 1)[1].split("</p>", 1)[0]

    assert "None at high" not in summary
    assert "not measured for any task" in summary and "new_tasks" in summary


def test_risk_summary_names_the_paradigm_it_is_about() -> None:
    # mtl is the best-scoring sharing paradigm; the learned recommender chose transfer instead.
    rec = make_rich().model_copy(update={"paradigm": "transfer", "variant": "transfer/finetune"})
    text = render_html(rec)
    summary = text.split('id="tasks"', 1)[1].split("</p>", 1)[0]

    assert "under mtl, the best-scoring sharing paradigm" in summary
    assert "Under the recommended transfer: 1" in summary  # east-coast at 0.86 under transfer
    assert ">best sharing (mtl)</th>" in text
    assert "“best sharing” is mtl" in text


def test_group_check_lists_groups_apart_and_names_its_units() -> None:
    rec = make_rich()
    check = {"groups": [["north", "south"], ["east-coast"]], "difference": 0.003, "folds": 360, "better": False}
    text = render_html(rec.model_copy(update={"group_check": check}))
    section = text.split('id="groups"', 1)[1].split("</section>", 1)[0]

    assert section.count("<li>") == 2 and "north</bdi>, <bdi>south" in section
    # "folds" there is the comparison's paired test rows (n_pairs), not the 5 folds of the budget.
    assert "<dt>paired test rows</dt><dd>360</dd>" in section
    assert "<dt>folds</dt>" not in section
    # Now the runner stores both, each under its own name.
    check = {**check, "folds": 3, "paired_units": 360}
    section = render_html(rec.model_copy(update={"group_check": check})).split('id="groups"', 1)[1]
    section = section.split("</section>", 1)[0]
    assert "<dt>paired test rows</dt><dd>360</dd>" in section and "<dt>folds</dt><dd>3</dd>" in section


def test_smaller_wording_fixes() -> None:
    rec = make_rich()
    rec = rec.model_copy(
        update={
            "warnings": [
                "The time limit cut some probes short; see budget.phases. A larger budget sharpens the answer."
            ]
        }
    )
    text = render_html(rec)
    assert '<th scope="col">Measure</th>' in text and ">LogME<" not in text  # rows are measures, not source sets
    assert 'see <a href="#budget">Budget used</a> (phases)' in text and 'id="budget"' in text

    new = render_html(make_rich().model_copy(update={"goal": "new_tasks"}))
    target = new.split("<dt>Target task</dt>", 1)[1].split("</dd>", 1)[0]
    assert "all tasks" not in target and "new tasks" in target


def test_names_are_isolated_and_control_characters_dropped() -> None:
    names = ["r\u202etxt.exe", "ctl\x01x", "L" * 300]
    text = render_html(make_rich(names))

    assert "\x01" not in text
    assert "<bdi>r\u202etxt.exe</bdi>" in text and "<bdi>ctlx</bdi>" in text
    assert "overflow-wrap: anywhere" in text


def _svg_texts(svg: str) -> list[str]:
    import re

    return [re.sub(r"<[^>]+>", "", t) for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)]


def test_heatmap_labels_of_long_names_stay_distinct() -> None:
    from advisor.report._plots import heatmap_svg

    names = [f"measurement_station_north_region_{s}" for s in ("alpha", "beta", "gamma")]
    svg = heatmap_svg(make_rich().relatedness.affinity, names, colorbar_label="a", xlabel="x", ylabel="y",
                      diverging=True, cmap="RdBu")  # fmt: skip
    texts = _svg_texts(svg)

    labels = [t for t in texts if t.startswith("measure")]
    assert len(labels) == 6 and len(set(labels)) == 3  # each name once per axis, told apart
    assert all(len(t) <= 24 for t in labels) and all("…" in t for t in labels)


def test_plots_write_text_so_any_script_renders_without_warnings(recwarn: pytest.WarningsRecorder) -> None:
    import matplotlib

    before = matplotlib.rcParams["svg.fonttype"]
    names = ["北京", "上海", "עברית"]
    text = render_html(make_rich(names))
    affinity = text.split('id="plot-affinity"', 1)[1].split("</svg>", 1)[0]

    assert {"北京", "上海", "עברית"} <= set(_svg_texts(affinity))  # text the browser draws, not missing-glyph boxes
    assert not [w for w in recwarn if "Glyph" in str(w.message)]
    assert matplotlib.rcParams["svg.fonttype"] == before  # set only while saving


# --- many tasks, verdicts, vetoes, sorting -----------------------------------------------------------


def _section_of(text: str, section: str) -> str:
    return text.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]


def test_many_tasks_put_the_ranking_first_and_per_task_reasons_in_the_table() -> None:
    rec = make_many(139)
    per_task = [
        Evidence(statement=f"Updates on {t.name} raise the loss of 'x{i}'.", rule="signal/harmful-sources",
                 supports="stl", numbers={"task": t.name, "sources": t.name})
        for i, t in enumerate(rec.tasks[:60])
    ]  # fmt: skip
    text = render_html(rec.model_copy(update={"rationale": [*_rationale(), *per_task]}))

    assert text.index('id="ranking"') < text.index('id="rationale"') < text.index('id="tasks"')
    rationale = _section_of(text, "rationale")
    listed = rationale.split('<ol class="rationale">', 1)[1].split("</ol>", 1)[0]
    assert listed.count("rule <code>") == 3  # the dataset-level reasons only
    assert "60 findings about single tasks (60 from <code>signal/harmful-sources</code>)" in rationale
    assert 'href="#tasks"' in rationale and "<details>" in rationale  # the 60 are one click away, folded


def test_the_task_table_sorts_by_every_column_header() -> None:
    import re

    text = render_html(make_many(139))
    table = _section_of(text, "tasks").split('<table class="tasks sortable">', 1)[1].split("</table>", 1)[0]
    head, body = table.split("</thead>", 1)
    columns = [int(c) for c in re.findall(r'data-col="(\d+)"', head)]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    assert len(rows) == 139
    cells = re.findall(r"<td([^>]*)>", rows[0])
    assert sorted(columns) == list(range(len(cells)))  # one sortable header per column of the body
    heads = {int(c): re.sub(r"<[^>]+>", "", h) for c, h in re.findall(r'data-col="(\d+)">(.*?)</th>', head)}
    assert [heads[i] for i in range(4)] == ["#", "Task", "Rows", "STL"] and heads[len(cells) - 1] == "Harmful sources"
    for row in rows:  # numeric sort keys on the numeric cells; empty = not measured (sorted last)
        for attrs in re.findall(r"<td([^>]*)>", row):
            value = re.search(r'data-v="([^"]*)"', attrs)
            if value and value.group(1):
                float(value.group(1))
    assert 'data-v="" class="num ">' in text  # a task whose risk was not measured
    assert "Click a column header to sort by it" in text and "Scores are r2" in text


def test_heatmaps_of_many_tasks_show_the_riskiest_and_most_connected_in_cluster_order() -> None:
    from advisor.report._html import MAX_HEATMAP_TASKS, _heatmap_tasks

    rec = make_many(139)
    keep, shown = _heatmap_tasks(rec)
    assert len(keep) == MAX_HEATMAP_TASKS == 40 and len(set(keep)) == 40
    risks = sorted((t.negative_transfer_risk or -1, i) for i, t in enumerate(rec.tasks))
    assert {i for _, i in risks[-20:]} <= set(keep)  # the 20 most at risk are all shown
    assert shown.startswith("Showing 40 of 139 tasks: the 20 at the highest negative-transfer risk (at least 0.5)")
    assert "the other 99 are in the task table" in shown and "hierarchical clustering" in shown

    # Two blocks of mutually helpful tasks, interleaved in the data, come out side by side.
    n = 8
    block = [i % 2 for i in range(n)]
    affinity = [[0.4 if i == j else (0.2 if block[i] == block[j] else -0.2) for j in range(n)] for i in range(n)]
    names = [f"t{i}" for i in range(n)]
    small = make_rich().model_copy(update={"relatedness": Relatedness(tasks=names, affinity=affinity), "tasks": []})
    order, shown = _heatmap_tasks(small)
    assert sorted(order) == list(range(n)) and "hierarchical clustering" in shown
    assert [block[i] for i in order] in ([0] * 4 + [1] * 4, [1] * 4 + [0] * 4)
    text = render_html(small)
    labels = [t for t in _svg_texts(text.split('id="plot-affinity"', 1)[1].split("</svg>", 1)[0]) if t in names]
    assert labels[:n] == [names[i] for i in order]  # the plot follows the cluster order


@pytest.mark.parametrize(
    ("verdict", "equivalent", "badge"),
    [("clear", [], "Clear"), ("equivalent", ["stl", "mtl"], "Equivalent: stl, mtl"), ("uncertain", [], "Uncertain")],
)
def test_the_verdict_comes_first(verdict: str, equivalent: list[str], badge: str) -> None:
    text = render_html(make_rich().model_copy(update={"verdict": verdict, "equivalent_to": equivalent}))
    header = text.split('<header id="summary">', 1)[1].split("</header>", 1)[0]
    assert f'<span class="badge verdict-{verdict}">{badge}</span>' in header
    assert header.index("verdict-") < header.index('class="headline"')


def test_a_result_without_a_verdict_renders_as_before() -> None:
    text = render_html(make_rich())  # schema < 1.2: verdict None
    assert 'id="verdict"' not in text and "verdict-" not in text.split("<style>", 1)[0] + text.split("</style>", 1)[1]
    assert _Page(text).section_ids == SECTIONS


def test_vetoed_paradigms_are_marked_in_the_ranking() -> None:
    rec = make_rich()
    ranking = [
        e.model_copy(update={"vetoed_by": ["R6-small-budget-bias"]}) if e.paradigm == "transfer" else e
        for e in rec.ranking
    ]
    text = render_html(rec.model_copy(update={"ranking": ranking, "verdict": "clear"}))
    note = _row(text, "transfer")[-1]
    assert note.startswith("vetoed by R6-small-budget-bias")
    assert '<tr class="vetoed">' in text and "vetoed" not in _row(text, "mtl")[-1]
    ruled = text.split("Ruled out by the rules", 1)[1].split("</ul>", 1)[0]
    assert "transfer" in ruled and "R6-small-budget-bias" in ruled


def test_truncated_lists_say_how_many_more() -> None:
    text = render_html(make_many(139))
    groups = _section_of(text, "groups")
    assert "<summary>and 58 more</summary>" in groups  # 70 tasks, 12 shown
    assert "+58 more" not in text
    sources = _section_of(text, "tasks")
    assert "<summary>and 1 more</summary>" in sources  # 3 harmful sources, 2 inline


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)")
def test_clicking_a_header_sorts_the_task_table_in_a_browser(tmp_path: Path) -> None:
    import re

    text = render_html(make_many(60))
    # The page as a browser runs it, plus a click on "Rows" and then twice on the best-sharing risk (descending);
    # the page's policy only lets its own sorter run, so the clicks go in a copy without it.
    clicks = (
        "<script>var h = document.querySelectorAll('table.sortable th[data-col]');"
        "function th(t) { return Array.prototype.filter.call(h, function (x) { return x.textContent === t; })[0]; }"
        "th('Rows').click(); document.body.setAttribute('data-rows', Array.prototype.map.call("
        "document.querySelectorAll('table.sortable tbody tr'),"
        " function (r) { return r.cells[2].textContent; }).join());"
        "var risk = th('best sharing (mtl)'); risk.click(); risk.click();</script>"
    )
    page = tmp_path / "sorted.html"
    page.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", text).replace(
        "</body>", clicks + "</body>"), encoding="utf-8")  # fmt: skip
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    dom = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout

    rows = [int(r.replace(",", "")) for r in re.search(r'data-rows="([^"]*)"', dom).group(1).split(",")]
    assert rows == sorted(rows) and len(rows) == 60
    body = dom.split('class="tasks sortable"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    risks = re.findall(r'<td data-v="([^"]*)" class="num (?:risk-\w+)?"', body)
    measured = [float(v) for v in risks[::2] if v]  # best sharing, then mtl, per row
    assert measured == sorted(measured, reverse=True)
    assert risks[::2][-1] == ""  # not measured: last
    assert 'aria-sort="descending"' in dom

    # The page itself, under its own policy: the sorter runs (it made the headers focusable), nothing else.
    original = tmp_path / "original.html"
    original.write_text(text, encoding="utf-8")
    command[-1] = original.as_uri()
    dom = subprocess.run(command, check=True, capture_output=True, text=True, timeout=120).stdout
    headers = re.findall(r"<th [^>]*data-col=[^>]*>", dom)
    assert headers and all('tabindex="0"' in h for h in headers)
