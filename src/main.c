/*
 * main.c: pingand's command line, start-up, signals and shutdown.
 *
 * Start-up order: config, database (migrations, demo town), roster,
 * writer thread, listeners, then the loop.  SIGTERM/SIGINT stop accepting
 * and reading, wait (at most shutdown_timeout) until every request already
 * read has been committed and answered, then close the database and exit
 * 0.  SIGHUP re-reads the config file and applies the reloadable keys,
 * and reads the TLS certificate and key again.
 * Under systemd (Type=notify) it reports STATUS= while starting, READY=1
 * once it listens with the database open, WATCHDOG=1 from a timer in the
 * loop, and STOPPING=1 when a stop begins.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "pingan.h"

#define MAIN_DEFAULT_CONFIG PINGAN_SYSCONFDIR "/pingan/pingand.conf"
#define MAIN_FD_RESERVE	64	/* descriptors beside the connections */

static struct server	 server;
static struct event	*main_drain_timer;
static struct event	*main_watchdog_timer;
static struct timespec	 main_stop_deadline;
static bool		 main_fin_sent;

/* Prints the usage text to f. */
static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: pingand [-dhnvV] [-f file] [--demo]\n"
	    "\n"
	    "平安 pingand: 网格员与巡防队员签到服务 (check-in daemon of the\n"
	    "town's comprehensive-governance section).\n"
	    "\n"
	    "  -f file   configuration file (default %s)\n"
	    "  -n        check the configuration, print 'configuration OK', exit\n"
	    "  -d        debug: log every connection (same as -vv)\n"
	    "  -v        more verbose logging (repeatable)\n"
	    "  -V        print the version and exit\n"
	    "  -h        this help\n"
	    "  --demo    create a demo town if the database is empty and print\n"
	    "            its logins (also written to demo-credentials.txt beside\n"
	    "            the database)\n"
	    "\n"
	    "Signals: TERM/INT stop cleanly, HUP reloads the configuration.\n"
	    "Protocol: docs/PROTOCOL.md.\n", MAIN_DEFAULT_CONFIG);
}

/*
 * Gives this thread, the event loop's, the real-time priority that
 * loop_priority asks for (SCHED_FIFO); the writer's threads, started
 * before, keep the normal policy.  On a machine whose cores are all busy
 * the fair scheduler can keep the loop off the CPU for a whole time slice,
 * and every PING and lone check-in then waits as long.  Without the right
 * (CAP_SYS_NICE, or RLIMIT_RTPRIO as systemd's LimitRTPRIO= sets it)
 * pingand says so and runs on.
 */
static void
main_loop_priority(const struct config *cfg)
{
	struct sched_param	 sp = { .sched_priority = cfg->loop_priority };
	int			 r;

	if (cfg->loop_priority == 0)
		return;
	if ((r = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp)) != 0)
		log_warn("loop_priority %d: cannot run the event loop with "
		    "real-time priority: %s; it keeps the normal one (grant "
		    "CAP_SYS_NICE, or LimitRTPRIO=%d in the systemd unit)",
		    cfg->loop_priority, strerror(r), cfg->loop_priority);
	else
		log_info("the event loop runs with real-time priority %d "
		    "(SCHED_FIFO)", cfg->loop_priority);
}

/*
 * Raises the soft descriptor limit so that conn_max connections fit (a
 * service starts with 1024); says so when the hard limit is lower, since
 * accepting then pauses (listener.c) before conn_max is reached.
 */
static void
main_nofile(const struct config *cfg)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)cfg->conn_max + MAIN_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ?
	    rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < want)
		log_warn("descriptor limit %llu is below conn_max %d + %d: "
		    "accepting will pause when it runs out (raise "
		    "LimitNOFILE or ulimit -n)", (unsigned long long)rl.rlim_cur,
		    cfg->conn_max, MAIN_FD_RESERVE);
	else
		log_debug("descriptor limit raised to %llu",
		    (unsigned long long)rl.rlim_cur);
}

/* Receives finished jobs from the writer. */
static void
main_jobs_done(struct wjob_list *jobs, void *arg)
{
	conn_jobs_done(arg, jobs);
}

/* Frees closed connections, outside of their callbacks. */
static void
main_reap(evutil_socket_t fd, short events, void *arg)
{
	conn_reap(arg);
}

/* Tells whether a monotonic time has reached a deadline. */
static bool
main_timespec_passed(const struct timespec *now, const struct timespec *dl)
{
	return now->tv_sec > dl->tv_sec || (now->tv_sec == dl->tv_sec &&
	    now->tv_nsec >= dl->tv_nsec);
}

/*
 * During shutdown: once every reply is out, half-closes all connections
 * and ends the loop when peers have closed (at most a second later), or
 * when shutdown_timeout has passed with replies still unsent.
 */
static void
main_drain(evutil_socket_t fd, short events, void *arg)
{
	struct server	*srv = arg;
	struct timespec	 now;
	struct timeval	 tv = { 0, 10 * 1000 };

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!main_fin_sent) {
		if (writer_queued(srv->writer) == 0 && conn_all_flushed(srv)) {
			/* Every reply is out: FIN, then wait for peers' EOF. */
			conn_shutdown_write(srv);
			main_fin_sent = true;
			main_stop_deadline = now;
			main_stop_deadline.tv_sec += 1;
		} else if (main_timespec_passed(&now, &main_stop_deadline)) {
			log_warn("shutdown: replies still unsent after %d s; "
			    "exiting anyway", srv->cfg->shutdown_timeout);
			event_base_loopexit(srv->base, NULL);
			return;
		}
	} else if (srv->nconns == 0 ||
	    main_timespec_passed(&now, &main_stop_deadline)) {
		event_base_loopexit(srv->base, NULL);
		return;
	}
	evtimer_add(main_drain_timer, &tv);
}

/* SIGTERM/SIGINT: stop accepting and reading, then drain. */
static void
main_stop(evutil_socket_t sig, short events, void *arg)
{
	struct server	*srv = arg;

	if (srv->shutting_down) {
		log_info("shutdown: second signal, exiting now");
		event_base_loopexit(srv->base, NULL);
		return;
	}
	log_info("shutdown: %s received; finishing %zu queued writes",
	    strsignal((int)sig), writer_queued(srv->writer));
	notify_stopping();
	srv->shutting_down = true;
	listener_stop(srv);
	http_stop(srv->http);
	conn_shutdown(srv);
	clock_gettime(CLOCK_MONOTONIC, &main_stop_deadline);
	main_stop_deadline.tv_sec += srv->cfg->shutdown_timeout;
	main_drain(-1, 0, srv);
}

/*
 * Logs which certificate the server shows and until when; warns when it
 * expires within 30 days or has expired (terminals will refuse it).
 */
static void
main_tls_describe(struct ssl_ctx_st *ctx, const char *path)
{
	char	subject[256];
	int	days;

	if (tls_server_cert_days(ctx, subject, sizeof(subject), &days) != 0)
		return;
	if (days < 0)
		log_warn("TLS: certificate %s (%s) has EXPIRED: terminals "
		    "will refuse it; renew it and send SIGHUP", path, subject);
	else if (days < 30)
		log_warn("TLS: certificate %s (%s) expires in %d day%s; renew "
		    "it and send SIGHUP", path, subject, days,
		    days == 1 ? "" : "s");
	else
		log_info("TLS: certificate %s (%s), valid for %d more days",
		    path, subject, days);
}

/*
 * Reads the TLS certificate and key again (a renewed certificate); the
 * old context stays if the new files do not load.
 */
static void
main_tls_reload(struct server *srv)
{
	struct ssl_ctx_st	*ctx;
	char			 err[1024];

	if (srv->tls_ctx == NULL)
		return;
	if ((ctx = tls_server_new(srv->cfg->tls_cert, srv->cfg->tls_key, err,
	    sizeof(err))) == NULL) {
		log_err("reload: %s; keeping the certificate loaded before",
		    err);
		return;
	}
	tls_ctx_free(srv->tls_ctx);
	srv->tls_ctx = ctx;
	main_tls_describe(ctx, srv->cfg->tls_cert);
}

/*
 * Warns about plain-text ports open beyond loopback while TLS is on:
 * what they carry (tokens, passwords) crosses the network in clear.
 */
static void
main_tls_warn(const struct config *cfg)
{
	if (!cfg->tls && !cfg->http_tls)
		return;
	if (!listener_is_loopback(cfg->listen))
		log_warn("listen %s: the plain-text terminal port is open "
		    "beyond loopback while TLS is on; tokens cross the network "
		    "in clear (set listen 127.0.0.1 once terminals use TLS)",
		    cfg->listen);
	if (cfg->http && !cfg->http_tls && !listener_is_loopback(
	    cfg->http_listen))
		log_warn("http_listen %s: the dashboard is plain HTTP beyond "
		    "loopback while TLS is on; passwords cross the network in "
		    "clear (set http_tls on)", cfg->http_listen);
}

/* SIGHUP: re-reads the configuration and applies the reloadable keys. */
static void
main_reload(evutil_socket_t sig, short events, void *arg)
{
	struct server	*srv = arg;
	struct config	 fresh;
	char		 err[512];
	int		 n;

	config_defaults(&fresh);
	if (srv->config_path == NULL) {
		log_info("reload: no configuration file; nothing to do");
		config_free(&fresh);
		return;
	}
	if (config_load(&fresh, srv->config_path, err, sizeof(err)) != 0) {
		log_err("reload: %s; keeping the running configuration", err);
		config_free(&fresh);
		return;
	}
	n = config_reload(srv->cfg, &fresh);
	log_set_level(srv->cfg->log_level);
	main_nofile(srv->cfg);
	writer_set_batch_max(srv->writer, srv->cfg->batch_max);
	log_info("reload: %s: %d setting%s changed", srv->config_path, n,
	    n == 1 ? "" : "s");
	config_free(&fresh);
	main_tls_reload(srv);
}

/* Pings the service manager's watchdog: the loop still turns. */
static void
main_watchdog(evutil_socket_t fd, short events, void *arg)
{
	notify_watchdog();
}

/*
 * Starts the watchdog timer when systemd asked for one (WatchdogSec=), at
 * half its interval, so that one late wake-up does not kill the daemon.
 */
static void
main_watchdog_start(struct event_base *base)
{
	struct timeval	tv;
	uint64_t	usec;

	if ((usec = notify_watchdog_usec()) == 0)
		return;
	if (usec < 2000)
		usec = 2000;	/* a zero timer would spin the loop */
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	if ((main_watchdog_timer = event_new(base, -1, EV_PERSIST,
	    main_watchdog, NULL)) == NULL || evtimer_add(main_watchdog_timer,
	    &tv) != 0)
		fatalx("libevent: cannot set up the watchdog timer");
	log_debug("watchdog: pinging every %llu ms",
	    (unsigned long long)(usec / 1000));
	notify_watchdog();
}

/* Writes the demo town when asked to and the database is empty. */
static void
main_demo(struct store *st, const struct config *cfg)
{
	char	*dbcopy, credfile[4096];
	int	 r;

	if ((dbcopy = strdup(cfg->database)) == NULL)
		fatal("strdup");
	snprintf(credfile, sizeof(credfile), "%s/demo-credentials.txt",
	    dirname(dbcopy));
	free(dbcopy);
	if ((r = demo_create(st, stdout, credfile)) < 0)
		fatalx("demo: cannot create the demo town: %s (%s)",
		    strerror(-r), store_errmsg(st));
	if (r == 0)
		printf("演示乡镇已存在,登录信息见 %s (demo town exists; "
		    "logins in %s)\n", credfile, credfile);
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "demo", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct server	*srv = &server;
	struct config	 cfg;
	struct store	*st;
	struct ssl_ctx_st *tls_ctx = NULL;
	struct event	*sigterm, *sigint, *sighup;
	const char	*path = NULL;
	char		 err[1024];
	int		 ch, verbose = 0;
	bool		 check = false, demo = false, debug = false;

	while ((ch = getopt_long(argc, argv, "df:hnvV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			debug = true;
			break;
		case 'f':
			path = optarg;
			break;
		case 'h':
			main_usage(stdout);
			return 0;
		case 'n':
			check = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("pingand %s (protocol %d)\n", PINGAN_VERSION,
			    PINGAN_PROTO_VERSION);
			return 0;
		case 'D':
			demo = true;
			break;
		default:
			main_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "pingand: unexpected argument '%s'\n",
		    argv[optind]);
		main_usage(stderr);
		return 2;
	}

	config_defaults(&cfg);
	if (path == NULL && access(MAIN_DEFAULT_CONFIG, F_OK) == 0)
		path = MAIN_DEFAULT_CONFIG;
	if (path && config_load(&cfg, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return 1;
	}
	/* A certificate that cannot serve stops the start (and -n). */
	if ((cfg.tls || cfg.http_tls) && (tls_ctx = tls_server_new(cfg.tls_cert,
	    cfg.tls_key, err, sizeof(err))) == NULL) {
		fprintf(stderr, "pingand: %s%s%s\n", path ? path : "",
		    path ? ": " : "", err);
		config_free(&cfg);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		tls_ctx_free(tls_ctx);
		config_free(&cfg);
		return 0;
	}
	if (debug)
		cfg.log_level = LOG_LEVEL_DEBUG;
	else if (cfg.log_level + verbose > LOG_LEVEL_DEBUG)
		cfg.log_level = LOG_LEVEL_DEBUG;
	else
		cfg.log_level += verbose;
	log_init(cfg.log_level, true);
	log_set_target(cfg.log_target);
	if (calendar_set_timezone(cfg.timezone) != 0)
		fatalx("timezone '%s': unknown time zone", cfg.timezone);
	if (path == NULL)
		log_info("no configuration file; using built-in defaults");
	if (tls_ctx != NULL)
		main_tls_describe(tls_ctx, cfg.tls_cert);
	main_tls_warn(&cfg);

	main_nofile(&cfg);
	signal(SIGPIPE, SIG_IGN);
	/* No evthread_use_pthreads(): only the loop's thread calls libevent. */

	notify_status("opening the database %s", cfg.database);
	if ((st = store_open(cfg.database, &cfg, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (demo)
		main_demo(st, &cfg);

	memset(srv, 0, sizeof(*srv));
	srv->cfg = &cfg;
	srv->config_path = path;
	srv->tls_ctx = tls_ctx;
	TAILQ_INIT(&srv->conns);
	TAILQ_INIT(&srv->graveyard);
	if ((srv->auth_throttle = throttle_new(PINGAN_THROTTLE_MAX)) == NULL)
		fatalx("out of memory for the AUTH throttle");
	if ((srv->roster = store_roster_load(st)) == NULL)
		fatalx("cannot load the roster: %s", store_errmsg(st));
	log_info("database %s: schema version %d, %lld check-ins; roster: "
	    "%zu villages, %zu grids, %zu workers", cfg.database,
	    store_schema_version(st), (long long)store_checkin_count(st),
	    srv->roster->nvillages, srv->roster->ngrids,
	    srv->roster->nworkers);

	{
		struct event_config	*ec;

		/*
		 * Two priorities: terminals with one request at a time (PING,
		 * AUTH, a lone check-in) before pipelining ones, and at most 8
		 * of the latter per turn before the loop looks for new events.
		 */
		if ((ec = event_config_new()) == NULL ||
		    event_config_set_max_dispatch_interval(ec, NULL, 8, 1) != 0 ||
		    (srv->base = event_base_new_with_config(ec)) == NULL ||
		    event_base_priority_init(srv->base, 2) != 0)
			fatalx("libevent: cannot create the event base");
		event_config_free(ec);
	}
	if ((srv->reap_ev = event_new(srv->base, -1, 0, main_reap, srv)) ==
	    NULL ||
	    (main_drain_timer = evtimer_new(srv->base, main_drain, srv)) ==
	    NULL)
		fatalx("libevent: out of memory");
	if ((srv->writer = writer_new(st, &cfg, srv->base, main_jobs_done,
	    srv)) == NULL)
		fatal("cannot start the writer thread");
	main_loop_priority(&cfg);	/* after the writer's threads started */
	notify_status("starting the listeners");
	if (listener_start(srv) != 0 || listener_admin_start(srv) != 0)
		fatalx("cannot listen; exiting");
	if (cfg.http && (srv->http = http_start(srv)) == NULL)
		fatalx("cannot start the dashboard; exiting (http off in the "
		    "configuration turns it off)");

	sigterm = evsignal_new(srv->base, SIGTERM, main_stop, srv);
	sigint = evsignal_new(srv->base, SIGINT, main_stop, srv);
	sighup = evsignal_new(srv->base, SIGHUP, main_reload, srv);
	if (!sigterm || !sigint || !sighup || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL) || evsignal_add(sighup, NULL))
		fatalx("libevent: cannot set up signals");

	log_info("pingand %s ready (synchronous=%s, batch_max %d)",
	    PINGAN_VERSION, (const char *[]){ "off", "normal", "full",
	    "extra" }[cfg.synchronous & 3], cfg.batch_max);
	main_watchdog_start(srv->base);
	notify_status("serving");
	notify_ready();
	event_base_dispatch(srv->base);

	/* Stopped: every reply that could be sent has been sent. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	listener_stop(srv);
	writer_stop(srv->writer);
	http_free(srv->http);
	srv->http = NULL;
	while (!TAILQ_EMPTY(&srv->conns))
		conn_close(TAILQ_FIRST(&srv->conns), "shutdown");
	conn_reap(srv);
	writer_free(srv->writer);
	store_close(st);
	roster_free(srv->roster);
	throttle_free(srv->auth_throttle);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_free(main_drain_timer);
	if (main_watchdog_timer != NULL)
		event_free(main_watchdog_timer);
	event_free(srv->reap_ev);
	event_base_free(srv->base);
	free(srv->line);
	tls_ctx_free(srv->tls_ctx);
	log_info("stopped");
	config_free(&cfg);
	libevent_global_shutdown();
	return 0;
}
