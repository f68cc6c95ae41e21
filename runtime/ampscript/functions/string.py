"""String functions.

Reference: https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-string

Marketing Cloud runs on .NET, so these functions reproduce .NET string
semantics where Python's differ:

* positions and lengths count UTF-16 code units, as .NET's ``String.Length``
  does: ``Length("😀")`` is 2.  A cut through a surrogate pair leaves a lone
  surrogate, which .NET writes out as U+FFFD; so do we (at the cut);
* case conversion maps one character to one character (.NET's simple case
  mapping, `values.case`): ``Uppercase("straße")`` is ``STRAßE``, not
  Python's ``STRASSE``;
* IndexOf, Replace and ReplaceList match ignoring case (`values.case.fold`),
  as Marketing Cloud does (https://sfmc.guide/engagement/differs-from-docs/#indexof-is-case-insensitive,
  https://sfmc.guide/engagement/differs-from-docs/#replace-case-insensitive-single-pass);
* Trim removes the characters .NET's ``Char.IsWhiteSpace`` accepts;
* RegExMatch understands .NET pattern syntax (see `_DotNetPattern`).

Format is listed in the reference's String category but is implemented with
the Utility functions; StringToHex is with the encoding functions.
"""

from __future__ import annotations

import functools
from typing import Any

from ..errors import ScriptError
from ..lazy import lazy_module
from ..registry import ampscript_function
from ..rendering import check_string, current_budget
from ..values import case, clean_text, params, parse_number, to_text

regex = lazy_module("regex")  # imported by the first RegExMatch(): most scripts never call it

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
def Concat(string1: params.TextAsGiven, *more: params.TextAsGiven) -> str:
    """Join the values' printed forms: Concat("a", 1, true) is "a1True".

    The reference asks for two or more arguments, but Marketing Cloud accepts
    one, and the InvokeExecute reference example relies on it
    (``output(concat("GroupCustomerKey is empty."))``), so one is allowed.
    Its arguments are Text, converted here rather than by the registry's
    wrapper (`params.TextAsGiven`): Concat is called more than any other
    function, and the wrapper cost more than the join.
    """
    # What params.Text's conversion does, inline, in a plain loop (for a few
    # arguments, cheaper than a list comprehension or a tuple of them all).
    # Checked once joined: the result is at most the arguments' sizes added up.
    parts = [string1 if type(string1) is str else to_text(string1)]
    for value in more:
        parts.append(value if type(value) is str else to_text(value))
    text = "".join(parts)
    check_string(len(text), "Concat")
    return text


# --- UTF-16 positions ---------------------------------------------------------


def _utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)


def _utf16_slice(text: str, start: int, stop: int) -> str:
    """Code units [start, stop) of the text; a split surrogate pair becomes U+FFFD."""
    if text.isascii():
        return text[start:stop]
    units = text.encode("utf-16-le", errors="surrogatepass")
    return units[2 * start : 2 * stop].decode("utf-16-le", errors="replace")


# --- Char, Length, IndexOf, Substring -----------------------------------------------


@ampscript_function("String")
def Char(character_code: params.Integer, num_repetitions: params.Integer = 1) -> str:
    """The character with a UTF-16 code unit value, optionally repeated: Char(65, 3) is "AAA".

    Codes are 16-bit code units and wrap modulo 65536: Char(256) is U+0100,
    Char(-1) is U+FFFF, Char(65601) is "A", and a code in the astral range
    gives one unrelated code unit, never a surrogate pair
    (https://sfmc.guide/engagement/ampscript/functions/char/,
    https://sfmc.guide/engagement/differs-from-docs/#char-codes-above-255-work).
    A code in the surrogate range (U+D800-U+DFFF) gives U+FFFD, which is how
    .NET writes a lone surrogate out (choice; `values.clean_text`).  A
    negative repetition count is an error (sfmc.guide, same page).
    """
    code = character_code % 0x10000
    count = num_repetitions
    if count < 0:
        raise ScriptError(f"Char(): argument 'numRepetitions' must not be negative, got {count}")
    check_string(count, "Char")
    return clean_text(chr(code)) * count


@ampscript_function("String")
def Length(source_string: params.Text) -> int:
    """The number of characters, counted in UTF-16 code units as Marketing Cloud (.NET) does."""
    return _utf16_length(source_string)


def _matches(text: str, search: str) -> list[int]:
    """Where `search` occurs in `text` ignoring case (`values.case.fold`): non-overlapping, left to right.

    Positions are Python indexes into `text`: the fold maps every character
    to exactly one character, so positions in the folded text are positions
    in the text.
    """
    if not search:
        return []
    folded, wanted = case.fold(text), case.fold(search)
    found, position = [], folded.find(wanted)
    while position >= 0:
        found.append(position)
        position = folded.find(wanted, position + len(wanted))
    return found


@ampscript_function("String")
def IndexOf(source_string: params.Text, substring: params.Text, occurrence: params.Integer = 0) -> int:
    """The 1-based position (in UTF-16 code units) of an occurrence of substring, or 0 if there is none.

    The search ignores case
    (https://sfmc.guide/engagement/differs-from-docs/#indexof-is-case-insensitive);
    an empty source or substring gives 0.  The undocumented third argument
    picks the occurrence: 1 (or 0, or none) the first, 2 the second...,
    counted without overlaps; past the last one gives 0, and a negative one
    the last occurrence whatever its size
    (https://sfmc.guide/engagement/ampscript/functions/indexof/,
    https://sfmc.guide/engagement/differs-from-docs/#indexof-third-occurrence-argument).
    """
    text, wanted = source_string, substring
    if not wanted or not text:
        return 0
    if occurrence in (0, 1):  # the common case: the first match only
        position = case.fold(text).find(case.fold(wanted))
        return 0 if position < 0 else _utf16_length(text[:position]) + 1
    found = _matches(text, wanted)
    if not found:
        return 0
    if occurrence < 0:
        position = found[-1]
    elif occurrence > len(found):
        return 0
    else:
        position = found[occurrence - 1]
    return _utf16_length(text[:position]) + 1


@ampscript_function("String")
def Substring(
    source_string: params.Text, start_position: params.Integer, substring_length: params.Integer = _OMITTED
) -> str:
    """Characters from a 1-based position, to the end or for a length.

    A start beyond the end gives an empty string (reference), and a length
    running past the end gives the rest of the string.  A start below 1 is
    taken as 1, and a negative length is an error
    (https://sfmc.guide/engagement/ampscript/functions/substring/,
    https://sfmc.guide/engagement/differs-from-docs/#substring-negative-arguments-disagree).
    """
    text, start = source_string, max(start_position, 1)
    if substring_length is not _OMITTED and substring_length < 0:
        raise ScriptError(
            f"Substring(): argument 'substringLength' must not be negative, got {substring_length}"
        )
    total = _utf16_length(text)
    if start > total:
        return ""
    stop = total
    if substring_length is not _OMITTED:
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


@ampscript_function("String")
def ProperCase(source_string: params.Text) -> str:
    """The first character of the text and every character after white space in uppercase, the rest lowercase.

    "9 BYWATER STREET" is "9 Bywater Street" (reference example);
    ``ProperCase("BA1R.B BR.OWN")`` is ``Ba1r.b Br.own`` (issue 9 rule, observed
    in Marketing Cloud).  Only white space starts a word: a letter after an
    apostrophe, hyphen, full stop, comma or digit stays lowercase
    ("o'neill mcdonald-smith" -> "O'neill Mcdonald-smith", "3rd street" ->
    "3rd Street"), and white space is kept as it is
    (https://sfmc.guide/engagement/ampscript/functions/propercase/,
    https://sfmc.guide/engagement/differs-from-docs/#propercase-lowercases-the-rest).
    White space is what .NET's Char.IsWhiteSpace accepts (choice).
    """
    result: list[str] = []
    starts_word = True
    for character in case.lower(source_string):
        result.append(case.title_char(character) if starts_word else character)
        starts_word = character in _WHITESPACE
    return "".join(result)


# .NET Char.IsWhiteSpace: the Unicode space separators plus these controls and
# separators (Python's str.strip would also remove U+001C-U+001F).
_WHITESPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


@ampscript_function("String")
def Trim(source_string: params.Text) -> str:
    """The string without leading and trailing white space."""
    return source_string.strip(_WHITESPACE)


# --- Replace, ReplaceList -------------------------------------------------------------


def _replace_all(text: str, search: str, replacement: str, function: str) -> str:
    """`text` with every match of `search` (ignoring case, one pass, left to right) replaced."""
    found = _matches(text, search)
    if not found:
        return text
    if len(replacement) > len(search):
        check_string(len(text) + len(found) * (len(replacement) - len(search)), function)
    pieces, previous = [], 0
    for position in found:
        pieces.append(text[previous:position])
        pieces.append(replacement)
        previous = position + len(search)
    pieces.append(text[previous:])
    return "".join(pieces)


@ampscript_function("String")
def Replace(source_string: params.Text, search_substring: params.Text, replacement_substring: params.Text = "") -> str:
    """Replace every occurrence of search_substring, ignoring case, in one pass.

    Matching ignores case ("Cat cat CAT" with "cat" -> "dog" is "dog dog
    dog"), the source is scanned once (replacing "aa" with "a" in "aaa" gives
    "aa"), and leaving out the replacement deletes the matches
    (https://sfmc.guide/engagement/ampscript/functions/replace/,
    https://sfmc.guide/engagement/differs-from-docs/#replace-case-insensitive-single-pass;
    case-insensitivity is also an issue 9 rule).  An empty search string
    replaces nothing; a null replacement deletes, like an empty one.
    """
    return _replace_all(source_string, search_substring, replacement_substring, "Replace")


@ampscript_function("String")
def ReplaceList(
    source_string: params.Text,
    replacement_string: params.Text,
    search_string1: params.Text,
    *more_search_strings: params.Text,
) -> str:
    """Replace every occurrence of each search string with one replacement, one search string after another.

    Each search string is applied, as Replace() applies it (ignoring case,
    one pass), to the result of the previous one, so a later search string
    can match what an earlier one inserted: ``ReplaceList("a", "XY", "a",
    "X")`` is ``XYY``, and the order matters (``"ab", "bc"`` on "abc" gives
    "-c", ``"bc", "ab"`` gives "a-")
    (https://sfmc.guide/engagement/ampscript/functions/replacelist/,
    https://sfmc.guide/engagement/differs-from-docs/#replacelist-sequential-cascade).
    Empty search strings are ignored.
    """
    text = source_string
    for search in (search_string1, *more_search_strings):
        text = _replace_all(text, search, replacement_string, "ReplaceList")
    return text


# --- RegExMatch --------------------------------------------------------------------------

# .NET RegexOptions names (case-insensitive, as AMPscript is) -> the regex
# module's flag, by name (the module is imported on first use), or None.
_REGEX_OPTIONS = {
    "none": None,
    "ignorecase": "IGNORECASE",
    "multiline": "MULTILINE",
    "singleline": "DOTALL",
    "ignorepatternwhitespace": "VERBOSE",
    "righttoleft": "REVERSE",
    "explicitcapture": None,  # applied by _DotNetPattern when translating the pattern
    # Compiled only makes .NET faster.  CultureInvariant only changes
    # case-insensitive matching under cultures such as tr-TR, and Marketing
    # Cloud matches under en-US, where the result is the same.
    "compiled": None,
    "cultureinvariant": None,
}


def _regex_options(values: tuple[Any, ...]) -> tuple[int, bool]:
    """The regex flags and whether ExplicitCapture is on, from the option arguments."""
    flags, explicit_capture = 0, False
    for position, value in enumerate(values, start=4):
        # Like .NET's Enum.Parse, one argument may combine options: "IgnoreCase, Multiline".
        for name in to_text(value).split(","):
            key = case.lower(name.strip())
            if key == "ecmascript":
                raise ScriptError(
                    "RegExMatch(): the ECMAScript option (argument 'option') is not supported by ampc"
                )
            if key not in _REGEX_OPTIONS:
                raise ScriptError(
                    f"RegExMatch(): unknown regular expression option {name.strip()!r} for argument 'option' ({position})"
                )
            flag = _REGEX_OPTIONS[key]
            if flag is not None:
                flags |= getattr(regex, flag)
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
    # Digits only (more than 18: no such group); "+1" and "1.0" name groups by name.
    return parse_number(text) if regex.fullmatch(r"[0-9]{1,18}", text) else None


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
