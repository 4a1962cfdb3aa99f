"""Where a command runs and how it fails: the checkout it works on, and the one-line error
every command raises for bad input (``python -m bench_lib`` prints it and exits 2). Its own
module so that commands living beside their subject (forecast) need not import the CLI."""

from __future__ import annotations

from pathlib import Path


class CLIError(RuntimeError):
    """Bad input or a missing precondition: the message is the one line the user sees."""


def project_root() -> Path:
    """The checkout to benchmark: the nearest directory above cwd with asv.conf.json."""
    here = Path.cwd().resolve()
    for path in (here, *here.parents):
        if (path / "asv.conf.json").is_file():
            return path
    raise CLIError(f"no asv.conf.json in {here} or above: run from a parbench checkout")
