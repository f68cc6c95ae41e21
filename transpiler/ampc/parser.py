"""AMPscript source -> typed AST (`ampc.nodes`).

Two steps, as in most template engines:

1. Lark (LALR, contextual lexer, grammar in `grammar.lark`) turns the source
   into a flat list of chunks: text, inline expressions, simple statements,
   and *markers* for the statements that open or close a structure.
2. `_Nester` folds the markers into `If` and `For` nodes.  Doing it here
   rather than in the grammar is what allows an `if` opened in one code block
   to close in a later one, and it gives precise errors ("`next` without
   `for`", "`if` opened at line 3 is never closed").

Syntax errors become `CompileError`s with the file, line, column, the source
line with a caret, and a hint where the fix is obvious.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources

from lark import Lark, Token, Tree, v_args
from lark.visitors import Transformer_NonRecursive
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from . import nodes as n
from .errors import CompileError, SourceFile


@cache
def _lark() -> Lark:
    """The parser, built once per process (LALR tables take a moment to build)."""
    grammar = resources.files("ampc").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
    )


def parse(source: str, filename: str = "<ampscript>", problems: list[CompileError] | None = None) -> n.Template:
    """Parse a whole AMPscript file into a `Template`, or raise `CompileError`.

    A syntax error stops parsing at once.  Structural errors (`next` without
    `for`, an `if` never closed) are appended to `problems` when a list is
    given, and parsing goes on so that later checks can report theirs too.
    """
    file = SourceFile(filename, source)
    tree = _parse_tree(file)
    chunks = _ToChunks(file).transform(tree)
    found: list[CompileError] = []
    body = _Nester(file, found).nest(chunks)
    if found and problems is None:
        raise CompileError.collect(found)
    if problems is not None:
        problems.extend(found)
    return n.Template(body=body, filename=filename, source=source)


# ---- Step 1: Lark, with errors translated into AMPscript terms -----------------


def _parse_tree(file: SourceFile) -> Tree:
    interactive = _lark().parse_interactive(file.text)
    openers: list[Token] = []  # unclosed %%[ / %%= / <script> tokens
    last: Token | None = None
    try:
        for token in interactive.iter_parse():
            last = token
            if token.type in ("BLOCK_OPEN", "INLINE_OPEN", "SCRIPT_OPEN"):
                if token.type == "SCRIPT_OPEN":
                    _check_script_language(file, token)
                openers.append(token)
            elif token.type in ("BLOCK_CLOSE", "INLINE_CLOSE", "SCRIPT_CLOSE") and openers:
                openers.pop()
        return interactive.feed_eof(last)
    except UnexpectedInput as error:
        raise _syntax_error(file, error, openers, _acceptable(interactive)) from None


def _acceptable(interactive) -> set[str] | None:
    """The terminals the parser can really take next.

    Lark's own `expected` sets come from LALR states shared between contexts
    (the state after `1` in `set @a = 1` is the one after `1` in `if 1`), so
    they list `then` after a `set`; `accepts()` tries each terminal instead.
    """
    try:
        return set(interactive.accepts())
    except Exception:  # noqa: BLE001 (a better message is not worth a crash)
        return None


_LANGUAGE = re.compile(r"""\blanguage\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def _check_script_language(file: SourceFile, token: Token) -> None:
    match = _LANGUAGE.search(token.value)
    language = next((g for g in match.groups() if g is not None), "") if match else ""
    if language.strip().lower() != "ampscript":
        shown = language or "javascript (the default)"
        raise file.error(
            f"server-side script in language {shown!r} is not supported; ampc compiles AMPscript only",
            token.line,
            token.column,
            hint='for AMPscript use <script runat="server" language="ampscript">; '
            "server-side JavaScript (SSJS) cannot be compiled",
        )


_TOKEN_NAMES = {
    "$END": "end of file",
    "BLOCK_OPEN": "'%%['",
    "BLOCK_CLOSE": "']%%'",
    "INLINE_OPEN": "'%%='",
    "INLINE_CLOSE": "'=%%'",
    "SCRIPT_OPEN": "'<script runat=server>'",
    "SCRIPT_CLOSE": "'</script>'",
    "TEXT": "text",
    "PERSONALIZATION": "a personalization string",
    "VARIABLE": "a variable",
    "NAME": "a name",
    "BRACKETED": "a [bracketed] attribute",
    "STRING": "a string",
    "NUMBER": "a number",
    "COMPARE": "a comparison operator",
    "EQUAL": "'='",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
}


def _describe(token_type: str) -> str:
    return _TOKEN_NAMES.get(token_type, f"'{token_type.lower()}'")


def _syntax_error(
    file: SourceFile, error: UnexpectedInput, openers: list[Token], acceptable: set[str] | None = None
) -> CompileError:
    if isinstance(error, UnexpectedCharacters):
        allowed = acceptable if acceptable is not None else set(error.allowed or ())
        return _unexpected_character(file, error.line, error.column, error.pos_in_stream, allowed)
    assert isinstance(error, UnexpectedToken)
    token = error.token
    expected = acceptable if acceptable is not None else set(error.expected)
    if token.type == "$END":
        return _unexpected_end(file, openers)
    if token.type == "TEXT" or (token.type == "BLOCK_CLOSE" and "TEXT" in expected):
        # TEXT: nothing in code matched here; Lark fell back to the template lexer.
        # BLOCK_CLOSE where text is expected: a stray ']%%'.
        return _unexpected_character(file, token.line, token.column, token.start_pos, expected)
    line, column = token.line, token.column
    shown = token.value if len(token.value) <= 30 else token.value[:27] + "..."
    if token.type == "EQUAL" and "THEN" in expected:
        return file.error("'=' assigns; use '==' to compare", line, column, hint="write: if @a == 1 then")
    if "THEN" in expected and token.type != "THEN":
        return file.error(
            f"expected 'then' after the condition, found {shown!r}", line, column,
            hint="write: if <condition> then",
        )
    if "DO" in expected and token.type != "DO":
        return file.error(
            f"expected 'do' after the loop bounds, found {shown!r}", line, column,
            hint="write: for @i = 1 to 10 do",
        )
    if token.type in ("VARIABLE", "STRING", "NUMBER", "BRACKETED") and "SET" in expected:
        return file.error(
            f"a statement cannot start with {shown!r}", line, column,
            hint="assign with 'set @name = value', or output a value with %%= value =%%",
        )
    if token.type in ("BLOCK_CLOSE", "INLINE_CLOSE", "RPAR", "COMMA") and "STRING" in expected:
        return file.error(f"expected a value before {shown!r}", line, column)
    wanted = ", ".join(sorted({_describe(t) for t in expected if not t.startswith("__")}))
    return file.error(f"unexpected {shown!r}; expected {wanted}", line, column)


def _code_token_at(text: str, pos: int) -> str | None:
    """The variable, string, number or [attribute] that starts at `pos`, if any."""
    for name in ("VARIABLE", "STRING", "NUMBER", "BRACKETED"):
        match = re.compile(_lark().get_terminal(name).pattern.to_regexp()).match(text, pos)
        if match:
            return match.group()
    return None


def _unexpected_character(file: SourceFile, line: int, column: int, pos: int, allowed: set[str]) -> CompileError:
    char = file.text[pos]
    word = _code_token_at(file.text, pos)
    if word is None and char in "\"'" and allowed & {"STRING", "SET", "RPAR", "BLOCK_CLOSE"}:
        return file.error(
            "unterminated string literal", line, column,
            hint=f"close the string with {char}; to put {char} inside it, double it ({char}{char})",
        )
    if file.text.startswith("]%%", pos) and "TEXT" in allowed:
        return file.error(
            "']%%' closes a code block that was never opened", line, column,
            hint="remove it, or open the block with '%%['",
        )
    if file.text.startswith("/*", pos):
        return file.error("unterminated comment", line, column, hint="close the comment with */")
    shown = word if word is None or len(word) <= 30 else word[:27] + "..."
    if word is not None and "SET" in allowed:
        return file.error(
            f"a statement cannot start with {shown!r}", line, column,
            hint="assign with 'set @name = value', or output a value with %%= value =%%",
        )
    if char == "=" and "THEN" in allowed:
        return file.error("'=' assigns; use '==' to compare", line, column, hint="write: if @a == 1 then")
    if "THEN" in allowed:
        return file.error(
            f"expected 'then' after the condition, found {shown or char!r}", line, column,
            hint="write: if <condition> then",
        )
    if "DO" in allowed:
        return file.error(
            f"expected 'do' after the loop bounds, found {shown or char!r}", line, column,
            hint="write: for @i = 1 to 10 do",
        )
    if char == "@" and word is None:
        return file.error("'@' must be followed by a variable name", line, column)
    return file.error(f"unexpected {shown!r}" if word else f"unexpected character {char!r}", line, column)


def _unexpected_end(file: SourceFile, openers: list[Token]) -> CompileError:
    if not openers:
        end_line = file.text.count("\n") + 1
        return file.error("unexpected end of file", end_line, len(file.line(end_line)) + 1)
    opener = openers[-1]
    closer = {"BLOCK_OPEN": "]%%", "INLINE_OPEN": "=%%", "SCRIPT_OPEN": "</script>"}[opener.type]
    what = {
        "BLOCK_OPEN": "code block",
        "INLINE_OPEN": "inline expression",
        "SCRIPT_OPEN": "server script",
    }[opener.type]
    return file.error(
        f"{what} opened here is never closed", opener.line, opener.column, hint=f"close it with {closer}"
    )


# ---- Lark tree -> flat chunks ------------------------------------------------------


@dataclass
class _IfOpen:
    condition: n.Expression
    span: n.Span


@dataclass
class _ElseIf:
    condition: n.Expression
    span: n.Span


@dataclass
class _Else:
    span: n.Span


@dataclass
class _EndIf:
    span: n.Span


@dataclass
class _ForOpen:
    variable: n.Variable
    start: n.Expression
    stop: n.Expression
    descending: bool
    span: n.Span


@dataclass
class _Next:
    variable: n.Variable | None
    span: n.Span


def _span_of(item: Token | Tree) -> n.Span:
    if isinstance(item, Token):
        return n.Span(item.line, item.column, item.end_line, item.end_column, item.start_pos, item.end_pos)
    meta = item.meta
    return n.Span(meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos)


def _join(first: n.Span, last: n.Span) -> n.Span:
    return n.Span(first.line, first.column, last.end_line, last.end_column, first.start, last.end)


def _unquote(literal: str) -> str:
    quote = literal[0]
    return literal[1:-1].replace(quote * 2, quote)


@v_args(meta=True)
class _ToChunks(Transformer_NonRecursive):
    """Builds AST nodes bottom-up; returns the flat list of chunks.

    Non-recursive, so that no nesting depth, however deep, can exhaust
    Python's stack here; the nesting limits are checked afterwards
    (`ampc.nesting`), with errors at the construct that goes too deep.
    """

    def __init__(self, file: SourceFile):
        super().__init__()
        self.file = file

    def _span(self, meta) -> n.Span:
        return n.Span(meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos)

    # template level
    def start(self, meta, chunks):
        flat: list = []
        for chunk in chunks:
            flat.extend(chunk if isinstance(chunk, list) else [chunk])
        return flat

    def text(self, meta, children):
        (token,) = children
        return n.Text(str(token), _span_of(token))

    def personalization(self, meta, children):
        (token,) = children
        span = _span_of(token)
        return n.InlineExpression(n.Attribute(token.value[2:-2], span), span)

    def inline(self, meta, children):
        _, expression, _ = children
        return n.InlineExpression(expression, self._span(meta))

    def block(self, meta, children):
        return list(children[1:-1])

    script = block

    # statements
    def var_stmt(self, meta, children):
        return n.VarDeclaration(list(children[1:]), self._span(meta))

    def set_stmt(self, meta, children):
        _, target, value = children
        return n.Assignment(target, value, self._span(meta))

    def if_open(self, meta, children):
        return _IfOpen(children[1], self._span(meta))

    def elseif_marker(self, meta, children):
        return _ElseIf(children[1], self._span(meta))

    def else_marker(self, meta, children):
        return _Else(self._span(meta))

    def endif_marker(self, meta, children):
        return _EndIf(self._span(meta))

    def for_open(self, meta, children):
        _, variable, start, direction, stop, _ = children
        return _ForOpen(variable, start, stop, direction.type == "DOWNTO", self._span(meta))

    def next_marker(self, meta, children):
        return _Next(children[1] if len(children) > 1 else None, self._span(meta))

    def call_stmt(self, meta, children):
        (call,) = children
        return n.CallStatement(call, call.span)

    # expressions
    def or_expr(self, meta, children):
        return n.Logical("or", children[::2], self._span(meta))

    def and_expr(self, meta, children):
        return n.Logical("and", children[::2], self._span(meta))

    def not_op(self, meta, children):
        return n.Not(children[1], self._span(meta))

    def comparison(self, meta, children):
        left, operator, right = children
        return n.Comparison(str(operator), left, right, self._span(meta))

    def string(self, meta, children):
        (token,) = children
        return n.StringLiteral(_unquote(token.value), _span_of(token))

    def number(self, meta, children):
        (token,) = children
        text = token.value
        value: int | Decimal = Decimal(text) if "." in text else int(text)
        return n.NumberLiteral(value, text, _span_of(token))

    def true(self, meta, children):
        return n.BooleanLiteral(True, _span_of(children[0]))

    def false(self, meta, children):
        return n.BooleanLiteral(False, _span_of(children[0]))

    def variable(self, meta, children):
        (token,) = children
        return n.Variable(token.value, _span_of(token))

    def attribute(self, meta, children):
        (token,) = children
        return n.Attribute(token.value, _span_of(token))

    def bracketed_attribute(self, meta, children):
        (token,) = children
        return n.Attribute(token.value[1:-1], _span_of(token))

    def call(self, meta, children):
        name, *args = children
        return n.Call(name.value, list(args), self._span(meta), _span_of(name))


# ---- Step 2: fold markers into If / For ------------------------------------------------


@dataclass
class _OpenIf:
    node: n.If
    body: list  # the body currently being filled
    has_else: bool = False


@dataclass
class _OpenFor:
    node: n.For


class _Nester:
    """Folds markers into If/For; on a structural error it records it and recovers."""

    def __init__(self, file: SourceFile, problems: list[CompileError]):
        self.file = file
        self.problems = problems

    def nest(self, chunks: list) -> list[n.Node]:
        self.root: list[n.Node] = []
        self.stack: list[_OpenIf | _OpenFor] = []
        for chunk in chunks:
            try:
                self._fold(chunk)
            except CompileError as problem:
                self.problems.append(problem)
        for top in reversed(self.stack):
            if isinstance(top, _OpenIf):
                problem = self._error("'if' opened here is never closed", top.node.span, hint="add 'endif'")
            else:
                problem = self._error("'for' loop opened here is never closed", top.node.span, hint="add 'next'")
            self.problems.append(problem)
        return self.root

    def _body(self) -> list:
        """The list the next chunk goes into."""
        if not self.stack:
            return self.root
        top = self.stack[-1]
        return top.body if isinstance(top, _OpenIf) else top.node.body

    def _fold(self, chunk) -> None:
        stack = self.stack
        if isinstance(chunk, _IfOpen):
            branch = n.Branch(chunk.condition, [], chunk.span)
            node = n.If([branch], None, chunk.span)
            self._body().append(node)
            stack.append(_OpenIf(node, branch.body))
        elif isinstance(chunk, _ElseIf):
            top = self._innermost_if(stack, chunk.span, "elseif")
            if top.has_else:
                raise self._error("'elseif' after 'else'", chunk.span, hint="move the elseif before the else")
            branch = n.Branch(chunk.condition, [], chunk.span)
            top.node.branches.append(branch)
            top.body = branch.body
        elif isinstance(chunk, _Else):
            top = self._innermost_if(stack, chunk.span, "else")
            if top.has_else:
                raise self._error("a second 'else' for the same 'if'", chunk.span)
            top.has_else = True
            top.node.else_body = []
            top.body = top.node.else_body
        elif isinstance(chunk, _EndIf):
            top = self._innermost_if(stack, chunk.span, "endif")
            top.node.span = _join(top.node.span, chunk.span)
            stack.pop()
        elif isinstance(chunk, _ForOpen):
            node = n.For(chunk.variable, chunk.start, chunk.stop, chunk.descending, [], chunk.span)
            self._body().append(node)
            stack.append(_OpenFor(node))
        elif isinstance(chunk, _Next):
            self._close_for(stack, chunk)
        else:
            self._body().append(chunk)

    def _innermost_if(self, stack: list, span: n.Span, keyword: str) -> _OpenIf:
        if not stack:
            raise self._error(f"'{keyword}' without a matching 'if'", span)
        top = stack[-1]
        if isinstance(top, _OpenFor):
            raise self._error(
                f"'{keyword}' inside the 'for' loop opened at line {top.node.span.line}, "
                "which has no open 'if'",
                span,
                hint="close the loop with 'next' first, or open an 'if' inside it",
            )
        return top

    def _close_for(self, stack: list, chunk: _Next) -> None:
        if not stack:
            raise self._error("'next' without a matching 'for'", chunk.span)
        top = stack[-1]
        if isinstance(top, _OpenIf):
            raise self._error(
                f"'next' inside the 'if' opened at line {top.node.span.line}, which is still open",
                chunk.span,
                hint="add 'endif' before 'next'",
            )
        loop = top.node
        if chunk.variable is not None and chunk.variable.name.lower() != loop.variable.name.lower():
            # Reported, but the loop is closed all the same: one mistake, one error.
            self.problems.append(self._error(
                f"'next {chunk.variable.name}' does not match 'for {loop.variable.name}' "
                f"at line {loop.span.line}",
                chunk.span,
                hint=f"write 'next {loop.variable.name}' or just 'next'",
            ))
        loop.span = _join(loop.span, chunk.span)
        stack.pop()

    def _error(self, message: str, span: n.Span, hint: str | None = None) -> CompileError:
        return self.file.error(message, span.line, span.column, hint=hint)
