"""Keep the history: every benchmark's asv version is written out, and changes only on purpose.

asv hashes a benchmark's source into its version when none is set, and the published
graphs drop results of another version: a refactor of a benchmark module would silently
cut the history. So every benchmark method carries an explicit ``version`` (the source
hash it had when versions were made explicit, so the committed history still matches),
``tests/benchmark_versions.txt`` lists them, and a bump means editing both, with a reason.
"""

import glob
import json
from pathlib import Path

import asv_classes

ROOT = Path(__file__).resolve().parent.parent
TABLE = Path(__file__).with_name("benchmark_versions.txt")


def table() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in TABLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version, note = line.split(" ", 2)
            rows[name] = (version, note)
    return rows


def asv_versions() -> dict[str, tuple[str, tuple]]:
    """What asv itself will record for each benchmark (asv_runner's discovery)."""
    from asv_runner import discovery

    return {b.name: (b.version, b.version_alts) for b in discovery.disc_benchmarks(str(ROOT / "benchmarks"))}


def test_every_benchmark_method_sets_its_version():
    unset = [f"{cls.__module__}.{cls.__name__}.{m}" for cls, methods in asv_classes.discover(ROOT)
             for m in methods if getattr(getattr(cls, m), "version", None) is None]
    assert not unset, f"no explicit version (asv would hash the source): {unset}"
    assert all(alts == () for _, alts in asv_versions().values())  # asv takes them as given


def test_versions_change_only_with_the_table():
    current = {name: version for name, (version, _) in asv_versions().items()}
    recorded = {name: version for name, (version, _) in table().items()}
    assert current == recorded, ("a benchmark's version changed (or one was added): if what it measures "
                                 f"changed, record the bump and why in {TABLE.name}; otherwise restore it")


def test_a_version_other_than_the_committed_results_says_why():
    latest = {}  # benchmark -> (started_at, version) of its newest committed result
    for path in glob.glob(str(ROOT / "results" / "*" / "*.json")):
        if path.endswith(("machine.json", "benchmarks.json")):
            continue
        data = json.loads(Path(path).read_text())
        columns = data["result_columns"]
        for name, row in data["results"].items():
            row = dict(zip(columns, row))
            started = row.get("started_at") or 0
            if started >= latest.get(name, (-1, None))[0]:
                latest[name] = (started, row["version"])
    for name, (version, note) in table().items():
        if name in latest and latest[name][1] != version:
            assert note.startswith(("bumped", "history cut")), f"{name}: {version} is not the committed one: {note}"
        elif name in latest:
            assert note == "same as the committed results", (name, note)
