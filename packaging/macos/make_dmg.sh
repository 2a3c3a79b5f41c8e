#!/usr/bin/env bash
# Wrap Lectern.app (built by packaging/build.py on macOS) in a compressed, read-only
# disk image with an Applications link, for drag-and-drop install. macOS only (hdiutil).
#   packaging/macos/make_dmg.sh [path/to/Lectern.app]
# The image is not signed or notarised: Gatekeeper asks the user to confirm the first
# start (right-click > Open) until a Developer ID signing step is added.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
APP=${1:-packaging/dist/Lectern.app}
[ -d "$APP" ] || { echo "make_dmg: $APP not found; run packaging/build.py first" >&2; exit 1; }
VERSION=$("$PYTHON" -c 'import sys; sys.path.insert(0, "."); from app.meta import VERSION; print(VERSION)')
NAME=$("$PYTHON" -c 'import sys; sys.path.insert(0, "."); from app.meta import APP_NAME; print(APP_NAME)')
OUT="packaging/dist/lectern-$VERSION-macos-$(uname -m).dmg"

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
cp THIRD-PARTY-NOTICES "$STAGE/THIRD-PARTY-NOTICES.txt"

rm -f "$OUT"
hdiutil create -volname "$NAME $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO \
    -imagekey zlib-level=9 -ov "$OUT"
hdiutil verify "$OUT"
echo "$OUT"
