#!/usr/bin/env bash
# Runs the client examples (.ci/clients/apollo.mjs, then gql_example.py and open311_example.py) against a
# live `gridgov serve --demo` on a free port with a fresh SQLite database. Called by .ci/run after
# `cargo build -p gridgov`; run it by hand the same way: `bash .ci/clients/run.sh [CHECK…]`
# (CHECK names are apollo.mjs's: unauthenticated apq pagination subscription; with any CHECK
# the Python examples are left out).
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN="${GRIDGOV_BIN:-target/debug/gridgov}"
[ -x "$BIN" ] || { echo "no $BIN: run cargo build -p gridgov first" >&2; exit 1; }

(cd .ci/clients && npm ci --no-audit --no-fund --silent)

WORK="$(mktemp -d)"
export DATABASE_URL="sqlite://$WORK/clients.db?mode=rwc"
# A free port: bind port 0, read what the kernel gave, release it for the server.
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
  || node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
ADDR="127.0.0.1:$PORT"

# The key first (it migrates the empty database), then the server, which seeds the demo data.
KEY="$("$BIN" apikey create --name "apollo client example" --role ADMIN --scope pii:read 2>/dev/null | sed -n 's/^key: *//p')"
[ -n "$KEY" ] || { echo "apikey create printed no key" >&2; exit 1; }

"$BIN" serve --listen "$ADDR" --demo >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
stop() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}
trap stop EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.5
done
if ! curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1; then
  echo "gridgov did not start:" >&2
  cat "$WORK/server.log" >&2
  exit 1
fi

status=0
node .ci/clients/apollo.mjs "http://$ADDR/graphql" "$KEY" "$@" || status=$?

if [ "$#" -eq 0 ]; then
  echo "== Python gql example"
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check -r .ci/clients/requirements.txt
  "$WORK/venv/bin/python" .ci/clients/gql_example.py "http://$ADDR/graphql" "$KEY" || status=$?
  echo "== Open311 GeoReport v2 example (georeport, requests)"
  "$WORK/venv/bin/python" .ci/clients/open311_example.py "http://$ADDR/graphql" "$KEY" || status=$?
fi

if [ "$status" -ne 0 ]; then
  echo "---- server log" >&2
  grep -v "Demo ADMIN key\\|\"Authorization\"" "$WORK/server.log" | tail -n 50 >&2
fi
exit "$status"
