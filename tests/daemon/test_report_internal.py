#!/usr/bin/env python3
"""
test_report_internal.py: the internal edition (内部版) of pingan-report.

The short day of test_report.py (yesterday, town time), whose dispute
carries party names and a phone number, plus what must stay out of that
day's internal edition: an older dispute with its own parties, ended
before the day (and reopened today, after it), and a petition-risk register with one entry in watch, one
added and resolved on the day, one resolved long before and one added
today (after the day).  With report_edition internal:

  - one run writes the public edition, which carries no party, contact or
    register name and is byte-identical to a run with report_edition
    public, and the internal edition in <out>/internal/<day>/, every file
    named *-internal.*, mode 0640, marked 内部版, with the day's parties,
    contacts and register (and nothing of the rest);
  - pingand wrote one audit row per record it returned, worker null, the
    admin socket's peer (this uid) and "day <day>" as what was asked; a
    second run writes the same files and audits again;
  - a week's internal edition puts the parties beside the week's new
    cases; --internal writes the internal edition only;
  - pingand refuses REPORT-SENSITIVE (forbidden) once report_edition is
    public again (SIGHUP), and a bad period (bad_field), auditing nothing;
    pingan-report --internal then refuses (exit 2) and writes nothing;
  - with pingand stopped, the public edition is still written and the
    internal one fails in one line naming the socket: exit 3.
"""

import json
import os
import signal
import socket
import sqlite3
import stat
import sys
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like, diag  # noqa: E402
import test_fieldday as fd  # noqa: E402
import test_report as tr  # noqa: E402

REPORT = tr.REPORT
OLD_PARTIES = "王旧案、钱旧案"
OLD_CONTACTS = "13900001111"
WATCH = "赵在控"		# in watch since before the day
DAY_RESOLVED = "孙当日"		# added and resolved on the day
LONG_RESOLVED = "钱早化解"	# added and resolved weeks before
TODAY = "周今日"		# added today, after the day
SECRETS = [tr.PARTIES, tr.CONTACTS, OLD_PARTIES, OLD_CONTACTS, WATCH,
           DAY_RESOLVED, LONG_RESOLVED, TODAY]


def build(day):
    """The short day, an older dispute and the register."""
    tr.build_short_day(day)
    at = day.at
    old = h.new_id()
    day.run("G002", "dispute", "report", "--id", old, "--village", "DK",
            "--category", "邻里", "--source", "village", "--summary",
            "旧的排水沟纠纷", "--parties", OLD_PARTIES, "--contacts",
            OLD_CONTACTS, "--at", day.rfc(at(9, 0, days=-12)),
            what="old dispute report")
    day.run("S001", "dispute", "triage", "--id", h.new_id(), "--dispute",
            old, "--level", "village", "--handlers", "M001", "--deadline",
            (day.day - timedelta(days=2)).isoformat(), "--at",
            day.rfc(at(10, 0, days=-12)), what="old dispute triage")
    day.run("M001", "dispute", "status", "--id", h.new_id(), "--dispute",
            old, "--status", "mediated", "--outcome", "已达成协议", "--at",
            day.rfc(at(15, 0, days=-8)), what="old dispute mediated")
    ids = {}

    def add(person, when, what):
        ids[person] = h.new_id()
        day.run("S001", "risk", "add", "--id", ids[person], "--person",
                person, "--reason", "征地补偿诉求", "--cadre", "S001",
                "--village", "DK", "--at", day.rfc(when), what=what)

    def resolve(person, when, what):
        day.run("S001", "risk", "update", "--id", h.new_id(), "--risk",
                ids[person], "--status", "resolved", "--note", "已息访",
                "--at", day.rfc(when), what=what)

    add(WATCH, at(11, 0, days=-3), "risk in watch")
    add(DAY_RESOLVED, at(9, 0), "risk added on the day")
    resolve(DAY_RESOLVED, at(17, 0), "risk resolved on the day")
    add(LONG_RESOLVED, at(9, 0, days=-30), "risk added long ago")
    resolve(LONG_RESOLVED, at(9, 0, days=-20), "risk resolved long ago")
    now = datetime.now(fd.TOWN_TZ).replace(microsecond=0)
    add(TODAY, now - timedelta(seconds=5), "risk added today")
    # Open again now, but ended on the day: not one of the day's.
    day.run("S001", "dispute", "reopen", "--id", h.new_id(), "--dispute",
            old, "--reason", "协议未履行", "--at",
            day.rfc(now - timedelta(seconds=4)), what="old dispute reopened")
    return ids


def report(d, *args):
    return tr.report(d, *args)


def leaks(files):
    """The secret strings any file of a snapshot carries."""
    return sorted({(n, s) for n, b in files.items() for s in SECRETS
                   if s.encode() in b})


def audit_rows(d):
    """REPORT-SENSITIVE rows of the audit log, read read-only."""
    con = sqlite3.connect("file:%s?mode=ro" % d.db_path, uri=True)
    try:
        return con.execute(
            "SELECT worker_id, peer, detail, record, hex(record_id) "
            "FROM audit_log WHERE request = 'REPORT-SENSITIVE' "
            "ORDER BY id").fetchall()
    finally:
        con.close()


def hexid(u):
    return u.replace("-", "").upper()


def raw_admin(d, line):
    """One request on the admin socket; its reply line."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10 * h.SLOW)
    try:
        s.connect(d.sock_path)
        f = s.makefile("rwb")
        f.readline()
        f.write(line.encode() + b"\nQUIT\n")
        f.flush()
        return f.readline().decode().rstrip("\r\n")
    finally:
        s.close()


def set_edition(d, edition):
    d.config["report_edition"] = edition
    d.write_config()


def reload(d):
    """SIGHUP, then wait until pingand says it reloaded: a request sent
    before that is still answered under the old configuration."""
    n = d.log_text().count("reload: ")
    d.proc.send_signal(signal.SIGHUP)
    ok(h.wait_for(lambda: d.log_text().count("reload: ") > n, 10 * h.SLOW,
                  step=0.05), "pingand reloaded its configuration")


def check_internal_day(d, out, dayname, ids, dispute_id):
    pub = os.path.join(out, dayname)
    idir = os.path.join(out, "internal", dayname)
    before = audit_rows(d)
    rc, so, se = report(d, "--day", dayname, "--out", out)
    is_(rc, 0, "report_edition internal: pingan-report --day exits 0", se)
    ok(os.path.isdir(pub) and os.path.isdir(idir),
       "both editions written: <out>/<day> and <out>/internal/<day>", so)
    if not (os.path.isdir(pub) and os.path.isdir(idir)):
        return None
    public = tr.snapshot(pub)
    internal = tr.snapshot(idir)
    is_(leaks(public), [], "the public edition carries no party, contact "
        "or register name")

    # The public edition is that of report_edition public, byte for byte.
    set_edition(d, "public")
    pout = os.path.join(d.dir, "public-only")
    rc, so, se = report(d, "--day", dayname, "--out", pout)
    set_edition(d, "internal")
    is_(rc, 0, "report_edition public: exits 0", se)
    ok(tr.snapshot(os.path.join(pout, dayname)) == public,
       "the public edition is the same with report_edition public")
    ok(not os.path.exists(os.path.join(pout, "internal")),
       "report_edition public writes no internal edition")

    names = sorted(internal)
    bad = [n for n in names if not n.rsplit(".", 1)[0].endswith("-internal")]
    is_(bad, [], "every internal file is named *-internal.*", names)
    for n in ["summary-internal.json", "sensitive-internal.json",
              "parties-internal.csv", "risks-internal.csv",
              "disputes-internal.csv", "report-internal.html",
              "report-internal.txt"]:
        ok(n in internal, "internal: %s written" % n, names)
    modes = {n: stat.S_IMODE(os.stat(os.path.join(idir, n)).st_mode)
             for n in names}
    is_([n for n, m in modes.items() if m != 0o640], [],
        "every internal file is mode 0640")
    is_(internal.get("summary-internal.json"), public.get("summary.json"),
        "the internal summary.json is the public one")

    sens = json.loads(internal.get("sensitive-internal.json", b"{}"))
    is_((sens.get("edition"), sens.get("kind"), sens.get("period")),
        ("internal", "day", dayname), "sensitive-internal.json: its head")
    disputes = sens.get("disputes") or []
    is_([(x.get("parties"), x.get("contacts")) for x in disputes],
        [(tr.PARTIES, tr.CONTACTS)],
        "the day's dispute with its parties and contacts, and no other",
        json.dumps(disputes, ensure_ascii=False))
    risks = sens.get("risks") or []
    is_(sorted((x.get("person"), x.get("status")) for x in risks),
        sorted([(WATCH, "watch"), (DAY_RESOLVED, "resolved")]),
        "the register as it stood at the day's end: in watch, or changed "
        "on the day", json.dumps(risks, ensure_ascii=False))
    is_([x for x in leaks(internal) if x[1] in
         [OLD_PARTIES, OLD_CONTACTS, LONG_RESOLVED, TODAY]], [],
        "the internal edition leaves out the older dispute, the entry "
        "resolved long before and the one added after the day")
    parties = internal.get("parties-internal.csv", b"").decode("utf-8")
    ok(parties.startswith("\ufeff村(社区),类别,概要,状态,当事人,联系方式,") and
       tr.PARTIES in parties and tr.CONTACTS in parties,
       "parties-internal.csv: its header, the parties and contacts",
       parties)
    risks_csv = internal.get("risks-internal.csv", b"").decode("utf-8")
    ok(WATCH in risks_csv and DAY_RESOLVED in risks_csv,
       "risks-internal.csv lists the register", risks_csv)
    html = internal.get("report-internal.html", b"").decode("utf-8")
    ok("内部版" in html and "注意保密" in html and tr.PARTIES in html and
       WATCH in html, "the HTML is marked 内部版 and has the parties and "
       "the register")
    like(html, r"<title>[^<]*内部版</title>", "the HTML's title says 内部版")
    text = internal.get("report-internal.txt", b"").decode("utf-8")
    like(text, r"^【内部版", "the paragraph is marked 内部版", text)
    like(text, r"上访重点人员在控1人\(%s\)" % WATCH,
         "the paragraph names who is in watch", text)

    # Audited by pingand: one row per record returned, as read by us.
    rows = audit_rows(d)[len(before):]
    want = sorted([("dispute", hexid(dispute_id)),
                   ("risk", hexid(ids[WATCH])),
                   ("risk", hexid(ids[DAY_RESOLVED]))])
    is_(sorted((r[3], r[4]) for r in rows), want,
        "one audit row per record returned", rows)
    ok(rows and all(r[0] is None for r in rows),
       "... with no worker (the admin socket's peer read it)")
    ok(rows and all(r[1].startswith("admin(uid %d," % os.getuid())
                    for r in rows), "... naming the peer's uid", rows)
    ok(rows and all(r[2] == "day %s" % dayname for r in rows),
       "... and what was asked: the day", rows)
    rc, so, se = d.client("audit", "--json", worker="S001")
    entries = json.loads(so).get("entries", []) if rc == 0 else []
    got = [e for e in entries if e.get("request") == "REPORT-SENSITIVE"]
    ok(len(got) == len(want) and all(e.get("worker") is None and
       e.get("detail") == "day %s" % dayname for e in got),
       "pingan audit lists them (worker null, detail)", rc, se, got)
    rc, so, se = d.client("audit", worker="S001")
    ok(rc == 0 and "REPORT-SENSITIVE" in so and "day %s" % dayname in so,
       "pingan audit (text) shows the request and what was asked", so, se)

    # Idempotent, and every run is audited.
    rc, so, se = report(d, "--day", dayname, "--out", out)
    is_(rc, 0, "a second run exits 0", se)
    ok(tr.snapshot(idir) == internal and tr.snapshot(pub) == public,
       "a second run writes byte-identical files in both editions")
    is_(len(audit_rows(d)), len(before) + 2 * len(want),
        "the second run is audited too")
    return internal


def check_week(d, out, day, dispute_id):
    iso = day.isocalendar()
    week = "%d-W%02d" % (iso[0], iso[1])
    only = os.path.join(d.dir, "only-internal")
    rc, so, se = report(d, "--week", week, "--out", only, "--internal")
    is_(rc, 0, "--internal --week exits 0", se)
    ok(not os.path.exists(os.path.join(only, week)),
       "--internal writes no public edition")
    wdir = os.path.join(only, "internal", week)
    files = tr.snapshot(wdir) if os.path.isdir(wdir) else {}
    new = files.get("ledger-new-internal.csv", b"").decode("utf-8")
    head = new.split("\r\n")[0]
    ok(head.endswith(",上报时间,当事人,联系方式"),
       "the week's new cases get the columns 当事人 and 联系方式", head)
    ok(any(tr.PARTIES in x and tr.CONTACTS in x
           for x in new.split("\r\n")[1:]),
       "... filled in for the day's dispute", new)
    like(files.get("report-internal.txt", b"").decode("utf-8"),
         r"^【内部版 注意保密】.*本周全镇排查出矛盾纠纷\d+件",
         "the week's paragraph, marked")
    rows = audit_rows(d)
    ok(any(r[2] == "week %s" % week for r in rows),
       "the week's read is audited as the week", rows[-3:])


def check_refusals(d, dayname):
    before = audit_rows(d)
    line = raw_admin(d, "REPORT-SENSITIVE kind=day period=2026-13-01")
    like(line, r"^ERR bad_field ", "REPORT-SENSITIVE with a bad period")
    line = raw_admin(d, "REPORT-SENSITIVE kind=fortnight period=%s" %
                     dayname)
    like(line, r"^ERR bad_field ", "REPORT-SENSITIVE with a bad kind")
    line = raw_admin(d, "REPORT-SENSITIVE period=%s" % dayname)
    like(line, r"^ERR missing_field ", "REPORT-SENSITIVE without kind")

    # pingand itself refuses once the configuration says public.
    set_edition(d, "public")
    reload(d)

    def refused():
        r = raw_admin(d, "REPORT-SENSITIVE kind=day period=%s" % dayname)
        return r if r.startswith("ERR forbidden") else None
    line = h.wait_for(refused, 10 * h.SLOW, step=0.1)
    like(line, r"^ERR forbidden .*report_edition",
         "report_edition public (after SIGHUP): pingand refuses "
         "REPORT-SENSITIVE")
    is_(audit_rows(d), before, "the refused requests audited nothing")
    out = os.path.join(d.dir, "refused")
    rc, so, se = report(d, "--day", dayname, "--out", out, "--internal")
    is_(rc, 2, "report_edition public: --internal exits 2", se)
    like(se.strip(), r"^pingan-report: [^\n]*report_edition[^\n]* / "
         r"[^\n]*$", "... in one line, Chinese then English, naming the key")
    ok(not os.path.exists(out), "... and writes nothing")
    set_edition(d, "internal")
    reload(d)

    def allowed():
        r = raw_admin(d, "REPORT-SENSITIVE kind=day period=%s" % dayname)
        return r if r.startswith("OK {") else None
    ok(h.wait_for(allowed, 10 * h.SLOW, step=0.1),
       "report_edition internal again (SIGHUP): answered")


def check_down(d, dayname):
    is_(d.stop(), 0, "SIGTERM: pingand exits 0")
    out = os.path.join(d.dir, "down")
    rc, so, se = report(d, "--day", dayname, "--out", out)
    is_(rc, 3, "pingand down: exit 3", se)
    ok(os.path.exists(os.path.join(out, dayname, "report.html")),
       "... the public edition is written")
    ok(not os.path.exists(os.path.join(out, "internal")),
       "... the internal edition is not")
    like(se.strip(), r"^pingan-report: [^\n]*pingand[^\n]* / [^\n]*"
         r"pingand is not running[^\n]*: %s: " % d.sock_path,
         "... one line, Chinese then English, naming the socket")
    rc, so, se = report(d, "--day", dayname, "--out", out, "--internal")
    is_(rc, 3, "pingand down: --internal exits 3", se)
    ok(not os.path.exists(os.path.join(out, "internal")),
       "... and writes nothing")


def test_internal():
    if not REPORT:
        ok(False, "PINGAN_REPORT is set")
        return
    yesterday = (datetime.now(fd.TOWN_TZ) - timedelta(days=1)).date()
    diag("the day is %s" % yesterday)
    d = h.Daemon(config=dict(fd.CONFIG), start=False)
    d.config["reports_dir"] = os.path.join(d.dir, "reports")
    d.config["report_edition"] = "internal"
    d.write_config()
    d.start()
    day = fd.Day(d, yesterday)
    ids = build(day)
    is_(day.failures, [], "every record was accepted",
        *["%s (%s): rc %r %s %s" % f for f in day.failures])
    rc, so, se = d.client("dispute", "list", "--status", "all", "--from",
                          yesterday.isoformat(), "--to",
                          yesterday.isoformat(), "--json", worker="S001")
    listed = json.loads(so).get("disputes", []) if rc == 0 else []
    is_(len(listed), 1, "one dispute reported on the day", so, se)
    dispute_id = listed[0]["id"] if listed else ""
    out = os.path.join(d.dir, "out")
    check_internal_day(d, out, yesterday.isoformat(), ids, dispute_id)
    check_week(d, out, yesterday, dispute_id)
    check_refusals(d, yesterday.isoformat())
    ok(d.alive(), "pingand is still running")
    check_down(d, yesterday.isoformat())


if __name__ == "__main__":
    h.main(test_internal)
