"""Writes comparison_matrix.txt: every pair of sample values under every comparison operator, with and without not.

    python tests/corpus/comparisons/make_matrix.py

The expected results come from the rules as issue 9 states them (Marketing
Cloud's engineers observed them on the platform), implemented here on their
own, in a few lines per rule, so that the corpus checks ampc's value core
(`ampscript.values.compare`) against the rules rather than against itself.
The first rule that applies decides:

1. null (an unset variable): one null side -> ==, <=, >= false, !=, <, > true;
   both null -> ==, <=, >= true, the others false;
2. a boolean side: both become booleans (a whole number is true when exactly
   1, "true"/"false" in any case, anything else false); equal -> ==, <=, >=
   true; different -> !=, <, > true;
3. a date value (Now()): both become dates, a side that is not one counts as
   1 January 0001 (of the samples only "10/20/2024" reads as a date);
4. a number or numeric string: both become decimals, anything else is 0;
5. text: == and != ignore case with one-to-one case mapping; <, > ... order
   ignoring case and accents.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from pathlib import Path

NOW = dt.datetime(2026, 1, 5, 14, 30)

# (AMPscript expression, kind, value)
SAMPLES = [
    ("@unset", "null", None),
    ("true", "bool", True),
    ("false", "bool", False),
    ("0", "number", Decimal(0)),
    ("1", "number", Decimal(1)),
    ("1.5", "number", Decimal("1.5")),
    ("2", "number", Decimal(2)),
    ("0.0", "number", Decimal("0.0")),
    ('"0"', "text", "0"),
    ('"1"', "text", "1"),
    ('"0.5"', "text", "0.5"),
    ('"a"', "text", "a"),
    ('"A"', "text", "A"),
    ('"4"', "text", "4"),
    ('"50"', "text", "50"),
    ('"Andreas Graßl"', "text", "Andreas Graßl"),
    ("Now()", "date", NOW),
    ('"10/20/2024"', "text", "10/20/2024"),
    ("9223372036854775807", "number", Decimal(2**63 - 1)),
    ("-9223372036854775808", "number", Decimal(-(2**63))),
]
OPERATORS = ["==", "!=", "<", ">", "<=", ">="]
_DATE_STRINGS = {"10/20/2024": dt.datetime(2024, 10, 20)}


def _number(kind: str, value) -> Decimal | None:
    if kind == "number":
        return value
    if kind == "text":
        try:
            return Decimal(value)
        except ArithmeticError:
            return None
    return None


def _boolean(kind: str, value) -> bool:
    if kind == "bool":
        return value
    number = _number(kind, value)
    if number is not None:
        return number == number.to_integral_value() and number == 1
    if kind == "text" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return False


def _date(kind: str, value) -> dt.datetime:
    if kind == "date":
        return value
    if kind == "text" and value in _DATE_STRINGS:
        return _DATE_STRINGS[value]
    return dt.datetime(1, 1, 1)


def _simple_upper(text: str) -> str:
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def _order_key(text: str):
    base = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return [(0 if not c.isalnum() else 1 if c.isdigit() else 2, c) for c in base.lower()]


def _compare(a, b, operator: str) -> bool:
    """Ordered comparison of two like values."""
    return {"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[operator]


def expected(left: tuple, right: tuple, operator: str) -> bool:
    (_, lk, lv), (_, rk, rv) = left, right
    equal_answer = operator in ("==", "<=", ">=")
    if lk == "null" or rk == "null":
        return equal_answer if lk == rk == "null" else not equal_answer
    if lk == "bool" or rk == "bool":
        return equal_answer if _boolean(lk, lv) == _boolean(rk, rv) else not equal_answer
    if lk == "date" or rk == "date":
        return _compare(_date(lk, lv), _date(rk, rv), operator)
    ln, rn = _number(lk, lv), _number(rk, rv)
    if ln is not None or rn is not None:
        return _compare(ln if ln is not None else Decimal(0), rn if rn is not None else Decimal(0), operator)
    if _simple_upper(lv) == _simple_upper(rv):
        return equal_answer
    if operator in ("==", "!="):
        return operator == "!="
    return _compare(_order_key(lv), _order_key(rv), operator)


def _case(left: tuple, operator: str) -> str:
    plain = "".join(
        f"%%[ if {left[0]} {operator} {right[0]} then ]%%T%%[ else ]%%F%%[ endif ]%%" for right in SAMPLES
    )
    negated = "".join(
        f"%%[ if not {left[0]} {operator} {right[0]} then ]%%T%%[ else ]%%F%%[ endif ]%%" for right in SAMPLES
    )
    answers = "".join("T" if expected(left, right, operator) else "F" for right in SAMPLES)
    negations = "".join("F" if expected(left, right, operator) else "T" for right in SAMPLES)
    return (
        f"=== {left[0]} {operator} each sample, then not (issue 9's comparison rules; make_matrix.py)\n"
        f"%%[ var @unset ]%%{plain}|{negated}\n"
        f"--- context\n"
        f'{{"now": "{NOW.isoformat()}"}}\n'
        f"--- output\n"
        f"{answers}|{negations}\n"
    )


def main() -> None:
    header = "".join(f"{index:>2}: {sample[0]}\n" for index, sample in enumerate(SAMPLES))
    cases = [_case(left, operator) for left in SAMPLES for operator in OPERATORS]
    target = Path(__file__).with_name("comparison_matrix.txt")
    target.write_text("".join(cases), encoding="utf-8")
    print(f"{len(cases)} cases, samples in order:\n{header}", end="")


if __name__ == "__main__":
    main()
