"""Input text PostgreSQL can store: no NUL character, no lone surrogate, at any depth of a model's input."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator


def _storable(value: Any) -> Any:
    """PostgreSQL text holds neither NUL nor lone surrogates; refuse them here, as bad input, not at the INSERT."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError("text must be valid Unicode") from error
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    elif isinstance(value, list):
        for item in value:
            _storable(item)
    return value


class StorableText(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _no_unstorable_text(cls, data: Any) -> Any:
        return _storable(data)
