#!/usr/bin/env python3
"""
test_disputes.py: the dispute ledger (docs/DISPUTES.md), through the real
client.

1. A replay of last year (the year before the current one in the town's
   time zone, or the one before that until mid-February, so that every
   period is over) and of the January and February after it:
   the 7 villages, the 2 mediators, 43 disputes of mixed categories and
   levels reported by grid workers of their own villages and by the
   supervisor, triaged, logged and ended on chosen days with --at.  37 are
   mediated by the end of the year; one is reopened and mediated again; one
   is reassigned; one has its deadline extended; one is escalated, one
   closed; some are mediated late; one reported on 31 December is mediated
   on 2 January (found, not mediated, in its year); two are overdue at the
   year's end.  Two people go on the petition-risk register.  Every figure
   of `pingan report week|month|mediator|year --json` (all the weeks and
   months of the replay) is compared with what this script computes from
   the events it sent, and the year's sentence is checked in the text.
2. Who sees what: a grid worker sees their own village, a mediator their
   own cases, redacted; sensitive reads are audited, reads without them are
   not, and nothing alters the history or the audit log.
3. Bad input: an unknown category, mediating a closed case, triaging twice
   without a reason, a deadline before the triage's day, a log entry by
   someone who is not a handler (and a few more): each its own ERR code,
   exit 1, nothing stored (the ledger's tables read behind the daemon's
   back, read-only).
4. A write made offline is spooled and sent later; what was answered
   survives a restart; a second daemon checks the settings: configured
   categories, dispute_yellow_days, sensitive_roles with mediators.

The daemon runs with max_past_days 800 so that last January can be sent.
Everything goes through the real client, one process per request (about
300 of them; a few seconds in all).
"""

import json
import os
import random
import re
import shutil
import sqlite3
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like, diag  # noqa: E402

# Shanghai has had no daylight saving time since 1991.
TOWN_TZ = timezone(timedelta(hours=8))
NOW = datetime.now(TOWN_TZ)
TODAY = NOW.date()
# The replayed year: the last one, unless its following January and
# February (replayed too) are not over yet.
Y = TODAY.year - 1 if (TODAY.month, TODAY.day) >= (2, 15) else TODAY.year - 2
Y1 = Y + 1			# its January follows

VILLAGES = ["ZD", "DK", "CJ", "HZ", "TX", "HP", "XH"]
VILLAGE_NAMES = {"ZD": "樟斗社区", "DK": "东坑村", "CJ": "长江村",
                 "HZ": "黄竹村", "TX": "田心村", "HP": "和平村",
                 "XH": "新华村"}
GRID_WORKER = {v: "G%03d" % (i + 1) for i, v in enumerate(VILLAGES)}
MEDIATORS = ["M001", "M002"]
SUPERVISOR = "S001"
CATEGORIES = ["邻里", "婚姻家庭", "山林土地水利界限", "劳资", "征地拆迁",
              "合同债务", "物业", "环境污染", "医患", "村务", "其他"]
ENDS = ("mediated", "escalated", "closed")

CONFIG = {
    "timezone": "Asia/Shanghai",
    "max_past_days": "800",
}


def at(y, m, d, hh=9, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TOWN_TZ)


def rfc(t):
    return t.isoformat(timespec="seconds")


def day_start(d):
    return datetime(d.year, d.month, d.day, tzinfo=TOWN_TZ)


def clear_deadline(d):
    """A deadline on no period's last day (a Sunday, a month's last day),
    so that the figures do not hang on that one rule; case X tests it."""
    while d.weekday() == 6 or (d + timedelta(days=1)).day == 1:
        d += timedelta(days=1)
    return d


def band_of(people):
    if people < 50:
        return "lt50"
    if people < 100:
        return "50-100"
    if people <= 500:
        return "100-500"
    return "gt500"


# ---- the model: disputes and their events ---------------------------------


class Case:
    """A dispute as this test made it: what it reported, then its events."""

    def __init__(self, name, village, category, source, reporter, when,
                 summary, people=None, band=None, group_petition=False,
                 cross_area=False, screening=None):
        self.name = name
        self.id = h.new_id()
        self.village = village
        self.category = category
        self.source = source
        self.reporter = reporter
        self.reported = when
        self.summary = summary
        self.parties = "%s当事人甲、乙" % VILLAGE_NAMES[village]
        self.contacts = "1390797%04d" % (abs(hash(self.id)) % 10000)
        self.people = people
        self.band = band if band else (band_of(people) if people else None)
        self.group_petition = group_petition
        self.cross_area = cross_area
        self.screening = screening
        self.events = []	# dicts: at, kind, actor, id, and their fields

    @property
    def major(self):
        return self.band in ("100-500", "gt500") or self.group_petition

    def add(self, kind, when, actor, **fields):
        e = dict(kind=kind, at=when, actor=actor, id=h.new_id(), **fields)
        self.events.append(e)
        return e

    # -- the state at an instant, replayed from the events --

    def state(self, t):
        """status, level, leader, handlers, deadline after everything
        dated before t (None when not reported yet)."""
        if self.reported >= t:
            return None
        st = {"status": "reported", "level": None, "leader": None,
              "handlers": [], "deadline": None}
        for e in sorted(self.events, key=lambda e: e["at"]):
            if e["at"] >= t:
                break
            k = e["kind"]
            if k in ("triage", "reassign"):
                st.update(status="open", level=e["level"],
                          leader=e.get("leader"), handlers=e["handlers"])
                if e.get("deadline"):
                    st["deadline"] = e["deadline"]
            elif k == "status":
                st["status"] = e["status"]
            elif k == "extend":
                st["deadline"] = e["deadline"]
            elif k == "reopen":
                st["status"] = "open"
                if e.get("deadline"):
                    st["deadline"] = e["deadline"]
        return st

    def mediations(self):
        """(when, handlers then, who set it) of each change to mediated."""
        out = []
        for e in sorted(self.events, key=lambda e: e["at"]):
            if e["kind"] == "status" and e["status"] == "mediated":
                st = self.state(e["at"])
                out.append((e["at"], list(st["handlers"]), e["actor"]))
        return out

    def ends(self):
        return [e["at"] for e in self.events
                if e["kind"] == "status" and e["status"] in ENDS]


class Risk:
    """An entry of the petition-risk register and its changes of status."""

    def __init__(self, person, reason, cadre, village, when, dispute=None):
        self.id = h.new_id()
        self.person = person
        self.reason = reason
        self.cadre = cadre
        self.village = village
        self.added = when
        self.dispute = dispute
        self.resolved = None	# when it was set to resolved

    def status(self, t):
        if self.added >= t:
            return None
        return "resolved" if self.resolved and self.resolved < t else "watch"


# ---- the year -------------------------------------------------------------


def fixed_cases():
    """The ten special disputes of the year and three of next January."""
    cs = {}

    # R: mediated in March, reopened in April with a new deadline,
    # mediated again in May (March and May each count it for M001).
    c = Case("R", "DK", "邻里", "village", "G002", at(Y, 3, 3, 9, 20),
             "两户因排水沟改道争执", people=6)
    c.add("triage", at(Y, 3, 3, 15), SUPERVISOR, level="village",
          handlers=["M001"], deadline=clear_deadline(date(Y, 3, 20)))
    c.add("log", at(Y, 3, 7, 10, 30), "M001", action="visit",
          note="走访两户, 了解沟渠走向")
    c.add("log", at(Y, 3, 14, 10), "M001", action="mediation",
          note="现场调解, 双方同意共修排水沟")
    c.add("status", at(Y, 3, 14, 16), "M001", status="mediated",
          outcome="双方签订排水沟共修协议")
    c.add("reopen", at(Y, 4, 8, 10), SUPERVISOR,
          reason="一方未按协议施工, 双方再起争执",
          deadline=clear_deadline(date(Y, 5, 20)))
    c.add("log", at(Y, 4, 20, 10), "M001", action="mediation",
          note="再次调解, 明确施工时间")
    c.add("status", at(Y, 5, 12, 16), "M001", status="mediated",
          outcome="排水沟已修通, 双方确认")
    cs[c.name] = c

    # X: town level, due on 30 September and still open at the end of
    # that day: overdue at the end of September; extended, mediated.
    c = Case("X", "TX", "劳资", "screening", "G005", at(Y, 9, 10, 9, 5),
             "砖厂拖欠十余名工人工资", people=60)
    c.add("triage", at(Y, 9, 10, 15), SUPERVISOR, level="town",
          leader=SUPERVISOR, handlers=["M002", "G005"],
          deadline=date(Y, 9, 30))
    c.add("log", at(Y, 9, 15, 10), "M002", action="meeting",
          note="会同劳动监察会商")
    c.add("extend", at(Y, 10, 8, 10), SUPERVISOR,
          reason="待厂方筹款, 延期办结",
          deadline=clear_deadline(date(Y, 10, 31)))
    c.add("log", at(Y, 10, 20, 10), "G005", action="mediation",
          note="厂方同意分两期支付")
    c.add("status", at(Y, 10, 20, 16), "M002", status="mediated",
          outcome="工资分两期付清")
    cs[c.name] = c

    # Y: reassigned from M001 to M002 (village level both times), mediated
    # by M002: only M002 counts it.
    c = Case("Y", "HZ", "婚姻家庭", "walk_in", SUPERVISOR,
             at(Y, 6, 5, 9, 40), "夫妻离婚财产分割争执", people=4)
    c.add("triage", at(Y, 6, 5, 15), SUPERVISOR, level="village",
          handlers=["M001"], deadline=clear_deadline(date(Y, 6, 25)))
    c.add("reassign", at(Y, 6, 10, 9), SUPERVISOR, level="village",
          handlers=["M002"], reason="原调解员与当事人系亲属, 回避",
          deadline=clear_deadline(date(Y, 6, 27)))
    c.add("log", at(Y, 6, 12, 10), "M002", action="visit",
          note="分别走访双方")
    c.add("status", at(Y, 6, 20, 16), "M002", status="mediated",
          outcome="财产分割达成一致")
    cs[c.name] = c

    # Z: from a screening item, town level, mediated by the supervisor.
    c = Case("Z", "CJ", "山林土地水利界限", "screening", "G003",
             at(Y, 4, 15, 10), "两组山林界址争议", people=35,
             screening=h.new_id())
    c.add("triage", at(Y, 4, 15, 15), SUPERVISOR, level="town",
          leader=SUPERVISOR, handlers=["M001", "G003"],
          deadline=clear_deadline(date(Y, 5, 15)))
    c.add("log", at(Y, 4, 22, 10), "G003", action="visit",
          note="会同林业站勘界")
    c.add("log", at(Y, 5, 6, 10), "M001", action="mediation",
          note="依林权证调解")
    c.add("status", at(Y, 5, 6, 16), SUPERVISOR, status="mediated",
          outcome="按林权证重新确界")
    cs[c.name] = c

    # B0: reported on 31 December, mediated on 2 January.
    c = Case("B0", "ZD", "物业", "village", "G001", at(Y, 12, 31, 10),
             "小区物业费与停车位争执", people=12)
    c.add("triage", at(Y, 12, 31, 16), SUPERVISOR, level="village",
          handlers=["M002"], deadline=clear_deadline(date(Y1, 1, 9)))
    c.add("log", at(Y1, 1, 2, 10), "M002", action="mediation",
          note="召集业主代表与物业调解")
    c.add("status", at(Y1, 1, 2, 16), "M002", status="mediated",
          outcome="物业调整停车位收费")
    cs[c.name] = c

    # E: a group-petition sign, handed down, escalated.
    c = Case("E", "XH", "征地拆迁", "higher", SUPERVISOR, at(Y, 7, 7, 9),
             "征地补偿标准争议, 有群体性上访苗头", people=120,
             group_petition=True, cross_area=True)
    c.add("triage", at(Y, 7, 7, 15), SUPERVISOR, level="town",
          leader=SUPERVISOR, handlers=["M001", "M002"],
          deadline=clear_deadline(date(Y, 8, 15)))
    c.add("log", at(Y, 7, 15, 10), SUPERVISOR, action="meeting",
          note="会诊: 补偿标准属县级政策")
    c.add("status", at(Y, 8, 1, 16), SUPERVISOR, status="escalated",
          reason="涉及县级征地补偿政策, 报县信访局")
    cs[c.name] = c

    # C: closed for another reason.
    c = Case("C", "HP", "合同债务", "village", "G006", at(Y, 8, 12, 9),
             "借款到期未还", people=2)
    c.add("triage", at(Y, 8, 12, 15), SUPERVISOR, level="village",
          handlers=["G006"], deadline=clear_deadline(date(Y, 8, 29)))
    c.add("status", at(Y, 8, 20, 16), SUPERVISOR, status="closed",
          reason="当事人撤回, 转诉讼")
    cs[c.name] = c

    # A: overdue at the year's end, mediated in January.
    c = Case("A", "DK", "劳资", "screening", "G002", at(Y, 11, 20, 9),
             "装修队拖欠工钱", people=5)
    c.add("triage", at(Y, 11, 20, 15), SUPERVISOR, level="village",
          handlers=["M001"], deadline=clear_deadline(date(Y, 12, 10)))
    c.add("log", at(Y, 12, 5, 10), "M001", action="call",
          note="电话联系包工头未果")
    c.add("status", at(Y1, 1, 15, 16), "M001", status="mediated",
          outcome="包工头付清工钱")
    cs[c.name] = c

    # Bo: overdue at the year's end and still open.
    c = Case("Bo", "CJ", "村务", "village", "G003", at(Y, 10, 16, 9),
             "村集体收益分配争议", people=80)
    c.add("triage", at(Y, 10, 16, 15), SUPERVISOR, level="town",
          leader=SUPERVISOR, handlers=["M002"],
          deadline=clear_deadline(date(Y, 11, 20)))
    c.add("log", at(Y, 11, 1, 10), "M002", action="meeting",
          note="与村两委会商分配方案")
    cs[c.name] = c

    # Co: open at the year's end, not yet due; mediated in January.
    c = Case("Co", "HZ", "环境污染", "screening", "G004",
             at(Y, 12, 22, 9), "养猪场气味扰民", people=20)
    c.add("triage", at(Y, 12, 22, 15), SUPERVISOR, level="village",
          handlers=["M001"], deadline=clear_deadline(date(Y1, 1, 10)))
    c.add("log", at(Y, 12, 28, 10), "M001", action="visit",
          note="走访养猪场和周边住户")
    c.add("status", at(Y1, 1, 8, 16), "M001", status="mediated",
          outcome="养猪场加装除臭设施")
    cs[c.name] = c

    # January of this year.
    c = Case("J1", "TX", "医患", "hotline", SUPERVISOR, at(Y1, 1, 5, 9),
             "卫生院诊疗纠纷", people=3)
    c.add("triage", at(Y1, 1, 5, 15), SUPERVISOR, level="village",
          handlers=["M002"], deadline=clear_deadline(date(Y1, 1, 20)))
    c.add("log", at(Y1, 1, 12, 10), "M002", action="mediation",
          note="医患双方面对面调解")
    c.add("status", at(Y1, 1, 12, 16), "M002", status="mediated",
          outcome="卫生院退还部分费用")
    cs[c.name] = c

    c = Case("J2", "XH", "邻里", "village", "G007", at(Y1, 1, 20, 9),
             "邻里宅基地滴水争执", people=5)
    c.add("triage", at(Y1, 1, 20, 15), SUPERVISOR, level="village",
          handlers=["G007"], deadline=clear_deadline(date(Y1, 2, 5)))
    c.add("status", at(Y1, 2, 3, 16), "G007", status="mediated",
          outcome="加装檐沟")
    cs[c.name] = c

    c = Case("J3", "ZD", "其他", "walk_in", SUPERVISOR, at(Y1, 1, 7, 9),
             "来访反映情况, 经核实非纠纷", people=1)
    c.add("triage", at(Y1, 1, 7, 15), SUPERVISOR, level="village",
          handlers=["G001"], deadline=clear_deadline(date(Y1, 1, 16)))
    c.add("status", at(Y1, 1, 9, 16), SUPERVISOR, status="closed",
          reason="经核实不属矛盾纠纷")
    cs[c.name] = c
    return cs


def ordinary_cases(rng):
    """33 disputes of last year, each mediated in the year."""
    out = []
    sources_grid = ["screening", "village"]
    sources_town = ["walk_in", "hotline", "higher"]
    for i in range(33):
        m = 1 + (i * 12) // 33
        d = rng.randint(1, 24 if m < 12 else 10)
        v = VILLAGES[i % 7]
        cat = CATEGORIES[(i * 5 + rng.randint(0, 3)) % len(CATEGORIES)]
        if i % 4 == 3:
            reporter, source = SUPERVISOR, rng.choice(sources_town)
        else:
            reporter, source = GRID_WORKER[v], rng.choice(sources_grid)
        kw = {}
        if i == 5:
            kw["people"] = 150			# 100-500: major
        elif i == 14:
            kw.update(people=30, group_petition=True)
        elif i == 22:
            kw.update(band="gt500", cross_area=True)
        elif i % 5 == 2:
            kw["band"] = "lt50"
        else:
            kw["people"] = rng.randint(2, 40)
        rep = at(Y, m, d, 9, rng.randint(0, 50))
        c = Case("N%02d" % i, v, cat, source, reporter, rep,
                 "%s%s纠纷(第%d件)" % (VILLAGE_NAMES[v], cat, i + 1), **kw)
        town = i % 3 == 0
        if town:
            leader = SUPERVISOR
            handlers = [MEDIATORS[i % 2]] + ([GRID_WORKER[v]] if i % 2
                                              else [])
            span = rng.randint(25, 40)
        else:
            leader = SUPERVISOR if i % 5 == 0 else None
            handlers = ([GRID_WORKER[v]] if i % 4 == 1
                        else [MEDIATORS[(i // 2) % 2]])
            span = rng.randint(10, 20)
        deadline = clear_deadline(rep.date() + timedelta(days=span))
        tri = dict(level="town" if town else "village", handlers=handlers,
                   deadline=deadline)
        if leader:
            tri["leader"] = leader
        c.add("triage", rep.replace(hour=15, minute=0), SUPERVISOR, **tri)
        if i in (4, 11, 19, 26):		# mediated late
            med = deadline + timedelta(days=rng.randint(3, 9))
        else:
            med = rep.date() + timedelta(days=rng.randint(2, span - 1))
        med = min(med, date(Y, 12, 30))
        c.add("log", at(rep.year, rep.month, rep.day, 10, 30) +
              timedelta(days=1), handlers[0], action="visit",
              note="走访当事人")
        if town and i % 2 == 0:
            c.add("log", at(med.year, med.month, med.day, 9), leader,
                  action="meeting", note="包案领导会商")
        c.add("log", at(med.year, med.month, med.day, 10), handlers[0],
              action="mediation", note="组织双方调解")
        c.add("status", at(med.year, med.month, med.day, 16),
              handlers[0] if i % 2 == 0 else SUPERVISOR, status="mediated",
              outcome="双方达成调解协议")
        out.append(c)
    return out


def risks(cs):
    """Two people on the register: one resolved in September."""
    r1 = Risk("王某某", "征地补偿不满, 扬言赴京上访", SUPERVISOR, "XH",
              at(Y, 7, 8, 10), dispute=cs["E"].id)
    r1.resolved = at(Y, 9, 15, 10)
    r2 = Risk("李某某", "欠薪多次到县上访", "M002", "TX", at(Y, 8, 5, 10))
    return [r1, r2]


# ---- sending it through the client ----------------------------------------


def event_args(c, e):
    """The client's arguments for one event of a case."""
    k = e["kind"]
    base = ["--id", e["id"], "--dispute", c.id, "--at", rfc(e["at"])]
    if k in ("triage", "reassign"):
        a = ["dispute", "triage"] + base + [
            "--level", e["level"], "--handlers", ",".join(e["handlers"])]
        if e.get("leader"):
            a += ["--leader", e["leader"]]
        if e.get("deadline"):
            a += ["--deadline", e["deadline"].isoformat()]
        if k == "reassign":
            a += ["--reason", e["reason"]]
        return a
    if k == "log":
        return ["dispute", "log"] + base + ["--action", e["action"],
                                            "--note", e["note"]]
    if k == "status":
        a = ["dispute", "status"] + base + ["--status", e["status"]]
        if e["status"] == "mediated":
            return a + ["--outcome", e["outcome"]]
        return a + ["--reason", e["reason"]]
    if k == "extend":
        return ["dispute", "extend"] + base + [
            "--deadline", e["deadline"].isoformat(), "--reason", e["reason"]]
    if k == "reopen":
        a = ["dispute", "reopen"] + base + ["--reason", e["reason"]]
        if e.get("deadline"):
            a += ["--deadline", e["deadline"].isoformat()]
        return a
    raise ValueError(k)


def report_args(c, summary=None):
    a = ["dispute", "report", "--id", c.id, "--village", c.village,
         "--category", c.category, "--source", c.source,
         "--summary", summary or c.summary, "--parties", c.parties,
         "--contacts", c.contacts, "--at", rfc(c.reported)]
    if c.people is not None:
        a += ["--people", str(c.people)]
    elif c.band:
        a += ["--band", c.band]
    if c.group_petition:
        a += ["--group-petition"]
    if c.cross_area:
        a += ["--cross-area"]
    if c.screening:
        a += ["--screening", c.screening]
    return a


WANT_WORD = {"report": "reported", "triage": "triaged",
             "reassign": "reassigned", "log": "logged", "extend": "extended",
             "reopen": "reopened"}


def replay(d, cases, register):
    """Sends every event in time order; returns the failures."""
    steps = []
    for c in cases:
        if c.screening:
            grid = "%s-01" % c.village
            steps.append((c.reported - timedelta(minutes=30), c.reporter,
                          ["screening", "--id", c.screening, "--grid", grid,
                           "--item", c.summary, "--at",
                           rfc(c.reported - timedelta(minutes=30))],
                          "screening for %s" % c.name))
        steps.append((c.reported, c.reporter, report_args(c),
                      "report %s" % c.name))
        for e in c.events:
            steps.append((e["at"], e["actor"], event_args(c, e),
                          "%s %s" % (e["kind"], c.name)))
    for r in register:
        a = ["risk", "add", "--id", r.id, "--person", r.person,
             "--reason", r.reason, "--cadre", r.cadre, "--village", r.village,
             "--at", rfc(r.added)]
        if r.dispute:
            a += ["--dispute", r.dispute]
        steps.append((r.added, SUPERVISOR, a, "risk add %s" % r.person))
        if r.resolved:
            steps.append((r.resolved, SUPERVISOR,
                          ["risk", "update", "--id", h.new_id(), "--risk",
                           r.id, "--status", "resolved", "--note",
                           "补偿到位, 已息访", "--at", rfc(r.resolved)],
                          "risk resolved %s" % r.person))
    steps.sort(key=lambda s: s[0])
    failures = []
    for when, who, args, what in steps:
        rc, out, err = d.client(*args, worker=who)
        if rc != 0 or not h.UUID_RE.match(out.strip()):
            failures.append("%s by %s: rc %r out %r err %r" %
                            (what, who, rc, out.strip(), err.strip()))
    return len(steps), failures


# ---- what the reports must say, computed here -------------------------------


def period_bounds(kind, period):
    """(first day, the day after the last) of a period."""
    if kind == "week":
        y, w = period.split("-W")
        first = date.fromisocalendar(int(y), int(w), 1)
        return first, first + timedelta(days=7)
    if kind in ("month", "mediator"):
        y, m = map(int, period.split("-"))
        first = date(y, m, 1)
        nxt = date(y + (m == 12), m % 12 + 1, 1)
        return first, nxt
    y = int(period)
    return date(y, 1, 1), date(y + 1, 1, 1)


def prev_months(period, n=3):
    y, m = map(int, period.split("-"))
    out = []
    for _ in range(n):
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
        out.append("%04d-%02d" % (y, m))
    return list(reversed(out))


class Expect:
    """The counts of DISPUTES.md, computed from the cases sent."""

    def __init__(self, cases, register):
        self.cases = cases
        self.register = register

    def counts(self, first, after, pick=lambda c, st: True):
        """Overdue: open at the end of the period and at the end of its
        deadline day, i.e. the deadline is the period's last day or
        before."""
        s, e = day_start(first), day_start(after)
        found = mediated = mip = opened = overdue = 0
        for c in self.cases:
            st = c.state(e)
            if st is None or not pick(c, st):
                continue
            if s <= c.reported < e:
                found += 1
                if st["status"] == "mediated":
                    mediated += 1
            if any(s <= t < e for t, _, _ in c.mediations()):
                mip += 1
            if st["status"] in ("reported", "open"):
                opened += 1
                if st["deadline"] is not None and st["deadline"] < after:
                    overdue += 1
        return {"found": found, "mediated": mediated,
                "mediated_in_period": mip, "open": opened,
                "overdue": overdue}

    def found_ids(self, first, after):
        s, e = day_start(first), day_start(after)
        return [c.id for c in sorted(self.cases, key=lambda c: c.reported)
                if s <= c.reported < e]

    def overdue_ids(self, first, after):
        e = day_start(after)
        out = []
        for c in self.cases:
            st = c.state(e)
            if st and st["status"] in ("reported", "open") and \
                    st["deadline"] is not None and st["deadline"] < after:
                out.append(c.id)
        return set(out)

    def by_village(self, first, after):
        return {v: self.counts(first, after, lambda c, st, v=v:
                               c.village == v) for v in VILLAGES}

    def by_category(self, first, after):
        cats = list(CATEGORIES) + sorted({c.category for c in self.cases} -
                                         set(CATEGORIES))
        return {k: self.counts(first, after, lambda c, st, k=k:
                               c.category == k) for k in cats}

    def by_level(self, first, after):
        return {lv: self.counts(first, after, lambda c, st, lv=lv:
                                st["level"] == lv)
                for lv in ("village", "town")}

    def mediator(self, first, after):
        s, e = day_start(first), day_start(after)
        got = {m: set() for m in MEDIATORS}
        sessions = {m: 0 for m in MEDIATORS}
        total = set()
        for c in self.cases:
            for t, handlers, actor in c.mediations():
                if s <= t < e:
                    total.add(c.id)
                    for m in MEDIATORS:
                        if m in handlers or m == actor:
                            got[m].add(c.id)
            for ev in c.events:
                if ev["kind"] == "log" and ev["action"] == "mediation" and \
                        ev["actor"] in MEDIATORS and s <= ev["at"] < e:
                    sessions[ev["actor"]] += 1
        return got, sessions, total

    def month_extra(self, period):
        first, after = period_bounds("month", period)
        s, e = day_start(first), day_start(after)
        prevs = prev_months(period)
        pb = [period_bounds("month", p) for p in prevs]

        def found_by(key):
            out = {}
            for c in self.cases:
                k = key(c)
                row = out.setdefault(k, [0, [0, 0, 0]])
                if s <= c.reported < e:
                    row[0] += 1
                for i, (f, a) in enumerate(pb):
                    if day_start(f) <= c.reported < day_start(a):
                        row[1][i] += 1
            return {k: (v[0], v[1], 3 * v[0] > sum(v[1]))
                    for k, v in out.items() if v[0] or any(v[1])}

        major, leader_cases = set(), set()
        gp_found = gp_open = 0
        for c in self.cases:
            st = c.state(e)
            if st is None:
                continue
            is_open = st["status"] in ("reported", "open")
            found = s <= c.reported < e
            if c.major and (found or is_open):
                major.add(c.id)
            if c.group_petition:
                gp_found += found
                gp_open += is_open
            if st["level"] == "town" and (
                    is_open or any(s <= t < e for t in c.ends())):
                leader_cases.add(c.id)
        reg = {
            "group_petition_found": gp_found,
            "group_petition_open": gp_open,
            "register_watch": sum(1 for r in self.register
                                  if r.status(e) == "watch"),
            "register_added": sum(1 for r in self.register
                                  if s <= r.added < e),
            "register_resolved": sum(1 for r in self.register
                                     if r.resolved and s <= r.resolved < e),
        }
        return {"previous": [(p, self.counts(f, a)) for p, (f, a)
                             in zip(prevs, pb)],
                "categories": found_by(lambda c: c.category),
                "villages": found_by(lambda c: c.village),
                "major": major, "leader_cases": leader_cases,
                "petition_risk": reg}


COUNT_KEYS = ("found", "mediated", "mediated_in_period", "open", "overdue")


def counts_of(obj):
    return {k: (obj or {}).get(k) for k in COUNT_KEYS}


def report_json(d, kind, period):
    rc, out, err = d.client("report", kind, "--period", period, "--json",
                            worker=SUPERVISOR)
    if rc != 0:
        ok(False, "pingan report %s --period %s --json exits 0" %
           (kind, period), "rc %r" % rc, err.strip())
        return None
    try:
        return json.loads(out)
    except ValueError as e:
        ok(False, "report %s %s is JSON" % (kind, period), str(e), out[:500])
        return None


def ids_of(cases_json):
    return [x.get("id") for x in cases_json or []]


def check_year(d, ex, cases):
    first, after = period_bounds("year", str(Y))
    r = report_json(d, "year", str(Y))
    if r is None:
        return
    want = ex.counts(first, after)
    is_((want["found"], want["mediated"]), (43, 37),
        "(the replay: 43 found and 37 mediated in %d)" % Y)
    is_(counts_of(r.get("totals")), want,
        "year %d: totals (found, mediated, mediated in the year, open and "
        "overdue at its end)" % Y)
    is_(r.get("text"), "排查出矛盾纠纷%d件,已调处%d件" % (want["found"],
                                                   want["mediated"]),
        "year %d: the report's sentence" % Y)
    is_((r.get("kind"), r.get("period"), r.get("from"), r.get("to")),
        ("year", str(Y), "%d-01-01" % Y, "%d-12-31" % Y),
        "year %d: the head names the period" % Y)
    like(r.get("as_of") or "", r"^%d-01-01T00:00:00\+08:00$" % (Y + 1),
         "year %d: states as of the year's end" % Y)

    got = {x.get("code"): counts_of(x) for x in r.get("by_village") or []}
    is_(got, ex.by_village(first, after), "year %d: by village (every "
        "village of the roster)" % Y)
    got = {x.get("category"): counts_of(x) for x in r.get("by_category") or []}
    is_(got, ex.by_category(first, after), "year %d: by category (every "
        "configured category)" % Y)
    got = {x.get("level"): counts_of(x) for x in r.get("by_level") or []
           if any(counts_of(x).values())}
    want_lv = {k: v for k, v in ex.by_level(first, after).items()
               if any(v.values())}
    is_(got, want_lv, "year %d: by level (the level at the year's end)" % Y)

    want_m = []
    for m in range(1, 13):
        f, a = date(Y, m, 1), date(Y + (m == 12), m % 12 + 1, 1)
        fm = [c for c in cases if day_start(f) <= c.reported < day_start(a)]
        ye = day_start(after)
        want_m.append({
            "month": "%d-%02d" % (Y, m),
            "found": len(fm),
            "mediated": sum(1 for c in fm
                            if c.state(ye)["status"] == "mediated"),
            "mediated_in_month": ex.counts(f, a)["mediated_in_period"]})
    got_m = [{k: x.get(k) for k in ("month", "found", "mediated",
                                    "mediated_in_month")}
             for x in r.get("by_month") or []]
    is_(got_m, want_m, "year %d: by month (found and mediated by month of "
        "report, mediated in the month)" % Y)

    rc, out, err = d.client("report", "year", "--period", str(Y),
                            worker=SUPERVISOR)
    is_(rc, 0, "pingan report year (text) exits 0", err)
    lines = [l.strip() for l in out.splitlines()]
    ok("排查出矛盾纠纷%d件,已调处%d件" % (want["found"], want["mediated"])
       in lines, "the text has the line 排查出矛盾纠纷%d件,已调处%d件" %
       (want["found"], want["mediated"]), out[:1500])
    for word in ("按村(居)", "按类别", "按级别", "按月份"):
        like(out, re.escape(word), "the year's text has %s" % word)
    ok("{" not in out, "the year's text is not JSON")


def check_weeks(d, ex):
    first = date.fromisocalendar(Y, 1, 1)
    last = date(Y1, 2, 8)
    wk = first
    bad = []
    n = 0
    while wk <= last:
        iy, iw, _ = wk.isocalendar()
        period = "%d-W%02d" % (iy, iw)
        f, a = period_bounds("week", period)
        r = report_json(d, "week", period)
        n += 1
        wk += timedelta(days=7)
        if r is None:
            bad.append(period)
            continue
        problems = []
        if counts_of(r.get("totals")) != ex.counts(f, a):
            problems.append("totals %r want %r" %
                            (counts_of(r.get("totals")), ex.counts(f, a)))
        gv = {x.get("code"): counts_of(x) for x in r.get("by_village") or []}
        if gv != ex.by_village(f, a):
            problems.append("by_village %r want %r" %
                            (gv, ex.by_village(f, a)))
        gc = {x.get("category"): counts_of(x)
              for x in r.get("by_category") or []}
        if gc != ex.by_category(f, a):
            problems.append("by_category differs: %r want %r" %
                            (gc, ex.by_category(f, a)))
        if ids_of(r.get("new")) != ex.found_ids(f, a):
            problems.append("new %r want %r" % (ids_of(r.get("new")),
                                                ex.found_ids(f, a)))
        od = r.get("overdue_cases") or []
        if set(ids_of(od)) != ex.overdue_ids(f, a):
            problems.append("overdue_cases %r want %r" %
                            (ids_of(od), ex.overdue_ids(f, a)))
        dl = [x.get("deadline") or "" for x in od]
        if dl != sorted(dl):
            problems.append("overdue_cases not most overdue first: %r" % dl)
        if any(x.get("warning") != "red" for x in od):
            problems.append("an overdue case not red as of the week's end")
        if problems:
            bad.append((period, problems))
    is_(bad, [], "all %d weeks %d-W01 .. %s: totals, by village, by "
        "category, new and overdue cases" % (n, Y, period))
    return bad


def check_months(d, ex, cases):
    bad = []
    months = ["%d-%02d" % (Y, m) for m in range(1, 13)] + \
        ["%d-01" % Y1, "%d-02" % Y1]
    for period in months:
        f, a = period_bounds("month", period)
        r = report_json(d, "month", period)
        if r is None:
            bad.append(period)
            continue
        x = ex.month_extra(period)
        problems = []
        if counts_of(r.get("totals")) != ex.counts(f, a):
            problems.append("totals %r want %r" %
                            (counts_of(r.get("totals")), ex.counts(f, a)))
        gp = [(p.get("period"), counts_of(p)) for p in r.get("previous") or []]
        if gp != x["previous"]:
            problems.append("previous %r want %r" % (gp, x["previous"]))
        gc = {c.get("category"): (c.get("found"), c.get("previous"),
                                  c.get("rising"))
              for c in r.get("categories") or []
              if c.get("found") or any(c.get("previous") or [])}
        if gc != x["categories"]:
            problems.append("categories %r want %r" % (gc, x["categories"]))
        gv = {c.get("code"): (c.get("found"), c.get("previous"),
                              c.get("rising"))
              for c in r.get("villages") or []
              if c.get("found") or any(c.get("previous") or [])}
        if gv != x["villages"]:
            problems.append("villages %r want %r" % (gv, x["villages"]))
        if set(ids_of(r.get("major"))) != x["major"]:
            problems.append("major %r want %r" % (ids_of(r.get("major")),
                                                  x["major"]))
        if set(ids_of(r.get("leader_cases"))) != x["leader_cases"]:
            problems.append("leader_cases %r want %r" %
                            (ids_of(r.get("leader_cases")),
                             x["leader_cases"]))
        pr = {k: (r.get("petition_risk") or {}).get(k)
              for k in x["petition_risk"]}
        if pr != x["petition_risk"]:
            problems.append("petition_risk %r want %r" %
                            (pr, x["petition_risk"]))
        if problems:
            bad.append((period, problems))
    is_(bad, [], "all %d months %s .. %s: totals, the three months before, "
        "categories and villages rising, major, 包案 cases, petition risk" %
        (len(months), months[0], months[-1]))

    # The mediators' months.
    bad = []
    for period in months:
        f, a = period_bounds("mediator", period)
        r = report_json(d, "mediator", period)
        if r is None:
            bad.append(period)
            continue
        got_ids, sessions, total = ex.mediator(f, a)
        rows = {m.get("code"): m for m in r.get("mediators") or []}
        got = {m: (rows.get(m, {}).get("mediated"),
                   rows.get(m, {}).get("sessions"),
                   set(ids_of(rows.get(m, {}).get("cases"))))
               for m in MEDIATORS}
        want = {m: (len(got_ids[m]), sessions[m], got_ids[m])
                for m in MEDIATORS}
        problems = []
        if got != want:
            problems.append("mediators %r want %r" % (got, want))
        if sorted(rows) != MEDIATORS:
            problems.append("mediators listed: %r" % sorted(rows))
        if r.get("total_mediated") != len(total):
            problems.append("total_mediated %r want %d" %
                            (r.get("total_mediated"), len(total)))
        if problems:
            bad.append((period, problems))
    is_(bad, [], "all %d mediator months: cases mediated per mediator (set "
        "by them or handled by them then), sessions, total" % len(months))

    # The reopened case counts in March and in May for M001; the
    # reassigned one only for M002.
    by = {c.name: c for c in cases}
    for period, m, name, want in (("%d-03" % Y, "M001", "R", True),
                                  ("%d-05" % Y, "M001", "R", True),
                                  ("%d-06" % Y, "M001", "Y", False),
                                  ("%d-06" % Y, "M002", "Y", True)):
        r = report_json(d, "mediator", period) or {}
        rows = {x.get("code"): x for x in r.get("mediators") or []}
        is_(by[name].id in ids_of(rows.get(m, {}).get("cases")), want,
            "mediator %s %s: case %s %s" % (m, period, name,
                                            "counts" if want else
                                            "does not count"))


def check_boundary(d, ex, by):
    """The case reported on 31 December and mediated on 2 January: found
    and not mediated in its year, open at the year's end."""
    b0 = by["B0"]
    ye = day_start(date(Y + 1, 1, 1))
    ok(date(Y, 1, 1) <= b0.reported.date() <= date(Y, 12, 31) and
       b0.state(ye)["status"] == "open" and b0.mediations()[0][0] > ye,
       "(B0 is reported on 31 December %d and mediated on 2 January)" % Y)
    r = report_json(d, "year", str(Y)) or {}
    rz = None
    rc, out, err = d.client("report", "year", "--period", str(Y),
                            "--village", "ZD", "--json", worker=SUPERVISOR)
    if rc == 0:
        rz = json.loads(out)
    want = ex.counts(date(Y, 1, 1), date(Y + 1, 1, 1),
                     lambda c, st: c.village == "ZD")
    is_(counts_of((rz or {}).get("totals")), want,
        "year %d for ZD alone (--village): B0 found, not mediated, open" % Y,
        err)
    is_((rz or {}).get("village"), "ZD", "... the head names the village")
    w01 = report_json(d, "week", "%d-W01" % Y1) or {}
    ok(b0.id in ids_of(w01.get("new")),
       "week %d-W01 (Monday 29 December to 4 January) lists B0 as new" % Y1)
    jan = report_json(d, "mediator", "%d-01" % Y1) or {}
    rows = {x.get("code"): x for x in jan.get("mediators") or []}
    ok(b0.id in ids_of(rows.get("M002", {}).get("cases")),
       "January %d: B0 counts for M002, who mediated it then" % Y1)
    ok(r.get("totals") is not None, "(the year report was read)")

    # X is due on 30 September and open at the end of that day.
    rc, out, err = d.client("report", "month", "--period", "%d-09" % Y,
                            "--village", "TX", "--json", worker=SUPERVISOR)
    tx = json.loads(out) if rc == 0 else {}
    is_(((tx.get("totals") or {}).get("open"),
         (tx.get("totals") or {}).get("overdue")), (1, 1),
        "September %d for TX: X, due on the 30th, is open and overdue at "
        "the month's end" % Y, err)


def check_summary(d, ex, by):
    """The daily summary of 31 December names each overdue dispute with
    its leader and handlers."""
    day = date(Y, 12, 31)
    rc, out, err = d.client("summary", "--day", day.isoformat(), "--json",
                            worker=SUPERVISOR)
    is_(rc, 0, "pingan summary --day %s --json exits 0" % day, err)
    try:
        s = json.loads(out)
    except ValueError:
        ok(False, "the summary is JSON", out[:300])
        return
    want = ex.overdue_ids(day, day + timedelta(days=1))
    gaps = [g for g in s.get("gaps") or [] if g.get("kind") ==
            "dispute_overdue"]
    is_({g.get("dispute") for g in gaps}, want,
        "the summary of %s has a dispute_overdue gap for each overdue "
        "dispute (A and Bo)" % day)
    e = day_start(day + timedelta(days=1))
    for g in gaps:
        c = [x for x in by.values() if x.id == g.get("dispute")]
        if not c:
            continue
        st = c[0].state(e)
        is_((g.get("leader"), g.get("handlers"), g.get("deadline")),
            (st["leader"], st["handlers"], st["deadline"].isoformat()),
            "the gap of %s names its leader, handlers and deadline" %
            c[0].name)
    ds = s.get("disputes") or {}
    is_(counts_of(ds), ex.counts(day, day + timedelta(days=1)),
        "the summary's disputes counts for %s" % day)
    rc, out, err = d.client("summary", "--day", day.isoformat(),
                            worker=SUPERVISOR)
    is_(rc, 0, "pingan summary (text) exits 0", err)
    like(out, "纠纷逾期", "the summary's text names the overdue disputes")


# ---- who sees what ----------------------------------------------------------


def show_json(d, who, c_id):
    rc, out, err = d.client("dispute", "show", "--dispute", c_id, "--json",
                            worker=who)
    if rc != 0:
        return rc, None, err
    try:
        return rc, json.loads(out), err
    except ValueError:
        return rc, None, out[:300]


def list_json(d, who, *args):
    rc, out, err = d.client("dispute", "list", "--json", *args, worker=who)
    if rc != 0:
        return None, err
    try:
        return json.loads(out), err
    except ValueError:
        return None, out[:300]


def audit_entries(d):
    rc, out, err = d.client("audit", "--json", worker=SUPERVISOR)
    if rc != 0:
        ok(False, "pingan audit --json as S001 exits 0", rc, err)
        return []
    return json.loads(out).get("entries") or []


def test_permissions(d, cases, by, now_cases, register):
    everyone = cases + now_cases
    live = NOW + timedelta(days=1)	# the state now

    # A grid worker sees their village, and what they handle.
    for g, v in (("G002", "DK"), ("G003", "CJ")):
        got, err = list_json(d, g, "--status", "all")
        want = {c.id for c in everyone
                if c.village == v or g in c.state(live)["handlers"] or
                g == c.state(live)["leader"]}
        is_(set(ids_of((got or {}).get("disputes"))), want,
            "%s (grid worker of %s) lists exactly the disputes of %s and "
            "those they handle" % (g, v, v), err)
    other = by["Bo"]	# CJ
    rc, js, err = show_json(d, "G002", other.id)
    is_(rc, 1, "G002 (DK) cannot show a dispute of CJ: exit 1", err)
    like(err, r"\bforbidden\b", "... and the code is forbidden")

    # A grid worker's view of their own village: no parties, no contacts.
    own = now_cases[0]
    rc, js, err = show_json(d, "G002", own.id)
    is_(rc, 0, "G002 shows a dispute of DK", err)
    js = js or {}
    is_((js.get("parties"), js.get("contacts"), js.get("redacted")),
        (None, None, True),
        "... redacted: parties and contacts null, redacted true")
    is_(js.get("summary"), own.summary, "... but the rest is there")
    ok(len(js.get("history") or []) >= 2, "... with its history")

    # A mediator: the cases currently assigned to them, redacted.
    got, err = list_json(d, "M001", "--status", "all")
    want = {c.id for c in everyone
            if "M001" in c.state(live)["handlers"] or
            c.state(live)["leader"] == "M001"}
    is_(set(ids_of((got or {}).get("disputes"))), want,
        "M001 lists exactly the disputes assigned to them now (not Y, "
        "reassigned to M002)", err)
    ok(all(x.get("redacted") is True and x.get("parties") is None
           for x in (got or {}).get("disputes") or []),
       "... all redacted")
    rc, js, err = show_json(d, "M001", by["J1"].id)
    is_(rc, 1, "M001 cannot show J1 (handled by M002): exit 1", err)
    like(err, r"\bforbidden\b", "... forbidden")
    rc, js, err = show_json(d, "M001", by["Y"].id)
    is_(rc, 1, "M001 cannot show Y any more (reassigned): exit 1", err)

    before = audit_entries(d)
    n0 = len(before)
    # Reads without sensitive fields leave no trace.
    list_json(d, SUPERVISOR)
    list_json(d, "G002", "--status", "all")
    show_json(d, "G002", own.id)
    show_json(d, "M001", by["A"].id)
    mid = audit_entries(d)
    is_(len(mid), n0, "reads without sensitive fields are not audited "
        "(a plain list, redacted shows)", mid[n0:])

    # Sensitive reads: each one in the audit log.
    reads = []
    rc, js, err = show_json(d, SUPERVISOR, own.id)
    is_(rc, 0, "S001 shows a dispute", err)
    is_(((js or {}).get("parties"), (js or {}).get("contacts"),
         (js or {}).get("redacted")), (own.parties, own.contacts, False),
        "... with its parties and contacts, redacted false")
    reads.append(("DISPUTE-SHOW", "dispute", own.id))
    rc, js, err = show_json(d, SUPERVISOR, by["R"].id)
    reads.append(("DISPUTE-SHOW", "dispute", by["R"].id))
    got, err = list_json(d, SUPERVISOR, "--village", "DK", "--status",
                         "open", "--sensitive")
    listed = (got or {}).get("disputes") or []
    ok(listed and all(x.get("redacted") is False and x.get("parties")
                      for x in listed),
       "S001 dispute list --sensitive: parties included", err)
    reads += [("DISPUTE-LIST", "dispute", x.get("id")) for x in listed]
    rc, out, err = d.client("risk", "list", "--json", worker=SUPERVISOR)
    is_(rc, 0, "S001 risk list exits 0", err)
    rl = (json.loads(out).get("risks") if rc == 0 else []) or []
    is_({x.get("id") for x in rl}, {r.id for r in register},
        "the register lists both people")
    reads += [("RISK-LIST", "risk", x.get("id")) for x in rl]
    after = audit_entries(d)
    is_(after[:n0], before, "the audit log kept what it had")
    got = [(x.get("request"), x.get("record"), x.get("id"),
            (x.get("worker") or {}).get("code")) for x in after[n0:]]
    is_(sorted(got), sorted(r + (SUPERVISOR,) for r in reads),
        "each sensitive read is in the audit log, once, with who and what "
        "(%d reads)" % len(reads))
    ok(all(x.get("at") and x.get("peer") for x in after[n0:]),
       "... each with when and from where")
    rc, out, err = d.client("audit", worker=SUPERVISOR)
    is_(rc, 0, "pingan audit (text) exits 0", err)
    like(out, "DISPUTE-SHOW", "... and lists the reads")

    # Who may not.
    for who, args, what in (
            ("G002", ["risk", "list"], "a grid worker listing the register"),
            ("M002", ["risk", "list"], "a mediator listing the register"),
            ("G002", ["audit"], "a grid worker reading the audit log"),
            ("M001", ["report", "year", "--period", str(Y)],
             "a mediator asking for the year's report"),
            ("G005", ["risk", "add", "--person", "某人", "--reason", "x",
                      "--cadre", "G005"], "a grid worker adding to the "
             "register")):
        rc, out, err = d.client(*args, worker=who)
        is_(rc, 1, "%s: exit 1" % what, err)
        like(err, r"\bforbidden\b", "... forbidden")

    # Nothing alters the history or the audit log.
    hist0 = (show_json(d, SUPERVISOR, by["R"].id)[1] or {}).get("history")
    log_ev = [e for e in by["R"].events if e["kind"] == "log"][0]
    rc, out, err = d.client("dispute", "log", "--id", log_ev["id"],
                            "--dispute", by["R"].id, "--action", "other",
                            "--note", "篡改的记录", "--at",
                            rfc(log_ev["at"]), worker="M001")
    ok(rc == 0 and "duplicate" in err,
       "re-sending a log entry's id with another note: duplicate", rc, err)
    rc, out, err = d.client(*report_args(by["R"], summary="改写的概要"),
                            worker="G002")
    ok(rc == 0 and "duplicate" in err,
       "re-sending a report's id with another account: duplicate", rc, err)
    hist1 = (show_json(d, SUPERVISOR, by["R"].id)[1] or {})
    is_(hist1.get("history"), hist0, "... the history is unchanged")
    is_(hist1.get("summary"), by["R"].summary, "... and so is the account")
    audit0 = audit_entries(d)
    c = d.authed(SUPERVISOR)
    replies = {}
    for line in ("AUDIT-DELETE id=1", "AUDIT-CLEAR", "AUDIT-UPDATE id=1",
                 "DISPUTE-DELETE dispute=%s" % by["R"].id,
                 "DISPUTE-EDIT dispute=%s summary=x" % by["R"].id,
                 "HISTORY-DELETE dispute=%s" % by["R"].id,
                 "AUDIT-LIST delete=yes", "DISPUTE-SHOW dispute=%s "
                 "history=" % by["R"].id):
        replies[line] = c.request(line) or ""
    helpline = c.request("HELP") or ""
    c.close()
    ok(all(r.startswith("ERR ") for r in replies.values()),
       "requests that would alter or delete are refused", replies)
    ok(all(r.split()[1] == "unknown_command" for l, r in replies.items()
           if l.split()[0] not in ("AUDIT-LIST", "DISPUTE-SHOW")),
       "... as unknown commands", replies)
    ok(not re.search(r"DELETE|EDIT|CLEAR|UPDATE-AUDIT", helpline),
       "HELP offers no verb that deletes or edits", helpline)
    audit1 = audit_entries(d)
    is_(audit1[:len(audit0)], audit0, "the audit log is unchanged by them")
    is_((show_json(d, SUPERVISOR, by["R"].id)[1] or {}).get("history"),
        hist0, "the history is unchanged by them")

    # The store refuses it too: on a copy of the database, UPDATE and
    # DELETE of the history and of the audit log fail in their triggers.
    tmp = tempfile.mkdtemp(prefix="pingan-copy-", dir=h.TMP)
    copy = os.path.join(tmp, "copy.db")
    src = h.db_connect(d.db_path)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    refused = {}
    for stmt in ("UPDATE dispute_history SET note = 'x'",
                 "DELETE FROM dispute_history",
                 "UPDATE audit_log SET worker_id = worker_id",
                 "DELETE FROM audit_log",
                 "UPDATE petition_risk_history SET note = 'x'"):
        try:
            dst.execute(stmt)
            dst.commit()
            refused[stmt] = False
        except sqlite3.DatabaseError as e:
            refused[stmt] = "append-only" in str(e)
    dst.close()
    shutil.rmtree(tmp, ignore_errors=True)
    is_(refused, {k: True for k in refused}, "the database's triggers "
        "refuse UPDATE and DELETE of the history and the audit log")


# ---- bad input ------------------------------------------------------------


def ledger_rows(d):
    con = h.db_connect(d.db_path)
    try:
        return {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                for t in ("dispute", "dispute_history", "dispute_assignment",
                          "petition_risk", "petition_risk_history")}
    finally:
        con.close()


def test_bad_input(d, by, now_cases):
    n1, n2, n3 = now_cases
    rows0 = ledger_rows(d)
    shows0 = {c.name: show_json(d, SUPERVISOR, c.id)[1]
              for c in (by["C"], n1, n3)}
    for x in shows0.values():
        x and x.pop("warning", None)
    cases = []

    bad_id = h.new_id()
    cases.append(("an unknown category", "G002", "unknown_category",
                  ["dispute", "report", "--id", bad_id, "--village", "DK",
                   "--category", "打架斗殴", "--source", "village",
                   "--summary", "两人酒后打架"]))
    cases.append(("mediating a closed case", SUPERVISOR, "bad_transition",
                  ["dispute", "status", "--id", h.new_id(), "--dispute",
                   by["C"].id, "--status", "mediated", "--outcome", "x"]))
    cases.append(("triaging twice without a reason", SUPERVISOR,
                  "bad_transition",
                  ["dispute", "triage", "--id", h.new_id(), "--dispute",
                   n1.id, "--level", "village", "--handlers", "M002",
                   "--deadline", (TODAY + timedelta(days=5)).isoformat()]))
    cases.append(("a deadline before the triage's day", SUPERVISOR,
                  "bad_time",
                  ["dispute", "triage", "--id", h.new_id(), "--dispute",
                   n3.id, "--level", "village", "--handlers", "M001",
                   "--deadline", (TODAY - timedelta(days=1)).isoformat()]))
    cases.append(("a log entry by a mediator who is not its handler",
                  "M002", "forbidden",
                  ["dispute", "log", "--id", h.new_id(), "--dispute", n1.id,
                   "--action", "visit", "--note", "x"]))
    cases.append(("a log entry by a grid worker of the village who is not "
                  "its handler", "G002", "forbidden",
                  ["dispute", "log", "--id", h.new_id(), "--dispute", n1.id,
                   "--action", "visit", "--note", "x"]))
    cases.append(("reopening an open case", SUPERVISOR, "bad_transition",
                  ["dispute", "reopen", "--id", h.new_id(), "--dispute",
                   n1.id, "--reason", "x"]))
    cases.append(("logging on an untriaged case", SUPERVISOR,
                  "bad_transition",
                  ["dispute", "log", "--id", h.new_id(), "--dispute", n3.id,
                   "--action", "call", "--note", "x"]))
    cases.append(("an extension not later than the deadline", SUPERVISOR,
                  "bad_time",
                  ["dispute", "extend", "--id", h.new_id(), "--dispute",
                   n1.id, "--deadline", (TODAY + timedelta(days=1))
                   .isoformat(), "--reason", "x"]))
    cases.append(("a grid worker reporting for another village", "G002",
                  "forbidden",
                  ["dispute", "report", "--id", h.new_id(), "--village",
                   "CJ", "--category", "邻里", "--source", "village",
                   "--summary", "x"]))
    cases.append(("a handler who is not in the roster", SUPERVISOR,
                  "unknown_worker",
                  ["dispute", "triage", "--id", h.new_id(), "--dispute",
                   n3.id, "--level", "town", "--leader", SUPERVISOR,
                   "--handlers", "M001,ZZ99", "--deadline",
                   (TODAY + timedelta(days=9)).isoformat()]))
    cases.append(("a dispute that does not exist", SUPERVISOR, "not_found",
                  ["dispute", "log", "--id", h.new_id(), "--dispute",
                   h.new_id(), "--action", "call", "--note", "x"]))
    for what, who, code, args in cases:
        rc, out, err = d.client(*args, worker=who)
        is_(rc, 1, "%s: exit 1" % what, out, err)
        like(err, r"\(server refused: %s\)" % code,
             "... ERR %s, said in Chinese and English" % code)
        if code == "unknown_worker":
            like(err, r"'ZZ99'", "... naming the unknown code")
    is_(ledger_rows(d), rows0, "nothing of them was stored (rows of the "
        "ledger's tables unchanged)")
    for c in (by["C"], n1, n3):
        js = show_json(d, SUPERVISOR, c.id)[1]
        js and js.pop("warning", None)
        is_(js, shows0[c.name], "%s is unchanged" % c.name)
    got, err = list_json(d, SUPERVISOR, "--status", "all")
    ok(bad_id not in ids_of((got or {}).get("disputes")),
       "the refused report is not listed")
    # Its id was not taken: the same id with a good category is stored.
    rc, out, err = d.client("dispute", "report", "--id", bad_id, "--village",
                            "DK", "--category", "其他", "--source", "village",
                            "--summary", "两人酒后争吵", worker="G002")
    ok(rc == 0 and "duplicate" not in err,
       "the refused report's id can be used again (nothing kept of it)",
       rc, err)

    # Usage errors never reach the server (exit 2).
    for args in (["dispute", "status", "--dispute", n1.id, "--status",
                  "mediated"],
                 ["dispute", "triage", "--dispute", n1.id, "--level",
                  "town", "--handlers", "M001", "--deadline", "2026-13-01"],
                 ["dispute", "report", "--village", "DK", "--category", "邻里",
                  "--source", "nowhere", "--summary", "x"],
                 ["report", "week", "--period", "2026-11"]):
        rc, out, err = d.client(*args, worker=SUPERVISOR)
        is_(rc, 2, "usage error %s: exit 2" % " ".join(args[:2]), err)


# ---- the cases of today -----------------------------------------------------


def make_now_cases(d):
    """Three disputes of today: yellow, none, untriaged."""
    now = NOW.replace(microsecond=0) - timedelta(minutes=30)
    n1 = Case("N1", "DK", "邻里", "village", "G002", now,
              "今日: 邻里噪音纠纷", people=4)
    n2 = Case("N2", "DK", "物业", "screening", "G002", now,
              "今日: 物业漏水纠纷", people=8)
    n3 = Case("N3", "HZ", "劳资", "village", "G004", now,
              "今日: 工地欠薪", people=15)
    for c in (n1, n2, n3):
        rc, o, e = d.client(*report_args(c), worker=c.reporter)
        is_(rc, 0, "%s reported today" % c.name, e)
    for c, handler, days in ((n1, "M001", 2), (n2, "G002", 20)):
        e = c.add("triage", now + timedelta(minutes=10), SUPERVISOR,
                  level="village", handlers=[handler],
                  deadline=TODAY + timedelta(days=days))
        rc, o, err = d.client(*event_args(c, e), worker=SUPERVISOR)
        is_(rc, 0, "%s triaged (deadline in %d days)" % (c.name, days), err)
    return [n1, n2, n3]


def live_warning(c, today=None):
    """The warning of a dispute now (dispute_yellow_days 3)."""
    today = today or TODAY
    st = c.state(NOW + timedelta(days=1))
    if st["status"] != "open" or st["deadline"] is None:
        return "none"
    if st["deadline"] < today:
        return "red"
    return "yellow" if (st["deadline"] - today).days <= 3 else "none"


def check_filters(d, cases):
    """DISPUTE-LIST status=, from=, to=, and the order of a list."""
    live = NOW + timedelta(days=1)
    ended = ("mediated", "escalated", "closed")
    want = {
        "open": lambda c, st: st["status"] in ("reported", "open"),
        "overdue": lambda c, st: live_warning(c) == "red",
        "closed": lambda c, st: st["status"] in ended,
        "all": lambda c, st: True,
        "reported": lambda c, st: st["status"] == "reported",
        "mediated": lambda c, st: st["status"] == "mediated",
        "escalated": lambda c, st: st["status"] == "escalated",
    }
    bad = []
    for status, pick in want.items():
        got, err = list_json(d, SUPERVISOR, "--status", status)
        w = {c.id for c in cases if pick(c, c.state(live))}
        g = set(ids_of((got or {}).get("disputes")))
        if g != w:
            bad.append((status, sorted(g - w), sorted(w - g), err))
    is_(bad, [], "dispute list --status open|overdue|closed|all|reported|"
        "mediated|escalated: exactly the disputes in that state now")
    got, err = list_json(d, SUPERVISOR, "--status", "all", "--from",
                         "%d-12-01" % Y, "--to", "%d-01-05" % Y1)
    w = {c.id for c in cases
         if date(Y, 12, 1) <= c.reported.date() <= date(Y1, 1, 5)}
    is_(set(ids_of((got or {}).get("disputes"))), w,
        "--from %d-12-01 --to %d-01-05: the disputes reported on those "
        "days" % (Y, Y1), err)

    got, err = list_json(d, SUPERVISOR, "--status", "all")
    rank = {"red": 0, "yellow": 1, "none": 2}
    far = date(9999, 12, 31)

    def key(c):
        st = c.state(live)
        return (rank[live_warning(c)], st["deadline"] or far, c.reported,
                c.id)
    is_(ids_of((got or {}).get("disputes")),
        [c.id for c in sorted(cases, key=key)],
        "the list is ordered: red, yellow, the rest; then by deadline "
        "(none last), report time and id")


def check_lists(d, by, now_cases):
    n1, n2, n3 = now_cases
    got, err = list_json(d, SUPERVISOR)
    rows = (got or {}).get("disputes") or []
    w = {x.get("id"): (x.get("warning"), x.get("days_left")) for x in rows}
    is_(w.get(n1.id), ("yellow", 2), "N1 (deadline in 2 days): yellow, "
        "2 days left")
    is_(w.get(n2.id), ("none", 20), "N2 (deadline in 20 days): none")
    is_(w.get(n3.id), ("none", None), "N3 (untriaged): none, no days left")
    is_(w.get(by["Bo"].id, (None,))[0], "red", "Bo (overdue since %d-11): "
        "red" % Y)
    ranks = [{"red": 0, "yellow": 1}.get(x.get("warning"), 2) for x in rows]
    is_(ranks, sorted(ranks), "the open list: red first, then yellow")
    is_({x.get("id") for x in rows},
        {by["Bo"].id, n1.id, n2.id, n3.id},
        "the open list holds Bo and today's three")
    ok(all(x.get("parties") is None for x in rows),
       "a plain list has no parties, even for a supervisor")

    got, err = list_json(d, SUPERVISOR, "--status", "overdue")
    is_(ids_of((got or {}).get("disputes")), [by["Bo"].id],
        "--status overdue: Bo only")

    rc, out, err = d.client("dispute", "list", worker=SUPERVISOR)
    is_(rc, 0, "pingan dispute list (table) exits 0", err)
    lines = out.splitlines()
    red = [i for i, l in enumerate(lines) if by["Bo"].id in l]
    yel = [i for i, l in enumerate(lines) if n1.id in l]
    ok(red and "红" in lines[red[0]], "the table marks Bo 红", out)
    ok(yel and "黄" in lines[yel[0]], "the table marks N1 黄", out)
    ok(red and yel and red[0] < yel[0], "... overdue first")
    for word in ("预警", "村(居)", "类别", "办结时限", "办案人员"):
        like(out, re.escape(word), "the table has the heading %s" % word)

    rc, out, err = d.client("dispute", "show", "--dispute", by["R"].id,
                            worker=SUPERVISOR)
    is_(rc, 0, "pingan dispute show (text) exits 0", err)
    for word in ("办理经过", "上报", "分流", "办理", "重新办理", "当事人"):
        like(out, re.escape(word), "show's text has %s" % word)

    for kind, period in (("week", "%d-W01" % Y1), ("month", "%d-09" % Y),
                         ("mediator", "%d-03" % Y)):
        rc, out, err = d.client("report", kind, "--period", period,
                                worker=SUPERVISOR)
        is_(rc, 0, "pingan report %s --period %s (text) exits 0" %
            (kind, period), err)
        ok("{" not in out and period in out,
           "... readable, and names the period", out[:800])


def check_history(d, cases):
    """Every event sent is one history entry, in order."""
    bad = []
    for c in cases:
        js = show_json(d, SUPERVISOR, c.id)[1] or {}
        verbs = [e.get("verb") for e in js.get("history") or []]
        want = ["report"] + [e["kind"] for e in
                             sorted(c.events, key=lambda e: e["at"])]
        if verbs != want:
            bad.append((c.name, verbs, want))
    is_(bad, [], "each dispute's history has one entry per request sent, "
        "oldest first (%d disputes)" % len(cases))


def test_spool(d, by):
    """A dispute write made offline waits in the spool, then is sent."""
    c = by["Bo"]
    eid = h.new_id()
    rc, out, err = h.run([h.PINGAN, "--server", "127.0.0.1:1", "--worker",
                          "M002", "--token", d.creds["M002"], "--timeout",
                          "2", "dispute", "log", "--id", eid, "--dispute",
                          c.id, "--action", "call", "--note",
                          "离线时电话回访"], env=h.clean_env(d.home))
    is_(rc, 5, "a dispute log entry without a server is spooled (exit 5)",
        out, err)
    rc, out, err = d.client("sync", worker="M002")
    is_(rc, 0, "pingan sync sends it", out, err)
    js = show_json(d, SUPERVISOR, c.id)[1] or {}
    ok(eid in [e.get("id") for e in js.get("history") or []],
       "... and it is in the history")


def comparable(js):
    """A report without the time it was made."""
    js = dict(js or {})
    js.pop("generated_at", None)
    return js


def test_restart(d, by):
    """What was answered survives a restart: the reports and histories."""
    before = {k: comparable(report_json(d, k, p)) for k, p in
              (("year", str(Y)), ("month", "%d-03" % Y),
               ("mediator", "%d-05" % Y), ("week", "%d-W01" % Y1))}
    hist = show_json(d, SUPERVISOR, by["R"].id)[1]
    is_(d.stop(), 0, "SIGTERM: pingand exits 0")
    d.restart()
    after = {k: comparable(report_json(d, k, p)) for k, p in
             (("year", str(Y)), ("month", "%d-03" % Y),
              ("mediator", "%d-05" % Y), ("week", "%d-W01" % Y1))}
    is_(after, before, "after a restart the reports are the same")
    is_(show_json(d, SUPERVISOR, by["R"].id)[1], hist,
        "... and so is a dispute with its history")


def test_config():
    """The ledger's settings: categories, the yellow days, who sees the
    parties; a category dropped from the list stays on its disputes."""
    d = h.Daemon(config=dict(CONFIG, dispute_categories="邻里,交通事故,其他",
                             dispute_yellow_days="0",
                             sensitive_roles="supervisor,admin,mediator"))
    t = NOW.replace(microsecond=0) - timedelta(minutes=20)
    a1 = Case("T1", "DK", "交通事故", "village", "G002", t, "两车刮擦赔偿争执",
              people=2)
    a2 = Case("T2", "DK", "邻里", "village", "G002", t, "邻里噪音", people=2)
    for c in (a1, a2):
        rc, out, err = d.client(*report_args(c), worker="G002")
        is_(rc, 0, "a configured category (%s) is taken" % c.category, err)
    rc, out, err = d.client("dispute", "report", "--village", "DK",
                            "--category", "劳资", "--source", "village",
                            "--summary", "x", worker="G002")
    is_(rc, 1, "a default category left out of dispute_categories is "
        "refused", err)
    like(err, r"unknown_category", "... unknown_category")
    for c, days in ((a1, 0), (a2, 1)):
        e = c.add("triage", t + timedelta(minutes=5), SUPERVISOR,
                  level="village", handlers=["M001"],
                  deadline=TODAY + timedelta(days=days))
        rc, out, err = d.client(*event_args(c, e), worker=SUPERVISOR)
        is_(rc, 0, "%s triaged, due in %d days" % (c.name, days), err)
    got, err = list_json(d, SUPERVISOR)
    w = {x.get("id"): (x.get("warning"), x.get("days_left"))
         for x in (got or {}).get("disputes") or []}
    is_((w.get(a1.id), w.get(a2.id)), (("yellow", 0), ("none", 1)),
        "dispute_yellow_days 0: yellow on the deadline day only")

    rc, js, err = show_json(d, "M001", a1.id)
    is_(((js or {}).get("parties"), (js or {}).get("redacted")),
        (a1.parties, False), "sensitive_roles with mediator: M001 sees the "
        "parties of its own case", err)
    rc, js, err = show_json(d, "G002", a1.id)
    is_((js or {}).get("redacted"), True, "... a grid worker still does "
        "not")
    rc, js, err = show_json(d, "M002", a1.id)
    is_(rc, 1, "... and M002 cannot see M001's case at all", err)
    rc, out, err = d.client("audit", "--by", "M001", "--json",
                            worker=SUPERVISOR)
    ent = json.loads(out).get("entries") if rc == 0 else None
    is_([(x.get("request"), x.get("id")) for x in ent or []],
        [("DISPUTE-SHOW", a1.id)], "M001's read is audited (audit --by)",
        err)

    week = "%d-W%02d" % TODAY.isocalendar()[:2]
    before = comparable(report_json(d, "week", week))
    before.pop("as_of", None)
    is_(d.stop(), 0, "SIGTERM: pingand exits 0")
    d.config["dispute_categories"] = "邻里,其他"
    d.write_config()
    d.restart()
    rc, js, err = show_json(d, SUPERVISOR, a1.id)
    is_((js or {}).get("category"), "交通事故",
        "a category dropped from the list stays on its disputes")
    r = report_json(d, "week", week) or {}
    is_([x.get("category") for x in r.get("by_category") or []],
        ["邻里", "其他", "交通事故"], "the week lists the configured "
        "categories in order, then the others found")
    is_([counts_of(x)["found"] for x in r.get("by_category") or []],
        [1, 0, 1], "... with their counts")
    is_(d.stop(), 0, "SIGTERM: the second pingand exits 0")


def test_disputes():
    diag("now %s; replaying %d and January %d" %
         (NOW.isoformat(timespec="seconds"), Y, Y1))
    d = h.Daemon(config=CONFIG)
    fixed = fixed_cases()
    ordinary = ordinary_cases(random.Random(43037))
    cases = ordinary + list(fixed.values())
    register = risks(fixed)
    by = dict(fixed)
    by.update({c.name: c for c in ordinary})
    year = [c for c in cases if c.reported.year == Y]
    is_(len(year), 43, "(the replay has 43 disputes in %d)" % Y)
    is_(len({c.village for c in year}), 7, "(from all 7 villages)")

    t0 = datetime.now()
    n, failures = replay(d, cases, register)
    diag("replay: %d requests through the client in %.1f s" %
         (n, (datetime.now() - t0).total_seconds()))
    is_(failures, [], "every request of the replay was accepted (exit 0, "
        "its id printed)")

    ex = Expect(cases, register)
    check_year(d, ex, year)
    check_weeks(d, ex)
    check_months(d, ex, cases)
    check_boundary(d, ex, by)
    check_summary(d, ex, by)
    check_history(d, cases)

    now_cases = make_now_cases(d)
    check_lists(d, by, now_cases)
    check_filters(d, cases + now_cases)
    test_permissions(d, cases, by, now_cases, register)
    test_bad_input(d, by, now_cases)
    test_spool(d, by)
    ok(d.alive(), "pingand is still running")
    test_restart(d, by)
    is_(d.stop(), 0, "SIGTERM: pingand exits 0")
    test_config()


if __name__ == "__main__":
    h.main(test_disputes)
