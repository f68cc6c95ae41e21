"""The rendering hot paths' shortcuts give what the general rules give (issue 11).

Each shortcut is checked against the rule it stands in for, on many values:

* number formats: the fixed-point fast path (`_fast_fixed`: N, F, P, C in
  a culture grouping by threes) against the general `_standard` and
  `_currency`;
* comparisons: int and float pairs compared as Python compares them,
  against `_by_rules`;
* attribute look-up: the subscriber's own attribute first, then a system
  string's aliases and default, in that order;
* renders without a backend render scope make no exit stack, and one that
  creates its backend part-way still closes the backend's scope.
"""

from __future__ import annotations

import contextlib
import random
from decimal import Decimal

import pytest
from ampscript import Context
from ampscript.formatting import numbers
from ampscript.rendering import Page
from ampscript.values import Double, compare, params
from hypothesis import assume, given, settings
from hypothesis import strategies as st

# ---- number formats -------------------------------------------------------------------------

# Separators as Python's, others, others again, U+00A0 and U+2212, U+2019, grouped 12,34,567, the generic culture.
CULTURES = ["", "en-US", "de-DE", "fr-FR", "sv-SE", "de-CH", "hi-IN", "zz-ZZ"]
LETTERS = "NFPCnc"
PRECISIONS = [None, 0, 1, 2, 3, 6, 20, 30, 99]

# Numbers where rounding or the 15 significant digits are easy to get wrong.
EDGES = [
    "0", "-0", "0.5", "-0.5", "1.5", "2.5", "-2.5", "0.125", "0.135", "2.675", "1.005", "-1.005", "1234.5",
    "1234.555", "-1234.555", "999.995", "999999.995", "-999999.995", "0.0049", "-0.0049", "0.00005",
    "123456789012345678", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
    "1E+15", "1.7976931348623157E+308", "-1.7976931348623157E+308", "1E-300", "4.9E-324", "0.1", "0.7",
    "12345678.901234567", "99999999999999.5", "0.999999999999999", "-0.999999999999999",
]


def _random_numbers(count: int, seed: int = 11) -> list[int | Decimal]:
    generator = random.Random(seed)
    values: list[int | Decimal] = []
    for _ in range(count):
        shape = generator.randrange(6)
        if shape == 0:
            values.append(generator.randint(-(10**6), 10**6))
        elif shape == 1:
            values.append(generator.randint(-(2**63), 2**63 - 1))
        elif shape == 2:  # a float as a subscriber attribute gives it (params: the Decimal of its repr)
            number = generator.uniform(-1e7, 1e7) * 10 ** generator.randint(-8, 8)
            values.append(params.convert(params.GroupedNumber, number, "FormatNumber", "number"))
        elif shape == 3:  # a decimal with a midpoint at some place
            digits = generator.randint(0, 12)
            whole = generator.randint(0, 10**digits)
            places = generator.randint(1, 6)
            sign = generator.choice(["", "-"])
            values.append(Decimal(f"{sign}{whole}.{generator.randint(0, 10**places - 1):0{places}d}5"))
        elif shape == 4:  # huge and tiny
            values.append(Decimal(f"{generator.choice('-+')}{generator.randint(1, 999)}E{generator.randint(-320, 305)}"))
        else:  # the result of arithmetic
            values.append(Double(repr(generator.uniform(-1e4, 1e4))))
    return values


NUMBERS = [int(text) if text.lstrip("-").isdigit() else Decimal(text) for text in EDGES] + _random_numbers(400)


def _general(value: int | Decimal, format_string: str, culture: numbers.Culture) -> str:
    """What the general path (`_standard`) makes of a standard format."""
    standard = numbers._standard_format(format_string)
    return numbers._standard(numbers._as_decimal(value), *standard, culture, "FormatNumber")


@pytest.mark.parametrize("code", CULTURES)
def test_the_fixed_point_fast_path_formats_as_the_general_path(code):
    culture = numbers.culture(code)
    for letter in LETTERS:
        for precision in PRECISIONS:
            format_string = letter + ("" if precision is None else str(precision))
            for value in NUMBERS:
                expected = _general(value, format_string, culture)
                assert numbers.format_number(value, format_string, culture) == expected, (value, format_string)


@pytest.mark.parametrize("code", CULTURES)
def test_the_currency_fast_path_formats_as_the_general_path(code):
    culture = numbers.culture(code)
    for places in (None, 0, 2, 3, 30):
        for symbol in (None, "CHF", ""):
            for value in NUMBERS[:120]:
                number = numbers._as_decimal(value)
                shown_places = culture.currency_digits if places is None else places
                shown_symbol = culture.currency_symbol if symbol is None else symbol
                expected = numbers._currency(number, shown_places, culture, shown_symbol)
                assert numbers.format_currency(value, culture, places, symbol) == expected, (value, places, symbol)


def test_the_fast_path_is_taken_where_it_applies_and_not_elsewhere():
    en_us, india = numbers.culture(""), numbers.culture("hi-IN")
    number = Decimal("1234.5")
    assert numbers._fast_fixed(number, 2, en_us, en_us.number) == "1,234.50"
    assert numbers._fast_fixed(number, 2, numbers.culture("de-DE"), en_us.number) == "1.234,50"
    assert india.python_layout is None  # groups 12,34,567: the general path
    assert numbers._fast_fixed(number, 2, india, india.number) is None
    # abs() keeps 28 digits: a longer number's zeros are put back by the general path.
    assert numbers._fast_fixed(number, 99, en_us, en_us.number) is None
    assert numbers.format_number(number, "N99", en_us) == "1,234.5" + "0" * 98


def test_formats_other_than_fixed_point_are_left_to_the_general_path():
    culture = numbers.culture("")
    for format_string in ("D", "D8", "E", "e3", "G", "G5", "R", "X", "x4"):
        standard = numbers._standard_format(format_string)
        assert numbers._fast_standard(Decimal(255), standard[1], standard[2], culture) is None


# ---- comparisons ----------------------------------------------------------------------------

_BOUND = 2**53
_INTS = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.sampled_from([_BOUND - 1, _BOUND, _BOUND + 1, -_BOUND + 1, -_BOUND, 2**63 - 1, -(2**63), 2**1025, 0]),
    st.integers(),
)
_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.1, 2.675, 1e23, 2.0**53, 2.0**53 - 1, -(2.0**53), 5e-324, 1.7976931348623157e308]),
    st.integers(min_value=-(2**54), max_value=2**54).map(float),
)


@settings(max_examples=600, deadline=None)
@given(st.one_of(_INTS, _FLOATS), st.one_of(_INTS, _FLOATS), st.integers(min_value=0, max_value=5))
def test_the_number_fast_path_gives_what_the_rules_give(left, right, operator):
    if type(left) is int and type(right) is int:
        # Two ints take the older int shortcut, which compares ints past a
        # double's range (only Python code makes one) as they are; the
        # rules count such an int as 0.
        assume(left.bit_length() <= 1024 and right.bit_length() <= 1024)
    assert compare._compare(left, right, operator) == compare._by_rules(left, right, operator)


@pytest.mark.parametrize(
    "left, right", [(1234.5, 100), (100, 1234.5), (0.1, 0), (-0.0, 0), (1e23, 10**23), (float("nan"), 0), (2.5, 2.5)]
)
def test_numbers_compare_by_the_rules(left, right):
    for operator in range(6):
        assert compare._compare(left, right, operator) == compare._by_rules(left, right, operator)


# ---- attributes -----------------------------------------------------------------------------


def _context(subscriber: dict) -> Context:
    return Context(subscriber=subscriber, workspace=".")


@pytest.mark.parametrize(
    "subscriber, name, expected",
    [
        ({"FirstName": "Ana"}, "firstname", "Ana"),  # the subscriber's own, in any case
        ({"First Name": "Ana"}, "firstname", "Ana"),  # a profile string's alias
        ({"firstname": "Cy", "First Name": "Ana"}, "FIRSTNAME", "Cy"),  # the name itself before its aliases
        ({"Email": "a@b.c"}, "emailaddr", "a@b.c"),
        ({"EmailAddress": "x@y.z", "Email": "a@b.c"}, "emailaddr", "x@y.z"),
        ({"emailaddr": "own@b.c", "EmailAddress": "x@y.z"}, "EmailAddr", "own@b.c"),
        ({}, "emailaddr", ""),  # the system string's default
        ({}, "jobid", 0),
        ({"Total": 1234.5}, "total", 1234.5),
    ],
)
def test_attributes_are_looked_up_in_order(subscriber, name, expected):
    assert _context(subscriber).attribute(name) == expected


def test_a_missing_attribute_is_missing():
    context = _context({"FirstName": "Ana"})
    assert context.personalization("nickname") is None
    assert context.attribute("nickname", required=False) is None
    assert context.personalization("lastname") is None  # a profile string without a default


# ---- the render scope -----------------------------------------------------------------------


class _ScopedBackend:
    def __init__(self) -> None:
        self.events: list[object] = []

    @contextlib.contextmanager
    def render_scope(self):
        self.events.append("enter")
        try:
            yield
        except BaseException as error:
            self.events.append(("error", type(error).__name__))
            raise
        self.events.append("exit")


def _render(context: Context, body=lambda page: None) -> str:
    with Page.start(context, "test.amp") as page:
        body(page)
        with Page.start(context, "nested.amp"):  # a nested render opens no scope of its own
            pass
    return page.output


def test_a_render_without_a_backend_scope_makes_no_exit_stack():
    context = _context({})
    seen = []
    _render(context, lambda page: seen.append(context._render_stack))
    assert seen == [None] and context._render_stack is None and not context._rendering


def test_the_backend_render_scope_sees_the_render_and_its_error():
    backend = _ScopedBackend()
    context = Context(subscriber={}, workspace=".", backend=backend)
    _render(context)
    assert backend.events == ["enter", "exit"]
    with pytest.raises(KeyError):
        _render(context, lambda page: {}["x"])
    assert backend.events == ["enter", "exit", "enter", ("error", "KeyError")]
    assert context._render_stack is None and not context._rendering


def test_a_backend_made_during_the_render_has_its_scope_closed_with_it(monkeypatch):
    from ampscript.backends.simulator import Simulator

    backend = _ScopedBackend()
    monkeypatch.setattr(Simulator, "from_workspace", classmethod(lambda cls, *args, **kwargs: backend))
    context = _context({})
    with pytest.raises(ValueError):
        _render(context, lambda page: (context.backend, int("x")))  # the first use of the backend makes it
    assert backend.events == ["enter", ("error", "ValueError")]
    assert context._render_stack is None and not context._rendering
    _render(context)
    assert backend.events == ["enter", ("error", "ValueError"), "enter", "exit"]
