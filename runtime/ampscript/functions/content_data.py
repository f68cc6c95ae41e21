"""Content category, part 2: functions that build data and markup.

Rowsets from strings, JSON and XML, option lists, XSL transformations,
attachments, impression regions and Portfolio files.  Rows built here are
read with Field() by name or by 1-based position (BuildRowSetFromString's one
column has no name).

Salesforce's AMPscript reference is the spec (each function cites its page).
Where it is silent, the choice made is stated beside the code.  What a local
run cannot produce faithfully is left out rather than imitated:

* BarcodeURL() returns the address of an image on Marketing Cloud's barcode
  service, whose form the reference does not document;
* RatingStars() (Einstein Email Recommendations) has no reference page that
  says what markup it returns.

What happens outside the message body is recorded on the render instead, so
tests can inspect it: `message_record(context)` lists the files AttachFile()
attached and the impression regions the message opened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from jsonpath_ng import parse as _parse_jsonpath

from ..context import Context
from ..errors import ScriptError
from ..registry import ampscript_function
from ..rendering import current_context, current_page
from ..values import Row, Rowset, from_double, is_empty, to_boolean, to_int, to_text

__all__ = [
    "AttachFile",
    "BeginImpressionRegion",
    "BuildOptionList",
    "BuildRowSetFromJson",
    "BuildRowSetFromString",
    "BuildRowSetFromXml",
    "EndImpressionRegion",
    "GetPortfolioItem",
    "TransformXML",
]


def _on_error(value: Any, function: str) -> bool:
    """boolReturnEmptyOnError: true gives an empty rowset on bad input, false (the default) an error.

    The parameter's name, the older reference page ("A value of 1 returns an
    empty rowset",
    https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/buildrowsetfromxml.htm)
    and the Handlebars helper's page agree on this reading; the current pages'
    sentence says the reverse, contradicting the parameter's own name.
    """
    return value is not None and value != "" and to_boolean(value, function, "boolReturnEmptyOnError")


# ---- BuildRowSetFromString ---------------------------------------------------------


@ampscript_function("Content")
def BuildRowSetFromString(source_data: Any, delimiter: Any) -> Rowset:
    """One row per piece of `source_data` split at `delimiter`; the one column is read as Field(row, 1).

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-build-rowset-from-string.html

    The whole delimiter separates pieces (scripts that work in Marketing Cloud
    split at "[|]"), pieces are kept as they are (empty ones too, not
    trimmed), and empty source data gives no rows (chosen: the reference is
    silent).
    """
    text, separator = to_text(source_data), to_text(delimiter)
    if separator == "":
        raise ScriptError("BuildRowSetFromString() needs a delimiter, but it is empty")
    if text == "":
        return Rowset()
    # The column has no name; "1" lets Field(row, "1") read it like Field(row, 1).
    return Rowset(Row([("1", piece)]) for piece in text.split(separator))


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
    A path that selects an array stands for its items; nested objects and
    arrays show as "JSON Object" and "JSON Object Array", as the page says.
    """
    rows = Rowset()
    for match in matches:
        if match is root and isinstance(root, dict):
            raise ScriptError(
                "BuildRowSetFromJson(): the path selects a single object, which has nothing to iterate over; "
                "wrap it in an array"
            )
        for item in match if isinstance(match, list) else [match]:
            if isinstance(item, dict):
                rows.append(Row((name, _json_scalar(value)) for name, value in item.items()))
            else:
                rows.append(Row([("Value", _json_scalar(item))]))
    return rows


@ampscript_function("Content")
def BuildRowSetFromJson(json_data: Any, json_path: Any, return_empty_on_error: Any = None) -> Rowset:
    """A rowset of what the JSONPath expression selects in the JSON data.

    Dot and bracket notation work; filter expressions don't (the reference
    says the function doesn't support them).
    """
    empty_on_error = _on_error(return_empty_on_error, "BuildRowSetFromJson")
    try:
        try:
            document = json.loads(to_text(json_data), parse_float=float)
        except json.JSONDecodeError as error:
            raise ScriptError(f"BuildRowSetFromJson(): invalid JSON: {error}") from None
        expression = to_text(json_path)
        try:
            path = _parse_jsonpath(expression)
        except Exception as error:  # jsonpath-ng raises plain Exceptions for syntax errors
            raise ScriptError(f"BuildRowSetFromJson(): invalid JSONPath {expression!r}: {error}") from None
        return _json_rows([match.value for match in path.find(document)], document)
    except ScriptError:
        if empty_on_error:
            return Rowset()
        raise


# ---- BuildRowSetFromXml ------------------------------------------------------------


def _xml_parser() -> etree.XMLParser:
    # No DTD entities, no network: a script's XML must not read files or URLs.
    return etree.XMLParser(encoding="utf-8", resolve_entities=False, no_network=True, load_dtd=False)


def _parse_xml(text: str, function: str, what: str = "XML") -> etree._ElementTree:
    if text.strip() == "":
        raise ScriptError(f"{function}(): the {what} is empty")
    try:
        return etree.ElementTree(etree.fromstring(text.encode("utf-8"), _xml_parser()))
    except etree.XMLSyntaxError as error:
        raise ScriptError(f"{function}(): invalid {what}: {error}") from None


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
def BuildRowSetFromXml(xml_data: Any, xpath: Any, return_empty_on_error: Any = None) -> Rowset:
    """One row per node the XPath selects: Value (its own text), Xml (its inner XML), NAME_att per attribute.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-build-rowset-from-xml.html

    Every attribute found on any selected node becomes a column, spelled as
    the reference's table spells it (``origin`` -> ``Origin_att``); a node
    without it has "" there.  The catalog calls the third argument
    isCaseSensitive; the reference's is boolReturnEmptyOnError.
    """
    function = "BuildRowSetFromXml"
    empty_on_error = _on_error(return_empty_on_error, function)
    try:
        tree = _parse_xml(to_text(xml_data), function)
        expression = to_text(xpath)
        try:
            selected = tree.xpath(expression)
        except etree.XPathError as error:
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
            columns.setdefault(name, f"{local[:1].upper()}{local[1:]}_att")
    return Rowset(
        Row(
            [("Value", value), ("Xml", inner)]
            + [(column, attributes.get(name, "")) for name, column in columns.items()]
        )
        for value, inner, attributes in found
    )


# ---- BuildOptionList ---------------------------------------------------------------


@ampscript_function("Content")
def BuildOptionList(default_selection: Any, option1_value: Any, option1_text: Any, *more: Any) -> str:
    """``<option>`` tags, the one whose value is `default_selection` marked selected.

    https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/buildoptionlist.htm
    shows the markup: single-quoted attributes, ``selected='selected'``, one
    option a line.  Values and texts are written as given (the reference
    shows no escaping); the selection matches the value's text exactly.
    The catalog's signature (a data extension and columns) is not the
    reference's.
    """
    if len(more) % 2:
        raise ScriptError(f"BuildOptionList() needs a display text after option value {to_text(more[-1])!r}")
    pairs = [(option1_value, option1_text)] + [(more[i], more[i + 1]) for i in range(0, len(more), 2)]
    selected = to_text(default_selection)
    options = []
    for value, text in pairs:
        mark = " selected='selected'" if to_text(value) == selected else ""
        options.append(f"<option value='{to_text(value)}'{mark}>{to_text(text)}</option>")
    return "\n".join(options)


# ---- TransformXML ------------------------------------------------------------------


@ampscript_function("Content")
def TransformXML(xml_document: Any, xsl_document: Any) -> str:
    """The XML transformed by the XSL stylesheet (XSLT 1.0, as .NET's XslCompiledTransform).

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-transform-xml.html
    The result is serialized as the stylesheet's xsl:output says.  The
    stylesheet may not read files or URLs (document(), xsl:include).
    """
    function = "TransformXML"
    source = _parse_xml(to_text(xml_document), function, "XML document")
    stylesheet = _parse_xml(to_text(xsl_document), function, "XSL document")
    try:
        transform = etree.XSLT(stylesheet, access_control=etree.XSLTAccessControl.DENY_ALL)
        result = transform(source)
    except (etree.XSLTParseError, etree.XSLTApplyError) as error:
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
    file_location_type: Any,
    file_location: Any,
    attachment_file_name: Any = None,
    view_on_web: Any = None,
    view_on_web_location: Any = None,
    view_on_web_file_name: Any = None,
    view_on_web_duration: Any = None,
    content_disposition_attachment: Any = None,
) -> str:
    """Attach a file to the outgoing email; prints nothing.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-attach-file.html

    Marketing Cloud fetches the file when it builds the message; locally the
    attachment is recorded on the render (`message_record`) as its arguments
    describe it, and no file is fetched.  The view-as-web-page link is part of
    the web page version, not of the body this render produces.
    """
    function = "AttachFile"
    kind = to_text(file_location_type).strip().lower()
    if kind not in _LOCATION_TYPES:
        raise ScriptError(
            f"{function}(): fileLocationType must be http, ftp, contentbuilder or portfolio, "
            f"got {to_text(file_location_type)!r}"
        )
    location = to_text(file_location)
    if location == "":
        raise ScriptError(f"{function}(): fileLocation is empty")
    if len(location) > _MAX_LOCATION:
        raise ScriptError(
            f"{function}(): fileLocation is {len(location)} characters long; at most 2088 are allowed"
        )
    days = (
        None
        if is_empty(view_on_web_duration)
        else to_int(view_on_web_duration, function, "viewOnWebDuration")
    )
    _record().attachments.append(
        Attachment(
            location_type=kind,
            location=location,
            file_name=to_text(attachment_file_name),
            view_on_web=not is_empty(view_on_web) and to_boolean(view_on_web, function, "boolViewOnWeb"),
            view_on_web_location=to_text(view_on_web_location),
            view_on_web_file_name=to_text(view_on_web_file_name),
            view_on_web_days=days,
            content_disposition_attachment=not is_empty(content_disposition_attachment)
            and to_boolean(content_disposition_attachment, function, "boolContentDispositionAttachment"),
        )
    )
    return ""


@ampscript_function("Content")
def BeginImpressionRegion(region_name: Any) -> str:
    """Open an impression region; prints nothing.

    https://developer.salesforce.com/docs/atlas.en-us.mc-programmatic-content.meta/mc-programmat-content/impressionTracking.htm
    Regions nest, the last opened is the active one; names are
    case-insensitive and kept as first spelled.
    """
    name = to_text(region_name)
    if name.strip() == "":
        raise ScriptError("BeginImpressionRegion() needs the name of the region")
    record = _record()
    spelled = next((known for known in record.impression_regions if known.lower() == name.lower()), None)
    if spelled is None:
        record.impression_regions.append(name)
        spelled = name
    record.open_regions.append(spelled)
    return ""


@ampscript_function("Content")
def EndImpressionRegion(end_all_regions: Any = False) -> str:
    """Close the innermost open impression region, or all of them with true; prints nothing.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-end-impression-region.html
    With no region open it does nothing (the reference names no error).
    """
    record = _record()
    if to_boolean(end_all_regions, "EndImpressionRegion", "boolEndAllRegions"):
        record.open_regions.clear()
    elif record.open_regions:
        record.open_regions.pop()
    return ""


# ---- GetPortfolioItem --------------------------------------------------------------

PORTFOLIO_FOLDER = "Portfolio"


@ampscript_function("Content")
def GetPortfolioItem(item_external_key: Any) -> str:
    """The text of a Portfolio file, by external key.

    https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-get-portfolio-item.html

    Locally the Portfolio is the workspace's ``Portfolio/`` folder and a
    file's external key is its name without the extension
    (``Portfolio/HelloWorld.txt`` has key ``HelloWorld``), matched
    case-insensitively.  The file is read as UTF-8 and returned as it is.
    """
    function = "GetPortfolioItem"
    key = to_text(item_external_key).strip()
    if key == "":
        raise ScriptError(f"{function}() needs the external key of a Portfolio item")
    workspace = current_context().workspace
    folder = workspace.path(PORTFOLIO_FOLDER)
    found = sorted(
        path
        for path in (folder.iterdir() if folder.is_dir() else ())
        if path.is_file() and path.stem.lower() == key.lower()
    )
    if not found:
        raise ScriptError(
            f"{function}(): no Portfolio item has the external key {key!r}",
            hint=f"put the file in the workspace's {PORTFOLIO_FOLDER}/ folder, named {key}.<extension>",
        )
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise ScriptError(f"{function}(): more than one Portfolio item has the external key {key!r}: {names}")
    return workspace.path(PORTFOLIO_FOLDER, found[0].name).read_text(encoding="utf-8-sig")
