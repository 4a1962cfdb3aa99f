"""Timelines on the report page: per workload, one panel per backend at the most workers
traced, a row per worker, a bar per task (its input's part shaded apart from computing),
the gaps between bars the idle time; beside it what the trace says, in figures and words.

Drawn from ``results/<machine>/traces.jsonl`` (bench_lib.measure.timeline): the latest trace per
workload and backend at the machine's most traced workers.
"""

from __future__ import annotations

import html
from pathlib import Path

from bench_lib.measure import timeline
from bench_lib.publish.site import drawn

INPUT_COLOR, COMPUTE_COLOR = "#f28e2b", "#4e79a7"


def latest(folder: Path, workload: str) -> list[dict]:
    """The newest trace per backend of ``workload`` at the most workers traced, by backend."""
    records = [r for r in timeline.read(folder) if r.get("workload") == workload]
    if not records:
        return []
    top = max(r["n_workers"] for r in records)
    newest = {r["backend"]: r for r in records if r["n_workers"] == top}  # file order: later wins
    return [newest[b] for b in sorted(newest)]


def _workers(record: dict) -> list[tuple]:
    """Rows of the panel: one per worker (process, or thread of the caller), in first-start order."""
    seen: list[tuple] = []
    for pid, thread, *_ in record["spans"]:
        if (pid, thread) not in seen:
            seen.append((pid, thread))
    return seen


def _labels(rows: list[tuple]) -> list[str]:
    """A worker's name: its pid, or its thread where several threads of one process ran tasks."""
    pids = [pid for pid, _ in rows]
    return [f"{pid} {thread}"[:22] if pids.count(pid) > 1 else f"pid {pid}" for pid, thread in rows]


def figure(records: list[dict], path: Path) -> None:
    """One SVG: a panel per backend; x is seconds after the run handed its first task over."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    fig, axes = plt.subplots(len(records), 1, figsize=(11, 0.5 + 1.1 * len(records)), squeeze=False,
                             layout="constrained")
    for ax, record in zip(axes[:, 0], records):
        rows = _workers(record)
        inputs: dict[int, list] = {y: [] for y in range(len(rows))}
        computes: dict[int, list] = {y: [] for y in range(len(rows))}
        for pid, thread, submitted, started, input_s, finished in record["spans"]:
            y = rows.index((pid, thread))
            got = input_s or 0.0
            if got:
                inputs[y].append((started, got))
            computes[y].append((started + got, finished - started - got))
        for y in range(len(rows)):  # one collection per row and colour: thousands of tasks draw fast
            if inputs[y]:
                ax.broken_barh(inputs[y], (y - 0.35, 0.7), color=INPUT_COLOR)
            ax.broken_barh(computes[y], (y - 0.35, 0.7), color=COMPUTE_COLOR, edgecolor="white", linewidth=0.5)
        ax.set_yticks(range(len(rows)), _labels(rows), fontsize=7)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(0, max(span[5] for span in record["spans"]) * 1.02)  # from the first hand-over
        ax.set_title(timeline.sentence(record), fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("seconds after the first task was handed to the engine")
    axes[0, 0].legend(handles=[Patch(color=INPUT_COLOR, label="getting input"),
                               Patch(color=COMPUTE_COLOR, label="computing")],
                      loc="upper right", fontsize=7)
    fig.savefig(path, format="svg")
    plt.close(fig)


def section(folder: Path, machine: str, workload: str, out_dir: Path, held: str) -> str:
    """The timeline figure of ``workload`` on ``machine`` with its figures, or "" untraced.
    ``held``: the digest of the machine's results (drawn.digest), to reuse a kept figure."""
    records = latest(folder, workload)
    if not records:
        return ""
    svg = Path(out_dir) / f"{machine}-{workload}-timeline.svg"
    drawn.figure(svg, drawn.key(held, "timeline", workload), lambda path: figure(records, path) or True)
    items = []
    for r in records:
        s = r["summary"]
        items.append(
            f'<li data-backend="{html.escape(r["backend"])}" data-compute="{s["compute_share"]:.3f}" '
            f'data-idle="{s["idle_share"]:.3f}" data-wait-ms="{s["median_wait_s"] * 1e3:.2f}" '
            f'data-imbalance="{s["imbalance"]:.3f}"><b>{html.escape(r["backend"])}</b> '
            f'({html.escape(r["variant"])}): compute {s["compute_share"]:.0%}, idle {s["idle_share"]:.0%}, '
            f'median wait {s["median_wait_s"] * 1e3:.2f} ms, imbalance {s["imbalance"]:.2f}. '
            f"{html.escape(timeline.sentence(r))}</li>")
    n = records[0]["n_workers"]
    return (f'<figure class="timeline" data-workload="{workload}"><h4>{workload}: where the time went, '
            f"one traced run per backend at n_workers={n}</h4>"
            f'<img src="{svg.name}" alt="timelines of {workload} on {html.escape(machine)}">'
            f'<figcaption><ul>{"".join(items)}</ul></figcaption></figure>')
