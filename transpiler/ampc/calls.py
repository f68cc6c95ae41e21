"""The check pass for function calls: every call in a template, against the function registry.

Between parsing and code generation: unknown functions, functions
Marketing Cloud rejects (always, or where the script runs), out-parameters
given values, calls Marketing Cloud refuses as arguments, and argument
counts.  Problems go to the compile's problem list; a wrong argument count
usually goes to the diagnostics instead, as a *deferred* error, because
Marketing Cloud checks it only when the call runs (`ampc.diagnostics`).

The code generator then only emits: it relies on this pass having found
nothing, and `ampc check` runs this pass without generating code (so it
needs neither libcst nor black).
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources

from ampscript.contexts import rejection
from ampscript.registry import FunctionSpec, all_functions, lookup

from . import nodes as n
from .diagnostics import Diagnostics
from .errors import CompileError, SourceFile

# Output() and OutputLine() write only the results of function calls: a
# literal or a variable argument prints nothing (OutputLine still ends the
# line), and either function inside another call aborts the page
# (https://sfmc.guide/engagement/ampscript/functions/output/; the reference
# calls a non-call argument an error, but Marketing Cloud renders the page).
OUTPUT_FUNCTIONS = {"output", "outputline"}

# Functions Marketing Cloud refuses to run with a function call written
# straight in as their argument (the value must come through a variable).
# IsCHTMLBrowser(HTTPRequestHeader("user-agent")) aborts the page even when
# the header was sent (https://sfmc.guide/engagement/ampscript/functions/ischtmlbrowser/).
_NO_CALL_ARGUMENT = {"ischtmlbrowser"}

# Argument counts are checked when a call runs (issue 10, observed on live
# CloudPages; sfmc.guide's gated test pages for Concat, IndexOf, v, GUID,
# Redirect, RaiseError... render with a wrong-arity call in a branch not
# taken).  For these functions sfmc.guide observed the opposite, a
# compile-time failure of the whole page even in a branch that never runs
# (https://sfmc.guide/engagement/ampscript/functions/httpget/,
# .../claimrowvalue/, .../encryptsymmetric/, .../decryptsymmetric/), so
# their counts stay compile errors.
ARITY_CHECKED_AT_COMPILE_TIME = {"httpget", "claimrowvalue", "encryptsymmetric", "decryptsymmetric"}

# Functions Marketing Cloud itself refuses when it validates an email or a
# CloudPage, so ampc refuses them at compile time too.  RatingStars: any call,
# even behind an if that never runs, fails validation (HTTP 422) on email and
# CloudPage content; it resolves only inside Einstein Email Recommendations'
# own rendering (observed on real tenants by the ampscript-data catalog,
# https://github.com/JoernBerkefeld/ampscript-data, einstein-email-recs.js).
_REJECTED_BY_MARKETING_CLOUD = {
    "ratingstars": "RatingStars() works only inside Einstein Email Recommendations' own rendering; "
    "Marketing Cloud rejects it in emails and CloudPages when the content is validated",
}


# Names the shared catalog lists that are server-side JavaScript's, not AMPscript's
# (Platform.Variable.GetValue / SetValue): Marketing Cloud's AMPscript has no such function.
_SERVER_JAVASCRIPT_ONLY = {
    "getvalue": ("GetValue() is server-side JavaScript's Platform.Variable.GetValue, not an AMPscript function",
                 "in AMPscript, read the variable itself: @name"),
    "setvalue": ("SetValue() is server-side JavaScript's Platform.Variable.SetValue, not an AMPscript function",
                 "in AMPscript, write set @name = value"),
}


def arity_message(spec: FunctionSpec, given: int) -> str:
    return (
        f"{spec.name}() takes {spec.arity_text()} argument{'s' if spec.max_args != 1 else ''}, "
        f"but {given} {'was' if given == 1 else 'were'} given"
    )


def check_calls(
    template: n.Template, problems: list[CompileError], diagnostics: Diagnostics, kind: str | None = None
) -> None:
    """Check every call (and the markup only this pass can judge); append what is wrong."""
    _CallChecker(template, problems, diagnostics, kind).run()


@cache
def _catalog() -> dict[str, tuple[str, str]]:
    """Every AMPscript function Salesforce documents: lowercase name -> (name, category)."""
    data = json.loads(resources.files("ampc").joinpath("data/ampscript_functions.json").read_text("utf-8"))
    return {name.lower(): (name, category) for name, category in data["functions"].items()}


class _CallChecker:
    def __init__(
        self, template: n.Template, problems: list[CompileError], diagnostics: Diagnostics, kind: str | None
    ) -> None:
        self.file = SourceFile(template.filename, template.source)
        self.template = template
        self.problems = problems
        self.diagnostics = diagnostics
        self.kind = kind
        self.server_scripts = 0

    def run(self) -> None:
        for node in n.statements(self.template.body):
            self.markup(node)
            for expression in n.expressions_of(node):
                for call in n.calls_in(expression):
                    self.call(call)

    def error(self, node, message: str, code: str, hint: str | None = None, *, at_name: bool = False) -> None:
        span = node.name_span if at_name else node.span
        self.problems.append(self.file.error(message, span.line, span.column, hint=hint, code=code))

    def markup(self, node: n.Node) -> None:
        if isinstance(node, n.ServerJavaScript):
            # One error per block; the hint once, on the first.
            self.server_scripts += 1
            shown = node.language or "javascript (the default)"
            hint = (
                'for AMPscript use <script runat="server" language="ampscript">; '
                "server-side JavaScript (SSJS) cannot be compiled"
            )
            self.error(
                node, f"server-side script in language {shown!r} is not supported; ampc compiles AMPscript only",
                "AMP005", hint if self.server_scripts == 1 else None,
            )
        elif isinstance(node, n.Personalization) and node.name.lower().startswith("httpget "):
            self.error(
                node, "malformed content syndication string: the URL must be in double quotes", "AMP001",
                'write %%httpget "https://..."%%',
            )

    def call(self, node: n.Call) -> None:
        if node.member is not None or node.name.lower() == "msg":
            if not self.message_part(node):
                return
        spec = lookup(node.name)
        if spec is None:
            self.problems.append(self.unknown_function(node))
            return
        rejected = rejection(self.kind, spec.name)
        if rejected is not None:
            message, hint = rejected
            self.error(node, message, "AMP016", hint, at_name=True)
        for position in sorted(spec.out_params):
            if position < len(node.args) and not isinstance(node.args[position], n.Variable):
                self.error(
                    node.args[position],
                    f"argument {position + 1} of {spec.name}() receives a result, so it must be a variable, not a value",
                    "AMP014", f"pass a variable such as @result{position + 1}",
                )
        if spec.name.lower() in _NO_CALL_ARGUMENT and node.args and isinstance(node.args[0], n.Call):
            self.error(
                node.args[0],
                f"{spec.name}() cannot take a function call as its argument; Marketing Cloud aborts the page",
                "AMP015", f"set the value into a variable first: set @value = {node.args[0].name}(...)",
            )
        for argument in node.args:
            if isinstance(argument, n.Call) and argument.name.lower() in OUTPUT_FUNCTIONS:
                self.error(
                    argument,
                    f"{argument.name}() cannot be used inside another function call; Marketing Cloud aborts the page",
                    "AMP015", f"call {argument.name}() on its own, or pass the value: {spec.name}(v(...))",
                )
        if not spec.accepts(len(node.args)):
            message = arity_message(spec, len(node.args))
            if spec.name.lower() in ARITY_CHECKED_AT_COMPILE_TIME:
                self.error(node, message, "AMP013")
            else:
                self.diagnostics.add(self.file.diagnostic("AMP013", message, node.span))

    def message_part(self, node: n.Call) -> bool:
        """Is this Msg(0), Msg(0).Verb, .Nouns or .Noun(i)?  Records the error if not."""
        hint = "an inbound SMS has Msg(0), Msg(0).Verb, Msg(0).Nouns and Msg(0).Noun(i)"
        if node.member is None:
            if len(node.args) != 1:
                self.error(node, f"Msg() takes one argument (0), got {len(node.args)}", "AMP013", hint)
                return False
            return True
        if node.name.lower() != "msg":
            self.error(node, f"{node.name}() has no part .{node.member.rstrip('()').capitalize()}: only Msg(0) has parts", "AMP017", hint)
            return False
        expected = {"verb": 2, "nouns": 2, "noun()": 3}.get(node.member)
        if expected is None or len(node.args) != expected:
            shown = {"noun": "Noun without its position", "noun()": "Noun() with other than one position"}.get(
                node.member, node.member.rstrip("()").capitalize()
            )
            self.error(node, f"Msg(0) has no part {shown}", "AMP017", hint)
            return False
        return True

    def unknown_function(self, node: n.Call) -> CompileError:
        documented = _catalog().get(node.name.lower())
        line, column = node.name_span.line, node.name_span.column
        rejected = _REJECTED_BY_MARKETING_CLOUD.get(node.name.lower())
        if rejected is not None:
            return self.file.error(rejected, line, column, code="AMP012")
        server_javascript = _SERVER_JAVASCRIPT_ONLY.get(node.name.lower())
        if server_javascript is not None:
            message, hint = server_javascript
            return self.file.error(message, line, column, hint=hint, code="AMP010")
        if documented is not None:
            name, category = documented
            return self.file.error(
                f"{name}() ({category}) is an AMPscript function that ampc does not support yet",
                line,
                column,
                hint="run 'ampc functions' to list the supported functions",
                code="AMP011",
            )
        known = [spec.name for spec in all_functions()] + [name for name, _ in _catalog().values()]
        by_lower = {name.lower(): name for name in known}
        close = difflib.get_close_matches(node.name.lower(), list(by_lower), n=1, cutoff=0.75)
        hint = f"did you mean {by_lower[close[0]]}()?" if close else None
        return self.file.error(f"unknown function '{node.name}'", line, column, hint=hint, code="AMP010")
