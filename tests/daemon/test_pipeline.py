#!/usr/bin/env python3
"""
test_pipeline.py: many requests sent without waiting are answered one line
each, in order; 1,000 check-ins on one connection and 100 connections at once.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like  # noqa: E402

GRIDS = ["DK-01", "DK-02", "ZD-01", "CJ-01", "HZ-01", "TX-01", "HP-01", "XH-01"]


def checkin_line(ident, i):
    return ('CHECKIN id=%s grid=%s kind=patrol note="流水线 %d"\n' %
            (ident, GRIDS[i % len(GRIDS)], i))


def test_thousand(d):
    c = d.authed("P001")
    ids = [h.new_id() for _ in range(1000)]
    payload = "".join(checkin_line(x, i) for i, x in enumerate(ids)).encode()
    errors = []

    def sender():
        try:
            c.sock.sendall(payload)
        except OSError as e:
            errors.append(e)

    t0 = time.monotonic()
    t = threading.Thread(target=sender, daemon=True)
    t.start()
    replies = c.readlines(1000, timeout=60)
    elapsed = time.monotonic() - t0
    t.join(timeout=10)
    ok(not errors, "one sendall of 1,000 CHECKIN lines", errors)
    is_(len(replies), 1000, "1,000 replies")
    got = [r.split()[1] if r.startswith("OK ") and len(r.split()) == 3 else r
           for r in replies]
    bad = [r for r in replies if not r.endswith(" stored")]
    is_(bad[:3], [], "every reply is OK <id> stored")
    ok(got == ids, "the reply ids equal the sent ids, in order",
       "first difference at %s" % next((i for i, (a, b) in
                                        enumerate(zip(got, ids)) if a != b),
                                       None))
    h.diag("1 connection: 1,000 pipelined check-ins acknowledged in %.3f s "
           "(%.0f/s)" % (elapsed, 1000 / elapsed if elapsed else 0))
    is_(c.request("PING"), "OK PONG", "the connection is still usable")
    c.close()
    stored = h.stored_ids(d.db_path)
    is_(len(set(ids) - stored), 0, "all 1,000 are in the database")

    # Once more: every one is now a duplicate, still in order.
    c = d.authed("P001")
    t = threading.Thread(target=lambda: c.sock.sendall(payload), daemon=True)
    t.start()
    replies = c.readlines(1000, timeout=60)
    t.join(timeout=10)
    ok(replies == ["OK %s duplicate" % x for x in ids],
       "re-sending the 1,000: all duplicate, in order",
       replies[:2])
    c.close()


def test_mixed(d):
    c = d.authed("P002")
    a, b = h.new_id(), h.new_id()
    lines = [
        "CHECKIN id=%s grid=DK-01 kind=patrol" % a,
        "PING",
        "FROBNICATE",
        "CHECKIN id=%s grid=DK-01 kind=patrol" % a,
        "CHECKIN grid=XX-99 kind=patrol",
        "CHECKIN grid=DK-01 kind=patrol note=" + "x" * 5000,
        "CHECKIN id=%s grid=DK-02 kind=duty" % b,
        "HELP",
        "CHECKIN grid=DK-01",
        "PING",
    ]
    c.send("\n".join(lines) + "\n")
    r = c.readlines(len(lines))
    want = [
        r"^OK %s stored$" % a, r"^OK PONG$", r"^ERR unknown_command ",
        r"^OK %s duplicate$" % a, r"^ERR unknown_grid ",
        r"^ERR line_too_long ", r"^OK %s stored$" % b, r"^OK ",
        r"^ERR missing_field ", r"^OK PONG$",
    ]
    is_(len(r), len(want), "a mixed pipeline: one reply per request")
    import re
    ok(len(r) == len(want) and all(re.search(w, x) for w, x in zip(want, r)),
       "a mixed pipeline: replies in request order",
       *["%-28s %s" % (w, x) for w, x in zip(want, r)])

    c.send("PING\nQUIT\nPING\n")
    r = c.readlines(3, timeout=5)
    is_(r, ["OK PONG", "OK bye"], "nothing is answered after QUIT")
    ok(c.closed_by_peer(), "the connection is closed after QUIT")
    c.close()


def test_auth_pipelined(d):
    c = d.conn()
    i = h.new_id()
    c.send("AUTH P003 %s\nCHECKIN id=%s grid=CJ-02 kind=visit\n" %
           (d.creds["P003"], i))
    is_(c.readlines(2), ["OK P003 patrol", "OK %s stored" % i],
        "AUTH and CHECKIN in one write")
    c.close()

    c = d.conn()
    t0 = time.monotonic()
    c.send("AUTH P003 pa_nope\nCHECKIN grid=CJ-02 kind=visit\nPING\n")
    r = c.readlines(3)
    elapsed = time.monotonic() - t0
    ok(len(r) == 3 and r[0].startswith("ERR auth_failed ") and
       r[1].startswith("ERR auth_required ") and r[2] == "OK PONG",
       "a failed AUTH, then CHECKIN and PING pipelined: auth_failed, "
       "auth_required, PONG", r)
    ok(elapsed >= 0.09, "the requests after a failed AUTH wait for its delay",
       "%.3fs" % elapsed)
    c.close()


def test_same_id_in_one_batch(d):
    c = d.authed("P004")
    i = h.new_id()
    c.send("".join("CHECKIN id=%s grid=TX-01 kind=patrol note=n%d\n" % (i, k)
                   for k in range(5)))
    is_(c.readlines(5), ["OK %s stored" % i] +
        ["OK %s duplicate" % i] * 4,
        "one id five times in one pipeline: stored once, then duplicate")
    rows = h.checkin_rows(d.db_path, i)
    is_(len(rows), 1, "one row")
    if rows:
        is_(rows[0]["_note"], "n0", "the first one's note is kept")
    c.close()


def test_hundred(d):
    n_conn, per = 100, 50
    workers = sorted(k for k, v in d.roles.items() if v == "patrol")
    results = [None] * n_conn
    sent = [None] * n_conn
    start = threading.Barrier(n_conn + 1, timeout=30 * h.SLOW)

    def one(k):
        try:
            w = workers[k % len(workers)]
            c = d.authed(w)
            ids = [h.new_id() for _ in range(per)]
            sent[k] = ids
            payload = "".join(checkin_line(x, i) for i, x in enumerate(ids))
            start.wait()
            threading.Thread(target=lambda: c.send(payload),
                             daemon=True).start()
            results[k] = c.readlines(per, timeout=60)
            c.close()
        except Exception as e:  # reported below
            results[k] = e
            try:
                start.abort()
            except Exception:
                pass

    threads = [threading.Thread(target=one, args=(k,), daemon=True)
               for k in range(n_conn)]
    for t in threads:
        t.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        pass
    t0 = time.monotonic()
    for t in threads:
        t.join(timeout=90 * h.SLOW)
    elapsed = time.monotonic() - t0
    errs = [r for r in results if not isinstance(r, list)]
    ok(not errs, "100 connections authenticated and read", errs[:3])
    good = 0
    in_order = True
    for k in range(n_conn):
        if not isinstance(results[k], list) or sent[k] is None:
            continue
        want = ["OK %s stored" % x for x in sent[k]]
        if results[k] != want:
            in_order = False
        good += sum(1 for r in results[k] if r.endswith(" stored"))
    is_(good, n_conn * per, "100 connections x 50 pipelined: all stored")
    ok(in_order, "each connection's replies are in its order")
    h.diag("100 connections: %d pipelined check-ins acknowledged in %.3f s "
           "(%.0f/s)" % (good, elapsed, good / elapsed if elapsed else 0))
    all_ids = {x for s in sent if s for x in s}
    is_(len(all_ids - h.stored_ids(d.db_path)), 0,
        "all of them are in the database")


def test_backpressure():
    """Tight limits: the daemon stops reading instead of buffering."""
    d = h.Daemon(demo=True, config={"pipeline_max": 4, "output_max": 4096,
                                    "batch_max": 3, "queue_max": 16,
                                    "conn_max": 64})
    n_conn, per = 10, 1000
    sent, results, senders = [], [], []
    conns = [d.authed("P%03d" % (k + 1), rcvbuf=4096) for k in range(n_conn)]
    for k, c in enumerate(conns):
        ids = [h.new_id() for _ in range(per)]
        sent.append(ids)
        payload = "".join(checkin_line(x, i) for i, x in enumerate(ids))
        t = threading.Thread(target=c.send, args=(payload,), daemon=True)
        t.start()
        senders.append(t)
    # Nobody reads for a while: replies pile up (in the kernel first: the
    # send buffer grows to megabytes before output_max matters).
    time.sleep(1)
    ok(d.alive(), "pingand survives 10 peers that do not read")
    readers = []

    def reader(k):
        results.append((k, conns[k].readlines(per, timeout=60)))
    for k in range(n_conn):
        t = threading.Thread(target=reader, args=(k,), daemon=True)
        t.start()
        readers.append(t)
    for t in readers + senders:
        t.join(timeout=90 * h.SLOW)
    good = sum(1 for k, r in results
               if r == ["OK %s stored" % x for x in sent[k]])
    is_(good, n_conn, "pipeline_max 4, batch_max 3, queue_max 16: all "
        "10,000 answered, each connection in its order")
    for c in conns:
        c.close()
    all_ids = {x for ids in sent for x in ids}
    is_(len(all_ids - h.stored_ids(d.db_path)), 0, "and stored")
    is_(d.stop(), 0, "SIGTERM: exit 0 (tight limits)")
    d.cleanup(keep=h.failed() > 0)


def main():
    test_backpressure()
    d = h.Daemon(demo=True, config={"conn_max": 256})
    test_thousand(d)
    test_mixed(d)
    test_auth_pipelined(d)
    test_same_id_in_one_batch(d)
    test_hundred(d)
    ok(d.alive(), "pingand is still running")
    rc = d.stop()
    is_(rc, 0, "SIGTERM: exit 0")
    if rc != 0:
        d.dump_log()


h.main(main)
