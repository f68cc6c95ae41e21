"""Compile errors, and the source file they point into."""

from __future__ import annotations

from ampscript.errors import AMPscriptError

from .diagnostics import Diagnostic


class CompileError(AMPscriptError):
    """One problem found while compiling.

    `problems` holds every problem found in the same run (this one first), so
    that `ampc check` can report them all; `str()` shows them all.
    """

    def __init__(self, message: str, *, code: str = "AMP001", **location) -> None:
        super().__init__(message, **location)
        self.code = code  # see ampc.diagnostics.CODES
        self.problems: list[CompileError] = [self]

    def as_diagnostic(self) -> Diagnostic:
        return Diagnostic(
            self.code, self.message, self.filename or "<ampscript>", self.line, self.column,
            self.source_line, self.hint,
        )

    @classmethod
    def collect(cls, problems: list[CompileError]) -> CompileError:
        first = problems[0]
        first.problems = list(problems)
        return first

    def __str__(self) -> str:
        return "\n".join(problem.format() for problem in self.problems)


class SourceFile:
    """AMPscript text with its name, for building located errors."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text
        # Only "\n" ends a line, as in Lark's line counting (str.splitlines would
        # also split on form feeds and other separators and shift line numbers).
        self._lines = text.split("\n")

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based (line, column) of an offset into the text."""
        line = self.text.count("\n", 0, offset) + 1
        start = self.text.rfind("\n", 0, offset) + 1
        return line, offset - start + 1

    def line(self, number: int) -> str:
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return ""

    def error(
        self, message: str, line: int, column: int | None, hint: str | None = None, *, code: str = "AMP001"
    ) -> CompileError:
        return CompileError(
            message,
            code=code,
            filename=self.name,
            line=line,
            column=column,
            source_line=self.line(line),
            hint=hint,
        )

    def diagnostic(
        self, code: str, message: str, span, hint: str | None = None
    ) -> Diagnostic:
        """A warning or deferred error at `span` (an `ampc.nodes.Span`)."""
        return Diagnostic(
            code, message, self.name, span.line, span.column, self.line(span.line), hint,
            span.end_line, span.end_column,
        )
