#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages a fresh machine lacks: a C++ toolchain to build
# llama-cpp-python, venv support, and the shared libraries Qt needs even offscreen.
# Installs only what is missing, so it is a no-op on a prepared machine.
set -euo pipefail
command -v dpkg-query >/dev/null || { echo "sysdeps: not a Debian/Ubuntu system; install a C++ compiler and Qt's X11/EGL libraries yourself"; exit 0; }
pyver=$(${PYTHON:-python3} -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
want=(build-essential cmake git libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
      libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0
      libxcb-image0 xvfb xauth
      tesseract-ocr tesseract-ocr-eng  # OCR for scanned PDFs (optional at run time, tested in CI)
      qemu-user  # the tests run llama.cpp on emulated older CPUs (Nehalem, Haswell)
      bubblewrap)  # the OS-enforced sandbox for model-written code (REPL mode)
# Debian's python3.X lacks ensurepip without this package; pyenv or python.org builds have it.
${PYTHON:-python3} -c 'import ensurepip' 2>/dev/null || want+=("python${pyver}-venv")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "sysdeps: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
