"""The published site (``html/``): asv's history pages made to work offline, plus a scaling
and overhead report drawn from ``results/`` with matplotlib. One module per job:

- ``asv_pages``: asv's published pages patched to work offline (vendored scripts, the
  report's and the changes page's links in the navigation bar) and the asv config that publishes other folders;
- ``report_page``: ``html/report/``, the scaling report's page and its figures;
- ``changes_page``: ``html/changes/``, the steps in the history beyond their intervals,
  told apart from those at a change of host or method (bench_lib.publish.changes);
- ``common``: the site's error and its pages' folders, which every part shares;
- ``chromium``: a real browser (headless Chromium under selenium) and a static server,
  for the tests and the README's screenshot.

``build`` runs the first three after ``asv publish``; the names callers use are re-exported
here (``from bench_lib.publish import site; site.build(...)``).
"""

from __future__ import annotations

from pathlib import Path

from bench_lib.publish.site.asv_pages import CDN, CHANGES_LINK, NAV_LINK, VENDOR, config_for, localize
from bench_lib.publish.site.changes_page import build_changes
from bench_lib.publish.site.chromium import browser, screenshot, serve
from bench_lib.publish.site.common import CHANGES_DIR, REPORT_DIR, SiteError
from bench_lib.publish.site.report_page import build_report, workload_figure

__all__ = ["CDN", "CHANGES_DIR", "CHANGES_LINK", "NAV_LINK", "REPORT_DIR", "VENDOR", "SiteError", "browser",
           "build", "build_changes", "build_report", "config_for", "localize", "screenshot", "serve", "workload_figure"]


def build(root: Path, results: Path | None = None, html_dir: Path | None = None) -> Path:
    """After ``asv publish``: vendored scripts, the navigation links, the report and the
    changes page; returns the report's page."""
    results = Path(results or root / "results")
    html_dir = Path(html_dir or root / "html")
    localize(html_dir)
    build_report(results, html_dir / REPORT_DIR)
    build_changes(results, html_dir / CHANGES_DIR)
    return html_dir / REPORT_DIR / "index.html"
