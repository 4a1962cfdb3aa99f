"""``make mutation``'s last step: the score of the finished ``mutmut run``, and a check that
every surviving mutant is listed, with its reason, in tests/mutation-survivors.txt.

Prints ``killed K of N mutants (P%)`` as its last line; exits 1 when a survivor is not
listed (a new gap in the tests, or a listed one that no longer survives is fine: it is
reported so the list can be pruned)."""

import subprocess
import sys
from pathlib import Path

LISTED = Path(__file__).with_name("mutation-survivors.txt")


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


def main() -> int:
    found = statuses()
    if not found:
        print("no mutants: run `mutmut run` first", file=sys.stderr)
        return 2
    killed = sum(s == "killed" for s in found.values())
    survivors = sorted(n for n, s in found.items() if s != "killed")
    known = listed()
    unlisted = [n for n in survivors if n not in known]
    for name in unlisted:
        print(f"not listed in {LISTED.name}: {name} ({found[name]}); `mutmut show {name}`")
    for name in sorted(known - set(survivors)):
        print(f"listed, killed this time (prune it if it stays killed): {name}")
    print(f"killed {killed} of {len(found)} mutants ({100 * killed / len(found):.1f}%)")
    return 1 if unlisted else 0


if __name__ == "__main__":
    sys.exit(main())
