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
from decimal import Decimal
from typing import Any

from ..errors import RaisedError, ScriptError
from ..formatting import numbers
from ..registry import ampscript_function
from ..rendering import current_context, current_page
from ..values import is_empty, parse_number, to_boolean, to_int, to_number, to_text

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
def Output(value: Any) -> None:
    """Write a function's result into the rendered content.

    The compiler only lets a function call through as the argument, as the
    reference requires (a literal or variable is a compile error).
    """
    current_page().write(value)


@ampscript_function("Utility")
def OutputLine(value: Any) -> None:
    """Like Output(), followed by a CRLF (not an HTML line break)."""
    page = current_page()
    page.write(value)
    page.write("\r\n")


@ampscript_function("Utility")
def V(value: Any) -> Any:
    """The value of a variable or expression, for output with %%= v(@x) =%%."""
    return value


@ampscript_function("Utility")
def Empty(value: Any) -> bool:
    """True if the value is null or the empty string."""
    return is_empty(value)


@ampscript_function("Utility")
def IsNull(value: Any) -> bool:
    """True only for null: unlike Empty(), the empty string is not null."""
    return value is None


@ampscript_function("Utility")
def IsNullDefault(value: Any, default: Any) -> Any:
    """`value`, or `default` when `value` is null.

    Only null is replaced (the empty string is a value), as the function's
    name and reference description say ("returns the test value if not null").
    """
    return default if value is None else value


@ampscript_function("Utility")
def IIf(condition: Any, value_if_true: Any, value_if_false: Any) -> Any:
    """`value_if_true` if the condition is true, else `value_if_false`.

    As in an `if` statement, null and the empty string count as false; any
    other non-boolean condition is an error.  Both values are evaluated
    before the call, as in Marketing Cloud.
    """
    if is_empty(condition):
        return value_if_false
    return value_if_true if to_boolean(condition, "IIf", "condition") else value_if_false


@ampscript_function("Utility")
def AttributeValue(name: Any) -> Any:
    """A subscriber attribute or personalization string by name; null (not an error) if there is none."""
    if is_empty(name):
        raise ScriptError("AttributeValue() needs an attribute name for argument 'attribute'")
    return current_context().attribute(to_text(name), required=False)


@ampscript_function("Utility")
def Domain(email_address: Any) -> str | None:
    """The part of an email address after its first @; null for a non-string or a text without @.

    The reference's table: Domain("sales@force@example") is "force@example",
    Domain("salesforceexamplecom") and Domain(123) are null.
    """
    if not isinstance(email_address, str) or "@" not in email_address:
        return None
    return email_address.split("@", 1)[1]


@ampscript_function("Utility")
def GUID() -> str:
    """A new random (version 4) GUID in lowercase, e.g. a0f71563-b064-4b02-a21a-571dadadafb1."""
    return str(uuid.uuid4())


# The structure the reference's IsEmailAddress table checks: one @, a local
# part, and a domain of one or more non-empty labels (a top-level domain is
# optional: "pooja.chaterjee@example" is true).
_LOCAL_PART = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL_ADDRESS = re.compile(rf"{_LOCAL_PART}@{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*")


@ampscript_function("Utility")
def IsEmailAddress(email_address: Any) -> bool:
    """True if the value is a structurally valid email address (existence is not checked)."""
    return _EMAIL_ADDRESS.fullmatch(to_text(email_address).strip()) is not None


# North American Numbering Plan: area code and exchange are NXX (N = 2-9) and
# neither may be an N11 service code; a leading country code 1 is allowed.
_PHONE_CHARACTERS = re.compile(r"[0-9().\- ]+")
_NANP_NUMBER = re.compile(r"1?([2-9](?!11)\d\d)([2-9](?!11)\d\d)(\d{4})")


@ampscript_function("Utility")
def IsPhoneNumber(phone_number: Any) -> bool:
    """True if the value is a valid North American Numbering Plan phone number.

    Only digits, parentheses, hyphens, periods and spaces are allowed, so
    "+16585550142" is false.  Marketing Cloud also checks the area code
    against the assigned ones (and, by a known bug, accepts some 922 and 926
    numbers); that list is not public, so any NXX area code passes here.
    """
    text = to_text(phone_number).strip()
    if not _PHONE_CHARACTERS.fullmatch(text):
        return False
    return _NANP_NUMBER.fullmatch(re.sub(r"\D", "", text)) is not None


@ampscript_function("Utility")
def RaiseError(
    message: Any,
    skip_current_subscriber: Any = False,
    api_error_code: Any = None,
    api_error_number: Any = None,
    preserve_data_extension_changes: Any = False,
) -> None:
    """Stop the render with an error (`RaisedError`).

    * ``skip_current_subscriber``: true skips only this subscriber, false
      (the default) stops the whole send; kept as ``skip_send`` on the error;
    * ``api_error_code`` / ``api_error_number``: user-defined codes, kept on
      the error as ``error_code`` and ``api_error_number``;
    * ``preserve_data_extension_changes``: true keeps the data extension writes
      the render made before the error; by default they are rolled back.
    """
    raise RaisedError(
        to_text(message),
        skip_send=_flag(skip_current_subscriber, "boolSkipCurrentOnly"),
        error_code=None if is_empty(api_error_code) else to_text(api_error_code),
        api_error_number=(
            None if is_empty(api_error_number) else to_number(api_error_number, "RaiseError", "apiErrorNumber")
        ),
        preserve_data_extension_changes=_flag(preserve_data_extension_changes, "boolPreserveDataExt"),
    )


def _flag(value: Any, argument: str) -> bool:
    return False if is_empty(value) else to_boolean(value, "RaiseError", argument)


# ---------------------------------------------------------------- formatting


def _number_argument(
    value: Any, function: str, argument: str, *, commas_group: bool = False
) -> int | Decimal:
    """A number to format; a string may use commas as thousands separators where the reference says so."""
    if commas_group and isinstance(value, str):
        value = value.replace(",", "")
    return to_number(value, function, argument)


@ampscript_function("Utility", output_grows=True)
def FormatNumber(number: Any, format_type: Any, culture_code: Any = None) -> str:
    """A number in a .NET numeric format (C, D, E, F, G, N, P, R, X with an optional precision, or custom).

    FormatNumber(-12300099.45678, "N", "fr-FR") is "-12 300 099,46" (CLDR's
    French group separator is a narrow no-break space).
    """
    value = _number_argument(number, "FormatNumber", "number")
    culture = numbers.culture(culture_code, "FormatNumber", "cultureCode")
    return numbers.format_number(
        value, _format_string(format_type, "FormatNumber", "formatType"), culture, "FormatNumber"
    )


@ampscript_function("Utility", output_grows=True)
def FormatCurrency(
    number: Any, culture_code: Any, decimal_places: Any = None, currency_symbol: Any = None
) -> str:
    """A number as an amount in a culture's currency pattern.

    Decimal places default to the currency's (2 for $ and €, 0 for ¥); a
    string number may use commas as thousands separators; `currency_symbol`
    replaces the culture's symbol.
    """
    value = _number_argument(number, "FormatCurrency", "number", commas_group=True)
    culture = numbers.culture(culture_code, "FormatCurrency", "cultureCode")
    places = None if is_empty(decimal_places) else to_int(decimal_places, "FormatCurrency", "decimalPlaces")
    if places is not None and not 0 <= places <= 99:
        raise ScriptError(
            f"FormatCurrency() needs 0 to 99 decimal places for argument 'decimalPlaces', got {places}"
        )
    symbol = None if currency_symbol is None else to_text(currency_symbol)
    return numbers.format_currency(value, culture, places, symbol)


@ampscript_function("Utility", output_grows=True)
def Format(value: Any, output_format: Any, data_format: Any = None, culture_code: Any = None) -> str:
    """A number or date in a .NET format string, in a culture.

    The reference's parameters are input, outputFormat, dataFormat ("Date" or
    "Number") and cultureCode.  Without a dataFormat a date value, or a string
    that is not a number but reads as a date, is formatted as a date; any
    number as a number.
    """
    format_string = _format_string(output_format, "Format", "outputFormat")
    kind = _data_format(data_format)
    if kind is None:
        kind = _guess_data_format(value)
    if kind == "number":
        number = _number_argument(value, "Format", "input")
        return numbers.format_number(
            number, format_string, numbers.culture(culture_code, "Format", "cultureCode")
        )
    from ..formatting import dates  # the Date and Time engine; imported late so numbers work without it

    if isinstance(value, _dt.datetime):
        moment = value
    elif isinstance(value, _dt.date):
        moment = _dt.datetime(value.year, value.month, value.day)
    else:
        moment = dates.parse_date(value, "Format", "input")
    return dates.format_date(moment, format_string, None if is_empty(culture_code) else to_text(culture_code))


def _format_string(value: Any, function: str, argument: str) -> str:
    if is_empty(value):
        raise ScriptError(f"{function}() needs a format for argument {argument!r}")
    return to_text(value)


def _data_format(value: Any) -> str | None:
    if is_empty(value):
        return None
    kind = to_text(value).strip().lower()
    if kind not in ("date", "number"):
        raise ScriptError(
            f"invalid data format {to_text(value)!r} for argument 'dataFormat' of Format():"
            " use Date or Number"
        )
    return kind


def _guess_data_format(value: Any) -> str:
    if isinstance(value, (_dt.datetime, _dt.date)):
        return "date"
    if parse_number(value) is not None:
        return "number"
    if isinstance(value, str) and value.strip():
        return "date"
    raise ScriptError(
        f"Format() cannot format {to_text(value)!r}: give a number or a date for argument 'input'"
    )
