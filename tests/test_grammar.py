"""Every construct of the AMPscript grammar, checked through the rendered output and the AST."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

import ampc
from ampc import nodes as n
from ampc.parser import parse

SUBSCRIBER = {"FirstName": "Ana", "First Name": "Ana Maria", "EmailAddress": "ana@example.com", "Tier": "gold"}


def render(source: str, **kwargs) -> str:
    kwargs.setdefault("subscriber", SUBSCRIBER)
    return ampc.render(source, **kwargs)


def body(source: str) -> list:
    return parse(source, "g.amp").body


# ---- text passes through byte for byte ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain text",
        "  leading and trailing whitespace \t\n\n  ",
        "100% sure, 50 % off, %d %s %(name)s",
        "%%",
        "a %% b",
        "%%%",
        "%% [ not a block",
        "% %[ %=",
        "<!-- comment --> <!--[if mso]><![endif]-->",
        "{} {0} {{x}} {name}",
        "quotes: \" ' \"\"\" ''' `",
        "backslashes: \\ \\n \\x00 \\u2028",
        "non-ASCII: héllo, ☃, 日本語, 𝄞, emoji 😀",
        "line\r\nendings\r\nCRLF\r\n",
        "bare\rCR and \x0c form feed",
        "=%% is text outside an inline expression",
        "tab\tseparated\tvalues",
        "<p class='x' data-a=\"b\">tag</p>",
        "%%Not a personalization string because of the dot.%%",
        "email@example.com [bracketed text] @notavariable",
    ],
)
def test_text_passes_through_unchanged(text):
    assert render(text) == text


def test_text_between_blocks_keeps_its_whitespace():
    source = "a \r\n%%[ set @x = 1 ]%%\r\n\t b%%=v(@x)=%%  \n"
    assert render(source) == "a \r\n\r\n\t b1  \n"


def test_text_node_value_is_exact():
    [text] = body("x\r\n100%\t{}")
    assert isinstance(text, n.Text)
    assert text.value == "x\r\n100%\t{}"


# ---- blocks, inline expressions, server scripts -----------------------------------


def test_code_block_produces_no_output():
    assert render("a%%[ set @x = 1 ]%%b") == "ab"


def test_empty_code_block():
    assert render("a%%[]%%b%%[  \n ]%%c") == "abc"


def test_inline_expression_outputs_its_value():
    assert render('%%= Concat("x", "y") =%%|%%=v(1)=%%') == "xy|1"


def test_code_block_spanning_several_lines():
    source = "%%[\nset @a = 'one'\n\nset @b = 'two'\n]%%%%=v(@a)=%%-%%=v(@b)=%%"
    assert render(source) == "one-two"


@pytest.mark.parametrize(
    "open_tag",
    [
        '<script runat="server" language="ampscript">',
        '<script language="ampscript" runat="server">',
        "<script runat='server' language='ampscript'>",
        "<script runat=server language=ampscript>",
        "<script runat=server language='AMPscript'>",
        '<SCRIPT RUNAT="SERVER" LANGUAGE="AMPSCRIPT">',
        '<Script Language="AmpScript" RunAt="Server">',
        '<script type="text/plain" runat="server" language="ampscript" >',
        '<script\n  runat="server"\n  language="ampscript">',
    ],
)
def test_server_script_block_attributes_in_any_order_quoting_and_case(open_tag):
    close_tag = "</SCRIPT>" if open_tag.startswith("<SCRIPT") else "</script>"
    source = f'before {open_tag} set @x = "in script" {close_tag} after %%=v(@x)=%%'
    assert render(source) == "before  after in script"


def test_server_script_close_tag_with_whitespace():
    assert render('<script runat="server" language="ampscript">set @x = 2</script >%%=v(@x)=%%') == "2"


@pytest.mark.parametrize(
    "text",
    [
        '<script>var a = "%%"; if (a) { b(); }</script>',
        '<script type="text/javascript" src="x.js"></script>',
        "<script language=\"javascript\">var s = '%%[';</script>".replace("%%[", "%["),
        "<noscript>runat=server</noscript>",
    ],
)
def test_client_side_script_passes_through_as_text(text):
    assert render(text) == text
    assert all(isinstance(node, n.Text) for node in body(text))


@pytest.mark.parametrize(
    "open_tag, language",
    [
        ('<script runat="server">', "javascript (the default)"),
        ('<script runat="server" language="javascript">', "javascript"),
        ("<script runat=server language=SSJS>", "SSJS"),
        ("<script language='JavaScript' runat='server'>", "JavaScript"),
    ],
)
def test_server_script_in_another_language_is_not_supported(open_tag, language):
    source = f"line one\n  {open_tag}Platform.Load('core', '1');</script>"
    with pytest.raises(ampc.CompileError) as raised:
        ampc.compile_source(source, "s.amp")
    error = raised.value
    assert "not supported" in error.message
    assert repr(language) in error.message
    assert (error.filename, error.line, error.column) == ("s.amp", 2, 3)
    assert str(error).startswith(f"s.amp:2:3: error: server-side script in language {language!r} is not supported")


# ---- comments, var, set ------------------------------------------------------------------


def test_comments_single_and_multi_line():
    source = '%%[ /* one */ set @a = "x" /* two\nlines\n  and a * star and / slash */ set @b = "y" /**/ ]%%%%=v(@a)=%%%%=v(@b)=%%'
    assert render(source) == "xy"


def test_comment_in_inline_expression():
    assert render('%%= /* c */ v("x") /* d */ =%%') == "x"


def test_comment_markers_in_text_are_text():
    assert render("/* not a comment */") == "/* not a comment */"


def test_var_declares_variables_as_null():
    assert render("%%[ var @a, @b , @c set @a = 1 ]%%[%%=v(@a)=%%|%%=v(@b)=%%|%%=v(@c)=%%]") == "[1||]"
    [declaration] = body("%%[ var @a, @b ]%%")
    assert isinstance(declaration, n.VarDeclaration)
    assert [v.name for v in declaration.variables] == ["@a", "@b"]


def test_var_resets_an_existing_value_to_null():
    # Language Elements (ja-jp page): declaring a name that already exists sets its value to NULL.
    # https://developer.salesforce.com/docs/marketing/ja-jp/marketing-cloud/guide/languageElements.html
    assert render("%%[ set @a = 1 var @a ]%%[%%=v(@a)=%%]") == "[]"


def test_set_assigns_and_reassigns():
    assert render('%%[ set @a = "one" set @a = "two" set @b = @a ]%%%%=v(@b)=%%') == "two"
    [assignment] = body('%%[ set @a = "one" ]%%')
    assert isinstance(assignment, n.Assignment)
    assert assignment.target.name == "@a"
    assert assignment.value == n.StringLiteral("one", assignment.value.span)


def test_unset_variable_is_empty():
    assert render("[%%=v(@never)=%%]") == "[]"


# ---- if / elseif / else ----------------------------------------------------------------

IF_CHAIN = """%%[
if @n == 1 then
  set @r = "one"
elseif @n == 2 then
  set @r = "two"
elseif (@n == 3) then
  set @r = "three"
else
  set @r = "other"
endif
]%%%%=v(@r)=%%"""


@pytest.mark.parametrize("value, expected", [(1, "one"), (2, "two"), (3, "three"), (4, "other")])
def test_if_elseif_else(value, expected):
    assert render(f"%%[ set @n = {value} ]%%" + IF_CHAIN) == expected


def test_if_chain_ast():
    node, inline = body(IF_CHAIN)
    assert isinstance(node, n.If) and isinstance(inline, n.InlineExpression)
    assert len(node.branches) == 3
    assert [b.condition.operator for b in node.branches] == ["==", "==", "=="]
    assert node.else_body is not None and isinstance(node.else_body[0], n.Assignment)
    assert node.span.line == 2 and node.span.end_line == 10


def test_if_without_else_outputs_nothing_when_false():
    assert render("a%%[ if false then ]%%b%%[ endif ]%%c") == "ac"
    [_, node, _] = body("a%%[ if false then ]%%b%%[ endif ]%%c")
    assert node.else_body is None


@pytest.mark.parametrize(
    "condition, expected",
    [("(1 == 1)", "T"), ("((1 == 2))", "F"), ("(true)", "T"), ("1 == 1", "T"), ("not (1 == 1)", "F")],
)
def test_conditions_with_and_without_parentheses(condition, expected):
    assert render(f"%%[ if {condition} then ]%%T%%[ else ]%%F%%[ endif ]%%") == expected


def test_nested_ifs():
    source = """%%[ set @a = 1 set @b = 2
if @a == 1 then
  if @b == 1 then set @r = "1-1"
  elseif @b == 2 then
    if true then set @r = "1-2" else set @r = "never" endif
  endif
else
  set @r = "no"
endif ]%%%%=v(@r)=%%"""
    assert render(source) == "1-2"
    [_, _, outer, _] = body(source)
    inner = outer.branches[0].body[0]
    assert isinstance(inner, n.If) and isinstance(inner.branches[1].body[0], n.If)


@pytest.mark.parametrize("tier, expected", [("gold", "\nGOLD <b>member</b>\n"), ("silver", "\nsilver\n"), ("x", "\n")])
def test_if_across_blocks_outputs_text_conditionally(tier, expected):
    source = (
        '%%[ set @t = "' + tier + '" if @t == "gold" then ]%%\nGOLD <b>member</b>\n'
        '%%[ elseif @t == "silver" then ]%%\nsilver\n%%[ else ]%%\n%%[ endif ]%%'
    )
    assert render(source) == expected


def test_if_across_blocks_ast_puts_text_in_the_branch():
    [node] = body("%%[ if true then ]%%inside%%[ endif ]%%")
    assert isinstance(node, n.If)
    [text] = node.branches[0].body
    assert text == n.Text("inside", text.span)


def test_if_across_script_and_block():
    source = '<script runat="server" language="ampscript">if 1 == 2 then</script>hidden%%[ else ]%%shown%%[ endif ]%%'
    assert render(source) == "shown"


# ---- for loops --------------------------------------------------------------------------------


def test_for_to_with_next_variable():
    assert render("%%[ for @i = 1 to 3 do ]%%<%%=v(@i)=%%>%%[ next @i ]%%") == "<1><2><3>"


def test_for_downto_with_bare_next():
    assert render("%%[ for @i = 3 downto 1 do ]%%%%=v(@i)=%%%%[ next ]%%") == "321"


def test_for_with_empty_range_runs_zero_times():
    assert render("a%%[ for @i = 2 to 1 do ]%%x%%[ next ]%%b") == "ab"
    assert render("a%%[ for @i = 1 downto 2 do ]%%x%%[ next ]%%b") == "ab"


def test_for_with_variable_bounds_and_next_in_other_case():
    assert render("%%[ set @n = 2 for @I = 1 to @n do ]%%%%=v(@i)=%%%%[ NEXT @i ]%%") == "12"


def test_nested_for_loops():
    source = "%%[ for @i = 1 to 2 do for @j = 2 downto 1 do ]%%(%%=v(@i)=%%,%%=v(@j)=%%)%%[ next @j next @i ]%%"
    assert render(source) == "(1,2)(1,1)(2,2)(2,1)"
    [outer] = body(source)
    assert isinstance(outer, n.For) and not outer.descending
    [inner] = outer.body
    assert isinstance(inner, n.For) and inner.descending
    assert inner.variable.name == "@j"


def test_for_ast():
    [loop] = body("%%[ for @i = 1 to 10 do set @x = @i next @i ]%%")
    assert loop.variable.name == "@i"
    assert isinstance(loop.start, n.NumberLiteral) and loop.start.value == 1
    assert loop.stop.value == 10
    assert isinstance(loop.body[0], n.Assignment)


def test_if_inside_for_and_for_inside_if():
    source = (
        "%%[ for @i = 1 to 4 do if @i == 2 then ]%%two %%[ elseif @i > 2 then "
        "for @j = 1 to 2 do ]%%%%=v(@j)=%%%%[ next ]%% %%[ endif next ]%%"
    )
    assert render(source) == "two 12 12 "


# ---- literals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal, expected",
    [
        ('"double"', "double"),
        ("'single'", "single"),
        ('"say ""hi"""', 'say "hi"'),
        ("'it''s'", "it's"),
        ('"it\'s"', "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        ('""', ""),
        ("''", ""),
        ('""""', '"'),
        ('"back\\slash \\n"', "back\\slash \\n"),
        ('"multi\nline"', "multi\nline"),
        ('"]%% and %%[ and =%% inside"', "]%% and %%[ and =%% inside"),
        ('"/* not a comment */"', "/* not a comment */"),
    ],
)
def test_string_literals(literal, expected):
    assert render(f"%%[ set @s = {literal} ]%%%%=v(@s)=%%") == expected


def test_string_literal_ast_unquotes():
    [assignment] = body("%%[ set @s = 'a''b' ]%%")
    assert assignment.value.value == "a'b"


@pytest.mark.parametrize(
    "literal, value, printed",
    [
        ("42", 42, "42"),
        ("0", 0, "0"),
        ("-7", -7, "-7"),
        ("3.14", Decimal("3.14"), "3.14"),
        ("-0.5", Decimal("-0.5"), "-0.5"),
        ("1.50", Decimal("1.50"), "1.50"),
        (".5", Decimal(".5"), "0.5"),
        # Outside signed 64 bits an integer literal prints and computes as 0 (issue 9).
        ("12345678901234567890", 12345678901234567890, "0"),
    ],
)
def test_number_literals(literal, value, printed):
    [assignment] = body(f"%%[ set @x = {literal} ]%%")
    assert isinstance(assignment.value, n.NumberLiteral)
    assert assignment.value.value == value and type(assignment.value.value) is type(value)
    assert render(f"%%=v({literal})=%%") == printed


@pytest.mark.parametrize("literal, value", [("true", True), ("false", False), ("TRUE", True), ("False", False)])
def test_boolean_literals(literal, value):
    [assignment] = body(f"%%[ set @b = {literal} ]%%")
    assert assignment.value == n.BooleanLiteral(value, assignment.value.span)
    assert render(f"%%=v({literal})=%%") == str(value)


# ---- operators ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "condition, expected",
    [
        ("1 == 1", True),
        ("1 == 2", False),
        ("1 != 2", True),
        ("1 != 1", False),
        ("1 < 2", True),
        ("2 < 1", False),
        ("2 > 1", True),
        ("1 > 2", False),
        ("1 <= 1", True),
        ("2 <= 1", False),
        ("1 >= 1", True),
        ("1 >= 2", False),
        ('"abc" == "ABC"', True),
        ('"10" == 10', True),
        ('"9" < "10"', True),
        ("@unset == ''", False),  # "" is not null (issue 9, comparison rule 1)
    ],
)
def test_comparison_operators(condition, expected):
    assert render(f"%%[ if {condition} then ]%%T%%[ else ]%%F%%[ endif ]%%") == ("T" if expected else "F")


@pytest.mark.parametrize("operator", ["==", "!=", "<", ">", "<=", ">="])
def test_comparison_ast(operator):
    [assignment] = body(f"%%[ set @x = @a {operator} 2 ]%%")
    comparison = assignment.value
    assert isinstance(comparison, n.Comparison) and comparison.operator == operator
    assert comparison.left.name == "@a" and comparison.right.value == 2


@pytest.mark.parametrize(
    "condition, expected",
    [
        ("true and true", True),
        ("true and false", False),
        ("false or true", True),
        ("false or false", False),
        ("not false", True),
        ("not true", False),
        ("NOT not true", True),
        # and binds tighter than or
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("false and false or true", True),
        ("false and (false or true)", False),
        # not binds tighter than and/or
        ("not false and false", False),
        ("not (false and false)", True),
        ("not false or true", True),
        ("not 1 == 2", True),
        ("1 == 1 and 2 == 2 and 3 == 3", True),
        ("1 == 2 or 2 == 3 or 3 == 3", True),
    ],
)
def test_logical_operators_and_precedence(condition, expected):
    assert render(f"%%[ if {condition} then ]%%T%%[ else ]%%F%%[ endif ]%%") == ("T" if expected else "F")


def test_logical_precedence_ast():
    [assignment] = body("%%[ set @x = not @a and @b or @c and not @d ]%%")
    top = assignment.value
    assert isinstance(top, n.Logical) and top.operator == "or"
    left, right = top.operands
    assert isinstance(left, n.Logical) and left.operator == "and"
    assert isinstance(left.operands[0], n.Not) and left.operands[0].operand.name == "@a"
    assert isinstance(right, n.Logical) and isinstance(right.operands[1], n.Not)


def test_and_or_short_circuit():
    # Row(@unset, 1) would raise if evaluated.
    assert render("%%[ if false and Row(@unset, 1) then ]%%T%%[ else ]%%F%%[ endif ]%%") == "F"
    assert render("%%[ if true or Row(@unset, 1) then ]%%T%%[ else ]%%F%%[ endif ]%%") == "T"


# ---- calls ---------------------------------------------------------------------------------------


def test_nested_function_calls():
    assert render('%%=Concat("a", Concat("b", Concat("c", v(1)), "d"), Empty(""))=%%') == "abc1dTrue"
    [inline] = body('%%=Concat("a", Concat("b"))=%%')
    call = inline.expression
    assert isinstance(call, n.Call) and call.name == "Concat"
    assert isinstance(call.args[1], n.Call) and call.args[1].args[0].value == "b"


def test_call_statement():
    assert render('a%%[ Output(Concat("x", "y")) ]%%b') == "axyb"
    [_, statement, _] = body('a%%[ Output(Concat("x")) ]%%b')
    assert isinstance(statement, n.CallStatement) and statement.call.name == "Output"


def test_call_with_no_arguments_parses():
    [inline] = body("%%=Foo()=%%")
    assert inline.expression.name == "Foo" and inline.expression.args == []


# ---- personalization strings ---------------------------------------------------------------------


def test_personalization_strings_in_text():
    assert render("Hi %%FirstName%%, %%First Name%% <%%emailaddr%%>") == "Hi Ana, Ana Maria <ana@example.com>"
    [_, inline, *_] = body("Hi %%FirstName%%!")
    assert inline == n.Personalization("FirstName", "%%FirstName%%", inline.span)


def test_bracketed_and_bare_attributes_in_code():
    source = "%%[ set @a = [First Name] set @b = emailaddr set @c = FIRSTNAME set @d = [tier] ]%%%%=v(@a)=%%|%%=v(@b)=%%|%%=v(@c)=%%|%%=v(@d)=%%"
    assert render(source) == "Ana Maria|ana@example.com|Ana|gold"
    [first, second, *_] = body(source)
    assert first.value == n.Attribute("First Name", first.value.span)
    assert second.value == n.Attribute("emailaddr", second.value.span)


def test_personalization_string_case_insensitive():
    assert render("%%firstname%% %%FIRSTNAME%%", subscriber={"FirstName": "Ana"}) == "Ana Ana"


def test_subscriberkey_alias():
    assert render("%%_subscriberkey%%", subscriber={"SubscriberKey": "k1"}) == "k1"


# ---- case-insensitivity --------------------------------------------------------------------------


def test_keywords_are_case_insensitive():
    source = "%%[ VAR @a SET @a = 2 IF @a == 2 THEN SET @b = 'y' ELSEIF false THEN ELSE ENDIF FOR @i = 1 TO 2 DO NEXT @i FoR @j = 2 DownTo 1 Do nExT ]%%%%=v(@b)=%%"
    assert render(source) == "y"


def test_logical_keywords_are_case_insensitive():
    assert render("%%[ if NOT false AND true Or false then ]%%T%%[ EndIf ]%%") == "T"


@pytest.mark.parametrize("name", ["Concat", "CONCAT", "concat", "cOnCaT"])
def test_function_names_are_case_insensitive(name):
    assert render(f'%%={name}("a", "b")=%%') == "ab"


def test_variable_names_are_case_insensitive():
    assert render("%%[ set @Foo = 1 set @foo = 2 ]%%%%=v(@FOO)=%%|%%=v(@fOo)=%%") == "2|2"


def test_variable_case_in_for_loop_and_var():
    assert render("%%[ var @X for @x = 1 to 2 do next ]%%%%=v(@X)=%%") == "2"


def test_attribute_names_are_case_insensitive():
    subscriber = {"First Name": "Ana"}
    assert render("%%[ set @a = [FIRST NAME] ]%%%%=v(@a)=%%|%%first name%%", subscriber=subscriber) == "Ana|Ana"


# ---- spans ---------------------------------------------------------------------------------------


def _walk(node):
    yield node
    if dataclasses.is_dataclass(node) and not isinstance(node, n.Span):
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            for item in value if isinstance(value, list) else [value]:
                if dataclasses.is_dataclass(item) and not isinstance(item, n.Span):
                    yield from _walk(item)


SPAN_SOURCE = """Hello %%FirstName%%
%%[
var @a, @b
set @a = Concat("x", [First Name], 1.5, true)
if not @a == "y" and @b != 2 then
  for @i = 1 to 2 do
    Output(v(@i))
  next
endif
]%%
%%= v(@a) =%%"""


def test_every_node_has_a_span():
    template = parse(SPAN_SOURCE, "span.amp")
    seen = 0
    for node in _walk(template):
        if isinstance(node, n.Template):
            continue
        seen += 1
        span = node.span
        assert isinstance(span, n.Span), node
        assert 1 <= span.line <= span.end_line and span.column >= 1, node
        assert 0 <= span.start <= span.end <= len(SPAN_SOURCE), node
    assert seen > 25


def test_span_positions():
    template = parse(SPAN_SOURCE, "span.amp")
    text, personalization, newline, declaration, assignment, if_node, newline2, inline = template.body
    assert (text.span.line, text.span.column) == (1, 1)
    assert (personalization.span.line, personalization.span.column) == (1, 7)
    assert SPAN_SOURCE[personalization.span.start : personalization.span.end] == "%%FirstName%%"
    assert (declaration.span.line, declaration.span.column) == (3, 1)
    assert (declaration.variables[1].span.line, declaration.variables[1].span.column) == (3, 9)
    assert (assignment.span.line, assignment.span.column) == (4, 1)
    call = assignment.value
    assert (call.span.line, call.span.column) == (4, 10)
    assert (call.name_span.line, call.name_span.column, call.name_span.end_column) == (4, 10, 16)
    attribute = call.args[1]
    assert (attribute.span.line, attribute.span.column) == (4, 22)
    assert SPAN_SOURCE[attribute.span.start : attribute.span.end] == "[First Name]"
    assert (if_node.span.line, if_node.span.column, if_node.span.end_line) == (5, 1, 9)
    loop = if_node.branches[0].body[0]
    assert (loop.span.line, loop.span.column, loop.span.end_line) == (6, 3, 8)
    statement = loop.body[0]
    assert (statement.span.line, statement.span.column) == (7, 5)
    assert (inline.span.line, inline.span.column) == (11, 1)
    assert isinstance(newline, n.Text) and isinstance(newline2, n.Text)


def test_spans_count_crlf_lines():
    template = parse("a\r\nb\r\n%%[\r\n  set @x = 1\r\n]%%", "crlf.amp")
    assignment = template.body[1]
    assert (assignment.span.line, assignment.span.column) == (4, 3)


def test_unicode_lookalike_script_tag_is_text():
    # Python's case-insensitive matching would take the long s (ſ) for "s".
    text = "<ſcript runat=server>x</ſcript>"
    assert render(text) == text


def test_the_parser_stays_lalr():
    """Issue 10 widened the grammar; it must still be LALR with the contextual lexer (no Earley fallback)."""
    options = ampc.parser._lark().options
    assert (options.parser, options.lexer) == ("lalr", "contextual")
