"""`ampc check`: every error and warning in a file, from every pass.

Unlike compiling, checking never stops at the first pass that fails: the
parser recovers after syntax errors, and the later passes (structure,
nesting, declarations, calls) and the lint pass run on what could be
parsed, so that one run reports everything.
"""

from __future__ import annotations

from ampscript.contexts import check_kind
from ampscript.values import case, clean_text

from .calls import check_calls
from .declarations import check_declarations
from .diagnostics import Diagnostic, Diagnostics
from .errors import CompileError, SourceFile
from .lint import lint
from .nesting import check_nesting
from .parser import parse


def check_source(
    source: str,
    filename: str = "<ampscript>",
    *,
    subscriber_names: set[str] | None = None,
    kind: str | None = None,
) -> list[Diagnostic]:
    """Every diagnostic for one AMPscript source, sorted by position.

    `subscriber_names`: the attribute names the workspace's subscriber.json
    defines (any case), to check personalization strings against; None to
    skip that check.  `kind`: "email", "page" or "sms", to report what
    Marketing Cloud rejects there.
    """
    source = clean_text(source)
    problems: list[CompileError] = []
    diagnostics = Diagnostics()
    try:
        template = parse(source, filename, problems)
        if check_nesting(template, problems):
            check_declarations(template, problems)
            check_calls(template, problems, diagnostics, check_kind(kind))
        names = None if subscriber_names is None else {case.fold(name) for name in subscriber_names}
        diagnostics.extend(lint(template, names))
    except RecursionError:
        problems.append(SourceFile(filename, source).error(
            "the script is nested too deeply to check", 1, 1, code="AMP003",
        ))
    found = [problem.as_diagnostic() for problem in _unique(problems)] + diagnostics.items
    return sorted(found, key=lambda item: (item.line or 0, item.column or 0, item.code))


def _unique(problems: list[CompileError]) -> list[CompileError]:
    seen, unique = set(), []
    for problem in problems:
        key = (problem.line, problem.column, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique
