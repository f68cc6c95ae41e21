"""Argument shapes several function families share: trailing name/value pairs, and the count that announces them.

Beside the categories (it registers no function): the Data Extension, Sales and
Service Cloud, Dynamics CRM, MobileConnect and Social functions call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import ScriptError
from .values import to_text


def name_value_pairs(
    values: Sequence[Any], function: str, first_position: int, *, noun: str = "field", empty_names: bool = True
) -> list[tuple[str, Any]]:
    """`name, value, name, value, ...` as pairs; `first_position` is the first name's argument number.

    A name without a value after it is an error naming its argument; with
    ``empty_names=False`` so is an empty name.
    """
    if len(values) % 2:
        raise ScriptError(
            f"{function}() needs a value for every {noun} name: argument {first_position + len(values) - 1} "
            "has no value after it"
        )
    pairs = []
    for index in range(0, len(values), 2):
        name = to_text(values[index])
        if not empty_names and not name.strip():
            raise ScriptError(f"{function}(): argument {first_position + index} must name a {noun}, but it is empty")
        pairs.append((name if empty_names else name.strip(), values[index + 1]))
    return pairs


def check_count(count: int, pairs: Sequence[Any], function: str, *, noun: str = "name/value") -> None:
    """A `numFields`-style count must be the number of pairs that follow it."""
    if count != len(pairs):
        raise ScriptError(
            f"{function}(): numFields is {count}, but {len(pairs)} {noun} pair"
            f"{'s follow' if len(pairs) != 1 else ' follows'}; they must match"
        )
