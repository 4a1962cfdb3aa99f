"""``report --summary``: the findings in one table per machine series -- per workload, the
backend to use, its speedup with interval, and the one-line reason -- as text or as the
Markdown table the README opens with (``report --summary --markdown``, checked against
the README by tests/test_report.py, so it is never typed by hand).
"""

from __future__ import annotations

import textwrap

from bench_lib import workloads
from bench_lib.publish import report, verdict

# The README's table sits between these lines (tests/test_report.py checks it is this output).
BEGIN = "<!-- findings: python -m bench_lib report --summary --markdown -->"
END = "<!-- /findings -->"
HEADER = ("| workload | use | speedup over the loop | why |", "| --- | --- | --- | --- |")


def lines_of(machine: report.Machine) -> list[tuple[str, verdict.Verdict, str]]:
    """(workload, its verdict, the run its table shows) for every workload measured here."""
    out = []
    for workload in workloads.names():
        table = report.rows(machine, workload)
        if table:
            run = report.table_run(machine, workload)
            out.append((workload, verdict.verdict(machine, workload, table, run), run))
    return out


def heading(machine: report.Machine, runs: list[str]) -> str:
    """The series, its CPU, the runs its verdicts stand on and the allocator they ran under."""
    info = machine.info
    where = f"runs {', '.join(runs)}" if len(runs) > 1 else f"run {runs[0]}" if runs else "asv's times, no paired run"
    under = sorted({verdict.malloc(machine.discipline({"run": run})) for run in runs}) or ["default malloc"]
    return (f"{machine.name} ({info.get('cpu_model', '?')}, {info.get('physical_cores', '?')} cores; {where}; "
            f"{', '.join(under)})")


def render(machines: list[report.Machine], markdown: bool = False) -> str:
    out = [report.SMALL_ONLY, ""] if machines and all(m.small for m in machines) else []
    for machine in machines:
        found = lines_of(machine)
        runs = sorted({run for _, _, run in found if run})
        if markdown:
            out += [f"**{heading(machine, runs)}**", "", *HEADER]
            out += [f"| {w} | {v.use} | {v.figure} | {v.reason} |".replace("\n", " ") for w, v, _ in found]
        else:
            out.append(f"== {heading(machine, runs)}")
            for w, v, _ in found:
                out += textwrap.wrap(f"{w}: {v.use}, {v.figure} -- {v.reason}", report.WIDTH,
                                     subsequent_indent="    ", break_on_hyphens=False)
        out.append("")
    return "\n".join(out).rstrip("\n")
