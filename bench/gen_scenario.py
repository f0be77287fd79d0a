#!/usr/bin/env python3
"""Writes a large, consistent scenario for the benchmark (the format of seeds/demo.json,
checked by Scenario::check when the emulator loads it).

    bench/gen_scenario.py ACCOUNTS SERVERS_PER_ACCOUNT OUT.json

Servers are copies of the demo scenario's oVirt VM (40101) and Supermicro bare-metal box
(40102), two VMs to one bare-metal server, spread round-robin over the demo's seven
locations. Every location gets its own VM pool, bare-metal pool, IPMI network and NAT
pool, each a /19, so addresses sit inside a subnet of their server's location and are
never a network, gateway or broadcast address; MACs, addresses and ids come from
counters, so they are unique. Account N (from 0) logs in with the API key
`be0c0000000000NN-0123456789abcdef` (the number in 16 hex digits), the e-mail
acctN@bench.hostkey-emu.local, the password Bench-pass-1 and the PIN 1234.
"""

import copy
import ipaddress
import json
import os
import sys

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "seeds", "demo.json")
PASSWORD = "Bench-pass-1"
PIN = "1234"
# Their argon2 PHC strings at the emulator's default costs, precomputed (as the demo
# scenario's are) so that loading a scenario of many accounts costs no hashing. Every
# account shares them: fine for a benchmark fixture, not for anything real.
PASSWORD_HASH = "$argon2id$v=19$m=19456,t=2,p=1$uTx1zFDjL7MZgmVPnbfmkw$Hy9sHjeemH/ftwvj/OFJwaS/oJjNfjguCJ1gmFmPHpA"
PIN_HASH = "$argon2id$v=19$m=19456,t=2,p=1$xRXdFoeUU4z8ZMUBlgAk+w$gwgqjOFSQfKXoO/MbldqHoWNn2J3th+Ylh87CpyQLfk"


def api_key(n):
    """The API key of account n: two groups of 16 hex digits."""
    return f"{0xBE0C000000000000 + n:016x}-0123456789abcdef"


def subnets_for(locations):
    """Four /19 pools per location: VMs, bare metal, IPMI, NAT (the NAT pool a /28)."""
    subnets, pools = [], {}
    sid = 9000
    for i, loc in enumerate(locations):
        code = loc["code"]
        plan = [
            ("public", "ovirt", f"100.{64 + i}.0.0/19"),
            ("public", "bm", f"100.{64 + i}.32.0/19"),
            ("ipmi", "", f"10.{200 + i}.0.0/19"),
            ("nat", "", f"100.{64 + i}.64.0/28"),
        ]
        for kind, tag, network in plan:
            net = ipaddress.ip_network(network)
            hosts = net.hosts()
            gateway = str(next(hosts))
            sub = {"id": sid, "location": code, "network": network, "gateway": gateway,
                   "vlan": 100 + sid % 3000, "kind": kind}
            if tag:
                sub["tag"] = tag
            subnets.append(sub)
            # Addresses after the gateway, handed out in order; hosts() never yields the
            # network or broadcast address.
            pools[(code, tag or kind)] = hosts
            sid += 1
    return subnets, pools


class Counter:
    """Hands out consecutive numbers from a start."""

    def __init__(self, start):
        self.n = start

    def next(self):
        self.n += 1
        return self.n


def mac(n):
    """A locally administered MAC from a number; unique per number."""
    return "52:54:" + ":".join(f"{(n >> s) & 255:02x}" for s in (24, 16, 8, 0))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    accounts_n, per_account, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    with open(DEMO, encoding="utf-8") as f:
        demo = json.load(f)
    templates = {s["id"]: s for s in demo["servers"]}
    vm_t, bm_t = templates[40101], templates[40102]
    account_t = demo["accounts"][0]
    locations = demo["locations"]
    subnets, pools = subnets_for(locations)

    ids = {"iface": Counter(2_000_000), "tag": Counter(5_000_000), "mac": Counter(0)}
    accounts, servers = [], []
    server_id = 100_000
    for a in range(accounts_n):
        handle = f"acct{a}"
        acct = copy.deepcopy(account_t)
        acct.update({
            "id": 200_000 + a, "handle": handle, "whmcs_id": 300_000 + a,
            "email": f"{handle}@bench.hostkey-emu.local", "password": PASSWORD, "pin": PIN,
            "password_hash": PASSWORD_HASH, "pin_hash": PIN_HASH,
            "created_days_ago": 900,
            "api_keys": [{"id": 400_000 + a, "name": "bench", "key": api_key(a),
                          "server_id": 0, "login_notify_method": "none"}],
            "tags": [],
            # The demo account's F2HCloud keys and bans name the demo's servers by
            # hostname, which these accounts do not have.
            "f2h_keys": [], "f2h_bans": [],
        })
        acct["billing"] = dict(acct["billing"], uuid=f"00000000-0000-4000-8000-{a:012x}")
        accounts.append(acct)
        for k in range(per_account):
            server_id += 1
            loc = locations[(server_id) % len(locations)]["code"]
            vm = k % 3 != 2
            s = copy.deepcopy(vm_t if vm else bm_t)
            s.update({"id": server_id, "account": handle, "location": loc, "licenses": [],
                      "registered_days_ago": 1 + server_id % 800})
            ifaces = []
            for n, t in enumerate(s["interfaces"]):
                iface = {key: v for key, v in t.items() if key != "admin_block"}
                iface.update({"id": ids["iface"].next(), "mac": mac(ids["mac"].next())})
                ips = []
                if n == 0:
                    pool = pools[(loc, "ovirt" if vm else "bm")]
                    ips.append({"address": str(next(pool)), "main": True})
                iface["ips"] = ips
                ifaces.append(iface)
            s["interfaces"] = ifaces
            if not vm:
                s["ipmi"] = {"id": ids["iface"].next(), "ip": str(next(pools[(loc, "ipmi")])),
                             "mac": mac(ids["mac"].next())}
            tags = [{key: v for key, v in t.items()} for t in s["tags"]]
            for t in tags:
                t["id"] = ids["tag"].next()
                if t["tag"] == "hostname":
                    t["value"] = f"bench-{server_id}"
            s["tags"] = tags
            servers.append(s)

    scenario = {
        "name": f"bench-{accounts_n}x{per_account}",
        "description": f"{accounts_n} accounts with {per_account} servers each, for bench/run.sh.",
        "locations": locations,
        "subnets": subnets,
        "accounts": accounts,
        "servers": servers,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(scenario, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
