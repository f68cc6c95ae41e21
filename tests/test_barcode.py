"""BarCodeURL(): the data URI's SVG image, its size, rotation, background and bars.

https://developer.salesforce.com/docs/marketing/marketing-cloud-ampscript/references/mc-ampscript-content/mc-ampscript-reference-content-barcode-url.html
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest

import ampc

SVG = "{http://www.w3.org/2000/svg}"
PREFIX = "data:image/svg+xml;base64,"


def barcode(arguments: str) -> str:
    return ampc.render(f"%%=BarCodeURL({arguments})=%%")


def svg_of(uri: str) -> ET.Element:
    assert uri.startswith(PREFIX)
    return ET.fromstring(base64.b64decode(uri[len(PREFIX) :], validate=True).decode("utf-8"))


def symbol_of(root: ET.Element) -> ET.Element:
    return root.find(f"./{SVG}g/{SVG}svg")


def modules_of(root: ET.Element) -> str:
    """The linear symbol's modules ("1" dark, "0" light), quiet zones stripped."""
    symbol = symbol_of(root)
    total = int(symbol.get("viewBox").split()[2])
    modules = ["0"] * total
    for rect in symbol.iter(f"{SVG}rect"):
        x, w = int(rect.get("x")), int(rect.get("width"))
        modules[x : x + w] = ["1"] * w
    return "".join(modules).strip("0")


def raster_of(root: ET.Element, scale: int = 4):
    """The symbol (unrotated) as a grayscale image, for a barcode reader."""
    numpy = pytest.importorskip("numpy")
    symbol = symbol_of(root)
    _, _, columns, rows = (int(n) for n in symbol.get("viewBox").split())
    linear = rows == 1
    image = numpy.full((60 if linear else rows * scale, columns * scale), 255, dtype=numpy.uint8)
    for rect in symbol.iter(f"{SVG}rect"):
        x, y, w, h = (int(rect.get(name)) for name in ("x", "y", "width", "height"))
        if linear:
            image[:, x * scale : (x + w) * scale] = 0
        else:
            image[y * scale : (y + h) * scale, x * scale : (x + w) * scale] = 0
    return image


def test_returns_a_data_uri_of_an_svg_image_of_the_requested_size():
    root = svg_of(barcode("'BBY01-397101069285', 'Code39', 400, 200, 0"))
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("400", "200", "0 0 400 200")
    symbol = symbol_of(root)
    assert (symbol.get("width"), symbol.get("height")) == ("400", "200")  # no text: the bars fill the image
    assert symbol.get("preserveAspectRatio") == "none"


def test_white_background_unless_transparent():
    opaque = svg_of(barcode("'1234', 'Code128C', 100, 50"))
    background = opaque.find(f"./{SVG}rect")
    assert background is not None and background.get("fill") == "#ffffff"
    assert (background.get("width"), background.get("height")) == ("100", "50")
    transparent = svg_of(barcode("'1234', 'Code128C', 100, 50, '', 0, '', 0, 1"))
    assert transparent.find(f"./{SVG}rect") is None


@pytest.mark.parametrize(
    "rotation, size, transform",
    [
        (0, ("231", "55"), None),
        (90, ("55", "231"), "translate(55 0) rotate(90)"),
        (180, ("231", "55"), "translate(231 55) rotate(180)"),
        (270, ("55", "231"), "translate(0 231) rotate(270)"),
    ],
)
def test_rotation_turns_the_image(rotation, size, transform):
    root = svg_of(barcode(f"'9X4H341ZTKTPMintT', 'Code128B', 231, 55, 0, 1, '', {rotation}, 1"))
    assert (root.get("width"), root.get("height")) == size
    assert root.find(f"./{SVG}g").get("transform") == transform


def test_text_under_the_bars_is_the_value_or_the_alt_text():
    shown = svg_of(barcode("'ABC-1', 'Code39', 300, 100, 0, 1, 'Alt'"))
    assert shown.find(f".//{SVG}text").text == "ABC-1"
    symbol = symbol_of(shown)
    assert float(symbol.get("height")) < 100  # the bars leave room for the text
    alt = svg_of(barcode("'ABC-1', 'Code39', 300, 100, 0, 0, 'Alt <Text>'"))
    assert alt.find(f".//{SVG}text").text == "Alt <Text>"
    assert svg_of(barcode("'ABC-1', 'Code39', 300, 100")).find(f".//{SVG}text") is None


def test_ean13_bars_carry_the_computed_check_digit():
    from barcode import EAN13

    expected = EAN13("590123412345").build()[0]
    assert EAN13("590123412345").get_fullcode() == "5901234123457"
    assert modules_of(svg_of(barcode("'590123412345', 'EAN13', 200, 100"))) == expected
    assert modules_of(svg_of(barcode("'5901234123457', 'ean13', 200, 100"))) == expected


def test_code128_subsets_use_one_code_set():
    # Start B (104), "A" (33), "b" (66), checksum (104 + 33 + 2*66) % 103 = 63, stop.
    from barcode.charsets import code128

    expected = "".join(code128.CODES[code] for code in (104, 33, 66, 63)) + code128.STOP + "11"
    assert modules_of(svg_of(barcode("'Ab', 'Code128B', 200, 50"))) == expected


def test_upce_is_drawn_as_upca():
    upca = modules_of(svg_of(barcode("'03600029145', 'UPCA', 200, 100")))
    assert modules_of(svg_of(barcode("'036000291452', 'upce', 200, 100"))) == upca


@pytest.mark.parametrize(
    "value, kind, format_name, decoded",
    [
        ("BBY01-397101069285", "Code39", "Code39", "BBY01-397101069285"),
        ("9X4H341ZTKTPMintT", "Code128B", "Code128", "9X4H341ZTKTPMintT"),
        ("HELLO 123", "Code128A", "Code128", "HELLO 123"),
        ("12345678", "Code128C", "Code128", "12345678"),
        ("Mixed 0123456789 text", "Code128Auto", "Code128", "Mixed 0123456789 text"),
        ("590123412345", "EAN13", "EAN13", "5901234123457"),
        ("9638507", "EAN8", "EAN8", "96385074"),
        ("03600029145", "UPCA", "UPCA", "0036000291452"),  # the reader gives UPC-A in its EAN-13 form
        ("12345670", "Interl25", "ITF", "12345670"),
        ("A40156B", "Codabar", "Codabar", "A40156B"),
        ("Ticket 42: café", "DataMatrix", "DataMatrix", "Ticket 42: café"),
        ("Ticket 42: café", "PDF417", "PDF417", "Ticket 42: café"),
    ],
)
def test_a_barcode_reader_reads_the_value(value, kind, format_name, decoded):
    zxingcpp = pytest.importorskip("zxingcpp")
    root = svg_of(barcode(f"'{value}', '{kind}', 300, 100"))
    results = zxingcpp.read_barcodes(raster_of(root), formats=getattr(zxingcpp.BarcodeFormat, format_name))
    assert [(result.text, result.format.name) for result in results] == [(decoded, format_name)]


def test_two_dimensional_symbols_keep_square_modules():
    root = svg_of(barcode("'HELLO', 'datamatrix', 200, 100"))
    symbol = symbol_of(root)
    assert symbol.get("preserveAspectRatio") == "xMidYMid meet"
    assert re.fullmatch(r"0 0 (\d+) \1", symbol.get("viewBox"))  # a square Data Matrix with its quiet zone


def test_the_limit_is_per_render():
    source = "%%=BarCodeURL('1', 'code39', 10, 10)=%%%%=BarCodeURL('2', 'code39', 10, 10)=%%"
    assert ampc.render(source).count(PREFIX) == 2
    assert ampc.render(source).count(PREFIX) == 2  # a new render starts counting again
