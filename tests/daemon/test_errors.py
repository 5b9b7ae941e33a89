#!/usr/bin/env python3
"""
test_errors.py: every ERR code that docs/PROTOCOL.md lists is produced here,
over a raw socket (TCP, or the admin UNIX socket for the admin codes).

The codes are read from the tables of docs/PROTOCOL.md whose first column
is `code`; a documented code without a scenario below fails the test, and
so does a scenario for a code the document does not list, so that the
list and the daemon cannot drift apart.
"""

import os
import re
import signal
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like  # noqa: E402

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "docs", "PROTOCOL.md")
BAD = "pa_" + "0" * 40


def documented_codes():
    """The first-column codes of every `| code | ...` table in the doc."""
    codes = []
    in_table = False
    with open(DOC, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if re.match(r"^\|\s*code\s*\|", line):
                in_table = True
                continue
            if not line.startswith("|"):
                in_table = False
                continue
            m = re.match(r"^\|\s*`([a-z0-9_]+)`\s*\|", line)
            if in_table and m and m.group(1) not in codes:
                codes.append(m.group(1))
    return codes


class Admin:
    """A raw connection to the admin UNIX socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10 * h.SLOW)
        self.sock.connect(path)
        self.f = self.sock.makefile("rb")
        self.greeting = self.f.readline().decode().rstrip("\n")

    def request(self, line, body=b""):
        """Sends a request; returns its final line (data lines skipped)."""
        self.sock.sendall(line.encode() + b"\n" + body)
        while True:
            r = self.f.readline().decode("utf-8", "replace").rstrip("\n")
            if not r.startswith("* "):
                return r

    def close(self):
        self.f.close()
        self.sock.close()


# ---- scenarios on the main daemon: each returns the reply line ------------

# Codes one request produces: (worker to AUTH as, or None; the request,
# where {id} and {id2} stand for fresh ids).
ONE_LINE = {
    "line_too_long": (None, "PING " + "x" * 600),
    "syntax": ("P001", 'CHECKIN grid=DK-01 kind=patrol note="unterminated'),
    "unknown_command": (None, "FROBNICATE"),
    "missing_field": ("P001", "CHECKIN kind=patrol"),
    "bad_field": ("P001", "CHECKIN grid=DK-01 kind=patrol colour=red"),
    "unknown_grid": ("P001", "CHECKIN grid=XX-99 kind=patrol"),
    "bad_time": ("P001", "CHECKIN grid=DK-01 kind=patrol at=yesterday"),
    "auth_required": (None, "CHECKIN grid=DK-01 kind=patrol"),
    "auth_failed": (None, "AUTH P001 " + BAD),
    "forbidden": ("P001", "SUMMARY"),		# supervisors only
    "not_found": ("P001", "PATROL-POINT id={id} patrol={id2}"),
    "unknown_village": ("P005", "PATROL-START id={id} type=security "
                        "villages=QQ"),
    "unknown_worker": ("P006", "PATROL-START id={id} type=security "
                       "villages=DK members=Z999"),
    "unknown_category": ("G002", "DISPUTE-REPORT id={id} village=DK "
                         "category=不存在 source=village summary=测试"),
}


def one_line(code):
    """A scenario that sends ONE_LINE[code] on a connection of its own."""
    worker, line = ONE_LINE[code]

    def scenario(d):
        with (d.authed(worker) if worker else d.conn()) as c:
            return c.request(line.format(id=h.new_id(), id2=h.new_id()))
    scenario.__name__ = "s_" + code
    return scenario


def s_bad_utf8(d):
    with d.conn() as c:
        c.send(b"PING \xff\xfe\n")
        return c.readline()


def s_patrol_closed(d):
    with d.authed("P003") as c:
        p = h.new_id()
        like(c.request("PATROL-START id=%s type=security villages=DK" % p),
             r"^OK %s started$" % p, "patrol_closed: a patrol starts")
        like(c.request("PATROL-END id=%s patrol=%s" % (h.new_id(), p)),
             r"^OK \S+ ended$", "patrol_closed: and ends")
        return c.request("PATROL-POINT id=%s patrol=%s" % (h.new_id(), p))


def s_patrol_busy(d):
    with d.authed("P004") as c:
        like(c.request("PATROL-START id=%s type=security villages=DK" %
                       h.new_id()), r"^OK \S+ started$",
             "patrol_busy: a patrol starts")
        return c.request("PATROL-START id=%s type=security villages=CJ" %
                         h.new_id())


def s_bad_transition(d):
    r = h.new_id()
    with d.authed("G002") as c:
        like(c.request("DISPUTE-REPORT id=%s village=DK category=邻里 "
                       "source=village summary=测试" % r),
             r"^OK %s reported$" % r, "bad_transition: a dispute reported")
    with d.authed("S001") as c:
        # Logging on a dispute that was never triaged.
        return c.request("DISPUTE-LOG id=%s dispute=%s action=visit note=走访" %
                         (h.new_id(), r))


def s_conflict(d):
    a = Admin(d.sock_path)
    try:
        r = a.request("WORKER-DISABLE code=P020")
        like(r, r"^OK", "conflict: P020 disabled")
        return a.request("TOKEN-ISSUE worker=P020")
    finally:
        a.close()


def s_import(d):
    a = Admin(d.sock_path)
    try:
        body = "code,name\n,无编号\n".encode()
        return a.request("IMPORT what=villages bytes=%d" % len(body), body)
    finally:
        a.close()


def s_auth_blocked(d):
    """Last on the main daemon: 127.0.0.1 stays blocked for a minute."""
    with d.conn() as c:
        for _ in range(3):
            like(c.request("AUTH P001 " + BAD), r"^ERR auth_failed ",
                 "auth_blocked: a failed AUTH")
        return c.request("AUTH P001 %s" % d.creds["P001"])


MAIN = [one_line(code) for code in ONE_LINE] + [
    s_bad_utf8, s_patrol_closed, s_patrol_busy, s_bad_transition, s_conflict,
    s_import, s_auth_blocked]

# ---- scenarios that need a daemon of their own -----------------------------


def lock_database(d):
    """Takes SQLite's write lock on the daemon's database; returns it."""
    con = sqlite3.connect(d.db_path, timeout=10, isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    return con


def s_storage(d):
    """The database stays locked past the writer's busy timeout (5 s)."""
    x = h.new_id()
    con = lock_database(d)
    with d.authed("P001") as c:
        try:
            r = c.request("CHECKIN id=%s grid=DK-01 kind=patrol" % x,
                          timeout=30)
        finally:
            con.rollback()
            con.close()
        is_(c.request("CHECKIN id=%s grid=DK-01 kind=patrol" % x,
                      timeout=30), "OK %s stored" % x,
            "storage: nothing was stored; once the lock is gone it is")
    return r


def s_busy(d):
    conns, r = [], None
    try:
        for _ in range(10):
            c = h.Conn(d.port)
            conns.append(c)
            if c.greeting and c.greeting.startswith("ERR "):
                r = c.greeting
                ok(c.closed_by_peer(), "busy: closed after the line")
                break
    finally:
        for c in conns:
            c.close()
    return r


def s_shutting_down(d):
    """SIGTERM while a read request line waits behind a write."""
    a, b = h.new_id(), h.new_id()
    # conn_max is 3: the busy scenario's connections must be gone first,
    # which takes a while when pingand runs slowly (valgrind)
    end = time.monotonic() + 10 * h.SLOW
    while True:
        try:
            c = d.authed("P001")
            break
        except RuntimeError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)
    con = lock_database(d)		# the first write waits at the writer
    try:
        c.send("CHECKIN id=%s grid=DK-01 kind=patrol\n"
               "CHECKIN id=%s grid=DK-01 kind=patrol\n" % (a, b))
        # pipeline_max 1: the second waits.  The lock must end before the
        # writer's 5 s busy timeout, however slow the build (valgrind).
        time.sleep(min(0.5 * h.SLOW, 2.0))
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(min(0.3 * h.SLOW, 1.0))
    finally:
        con.rollback()
        con.close()
    r = c.readlines(2, timeout=30)
    c.close()
    is_(r[:1], ["OK %s stored" % a],
        "shutting_down: the write already at the writer is committed")
    ok(h.wait_for(lambda: not d.alive(), 20 * h.SLOW),
       "shutting_down: the daemon exits by itself after SIGTERM")
    is_(d.stop(), 0, "shutting_down: with status 0")
    return r[1] if len(r) > 1 else None


OWN = [s_storage, s_busy, s_shutting_down]


def main():
    doc = documented_codes()
    ok(len(doc) >= 20, "docs/PROTOCOL.md lists the ERR codes", doc)
    scenarios = {f.__name__[2:]: f for f in MAIN + OWN}
    missing = [c for c in doc if c not in scenarios]
    extra = [c for c in scenarios if c not in doc]
    is_(missing, [], "every documented ERR code has a scenario here")
    is_(extra, [], "every scenario's code is documented")

    def run(d, fn):
        code = fn.__name__[2:]
        if code not in doc:
            return
        try:
            r = fn(d)
        except Exception as e:
            r = "exception: %r" % e
        like(r, r"^ERR %s " % code, "ERR %s is produced" % code)

    d = h.Daemon(demo=True, config={"auth_delay_ms": 10,
                                    "auth_block_after": 3,
                                    "auth_block_seconds": 60})
    for fn in MAIN:
        run(d, fn)
    ok(d.alive(), "pingand is still running")
    is_(d.stop(), 0, "SIGTERM: exit 0")
    d.cleanup(keep=h.failed() > 0)

    d = h.Daemon(demo=True, config={"conn_max": 3, "pipeline_max": 1})
    for fn in OWN:
        run(d, fn)
    if d.alive():
        d.stop()
    d.cleanup(keep=h.failed() > 0)


h.main(main)
