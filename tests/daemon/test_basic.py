#!/usr/bin/env python3
"""
test_basic.py: the command line, the greeting, AUTH, every error code a
terminal can provoke, and a check-in through the real client that lands in
SQLite byte for byte.
"""

import os
import re
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like  # noqa: E402


def test_command_line():
    rc, out, err = h.pingand("-V")
    is_(rc, 0, "pingand -V exits 0")
    like(out + err, r"\d+\.\d+\.\d+", "pingand -V prints the version")

    rc, out, err = h.pingand("-h")
    is_(rc, 0, "pingand -h exits 0")
    like(out + err, r"-f", "pingand -h shows the options")

    rc, out, err = h.pingand("--no-such-option")
    ok(rc not in (0, None), "pingand with an unknown option fails",
       "rc %r" % rc)

    d = h.Daemon(demo=False, start=False)
    rc, out, err = h.pingand("-n", "-f", d.conf_path)
    is_(rc, 0, "pingand -n on a good config exits 0", err)
    like(out + err, r"configuration OK", "pingand -n says configuration OK")

    bad = os.path.join(d.dir, "bad.conf")
    with open(bad, "w") as f:
        f.write("# a comment\nport 0\nno_such_key 1\n")
    rc, out, err = h.pingand("-n", "-f", bad)
    is_(rc, 1, "pingand -n on an unknown key exits 1", out, err)
    like(out + err, r"bad\.conf:3:", "the message says file:line:")

    with open(bad, "w") as f:
        f.write("listen 127.0.0.1\n\nport 99999999\n")
    rc, out, err = h.pingand("-n", "-f", bad)
    is_(rc, 1, "pingand -n on an out-of-range port exits 1", out, err)
    like(out + err, r"bad\.conf:3:", "the message names line 3")

    with open(bad, "w") as f:
        f.write("synchronous sometimes\n")
    rc, out, err = h.pingand("-n", "-f", bad)
    is_(rc, 1, "pingand -n on a bad enum value exits 1", out, err)
    like(out + err, r"bad\.conf:1:", "the message names line 1")

    rc, out, err = h.pingand("-n", "-f", os.path.join(d.dir, "missing.conf"))
    ok(rc not in (0, None), "pingand -n on a missing file fails", out, err)
    d.cleanup()


def test_session(d):
    c = d.conn()
    like(c.greeting, r"^OK pingan/1 pingand/\S+ ready$", "greeting")
    is_(c.request("PING"), "OK PONG", "PING")
    is_(c.request("ping"), "OK PONG", "verbs are case-insensitive")
    is_(c.request("PING\r"), "OK PONG", "a CRLF line end works")
    help_ = c.request("HELP")
    ok(help_ is not None and help_.startswith("OK ") and
       all(v in help_.upper() for v in
           ("AUTH", "CHECKIN", "PING", "HELP", "QUIT")),
       "HELP lists the verbs", help_)
    is_(c.request("QUIT"), "OK bye", "QUIT")
    ok(c.closed_by_peer(), "the server closes after QUIT")
    c.close()

    # What follows QUIT in the same packet is not read, let alone stored.
    import uuid as uuidmod
    x = str(uuidmod.uuid4())
    c = d.authed("P001")
    c.send("QUIT\nCHECKIN id=%s grid=DK-01 kind=patrol\n" % x)
    is_(c.readline(), "OK bye", "QUIT with a check-in behind it")
    ok(c.closed_by_peer(), "closed after QUIT")
    c.close()
    # The writer takes jobs in order: once a later check-in is acknowledged,
    # anything handed to it before has been committed too.
    c = d.authed("P001")
    like(c.request("CHECKIN grid=DK-01 kind=patrol"), r"^OK \S+ stored$",
         "a later check-in on another connection")
    c.close()
    ok(x not in h.stored_ids(d.db_path), "the check-in after QUIT is not stored")


def test_auth(d):
    c = d.conn()
    r = c.request("CHECKIN grid=DK-01 kind=patrol")
    like(r, r"^ERR auth_required ", "CHECKIN before AUTH: auth_required")
    is_(c.request("PING"), "OK PONG", "PING before AUTH is allowed")

    t0 = time.monotonic()
    bad_token = c.request("AUTH P001 pa_0000000000000000000000000000000000000000")
    t1 = time.monotonic()
    like(bad_token, r"^ERR auth_failed ", "a wrong token: auth_failed")
    ok(t1 - t0 >= 0.09, "a failed AUTH is answered after auth_delay_ms",
       "took %.3fs" % (t1 - t0))
    unknown = c.request("AUTH Z999 pa_0000000000000000000000000000000000000000")
    like(unknown, r"^ERR auth_failed ", "an unknown worker: auth_failed")
    is_(unknown, bad_token,
        "wrong token and unknown worker get byte-identical replies")
    missing = c.request("AUTH P001")
    like(missing, r"^ERR ", "AUTH without a token is an error")
    is_(c.request("PING"), "OK PONG", "the connection stays usable")

    # Another worker's token does not open this one.
    other = c.request("AUTH P001 %s" % d.creds["P002"])
    like(other, r"^ERR auth_failed ", "P002's token does not open P001")

    is_(c.request("AUTH P001 %s" % d.creds["P001"]), "OK P001 patrol",
        "AUTH with the demo token")
    r = c.request("CHECKIN grid=DK-01 kind=patrol")
    like(r, r"^OK [0-9a-f-]{36} stored$",
         "CHECKIN without id: the server makes one")
    if r and r.startswith("OK "):
        ok(h.UUID_RE.match(r.split()[1]), "the id is a UUID", r)
    c.close()

    s = d.conn()
    is_(s.request("AUTH S001 %s" % d.creds["S001"]), "OK S001 supervisor",
        "AUTH answers with the worker's role")
    s.close()


def test_errors(d):
    before = h.checkin_count(d.db_path)

    # Before AUTH the limit is line_max_unauth (default 512).
    c = d.conn()
    r = c.request("PING " + "x" * 700)
    like(r, r"^ERR line_too_long ", "a long line before AUTH: line_too_long")
    is_(c.request("PING"), "OK PONG", "the connection is usable after it")
    is_(c.request("PING " + "x" * 507), "OK PONG",
        "a line of exactly line_max_unauth bytes is read")
    like(c.request("PING " + "x" * 508), r"^ERR line_too_long ",
         "one byte more is too long")
    # A request may arrive a byte at a time, splitting a UTF-8 sequence.
    c.request("AUTH P001 %s" % d.creds["P001"])
    i = h.new_id()
    for b in ("CHECKIN id=%s grid=DK-01 kind=patrol note=东坑\n" % i).encode():
        c.send(bytes([b]))
    is_(c.readline(), "OK %s stored" % i, "a request sent byte by byte")
    c.close()
    before += 1

    c = d.authed("P001")
    r = c.request("CHECKIN grid=DK-01 kind=patrol note=" + "a" * 5000)
    like(r, r"^ERR line_too_long ", "a line over line_max: line_too_long")
    is_(c.request("PING"), "OK PONG", "the connection is usable after it")

    # A very long line, sent in pieces, is discarded up to its end.
    c.send("CHECKIN grid=DK-01 kind=patrol note=")
    for _ in range(16):
        c.send("b" * 16384)
        time.sleep(0.005)
    c.send(" trailing=1\nPING\n")
    lines = c.readlines(2)
    ok(len(lines) == 2 and lines[0].startswith("ERR line_too_long ") and
       lines[1] == "OK PONG",
       "a 256 KiB line gets one line_too_long, then PING works", lines)

    c.send(b"CHECKIN grid=DK-01 kind=patrol note=\"\xff\xfe\"\n")
    like(c.readline(), r"^ERR bad_utf8 ", "invalid UTF-8: bad_utf8")
    c.send(b"CHECKIN grid=DK-01 kind=patrol note=\"\xe4\xb8\"\n")
    like(c.readline(), r"^ERR bad_utf8 ", "truncated UTF-8: bad_utf8")
    c.send(b"CHECKIN grid=DK-01 kind=patrol note=\"a\x00b\"\n")
    like(c.readline(), r"^ERR bad_utf8 ", "a NUL byte: bad_utf8")
    c.send(b"CHECKIN grid=DK-01 kind=patrol note=\"a\x01b\"\n")
    like(c.readline(), r"^ERR bad_utf8 ", "a control byte: bad_utf8")
    c.send(b"CHECKIN grid=DK-01 kind=patrol note=\"\xc0\xafb\"\n")
    like(c.readline(), r"^ERR bad_utf8 ", "an overlong encoding: bad_utf8")
    is_(c.request("PING"), "OK PONG", "usable after bad_utf8")

    cases = [
        ("CHECKIN grid=DK-01 kind=patrol note=\"unbalanced", "syntax",
         "an unbalanced quote"),
        ("CHECKIN grid=DK-01 kind=patrol note=\"bad \\q escape\"", "syntax",
         "a bad escape"),
        ("CHECKIN grid=DK-01 kind=patrol lonely", "syntax",
         "a field without ="),
        ("FROBNICATE now", "unknown_command", "an unknown verb"),
        ("CHECKIN kind=patrol", "missing_field", "no grid"),
        ("CHECKIN grid=DK-01", "missing_field", "no kind"),
        ("CHECKIN grid=DK-01 kind=dancing", "bad_field", "an unknown kind"),
        ("CHECKIN grid=DK-01 kind=patrol color=red", "bad_field",
         "an unknown key"),
        ("CHECKIN grid=DK-01 kind=patrol kind=duty", "bad_field",
         "a repeated key"),
        ("CHECKIN grid=DK-01 kind=patrol id=not-a-uuid", "bad_field",
         "an id that is not a UUID"),
        ("CHECKIN grid=DK-01 kind=patrol lat=91 lon=114", "bad_field",
         "a latitude out of range"),
        ("CHECKIN grid=DK-01 kind=patrol lat=25.4 lon=abc", "bad_field",
         "a longitude that is not a number"),
        ("CHECKIN grid=DK-01 kind=patrol lat=25.4", "(bad|missing)_field",
         "lat without lon"),
        ("CHECKIN grid=DK-01 kind=patrol note=" + "n" * 1001, "bad_field",
         "a note over note_max"),
        ("CHECKIN grid=XX-99 kind=patrol", "unknown_grid", "an unknown grid"),
        ("CHECKIN grid=DK-01 kind=patrol at=yesterday", "bad_time",
         "an unparsable time"),
        ("CHECKIN grid=DK-01 kind=patrol at=%s" %
         (datetime.now(timezone.utc) + timedelta(days=1)).strftime(
             "%Y-%m-%dT%H:%M:%SZ"), "bad_time", "a time a day ahead"),
        ("CHECKIN grid=DK-01 kind=patrol at=%d" %
         int((time.time() + 86400) * 1000), "bad_time",
         "Unix milliseconds a day ahead"),
        ("CHECKIN grid=DK-01 kind=patrol at=2000-01-01T00:00:00+08:00",
         "bad_time", "a time beyond max_past_days"),
        ("CHECKIN grid=DK-01 kind=patrol at=2026-02-30T10:00:00+08:00",
         "bad_time", "February 30th"),
    ]
    for line, code, what in cases:
        r = c.request(line)
        like(r, r"^ERR %s " % code, "%s: %s" % (what, code), "sent: %r" %
             line[:120])
        ok(r is None or "(" in r, "%s: the message has an English part" % what,
           r)
    is_(c.request("PING"), "OK PONG", "the connection survived every error")
    c.close()
    is_(h.checkin_count(d.db_path), before, "no error stored anything")


def test_good_fields(d):
    c = d.authed("P002")
    i = h.new_id()
    at = (datetime.now(timezone(timedelta(hours=8))) -
          timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S+08:00")
    r = c.request('CHECKIN id=%s grid=DK-02 kind=screening lat=25.3958 '
                  'lon=114.3622 at=%s '
                  'note="引号\\"与\\\\反斜杠\\t制表 and spaces"' %
                  (i.upper(), at))
    is_(r, "OK %s stored" % i,
        "an upper-case id, escapes, position and time are accepted; the id "
        "comes back in lower case")
    rows = h.checkin_rows(d.db_path, i)
    is_(len(rows), 1, "the row is there")
    if rows:
        is_(rows[0]["_note"], '引号"与\\反斜杠\t制表 and spaces',
            "escapes are unescaped in the stored note")
        is_(rows[0]["_grid"], "DK-02", "the grid is stored")
        is_(rows[0]["_worker"], "P002", "the authenticated worker is stored")

    ms = int((time.time() - 3600) * 1000)
    j = h.new_id()
    is_(c.request("CHECKIN id=%s grid=HZ-01 kind=duty at=%d" % (j, ms)),
        "OK %s stored" % j, "at in Unix milliseconds")
    rows = h.checkin_rows(d.db_path, j)
    if rows and rows[0]["_event"] is not None and isinstance(
            rows[0]["_event"], int):
        is_(rows[0]["_event"], ms, "the event time is stored as sent")
    for kind in ("patrol", "screening", "duty", "visit", "mediation", "other",
                 "巡逻", "调解"):
        r = c.request("CHECKIN grid=DK-01 kind=%s" % kind)
        like(r, r"^OK \S+ stored$", "kind %s is accepted" % kind)
    c.close()


def test_client(d):
    note = "东坑村夜间巡逻 无异常"
    rc, out, err = d.client("checkin", "--grid", "DK-01", "--kind", "patrol",
                            "--note", note)
    is_(rc, 0, "pingan checkin exits 0", err)
    ident = out.strip()
    ok(h.UUID_RE.match(ident), "pingan checkin prints the id", out, err)
    rows = h.checkin_rows(d.db_path, ident)
    is_(len(rows), 1, "the check-in is in SQLite (a separate read-only read)")
    if rows:
        r = rows[0]
        is_(r["_worker"], "P001", "stored with the worker")
        is_(r["_grid"], "DK-01", "stored with the grid")
        ok(r["_kind"] in ("patrol", 0), "stored with the kind", r["_kind"])
        note_b = r["_note"].encode("utf-8") if isinstance(r["_note"], str) \
            else r["_note"]
        is_(note_b, note.encode("utf-8"), "the Chinese note is byte-exact")

    fixed = h.new_id()
    rc1, out1, err1 = d.client("checkin", "--grid", "DK-01", "--kind",
                               "patrol", "--id", fixed, "--note", "第一次")
    rc2, out2, err2 = d.client("checkin", "--grid", "DK-01", "--kind",
                               "patrol", "--id", fixed, "--note", "第二次")
    is_((rc1, rc2), (0, 0), "the same id twice: both exit 0", err1, err2)
    is_((out1.strip(), out2.strip()), (fixed, fixed),
        "the client prints the same id both times")
    rows = h.checkin_rows(d.db_path, fixed)
    is_(len(rows), 1, "the same id twice stores one row")
    if rows:
        is_(rows[0]["_note"], "第一次", "the first one is kept")
    c = d.authed("P003")
    is_(c.request("CHECKIN id=%s grid=CJ-01 kind=visit" % fixed),
        "OK %s duplicate" % fixed, "a raw re-send is answered duplicate")
    c.close()

    rc, out, err = d.client("checkin", "--grid", "HP-01", "--kind", "visit",
                            "--at", "%d" % int((time.time() - 60) * 1000),
                            "--lat", "25.39", "--lon", "114.36",
                            worker="G001")
    is_(rc, 0, "--at, --lat and --lon work (grid worker G001)", err)

    # Options may come after the command.
    argv = d.client_argv([], worker=None)
    rc, out, err = h.run(argv[:1] + ["checkin", "--grid", "DK-03", "--kind",
                                     "duty"] + argv[1:] +
                         ["--worker", "P004", "--token", d.creds["P004"]],
                         env=h.clean_env(d.home))
    is_(rc, 0, "options after the command work", err)

    for note in ('引号"与\\反斜杠', "两行\n第二行", "k=v x=y", "  前后空格  ",
                 "制表\t符", ""):
        rc, out, err = d.client("checkin", "--grid", "DK-01", "--kind",
                                "patrol", "--note", note)
        rows = h.checkin_rows(d.db_path, out.strip()) if rc == 0 else []
        ok(len(rows) == 1 and rows[0]["_note"] == note,
           "the client quotes the note %r; stored byte-exact" % note,
           rc, err, rows and rows[0]["_note"])

    rc, out, err = d.client("checkin", "--grid", "XX-99", "--kind", "patrol")
    is_(rc, 1, "an ERR from the server: exit 1")
    is_(len(err.strip().splitlines()), 1, "a one-line message", err)
    like(err, r"unknown_grid|未知网格|unknown grid",
         "the message says what was wrong")
    is_(out.strip(), "", "nothing on stdout then")

    rc, out, err = d.client("checkin", "--kind", "patrol")
    is_(rc, 2, "a missing --grid: usage, exit 2", err)

    rc, out, err = d.client("checkin", "--grid", "DK-01", "--kind", "patrol",
                            token="pa_00000000000000000000000000000000")
    is_(rc, 1, "a wrong token: exit 1", err)
    like(err, r"auth_failed|认证|auth", "the message says AUTH failed")

    rc, out, err = d.client("ping")
    is_(rc, 0, "pingan ping exits 0", out, err)

    rc, out, err = d.client("checkin", "--help", worker=None)
    is_(rc, 0, "pingan checkin --help exits 0", err)
    like(out + err, r"--grid", "and shows --grid")

    # A port nobody listens on: a write is kept in the offline spool
    # (exit 5, its id on stdout); a ping is a plain network error (exit 3).
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    free = s.getsockname()[1]
    s.close()
    argv = d.client_argv(["checkin", "--grid", "DK-01", "--kind", "patrol"],
                         server=False)
    rc, out, err = h.run(argv[:1] + ["--server", "127.0.0.1:%d" % free] +
                         argv[1:], env=h.clean_env(d.home))
    is_(rc, 5, "no server: the check-in is spooled, exit 5", err)
    like(out, r"^[0-9a-f-]{36}\s*$", "and its id is printed")
    argv = d.client_argv(["ping"], server=False)
    rc, out, err = h.run(argv[:1] + ["--server", "127.0.0.1:%d" % free] +
                         argv[1:], env=h.clean_env(d.home))
    is_(rc, 3, "no server: ping exits 3", err)


def test_client_config(d):
    """The client reads ~/.config/pingan/pingan.conf (as tools/run writes it)."""
    cfgdir = os.path.join(d.home, ".config", "pingan")
    os.makedirs(cfgdir, exist_ok=True)
    path = os.path.join(cfgdir, "pingan.conf")
    with open(path, "w") as f:
        f.write("# written by tools/run of /somewhere\n"
                "# (remove the line above to keep your own settings)\n"
                "server 127.0.0.1:%d\nworker P005\ntoken %s\n"
                "admin_socket %s\n" % (d.port, d.creds["P005"], d.sock_path))
    os.chmod(path, 0o600)
    rc, out, err = h.run([h.PINGAN, "checkin", "--grid", "ZD-01", "--kind",
                          "patrol", "--note", "配置文件"],
                         env=h.clean_env(d.home))
    is_(rc, 0, "pingan with only ~/.config/pingan/pingan.conf", err)
    rows = h.checkin_rows(d.db_path, out.strip()) if h.UUID_RE.match(
        out.strip()) else []
    ok(len(rows) == 1 and rows[0]["_worker"] == "P005",
       "the check-in is stored as the config's worker", out, err)
    rc, out, err = h.run([h.PINGAN, "admin", "village-list", "--raw"],
                         env=h.clean_env(d.home))
    is_(rc, 0, "pingan admin finds the socket through the config", err)
    os.unlink(path)


def test_reload(d):
    """SIGHUP applies a reloadable key; the daemon keeps serving."""
    import signal
    c = d.authed("P006")
    d.config["note_max"] = "12"
    d.write_config()
    d.proc.send_signal(signal.SIGHUP)
    big = "十三个字节"  # 15 bytes of UTF-8

    def refused():
        r = c.request("CHECKIN grid=DK-01 kind=patrol note=%s" % big)
        return r if r and r.startswith("ERR bad_field") else None
    r = h.wait_for(refused, 5, step=0.1)
    like(r, r"^ERR bad_field ", "after SIGHUP the new note_max applies")
    is_(c.request("PING"), "OK PONG", "and the connection survived SIGHUP")
    d.config["note_max"] = "1000"
    d.config["no_such_key"] = "1"
    d.write_config()
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    ok(d.alive(), "a bad config on SIGHUP does not stop pingand")
    like(c.request("CHECKIN grid=DK-01 kind=patrol note=%s" % big),
         r"^ERR bad_field ", "and is refused whole (note_max stays 12)")
    del d.config["no_such_key"]
    d.write_config()
    d.proc.send_signal(signal.SIGHUP)

    def accepted():
        r = c.request("CHECKIN grid=DK-01 kind=patrol note=%s" % big)
        return r if r and r.startswith("OK ") else None
    like(h.wait_for(accepted, 5, step=0.1), r"^OK \S+ stored$",
         "a good config on SIGHUP applies again")
    c.close()


def test_busy():
    d = h.Daemon(demo=False, config={"conn_max": 3})
    conns = [d.conn() for _ in range(3)]
    ok(all(c.greeting and c.greeting.startswith("OK pingan/1")
           for c in conns), "conn_max connections are greeted")
    extra = h.Conn(d.port)
    like(extra.greeting, r"^ERR busy ", "one more: ERR busy")
    ok(extra.closed_by_peer(), "and it is closed")
    extra.close()
    conns.pop().close()

    def greeted():
        try:
            c = h.Conn(d.port, timeout=2)
        except OSError:
            return None
        if c.greeting and c.greeting.startswith("OK "):
            return c
        c.close()
        return None
    c = h.wait_for(greeted, 5)
    ok(c is not None, "after one closes, a new connection is greeted")
    if c:
        is_(c.request("PING"), "OK PONG", "and served")
        c.close()
    for c in conns:
        c.close()
    is_(d.stop(), 0, "SIGTERM: exit 0 (conn_max daemon)")
    d.cleanup(keep=h.failed() > 0)


def sched_policy(pid, tid):
    """The scheduling policy of a thread (/proc stat field 41): 0 normal,
    1 SCHED_FIFO."""
    with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
        stat = f.read()
    return int(stat[stat.rindex(")") + 2:].split()[38])


def thread_nice(pid, tid):
    """The nice value of a thread (/proc stat field 19)."""
    with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
        stat = f.read()
    return int(stat[stat.rindex(")") + 2:].split()[16])


def test_threads():
    """pingand's threads are named, and the reader runs nicer."""
    base = os.nice(0)
    for want, config in ((10, {}), (3, {"reader_nice": 3}),
                         (0, {"reader_nice": 0})):
        d = h.Daemon(demo=True, config=config)
        pid = d.proc.pid
        c = d.authed("S001")
        like(c.request("SUMMARY from=2026-01-01 to=2026-12-31"), r"^OK ",
             "reader_nice %d: a summary is answered" % want)
        c.close()
        names = {}
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
                names[f.read().strip()] = int(t)
        is_(sorted(names), ["pingand", "pingand-ckpt", "pingand-reader",
                            "pingand-writer"], "the threads are named", names)
        nices = {n: thread_nice(pid, t) for n, t in names.items()}
        is_(nices.get("pingand-reader"), min(base + want, 19),
            "reader_nice %d: the reader runs at nice %d" % (
                want, min(base + want, 19)), nices)
        is_([nices.get(n) for n in ("pingand", "pingand-ckpt",
                                    "pingand-writer")], [base] * 3,
            "the others keep pingand's nice value %d" % base)
        is_(d.stop(), 0, "SIGTERM: exit 0 (reader_nice %d)" % want)
        d.cleanup(keep=h.failed() > 0)


def test_loop_priority():
    d = h.Daemon(demo=True, config={"loop_priority": 7})
    pid = d.proc.pid
    c = d.authed("P001")
    like(c.request("PING"), r"^OK PONG", "loop_priority 7: pingand serves")
    c.close()
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    others = [sched_policy(pid, t) for t in tids if t != pid]
    ok(len(others) >= 3, "the writer, the reader and the checkpointer run",
       tids)
    is_(others, [0] * len(others), "they keep the normal scheduler")
    if os.geteuid() == 0:
        is_(sched_policy(pid, pid), 1, "the event loop runs as SCHED_FIFO")
        with open("/proc/%d/task/%d/sched" % (pid, pid)) as f:
            prio = re.search(r"^prio\s*:\s*(\d+)", f.read(), re.M)
        is_(prio and int(prio.group(1)), 99 - 7,
            "at priority 7 (kernel prio 92)")
        like(d.log_text(), r"real-time priority 7 \(SCHED_FIFO\)",
             "and says so")
    else:
        is_(sched_policy(pid, pid), 0, "unprivileged: the loop stays normal")
        like(d.log_text(), r"loop_priority 7: cannot run the event loop "
             r"with real-time priority", "and pingand says why")
    bad = os.path.join(d.dir, "rt.conf")
    with open(bad, "w") as f:
        f.write("loop_priority 100\n")
    rc, out, err = h.pingand("-n", "-f", bad)
    is_(rc, 1, "pingand -n refuses loop_priority 100", out, err)
    like(out + err, r"rt\.conf:1:", "naming the line")
    is_(d.stop(), 0, "SIGTERM: exit 0 (loop_priority daemon)")
    d.cleanup(keep=h.failed() > 0)


def test_timeouts():
    d = h.Daemon(demo=True, config={"auth_timeout": 1, "idle_timeout": 3})
    c = d.conn()
    a = d.authed("P001")
    t0 = time.monotonic()
    ok(c.closed_by_peer(timeout=5),
       "a connection that does not AUTH is closed after auth_timeout")
    ok(a.request("PING") == "OK PONG",
       "an authenticated one is not closed by auth_timeout")
    t1 = time.monotonic()
    closed = a.closed_by_peer(timeout=8)
    idle = time.monotonic() - t1
    ok(closed and idle >= 2.5,
       "an idle connection is closed after idle_timeout",
       "closed %r after %.1fs" % (closed, idle))
    c.close()
    a.close()
    is_(d.stop(), 0, "SIGTERM: exit 0 (timeout daemon)")
    d.cleanup(keep=h.failed() > 0)


def main():
    test_command_line()
    d = h.Daemon(demo=True)
    ok(len(d.creds) >= 30, "--demo wrote the credentials of the demo town",
       sorted(d.creds))
    is_(sorted(k for k, v in d.roles.items() if v == "patrol"),
        ["P%03d" % i for i in range(1, 21)], "20 patrol members P001..P020")
    mode = os.stat(d.creds_path).st_mode & 0o777
    is_(oct(mode), oct(0o600), "demo-credentials.txt is 0600")
    test_session(d)
    test_auth(d)
    test_errors(d)
    test_good_fields(d)
    test_client(d)
    test_client_config(d)
    test_reload(d)
    ok(d.alive(), "pingand is still running after all that")
    rc = d.stop()
    is_(rc, 0, "SIGTERM: exit 0")
    if rc != 0:
        d.dump_log()
    d.cleanup(keep=h.failed() > 0)
    test_busy()
    test_loop_priority()
    test_threads()
    test_timeouts()


h.main(main)
