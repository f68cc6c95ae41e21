"""The module ``ampc compile`` writes, formatted as black formats it, in one black pass over the code that needs it.

Only the ``render`` function's layout depends on the script (long calls to
wrap, nesting), so black formats that function.  The statements around it
have a handful of fixed shapes (the docstring, ``from ... import ...``,
``NAME = "text"`` or ``{...}``, ``check_compiled_from(...)``,
``run_if_main(...)``); `_laid_out` writes them the way black writes them,
and black never sees them.  On a 30-line script that is a third of black's
time (black takes about 1.5 ms for a six-entry dict).  Whatever
`_laid_out` does not recognise (a file name with quotes, a line too long
to be sure of black's choice) sends the whole module through black, so the
result is always black's.  Only names that are identifiers, integers and
strings of characters that need no escaping reach `_laid_out`'s text, so
no script can change its structure; the tests check, over the golden
corpus, that the result equals black's formatting of the whole module.
"""

from __future__ import annotations

import ast
import re

import libcst as cst

from .emitters.readable import python_literal

LINE_LENGTH = 88  # black's default, which ``ampc compile`` uses
_INDENT = "    "


def format_module(module: cst.Module, ampscript_source: str | None = None) -> str:
    """The source of `module`, formatted as ``black`` would format it (see the module docstring).

    With `ampscript_source`, the source map goes between ``render`` and the
    trailer (`source_map`).
    """
    functions = [index for index, statement in enumerate(module.body) if isinstance(statement, cst.FunctionDef)]
    if len(functions) != 1:
        return format_python(module.code)
    [at] = functions
    header, function, trailer = module.body[:at], module.body[at], module.body[at + 1:]
    text = _formatted_block(header) + "\n\n\n" + _formatted_function(cst.Module(body=[function]).code)
    if ampscript_source is not None:
        text += "\n\n" + source_map(text, ampscript_source)  # two blank lines after a function, as black puts them
    if trailer:
        text += ("\n" if ampscript_source is not None else "\n\n") + _formatted_block(trailer) + "\n"
    return text


def _formatted_function(code: str) -> str:
    """The render function formatted by black, its position comments taken out first and put back after.

    The comments (``# file.amp:LINE:COL``, one above each statement) are
    a third of the function's lines; black would only copy them to the
    line above the same statement, at its indentation, which is what
    putting them back does.  Statements are matched in order (black adds
    and removes none), so each comment goes back above its own statement.
    The tests check the result equals black's formatting of it all.
    """
    lines = code.split("\n")
    kept: list[str] = []
    comments: dict[int, list[str]] = {}  # line (in `kept`, from 1) of a statement -> the comments above it
    for line in lines:
        if _MARKER.match(line):
            comments.setdefault(len(kept) + 1, []).append(line.strip())
        else:
            kept.append(line)
    if not comments:
        return format_python(code)
    starts = _statement_lines("\n".join(kept))
    order = {line: index for index, line in enumerate(starts)}
    if any(line not in order for line in comments):
        return format_python(code)  # a comment not right above a statement: let black place it
    formatted = format_python("\n".join(kept))
    formatted_lines = formatted.split("\n")
    formatted_starts = _statement_lines(formatted)
    if len(formatted_starts) != len(starts):
        return format_python(code)
    for line in sorted(comments, reverse=True):  # from the bottom, so earlier line numbers stay put
        at = formatted_starts[order[line]] - 1
        indentation = formatted_lines[at][: len(formatted_lines[at]) - len(formatted_lines[at].lstrip())]
        formatted_lines[at:at] = [indentation + comment for comment in comments[line]]
    return "\n".join(formatted_lines)


def _statement_lines(code: str) -> list[int]:
    """The first line of every statement (an ``elif`` counts as one, at its own line), in order."""
    found: list[int] = []

    def visit(statements: list[ast.stmt]) -> None:
        for statement in statements:
            found.append(statement.lineno)
            for field in ("body", "orelse"):
                visit(getattr(statement, field, []))

    visit(ast.parse(code).body)
    return found


def _formatted_block(statements: list[cst.BaseStatement]) -> str:
    """Top-level statements as black writes them (laid out here when `_laid_out` knows them all), without the final newline."""
    lines = _laid_out_block(statements)
    if lines is not None:
        return "\n".join(lines)
    return format_python(cst.Module(body=statements).code).rstrip("\n")


# A statement's position comment in the readable module (`ampc.emitters.readable`).
_MARKER = re.compile(r"^\s*# .*:(\d+):(\d+)$")


def source_map(module_text: str, ampscript_source: str) -> str:
    """``AMPSCRIPT_POSITIONS`` and ``AMPSCRIPT_SOURCE``, as black writes them, for the formatted `module_text`.

    The positions say, for the first Python line of each statement of
    ``render``, the AMPscript line and column it comes from (what the
    ``# file.amp:LINE:COL`` comment above it says); with the AMPscript text
    itself, the runtime locates errors and shows their line from data,
    even where the module's source is not at hand (a ``.pyc`` deployed
    alone).  They come after ``render``, so they move none of its lines.
    """
    entries = []
    for number, line in enumerate(module_text.splitlines(), start=1):
        match = _MARKER.match(line)
        if match:
            entries.append(f"({number + 1}, {int(match.group(1))}, {int(match.group(2))})")
    if not entries:
        positions = "AMPSCRIPT_POSITIONS = ()"
    elif len(entries) == 1 and _width(f"AMPSCRIPT_POSITIONS = ({entries[0]},)") <= LINE_LENGTH:
        positions = f"AMPSCRIPT_POSITIONS = ({entries[0]},)"
    else:
        positions = "\n".join(["AMPSCRIPT_POSITIONS = (", *(f"{_INDENT}{entry}," for entry in entries), ")"])
    literal = black_string(ampscript_source)
    if _width(f"AMPSCRIPT_SOURCE = {literal}") > LINE_LENGTH and _width(_INDENT + literal) <= LINE_LENGTH:
        source = f"AMPSCRIPT_SOURCE = (\n{_INDENT}{literal}\n)\n"  # black's parentheses: then it fits
    else:
        source = f"AMPSCRIPT_SOURCE = {literal}\n"
    # No comment explains them: the module's only comments are the statements' positions (the
    # hostile-input tests hold it to that); ampc.shape and the README say what they are.
    return positions + "\n" + source


def format_python(code: str) -> str:
    """`code` formatted by black, in one pass.

    ``black.format_str`` formats twice when the first pass changed anything
    (for trailing commas that a second pass would treat differently); the
    generated code never has those, so one pass gives the same result (the
    tests check that black leaves the output unchanged) at two thirds of
    the cost.  black is imported here: only ``ampc compile`` formats.
    """
    import black

    mode = black.Mode(target_versions={black.TargetVersion.PY311})
    format_once = getattr(black, "_format_str_once", None)  # black's own first pass
    return format_once(code, mode=mode) if format_once is not None else black.format_str(code, mode=mode)


# ---- the statements around render() ------------------------------------------------------


def _laid_out_block(statements: list[cst.BaseStatement]) -> list[str] | None:
    """The lines black writes for top-level `statements` (blank lines included), or None when unsure."""
    lines: list[str] = []
    previous: str | None = None  # the kind of the statement before
    for statement in statements:
        laid_out = _laid_out(statement)
        if laid_out is None:
            return None
        kind, text = laid_out
        # black: one blank line after the module docstring and after the imports, none elsewhere here.
        if previous == "docstring" or (previous == "import" and kind != "import"):
            lines.append("")
        lines.extend(text)
        previous = kind
    return lines


def _laid_out(statement: cst.BaseStatement) -> tuple[str, list[str]] | None:
    """(kind, lines) for one statement of a shape the generator writes around render(), else None."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1 or statement.leading_lines:
        return None
    [small] = statement.body
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString):
        docstring = small.value.value
        return ("docstring", [docstring]) if _is_plain_docstring(docstring) else None
    if isinstance(small, cst.ImportFrom):
        return _import(small)
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        value = _value(small.value)
        if value is None:
            return None
        return "assign", _bracketed(f"{small.targets[0].target.value} = ", value, "")
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        call = small.value
        names = [_name(argument.value) for argument in call.args if not argument.keyword and not argument.star]
        function = _name(call.func)
        if function is None or None in names or len(names) != len(call.args):
            return None
        line = f"{function}({', '.join(names)})"
        return ("call", [line]) if _width(line) <= LINE_LENGTH else None
    return None


def _import(statement: cst.ImportFrom) -> tuple[str, list[str]] | None:
    module = _dotted(statement.module)
    if module is None or statement.relative or isinstance(statement.names, cst.ImportStar):
        return None
    names = [_name(alias.name) for alias in statement.names if alias.asname is None]
    if None in names or len(names) != len(statement.names):
        return None
    return "import", _bracketed(f"from {module} import ", (names, "(", ")"), "")


def _value(expression: cst.BaseExpression) -> str | tuple[list[str], str, str] | None:
    """A name, a plain string, or a dict of plain strings to tuples of integers: its text, or (items, open, close)."""
    name = _name(expression)
    if name is not None:
        return name
    if isinstance(expression, cst.SimpleString):
        return _string(expression)
    if isinstance(expression, cst.Dict) and not expression.lpar:
        items = []
        for element in expression.elements:
            if not isinstance(element, cst.DictElement):
                return None
            key, value = _string(element.key), _integers(element.value)
            if key is None or value is None:
                return None
            items.append(f"{key}: {value}")
        return items, "{", "}"
    return None


def _bracketed(head: str, value: str | tuple[list[str], str, str], tail: str) -> list[str] | None:
    """``head value tail`` on one line if it fits, else black's exploded form: one item per line, trailing comma."""
    if isinstance(value, str):
        line = head + value + tail
        return [line] if _width(line) <= LINE_LENGTH else None
    items, opening, closing = value
    joined = ", ".join(items)
    # An import has no parentheses when it fits; a dict keeps its braces.
    one_line = head + (joined if opening == "(" else opening + joined + closing) + tail
    if _width(one_line) <= LINE_LENGTH:
        return [one_line]
    exploded = [f"{head}{opening}", *(f"{_INDENT}{item}," for item in items), f"{closing}{tail}"]
    return exploded if all(_width(line) <= LINE_LENGTH for line in exploded) else None


def _width(line: str) -> int:
    """A line's width as black measures it (East Asian wide characters count two), for its line length."""
    if line.isascii():
        return len(line)
    try:
        from black.strings import str_width  # black's own measure (black >= 23.4)
    except ImportError:
        return len(line)
    return str_width(line)


def _name(expression: cst.BaseExpression) -> str | None:
    if isinstance(expression, cst.Name) and not expression.lpar and expression.value.isidentifier():
        return expression.value
    return None


def _dotted(expression: cst.BaseExpression | None) -> str | None:
    if isinstance(expression, cst.Attribute) and not expression.lpar:
        base = _dotted(expression.value)
        return None if base is None else f"{base}.{expression.attr.value}"
    return _name(expression) if expression is not None else None


def _string(expression: cst.BaseExpression) -> str | None:
    """The literal black writes for a string literal node."""
    if not isinstance(expression, cst.SimpleString) or expression.lpar:
        return None
    text = expression.evaluated_value
    return black_string(text) if isinstance(text, str) else None


def black_string(text: str) -> str:
    """A one-line literal of `text` in the quotes black chooses: double, unless single ones need fewer escapes.

    black keeps a literal's double quotes unless switching to single
    quotes would escape fewer characters, that is unless the text has
    more ``"`` than ``'``.  Everything but the quotes is escaped as
    ``repr`` escapes it (backslashes, control and unprintable characters),
    so the literal always evaluates to `text` (tests/test_formatting.py
    checks both, on any text).
    """
    quote = "'" if text.count('"') > text.count("'") else '"'
    # Split on the quotes: repr() of a piece without quotes escapes only the rest.
    pieces = re.split("([\"'])", text)
    body = "".join(
        ("\\" + piece if piece == quote else piece) if piece in ('"', "'") else repr(piece)[1:-1] for piece in pieces
    )
    return f"{quote}{body}{quote}"


def _integers(expression: cst.BaseExpression) -> str | None:
    """``(1, 2)`` for a tuple of non-negative integer literals."""
    if not isinstance(expression, cst.Tuple) or not expression.elements:
        return None
    values = []
    for element in expression.elements:
        if not isinstance(element.value, cst.Integer) or not element.value.value.isdigit():
            return None
        values.append(str(int(element.value.value)))
    return f"({', '.join(values)}{',' if len(values) == 1 else ''})"


def _is_plain_docstring(literal: str) -> bool:
    """A one-line ``\"\"\"text\"\"\"`` that black leaves as it is."""
    if not (literal.startswith('"""') and literal.endswith('"""') and len(literal) > 6):
        return False
    text = literal[3:-3]
    return (text.isprintable() and text == text.strip() and '"' not in text and "\\" not in text
            and _width(literal) <= LINE_LENGTH)
