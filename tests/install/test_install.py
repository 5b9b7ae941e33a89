#!/usr/bin/env python3
"""
test_install.py: `meson install --destdir` into a temporary root and a
check of the installed tree (binaries, the default configuration with the
/var/lib/pingan and /run/pingan paths, systemd units, sysusers.d and
tmpfiles.d entries, man pages when scdoc was found); then
`systemd-analyze verify` on every unit and `systemd-analyze security
--offline=true` on pingand.service, whose overall exposure must be 2.0 or
lower.

The paths come from meson in the environment: PINGAN_BUILD_ROOT, and
PINGAN_INSTALL_* for the directories (absolute, before DESTDIR).
systemd-analyze needs no running systemd; without it those points are
skipped.  verify needs the ExecStart binaries to exist, so it runs on
copies of the installed units whose Exec lines point into the temporary
root.
"""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "daemon"))
import harness as h  # noqa: E402
from harness import ok, is_, like, skip  # noqa: E402

ENV = os.environ
PREFIX = ENV["PINGAN_INSTALL_PREFIX"]
BINDIR = ENV["PINGAN_INSTALL_BINDIR"]
SBINDIR = ENV["PINGAN_INSTALL_SBINDIR"]
SYSCONFDIR = ENV["PINGAN_INSTALL_SYSCONFDIR"]
MANDIR = ENV["PINGAN_INSTALL_MANDIR"]
UNITDIR = ENV["PINGAN_INSTALL_UNITDIR"]
SYSUSERSDIR = ENV["PINGAN_INSTALL_SYSUSERSDIR"]
TMPFILESDIR = ENV["PINGAN_INSTALL_TMPFILESDIR"]
HAVE_SCDOC = ENV.get("PINGAN_HAVE_SCDOC") == "true"
UNITS = ["pingand.service", "pingan-report.service", "pingan-report.timer"]
MAX_EXPOSURE = 2.0


def inroot(root, path):
    return os.path.join(root, path.lstrip("/"))


def executable(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def check_tree(root):
    for p in (os.path.join(SBINDIR, "pingand"), os.path.join(BINDIR, "pingan")):
        ok(executable(inroot(root, p)), "installed: %s" % p)

    conf = inroot(root, os.path.join(SYSCONFDIR, "pingan", "pingand.conf"))
    ok(os.path.isfile(conf), "installed: the default configuration")
    text = open(conf, encoding="utf-8").read() if os.path.isfile(conf) else ""
    like(text, r"(?m)^database /var/lib/pingan/pingand\.db$",
         "the installed conf: database in /var/lib/pingan")
    like(text, r"(?m)^admin_socket /run/pingan/pingand\.sock$",
         "the installed conf: admin socket in /run/pingan")
    ok(not re.search(r"(?m)^[a-z_]+ var/", text),
       "the installed conf: no path left in the development tree (var/)")
    rc, out, err = h.run([inroot(root, os.path.join(SBINDIR, "pingand")),
                          "-n", "-f", conf])
    is_((rc, out.strip()), (0, "configuration OK"),
        "the installed pingand accepts the installed conf", err)

    for u in UNITS:
        p = inroot(root, os.path.join(UNITDIR, u))
        ok(os.path.isfile(p), "installed: %s/%s" % (UNITDIR, u))
        if os.path.isfile(p):
            text = open(p, encoding="utf-8").read()
            ok(re.search(r"@[a-z_]+@", text) is None,
               "%s: every @var@ is rendered" % u)
    unit = inroot(root, os.path.join(UNITDIR, "pingand.service"))
    if os.path.isfile(unit):
        text = open(unit, encoding="utf-8").read()
        like(text, r"(?m)^ExecStart=%s -f %s$" % (
            re.escape(os.path.join(SBINDIR, "pingand")),
            re.escape(os.path.join(SYSCONFDIR, "pingan", "pingand.conf"))),
            "pingand.service runs the installed pingand on the installed conf")

    p = inroot(root, os.path.join(SYSUSERSDIR, "pingan.conf"))
    text = open(p).read() if os.path.isfile(p) else ""
    like(text, r"(?m)^u pingan ", "installed: sysusers.d entry for pingan")
    p = inroot(root, os.path.join(TMPFILESDIR, "pingan.conf"))
    text = open(p).read() if os.path.isfile(p) else ""
    like(text, r"(?m)^d /var/lib/pingan 0750 pingan pingan",
         "installed: tmpfiles.d entry for /var/lib/pingan")
    like(text, r"(?m)^d /var/lib/pingan/reports 0750 pingan pingan",
         "installed: tmpfiles.d entry for /var/lib/pingan/reports")

    pages = ["man8/pingand.8", "man5/pingand.conf.5", "man1/pingan.1",
             "man1/pingan-report.1"]
    for page in pages:
        p = inroot(root, os.path.join(MANDIR, page))
        if not HAVE_SCDOC:
            skip("installed: %s" % page, "scdoc was not found at setup")
            continue
        good = os.path.isfile(p) and os.path.getsize(p) > 0
        if good:
            head = open(p, encoding="utf-8").read(4096)
            good = ".TH" in head and ".SH NAME" in head.upper()
        ok(good, "installed: %s (a man page)" % page)


def verify_units(root, analyze, work):
    """Runs systemd-analyze verify on copies pointing into the root."""
    exec_re = re.compile(r"(?m)^(Exec[A-Za-z]*=[-@!+:]*)(%s/)" %
                         re.escape(PREFIX.rstrip("/")))
    for u in UNITS:
        src = inroot(root, os.path.join(UNITDIR, u))
        if not os.path.isfile(src):
            ok(False, "systemd-analyze verify %s: not installed" % u)
            continue
        text = open(src, encoding="utf-8").read()
        text = exec_re.sub(lambda m: m.group(1) + inroot(root, m.group(2)),
                           text)
        with open(os.path.join(work, u), "w", encoding="utf-8") as f:
            f.write(text)
    for u in UNITS:
        if u == "pingan-report.service" and not executable(
                inroot(root, os.path.join(BINDIR, "pingan-report"))):
            skip("systemd-analyze verify %s" % u,
                 "pingan-report is not built in this tree")
            continue
        p = os.path.join(work, u)
        if not os.path.isfile(p):
            continue
        rc, out, err = h.run([analyze, "verify", "--man=no", p], timeout=60)
        ok(rc == 0 and err.strip() == "",
           "systemd-analyze verify %s: clean" % u,
           "exit %r" % rc, *(out + err).splitlines())


def security(root, analyze):
    unit = inroot(root, os.path.join(UNITDIR, "pingand.service"))
    rc, out, err = h.run([analyze, "security", "--offline=true", unit],
                         timeout=60)
    m = re.search(r"Overall exposure level for pingand\.service:\s*"
                  r"([0-9]+(?:\.[0-9]+)?)", out + err)
    ok(m is not None, "systemd-analyze security reports an overall exposure",
       "exit %r" % rc, *(out + err).splitlines()[-5:])
    if m:
        level = float(m.group(1))
        ok(level <= MAX_EXPOSURE,
           "pingand.service: overall exposure %.1f <= %.1f" %
           (level, MAX_EXPOSURE),
           *[l for l in out.splitlines() if "✗" in l])


def test():
    work = tempfile.mkdtemp(prefix="pingan-install-", dir=h.TMP)
    root = os.path.join(work, "root")
    rc, out, err = h.run(["meson", "install", "-C", ENV["PINGAN_BUILD_ROOT"],
                          "--no-rebuild", "--quiet", "--destdir", root],
                         timeout=120)
    if not ok(rc == 0, "meson install --destdir: exit 0", "exit %r" % rc,
              *(out + err).splitlines()[-20:]):
        return
    check_tree(root)
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        skip("systemd-analyze verify", "systemd-analyze is not installed")
        skip("systemd-analyze security", "systemd-analyze is not installed")
    else:
        units = os.path.join(work, "units")
        os.mkdir(units)
        verify_units(root, analyze, units)
        security(root, analyze)
    if not h.failed():
        shutil.rmtree(work, ignore_errors=True)


h.main(test)
