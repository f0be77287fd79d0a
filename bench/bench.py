#!/usr/bin/env python3
"""The benchmark driver behind bench/run.sh (which builds the binaries and calls this).

It starts a bare axum ceiling and the emulator (and, when given, a baseline build of the
emulator) on loopback, drives every row of issue 9's table against each with wrk, and
prints one Markdown table. Everything is bounded: each load runs for a fixed time, each
start has a deadline, every process it starts is stopped at the end.

    bench.py --work DIR --emu BIN --ceiling BIN [--baseline BIN --baseline-name NAME] [--quick]

Run it through bench/run.sh; see bench/README.md for what each row measures.
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO_KEY = "deadbeef00000001-0123456789abcdef"
DEMO_USER = "demo@hostkey-emu.local"
DEMO_PASSWORD = "Demo-pass-1"
DEMO_PIN = "1234"
DEMO_SERVER = 40101
BENCH_KEY = "be0c000000000000-0123456789abcdef"  # account 0 of bench/gen_scenario.py


# Which groups of rows to run (BENCH_ROWS, comma-separated): all of them by default.
ALL_GROUPS = {"startup", "hot", "password", "big"}
ROW_GROUPS = set(filter(None, (os.environ.get("BENCH_ROWS") or ",".join(sorted(ALL_GROUPS)))
                        .split(",")))
if not ROW_GROUPS <= ALL_GROUPS:
    sys.exit(f"BENCH_ROWS: unknown group(s) {sorted(ROW_GROUPS - ALL_GROUPS)}; "
             f"known: {sorted(ALL_GROUPS)}")

def log(msg):
    """Progress on stderr, so that stdout carries only the results."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def loadavg():
    """The first three fields of /proc/loadavg (1, 5 and 15 minutes)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def free_port():
    """A port the kernel reports free on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def form(**fields):
    """An application/x-www-form-urlencoded body; `{n}` is kept for wrk.lua's counter."""
    return urllib.parse.urlencode(fields, safe="{}")


class Proc:
    """A server process started by the benchmark: its port, memory figures, and stop()."""

    def __init__(self, name, argv, port, work, extra_env=None):
        self.name, self.port = name, port
        self.log_path = os.path.join(work, f"{name}.log")
        self.log = open(self.log_path, "ab")
        env = dict(os.environ, **(extra_env or {}))
        env.setdefault("RUST_LOG", "info")
        self.started = time.perf_counter()
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                  stdin=subprocess.DEVNULL)

    def status_kb(self, field):
        """A `VmRSS`-style field of /proc/PID/status in kB, or None once the process is gone."""
        try:
            with open(f"/proc/{self.p.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def rss_mb(self):
        """Resident memory now, in MB."""
        kb = self.status_kb("VmRSS")
        return None if kb is None else kb / 1024

    def peak_mb(self):
        """Highest resident memory since start (VmHWM), in MB."""
        kb = self.status_kb("VmHWM")
        return None if kb is None else kb / 1024

    def wait_answer(self, deadline_s):
        """Seconds from spawn to the first answered HTTP request, or None if it never came.

        Connecting is retried every millisecond; once connected, GET /_emu/health waits for
        its answer (the emulator binds before it loads, so a connection can wait there)."""
        end = time.perf_counter() + deadline_s
        while time.perf_counter() < end:
            if self.p.poll() is not None:
                return None
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=deadline_s) as s:
                    s.sendall(b"GET /_emu/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Connection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1."):
                        return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.001)
        return None

    def stop(self):
        """SIGTERM, then SIGKILL after 15 s; the emulator shuts down gracefully on SIGTERM."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()

    def tail(self, lines=5):
        """The last lines of the process's output, for error messages."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:]).strip()
        except OSError:
            return ""


def call(port, path, body, timeout=120):
    """One POST form request; the decoded JSON answer, or {"error": ...}."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("POST", path, body.replace("{n}", "0"),
                  {"Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return json.loads(data)
        except ValueError:
            return {"error": f"HTTP {r.status}: {data[:200]!r}"}
    except OSError as e:
        return {"error": str(e)}


def answered_ok(v):
    """An InvAPI success: result "OK", or a login's result object."""
    return v.get("result") == "OK" or isinstance(v.get("result"), dict)


def token(port, body):
    """The session token a login (auth.php) answers, or None."""
    v = call(port, "/auth.php", body)
    r = v.get("result")
    return r.get("token") if isinstance(r, dict) else None


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def parse_wrk(out):
    """Requests per second, latency percentiles (ms), completed requests and error counts."""
    res = {"rps": None, "p50": None, "p99": None, "requests": 0, "errors": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        res["requests"] = int(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
        if m:
            res[key] = float(m.group(1)) * UNITS_MS[m.group(2)]
    # wrk.lua's tail of the distribution: (percentile, ms), for pooling rounds.
    res["tail"] = [(float(p), int(us) / 1000)
                   for p, us in re.findall(r"^PCT ([\d.]+) (\d+)$", out, re.M)]
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        res["errors"] += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["errors"] += sum(int(x) for x in m.groups())
    return res


def wrk(port, reqs, conns, seconds, timeout_s=30):
    """Runs wrk with bench/wrk.lua against 127.0.0.1:port; parse_wrk's figures."""
    threads = max(1, min(2, conns))
    env = dict(os.environ, WRK_REQS="\n".join(reqs))
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", f"--timeout={timeout_s}s",
            "--latency", "-s", os.path.join(HERE, "wrk.lua"), f"http://127.0.0.1:{port}"]
    try:
        out = subprocess.run(argv, env=env, capture_output=True, text=True,
                             timeout=seconds + timeout_s + 30).stdout
    except subprocess.TimeoutExpired:
        return {"rps": None, "p50": None, "p99": None, "requests": 0, "errors": 1}
    return parse_wrk(out)


def pooled_p99(runs):
    """The p99 of several rounds' requests together, from each round's tail (wrk.lua's
    percentiles): the lowest latency x, among the rounds' own tail values, such that the
    requests known to be slower than x, counted in every round from its highest listed
    percentile at or below x, are at most 1% of all. It never understates the p99: a round
    is charged for every request above the percentile step below x. Without tails, the
    highest of the rounds' p99 values (an upper bound as well)."""
    # A tail that is not increasing (a wrk that answers 0 for a percentile) is no tail.
    tails = [(r["requests"], t if all(ms > 0 for _, ms in t)
              and all(a[1] <= b[1] for a, b in zip(t, t[1:])) else [])
             for r in runs for t in [r.get("tail") or []]]
    if not all(t and n for n, t in tails):
        p99s = [r["p99"] for r in runs if r["p99"] is not None]
        return max(p99s) if p99s else None
    total = sum(n for n, _ in tails)
    for x in sorted({ms for _, t in tails for _, ms in t}):
        slower = 0.0
        for n, t in tails:
            below = [p for p, ms in t if ms <= x]
            slower += n * (1 - max(below) / 100) if below else n
        if slower <= 0.01 * total + 1e-9:
            return x
    return max(ms for _, t in tails for _, ms in t)


def pooled(runs):
    """wrk's figures of several rounds as one: the mean rate, the p99 of all their
    requests (`pooled_p99`), requests and errors added up; no rate when any round
    failed."""
    if not runs or any(r["rps"] is None for r in runs):
        return {"rps": None, "p50": None, "p99": None,
                "requests": sum(r["requests"] for r in runs),
                "errors": sum(r["errors"] for r in runs) or 1}
    p50s = [r["p50"] for r in runs if r["p50"] is not None]
    return {"rps": statistics.mean(r["rps"] for r in runs),
            "p50": statistics.median(p50s) if p50s else None,
            "p99": pooled_p99(runs),
            "requests": sum(r["requests"] for r in runs),
            "errors": sum(r["errors"] for r in runs)}


class Fig:
    """One cell: a value in a unit (req/s, ms, MB), an optional p99 (ms), or why it is
    missing; a throughput cell also keeps each round's rate."""

    def __init__(self, value=None, unit="", p99=None, note="", rounds=None):
        self.value, self.unit, self.p99, self.note = value, unit, p99, note
        self.rounds = rounds or []

    def text(self):
        """The value as the table prints it."""
        if self.value is None:
            return "-"
        if self.unit == "req/s":
            return f"{self.value:,.0f}/s"
        if self.unit == "ms":
            return fmt_ms(self.value)
        if self.unit == "MB":
            return f"{self.value:.1f} MB"
        return f"{self.value}"


def fmt_ms(ms):
    """Milliseconds with sensible precision: 0.41 ms, 12.3 ms, 152 ms, 1.84 s."""
    if ms is None:
        return "-"
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 10:
        return f"{ms:.1f} ms"
    return f"{ms:.2f} ms"


class Bench:
    """The whole run: targets (emulator, baseline, ceiling), rows, notes, the table."""

    def __init__(self, args):
        self.args = args
        self.work = args.work
        quick = args.quick
        env = os.environ.get
        self.load_s = int(env("BENCH_SECONDS", "2" if quick else "10"))
        self.rounds = max(1, int(env("BENCH_ROUNDS", "1" if quick else "5")))
        self.round_s = max(1, self.load_s // self.rounds)
        self.latency_s = int(env("BENCH_LATENCY_SECONDS", "2" if quick else "10"))
        self.idle_s = int(env("BENCH_IDLE_SECONDS", "3" if quick else "10"))
        self.starts = int(env("BENCH_STARTS", "1" if quick else "9"))
        self.big_servers = int(env("BENCH_SERVERS", "1000" if quick else "10000"))
        self.many_accounts = int(env("BENCH_ACCOUNTS", "10" if quick else "100"))
        self.per_account = int(env("BENCH_SERVERS_PER_ACCOUNT", "100"))
        self.start_deadline = int(env("BENCH_START_DEADLINE", "600"))
        self.targets = [("emu", "emulator", args.emu)]
        if args.baseline_name:
            self.targets.append(("base", args.baseline_name, args.baseline))
        self.rows = []  # (what, goal, {target: Fig}, ratio_row)
        self.notes = []
        if args.baseline_name and not args.baseline:
            self.notes.append(f"baseline {args.baseline_name}: no binary (the build failed), "
                              "so its column is empty")
        self.procs = []
        self.dbs = 0
        self.logged_in = None  # (api-key tokens, password tokens) of the demo instances

    # -- processes -------------------------------------------------------------------

    def spawn_emu(self, key, binary, db, scenario=None):
        """Starts one emulator on a free port with a database file and scenario."""
        port = free_port()
        argv = [binary, "--db", db, "--listen", f"127.0.0.1:{port}", "--task-speed", "instant"]
        if scenario:
            argv += ["--scenario", scenario]
        p = Proc(f"{key}-{len(self.procs)}", argv, port, self.work)
        self.procs.append(p)
        return p

    def fresh_db(self, key):
        """A path for a database file that does not exist yet."""
        self.dbs += 1
        return os.path.join(self.work, f"{key}-{self.dbs}.db")

    def start(self, key, binary, db, scenario=None):
        """Spawns and waits for the first answer: (proc, seconds) or (None, None)."""
        if not binary:
            return None, None
        p = self.spawn_emu(key, binary, db, scenario)
        t = p.wait_answer(self.start_deadline)
        if t is None:
            self.notes.append(f"{key}: did not answer within {self.start_deadline} s "
                              f"({os.path.basename(scenario or 'demo')}): {p.tail(2)}")
            p.stop()
            return None, None
        return p, t

    def stop_all(self):
        """Stops every process this run started."""
        for p in self.procs:
            p.stop()

    # -- rows --------------------------------------------------------------------------

    def add(self, what, goal, figs, ratio=False):
        """Adds a row; `ratio` rows compare req/s with the ceiling."""
        self.rows.append((what, goal, figs, ratio))

    def load_row(self, what, goal, conns, reqs_for, servers):
        """A throughput row: the same requests at each target and at the ceiling.

        reqs_for(key) gives the wrk request lines for a target (its tokens differ); a
        probe before and after must succeed, or the figure is "-" with a note."""
        figs, ready = {}, []
        for key, srv in servers:
            if srv is None:
                figs[key] = Fig(note="not running")
                continue
            reqs = reqs_for(key)
            if reqs is None:
                figs[key] = Fig(note="no session")
                continue
            bad = self.probe(srv.port, reqs)
            if bad:
                self.notes.append(f"{what} [{key}]: skipped, the request is refused: {bad}")
                figs[key] = Fig(note=bad)
                continue
            ready.append((key, srv, reqs))
        # The targets take turns, round after round, so that a slower stretch of the
        # machine (it is shared) falls on each of them alike rather than on one.
        runs = {key: [] for key, _, _ in ready}
        for _ in range(self.rounds):
            for key, srv, reqs in ready:
                runs[key].append(wrk(srv.port, reqs, conns, self.round_s))
        for key, srv, reqs in ready:
            r = pooled(runs[key])
            after = self.probe(srv.port, reqs)
            # Power actions (the PIN row) queue work for the task worker, which completes
            # a few hundred a second: past the load, the probe waits for the queue to drain
            # rather than read the bounded queue's refusal as a failure.
            settle = time.perf_counter() + 30
            while after and "already queued" in after and time.perf_counter() < settle:
                time.sleep(0.2)
                after = self.probe(srv.port, reqs)
            if r["rps"] is None or after:
                self.notes.append(f"{what} [{key}]: failed after the load: {after or 'no wrk figure'}")
                figs[key] = Fig(note="failed")
                continue
            if r["errors"]:
                self.notes.append(f"{what} [{key}]: {r['errors']} HTTP/socket errors in "
                                  f"{r['requests']} requests")
            figs[key] = Fig(r["rps"], "req/s", r["p99"], rounds=[x["rps"] for x in runs[key]])
            log(f"{what} [{key}]: {r['rps']:,.0f} req/s, p99 {fmt_ms(r['p99'])} "
                f"(rounds: {', '.join(f'{x:,.0f}' for x in figs[key].rounds)})")
        self.add(what, goal, figs, ratio=True)

    def probe(self, port, reqs):
        """Sends each request once; None if all succeed, else the first failure."""
        for line in reqs:
            parts = line.split(" ", 2)
            v = call(port, parts[1], parts[2] if len(parts) > 2 else "")
            if not answered_ok(v):
                return json.dumps(v)[:160]
        return None

    def latency_row(self, what, goal, servers, reqs_for, expect=None):
        """A latency row: one connection, requests back to back; median and p99."""
        figs = {}
        for key, srv in servers:
            reqs = reqs_for(key) if srv else None
            if reqs is None:
                figs[key] = Fig(note="not running")
                continue
            parts = reqs[0].split(" ", 2)
            v = call(srv.port, parts[1], parts[2])
            problem = None if answered_ok(v) else json.dumps(v)[:160]
            if problem is None and expect is not None:
                problem = expect(v)
            if problem:
                self.notes.append(f"{what} [{key}]: skipped: {problem}")
                figs[key] = Fig(note=problem)
                continue
            r = wrk(srv.port, reqs, 1, self.latency_s, timeout_s=120)
            if not r["requests"]:
                self.notes.append(f"{what} [{key}]: no request completed in {self.latency_s} s")
                figs[key] = Fig(note="too slow")
                continue
            figs[key] = Fig(r["p50"], "ms", r["p99"])
            log(f"{what} [{key}]: median {fmt_ms(r['p50'])}, p99 {fmt_ms(r['p99'])} "
                f"({r['requests']} requests)")
        self.add(what, goal, figs)

    # -- the run -------------------------------------------------------------------------

    def run(self):
        """Every row, in an order that keeps the measurements apart; then the table."""
        self.load_start = loadavg()
        log(f"load average at start: {self.load_start}")
        groups = ROW_GROUPS
        ceiling = self.ceiling_rows()
        if "startup" in groups:
            demo = self.startup_rows(ceiling)
        elif groups & {"hot", "password"}:
            demo = {key: self.start(key, binary, self.fresh_db(key))[0]
                    for key, _, binary in self.targets}
        else:
            demo = {}
        servers = [("ceil", ceiling)] + [(k, demo.get(k)) for k, _, _ in self.targets]
        if "hot" in groups:
            self.hot_path_rows(servers, demo)
        if "password" in groups:
            self.password_rss_rows(demo)
        for p in list(demo.values()) + [ceiling]:
            if p:
                p.stop()
        if "big" in groups:
            self.big_rows()
        self.load_end = loadavg()
        log(f"load average at end: {self.load_end}")
        self.print_table()

    def ceiling_rows(self):
        """Starts the ceiling (timing its start and idle memory) and leaves it running."""
        times, rss = [], []
        p = None
        for i in range(self.starts):
            port = free_port()
            p = Proc(f"ceiling-{i}", [self.args.ceiling, str(port)], port, self.work)
            self.procs.append(p)
            t = p.wait_answer(30)
            if t is None:
                sys.exit(f"the ceiling did not start: {p.tail()}")
            times.append(t * 1000)
            time.sleep(1)
            rss.append(p.rss_mb())
            if i + 1 < self.starts:
                p.stop()
        self.ceiling_start = Fig(statistics.median(times), "ms")
        self.ceiling_rss = Fig(statistics.median(rss), "MB")
        return p

    def startup_rows(self, ceiling):
        """Startup on a fresh database and on reopening one, idle RSS; returns the running
        demo instance of each target (fresh database) for the load rows."""
        fresh, reopen, idle = {}, {}, {}
        running = {}
        for key, _, binary in self.targets:
            times, rss, dbs = [], [], []
            for _ in range(self.starts):
                db = self.fresh_db(key)
                p, t = self.start(key, binary, db)
                if p is None:
                    break
                times.append(t * 1000)
                time.sleep(1)
                rss.append(p.rss_mb())
                p.stop()
                dbs.append(db)
            if not times:
                continue
            fresh[key] = Fig(statistics.median(times), "ms")
            idle[key] = Fig(statistics.median(rss), "MB")
            again = []
            for _ in range(self.starts):
                p, t = self.start(key, binary, dbs[0])
                if p is None:
                    break
                again.append(t * 1000)
                p.stop()
            if again:
                reopen[key] = Fig(statistics.median(again), "ms")
            p, _ = self.start(key, binary, self.fresh_db(key))
            running[key] = p
            log(f"startup [{key}]: fresh {fmt_ms(fresh[key].value)}, reopen "
                f"{fmt_ms(reopen[key].value) if key in reopen else '-'}, idle "
                f"{idle[key].text()}")
        fresh["ceil"] = reopen["ceil"] = self.ceiling_start
        idle["ceil"] = self.ceiling_rss
        self.add("startup to first answer, fresh database, demo scenario", "≤ 50 ms", fresh)
        self.add("startup, reopening an existing database", "≤ 10 ms", reopen)
        self.add("idle RSS 1 s after start (fresh database)", "≤ 15 MB", idle)
        return running

    def tokens(self, demo):
        """Each running demo's API-key token and password-session token, logged in once."""
        if self.logged_in is None:
            keys, passwords = {}, {}
            for key, p in demo.items():
                if p is None:
                    continue
                keys[key] = token(p.port, form(action="login", key=DEMO_KEY, fix_ip=0))
                passwords[key] = token(p.port, form(action="whmcslogin", user=DEMO_USER,
                                                    password=DEMO_PASSWORD))
            self.logged_in = (keys, passwords)
        return self.logged_in

    def padded_ceiling(self, servers):
        """A second ceiling whose answer is as long as the emulator's presets/list answer
        (`CEILING_PAD`), to tell the cost of the answer's size from the emulator's own; or
        None (and a note) when the length cannot be had."""
        emu = dict(servers).get("emu")
        try:
            c = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
            c.request("POST", "/presets.php", form(action="list", location="NL"),
                      {"Content-Type": "application/x-www-form-urlencoded"})
            size = len(c.getresponse().read())
            c.close()
        except (OSError, AttributeError) as e:
            self.notes.append(f"presets/list against a ceiling of the same size: skipped ({e})")
            return None
        base = len(b'{"message":"hello","pad":"","received":0,"result":"OK"}')
        port = free_port()
        p = Proc("ceiling-padded", [self.args.ceiling, str(port)], port, self.work,
                 {"CEILING_PAD": str(max(0, size - base))})
        self.procs.append(p)
        if p.wait_answer(30) is None:
            self.notes.append(f"the padded ceiling did not start: {p.tail()}")
            return None
        log(f"padded ceiling: answers of {size} bytes, as presets/list's")
        return p

    def hot_path_rows(self, servers, demo):
        """eq/show, eq/list, presets/list, tags/add and a PIN action, side by side."""
        keys, passwords = self.tokens(demo)

        def with_token(path, tokens, **fields):
            def reqs(key):
                if key == "ceil":
                    return [f"POST {path} {form(**fields, token='0' * 32)}"]
                t = tokens.get(key)
                return None if t is None else [f"POST {path} {form(**fields, token=t)}"]
            return reqs

        self.load_row("eq/show (POST form with token), 10 connections",
                      "≥ 0.5x, p99 ≤ 5 ms", 10,
                      with_token("/eq.php", keys, action="show", id=DEMO_SERVER), servers)
        self.load_row("eq/list, 10 connections", "≥ 0.4x", 10,
                      with_token("/eq.php", keys, action="list"), servers)
        presets = lambda key: [f"POST /presets.php {form(action='list', location='NL')}"]
        self.load_row("presets/list (no token), 10 connections", "≥ 0.7x", 10, presets,
                      servers)
        same_size = self.padded_ceiling(servers)
        if same_size:
            self.load_row("presets/list against a ceiling answering as many bytes "
                          "(CEILING_PAD)", "-", 10, presets,
                          [("ceil", same_size)] + servers[1:])
            same_size.stop()
        tag = with_token("/tags.php", keys, action="add", id=DEMO_SERVER, tag="bench",
                         value="v{n}")
        self.load_row("tags/add (a write), 10 connections", "≥ 0.2x (≥ 5k/s), p99 ≤ 10 ms",
                      10, tag, servers)
        self.load_row("tags/add (a write), 32 connections", "≥ 0.2x (≥ 5k/s), p99 ≤ 10 ms",
                      32, tag, servers)
        self.load_row("actions with a PIN, one account (eq/on, password session), "
                      "10 connections", "≥ 1k/s", 10,
                      with_token("/eq.php", passwords, action="on", id=DEMO_SERVER,
                                 pin=DEMO_PIN), servers)

    def password_rss_rows(self, demo):
        """RSS while whmcslogin (password) and eq/on (PIN) requests alternate, then idle."""
        peak, idle = {}, {}
        for key, p in demo.items():
            t = self.tokens(demo)[1].get(key)
            if p is None or t is None:
                continue
            reqs = [f"POST /auth.php {form(action='whmcslogin', user=DEMO_USER, password=DEMO_PASSWORD)}",
                    f"POST /eq.php {form(action='on', token=t, id=DEMO_SERVER, pin=DEMO_PIN)}"]
            bad = self.probe(p.port, reqs)
            if bad:
                self.notes.append(f"password/PIN traffic [{key}]: skipped: {bad}")
                continue
            samples = []
            stop = threading.Event()

            def sample(proc=p, out=samples):
                while not stop.is_set():
                    v = proc.rss_mb()
                    if v is not None:
                        out.append(v)
                    stop.wait(0.1)

            th = threading.Thread(target=sample)
            th.start()
            r = wrk(p.port, reqs, 10, self.load_s)
            stop.set()
            th.join()
            if samples:
                peak[key] = Fig(max(samples), "MB")
            time.sleep(self.idle_s)
            v = p.rss_mb()
            if v is not None:
                idle[key] = Fig(v, "MB")
            log(f"password/PIN traffic [{key}]: {r['rps'] or 0:,.0f} req/s, peak "
                f"{peak.get(key, Fig()).text()}, idle {idle.get(key, Fig()).text()}")
        self.add(f"RSS under sustained password/PIN traffic ({self.load_s} s, 10 connections)",
                 "≤ 64 MB", peak)
        self.add(f"RSS back when idle ({self.idle_s} s later)", "≤ 20 MB", idle)

    def big_rows(self):
        """10,000 servers in one account (latencies, load time) and 100 x 100 (load time)."""
        one = os.path.join(self.work, f"one-{self.big_servers}.json")
        many = os.path.join(self.work, f"many-{self.many_accounts}x{self.per_account}.json")
        gen = os.path.join(HERE, "gen_scenario.py")
        log("generating the big scenarios")
        subprocess.run([sys.executable, gen, "1", str(self.big_servers), one], check=True)
        subprocess.run([sys.executable, gen, str(self.many_accounts), str(self.per_account),
                        many], check=True)
        n = f"{self.big_servers:,}"
        load_t, load_m, running, tokens = {}, {}, {}, {}
        for key, _, binary in self.targets:
            p, t = self.start(key, binary, self.fresh_db(key), one)
            if p is None:
                continue
            load_t[key] = Fig(t * 1000, "ms")
            load_m[key] = Fig(p.peak_mb(), "MB")
            running[key] = p
            tokens[key] = token(p.port, form(action="login", key=BENCH_KEY, fix_ip=0))
            log(f"loading {n} servers [{key}]: {fmt_ms(t * 1000)}, peak {load_m[key].text()}")
        servers = [(k, running.get(k)) for k, _, _ in self.targets]

        def listing(**extra):
            def reqs(key):
                t = tokens.get(key)
                return None if t is None else [f"POST /eq.php {form(action='list', token=t, **extra)}"]
            return reqs

        def count(v):
            got = len(v.get("servers") or [])
            return None if got == self.big_servers else f"{got} servers listed, not {self.big_servers}"

        self.latency_row(f"{n} servers in one account: eq/list (median)", "≤ 10 ms",
                         servers, listing(), count)
        self.latency_row(f"{n} servers in one account: eq/list full=1 (median)", "≤ 50 ms",
                         servers, listing(full=1), count)
        self.latency_row(f"{n} servers in one account: eq/list location=1 (median)", "≤ 10 ms",
                         servers, listing(location=1))
        for p in running.values():
            p.stop()
        self.add(f"loading {n} servers in one account: time to first answer", "≤ 1 s", load_t)
        self.add(f"loading {n} servers in one account: peak RSS", "≤ 64 MB", load_m)
        m_t, m_m = {}, {}
        label = f"{self.many_accounts} accounts x {self.per_account} servers"
        for key, _, binary in self.targets:
            p, t = self.start(key, binary, self.fresh_db(key), many)
            if p is None:
                continue
            m_t[key] = Fig(t * 1000, "ms")
            m_m[key] = Fig(p.peak_mb(), "MB")
            p.stop()
            log(f"loading {label} [{key}]: {fmt_ms(t * 1000)}, peak {m_m[key].text()}")
        self.add(f"loading {label}: time to first answer", "≤ 1 s", m_t)
        self.add(f"loading {label}: peak RSS", "≤ 64 MB", m_m)

    # -- output ------------------------------------------------------------------------------

    def print_table(self):
        """The Markdown table, with the load average and any notes."""
        cols = ["what", "emulator", "ceiling", "ratio", "p99"]
        base = len(self.targets) > 1
        if base:
            cols += [f"baseline {self.targets[1][1]}", "ratio", "p99"]
        cols.append("goal")
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for what, goal, figs, ratio in self.rows:
            ceil = figs.get("ceil", Fig())
            cells = [what]
            for i, (key, _, _) in enumerate(self.targets):
                f = figs.get(key, Fig())
                r = "-"
                if ratio and f.value and ceil.value:
                    r = f"{f.value / ceil.value:.2f}x"
                    # Each round's ratio (the targets took turns): the spread of the run.
                    each = [a / b for a, b in zip(f.rounds, ceil.rounds) if a and b]
                    if len(each) > 1:
                        r += f" ({min(each):.2f}-{max(each):.2f})"
                if i == 0:
                    cells += [f.text(), ceil.text(), r, fmt_ms(f.p99)]
                else:
                    cells += [f.text(), r, fmt_ms(f.p99)]
            cells.append(goal)
            lines.append("| " + " | ".join(cells) + " |")
        mode = "quick" if self.args.quick else "full"
        print()
        print(f"hostkey-emu benchmark ({mode} mode): wrk, {self.rounds} round(s) of "
              f"{self.round_s} s per target and load row, the targets taking turns, "
              f"{os.cpu_count()} CPUs, --task-speed instant, database files under /tmp")
        print(f"load average (1/5/15 min): {self.load_start} at start, {self.load_end} at end")
        print()
        print("\n".join(lines))
        if self.notes:
            print()
            print("notes:")
            for n in self.notes:
                print(f"- {n}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True, help="scratch directory (databases, logs)")
    ap.add_argument("--emu", required=True, help="the emulator's release binary")
    ap.add_argument("--ceiling", required=True, help="the ceiling example's release binary")
    ap.add_argument("--baseline", help="a baseline build of the emulator")
    ap.add_argument("--baseline-name", help="how the table names the baseline")
    ap.add_argument("--quick", action="store_true", help="short loads and small scenarios")
    args = ap.parse_args()
    b = Bench(args)
    try:
        b.run()
    finally:
        b.stop_all()


if __name__ == "__main__":
    main()
