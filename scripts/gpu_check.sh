#!/usr/bin/env bash
# The GPU check, one command from a plain checkout (see scripts/gpu_check.py and the README's GPU section):
#   bash scripts/gpu_check.sh                 writes runs/gpu/gpu_check.{log,json,png}
#   OUT=/some/folder bash scripts/gpu_check.sh
# Uses PYTHONPATH=. and the first python3 on PATH, installs nothing, and stops within 4 minutes.
# Exit status: python's (0 done, also "no CUDA device"; 1 a needed module cannot be imported;
# 3 a torch measurement failed), or 124 when the 235 s limit stopped it.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$ROOT/runs/gpu}"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)" || { echo "gpu_check: cannot make the output folder $OUT" >&2; exit 2; }
LOG="$OUT/gpu_check.log"
JSON="$OUT/gpu_check.json"
rm -f "$JSON"
cd "$ROOT"
if ! PY="$(command -v python3)"; then
    echo "gpu_check: no python3 on PATH; expected the machine's Python 3 with torch" | tee "$LOG" >&2
    printf '{"check": "scripts/gpu_check.sh", "status": "failed: no python3 on PATH"}\n' > "$JSON"
    exit 1
fi
echo "gpu_check: $PY, repository $ROOT, output $OUT" | tee "$LOG" >&2
export PYTHONPATH=. PYTHONUNBUFFERED=1
timeout -k 5 235 "$PY" scripts/gpu_check.py --out "$OUT" "$@" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "gpu_check: stopped at the 235 s limit (exit $rc); $JSON keeps what was measured" | tee -a "$LOG" >&2
fi
if [ ! -s "$JSON" ]; then
    printf '{"check": "scripts/gpu_check.sh", "status": "failed before any figure (exit %s): see gpu_check.log"}\n' "$rc" > "$JSON"
fi
exit "$rc"
