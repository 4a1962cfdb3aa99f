"""Tests run at the small size, with engines started for real on this machine."""

import os

os.environ.setdefault("PARBENCH_SIZE", "small")

import psutil  # noqa: E402
import pytest  # noqa: E402


def live_children() -> list[psutil.Process]:
    """Child processes still running (zombies already reaped count as gone)."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.NoSuchProcess:
            pass
    return out


def describe(procs) -> list[str]:
    out = []
    for p in procs:
        try:
            out.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        except psutil.Error:
            out.append(str(p.pid))
    return out


@pytest.fixture
def no_children_left():
    """Fails the test if it leaves a child process of this test process behind."""
    before = {p.pid for p in live_children()}
    yield
    left = [p for p in live_children() if p.pid not in before]
    if left:  # give slow shutdowns a moment before calling them orphans
        psutil.wait_procs(left, timeout=10)
        left = [p for p in live_children() if p.pid not in before]
    assert not left, f"child processes left behind: {describe(left)}"
