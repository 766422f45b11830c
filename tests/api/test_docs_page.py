"""``/docs`` renders in a real browser with the network cut off: Swagger UI comes from the service itself.

Runs Debian's Chromium through Playwright against ``advisor serve`` on a loopback port; every
request to any other host is aborted and recorded. Skips with the reason where Playwright or a
Chromium is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.api.test_server import free_port, serve

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason='Playwright is in the dev extra: pip install -e ".[dev]"'
)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    pytest.skip("no Chromium on this machine (apt-get install chromium)")


def test_docs_render_offline_in_a_browser(tmp_path: Path) -> None:
    executable = _chromium()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    blocked: list[str] = []
    with serve(tmp_path / "data", port), playwright_api.sync_playwright() as play:
        browser = play.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page()

            def only_the_service(route) -> None:
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            page.route("**/*", only_the_service)
            page.goto(f"{base}/docs", wait_until="networkidle")
            title = page.locator(".swagger-ui .info .title")
            title.wait_for(timeout=20_000)
            heading = title.inner_text()
            operations = page.locator(".swagger-ui .opblock").count()
        finally:
            browser.close()
    assert "Paradigm Advisor" in heading
    assert operations >= 10  # every documented operation is listed
    assert blocked == []  # nothing was fetched from anywhere else
