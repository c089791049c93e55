#!/usr/bin/env bash
# Over the wire, side by side: crm-server and redis-server on loopback with the same password,
# 100,000 customers (and 100,000 keys), the same redis-benchmark command lines against both,
# and the ratios. Needs redis-server and redis-benchmark (apt-get install redis-server redis-tools).
#
#   benches/server-load.sh            # builds crm-server in release first
#   REQUESTS=50000 benches/server-load.sh
#   ROUNDS=5 benches/server-load.sh   # runs per pair, alternating (default 3); medians are compared
#   SERVE_ARGS="--record-cache-mib 0" benches/server-load.sh   # crm-server options
#   DURABLE_REQUESTS=500000 benches/server-load.sh   # writes per durable run (default 500,000)
#   ONLY_DURABLE=1 benches/server-load.sh             # the durable writes only
#
# Durable writes are compared with a second redis-server, `--appendonly yes --appendfsync always`:
# it fsyncs before it answers and shares each fsync among the clients of one loop turn, as our
# group commit does. Each durable run is sustained (DURABLE_REQUESTS writes), not a burst.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=${REQUESTS:-200000}
ROUNDS=${ROUNDS:-3}
PASSWORD=bench-password
CRM_PORT=${CRM_PORT:-17379}
REDIS_PORT=${REDIS_PORT:-17380}
REDIS_AOF_PORT=${REDIS_AOF_PORT:-17381}
DURABLE_REQUESTS=${DURABLE_REQUESTS:-500000}
work=$(mktemp -d)
cleanup() {
  [ -n "${crm_pid:-}" ] && kill "$crm_pid" 2>/dev/null || true
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true
  [ -n "${redis_aof_pid:-}" ] && kill "$redis_aof_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
  echo "needs redis-server and redis-benchmark: apt-get install redis-server redis-tools" >&2
  exit 1
}
cargo build --release -q -p crm-server
server=target/release/crm-server
"$server" keygen "$work/key" >/dev/null

# shellcheck disable=SC2086
CRM_ADMIN_PASSWORD=$PASSWORD CRM_LOG=warn "$server" serve --data "$work/data" --listen "127.0.0.1:$CRM_PORT" \
  --key-file "$work/key" --max-connections 4096 ${SERVE_ARGS:-} >"$work/crm.out" 2>"$work/crm.err" &
crm_pid=$!
redis-server --port "$REDIS_PORT" --requirepass "$PASSWORD" --save '' --appendonly no --daemonize no \
  >"$work/redis.log" 2>&1 &
redis_pid=$!
mkdir -p "$work/aof"
redis-server --port "$REDIS_AOF_PORT" --requirepass "$PASSWORD" --save '' --appendonly yes \
  --appendfsync always --dir "$work/aof" --daemonize no >"$work/redis-aof.log" 2>&1 &
redis_aof_pid=$!
for _ in $(seq 1 100); do
  redis-cli -p "$CRM_PORT" ping >/dev/null 2>&1 && redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 \
    && redis-cli -p "$REDIS_AOF_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done

echo "loading 100,000 customers into crm-server and 100,000 keys into redis-server..."
awk 'BEGIN { print "id,name,email,phone,address,created_at";
             for (i = 1; i <= 100000; i++)
               printf "%d,Customer %d,customer%d@example.com,+1555%07d,%d Main Street,2026-01-01T00:00:00Z\n", i, i, i, i, i }' \
  >"$work/customers.csv"
CRM_PASSWORD=$PASSWORD "$server" import --connect "127.0.0.1:$CRM_PORT" --user admin customers "$work/customers.csv" | sed -n 1p
redis-cli -p "$CRM_PORT" -a "$PASSWORD" --no-auth-warning product.add name Pen price 1.25 stock 0 >/dev/null
redis-cli -p "$CRM_PORT" -a "$PASSWORD" --no-auth-warning customer.get 000000012345 >/dev/null
awk 'BEGIN { for (i = 0; i < 100000; i++)
               printf "SET key:%012d \"{\\\"id\\\":%d,\\\"name\\\":\\\"Customer %d\\\",\\\"email\\\":\\\"customer%d@example.com\\\",\\\"phone\\\":\\\"+1555%07d\\\",\\\"address\\\":\\\"%d Main Street\\\",\\\"created_at\\\":\\\"2026-01-01T00:00:00Z\\\"}\"\n", i, i, i, i, i, i }' \
  | redis-cli -p "$REDIS_PORT" -a "$PASSWORD" --no-auth-warning >/dev/null

rps() { # port, extra args... → requests per second of the one test run
  local port=$1; shift
  redis-benchmark -p "$port" -a "$PASSWORD" -n "${N:-$REQUESTS}" -q "$@" 2>/dev/null | tr '\r' '\n' | grep -v '^ *$' | tail -1 \
    | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/'
}

printf '\n| %-44s | %12s | %12s | %6s |\n' "redis-benchmark (-n $REQUESTS, median of $ROUNDS)" "crm-server" "redis-server" "ratio"
printf '|%s|%s|%s|%s|\n' "----------------------------------------------" "--------------" "--------------" "--------"
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
compare() { # label, crm args, redis args[, redis port]: ROUNDS alternating runs each, medians compared
  local label=$1 crm_args=$2 redis_args=$3 peer=${4:-$REDIS_PORT} ours="" theirs="" round
  for round in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2086
    ours="$ours $(rps "$CRM_PORT" $crm_args)"
    # shellcheck disable=SC2086
    theirs="$theirs $(rps "$peer" $redis_args)"
  done
  ours=$(echo $ours | tr ' ' '\n' | median)
  theirs=$(echo $theirs | tr ' ' '\n' | median)
  printf '| %-44s | %12s | %12s | %5.0f%% |\n' "$label" "$ours" "$theirs" "$(echo "$ours * 100 / $theirs" | bc -l)"
}
for mode in "-c 50" "-c 50 -P 16"; do
  [ -n "${ONLY_DURABLE:-}" ] && break
  compare "PING_INLINE ($mode)" "$mode -t ping_inline" "$mode -t ping_inline"
  compare "PING_MBULK ($mode)" "$mode -t ping_mbulk" "$mode -t ping_mbulk"
  compare "CUSTOMER.GET vs GET, 100k keys ($mode)" "$mode -r 100000 CUSTOMER.GET __rand_int__" "$mode -r 100000 GET key:__rand_int__"
  compare "ORDER.ADD NOSTOCK (sync) vs SET ($mode)" "$mode ORDER.ADD CUSTOMER 1 PRODUCT 1 QUANTITY 1 NOSTOCK" "$mode -r 100000 SET key:__rand_int__ v"
done
echo
echo "durable writes, $DURABLE_REQUESTS each, against redis-server --appendonly yes --appendfsync always:"
printf '\n| %-44s | %12s | %12s | %6s |\n' "redis-benchmark (-n $DURABLE_REQUESTS, median of $ROUNDS)" "crm-server" "redis AOF" "ratio"
printf '|%s|%s|%s|%s|\n' "----------------------------------------------" "--------------" "--------------" "--------"
for mode in "-c 50" "-c 50 -P 16"; do
  N=$DURABLE_REQUESTS compare "ORDER.ADD NOSTOCK vs SET ($mode)" "$mode ORDER.ADD CUSTOMER 1 PRODUCT 1 QUANTITY 1 NOSTOCK" \
    "$mode -r 100000000000 SET order:__rand_int__ customer=1,product=1,quantity=1" "$REDIS_AOF_PORT"
  # Random e-mails from two random numbers: with one, 500,000 adds drawn from 10^11 repeat an
  # address about once, and redis-benchmark stops at the first error reply (CONFLICT).
  N=$DURABLE_REQUESTS compare "CUSTOMER.ADD vs SET ($mode)" "$mode -r 100000000000 CUSTOMER.ADD NAME Bench EMAIL b__rand_int__.__rand_int__@example.com" \
    "$mode -r 100000000000 SET customer:__rand_int__ name=Bench,email=b@example.com" "$REDIS_AOF_PORT"
done
echo
echo "crm-server resident memory: $(awk '/VmRSS/ {print $2/1024 " MiB"}' /proc/$crm_pid/status)"
