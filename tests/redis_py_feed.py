"""The change feed through redis-py's stream API, under RESP2 and RESP3 (protocol=3, which
opens with HELLO 3 AUTH): xlen, xrange, xrevrange, xread with and without block."""
import sys
import threading
import time

import redis

port, password = int(sys.argv[1]), sys.argv[2]
for protocol in (2, 3):
    r = redis.Redis(port=port, username="admin", password=password, protocol=protocol,
                    decode_responses=True)
    start = r.xlen("crm:changes")
    new_id = r.execute_command("CUSTOMER.ADD", "NAME", f"Py {protocol}", "EMAIL", f"py{protocol}@example.com")
    assert r.xlen("crm:changes") == start + 1, "xlen"
    last = r.xrevrange("crm:changes", "+", "-", count=1)
    assert len(last) == 1, last
    entry_id, fields = last[0]
    assert fields["op"] == "add" and fields["kind"] == "customer", fields
    assert fields["id"] == str(new_id), fields
    assert fields["fields"] == "name,email", fields
    everything = r.xrange("crm:changes", "-", "+")
    assert everything[-1][0] == entry_id, everything[-1]
    assert len(everything) == start + 1
    # Nothing after the last id: None at once without block.
    assert r.xread({"crm:changes": entry_id}) in ([], {}, None), r.xread({"crm:changes": entry_id})
    # A blocked xread wakes when another client writes.
    def write_later():
        time.sleep(0.3)
        other = redis.Redis(port=port, username="admin", password=password, protocol=protocol)
        other.execute_command("PRODUCT.ADD", "NAME", f"Pen {protocol}", "PRICE", "1.00")
    threading.Thread(target=write_later).start()
    got = r.xread({"crm:changes": entry_id}, block=5000)
    if protocol == 3 and isinstance(got, dict):
        entries = got["crm:changes"][0]
    else:
        assert got[0][0] == "crm:changes", got
        entries = got[0][1]
    assert entries[0][1]["kind"] == "product", entries
    # A block that runs out answers nil.
    newest = entries[-1][0]
    assert r.xread({"crm:changes": newest}, block=200) in ([], {}, None)
print("ok")
