"""Case, the one way: .NET's invariant, one-to-one (simple) case mapping, and en-US ordering.

Marketing Cloud runs on .NET, whose ``ToUpperInvariant``/``ToLowerInvariant``
map each character to exactly one character:

* ``upper("straße")`` is ``STRAßE`` (the sharp s stays; Python's ``upper``
  gives ``STRASSE``), ``upper("ı")`` is ``I``, ``lower("İ")`` is ``i`` (one
  character), and the mapping ignores the culture (no Turkish i rules).
  Observed on Marketing Cloud: https://sfmc.guide/engagement/differs-from-docs/#uppercase-sharp-s-not-expanded.
* `fold` is the key for case-insensitive *equality*: text compares equal
  ignoring case exactly when the simple upper-case mappings are equal
  (.NET's ``OrdinalIgnoreCase``), so ``"Andreas Graßl"`` and ``"Andreas
  Grassl"`` differ while ``"straße"`` and ``"STRAßE"`` are equal.
  Comparisons (``==``), data extension lookups and filters, field and
  content names all match with it.
* `collation_key` orders text the way en-US culture comparison ignoring
  case and accents does (``<``, ``>`` and ORDER BY): letters by their base
  letter (``é`` sorts as ``e``), digits before letters, punctuation and
  spaces before digits.  It approximates .NET's culture-aware comparison
  without ICU (choice: exact .NET sort weights are not public; the
  approximation agrees on letters, digits, accents and case).
"""

from __future__ import annotations

import functools
import unicodedata

__all__ = ["collation_key", "fold", "lower", "lower_char", "title_char", "upper", "upper_char"]


@functools.lru_cache(maxsize=4096)
def upper_char(character: str) -> str:
    """One character's simple upper-case mapping."""
    mapped = character.upper()
    if len(mapped) == 1:
        return mapped
    # Python expands some letters (ß -> SS); .NET keeps them, except the Greek
    # letters with iota subscript whose single-character form is the titlecase one.
    titled = character.title()
    return titled if len(titled) == 1 else character


@functools.lru_cache(maxsize=4096)
def lower_char(character: str) -> str:
    """One character's simple lower-case mapping."""
    mapped = character.lower()
    # Only İ (U+0130) lowercases to two characters (i + combining dot); .NET gives i.
    return mapped if len(mapped) == 1 else mapped[0]


def title_char(character: str) -> str:
    """One character's title-case mapping: the digraphs titlecase (ǆ -> ǅ), everything else uppercases."""
    titled = character.title()
    if len(titled) == 1 and unicodedata.category(titled) == "Lt":
        return titled
    return upper_char(character)


def upper(text: str) -> str:
    if text.isascii():
        return text.upper()
    return "".join(map(upper_char, text))


def lower(text: str) -> str:
    if text.isascii():
        return text.lower()
    return "".join(map(lower_char, text))


def fold(text: str) -> str:
    """The key under which texts are equal ignoring case (simple upper-case mapping)."""
    return upper(text)


def _base_letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _weighted(character: str) -> str:
    """One character's sort unit: a class (punctuation and spaces, digits, letters), then the character."""
    if character.isspace() or not character.isalnum():
        return "\x01" + character
    if character.isdigit():
        return "\x02" + character
    return "\x03" + character


def collation_key(text: str) -> str:
    """A key that orders text as en-US comparison ignoring case and accents does (module docstring)."""
    base = text if text.isascii() else _base_letters(text)
    return "".join(map(_weighted, lower(base)))
