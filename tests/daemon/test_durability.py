#!/usr/bin/env python3
"""
test_durability.py: an acknowledged check-in survives whatever happens to
the daemon after the reply.  100 connections write while pingand gets
SIGTERM (clean exit, nothing acknowledged is lost) or SIGKILL (after a
restart every acknowledged id is there and the database is intact).
"""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_  # noqa: E402

N_CONN = 100
BATCH = 4		# check-ins each connection pipelines at a time
MAX_PER_CONN = 1000	# bounds every writer...
MAX_SECONDS = 30	# ...twice over
GRIDS = ["DK-01", "DK-02", "DK-03", "ZD-01", "CJ-01", "HZ-01", "XH-01"]


class Storm:
    """N_CONN connections pipelining check-ins until the daemon goes away."""

    def __init__(self, d):
        self.d = d
        self.lock = threading.Lock()
        self.acked = set()
        self.sent = set()
        self.unexpected = []
        self.shutting_down = 0
        self.connect_errors = []
        self.ends = {}		# how the writers ended: reason -> count
        self.stop = threading.Event()
        self.ready = threading.Barrier(N_CONN + 1, timeout=60 * h.SLOW)
        workers = sorted(k for k, v in d.roles.items() if v == "patrol")
        self.threads = [threading.Thread(target=self.writer,
                                         args=(workers[k % len(workers)], k),
                                         daemon=True)
                        for k in range(N_CONN)]

    def start(self):
        for t in self.threads:
            t.start()
        try:
            self.ready.wait()
        except threading.BrokenBarrierError:
            pass

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def writer(self, worker, k):
        try:
            c = self.d.authed(worker)
        except Exception as e:
            with self.lock:
                self.connect_errors.append(repr(e))
            try:
                self.ready.abort()
            except Exception:
                pass
            return
        try:
            self.ready.wait()
        except threading.BrokenBarrierError:
            c.close()
            return
        end = time.monotonic() + MAX_SECONDS * h.SLOW
        n = 0
        why = "bound"
        try:
            while (not self.stop.is_set() and n < MAX_PER_CONN and
                   time.monotonic() < end):
                ids = [h.new_id() for _ in range(BATCH)]
                payload = "".join(
                    "CHECKIN id=%s grid=%s kind=patrol note=\"写入 %d-%d\"\n" %
                    (x, GRIDS[(k + i) % len(GRIDS)], k, n + i)
                    for i, x in enumerate(ids))
                with self.lock:
                    self.sent.update(ids)
                try:
                    c.send(payload)
                except OSError as e:
                    why = "send: %s" % e.__class__.__name__
                    break
                n += BATCH
                closed = False
                for x in ids:
                    line = c.readline(timeout=20)
                    if line is None:
                        closed = True
                        break
                    if line in ("OK %s stored" % x, "OK %s duplicate" % x):
                        with self.lock:
                            self.acked.add(x)
                    elif line.startswith("ERR shutting_down"):
                        with self.lock:
                            self.shutting_down += 1
                    else:
                        with self.lock:
                            self.unexpected.append((x, line))
                if closed:
                    why = ("reset" if c.reset else "eof" if c.eof
                           else "timeout")
                    why += " after %d of a batch" % ids.index(x)
                    break
            else:
                if self.stop.is_set():
                    why = "stopped"
        finally:
            c.close()
            with self.lock:
                self.ends[why] = self.ends.get(why, 0) + 1

    def join(self, timeout):
        end = time.monotonic() + timeout * h.SLOW
        for t in self.threads:
            t.join(timeout=max(0.1, end - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)


def resend(d, ids):
    """Sends CHECKINs for ids on one connection; returns the reply lines."""
    c = d.authed("P001")
    payload = "".join("CHECKIN id=%s grid=DK-01 kind=patrol note=重发\n" % x
                      for x in ids)
    t = threading.Thread(target=lambda: c.send(payload), daemon=True)
    t.start()
    replies = c.readlines(len(ids), timeout=60)
    t.join(timeout=10)
    c.close()
    return replies


def wait_for_acks(storm, n, seconds):
    h.wait_for(lambda: storm.acked_count() >= n, seconds * h.SLOW)
    return storm.acked_count()


def test_sigterm():
    d = h.Daemon(demo=True, config={"conn_max": 256})
    storm = Storm(d)
    storm.start()
    is_(storm.connect_errors, [], "100 connections authenticated")
    before = wait_for_acks(storm, 1500, 5)
    ok(before > 0, "check-ins are being acknowledged before SIGTERM",
       "%d acknowledged" % before)
    t0 = time.monotonic()
    rc = d.stop(signal.SIGTERM, timeout=20)
    took = time.monotonic() - t0
    is_(rc, 0, "SIGTERM while 100 connections write: exit status 0")
    storm.stop.set()
    ok(storm.join(30), "every writer finished")
    h.diag("SIGTERM: %d acknowledged (%d before the signal), %d "
           "shutting_down, %d sent; exit after %.2f s" %
           (len(storm.acked), before, storm.shutting_down, len(storm.sent),
            took))
    is_(storm.unexpected[:3], [], "no unexpected reply")
    stored = h.stored_ids(d.db_path)
    h.diag("writers ended: %r; %d sent, not acknowledged, yet stored" %
           (storm.ends, len((stored & storm.sent) - storm.acked)))
    lost = storm.acked - stored
    is_(len(lost), 0, "every acknowledged check-in is in the database",
        "lost: %r" % sorted(lost)[:5])
    landed = stored & storm.sent
    ok(len(landed) >= len(storm.acked),
       "rows for the sent ids: at least the acknowledged ones")
    is_(h.integrity_check(d.db_path), ["ok"], "integrity_check after SIGTERM")
    is_(h.repeated_ids(d.db_path)[:3], [], "no id is stored twice")
    if h.failed():
        d.dump_log()
    d.cleanup(keep=h.failed() > 0)


def test_sigkill():
    d = h.Daemon(demo=True, config={"conn_max": 256})
    storm = Storm(d)
    storm.start()
    is_(storm.connect_errors, [], "100 connections authenticated")
    # Long enough for the store's periodic work (its id index is flushed
    # once a second) to have happened more than once before the kill.
    h.wait_for(lambda: storm.acked_count() >= N_CONN * MAX_PER_CONN // 2,
               2.5)
    before = storm.acked_count()
    ok(before > 0, "check-ins are being acknowledged before SIGKILL",
       "%d acknowledged" % before)
    rc = d.kill9()
    is_(rc, -signal.SIGKILL, "kill -9 while 100 connections write")
    storm.stop.set()
    ok(storm.join(30), "every writer finished")
    h.diag("SIGKILL: %d acknowledged, %d sent; writers ended: %r" %
           (len(storm.acked), len(storm.sent), storm.ends))
    ok(storm.ends.get("bound", 0) < N_CONN,
       "the writers were still writing when pingand was killed")
    is_(storm.unexpected[:3], [], "no unexpected reply")

    d.restart()
    ok(d.alive(), "pingand restarts on the same database")
    stored = h.stored_ids(d.db_path)
    lost = storm.acked - stored
    is_(len(lost), 0, "after the restart every acknowledged id is there",
        "lost %d of %d: %r" % (len(lost), len(storm.acked), sorted(lost)[:5]))
    is_(h.integrity_check(d.db_path), ["ok"], "PRAGMA integrity_check is ok")

    # The restarted daemon serves the same roster and tokens.
    rc, out, err = d.client("checkin", "--grid", "DK-01", "--kind", "patrol",
                            "--note", "重启之后")
    is_(rc, 0, "a check-in after the restart", err)
    ok(out.strip() in h.stored_ids(d.db_path), "and it is stored")

    # Terminals re-send what they were not sure of: every acknowledged id
    # is a duplicate now, and every id sent but not acknowledged is stored
    # at most once.
    acked = sorted(storm.acked)
    unsure = sorted(storm.sent - storm.acked)
    replies = resend(d, acked + unsure)
    bad = [(x, r) for x, r in zip(acked, replies) if r != "OK %s duplicate" % x]
    is_(len(replies), len(acked) + len(unsure),
        "re-sending every sent id after the restart: one reply each")
    is_(bad[:3], [], "every acknowledged id re-sent: duplicate")
    bad = [(x, r) for x, r in zip(unsure, replies[len(acked):])
           if r not in ("OK %s duplicate" % x, "OK %s stored" % x)]
    is_(bad[:3], [], "every unacknowledged id re-sent: stored or duplicate")
    is_(h.repeated_ids(d.db_path)[:3], [], "no id is stored twice")
    is_(len(storm.sent - h.stored_ids(d.db_path)), 0,
        "after the re-send every sent id is stored")

    rc = d.stop(signal.SIGINT)
    is_(rc, 0, "SIGINT: exit status 0")
    if h.failed():
        d.dump_log()
    d.cleanup(keep=h.failed() > 0)


def test_lost_index():
    """Files derived from the database beside it are rebuilt when lost."""
    import glob
    d = h.Daemon(demo=True)
    ids = [h.new_id() for _ in range(200)]
    replies = resend(d, ids)
    is_(replies, ["OK %s stored" % x for x in ids], "200 check-ins stored")
    is_(d.stop(), 0, "SIGTERM: exit 0")
    side = [f for f in glob.glob(d.db_path + ".*")
            if not f.endswith(("-wal", "-shm", "-journal"))]
    if not side:
        h.skip("a lost id index is rebuilt", "no index file beside the db")
    for f in side + [f + s for f in side for s in ("-wal", "-shm")]:
        if os.path.exists(f):
            os.unlink(f)
    d.restart()
    replies = resend(d, ids)
    is_(replies, ["OK %s duplicate" % x for x in ids],
        "with %s deleted, every stored id is still a duplicate" %
        ", ".join(os.path.basename(f) for f in side))
    is_(h.repeated_ids(d.db_path), [], "no id is stored twice")
    is_(d.stop(), 0, "SIGTERM: exit 0")
    d.cleanup(keep=h.failed() > 0)


def test_idle_term():
    # SIGTERM with idle connections open and one half-written request.
    d = h.Daemon(demo=True)
    idle = [d.conn() for _ in range(5)]
    c = d.authed("P005")
    c.send("CHECKIN grid=DK-01 kind=pat")
    rc = d.stop(signal.SIGTERM, timeout=20)
    is_(rc, 0, "SIGTERM with idle and half-written connections: exit 0")
    for x in idle + [c]:
        x.close()
    d.cleanup(keep=h.failed() > 0)


def main():
    test_sigterm()
    test_sigkill()
    test_lost_index()
    test_idle_term()


h.main(main)
