/*
 * pingan-bench.c: the load generator for pingand's own protocol.
 *
 * Opens C connections, reads each greeting, authenticates each as a worker
 * and starts the load only when all of them are in (or --connect-timeout
 * has passed).  Then every connection keeps P requests in flight (a closed
 * loop): CHECKIN with a fresh random id, or PING, by the --mix weights,
 * topped up with one write whenever replies arrive.  Replies are matched in
 * order, and a check-in's reply must name the id it was sent with, so a
 * reply out of order is caught.  After --warmup seconds it measures
 * --duration seconds: acks/s, latency from send to reply (log-linear
 * histogram, under 0.4 % error), errors by code, successes per second, the
 * longest silence, fairness across connections and, with --daemon-pid, the
 * daemon's CPU time and resident memory.  --idle N instead holds N
 * authenticated connections open and reports what they cost the daemon.
 *
 * One thread, epoll, non-blocking sockets.  Everything is bounded: the run
 * ends --warmup + --duration + 15 s after it started, whatever happens.
 * Only loopback targets unless --allow-remote is given.
 *
 * The human-readable report goes to stderr; the last line on stdout is the
 * RESULT line (one JSON object with --json).  Exit 0 on a clean run; 1 when
 * nothing succeeded, a connection failed or was lost, or the deadline or a
 * signal cut the run short; 2 on a usage error; 3 when it cannot start.
 */

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "config.h"
#include "pingan.h"

#define EXIT_FAILED	1	/* nothing succeeded, or connections failed */
#define EXIT_USAGE	2
#define EXIT_LOCAL	3	/* cannot start: address, files, memory */

#define NS			1000000000ULL
#define BENCH_PORT		"7700"
#define BENCH_GRID		"DK-01"
#define BENCH_NOTE		"东坑村夜间巡逻，村口道路畅通，未发现异常"
#define BENCH_LINE_MAX		16384		/* bytes in one reply line */
#define BENCH_READ_SIZE		(256 * 1024)	/* bytes of one read() */
#define BENCH_CONNECT_WINDOW	256		/* handshakes at once */
#define BENCH_DRAIN_NS		(2 * NS)	/* wait for replies after */
#define BENCH_IDLE_PING_NS	(3 * NS)	/* idle: the final PING round */
#define BENCH_IDLE_PING_BATCH	64		/* PINGs sent between reads */
#define BENCH_SLACK		15		/* deadline past warmup+duration */
#define BENCH_PRINT_MAX		5		/* messages of one kind shown */
#define BENCH_CONNS_MAX		1000000
#define BENCH_PIPELINE_MAX	65536
#define BENCH_GRIDS_MAX		1024
#define BENCH_FIELDS_MAX	64
#define BENCH_GAPS		5		/* longest silences listed */

/* Log-linear histogram: exact below 256 ns, then 128 buckets per octave. */
#define HIST_SUB_BITS	8
#define HIST_HALF	(1 << (HIST_SUB_BITS - 1))
#define HIST_BUCKETS	((64 - HIST_SUB_BITS + 2) * HIST_HALF)

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

enum bench_mode {
	BENCH_MODE_LOAD = 0,
	BENCH_MODE_IDLE,
};

/* Where the run is; every phase has its own deadline. */
enum bench_phase {
	BENCH_PHASE_SETUP = 0,	/* connecting and authenticating */
	BENCH_PHASE_LOAD,	/* warmup, then the measured window */
	BENCH_PHASE_DRAIN,	/* window over: collect the last replies */
	BENCH_PHASE_HOLD,	/* idle mode: holding the connections */
	BENCH_PHASE_PING,	/* idle mode: one PING on each at the end */
	BENCH_PHASE_DONE,
};

enum bench_conn_state {
	BENCH_CONN_UNOPENED = 0,
	BENCH_CONN_CONNECTING,
	BENCH_CONN_GREETING,	/* waiting for "OK pingan/1 ..." */
	BENCH_CONN_AUTH,	/* AUTH sent */
	BENCH_CONN_READY,	/* authenticated */
	BENCH_CONN_DEAD,
};

enum bench_req {
	BENCH_REQ_CHECKIN = 0,
	BENCH_REQ_PING,
	BENCH_REQ__COUNT,
};

/* Why a connection did not get as far as authenticated. */
enum bench_fail {
	BENCH_FAIL_SOCKET = 0,
	BENCH_FAIL_CONNECT,
	BENCH_FAIL_GREETING,
	BENCH_FAIL_BUSY,
	BENCH_FAIL_AUTH,
	BENCH_FAIL_CLOSED,
	BENCH_FAIL_TIMEOUT,
	BENCH_FAIL__COUNT,
};

static const char *bench_fail_names[BENCH_FAIL__COUNT] = {
	[BENCH_FAIL_SOCKET] = "socket",
	[BENCH_FAIL_CONNECT] = "connect",
	[BENCH_FAIL_GREETING] = "greeting",
	[BENCH_FAIL_BUSY] = "busy",
	[BENCH_FAIL_AUTH] = "auth_failed",
	[BENCH_FAIL_CLOSED] = "closed",
	[BENCH_FAIL_TIMEOUT] = "timeout",
};

/* Error counters: the protocol's codes first, then the bench's own. */
enum bench_err {
	BENCH_ERR_OTHER = PROTO_ERR__COUNT,	/* an ERR code we do not know */
	BENCH_ERR_BAD_REPLY,			/* neither a good OK nor ERR */
	BENCH_ERR_MISMATCH,			/* OK for another id: order */
	BENCH_ERR_UNSOLICITED,			/* a reply to no request */
	BENCH_ERR__COUNT,
};

static const char *bench_err_names[] = {
	"other", "bad_reply", "out_of_order", "unsolicited",
};

/* One worker's login, from --worker/--token or the credentials file. */
struct bench_cred {
	char	*code;
	char	*token;
};

/* A request in flight: when it left and what it was. */
struct bench_slot {
	uint64_t	 sent_ns;
	uint8_t		 uuid[16];
	enum bench_req	 type;
};

/* One connection to the daemon and its pipeline. */
struct bench_conn {
	int			 idx;
	int			 fd;
	enum bench_conn_state	 state;
	bool			 probe;		/* PING every interval only */
	bool			 want_out;
	const struct bench_cred	*cred;
	char			*partial;	/* an incomplete reply line */
	size_t			 partlen;
	size_t			 partsize;
	char			*wbuf;		/* requests not yet written */
	size_t			 wlen;
	size_t			 woff;
	size_t			 wsize;
	struct bench_slot	*ring;		/* in flight, oldest at head */
	unsigned		 ringsize;
	unsigned		 head;
	unsigned		 count;
	uint64_t		 ok_window;	/* successes in the window */
};

/* Latencies in nanoseconds. */
struct bench_hist {
	uint64_t	 b[HIST_BUCKETS];
	uint64_t	 count;
	uint64_t	 min;
	uint64_t	 max;
	double		 sum;
};

/* What the command line asked for. */
struct bench_opts {
	enum bench_mode	 mode;
	const char	*host;
	const char	*port;
	int		 conns;
	int		 pipeline;
	double		 duration;
	double		 warmup;
	double		 connect_timeout;
	const char	*worker;
	const char	*token;
	const char	*credentials;
	const char	*grids;
	const char	*note;
	int		 mix[BENCH_REQ__COUNT];	/* weights */
	pid_t		 daemon_pid;		/* 0: none */
	bool		 json;
	bool		 allow_remote;
	int		 ping_conns;
	double		 ping_interval;		/* seconds */
	const char	*latency_log;		/* NULL: none */
};

/* A sample of the daemon (and of ourselves) at one moment. */
struct bench_sample {
	bool		 taken;
	uint64_t	 at_ns;
	double		 self_cpu;	/* seconds */
	bool		 have_cpu;
	double		 daemon_cpu;	/* seconds */
	bool		 have_mem;
	long		 rss_kb;
	long		 hwm_kb;
};

/* The whole run. */
struct bench {
	struct bench_opts	 o;
	int			 epfd;
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	char			 target[INET6_ADDRSTRLEN + 16];
	struct bench_cred	*creds;
	size_t			 ncreds;
	char			**suffix;	/* " grid=.. kind=.. note=..\n" */
	size_t			*suffixlen;
	size_t			 ngrids;
	size_t			 next_grid;
	uint64_t		 mix_seq;
	uint64_t		 rng[4];
	char			*rbuf;

	struct bench_conn	*conns;
	int			 nconns;	/* load (or idle) + probes */
	int			 nload;
	int			 opened;
	int			 setting_up;
	int			 ready;
	int			 failed;
	uint64_t		 fail[BENCH_FAIL__COUNT];
	int			 disconnects;
	int			 printed_conn;
	int			 printed_err;

	enum bench_phase	 phase;
	uint64_t		 t_start;
	uint64_t		 t_go;		/* all connections in */
	uint64_t		 t_meas0;	/* window, [t_meas0, t_meas1) */
	uint64_t		 t_meas1;
	uint64_t		 deadline;	/* hard end of the run */
	uint64_t		 connect_deadline;
	uint64_t		 drain_deadline;
	uint64_t		 hold_end;
	uint64_t		 next_probe;
	int			 next_ping;	/* idle: next conn to PING */
	uint64_t		 ping_sent_ns;	/* idle: the last one left */
	bool			 deadline_hit;
	bool			 interrupted;

	FILE			*latlog;	/* --latency-log */
	uint64_t		 latlog_lines;

	uint64_t		 sent[BENCH_REQ__COUNT];
	uint64_t		 ok_window[BENCH_REQ__COUNT];
	uint64_t		 dup_window;
	uint64_t		 err_total[BENCH_ERR__COUNT];
	uint64_t		 err_window;
	uint64_t		 outstanding;
	uint64_t		 lost;		/* in flight on a lost conn */
	enum bench_req		 gap_type;	/* whose silence is timed */
	uint64_t		 last_reply;	/* in the window */
	uint64_t		 max_gap;
	uint64_t		 gap_len[BENCH_GAPS];	/* longest first */
	uint64_t		 gap_end[BENCH_GAPS];	/* when it ended */
	uint64_t		*per_second;
	size_t			 nseconds;	/* allocated */
	size_t			 nfull;		/* full seconds in the window */
	struct bench_hist	 hist[BENCH_REQ__COUNT];

	struct bench_sample	 before;	/* before connecting */
	struct bench_sample	 s0;		/* window start (idle: hold) */
	struct bench_sample	 s1;		/* window end */
};

/* One field of the final RESULT line or JSON object. */
enum bench_field_type {
	BENCH_F_U64 = 0,
	BENCH_F_DBL,
	BENCH_F_STR,
	BENCH_F_NULL,
	BENCH_F_ERRS,
};

struct bench_field {
	const char		*key;
	enum bench_field_type	 type;
	uint64_t		 u;
	double			 d;
	int			 prec;
	const char		*s;
};

struct bench_fields {
	struct bench_field	 f[BENCH_FIELDS_MAX];
	int			 n;
};

static volatile sig_atomic_t bench_stop;

static void	 bench_conn_flush(struct bench *, struct bench_conn *);

/* Prints a message about a local problem and exits. */
static void __attribute__((format(printf, 2, 3), noreturn))
bench_die(int status, const char *fmt, ...)
{
	va_list	 ap;

	fputs("pingan-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* Allocates or grows memory, or exits: a benchmark has no way round. */
static void *
bench_realloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		bench_die(EXIT_LOCAL, "内存不足 (out of memory)");
	return p;
}

/* Returns the monotonic clock in nanoseconds. */
static uint64_t
bench_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* Records SIGINT or SIGTERM: the loop stops and reports what it has. */
static void
bench_on_signal(int sig)
{
	bench_stop = sig;
}

/* The last resort if the loop itself overran its deadline. */
static void
bench_on_alarm(int sig)
{
	static const char	 msg[] =
	    "pingan-bench: hard deadline overrun, exiting\n";

	(void)sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(EXIT_FAILED);
}

/* Prints the usage to f. */
static void
bench_usage(FILE *f)
{
	fprintf(f,
"usage: pingan-bench [-h host] [-p port] [-c conns] [-P pipeline]\n"
"           [-d seconds] [-w seconds] (--worker code --token token |\n"
"           --credentials file) [--grid code[,code...]]\n"
"           [--mix checkin=N,ping=M] [--note text] [--daemon-pid pid]\n"
"           [--connect-timeout seconds] [--ping-conns N]\n"
"           [--ping-interval ms] [--latency-log file] [--allow-remote]\n"
"           [--json] [--help]\n"
"       pingan-bench --idle N [-d seconds] ... (same login options)\n"
"\n"
"Closed-loop load generator for pingand (pingan %s).  Connects, reads the\n"
"greeting and authenticates every connection before any load; then each\n"
"connection keeps PIPELINE requests in flight.  The report goes to stderr,\n"
"the final RESULT line (or JSON object) to stdout.\n"
"\n"
"  -h, --host HOST           daemon address (default 127.0.0.1); only\n"
"                            loopback (127.0.0.0/8, ::1, localhost) unless\n"
"                            --allow-remote; without it no name is looked up\n"
"  -p, --port PORT           daemon port (default " BENCH_PORT ")\n"
"  -c, --conns N             connections (default 1)\n"
"  -P, --pipeline N          requests in flight per connection (default 1)\n"
"  -d, --duration SECONDS    measured window (default 5); --idle: how long\n"
"                            to hold the connections\n"
"  -w, --warmup SECONDS      unmeasured load before the window (default 1)\n"
"      --worker CODE         worker code to AUTH as (with --token)\n"
"      --token TOKEN         its token\n"
"      --credentials FILE    pingand's demo-credentials.txt (code<TAB>token\n"
"                            <TAB>role<TAB>name per line): connections are\n"
"                            spread round-robin over its workers\n"
"      --grid CODE[,CODE...] grids of the check-ins, round-robin (default\n"
"                            " BENCH_GRID ")\n"
"      --mix checkin=N,ping=M  weights of CHECKIN and PING requests\n"
"                            (default checkin=1,ping=0).  A PING behind\n"
"                            pipelined check-ins waits for them: replies\n"
"                            come in order; see --ping-conns\n"
"      --note TEXT           the check-ins' note (default a 60-byte Chinese\n"
"                            patrol note)\n"
"      --daemon-pid PID      report the daemon's CPU seconds per second over\n"
"                            the window and its VmRSS/VmHWM at the end\n"
"      --connect-timeout S   bound on connecting and authenticating all\n"
"                            connections (default 10); late ones count as\n"
"                            failed\n"
"      --ping-conns N        N extra connections that send one PING every\n"
"                            --ping-interval and nothing else: the daemon\n"
"                            loop's latency under load (ping_* figures)\n"
"      --ping-interval MS    their interval (default 10)\n"
"      --latency-log FILE    write one line per reply in the window to FILE:\n"
"                            send time in µs from the window's start\n"
"                            (negative: sent in the warm-up), latency in\n"
"                            µs, checkin or ping, connection index (tab-\n"
"                            separated): to see when the slow replies\n"
"                            came, e.g. all connections at once (a stall)\n"
"      --idle N              open N connections, authenticate them, hold\n"
"                            them idle for the duration, PING each once,\n"
"                            and report the daemon's RSS before and after\n"
"                            (needs --daemon-pid)\n"
"      --allow-remote        allow a target that is not loopback\n"
"      --json                print the result as one JSON object instead of\n"
"                            the RESULT line\n"
"      --help                show this help\n",
	    PINGAN_VERSION);
	fputs(
"\n"
"RESULT fields: acks and p*_us are check-ins answered OK inside the window\n"
"(stored or duplicate; latency send -> reply), ping_* the same for PING;\n"
"errors counts ERR replies (and bad replies) over the whole run, by code in\n"
"errors_by_code; max_gap_us is the longest time in the window without a\n"
"check-in acknowledged (a stall); unanswered counts requests still in\n"
"flight 2 s after the window or lost with a connection; jain is Jain's\n"
"fairness index of successes per connection (1 = even); '-' (JSON null)\n"
"means not measured.  --idle PINGs all connections at once at the end,\n"
"so its ping latencies include queueing behind that burst.  The whole run\n"
"is bounded by warmup + duration + 15 s.  Exit status: 0 clean; 1 nothing\n"
"succeeded, a connection failed or was lost, or the run was cut short by\n"
"the deadline or a signal; 2 usage; 3 cannot start (or the latency log\n"
"could not be written).\n", f);
}

/* Parses an integer option within [lo, hi], or exits with a usage error. */
static long
bench_parse_long(const char *name, const char *s, long lo, long hi)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
		bench_die(EXIT_USAGE, "%s: 须为 %ld..%ld 的整数 (must be an "
		    "integer in %ld..%ld): '%s'", name, lo, hi, lo, hi, s);
	return v;
}

/* Parses a number of seconds within [lo, hi], or exits. */
static double
bench_parse_seconds(const char *name, const char *s, double lo, double hi)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !(v >= lo) ||
	    !(v <= hi))
		bench_die(EXIT_USAGE, "%s: 须为 %g..%g 之间的数 (must be a "
		    "number in %g..%g): '%s'", name, lo, hi, lo, hi, s);
	return v;
}

/* Parses "checkin=N,ping=M" (either part may be left out) into weights. */
static void
bench_parse_mix(struct bench_opts *o, const char *s)
{
	char	*copy, *word, *save = NULL, *eq;
	int	 type;

	o->mix[BENCH_REQ_CHECKIN] = 0;
	o->mix[BENCH_REQ_PING] = 0;
	if ((copy = strdup(s)) == NULL)
		bench_die(EXIT_LOCAL, "内存不足 (out of memory)");
	for (word = strtok_r(copy, ",", &save); word != NULL;
	    word = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(word, '=')) == NULL)
			bench_die(EXIT_USAGE, "--mix: 缺少 '=' (missing '='): "
			    "'%s'", word);
		*eq++ = '\0';
		if (strcmp(word, "checkin") == 0)
			type = BENCH_REQ_CHECKIN;
		else if (strcmp(word, "ping") == 0)
			type = BENCH_REQ_PING;
		else
			bench_die(EXIT_USAGE, "--mix: 未知请求 (unknown "
			    "request) '%s'; checkin or ping", word);
		o->mix[type] = (int)bench_parse_long("--mix", eq, 0, 1000000);
	}
	free(copy);
	if (o->mix[BENCH_REQ_CHECKIN] + o->mix[BENCH_REQ_PING] == 0)
		bench_die(EXIT_USAGE, "--mix: 权重全为 0 (all weights are 0)");
}

/* Checks that a login word can go on an AUTH line as it is. */
static bool
bench_word_valid(const char *s)
{
	if (*s == '\0' || strlen(s) > PINGAN_TOKEN_MAX)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* Reads code<TAB>token<TAB>... lines of a credentials file. */
static void
bench_load_credentials(struct bench *b, const char *path)
{
	FILE	*f;
	char	 line[1024], *code, *token, *tab;
	int	 lineno = 0;

	if ((f = fopen(path, "r")) == NULL)
		bench_die(EXIT_LOCAL, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		code = line;
		if ((tab = strchr(code, '\t')) == NULL)
			bench_die(EXIT_USAGE, "%s:%d: 应为 code<TAB>token "
			    "(expected code<TAB>token)", path, lineno);
		*tab = '\0';
		token = tab + 1;
		if ((tab = strchr(token, '\t')) != NULL)
			*tab = '\0';
		if (!bench_word_valid(code) || !bench_word_valid(token))
			bench_die(EXIT_USAGE, "%s:%d: 编号或令牌无效 (bad code "
			    "or token)", path, lineno);
		b->creds = bench_realloc(b->creds,
		    (b->ncreds + 1) * sizeof(*b->creds));
		b->creds[b->ncreds].code = strdup(code);
		b->creds[b->ncreds].token = strdup(token);
		if (b->creds[b->ncreds].code == NULL ||
		    b->creds[b->ncreds].token == NULL)
			bench_die(EXIT_LOCAL, "内存不足 (out of memory)");
		b->ncreds++;
	}
	if (ferror(f))
		bench_die(EXIT_LOCAL, "%s: %s", path, strerror(errno));
	fclose(f);
	if (b->ncreds == 0)
		bench_die(EXIT_USAGE, "%s: 没有登录信息 (no logins)", path);
}

/* Builds the constant tail of a CHECKIN line for every grid. */
static void
bench_build_requests(struct bench *b)
{
	char	*copy, *grid, *save = NULL, *quoted;
	size_t	 qlen, len;

	qlen = proto_quote(NULL, 0, b->o.note);
	quoted = bench_realloc(NULL, qlen + 3);
	proto_quote(quoted, qlen + 1, b->o.note);
	if (quoted[0] != '"') {
		/* The protocol allows a bare note; we always quote it. */
		memmove(quoted + 1, quoted, qlen + 1);
		quoted[0] = '"';
		quoted[qlen + 1] = '"';
		quoted[qlen + 2] = '\0';
	}
	if ((copy = strdup(b->o.grids)) == NULL)
		bench_die(EXIT_LOCAL, "内存不足 (out of memory)");
	for (grid = strtok_r(copy, ",", &save); grid != NULL;
	    grid = strtok_r(NULL, ",", &save)) {
		if (!bench_word_valid(grid) || strchr(grid, '"') != NULL ||
		    strchr(grid, '=') != NULL)
			bench_die(EXIT_USAGE, "--grid: 网格编号无效 (bad grid "
			    "code) '%s'", grid);
		if (b->ngrids == BENCH_GRIDS_MAX)
			bench_die(EXIT_USAGE, "--grid: 最多 %d 个 (at most %d)",
			    BENCH_GRIDS_MAX, BENCH_GRIDS_MAX);
		len = strlen(" grid= kind=patrol note=\n") + strlen(grid) +
		    strlen(quoted);
		b->suffix = bench_realloc(b->suffix,
		    (b->ngrids + 1) * sizeof(*b->suffix));
		b->suffixlen = bench_realloc(b->suffixlen,
		    (b->ngrids + 1) * sizeof(*b->suffixlen));
		b->suffix[b->ngrids] = bench_realloc(NULL, len + 1);
		b->suffixlen[b->ngrids] = (size_t)snprintf(
		    b->suffix[b->ngrids], len + 1,
		    " grid=%s kind=patrol note=%s\n", grid, quoted);
		b->ngrids++;
	}
	free(copy);
	free(quoted);
	if (b->ngrids == 0)
		bench_die(EXIT_USAGE, "--grid: 没有网格 (no grid)");
}

/* Tells whether an address is on this machine's loopback. */
static bool
bench_addr_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const uint8_t			*a;

	if (ss->ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)ss;
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		a = sin6->sin6_addr.s6_addr;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && a[12] == 127;
	}
	return false;
}

/*
 * Turns --host and --port into the one address every connection uses.
 * Without --allow-remote only "localhost" and numeric loopback addresses
 * are taken, and no resolver is asked (it might send a DNS query out).
 */
static void
bench_resolve(struct bench *b)
{
	struct addrinfo	 hints, *res;
	const char	*host = b->o.host;
	char		 addr[INET6_ADDRSTRLEN];
	int		 r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (!b->o.allow_remote) {
		if (strcasecmp(host, "localhost") == 0)
			host = "127.0.0.1";
		hints.ai_flags |= AI_NUMERICHOST;
	}
	if ((r = getaddrinfo(host, b->o.port, &hints, &res)) != 0)
		bench_die(r == EAI_NONAME || r == EAI_SERVICE ? EXIT_USAGE :
		    EXIT_LOCAL, "%s port %s: %s%s", b->o.host, b->o.port,
		    gai_strerror(r), b->o.allow_remote ? "" : " (只接受本机地址 "
		    "(only loopback addresses without --allow-remote))");
	memcpy(&b->addr, res->ai_addr, res->ai_addrlen);
	b->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	if (!b->o.allow_remote && !bench_addr_loopback(&b->addr))
		bench_die(EXIT_USAGE, "%s: 不是本机地址, 需 --allow-remote "
		    "(not a loopback address; needs --allow-remote)",
		    b->o.host);
	if (b->addr.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&b->addr)->sin_addr,
		    addr, sizeof(addr));
	else
		inet_ntop(AF_INET6,
		    &((struct sockaddr_in6 *)&b->addr)->sin6_addr, addr,
		    sizeof(addr));
	snprintf(b->target, sizeof(b->target),
	    b->addr.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", addr,
	    b->o.port);
}

/* Returns the next number of a xoshiro256** generator. */
static uint64_t
bench_rng_next(struct bench *b)
{
	uint64_t	*s = b->rng;
	uint64_t	 result, t;

	result = ((s[1] * 5) << 7 | (s[1] * 5) >> 57) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = s[3] << 45 | s[3] >> 19;
	return result;
}

/*
 * Seeds the generator from libuuid's random source: one system call at
 * start instead of one per check-in, which would cost client CPU that the
 * daemon on the other core is measured against.
 */
static void
bench_rng_seed(struct bench *b)
{
	uuid_t	 u[2];

	uuid_generate_random(u[0]);
	uuid_generate_random(u[1]);
	memcpy(b->rng, u[0], 16);
	memcpy((uint8_t *)b->rng + 16, u[1], 16);
}

/* Makes a fresh random (version 4) UUID. */
static void
bench_uuid_new(struct bench *b, uint8_t uuid[16])
{
	uint64_t	 hi = bench_rng_next(b), lo = bench_rng_next(b);

	memcpy(uuid, &hi, 8);
	memcpy(uuid + 8, &lo, 8);
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
}

/* Returns the bucket of a value. */
static int
bench_hist_index(uint64_t v)
{
	int	 msb, shift;

	if (v < 2 * HIST_HALF)
		return (int)v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - (HIST_SUB_BITS - 1);
	return shift * HIST_HALF + (int)(v >> shift);
}

/* Returns the smallest value of a bucket and, in ret_width, its width. */
static uint64_t
bench_hist_low(int i, uint64_t *ret_width)
{
	int	 shift;

	if (i < 2 * HIST_HALF) {
		*ret_width = 1;
		return (uint64_t)i;
	}
	shift = i / HIST_HALF - 1;
	*ret_width = 1ULL << shift;
	return (uint64_t)(i - shift * HIST_HALF) << shift;
}

/* Adds one latency to a histogram. */
static void
bench_hist_add(struct bench_hist *h, uint64_t v)
{
	h->b[bench_hist_index(v)]++;
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += (double)v;
}

/* Returns the q-quantile in microseconds (middle of its bucket). */
static double
bench_hist_quantile(const struct bench_hist *h, double q)
{
	uint64_t	 rank, seen = 0, lo, width, v;
	int		 i;

	if (h->count == 0)
		return 0;
	rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			break;
	}
	if (i == HIST_BUCKETS)
		return (double)h->max / 1e3;
	lo = bench_hist_low(i, &width);
	v = lo + (width - 1) / 2;
	if (v < h->min)
		v = h->min;
	if (v > h->max)
		v = h->max;
	return (double)v / 1e3;
}

/* Reads the CPU seconds (user + system, all threads) of a process. */
static int
bench_proc_cpu(pid_t pid, double *ret_seconds)
{
	char			 path[64], buf[2048], *p, *save = NULL;
	unsigned long long	 utime = 0, stime = 0;
	FILE			*f;
	size_t			 n;
	int			 field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The name in parentheses may hold spaces: count after its end. */
	if ((p = strrchr(buf, ')')) == NULL)
		return -EINVAL;
	field = 3;
	for (p = strtok_r(p + 1, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save), field++) {
		if (field == 14)
			utime = strtoull(p, NULL, 10);
		else if (field == 15) {
			stime = strtoull(p, NULL, 10);
			break;
		}
	}
	if (field != 15)
		return -EINVAL;
	*ret_seconds = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

/* Reads VmRSS and VmHWM (kB) of a process. */
static int
bench_proc_mem(pid_t pid, long *ret_rss, long *ret_hwm)
{
	char	 path[64], line[256];
	long	 rss = -1, hwm = -1;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			rss = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "VmHWM:", 6) == 0)
			hwm = strtol(line + 6, NULL, 10);
	}
	fclose(f);
	if (rss < 0 || hwm < 0)
		return -EINVAL;
	*ret_rss = rss;
	*ret_hwm = hwm;
	return 0;
}

/* Takes a sample of our CPU time and the daemon's CPU time and memory. */
static void
bench_sample_take(struct bench *b, struct bench_sample *s)
{
	struct rusage	 ru;

	memset(s, 0, sizeof(*s));
	s->taken = true;
	s->at_ns = bench_now();
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		s->self_cpu = (double)ru.ru_utime.tv_sec +
		    (double)ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec +
		    (double)ru.ru_stime.tv_usec / 1e6;
	if (b->o.daemon_pid == 0)
		return;
	s->have_cpu = bench_proc_cpu(b->o.daemon_pid, &s->daemon_cpu) == 0;
	s->have_mem = bench_proc_mem(b->o.daemon_pid, &s->rss_kb,
	    &s->hwm_kb) == 0;
}

/* Copies at most 160 bytes of untrusted text, control bytes made '?'. */
static const char *
bench_printable(char *dst, size_t dstlen, const char *src)
{
	size_t	 i;

	for (i = 0; src[i] != '\0' && i + 1 < dstlen && i < 160; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ?
		    '?' : src[i];
	dst[i] = '\0';
	return dst;
}

/* Sets the epoll events of a connection: reading, and writing if wanted. */
static void
bench_conn_want_out(struct bench *b, struct bench_conn *c, bool on)
{
	struct epoll_event	 ev;

	if (c->want_out == on)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
		bench_die(EXIT_LOCAL, "epoll_ctl: %s", strerror(errno));
	c->want_out = on;
}

/*
 * Takes a connection out of the run: before it was authenticated that is
 * a failed connection (counted by reason), after it a lost one, whose
 * requests in flight will never be answered.
 */
static void
bench_conn_drop(struct bench *b, struct bench_conn *c, enum bench_fail why,
    const char *detail)
{
	char	 text[256];

	if (c->state == BENCH_CONN_DEAD)
		return;
	if (c->fd != -1) {
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	bench_printable(text, sizeof(text), detail);
	if (c->state == BENCH_CONN_READY) {
		b->disconnects++;
		b->ready--;
		b->lost += c->count;
		b->outstanding -= c->count;
		c->count = 0;
		if (b->printed_conn++ < BENCH_PRINT_MAX)
			fprintf(stderr, "pingan-bench: 连接 %d 断开 (connection "
			    "%d lost): %s\n", c->idx, c->idx, text);
	} else {
		if (c->state != BENCH_CONN_UNOPENED)
			b->setting_up--;
		b->failed++;
		b->fail[why]++;
		if (b->printed_conn++ < BENCH_PRINT_MAX)
			fprintf(stderr, "pingan-bench: 连接 %d 失败 (connection "
			    "%d failed, %s): %s\n", c->idx, c->idx,
			    bench_fail_names[why], text);
	}
	c->state = BENCH_CONN_DEAD;
}

/* Appends bytes to a connection's output. */
static void
bench_conn_put(struct bench_conn *c, const char *s, size_t len)
{
	if (c->wlen + len > c->wsize && c->woff > 0) {
		memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
		c->wlen -= c->woff;
		c->woff = 0;
	}
	if (c->wlen + len > c->wsize) {
		while (c->wlen + len > c->wsize)
			c->wsize = c->wsize == 0 ? 512 : c->wsize * 2;
		c->wbuf = bench_realloc(c->wbuf, c->wsize);
	}
	memcpy(c->wbuf + c->wlen, s, len);
	c->wlen += len;
}

/* Writes what a connection has to send, as far as the socket takes it. */
static void
bench_conn_flush(struct bench *b, struct bench_conn *c)
{
	ssize_t	 n;

	while (c->woff < c->wlen) {
		n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
		    MSG_NOSIGNAL);
		if (n > 0) {
			c->woff += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			bench_conn_want_out(b, c, true);
			return;
		}
		bench_conn_drop(b, c, BENCH_FAIL_CLOSED,
		    n == -1 ? strerror(errno) : "write returned 0");
		return;
	}
	c->woff = c->wlen = 0;
	bench_conn_want_out(b, c, false);
}

/* Picks the type of the next request by the --mix weights. */
static enum bench_req
bench_next_type(struct bench *b)
{
	uint64_t	 total;

	total = (uint64_t)b->o.mix[BENCH_REQ_CHECKIN] +
	    (uint64_t)b->o.mix[BENCH_REQ_PING];
	if (b->mix_seq++ % total < (uint64_t)b->o.mix[BENCH_REQ_CHECKIN])
		return BENCH_REQ_CHECKIN;
	return BENCH_REQ_PING;
}

/* Queues one request on a connection and notes when it left. */
static void
bench_conn_push(struct bench *b, struct bench_conn *c, enum bench_req type,
    uint64_t now)
{
	struct bench_slot	*s;
	char			 id[PINGAN_UUID_STRLEN + 1];
	size_t			 g;

	s = &c->ring[(c->head + c->count) % c->ringsize];
	s->sent_ns = now;
	s->type = type;
	if (type == BENCH_REQ_CHECKIN) {
		bench_uuid_new(b, s->uuid);
		proto_uuid_format(s->uuid, id);
		g = b->next_grid++ % b->ngrids;
		bench_conn_put(c, "CHECKIN id=", 11);
		bench_conn_put(c, id, PINGAN_UUID_STRLEN);
		bench_conn_put(c, b->suffix[g], b->suffixlen[g]);
	} else
		bench_conn_put(c, "PING\n", 5);
	c->count++;
	b->outstanding++;
	b->sent[type]++;
}

/* Tops a loaded connection's pipeline up, with one write. */
static void
bench_conn_refill(struct bench *b, struct bench_conn *c)
{
	uint64_t	 now;

	if (c->state != BENCH_CONN_READY || b->phase != BENCH_PHASE_LOAD ||
	    c->probe || c->count >= c->ringsize)
		return;
	now = bench_now();
	while (c->count < c->ringsize)
		bench_conn_push(b, c, bench_next_type(b), now);
	bench_conn_flush(b, c);
}

/* Sends one PING on a connection that has nothing in flight. */
static void
bench_conn_ping(struct bench *b, struct bench_conn *c)
{
	if (c->state != BENCH_CONN_READY || c->count > 0)
		return;
	bench_conn_push(b, c, BENCH_REQ_PING, bench_now());
	bench_conn_flush(b, c);
}

/* Returns the counter of an ERR code. */
static int
bench_err_lookup(const char *code)
{
	size_t	 len = strcspn(code, " ");
	int	 i;

	for (i = 1; i < PROTO_ERR__COUNT; i++)
		if (strlen(proto_err_code(i)) == len &&
		    strncmp(proto_err_code(i), code, len) == 0)
			return i;
	return BENCH_ERR_OTHER;
}

/* Returns the name of an error counter. */
static const char *
bench_err_name(int i)
{
	if (i < PROTO_ERR__COUNT)
		return proto_err_code(i);
	return bench_err_names[i - PROTO_ERR__COUNT];
}

/* Counts an error reply and shows the first few. */
static void
bench_count_error(struct bench *b, int err, const struct bench_conn *c,
    const char *line, bool window)
{
	char	 text[256];

	b->err_total[err]++;
	if (window)
		b->err_window++;
	if (b->printed_err++ < BENCH_PRINT_MAX)
		fprintf(stderr, "pingan-bench: 连接 %d 的回复 (reply on "
		    "connection %d): %s\n", c->idx, c->idx,
		    bench_printable(text, sizeof(text), line));
}

/* Notes a silence that ended at end, keeping the longest few. */
static void
bench_gap_add(struct bench *b, uint64_t len, uint64_t end)
{
	int	 i, j;

	if (len > b->max_gap)
		b->max_gap = len;
	for (i = 0; i < BENCH_GAPS && b->gap_len[i] >= len; i++)
		;
	if (i == BENCH_GAPS)
		return;
	for (j = BENCH_GAPS - 1; j > i; j--) {
		b->gap_len[j] = b->gap_len[j - 1];
		b->gap_end[j] = b->gap_end[j - 1];
	}
	b->gap_len[i] = len;
	b->gap_end[i] = end;
}

/*
 * Matches a reply to the oldest request in flight on its connection.  A
 * check-in counts as acknowledged when the reply is "OK <its id> stored"
 * or "OK <its id> duplicate"; another id means replies came out of order.
 */
static void
bench_conn_reply(struct bench *b, struct bench_conn *c, const char *line,
    size_t len, uint64_t now)
{
	struct bench_slot	*s;
	char			 id[PINGAN_UUID_STRLEN + 1];
	const char		*rest;
	bool			 window, ok = false, dup = false;
	int			 err = BENCH_ERR_BAD_REPLY;
	size_t			 sec;

	window = now >= b->t_meas0 && now < b->t_meas1;
	if (c->count == 0) {
		bench_count_error(b, BENCH_ERR_UNSOLICITED, c, line, window);
		return;
	}
	s = &c->ring[c->head];
	c->head = (c->head + 1) % c->ringsize;
	c->count--;
	b->outstanding--;
	if (strncmp(line, "OK ", 3) == 0) {
		if (s->type == BENCH_REQ_PING)
			ok = strcmp(line, "OK PONG") == 0;
		else {
			proto_uuid_format(s->uuid, id);
			rest = line + 3 + PINGAN_UUID_STRLEN;
			if (len < 3 + PINGAN_UUID_STRLEN ||
			    strncasecmp(line + 3, id, PINGAN_UUID_STRLEN) != 0)
				err = BENCH_ERR_MISMATCH;
			else if (strcmp(rest, " stored") == 0)
				ok = true;
			else if (strcmp(rest, " duplicate") == 0)
				ok = dup = true;
		}
	} else if (strncmp(line, "ERR ", 4) == 0)
		err = bench_err_lookup(line + 4);
	if (!ok) {
		bench_count_error(b, err, c, line, window);
		return;
	}
	if (!window)
		return;
	b->ok_window[s->type]++;
	if (dup)
		b->dup_window++;
	if (s->type == b->gap_type) {
		bench_gap_add(b, now - b->last_reply, now);
		b->last_reply = now;
	}
	c->ok_window++;
	bench_hist_add(&b->hist[s->type], now - s->sent_ns);
	if (b->latlog != NULL) {
		fprintf(b->latlog, "%.1f\t%.1f\t%s\t%d\n",
		    (double)(int64_t)(s->sent_ns - b->t_meas0) / 1e3,
		    (double)(now - s->sent_ns) / 1e3,
		    s->type == BENCH_REQ_PING ? "ping" : "checkin", c->idx);
		b->latlog_lines++;
	}
	sec = (size_t)((now - b->t_meas0) / NS);
	if (sec < b->nseconds)
		b->per_second[sec]++;
}

/* Handles one line from the daemon, by the connection's state. */
static void
bench_conn_line(struct bench *b, struct bench_conn *c, const char *line,
    size_t len, uint64_t now)
{
	char	 auth[2 * PINGAN_TOKEN_MAX + 16];
	int	 n;

	switch (c->state) {
	case BENCH_CONN_GREETING:
		if (strncmp(line, "OK pingan/1 ", 12) != 0) {
			bench_conn_drop(b, c, strncmp(line, "ERR busy", 8) == 0 ?
			    BENCH_FAIL_BUSY : BENCH_FAIL_GREETING, line);
			return;
		}
		n = snprintf(auth, sizeof(auth), "AUTH %s %s\n", c->cred->code,
		    c->cred->token);
		bench_conn_put(c, auth, (size_t)n);
		c->state = BENCH_CONN_AUTH;
		bench_conn_flush(b, c);
		return;
	case BENCH_CONN_AUTH:
		if (strncmp(line, "OK", 2) != 0 ||
		    (line[2] != ' ' && line[2] != '\0')) {
			bench_conn_drop(b, c, BENCH_FAIL_AUTH, line);
			return;
		}
		c->state = BENCH_CONN_READY;
		b->setting_up--;
		b->ready++;
		return;
	case BENCH_CONN_READY:
		bench_conn_reply(b, c, line, len, now);
		return;
	default:
		return;
	}
}

/*
 * Reads what a connection has (one read per wake-up, which keeps the
 * connections fair to each other), handles every complete line and keeps
 * the incomplete rest for next time.  A loaded connection then tops up.
 */
static void
bench_conn_read(struct bench *b, struct bench_conn *c)
{
	char		*p, *end, *nl;
	ssize_t		 n;
	size_t		 len;
	uint64_t	 now;

	if (c->partlen > 0)
		memcpy(b->rbuf, c->partial, c->partlen);
	n = read(c->fd, b->rbuf + c->partlen, BENCH_READ_SIZE - c->partlen);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		bench_conn_drop(b, c, BENCH_FAIL_CLOSED,
		    n == 0 ? "对方关闭 (closed by the daemon)" : strerror(errno));
		return;
	}
	now = bench_now();
	p = b->rbuf;
	end = b->rbuf + c->partlen + (size_t)n;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		len = (size_t)(nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		p[len] = '\0';
		bench_conn_line(b, c, p, len, now);
		if (c->state == BENCH_CONN_DEAD)
			return;
		p = nl + 1;
	}
	len = (size_t)(end - p);
	if (len > BENCH_LINE_MAX) {
		bench_conn_drop(b, c, BENCH_FAIL_CLOSED,
		    "回复行过长 (reply line too long)");
		return;
	}
	if (len > c->partsize) {
		c->partsize = len < 256 ? 256 : len;
		c->partial = bench_realloc(c->partial, c->partsize);
	}
	if (len > 0)
		memcpy(c->partial, p, len);
	c->partlen = len;
	bench_conn_refill(b, c);
}

/* Finishes a non-blocking connect. */
static void
bench_conn_connected(struct bench *b, struct bench_conn *c)
{
	int		 err = 0;
	socklen_t	 errlen = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
		err = errno;
	if (err != 0) {
		bench_conn_drop(b, c, BENCH_FAIL_CONNECT, strerror(err));
		return;
	}
	c->state = BENCH_CONN_GREETING;
	bench_conn_want_out(b, c, false);
}

/* Opens one connection, non-blocking, without Nagle. */
static void
bench_conn_open(struct bench *b, struct bench_conn *c)
{
	struct epoll_event	 ev;
	int			 one = 1, r;

	b->setting_up++;
	c->state = BENCH_CONN_CONNECTING;
	c->fd = socket(b->addr.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		bench_conn_drop(b, c, BENCH_FAIL_SOCKET, strerror(errno));
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	r = connect(c->fd, (struct sockaddr *)&b->addr, b->addrlen);
	if (r == -1 && errno != EINPROGRESS) {
		bench_conn_drop(b, c, BENCH_FAIL_CONNECT, strerror(errno));
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = r == 0 ? EPOLLIN : EPOLLOUT;
	ev.data.ptr = c;
	c->want_out = r != 0;
	if (r == 0)
		c->state = BENCH_CONN_GREETING;
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		bench_die(EXIT_LOCAL, "epoll_ctl: %s", strerror(errno));
}

/* Opens connections while fewer than the window are being set up. */
static void
bench_open_more(struct bench *b)
{
	while (b->opened < b->nconns &&
	    b->setting_up < BENCH_CONNECT_WINDOW)
		bench_conn_open(b, &b->conns[b->opened++]);
}

/* Gives up on every connection not yet authenticated. */
static void
bench_setup_timeout(struct bench *b)
{
	int	 i;

	for (i = 0; i < b->nconns; i++)
		if (b->conns[i].state != BENCH_CONN_READY)
			bench_conn_drop(b, &b->conns[i], BENCH_FAIL_TIMEOUT,
			    "未在时限内就绪 (not ready in time)");
	b->opened = b->nconns;
}

/* All connections are in (or given up): start the load or the hold. */
static void
bench_start(struct bench *b, uint64_t now)
{
	int	 i;

	b->t_go = now;
	if (b->ready == 0) {
		/* Nothing to load or hold: report at once. */
		b->phase = BENCH_PHASE_DONE;
		return;
	}
	if (b->o.mode == BENCH_MODE_IDLE) {
		b->phase = BENCH_PHASE_HOLD;
		b->hold_end = now + (uint64_t)(b->o.duration * (double)NS);
		bench_sample_take(b, &b->s0);
		return;
	}
	b->phase = BENCH_PHASE_LOAD;
	b->t_meas0 = now + (uint64_t)(b->o.warmup * (double)NS);
	b->t_meas1 = b->t_meas0 + (uint64_t)(b->o.duration * (double)NS);
	b->last_reply = b->t_meas0;
	b->next_probe = now;
	for (i = 0; i < b->nconns; i++)
		bench_conn_refill(b, &b->conns[i]);
}

/*
 * Idle mode: sends one PING on every connection still held, a batch per
 * turn of the loop, so that replies are read while later PINGs go out and
 * a PING's latency is the daemon's, not the time we took to send the rest.
 */
static void
bench_idle_ping(struct bench *b)
{
	int	 end;

	end = b->next_ping + BENCH_IDLE_PING_BATCH;
	if (end > b->nconns)
		end = b->nconns;
	for (; b->next_ping < end; b->next_ping++)
		bench_conn_ping(b, &b->conns[b->next_ping]);
	b->ping_sent_ns = bench_now();
}

/* Advances the phase by the clock; returns the next moment to wake up. */
static uint64_t
bench_tick(struct bench *b, uint64_t now)
{
	uint64_t	 next = b->deadline, step;
	int		 i;

#define WAKE(t) do { if ((t) < next) next = (t); } while (0)
	switch (b->phase) {
	case BENCH_PHASE_SETUP:
		if (now >= b->connect_deadline)
			bench_setup_timeout(b);
		bench_open_more(b);
		if (b->ready + b->disconnects + b->failed == b->nconns) {
			bench_start(b, now);
			return now;
		}
		WAKE(b->connect_deadline);
		break;
	case BENCH_PHASE_LOAD:
		if (!b->s0.taken && now >= b->t_meas0)
			bench_sample_take(b, &b->s0);
		if (now >= b->t_meas1) {
			bench_sample_take(b, &b->s1);
			b->phase = BENCH_PHASE_DRAIN;
			b->drain_deadline = now + BENCH_DRAIN_NS;
			return now;
		}
		if (b->o.ping_conns > 0 && now >= b->next_probe) {
			for (i = 0; i < b->nconns; i++)
				if (b->conns[i].probe)
					bench_conn_ping(b, &b->conns[i]);
			step = (uint64_t)(b->o.ping_interval * (double)NS);
			b->next_probe += step;
			if (b->next_probe <= now)
				b->next_probe = now + step;
		}
		WAKE(b->s0.taken ? b->t_meas1 : b->t_meas0);
		if (b->o.ping_conns > 0)
			WAKE(b->next_probe);
		break;
	case BENCH_PHASE_DRAIN:
		if (b->outstanding == 0 || now >= b->drain_deadline) {
			b->phase = BENCH_PHASE_DONE;
			return now;
		}
		WAKE(b->drain_deadline);
		break;
	case BENCH_PHASE_HOLD:
		if (now >= b->hold_end) {
			bench_sample_take(b, &b->s1);
			b->phase = BENCH_PHASE_PING;
			b->gap_type = BENCH_REQ_PING;
			b->t_meas0 = now;
			b->t_meas1 = now + BENCH_IDLE_PING_NS;
			b->last_reply = now;
			return now;
		}
		WAKE(b->hold_end);
		break;
	case BENCH_PHASE_PING:
		if (now >= b->t_meas1 || (b->next_ping == b->nconns &&
		    b->outstanding == 0)) {
			if (now < b->t_meas1)
				b->t_meas1 = now;
			b->phase = BENCH_PHASE_DONE;
			return now;
		}
		if (b->next_ping < b->nconns) {
			bench_idle_ping(b);
			return now;
		}
		WAKE(b->t_meas1);
		break;
	case BENCH_PHASE_DONE:
		return now;
	}
#undef WAKE
	return next;
}

/* Runs the event loop until the run is done, interrupted or out of time. */
static void
bench_loop(struct bench *b)
{
	struct epoll_event	 evs[1024];
	struct bench_conn	*c;
	uint64_t		 now, next;
	int			 i, n, timeout;

	for (;;) {
		now = bench_now();
		if (bench_stop) {
			b->interrupted = true;
			break;
		}
		if (now >= b->deadline) {
			b->deadline_hit = true;
			break;
		}
		next = bench_tick(b, now);
		if (b->phase == BENCH_PHASE_DONE)
			break;
		timeout = 0;
		if (next > now)
			timeout = (int)((next - now + 999999) / 1000000);
		n = epoll_wait(b->epfd, evs, (int)nitems(evs), timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			bench_die(EXIT_LOCAL, "epoll_wait: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c->state == BENCH_CONN_DEAD)
				continue;
			if (c->state == BENCH_CONN_CONNECTING) {
				bench_conn_connected(b, c);
				continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				bench_conn_read(b, c);
			if (c->state != BENCH_CONN_DEAD &&
			    (evs[i].events & EPOLLOUT))
				bench_conn_flush(b, c);
		}
	}
	/* Cut short while connecting, or inside the window: it ends here. */
	if (b->phase == BENCH_PHASE_SETUP)
		bench_setup_timeout(b);
	now = bench_now();
	if (b->s0.taken && !b->s1.taken) {
		bench_sample_take(b, &b->s1);
		if (now < b->t_meas1)
			b->t_meas1 = now;
	}
	if (b->deadline_hit)
		fprintf(stderr, "pingan-bench: 到达时限, 提前结束 (hard "
		    "deadline reached, reporting what there is)\n");
	if (b->interrupted)
		fprintf(stderr, "pingan-bench: 被信号中断 (interrupted by "
		    "signal %d)\n", (int)bench_stop);
}

/* Closes every connection still open; the counters stay for the report. */
static void
bench_close_all(struct bench *b)
{
	struct bench_conn	*c;
	int			 i;

	for (i = 0; i < b->nconns; i++) {
		c = &b->conns[i];
		if (c->fd != -1) {
			close(c->fd);
			c->fd = -1;
		}
	}
}

/* Frees the connections. */
static void
bench_free_all(struct bench *b)
{
	struct bench_conn	*c;
	int			 i;

	for (i = 0; i < b->nconns; i++) {
		c = &b->conns[i];
		free(c->partial);
		free(c->wbuf);
		free(c->ring);
	}
	free(b->conns);
	b->conns = NULL;
}

/* Adds an unsigned field to the result. */
static void
bench_out_u64(struct bench_fields *fl, const char *key, uint64_t v)
{
	struct bench_field	*f = &fl->f[fl->n++];

	f->key = key;
	f->type = BENCH_F_U64;
	f->u = v;
}

/* Adds a number to the result, or '-' (null) when it was not measured. */
static void
bench_out_dbl(struct bench_fields *fl, const char *key, bool have, double v,
    int prec)
{
	struct bench_field	*f = &fl->f[fl->n++];

	f->key = key;
	f->type = have ? BENCH_F_DBL : BENCH_F_NULL;
	f->d = v;
	f->prec = prec;
}

/* Adds a signed figure that may be unknown (negative). */
static void
bench_out_kb(struct bench_fields *fl, const char *key, bool have, long v)
{
	bench_out_dbl(fl, key, have && v >= 0, (double)v, 0);
}

/* Adds a plain word to the result. */
static void
bench_out_str(struct bench_fields *fl, const char *key, const char *s)
{
	struct bench_field	*f = &fl->f[fl->n++];

	f->key = key;
	f->type = BENCH_F_STR;
	f->s = s;
}

/* Prints the error counters: "code:n,..." or a JSON object. */
static void
bench_print_errs(const struct bench *b, bool json)
{
	bool	 first = true;
	int	 i;

	if (json)
		putchar('{');
	for (i = 1; i < BENCH_ERR__COUNT; i++) {
		if (b->err_total[i] == 0)
			continue;
		printf(json ? "%s\"%s\":%llu" : "%s%s:%llu", first ? "" : ",",
		    bench_err_name(i), (unsigned long long)b->err_total[i]);
		first = false;
	}
	if (json)
		putchar('}');
	else if (first)
		putchar('-');
}

/* Prints the result fields as the RESULT line or one JSON object. */
static void
bench_out_print(const struct bench *b, const struct bench_fields *fl,
    bool json)
{
	const struct bench_field	*f;
	size_t				 s;
	int				 i;

	fputs(json ? "{" : "RESULT", stdout);
	for (i = 0; i < fl->n; i++) {
		f = &fl->f[i];
		if (json)
			printf("%s\"%s\":", i == 0 ? "" : ",", f->key);
		else
			printf(" %s=", f->key);
		switch (f->type) {
		case BENCH_F_U64:
			printf("%llu", (unsigned long long)f->u);
			break;
		case BENCH_F_DBL:
			printf("%.*f", f->prec, f->d);
			break;
		case BENCH_F_STR:
			printf(json ? "\"%s\"" : "%s", f->s);
			break;
		case BENCH_F_NULL:
			fputs(json ? "null" : "-", stdout);
			break;
		case BENCH_F_ERRS:
			bench_print_errs(b, json);
			break;
		}
	}
	if (json && b->o.mode == BENCH_MODE_LOAD) {
		fputs(",\"per_second\":[", stdout);
		for (s = 0; s < b->nfull; s++)
			printf("%s%llu", s == 0 ? "" : ",",
			    (unsigned long long)b->per_second[s]);
		putchar(']');
	}
	puts(json ? "}" : "");
	fflush(stdout);
}

/* Prints the latency figures of one request type to stderr. */
static void
bench_report_latency(const struct bench_hist *h)
{
	fprintf(stderr, "             latency us: p50 %.1f  p90 %.1f  p99 %.1f"
	    "  p99.9 %.1f  max %.1f  mean %.1f\n",
	    bench_hist_quantile(h, 0.5), bench_hist_quantile(h, 0.9),
	    bench_hist_quantile(h, 0.99), bench_hist_quantile(h, 0.999),
	    (double)h->max / 1e3, h->count ? h->sum / (double)h->count / 1e3 : 0);
}

/* Prints the setup outcome and the error counts to stderr. */
static void
bench_report_common(const struct bench *b)
{
	uint64_t	 errs = 0;
	bool		 first = true;
	int		 i;

	fprintf(stderr, "  setup      %d of %d connections authenticated in "
	    "%.3f s", b->ready + b->disconnects, b->nconns,
	    b->t_go > 0 ? (double)(b->t_go - b->t_start) / 1e9 : 0);
	if (b->failed > 0) {
		fprintf(stderr, "; %d failed:", b->failed);
		for (i = 0; i < BENCH_FAIL__COUNT; i++)
			if (b->fail[i] > 0)
				fprintf(stderr, " %s %llu", bench_fail_names[i],
				    (unsigned long long)b->fail[i]);
	}
	fputc('\n', stderr);
	for (i = 1; i < BENCH_ERR__COUNT; i++)
		errs += b->err_total[i];
	fprintf(stderr, "  errors     %llu over the run",
	    (unsigned long long)errs);
	for (i = 1; i < BENCH_ERR__COUNT; i++)
		if (b->err_total[i] > 0) {
			fprintf(stderr, "%s %s %llu", first ? ":" : ",",
			    bench_err_name(i),
			    (unsigned long long)b->err_total[i]);
			first = false;
		}
	fprintf(stderr, "; %d connections lost\n", b->disconnects);
}

/* Reports a load run; returns the exit status. */
static int
bench_report_load(struct bench *b)
{
	struct bench_fields	 fl;
	const struct bench_hist	*hc = &b->hist[BENCH_REQ_CHECKIN];
	const struct bench_hist	*hp = &b->hist[BENCH_REQ_PING];
	double			 window = 0, jain = 0, sum = 0, sum2 = 0, x;
	double			 span, dcpu = 0, ccpu = 0;
	uint64_t		 errs = 0, cmin = UINT64_MAX, cmax = 0;
	uint64_t		 smin = UINT64_MAX, smax = 0, unanswered, gap;
	bool			 have_dcpu = false, have_mem;
	int			 i, starved = 0, counted = 0;
	size_t			 s, full;

	if (b->s0.taken && b->t_meas1 > b->t_meas0)
		window = (double)(b->t_meas1 - b->t_meas0) / 1e9;
	for (i = 1; i < BENCH_ERR__COUNT; i++)
		errs += b->err_total[i];
	for (i = 0; i < b->nconns; i++) {
		if (b->conns[i].probe)
			continue;
		if (b->conns[i].state != BENCH_CONN_READY &&
		    b->conns[i].ok_window == 0)
			continue;
		x = (double)b->conns[i].ok_window;
		sum += x;
		sum2 += x * x;
		counted++;
		if (b->conns[i].ok_window < cmin)
			cmin = b->conns[i].ok_window;
		if (b->conns[i].ok_window > cmax)
			cmax = b->conns[i].ok_window;
		if (b->conns[i].ok_window == 0)
			starved++;
	}
	if (sum2 > 0)
		jain = sum * sum / ((double)counted * sum2);
	if (counted == 0)
		cmin = 0;
	unanswered = b->outstanding + b->lost;
	if (b->s0.taken && b->t_meas1 > b->last_reply)
		bench_gap_add(b, b->t_meas1 - b->last_reply, b->t_meas1);
	gap = b->max_gap;
	if (b->s0.taken && b->s1.taken && b->s1.at_ns > b->s0.at_ns) {
		span = (double)(b->s1.at_ns - b->s0.at_ns) / 1e9;
		ccpu = (b->s1.self_cpu - b->s0.self_cpu) / span;
		have_dcpu = b->s0.have_cpu && b->s1.have_cpu;
		if (have_dcpu)
			dcpu = (b->s1.daemon_cpu - b->s0.daemon_cpu) / span;
	}
	have_mem = b->s1.have_mem;
	full = window >= 1 ? (size_t)window : 0;
	if (full > b->nseconds)
		full = b->nseconds;
	b->nfull = full;
	for (s = 0; s < full; s++) {
		if (b->per_second[s] < smin)
			smin = b->per_second[s];
		if (b->per_second[s] > smax)
			smax = b->per_second[s];
	}

	fprintf(stderr, "pingan-bench: %s, %d connections x %d in flight, "
	    "mix checkin=%d ping=%d, %d ping connections, warmup %.1f s, "
	    "window %.3f s\n", b->target, b->nload, b->o.pipeline,
	    b->o.mix[BENCH_REQ_CHECKIN], b->o.mix[BENCH_REQ_PING],
	    b->o.ping_conns, b->o.warmup, window);
	bench_report_common(b);
	fprintf(stderr, "  check-ins  %llu acknowledged in the window, %.1f/s "
	    "(%llu duplicate); %llu sent over the run\n",
	    (unsigned long long)b->ok_window[BENCH_REQ_CHECKIN],
	    window > 0 ? (double)b->ok_window[BENCH_REQ_CHECKIN] / window : 0,
	    (unsigned long long)b->dup_window,
	    (unsigned long long)b->sent[BENCH_REQ_CHECKIN]);
	if (hc->count > 0)
		bench_report_latency(hc);
	if (b->sent[BENCH_REQ_PING] > 0) {
		fprintf(stderr, "  pings      %llu answered in the window, "
		    "%.1f/s\n", (unsigned long long)b->ok_window[BENCH_REQ_PING],
		    window > 0 ? (double)b->ok_window[BENCH_REQ_PING] / window :
		    0);
		if (hp->count > 0)
			bench_report_latency(hp);
	}
	if (full > 0) {
		fprintf(stderr, "  ok/second ");
		for (s = 0; s < full; s++)
			fprintf(stderr, " %llu",
			    (unsigned long long)b->per_second[s]);
		fprintf(stderr, "  (min %llu, max %llu)\n",
		    (unsigned long long)smin, (unsigned long long)smax);
	}
	fprintf(stderr, "  silence    longest times without a %s answered, "
	    "ms (at s into the window):", b->gap_type == BENCH_REQ_CHECKIN ?
	    "check-in" : "PING");
	for (i = 0; i < BENCH_GAPS && b->gap_len[i] > 0; i++)
		fprintf(stderr, " %.1f (%.2f)", (double)b->gap_len[i] / 1e6,
		    (double)(b->gap_end[i] - b->gap_len[i] - b->t_meas0) / 1e9);
	fputc('\n', stderr);
	fprintf(stderr, "  fairness   per connection min %llu max %llu, Jain "
	    "%.3f, %d starved\n", (unsigned long long)cmin,
	    (unsigned long long)cmax, jain, starved);
	fprintf(stderr, "  unanswered %llu (%llu still in flight %.1f s after "
	    "the window, %llu on lost connections)\n",
	    (unsigned long long)unanswered,
	    (unsigned long long)b->outstanding, (double)BENCH_DRAIN_NS / 1e9,
	    (unsigned long long)b->lost);
	if (b->o.daemon_pid != 0)
		fprintf(stderr, "  daemon     pid %ld: cpu %.2f s/s, VmRSS %ld kB "
		    "(%ld kB before the run), VmHWM %ld kB\n",
		    (long)b->o.daemon_pid, dcpu, b->s1.rss_kb,
		    b->before.rss_kb, b->s1.hwm_kb);
	fprintf(stderr, "  client     cpu %.2f s/s%s\n", ccpu,
	    ccpu > 0.9 ? " (saturated: the client may be the bottleneck)" :
	    "");

	memset(&fl, 0, sizeof(fl));
	bench_out_u64(&fl, "conns", (uint64_t)b->nload);
	bench_out_u64(&fl, "pipeline", (uint64_t)b->o.pipeline);
	bench_out_dbl(&fl, "seconds", true, window, 3);
	bench_out_u64(&fl, "acks", b->ok_window[BENCH_REQ_CHECKIN]);
	bench_out_dbl(&fl, "acks_per_s", true, window > 0 ?
	    (double)b->ok_window[BENCH_REQ_CHECKIN] / window : 0, 1);
	bench_out_dbl(&fl, "p50_us", hc->count > 0,
	    bench_hist_quantile(hc, 0.5), 1);
	bench_out_dbl(&fl, "p90_us", hc->count > 0,
	    bench_hist_quantile(hc, 0.9), 1);
	bench_out_dbl(&fl, "p99_us", hc->count > 0,
	    bench_hist_quantile(hc, 0.99), 1);
	bench_out_dbl(&fl, "p999_us", hc->count > 0,
	    bench_hist_quantile(hc, 0.999), 1);
	bench_out_dbl(&fl, "max_us", hc->count > 0, (double)hc->max / 1e3, 1);
	bench_out_dbl(&fl, "ping_p99_us", hp->count > 0,
	    bench_hist_quantile(hp, 0.99), 1);
	bench_out_u64(&fl, "errors", errs);
	bench_out_kb(&fl, "rss_kb", have_mem, b->s1.rss_kb);
	bench_out_kb(&fl, "hwm_kb", have_mem, b->s1.hwm_kb);
	bench_out_dbl(&fl, "daemon_cpu", have_dcpu, dcpu, 2);
	bench_out_u64(&fl, "pings", b->ok_window[BENCH_REQ_PING]);
	bench_out_dbl(&fl, "pings_per_s", true, window > 0 ?
	    (double)b->ok_window[BENCH_REQ_PING] / window : 0, 1);
	bench_out_dbl(&fl, "ping_p50_us", hp->count > 0,
	    bench_hist_quantile(hp, 0.5), 1);
	bench_out_dbl(&fl, "ping_max_us", hp->count > 0,
	    (double)hp->max / 1e3, 1);
	bench_out_u64(&fl, "ping_conns", (uint64_t)b->o.ping_conns);
	bench_out_u64(&fl, "duplicates", b->dup_window);
	bench_out_u64(&fl, "conn_failed", (uint64_t)b->failed);
	bench_out_u64(&fl, "disconnects", (uint64_t)b->disconnects);
	bench_out_u64(&fl, "unanswered", unanswered);
	bench_out_dbl(&fl, "max_gap_us", b->s0.taken, (double)gap / 1e3, 1);
	bench_out_dbl(&fl, "jain", counted > 0, jain, 3);
	bench_out_u64(&fl, "starved", (uint64_t)starved);
	bench_out_dbl(&fl, "client_cpu", b->s1.taken, ccpu, 2);
	bench_out_u64(&fl, "deadline_hit", b->deadline_hit);
	bench_out_u64(&fl, "interrupted", b->interrupted);
	fl.f[fl.n].key = "errors_by_code";
	fl.f[fl.n++].type = BENCH_F_ERRS;
	bench_out_str(&fl, "mode", "load");
	bench_out_print(b, &fl, b->o.json);

	if (b->ok_window[BENCH_REQ_CHECKIN] + b->ok_window[BENCH_REQ_PING] ==
	    0 || b->failed > 0 || b->disconnects > 0 || b->deadline_hit ||
	    b->interrupted)
		return EXIT_FAILED;
	return 0;
}

/* Reports an idle run; returns the exit status. */
static int
bench_report_idle(struct bench *b)
{
	struct bench_fields	 fl;
	const struct bench_hist	*hp = &b->hist[BENCH_REQ_PING];
	double			 hold = 0, dcpu = 0, per_conn = 0;
	uint64_t		 errs = 0;
	bool			 have_dcpu = false, have_mem, have_per;
	int			 i, held;

	for (i = 1; i < BENCH_ERR__COUNT; i++)
		errs += b->err_total[i];
	if (b->s0.taken && b->s1.taken && b->s1.at_ns > b->s0.at_ns) {
		hold = (double)(b->s1.at_ns - b->s0.at_ns) / 1e9;
		have_dcpu = b->s0.have_cpu && b->s1.have_cpu;
		if (have_dcpu)
			dcpu = (b->s1.daemon_cpu - b->s0.daemon_cpu) / hold;
	}
	held = b->ready + b->disconnects;
	have_mem = b->s1.have_mem;
	have_per = have_mem && b->before.have_mem && held > 0;
	if (have_per)
		per_conn = (double)(b->s1.rss_kb - b->before.rss_kb) * 1024.0 /
		    (double)held;

	fprintf(stderr, "pingan-bench: %s, %d idle connections held %.3f s\n",
	    b->target, b->nconns, hold);
	bench_report_common(b);
	if (b->o.daemon_pid != 0) {
		fprintf(stderr, "  daemon     pid %ld: VmRSS %ld kB before, %ld "
		    "kB holding them", (long)b->o.daemon_pid, b->before.rss_kb,
		    b->s1.rss_kb);
		if (have_per)
			fprintf(stderr, " (%.0f bytes per connection)",
			    per_conn);
		fprintf(stderr, "; VmHWM %ld kB; cpu while idle %.3f s/s\n",
		    b->s1.hwm_kb, dcpu);
	}
	fprintf(stderr, "  pings      %llu of %d held connections answered "
	    "one PING at the end (sent over %.1f ms, the last answer after "
	    "%.1f ms)\n", (unsigned long long)b->ok_window[BENCH_REQ_PING],
	    b->ready, b->ping_sent_ns > b->t_meas0 ? (double)(b->ping_sent_ns -
	    b->t_meas0) / 1e6 : 0, b->t_meas1 > b->t_meas0 &&
	    b->t_meas1 != UINT64_MAX ? (double)(b->t_meas1 - b->t_meas0) / 1e6 :
	    0);
	if (hp->count > 0)
		bench_report_latency(hp);

	memset(&fl, 0, sizeof(fl));
	bench_out_u64(&fl, "conns", (uint64_t)b->nconns);
	bench_out_u64(&fl, "ready", (uint64_t)held);
	bench_out_u64(&fl, "conn_failed", (uint64_t)b->failed);
	bench_out_dbl(&fl, "seconds", true, hold, 3);
	bench_out_kb(&fl, "rss_before_kb", b->before.have_mem,
	    b->before.rss_kb);
	bench_out_kb(&fl, "rss_kb", have_mem, b->s1.rss_kb);
	bench_out_kb(&fl, "hwm_kb", have_mem, b->s1.hwm_kb);
	bench_out_dbl(&fl, "rss_per_conn_bytes", have_per, per_conn, 0);
	bench_out_dbl(&fl, "daemon_cpu", have_dcpu, dcpu, 3);
	bench_out_u64(&fl, "pings", b->ok_window[BENCH_REQ_PING]);
	bench_out_dbl(&fl, "ping_p99_us", hp->count > 0,
	    bench_hist_quantile(hp, 0.99), 1);
	bench_out_dbl(&fl, "ping_max_us", hp->count > 0,
	    (double)hp->max / 1e3, 1);
	bench_out_u64(&fl, "errors", errs);
	bench_out_u64(&fl, "disconnects", (uint64_t)b->disconnects);
	bench_out_dbl(&fl, "setup_s", b->t_go > 0, b->t_go > 0 ?
	    (double)(b->t_go - b->t_start) / 1e9 : 0, 3);
	bench_out_u64(&fl, "deadline_hit", b->deadline_hit);
	bench_out_u64(&fl, "interrupted", b->interrupted);
	fl.f[fl.n].key = "errors_by_code";
	fl.f[fl.n++].type = BENCH_F_ERRS;
	bench_out_str(&fl, "mode", "idle");
	bench_out_print(b, &fl, b->o.json);

	if (b->ready == 0 || b->failed > 0 || b->disconnects > 0 ||
	    b->ok_window[BENCH_REQ_PING] < (uint64_t)b->ready ||
	    b->deadline_hit || b->interrupted)
		return EXIT_FAILED;
	return 0;
}

/* Raises the open-file limit to the hard limit and checks it suffices. */
static void
bench_raise_nofile(int need)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		bench_die(EXIT_LOCAL, "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)need + 32 > rl.rlim_cur)
		bench_die(EXIT_USAGE, "需要 %d 个文件描述符, 上限 %llu (%d "
		    "connections need more file descriptors than the limit "
		    "%llu)", need + 32, (unsigned long long)rl.rlim_cur, need,
		    (unsigned long long)rl.rlim_cur);
}

/* Installs the signal handlers and the last-resort alarm. */
static void
bench_signals(double seconds)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = bench_on_signal;	/* no SA_RESTART: wake epoll */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = bench_on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm((unsigned)seconds + 10);
}

/*
 * --latency-log: opened before connecting, so that a bad path fails at
 * once; written through stdio's buffer (a few hundred ns a reply).
 */
static void
bench_latlog_open(struct bench *b)
{
	static char	 buf[1 << 20];

	if ((b->latlog = fopen(b->o.latency_log, "w")) == NULL)
		bench_die(EXIT_LOCAL, "--latency-log %s: 无法写入 (cannot "
		    "write): %s", b->o.latency_log, strerror(errno));
	(void)setvbuf(b->latlog, buf, _IOFBF, sizeof(buf));
	fprintf(b->latlog, "# pingan-bench latency log: send_us latency_us "
	    "type conn (send_us from the window's start)\n");
}

/* Closes the latency log; non-zero (reported) if it was not all written. */
static int
bench_latlog_close(struct bench *b)
{
	const char	*why = NULL;

	if (ferror(b->latlog))
		why = "I/O error";
	if (fclose(b->latlog) != 0 && why == NULL)
		why = strerror(errno);
	b->latlog = NULL;
	if (why != NULL) {
		fprintf(stderr, "pingan-bench: --latency-log %s: 写入失败 "
		    "(write failed): %s\n", b->o.latency_log, why);
		return -1;
	}
	fprintf(stderr, "pingan-bench: %llu 条延迟记录 (latency lines) -> "
	    "%s\n", (unsigned long long)b->latlog_lines, b->o.latency_log);
	return 0;
}

/* Sets up the connections, their pipelines and their logins. */
static void
bench_conns_init(struct bench *b)
{
	struct bench_conn	*c;
	int			 i;

	b->conns = bench_realloc(NULL, (size_t)b->nconns * sizeof(*b->conns));
	memset(b->conns, 0, (size_t)b->nconns * sizeof(*b->conns));
	for (i = 0; i < b->nconns; i++) {
		c = &b->conns[i];
		c->idx = i;
		c->fd = -1;
		c->probe = i >= b->nload;
		c->cred = &b->creds[(size_t)i % b->ncreds];
		c->ringsize = b->o.mode == BENCH_MODE_LOAD && !c->probe ?
		    (unsigned)b->o.pipeline : 1;
		c->ring = bench_realloc(NULL, c->ringsize * sizeof(*c->ring));
	}
}

/* Parses the command line into b->o. */
static void
bench_parse_args(struct bench *b, int argc, char **argv)
{
	enum {
		OPT_WORKER = 256, OPT_TOKEN, OPT_CREDENTIALS, OPT_GRID,
		OPT_MIX, OPT_NOTE, OPT_DAEMON_PID, OPT_JSON, OPT_HELP,
		OPT_IDLE, OPT_CONNECT_TIMEOUT, OPT_PING_CONNS,
		OPT_PING_INTERVAL, OPT_ALLOW_REMOTE, OPT_LATENCY_LOG,
	};
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "pipeline", required_argument, NULL, 'P' },
		{ "duration", required_argument, NULL, 'd' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "worker", required_argument, NULL, OPT_WORKER },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "credentials", required_argument, NULL, OPT_CREDENTIALS },
		{ "grid", required_argument, NULL, OPT_GRID },
		{ "mix", required_argument, NULL, OPT_MIX },
		{ "note", required_argument, NULL, OPT_NOTE },
		{ "daemon-pid", required_argument, NULL, OPT_DAEMON_PID },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "idle", required_argument, NULL, OPT_IDLE },
		{ "connect-timeout", required_argument, NULL,
		    OPT_CONNECT_TIMEOUT },
		{ "ping-conns", required_argument, NULL, OPT_PING_CONNS },
		{ "ping-interval", required_argument, NULL, OPT_PING_INTERVAL },
		{ "allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE },
		{ "latency-log", required_argument, NULL, OPT_LATENCY_LOG },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts	*o = &b->o;
	bool			 conns_set = false;
	int			 ch;

	o->host = "127.0.0.1";
	o->port = BENCH_PORT;
	o->conns = 1;
	o->pipeline = 1;
	o->duration = 5;
	o->warmup = 1;
	o->connect_timeout = 10;
	o->grids = BENCH_GRID;
	o->note = BENCH_NOTE;
	o->mix[BENCH_REQ_CHECKIN] = 1;
	o->ping_interval = 0.010;
	while ((ch = getopt_long(argc, argv, "h:p:c:P:d:w:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			o->host = optarg;
			break;
		case 'p':
			bench_parse_long("--port", optarg, 1, 65535);
			o->port = optarg;
			break;
		case 'c':
			o->conns = (int)bench_parse_long("--conns", optarg, 1,
			    BENCH_CONNS_MAX);
			conns_set = true;
			break;
		case 'P':
			o->pipeline = (int)bench_parse_long("--pipeline",
			    optarg, 1, BENCH_PIPELINE_MAX);
			break;
		case 'd':
			o->duration = bench_parse_seconds("--duration", optarg,
			    0.1, 3600);
			break;
		case 'w':
			o->warmup = bench_parse_seconds("--warmup", optarg, 0,
			    600);
			break;
		case OPT_WORKER:
			o->worker = optarg;
			break;
		case OPT_TOKEN:
			o->token = optarg;
			break;
		case OPT_CREDENTIALS:
			o->credentials = optarg;
			break;
		case OPT_GRID:
			o->grids = optarg;
			break;
		case OPT_MIX:
			bench_parse_mix(o, optarg);
			break;
		case OPT_NOTE:
			o->note = optarg;
			break;
		case OPT_DAEMON_PID:
			o->daemon_pid = (pid_t)bench_parse_long("--daemon-pid",
			    optarg, 1, INT_MAX);
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_HELP:
			bench_usage(stdout);
			exit(0);
		case OPT_IDLE:
			o->mode = BENCH_MODE_IDLE;
			o->conns = (int)bench_parse_long("--idle", optarg, 1,
			    BENCH_CONNS_MAX);
			break;
		case OPT_CONNECT_TIMEOUT:
			o->connect_timeout = bench_parse_seconds(
			    "--connect-timeout", optarg, 0.1, 600);
			break;
		case OPT_PING_CONNS:
			o->ping_conns = (int)bench_parse_long("--ping-conns",
			    optarg, 0, 1000);
			break;
		case OPT_PING_INTERVAL:
			o->ping_interval = (double)bench_parse_long(
			    "--ping-interval", optarg, 1, 60000) / 1e3;
			break;
		case OPT_ALLOW_REMOTE:
			o->allow_remote = true;
			break;
		case OPT_LATENCY_LOG:
			o->latency_log = optarg;
			break;
		default:
			bench_usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc)
		bench_die(EXIT_USAGE, "多余的参数 (unexpected argument) '%s'",
		    argv[optind]);
	if (o->credentials != NULL && (o->worker != NULL || o->token != NULL))
		bench_die(EXIT_USAGE, "--credentials 与 --worker/--token 只能选"
		    "一 (give either --credentials or --worker and --token)");
	if (o->credentials == NULL && (o->worker == NULL || o->token == NULL))
		bench_die(EXIT_USAGE, "需要 --worker 和 --token, 或 "
		    "--credentials (needs --worker and --token, or "
		    "--credentials)");
	if (o->mode == BENCH_MODE_IDLE) {
		if (conns_set)
			fprintf(stderr, "pingan-bench: --idle: 忽略 -c "
			    "(-c is ignored)\n");
		if (o->ping_conns > 0)
			fprintf(stderr, "pingan-bench: --idle: 忽略 "
			    "--ping-conns (--ping-conns is ignored)\n");
		if (o->latency_log != NULL)
			fprintf(stderr, "pingan-bench: --idle: 忽略 "
			    "--latency-log (--latency-log is ignored)\n");
		o->ping_conns = 0;
		o->latency_log = NULL;
		o->warmup = 0;
		if (o->daemon_pid == 0)
			fprintf(stderr, "pingan-bench: --idle 没有 "
			    "--daemon-pid, 不报告内存 (without --daemon-pid "
			    "there is no memory to report)\n");
	}
	if (o->conns + o->ping_conns > BENCH_CONNS_MAX)
		bench_die(EXIT_USAGE, "连接过多 (too many connections)");
}

/* Loads the bench, runs it and reports. */
int
main(int argc, char **argv)
{
	static struct bench	 bench;
	struct bench		*b = &bench;
	double			 limit, dummy;
	int			 status;
	bool			 logged;

	bench_parse_args(b, argc, argv);
	bench_resolve(b);
	if (b->o.credentials != NULL)
		bench_load_credentials(b, b->o.credentials);
	else {
		if (!bench_word_valid(b->o.worker) ||
		    !bench_word_valid(b->o.token))
			bench_die(EXIT_USAGE, "--worker 或 --token 无效 (bad "
			    "--worker or --token)");
		b->creds = bench_realloc(NULL, sizeof(*b->creds));
		b->creds[0].code = (char *)b->o.worker;
		b->creds[0].token = (char *)b->o.token;
		b->ncreds = 1;
	}
	if (b->o.daemon_pid != 0 && bench_proc_cpu(b->o.daemon_pid,
	    &dummy) != 0)
		bench_die(EXIT_USAGE, "--daemon-pid %ld: 没有此进程 (no such "
		    "process)", (long)b->o.daemon_pid);
	bench_build_requests(b);
	bench_rng_seed(b);
	b->gap_type = b->o.mix[BENCH_REQ_CHECKIN] > 0 ? BENCH_REQ_CHECKIN :
	    BENCH_REQ_PING;

	b->nload = b->o.conns;
	b->nconns = b->o.conns + b->o.ping_conns;
	bench_raise_nofile(b->nconns);
	limit = b->o.warmup + b->o.duration + BENCH_SLACK;
	bench_signals(limit);

	b->rbuf = bench_realloc(NULL, BENCH_READ_SIZE + 1);
	b->nseconds = (size_t)b->o.duration + 1;
	b->per_second = bench_realloc(NULL, b->nseconds *
	    sizeof(*b->per_second));
	memset(b->per_second, 0, b->nseconds * sizeof(*b->per_second));
	bench_conns_init(b);
	if (b->o.latency_log != NULL)
		bench_latlog_open(b);
	if ((b->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		bench_die(EXIT_LOCAL, "epoll_create1: %s", strerror(errno));

	bench_sample_take(b, &b->before);
	b->t_start = bench_now();
	b->deadline = b->t_start + (uint64_t)(limit * (double)NS);
	b->connect_deadline = b->t_start +
	    (uint64_t)(b->o.connect_timeout * (double)NS);
	b->t_meas0 = b->t_meas1 = UINT64_MAX;
	b->phase = BENCH_PHASE_SETUP;
	bench_loop(b);
	bench_close_all(b);
	close(b->epfd);
	logged = b->latlog == NULL || bench_latlog_close(b) == 0;
	if (b->o.mode == BENCH_MODE_IDLE)
		status = bench_report_idle(b);
	else
		status = bench_report_load(b);
	if (status == 0 && !logged)
		status = EXIT_LOCAL;
	bench_free_all(b);
	return status;
}
