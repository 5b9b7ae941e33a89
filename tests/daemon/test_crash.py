#!/usr/bin/env python3
"""
test_crash.py: nothing acknowledged is lost, nothing is stored twice, when
pingand is killed with SIGKILL at random moments, again and again.

Each cycle restarts pingand on the same database, runs several clients
that pipeline CHECKINs with their own ids (one of them also re-sends ids
acknowledged in earlier cycles, which must come back `duplicate`), and
kills the daemon with SIGKILL after a random time.  After each kill, with
the daemon down, the database is read: every id acknowledged so far is
stored exactly once, and `PRAGMA integrity_check` is ok on the database
and its id index.  At the end every acknowledged id is sent once more and
must be answered `duplicate`.

PINGAN_CRASH_CYCLES sets the number of cycles (default 20);
PINGAN_CRASH_SEED the random seed (default: random, printed).
"""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_  # noqa: E402

CYCLES = int(os.environ.get("PINGAN_CRASH_CYCLES", "20"))
SEED = int(os.environ.get("PINGAN_CRASH_SEED", str(random.randrange(1 << 30))))
CLIENTS = 4
PIPE = 8		# check-ins each client has in flight
RESEND = 64		# earlier ids client 0 re-sends per cycle
MAX_LOAD_S = 0.5	# the kill comes within this after the load starts
GRIDS = ["DK-01", "DK-02", "ZD-01", "CJ-01", "HZ-01", "XH-01"]


class Cycle:
    """One cycle's load: CLIENTS connections until the daemon dies."""

    def __init__(self, d, cycle, resend):
        self.d = d
        self.cycle = cycle
        self.resend = list(resend)
        self.lock = threading.Lock()
        self.acked = set()
        self.resent_ok = 0
        self.bad = []		# replies that must never come
        self.sent = 0
        self.threads = [threading.Thread(target=self.client, args=(k,),
                                         daemon=True)
                        for k in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(timeout=30 * h.SLOW)
        return not any(t.is_alive() for t in self.threads)

    def client(self, k):
        try:
            c = self.d.authed("P%03d" % (k + 1))
        except Exception:
            return		# killed before this client got in
        resend = self.resend if k == 0 else []
        n = 0
        try:
            while True:
                batch = []
                for _ in range(PIPE):
                    if resend:
                        batch.append((resend.pop(), True))
                    else:
                        batch.append((h.new_id(), False))
                payload = "".join(
                    "CHECKIN id=%s grid=%s kind=patrol note=\"崩溃 %d-%d-%d\"\n"
                    % (x, GRIDS[(k + i) % len(GRIDS)], self.cycle, k, n + i)
                    for i, (x, _) in enumerate(batch))
                try:
                    c.send(payload)
                except OSError:
                    return
                with self.lock:
                    self.sent += len(batch)
                n += len(batch)
                for x, again in batch:
                    line = c.readline(timeout=20)
                    if line is None:
                        return		# the daemon is gone
                    with self.lock:
                        if line == "OK %s stored" % x and not again:
                            self.acked.add(x)
                        elif line == "OK %s duplicate" % x and again:
                            self.resent_ok += 1
                        else:
                            self.bad.append((x, again, line))
        finally:
            c.close()


def new_rows(db_path, after):
    """(rowid, id) of the check-ins stored with a rowid above after."""
    con = h.db_connect(db_path)
    try:
        s = h.Schema(con)
        return [(r[0], h.uuid_text(r[1])) for r in con.execute(
            "SELECT rowid, %s FROM %s WHERE rowid > ? ORDER BY rowid" %
            (s.uuid, s.checkins), (after,))]
    finally:
        con.close()


def integrity(path):
    if not os.path.exists(path):
        return ["missing"]
    return h.integrity_check(path)


def main():
    h.diag("cycles %d, seed %d (PINGAN_CRASH_CYCLES, PINGAN_CRASH_SEED)" %
           (CYCLES, SEED))
    rng = random.Random(SEED)
    d = h.Daemon(demo=True)
    acked = set()		# every id acknowledged `stored`, all cycles
    stored = set()		# every id in the database
    last_rowid = 0
    lost, twice, bad, broken, resent = [], [], [], [], 0
    in_flight_kills = 0
    t_start = time.monotonic()
    for cycle in range(CYCLES):
        if cycle > 0:
            d.restart()
        sample = rng.sample(sorted(acked), min(RESEND, len(acked)))
        load = Cycle(d, cycle, sample)
        load.start()
        # Now and then right at start-up, while the id index catches up.
        time.sleep(0 if rng.random() < 0.15 else
                   rng.uniform(0, MAX_LOAD_S) * h.SLOW)
        d.kill9()
        if not load.join():
            broken.append("cycle %d: a client did not end" % cycle)
        if load.sent > len(load.acked) + load.resent_ok + len(load.bad):
            in_flight_kills += 1
        bad += ["cycle %d: %r" % (cycle, b) for b in load.bad]
        resent += load.resent_ok
        acked |= load.acked
        for rowid, x in new_rows(d.db_path, last_rowid):
            if x in stored:
                twice.append("cycle %d: %s" % (cycle, x))
            stored.add(x)
            last_rowid = max(last_rowid, rowid)
        missing = load.acked - stored
        lost += ["cycle %d: %s" % (cycle, x) for x in sorted(missing)]
        for path in (d.db_path, d.db_path + ".ids"):
            r = integrity(path)
            if r != ["ok"]:
                broken.append("cycle %d: %s: %r" % (cycle,
                                                    os.path.basename(path),
                                                    r[:5]))
        if lost or twice or bad or broken:
            break
    cycles = cycle + 1
    elapsed = time.monotonic() - t_start
    h.diag("%d cycles in %.1f s: %d check-ins acknowledged, %d stored, %d "
           "earlier ids re-sent as duplicates, %d kills with writes in "
           "flight" % (cycles, elapsed, len(acked), len(stored), resent,
                       in_flight_kills))
    is_(cycles, CYCLES, "%d SIGKILLs in a row under load" % CYCLES)
    ok(len(acked) > 0, "check-ins were acknowledged between the kills")
    is_(lost[:10], [], "every acknowledged check-in is stored after each "
        "restart")
    is_(twice[:10], [], "no check-in is stored twice")
    is_(bad[:10], [], "every reply is the expected one (earlier ids: "
        "duplicate)")
    is_(broken[:10], [], "integrity_check ok on the database and its id "
        "index after every kill; every client ended")
    is_(len(h.repeated_ids(d.db_path)), 0, "a full scan finds no id twice")
    full = h.stored_ids(d.db_path)
    is_(len(acked - full), 0, "a full scan finds every acknowledged id")
    ok(resent > 0 or CYCLES < 2, "earlier ids were re-sent between kills",
       resent)

    # Every acknowledged id once more, after a clean start: duplicate.
    d.restart()
    ids = sorted(acked)
    c = d.authed("P001")
    dup, other = 0, []
    for i in range(0, len(ids), 256):
        part = ids[i:i + 256]
        c.send("".join("CHECKIN id=%s grid=DK-01 kind=patrol\n" % x
                       for x in part))
        for x, line in zip(part, c.readlines(len(part), timeout=60)):
            if line == "OK %s duplicate" % x:
                dup += 1
            elif len(other) < 10:
                other.append((x, line))
    c.close()
    is_(dup, len(ids), "every acknowledged id re-sent: duplicate", *other)
    is_(h.checkin_count(d.db_path), len(full), "and nothing was added")
    is_(d.stop(), 0, "SIGTERM after the last restart: exit 0")
    d.cleanup(keep=h.failed() > 0)


h.main(main)
