"""The report page's figures are kept by what they are drawn from (bench_lib.publish.site.drawn):
a rebuild from the same results copies them, a changed result file draws its machine's anew."""

import shutil
from pathlib import Path

import pytest

from bench_lib.publish.site import drawn, report_page, timelines

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "results"


@pytest.fixture
def results(tmp_path, monkeypatch):
    """The small fixture as two machines, a cache of the test's own, and a count of drawings
    by machine (the real drawing functions run)."""
    folder = tmp_path / "results"
    shutil.copytree(FIXTURE, folder)
    shutil.copytree(folder / "fixture-small", folder / "other-small")
    monkeypatch.setenv("PARBENCH_CACHE", str(tmp_path / "cache"))
    drawn_by: dict[str, int] = {}
    workload_figure, timeline_figure = report_page.workload_figure, timelines.figure

    def counted(draw):
        def drawing(*args):
            path = Path(args[-2] if draw is workload_figure else args[-1])
            drawn_by[path.name.split("-")[0]] = drawn_by.get(path.name.split("-")[0], 0) + 1
            return draw(*args)
        return drawing

    monkeypatch.setattr(report_page, "workload_figure", counted(workload_figure))
    monkeypatch.setattr(timelines, "figure", counted(timeline_figure))
    return folder, drawn_by


def svgs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.svg"))}


def test_a_rebuild_copies_every_figure_and_a_changed_result_file_redraws_only_its_machine(results, tmp_path):
    folder, drawn_by = results
    report_page.build_report(folder, tmp_path / "first")
    first = svgs(tmp_path / "first")
    # each machine: a figure per workload with results, and its timelines
    assert first and sum(drawn_by.values()) == len(first) and drawn_by.keys() == {"fixture", "other"}
    drawn_by.clear()
    report_page.build_report(folder, tmp_path / "again")
    assert drawn_by == {} and svgs(tmp_path / "again") == first
    with open(folder / "other-small" / "sysinfo.jsonl", "a") as out:
        out.write("\n")  # one byte more: another digest
    report_page.build_report(folder, tmp_path / "changed")
    assert drawn_by == {"other": len([n for n in first if n.startswith("other-small-")])}


def test_a_cache_that_cannot_be_written_still_gives_every_figure(results, tmp_path, monkeypatch):
    folder, drawn_by = results
    shutil.rmtree(folder / "other-small")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("PARBENCH_CACHE", str(blocked))
    report_page.build_report(folder, tmp_path / "first")
    report_page.build_report(folder, tmp_path / "again")
    drawings = svgs(tmp_path / "first")  # matplotlib salts its SVG ids anew per drawing: names, not bytes
    assert svgs(tmp_path / "again").keys() == drawings.keys() and sum(drawn_by.values()) == 2 * len(drawings)


def test_the_digest_moves_with_any_byte_or_file_and_not_with_nothing(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "a.json").write_text("{}")
    first = drawn.digest(folder)
    assert drawn.digest(folder) == first
    (folder / "a.json").write_text("{ }")
    changed = drawn.digest(folder)
    (folder / "b.json").write_text("")
    assert len({first, changed, drawn.digest(folder)}) == 3
    assert drawn.key(first, "workload", "filter_bank") != drawn.key(first, "timeline", "filter_bank")
