"""Every registered AMPscript function called with odd values for every argument.

The odd values and the way a function is called are the fuzzer's
(`ampc.fuzz`), which makes the same calls at random for as long as it runs.

A function's *base* calls come from the golden corpus: every call in it
whose arguments are all literals (``Substring("abc", 1, 2)``), so each
function is exercised from arguments it accepts, then one argument at a
time is replaced with an odd value.  Out-parameters receive `Ref` cells.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ampc import nodes as n
from ampc.errors import CompileError
from ampc.fuzz import ODD_VALUES, call_function  # noqa: F401 (call_function is re-exported to the sweep test)
from ampc.parser import parse
from ampscript.registry import FunctionSpec, all_functions
from corpus_format import load_cases

CORPUS = Path(__file__).parent.parent / "corpus"

def _literal(expression: n.Expression) -> Any:
    if isinstance(expression, n.StringLiteral):
        return expression.value
    if isinstance(expression, n.NumberLiteral):
        return expression.value
    if isinstance(expression, n.BooleanLiteral):
        return expression.value
    raise LookupError


def _calls(nodes: list) -> Iterator[n.Call]:
    pending = list(nodes)
    while pending:
        node = pending.pop()
        if isinstance(node, n.Call):
            yield node
        for value in vars(node).values() if hasattr(node, "__dict__") else ():
            if isinstance(value, list):
                pending.extend(value)
            elif hasattr(value, "span"):
                pending.append(value)


@functools.cache
def base_calls() -> dict[str, list[tuple[Any, ...]]]:
    """Lower-case function name -> distinct all-literal argument tuples found in the corpus."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for file in sorted(CORPUS.rglob("*.txt")):
        try:
            cases = load_cases(file)
        except ValueError:
            continue
        for case in cases:
            try:
                template = parse(case.source, str(file))
            except CompileError:
                continue
            for call in _calls(template.body):
                try:
                    arguments = tuple(_literal(argument) for argument in call.args)
                except LookupError:
                    continue
                bucket = found.setdefault(call.name.lower(), [])
                if arguments not in bucket:
                    bucket.append(arguments)
    return found


def _default_arguments(spec: FunctionSpec) -> tuple[Any, ...]:
    count = spec.min_args if spec.min_args else min(1, spec.max_args or 1)
    return tuple("1" for _ in range(count))


def bases(spec: FunctionSpec, limit: int = 3) -> list[tuple[Any, ...]]:
    found = [args for args in base_calls().get(spec.name.lower(), []) if spec.accepts(len(args))]
    # The longest calls first: they reach the most arguments.
    found.sort(key=len, reverse=True)
    return found[:limit] or [_default_arguments(spec)]


def cases(limit_bases: int = 2) -> Iterator[tuple[FunctionSpec, tuple[Any, ...], int, Any]]:
    """(function, base arguments, position replaced, odd value) for the whole registry."""
    for spec in all_functions():
        for base in bases(spec, limit_bases):
            for position in range(len(base)):
                if position in spec.out_params:
                    continue
                for value in ODD_VALUES:
                    yield spec, base, position, value


def parameter_names(spec: FunctionSpec) -> list[str]:
    return list(inspect.signature(spec.implementation).parameters)
