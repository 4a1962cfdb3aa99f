"""Cost per result on EC2 machines: figures worked out by hand from the price table."""

import pytest

from bench_lib.publish import prices


@pytest.mark.parametrize("machine, kind", [
    ("ec2-c5.xlarge", "c5.xlarge"), ("ec2-c5.xlarge-small", "c5.xlarge"), ("ec2-c5.24xlarge", "c5.24xlarge"),
    ("ec2-m5.large", "m5.large"), ("vm-2core-24gb-xeon", None), ("ec2-", None), ("myec2-c5.xlarge", None),
])
def test_instance_type_from_the_machine_name(machine, kind):
    assert prices.instance_type(machine) == kind


def test_cost_of_a_run_and_of_one_workload_run_by_hand():
    lines = prices.cost_lines("ec2-c5.xlarge", 5400.0, [("convolve2d", "ray n=2", 2.5), ("model_inference", "loky n=2", 3600.0)])
    assert lines[0] == f"cost at $0.17/h (c5.xlarge on-demand, us-east-1, list price of {prices.AS_OF}):"
    assert lines[1] == "  the latest run: 1.50 h = $0.26"  # 1.5 h x $0.17 = $0.255
    # 2.5 s x $0.17 / 3600 s = $0.000118; a thousand: $0.118
    assert lines[2] == "  one convolve2d run (ray n=2): $0.00012; a thousand: $0.12"
    # an hour's run costs the hourly price; a thousand of them, 1000 x $0.17
    assert lines[3] == "  one model_inference run (loky n=2): $0.17; a thousand: $170.00"
    # 100 hours: 360,000 s / 3600 s
    assert prices.cost_lines("ec2-c5.xlarge", 360000.0, [])[1] == "  the latest run: 100.00 h = $17.00"


def test_no_cost_off_ec2_and_a_clear_line_for_an_unknown_type():
    assert prices.cost_lines("vm-2core-24gb", 100.0, []) == []
    assert prices.cost_lines("ec2-x9.huge", 100.0, []) == []  # not an instance type's shape
    assert prices.cost_lines("ec2-c9.xlarge", 100.0, []) == [
        "cost: no price for c9.xlarge in bench_lib/publish/prices.py (add it with its date)"]


@pytest.mark.parametrize("amount, text", [(0.255, "$0.26"), (0.118, "$0.12"), (0.0118, "$0.012"),
                                          (1.18e-4, "$0.00012"), (2.5e-7, "$0.00000025"), (0.0, "$0.00"),
                                          (1.05, "$1.05")])
def test_dollars_to_two_significant_digits_without_exponents(amount, text):
    assert prices.usd(amount) == text


def test_the_report_prices_an_ec2_machine_only(tmp_path):
    import json
    import shutil
    from pathlib import Path

    from bench_lib.publish import report

    fixture = Path(__file__).parent / "fixtures" / "results"
    shutil.copytree(fixture, tmp_path / "results")
    ec2 = tmp_path / "results" / "ec2-c5.xlarge-small"
    shutil.copytree(tmp_path / "results" / "fixture-small", ec2)
    for path in ec2.glob("*.json"):
        path.write_text(path.read_text().replace('"fixture-small"', '"ec2-c5.xlarge-small"'))
    info = json.loads((ec2 / "sysinfo.jsonl").read_text().splitlines()[-1])
    with open(ec2 / "sysinfo.jsonl", "a") as f:  # its latest run took an hour and a half
        f.write(json.dumps({**info, "machine": "ec2-c5.xlarge-small", "wall_s": 5400.0}) + "\n")
    text = report.render(report.load(tmp_path / "results"))
    mine, other = text.split("== machine fixture-small")[0], text.split("== machine fixture-small")[1]
    assert "cost at $0.17/h (c5.xlarge on-demand" in mine and "cost at" not in other
    costs = mine.splitlines()
    at = costs.index(next(line for line in costs if line.startswith("cost at")))
    assert costs[at - 1] == "" and costs[at + 1] == "  the latest run: 1.50 h = $0.26"
    priced = [line for line in mine.splitlines() if line.startswith("  one ")]
    assert [line.split()[1] for line in priced] == [
        "filter_bank", "convolve2d", "volume_gaussian", "interpolators", "model_inference"]
