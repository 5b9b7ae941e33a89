#!/usr/bin/env python3
"""
test_hostile.py: hostile and broken clients.

- failed AUTH is throttled per address: the delay doubles, then the address
  is blocked (logged once, ERR auth_blocked at once even with a good token,
  the client keeps its record for later), and the block ends;
- nothing sent before AUTH reaches the writer, and the line limit is
  tighter before AUTH;
- a slowloris before AUTH is closed by auth_timeout although it keeps
  sending;
- a client that pipelines and never reads: the daemon stops reading from
  it (output_max), its memory stays bounded, and idle_timeout closes it;
- out of descriptors (RLIMIT_NOFILE lowered with prlimit): accepting
  pauses without spinning, the daemon keeps serving the connections it
  has, logs the pause once, and accepts again once descriptors free up.
"""

import os
import resource
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like  # noqa: E402

BAD = "pa_" + "0" * 40


def timed_request(c, line):
    t0 = time.monotonic()
    r = c.request(line)
    return r, time.monotonic() - t0


def test_auth_throttle():
    d = h.Daemon(demo=True, config={
        "auth_delay_ms": 100, "auth_delay_max_ms": 400,
        "auth_block_after": 4, "auth_block_window": 60,
        "auth_block_seconds": 3})
    a = d.conn()
    r, t1 = timed_request(a, "AUTH P001 " + BAD)
    like(r, r"^ERR auth_failed ", "1st failure: auth_failed")
    ok(t1 >= 0.09, "1st failure answered after auth_delay_ms", "%.3f s" % t1)
    r, t2 = timed_request(a, "AUTH P002 " + BAD)
    ok(t2 >= 0.19, "2nd failure from the address: twice the delay",
       "%.3f s" % t2)
    # Another connection from the same address shares the count.
    b = d.conn()
    r, t3 = timed_request(b, "AUTH Z999 " + BAD)
    like(r, r"^ERR auth_failed ", "3rd failure, another connection")
    ok(t3 >= 0.39, "the count is per address, not per connection",
       "%.3f s" % t3)
    is_(b.request("PING"), "OK PONG", "not blocked yet")
    r, t4 = timed_request(b, "AUTH P001 " + BAD)
    like(r, r"^ERR auth_failed ", "4th failure: still auth_failed")
    ok(t4 >= 0.39, "capped at auth_delay_max_ms", "%.3f s" % t4)

    # Blocked now: even the right token is refused, at once.
    c = d.conn()
    is_(c.request("PING"), "OK PONG", "a blocked address may still PING")
    r = c.request("AUTH P001 %s" % d.creds["P001"])
    like(r, r"^ERR auth_blocked .*'[0-9]+ s'$",
         "blocked: the right token gets auth_blocked, with the seconds left")
    ok(c.closed_by_peer(), "and the connection is closed")
    c.close()
    like(a.request("AUTH P001 %s" % d.creds["P001"]), r"^ERR auth_blocked ",
         "an older connection from the address is blocked too")
    a.close()
    b.close()
    rc, out, err = d.client("checkin", "--grid", "DK-01", "--kind", "patrol",
                            "--note", "封锁期间")
    is_(rc, 5, "the client keeps its record for later (exit 5) while "
        "its address is blocked", out, err)
    blocks = [l for l in d.log() if "failed AUTH from this address" in l]
    is_(len(blocks), 1, "the block is logged once", *blocks)
    ok(blocks and "127.0.0.1" in blocks[0], "with the address", *blocks)

    # The block ends after auth_block_seconds.
    def authed():
        c = d.conn()
        r = c.request("AUTH P001 %s" % d.creds["P001"])
        c.close()
        return r if r and r.startswith("OK ") else None
    is_(h.wait_for(authed, 8, step=0.5), "OK P001 patrol",
        "after auth_block_seconds the right token is taken again")
    rc, out, err = d.client("sync")
    is_(rc, 0, "and the record kept meanwhile is sent", out, err)

    # A success forgot the failures: three more do not block, a 4th does.
    c = d.conn()
    for i in range(3):
        c.request("AUTH P001 " + BAD)
    r = c.request("AUTH P001 %s" % d.creds["P001"])
    is_(r, "OK P001 patrol", "3 failures after a success: not blocked")
    c.close()
    c = d.conn()
    for i in range(4):
        c.request("AUTH P001 " + BAD)
    like(c.request("AUTH P001 %s" % d.creds["P001"]), r"^ERR auth_blocked ",
         "4 failures in a row: blocked again")
    c.close()
    blocks = [l for l in d.log() if "failed AUTH from this address" in l]
    is_(len(blocks), 2, "the second block is logged once more", *blocks)
    is_(d.stop(), 0, "SIGTERM: exit 0 (throttle daemon)")
    d.cleanup(keep=h.failed() > 0)


def table_counts(db_path):
    con = h.db_connect(db_path)
    try:
        names = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND "
            "name NOT LIKE 'sqlite_%'")]
        return {n: con.execute('SELECT count(*) FROM "%s"' % n).fetchone()[0]
                for n in names}
    finally:
        con.close()


def test_before_auth(d):
    before = table_counts(d.db_path)
    c = d.conn()
    ids = [h.new_id() for _ in range(6)]
    writes = [
        "CHECKIN id=%s grid=DK-01 kind=patrol" % ids[0],
        "PATROL-START id=%s type=security villages=DK" % ids[1],
        "SCREENING id=%s grid=DK-01 zero=yes" % ids[2],
        "DUTY-ON id=%s post=TOWN" % ids[3],
        "DISPUTE-REPORT id=%s village=DK category=邻里 source=village "
        "summary=未登录" % ids[4],
        "RISK-ADD id=%s person=某人 reason=未登录 cadre=S001" % ids[5],
        "SUMMARY", "DISPUTE-LIST", "AUDIT-LIST", "REPORT kind=year",
    ]
    c.send("".join(w + "\n" for w in writes))
    replies = c.readlines(len(writes))
    ok(len(replies) == len(writes) and
       all(r.startswith("ERR auth_required ") for r in replies),
       "every request but AUTH/PING/HELP/QUIT before AUTH: auth_required",
       *replies)
    # A failed AUTH with a write pipelined behind it.
    x = h.new_id()
    c.send("AUTH P001 %s\nCHECKIN id=%s grid=DK-01 kind=patrol\n" % (BAD, x))
    r = c.readlines(2)
    ok(len(r) == 2 and r[0].startswith("ERR auth_failed ") and
       r[1].startswith("ERR auth_required "),
       "a write behind a failed AUTH: auth_required", r)
    # Before AUTH the line limit is line_max_unauth (512); after, line_max.
    note = "巡" * 200		# 600 bytes of UTF-8
    line = "CHECKIN grid=DK-01 kind=patrol note=%s" % note
    like(c.request(line), r"^ERR line_too_long ",
         "a 640-byte line before AUTH: line_too_long")
    is_(c.request("AUTH P001 %s" % d.creds["P001"]), "OK P001 patrol",
        "AUTH after all that")
    like(c.request(line), r"^OK \S+ stored$",
         "the same line after AUTH is taken")
    # The writer takes jobs in order: this one committed means nothing
    # from before AUTH was waiting behind it.
    for w, i in ((writes[0], ids[0]), (writes[1], ids[1])):
        r = c.request(w)
        like(r, r"^OK %s (stored|started)$" % i,
             "resent after AUTH: stored now, not a duplicate", r)
    c.close()
    after = table_counts(d.db_path)
    changed = {k: after[k] - before.get(k, 0) for k in after
               if before.get(k) != after[k]}
    # Two check-ins and one patrol (with its member and area), their
    # day counts, and nothing else: no screening, duty, dispute, risk or
    # audit row.
    allowed = {"checkin", "checkin_village_day", "checkin_worker_day",
               "patrol", "patrol_member", "patrol_area"}
    ok(set(changed) <= allowed and changed.get("checkin") == 2 and
       changed.get("patrol") == 1,
       "the database holds only what was sent after AUTH", changed)


def test_slowloris_before_auth():
    d = h.Daemon(demo=False, config={"auth_timeout": 2, "idle_timeout": 60})
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.recv(100)		# the greeting
    s.settimeout(0)
    t0 = time.monotonic()
    closed, sent = False, 0
    while time.monotonic() - t0 < 10 * h.SLOW and not closed:
        try:
            s.send(b"A")
            sent += 1
        except OSError:
            closed = True
            break
        time.sleep(0.25)
        try:
            closed = s.recv(100) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed = True
    ok(closed, "a client sending a byte every 0.25 s without a line is "
       "closed by auth_timeout (2 s) although it never falls silent",
       "sent %d bytes in %.1f s" % (sent, time.monotonic() - t0))
    ok(sent >= 4, "it did send bytes until then", "sent %d" % sent)
    s.close()
    is_(d.stop(), 0, "SIGTERM: exit 0 (slowloris daemon)")
    d.cleanup(keep=h.failed() > 0)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_non_reader():
    # Under ASan, freed memory waits in a quarantine (256 MB by default)
    # and would count as growth: keep it small for this daemon.
    saved = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = ((saved + ":") if saved else "") + \
        "quarantine_size_mb=4"
    try:
        d = h.Daemon(demo=True, config={"output_max": 4096,
                                        "idle_timeout": 4 * h.SLOW,
                                        "log_level": "debug"})
    finally:
        if saved is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = saved
    pid = d.proc.pid
    c = d.authed("P001", rcvbuf=4096)
    rss0 = rss_kb(pid)
    cap = 64 << 20
    chunk = b"PING\n" * 13107	# 64 KiB
    state = {"sent": 0, "blocked": False}

    def sender():
        c.sock.settimeout(1.5 * h.SLOW)	# less than idle_timeout
        try:
            while state["sent"] < cap:
                c.sock.sendall(chunk)
                state["sent"] += len(chunk)
        except socket.timeout:
            state["blocked"] = True
        except OSError as e:
            state["error"] = repr(e)
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    t.join(timeout=60 * h.SLOW)
    rss1 = rss_kb(pid)
    ok(state["blocked"] and state["sent"] < cap * 5 // 8,
       "a client that never reads its replies: the daemon stops reading "
       "from it (its sends block)",
       "sent %.1f MB of %d MB; %r" % (state["sent"] / 1e6, cap >> 20, state))
    h.diag("daemon RSS %d kB -> %d kB" % (rss0, rss1))
    ok(rss1 - rss0 < 40 * 1024 * h.SLOW, "and its memory stays bounded",
       "RSS %d kB -> %d kB" % (rss0, rss1))
    closed = h.wait_for(lambda: any("idle timeout: replies not read" in l
                                    for l in d.log()), 10 * h.SLOW)
    ok(closed, "idle_timeout closes it (replies not read)")
    c.close()
    e = d.authed("P002")
    is_(e.request("PING"), "OK PONG", "others are served meanwhile")
    e.close()
    is_(d.stop(), 0, "SIGTERM: exit 0 (non-reader daemon)")
    d.cleanup(keep=h.failed() > 0)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 (1-based) of the whole line.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_emfile():
    if h.VALGRIND:
        # valgrind keeps descriptors of its own and counts the limit for
        # them: a limit set on its process is not the daemon's own.
        h.skip("running out of descriptors",
               "not under valgrind (its own descriptors share the limit)")
        return
    d = h.Daemon(demo=True, config={"conn_max": 1000})
    pid = d.proc.pid
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    nfd = len(os.listdir("/proc/%d/fd" % pid))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (nfd + 6, hard))
    a = d.authed("P001")		# takes one of the 6
    greeted, stuck = [], []
    for _ in range(40):
        c = h.Conn(d.port, timeout=1)
        if c.greeting and c.greeting.startswith("OK "):
            greeted.append(c)
        else:
            stuck.append(c)
            if len(stuck) >= 3:
                break
    ok(len(greeted) >= 1 and len(stuck) == 3,
       "with RLIMIT_NOFILE lowered, new connections wait in the backlog",
       "greeted %d, waiting %d" % (len(greeted), len(stuck)))
    paused = h.wait_for(lambda: any("pausing accepts" in l for l in d.log()),
                        5)
    ok(paused, "the pause is logged")
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(3)
    cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - t0
    ok(cpu < 0.5 * wall, "out of descriptors, the daemon does not spin",
       "%.2f s of CPU in %.2f s" % (cpu, wall))
    n = sum(1 for l in d.log() if "pausing accepts" in l)
    is_(n, 1, "the pause is logged once, not at every retry")
    is_(a.request("PING"), "OK PONG", "a connection it has is served")
    like(a.request("CHECKIN grid=DK-01 kind=patrol note=描述符用尽"),
         r"^OK \S+ stored$", "and its check-ins are stored")
    for c in greeted:
        c.close()
    got = [c.readline(timeout=5) for c in stuck]
    ok(all(g and g.startswith("OK pingan/1") for g in got),
       "once descriptors free up, the waiting connections are greeted", got)
    ok(h.wait_for(lambda: any("accepting connections again" in l
                              for l in d.log()), 5),
       "and the end of the pause is logged")
    for c in stuck:
        c.close()
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    e = d.authed("P002")
    is_(e.request("PING"), "OK PONG", "a new connection is served")
    e.close()
    a.close()
    is_(d.stop(), 0, "SIGTERM: exit 0 (descriptor daemon)")
    d.cleanup(keep=h.failed() > 0)


def main():
    test_auth_throttle()
    d = h.Daemon(demo=True)
    test_before_auth(d)
    ok(d.alive(), "pingand is still running")
    is_(d.stop(), 0, "SIGTERM: exit 0")
    d.cleanup(keep=h.failed() > 0)
    test_slowloris_before_auth()
    test_non_reader()
    test_emfile()


h.main(main)
