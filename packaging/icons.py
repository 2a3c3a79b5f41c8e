"""The app icon in every format the targets need, rendered from resources/icons/lectern.svg.

resources/icons/lectern.png (256 px) is committed; the .ico (Windows) and .icns (macOS)
are written at build time. Both containers hold PNG images, which every supported OS
version reads, so no image library beyond pymupdf is needed.
Regenerate the PNG after editing the SVG:  .venv/bin/python packaging/icons.py
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "lectern.svg"
PNG = ROOT / "resources" / "icons" / "lectern.png"


def render_png(size: int, svg: Path = SVG) -> bytes:
    import pymupdf

    src = pymupdf.open(svg)
    page = pymupdf.open("pdf", src.convert_to_pdf())[0]
    zoom = size / page.rect.width
    return page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=True).tobytes("png")


def write_ico(path: Path, sizes=(16, 24, 32, 48, 64, 128, 256)) -> Path:
    images = [(s, render_png(s)) for s in sizes]
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, data in images:
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    path.write_bytes(header + entries + blobs)
    return path


# icns element types holding PNG data, by pixel size.
_ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


def write_icns(path: Path, sizes=(16, 32, 64, 128, 256, 512, 1024)) -> Path:
    body = b""
    for size in sizes:
        data = render_png(size)
        body += _ICNS_TYPES[size] + struct.pack(">I", 8 + len(data)) + data
    path.write_bytes(b"icns" + struct.pack(">I", 8 + len(body)) + body)
    return path


def main() -> int:
    PNG.write_bytes(render_png(256))
    print(f"wrote {PNG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
