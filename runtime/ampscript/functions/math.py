"""Math functions: Add, Subtract, Multiply, Divide, Mod, and Random.

Reference: https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math.html

Each argument may be a number or a string holding one (``"12.5"``); anything
else (null, the empty string, a word, a boolean) is an error naming the
function and the argument, as for every function.

Marketing Cloud computes in IEEE doubles, which its own Mod() example shows
(``Mod(-500.123, 12.456)`` is ``-1.88300000000001``), and prints results the
way .NET prints a double; `ampscript.values.from_double` does both.  The
reference is silent on dividing by zero and on results too large for a
double: both are errors here, rather than .NET's ``Infinity``/``NaN``.
"""

from __future__ import annotations

import math as _math
import random as _random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..errors import ScriptError
from ..registry import ampscript_function
from ..values import Number, from_double, to_double, to_number, to_text

__all__ = ["Add", "Divide", "Mod", "Multiply", "Random", "Subtract"]

# One generator for the process; Random() draws are not reproducible, as in
# Marketing Cloud.  Tests replace it to control the draws.
_generator = _random.Random()


def _result(function: str, value: float) -> Number:
    return from_double(value)


def _binary(
    function: str, names: tuple[str, str], left: Any, right: Any, operation: Callable[[float, float], float]
) -> Number:
    a = to_double(left, function, names[0])
    b = to_double(right, function, names[1])
    return _result(function, operation(a, b))


@ampscript_function("Math")
def Add(number1: Any, number2: Any) -> Number:
    """The sum of two numbers: ``Add(512, 256)`` is 768.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-add.html
    """
    return _binary("Add", ("number1", "number2"), number1, number2, lambda a, b: a + b)


@ampscript_function("Math")
def Subtract(minuend: Any, subtrahend: Any) -> Number:
    """The minuend less the subtrahend: ``Subtract(512, 256)`` is 256.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-subtract.html
    """
    return _binary("Subtract", ("minuend", "subtrahend"), minuend, subtrahend, lambda a, b: a - b)


@ampscript_function("Math")
def Multiply(number1: Any, number2: Any) -> Number:
    """The product of two numbers: ``Multiply(512, 256)`` is 131072.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-multiply.html
    """
    return _binary("Multiply", ("number1", "number2"), number1, number2, lambda a, b: a * b)


def _nonzero_divisor(function: str, divisor: Any) -> float:
    value = to_double(divisor, function, "divisor")
    if value == 0:
        raise ScriptError(f"{function}() cannot divide by zero (argument 'divisor' is {to_text(divisor)!r})")
    return value


@ampscript_function("Math")
def Divide(dividend: Any, divisor: Any) -> Number:
    """The quotient: ``Divide(512, 256)`` is 2, ``Divide(1, 3)`` is 0.333333333333333.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-divide.html
    """
    numerator = to_double(dividend, "Divide", "dividend")
    return _result("Divide", numerator / _nonzero_divisor("Divide", divisor))


@ampscript_function("Math")
def Mod(dividend: Any, divisor: Any) -> Number:
    """The remainder of the division, with the dividend's sign (.NET's ``%``).

    ``Mod(500, 12)`` is 8; ``Mod(-500.123, 12.456)`` is -1.88300000000001.
    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-mod.html
    """
    numerator = to_double(dividend, "Mod", "dividend")
    return _result("Mod", _math.fmod(numerator, _nonzero_divisor("Mod", divisor)))


@ampscript_function("Math")
def Random(lower_bound: Any, upper_bound: Any) -> Number:
    """A random number from lowerBound to upperBound, both included.

    The bounds may come in either order.  Whole bounds give a whole number;
    the reference also allows decimal bounds without saying what comes back,
    so there the draw is a decimal number in the range (printed as
    Marketing Cloud prints a double).

    The reference lists Random() among the Utilities functions; it is here
    with the other arithmetic.
    https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmatic-content/random.htm
    """
    low = to_number(lower_bound, "Random", "lowerBound")
    high = to_number(upper_bound, "Random", "upperBound")
    low, high = min(low, high), max(low, high)
    if _is_whole(low) and _is_whole(high):
        return _generator.randint(int(low), int(high))
    return _random_between(low, high)


def _is_whole(number: Number) -> bool:
    return isinstance(number, int) or number == number.to_integral_value()


def _random_between(low: Number, high: Number) -> Number:
    lower = to_double(low, "Random", "lowerBound")
    upper = to_double(high, "Random", "upperBound")
    drawn = _result("Random", lower + _generator.random() * (upper - lower))
    # Rounding to 15 digits could step just past a bound; stay inside.
    return min(max(drawn, Decimal(low)), Decimal(high))
