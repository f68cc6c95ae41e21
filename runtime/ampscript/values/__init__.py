"""The value core: the only code that knows AMPscript's loose typing.

Every part of the runtime (operators, functions, the data extension store
and its filters, the simulator's retrieve filters, ExecuteFilter, API
object properties) classifies, converts, case-folds, parses, compares and
prints values through this package:

==================  ========================================================
module              what it decides
==================  ========================================================
`model`             how values are held in Python (table below); `UNSET`
`text`              how a value prints (`to_text`); text as it enters
`numbers`           what reads as a number; ranges; doubles (`from_double`)
`booleans`          what reads as a boolean in a function argument
`case`              the one case mapping, `fold`, `collation_key`
`dates`             the one date parser (`parse_date`, `read_date`)
`compare`           comparisons and conditions
`jsontext`          JSON as the runtime reads it
`params`            the parameter types functions declare; the registry
                    (`ampscript.registry`) converts arguments with them
==================  ========================================================

=================  ==========================================================
AMPscript          Python
=================  ==========================================================
null               ``None`` (a null from data: a Lookup without a match, a
                   null field, a function that returns null)
unset              `UNSET` (a variable never set, or declared with ``var``)
string             ``str``
number             ``int`` (whole numbers) or ``decimal.Decimal``; never a
                   binary float.  `Double`, a Decimal, marks the result of
                   double arithmetic (the Math functions).
boolean            ``bool``
date               ``datetime.datetime`` (naive; Marketing Cloud system time,
                   UTC-6 all year)
rowset / row       `Rowset` / `Row`
API object         `ampscript.api_objects.ApiObject`
=================  ==========================================================

The rules, each with its source (issue 9's rules were observed on
Marketing Cloud by its engineers; sfmc.guide's findings were proven on a
live CloudPage, https://github.com/JoernBerkefeld/sfmc.guide; where both are
silent, the Salesforce reference; what is ampc's own choice says so where
it is implemented):

Literals
  * Numeric constants are digits with at most one decimal point and a
    leading minus sign; strings use double or single quotes, doubled to
    escape; ``true``/``false`` in any case are booleans (Language Elements,
    https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/languageElements.htm).
  * An integer constant outside signed 64 bits prints and computes as 0
    (issue 9); a decimal constant prints as written (``1.50``).
  * A boolean literal given straight to a text parameter is empty:
    ``Concat(true, false)`` prints nothing and ``Length(true)`` is 0, while a
    variable holding a boolean prints ``True``
    (https://sfmc.guide/engagement/differs-from-docs/#concat-booleans-swallowed;
    the compiler applies it, `ampc.codegen`).

Null and unset
  * Both print nothing, compare as null and are empty (Empty() is true for
    null, unset and ``""``, not for a space, 0 or false).  IsNull() is true
    only for a null from data, never for an unset variable or ``""``
    (issue 9; https://sfmc.guide/engagement/differs-from-docs/#isnull-unset-variable-not-null).
    Lookup without a match returns null (issue 9).
  * Missing page context (an unknown attribute, an absent request
    parameter) is ``""``, not null (https://sfmc.guide/engagement/ampscript/functions/isnull/).

Printing (`to_text`)
  * Booleans print ``True``/``False``; dates ``M/d/yyyy h:mm:ss AM`` (en-US);
    numbers as written or, from arithmetic, as .NET prints a double: 15
    significant digits (``Divide(10, 3)`` is ``3.33333333333333``), exponent
    notation from 1E+15 and below 1E-04, and ``∞``, ``-∞``, ``NaN`` for
    infinite and undefined results (the Mod reference page;
    https://sfmc.guide/engagement/differs-from-docs/#divide-zero-divisor-infinity).

Numbers (`numbers`)
  * A string reads as a number when it holds ASCII digits with an optional
    sign, decimal point and exponent; a number past the double range (about
    1.8E+308) is not one, and a number closer to zero than the smallest
    double is 0, both decided on the exponent in constant time (choice,
    .NET's Double.Parse; issue 8).  Whole-number arguments are 64-bit.
  * FormatNumber, FormatCurrency and Format accept thousands separators in
    their input (``"1,234.56"``; issue 9, `without_group_separators`).

Booleans
  * A boolean argument (`to_boolean`) is ``true``/``false`` in any case, or
    a number, true only when it is 1 (URLEncode takes 2 as off:
    https://sfmc.guide/engagement/differs-from-docs/#urlencode-flag-spellings-and-default-passthrough).
    In a comparison and as a condition a value
    becomes a boolean by `compare.boolean_of`: a whole number is true only
    when it is exactly 1, the strings ``true``/``false`` are themselves,
    anything else is false (issue 9).

Case (`case`)
  * One-to-one (simple) case mapping, culture-invariant: ``Uppercase("straße")``
    is ``STRAßE`` (https://sfmc.guide/engagement/differs-from-docs/#uppercase-sharp-s-not-expanded);
    equality ignoring case folds with it, so ``"straße" == "STRASSE"`` is
    false and a Lookup on ``straße`` does not match ``STRASSE`` (issue 9);
    ordering is en-US collation ignoring case and accents.

Dates (`dates`)
  * The forms the reference lists; month first (``5/8/2026`` is May 8);
    offsets converted to system time; ordinal suffixes, non-English month
    names, numeric strings and numbers rejected
    (https://sfmc.guide/engagement/differs-from-docs/#dateparse-unsupported-input-aborts-the-page).

Comparisons and conditions (`compare`)
  * In this order, the first that applies: null; booleans; dates; numbers;
    text (issue 9's five rules, stated in full in `compare`).  ``not``
    negates the whole comparison.  A condition that is not a boolean is
    false, never an error (https://sfmc.guide/engagement/ampscript/functions/iif/).
"""

from .booleans import parse_boolean, to_boolean
from .jsontext import parse_json
from .model import UNSET, Double, Number, Row, Rowset, field_at_path, is_empty, is_null
from .numbers import INT64_MAX, INT64_MIN, OutOfRange, from_double, parse_number, to_double, to_int, to_number
from .text import clean_text, double_text, format_default_datetime, to_text

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Double",
    "Number",
    "OutOfRange",
    "Row",
    "Rowset",
    "UNSET",
    "clean_text",
    "double_text",
    "field_at_path",
    "format_default_datetime",
    "from_double",
    "is_empty",
    "is_null",
    "parse_boolean",
    "parse_json",
    "parse_number",
    "to_boolean",
    "to_double",
    "to_int",
    "to_number",
    "to_text",
]
