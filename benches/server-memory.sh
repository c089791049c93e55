#!/usr/bin/env bash
# Resident memory of crm-server holding 1,000,000 orders (100,000 customers, 1,000 products)
# while it serves reads and full-scan analytics. The store is filled once (`serve --demo
# --demo-orders`), the server is restarted on it (so the load itself does not count), then
# redis-benchmark reads random customers and order lists and the analyst commands scan every
# order; VmRSS (now) and VmHWM (peak) come from /proc. Needs redis-tools.
#
#   benches/server-memory.sh                  # 1,000,000 orders (the load takes minutes)
#   ORDERS=100000 benches/server-memory.sh
#   DATA=/tmp/crm-1m benches/server-memory.sh  # keep the filled store there and reuse it next time
#   SERVE_ARGS="--cache-mib 64" benches/server-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ORDERS=${ORDERS:-1000000}
PORT=${CRM_PORT:-17381}
PASSWORD=bench-password
work=$(mktemp -d)
store=${DATA:-$work/store}
mkdir -p "$store"
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
command -v redis-benchmark >/dev/null || { echo "needs redis-tools" >&2; exit 1; }
cargo build --release -q -p crm-server
server=target/release/crm-server
[ -f "$store/key" ] || "$server" keygen "$store/key" >/dev/null

start() { # extra serve arguments...
  CRM_ADMIN_PASSWORD=$PASSWORD CRM_LOG=warn "$server" serve --data "$store/data" --listen "127.0.0.1:$PORT" \
    --key-file "$store/key" "$@" >>"$work/out" 2>>"$work/err" &
  pid=$!
  until redis-cli -p "$PORT" ping >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/err" >&2; exit 1; }
    sleep 1
  done
}
memory() { # label
  printf '%-44s VmRSS %6d MiB   VmHWM %6d MiB\n' "$1" \
    $(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 )) \
    $(( $(awk '/VmHWM/ {print $2}' "/proc/$pid/status") / 1024 ))
}
cli() { redis-cli -p "$PORT" -a "$PASSWORD" --no-auth-warning "$@"; }

if [ ! -d "$store/data" ]; then
  echo "filling a store with $ORDERS demo orders..."
  started=$(date +%s)
  start --demo --demo-orders "$ORDERS"
  echo "loaded in $(( $(date +%s) - started )) s; on disk $(du -sm "$store/data" | cut -f1) MiB"
  kill -TERM "$pid"; wait "$pid" || true
fi

# shellcheck disable=SC2086
start ${SERVE_ARGS:-}
memory "restarted on the full store"
customers=$(( ORDERS / 10 ))
redis-benchmark -p "$PORT" -a "$PASSWORD" -n 200000 -c 50 -r "$customers" -q CUSTOMER.GET __rand_int__ 2>/dev/null \
  | tr '\r' '\n' | grep -v '^ *$' | tail -1
memory "after 200,000 random CUSTOMER.GET"
redis-benchmark -p "$PORT" -a "$PASSWORD" -n 50000 -c 50 -r "$customers" -q ORDER.LIST CUSTOMER __rand_int__ 2>/dev/null \
  | tr '\r' '\n' | grep -v '^ *$' | tail -1
memory "after 50,000 random ORDER.LIST CUSTOMER"
for command in "STATS.CUSTOMERS BY TOTAL LIMIT 10" "STATS.PRODUCTS" "STATS.MONTHLY" "STATS.RFM" \
               "STATS.CLUSTERS K 4" "STATS.ANOMALIES" "STATS.FORECAST" "STATS.CHURN"; do
  begin=$(date +%s%N)
  # shellcheck disable=SC2086
  cli $command >/dev/null
  printf '%-44s %6d ms\n' "$command" $(( ($(date +%s%N) - begin) / 1000000 ))
done
memory "after every STATS command"
