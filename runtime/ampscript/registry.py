"""The table of AMPscript functions the runtime implements.

Each function is an ordinary Python function named exactly as AMPscript
names it (``InvokePerform``, ``Concat``, ``V``) and registered with
`@ampscript_function(category)`.  Everything the compiler and the runtime
need to know about it is read from its signature, so it is declared once:

* arity: required parameters, optional ones (with defaults), and ``*args``
  for variadic functions;
* parameter types (`ampscript.values.params`: ``params.Text``,
  ``params.Integer``, ...): the registry converts every argument to its
  type before the body runs, and a conversion error names the function and
  the parameter in AMPscript's camelCase (``startPosition``);
* out-parameters: parameters annotated ``Ref`` receive a reference cell, into
  which the function writes (the compiler passes the variable's cell).

A parameter without a type gets the argument as it is, except that an
unset variable arrives as null (``None``); only `params.AnyValue` sees the
difference.

A function whose result can be much longer than its arguments (encodings,
formats, URLs, rendered content) is registered with ``output_grows=True``:
its result is checked against the render's stringCharacters limit, so that
repeating it (``Base64Encode(Base64Encode(...))`` in a loop) cannot grow a
string without bound.  Functions whose growth has no constant bound
(Char's repetitions, Concat, Replace) check before they build the string.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .converting import Guard, converting
from .values.params import PAIR_NAME, Param, Value
from .variables import Ref

_DEFAULT = typing.get_args(Value)[1]  # an untyped parameter: unset becomes null


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter as AMPscript sees it."""

    name: str  # camelCase, as in Salesforce's reference: "startPosition"
    kind: str  # "text", "integer", ... or "out" for a Ref
    optional: bool
    variadic: bool = False


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    category: str
    min_args: int
    max_args: int | None  # None: any number
    out_params: frozenset[int]  # 0-based argument positions
    implementation: Callable
    module: str
    returns_boolean: bool = False  # annotated `-> bool`: usable as a condition as it is
    parameters: tuple[ParameterSpec, ...] = ()

    def accepts(self, count: int) -> bool:
        return count >= self.min_args and (self.max_args is None or count <= self.max_args)

    def arity_text(self) -> str:
        if self.max_args is None:
            return f"{self.min_args} or more"
        if self.min_args == self.max_args:
            return str(self.min_args)
        return f"{self.min_args} to {self.max_args}"


FUNCTIONS: dict[str, FunctionSpec] = {}


def _is_out(annotation: object) -> bool:
    return annotation is Ref or Ref in typing.get_args(annotation)


def _param(annotation: object) -> Param | None:
    """The `Param` an ``Annotated[..., Param(...)]`` annotation carries, if any."""
    for metadata in getattr(annotation, "__metadata__", ()):
        if isinstance(metadata, Param):
            return metadata
    return None


def camel_case(name: str) -> str:
    """A Python parameter name as AMPscript's reference spells it: start_position -> startPosition."""
    head, *rest = name.strip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def ampscript_function(category: str, *, output_grows: bool = False) -> Callable[[Callable], Callable]:
    """Register a runtime function under its own (AMPscript) name (`output_grows`: module docstring)."""

    def register(function: Callable) -> Callable:
        name = function.__name__
        hints = typing.get_type_hints(function, include_extras=True)
        minimum, maximum, outs = 0, 0, set()
        guards: list[Guard] = []
        rest: Callable[[tuple], list] | None = None
        parameters: list[ParameterSpec] = []
        for position, parameter in enumerate(inspect.signature(function).parameters.values()):
            annotation = hints.get(parameter.name)
            shown_name = camel_case(parameter.name)
            param = _param(annotation) or _DEFAULT
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                maximum = None
                rest = _rest_converter(param, name, shown_name)
                parameters.append(ParameterSpec(shown_name, param.kind, optional=True, variadic=True))
                break
            if parameter.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
                continue
            optional = parameter.default is not inspect.Parameter.empty
            if _is_out(annotation):
                outs.add(position)
                guards.append(Guard("pass"))
                parameters.append(ParameterSpec(shown_name, "out", optional))
            else:
                guards.append(Guard(param.fast, param.convert, shown_name))
                parameters.append(ParameterSpec(shown_name, param.kind, optional))
            maximum += 1
            if not optional:
                minimum = maximum
        if name.lower() in FUNCTIONS:
            raise ValueError(f"AMPscript function {name} is registered twice")
        if rest is _as_given and all(guard.fast == "pass" for guard in guards):
            rest = None  # nothing to convert: the function is called as it is, without a wrapper
        implementation = converting(function, guards, minimum, rest, _string_check() if output_grows else None)
        FUNCTIONS[name.lower()] = FunctionSpec(
            name,
            category,
            minimum,
            maximum,
            frozenset(outs),
            implementation,
            function.__module__,
            returns_boolean=hints.get("return") is bool,
            parameters=tuple(parameters),
        )
        return implementation

    return register


def _one(param: Param, function: str, parameter: str) -> Callable[[Any], Any]:
    """A one-argument conversion for one parameter, naming the function and parameter in its errors."""
    convert = param.convert

    def converter(value: Any) -> Any:
        return convert(value, function, parameter)

    return converter


def _as_given(rest: tuple) -> tuple:
    """The extra arguments of a variadic function that converts them itself."""
    return rest


def _rest_converter(param: Param, function: str, parameter: str) -> Callable[[tuple], tuple | list]:
    """The conversion of a variadic function's extra arguments (name/value pairs: names are text)."""
    if param.fast == "pass":
        return _as_given
    values = _one(param, function, parameter)
    if param.fast == "str":
        convert = param.convert

        def texts(rest: tuple) -> tuple | list:
            for value in rest:
                if type(value) is not str:
                    return [item if type(item) is str else convert(item, function, parameter) for item in rest]
            return rest  # all text already: the common case (Concat of strings) converts nothing

        return texts
    if param.kind != "name/value pairs":
        return lambda rest: [values(value) for value in rest]
    names = _one(PAIR_NAME, function, "name")
    return lambda rest: [(values if index % 2 else names)(value) for index, value in enumerate(rest)]


def _string_check() -> Callable[[int, str], None]:
    """What checks a string result against the render's stringCharacters limit (the wrapper calls it)."""
    from .rendering import (
        check_string,  # rendering imports the value model, which the registry must not
    )

    return check_string


def lookup(name: str) -> FunctionSpec | None:
    """The function called `name` in any case; None if there is none.

    Only the category that defines it is imported (registering its
    functions): compiling a script loads what the script calls, as running
    it does, not every category and the libraries they use.
    """
    from . import (
        functions,  # functions imports the registry: imported here, not at the top
    )

    spec = FUNCTIONS.get(name.lower())
    if spec is None:
        functions.load(name)
        spec = FUNCTIONS.get(name.lower())
    return spec


def all_functions() -> list[FunctionSpec]:
    """Every function, sorted by name (importing every category registers them all)."""
    from . import functions

    functions.load_all()
    return sorted(FUNCTIONS.values(), key=lambda spec: spec.name.lower())
