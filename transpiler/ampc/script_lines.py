"""Which lines of an AMPscript file hold code: for coverage reports and debugger breakpoints.

The fast emitter's code carries AMPscript line numbers
(`ampc.emitters.fast`), so the lines that can run are the lines of the
compiled ``render`` function's instructions, less the scaffolding the
generator puts at line 1 around the script's own statements (``with
Page.start(...) as page``, ``var = page.var``, ``return page.output``).
Used by `ampc.coverage_plugin` (what a report counts) and
`ampc.debugging` (where a breakpoint can stop).
"""

from __future__ import annotations

import ast
from types import CodeType


def executable_lines(source: str, filename: str) -> set[int]:
    """The lines of `source` that hold code of the script's statements; none if it does not compile.

    A file that does not compile cannot have run (or has changed since):
    reporting it with no lines keeps the report going, where raising would
    stop coverage's whole report.
    """
    from ampscript.errors import AMPscriptError

    from .codegen import generate_tree
    from .compiler import checked_template

    try:
        tree = generate_tree(checked_template(source, filename, None, None))
        module_code = compile(tree, filename, "exec")
    except (AMPscriptError, RecursionError, SyntaxError, ValueError):
        # AMPscriptError: the CompileError of a script with errors.  The
        # others: Python's compile() refusing the tree (nesting limits).
        return set()
    return instruction_lines(render_code(module_code)) & statement_lines(tree)


def render_code(module_code: CodeType) -> CodeType:
    """The code object of the generated module's ``render`` function."""
    for constant in module_code.co_consts:
        if isinstance(constant, CodeType) and constant.co_name == "render":
            return constant
    raise LookupError("the compiled AMPscript module has no render function")


def instruction_lines(code: CodeType) -> set[int]:
    """The line numbers of `code`'s instructions and those of the code objects nested in it.

    These are the lines the tracer can report: code Python's compiler
    dropped as unreachable has none.
    """
    lines = {line for _, _, line in code.co_lines() if line is not None}
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            lines |= instruction_lines(constant)
    return lines


def statement_lines(tree: ast.Module) -> set[int]:
    """The lines of the nodes generated for the script's statements, without the scaffolding around them."""
    return {
        node.lineno
        for statement in script_statements(tree)
        for node in ast.walk(statement)
        if hasattr(node, "lineno")
    }


def script_statements(tree: ast.Module) -> list[ast.stmt]:
    """The statements lowered from the script: the body of ``with Page.start(...) as page`` in ``render``,
    less the ``var = page.var`` it starts with (`ampc.codegen._Generator.module`)."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "render":
            for statement in node.body:
                if isinstance(statement, ast.With):
                    return [each for each in statement.body if not _is_variables_alias(each)]
    raise LookupError("the generated AMPscript module has no render function with a page")


def _is_variables_alias(statement: ast.stmt) -> bool:
    """Whether `statement` is the ``var = page.var`` that starts every render (scripts set ``var[...]``)."""
    return (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and statement.targets[0].id == "var"
    )
