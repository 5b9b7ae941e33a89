#!/usr/bin/env python3
"""
test_spool_faults.py: the client's offline spool under faults.

The promise: the spool survives a full disk and a crash mid-write without
losing or duplicating a record.  Every record whose append completed (the
client printed its id and exited 5) reaches the database exactly once; a
record that could not be saved says so loudly (exit 3, no id on stdout,
"记录未保存 ... NOT saved") and the records queued before it are untouched.

- A real full disk: the spool on a small tmpfs filled to the last byte
  (needs root to mount it; skipped otherwise), both while a check-in is
  queued (pingand down) and while `pingan sync` rewrites the spool.
- Crashes: `pingan checkin` and `pingan sync` killed with SIGKILL at random
  moments, many times over.
- Injected faults (PINGAN_SPOOL_FAULT, the test hook of src/spool.c): a
  short write, a failing fsync and a crash after chosen bytes of an append
  or of a rewrite; and a spool.rejected that cannot be written.
"""

import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like  # noqa: E402

EXIT_NETWORK = 3
EXIT_SPOOLED = 5
NOT_SAVED = r"记录未保存.*the record was NOT saved; re-send it with --id"
CRASHES = 40		# random SIGKILLs of `pingan checkin`
SYNC_CRASHES = 15	# random SIGKILLs of `pingan sync`


class Client:
    """The real client, its spool in state_dir/pingan."""

    def __init__(self, d, state_dir):
        self.d = d
        self.env = h.clean_env(d.home)
        self.env["XDG_STATE_HOME"] = state_dir
        self.dir = os.path.join(state_dir, "pingan")
        self.spool = os.path.join(self.dir, "spool")

    def argv(self, args, worker="P001"):
        return self.d.client_argv(list(args), worker=worker)

    def run(self, *args, worker="P001", fault=None, timeout=60):
        env = dict(self.env)
        if fault:
            env["PINGAN_SPOOL_FAULT"] = fault
        return h.run(self.argv(args, worker), timeout=timeout, env=env)

    def checkin(self, ident, note="离线", fault=None):
        return self.run("checkin", "--grid", "DK-01", "--kind", "patrol",
                        "--id", ident, "--note", note, fault=fault)

    def queue(self):
        """(rc, the records' ids, damaged lines) from `pingan queue`."""
        rc, out, err = self.run("queue", "--json", worker=None)
        try:
            q = json.loads(out)
        except ValueError:
            return rc, None, None, err
        return rc, [r["id"] for r in q["records"]], q["damaged"], err

    def add_record(self, worker, request):
        """Appends a whole record, made here as src/spool.c makes them,
        under the spool's lock."""
        crc = zlib.crc32(request.encode("utf-8")) & 0xffffffff
        line = "v1 %d %s %08x %s\n" % (int(time.time() * 1000), worker, crc,
                                        request)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        with open(os.path.join(self.dir, "spool.lock"), "a") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            with open(self.spool, "ab") as f:
                f.write(line.encode("utf-8"))
                f.flush()
                os.fsync(f.fileno())

    def spool_bytes(self):
        try:
            with open(self.spool, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def temp_files(self):
        """What a rewrite left: .spool.XXXXXX files."""
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return []
        return [n for n in names if n.startswith(".spool.")]


def queue_offline(d, c, n, what):
    """Stops pingand if it runs and queues n check-ins; returns their ids."""
    if d.alive():
        is_(d.stop(), 0, "%s: pingand stopped" % what)
    acked = []
    for i in range(n):
        ident = h.new_id()
        rc, out, err = c.checkin(ident, "%s %d" % (what, i))
        is_(rc, EXIT_SPOOLED, "%s: check-in %d queued" % (what, i), err)
        acked.append(ident)
    return acked


def check_db(d, acked, what):
    """Every acknowledged id stored; no id stored twice."""
    stored = h.stored_ids(d.db_path)
    lost = [i for i in acked if i not in stored]
    is_(lost, [], "%s: every acknowledged record is in the database (%d)"
        % (what, len(acked)))
    is_(h.repeated_ids(d.db_path), [], "%s: no record stored twice" % what)
    return stored


def test_full_disk(d, mnt):
    """A check-in on a full disk fails loudly and harms nothing queued."""
    c = Client(d, os.path.join(mnt, "a"))
    acked = queue_offline(d, c, 5, "full disk")

    filler = h.fill_disk(mnt)
    is_(os.statvfs(mnt).f_bavail, 0, "full disk: the tmpfs is full to its "
        "last block")
    # The spool file's last page may still hold a record or two; the
    # check-ins go on until the disk refuses one.
    failed = []
    note = "磁盘已满测试" * 40
    for i in range(40):
        ident = h.new_id()
        before = c.spool_bytes()
        rc, out, err = c.checkin(ident, note)
        if rc == EXIT_SPOOLED:
            acked.append(ident)
            continue
        failed.append(ident)
        is_(rc, EXIT_NETWORK, "full disk: the check-in fails (exit 3)", err)
        is_(out, "", "full disk: no id on stdout")
        like(err, NOT_SAVED, "full disk: it says the record was NOT saved")
        like(err, r"磁盘已满 \(disk full\)", "full disk: and why")
        is_(c.spool_bytes(), before,
            "full disk: the spool is byte for byte as it was")
        break
    ok(failed, "full disk: a check-in was refused (%d fitted in the last "
       "page first)" % (len(acked) - 5))
    ident = h.new_id()
    before = c.spool_bytes()
    rc, out, err = c.checkin(ident, note)
    is_(rc, EXIT_NETWORK, "full disk: the next one fails too", err)
    failed.append(ident)
    is_(c.spool_bytes(), before, "full disk: the spool is still as it was")

    rc, ids, damaged, err = c.queue()
    is_(rc, 0, "full disk: pingan queue works", err)
    is_((ids, damaged), (acked, 0),
        "full disk: it lists every queued record, none damaged")
    rc, out, err = c.run("sync")
    is_(rc, EXIT_SPOOLED, "full disk: sync with pingand down: exit 5", err)
    is_(c.queue()[1], acked, "full disk: nothing lost by that sync")

    os.unlink(filler)
    ident = h.new_id()
    rc, out, err = c.checkin(ident, "腾出空间之后")
    is_(rc, EXIT_SPOOLED, "room again: a check-in is queued", err)
    acked.append(ident)
    for ident in failed:
        rc, out, err = c.checkin(ident, "重发")
        is_(rc, EXIT_SPOOLED, "room again: a refused one re-sent with its "
            "--id is queued", err)
        acked.append(ident)

    d.restart()
    rc, out, err = c.run("sync")
    is_(rc, 0, "full disk: sync with pingand up: exit 0", out, err)
    like(out, r"sent %d, duplicates 0, rejected 0, still waiting 0" %
         len(acked), "full disk: every record sent once", out)
    check_db(d, acked, "full disk")
    is_(c.queue()[1], [], "full disk: the spool is empty")


def test_full_disk_rewrite(d, mnt):
    """A full disk while sync rewrites the spool: the old spool stays whole;
    the records sent are sent again later and answered duplicate.

    G002's records stay in the spool, so that the rewritten file needs room
    (a spool rewritten empty needs none, and is written even on a full
    disk)."""
    c = Client(d, os.path.join(mnt, "b"))
    is_(d.stop(), 0, "full disk, rewrite: pingand stopped")
    acked, others = [], []
    for i in range(8):
        ident = h.new_id()
        worker = "G002" if i % 4 == 1 else "P001"
        rc, out, err = c.run("checkin", "--grid", "DK-01", "--kind", "visit",
                             "--id", ident, "--note", "重写 %d" % i,
                             worker=worker)
        is_(rc, EXIT_SPOOLED, "full disk, rewrite: check-in %d queued" % i,
            err)
        (others if worker == "G002" else acked).append(ident)
    before = c.spool_bytes()
    d.restart()
    filler = h.fill_disk(mnt)
    is_(os.statvfs(mnt).f_bavail, 0, "full disk, rewrite: the tmpfs is full")

    rc, out, err = c.run("sync")
    is_(rc, 0, "full disk, rewrite: sync exits 0 (all were delivered)",
        out, err)
    like(out, r"sent 6, duplicates 0", "full disk, rewrite: 6 sent", out)
    like(err, r"无法更新离线队列.*磁盘已满 \(disk full\).*sent records will "
         r"be sent again", "full disk, rewrite: it says the spool could "
         "not be rewritten", err)
    is_(c.spool_bytes(), before, "full disk, rewrite: the old spool is whole")
    is_(c.temp_files(), [], "full disk, rewrite: no temporary file left")
    check_db(d, acked, "full disk, rewrite")

    ident = h.new_id()
    rc, out, err = c.checkin(ident, "满盘在线")
    is_(rc, 0, "full disk, rewrite: a check-in with pingand up is stored",
        err)
    acked.append(ident)
    is_(c.spool_bytes(), before, "full disk, rewrite: the spool still whole")

    os.unlink(filler)
    rc, out, err = c.run("sync")
    is_(rc, 0, "room again: sync exits 0", out, err)
    like(out, r"sent 0, duplicates 6, rejected 0, still waiting 0",
         "room again: the 6 are answered duplicate", out)
    is_(c.queue()[1], others, "room again: G002's records stay")
    rc, out, err = c.run("sync", worker="G002")
    like(out, r"sent 2, duplicates 0", "room again: G002's sync sends them",
         out, err)
    is_(c.queue()[1], [], "room again: the spool is empty")
    check_db(d, acked + others, "full disk, rewrite")


def tmpfs_tests(d):
    if os.geteuid() != 0:
        h.skip("the spool on a full disk", "needs root to mount a tmpfs")
        return
    mnt = os.path.join(d.dir, "small")
    os.mkdir(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700",
                        "tmpfs", mnt], capture_output=True)
    if p.returncode != 0:
        h.skip("the spool on a full disk", "mount failed: %s" %
               p.stderr.decode(errors="replace").strip())
        return
    try:
        test_full_disk(d, mnt)
        test_full_disk_rewrite(d, mnt)
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def test_injected(d):
    """Short writes, a failing fsync and crashes, on demand."""
    c = Client(d, os.path.join(d.dir, "injected"))
    acked = queue_offline(d, c, 3, "injected")
    torn = []

    # A full disk after n bytes of the append, and a failing fsync.
    for fault in ("append-short:0", "append-short:1", "append-short:60",
                  "append-short:100000", "append-fsync:0"):
        ident = h.new_id()
        before = c.spool_bytes()
        rc, out, err = c.checkin(ident, "注入故障", fault=fault)
        is_(rc, EXIT_NETWORK, "%s: exit 3" % fault, err)
        is_(out, "", "%s: no id on stdout" % fault)
        like(err, NOT_SAVED, "%s: it says the record was NOT saved" % fault)
        is_(c.spool_bytes(), before, "%s: the spool as it was" % fault)
        torn.append(ident)

    # A crash after n bytes: a torn line, skipped, reported, never fatal.
    for n in (1, 40, 120):
        fault = "append-crash:%d" % n
        ident = h.new_id()
        torn.append(ident)
        before = c.spool_bytes()
        rc, out, err = c.checkin(ident, "写到一半", fault=fault)
        is_(rc, -signal.SIGKILL, "%s: the client died of SIGKILL" % fault,
            err)
        is_(out, "", "%s: it printed no id" % fault)
        after = c.spool_bytes()
        ok(after.startswith(before) and len(after) == len(before) + n,
           "%s: the spool holds what it held and %d bytes more" % (fault, n))
        rc, ids, damaged, err = c.queue()
        is_((rc, ids, damaged), (0, acked, 1),
            "%s: queue lists the records, one damaged line" % fault, err)
        ident = h.new_id()
        rc, out, err = c.checkin(ident, "撕裂之后")
        is_(rc, EXIT_SPOOLED, "%s: the next check-in is queued" % fault, err)
        like(err, r"1 damaged line", "%s: and reports the torn line" % fault)
        acked.append(ident)
        is_(c.queue()[1:3], (acked, 0),
            "%s: the torn line moved out, every record whole" % fault)

    # A full disk, then a crash, in the middle of sync's rewrite.
    d.restart()
    before = c.spool_bytes()
    rc, out, err = c.run("sync", fault="rewrite-short:10")
    is_(rc, 0, "rewrite-short: sync exits 0", out, err)
    like(err, r"无法更新离线队列.*磁盘已满", "rewrite-short: it says why", err)
    is_(c.spool_bytes(), before, "rewrite-short: the old spool is whole")
    is_(c.temp_files(), [], "rewrite-short: no temporary file left")
    check_db(d, acked, "rewrite-short")

    rc, out, err = c.run("sync", fault="rewrite-crash:100")
    is_(rc, -signal.SIGKILL, "rewrite-crash: sync died of SIGKILL", err)
    is_(c.spool_bytes(), before, "rewrite-crash: the old spool is whole")
    is_(len(c.temp_files()), 1, "rewrite-crash: its temporary file is left")
    rc, out, err = c.run("sync")
    is_(rc, 0, "after the crash: sync exits 0", out, err)
    like(out, r"sent 0, duplicates %d, rejected 0, still waiting 0" %
         len(acked), "after the crash: every queued record answered "
         "duplicate", out)
    is_(c.temp_files(), [], "after the crash: the temporary file is gone")
    is_(c.queue()[1:3], ([], 0), "after the crash: the spool is empty")
    stored = check_db(d, acked, "injected")
    is_([i for i in torn if i in stored], [],
        "no record that was not saved, or was torn, reached the database")


def test_rejected_unwritable(d):
    """A damaged line that cannot be moved to spool.rejected is not dropped:
    the spool is left as it was, and its sent records are answered
    duplicate the next time."""
    c = Client(d, os.path.join(d.dir, "rejected"))
    acked = queue_offline(d, c, 3, "rejected")
    with open(c.spool, "ab") as f:
        f.write(b"v1 1795698300000 P001 0badc0de CHECKIN id=")
    before = c.spool_bytes()
    os.mkdir(os.path.join(c.dir, "spool.rejected"))	# cannot be appended
    d.restart()
    rc, out, err = c.run("sync")
    like(out, r"sent 3, duplicates 0", "rejected: the 3 are sent", out, err)
    like(err, r"无法把损坏的行移到.*spool\.rejected.*the offline spool is "
         r"left as it was", "rejected: it says the damaged line stays", err)
    is_(c.spool_bytes(), before, "rejected: the spool, torn line included, "
        "is as it was")
    os.rmdir(os.path.join(c.dir, "spool.rejected"))
    rc, out, err = c.run("sync")
    like(out, r"sent 0, duplicates 3, rejected 0, still waiting 0",
         "rejected: next time the 3 are answered duplicate", out, err)
    is_(c.queue()[1:3], ([], 0), "rejected: the spool is empty")
    with open(os.path.join(c.dir, "spool.rejected"), "rb") as f:
        like(f.read().decode(), r"damaged \(torn\)\nv1 1795698300000 P001 "
             r"0badc0de CHECKIN id=\n", "rejected: the torn line moved there")
    check_db(d, acked, "rejected")


def test_random_kills(d):
    """pingan checkin and pingan sync killed with SIGKILL at random."""
    c = Client(d, os.path.join(d.dir, "kills"))
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    h.diag("random kills: seed %d" % seed)
    is_(d.stop(), 0, "kills: pingand stopped")

    # How long a check-in takes here (the longest of 3), to spread the
    # kills over it.
    acked = []
    span = 0
    for i in range(3):
        t0 = time.monotonic()
        ident = h.new_id()
        rc, out, err = c.checkin(ident)
        span = max(span, time.monotonic() - t0)
        is_(rc, EXIT_SPOOLED, "kills: check-in %d is queued" % i, err)
        acked.append(ident)
    killed = bad = 0
    problems = []
    for i in range(CRASHES):
        ident = h.new_id()
        p = subprocess.Popen(c.argv(["checkin", "--grid", "CJ-01", "--kind",
                                     "visit", "--id", ident, "--note",
                                     "随机中断 %d" % i]),
                             env=c.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0, span * 0.8))
        p.send_signal(signal.SIGKILL)
        out, err = p.communicate(timeout=30 * h.SLOW)
        if p.returncode == EXIT_SPOOLED and out.decode().strip() == ident:
            acked.append(ident)
        elif p.returncode == -signal.SIGKILL:
            killed += 1
        else:
            problems.append((p.returncode, out, err))
        rc, ids, damaged, qerr = c.queue()
        if rc != 0 or ids is None or any(a not in ids for a in acked):
            bad += 1
            problems.append(("queue", rc, ids, qerr))
    h.diag("random kills: %d check-ins, %d killed, %d finished first "
           "(a check-in took up to %.3f s)" % (CRASHES, killed,
                                              len(acked) - 3, span))
    is_(problems, [], "kills: each check-in queued (exit 5) or died of "
        "SIGKILL; queue read the spool after each, every queued record "
        "listed")

    # Each sync has records to send and a spool to rewrite: 5 more are
    # queued (appended whole, as the client does) before each.
    d.restart()
    t0 = time.monotonic()
    rc, out, err = c.run("sync")
    span = time.monotonic() - t0
    is_(rc, 0, "kills: a whole sync first", out, err)
    problems = []
    finished = 0
    for i in range(SYNC_CRASHES):
        for j in range(5):
            ident = h.new_id()
            c.add_record("P001", "CHECKIN id=%s grid=DK-02 kind=patrol "
                         "note=\"补发 %d.%d\" at=2026-11-26T08:00:00+08:00"
                         % (ident, i, j))
            acked.append(ident)
        p = subprocess.Popen(c.argv(["sync"]), env=c.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0, span * 0.8))
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=30 * h.SLOW)
        finished += p.returncode != -signal.SIGKILL
        rc, ids, damaged, qerr = c.queue()
        stored = h.stored_ids(d.db_path)
        lost = [a for a in acked if a not in stored and a not in (ids or [])]
        if rc != 0 or ids is None or lost:
            problems.append((rc, lost, qerr))
    h.diag("random kills: %d syncs, %d finished first (a sync took %.3f s)"
           % (SYNC_CRASHES, finished, span))
    is_(problems, [], "kills: sync killed %d times at random: each queued "
        "record stays in the spool or is in the database" % SYNC_CRASHES)
    rc, out, err = c.run("sync")
    is_(rc, 0, "kills: a last sync exits 0", out, err)
    is_(c.queue()[1:3], ([], 0), "kills: the spool is empty")
    is_(c.temp_files(), [], "kills: no temporary file is left")
    check_db(d, acked, "kills")


def main():
    d = h.Daemon()
    test_injected(d)
    test_rejected_unwritable(d)
    test_random_kills(d)
    if not d.alive():
        d.restart()
    tmpfs_tests(d)
    if d.alive():
        is_(d.stop(), 0, "SIGTERM: exit 0")
    d.cleanup()


h.main(main)
