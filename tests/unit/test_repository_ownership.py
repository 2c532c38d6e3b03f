"""Each table has one writer in Python, and every "the only Python that ..." docstring says true (checked by a
grep of the package's SQL text, so a new statement in the wrong module fails here)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "shared" / "tour_booking"
TABLES = {
    name
    for path in (ROOT / "sql").glob("*.sql")
    for name in re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", path.read_text())
} | {"property", "conversation"}
WRITE = re.compile(r"\b(?:INSERT INTO|UPDATE|DELETE FROM|TRUNCATE)\s+(\w+)")
READ = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)")
CLAIM = re.compile(r"the only Python that (reads or writes|writes) ((?:`\w+`(?:,? and |, )?)+)")


def _modules() -> dict[str, str]:
    return {str(path.relative_to(PACKAGE)): path.read_text() for path in sorted(PACKAGE.rglob("*.py"))}


def _touching(pattern: re.Pattern[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for module, text in _modules().items():
        for table in pattern.findall(text):
            if table in TABLES:
                found[table].add(module)
    return found


def test_every_table_written_from_python_has_one_writer_module() -> None:
    writers = _touching(WRITE)

    assert writers, "no SQL writes found: the pattern no longer matches the code"
    assert {table: modules for table, modules in writers.items() if len(modules) > 1} == {}
    assert all(module.startswith("db/") for modules in writers.values() for module in modules)


def test_every_only_python_claim_is_true() -> None:
    writers, readers = _touching(WRITE), _touching(READ)
    claims = 0
    for module, text in _modules().items():
        docstring = " ".join((ast.get_docstring(ast.parse(text)) or "").split())
        for kind, listed in CLAIM.findall(docstring):
            for table in re.findall(r"`(\w+)`", listed):
                claims += 1
                assert table in TABLES, f"{module} claims an unknown table {table}"
                touching = writers[table] | (readers[table] if kind == "reads or writes" else set())
                assert touching == {module}, f"{module}: the only Python that {kind} {table}? also {touching}"
    assert claims >= 10
