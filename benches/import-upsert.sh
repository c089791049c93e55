#!/usr/bin/env bash
# `crm-server import --upsert` of N customers into a store that already has them all, against
# the plain import of the same file into an empty store (the issue's target: at least as fast),
# the dry run, and SQLite's upsert (`INSERT ... ON CONFLICT(email) DO UPDATE`, WAL,
# synchronous=FULL) of the same file as the peer. Rows per second and ratios.
#
#   benches/import-upsert.sh            # 100,000 customers; builds crm-server in release first
#   ROWS=20000 benches/import-upsert.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-100000}
PASSWORD=bench-password
PORT=${CRM_PORT:-17391}
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

python3 - "$ROWS" "$work/customers.csv" <<'EOF'
import csv, random, sys
rows, path = int(sys.argv[1]), sys.argv[2]
random.seed(2026)
first = ["Ada", "Bo", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
last = ["King", "Lovelace", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi"]
with open(path, "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["id", "name", "email", "phone", "address", "created_at"])
    for i in range(1, rows + 1):
        a, b = random.choice(first), random.choice(last)
        phone = "+1555%07d" % random.randrange(10**7) if random.random() < 0.8 else ""
        address = "%d %s Street" % (random.randrange(1, 300), random.choice(last)) if random.random() < 0.9 else ""
        out.writerow([i, f"{a} {b}", f"{a}.{b}{i}@example.com".lower(), phone, address, "2025-06-01"])
EOF

CRM_ADMIN_PASSWORD=$PASSWORD CRM_LOG=warn "$server" serve --data "$work/data" --listen "127.0.0.1:$PORT" \
  --key-file "$work/key" >"$work/crm.out" 2>"$work/crm.err" &
crm_pid=$!
for _ in $(seq 100); do
  [ "$(printf 'PING\r\n' | timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; head -c 7 <&3" 2>/dev/null)" = $'+PONG\r\n' ] && break
  sleep 0.1
done

seconds() { # the wall time of a command, in seconds, its output to $work/last.out
  local start end
  start=$(date +%s.%N)
  "$@" >"$work/last.out"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
run_import() {
  CRM_PASSWORD=$PASSWORD "$server" import --connect "127.0.0.1:$PORT" --user admin "$@" customers "$work/customers.csv"
}

plain=$(seconds run_import)
plain_json=$(tail -n 1 "$work/last.out")
upsert=$(seconds run_import --upsert)
upsert_json=$(tail -n 1 "$work/last.out")
dry=$(seconds run_import --upsert --dry-run)

sqlite_db="$work/peer.db"
sqlite3 "$sqlite_db" "PRAGMA journal_mode=WAL;" >/dev/null
sqlite3 "$sqlite_db" "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, phone TEXT, address TEXT, created_at TEXT);"
cat >"$work/peer.sql" <<EOF
.mode csv
.import $work/customers.csv staging
PRAGMA synchronous=FULL;
INSERT INTO customers SELECT id, name, email, NULLIF(phone, ''), NULLIF(address, ''), created_at
  FROM staging WHERE true
  ON CONFLICT(email) DO UPDATE SET name=excluded.name, phone=excluded.phone, address=excluded.address
  WHERE customers.name IS NOT excluded.name OR customers.phone IS NOT excluded.phone
     OR customers.address IS NOT excluded.address;
DROP TABLE staging;
EOF
peer() { sqlite3 "$sqlite_db" <"$work/peer.sql"; }
peer_first=$(seconds peer)
peer_again=$(seconds peer)

rate() { echo "$ROWS / $1" | bc -l | xargs printf '%.0f'; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
echo "plain import report:  $plain_json"
echo "upsert import report: $upsert_json"
echo
echo "| $ROWS customers | rows/s | vs plain import |"
echo "| --- | ---: | ---: |"
echo "| crm import (empty store) | $(rate "$plain") | 1.00x |"
echo "| crm import --upsert (store has them all) | $(rate "$upsert") | $(ratio "$plain" "$upsert")x |"
echo "| crm import --upsert --dry-run | $(rate "$dry") | $(ratio "$plain" "$dry")x |"
echo "| SQLite upsert, empty table (one transaction) | $(rate "$peer_first") | $(ratio "$plain" "$peer_first")x |"
echo "| SQLite upsert, table has them all | $(rate "$peer_again") | $(ratio "$plain" "$peer_again")x |"
