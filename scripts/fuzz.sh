#!/usr/bin/env bash
# Fuzzes every served OpenAPI document with schemathesis: positive and
# negative data, FUZZ_EXAMPLES (default 500) examples per operation, checking
# for server errors and for status-code, content-type and response-schema
# conformance. Uses schemathesis from the project's Python environment (.venv,
# made by scripts/python-env.sh), starts the service the way users do on a temporary data
# folder, and stops it afterwards. Exit code 0 when every door passes.
set -euo pipefail
cd "$(dirname "$0")/.."

EXAMPLES="${FUZZ_EXAMPLES:-500}"
VENV=".venv"

# schemathesis comes with the project's Python environment (pinned in python/requirements.txt).
bash scripts/python-env.sh

DATA_DIR="$(mktemp -d)"
LOG="$DATA_DIR/service.log"
cleanup() {
  [ -n "${SERVICE_PID:-}" ] && kill -TERM "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null || true
  rm -rf "$DATA_DIR"
}
trap cleanup EXIT

# The fuzzer sends thousands of requests with one key: no rate limit here.
DATA_DIR="$DATA_DIR" PORT=0 RATE_LIMIT_PER_MINUTE=0 LOG_LEVEL=warn LOG_FORMAT=json \
  node --import tsx src/main.ts >"$LOG" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 1 300); do
  grep -q "Dev API key" "$LOG" && break
  kill -0 "$SERVICE_PID" 2>/dev/null || { cat "$LOG"; exit 1; }
  sleep 0.5
done
BASE="$(grep -oE 'ready on http://[0-9.]+:[0-9]+' "$LOG" | head -1 | cut -d' ' -f3)"
KEY="$(cat "$DATA_DIR/dev-api-key")"
echo "fuzzing $BASE with $EXAMPLES examples per operation"

CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection"
failed=()
# Every door in the registry (src/rest/doors.ts), with the header its document declares first.
TARGETS="$(FUZZ_KEY="$KEY" node --import tsx scripts/fuzz-targets.ts)"
[ -n "$TARGETS" ] || { echo "no doors to fuzz: scripts/fuzz-targets.ts printed nothing"; exit 1; }
while IFS=$'\t' read -r door header; do
  echo "== $door: $BASE/openapi/$door.json"
  if ! "$VENV/bin/st" run "$BASE/openapi/$door.json" --header "$header" \
      --mode all --max-examples "$EXAMPLES" --workers 2 --checks "$CHECKS" \
      --request-timeout 10 --no-color --output-sanitize true </dev/null; then
    failed+=("$door")
  fi
done <<<"$TARGETS"

if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
  echo "the service died during fuzzing:"; tail -50 "$LOG"; exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found failures in: ${failed[*]}"; exit 1
fi
echo "fuzzing passed: every door, no server error, conforming statuses and bodies"
