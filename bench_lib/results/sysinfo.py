"""Where and how numbers were measured, stored beside asv's results (pyperf's habit).

asv's results record the machine name, CPU and RAM; a parallel benchmark also depends on
physical cores, /dev/shm (Ray's object store), thread limits and engine versions.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import re
import shutil
from pathlib import Path

from bench_lib import config
from bench_lib.backends import allocator
from bench_lib.backends._worker import THREAD_VARIABLES
from bench_lib.results import records

PACKAGES = ("numpy", "scipy", "joblib", "ray", "dask", "distributed", "tensorflow-cpu",
            "keras", "threadpoolctl", "psutil", "asv")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def other_cpu(folder: Path, cpu: str) -> str | None:
    """The CPU model the series in ``folder`` was measured on, when it is not ``cpu``: a
    series is one kind of machine, and another CPU's runs would mix into its figures."""
    lines = read(folder)
    recorded = lines[-1].get("cpu_model") if lines else None
    return recorded if recorded and recorded != cpu else None


def versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``names`` (None: not installed), from the packages' metadata:
    importing an engine to ask would cost seconds."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def collect() -> dict:
    import psutil
    from threadpoolctl import threadpool_info

    shm = shutil.disk_usage("/dev/shm").total if os.path.isdir("/dev/shm") else None
    return {
        "cpu_model": cpu_model(),
        "physical_cores": config.physical_cores(),
        "logical_cpus": psutil.cpu_count(logical=True),
        "usable_cpus": config.usable_cpus(),
        "memory_bytes": config.total_memory(),
        "dev_shm_bytes": shm,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "size": config.size(),
        "threads_per_worker": config.threads_per_worker(),
        "serial_threads": config.threads_per_worker(),  # serial runs under the same limit
        "mp_start_method": config.mp_start_method(),
        "ray_address": config.user_cluster("ray") or "local",
        "dask_address": config.user_cluster("dask") or "local",
        "thread_env": {k: os.environ.get(k) for k in THREAD_VARIABLES},
        "threadpools": [
            {k: d.get(k) for k in ("user_api", "internal_api", "num_threads")}
            for d in threadpool_info()
        ],
        "versions": versions(),
        "allocator": allocator.settings(),
        **model_inference_settings(),
    }


def model_inference_settings() -> dict:
    """TensorFlow threads (intra_op, inter_op) per process in model_inference, and its cache."""
    from bench_lib.workloads.model_inference import tf_threads  # on use: only a run's record asks

    return {"tensorflow_threads": {"per_worker": list(tf_threads("per-worker")),
                                   "tf-threads": list(tf_threads("tf-threads"))},
            "model_cache": str(config.cache_dir())}


def cpu_tag(model: str) -> str:
    """A CPU model as a short name part: 'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz'
    -> 'xeon-platinum-8259cl' (vendor, trademarks, 'CPU', 'Processor' and clock dropped).
    A model without a number ('Intel(R) Xeon(R) Processor @ 2.80GHz', as some VMs report
    it) keeps its clock, 'xeon-2.80ghz': it is all that tells two such CPUs apart."""
    name, _, clock = model.partition("@")
    name = re.sub(r"\((r|tm)\)", " ", name, flags=re.I)
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower())
             if w and w not in ("intel", "amd", "cpu", "processor", "core", "with", "radeon", "graphics")]
    if not any(c.isdigit() for w in words for c in w):
        words += re.findall(r"\d+(?:\.\d+)?[gm]hz", clock.lower().replace(" ", ""))
    return "-".join(words)[:32].strip("-") or "cpu"


def default_machine_name() -> str:
    """Unique per kind of machine: host, cores, memory and CPU model, so two VMs of the
    same size with other CPUs never share a series (EC2 runs pass the instance type)."""
    gib = round(config.total_memory() / 1024**3)
    return f"{platform.node() or 'host'}-{config.physical_cores()}core-{gib}gb-{cpu_tag(cpu_model())}"


def asv_machine() -> list[str]:
    """``asv machine`` options, so asv's own machine record (and its site) names the hardware."""
    return ["--cpu", cpu_model(), "--num_cpu", str(config.usable_cpus()),
            "--ram", str(config.total_memory()), "--os", f"{platform.system()} {platform.release()}",
            "--arch", platform.machine()]


def record(folder, **fields) -> dict:
    """Append this machine's metadata and a run's ``fields`` to ``folder/sysinfo.jsonl``."""
    import time

    info = {"commit": fields.pop("commit", None), "time": time.time(), "machine": fields.pop("machine", None),
            **collect(), **fields}
    Path(folder).mkdir(parents=True, exist_ok=True)
    records.append(Path(folder) / records.SYSINFO, info)
    return info


def read(folder) -> list[dict]:
    """Every line of ``folder/sysinfo.jsonl``, oldest first (one per run; unreadable ones skipped)."""
    return records.read(Path(folder) / records.SYSINFO)[0]
