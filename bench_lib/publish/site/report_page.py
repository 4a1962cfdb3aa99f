"""The scaling report page of the site, drawn from ``results/`` with matplotlib.

``build_report`` writes ``html/report/index.html``: per machine its metadata, and per
workload one figure answering "which backend here?" (speedup and efficiency against the
ideal and the measured ceiling, the naive-to-shared gap, where a first call's time goes).
"""

from __future__ import annotations

import html
from pathlib import Path

from bench_lib import workloads
from bench_lib.publish import forecast, report as rep, verdict
from bench_lib.publish.site import drawn, timelines
from bench_lib.publish.site.common import SiteError


def _backends(table: list[rep.Row]) -> dict[str, list[rep.Row]]:
    out: dict[str, list[rep.Row]] = {}
    for row in table:
        out.setdefault(row.backend, []).append(row)
    return {b: sorted(r, key=lambda r: r.n_workers) for b, r in sorted(out.items())}


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, f"not measured\n({what})", ha="center", va="center", color="0.5",
            transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _with_errors(ax, pts: list, color, label: str) -> None:
    """A backend's line, with error bars where its points carry a 95% interval."""
    if not pts:
        return
    xs, ys, cis = zip(*pts)
    low = [y - ci[0] if ci else 0.0 for y, ci in zip(ys, cis)]
    high = [ci[1] - y if ci else 0.0 for y, ci in zip(ys, cis)]
    ax.errorbar(xs, ys, yerr=[low, high] if any(cis) else None, marker="o", color=color, label=label,
                capsize=3)


def workload_figure(machine: rep.Machine, workload: str, table: list[rep.Row], path: Path,
                    ahead: dict[str, list[tuple[int, float]]] | None = None) -> bool:
    """One SVG with four panels; False when the workload has no results on this machine.
    ``ahead``: per backend, (n, speedup) the model forecasts past the measured n."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_backend = _backends(table)
    if not by_backend:
        return False
    ns = sorted({r.n_workers for rows in by_backend.values() for r in rows})
    top = max(ns)
    colors = {b: plt.get_cmap("tab10")(i % 10) for i, b in enumerate(by_backend)}
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2), layout="constrained")
    speed, effic, gap, first = axes

    ceiling = {n: machine.value(rep.CEILING, workload=workload, n_workers=n) for n in ns}
    ceiling = {n: v for n, v in ceiling.items() if v is not None}
    xs = [1, top] if top > 1 else [1, 2]
    speed.plot(xs, xs, ls=":", color="0.4", label="ideal")
    if ceiling:
        ceiling.setdefault(1, 1.0)  # one copy against one copy: 1 by definition, not a default
        cn = sorted(ceiling)
        speed.plot(cn, [ceiling[n] for n in cn], "k--", marker="s", label="machine ceiling")
        measured = {p["n_workers"]: p for p in machine.points  # the newest point per n wins
                    if p.get("kind") == "ceiling" and p.get("workload") == workload and None not in p.get("ci", [None])}
        if measured:
            cn = sorted(measured)
            speed.errorbar(cn, [measured[n]["value"] for n in cn], fmt="none", ecolor="k", capsize=3,
                           yerr=[[measured[n]["value"] - measured[n]["ci"][0] for n in cn],
                                 [measured[n]["ci"][1] - measured[n]["value"] for n in cn]])
    for backend, rows in by_backend.items():
        if backend == "serial":
            continue
        _with_errors(speed, [(r.n_workers, r.speedup, r.speedup_ci) for r in rows if r.speedup is not None],
                     colors[backend], backend)
        _with_errors(effic, [(r.n_workers, r.efficiency, r.efficiency_ci) for r in rows
                             if r.efficiency is not None], colors[backend], backend)
    for backend, pts in (ahead or {}).items():  # dashed, hollow: never drawn as a measurement
        start = [(r.n_workers, r.speedup) for r in by_backend.get(backend, []) if r.n_workers == top and r.speedup]
        speed.plot(*zip(*start, *pts), ls="--", marker="o", mfc="none", color=colors.get(backend, "0.5"))
    if ahead:
        far = max(n for pts in ahead.values() for n, _ in pts)
        speed.plot([top, far], [top, far], ls=":", color="0.4")  # the ideal line, on into the forecast
        speed.axvspan(top, far, color="0.94", zorder=0, label="forecast (model, not measured)")
        speed.text(0.97, 0.03, "dashed: forecast", transform=speed.transAxes, ha="right", color="0.35", fontsize=8)
        ns = ns + sorted({n for pts in ahead.values() for n, _ in pts})
    speed.axhline(1.0, color="0.7", lw=0.8)
    speed.set(title="speedup over the serial loop", xlabel="n_workers", ylabel="x", xticks=ns)
    speed.legend(fontsize=7, loc="upper left")
    if effic.lines or effic.containers:
        effic.axhline(1.0, color="k", ls="--", lw=0.8)
        effic.set(title="efficiency = speedup / ceiling", xlabel="n_workers", xticks=ns)
    else:
        _empty(effic, "scaling.Ratios / Ceiling")

    gaps = {b: machine.value(rep.GAP, workload=workload, backend=b, n_workers=top) for b in by_backend}
    gaps = {b: v for b, v in gaps.items() if v is not None}
    if gaps:
        gap.barh(list(gaps), list(gaps.values()), color=[colors[b] for b in gaps])
        gap.axvline(1.0, color="k", lw=0.8)
        gap.set(title=f"naive / shared time, n_workers={top}", xlabel="x (>1: naive use is slower)")
    else:
        _empty(gap, "scaling.Gap")

    parts = {}
    for backend, rows in by_backend.items():
        row = next((r for r in rows if r.n_workers == top), rows[-1])
        start, imports = row.overheads.start_s, row.overheads.import_s
        label = f"{backend} ({row.n_workers})"
        if start is None or imports is None:  # drawn as missing, never as 0 s
            label += " [start/import not measured]"
        parts[label] = (start or 0.0, imports or 0.0, row.seconds)
    labels = list(parts)
    left = [0.0] * len(labels)
    for i, (name, color) in enumerate((("start workers", "tab:red"), ("imports in workers", "tab:orange"),
                                       ("the work (steady state)", "tab:blue"))):
        widths = [max(parts[label][i], 0.0) for label in labels]
        first.barh(labels, widths, left=left, color=color, label=name)
        left = [a + b for a, b in zip(left, widths)]
    first.set(title="a first call on a new pool", xlabel="seconds")
    first.legend(fontsize=7, loc="best")
    fig.suptitle(f"{rep.title(workload)} on {machine.name}", fontsize=11)
    fig.savefig(path, format="svg")
    plt.close(fig)
    return True


def _metadata(info: dict) -> list[tuple[str, str]]:
    memory, shm = info.get("memory_bytes"), info.get("dev_shm_bytes")
    versions = info.get("versions") or {}
    tf = info.get("tensorflow_threads") or {}
    return [
        ("CPU", str(info.get("cpu_model", "?"))),
        ("cores", f"{info.get('physical_cores', '?')} physical, {info.get('logical_cpus', '?')} logical, "
                  f"{info.get('usable_cpus', '?')} usable"),
        ("memory", "?" if memory is None else f"{memory / 2**30:.1f} GiB (/dev/shm "
                   f"{'?' if shm is None else f'{shm / 2**30:.1f} GiB'})"),
        ("python / platform", f"{info.get('python', '?')} / {info.get('platform', '?')}"),
        ("threads", f"{info.get('threads_per_worker', '?')} BLAS thread(s) per worker and for serial; "
                    f"TensorFlow (intra, inter) per worker {tf.get('per_worker', '?')}, "
                    f"tf-threads {tf.get('tf-threads', '?')}; multiprocessing start "
                    f"{info.get('mp_start_method', '?')}"),
        ("clusters", f"Ray {info.get('ray_address', '?')}, Dask {info.get('dask_address', '?')}"),
        ("libraries", ", ".join(f"{k} {v}" for k, v in versions.items() if v)),
    ]


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>parbench: scaling and overhead report</title>
<link rel="icon" href="../swallow.ico">
<style>
body {{ font-family: sans-serif; margin: 1.5em auto; max-width: 1500px; color: #222; }}
figure.workload {{ margin: 1.2em 0 2em; }} figure img {{ width: 100%; height: auto; }}
figcaption, p.verdict {{ font-size: 0.95em; }} table.meta td {{ padding: 2px 10px; vertical-align: top; }}
pre {{ font-size: 11px; overflow-x: auto; background: #f6f6f6; padding: 8px; }}
</style></head><body>
<p><a id="asv-link" href="../index.html">&larr; benchmark history (asv)</a></p>
<h1>Which backend for which workload, and why</h1>
<p>Per machine and workload: speedup over the serial loop (measured interleaved with it where
<code>scaling.Ratios</code> ran, with its 95% interval as error bars; else from the run times)
against the ideal line and the machine's measured ceiling (n copies of the serial work at once,
no engine); efficiency = that speedup / the ceiling of the same run; how much slower the naive use of each engine is than placing the input
once; and where a first call on a new pool spends its time. Dashed lines past the
measured n on a grey band are the forecast's (<code>python -m bench_lib forecast</code>), drawn
only where its model can say. Built from <code>results/</code>
by <code>python -m bench_lib site</code>.</p>
{body}
</body></html>
"""


def build_report(results: Path, out_dir: Path) -> list[Path]:
    """Write ``out_dir/index.html`` and one SVG per machine and workload; returns the SVGs."""
    try:
        machines = rep.pick(rep.load(results), None, str(results), everything=False)  # as ``report`` shows them
    except rep.ReportError as exc:
        raise SiteError(str(exc)) from None
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = []
    body = [f"<p><b>{html.escape(rep.SMALL_ONLY)}</b></p>"] if all(m.small for m in machines) else []
    for machine in machines:
        body.append(f'<section class="machine" id="{html.escape(machine.name)}">'
                    f"<h2>machine {html.escape(machine.name)}</h2>")
        rows = _metadata(machine.info) if machine.info else [("metadata", "not recorded")]
        body.append('<table class="meta">' + "".join(
            f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows) + "</table>")
        held = drawn.digest(Path(results) / machine.name, Path(results) / "benchmarks.json")
        for workload in workloads.names():
            bench = workloads.get(workload).headline
            svg = out_dir / f"{machine.name}-{workload}.svg"
            table = rep.rows(machine, workload)
            top = max((r.n_workers for r in table), default=1)
            ahead = forecast.curve(machine, workload, [2 * top, 4 * top])
            if not drawn.figure(svg, drawn.key(held, "workload", workload),
                                lambda path: workload_figure(machine, workload, table, path, ahead)):
                continue
            figures.append(svg)
            advice = verdict.verdict(machine, workload, table, rep.table_run(machine, workload)).text
            body.append(  # the verdict first, as in ``report``; the figure and its history below
                f'<figure class="workload" data-workload="{workload}">'
                f'<h3>{workload}</h3><p class="verdict"><b>recommended:</b> {html.escape(advice)}</p>'
                f'<img src="{svg.name}" alt="{workload} on {html.escape(machine.name)}">'
                f'<figcaption>History: <a href="../index.html#{bench}">{bench}</a></figcaption></figure>')
            body.append(timelines.section(Path(results) / machine.name, machine.name, workload, out_dir, held))
        body.append(f"<details><summary>the same as text (python -m bench_lib report)</summary>"
                    f"<pre>{html.escape(rep.render([machine]))}</pre></details></section>")
    (out_dir / "index.html").write_text(PAGE.format(body="\n".join(body)))
    return figures
