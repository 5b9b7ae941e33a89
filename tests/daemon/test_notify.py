#!/usr/bin/env python3
"""
test_notify.py: pingand under a pretend systemd (Type=notify).  The test
binds the NOTIFY_SOCKET datagram socket itself and checks the messages:
STATUS= while starting, READY=1 only once the port accepts connections
and the database exists, WATCHDOG=1 again and again at about half of
WATCHDOG_USEC, and STOPPING=1 on SIGTERM.  Then the same with an abstract
('@') socket name, and without WATCHDOG_USEC (no WATCHDOG=1 at all).
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import ok, is_  # noqa: E402


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Manager:
    """The service manager's end of NOTIFY_SOCKET: records every message.

    On READY=1 it checks, at once and from its own thread, whether the
    daemon's port accepts a connection and whether the database exists.
    """

    def __init__(self, address, port, db_path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.1)
        self.port = port
        self.db_path = db_path
        self.msgs = []		# (monotonic time, message)
        self.ready_listening = None
        self.ready_db = None
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            for msg in data.decode("utf-8", "replace").split("\n"):
                if not msg:
                    continue
                if msg == "READY=1" and self.ready_listening is None:
                    try:
                        c = socket.create_connection(("127.0.0.1", self.port),
                                                     timeout=2)
                        c.close()
                        self.ready_listening = True
                    except OSError:
                        self.ready_listening = False
                    self.ready_db = os.path.exists(self.db_path)
                with self.lock:
                    self.msgs.append((now, msg))

    def messages(self):
        with self.lock:
            return list(self.msgs)

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


def index(msgs, pred):
    for i, (_, m) in enumerate(msgs):
        if pred(m):
            return i
    return None


def run_once(address, env_address, watchdog_usec, name):
    port = free_port()
    d = h.Daemon(demo=True, config={"port": port}, start=False)
    mgr = Manager(address, port, d.db_path)
    saved = {k: os.environ.get(k) for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC",
                                            "WATCHDOG_PID")}
    os.environ["NOTIFY_SOCKET"] = env_address
    os.environ.pop("WATCHDOG_PID", None)
    if watchdog_usec:
        os.environ["WATCHDOG_USEC"] = str(watchdog_usec)
    else:
        os.environ.pop("WATCHDOG_USEC", None)
    try:
        d.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    ok(h.wait_for(lambda: index(mgr.messages(), lambda m: m == "READY=1")
                  is not None, 5 * h.SLOW), name + ": READY=1 arrives")
    msgs = mgr.messages()
    ready = index(msgs, lambda m: m == "READY=1")
    status = index(msgs, lambda m: m.startswith("STATUS="))
    ok(status is not None and ready is not None and status < ready,
       name + ": STATUS= comes before READY=1", msgs)
    is_(mgr.ready_listening, True,
        name + ": at READY=1 the port already accepts connections")
    is_(mgr.ready_db, True, name + ": at READY=1 the database exists")
    is_(len([m for _, m in msgs if m == "READY=1"]), 1,
        name + ": READY=1 is sent once")

    if watchdog_usec:
        # Pings every watchdog_usec / 2: over 1.2 s at 200 ms, about 6.
        time.sleep(1.2 * h.SLOW)
        pings = [t for t, m in mgr.messages() if m == "WATCHDOG=1"]
        ok(len(pings) >= 4, name + ": WATCHDOG=1 repeatedly (%d in 1.2 s)"
           % len(pings))
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        ok(gaps and max(gaps) < watchdog_usec / 1e6,
           name + ": no gap between pings reaches WATCHDOG_USEC", gaps)
    else:
        time.sleep(0.3)
        is_([m for _, m in mgr.messages() if m == "WATCHDOG=1"], [],
            name + ": no WATCHDOG=1 without WATCHDOG_USEC")

    n_before = len(mgr.messages())
    rc = d.stop(signal.SIGTERM)
    is_(rc, 0, name + ": SIGTERM: clean exit")
    h.wait_for(lambda: index(mgr.messages()[n_before:],
                             lambda m: m == "STOPPING=1") is not None, 2)
    ok(index(mgr.messages()[n_before:], lambda m: m == "STOPPING=1")
       is not None, name + ": STOPPING=1 on SIGTERM", mgr.messages()[-5:])
    mgr.close()


def run_syslog():
    """log_target syslog: nothing but errors on stderr, and it still serves
    (readiness comes through NOTIFY_SOCKET, not from the log)."""
    port = free_port()
    d = h.Daemon(demo=False, config={"port": port, "log_target": "syslog"},
                 start=False)
    name = "pingan-test-notify-syslog-%d" % os.getpid()
    mgr = Manager("\0" + name, port, d.db_path)
    env = dict(os.environ, NOTIFY_SOCKET="@" + name)
    env.pop("WATCHDOG_USEC", None)
    proc = subprocess.Popen([h.PINGAND, "-f", d.conf_path], cwd=d.dir,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        ok(h.wait_for(lambda: index(mgr.messages(), lambda m: m == "READY=1")
                      is not None, 5 * h.SLOW), "syslog: READY=1 arrives")
        c = h.Conn(port)
        is_(c.request("PING"), "OK PONG", "syslog: it serves")
        c.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20 * h.SLOW)
        is_(proc.returncode, 0, "syslog: SIGTERM: clean exit")
        is_(err.decode(errors="replace"), "",
            "syslog: nothing on stderr (the log went to syslog)")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        mgr.close()
        d.cleanup()


def test():
    run_syslog()
    sdir = tempfile.mkdtemp(prefix="pingan-notify-")
    path = os.path.join(sdir, "notify.sock")
    try:
        run_once(path, path, 200000, "path socket")
    finally:
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(sdir)
    name = "pingan-test-notify-%d" % os.getpid()
    run_once("\0" + name, "@" + name, 0, "abstract socket")


h.main(test)
