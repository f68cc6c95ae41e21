"""Random() stays within its bounds, whatever the draw (no test depends on chance)."""

from __future__ import annotations

import random

import pytest

import ampc
from ampscript import AMPscriptError
from ampscript.functions import math as math_functions

DRAWS = 300


def _render_many(source: str) -> list[str]:
    """Render `source` DRAWS times in a loop; each rendering ends with "|"."""
    loop = f"%%[ for @i = 1 to {DRAWS} do ]%%{source}%%[ next @i ]%%"
    return ampc.render(loop).split("|")[:-1]


def test_documented_example_stays_in_range():
    # https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmatic-content/random.htm
    values = [int(text) for text in _render_many("%%=Random(42,32256)=%%|")]
    assert len(values) == DRAWS
    assert all(42 <= value <= 32256 for value in values)


def test_bounds_in_either_order():
    values = {int(text) for text in _render_many("%%=Random(3, 1)=%%|")}
    assert values <= {1, 2, 3}


def test_negative_bounds():
    values = [int(text) for text in _render_many("%%=Random(-5, -2)=%%|")]
    assert all(-5 <= value <= -2 for value in values)


def test_decimal_bounds_are_refused():
    # Marketing Cloud aborts on a bound written with a decimal point, whatever its value
    # (https://sfmc.guide/engagement/differs-from-docs/#random-decimal-bounds-rejected).
    for source in ('%%=Random(0.5, 1.5)=%%', '%%=Random(1, 3.0)=%%', '%%=Random("1.5", "3")=%%'):
        with pytest.raises(AMPscriptError, match="Random\\(\\) needs a whole number"):
            ampc.render(source)


class _Extremes(random.Random):
    """A generator that always draws one end of the range."""

    def __init__(self, high: bool):
        super().__init__()
        self.high = high

    def randint(self, a: int, b: int) -> int:
        return b if self.high else a


@pytest.mark.parametrize("high", [False, True])
def test_both_bounds_are_included(monkeypatch, high):
    monkeypatch.setattr(math_functions, "_generator", _Extremes(high))
    assert ampc.render("%%=Random(42,32256)=%%") == ("32256" if high else "42")
    assert ampc.render("%%=Random(-3, -1)=%%") == ("-1" if high else "-3")


def test_every_whole_value_can_come_up(monkeypatch):
    # A seeded generator, so that the test does not depend on chance.
    monkeypatch.setattr(math_functions, "_generator", random.Random(2026))
    values = {int(text) for text in _render_many("%%=Random(1, 3)=%%|")}
    assert values == {1, 2, 3}


@pytest.mark.parametrize("function", ["Add", "Subtract", "Multiply"])
@pytest.mark.parametrize(
    "left, right",
    [(3, 4), (-7, 0), (0, -5), (999_999_999_999_999, 1), (10**14, 10), (-(10**15) + 1, -1), (2**53, 1), (123456789, 987654321)],
)
def test_the_integer_fast_path_agrees_with_the_double_computation(function, left, right):
    """Small integers skip the doubles (issue 11); the result must be what the double computation gives."""
    from ampscript.functions import math as math_functions
    from ampscript.values import from_double

    operation = {"Add": float.__add__, "Subtract": float.__sub__, "Multiply": float.__mul__}[function]
    expected = from_double(operation(float(left), float(right)))
    result = getattr(math_functions, function)(left, right)
    assert (type(result), result) == (type(expected), expected)


def test_a_seeded_context_repeats_random_and_guid_and_another_seed_differs():
    import ampc
    from ampscript import Context

    script = "%%=GUID()=%% %%=Random(1, 1000000)=%% %%=GUID()=%%"
    first = ampc.render(script, context=Context(workspace=".", subscriber={}, seed="run\x00sk-1"))
    again = ampc.render(script, context=Context(workspace=".", subscriber={}, seed="run\x00sk-1"))
    other = ampc.render(script, context=Context(workspace=".", subscriber={}, seed="run\x00sk-2"))
    assert first == again and first != other
    guid = first.split()[0]
    assert len(guid) == 36 and guid[14] == "4"  # still a version 4 GUID
    unseeded = {ampc.render(script, context=Context(workspace=".", subscriber={})) for _ in range(2)}
    assert len(unseeded) == 2
