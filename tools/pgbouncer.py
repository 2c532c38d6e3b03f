"""PgBouncer in transaction mode in front of a PostgreSQL server: the stand-in for RDS Proxy in tests and CI.

Both refuse libpq's startup `options` and hand each transaction whichever server connection is free, so the code
passes behind this only if nothing it needs outlives a transaction. Debian's `pgbouncer` package provides the
binary (`apt-get install pgbouncer`).

    python -m tools.pgbouncer --backend postgresql://postgres@127.0.0.1:5432/postgres -- make test ...

runs the command with TEST_POOLER_URL pointing at PgBouncer (the test fixtures route the code under test through
it, see tests/database.py) and stops PgBouncer afterwards; PGBOUNCER_KEEP_LOG=1 keeps its log and prints where.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess  # nosec B404 - runs pgbouncer and the command its caller gives, never a shell
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

# Small on purpose: many clients share few server connections, as behind RDS Proxy, so state leaked into one
# server connection shows up in another client's transaction.
DEFAULT_POOL_SIZE = 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _config(backend: dict[str, str], port: int, pool_size: int, folder: Path) -> str:
    host = backend.get("host") or "127.0.0.1"
    return "\n".join(
        [
            "[databases]",
            # Any database name is served from the backend, so each test run's scratch database gets its pool.
            f"* = host={host} port={backend.get('port') or 5432}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {folder / 'userlist.txt'}",
            "pool_mode = transaction",
            f"default_pool_size = {pool_size}",
            "max_client_conn = 1000",
            "max_db_connections = 0",
            # A server login cut short (a terminated backend) is retried after 1 s, not PgBouncer's 15: RDS Proxy
            # too reconnects at once, and the database fault tests kill server sessions under load.
            "server_login_retry = 1",
            # A client waits this long for a server connection, then gets an error (a 503 for the API) rather than
            # outliving its Lambda timeout; RDS Proxy's ConnectionBorrowTimeout plays this part.
            "query_wait_timeout = 3",
            f"logfile = {folder / 'pgbouncer.log'}",
            f"pidfile = {folder / 'pgbouncer.pid'}",
            f"admin_users = {backend.get('user') or 'postgres'}",
            "",
        ]
    )


@contextmanager
def pgbouncer(backend_url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> Iterator[str]:
    """Starts PgBouncer in front of the server of `backend_url`; yields `backend_url` pointed at PgBouncer."""
    binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(binary).exists():
        raise RuntimeError("pgbouncer is not installed (Debian: apt-get install pgbouncer)")
    backend = conninfo_to_dict(backend_url)
    user = str(backend.get("user") or "postgres")
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    # PgBouncer refuses to run as root; it then runs as the `postgres` user, which must read and write here.
    folder.chmod(0o777)
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    port = _free_port()
    (folder / "pgbouncer.ini").write_text(_config({k: str(v) for k, v in backend.items()}, port, pool_size, folder))
    for path in folder.iterdir():
        path.chmod(0o666)
    command = [binary, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    # PgBouncer in the foreground writes every log line to stderr too: into a file, since a pipe nobody reads
    # fills up after a few hundred logins and then blocks PgBouncer itself.
    stderr_path = folder / "stderr.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)  # nosec B603
    try:
        _wait_listening(port, process, stderr_path)
        params = {k: v for k, v in backend.items() if v is not None}
        params |= {"host": "127.0.0.1", "port": str(port)}
        yield make_conninfo("", **params)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        if os.environ.get("PGBOUNCER_KEEP_LOG"):
            print(f"pgbouncer log kept in {folder / 'pgbouncer.log'}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _wait_listening(port: int, process: subprocess.Popen[bytes], stderr_path: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = stderr_path.read_text(errors="replace")
            raise RuntimeError(f"pgbouncer exited: {error.strip()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("pgbouncer did not start listening")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Runs a command with PgBouncer (transaction mode) in front.")
    parser.add_argument("--backend", required=True, help="URL of the PostgreSQL server PgBouncer serves")
    parser.add_argument("--pool-size", type=int, default=DEFAULT_POOL_SIZE)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    with pgbouncer(args.backend, pool_size=args.pool_size) as url:
        print(f"pgbouncer (transaction mode, pool {args.pool_size}) on {url}", file=sys.stderr, flush=True)
        return subprocess.call(command, env={**os.environ, "TEST_POOLER_URL": url})  # nosec B603


if __name__ == "__main__":
    sys.exit(main())
