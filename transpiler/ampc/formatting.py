"""The module ``ampc compile`` writes, formatted as black formats it, with black run only where it changes something.

black takes 3-4x Jinja2's whole compile to format even a small module, and
almost everything ampc generates is already in black's layout: libcst
writes each statement on one line with black's spacing, and the strings
in black's quotes (`ampc.emitters.readable.black_string`).  So:

* the statements around ``render`` (the docstring, ``from ... import
  ...``, ``NAME = "text"`` or ``{...}``, ``check_compiled_from(...)``,
  ``run_if_main(...)``) are written as black writes them (`_laid_out`):
  on one line when they fit, exploded with a trailing comma when not;
* in ``render``, a line that fits and holds no parentheses black would
  drop is kept; any other simple statement is formatted by black alone,
  at its depth's width (`_formatted_function`).

Whatever is not recognised (a file name black would quote differently, a
compound statement's header too long to fit) goes to black whole, so the
result is always black's; the tests check, over the samples, a sample of
the golden corpus and awkward file names, that it equals black's
formatting of the whole module (it did over the whole corpus when this
was written).  Only identifiers, integers and `black_string` literals
reach the text written here, so no script can change its structure.
"""

from __future__ import annotations

import re

import libcst as cst
from ampscript.rendering import POSITION_COMMENT

from .emitters.readable import black_string

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
    """The render function as black formats it, black run only on the lines that need it.

    libcst writes every statement of ``render`` on one line, with black's
    spacing and (`black_string`) black's quotes, so a line that fits in
    black's width and holds no parentheses black would drop is already
    black's (`_is_black_line`).  Each other simple statement is formatted
    alone, at its depth's width (black measures a line with its
    indentation), and indented back.  A compound statement's header that
    does not fit sends the whole function to black.  The tests check the
    result equals black's formatting of the whole module.
    """
    lines: list[str] = []
    for line in code.split("\n"):
        body = line.lstrip(" ")
        indentation = line[: len(line) - len(body)]
        if not body or POSITION_COMMENT.match(line) or _is_black_line(line, body):
            lines.append(line)
        elif body.endswith(":") or body.startswith(('"', "'")):
            return format_python(code)  # a header or docstring black would change: black decides it all
        else:
            formatted = format_python(body + "\n", LINE_LENGTH - len(indentation))
            lines.extend(indentation + piece if piece else piece for piece in formatted.rstrip("\n").split("\n"))
    return "\n".join(lines)


# Parentheses black makes invisible when they wrap a whole statement part: the value of an
# assignment or return, the test of if/elif/while, the iterable of for (and `del`, `with`, `assert`).
_DROPPABLE_PARENTHESES = re.compile(r"(?:^|[^=!<>]=\s|\b(?:return|if|elif|while|in|del|with|assert)\s)\(")


def _is_black_line(line: str, body: str) -> bool:
    """Whether black leaves this line of libcst's as it is: it fits, and no parentheses would go."""
    if _width(line) > LINE_LENGTH or _DROPPABLE_PARENTHESES.search(body):
        return False
    if body.startswith(('"', "'")):
        return _is_plain_docstring(body)
    return True


def _formatted_block(statements: list[cst.BaseStatement]) -> str:
    """Top-level statements as black writes them (laid out here when `_laid_out` knows them all), without the final newline."""
    lines = _laid_out_block(statements)
    if lines is not None:
        return "\n".join(lines)
    return format_python(cst.Module(body=statements).code).rstrip("\n")




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
        match = POSITION_COMMENT.match(line)
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


def format_python(code: str, line_length: int = LINE_LENGTH) -> str:
    """`code` formatted by black, in one pass.

    ``black.format_str`` formats twice when the first pass changed anything
    (for trailing commas that a second pass would treat differently); the
    generated code never has those, so one pass gives the same result (the
    tests check that black leaves the output unchanged) at two thirds of
    the cost.  black is imported here: only ``ampc compile`` formats.
    """
    import black

    mode = black.Mode(target_versions={black.TargetVersion.PY311}, line_length=line_length)
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
