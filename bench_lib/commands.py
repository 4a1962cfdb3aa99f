"""The argument parser of ``python -m bench_lib``: every subcommand's options and help,
apart from what the commands do (bench_lib.cli), so each module reads as one job."""

from __future__ import annotations

import argparse
from typing import Callable

from bench_lib import config, __version__
from bench_lib.publish import compare, forecast
from bench_lib.run import upgrade

DESCRIPTION = "``python -m bench_lib``: run the suite with asv and publish the site in one go."

EXIT_STATUS = f"""\
exit status:
  0         done; compare: no speedup fell by more than --factor
  1         run: a point failed (asv's own status is printed); compare: a speedup fell by more
            than --factor, or a point measured in BASE is missing in NEW; upgrade-check: a point
            failed, or some point's whole interval of new / old lies below 1 / --factor
  2         bad usage or input (upgrade-check: a stack not built): one line on stderr, nothing started
  {compare.HOST_CHANGED}         compare: nothing regressed, but the host, the allocator or a variant changed
            under some speedups, which are named and not gated (compare --help says how)
  130, 143  run stopped by SIGINT (Ctrl-C) or SIGTERM (128 + the signal); run it again to resume"""


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of minutes")
    return value


def build(handlers: dict[str, Callable[[argparse.Namespace], int]]) -> argparse.ArgumentParser:
    """The parser, each subcommand calling ``handlers[name]`` (forecast brings its own)."""
    parser = argparse.ArgumentParser(prog="python -m bench_lib", description=DESCRIPTION,
                                     epilog=f"{config.settings_help()}\n\n{EXIT_STATUS}",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"parbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run the suite on this checkout and publish html/",
                       usage="python -m bench_lib run [options] [-- ASV_RUN_ARGS ...]",
                       epilog=f"arguments after -- go to asv run unchanged.\n\n{config.settings_help()}",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: small sizes, one sample, each benchmark with serial, threads and one engine "
                        "in turn (with --bench: what it names)")
    p.add_argument("--bench", action="append", metavar="REGEX", help="only benchmarks matching (repeatable)")
    p.add_argument("--profile", choices=("default", "extended"), default="default",
                   help="extended: also the sizes beyond each benchmark's question (its class's 'extended')")
    p.add_argument("--machine", help="machine name for results/ (default: $PARBENCH_MACHINE, else "
                   "host-cores-memory-cpu as `info` prints it; -small is appended at small sizes)")
    p.add_argument("--no-publish", dest="publish", action="store_false", help="skip asv publish")
    p.add_argument("--budget", type=_minutes, metavar="MINUTES",
                   help="fit the run into this many minutes by sampling less (says which points lose precision)")
    p.add_argument("--fresh", action="store_true",
                   help="measure everything again (default: resume, skipping what this commit has recorded)")
    p.add_argument("--allow-dirty", action="store_true",
                   help="measure a tree with uncommitted changes (the run is marked dirty)")
    p.add_argument("--engines", choices=config.ENGINE_MODES,
                   help="per-point (default; PARBENCH_ENGINES): every asv process starts its own engine; once: one "
                        "Ray and one Dask cluster for the whole run, joined by the warm runs (starts are still timed "
                        "on engines of their own; the idle clusters slow points at all cores 5-18%%, "
                        "docs/engines_once.md)")
    p.add_argument("--plan-only", action="store_true", help="print the plan and exit; nothing is measured or written")
    p.add_argument("--cores", type=int, metavar="N",
                   help="with --plan-only: plan for N physical cores (their n_workers; default: this machine's)")
    p.set_defaults(func=handlers["run"])
    p = sub.add_parser("report", help="per workload: the backend to use and why, then times and speedups")
    p.add_argument("--results", help="results folder (default: results/ of this checkout)")
    p.add_argument("--machine", help="only this machine (small-size series included)")
    p.add_argument("--all", action="store_true", help="also small-size series where full-size ones exist")
    p.add_argument("--wide", action="store_true", help="also the overhead columns (start, import, per task, transfer)")
    p.add_argument("--summary", action="store_true", help="only the findings: per workload the backend to use and why")
    p.add_argument("--markdown", action="store_true", help="the summary as Markdown tables (the README's findings)")
    p.add_argument("--json", action="store_true", help="one object per measured point (every run and series), as JSON")
    p.set_defaults(func=handlers["report"])
    p = sub.add_parser("site", help="rebuild html/ (asv publish + the scaling report) from results/")
    p.add_argument("--results", help="results folder (default: results/ of this checkout)")
    p.add_argument("--html", help="output folder (default: html/ of this checkout)")
    p.add_argument("--screenshot", metavar="PNG", help="also save the report page as Chromium draws it")
    p.set_defaults(func=handlers["site"])
    p = sub.add_parser("compare", help="exit 1 when a speedup fell by more than --factor (speedups only: "
                       "efficiency is not gated); 3 when the host or the method changed instead",
                       description=compare.DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", help="run id (points.jsonl), commit (prefix) in results/, results folder or asv result file")
    p.add_argument("new", help="the same, for the run under test")
    p.add_argument("--factor", type=float, default=1.2,
                   help="fail when the whole interval of new / base speedup lies below 1 / factor (default 1.2)")
    p.add_argument("--machine", help="the machine to compare (required when a set holds several)")
    p.add_argument("--results", help="where commits are looked up (default: results/ of this checkout)")
    p.set_defaults(func=handlers["compare"])
    p = sub.add_parser("upgrade-check", help="both engine stacks of asv's matrix, alternating point by point: "
                       "exit 1 where the new stack's speedup fell below 1 / --factor",
                       description=upgrade.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stacks", nargs=2, metavar=("OLD", "NEW"),
                   help="text in each environment's asv name, e.g. ray2.55.1 ray2.60.0 (default: the matrix's two, "
                        "older Ray first)")
    p.add_argument("--bench", metavar="REGEX", help="only the speedup points whose asv name matches")
    p.add_argument("--factor", type=float, default=1.2,
                   help="fail where the whole interval of new / old speedup lies below 1 / factor (default 1.2)")
    p.add_argument("--machine", help="machine name for results/ (default as run)")
    p.add_argument("--recorded", action="store_true",
                   help="measure nothing: print the newest check recorded in results/MACHINE, and its status")
    p.set_defaults(func=handlers["upgrade-check"])
    sub.add_parser("info", help="print this machine's metadata, backends and workloads").set_defaults(func=handlers["info"])
    p = sub.add_parser("model", help="show the model_inference model cache (built if missing)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--rebuild", action="store_true", help="train and save the model again")
    what.add_argument("--clear", action="store_true", help="delete the cached model and images")
    p.add_argument("--check", action="store_true", help="also load the model and classify images")
    p.set_defaults(func=handlers["model"])
    forecast.add_parser(sub)
    return parser
