"""What the compiler passes report: errors and warnings, each with a stable code.

Every pass (parse, check, emit, lint) writes to one `Diagnostics` object.
Errors stop compilation (they are raised together as one `CompileError`);
warnings never do.  One kind sits in between: a call with the wrong number of
arguments compiles, because Marketing Cloud checks argument counts only when
the call runs; it is *deferred*: an error for `ampc check`, a warning for
`ampc compile` and `ampc run`, and a runtime error if the call is reached.

The codes are stable (tools and CI filter on them) and listed in `CODES`,
which the README's table mirrors (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ampscript.errors import format_diagnostic

# code -> (severity, what it means).  Add new codes at the end of a group; never reuse one.
CODES: dict[str, tuple[str, str]] = {
    "AMP000": ("error", "the file cannot be read (missing, a folder, not UTF-8)"),
    "AMP001": ("error", "syntax error"),
    "AMP002": ("error", "if/for structure: a missing or stray endif, next, else or elseif"),
    "AMP003": ("error", "nested too deeply"),
    "AMP004": ("error", "var declaration Marketing Cloud rejects (re-declared inside an if)"),
    "AMP005": ("error", "server-side JavaScript, which ampc cannot compile"),
    "AMP010": ("error", "unknown function"),
    "AMP011": ("error", "AMPscript function that ampc does not support yet"),
    "AMP012": ("error", "function Marketing Cloud rejects when it validates the content"),
    "AMP013": ("error", "wrong number of arguments (fails when the call runs)"),
    "AMP014": ("error", "an out-parameter given a value instead of a variable"),
    "AMP015": ("error", "a call Marketing Cloud refuses as an argument"),
    "AMP016": ("error", "function Marketing Cloud rejects where the script runs (--context)"),
    "AMP017": ("error", "a part of a call other than Msg(0).Verb, .Nouns or .Noun(i)"),
    "AMP101": ("warning", "assignment without 'set': parsed, never evaluated"),
    "AMP102": ("warning", "expression statement: parsed, never evaluated"),
    "AMP103": ("warning", "']%%' or '=%%' in text, printed as text"),
    "AMP104": ("warning", "personalization string the workspace's subscriber.json does not define"),
    "AMP105": ("warning", "Output()/OutputLine() of something other than a function call prints nothing"),
    "AMP106": ("warning", "variable declared with var but never set or read"),
    "AMP107": ("warning", "variable read before any set"),
    "AMP108": ("warning", "comparison of a value with itself"),
    "AMP109": ("warning", "for loop that never runs: literal bounds in the wrong order"),
}

# Errors that do not stop compilation (see the module docstring).
DEFERRED = {"AMP013"}


@dataclass
class Diagnostic:
    code: str
    message: str
    filename: str
    line: int | None
    column: int | None
    source_line: str | None = None
    hint: str | None = None
    end_line: int | None = None
    end_column: int | None = None

    @property
    def severity(self) -> str:
        return CODES[self.code][0]

    @property
    def deferred(self) -> bool:
        return self.code in DEFERRED

    def format(self, severity: str | None = None) -> str:
        return format_diagnostic(
            self.message,
            filename=self.filename,
            line=self.line,
            column=self.column,
            source_line=self.source_line,
            hint=self.hint,
            severity=severity or self.severity,
        )

    def as_json(self) -> dict:
        return {
            "file": self.filename,
            "line": self.line,
            "column": self.column,
            "end": {"line": self.end_line, "column": self.end_column} if self.end_line is not None else None,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class Diagnostics:
    """What the passes found that does not stop compilation: warnings and deferred errors."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def extend(self, diagnostics: list[Diagnostic]) -> None:
        self.items.extend(diagnostics)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.items, key=lambda item: (item.filename, item.line or 0, item.column or 0, item.code))
