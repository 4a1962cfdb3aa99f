"""conftest.machine_share: under make test's workers, a test marked ``alone`` has the
machine to itself. Threads stand in for the workers: flock locks taken through separate
opens of a file exclude each other within one process as between two."""

import threading
import time

import pytest

from conftest import machine_share, share_folder


def _enter(order, folder, name, alone, hold=None):
    def body():
        with machine_share(alone, folder):
            order.append(f"{name} in")
            if hold is not None:
                assert hold.wait(10)
            order.append(f"{name} out")
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def test_an_alone_test_waits_for_the_running_one_and_the_next_test_waits_for_it(tmp_path):
    order, first_may_end = [], threading.Event()
    first = _enter(order, tmp_path, "shared", alone=False, hold=first_may_end)
    while order != ["shared in"]:
        time.sleep(0.01)
    lone = _enter(order, tmp_path, "alone", alone=True)
    time.sleep(0.3)  # the alone test is queued at the turnstile, waiting for the machine
    later = _enter(order, tmp_path, "later", alone=False)
    time.sleep(0.3)
    assert order == ["shared in"], order  # neither the alone test nor the later one got in
    first_may_end.set()
    for thread in (first, lone, later):
        thread.join(10)
    assert order == ["shared in", "shared out", "alone in", "alone out", "later in", "later out"]


def test_tests_that_share_the_machine_run_side_by_side(tmp_path):
    order, may_end = [], threading.Event()
    threads = [_enter(order, tmp_path, name, alone=False, hold=may_end) for name in ("a", "b")]
    deadline = time.monotonic() + 10
    while len(order) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(order) == ["a in", "b in"], order  # both inside at once
    may_end.set()
    for thread in threads:
        thread.join(10)


@pytest.mark.parametrize("environ,expected", [({}, None), ({"PYTEST_XDIST_TESTRUNUID": "abc"}, "parbench-tests-abc")])
def test_the_lock_files_belong_to_one_run_of_workers(environ, expected):
    folder = share_folder(environ)
    assert (folder.name if folder else None) == expected
