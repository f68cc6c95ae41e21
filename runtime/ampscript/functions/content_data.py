"""Content category, part 2: functions that build data and markup.

Rowsets from strings, JSON and XML, option lists, XSL transformations,
attachments, impression regions and Portfolio files.  Rows built here are
read with Field() by name or by 1-based position (BuildRowSetFromString's one
column, which the reference leaves unnamed, answers to Value).

Salesforce's AMPscript reference is the spec (each function cites its page).
Where it is silent, the choice made is stated beside the code.  What a local
run cannot produce faithfully is left out rather than imitated:
RatingStars() (Einstein Email Recommendations) has no reference page that
says what markup it returns.  BarCodeURL() returns the address of an image on
Marketing Cloud's barcode service, whose form is not documented; locally it
returns a ``data:`` URI of the same barcode drawn as SVG.

What happens outside the message body is recorded on the render instead, so
tests can inspect it: `message_record(context)` lists the files AttachFile()
attached and the impression regions the message opened.

Nothing here reads outside the workspace: XML and XSL are parsed without
external entities, external DTDs or the network, and a stylesheet cannot
read or write files (see "XML parsing" below); GetPortfolioItem() reads
``Portfolio/`` through the workspace (`ampscript.workspace`); AttachFile()
fetches nothing.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..context import Context
from ..errors import ScriptError
from ..lazy import lazy_module
from ..registry import ampscript_function
from ..rendering import current_budget, current_context, current_page
from ..values import Row, Rowset, case, from_double, params, parse_json

# Imported on first use: most scripts that use this category never read XML or JSONPath.
etree = lazy_module("lxml.etree")
jsonpath_ng = lazy_module("jsonpath_ng")

__all__ = [
    "AttachFile",
    "BarCodeURL",
    "BeginImpressionRegion",
    "BuildOptionList",
    "BuildRowSetFromJson",
    "BuildRowSetFromString",
    "BuildRowSetFromXml",
    "EndImpressionRegion",
    "GetPortfolioItem",
    "TransformXML",
]


# boolReturnEmptyOnError: true gives an empty rowset on bad input, false (the
# default) an error.  The parameter's name, the older reference page ("A value
# of 1 returns an empty rowset",
# https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/buildrowsetfromxml.htm)
# and the Handlebars helper's page agree on this reading; the current pages'
# sentence says the reverse, contradicting the parameter's own name.


# ---- BuildRowSetFromString ---------------------------------------------------------


@ampscript_function("Content")
def BuildRowSetFromString(source_data: params.Text, delimiter: params.Text) -> Rowset:
    """One row per piece of `source_data` split at `delimiter`; the one column is read as Field(row, 1).

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-build-rowset-from-string.html

    The whole delimiter separates pieces (scripts that work in Marketing Cloud
    split at "[|]"), pieces are kept as they are (empty ones too, not
    trimmed, so a trailing delimiter adds an empty last row), empty or unset
    source data gives no rows, and an empty delimiter splits nothing: the
    whole source is one row.  All three were observed on a CloudPage
    (https://sfmc.guide/engagement/differs-from-docs/#buildrowsetfromstring-edge-separators).
    The column, read by position as Field(row, 1), also answers to the name
    Value (https://sfmc.guide/engagement/ampscript/functions/buildrowsetfromstring/).
    """
    text, separator = source_data, delimiter
    if text == "":
        return Rowset()
    pieces = [text] if separator == "" else text.split(separator)
    return Rowset(Row([("Value", piece)]) for piece in pieces)


# ---- BuildRowSetFromJson -----------------------------------------------------------

_NESTED_OBJECT = "JSON Object"
_NESTED_ARRAY = "JSON Object Array"


def _json_scalar(value: Any) -> Any:
    """A JSON value as AMPscript holds it: numbers print as .NET prints a double ("100.0" -> 100)."""
    if isinstance(value, dict):
        return _NESTED_OBJECT
    if isinstance(value, list):
        return _NESTED_ARRAY
    if isinstance(value, float):
        return from_double(value)
    return value  # str, int, bool, None


def _json_rows(matches: list[Any], root: Any) -> Rowset:
    """Objects become rows of their fields; other values rows with one Value column.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-build-rowset-from-json.html
    A path that selects one array stands for its items (chosen); a path that
    selects several values (``$.*`` over an object's members) gives one row
    per value, arrays included.  Nested objects and arrays show as
    "JSON Object" and "JSON Object Array", as the page says.

    The rowset has one set of columns, in the order first met, and every row
    has all of them, empty (null) where its object lacks the key: the
    reference's example table shows the first two flights with an empty
    PerBagSurcharge cell, and on a CloudPage reading column 1 of
    ``$.*`` over ``{"a":{"b":1},"c":[1,2],"d":"plain"}`` gave 1, empty and
    empty for the three rows (column 1 is "b", which only the first row has)
    (https://sfmc.guide/engagement/differs-from-docs/#buildrowsetfromjson-nested-values-empty).
    """
    items: list[Any] = []
    for match in matches:
        if match is root and isinstance(root, dict):
            raise ScriptError(
                "BuildRowSetFromJson(): the path selects a single object, which has nothing to iterate over; "
                "wrap it in an array"
            )
        if isinstance(match, list) and len(matches) == 1:
            items.extend(match)
        else:
            items.append(match)
    fields = [
        [(name, _json_scalar(value)) for name, value in item.items()]
        if isinstance(item, dict)
        else [("Value", _json_scalar(item))]
        for item in items
    ]
    columns: dict[str, str] = {}  # folded name -> the spelling first met, in order
    for pairs in fields:
        for name, _ in pairs:
            columns.setdefault(case.fold(name), name)
    rows = Rowset()
    for pairs in fields:
        values = {case.fold(name): value for name, value in pairs}
        rows.append(Row((name, values.get(key)) for key, name in columns.items()))
    return rows


@ampscript_function("Content")
def BuildRowSetFromJson(
    json_data: params.Text, json_path: params.Text, bool_return_empty_on_error: params.BooleanOrEmpty = None
) -> Rowset:
    """A rowset of what the JSONPath expression selects in the JSON data.

    Dot and bracket notation work; filter expressions don't (the reference
    says the function doesn't support them).
    """
    empty_on_error = bool(bool_return_empty_on_error)
    try:
        try:
            document = parse_json(json_data, parse_float=float)
        except json.JSONDecodeError as error:
            raise ScriptError(f"BuildRowSetFromJson(): invalid JSON: {error}") from None
        expression = json_path
        try:
            path = jsonpath_ng.parse(expression)
        except Exception as error:  # jsonpath-ng raises plain Exceptions for syntax errors
            raise ScriptError(f"BuildRowSetFromJson(): invalid JSONPath {expression!r}: {error}") from None
        return _json_rows([match.value for match in path.find(document)], document)
    except ScriptError:
        if empty_on_error:
            return Rowset()
        raise


# ---- XML parsing: nothing outside the text -------------------------------------------
#
# A script's XML (and XSL) is data from anywhere, so parsing it must not read
# files or the network.  The parser loads no external DTD (an external
# subset is ignored (choice), as .NET does without an XmlResolver), fetches
# nothing over the network, and keeps libxml2's limits (no huge_tree), which
# stop entity expansion bombs ("billion laughs") early.  A DOCTYPE that
# declares an external entity (SYSTEM or PUBLIC) is an error; internal
# entities are expanded (a second parse, only for documents declaring them).
# Any load the parser would still attempt (a stylesheet's xsl:include) goes to
# `_NoLoads`, which refuses it.

_XSL = "http://www.w3.org/1999/XSL/Transform"


class _LoadRefused(Exception):
    """The parser asked to load a document, DTD or entity, which is never allowed."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


@functools.cache
def _no_loads() -> type[etree.Resolver]:
    """`_NoLoads`, defined on first use, when lxml is imported."""

    class _NoLoads(etree.Resolver):
        def resolve(self, system_url, public_id, context):
            raise _LoadRefused(system_url or public_id or "")

    return _NoLoads


def _xml_parser(resolve_entities: bool | str = False) -> etree.XMLParser:
    parser = etree.XMLParser(
        encoding="utf-8",
        resolve_entities=resolve_entities,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    parser.resolvers.add(_no_loads()())
    return parser


def _shown_url(url: str) -> str:
    # lxml resolves a string stylesheet's relative URLs against this made-up base.
    return url.replace("string://__STRING__XSLT__", "", 1)


def _refused_load(function: str, what: str, url: str) -> ScriptError:
    return ScriptError(
        f"{function}(): the {what} refers to {_shown_url(url)!r}, which is not read: "
        "XML and stylesheets cannot read files or URLs"
    )


def _parse_xml(text: str, function: str, what: str = "XML") -> etree._ElementTree:
    if text.strip() == "":
        raise ScriptError(f"{function}(): the {what} is empty")
    data = text.encode("utf-8")
    tree = _parse_bytes(data, function, what, resolve_entities=False)
    dtd = tree.docinfo.internalDTD
    entities = list(dtd.iterentities()) if dtd is not None else []
    for entity in entities:
        if entity.system_url is not None:
            raise ScriptError(
                f"{function}(): the {what} declares the external entity {entity.name!r} "
                f"({entity.system_url!r}); external entities are not read: XML cannot read files or URLs",
                hint="remove it from the DOCTYPE, or write its text in the XML",
            )
    if entities:  # only internal entities: expand them
        tree = _parse_bytes(data, function, what, resolve_entities="internal")
    return tree


def _parse_bytes(
    data: bytes, function: str, what: str, *, resolve_entities: bool | str
) -> etree._ElementTree:
    try:
        return etree.ElementTree(etree.fromstring(data, _xml_parser(resolve_entities)))
    except _LoadRefused as refused:
        raise _refused_load(function, what, refused.url) from None
    except etree.XMLSyntaxError as error:
        if "amplification" in str(error) or "entity reference loop" in str(error):
            raise ScriptError(
                f"{function}(): the {what}'s entities expand too much (an entity expansion bomb), "
                "so it is not parsed"
            ) from None
        raise ScriptError(f"{function}(): invalid {what}: {error}") from None


# ---- BuildRowSetFromXml ------------------------------------------------------------


def _own_text(element: etree._Element) -> str:
    """The element's own text nodes, not its children's: "500" for ``500<PerBagSurcharge>25</...>``."""
    parts = [element.text or ""]
    parts += [child.tail or "" for child in element]
    return "".join(parts)


def _inner_xml(element: etree._Element) -> str:
    escaped = etree.Element("x")
    escaped.text = element.text
    inner = etree.tostring(escaped, encoding="unicode")[3:-4] if element.text else ""
    return inner + "".join(etree.tostring(child, encoding="unicode", with_tail=True) for child in element)


def _xml_row(node: Any) -> tuple[str, str, dict[str, str]]:
    """(Value, Xml, attributes) of one selected node."""
    if isinstance(node, etree._Element):
        if not isinstance(node.tag, str):  # comments and processing instructions have no value
            return "", "", {}
        return _own_text(node), _inner_xml(node), dict(node.attrib)
    text = str(node)  # an attribute or a text node
    return text, text, {}


@ampscript_function("Content")
def BuildRowSetFromXml(
    xml_data: params.Text, xpath: params.Text, bool_return_empty_on_error: params.BooleanOrEmpty = None
) -> Rowset:
    """One row per node the XPath selects: Value (its own text), Xml (its inner XML), NAME_att per attribute.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-build-rowset-from-xml.html

    Every attribute found on any selected node becomes a column, spelled as
    the reference's table spells it (``origin`` -> ``Origin_att``); a node
    without it has "" there.  The catalog calls the third argument
    isCaseSensitive; the reference's is boolReturnEmptyOnError.
    """
    function = "BuildRowSetFromXml"
    empty_on_error = bool(bool_return_empty_on_error)
    try:
        tree = _parse_xml(xml_data, function)
        expression = xpath
        try:
            selected = tree.xpath(expression)
        except (etree.XPathError, ValueError) as error:  # ValueError: NUL or control characters in it
            raise ScriptError(f"{function}(): invalid XPath {expression!r}: {error}") from None
        if not isinstance(selected, list):
            raise ScriptError(f"{function}(): the XPath {expression!r} must select nodes, not a value")
    except ScriptError:
        if empty_on_error:
            return Rowset()
        raise
    found = [_xml_row(node) for node in selected]
    columns: dict[str, str] = {}  # attribute -> column, in the order first met
    for _, _, attributes in found:
        for name in attributes:
            local = etree.QName(name).localname
            columns.setdefault(name, f"{case.upper(local[:1])}{local[1:]}_att")
    return Rowset(
        Row(
            [("Value", value), ("Xml", inner)]
            + [(column, attributes.get(name, "")) for name, column in columns.items()]
        )
        for value, inner, attributes in found
    )


# ---- BuildOptionList ---------------------------------------------------------------


@ampscript_function("Content", output_grows=True)
def BuildOptionList(
    default_selection: params.Text, option1_value: params.Text, option1_text: params.Text, *more: params.Text
) -> str:
    """``<option>`` tags, the one whose value is `default_selection` marked selected.

    https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/buildoptionlist.htm
    shows the markup: single-quoted attributes, ``selected='selected'``, one
    option a line.  Values and texts are written as given (the reference
    shows no escaping); the selection matches the value's text exactly.
    The catalog's signature (a data extension and columns) is not the
    reference's.
    """
    if len(more) % 2:
        raise ScriptError(f"BuildOptionList() needs a display text after option value {more[-1]!r}")
    pairs = [(option1_value, option1_text)] + [(more[i], more[i + 1]) for i in range(0, len(more), 2)]
    options = []
    for value, text in pairs:
        mark = " selected='selected'" if value == default_selection else ""
        options.append(f"<option value='{value}'{mark}>{text}</option>")
    return "\n".join(options)


# ---- TransformXML ------------------------------------------------------------------


@ampscript_function("Content", output_grows=True)
def TransformXML(xml_document: params.Text, xsl_document: params.Text) -> str:
    """The XML transformed by the XSL stylesheet (XSLT 1.0, as .NET's XslCompiledTransform).

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-transform-xml.html
    The result is serialized as the stylesheet's xsl:output says.  The
    stylesheet may not read or write files or URLs: xsl:include and
    xsl:import are errors, and so are document() and exsl:document when
    they run (XslCompiledTransform's default settings refuse document() too).
    """
    function = "TransformXML"
    source = _parse_xml(xml_document, function, "XML document")
    stylesheet = _parse_xml(xsl_document, function, "XSL document")
    for element in stylesheet.iter(f"{{{_XSL}}}include", f"{{{_XSL}}}import"):
        raise ScriptError(
            f"{function}(): the stylesheet's xsl:{etree.QName(element).localname} of "
            f"{element.get('href', '')!r} is refused: a stylesheet cannot read other files or URLs",
            hint="put the templates it would bring in into the stylesheet itself",
        )
    try:
        transform = etree.XSLT(stylesheet, access_control=etree.XSLTAccessControl.DENY_ALL)
        result = transform(source)
    except _LoadRefused as refused:
        raise _refused_load(function, "XSL document", refused.url) from None
    except etree.XSLTError as error:
        denied = re.search(r"\b(read|write) rights for (.+?) denied", str(error))
        if denied:
            verb, url = denied.groups()
            raise ScriptError(
                f"{function}(): the stylesheet tried to {verb} {_shown_url(url)!r} "
                f"({'document()' if verb == 'read' else 'exsl:document'}), which is refused: "
                "a stylesheet cannot read or write files or URLs"
            ) from None
        raise ScriptError(f"{function}(): {error}") from None
    return str(result)


# ---- What the message carries besides its body --------------------------------------


@dataclass(frozen=True)
class Attachment:
    """A file AttachFile() attached, as its arguments describe it."""

    location_type: str  # http, ftp, contentbuilder or portfolio (lowercase)
    location: str
    file_name: str
    view_on_web: bool
    view_on_web_location: str
    view_on_web_file_name: str
    view_on_web_days: int | None
    content_disposition_attachment: bool


@dataclass
class MessageRecord:
    """What a render did outside its body: attachments, and impression regions opened and still open."""

    attachments: list[Attachment] = field(default_factory=list)
    impression_regions: list[str] = field(default_factory=list)  # every region opened, first spelling
    open_regions: list[str] = field(default_factory=list)  # the innermost last

    @property
    def active_region(self) -> str:
        """The innermost open region (what the ImpressionRegionName string resolves to), or ""."""
        return self.open_regions[-1] if self.open_regions else ""


def _record() -> MessageRecord:
    """The message record of the render in progress (shared with the content it includes)."""
    return current_page().render_data.setdefault("message", MessageRecord())


def message_record(context: Context) -> MessageRecord:
    """What the context's latest render attached, and the impression regions it opened."""
    return context.render_data.get("message") or MessageRecord()


_LOCATION_TYPES = ("http", "ftp", "contentbuilder", "portfolio")
_MAX_LOCATION = 2088


@ampscript_function("Content")
def AttachFile(
    file_location_type: params.Text,
    file_location: params.Text,
    attachment_file_name: params.Text = "",
    bool_view_on_web: params.BooleanOrEmpty = None,
    view_on_web_location: params.Text = "",
    view_on_web_file_name: params.Text = "",
    view_on_web_duration: params.IntegerOrEmpty = None,
    bool_content_disposition_attachment: params.BooleanOrEmpty = None,
) -> str:
    """Attach a file to the outgoing email; prints nothing.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-attach-file.html

    Marketing Cloud fetches the file when it builds the message; locally the
    attachment is recorded on the render (`message_record`) as its arguments
    describe it, and no file is fetched.  The view-as-web-page link is part of
    the web page version, not of the body this render produces.
    """
    function = "AttachFile"
    kind = case.lower(file_location_type.strip())
    if kind not in _LOCATION_TYPES:
        raise ScriptError(
            f"{function}(): fileLocationType must be http, ftp, contentbuilder or portfolio, "
            f"got {file_location_type!r}"
        )
    location = file_location
    if location == "":
        raise ScriptError(f"{function}(): fileLocation is empty")
    if len(location) > _MAX_LOCATION:
        raise ScriptError(
            f"{function}(): fileLocation is {len(location)} characters long; at most 2088 are allowed"
        )
    _record().attachments.append(
        Attachment(
            location_type=kind,
            location=location,
            file_name=attachment_file_name,
            view_on_web=bool(bool_view_on_web),
            view_on_web_location=view_on_web_location,
            view_on_web_file_name=view_on_web_file_name,
            view_on_web_days=view_on_web_duration,
            content_disposition_attachment=bool(bool_content_disposition_attachment),
        )
    )
    return ""


@ampscript_function("Content")
def BeginImpressionRegion(region_name: params.Text) -> str:
    """Open an impression region; prints nothing.

    https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/impressionTracking.htm
    Regions nest, the last opened is the active one; names are
    case-insensitive and kept as first spelled.
    """
    name = region_name
    if name.strip() == "":
        raise ScriptError("BeginImpressionRegion() needs the name of the region")
    record = _record()
    key = case.fold(name)
    spelled = next((known for known in record.impression_regions if case.fold(known) == key), None)
    if spelled is None:
        record.impression_regions.append(name)
        spelled = name
    record.open_regions.append(spelled)
    return ""


@ampscript_function("Content")
def EndImpressionRegion(bool_end_all_regions: params.Boolean = False) -> str:
    """Close the innermost open impression region, or all of them with true; prints nothing.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-end-impression-region.html
    With no region open it does nothing (the reference names no error).
    """
    record = _record()
    if bool_end_all_regions:
        record.open_regions.clear()
    elif record.open_regions:
        record.open_regions.pop()
    return ""


# ---- GetPortfolioItem --------------------------------------------------------------

PORTFOLIO_FOLDER = "Portfolio"


@ampscript_function("Content")
def GetPortfolioItem(item_external_key: params.Text) -> str:
    """The text of a Portfolio file, by external key.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-get-portfolio-item.html

    Locally the Portfolio is the workspace's ``Portfolio/`` folder and a
    file's external key is its name without the extension
    (``Portfolio/HelloWorld.txt`` has key ``HelloWorld``), matched
    case-insensitively.  The file is read as UTF-8 and returned as it is,
    through the workspace: a file there that links outside it is an error.
    """
    function = "GetPortfolioItem"
    key = item_external_key.strip()
    if key == "":
        raise ScriptError(f"{function}() needs the external key of a Portfolio item")
    workspace = current_context().workspace
    found = [
        file
        for file in workspace.files(PORTFOLIO_FOLDER)  # checked: a link leading outside is an error
        if case.fold(PurePosixPath(file).stem) == case.fold(key)
    ]
    if not found:
        raise ScriptError(
            f"{function}(): no Portfolio item has the external key {key!r}",
            hint=f"put the file in the workspace's {PORTFOLIO_FOLDER}/ folder, named {key}.<extension>",
        )
    if len(found) > 1:
        names = ", ".join(PurePosixPath(file).name for file in found)
        raise ScriptError(f"{function}(): more than one Portfolio item has the external key {key!r}: {names}")
    return workspace.read_text(found[0])


# ---- BarCodeURL --------------------------------------------------------------------
#
# https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-barcode-url.html
# (and the older https://developer.salesforce.com/docs/atlas.en-us.noversion.mc-programmatic-content.meta/mc-programmatic-content/barcodeurl.htm)
#
# Marketing Cloud returns the address of an image its barcode service renders;
# that service's address format is not documented.  Locally the function
# returns a data: URI of an SVG image of the same barcode, which works where
# scripts use the result, in <img src="...">.  Linear symbols are drawn by
# python-barcode, Data Matrix and PDF417 by pyStrich.

_BARCODE_FUNCTION = "BarCodeURL"
_BARCODE_CALLS = "barcode_url_calls"
_BARCODE_MAX_CALLS = 2  # "You can call this function up to two times per message or landing page."
_LINEAR_QUIET_ZONE = 11  # modules each side: EAN-13's left quiet zone, the widest the linear types need
_MATRIX_QUIET_ZONE = 2  # modules each side (Data Matrix needs 1, PDF417 2)

_CODE39_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.$/+%")
_CODABAR_DATA = frozenset("0123456789-$:/.+")
_CODABAR_GUARDS = frozenset("ABCD")


@dataclass(frozen=True)
class _BarcodeType:
    name: str  # the reference's name of the type
    limit: str  # the reference's character limit, as its table words it
    characters: str  # the reference's allowed characters, as its table words it
    check: Any = None  # (text) -> the rule the text breaks, or None
    draw: Any = None  # (text) -> ("linear", "0101...") or ("matrix", rows of 0/1); None: not supported


def _digits_only(text: str) -> str | None:
    return None if text.isascii() and text.isdigit() else "only the digits 0-9 are allowed"


def _check_characters(allowed: Any, description: str) -> Any:
    def check(text: str) -> str | None:
        bad = next((ch for ch in text if ch not in allowed), None)
        return None if bad is None else f"{bad!r} is not allowed; {description}"

    return check


def _check_ascii_range(low: int, high: int, description: str) -> Any:
    return _check_characters({chr(code) for code in range(low, high + 1)}, description)


def _check_gtin(digits: int, name: str) -> Any:
    """EAN/UPC: the digits without the check digit (it is computed) or with it (it must be right)."""

    def check(text: str) -> str | None:
        problem = _digits_only(text)
        if problem:
            return problem
        if len(text) not in (digits - 1, digits):
            return (
                f"{name} takes {digits} digits (or {digits - 1}, and the check digit is computed); "
                f"got {len(text)}"
            )
        if len(text) == digits:
            expected = _gtin_check_digit(text[:-1])
            if text[-1] != expected:
                return f"the check digit is {text[-1]}, but for {text[:-1]} it must be {expected}"
        return None

    return check


def _gtin_check_digit(digits: str) -> str:
    """The GS1 check digit: weights 3 and 1 from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _check_codabar(text: str) -> str | None:
    if len(text) < 3:
        return "Codabar needs a start letter A-D, at least one character, and a stop letter A-D"
    if text[0] not in _CODABAR_GUARDS or text[-1] not in _CODABAR_GUARDS:
        return "the value must start and end with one of the letters A, B, C, D"
    bad = next((ch for ch in text[1:-1] if ch not in _CODABAR_DATA), None)
    if bad is not None:
        return f"{bad!r} is not allowed between the start and stop letters; only 0-9 and - $ : / . + are"
    return None


def _check_code128c(text: str) -> str | None:
    problem = _digits_only(text)
    if problem:
        return problem
    if len(text) % 2:
        return f"Code 128 C encodes pairs of digits, so it needs an even number of digits; got {len(text)}"
    return None


def _check_interleaved(text: str) -> str | None:
    problem = _digits_only(text)
    if problem:
        return problem
    if len(text) % 2:
        return f"Interleaved 2 of 5 encodes pairs of digits, so it needs an even number of digits; got {len(text)}"
    return None


def _check_bytes(limit: int) -> Any:
    def check(text: str) -> str | None:
        try:
            data = text.encode("iso-8859-1")
        except UnicodeEncodeError as error:
            bad = text[error.start]
            return f"{bad!r} is not allowed; only extended ASCII (ISO-8859-1) characters are"
        if len(data) > limit:
            return f"at most {limit} bytes are allowed; got {len(data)}"
        return None

    return check


def _python_barcode(kind: str, **options: Any) -> Any:
    def draw(text: str) -> tuple[str, Any]:
        from barcode import get_barcode_class

        return "linear", "".join(get_barcode_class(kind)(text, **options).build())

    return draw


def _draw_gtin(kind: str, digits: int) -> Any:
    # python-barcode computes the check digit; give it the digits without one.
    inner = _python_barcode(kind)
    return lambda text: inner(text[: digits - 1])


def _draw_code128_subset(subset: str) -> Any:
    """Code 128 in one code set throughout (python-barcode's own Code 128 switches sets as it likes)."""

    def draw(text: str) -> tuple[str, Any]:
        from barcode.charsets import code128

        start = code128.START_CODES[subset]
        if subset == "C":
            values = [int(text[i : i + 2]) for i in range(0, len(text), 2)]
        else:
            table = code128.A if subset == "A" else code128.B
            values = [table[ch] for ch in text]
        checksum = (start + sum(position * value for position, value in enumerate(values, 1))) % 103
        modules = "".join(code128.CODES[code] for code in [start, *values, checksum])
        return "linear", modules + code128.STOP + "11"

    return draw


def _draw_datamatrix(text: str) -> tuple[str, Any]:
    from pystrich.datamatrix import DataMatrixData, DataMatrixEncoder

    # The renderer's matrix has the finder and timing patterns; the encoder's only the data regions.
    encoder = DataMatrixEncoder(DataMatrixData(text, encoding="iso-8859-1"), quiet_zone=0)
    return "matrix", encoder.init_renderer().matrix


def _draw_pdf417(text: str) -> tuple[str, Any]:
    from pystrich.pdf417 import PDF417Data, PDF417Encoder

    encoder = PDF417Encoder(PDF417Data(text, encoding="iso-8859-1"), quiet_zone=0)
    return "matrix", encoder.init_renderer().matrix


# What a character of the value costs in the data URI at most (measured: PDF417
# about 570, Code 39 about 290, Code 128 about 175); the result is checked too.
_URI_CHARACTERS_PER_VALUE_CHARACTER = 600

_VARIABLE = "variable"
# The reference's table of supported types (code: name, limit, allowed characters).
_BARCODE_TYPES: dict[str, _BarcodeType] = {
    "codabar": _BarcodeType(
        "Codabar",
        _VARIABLE,
        "A-D, 0-9 and - $ : / . +; starts and ends with A-D",
        _check_codabar,
        _python_barcode("codabar"),
    ),
    "code11": _BarcodeType("Code 11", _VARIABLE, "0-9 and -"),
    "code128auto": _BarcodeType(
        "Code 128 Auto",
        _VARIABLE,
        "all ASCII characters",
        _check_ascii_range(0, 127, "only ASCII characters are"),
        _python_barcode("code128"),
    ),
    "code128a": _BarcodeType(
        "Code 128 A",
        _VARIABLE,
        "uppercase letters, 0-9, ASCII punctuation and control characters",
        _check_ascii_range(0, 95, "only uppercase letters, digits, punctuation and control characters are"),
        _draw_code128_subset("A"),
    ),
    "code128b": _BarcodeType(
        "Code 128 B",
        _VARIABLE,
        "uppercase and lowercase letters, 0-9 and ASCII punctuation",
        _check_ascii_range(32, 127, "only printable ASCII characters are"),
        _draw_code128_subset("B"),
    ),
    "code128c": _BarcodeType("Code 128 C", _VARIABLE, "0-9", _check_code128c, _draw_code128_subset("C")),
    "code39": _BarcodeType(
        "Code 39",
        _VARIABLE,
        "uppercase letters, 0-9, space and - . $ / + %",
        _check_characters(_CODE39_CHARACTERS, "only A-Z, 0-9, space and - . $ / + % are"),
        _python_barcode("code39", add_checksum=False),
    ),
    "code39ext": _BarcodeType("Code 39 Extended", _VARIABLE, "all extended ASCII characters"),
    "code93": _BarcodeType("Code 93", _VARIABLE, "uppercase letters, 0-9, space and - . $ / + %"),
    "code93ext": _BarcodeType("Code 93 Extended", _VARIABLE, "all ASCII characters"),
    "datamatrix": _BarcodeType(
        "Data Matrix", "1556 bytes", "all extended ASCII characters", _check_bytes(1556), _draw_datamatrix
    ),
    "ean13": _BarcodeType("EAN 13", "13 digits", "0-9", _check_gtin(13, "EAN 13"), _draw_gtin("ean13", 13)),
    "ean8": _BarcodeType("EAN 8", "8 digits", "0-9", _check_gtin(8, "EAN 8"), _draw_gtin("ean8", 8)),
    "industr25": _BarcodeType("Code 25 Industrial", _VARIABLE, "0-9"),
    "interl25": _BarcodeType(
        "Code 25 Interleaved", _VARIABLE, "0-9", _check_interleaved, _python_barcode("itf")
    ),
    "msi": _BarcodeType("MSI Plessey", _VARIABLE, "0-9"),
    "pdf417": _BarcodeType(
        "PDF 417", "1108 bytes", "all extended ASCII characters", _check_bytes(1108), _draw_pdf417
    ),
    "upca": _BarcodeType("UPC A", "12 digits", "0-9", _check_gtin(12, "UPC A"), _draw_gtin("upca", 12)),
    # The reference: UPC E is "identical to UPC A" in Marketing Cloud's implementation.
    "upce": _BarcodeType("UPC E", "12 digits", "0-9", _check_gtin(12, "UPC E"), _draw_gtin("upca", 12)),
}
# Types the reference lists as accepted, but for which Marketing Cloud renders no image.
_BARCODE_TYPES_WITHOUT_IMAGE = ("mat25", "onecode", "plaintext", "planet", "postnet", "telepen")


def _barcode_type(value: str) -> tuple[str, _BarcodeType]:
    code = case.lower(value.strip())
    if code in _BARCODE_TYPES_WITHOUT_IMAGE:
        raise ScriptError(
            f"{_BARCODE_FUNCTION}(): barcodeType {value!r} is not supported by ampc "
            "(the reference says Marketing Cloud renders no image for it)"
        )
    kind = _BARCODE_TYPES.get(code)
    if kind is None:
        known = ", ".join(sorted(_BARCODE_TYPES))
        raise ScriptError(
            f"{_BARCODE_FUNCTION}(): unknown barcodeType {value!r}",
            hint=f"the supported types are {known}",
        )
    if kind.draw is None:
        raise ScriptError(
            f"{_BARCODE_FUNCTION}(): barcodeType {code!r} ({kind.name}) is not supported by ampc, "
            "which has no faithful renderer for it"
        )
    return code, kind


def _shown(text: str) -> str:
    """A value as an error message quotes it: long ones shortened."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _pixels(pixels: int | None, argument: str) -> int:
    if pixels is None:
        raise ScriptError(f"{_BARCODE_FUNCTION}() needs {argument}, the size of the barcode in pixels")
    if pixels < 1:
        raise ScriptError(f"{_BARCODE_FUNCTION}(): {argument} must be at least 1 pixel, got {pixels}")
    return pixels


def _svg_number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _bar_rects(modules: str) -> list[str]:
    """One rect per run of dark modules, in a viewBox one module wide per unit and 1 high."""
    rects, start = [], None
    for position, module in enumerate(modules + "0"):
        if module == "1" and start is None:
            start = position
        elif module != "1" and start is not None:
            x = start + _LINEAR_QUIET_ZONE
            rects.append(f'<rect x="{x}" y="0" width="{position - start}" height="1"/>')
            start = None
    return rects


def _matrix_rects(rows: list[list[Any]]) -> list[str]:
    """One rect per horizontal run of dark modules of each row."""
    rects = []
    for y, row in enumerate(rows):
        start = None
        for x, module in enumerate([*row, 0]):
            if module and start is None:
                start = x
            elif not module and start is not None:
                rects.append(
                    f'<rect x="{start + _MATRIX_QUIET_ZONE}" y="{y + _MATRIX_QUIET_ZONE}" '
                    f'width="{x - start}" height="1"/>'
                )
                start = None
    return rects


def _barcode_svg(
    shape: str, symbol: Any, width: int, height: int, text: str, rotation: int, transparent: bool
) -> str:
    """The SVG image: the barcode drawn width x height, then turned by `rotation` degrees clockwise."""
    from xml.sax.saxutils import escape

    band = 0.0
    font_size = 0.0
    if text:
        font_size = min(height * 0.15, width / (0.6 * len(text)))
        band = font_size * 1.3
    bars_height = max(height - band, 1)
    if shape == "linear":
        view = f"0 0 {len(symbol) + 2 * _LINEAR_QUIET_ZONE} 1"
        rects, aspect = _bar_rects(symbol), "none"
    else:
        columns = max(len(row) for row in symbol) + 2 * _MATRIX_QUIET_ZONE
        view = f"0 0 {columns} {len(symbol) + 2 * _MATRIX_QUIET_ZONE}"
        rects, aspect = _matrix_rects(symbol), "xMidYMid meet"
    outer_width, outer_height = (height, width) if rotation in (90, 270) else (width, height)
    transform = {
        0: "",
        90: f"translate({outer_width} 0) rotate(90)",
        180: f"translate({outer_width} {outer_height}) rotate(180)",
        270: f"translate(0 {outer_height}) rotate(270)",
    }[rotation]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{outer_width}" height="{outer_height}" '
        f'viewBox="0 0 {outer_width} {outer_height}">'
    ]
    if not transparent:
        parts.append(f'<rect width="{outer_width}" height="{outer_height}" fill="#ffffff"/>')
    parts.append(f'<g transform="{transform}">' if transform else "<g>")
    parts.append(
        f'<svg class="symbol" x="0" y="0" width="{width}" height="{_svg_number(bars_height)}" '
        f'viewBox="{view}" preserveAspectRatio="{aspect}" shape-rendering="crispEdges">'
        f'<g fill="#000000">{"".join(rects)}</g></svg>'
    )
    if text:
        baseline = height - band * 0.25
        parts.append(
            f'<text x="{_svg_number(width / 2)}" y="{_svg_number(baseline)}" text-anchor="middle" '
            f'font-family="monospace" font-size="{_svg_number(font_size)}" fill="#000000">'
            f"{escape(text)}</text>"
        )
    parts.append("</g></svg>")
    return "".join(parts)


@ampscript_function("Content", output_grows=True)
def BarCodeURL(
    value_to_convert: params.Text,
    barcode_type: params.Text,
    width: params.IntegerOrEmpty,
    height: params.IntegerOrEmpty,
    checksum_value: params.Value = None,
    bool_show_text: params.BooleanOrEmpty = None,
    alt_text: params.Text = "",
    rotation: params.IntegerOrEmpty = None,
    bool_transparent_BG: params.BooleanOrEmpty = None,  # noqa: N803 (the reference's name, boolTransparentBG)
) -> str:
    """The URL of an image of the barcode: here a ``data:image/svg+xml;base64,...`` URI.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-barcode-url.html

    Rendered: codabar, code128auto, code128a, code128b, code128c, code39,
    datamatrix, ean13, ean8, interl25, pdf417, upca, upce (drawn as UPC A,
    as the reference says Marketing Cloud does).  Not supported by ampc
    (an error, never an approximate barcode): code11, code39ext, code93,
    code93ext, industr25, msi (no faithful renderer here), and mat25,
    onecode, plaintext, planet, postnet, telepen (for which, the reference
    says, Marketing Cloud renders no image).

    Choices where the reference is silent:

    * width and height size the barcode as drawn horizontally; rotation
      (0, 90, 180, 270 degrees clockwise) turns the whole image, so at 90 and
      270 the image is `height` wide and `width` tall (the reference's
      example rotates a 231 x 55 Code128B barcode by 90);
    * EAN and UPC values may leave out the check digit, which is then
      computed; a given check digit must be right;
    * checksumValue is accepted and not used: the reference does not say
      how it changes the image, and the rendered types either compute their
      check digit themselves or have none;
    * the text under the bars is the value as given (boolShowText), else the
      alt text; a third call in one message or page is an error, as the
      reference allows two.
    """
    import base64

    function = _BARCODE_FUNCTION
    data = current_page().render_data
    data[_BARCODE_CALLS] = data.get(_BARCODE_CALLS, 0) + 1
    if data[_BARCODE_CALLS] > _BARCODE_MAX_CALLS:
        raise ScriptError(
            f"{function}() can be called at most {_BARCODE_MAX_CALLS} times per message or landing page; "
            f"this is call {data[_BARCODE_CALLS]}"
        )
    text = value_to_convert
    code, kind = _barcode_type(barcode_type)
    if text == "":
        raise ScriptError(f"{function}(): valueToConvert is empty")
    problem = kind.check(text)
    if problem:
        raise ScriptError(
            f"{function}(): invalid valueToConvert {_shown(text)} for barcodeType {code!r} ({kind.name}, "
            f"character limit {kind.limit}, allowed characters {kind.characters}): {problem}"
        )
    # The data URI is a few hundred characters per character of the value; refuse a value
    # whose barcode would pass the string limit before drawing it (choice: an estimate).
    current_budget().check_string(len(text) * _URI_CHARACTERS_PER_VALUE_CHARACTER, function)
    pixels_wide, pixels_high = _pixels(width, "width"), _pixels(height, "height")
    degrees = 0 if rotation is None else rotation
    if degrees not in (0, 90, 180, 270):
        raise ScriptError(f"{function}(): rotation must be 0, 90, 180 or 270, got {str(degrees)!r}")
    caption = text if bool_show_text else alt_text
    transparent = bool(bool_transparent_BG)
    try:
        shape, symbol = kind.draw(text)
    except Exception as error:  # the renderer's own limits: pyStrich's Data Matrix has no Base 256
        # mode, so a long value of non-ASCII characters may need a larger symbol than there is
        raise ScriptError(
            f"{function}(): ampc cannot draw {kind.name} for {_shown(text)} ({len(text)} characters): {error}"
        ) from None
    svg = _barcode_svg(shape, symbol, pixels_wide, pixels_high, caption, degrees, transparent)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
