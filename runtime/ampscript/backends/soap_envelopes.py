"""SOAP envelopes for Marketing Cloud's partner API: building requests, reading answers.

Requests follow the WSDL (etframework.wsdl): document/literal SOAP 1.1, body
elements in the ``http://exacttarget.com/wsdl/partnerAPI`` namespace,
properties in the order of the WSDL's sequences (base types first, as
`ampscript.api_schema` lists them), ``xsi:type`` wherever an object is of a
subtype of the element's declared type (``Objects``, ``Definition``,
``Filter``, filter operands), booleans as ``true``/``false`` and dates in
ISO 8601.  The access token travels in a ``fueloauth`` header element
("Authenticate Your SOAP API Calls",
https://developer.salesforce.com/docs/atlas.en-us.mc-apis.meta/mc-apis/authenticate-soap-api.htm).

Everything is built with ElementTree, so values are escaped by the XML
library, never pasted into markup.
"""

from __future__ import annotations

import datetime as _dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..api_objects import ApiObject
from ..api_schema import PropertySpec, schema
from ..values import Row, Rowset, parse_boolean, parse_number, to_text
from ..values.dates import read_iso_datetime

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "http://exacttarget.com/wsdl/partnerAPI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# The namespace every published example gives the fueloauth header element.
FUELOAUTH = "http://exacttarget.com"

# Arrays the WSDL wraps in an element of their own, e.g.
# <SaveOptions><SaveOption/>...</SaveOptions>.  api_schema.json records them
# as plain arrays (AMPscript addresses the wrapper as the array), so the
# inner element's name lives here: (type, property) -> item element, as
# declared in etframework.wsdl (tests/test_soap_backend.py checks this
# table against the WSDL when it is present).
WRAPPED_ARRAYS: dict[tuple[str, str], str] = {
    (owner.lower(), prop.lower()): item
    for owner, prop, item in [
        ("Options", "SaveOptions", "SaveOption"),
        ("RetrieveRequest", "Retrieves", "Request"),
        ("TagFilterPart", "Tags", "Tag"),
        ("ComplexFilterPart", "AdditionalOperands", "Operand"),
        ("PropertyDefinition", "PicklistItems", "PicklistItem"),
        ("PropertyDefinition", "References", "Reference"),
        ("ObjectDefinition", "ExtendedProperties", "ExtendedProperty"),
        ("PerformRequest", "Definitions", "Definition"),
        ("PerformResponse", "Results", "Result"),
        ("ValidationAction", "ValidationOptions", "ValidationOption"),
        ("ContentValidation", "Subscribers", "Subscriber"),
        ("ContentValidationTaskResult", "ValidationResults", "ValidationResult"),
        ("ScheduleResponse", "Results", "Result"),
        ("ExtractRequest", "Parameters", "Parameter"),
        ("ExtractDescription", "Parameters", "Parameter"),
        ("ExtractDefinition", "Parameters", "Parameter"),
        ("ExtractDefinition", "Values", "Value"),
        ("Account", "Roles", "Role"),
        ("AccountUser", "AssociatedBusinessUnits", "BusinessUnit"),
        ("AccountUser", "Roles", "Role"),
        ("AccountUser", "SsoIdentities", "SsoIdentity"),
        ("Role", "PermissionSets", "PermissionSet"),
        ("Role", "Permissions", "Permission"),
        ("PermissionSet", "PermissionSets", "PermissionSet"),
        ("PermissionSet", "Permissions", "Permission"),
        ("Subscriber", "Addresses", "Address"),
        ("Send", "Sources", "Source"),
        ("Send", "SuppressionLists", "SuppressionList"),
        ("EmailSendDefinition", "TrackingUsers", "TrackingUser"),
        ("SendDefinitionList", "Parameters", "Parameter"),
        ("DoubleOptInMOKeyword", "ValidPublications", "ValidPublication"),
        ("DoubleOptInMOKeyword", "ValidResponses", "ValidResponse"),
        ("DataExtension", "Fields", "Field"),
        ("DataExtensionObject", "Keys", "Key"),
        ("DataExtensionCreateResult", "KeyErrors", "KeyError"),
        ("DataExtensionCreateResult", "ValueErrors", "ValueError"),
        ("DataExtensionUpdateResult", "KeyErrors", "KeyError"),
        ("DataExtensionUpdateResult", "ValueErrors", "ValueError"),
        ("DataExtensionDeleteResult", "KeyErrors", "KeyError"),
        ("ImportDefinition", "FieldMaps", "FieldMap"),
        ("ImportDefinition", "ControlColumnActions", "ControlColumnAction"),
        ("ObjectExtension", "Properties", "Property"),
        ("SystemStatusResult", "Outages", "Outage"),
        ("SubscriberAddress", "Statuses", "Status"),
        ("Publication", "Subscribers", "Subscriber"),
        ("Automation", "AutomationTasks", "AutomationTask"),
        ("Automation", "Notifications", "Notification"),
        ("AutomationInstances", "AutomationInstanceCollection", "AutomationInstance"),
        ("AutomationInstance", "TaskInstances", "AutomationTaskInstance"),
        ("AutomationTask", "Activities", "Activity"),
        ("AutomationTaskInstance", "ActivityInstances", "ActivityInstance"),
        ("SuppressionListDefinition", "Contexts", "Context"),
        ("SuppressionListDefinition", "Fields", "Field"),
        ("SuppressionListData", "Properties", "Property"),
        ("ContactEvent", "Data", "AttributeSet"),
        ("AttributeSet", "Items", "Item"),
        ("AttributeValueContainer", "Values", "Value"),
    ]
}


def _tag(name: str) -> str:
    return f"{{{PARTNER}}}{name}"


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# ---- building ------------------------------------------------------------------


def envelope(access_token: str, body: ET.Element) -> bytes:
    """A complete SOAP 1.1 request carrying `body`, authenticated by the token."""
    root = ET.Element(f"{{{SOAP_ENV}}}Envelope")
    header = ET.SubElement(root, f"{{{SOAP_ENV}}}Header")
    ET.SubElement(header, f"{{{FUELOAUTH}}}fueloauth").text = access_token
    ET.SubElement(root, f"{{{SOAP_ENV}}}Body").append(body)
    # The partner namespace is the default one, so that xsi:type values
    # ("QueryDefinition") name partner types without a prefix.
    return ET.tostring(root, encoding="utf-8", xml_declaration=True, default_namespace=PARTNER)


def change_request(method: str, target: ApiObject, options: ApiObject | None) -> ET.Element:
    """CreateRequest / UpdateRequest / DeleteRequest: Options (required, may be empty), then Objects."""
    kind = method.capitalize()
    request = ET.Element(_tag(f"{kind}Request"))
    options_type = f"{kind}Options"
    if options is None:
        ET.SubElement(request, _tag("Options"))
    else:
        request.append(object_element("Options", options, options_type))
    request.append(object_element("Objects", target, "APIObject"))
    return request


def retrieve_request(request: ApiObject) -> ET.Element:
    message = ET.Element(_tag("RetrieveRequestMsg"))
    message.append(object_element("RetrieveRequest", request, "RetrieveRequest"))
    return message


def perform_request(target: ApiObject, action: str) -> ET.Element:
    message = ET.Element(_tag("PerformRequestMsg"))
    ET.SubElement(message, _tag("Action")).text = action
    definitions = ET.SubElement(message, _tag("Definitions"))
    definitions.append(object_element("Definition", target, "APIObject"))
    return message


def execute_request(name: str, parameters: Iterable[tuple[str, Any]]) -> ET.Element:
    """An ExecuteRequestMsg of one request: a Name and APIProperty Parameters."""
    message = ET.Element(_tag("ExecuteRequestMsg"))
    request = ET.SubElement(message, _tag("Requests"))
    ET.SubElement(request, _tag("Name")).text = name
    for parameter_name, value in parameters:
        parameter = ET.SubElement(request, _tag("Parameters"))
        ET.SubElement(parameter, _tag("Name")).text = parameter_name
        ET.SubElement(parameter, _tag("Value")).text = scalar_text(value)
    return message


def object_element(tag: str, value: ApiObject, declared_type: str) -> ET.Element:
    """An API object as the element `tag` whose WSDL type is `declared_type`."""
    element = ET.Element(_tag(tag))
    if value.object_type.lower() != declared_type.lower():
        element.set(f"{{{XSI}}}type", value.object_type)
    for spec in _properties_in_order(value.object_type):
        if not value.has(spec.name) or value.get(spec.name) is None:
            continue
        _append_property(element, value.object_type, spec, value.get(spec.name))
    return element


def _properties_in_order(type_name: str) -> list[PropertySpec]:
    """The type's properties in WSDL order: the base type's sequence comes first."""
    chain = []
    spec = schema().type(type_name)
    while spec is not None:
        chain.append(spec)
        spec = schema().type(spec.base) if spec.base else None
    return [prop for ancestor in reversed(chain) for prop in ancestor.own.values()]


def _declaring_type(type_name: str, property_name: str) -> str:
    spec = schema().type(type_name)
    while spec is not None and property_name.lower() not in spec.own:
        spec = schema().type(spec.base) if spec.base else None
    return spec.name if spec is not None else type_name


def _append_property(parent: ET.Element, owner: str, spec: PropertySpec, value: Any) -> None:
    items = value if isinstance(value, list) else [value]
    wrapped_item = WRAPPED_ARRAYS.get((_declaring_type(owner, spec.name).lower(), spec.name.lower()))
    if wrapped_item is not None:
        wrapper = ET.SubElement(parent, _tag(spec.name))
        for item in items:
            wrapper.append(_value_element(wrapped_item, spec.type, item))
        return
    for item in items:
        if item is not None:
            parent.append(_value_element(spec.name, spec.type, item))


def _value_element(tag: str, declared_type: str, value: Any) -> ET.Element:
    if isinstance(value, ApiObject):
        return object_element(tag, value, declared_type)
    element = ET.Element(_tag(tag))
    element.text = scalar_text(value)
    return element


def scalar_text(value: Any) -> str:
    """A value as the WSDL's simple types spell it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return to_text(value)


# ---- reading -------------------------------------------------------------------


@dataclass
class SoapFault(Exception):
    code: str  # the faultcode's local part: "Server", "Client", "Security"
    message: str
    error_code: str | None = None  # the apifault Code of Server faults


def response_body(document: bytes) -> ET.Element:
    """The element inside the answer's SOAP Body; a SOAP fault raises `SoapFault`.

    ValueError if the answer is not a SOAP envelope.
    """
    try:
        root = ET.fromstring(document)
    except ET.ParseError as error:
        raise ValueError(f"the answer is not XML ({error})") from None
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or body is None or len(body) == 0:
        raise ValueError("the answer is not a SOAP envelope")
    content = body[0]
    if content.tag == f"{{{SOAP_ENV}}}Fault":
        code = (content.findtext("faultcode") or "").strip()
        detail_code = next((e.text for e in content.iter() if local_name(e.tag) == "Code"), None)
        raise SoapFault(code.rsplit(":", 1)[-1], (content.findtext("faultstring") or "").strip(), detail_code)
    return content


def child_text(element: ET.Element, name: str) -> str | None:
    found = element.find(_tag(name))
    return (found.text or "") if found is not None else None


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return element.findall(_tag(name))


def xsi_type(element: ET.Element) -> str | None:
    declared = element.get(f"{{{XSI}}}type")
    return declared.rsplit(":", 1)[-1] if declared else None


def read_object(element: ET.Element, type_name: str) -> Row:
    """An object in an answer as a `Row`: nested objects as rows, arrays of objects as rowsets."""
    type_name = xsi_type(element) or type_name
    fields: dict[str, Any] = {}
    for child in element:
        name = local_name(child.tag)
        spec = schema().property(type_name, name)
        if spec is None:  # not in the WSDL: keep what it says
            fields[name] = child.text
            continue
        wrapped = WRAPPED_ARRAYS.get((_declaring_type(type_name, name).lower(), name.lower()))
        if wrapped is not None:
            fields[spec.name] = _collection([_read_value(item, spec.type) for item in child])
        elif spec.array:
            fields.setdefault(spec.name, []).append(_read_value(child, spec.type))
        else:
            fields[spec.name] = _read_value(child, spec.type)
    return Row(
        {name: _collection(value) if isinstance(value, list) else value for name, value in fields.items()}
    )


def _collection(items: list[Any]) -> Any:
    if isinstance(items, Rowset):
        return items
    if items and all(isinstance(item, Row) for item in items):
        return Rowset(items)
    return items


def _read_value(element: ET.Element, type_name: str) -> Any:
    if element.get(f"{{{XSI}}}nil") in ("true", "1"):
        return None
    if schema().type(xsi_type(element) or type_name) is not None:
        return read_object(element, type_name)
    return _scalar(element.text or "", type_name)


_INTEGER_TYPES = {"int", "long", "short", "byte", "unsignedint", "unsignedlong", "unsignedshort"}


def _scalar(text: str, type_name: str) -> Any:
    """Text of a simple WSDL type as the AMPscript value it stands for (text if it does not parse)."""
    kind = type_name.lower()
    try:
        if kind in _INTEGER_TYPES or kind in ("double", "decimal", "float"):
            number = parse_number(text)  # the value core reads the number
            if number is None or (kind in _INTEGER_TYPES and not isinstance(number, int)):
                return text
            return number
        if kind == "boolean":
            flag = parse_boolean(text)
            return text if flag is None else flag
        if kind == "datetime":
            # Marketing Cloud dates are its system time; AMPscript dates carry no zone.
            moment = read_iso_datetime(text)
            return text if moment is None else moment
    except (ValueError, KeyError, InvalidOperation, OverflowError):
        return text
    return text
