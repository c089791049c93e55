#!/usr/bin/env python3
# Usage: feed-readers.py PORT ADMIN_PASSWORD SERVER_PID [READERS] [READ_KIB_PER_S] [SECONDS]
"""Slow readers of the whole change feed (`XRANGE crm:changes - +`) against one running
crm-server: the server's resident memory above idle while they read, and other clients' PING
latency meanwhile (PROTOCOL.md, Framing: a large reply is produced in pieces as the client
reads, and building it never delays another client's PING by more than 100 ms)."""
import socket, statistics, sys, threading, time

port = int(sys.argv[1]); password = sys.argv[2]; pid = int(sys.argv[3])
readers = int(sys.argv[4]) if len(sys.argv) > 4 else 10
rate = int(sys.argv[5]) if len(sys.argv) > 5 else 512
seconds = float(sys.argv[6]) if len(sys.argv) > 6 else 30.0


def rss_kib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def login():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"AUTH admin {password}\r\n".encode())
    assert s.recv(100).startswith(b"+OK")
    return s


stop = time.monotonic() + seconds
received = [0] * readers


def slow_reader(k):
    s = login()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.sendall(b"XRANGE crm:changes - +\r\n")
    step = max(1, rate * 1024 // 10)
    while time.monotonic() < stop:
        data = s.recv(step)
        if not data:
            break
        received[k] += len(data)
        time.sleep(0.1)
    s.close()


idle = rss_kib()
latencies = []


def pinger():
    s = login()
    while time.monotonic() < stop:
        sent = time.perf_counter()
        s.sendall(b"PING\r\n")
        assert s.recv(100) == b"+PONG\r\n"
        latencies.append((time.perf_counter() - sent) * 1000)
        time.sleep(0.05)


threads = [threading.Thread(target=slow_reader, args=(k,)) for k in range(readers)]
threads.append(threading.Thread(target=pinger))
for t in threads:
    t.start()
peak = idle
while time.monotonic() < stop:
    peak = max(peak, rss_kib())
    time.sleep(0.1)
for t in threads:
    t.join()
latencies.sort()
p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan")
print(
    f"readers={readers} read_kib_per_s={rate} seconds={seconds:.0f} "
    f"idle_rss_mib={idle / 1024:.1f} peak_rss_mib={peak / 1024:.1f} "
    f"above_idle_mib={(peak - idle) / 1024:.1f} "
    f"received_mib={sum(received) / 1048576:.1f} "
    f"ping_n={len(latencies)} ping_p50_ms={statistics.median(latencies):.2f} "
    f"ping_p99_ms={p99:.2f} ping_max_ms={latencies[-1]:.2f}"
)
