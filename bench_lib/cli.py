"""``python -m bench_lib``: run the suite with asv and publish the site in one go.

``run`` records this machine, prints its plan, runs each benchmark on the current checkout
in this Python (``asv run -E existing:<python> --set-commit-hash HEAD``, saved as each
ends: bench_lib.run.runner), records the machine with the run and publishes ``html/``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench_lib import commands, config
from bench_lib.checkout import CLIError, project_root  # noqa: F401 (re-exported: cli.CLIError)
from bench_lib.publish import compare


def _step(number: int, total: int, text: str) -> None:
    print(f"\n[parbench {number}/{total}] {text}", flush=True)


def _asv(root: Path, *args: str, env: dict | None = None) -> int:
    cmd = [sys.executable, "-m", "asv", *args]
    print("$ " + " ".join(cmd[2:]), flush=True)
    return subprocess.call(cmd, cwd=root, env=env)


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.check_output(["git", *args], cwd=root, text=True, stderr=subprocess.PIPE).strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise CLIError("parbench records results per git commit: run it inside a git clone with at "
                       f"least one commit ({exc})") from None


def preflight(root: Path, args: argparse.Namespace) -> None:
    """Bad configuration fails here, in one line, before asv starts anything."""
    # each subcommand loads what it uses, on use: --help and the light commands start no engine
    from bench_lib import harness
    from bench_lib.backends import BackendError, _cluster
    from bench_lib.run import plan

    config.max_workers()  # PARBENCH_MAX_WORKERS
    config.batch_s()  # PARBENCH_BATCH_S
    config.point_cap_s()  # PARBENCH_POINT_CAP_S

    if args.bench:
        names = [label for found in plan.discover(root) for label in [found.name, *found.combos]]
        for pattern in args.bench:
            try:
                matched = any(re.search(pattern, name) for name in names)
            except re.error as exc:
                raise CLIError(f"--bench {pattern!r} is not a regular expression ({exc})") from None
            if not matched:
                classes = sorted({n.split(".")[1] for n in names if "(" not in n})
                raise CLIError(f"no benchmark matches --bench {pattern!r}; classes: {', '.join(classes)}")
    for backend, variable in (("ray", "RAY_ADDRESS"), ("dask", "DASK_SCHEDULER_ADDRESS")):
        address = config.user_cluster(backend)
        if address and address != "auto" and backend in harness.BACKENDS:
            try:
                _cluster.check_reachable(backend, variable, address.removeprefix("ray://"))
            except BackendError as exc:
                raise CLIError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from bench_lib.measure import windows  # on use (see preflight)
    from bench_lib.results import ledger, points, sysinfo
    from bench_lib.run import costs, plan, runner

    root = project_root()
    commit = _git(root, "rev-parse", "HEAD")
    # results/ and html/ are what runs write: a run is dirty when the code it measures is
    dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no", "--", ".",
                      ":(exclude)results", ":(exclude)html"))
    if dirty and not args.allow_dirty and not args.plan_only:
        raise CLIError(f"tracked files have uncommitted changes: results would be recorded under "
                       f"{commit[:8]} but measure another tree; commit first, or pass --allow-dirty "
                       "(the run is then marked dirty)")
    if args.quick:
        os.environ.setdefault("PARBENCH_SIZE", "small")  # benchmark params are read at import
    if args.engines:
        os.environ["PARBENCH_ENGINES"] = args.engines  # the runner and the record read it there
    if args.cores is not None:  # the n_workers axis of a machine with that many physical cores, on this one's durations
        if not args.plan_only or args.cores < 1:
            raise CLIError("--cores N (N >= 1) plans for another machine: it needs --plan-only (nothing is measured)")
        os.environ.update(PARBENCH_PLAN_CORES=str(args.cores), PARBENCH_MAX_WORKERS=str(args.cores))
    try:
        preflight(root, args)
        size = config.size()
        engines = config.engines()
    except ValueError as exc:  # PARBENCH_* settings (unknown backend, bad worker counts)
        raise CLIError(str(exc)) from None
    machine = args.machine or config.machine() or sysinfo.default_machine_name()
    if size != "full":
        # Small sizes are a different experiment: never draw them on the real sizes' graphs.
        machine += f"-{size}"
    results = root / "results"
    try:
        if not args.plan_only:  # a plan writes nothing: any machine's durations may be read
            runner.check_results_writable(results)
            runner.check_same_cpu(results / machine, sysinfo.cpu_model())
    except runner.RunError as exc:
        raise CLIError(str(exc)) from None
    try:
        todo, skipped, names, beyond = plan.make(root, ledger.result_path(results, machine, commit), size,
                                                 args.bench, args.quick, args.fresh, args.profile)
    except ValueError as exc:  # ledger.Unreadable, or a benchmark's bad 'extended' declaration
        raise CLIError(str(exc)) from None
    state = runner.State(root, machine, commit)
    run_id = state.run_id(args.fresh, dirty)
    print(f"parbench: run {run_id}, {size} sizes, machine {machine!r}; plan (time per point: this "
          "machine's last, else other machines' scaled to it, else a guess):")
    print("\n".join(plan.plan_lines(todo, skipped, beyond)), flush=True)
    budget_env = {}
    if args.budget is not None:
        budget_env, lines = costs.fit(todo, args.budget * 60, config.point_cap_s())
        print("\n".join(lines), flush=True)
    if args.plan_only:
        return 0
    env = dict(os.environ, **budget_env, **plan.speedup_group(todo), PARBENCH_RUN=run_id,
               PARBENCH_POINTS=str(results / machine / points.FILE), PARBENCH_COMMIT=commit[:8], PARBENCH_MACHINE=machine)
    steps = 3 if args.publish else 2
    started = time.perf_counter()

    _step(1, steps, f"recording machine {machine!r}")
    if _asv(root, "machine", "--yes", "--machine", machine, *sysinfo.asv_machine()) != 0:
        raise CLIError("asv machine failed")
    state.begin(run_id)

    _step(2, steps, f"running {len(todo)} benchmarks (size={size}) on {commit[:8]}, each saved as it ends")
    job = runner.Run(root, results, machine, commit, run_id, env, args.asv_args, quick=args.quick)
    if not todo:
        print("nothing to measure: every selected benchmark is recorded (--fresh measures them again)")
    try:
        summary = job.execute(todo, names) if todo else {"ran": [], "status": 0, "interrupted": None}
    except runner.RunError as exc:  # the run's clusters did not start (--engines once)
        raise CLIError(str(exc)) from None
    status = summary["status"]
    quiet = windows.run_quiet(results / machine / points.FILE, run_id)
    sysinfo.record(results / machine, quiet=quiet, commit=commit, machine=machine, size=size, run=run_id, dirty=dirty,
                   wall_s=round(time.perf_counter() - started, 1), asv_status=status,
                   planned_s=round(sum(b.estimate_s for b in todo), 1), benchmarks=len(summary["ran"]),
                   resumed_skipped=len(skipped), interrupted=summary["interrupted"], budget_min=args.budget,
                   engines=engines)
    print("\n" + "\n".join(runner.summary_lines(summary, len(todo), quiet)), flush=True)
    if summary["interrupted"]:
        return 128 + summary["interrupted"]
    state.end()

    if args.publish:
        _step(3, steps, "publishing the site into html/ (asv history + scaling report)")
        publish(root)
    print(f"\nparbench: done in {time.perf_counter() - started:.0f} s; asv run exit status {status}")
    return 1 if status else 0  # asv says 2 for a failed benchmark; 2 is ours for bad usage


def publish(root: Path, results: Path | None = None, html_dir: Path | None = None) -> Path:
    """``asv publish``, then the vendored scripts and the scaling report (bench_lib.publish.site)."""
    from bench_lib.publish import report as rep, site  # on use (see preflight)

    extra, config = [], None
    if results or html_dir:  # a results folder elsewhere (tests): same config, other folders
        config = site.config_for(root, results, html_dir)
        extra = ["--config", str(config)]
    try:
        if _asv(root, "publish", *extra) != 0:
            raise CLIError("asv publish failed")
    finally:
        if config is not None:
            shutil.rmtree(config.parent, ignore_errors=True)
    try:
        page = site.build(root, results, html_dir)
    except (site.SiteError, rep.ReportError) as exc:
        raise CLIError(str(exc)) from None
    print(f"site: {page.parent.parent / 'index.html'}, report: {page}\n"
          "view: python -m asv preview (or any static server on html/)")
    return page


def site_cmd(args: argparse.Namespace) -> int:
    """Rebuild html/ from results/ without running anything."""
    from bench_lib.publish import site  # on use (see preflight)

    root = project_root()
    page = publish(root, Path(args.results).resolve() if args.results else None,
                   Path(args.html).resolve() if args.html else None)
    if args.screenshot:
        try:
            drawn_by = f"parbench {_git(root, 'rev-parse', 'HEAD')}"  # the code that drew it
            print(f"screenshot: {site.screenshot(page.parent.parent, Path(args.screenshot), source=drawn_by)}")
        except site.SiteError as exc:
            raise CLIError(str(exc)) from None
    return 0


def compare_cmd(args: argparse.Namespace) -> int:
    """Exit 1 when a speedup fell by more than --factor, 3 when nothing did but the host,
    the method or a variant changed under some (bench_lib.publish.compare)."""
    from bench_lib.publish import report as rep  # on use (see preflight)

    results = Path(args.results) if args.results else project_root() / "results"
    try:
        root = results.resolve().parent
        base = compare.result_set(args.base, results, args.machine, root)
        new = compare.result_set(args.new, results, args.machine, root)
        found = compare.gate(base, new, args.factor)
    except (rep.ReportError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    if not (found.changes or found.missing or found.set_aside or found.variants):
        raise CLIError(f"no tracked ratio ({', '.join(compare.TRACKED)}) is in {args.base}: run "
                       "scaling.Ratios on both (python -m bench_lib run --bench scaling.Ratios)")
    for change in found.worse:
        print(f"REGRESSION {change}  (worse than 1/{args.factor:g})")
    for name, params in found.missing:
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
        print(f"MISSING {name}({shown}): measured in {args.base}, failed or not run in {args.new}")
    for change in found.set_aside:
        if change.worse(args.factor):
            print(f"not gated {change}  (past 1/{args.factor:g}, but measured on another host or another way)")
    agreed, both, winners = compare.agreement(base, new)
    if both:
        print(f"agreement: {agreed} of {both} speedups within {compare.AGREE:.0%} or with overlapping "
              f"intervals ({agreed / both:.0%})")
        for workload, (before, after) in winners.items():
            how = compare.change(before, after)
            print(f"recommended for {workload}: {before} -> {after}" + (f"  ({how})" if how else ""))
    for line in found.notes():
        print(line)
    aside = f", {len(found.set_aside)} not gated (host or method changed)" if found.set_aside else ""
    print(f"{len(found.worse)} of {len(found.changes)} tracked ratios fell by more than a factor {args.factor:g}, "
          f"{len(found.missing)} missing{aside} ({args.base} -> {args.new})")
    return found.status


def upgrade_cmd(args: argparse.Namespace) -> int:
    """Both engine stacks of asv's matrix, point by point in one session (bench_lib.run.upgrade):
    exit 1 where new / old lies wholly below 1 / --factor."""
    from bench_lib.results import points, sysinfo  # on use (see preflight)
    from bench_lib.run import upgrade

    root = project_root()
    if args.factor < 1:
        raise CLIError(f"--factor must be >= 1 (a drop to 1/factor fails), got {args.factor}")
    machine = args.machine or config.machine() or sysinfo.default_machine_name()
    if args.recorded:
        return upgrade.print_recorded(root / "results" / machine / points.FILE, args.factor)
    try:
        old, new = upgrade.pick(upgrade.stacks(root), args.stacks)
        size = config.size()
        todo = upgrade.speedup_points(root, args.bench)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    for stack in (old, new):
        if not stack.built():
            raise CLIError(upgrade.missing(stack))
    if not todo:
        raise CLIError(f"no point of {upgrade.BENCHMARK} matches --bench {args.bench!r}")
    commit = _git(root, "rev-parse", "HEAD")
    machine += "" if size == "full" else f"-{size}"
    folder = root / "results" / machine
    folder.mkdir(parents=True, exist_ok=True)
    run_id = f"{commit[:8]}-upgrade-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
    env = dict(os.environ, PARBENCH_POINTS=str(folder / points.FILE), PARBENCH_COMMIT=commit[:8],
               PARBENCH_MACHINE=machine)
    print(f"parbench: upgrade check {run_id}: {len(todo)} points on {old.label} and {new.label}, alternating", flush=True)
    try:
        outcomes = upgrade.check(old, new, todo, upgrade.runner(root, env, run_id),
                                 say=lambda line: print(line, flush=True))
    except RuntimeError as exc:  # a point failed in its stack, as run's exit 1
        print(f"parbench: {exc}", file=sys.stderr)
        return 1
    print("\n".join(upgrade.lines(old, new, outcomes, args.factor)))
    written = upgrade.save_both(root / "results", machine, commit, old, new, outcomes)
    print(f"asv results: {', '.join(map(str, written)) or 'none (no results/benchmarks.json: asv run once)'}; "
          f"points: {folder / points.FILE}, runs {run_id}-ray{old.versions.get('ray', '')} and "
          f"{run_id}-ray{new.versions.get('ray', '')}")
    return upgrade.status(outcomes, args.factor)


def info(args: argparse.Namespace) -> int:
    from bench_lib import backends, workloads  # on use (see preflight)
    from bench_lib.results import sysinfo

    settings = {name: {"default": default, "meaning": meaning} for name, default, meaning in config.SETTINGS}
    print(json.dumps({"backends": backends.names(), "workloads": workloads.names(),
                      "machine": sysinfo.default_machine_name(), **sysinfo.collect(), "settings": settings}, indent=2))
    return 0


def model(args: argparse.Namespace) -> int:
    """Show, build, rebuild or clear the model_inference model cache."""
    from bench_lib.workloads import models  # on use (see preflight)

    try:
        models.command(wipe=args.clear, rebuild=args.rebuild, check=args.check)
    except models.ModelError as exc:
        raise CLIError(str(exc)) from None
    return 0


def report(args: argparse.Namespace) -> int:
    """Print per workload: the verdict, then times, speedups and intervals (--wide: overheads)."""
    from bench_lib.publish import findings, report as rep  # on use (see preflight)

    results = Path(args.results) if args.results else project_root() / "results"
    try:  # --json is the complete record: small-size series too
        machines = rep.pick(rep.load(results), args.machine, str(results), everything=args.all or args.json)
    except rep.ReportError as exc:
        raise CLIError(str(exc)) from None
    if args.json:
        print(json.dumps(rep.point_objects(machines), indent=1))
    else:
        print(findings.render(machines, args.markdown) if args.summary or args.markdown else rep.render(machines, args.wide))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = commands.build({"run": run, "report": report, "site": site_cmd, "compare": compare_cmd,
                             "info": info, "model": model, "upgrade-check": upgrade_cmd})
    argv = list(sys.argv[1:] if argv is None else argv)
    ours, asv_args = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    args, extra = parser.parse_known_args(ours)
    try:
        if args.command == "run" and extra and not any(word.startswith("-") for word in extra):
            raise CLIError(f"run takes no words ({' '.join(extra)}): choose benchmarks with --bench REGEX; "
                           "arguments for asv run go after --")
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if asv_args and args.command != "run":
            parser.error(f"only run passes arguments after -- (to asv run): {' '.join(asv_args)}")
        args.asv_args = asv_args
        status = args.func(args)
        sys.stdout.flush()  # a reader that left shows here, not in the interpreter's last flush
        return status
    except CLIError as exc:
        print(f"parbench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader closed the pipe (report --json | head): it had what it wanted. Later
        # writes and the final flush go nowhere instead of failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
