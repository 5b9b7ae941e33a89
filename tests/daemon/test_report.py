#!/usr/bin/env python3
"""
test_report.py: pingan-report on a day filled through the real client.

A shorter day than test_fieldday.py (yesterday, town time): a few patrols,
every village but 和平村 (HP) reports its screening, duty at the town
center and some stations, a few check-ins.  Then:

  - every format for that day: the CSV has the BOM, CRLF and its header
    row; the HTML has the tables and the gap villages' names; the JSON
    equals what SUMMARY over TCP returns for the same day (generated_at
    apart: the report takes the day's end, the daemon now);
  - a second run writes byte-identical files; every file is mode 0640;
  - a report written while pingand takes check-ins (a writer thread);
  - `kill -9` of pingan-report while it holds a file before its rename
    (PINGAN_REPORT_TEST_PAUSE) leaves the previous files whole;
  - the week report's paragraph;
  - backup (while pingand runs) -> more check-ins -> stop -> restore ->
    start: the row counts of the backup, integrity_check ok, and pingand
    takes check-ins again (its id index rebuilt).
"""

import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like, diag  # noqa: E402
import test_fieldday as fd  # noqa: E402

REPORT = os.environ.get("PINGAN_REPORT", "")

VILLAGE_HEADER = ("代码,村(社区),打卡次数,巡逻次数,巡逻时长(小时),已报排查,"
                  "已报网格,网格数,零报告,排查事项,值班到岗,重点时段,时段已巡")

PARTIES = "张敏感、李敏感"
CONTACTS = "13800009999"

TABLES = ["village", "grid", "worker", "checkin", "patrol", "screening",
          "duty", "dispute"]


def build_short_day(day):
    at = day.at
    day.patrol("security", "P001", ["P002", "P008"], villages=["ZD", "DK"],
               start=at(20, 10), end=at(23, 40),
               points=[(at(20, 45), "P001", "ZD-CP1")])
    day.patrol("security", "P003", ["P010"],
               villages=["CJ", "HZ", "TX", "HP", "XH"],
               start=at(20, 0), end=at(23, 59),
               points=[(at(21, 0), "P003", "CJ-CP1")])
    day.patrol("forest_fire", "P004", [], villages=["TX"], start=at(9, 0),
               end=at(11, 30))
    for v in fd.VILLAGES:
        if v == "HP":
            continue
        day.screen(v, "%s-01" % v, at(9, 30), zero=True)
    day.screen("DK", "DK-02", at(10, 0), item="两户宅基地界址纠纷")
    for post in ["TOWN", "ZD", "DK", "HZ", "TX", "HP", "XH"]:
        day.duty_shift(post, at(8, 0), at(17, 30))
    day.checkin("G001", "ZD-01", "visit", at(10, 0), note="走访独居老人")
    day.checkin("M001", "DK-01", "mediation", at(15, 0),
                note="调解, 双方达成协议")
    day.checkin("G002", "DK-02", "other", at(16, 0))
    day.run("G002", "dispute", "report", "--id", h.new_id(), "--village",
            "DK", "--category", "邻里", "--source", "village", "--summary",
            "两户宅基地界址纠纷", "--parties", PARTIES, "--contacts",
            CONTACTS, "--at", day.rfc(at(10, 30)), what="dispute report")


def report(d, *args, env=None, timeout=60):
    return h.run([REPORT, "-f", d.conf_path] + list(args), timeout=timeout,
                 env=env)


def snapshot(dirpath):
    """Every visible file of a directory: name -> bytes."""
    out = {}
    for name in sorted(os.listdir(dirpath)):
        if name.startswith("."):
            continue
        with open(os.path.join(dirpath, name), "rb") as f:
            out[name] = f.read()
    return out


def tcp_summary(d, day):
    c = d.authed("S001")
    try:
        line = c.request("SUMMARY day=%s" % day)
    finally:
        c.close()
    if not line or not line.startswith("OK "):
        ok(False, "SUMMARY over TCP answers OK", line)
        return None
    return json.loads(line[3:])


def strip_volatile(s):
    """generated_at differs (now vs the day's end); so does hours_open."""
    s = dict(s)
    s.pop("generated_at", None)
    for g in s.get("gaps", []):
        g.pop("hours_open", None)
    return s


def check_day(d, out, dayname):
    dirpath = os.path.join(out, dayname)
    # Text typed by people lands in CSV files opened by Excel or WPS.
    rc, so, se = d.admin("worker-add", "--code", "X099", "--name",
                         "=HYPERLINK(1)", "--role", "grid", "--village", "DK")
    is_(rc, 0, "a worker named like a formula", se)
    rc, so, se = report(d, "--day", dayname, "--out", out,
                        "--format", "json,csv,html,text")
    is_(rc, 0, "pingan-report --day exits 0", se)
    ok(os.path.isdir(dirpath), "the day's directory exists", so, se)
    if not os.path.isdir(dirpath):
        return None
    files = snapshot(dirpath)
    for name in ["summary.json", "town.csv", "villages.csv", "gaps.csv",
                 "workers.csv", "disputes.csv", "report.html", "report.txt"]:
        ok(name in files, "%s written" % name, sorted(files))
    bad = [n for n in os.listdir(dirpath)
           if stat.S_IMODE(os.stat(os.path.join(dirpath, n)).st_mode)
           != 0o640]
    is_(bad, [], "every file is mode 0640")
    ok(not any(n.startswith(".") for n in os.listdir(dirpath)),
       "no temporary file left")

    # CSV: BOM, CRLF, the header row.
    for name in [n for n in files if n.endswith(".csv")]:
        b = files[name]
        ok(b.startswith(b"\xef\xbb\xbf"), "%s starts with a BOM" % name)
        body = b[3:]
        ok(body.endswith(b"\r\n") and b"\n" not in body.replace(b"\r\n", b""),
           "%s: every line ends with CRLF" % name)
    v = files.get("villages.csv", b"")[3:].decode("utf-8").split("\r\n")
    is_(v[0], VILLAGE_HEADER, "villages.csv: the header row")
    is_(len([x for x in v[1:] if x]), 7, "villages.csv: one row per village")
    w = files.get("workers.csv", b"")[3:].decode("utf-8")
    like(w, r"(?m)^X099,'=HYPERLINK\(1\)", "workers.csv: a name that "
         "looks like a formula is written as text, not a formula")
    g = files.get("gaps.csv", b"")[3:].decode("utf-8")
    like(g, r"screening_missing,HP,和平村", "gaps.csv lists HP's screening")
    like(g, r"duty_uncovered", "gaps.csv lists CJ's empty post")

    html = files.get("report.html", b"").decode("utf-8")
    ok(html.startswith("<!DOCTYPE html>") and "<table>" in html and
       "</html>" in html, "the HTML is a page with tables")
    ok("和平村" in html and "长江村" in html,
       "the HTML names the gap villages")
    ok("<svg" in html and "http://" not in html.replace(
        "http://www.w3.org/2000/svg", ""),
       "the HTML has an inline chart and no network reference")
    ok("A4" in html, "the HTML is laid out for A4")
    text = files.get("report.txt", b"").decode("utf-8")
    like(text, r"全镇排查出矛盾纠纷\d+件,已调处\d+件", "the paragraph", text)
    like(text, r"未报排查1项\(和平村\)", "the paragraph names HP", text)

    # The JSON is the daemon's summary of the same day.
    mine = json.loads(files.get("summary.json", b"null").decode("utf-8"))
    theirs = tcp_summary(d, dayname)
    ok(mine is not None and theirs is not None and
       strip_volatile(mine) == strip_volatile(theirs),
       "summary.json equals SUMMARY over TCP (generated_at apart)",
       json.dumps(mine, ensure_ascii=False)[:1500],
       json.dumps(theirs, ensure_ascii=False)[:1500])
    like((mine or {}).get("generated_at", ""),
         r"T00:00:00\+08:00$", "generated_at is the day's end")

    leaked = [n for n, b in files.items()
              if PARTIES.encode() in b or CONTACTS.encode() in b]
    is_(leaked, [], "no file carries the parties or contacts")

    # Idempotent.
    rc, so, se = report(d, "--day", dayname, "--out", out)
    is_(rc, 0, "a second run exits 0", se)
    again = snapshot(dirpath)
    ok(again == files, "a second run writes byte-identical files",
       [n for n in again if again.get(n) != files.get(n)])
    return files


def checkin_writer(d, stop, counts):
    c = d.authed("G001")
    try:
        while not stop.is_set():
            line = c.request("CHECKIN id=%s grid=ZD-01 kind=visit" %
                             h.new_id())
            if line and line.startswith("OK"):
                counts["ok"] += 1
            else:
                counts["bad"] += 1
    finally:
        c.close()


def test_while_writing(d, out, dayname):
    stop = threading.Event()
    counts = {"ok": 0, "bad": 0}
    t = threading.Thread(target=checkin_writer, args=(d, stop, counts),
                         daemon=True)
    t.start()
    time.sleep(0.3)
    today = datetime.now(fd.TOWN_TZ).date().isoformat()
    rcs = []
    for _ in range(3):
        rc, so, se = report(d, "--day", today, "--out", out)
        rcs.append((rc, se.strip()))
        rc, so, se = report(d, "--day", dayname, "--out", out)
        rcs.append((rc, se.strip()))
    time.sleep(0.2)
    stop.set()
    t.join(30)
    is_([r for r, _ in rcs], [0] * 6,
        "reports written while pingand takes check-ins exit 0", rcs)
    ok(counts["ok"] > 0 and counts["bad"] == 0,
       "pingand kept taking check-ins meanwhile", counts)
    ok(os.path.exists(os.path.join(out, today, "summary.json")),
       "today's report written")


def test_kill(d, out, dayname, before):
    dirpath = os.path.join(out, dayname)
    env = dict(os.environ, PINGAN_REPORT_TEST_PAUSE="30")
    p = subprocess.Popen([REPORT, "-f", d.conf_path, "--day", dayname,
                          "--out", out], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    seen = b""
    end = time.monotonic() + 20 * h.SLOW
    while time.monotonic() < end and b"paused" not in seen:
        seen += p.stderr.read1(4096)
    ok(b"paused" in seen, "pingan-report paused before a rename", seen)
    p.kill()
    p.wait(10)
    p.stdout.close()
    p.stderr.close()
    is_(snapshot(dirpath), before,
        "after kill -9 every report file is the previous, whole one")
    # A fresh directory: nothing visible at all.
    fresh = os.path.join(d.dir, "fresh")
    p = subprocess.Popen([REPORT, "-f", d.conf_path, "--day", dayname,
                          "--out", fresh], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    seen = b""
    end = time.monotonic() + 20 * h.SLOW
    while time.monotonic() < end and b"paused" not in seen:
        seen += p.stderr.read1(4096)
    p.kill()
    p.wait(10)
    p.stdout.close()
    p.stderr.close()
    fdir = os.path.join(fresh, dayname)
    is_(snapshot(fdir) if os.path.isdir(fdir) else {}, {},
        "killed on its first file: no report file at all")
    rc, so, se = report(d, "--day", dayname, "--out", fresh)
    is_(rc, 0, "a run after the kill exits 0", se)
    ok(snapshot(fdir) == before, "... and writes the same files")
    ok(not any(n.startswith(".") for n in os.listdir(fdir)),
       "... and leaves no temporary file")

    # Two runs at once (the nightly timer and a clerk): the second waits
    # until the first is gone instead of deleting its temporary files.
    pa = subprocess.Popen([REPORT, "-f", d.conf_path, "--day", dayname,
                           "--out", fresh], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    seen = b""
    end = time.monotonic() + 20 * h.SLOW
    while time.monotonic() < end and b"paused" not in seen:
        seen += pa.stderr.read1(4096)
    pb = subprocess.Popen([REPORT, "-f", d.conf_path, "--day", dayname,
                           "--out", fresh], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    ok(pb.poll() is None, "a second run waits while the first one writes")
    pa.kill()
    pa.wait(10)
    pa.stdout.close()
    pa.stderr.close()
    is_(pb.wait(30 * h.SLOW), 0, "... and finishes once the first is gone")
    ok(snapshot(fdir) == before, "... with the same files")


def test_week(d, out, day):
    iso = day.isocalendar()
    week = "%d-W%02d" % (iso[0], iso[1])
    rc, so, se = report(d, "--week", week, "--out", out)
    is_(rc, 0, "pingan-report --week exits 0", se)
    wdir = os.path.join(out, week)
    files = snapshot(wdir) if os.path.isdir(wdir) else {}
    for name in ["summary.json", "ledger.json", "ledger-villages.csv",
                 "report.html", "report.txt"]:
        ok(name in files, "week: %s written" % name, sorted(files))
    like(files.get("report.txt", b"").decode("utf-8"),
         r"本周全镇排查出矛盾纠纷\d+件,已调处\d+件", "week: the paragraph")
    led = json.loads(files.get("ledger.json", b"{}"))
    is_(led.get("kind"), "week", "week: ledger.json is the week report")
    rc, so, se = report(d, "--month", day.strftime("%Y-%m"), "--out", out)
    is_(rc, 0, "pingan-report --month exits 0", se)
    rc, so, se = report(d, "--year", day.strftime("%Y"), "--out", out)
    is_(rc, 0, "pingan-report --year exits 0", se)
    rc, so, se = report(d, "--week", "2026-W99", "--out", out)
    is_(rc, 2, "a bad week: exit 2")
    like(se.strip(), r"^pingan-report: .*期间.* / bad period",
         "one line, Chinese then English")


def counts(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        n = {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
             for t in TABLES}
        n["_integrity"] = con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
    return n


def test_backup(d, day):
    bdir = d.config["backups_dir"]
    rc, so, se = report(d, "--backup")
    is_(rc, 0, "--backup while pingand runs exits 0", se)
    paths = [x for x in so.splitlines() if x.endswith(".db")]
    is_(len(paths), 1, "--backup prints the backup's path", so)
    if not paths:
        return
    backup = paths[0]
    like(os.path.basename(backup), r"^pingand-\d{8}-\d{6}\.db$",
         "the backup's name")
    is_(stat.S_IMODE(os.stat(backup).st_mode), 0o640, "the backup is 0640")
    printed = {x.split()[0]: int(x.split()[1]) for x in so.splitlines()
               if len(x.split()) == 2}
    want = counts(backup)
    is_(want["_integrity"], "ok", "integrity_check of the backup")
    is_({t: printed.get(t) for t in TABLES}, {t: want[t] for t in TABLES},
        "the counts it printed are the backup's")

    # More work after the backup, then a restore.
    for i in range(3):
        day.checkin("G001", "ZD-01", "visit", day.at(12, i))
    ok(counts(d.db_path)["checkin"] > want["checkin"],
       "the database moved on after the backup")
    rc, so, se = report(d, "--restore", backup)
    is_(rc, 1, "--restore refuses while pingand runs", se)
    like(se, r"pingand", "... saying why")
    is_(d.stop(), 0, "SIGTERM: pingand exits 0")
    down = os.path.join(d.dir, "down")
    rc, so, se = report(d, "--day", day.day.isoformat(), "--out", down)
    is_(rc, 0, "a report while pingand is down exits 0", se)
    ok(os.path.exists(os.path.join(down, day.day.isoformat(),
                                   "report.html")),
       "... and writes the report")
    rc, so, se = report(d, "--restore", backup)
    is_(rc, 0, "--restore with pingand stopped exits 0", se)
    ok(not os.path.exists(d.db_path + ".ids"), "the id index is removed")
    got = counts(d.db_path)
    is_(got, want, "restored: the backup's row counts, integrity ok")
    d.start(demo=False)
    d.load_creds()
    rc, out, err = d.client("checkin", "--id", h.new_id(), "--grid", "ZD-01",
                            "--kind", "visit", worker="G001")
    is_(rc, 0, "pingand takes check-ins after the restore", out, err)
    ok(os.path.exists(d.db_path + ".ids"), "the id index is rebuilt")

    # Keep: backups_keep is 2.
    for _ in range(2):
        time.sleep(1.1)
        rc, so, se = report(d, "--backup")
        is_(rc, 0, "another backup exits 0", se)
    names = sorted(n for n in os.listdir(bdir) if n.endswith(".db"))
    is_(len(names), 2, "backups_keep 2: two backups kept", names)
    ok(os.path.basename(backup) not in names, "the oldest was removed")


def test_usage():
    rc, so, se = h.run([REPORT, "--help"])
    is_(rc, 0, "--help exits 0")
    for opt in ["-f", "--day", "--week", "--month", "--year", "--format",
                "--out", "--internal", "--backup", "--restore"]:
        ok(opt in so, "--help lists %s" % opt)
    rc, so, se = h.run([REPORT, "--format", "pdf"])
    is_(rc, 2, "a bad --format: exit 2")
    rc, so, se = h.run([REPORT, "--internal"])
    is_(rc, 2, "--internal is refused without report_edition internal: "
        "exit 2")
    like(se.strip(), r"^pingan-report: [^\n]* / [^\n]*$",
         "... in one line, Chinese then English")
    rc, so, se = h.run([REPORT, "--bogus"])
    is_(rc, 2, "an unknown option: exit 2")


def test_report():
    if not REPORT:
        ok(False, "PINGAN_REPORT is set")
        return
    test_usage()
    now = datetime.now(fd.TOWN_TZ)
    yesterday = (now - timedelta(days=1)).date()
    diag("the day is %s" % yesterday)
    cfg = dict(fd.CONFIG)
    d = h.Daemon(config=cfg, start=False)
    d.config["reports_dir"] = os.path.join(d.dir, "reports")
    d.config["backups_dir"] = os.path.join(d.dir, "backups")
    d.config["backups_keep"] = "2"
    d.write_config()
    d.start()
    day = fd.Day(d, yesterday)
    build_short_day(day)
    is_(day.failures, [], "every record of the day was accepted",
        *["%s (%s): rc %r %s %s" % f for f in day.failures])
    out = os.path.join(d.dir, "out")
    files = check_day(d, out, yesterday.isoformat())
    rc, so, se = report(d, "--day", yesterday.isoformat(), "--format",
                        "json")
    is_(rc, 0, "without --out: into reports_dir", se)
    ok(os.path.exists(os.path.join(d.config["reports_dir"],
                                   yesterday.isoformat(), "summary.json")),
       "reports_dir/<day>/summary.json")
    dflt = os.path.join(d.dir, "default")
    rc, so, se = report(d, "--format", "json", "--out", dflt)
    is_(rc, 0, "no period: exits 0", se)
    ok(os.path.exists(os.path.join(dflt, yesterday.isoformat(),
                                   "summary.json")),
       "no period: yesterday's report", sorted(os.listdir(dflt))
       if os.path.isdir(dflt) else None)
    if now.isoweekday() == 1:
        iso = yesterday.isocalendar()
        ok(os.path.isdir(os.path.join(dflt, "%d-W%02d" % (iso[0], iso[1]))),
           "no period, a Monday: the week just ended too")
    if now.day == 1:
        ok(os.path.isdir(os.path.join(dflt, yesterday.strftime("%Y-%m"))),
           "no period, the 1st: the month just ended too")
    test_while_writing(d, out, yesterday.isoformat())
    if files is not None:
        test_kill(d, out, yesterday.isoformat(), files)
    test_week(d, out, yesterday)
    test_backup(d, day)
    ok(d.alive(), "pingand is still running")
    is_(d.stop(), 0, "SIGTERM: pingand exits 0")


if __name__ == "__main__":
    h.main(test_report)
