#!/usr/bin/env python3
"""A cluster of crm-server nodes on etcd (issue 33, Benchmarks), in one run on this machine:

1. durable `ORDER.ADD ... NOSTOCK` with redis-benchmark (-c 50, and -c 50 -P 16) against the
   leader of a 3-node cluster on 3 etcd members and against a single node (no --cluster, sync
   durability), alternating, ROUNDS runs each of REQUESTS writes (4x as many with -P 16):
   requests/s (medians) and the ratio;
2. the followers' `lag_ms` (INFO) sampled every ~25 ms during those cluster runs: p50/p99/max;
3. KILLS kill -9 of the leader under WRITERS steady writer clients: time from the kill to the
   first acknowledged write on another node (median, max); the killed node is restarted on its
   own folder and caught up before the next kill; afterwards every acknowledged order is read
   back on every node;
4. a node joining empty a cluster whose store holds JOIN_ORDERS orders (`serve --demo` on its
   first node, then ORDER.ADD over the wire; JOIN_FILL=demo: all from `--demo-orders N`): time
   from its start to serving reads.

    benches/cluster-bench.py                   # builds crm-server in release first
    REQUESTS=50000 ROUNDS=1 KILLS=3 JOIN_ORDERS=100000 benches/cluster-bench.py   # quicker
    PARTS=failover,join benches/cluster-bench.py   # some of: throughput,failover,join
    LEASE_TTL=5 WRITERS=4 KEEP=1 benches/cluster-bench.py  # KEEP=1 keeps the folders and logs
    JOIN_FILL=demo benches/cluster-bench.py  # the join's orders from --demo-orders (see below)

Needs etcd (3.4+, `apt-get install etcd-server`), redis-benchmark (redis-tools) and Python 3.
Every process it starts runs on loopback, on free ports (never 2379/2380), in one temporary
folder (WORK_DIR to choose where: etcd's and the stores' files need a few GiB for JOIN_ORDERS
1,000,000), and is killed at the end.
"""
import json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUESTS = int(os.environ.get("REQUESTS", "100000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
KILLS = int(os.environ.get("KILLS", "10"))
WRITERS = int(os.environ.get("WRITERS", "4"))
LEASE_TTL = int(os.environ.get("LEASE_TTL", "5"))
JOIN_ORDERS = int(os.environ.get("JOIN_ORDERS", "1000000"))
PASSWORD = "bench-password"
ORDER = ["ORDER.ADD", "CUSTOMER", "1", "PRODUCT", "1", "QUANTITY", "1", "NOSTOCK"]
SERVER = os.path.join(ROOT, "target", "release", "crm-server")
processes = []  # every Popen started, killed at exit


def log(message):
    print(f"[{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}] {message}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReplyError(Exception):
    """An error reply (`-READONLY ...`): the server answered, and refused."""


class Resp:
    """A minimal RESP2 client: one connection, no retries (every failure is seen as it is)."""

    def __init__(self, port, timeout=LEASE_TTL + 5.0, login=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        if login:
            self.call("AUTH", "admin", PASSWORD)

    def send(self, *commands):
        out = bytearray()
        for args in commands:
            out += b"*%d\r\n" % len(args)
            for a in args:
                a = str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)

    def read(self):
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise ReplyError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("connection closed")
            return data[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ConnectionError(f"unexpected reply {line!r}")

    def call(self, *args):
        self.send(args)
        return self.read()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def info(port, timeout=LEASE_TTL + 5.0):
    """INFO of the node on `port` as a dict of strings, or None when it does not answer."""
    try:
        c = Resp(port, timeout=timeout)
        try:
            text = c.call("INFO")
        finally:
            c.close()
    except (OSError, ReplyError, ConnectionError):
        return None
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def pings(port):
    try:
        c = Resp(port, timeout=2, login=False)
        try:
            return c.call("PING") == "PONG"
        finally:
            c.close()
    except (OSError, ReplyError, ConnectionError):
        return False


def wait(what, test, within, step=0.05):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        time.sleep(step)
    raise RuntimeError(f"timed out after {within} s waiting for {what}")


def spawn(args, log_path, env=None):
    logf = open(log_path, "ab")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                         env={**os.environ, **(env or {})}, start_new_session=True)
    processes.append(p)
    return p


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Etcd:
    """Three etcd members on loopback, each with its own data folder."""

    def __init__(self, work, tag):
        self.dir = os.path.join(work, f"etcd-{tag}")
        self.members = [(f"m{i}", free_port(), free_port()) for i in (1, 2, 3)]
        initial = ",".join(f"{n}=http://127.0.0.1:{peer}" for n, _, peer in self.members)
        self.procs = []
        for name, client, peer in self.members:
            self.procs.append(spawn([
                "etcd", "--name", name, "--data-dir", os.path.join(self.dir, name),
                "--listen-client-urls", f"http://127.0.0.1:{client}",
                "--advertise-client-urls", f"http://127.0.0.1:{client}",
                "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                "--initial-cluster", initial, "--initial-cluster-state", "new",
                "--initial-cluster-token", f"bench-{tag}-{os.getpid()}", "--log-level", "warn",
            ], os.path.join(work, f"etcd-{tag}-{name}.log")))
        for _, client, _ in self.members:
            wait(f"etcd on {client}", lambda c=client: self.healthy(c), 60)
        self.endpoints = ",".join(f"http://127.0.0.1:{c}" for _, c, _ in self.members)

    @staticmethod
    def healthy(port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(f"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
                answer = b""
                while chunk := s.recv(4096):
                    answer += chunk
                return b'"health":"true"' in answer
        except OSError:
            return False

    def db_size_mib(self):
        """The largest member's database file, MiB (etcd's quota counts it), or None."""
        try:
            out = subprocess.run(["etcdctl", "--endpoints", self.endpoints, "endpoint", "status", "-w", "json"],
                                 env={**os.environ, "ETCDCTL_API": "3"}, capture_output=True, text=True, timeout=10)
            return max(m["Status"]["dbSize"] for m in json.loads(out.stdout)) / 1048576
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
            return None

    def stop(self):
        for p in self.procs:
            stop(p)


class Node:
    """One crm-server: a cluster node (`cluster` set) or a single node."""

    def __init__(self, work, name, key, cluster=None, extra=()):
        self.name, self.port, self.key, self.cluster = name, free_port(), key, cluster
        self.data = os.path.join(work, name)
        self.log_path = os.path.join(work, f"{name}.log")
        self.extra = list(extra)
        self.proc = None

    def start(self):
        args = [SERVER, "serve", "--data", self.data, "--listen", f"127.0.0.1:{self.port}",
                "--key-file", self.key, "--max-connections", "4096"]
        if self.cluster:
            endpoints, cluster_name = self.cluster
            args += ["--cluster", endpoints, "--cluster-name", cluster_name, "--node", self.name,
                     "--lease-ttl", str(LEASE_TTL)]
        self.proc = spawn(args + self.extra, self.log_path, {"CRM_ADMIN_PASSWORD": PASSWORD})
        return self

    def wait_ping(self, within=120):
        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            return pings(self.port)
        wait(f"{self.name} answering PING", up, within)

    def tail(self, lines=20):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


def leader(nodes, within=60):
    """The node that leads and is ready for writes (INFO leader_ready:1)."""
    def find():
        for n in nodes:
            if n.alive():
                i = info(n.port, timeout=2)
                if i and i.get("role") == "master" and i.get("leader_ready") == "1":
                    return n
        return None
    return wait("a ready leader", find, within, 0.1)


def wait_synced(node, within=600):
    wait(f"{node.name} synced", lambda: (info(node.port, 2) or {}).get("sync_in_progress") == "0", within, 0.1)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values))) - 1))] if values else float("nan")


def requests(mode):
    """Writes per run: REQUESTS, four times as many pipelined (so that a run lasts seconds)."""
    return REQUESTS * 4 if mode else REQUESTS


def redis_benchmark(port, extra):
    args = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "--user", "admin", "-a", PASSWORD,
            "-n", str(requests(extra)), "-c", "50", *extra, "-q", *ORDER]
    out = subprocess.run(args, capture_output=True, text=True)
    text = (out.stdout + out.stderr).replace("\r", "\n")
    found = re.findall(r"([0-9.]+) requests per second", text)
    if out.returncode != 0 or not found or "Error" in text:
        raise RuntimeError(f"redis-benchmark failed: {text[-500:]}")
    return float(found[-1])


class LagSampler(threading.Thread):
    """INFO lag_ms of one follower every `period` s until stopped."""

    def __init__(self, node, period=0.025):
        super().__init__(daemon=True)
        self.node, self.period, self.samples, self.halt = node, period, [], threading.Event()

    def run(self):
        c = Resp(self.node.port)
        while not self.halt.is_set():
            started = time.monotonic()
            try:
                text = c.call("INFO")
                m = re.search(r"^lag_ms:(\d+)", text, re.M)
                if m:
                    self.samples.append(int(m.group(1)))
            except (OSError, ReplyError, ConnectionError):
                c.close()
                time.sleep(self.period)
                c = Resp(self.node.port)
            time.sleep(max(0.0, self.period - (time.monotonic() - started)))
        c.close()


def throughput(single, cluster_nodes):
    """Part 1 and 2: redis-benchmark against the single node and the cluster's leader, alternating."""
    results = {}
    for mode in ([], ["-P", "16"]):
        label = f"-c 50{' -P 16' if mode else ''}, -n {requests(mode):,}"
        ours, alone, lags = [], [], {}
        for r in range(ROUNDS):
            alone.append(redis_benchmark(single.port, mode))
            lead = leader(cluster_nodes)
            samplers = [LagSampler(n) for n in cluster_nodes if n is not lead]
            for s in samplers:
                s.start()
            ours.append(redis_benchmark(lead.port, mode))
            for s in samplers:
                s.halt.set()
                s.join()
                lags.setdefault(s.node.name, []).extend(s.samples)
            log(f"{label} round {r + 1}: single {alone[-1]:,.0f}/s, cluster {ours[-1]:,.0f}/s")
        results[label] = (statistics.median(alone), statistics.median(ours), lags, list(alone), list(ours))
    return results


class Writers:
    """WRITERS clients writing ORDER.ADD without pause; after any failure a client tries the
    next node (a refused connection, READONLY, CLUSTERDOWN, TRYAGAIN: all are seen here), so the
    first acknowledgement after a kill is the cluster's, not a client library's discovery."""

    def __init__(self, nodes):
        self.nodes, self.halt, self.lock = nodes, threading.Event(), threading.Lock()
        self.acks = []  # (monotonic time, port, order id)
        self.errors = {}
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True) for k in range(WRITERS)]
        for t in self.threads:
            t.start()

    def note(self, kind):
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def run(self, k):
        at, conn, misses = k % len(self.nodes), None, 0
        while not self.halt.is_set():
            port = self.nodes[at].port
            try:
                if conn is None:
                    conn = Resp(port)
                order = conn.call(*ORDER)
                with self.lock:
                    self.acks.append((time.monotonic(), port, order))
                misses = 0
                continue
            except ReplyError as e:
                self.note(str(e).split()[0])
            except (OSError, ConnectionError) as e:
                self.note(type(e).__name__)
            if conn is not None:
                conn.close()
                conn = None
            at = (at + 1) % len(self.nodes)
            misses += 1
            if misses % len(self.nodes) == 0:
                time.sleep(0.005)

    def first_ack_after(self, t0, not_port):
        """The time of the first acknowledgement after `t0` by a node other than `not_port`."""
        first = None
        with self.lock:
            for t, port, _ in reversed(self.acks):  # in time order: stamped under the lock
                if t <= t0:
                    break
                if port != not_port:
                    first = t
        return first

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join()


def failover(nodes):
    """Part 3: KILLS kill -9 of the leader under steady writes."""
    writers = Writers(nodes)
    times, catchups = [], []
    try:
        time.sleep(2)
        for k in range(KILLS):
            lead = leader(nodes)
            wait("writes acknowledged", lambda: writers.acks and writers.acks[-1][0] > time.monotonic() - 0.2, 30)
            t0 = time.monotonic()
            lead.proc.send_signal(signal.SIGKILL)
            lead.proc.wait()
            first = wait("the first write acknowledged by another node",
                         lambda: writers.first_ack_after(t0, lead.port), 60, 0.01)
            times.append(first - t0)
            restarted = time.monotonic()
            lead.start()
            lead.wait_ping()
            answered = time.monotonic() - restarted
            wait_synced(lead)
            synced = time.monotonic() - restarted
            now = info(leader(nodes).port)
            target = int(now["log_committed"])
            behind = target - int((info(lead.port) or {}).get("log_applied", "0"))
            wait(f"{lead.name} caught up", lambda: int((info(lead.port, 2) or {}).get("log_applied", "0")) >= target, 300, 0.1)
            catchups.append(time.monotonic() - restarted)
            log(f"kill {k + 1}: {lead.name} killed, a write acknowledged by another node after {times[-1]:.2f} s;"
                f" restarted: PING after {answered:.1f} s, sync_in_progress:0 after {synced:.1f} s, then"
                f" {behind} entries behind the leader's {target}, applied them by {catchups[-1]:.1f} s")
            time.sleep(2)
    finally:
        writers.stop()
    return times, catchups, writers


def check_acknowledged(nodes, writers):
    """Every acknowledged order, read back on every node once they have converged."""
    ids = [order for _, _, order in writers.acks]
    duplicates = len(ids) - len(set(ids))

    def converged():
        applied = [info(n.port, 5) for n in nodes]
        if None in applied:
            return False
        heads = {a["log_applied"] for a in applied}
        return len(heads) == 1 and all(a["log_committed"] == a["log_applied"] for a in applied)
    wait("the nodes to converge", converged, 120, 0.2)
    missing = {}
    for n in nodes:
        c = Resp(n.port, timeout=60)
        lost = 0
        for i in range(0, len(ids), 1000):
            batch = ids[i:i + 1000]
            c.send(*[("ORDER.GET", order) for order in batch])
            for _ in batch:
                try:
                    c.read()
                except ReplyError:
                    lost += 1
        c.close()
        missing[n.name] = lost
    return len(ids), duplicates, missing


def fill(node, orders, connections=8, pipeline=16):
    """ORDER.ADD NOSTOCK of random demo customers and products until the store holds `orders`
    orders: `connections` clients with `pipeline` commands in flight each, so a write group
    holds at most connections x pipeline orders (its journal page stays small)."""
    have = int(info(node.port)["orders"])
    customers, products = int(info(node.port)["customers"]), int(info(node.port)["products"])
    left = [max(0, orders - have)]
    lock = threading.Lock()

    def client(k):
        import random
        rng = random.Random(k)
        c = Resp(node.port, timeout=60)
        while True:
            with lock:
                n = min(pipeline, left[0])
                left[0] -= n
            if n == 0:
                break
            c.send(*[("ORDER.ADD", "CUSTOMER", rng.randint(1, customers), "PRODUCT", rng.randint(1, products),
                      "QUANTITY", 1, "NOSTOCK") for _ in range(n)])
            for _ in range(n):
                c.read()
        c.close()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def join(work, key):
    """Part 4: a node joining empty a cluster holding JOIN_ORDERS orders. JOIN_FILL=demo: the
    first node's `--demo --demo-orders JOIN_ORDERS` makes them (write groups of 5,000); else
    (`writes`, the default) `--demo` makes 1,000 customers, 100 products and 10,000 orders and
    the rest are ORDER.ADD over the wire (groups of at most 128)."""
    etcd = Etcd(work, "join")
    by_demo = os.environ.get("JOIN_FILL", "writes") == "demo"
    first = Node(work, "j1", key, (etcd.endpoints, "crm-join"),
                 ["--demo", "--demo-orders", str(JOIN_ORDERS if by_demo else 10000)]).start()
    t0 = time.monotonic()
    first.wait_ping(1800)
    leader([first], 600)
    if not by_demo:
        fill(first, JOIN_ORDERS)
    fill_s = time.monotonic() - t0
    orders = info(first.port)["orders"]
    log(f"j1 holds {orders} orders after {fill_s:.0f} s; etcd db {etcd.db_size_mib() or 0:.0f} MiB")
    joiner = Node(work, "j2", key, (etcd.endpoints, "crm-join"))
    t0 = time.monotonic()
    joiner.start()
    marks = {}

    def read_answers():
        if joiner.proc.poll() is not None:
            raise RuntimeError(f"j2 exited: {joiner.tail()}")
        with open(joiner.log_path, errors="replace") as f:
            failures = [line for line in f if "copying the snapshot failed" in line]
        if len(failures) >= 3:
            raise RuntimeError(f"j2 cannot copy the snapshot: {failures[-1].strip()}")
        if "PING answers" not in marks and pings(joiner.port):
            marks["PING answers"] = time.monotonic() - t0
        i = info(joiner.port, 5)
        now = time.monotonic() - t0
        if i:
            marks.setdefault("AUTH and INFO answer (snapshot in place)", now)
        if i and i.get("sync_in_progress") == "0":
            marks.setdefault("INFO sync_in_progress:0", now)
            try:
                c = Resp(joiner.port, 5)
                try:
                    c.call("ORDER.GET", "1")
                    marks["ORDER.GET answers"] = time.monotonic() - t0
                    return True
                finally:
                    c.close()
            except ReplyError as e:
                marks.setdefault("first refusal", str(e))
            except (OSError, ConnectionError):
                pass
        return False
    try:
        wait("j2 serving reads", read_answers, 1800, 0.1)
        joined_orders = info(joiner.port)["orders"]
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(joiner.data) for f in fs) / 1048576
        return dict(orders=orders, fill_s=fill_s, by_demo=by_demo, marks=marks, joined_orders=joined_orders,
                    store_mib=size, etcd_mib=etcd.db_size_mib())
    except RuntimeError as e:
        log(str(e))
        return dict(orders=orders, fill_s=fill_s, by_demo=by_demo, failed=str(e))
    finally:
        stop(joiner.proc)
        stop(first.proc)
        etcd.stop()


def print_throughput(rates):
    print(f"\n| durable ORDER.ADD NOSTOCK, median of {ROUNDS} | single node | 3-node cluster | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for label, (alone, ours, _, a, o) in rates.items():
        print(f"| {label} | {alone:,.0f}/s | {ours:,.0f}/s | {ours / alone:.2f}x |"
              f"  <- single {[round(x) for x in a]}, cluster {[round(x) for x in o]}")
    print("\n| followers' lag_ms during the cluster runs | samples | p50 | p99 | max |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, (_, _, lags, _, _) in rates.items():
        every = [v for samples in lags.values() for v in samples]
        for name, samples in list(lags.items()) + [("both", every)]:
            print(f"| {label}, {name} | {len(samples)} | {percentile(samples, 50)} | {percentile(samples, 99)} |"
                  f" {max(samples) if samples else 'nan'} |", flush=True)


def print_failover(times, catchups, writers, checked, etcd_mib):
    acked, duplicates, missing = checked
    print(f"\nfailover, {len(times)} kills -9 of the leader under {WRITERS} writers, --lease-ttl {LEASE_TTL}:"
          f" kill to first write acknowledged by another node: median {statistics.median(times):.2f} s,"
          f" min {min(times):.2f} s, max {max(times):.2f} s  <- {[round(t, 2) for t in times]}")
    print(f"killed node restarted and caught up: median {statistics.median(catchups):.1f} s, max {max(catchups):.1f} s")
    print(f"writers' refusals and errors (all rounds): {writers.errors}")
    print(f"acknowledged orders {acked:,}: {duplicates} ids acknowledged twice; missing on a node: {missing}")
    print(f"etcd's database after the kills: {etcd_mib or 0:.0f} MiB", flush=True)


def print_join(joined):
    if "failed" in joined:
        print(f"\njoin: FAILED ({joined['failed']})", flush=True)
        return
    print(f"\njoin: the first node held {joined['orders']} orders after {joined['fill_s']:.0f} s"
          f" ({'--demo' if joined['by_demo'] else '--demo and ORDER.ADD'});"
          f" the joiner (empty folder) from its start: " +
          ", ".join(f"{k} {v:.1f} s" if isinstance(v, float) else f"{k}: {v}" for k, v in joined["marks"].items()) +
          f"; it holds {joined['joined_orders']} orders, {joined['store_mib']:.0f} MiB;"
          f" etcd db {joined['etcd_mib'] or 0:.0f} MiB", flush=True)


def main():
    parts = os.environ.get("PARTS", "throughput,failover,join").split(",")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that `finally` stops every process
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "crm-server"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="cluster-bench-", dir=os.environ.get("WORK_DIR"))
    key = os.path.join(work, "key")
    subprocess.run([SERVER, "keygen", key], check=True, capture_output=True)
    log(f"work folder {work}; {os.cpu_count()} cores; parts {parts}")
    loads = [("start", os.getloadavg())]
    try:
        if "throughput" in parts or "failover" in parts:
            etcd = Etcd(work, "main")
            nodes = [Node(work, f"n{i}", key, (etcd.endpoints, "crm-bench")) for i in (1, 2, 3)]
            nodes[0].start().wait_ping()
            leader(nodes[:1])
            for n in nodes[1:]:
                n.start().wait_ping()
            for n in nodes:
                wait_synced(n)
            c = Resp(nodes[0].port)
            c.call("CUSTOMER.ADD", "NAME", "Bench", "EMAIL", "bench@example.com")
            c.call("PRODUCT.ADD", "NAME", "Pen", "PRICE", "1.00", "STOCK", "0")
            c.close()
            log("3-node cluster ready")
            if "throughput" in parts:
                single = Node(work, "single", key).start()
                single.wait_ping()
                c = Resp(single.port)
                c.call("CUSTOMER.ADD", "NAME", "Bench", "EMAIL", "bench@example.com")
                c.call("PRODUCT.ADD", "NAME", "Pen", "PRICE", "1.00", "STOCK", "0")
                c.close()
                rates = throughput(single, nodes)
                loads.append(("after the throughput runs", os.getloadavg()))
                stop(single.proc)
                shutil.rmtree(single.data, ignore_errors=True)
                print_throughput(rates)
                log(f"etcd db after the throughput runs: {etcd.db_size_mib() or 0:.0f} MiB")
            if "failover" in parts:
                times, catchups, writers = failover(nodes)
                loads.append(("after the kills", os.getloadavg()))
                print_failover(times, catchups, writers, check_acknowledged(nodes, writers), etcd.db_size_mib())
            for n in nodes:
                stop(n.proc)
            etcd.stop()
            if not os.environ.get("KEEP"):  # room on the disk for the join
                shutil.rmtree(etcd.dir, ignore_errors=True)
                for n in nodes:
                    shutil.rmtree(n.data, ignore_errors=True)
        if "join" in parts and JOIN_ORDERS:
            print_join(join(work, key))
            loads.append(("after the join", os.getloadavg()))
        print("\nload average (1/5/15 min): " + "; ".join(f"{w} {l[0]:.1f}/{l[1]:.1f}/{l[2]:.1f}" for w, l in loads))
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
