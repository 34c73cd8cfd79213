#!/bin/bash
# On the lent GPU machine, in the last run call of benchmarks/ort_cuda_send.py's plan:
#   bash benchmarks/ort_cuda_remote.sh PARTS SHA256
# joins /tmp/ortgpu/part*, checks the sha256, installs the wheels into /tmp/site (no deps:
# numpy, protobuf, flatbuffers, packaging, onnx, opencv are there) and runs ort_cuda.py.
set -u -o pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp}
here=${ORTGPU_DIR:-/tmp/ortgpu}  # where the run calls copied the parts
cd "$here" || exit 3
have=$(ls part* 2>/dev/null | wc -l)
if [ "$have" != "$1" ]; then
    echo "ort_cuda_remote: $have of $1 parts here ($(ls part* 2>/dev/null | tr '\n' ' ')): the machine went back between calls; send them again"
    exit 3
fi
cat $(ls part* | sort) > payload.tar && rm -f part*
if ! echo "$2  payload.tar" | sha256sum -c --quiet; then
    echo "ort_cuda_remote: the joined parts' sha256 differs from the plan's"; exit 3
fi
mkdir -p x && tar -xf payload.tar -C x && rm payload.tar || exit 3
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site x/wheels/*.whl || exit 4
export PYTHONPATH=/tmp/site:$repo PYTHONUNBUFFERED=1
cd "$repo"
python3 -c "import onnxruntime as o; print('onnxruntime', o.__version__, o.__file__, o.get_available_providers())"
nvidia-smi --query-gpu=name,driver_version,memory.used --format=csv,noheader
python3 benchmarks/ort_cuda.py --video "$here/x/butterfly.mp4" --quality-model "$here/x/quality.onnx" \
    --out "$out/ort_cuda.json" 2>&1 | tee "$out/ort_cuda.log"
