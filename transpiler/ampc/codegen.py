"""AST -> Python module, built from libcst nodes (formatted with black for ``ampc compile``).

The generated module is meant to be read and stepped through:

    def render(context: Context | None = None) -> str:
        with Page.start(context, AMPSCRIPT_FILE) as page:
            var = page.var
            # welcome.amp:2:1
            var["@name"] = Concat("Hi ", attribute("FirstName"))
            # welcome.amp:3:4
            page.write("<p>", var["@name"], "</p>")
            ...
        return page.output

* AMPscript variables live in ``var``, a dict keyed by their names folded to
  lower case (``var["@name"]``), so that every access is a plain dict
  operation and a debugger shows them as a dict.
* Adjacent text and one value are written by one ``page.write`` call; V()
  is its argument; text functions of literals are computed at compile time
  (`_FOLDABLE`).
* Each statement is preceded by a ``# file.amp:LINE:COL`` comment; the
  runtime reads these back to put AMPscript lines in its error messages.
* Functions are called by their canonical AMPscript names, imported from
  ``ampscript.functions``; out-parameters get ``var.ref("@name")`` cells.

Everything that comes from the AMPscript source reaches the Python code only
as a string literal made by `python_literal` (or as an integer), never as
code: no input can change the module's structure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import libcst as cst
from ampscript.registry import FunctionSpec, lookup
from ampscript.variables import fold

from . import nodes as n
from .calls import OUTPUT_FUNCTIONS, arity_message

# Functions of text alone (no context, culture, clock or data), computed at
# compile time when all their arguments are string literals
# (`_Generator.folded_call`); results longer than `_FOLDED_MAX` stay calls.
_FOLDABLE = {"uppercase", "lowercase", "concat", "trim", "length"}
_FOLDED_MAX = 10_000
_NO_SPAN = n.Span(0, 0, 0, 0, 0, 0)  # for a number the compiler computed (numbers need no position)

# Signed 64-bit: an integer literal outside it prints and computes as 0, as
# Marketing Cloud's engineers observed (issue 9).
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# Past these lengths, elseif chains and and/or chains are lowered in groups
# (`_Generator.long_if_chain`, `_boolean_chain`), so that no length of them
# nests the Python deeply.
_BRANCHES_PER_CHAIN = 50
_OPERANDS_PER_CHAIN = 16

_COMPARISONS = {"==": "eq", "!=": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}

def python_literal(text: str) -> cst.SimpleString:
    """A Python string literal for any text (quotes, backslashes, NUL, newlines...)."""
    literal = repr(text)  # repr() always yields a single-line literal that evaluates to `text`
    return cst.SimpleString(literal)


def docstring_literal(text: str) -> cst.SimpleString:
    """A triple-quoted docstring when the text allows one, else an ordinary literal."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return cst.SimpleString(f'"""{text}"""')
    return python_literal(text)


def generate(template: n.Template, *, readable: bool = True) -> str:
    """The Python module for a template that passed the checks (black-formatted if `readable`).

    The check passes (`ampc.calls` and the others in `ampc.compiler`) have
    found nothing wrong: the generator only emits.
    """
    code = _Generator(template).module().code
    return format_python(code) if readable else code


def format_python(code: str) -> str:
    """The module formatted by black, in one pass.

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


def _comment_safe(text: str) -> str:
    """A file name made safe for a one-line comment."""
    return "".join(c if c.isprintable() else "?" for c in text)


class _Generator:
    def __init__(self, template: n.Template) -> None:
        self.template = template
        self.comment_name = _comment_safe(template.filename.replace("\\", "/").rsplit("/", 1)[-1])
        self.functions_used: set[str] = set()
        self.helpers_used: set[str] = set()
        self.uses_decimal = False
        self.last_marker: tuple[int, int] | None = None
        self.long_chains = 0  # if statements lowered by long_if_chain, for unique flag names
        self.call_sites: dict[str, tuple[int, int]] = {}  # function -> where it is first called

    # ---- module ------------------------------------------------------------------

    def module(self) -> cst.Module:
        body = [self.simple(self.assign(cst.Name("var"), cst.Attribute(cst.Name("page"), cst.Name("var"))))]
        body += self.block(self.template.body)

        with_page = cst.With(
            items=[
                cst.WithItem(
                    item=self.call(
                        cst.Attribute(cst.Name("Page"), cst.Name("start")),
                        [cst.Name("context"), cst.Name("AMPSCRIPT_FILE")]
                        + ([cst.Name("FUNCTION_CALLS")] if self.call_sites else []),
                    ),
                    asname=cst.AsName(name=cst.Name("page")),
                )
            ],
            body=cst.IndentedBlock(body=body),
        )
        render = cst.FunctionDef(
            name=cst.Name("render"),
            params=cst.Parameters(
                params=[
                    cst.Param(
                        name=cst.Name("context"),
                        annotation=cst.Annotation(
                            cst.BinaryOperation(cst.Name("Context"), cst.BitOr(), cst.Name("None"))
                        ),
                        default=cst.Name("None"),
                    )
                ]
            ),
            returns=cst.Annotation(cst.Name("str")),
            body=cst.IndentedBlock(
                body=[
                    self.simple(cst.Expr(docstring_literal(f"Render {self.template.filename} and return its output."))),
                    with_page,
                    cst.SimpleStatementLine([cst.Return(cst.Attribute(cst.Name("page"), cst.Name("output")))]),
                ]
            ),
        )
        header = [
            self.simple(
                cst.Expr(
                    docstring_literal(
                        f"Compiled by ampc from {self.template.filename}; edit the AMPscript, not this file."
                    )
                )
            ),
            *self.imports(),
            self.simple(self.assign(cst.Name("AMPSCRIPT_FILE"), python_literal(self.template.filename))),
        ]
        if self.call_sites:
            # Where each function is first called: Page.start checks them against the context's kind.
            header.append(self.simple(self.assign(cst.Name("FUNCTION_CALLS"), cst.Dict([
                cst.DictElement(
                    python_literal(name),
                    cst.Tuple([cst.Element(cst.Integer(str(line))), cst.Element(cst.Integer(str(column)))]),
                )
                for name, (line, column) in sorted(self.call_sites.items())
            ]))))
        return cst.Module(body=[*header, render])

    def imports(self) -> list[cst.SimpleStatementLine]:
        lines = []
        if self.uses_decimal:
            lines.append(self.import_from("decimal", ["Decimal"]))
        lines.append(self.import_from("ampscript", ["Context"]))
        if self.functions_used:
            lines.append(self.import_from("ampscript.functions", sorted(self.functions_used)))
        lines.append(self.import_from("ampscript.runtime", sorted({"Page", *self.helpers_used})))
        return lines

    # ---- statements ------------------------------------------------------------------

    def block(self, nodes: list[n.Node]) -> list[cst.BaseStatement]:
        statements = []
        for node in _merge_output(nodes):
            statement = self.statement(node)
            if isinstance(statement, cst.FlattenSentinel):
                statements.extend(statement.nodes)
            elif statement is not None:
                statements.append(statement)
        return statements or [cst.SimpleStatementLine([cst.Pass()])]

    def statement(self, node: n.Node) -> cst.BaseStatement | None:
        marker = self.marker(node.span)
        if isinstance(node, n.Text):
            return self.simple(cst.Expr(self.page_write(python_literal(node.value))), marker)
        if isinstance(node, _Output):
            return self.merged_output(node, marker)
        if isinstance(node, (n.InlineExpression, n.Personalization, n.SendTimeContent)):
            return self.simple(cst.Expr(self.page_write(self.output_value(node))), marker)
        if isinstance(node, n.ServerJavaScript):
            raise AssertionError("server-side JavaScript reached the code generator (ampc.calls rejects it)")
        if isinstance(node, n.Unevaluated):
            return None  # parsed, never evaluated (its calls were checked by ampc.calls)
        if isinstance(node, n.VarDeclaration):
            names = [python_literal(self.variable_name(v)) for v in node.variables]
            return self.simple(cst.Expr(self.call(cst.Attribute(cst.Name("var"), cst.Name("declare")), names)), marker)
        if isinstance(node, n.Assignment):
            return self.simple(self.assign(self.variable(node.target), self.expression(node.value)), marker)
        if isinstance(node, n.CallStatement):
            return self.simple(cst.Expr(self.expression(node.call)), marker)
        if isinstance(node, n.If):
            return self.if_statement(node, marker)
        if isinstance(node, n.For):
            return self.for_statement(node, marker)
        raise AssertionError(f"unknown node {node!r}")

    def merged_output(self, node: _Output, marker: list[cst.EmptyLine]) -> cst.SimpleStatementLine:
        """One ``page.write(...)`` for text and at most one value, under the value's marker.

        Only the value can fail, so an error still points at its own
        AMPscript position.
        """
        values: list[cst.BaseExpression] = []
        for item in node.items:
            if not isinstance(item, n.Text):
                values.append(self.output_value(item))
            elif values and isinstance(values[-1], cst.SimpleString):
                values[-1] = python_literal(values[-1].evaluated_value + item.value)  # adjacent texts join
            else:
                values.append(python_literal(item.value))
        return self.simple(cst.Expr(self.page_write(*values)), marker)

    def output_value(self, node: n.Node) -> cst.BaseExpression:
        """What an inline expression, personalization string or syndication string writes."""
        if isinstance(node, n.InlineExpression):
            return self.expression(node.expression)
        if isinstance(node, n.Personalization):
            return self.helper("personalization", [python_literal(node.name), python_literal(node.written)])
        assert isinstance(node, n.SendTimeContent)
        return self.helper(
            "send_time_content", [python_literal(node.url), cst.Name("True" if node.before else "False")]
        )

    def if_statement(self, node: n.If, marker: list[cst.EmptyLine]) -> cst.If | cst.FlattenSentinel:
        # Lower in source order (so markers follow the source).
        lowered = []
        for index, branch in enumerate(node.branches):
            lines = marker if index == 0 else self.marker(branch.span)
            test = self.condition(branch.condition)
            lowered.append((lines, test, self.block(branch.body)))
        else_body = self.block(node.else_body) if node.else_body is not None else None
        if len(lowered) <= _BRANCHES_PER_CHAIN:
            return self.if_chain(lowered, else_body)
        return self.long_if_chain(lowered, else_body)

    @staticmethod
    def if_chain(lowered: list, else_body: list[cst.BaseStatement] | None) -> cst.If:
        """``if``/``elif``/``else``, chained from the last branch backwards (each elif is an orelse)."""
        orelse: cst.If | cst.Else | None = None
        if else_body is not None:
            orelse = cst.Else(body=cst.IndentedBlock(else_body))
        for lines, test, body in reversed(lowered):
            orelse = cst.If(test=test, body=cst.IndentedBlock(body), orelse=orelse, leading_lines=lines)
        assert isinstance(orelse, cst.If)
        return orelse

    def long_if_chain(self, lowered: list, else_body: list[cst.BaseStatement] | None) -> cst.FlattenSentinel:
        """An if with very many elseif branches, as consecutive flat ``if`` chains.

        Python nests every ``elif`` inside the one before while parsing and
        compiling, so thousands of them exhaust its stack.  Instead, each
        group of branches is an ``if`` chain of its own, and a flag says
        whether a branch has been taken yet:

            elseif_pending_1 = True
            if <condition 1>:
                elseif_pending_1 = False
                <body 1>
            elif <condition 2>: ...
            if not elseif_pending_1:      (groups after the first)
                pass
            elif <condition 51>: ...
            if elseif_pending_1:
                <else body>

        Conditions are still evaluated in order and only until one is true.
        """
        self.long_chains += 1
        flag = cst.Name(f"elseif_pending_{self.long_chains}")
        clear = self.simple(self.assign(flag, cst.Name("False")))
        statements: list[cst.BaseStatement] = [self.simple(self.assign(flag, cst.Name("True")))]
        for start in range(0, len(lowered), _BRANCHES_PER_CHAIN):
            group = [(lines, test, [clear, *body]) for lines, test, body in lowered[start:start + _BRANCHES_PER_CHAIN]]
            if start:
                not_pending = cst.UnaryOperation(cst.Not(), flag)
                group.insert(0, ([], not_pending, [cst.SimpleStatementLine([cst.Pass()])]))
            statements.append(self.if_chain(group, None))
        if else_body is not None:
            statements.append(cst.If(test=flag, body=cst.IndentedBlock(else_body)))
        return cst.FlattenSentinel(statements)

    def for_statement(self, node: n.For, marker: list[cst.EmptyLine]) -> cst.For:
        helper = "for_downto" if node.descending else "for_to"
        self.helpers_used.add(helper)
        bounds = self.call(cst.Name(helper), [self.expression(node.start), self.expression(node.stop)])
        return cst.For(
            target=self.variable(node.variable),
            iter=bounds,
            body=cst.IndentedBlock(self.block(node.body)),
            leading_lines=marker,
        )

    def marker(self, span: n.Span) -> list[cst.EmptyLine]:
        """The `# file.amp:LINE:COL` comment that ties the next statement to its source."""
        position = (span.line, span.column)
        if position == self.last_marker:
            return []
        self.last_marker = position
        comment = f"# {self.comment_name}:{span.line}:{span.column}"
        return [cst.EmptyLine(comment=cst.Comment(comment))]

    # ---- expressions -----------------------------------------------------------------

    def condition(self, expression: n.Expression) -> cst.BaseExpression:
        lowered = self.expression(expression)
        return lowered if _is_boolean(expression) else self.helper("truthy", [lowered])

    def expression(self, node: n.Expression) -> cst.BaseExpression:
        if isinstance(node, n.StringLiteral):
            return python_literal(node.value)
        if isinstance(node, n.NumberLiteral):
            return self.number(node)
        if isinstance(node, n.BooleanLiteral):
            return cst.Name("True" if node.value else "False")
        if isinstance(node, n.Variable):
            return self.variable(node)
        if isinstance(node, n.Attribute):
            return self.helper("attribute", [python_literal(node.name)])
        if isinstance(node, n.Call):
            return self.function_call(node)
        if isinstance(node, n.Comparison):
            return self.helper(
                _COMPARISONS[node.operator], [self.expression(node.left), self.expression(node.right)]
            )
        if isinstance(node, n.Not):
            return cst.UnaryOperation(cst.Not(), _parenthesize(self.condition(node.operand)))
        if isinstance(node, n.Logical):
            operator = cst.And() if node.operator == "and" else cst.Or()
            operands = [_parenthesize(self.condition(operand)) for operand in node.operands]
            return _boolean_chain(operator, operands)
        raise AssertionError(f"unknown expression {node!r}")

    def number(self, node: n.NumberLiteral) -> cst.BaseExpression:
        value = node.value
        if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
            value = 0  # see _INT64_MIN
        if isinstance(value, Decimal):
            self.uses_decimal = True
            return self.call(cst.Name("Decimal"), [python_literal(str(value))])
        literal = cst.Integer(str(abs(value)))
        return cst.UnaryOperation(cst.Minus(), literal) if value < 0 else literal

    def variable(self, node: n.Variable) -> cst.Subscript:
        return cst.Subscript(
            value=cst.Name("var"),
            slice=[cst.SubscriptElement(cst.Index(python_literal(self.variable_name(node))))],
        )

    def variable_name(self, node: n.Variable) -> str:
        """The variable's key: its name folded to lower case (`ampscript.variables.fold`), as the runtime keys it."""
        return fold(node.name)

    def function_call(self, node: n.Call) -> cst.BaseExpression:
        spec = lookup(node.name)
        assert spec is not None, f"{node.name}() reached the code generator unchecked (ampc.calls)"
        self.call_sites.setdefault(spec.name, (node.name_span.line, node.name_span.column))
        if not spec.accepts(len(node.args)):
            return self.wrong_arity(spec, node)
        if spec.name.lower() == "iif":
            return self.iif(node)
        if spec.name.lower() == "v":
            # V() gives its argument as it is (ampscript.functions.utility.V): no call needed.
            return _parenthesize_any(self.expression(node.args[0]))
        arguments = []
        for position, argument in enumerate(node.args):
            if spec.name.lower() in OUTPUT_FUNCTIONS and not isinstance(argument, n.Call):
                continue  # prints nothing (see ampc.calls.OUTPUT_FUNCTIONS)
            if position in spec.out_params and isinstance(argument, n.Variable):
                ref = cst.Attribute(cst.Name("var"), cst.Name("ref"))
                arguments.append(self.call(ref, [python_literal(self.variable_name(argument))]))
            elif isinstance(argument, n.BooleanLiteral) and _parameter_kind(spec, position) == "text":
                # A boolean literal given straight to a text parameter is
                # empty: Concat(true, false) prints nothing, Length(true) is
                # 0 (https://sfmc.guide/engagement/differs-from-docs/#concat-booleans-swallowed).
                # A variable holding a boolean prints True/False as usual.
                arguments.append(python_literal(""))
            else:
                arguments.append(self.expression(argument))
        folded = self.folded_call(spec, arguments)
        if folded is not None:
            return folded
        self.functions_used.add(spec.name)
        return self.call(cst.Name(spec.name), arguments)

    def folded_call(self, spec: FunctionSpec, arguments: list[cst.BaseExpression]) -> cst.BaseExpression | None:
        """The result of a pure text function of literals, computed now: ``Uppercase("item")`` is "ITEM".

        Only functions whose result depends on nothing but their arguments
        (`_FOLDABLE`), and only when every (lowered) argument is a string or
        whole-number literal, so ``Concat(Uppercase("a"), "-", 1)`` folds
        too; if the function fails on them, the call stays, to fail when it
        runs.
        """
        if spec.name.lower() not in _FOLDABLE or not arguments:
            return None
        values = []
        for argument in arguments:
            if isinstance(argument, cst.SimpleString):
                values.append(argument.evaluated_value)
            elif isinstance(argument, cst.Integer):
                values.append(int(argument.value))
            else:
                return None
        from ampscript import (
            functions,  # the runtime computes it, so the result is the runtime's
        )

        try:
            result = getattr(functions, spec.name)(*values)
        except Exception:
            return None
        if type(result) is str and len(result) <= _FOLDED_MAX:
            return python_literal(result)
        if type(result) is int:
            return self.number(n.NumberLiteral(result, str(result), _NO_SPAN))
        return None

    def iif(self, node: n.Call) -> cst.BaseExpression:
        """IIf(condition, a, b) as Python's ``a if condition else b``: only the chosen value is evaluated.

        (https://sfmc.guide/engagement/ampscript/functions/iif/: a RaiseError
        in the branch not taken does not run.)  The condition is taken as
        conditions are (`ampscript.values.compare`): a value that is not a
        boolean is false, never an error.
        """
        condition, if_true, if_false = node.args
        return cst.IfExp(
            test=self.condition(condition),
            body=self.expression(if_true),
            orelse=self.expression(if_false),
            lpar=[cst.LeftParen()],
            rpar=[cst.RightParen()],
        )

    def wrong_arity(self, spec: FunctionSpec, node: n.Call) -> cst.BaseExpression:
        """A call with the wrong number of arguments: an error when (and only if) it runs.

        Marketing Cloud checks argument counts when a call is evaluated: a
        wrong-arity call in a branch that never runs does not stop the page
        (issue 10, observed on live CloudPages).  The call's arguments are
        not evaluated.
        """
        message = arity_message(spec, len(node.args))  # a deferred error of ampc.calls too
        line, column = node.span.line, node.span.column
        return self.helper("wrong_arity", [python_literal(message), cst.Integer(str(line)), cst.Integer(str(column))])

    # ---- small builders ------------------------------------------------------------

    def helper(self, name: str, arguments: list[cst.BaseExpression]) -> cst.Call:
        self.helpers_used.add(name)
        return self.call(cst.Name(name), arguments)

    def page_write(self, *values: cst.BaseExpression) -> cst.Call:
        return self.call(cst.Attribute(cst.Name("page"), cst.Name("write")), list(values))

    @staticmethod
    def call(function: cst.BaseExpression, arguments: list[cst.BaseExpression]) -> cst.Call:
        return cst.Call(func=function, args=[cst.Arg(argument) for argument in arguments])

    @staticmethod
    def assign(target: cst.BaseAssignTargetExpression, value: cst.BaseExpression) -> cst.Assign:
        return cst.Assign(targets=[cst.AssignTarget(target)], value=value)

    @staticmethod
    def simple(small: cst.BaseSmallStatement, leading: list[cst.EmptyLine] | None = None) -> cst.SimpleStatementLine:
        return cst.SimpleStatementLine(body=[small], leading_lines=leading or [])

    @staticmethod
    def import_from(module: str, names: list[str]) -> cst.SimpleStatementLine:
        dotted: cst.Attribute | cst.Name = cst.Name(module.split(".")[0])
        for part in module.split(".")[1:]:
            dotted = cst.Attribute(dotted, cst.Name(part))
        aliases = [cst.ImportAlias(cst.Name(name)) for name in names]
        return cst.SimpleStatementLine([cst.ImportFrom(module=dotted, names=aliases)])


_WRITTEN = (n.InlineExpression, n.Personalization, n.SendTimeContent)


@dataclass
class _Output:
    """Adjacent output merged into one write: texts and at most one value (`anchor`, else the first text)."""

    items: list[n.Node]
    anchor: n.Node

    @property
    def span(self) -> n.Span:
        return self.anchor.span


def _merge_output(nodes: list[n.Node]) -> list[n.Node | _Output]:
    """Group runs of text and written values, so that one ``page.write`` call writes each run.

    A group holds any number of texts and at most one value (an inline
    expression, personalization or syndication string): texts cannot fail,
    so the group's marker can be its value's, and every error keeps its
    position.  Statements in between (set, if, for...) end a group.
    """
    merged: list[n.Node | _Output] = []
    group: list[n.Node] = []
    value: n.Node | None = None

    def flush() -> None:
        nonlocal group, value
        if len(group) == 1:
            merged.append(group[0])
        elif group:
            merged.append(_Output(group, value if value is not None else group[0]))
        group, value = [], None

    for node in nodes:
        if isinstance(node, n.Text):
            group.append(node)
        elif isinstance(node, _WRITTEN):
            if value is not None:
                # A second value: the texts after the first value stay with it; this one starts anew.
                flush()
            group.append(node)
            value = node
        else:
            flush()
            merged.append(node)
    flush()
    return merged


def _parameter_kind(spec: FunctionSpec, position: int) -> str | None:
    """The AMPscript type of a function's parameter at `position` (the variadic one past the end)."""
    parameters = spec.parameters
    if position < len(parameters) and not parameters[position].variadic:
        return parameters[position].kind
    if parameters and parameters[-1].variadic:
        return parameters[-1].kind
    return None


def _is_boolean(expression: n.Expression) -> bool:
    """Does the lowered expression already give a Python bool (no truthy() needed)?"""
    if isinstance(expression, n.Call):
        spec = lookup(expression.name)
        return spec is not None and spec.returns_boolean
    return isinstance(expression, (n.Comparison, n.Not, n.Logical, n.BooleanLiteral))


def _boolean_chain(operator: cst.And | cst.Or, operands: list[cst.BaseExpression]) -> cst.BaseExpression:
    """``a and b and c ...``; past `_OPERANDS_PER_CHAIN` operands, parenthesized groups of chains.

    libcst nests a chain one level per operand, so thousands of operands
    would exhaust the stack; grouping keeps the nesting logarithmic, and
    ``and``/``or`` are associative, so evaluation order and short-circuiting
    are unchanged.
    """
    while len(operands) > _OPERANDS_PER_CHAIN:
        operands = [
            _parenthesize(_boolean_chain(operator, operands[start:start + _OPERANDS_PER_CHAIN]))
            for start in range(0, len(operands), _OPERANDS_PER_CHAIN)
        ]
    result = operands[0]
    for operand in operands[1:]:
        result = cst.BooleanOperation(result, operator, operand)
    return result


def _parenthesize_any(expression: cst.BaseExpression) -> cst.BaseExpression:
    """The expression in parentheses when it is a conditional or boolean operation (so it stays one operand)."""
    if isinstance(expression, (cst.BooleanOperation, cst.IfExp)) and not expression.lpar:
        return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expression


def _parenthesize(expression: cst.BaseExpression) -> cst.BaseExpression:
    """Parentheses around and/or nested in another operator, so precedence is explicit."""
    if isinstance(expression, cst.BooleanOperation):
        return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return expression
