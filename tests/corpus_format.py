"""Golden corpus files: AMPscript in, expected output (or error) out.

A corpus file (``tests/corpus/<category>/<topic>.txt``) holds any number of
cases::

    === Concat joins values (https://developer.salesforce.com/...concat.html)
    %%=Concat("a", 1)=%%
    --- output
    a1
    === Row index out of range
    %%[ set @r = Row(BuildRowsetFromString("a", ","), 2) ]%%
    --- error
    Invalid index

A case starts with a ``=== title`` line (cite the reference page there when
the case comes from it) followed by the AMPscript source, then exactly one of:

* ``--- output``: the exact output expected;
* ``--- error``: text that the error message must contain (a compile or
  runtime error).

Optional sections between the source and the expectation:

* ``--- subscriber``: a JSON object of subscriber attributes;
* ``--- context``: a JSON object of `ampscript.Context` options, e.g.
  ``{"now": "2026-01-05T14:30:00"}``; ``"request"`` holds the keyword
  arguments of an `ampscript.request.Request` (a CloudPage's request), e.g.
  ``{"request": {"method": "POST", "url": "http://127.0.0.1:8000/p", "form": {"a": "1"}}}``.

Every section's text runs up to the next marker line, without the newline
that ends its last line; write ``\\n`` at the end of an output when it must end
in a newline (the escapes ``\\n``, ``\\r``, ``\\t`` and ``\\\\`` are decoded in
``--- output`` only, and only when the line ``--- output (escaped)`` is used).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

_MARKER = re.compile(r"^(===|---) ?(.*)$")


@dataclass
class Case:
    file: Path
    line: int
    title: str
    source: str
    output: str | None = None
    error: str | None = None
    subscriber: dict | None = None
    context: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.file.parent.name}/{self.file.stem}:{self.line}:{self.title[:50]}"


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t", "\\": "\\"}.get(m.group(1), m.group(0)), text)


def load_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    current: Case | None = None
    section: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if current is None:
            return
        text = "\n".join(lines)
        if section == "source":
            current.source = text
        elif section == "output":
            current.output = text
        elif section == "output (escaped)":
            current.output = _unescape(text)
        elif section == "error":
            current.error = text.strip()
        elif section == "subscriber":
            current.subscriber = json.loads(text)
        elif section == "context":
            current.context = json.loads(text)
        else:
            raise ValueError(f"{path}: unknown section {section!r}")

    text = path.read_text(encoding="utf-8")
    text = text[:-1] if text.endswith("\n") else text  # the file's own final newline belongs to no section
    for number, raw in enumerate(text.split("\n"), start=1):
        match = _MARKER.match(raw)
        if match and match.group(1) == "===":
            flush()
            current = Case(path, number, match.group(2).strip(), "")
            cases.append(current)
            section, lines = "source", []
        elif match and match.group(1) == "---" and current is not None:
            flush()
            section, lines = match.group(2).strip(), []
        elif current is not None:
            lines.append(raw)
    flush()
    for case in cases:
        if (case.output is None) == (case.error is None):
            raise ValueError(f"{path}:{case.line}: a case needs exactly one of '--- output' and '--- error'")
    return cases
