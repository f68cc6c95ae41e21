"""The check pass for ``var`` declarations: AMPscript has no block scope.

Re-declaring a variable with ``var`` inside an ``if`` branch aborts the whole
page at compile time on Marketing Cloud, even when the branch never runs
(https://sfmc.guide/engagement/ampscript/functions/encryptsymmetric/, the
callout "Declare every VAR once, at the top").  So it is a compile error
here, pointing at the second declaration.  Re-declaring outside any ``if``
is allowed and sets the variable to null (Salesforce's Language Elements
page); a first declaration inside a branch is allowed too, as nothing
observed says otherwise (choice).

The check compares names as written, case included, although variables
are case-insensitive: Salesforce's InvokePerform reference example declares
``@objectID`` at the top and ``@ObjectID`` inside an ``if``, and it is the
documented working example (one of ampc's acceptance tests).  Matching the
spelling is the reading under which both sources are right (choice).

Like `ampc.nesting`, this pass walks the tree without recursion.
"""

from __future__ import annotations

from . import nodes as n
from .errors import CompileError, SourceFile


def check_declarations(template: n.Template, problems: list[CompileError]) -> None:
    """Append a problem for every ``var`` inside an ``if`` that names an already declared variable."""
    file = SourceFile(template.filename, template.source)
    declared: dict[str, int] = {}  # name as written -> line of its first declaration
    # (statements, index of the next one, inside an if?) in source order
    pending: list[tuple[list[n.Node], int, bool]] = [(template.body, 0, False)]
    while pending:
        statements, index, in_if = pending.pop()
        if index >= len(statements):
            continue
        pending.append((statements, index + 1, in_if))
        statement = statements[index]
        if isinstance(statement, n.VarDeclaration):
            for variable in statement.variables:
                key = variable.name  # as written: see the module docstring
                if in_if and key in declared:
                    problems.append(
                        file.error(
                            f"variable {variable.name} is declared again inside an 'if' "
                            f"(it is already declared at line {declared[key]}); Marketing Cloud refuses the page",
                            variable.span.line,
                            variable.span.column,
                            hint="AMPscript has no block scope: declare every variable once, before the 'if'",
                            code="AMP004",
                        )
                    )
                declared.setdefault(key, variable.span.line)
        elif isinstance(statement, n.If):
            bodies = [branch.body for branch in statement.branches]
            if statement.else_body is not None:
                bodies.append(statement.else_body)
            pending.extend((body, 0, True) for body in reversed(bodies))
        elif isinstance(statement, n.For):
            pending.append((statement.body, 0, in_if))
