"""String functions.

Reference: https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-string

Marketing Cloud runs on .NET, so these functions reproduce .NET string
semantics where Python's differ:

* positions and lengths count UTF-16 code units, as .NET's ``String.Length``
  does: ``Length("😀")`` is 2.  A cut through a surrogate pair leaves a lone
  surrogate, which .NET writes out as U+FFFD; so do we (at the cut);
* case conversion maps one character to one character (.NET's simple case
  mapping): ``Uppercase("straße")`` is ``STRAßE``, not Python's ``STRASSE``;
* Trim removes the characters .NET's ``Char.IsWhiteSpace`` accepts;
* RegExMatch understands .NET pattern syntax (see `_DotNetPattern`).

Format is listed in the reference's String category but is implemented with
the Utility functions; StringToHex is with the encoding functions.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

import regex

from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import check_string, current_budget
from ..values import case, params, to_text

__all__ = [
    "Char",
    "Concat",
    "IndexOf",
    "Length",
    "Lowercase",
    "ProperCase",
    "RegExMatch",
    "Replace",
    "ReplaceList",
    "Substring",
    "Trim",
    "Uppercase",
]

# Marks an optional argument the script did not pass (null is a value).
_OMITTED: Any = object()


@ampscript_function("String")
def Concat(string1: params.Text, *more: params.Text) -> str:
    """Join the values' printed forms: Concat("a", 1, true) is "a1True".

    The reference asks for two or more arguments, but Marketing Cloud accepts
    one, and the InvokeExecute reference example relies on it
    (``output(concat("GroupCustomerKey is empty."))``), so one is allowed.
    """
    # Checked once joined: the result is at most the arguments' sizes added up.
    text = "".join((string1, *more))
    check_string(len(text), "Concat")
    return text


# --- UTF-16 positions ---------------------------------------------------------


def _utf16_length(text: str) -> int:
    return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)


def _utf16_slice(text: str, start: int, stop: int) -> str:
    """Code units [start, stop) of the text; a split surrogate pair becomes U+FFFD."""
    units = text.encode("utf-16-le", errors="surrogatepass")
    return units[2 * start : 2 * stop].decode("utf-16-le", errors="replace")


# --- Char, Length, IndexOf, Substring -----------------------------------------------


@ampscript_function("String")
def Char(character_code: params.Integer, num_repetitions: params.Integer = 1) -> str:
    """The character with an (extended) ASCII code, optionally repeated: Char(65, 3) is "AAA".

    The reference supports codes 0-255 (Char(190) is "¾", so the codes are
    Latin-1); other codes are an error rather than a guess.
    """
    code = character_code
    if not 0 <= code <= 255:
        raise ScriptError(f"Char(): argument 'characterCode' is {code}, outside the supported range 0-255")
    count = num_repetitions
    if count < 0:
        raise ScriptError(f"Char(): argument 'numRepetitions' must not be negative, got {count}")
    check_string(count, "Char")
    return chr(code) * count


@ampscript_function("String")
def Length(source_string: params.Text) -> int:
    """The number of characters, counted in UTF-16 code units as Marketing Cloud (.NET) does."""
    return _utf16_length(source_string)


@ampscript_function("String")
def IndexOf(source_string: params.Text, substring: params.Text) -> int:
    """The 1-based position of the first occurrence of substring, or 0 if there is none.

    The search ignores case, as Salesforce documents for the same function in
    Marketing Cloud Next; an empty (or null) substring is not found (0).
    """
    text, wanted = source_string, substring
    if not wanted:
        return 0
    position = case.upper(text).find(case.upper(wanted))
    if position < 0:
        return 0
    return _utf16_length(text[:position]) + 1


@ampscript_function("String")
def Substring(
    source_string: params.Text, start_position: params.Integer, substring_length: params.Integer = _OMITTED
) -> str:
    """Characters from a 1-based position, to the end or for a length.

    A start beyond the end gives an empty string (reference); a length running
    past the end, or a negative one, gives the rest of the string (as
    Salesforce documents for Substring in Marketing Cloud Next).  A start
    below 1 is an error.
    """
    text, start = source_string, start_position
    if start < 1:
        raise ScriptError(f"Substring(): argument 'startPosition' must be 1 or greater, got {start}")
    total = _utf16_length(text)
    if start > total:
        return ""
    stop = total
    if substring_length is not _OMITTED:
        if substring_length >= 0:
            stop = min(total, start - 1 + substring_length)
    return _utf16_slice(text, start - 1, stop)


# --- Case and white space -------------------------------------------------------


@ampscript_function("String")
def Lowercase(source_string: params.Text) -> str:
    """The string in lowercase letters."""
    return case.lower(source_string)


@ampscript_function("String")
def Uppercase(source_string: params.Text) -> str:
    """The string in uppercase letters (ß stays ß, as in .NET)."""
    return case.upper(source_string)


_LETTERS = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo"})
# Categories that end a word in .NET's TextInfo.ToTitleCase; digits, marks and
# the ASCII apostrophe inside a word do not.
_WORD_SEPARATORS = frozenset(
    {"Zs", "Zl", "Zp", "Cc", "Cf", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"}
)


def _ends_word(character: str) -> bool:
    return character != "'" and unicodedata.category(character) in _WORD_SEPARATORS


@ampscript_function("String")
def ProperCase(source_string: params.Text) -> str:
    """Each word's first letter in uppercase, every other letter in lowercase.

    The reference example turns "9 BYWATER STREET" into "9 Bywater Street",
    so the text is lowercased first; words are then title-cased the way
    .NET's TextInfo.ToTitleCase finds them: a word starts at a letter and
    runs to the next space, punctuation or symbol ("jean-luc" -> "Jean-Luc",
    "o'neil" -> "O'neil", and "1st" -> "1St" because a digit before a letter
    does not start a word).
    """
    result: list[str] = []
    in_word = False
    for character in case.lower(source_string):
        if in_word:
            in_word = not _ends_word(character)
            result.append(character)
        elif unicodedata.category(character) in _LETTERS:
            result.append(case.title_char(character))
            in_word = True
        else:
            result.append(character)
    return "".join(result)


# .NET Char.IsWhiteSpace: the Unicode space separators plus these controls and
# separators (Python's str.strip would also remove U+001C-U+001F).
_WHITESPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


@ampscript_function("String")
def Trim(source_string: params.Text) -> str:
    """The string without leading and trailing white space."""
    return source_string.strip(_WHITESPACE)


# --- Replace, ReplaceList -------------------------------------------------------------


@ampscript_function("String")
def Replace(source_string: params.Text, search_substring: params.Text, replacement_substring: params.Text) -> str:
    """Replace every occurrence (case-sensitive) of search_substring.

    An empty search string replaces nothing (as Salesforce documents for
    Replace in Marketing Cloud Next); a null replacement removes the matches.
    """
    text, search = source_string, search_substring
    if not search:
        return text
    replacement = replacement_substring
    if len(replacement) > len(search):
        growth = text.count(search) * (len(replacement) - len(search))
        check_string(len(text) + growth, "Replace")
    return text.replace(search, replacement)


@ampscript_function("String")
def ReplaceList(
    source_string: params.Text,
    replacement_string: params.Text,
    search_string1: params.Text,
    *more_search_strings: params.Text,
) -> str:
    """Replace every occurrence of any of the search strings with one replacement.

    The replacements are made in one pass, never inside an earlier
    replacement: the reference example replaces "|", ";" and "," with ", "
    and gets "biking, cooking, travel, gardening", which replacing one search
    string after another would double-space.  Where two search strings match
    at the same place, the one listed first wins.  Empty search strings are
    ignored.
    """
    text = source_string
    searches = [search_string1, *more_search_strings]
    searches = [search for search in searches if search]
    if not searches:
        return text
    # The standard library's re, not regex: regex searches for a long literal
    # in quadratic time (50 s for 5,000 characters in 15 KB of text).
    any_search = re.compile("|".join(re.escape(search) for search in searches))
    replacement = replacement_string
    if len(replacement) > min(map(len, searches)):
        size = len(text) + sum(len(replacement) - len(match.group()) for match in any_search.finditer(text))
        check_string(size, "ReplaceList")
    return any_search.sub(lambda _match: replacement, text)


# --- RegExMatch --------------------------------------------------------------------------

# .NET RegexOptions names (case-insensitive, as AMPscript is).
_REGEX_OPTIONS = {
    "none": 0,
    "ignorecase": regex.IGNORECASE,
    "multiline": regex.MULTILINE,
    "singleline": regex.DOTALL,
    "ignorepatternwhitespace": regex.VERBOSE,
    "righttoleft": regex.REVERSE,
    "explicitcapture": 0,  # applied by _DotNetPattern when translating the pattern
    # Compiled only makes .NET faster.  CultureInvariant only changes
    # case-insensitive matching under cultures such as tr-TR, and Marketing
    # Cloud matches under en-US, where the result is the same.
    "compiled": 0,
    "cultureinvariant": 0,
}


def _regex_options(values: tuple[Any, ...]) -> tuple[int, bool]:
    """The regex flags and whether ExplicitCapture is on, from the option arguments."""
    flags, explicit_capture = 0, False
    for position, value in enumerate(values, start=4):
        # Like .NET's Enum.Parse, one argument may combine options: "IgnoreCase, Multiline".
        for name in to_text(value).split(","):
            key = name.strip().lower()
            if key == "ecmascript":
                raise ScriptError(
                    "RegExMatch(): the ECMAScript option (argument 'option') is not supported by ampc"
                )
            if key not in _REGEX_OPTIONS:
                raise ScriptError(
                    f"RegExMatch(): unknown regular expression option {name.strip()!r} for argument 'option' ({position})"
                )
            flags |= _REGEX_OPTIONS[key]
            explicit_capture = explicit_capture or key == "explicitcapture"
    return flags, explicit_capture


class _Backreference:
    """A backreference (by .NET number or by name), resolved once all groups are known.

    A conditional's test ``(?(group)yes|no)`` names a group the same way.
    """

    def __init__(self, target: int | str, conditional: bool = False) -> None:
        self.target = target
        self.conditional = conditional


class _DotNetPattern:
    """A .NET regular expression, translated for the `regex` module.

    What the translation changes:

    * groups: ``(?'name'...)`` and ``\\k<name>``/``\\k'name'`` are .NET spellings;
      and .NET numbers the unnamed groups first, then the named ones
      (``(?<a>x)(y)``: group 1 is ``(y)``, group 2 is ``a``), for both
      backreferences and the group RegExMatch returns;
    * ExplicitCapture turns unnamed groups into non-capturing ones;
    * ``\\Z`` also matches before a final newline in .NET.

    Not supported (an error, never a different match): character-class
    subtraction ``[a-z-[aeiou]]``, balancing groups ``(?<a-b>...)``, groups
    named by number ``(?<2>...)`` and the inline option ``n``.
    """

    def __init__(self, pattern: str, flags: int, explicit_capture: bool) -> None:
        self._source = pattern
        self._explicit_capture = explicit_capture
        self._verbose = bool(flags & regex.VERBOSE)
        self._pieces: list[str | _Backreference] = []
        self._groups: list[str | None] = []  # in Python's numbering: a name, or None if unnamed
        self._scan()
        self._unnamed = [number for number, name in enumerate(self._groups, start=1) if name is None]
        self._names = list(dict.fromkeys(name for name in self._groups if name is not None))
        if not flags & (regex.VERBOSE | regex.REVERSE):
            self._pieces = _break_long_literals(self._pieces)
        try:
            self.compiled = regex.compile("".join(self._resolve(piece) for piece in self._pieces), flags)
        except regex.error as problem:
            raise ScriptError(
                f"RegExMatch(): invalid regular expression {pattern!r} for argument 'regExPattern': {problem}"
            ) from None

    def group(self, number: int) -> int | str | None:
        """The Python group for a .NET group number, or None if there is no such group."""
        if number < 0:
            return None
        if number == 0:
            return 0
        if number <= len(self._unnamed):
            return self._unnamed[number - 1]
        index = number - len(self._unnamed) - 1
        return self._names[index] if index < len(self._names) else None

    def _unsupported(self, construct: str) -> ScriptError:
        return ScriptError(
            f"RegExMatch(): {construct} in argument 'regExPattern' ({self._source!r}) is not supported by ampc"
        )

    def _resolve(self, piece: str | _Backreference) -> str:
        if isinstance(piece, str):
            return piece
        target = piece.target
        group = self.group(target) if isinstance(target, int) else target
        if group is None or (isinstance(group, str) and group not in self._names):
            raise ScriptError(f"RegExMatch(): reference to undefined group {target} in {self._source!r}")
        if piece.conditional:
            return f"(?({group})"
        return f"(?P={group})" if isinstance(group, str) else f"(?:\\g<{group}>)"

    def _scan(self) -> None:
        pattern, position = self._source, 0
        while position < len(pattern):
            character = pattern[position]
            if character == "\\":
                position = self._escape(position)
            elif character == "[":
                position = self._character_class(position)
            elif character == "(":
                position = self._open_group(position)
            elif character == "#" and self._verbose:
                end = pattern.find("\n", position)
                end = len(pattern) if end < 0 else end + 1
                self._pieces.append(pattern[position:end])
                position = end
            else:
                self._pieces.append(character)
                position += 1

    def _escape(self, position: int) -> int:
        pattern = self._source
        following = pattern[position + 1 : position + 2]
        if following == "Z":
            self._pieces.append("(?=\\n?\\z)")
            return position + 2
        if following == "k" and pattern[position + 2 : position + 3] in ("<", "'"):
            closer = ">" if pattern[position + 2] == "<" else "'"
            end = pattern.find(closer, position + 3)
            if end > 0:
                name = pattern[position + 3 : end]
                self._pieces.append(_Backreference(int(name) if name.isdigit() else name))
                return end + 1
        if following.isdigit() and following != "0":
            end = position + 1
            while end < len(pattern) and pattern[end].isdigit():
                end += 1
            self._pieces.append(_Backreference(int(pattern[position + 1 : end])))
            return end
        self._pieces.append(pattern[position : position + 2])
        return position + 2

    def _character_class(self, position: int) -> int:
        pattern, end = self._source, position + 1
        if pattern[end : end + 1] == "^":
            end += 1
        if pattern[end : end + 1] == "]":  # a "]" first in a class is literal
            end += 1
        while end < len(pattern) and pattern[end] != "]":
            if pattern[end] == "\\":
                end += 2
                continue
            if pattern[end : end + 2] == "-[":
                raise self._unsupported("character class subtraction")
            end += 1
        self._pieces.append(pattern[position : end + 1])
        return end + 1

    def _open_group(self, position: int) -> int:
        pattern = self._source
        if pattern[position + 1 : position + 2] != "?":
            self._pieces.append("(?:" if self._explicit_capture else "(")
            if not self._explicit_capture:
                self._groups.append(None)
            return position + 1
        opener = pattern[position + 2 : position + 3]
        if opener == "'" or (opener == "<" and pattern[position + 3 : position + 4] not in ("=", "!")):
            return self._named_group(position, ">" if opener == "<" else "'")
        if opener == "(" and pattern[position + 3 : position + 4] != "?":
            return self._condition(position)
        if opener == "#":  # a comment runs to the first ")"
            end = pattern.find(")", position)
            end = len(pattern) if end < 0 else end + 1
            self._pieces.append(pattern[position:end])
            return end
        inline = regex.match(r"[imnsx-]*[:)]", pattern[position + 2 :])
        if inline and "n" in inline.group():
            raise self._unsupported("the inline option n")
        self._pieces.append("(?")
        return position + 2

    def _condition(self, position: int) -> int:
        """``(?(group)``: the test of a conditional, which is not a group itself."""
        pattern = self._source
        end = pattern.find(")", position + 3)
        if end < 0:
            raise ScriptError(f"RegExMatch(): unterminated conditional in {pattern!r}")
        name = pattern[position + 3 : end]
        self._pieces.append(_Backreference(int(name) if name.isdigit() else name, conditional=True))
        return end + 1

    def _named_group(self, position: int, closer: str) -> int:
        pattern = self._source
        end = pattern.find(closer, position + 3)
        if end < 0:
            raise ScriptError(f"RegExMatch(): unterminated group name in {pattern!r}")
        name = pattern[position + 3 : end]
        if "-" in name:
            raise self._unsupported("a balancing group")
        if name.isdigit():
            raise self._unsupported("a group named by number")
        if not regex.fullmatch(r"\w+", name):
            raise ScriptError(f"RegExMatch(): invalid group name {name!r} in {pattern!r}")
        self._pieces.append(f"(?P<{name}>")
        self._groups.append(name)
        return end + 1


# The regex module searches for a literal of m characters in time growing with
# m squared, without checking its timeout meanwhile (5,000 literal characters
# in 15 KB of text: 50 s, whatever the timeout).  Literal runs longer than this
# are cut by a lookahead for their next character, which the module does not
# merge into one literal, so the search stays fast and the timeout holds.
_LONGEST_LITERAL_RUN = 64
_METACHARACTERS = set(".^$*+?{}()|[]\\")
_QUANTIFIERS = ("*", "+", "?", "{")


def _is_literal(piece: object) -> bool:
    """A piece that matches exactly one given character: ``a`` or an escaped punctuation mark ``\\[``."""
    if not isinstance(piece, str):
        return False
    if len(piece) == 1:
        return piece not in _METACHARACTERS
    return len(piece) == 2 and piece[0] == "\\" and not piece[1].isalnum() and piece[1] not in " #"


def _break_long_literals(pieces: list) -> list:
    """`pieces` with a lookahead ``(?=x)`` before every `_LONGEST_LITERAL_RUN`-th character of a literal run.

    ``ab(?=c)c`` matches what ``abc`` matches; a character followed by a
    quantifier is never part of a run, so no lookahead lands before one.
    """
    result: list = []
    run = 0
    for index, piece in enumerate(pieces):
        following = pieces[index + 1] if index + 1 < len(pieces) else None
        quantified = isinstance(following, str) and following.startswith(_QUANTIFIERS)
        if _is_literal(piece) and not quantified:
            if run and run % _LONGEST_LITERAL_RUN == 0:
                result.append(f"(?={piece})")
            run += 1
        else:
            run = 0
        result.append(piece)
    return result


@functools.lru_cache(maxsize=256)
def _dotnet_pattern(pattern: str, flags: int, explicit_capture: bool) -> _DotNetPattern:
    return _DotNetPattern(pattern, flags, explicit_capture)


def _search(compiled: regex.Pattern, text: str) -> regex.Match | None:
    """The first match, within the render's regexSeconds (and its own deadline).

    A pattern such as ``(a|aa)+$`` takes exponential time on some inputs in
    .NET as in Python's regex; Marketing Cloud stops such a match (its
    RegexMatchTimeoutException), and so does ampc, with an error that names
    the limit (the limit's value is ampc's choice).
    """
    budget = current_budget()
    limit = budget.limits.regex_seconds
    seconds = min(limit, budget.seconds_left())
    try:
        return compiled.search(text, timeout=seconds)
    except TimeoutError:
        budget.check_time()  # the render's own deadline, if that is what ran out
        raise budget.exceeded("regex_seconds", "RegExMatch() took too long to match") from None


def _group_number(value: Any) -> int | None:
    """The group number a return-value argument names, or None if it names a group by name."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = to_text(value).strip()
    return int(text) if regex.fullmatch(r"[0-9]{1,18}", text) else None  # more digits: no such group


@ampscript_function("String")
def RegExMatch(
    source_string: params.Text, reg_ex_pattern: params.Text, return_value: params.Value, *options: params.Text
) -> str:
    """The text a .NET regular expression's group matched in the string.

    returnValue is a group number (0 for the whole match) or a group name;
    the options are .NET RegexOptions names (IgnoreCase, Multiline,
    Singleline, ExplicitCapture, IgnorePatternWhitespace, RightToLeft,
    CultureInvariant, Compiled, None).  No match, a group that took no part
    in the match, or a group the pattern lacks all give an empty string, as
    .NET's Match.Groups does.

    The catalog describes the third and later arguments as out-parameters
    (@match1, ...); the reference has them as the group to return and options.
    """
    flags, explicit_capture = _regex_options(options)
    pattern = _dotnet_pattern(reg_ex_pattern, flags, explicit_capture)
    match = _search(pattern.compiled, source_string)
    if match is None:
        return ""
    number = _group_number(return_value)
    group = pattern.group(number) if number is not None else to_text(return_value)
    if group is None or (isinstance(group, str) and group not in pattern.compiled.groupindex):
        return ""
    return match.group(group) or ""
