"""The names generated modules use besides AMPscript functions.

Kept in one module so a generated file's imports read as a short list:
``from ampscript.runtime import Page, eq, truthy``.
"""

import operator
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .errors import ScriptError
from .limits import Budget
from .operators import eq, ge, gt, le, lt, ne, truthy
from .rendering import Page, current_budget, current_context
from .values import to_int, to_text
from .values.numbers import EXACT_INT
from .values.model import UNSET

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


def _int_arithmetic(operation: Callable[[int, int], int], function: str) -> Callable[[int, int], Any]:
    """Add, Subtract or Multiply of two operands the compiler knows are ints (a loop counter, an integer literal).

    The same results as the function: the integer operation where it is
    exact as a double (`ampscript.values.numbers.EXACT_INT`, as in
    `ampscript.functions.math`), else the function itself.
    """
    def compute(left: int, right: int) -> Any:
        result = operation(left, right)
        if -EXACT_INT < left < EXACT_INT and -EXACT_INT < right < EXACT_INT and -EXACT_INT < result < EXACT_INT:
            return result
        from .functions import math  # loaded only by a script whose integers get that large

        return getattr(math, function)(left, right)

    compute.__name__ = compute.__qualname__ = f"{function.lower()}_ints"
    return compute


add_ints = _int_arithmetic(operator.add, "Add")
subtract_ints = _int_arithmetic(operator.sub, "Subtract")
multiply_ints = _int_arithmetic(operator.mul, "Multiply")


def attribute(name: str) -> Any:
    """A subscriber attribute or personalization string (`emailaddr`, `[First Name]`).

    One the subscriber lacks is an error in an email and the empty string on a
    page request (`ampscript.context.Context.attribute`).
    """
    return current_context().attribute(name)


def personalization(name: str, written: str) -> Any:
    """`%%Name%%` in text: the attribute's value, or `written` (the `%%Name%%` itself) if there is none.

    Marketing Cloud leaves a personalization string for an attribute that
    does not exist in the output unchanged (issue 10: `Hello %%Last Name%%`
    prints as written).  Subscriber attributes and the system strings
    (`emailaddr`, `jobid`...) are looked up as `attribute` does.
    """
    value = current_context().personalization(name)
    return written if value is None else value


def send_time_content(url: str, before: bool) -> str:
    """Content syndication: `%%httpget "URL"%%` or `%%before; httpget "URL"%%` (see `ampscript.functions.http`)."""
    from .functions.http import (
        syndicated_content,  # the HTTP machinery is loaded only by scripts that fetch
    )

    return syndicated_content(url, before)


def wrong_arity(message: str, line: int, column: int) -> Any:
    """A call with the wrong number of arguments, reached: the error Marketing Cloud raises when it runs it."""
    filename = sys._getframe(1).f_globals.get("AMPSCRIPT_FILE")
    raise ScriptError(message, filename=filename, line=line, column=column)


__all__ = [
    "UNSET", "Page", "add_ints", "attribute", "eq", "for_downto", "for_to", "ge", "gt", "le", "lt",
    "multiply_ints", "ne", "personalization", "send_time_content", "subtract_ints", "to_text", "truthy",
    "wrong_arity",
]
