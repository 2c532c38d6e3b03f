"""One combined log stream for the local stack: every line says which part wrote it (`[api] ...`).

The parts are threads of one process, so the part is a tag on the writing thread. Threads that libraries
start on a part's behalf (moto's and the ResMan double's request threads, a handler's worker pool) inherit
the tag of the thread that created them.
"""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

DEFAULT_PART = "dev"
_PART_ATTRIBUTE = "_local_stack_part"
_COLOURS = {"api": 36, "sync": 35, "refresh": 33, "resman": 32, "sqs": 34, "db": 90, "dev": 1}
_WIDTH = 10

_installed_init: Callable[..., None] | None = None


def current_part() -> str:
    part: str = getattr(threading.current_thread(), _PART_ATTRIBUTE, DEFAULT_PART)
    return part


def set_part(part: str, thread: threading.Thread | None = None) -> None:
    setattr(thread or threading.current_thread(), _PART_ATTRIBUTE, part)


def inherit_parts() -> None:
    """New threads take the part of the thread that creates them.

    The stack can tag the threads it starts, but not those libraries start for it; patching
    Thread.__init__ is the one place that sees both the creator and the new thread.
    """
    global _installed_init
    if _installed_init is not None:
        return
    original = threading.Thread.__init__

    def init(self: threading.Thread, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        set_part(current_part(), self)

    _installed_init = original
    threading.Thread.__init__ = init  # type: ignore[method-assign]


class PartStream(io.TextIOBase):
    """A text stream that prefixes each complete line with the writing thread's part.

    Lines are buffered per thread and written whole under a lock, so parts never interleave mid-line.
    """

    def __init__(self, target: TextIO, *, colour: bool | None = None) -> None:
        super().__init__()
        self._target = target
        self._lock = threading.Lock()
        self._pending = threading.local()
        self._colour = target.isatty() if colour is None else colour

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        buffered: str = getattr(self._pending, "text", "") + text
        *lines, rest = buffered.split("\n")
        self._pending.text = rest
        if lines:
            self.write_lines(current_part(), lines)
        return len(text)

    def write_lines(self, part: str, lines: list[str]) -> None:
        prefix = f"[{part}]".ljust(_WIDTH)
        if self._colour:
            prefix = f"\033[{_COLOURS.get(part, 0)}m{prefix}\033[0m"
        block = "".join(f"{prefix}{line}\n" for line in lines)
        with self._lock:
            self._target.write(block)
            self._target.flush()

    def flush(self) -> None:
        pending: str = getattr(self._pending, "text", "")
        if pending:
            self._pending.text = ""
            self.write_lines(current_part(), [pending])


@contextmanager
def combined_output(target: TextIO | None = None) -> Iterator[PartStream]:
    """Routes stdout, stderr and the logging module through one prefixing stream for the block."""
    stream = PartStream(target or sys.__stdout__ or sys.stdout)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = stream
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        stream.flush()
        root.handlers, root.level = saved_handlers, saved_level
        sys.stdout, sys.stderr = saved
