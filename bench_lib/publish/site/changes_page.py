"""The site's "what changed" page (``html/changes/index.html``): the series whose latest
step lies beyond their intervals, and apart from them the steps that came with a change of
host or method, which asv's own Regressions page lists as regressions (bench_lib.publish.changes).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from bench_lib.publish import changes, report as rep
from bench_lib.publish.site.common import SiteError

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>parbench: what changed</title>
<link rel="icon" href="../swallow.ico">
<style>
body {{ font-family: sans-serif; margin: 1.5em auto; max-width: 1500px; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0 1.5em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }}
td.num {{ text-align: right; white-space: nowrap; }} p.summary {{ font-size: 1.1em; }}
</style></head><body>
<p><a id="asv-link" href="../index.html">&larr; benchmark history (asv)</a> &middot;
<a href="../report/index.html">scaling &amp; overhead report</a></p>
<h1>What changed</h1>
{summary}
<p>Each history is one machine series, benchmark and parameter combination, in the order
measured: asv's values (one per commit, with asv's 99% interval where it has one) and the
measured points of <code>points.jsonl</code> (one per run, with their 95% interval). asv's own
step detection (<code>asv.step_detect</code>) fits each history with levels; only its latest step
is judged. It counts only where the values on either side lie apart beyond their intervals
(or, without intervals, beyond their spread: two points at least). A step is not called a
change of the code where the host changed at it (the runs' system records differ, or the
serial loop's time moved between the nearest runs either side, as
<code>python -m bench_lib compare</code> tells it) or the method did (the allocator
discipline, the engines' mode, or the benchmark's own code). asv's
<a href="../index.html#/regressions">Regressions</a> page lists every step asv finds, these included.
Built from <code>results/</code> by <code>python -m bench_lib site</code>;
<code>docs/regressions.md</code> explains the gate and this page.</p>
<h2>Changed beyond noise</h2>
{changed}
<h2>Steps at a change of host or method (not regressions)</h2>
{explained}
</body></html>
"""
HEAD = ("<tr><th>change</th><th>machine</th><th>benchmark</th><th>before</th><th>after</th>"
        "<th>between (the last value before, the first after)</th><th>why</th></tr>")


def _number(x: float, unit: str) -> str:
    return f"{x:.3g}{'x' if unit == 'x' else ' ' + unit if unit else ''}"


def _side(level: float, entries: list[changes.Entry], unit: str) -> str:
    low, high = changes.band(entries)
    return (f"{_number(level, unit)}<br><small>{len(entries)} value{'s' * (len(entries) != 1)}, "
            f"{low:.3g} .. {high:.3g}</small>")


def row(step: changes.Step) -> str:
    """One step as a table row; its figures also as data attributes (the tests read them)."""
    h = step.history
    before, after = step.sides()
    why = "; ".join(step.reasons) or "changed beyond noise"
    return (f'<tr class="step" data-machine="{html.escape(h.machine)}" data-benchmark="{html.escape(h.benchmark)}" '
            f'data-position="{step.position}" data-ratio="{step.ratio:.4f}">'
            f'<td class="num">{step.ratio - 1:+.0%}</td><td>{html.escape(h.machine)}</td>'
            f"<td>{html.escape(h.title)}</td><td class=\"num\">{_side(step.before, before, h.unit)}</td>"
            f'<td class="num">{_side(step.after, after, h.unit)}</td>'
            f"<td>{html.escape(h.entries[step.position - 1].label)} &rarr; "
            f"{html.escape(h.entries[step.position].label)}</td><td>{html.escape(why)}</td></tr>")


def table(steps: list[changes.Step], ident: str, none: str) -> str:
    if not steps:
        return f'<p id="{ident}">{html.escape(none)}</p>'
    return f'<table id="{ident}">{HEAD}' + "".join(row(s) for s in steps) + "</table>"


def build_changes(results: Path, out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` from the histories under ``results``; returns its path."""
    try:
        histories, runs = changes.load(Path(results))
    except rep.ReportError as exc:
        raise SiteError(str(exc)) from None
    found = changes.steps(histories, runs)
    statements = changes.summary(found, len(histories))
    listed = Path(out_dir).parent / "regressions.json"  # asv publish's, where the site has one
    if listed.is_file():
        try:
            count = len(json.loads(listed.read_text()).get("regressions", []))
        except (ValueError, AttributeError):
            count = None
        if count is not None:
            statements.append(f"asv's Regressions page lists {count} steps: every rise its detector finds in any "
                              "series, without their intervals and whatever changed under them.")
    summary = f'<p class="summary" id="summary"><b>{html.escape(statements[0])}</b></p>' + "".join(
        f"<p>{html.escape(s)}</p>" for s in statements[1:])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    page.write_text(PAGE.format(
        summary=summary,
        changed=table([s for s in found if s.changed], "changed",
                      "None: no series' latest step lies beyond its intervals without a change of host or method."),
        explained=table([s for s in found if s.beyond and s.reasons], "explained",
                        "None: no step beyond noise came with a change of host or method.")))
    return page
