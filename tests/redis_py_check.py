"""Connects to crm-server with redis-py's defaults, authenticates, adds and reads a customer.

Usage: python3 redis_py_check.py PORT PASSWORD
"""
import json
import sys

import redis


def main() -> None:
    port, password = int(sys.argv[1]), sys.argv[2]
    # Stock defaults: whatever protocol this redis-py opens with (HELLO 3 AUTH ... in current
    # releases), plus CLIENT SETINFO on connect.
    client = redis.Redis(host="127.0.0.1", port=port, username="admin", password=password)
    assert client.ping() is True
    new_id = client.execute_command(
        "CUSTOMER.ADD", "NAME", "Grace Hopper", "EMAIL", "grace@example.com", "PHONE", "+1 555 010 0199"
    )
    raw = client.execute_command("CUSTOMER.GET", new_id)
    record = json.loads(raw)
    assert record["name"] == "Grace Hopper", record
    assert record["email"] == "grace@example.com", record
    assert record["phone"] == "+15550100199", record
    assert client.execute_command("CUSTOMER.GET", 999999) is None
    try:
        client.execute_command("CUSTOMER.ADD", "NAME", "X", "EMAIL", "bad@")
        raise AssertionError("an invalid email was accepted")
    except redis.ResponseError as error:
        assert str(error).startswith("INVALID") or "email" in str(error), error
    # The RESP3 path explicitly, too.
    resp3 = redis.Redis(host="127.0.0.1", port=port, username="admin", password=password, protocol=3)
    assert json.loads(resp3.execute_command("CUSTOMER.GET", new_id))["id"] == new_id
    assert resp3.execute_command("CUSTOMER.GET", 999999) is None
    print(f"redis-py {redis.__version__}: ok")


if __name__ == "__main__":
    main()
