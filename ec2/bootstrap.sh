#!/usr/bin/env bash
# parbench on a fresh EC2 instance, as user-data or by hand: install the suite, record the
# machine under its instance type, run the suite, publish html/, and push results/ to a
# git branch (durable: the instance can be terminated afterwards).
#
#   PARBENCH_REPO            git URL to clone (with push rights for the results branch)
#   PARBENCH_CODE_BRANCH     branch to benchmark (default: main, asv.conf.json's branch)
#   PARBENCH_RESULTS_BRANCH  branch receiving results/ (default: results)
#   PARBENCH_WORKDIR         checkout (default: /opt/parbench)
#   PARBENCH_BENCH           benchmark regex (default: the whole suite)
#   PARBENCH_QUICK=1         small sizes, one sample each
#   PARBENCH_PYTHON          use this Python instead of the checkout's .venv (make setup)
#   PARBENCH_INSTANCE_TYPE   the machine's name without instance metadata
#   PARBENCH_DRY_RUN=1       no cloud calls: no instance metadata (PARBENCH_INSTANCE_TYPE or
#                            "dry-run"), no apt, no fetch or push of the results branch; the
#                            clone, setup, run, site and results commit run for real (give a
#                            local PARBENCH_REPO and PARBENCH_PYTHON to stay offline)
set -euo pipefail

REPO=${PARBENCH_REPO:-https://github.com/OWNER/parbench.git}
CODE_BRANCH=${PARBENCH_CODE_BRANCH:-main}
BRANCH=${PARBENCH_RESULTS_BRANCH:-results}
WORKDIR=${PARBENCH_WORKDIR:-/opt/parbench}
BENCH=${PARBENCH_BENCH:-}
QUICK=${PARBENCH_QUICK:-}
DRY=${PARBENCH_DRY_RUN:-}

log() { printf '[parbench-ec2 %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# A call that needs AWS or the internet: skipped (and said) in a dry run.
cloud() {
    if [ -n "$DRY" ]; then
        log "dry run, skipped: $*"
    else
        "$@"
    fi
}

instance_type() {
    if [ -n "${PARBENCH_INSTANCE_TYPE:-}" ] || [ -n "$DRY" ]; then
        echo "${PARBENCH_INSTANCE_TYPE:-dry-run}"
        return
    fi
    local token
    token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token \
        -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
    curl -sf -H "X-aws-ec2-metadata-token: $token" \
        http://169.254.169.254/latest/meta-data/instance-type
}

log "1/5 system packages"
cloud sudo apt-get update -q
cloud sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q git make python3-venv

log "2/5 checkout $REPO -> $WORKDIR"
if [ -d "$WORKDIR/.git" ]; then
    git -C "$WORKDIR" pull --ff-only
else
    git clone --branch "$CODE_BRANCH" "$REPO" "$WORKDIR"
fi
cd "$WORKDIR"

log "3/5 environment"
if [ -n "${PARBENCH_PYTHON:-}" ]; then
    PY=$PARBENCH_PYTHON
else
    make setup
    PY=$WORKDIR/.venv/bin/python
fi

if ! TYPE=$(instance_type) || [ -z "$TYPE" ]; then
    log "instance metadata unreachable: not on EC2? set PARBENCH_INSTANCE_TYPE; using 'unknown'"
    TYPE=unknown
fi
MACHINE="ec2-$TYPE"
log "4/5 running the suite on $MACHINE${BENCH:+ (--bench $BENCH)}${QUICK:+ (quick)}"
args=(run --machine "$MACHINE")
[ -n "$QUICK" ] && args+=(--quick)
[ -n "$BENCH" ] && args+=(--bench "$BENCH")
status=0
"$PY" -m bench_lib "${args[@]}" || status=$?

# The results branch lives in a worktree of its own: the code branch stays as cloned, so
# the next run's pull still fast-forwards.
WT="$WORKDIR-results"
fetch_results() {
    git ls-remote --exit-code --heads origin "$BRANCH" >/dev/null && git fetch -q origin "$BRANCH"
}

# shellcheck disable=SC2317  # reached through cloud()
push_results() {
    # Several instances push to one branch: each adds its own results/<machine>/ folder.
    if git ls-remote --exit-code --heads origin "$BRANCH" >/dev/null; then
        git -C "$WT" pull --rebase -q origin "$BRANCH"
    fi
    git -C "$WT" push -q origin "HEAD:$BRANCH"
}

log "5/5 storing results/ on branch $BRANCH"
base=HEAD
if [ -z "$DRY" ] && fetch_results; then
    base=FETCH_HEAD
fi
rm -rf "$WT"
git worktree prune
git worktree add -q -B "$BRANCH" "$WT" "$base"
mkdir -p "$WT/results"
cp -R results/. "$WT/results/"
git -C "$WT" add results
if git -C "$WT" -c user.name=parbench -c user.email=parbench@localhost \
        commit -q -m "results: $MACHINE at $(git rev-parse --short HEAD)"; then
    stored=
    for attempt in 1 2 3; do
        if cloud push_results; then
            stored=1
            break
        fi
        log "push attempt $attempt failed; retrying"
        sleep $((attempt * 10))
    done
    if [ -z "$stored" ]; then
        log "results are committed on $BRANCH in $WT but were NOT pushed: push them before terminating"
        status=1
    fi
else
    log "no new results to store"
fi
log "done: exit status $status; site in $WORKDIR/html, results on branch $BRANCH"
exit "$status"
