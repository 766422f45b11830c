"""The report's inline stylesheet (system fonts only, so the page needs nothing from the network)."""

from __future__ import annotations

CSS = """
:root { --ink: #1f2933; --muted: #6b7280; --line: #e3e6ea; --soft: #f6f7f9; --accent: #2f5d9e;
        --good: #e7f5ea; --warn: #fff4d6; --bad: #fde2e1; --bad-ink: #9b1c1c; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 1.5rem 1.5rem 4rem; }
h1 { font-size: 1.6rem; margin: 0 0 .4rem; }
h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.02rem; margin: 1.4rem 0 .4rem; }
p { margin: .4rem 0; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: .88em; }
nav { margin: .6rem 0 1rem; font-size: .9rem; }
nav a { color: var(--accent); text-decoration: none; margin-right: .9rem; white-space: nowrap; }
.headline { font-size: 1.15rem; background: var(--soft); border-left: 5px solid var(--accent);
            padding: .7rem 1rem; margin: .6rem 0 1rem; }
.choice { font-size: 1.05rem; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .8rem;
         background: var(--soft); border: 1px solid var(--line); white-space: nowrap; }
.badge.chosen { background: var(--accent); color: #fff; border-color: var(--accent); }
.badge.warn { background: var(--warn); border-color: #f0d48a; }
.verdict { margin: .2rem 0 .3rem; }
.verdict .badge { font-size: .95rem; font-weight: 600; padding: .15rem .75rem; }
.badge.verdict-clear { background: #1f7a3d; border-color: #1f7a3d; color: #fff; }
.badge.verdict-equivalent { background: var(--accent); border-color: var(--accent); color: #fff; }
.badge.verdict-uncertain { background: var(--warn); border-color: #e0b43c; color: #6b4e00; }
tr.vetoed td:first-child { text-decoration: line-through; text-decoration-color: var(--muted); }
table.sortable th[data-col] { cursor: pointer; user-select: none; }
table.sortable th[data-col]:hover { background: #eceff3; }
table.sortable th[data-col]::after { content: " \\2195"; color: #b0b6be; font-weight: 400; }
table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; color: var(--accent); }
table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; color: var(--accent); }
.per-task { margin: .6rem 0; }
td.variant code { white-space: nowrap; }
td.note { min-width: 12rem; }
.ci { display: block; font-size: .78rem; color: var(--muted); }
.na { color: var(--muted); font-style: italic; }
.muted { color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.2rem; margin: .5rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; width: auto; font-size: .88rem; margin: .5rem 0; }
th, td { text-align: left; padding: .3rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tr.chosen td { background: #fff8dc; }
tr.inapplicable td { color: var(--muted); }
.scroll { max-height: 34rem; overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
.scroll table { margin: 0; }
.scroll thead { position: sticky; top: 0; z-index: 1; box-shadow: 0 1px 0 var(--line); }
.wide { overflow-x: auto; }
th.group { text-align: center; border-bottom: 1px solid #cfd5dc; }
table.tasks td.name { min-width: 8rem; max-width: 24rem; }
/* A long task or column name breaks anywhere rather than pushing the page sideways. */
bdi, .headline { overflow-wrap: anywhere; }
dl.facts dd { min-width: 0; }
ol.groups { margin: 0; padding-left: 1.4rem; }
td.sources { min-width: 12rem; }
.bad { color: var(--bad-ink); }
td.risk-high { background: var(--bad); color: var(--bad-ink); font-weight: 600; }
td.risk-mid { background: var(--warn); }
td.risk-low { background: var(--good); }
.small { font-size: .8rem; }
ul.chips { list-style: none; padding: 0; margin: .2rem 0 0; display: flex; flex-wrap: wrap; gap: .3rem; }
ul.chips li { font-size: .8rem; background: var(--soft); border: 1px solid var(--line); border-radius: 4px;
              padding: 0 .4rem; }
ol.rationale > li { margin: .5rem 0; }
ul.warnings > li { background: var(--warn); border-left: 4px solid #e0b43c; padding: .35rem .7rem;
                   margin: .3rem 0; list-style: none; }
ul.warnings { padding: 0; }
figure.plot { margin: 1rem 0; }
figure.plot svg, figure.plot img { display: block; max-width: 100%; height: auto; }
.matrices { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 0 1.5rem; }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .3rem; max-width: 60rem; }
details summary { cursor: pointer; color: var(--accent); }
footer { margin-top: 3rem; font-size: .8rem; color: var(--muted); border-top: 1px solid var(--line); padding-top: .6rem; }
@media print { .scroll { max-height: none; overflow: visible; } nav { display: none; } }
"""
