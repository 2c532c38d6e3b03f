"""Runs a function's `lambda_handler` locally the way Lambda does: warm containers, a context, a timeout.

Each "container" is a long-lived thread that handles one invocation at a time, so the handler keeps its
thread-local database connection across invocations exactly as a warm Lambda container keeps its one. Each
invocation runs inside the function's own environment (`environment`, e.g. template.yaml's Variables), which
the code reads through tour_booking.settings.
"""

from __future__ import annotations

import importlib
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from tools.local_logs import set_part
from tour_booking.settings import function_environment

logger = logging.getLogger("tools.local_lambda")

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"

Handler = Callable[[Any, Any], Any]


class FunctionError(Exception):
    """The invocation failed (the handler raised, or ran past its timeout): what Lambda reports as an error."""

    def __init__(self, function_name: str, error_type: str, message: str) -> None:
        super().__init__(f"{function_name}: {error_type}: {message}")
        self.error_type = error_type
        self.error_message = message


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{threading.current_thread().name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


def load_handler(path: str) -> Handler:
    """`package.module:function` -> the function (imported on first use, like a cold start)."""
    module_name, _, attribute = path.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), attribute or "lambda_handler")
    return handler


_STOP = object()
# One process hosts every local function, each importing its handler on its first invocation. Lambda gives each
# function a process of its own; here two handlers importing at once in two threads can meet in a package with
# circular imports (Powertools' batch and data classes) and get a partially initialized module. Handler imports
# therefore take turns, process-wide.
_HANDLER_IMPORTS = threading.Lock()


class LocalFunction:
    """A function with `concurrency` warm containers; `invoke` blocks until the answer or the timeout."""

    def __init__(
        self,
        name: str,
        handler: str | Handler,
        *,
        part: str,
        timeout_seconds: float = 10,
        memory_mb: int = 512,
        concurrency: int = 1,
        on_container_exit: Callable[[], None] | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.environment = dict(environment or {})
        self.part = part
        self.timeout_seconds = timeout_seconds
        self.memory_mb = memory_mb
        self._handler_ref = handler
        self._handler: Handler | None = None if isinstance(handler, str) else handler
        self._load_lock = threading.Lock()
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._on_container_exit = on_container_exit
        self._containers = [
            threading.Thread(target=self._container, name=f"{name}-{index}", daemon=True)
            for index in range(concurrency)
        ]
        for container in self._containers:
            set_part(part, container)
            container.start()

    def _resolve(self) -> Handler:
        if self._handler is not None:
            return self._handler
        with self._load_lock, _HANDLER_IMPORTS:
            if self._handler is None:
                if not isinstance(self._handler_ref, str):
                    raise TypeError("handler reference must be 'module:function'")
                self._handler = load_handler(self._handler_ref)
            return self._handler

    def _container(self) -> None:
        try:
            while True:
                job = self._inbox.get()
                if job is _STOP:
                    return
                event, future = job
                if future.set_running_or_notify_cancel():
                    self._run(event, future)
        finally:
            if self._on_container_exit is not None:
                self._on_container_exit()

    def _run(self, event: Any, future: Future[Any]) -> None:
        context = LambdaContext(self.name, self.memory_mb, self.timeout_seconds)
        request_id = context.aws_request_id
        # One REPORT line per invocation (Lambda also writes START and END; the combined log needs less).
        try:
            # Lambda hands the handler a fresh deserialized event; so does this.
            with function_environment(self.environment):
                result = self._resolve()(json.loads(json.dumps(event)), context)
            json.dumps(result)  # Lambda fails an answer it cannot serialize
        except Exception as error:
            logger.exception("[ERROR] %s: %s", type(error).__name__, error)
            future.set_exception(FunctionError(self.name, type(error).__name__, str(error)))
        else:
            future.set_result(result)
        finally:
            elapsed_ms = (time.monotonic() - context.started) * 1000
            print(f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\tMemory Size: {self.memory_mb} MB")
            if elapsed_ms > self.timeout_seconds * 1000:
                print(f"{request_id} Task timed out after {self.timeout_seconds:.2f} seconds (here it ran to its end)")

    def invoke(self, event: Any) -> Any:
        """The handler's answer; FunctionError when it raised or did not answer within the timeout."""
        future: Future[Any] = Future()
        self._inbox.put((event, future))
        try:
            return future.result(timeout=self.timeout_seconds)
        except FutureTimeout:
            future.cancel()
            raise FunctionError(
                self.name, "Sandbox.Timedout", f"Task timed out after {self.timeout_seconds:.2f} seconds"
            ) from None

    def stop(self, wait_seconds: float = 5) -> None:
        """Lets each container finish its invocation, then ends it (it closes its database connection)."""
        for _ in self._containers:
            self._inbox.put(_STOP)
        deadline = time.monotonic() + wait_seconds
        for container in self._containers:
            container.join(max(0.0, deadline - time.monotonic()))
