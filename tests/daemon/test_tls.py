#!/usr/bin/env python3
"""
test_tls.py: transport security (docs/TLS.md) against the real pingand.

A throwaway CA and certificates are made with the openssl command in the
test's directory, the way docs/TLS.md tells a town to: a good server
certificate (IP:127.0.0.1, DNS:localhost), one from another CA, an expired
one and one for another name.  pingand runs with the TLS terminal port and
HTTPS; SIGHUP swaps the certificate files under it.  Checked: a good
handshake (check-ins stored), a wrong CA, an expired certificate and a
wrong name (refused by pingan with exit status 6, nothing stored, nothing
queued), a plain-text client on the TLS port (closed, logged, the daemon
keeps serving), a TLS client on the plain port, a request sent with the
handshake's last message (answered, and the daemon keeps accepting), TLS 1.1
refused, HTTPS with curl, and pingand refusing to start on a missing or
mismatched key.
"""
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

OPENSSL = shutil.which("openssl")
CURL = shutil.which("curl")

SERVER_EXT = """basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = %s
"""

# `openssl ca` only to back-date a certificate (x509 -days cannot).
CA_CNF = """[ ca ]
default_ca = town
[ town ]
database = index.txt
new_certs_dir = .
certificate = ca.crt
private_key = ca.key
serial = ca.srl
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
"""


def openssl(args, cwd):
    """Runs the openssl command in cwd; raises with its stderr on failure."""
    p = subprocess.run([OPENSSL] + args, cwd=cwd, capture_output=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (" ".join(args),
                                               p.stderr.decode()))


def make_ca(d, name):
    """A CA key and self-signed certificate in directory d."""
    os.makedirs(d)
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-out", "ca.key"], d)
    openssl(["req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "90",
         "-subj", "/CN=%s" % name,
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-out", "ca.crt"], d)
    return os.path.join(d, "ca.crt")


def make_server(ca_dir, out, san, expired=False):
    """A server key and certificate signed by the CA in ca_dir: out.key/.crt."""
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-out", out + ".key"], ca_dir)
    openssl(["req", "-new", "-key", out + ".key", "-subj", "/CN=pingand",
         "-out", out + ".csr"], ca_dir)
    with open(os.path.join(ca_dir, out + ".ext"), "w") as f:
        f.write(SERVER_EXT % san)
    if expired:
        with open(os.path.join(ca_dir, "ca.cnf"), "w") as f:
            f.write(CA_CNF)
        open(os.path.join(ca_dir, "index.txt"), "a").close()
        with open(os.path.join(ca_dir, "ca.srl"), "w") as f:
            f.write("1000\n")
        openssl(["ca", "-config", "ca.cnf", "-batch", "-notext",
             "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
             "-in", out + ".csr", "-extfile", out + ".ext",
             "-out", out + ".crt"], ca_dir)
    else:
        openssl(["x509", "-req", "-in", out + ".csr", "-CA", "ca.crt",
             "-CAkey", "ca.key", "-CAcreateserial", "-days", "90",
             "-sha256", "-extfile", out + ".ext", "-out", out + ".crt"],
            ca_dir)
    return (os.path.join(ca_dir, out + ".crt"),
            os.path.join(ca_dir, out + ".key"))


def install(pair, cert, key):
    """Copies a certificate and key over the files pingand reads."""
    shutil.copyfile(pair[0], cert)
    shutil.copyfile(pair[1], key)


def reload_certs(d, count_before):
    """SIGHUP, then waits until pingand logged a certificate (or refusal)."""
    d.proc.send_signal(1)
    return h.wait_for(lambda: len(re.findall(
        r"TLS: certificate|keeping the certificate loaded",
        d.log_text())) > count_before, 10 * h.SLOW)


def cert_lines(d):
    return len(re.findall(r"TLS: certificate|keeping the certificate loaded",
                          d.log_text()))


def tls_checkin(d, ca, port=None, host="127.0.0.1"):
    """A check-in over TLS as P001; returns (id, rc, stdout, stderr)."""
    ident = h.new_id()
    rc, out, err = h.run(
        [h.PINGAN, "--server", "%s:%d" % (host, port or d.tls_port),
         "--worker", "P001", "--token", d.creds["P001"],
         "--timeout", str(10 * h.SLOW), "checkin", "--tls", "--ca-file", ca,
         "--grid", "DK-01", "--kind", "patrol", "--id", ident],
        env=h.clean_env(d.home))
    return ident, rc, out, err


def queue_empty(d):
    rc, out, err = h.run([h.PINGAN, "queue"], env=h.clean_env(d.home))
    return rc == 0 and "离线队列为空" in out, out + err


def refused(d, what, pattern, ca, **kw):
    """A check-in that TLS must refuse: status 6, said why, nothing kept."""
    ident, rc, out, err = tls_checkin(d, ca, **kw)
    h.is_(rc, 6, "%s: pingan exits 6" % what, err)
    h.like(err, pattern, "%s: pingan says why" % what)
    h.like(err, r"未存入离线队列.*nothing was sent or queued",
           "%s: and that nothing was queued" % what)
    h.ok(h.checkin_rows(d.db_path, ident) == [], "%s: nothing stored" % what)
    empty, q = queue_empty(d)
    h.ok(empty, "%s: nothing in the offline spool" % what, q)
    return err


def s_client(port, *args, data=b""):
    """openssl s_client to the port; returns (rc, stdout+stderr)."""
    p = subprocess.run([OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-ign_eof"] + list(args), input=data,
                       capture_output=True, timeout=30 * h.SLOW)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def https(d, path, ca, *args):
    """curl over HTTPS; returns (curl's exit status, HTTP status, headers)."""
    p = subprocess.run([CURL, "-s", "-o", "/dev/null", "-D", "-", "-w",
                        "%{http_code}", "--max-time", str(20 * h.SLOW),
                        "--cacert", ca] + list(args) +
                       ["https://127.0.0.1:%d%s" % (d.http_port, path)],
                       capture_output=True, timeout=30 * h.SLOW)
    out = p.stdout.decode("utf-8", "replace")
    return p.returncode, out[-3:], out[:-3]


def open_conns(d, ca):
    """pingan_connections_open from /metrics over HTTPS, or None."""
    p = subprocess.run([CURL, "-s", "--max-time", str(10 * h.SLOW),
                        "--cacert", ca,
                        "https://127.0.0.1:%d/metrics" % d.http_port],
                       capture_output=True, timeout=30 * h.SLOW)
    m = re.search(r"(?m)^pingan_connections_open (\d+)$",
                  p.stdout.decode("utf-8", "replace"))
    return int(m.group(1)) if m else None


def early_request(port, ca, line):
    """
    A TLS 1.3 client whose request leaves in one segment with its Finished
    message, so that pingand reads it in the loop turn that writes the
    greeting.  Returns the first two lines it gets back, or what it got
    before the peer closed or went silent for 5 s.
    """
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname="localhost")
    got = b""
    with socket.create_connection(("127.0.0.1", port),
                                  timeout=5 * h.SLOW) as s:
        try:
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    s.sendall(out.read())
                    chunk = s.recv(65536)
                    if not chunk:
                        return b"(closed in the handshake)"
                    inc.write(chunk)
            tls.write(line)
            s.sendall(out.read())
            while got.count(b"\n") < 2:
                try:
                    got += tls.read(65536)
                    continue
                except ssl.SSLWantReadError:
                    pass
                chunk = s.recv(65536)
                if not chunk:
                    break
                inc.write(chunk)
        except socket.timeout:
            got += b"(no answer in %d s)" % (5 * h.SLOW)
    return got


def test():
    if OPENSSL is None or CURL is None:
        h.skip("TLS", "needs the openssl and curl commands")
        return
    d = h.Daemon(start=False)
    pki = os.path.join(d.dir, "pki")
    ca = make_ca(os.path.join(pki, "town"), "pingan test town CA")
    other_ca = make_ca(os.path.join(pki, "other"), "another CA")
    town = os.path.dirname(ca)
    good = make_server(town, "good", "IP:127.0.0.1, DNS:localhost")
    expired = make_server(town, "expired", "IP:127.0.0.1, DNS:localhost",
                          expired=True)
    elsewhere = make_server(town, "elsewhere", "DNS:elsewhere.example")
    foreign = make_server(os.path.dirname(other_ca), "foreign",
                          "IP:127.0.0.1, DNS:localhost")
    cert = os.path.join(d.dir, "pingand.crt")
    key = os.path.join(d.dir, "pingand.key")
    install(good, cert, key)

    # ---- start-up refuses what cannot serve --------------------------------
    d.config.update({"tls": "on", "tls_port": "0", "tls_cert": cert,
                     "tls_key": key, "http_tls": "on"})
    d.write_config()
    rc, out, err = h.pingand("-n", "-f", d.conf_path)
    h.is_((rc, out.strip()), (0, "configuration OK"), "-n: good TLS files",
          err)
    d.config["tls_cert"] = cert + ".missing"
    d.write_config()
    rc, out, err = h.pingand("-n", "-f", d.conf_path)
    h.is_(rc, 1, "-n: a missing certificate is an error")
    h.like(err, r"tls_cert '%s': cannot load the certificate" %
           re.escape(cert + ".missing"), "and names the key and the file")
    d.config["tls_cert"] = cert
    d.config["tls_key"] = expired[1]	# another key
    d.write_config()
    rc, out, err = h.pingand("-n", "-f", d.conf_path)
    h.is_(rc, 1, "-n: a key that is not the certificate's is an error")
    h.like(err, r"tls_key '%s' is not the key of the certificate in "
           r"tls_cert '%s'" % (re.escape(expired[1]), re.escape(cert)),
           "and names both files")
    d.config["tls_key"] = key
    d.write_config()

    d.start()
    h.ok(d.tls_port and d.port and d.tls_port != d.port,
         "a TLS port beside the plain one", d.port, d.tls_port)
    h.like(d.log_text(), r"dashboard at https://127\.0\.0\.1:%d/" %
           d.http_port, "the dashboard is HTTPS")
    h.like(d.log_text(), r"TLS: certificate .*valid for \d+ more days",
           "the certificate and its expiry are logged")

    # ---- a good handshake --------------------------------------------------
    ident, rc, out, err = tls_checkin(d, ca)
    h.is_((rc, out.strip()), (0, ident), "TLS check-in to 127.0.0.1 (IP "
          "SAN) stored", err)
    h.is_(len(h.checkin_rows(d.db_path, ident)), 1, "once, in the database")
    ident, rc, out, err = tls_checkin(d, ca, host="localhost")
    h.is_((rc, out.strip()), (0, ident), "TLS check-in to localhost (DNS "
          "SAN) stored", err)

    # the client's config file: tls yes, ca_file
    conf = os.path.join(d.home, "pingan-tls.conf")
    with open(conf, "w") as f:
        f.write("server 127.0.0.1:%d\nworker P001\ntoken %s\ntls yes\n"
                "ca_file %s\n" % (d.tls_port, d.creds["P001"], ca))
    os.chmod(conf, 0o600)
    rc, out, err = h.run([h.PINGAN, "--config", conf, "ping"],
                         env=h.clean_env(d.home))
    h.ok(rc == 0 and out.strip().endswith("ms"), "tls yes and ca_file in "
         "the client's config file", rc, out, err)

    # the plain port stays for local tools
    rc, out, err = d.client("checkin", "--grid", "DK-01", "--kind", "patrol")
    h.ok(rc == 0 and h.UUID_RE.match(out.strip()), "the plain-text port on "
         "loopback still serves", rc, err)

    # ---- refused: nothing sent, nothing spooled ----------------------------
    refused(d, "wrong CA", r"未知 CA.*unknown CA: the server's certificate "
            r"is not signed by the CA in .*other", other_ca)
    h.ok(h.wait_for(lambda: re.search(
        r"conn \d+: 127\.0\.0\.1:\d+: TLS handshake failed: .*unknown ca",
        d.log_text()), 5 * h.SLOW), "pingand logs the client's alert")

    n = cert_lines(d)
    install(expired, cert, key)
    h.ok(reload_certs(d, n), "SIGHUP reads the (expired) certificate again")
    h.like(d.log_text(), r"certificate .* has EXPIRED", "and warns that it "
           "has expired")
    refused(d, "expired certificate", r"服务器证书已过期.*the server's "
            r"certificate has expired", ca)

    n = cert_lines(d)
    install(elsewhere, cert, key)
    h.ok(reload_certs(d, n), "SIGHUP: a certificate for another name")
    refused(d, "name mismatch", r"名字与 127\.0\.0\.1:\d+ 不符.*name "
            r"mismatch", ca)

    n = cert_lines(d)
    install(foreign, cert, key)
    h.ok(reload_certs(d, n), "SIGHUP: a certificate of another CA")
    refused(d, "server certificate from another CA", r"unknown CA", ca)

    # a broken pair on SIGHUP keeps the running one
    n = cert_lines(d)
    install(good, cert, key)
    shutil.copyfile(expired[1], key)
    h.ok(reload_certs(d, n), "SIGHUP with a key that does not match")
    h.like(d.log_text(), r"reload: tls_key .* is not the key of the "
           r"certificate.*keeping the certificate loaded before",
           "is refused, and the loaded one kept")
    refused(d, "still the other CA's certificate", r"unknown CA", ca)
    n = cert_lines(d)
    install(good, cert, key)
    h.ok(reload_certs(d, n), "SIGHUP: the good certificate again")
    ident, rc, out, err = tls_checkin(d, ca)
    h.is_((rc, out.strip()), (0, ident), "and TLS check-ins work again", err)

    # ---- a plain-text client on the TLS port -------------------------------
    before = len(re.findall(r"TLS handshake failed", d.log_text()))
    with socket.create_connection(("127.0.0.1", d.tls_port),
                                  timeout=10 * h.SLOW) as s:
        s.sendall(("AUTH P001 %s\nPING\n" % d.creds["P001"]).encode())
        got = b""
        s.settimeout(10 * h.SLOW)
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    h.ok(b"OK" not in got and b"pingan" not in got, "a plain-text client on "
         "the TLS port gets no plain-text reply", got)
    h.ok(h.wait_for(lambda: len(re.findall(
        r"conn \d+: 127\.0\.0\.1:\d+: TLS handshake failed: ",
        d.log_text())) > before, 5 * h.SLOW),
        "its failed handshake is logged with the peer and the reason",
        d.log_text()[-600:])
    ident, rc, out, err = tls_checkin(d, ca)
    h.is_((rc, out.strip()), (0, ident), "the daemon keeps serving TLS", err)

    # peers that close at once are closed at once (not at auth_timeout)
    base = open_conns(d, ca)
    socks = [socket.create_connection(("127.0.0.1", d.tls_port))
             for _ in range(3)]
    ctx = ssl.create_default_context(cafile=ca)
    tls = [ctx.wrap_socket(socket.create_connection(("127.0.0.1",
                                                     d.tls_port)),
                           server_hostname="localhost") for _ in range(3)]
    h.ok(all(t.recv(100).startswith(b"OK pingan/1") for t in tls),
         "Python's ssl module gets the greeting")
    h.ok(h.wait_for(lambda: open_conns(d, ca) == base + 6, 5 * h.SLOW),
         "six connections open", base, open_conns(d, ca))
    for x in socks + [t.unwrap() if i % 2 else t for i, t in
                      enumerate(tls)]:
        x.close()
    h.ok(h.wait_for(lambda: open_conns(d, ca) == base, 5 * h.SLOW),
         "TLS peers that close (before, after the handshake, with and "
         "without close_notify) are closed at once", base,
         open_conns(d, ca))
    h.ok(not re.search(r"TLS handshake failed: unexpected eof",
                       d.log_text()), "and not logged as failures")

    # ---- a TLS client on the plain port ------------------------------------
    refused(d, "TLS to the plain port", r"不是 TLS 端口.*does not speak TLS",
            ca, port=d.port)
    rc, out, err = d.client("ping")
    h.is_(rc, 0, "the plain port keeps serving", err)

    # ---- a request that arrives with the handshake's end ------------------
    # pingand then writes the greeting and reads the request in one loop
    # turn; a TLS connection's priority must not change there (libevent's
    # active queue broke, and the loop spun without accepting anything).
    answers = [early_request(d.tls_port, ca, b"PING\n") for _ in range(4)]
    h.ok(all(a.startswith(b"OK pingan/1") and b"OK PONG" in a
             for a in answers), "a PING sent with the TLS Finished is "
         "answered, four times over", answers)
    rc, out, err = d.client("ping", timeout=10)
    h.is_(rc, 0, "and the plain port still answers after them", err)

    # ---- protocol versions -------------------------------------------------
    rc, out = s_client(d.tls_port, "-tls1_2", "-CAfile", ca,
                       "-verify_return_error", data=b"PING\nQUIT\n")
    h.ok(rc == 0 and re.search(r"Protocol *: TLSv1\.2", out) and
         "OK pingan/1" in out and "OK PONG" in out,
         "TLS 1.2 is accepted (openssl s_client -tls1_2), and QUIT ends "
         "with close_notify", out[-400:])
    # (TLS 1.2's suites alone would refuse it too: the cipher list is
    # forward-secret AEAD only, which TLS 1.1 lacks)
    rc, out = s_client(d.tls_port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0",
                       data=b"QUIT\n")
    h.ok(rc != 0 and "OK pingan/1" not in out, "TLS 1.1 is refused "
         "(openssl s_client -tls1_1)", out[-400:])
    h.ok(h.wait_for(lambda: re.search(
        r"conn \d+: 127\.0\.0\.1:\d+: TLS handshake failed: unsupported "
        r"protocol", d.log_text()), 5 * h.SLOW),
        "for its version (pingand logs why)", d.log_text()[-600:])

    # ---- HTTPS -------------------------------------------------------------
    rc, status, head = https(d, "/healthz", ca)
    h.is_((rc, status), (0, "200"), "HTTPS /healthz with the town's CA")
    rc, status, head = https(d, "/healthz", other_ca)
    h.ok(rc != 0 and status != "200", "curl with another CA refuses the "
         "dashboard", rc, status)
    p = subprocess.run([CURL, "-s", "-o", "/dev/null", "-w", "%{http_code}",
                        "--max-time", str(10 * h.SLOW),
                        "http://127.0.0.1:%d/healthz" % d.http_port],
                       capture_output=True, timeout=30 * h.SLOW)
    h.ok(p.stdout.decode() != "200", "plain HTTP on the HTTPS port gets "
         "no answer", p.returncode, p.stdout)
    jar = os.path.join(d.dir, "jar")
    origin = "https://127.0.0.1:%d" % d.http_port
    rc, status, head = https(d, "/api/v1/login", ca, "-c", jar, "-H",
                             "Origin: %s" % origin, "--data",
                             "worker=S001&token=%s" % d.creds["S001"])
    h.is_(status, "200", "a login from the HTTPS page's origin", head)
    h.like(head, r"(?im)^set-cookie: .*; Secure", "sets a Secure cookie")
    rc, status, head = https(d, "/api/v1/me", ca, "-b", jar)
    h.is_(status, "200", "and the session works over HTTPS")
    rc, status, head = https(d, "/api/v1/login", ca, "-H",
                             "Origin: http://127.0.0.1:%d" % d.http_port,
                             "--data", "worker=S001&token=%s" %
                             d.creds["S001"])
    h.is_(status, "403", "a login from the plain-HTTP origin is refused")

    h.is_(d.stop(), 0, "pingand stops cleanly")


if __name__ == "__main__":
    h.main(test)
