"""What a result costs on EC2, so "2x faster" can be weighed against "3x the price".

A machine named ``ec2-<instance type>`` (what ``ec2/bootstrap.sh`` names it) gets the
cost of its latest run (its wall time, from the run's sysinfo record) and of one run of each
workload at the recommended settings, at the on-demand price below.

The table is AWS's on-demand list price for Linux in us-east-1, in US dollars per hour,
as of :data:`AS_OF`. It is not fetched at run time (nothing here downloads anything):
prices change, so check https://aws.amazon.com/ec2/pricing/on-demand/ before budgeting,
and update the table with its date.
"""

from __future__ import annotations

import math
import re

AS_OF = "2026-11-30"
REGION = "us-east-1"
USD_PER_HOUR = {
    "c5.large": 0.085, "c5.xlarge": 0.17, "c5.2xlarge": 0.34, "c5.4xlarge": 0.68,
    "c5.9xlarge": 1.53, "c5.12xlarge": 2.04, "c5.18xlarge": 3.06, "c5.24xlarge": 4.08,
    "c6i.xlarge": 0.17, "c6i.2xlarge": 0.34, "c6i.4xlarge": 0.68, "c6i.8xlarge": 1.36,
    "c6i.16xlarge": 2.72, "c6i.24xlarge": 4.08,
    "m5.xlarge": 0.192, "m5.2xlarge": 0.384, "m5.4xlarge": 0.768, "m5.24xlarge": 4.608,
}


def instance_type(machine: str) -> str | None:
    """``c5.xlarge`` for ``ec2-c5.xlarge`` (and its ``-small`` test series), else None."""
    found = re.match(r"ec2-([a-z][a-z0-9]*\.[0-9]*x?large)(?:-|$)", machine)
    return found.group(1) if found else None


def usd(amount: float) -> str:
    """Dollars to two significant digits, never in exponent notation ($0.00012)."""
    if amount >= 0.1 or amount <= 0:
        return f"${amount:.2f}"
    return f"${amount:.{1 - math.floor(math.log10(amount))}f}"


def cost_lines(machine: str, run_wall_s: float | None, runs: list[tuple[str, str, float]]) -> list[str]:
    """The report's cost lines for ``machine``: its latest run and, per (workload, what was
    recommended, seconds of one run), one run and a thousand. Empty off EC2."""
    kind = instance_type(machine)
    if kind is None:
        return []
    price = USD_PER_HOUR.get(kind)
    if price is None:
        return [f"cost: no price for {kind} in bench_lib/publish/prices.py (add it with its date)"]
    lines = [f"cost at {usd(price)}/h ({kind} on-demand, {REGION}, list price of {AS_OF}):"]
    if run_wall_s:
        lines.append(f"  the latest run: {run_wall_s / 3600:.2f} h = {usd(price * run_wall_s / 3600)}")
    for workload, what, seconds in runs:
        one = price * seconds / 3600
        lines.append(f"  one {workload} run ({what}): {usd(one)}; a thousand: {usd(1000 * one)}")
    return lines
