"""Lambda SnapStart: what a restored snapshot must not reuse, and what the snapshot should already hold.

With SnapStart (template.yaml's `SnapStart` parameter) Lambda runs a function's init once per published version,
snapshots the memory, and starts each container from that snapshot. Whatever init cached is then shared by
every container restored from it, possibly hours later. The after-restore hook drops it all:
- the database connection of each thread (a socket the snapshot froze; the server closed it long ago);
- credentials and the clients holding them: the RDS secret cached by Powertools' parameters (and its boto3
  client), the SQS clients, the ResMan client (its secret, HTTP connections and per-account limits);
- random state: Python's `random` is reseeded from os.urandom, and so is the ResMan client's jitter, rebuilt
  with the client (uuid4 and `secrets` read os.urandom at each call and need nothing);
- the X-Ray SDK's tracer, when one was loaded.
The settings stay: they are the function's environment, the same after a restore.

Before the snapshot, the modules a first request needs are imported (`preload`), so that a restored container
answers its first request without importing them; the snapshot costs nothing at restore for them.

The hooks are registered through `snapshot_restore_py`, which the Lambda Python runtime (3.12+) ships; where
it is missing (local runs, the tests without it) `register()` does nothing.
"""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Sequence

PRELOADED = (
    "tour_booking.availability.availability_service",
    "tour_booking.booking.booking_service",
    "tour_booking.db",
)

_registered: set[tuple[str, ...]] = set()


def preload(modules: Sequence[str] = PRELOADED) -> None:
    for name in modules:
        importlib.import_module(name)


def before_snapshot(modules: Sequence[str] = PRELOADED) -> None:
    """Imports what a first request needs, then drops any connection init opened (none should be)."""
    preload(modules)
    forget_container_state()


def after_restore() -> None:
    forget_container_state()
    random.seed()


def forget_container_state() -> None:
    """Connections, credentials, clients and cached secrets: built again by the next call that needs them."""

    from tour_booking import db, observability  # noqa: PLC0415

    db.close()
    observability.forget()
    # Only what was imported can hold anything: nothing is imported here that init did not.
    for module_name, attribute in (
        ("tour_booking.sync.sync_queue", "_sqs"),
        ("tour_booking.refresh.refresh_queue", "_sqs"),
        ("tour_booking.resman.client", "get_resman_client"),
    ):
        module = sys.modules.get(module_name)
        if module is not None:
            getattr(module, attribute).cache_clear()
    parameters = sys.modules.get("aws_lambda_powertools.utilities.parameters")
    if parameters is not None:
        parameters.clear_caches()
        sys.modules["aws_lambda_powertools.utilities.parameters.constants"].DEFAULT_PROVIDERS.clear()


def register(modules: Sequence[str] = PRELOADED) -> bool:
    """Registers the hooks with the runtime (once per set of modules); False where the runtime has no hooks."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot  # noqa: PLC0415
    except ImportError:
        return False
    key = tuple(modules)
    if key not in _registered:
        register_before_snapshot(before_snapshot, modules)
        register_after_restore(after_restore)
        _registered.add(key)
    return True
