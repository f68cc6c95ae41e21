"""The AMPscript value model and its conversions.

AMPscript values are represented by plain Python objects wherever one fits,
so generated code and tests stay readable:

=================  ==========================================================
AMPscript          Python
=================  ==========================================================
null               ``None``
string             ``str``
number             ``int`` (integers) or ``decimal.Decimal`` (decimals); never
                   a binary float.  `Double`, a Decimal, marks the result of
                   Marketing Cloud's double arithmetic (the Math functions).
boolean            ``bool``
date               ``datetime.datetime`` (naive; Marketing Cloud system time)
rowset / row       `Rowset` / `Row` (below)
API object         `ampscript.api_objects.ApiObject`
=================  ==========================================================

`to_text` is how a value prints (``%%= =%%``, ``Output``, ``Concat``).

Rules, from Salesforce's AMPscript reference and where it is silent, chosen:

* Numeric constants are digits with at most one decimal point and a leading
  minus sign, no commas; string constants use double or single quotes;
  ``true``/``false`` in any case are booleans (Language Elements,
  https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/languageElements.htm).
* A numeric constant prints as written: ``1.50`` prints ``1.50``, and a
  literal beyond 64 bits prints all its digits.  (The reference shows no
  example; AMPscript keeps constants as text, and nothing reformats them.)
* The Math functions compute in IEEE doubles and print the result the way
  .NET prints a double: 15 significant digits, so ``Add(1.1, 2.2)`` is
  ``3.3`` and ``Divide(1, 3)`` is ``0.333333333333333``, but the error of a
  double can show, as in the reference's ``Mod(-500.123, 12.456)`` =
  ``-1.88300000000001``
  (https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-math/mc-ampscript-reference-math-mod.html).
  From 1E+15 up and below 1E-04 .NET switches to exponent notation
  (``1E+15``, ``1.5E-05``).  See `Double`.
* Booleans print ``True``/``False`` (.NET's spelling).  The IsNull() page
  shows ``true`` in lower case as its output; the corpus follows ``True``
  until a real Marketing Cloud render says otherwise.
* null prints nothing.  A declared but unset variable is null (Variables,
  https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/guide/mc-ampscript-guide-language-basics-variables.html).
* Empty() is true for null and the empty string; IsNull() only for null
  (https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmatic-content/isnull.htm).
  A space is not empty.
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
