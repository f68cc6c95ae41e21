"""Compile errors, and the source file they point into."""

from __future__ import annotations

from ampscript.errors import AMPscriptError


class CompileError(AMPscriptError):
    """One problem found while compiling.

    `problems` holds every problem found in the same run (this one first), so
    that `ampc check` can report them all; `str()` shows them all.
    """

    def __init__(self, message: str, **location) -> None:
        super().__init__(message, **location)
        self.problems: list[CompileError] = [self]

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

    def line(self, number: int) -> str:
        if 1 <= number <= len(self._lines):
            return self._lines[number - 1]
        return ""

    def error(self, message: str, line: int, column: int | None, hint: str | None = None) -> CompileError:
        return CompileError(
            message,
            filename=self.name,
            line=line,
            column=column,
            source_line=self.line(line),
            hint=hint,
        )
