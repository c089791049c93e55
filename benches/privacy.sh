#!/usr/bin/env bash
# Privacy costs on a release crm-server (loopback): pipelined CUSTOMER.GET for a masked user
# against an unmasked one of the same role (the masking's cost; target at most 5%), and
# CUSTOMER.FORGET of customers with 1,000 orders each (target under 100 ms), and `rekey` of the
# store afterwards (target under a minute for 100,000 customers: it re-wraps two keys).
# Needs redis-benchmark (apt-get install redis-tools) and redis-py.
#
#   benches/privacy.sh                  # 100,000 customers
#   CUSTOMERS=20000 ROUNDS=5 benches/privacy.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CUSTOMERS=${CUSTOMERS:-100000}
ROUNDS=${ROUNDS:-3}
REQUESTS=${REQUESTS:-200000}
PASSWORD=bench-password
PORT=${CRM_PORT:-17393}
work=$(mktemp -d)
cleanup() {
  [ -n "${crm_pid:-}" ] && kill "$crm_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p crm-server
server=target/release/crm-server
"$server" keygen "$work/key" >/dev/null
start_server() {
  CRM_ADMIN_PASSWORD=$PASSWORD CRM_LOG=warn "$server" serve --data "$work/data" --listen "127.0.0.1:$PORT" \
    --key-file "$work/key" >"$work/crm.out" 2>"$work/crm.err" &
  crm_pid=$!
  python3 - "$PORT" <<'EOF'
import socket, sys, time
for _ in range(200):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
        s.sendall(b"PING\r\n")
        if s.recv(7) == b"+PONG\r\n":
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit("server not ready")
EOF
}
start_server

python3 - "$PORT" "$PASSWORD" "$CUSTOMERS" >"$work/forget.txt" <<'EOF'
import redis, statistics, sys, time
port, pw, customers = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
r = redis.Redis(port=port, username="admin", password=pw)
r.execute_command("USER.ADD", "plain", "pw-plain", "ROLE", "writer")
r.execute_command("USER.ADD", "masked", "pw-masked", "ROLE", "writer", "MASKED")
pipe = r.pipeline(transaction=False)
for i in range(1, customers + 1):
    pipe.execute_command("CUSTOMER.ADD", "NAME", f"Person {i}", "EMAIL", f"person{i}@example.com",
                         "PHONE", f"+1555{i:07d}", "ADDRESS", f"{i} Long Street")
    if i % 2000 == 0:
        pipe.execute()
pipe.execute()
product = r.execute_command("PRODUCT.ADD", "NAME", "Pen", "PRICE", "1.00", "STOCK", "10")
times = []
for victim in range(1, 11):
    pipe = r.pipeline(transaction=False)
    for _ in range(1000):
        pipe.execute_command("ORDER.ADD", "CUSTOMER", victim, "PRODUCT", product, "QUANTITY", 1, "NOSTOCK")
    pipe.execute()
    started = time.perf_counter()
    r.execute_command("CUSTOMER.FORGET", victim)
    times.append((time.perf_counter() - started) * 1000)
print(f"forget_median_ms={statistics.median(times):.1f} forget_max_ms={max(times):.1f}")
EOF

bench() { # user password -> requests per second of pipelined CUSTOMER.GET
  redis-benchmark -p "$PORT" --user "$1" -a "$2" -n "$REQUESTS" -c 50 -P 16 -r "$CUSTOMERS" -q \
    CUSTOMER.GET __rand_int__ 2>/dev/null | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1
}
plain=(); masked=()
for _ in $(seq "$ROUNDS"); do
  plain+=("$(bench plain pw-plain)")
  masked+=("$(bench masked pw-masked)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
plain_median=$(median "${plain[@]}")
masked_median=$(median "${masked[@]}")

kill "$crm_pid"; wait "$crm_pid" 2>/dev/null || true; crm_pid=
"$server" keygen "$work/key2" >/dev/null
rekey_start=$(date +%s.%N)
"$server" rekey --data "$work/data" --key-file "$work/key" --new-key-file "$work/key2" >/dev/null 2>&1
rekey_s=$(echo "$(date +%s.%N) - $rekey_start" | bc -l)

echo "| $CUSTOMERS customers | figure |"
echo "| --- | ---: |"
echo "| CUSTOMER.GET -P 16 -c 50, unmasked writer (median of $ROUNDS: ${plain[*]}) | $plain_median/s |"
echo "| CUSTOMER.GET -P 16 -c 50, masked writer (median of $ROUNDS: ${masked[*]}) | $masked_median/s |"
echo "| masked / unmasked | $(echo "$masked_median / $plain_median" | bc -l | xargs printf '%.3f')x |"
echo "| CUSTOMER.FORGET of a customer with 1,000 orders | $(cut -d' ' -f1 "$work/forget.txt" | cut -d= -f2) ms median, $(cut -d' ' -f2 "$work/forget.txt" | cut -d= -f2) ms max (10 customers) |"
echo "| crm-server rekey of the store | $(printf '%.2f' "$rekey_s") s |"
