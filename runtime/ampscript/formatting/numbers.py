""".NET numeric format strings, in a culture, as Marketing Cloud applies them.

Marketing Cloud formats numbers with .NET, so FormatNumber(), FormatCurrency()
and Format() take .NET format strings:

* standard formats: a letter and an optional precision, ``C``, ``C2``, ``D5``,
  ``E``, ``F2``, ``G``, ``N``, ``P3``, ``R``, ``X8``; the letter in either
  case (https://sfmc.guide/engagement/ampscript/functions/formatnumber/);
  an unknown letter (``Q``) is an error, as .NET's FormatException is;
* custom formats: ``#,##0.00``, ``0.0%``, ``00000``, ``#,##0,,``, ``0.###E+0``,
  ``"$"#,##0.00;("$"#,##0.00);zero``, with quoted and ``\\``-escaped literals.
  A custom format without digit placeholders prints only its literals, as
  .NET does: ``FormatNumber(1234.555, "qqqq")`` is ``qqqq``
  (https://sfmc.guide/engagement/ampscript/functions/formatnumber/: "an
  unrecognised pattern is echoed back").

Ties round away from zero, as .NET formatting does (``FormatNumber(2.5,
"N0")`` is ``3``, ``FormatNumber(1.005, "N2")`` is ``1.01``: sfmc.guide's
FormatNumber page).  Values are AMPscript numbers (int or Decimal, never
float).  Like .NET formatting a double, a value is first taken to 15
significant digits.  An infinite or undefined value (``Divide(1, 0)``)
prints ``∞``, ``-∞`` or ``NaN`` whatever the format, as .NET prints a double's
infinity and NaN before it reads the format (choice: sfmc.guide does not
format one; the symbols are those Marketing Cloud prints for the value,
https://sfmc.guide/engagement/differs-from-docs/#divide-zero-divisor-infinity).

Culture data
------------

Culture codes may be written ``de-DE`` or ``de_DE``, in any case, or as a
language alone (``de``).  An empty code means en-US.  A code no culture
answers to (``zz-ZZ``) does not abort: it formats like en-US, with the
generic currency sign ``¤`` (U+00A4) for its currency, as Marketing Cloud
prints ``FormatNumber(1234.555, "N2", "zz-ZZ")`` as ``1,234.56`` and
``FormatCurrency(1234.555, "zz-ZZ")`` as ``¤1,234.56``
(https://sfmc.guide/engagement/ampscript/functions/formatnumber/,
https://sfmc.guide/engagement/ampscript/functions/formatcurrency/).

Separators, group sizes, the currency, its symbol and decimal places, and
the positive and negative patterns come from Babel's CLDR tables.  Marketing
Cloud runs on the .NET Framework, whose culture data comes from Windows, not
CLDR; where the two differ in characters, the observed Windows ones are used:

=====================  ==================  ==================================
what                   Babel (CLDR)        Marketing Cloud
=====================  ==================  ==================================
space between the      U+00A0 no-break     U+0020 space: ``1.234,56 €``
number and a currency  space               (de-DE), ``R$ 1.234,56`` (pt-BR),
or percent sign                            ``CHF 1’234.56`` (de-CH) [1]_ [2]_
group separator        U+202F narrow       U+00A0 no-break space:
(fr-FR, every culture  no-break space      ``1 234,56`` (fr-FR) [1]_ [3]_
with U+202F)
group separator        ``'`` (U+0027)      ``’`` (U+2019): ``CHF 1’234.56``
(de-CH, every culture                      (de-CH) [1]_ [3]_
with ``'``)
yen sign (ja-JP)       ``￥`` (U+FFE5)      ``¥`` (U+00A5): ``¥1,235`` [1]_ [2]_
negative currency,     ``-$1,234.56``      ``($1,234.56)`` [1]_ [2]_ [4]_
en-US (and ``en``)
=====================  ==================  ==================================

.. [1] https://sfmc.guide/engagement/ampscript/functions/formatcurrency/
   (its table of one amount in nine locales, and the negatives table).
.. [2] https://sfmc.guide/engagement/ampscript/functions/formatnumber/
   (``C2`` in de-DE, ``C`` in ja-JP, ``C2`` of a negative); issue 9:
   ``FormatNumber("123.4451", "C2", "de_DE")`` is ``123,45 €`` with a
   plain space.
.. [3] Observed for fr-FR and de-CH; applied to every culture whose CLDR
   group separator is that character (U+202F: fr-BE, rm-CH and most other
   French cultures; ``'``: fr-CH, it-CH, de-LI, en-CH) (choice: sfmc.guide
   shows one culture of each).
.. [4] https://sfmc.guide/engagement/ampscript/functions/format/ (``C2`` of
   ``-1234.555`` is ``($1,234.56)``).  That is .NET's
   CurrencyNegativePattern 0 for en-US; other cultures keep CLDR's negative
   pattern, which for those sfmc.guide shows is .NET's (de-DE
   ``-1.234,56 €``).

The spaces are plain because .NET lays out currency and percent values with
fixed pattern templates (``"# $"``, ``"$ #"``, ``"# %"``...) that use U+0020;
so every space in a culture's currency, percent and number patterns is
U+0020 here, not only the observed ones (derived).  The minus sign is
CLDR's (sfmc.guide is silent; U+2212 in sv-SE, fi-FI, nb-NO).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, localcontext
from decimal import Context as DecimalContext
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import ScriptError
from ..lazy import lazy_module
from ..values import case

if TYPE_CHECKING:
    from babel import Locale

# Imported by the first format: Babel and its locale data cost start-up.
babel = lazy_module("babel")
babel_core = lazy_module("babel.core")
babel_numbers = lazy_module("babel.numbers")

DEFAULT_CULTURE = "en-US"

# .NET's NumberDecimalDigits and PercentDecimalDigits: 2 in every culture that
# Marketing Cloud documents; CLDR has no such field (its patterns say "up to 3").
_NUMBER_DECIMAL_DIGITS = 2

# Marketing Cloud's characters where Babel's differ (module docstring).
_GROUP_SEPARATORS = {"\u202f": "\xa0", "'": "\u2019"}
_PATTERN_SPACES = str.maketrans({"\xa0": " ", "\u202f": " "})
_CURRENCY_SYMBOLS = {"\uffe5": "\xa5"}  # fullwidth yen sign -> yen sign
# .NET's CurrencyNegativePattern 0, "($n)", for these cultures (Babel names).
_PARENTHESIZED_NEGATIVE_CURRENCY = frozenset({"en", "en_US"})
# The culture of a code no culture answers to: en-US's, with the generic currency sign.
_GENERIC_CURRENCY_SYMBOL = "\xa4"

# Digits .NET keeps when it formats a double, which is what Marketing Cloud
# formats for anything that is not a 64-bit integer.
_DOUBLE_DIGITS = 15
_INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True)
class _Affixes:
    """Text around the digits of a pattern, for positive and negative values ("¤" = currency symbol)."""

    positive_prefix: str
    positive_suffix: str
    negative_prefix: str
    negative_suffix: str

    def wrap(self, digits: str, negative: bool, symbol: str = "") -> str:
        prefix = self.negative_prefix if negative else self.positive_prefix
        suffix = self.negative_suffix if negative else self.positive_suffix
        return f"{prefix}{digits}{suffix}".replace("¤", symbol)


@dataclass(frozen=True)
class Culture:
    """The number-formatting data of one culture."""

    name: str
    decimal: str
    group: str
    minus: str
    plus: str
    percent: str
    per_mille: str
    group_sizes: tuple[int, int]  # primary (rightmost) group, then every other group
    number: _Affixes
    currency: _Affixes
    percent_pattern: _Affixes
    currency_symbol: str
    currency_digits: int
    # For `_fast_fixed`: None if Python's fixed-point formatting cannot lay
    # out this culture's digits (its "," groups by threes); else the table
    # that puts in the culture's separators (empty for en-US's, which are
    # Python's).  Derived from the fields above, so `replace` keeps it right.
    python_layout: dict[int, str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = None
        if self.group_sizes == (3, 3):
            table = {ord(python): own for python, own in ((",", self.group), (".", self.decimal)) if own != python}
        object.__setattr__(self, "python_layout", table)


@lru_cache(maxsize=256)
def culture(code: str) -> Culture:
    """The culture a culture code names (``en-US``, ``de_DE``, ``fr``).

    The empty code means en-US; a code that names no culture, the generic
    culture (module docstring).  Cached by the code as written, so a render
    formatting numbers does not spell the code out again each time.
    """
    text = code.strip() or DEFAULT_CULTURE
    try:
        return _culture(case.lower(text.replace("-", "_")))
    except (babel.UnknownLocaleError, ValueError):
        return _generic_culture()


@lru_cache(maxsize=1)
def _generic_culture() -> Culture:
    """The culture of an unknown code: en-US's separators and patterns, the generic currency sign ``¤``."""
    base = _culture(case.lower(DEFAULT_CULTURE.replace("-", "_")))
    return replace(base, name="", currency_symbol=_GENERIC_CURRENCY_SYMBOL, currency_digits=2)


@lru_cache(maxsize=None)
def _culture(code: str) -> Culture:
    locale = babel.Locale.parse(code)
    minus = babel_numbers.get_minus_sign_symbol(locale)
    territory = locale.territory or _likely_territory(locale.language)
    currencies = babel_numbers.get_territory_currencies(territory) if territory else []
    currency = currencies[0] if currencies else "XXX"
    babel_group = babel_numbers.get_group_symbol(locale)
    group = _GROUP_SEPARATORS.get(babel_group, babel_group)
    decimal_pattern = locale.decimal_formats[None]
    currency_affixes = _affixes(locale.currency_formats["standard"], minus)
    if str(locale) in _PARENTHESIZED_NEGATIVE_CURRENCY:
        currency_affixes = replace(
            currency_affixes,
            negative_prefix=f"({currency_affixes.positive_prefix}",
            negative_suffix=f"{currency_affixes.positive_suffix})",
        )
    symbol = babel_numbers.get_currency_symbol(currency, locale) if currency != "XXX" else _GENERIC_CURRENCY_SYMBOL
    return Culture(
        name=str(locale),
        decimal=babel_numbers.get_decimal_symbol(locale),
        group=group,
        minus=minus,
        plus=babel_numbers.get_plus_sign_symbol(locale),
        percent=_symbol(locale, "percentSign", "%"),
        per_mille=_symbol(locale, "perMille", "‰"),
        group_sizes=(decimal_pattern.grouping[0], decimal_pattern.grouping[1]),
        number=_affixes(decimal_pattern, minus),
        currency=currency_affixes,
        percent_pattern=_affixes(
            locale.percent_formats[None], minus, percent=_symbol(locale, "percentSign", "%")
        ),
        currency_symbol=_CURRENCY_SYMBOLS.get(symbol, symbol),
        currency_digits=babel_numbers.get_currency_precision(currency),
    )


def _symbol(locale: Locale, name: str, fallback: str) -> str:
    return locale.number_symbols.get(locale.default_numbering_system, {}).get(name, fallback)


def _likely_territory(language: str) -> str | None:
    likely = babel_core.get_global("likely_subtags").get(language)
    return babel.Locale.parse(likely).territory if likely else None


def _affixes(pattern, minus: str, percent: str = "%") -> _Affixes:
    # Babel spells the minus sign "-" and the percent sign "%" in its patterns.
    def localize(text: str) -> str:
        return text.replace("-", minus).replace("%", percent).translate(_PATTERN_SPACES)

    return _Affixes(
        localize(pattern.prefix[0]),
        localize(pattern.suffix[0]),
        localize(pattern.prefix[1]),
        localize(pattern.suffix[1]),
    )


# ---------------------------------------------------------------- helpers


# Arithmetic contexts made once (a `localcontext()` per call cost more than
# the formatting itself): a double's 15 significant digits, and enough
# digits for any rounding of the numbers AMPscript holds.
_DOUBLE_CONTEXT = DecimalContext(prec=_DOUBLE_DIGITS, rounding=ROUND_HALF_UP)
_ROUNDING_DIGITS = 60
_ROUNDING_CONTEXT = DecimalContext(prec=_ROUNDING_DIGITS, rounding=ROUND_HALF_UP)
_QUANTUM = [Decimal(1).scaleb(-places) for places in range(100)]  # 1, 0.1, 0.01, ...


def _as_decimal(value: int | Decimal) -> Decimal:
    """The value as .NET sees it: a 64-bit integer exactly, anything else as a double's 15 digits."""
    number = Decimal(value)
    if isinstance(value, int) and value in _INT64:
        return number
    if number == 0:
        return Decimal(0)
    return _DOUBLE_CONTEXT.plus(number)


def _round(value: Decimal, places: int) -> Decimal:
    """Round to `places` decimals, ties away from zero (.NET formatting)."""
    quantum = _QUANTUM[places] if 0 <= places < len(_QUANTUM) else Decimal(1).scaleb(-places)
    digits = value.adjusted() + places + 5
    if digits <= _ROUNDING_DIGITS:
        # Positional: keywords make the call cost more than the rounding.
        return value.quantize(quantum, ROUND_HALF_UP, _ROUNDING_CONTEXT)
    with localcontext() as context:
        context.prec = digits
        return value.quantize(quantum, rounding=ROUND_HALF_UP)


def _round_significant(value: Decimal, digits: int) -> Decimal:
    if value == 0:
        return Decimal(0)
    return _round(value, digits - 1 - value.adjusted())


def _split_digits(value: Decimal, places: int, rounded: Decimal | None = None) -> tuple[str, str]:
    """Integer and fraction digits of abs(value) rounded to `places` decimals ("" for a zero integer part)."""
    text = format(abs(_round(value, places) if rounded is None else rounded), "f")
    whole, _, fraction = text.partition(".")
    return whole.lstrip("0"), fraction.ljust(places, "0")


def _group(digits: str, sizes: tuple[int, int], separator: str) -> str:
    """Insert group separators: the rightmost group has sizes[0] digits, the others sizes[1]."""
    primary, secondary = sizes
    if primary <= 0 or len(digits) <= primary:
        return digits
    groups = [digits[-primary:]]
    rest = digits[:-primary]
    step = secondary or primary
    while rest:
        groups.append(rest[-step:])
        rest = rest[:-step]
    return separator.join(reversed(groups))


def _fixed(value: Decimal, places: int, culture_: Culture, grouped: bool) -> tuple[str, bool]:
    """Digits of abs(value) with `places` decimals, and whether the rounded value is negative."""
    rounded = _round(value, places)
    whole, fraction = _split_digits(value, places, rounded)
    whole = whole or "0"
    if grouped:
        whole = _group(whole, culture_.group_sizes, culture_.group)
    text = f"{whole}{culture_.decimal}{fraction}" if places else whole
    is_negative = value < 0 and rounded != 0
    return text, is_negative


def _fast_fixed(
    value: Decimal, places: int, culture_: Culture, affixes: _Affixes | None, symbol: str = ""
) -> str | None:
    """`_fixed`'s digits wrapped in `affixes` (None: F's bare minus sign), by Python's formatting; or None.

    The fast path of the fixed-point formats (N, F, P, C; `_fast_standard`,
    `format_currency`): Python's "f" prints what `_round` gives with exactly
    its decimals, and its "," groups by threes, so for a culture that groups
    so (`Culture.python_layout`) the text is `_fixed`'s without its steps.
    None (take the general path) for any other culture, and for a number so
    long that abs() (as `_split_digits` takes it) drops trailing zeros, which
    `_fixed` puts back (the exponent tells).  tests/test_hot_paths.py checks
    the two paths agree.
    """
    table = culture_.python_layout
    if table is None:
        return None
    rounded = _round(value, places)
    magnitude = abs(rounded)
    if not magnitude.same_quantum(rounded):
        return None
    digits = format(magnitude, "f" if affixes is None else ",f")
    if table:
        digits = digits.translate(table)
    # `_fixed`'s `value < 0 and rounded != 0`, without making Decimals of 0
    # (-0 rounds to a zero, so its sign does not count either way).
    negative = value.is_signed() and not rounded.is_zero()
    if affixes is None:
        return f"{culture_.minus}{digits}" if negative else digits
    return affixes.wrap(digits, negative, symbol)


# ---------------------------------------------------------------- entry points


_STANDARD = re.compile(r"^([A-Za-z])(\d{1,2})?$")


@lru_cache(maxsize=256)
def _standard_format(format_string: str) -> tuple[str, str, int | None] | None:
    """A standard format's letter as written, in upper case, and its precision; None for a custom format.

    ``"N2"`` is ``("N", "N", 2)``, ``"c"`` is ``("c", "C", None)``.  Cached:
    scripts use a few formats over and over.
    """
    match = _STANDARD.match(format_string)
    if match is None:
        return None
    specifier, precision = match.group(1), match.group(2)
    return specifier, case.upper(specifier), None if precision is None else int(precision)


def format_number(
    value: int | Decimal, format_string: str, culture_: Culture, function: str = "Format"
) -> str:
    """Format a number with a .NET standard or custom numeric format string."""
    if type(value) is not int and not Decimal(value).is_finite():  # an int always is
        return _non_finite(value)
    number = _as_decimal(value)
    standard = _standard_format(format_string)
    if standard is None:
        return _custom(number, format_string, culture_)
    _, kind, precision = standard
    fast = _fast_standard(number, kind, precision, culture_)
    if fast is not None:
        return fast
    return _standard(number, *standard, culture_, function)


def format_currency(
    value: int | Decimal, culture_: Culture, decimal_places: int | None = None, symbol: str | None = None
) -> str:
    """A currency amount in the culture's currency pattern (the "C" format, with an optional symbol)."""
    if type(value) is not int and not Decimal(value).is_finite():  # an int always is
        return _non_finite(value)
    number = _as_decimal(value)
    places = culture_.currency_digits if decimal_places is None else decimal_places
    symbol = culture_.currency_symbol if symbol is None else symbol
    fast = _fast_fixed(number, places, culture_, culture_.currency, symbol)
    return fast if fast is not None else _currency(number, places, culture_, symbol)


def _currency(number: Decimal, places: int, culture_: Culture, symbol: str) -> str:
    """The general path of `format_currency` (and of the "C" format)."""
    digits, negative = _fixed(number, places, culture_, grouped=True)
    return culture_.currency.wrap(digits, negative, symbol)


def _non_finite(value: Decimal) -> str:
    """How .NET prints an infinite or undefined double, whatever the format (module docstring)."""
    if value.is_nan():
        return "NaN"
    return "-∞" if value < 0 else "∞"


# ---------------------------------------------------------------- standard formats


def _fast_standard(number: Decimal, kind: str, precision: int | None, culture_: Culture) -> str | None:
    """`_standard` for the fixed-point formats (N, F, P, C) by `_fast_fixed`, where it applies; else None."""
    if kind == "C":
        places = culture_.currency_digits if precision is None else precision
        return _fast_fixed(number, places, culture_, culture_.currency, culture_.currency_symbol)
    places = _NUMBER_DECIMAL_DIGITS if precision is None else precision  # N, F, P (as _standard's `_default`)
    if kind == "N":
        return _fast_fixed(number, places, culture_, culture_.number)
    if kind == "F":
        return _fast_fixed(number, places, culture_, None)
    if kind == "P":
        return _fast_fixed(number * 100, places, culture_, culture_.percent_pattern)
    return None


def _standard(
    number: Decimal,
    specifier: str,
    kind: str,
    precision: int | None,
    culture_: Culture,
    function: str,
) -> str:
    """A standard format, the general path (`_standard_format`: the letter as written, `kind` in upper case)."""
    if kind == "C":
        return _currency(number, _default(precision, culture_.currency_digits), culture_, culture_.currency_symbol)
    if kind == "N":
        digits, negative = _fixed(number, _default(precision, _NUMBER_DECIMAL_DIGITS), culture_, grouped=True)
        return culture_.number.wrap(digits, negative)
    if kind == "F":
        digits, negative = _fixed(
            number, _default(precision, _NUMBER_DECIMAL_DIGITS), culture_, grouped=False
        )
        return f"{culture_.minus}{digits}" if negative else digits
    if kind == "P":
        digits, negative = _fixed(
            number * 100, _default(precision, _NUMBER_DECIMAL_DIGITS), culture_, grouped=True
        )
        return culture_.percent_pattern.wrap(digits, negative)
    if kind == "D":
        whole = _whole_number(number, specifier, function)
        digits = str(abs(whole)).zfill(precision or 0)
        return f"{culture_.minus}{digits}" if whole < 0 else digits
    if kind == "X":
        whole = _whole_number(number, specifier, function)
        if whole < 0:
            raise ScriptError(f"{function}() cannot format the negative number {whole} as hexadecimal")
        digits = format(whole, "X" if specifier == "X" else "x")
        return digits.zfill(precision or 0)
    if kind == "E":
        return _scientific(
            number, _default(precision, 6), specifier, culture_, exponent_digits=3, always_sign=True
        )
    if kind in ("G", "R"):
        return _general(number, precision if kind == "G" else None, specifier, culture_)
    written = specifier + ("" if precision is None else str(precision))
    raise ScriptError(f"invalid number format {written!r} for {function}()")


def _default(precision: int | None, default: int) -> int:
    return default if precision is None else precision


def _whole_number(number: Decimal, specifier: str, function: str) -> int:
    if number != number.to_integral_value():
        raise ScriptError(f"{function}() format {specifier!r} needs a whole number, got {number}")
    return int(number)


def _scientific(
    number: Decimal, places: int, letter: str, culture_: Culture, exponent_digits: int, always_sign: bool
) -> str:
    """d.dddE+ddd: one integer digit, `places` decimals."""
    rounded = _round_significant(abs(number), places + 1)
    exponent = rounded.adjusted() if rounded else 0
    mantissa = rounded.scaleb(-exponent)
    whole, fraction = _split_digits(mantissa, places)
    digits = (whole or "0") + (culture_.decimal + fraction if places else "")
    sign = culture_.minus if exponent < 0 else (culture_.plus if always_sign else "")
    text = f"{digits}{letter}{sign}{str(abs(exponent)).zfill(exponent_digits)}"
    return f"{culture_.minus}{text}" if number < 0 and rounded != 0 else text


def _general(number: Decimal, precision: int | None, letter: str, culture_: Culture) -> str:
    """The shorter of fixed-point and scientific notation, without trailing zeros."""
    digits = precision or _DOUBLE_DIGITS
    if number == number.to_integral_value() and precision is None and int(number) in _INT64:
        return f"{culture_.minus}{abs(int(number))}" if number < 0 else str(int(number))
    rounded = _round_significant(number, digits)
    if rounded == 0:
        return "0"
    exponent = rounded.adjusted()
    exponent_letter = "E" if letter in "GR" else "e"
    if exponent >= digits or exponent < -5:
        text = _scientific(
            rounded, digits - 1, exponent_letter, culture_, exponent_digits=2, always_sign=True
        )
        mantissa, _, tail = text.partition(exponent_letter)
        if culture_.decimal in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(culture_.decimal)
        return f"{mantissa}{exponent_letter}{tail}"
    text = format(abs(rounded).normalize(), "f")
    whole, _, fraction = text.partition(".")
    body = whole + (culture_.decimal + fraction if fraction else "")
    return f"{culture_.minus}{body}" if rounded < 0 else body


# ---------------------------------------------------------------- custom formats


@dataclass
class _Section:
    """One ';'-separated section of a custom format, tokenized."""

    tokens: list[tuple[str, str]]  # (kind, text): digit, point, comma, percent, permille, exponent, literal
    integer_places: int = 0
    min_integer: int = 0
    max_fraction: int = 0
    min_fraction: int = 0
    grouped: bool = False
    scale: int = 0  # powers of 1000 to divide by (commas right of the last integer digit)
    multiplier: int = 1  # 100 per '%', 1000 per '‰'
    exponent: tuple[str, bool, int] | None = None  # letter, always show sign, minimum digits


_EXPONENT = re.compile(r"([Ee])([+-]?)(0+)")


def _tokenize(section: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    index, seen_point, seen_exponent = 0, False, False
    while index < len(section):
        char = section[index]
        if char in "\"'":
            end = section.find(char, index + 1)
            end = len(section) if end < 0 else end
            tokens.append(("literal", section[index + 1 : end]))
            index = end + 1
            continue
        if char == "\\":
            tokens.append(("literal", section[index + 1 : index + 2]))
            index += 2
            continue
        exponent = _EXPONENT.match(section, index) if char in "Ee" and not seen_exponent else None
        if exponent:
            tokens.append(("exponent", exponent.group(0)))
            seen_exponent = True
            index = exponent.end()
            continue
        if char in "0#" and not seen_exponent:
            tokens.append(("digit", char))
        elif char == "." and not seen_point and not seen_exponent:
            tokens.append(("point", char))
            seen_point = True
        elif char == "." or (char == "," and (seen_point or seen_exponent)):
            pass  # .NET ignores a second decimal point and commas right of the point
        elif char == ",":
            tokens.append(("comma", char))
        elif char == "%":
            tokens.append(("percent", char))
        elif char == "‰":
            tokens.append(("permille", char))
        else:
            tokens.append(("literal", char))
        index += 1
    return tokens


def _analyse(text: str) -> _Section:
    section = _Section(_tokenize(text))
    in_fraction = False
    first_zero = last_zero = None
    commas_at: dict[int, int] = {}  # integer placeholders seen -> commas right there
    for kind, token in section.tokens:
        if kind == "digit" and not in_fraction:
            if token == "0" and first_zero is None:
                first_zero = section.integer_places
            section.integer_places += 1
        elif kind == "digit":
            section.max_fraction += 1
            if token == "0":
                last_zero = section.max_fraction
        elif kind == "point":
            in_fraction = True
        elif kind == "comma" and not in_fraction and section.integer_places > 0:
            commas_at[section.integer_places] = commas_at.get(section.integer_places, 0) + 1
        elif kind == "percent":
            section.multiplier *= 100
        elif kind == "permille":
            section.multiplier *= 1000
        elif kind == "exponent":
            letter, sign, zeros = _EXPONENT.fullmatch(token).groups()
            section.exponent = (letter, sign == "+", len(zeros))
    section.min_integer = 0 if first_zero is None else section.integer_places - first_zero
    section.min_fraction = last_zero or 0
    # Commas right of the last integer digit scale by 1000 each; any other comma groups.
    section.scale = commas_at.pop(section.integer_places, 0)
    section.grouped = bool(commas_at)
    return section


def _split_sections(format_string: str) -> list[str]:
    sections, current, quote, index = [], [], None, 0
    while index < len(format_string):
        char = format_string[index]
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "\\":
            current.append(format_string[index : index + 2])
            index += 2
            continue
        elif char == ";":
            sections.append("".join(current))
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    sections.append("".join(current))
    return sections[:3]


def _custom(number: Decimal, format_string: str, culture_: Culture) -> str:
    texts = _split_sections(format_string)
    positive = _analyse(texts[0])
    negative = _analyse(texts[1]) if len(texts) > 1 and texts[1] else None
    zero = _analyse(texts[2]) if len(texts) > 2 else None
    if number < 0 and negative is not None:
        chosen, signed = negative, False
    else:
        chosen, signed = positive, number < 0
    rendering = _Rendering(chosen, abs(number))
    if number != 0 and rendering.is_zero:
        # A value that rounds to zero is formatted by the zero section, or, for a
        # negative value, by the first section.
        if zero is not None:
            return _Rendering(zero, Decimal(0)).text(culture_)
        if number < 0 and negative is not None:
            chosen, signed = positive, False
            rendering = _Rendering(chosen, abs(number))
        signed = False
    if number == 0 and zero is not None:
        return _Rendering(zero, Decimal(0)).text(culture_)
    text = rendering.text(culture_)
    return f"{culture_.minus}{text}" if signed and not rendering.is_zero else text


class _Rendering:
    """A non-negative value laid out by one custom-format section."""

    def __init__(self, section: _Section, value: Decimal) -> None:
        self.section = section
        value = value * section.multiplier / Decimal(1000) ** section.scale
        self.exponent = 0
        if section.exponent is not None and value != 0:
            significant = max(section.integer_places + section.max_fraction, 1)
            value = _round_significant(value, significant)
            self.exponent = value.adjusted() + 1 - section.integer_places
            value = value.scaleb(-self.exponent)
        whole, fraction = _split_digits(value, section.max_fraction)
        self.whole = whole.zfill(section.min_integer) if section.min_integer else whole
        trimmed = fraction.rstrip("0")
        self.fraction = trimmed.ljust(section.min_fraction, "0")
        self.is_zero = not whole.strip("0") and not fraction.strip("0")

    def text(self, culture_: Culture) -> str:
        section, whole = self.section, self.whole
        overflow = max(len(whole) - section.integer_places, 0)
        out: list[str] = []
        integer_index = fraction_index = 0
        in_fraction = False
        for kind, token in section.tokens:
            if kind == "digit" and not in_fraction:
                if integer_index == 0:
                    # Digits beyond the placeholders all go where the first one is.
                    out.extend(self._whole_digits(0, overflow, culture_))
                position = len(whole) - (section.integer_places - integer_index)
                if position >= 0:
                    out.extend(self._whole_digits(position, position + 1, culture_))
                integer_index += 1
            elif kind == "digit":
                if fraction_index < len(self.fraction):
                    out.append(self.fraction[fraction_index])
                fraction_index += 1
            elif kind == "point":
                if section.integer_places == 0:
                    out.extend(self._whole_digits(0, len(whole), culture_))
                if self.fraction:
                    out.append(culture_.decimal)
                in_fraction = True
            elif kind == "percent":
                out.append(culture_.percent)
            elif kind == "permille":
                out.append(culture_.per_mille)
            elif kind == "exponent":
                letter, always_sign, digits = section.exponent
                sign = culture_.minus if self.exponent < 0 else (culture_.plus if always_sign else "")
                out.append(f"{letter}{sign}{str(abs(self.exponent)).zfill(digits)}")
            elif kind == "literal":
                out.append(token)
        # No digit placeholder and no decimal point: .NET prints no digits at all.
        return "".join(out)

    def _whole_digits(self, start: int, end: int, culture_: Culture) -> list[str]:
        """Digits whole[start:end], each followed by a group separator where one is due."""
        whole = self.whole
        pieces = []
        for position in range(start, end):
            pieces.append(whole[position])
            remaining = len(whole) - 1 - position
            if self.section.grouped and remaining > 0 and _is_group_boundary(remaining, culture_.group_sizes):
                pieces.append(culture_.group)
        return pieces


def _is_group_boundary(digits_to_the_right: int, sizes: tuple[int, int]) -> bool:
    primary, secondary = sizes
    if digits_to_the_right == primary:
        return True
    return digits_to_the_right > primary and (digits_to_the_right - primary) % (secondary or primary) == 0
