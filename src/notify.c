/*
 * notify.c: the systemd service notification protocol (sd_notify(3)).
 *
 * Under Type=notify, systemd passes NOTIFY_SOCKET, a datagram socket to
 * which the daemon sends READY=1, STATUS=..., STOPPING=1 and WATCHDOG=1.
 * With libsystemd at build time its sd_notify does the sending; without
 * it, the few lines below speak the protocol themselves (a path or an
 * abstract '@' name, one datagram per message).  When NOTIFY_SOCKET is
 * unset nothing is sent, and every function here is a no-op.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "pingan.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#else
#include <sys/socket.h>
#include <sys/un.h>
#endif

/* Sends one message to the service manager; returns 0 or a negative errno. */
static int
notify_send(const char *msg)
{
#ifdef HAVE_LIBSYSTEMD
	int r = sd_notify(0, msg);

	return r < 0 ? r : 0;
#else
	struct sockaddr_un	 sun;
	const char		*path;
	size_t			 len;
	socklen_t		 salen;
	ssize_t			 n;
	int			 fd, saved;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || path[0] == '\0')
		return 0;
	if (path[0] != '/' && path[0] != '@')
		return -EAFNOSUPPORT;
	len = strlen(path);
	if (len >= sizeof(sun.sun_path))
		return -EINVAL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, salen);
	saved = errno;
	close(fd);
	return n < 0 ? -saved : 0;
#endif
}

/* Tells the service manager that pingand listens and its database is open. */
void
notify_ready(void)
{
	if (notify_send("READY=1") < 0)
		log_debug("notify: READY=1 not sent");
}

/* Sends a one-line status text, shown by systemctl status. */
void
notify_status(const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;
	int	n;

	n = snprintf(msg, sizeof(msg), "STATUS=");
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (notify_send(msg) < 0)
		log_debug("notify: STATUS= not sent");
}

/* Tells the service manager that pingand is stopping. */
void
notify_stopping(void)
{
	if (notify_send("STOPPING=1") < 0)
		log_debug("notify: STOPPING=1 not sent");
}

/* Returns the watchdog interval asked for, in microseconds, or 0 for none. */
uint64_t
notify_watchdog_usec(void)
{
#ifdef HAVE_LIBSYSTEMD
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	return usec;
#else
	const char		*s, *pid;
	char			*end;
	unsigned long long	 usec;

	if (getenv("NOTIFY_SOCKET") == NULL ||
	    (s = getenv("WATCHDOG_USEC")) == NULL)
		return 0;
	/* WATCHDOG_PID, when set, names the process that must ping. */
	if ((pid = getenv("WATCHDOG_PID")) != NULL &&
	    strtoll(pid, NULL, 10) != (long long)getpid())
		return 0;
	errno = 0;
	usec = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return 0;
	return (uint64_t)usec;
#endif
}

/* Tells the service manager's watchdog that the loop is alive. */
void
notify_watchdog(void)
{
	if (notify_send("WATCHDOG=1") < 0)
		log_debug("notify: WATCHDOG=1 not sent");
}
