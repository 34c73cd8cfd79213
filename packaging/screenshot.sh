#!/usr/bin/env bash
# The README screenshot: the real stylecam window under Xvfb, saved to assets/screenshot.png.
#
#   packaging/screenshot.sh [STYLE] [VIDEO]
#
# STYLE: a style name or .onnx path (default: the built-in "wave"; without built-in styles,
# a posterize stand-in model made here). VIDEO: default ../shared/data/video/butterfly.mp4.
# Needs: apt-get install -y xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0
#        libxkbcommon-x11-0 libegl1 libgl1 imagemagick
set -euo pipefail
cd "$(dirname "$0")/.."
STYLE=${1:-}
VIDEO=${2:-$(cd .. && pwd)/shared/data/video/butterfly.mp4}
OUT=assets/screenshot.png
W=960 H=640
tmp=$(mktemp -d)
export STYLECAM_SETTINGS=$tmp/settings.ini
# A fresh settings file: the split view half-way, 480p processing.
cat > "$STYLECAM_SETTINGS" <<INI
[General]
split=true
strength=100
size=480
INI
if [ -z "$STYLE" ]; then
  if python -c "import sys; from stylecam.models import Catalog; sys.exit('wave' not in [n.lower() for n in Catalog().names()])"; then
    STYLE=wave
  else
    export STYLECAM_MODELS_DIR=$tmp/models
    python - <<'PY'
# Stand-in until a trained style is built in: posterize to 5 levels a channel.
import os
from onnx import TensorProto, helper, save
from stylecam.testing import contract_graph
m = contract_graph("identity", name="poster", meta={"stylecam.title": "Poster (stand-in)"})
g = m.graph
del g.node[:]
g.initializer.extend([helper.make_tensor("q", TensorProto.FLOAT, [], [255 / 4]),
                      helper.make_tensor("lo", TensorProto.FLOAT, [], [0.0]),
                      helper.make_tensor("hi", TensorProto.FLOAT, [], [255.0])])
g.node.extend([helper.make_node("Cast", ["frame"], ["f"], to=TensorProto.FLOAT),
               helper.make_node("Div", ["f", "q"], ["d"]),
               helper.make_node("Round", ["d"], ["r"]),
               helper.make_node("Mul", ["r", "q"], ["m"]),
               helper.make_node("Clip", ["m", "lo", "hi"], ["c"]),
               helper.make_node("Cast", ["c"], ["image"], to=TensorProto.UINT8)])
os.makedirs(os.environ["STYLECAM_MODELS_DIR"], exist_ok=True)
save(m, os.path.join(os.environ["STYLECAM_MODELS_DIR"], "poster.onnx"))
PY
    STYLE=poster
  fi
fi
DISPLAY_NUM=:97
Xvfb $DISPLAY_NUM -screen 0 ${W}x${H}x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$tmp"' EXIT
export DISPLAY=$DISPLAY_NUM QT_QPA_PLATFORM=xcb
sleep 2
# No window manager under Xvfb: the window sits at 0,0 and fills the screen.
stylecam --source "$VIDEO" --style "$STYLE" --quit-after 30 &
app=$!
sleep 12
# The clip moves: take a few and keep the sharpest (most detail in the original half).
for i in 1 2 3 4 5 6; do import -window root "$tmp/shot$i.png"; sleep 1; done
python - "$tmp" "$OUT" <<'PY'
import shutil, sys
import cv2
shots = [f"{sys.argv[1]}/shot{i}.png" for i in range(1, 7)]
def detail(path):
    g = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    return cv2.Laplacian(g[: g.shape[0] * 3 // 4, : g.shape[1] // 2], cv2.CV_64F).var()
shutil.copy(max(shots, key=detail), sys.argv[2])
PY
# 256 colours keep it small for the README (< 300 KB) and look the same at this size
convert "$OUT" -strip -dither FloydSteinberg -colors 256 -define png:compression-level=9 "$OUT"
wait $app || true
ls -l "$OUT"
