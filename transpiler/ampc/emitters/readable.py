"""libcst nodes with ``# file.amp:LINE:COL`` comments: the emitter for modules people read (``ampc compile``).

The runtime finds the AMPscript position of a failing statement in such a
module from the nearest comment above it (`ampscript.rendering`).  Strings
are made by `black_string` (``repr``'s escapes, black's quotes), so no input can change the
module's structure.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from . import NOT_LITERAL

# libcst nests an and/or chain one level per operand; past this many
# operands the chain is built in parenthesized groups (`_Readable.boolean`).
_OPERANDS_PER_CHAIN = 16
_BINARY = {"+": cst.Add, "-": cst.Subtract, "*": cst.Multiply}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2}

# Whitespace and punctuation shared by every node that has them.  libcst
# nodes are immutable, so sharing is safe, and it spares building and
# validating (by regular expression) a fresh default for each of the
# hundreds of nodes a script makes: a fifth of the emitter's time.
_NONE = cst.SimpleWhitespace("")
_SPACE = cst.SimpleWhitespace(" ")
_END_OF_LINE = cst.TrailingWhitespace()
_LEFT_BRACKET, _RIGHT_BRACKET = cst.LeftSquareBracket(), cst.RightSquareBracket()


def python_literal(text: str) -> cst.SimpleString:
    """A Python string literal for any text (quotes, backslashes, NUL, newlines...)."""
    return cst.SimpleString(repr(text))  # repr() always yields a single-line literal that evaluates to `text`


def black_string(text: str) -> str:
    """A one-line literal of `text` in the quotes black chooses: double, unless single ones need fewer escapes.

    black keeps a literal's double quotes unless switching to single
    quotes would escape fewer characters, that is unless the text has
    more ``"`` than ``'``.  Everything but the quotes is escaped as
    ``repr`` escapes it (backslashes, control and unprintable characters),
    so the literal always evaluates to `text` (tests/test_formatting.py
    checks both, on any text).  ``ampc.formatting`` relies on it: a line
    whose strings are already black's needs no black pass.
    """
    quote = "'" if text.count('"') > text.count("'") else '"'
    # Split on the quotes: repr() of a piece without quotes escapes only the rest.
    pieces = re.split("([\"'])", text)
    body = "".join(
        ("\\" + piece if piece == quote else piece) if piece in ('"', "'") else repr(piece)[1:-1] for piece in pieces
    )
    return f"{quote}{body}{quote}"


def docstring_literal(text: str) -> cst.SimpleString:
    """A triple-quoted docstring when the text allows one, else an ordinary literal."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return cst.SimpleString(f'"""{text}"""')
    return python_literal(text)


def _comment_safe(text: str) -> str:
    """A file name made safe for a one-line comment."""
    return "".join(c if c.isprintable() else "?" for c in text)


class ReadableEmitter:
    """Builds a `libcst.Module`; `position` gives the comment line to put above the next statement."""

    lines_are_ampscript = False

    def __init__(self, filename: str) -> None:
        self.comment_name = _comment_safe(filename.replace("\\", "/").rsplit("/", 1)[-1])
        self._last: tuple[int, int] | None = None

    def position(self, line: int, column: int) -> list[cst.EmptyLine]:
        """The ``# file.amp:LINE:COL`` comment, or none when the previous statement had the same position."""
        if (line, column) == self._last:
            return []
        self._last = (line, column)
        comment = cst.Comment(f"# {self.comment_name}:{line}:{column}")
        return [cst.EmptyLine(whitespace=_NONE, comment=comment, newline=_END_OF_LINE.newline)]

    # ---- expressions ---------------------------------------------------------------

    @staticmethod
    def string(text: str) -> cst.SimpleString:
        return cst.SimpleString(black_string(text))  # black's own choice of quotes: no line changes for it

    @staticmethod
    def integer(value: int) -> cst.BaseExpression:
        literal = cst.Integer(str(abs(value)))
        return cst.UnaryOperation(cst.Minus(), literal) if value < 0 else literal

    @staticmethod
    def constant(value: bool | None) -> cst.Name:
        return cst.Name(repr(value))

    @staticmethod
    def name(identifier: str) -> cst.Name:
        return cst.Name(identifier)

    @staticmethod
    def attribute(value: cst.BaseExpression, attribute: str) -> cst.Attribute:
        return cst.Attribute(value, cst.Name(attribute))

    @staticmethod
    def call(function: cst.BaseExpression, arguments: list[cst.BaseExpression], span: object = None) -> cst.Call:
        return cst.Call(
            func=function,
            args=[cst.Arg(argument, whitespace_after_star=_NONE, whitespace_after_arg=_NONE) for argument in arguments],
            whitespace_after_func=_NONE, whitespace_before_args=_NONE,
        )

    @staticmethod
    def subscript(value: cst.BaseExpression, key: cst.BaseExpression) -> cst.Subscript:
        return cst.Subscript(value=value, slice=[cst.SubscriptElement(cst.Index(key))],
                             lbracket=_LEFT_BRACKET, rbracket=_RIGHT_BRACKET, whitespace_after_value=_NONE)

    @staticmethod
    def binary(operator: str, left: cst.BaseExpression, right: cst.BaseExpression) -> cst.BinaryOperation:
        """``left + right`` (or -, *), with the parentheses precedence needs (and around a negative right operand)."""
        rank = _PRECEDENCE[operator]
        if isinstance(left, cst.BinaryOperation) and _rank(left) < rank:
            left = _parenthesized(left, cst.BinaryOperation)
        if (isinstance(right, cst.BinaryOperation) and _rank(right) <= rank) or isinstance(right, cst.UnaryOperation):
            right = _parenthesized(right, (cst.BinaryOperation, cst.UnaryOperation))
        return cst.BinaryOperation(left, _BINARY[operator](), right)

    @staticmethod
    def not_(operand: cst.BaseExpression) -> cst.UnaryOperation:
        return cst.UnaryOperation(cst.Not(), _parenthesized(operand, cst.BooleanOperation))

    def boolean(self, operator: str, operands: list[cst.BaseExpression]) -> cst.BaseExpression:
        """``a and b and c ...``; past `_OPERANDS_PER_CHAIN` operands, parenthesized groups of chains.

        ``and``/``or`` are associative, so grouping changes neither the order
        of evaluation nor short-circuiting; it keeps libcst's nesting
        logarithmic.
        """
        operands = [_parenthesized(operand, cst.BooleanOperation) for operand in operands]
        while len(operands) > _OPERANDS_PER_CHAIN:
            operands = [
                _parenthesized(self.boolean(operator, operands[start:start + _OPERANDS_PER_CHAIN]),
                               cst.BooleanOperation)
                for start in range(0, len(operands), _OPERANDS_PER_CHAIN)
            ]
        result = operands[0]
        for operand in operands[1:]:
            result = cst.BooleanOperation(result, cst.And() if operator == "and" else cst.Or(), operand)
        return result

    @staticmethod
    def if_exp(test: cst.BaseExpression, body: cst.BaseExpression, orelse: cst.BaseExpression) -> cst.IfExp:
        return cst.IfExp(test=test, body=body, orelse=orelse, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    @staticmethod
    def group(expression: cst.BaseExpression) -> cst.BaseExpression:
        """Parentheses around a conditional or boolean operation, so it reads as one operand."""
        return _parenthesized(expression, (cst.BooleanOperation, cst.IfExp))

    @staticmethod
    def dict_(pairs: list[tuple[cst.BaseExpression, cst.BaseExpression]]) -> cst.Dict:
        return cst.Dict([cst.DictElement(key, value) for key, value in pairs])

    @staticmethod
    def tuple_(items: list[cst.BaseExpression]) -> cst.Tuple:
        return cst.Tuple([cst.Element(item) for item in items])

    @staticmethod
    def literal_value(expression: cst.BaseExpression) -> Any:
        if isinstance(expression, cst.SimpleString):
            return expression.evaluated_value
        if isinstance(expression, cst.Integer):
            return int(expression.value)
        if (isinstance(expression, cst.UnaryOperation) and isinstance(expression.operator, cst.Minus)
                and isinstance(expression.expression, cst.Integer)):
            return -int(expression.expression.value)
        return NOT_LITERAL

    # ---- statements ----------------------------------------------------------------

    @staticmethod
    def expression_statement(expression: cst.BaseExpression, leading: list[cst.EmptyLine] | None = None):
        return cst.SimpleStatementLine([cst.Expr(expression)], leading_lines=leading or (),
                                       trailing_whitespace=_END_OF_LINE)

    @staticmethod
    def assign(targets: list[cst.BaseAssignTargetExpression], value: cst.BaseExpression,
               leading: list[cst.EmptyLine] | None = None) -> cst.SimpleStatementLine:
        assignment = cst.Assign(
            targets=[cst.AssignTarget(target, whitespace_before_equal=_SPACE, whitespace_after_equal=_SPACE)
                     for target in targets],
            value=value,
        )
        return cst.SimpleStatementLine([assignment], leading_lines=leading or (), trailing_whitespace=_END_OF_LINE)

    @staticmethod
    def pass_() -> cst.SimpleStatementLine:
        return cst.SimpleStatementLine([cst.Pass()])

    @staticmethod
    def if_chain(branches: list[tuple[list[cst.EmptyLine], cst.BaseExpression, list[cst.BaseStatement]]],
                 else_body: list[cst.BaseStatement] | None) -> cst.If:
        """``if``/``elif``/``else``, chained from the last branch backwards (each elif is an orelse)."""
        orelse: cst.If | cst.Else | None = cst.Else(body=cst.IndentedBlock(else_body)) if else_body else None
        for leading, test, body in reversed(branches):
            orelse = cst.If(test=test, body=cst.IndentedBlock(body, header=_END_OF_LINE), orelse=orelse,
                            leading_lines=leading or (), whitespace_before_test=_SPACE, whitespace_after_test=_NONE)
        assert isinstance(orelse, cst.If)
        return orelse

    @staticmethod
    def for_(target: cst.BaseAssignTargetExpression, iterable: cst.BaseExpression,
             body: list[cst.BaseStatement], leading: list[cst.EmptyLine] | None = None) -> cst.For:
        return cst.For(target=target, iter=iterable, body=cst.IndentedBlock(body), leading_lines=leading or [])

    @staticmethod
    def docstring(text: str) -> cst.SimpleStatementLine:
        return cst.SimpleStatementLine([cst.Expr(docstring_literal(text))])

    @staticmethod
    def import_from(module: str, names: list[str]) -> cst.SimpleStatementLine:
        dotted: cst.Attribute | cst.Name = cst.Name(module.split(".")[0])
        for part in module.split(".")[1:]:
            dotted = cst.Attribute(dotted, cst.Name(part))
        aliases = [cst.ImportAlias(cst.Name(name)) for name in names]
        return cst.SimpleStatementLine([cst.ImportFrom(module=dotted, names=aliases)])

    def render_module(self, header: list[cst.BaseStatement], start: cst.BaseExpression,
                      body: list[cst.BaseStatement], docstring: str,
                      trailer: list[cst.BaseStatement] = ()) -> cst.Module:
        """``def render(context: Context | None = None, variables: dict | None = None) -> str:`` around ``with <start> as page:``."""
        with_page = cst.With(
            items=[cst.WithItem(item=start, asname=cst.AsName(name=cst.Name("page")))],
            body=cst.IndentedBlock(body=body),
        )
        def optional(name: str, kind: str) -> cst.Param:
            annotation = cst.Annotation(cst.BinaryOperation(cst.Name(kind), cst.BitOr(), cst.Name("None")))
            return cst.Param(name=cst.Name(name), annotation=annotation, default=cst.Name("None"))

        render = cst.FunctionDef(
            name=cst.Name("render"),
            params=cst.Parameters(params=[optional("context", "Context"), optional("variables", "dict")]),
            returns=cst.Annotation(cst.Name("str")),
            body=cst.IndentedBlock(body=[
                self.docstring(docstring),
                with_page,
                cst.SimpleStatementLine([cst.Return(cst.Attribute(cst.Name("page"), cst.Name("output")))]),
            ]),
        )
        return cst.Module(body=[*header, render, *trailer])


def _parenthesized(expression: cst.BaseExpression, kinds: type | tuple[type, ...]) -> cst.BaseExpression:
    if isinstance(expression, kinds) and not expression.lpar:
        return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expression


def _rank(operation: cst.BinaryOperation) -> int:
    return 2 if isinstance(operation.operator, cst.Multiply) else 1
