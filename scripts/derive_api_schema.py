#!/usr/bin/env python3
"""Derive the runtime's API object schema from Marketing Cloud's WSDL.

    python3 scripts/derive_api_schema.py ../shared/reference/etframework.wsdl

writes runtime/ampscript/data/api_schema.json: for every complex type its
base type and properties (WSDL type, whether it is an array), and every
enumeration's values.  The runtime ships this file, not the WSDL.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

XS = "{http://www.w3.org/2001/XMLSchema}"
OUTPUT = Path(__file__).parents[1] / "runtime" / "ampscript" / "data" / "api_schema.json"


def _local(qualified: str | None) -> str | None:
    return qualified.split(":", 1)[-1] if qualified else None


def _own_elements(node: ET.Element):
    """The elements a type declares itself (not those of anonymous types nested in them)."""
    for child in node:
        if child.tag == f"{XS}element":
            yield child
        elif child.tag in (f"{XS}sequence", f"{XS}choice", f"{XS}all", f"{XS}complexContent", f"{XS}extension"):
            yield from _own_elements(child)


def _inline_type(element: ET.Element, array: bool) -> tuple[str, bool]:
    """The type of an element declared inline.

    The WSDL wraps some arrays (``<SaveOptions><SaveOption/>*</SaveOptions>``);
    AMPscript addresses the wrapper as the array (AddObjectArrayItem(@o,
    "SaveOptions", @saveOption)), so a wrapper of one repeated element counts
    as an array of that element's type.
    """
    complex_type = element.find(f"{XS}complexType")
    if complex_type is not None:
        inner = list(_own_elements(complex_type))
        if len(inner) == 1 and inner[0].get("maxOccurs") == "unbounded" and inner[0].get("type"):
            return _local(inner[0].get("type")), True
        return "object", array
    restriction = element.find(f".//{XS}restriction")
    return (_local(restriction.get("base")) if restriction is not None else "string"), array


def _properties(node: ET.Element) -> dict[str, dict]:
    properties = {}
    for element in _own_elements(node):
        name = element.get("name")
        if not name:
            continue
        kind = _local(element.get("type"))
        array = element.get("maxOccurs") == "unbounded"
        if kind is None:
            kind, array = _inline_type(element, array)
        properties[name] = {"type": kind, "array": array}
    return properties


def derive(wsdl: Path) -> dict:
    root = ET.parse(wsdl).getroot()
    types: dict[str, dict] = {}
    enums: dict[str, list[str]] = {}
    for schema in root.iter(f"{XS}schema"):
        for complex_type in schema.findall(f"{XS}complexType"):
            extension = complex_type.find(f"{XS}complexContent/{XS}extension")
            types[complex_type.get("name")] = {
                "base": _local(extension.get("base")) if extension is not None else None,
                "properties": _properties(complex_type),
            }
        for simple_type in schema.findall(f"{XS}simpleType"):
            values = [e.get("value") for e in simple_type.iter(f"{XS}enumeration")]
            if values:
                enums[simple_type.get("name")] = values
    return {
        "source": "Derived from Marketing Cloud's SOAP WSDL (etframework.wsdl) by scripts/derive_api_schema.py",
        "types": dict(sorted(types.items())),
        "enums": dict(sorted(enums.items())),
    }


def main() -> None:
    wsdl = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/etframework.wsdl")
    OUTPUT.write_text(json.dumps(derive(wsdl), indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
