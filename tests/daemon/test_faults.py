#!/usr/bin/env python3
"""
test_faults.py: SQLite failing under pingand, on purpose.

Through the store's test hook (src/fault.c, PINGAN_FAULTS) each fault in
turn -- a full disk, an I/O error and a failing fsync at COMMIT, a busy
database, an I/O error while a summary reads -- and then a real full disk
(a small tmpfs filled to its last byte; needs root, skipped otherwise).
With each: a write that did not commit is answered `ERR storage`, never
`OK`; nothing of it is visible; reads go on being served; /healthz says
what is wrong while it lasts; and once the fault clears the daemon
recovers by itself, and the same ids store as new.
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def healthz(d):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" %
                                    d.http_port, timeout=10 * h.SLOW) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def set_fault(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text + "\n" if text else "")
    os.rename(tmp, path)


def stored(d, cid):
    """How many check-ins with this id the database holds."""
    con = d.db()
    try:
        return con.execute("SELECT count(*) FROM checkin WHERE client_id = ?",
                           (bytes.fromhex(cid.replace("-", "")),)
                           ).fetchone()[0]
    finally:
        con.close()


def checkin(c, cid, note="故障测试"):
    return c.request('CHECKIN id=%s grid=DK-01 kind=visit note="%s"' %
                     (cid, note)) or ""


def write_fault(d, ctl, rule, name, c, sup):
    set_fault(ctl, rule)
    ids = [h.new_id() for _ in range(3)]
    replies = [checkin(c, i) for i in ids]
    h.ok(all(r.startswith("ERR storage") for r in replies),
         "%s: writes get ERR storage, never OK" % name, replies)
    h.is_([stored(d, i) for i in ids], [0, 0, 0],
          "%s: nothing of them is visible" % name)
    st, j = healthz(d)
    h.is_((st, j.get("writer")), (503, "failing"),
          "%s: /healthz says the writer fails" % name, j)
    h.ok(j.get("error"), "%s: ... and why: %s" % (name, j.get("error")))
    r = sup.request("SUMMARY") or ""
    h.like(r, r"^OK \{", "%s: reads are still served" % name)

    set_fault(ctl, "")
    ok = h.wait_for(lambda: healthz(d)[0] == 200, 10 * h.SLOW)
    h.ok(ok, "%s: the daemon recovers by itself once the fault clears"
         % name, healthz(d))
    replies = [checkin(c, i) for i in ids]
    h.ok(all(r.startswith("OK %s" % i) and "duplicate" not in r
             for r, i in zip(replies, ids)),
         "%s: the same ids then store as new" % name, replies)
    h.is_([stored(d, i) for i in ids], [1, 1, 1],
          "%s: each once" % name)


def test_injected(tmp):
    ctl = os.path.join(tmp, "faults")
    set_fault(ctl, "")
    d = h.Daemon(env={"PINGAN_FAULTS": ctl})
    c = d.authed("G001")
    sup = d.authed("S001")
    h.like(d.log_text(), r"fault: injection enabled",
           "the hook announces itself")
    h.like(checkin(c, h.new_id()), r"^OK ", "no fault: a check-in stores")

    write_fault(d, ctl, "write full stmt=COMMIT", "a full disk at COMMIT",
                c, sup)
    write_fault(d, ctl, "write ioerr stmt=COMMIT", "an I/O error at COMMIT",
                c, sup)
    write_fault(d, ctl, "sync ioerr", "a failing fsync", c, sup)
    write_fault(d, ctl, "lock busy", "a busy database", c, sup)

    # a read that fails: the summary's query, not the writes
    set_fault(ctl, "read ioerr stmt=checkin_village_day")
    r = sup.request("SUMMARY") or ""
    h.like(r, r"^ERR storage", "a failing read: SUMMARY gets ERR storage")
    req = urllib.request.Request(
        "http://127.0.0.1:%d/api/v1/summary" % d.http_port,
        headers={"Authorization": "Bearer %s" % d.creds["S001"]})
    try:
        urllib.request.urlopen(req, timeout=10 * h.SLOW)
        st, body = 200, {}
    except urllib.error.HTTPError as e:
        st, body = e.code, json.loads(e.read())
    h.is_((st, body.get("error", {}).get("code")), (500, "storage"),
          "a failing read: the API answers 500 storage")
    cid = h.new_id()
    h.like(checkin(c, cid), r"^OK ", "a failing read: writes go on")
    set_fault(ctl, "")
    h.like(sup.request("SUMMARY") or "", r"^OK \{",
           "the read works again once the fault clears")
    c.close()
    sup.close()
    h.is_(d.stop(), 0, "pingand stops cleanly after the faults")
    con = d.db()
    h.is_(con.execute("PRAGMA integrity_check").fetchone()[0], "ok",
          "integrity_check after the faults")
    con.close()
    d.cleanup(keep=h.failed())


def test_full_disk(tmp):
    if os.geteuid() != 0:
        h.skip("a real full disk", "needs root to mount a tmpfs")
        return
    mnt = os.path.join(tmp, "small")
    os.mkdir(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs",
                        mnt], capture_output=True)
    if p.returncode != 0:
        h.skip("a real full disk", "mount failed: %s" % p.stderr.decode())
        return
    try:
        d = h.Daemon(start=False)
        d.db_path = os.path.join(mnt, "pingan.db")
        d.config["database"] = d.db_path
        d.write_config()
        d.start()
        c = d.authed("G001")
        sup = d.authed("S001")
        h.like(checkin(c, h.new_id()), r"^OK ", "full disk: first a store")
        filler = h.fill_disk(mnt)
        st = os.statvfs(mnt)
        h.is_(st.f_bavail, 0, "the file system is full to the last block")
        ids = [h.new_id() for _ in range(40)]
        replies = [checkin(c, i, "磁盘已满" * 30) for i in ids]
        n_ok = sum(r.startswith("OK ") for r in replies)
        bad = [r for r in replies
               if not r.startswith("OK ") and not r.startswith("ERR storage")]
        h.ok(not bad, "full disk: each write is OK or ERR storage", bad[:3])
        h.ok(n_ok < len(ids), "full disk: writes fail (%d of %d stored in "
             "the pages free)" % (n_ok, len(ids)))
        acked = [i for i, r in zip(ids, replies) if r.startswith("OK ")]
        h.like(sup.request("SUMMARY") or "", r"^OK \{",
               "full disk: reads are still served")
        st_code, j = healthz(d)
        h.is_(st_code, 503, "full disk: /healthz 503", j)
        os.unlink(filler)
        h.ok(h.wait_for(lambda: healthz(d)[0] == 200, 10 * h.SLOW),
             "full disk: recovers by itself once there is room")
        replies = [checkin(c, i) for i in ids]
        h.ok(all(r.startswith("OK ") for r in replies),
             "full disk: every id stores once there is room", replies[:3])
        h.is_(sorted(set(i for i in ids if stored(d, i) == 1)), sorted(ids),
              "full disk: each id once, the acknowledged ones included "
              "(%d)" % len(acked))
        c.close()
        sup.close()
        h.is_(d.stop(), 0, "full disk: pingand stops cleanly")
        con = d.db()
        h.is_(con.execute("PRAGMA integrity_check").fetchone()[0], "ok",
              "full disk: integrity_check")
        con.close()
        d.cleanup(keep=h.failed())
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def main():
    tmp = h.TMP
    base = os.path.join(tmp, "faults-%d" % os.getpid())
    os.makedirs(base, exist_ok=True)
    test_injected(base)
    test_full_disk(base)
    time.sleep(0)


h.main(main)
