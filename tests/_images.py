"""Validity checks of exported figures (PNG chunks and CRCs, SVG marks, PDF structure), shared by
test_plot.py and test_report.py."""
from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib


def check_png(path):
    """A PNG whose chunks all pass their CRC, at least 100 × 50 px, not blank."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 50
    raw = zlib.decompress(idat)
    assert len(set(raw)) > 2, "a blank image"


def check_svg(path):
    """An SVG with more than 10 drawn elements."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    marks = [e for e in root.iter() if e.tag.endswith(("path", "line", "rect", "text"))]
    assert len(marks) > 10


def check_pdf(path):
    """A one-or-more-page PDF of more than 2 kB."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert b"/Type /Page" in data or b"/Type/Page" in data
    assert len(data) > 2000
