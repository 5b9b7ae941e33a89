#!/usr/bin/env python3
"""
test_spool.py: the client's offline spool, end to end.

The daemon is stopped, check-ins made with the real client go to the spool
(exit 5, ids on stdout), `pingan queue` lists them, the daemon comes back on
the same database and `pingan sync` delivers every record exactly once with
the event time the client recorded, not the time of the sync.  Also: a torn
spool line loses nothing, another worker's records stay, refused records
move to spool.rejected, parallel clients lose nothing, and the field-work
writes (patrol, screening, duty) work live and through the spool when the
server speaks them.
"""

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like  # noqa: E402

SAVED = "已存入离线队列"
ID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                   r"[0-9a-f]{12}\b")


class Client:
    """The real client with the daemon's home and no XDG_STATE_HOME."""

    def __init__(self, d):
        self.d = d
        self.env = h.clean_env(d.home)
        self.env.pop("XDG_STATE_HOME", None)
        self.dir = os.path.join(d.home, ".local", "state", "pingan")
        self.spool = os.path.join(self.dir, "spool")
        self.rejected = os.path.join(self.dir, "spool.rejected")

    def run(self, *args, worker="P001", timeout=60):
        argv = self.d.client_argv(list(args), worker=worker)
        return h.run(argv, timeout=timeout, env=self.env)

    def popen(self, *args, worker="P001"):
        argv = self.d.client_argv(list(args), worker=worker)
        return subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def queue(self):
        rc, out, err = self.run("queue", "--json", worker=None)
        try:
            return json.loads(out)
        except ValueError:
            ok(False, "queue --json prints JSON", rc, out, err)
            return {"records": [], "damaged": -1}

    def spool_line(self, worker, request, created_ms=None):
        """A spool record made here, as src/spool.c makes them."""
        crc = zlib.crc32(request.encode("utf-8")) & 0xffffffff
        return "v1 %d %s %08x %s\n" % (
            created_ms or int(time.time() * 1000), worker, crc, request)

    def add_raw(self, text):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        with open(self.spool, "ab") as f:
            f.write(text.encode("utf-8") if isinstance(text, str) else text)


def event_ms(d, ident):
    rows = h.checkin_rows(d.db_path, ident)
    return rows[0]["_event"] if len(rows) == 1 else None


def test_direct(d, c):
    rc, out, err = c.run("checkin", "--grid", "DK-01", "--kind", "patrol",
                         "--note", "在线")
    is_(rc, 0, "a check-in while the server is up: exit 0", err)
    ident = out.strip()
    is_(len(h.checkin_rows(d.db_path, ident)), 1, "it is stored directly")
    ok(SAVED not in err, "and not spooled", err)
    q = c.queue()
    is_(len(q["records"]), 0, "the spool is empty")


def test_offline(d, c):
    is_(d.stop(), 0, "SIGTERM: pingand exits 0")

    made = []
    for i in range(5):
        t0 = time.time()
        rc, out, err = c.run("checkin", "--grid", "DK-0%d" % (i % 3 + 1),
                             "--kind", "visit", "--note", "离线走访 %d" % i,
                             timeout=30)
        t1 = time.time()
        is_(rc, 5, "check-in %d with the server down: exit 5" % i, err)
        ident = out.strip()
        ok(h.UUID_RE.match(ident), "the id on stdout", out)
        like(err, SAVED + r".*\(saved offline, will be sent later\): " +
             re.escape(ident), "the message says it was saved offline")
        made.append((ident, t0, t1))

    st = os.stat(c.spool)
    is_(st.st_mode & 0o777, 0o600, "the spool file is 0600")
    is_(os.stat(c.dir).st_mode & 0o777, 0o700, "its directory is 0700")

    rc, out, err = c.run("queue", worker=None)
    is_(rc, 0, "pingan queue: exit 0", err)
    listed = [l for l in out.splitlines() if ID_RE.search(l)]
    is_(len(listed), 5, "pingan queue lists 5 records", out)
    for ident, _, _ in made:
        ok(ident in out, "queue shows %s" % ident[:8])
    like(out, r"P001", "with the worker")
    like(out, r"CHECKIN", "the verb")
    like(out, r"\d+秒|\d+分", "and the age")
    q = c.queue()
    is_([r["id"] for r in q["records"]], [m[0] for m in made],
        "queue --json: the 5 ids in order")
    ok(all(r["worker"] == "P001" and r["verb"] == "CHECKIN" and
           "at" in r["fields"] for r in q["records"]),
       "each with worker, verb and its at=", q)

    # sync while the server is still down: nothing is lost.
    rc, out, err = c.run("sync")
    is_(rc, 5, "sync with the server down: exit 5", out, err)
    like(out, r"still waiting 5\b", "it says 5 still wait", out)
    is_(len(c.queue()["records"]), 5, "the 5 records are still there")

    # A crash mid-write leaves a torn line; the next append goes after it.
    c.add_raw("v1 1795698300000 P001 0badc0de CHECKIN id=%s grid=DK" %
              h.new_id())
    q = c.queue()
    is_((len(q["records"]), q["damaged"]), (5, 1),
        "a torn last line: 5 records, 1 damaged line")
    t0 = time.time()
    rc, out, err = c.run("checkin", "--grid", "DK-02", "--kind", "other",
                         "--note", "撕裂之后")
    t1 = time.time()
    is_(rc, 5, "a check-in after the torn line: exit 5", err)
    like(err, r"1 damaged line", "it reports the damaged line once", err)
    made.append((out.strip(), t0, t1))
    q = c.queue()
    is_((len(q["records"]), q["damaged"]), (6, 0),
        "the 5 records and the new one are whole; the torn line is gone")
    with open(c.spool, "rb") as f:
        ok(f.read().endswith(b"\n"), "the spool ends with a newline")
    with open(c.rejected, encoding="utf-8") as f:
        rej = f.read()
    like(rej, r"damaged \(torn\)\nv1 1795698300000 P001 0badc0de",
         "the torn line was moved to spool.rejected", rej)

    # Parallel clients do not lose each other's records (the lock).
    procs = [c.popen("checkin", "--grid", "CJ-01", "--kind", "patrol",
                     "--note", "并发 %d" % i) for i in range(8)]
    par = []
    for p in procs:
        out, err = p.communicate(timeout=60 * h.SLOW)
        par.append((p.returncode, out.decode().strip(), err.decode()))
    is_([r[0] for r in par], [5] * 8, "8 parallel offline check-ins: exit 5",
        [r[2] for r in par])
    q = c.queue()
    ids = [r["id"] for r in q["records"]]
    ok(all(r[1] in ids for r in par) and len(ids) == 14,
       "all 14 records are in the spool", ids)
    for r in par:
        made.append((r[1], None, None))

    # Another torn line, left for the sync: it loses no good record.
    c.add_raw("v1 1795698300000 P001 0badc0de CHECKIN id=")
    q = c.queue()
    is_((len(q["records"]), q["damaged"]), (14, 1),
        "a second torn line: the 14 records whole, 1 damaged line")

    d.restart()
    rc, out, err = c.run("sync")
    is_(rc, 0, "sync after the restart: exit 0", out, err)
    like(out, r"sent 14, duplicates 0, rejected 0, still waiting 0",
         "it sent 14", out)
    like(err, r"1 damaged line", "it reported the second torn line", err)

    stored = h.stored_ids(d.db_path)
    ok(all(m[0] in stored for m in made), "every id is in the database")
    is_(h.repeated_ids(d.db_path), [], "none stored twice")
    restart_ms = time.time() * 1000
    for ident, t0, t1 in made:
        if t0 is None:
            continue
        ev = event_ms(d, ident)
        ok(ev is not None and t0 * 1000 - 1000 <= ev <= t1 * 1000 + 1000,
           "%s kept the time it was made, not the sync's" % ident[:8],
           "event %r, made %r..%r, synced ~%r" %
           (ev, t0 * 1000, t1 * 1000, restart_ms))
    is_(c.queue()["records"], [], "the spool is empty")
    with open(c.rejected, encoding="utf-8") as f:
        rej = f.read()
    is_(len(re.findall(r"damaged \(", rej)), 2,
        "both damaged lines went to spool.rejected", rej)

    rc, out, err = c.run("sync")
    is_(rc, 0, "sync again: exit 0", out, err)
    like(out, r"nothing to send", "nothing to send")
    n = h.checkin_count(d.db_path)
    rc, out, err = c.run("sync")
    is_(h.checkin_count(d.db_path), n, "and nothing is stored again")

    rc, out, err = c.run("checkin", "--grid", "DK-01", "--kind", "patrol")
    is_(rc, 0, "a check-in while up: exit 0", err)
    is_(len(h.checkin_rows(d.db_path, out.strip())), 1, "stored directly")


def test_spool_rules(d, c):
    """Other workers' records stay; refused ones move; duplicates go."""
    at = "2026-11-26T08:00:00+08:00"
    other = h.new_id()
    mine_bad = h.new_id()
    mine_dup = h.new_id()
    rc, out, err = c.run("checkin", "--grid", "DK-01", "--kind", "patrol",
                         "--id", mine_dup)
    is_(rc, 0, "store a record first", err)
    c.add_raw(c.spool_line("G002", "CHECKIN id=%s grid=DK-02 kind=visit "
                           "note=\"叶春华的记录\" at=%s" % (other, at)))
    c.add_raw(c.spool_line("P001", "CHECKIN id=%s grid=XX-99 kind=patrol "
                           "at=%s" % (mine_bad, at)))
    c.add_raw(c.spool_line("P001", "CHECKIN id=%s grid=DK-01 kind=patrol "
                           "at=%s" % (mine_dup, at)))
    q = c.queue()
    is_(len(q["records"]), 3, "three records made by hand (Python's CRC)")

    rc, out, err = c.run("checkin", "--grid", "DK-03", "--kind", "visit")
    is_(rc, 0, "P001's check-in: exit 0 (its own record was stored)", err)
    like(err, r"第1条离线记录被服务器拒绝.*a queued record was refused: "
         r"unknown_grid", "the refused queued record is reported", err)
    like(err, r"已补发 1 条|sent 1 queued", "the duplicate counts as sent",
         err)
    ids = [r["id"] for r in c.queue()["records"]]
    is_(ids, [other], "only G002's record stays")
    with open(c.rejected, encoding="utf-8") as f:
        rej = f.read()
    ok(mine_bad in rej and "unknown_grid" in rej,
       "the refused record is in spool.rejected with the reason", rej)
    is_(len(h.checkin_rows(d.db_path, mine_dup)), 1,
        "the duplicate is stored once")

    rc, out, err = c.run("sync")
    is_(rc, 0, "P001's sync: exit 0 (nothing of P001's left)", out, err)
    like(out, r"1 records of other workers", "it says G002's waits", out)
    rc, out, err = c.run("sync", worker="G002")
    is_(rc, 0, "G002's sync: exit 0", out, err)
    like(out, r"sent 1,", "G002's record is sent", out)
    rows = h.checkin_rows(d.db_path, other)
    ok(len(rows) == 1 and rows[0]["_worker"] == "G002" and
       rows[0]["_note"] == "叶春华的记录",
       "stored as G002, the Chinese note byte-exact", rows)
    is_(c.queue()["records"], [], "the spool is empty")

    rc, out, err = c.run("queue", worker=None)
    like(out, r"empty", "queue says the spool is empty", out)
    like(out, r"spool\.rejected", "and where the refused records are", out)


def field_ok(rc, err, name):
    if rc == 1 and "unknown_command" in err:
        h.skip(name, "the server does not speak field work yet")
        return False
    return True


def test_field_live(d, c):
    """patrol start/point/end, screening --zero, duty on/off, live."""
    rc, out, err = c.run("patrol", "start", "--type", "security",
                         "--villages", "DK", "--members", "P009",
                         worker="P002")
    if not field_ok(rc, err, "patrol start"):
        return False
    is_(rc, 0, "patrol start: exit 0", err)
    patrol = out.strip()
    ok(h.UUID_RE.match(patrol), "it prints the patrol id", out)
    state = os.path.join(c.dir, "patrol-P002")
    with open(state) as f:
        is_(f.read().strip(), patrol, "and remembers it")
    rc, out, err = c.run("patrol", "point", "--checkpoint", "DK-Q1",
                         "--lat", "25.39", "--lon", "114.36", worker="P002")
    is_(rc, 0, "patrol point (the remembered patrol): exit 0", err)
    rc, out, err = c.run("patrol", "point", "--patrol", patrol, "--note",
                         "村口", worker="P009")
    is_(rc, 0, "patrol point by another member with --patrol: exit 0", err)
    rc, out, err = c.run("patrol", "end", "--summary", "无异常",
                         worker="P002")
    is_(rc, 0, "patrol end: exit 0", err)
    ok(not os.path.exists(state), "and forgets the patrol")
    rc, out, err = c.run("patrol", "point", worker="P002")
    is_(rc, 2, "patrol point without a current patrol: usage", err)
    rc, out, err = c.run("patrol", "point", "--patrol", patrol,
                         worker="P002")
    is_(rc, 1, "a point for an ended patrol: exit 1", err)
    like(err, r"patrol_closed", "patrol_closed")

    rc, out, err = c.run("screening", "--grid", "DK-01", "--zero",
                         worker="G002")
    is_(rc, 0, "screening --zero: exit 0", err)
    rc, out, err = c.run("screening", "--grid", "DK-02", "--item",
                         "邻里纠纷一起", worker="G002")
    is_(rc, 0, "screening --item: exit 0", err)
    rc, out, err = c.run("screening", "--grid", "CJ-01", "--zero",
                         worker="G002")
    is_(rc, 1, "screening of another village: exit 1", err)
    like(err, r"forbidden", "forbidden")

    duty = "D000" if "D000" in d.creds else "S001"
    rc, out, err = c.run("duty", "on", "--post", "TOWN", worker=duty)
    is_(rc, 0, "duty on (%s at TOWN): exit 0" % duty, err)
    rc, out, err = c.run("duty", "off", "--post", "TOWN", worker=duty)
    is_(rc, 0, "duty off: exit 0", err)

    con = h.db_connect(d.db_path)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")]
        if "patrol" in tables:
            n = con.execute("SELECT count(*) FROM patrol WHERE client_id = ?",
                            (uuid.UUID(patrol).bytes,)).fetchone()[0]
            is_(n, 1, "the patrol is in the database")
            n = con.execute("SELECT count(*) FROM patrol_point p JOIN patrol "
                            "t ON t.id = p.patrol_id WHERE t.client_id = ?",
                            (uuid.UUID(patrol).bytes,)).fetchone()[0]
            is_(n, 2, "with its two points")
    finally:
        con.close()
    return True


def test_field_offline(d, c):
    """A whole patrol and a duty shift made offline, then synced."""
    is_(d.stop(), 0, "SIGTERM again")
    t0 = time.time()
    rc, out, err = c.run("patrol", "start", "--type", "forest_fire",
                         "--grids", "HZ-01,HZ-02", worker="P004")
    is_(rc, 5, "patrol start offline: exit 5", err)
    patrol = out.strip()
    rc, out, err = c.run("patrol", "point", "--checkpoint", "HZ-F3",
                         worker="P004")
    is_(rc, 5, "patrol point offline (the remembered patrol): exit 5", err)
    rc, out, err = c.run("patrol", "end", "--summary", "无火情",
                         worker="P004")
    is_(rc, 5, "patrol end offline: exit 5", err)
    rc, out, err = c.run("screening", "--grid", "HZ-01", "--zero",
                         worker="G004")
    is_(rc, 5, "screening offline: exit 5", err)
    t1 = time.time()
    verbs = [r["verb"] for r in c.queue()["records"]]
    is_(verbs, ["PATROL-START", "PATROL-POINT", "PATROL-END", "SCREENING"],
        "queue lists them in order")

    d.restart()
    rc, out, err = c.run("sync", worker="P004")
    is_(rc, 0, "P004's sync: exit 0", out, err)
    like(out, r"sent 3, duplicates 0, rejected 0, still waiting 0",
         "start, point and end sent in order", out, err)
    rc, out, err = c.run("sync", worker="G004")
    is_(rc, 0, "G004's sync: exit 0", out, err)
    con = h.db_connect(d.db_path)
    try:
        row = con.execute("SELECT start_ms, end_ms, received_ms FROM patrol "
                          "WHERE client_id = ?",
                          (uuid.UUID(patrol).bytes,)).fetchone()
    finally:
        con.close()
    ok(row is not None and t0 * 1000 - 1000 <= row[0] <= t1 * 1000 + 1000,
       "the patrol started when it was made offline", row, t0, t1)
    ok(row is not None and row[1] is not None and row[1] >= row[0],
       "and ended", row)


class FakeServer:
    """A one-connection-at-a-time server that answers as a script says.

    script(lines) gets the request lines read so far and returns what to
    send back (a str), or None to close the connection without a word.
    """

    def __init__(self, greeting, script):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.greeting = greeting
        self.script = script
        self.seen = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.sendall(self.greeting.encode())
                except OSError:
                    continue
                if not self.greeting.startswith("OK"):
                    continue
                buf = b""
                lines = []
                while True:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        lines.append(line.decode())
                        self.seen.append(line.decode())
                        out = self.script(lines)
                        if out is None:
                            lines = None
                            break
                        try:
                            conn.sendall(out.encode())
                        except OSError:
                            lines = None
                            break
                    if lines is None:
                        break

    def close(self):
        self.sock.close()


def field(line, key):
    m = re.search(r"\b%s=(\S+)" % key, line)
    return m.group(1) if m else None


def test_fake_servers(d, c):
    """Connection lost before the reply, ERR storage, a busy greeting."""
    def argv_for(port, *args, worker="P001"):
        argv = d.client_argv(list(args), worker=worker)
        i = argv.index("--server")
        argv[i + 1] = "127.0.0.1:%d" % port
        return argv

    def run(port, *args, worker="P001"):
        return h.run(argv_for(port, *args, worker=worker), env=c.env)

    # AUTH is answered, then the connection drops before the reply.
    def drop(lines):
        if lines[-1].startswith("AUTH "):
            return "OK P001 patrol\n"
        return None
    fs = FakeServer("OK pingan/1 pingand/fake ready\n", drop)
    rc, out, err = run(fs.port, "checkin", "--grid", "DK-01", "--kind",
                       "patrol")
    is_(rc, 5, "connection lost before the reply: exit 5", err)
    like(err, r"关闭了连接|closed", "it says the connection closed", err)
    lost = out.strip()
    ok(any(lost in l for l in fs.seen), "the request had been sent")
    fs.close()

    # ERR storage for the queued record and the new one: both kept.
    def storage(lines):
        if lines[-1].startswith("AUTH "):
            return "OK P001 patrol\n"
        return "ERR storage 存储失败 (storage error)\n"
    fs = FakeServer("OK pingan/1 pingand/fake ready\n", storage)
    rc, out, err = run(fs.port, "checkin", "--grid", "DK-02", "--kind",
                       "visit")
    is_(rc, 5, "ERR storage: exit 5, spooled", err)
    like(err, r"storage", "it says why", err)
    kept = out.strip()
    sent = [field(l, "id") for l in fs.seen if l.startswith("CHECKIN")]
    is_(sent, [lost, kept], "the queued record went first, on the same "
        "connection")
    ok(all(" at=" in l for l in fs.seen if l.startswith("CHECKIN") and
           lost in l), "the queued record carries its at=")
    fs.close()

    # A busy server: ERR busy instead of the greeting.
    fs = FakeServer("ERR busy 连接过多 (too many connections)\n", drop)
    rc, out, err = run(fs.port, "checkin", "--grid", "DK-03", "--kind",
                       "other")
    is_(rc, 5, "ERR busy at the greeting: exit 5", err)
    busy = out.strip()
    fs.close()
    rc, out, err = run(fs.port, "sync")
    is_(rc, 5, "sync with nobody listening: exit 5", out, err)
    like(out, r"still waiting 3\b", "3 wait", out)

    # AUTH refused: nothing is sent, nothing leaves the spool.
    def refuse(lines):
        return "ERR auth_failed 认证失败 (authentication failed)\n"
    fs = FakeServer("OK pingan/1 pingand/fake ready\n", refuse)
    rc, out, err = run(fs.port, "sync")
    is_(rc, 1, "sync with a refused AUTH: exit 1", out, err)
    is_(len(c.queue()["records"]), 3, "the 3 records stay")
    fs.close()

    # The real server takes them; the ids are stored once.
    rc, out, err = c.run("sync")
    is_(rc, 0, "sync with the real server: exit 0", out, err)
    stored = h.stored_ids(d.db_path)
    ok(lost in stored and kept in stored and busy in stored,
       "all three are stored")
    is_(h.repeated_ids(d.db_path), [], "once each")


def main():
    d = h.Daemon()
    c = Client(d)
    rc, out, err = c.run("queue", "--help", worker=None)
    is_(rc, 0, "queue --help: exit 0", err)
    rc, out, err = c.run("sync", "--help", worker=None)
    is_(rc, 0, "sync --help: exit 0", err)
    like(out, r"5", "sync --help tells exit status 5")
    rc, out, err = c.run("checkin", "--help", worker=None)
    like(out, r"5 .*offline spool", "checkin --help documents exit 5", out)

    test_direct(d, c)
    test_offline(d, c)
    test_spool_rules(d, c)
    test_fake_servers(d, c)
    if test_field_live(d, c):
        test_field_offline(d, c)
    else:
        h.skip("field work through the spool", "the server does not speak "
               "field work yet")
    is_(d.stop(), 0, "SIGTERM: exit 0")
    d.cleanup()


h.main(main)
