"""`make security`'s audit of the layer's lock: pip-audit with PyPI's vulnerability data, readable where only
PyPI's project pages answer.

pip-audit asks PyPI for each pin's release page (`/pypi/NAME/VERSION/json`). Some PyPI mirrors serve only the
project page (`/pypi/NAME/json`); its `vulnerabilities` are those of the project's latest release. So when a
release page is missing, the project page stands in for it if, and only if, its latest release is the pinned
version; otherwise the pin stays unaudited and pip-audit reports it as skipped (`--strict` fails on that).
The arguments are pip-audit's; the vulnerability service is always PyPI's.
"""

from __future__ import annotations

import sys
from typing import Any

from pip_audit import _cli
from pip_audit._service import PyPIService

RELEASE_PAGE_PREFIX = "https://pypi.org/pypi/"
NOT_FOUND = 404


class _ReleaseOrProjectPage:
    """The release page; on a 404, the project page when its latest release is the one asked for."""

    def __init__(self, session: Any) -> None:
        self._session = session

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self._session.get(url=url, **kwargs)
        if response.status_code != NOT_FOUND or not url.startswith(RELEASE_PAGE_PREFIX):
            return response
        parts = url.removeprefix(RELEASE_PAGE_PREFIX).split("/")  # NAME/VERSION/json
        if len(parts) != 3:
            return response
        name, version, _ = parts
        project = self._session.get(url=f"{RELEASE_PAGE_PREFIX}{name}/json", **kwargs)
        if project.status_code != 200 or project.json().get("info", {}).get("version") != version:
            return response
        return project

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class ProjectPageFallbackService(PyPIService):  # type: ignore[misc]  # pip-audit is untyped
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # pip-audit's session, wrapped (set through __dict__: pip-audit's attribute carries no usable type)
        self.__dict__["session"] = _ReleaseOrProjectPage(self.__dict__["session"])


def main(argv: list[str]) -> None:
    _cli.PyPIService = ProjectPageFallbackService
    sys.argv = ["pip-audit", "--vulnerability-service", "pypi", *argv]
    _cli.audit()


if __name__ == "__main__":
    main(sys.argv[1:])
