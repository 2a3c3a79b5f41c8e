"""Rewrite a llama-cpp-python wheel built with GGML_BACKEND_DL so it installs usably.

llama-cpp-python 0.3.36's build puts the CPU variant libraries in the wheel's top-level
bin/ (so site-packages/bin/, where nothing looks for them) and a second copy of the
shared libraries in top-level lib/. This moves the variants beside libggml.so.0 in
llama_cpp/lib/, drops the stray copies, leaves out the variants Lectern never runs
(app/llm/backends.py DENY) and rewrites RECORD. Usage: llama_wheel_fix.py WHEEL
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import zipfile
from pathlib import Path

NEVER = ("sapphirerapids",)  # AMX: crashes (llama.cpp issue 20824); mirrors app/llm/backends.py DENY
_VARIANT = re.compile(r"^bin/(libggml-cpu-([\w.]+)\.(?:so|dll|dylib))$")


def fix(wheel: Path) -> list[str]:
    out_path = wheel.with_suffix(".fixed")
    moved, records = [], []
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as zout:
        record_name = next(n for n in zin.namelist() if n.endswith(".dist-info/RECORD"))
        for info in zin.infolist():
            name = info.filename
            if name == record_name:
                continue
            m = _VARIANT.match(name)
            if m:
                if m.group(2) in NEVER:
                    continue
                name = f"llama_cpp/lib/{m.group(1)}"
                moved.append(m.group(2))
            elif name.startswith(("bin/", "lib/")):
                continue  # duplicates of llama_cpp/lib, outside the package
            data = zin.read(info)
            zi = zipfile.ZipInfo(name, date_time=info.date_time)
            zi.external_attr = info.external_attr
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{name},sha256={digest},{len(data)}")
        records.append(f"{record_name},,")
        zout.writestr(record_name, "\n".join(records) + "\n")
    out_path.replace(wheel)
    return moved


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"llama_wheel_fix: {Path(arg).name}: CPU variants in llama_cpp/lib: {', '.join(fix(Path(arg)))}")
