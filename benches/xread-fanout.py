#!/usr/bin/env python3
# Usage: xread-fanout.py PORT ADMIN_PASSWORD READERS ROUNDS (a running crm-server, redis-py).
"""One measured blocked XREAD among N-1 other blocked raw connections: wake delay after the ack."""
import socket, sys, time, statistics, redis
port = int(sys.argv[1]); pw = sys.argv[2]; n = int(sys.argv[3]); rounds = int(sys.argv[4])
others = []
for _ in range(n - 1):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"AUTH admin {pw}\r\n".encode()); s.recv(100)
    others.append(s)
me = redis.Redis(port=port, username="admin", password=pw)
w = redis.Redis(port=port, username="admin", password=pw)
import threading
delays = []
for k in range(rounds):
    for s in others:
        s.sendall(b"XREAD BLOCK 0 STREAMS crm:changes $\r\n")
    time.sleep(0.3)
    box = {}
    def read():
        me.xread({"crm:changes": "$"}, block=0); box["woke"] = time.perf_counter()
    t = threading.Thread(target=read); t.start(); time.sleep(0.3)
    w.execute_command("CUSTOMER.ADD", "NAME", "Lat", "EMAIL", f"l{k}-{time.time()}@x.io")
    ack = time.perf_counter(); t.join()
    delays.append((box["woke"] - ack) * 1000)
    for s in others:
        s.settimeout(5); s.recv(65536)
print(f"blocked readers={n} rounds={rounds} median_ms={statistics.median(delays):.2f} max_ms={max(delays):.2f}")
