/*
 * pingan.c: the terminal client of pingand.
 *
 * Grid workers and patrol members send check-ins with `pingan checkin`; the
 * 综治中心 keeps the roster with `pingan admin` over the daemon's UNIX socket.
 * It speaks docs/PROTOCOL.md on a blocking socket, waiting with poll() so
 * that every connect and every reply is bounded by --timeout.
 *
 * Every failure prints one line, "pingan: 中文 (English)", and exits with
 * 1 (the server said ERR), 2 (usage), 3 (network) or 4 (local problem).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uuid/uuid.h>

#include "config.h"
#include "pingan.h"

#define EXIT_REFUSED	1	/* the server answered ERR */
#define EXIT_USAGE	2	/* bad or missing option */
#define EXIT_NETWORK	3	/* connect, timeout, closed, bad greeting */
#define EXIT_LOCAL	4	/* config, file, memory */

#define CLIENT_LINE_MAX		(64 * 1024)	/* bytes in one reply line */
#define CLIENT_IMPORT_MAX	(8 * 1024 * 1024)
#define CLIENT_NOTE_MAX		4000
#define CLIENT_CONF_MAX		(64 * 1024)
#define CLIENT_TIMEOUT		10		/* seconds */
#define CLIENT_TIMEOUT_MAX	86400

#define DEFAULT_SERVER		"127.0.0.1:7700"
#define DEFAULT_PORT		"7700"
#define DEFAULT_ADMIN_SOCKET	"var/pingand.sock"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* Every option of every command; each takes the common ones and its own. */
enum opt_id {
	OPT_NONE = 0,
	OPT_HELP,
	OPT_VERSION,
	OPT_SERVER,
	OPT_WORKER,
	OPT_TOKEN,
	OPT_CONFIG,
	OPT_ADMIN_SOCKET,
	OPT_TIMEOUT,
	OPT_GRID,
	OPT_KIND,
	OPT_NOTE,
	OPT_AT,
	OPT_LAT,
	OPT_LON,
	OPT_ID,
	OPT_CODE,
	OPT_NAME,
	OPT_VILLAGE,
	OPT_ROLE,
	OPT_TEAM,
	OPT_PHONE,
	OPT_RAW,
	OPT__COUNT,
};

/* The long name of each option and whether it takes a value. */
static const struct {
	const char	*name;
	int		 has_arg;
} opt_names[OPT__COUNT] = {
	[OPT_HELP] = { "help", no_argument },
	[OPT_VERSION] = { "version", no_argument },
	[OPT_SERVER] = { "server", required_argument },
	[OPT_WORKER] = { "worker", required_argument },
	[OPT_TOKEN] = { "token", required_argument },
	[OPT_CONFIG] = { "config", required_argument },
	[OPT_ADMIN_SOCKET] = { "admin-socket", required_argument },
	[OPT_TIMEOUT] = { "timeout", required_argument },
	[OPT_GRID] = { "grid", required_argument },
	[OPT_KIND] = { "kind", required_argument },
	[OPT_NOTE] = { "note", required_argument },
	[OPT_AT] = { "at", required_argument },
	[OPT_LAT] = { "lat", required_argument },
	[OPT_LON] = { "lon", required_argument },
	[OPT_ID] = { "id", required_argument },
	[OPT_CODE] = { "code", required_argument },
	[OPT_NAME] = { "name", required_argument },
	[OPT_VILLAGE] = { "village", required_argument },
	[OPT_ROLE] = { "role", required_argument },
	[OPT_TEAM] = { "team", required_argument },
	[OPT_PHONE] = { "phone", required_argument },
	[OPT_RAW] = { "raw", no_argument },
};

/* How a command uses an option: its value's name, help, request field. */
struct optuse {
	enum opt_id	 id;		/* OPT_NONE ends a list */
	const char	*arg;		/* NULL for a flag */
	const char	*help;
	bool		 required;
	const char	*field;		/* admin: the key it fills */
};

/* The options given on the command line, by id ("" for a flag). */
struct cli {
	const char	*opt[OPT__COUNT];
};

/* The settings of one run, merged from options, environment and config file. */
struct settings {
	const char	*server;
	const char	*worker;
	const char	*token;
	const char	*admin_socket;
	int		 timeout;	/* seconds */
	/* what the config file said, owned here */
	char		*conf_path;
	char		*conf_server;
	char		*conf_worker;
	char		*conf_token;
	char		*conf_admin_socket;
	int		 conf_timeout;	/* 0 when not set */
};

/* A connection to pingand: a blocking socket and its read buffer. */
struct client {
	int		 fd;
	int		 timeout_ms;
	const char	*peer;		/* address or socket path */
	char		*buf;
	size_t		 off;		/* first byte not yet returned */
	size_t		 len;		/* bytes held in buf */
};

/* A growing string, for building requests. */
struct strbuf {
	char	*buf;
	size_t	 len;
	size_t	 size;
};

/* How a column of a list shows its value. */
enum column_type {
	COL_TEXT = 0,
	COL_ROLE,
	COL_TEAM,
	COL_DISABLED,
	COL_TIME,
};

/* One column of a list: the key of the data lines and its Chinese header. */
struct admin_column {
	const char		*key;		/* NULL ends a list */
	const char		*header;
	enum column_type	 type;
};

#define ADMIN_F_TOKEN	0x1	/* the reply carries a new token */
#define ADMIN_F_IMPORT	0x2	/* positional what and FILE, body follows */

/* One `pingan admin` subcommand. */
struct admin_sub {
	const char			*name;	/* verb, in lower case */
	const char			*synopsis;
	const char			*help;
	const struct optuse		*opts;
	const struct admin_column	*columns;	/* lists only */
	int				 flags;
};

static int	 cmd_checkin(struct cli *, int, char **);
static int	 cmd_ping(struct cli *, int, char **);
static int	 cmd_admin(struct cli *, int, char **);
static int	 cmd_help(struct cli *, int, char **);

/* One `pingan` command. */
struct command {
	const char		*name;
	int			(*fn)(struct cli *, int, char **);
	const char		*synopsis;
	const char		*help;
	const struct optuse	*opts;
};

static const struct optuse common_opts[] = {
	{ OPT_SERVER, "HOST:PORT", "服务器地址 (server; PINGAN_SERVER, "
	    "config `server`; default " DEFAULT_SERVER ", IPv6 as [::1]:7700)",
	    false, NULL },
	{ OPT_WORKER, "CODE", "人员编号 (worker code; PINGAN_WORKER, "
	    "config `worker`)", false, NULL },
	{ OPT_TOKEN, "TOKEN", "令牌 (token; PINGAN_TOKEN, config `token`)",
	    false, NULL },
	{ OPT_CONFIG, "FILE", "配置文件 (config file; PINGAN_CONFIG; default "
	    "$XDG_CONFIG_HOME/pingan/pingan.conf or "
	    "~/.config/pingan/pingan.conf)", false, NULL },
	{ OPT_ADMIN_SOCKET, "PATH", "管理套接字 (admin socket; "
	    "PINGAN_ADMIN_SOCKET, config `admin_socket`; default "
	    DEFAULT_ADMIN_SOCKET ")", false, NULL },
	{ OPT_TIMEOUT, "SECONDS", "连接和每个回复的超时秒数 (timeout of the "
	    "connect and of each reply; config `timeout`; default 10)",
	    false, NULL },
	{ OPT_HELP, NULL, "显示帮助 (show this help)", false, NULL },
	{ OPT_VERSION, NULL, "显示版本 (show the version)", false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse checkin_opts[] = {
	{ OPT_GRID, "CODE", "网格编号 (grid code), 如 (e.g.) DK-01", true,
	    NULL },
	{ OPT_KIND, "KIND", "类型 (kind): patrol 巡逻, screening 排查, "
	    "duty 值班, visit 走访, mediation 调解, other 其他", true, NULL },
	{ OPT_NOTE, "TEXT", "说明, 最多 4000 字节 (note, UTF-8, at most 4000 "
	    "bytes)", false, NULL },
	{ OPT_AT, "TIME", "发生时间, 默认现在 (when it happened, default now): "
	    "RFC 3339, Unix ms, 'YYYY-MM-DD HH:MM[:SS]' or 'HH:MM' (today, "
	    "local time)", false, NULL },
	{ OPT_LAT, "DEG", "纬度 (latitude, WGS-84, -90..90; with --lon)",
	    false, NULL },
	{ OPT_LON, "DEG", "经度 (longitude, WGS-84, -180..180; with --lat)",
	    false, NULL },
	{ OPT_ID, "UUID", "记录编号, 重发时用同一个 (record id; re-send with "
	    "the same one to avoid a duplicate)", false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse no_opts[] = {
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse admin_opts[] = {
	{ OPT_RAW, NULL, "输出协议数据行 (print the protocol data lines as "
	    "received)", false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct command commands[] = {
	{ "checkin", cmd_checkin,
	  "checkin --grid CODE --kind KIND [--note TEXT] [--at TIME]\n"
	  "                       [--lat DEG --lon DEG] [--id UUID]",
	  "提交签到记录 (submit a check-in)", checkin_opts },
	{ "ping", cmd_ping, "ping",
	  "测试与服务器的连接 (measure the round trip to the server)",
	  no_opts },
	{ "admin", cmd_admin, "admin [--raw] <子命令 subcommand> [options]",
	  "管理村(居)、网格、人员和令牌 (administer the roster and tokens)",
	  admin_opts },
	{ "help", cmd_help, "help [command]",
	  "显示帮助 (show help)", no_opts },
};

#define COL_END { NULL, NULL, COL_TEXT }
#define OPT_END { OPT_NONE, NULL, NULL, false, NULL }

static const struct admin_sub admin_subs[] = {
	{ "village-add", "--code CODE --name NAME",
	  "添加或改名村(居) (add or rename a village)",
	  (const struct optuse[]){
		{ OPT_CODE, "CODE", "村(居)编号 (village code), 如 (e.g.) DK",
		    true, "code" },
		{ OPT_NAME, "NAME", "名称 (name), 如 (e.g.) 东坑村", true,
		    "name" },
		OPT_END },
	  NULL, 0 },
	{ "village-list", "",
	  "列出村(居) (list villages)",
	  (const struct optuse[]){ OPT_END },
	  (const struct admin_column[]){
		{ "code", "编号", COL_TEXT },
		{ "name", "名称", COL_TEXT },
		{ "grids", "网格数", COL_TEXT },
		COL_END },
	  0 },
	{ "grid-add", "--code CODE --village CODE --name NAME",
	  "添加或修改网格 (add or update a grid)",
	  (const struct optuse[]){
		{ OPT_CODE, "CODE", "网格编号 (grid code), 如 (e.g.) DK-01",
		    true, "code" },
		{ OPT_VILLAGE, "CODE", "所属村(居)编号 (village code)", true,
		    "village" },
		{ OPT_NAME, "NAME", "名称 (name), 如 (e.g.) 东坑村第一网格",
		    true, "name" },
		OPT_END },
	  NULL, 0 },
	{ "grid-list", "[--village CODE]",
	  "列出网格 (list grids)",
	  (const struct optuse[]){
		{ OPT_VILLAGE, "CODE", "只列此村(居)的 (only this village's)",
		    false, "village" },
		OPT_END },
	  (const struct admin_column[]){
		{ "code", "编号", COL_TEXT },
		{ "village", "村(居)", COL_TEXT },
		{ "name", "名称", COL_TEXT },
		COL_END },
	  0 },
	{ "worker-add", "--code CODE --name NAME --role ROLE [--team TEAM]\n"
	  "                       [--village CODE] [--phone PHONE]",
	  "添加或修改人员 (add or update a worker)",
	  (const struct optuse[]){
		{ OPT_CODE, "CODE", "人员编号 (worker code), 如 (e.g.) P001",
		    true, "code" },
		{ OPT_NAME, "NAME", "姓名 (name)", true, "name" },
		{ OPT_ROLE, "ROLE", "角色 (role): grid 网格员, patrol 巡防队员, "
		    "mediator 调解员, duty 值班员, supervisor 综治中心, "
		    "admin 管理员", true, "role" },
		{ OPT_TEAM, "TEAM", "队伍 (team): police 派出所民警, "
		    "enforcement 执法队, emergency 应急队, volunteer 平安志愿者",
		    false, "team" },
		{ OPT_VILLAGE, "CODE", "村(居)编号 (village code)", false,
		    "village" },
		{ OPT_PHONE, "PHONE", "电话 (phone)", false, "phone" },
		OPT_END },
	  NULL, 0 },
	{ "worker-list", "[--role ROLE] [--village CODE]",
	  "列出人员 (list workers)",
	  (const struct optuse[]){
		{ OPT_ROLE, "ROLE", "只列此角色 (only this role)", false,
		    "role" },
		{ OPT_VILLAGE, "CODE", "只列此村(居)的 (only this village's)",
		    false, "village" },
		OPT_END },
	  (const struct admin_column[]){
		{ "code", "编号", COL_TEXT },
		{ "name", "姓名", COL_TEXT },
		{ "role", "角色", COL_ROLE },
		{ "team", "队伍", COL_TEAM },
		{ "village", "村(居)", COL_TEXT },
		{ "phone", "电话", COL_TEXT },
		{ "disabled", "状态", COL_DISABLED },
		{ "tokens", "令牌数", COL_TEXT },
		COL_END },
	  0 },
	{ "worker-disable", "--code CODE",
	  "停用人员, 断开其连接 (disable a worker and cut its sessions)",
	  (const struct optuse[]){
		{ OPT_CODE, "CODE", "人员编号 (worker code)", true, "code" },
		OPT_END },
	  NULL, 0 },
	{ "worker-enable", "--code CODE",
	  "启用人员 (enable a worker)",
	  (const struct optuse[]){
		{ OPT_CODE, "CODE", "人员编号 (worker code)", true, "code" },
		OPT_END },
	  NULL, 0 },
	{ "token-issue", "--worker CODE",
	  "为人员签发令牌 (issue a token to a worker)",
	  (const struct optuse[]){
		{ OPT_WORKER, "CODE", "人员编号 (worker code)", true,
		    "worker" },
		OPT_END },
	  NULL, ADMIN_F_TOKEN },
	{ "token-list", "--worker CODE",
	  "列出人员的令牌 (list a worker's tokens)",
	  (const struct optuse[]){
		{ OPT_WORKER, "CODE", "人员编号 (worker code)", true,
		    "worker" },
		OPT_END },
	  (const struct admin_column[]){
		{ "id", "编号", COL_TEXT },
		{ "worker", "人员", COL_TEXT },
		{ "created", "签发时间", COL_TIME },
		{ "revoked", "吊销时间", COL_TIME },
		COL_END },
	  0 },
	{ "token-revoke", "--worker CODE [--id N]",
	  "吊销令牌 (revoke one token, or all of a worker's)",
	  (const struct optuse[]){
		{ OPT_WORKER, "CODE", "人员编号 (worker code)", true,
		    "worker" },
		{ OPT_ID, "N", "令牌编号, 不给则全部吊销 (token id; without it, "
		    "all of the worker's)", false, "id" },
		OPT_END },
	  NULL, 0 },
	{ "import", "villages|grids|workers FILE",
	  "从 CSV 文件导入, 全部成功或全部不导入 (import a CSV file, all or "
	  "nothing)",
	  (const struct optuse[]){ OPT_END },
	  NULL, ADMIN_F_IMPORT },
};

/* Prints "pingan: <message>" on stderr and returns status. */
static int __attribute__((format(printf, 2, 3)))
errorx(int status, const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fputs("pingan: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

/* Reports a usage error with a hint to the command's --help; returns 2. */
static int __attribute__((format(printf, 2, 3)))
usage_error(const char *cmd, const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fputs("pingan: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd != NULL)
		fprintf(stderr, "; 见 (see) 'pingan %s --help'\n", cmd);
	else
		fputs("; 见 (see) 'pingan help'\n", stderr);
	return EXIT_USAGE;
}

/* Gives up when memory runs out: the one failure that cannot go on. */
static void __attribute__((noreturn))
nomem(void)
{
	errorx(EXIT_LOCAL, "内存不足 (out of memory)");
	exit(EXIT_LOCAL);
}

/* Allocates or exits with status 4. */
static void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		nomem();
	return p;
}

/* Allocates a zeroed array or exits with status 4. */
static void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		nomem();
	return p;
}

/* Resizes or exits with status 4. */
static void *
xreallocarray(void *old, size_t n, size_t size)
{
	void	*p;

	if (size != 0 && n > SIZE_MAX / size)
		nomem();
	if ((p = realloc(old, n * size == 0 ? 1 : n * size)) == NULL)
		nomem();
	return p;
}

/* Copies a string or exits with status 4. */
static char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		nomem();
	return p;
}

/* Formats into a new string or exits with status 4. */
static char * __attribute__((format(printf, 1, 2)))
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		nomem();
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Makes room for len more bytes (and a NUL) in a strbuf. */
static void
sb_grow(struct strbuf *sb, size_t len)
{
	size_t	 need;

	if (len > SIZE_MAX - sb->len - 1)
		nomem();
	need = sb->len + len + 1;
	if (need <= sb->size)
		return;
	if (need < 256)
		need = 256;
	if (need < sb->size * 2)
		need = sb->size * 2;
	sb->buf = xreallocarray(sb->buf, need, 1);
	sb->size = need;
}

/* Appends len bytes to a strbuf. */
static void
sb_add(struct strbuf *sb, const char *s, size_t len)
{
	sb_grow(sb, len);
	memcpy(sb->buf + sb->len, s, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

/* Appends a string to a strbuf. */
static void
sb_adds(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

/* Appends " key=value" with the value quoted as the protocol wants. */
static void
sb_field(struct strbuf *sb, const char *key, const char *val)
{
	size_t	 vlen = strlen(val), room, n;

	sb_adds(sb, " ");
	sb_adds(sb, key);
	sb_adds(sb, "=");
	/* Each byte escapes to at most two, plus the quotes and the NUL. */
	if (vlen > (SIZE_MAX - 3) / 2)
		nomem();
	room = vlen * 2 + 3;
	sb_grow(sb, room);
	n = proto_quote(sb->buf + sb->len, room, val);
	if (n >= room)
		nomem();	/* cannot happen: room is the worst case */
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

/* Frees what a strbuf holds. */
static void
sb_free(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->size = 0;
}

/*
 * Copies untrusted text for a message: control bytes become '?', and a long
 * text is cut at a character boundary and marked with "...".
 */
static const char *
sanitize(const char *s, char *buf, size_t size)
{
	size_t	 i, n = 0, len = strlen(s);
	bool	 cut = false;

	if (len > size - 4) {
		len = size - 4;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		cut = true;
	}
	for (i = 0; i < len; i++) {
		unsigned char	 ch = (unsigned char)s[i];

		buf[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (cut) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Milliseconds of the monotonic clock. */
static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Tells whether a code point takes two terminal columns (CJK, fullwidth). */
static bool
wide_char(uint32_t cp)
{
	return (cp >= 0x1100 && cp <= 0x115f) ||
	    (cp >= 0x2e80 && cp <= 0xa4cf) ||
	    (cp >= 0xac00 && cp <= 0xd7a3) ||
	    (cp >= 0xf900 && cp <= 0xfaff) ||
	    (cp >= 0xfe30 && cp <= 0xfe4f) ||
	    (cp >= 0xff00 && cp <= 0xff60) ||
	    (cp >= 0xffe0 && cp <= 0xffe6) ||
	    (cp >= 0x20000 && cp <= 0x3fffd);
}

/* The number of terminal columns a UTF-8 string takes. */
static size_t
display_width(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 w = 0;
	uint32_t		 cp;
	int			 i, n;

	while (*p != '\0') {
		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			n = 2;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			n = 3;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			n = 4;
		} else {
			w++;
			p++;
			continue;
		}
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (i < n) {
			w++;
			p++;
			continue;
		}
		p += n;
		w += wide_char(cp) ? 2 : 1;
	}
	return w;
}

/*
 * Checks text a user gave for a protocol value: valid UTF-8, and no control
 * byte except newline and tab where allow_nl says so (those have escapes).
 */
static bool
text_valid(const char *s, bool allow_nl)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (allow_nl && (*p == '\n' || *p == '\t'))
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return false;
	}
	return proto_utf8_valid(s, strlen(s));
}

/* ---- the command line ---------------------------------------------------- */

/* The getopt_long value of an option. */
static int
opt_val(enum opt_id id)
{
	if (id == OPT_HELP)
		return 'h';
	if (id == OPT_VERSION)
		return 'V';
	return 256 + (int)id;
}

/* Adds a list of options to a getopt_long table, each at most once. */
static void
opt_table_add(struct option *table, size_t *n, bool *seen,
    const struct optuse *uses)
{
	for (; uses != NULL && uses->id != OPT_NONE; uses++) {
		if (seen[uses->id])
			continue;
		seen[uses->id] = true;
		table[*n].name = opt_names[uses->id].name;
		table[*n].has_arg = opt_names[uses->id].has_arg;
		table[*n].flag = NULL;
		table[*n].val = opt_val(uses->id);
		(*n)++;
	}
}

/*
 * Parses the options of one command (the common ones and its own) into cli.
 * With stop, parsing ends at the first word that is not an option (the name
 * of the command or subcommand); otherwise options and words may mix, and
 * the words are left at argv[optind...].  Returns 0 or an exit status.
 */
static int
cli_parse(struct cli *cli, int argc, char **argv, bool stop,
    const struct optuse *uses, const char *cmd)
{
	struct option	 table[OPT__COUNT + 1];
	bool		 seen[OPT__COUNT];
	size_t		 n = 0;
	int		 ch, id;
	const char	*bad;
	char		 sbuf[80];

	memset(seen, 0, sizeof(seen));
	opt_table_add(table, &n, seen, common_opts);
	opt_table_add(table, &n, seen, uses);
	memset(&table[n], 0, sizeof(table[n]));

	optind = 0;		/* start afresh: glibc and musl reinitialize */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, stop ? "+:hV" : ":hV", table,
	    NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			bad = argv[optind - 1];
			if (strncmp(bad, "--", 2) != 0 && optopt > 0 &&
			    optopt < 256) {
				snprintf(sbuf, sizeof(sbuf), "-%c", optopt);
				bad = sbuf;
			} else
				bad = sanitize(bad, sbuf, sizeof(sbuf));
			if (ch == ':')
				return usage_error(cmd,
				    "选项 %s 缺少值 (option %s needs a value)",
				    bad, bad);
			return usage_error(cmd, "未知选项 '%s' (unknown option)",
			    bad);
		}
		if (ch == 'h')
			id = OPT_HELP;
		else if (ch == 'V')
			id = OPT_VERSION;
		else
			id = ch - 256;
		if (id <= OPT_NONE || id >= OPT__COUNT)
			return usage_error(cmd, "未知选项 (unknown option)");
		cli->opt[id] = optarg != NULL ? optarg : "";
	}
	return 0;
}

/* Prints a list of options, one a line, their help aligned. */
static void
usage_options(FILE *f, const struct optuse *uses, const struct optuse *skip)
{
	const struct optuse	*u, *s;
	char			 left[64];
	bool			 dup;

	for (u = uses; u != NULL && u->id != OPT_NONE; u++) {
		dup = false;
		for (s = skip; s != NULL && s->id != OPT_NONE; s++)
			if (s->id == u->id)
				dup = true;
		if (dup)
			continue;
		if (u->id == OPT_HELP)
			snprintf(left, sizeof(left), "-h, --help");
		else if (u->id == OPT_VERSION)
			snprintf(left, sizeof(left), "-V, --version");
		else if (u->arg != NULL)
			snprintf(left, sizeof(left), "--%s %s",
			    opt_names[u->id].name, u->arg);
		else
			snprintf(left, sizeof(left), "--%s",
			    opt_names[u->id].name);
		if (strlen(left) > 22)
			fprintf(f, "  %s\n  %-22s  %s\n", left, "", u->help);
		else
			fprintf(f, "  %-22s  %s\n", left, u->help);
	}
}

/* Prints the overall help: the commands and the common options. */
static void
usage_all(FILE *f)
{
	size_t	 i;

	fprintf(f, "用法 (usage): pingan [options] <command> [command "
	    "options]\n\n");
	fprintf(f, "平安综治签到客户端 (pingan: check-ins and roster "
	    "administration for pingand)\n\n");
	fprintf(f, "命令 (commands):\n");
	for (i = 0; i < nitems(commands); i++)
		fprintf(f, "  %-10s  %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n通用选项, 可放在命令前后 (common options, before or "
	    "after the command):\n");
	usage_options(f, common_opts, NULL);
	fprintf(f, "\n'pingan help <command>' 或 (or) 'pingan <command> --help' "
	    "显示命令的用法 (shows a command's usage).\n");
	fprintf(f, "退出码 (exit status): 0 成功 (success), 1 服务器拒绝 "
	    "(the server answered ERR), 2 用法错误 (usage),\n"
	    "  3 网络错误 (network), 4 本地错误 (config, file, memory).\n");
}

/* Prints the usage of one command with every option it takes. */
static void
usage_command(FILE *f, const struct command *cmd)
{
	size_t	 i;

	fprintf(f, "用法 (usage): pingan %s\n\n%s\n", cmd->synopsis,
	    cmd->help);
	if (cmd->opts[0].id != OPT_NONE) {
		fprintf(f, "\n选项 (options):\n");
		usage_options(f, cmd->opts, NULL);
	}
	if (cmd->fn == cmd_admin) {
		fprintf(f, "\n子命令 (subcommands):\n");
		for (i = 0; i < nitems(admin_subs); i++)
			fprintf(f, "  %-15s  %s\n", admin_subs[i].name,
			    admin_subs[i].help);
		fprintf(f, "\n'pingan admin <subcommand> --help' 显示子命令的"
		    "用法 (shows a subcommand's usage).\n");
	}
	if (cmd->fn == cmd_checkin) {
		fprintf(f, "\n成功时只输出记录编号; 已存在的记录不会重复保存。\n"
		    "(On success the record id is printed alone; re-sending "
		    "an id is always safe.)\n");
	}
	if (cmd->fn != cmd_help) {
		fprintf(f, "\n通用选项 (common options):\n");
		usage_options(f, common_opts, cmd->opts);
	}
}

/* Prints the usage of one admin subcommand. */
static void
usage_admin_sub(FILE *f, const struct admin_sub *sub)
{
	fprintf(f, "用法 (usage): pingan admin %s%s%s\n\n%s\n", sub->name,
	    sub->synopsis[0] != '\0' ? " " : "", sub->synopsis, sub->help);
	if (sub->opts[0].id != OPT_NONE) {
		fprintf(f, "\n选项 (options):\n");
		usage_options(f, sub->opts, NULL);
	}
	usage_options(f, admin_opts, NULL);
	if (sub->columns != NULL)
		fprintf(f, "\n默认输出对齐的表格 (prints an aligned table; "
		    "--raw prints the data lines).\n");
	if (sub->flags & ADMIN_F_IMPORT)
		fprintf(f, "\nFILE 为 UTF-8 CSV, 至多 8 MiB, '-' 表示标准输入 "
		    "(a UTF-8 CSV file of at most 8 MiB, '-' for standard "
		    "input).\n首行为列名, 英文或中文均可 (the first line names "
		    "the columns, English or Chinese).\n");
	if (sub->flags & ADMIN_F_TOKEN)
		fprintf(f, "\n令牌只显示这一次 (the token is shown only "
		    "once).\n");
	fprintf(f, "\n通用选项 (common options):\n");
	usage_options(f, common_opts, sub->opts);
}

/* Prints the version. */
static void
version(void)
{
	printf("pingan %s (protocol pingan/%d)\n", PINGAN_VERSION,
	    PINGAN_PROTO_VERSION);
}

/* Finds a command by name. */
static const struct command *
command_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Finds an admin subcommand by name. */
static const struct admin_sub *
admin_sub_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(admin_subs); i++)
		if (strcmp(admin_subs[i].name, name) == 0)
			return &admin_subs[i];
	return NULL;
}

/* ---- settings: options, environment, config file ------------------------- */

/* Parses a timeout in whole seconds; returns 0 or -EINVAL. */
static int
timeout_parse(const char *s, int *ret)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < 1 ||
	    v > CLIENT_TIMEOUT_MAX)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* The default config file, or NULL when there is no home to find it in. */
static char *
conf_default_path(void)
{
	const char	*xdg, *home;
	struct passwd	*pw;

	xdg = getenv("XDG_CONFIG_HOME");
	if (xdg != NULL && xdg[0] == '/')
		return xasprintf("%s/pingan/pingan.conf", xdg);
	home = getenv("HOME");
	if (home == NULL || home[0] == '\0') {
		if ((pw = getpwuid(getuid())) == NULL)
			return NULL;
		home = pw->pw_dir;
	}
	return xasprintf("%s/.config/pingan/pingan.conf", home);
}

/* Parses one "key value" line of the config file; returns 0 or 4. */
static int
conf_line(struct settings *s, char *line, int lineno)
{
	char		*key, *val, *end, *p;
	char		 sbuf[64];
	char		**slot;

	key = line + strspn(line, " \t");
	if (*key == '\0' || *key == '#')
		return 0;
	p = key + strcspn(key, " \t");
	val = p + strspn(p, " \t");
	*p = '\0';
	/* A '#' after blank space starts a comment. */
	for (p = val; *p != '\0'; p++) {
		if (*p == '#' && (p == val || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	end = val + strlen(val);
	while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (end - val >= 2 && val[0] == '"' && end[-1] == '"') {
		end[-1] = '\0';
		val++;
	}
	if (*val == '\0')
		return errorx(EXIT_LOCAL, "配置文件 %s 第 %d 行: '%s' 缺少值 "
		    "(config: key without a value)", s->conf_path, lineno,
		    sanitize(key, sbuf, sizeof(sbuf)));

	if (strcmp(key, "server") == 0)
		slot = &s->conf_server;
	else if (strcmp(key, "worker") == 0)
		slot = &s->conf_worker;
	else if (strcmp(key, "token") == 0)
		slot = &s->conf_token;
	else if (strcmp(key, "admin_socket") == 0)
		slot = &s->conf_admin_socket;
	else if (strcmp(key, "timeout") == 0) {
		if (timeout_parse(val, &s->conf_timeout) != 0)
			return errorx(EXIT_LOCAL, "配置文件 %s 第 %d 行: 超时须为 "
			    "1 到 %d 秒 (config: bad timeout)", s->conf_path,
			    lineno, CLIENT_TIMEOUT_MAX);
		return 0;
	} else
		return errorx(EXIT_LOCAL, "配置文件 %s 第 %d 行: 未知的键 '%s' "
		    "(config: unknown key)", s->conf_path, lineno,
		    sanitize(key, sbuf, sizeof(sbuf)));
	free(*slot);
	*slot = xstrdup(val);
	return 0;
}

/*
 * Reads the config file.  A missing default file is fine; a missing file
 * that was named explicitly is not.  Returns 0 or 4.
 */
static int
conf_load(struct settings *s, bool explicit)
{
	struct stat	 st;
	char		*buf, *line, *nl;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, lineno = 0, rv;

	if (s->conf_path == NULL)
		return 0;
	if ((fd = open(s->conf_path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && !explicit)
			return 0;
		return errorx(EXIT_LOCAL, "无法读取配置文件 %s: %s (cannot "
		    "read config file)", s->conf_path, strerror(errno));
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		rv = errno;
		close(fd);
		return errorx(EXIT_LOCAL, "无法读取配置文件 %s: %s (cannot "
		    "read config file)", s->conf_path,
		    strerror(S_ISREG(st.st_mode) ? rv : EINVAL));
	}
	buf = xmalloc(CLIENT_CONF_MAX + 1);
	for (;;) {
		n = read(fd, buf + len, CLIENT_CONF_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			rv = errno;
			close(fd);
			free(buf);
			return errorx(EXIT_LOCAL, "无法读取配置文件 %s: %s "
			    "(cannot read config file)", s->conf_path,
			    strerror(rv));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CLIENT_CONF_MAX) {
			close(fd);
			free(buf);
			return errorx(EXIT_LOCAL, "配置文件 %s 过大 (config "
			    "file larger than 64 KiB)", s->conf_path);
		}
	}
	close(fd);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		free(buf);
		return errorx(EXIT_LOCAL, "配置文件 %s 不是文本 (config file "
		    "is not text)", s->conf_path);
	}

	for (line = buf; line != NULL && *line != '\0'; line = nl) {
		lineno++;
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (nl != NULL && nl - line >= 2 && nl[-2] == '\r')
			nl[-2] = '\0';
		if ((rv = conf_line(s, line, lineno)) != 0) {
			free(buf);
			return rv;
		}
	}
	free(buf);

	if (s->conf_token != NULL && (st.st_mode & (S_IRGRP | S_IROTH)))
		fprintf(stderr, "pingan: 警告: 配置文件 %s 含有令牌, 但组或其他"
		    "用户可读, 请 chmod 600 (warning: the config file holds a "
		    "token and is readable by group or others)\n",
		    s->conf_path);
	return 0;
}

/* The first that is set of an option, a variable and a config value. */
static const char *
settings_pick(const char *opt, const char *env, const char *conf,
    const char *def)
{
	const char	*v;

	if (opt != NULL)
		return opt;
	if ((v = getenv(env)) != NULL && v[0] != '\0')
		return v;
	if (conf != NULL)
		return conf;
	return def;
}

/* Merges options, environment and config file; returns 0 or an exit status. */
static int
settings_load(const struct cli *cli, struct settings *s, const char *cmd)
{
	const char	*path;
	bool		 explicit = true;
	int		 rv;

	memset(s, 0, sizeof(*s));
	s->timeout = CLIENT_TIMEOUT;
	if (cli->opt[OPT_TIMEOUT] != NULL &&
	    timeout_parse(cli->opt[OPT_TIMEOUT], &s->timeout) != 0)
		return usage_error(cmd, "--timeout 须为 1 到 %d 秒 (--timeout "
		    "must be 1..%d seconds)", CLIENT_TIMEOUT_MAX,
		    CLIENT_TIMEOUT_MAX);

	path = cli->opt[OPT_CONFIG];
	if (path == NULL && (path = getenv("PINGAN_CONFIG")) != NULL &&
	    path[0] == '\0')
		path = NULL;
	if (path != NULL)
		s->conf_path = xstrdup(path);
	else {
		s->conf_path = conf_default_path();
		explicit = false;
	}
	if ((rv = conf_load(s, explicit)) != 0)
		return rv;

	s->server = settings_pick(cli->opt[OPT_SERVER], "PINGAN_SERVER",
	    s->conf_server, DEFAULT_SERVER);
	s->worker = settings_pick(cli->opt[OPT_WORKER], "PINGAN_WORKER",
	    s->conf_worker, NULL);
	s->token = settings_pick(cli->opt[OPT_TOKEN], "PINGAN_TOKEN",
	    s->conf_token, NULL);
	s->admin_socket = settings_pick(cli->opt[OPT_ADMIN_SOCKET],
	    "PINGAN_ADMIN_SOCKET", s->conf_admin_socket, DEFAULT_ADMIN_SOCKET);
	if (cli->opt[OPT_TIMEOUT] == NULL && s->conf_timeout != 0)
		s->timeout = s->conf_timeout;
	return 0;
}

/* Frees what settings_load read from the config file. */
static void
settings_free(struct settings *s)
{
	free(s->conf_path);
	free(s->conf_server);
	free(s->conf_worker);
	free(s->conf_token);
	free(s->conf_admin_socket);
	memset(s, 0, sizeof(*s));
}

/* ---- the connection ------------------------------------------------------ */

/* Sets up an unconnected client. */
static void
client_init(struct client *c, int timeout, const char *peer)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout * 1000;
	c->peer = peer;
	c->buf = xmalloc(CLIENT_LINE_MAX + 1);
}

/* Closes the connection and frees the buffer. */
static void
client_close(struct client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
}

/* Waits until fd is ready for events or the deadline passes; 0 or -errno. */
static int
fd_wait(int fd, short events, int64_t deadline)
{
	struct pollfd	 pfd;
	int64_t		 left;
	int		 n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		if (n == 0)
			continue;	/* the loop sees the deadline */
		return 0;		/* send or recv tells errors */
	}
}

/* Connects a socket, waiting no longer than the deadline; 0 or -errno. */
static int
connect_wait(int fd, const struct sockaddr *sa, socklen_t salen,
    int64_t deadline)
{
	socklen_t	 len;
	int		 flags, error, soerr;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return -errno;
	if (connect(fd, sa, salen) == -1) {
		if (errno != EINPROGRESS && errno != EINTR)
			return -errno;
		if ((error = fd_wait(fd, POLLOUT, deadline)) != 0)
			return error;
		len = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
			return -errno;
		if (soerr != 0)
			return -soerr;
	}
	/* Back to blocking; every wait goes through poll() anyway. */
	if (fcntl(fd, F_SETFL, flags) == -1)
		return -errno;
	return 0;
}

/*
 * Splits "host:port", "[v6]:port", "host" or a bare IPv6 address into
 * host and port; returns 0 or -EINVAL.
 */
static int
server_split(const char *server, char **ret_host, char **ret_port)
{
	const char	*colon, *close, *port = DEFAULT_PORT, *p;
	size_t		 hostlen;
	char		*host;

	if (server[0] == '[') {
		if ((close = strchr(server, ']')) == NULL ||
		    close == server + 1)
			return -EINVAL;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
		server++;
		hostlen = (size_t)(close - server);
	} else if ((colon = strchr(server, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {
		port = colon + 1;
		hostlen = (size_t)(colon - server);
	} else
		hostlen = strlen(server);	/* no port, or bare IPv6 */

	if (hostlen == 0 || port[0] == '\0' || strlen(port) > 5)
		return -EINVAL;
	for (p = port; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	if (atoi(port) < 1 || atoi(port) > 65535)
		return -EINVAL;
	host = xmalloc(hostlen + 1);
	memcpy(host, server, hostlen);
	host[hostlen] = '\0';
	*ret_host = host;
	*ret_port = xstrdup(port);
	return 0;
}

/* Connects to pingand over TCP; returns 0 or an exit status, said why. */
static int
client_connect_tcp(struct client *c, const char *server, const char *cmd)
{
	struct addrinfo	 hints, *res, *ai;
	char		*host, *port;
	char		 sbuf[128];
	int64_t		 deadline;
	int		 fd, error = -ECONNREFUSED, gai, one = 1;

	if (server_split(server, &host, &port) != 0)
		return usage_error(cmd, "服务器地址无效 '%s', 应为 HOST:PORT "
		    "或 [IPv6]:PORT (bad server address)",
		    sanitize(server, sbuf, sizeof(sbuf)));

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		free(host);
		free(port);
		return errorx(EXIT_NETWORK, "无法解析服务器地址 %s: %s "
		    "(cannot resolve server address)",
		    sanitize(server, sbuf, sizeof(sbuf)),
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
	}
	free(host);
	free(port);

	deadline = now_ms() + c->timeout_ms;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			error = -errno;
			continue;
		}
		if ((error = connect_wait(fd, ai->ai_addr, ai->ai_addrlen,
		    deadline)) == 0) {
			c->fd = fd;
			break;
		}
		close(fd);
		if (error == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (c->fd == -1)
		return errorx(EXIT_NETWORK, "无法连接服务器 %s: %s (cannot "
		    "connect to server)", sanitize(server, sbuf, sizeof(sbuf)),
		    strerror(-error));
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1)
		return errorx(EXIT_NETWORK, "无法设置 TCP_NODELAY: %s (cannot "
		    "set TCP_NODELAY)", strerror(errno));
	return 0;
}

/* Connects to the daemon's admin socket; returns 0 or an exit status. */
static int
client_connect_unix(struct client *c, const char *path)
{
	struct sockaddr_un	 sun;
	char			 sbuf[128];
	int			 fd, error;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return errorx(EXIT_LOCAL, "管理套接字路径过长 %s (admin "
		    "socket path too long)", sanitize(path, sbuf,
		    sizeof(sbuf)));
	memcpy(sun.sun_path, path, strlen(path) + 1);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return errorx(EXIT_LOCAL, "无法创建套接字: %s (cannot create "
		    "socket)", strerror(errno));
	error = connect_wait(fd, (struct sockaddr *)&sun, sizeof(sun),
	    now_ms() + c->timeout_ms);
	if (error != 0) {
		close(fd);
		return errorx(EXIT_NETWORK, "无法连接管理套接字 %s: %s (cannot "
		    "connect to admin socket)", sanitize(path, sbuf,
		    sizeof(sbuf)), strerror(-error));
	}
	c->fd = fd;
	return 0;
}

/* Sends all of buf, coping with partial writes; returns 0 or -errno. */
static int
client_send(struct client *c, const char *buf, size_t len)
{
	int64_t	 deadline = now_ms() + c->timeout_ms;
	ssize_t	 n;
	int	 error;

	while (len > 0) {
		if ((error = fd_wait(c->fd, POLLOUT, deadline)) != 0)
			return error;
		n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
		deadline = now_ms() + c->timeout_ms;	/* it moves */
	}
	return 0;
}

/*
 * Reads one line into *ret_line (without its end; valid until the next
 * read).  Returns 0, -ETIMEDOUT, -ENOTCONN when the server closed the
 * connection, -EMSGSIZE for a line over 64 KiB, or another -errno.
 */
static int
client_read_line(struct client *c, char **ret_line)
{
	int64_t	 deadline = now_ms() + c->timeout_ms;
	char	*nl, *line;
	ssize_t	 n;
	int	 error;

	for (;;) {
		nl = memchr(c->buf + c->off, '\n', c->len - c->off);
		if (nl != NULL) {
			line = c->buf + c->off;
			*nl = '\0';
			c->off = (size_t)(nl + 1 - c->buf);
			if (nl > line && nl[-1] == '\r')
				nl[-1] = '\0';
			*ret_line = line;
			return 0;
		}
		if (c->off > 0) {
			memmove(c->buf, c->buf + c->off, c->len - c->off);
			c->len -= c->off;
			c->off = 0;
		}
		if (c->len >= CLIENT_LINE_MAX)
			return -EMSGSIZE;
		if ((error = fd_wait(c->fd, POLLIN, deadline)) != 0)
			return error;
		n = recv(c->fd, c->buf + c->len, CLIENT_LINE_MAX - c->len,
		    MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENOTCONN;
		c->len += (size_t)n;
	}
}

/*
 * Reports a failure of the connection; resend_id, when the check-in may
 * have reached the server, tells how to re-send it safely.  Returns 3.
 */
static int
client_fail(const struct client *c, int error, const char *resend_id)
{
	char	 zh[160], en[160], sbuf[128];

	sanitize(c->peer, sbuf, sizeof(sbuf));
	switch (error) {
	case -ETIMEDOUT:
		snprintf(zh, sizeof(zh), "等待 %s 的回复超时", sbuf);
		snprintf(en, sizeof(en), "timed out waiting for the server");
		break;
	case -ENOTCONN:
		snprintf(zh, sizeof(zh), "%s 关闭了连接", sbuf);
		snprintf(en, sizeof(en), "connection closed by the server");
		break;
	case -EMSGSIZE:
		snprintf(zh, sizeof(zh), "%s 的回复行过长", sbuf);
		snprintf(en, sizeof(en), "reply line longer than 64 KiB");
		break;
	default:
		snprintf(zh, sizeof(zh), "与 %s 通信失败: %s", sbuf,
		    strerror(-error));
		snprintf(en, sizeof(en), "network error");
		break;
	}
	if (resend_id != NULL)
		return errorx(EXIT_NETWORK, "%s, 结果未知, 可用 --id %s 安全重发 "
		    "(%s; outcome unknown, re-send safely with --id %s)", zh,
		    resend_id, en, resend_id);
	return errorx(EXIT_NETWORK, "%s (%s)", zh, en);
}

/* Tells whether s..end holds only ASCII and at least one letter. */
static bool
ascii_words(const char *s, const char *end)
{
	bool	 letter = false;

	for (; s < end; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
			letter = true;
	}
	return letter;
}

/*
 * Drops the English " (...)" of a server message, Chinese first: the one
 * that ends it, or else the one right after the Chinese words (pingand
 * adds a detail after it: "未知网格 (unknown grid) 'XX-99'").  Writes the
 * rest to buf.
 */
static void
message_chinese(const char *msg, char *buf, size_t size)
{
	const char	*q, *open = NULL, *close;
	size_t		 len = strlen(msg), n;

	if (len > 0 && msg[len - 1] == ')') {
		for (q = msg; (q = strstr(q, " (")) != NULL; q++)
			open = q;
		if (open != NULL && open > msg &&
		    ascii_words(open + 2, msg + len - 1)) {
			snprintf(buf, size, "%.*s", (int)(open - msg), msg);
			return;
		}
	}
	for (q = msg; (q = strstr(q, " (")) != NULL; q++) {
		if (q == msg || (unsigned char)q[-1] < 0x80 ||
		    (close = strchr(q + 2, ')')) == NULL ||
		    !ascii_words(q + 2, close))
			continue;
		n = (size_t)(q - msg);
		snprintf(buf, size, "%.*s%s", (int)n, msg, close + 1);
		return;
	}
	snprintf(buf, size, "%s", msg);
}

/* Reports an "ERR <code> <message>" reply: the Chinese message, then the code. */
static int
server_refused(const char *line)
{
	const char	*p = line + 3, *msg;
	size_t		 codelen;
	char		 mbuf[512], cbuf[64], tmp[512];

	p += strspn(p, " ");
	codelen = strcspn(p, " ");
	msg = p + codelen;
	msg += strspn(msg, " ");
	if (codelen >= sizeof(tmp))
		codelen = sizeof(tmp) - 1;
	memcpy(tmp, p, codelen);
	tmp[codelen] = '\0';
	sanitize(tmp, cbuf, sizeof(cbuf));
	message_chinese(msg, tmp, sizeof(tmp));
	if (tmp[0] == '\0')
		return errorx(EXIT_REFUSED, "服务器拒绝 (server refused: %s)",
		    cbuf);
	return errorx(EXIT_REFUSED, "服务器拒绝: %s (server refused: %s)",
	    sanitize(tmp, mbuf, sizeof(mbuf)), cbuf);
}

/* Tells whether a reply line is "OK" or starts with "OK ". */
static bool
reply_ok(const char *line)
{
	return strncmp(line, "OK", 2) == 0 && (line[2] == '\0' ||
	    line[2] == ' ');
}

/* Tells whether a reply line is an ERR. */
static bool
reply_err(const char *line)
{
	return strncmp(line, "ERR", 3) == 0 && (line[3] == '\0' ||
	    line[3] == ' ');
}

/* Reports a reply the protocol does not allow here; returns 3. */
static int
reply_unexpected(const char *line)
{
	char	 sbuf[128];

	return errorx(EXIT_NETWORK, "无法识别服务器的回复 '%s' (unexpected "
	    "reply from server)", sanitize(line, sbuf, sizeof(sbuf)));
}

/* Reads and checks the greeting; returns 0 or an exit status. */
static int
client_greet(struct client *c)
{
	char	*line, sbuf[128];
	int	 error;

	if ((error = client_read_line(c, &line)) != 0)
		return client_fail(c, error, NULL);
	if (strncmp(line, "OK pingan/1", 11) == 0 &&
	    (line[11] == ' ' || line[11] == '\0'))
		return 0;
	if (reply_err(line))
		return server_refused(line);
	return errorx(EXIT_NETWORK, "服务器问候无效 '%s', 不是 pingan/1 服务 "
	    "(bad greeting: not a pingan/1 server)",
	    sanitize(line, sbuf, sizeof(sbuf)));
}

/*
 * Sends a request.  When the server hung up on it, reports its last reply
 * if it left one (an ERR says more than a broken pipe).  Returns 0 or an
 * exit status.
 */
static int
client_request(struct client *c, const char *buf, size_t len,
    const char *resend_id)
{
	char	*line;
	int	 error;

	if ((error = client_send(c, buf, len)) == 0)
		return 0;
	if (error == -EPIPE || error == -ECONNRESET) {
		if (c->timeout_ms > 1000)
			c->timeout_ms = 1000;
		if (client_read_line(c, &line) == 0 && reply_err(line))
			return server_refused(line);
	}
	return client_fail(c, error, resend_id);
}

/* ---- checkin ------------------------------------------------------------- */

/* Reads exactly n digits (or min..max when they differ) as a number. */
static bool
digits(const char **sp, int min, int max, int *ret)
{
	const char	*s = *sp;
	int		 n = 0, v = 0;

	while (n < max && s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (s[n] - '0');
		n++;
	}
	if (n < min)
		return false;
	*sp = s + n;
	*ret = v;
	return true;
}

/*
 * Parses a wall-clock time in the local time zone: "YYYY-MM-DD HH:MM[:SS]"
 * (or with a 'T'), or "HH:MM[:SS]" for today.  Returns 0 or -EINVAL.
 */
static int
local_time_parse(const char *s, int64_t *ret_ms)
{
	struct tm	 tm, want;
	time_t		 now, t;
	int		 y, mo, d, h, mi, sec = 0;

	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL)
		return -EINVAL;
	y = tm.tm_year + 1900;
	mo = tm.tm_mon + 1;
	d = tm.tm_mday;

	if (strchr(s, '-') != NULL) {
		if (!digits(&s, 4, 4, &y) || *s++ != '-' ||
		    !digits(&s, 2, 2, &mo) || *s++ != '-' ||
		    !digits(&s, 2, 2, &d) || (*s != ' ' && *s != 'T'))
			return -EINVAL;
		s++;
	}
	if (!digits(&s, 1, 2, &h) || *s++ != ':' || !digits(&s, 2, 2, &mi))
		return -EINVAL;
	if (*s == ':') {
		s++;
		if (!digits(&s, 2, 2, &sec))
			return -EINVAL;
	}
	if (*s != '\0')
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 59)
		return -EINVAL;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	want = tm;
	if ((t = mktime(&tm)) == (time_t)-1)
		return -EINVAL;
	/* mktime moves 2月30日 to March: refuse a date that does not exist. */
	if (tm.tm_mday != want.tm_mday || tm.tm_mon != want.tm_mon ||
	    tm.tm_year != want.tm_year)
		return -EINVAL;
	*ret_ms = (int64_t)t * 1000;
	return 0;
}

/* Formats ms as local RFC 3339, e.g. 2026-11-26T21:05:00+08:00. */
static int
time_format_local(int64_t ms, char *buf, size_t size)
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 sec = ms / 1000, frac = ms % 1000;
	long		 off;
	size_t		 n;
	int		 r;

	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	t = (time_t)sec;
	if (localtime_r(&t, &tm) == NULL)
		return -EINVAL;
	if ((n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm)) == 0)
		return -ENOSPC;
	if (frac != 0) {
		r = snprintf(buf + n, size - n, ".%03d", (int)frac);
		if (r < 0 || (size_t)r >= size - n)
			return -ENOSPC;
		n += (size_t)r;
	}
	off = tm.tm_gmtoff / 60;
	r = snprintf(buf + n, size - n, "%c%02ld:%02ld", off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
	if (r < 0 || (size_t)r >= size - n)
		return -ENOSPC;
	return 0;
}

/*
 * Turns --at into the value sent: RFC 3339 with the local offset, or Unix
 * ms should the library not read back what was formatted.  Returns 0 or
 * -EINVAL.
 */
static int
at_parse(const char *s, char *buf, size_t size)
{
	int64_t	 ms, back;

	if (local_time_parse(s, &ms) != 0 && proto_time_parse(s, &ms) != 0)
		return -EINVAL;
	if (time_format_local(ms, buf, size) == 0 &&
	    proto_time_parse(buf, &back) == 0 && back == ms)
		return 0;
	snprintf(buf, size, "%lld", (long long)ms);
	return 0;
}

/* Reads the CHECKIN reply and prints the id; returns an exit status. */
static int
checkin_reply(struct client *c, const char *id)
{
	uint8_t	 want[16], got[16];
	char	*line, word[64], state[16];
	int	 error;

	/* The reply to AUTH comes first. */
	if ((error = client_read_line(c, &line)) != 0)
		return client_fail(c, error, id);
	if (reply_err(line))
		return server_refused(line);
	if (!reply_ok(line))
		return reply_unexpected(line);

	if ((error = client_read_line(c, &line)) != 0)
		return client_fail(c, error, id);
	if (reply_err(line))
		return server_refused(line);
	if (!reply_ok(line) ||
	    sscanf(line, "OK %63s %15s", word, state) != 2 ||
	    proto_uuid_parse(word, got) != 0 ||
	    proto_uuid_parse(id, want) != 0 ||
	    memcmp(got, want, sizeof(got)) != 0)
		return reply_unexpected(line);
	if (strcmp(state, "stored") == 0) {
		printf("%s\n", id);
		return 0;
	}
	if (strcmp(state, "duplicate") == 0) {
		printf("%s\n", id);
		fflush(stdout);
		fprintf(stderr, "pingan: 已存在,未重复保存 (duplicate: stored "
		    "before)\n");
		return 0;
	}
	return reply_unexpected(line);
}

/* Tells whether a credential can go into AUTH as one unquoted word. */
static bool
credential_valid(const char *s, size_t max)
{
	const unsigned char	*p;

	if (s[0] == '\0' || strlen(s) > max)
		return false;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '=' ||
		    *p == '\\')
			return false;
	return proto_utf8_valid(s, strlen(s));
}

/* pingan checkin: sends one check-in and prints its id. */
static int
cmd_checkin(struct cli *cli, int argc, char **argv)
{
	const char		*cmd = "checkin";
	const char		*grid, *lat, *lon, *note;
	struct settings		 s;
	struct client		 c;
	struct strbuf		 req = { NULL, 0, 0 };
	enum checkin_kind	 kind;
	uint8_t			 uuid[16];
	uuid_t			 gen;
	char			 id[PINGAN_UUID_STRLEN + 1], at[64], sbuf[64];
	double			 dlat, dlon;
	int			 rv;

	if ((rv = cli_parse(cli, argc, argv, false, checkin_opts, cmd)) != 0)
		return rv;
	if (cli->opt[OPT_HELP] != NULL) {
		usage_command(stdout, command_find(cmd));
		return 0;
	}
	if (cli->opt[OPT_VERSION] != NULL) {
		version();
		return 0;
	}
	if (optind < argc)
		return usage_error(cmd, "多余的参数 '%s' (unexpected argument)",
		    sanitize(argv[optind], sbuf, sizeof(sbuf)));

	if ((grid = cli->opt[OPT_GRID]) == NULL)
		return usage_error(cmd, "缺少 --grid 网格编号 (missing --grid)");
	if (grid[0] == '\0' || !text_valid(grid, false))
		return usage_error(cmd, "网格编号无效 (bad --grid)");
	if (cli->opt[OPT_KIND] == NULL)
		return usage_error(cmd, "缺少 --kind 类型 (missing --kind)");
	if (proto_kind_parse(cli->opt[OPT_KIND], &kind) != 0)
		return usage_error(cmd, "未知类型 '%s' (unknown --kind)",
		    sanitize(cli->opt[OPT_KIND], sbuf, sizeof(sbuf)));

	lat = cli->opt[OPT_LAT];
	lon = cli->opt[OPT_LON];
	if ((lat == NULL) != (lon == NULL))
		return usage_error(cmd, "--lat 和 --lon 须同时给出 (give both "
		    "--lat and --lon, or neither)");
	if (lat != NULL && proto_double_parse(lat, -90.0, 90.0, &dlat) != 0)
		return usage_error(cmd, "纬度须在 -90 到 90 之间 (--lat must be "
		    "-90..90)");
	if (lon != NULL && proto_double_parse(lon, -180.0, 180.0, &dlon) != 0)
		return usage_error(cmd, "经度须在 -180 到 180 之间 (--lon must "
		    "be -180..180)");

	note = cli->opt[OPT_NOTE];
	if (note != NULL && !text_valid(note, true))
		return usage_error(cmd, "说明须为 UTF-8 文本, 不含控制字符 "
		    "(--note must be UTF-8 text without control characters)");
	if (note != NULL && strlen(note) > CLIENT_NOTE_MAX)
		return usage_error(cmd, "说明超过 %d 字节 (--note longer than "
		    "%d bytes)", CLIENT_NOTE_MAX, CLIENT_NOTE_MAX);

	if (cli->opt[OPT_AT] != NULL &&
	    at_parse(cli->opt[OPT_AT], at, sizeof(at)) != 0)
		return usage_error(cmd, "无法识别的时间 '%s' (bad --at: use "
		    "RFC 3339, Unix ms, 'YYYY-MM-DD HH:MM[:SS]' or 'HH:MM')",
		    sanitize(cli->opt[OPT_AT], sbuf, sizeof(sbuf)));

	if (cli->opt[OPT_ID] != NULL) {
		if (proto_uuid_parse(cli->opt[OPT_ID], uuid) != 0)
			return usage_error(cmd, "记录编号须为 UUID (--id must "
			    "be a UUID, 8-4-4-4-12 hex)");
		proto_uuid_format(uuid, id);
	} else {
		uuid_generate_random(gen);
		uuid_unparse_lower(gen, id);
	}

	if ((rv = settings_load(cli, &s, cmd)) != 0) {
		settings_free(&s);
		return rv;
	}
	if (s.worker == NULL || s.token == NULL) {
		settings_free(&s);
		return usage_error(cmd, "缺少人员编号和令牌: 用 --worker 和 "
		    "--token, 环境变量 PINGAN_WORKER 和 PINGAN_TOKEN, 或配置文件"
		    "中的 worker 和 token 给出 (missing credentials: give "
		    "--worker and --token, set PINGAN_WORKER and PINGAN_TOKEN, "
		    "or put worker and token in the config file)");
	}
	if (!credential_valid(s.worker, PINGAN_CODE_MAX) ||
	    !credential_valid(s.token, PINGAN_TOKEN_MAX)) {
		settings_free(&s);
		return usage_error(cmd, "人员编号或令牌无效 (bad worker code "
		    "or token)");
	}

	/* AUTH and CHECKIN go in one write; the replies come in order. */
	sb_adds(&req, "AUTH ");
	sb_adds(&req, s.worker);
	sb_adds(&req, " ");
	sb_adds(&req, s.token);
	sb_adds(&req, "\nCHECKIN");
	sb_field(&req, "id", id);
	sb_field(&req, "grid", grid);
	sb_field(&req, "kind", proto_kind_name(kind));
	if (cli->opt[OPT_AT] != NULL)
		sb_field(&req, "at", at);
	if (lat != NULL) {
		sb_field(&req, "lat", lat);
		sb_field(&req, "lon", lon);
	}
	if (note != NULL)
		sb_field(&req, "note", note);
	sb_adds(&req, "\n");

	client_init(&c, s.timeout, s.server);
	if ((rv = client_connect_tcp(&c, s.server, cmd)) == 0 &&
	    (rv = client_greet(&c)) == 0 &&
	    (rv = client_request(&c, req.buf, req.len, id)) == 0)
		rv = checkin_reply(&c, id);
	client_close(&c);
	explicit_bzero(req.buf, req.len);	/* it holds the token */
	sb_free(&req);
	settings_free(&s);
	return rv;
}

/* ---- ping ---------------------------------------------------------------- */

/* pingan ping: measures one PING round trip. */
static int
cmd_ping(struct cli *cli, int argc, char **argv)
{
	struct settings	 s;
	struct client	 c;
	struct timespec	 t0, t1;
	char		*line, sbuf[64];
	int		 rv, error;

	if ((rv = cli_parse(cli, argc, argv, false, no_opts, "ping")) != 0)
		return rv;
	if (cli->opt[OPT_HELP] != NULL) {
		usage_command(stdout, command_find("ping"));
		return 0;
	}
	if (cli->opt[OPT_VERSION] != NULL) {
		version();
		return 0;
	}
	if (optind < argc)
		return usage_error("ping", "多余的参数 '%s' (unexpected "
		    "argument)", sanitize(argv[optind], sbuf, sizeof(sbuf)));
	if ((rv = settings_load(cli, &s, "ping")) != 0) {
		settings_free(&s);
		return rv;
	}

	client_init(&c, s.timeout, s.server);
	if ((rv = client_connect_tcp(&c, s.server, "ping")) != 0 ||
	    (rv = client_greet(&c)) != 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rv = client_request(&c, "PING\n", 5, NULL)) != 0)
		goto out;
	if ((error = client_read_line(&c, &line)) != 0) {
		rv = client_fail(&c, error, NULL);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (reply_err(line))
		rv = server_refused(line);
	else if (strcmp(line, "OK PONG") != 0)
		rv = reply_unexpected(line);
	else
		printf("%.3f ms\n", (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
out:
	client_close(&c);
	settings_free(&s);
	return rv;
}

/* ---- admin --------------------------------------------------------------- */

/* Parses the fields of text ("key=value ..."), as a request of a dummy verb. */
static int
fields_parse(const char *text, struct proto_request *ret_req)
{
	struct strbuf	 sb = { NULL, 0, 0 };
	int		 rv;

	sb_adds(&sb, "PING ");
	sb_adds(&sb, text);
	rv = proto_parse_line(sb.buf, sb.len, ret_req);
	sb_free(&sb);
	if (rv != 0) {
		proto_request_free(ret_req);	/* it may hold a buffer */
		return -EINVAL;
	}
	return 0;
}

/* Formats a time value of a list (Unix ms or RFC 3339) in local time. */
static char *
column_time(const char *val)
{
	struct tm	 tm;
	time_t		 t;
	int64_t		 ms;
	char		 buf[64];

	if (val[0] == '\0' || strcmp(val, "0") == 0)
		return xstrdup("-");
	if (proto_time_parse(val, &ms) != 0)
		return xstrdup(val);
	t = (time_t)(ms / 1000);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return xstrdup(val);
	return xstrdup(buf);
}

/* The cell of one column for a value of a data line, ready to print. */
static char *
column_format(const struct admin_column *col, const char *val)
{
	enum worker_role	 role;
	enum worker_team	 team;
	const char		*label;
	char			*out, *p;

	if (val == NULL)
		val = "";
	switch (col->type) {
	case COL_ROLE:
		if (roster_role_parse(val, &role) == 0 &&
		    (label = roster_role_label(role)) != NULL)
			val = label;
		break;
	case COL_TEAM:
		if (strcmp(val, "none") == 0)
			val = "";
		else if (val[0] != '\0' && roster_team_parse(val, &team) == 0 &&
		    (label = roster_team_label(team)) != NULL)
			val = label;
		break;
	case COL_DISABLED:
		if (strcmp(val, "1") == 0 || strcmp(val, "yes") == 0 ||
		    strcmp(val, "true") == 0)
			val = "停用";
		else if (val[0] == '\0' || strcmp(val, "0") == 0 ||
		    strcmp(val, "no") == 0 || strcmp(val, "false") == 0)
			val = "正常";
		break;
	case COL_TIME:
		return column_time(val);
	case COL_TEXT:
		break;
	}
	if (val[0] == '\0')
		val = "-";
	out = xstrdup(val);
	for (p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return out;
}

/* Prints the data lines of a list as a table aligned by display width. */
static int
table_print(const struct admin_column *cols, char **lines, size_t nlines)
{
	struct proto_request	 req;
	size_t			 ncols, i, j, w, *width;
	char			**cell;

	for (ncols = 0; cols[ncols].key != NULL; ncols++)
		;
	if (nlines > SIZE_MAX / ncols / sizeof(*cell))
		nomem();
	cell = xcalloc(nlines * ncols, sizeof(*cell));
	width = xcalloc(ncols, sizeof(*width));
	for (j = 0; j < ncols; j++)
		width[j] = display_width(cols[j].header);

	for (i = 0; i < nlines; i++) {
		memset(&req, 0, sizeof(req));
		if (fields_parse(lines[i] + 2, &req) != 0) {
			for (j = 0; j < nlines * ncols; j++)
				free(cell[j]);
			free(cell);
			free(width);
			return reply_unexpected(lines[i]);
		}
		for (j = 0; j < ncols; j++) {
			cell[i * ncols + j] = column_format(&cols[j],
			    proto_field(&req, cols[j].key));
			if ((w = display_width(cell[i * ncols + j])) > width[j])
				width[j] = w;
		}
		proto_request_free(&req);
	}

	for (i = 0; i <= nlines; i++) {
		for (j = 0; j < ncols; j++) {
			const char	*v = i == 0 ? cols[j].header :
			    cell[(i - 1) * ncols + j];

			fputs(v, stdout);
			if (j + 1 < ncols)
				printf("%*s", (int)(width[j] -
				    display_width(v) + 2), "");
		}
		putchar('\n');
	}
	for (j = 0; j < nlines * ncols; j++)
		free(cell[j]);
	free(cell);
	free(width);
	return 0;
}

/* Prints the data lines of a refused request: "第N行 (line=N): error" for an import. */
static void
admin_print_errors(char **lines, size_t nlines)
{
	struct proto_request	 req;
	const char		*ln, *err;
	char			 sbuf[512];
	size_t			 i;

	fflush(stdout);
	for (i = 0; i < nlines; i++) {
		memset(&req, 0, sizeof(req));
		if (fields_parse(lines[i] + 2, &req) != 0) {
			fprintf(stderr, "%s\n", sanitize(lines[i] + 2, sbuf,
			    sizeof(sbuf)));
			continue;
		}
		if ((ln = proto_field(&req, "line")) != NULL &&
		    (err = proto_field(&req, "error")) != NULL)
			fprintf(stderr, "第%s行 (line=%s): %s\n",
			    sanitize(ln, sbuf, 32), sbuf, sanitize(err,
			    sbuf + 32, sizeof(sbuf) - 32));
		else
			fprintf(stderr, "%s\n", sanitize(lines[i] + 2, sbuf,
			    sizeof(sbuf)));
		proto_request_free(&req);
	}
}

/* Prints the token of a TOKEN-ISSUE reply; returns an exit status. */
static int
admin_print_token(const char *line)
{
	struct proto_request	 req;
	const char		*token;

	memset(&req, 0, sizeof(req));
	if (line[2] != ' ' || fields_parse(line + 3, &req) != 0)
		return reply_unexpected(line);
	if ((token = proto_field(&req, "token")) == NULL || token[0] == '\0') {
		proto_request_free(&req);
		return reply_unexpected(line);
	}
	printf("%s\n", token);
	fflush(stdout);
	fprintf(stderr, "pingan: 令牌只显示这一次,请妥善保存 (the token is "
	    "shown only once)\n");
	proto_request_free(&req);
	return 0;
}

/* Reads a file of at most 8 MiB ("-" for standard input); returns 0 or 4. */
static int
file_read(const char *path, char **ret_buf, size_t *ret_len)
{
	char	*buf, sbuf[128];
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, error;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errorx(EXIT_LOCAL, "无法读取文件 %s: %s (cannot read "
		    "file)", sanitize(path, sbuf, sizeof(sbuf)),
		    strerror(errno));
	buf = xmalloc(CLIENT_IMPORT_MAX + 1);
	for (;;) {
		n = read(fd, buf + len, CLIENT_IMPORT_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			error = errno;
			if (fd != STDIN_FILENO)
				close(fd);
			free(buf);
			return errorx(EXIT_LOCAL, "无法读取文件 %s: %s (cannot "
			    "read file)", sanitize(path, sbuf, sizeof(sbuf)),
			    strerror(error));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > CLIENT_IMPORT_MAX) {
			if (fd != STDIN_FILENO)
				close(fd);
			free(buf);
			return errorx(EXIT_LOCAL, "文件 %s 超过 8 MiB (file "
			    "larger than 8 MiB)", sanitize(path, sbuf,
			    sizeof(sbuf)));
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (len == 0) {
		free(buf);
		return errorx(EXIT_LOCAL, "文件 %s 是空的 (file is empty)",
		    sanitize(path, sbuf, sizeof(sbuf)));
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/*
 * Builds the request line of an admin subcommand from its options, checking
 * what can be checked here.  Returns 0 or an exit status.
 */
static int
admin_build(const struct cli *cli, const struct admin_sub *sub,
    const char *cmd, struct strbuf *req)
{
	const struct optuse	*u;
	const char		*val, *p;
	char			 verb[32];
	size_t			 i;

	for (i = 0; sub->name[i] != '\0' && i < sizeof(verb) - 1; i++)
		verb[i] = (sub->name[i] >= 'a' && sub->name[i] <= 'z') ?
		    (char)(sub->name[i] - 'a' + 'A') : sub->name[i];
	verb[i] = '\0';
	sb_adds(req, verb);

	for (u = sub->opts; u->id != OPT_NONE; u++) {
		if ((val = cli->opt[u->id]) == NULL) {
			if (u->required)
				return usage_error(cmd, "缺少 --%s (missing "
				    "--%s)", opt_names[u->id].name,
				    opt_names[u->id].name);
			continue;
		}
		if (!text_valid(val, false))
			return usage_error(cmd, "--%s 须为 UTF-8 文本, 不含控制"
			    "字符 (--%s must be UTF-8 text without control "
			    "characters)", opt_names[u->id].name,
			    opt_names[u->id].name);
		/* Roles and teams (English or Chinese): the server judges. */
		if (u->id == OPT_ID) {
			for (p = val; *p >= '0' && *p <= '9'; p++)
				;
			if (val[0] == '\0' || *p != '\0' || p - val > 18 ||
			    strtoll(val, NULL, 10) < 1)
				return usage_error(cmd, "令牌编号须为正整数 "
				    "(--id must be a positive number)");
		}
		sb_field(req, u->field, val);
	}
	return 0;
}

/* Collects the data lines of a reply and its final line; returns 0 or 3. */
static int
admin_read_reply(struct client *c, bool raw, char ***ret_lines,
    size_t *ret_n, char **ret_final)
{
	char	**lines = NULL, *line;
	size_t	 n = 0;
	int	 error;

	for (;;) {
		if ((error = client_read_line(c, &line)) != 0) {
			while (n > 0)
				free(lines[--n]);
			free(lines);
			return client_fail(c, error, NULL);
		}
		if (strncmp(line, "* ", 2) != 0)
			break;
		if (raw) {
			printf("%s\n", line);
			continue;
		}
		lines = xreallocarray(lines, n + 1, sizeof(*lines));
		lines[n++] = xstrdup(line);
	}
	*ret_final = xstrdup(line);
	*ret_lines = lines;
	*ret_n = n;
	return 0;
}

/* Runs one admin subcommand over the admin socket. */
static int
admin_run(struct cli *cli, const struct admin_sub *sub, const char *cmd,
    int argc, char **argv)
{
	struct settings	 s;
	struct client	 c;
	struct strbuf	 req = { NULL, 0, 0 };
	const char	*what = NULL;
	char		*body = NULL, *final = NULL, **lines = NULL;
	char		 sbuf[64], hdr[96];
	size_t		 bodylen = 0, nlines = 0, i;
	bool		 raw = cli->opt[OPT_RAW] != NULL;
	int		 rv;

	if (sub->flags & ADMIN_F_IMPORT) {
		if (argc - optind < 2)
			return usage_error(cmd, "用法: import villages|grids|"
			    "workers FILE (usage: import WHAT FILE)");
		what = argv[optind];
		if (strcmp(what, "villages") != 0 &&
		    strcmp(what, "grids") != 0 &&
		    strcmp(what, "workers") != 0)
			return usage_error(cmd, "只能导入 villages、grids 或 "
			    "workers (import villages, grids or workers)");
		optind += 2;
	}
	if (optind < argc)
		return usage_error(cmd, "多余的参数 '%s' (unexpected argument)",
		    sanitize(argv[optind], sbuf, sizeof(sbuf)));
	if ((rv = admin_build(cli, sub, cmd, &req)) != 0) {
		sb_free(&req);
		return rv;
	}
	if ((rv = settings_load(cli, &s, cmd)) != 0) {
		sb_free(&req);
		settings_free(&s);
		return rv;
	}
	if (what != NULL &&
	    (rv = file_read(argv[optind - 1], &body, &bodylen)) != 0) {
		sb_free(&req);
		settings_free(&s);
		return rv;
	}
	if (what != NULL) {
		snprintf(hdr, sizeof(hdr), " what=%s bytes=%zu", what,
		    bodylen);
		sb_adds(&req, hdr);
	}
	sb_adds(&req, "\n");

	client_init(&c, s.timeout, s.admin_socket);
	if ((rv = client_connect_unix(&c, s.admin_socket)) != 0 ||
	    (rv = client_greet(&c)) != 0 ||
	    (rv = client_request(&c, req.buf, req.len, NULL)) != 0)
		goto out;
	if (body != NULL &&
	    (rv = client_request(&c, body, bodylen, NULL)) != 0)
		goto out;
	if ((rv = admin_read_reply(&c, raw, &lines, &nlines, &final)) != 0)
		goto out;

	if (reply_err(final)) {
		if (!raw)
			admin_print_errors(lines, nlines);
		rv = server_refused(final);
	} else if (!reply_ok(final))
		rv = reply_unexpected(final);
	else if (sub->flags & ADMIN_F_TOKEN)
		rv = admin_print_token(final);
	else if (sub->columns != NULL)
		rv = raw ? 0 : table_print(sub->columns, lines, nlines);
	else {
		for (i = 0; i < nlines; i++)
			printf("%s\n", lines[i] + 2);
		if (final[2] == ' ' && final[3] != '\0')
			printf("%s\n", final + 3);
	}
out:
	for (i = 0; i < nlines; i++)
		free(lines[i]);
	free(lines);
	free(final);
	free(body);
	client_close(&c);
	sb_free(&req);
	settings_free(&s);
	return rv;
}

/* pingan admin: finds the subcommand, parses its options and runs it. */
static int
cmd_admin(struct cli *cli, int argc, char **argv)
{
	const struct admin_sub	*sub;
	const struct optuse	*u;
	struct optuse		 uses[16];
	char			 cmd[64], sbuf[64];
	size_t			 n = 0;
	int			 rv;

	if ((rv = cli_parse(cli, argc, argv, true, admin_opts, "admin")) != 0)
		return rv;
	if (optind >= argc) {
		if (cli->opt[OPT_HELP] != NULL) {
			usage_command(stdout, command_find("admin"));
			return 0;
		}
		if (cli->opt[OPT_VERSION] != NULL) {
			version();
			return 0;
		}
		return usage_error("admin", "缺少子命令 (missing admin "
		    "subcommand)");
	}
	if ((sub = admin_sub_find(argv[optind])) == NULL)
		return usage_error("admin", "未知子命令 '%s' (unknown admin "
		    "subcommand)", sanitize(argv[optind], sbuf, sizeof(sbuf)));
	snprintf(cmd, sizeof(cmd), "admin %s", sub->name);

	/* The subcommand's options and --raw, which may follow it too. */
	for (u = sub->opts; u->id != OPT_NONE && n < nitems(uses) - 2; u++)
		uses[n++] = *u;
	uses[n++] = admin_opts[0];
	uses[n].id = OPT_NONE;

	argc -= optind;
	argv += optind;
	if ((rv = cli_parse(cli, argc, argv, false, uses, cmd)) != 0)
		return rv;
	if (cli->opt[OPT_HELP] != NULL) {
		usage_admin_sub(stdout, sub);
		return 0;
	}
	if (cli->opt[OPT_VERSION] != NULL) {
		version();
		return 0;
	}
	return admin_run(cli, sub, cmd, argc, argv);
}

/* ---- help ---------------------------------------------------------------- */

/* pingan help [command [subcommand]]: prints help on stdout. */
static int
cmd_help(struct cli *cli, int argc, char **argv)
{
	const struct command	*cmd;
	const struct admin_sub	*sub;
	char			 sbuf[64];
	int			 rv;

	if ((rv = cli_parse(cli, argc, argv, false, no_opts, "help")) != 0)
		return rv;
	if (optind >= argc) {
		usage_all(stdout);
		return 0;
	}
	if ((cmd = command_find(argv[optind])) == NULL)
		return usage_error(NULL, "未知命令 '%s' (unknown command)",
		    sanitize(argv[optind], sbuf, sizeof(sbuf)));
	if (cmd->fn == cmd_admin && optind + 1 < argc) {
		if ((sub = admin_sub_find(argv[optind + 1])) == NULL)
			return usage_error("admin", "未知子命令 '%s' (unknown "
			    "admin subcommand)", sanitize(argv[optind + 1],
			    sbuf, sizeof(sbuf)));
		usage_admin_sub(stdout, sub);
		return 0;
	}
	usage_command(stdout, cmd);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct command	*cmd;
	struct cli		 cli;
	char			 sbuf[64];
	int			 rv;

	/* SIGPIPE stays: sends use MSG_NOSIGNAL; `| head` ends us quietly. */
	memset(&cli, 0, sizeof(cli));

	/* Common options may come before the command name. */
	if ((rv = cli_parse(&cli, argc, argv, true, NULL, NULL)) != 0)
		return rv;
	if (optind >= argc) {
		if (cli.opt[OPT_VERSION] != NULL)
			version();
		else if (cli.opt[OPT_HELP] != NULL)
			usage_all(stdout);
		else
			return usage_error(NULL, "缺少命令 (missing command)");
	} else if ((cmd = command_find(argv[optind])) == NULL)
		return usage_error(NULL, "未知命令 '%s' (unknown command)",
		    sanitize(argv[optind], sbuf, sizeof(sbuf)));
	else if (cli.opt[OPT_HELP] != NULL && cmd->fn != cmd_admin)
		usage_command(stdout, cmd);
	else {
		argc -= optind;
		argv += optind;
		rv = cmd->fn(&cli, argc, argv);
	}

	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "pingan: 无法写出结果: %s (cannot write to "
		    "standard output)\n", strerror(errno));
		return EXIT_LOCAL;
	}
	return rv;
}
