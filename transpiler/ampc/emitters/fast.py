"""Python `ast` nodes positioned at AMPscript lines: the emitter for code that is only run.

``compile()`` takes the tree as it is, so a run-time compile costs neither
libcst nor black nor re-parsing Python source.  Each node is made with the
position of the AMPscript statement it belongs to (`position`), and each
call of an AMPscript function the position of the call itself: line
numbers of the code objects are AMPscript lines and their column offsets
UTF-8 byte offsets into them, as Python's own are, so a traceback shows
the ``.amp`` line with its carets under the call that failed.  The module's
``AMPSCRIPT_STATEMENTS`` (`statements`) lists where each statement starts
(line, byte offset, column), so that ``ampscript.rendering._locate`` finds
the statement an instruction belongs to from the code object alone.

AMPscript values reach the tree only as `ast.Constant` strings and
integers: no input can change the module's structure.
"""

from __future__ import annotations

import ast
from typing import Any

from . import NOT_LITERAL

_LOAD = ast.Load()
_STORE = ast.Store()
_OPERATORS = {"and": ast.And(), "or": ast.Or()}
_BINARY = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult}


class FastEmitter:
    """Builds an `ast.Module`; every node has the position last given to `position`."""

    lines_are_ampscript = True

    def __init__(self, source: str = "") -> None:
        self._lines = source.split("\n")  # as Lark counts lines
        self._at: dict[str, int] = {"lineno": 1, "col_offset": 0, "end_lineno": 1, "end_col_offset": 1}
        self._statements: set[tuple[int, int, int]] = set()

    def position(self, line: int, column: int) -> None:
        offset = self._byte_offset(line, column)
        self._at = {"lineno": line, "col_offset": offset, "end_lineno": line, "end_col_offset": offset + 1}
        self._statements.add((line, offset, column))

    def statements(self) -> list[tuple[int, int, int]]:
        """(line, byte offset, column) of every statement start given to `position`, in order."""
        return sorted(self._statements)

    def _byte_offset(self, line: int, column: int) -> int:
        """The UTF-8 byte offset of 1-based `column` in `line` (what Python's column offsets count)."""
        text = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        return len(text[: column - 1].encode("utf-8", "surrogatepass"))

    # ---- expressions ---------------------------------------------------------------

    def string(self, text: str) -> ast.Constant:
        return ast.Constant(text, **self._at)

    def integer(self, value: int) -> ast.Constant:
        return ast.Constant(value, **self._at)

    def constant(self, value: bool | None) -> ast.Constant:
        return ast.Constant(value, **self._at)

    def name(self, identifier: str) -> ast.Name:
        return ast.Name(identifier, _LOAD, **self._at)

    def attribute(self, value: ast.expr, attribute: str) -> ast.Attribute:
        return ast.Attribute(value, attribute, _LOAD, **self._at)

    def call(self, function: ast.expr, arguments: list[ast.expr], span: Any = None) -> ast.Call:
        """A call; `span` (an AMPscript function call's `ampc.nodes.Span`) positions it at the call itself."""
        if span is None:
            return ast.Call(function, arguments, [], **self._at)
        return ast.Call(
            function, arguments, [],
            lineno=span.line, col_offset=self._byte_offset(span.line, span.column),
            end_lineno=span.end_line, end_col_offset=self._byte_offset(span.end_line, span.end_column),
        )

    def subscript(self, value: ast.expr, key: ast.expr) -> ast.Subscript:
        return ast.Subscript(value, key, _LOAD, **self._at)

    def binary(self, operator: str, left: ast.expr, right: ast.expr) -> ast.BinOp:
        return ast.BinOp(left, _BINARY[operator](), right, **self._at)

    def not_(self, operand: ast.expr) -> ast.UnaryOp:
        return ast.UnaryOp(ast.Not(), operand, **self._at)

    def boolean(self, operator: str, operands: list[ast.expr]) -> ast.BoolOp:
        # One BoolOp holds any number of operands: no nesting, however long the chain.
        return ast.BoolOp(_OPERATORS[operator], operands, **self._at)

    def if_exp(self, test: ast.expr, body: ast.expr, orelse: ast.expr) -> ast.IfExp:
        return ast.IfExp(test, body, orelse, **self._at)

    def group(self, expression: ast.expr) -> ast.expr:
        return expression  # a tree needs no parentheses

    def dict_(self, pairs: list[tuple[ast.expr, ast.expr]]) -> ast.Dict:
        return ast.Dict([key for key, _ in pairs], [value for _, value in pairs], **self._at)

    def tuple_(self, items: list[ast.expr]) -> ast.Tuple:
        return ast.Tuple(items, _LOAD, **self._at)

    @staticmethod
    def literal_value(expression: ast.expr) -> Any:
        if isinstance(expression, ast.Constant) and type(expression.value) in (str, int):
            return expression.value
        return NOT_LITERAL

    # ---- statements ----------------------------------------------------------------

    def expression_statement(self, expression: ast.expr, leading: None = None) -> ast.Expr:
        return ast.Expr(expression, **self._at)

    def assign(self, targets: list[ast.expr], value: ast.expr, leading: None = None) -> ast.Assign:
        return ast.Assign([_stored(target) for target in targets], value, **self._at)

    def pass_(self) -> ast.Pass:
        return ast.Pass(**self._at)

    def if_chain(self, branches: list[tuple[Any, ast.expr, list[ast.stmt]]], else_body: list[ast.stmt] | None) -> ast.If:
        """``if``/``elif``/``else``: each ``elif`` is an `ast.If` alone in the previous one's orelse."""
        orelse = else_body or []
        for _, test, body in reversed(branches):
            position = {key: getattr(test, key) for key in ("lineno", "col_offset", "end_lineno", "end_col_offset")}
            orelse = [ast.If(test, body, orelse, **position)]
        return orelse[0]

    def for_(self, target: ast.expr, iterable: ast.expr, body: list[ast.stmt], leading: None = None) -> ast.For:
        position = {key: getattr(iterable, key) for key in ("lineno", "col_offset", "end_lineno", "end_col_offset")}
        return ast.For(_stored(target), iterable, body, [], **position)

    def docstring(self, text: str) -> ast.Expr:
        return ast.Expr(self.string(text), **self._at)

    def import_from(self, module: str, names: list[str]) -> ast.ImportFrom:
        return ast.ImportFrom(module, [ast.alias(name, **self._at) for name in names], 0, **self._at)

    def render_module(self, header: list[ast.stmt], start: ast.expr, body: list[ast.stmt], docstring: str,
                      trailer: list[ast.stmt] = ()) -> ast.Module:
        """``def render(context=None, variables=None): <docstring>; with <start> as page: <body>; return page.output``.

        The annotations of the readable module are left out: nothing reads them.
        """
        self.position(1, 1)
        page = ast.Name("page", _STORE, **self._at)
        with_page = ast.With([ast.withitem(start, page)], body, **self._at)
        returned = ast.Return(self.attribute(self.name("page"), "output"), **self._at)
        parameters = ast.arguments(
            [], [ast.arg("context", **self._at), ast.arg("variables", **self._at)], None, [], [], None,
            [self.constant(None), self.constant(None)],
        )
        render = ast.FunctionDef(
            "render", parameters, [self.docstring(docstring), with_page, returned], [], None, **self._at
        )
        return ast.Module([*header, render, *trailer], [])


def _stored(target: ast.expr) -> ast.expr:
    """The target of an assignment or loop: the same node, in store context."""
    target.ctx = _STORE
    return target
