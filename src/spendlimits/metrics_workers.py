"""One /metrics view of every worker: prometheus_client's multiprocess mode, managed by `serve`.

With ``--workers N`` uvicorn runs N processes, each with its own counters in memory, and a scrape
reached one of them at random. ``serve`` now gives the workers a fresh directory in
PROMETHEUS_MULTIPROC_DIR (created empty at start, removed at exit) before they start; every
worker's prometheus_client then keeps its values in memory-mapped files there, and a scrape of
any worker merges all of them (counters and histograms summed, the pool gauges summed over live
workers). A worker that stops marks its gauges dead; its counters still count, as they should.

One worker needs none of this: ``serve`` leaves the variable unset and the process's own registry
is the whole view. An operator who sets PROMETHEUS_MULTIPROC_DIR themselves keeps their
directory; ``serve`` empties it of old files at start, as prometheus_client requires.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess

ENV = "PROMETHEUS_MULTIPROC_DIR"


def enabled() -> bool:
    return bool(os.environ.get(ENV))


@contextmanager
def shared_metrics_dir(workers: int) -> Iterator[Path | None]:
    """For ``serve``: a clean PROMETHEUS_MULTIPROC_DIR for the workers while they run."""
    if workers <= 1:
        yield None
        return
    given = os.environ.get(ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield directory
        return
    directory = Path(tempfile.mkdtemp(prefix="spendlimits-metrics-"))
    os.environ[ENV] = str(directory)
    try:
        yield directory
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def latest() -> bytes:
    """The text format of every worker's metrics, or of this process's when it runs alone."""
    if not enabled():
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
    return generate_latest(registry)


def worker_stopped() -> None:
    """Drops this worker's live gauges from the shared view (its counters stay)."""
    if enabled():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # untyped upstream
