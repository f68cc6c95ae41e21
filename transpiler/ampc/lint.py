"""The lint pass: what Marketing Cloud accepts silently but is probably a mistake.

Run by `ampc check` only (compiling never needs it).  Each finding is a
warning with a stable code (`ampc.diagnostics.CODES`, AMP101 and up).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ampscript import system_strings
from ampscript.registry import lookup
from ampscript.values import case

from . import nodes as n
from .calls import OUTPUT_FUNCTIONS
from .diagnostics import Diagnostic
from .errors import SourceFile

_STRAY_CLOSER = re.compile(r"\]%%|=%%")


def lint(template: n.Template, subscriber_names: set[str] | None = None) -> list[Diagnostic]:
    """Warnings for a parsed template.

    `subscriber_names` (folded) are the attributes the workspace's
    subscriber.json defines; None when it has none, and then personalization
    strings are not checked.
    """
    return _Linter(template, subscriber_names).run()


@dataclass
class _Uses:
    """Where a variable is declared, first written and first read (source offsets)."""

    declared: n.Variable | None = None
    first_write: int | None = None
    first_read: n.Variable | None = None
    reads: int = 0
    writes: int = 0


@dataclass
class _Linter:
    template: n.Template
    subscriber_names: set[str] | None
    found: list[Diagnostic] = field(default_factory=list)
    uses: dict[str, _Uses] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.file = SourceFile(self.template.filename, self.template.source)

    def run(self) -> list[Diagnostic]:
        for node in n.statements(self.template.body):
            self.statement(node)
        self.variables()
        return self.found

    def warn(self, code: str, message: str, span: n.Span, hint: str | None = None) -> None:
        self.found.append(self.file.diagnostic(code, message, span, hint))

    # ---- statements -----------------------------------------------------------------

    def statement(self, node: n.Node) -> None:
        if isinstance(node, n.Text):
            self.stray_closers(node)
        elif isinstance(node, n.Personalization):
            self.personalization(node)
        elif isinstance(node, n.Unevaluated):
            self.unevaluated(node)
            self.expressions(node.expression, evaluated=False)
        elif isinstance(node, n.VarDeclaration):
            for variable in node.variables:
                self.use(variable).declared = self.use(variable).declared or variable
        elif isinstance(node, n.Assignment):
            self.expressions(node.value)
            self.write(node.target)
        elif isinstance(node, n.InlineExpression):
            self.expressions(node.expression)
        elif isinstance(node, n.CallStatement):
            self.expressions(node.call)
        elif isinstance(node, n.If):
            for branch in node.branches:
                self.expressions(branch.condition)
        elif isinstance(node, n.For):
            self.expressions(node.start)
            self.expressions(node.stop)
            self.write(node.variable)
            self.loop_bounds(node)

    def stray_closers(self, node: n.Text) -> None:
        for match in _STRAY_CLOSER.finditer(node.value):
            line, column = self.file.position(node.span.start + match.start())
            span = n.Span(line, column, line, column + 3, 0, 0)
            self.warn(
                "AMP103",
                f"'{match.group()}' outside a code block is printed as text",
                span,
                hint="remove it if it was meant to close a block: no block is open here",
            )

    def personalization(self, node: n.Personalization) -> None:
        names = self.subscriber_names
        if names is None:
            return
        system_string = system_strings.lookup(node.name)
        candidates = (node.name, *(system_string.aliases if system_string else ()))
        if any(case.fold(name) in names for name in candidates):
            return
        if system_string is not None and system_string.default is not None:
            return  # a system string with a value of its own (emailaddr, jobid...)
        self.warn(
            "AMP104",
            f"{node.written} is not an attribute in the workspace's subscriber.json; "
            "an attribute that does not exist prints as written",
            node.span,
            hint=f"add \"{node.name}\" to subscriber.json, or check its spelling",
        )

    def unevaluated(self, node: n.Unevaluated) -> None:
        if node.target is not None:
            self.warn(
                "AMP101",
                f"assignment without 'set' is never evaluated: {node.target.name} keeps its value",
                node.span,
                hint=f"did you mean `set {node.target.name} = ...`?",
            )
        else:
            self.warn(
                "AMP102",
                "this expression is parsed but never evaluated, so it has no effect",
                node.span,
                hint="print a value with %%= ... =%%, or keep it with set @name = ...",
            )

    def loop_bounds(self, node: n.For) -> None:
        start, stop = node.start, node.stop
        if not (isinstance(start, n.NumberLiteral) and isinstance(stop, n.NumberLiteral)):
            return
        never = start.value < stop.value if node.descending else start.value > stop.value
        if never:
            direction = "downto" if node.descending else "to"
            other = "to" if node.descending else "downto"
            self.warn(
                "AMP109",
                f"'for {node.variable.name} = {start.text} {direction} {stop.text}' never runs",
                node.span,
                hint=f"to count the other way, write 'for {node.variable.name} = {start.text} {other} {stop.text}'",
            )

    # ---- expressions ----------------------------------------------------------------

    def expressions(self, root: n.Expression, *, evaluated: bool = True) -> None:
        pending = [root]
        while pending:
            expression = pending.pop()
            if isinstance(expression, n.Variable):
                if evaluated:
                    self.read(expression)
            elif isinstance(expression, n.Call):
                self.call(expression, evaluated)
                pending.extend(expression.args)
            elif isinstance(expression, n.Not):
                pending.append(expression.operand)
            elif isinstance(expression, n.Comparison):
                self.self_comparison(expression)
                pending.extend((expression.left, expression.right))
            elif isinstance(expression, n.Logical):
                pending.extend(expression.operands)

    def call(self, call: n.Call, evaluated: bool) -> None:
        spec = lookup(call.name)
        if spec is not None and evaluated:
            for position in spec.out_params:
                if position < len(call.args) and isinstance(call.args[position], n.Variable):
                    variable = call.args[position]
                    self.write(variable)
        if call.name.lower() in OUTPUT_FUNCTIONS:
            printed_nothing = [arg for arg in call.args if not isinstance(arg, n.Call)]
            name = spec.name if spec is not None else call.name
            if printed_nothing:
                self.warn(
                    "AMP105",
                    f"{name}() prints only the results of function calls; this argument prints nothing",
                    printed_nothing[0].span,
                    hint=f"wrap the value in v(): {name}(v(...))",
                )
            elif not call.args and name.lower() == "output":
                self.warn(
                    "AMP105", "Output() with no argument prints nothing", call.span,
                    hint="remove it, or give it a value: Output(v(@name))",
                )

    def self_comparison(self, comparison: n.Comparison) -> None:
        left, right = _shape(comparison.left), _shape(comparison.right)
        if left is not None and left == right:
            self.warn(
                "AMP108",
                f"'{comparison.operator}' compares a value with itself, so the result never changes",
                comparison.span,
                hint="compare with another value",
            )

    # ---- variables ----------------------------------------------------------------------

    def use(self, variable: n.Variable) -> _Uses:
        return self.uses.setdefault(case.fold(variable.name), _Uses())

    def write(self, variable: n.Variable) -> None:
        uses = self.use(variable)
        uses.writes += 1
        if uses.first_write is None or variable.span.start < uses.first_write:
            uses.first_write = variable.span.start

    def read(self, variable: n.Variable) -> None:
        uses = self.use(variable)
        uses.reads += 1
        if uses.first_read is None or variable.span.start < uses.first_read.span.start:
            uses.first_read = variable

    def variables(self) -> None:
        for uses in self.uses.values():
            if uses.declared is not None and not uses.reads and not uses.writes:
                self.warn(
                    "AMP106",
                    f"{uses.declared.name} is declared but never set or read",
                    uses.declared.span,
                    hint="remove it from the var list",
                )
            first = uses.first_read
            if first is not None and (uses.first_write is None or first.span.start < uses.first_write):
                never = uses.first_write is None
                self.warn(
                    "AMP107",
                    f"{first.name} is read before it is set{' (it is never set)' if never else ''}, "
                    "so it is empty here",
                    first.span,
                    hint=f"set {first.name} = ... before reading it, or check the spelling",
                )


def _shape(expression: n.Expression) -> tuple | None:
    """A comparable form of a simple operand (ignoring its position), or None for anything else."""
    if isinstance(expression, n.Variable):
        return ("variable", case.fold(expression.name))
    if isinstance(expression, n.Attribute):
        return ("attribute", case.fold(expression.name))
    if isinstance(expression, n.StringLiteral):
        return ("string", expression.value)
    if isinstance(expression, n.NumberLiteral):
        return ("number", expression.value)
    if isinstance(expression, n.BooleanLiteral):
        return ("boolean", expression.value)
    return None
