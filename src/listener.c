/*
 * listener.c: the TCP listeners for terminals (plain text, and TLS when
 * `tls on`) and the UNIX socket for administration.
 *
 * Accepting survives running out of descriptors: the listener pauses and
 * a short timer re-arms it, instead of spinning on EMFILE.  Past conn_max
 * a new terminal gets one `ERR busy` line and is closed (on the TLS port,
 * before any handshake, it is only closed).  The admin socket checks its
 * peer with SO_PEERCRED: root or the daemon's own user only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "pingan.h"

#define LISTENER_BACKLOG 1024

/* Formats "address:port" of a socket address. */
static void
listener_addr_format(const struct sockaddr *sa, char *out, size_t outlen)
{
	char	host[INET6_ADDRSTRLEN] = "?";
	int	port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, outlen, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, outlen, "[%s]:%d", host, port);
	} else
		snprintf(out, outlen, "local");
}

/* Sends one line on a socket we are about to close; best effort. */
static void
listener_refuse(int fd, enum proto_err e)
{
	char	line[128];
	int	n;

	n = snprintf(line, sizeof(line), "ERR %s %s\n", proto_err_code(e),
	    proto_err_message(e));
	if (n > 0)
		(void)!send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* An accept succeeded: a pause for lack of descriptors is over. */
static void
listener_resumed(struct server *srv)
{
	if (!srv->accept_paused)
		return;
	srv->accept_paused = false;
	log_info("listener: accepting connections again");
}

/*
 * Accepts a terminal's connection on either port.  A refusal on the TLS
 * port is a bare close: a plain-text line would not reach a TLS client.
 */
static void
listener_accept_on(struct server *srv, evutil_socket_t fd,
    struct sockaddr *sa, bool tls)
{
	char		 peer[PINGAN_PEER_MAX];
	int		 one = 1;

	listener_resumed(srv);
	listener_addr_format(sa, peer, sizeof(peer));
	if (srv->shutting_down) {
		if (tls)
			close(fd);
		else
			listener_refuse(fd, PROTO_ERR_SHUTTING_DOWN);
		return;
	}
	if (srv->nconns >= srv->cfg->conn_max) {
		log_warn("listener: %s refused: %d connections (conn_max)",
		    peer, srv->nconns);
		if (tls)
			close(fd);
		else
			listener_refuse(fd, PROTO_ERR_BUSY);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (conn_new(srv, CONN_TERMINAL, fd, peer, tls ? srv->tls_ctx :
	    NULL) == NULL)
		log_warn("listener: %s: cannot set up connection: out of memory",
		    peer);
}

/* Accepts a terminal's connection on the plain-text port. */
static void
listener_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	listener_accept_on(arg, fd, sa, false);
}

/* Accepts a terminal's connection on the TLS port. */
static void
listener_tls_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	listener_accept_on(arg, fd, sa, true);
}

/* Accepts an admin connection after checking who the peer is. */
static void
listener_admin_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server	*srv = arg;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	char		 peer[PINGAN_PEER_MAX];

	listener_resumed(srv);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		log_warn("admin: cannot read peer credentials: %s",
		    strerror(errno));
		listener_refuse(fd, PROTO_ERR_FORBIDDEN);
		return;
	}
	snprintf(peer, sizeof(peer), "admin(uid %u, pid %d)",
	    (unsigned)cred.uid, (int)cred.pid);
	if (cred.uid != 0 && cred.uid != geteuid()) {
		log_warn("admin: refused %s: not root nor uid %u", peer,
		    (unsigned)geteuid());
		listener_refuse(fd, PROTO_ERR_FORBIDDEN);
		return;
	}
	if (srv->shutting_down) {
		listener_refuse(fd, PROTO_ERR_SHUTTING_DOWN);
		return;
	}
	if (conn_new(srv, CONN_ADMIN, fd, peer, NULL) == NULL)
		log_warn("admin: %s: cannot set up connection", peer);
}

/* Re-arms the listeners after a pause for EMFILE/ENFILE. */
static void
listener_rearm(evutil_socket_t fd, short events, void *arg)
{
	struct server	*srv = arg;

	if (srv->shutting_down)
		return;
	if (srv->listener)
		evconnlistener_enable(srv->listener);
	if (srv->admin_listener)
		evconnlistener_enable(srv->admin_listener);
	if (srv->tls_listener)
		evconnlistener_enable(srv->tls_listener);
}

/*
 * Handles accept errors: pause on descriptor exhaustion, log the rest.
 * A pause is logged once, however many times the timer finds the
 * descriptors still short, and its end once (listener_resumed).
 */
static void
listener_error(struct evconnlistener *l, void *arg)
{
	struct server	*srv = arg;
	int		 err = EVUTIL_SOCKET_ERROR();
	struct timeval	 tv = { 0, 100 * 1000 };

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		if (!srv->accept_paused)
			log_warn("listener: accept: %s; pausing accepts, "
			    "retrying every 100 ms", strerror(err));
		srv->accept_paused = true;
		evconnlistener_disable(l);
		evtimer_add(srv->accept_timer, &tv);
		return;
	}
	log_warn("listener: accept: %s", strerror(err));
}

/*
 * Tells whether address (an IP literal) is a loopback one: 127.0.0.0/8,
 * ::1 or an IPv4-mapped 127.x.
 */
bool
listener_is_loopback(const char *address)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (inet_pton(AF_INET, address, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, address, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

/*
 * Opens a TCP listener on address:port that hands connections to cb;
 * logs where it listens, "listening<what> on ADDR:PORT".
 */
static int
listener_bind(struct server *srv, const char *key, const char *address,
    int port, evconnlistener_cb cb, const char *what,
    struct evconnlistener **ret)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*in = (void *)&ss;
	struct sockaddr_in6	*in6 = (void *)&ss;
	socklen_t		 sslen;
	char			 addr[PINGAN_PEER_MAX];
	evutil_socket_t		 fd;
	int			 error;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		sslen = sizeof(*in);
	} else if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*in6);
	} else {
		log_err("%s: '%s' is not an IP address", key, address);
		return -EINVAL;
	}
	*ret = evconnlistener_new_bind(srv->base, cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    LISTENER_BACKLOG, (struct sockaddr *)&ss, (int)sslen);
	if (*ret == NULL) {
		error = EVUTIL_SOCKET_ERROR();
		listener_addr_format((struct sockaddr *)&ss, addr, sizeof(addr));
		log_err("%s: listen on %s: %s", key, addr, strerror(error));
		return -error;
	}
	evconnlistener_set_error_cb(*ret, listener_error);
	fd = evconnlistener_get_fd(*ret);
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		listener_addr_format((struct sockaddr *)&ss, addr, sizeof(addr));
		log_info("listening%s on %s", what, addr);
	}
	return 0;
}

/*
 * Opens the terminals' TCP listeners: the plain-text one, and with `tls
 * on` the TLS one (srv->tls_ctx is set up by then).
 */
int
listener_start(struct server *srv)
{
	const struct config	*cfg = srv->cfg;
	int			 error;

	if ((srv->accept_timer = evtimer_new(srv->base, listener_rearm, srv)) ==
	    NULL)
		return -ENOMEM;
	if ((error = listener_bind(srv, "listen", cfg->listen, cfg->port,
	    listener_accept, "", &srv->listener)) != 0)
		return error;
	if (cfg->tls && (error = listener_bind(srv, "tls_listen",
	    cfg->tls_listen, cfg->tls_port, listener_tls_accept, " with TLS",
	    &srv->tls_listener)) != 0)
		return error;
	return 0;
}

/*
 * Opens the admin UNIX socket.  A socket file left by a crashed daemon is
 * replaced; a live daemon's socket (one that accepts a connection) is not.
 */
int
listener_admin_start(struct server *srv)
{
	struct sockaddr_un	 sun;
	struct stat		 sb;
	const char		*path = srv->cfg->admin_socket;
	int			 fd, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("admin_socket '%s': path too long (max %zu bytes)",
		    path, sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_err("admin_socket '%s': exists and is not a socket",
			    path);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			log_err("admin_socket '%s': another pingand is running",
			    path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0) {
		log_err("admin_socket: socket: %s", strerror(errno));
		return -errno;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, (mode_t)srv->cfg->admin_socket_mode) != 0 ||
	    listen(fd, 64) != 0) {
		log_err("admin_socket '%s': %s", path, strerror(errno));
		close(fd);
		return -errno;
	}
	srv->admin_listener = evconnlistener_new(srv->base,
	    listener_admin_accept, srv, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (srv->admin_listener == NULL) {
		close(fd);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(srv->admin_listener, listener_error);
	log_info("admin socket %s (mode %04o)", path,
	    (unsigned)srv->cfg->admin_socket_mode);
	return 0;
}

/* Closes every listener and removes the admin socket file. */
void
listener_stop(struct server *srv)
{
	if (srv->listener) {
		evconnlistener_free(srv->listener);
		srv->listener = NULL;
	}
	if (srv->tls_listener) {
		evconnlistener_free(srv->tls_listener);
		srv->tls_listener = NULL;
	}
	if (srv->admin_listener) {
		evconnlistener_free(srv->admin_listener);
		srv->admin_listener = NULL;
		unlink(srv->cfg->admin_socket);
	}
	if (srv->accept_timer) {
		event_free(srv->accept_timer);
		srv->accept_timer = NULL;
	}
}
