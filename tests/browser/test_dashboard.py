#!/usr/bin/env python3
"""
test_dashboard.py: the supervisors' dashboard in real headless Chromium.

Starts pingand with the demo town and its HTTP server on an ephemeral
port, makes today's state through the real client (东坑村 DK screens all
its grids, 和平村 HP does not, a few check-ins), then runs dashboard.mjs
with node: playwright-core drives Debian's chromium to log in with the
supervisor's worker code and token, read today's check-in count, send one
more check-in with the real client and see the count grow on the page
without a reload, find HP (and not DK) among today's gaps, check the
phone layout, the absence of console errors and CSP violations, and save
full-page screenshots (their paths are printed) as the test's artefacts.

Needs node, /usr/bin/chromium and playwright-core in PINGAN_NODE_MODULES
or, without it, in <build>/browser-node/node_modules (tools/test installs
all three).  Without them the test is skipped, unless
PINGAN_BROWSER_REQUIRED=1 (tools/test sets it): then it fails.
"""

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "daemon"))
import harness as h  # noqa: E402
from harness import ok, is_, diag  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "dashboard.mjs")
NODE_MODULES = (os.environ.get("PINGAN_NODE_MODULES") or
                os.environ.get("PINGAN_NODE_MODULES_DEFAULT", ""))
CHROMIUM = os.environ.get("PINGAN_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("PINGAN_BROWSER_REQUIRED") == "1"
SHOT_DIR = os.path.join(h.TMP, "browser-artefacts")

SUPERVISOR = "S001"
SCREENED = "DK"		# screens every grid today
SILENT = "HP"		# does not: a gap of today


def missing_tools():
    """What the browser run needs and this machine lacks."""
    lack = []
    if shutil.which("node") is None:
        lack.append("node")
    if not os.access(CHROMIUM, os.X_OK):
        lack.append(CHROMIUM)
    if not NODE_MODULES or not os.path.isfile(
            os.path.join(NODE_MODULES, "playwright-core", "package.json")):
        lack.append("playwright-core in PINGAN_NODE_MODULES (%r)" %
                    NODE_MODULES)
    return lack


def start_daemon():
    """pingand with the demo town and its HTTP server on port 0.

    The harness always writes `http_port 0`, finds the port pingand logs
    ("dashboard at http://...") and sets d.http_port.
    """
    return h.Daemon()


def http_get(port, path, timeout=5):
    """(status, headers, body) of a GET on pingand's HTTP port."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path))
    try:
        with urllib.request.urlopen(req, timeout=timeout * h.SLOW) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except OSError as e:
        return None, None, str(e).encode()


def make_today(d):
    """DK screens all three grids; HP nothing; three check-ins."""
    for g in ("01", "02", "03"):
        rc, out, err = d.client("screening", "--id", h.new_id(), "--grid",
                                "%s-%s" % (SCREENED, g), "--zero",
                                worker="G002")
        is_(rc, 0, "G002 sends the zero report of %s-%s" % (SCREENED, g),
            out, err)
    for kind in ("patrol", "visit", "other"):
        rc, out, err = d.client("checkin", "--id", h.new_id(), "--grid",
                                "ZD-01", "--kind", kind, worker="P001")
        is_(rc, 0, "P001 checks in (%s)" % kind, out, err)


def run_browser(d):
    """Runs dashboard.mjs; turns its lines into test points."""
    argv = d.client_argv(["checkin", "--id", h.new_id(), "--grid", "DK-01",
                          "--kind", "patrol", "--note", "浏览器测试"],
                         worker="P001")
    env = h.clean_env(d.home)
    env.update({
        "PINGAN_URL": "http://127.0.0.1:%d/" % d.http_port,
        "PINGAN_LOGIN_WORKER": SUPERVISOR,
        "PINGAN_LOGIN_TOKEN": d.creds[SUPERVISOR],
        "PINGAN_CHECKIN_ARGV": json.dumps(argv),
        "PINGAN_EXPECT_MISSING": SILENT,
        "PINGAN_EXPECT_SCREENED": SCREENED,
        "PINGAN_SHOT_DIR": SHOT_DIR,
        "PINGAN_NODE_MODULES": NODE_MODULES,
        "PINGAN_CHROMIUM": CHROMIUM,
        "PINGAN_BROWSER_TIMEOUT": str(120 * h.SLOW),
    })
    rc, out, err = h.run(["node", SCRIPT], timeout=150, env=env)
    checks = 0
    for line in out.splitlines():
        if line.startswith("pass "):
            ok(True, line[5:])
            checks += 1
        elif line.startswith("fail "):
            name, _, detail = line[5:].partition(": ")
            ok(False, name, detail)
            checks += 1
        elif line.startswith("shot "):
            path = line[5:]
            diag("screenshot: %s" % path)
            ok(os.path.isfile(path) and os.path.getsize(path) > 10000,
               "the screenshot %s is saved" % os.path.basename(path))
        else:
            diag(line[2:] if line.startswith("# ") else line)
    ok(checks >= 20, "dashboard.mjs made its checks (%d)" % checks,
       *err.splitlines()[-20:])
    is_(rc, 0, "dashboard.mjs exits 0", *err.splitlines()[-20:])


def test_dashboard():
    lack = missing_tools()
    if lack:
        if REQUIRED:
            ok(False, "the browser test has what it needs", *lack)
        else:
            h.skip("the dashboard in Chromium", "missing: " +
                   ", ".join(lack))
        return
    d = start_daemon()
    ok(getattr(d, "http_port", None), "pingand serves HTTP on a port")
    status = None
    end = time.monotonic() + 10 * h.SLOW
    while time.monotonic() < end:
        status, _, _ = http_get(d.http_port, "/healthz")
        if status == 200:
            break
        time.sleep(0.1)
    is_(status, 200, "GET /healthz answers 200")

    status, headers, body = http_get(d.http_port, "/")
    is_(status, 200, "GET / answers 200")
    ok(headers is not None and headers.get("Content-Type", "").startswith(
        "text/html") and b"/app.js" in body, "... with the page")

    make_today(d)
    before = h.checkin_count(d.db_path)
    run_browser(d)
    is_(h.checkin_count(d.db_path), before + 1,
        "the check-in the page counted is stored")
    is_(d.stop(), 0, "pingand exits 0 on SIGTERM")


if __name__ == "__main__":
    h.main(test_dashboard)
