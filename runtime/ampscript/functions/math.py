"""Math functions: Add, Subtract, Multiply, Divide, Mod, and Random.

Reference: https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math.html

Each argument may be a number or a string holding one (``"12.5"``); anything
else (null, the empty string, a word, a boolean, a date) is an error naming
the function and the argument, as for every function
(https://sfmc.guide/engagement/ampscript/functions/add/: ``Add("abc", 1)``,
``Add("true", 1)``, ``Add("", 1)`` and ``Add(Now(), 1)`` abort the page).

Marketing Cloud computes in IEEE doubles, which its own Mod() example shows
(``Mod(-500.123, 12.456)`` is ``-1.88300000000001``), and prints results the
way .NET prints a double; `ampscript.values.from_double` does both.

Results a double cannot hold come out as .NET's: dividing by zero gives
``∞``, ``-∞`` (a negative dividend) or ``NaN`` (zero by zero), and Mod by zero
gives ``NaN`` whatever the dividend
(https://sfmc.guide/engagement/differs-from-docs/#divide-zero-divisor-infinity,
https://sfmc.guide/engagement/differs-from-docs/#mod-zero-divisor-nan); a
result past the range of a double is ``∞`` or ``-∞`` too.  These are
AMPscript numbers (`ampscript.values.Double`) that go on through arithmetic
as doubles do: ``Add(Divide(1, 0), 1)`` is ``∞``, ``Subtract(Divide(1, 0),
Divide(1, 0))`` is ``NaN`` (choice: sfmc.guide does not try it; it is what
.NET's double arithmetic gives).
"""

from __future__ import annotations

import math as _math
import operator
import random as _random
from collections.abc import Callable
from decimal import Decimal

from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import seeded_random
from ..values import Number, from_double, params, to_int, to_text
from ..values.numbers import EXACT_INT

__all__ = ["Add", "Divide", "Mod", "Multiply", "Random", "Subtract"]

# One generator for the process; Random() draws are not reproducible, as in
# Marketing Cloud.  Tests replace it to control the draws.
_generator = _random.Random()


def _as_double(number: Number) -> float:
    try:
        return float(number)
    except OverflowError:  # a whole number just past the largest double
        return _math.inf if number > 0 else -_math.inf


def _double(operation: Callable[[float, float], float], left: Number, right: Number, exact: bool = False) -> Number:
    """`operation` on the two numbers as doubles, as Marketing Cloud computes.

    `exact`: the operation (+, -, *) gives the same result on small integers
    as on doubles, so two such integers take the fast path.
    """
    if exact and type(left) is int and type(right) is int and -EXACT_INT < left < EXACT_INT \
            and -EXACT_INT < right < EXACT_INT:
        result = operation(left, right)
        if -EXACT_INT < result < EXACT_INT:
            return result
    return from_double(operation(_as_double(left), _as_double(right)))


@ampscript_function("Math")
def Add(number1: params.Number, number2: params.Number) -> Number:
    """The sum of two numbers: ``Add(512, 256)`` is 768.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-add.html
    """
    return _double(operator.add, number1, number2, True)  # exact (positional: a keyword costs the call more)


@ampscript_function("Math")
def Subtract(minuend: params.Number, subtrahend: params.Number) -> Number:
    """The minuend less the subtrahend: ``Subtract(512, 256)`` is 256.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-subtract.html
    """
    return _double(operator.sub, minuend, subtrahend, True)  # exact


@ampscript_function("Math")
def Multiply(number1: params.Number, number2: params.Number) -> Number:
    """The product of two numbers: ``Multiply(512, 256)`` is 131072.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-multiply.html
    """
    return _double(operator.mul, number1, number2, True)  # exact


def _divide(a: float, b: float) -> float:
    """IEEE division: by zero, ``inf`` with the dividend's sign, or NaN for 0/0 (and NaN/0)."""
    if b == 0:
        if a == 0 or _math.isnan(a):
            return _math.nan
        return _math.copysign(_math.inf, a) * _math.copysign(1.0, b)
    return a / b


@ampscript_function("Math")
def Divide(dividend: params.Number, divisor: params.Number) -> Number:
    """The quotient: ``Divide(512, 256)`` is 2, ``Divide(1, 3)`` is 0.333333333333333.

    By zero: ``Divide(100, 0)`` is ``∞``, ``Divide(-100, 0)`` is ``-∞``,
    ``Divide(0, 0)`` is ``NaN``, and a zero held in a string (``"0"``) the same
    (https://sfmc.guide/engagement/differs-from-docs/#divide-zero-divisor-infinity).
    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-divide.html
    """
    return _double(_divide, dividend, divisor)


def _remainder(a: float, b: float) -> float:
    """.NET's ``%`` on doubles: the truncated remainder, with the dividend's sign; NaN by zero."""
    if b == 0 or _math.isinf(a) or _math.isnan(a) or _math.isnan(b):
        return _math.nan
    return _math.fmod(a, b)


@ampscript_function("Math")
def Mod(dividend: params.Number, divisor: params.Number) -> Number:
    """The remainder of the division, with the dividend's sign (.NET's ``%``).

    ``Mod(500, 12)`` is 8; ``Mod(-500.123, 12.456)`` is -1.88300000000001;
    ``Mod(-10, 3)`` is -1 and ``Mod(10, -3)`` is 1
    (https://sfmc.guide/engagement/differs-from-docs/#mod-sign-follows-dividend);
    by zero it is ``NaN`` for every dividend
    (https://sfmc.guide/engagement/differs-from-docs/#mod-zero-divisor-nan).
    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-mod.html
    """
    return _double(_remainder, dividend, divisor)


@ampscript_function("Math")
def Random(lower_bound: params.Number, upper_bound: params.Number) -> int:
    """A random whole number from lowerBound to upperBound, both included.

    The bounds may come in either order (reference).  They must be whole
    numbers written without a decimal point: ``Random(1.2, 1.8)``,
    ``Random(1, 2.5)``, ``Random("1.5", "3.5")`` and even ``Random(1.0, 3.0)``
    abort the page, while ``Random("1", "2")`` is fine, although the
    reference allows decimal bounds
    (https://sfmc.guide/engagement/differs-from-docs/#random-decimal-bounds-rejected).
    So the check is on how the bound is written: a number that reads as a
    whole number (an ``int`` from the value core) passes; one written with a
    decimal point or an exponent (a ``Decimal``) is refused.  The bounds are
    64-bit integers (choice: the reference gives no range).

    The reference lists Random() among the Utilities functions; it is here
    with the other arithmetic.
    https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmatic-content/random.htm
    """
    low = _whole_bound(lower_bound, "lowerBound")
    high = _whole_bound(upper_bound, "upperBound")
    low, high = min(low, high), max(low, high)
    return (seeded_random() or _generator).randint(low, high)  # Context(seed=...): repeatable draws


def _whole_bound(bound: Number, argument: str) -> int:
    if isinstance(bound, Decimal):
        raise ScriptError(
            f"Random() needs a whole number for argument {argument!r}, got {to_text(bound)!r} "
            "(a bound written with a decimal point is refused)"
        )
    return to_int(bound, "Random", argument)
