"""The names generated modules use besides AMPscript functions.

Kept in one module so a generated file's imports read as a short list:
``from ampscript.runtime import Page, eq, truthy``.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from .limits import Budget
from .operators import eq, ge, gt, le, lt, ne, truthy
from .rendering import Page, current_budget, current_context
from .values import to_int

# A loop this long or longer checks the render's time limit as it runs (every
# this many iterations); a shorter one checks it once, before it starts.
_TIME_CHECK_EVERY = 1024


def for_to(start: Any, stop: Any) -> Iterable[int]:
    """`for @i = start to stop`: the values @i takes, counting up."""
    first, last = to_int(start, "for", "start"), to_int(stop, "for", "end")
    return _budgeted(range(first, last + 1), max(last - first + 1, 0))


def for_downto(start: Any, stop: Any) -> Iterable[int]:
    """`for @i = start downto stop`: the values @i takes, counting down."""
    first, last = to_int(start, "for", "start"), to_int(stop, "for", "end")
    return _budgeted(range(first, last - 1, -1), max(first - last + 1, 0))


def _budgeted(values: range, count: int) -> Iterable[int]:
    """The loop's values, charged to the render's loop and time limits.

    AMPscript cannot leave a loop early, so the whole count is charged up front.
    """
    budget = current_budget()
    budget.charge_loop(count)
    budget.check_time()
    if count < _TIME_CHECK_EVERY:
        return values
    return _timed(values, budget)


def _timed(values: range, budget: Budget) -> Iterator[int]:
    for index, value in enumerate(values):
        if not index % _TIME_CHECK_EVERY:
            budget.check_time()
        yield value


def attribute(name: str) -> Any:
    """A subscriber attribute or personalization string (`emailaddr`, `[First Name]`).

    One the subscriber lacks is an error in an email and the empty string on a
    page request (`ampscript.context.Context.attribute`).
    """
    return current_context().attribute(name)


__all__ = ["Page", "attribute", "eq", "for_downto", "for_to", "ge", "gt", "le", "lt", "ne", "truthy"]
