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

import libcst as cst

LINE_LENGTH = 88  # black's default, which ``ampc compile`` uses
_INDENT = "    "


def format_module(module: cst.Module) -> str:
    """The source of `module`, formatted as ``black`` would format it (see the module docstring)."""
    functions = [index for index, statement in enumerate(module.body) if isinstance(statement, cst.FunctionDef)]
    if len(functions) != 1:
        return format_python(module.code)
    [at] = functions
    header, function, trailer = module.body[:at], module.body[at], module.body[at + 1:]
    header_lines = _laid_out_block(header)
    trailer_lines = _laid_out_block(trailer)
    if header_lines is None or trailer_lines is None:
        return format_python(module.code)
    parts = []
    if header_lines:
        parts.append("\n".join(header_lines) + "\n\n\n")
    parts.append(format_python(cst.Module(body=[function]).code))
    if trailer_lines:
        parts.append("\n\n" + "\n".join(trailer_lines) + "\n")
    return "".join(parts)


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
        return ("call", [line]) if len(line) <= LINE_LENGTH else None
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
        return [line] if len(line) <= LINE_LENGTH else None
    items, opening, closing = value
    joined = ", ".join(items)
    # An import has no parentheses when it fits; a dict keeps its braces.
    one_line = head + (joined if opening == "(" else opening + joined + closing) + tail
    if len(one_line) <= LINE_LENGTH:
        return [one_line]
    exploded = [f"{head}{opening}", *(f"{_INDENT}{item}," for item in items), f"{closing}{tail}"]
    return exploded if all(len(line) <= LINE_LENGTH for line in exploded) else None


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
    """The double-quoted literal black writes for a string of plain characters (none it would escape)."""
    if not isinstance(expression, cst.SimpleString) or expression.lpar:
        return None
    text = expression.evaluated_value
    if not isinstance(text, str) or not text.isprintable() or any(c in text for c in "\"'\\"):
        return None
    return f'"{text}"'


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
            and len(literal) <= LINE_LENGTH)
