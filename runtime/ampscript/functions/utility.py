"""Utility functions: output, tests, formatting, errors and identifiers.

Salesforce's "Utilities" reference:
https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-utilities/

The utilities that read or shape a page request (RequestParameter,
QueryParameter, CloudPagesURL, MicrositeURL, Redirect, RedirectTo,
IsCHTMLBrowser, the Authenticated* functions, WAT, WATP, WrapLongURL) are in
`functions.sites`.  GetValue and SetValue, listed by some catalogs, are
server-side JavaScript (Platform.Variable) functions, not AMPscript ones.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from typing import Annotated, Any

from ..errors import RaisedError, ScriptError
from ..formatting import numbers
from ..registry import ampscript_function
from ..rendering import current_context, current_page, seeded_random
from ..values import UNSET, case, is_empty, params, parse_number, to_int, to_text
from ..values.compare import condition as condition_of
from ..values.numbers import without_group_separators

__all__ = [
    "AttributeValue",
    "Domain",
    "Empty",
    "Format",
    "FormatCurrency",
    "FormatNumber",
    "GUID",
    "IIf",
    "IsEmailAddress",
    "IsNull",
    "IsNullDefault",
    "IsPhoneNumber",
    "Output",
    "OutputLine",
    "RaiseError",
    "V",
]


@ampscript_function("Utility")
def Output(*content: params.Value) -> None:
    """Write function results into the rendered content, each argument in turn.

    Marketing Cloud accepts no argument (nothing is written) and several
    (written one after the other, with no separator)
    (https://sfmc.guide/engagement/differs-from-docs/#outputline-arity-and-empty-argument).
    An argument that is not a function call writes nothing
    (https://sfmc.guide/engagement/differs-from-docs/#output-literal-renders-nothing):
    that is the compiler's part, as is refusing Output() nested in another call.
    """
    page = current_page()
    for value in content:
        page.write(value)


@ampscript_function("Utility")
def OutputLine(*content: params.Value) -> None:
    """Like Output(), followed by one CRLF (not an HTML line break) after the last argument.

    With no argument it writes just the CRLF; several arguments make one line
    (https://sfmc.guide/engagement/differs-from-docs/#outputline-arity-and-empty-argument).
    """
    page = current_page()
    for value in content:
        page.write(value)
    page.write("\r\n")


@ampscript_function("Utility")
def V(value: params.AnyValue) -> Any:
    """The value of a variable, literal or expression, for output with %%= v(@x) =%%.

    A string literal is output as itself (``v("p")`` is ``p``), a number as
    itself, and a nested call is evaluated
    (https://sfmc.guide/engagement/differs-from-docs/#v-accepts-more-than-a-variable).
    An unset variable stays unset, so ``IsNull(v(@unset))`` is false
    (https://sfmc.guide/engagement/ampscript/functions/isnull/).
    """
    return value


@ampscript_function("Utility")
def Empty(value: params.Value) -> bool:
    """True for null, an unset or undeclared variable and the empty string; false for everything else.

    Whitespace, 0, "0", "false" and dates are values
    (https://sfmc.guide/engagement/ampscript/functions/empty/).
    """
    return is_empty(value)


@ampscript_function("Utility")
def IsNull(value: params.AnyValue) -> bool:
    """True only for a null from data (a Lookup with no match, a null field).

    An unset or undeclared variable is not null, although the reference's
    example says so, nor is the empty string or missing context on a page
    (https://sfmc.guide/engagement/differs-from-docs/#isnull-unset-variable-not-null;
    https://sfmc.guide/engagement/ampscript/functions/isnull/).
    """
    return value is None


@ampscript_function("Utility")
def IsNullDefault(value: params.AnyValue, default_value: params.Value) -> Any:
    """`value`, or `default_value` when `value` is a null from data.

    The value comes back unchanged and unconverted ("false" stays lowercase,
    a date is a date), and an unset variable is not null, so it comes back
    unset (printing nothing): on a page the default is never reached
    (https://sfmc.guide/engagement/ampscript/functions/isnulldefault/).
    """
    return default_value if value is None else value


@ampscript_function("Utility")
def IIf(condition: params.Value, value_if_true: params.Value, value_if_false: params.Value) -> Any:
    """`value_if_true` if the condition is true, else `value_if_false`; the values come back as they are.

    The condition is taken as an `if` condition is (`ampscript.values.compare`):
    a value that is not a boolean is false, never an error; the false branch
    was observed for ``""``, ``"   "``, ``0``, ``"0"``, ``"false"``, ``"hello"``
    and unset variables (https://sfmc.guide/engagement/ampscript/functions/iif/).
    Compiled scripts do not call this: the compiler turns IIf into a Python
    conditional, so that only the chosen value is evaluated, as on Marketing
    Cloud (a RaiseError in the branch not taken does not run).
    """
    return value_if_true if condition_of(condition) else value_if_false


@ampscript_function("Utility")
def AttributeValue(attribute_name: params.Text) -> Any:
    """A subscriber attribute or personalization string by case-insensitive name; no error if there is none.

    A name that resolves to nothing is the empty string on a page and null in
    an email (`ampscript.context.Context.attribute`); an empty name aborts
    (https://sfmc.guide/engagement/differs-from-docs/#attributevalue-cloudpage-and-empty-name).
    A number is a name that matches nothing
    (https://sfmc.guide/engagement/ampscript/functions/attributevalue/).
    """
    if not attribute_name:
        raise ScriptError("AttributeValue() needs an attribute name for argument 'attributeName'")
    return current_context().attribute(attribute_name, required=False)


@ampscript_function("Utility")
def Domain(email_address: params.Text) -> str | None:
    """The part of an email address after its first @, verbatim (case kept, not validated); null without @.

    The reference's table: Domain("sales@force@example") is "force@example",
    Domain("salesforceexamplecom") and Domain(123) are null; multi-level
    domains come back whole (https://sfmc.guide/engagement/ampscript/functions/domain/).
    """
    if "@" not in email_address:
        return None
    return email_address.split("@", 1)[1]


@ampscript_function("Utility")
def GUID() -> str:
    """A new random (version 4) GUID in lowercase, e.g. a0f71563-b064-4b02-a21a-571dadadafb1.

    Drawn from the context's seeded generator when it has one (`Context(seed=...)`), so a seeded render repeats.
    """
    generator = seeded_random()
    if generator is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=generator.getrandbits(128), version=4))


# The structure the reference's IsEmailAddress table checks: one @, a local
# part, and a domain of two or more non-empty labels.  The reference's table
# says "pooja.chaterjee@example" is true, but Marketing Cloud rejects a domain
# without a top-level domain, and a leading or trailing space
# (https://sfmc.guide/engagement/differs-from-docs/#isemailaddress-single-label-domain-rejected).
_LOCAL_PART = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL_ADDRESS = re.compile(rf"{_LOCAL_PART}@{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+")


@ampscript_function("Utility")
def IsEmailAddress(email_address: params.Text) -> bool:
    """True if the value is a structurally valid email address (not checked to exist); blanks are not trimmed."""
    return _EMAIL_ADDRESS.fullmatch(email_address) is not None


# North American Numbering Plan: area code and exchange are NXX (N = 2-9) and
# neither may be an N11 service code; a leading country code 1 is allowed.
_PHONE_CHARACTERS = re.compile(r"[0-9().\- ]+")
_NANP_NUMBER = re.compile(r"1?([2-9](?!11)\d\d)([2-9](?!11)\d\d)(\d{4})")


@ampscript_function("Utility")
def IsPhoneNumber(phone_number: params.Text) -> bool:
    """True if the value is a valid North American Numbering Plan phone number.

    Only digits, parentheses, hyphens, periods and spaces are allowed, so
    "+16585550142" is false.  Marketing Cloud also checks the area code
    against the assigned ones (and, by a known bug, accepts some 922 and 926
    numbers); that list is not public, so any NXX area code passes here.
    """
    text = phone_number.strip()
    if not _PHONE_CHARACTERS.fullmatch(text):
        return False
    return _NANP_NUMBER.fullmatch(re.sub(r"\D", "", text)) is not None


@ampscript_function("Utility")
def RaiseError(
    message: params.Text,
    bool_skip_current_only: params.Boolean = False,
    api_error_code: params.Text = "",
    api_error_number: params.NumberOrEmpty = None,
    bool_preserve_data_ext: params.Boolean = False,
) -> None:
    """Stop the render with an error (`RaisedError`).

    * ``bool_skip_current_only``: true skips only this subscriber, false
      (the default) stops the whole send; kept as ``skip_send`` on the error;
    * ``api_error_code`` / ``api_error_number``: user-defined codes, kept on
      the error as ``error_code`` and ``api_error_number``;
    * ``bool_preserve_data_ext``: true keeps the data extension writes
      the render made before the error; by default they are rolled back.

    The two flags take the boolean-like forms true/false, 1/0 and their
    quoted spellings (https://sfmc.guide/engagement/ampscript/functions/raiseerror/);
    an empty flag is an error like any other non-boolean (choice: sfmc.guide
    lists only those eight forms as accepted).
    """
    raise RaisedError(
        message,
        skip_send=bool_skip_current_only,
        error_code=api_error_code or None,
        api_error_number=api_error_number,
        preserve_data_extension_changes=bool_preserve_data_ext,
    )


# ---------------------------------------------------------------- formatting
#
# Number formatting (the .NET formats, the cultures and where Marketing
# Cloud's characters differ from CLDR's) is `ampscript.formatting.numbers`;
# date formatting is `ampscript.formatting.dates`.

def _places(value: Any, function: str, parameter: str) -> int | None:
    if is_empty(value):
        return None  # null or "": the currency's own decimal places
    places = to_int(value, function, parameter)
    if not 0 <= places <= 99:
        raise ScriptError(f"{function}() needs 0 to 99 decimal places for argument {parameter!r}, got {places}")
    return places


def _symbol(value: Any, function: str, parameter: str) -> str | None:
    return None if value is None or value is UNSET else to_text(value)  # null: the culture's own symbol


# Decimal places: a whole number from 0 to 99, or null/"" for the currency's own.
_DecimalPlaces = Annotated[int | None, params.Param("integer", _places)]
# A currency symbol: text, or null for the culture's own.
_CurrencySymbol = Annotated[str | None, params.Param("text", _symbol)]


@ampscript_function("Utility", output_grows=True)
def FormatNumber(number: params.GroupedNumber, format_type: params.Text, culture_code: params.Text = "") -> str:
    """A number in a .NET numeric format (C, D, E, F, G, N, P, R, X with an optional precision, or custom).

    ``FormatNumber(-12300099.45678, "N", "fr-FR")`` is ``-12 300 099,46`` with
    U+00A0 between the groups; ``FormatNumber(-1234.555, "C2")`` is
    ``($1,234.56)``; an unknown culture formats like en-US; a pattern without
    digit placeholders prints as written (``"qqqq"``)
    (https://sfmc.guide/engagement/ampscript/functions/formatnumber/).
    The number may be a string with thousands separators (``"1,234.56"``).
    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-utilities/mc-ampscript-reference-utilities-formatNumber.html
    """
    culture = numbers.culture(culture_code)
    return numbers.format_number(
        number, _format_string(format_type, "FormatNumber", "formatType"), culture, "FormatNumber"
    )


@ampscript_function("Utility", output_grows=True)
def FormatCurrency(
    number: params.GroupedNumber,
    culture_code: params.Text,
    decimal_places: _DecimalPlaces = None,
    currency_symbol: _CurrencySymbol = None,
) -> str:
    """A number as an amount in a culture's currency pattern.

    The culture decides the symbol, its side, the separators, the negative
    form and, unless `decimal_places` says otherwise, the decimal places (2
    for $ and €, 0 for ¥); `currency_symbol` replaces the symbol only:
    ``FormatCurrency(1234.555, "de-DE", 2, "CHF")`` is ``1.234,56 CHF``.  An
    unknown culture prints the generic currency sign, ``¤1,234.56``
    (https://sfmc.guide/engagement/ampscript/functions/formatcurrency/).
    The number may be a string with thousands separators.
    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-utilities/mc-ampscript-reference-utilities-formatCurrency.html
    """
    return numbers.format_currency(number, numbers.culture(culture_code), decimal_places, currency_symbol)


@ampscript_function("Utility", output_grows=True)
def Format(
    input_: params.Value, output_format: params.Text, data_format: params.Text = "", culture_code: params.Text = ""
) -> str:
    """A number or date in a .NET format string, in a culture.

    The reference's parameters are input, outputFormat, dataFormat ("Date" or
    "Number") and cultureCode.  Marketing Cloud aborts on the documented
    ``Number`` (and on any other word) but takes ``Date`` in any case and the
    empty string (https://sfmc.guide/engagement/differs-from-docs/#format-number-data-format-aborts),
    and ``Numeric``: ``Format(12345, "C", "Numeric")`` is ``$12,345.00``
    (issue 9).  ``Numeric`` formats the input as a number (choice: in any
    case, as ``Date``).  Without a dataFormat a date value, or a string that
    is not a number but reads as a date, is formatted as a date; any number
    as a number, as FormatNumber() formats it
    (https://sfmc.guide/engagement/ampscript/functions/format/).
    """
    format_string = _format_string(output_format, "Format", "outputFormat")
    kind = _data_format(data_format) or _guess_data_format(input_)
    if kind == "number":
        number = params.convert(params.GroupedNumber, input_, "Format", "input")
        return numbers.format_number(number, format_string, numbers.culture(culture_code))
    from ..formatting import dates  # the Date and Time engine; imported late so numbers work without it

    value = input_
    if isinstance(value, _dt.datetime):
        moment = value
    elif isinstance(value, _dt.date):
        moment = _dt.datetime(value.year, value.month, value.day)
    else:
        moment = dates.parse_date(value, "Format", "input")
    return dates.format_date(moment, format_string, culture_code or None)


def _format_string(text: str, function: str, argument: str) -> str:
    if not text:
        raise ScriptError(f"{function}() needs a format for argument {argument!r}")
    return text


# dataFormat values, by their case-folded spelling.
_DATA_FORMATS = {case.fold("Date"): "date", case.fold("Numeric"): "number"}


def _data_format(text: str) -> str | None:
    if not text:
        return None
    spelling = case.fold(text.strip())
    kind = _DATA_FORMATS.get(spelling)
    if kind is None:
        documented = spelling == case.fold("Number")
        note = " (Marketing Cloud rejects Number, although its reference lists it)" if documented else ""
        raise ScriptError(
            f"invalid data format {text!r} for argument 'dataFormat' of Format(): "
            f"use Date, Numeric or an empty string{note}"
        )
    return kind


def _guess_data_format(value: Any) -> str:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return "date"
    if parse_number(without_group_separators(value)) is not None:
        return "number"
    if isinstance(value, str) and value.strip():
        return "date"
    raise ScriptError(
        f"Format() cannot format {to_text(value)!r}: give a number or a date for argument 'input'"
    )
