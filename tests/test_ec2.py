"""The EC2 path, checked without AWS: the scripts are shellcheck-clean, the Ray cluster
YAML passes Ray's own loader and schema, and the bootstrap script runs for real in its
dry-run mode (no instance metadata, apt or git push) on a clone of this repository."""

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
USER_DATA = ROOT / "ec2" / "user-data.sh"
SCRIPTS = [ROOT / "ec2" / "bootstrap.sh", USER_DATA, ROOT / ".ci" / "run"]
CLUSTER = ROOT / "ec2" / "ray-cluster.yaml"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_are_shellcheck_clean(script):
    if not shutil.which("shellcheck"):
        pytest.fail("shellcheck is needed: make test installs it (apt-get install shellcheck)")
    done = subprocess.run(["shellcheck", "--shell=bash", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout


def test_the_user_data_can_be_pasted_as_it_is():
    """cloud-init runs user data as a script only when ``#!`` opens its first line."""
    assert USER_DATA.read_text().splitlines()[0] == "#!/bin/bash"


def ray_checked(config: dict) -> dict:
    """What ``ray up`` does with the file before any cloud call: defaults, then the schema."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


def test_ray_cluster_yaml_passes_rays_loader_and_schema():
    config = yaml.safe_load(CLUSTER.read_text())
    prepared = ray_checked(config)
    types = prepared["available_node_types"]
    assert {t["node_config"]["InstanceType"] for t in types.values()} == {"c5.2xlarge"}
    assert types["worker"]["min_workers"] == types["worker"]["max_workers"] == 2
    assert "c5.2xlarge" in CLUSTER.read_text().split("cluster_name")[0]  # stated in the header
    broken = copy.deepcopy(config)
    broken["available_node_types"]["head"]["node_confg"] = {}
    with pytest.raises(Exception, match="node_confg"):
        ray_checked(broken)


def test_bootstrap_dry_run_installs_runs_publishes_and_commits(tmp_path):
    # An "origin" whose main is this checkout's HEAD: the script clones what is tested here.
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(ROOT), str(origin)], check=True)
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True).strip()
    subprocess.run(["git", "update-ref", "refs/heads/main", head], cwd=origin, check=True)
    work = tmp_path / "parbench"
    env = {**os.environ, "PARBENCH_DRY_RUN": "1", "PARBENCH_REPO": str(origin),
           "PARBENCH_WORKDIR": str(work), "PARBENCH_PYTHON": sys.executable,
           "PARBENCH_QUICK": "1", "PARBENCH_BENCH": "VolumeGraph", "PARBENCH_INSTANCE_TYPE": "c5.xlarge",
           "PARBENCH_BOOTSTRAP": str(ROOT / "ec2" / "bootstrap.sh")}
    done = subprocess.run(["bash", str(USER_DATA)], env=env, capture_output=True,
                          text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "dry run, skipped: sudo apt-get" in out and "dry run, skipped: push_results" in out
    machine = work / "results" / "ec2-c5.xlarge-small"
    assert any("VolumeGraph" in p.read_text() for p in machine.glob("*-*.json"))
    assert (work / "html" / "report" / "index.html").is_file()
    git = lambda *a: subprocess.check_output(["git", *a], cwd=work, text=True)  # noqa: E731
    assert git("rev-parse", "HEAD").strip() == head  # the code branch is left as cloned
    log = git("log", "-1", "--format=%s", "--name-only", "refs/heads/results", "--")
    assert log.startswith("results: ec2-c5.xlarge at ") and "results/ec2-c5.xlarge-small/" in log
