"""Would more rounds make two runs recommend the same backends? For each committed A/A pair,
the recommendation of each workload (bench_lib.publish.compare.winner: the fastest, and every
backend whose interval overlaps it) recomputed from the first quarter, half, three
quarters and all of every speedup's paired rounds (at least 3), and how many of the five
workloads it names the same in both runs. Then the same with ties told apart by the paired
ratio of two backends' times where they shared their rounds (else their two intervals
combined), instead of overlapping intervals. Run from the checkout: .venv/bin/python docs/tie_stability.py"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench_lib.measure import protocol
from bench_lib.publish import compare  # noqa: E402
from bench_lib.results import points  # noqa: E402

PAIRS = {"vm-2core-24gb-xeon": [("42cc5ba5-20261130T163600", "42cc5ba5-20261130T172235")],
         "vm-2core-24gb-epyc": [("7890cffe-20261203T142323", "7890cffe-20261203T151143")]}
SHARES = (0.25, 0.5, 0.75, 1.0)


def speedups(machine: str, run: str, share: float) -> dict[str, list[dict]]:
    """workload -> its speedup records of ``run``, their interval from the first rounds only."""
    out: dict[str, list[dict]] = {}
    for p in points.read(ROOT / "results" / machine / points.FILE)[0]:
        if p.get("kind") != "speedup" or p.get("run") != run:
            continue
        top, bottom = p["samples_s"]["top"], p["samples_s"]["bottom"]
        k = max(3, round(len(top) * share))
        iv = protocol.ratio_interval(top[:k], bottom[:k])
        out.setdefault(p["workload"], []).append({**p, "value": iv.estimate, "ci": [iv.low, iv.high], "pairs": k})
    return out


def paired_winner(records: list[dict]) -> str:
    """compare.winner's choice, a backend tied where the interval of its time over the
    fastest one's holds 1: paired round by round where both shared their serial samples."""
    best = max(records, key=lambda r: r["value"])
    if best["value"] < 1.0:
        return "serial"
    tied = []
    for r in records:
        if r is best:
            continue
        if r["samples_s"]["top"] == best["samples_s"]["top"]:
            iv = protocol.ratio_interval(r["samples_s"]["bottom"], best["samples_s"]["bottom"])
        else:
            iv = protocol.product_interval(compare.interval(best), compare.interval(r), -1)
        if iv.low <= 1.0:
            tied.append(r["backend"])
    return "tie: " + "/".join(sorted([best["backend"], *tied])) if tied else best["backend"]


for machine, pairs in PAIRS.items():
    for a, b in pairs:
        counts = []
        for share in SHARES:
            first, second = speedups(machine, a, share), speedups(machine, b, share)
            same = sum(compare.winner(first[w]) == compare.winner(second[w]) for w in first)
            counts.append(f"{share:.0%} of the rounds: {same} of {len(first)}")
        first, second = speedups(machine, a, 1.0), speedups(machine, b, 1.0)
        same = sum(paired_winner(first[w]) == paired_winner(second[w]) for w in first)
        counts.append(f"paired between backends: {same} of {len(first)}")
        print(f"{machine} {a} {b}: " + "; ".join(counts))
