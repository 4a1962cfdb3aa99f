"""asv's published pages made to work offline, and the asv config that publishes other
folders.

asv 0.6's pages load jQuery, flot and bootstrap from CDNs; a site browsed on a machine
without internet (or a CDN that changed) is a blank page. ``localize`` points them at
copies under ``html/vendor`` (bench_lib/www/vendor, licenses beside them) and keeps each
Subresource Integrity hash where the copy is byte-identical to what asv pinned.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

from bench_lib.publish.site.common import SiteError

VENDOR = Path(__file__).parents[2] / "www" / "vendor"
# asv 0.6.6's CDN addresses -> the vendored copy (same version unless stated in www/README.md)
CDN = {
    "https://code.jquery.com/jquery-3.3.1.min.js": "jquery-3.3.1.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js": "jquery.flot-0.8.3.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js": "jquery.flot.time-0.8.3.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js":
        "jquery.flot.selection-0.8.3.js",
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js":
        "jquery.flot.categories-0.8.3.js",
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js":
        "jquery.flot.orderBars-1.0.0.js",
    "https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js": "stupidtable-1.1.3.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js": "md5-2.19.0.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js": "bootstrap-3.1.1/js/bootstrap.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css":
        "bootstrap-3.1.1/css/bootstrap.min.css",
}
NAV_LINK = ('<li><a id="parbench-report" class="navbar-link" href="report/index.html">'
            'scaling &amp; overhead report</a></li>')
CHANGES_LINK = ('<li><a id="parbench-changes" class="navbar-link" href="changes/index.html">'
                'what changed</a></li>')
TAG = re.compile(r"<(script|link)\b[^>]*>", re.S)


def _integrity_ok(path: Path, integrity: str) -> bool:
    algorithm, _, expected = integrity.partition("-")
    try:
        digest = hashlib.new(algorithm, path.read_bytes()).digest()
    except ValueError:
        return False
    return base64.b64encode(digest).decode() == expected


def localize(html_dir: Path) -> list[str]:
    """Serve asv's third-party scripts from ``html/vendor`` and link the report and the
    changes page from the navigation bar; returns the CDN addresses replaced (a test
    checks none is left)."""
    html_dir = Path(html_dir)
    index = html_dir / "index.html"
    if not index.is_file():
        raise SiteError(f"{index} not found: run asv publish first")
    shutil.copytree(VENDOR, html_dir / "vendor", dirs_exist_ok=True)
    replaced = []

    def swap(match: re.Match) -> str:
        tag = match.group(0)
        for url, local in CDN.items():
            if url in tag:
                replaced.append(url)
                tag = tag.replace(url, f"vendor/{local}")
                integrity = re.search(r'\s+integrity="([^"]*)"', tag)
                if integrity and not _integrity_ok(VENDOR / local, integrity.group(1)):
                    tag = tag.replace(integrity.group(0), "")  # a re-minified or newer copy
        return tag

    # asv's grid lists every benchmark in benchmarks.json and fetches a summary even for one
    # never run on any machine (a 404 in every visitor's console): an empty series instead.
    for name in json.loads((html_dir / "index.json").read_text()).get("benchmarks", {}):
        summary = html_dir / "graphs" / "summary" / f"{name}.json"
        if not summary.exists():
            summary.parent.mkdir(parents=True, exist_ok=True)
            summary.write_text("[]")
    for page in html_dir.glob("*.html"):
        text = TAG.sub(swap, page.read_text())
        for link in (CHANGES_LINK, NAV_LINK):  # each first in the bar: the report ends up first
            if page.name == "index.html" and link not in text:
                text = text.replace('<ul class="nav navbar-nav navbar-left">',
                                    '<ul class="nav navbar-nav navbar-left">\n' + link, 1)
        page.write_text(text)
    return replaced


def config_for(root: Path, results: Path | None, html_dir: Path | None, folder: Path | None = None) -> Path:
    """A copy of asv.conf.json reading ``results`` and writing ``html_dir`` (absolute paths),
    in ``folder`` (default: a new temporary one)."""
    import tempfile

    from asv import util

    root = Path(root).resolve()
    conf = util.load_json(str(root / "asv.conf.json"), js_comments=True)
    conf["repo"] = str(root)  # asv resolves relative paths from the config file's folder
    conf["benchmark_dir"] = str(root / conf.get("benchmark_dir", "benchmarks"))
    conf["results_dir"] = str(Path(results or root / conf.get("results_dir", "results")).resolve())
    conf["html_dir"] = str(Path(html_dir or root / conf.get("html_dir", "html")).resolve())
    path = Path(folder or tempfile.mkdtemp(prefix="parbench-site-")) / "asv.conf.json"
    path.write_text(json.dumps(conf, indent=1))
    return path
