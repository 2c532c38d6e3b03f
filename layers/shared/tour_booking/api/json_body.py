"""Request bodies parsed as JSON within bounds: nesting depth and the length of number literals.

Python's json module nests by recursion (5,000 brackets raise RecursionError) and turns any digit string into an
int (past 4,300 digits a ValueError, and a long one costs quadratic time); it also accepts `NaN` and `Infinity`,
which JSON does not have. Each of them would escape the resolver's validation as a 500. Here each is refused as a
422 `validation_error` before any model sees the body. No contract body nests deeper than a few levels or holds a
number longer than a few digits.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

MAX_DEPTH = 16
MAX_NUMBER_CHARS = 32

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class _Refused(ValueError):
    def __init__(self, kind: str, msg: str) -> None:
        super().__init__(msg)
        self.kind = kind
        self.msg = msg


def _check_depth(text: str) -> None:
    depth = 0
    # Brackets inside strings are text: blank the strings out first (an unterminated one is json.loads' to refuse).
    for bracket in _BRACKETS.finditer(_STRINGS.sub('""', text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise _Refused("json_too_deep", f"the body nests deeper than {MAX_DEPTH} levels")
        else:
            depth -= 1


def _number_text(text: str) -> None:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused("number_too_long", f"a number in the body is longer than {MAX_NUMBER_CHARS} characters")


def _parse_int(text: str) -> int:
    _number_text(text)
    return int(text)


def _parse_float(text: str) -> float:
    _number_text(text)
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("number_too_large", "a number in the body is too large")
    return value


def _parse_constant(text: str) -> float:
    raise _Refused("json_invalid", f"{text} is not JSON")


def parse_json_body(text: str) -> Any:
    """The body's JSON value. Raises json.JSONDecodeError for text that is not JSON (Powertools answers that as
    `json_invalid`), RequestValidationError for JSON beyond the bounds above."""
    try:
        _check_depth(text)
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except _Refused as refused:
        raise RequestValidationError([{"type": refused.kind, "loc": ("body",), "msg": refused.msg}]) from None
