"""The names generated modules use besides AMPscript functions.

Kept in one module so a generated file's imports read as a short list:
``from ampscript.runtime import Page, eq, truthy``.
"""

from typing import Any

from .operators import eq, ge, gt, le, lt, ne, truthy
from .rendering import Page, current_context
from .values import to_int


def for_to(start: Any, stop: Any) -> range:
    """`for @i = start to stop`: the values @i takes, counting up."""
    return range(to_int(start, "for", "start"), to_int(stop, "for", "end") + 1)


def for_downto(start: Any, stop: Any) -> range:
    """`for @i = start downto stop`: the values @i takes, counting down."""
    return range(to_int(start, "for", "start"), to_int(stop, "for", "end") - 1, -1)


def attribute(name: str) -> Any:
    """A subscriber attribute or personalization string (`emailaddr`, `[First Name]`)."""
    return current_context().attribute(name)


__all__ = ["Page", "attribute", "eq", "for_downto", "for_to", "ge", "gt", "le", "lt", "ne", "truthy"]
