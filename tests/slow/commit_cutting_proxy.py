"""A TCP proxy in front of PostgreSQL that can lose the answer to a COMMIT: the server commits, the client
sees its connection drop. The one outage a client cannot tell from a rollback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from psycopg.conninfo import conninfo_to_dict, make_conninfo

COMMIT = b"COMMIT\x00"  # in the client's query and in the server's CommandComplete tag


def _upstream(url: str) -> socket.socket:
    params = conninfo_to_dict(url)
    host = str(params.get("host") or "localhost")
    port = int(params.get("port") or 5432)
    if host.startswith("/"):
        unix = socket.socket(socket.AF_UNIX)
        unix.connect(f"{host}/.s.PGSQL.{port}")
        return unix
    return socket.create_connection((host, port))


class CommitCuttingProxy:
    def __init__(self, server_url: str) -> None:
        self._server_url = server_url
        self._listener = socket.create_server(("127.0.0.1", 0))
        port = self._listener.getsockname()[1]
        params = conninfo_to_dict(server_url)
        params.update(host="127.0.0.1", port=str(port), sslmode="disable")
        self.url = make_conninfo("", **params)
        self._armed = threading.Event()
        self.cut = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_next_commit_answer(self) -> None:
        self._armed.set()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = _upstream(self._server_url)
            cutting = threading.Event()
            threading.Thread(target=self._to_server, args=(client, server, cutting), daemon=True).start()
            threading.Thread(target=self._to_client, args=(server, client, cutting), daemon=True).start()

    def _to_server(self, client: socket.socket, server: socket.socket, cutting: threading.Event) -> None:
        with suppress(OSError):
            while data := client.recv(65536):
                if COMMIT in data and self._armed.is_set():
                    self._armed.clear()
                    cutting.set()  # before the COMMIT leaves, so its answer cannot slip through
                server.sendall(data)
        self._drop(client, server)

    def _to_client(self, server: socket.socket, client: socket.socket, cutting: threading.Event) -> None:
        with suppress(OSError):
            while data := server.recv(65536):
                if not cutting.is_set():
                    client.sendall(data)
                elif COMMIT in data:  # the server committed; the client never hears of it
                    self.cut.set()
                    break
        self._drop(client, server)

    @staticmethod
    def _drop(*sockets: socket.socket) -> None:
        for each in sockets:
            with suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)
            each.close()


@contextmanager
def commit_cutting_proxy(server_url: str) -> Iterator[CommitCuttingProxy]:
    proxy = CommitCuttingProxy(server_url)
    try:
        yield proxy
    finally:
        proxy.close()
