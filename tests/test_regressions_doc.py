"""docs/regressions.md's worked example runs as written: each ``sh`` block of its section is
run in the checkout, its exit status is the ``# exit N`` the page states, and every line of
the ``text`` block after it is a line of its output."""

import re
import subprocess
from pathlib import Path

import pytest

from bench_lib.publish import compare

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "regressions.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def section(title: str) -> str:
    """The page from the heading ``title`` to the next heading (``#`` lines in code blocks
    are comments, not headings: headings here have two or three)."""
    text = PAGE.read_text()
    start = text.index(f"# {title}\n")
    end = re.compile(r"^#{2,3} ", re.M).search(text, start + len(title) + 2)
    return text[start:end.start() if end else None]


def examples() -> list[tuple[str, int, list[str]]]:
    """(command, stated exit status, stated output lines) of each ``sh`` block."""
    blocks = FENCE.findall(section("A worked example on the committed results"))
    found = []
    for i, (lang, body) in enumerate(blocks):
        if lang != "sh":
            continue
        lines = body.strip().splitlines()
        status = [int(m.group(1)) for line in lines if (m := re.fullmatch(r"# exit (\d+)", line.strip()))]
        commands = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
        following = blocks[i + 1] if i + 1 < len(blocks) and blocks[i + 1][0] == "text" else ("", "")
        assert len(status) == 1 and len(commands) == 1, body
        found.append((commands[0], status[0], following[1].strip().splitlines()))
    return found


def test_the_page_has_a_worked_example_of_each_gate_outcome():
    stated = {status for _, status, _ in examples()}
    assert {0, compare.HOST_CHANGED} <= stated
    assert any("host changed:" in line for _, _, lines in examples() for line in lines)
    assert any("method changed:" in line for _, _, lines in examples() for line in lines)


@pytest.mark.parametrize("command, status, lines", examples(), ids=lambda v: v if isinstance(v, str) else None)
def test_the_worked_example_runs_as_written(command, status, lines):
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == status, done.stdout[-3000:] + done.stderr[-3000:]
    printed = done.stdout.splitlines()
    for line in lines:
        assert line in printed, f"{line!r} not in the output of {command}:\n{done.stdout[-3000:]}"


def test_the_exit_table_names_the_gates_codes():
    rows = dict(re.findall(r"^\| (\d) \| (.*) \|$", section("The gate: `compare`"), re.M))
    assert sorted(rows) == ["0", "1", "2", str(compare.HOST_CHANGED)]
    assert "host" in rows[str(compare.HOST_CHANGED)] and "bad input" in rows["2"]
