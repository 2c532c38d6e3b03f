"""Powertools' REST resolver, with the state of the request being resolved kept per thread.

Powertools keeps the current event on the router class and the route's context (its path arguments) on the
resolver: right in Lambda, which hands a process one event at a time, wrong wherever one process serves
several threads at once. The local stack's warm containers and the tests' races are such threads; there,
one request would be validated and routed with another's event or path arguments (500s, or worse, answers
about the other request). Here each thread sees only its own.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext


class ThreadLocalRestResolver(APIGatewayRestResolver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._request_state = threading.local()
        super().__init__(*args, **kwargs)

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        # The base class stores the event on the shared class attribute; reads go through the properties below.
        self._request_state.current_event = self._to_proxy_event(cast(dict[str, Any], event))
        self._request_state.lambda_context = context
        return super().resolve(event, context)

    @property  # type: ignore[override]
    def current_event(self) -> APIGatewayProxyEvent:
        return cast(APIGatewayProxyEvent, self._request_state.current_event)

    @current_event.setter
    def current_event(self, value: APIGatewayProxyEvent) -> None:
        self._request_state.current_event = value

    @property
    def lambda_context(self) -> LambdaContext:
        return cast(LambdaContext, self._request_state.lambda_context)

    @lambda_context.setter
    def lambda_context(self, value: LambdaContext) -> None:
        self._request_state.lambda_context = value

    @property
    def context(self) -> dict[str, Any]:
        state = self._request_state
        if not hasattr(state, "context"):
            state.context = {}
        return cast(dict[str, Any], state.context)

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._request_state.context = value

    @property
    def processed_stack_frames(self) -> list[str]:
        state = self._request_state
        if not hasattr(state, "frames"):
            state.frames = []
        return cast(list[str], state.frames)

    @processed_stack_frames.setter
    def processed_stack_frames(self, value: list[str]) -> None:
        self._request_state.frames = value
