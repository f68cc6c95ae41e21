"""The check pass for nesting depth: how deeply statements and expressions may nest.

The generated Python nests as the AMPscript does (an `if` in an `if` is an
`if` in an `if`, a call in a call is a call in a call), and Python itself
refuses code nested past about 100 indentation levels or 200 parentheses.
So ampc sets its own limits, well inside Python's, and reports a script
that goes past them as a compile error at the construct that goes too deep,
instead of failing somewhere inside the compiler:

* ``if`` and ``for`` blocks nest at most `MAX_BLOCK_DEPTH` (64) deep;
* expressions (function calls, comparisons, ``not``, ``and``/``or``)
  nest at most `MAX_EXPRESSION_DEPTH` (100) deep: ``Add(1, Add(1, 1))`` is
  2 deep, ``not @a == 1`` is 2 deep.

Marketing Cloud documents no nesting limits; these are ampc's choice, far
beyond what real scripts use.  Long flat sequences are not nesting and have
no limit: any number of ``elseif`` branches, ``and``/``or`` operands,
statements or arguments compile (the code generator keeps their Python flat).

This pass never recurses, so no input can exhaust Python's stack in it; the
code generator, which does recurse, only runs on trees that passed it.
"""

from __future__ import annotations

from . import nodes as n
from .errors import CompileError, SourceFile

MAX_BLOCK_DEPTH = 64
MAX_EXPRESSION_DEPTH = 100


def check_nesting(template: n.Template, problems: list[CompileError]) -> bool:
    """Append a problem for each construct nested too deeply; True if there was none."""
    file = SourceFile(template.filename, template.source)
    found = len(problems)
    # (statements, depth of the blocks they are in)
    pending: list[tuple[list[n.Node], int]] = [(template.body, 0)]
    while pending:
        statements, depth = pending.pop()
        for statement in statements:
            for expression in n.expressions_of(statement):
                _check_expression(expression, file, problems)
            if isinstance(statement, (n.If, n.For)):
                if depth + 1 > MAX_BLOCK_DEPTH:
                    keyword = "if" if isinstance(statement, n.If) else "for"
                    problems.append(
                        file.error(
                            f"'{keyword}' blocks are nested more than {MAX_BLOCK_DEPTH} deep here",
                            statement.span.line,
                            statement.span.column,
                            code="AMP003",
                            hint="move the inner part into a content block, or combine conditions with 'and'",
                        )
                    )
                    continue  # one error for the whole too-deep part
                pending.extend((body, depth + 1) for body in n.bodies_of(statement))
    return len(problems) == found


def _check_expression(root: n.Expression, file: SourceFile, problems: list[CompileError]) -> None:
    pending: list[tuple[n.Expression, int]] = [(root, 1)]
    while pending:
        expression, depth = pending.pop()
        children = _operands_of(expression)
        if not children:
            continue
        if depth > MAX_EXPRESSION_DEPTH:
            problems.append(
                file.error(
                    f"expressions are nested more than {MAX_EXPRESSION_DEPTH} deep here",
                    expression.span.line,
                    expression.span.column,
                    code="AMP003",
                    hint="compute the inner part first: set @part = ... and use @part",
                )
            )
            return  # one error per expression
        pending.extend((child, depth + 1) for child in children)


def _operands_of(expression: n.Expression) -> list[n.Expression]:
    if isinstance(expression, n.Call):
        return expression.args
    if isinstance(expression, n.Not):
        return [expression.operand]
    if isinstance(expression, n.Comparison):
        return [expression.left, expression.right]
    if isinstance(expression, n.Logical):
        return expression.operands
    return []
