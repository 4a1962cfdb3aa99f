#!/bin/bash
# EC2 user-data for parbench: paste this file, as it is, as an Ubuntu instance's user data
# (cloud-init runs it only if the shebang is its first line). Edit the two URLs to your fork:
# the instance clones it, runs the suite, and pushes results/ to its results branch, after
# which it can be terminated. The instance type names the machine (ec2-<type>): c5.xlarge
# has 2 physical cores, c5.4xlarge 8. Every PARBENCH_* variable of ec2/bootstrap.sh may be
# exported here too (a benchmark regex, the results branch, a dry run).
set -euo pipefail
export PARBENCH_REPO=${PARBENCH_REPO:-https://github.com/OWNER/parbench.git}  # with push rights
BOOTSTRAP=${PARBENCH_BOOTSTRAP:-https://raw.githubusercontent.com/OWNER/parbench/main/ec2/bootstrap.sh}
case $BOOTSTRAP in
  http://* | https://*) curl -sfL "$BOOTSTRAP" | bash ;;
  *) bash "$BOOTSTRAP" ;;  # a local copy (the dry run of tests/test_ec2.py)
esac
