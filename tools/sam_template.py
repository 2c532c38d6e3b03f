"""What the local stack reads from template.yaml, so that it runs the functions as the template wires them:
the API's routes and their API-key requirement, the queue's settings, the schedules, function limits and each
function's environment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads the intrinsic functions (!Ref, !Sub, !GetAtt...) as plain values: only literal settings matter here."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for {suffix}", node.start_mark)
    return {suffix: loader.construct_mapping(node, deep=True)}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. /tours/{tour_id}
    api_key_required: bool

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves the request, else None."""
        if method.upper() != self.method:
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class Schedule:
    rate_seconds: int | None  # None when the rate comes from a parameter
    input: Any


@lru_cache(maxsize=4)
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506  # nosec B506 - a SafeLoader
    return document


def resource(logical_id: str, template: Path = TEMPLATE) -> dict[str, Any]:
    properties: dict[str, Any] = load(template)["Resources"][logical_id].get("Properties", {})
    return properties


def api_routes(function_id: str = "BookingApiFunction", template: Path = TEMPLATE) -> list[Route]:
    document = load(template)
    api_default = True
    routes: list[Route] = []
    for event in resource(function_id, template).get("Events", {}).values():
        if event.get("Type") != "Api":
            continue
        props = event["Properties"]
        api_id = props.get("RestApiId", {}).get("Ref") if isinstance(props.get("RestApiId"), dict) else None
        if api_id:
            api_default = document["Resources"][api_id]["Properties"].get("Auth", {}).get("ApiKeyRequired", False)
        required = props.get("Auth", {}).get("ApiKeyRequired", api_default)
        routes.append(Route(str(props["Method"]).upper(), str(props["Path"]), bool(required)))
    return routes


def gateway_responses(template: Path = TEMPLATE) -> dict[str, str]:
    """ResponseType -> the application/json template of the API's customized gateway responses."""
    answers: dict[str, str] = {}
    for entry in load(template)["Resources"].values():
        if entry.get("Type") == "AWS::ApiGateway::GatewayResponse":
            properties = entry["Properties"]
            answers[str(properties["ResponseType"])] = str(properties["ResponseTemplates"]["application/json"])
    return answers


def function_setting(function_id: str, name: str, template: Path = TEMPLATE) -> Any:
    """A function's own setting, else the Globals one (Timeout, MemorySize...)."""
    own = resource(function_id, template)
    if name in own:
        return own[name]
    return load(template).get("Globals", {}).get("Function", {}).get(name)


def function_environment(function_id: str, template: Path = TEMPLATE) -> dict[str, str | None]:
    """A function's Environment Variables (the Globals' and its own, its own winning), as a deploy resolves
    them where the template alone says their value: a plain value, or the Default of the Parameter it names.
    None for the rest (another resource, a Parameter without a Default, !Sub): only a deploy knows them."""
    document = load(template)
    parameters: dict[str, Any] = document.get("Parameters", {})
    declared: dict[str, Any] = dict(
        document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    declared.update(resource(function_id, template).get("Environment", {}).get("Variables", {}))
    return {name: _resolved(value, parameters) for name, value in declared.items()}


def _resolved(value: Any, parameters: dict[str, Any]) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        parameter = parameters.get(str(value["Ref"]))
        if isinstance(parameter, dict) and "Default" in parameter:
            return _resolved(parameter["Default"], parameters)
    return None


_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedules(function_id: str, template: Path = TEMPLATE) -> dict[str, Schedule]:
    found: dict[str, Schedule] = {}
    for name, event in resource(function_id, template).get("Events", {}).items():
        if event.get("Type") not in {"Schedule", "ScheduleV2"}:
            continue
        props = event["Properties"]
        expression = props.get("ScheduleExpression")
        rate = _RATE.fullmatch(expression) if isinstance(expression, str) else None
        seconds = int(rate.group(1)) * _UNIT_SECONDS[rate.group(2).rstrip("s")] if rate else None
        raw_input = props.get("Input")
        found[name] = Schedule(seconds, yaml.safe_load(raw_input) if isinstance(raw_input, str) else None)
    return found


def queue_settings(queue_id: str = "SyncQueue", template: Path = TEMPLATE) -> dict[str, Any]:
    """VisibilityTimeout, MessageRetentionPeriod and the RedrivePolicy's maxReceiveCount."""
    props = resource(queue_id, template)
    return {
        "VisibilityTimeout": int(props.get("VisibilityTimeout", 30)),
        "MessageRetentionPeriod": int(props.get("MessageRetentionPeriod", 345600)),
        "maxReceiveCount": int(props.get("RedrivePolicy", {}).get("maxReceiveCount", 0)),
    }


def sqs_event_source(function_id: str = "ResmanSyncFunction", template: Path = TEMPLATE) -> dict[str, Any]:
    for event in resource(function_id, template).get("Events", {}).values():
        if event.get("Type") == "SQS":
            props: dict[str, Any] = event["Properties"]
            return props
    raise LookupError(f"{function_id} has no SQS event source")


def resolved(value: Any, template: Path = TEMPLATE) -> str | None:
    """A value as a deploy resolves it from the template alone (a plain value, or its Parameter's Default)."""
    return _resolved(value, load(template).get("Parameters", {}))
