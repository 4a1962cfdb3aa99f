"""``make mutation``'s last step: the score of the finished ``mutmut run``, per module and in all.

Each mutated module must kill at least its floor (:func:`floor`): 90% in the measurement
core, 85% in the planning code (plan, ledger, forecast, timeline) and in the two core
modules whose tests leave more than a tenth alive (report, ratios: 87% each); everything
mutated together at least :data:`OVERALL`. Survivors known to be
equivalent or harmless are listed, with why, in tests/mutation-survivors.txt; the others
are counted per module as unexplained (``mutmut show NAME`` shows one): the gaps left to
close.

Prints a line per module and ``killed K of N mutants (P%)`` as its last line; exits 1 when a
floor is missed."""

import re
import subprocess
import sys
from pathlib import Path

LISTED = Path(__file__).with_name("mutation-survivors.txt")
CORE_FLOOR = 0.90
FLOORS = {"bench_lib.run.plan": 0.85, "bench_lib.results.ledger": 0.85, "bench_lib.publish.forecast": 0.85,
          "bench_lib.measure.timeline": 0.85,
          # core modules with more than a tenth of their mutants alive: their unexplained survivors come first
          "bench_lib.publish.report": 0.85, "bench_lib.measure.ratios": 0.85}
OVERALL = 0.90
MUTANT = re.compile(r"^(?P<module>.+?)\.x[_ǁ]")  # bench_lib.run.plan.x_fit__mutmut_3, ...xǁClassǁmethod__mutmut_1


def statuses() -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"],
                         capture_output=True, text=True, check=True).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            found[name] = status
    return found


def listed() -> set[str]:
    names = set()
    for line in LISTED.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            names.add(line.split()[0])
    return names


def module(mutant: str) -> str:
    found = MUTANT.match(mutant)
    return found["module"] if found else mutant.rsplit(".", 1)[0]


def by_module(found: dict[str, str]) -> dict[str, tuple[int, int]]:
    """Each module's (killed, mutants)."""
    out: dict[str, list[int]] = {}
    for name, status in found.items():
        counts = out.setdefault(module(name), [0, 0])
        counts[0] += status == "killed"
        counts[1] += 1
    return {name: (k, n) for name, (k, n) in sorted(out.items())}


def floor(module_name: str, floors=FLOORS) -> float:
    return floors.get(module_name, CORE_FLOOR)


def verdict(found: dict[str, str], known: set[str], floors=FLOORS, overall=OVERALL) -> tuple[list[str], bool]:
    """The report's lines and whether it passes."""
    lines, ok = [], True
    survivors = {n for n, s in found.items() if s != "killed"}
    for name in sorted(known - survivors):
        lines.append(f"listed, killed this time (prune it if it stays killed): {name}")
    for name, (k, n) in by_module(found).items():
        least = floor(name, floors)
        short = k < least * n
        ok &= not short
        unexplained = sum(1 for m in survivors - known if module(m) == name)
        lines.append(f"  {name}: killed {k} of {n} ({100 * k / n:.1f}%), "
                     + (f"below its floor of {least:.0%}" if short else f"floor {least:.0%}")
                     + (f"; {unexplained} unexplained" if unexplained else ""))
    killed = sum(s == "killed" for s in found.values())
    if killed < overall * len(found):
        lines.append(f"below the overall floor of {overall:.0%}")
        ok = False
    lines.append(f"killed {killed} of {len(found)} mutants ({100 * killed / len(found):.1f}%)")
    return lines, ok


def main() -> int:
    found = statuses()
    if not found:
        print("no mutants: run `mutmut run` first", file=sys.stderr)
        return 2
    lines, ok = verdict(found, listed())
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
