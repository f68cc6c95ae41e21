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
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from . import nodes as n
from .errors import CompileError, SourceFile


@cache
def _lark() -> Lark:
    """The parser, built once per process.

    The LALR tables take about 100 ms to build; Lark's cache (a file in the
    system's temporary folder, named by the grammar's and Lark's versions,
    rebuilt if missing or unreadable) cuts that to about 10 ms for every
    later process: the start-up of ``ampc run`` (issue 11).
    """
    grammar = resources.files("ampc").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=False,
        cache=True,
    )


def parse(source: str, filename: str = "<ampscript>", problems: list[CompileError] | None = None) -> n.Template:
    """Parse a whole AMPscript file into a `Template`, or raise `CompileError`.

    Without a `problems` list, the first syntax error is raised at once.
    With one, every problem goes into it and parsing goes on: after a syntax
    error the parser resumes at the next statement or block
    (`_recovering_parse`), and structural errors (`next` without `for`, an
    `if` never closed) are recorded too, so that `ampc check` reports them
    all, along with what the later passes find.
    """
    file = SourceFile(filename, source)
    if problems is None:
        tree = _parse_tree(file)
    else:
        tree, syntax_errors = _recovering_parse(file)
        problems.extend(syntax_errors)
        if tree is None:
            return n.Template(body=[], filename=filename, source=source)
    chunks = _ToChunks().transform(tree)
    found: list[CompileError] = []
    body = _Nester(file, found).nest(chunks)
    if found and problems is None:
        raise CompileError.collect(found)
    if problems is not None:
        problems.extend(found)
    return n.Template(body=body, filename=filename, source=source)


# ---- Step 1: Lark, with errors translated into AMPscript terms -----------------

_STATEMENT_KEYWORDS = {"VAR", "SET", "IF", "ELSEIF", "ELSE", "ENDIF", "FOR", "NEXT"}

# At most this many syntax errors are reported for one file; past it, the
# rest of the file is not parsed (each recovery re-parses the file).
MAX_SYNTAX_ERRORS = 50


class _SyntaxFailure(Exception):
    """A syntax error, with what recovery needs: where it is and the statement it broke."""

    def __init__(self, error: CompileError, position: int | None, opener: Token | None, statement: int) -> None:
        self.error = error
        self.position = position  # offset of the offending token; None at the end of the file
        self.opener = opener  # the innermost unclosed %%[, %%= or <script>, if any
        self.statement = statement  # offset where the broken statement starts


def _parse_tree(file: SourceFile) -> Tree:
    try:
        return _attempt(file, file.text)
    except _SyntaxFailure as failure:
        raise failure.error from None


def _attempt(file: SourceFile, text: str) -> Tree:
    """Parse `text` (the file's text, maybe with broken statements blanked out)."""
    interactive = _lark().parse_interactive(text)
    openers: list[Token] = []  # unclosed %%[ / %%= / <script> tokens
    last: Token | None = None
    statement = 0  # where the statement being parsed starts

    def taken(token: Token) -> None:
        nonlocal statement
        if token.type in ("BLOCK_OPEN", "INLINE_OPEN", "SCRIPT_OPEN"):
            openers.append(token)
            statement = token.end_pos
        elif token.type in ("BLOCK_CLOSE", "INLINE_CLOSE", "SCRIPT_CLOSE") and openers:
            openers.pop()
        elif token.type in _STATEMENT_KEYWORDS:
            statement = token.start_pos

    try:
        # iter_parse yields each token before feeding it to the parser, so a
        # token is accounted for once the next one arrives: the one that
        # fails never is.
        for token in interactive.iter_parse():
            if last is not None:
                taken(last)
            last = token
        if last is not None:
            taken(last)
        return interactive.feed_eof(last)
    except UnexpectedInput as error:
        if last is not None and getattr(error, "token", None) is not last:
            taken(last)  # the lexer failed (not the parser on `last`), so the parser took `last`
        shown = SourceFile(file.name, text)
        problem = _syntax_error(shown, error, openers, _acceptable(interactive))
        problem.source_line = file.line(problem.line) if problem.line is not None else None
        if isinstance(error, UnexpectedToken):
            position = None if error.token.type == "$END" else error.token.start_pos
        else:
            position = error.pos_in_stream
        raise _SyntaxFailure(problem, position, openers[-1] if openers else None, statement) from None


def _recovering_parse(file: SourceFile) -> tuple[Tree | None, list[CompileError]]:
    """Parse, resuming after each syntax error; returns the tree (None if hopeless) and the errors.

    The broken statement is blanked out (spaces; line breaks kept, so every
    position stays where it was) from its start up to the next statement
    keyword or the end of its block, and the file is parsed again.  A broken
    `if`/`elseif`/`for` is replaced by a placeholder of the same kind, so
    that its `endif`/`next` still match and raise no errors of their own.
    """
    text, errors, seen = file.text, [], set()
    for _ in range(4 * MAX_SYNTAX_ERRORS):  # each round blanks more of the text, so this ends anyway
        try:
            return _attempt(file, text), errors
        except _SyntaxFailure as failure:
            where = (failure.error.line, failure.error.column)
            if where not in seen:  # blanking a statement before an error can leave that error in place
                seen.add(where)
                errors.append(failure.error)
                if len(errors) == MAX_SYNTAX_ERRORS:
                    break
            repaired = _blank_broken_statement(text, failure)
            if repaired is None or repaired == text:
                return None, errors
            text = repaired
    return None, errors


_BOUNDARY = re.compile(
    r"\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*'|/\*[\s\S]*?\*/"  # strings and comments are skipped
    r"|(?P<stop>(?<![\w@])(?:var|set|if|elseif|else|endif|for|next)(?![\w@])|\]%%|=%%|</script)",
    re.IGNORECASE | re.ASCII,
)
_PLACEHOLDERS = {"if": "if 1 then", "elseif": "elseif 1 then", "for": "for @_=1 to 1 do"}


def _blank_broken_statement(text: str, failure: _SyntaxFailure) -> str | None:
    position = failure.position
    if position is None:
        return None  # the end of the file: nothing left to resume at
    if failure.opener is None:
        # In text (e.g. a malformed %%httpget): blank the one character.
        return text[:position] + _blank(text[position]) + text[position + 1:]
    # From the broken statement's start to the next statement keyword (a
    # keyword where an expression was expected is lexed as a name, so the
    # next statement may start before the error) or the block's end.
    start = failure.statement
    stop = len(text)
    for match in _BOUNDARY.finditer(text, start):
        if match.group("stop") is not None and match.start() > start:
            stop = match.start()
            break
    if failure.opener.type == "INLINE_OPEN":
        # An inline expression has one expression: drop the whole %%= =%%.
        start = failure.opener.start_pos
        if text.startswith("=%%", stop):
            stop += 3
    if stop <= start:
        stop = min(position + 1, len(text))
    blanked = _blank(text[start:stop])
    keyword = re.match(r"\s*(if|elseif|for)(?![\w@])", text[start:stop], re.IGNORECASE | re.ASCII)
    if keyword is not None:
        placeholder = _PLACEHOLDERS[keyword.group(1).lower()]
        if len(placeholder) <= len(blanked) and "\n" not in blanked[: len(placeholder)]:
            blanked = placeholder + blanked[len(placeholder):]
    return text[:start] + blanked + text[stop:]


def _blank(text: str) -> str:
    """The same text as spaces, keeping its line breaks (so positions do not move)."""
    return "".join(char if char == "\n" else " " for char in text)


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
    if token.type == "TEXT":
        # Nothing in code matched here; Lark fell back to the template lexer,
        # whose text also takes a block's closer.
        closer = _closer_at(file.text, token.start_pos)
        if closer is not None and "STRING" in expected:
            return file.error(f"expected a value before {closer!r}", token.line, token.column)
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


def _closer_at(text: str, pos: int) -> str | None:
    """The block closer (']%%', '=%%', '</script>') that starts at `pos`, if any."""
    for closer in ("]%%", "=%%"):
        if text.startswith(closer, pos):
            return closer
    if text[pos:pos + 8].lower() == "</script":
        return "</script>"
    return None


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
    if file.text.startswith("<!--", pos):
        return file.error("unterminated HTML comment", line, column, hint="close the comment with -->")
    if _SYNDICATION_START.match(file.text, pos):
        return file.error(
            "malformed content syndication string", line, column,
            hint='write %%httpget "https://..."%% or %%before; httpget "https://..."%%',
        )
    if file.text.startswith("{{.data", pos):
        return file.error("'{{.data}}' is never closed", line, column, hint="close it with {{/data}}")
    if file.text.startswith(("{{.slot", "{{.block", "{{/"), pos):
        return file.error(
            "malformed Content Builder layout tag", line, column,
            hint="write {{.slot name}}...{{/slot}} or {{.block name type}}...{{/block}}",
        )
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


_LANGUAGE = re.compile(r"""\blanguage\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)

_SYNDICATION_START = re.compile(r"%%\s*(?:before\s*;|httpget\b)", re.IGNORECASE | re.ASCII)

_SEND_TIME_CONTENT = re.compile(
    r'%%\s*(?P<before>before\s*;\s*)?httpget\s+(?:\d+\s+)?"(?P<url>[^"]*)"\s*%%', re.IGNORECASE | re.ASCII
)


_BRACKETED_MESSAGE = re.compile(
    r"^\[\s*(?P<name>msg)\s*\(\s*(?P<ordinal>\d+)\s*\)\s*"
    r"(?:\.\s*(?P<member>verb|nouns|noun)\s*(?:\(\s*(?P<index>\d+)\s*\))?\s*)?\]$",
    re.IGNORECASE | re.ASCII,
)


def _unquote(literal: str) -> str:
    quote = literal[0]
    return literal[1:-1].replace(quote * 2, quote)


class _ToChunks:
    """Builds AST nodes bottom-up; returns the flat list of chunks.

    Each rule of the grammar has a method ``rule(meta, children)``, called
    with the rule's position and its children already built.  The walk is
    non-recursive, so that no nesting depth, however deep, can exhaust
    Python's stack here; the nesting limits are checked afterwards
    (`ampc.nesting`), with errors at the construct that goes too deep.  (It
    is our own rather than Lark's ``Transformer_NonRecursive`` with
    ``v_args(meta=True)``, which makes a wrapper object for every node it
    visits: a tenth of the compile time.)
    """

    def transform(self, tree: Tree) -> list:
        postfix: list = []  # every node, parents before children
        pending = [tree]
        while pending:
            node = pending.pop()
            postfix.append(node)
            if isinstance(node, Tree):
                pending.extend(node.children)
        methods: dict[str, Any] = {}
        built: list = []
        for node in reversed(postfix):
            if not isinstance(node, Tree):
                built.append(node)
                continue
            count = len(node.children)
            children = built[len(built) - count:] if count else []
            del built[len(built) - count:]
            method = methods.get(node.data)
            if method is None:
                method = methods[node.data] = getattr(self, node.data)
            built.append(method(node.meta, children))
        (result,) = built
        return result

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
        return n.Personalization(token.value[2:-2], token.value, _span_of(token))

    def send_time_content(self, meta, children):
        (token,) = children
        match = _SEND_TIME_CONTENT.fullmatch(token.value)
        return n.SendTimeContent(match.group("url"), match.group("before") is not None, _span_of(token))

    def layout_tag(self, meta, children):
        return []  # Content Builder layout markup: removed (a slot's or block's content stays)

    def server_javascript(self, meta, children):
        (token,) = children
        match = _LANGUAGE.search(token.value[: token.value.index(">")])
        language = next((g for g in match.groups() if g is not None), "") if match else ""
        return n.ServerJavaScript(language, _span_of(token))

    def inline(self, meta, children):
        _, expression, _ = children
        return n.InlineExpression(expression, self._span(meta))

    def block(self, meta, children):
        return [child for child in children[1:-1] if child is not None]

    script = block

    # statements
    def var_stmt(self, meta, children):
        return n.VarDeclaration(list(children[1:]), self._span(meta))

    def set_stmt(self, meta, children):
        _, target, value = children
        return n.Assignment(target, value, self._span(meta))

    def bare_assignment(self, meta, children):
        target, value = children
        return n.Unevaluated(value, target, self._span(meta))

    def expression_stmt(self, meta, children):
        (expression,) = children
        if isinstance(expression, n.Call):
            return n.CallStatement(expression, expression.span)
        return n.Unevaluated(expression, None, self._span(meta))

    def separator(self, meta, children):
        return None

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
        span = _span_of(token)
        message = _BRACKETED_MESSAGE.match(token.value)
        if message is None:
            return n.Attribute(token.value[1:-1], span)
        # `[MSG(0).NOUN(0)]`: MobileConnect's bracketed form of the inbound message's parts
        # (Salesforce's UpsertContact reference writes it so), the same as `MSG(0).NOUN(0)`.
        ordinal = n.NumberLiteral(int(message["ordinal"]), message["ordinal"], span)
        call = n.Call(message["name"], [ordinal], span, span)
        if message["member"] is None:
            return call
        member = message["member"].lower()
        index = message["index"]
        extra = [n.NumberLiteral(int(index), index, span)] if index is not None else []
        return self._member(call, member if index is None else f"{member}()", extra, span)

    def call(self, meta, children):
        name, *args = children
        return n.Call(name.value, list(args), self._span(meta), _span_of(name))

    def member(self, meta, children):
        call, name = children
        return self._member(call, name.value.lower(), [], self._span(meta))

    def member_call(self, meta, children):
        call, inner = children
        return self._member(call, f"{inner.name.lower()}()", inner.args, self._span(meta))

    @staticmethod
    def _member(call: n.Call, member: str, extra: list, span: n.Span) -> n.Call:
        """`Msg(0).Verb` as the call Msg(0, "verb"); `.Noun(i)` as Msg(0, "noun", i) (ampc.calls checks the member)."""
        written = "noun" if member == "noun()" and len(extra) == 1 else member
        part = n.StringLiteral(written, span)
        return n.Call(call.name, [*call.args, part, *extra], span, call.name_span, member=member)


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
        return self.file.error(message, span.line, span.column, hint=hint, code="AMP002")
