"""The HTML report of a recommendation: one self-contained file, readable offline.

``render_html(rec)`` returns the page; ``Recommendation.to_html(path)`` writes it. Plots are inline
SVG made with matplotlib (imported only when a report is rendered).
"""

from __future__ import annotations

from advisor.report._html import CONTENT_SECURITY_POLICY, render_html, renderer_fingerprint

__all__ = ["CONTENT_SECURITY_POLICY", "render_html", "renderer_fingerprint"]
