"""make security's audit: a missing release page is stood in for by the project page of that very release only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.audit_lock import _ReleaseOrProjectPage


@dataclass
class _Answer:
    status_code: int
    body: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return self.body


class _Mirror:
    """Serves project pages only, like a mirror without release pages."""

    def __init__(self, latest: str) -> None:
        self.latest = latest
        self.asked: list[str] = []

    def get(self, url: str, **kwargs: Any) -> _Answer:
        self.asked.append(url)
        if url == "https://pypi.org/pypi/tzdata/json":
            return _Answer(200, {"info": {"version": self.latest}, "vulnerabilities": [{"id": "PYSEC-0"}]})
        return _Answer(404)


def test_the_project_page_answers_for_its_latest_release() -> None:
    # given a mirror whose latest tzdata is the pinned one
    session = _ReleaseOrProjectPage(_Mirror(latest="2026.6"))

    # when pip-audit asks for the pinned release
    answer = session.get(url="https://pypi.org/pypi/tzdata/2026.6/json", timeout=5)

    # then the project page answers, with its vulnerabilities
    assert answer.status_code == 200
    assert answer.json()["vulnerabilities"] == [{"id": "PYSEC-0"}]


def test_an_older_pin_stays_unaudited() -> None:
    # given a mirror whose latest tzdata is newer than the pin
    session = _ReleaseOrProjectPage(_Mirror(latest="2027.1"))

    # when pip-audit asks for the pinned release
    answer = session.get(url="https://pypi.org/pypi/tzdata/2026.6/json", timeout=5)

    # then the 404 stands: pip-audit reports the pin as skipped rather than audit it with another release's data
    assert answer.status_code == 404
