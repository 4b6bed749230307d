#!/usr/bin/env bash
# The APIs attacked by machines: schemathesis (PyPI) against every service's
# openapi.json on a running `casework up`, with a token holding every role
# and scope, a Purpose header, and every check. `.ci/run` runs it after the
# tests; `make api-fuzz` runs it on its own.
#
# The imports (Investigate's and Identify's) take NDJSON, which schemathesis cannot generate: they
# are left out here and tested by the end-to-end import tests instead.
#
# Reproducible: a fixed seed and a fixed number of examples per operation.
# Failures accepted for now are listed, with why, in
# tests/schemathesis-baseline.json (`--baseline`): a new failure fails the
# run; a fixed one can be pruned with `--baseline-prune`.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES="${API_FUZZ_EXAMPLES:-40}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET_DIR/debug/casework"

if ! command -v schemathesis >/dev/null 2>&1 ||
  [ "$(schemathesis --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi
[ -x "$BIN" ] || cargo build ${CARGOFLAGS:-} -p casework

data=$(mktemp -d)
log="$data/casework.log"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT

# A port nobody listens on, below the kernel's ephemeral range (32768 up):
# a port in that range can be taken by any outgoing connection between
# choosing it and binding it, which failed a CI run once.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# Start the platform; a start that fails (a port taken after all) is tried
# again on other ports, twice, and the third failure shows its log.
for attempt in 1 2 3; do
  port=$(free_port)
  broker=$(free_port)
  [ "$broker" = "$port" ] && continue
  rm -rf "${data:?}"/* && : >"$log"
  # Limits off: the fuzzer sends hundreds of requests a minute from one address.
  CASEWORK__HTTP__PUBLIC_REQUESTS_PER_MINUTE=0 CASEWORK__AUTH__CLIENT_REQUESTS_PER_MINUTE=0 \
    "$BIN" up --data-dir "$data" --listen "127.0.0.1:$port" --broker-listen "127.0.0.1:$broker" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  echo "api-fuzz: the platform did not start on ports $port/$broker (attempt $attempt)"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  pid=
  if [ "$attempt" = 3 ]; then tail -n 50 "$log"; exit 1; fi
done

token=$("$BIN" token --data-dir "$data" --sub api-fuzz \
  --role caseworker --role senior-caseworker --role officer --role auditor --role admin \
  --scope records-import --scope identity-check --scope hmpo)

status=0
for service in register identify investigate decide enforce fulfil communicate; do
  echo "api-fuzz: $service"
  schemathesis run "http://127.0.0.1:$port/api/$service/openapi.json" \
    --url "http://127.0.0.1:$port/api/$service" \
    -H "Authorization: Bearer $token" -H "Purpose: api-fuzz" \
    --checks all --seed 1 --max-examples "$EXAMPLES" --workers 1 \
    --suppress-health-check all \
    --exclude-path-regex '^/v1/imports/' \
    --baseline tests/schemathesis-baseline.json ${API_FUZZ_ARGS:-} || status=1
done
if [ "$status" -ne 0 ]; then
  echo "api-fuzz: new failures (see above); the platform's log: $log"
  tail -n 50 "$log"
fi
exit "$status"
