"""Errors that point at AMPscript source.

Both the compiler (`ampc`) and the runtime raise subclasses of `AMPscriptError`,
and both print them the same way, the way compilers do:

    page.amp:12:5: error: unknown function 'Concatt'
       12 | set @x = Concatt("a", "b")
          |          ^
    hint: did you mean 'Concat'?

The formatter lives here, in the runtime, because the runtime may not import
the compiler but the compiler may import the runtime.
"""

from __future__ import annotations


class AMPscriptError(Exception):
    """An error located in an AMPscript file: file, line, column, and the line itself."""

    def __init__(
        self,
        message: str,
        *,
        filename: str | None = None,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename
        self.line = line
        self.column = column
        self.source_line = source_line
        self.hint = hint

    def locate(
        self,
        filename: str | None,
        line: int | None,
        column: int | None = None,
        source_line: str | None = None,
    ) -> AMPscriptError:
        """Fill in the location if it is not known yet (the innermost location wins)."""
        if self.line is None:
            self.filename, self.line, self.column = filename, line, column
            self.source_line = source_line
        elif self.source_line is None and source_line is not None and filename == self.filename:
            self.source_line = source_line
        return self

    def format(self) -> str:
        return format_diagnostic(
            self.message,
            filename=self.filename,
            line=self.line,
            column=self.column,
            source_line=self.source_line,
            hint=self.hint,
        )

    def __str__(self) -> str:
        return self.format()


class ScriptError(AMPscriptError):
    """An error raised while a compiled script runs (Marketing Cloud would stop the send)."""


class RaisedError(ScriptError):
    """An error the script raised on purpose with RaiseError().

    ``skip_send``: only this subscriber's send is skipped (not the whole send);
    ``error_code`` / ``api_error_number``: the script's own codes;
    ``preserve_data_extension_changes``: data extension writes made before
    the error are kept (otherwise the render's writes are rolled back).
    """

    def __init__(
        self,
        message: str,
        *,
        skip_send: bool = False,
        error_code: str | None = None,
        api_error_number: object = None,
        preserve_data_extension_changes: bool = False,
        **kwargs,
    ):
        super().__init__(message, **kwargs)
        self.skip_send = skip_send
        self.error_code = error_code
        self.api_error_number = api_error_number
        self.preserve_data_extension_changes = preserve_data_extension_changes


def format_diagnostic(
    message: str,
    *,
    filename: str | None,
    line: int | None,
    column: int | None,
    source_line: str | None,
    hint: str | None = None,
    severity: str = "error",
) -> str:
    where = filename or "<ampscript>"
    if line is not None:
        where += f":{line}"
        if column is not None:
            where += f":{column}"
    parts = [f"{where}: {severity}: {message}"]
    if source_line is not None and line is not None:
        shown, caret = _excerpt(source_line.rstrip("\r\n").expandtabs(1), column)
        gutter = str(line)
        parts.append(f" {gutter} | {shown}")
        if caret is not None:
            parts.append(f" {' ' * len(gutter)} | {' ' * caret}^")
    if hint:
        parts.append(f"hint: {hint}")
    return "\n".join(parts)


# Lines longer than this are shown as a window around the column, so that an
# error in a long one-line template (or a hostile one) stays readable.
_LONGEST_SHOWN_LINE = 160
_WINDOW_BEFORE = 60


def _excerpt(text: str, column: int | None) -> tuple[str, int | None]:
    """The part of a source line to show, and the caret's offset in it (None: no caret)."""
    caret = max(column - 1, 0) if column is not None else None
    if len(text) <= _LONGEST_SHOWN_LINE:
        return text, caret
    start = max((caret or 0) - _WINDOW_BEFORE, 0)
    end = start + _LONGEST_SHOWN_LINE
    shown = text[start:end]
    if start > 0:
        shown, caret = "..." + shown, (caret - start + 3 if caret is not None else None)
    if end < len(text):
        shown += "..."
    return shown, caret
