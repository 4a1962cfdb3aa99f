"""The published site, built by the real ``asv publish`` from the committed small results
fixture, served on 127.0.0.1 and opened in headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by ``make test``); and the regression gate."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench_lib import workloads
from bench_lib.publish import report, site

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "results"


def bench_lib(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "bench_lib", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    out = tmp_path_factory.mktemp("site") / "html"
    done = bench_lib("site", "--results", str(FIXTURE), "--html", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def server(html):
    httpd = site.serve(html)
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    driver = site.browser()
    yield driver
    driver.quit()


def wait_for(driver, script, timeout=30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_site_pages_use_no_cdn_and_link_the_report(html):
    for page in html.glob("*.html"):
        text = page.read_text()
        assert not any(url in text for url in site.CDN), page
    assert site.NAV_LINK in (html / "index.html").read_text()
    assert site.CHANGES_LINK in (html / "index.html").read_text()
    assert (html / site.CHANGES_DIR / "index.html").is_file()
    assert (html / "vendor" / "jquery-3.3.1.min.js").is_file()


def test_asv_index_lists_the_benchmarks(browser, server):
    browser.get(server + "/index.html")
    names = wait_for(browser, "var t = $('.benchmark-text').map(function(){return this.textContent}).get();"
                              "return t.length ? t : null;")
    results = json.loads(next(FIXTURE.glob("fixture-small/*-*.json")).read_text())["results"]
    for name in results:
        assert name.split(".", 1)[1] in names
    assert console_errors(browser) == []


def test_a_benchmark_graph_page_renders(browser, server):
    browser.get(server + "/index.html#filter_bank.FilterBank.time_filter_bank")
    assert wait_for(browser, "return $('#main-graph canvas').length > 0 && $('#graph-display').is(':visible');")
    assert "FilterBank" in browser.find_element("id", "title").text
    assert console_errors(browser) == []


def test_report_page_one_figure_per_workload_reached_in_one_click(browser, server):
    browser.get(server + "/index.html")
    wait_for(browser, "return document.getElementById('parbench-report') !== null;")
    browser.find_element("id", "parbench-report").click()
    wait_for(browser, "return document.readyState === 'complete' && location.pathname.endsWith('/report/index.html');")
    figures = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure.workload')).map(f => "
        "[f.dataset.workload, f.querySelector('img').naturalWidth]);")
    machine = report.load(FIXTURE)[0]
    expected = [w for w in workloads.names() if report.rows(machine, w)]
    assert [w for w, _ in figures] == expected
    assert all(width > 0 for _, width in figures), figures  # every SVG loaded and drawn
    text = browser.find_element("tag name", "body").text
    assert "recommended:" in text and machine.info["cpu_model"] in text
    assert report.SMALL_ONLY in text  # the fixture is a small-size series: the page says so first
    # each workload opens with its verdict, as report's blocks do, then its figure
    order = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure.workload')).map(f => Array.from(f.children)"
        ".slice(0, 3).map(c => c.tagName + (c.className ? '.' + c.className : '')));")
    assert order == [["H3", "P.verdict", "IMG"]] * len(expected)
    verdicts = browser.execute_script("return Array.from(document.querySelectorAll('p.verdict')).map(p => p.textContent);")
    assert len(verdicts) == len(expected) and all(v.startswith("recommended: ") for v in verdicts)
    assert console_errors(browser) == []


def test_report_page_draws_every_traced_timeline_with_the_traces_figures(browser, server):
    """A timeline per traced workload, every backend's figures as the trace's spans give
    them (recomputed here with numpy from the fixture's rows, not read from the summary)."""
    import numpy as np

    browser.get(server + "/report/index.html")
    wait_for(browser, "return document.readyState === 'complete';")
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure.timeline')).map(f => [f.dataset.workload, "
        "f.querySelector('img').naturalWidth, Array.from(f.querySelectorAll('li')).map(li => "
        "[li.dataset.backend, +li.dataset.idle, +li.dataset.waitMs, +li.dataset.imbalance])]);")
    traces = [json.loads(line) for line in (FIXTURE / "fixture-small" / "traces.jsonl").read_text().splitlines()]
    expected = {}
    for t in traces:
        pid, thread, submitted, started, _input, finished = (np.array(c, dtype=object) for c in zip(*t["spans"]))
        submitted, started, finished = (np.array(c, dtype=float) for c in (submitted, started, finished))
        busy = {}
        for key, b in zip(zip(pid, thread), finished - started):
            busy[key] = busy.get(key, 0.0) + b
        wall = finished.max() - submitted.min()
        figures = [1 - sum(busy.values()) / (wall * t["n_workers"]), np.median(started - submitted) * 1e3,
                   max(busy.values()) / (sum(busy.values()) / t["n_workers"])]
        expected.setdefault(t["workload"], {})[t["backend"]] = figures
    assert sorted(w for w, _, _ in shown) == sorted(expected) == ["convolve2d", "filter_bank"]
    for workload, width, items in shown:
        assert width > 0, workload  # the SVG loaded and was drawn
        assert {b for b, *_ in items} == set(expected[workload]) == {"threads", "loky", "ray", "dask"}
        for backend, idle, wait_ms, imbalance in items:
            want = expected[workload][backend]
            # shown rounded to 3 decimals (wait: 2); spans are stored to 1 us
            assert idle == pytest.approx(want[0], abs=2e-3), (workload, backend)
            assert wait_ms == pytest.approx(want[1], abs=1e-2), (workload, backend)
            assert imbalance == pytest.approx(want[2], abs=2e-3), (workload, backend)
    assert console_errors(browser) == []


def test_changes_page_reached_in_one_click_says_first_what_changed(browser, server):
    browser.get(server + "/index.html")
    wait_for(browser, "return document.getElementById('parbench-changes') !== null;")
    browser.find_element("id", "parbench-changes").click()
    wait_for(browser, "return document.readyState === 'complete' && location.pathname.endsWith('/changes/index.html');")
    first = browser.execute_script("return document.querySelector('h1').nextElementSibling.textContent;")
    assert re.fullmatch(r"\d+ series changed beyond noise; \d+ steps? coincides? with a host change; "
                        r"\d+ with a method change( \(\d+ with both\))?\.", first), first
    assert browser.find_elements("id", "changed") and browser.find_elements("id", "explained")
    assert console_errors(browser) == []


def dropped(tmp_path, benchmark, factor):
    """A copy of the fixture whose ``benchmark`` values are multiplied by ``factor``."""
    copy = tmp_path / f"dropped-{factor}"
    shutil.copytree(FIXTURE, copy)
    path = next(copy.glob("fixture-small/*-*.json"))
    data = json.loads(path.read_text())
    row = data["results"][benchmark]
    row[0] = [v * factor if isinstance(v, float) else v for v in row[0]]
    path.write_text(json.dumps(data))
    return copy


def test_compare_identical_results_pass(tmp_path):
    done = bench_lib("compare", str(FIXTURE), str(FIXTURE))
    assert done.returncode == 0, done.stderr
    assert "0 of " in done.stdout


def test_compare_fails_when_a_speedup_drops_by_30_percent(tmp_path):
    worse = dropped(tmp_path, report.SPEEDUP, 0.7)
    done = bench_lib("compare", str(FIXTURE), str(worse), "--factor", "1.2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "REGRESSION scaling.Ratios.track_speedup(" in done.stdout and "(-30%)" in done.stdout
    # within the factor: a 10% drop passes; a commit prefix works as a result set
    assert bench_lib("compare", str(FIXTURE), str(dropped(tmp_path, report.SPEEDUP, 0.9))).returncode == 0
    commit = next(FIXTURE.glob("fixture-small/*-*.json")).name[:8]
    assert bench_lib("compare", commit, str(worse), "--results", str(FIXTURE)).returncode == 1


def test_compare_fails_when_a_ratio_goes_missing(tmp_path):
    broken = dropped(tmp_path, report.SPEEDUP, 1.0)
    path = next(broken.glob("fixture-small/*-*.json"))
    data = json.loads(path.read_text())
    values = data["results"][report.SPEEDUP][0]
    values[next(i for i, v in enumerate(values) if isinstance(v, float) and v == v)] = None  # failed
    path.write_text(json.dumps(data))
    done = bench_lib("compare", str(FIXTURE), str(broken))
    assert done.returncode == 1 and "MISSING scaling.Ratios.track_speedup(" in done.stdout, done.stdout


def test_compare_bad_input_is_one_line(tmp_path):
    done = bench_lib("compare", "nope", str(FIXTURE), "--results", str(FIXTURE))
    assert done.returncode == 2 and "is neither a results folder" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = bench_lib("compare", str(FIXTURE), str(FIXTURE), "--factor", "0.5")
    assert done.returncode == 2 and "factor must be >= 1" in done.stderr


def test_results_of_several_machines_sit_side_by_side(tmp_path):
    """Machines' folders merged under one results/ (as EC2 runs push them): the report has
    a section and figures per machine, asv's index lists each machine."""
    merged = tmp_path / "results"
    shutil.copytree(FIXTURE, merged)
    other = merged / "ec2-c5.xlarge-small"
    shutil.copytree(merged / "fixture-small", other)
    for path in other.glob("*.json"):  # what that machine's own asv would have written
        path.write_text(path.read_text().replace('"fixture-small"', '"ec2-c5.xlarge-small"'))
    out = tmp_path / "html"
    done = bench_lib("site", "--results", str(merged), "--html", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    page = (out / "report" / "index.html").read_text()
    assert 'id="fixture-small"' in page and 'id="ec2-c5.xlarge-small"' in page
    workload_svgs = [p for p in (out / "report").glob("fixture-small-*.svg") if not p.stem.endswith("-timeline")]
    assert page.count('<figure class="workload"') == 2 * len(workload_svgs)
    assert page.count('<figure class="timeline"') == 2 * len(list((out / "report").glob("fixture-small-*-timeline.svg")))
    machines = json.loads((out / "index.json").read_text())["params"]["machine"]
    assert set(machines) == {"fixture-small", "ec2-c5.xlarge-small"}
