"""Limits on what one render may use, so that hostile or mistaken input fails fast and clearly.

Every limit has a default, can be changed per workspace in ``ampc.json``::

    {"limits": {"renderSeconds": 10, "loopIterations": 100000}}

and per render in Python with ``Context(limits=Limits(render_seconds=10))``
(or ``Context(limits={"renderSeconds": 10})``); what a `Context` is given
wins over the workspace's file.  A render that goes past a limit stops with
a `LimitExceeded` error naming the limit and how to raise it.

Marketing Cloud documents few of its own limits; where it does, the default
follows it and says so, and every other default is ampc's choice, set far
above what real emails and pages need:

=========================  ============  ==================================================
setting (ampc.json)        default       what it bounds
=========================  ============  ==================================================
``renderSeconds``          60            wall-clock time of one render, included content
                                         and run-time compiles counted
``outputCharacters``       20,000,000    the output of one render (and of each block it
                                         includes)
``stringCharacters``       10,000,000    any one string a function makes (Char, Concat,
                                         Replace, encodings...)
``loopIterations``         10,000,000    ``for`` loop iterations in one render, all loops
``includeDepth``           20            content included from content included from ...
``includedBlocks``         10,000        content blocks, areas and TreatAsContent strings
                                         rendered in one render
``fragmentCompiles``       1,000         AMPscript compiled at run time in one render
                                         (content not in the compiled-content cache)
``regexSeconds``           2             one RegExMatch
``httpRequestSeconds``     30            one HTTP request, redirects and body included
                                         (Marketing Cloud's documented 30-second timeout)
``httpResponseBytes``      10,000,000    the body of one HTTP response
``requestBodyBytes``       10,000,000    the body of a request to ``ampc serve``
``stateLockSeconds``       10            waiting for another process's write to a
                                         ``--state`` file to finish
=========================  ============  ==================================================

The counters are per top-level render: content a render includes shares
its render's budget.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ScriptError


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class Limits:
    """The limits of one render; see the module's table for each one's meaning and default."""

    render_seconds: float = 60.0
    output_characters: int = 20_000_000
    string_characters: int = 10_000_000
    loop_iterations: int = 10_000_000
    include_depth: int = 20
    included_blocks: int = 10_000
    fragment_compiles: int = 1_000
    regex_seconds: float = 2.0
    http_request_seconds: float = 30.0
    http_response_bytes: int = 10_000_000
    request_body_bytes: int = 10_000_000
    state_lock_seconds: float = 10.0

    @classmethod
    def setting_names(cls) -> dict[str, str]:
        """ampc.json name -> field name, for every limit."""
        return {_camel(f.name): f.name for f in dataclasses.fields(cls)}

    @classmethod
    def from_settings(cls, section: Any, where: str, base: Limits | None = None) -> Limits:
        """Limits from a ``{"renderSeconds": 10, ...}`` mapping; unknown names and bad values are errors."""
        if not isinstance(section, Mapping):
            raise ScriptError(f'{where} must be an object such as {{"renderSeconds": 10}}')
        names = cls.setting_names()
        by_field = {name: name for name in names.values()}  # Python spellings are accepted too
        changes: dict[str, Any] = {}
        for key, value in section.items():
            field_name = names.get(key) or by_field.get(key)
            if field_name is None:
                raise ScriptError(
                    f"{where}: {key!r} is not a limit",
                    hint="the limits are " + ", ".join(sorted(names)),
                )
            changes[field_name] = _checked(value, field_name, f"{where}.{_camel(field_name)}")
        return dataclasses.replace(base or cls(), **changes)

    def describe(self, field_name: str) -> str:
        """How a user changes one limit, for error hints."""
        setting = _camel(field_name)
        value = getattr(self, field_name)
        return (
            f'raise it in the workspace\'s ampc.json: {{"limits": {{"{setting}": {_bigger(value)}}}}}, '
            f"or with Context(limits=Limits({field_name}=...))"
        )


def _bigger(value: float | int) -> str:
    return str(int(value * 10)) if isinstance(value, int) or float(value).is_integer() else f"{value * 10:g}"


def _checked(value: Any, field_name: str, where: str) -> float | int:
    wanted = Limits.__dataclass_fields__[field_name].type
    whole = wanted == "int"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0 or value != value:
        kind = "a whole number" if whole else "a number of seconds"
        raise ScriptError(f"{where} must be {kind} above 0, got {value!r}")
    if whole:
        if isinstance(value, float) and not value.is_integer():
            raise ScriptError(f"{where} must be a whole number above 0, got {value!r}")
        return int(value)
    return float(value)


class LimitExceeded(ScriptError):
    """A render went past one of its `Limits`; `limit` is the field's name (``loop_iterations``)."""

    def __init__(self, message: str, limit: str, limits: Limits) -> None:
        super().__init__(message, hint=limits.describe(limit))
        self.limit = limit


class Budget:
    """What one top-level render (and the content it includes) has used of its limits."""

    __slots__ = ("limits", "deadline", "loop_iterations", "included_blocks", "fragment_compiles")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.render_seconds
        self.loop_iterations = 0
        self.included_blocks = 0
        self.fragment_compiles = 0

    def exceeded(self, limit: str, message: str) -> LimitExceeded:
        value = getattr(self.limits, limit)
        shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
        return LimitExceeded(f"{message} (limit {_camel(limit)} = {shown})", limit, self.limits)

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise self.exceeded("render_seconds", "the render took too long")

    def seconds_left(self) -> float:
        """Time left before the render's deadline (never below a millisecond, so timeouts stay valid)."""
        return max(self.deadline - time.monotonic(), 0.001)

    def charge_loop(self, iterations: int) -> None:
        """A `for` loop is about to run `iterations` times (AMPscript has no way out of a loop early)."""
        self.loop_iterations += iterations
        if self.loop_iterations > self.limits.loop_iterations:
            raise self.exceeded("loop_iterations", "the render's for loops would run too many times")

    def charge_include(self) -> None:
        self.included_blocks += 1
        if self.included_blocks > self.limits.included_blocks:
            raise self.exceeded("included_blocks", "the render included too many content blocks")

    def charge_compile(self) -> None:
        self.fragment_compiles += 1
        if self.fragment_compiles > self.limits.fragment_compiles:
            raise self.exceeded("fragment_compiles", "the render compiled too much AMPscript at run time")

    def check_string(self, size: int, function: str) -> None:
        """A function is about to make (or has made) a string of `size` characters."""
        if size > self.limits.string_characters:
            raise self.exceeded(
                "string_characters", f"{function}() would make a string of {size:,} characters"
            )
