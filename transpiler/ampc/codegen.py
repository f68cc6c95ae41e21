"""AST -> Python module: the lowering, written once for both emitters (`ampc.emitters`).

The generated module is meant to be read and stepped through (what ``ampc
compile`` writes, through the readable emitter and black):

    def render(context: Context | None = None) -> str:
        with Page.start(context, AMPSCRIPT_FILE) as page:
            var = page.var
            # welcome.amp:2:1
            var["@name"] = Concat("Hi ", attribute("FirstName"))
            # welcome.amp:3:4
            page.write_value("<p>", var["@name"], "</p>")
            ...
        return page.output

* AMPscript variables live in ``var``, a dict keyed by their names folded to
  lower case (``var["@name"]``), so that every access is a plain dict
  operation and a debugger shows them as a dict.
* Adjacent text and one value are written by one ``page.write_value(before,
  value, after)`` call, text alone by ``page.write_text``; V()
  is its argument; text functions of literals are computed at compile time
  (`_FOLDABLE`).
* Every statement is tied to its AMPscript position: a ``# file.amp:LINE:COL``
  comment in the readable module, the code objects' own line and column in
  the fast one (`ampc.emitters`).
* Functions are called by their canonical AMPscript names, imported from
  ``ampscript.functions``; out-parameters get ``var.ref("@name")`` cells.

Everything that comes from the AMPscript source reaches the Python code only
as a string or integer literal node, never as code: no input can change the
module's structure.
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ampscript.registry import FunctionSpec, lookup
from ampscript.scripts import source_digest
from ampscript.values.numbers import EXACT_INT
from ampscript.variables import fold

from . import nodes as n
from .calls import OUTPUT_FUNCTIONS, arity_message
from .emitters import NOT_LITERAL, Emitter
from .emitters.fast import FastEmitter

# Functions of text alone (no context, culture, clock or data), computed at
# compile time when all their arguments are string literals
# (`_Generator.folded_call`); results longer than `_FOLDED_MAX` stay calls.
_FOLDABLE = {"uppercase", "lowercase", "concat", "trim", "length"}
_FOLDED_MAX = 10_000

# Signed 64-bit: an integer literal outside it prints and computes as 0, as
# Marketing Cloud's engineers observed (issue 9).
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# Past this many branches, elseif chains are lowered in groups
# (`_Generator.long_if_chain`), so that no length of them nests the Python deeply.
_BRANCHES_PER_CHAIN = 50

# Add, Subtract and Multiply of operands the compiler knows are Python ints
# (`_Generator.is_int`): the runtime helpers skip the conversions.
_INTEGER_ARITHMETIC = {"add": "add_ints", "subtract": "subtract_ints", "multiply": "multiply_ints"}
# ...and, when their values are known to stay exact (`_Generator.int_range`), Python's operators.
_INTEGER_OPERATORS = {"add": "+", "subtract": "-", "multiply": "*"}
_OPERATIONS = {"+": operator.add, "-": operator.sub, "*": operator.mul}

_COMPARISONS = {"==": "eq", "!=": "ne", "<": "lt", ">": "gt", "<=": "le", ">=": "ge"}


def generate(template: n.Template, *, readable: bool = True) -> str:
    """The source of the Python module for a template that passed the checks (black-formatted if `readable`).

    The check passes (`ampc.calls` and the others in `ampc.compiler`) have
    found nothing wrong: the generator only emits.
    """
    from .emitters.readable import ReadableEmitter  # libcst: only for modules people read
    from .formatting import format_module

    module = _Generator(template, ReadableEmitter(template.filename), standalone=True).module()
    return format_module(module, template.source) if readable else module.code


def generate_tree(template: n.Template) -> ast.Module:
    """The module as a Python syntax tree positioned at AMPscript lines, ready for ``compile()``."""
    return _Generator(template, FastEmitter(template.source)).module()


class _Generator:
    def __init__(self, template: n.Template, emit: Emitter, *, standalone: bool = False) -> None:
        self.template = template
        self.emit = emit
        # A module kept as a file (ampc compile): it warns when imported if its
        # .amp has changed, and renders when run as a script (ampscript.scripts).
        self.standalone = standalone
        self.functions_used: set[str] = set()
        self.helpers_used: set[str] = set()
        self.uses_decimal = False
        self.long_chains = 0  # if statements lowered by long_if_chain, for unique flag names
        self.call_sites: dict[str, tuple[int, int]] = {}  # function -> where it is first called
        # Variables that hold a Python int wherever the code being lowered
        # reads them: the counters of the loops around it (`_counter_stays_int`),
        # with the range of values they take when the loop's bounds are literals.
        self.int_variables: dict[str, tuple[int, int] | None] = {}

    # ---- module ------------------------------------------------------------------

    def module(self) -> Any:
        emit = self.emit
        body = [emit.assign([emit.name("var")], emit.attribute(emit.name("page"), "var"))]
        body += self.block(self.template.body)
        emit.position(1, 1)
        calls = emit.name("FUNCTION_CALLS") if self.call_sites else emit.constant(None)
        start_arguments = [emit.name("context"), emit.name("AMPSCRIPT_FILE"), calls, emit.name("variables")]
        start = emit.call(emit.attribute(emit.name("Page"), "start"), start_arguments)
        header = [
            emit.docstring(f"Compiled by ampc from {self.template.filename}; edit the AMPscript, not this file."),
            *self.imports(),
            emit.assign([emit.name("AMPSCRIPT_FILE")], emit.string(self.template.filename)),
        ]
        if emit.lines_are_ampscript:
            # Tells the runtime to read positions from the code objects (ampscript.rendering),
            # and where each statement starts, to find the statement of an instruction.
            header.append(emit.assign([emit.name("AMPSCRIPT_LINES")], emit.constant(True)))
            starts = emit.tuple_([emit.tuple_([emit.integer(number) for number in start]) for start in emit.statements()])
            header.append(emit.assign([emit.name("AMPSCRIPT_STATEMENTS")], starts))
        if self.call_sites:
            # Where each function is first called: Page.start checks them against the context's kind.
            calls = emit.dict_([
                (emit.string(name), emit.tuple_([emit.integer(line), emit.integer(column)]))
                for name, (line, column) in sorted(self.call_sites.items())
            ])
            header.append(emit.assign([emit.name("FUNCTION_CALLS")], calls))
        trailer = []
        if self.standalone:
            digest = emit.string(source_digest(self.template.source))
            header.append(emit.assign([emit.name("AMPSCRIPT_SHA256")], digest))
            header.append(emit.expression_statement(emit.call(emit.name("check_compiled_from"), [
                emit.name("AMPSCRIPT_FILE"), emit.name("AMPSCRIPT_SHA256"), emit.name("__file__"),
            ])))
            trailer.append(emit.expression_statement(emit.call(emit.name("run_if_main"), [
                emit.name("__name__"), emit.name("render"), emit.name("AMPSCRIPT_FILE"), emit.name("__file__"),
            ])))
        docstring = f"Render {self.template.filename} and return its output."
        return emit.render_module(header, start, body, docstring, trailer)

    def imports(self) -> list[Any]:
        lines = []
        if self.uses_decimal:
            lines.append(self.emit.import_from("decimal", ["Decimal"]))
        lines.append(self.emit.import_from("ampscript", ["Context"]))
        if self.functions_used:
            lines.append(self.emit.import_from("ampscript.functions", sorted(self.functions_used)))
        lines.append(self.emit.import_from("ampscript.runtime", sorted({"Page", *self.helpers_used})))
        if self.standalone:
            lines.append(self.emit.import_from("ampscript.scripts", ["check_compiled_from", "run_if_main"]))
        return lines

    # ---- statements ------------------------------------------------------------------

    def block(self, nodes: list[n.Node]) -> list[Any]:
        statements = []
        for node in _merge_output(nodes):
            statements.extend(self.statement(node))
        return statements or [self.emit.pass_()]

    def statement(self, node: n.Node) -> list[Any]:
        emit = self.emit
        leading = self.position(node.span)
        if isinstance(node, n.Text):
            return [emit.expression_statement(self.page_write_text(emit.string(node.value)), leading)]
        if isinstance(node, _Output):
            return [self.merged_output(node, leading)]
        if isinstance(node, (n.InlineExpression, n.Personalization, n.SendTimeContent)):
            return [emit.expression_statement(self.page_write([], self.output_value(node), []), leading)]
        if isinstance(node, n.ServerJavaScript):
            raise AssertionError("server-side JavaScript reached the code generator (ampc.calls rejects it)")
        if isinstance(node, n.Unevaluated):
            return []  # parsed, never evaluated (its calls were checked by ampc.calls)
        if isinstance(node, n.VarDeclaration):
            # var["@a"] = var["@b"] = UNSET: what Variables.declare does, without the call.
            if not node.variables:
                return []
            self.helpers_used.add("UNSET")
            return [emit.assign([self.variable(v) for v in node.variables], emit.name("UNSET"), leading)]
        if isinstance(node, n.Assignment):
            return [emit.assign([self.variable(node.target)], self.expression(node.value), leading)]
        if isinstance(node, n.CallStatement):
            return [emit.expression_statement(self.expression(node.call), leading)]
        if isinstance(node, n.If):
            return self.if_statement(node, leading)
        if isinstance(node, n.For):
            return [self.for_statement(node, leading)]
        raise AssertionError(f"unknown node {node!r}")

    def position(self, span: n.Span) -> Any:
        """Tie the statements emitted next to their AMPscript position (`ampc.emitters`)."""
        return self.emit.position(span.line, span.column)

    def merged_output(self, node: _Output, leading: Any) -> Any:
        """One write for text and at most one value, at the value's position.

        Only the value can fail, so an error still points at its own
        AMPscript position.
        """
        before: list[str] = []
        after: list[str] = []
        value: Any = None
        for item in node.items:
            if isinstance(item, n.Text):
                (before if value is None else after).append(item.value)
            else:
                value = self.output_value(item)
        if value is None:
            return self.emit.expression_statement(self.page_write_text(self.emit.string("".join(before))), leading)
        return self.emit.expression_statement(self.page_write(before, value, after), leading)

    def output_value(self, node: n.Node) -> Any:
        """What an inline expression, personalization or syndication string writes."""
        if isinstance(node, n.InlineExpression):
            return self.expression(node.expression)
        if isinstance(node, n.Personalization):
            return self.helper("personalization", [self.emit.string(node.name), self.emit.string(node.written)])
        assert isinstance(node, n.SendTimeContent)
        return self.helper("send_time_content", [self.emit.string(node.url), self.emit.constant(node.before)])

    def if_statement(self, node: n.If, leading: Any) -> list[Any]:
        # Lower in source order (so positions follow the source).
        lowered = []
        for index, branch in enumerate(node.branches):
            lines = leading if index == 0 else self.position(branch.span)
            test = self.condition(branch.condition)
            lowered.append((lines, test, self.block(branch.body)))
        else_body = self.block(node.else_body) if node.else_body is not None else None
        if len(lowered) <= _BRANCHES_PER_CHAIN:
            return [self.emit.if_chain(lowered, else_body)]
        return self.long_if_chain(lowered, else_body)

    def long_if_chain(self, lowered: list, else_body: list[Any] | None) -> list[Any]:
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
        emit = self.emit
        self.long_chains += 1
        flag = f"elseif_pending_{self.long_chains}"
        statements = [emit.assign([emit.name(flag)], emit.constant(True))]
        for start in range(0, len(lowered), _BRANCHES_PER_CHAIN):
            group = [
                (lines, test, [emit.assign([emit.name(flag)], emit.constant(False)), *body])
                for lines, test, body in lowered[start:start + _BRANCHES_PER_CHAIN]
            ]
            if start:
                group.insert(0, ([], emit.not_(emit.name(flag)), [emit.pass_()]))
            statements.append(emit.if_chain(group, None))
        if else_body is not None:
            statements.append(emit.if_chain([([], emit.name(flag), else_body)], None))
        return statements

    def for_statement(self, node: n.For, leading: Any) -> Any:
        helper = "for_downto" if node.descending else "for_to"
        bounds = self.helper(helper, [self.expression(node.start), self.expression(node.stop)])
        target = self.variable(node.variable)
        counter = self.variable_name(node.variable)
        known = counter not in self.int_variables and _counter_stays_int(node, counter)
        if known:
            self.int_variables[counter] = _literal_range(node.start, node.stop)
        body = self.block(node.body)
        if known:
            del self.int_variables[counter]
        return self.emit.for_(target, bounds, body, leading)

    # ---- expressions -----------------------------------------------------------------

    def condition(self, expression: n.Expression) -> Any:
        lowered = self.expression(expression)
        return lowered if _is_boolean(expression) else self.helper("truthy", [lowered])

    def expression(self, node: n.Expression) -> Any:
        emit = self.emit
        if isinstance(node, n.StringLiteral):
            return emit.string(node.value)
        if isinstance(node, n.NumberLiteral):
            return self.number(node.value)
        if isinstance(node, n.BooleanLiteral):
            return emit.constant(node.value)
        if isinstance(node, n.Variable):
            return self.variable(node)
        if isinstance(node, n.Attribute):
            return self.helper("attribute", [emit.string(node.name)])
        if isinstance(node, n.Call):
            return self.function_call(node)
        if isinstance(node, n.Comparison):
            return self.helper(_COMPARISONS[node.operator], [self.expression(node.left), self.expression(node.right)])
        if isinstance(node, n.Not):
            return emit.not_(self.condition(node.operand))
        if isinstance(node, n.Logical):
            return emit.boolean(node.operator, [self.condition(operand) for operand in node.operands])
        raise AssertionError(f"unknown expression {node!r}")

    def number(self, value: int | Decimal) -> Any:
        if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
            value = 0  # see _INT64_MIN
        if isinstance(value, Decimal):
            self.uses_decimal = True
            return self.emit.call(self.emit.name("Decimal"), [self.emit.string(str(value))])
        return self.emit.integer(value)

    def variable(self, node: n.Variable) -> Any:
        return self.emit.subscript(self.emit.name("var"), self.emit.string(self.variable_name(node)))

    def variable_name(self, node: n.Variable) -> str:
        """The variable's key: its name folded to lower case (`ampscript.variables.fold`), as the runtime keys it."""
        return fold(node.name)

    def function_call(self, node: n.Call) -> Any:
        emit = self.emit
        spec = lookup(node.name)
        assert spec is not None, f"{node.name}() reached the code generator unchecked (ampc.calls)"
        self.call_sites.setdefault(spec.name, (node.name_span.line, node.name_span.column))
        if not spec.accepts(len(node.args)):
            return self.wrong_arity(spec, node)
        if spec.name.lower() == "iif":
            return self.iif(node)
        if spec.name.lower() == "v":
            # V() gives its argument as it is (ampscript.functions.utility.V): no call needed.
            return emit.group(self.expression(node.args[0]))
        arguments = []
        for position, argument in enumerate(node.args):
            if spec.name.lower() in OUTPUT_FUNCTIONS and not isinstance(argument, n.Call):
                continue  # prints nothing (see ampc.calls.OUTPUT_FUNCTIONS)
            if position in spec.out_params and isinstance(argument, n.Variable):
                ref = emit.attribute(emit.name("var"), "ref")
                arguments.append(emit.call(ref, [emit.string(self.variable_name(argument))]))
            elif isinstance(argument, n.BooleanLiteral) and _parameter_kind(spec, position) == "text":
                # A boolean literal given straight to a text parameter is
                # empty: Concat(true, false) prints nothing, Length(true) is
                # 0 (https://sfmc.guide/engagement/differs-from-docs/#concat-booleans-swallowed).
                # A variable holding a boolean prints True/False as usual.
                arguments.append(emit.string(""))
            else:
                arguments.append(self.expression(argument))
        folded = self.folded_call(spec, arguments)
        if folded is not None:
            return folded
        lowered = spec.name.lower()
        if lowered in _INTEGER_ARITHMETIC and all(self.is_int(argument) for argument in node.args):
            if self.int_range(node) is not None:  # exact whatever the values: Python's own operator
                return self.emit.binary(_INTEGER_OPERATORS[lowered], *arguments)
            return self.helper(_INTEGER_ARITHMETIC[lowered], arguments)
        if lowered == "concat":
            pairs = list(zip(arguments, node.args))
            if all(self.emit.literal_value(argument) is not NOT_LITERAL or self.is_number(original)
                   for argument, original in pairs):
                return self.bounded_concat(pairs)
            arguments = self.joined_literals(arguments)
        self.functions_used.add(spec.name)
        return emit.call(emit.name(spec.name), arguments, node.span)  # positioned at the call: a traceback's carets

    def int_range(self, expression: n.Expression) -> tuple[int, int] | None:
        """The smallest and largest int the expression can be, when it is an int known to stay exact.

        Integer literals, counters of loops with literal bounds, and Add,
        Subtract and Multiply of those, as long as every operand and result
        lies inside ±`EXACT_INT` (where the functions compute exactly
        what Python's operators do).  None when any of it is unknown.
        """
        if isinstance(expression, n.NumberLiteral):
            value = expression.value
            return (value, value) if isinstance(value, int) and -EXACT_INT < value < EXACT_INT else None
        if isinstance(expression, n.Variable):
            return self.int_variables.get(self.variable_name(expression))
        if not (isinstance(expression, n.Call) and expression.name.lower() in _INTEGER_ARITHMETIC
                and len(expression.args) == 2):
            return None
        left, right = (self.int_range(argument) for argument in expression.args)
        if left is None or right is None:
            return None
        operator = _INTEGER_OPERATORS[expression.name.lower()]
        ends = [_OPERATIONS[operator](a, b) for a in left for b in right]  # the extremes are at the corners
        low, high = min(ends), max(ends)
        return (low, high) if -EXACT_INT < low and high < EXACT_INT else None

    def is_number(self, expression: n.Expression) -> bool:
        """Is the expression a number when it runs: an int (`is_int`), or integer arithmetic on ints?"""
        if self.is_int(expression):
            return True
        return (isinstance(expression, n.Call) and expression.name.lower() in _INTEGER_ARITHMETIC
                and len(expression.args) == 2 and all(self.is_int(argument) for argument in expression.args))

    def bounded_concat(self, pairs: list[tuple[Any, n.Expression]]) -> Any:
        """Concat of literals and numbers as ``"a" + str(i)``: what Concat joins, without the call.

        `pairs` holds each lowered argument with its AMPscript expression.
        Literals are joined now (an integer literal as the text Concat gives
        it), an int as ``str()`` (what `to_text` gives an int), any other
        number through `to_text`.  The result's length is bounded when the
        script is compiled (the literals' lengths, and a number's text is
        short), so, like a folded call (`folded_call`), it needs no check
        against the string limit.
        """
        parts: list[Any] = []
        texts: list[str] = []  # literal text not yet in `parts`
        for argument, original in pairs:
            literal = self.emit.literal_value(argument)
            if literal is not NOT_LITERAL:
                texts.append(literal if type(literal) is str else str(literal))
                continue
            if texts:
                parts.append(self.emit.string("".join(texts)))
                texts = []
            if self.is_int(original):
                parts.append(self.emit.call(self.emit.name("str"), [argument]))
            else:
                parts.append(self.helper("to_text", [argument]))
        if texts:
            parts.append(self.emit.string("".join(texts)))
        joined = parts[0]
        for part in parts[1:]:
            joined = self.emit.binary("+", joined, part)
        return joined

    def is_int(self, expression: n.Expression) -> bool:
        """Is the expression a Python int when it runs: an integer literal, a loop counter in its loop, or exact arithmetic on those?"""
        if isinstance(expression, n.NumberLiteral):
            return isinstance(expression.value, int)
        if isinstance(expression, n.Variable):
            return self.variable_name(expression) in self.int_variables
        return self.int_range(expression) is not None  # arithmetic known to stay exact

    def joined_literals(self, arguments: list[Any]) -> list[Any]:
        """Concat's arguments with adjacent string literals joined: Concat("a", "b", @x) is Concat("ab", @x)."""
        joined: list[Any] = []
        previous: Any = NOT_LITERAL
        for argument in arguments:
            value = self.emit.literal_value(argument)
            if type(value) is str and type(previous) is str:
                previous = previous + value
                joined[-1] = self.emit.string(previous)
            else:
                joined.append(argument)
                previous = value
        return joined

    def folded_call(self, spec: FunctionSpec, arguments: list[Any]) -> Any:
        """The result of a pure text function of literals, computed now: ``Uppercase("item")`` is "ITEM".

        Only functions whose result depends on nothing but their arguments
        (`_FOLDABLE`), and only when every (lowered) argument is a string or
        whole-number literal, so ``Concat(Uppercase("a"), "-", 1)`` folds
        too; if the function fails on them, the call stays, to fail when it
        runs.
        """
        if spec.name.lower() not in _FOLDABLE or not arguments:
            return None
        values = [self.emit.literal_value(argument) for argument in arguments]
        if any(value is NOT_LITERAL for value in values):
            return None
        from ampscript import (
            functions,  # the runtime computes it, so the result is the runtime's
        )

        try:
            result = getattr(functions, spec.name)(*values)
        except Exception:
            return None
        if type(result) is str and len(result) <= _FOLDED_MAX:
            return self.emit.string(result)
        if type(result) is int:
            return self.number(result)
        return None

    def iif(self, node: n.Call) -> Any:
        """IIf(condition, a, b) as Python's ``a if condition else b``: only the chosen value is evaluated.

        (https://sfmc.guide/engagement/ampscript/functions/iif/: a RaiseError
        in the branch not taken does not run.)  The condition is taken as
        conditions are (`ampscript.values.compare`): a value that is not a
        boolean is false, never an error.
        """
        condition, if_true, if_false = node.args
        return self.emit.if_exp(self.condition(condition), self.expression(if_true), self.expression(if_false))

    def wrong_arity(self, spec: FunctionSpec, node: n.Call) -> Any:
        """A call with the wrong number of arguments: an error when (and only if) it runs.

        Marketing Cloud checks argument counts when a call is evaluated: a
        wrong-arity call in a branch that never runs does not stop the page
        (issue 10, observed on live CloudPages).  The call's arguments are
        not evaluated.
        """
        message = arity_message(spec, len(node.args))  # a deferred error of ampc.calls too
        line, column = node.span.line, node.span.column
        return self.helper("wrong_arity", [self.emit.string(message), self.emit.integer(line), self.emit.integer(column)])

    # ---- small builders ------------------------------------------------------------

    def helper(self, name: str, arguments: list[Any]) -> Any:
        self.helpers_used.add(name)
        return self.emit.call(self.emit.name(name), arguments)

    def page_write(self, before: list[str], value: Any, after: list[str]) -> Any:
        """``page.write_value("text before", value, "text after")``; a value that is a string literal joins them."""
        literal = self.emit.literal_value(value)
        if type(literal) is str:
            return self.page_write_text(self.emit.string("".join([*before, literal, *after])))
        arguments = [self.emit.string("".join(before)), value, self.emit.string("".join(after))]
        return self.emit.call(self.emit.attribute(self.emit.name("page"), "write_value"), arguments)

    def page_write_text(self, text: Any) -> Any:
        return self.emit.call(self.emit.attribute(self.emit.name("page"), "write_text"), [text])


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


def _counter_stays_int(loop: n.For, counter: str) -> bool:
    """Does the loop's counter hold the int the loop gave it wherever its body reads it?

    It does unless something in the body can set it: an assignment or a
    nested loop of the same variable, a function writing it as an
    out-parameter, or content that runs AMPscript in the same variables
    (content blocks, TreatAsContent, syndicated content rendered before the
    send).
    """
    for statement in n.statements(loop.body):
        if isinstance(statement, (n.Assignment, n.For)):
            target = statement.target if isinstance(statement, n.Assignment) else statement.variable
            if fold(target.name) == counter:
                return False
        if isinstance(statement, n.SendTimeContent) and statement.before:
            return False
        for expression in n.expressions_of(statement):
            for call in n.calls_in(expression):
                spec = lookup(call.name)
                if spec is None or spec.module.endswith(".content"):
                    return False
                if any(isinstance(call.args[position], n.Variable) and fold(call.args[position].name) == counter
                       for position in spec.out_params if position < len(call.args)):
                    return False
    return True


def _literal_range(start: n.Expression, stop: n.Expression) -> tuple[int, int] | None:
    """The values a loop's counter takes when both bounds are integer literals (an empty loop's: its bounds)."""
    if not all(isinstance(bound, n.NumberLiteral) and isinstance(bound.value, int) for bound in (start, stop)):
        return None
    low, high = sorted((start.value, stop.value))
    return (low, high) if -EXACT_INT < low and high < EXACT_INT else None
