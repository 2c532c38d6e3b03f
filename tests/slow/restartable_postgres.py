"""A PostgreSQL server of one test's own, which the test may stop and start again: the same data directory on
the same TCP port, so a client keeps its DATABASE_URL across the restart.

It runs the binaries pgserver ships (initdb, pg_ctl). As root, like pgserver, it runs them as the `pgserver`
system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pgserver

BIN = Path(pgserver.__file__).resolve().parent / "pginstall" / "bin"
SYSTEM_USER = "pgserver"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RestartablePostgres:
    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.log = self.data / "server.log"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._user: str | None = None
        self.data.mkdir()
        if os.geteuid() == 0:
            self._as_system_user(root)
        self._run("initdb", "--auth=trust", "--encoding=utf8", "--no-sync", "-U", "postgres")
        with (self.data / "postgresql.conf").open("a") as conf:
            # TCP only (a refused connection is what clients see while it is down), and no fsync: the
            # machine does not crash, only the server.
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
                "fsync = off\nmax_connections = 40\n"
            )

    def _as_system_user(self, root: Path) -> None:
        import pwd

        from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists(SYSTEM_USER)
        entry = pwd.getpwnam(SYSTEM_USER)
        ensure_prefix_permissions(self.data)
        ensure_folder_permissions(BIN, 0o055)
        ensure_folder_permissions(BIN.parent / "lib", 0o044)
        root.chmod(0o755)
        os.chown(self.data, entry.pw_uid, entry.pw_gid)
        self._user = SYSTEM_USER

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(BIN / program), "-D", str(self.data), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self._user,
            timeout=60,
        )

    def start(self) -> None:
        self._run("pg_ctl", "-w", "-t", "30", "-l", str(self.log), "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session and checkpoints; `immediate` kills the server (crash recovery on start)."""
        self._run("pg_ctl", "-w", "-t", "30", "-m", mode, "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@contextmanager
def restartable_postgres() -> Iterator[RestartablePostgres]:
    """A fresh server, started; stopped and deleted afterwards whatever state the test left it in."""
    root = Path(tempfile.mkdtemp(prefix="tour-booking-restart-"))
    try:
        server = RestartablePostgres(root)
        server.start()
        try:
            yield server
        finally:
            if server.running():
                server.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)
