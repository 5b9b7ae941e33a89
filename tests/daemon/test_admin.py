#!/usr/bin/env python3
"""
test_admin.py: the roster through `pingan admin` over the UNIX socket:
villages, grids, workers, tokens, CSV import, sessions cut by a revoke or a
disable, and a peer that is not allowed.
"""

import os
import shutil
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_, like  # noqa: E402


def by_code(rows):
    return {r.get("code"): r for r in rows}


def listing(d, what, *args):
    rc, out, err = d.admin(what, "--raw", *args)
    if rc != 0:
        h.diag("%s --raw: rc %r: %s" % (what, rc, err.strip()))
    return by_code(h.data_lines(out))


def test_roster(d):
    rc, out, err = d.admin("village-list", "--raw")
    is_((rc, out.strip()), (0, ""), "an empty database has no villages", err)
    rc, out, err = d.admin("village-add", "--code", "DK", "--name", "东坑村")
    is_(rc, 0, "village-add DK 东坑村", err)
    rc, out, err = d.admin("village-add", "--code", "ZD", "--name", "樟斗社区")
    is_(rc, 0, "village-add ZD", err)
    v = listing(d, "village-list")
    is_(v.get("DK", {}).get("name"), "东坑村", "village-list shows DK")
    is_(sorted(v), ["DK", "ZD"], "village-list shows both villages")

    rc, out, err = d.admin("village-add", "--code", "DK", "--name", "东坑村委会")
    is_(rc, 0, "village-add on an existing code renames", err)
    is_(listing(d, "village-list").get("DK", {}).get("name"), "东坑村委会",
        "the new name is listed")

    rc, out, err = d.admin("grid-add", "--code", "DK-01", "--village", "DK",
                           "--name", "东坑村 第一网格")
    is_(rc, 0, "grid-add DK-01 (a name with a space)", err)
    g = listing(d, "grid-list")
    is_((g.get("DK-01", {}).get("village"), g.get("DK-01", {}).get("name")),
        ("DK", "东坑村 第一网格"), "grid-list shows DK-01 in DK")
    is_(listing(d, "village-list").get("DK", {}).get("grids"), "1",
        "village-list counts the grid")

    rc, out, err = d.admin("grid-add", "--code", "QQ-01", "--village", "QQ",
                           "--name", "无此村")
    is_(rc, 1, "grid-add in an unknown village: exit 1", out, err)
    like(err + out, r"not_found|conflict", "and says why")

    rc, out, err = d.admin("worker-add", "--code", "T001", "--name", "张三",
                           "--role", "patrol", "--team", "police",
                           "--village", "DK")
    is_(rc, 0, "worker-add T001 patrol police", err)
    rc, out, err = d.admin("worker-add", "--code", "T002", "--name", "李四",
                           "--role", "调解员")
    is_(rc, 0, "worker-add with a Chinese role name", err)
    rc, out, err = d.admin("worker-add", "--code", "T003", "--name", "王五",
                           "--role", "astronaut")
    is_(rc, 1, "worker-add with an unknown role: exit 1", out, err)
    w = listing(d, "worker-list")
    t1 = w.get("T001", {})
    is_((t1.get("name"), t1.get("role"), t1.get("team"), t1.get("village")),
        ("张三", "patrol", "police", "DK"), "worker-list shows T001")
    is_(w.get("T002", {}).get("role"), "mediator",
        "调解员 is stored as mediator")
    ok("T003" not in w, "the refused worker is not listed")

    rc, out, err = d.admin("token-issue", "--worker", "NOPE")
    is_(rc, 1, "token-issue for an unknown worker: exit 1", out, err)
    like(err + out, r"not_found", "not_found")


def issue(d, worker):
    rc, out, err = d.admin("token-issue", "--worker", worker)
    tok = out.strip().splitlines()[-1].strip() if out.strip() else ""
    if tok.startswith("token="):
        tok = h.parse_fields(tok).get("token", tok)
    ok(rc == 0 and tok and " " not in tok,
       "token-issue --worker %s prints a token" % worker, out, err)
    return tok


def test_tokens(d):
    tok = issue(d, "T001")
    ok(len(tok) >= 22, "the token carries at least 128 bits", tok)
    c = d.conn()
    is_(c.request("AUTH T001 %s" % tok), "OK T001 patrol",
        "AUTH with the issued token")
    c.close()
    rc, out, err = d.client("checkin", "--grid", "DK-01", "--kind", "patrol",
                            worker="T001", token=tok)
    is_(rc, 0, "a check-in with the issued token", err)

    tok2 = issue(d, "T001")
    ok(tok2 != tok, "a second token differs")
    rows = h.data_lines(d.admin("token-list", "--worker", "T001", "--raw")[1])
    is_(len(rows), 2, "token-list shows two tokens")
    ok(all(tok not in str(r) for r in rows), "token-list never shows a token")
    if len(rows) == 2:
        first = rows[0].get("id")
        rc, out, err = d.admin("token-revoke", "--worker", "T001", "--id",
                               first)
        is_(rc, 0, "token-revoke --id the first", err)
        c = d.conn()
        like(c.request("AUTH T001 %s" % tok), r"^ERR auth_failed ",
             "the revoked token: auth_failed")
        is_(c.request("AUTH T001 %s" % tok2), "OK T001 patrol",
            "the other token still works")
        c.close()
        rows = h.data_lines(d.admin("token-list", "--worker", "T001",
                                    "--raw")[1])
        revoked = [r for r in rows if r.get("revoked") not in
                   (None, "", "0", "-", "no")]
        is_(len(revoked), 1, "token-list marks one revoked", rows)

    rc, out, err = d.admin("token-revoke", "--worker", "T001")
    is_(rc, 0, "token-revoke --worker (all)", err)
    c = d.conn()
    like(c.request("AUTH T001 %s" % tok2), r"^ERR auth_failed ",
         "after revoking all: auth_failed")
    c.close()
    rc, out, err = d.client("checkin", "--grid", "DK-01", "--kind", "patrol",
                            worker="T001", token=tok2)
    is_(rc, 1, "the client with a revoked token: exit 1", err)


def test_forbidden(d):
    before = h.checkin_count(d.db_path)

    # A session whose token is revoked while it is open.
    tok = issue(d, "T001")
    c = d.conn()
    is_(c.request("AUTH T001 %s" % tok), "OK T001 patrol", "T001 connected")
    rc, out, err = d.admin("token-revoke", "--worker", "T001")
    is_(rc, 0, "revoke T001's tokens while it is connected", err)
    lines = []
    try:
        c.send("CHECKIN grid=DK-01 kind=patrol note=撤销之后\n")
    except OSError:
        pass
    lines = c.readlines(3, timeout=5)
    ok(any(x.startswith("ERR forbidden ") for x in lines),
       "revoked since AUTH: ERR forbidden", lines)
    ok(not any(x.startswith("OK ") for x in lines), "and nothing stored", lines)
    ok(c.closed_by_peer(), "and the connection is closed")
    c.close()

    # A session whose worker is disabled while it is open.
    tok = issue(d, "T002")
    c = d.conn()
    is_(c.request("AUTH T002 %s" % tok), "OK T002 mediator", "T002 connected")
    rc, out, err = d.admin("worker-disable", "--code", "T002")
    is_(rc, 0, "worker-disable T002 while it is connected", err)
    try:
        c.send("CHECKIN grid=DK-01 kind=mediation note=停用之后\n")
    except OSError:
        pass
    lines = c.readlines(3, timeout=5)
    ok(any(x.startswith("ERR forbidden ") for x in lines),
       "disabled since AUTH: ERR forbidden", lines)
    ok(c.closed_by_peer(), "and the connection is closed")
    c.close()
    is_(h.checkin_count(d.db_path), before, "neither check-in was stored")

    w = listing(d, "worker-list")
    ok(w.get("T002", {}).get("disabled") not in (None, "", "0", "no"),
       "worker-list shows T002 disabled", w.get("T002"))
    c = d.conn()
    like(c.request("AUTH T002 %s" % tok), r"^ERR auth_failed ",
         "a disabled worker: auth_failed")
    rc, out, err = d.admin("worker-enable", "--code", "T002")
    is_(rc, 0, "worker-enable T002", err)
    is_(c.request("AUTH T002 %s" % tok), "OK T002 mediator",
        "enabled again: its token works")
    c.close()

    rc, out, err = d.admin("worker-disable", "--code", "NOPE")
    is_(rc, 1, "worker-disable of an unknown worker: exit 1", out, err)


def write(path, text, bom=False, crlf=False):
    if crlf:
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    if bom:
        data = b"\xef\xbb\xbf" + data
    with open(path, "wb") as f:
        f.write(data)
    return path


def snapshot(d):
    return (listing(d, "village-list"), listing(d, "grid-list"),
            listing(d, "worker-list"))


def test_import(d):
    villages = write(os.path.join(d.dir, "villages.csv"),
                     "名称,编号\n"
                     "长江村,CJ\n"
                     "\"河洲村,老村\",HZ\n"
                     "\"田心\"\"村\"\"\",TX\n",
                     bom=True, crlf=True)
    grids = write(os.path.join(d.dir, "grids.csv"),
                  "编号,村(居),名称\n"
                  "CJ-01,CJ,长江村第一网格\n"
                  "CJ-02,CJ,长江村第二网格\n"
                  "HZ-01,HZ,河洲村第一网格\n",
                  bom=True, crlf=True)
    workers = write(os.path.join(d.dir, "workers.csv"),
                    "编号,姓名,角色,队伍,村(居),电话\n"
                    "W001,赵六,巡防队员,执法队,CJ,13800000001\n"
                    "W002,钱七,网格员,,HZ,\n"
                    "W003,孙八,patrol,volunteer,,13800000003\n",
                    bom=True, crlf=True)
    for what, path in (("villages", villages), ("grids", grids),
                       ("workers", workers)):
        rc, out, err = d.admin("import", what, path)
        is_(rc, 0, "import %s (Chinese header, BOM, CRLF)" % what, out, err)

    v, g, w = snapshot(d)
    is_(v.get("HZ", {}).get("name"), "河洲村,老村", "a quoted comma")
    is_(v.get("TX", {}).get("name"), '田心"村"', "a doubled quote")
    is_(v.get("CJ", {}).get("name"), "长江村", "no BOM or CR in the data")
    is_(g.get("CJ-02", {}).get("village"), "CJ", "grids imported")
    w1 = w.get("W001", {})
    is_((w1.get("name"), w1.get("role"), w1.get("team"), w1.get("village"),
         w1.get("phone")), ("赵六", "patrol", "enforcement", "CJ",
                            "13800000001"), "workers imported, roles mapped")
    is_(w.get("W002", {}).get("role"), "grid", "网格员 is grid")

    tables = ("village", "grid", "worker")
    rows = [h.table_rows(d.db_path, t) for t in tables]
    for what, path in (("villages", villages), ("grids", grids),
                       ("workers", workers)):
        rc, out, err = d.admin("import", what, path)
        is_(rc, 0, "re-import %s" % what, out, err)
    is_(snapshot(d), (v, g, w), "re-importing changes nothing")
    for t, before in zip(tables, rows):
        after = h.table_rows(d.db_path, t)
        is_(after, before, "re-importing leaves table %s as it was" % t)

    # English headers in another order, LF, no BOM: updates and additions.
    more = write(os.path.join(d.dir, "more.csv"),
                 "name,code\n长江村委,CJ\n新村,XC\n")
    rc, out, err = d.admin("import", "villages", more)
    is_(rc, 0, "import with English headers", out, err)
    v2 = listing(d, "village-list")
    is_((v2.get("CJ", {}).get("name"), v2.get("XC", {}).get("name")),
        ("长江村委", "新村"), "existing codes updated, new ones added")

    # One bad line refuses the whole file.
    before = snapshot(d)
    bad = write(os.path.join(d.dir, "bad.csv"),
                "编号,姓名,角色,队伍,村(居),电话\n"
                "W101,周九,巡防队员,应急队,CJ,\n"
                "W102,吴十,飞行员,,CJ,\n"
                "W103,郑一,网格员,,NOWHERE,\n"
                "W001,赵六改名,巡防队员,执法队,CJ,\n",
                bom=True, crlf=True)
    rc, out, err = d.admin("import", "workers", bad)
    is_(rc, 1, "a CSV with bad lines: exit 1", out, err)
    like(out + err, r"line=3", "the refusal names line 3")
    like(out + err, r"line=4", "and line 4")
    is_(snapshot(d), before, "a CSV with a bad line imports nothing")
    ok("W101" not in before[2], "(W101, on a good line, was new)")

    bad = write(os.path.join(d.dir, "badhdr.csv"), "编号,颜色\nAA,红\n")
    rc, out, err = d.admin("import", "villages", bad)
    is_(rc, 1, "a CSV without the needed columns: exit 1", out, err)
    bad = write(os.path.join(d.dir, "badquote.csv"),
                "code,name\nQA,\"unterminated\n")
    rc, out, err = d.admin("import", "villages", bad)
    is_(rc, 1, "a CSV with an open quote: exit 1", out, err)
    bad = os.path.join(d.dir, "badutf8.csv")
    with open(bad, "wb") as f:
        f.write(b"code,name\nQB,\xff\xfe\n")
    rc, out, err = d.admin("import", "villages", bad)
    is_(rc, 1, "a CSV that is not UTF-8: exit 1", out, err)
    is_(snapshot(d), before, "none of them changed anything")


def test_raw_admin(d):
    # The admin socket speaks the protocol too: a raw session over it.
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10 * h.SLOW)
    s.connect(d.sock_path)
    f = s.makefile("rwb")
    greeting = f.readline().decode().rstrip("\r\n")
    like(greeting, r"^OK pingan/1 pingand/\S+ ready$", "admin greeting")
    f.write(b"PING\n")
    f.flush()
    is_(f.readline().decode().rstrip("\r\n"), "OK PONG", "admin PING")
    body = "code,name\nRW,原始村\n".encode()
    f.write(b"IMPORT what=villages bytes=%d\n" % len(body) + body +
            b"VILLAGE-LIST\n")
    f.flush()
    r = f.readline().decode().rstrip("\r\n")
    like(r, r"^OK", "raw IMPORT with bytes=")
    lines = []
    while True:
        x = f.readline().decode()
        if not x:
            break
        x = x.rstrip("\r\n")
        lines.append(x)
        if not x.startswith("* "):
            break
    ok(any("code=RW" in x for x in lines) and lines[-1].startswith("OK"),
       "pipelined VILLAGE-LIST after the body sees it", lines)
    f.write(b"FROB\nQUIT\n")
    f.flush()
    like(f.readline().decode(), r"^ERR unknown_command ", "admin: unknown verb")
    is_(f.readline().decode().rstrip("\r\n"), "OK bye", "admin QUIT")
    s.close()


def traversable_by_others(path):
    """True when every directory above path can be searched by anyone."""
    p = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(p).st_mode & stat.S_IXOTH:
            return False
        if p == "/":
            return True
        p = os.path.dirname(p)


def test_peer_refused():
    if os.geteuid() != 0:
        h.skip("the admin socket refuses a peer that is not allowed",
               "needs root to run the client as nobody")
        return
    if shutil.which("setpriv") is None:
        h.skip("the admin socket refuses a peer that is not allowed",
               "no setpriv")
        return
    # A directory that user nobody can reach, holding the socket and a copy
    # of the client (the build dir may lie under a private home).
    pub = tempfile.mkdtemp(prefix="pingan-pub-")
    os.chmod(pub, 0o755)
    if not traversable_by_others(os.path.join(pub, "x")):
        h.skip("the admin socket refuses a peer that is not allowed",
               "%s is not reachable by others" % pub)
        shutil.rmtree(pub, ignore_errors=True)
        return
    d = h.Daemon(demo=False, sock_dir=pub,
                 config={"admin_socket_mode": "0666"})
    os.chmod(d.dir, 0o755)
    client = os.path.join(pub, "pingan")
    shutil.copy2(h.PINGAN, client)
    os.chmod(client, 0o755)
    mode = stat.S_IMODE(os.stat(d.sock_path).st_mode)
    is_(oct(mode), oct(0o666), "admin_socket_mode 0666 is applied")

    env = h.clean_env(pub)
    base = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            client, "--admin-socket", d.sock_path, "--timeout", "10"]
    rc, out, err = h.run(base + ["admin", "village-add", "--code", "NB",
                                 "--name", "不许"], env=env)
    ok(rc not in (0, None), "user nobody: pingan admin fails", rc, out, err)
    like(err, r"forbidden", "with forbidden in stderr")
    rc, out, err = h.run(base + ["admin", "village-list"], env=env)
    ok(rc not in (0, None) and "forbidden" in err,
       "user nobody: village-list is refused too", rc, out, err)
    rc, out, err = d.admin("village-list", "--raw")
    is_((rc, out.strip()), (0, ""), "root still gets in; nothing was added")
    is_(d.stop(), 0, "SIGTERM: exit 0 (peer daemon)")
    d.cleanup(keep=h.failed() > 0)
    shutil.rmtree(pub, ignore_errors=True)


def main():
    d = h.Daemon(demo=False)
    test_roster(d)
    test_tokens(d)
    test_forbidden(d)
    test_import(d)
    test_raw_admin(d)
    ok(d.alive(), "pingand is still running")
    rc = d.stop()
    is_(rc, 0, "SIGTERM: exit 0")
    if rc != 0:
        d.dump_log()
    d.cleanup(keep=h.failed() > 0)
    test_peer_refused()


h.main(main)
