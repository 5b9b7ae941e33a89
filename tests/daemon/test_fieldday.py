#!/usr/bin/env python3
"""
test_fieldday.py: one simulated day of the town, built through the real
client, and the summary of it.

The day is YESTERDAY in the town's time zone (Asia/Shanghai), so that every
cutoff and every window of it has passed and each gap is overdue.  All 20
patrol members go out, six of the seven villages report their screening,
the town center and six village stations have someone on duty, and workers
check in.  Four things are left undone on purpose:

  - 和平村 (HP) never reports its screening       -> screening_missing HP
  - nobody is on duty at 长江村 (CJ)                 -> duty_uncovered CJ
  - no security patrol covers 新华村 (XH) 20:00-24:00 -> window_uncovered XH
  - one patrol starts yesterday morning, never ends -> patrol_overlong

`pingan summary --day <yesterday> --json` must list exactly those four gaps,
all overdue, and totals equal to what was sent.  Along the way the refusals
a terminal can provoke (forbidden, patrol_closed, bad_time) are checked.
"""

import json
import os
import re
import signal
import sys
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like, diag  # noqa: E402

# Shanghai has had no daylight saving time since 1991: a fixed offset is
# the town's clock.
TOWN_TZ = timezone(timedelta(hours=8))

VILLAGES = ["ZD", "DK", "CJ", "HZ", "TX", "HP", "XH"]
VILLAGE_NAMES = {"ZD": "樟斗社区", "DK": "东坑村", "CJ": "长江村",
                 "HZ": "黄竹村", "TX": "田心村", "HP": "和平村",
                 "XH": "新华村"}
GRID_WORKER = {v: "G%03d" % (i + 1) for i, v in enumerate(VILLAGES)}
DUTY_STAFF = dict({"TOWN": "D000"},
                  **{v: "D%03d" % (i + 1) for i, v in enumerate(VILLAGES)})
TEAMS = {}
for _i in range(1, 21):
    TEAMS["P%03d" % _i] = ["police", "enforcement", "emergency",
                           "volunteer"][(_i - 1) // 5]

# The deliberate omissions.
SILENT_VILLAGE = "HP"		# no screening report
EMPTY_POST = "CJ"		# nobody on duty
UNPATROLLED = "XH"		# nobody in the 20:00-24:00 window

CONFIG = {
    "timezone": "Asia/Shanghai",
    "screening_cutoff": "18:00",
    "duty_cutoff": "09:00",
    "patrol_max_hours": "12",
    # Only this window: the harness writes its own config file, so no
    # forest-fire season of conf/pingand.conf applies.
    "window": "security 20:00-24:00 all",
}


class Day:
    """Builds the day through the client and remembers what it sent."""

    def __init__(self, d, day):
        self.d = d
        self.day = day			# datetime.date, in the town
        self.patrols = []		# dicts: id, type, members, villages,
        #				  start, end (datetimes), points
        self.checkins = {}		# kind -> count (of the day)
        self.checkins_by_village = {v: 0 for v in VILLAGES}
        self.screening = {}		# village -> {grid: (zeros, items)}
        self.duty = {}			# post -> worker
        self.failures = []

    def at(self, hh, mm=0, days=0):
        """An RFC 3339 time on the day (or days after), town time."""
        t = datetime(self.day.year, self.day.month, self.day.day, 0, 0,
                     tzinfo=TOWN_TZ) + timedelta(days=days, hours=hh,
                                                  minutes=mm)
        return t

    @staticmethod
    def rfc(t):
        return t.isoformat(timespec="seconds")

    def run(self, worker, *args, want=0, what=None):
        rc, out, err = self.d.client(*args, worker=worker)
        if rc != want:
            self.failures.append((what or " ".join(args), worker, rc,
                                  out.strip(), err.strip()))
        return rc, out, err

    # -- patrols --

    def patrol(self, ptype, starter, others, villages=(), grids=(),
               start=None, end=None, points=(), summary=None):
        pid = h.new_id()
        args = ["patrol", "start", "--id", pid, "--type", ptype,
                "--at", self.rfc(start)]
        if others:
            args += ["--members", ",".join(others)]
        if villages:
            args += ["--villages", ",".join(villages)]
        if grids:
            args += ["--grids", ",".join(grids)]
        args += ["--note", "%s出发" % starter]
        rc, out, err = self.run(starter, *args,
                                what="patrol start by %s" % starter)
        p = {"id": pid, "type": ptype, "members": [starter] + list(others),
             "villages": set(villages) | {g[:2] for g in grids},
             "start": start, "end": None, "points": 0}
        self.patrols.append(p)
        for i, (t, who, checkpoint) in enumerate(points):
            pargs = ["patrol", "point", "--id", h.new_id(), "--patrol", pid,
                     "--at", self.rfc(t), "--lat", "%.5f" % (25.39 + i / 1000),
                     "--lon", "%.5f" % (114.36 + i / 1000),
                     "--note", "第%d个点 无异常" % (i + 1)]
            if checkpoint:
                pargs += ["--checkpoint", checkpoint]
            self.run(who, *pargs, what="patrol point by %s" % who)
            p["points"] += 1
        if end is not None:
            self.run(starter if not others else others[-1], "patrol", "end",
                     "--id", h.new_id(), "--patrol", pid,
                     "--at", self.rfc(end),
                     "--summary", summary or "巡逻结束, 未发现异常",
                     what="patrol end")
            p["end"] = end
        return p

    # -- screening --

    def screen(self, village, grid, t, zero=False, item=None, day=None):
        args = ["screening", "--id", h.new_id(), "--grid", grid,
                "--at", self.rfc(t)]
        if day is not None:
            args += ["--day", day]
        if zero:
            args += ["--zero"]
        else:
            args += ["--item", item]
        self.run(GRID_WORKER[village], *args,
                 what="screening %s by %s" % (grid, GRID_WORKER[village]))
        z, n = self.screening.setdefault(village, {}).get(grid, (0, 0))
        self.screening[village][grid] = (z + (1 if zero else 0),
                                         n + (0 if zero else 1))

    # -- duty --

    def duty_shift(self, post, on, off, worker=None):
        worker = worker or DUTY_STAFF[post]
        self.run(worker, "duty", "on", "--id", h.new_id(), "--post", post,
                 "--at", self.rfc(on), what="duty on %s" % post)
        if off is not None:
            self.run(worker, "duty", "off", "--id", h.new_id(), "--post",
                     post, "--at", self.rfc(off), what="duty off %s" % post)
        self.duty[post] = worker

    # -- check-ins --

    def checkin(self, worker, grid, kind, t, counts=True, note=None):
        args = ["checkin", "--id", h.new_id(), "--grid", grid, "--kind", kind,
                "--at", t if isinstance(t, str) else self.rfc(t)]
        if note:
            args += ["--note", note]
        self.run(worker, *args, what="checkin %s %s by %s" %
                 (kind, grid, worker))
        if counts:
            self.checkins[kind] = self.checkins.get(kind, 0) + 1
            self.checkins_by_village[grid[:2]] += 1
        return args[2]


def build_day(day):
    """Sends yesterday's records; returns the Day."""
    at = day.at

    # ---- patrols: every village but XH between 20:00 and 24:00 ----------
    # The never-closed patrol first: started 08:00, its members (police and
    # emergency) stay on it and cannot start another.  It covers TX only,
    # which a closed patrol covers too, and never XH.
    day.overlong = day.patrol(
        "security", "P005", ["P012"], villages=["TX"], start=at(8, 0),
        points=[(at(8, 40), "P005", "TX-CP1"), (at(9, 30), "P012", None)])

    # A daytime forest-fire patrol by members who also go out at night.
    day.patrol("forest_fire", "P001", ["P016"], villages=["ZD"],
               grids=["DK-03"], start=at(14, 0), end=at(16, 30),
               points=[(at(15, 0), "P001", "LIN-01"),
                       (at(16, 0), "P016", "LIN-02")],
               summary="山林无火情")

    # The night: five security patrols, all four teams on most of them.
    day.patrol("security", "P001", ["P002", "P008", "P015"],
               villages=["ZD", "DK"], start=at(20, 10), end=at(22, 40),
               points=[(at(20, 45), "P001", "ZD-CP1"),
                       (at(21, 30), "P008", "DK-CP1"),
                       (at(22, 15), "P015", None)],
               summary="樟斗社区、东坑村巡逻, 劝散一起酒后争吵")
    day.patrol("security", "P003", ["P010", "P017"], grids=["CJ-01", "CJ-02"],
               start=at(20, 30), end=at(23, 40),
               points=[(at(21, 0), "P003", "CJ-CP1"),
                       (at(22, 30), "P017", "CJ-CP2")],
               summary="长江村无异常")
    day.patrol("security", "P004", ["P011", "P018"], villages=["HZ"],
               start=at(21, 0), end=at(23, 55),
               points=[(at(22, 0), "P011", "HZ-CP1")],
               summary="黄竹村无异常")
    day.patrol("security", "P006", ["P009", "P013", "P020"],
               villages=["HP"], start=at(19, 30), end=at(21, 0),
               points=[(at(20, 15), "P020", "HP-CP1"),
                       (at(20, 45), "P006", None)],
               summary="和平村检查出租屋两处")
    day.patrol("security", "P016", ["P019", "P014", "P007"],
               villages=["TX"], grids=["TX-02"], start=at(22, 0),
               end=at(23, 50),
               points=[(at(22, 30), "P014", "TX-CP2"),
                       (at(23, 10), "P007", "TX-CP3")],
               summary="田心村无异常")

    # ---- screening: every village but HP, before 18:00 ------------------
    day.screen("ZD", "ZD-01", at(9, 10), zero=True)
    day.screen("ZD", "ZD-02", at(9, 40), zero=True)
    day.screen("ZD", "ZD-03", at(10, 5), zero=True)
    day.screen("DK", "DK-01", at(10, 30), item="两户宅基地界址纠纷")
    day.screen("DK", "DK-01", at(10, 35), item="村道路灯损坏, 夜间照明不足")
    day.screen("DK", "DK-02", at(11, 0), zero=True)
    day.screen("DK", "DK-03", at(11, 20), zero=True)
    day.screen("CJ", "CJ-01", at(14, 0), zero=True)
    day.screen("CJ", "CJ-02", at(14, 30), item="山林承包合同到期争议")
    day.screen("HZ", "HZ-01", at(8, 0), zero=True)
    day.screen("HZ", "HZ-02", at(8, 20), zero=True)
    day.screen("HZ", "HZ-03", at(8, 45), zero=True)
    day.screen("TX", "TX-01", at(16, 0), item="邻里排水沟堵塞纠纷")
    day.screen("TX", "TX-02", at(16, 10), zero=True,
               day=day.day.isoformat())
    day.screen("XH", "XH-01", at(17, 0), zero=True)
    day.screen("XH", "XH-02", at(17, 20), zero=True)
    day.screen("XH", "XH-03", at(17, 50), item="外出务工人员留守老人需走访")

    # ---- duty: the town center and every station but CJ -----------------
    day.duty_shift("TOWN", at(7, 55), at(18, 0))
    day.duty_shift("ZD", at(8, 0), at(17, 30))
    day.duty_shift("DK", at(8, 10), at(17, 40))
    day.duty_shift("HZ", at(8, 30), at(12, 0))
    day.duty_shift("TX", at(8, 45), at(18, 30))
    day.duty_shift("HP", at(7, 30), at(17, 0))
    day.duty_shift("XH", at(8, 50), at(17, 50))

    # ---- check-ins of several kinds -------------------------------------
    day.checkin("G001", "ZD-01", "visit", at(10, 0), note="走访独居老人")
    day.checkin("G002", "DK-02", "visit", at(11, 30))
    day.checkin("M001", "DK-01", "mediation", at(15, 0),
                note="宅基地纠纷调解, 双方达成协议")
    day.checkin("P001", "ZD-02", "patrol", at(20, 50))
    day.checkin("P003", "CJ-01", "patrol", at(21, 5))
    day.checkin("D001", "ZD-01", "duty", at(8, 5))
    day.checkin("G005", "TX-01", "other", at(15, 30), note="协助人口普查")
    day.checkin("G004", "HZ-03", "screening", at(8, 50))
    # Late: it happened yesterday at 07:30 town time (23:30 UTC the day
    # before), it is sent only now, and counts on yesterday.
    late = (at(7, 30)).astimezone(timezone.utc)
    day.late = day.checkin("G007", "XH-02", "visit",
                           late.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           note="补报: 昨天早上走访, 当时无网络")
    day.late_at = late
    day.checkin("G003", "CJ-03", "visit", at(23, 59), note="夜间走访")
    # The day before yesterday, late in the evening: not on the day.
    day.checkin("G003", "CJ-03", "visit", at(23, 50, days=-1), counts=False)
    return day


def test_refusals(d, day):
    """What a terminal may not do, each with its own ERR code."""
    at = day.at
    # A grid worker of ZD screening a DK grid.
    rc, out, err = d.client("screening", "--id", h.new_id(), "--grid",
                            "DK-02", "--at", day.rfc(at(12, 0)), "--zero",
                            worker="G001")
    is_(rc, 1, "a grid worker screening another village: exit 1", out, err)
    like(err, r"forbidden", "... and the message says forbidden")

    # A point for a closed patrol.
    closed = [p for p in day.patrols if p["end"] is not None][0]
    rc, out, err = d.client("patrol", "point", "--id", h.new_id(),
                            "--patrol", closed["id"],
                            "--at", day.rfc(at(23, 58)),
                            worker=closed["members"][0])
    is_(rc, 1, "a point for a closed patrol: exit 1", out, err)
    like(err, r"patrol_closed", "... and the message says patrol_closed")

    # Ending a patrol one is not on (the never-closed one, by P001).
    rc, out, err = d.client("patrol", "end", "--id", h.new_id(),
                            "--patrol", day.overlong["id"],
                            "--at", day.rfc(at(23, 0)), "--summary", "代结束",
                            worker="P001")
    is_(rc, 1, "ending a patrol one is not on: exit 1", out, err)
    like(err, r"forbidden", "... and the message says forbidden")

    # A screening dated tomorrow.
    tomorrow = (datetime.now(TOWN_TZ) + timedelta(days=1)).date().isoformat()
    rc, out, err = d.client("screening", "--id", h.new_id(), "--grid",
                            "ZD-01", "--day", tomorrow, "--zero",
                            worker="G001")
    is_(rc, 1, "a screening dated tomorrow: exit 1", out, err)
    like(err, r"bad_time", "... and the message says bad_time")

    # SUMMARY from someone who is not a supervisor.
    for w in ("G001", "P001"):
        rc, out, err = d.client("summary", "--day", day.day.isoformat(),
                                "--json", worker=w)
        is_(rc, 1, "%s asking for the summary: exit 1" % w, out, err)
        like(err, r"forbidden", "... and the message says forbidden")


def summary_json(d, day):
    rc, out, err = d.client("summary", "--day", day.day.isoformat(), "--json",
                            worker="S001")
    is_(rc, 0, "pingan summary --day --json as S001 exits 0", err)
    try:
        return json.loads(out)
    except ValueError as e:
        ok(False, "the summary is one JSON document", str(e), out[:2000],
           err)
        return None


def check_gaps(s, day):
    ds = day.day.isoformat()
    gaps = s.get("gaps")
    ok(isinstance(gaps, list), "the summary has a gaps list", gaps)
    gaps = gaps or []

    def key(g):
        k = g.get("kind")
        if k == "screening_missing":
            return (k, g.get("village"))
        if k == "duty_uncovered":
            return (k, g.get("post"))
        if k == "window_uncovered":
            return (k, g.get("type"), g.get("village"))
        if k == "patrol_overlong":
            return (k, g.get("patrol"))
        return (k, json.dumps(g, ensure_ascii=False))

    want = {("screening_missing", SILENT_VILLAGE),
            ("duty_uncovered", EMPTY_POST),
            ("window_uncovered", "security", UNPATROLLED),
            ("patrol_overlong", day.overlong["id"])}
    got = [key(g) for g in gaps]
    is_(sorted(got), sorted(want),
        "the gaps are exactly: screening HP, duty CJ, window XH, the open "
        "patrol", json.dumps(gaps, ensure_ascii=False, indent=1))
    is_(len(got), len(set(got)), "no gap is listed twice")
    for g in gaps:
        is_(g.get("overdue"), True, "gap %r is overdue" % (key(g),))
        is_(g.get("day"), ds, "gap %r is on yesterday" % (key(g),))

    by = {key(g)[0]: g for g in gaps}
    g = by.get("screening_missing") or {}
    is_(g.get("village_name"), VILLAGE_NAMES[SILENT_VILLAGE],
        "screening_missing names the village")
    is_(g.get("cutoff"), "%sT18:00:00+08:00" % ds,
        "screening_missing: cutoff 18:00 town time")
    g = by.get("duty_uncovered") or {}
    is_(g.get("post_name"), VILLAGE_NAMES[EMPTY_POST],
        "duty_uncovered names the post")
    is_(g.get("cutoff"), "%sT09:00:00+08:00" % ds,
        "duty_uncovered: cutoff 09:00 town time")
    g = by.get("window_uncovered") or {}
    is_(g.get("village_name"), VILLAGE_NAMES[UNPATROLLED],
        "window_uncovered names the village")
    is_((g.get("from"), g.get("to")),
        ("%sT20:00:00+08:00" % ds,
         "%sT00:00:00+08:00" % (day.day + timedelta(days=1)).isoformat()),
        "window_uncovered: 20:00 to 24:00 town time")
    g = by.get("patrol_overlong") or {}
    is_(g.get("type"), "security", "patrol_overlong: its type")
    is_(g.get("started"), day.rfc(day.overlong["start"]),
        "patrol_overlong: its start")
    is_(sorted(g.get("members") or []), sorted(day.overlong["members"]),
        "patrol_overlong: its members")
    hours = (datetime.now(TOWN_TZ) - day.overlong["start"]).total_seconds() \
        / 3600
    ok(isinstance(g.get("hours_open"), (int, float)) and
       12 < g["hours_open"] <= hours + 0.1 and g["hours_open"] > hours - 0.5,
       "patrol_overlong: hours_open is its age (%.1f h)" % hours,
       "got %r" % g.get("hours_open"))


def check_town(s, day):
    town = s.get("town") or {}
    is_((s.get("from"), s.get("to")), (day.day.isoformat(),) * 2,
        "from and to are yesterday")
    is_(s.get("timezone"), "Asia/Shanghai", "the town's time zone")
    is_(s.get("village"), None, "village is null for the whole town")

    # Check-ins by kind, the late one included, the day before not.
    kinds = ["patrol", "screening", "duty", "visit", "mediation", "other"]
    want = {k: day.checkins.get(k, 0) for k in kinds}
    want["total"] = sum(want.values())
    got = {k: (town.get("checkins") or {}).get(k) for k in want}
    is_(got, want, "town check-ins by kind (the late one on its day, the "
        "day before not)")

    # Patrols.
    pt = town.get("patrols") or {}
    day_end = day.at(0, days=1)
    members = set()
    hours = 0.0
    by_type = {"security": [0, 0.0], "forest_fire": [0, 0.0]}
    by_team = {t: [set(), set()] for t in ("police", "enforcement",
                                           "emergency", "volunteer")}
    for p in day.patrols:
        members |= set(p["members"])
        hrs = ((p["end"] or day_end) - p["start"]).total_seconds() / 3600
        hours += hrs
        by_type[p["type"]][0] += 1
        by_type[p["type"]][1] += hrs
        for m in p["members"]:
            by_team[TEAMS[m]][0].add(p["id"])
            by_team[TEAMS[m]][1].add(m)
    is_(len(members), 20, "(the scenario sends all 20 patrol members out)")
    is_(pt.get("count"), len(day.patrols), "town patrols: count")
    is_(pt.get("open"), 1, "town patrols: one still open")
    is_(pt.get("members"), 20, "town patrols: 20 members out")
    is_(pt.get("points"), sum(p["points"] for p in day.patrols),
        "town patrols: points")
    ok(isinstance(pt.get("hours"), (int, float)) and
       abs(pt["hours"] - hours) < 0.05,
       "town patrols: %.2f hours inside the day (the open one to 24:00)"
       % hours, "got %r" % pt.get("hours"))
    bt = pt.get("by_type") or {}
    for t, (n, hrs) in by_type.items():
        got = bt.get(t) or {}
        ok(got.get("count") == n and
           isinstance(got.get("hours"), (int, float)) and
           abs(got["hours"] - hrs) < 0.05,
           "town patrols by type %s: %d, %.2f h" % (t, n, hrs), got)
    bm = pt.get("by_team") or {}
    is_({t: (bm.get(t) or {}).get("patrols") for t in by_team},
        {t: len(v[0]) for t, v in by_team.items()},
        "town patrols by team: patrols")
    is_({t: (bm.get(t) or {}).get("members") for t in by_team},
        {t: len(v[1]) for t, v in by_team.items()},
        "town patrols by team: members")

    # Screening.
    sc = town.get("screening") or {}
    zeros = sum(z for g in day.screening.values() for z, _ in g.values())
    items = sum(n for g in day.screening.values() for _, n in g.values())
    grids = sum(len(g) for g in day.screening.values())
    is_((sc.get("villages_reported"), sc.get("villages_total")), (6, 7),
        "town screening: 6 of 7 villages reported")
    is_((sc.get("grids_reported"), sc.get("grids_total")), (grids, 21),
        "town screening: %d of 21 grids reported" % grids)
    is_(sc.get("zero_reports"), zeros, "town screening: zero reports")
    is_(sc.get("items"), items, "town screening: items found")

    # Duty.
    du = town.get("duty") or {}
    is_((du.get("posts_covered"), du.get("posts_total")), (7, 8),
        "town duty: 7 of 8 posts covered")

    # Windows: one window, every village.
    wi = town.get("windows") or {}
    is_((wi.get("covered"), wi.get("total")), (6, 7),
        "town windows: 6 of 7 villages covered 20:00-24:00")


def check_villages(s, day):
    rows = {v.get("code"): v for v in s.get("villages") or []}
    is_(sorted(rows), sorted(VILLAGES), "a row for each of the 7 villages")
    for v in VILLAGES:
        r = rows.get(v) or {}
        is_(r.get("name"), VILLAGE_NAMES[v], "village %s: name" % v)
        sc = r.get("screening") or {}
        grids = day.screening.get(v, {})
        is_((sc.get("reported"), sc.get("grids_reported"),
             sc.get("zero_reports"), sc.get("items")),
            (v != SILENT_VILLAGE, len(grids),
             sum(z for z, _ in grids.values()),
             sum(n for _, n in grids.values())),
            "village %s: screening reported, grids, zero reports, items" % v)
        is_((r.get("duty") or {}).get("covered"), v != EMPTY_POST,
            "village %s: duty covered" % v)
        wi = r.get("windows") or {}
        is_((wi.get("covered"), wi.get("total")),
            (0 if v == UNPATROLLED else 1, 1),
            "village %s: windows covered" % v)
        is_(r.get("checkins"), day.checkins_by_village[v],
            "village %s: check-ins" % v)
        want = sum(1 for p in day.patrols if v in p["villages"])
        is_(r.get("patrols"), want, "village %s: patrols" % v)


def check_workers(s, day):
    rows = {w.get("code"): w for w in s.get("workers") or []}
    for v, g in GRID_WORKER.items():
        w = rows.get(g) or {}
        is_(w.get("gaps"), 1 if v == SILENT_VILLAGE else 0,
            "grid worker %s (%s): gaps" % (g, v))
        grids = day.screening.get(v, {})
        is_(w.get("screenings"), sum(z + n for z, n in grids.values()),
            "grid worker %s: screenings" % g)
    for post, dw in DUTY_STAFF.items():
        w = rows.get(dw) or {}
        is_(w.get("gaps"), 1 if post == EMPTY_POST else 0,
            "duty staff %s (%s): gaps" % (dw, post))
        is_(w.get("duty_shifts"), 0 if post == EMPTY_POST else 1,
            "duty staff %s: duty shifts" % dw)
    for m in TEAMS:
        w = rows.get(m) or {}
        is_(w.get("patrols"), sum(1 for p in day.patrols
                                  if m in p["members"]),
            "patrol member %s: patrols" % m)


def check_text(d, day):
    rc, out, err = d.client("summary", "--day", day.day.isoformat(),
                            worker="S001")
    is_(rc, 0, "pingan summary --day (tables) exits 0", err)
    like(out, day.day.isoformat(), "the tables name the day")
    for word in ("汇总", "缺口", "巡逻", "排查", "值班", "村(居)", "人员"):
        like(out, re.escape(word), "the tables have the heading %s" % word)
    lines = out.splitlines()
    for v in (SILENT_VILLAGE, EMPTY_POST, UNPATROLLED):
        name = VILLAGE_NAMES[v]
        like(out, name, "the tables name %s (%s)" % (name, v))
        ok(any(name in l and "逾期" in l for l in lines),
           "a line names %s and says 逾期 (overdue)" % name)
    ok("{" not in out, "the tables are not JSON")
    if h.failed():
        diag(out)


def test_read_own_writes(d):
    """A connection reads its own writes: a SUMMARY pipelined right behind
    a write sees it, though summaries run on another thread."""
    c = d.authed("S001")
    n = 20
    c.send("".join("CHECKIN grid=XH-01 kind=other note=\"pipelined %d\"\n" % i
                   for i in range(n)) + "SUMMARY village=XH\n")
    lines = c.readlines(n + 1, timeout=20)
    c.close()
    ok(all(x.startswith("OK ") for x in lines[:n]),
       "%d pipelined check-ins stored" % n, repr(lines[:3]))
    body = lines[n][3:] if lines[n].startswith("OK {") else "{}"
    got = json.loads(body).get("town", {}).get("checkins", {}).get("other")
    ok(got is not None and got >= n,
       "the SUMMARY behind them counts all %d" % n, "got %r" % (got,))


def test_fieldday():
    now = datetime.now(TOWN_TZ)
    yesterday = (now - timedelta(days=1)).date()
    diag("now %s; the day is %s" % (now.isoformat(timespec="seconds"),
                                    yesterday))
    d = h.Daemon(config=CONFIG)
    day = Day(d, yesterday)
    build_day(day)
    is_(day.failures, [], "every record of the day was accepted (exit 0)",
        *["%s (%s): rc %r %s %s" % f for f in day.failures])

    # The late check-in is stored once, with its own event time.
    rows = h.checkin_rows(d.db_path, day.late)
    is_(len(rows), 1, "the late check-in is stored once")
    if rows:
        ev = rows[0]["_event"]
        want_ms = int(day.late_at.timestamp() * 1000)
        ok(ev in (want_ms, want_ms // 1000) or
           (isinstance(ev, str) and
            datetime.fromisoformat(ev.replace("Z", "+00:00")) ==
            day.late_at),
           "the late check-in keeps its event time (yesterday 07:30 town "
           "time)", "got %r, want %r ms" % (ev, want_ms))
        is_(rows[0]["_worker"], "G007", "... and its sender")

    test_refusals(d, day)

    s = summary_json(d, day)
    if s is not None:
        check_gaps(s, day)
        check_town(s, day)
        check_villages(s, day)
        check_workers(s, day)
    check_text(d, day)
    test_read_own_writes(d)

    ok(d.alive(), "pingand is still running")
    is_(d.stop(), 0, "SIGTERM: pingand exits 0")
    test_stop_with_reads_queued(d)


def test_stop_with_reads_queued(d):
    """Two SIGTERMs while summaries wait for the reader: a clean exit (under
    ASan a reply slot left pointing at a freed job would abort it)."""
    d.restart()
    c = d.authed("S001")
    c.send("SUMMARY from=2016-01-03 to=2026-01-01\n" * 20)
    time.sleep(0.2)
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    d.proc.send_signal(signal.SIGTERM)
    is_(d.stop(timeout=60), 0, "two SIGTERMs with summaries queued: exit 0")
    c.close()


if __name__ == "__main__":
    h.main(test_fieldday)
