"""The table of AMPscript functions the runtime implements.

Each function is an ordinary Python function named exactly as AMPscript
names it (``InvokePerform``, ``Concat``, ``V``) and registered with
`@ampscript_function(category)`.  Everything the compiler needs to know about
it is read from its signature, so it is declared once:

* arity: required parameters, optional ones (with defaults), and ``*args``
  for variadic functions;
* out-parameters: parameters annotated ``Ref`` receive a reference cell, into
  which the function writes (the compiler passes the variable's cell).

A function whose result can be much longer than its arguments (encodings,
formats, URLs, rendered content) is registered with ``output_grows=True``:
its result is checked against the render's stringCharacters limit, so that
repeating it (``Base64Encode(Base64Encode(...))`` in a loop) cannot grow a
string without bound.  Functions whose growth has no constant bound
(Char's repetitions, Concat, Replace) check before they build the string.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .variables import Ref


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


def ampscript_function(category: str, *, output_grows: bool = False) -> Callable[[Callable], Callable]:
    """Register a runtime function under its own (AMPscript) name (`output_grows`: module docstring)."""

    def register(function: Callable) -> Callable:
        hints = typing.get_type_hints(function)
        minimum, maximum, outs = 0, 0, set()
        for position, parameter in enumerate(inspect.signature(function).parameters.values()):
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                maximum = None
                break
            if parameter.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
                continue
            if _is_out(hints.get(parameter.name)):
                outs.add(position)
            maximum += 1
            if parameter.default is inspect.Parameter.empty:
                minimum = maximum
        name = function.__name__
        if name.lower() in FUNCTIONS:
            raise ValueError(f"AMPscript function {name} is registered twice")
        implementation = _size_checked(function) if output_grows else function
        FUNCTIONS[name.lower()] = FunctionSpec(
            name,
            category,
            minimum,
            maximum,
            frozenset(outs),
            implementation,
            function.__module__,
            returns_boolean=hints.get("return") is bool,
        )
        return implementation

    return register


def _size_checked(function: Callable) -> Callable:
    """`function`, with its string results checked against the render's stringCharacters limit."""
    from .rendering import check_string  # rendering imports the value model, which the registry must not

    name = function.__name__

    @functools.wraps(function)
    def checked(*arguments: Any) -> Any:
        result = function(*arguments)
        if type(result) is str:
            check_string(len(result), name)
        return result

    return checked


def lookup(name: str) -> FunctionSpec | None:
    """The function called `name` in any case, once all categories are loaded."""
    from . import functions  # noqa: F401  (importing registers every category)

    return FUNCTIONS.get(name.lower())


def all_functions() -> list[FunctionSpec]:
    from . import functions  # noqa: F401

    return sorted(FUNCTIONS.values(), key=lambda spec: spec.name.lower())
