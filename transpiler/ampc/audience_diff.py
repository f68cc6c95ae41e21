"""``ampc diff``: which subscribers' messages a template change affects, grouped by the kind of change.

Both versions are rendered for every subscriber of the audience (or the new
one is compared with an earlier ``ampc batch --out FILE.jsonl``), under the
same clock and seed, so the only differences are the template's.

The kind of a change is the lines it removes and adds, with what is
particular to the subscriber masked: each attribute value of the row
becomes ``«Name»`` (ignoring case, as a template may change it), a GUID
``«GUID»``, and digits ``#``.  "Hello Ana" → "Hi Ana" and
"Hello Bo" → "Hi Bo" are one kind; a price that moved for one subscriber
is another.  Each kind is reported with its count and the unified diff of
its first subscribers (``--all``: every subscriber's).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .batch import Rendered, text_of

_DIGITS = re.compile(r"\d+")
_GUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


@dataclass
class Change:
    key: str
    diff: list[str]  # the unified diff's lines


@dataclass
class Kind:
    shape: tuple[str, ...]
    changes: list[Change] = field(default_factory=list)


@dataclass
class DiffReport:
    compared: int = 0
    kinds: dict[tuple[str, ...], Kind] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(len(kind.changes) for kind in self.kinds.values())

    def add(self, row: Mapping[str, Any], old: Rendered, new: Rendered, old_name: str, new_name: str) -> None:
        self.compared += 1
        before, after = text_of(old), text_of(new)
        if before == after:
            return
        lines = list(
            difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True),
                f"{old_name} ({new.key})", f"{new_name} ({new.key})",
            )
        )
        shape = _shape(lines, row)
        self.kinds.setdefault(shape, Kind(shape)).changes.append(Change(new.key, lines))

    def lines(self, *, shown: int = 1, everything: bool = False) -> Iterator[str]:
        yield (
            f"{self.changed:,} of {self.compared:,} messages changed"
            + (f", {len(self.kinds):,} kind{'s' if len(self.kinds) != 1 else ''} of change" if self.kinds else "")
        )
        ordered = sorted(self.kinds.values(), key=lambda kind: -len(kind.changes))
        for number, kind in enumerate(ordered, start=1):
            changes = kind.changes
            keys = ", ".join(change.key for change in changes[:5]) + (", ..." if len(changes) > 5 else "")
            yield ""
            yield f"kind {number}: {len(changes):,} message{'s' if len(changes) != 1 else ''} ({keys})"
            for change in changes if everything else changes[:shown]:
                for line in change.diff:
                    yield line.rstrip("\n")


def _shape(diff: Iterable[str], row: Mapping[str, Any]) -> tuple[str, ...]:
    """The changed lines of a diff, with the subscriber's own values masked and digits as #."""
    values = sorted(
        ((str(value), str(name)) for name, value in row.items() if value not in (None, "") and len(str(value)) > 1),
        key=lambda item: -len(item[0]),
    )
    patterns = [
        (re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE), f"\u00ab{name}\u00bb") for value, name in values
    ]
    shape = []
    for line in diff:
        if line.startswith(("---", "+++", "@@")) or not line.startswith(("-", "+")):
            continue
        text = line.rstrip("\n")
        for pattern, placeholder in patterns:  # longest values first; case ignored (ProperCase([FirstName]))
            text = pattern.sub(placeholder, text)
        shape.append(_DIGITS.sub("#", _GUID.sub("\u00abGUID\u00bb", text)))
    return tuple(shape)
