"""String functions."""

from __future__ import annotations

from typing import Any

from ..registry import ampscript_function
from ..values import to_text

__all__ = ["Concat"]


@ampscript_function("String")
def Concat(string1: Any, *more: Any) -> str:
    """Join the values' printed forms: Concat("a", 1, true) is "a1True".

    The reference asks for two or more arguments, but Marketing Cloud accepts
    one, and the InvokeExecute reference example relies on it
    (``output(concat("GroupCustomerKey is empty."))``), so one is allowed.
    """
    return "".join(to_text(value) for value in (string1, *more))
