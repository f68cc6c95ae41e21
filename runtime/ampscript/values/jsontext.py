"""JSON as the runtime reads it (workspace files, BuildRowsetFromJSON, encrypted query strings)."""

from __future__ import annotations

import json
from typing import Any

from .text import clean_text


def parse_json(text: str | bytes, **options: Any) -> Any:
    """JSON as the runtime reads it: `json.loads`, with strings made clean (`clean_text`).

    JSON nested too deeply for Python's parser is a `json.JSONDecodeError`
    like any other invalid JSON, never a RecursionError.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    try:
        document = json.loads(text, **options)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text[:100], 0) from None
    if "\\u" in text:  # only an escape can make a lone surrogate from text that has none
        document = _cleaned(document)
    return document


def _cleaned(document: Any) -> Any:
    """`document` with every string in it (keys too) made clean; iterative, for any depth."""
    def clean(value: Any) -> Any:
        return clean_text(value) if isinstance(value, str) else value

    if not isinstance(document, (dict, list)):
        return clean(document)
    root: list[Any] = [document]
    pending: list[tuple[Any, Any]] = [(root, 0)]
    while pending:
        container, key = pending.pop()
        value = container[key]
        if isinstance(value, dict):
            value = {clean(k): v for k, v in value.items()}
            container[key] = value
            pending.extend((value, k) for k in value)
        elif isinstance(value, list):
            pending.extend((value, index) for index in range(len(value)))
        else:
            container[key] = clean(value)
    return root[0]

