"""Security promises read from template.yaml itself: only /health is reachable without an API key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfnlint.decode import decode  # type: ignore[import-untyped]

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


def _template() -> dict[str, Any]:
    template, errors = decode(str(TEMPLATE))
    assert not errors, errors
    assert template is not None
    return dict(template)


def test_every_api_route_but_health_requires_an_api_key() -> None:
    # given the SAM template
    resources = _template()["Resources"]
    # when every Api event of every function is collected
    routes: list[tuple[str, str, Any]] = []
    for resource in resources.values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "Api":
                props = event["Properties"]
                routes.append((props["Path"], props["Method"], (props.get("Auth") or {}).get("ApiKeyRequired")))
    # then the API requires keys by default and only /health opts out
    api = resources["BookingApi"]["Properties"]
    assert api["Auth"]["ApiKeyRequired"] is True
    assert len(routes) > 1
    open_routes = [(path, method) for path, method, required in routes if required is False]
    assert open_routes == [("/health", "GET")]


_SECRET_PATTERNS = (
    r"AKIA[0-9A-Z]{16}",  # AWS access key id
    r"(?i)(secret|password|api_?key|token)[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+_\-]{16,}",
    # a connection string with an inline password, except the local stack's well-known default
    r"postgres(ql)?://(?!postgres:postgres@(localhost|127\.0\.0\.1|host\.docker\.internal)[:/])[^:\s]+:[^@\s]+@",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
)


def test_no_key_like_values_in_deployment_files() -> None:
    import re

    # given the files that ship configuration
    root = TEMPLATE.parent
    files = [root / "template.yaml", root / "samconfig.toml", root / "events" / "env.json"]
    # when they are scanned for key-like literals
    hits = [
        (path.name, match.group(0)[:40])
        for path in files
        for pattern in _SECRET_PATTERNS
        for match in re.finditer(pattern, path.read_text())
    ]
    # then none is found (secrets come from Secrets Manager at run time)
    assert hits == []
