"""Figures kept by what they are drawn from.

Drawing is most of a site build (matplotlib's layout and SVG output: about 20 s here for
five machines), and ``run`` publishes after every run, mostly from results that did not
change. A figure is a function of its machine's results folder, asv's benchmark index and
the drawing code, so an SVG is kept in the cache folder (``PARBENCH_CACHE``, beside the
model) under a digest of exactly those, and a later build with the same digest copies it
instead of drawing it again. Any change to a result file, to bench_lib's code or to
matplotlib's version makes a new digest: a kept figure is never stale, only unused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from functools import lru_cache
from pathlib import Path
from typing import Callable

import bench_lib
from bench_lib import config

FOLDER = "figures"


@lru_cache(maxsize=1)
def _code() -> str:
    """Digest of bench_lib's sources and matplotlib's version: what turns results into pictures."""
    import matplotlib

    found = hashlib.sha256(matplotlib.__version__.encode())
    package = Path(bench_lib.__file__).parent
    for path in sorted(package.rglob("*.py")):
        found.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return found.hexdigest()


def digest(*sources: Path) -> str:
    """Digest of files and folders (every file under a folder, by name and content)."""
    found = hashlib.sha256(_code().encode())
    for source in sources:
        files = sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
        for path in files:
            if path.exists():
                found.update(str(path.relative_to(source.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return found.hexdigest()


def figure(path: Path, key: str, draw: Callable[[Path], bool]) -> bool:
    """The figure kept under ``key`` copied to ``path``; else ``draw(path)`` and keep what it
    drew. False when ``draw`` had nothing to draw. A cache that cannot be written only costs
    the next build its drawing."""
    kept = config.cache_dir() / FOLDER / f"{key}{Path(path).suffix}"
    if kept.is_file():
        shutil.copyfile(kept, path)
        return True
    if not draw(path):
        return False
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        part = kept.with_name(f"{kept.name}.{os.getpid()}.part")  # whole or absent: builds may race
        shutil.copyfile(path, part)
        os.replace(part, kept)
    except OSError:
        pass
    return True


def key(held: str, *names: str) -> str:
    """One figure's key: the digest of its sources and what names it among them."""
    return hashlib.sha256("\0".join([held, *names]).encode()).hexdigest()[:32]
