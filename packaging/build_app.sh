#!/usr/bin/env bash
# Build the frozen desktop app into dist/stylecam/ (or $1): the window, the render, the models,
# and the freedesktop entry, icon and AppStream metainfo under share/.
#
#     pip install -e . "pyinstaller>=6" && bash packaging/build_app.sh
#     dist/stylecam/stylecam                                   # the window
#     dist/stylecam/stylecam-render clip.mp4 --style wave      # a file
#
# Install for the desktop: copy dist/stylecam/ to /opt/stylecam, link /opt/stylecam/stylecam
# into your PATH, and copy share/ into ~/.local/share (or /usr/share).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIST="${1:-$ROOT/dist}"
WORK="${2:-$ROOT/build/pyinstaller}"
python -m PyInstaller --noconfirm --log-level WARN --distpath "$DIST" --workpath "$WORK" \
    "$ROOT/packaging/app/stylecam.spec"
APP="$DIST/stylecam"
ln -sf stylecam "$APP/stylecam-render"
D="$ROOT/packaging/desktop"
install -Dm644 "$D/io.github.stylecam.stylecam.desktop" "$APP/share/applications/io.github.stylecam.stylecam.desktop"
install -Dm644 "$D/io.github.stylecam.stylecam.svg" "$APP/share/icons/hicolor/scalable/apps/io.github.stylecam.stylecam.svg"
install -Dm644 "$D/io.github.stylecam.stylecam.metainfo.xml" "$APP/share/metainfo/io.github.stylecam.stylecam.metainfo.xml"
echo "built $APP ($(du -sh "$APP" | cut -f1))"
