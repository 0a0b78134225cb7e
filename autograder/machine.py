"""Where a measurement was taken: what every benchmark JSON under ``benchmarks/results/`` records beside its
figures (the date, the machine, the versions and the BLAS kernel numpy runs on)."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_ticks() -> tuple[int, int, int] | None:
    """``(busy, steal, all)`` clock ticks all cores have counted since boot, from ``/proc/stat``; None where it
    cannot be read. Busy is user + nice + system + irq + softirq (not idle, iowait, nor steal: the time a
    hypervisor gave other machines). ``os.sysconf("SC_CLK_TCK")`` ticks make a second."""
    try:
        with open("/proc/stat") as fh:
            user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fh.readline().split()[1:9])
    except (OSError, ValueError):
        return None
    return user + nice + system + irq + softirq, steal, user + nice + system + idle + iowait + irq + softirq + steal


def blas() -> list[dict]:
    """The BLAS libraries numpy has loaded: library, version, kernel (``architecture``, e.g. SkylakeX) and
    threads, as threadpoolctl reports them; empty when threadpoolctl is not installed."""
    import numpy  # noqa: F401 - loads the BLAS threadpoolctl inspects

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "architecture", "num_threads", "threading_layer")
    return [{k: info.get(k) for k in keys} for info in threadpool_info() if info.get("user_api") == "blas"]


def environment(packages: tuple[str, ...] = ("numpy", "pytest")) -> dict:
    """Date, machine, versions of ``packages`` and the BLAS kernel, as a JSON-ready dict."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpu": _cpu_model(), "cores": os.cpu_count(),
                    "executable": sys.executable},
        "versions": versions,
        "blas": blas(),
        # Set on some machines to force a kernel; a user's machine normally has neither.
        "blas_environment": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                                         "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
                             if k in os.environ},
    }
