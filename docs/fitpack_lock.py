"""Two threads evaluating RectBivariateSpline.ev, with SciPy's FITPACK_LOCK and with it
replaced by a no-op, against the same work done serially: medians of 5 interleaved rounds."""
import contextlib, statistics, threading, time
import numpy as np
from threadpoolctl import threadpool_limits
import scipy.interpolate._fitpack2 as fp
from scipy.interpolate import RectBivariateSpline

threadpool_limits(1)
rng = np.random.default_rng(0)
g = np.linspace(0, 1, 300)
splines = [RectBivariateSpline(g, g, rng.random((300, 300)), kx=1, ky=1) for _ in range(2)]
xi, yi = rng.random(1_000_000), rng.random(1_000_000)
job = lambda s: float(np.exp(s.ev(xi, yi)).sum())

def serial():
    return [job(s) for s in splines]

def threads():
    out = [None, None]
    ts = [threading.Thread(target=lambda k=k: out.__setitem__(k, job(splines[k]))) for k in range(2)]
    [t.start() for t in ts]; [t.join() for t in ts]
    return out

locked, free = fp.FITPACK_LOCK, contextlib.nullcontext()
ref = serial()
times = {"serial": [], "threads, scipy's lock": [], "threads, no lock": []}
for _ in range(5):
    for name in times:
        fp.FITPACK_LOCK = free if name == "threads, no lock" else locked
        t = time.perf_counter()
        got = serial() if name == "serial" else threads()
        times[name].append(time.perf_counter() - t)
        assert got == ref, name
fp.FITPACK_LOCK = locked
s = statistics.median(times["serial"])
for name, ts in times.items():
    print(f"{name:22s} {statistics.median(ts):6.3f} s   speedup {s / statistics.median(ts):4.2f}x")
