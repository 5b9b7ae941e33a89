"""
harness.py: what the daemon tests share (standard library only).

A TAP emitter (ok, is_, skip, diag, done) and a Daemon class that runs the
real pingand on an ephemeral loopback port with a temporary database and
drives it with the real pingan client or with raw sockets.

The binaries come from the environment: PINGAND, PINGAN, and PINGAN_TEST_TMP
(where temporary directories go).  Every wait is bounded: a daemon that
hangs is killed with SIGKILL and the test fails instead of hanging.

With PINGAN_VALGRIND=1 every pingand the harness starts runs under
valgrind (memcheck), its report in a file of its own; each run of the
daemon then adds a test point that fails when valgrind reported anything
or pingand exited 99 (valgrind's --error-exitcode), and every timeout is
stretched tenfold.  tools/test --valgrind runs the daemon suite that way.
"""

import atexit
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

PINGAND = os.environ.get("PINGAND", "")
PINGAN = os.environ.get("PINGAN", "")
TMP = os.environ.get("PINGAN_TEST_TMP") or tempfile.gettempdir()

# Under valgrind (PINGAN_VALGRIND=1) pingand runs 10-50 times slower.
VALGRIND = os.environ.get("PINGAN_VALGRIND", "") == "1"
VALGRIND_EXIT = 99
_SUPP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                     "valgrind.supp")

# Sanitizer builds and valgrind run slower; stretch the timeouts there.
if VALGRIND:
    SLOW = 10
elif "ASAN_OPTIONS" in os.environ or "UBSAN_OPTIONS" in os.environ:
    SLOW = 3
else:
    SLOW = 1

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# ---- TAP ------------------------------------------------------------------

_n = 0
_failed = 0
_done = False
_daemons = []


def diag(msg):
    """Prints a TAP comment (every line prefixed with '# ')."""
    for line in str(msg).splitlines() or [""]:
        print("# " + line, flush=True)


def ok(cond, name, *diags):
    """Reports one test point; extra arguments are printed on failure."""
    global _n, _failed
    _n += 1
    name = str(name).replace("\n", " ").replace("#", "\\#")
    if cond:
        print("ok %d - %s" % (_n, name), flush=True)
    else:
        _failed += 1
        print("not ok %d - %s" % (_n, name), flush=True)
        for fr in reversed(traceback.extract_stack()):
            if os.path.basename(fr.filename) != "harness.py":
                diag("  failed at %s:%d" % (os.path.basename(fr.filename),
                                           fr.lineno))
                break
        for d in diags:
            diag("  " + str(d))
    return bool(cond)


def is_(got, want, name, *diags):
    """Reports whether got == want, showing both on failure."""
    return ok(got == want, name, "got:  %r" % (got,), "want: %r" % (want,),
              *diags)


def like(got, pattern, name, *diags):
    """Reports whether the regular expression matches got (re.search)."""
    good = got is not None and re.search(pattern, got) is not None
    return ok(good, name, "got:  %r" % (got,), "want: /%s/" % pattern, *diags)


def skip(name, reason):
    """Reports one skipped test point."""
    global _n
    _n += 1
    print("ok %d - %s # SKIP %s" % (_n, name, reason), flush=True)


def failed():
    return _failed


def done():
    """Prints the plan, stops what is still running and exits."""
    global _done
    if _done:
        return
    _done = True
    _cleanup()
    print("1..%d" % _n, flush=True)
    sys.stdout.flush()
    os._exit(1 if _failed else 0)


def main(fn):
    """Runs fn(); an exception is reported as a failed test point."""
    if not PINGAND or not PINGAN:
        print("Bail out! PINGAND and PINGAN must name the binaries", flush=True)
        sys.exit(1)
    try:
        fn()
    except Exception:
        ok(False, "the test script ran to its end",
           *traceback.format_exc().splitlines())
        for d in _daemons:
            d.dump_log()
    done()


def _cleanup():
    for d in list(_daemons):
        d.cleanup(keep=_failed > 0)


atexit.register(_cleanup)

# ---- helpers --------------------------------------------------------------


def new_id():
    return str(uuid.uuid4())


def parse_fields(line):
    """Parses 'key=value key="quoted value"' into a dict (protocol quoting)."""
    out = {}
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i >= n:
            break
        j = i
        while j < n and line[j] not in "= ":
            j += 1
        key = line[i:j]
        if j >= n or line[j] != "=":
            out[key] = None
            i = j
            continue
        j += 1
        if j < n and line[j] == '"':
            j += 1
            val = []
            while j < n and line[j] != '"':
                c = line[j]
                if c == "\\" and j + 1 < n:
                    j += 1
                    c = {"n": "\n", "t": "\t"}.get(line[j], line[j])
                val.append(c)
                j += 1
            out[key] = "".join(val)
            i = j + 1
        else:
            k = j
            while k < n and line[k] != " ":
                k += 1
            out[key] = line[j:k]
            i = k
    return out


def data_lines(text):
    """The '* key=value' data lines of an admin reply, parsed."""
    return [parse_fields(l[2:]) for l in text.splitlines() if l.startswith("* ")]


def db_connect(path):
    """Opens the database read-only, without taking it from the daemon."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    con.execute("PRAGMA busy_timeout = 10000")
    return con


def wait_for(cond, timeout, step=0.05):
    """Polls cond() until it is true or timeout seconds passed."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def clean_env(home):
    """The environment for the client: ours, without pingan settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGAN")}
    env["HOME"] = home
    env.pop("XDG_CONFIG_HOME", None)
    env["LC_ALL"] = "C.UTF-8"
    return env


def run(argv, timeout=30, env=None, input=None, preexec=None):
    """Runs a program bounded in time; returns (rc, stdout, stderr)."""
    try:
        p = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env,
                           timeout=timeout * SLOW)
    except subprocess.TimeoutExpired as e:
        return (None, (e.stdout or b"").decode("utf-8", "replace"),
                (e.stderr or b"").decode("utf-8", "replace") +
                "\n[harness: killed after %ss]" % (timeout * SLOW))
    return (p.returncode, p.stdout.decode("utf-8", "replace"),
            p.stderr.decode("utf-8", "replace"))


# ---- valgrind --------------------------------------------------------------

_vg_runs = 0


def valgrind_argv(argv, log_dir):
    """argv under valgrind when PINGAN_VALGRIND=1 (else argv), and the file
    its report goes to (or None)."""
    global _vg_runs
    if not VALGRIND:
        return list(argv), None
    _vg_runs += 1
    log = os.path.join(log_dir, "valgrind-%d-%d.log" % (os.getpid(),
                                                        _vg_runs))
    vg = ["valgrind", "--error-exitcode=%d" % VALGRIND_EXIT,
          "--leak-check=full", "--errors-for-leak-kinds=definite",
          "--track-fds=no", "--quiet", "--log-file=" + log]
    if os.path.exists(_SUPP):
        vg.append("--suppressions=" + os.path.abspath(_SUPP))
    return vg + list(argv), log


def valgrind_check(log, rc, what):
    """Adds a test point: valgrind reported nothing on this run of pingand.

    rc is the exit status (None if unknown, negative for a signal); 99 is
    valgrind's own.  Does nothing outside PINGAN_VALGRIND=1.
    """
    if log is None:
        return True
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        text = ""
    # A run killed with SIGKILL leaves its report half-written; the errors
    # it shows are still errors.
    lines = [l for l in text.splitlines() if l.strip()]
    good = not lines and rc != VALGRIND_EXIT
    ok(good, "valgrind: no error in %s (exit %r)" % (what, rc),
       *(lines[:80] + (["... %d more lines in %s" % (len(lines) - 80, log)]
                       if len(lines) > 80 else [])))
    if good:
        try:
            os.unlink(log)
        except OSError:
            pass
    return good


# ---- raw connections ------------------------------------------------------


class Conn:
    """A raw TCP connection to the daemon, read line by line."""

    def __init__(self, port, host="127.0.0.1", timeout=10, greet=True,
                 rcvbuf=None):
        self.timeout = timeout * SLOW
        if rcvbuf:
            # A small receive window makes the server's replies back up.
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(self.timeout)
            self.sock.connect((host, port))
        else:
            self.sock = socket.create_connection((host, port),
                                                 timeout=self.timeout)
        self.buf = b""
        self.eof = False
        self.reset = False	# the peer reset the connection
        self.greeting = self.readline() if greet else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def readline(self, timeout=None):
        """One line without its end, as str; None at EOF or timeout."""
        end = time.monotonic() + (timeout * SLOW if timeout else self.timeout)
        while b"\n" not in self.buf:
            if self.eof:
                return None
            left = end - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            except (ConnectionResetError, BrokenPipeError):
                self.reset = True
                chunk = b""
            if not chunk:
                self.eof = True
                continue
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def readlines(self, n, timeout=None):
        """Up to n lines; fewer when the connection closed or timed out."""
        out = []
        end = time.monotonic() + (timeout * SLOW if timeout else self.timeout)
        while len(out) < n:
            left = end - time.monotonic()
            if left <= 0:
                break
            line = self.readline(timeout=left / SLOW)
            if line is None:
                break
            out.append(line)
        return out

    def request(self, line, timeout=None):
        """Sends one request line and returns its reply line."""
        self.send(line if line.endswith("\n") else line + "\n")
        return self.readline(timeout)

    def closed_by_peer(self, timeout=5):
        """True when the server closed the connection (EOF) within timeout."""
        end = time.monotonic() + timeout * SLOW
        while not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except OSError:
                chunk = b""
            if not chunk:
                self.eof = True
            else:
                self.buf += chunk
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- the daemon -----------------------------------------------------------


class Daemon:
    """One pingand on 127.0.0.1 and an ephemeral port, in a temp dir."""

    def __init__(self, demo=True, config=None, sock_dir=None, start=True,
                 env=None):
        self.dir = tempfile.mkdtemp(prefix="pingan-", dir=TMP)
        self.demo = demo
        # Added to the environment as it is at each start (test_notify.py
        # sets NOTIFY_SOCKET between making the Daemon and starting it).
        self.env = dict(env or {})
        self.home = os.path.join(self.dir, "home")
        os.mkdir(self.home)
        self.db_path = os.path.join(self.dir, "pingan.db")
        sdir = sock_dir or self.dir
        if len(os.path.join(sdir, "admin.sock")) > 100:
            # sun_path holds 108 bytes; a deep build dir would not fit.
            sdir = tempfile.mkdtemp(prefix="pingan-sock-")
            self._extra_dirs = [sdir]
        else:
            self._extra_dirs = [sdir] if sock_dir else []
        self.sock_path = os.path.join(sdir, "admin.sock")
        self.conf_path = os.path.join(self.dir, "pingand.conf")
        self.config = {
            "listen": "127.0.0.1",
            "port": "0",
            "http_port": "0",
            "database": self.db_path,
            "admin_socket": self.sock_path,
            "auth_delay_ms": "100",
            "log_level": "info",
        }
        self.config.update({k: str(v) for k, v in (config or {}).items()})
        self.write_config()
        self.proc = None
        self.vg_log = None	# valgrind's report of the current run
        self.port = None
        self.tls_port = None	# with `tls on`: the TLS terminal port
        self.http_port = None
        self.lines = []		# stderr and stdout of every run, in order
        self.lock = threading.Lock()
        self.creds = {}
        self.roles = {}
        self.starts = 0
        _daemons.append(self)
        if start:
            self.start()

    def write_config(self):
        with open(self.conf_path, "w") as f:
            f.write("# written by tests/daemon/harness.py\n")
            for k, v in self.config.items():
                f.write("%s %s\n" % (k, v))

    def _reader(self, stream, tag):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.lines.append("%s%s" % (tag, line))
        stream.close()

    def log(self):
        with self.lock:
            return list(self.lines)

    def log_text(self):
        return "\n".join(self.log())

    def dump_log(self, last=60):
        lines = self.log()
        if len(lines) == getattr(self, "_dumped", -1):
            return  # nothing new since the last dump
        self._dumped = len(lines)
        diag("pingand output (last %d of %d lines, dir %s):" %
             (min(last, len(lines)), len(lines), self.dir))
        for line in lines[-last:]:
            diag("  " + line)

    def start(self, demo=None):
        """Starts pingand and waits (bounded) until it listens and is ready."""
        if demo is None:
            demo = self.demo
        argv = [PINGAND, "-f", self.conf_path]
        if demo:
            argv.append("--demo")
        self.starts += 1
        argv, self.vg_log = valgrind_argv(argv, TMP)
        with self.lock:
            self.lines.append("== start %d: %s" % (self.starts, " ".join(argv)))
            mark = len(self.lines)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=self.dir,
                                     env=dict(os.environ, **self.env))
        self.readers = [
            threading.Thread(target=self._reader, args=(self.proc.stderr, ""),
                             daemon=True),
            threading.Thread(target=self._reader,
                             args=(self.proc.stdout, "[stdout] "), daemon=True),
        ]
        for t in self.readers:
            t.start()

        def state():
            lines = self.log()[mark:]
            port = None
            ready = False
            for line in lines:
                m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
                if m:
                    port = int(m.group(1))
                # "listening with TLS on ..." is not "listening on ..."
                m = re.search(r"listening with TLS on 127\.0\.0\.1:(\d+)",
                              line)
                if m:
                    self.tls_port = int(m.group(1))
                m = re.search(r"dashboard at https?://127\.0\.0\.1:(\d+)/",
                              line)
                if m:
                    self.http_port = int(m.group(1))
                if re.search(r"\bready\b", line):
                    ready = True
            return port, ready

        end = time.monotonic() + 15 * SLOW
        port, ready = None, False
        while time.monotonic() < end:
            port, ready = state()
            if port and ready:
                break
            if self.proc.poll() is not None:
                time.sleep(0.1)  # let the readers catch the last lines
                port, ready = state()
                break
            time.sleep(0.02)
        if not (port and ready) or self.proc.poll() is not None:
            rc = self.proc.poll()
            if rc is None:
                self._kill()
            self._reaped(rc)
            raise RuntimeError("pingand did not start (exit %r, port %r, "
                               "ready %r)" % (rc, port, ready))
        self.port = port
        if demo:
            self.load_creds()
        return self

    def load_creds(self):
        path = os.path.join(os.path.dirname(self.db_path),
                            "demo-credentials.txt")
        if not wait_for(lambda: os.path.exists(path), 5 * SLOW):
            raise RuntimeError("no %s after --demo" % path)
        self.creds_path = path
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip() or line.startswith("#"):
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2:
                    self.creds[parts[0]] = parts[1]
                if len(parts) >= 3:
                    self.roles[parts[0]] = parts[2]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _kill(self):
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def _join_readers(self):
        for t in self.readers:
            t.join(timeout=5)

    def _reaped(self, rc):
        """pingand's run is over: checks valgrind's report of it, once."""
        log, self.vg_log = self.vg_log, None
        if log is not None:
            valgrind_check(log, rc, "pingand run %d of %s" %
                           (self.starts, os.path.basename(self.dir)))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals pingand and waits for it; returns its exit status.

        A daemon that does not exit in time is killed, and None is returned.
        A negative status means it died of that signal.
        """
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            with self.lock:
                self.lines.append("== harness: no exit %ss after signal %d; "
                                  "SIGKILL" % (timeout * SLOW, sig))
            self._kill()
            rc = None
        self._join_readers()
        self._reaped(rc)
        return rc

    def kill9(self):
        """Kills pingand with SIGKILL and reaps it."""
        self.proc.kill()
        rc = self.proc.wait(timeout=10 * SLOW)
        self._join_readers()
        self._reaped(rc)
        return rc

    def restart(self, demo=False):
        """Starts pingand again on the same config and database."""
        if self.alive():
            raise RuntimeError("restart: pingand still runs")
        return self.start(demo=demo)

    def cleanup(self, keep=False):
        if self.proc is not None and self.proc.poll() is None:
            self._kill()
        if self.proc is not None and self.vg_log is not None:
            self._reaped(self.proc.poll())
        if self in _daemons:
            _daemons.remove(self)
        if keep:
            self.dump_log(40)
            diag("kept %s" % self.dir)
            return
        for d in [self.dir] + self._extra_dirs:
            shutil.rmtree(d, ignore_errors=True)

    # -- talking to it --

    def conn(self, **kw):
        return Conn(self.port, **kw)

    def authed(self, worker="P001", token=None, **kw):
        """A raw connection that authenticated as worker."""
        c = Conn(self.port, **kw)
        r = c.request("AUTH %s %s" % (worker, token or self.creds[worker]))
        if r is None or not r.startswith("OK "):
            c.close()
            raise RuntimeError("AUTH %s: %r" % (worker, r))
        return c

    def client_argv(self, args, worker="P001", token=None, server=True):
        argv = [PINGAN]
        if server:
            argv += ["--server", "127.0.0.1:%d" % self.port]
        if worker:
            argv += ["--worker", worker]
            tok = token if token is not None else self.creds.get(worker)
            if tok:
                argv += ["--token", tok]
        argv += ["--admin-socket", self.sock_path, "--timeout", str(10 * SLOW)]
        return argv + list(args)

    def client(self, *args, worker="P001", token=None, timeout=30, input=None,
               server=True):
        """Runs the real pingan client; returns (rc, stdout, stderr)."""
        return run(self.client_argv(args, worker, token, server),
                   timeout=timeout, env=clean_env(self.home), input=input)

    def admin(self, *args, timeout=30, input=None):
        """Runs `pingan admin ...` over the admin socket."""
        return run([PINGAN, "--admin-socket", self.sock_path, "--timeout",
                    str(10 * SLOW), "admin"] + list(args),
                   timeout=timeout, env=clean_env(self.home), input=input)

    def db(self):
        return db_connect(self.db_path)


def pingand(*args, timeout=15):
    """Runs pingand with arguments (-n, -V, -h); returns (rc, out, err)."""
    argv, log = valgrind_argv([PINGAND] + list(args), TMP)
    rc, out, err = run(argv, timeout=timeout)
    valgrind_check(log, rc, "pingand %s" % " ".join(
        os.path.basename(a) for a in args))
    return rc, out, err


# ---- the database, read behind the daemon's back ---------------------------
#
# The schema belongs to src/sql/; these helpers find the check-in table and
# its columns by name so that a renamed column fails loudly, in one place.


def _columns(con, table):
    return [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)]


def _pick(cols, *names):
    for n in names:
        if n in cols:
            return n
    return None


class Schema:
    """What the tests need to know about the daemon's tables."""

    def __init__(self, con):
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")]
        self.tables = tables
        self.checkins = _pick(tables, "checkins", "checkin", "check_ins")
        if self.checkins is None:
            raise RuntimeError("no check-in table among %r" % tables)
        cols = _columns(con, self.checkins)
        self.cols = cols
        self.uuid = _pick(cols, "uuid", "client_id", "id_uuid", "cid")
        self.worker = _pick(cols, "worker_id", "worker")
        self.grid = _pick(cols, "grid_id", "grid")
        self.kind = _pick(cols, "kind")
        self.note = _pick(cols, "note")
        self.event = _pick(cols, "event_ms", "event_time", "at_ms", "at")
        self.lat = _pick(cols, "lat")
        self.lon = _pick(cols, "lon")
        self.workers = _pick(tables, "workers", "worker")
        self.grids = _pick(tables, "grids", "grid")


def uuid_value(con, schema, text):
    """The stored form of a UUID: a 16-byte blob or its text form."""
    row = con.execute("SELECT typeof(%s) FROM %s LIMIT 1" %
                      (schema.uuid, schema.checkins)).fetchone()
    if row and row[0] == "blob":
        return uuid.UUID(text).bytes
    return text


def uuid_text(v):
    if isinstance(v, (bytes, bytearray)) and len(v) == 16:
        return str(uuid.UUID(bytes=bytes(v)))
    return str(v).lower()


def stored_ids(db_path):
    """Every check-in id in the database, as lower-case text."""
    con = db_connect(db_path)
    try:
        s = Schema(con)
        return {uuid_text(r[0]) for r in con.execute(
            "SELECT %s FROM %s" % (s.uuid, s.checkins))}
    finally:
        con.close()


def checkin_rows(db_path, ident):
    """The rows stored under one check-in id, as dicts with readable codes."""
    con = db_connect(db_path)
    try:
        s = Schema(con)
        rows = con.execute("SELECT * FROM %s WHERE %s = ?" %
                           (s.checkins, s.uuid),
                           (uuid_value(con, s, ident),)).fetchall()
        out = []
        for r in rows:
            d = dict(zip(s.cols, r))
            d["_id"] = uuid_text(d[s.uuid])
            d["_note"] = d.get(s.note) if s.note else None
            d["_kind"] = d.get(s.kind)
            d["_event"] = d.get(s.event) if s.event else None
            d["_worker"] = _code(con, s.workers, d.get(s.worker))
            d["_grid"] = _code(con, s.grids, d.get(s.grid))
            out.append(d)
        return out
    finally:
        con.close()


def _code(con, table, v):
    if isinstance(v, int) and table:
        row = con.execute("SELECT code FROM %s WHERE id = ?" % table,
                          (v,)).fetchone()
        return row[0] if row else None
    return v


def checkin_count(db_path):
    con = db_connect(db_path)
    try:
        s = Schema(con)
        return con.execute("SELECT count(*) FROM %s" % s.checkins).fetchone()[0]
    finally:
        con.close()


def repeated_ids(db_path):
    """Check-in ids stored more than once (there must be none)."""
    con = db_connect(db_path)
    try:
        s = Schema(con)
        return [uuid_text(r[0]) for r in con.execute(
            "SELECT %s FROM %s GROUP BY 1 HAVING count(*) > 1" %
            (s.uuid, s.checkins))]
    finally:
        con.close()


def table_rows(db_path, table):
    """Every row of a table, ordered, for before/after comparisons."""
    con = db_connect(db_path)
    try:
        return con.execute("SELECT * FROM %s ORDER BY 1" % table).fetchall()
    finally:
        con.close()


def fill_disk(directory):
    """Fills the file system of directory to its last byte with a file
    there, 'filler'; returns its path (unlink it to make room again)."""
    filler = os.path.join(directory, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for chunk in (65536, 4096, 1):	# down to the last byte
        try:
            while True:
                os.write(fd, b"\0" * chunk)
        except OSError:
            pass
    os.close(fd)
    return filler


def integrity_check(db_path):
    con = db_connect(db_path)
    try:
        return [r[0] for r in con.execute("PRAGMA integrity_check")]
    finally:
        con.close()
