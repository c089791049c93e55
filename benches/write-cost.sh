#!/usr/bin/env bash
# Durable ORDER.ADD ... NOSTOCK over the wire for two crm-server binaries, alternating runs on
# fresh stores (for a before/after figure such as the journal's cost), with redis-benchmark
# -c 50 and -c 50 -P 16. Needs redis-benchmark (apt-get install redis-tools).
#
#   benches/write-cost.sh OLD_BINARY NEW_BINARY       # e.g. a build of the commit before a change
#   ROUNDS=5 REQUESTS=50000 benches/write-cost.sh A B
set -euo pipefail
old=$1 new=$2
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-30000}
PASSWORD=bench-password
PORT=${CRM_PORT:-17395}
work=$(mktemp -d)
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

run() { # binary extra-args... -> orders per second
  local binary=$1; shift
  rm -rf "$work/data"; "$binary" keygen "$work/key.$$" >/dev/null 2>&1 || true
  CRM_ADMIN_PASSWORD=$PASSWORD CRM_LOG=warn "$binary" serve --data "$work/data" --listen "127.0.0.1:$PORT" \
    --key-file "$work/key.$$" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    redis-cli -p "$PORT" PING 2>/dev/null | grep -q PONG && break
    sleep 0.1
  done
  redis-cli -p "$PORT" --user admin --pass "$PASSWORD" CUSTOMER.ADD NAME Bench EMAIL bench@x.io >/dev/null 2>&1
  redis-cli -p "$PORT" --user admin --pass "$PASSWORD" PRODUCT.ADD NAME Pen PRICE 1.00 STOCK 0 >/dev/null 2>&1
  redis-benchmark -p "$PORT" --user admin -a "$PASSWORD" -n "$REQUESTS" -c 50 "$@" -q \
    ORDER.ADD CUSTOMER 1 PRODUCT 1 QUANTITY 1 NOSTOCK 2>/dev/null |
    tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for mode in "" "-P 16"; do
  a=(); b=()
  for _ in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    a+=("$(run "$old" $mode)")
    # shellcheck disable=SC2086
    b+=("$(run "$new" $mode)")
  done
  ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
  echo "| -c 50 ${mode:-(no pipeline)} | old ${a[*]} (median $ma) | new ${b[*]} (median $mb) | $(echo "$mb / $ma" | bc -l | xargs printf '%.3f')x |"
done
