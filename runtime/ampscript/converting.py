"""The argument-converting wrapper the registry puts around every AMPscript function.

For ``Substring(source_string: params.Text, start_position: params.Integer,
substring_length: params.Integer = OMITTED)`` the wrapper is, in effect::

    def Substring(a0, a1, a2=MISSING):
        if type(a0) is not str: a0 = c0(a0, "Substring", "sourceString")
        if not (type(a1) is int and -9223372036854775808 <= a1 <= 9223372036854775807):
            a1 = c1(a1, "Substring", "startPosition")
        if a2 is MISSING: return f(a0, a1)
        if not (type(a2) is int and ...): a2 = c2(a2, "Substring", "substringLength")
        return f(a0, a1, a2)

A value that already has its parameter's type passes with one type check
and no call, which is what keeps typed parameters cheap on the hot path
(a render calls functions thousands of times).  Anything else goes through
the parameter's conversion, which names the function and parameter in its
errors (the names are constants of the wrapper, not bound in a closure: a
call less per conversion).  A function whose result can grow
(``output_grows``) has its text result checked in the same wrapper::

        result = f(a0, a1)
        if type(result) is str: k(len(result), "FormatNumber")
        return result

The wrapper is built from Python AST nodes over fixed internal names and
the function's and parameters' names; no text of any script is involved.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .values import INT64_MAX, INT64_MIN, UNSET

MISSING: Any = object()  # an optional argument the call left out


@dataclass(frozen=True)
class Guard:
    """How one argument is made ready: `fast` says which values pass as they are.

    * ``"pass"``: every value (out-parameters, `params.AnyValue`);
    * ``"unset"``: every value but `UNSET`, which becomes None;
    * ``"str"``: text; ``"int"``: a 64-bit ``int``;
    * ``"always"``: none, every value is converted.

    Any other value goes through `convert`, called as ``convert(value,
    function name, parameter)``: `parameter` is the name its errors give.
    """

    fast: str
    convert: Callable[[Any, str, str], Any] | None = None
    parameter: str = ""


def _name(identifier: str, store: bool = False) -> ast.Name:
    return ast.Name(identifier, ast.Store() if store else ast.Load())


def _call(function: str, *arguments: ast.expr) -> ast.Call:
    return ast.Call(_name(function), list(arguments), [])


def _needs_conversion(guard: Guard, argument: str) -> ast.expr | None:
    """The test that says the argument must be converted (None: never)."""
    value = _name(argument)
    if guard.fast == "str":
        return ast.Compare(_call("type", value), [ast.IsNot()], [_name("str")])
    if guard.fast == "int":
        is_int = ast.Compare(_call("type", value), [ast.Is()], [_name("int")])
        # The bounds as constants: a global look-up each is a measurable part of the test.
        in_range = ast.Compare(ast.Constant(INT64_MIN), [ast.LtE(), ast.LtE()], [value, ast.Constant(INT64_MAX)])
        return ast.UnaryOp(ast.Not(), ast.BoolOp(ast.And(), [is_int, in_range]))
    if guard.fast == "always":
        return ast.Constant(True)
    return None


def _guard(guard: Guard, position: int, function: str) -> list[ast.stmt]:
    argument = f"a{position}"
    if guard.fast == "pass":
        return []
    if guard.fast == "unset":
        test = ast.Compare(_name(argument), [ast.Is()], [_name("UNSET")])
        return [ast.If(test, [ast.Assign([_name(argument, True)], ast.Constant(None))], [])]
    conversion = _call(f"c{position}", _name(argument), ast.Constant(function), ast.Constant(guard.parameter))
    converted = ast.Assign([_name(argument, True)], conversion)
    test = _needs_conversion(guard, argument)
    if isinstance(test, ast.Constant):
        return [converted]
    return [ast.If(test, [converted], [])]


def _return_call(count: int, rest: bool, checked_as: str | None) -> list[ast.stmt]:
    """Call the function with the first `count` arguments (and the rest); check a text result if `checked_as`."""
    arguments: list[ast.expr] = [_name(f"a{position}") for position in range(count)]
    if rest:
        arguments.append(ast.Starred(_call("r", _name("rest")), ast.Load()))
    call = ast.Call(_name("f"), arguments, [])
    if checked_as is None:
        return [ast.Return(call)]
    is_text = ast.Compare(_call("type", _name("result")), [ast.Is()], [_name("str")])
    check = ast.Expr(_call("k", _call("len", _name("result")), ast.Constant(checked_as)))
    return [ast.Assign([_name("result", True)], call), ast.If(is_text, [check], []), ast.Return(_name("result"))]


def converting(
    function: Callable,
    guards: Sequence[Guard],
    required: int,
    rest: Callable[[tuple], list] | None = None,
    check_text: Callable[[int, str], None] | None = None,
) -> Callable:
    """`function` behind a wrapper that makes each argument ready by its `Guard`.

    `required` is the number of leading parameters without a default; `rest`,
    if given, converts the extra arguments of a variadic function;
    `check_text`, if given, is called with the length of a text result and
    the function's name (the render's string limit: the registry's
    ``output_grows``).
    """
    if rest is None and check_text is None and all(guard.fast == "pass" for guard in guards):
        return function
    name = function.__name__
    checked_as = name if check_text is not None else None
    body: list[ast.stmt] = []
    for position, guard in enumerate(guards):
        if position >= required:
            left_out = ast.Compare(_name(f"a{position}"), [ast.Is()], [_name("MISSING")])
            body.append(ast.If(left_out, _return_call(position, False, checked_as), []))
        body.extend(_guard(guard, position, name))
    body.extend(_return_call(len(guards), rest is not None, checked_as))
    positional = [ast.arg(f"a{position}") for position in range(len(guards))]
    defaults = [_name("MISSING") for _ in range(len(guards) - required)]
    arguments = ast.arguments(
        posonlyargs=[],
        args=positional,
        vararg=ast.arg("rest") if rest is not None else None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=defaults,
    )
    definition = ast.FunctionDef(name, arguments, body, [], None)
    module = ast.fix_missing_locations(ast.Module([definition], []))
    namespace: dict[str, Any] = {
        "f": function,
        "r": rest,
        "k": check_text,
        "MISSING": MISSING,
        "UNSET": UNSET,
        **{f"c{position}": guard.convert for position, guard in enumerate(guards)},
    }
    exec(compile(module, f"<ampscript wrapper of {name}>", "exec"), namespace)  # noqa: S102
    return functools.wraps(function)(namespace[name])
