"""Utility functions."""

from __future__ import annotations

from typing import Any

from ..registry import ampscript_function
from ..rendering import current_page
from ..values import is_empty

__all__ = ["Empty", "Output", "OutputLine", "V"]


@ampscript_function("Utility")
def Output(value: Any) -> None:
    """Write a function's result into the rendered content.

    The compiler only lets a function call through as the argument, as the
    reference requires (a literal or variable is a compile error).
    """
    current_page().write(value)


@ampscript_function("Utility")
def OutputLine(value: Any) -> None:
    """Like Output(), followed by a CRLF (not an HTML line break)."""
    page = current_page()
    page.write(value)
    page.write("\r\n")


@ampscript_function("Utility")
def V(value: Any) -> Any:
    """The value of a variable or expression, for output with %%= v(@x) =%%."""
    return value


@ampscript_function("Utility")
def Empty(value: Any) -> bool:
    """True if the value is null or the empty string."""
    return is_empty(value)
