#!/usr/bin/env python3
"""The soak behind bench/soak.sh: a steady mixed load for a bounded time, sampling the
database's size on disk and the emulator's resident memory, to show that both level off.

    soak.py --emu BIN --work DIR [--seconds N] [--interval N] [--rate N]

The emulator runs at --task-speed instant with short retention periods (seconds instead
of days, see RETENTION below), so that a few minutes cover many retention periods: the
figures must rise while the first records age, then stay flat. Every sample prints one
line; the end prints the growth of the database file and RSS over the last third of the
run against the middle third, and the largest write-ahead log seen.
Everything is bounded: the load runs for a fixed time, the start has a deadline, and the
emulator is stopped at the end.
"""

import argparse
import collections
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

DEMO_KEY = "deadbeef00000001-0123456789abcdef"
DEMO_USER = "demo@hostkey-emu.local"
DEMO_PASSWORD = "Demo-pass-1"
DEMO_PIN = "1234"
VM = "40101"  # oVirt VM: power actions and noVNC
SERVERS = ["40101", "40102", "40103", "40104"]
NO_REMOTE = "40105"  # remote hands only: jira tickets
# Retention in seconds of emulator time: short, so that the plateau shows within minutes.
RETENTION = ["--callback-retention", "20", "--unread-retention", "40", "--job-retention", "20",
             "--history-retention", "40", "--prune-interval", "5"]
# Tables whose rows the load adds; the samples count them.
TABLES = ["callbacks", "jobs", "api_key_history", "outbox", "sessions", "login_failures",
          "remote_hands", "console_sessions"]


def log(msg):
    """Progress on stderr, so that stdout carries only the results."""
    print(f"[soak] {msg}", file=sys.stderr, flush=True)


def free_port():
    """A port the kernel reports free on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive connection that POSTs forms and decodes the JSON answers."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def post(self, module, **fields):
        """The JSON answer, or {"error": ...} for a transport failure (then it reconnects)."""
        body = urllib.parse.urlencode(fields)
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.conn.request("POST", f"/{module}.php", body,
                                  {"Content-Type": "application/x-www-form-urlencoded"})
                r = self.conn.getresponse()
                data = r.read()
                if r.status != 200:
                    return {"error": f"HTTP {r.status}", "http": r.status}
                return json.loads(data)
            except (OSError, http.client.HTTPException, ValueError) as e:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                err = str(e)
        return {"error": err, "transport": True}


def token_of(v):
    """The token of a login answer, or None."""
    r = v.get("result")
    return r.get("token") if isinstance(r, dict) else None


class Soak:
    """The load, the samples and the verdict."""

    def __init__(self, args):
        self.args = args
        self.port = free_port()
        self.db = os.path.join(args.work, "soak.db")
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.done = collections.Counter()
        # Callback keys to read later; the oldest drop out unread when it is full, so the
        # age at which records are read stays steady.
        self.keys = collections.deque(maxlen=300)
        self.proc = None
        self.samples = []

    def start(self):
        """Starts the emulator on a fresh database file and waits for its first answer."""
        argv = [self.args.emu, "--db", self.db, "--listen", f"127.0.0.1:{self.port}",
                "--task-speed", "instant", *RETENTION]
        self.logfile = open(os.path.join(self.args.work, "soak-emu.log"), "ab")
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "warn")
        self.proc = subprocess.Popen(argv, stdout=self.logfile, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        end = time.time() + 600
        while time.time() < end:
            if self.proc.poll() is not None:
                raise SystemExit("soak: the emulator exited at start (see soak-emu.log)")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5):
                    pass
                if token_of(Client(self.port).post("auth", action="login", key=DEMO_KEY)):
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("soak: the emulator did not answer within 600 s")

    def count(self, what, v):
        """Counts an answer: ok, an API-level refusal, or a transport or HTTP error."""
        with self.lock:
            self.done["requests"] += 1
            if "transport" in v or "http" in v:
                self.done["errors"] += 1
            elif v.get("result") == -1:
                self.done["refused"] += 1
            self.done[what] += 1

    def worker(self, seed):
        """One connection sending a weighted mix of requests at its share of the rate."""
        rnd = random.Random(seed)
        c = Client(self.port)
        tok = token_of(c.post("auth", action="login", key=DEMO_KEY, fix_ip=0, ttl=2592000))
        mailed = self.mailed_key
        period = self.args.threads / self.args.rate
        ops = [
            (20, "status"), (8, "power"), (20, "check"), (10, "read"), (8, "login"),
            (4, "mailed_login"), (3, "check_pin"), (5, "tag"), (5, "novnc"), (3, "jira"),
            (2, "whmcslogin"), (3, "sensors"),
        ]
        weights = [w for w, _ in ops]
        names = [n for _, n in ops]
        nxt = time.time()
        while not self.stop.is_set():
            op = rnd.choices(names, weights)[0]
            server = rnd.choice(SERVERS)
            if op == "status":
                v = c.post("eq", action="status", token=tok, id=server)
                if v.get("callback") and rnd.random() < 0.5:
                    self.keys.append(v["callback"])  # half are read, half never are
            elif op == "power":
                v = c.post("eq", action=rnd.choice(["on", "off", "reboot"]), token=tok, id=VM)
                if v.get("callback"):
                    self.keys.append(v["callback"])
            elif op == "sensors":
                v = c.post("eq", action="sensors", token=tok, id="40102")
            elif op == "check":
                try:
                    key = self.keys.popleft()
                except IndexError:
                    key = "0" * 32
                v = c.post("eq_callback", action="check", key=key)
                if v.get("result") == "Not ready":
                    self.keys.append(key)
                    v = {"result": "OK"}
            elif op == "read":
                v = c.post("eq", action=rnd.choice(["show", "list"]), token=tok, id=server)
            elif op == "login":
                v = c.post("auth", action="login", key=DEMO_KEY, fix_ip=0, ttl=2592000)
            elif op == "mailed_login":
                v = c.post("auth", action="login", key=mailed, fix_ip=0)
            elif op == "check_pin":
                v = c.post("eq", action="check_pin", token=tok, pin=DEMO_PIN)
            elif op == "tag":
                v = c.post("tags", action="add", token=tok, id=server, tag="soak",
                           value=str(rnd.randrange(10**9)))
            elif op == "novnc":
                v = c.post("eq", action=rnd.choice(["novnc", "recreate_novnc"]), token=tok, id=VM)
            elif op == "jira":
                v = c.post("jira", action="request_check", token=tok, id=NO_REMOTE)
            else:
                v = c.post("auth", action="whmcslogin", user=DEMO_USER, password=DEMO_PASSWORD,
                           fix_ip=0)
            self.count(op, v)
            nxt += period
            pause = nxt - time.time()
            if pause > 0:
                time.sleep(pause)
            else:
                nxt = time.time()

    def guesser(self):
        """Wrong keys from one address for a fixed set of key prefixes: throttled at once."""
        c = Client(self.port)
        n = 0
        while not self.stop.is_set():
            prefix = f"0bad{n % 8:012x}"
            self.count("guess", c.post("auth", action="login", key=f"{prefix}-0123456789abcdef"))
            n += 1

    def rss_mb(self):
        """The emulator's resident memory (VmRSS) in MB."""
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def file_mb(self, suffix=""):
        """The size of the database file (or of its write-ahead log, `-wal`) in MB."""
        try:
            return os.path.getsize(self.db + suffix) / 1e6
        except OSError:
            return 0.0

    def rows(self):
        """Rows per table, read from the live database (read-only)."""
        try:
            con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
            try:
                return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
            finally:
                con.close()
        except sqlite3.Error as e:
            return {"error": str(e)}

    def sample(self, started):
        """One line of figures."""
        with self.lock:
            done = dict(self.done)
        s = {"t": time.time() - started, "requests": done.get("requests", 0),
             "errors": done.get("errors", 0), "db_mb": self.file_mb(),
             "wal_mb": self.file_mb("-wal"), "rss_mb": self.rss_mb(),
             "rows": self.rows()}
        self.samples.append(s)
        rows = " ".join(f"{k}={v}" for k, v in s["rows"].items())
        print(f"| {s['t']:6.0f} s | {s['requests']:8d} | {s['errors']:4d} | {s['db_mb']:7.2f} | "
              f"{s['wal_mb']:7.2f} | {s['rss_mb']:7.1f} | {rows} |", flush=True)

    def run(self):
        """Starts the emulator, runs the load for the given time, samples, stops, judges."""
        log(f"starting {self.args.emu} on 127.0.0.1:{self.port}")
        self.start()
        admin = Client(self.port)
        tok = token_of(admin.post("auth", action="login", key=DEMO_KEY, fix_ip=0, ttl=2592000))
        v = admin.post("api_keys", action="add", token=tok, **{
            "params[name]": "soak", "params[login_notify_method]": "email",
            "params[login_notify_address]": "soak@example.com"})
        self.mailed_key = v["data"]["api_key"]
        threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                   for i in range(self.args.threads)]
        threads.append(threading.Thread(target=self.guesser, daemon=True))
        started = time.time()
        log(f"{self.args.seconds} s of mixed load at about {self.args.rate} requests/s, "
            f"a sample every {self.args.interval} s")
        print("| time | requests | errors | DB MB | WAL MB | RSS MB | rows |")
        print("|---|---|---|---|---|---|---|")
        for t in threads:
            t.start()
        try:
            while time.time() - started < self.args.seconds:
                time.sleep(min(self.args.interval, self.args.seconds - (time.time() - started)))
                if self.proc.poll() is not None:
                    self.logfile.flush()
                    with open(self.logfile.name, encoding="utf-8", errors="replace") as f:
                        tail = "".join(f.readlines()[-5:])
                    raise SystemExit(f"soak: the emulator exited ({self.proc.returncode}) "
                                     f"after {time.time() - started:.0f} s:\n{tail}")
                self.sample(started)
        finally:
            self.stop.set()
            for t in threads:
                t.join(timeout=30)
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self.verdict()

    def verdict(self):
        """Growth of the highest DB size and RSS over the last third against the middle third."""
        n = len(self.samples)
        if n < 3:
            print("\ntoo few samples for a verdict (run longer)")
            return
        mid = self.samples[n // 3: 2 * n // 3]
        last = self.samples[2 * n // 3:]
        print()
        for field, name in (("db_mb", "database file"), ("rss_mb", "resident memory")):
            a = max(s[field] for s in mid)
            b = max(s[field] for s in last)
            growth = (b - a) / a * 100 if a else float("nan")
            print(f"{name}: {a:.2f} MB at most in the middle third, {b:.2f} MB in the last "
                  f"third ({growth:+.1f}%)")
        # The log grows between checkpoints (SQLite's own at about 4 MB, the prune's) and is
        # emptied by them: its size is bounded, not flat.
        print(f"write-ahead log: {max(s['wal_mb'] for s in self.samples):.2f} MB at most")
        with self.lock:
            print(f"requests: {self.done['requests']}, transport or HTTP errors: "
                  f"{self.done['errors']}, API refusals: {self.done['refused']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--emu", required=True, help="the emulator binary")
    ap.add_argument("--work", required=True, help="a scratch directory")
    env = os.environ.get
    ap.add_argument("--seconds", type=int, default=int(env("SOAK_SECONDS", "300")))
    ap.add_argument("--interval", type=int, default=int(env("SOAK_INTERVAL", "15")))
    ap.add_argument("--rate", type=float, default=float(env("SOAK_RATE", "150")))
    ap.add_argument("--threads", type=int, default=int(env("SOAK_THREADS", "6")))
    Soak(ap.parse_args()).run()


if __name__ == "__main__":
    main()
