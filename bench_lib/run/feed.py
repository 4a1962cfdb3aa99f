"""What ``run`` prints while asv runs one benchmark for minutes: the run's new records in
its points file, a line each (bench_lib.run.runner echoes them between asv's own lines)."""

from __future__ import annotations

from pathlib import Path

from bench_lib.results import points


class Feed:
    """What asv does not say while one benchmark runs for minutes: the run's new records
    in its points file, a line each -- the combination asv times now (its first load
    window) and every protocol point as it is measured."""

    def __init__(self, path: Path, run_id: str):
        self.path, self.run_id = path, run_id
        self.offset = path.stat().st_size if path.exists() else 0
        self.said: dict[tuple, bool] = {}  # points.window_combo -> whether its line said foreign load

    def _new(self, record: dict) -> bool:
        """A window is said once per combination, and once more if a later one is loud: asv
        records every loud window, and a busy host made one combination's line 10 lines."""
        if record.get("kind") != "window":
            return True
        key, loud = points.window_combo(record), not record.get("quiet")
        if key in self.said and (self.said[key] or not loud):
            return False
        self.said[key] = loud
        return True

    def lines(self) -> list[str]:
        found, self.offset = points.follow(self.path, self.offset)
        return [describe(record) for record in found if record.get("run") == self.run_id and self._new(record)]


def describe(record: dict) -> str:
    """One points-file record as a progress line."""
    if record.get("kind") == "window":
        params = ", ".join(f"{k}={v}" for k, v in record.get("params", {}).items())
        return f"[parbench]   timing {record.get('benchmark')}({params})" + ("" if record.get("quiet") else
                                                                           " -- beside foreign load")
    where = " ".join(str(record.get(k)) for k in ("workload", "backend") if record.get(k) is not None)
    value, half = record.get("value"), record.get("half_width")
    figure = f"{value:.3g}" if isinstance(value, (int, float)) else "n/a"
    spread = f" ±{half:.1%}" if isinstance(half, (int, float)) else ""  # half_width is relative
    rounds = f", {record['pairs']} rounds" if record.get("pairs") else ""
    return (f"[parbench]   {record.get('kind')} {where} n={record.get('n_workers')}: {figure}{spread}{rounds}"
            + ("" if record.get("precise", True) else ", imprecise"))
