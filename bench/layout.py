#!/usr/bin/env python3
"""Writes link/symbol-order.txt: the functions the emulator runs at start and on the
benchmark's requests, for the linker to lay out together (build.rs passes the file to lld).

Why: the kernel maps a binary's code 64 KB or more at a time around each page that runs
(fault-around, page-cache folios), so code that runs is resident together with its
neighbours. Without an order, the functions a start and the hot paths touch are spread
over most of the 16 MB of code, and most of it ends up resident. Laid out together, they
fit in about 4 MB.

How: the release binary runs under valgrind's callgrind with the demo scenario; the
benchmark's requests (api-key and password logins, eq/show, eq/list, presets/list,
tags/add, eq/on with a PIN, a few refusals, the control plane's health, metrics and
journal) are sent a few times each, then under load from `wrk` for a few seconds each; on
SIGTERM callgrind writes every function that ran. The same workload then runs natively
under `perf record -e page-faults`, which adds the functions whose code faulted in but
that valgrind did not see run. The file lists the binary's own functions, the most run
first (hot code shares pages and TLB entries), by their mangled names, which is what lld
matches.

    python3 bench/layout.py [--emu target/release/hostkey-emu] [--out link/symbol-order.txt]

Regenerate after large changes (bench/README.md); a stale file is harmless: names that no
longer exist are ignored (lld's --no-warn-symbol-ordering), new functions go after.
Needs valgrind and wrk, and perf for the native pass (Debian: `apt install valgrind wrk
linux-perf`). Takes about 30 s.
"""

import argparse
import collections
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
from bench import DEMO_KEY, DEMO_PIN, DEMO_PASSWORD, DEMO_SERVER, DEMO_USER, call, form  # noqa: E402


LOAD_SECONDS = 3


def workload(port):
    """The benchmark's requests, a few times each, plus refusals and the control plane."""
    key_token = bench.token(port, form(action="login", key=DEMO_KEY, fix_ip=0))
    pw_token = bench.token(port, form(action="whmcslogin", user=DEMO_USER,
                                      password=DEMO_PASSWORD))
    if not key_token or not pw_token:
        sys.exit("layout: the demo logins failed; is this the demo scenario?")
    requests = [
        ("/eq.php", form(action="show", token=key_token, id=DEMO_SERVER)),
        ("/eq.php", form(action="list", token=key_token)),
        ("/presets.php", form(action="list", location="NL")),
        ("/tags.php", form(action="add", token=key_token, id=DEMO_SERVER, tag="layout",
                           value="v{n}")),
        ("/eq.php", form(action="on", token=pw_token, id=DEMO_SERVER, pin=DEMO_PIN)),
        ("/auth.php", form(action="whmcslogin", user=DEMO_USER, password=DEMO_PASSWORD)),
        ("/eq.php", form(action="show", token="not-a-token", id=DEMO_SERVER)),
        ("/eq.php", form(action="no-such-action", token=key_token)),
    ]
    for _ in range(20):
        for path, body in requests:
            call(port, path, body)
    # The same requests under concurrent load (10 connections, as the benchmark's rows):
    # the runtime's and the pool's paths for many requests at once run only then.
    for path, body in requests[:6]:
        bench.wrk(port, [f"POST {path} {body}"], 10, LOAD_SECONDS)
    bench.wrk(port, [f"POST {path} {body}" for path, body in requests[4:6]], 10, LOAD_SECONDS)
    for path in ("/_emu/health", "/_emu/metrics", "/_emu/requests?limit=5"):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("GET", path)
        c.getresponse().read()
        c.close()


def functions(callgrind_out, binary):
    """The binary's functions in a callgrind output, by instructions run (self), most first.

    The output is uncompressed (--compress-strings=no --compress-pos=no): `ob=`/`fn=` name
    the object and function the cost lines after them belong to; a `calls=` line is
    followed by the callee's inclusive cost, which is not the caller's own."""
    this = os.path.realpath(binary)
    cost = collections.Counter()
    ob, fn, skip = None, None, False
    with open(callgrind_out, encoding="utf-8", errors="replace") as f:
        for line in f:
            if skip:
                skip = False
            elif line.startswith("ob="):
                ob = os.path.realpath(line[3:].strip())
            elif line.startswith("fn="):
                # A recursive call's frame is named `name'2`: the same function.
                fn = line[3:].strip().split("'")[0] if ob == this else None
                if fn:
                    cost[fn] += 0
            elif line.startswith("calls="):
                skip = True
            elif fn and line[:1].isdigit():
                parts = line.split()
                if len(parts) >= 2:
                    cost[fn] += int(parts[1])
    return [name for name, _ in cost.most_common()]


def emulator(binary, work, port, wrapper, db):
    """The emulator's command line under `wrapper` (valgrind or perf): the demo scenario on
    a fresh database file `db` in `work`."""
    return wrapper + [binary, "--db", os.path.join(work, db), "--listen",
                      f"127.0.0.1:{port}", "--task-speed", "instant"]


def under_callgrind(binary, work):
    """Every function of the binary that ran under callgrind, the most run first."""
    out = os.path.join(work, "callgrind.out")
    port = bench.free_port()
    p = bench.Proc("callgrind", emulator(binary, work, port, [
        "valgrind", "--tool=callgrind", "--demangle=no", "--compress-strings=no",
        "--compress-pos=no", f"--callgrind-out-file={out}"], "callgrind.db"), port, work)
    if p.wait_answer(300) is None:
        sys.exit(f"layout: the emulator did not answer under valgrind: {p.tail()}")
    time.sleep(1)
    workload(port)
    p.stop()
    if not os.path.exists(out):
        sys.exit(f"layout: callgrind wrote nothing: {p.tail()}")
    return functions(out, binary)


def listening(port):
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


FAULT = re.compile(r"^\s*([0-9a-f]+) (\S+) \((.*?)\)\s+([0-9a-f]+) ")


def faulting_code(binary, work):
    """The binary's functions whose code page faulted in a native run of the same workload.

    Some code runs natively but not under valgrind (it emulates another CPU, and runs the
    threads one at a time): a CPU feature's variant, a timing's branch. A page fault on an
    instruction fetch names the function that brought its part of the binary in, which is
    what the layout is for. Needs `perf`; without it, the callgrind list alone is used."""
    if shutil.which("perf") is None:
        print("layout: no perf, so only callgrind's list", file=sys.stderr)
        return []
    data = os.path.join(work, "faults.data")
    port = bench.free_port()
    perf = subprocess.Popen(emulator(binary, work, port, [
        "perf", "record", "-q", "-e", "page-faults", "-c", "1", "-d", "-o", data, "--"],
        "native.db"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not listening(port):
            if time.monotonic() > deadline or perf.poll() is not None:
                sys.exit("layout: the emulator did not start under perf")
            time.sleep(0.05)
        time.sleep(1)
        workload(port)
    finally:
        # SIGTERM to the emulator (perf's child): perf then writes its file and exits.
        children = subprocess.run(["pgrep", "-P", str(perf.pid)], capture_output=True,
                                  text=True).stdout.split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        perf.wait(60)
    script = subprocess.run(["perf", "script", "--no-demangle", "-i", data,
                             "-F", "addr,sym,dso,ip"], capture_output=True, text=True).stdout
    this, found = os.path.realpath(binary), []
    for line in script.splitlines():
        m = FAULT.match(line)
        # An instruction fetch: the faulting address lies where the instruction is.
        if m and os.path.realpath(m.group(3)) == this \
                and abs(int(m.group(1), 16) - int(m.group(4), 16)) < 8192 \
                and m.group(2) not in found:
            found.append(m.group(2))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = os.path.dirname(HERE)
    ap.add_argument("--emu", default=os.path.join(root, "target/release/hostkey-emu"))
    ap.add_argument("--out", default=os.path.join(root, "link/symbol-order.txt"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="layout-") as work:
        names = under_callgrind(args.emu, work)
        listed = set(names)
        native = [n for n in faulting_code(args.emu, work) if n not in listed]
        names += native
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("".join(n + "\n" for n in names))
    print(f"layout: {len(names)} functions written to {args.out} "
          f"({len(native)} of them found by the native run's page faults)")


if __name__ == "__main__":
    main()
