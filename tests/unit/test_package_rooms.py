"""The package's rooms keep to the README's architecture table: each folder imports only the rooms below it, and
only db/ speaks to PostgreSQL. Read from the source's import statements (lazy imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "shared" / "tour_booking"

SERVICES = {"db", "domain", "settings", "run_reports"}
ALLOWED = {
    "domain": set(),
    "db": {"domain", "settings"},
    "booking": SERVICES | {"sync"},  # a booking queues its sync after commit (sync/sync_queue)
    "availability": SERVICES,
    "sync": SERVICES,
    "refresh": SERVICES,
    "events": SERVICES,
    "resman": {"domain", "settings", "sync", "refresh"},  # the adapters implement those rooms' ports
}
HTTP_FREE = {"domain", "db", "booking", "availability", "sync", "refresh", "events", "resman"}


def _imports(source: str) -> set[str]:
    """The dotted modules a source imports (`from a import b` as both `a` and `a.b`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _room(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _is_room(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


def _rooms_imported(source: str, own: str) -> set[str]:
    rooms = {
        parts[1]
        for parts in (module.split(".") for module in _imports(source))
        if parts[0] == "tour_booking" and len(parts) > 1 and _is_room(parts[1])
    }
    return rooms - {own}


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if _room(path) in ALLOWED)


def test_every_room_imports_only_the_rooms_its_row_allows() -> None:
    breaches = {
        str(path.relative_to(PACKAGE)): sorted(_rooms_imported(path.read_text(), _room(path)) - ALLOWED[_room(path)])
        for path in _modules()
    }
    assert {module: rooms for module, rooms in breaches.items() if rooms} == {}


def test_only_db_imports_psycopg_and_only_api_imports_the_http_layer() -> None:
    psycopg_outside_db = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if _room(path) != "db" and any(module.split(".")[0] == "psycopg" for module in _imports(path.read_text()))
    ]
    http_outside_api = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if _room(path) in HTTP_FREE
        and any(module.startswith("aws_lambda_powertools.event_handler") for module in _imports(path.read_text()))
    ]
    assert (psycopg_outside_db, http_outside_api) == ([], [])


def test_the_check_sees_a_breach_in_a_lazy_import() -> None:
    # given a domain module that imports a repository inside a function, as slot_layouts once did at its top
    source = "def layout():\n    from tour_booking.db import availability_cache_repository\n"
    # then the import is read as the room db, which domain's row does not allow
    assert _rooms_imported(source, "domain") - ALLOWED["domain"] == {"db"}
