"""The one shape every generated module has, whatever the AMPscript was.

No input may change the structure of the generated Python: AMPscript text
reaches it only as string and number literals.  `check_module_shape` states
that structure as a checkable rule, for the tests and the fuzzer
(`ampc.fuzz`):

* a docstring, ``from`` imports of the runtime only (``decimal``,
  ``ampscript``, ``ampscript.functions``, ``ampscript.runtime``,
  ``ampscript.scripts``), the ``AMPSCRIPT_FILE`` constant, an optional
  ``AMPSCRIPT_LINES = True`` (the fast emitter's: its code objects' lines
  are AMPscript lines) with ``AMPSCRIPT_STATEMENTS`` (where each statement
  starts: (line, byte offset, column) integer triples), an optional ``FUNCTION_CALLS`` constant (a dict of
  function names, as string literals, to (line, column) integer pairs) and
  one function, ``render(context, variables)``;
* a module of ``ampc compile`` also has ``AMPSCRIPT_SHA256`` (the source's
  digest) and ``check_compiled_from(AMPSCRIPT_FILE, AMPSCRIPT_SHA256,
  __file__)`` before ``render``, and ``run_if_main(__name__, render,
  AMPSCRIPT_FILE, __file__)`` after it (`ampscript.scripts`), after the
  source map when it has one: ``AMPSCRIPT_POSITIONS`` (a tuple of
  (Python line, AMPscript line, column) integer triples) and
  ``AMPSCRIPT_SOURCE`` (the AMPscript, a string literal);
* ``render(context, variables)`` has a docstring, one ``with
  Page.start(context, AMPSCRIPT_FILE, FUNCTION_CALLS, variables) as page:``
  block (``None`` for ``FUNCTION_CALLS`` when the module has none) and
  ``return page.output``;
* inside it, no definitions, imports, lambdas or globals; names are the
  imported ones, a few fixed locals and the compiler's own flags
  (``elseif_pending_N``); attributes are ``page.*``, ``var.*`` and
  ``Page.start`` only; subscripts are ``var["@name"]`` with a string key;
  assignments and loops write only variables (``var[...]``) and flags.
"""

from __future__ import annotations

import ast
import re

ALLOWED_MODULES = frozenset({"decimal", "ampscript", "ampscript.functions", "ampscript.runtime", "ampscript.scripts"})
LOCAL_NAMES = frozenset({
    "context", "variables", "page", "var", "AMPSCRIPT_FILE", "True", "False", "None", "Context", "str", "dict",
})
ATTRIBUTES = frozenset({"page.var", "page.write_text", "page.write_value", "page.output", "Page.start", "var.declare", "var.ref"})
# Names the code generator itself introduces (`_Generator.long_if_chain`).
_FLAG = re.compile(r"elseif_pending_[0-9]+\Z")
_FORBIDDEN = (ast.Import, ast.ImportFrom, ast.Lambda, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
              ast.Global, ast.Nonlocal, ast.Delete, ast.Try, ast.Raise, ast.Await, ast.Yield, ast.YieldFrom)


class ShapeError(AssertionError):
    """The generated module does not have the one shape (a bug in ampc, never the user's)."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ShapeError(message)


def check_module_shape(python: str | ast.Module, filename: str) -> None:
    """Raise `ShapeError` unless the generated module (source or tree) has the one shape (module docstring)."""
    tree = ast.parse(python) if isinstance(python, str) else python
    _require(len(tree.body) >= 4, "the module has too few statements")
    body = list(tree.body)
    standalone = isinstance(body[-1], ast.Expr)  # a module of ampc compile: run_if_main(...) last
    if standalone:
        _require(ast.unparse(body.pop()) == "run_if_main(__name__, render, AMPSCRIPT_FILE, __file__)",
                 "the last statement is not run_if_main")
        if isinstance(body[-1], ast.Assign) and _is_name(body[-1], "AMPSCRIPT_SOURCE"):
            _check_source_map(body.pop(-2), body.pop())
        _require(ast.unparse(body.pop(-2)) == "check_compiled_from(AMPSCRIPT_FILE, AMPSCRIPT_SHA256, __file__)",
                 "no check_compiled_from before render")
    docstring, *imports, function = body
    constants: list[ast.Assign] = []
    while imports and isinstance(imports[-1], ast.Assign):
        constants.insert(0, imports.pop())
    _require(bool(constants), "no AMPSCRIPT_FILE constant")
    assignment, *optional = constants
    lines = optional.pop(0) if optional and _is_name(optional[0], "AMPSCRIPT_LINES") else None
    statements = optional.pop(0) if optional and _is_name(optional[0], "AMPSCRIPT_STATEMENTS") else None
    _require((statements is None) == (lines is None), "AMPSCRIPT_STATEMENTS and AMPSCRIPT_LINES come together")
    if statements is not None:
        _check_integer_triples(statements, "AMPSCRIPT_STATEMENTS")
    calls = optional.pop(0) if optional and _is_name(optional[0], "FUNCTION_CALLS") else None
    digest = optional.pop(0) if optional and _is_name(optional[0], "AMPSCRIPT_SHA256") else None
    _require(not optional, "unexpected constants")
    _require((digest is not None) == standalone, "AMPSCRIPT_SHA256 and run_if_main come together")
    if digest is not None:
        _require(isinstance(digest.value, ast.Constant) and isinstance(digest.value.value, str)
                 and bool(re.fullmatch("[0-9a-f]{64}", digest.value.value)), "AMPSCRIPT_SHA256 is not a digest")
    if lines is not None:
        _require(isinstance(lines.value, ast.Constant) and lines.value.value is True, "AMPSCRIPT_LINES is not True")

    _require(isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant), "no module docstring")
    _require(
        docstring.value.value == f"Compiled by ampc from {filename}; edit the AMPscript, not this file.",
        "the module docstring is not ampc's",
    )

    imported: set[str] = set()
    _require(bool(imports), "no imports")
    for statement in imports:
        _require(isinstance(statement, ast.ImportFrom), f"not a from-import: {ast.dump(statement)}")
        _require(statement.module in ALLOWED_MODULES and statement.level == 0, f"imports {statement.module}")
        _require(all(a.asname is None and a.name != "*" for a in statement.names), "an import is renamed or *")
        imported |= {alias.name for alias in statement.names}

    _require(isinstance(assignment, ast.Assign), "no AMPSCRIPT_FILE constant")
    _require(
        [ast.dump(t) for t in assignment.targets] == [ast.dump(ast.Name("AMPSCRIPT_FILE", ast.Store()))],
        "the constant is not AMPSCRIPT_FILE",
    )
    _require(
        isinstance(assignment.value, ast.Constant) and assignment.value.value == filename,
        "AMPSCRIPT_FILE is not the file name",
    )

    if calls is not None:
        _check_function_calls(calls)

    _require(isinstance(function, ast.FunctionDef) and function.name == "render", "no render function")
    _require(not function.decorator_list, "render is decorated")
    arguments = function.args
    _require([a.arg for a in arguments.args] == ["context", "variables"], "render's parameters are not (context, variables)")
    _require(
        not (arguments.vararg or arguments.kwarg or arguments.kwonlyargs or arguments.posonlyargs),
        "render takes other parameters",
    )
    _require(len(function.body) == 3, "render's body is not docstring, with, return")
    doc, with_page, returned = function.body
    _require(
        isinstance(doc, ast.Expr) and getattr(doc.value, "value", None) == f"Render {filename} and return its output.",
        "render's docstring is not ampc's",
    )
    _require(isinstance(with_page, ast.With), "no with block")
    expected_start = f"Page.start(context, AMPSCRIPT_FILE, {'FUNCTION_CALLS' if calls is not None else 'None'}, variables)"
    _require(ast.unparse(with_page.items[0]) == expected_start + " as page", "not Page.start")
    _require(ast.unparse(returned) == "return page.output", "render does not return page.output")

    names = imported | LOCAL_NAMES | ({"FUNCTION_CALLS"} if calls is not None else set())
    for node in (node for statement in function.body for node in ast.walk(statement)):
        _require(not isinstance(node, _FORBIDDEN), f"forbidden statement: {ast.dump(node)[:200]}")
        if isinstance(node, ast.Name):
            _require(node.id in names or bool(_FLAG.match(node.id)), f"unexpected name {node.id!r}")
        elif isinstance(node, ast.Attribute):
            _require(ast.unparse(node) in ATTRIBUTES, f"unexpected attribute {ast.unparse(node)!r}")
        elif isinstance(node, ast.Subscript):
            _require(isinstance(node.value, ast.Name) and node.value.id == "var", "subscript of something but var")
            _require(
                isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str),
                "a subscript whose key is not a string literal",
            )
        elif isinstance(node, (ast.Assign, ast.For, ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
            _require(isinstance(node, (ast.Assign, ast.For)), f"unexpected assignment {ast.dump(node)[:200]}")
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                ok = (
                    (isinstance(target, ast.Name) and (target.id == "var" or bool(_FLAG.match(target.id))))
                    or (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                        and target.value.id == "var")
                )
                _require(ok, f"assigns to {ast.unparse(target)!r}")


def _check_source_map(positions: ast.stmt, source: ast.Assign) -> None:
    """``AMPSCRIPT_POSITIONS = ((python_line, line, column), ...)`` and ``AMPSCRIPT_SOURCE = "..."``: data only."""
    _require(isinstance(positions, ast.Assign) and _is_name(positions, "AMPSCRIPT_POSITIONS"),
             "AMPSCRIPT_SOURCE without AMPSCRIPT_POSITIONS before it")
    _check_integer_triples(positions, "AMPSCRIPT_POSITIONS")
    _require(isinstance(source.value, ast.Constant) and isinstance(source.value.value, str),
             "AMPSCRIPT_SOURCE is not a string")


def _check_integer_triples(assignment: ast.Assign, name: str) -> None:
    """``NAME = ((1, 2, 3), ...)``: a tuple of tuples of three integer literals, data only."""
    _require(isinstance(assignment.value, ast.Tuple), f"{name} is not a tuple")
    for entry in assignment.value.elts:
        _require(
            isinstance(entry, ast.Tuple) and len(entry.elts) == 3
            and all(isinstance(item, ast.Constant) and type(item.value) is int for item in entry.elts),
            f"an {name} entry is not three integers",
        )


def _is_name(assignment: ast.Assign, name: str) -> bool:
    return [ast.dump(t) for t in assignment.targets] == [ast.dump(ast.Name(name, ast.Store()))]


def _check_function_calls(assignment: ast.Assign) -> None:
    """``FUNCTION_CALLS = {"Name": (line, column), ...}``: string keys (data, never names), integer positions."""
    value = assignment.value
    _require(isinstance(value, ast.Dict), "FUNCTION_CALLS is not a dict")
    for key, position in zip(value.keys, value.values):
        _require(
            isinstance(key, ast.Constant) and isinstance(key.value, str),
            "a FUNCTION_CALLS key is not a string literal",
        )
        _require(
            isinstance(position, ast.Tuple) and len(position.elts) == 2
            and all(isinstance(e, ast.Constant) and type(e.value) is int for e in position.elts),
            "a FUNCTION_CALLS position is not two integers",
        )
