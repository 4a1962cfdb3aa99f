"""Every benchmark skips (asv's n/a) exactly the combinations tests/unsupported.py lists.

A ``setup`` decides whether a combination means anything before it does any work, then
builds inputs and warms an engine. The sweep runs every class's real ``setup`` on every
combination with that work replaced by a stub that stops it: a NotImplementedError before
the stub is a skip, reaching the stub (or returning) is a run. Combinations the table skips
then run their real, unstubbed ``setup``, which must refuse them before starting anything.
"""

import itertools
from pathlib import Path

import pytest
import asv_classes
import unsupported

from bench_lib import backends, workloads
from bench_lib.measure import overhead

ROOT = Path(__file__).resolve().parent.parent


class Reached(Exception):
    """setup got past its checks to real work (inputs, an engine)."""


def combinations():
    """(class, {param name: value}) for every combination asv runs, as asv expands them."""
    out = []
    for cls, _ in asv_classes.discover(ROOT):
        params = getattr(cls, "params", [])
        if params and not isinstance(params[0], (list, tuple)):
            params = [params]
        names = getattr(cls, "param_names", [])
        for combo in itertools.product(*params):
            out.append((cls, dict(zip(names, combo))))
    return out


def setup_verdict(cls, named: dict) -> str | None:
    """The NotImplementedError message of ``cls``'s setup on this combination, or None."""
    bench = cls()
    if not hasattr(bench, "setup"):
        return None
    cache = ("model-not-built",) if hasattr(cls, "setup_cache") else ()  # asv's first argument
    try:
        bench.setup(*cache, *named.values())
    except NotImplementedError as skip:
        return str(skip) or "NotImplementedError"
    except Reached:
        pass
    return None


@pytest.fixture
def no_work(monkeypatch):
    """Inputs, engines and imports of engines stop the setup that reaches them."""

    def stop(what):
        def stub(*args, **kwargs):
            raise Reached(what)
        return stub

    monkeypatch.setattr(workloads.Workload, "inputs", stop("inputs"))
    monkeypatch.setattr(workloads.Workload, "run", stop("run"))
    for name in ("warm", "get", "close_all"):
        monkeypatch.setattr(backends, name, stop(f"backends.{name}"))
    monkeypatch.setattr(backends.Backend, "start", stop("Backend.start"))
    monkeypatch.setattr(overhead, "import_engine", stop("import_engine"))


def test_table_names_every_class_and_its_params():
    discovered = {cls.__name__: getattr(cls, "param_names", []) for cls, _ in asv_classes.discover(ROOT)}
    assert sorted(discovered) == sorted(unsupported.CLASSES), "write the new class's rows (or none)"
    for classes, pattern, why in unsupported.SKIPS:
        assert why and "\n" not in why
        for name in classes:
            assert set(pattern) <= set(discovered[name]), (name, pattern)


def test_setups_skip_exactly_the_table(no_work):
    wrong = []
    for cls, named in combinations():
        expected = unsupported.reason(cls.__name__, named)
        got = setup_verdict(cls, named)
        if (expected is None) != (got is None):
            wrong.append(f"{cls.__name__}{named}: table {'skips' if expected else 'runs'} "
                         f"({expected}), setup {'skips' if got else 'runs'} ({got})")
    assert not wrong, f"{len(wrong)} combinations differ:\n" + "\n".join(wrong)


def test_skipped_combinations_refuse_before_starting_anything(no_children_left, monkeypatch):
    """The unstubbed setup: a skip builds no input and starts no engine and no worker."""
    built = []
    build = workloads.Workload.inputs
    monkeypatch.setattr(workloads.Workload, "inputs", lambda wl, *a, **k: built.append(wl.name) or build(wl, *a, **k))
    skipped = [(cls, named) for cls, named in combinations() if unsupported.reason(cls.__name__, named)]
    assert skipped
    engines = dict(backends._cache)
    try:
        ran = [f"{cls.__name__}{named}" for cls, named in skipped if setup_verdict(cls, named) is None]
        assert not ran, f"the table skips these, their setup did not: {ran}"
        assert backends._cache == engines, "a skipped combination started an engine"
        assert not built, f"skipped combinations built inputs of {sorted(set(built))}"
    finally:
        for key in set(backends._cache) - set(engines):
            backends._cache.pop(key).close()
