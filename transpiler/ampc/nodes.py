"""The typed AST: the only contract between the parser and the code generator.

Every node carries a `Span` pointing back into the AMPscript source, so that
the code generator can tag each generated statement with its AMPscript line
and every compile error can show where it comes from.

Names are kept as written (`@FirstName`, `concat`); canonicalising their case
is the code generator's job, since AMPscript is case-insensitive throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Union


@dataclass(frozen=True)
class Span:
    """Where a node starts and ends: 1-based lines and columns, 0-based offsets."""

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int


# ---- Expressions -------------------------------------------------------------


@dataclass
class StringLiteral:
    value: str
    span: Span


@dataclass
class NumberLiteral:
    value: int | Decimal
    text: str
    span: Span


@dataclass
class BooleanLiteral:
    value: bool
    span: Span


@dataclass
class Variable:
    """`@name`; `name` includes the `@`."""

    name: str
    span: Span


@dataclass
class Attribute:
    """A subscriber attribute or system string: `emailaddr`, `[First Name]`, `%%FirstName%%`."""

    name: str
    span: Span


@dataclass
class Call:
    name: str
    args: list[Expression]
    span: Span
    name_span: Span
    # `Msg(0).Verb`, `.Nouns`, `.Noun(i)`: the member read ("verb", "nouns", "noun"), given to Msg() as
    # its second argument (and the noun's position as its third); None for a plain call.
    member: str | None = None


@dataclass
class Not:
    operand: Expression
    span: Span


@dataclass
class Comparison:
    operator: str  # one of == != < > <= >=
    left: Expression
    right: Expression
    span: Span


@dataclass
class Logical:
    """`and` / `or` over two or more operands, evaluated left to right."""

    operator: str  # "and" | "or"
    operands: list[Expression]
    span: Span


Expression = Union[
    StringLiteral, NumberLiteral, BooleanLiteral, Variable, Attribute, Call, Not, Comparison, Logical
]


# ---- Statements and template content -----------------------------------------


@dataclass
class Text:
    """Literal text outside AMPscript, output byte for byte."""

    value: str
    span: Span


@dataclass
class InlineExpression:
    """`%%= expr =%%` or a `%%Attribute%%` personalization string: outputs a value."""

    expression: Expression
    span: Span


@dataclass
class Personalization:
    """`%%Name%%` in text: the attribute's value, or the text unchanged when there is no such attribute."""

    name: str
    written: str  # the whole `%%Name%%`, printed when the attribute does not exist
    span: Span


@dataclass
class SendTimeContent:
    """Content syndication, `%%httpget "URL"%%` or `%%before; httpget "URL"%%`: the body fetched from URL."""

    url: str
    before: bool  # `before;`: the fetched content is rendered as AMPscript content
    span: Span


@dataclass
class ServerJavaScript:
    """A `<script runat="server">` block in a language other than AMPscript (SSJS): unsupported."""

    language: str  # as the tag says; "" when it says none (JavaScript, the default)
    span: Span


@dataclass
class Unevaluated:
    """A statement Marketing Cloud parses but does not evaluate.

    A bare expression (`@a`, `5<5`) or an assignment without `set`
    (`@a = 1`): nothing runs, `@a` keeps its value.  Kept in the AST so that
    `ampc check` can warn about it.
    """

    expression: Expression
    target: Variable | None  # the variable of `@a = ...`; None for a bare expression
    span: Span


@dataclass
class VarDeclaration:
    variables: list[Variable]
    span: Span


@dataclass
class Assignment:
    target: Variable
    value: Expression
    span: Span


@dataclass
class CallStatement:
    call: Call
    span: Span


@dataclass
class Branch:
    condition: Expression
    body: list[Node]
    span: Span


@dataclass
class If:
    """`if`, any number of `elseif`, an optional `else`, then `endif`."""

    branches: list[Branch]
    else_body: list[Node] | None
    span: Span


@dataclass
class For:
    variable: Variable
    start: Expression
    stop: Expression
    descending: bool  # `downto`
    body: list[Node]
    span: Span


Node = Union[
    Text, InlineExpression, Personalization, SendTimeContent, ServerJavaScript, Unevaluated,
    VarDeclaration, Assignment, CallStatement, If, For,
]


@dataclass
class Template:
    """A whole AMPscript file (or content fragment)."""

    body: list[Node]
    filename: str
    source: str = field(repr=False)


# ---- Walking the tree (shared by the check passes) -------------------------------


def bodies_of(statement: If | For) -> list[list[Node]]:
    """The statement lists an if (each branch, the else) or a for holds."""
    if isinstance(statement, For):
        return [statement.body]
    bodies = [branch.body for branch in statement.branches]
    if statement.else_body is not None:
        bodies.append(statement.else_body)
    return bodies


def expressions_of(statement: Node) -> list[Expression]:
    """The expressions a statement holds itself (not those in its bodies)."""
    if isinstance(statement, (InlineExpression, Unevaluated)):
        return [statement.expression]
    if isinstance(statement, Assignment):
        return [statement.value]
    if isinstance(statement, CallStatement):
        return [statement.call]
    if isinstance(statement, If):
        return [branch.condition for branch in statement.branches]
    if isinstance(statement, For):
        return [statement.start, statement.stop]
    return []


def statements(nodes: list[Node]) -> Iterator[Node]:
    """Every statement, in source order, entering if and for bodies (without recursion)."""
    pending = list(reversed(nodes))
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, (If, For)):
            for body in reversed(bodies_of(node)):
                pending.extend(reversed(body))


def calls_in(root: Expression) -> Iterator[Call]:
    """The calls in an expression, outer ones first, in source order."""
    pending = [root]
    while pending:
        expression = pending.pop()
        if isinstance(expression, Call):
            yield expression
            pending.extend(reversed(expression.args))
        elif isinstance(expression, Not):
            pending.append(expression.operand)
        elif isinstance(expression, Comparison):
            pending.extend((expression.right, expression.left))
        elif isinstance(expression, Logical):
            pending.extend(reversed(expression.operands))
