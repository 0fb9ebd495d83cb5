"""A second listener, in processes of its own, for the chat daemon's decisions.

One event loop serves every request of its process, and Python cannot pre-empt a request that is
computing: while a worker builds a large answer, an admission check on the same worker waits
(measured in the issue: 6 ms idle, 17.5 s and ``failedOpen: true`` behind one heavy query). Slicing
long lists (graphql/budget.py) shortens each stretch but cannot remove it, and priority inside one
loop does not exist. Separate processes do: the operating system shares the cores between them, so
the read workers run at a lower CPU priority, and a check on the decision port no longer waits
behind a page being built (tests/reliability/test_mixed_load.py measures it).

``spendlimits serve --decision-workers N`` starts N more uvicorn workers on ``--decision-port``,
serving the same application with a tight cost limit (``SPENDLIMITS_DECISION_MAX_QUERY_COST``):
checks, reservations and message records cost almost nothing there, pages of users are refused,
so heavy reads cannot land on the decision processes even by mistake. The daemon points at that
port; admin pages, the console and auditors at the main one.
"""

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess

from spendlimits.settings import Settings


def _exit_with_parent(parent: int) -> None:
    # Ended with the serve command even when it is killed outright (no shutdown handler runs then).
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)


def _serve(host: str, port: int, workers: int, max_query_cost: int, log_level: str) -> None:
    import uvicorn

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    # Read by Settings.from_env in each worker this process starts.
    os.environ["SPENDLIMITS_MAX_QUERY_COST"] = str(max_query_cost)
    # multiprocessing gave this process a private /dev/null as stdin, whose descriptor its own
    # workers would not inherit: uvicorn, handing it on, failed with EBADF and no worker started.
    sys.stdin = None
    uvicorn.run(
        "spendlimits.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )


def start(settings: Settings, host: str, port: int, workers: int) -> BaseProcess:
    """Starts the decision listener in a child process (which starts its own workers)."""
    process = multiprocessing.get_context("spawn").Process(
        target=_serve,
        args=(host, port, workers, settings.decision_max_query_cost, settings.log_level.lower()),
        name="spendlimits-decisions",
    )
    process.start()
    return process


def yield_cpu_to_decisions(niceness: int) -> None:
    """Lowers this process's CPU priority (and its future workers'), after the decision listener
    started at the old one. With the cores busy, the scheduler then gives a decision worker many
    times the CPU of a read worker (weights 1024 and 15 at niceness 19) instead of an equal share;
    reads get what decisions leave. Raising it back needs privileges, so only the read side moves.
    Measured (test_mixed_load.py, loaded machine, one run each): check p99 under heavy reads 641 ms
    at niceness 10, 263 ms at 19."""
    if niceness > 0:
        os.nice(niceness)


@contextmanager
def running(settings: Settings, host: str, port: int, workers: int) -> Iterator[None]:
    """The decision listener for the duration of the block; the calling process then yields the CPU.

    uvicorn re-raises SIGTERM once it has shut down, which would end this process before any
    ``finally`` ran and leave the listener to notice its orphaning a second later; turned into
    SystemExit here, it stops the listener first.
    """
    process = start(settings, host, port, workers)
    previous = signal.signal(signal.SIGTERM, _exit)
    try:
        yield_cpu_to_decisions(settings.read_niceness)
        yield
    finally:
        stop(process)
        signal.signal(signal.SIGTERM, previous)


def worker_count(settings: Settings, flag: int | None) -> int:
    """The decision workers asked for: the flag, else the setting (0: no decision listener)."""
    return settings.decision_workers if flag is None else flag


@contextmanager
def serving(
    settings: Settings, host: str, main_port: int, workers: int | None, port: int | None
) -> Iterator[None]:
    """``running`` when decision workers are asked for (flag, else setting), else nothing."""
    workers = worker_count(settings, workers)
    if not workers:
        yield
        return
    port = port or settings.decision_port or main_port + 1
    with running(settings, host, port, workers):
        print(f"decisions (for the chat daemon) at http://{host}:{port}/graphql", file=sys.stderr)
        yield


def _exit(signum: int, _: object) -> None:
    raise SystemExit(128 + signum)


def stop(process: BaseProcess) -> None:
    if process.is_alive():
        process.terminate()
        process.join(30)
    if process.is_alive():
        process.kill()
        process.join()
