#!/usr/bin/env python3
"""
test_http.py: the dashboard's HTTP API (docs/API.md) with curl against the
real pingand: the page, logins and sessions, every endpoint, every error
status, the live-update stream, /healthz and /metrics (promtool check).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CURL = shutil.which("curl")
PROMTOOL = shutil.which("promtool")


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def header(self, name):
        return self.headers.get(name.lower())

    def code(self):
        j = self.json()
        return (j or {}).get("error", {}).get("code")


def curl(d, path, method="GET", data=None, cookies=None, token=None,
         headers=(), timeout=20):
    """Runs curl once; returns a Resp (headers lower-cased, last wins)."""
    argv = [CURL, "-s", "-S", "-i", "--max-time", str(timeout * h.SLOW),
            "-X", method]
    if data is not None:
        argv += ["--data-binary", "@-",
                 "-H", "Content-Type: application/x-www-form-urlencoded"]
    if cookies:
        argv += ["-b", cookies, "-c", cookies]
    if token:
        argv += ["-H", "Authorization: Bearer %s" % token]
    for hd in headers:
        argv += ["-H", hd]
    argv.append("http://127.0.0.1:%d%s" % (d.http_port, path))
    p = subprocess.run(argv, input=(data or "").encode(), capture_output=True,
                       timeout=timeout * h.SLOW + 5)
    raw = p.stdout
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/\S+ (\d+)", lines[0] if lines else "")
    status = int(m.group(1)) if m else None
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return Resp(status, hdrs, body.decode("utf-8", "replace"))


def login(d, worker, cookies, token=None):
    tok = token if token is not None else d.creds[worker]
    return curl(d, "/api/v1/login", "POST",
                data="worker=%s&token=%s" % (worker, tok), cookies=cookies)


def test_page(d):
    r = curl(d, "/")
    h.is_(r.status, 200, "GET / answers 200")
    h.like(r.header("content-type") or "", r"^text/html", "the page is HTML")
    h.like(r.header("content-security-policy") or "", r"default-src 'none'",
           "the page carries a strict CSP")
    etag = r.header("etag")
    h.ok(etag, "the page has an ETag")
    r2 = curl(d, "/", headers=["If-None-Match: %s" % etag])
    h.is_(r2.status, 304, "a page not changed answers 304")
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', r.body)
    for a in assets:
        ra = curl(d, a)
        h.is_(ra.status, 200, "the page's %s is built in" % a)


def test_auth(d, tmp):
    jar = os.path.join(tmp, "jar")
    r = curl(d, "/api/v1/me")
    h.is_(r.status, 401, "no login: 401")
    h.is_(r.code(), "auth_required", "no login: code auth_required")
    h.is_(r.header("cache-control"), "no-store", "API answers are no-store")

    r = login(d, "S001", jar, token="pa_" + "0" * 40)
    h.is_(r.status, 401, "a wrong token: 401")
    h.is_(r.code(), "auth_failed", "a wrong token: code auth_failed")
    h.ok("set-cookie" not in r.headers, "a failed login sets no cookie")

    r = login(d, "G001", jar)
    h.is_(r.status, 403, "a grid worker may not see the dashboard: 403")

    r = login(d, "S001", jar)
    h.is_(r.status, 200, "a supervisor logs in")
    ck = r.header("set-cookie") or ""
    h.like(ck, r"pingan_session=pa_[0-9a-f]+", "login sets the session cookie")
    h.like(ck, r"HttpOnly", "the cookie is HttpOnly")
    h.like(ck, r"SameSite=Strict", "the cookie is SameSite=Strict")
    h.like(ck, r"Max-Age=\d+", "the cookie expires")
    me = curl(d, "/api/v1/me", cookies=jar).json() or {}
    h.is_(me.get("worker"), "S001", "/me with the cookie names the worker")
    h.is_(me.get("role_label"), "综治中心", "... and its role in Chinese")

    r = curl(d, "/api/v1/logout", "POST", data="", cookies=jar)
    h.is_(r.status, 204, "logout: 204")
    r = curl(d, "/api/v1/me", cookies=jar)
    h.is_(r.status, 401, "after logout the cookie is worth nothing")

    r = curl(d, "/api/v1/me", token=d.creds["S001"])
    h.is_(r.status, 200, "a bearer token of a supervisor reads the API")
    r = curl(d, "/api/v1/me", token="pa_" + "1" * 40)
    h.is_(r.status, 401, "a wrong bearer token: 401")
    r = curl(d, "/api/v1/summary", token=d.creds["P001"])
    h.is_(r.status, 403, "a patrol member's token: 403")
    h.is_(r.code(), "forbidden", "... code forbidden")

    r = curl(d, "/api/v1/login", "POST", data="worker=S001&token=x",
             cookies=jar, headers=["Origin: http://evil.example"])
    h.is_(r.status, 403, "a login posted from another site: 403")


def test_password(d, tmp):
    jar = os.path.join(tmp, "jar-pw")
    rc, out, err = d.admin("password-set", "--worker", "S001",
                           input="短密码\n".encode())
    h.ok(rc != 0, "password-set refuses a password under 8 characters",
         out, err)
    rc, out, err = d.admin("password-set", "--worker", "S001",
                           input="综治中心-密码-2026\n".encode())
    h.is_(rc, 0, "pingan admin password-set reads it from stdin", out, err)
    row = d.db().execute("SELECT hash FROM password").fetchall()
    h.ok(len(row) == 1 and row[0][0].startswith("scrypt$") and
         "密码" not in row[0][0], "only the scrypt hash is stored", row)
    r = curl(d, "/api/v1/login", "POST",
             data="worker=S001&password=%E7%BB%BC%E6%B2%BB%E4%B8%AD%E5%BF%83"
                  "-%E5%AF%86%E7%A0%81-2026", cookies=jar)
    h.is_(r.status, 200, "login with the password", r.body)
    h.is_(curl(d, "/api/v1/me", cookies=jar).status, 200,
          "the password's session reads the API")
    rc, out, err = d.admin("password-set", "--worker", "S001",
                           input="另一个密码-2027\n".encode())
    h.is_(rc, 0, "the admin sets a new password", out, err)
    h.is_(curl(d, "/api/v1/me", cookies=jar).status, 401,
          "a new password ends the logins made with the old one")
    r = curl(d, "/api/v1/login", "POST",
             data="worker=S001&password=%E5%8F%A6%E4%B8%80%E4%B8%AA%E5%AF%86"
                  "%E7%A0%81-2027", cookies=jar)
    h.is_(r.status, 200, "the new password logs in")
    r = curl(d, "/api/v1/login", "POST",
             data="worker=S001&password=wrong-password", cookies=jar)
    h.is_((r.status, r.code()), (401, "auth_failed"), "a wrong password: 401")
    r = curl(d, "/api/v1/login", "POST", data="worker=S001&password=x&"
             "token=y", cookies=jar)
    h.is_(r.status, 400, "token and password at once: 400")
    rc, out, err = d.admin("password-clear", "--worker", "S001")
    h.is_(rc, 0, "pingan admin password-clear", out, err)
    r = curl(d, "/api/v1/login", "POST",
             data="worker=S001&password=%E7%BB%BC%E6%B2%BB%E4%B8%AD%E5%BF%83"
                  "-%E5%AF%86%E7%A0%81-2026", cookies=jar)
    h.is_(r.status, 401, "a cleared password no longer logs in")


def test_throttle(tmp):
    d = h.Daemon(config={"auth_delay_ms": 200, "auth_block_after": 3,
                         "auth_block_seconds": 60})
    try:
        jar = os.path.join(tmp, "jar-throttle")
        t0 = time.monotonic()
        r = login(d, "S001", jar, token="pa_" + "2" * 40)
        h.is_(r.status, 401, "throttle: a wrong token")
        h.ok(time.monotonic() - t0 >= 0.19,
             "throttle: the 401 waits auth_delay_ms")
        for _ in range(2):
            login(d, "S001", jar, token="pa_" + "2" * 40)
        r = login(d, "S001", jar)
        h.is_((r.status, r.code()), (429, "throttled"),
              "throttle: after 3 failures even the right token gets 429")
        h.like(r.header("retry-after") or "", r"^\d+$",
               "throttle: 429 says when to retry")
        c = d.conn()
        r = c.request("AUTH S001 %s" % d.creds["S001"]) or ""
        h.like(r, r"^ERR auth_blocked", "throttle: the address's terminal "
               "AUTH is blocked too")
        c.close()
        h.like(d.log_text(), r"login refused for 'S001'",
               "throttle: refused logins are logged")
    finally:
        d.stop()


def test_expiry(tmp):
    d = h.Daemon(config={"session_ttl": 1})
    try:
        jar = os.path.join(tmp, "jar-expiry")
        r = login(d, "S001", jar)
        h.is_(r.status, 200, "session_ttl 1: login")
        h.is_(curl(d, "/api/v1/me", cookies=jar).status, 200,
              "session_ttl 1: good at once")
        time.sleep(1.6)
        r = curl(d, "/api/v1/me", cookies=jar)
        h.is_(r.status, 401, "an expired session: 401")
    finally:
        d.stop()


def test_endpoints(d, tmp):
    jar = os.path.join(tmp, "jar2")
    h.is_(login(d, "S001", jar).status, 200, "login for the endpoints")

    def get(path):
        return curl(d, path, cookies=jar)

    s0 = get("/api/v1/summary").json() or {}
    n0 = s0.get("town", {}).get("checkins", {}).get("total")
    h.ok(isinstance(n0, int), "summary: today's check-ins", s0)

    # field work: check-ins, a patrol out with a point, a dispute
    g = d.authed("G001")
    ids = []
    for i in range(5):
        cid = h.new_id()
        ids.append(cid)
        r = g.request('CHECKIN id=%s grid=DK-01 kind=visit note="走访第%d户"'
                      % (cid, i + 1))
        h.like(r or "", r"^OK ", "check-in %d stored" % (i + 1))
    p = d.authed("P001")
    pid = h.new_id()
    r = p.request("PATROL-START id=%s type=security members=P002 "
                  "villages=DK" % pid)
    h.like(r or "", r"^OK ", "a patrol starts")
    r = p.request("PATROL-POINT id=%s patrol=%s" % (h.new_id(), pid))
    h.like(r or "", r"^OK ", "a patrol point")
    did = h.new_id()
    sv = d.authed("S001")
    r = sv.request('DISPUTE-REPORT id=%s village=DK category=邻里 '
                  'source=village summary="两户宅基地边界争执" '
                  'parties="张某某、李某某" contacts=13800000000' % did)
    h.like(r or "", r"^OK ", "a dispute is reported")
    sv.close()
    g.close()
    p.close()

    s = get("/api/v1/summary").json() or {}
    h.is_(s.get("town", {}).get("checkins", {}).get("total"), n0 + 5,
          "summary: today's count grew by the 5 check-ins")
    po = s.get("patrols_open") or []
    h.is_(len(po), 1, "summary: one patrol out now", po)
    if po:
        h.is_(po[0].get("patrol"), pid, "patrols_open: its id")
        h.is_(sorted(m["code"] for m in po[0].get("members", [])),
              ["P001", "P002"], "patrols_open: who")
        h.is_(po[0].get("points"), 1, "patrols_open: its points")
        h.ok(po[0].get("last_point"), "patrols_open: the last point's time")
        h.is_(po[0].get("type_label"), "治安巡防", "patrols_open: type label")
    posts = s.get("duty_posts") or []
    h.is_(len(posts), 8, "summary: duty_posts lists the town and 7 villages")
    h.ok(all("covered" in x for x in posts), "duty_posts: covered or not")

    r = get("/api/v1/patrols/open").json() or {}
    h.is_([x.get("patrol") for x in r.get("patrols", [])], [pid],
          "/patrols/open: the patrol out")

    gaps = get("/api/v1/gaps").json() or {}
    missing = {x.get("village") for x in gaps.get("gaps", [])
               if x.get("kind") == "screening_missing"}
    h.ok("DK" in missing, "/gaps: a village that has not screened today")
    h.ok(gaps.get("from") < gaps.get("to"), "/gaps: yesterday and today")

    tr = get("/api/v1/trend?days=7").json() or {}
    days = tr.get("days") or []
    h.is_(len(days), 7, "/trend?days=7: seven days")
    if days:
        h.is_(days[-1].get("checkins"), n0 + 5, "/trend: today's check-ins")
        h.is_(days[-1].get("disputes_found"), 1, "/trend: today's dispute")
        h.is_(days[-1].get("patrols"), 1, "/trend: today's patrol")

    for q in ("day=%s" % s.get("from"), "week=2026-W48", "month=2026-11",
              "year=2026", "village=DK"):
        r = get("/api/v1/summary?" + q)
        h.is_(r.status, 200, "/summary?%s" % q)
    with d.authed("S001") as sc:
        r = sc.request("SUMMARY week=2026-W48") or ""
        h.like(r, r'^OK \{"from":"2026-11-23","to":"2026-11-29"',
               "SUMMARY week= over TCP: the ISO week")
        r = sc.request("SUMMARY week=2026-W48 day=2026-11-26") or ""
        h.like(r, r"^ERR bad_time", "SUMMARY: a week and a day at once")
    r = get("/api/v1/summary?village=DK").json() or {}
    h.is_(r.get("village"), "DK", "/summary?village=DK is the village's")

    dl = get("/api/v1/disputes").json() or {}
    h.is_([x.get("id") for x in dl.get("disputes", [])], [did],
          "/disputes: the open dispute")
    h.ok(all("parties" not in x or x.get("redacted")
             for x in dl.get("disputes", [])),
         "/disputes: no parties unless asked")
    dl = get("/api/v1/disputes?status=all&village=DK").json() or {}
    h.is_(dl.get("count"), 1, "/disputes?status=all&village=DK")
    audit0 = d.db().execute("SELECT count(*) FROM audit_log").fetchone()[0]
    ds = get("/api/v1/disputes/%s" % did)
    h.is_(ds.status, 200, "/disputes/<id>")
    dj = ds.json() or {}
    h.is_(dj.get("parties"), "张某某、李某某",
          "/disputes/<id>: parties for a supervisor")
    h.ok(isinstance(dj.get("history"), list) and dj["history"],
         "/disputes/<id>: with its history")
    audit1 = d.db().execute("SELECT count(*), max(peer) FROM audit_log"
                            ).fetchone()
    h.is_(audit1[0], audit0 + 1, "reading the parties is audited")
    h.like(audit1[1] or "", r"^http:127\.0\.0\.1:", "... with the HTTP peer")
    r = get("/api/v1/disputes/%s" % h.new_id())
    h.is_(r.status, 404, "/disputes/<unknown id>: 404")

    # check-ins, a page at a time
    seen = []
    path = "/api/v1/checkins?limit=2&kind=visit"
    for _ in range(10):
        r = get(path).json() or {}
        seen += [c["id"] for c in r.get("checkins", [])]
        if not r.get("next"):
            break
        path = "/api/v1/checkins?limit=2&kind=visit&after=%s" % r["next"]
    h.is_(sorted(seen), sorted(ids), "/checkins: pages hold each check-in "
          "once")
    r = get("/api/v1/checkins?village=DK&limit=500").json() or {}
    h.ok(all(c.get("village") == "DK" for c in r.get("checkins", [])) and
         r.get("count") == 5, "/checkins?village=DK", r.get("count"))

    for kind, q in (("day", ""), ("week", "?week=2026-W48"),
                    ("month", "?month=2026-11"), ("year", "?year=2026")):
        r = get("/api/v1/reports/%s%s" % (kind, q))
        j = r.json() or {}
        h.is_(r.status, 200, "/reports/%s" % kind)
        h.ok("summary" in j and (kind == "day" or "ledger" in j),
             "/reports/%s: summary%s" % (kind, "" if kind == "day" else
                                         " and ledger"))
    j = get("/api/v1/reports/month?month=2026-11").json() or {}
    h.ok("mediators" in j, "/reports/month: with the mediators' report")
    j = get("/api/v1/reports/week?week=2026-W48").json() or {}
    h.is_((j.get("summary") or {}).get("from"), "2026-11-23",
          "/reports/week: the summary covers the week")
    return jar


def test_errors(d, jar):
    def get(path, **kw):
        return curl(d, path, cookies=jar, **kw)

    cases = [
        (get("/api/v1/summary?day=2026-13-01"), 400, "bad_time"),
        (get("/api/v1/summary?bogus=1"), 400, "bad_field"),
        (get("/api/v1/summary?day=%ZZ"), 400, "syntax"),
        (get("/api/v1/trend?days=0"), 400, "bad_field"),
        (get("/api/v1/checkins?limit=9999"), 400, "bad_field"),
        (get("/api/v1/summary?village=XX"), 404, "unknown_village"),
        (get("/no/such/path"), 404, "not_found"),
        (get("/api/v1/reports/decade"), 404, "not_found"),
        (curl(d, "/api/v1/me", "DELETE", cookies=jar), 405,
         "method_not_allowed"),
        (curl(d, "/api/v1/login", "POST", data="worker=S001&token=" +
              "a" * 20000), 413, "too_large"),
    ]
    for r, status, code in cases:
        h.is_((r.status, r.code()), (status, code),
              "error %d %s" % (status, code), r.body[:200])
        h.ok(r.json() is not None, "error %d is JSON" % status)
    r = curl(d, "/api/v1/me", "DELETE", cookies=jar)
    h.like(r.header("allow") or "", r"GET", "405 says what is allowed")


def test_events(d, jar):
    argv = [CURL, "-s", "-N", "--max-time", str(15 * h.SLOW), "-b", jar,
            "http://127.0.0.1:%d/api/v1/events" % d.http_port]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
    try:
        first = proc.stdout.readline().decode()
        h.like(first, r"^retry: ", "/events: a server-sent event stream")
        g = d.authed("G002")
        r = g.request("CHECKIN grid=DK-02 kind=visit")
        g.close()
        h.like(r or "", r"^OK ", "a check-in during the stream")
        got = ""
        end = time.monotonic() + 10 * h.SLOW
        while time.monotonic() < end and not re.search(
                r"event: update\ndata: .*\n", got):
            line = proc.stdout.readline().decode()
            if not line:
                break
            got += line
        h.like(got, r"event: update\ndata: \{\"seq\": \d+",
               "/events: an update follows the commit")
    finally:
        proc.kill()
        proc.wait()


def test_metrics(d):
    r = curl(d, "/healthz")
    j = r.json() or {}
    h.is_((r.status, j.get("status"), j.get("database"), j.get("writer")),
          (200, "ok", "ok", "ok"), "/healthz: all well", r.body)
    r = curl(d, "/metrics")
    h.is_(r.status, 200, "/metrics answers")
    h.like(r.header("content-type") or "", r"^text/plain; version=0\.0\.4",
           "/metrics is the Prometheus text format")
    m = re.search(r'^pingan_records_stored_total\{kind="visit"\} (\d+)$',
                  r.body, re.M)
    h.is_(int(m.group(1)) if m else None, 6,
          "/metrics: the visits stored are counted")
    h.like(r.body, r'pingan_commit_duration_seconds_bucket\{le="\+Inf"\} '
           r'[1-9]', "/metrics: commit latency histogram")
    h.like(r.body, r'pingan_checkpoints_total\{wal="database"\} \d+\n'
           r'pingan_checkpoints_total\{wal="ids"\} \d+',
           "/metrics: checkpoint passes by WAL")
    h.like(r.body, r'pingan_wal_restarts_total\{wal="database"\} \d+',
           "/metrics: WAL restarts")
    h.like(r.body, r'pingan_http_requests_total\{route="/api/v1/summary",'
           r'status="200"\} [1-9]', "/metrics: HTTP requests by route")
    h.like(r.body, r'pingan_replies_total\{code="OK"\} [1-9]',
           "/metrics: replies by code")
    if PROMTOOL is None:
        h.skip("promtool check metrics", "promtool not installed")
        return
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=r.body.encode(),
                       capture_output=True, timeout=60)
    h.is_(p.returncode, 0, "promtool check metrics passes",
          p.stdout.decode()[-2000:], p.stderr.decode()[-2000:])


def main():
    if CURL is None:
        h.ok(False, "curl is installed (tools/test installs it)")
        return
    tmp = h.TMP
    d = h.Daemon()
    h.ok(d.http_port, "the dashboard listens on an ephemeral port")
    test_page(d)
    test_auth(d, d.dir)
    test_password(d, d.dir)
    test_expiry(d.dir)
    test_throttle(d.dir)
    jar = test_endpoints(d, d.dir)
    test_errors(d, jar)
    test_events(d, jar)
    test_metrics(d)
    rc = d.stop()
    h.is_(rc, 0, "pingand stops cleanly with the dashboard open")
    d.cleanup(keep=h.failed())
    del tmp


h.main(main)
