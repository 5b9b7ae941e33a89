/*
 * pingan.c: the terminal client of pingand.
 *
 * Grid workers and patrol members send check-ins, patrols, screening
 * reports and duty shifts (`pingan checkin`, `patrol`, `screening`, `duty`);
 * supervisors read the day's summary (`pingan summary`); the 综治中心 keeps
 * the roster with `pingan admin` over the daemon's UNIX socket.  It speaks
 * docs/PROTOCOL.md on a blocking socket, waiting with poll() so that every
 * connect and every reply is bounded by --timeout.
 *
 * A write the server cannot take now (unreachable, connection lost, busy)
 * goes to the offline spool (src/spool.c); every later write sends the
 * spool first, on the same connection, and `pingan sync` sends it alone.
 *
 * With --tls (config `tls yes`) it speaks TLS 1.2 or later and verifies
 * the server's certificate against --ca-file (the town's own CA,
 * docs/TLS.md) and the name or address in --server.  A server that fails
 * that check is not a network failure: nothing is sent and nothing is
 * spooled, since only a person can fix it (exit status 6).
 *
 * Every failure prints one line, "pingan: 中文 (English)", and exits with
 * 1 (the server said ERR), 2 (usage), 3 (network), 4 (local problem),
 * 5 (saved in the offline spool, to be sent later) or 6 (the server's
 * TLS certificate or port failed the check).
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
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <uuid/uuid.h>

#include "config.h"
#include "pingan.h"

#define EXIT_REFUSED	1	/* the server answered ERR */
#define EXIT_USAGE	2	/* bad or missing option */
#define EXIT_NETWORK	3	/* connect, timeout, closed, bad greeting */
#define EXIT_LOCAL	4	/* config, file, memory */
#define EXIT_SPOOLED	5	/* kept in the offline spool for later */
#define EXIT_TLS	6	/* the server failed the TLS check: not spooled */

#define CLIENT_LINE_MAX		(64 * 1024)	/* bytes in one reply line */
#define CLIENT_SUMMARY_MAX	(16 * 1024 * 1024)	/* the SUMMARY reply */
#define CLIENT_WINDOW		64	/* requests in flight on one connection */
#define CLIENT_TEXT_MAX		4000	/* --summary, --item */
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
	OPT_TYPE,
	OPT_MEMBERS,
	OPT_VILLAGES,
	OPT_GRIDS,
	OPT_PATROL,
	OPT_CHECKPOINT,
	OPT_SUMMARY,
	OPT_ZERO,
	OPT_ITEM,
	OPT_DAY,
	OPT_FROM,
	OPT_TO,
	OPT_POST,
	OPT_JSON,
	OPT_DISPUTE,
	OPT_CATEGORY,
	OPT_SOURCE,
	OPT_PARTIES,
	OPT_CONTACTS,
	OPT_BAND,
	OPT_PEOPLE,
	OPT_GROUP_PETITION,
	OPT_CROSS_AREA,
	OPT_SCREENING,
	OPT_LEVEL,
	OPT_HANDLERS,
	OPT_LEADER,
	OPT_DEADLINE,
	OPT_REASON,
	OPT_ACTION,
	OPT_STATUS,
	OPT_OUTCOME,
	OPT_PERSON,
	OPT_CADRE,
	OPT_PERIOD,
	OPT_SENSITIVE,
	OPT_RISK,
	OPT_BY,
	OPT_TLS,
	OPT_NO_TLS,
	OPT_CA_FILE,
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
	[OPT_TYPE] = { "type", required_argument },
	[OPT_MEMBERS] = { "members", required_argument },
	[OPT_VILLAGES] = { "villages", required_argument },
	[OPT_GRIDS] = { "grids", required_argument },
	[OPT_PATROL] = { "patrol", required_argument },
	[OPT_CHECKPOINT] = { "checkpoint", required_argument },
	[OPT_SUMMARY] = { "summary", required_argument },
	[OPT_ZERO] = { "zero", no_argument },
	[OPT_ITEM] = { "item", required_argument },
	[OPT_DAY] = { "day", required_argument },
	[OPT_FROM] = { "from", required_argument },
	[OPT_TO] = { "to", required_argument },
	[OPT_POST] = { "post", required_argument },
	[OPT_JSON] = { "json", no_argument },
	[OPT_DISPUTE] = { "dispute", required_argument },
	[OPT_CATEGORY] = { "category", required_argument },
	[OPT_SOURCE] = { "source", required_argument },
	[OPT_PARTIES] = { "parties", required_argument },
	[OPT_CONTACTS] = { "contacts", required_argument },
	[OPT_BAND] = { "band", required_argument },
	[OPT_PEOPLE] = { "people", required_argument },
	[OPT_GROUP_PETITION] = { "group-petition", no_argument },
	[OPT_CROSS_AREA] = { "cross-area", no_argument },
	[OPT_SCREENING] = { "screening", required_argument },
	[OPT_LEVEL] = { "level", required_argument },
	[OPT_HANDLERS] = { "handlers", required_argument },
	[OPT_LEADER] = { "leader", required_argument },
	[OPT_DEADLINE] = { "deadline", required_argument },
	[OPT_REASON] = { "reason", required_argument },
	[OPT_ACTION] = { "action", required_argument },
	[OPT_STATUS] = { "status", required_argument },
	[OPT_OUTCOME] = { "outcome", required_argument },
	[OPT_PERSON] = { "person", required_argument },
	[OPT_CADRE] = { "cadre", required_argument },
	[OPT_PERIOD] = { "period", required_argument },
	[OPT_SENSITIVE] = { "sensitive", no_argument },
	[OPT_RISK] = { "risk", required_argument },
	[OPT_BY] = { "by", required_argument },
	[OPT_TLS] = { "tls", no_argument },
	[OPT_NO_TLS] = { "no-tls", no_argument },
	[OPT_CA_FILE] = { "ca-file", required_argument },
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
	bool		 tls;		/* TLS to the server */
	const char	*ca_file;	/* NULL: the system's CAs */
	/* what the config file said, owned here */
	char		*conf_path;
	char		*conf_server;
	char		*conf_worker;
	char		*conf_token;
	char		*conf_admin_socket;
	char		*conf_ca_file;
	int		 conf_timeout;	/* 0 when not set */
	int		 conf_tls;	/* -1 when not set */
};

/*
 * A connection to pingand: a blocking socket (non-blocking under TLS) and
 * its read buffer.
 */
struct client {
	int		 fd;
	SSL_CTX		*tls_ctx;	/* with TLS: the context and */
	SSL		*ssl;		/* the session over fd */
	int		 timeout_ms;
	const char	*peer;		/* address or socket path */
	size_t		 line_max;	/* bytes in one reply line */
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
#define ADMIN_F_PASSWORD 0x4	/* reads a password, sends its hash */

/* One `pingan admin` subcommand. */
struct admin_sub {
	const char			*name;	/* verb, in lower case */
	const char			*synopsis;
	const char			*help;
	const struct optuse		*opts;
	const struct admin_column	*columns;	/* lists only */
	int				 flags;
};

/* A subcommand of `pingan patrol` or `pingan duty`. */
#define SUB_F_READ	0x1	/* a read: no record, no spool */

struct subcommand {
	const char		*name;
	const char		*synopsis;
	const char		*help;
	const struct optuse	*opts;
	int			 flags;
};

static int	 cmd_checkin(struct cli *, int, char **);
static int	 cmd_patrol(struct cli *, int, char **);
static int	 cmd_screening(struct cli *, int, char **);
static int	 cmd_duty(struct cli *, int, char **);
static int	 cmd_summary(struct cli *, int, char **);
static int	 cmd_dispute(struct cli *, int, char **);
static int	 cmd_risk(struct cli *, int, char **);
static int	 cmd_audit(struct cli *, int, char **);
static int	 cmd_report(struct cli *, int, char **);
static int	 cmd_sync(struct cli *, int, char **);
static int	 cmd_queue(struct cli *, int, char **);
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
	const struct subcommand	*subs;		/* NULL-named end */
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
	{ OPT_TLS, NULL, "使用 TLS 连接服务器的 TLS 端口 (connect to the "
	    "server's TLS port with TLS; PINGAN_TLS=yes, config `tls yes`)",
	    false, NULL },
	{ OPT_NO_TLS, NULL, "不用 TLS, 如连本机明文端口 (plain text, e.g. "
	    "to the local plain port)", false, NULL },
	{ OPT_CA_FILE, "FILE", "用以验证服务器证书的 CA 证书 (the CA "
	    "certificate that signed the server's; PINGAN_CA_FILE, config "
	    "`ca_file`; default the system's CAs)", false, NULL },
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

#define OPT_HELP_AT \
	"发生时间, 默认现在 (when it happened, default now): RFC 3339, " \
	"Unix ms, 'YYYY-MM-DD HH:MM[:SS]' or 'HH:MM' (today, local time)"
#define OPT_HELP_ID \
	"记录编号, 重发时用同一个 (record id, a UUID; re-send with the " \
	"same one to avoid a duplicate)"

static const struct optuse patrol_start_opts[] = {
	{ OPT_TYPE, "TYPE", "巡逻类型 (patrol type): security 治安巡防, "
	    "forest_fire 森林防火巡逻", true, NULL },
	{ OPT_MEMBERS, "CODES", "同行队员, 逗号分隔, 自己总在内 (other members, "
	    "comma-separated; you are always on it), 如 (e.g.) P002,P003",
	    false, NULL },
	{ OPT_VILLAGES, "CODES", "巡逻的村(居), 逗号分隔 (villages covered), "
	    "如 (e.g.) DK,CJ", false, NULL },
	{ OPT_GRIDS, "CODES", "巡逻的网格, 逗号分隔 (grids covered), 如 (e.g.) "
	    "DK-01,DK-02; 村(居)或网格至少一项 (at least one village or grid)",
	    false, NULL },
	{ OPT_NOTE, "TEXT", "说明 (note, UTF-8, at most 4000 bytes)", false,
	    NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_LAT, "DEG", "纬度 (latitude, WGS-84, -90..90; with --lon)",
	    false, NULL },
	{ OPT_LON, "DEG", "经度 (longitude, WGS-84, -180..180; with --lat)",
	    false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse patrol_point_opts[] = {
	{ OPT_PATROL, "ID", "巡逻编号, 默认当前巡逻 (the patrol's id; default: "
	    "your current patrol, from 'patrol start')", false, NULL },
	{ OPT_CHECKPOINT, "CODE", "打卡点编号 (checkpoint code)", false, NULL },
	{ OPT_NOTE, "TEXT", "说明 (note, UTF-8, at most 4000 bytes)", false,
	    NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_LAT, "DEG", "纬度 (latitude, WGS-84, -90..90; with --lon)",
	    false, NULL },
	{ OPT_LON, "DEG", "经度 (longitude, WGS-84, -180..180; with --lat)",
	    false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse patrol_end_opts[] = {
	{ OPT_PATROL, "ID", "巡逻编号, 默认当前巡逻 (the patrol's id; default: "
	    "your current patrol)", false, NULL },
	{ OPT_SUMMARY, "TEXT", "巡逻小结, 发现的情况 (what the patrol found, "
	    "at most 4000 bytes)", false, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_LAT, "DEG", "纬度 (latitude, WGS-84, -90..90; with --lon)",
	    false, NULL },
	{ OPT_LON, "DEG", "经度 (longitude, WGS-84, -180..180; with --lat)",
	    false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse screening_opts[] = {
	{ OPT_GRID, "CODE", "网格编号 (grid code), 如 (e.g.) DK-01", true,
	    NULL },
	{ OPT_ZERO, NULL, "零报告: 未发现问题 (zero report: nothing found)",
	    false, NULL },
	{ OPT_ITEM, "TEXT", "发现的一个问题, 每个问题报一次 (one item found; one "
	    "report per item)", false, NULL },
	{ OPT_VILLAGE, "CODE", "村(居)编号, 默认网格所属 (village code; default "
	    "the grid's)", false, NULL },
	{ OPT_DAY, "YYYY-MM-DD", "排查日期, 默认发生时间那天 (the day screened; "
	    "default the day of --at)", false, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse duty_opts[] = {
	{ OPT_POST, "POST", "值班岗位: TOWN 综治中心, 或村(居)编号 (the post: "
	    "TOWN for the town center, or a village code)", true, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse summary_opts[] = {
	{ OPT_DAY, "YYYY-MM-DD", "哪一天, 默认今天 (the day; default today)",
	    false, NULL },
	{ OPT_FROM, "YYYY-MM-DD", "起始日期, 与 --to 同用 (first day of a range, "
	    "with --to)", false, NULL },
	{ OPT_TO, "YYYY-MM-DD", "结束日期 (last day of the range)", false,
	    NULL },
	{ OPT_VILLAGE, "CODE", "只看此村(居) (only this village)", false,
	    NULL },
	{ OPT_JSON, NULL, "输出 JSON (print the JSON as the server sent it)",
	    false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse queue_opts[] = {
	{ OPT_JSON, NULL, "输出 JSON (print JSON)", false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse no_opts[] = {
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct subcommand patrol_subs[] = {
	{ "start", "patrol start --type TYPE (--villages CODES | --grids CODES)\n"
	  "                       [--members CODES] [--note TEXT] [--at TIME]\n"
	  "                       [--lat DEG --lon DEG] [--id UUID]",
	  "开始巡逻, 输出巡逻编号并记为当前巡逻 (start a patrol; prints its id "
	  "and remembers it as your current patrol)", patrol_start_opts, 0 },
	{ "point", "patrol point [--patrol ID] [--checkpoint CODE] "
	  "[--note TEXT]\n"
	  "                       [--at TIME] [--lat DEG --lon DEG] [--id UUID]",
	  "巡逻途中打卡 (a point on the way)", patrol_point_opts, 0 },
	{ "end", "patrol end [--patrol ID] [--summary TEXT] [--at TIME]\n"
	  "                       [--lat DEG --lon DEG] [--id UUID]",
	  "结束巡逻 (end the patrol)", patrol_end_opts, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

static const struct subcommand duty_subs[] = {
	{ "on", "duty on --post POST [--at TIME] [--id UUID]",
	  "上岗值班签到 (check in for duty)", duty_opts, 0 },
	{ "off", "duty off --post POST [--at TIME] [--id UUID]",
	  "下岗值班签退 (check out from duty)", duty_opts, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};

#define OPT_HELP_DISPUTE \
	"纠纷编号, 即上报时输出的编号 (the dispute's id, as 'dispute report' " \
	"printed it)"
#define OPT_HELP_JSON "输出 JSON (print the JSON as the server sent it)"

static const struct optuse dispute_report_opts[] = {
	{ OPT_VILLAGE, "CODE", "村(居)编号 (village code), 如 (e.g.) DK", true,
	    NULL },
	{ OPT_CATEGORY, "NAME", "纠纷类别 (category): 邻里, 婚姻家庭, "
	    "山林土地水利界限, 劳资, 征地拆迁, 合同债务, 物业, 环境污染, 医患, 村务, "
	    "其他 ... (as configured)", true, NULL },
	{ OPT_SOURCE, "SOURCE", "来源 (source): screening 排查, village 村(居), "
	    "walk_in 来访, hotline 热线, higher 上级交办", true, NULL },
	{ OPT_SUMMARY, "TEXT", "简要情况 (a short account, at most 4000 bytes)",
	    true, NULL },
	{ OPT_PARTIES, "TEXT", "当事人 (the parties; sensitive)", false, NULL },
	{ OPT_CONTACTS, "TEXT", "联系方式 (contacts; sensitive)", false, NULL },
	{ OPT_BAND, "BAND", "涉及人数 (people involved): lt50 (<50), 50-100, "
	    "100-500, gt500 (>500)", false, NULL },
	{ OPT_PEOPLE, "N", "涉及人数, 由此定档 (number of people; picks the "
	    "band)", false, NULL },
	{ OPT_GROUP_PETITION, NULL, "有群体性上访苗头 (signs of a group "
	    "petition)", false, NULL },
	{ OPT_CROSS_AREA, NULL, "跨区域 (cross-area)", false, NULL },
	{ OPT_SCREENING, "UUID", "来自哪条排查记录 (the screening item it "
	    "came from)", false, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse dispute_triage_opts[] = {
	{ OPT_DISPUTE, "ID", OPT_HELP_DISPUTE, true, NULL },
	{ OPT_LEVEL, "LEVEL", "级别 (level): village 村级, town 镇级 "
	    "(镇综治中心)", true, NULL },
	{ OPT_HANDLERS, "CODES", "办案人员, 逗号分隔; 村级一人 (handlers, "
	    "comma-separated; one at village level), 如 (e.g.) M001", true,
	    NULL },
	{ OPT_LEADER, "CODE", "包案领导; 镇级必填 (the responsible leader; "
	    "required at town level)", false, NULL },
	{ OPT_DEADLINE, "YYYY-MM-DD", "办结时限, 不早于分流当天; 首次分流必填, "
	    "改派时不给则不变 (deadline, not before the triage's day; required "
	    "the first time, kept by a reassignment without it)", false, NULL },
	{ OPT_REASON, "TEXT", "重新分流的理由; 改派时必填 (reason of a "
	    "reassignment; required then)", false, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse dispute_log_opts[] = {
	{ OPT_DISPUTE, "ID", OPT_HELP_DISPUTE, true, NULL },
	{ OPT_ACTION, "ACTION", "做了什么 (what was done): visit 走访, "
	    "mediation 调解, call 电话, meeting 会商, other 其他", true, NULL },
	{ OPT_NOTE, "TEXT", "说明 (note, at most 4000 bytes)", true, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse dispute_status_opts[] = {
	{ OPT_DISPUTE, "ID", OPT_HELP_DISPUTE, true, NULL },
	{ OPT_STATUS, "STATUS", "结果 (outcome): mediated 调处成功 (with "
	    "--outcome), escalated 未化解上交, closed 其他原因办结 (with "
	    "--reason)", true, NULL },
	{ OPT_OUTCOME, "TEXT", "调处结果 (the outcome of a mediation)", false,
	    NULL },
	{ OPT_REASON, "TEXT", "上交或办结的理由 (why escalated or closed)",
	    false, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse dispute_extend_opts[] = {
	{ OPT_DISPUTE, "ID", OPT_HELP_DISPUTE, true, NULL },
	{ OPT_DEADLINE, "YYYY-MM-DD", "新的办结时限, 晚于原时限 (the new "
	    "deadline, later than the old one)", true, NULL },
	{ OPT_REASON, "TEXT", "延期理由 (why)", true, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse dispute_reopen_opts[] = {
	{ OPT_DISPUTE, "ID", OPT_HELP_DISPUTE, true, NULL },
	{ OPT_REASON, "TEXT", "重新办理的理由 (why it is reopened)", true,
	    NULL },
	{ OPT_DEADLINE, "YYYY-MM-DD", "新的办结时限; 不给则沿用原时限, 已过则立即"
	    "逾期 (a new deadline; without it the old one stays, and a case "
	    "past it is overdue at once)", false, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse dispute_list_opts[] = {
	{ OPT_STATUS, "WHICH", "哪些 (which): open 未办结 (default: reported "
	    "or open), overdue 逾期, closed 已办结, all 全部, reported 待分流, "
	    "mediated 调处成功, escalated 已上交", false, NULL },
	{ OPT_VILLAGE, "CODE", "只看此村(居) (only this village)", false,
	    NULL },
	{ OPT_FROM, "YYYY-MM-DD", "上报日期从 (reported on or after)", false,
	    NULL },
	{ OPT_TO, "YYYY-MM-DD", "上报日期到 (reported on or before)", false,
	    NULL },
	{ OPT_SENSITIVE, NULL, "含当事人和联系方式, 记入审计日志 (with parties "
	    "and contacts, where allowed; audited)", false, NULL },
	{ OPT_JSON, NULL, OPT_HELP_JSON, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse dispute_show_opts[] = {
	{ OPT_DISPUTE, "ID", OPT_HELP_DISPUTE, true, NULL },
	{ OPT_JSON, NULL, OPT_HELP_JSON, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct subcommand dispute_subs[] = {
	{ "report", "dispute report --village CODE --category NAME "
	  "--source SOURCE\n"
	  "                       --summary TEXT [--parties TEXT] "
	  "[--contacts TEXT]\n"
	  "                       [--band BAND | --people N] "
	  "[--group-petition] [--cross-area]\n"
	  "                       [--screening UUID] [--at TIME] [--id UUID]",
	  "上报矛盾纠纷, 输出纠纷编号 (report a dispute; prints its id)",
	  dispute_report_opts, 0 },
	{ "triage", "dispute triage --dispute ID --level village|town "
	  "--handlers CODES\n"
	  "                       [--leader CODE] [--deadline YYYY-MM-DD] "
	  "[--reason TEXT]\n"
	  "                       [--at TIME] [--id UUID]",
	  "分流交办: 级别, 办案人员, 包案领导, 办结时限; 已分流的再分流即改派, "
	  "须说明理由 (triage; again on an open dispute it is a reassignment, "
	  "with --reason)", dispute_triage_opts, 0 },
	{ "log", "dispute log --dispute ID --action ACTION --note TEXT "
	  "[--at TIME] [--id UUID]",
	  "记录办理情况: 走访, 调解, 电话, 会商 (log what a handler did)",
	  dispute_log_opts, 0 },
	{ "status", "dispute status --dispute ID --status STATUS "
	  "(--outcome TEXT | --reason TEXT)\n"
	  "                       [--at TIME] [--id UUID]",
	  "办结: 调处成功, 上交, 或其他原因办结 (end it: mediated, escalated "
	  "or closed)", dispute_status_opts, 0 },
	{ "extend", "dispute extend --dispute ID --deadline YYYY-MM-DD "
	  "--reason TEXT\n"
	  "                       [--at TIME] [--id UUID]",
	  "延长办结时限 (extend the deadline, with a reason)",
	  dispute_extend_opts, 0 },
	{ "reopen", "dispute reopen --dispute ID --reason TEXT "
	  "[--deadline YYYY-MM-DD]\n"
	  "                       [--at TIME] [--id UUID]",
	  "重新办理已办结的纠纷 (reopen an ended dispute, with a reason)",
	  dispute_reopen_opts, 0 },
	{ "list", "dispute list [--status WHICH] [--village CODE] "
	  "[--from YYYY-MM-DD]\n"
	  "                       [--to YYYY-MM-DD] [--sensitive] [--json]",
	  "列出可见的纠纷, 逾期的在前 (list the disputes you may see, overdue "
	  "first)", dispute_list_opts, SUB_F_READ },
	{ "show", "dispute show --dispute ID [--json]",
	  "显示一件纠纷及其全部经过 (show a dispute with its history)",
	  dispute_show_opts, SUB_F_READ },
	{ NULL, NULL, NULL, NULL, 0 },
};

static const struct optuse risk_add_opts[] = {
	{ OPT_PERSON, "NAME", "重点人员 (the person)", true, NULL },
	{ OPT_REASON, "TEXT", "列为重点的原因 (why)", true, NULL },
	{ OPT_CADRE, "CODE", "责任人员编号 (the responsible cadre's worker "
	    "code)", true, NULL },
	{ OPT_VILLAGE, "CODE", "村(居)编号 (village code)", false, NULL },
	{ OPT_STATUS, "STATUS", "状态 (status): watch 在控 (default), "
	    "resolved 已化解", false, NULL },
	{ OPT_DISPUTE, "ID", "相关纠纷的编号 (the dispute it comes from)",
	    false, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse risk_update_opts[] = {
	{ OPT_RISK, "ID", "登记编号, 即 'risk add' 输出的编号 (the entry's id, "
	    "as 'risk add' printed it)", true, NULL },
	{ OPT_STATUS, "STATUS", "状态 (status): watch 在控, resolved 已化解",
	    false, NULL },
	{ OPT_CADRE, "CODE", "新的责任人员编号 (a new responsible cadre)",
	    false, NULL },
	{ OPT_REASON, "TEXT", "新的原因 (a new reason)", false, NULL },
	{ OPT_NOTE, "TEXT", "变更说明 (why it changes)", false, NULL },
	{ OPT_AT, "TIME", OPT_HELP_AT, false, NULL },
	{ OPT_ID, "UUID", OPT_HELP_ID, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse risk_list_opts[] = {
	{ OPT_STATUS, "WHICH", "哪些 (which): watch 在控, resolved 已化解, "
	    "all 全部 (default)", false, NULL },
	{ OPT_VILLAGE, "CODE", "只看此村(居) (only this village)", false,
	    NULL },
	{ OPT_JSON, NULL, OPT_HELP_JSON, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct subcommand risk_subs[] = {
	{ "add", "risk add --person NAME --reason TEXT --cadre CODE "
	  "[--village CODE]\n"
	  "                       [--status STATUS] [--dispute ID] [--at TIME] "
	  "[--id UUID]",
	  "登记上访重点人员 (add a person at risk of abnormal petitions)",
	  risk_add_opts, 0 },
	{ "update", "risk update --risk ID [--status STATUS] [--cadre CODE] "
	  "[--reason TEXT]\n"
	  "                       [--note TEXT] [--at TIME] [--id UUID]",
	  "更新重点人员的状态、责任人或原因 (update an entry: status, cadre or "
	  "reason)", risk_update_opts, 0 },
	{ "list", "risk list [--status WHICH] [--village CODE] [--json]",
	  "列出上访重点人员 (list the register)", risk_list_opts,
	  SUB_F_READ },
	{ NULL, NULL, NULL, NULL, 0 },
};

static const struct optuse audit_opts[] = {
	{ OPT_FROM, "YYYY-MM-DD", "起始日期, 默认今天 (first day; default "
	    "today)", false, NULL },
	{ OPT_TO, "YYYY-MM-DD", "结束日期, 至多 366 天 (last day; at most 366 "
	    "days)", false, NULL },
	{ OPT_BY, "CODE", "只看此人员的查阅 (only this worker's reads)", false,
	    NULL },
	{ OPT_JSON, NULL, OPT_HELP_JSON, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct optuse report_opts[] = {
	{ OPT_PERIOD, "PERIOD", "哪一期: 周 2026-W48, 月 2026-11, 年 2026; "
	    "默认本期 (the period: an ISO week, a month or a year; default "
	    "the current one)", false, NULL },
	{ OPT_VILLAGE, "CODE", "只计此村(居) (only this village)", false,
	    NULL },
	{ OPT_JSON, NULL, OPT_HELP_JSON, false, NULL },
	{ OPT_NONE, NULL, NULL, false, NULL },
};

static const struct subcommand report_subs[] = {
	{ "week", "report week [--period YYYY-Www] [--village CODE] [--json]",
	  "镇一周一上报: 新增, 调处, 在办, 逾期, 按村和类别 (the weekly report)",
	  report_opts, SUB_F_READ },
	{ "month", "report month [--period YYYY-MM] [--village CODE] [--json]",
	  "一月一研判: 与前三个月比较 (the monthly analysis)", report_opts,
	  SUB_F_READ },
	{ "mediator", "report mediator [--period YYYY-MM] [--village CODE] "
	  "[--json]",
	  "调解员当月调处件数 (cases mediated per mediator in the month)",
	  report_opts, SUB_F_READ },
	{ "year", "report year [--period YYYY] [--village CODE] [--json]",
	  "年度数字: 排查出矛盾纠纷N件,已调处M件 (the annual figures)",
	  report_opts, SUB_F_READ },
	{ NULL, NULL, NULL, NULL, 0 },
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
	  "提交签到记录 (submit a check-in)", checkin_opts, NULL },
	{ "patrol", cmd_patrol, "patrol start|point|end [options]",
	  "巡逻: 开始, 途中打卡, 结束 (a patrol: start, points, end)", no_opts,
	  patrol_subs },
	{ "screening", cmd_screening,
	  "screening --grid CODE (--zero | --item TEXT) [--village CODE]\n"
	  "                       [--day YYYY-MM-DD] [--at TIME] [--id UUID]",
	  "每天一排查: 零报告或发现的问题 (daily screening: a zero report or an "
	  "item found)", screening_opts, NULL },
	{ "duty", cmd_duty, "duty on|off --post POST [--at TIME] [--id UUID]",
	  "值班签到、签退 (duty check-in and check-out)", no_opts, duty_subs },
	{ "summary", cmd_summary,
	  "summary [--day YYYY-MM-DD | --from YYYY-MM-DD --to YYYY-MM-DD]\n"
	  "                       [--village CODE] [--json]",
	  "汇总: 做了什么, 缺了什么 (the summary: what was done, what was "
	  "not; supervisors)", summary_opts, NULL },
	{ "dispute", cmd_dispute, "dispute <子命令 subcommand> [options]",
	  "矛盾纠纷台账: 上报, 分流, 办理, 办结, 查看 (the dispute ledger)",
	  no_opts, dispute_subs },
	{ "risk", cmd_risk, "risk add|update|list [options]",
	  "上访重点人员 (the petition-risk register; sensitive)", no_opts,
	  risk_subs },
	{ "audit", cmd_audit, "audit [--from YYYY-MM-DD] [--to YYYY-MM-DD] "
	  "[--by CODE] [--json]",
	  "敏感信息查阅记录 (who read sensitive records; supervisors)",
	  audit_opts, NULL },
	{ "report", cmd_report, "report week|month|mediator|year "
	  "[--period PERIOD] [--village CODE]\n"
	  "                       [--json]",
	  "纠纷报表: 周报, 月研判, 调解员, 年度 (dispute reports; "
	  "supervisors)", no_opts, report_subs },
	{ "sync", cmd_sync, "sync",
	  "发送离线队列中的记录 (send what waits in the offline spool)",
	  no_opts, NULL },
	{ "queue", cmd_queue, "queue [--json]",
	  "列出离线队列中等待发送的记录 (list the records waiting in the "
	  "offline spool)", queue_opts, NULL },
	{ "ping", cmd_ping, "ping",
	  "测试与服务器的连接 (measure the round trip to the server)",
	  no_opts, NULL },
	{ "admin", cmd_admin, "admin [--raw] <子命令 subcommand> [options]",
	  "管理村(居)、网格、人员和令牌 (administer the roster and tokens)",
	  admin_opts, NULL },
	{ "help", cmd_help, "help [command [subcommand]]",
	  "显示帮助 (show help)", no_opts, NULL },
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
	{ "password-set", "--worker CODE",
	  "设置工作台登录密码, 从标准输入读取 (set a worker's dashboard "
	  "password, read from standard input; only its scrypt hash is "
	  "sent)",
	  (const struct optuse[]){
		{ OPT_WORKER, "CODE", "人员编号 (worker code)", true,
		    "worker" },
		OPT_END },
	  NULL, ADMIN_F_PASSWORD },
	{ "password-clear", "--worker CODE",
	  "删除工作台登录密码 (remove a worker's dashboard password)",
	  (const struct optuse[]){
		{ OPT_WORKER, "CODE", "人员编号 (worker code)", true,
		    "worker" },
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

/* Prints the exit statuses. */
static void
usage_exit_status(FILE *f)
{
	fprintf(f, "退出码 (exit status): 0 成功, 已保存 (success: stored), "
	    "1 服务器拒绝 (the server answered ERR),\n"
	    "  2 用法错误 (usage), 3 网络错误 (network), 4 本地错误 (config, "
	    "file, memory),\n"
	    "  5 已存入离线队列, 稍后自动发送 (saved in the offline spool, to be "
	    "sent later),\n"
	    "  6 服务器未通过 TLS 验证, 未发送也未存入离线队列 (the server failed "
	    "the TLS check: nothing sent, nothing queued).\n");
}

/* Prints how writes use the offline spool. */
static void
usage_spool(FILE *f)
{
	fprintf(f, "\n网络不通时记录存入离线队列 ($XDG_STATE_HOME/pingan/spool, "
	    "默认 ~/.local/state/pingan/spool),\n"
	    "保留原发生时间, 以后每次提交先补发; 也可用 'pingan sync'。\n"
	    "(When the server cannot be reached the record is saved in the "
	    "offline spool with its\n"
	    "event time, and sent first by every later write, or by "
	    "'pingan sync'; exit status 5.)\n");
}

/* Prints the overall help: the commands and the common options. */
static void
usage_all(FILE *f)
{
	size_t	 i;

	fprintf(f, "用法 (usage): pingan [options] <command> [command "
	    "options]\n\n");
	fprintf(f, "平安综治客户端 (pingan: check-ins, patrols, daily "
	    "screening, duty, summaries,\nthe dispute ledger and roster "
	    "administration for pingand)\n\n");
	fprintf(f, "命令 (commands):\n");
	for (i = 0; i < nitems(commands); i++)
		fprintf(f, "  %-10s  %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n通用选项, 可放在命令前后 (common options, before or "
	    "after the command):\n");
	usage_options(f, common_opts, NULL);
	fprintf(f, "\n'pingan help <command>' 或 (or) 'pingan <command> --help' "
	    "显示命令的用法 (shows a command's usage).\n");
	usage_exit_status(f);
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
	if (cmd->subs != NULL) {
		fprintf(f, "\n子命令 (subcommands):\n");
		for (i = 0; cmd->subs[i].name != NULL; i++)
			fprintf(f, "  %-8s  %s\n", cmd->subs[i].name,
			    cmd->subs[i].help);
		fprintf(f, "\n'pingan %s <subcommand> --help' 显示子命令的用法 "
		    "(shows a subcommand's usage).\n", cmd->name);
	}
	if (cmd->fn == cmd_checkin || cmd->fn == cmd_screening) {
		fprintf(f, "\n成功时只输出记录编号; 已存在的记录不会重复保存。\n"
		    "(On success the record id is printed alone; re-sending "
		    "an id is always safe.)\n");
		usage_spool(f);
	}
	if (cmd->fn == cmd_patrol || cmd->fn == cmd_duty)
		usage_spool(f);
	if (cmd->fn == cmd_sync)
		fprintf(f, "\n只发送当前人员 (--worker) 的记录; 队列清空时退出码 0, "
		    "仍有记录等待时 5。\n"
		    "(Sends the current worker's records only; exit status 0 "
		    "when none is left, 5 when some still wait.)\n"
		    "被服务器拒绝的记录移到 spool.rejected (records the server "
		    "refuses move to spool.rejected).\n");
	if (cmd->fn == cmd_queue)
		fprintf(f, "\n列出本机所有人员的待发送记录, 不连接服务器。\n"
		    "(Lists the waiting records of every worker of this "
		    "account; no connection.)\n");
	if (cmd->fn == cmd_audit)
		fprintf(f, "\n仅限综治中心人员 (supervisors only). 审计日志只能查看, "
		    "不能修改。\n(The audit log can be listed, never "
		    "altered.)\n");
	if (cmd->fn == cmd_summary)
		fprintf(f, "\n仅限综治中心人员 (supervisors only). 表格依次为: 缺口 "
		    "(逾期的标出), 今日概况, 村(居)一览, 人员.\n"
		    "(Tables: gaps, overdue ones marked 逾期; town totals; "
		    "villages; workers.)\n");
	if (cmd->fn != cmd_help && cmd->fn != cmd_queue) {
		fprintf(f, "\n通用选项 (common options):\n");
		usage_options(f, common_opts, cmd->opts);
	}
	if (cmd->fn != cmd_help && cmd->fn != cmd_admin) {
		fputc('\n', f);
		usage_exit_status(f);
	}
}

/* Prints the usage of one subcommand of patrol or duty. */
static void
usage_sub(FILE *f, const struct command *cmd, const struct subcommand *sub)
{
	fprintf(f, "用法 (usage): pingan %s\n\n%s\n", sub->synopsis,
	    sub->help);
	fprintf(f, "\n选项 (options):\n");
	usage_options(f, sub->opts, NULL);
	if (cmd->fn == cmd_patrol)
		fprintf(f, "\n当前巡逻记在 $XDG_STATE_HOME/pingan/patrol-<人员编号>; "
		    "'patrol end' 后忘掉。\n"
		    "(The current patrol is remembered per worker until "
		    "'patrol end'.)\n");
	if (cmd->fn == cmd_dispute && !(sub->flags & SUB_F_READ))
		fprintf(f, "\n成功时只输出记录编号 (上报时即纠纷编号); 已存在的记录不会"
		    "重复保存。\n(On success the record id is printed alone "
		    "(for a report, the dispute's id); re-sending an id is "
		    "always safe.)\n");
	if (cmd->fn == cmd_dispute && strcmp(sub->name, "list") == 0)
		fprintf(f, "\n预警: 黄 = 临近办结时限, 红 = 已逾期; 逾期的在前。\n"
		    "(Warning: 黄 yellow = the deadline is near, 红 red = "
		    "overdue; overdue ones first.)\n");
	if (cmd->fn == cmd_dispute && strcmp(sub->name, "show") == 0)
		fprintf(f, "\n当事人和联系方式仅对有权查看的角色显示, 每次查看都记入"
		    "审计日志。\n(Parties and contacts are shown only to roles "
		    "allowed to see them; each such read is audited.)\n");
	if (cmd->fn == cmd_report)
		fprintf(f, "\n仅限综治中心人员 (supervisors only). 排查出 = 期内上报的; "
		    "已调处 = 其中期末已调处成功的;\n期内调处 = 期内调处成功的 (不论"
		    "何时上报); 在办, 逾期 = 期末状态。\n(found = reported in "
		    "the period; mediated = of those, mediated at its end;\n"
		    "mediated in the period = reached mediated in it, reported "
		    "whenever; open, overdue = at its end.)\n");
	if (!(sub->flags & SUB_F_READ))
		usage_spool(f);
	fprintf(f, "\n通用选项 (common options):\n");
	usage_options(f, common_opts, sub->opts);
	fputc('\n', f);
	usage_exit_status(f);
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

/* Finds a subcommand of patrol or duty by name. */
static const struct subcommand *
subcommand_find(const struct command *cmd, const char *name)
{
	size_t	 i;

	for (i = 0; cmd->subs != NULL && cmd->subs[i].name != NULL; i++)
		if (strcmp(cmd->subs[i].name, name) == 0)
			return &cmd->subs[i];
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

/* 1 for yes/on/true/1, 0 for no/off/false/0, else -1. */
static int
yes_no(const char *s)
{
	static const char *const yes[] = { "yes", "on", "true", "1" };
	static const char *const no[] = { "no", "off", "false", "0" };
	size_t	 i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
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
	else if (strcmp(key, "ca_file") == 0)
		slot = &s->conf_ca_file;
	else if (strcmp(key, "tls") == 0) {
		if ((s->conf_tls = yes_no(val)) == -1)
			return errorx(EXIT_LOCAL, "配置文件 %s 第 %d 行: tls 须为 "
			    "yes 或 no (config: tls must be yes or no)",
			    s->conf_path, lineno);
		return 0;
	} else if (strcmp(key, "timeout") == 0) {
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
	const char	*path, *env;
	bool		 explicit = true;
	int		 rv;

	memset(s, 0, sizeof(*s));
	s->timeout = CLIENT_TIMEOUT;
	s->conf_tls = -1;
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

	s->ca_file = settings_pick(cli->opt[OPT_CA_FILE], "PINGAN_CA_FILE",
	    s->conf_ca_file, NULL);
	if (cli->opt[OPT_TLS] != NULL && cli->opt[OPT_NO_TLS] != NULL)
		return usage_error(cmd, "--tls 与 --no-tls 只能选一个 (--tls "
		    "and --no-tls exclude each other)");
	if (cli->opt[OPT_TLS] != NULL || cli->opt[OPT_NO_TLS] != NULL)
		s->tls = cli->opt[OPT_TLS] != NULL;
	else if ((env = getenv("PINGAN_TLS")) != NULL && env[0] != '\0') {
		if ((rv = yes_no(env)) == -1)
			return usage_error(cmd, "PINGAN_TLS 须为 yes 或 no "
			    "(PINGAN_TLS must be yes or no)");
		s->tls = rv == 1;
	} else
		s->tls = s->conf_tls == 1;
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
	free(s->conf_ca_file);
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
	c->line_max = CLIENT_LINE_MAX;
	c->buf = xmalloc(CLIENT_LINE_MAX + 1);
}

/* Lets reply lines grow to max bytes (the SUMMARY reply is one line). */
static void
client_set_line_max(struct client *c, size_t max)
{
	if (max > c->line_max) {
		c->buf = xreallocarray(c->buf, max + 1, 1);
		c->line_max = max;
	}
}

/*
 * Holds SIGPIPE around an OpenSSL call: OpenSSL writes with write(2),
 * which raises it on a connection the server closed, and pingan keeps
 * SIGPIPE for its standard output.  A SIGPIPE the call raised is taken
 * back; one that was pending before stays (the way libpq does it).
 */
struct sigpipe_hold {
	sigset_t	 old;
	bool		 pending;
};

static void
sigpipe_hold(struct sigpipe_hold *h)
{
	sigset_t	 set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &set, &h->old);
	h->pending = sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE) == 1;
}

static void
sigpipe_release(struct sigpipe_hold *h)
{
	static const struct timespec	 zero = { 0, 0 };
	sigset_t			 set, pending;

	if (!h->pending && sigpending(&pending) == 0 &&
	    sigismember(&pending, SIGPIPE) == 1) {
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		(void)sigtimedwait(&set, NULL, &zero);
	}
	sigprocmask(SIG_SETMASK, &h->old, NULL);
}

/* Closes the connection (TLS: close_notify first) and frees the buffer. */
static void
client_close(struct client *c)
{
	struct sigpipe_hold	 h;

	if (c->ssl != NULL) {
		sigpipe_hold(&h);
		(void)SSL_shutdown(c->ssl);
		sigpipe_release(&h);
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
	}
	SSL_CTX_free(c->tls_ctx);
	c->tls_ctx = NULL;
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

static int	 client_fail(const struct client *, int, const char *);

enum client_tls_op {
	CLIENT_TLS_HANDSHAKE,
	CLIENT_TLS_READ,
	CLIENT_TLS_WRITE,
};

/*
 * Runs one TLS operation to its end on the non-blocking socket, waiting
 * with poll() until the deadline.  Returns the bytes read or written (0
 * for a finished handshake), 0 for a read at the end of the stream, or
 * -errno: -ENOTCONN when the server closed during the handshake, -EPROTO
 * for a TLS failure (the OpenSSL errors stay queued for the caller).
 */
static ssize_t
client_tls_io(struct client *c, enum client_tls_op op, void *buf,
    size_t len, int64_t deadline)
{
	struct sigpipe_hold	 h;
	size_t			 done = 0;
	unsigned long		 e;
	int			 r, err, saved, error;

	for (;;) {
		ERR_clear_error();
		sigpipe_hold(&h);
		errno = 0;
		if (op == CLIENT_TLS_READ)
			r = SSL_read_ex(c->ssl, buf, len, &done);
		else if (op == CLIENT_TLS_WRITE)
			r = SSL_write_ex(c->ssl, buf, len, &done);
		else
			r = SSL_connect(c->ssl);
		err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, r);
		saved = errno;
		sigpipe_release(&h);
		switch (err) {
		case SSL_ERROR_NONE:
			return (ssize_t)done;
		case SSL_ERROR_WANT_READ:
			if ((error = fd_wait(c->fd, POLLIN, deadline)) != 0)
				return error;
			continue;
		case SSL_ERROR_WANT_WRITE:
			if ((error = fd_wait(c->fd, POLLOUT, deadline)) != 0)
				return error;
			continue;
		case SSL_ERROR_ZERO_RETURN:	/* close_notify */
			return op == CLIENT_TLS_READ ? 0 : -ENOTCONN;
		case SSL_ERROR_SYSCALL:
			if (saved == EINTR)
				continue;
			if (saved != 0)
				return -saved;
			return op == CLIENT_TLS_READ ? 0 : -ENOTCONN;
		default:
			/* a cut without close_notify is an end, not an attack */
			e = ERR_peek_last_error();
			if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) ==
			    SSL_R_UNEXPECTED_EOF_WHILE_READING)
				return op == CLIENT_TLS_READ ? 0 : -ENOTCONN;
			return -EPROTO;
		}
	}
}

/*
 * Reports why the server failed the TLS handshake: its certificate, or a
 * port that does not speak TLS.  Returns 6: nothing was sent, and what
 * needs a person to fix is not spooled.
 */
static int
client_tls_refused(struct client *c, const char *ca_file)
{
	/* the causes that need no detail */
	static const struct {
		enum tls_failure	 class;
		const char		*zh;
		const char		*en;
	} causes[] = {
		{ TLS_FAIL_EXPIRED, "服务器证书已过期",
		    "the server's certificate has expired" },
		{ TLS_FAIL_NOT_YET_VALID, "服务器证书尚未生效, 请检查本机时间",
		    "the server's certificate is not yet valid; check this "
		    "device's clock" },
		{ TLS_FAIL_NOT_TLS, "该端口不是 TLS 端口 (可能是明文端口)",
		    "the server does not speak TLS on this port (a plain-text "
		    "port?)" },
		{ TLS_FAIL_VERSION, "双方没有共同的 TLS 版本 (至少 1.2)",
		    "no TLS version in common: TLS 1.2 or later is required" },
		{ TLS_FAIL_UNKNOWN_CA, "服务器证书不是由系统信任的 CA 签发 "
		    "(未知 CA; 用 --ca-file 指定本镇的 CA)", "unknown CA: no CA "
		    "of the system signed the server's certificate (give the "
		    "town's CA with --ca-file)" },
	};
	enum tls_failure	 class = tls_failure_class(c->ssl);
	char			 zh[256], en[256], why[512], sbuf[128];
	char			 cbuf[128];
	size_t			 i;

	sanitize(c->peer, sbuf, sizeof(sbuf));
	snprintf(zh, sizeof(zh), "TLS 握手失败");
	snprintf(en, sizeof(en), "TLS handshake failed: %s",
	    sanitize(tls_error_string(why, sizeof(why)), why, sizeof(why)));
	for (i = 0; i < nitems(causes); i++) {
		if (causes[i].class == class && (class !=
		    TLS_FAIL_UNKNOWN_CA || ca_file == NULL)) {
			snprintf(zh, sizeof(zh), "%s", causes[i].zh);
			snprintf(en, sizeof(en), "%s", causes[i].en);
		}
	}
	if (class == TLS_FAIL_UNKNOWN_CA && ca_file != NULL) {
		sanitize(ca_file, cbuf, sizeof(cbuf));
		snprintf(zh, sizeof(zh), "服务器证书不是由 %s 中的 CA 签发 "
		    "(未知 CA)", cbuf);
		snprintf(en, sizeof(en), "unknown CA: the server's certificate "
		    "is not signed by the CA in %s", cbuf);
	} else if (class == TLS_FAIL_NAME) {
		snprintf(zh, sizeof(zh), "服务器证书上的名字与 %s 不符", sbuf);
		snprintf(en, sizeof(en), "name mismatch: the server's "
		    "certificate does not name %s", sbuf);
	} else if (class == TLS_FAIL_CERT) {
		snprintf(zh, sizeof(zh), "服务器证书无法验证");
		snprintf(en, sizeof(en), "certificate verify failed: %s",
		    X509_verify_cert_error_string(
		    SSL_get_verify_result(c->ssl)));
	}
	return errorx(EXIT_TLS, "无法安全连接 %s: %s; 未发送, 未存入离线队列 "
	    "(cannot connect securely to %s: %s; nothing was sent or queued)",
	    sbuf, zh, sbuf, en);
}

/*
 * Starts TLS on the connected socket: verifies the server's certificate
 * against the CA file and host (its name or address).  Returns 0 or an
 * exit status, said why: 3 for a network failure (spooled as any other),
 * 4 for a CA file that does not load, 6 for a server that fails the check.
 */
static int
client_tls_start(struct client *c, const char *host, const char *ca_file)
{
	char		 why[512], sbuf[128], wbuf[512];
	int		 flags, error;

	if ((c->tls_ctx = tls_client_new(ca_file, why, sizeof(why))) == NULL) {
		if (ca_file == NULL)
			return errorx(EXIT_LOCAL, "无法载入系统的 CA 证书: %s "
			    "(cannot load the system's CA certificates)",
			    sanitize(why, wbuf, sizeof(wbuf)));
		return errorx(EXIT_LOCAL, "无法载入 CA 文件 %s: %s (cannot load "
		    "the CA file)", sanitize(ca_file, sbuf, sizeof(sbuf)),
		    sanitize(why, wbuf, sizeof(wbuf)));
	}
	if ((c->ssl = SSL_new(c->tls_ctx)) == NULL ||
	    tls_client_expect(c->ssl, host) != 0 ||
	    SSL_set_fd(c->ssl, c->fd) != 1)
		return errorx(EXIT_LOCAL, "无法设置 TLS: %s (cannot set up TLS)",
		    sanitize(tls_error_string(why, sizeof(why)), wbuf,
		    sizeof(wbuf)));
	/* OpenSSL reads and writes on its own: every wait is our poll(). */
	if ((flags = fcntl(c->fd, F_GETFL)) == -1 ||
	    fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return errorx(EXIT_LOCAL, "fcntl: %s", strerror(errno));
	error = (int)client_tls_io(c, CLIENT_TLS_HANDSHAKE, NULL, 0,
	    now_ms() + c->timeout_ms);
	if (error == 0)
		return 0;
	if (error == -EPROTO)
		return client_tls_refused(c, ca_file);
	ERR_clear_error();
	return client_fail(c, error, NULL);
}

/* Connects to pingand over TCP; returns 0 or an exit status, said why. */
static int
client_connect_tcp(struct client *c, const struct settings *s,
    const char *cmd)
{
	struct addrinfo	 hints, *res, *ai;
	const char	*server = s->server;
	char		*host, *port;
	char		 sbuf[128];
	int64_t		 deadline;
	int		 fd, error = -ECONNREFUSED, gai, one = 1, rv;

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
	if (c->fd == -1) {
		free(host);
		return errorx(EXIT_NETWORK, "无法连接服务器 %s: %s (cannot "
		    "connect to server)", sanitize(server, sbuf, sizeof(sbuf)),
		    strerror(-error));
	}
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1) {
		free(host);
		return errorx(EXIT_NETWORK, "无法设置 TCP_NODELAY: %s (cannot "
		    "set TCP_NODELAY)", strerror(errno));
	}
	rv = s->tls ? client_tls_start(c, host, s->ca_file) : 0;
	free(host);
	return rv;
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
		if (c->ssl != NULL) {
			if ((n = client_tls_io(c, CLIENT_TLS_WRITE, (char *)buf,
			    len, deadline)) < 0) {
				ERR_clear_error();
				return (int)n;
			}
			goto sent;
		}
		if ((error = fd_wait(c->fd, POLLOUT, deadline)) != 0)
			return error;
		n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
sent:
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
		if (c->len >= c->line_max)
			return -EMSGSIZE;
		if (c->ssl != NULL) {
			/* OpenSSL may hold bytes already: read before poll() */
			if ((n = client_tls_io(c, CLIENT_TLS_READ, c->buf +
			    c->len, c->line_max - c->len, deadline)) < 0) {
				ERR_clear_error();
				return (int)n;
			}
			goto got;
		}
		if ((error = fd_wait(c->fd, POLLIN, deadline)) != 0)
			return error;
		n = recv(c->fd, c->buf + c->len, c->line_max - c->len,
		    MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN ||
			    errno == EWOULDBLOCK)
				continue;
			return -errno;
		}
got:
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
		snprintf(en, sizeof(en), "reply line too long");
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

/*
 * Loads the settings and checks what a terminal request needs: the worker,
 * its token and a server address that parses.  Returns 0 or an exit
 * status (the settings are freed then).
 */
static int
settings_terminal(const struct cli *cli, struct settings *s, const char *cmd)
{
	char	*host, *port, sbuf[128];
	int	 rv;

	if ((rv = settings_load(cli, s, cmd)) != 0) {
		settings_free(s);
		return rv;
	}
	if (s->worker == NULL || s->token == NULL) {
		settings_free(s);
		return usage_error(cmd, "缺少人员编号和令牌: 用 --worker 和 "
		    "--token, 环境变量 PINGAN_WORKER 和 PINGAN_TOKEN, 或配置文件"
		    "中的 worker 和 token 给出 (missing credentials: give "
		    "--worker and --token, set PINGAN_WORKER and PINGAN_TOKEN, "
		    "or put worker and token in the config file)");
	}
	if (!credential_valid(s->worker, PINGAN_CODE_MAX) ||
	    !credential_valid(s->token, PINGAN_TOKEN_MAX)) {
		settings_free(s);
		return usage_error(cmd, "人员编号或令牌无效 (bad worker code "
		    "or token)");
	}
	if (server_split(s->server, &host, &port) != 0) {
		rv = usage_error(cmd, "服务器地址无效 '%s', 应为 HOST:PORT 或 "
		    "[IPv6]:PORT (bad server address)", sanitize(s->server,
		    sbuf, sizeof(sbuf)));
		settings_free(s);
		return rv;
	}
	free(host);
	free(port);
	return 0;
}

/* Splits an ERR line into its code and its Chinese message, sanitized. */
static void
reply_err_parts(const char *line, char *code, size_t csize, char *msg,
    size_t msize)
{
	const char	*p = line + 3, *m;
	char		 tmp[512];
	size_t		 n;

	p += strspn(p, " ");
	n = strcspn(p, " ");
	m = p + n;
	m += strspn(m, " ");
	snprintf(tmp, sizeof(tmp), "%.*s", (int)(n < 128 ? n : 128), p);
	sanitize(tmp, code, csize);
	message_chinese(m, tmp, sizeof(tmp));
	sanitize(tmp, msg, msize);
}

/*
 * Tells whether an ERR code means "not now": send the record again later
 * (auth_blocked: this address failed AUTH too often; the block ends).
 */
static bool
code_transient(const char *code)
{
	return strcmp(code, "storage") == 0 || strcmp(code, "busy") == 0 ||
	    strcmp(code, "shutting_down") == 0 ||
	    strcmp(code, "auth_blocked") == 0;
}

/* Reports an ERR that means the server cannot take requests now; returns 3. */
static int
server_unavailable(const char *line)
{
	char	 code[64], msg[512];

	reply_err_parts(line, code, sizeof(code), msg, sizeof(msg));
	return errorx(EXIT_NETWORK, "服务器暂时不可用: %s (server "
	    "unavailable: %s)", msg[0] != '\0' ? msg : code, code);
}

/* The wall clock in Unix milliseconds. */
static int64_t
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Formats ms as the value of at=: local RFC 3339, or Unix ms. */
static void
at_format(int64_t ms, char *buf, size_t size)
{
	int64_t	 back;

	if (time_format_local(ms, buf, size) == 0 &&
	    proto_time_parse(buf, &back) == 0 && back == ms)
		return;
	snprintf(buf, size, "%lld", (long long)ms);
}

/* ---- records: the writes a command makes --------------------------------- */

#define RECORD_FIELDS_MAX	12

/* One write a command makes, before it is sent or spooled. */
struct record {
	const char	*verb;		/* "CHECKIN", "PATROL-START", ... */
	char		 id[PINGAN_UUID_STRLEN + 1];
	int		 nfields;
	const char	*keys[RECORD_FIELDS_MAX];
	const char	*vals[RECORD_FIELDS_MAX];
	bool		 has_at;	/* --at was given */
	char		 at[64];	/* --at as sent, or when the command ran */
	int64_t		 made_ms;	/* when the command ran */
	char		*owned[4];	/* values built here, freed with it */
	int		 nowned;
};

/* Adds key=value to a record (value not copied unless owned). */
static void
record_field(struct record *r, const char *key, const char *val)
{
	if (r->nfields == RECORD_FIELDS_MAX)
		nomem();	/* cannot happen: commands add fewer */
	r->keys[r->nfields] = key;
	r->vals[r->nfields] = val;
	r->nfields++;
}

/* Adds key=value with a value the record owns and frees. */
static void
record_field_owned(struct record *r, const char *key, char *val)
{
	if (r->nowned == (int)nitems(r->owned))
		nomem();
	r->owned[r->nowned++] = val;
	record_field(r, key, val);
}

/* Frees what a record owns. */
static void
record_free(struct record *r)
{
	while (r->nowned > 0)
		free(r->owned[--r->nowned]);
}

/*
 * Starts a record: its id (--id, or a new random UUID) and its time
 * (--at, or now, which goes into the request only if it is spooled, so
 * that a late record keeps its event time).  Returns 0 or 2.
 */
static int
record_init(const struct cli *cli, const char *cmd, const char *verb,
    struct record *r)
{
	uint8_t	 uuid[16];
	uuid_t	 gen;
	char	 sbuf[64];

	memset(r, 0, sizeof(*r));
	r->verb = verb;
	r->made_ms = wall_ms();
	if (cli->opt[OPT_AT] != NULL) {
		if (at_parse(cli->opt[OPT_AT], r->at, sizeof(r->at)) != 0)
			return usage_error(cmd, "无法识别的时间 '%s' (bad --at: "
			    "use RFC 3339, Unix ms, 'YYYY-MM-DD HH:MM[:SS]' or "
			    "'HH:MM')", sanitize(cli->opt[OPT_AT], sbuf,
			    sizeof(sbuf)));
		r->has_at = true;
	} else
		at_format(r->made_ms, r->at, sizeof(r->at));
	if (cli->opt[OPT_ID] != NULL) {
		if (proto_uuid_parse(cli->opt[OPT_ID], uuid) != 0)
			return usage_error(cmd, "记录编号须为 UUID (--id must "
			    "be a UUID, 8-4-4-4-12 hex)");
		proto_uuid_format(uuid, r->id);
	} else {
		uuid_generate_random(gen);
		uuid_unparse_lower(gen, r->id);
	}
	return 0;
}

/*
 * Writes the request line of a record (without its '\n') to sb: with at=
 * when --at was given or when it goes to the spool.
 */
static void
record_line(const struct record *r, bool spooled, struct strbuf *sb)
{
	int	 i;

	sb_adds(sb, r->verb);
	sb_field(sb, "id", r->id);
	for (i = 0; i < r->nfields; i++)
		sb_field(sb, r->keys[i], r->vals[i]);
	if (spooled || r->has_at)
		sb_field(sb, "at", r->at);
}

/* Checks --lat and --lon and adds them; returns 0 or 2. */
static int
record_position(const struct cli *cli, const char *cmd, struct record *r)
{
	const char	*lat = cli->opt[OPT_LAT], *lon = cli->opt[OPT_LON];
	double		 d;

	if ((lat == NULL) != (lon == NULL))
		return usage_error(cmd, "--lat 和 --lon 须同时给出 (give both "
		    "--lat and --lon, or neither)");
	if (lat == NULL)
		return 0;
	if (proto_double_parse(lat, -90.0, 90.0, &d) != 0)
		return usage_error(cmd, "纬度须在 -90 到 90 之间 (--lat must be "
		    "-90..90)");
	if (proto_double_parse(lon, -180.0, 180.0, &d) != 0)
		return usage_error(cmd, "经度须在 -180 到 180 之间 (--lon must "
		    "be -180..180)");
	record_field(r, "lat", lat);
	record_field(r, "lon", lon);
	return 0;
}

/*
 * Checks a free-text option (UTF-8, no control byte but newline and tab,
 * at most max bytes) and adds it as key when given.  Returns 0 or 2.
 */
static int
record_text(const struct cli *cli, const char *cmd, enum opt_id id,
    const char *key, size_t max, struct record *r)
{
	const char	*v = cli->opt[id], *name = opt_names[id].name;

	if (v == NULL)
		return 0;
	if (!text_valid(v, true))
		return usage_error(cmd, "--%s 须为 UTF-8 文本, 不含控制字符 "
		    "(--%s must be UTF-8 text without control characters)",
		    name, name);
	if (strlen(v) > max)
		return usage_error(cmd, "--%s 超过 %zu 字节 (--%s longer than "
		    "%zu bytes)", name, max, name, max);
	record_field(r, key, v);
	return 0;
}

/* Checks a code option (one word) and adds it as key; returns 0 or 2. */
static int
record_code(const struct cli *cli, const char *cmd, enum opt_id id,
    const char *key, bool required, struct record *r)
{
	const char	*v = cli->opt[id], *name = opt_names[id].name;
	const char	*p;

	if (v == NULL) {
		if (required)
			return usage_error(cmd, "缺少 --%s (missing --%s)",
			    name, name);
		return 0;
	}
	for (p = v; *p != '\0'; p++)
		if (*p == ' ' || *p == ',')
			break;
	if (v[0] == '\0' || *p != '\0' || strlen(v) > PINGAN_CODE_MAX ||
	    !text_valid(v, false))
		return usage_error(cmd, "--%s 编号无效 (bad --%s code)", name,
		    name);
	record_field(r, key, v);
	return 0;
}

/*
 * Checks a comma-separated list of codes ("DK, CJ" is fine: blanks go)
 * and adds it as key; returns 0 or 2.
 */
static int
record_codes(const struct cli *cli, const char *cmd, enum opt_id id,
    const char *key, struct record *r)
{
	const char	*v = cli->opt[id], *name = opt_names[id].name, *p, *e;
	struct strbuf	 sb = { NULL, 0, 0 };
	size_t		 n = 0, len;

	if (v == NULL)
		return 0;
	if (!text_valid(v, false))
		goto bad;
	for (p = v; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		p += strspn(p, " ");
		e = p + strcspn(p, ",");
		len = (size_t)(e - p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == 0 || len > PINGAN_CODE_MAX ||
		    memchr(p, ' ', len) != NULL)
			goto bad;
		if (n++ > 0)
			sb_adds(&sb, ",");
		sb_add(&sb, p, len);
		if (*e == ',' && e[1] == '\0')
			goto bad;
	}
	if (n == 0)
		goto bad;
	record_field_owned(r, key, sb.buf);
	return 0;
bad:
	sb_free(&sb);
	return usage_error(cmd, "--%s 须为逗号分隔的编号 (--%s must be codes "
	    "separated by commas)", name, name);
}

/* ---- the offline spool, as one command holds it -------------------------- */

/* The spool locked, read and parsed for one command. */
struct spoolctx {
	bool		 locked;	/* appends are safe */
	bool		 parsed;	/* read whole: a rewrite is safe */
	char		 dir[PATH_MAX];
	int		 lockfd;
	char		*buf;
	size_t		 len;
	struct spool	 sp;
	bool		*keep;		/* per record: it stays */
	size_t		*mine;		/* the worker's records, in order */
	size_t		 nmine;
};

/* What became of the worker's spooled records in one run. */
struct spool_tally {
	size_t	 stored;
	size_t	 duplicate;
	size_t	 rejected;
	size_t	 waiting;
};

/* Why a spool file could not be written, for messages. */
static const char *
spool_why(int error)
{
	switch (-error) {
	case ENOSPC:
	case EDQUOT:
		return "磁盘已满 (disk full)";
	case EFBIG:
		return "队列已满 16 MiB (spool full)";
	}
	return strerror(-error);
}

/*
 * Opens the spool for a command: makes its directory, takes its lock
 * (waiting up to wait_s seconds for another pingan), reads and parses it
 * and picks the worker's records.  Problems are reported on stderr and
 * leave the spool unused (locked false) or not rewritable (parsed false);
 * the command goes on without it.
 */
static void
spoolctx_open(struct spoolctx *sc, const char *worker, int wait_s)
{
	size_t	 i;
	int	 error;

	memset(sc, 0, sizeof(*sc));
	sc->lockfd = -1;
	if ((error = spool_dir_path(sc->dir, sizeof(sc->dir))) != 0) {
		errorx(0, "无法确定离线队列的目录: %s (no directory for the "
		    "offline spool)", strerror(-error));
		return;
	}
	if ((error = spool_mkdir(sc->dir)) != 0) {
		errorx(0, "无法创建离线队列目录 %s: %s (cannot make the offline "
		    "spool's directory)", sc->dir, strerror(-error));
		return;
	}
	if ((error = spool_lock(sc->dir, wait_s * 1000, &sc->lockfd)) != 0) {
		if (error == -ETIMEDOUT)
			errorx(0, "离线队列正被另一个 pingan 进程使用 (the offline "
			    "spool is in use by another pingan process)");
		else
			errorx(0, "无法锁定离线队列 %s: %s (cannot lock the "
			    "offline spool)", sc->dir, strerror(-error));
		sc->lockfd = -1;
		return;
	}
	sc->locked = true;
	/* A rewrite a crash cut short left its temporary file: it goes. */
	(void)spool_clean(sc->dir, SPOOL_NAME);
	if ((error = spool_read(sc->dir, SPOOL_NAME, &sc->buf,
	    &sc->len)) != 0) {
		errorx(0, "无法读取离线队列 %s/%s: %s (cannot read the offline "
		    "spool)", sc->dir, SPOOL_NAME, error == -EFBIG ?
		    "larger than 16 MiB" : strerror(-error));
		return;
	}
	if ((error = spool_parse(sc->buf, sc->len, &sc->sp)) != 0)
		nomem();
	sc->parsed = true;
	if (sc->sp.ndamaged_total > 0)
		errorx(0, "离线队列中有 %zu 行已损坏, 已跳过, 将移到 %s (%zu "
		    "damaged lines of the offline spool were skipped)",
		    sc->sp.ndamaged_total, SPOOL_REJECTED,
		    sc->sp.ndamaged_total);
	sc->keep = xcalloc(sc->sp.nrecords, sizeof(*sc->keep));
	sc->mine = xcalloc(sc->sp.nrecords, sizeof(*sc->mine));
	for (i = 0; i < sc->sp.nrecords; i++) {
		sc->keep[i] = true;
		if (worker != NULL && strcmp(sc->sp.records[i].worker,
		    worker) == 0)
			sc->mine[sc->nmine++] = i;
	}
}

/* Unlocks the spool and frees what spoolctx_open read. */
static void
spoolctx_close(struct spoolctx *sc)
{
	spool_free(&sc->sp);
	free(sc->buf);
	free(sc->keep);
	free(sc->mine);
	if (sc->lockfd != -1)
		close(sc->lockfd);
	memset(sc, 0, sizeof(*sc));
	sc->lockfd = -1;
}

/*
 * Keeps a record or a damaged line the spool lets go of in spool.rejected
 * beside it: a "# <time> <why>" line, then the line itself, so that it can
 * be read, fixed and put back by hand.  Returns 0 or -errno.
 */
static int
spoolctx_reject(struct spoolctx *sc, const char *line, size_t len,
    const char *why)
{
	struct strbuf	 sb = { NULL, 0, 0 };
	char		 when[64], sbuf[600];
	int		 error;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	at_format(wall_ms(), when, sizeof(when));
	sb_adds(&sb, "# ");
	sb_adds(&sb, when);
	sb_adds(&sb, " ");
	sb_adds(&sb, sanitize(why, sbuf, sizeof(sbuf)));
	sb_adds(&sb, "\n");
	sb_add(&sb, line, len);
	sb_adds(&sb, "\n");
	error = spool_append(sc->dir, SPOOL_REJECTED, sb.buf, sb.len);
	sb_free(&sb);
	return error;
}

/* One request of a session and what became of it. */
enum sent_state {
	SENT_NONE = 0,		/* no reply: not sent, or the connection broke */
	SENT_STORED,		/* OK <id> stored|started|ended */
	SENT_DUPLICATE,		/* OK <id> duplicate */
	SENT_ERR,		/* ERR ...: see reply */
};

struct sent {
	const char	*req;		/* the request line, no '\n' */
	size_t		 reqlen;
	const char	*id;
	enum sent_state	 state;
	char		*reply;		/* SENT_ERR: the reply line */
};

/*
 * Settles the worker's spooled records after a session (v[k] is what
 * became of the k-th of them): stored and duplicate ones leave the spool;
 * refused ones move to spool.rejected and are reported once; those that
 * got no reply, or an ERR that means "not now" (storage, busy,
 * shutting_down; also unknown_command: a server older than this
 * terminal), stay.  Damaged lines move to spool.rejected too.  Then the
 * spool is rewritten if anything left it.
 */
static void
spoolctx_settle(struct spoolctx *sc, const struct sent *v,
    struct spool_tally *t)
{
	const struct spool_record	*r;
	char				 code[64], msg[512], why[640];
	size_t				 k, i;
	bool				 changed = false;
	int				 error;

	memset(t, 0, sizeof(*t));
	if (!sc->parsed)
		return;
	for (k = 0; k < sc->nmine; k++) {
		i = sc->mine[k];
		r = &sc->sp.records[i];
		switch (v[k].state) {
		case SENT_STORED:
		case SENT_DUPLICATE:
			if (v[k].state == SENT_STORED)
				t->stored++;
			else
				t->duplicate++;
			sc->keep[i] = false;
			changed = true;
			break;
		case SENT_ERR:
			reply_err_parts(v[k].reply, code, sizeof(code), msg,
			    sizeof(msg));
			if (code_transient(code) ||
			    strcmp(code, "unknown_command") == 0 ||
			    strcmp(code, "auth_required") == 0) {
				t->waiting++;
				break;
			}
			snprintf(why, sizeof(why), "%s", v[k].reply);
			if ((error = spoolctx_reject(sc, r->line, r->linelen,
			    why)) != 0) {
				errorx(0, "第%zu条离线记录被服务器拒绝: %s, 但无法"
				    "移到 %s: %s, 仍留在队列中 (a queued record "
				    "was refused: %s; kept, as it could not be "
				    "moved)", k + 1, msg, SPOOL_REJECTED,
				    spool_why(error), code);
				t->waiting++;
				break;
			}
			errorx(0, "第%zu条离线记录被服务器拒绝: %s, 已移到 %s/%s "
			    "(a queued record was refused: %s): %s", k + 1, msg,
			    sc->dir, SPOOL_REJECTED, code, r->id);
			sc->keep[i] = false;
			changed = true;
			t->rejected++;
			break;
		case SENT_NONE:
			t->waiting++;
			break;
		}
	}
	if (sc->sp.ndamaged_total > 0) {
		for (i = 0; i < sc->sp.ndamaged; i++) {
			if (sc->sp.damaged[i].len > SPOOL_LINE_MAX)
				continue;
			snprintf(why, sizeof(why), "damaged (%s)",
			    spool_damage_name(sc->sp.damaged[i].reason));
			if ((error = spoolctx_reject(sc,
			    sc->sp.damaged[i].line, sc->sp.damaged[i].len,
			    why)) == 0)
				continue;
			/* A rewrite would drop what could not be kept. */
			errorx(0, "无法把损坏的行移到 %s/%s: %s; 离线队列保持原样, "
			    "已发送的记录下次会再发, 服务器会认出重复 (cannot "
			    "move the damaged lines; the offline spool is left "
			    "as it was: sent records will be sent again and "
			    "answered duplicate)", sc->dir, SPOOL_REJECTED,
			    spool_why(error));
			return;
		}
		changed = true;
	}
	if (changed && (error = spool_rewrite(sc->dir, SPOOL_NAME, &sc->sp,
	    sc->keep)) != 0)
		errorx(0, "无法更新离线队列 %s/%s: %s; 已发送的记录下次会再发, "
		    "服务器会认出重复 (cannot rewrite the offline spool; sent "
		    "records will be sent again and answered duplicate)",
		    sc->dir, SPOOL_NAME, spool_why(error));
}

/*
 * Appends a command's own record to the spool and says so.  Returns 5,
 * or 3 when it could not be saved (said why, and how to re-send).
 */
static int
spoolctx_add(struct spoolctx *sc, const char *worker,
    const struct record *rec, const char *request)
{
	char	*line;
	size_t	 len, n = 0, i;
	int	 error;

	if (!sc->locked)
		return errorx(EXIT_NETWORK, "无法存入离线队列, 记录未保存; 可用 "
		    "--id %s 重发 (could not save to the offline spool: the "
		    "record was not saved; re-send it with --id %s)", rec->id,
		    rec->id);
	if (spool_verb(rec->verb) == NULL)
		return errorx(EXIT_NETWORK, "离线队列不收此类记录, 记录未保存; 可用 "
		    "--id %s 重发 (the offline spool does not take %s records: "
		    "the record was not saved; re-send it with --id %s)",
		    rec->id, rec->verb, rec->id);
	for (i = 0; i < sc->sp.nrecords; i++)
		n += sc->keep[i];
	if (n >= SPOOL_RECORDS_MAX)
		return errorx(EXIT_NETWORK, "离线队列已满 (%d 条), 记录未保存; "
		    "可用 --id %s 重发 (the offline spool is full: the record "
		    "was not saved)", SPOOL_RECORDS_MAX, rec->id);
	error = spool_format(rec->made_ms, worker, request, &line, &len);
	if (error == -ENOMEM)
		nomem();
	if (error != 0)
		return errorx(EXIT_NETWORK, "无法存入离线队列: %s, 记录未保存; "
		    "可用 --id %s 重发 (could not save to the offline spool: "
		    "the record was not saved)", error == -E2BIG ?
		    "记录过长 (too long)" : "人员编号不能用于文件 (worker code "
		    "unusable)", rec->id);
	error = spool_append(sc->dir, SPOOL_NAME, line, len);
	free(line);
	if (error != 0)
		return errorx(EXIT_NETWORK, "无法存入离线队列 %s/%s: %s, 记录未"
		    "保存; 可用 --id %s 重发 (could not save to the offline "
		    "spool: the record was NOT saved; re-send it with --id %s)",
		    sc->dir, SPOOL_NAME, spool_why(error), rec->id, rec->id);
	printf("%s\n", rec->id);
	fflush(stdout);
	fprintf(stderr, "pingan: 已存入离线队列,网络恢复后自动发送 (saved "
	    "offline, will be sent later): %s\n", rec->id);
	return EXIT_SPOOLED;
}

/* ---- a session: AUTH and pipelined writes --------------------------------- */

/* Adds the requests v[from..to) to a batch; returns to. */
static size_t
session_batch(struct strbuf *sb, const struct sent *v, size_t from,
    size_t to)
{
	for (; from < to; from++) {
		sb_add(sb, v[from].req, v[from].reqlen);
		sb_adds(sb, "\n");
	}
	return to;
}

/* Tells whether the word after the id in "OK <id> <word>" means stored. */
static bool
write_state_known(const char *state)
{
	static const char *const states[] = {
		"stored", "started", "ended",		/* field work */
		"reported", "triaged", "reassigned",	/* disputes */
		"logged", "mediated", "escalated", "closed", "extended",
		"reopened",
		"added", "updated",			/* risk register */
	};
	size_t	 i;

	for (i = 0; i < nitems(states); i++)
		if (strcmp(state, states[i]) == 0)
			return true;
	return false;
}

/* Records the reply of one request; returns 0 or -EPROTO (unexpected). */
static int
session_reply(struct sent *v, const char *line)
{
	uint8_t	 want[16], got[16];
	char	 word[64], state[16];

	if (reply_err(line)) {
		v->state = SENT_ERR;
		v->reply = xstrdup(line);
		return 0;
	}
	if (!reply_ok(line) ||
	    sscanf(line, "OK %63s %15s", word, state) != 2 ||
	    proto_uuid_parse(word, got) != 0 ||
	    proto_uuid_parse(v->id, want) != 0 ||
	    memcmp(got, want, sizeof(got)) != 0)
		return -EPROTO;
	if (strcmp(state, "duplicate") == 0)
		v->state = SENT_DUPLICATE;
	else if (write_state_known(state))
		v->state = SENT_STORED;
	else
		return -EPROTO;
	return 0;
}

/*
 * Connects, authenticates and sends the n requests pipelined on one
 * connection, at most CLIENT_WINDOW in flight, reading the replies as they
 * come (so that neither side's buffers can fill up and stall).  Returns 0
 * when AUTH succeeded: each v[i].state then says what became of it, and
 * SENT_NONE means the connection broke first (said why).  Returns 3 when
 * the server could not be reached or cannot take requests now, and 1 when
 * AUTH was refused; nothing was done then (said why).
 */
static int
session_run(const struct settings *s, const char *cmd, struct sent *v,
    size_t n)
{
	struct client	 c;
	struct strbuf	 sb = { NULL, 0, 0 };
	char		*line, code[64], msg[256], sbuf[128];
	size_t		 i, queued;
	int		 rv = 0, error, send_error = 0;

	client_init(&c, s->timeout, s->server);
	if ((rv = client_connect_tcp(&c, s, cmd)) != 0)
		goto out;
	if ((error = client_read_line(&c, &line)) != 0) {
		rv = client_fail(&c, error, NULL);
		goto out;
	}
	if (reply_err(line)) {
		rv = server_unavailable(line);
		goto out;
	}
	if (strncmp(line, "OK pingan/1", 11) != 0 ||
	    (line[11] != ' ' && line[11] != '\0')) {
		rv = errorx(EXIT_NETWORK, "服务器问候无效 '%s', 不是 pingan/1 "
		    "服务 (bad greeting: not a pingan/1 server)",
		    sanitize(line, sbuf, sizeof(sbuf)));
		goto out;
	}

	/* AUTH and the first window go in one write. */
	sb_adds(&sb, "AUTH ");
	sb_adds(&sb, s->worker);
	sb_adds(&sb, " ");
	sb_adds(&sb, s->token);
	sb_adds(&sb, "\n");
	queued = session_batch(&sb, v, 0, n < CLIENT_WINDOW ? n :
	    CLIENT_WINDOW);
	if ((send_error = client_send(&c, sb.buf, sb.len)) != 0 &&
	    c.timeout_ms > 1000)
		c.timeout_ms = 1000;	/* read what it said before closing */
	explicit_bzero(sb.buf, sb.len);	/* it holds the token */
	sb.len = 0;

	if ((error = client_read_line(&c, &line)) != 0) {
		rv = client_fail(&c, send_error != 0 ? send_error : error,
		    NULL);
		goto out;
	}
	if (reply_err(line)) {
		reply_err_parts(line, code, sizeof(code), msg, sizeof(msg));
		rv = code_transient(code) ? server_unavailable(line) :
		    server_refused(line);
		goto out;
	}
	if (!reply_ok(line)) {
		rv = reply_unexpected(line);
		goto out;
	}

	for (i = 0; i < n; i++) {
		/* Keep the window full while the connection takes it. */
		if (send_error == 0 && queued < n &&
		    queued - i < CLIENT_WINDOW / 2) {
			sb.len = 0;
			queued = session_batch(&sb, v, queued,
			    queued + CLIENT_WINDOW / 2 < n ?
			    queued + CLIENT_WINDOW / 2 : n);
			if ((send_error = client_send(&c, sb.buf,
			    sb.len)) != 0 && c.timeout_ms > 1000)
				c.timeout_ms = 1000;
		}
		if (i >= queued)
			break;
		if ((error = client_read_line(&c, &line)) != 0) {
			client_fail(&c, send_error != 0 ? send_error : error,
			    NULL);
			send_error = 0;
			break;
		}
		if (session_reply(&v[i], line) != 0) {
			reply_unexpected(line);
			break;
		}
	}
	if (i < n && send_error != 0)
		client_fail(&c, send_error, NULL);
out:
	client_close(&c);
	sb_free(&sb);
	return rv;
}

/* What became of a command's own record. */
enum write_outcome {
	WRITE_FAILED = 0,	/* neither stored nor spooled */
	WRITE_STORED,		/* stored, started or ended */
	WRITE_DUPLICATE,
	WRITE_SPOOLED,
	WRITE_REFUSED,		/* the server answered ERR */
};

/*
 * Sends a command's record after what waits in the spool for the same
 * worker, all pipelined on one connection; settles the spool; prints the
 * record's id (stored, duplicate or spooled) or why it was refused.  A
 * record the server could not take now is spooled.  Sets *ret_outcome and
 * the ERR code (if any) in ret_code.  Returns the exit status.
 */
static int
write_run(const struct settings *s, const char *cmd, const struct record *rec,
    enum write_outcome *ret_outcome, char *ret_code, size_t codesize)
{
	struct spoolctx		 sc;
	struct spool_tally	 t;
	struct strbuf		 direct = { NULL, 0, 0 }, spooled = { NULL, 0, 0 };
	struct sent		*v, *own;
	char			 code[64], msg[512];
	size_t			 n, k;
	int			 rv, srv;

	*ret_outcome = WRITE_FAILED;
	if (codesize > 0)
		ret_code[0] = '\0';
	record_line(rec, false, &direct);
	record_line(rec, true, &spooled);
	spoolctx_open(&sc, s->worker, s->timeout * 3 < 30 ? 30 :
	    s->timeout * 3);

	n = sc.nmine + 1;
	v = xcalloc(n, sizeof(*v));
	for (k = 0; k < sc.nmine; k++) {
		v[k].req = sc.sp.records[sc.mine[k]].request;
		v[k].reqlen = sc.sp.records[sc.mine[k]].requestlen;
		v[k].id = sc.sp.records[sc.mine[k]].id;
	}
	own = &v[n - 1];
	own->req = direct.buf;
	own->reqlen = direct.len;
	own->id = rec->id;

	srv = session_run(s, cmd, v, n);
	spoolctx_settle(&sc, v, &t);
	if (t.stored + t.duplicate > 0)
		errorx(0, "已补发 %zu 条离线记录 (sent %zu queued records)",
		    t.stored + t.duplicate, t.stored + t.duplicate);
	if (t.waiting > 0 && srv == 0)
		errorx(0, "还有 %zu 条离线记录等待发送 (%zu queued records still "
		    "waiting)", t.waiting, t.waiting);

	if (srv == EXIT_REFUSED) {
		rv = EXIT_REFUSED;	/* AUTH refused: nothing was sent */
		*ret_outcome = WRITE_REFUSED;
		goto out;
	}
	if (srv == EXIT_TLS || srv == EXIT_LOCAL) {
		rv = srv;	/* TLS refused the server: needs a person */
		goto out;
	}
	switch (own->state) {
	case SENT_STORED:
		printf("%s\n", rec->id);
		*ret_outcome = WRITE_STORED;
		rv = 0;
		goto out;
	case SENT_DUPLICATE:
		printf("%s\n", rec->id);
		fflush(stdout);
		fprintf(stderr, "pingan: 已存在,未重复保存 (duplicate: stored "
		    "before)\n");
		*ret_outcome = WRITE_DUPLICATE;
		rv = 0;
		goto out;
	case SENT_ERR:
		reply_err_parts(own->reply, code, sizeof(code), msg,
		    sizeof(msg));
		if (codesize > 0)
			snprintf(ret_code, codesize, "%s", code);
		if (!code_transient(code)) {
			rv = server_refused(own->reply);
			*ret_outcome = WRITE_REFUSED;
			goto out;
		}
		errorx(0, "服务器暂时无法保存: %s (the server cannot store it "
		    "now: %s)", msg[0] != '\0' ? msg : code, code);
		break;
	case SENT_NONE:
		break;
	}
	rv = spoolctx_add(&sc, s->worker, rec, spooled.buf);
	if (rv == EXIT_SPOOLED)
		*ret_outcome = WRITE_SPOOLED;
out:
	for (k = 0; k < n; k++)
		free(v[k].reply);
	free(v);
	spoolctx_close(&sc);
	sb_free(&direct);
	sb_free(&spooled);
	return rv;
}

/*
 * Parses the options of a write command (or of its subcommand, when argv
 * starts at it) and answers --help and --version.  Returns 0 to go on, -1
 * when done (help printed), or an exit status.
 */
static int
write_options(struct cli *cli, int argc, char **argv, const struct optuse *opts,
    const char *cmd, const struct command *command,
    const struct subcommand *sub)
{
	char	 sbuf[64];
	int	 rv;

	if ((rv = cli_parse(cli, argc, argv, false, opts, cmd)) != 0)
		return rv;
	if (cli->opt[OPT_HELP] != NULL) {
		if (sub != NULL)
			usage_sub(stdout, command, sub);
		else
			usage_command(stdout, command);
		return -1;
	}
	if (cli->opt[OPT_VERSION] != NULL) {
		version();
		return -1;
	}
	if (optind < argc)
		return usage_error(cmd, "多余的参数 '%s' (unexpected argument)",
		    sanitize(argv[optind], sbuf, sizeof(sbuf)));
	return 0;
}

/* ---- checkin ------------------------------------------------------------- */

/* pingan checkin: sends one check-in and prints its id. */
static int
cmd_checkin(struct cli *cli, int argc, char **argv)
{
	const char		*cmd = "checkin";
	const char		*grid;
	struct settings		 s;
	struct record		 rec;
	enum checkin_kind	 kind;
	enum write_outcome	 outcome;
	char			 sbuf[64];
	int			 rv;

	if ((rv = write_options(cli, argc, argv, checkin_opts, cmd,
	    command_find(cmd), NULL)) != 0)
		return rv < 0 ? 0 : rv;

	if ((grid = cli->opt[OPT_GRID]) == NULL)
		return usage_error(cmd, "缺少 --grid 网格编号 (missing --grid)");
	if (grid[0] == '\0' || !text_valid(grid, false))
		return usage_error(cmd, "网格编号无效 (bad --grid)");
	if (cli->opt[OPT_KIND] == NULL)
		return usage_error(cmd, "缺少 --kind 类型 (missing --kind)");
	if (proto_kind_parse(cli->opt[OPT_KIND], &kind) != 0)
		return usage_error(cmd, "未知类型 '%s' (unknown --kind)",
		    sanitize(cli->opt[OPT_KIND], sbuf, sizeof(sbuf)));
	if ((rv = record_init(cli, cmd, "CHECKIN", &rec)) != 0)
		return rv;
	record_field(&rec, "grid", grid);
	record_field(&rec, "kind", proto_kind_name(kind));
	if ((rv = record_position(cli, cmd, &rec)) != 0 ||
	    (rv = record_text(cli, cmd, OPT_NOTE, "note", CLIENT_NOTE_MAX,
	    &rec)) != 0) {
		record_free(&rec);
		return rv;
	}
	if ((rv = settings_terminal(cli, &s, cmd)) != 0) {
		record_free(&rec);
		return rv;
	}
	rv = write_run(&s, cmd, &rec, &outcome, NULL, 0);
	record_free(&rec);
	settings_free(&s);
	return rv;
}

/* ---- patrol -------------------------------------------------------------- */

/*
 * The file that remembers a worker's current patrol:
 * $XDG_STATE_HOME/pingan/patrol-<worker>.  Returns 0 or -errno.
 */
static int
patrol_state_path(const char *worker, char *buf, size_t size)
{
	char	 dir[PATH_MAX];
	int	 error, n;

	if (!roster_code_valid(worker))
		return -EINVAL;
	if ((error = spool_dir_path(dir, sizeof(dir))) != 0)
		return error;
	n = snprintf(buf, size, "%s/patrol-%s", dir, worker);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* Reads the worker's current patrol id; returns 0, -ENOENT or -errno. */
static int
patrol_recall(const char *worker, char id[PINGAN_UUID_STRLEN + 1])
{
	char	 path[PATH_MAX], buf[64];
	uint8_t	 uuid[16];
	ssize_t	 n;
	int	 fd, error;

	if ((error = patrol_state_path(worker, path, sizeof(path))) != 0)
		return error;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (proto_uuid_parse(buf, uuid) != 0)
		return -ENOENT;
	proto_uuid_format(uuid, id);
	return 0;
}

/* Remembers id as the worker's current patrol; returns 0 or -errno. */
static int
patrol_remember(const char *worker, const char *id)
{
	char	 path[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 16], line[64];
	size_t	 len;
	int	 fd, error;

	if ((error = patrol_state_path(worker, path, sizeof(path))) != 0 ||
	    (error = spool_dir_path(dir, sizeof(dir))) != 0 ||
	    (error = spool_mkdir(dir)) != 0)
		return error;
	snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return -errno;
	len = (size_t)snprintf(line, sizeof(line), "%s\n", id);
	if (write(fd, line, len) != (ssize_t)len || fsync(fd) == -1) {
		error = errno != 0 ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		return error;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		error = -errno;
		unlink(tmp);
		return error;
	}
	return 0;
}

/* Forgets the worker's current patrol if it is id. */
static void
patrol_forget(const char *worker, const char *id)
{
	char	 path[PATH_MAX], cur[PINGAN_UUID_STRLEN + 1];

	if (patrol_recall(worker, cur) == 0 && strcmp(cur, id) == 0 &&
	    patrol_state_path(worker, path, sizeof(path)) == 0)
		unlink(path);
}

/* pingan patrol start: starts a patrol and remembers it. */
static int
patrol_start(struct cli *cli, const char *cmd)
{
	struct settings		 s;
	struct record		 rec;
	enum patrol_type	 type;
	enum write_outcome	 outcome;
	char			 sbuf[64];
	int			 rv, error;

	if (cli->opt[OPT_TYPE] == NULL)
		return usage_error(cmd, "缺少 --type 巡逻类型 (missing --type: "
		    "security or forest_fire)");
	if (proto_patrol_type_parse(cli->opt[OPT_TYPE], &type) != 0)
		return usage_error(cmd, "未知巡逻类型 '%s' (unknown --type: "
		    "security 治安巡防 or forest_fire 森林防火巡逻)",
		    sanitize(cli->opt[OPT_TYPE], sbuf, sizeof(sbuf)));
	if (cli->opt[OPT_VILLAGES] == NULL && cli->opt[OPT_GRIDS] == NULL)
		return usage_error(cmd, "须给出 --villages 或 --grids (give the "
		    "villages or grids the patrol covers)");
	if ((rv = record_init(cli, cmd, "PATROL-START", &rec)) != 0)
		return rv;
	record_field(&rec, "type", proto_patrol_type_name(type));
	if ((rv = record_codes(cli, cmd, OPT_MEMBERS, "members", &rec)) != 0 ||
	    (rv = record_codes(cli, cmd, OPT_VILLAGES, "villages",
	    &rec)) != 0 ||
	    (rv = record_codes(cli, cmd, OPT_GRIDS, "grids", &rec)) != 0 ||
	    (rv = record_position(cli, cmd, &rec)) != 0 ||
	    (rv = record_text(cli, cmd, OPT_NOTE, "note", CLIENT_NOTE_MAX,
	    &rec)) != 0) {
		record_free(&rec);
		return rv;
	}
	if ((rv = settings_terminal(cli, &s, cmd)) != 0) {
		record_free(&rec);
		return rv;
	}
	rv = write_run(&s, cmd, &rec, &outcome, NULL, 0);
	if ((outcome == WRITE_STORED || outcome == WRITE_DUPLICATE ||
	    outcome == WRITE_SPOOLED) &&
	    (error = patrol_remember(s.worker, rec.id)) != 0)
		errorx(0, "无法记下当前巡逻: %s; 打卡和结束时请用 --patrol %s "
		    "(cannot remember the current patrol: give --patrol %s)",
		    strerror(-error), rec.id, rec.id);
	record_free(&rec);
	settings_free(&s);
	return rv;
}

/* pingan patrol point and patrol end: for the given or current patrol. */
static int
patrol_point_end(struct cli *cli, const char *cmd, bool end)
{
	struct settings		 s;
	struct record		 rec;
	enum write_outcome	 outcome;
	uint8_t			 uuid[16];
	char			 patrol[PINGAN_UUID_STRLEN + 1], code[64];
	int			 rv;

	if (cli->opt[OPT_PATROL] != NULL &&
	    proto_uuid_parse(cli->opt[OPT_PATROL], uuid) != 0)
		return usage_error(cmd, "巡逻编号须为 UUID (--patrol must be the "
		    "UUID 'patrol start' printed)");
	if ((rv = record_init(cli, cmd, end ? "PATROL-END" : "PATROL-POINT",
	    &rec)) != 0)
		return rv;
	if (end)
		rv = record_text(cli, cmd, OPT_SUMMARY, "summary",
		    CLIENT_TEXT_MAX, &rec);
	else if ((rv = record_code(cli, cmd, OPT_CHECKPOINT, "checkpoint",
	    false, &rec)) == 0)
		rv = record_text(cli, cmd, OPT_NOTE, "note", CLIENT_NOTE_MAX,
		    &rec);
	if (rv != 0 || (rv = record_position(cli, cmd, &rec)) != 0) {
		record_free(&rec);
		return rv;
	}
	if ((rv = settings_terminal(cli, &s, cmd)) != 0) {
		record_free(&rec);
		return rv;
	}
	if (cli->opt[OPT_PATROL] != NULL)
		proto_uuid_format(uuid, patrol);
	else if (patrol_recall(s.worker, patrol) != 0) {
		record_free(&rec);
		settings_free(&s);
		return usage_error(cmd, "没有进行中的巡逻, 请用 --patrol 指定 "
		    "(no current patrol: start one, or give --patrol ID)");
	}
	record_field(&rec, "patrol", patrol);
	rv = write_run(&s, cmd, &rec, &outcome, code, sizeof(code));
	if (end && (outcome == WRITE_STORED || outcome == WRITE_DUPLICATE ||
	    outcome == WRITE_SPOOLED || strcmp(code, "patrol_closed") == 0 ||
	    strcmp(code, "not_found") == 0))
		patrol_forget(s.worker, patrol);
	record_free(&rec);
	settings_free(&s);
	return rv;
}

/*
 * Finds the subcommand of patrol or duty and parses its options (which may
 * also come before it).  Returns 0 with *ret_sub set, -1 when done (help
 * printed), or an exit status.
 */
static int
sub_options(struct cli *cli, int argc, char **argv, const char *name,
    const struct subcommand **ret_sub, char *cmdbuf, size_t cmdsize)
{
	const struct command	*command = command_find(name);
	const struct subcommand	*sub;
	char			 sbuf[64];
	int			 rv;

	if ((rv = cli_parse(cli, argc, argv, true, no_opts, name)) != 0)
		return rv;
	if (optind >= argc) {
		if (cli->opt[OPT_HELP] != NULL) {
			usage_command(stdout, command);
			return -1;
		}
		if (cli->opt[OPT_VERSION] != NULL) {
			version();
			return -1;
		}
		return usage_error(name, "缺少子命令 (missing subcommand)");
	}
	if ((sub = subcommand_find(command, argv[optind])) == NULL)
		return usage_error(name, "未知子命令 '%s' (unknown subcommand)",
		    sanitize(argv[optind], sbuf, sizeof(sbuf)));
	snprintf(cmdbuf, cmdsize, "%s %s", name, sub->name);
	argc -= optind;
	argv += optind;
	if ((rv = write_options(cli, argc, argv, sub->opts, cmdbuf, command,
	    sub)) != 0)
		return rv;
	*ret_sub = sub;
	return 0;
}

/* pingan patrol start|point|end. */
static int
cmd_patrol(struct cli *cli, int argc, char **argv)
{
	const struct subcommand	*sub;
	char			 cmd[64];
	int			 rv;

	if ((rv = sub_options(cli, argc, argv, "patrol", &sub, cmd,
	    sizeof(cmd))) != 0)
		return rv < 0 ? 0 : rv;
	if (strcmp(sub->name, "start") == 0)
		return patrol_start(cli, cmd);
	return patrol_point_end(cli, cmd, strcmp(sub->name, "end") == 0);
}

/* ---- screening and duty --------------------------------------------------- */

/* Tells whether s is a date YYYY-MM-DD that exists. */
static bool
date_valid(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int	 y, m, d;

	if (strlen(s) != 10 || !digits(&s, 4, 4, &y) || *s++ != '-' ||
	    !digits(&s, 2, 2, &m) || *s++ != '-' || !digits(&s, 2, 2, &d) ||
	    *s != '\0')
		return false;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0));
}

/* pingan screening: a zero report or one item found, for a grid. */
static int
cmd_screening(struct cli *cli, int argc, char **argv)
{
	const char		*cmd = "screening";
	struct settings		 s;
	struct record		 rec;
	enum write_outcome	 outcome;
	int			 rv;

	if ((rv = write_options(cli, argc, argv, screening_opts, cmd,
	    command_find(cmd), NULL)) != 0)
		return rv < 0 ? 0 : rv;
	if ((cli->opt[OPT_ZERO] != NULL) == (cli->opt[OPT_ITEM] != NULL))
		return usage_error(cmd, "须给出 --zero (零报告) 或 --item (发现的"
		    "问题) 之一 (give either --zero or --item)");
	if (cli->opt[OPT_ITEM] != NULL && cli->opt[OPT_ITEM][0] == '\0')
		return usage_error(cmd, "--item 不能为空 (--item is empty)");
	if (cli->opt[OPT_DAY] != NULL && !date_valid(cli->opt[OPT_DAY]))
		return usage_error(cmd, "日期须为 YYYY-MM-DD (--day must be "
		    "YYYY-MM-DD)");
	if ((rv = record_init(cli, cmd, "SCREENING", &rec)) != 0)
		return rv;
	if ((rv = record_code(cli, cmd, OPT_GRID, "grid", true, &rec)) != 0 ||
	    (rv = record_code(cli, cmd, OPT_VILLAGE, "village", false,
	    &rec)) != 0 ||
	    (rv = record_text(cli, cmd, OPT_ITEM, "item", CLIENT_TEXT_MAX,
	    &rec)) != 0) {
		record_free(&rec);
		return rv;
	}
	if (cli->opt[OPT_DAY] != NULL)
		record_field(&rec, "day", cli->opt[OPT_DAY]);
	if (cli->opt[OPT_ZERO] != NULL)
		record_field(&rec, "zero", "yes");
	if ((rv = settings_terminal(cli, &s, cmd)) != 0) {
		record_free(&rec);
		return rv;
	}
	rv = write_run(&s, cmd, &rec, &outcome, NULL, 0);
	record_free(&rec);
	settings_free(&s);
	return rv;
}

/* pingan duty on|off: the person on duty at a post checks in or out. */
static int
cmd_duty(struct cli *cli, int argc, char **argv)
{
	const struct subcommand	*sub;
	struct settings		 s;
	struct record		 rec;
	enum write_outcome	 outcome;
	char			 cmd[64];
	int			 rv;

	if ((rv = sub_options(cli, argc, argv, "duty", &sub, cmd,
	    sizeof(cmd))) != 0)
		return rv < 0 ? 0 : rv;
	if ((rv = record_init(cli, cmd, strcmp(sub->name, "on") == 0 ?
	    "DUTY-ON" : "DUTY-OFF", &rec)) != 0)
		return rv;
	if ((rv = record_code(cli, cmd, OPT_POST, "post", true, &rec)) != 0) {
		record_free(&rec);
		return rv;
	}
	if ((rv = settings_terminal(cli, &s, cmd)) != 0) {
		record_free(&rec);
		return rv;
	}
	rv = write_run(&s, cmd, &rec, &outcome, NULL, 0);
	record_free(&rec);
	settings_free(&s);
	return rv;
}

/* ---- sync and queue ------------------------------------------------------- */

/* pingan sync: sends the worker's spooled records and reports. */
static int
cmd_sync(struct cli *cli, int argc, char **argv)
{
	const char		*cmd = "sync";
	struct settings		 s;
	struct spoolctx		 sc;
	struct spool_tally	 t;
	struct sent		*v;
	size_t			 k, others;
	int			 rv, srv = 0;

	if ((rv = write_options(cli, argc, argv, no_opts, cmd,
	    command_find(cmd), NULL)) != 0)
		return rv < 0 ? 0 : rv;
	if ((rv = settings_terminal(cli, &s, cmd)) != 0)
		return rv;
	spoolctx_open(&sc, s.worker, s.timeout * 3 < 30 ? 30 : s.timeout * 3);
	if (!sc.locked || !sc.parsed) {
		spoolctx_close(&sc);
		settings_free(&s);
		return EXIT_LOCAL;
	}
	others = sc.sp.nrecords - sc.nmine;
	v = xcalloc(sc.nmine, sizeof(*v));
	for (k = 0; k < sc.nmine; k++) {
		v[k].req = sc.sp.records[sc.mine[k]].request;
		v[k].reqlen = sc.sp.records[sc.mine[k]].requestlen;
		v[k].id = sc.sp.records[sc.mine[k]].id;
	}
	if (sc.nmine > 0)
		srv = session_run(&s, cmd, v, sc.nmine);
	spoolctx_settle(&sc, v, &t);

	if (sc.nmine == 0)
		printf("没有待发送的离线记录 (nothing to send)\n");
	else
		printf("已发送 %zu 条, 重复 %zu 条, 被拒绝 %zu 条, 仍在等待 %zu 条 "
		    "(sent %zu, duplicates %zu, rejected %zu, still waiting "
		    "%zu)\n", t.stored, t.duplicate, t.rejected, t.waiting,
		    t.stored, t.duplicate, t.rejected, t.waiting);
	if (others > 0)
		printf("另有 %zu 条其他人员的记录, 由其本人发送 (%zu records of "
		    "other workers were left for them)\n", others, others);
	if (srv == EXIT_REFUSED || srv == EXIT_TLS || srv == EXIT_LOCAL)
		rv = srv;
	else
		rv = t.waiting > 0 ? EXIT_SPOOLED : 0;
	for (k = 0; k < sc.nmine; k++)
		free(v[k].reply);
	free(v);
	spoolctx_close(&sc);
	settings_free(&s);
	return rv;
}

/* A table of text cells, printed aligned by display width. */
struct text_table {
	size_t	 ncols;
	size_t	 nrows;
	char	**cells;	/* nrows * ncols, row by row */
	unsigned right;		/* bit i: column i is right-aligned */
};

/* Starts an empty table of ncols columns. */
static void
ttab_init(struct text_table *t, size_t ncols, unsigned right)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->right = right;
}

/* Adds a row of ncols cells (copied; NULL shows as "-"). */
static void
ttab_add(struct text_table *t, const char *const *cells)
{
	size_t	 j;

	t->cells = xreallocarray(t->cells, (t->nrows + 1) * t->ncols,
	    sizeof(*t->cells));
	for (j = 0; j < t->ncols; j++)
		t->cells[t->nrows * t->ncols + j] = xstrdup(cells[j] != NULL ?
		    cells[j] : "-");
	t->nrows++;
}

/* Prints the table, each line after indent; the first row is the header. */
static void
ttab_print(const struct text_table *t, const char *indent)
{
	size_t	*width, i, j, w;
	char	 sbuf[1024];

	width = xcalloc(t->ncols, sizeof(*width));
	for (i = 0; i < t->nrows; i++)
		for (j = 0; j < t->ncols; j++) {
			sanitize(t->cells[i * t->ncols + j], sbuf, sizeof(sbuf));
			if ((w = display_width(sbuf)) > width[j])
				width[j] = w;
		}
	for (i = 0; i < t->nrows; i++) {
		fputs(indent, stdout);
		for (j = 0; j < t->ncols; j++) {
			sanitize(t->cells[i * t->ncols + j], sbuf, sizeof(sbuf));
			w = display_width(sbuf);
			if (i > 0 && (t->right & (1u << j)))
				printf("%*s", (int)(width[j] - w), "");
			fputs(sbuf, stdout);
			if (j + 1 < t->ncols && !(i > 0 &&
			    (t->right & (1u << j))))
				printf("%*s", (int)(width[j] - w), "");
			if (j + 1 < t->ncols)
				fputs("  ", stdout);
		}
		putchar('\n');
	}
	free(width);
}

/* Frees the cells of a table. */
static void
ttab_free(struct text_table *t)
{
	size_t	 i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* Writes s as a JSON string (quoted, escaped) to stdout. */
static void
json_print_string(const char *s)
{
	const unsigned char	*p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p == '\t')
			fputs("\\t", stdout);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* How long ago, in Chinese: "45秒", "12分", "3小时12分", "2天3小时". */
static void
age_format(int64_t ms, char *buf, size_t size)
{
	int64_t	 s = ms < 0 ? 0 : ms / 1000;

	if (s < 60)
		snprintf(buf, size, "%lld秒", (long long)s);
	else if (s < 3600)
		snprintf(buf, size, "%lld分", (long long)(s / 60));
	else if (s < 86400)
		snprintf(buf, size, "%lld小时%lld分", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else
		snprintf(buf, size, "%lld天%lld小时", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
}

/* The Chinese name of a spooled verb. */
static const char *
verb_label(const char *verb)
{
	static const struct {
		const char	*verb;
		const char	*label;
	} labels[] = {
		{ "CHECKIN", "签到" },
		{ "PATROL-START", "巡逻开始" },
		{ "PATROL-POINT", "巡逻打卡" },
		{ "PATROL-END", "巡逻结束" },
		{ "SCREENING", "排查" },
		{ "DUTY-ON", "值班签到" },
		{ "DUTY-OFF", "值班签退" },
		{ "DISPUTE-REPORT", "纠纷上报" },
		{ "DISPUTE-TRIAGE", "纠纷分流" },
		{ "DISPUTE-LOG", "纠纷办理" },
		{ "DISPUTE-STATUS", "纠纷办结" },
		{ "DISPUTE-EXTEND", "纠纷延期" },
		{ "DISPUTE-REOPEN", "纠纷重办" },
		{ "RISK-ADD", "重点人员登记" },
	};
	size_t	 i;

	for (i = 0; i < nitems(labels); i++)
		if (strcmp(labels[i].verb, verb) == 0)
			return labels[i].label;
	return verb;
}

/* Cuts s to at most cols terminal columns, marking a cut with "…". */
static void
cut_width(char *s, size_t cols)
{
	size_t	 len = strlen(s), end;

	if (display_width(s) <= cols)
		return;
	end = len;
	while (end > 0) {
		do
			end--;
		while (end > 0 && ((unsigned char)s[end] & 0xc0) == 0x80);
		s[end] = '\0';
		if (display_width(s) + 1 <= cols && len - end >= 3)
			break;
	}
	memcpy(s + end, "…", sizeof("…"));
}

/* Counts the record lines of spool.rejected (not its "#" lines). */
static size_t
rejected_count(const char *dir)
{
	char	*buf, *p, *nl;
	size_t	 len, n = 0;

	if (spool_read(dir, SPOOL_REJECTED, &buf, &len) != 0)
		return 0;
	for (p = buf; p < buf + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(buf + len - p))) == NULL)
			nl = buf + len;
		if (nl > p && *p != '#')
			n++;
	}
	free(buf);
	return n;
}

/* pingan queue: lists what waits in the spool, with ages. */
static int
cmd_queue(struct cli *cli, int argc, char **argv)
{
	const char		*cmd = "queue";
	const struct spool_record *r;
	struct proto_request	 req;
	struct text_table	 t;
	struct spool		 sp;
	struct strbuf		 view = { NULL, 0, 0 };
	char			 dir[PATH_MAX], *buf, age[32], when[64];
	const char		*row[5];
	size_t			 len, i, nrejected;
	int64_t			 now = wall_ms();
	bool			 json = cli->opt[OPT_JSON] != NULL;
	int			 rv, error, f;

	if ((rv = write_options(cli, argc, argv, queue_opts, cmd,
	    command_find(cmd), NULL)) != 0)
		return rv < 0 ? 0 : rv;
	json = cli->opt[OPT_JSON] != NULL;
	if ((error = spool_dir_path(dir, sizeof(dir))) != 0)
		return errorx(EXIT_LOCAL, "无法确定离线队列的目录: %s (no "
		    "directory for the offline spool)", strerror(-error));
	if ((error = spool_read(dir, SPOOL_NAME, &buf, &len)) != 0)
		return errorx(EXIT_LOCAL, "无法读取离线队列 %s/%s: %s (cannot "
		    "read the offline spool)", dir, SPOOL_NAME,
		    error == -EFBIG ? "larger than 16 MiB" : strerror(-error));
	if (spool_parse(buf, len, &sp) != 0)
		nomem();
	nrejected = rejected_count(dir);

	memset(&req, 0, sizeof(req));
	if (json) {
		printf("{\"spool\": ");
		json_print_string(dir);
		printf(", \"records\": [");
	} else
		ttab_init(&t, 5, 0);
	if (!json && sp.nrecords > 0) {
		const char *hdr[5] = { "等待", "人员", "类型", "编号", "内容" };

		ttab_add(&t, hdr);
	}
	for (i = 0; i < sp.nrecords; i++) {
		r = &sp.records[i];
		if (proto_parse_line(r->request, r->requestlen, &req) != 0)
			req.nfields = 0;	/* cannot be: spool_parse did */
		if (json) {
			at_format(r->created_ms, when, sizeof(when));
			printf("%s\n  {\"worker\": ", i > 0 ? "," : "");
			json_print_string(r->worker);
			printf(", \"verb\": ");
			json_print_string(r->verb);
			printf(", \"id\": ");
			json_print_string(r->id);
			printf(", \"created\": ");
			json_print_string(when);
			printf(", \"age_seconds\": %lld, \"fields\": {",
			    (long long)((now - r->created_ms) / 1000));
			for (f = 0; f < req.nfields; f++) {
				if (f > 0)
					printf(", ");
				json_print_string(req.fields[f].key);
				printf(": ");
				json_print_string(req.fields[f].val);
			}
			printf("}}");
			continue;
		}
		view.len = 0;
		if (view.buf != NULL)
			view.buf[0] = '\0';
		for (f = 0; f < req.nfields; f++)
			if (strcmp(req.fields[f].key, "id") != 0)
				sb_field(&view, req.fields[f].key,
				    req.fields[f].val);
		if (view.len > 0)
			cut_width(view.buf + 1, 60);
		age_format(now - r->created_ms, age, sizeof(age));
		snprintf(when, sizeof(when), "%s %s", r->verb,
		    verb_label(r->verb));
		row[0] = age;
		row[1] = r->worker;
		row[2] = when;
		row[3] = r->id;
		row[4] = view.len > 0 ? view.buf + 1 : "";
		ttab_add(&t, row);
	}
	if (json) {
		printf("%s], \"damaged\": %zu, \"rejected\": %zu}\n",
		    sp.nrecords > 0 ? "\n" : "", sp.ndamaged_total, nrejected);
	} else {
		if (sp.nrecords == 0)
			printf("离线队列为空 (the offline spool is empty)\n");
		else {
			ttab_print(&t, "");
			printf("共 %zu 条待发送 (%zu records waiting)\n",
			    sp.nrecords, sp.nrecords);
		}
		if (sp.ndamaged_total > 0)
			printf("另有 %zu 行已损坏, 下次发送时移到 %s (%zu damaged "
			    "lines, moved to %s on the next send)\n",
			    sp.ndamaged_total, SPOOL_REJECTED,
			    sp.ndamaged_total, SPOOL_REJECTED);
		if (nrejected > 0)
			printf("被服务器拒绝的记录 %zu 条, 见 %s/%s (%zu records the "
			    "server refused are kept there)\n", nrejected, dir,
			    SPOOL_REJECTED, nrejected);
		ttab_free(&t);
	}
	proto_request_free(&req);
	sb_free(&view);
	spool_free(&sp);
	free(buf);
	return 0;
}

/* ---- summary -------------------------------------------------------------- */

/* The summary shows its disputes as the ledger's views do (below). */
static double	 view_num(const struct json_doc *, const struct json_node *,
		    const char *);
static const struct json_node *view_array(const struct json_doc *,
		    const struct json_node *, const char *);
static size_t	 view_cases(const struct json_doc *, const struct json_node *,
		    bool, const char *, size_t *, size_t *);

/* Formats a number of the summary: "12", "9.5", or "-" when absent. */
static const char *
sum_num(const struct json_doc *d, const struct json_node *n, const char *path,
    char *buf, size_t size)
{
	double	 v = json_num(json_path(d, n, path));

	if (isnan(v))
		return "-";
	if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, size, "%.0f", v);
	else
		snprintf(buf, size, "%.1f", v);
	return buf;
}

/* Formats hours with one decimal ("9.5"), or "-" when absent. */
static const char *
sum_hours(const struct json_doc *d, const struct json_node *n,
    const char *path, char *buf, size_t size)
{
	double	 v = json_num(json_path(d, n, path));

	if (isnan(v))
		return "-";
	snprintf(buf, size, "%.1f", v);
	return buf;
}

/* A string member, or "" when absent or null. */
static const char *
sum_str(const struct json_doc *d, const struct json_node *n, const char *path)
{
	const char	*s = json_str(json_path(d, n, path));

	return s != NULL ? s : "";
}

/* "x/y" of two numbers, or "-" when y is absent or 0. */
static const char *
sum_ratio(const struct json_doc *d, const struct json_node *n,
    const char *got, const char *total, char *buf, size_t size)
{
	double	 a = json_num(json_path(d, n, got));
	double	 b = json_num(json_path(d, n, total));

	if (isnan(b) || b == 0)
		return "-";
	snprintf(buf, size, "%.0f/%.0f", isnan(a) ? 0 : a, b);
	return buf;
}

/*
 * The clock time of an RFC 3339 time for a day's row: "18:00" on that day,
 * "24:00" for the midnight that ends it, else "MM-DD HH:MM".
 */
static const char *
sum_clock(const char *t, const char *day, char *buf, size_t size)
{
	if (t == NULL || strlen(t) < 16 || (t[10] != 'T' && t[10] != ' '))
		return t != NULL && t[0] != '\0' ? t : "-";
	if (day != NULL && strncmp(t, day, 10) == 0)
		snprintf(buf, size, "%.5s", t + 11);
	else if (strncmp(t + 11, "00:00", 5) == 0)
		snprintf(buf, size, "24:00");
	else
		snprintf(buf, size, "%.5s %.5s", t + 5, t + 11);
	return buf;
}

/* The Chinese name of a patrol type given in English. */
static const char *
sum_type_label(const char *s)
{
	enum patrol_type	 type;

	if (s != NULL && proto_patrol_type_parse(s, &type) == 0)
		return proto_patrol_type_label(type);
	return s != NULL ? s : "-";
}

/* Prints the gaps, overdue ones marked 逾期. */
static void
summary_gaps(const struct json_doc *d, const struct json_node *root)
{
	const struct json_node	*gaps = json_get(d, root, "gaps"), *g, *m;
	struct text_table	 t;
	struct strbuf		 who = { NULL, 0, 0 };
	const char		*kind, *day, *row[5];
	char			 place[160], detail[400];
	char			 b1[32], b2[32], b3[32];
	size_t			 n = 0, overdue = 0;

	for (g = json_first(d, gaps); g != NULL; g = json_next(d, g)) {
		n++;
		if (json_get(d, g, "overdue") != NULL &&
		    json_get(d, g, "overdue")->type == JSON_TRUE)
			overdue++;
	}
	if (n == 0) {
		printf("缺口 (gaps): 无 (none)\n");
		return;
	}
	printf("缺口 (gaps): %zu 项, 其中逾期 %zu 项 (%zu, %zu overdue)\n", n,
	    overdue, n, overdue);
	ttab_init(&t, 5, 0);
	{
		const char *hdr[5] = { "日期", "类型", "村(居)/岗位", "说明",
		    "状态" };

		ttab_add(&t, hdr);
	}
	for (g = json_first(d, gaps); g != NULL; g = json_next(d, g)) {
		kind = sum_str(d, g, "kind");
		day = sum_str(d, g, "day");
		place[0] = detail[0] = '\0';
		if (strcmp(kind, "screening_missing") == 0) {
			row[1] = "未报排查";
			snprintf(place, sizeof(place), "%s %s",
			    sum_str(d, g, "village"),
			    sum_str(d, g, "village_name"));
			snprintf(detail, sizeof(detail), "截止 %s",
			    sum_clock(json_str(json_get(d, g, "cutoff")), day,
			    b1, sizeof(b1)));
		} else if (strcmp(kind, "duty_uncovered") == 0) {
			row[1] = "无人值班";
			snprintf(place, sizeof(place), "%s %s",
			    sum_str(d, g, "post"), sum_str(d, g, "post_name"));
			snprintf(detail, sizeof(detail), "截止 %s",
			    sum_clock(json_str(json_get(d, g, "cutoff")), day,
			    b1, sizeof(b1)));
		} else if (strcmp(kind, "window_uncovered") == 0) {
			row[1] = "重点时段无巡逻";
			snprintf(place, sizeof(place), "%s %s",
			    sum_str(d, g, "village"),
			    sum_str(d, g, "village_name"));
			snprintf(detail, sizeof(detail), "%s %s-%s",
			    sum_type_label(json_str(json_get(d, g, "type"))),
			    sum_clock(json_str(json_get(d, g, "from")), day,
			    b1, sizeof(b1)),
			    sum_clock(json_str(json_get(d, g, "to")), day, b2,
			    sizeof(b2)));
		} else if (strcmp(kind, "patrol_overlong") == 0) {
			row[1] = "巡逻超时未结束";
			who.len = 0;
			for (m = json_first(d, json_get(d, g, "members"));
			    m != NULL; m = json_next(d, m)) {
				if (who.len > 0)
					sb_adds(&who, ",");
				sb_adds(&who, json_str(m) != NULL ?
				    json_str(m) : "?");
			}
			snprintf(place, sizeof(place), "%s",
			    who.len > 0 ? who.buf : "");
			snprintf(detail, sizeof(detail), "%s %s 起, 已 %s 小时",
			    sum_type_label(json_str(json_get(d, g, "type"))),
			    sum_clock(json_str(json_get(d, g, "started")), day,
			    b1, sizeof(b1)),
			    sum_hours(d, g, "hours_open", b3, sizeof(b3)));
		} else if (strcmp(kind, "dispute_overdue") == 0) {
			row[1] = "纠纷逾期";
			snprintf(place, sizeof(place), "%s %s",
			    sum_str(d, g, "village"),
			    sum_str(d, g, "village_name"));
			who.len = 0;
			sb_adds(&who, "");
			for (m = json_first(d, json_get(d, g, "handlers"));
			    m != NULL; m = json_next(d, m)) {
				if (who.len > 0)
					sb_adds(&who, ",");
				sb_adds(&who, json_str(m) != NULL ?
				    json_str(m) : "?");
			}
			snprintf(detail, sizeof(detail), "%s, 时限 %s, 逾期 %s "
			    "天, 包案 %s, 办案 %s",
			    sum_str(d, g, "category"),
			    sum_str(d, g, "deadline"),
			    sum_num(d, g, "days_overdue", b1, sizeof(b1)),
			    json_str(json_get(d, g, "leader")) != NULL ?
			    json_str(json_get(d, g, "leader")) : "-",
			    who.len > 0 ? who.buf : "-");
		} else {
			row[1] = kind;
			snprintf(place, sizeof(place), "%s%s",
			    sum_str(d, g, "village"), sum_str(d, g, "post"));
		}
		row[0] = day;
		row[2] = place;
		row[3] = detail;
		m = json_get(d, g, "overdue");
		row[4] = m != NULL && m->type == JSON_TRUE ? "逾期" :
		    "未到截止";
		ttab_add(&t, row);
	}
	ttab_print(&t, "  ");
	ttab_free(&t);
	sb_free(&who);
}

/* Prints the totals of the town (or of the village asked for). */
static void
summary_town(const struct json_doc *d, const struct json_node *root)
{
	const struct json_node	*town = json_get(d, root, "town");
	struct text_table	 t;
	struct strbuf		 sb = { NULL, 0, 0 };
	const char		*from = sum_str(d, root, "from");
	const char		*to = sum_str(d, root, "to");
	const char		*now = sum_str(d, root, "generated_at");
	const char		*row[2];
	char			 b[6][32], path[96], line[512];
	int			 k;

	if (strcmp(from, to) != 0)
		printf("期间概况 (totals) %s 至 %s\n", from, to);
	else if (strncmp(now, from, 10) == 0)
		printf("今日概况 (town totals)\n");
	else
		printf("今日概况 (town totals) %s\n", from);
	ttab_init(&t, 2, 0);

	sb_adds(&sb, "共 ");
	sb_adds(&sb, sum_num(d, town, "checkins.total", b[0], sizeof(b[0])));
	for (k = 0; k < CHECKIN_KIND__COUNT; k++) {
		snprintf(path, sizeof(path), "checkins.%s",
		    proto_kind_name((enum checkin_kind)k));
		snprintf(line, sizeof(line), "%s %s %s", k == 0 ? ":" : ",",
		    proto_kind_label((enum checkin_kind)k),
		    sum_num(d, town, path, b[0], sizeof(b[0])));
		sb_adds(&sb, line);
	}
	row[0] = "签到";
	row[1] = sb.buf;
	ttab_add(&t, row);

	snprintf(line, sizeof(line), "%s 次 (进行中 %s), %s 小时, 出动 %s 人, "
	    "打卡 %s 次", sum_num(d, town, "patrols.count", b[0], 32),
	    sum_num(d, town, "patrols.open", b[1], 32),
	    sum_hours(d, town, "patrols.hours", b[2], 32),
	    sum_num(d, town, "patrols.members", b[3], 32),
	    sum_num(d, town, "patrols.points", b[4], 32));
	row[0] = "巡逻";
	row[1] = line;
	ttab_add(&t, row);
	sb.len = 0;
	for (k = 0; k < PATROL_TYPE__COUNT; k++) {
		snprintf(path, sizeof(path), "patrols.by_type.%s",
		    proto_patrol_type_name((enum patrol_type)k));
		snprintf(line, sizeof(line), "%s%s %s 次 %s 小时",
		    k > 0 ? "; " : "",
		    proto_patrol_type_label((enum patrol_type)k),
		    sum_num(d, json_path(d, town, path), "count", b[0], 32),
		    sum_hours(d, json_path(d, town, path), "hours", b[1], 32));
		sb_adds(&sb, line);
	}
	row[0] = "";
	row[1] = sb.buf;
	ttab_add(&t, row);
	sb.len = 0;
	for (k = WORKER_TEAM_NONE + 1; k < WORKER_TEAM__COUNT; k++) {
		snprintf(path, sizeof(path), "patrols.by_team.%s",
		    roster_team_name((enum worker_team)k));
		snprintf(line, sizeof(line), "%s%s %s 次 %s 人",
		    k > WORKER_TEAM_NONE + 1 ? "; " : "",
		    roster_team_label((enum worker_team)k),
		    sum_num(d, json_path(d, town, path), "patrols", b[0], 32),
		    sum_num(d, json_path(d, town, path), "members", b[1], 32));
		sb_adds(&sb, line);
	}
	row[1] = sb.buf;
	ttab_add(&t, row);

	snprintf(line, sizeof(line), "村(居) %s 已报, 网格 %s 已报, 零报告 %s, "
	    "发现问题 %s", sum_ratio(d, town, "screening.villages_reported",
	    "screening.villages_total", b[0], 32),
	    sum_ratio(d, town, "screening.grids_reported",
	    "screening.grids_total", b[1], 32),
	    sum_num(d, town, "screening.zero_reports", b[2], 32),
	    sum_num(d, town, "screening.items", b[3], 32));
	row[0] = "排查";
	row[1] = line;
	ttab_add(&t, row);
	snprintf(line, sizeof(line), "岗位 %s 有人值班",
	    sum_ratio(d, town, "duty.posts_covered", "duty.posts_total", b[0],
	    32));
	row[0] = "值班";
	row[1] = line;
	ttab_add(&t, row);
	if (strcmp(sum_ratio(d, town, "windows.covered", "windows.total", b[0],
	    32), "-") == 0)
		snprintf(line, sizeof(line), "未配置 (none configured)");
	else
		snprintf(line, sizeof(line), "%s 有巡逻", b[0]);
	row[0] = "重点时段";
	row[1] = line;
	ttab_add(&t, row);
	ttab_print(&t, "  ");
	ttab_free(&t);
	sb_free(&sb);
}

/* Prints one row per village. */
static void
summary_villages(const struct json_doc *d, const struct json_node *root)
{
	const struct json_node	*v, *c;
	struct text_table	 t;
	const char		*row[11] = { "编号", "名称", "签到", "巡逻",
	    "巡逻小时", "排查", "网格", "零报告", "问题", "值班", "重点时段" };
	char			 b[8][32];

	printf("村(居)一览 (villages)\n");
	ttab_init(&t, 11, 0x1fc);
	ttab_add(&t, row);
	for (v = json_first(d, json_get(d, root, "villages")); v != NULL;
	    v = json_next(d, v)) {
		row[0] = sum_str(d, v, "code");
		row[1] = sum_str(d, v, "name");
		row[2] = sum_num(d, v, "checkins", b[0], 32);
		row[3] = sum_num(d, v, "patrols", b[1], 32);
		row[4] = sum_hours(d, v, "patrol_hours", b[2], 32);
		c = json_path(d, v, "screening.reported");
		row[5] = c == NULL ? "-" : c->type == JSON_TRUE ? "已报" : "未报";
		row[6] = sum_ratio(d, v, "screening.grids_reported",
		    "screening.grids_total", b[3], 32);
		row[7] = sum_num(d, v, "screening.zero_reports", b[4], 32);
		row[8] = sum_num(d, v, "screening.items", b[5], 32);
		c = json_path(d, v, "duty.covered");
		row[9] = c == NULL ? "-" : c->type == JSON_TRUE ? "有人" : "无人";
		row[10] = sum_ratio(d, v, "windows.covered", "windows.total",
		    b[6], 32);
		ttab_add(&t, row);
	}
	if (t.nrows > 1)
		ttab_print(&t, "  ");
	else
		printf("  无 (none)\n");
	ttab_free(&t);
}

/* Prints one row per worker, with their activity and gaps. */
static void
summary_workers(const struct json_doc *d, const struct json_node *root)
{
	const struct json_node	*w;
	struct text_table	 t;
	enum worker_role	 role;
	enum worker_team	 team;
	const char		*row[11] = { "编号", "姓名", "角色", "队伍", "村(居)",
	    "签到", "巡逻", "打卡", "排查", "值班", "缺口" };
	const char		*s;
	char			 b[6][32];

	printf("人员 (workers)\n");
	ttab_init(&t, 11, 0x7e0);
	ttab_add(&t, row);
	for (w = json_first(d, json_get(d, root, "workers")); w != NULL;
	    w = json_next(d, w)) {
		row[0] = sum_str(d, w, "code");
		row[1] = sum_str(d, w, "name");
		s = sum_str(d, w, "role");
		row[2] = roster_role_parse(s, &role) == 0 ?
		    roster_role_label(role) : s;
		s = sum_str(d, w, "team");
		row[3] = s[0] != '\0' && strcmp(s, "none") != 0 &&
		    roster_team_parse(s, &team) == 0 ?
		    roster_team_label(team) : s;
		if (strcmp(row[3], "none") == 0)
			row[3] = "";
		row[4] = sum_str(d, w, "village");
		row[5] = sum_num(d, w, "checkins", b[0], 32);
		row[6] = sum_num(d, w, "patrols", b[1], 32);
		row[7] = sum_num(d, w, "points", b[2], 32);
		row[8] = sum_num(d, w, "screenings", b[3], 32);
		row[9] = sum_num(d, w, "duty_shifts", b[4], 32);
		row[10] = sum_num(d, w, "gaps", b[5], 32);
		ttab_add(&t, row);
	}
	if (t.nrows > 1)
		ttab_print(&t, "  ");
	else
		printf("  无 (none)\n");
	ttab_free(&t);
}

/* Prints the disputes of the summary: counts, then those in red or yellow. */
static void
summary_disputes(const struct json_doc *d, const struct json_node *root)
{
	const struct json_node	*ds = json_get(d, root, "disputes"), *a;

	if (ds == NULL || ds->type != JSON_OBJECT)
		return;
	printf("矛盾纠纷 (disputes): 排查出 %.0f 件, 已调处 %.0f 件, 期内调处 %.0f "
	    "件, 在办 %.0f 件, 逾期 %.0f 件, 临近时限 %.0f 件\n",
	    view_num(d, ds, "found"), view_num(d, ds, "mediated"),
	    view_num(d, ds, "mediated_in_period"), view_num(d, ds, "open"),
	    view_num(d, ds, "overdue"), view_num(d, ds, "yellow"));
	if ((a = view_array(d, ds, "attention")) != NULL &&
	    json_first(d, a) != NULL)
		view_cases(d, a, true, "  ", NULL, NULL);
	putchar('\n');
}

/* Prints the summary JSON as tables with Chinese headings. */
static int
summary_print(const char *json, size_t len)
{
	struct json_doc		 doc;
	const struct json_node	*root;
	const char		*from, *to, *village, *gen;
	char			 b[32];

	memset(&doc, 0, sizeof(doc));
	if (json_parse(json, len, &doc) != 0 ||
	    (root = json_root(&doc))->type != JSON_OBJECT) {
		json_free(&doc);
		return errorx(EXIT_NETWORK, "服务器的汇总不是有效的 JSON "
		    "(the summary from the server is not valid JSON)");
	}
	from = sum_str(&doc, root, "from");
	to = sum_str(&doc, root, "to");
	village = json_str(json_get(&doc, root, "village"));
	gen = sum_str(&doc, root, "generated_at");
	if (strlen(gen) >= 16)
		snprintf(b, sizeof(b), "%.10s %.5s", gen, gen + 11);
	else
		snprintf(b, sizeof(b), "%s", gen);
	printf("平安综治汇总 (summary) %s%s%s, %s, 生成于 (generated) %s\n",
	    from, strcmp(from, to) != 0 ? " 至 " : "",
	    strcmp(from, to) != 0 ? to : "", sum_str(&doc, root, "timezone"),
	    b);
	if (village != NULL)
		printf("村(居) (village): %s\n", village);
	putchar('\n');
	summary_disputes(&doc, root);
	summary_gaps(&doc, root);
	putchar('\n');
	summary_town(&doc, root);
	putchar('\n');
	summary_villages(&doc, root);
	putchar('\n');
	summary_workers(&doc, root);
	json_free(&doc);
	return 0;
}

/*
 * Sends one read request after AUTH on a connection of its own and
 * returns the payload of its "OK <payload>" reply, newly allocated.
 * Returns 0 or an exit status, said why: 1 when the server refused AUTH or
 * the request, 3 when it could not be reached or cannot answer now.
 */
static int
query_run(const struct settings *s, const char *cmd, const char *request,
    char **ret_payload)
{
	struct client	 c;
	struct strbuf	 req = { NULL, 0, 0 };
	char		*line, code[64], msg[256];
	int		 rv, error, k;

	sb_adds(&req, "AUTH ");
	sb_adds(&req, s->worker);
	sb_adds(&req, " ");
	sb_adds(&req, s->token);
	sb_adds(&req, "\n");
	sb_adds(&req, request);
	sb_adds(&req, "\n");

	client_init(&c, s->timeout, s->server);
	client_set_line_max(&c, CLIENT_SUMMARY_MAX);
	if ((rv = client_connect_tcp(&c, s, cmd)) != 0 ||
	    (rv = client_greet(&c)) != 0 ||
	    (rv = client_request(&c, req.buf, req.len, NULL)) != 0)
		goto out;
	/* The reply to AUTH, then the one to the request. */
	for (k = 0; k < 2; k++) {
		if ((error = client_read_line(&c, &line)) != 0) {
			rv = client_fail(&c, error, NULL);
			goto out;
		}
		if (reply_err(line)) {
			reply_err_parts(line, code, sizeof(code), msg,
			    sizeof(msg));
			rv = code_transient(code) ? server_unavailable(line) :
			    server_refused(line);
			goto out;
		}
		if (!reply_ok(line)) {
			rv = reply_unexpected(line);
			goto out;
		}
	}
	*ret_payload = xstrdup(line[2] == ' ' ? line + 3 : "");
out:
	client_close(&c);
	explicit_bzero(req.buf, req.len);	/* it holds the token */
	sb_free(&req);
	return rv;
}

/* pingan summary: asks for the summary and prints it. */
static int
cmd_summary(struct cli *cli, int argc, char **argv)
{
	const char	*cmd = "summary";
	const char	*day = cli->opt[OPT_DAY];
	struct settings	 s;
	struct strbuf	 req = { NULL, 0, 0 };
	char		*json = NULL;
	int		 rv;
	if ((rv = write_options(cli, argc, argv, summary_opts, cmd,
	    command_find(cmd), NULL)) != 0)
		return rv < 0 ? 0 : rv;
	day = cli->opt[OPT_DAY];
	if (day != NULL && (cli->opt[OPT_FROM] != NULL ||
	    cli->opt[OPT_TO] != NULL))
		return usage_error(cmd, "--day 不能与 --from/--to 同用 (give "
		    "--day or --from and --to)");
	if ((cli->opt[OPT_FROM] != NULL) != (cli->opt[OPT_TO] != NULL))
		return usage_error(cmd, "--from 和 --to 须同时给出 (give both "
		    "--from and --to)");
	if ((day != NULL && !date_valid(day)) ||
	    (cli->opt[OPT_FROM] != NULL && (!date_valid(cli->opt[OPT_FROM]) ||
	    !date_valid(cli->opt[OPT_TO]))))
		return usage_error(cmd, "日期须为 YYYY-MM-DD (dates must be "
		    "YYYY-MM-DD)");
	if (cli->opt[OPT_FROM] != NULL &&
	    strcmp(cli->opt[OPT_FROM], cli->opt[OPT_TO]) > 0)
		return usage_error(cmd, "--from 晚于 --to (--from is after --to)");
	if (cli->opt[OPT_VILLAGE] != NULL &&
	    (cli->opt[OPT_VILLAGE][0] == '\0' ||
	    !text_valid(cli->opt[OPT_VILLAGE], false) ||
	    strchr(cli->opt[OPT_VILLAGE], ' ') != NULL))
		return usage_error(cmd, "村(居)编号无效 (bad --village)");
	if ((rv = settings_terminal(cli, &s, cmd)) != 0)
		return rv;

	sb_adds(&req, "SUMMARY");
	if (day != NULL)
		sb_field(&req, "day", day);
	if (cli->opt[OPT_FROM] != NULL) {
		sb_field(&req, "from", cli->opt[OPT_FROM]);
		sb_field(&req, "to", cli->opt[OPT_TO]);
	}
	if (cli->opt[OPT_VILLAGE] != NULL)
		sb_field(&req, "village", cli->opt[OPT_VILLAGE]);
	if ((rv = query_run(&s, cmd, req.buf, &json)) != 0)
		goto out;
	if (json[0] != '{') {
		rv = reply_unexpected(json);
		goto out;
	}
	if (cli->opt[OPT_JSON] != NULL)
		printf("%s\n", json);
	else
		rv = summary_print(json, strlen(json));
out:
	free(json);
	sb_free(&req);
	settings_free(&s);
	return rv;
}

/* ----------------------------------------------------------------------- */

/* A word of the protocol, its Chinese label and another name accepted. */
struct word {
	const char	*name;		/* on the wire; NULL ends a list */
	const char	*label;		/* shown */
	const char	*alias;		/* also accepted, or NULL */
};

static const struct word word_sources[] = {
	{ "screening", "排查", "每天一排查" },
	{ "village", "村(居)", "村" },
	{ "walk_in", "来访", NULL },
	{ "hotline", "热线", NULL },
	{ "higher", "上级交办", "交办" },
	{ NULL, NULL, NULL },
};

static const struct word word_levels[] = {
	{ "village", "村级", NULL },
	{ "town", "镇级", "镇综治中心" },
	{ NULL, NULL, NULL },
};

static const struct word word_actions[] = {
	{ "visit", "走访", NULL },
	{ "mediation", "调解", NULL },
	{ "call", "电话", NULL },
	{ "meeting", "会商", NULL },
	{ "other", "其他", NULL },
	{ NULL, NULL, NULL },
};

/* The ends a dispute can reach with DISPUTE-STATUS. */
static const struct word word_ends[] = {
	{ "mediated", "调处成功", "已调处" },
	{ "escalated", "上交", "未化解上交" },
	{ "closed", "办结", "其他原因办结" },
	{ NULL, NULL, NULL },
};

/* Every status a dispute can be in, as shown. */
static const struct word word_states[] = {
	{ "reported", "待分流", NULL },
	{ "open", "在办", NULL },
	{ "mediated", "调处成功", NULL },
	{ "escalated", "已上交", NULL },
	{ "closed", "已办结", NULL },
	{ "watch", "在控", NULL },		/* the register's */
	{ "resolved", "已化解", NULL },
	{ NULL, NULL, NULL },
};

static const struct word word_bands[] = {
	{ "lt50", "<50人", "<50" },
	{ "50-100", "50-100人", NULL },
	{ "100-500", "100-500人", NULL },
	{ "gt500", ">500人", ">500" },
	{ NULL, NULL, NULL },
};

/* What `dispute list --status` may ask for. */
static const struct word word_lists[] = {
	{ "open", "未办结", "在办" },
	{ "overdue", "逾期", NULL },
	{ "closed", "已办结", NULL },
	{ "all", "全部", NULL },
	{ "reported", "待分流", NULL },
	{ "mediated", "调处成功", NULL },
	{ "escalated", "已上交", NULL },
	{ NULL, NULL, NULL },
};

/* The status of an entry of the petition-risk register. */
static const struct word word_risks[] = {
	{ "watch", "在控", "稳控" },
	{ "resolved", "已化解", "化解" },
	{ NULL, NULL, NULL },
};

/* What `risk list --status` may ask for. */
static const struct word word_risk_lists[] = {
	{ "watch", "在控", NULL },
	{ "resolved", "已化解", NULL },
	{ "all", "全部", NULL },
	{ NULL, NULL, NULL },
};

static const struct word word_warnings[] = {
	{ "red", "红", NULL },
	{ "yellow", "黄", NULL },
	{ "none", "", NULL },
	{ NULL, NULL, NULL },
};

/* The protocol name of s (English, either case, or Chinese), or NULL. */
static const char *
word_parse(const struct word *w, const char *s)
{
	for (; w->name != NULL; w++)
		if (strcasecmp(s, w->name) == 0 || strcmp(s, w->label) == 0 ||
		    (w->alias != NULL && strcmp(s, w->alias) == 0))
			return w->name;
	return NULL;
}

/* The Chinese label of a protocol name, or the name itself. */
static const char *
word_label(const struct word *w, const char *name)
{
	if (name == NULL)
		return "";
	for (; w->name != NULL; w++)
		if (strcmp(name, w->name) == 0)
			return w->label;
	return name;
}

/* ----------------------------------------------------------------------- */

/* Checks that a required option was given; returns 0 or 2. */
static int
option_required(const struct cli *cli, const char *cmd, enum opt_id id)
{
	const char	*name = opt_names[id].name;

	if (cli->opt[id] == NULL)
		return usage_error(cmd, "缺少 --%s (missing --%s)", name, name);
	if (cli->opt[id][0] == '\0')
		return usage_error(cmd, "--%s 不能为空 (--%s is empty)", name,
		    name);
	return 0;
}

/* Adds a required free text (notes, reasons); returns 0 or 2. */
static int
record_text_req(const struct cli *cli, const char *cmd, enum opt_id id,
    const char *key, size_t max, struct record *r)
{
	int	 rv;

	if ((rv = option_required(cli, cmd, id)) != 0)
		return rv;
	return record_text(cli, cmd, id, key, max, r);
}

/*
 * Adds a one-line value (a category, a name) that the server judges: text
 * without control characters, at most 200 bytes.  Returns 0 or 2.
 */
static int
record_word(const struct cli *cli, const char *cmd, enum opt_id id,
    const char *key, bool required, struct record *r)
{
	const char	*v = cli->opt[id], *name = opt_names[id].name;
	int		 rv;

	if (v == NULL && !required)
		return 0;
	if ((rv = option_required(cli, cmd, id)) != 0)
		return rv;
	if (!text_valid(v, false) || strlen(v) > 200)
		return usage_error(cmd, "--%s 须为一行文本, 至多 200 字节 (--%s "
		    "must be one line of text, at most 200 bytes)", name, name);
	record_field(r, key, v);
	return 0;
}

/*
 * Adds the protocol name of a word option (English or Chinese); an unknown
 * word is a usage error that lists the known ones.  Returns 0 or 2.
 */
static int
record_choice(const struct cli *cli, const char *cmd, enum opt_id id,
    const char *key, const struct word *words, bool required,
    struct record *r, const char **ret_name)
{
	const char		*v = cli->opt[id], *name = opt_names[id].name;
	const char		*pick;
	const struct word	*w;
	struct strbuf		 known = { NULL, 0, 0 };
	char			 sbuf[64];
	int			 rv;

	if (v == NULL && !required)
		return 0;
	if ((rv = option_required(cli, cmd, id)) != 0)
		return rv;
	if ((pick = word_parse(words, v)) == NULL) {
		for (w = words; w->name != NULL; w++) {
			if (w != words)
				sb_adds(&known, ", ");
			sb_adds(&known, w->name);
			sb_adds(&known, " ");
			sb_adds(&known, w->label);
		}
		rv = usage_error(cmd, "未知的 --%s '%s' (unknown --%s: %s)",
		    name, sanitize(v, sbuf, sizeof(sbuf)), name, known.buf);
		sb_free(&known);
		return rv;
	}
	record_field(r, key, pick);
	if (ret_name != NULL)
		*ret_name = pick;
	return 0;
}

/* Adds a UUID option (a dispute, a screening item), normalized; 0 or 2. */
static int
record_uuid(const struct cli *cli, const char *cmd, enum opt_id id,
    const char *key, bool required, struct record *r)
{
	const char	*name = opt_names[id].name;
	uint8_t		 uuid[16];
	char		*text;
	int		 rv;

	if (cli->opt[id] == NULL && !required)
		return 0;
	if ((rv = option_required(cli, cmd, id)) != 0)
		return rv;
	if (proto_uuid_parse(cli->opt[id], uuid) != 0)
		return usage_error(cmd, "--%s 须为 UUID, 即上报时输出的编号 "
		    "(--%s must be a UUID, as printed when it was recorded)",
		    name, name);
	text = xmalloc(PINGAN_UUID_STRLEN + 1);
	proto_uuid_format(uuid, text);
	record_field_owned(r, key, text);
	return 0;
}

/* Adds a day option (YYYY-MM-DD); returns 0 or 2. */
static int
record_date(const struct cli *cli, const char *cmd, enum opt_id id,
    const char *key, bool required, struct record *r)
{
	const char	*name = opt_names[id].name;
	int		 rv;

	if (cli->opt[id] == NULL && !required)
		return 0;
	if ((rv = option_required(cli, cmd, id)) != 0)
		return rv;
	if (!date_valid(cli->opt[id]))
		return usage_error(cmd, "--%s 须为日期 YYYY-MM-DD (--%s must be "
		    "a date, YYYY-MM-DD)", name, name);
	record_field(r, key, cli->opt[id]);
	return 0;
}

/* DISPUTE-REPORT: village, category, source, account, parties, flags. */
static int
case_build_report(const struct cli *cli, const char *cmd, struct record *r)
{
	const char	*people = cli->opt[OPT_PEOPLE], *p;
	int		 rv;

	if ((rv = record_code(cli, cmd, OPT_VILLAGE, "village", true,
	    r)) != 0 ||
	    (rv = record_word(cli, cmd, OPT_CATEGORY, "category", true,
	    r)) != 0 ||
	    (rv = record_choice(cli, cmd, OPT_SOURCE, "source",
	    word_sources, true, r, NULL)) != 0 ||
	    (rv = record_text_req(cli, cmd, OPT_SUMMARY, "summary",
	    CLIENT_TEXT_MAX, r)) != 0 ||
	    (rv = record_text(cli, cmd, OPT_PARTIES, "parties",
	    CLIENT_TEXT_MAX, r)) != 0 ||
	    (rv = record_text(cli, cmd, OPT_CONTACTS, "contacts",
	    CLIENT_TEXT_MAX, r)) != 0)
		return rv;
	if (cli->opt[OPT_BAND] != NULL && people != NULL)
		return usage_error(cmd, "--band 和 --people 只能给一个 (give "
		    "--band or --people, not both)");
	if ((rv = record_choice(cli, cmd, OPT_BAND, "band", word_bands,
	    false, r, NULL)) != 0)
		return rv;
	if (people != NULL) {
		for (p = people; *p >= '0' && *p <= '9'; p++)
			;
		if (people[0] == '\0' || *p != '\0' || p - people > 7 ||
		    atoi(people) < 1)
			return usage_error(cmd, "--people 须为正整数 (--people "
			    "must be a positive number)");
		record_field(r, "people", people);
	}
	if (cli->opt[OPT_GROUP_PETITION] != NULL)
		record_field(r, "group_petition", "yes");
	if (cli->opt[OPT_CROSS_AREA] != NULL)
		record_field(r, "cross_area", "yes");
	return record_uuid(cli, cmd, OPT_SCREENING, "screening", false, r);
}

/* DISPUTE-TRIAGE: level, handlers, leader, deadline (and a reason). */
static int
case_build_triage(const struct cli *cli, const char *cmd, struct record *r)
{
	const char	*level = NULL;
	int		 rv;

	if ((rv = record_uuid(cli, cmd, OPT_DISPUTE, "dispute", true,
	    r)) != 0 ||
	    (rv = record_choice(cli, cmd, OPT_LEVEL, "level", word_levels,
	    true, r, &level)) != 0 ||
	    (rv = option_required(cli, cmd, OPT_HANDLERS)) != 0 ||
	    (rv = record_codes(cli, cmd, OPT_HANDLERS, "handlers", r)) != 0 ||
	    (rv = record_code(cli, cmd, OPT_LEADER, "leader", false,
	    r)) != 0 ||
	    (rv = record_date(cli, cmd, OPT_DEADLINE, "deadline", false,
	    r)) != 0 ||
	    (rv = record_text(cli, cmd, OPT_REASON, "reason",
	    CLIENT_TEXT_MAX, r)) != 0)
		return rv;
	if (strcmp(level, "town") == 0 && cli->opt[OPT_LEADER] == NULL)
		return usage_error(cmd, "镇级办理须有包案领导 --leader (a "
		    "town-level dispute needs its responsible leader, "
		    "--leader)");
	return 0;
}

/* DISPUTE-LOG: what a handler did. */
static int
case_build_log(const struct cli *cli, const char *cmd, struct record *r)
{
	int	 rv;

	if ((rv = record_uuid(cli, cmd, OPT_DISPUTE, "dispute", true,
	    r)) != 0 ||
	    (rv = record_choice(cli, cmd, OPT_ACTION, "action",
	    word_actions, true, r, NULL)) != 0)
		return rv;
	return record_text_req(cli, cmd, OPT_NOTE, "note", CLIENT_NOTE_MAX, r);
}

/* DISPUTE-STATUS: mediated with its outcome, or escalated/closed and why. */
static int
case_build_status(const struct cli *cli, const char *cmd, struct record *r)
{
	const char	*status = NULL;
	int		 rv;

	if ((rv = record_uuid(cli, cmd, OPT_DISPUTE, "dispute", true,
	    r)) != 0 ||
	    (rv = record_choice(cli, cmd, OPT_STATUS, "status", word_ends,
	    true, r, &status)) != 0)
		return rv;
	if (strcmp(status, "mediated") == 0) {
		if (cli->opt[OPT_REASON] != NULL)
			return usage_error(cmd, "调处成功用 --outcome 写结果, 不用 "
			    "--reason (mediated takes --outcome, not "
			    "--reason)");
		return record_text_req(cli, cmd, OPT_OUTCOME, "outcome",
		    CLIENT_TEXT_MAX, r);
	}
	if (cli->opt[OPT_OUTCOME] != NULL)
		return usage_error(cmd, "上交或办结用 --reason 说明理由, 不用 "
		    "--outcome (escalated and closed take --reason)");
	return record_text_req(cli, cmd, OPT_REASON, "reason", CLIENT_TEXT_MAX,
	    r);
}

/* DISPUTE-EXTEND: a later deadline and why. */
static int
case_build_extend(const struct cli *cli, const char *cmd, struct record *r)
{
	int	 rv;

	if ((rv = record_uuid(cli, cmd, OPT_DISPUTE, "dispute", true,
	    r)) != 0 ||
	    (rv = record_date(cli, cmd, OPT_DEADLINE, "deadline", true,
	    r)) != 0)
		return rv;
	return record_text_req(cli, cmd, OPT_REASON, "reason", CLIENT_TEXT_MAX,
	    r);
}

/* DISPUTE-REOPEN: why an ended dispute is open again. */
static int
case_build_reopen(const struct cli *cli, const char *cmd, struct record *r)
{
	int	 rv;

	if ((rv = record_uuid(cli, cmd, OPT_DISPUTE, "dispute", true,
	    r)) != 0 ||
	    (rv = record_text_req(cli, cmd, OPT_REASON, "reason",
	    CLIENT_TEXT_MAX, r)) != 0)
		return rv;
	return record_date(cli, cmd, OPT_DEADLINE, "deadline", false, r);
}

/* RISK-ADD: a person of the petition-risk register. */
static int
case_build_risk_add(const struct cli *cli, const char *cmd, struct record *r)
{
	int	 rv;

	if ((rv = record_word(cli, cmd, OPT_PERSON, "person", true, r)) != 0 ||
	    (rv = record_text_req(cli, cmd, OPT_REASON, "reason",
	    CLIENT_TEXT_MAX, r)) != 0 ||
	    (rv = record_code(cli, cmd, OPT_CADRE, "cadre", true, r)) != 0 ||
	    (rv = record_code(cli, cmd, OPT_VILLAGE, "village", false,
	    r)) != 0 ||
	    (rv = record_choice(cli, cmd, OPT_STATUS, "status", word_risks,
	    false, r, NULL)) != 0)
		return rv;
	return record_uuid(cli, cmd, OPT_DISPUTE, "dispute", false, r);
}

/* RISK-UPDATE: a new status, cadre or reason of an entry, and why. */
static int
case_build_risk_update(const struct cli *cli, const char *cmd,
    struct record *r)
{
	int	 rv;

	if (cli->opt[OPT_STATUS] == NULL && cli->opt[OPT_CADRE] == NULL &&
	    cli->opt[OPT_REASON] == NULL)
		return usage_error(cmd, "须给出 --status, --cadre 或 --reason "
		    "(give --status, --cadre or --reason)");
	if ((rv = record_uuid(cli, cmd, OPT_RISK, "risk", true, r)) != 0 ||
	    (rv = record_choice(cli, cmd, OPT_STATUS, "status", word_risks,
	    false, r, NULL)) != 0 ||
	    (rv = record_code(cli, cmd, OPT_CADRE, "cadre", false, r)) != 0 ||
	    (rv = record_text(cli, cmd, OPT_REASON, "reason",
	    CLIENT_TEXT_MAX, r)) != 0)
		return rv;
	return record_text(cli, cmd, OPT_NOTE, "note", CLIENT_NOTE_MAX, r);
}

/* The writes of `pingan dispute` and `pingan risk`, by subcommand. */
static const struct {
	const char	*cmd;		/* "dispute report", ... */
	const char	*verb;
	int		(*build)(const struct cli *, const char *,
			    struct record *);
} case_writes[] = {
	{ "dispute report", "DISPUTE-REPORT", case_build_report },
	{ "dispute triage", "DISPUTE-TRIAGE", case_build_triage },
	{ "dispute log", "DISPUTE-LOG", case_build_log },
	{ "dispute status", "DISPUTE-STATUS", case_build_status },
	{ "dispute extend", "DISPUTE-EXTEND", case_build_extend },
	{ "dispute reopen", "DISPUTE-REOPEN", case_build_reopen },
	{ "risk add", "RISK-ADD", case_build_risk_add },
	{ "risk update", "RISK-UPDATE", case_build_risk_update },
};

/*
 * Builds, sends (after what waits in the spool) or spools one write of the
 * ledger, and prints its id; cmd names it ("dispute triage").  Returns the
 * exit status, as for a check-in.
 */
static int
case_write(const struct cli *cli, const char *cmd)
{
	struct settings		 s;
	struct record		 rec;
	enum write_outcome	 outcome;
	size_t			 i;
	int			 rv;

	for (i = 0; i < nitems(case_writes); i++)
		if (strcmp(case_writes[i].cmd, cmd) == 0)
			break;
	if (i == nitems(case_writes))
		return usage_error(cmd, "未知子命令 (unknown subcommand)");
	if ((rv = record_init(cli, cmd, case_writes[i].verb, &rec)) != 0)
		return rv;
	if ((rv = case_writes[i].build(cli, cmd, &rec)) != 0) {
		record_free(&rec);
		return rv;
	}
	if ((rv = settings_terminal(cli, &s, cmd)) != 0) {
		record_free(&rec);
		return rv;
	}
	rv = write_run(&s, cmd, &rec, &outcome, NULL, 0);
	record_free(&rec);
	settings_free(&s);
	return rv;
}

/* ----------------------------------------------------------------------- */

/* Chinese headings of the keys in the ledger's JSON. */
static const struct {
	const char	*key;
	const char	*label;
} view_labels[] = {
	{ "id", "编号" },
	{ "village", "村(居)" },
	{ "village_name", "村(居)名称" },
	{ "category", "类别" },
	{ "source", "来源" },
	{ "screening", "排查记录" },
	{ "summary", "简要情况" },
	{ "parties", "当事人" },
	{ "contacts", "联系方式" },
	{ "band", "涉及人数" },
	{ "people", "人数" },
	{ "group_petition", "群体性上访苗头" },
	{ "cross_area", "跨区域" },
	{ "major", "重大" },
	{ "level", "级别" },
	{ "leader", "包案领导" },
	{ "handlers", "办案人员" },
	{ "deadline", "办结时限" },
	{ "status", "状态" },
	{ "result", "结果/理由" },
	{ "warning", "预警" },
	{ "days_left", "剩余天数" },
	{ "reported_at", "上报时间" },
	{ "reported_by", "上报人" },
	{ "triaged_at", "分流时间" },
	{ "updated_at", "更新时间" },
	{ "action", "方式" },
	{ "outcome", "调处结果" },
	{ "reason", "理由" },
	{ "note", "说明" },
	{ "was", "原" },
	{ "person", "重点人员" },
	{ "cadre", "责任人" },
	{ "dispute", "相关纠纷" },
	{ "added_at", "登记时间" },
	{ "added_by", "登记人" },
	{ "at", "时间" },
	{ "worker", "人员" },
	{ "request", "请求" },
	{ "record", "记录" },
	{ "peer", "来源地址" },
};

/* The heading of a key, or the key itself. */
static const char *
view_label(const char *key)
{
	size_t	 i;

	if (key == NULL)
		return "";
	for (i = 0; i < nitems(view_labels); i++)
		if (strcmp(view_labels[i].key, key) == 0)
			return view_labels[i].label;
	return key;
}

/* The Chinese name of a history entry's verb. */
static const char *
view_verb(const char *verb)
{
	static const struct word verbs[] = {
		{ "report", "上报", NULL },
		{ "triage", "分流", NULL },
		{ "reassign", "改派", NULL },
		{ "log", "办理", NULL },
		{ "status", "办结", NULL },
		{ "extend", "延期", NULL },
		{ "reopen", "重新办理", NULL },
		{ NULL, NULL, NULL },
	};

	return word_label(verbs, verb);
}

/* Tells whether a node is a person: an object with a "code". */
static bool
view_person(const struct json_doc *d, const struct json_node *n)
{
	return n != NULL && n->type == JSON_OBJECT &&
	    json_get(d, n, "code") != NULL;
}

/* "2025-03-04T10:00:00+08:00" as "2025-03-04 10:00"; other text as is. */
static void
view_time(const char *s, char *buf, size_t size)
{
	if (s != NULL && strlen(s) >= 16 && s[4] == '-' && s[7] == '-' &&
	    s[10] == 'T' && s[13] == ':')
		snprintf(buf, size, "%.10s %.5s", s, s + 11);
	else
		snprintf(buf, size, "%s", s != NULL ? s : "");
}

/* How a value is shown in a table. */
enum view_mode {
	VIEW_FULL = 0,		/* people as "M001 陈玉兰" */
	VIEW_NAMES,		/* people by name only */
	VIEW_DAY,		/* times as their day */
};

/*
 * Appends a value to sb as it is shown: the ledger's words in Chinese,
 * times shortened, people by code and name, true/false as 是/否, null as
 * nothing, arrays joined with ','.  The key says which words a string is.
 */
static void
view_value(const struct json_doc *d, const char *key,
    const struct json_node *n, enum view_mode mode, struct strbuf *sb)
{
	const struct json_node	*e, *m;
	const char		*s;
	char			 buf[64];
	size_t			 start;
	double			 v;

	if (n == NULL)
		return;
	if (key == NULL)
		key = "";
	switch (n->type) {
	case JSON_NULL:
		return;
	case JSON_TRUE:
		sb_adds(sb, "是");
		return;
	case JSON_FALSE:
		sb_adds(sb, "否");
		return;
	case JSON_NUMBER:
		v = n->num;
		if (v == floor(v) && fabs(v) < 1e15)
			snprintf(buf, sizeof(buf), "%.0f", v);
		else
			snprintf(buf, sizeof(buf), "%.1f", v);
		sb_adds(sb, buf);
		return;
	case JSON_ARRAY:
		for (e = json_first(d, n); e != NULL; e = json_next(d, e)) {
			if (e != json_first(d, n))
				sb_adds(sb, ",");
			view_value(d, key, e, mode, sb);
		}
		return;
	case JSON_OBJECT:
		if (view_person(d, n)) {
			s = json_str(json_get(d, n, "name"));
			if (mode != VIEW_NAMES || s == NULL || s[0] == '\0')
				sb_adds(sb, json_str(json_get(d, n, "code")) !=
				    NULL ? json_str(json_get(d, n, "code")) :
				    "?");
			if (s != NULL && s[0] != '\0') {
				if (mode != VIEW_NAMES)
					sb_adds(sb, " ");
				sb_adds(sb, s);
			}
			return;
		}
		/*
		 * An object of changes: "label: value; ..." (nulls left
		 * out), then what they were: "(原 label: value; ...)".
		 */
		start = sb->len;
		for (m = json_first(d, n); m != NULL; m = json_next(d, m)) {
			if (strcmp(m->key, "was") == 0 || m->type == JSON_NULL)
				continue;
			if (sb->len > start)
				sb_adds(sb, "; ");
			sb_adds(sb, view_label(m->key));
			sb_adds(sb, ": ");
			view_value(d, m->key, m, mode, sb);
		}
		if ((m = json_get(d, n, "was")) != NULL &&
		    m->type == JSON_OBJECT && json_first(d, m) != NULL) {
			sb_adds(sb, sb->len > start ? " (原 " : "(原 ");
			view_value(d, "was", m, mode, sb);
			sb_adds(sb, ")");
		}
		return;
	case JSON_STRING:
		break;
	}
	s = n->str;
	if (strcmp(key, "status") == 0)
		s = word_label(word_states, s);
	else if (strcmp(key, "level") == 0)
		s = word_label(word_levels, s);
	else if (strcmp(key, "source") == 0)
		s = word_label(word_sources, s);
	else if (strcmp(key, "band") == 0)
		s = word_label(word_bands, s);
	else if (strcmp(key, "warning") == 0)
		s = word_label(word_warnings, s);
	else if (strcmp(key, "action") == 0)
		s = word_label(word_actions, s);
	else if (strcmp(key, "verb") == 0)
		s = view_verb(s);
	else if (strcmp(key, "record") == 0)
		s = strcmp(s, "risk") == 0 ? "上访重点人员" :
		    strcmp(s, "dispute") == 0 ? "矛盾纠纷" : s;
	else if (strlen(s) >= 16 && s[10] == 'T') {
		if (mode == VIEW_DAY)
			snprintf(buf, sizeof(buf), "%.10s", s);
		else
			view_time(s, buf, sizeof(buf));
		s = buf;
	}
	sb_adds(sb, s);
}

/* The value of obj.key as shown ("-" for nothing), in sb. */
static const char *
view_cell(const struct json_doc *d, const struct json_node *obj,
    const char *key, enum view_mode mode, struct strbuf *sb)
{
	sb->len = 0;
	sb_adds(sb, "");
	view_value(d, key, json_get(d, obj, key), mode, sb);
	if (sb->len == 0)
		sb_adds(sb, "-");
	return sb->buf;
}

/* A number member, or -1 when absent. */
static double
view_num(const struct json_doc *d, const struct json_node *obj,
    const char *key)
{
	const struct json_node	*n = json_get(d, obj, key);

	return n != NULL && n->type == JSON_NUMBER ? n->num : -1;
}

/* Parses a reply's JSON object; reports a bad one (exit 3). */
static int
view_parse(const char *json, struct json_doc *doc)
{
	memset(doc, 0, sizeof(*doc));
	if (json_parse(json, strlen(json), doc) != 0 ||
	    json_root(doc)->type != JSON_OBJECT) {
		json_free(doc);
		return errorx(EXIT_NETWORK, "服务器的回复不是有效的 JSON 对象 (the "
		    "reply from the server is not a valid JSON object)");
	}
	return 0;
}

/* An array member of obj, or NULL. */
static const struct json_node *
view_array(const struct json_doc *d, const struct json_node *obj,
    const char *key)
{
	const struct json_node	*n = json_get(d, obj, key);

	return n != NULL && n->type == JSON_ARRAY ? n : NULL;
}

/* Tells whether every cell of column j (below the heading) is a number. */
static bool
view_numeric_column(const struct text_table *t, size_t j)
{
	const char	*p;
	size_t		 i;

	for (i = 1; i < t->nrows; i++) {
		p = t->cells[i * t->ncols + j];
		if (*p == '-')
			p++;
		if (*p < '0' || *p > '9')
			return false;
		while ((*p >= '0' && *p <= '9') || *p == '.')
			p++;
		if (*p != '\0')
			return false;
	}
	return t->nrows > 1;
}

/*
 * Prints an array of objects as an aligned table of the given columns
 * (keys and headings); "无 (none)" for an empty one.  Returns the rows.
 */
static size_t
view_table(const struct json_doc *d, const struct json_node *arr,
    const char *const *keys, const char *const *hdrs, size_t ncols,
    enum view_mode mode, const char *indent)
{
	const struct json_node	*e;
	struct text_table	 t;
	struct strbuf		 cell[16];
	const char		*row[16];
	size_t			 j, n = 0;

	if (ncols > nitems(row))
		ncols = nitems(row);
	memset(cell, 0, sizeof(cell));
	ttab_init(&t, ncols, 0);
	ttab_add(&t, hdrs);
	for (e = json_first(d, arr); e != NULL; e = json_next(d, e)) {
		if (e->type != JSON_OBJECT)
			continue;
		for (j = 0; j < ncols; j++)
			row[j] = view_cell(d, e, keys[j], mode, &cell[j]);
		ttab_add(&t, row);
		n++;
	}
	for (j = 0; j < ncols; j++)
		if (view_numeric_column(&t, j))
			t.right |= 1u << j;
	if (n == 0)
		printf("%s无 (none)\n", indent);
	else
		ttab_print(&t, indent);
	ttab_free(&t);
	for (j = 0; j < ncols; j++)
		sb_free(&cell[j]);
	return n;
}

/* ----------------------------------------------------------------------- */

/* How soon a warning lists: red, yellow, then the rest. */
static int
view_warning_rank(const struct json_doc *d, const struct json_node *dispute)
{
	const char	*w = json_str(json_get(d, dispute, "warning"));

	if (w != NULL && strcmp(w, "red") == 0)
		return 0;
	if (w != NULL && strcmp(w, "yellow") == 0)
		return 1;
	return 2;
}

/* A dispute of a list and its place, for a stable sort by warning. */
struct view_row {
	const struct json_node	*node;
	int			 rank;
	size_t			 pos;
};

static int
view_row_cmp(const void *a, const void *b)
{
	const struct view_row	*x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* "逾期3天", "今天到期", "剩2天", or "" for a dispute without a deadline. */
static void
view_days_left(const struct json_doc *d, const struct json_node *dispute,
    char *buf, size_t size)
{
	const struct json_node	*n = json_get(d, dispute, "days_left");

	if (n == NULL || n->type != JSON_NUMBER)
		snprintf(buf, size, "%s", "");
	else if (n->num < 0)
		snprintf(buf, size, "逾期%.0f天", -n->num);
	else if (n->num == 0)
		snprintf(buf, size, "今天到期");
	else
		snprintf(buf, size, "剩%.0f天", n->num);
}

/*
 * Prints disputes (of a list, or the cases of a report) as a table: the
 * warning mark and the days left first.  With sort, red ones go first,
 * then yellow ones, the server's order kept otherwise.  Returns the rows
 * and counts the red and yellow ones.
 */
static size_t
view_cases(const struct json_doc *d, const struct json_node *arr, bool sort,
    const char *indent, size_t *ret_red, size_t *ret_yellow)
{
	static const char *const keys[] = { "id", "village_name", "category",
	    "level", "status", "reported_at", "deadline", "leader",
	    "handlers" };
	const char		*hdr[13] = { "预警", "期限", "编号", "村(居)",
	    "类别", "级别", "状态", "上报", "办结时限", "包案领导", "办案人员",
	    "重大", "简要情况" };
	const char		*row[13];
	const struct json_node	*e, *m;
	struct view_row		*rows = NULL;
	struct text_table	 t;
	struct strbuf		 cell[nitems(keys)];
	char			 left[32], sum[200];
	size_t			 n = 0, i, j, red = 0, yellow = 0;

	for (e = json_first(d, arr); e != NULL; e = json_next(d, e)) {
		if (e->type != JSON_OBJECT)
			continue;
		rows = xreallocarray(rows, n + 1, sizeof(*rows));
		rows[n].node = e;
		rows[n].rank = sort ? view_warning_rank(d, e) : 0;
		rows[n].pos = n;
		red += view_warning_rank(d, e) == 0;
		yellow += view_warning_rank(d, e) == 1;
		n++;
	}
	if (ret_red != NULL)
		*ret_red = red;
	if (ret_yellow != NULL)
		*ret_yellow = yellow;
	if (n == 0) {
		printf("%s无 (none)\n", indent);
		return 0;
	}
	qsort(rows, n, sizeof(*rows), view_row_cmp);
	memset(cell, 0, sizeof(cell));
	ttab_init(&t, nitems(hdr), 0);
	ttab_add(&t, hdr);
	for (i = 0; i < n; i++) {
		e = rows[i].node;
		row[0] = word_label(word_warnings,
		    json_str(json_get(d, e, "warning")));
		view_days_left(d, e, left, sizeof(left));
		row[1] = left;
		for (j = 0; j < nitems(keys); j++)
			row[j + 2] = view_cell(d, e, keys[j],
			    strcmp(keys[j], "reported_at") == 0 ? VIEW_DAY :
			    VIEW_NAMES, &cell[j]);
		if (strcmp(row[3], "-") == 0)
			row[3] = view_cell(d, e, "village", VIEW_NAMES,
			    &cell[1]);
		m = json_get(d, e, "major");
		row[11] = m != NULL && m->type == JSON_TRUE ? "重大" : "";
		snprintf(sum, sizeof(sum), "%s", sum_str(d, e, "summary"));
		cut_width(sum, 30);
		row[12] = sum;
		ttab_add(&t, row);
	}
	ttab_print(&t, indent);
	ttab_free(&t);
	for (j = 0; j < nitems(keys); j++)
		sb_free(&cell[j]);
	free(rows);
	return n;
}

/* Prints a DISPUTE-LIST reply as a table, overdue ones first. */
static int
view_case_list(const char *json)
{
	struct json_doc		 doc;
	const struct json_node	*root, *list;
	const char		*st, *v;
	size_t			 n, red, yellow;
	int			 rv;

	if ((rv = view_parse(json, &doc)) != 0)
		return rv;
	root = json_root(&doc);
	if ((list = view_array(&doc, root, "disputes")) == NULL) {
		json_free(&doc);
		return errorx(EXIT_NETWORK, "服务器的回复中没有纠纷列表 (no list "
		    "of disputes in the reply)");
	}
	st = sum_str(&doc, root, "status");
	printf("矛盾纠纷台账 (disputes): %s", word_label(word_lists, st));
	if ((v = json_str(json_get(&doc, root, "village"))) != NULL)
		printf(", 村(居) %s", v);
	if (json_str(json_get(&doc, root, "from")) != NULL ||
	    json_str(json_get(&doc, root, "to")) != NULL)
		printf(", 上报于 %s 至 %s", sum_str(&doc, root, "from"),
		    sum_str(&doc, root, "to"));
	putchar('\n');
	n = view_cases(&doc, list, true, "", &red, &yellow);
	if (n > 0)
		printf("共 %zu 件, 逾期 (红) %zu 件, 临近时限 (黄) %zu 件 (%zu "
		    "disputes, %zu overdue, %zu near the deadline)\n", n, red,
		    yellow, n, red, yellow);
	json_free(&doc);
	return 0;
}

/* Prints a DISPUTE-SHOW reply: the dispute, then its history. */
static int
view_case_show(const char *json)
{
	static const char *const order[] = { "village", "category", "source",
	    "status", "result", "level", "leader", "handlers", "deadline",
	    "reported_at", "reported_by", "triaged_at", "band", "people",
	    "major", "group_petition", "cross_area", "screening", "parties",
	    "contacts", "summary", "updated_at" };
	static const char *const hkeys[] = { "at", "worker", "verb",
	    "changes", "note" };
	static const char *const hhdr[] = { "时间", "人员", "事项", "变更",
	    "说明" };
	struct json_doc		 doc;
	const struct json_node	*dsp, *m, *hist;
	const char		*row[2], *mark;
	struct text_table	 t;
	struct strbuf		 cell = { NULL, 0, 0 };
	char			 warn[64], left[32];
	bool			 redacted;
	size_t			 k;
	int			 rv;

	if ((rv = view_parse(json, &doc)) != 0)
		return rv;
	dsp = json_root(&doc);
	m = json_get(&doc, dsp, "redacted");
	redacted = m != NULL && m->type == JSON_TRUE;

	printf("矛盾纠纷 (dispute) %s\n", sum_str(&doc, dsp, "id"));
	ttab_init(&t, 2, 0);
	for (k = 0; k < nitems(order); k++) {
		if (strcmp(order[k], "contacts") == 0 && redacted)
			continue;
		if (strcmp(order[k], "parties") == 0 && redacted) {
			row[0] = "当事人, 联系方式";
			row[1] = "(无权查看, 已隐去) (redacted)";
			ttab_add(&t, row);
			continue;
		}
		if (strcmp(order[k], "village") == 0) {
			snprintf(warn, sizeof(warn), "%s %s",
			    sum_str(&doc, dsp, "village"),
			    sum_str(&doc, dsp, "village_name"));
			row[0] = view_label("village");
			row[1] = warn;
			ttab_add(&t, row);
			continue;
		}
		if (strcmp(order[k], "deadline") == 0 &&
		    (m = json_get(&doc, dsp, "deadline")) != NULL &&
		    m->type == JSON_STRING) {
			view_days_left(&doc, dsp, left, sizeof(left));
			mark = word_label(word_warnings, json_str(json_get(&doc,
			    dsp, "warning")));
			snprintf(warn, sizeof(warn), "%s%s%s%s%s", m->str,
			    mark[0] != '\0' ? " " : "", mark,
			    left[0] != '\0' ? " " : "", left);
			row[0] = view_label("deadline");
			row[1] = warn;
			ttab_add(&t, row);
			continue;
		}
		if ((m = json_get(&doc, dsp, order[k])) == NULL ||
		    m->type == JSON_NULL)
			continue;
		row[0] = view_label(order[k]);
		row[1] = view_cell(&doc, dsp, order[k], VIEW_FULL, &cell);
		ttab_add(&t, row);
	}
	ttab_print(&t, "  ");
	ttab_free(&t);
	sb_free(&cell);

	printf("\n办理经过 (history)\n");
	if ((hist = view_array(&doc, dsp, "history")) != NULL)
		view_table(&doc, hist, hkeys, hhdr, nitems(hkeys), VIEW_FULL,
		    "  ");
	else
		printf("  无 (none)\n");
	json_free(&doc);
	return 0;
}

/* Runs one read of the ledger and prints the reply, or its JSON. */
static int
case_read(const struct cli *cli, const char *cmd, const char *request,
    int (*print)(const char *))
{
	struct settings	 s;
	char		*json = NULL;
	int		 rv;

	if ((rv = settings_terminal(cli, &s, cmd)) != 0)
		return rv;
	if ((rv = query_run(&s, cmd, request, &json)) == 0) {
		if (json[0] != '{')
			rv = reply_unexpected(json);
		else if (cli->opt[OPT_JSON] != NULL)
			printf("%s\n", json);
		else
			rv = print(json);
	}
	free(json);
	settings_free(&s);
	return rv;
}

/* Checks --from and --to (days, in order); returns 0 or 2. */
static int
option_days(const struct cli *cli, const char *cmd)
{
	const char	*from = cli->opt[OPT_FROM], *to = cli->opt[OPT_TO];

	if ((from != NULL && !date_valid(from)) ||
	    (to != NULL && !date_valid(to)))
		return usage_error(cmd, "日期须为 YYYY-MM-DD (dates must be "
		    "YYYY-MM-DD)");
	if (from != NULL && to != NULL && strcmp(from, to) > 0)
		return usage_error(cmd, "--from 晚于 --to (--from is after "
		    "--to)");
	return 0;
}

/*
 * Builds a read request from the options of a list: the verb, then each
 * option given (the word ones checked against their words).  Returns 0 or
 * 2.
 */
static int
case_read_request(const struct cli *cli, const char *cmd, const char *verb,
    const struct word *statuses, struct strbuf *req)
{
	struct record	 r;		/* only to check the options */
	const char	*which = NULL;
	int		 rv;

	memset(&r, 0, sizeof(r));
	if ((rv = record_choice(cli, cmd, OPT_STATUS, "status", statuses,
	    false, &r, &which)) != 0 ||
	    (rv = record_code(cli, cmd, OPT_VILLAGE, "village", false,
	    &r)) != 0 ||
	    (rv = record_code(cli, cmd, OPT_BY, "worker", false, &r)) != 0 ||
	    (rv = option_days(cli, cmd)) != 0)
		return rv;
	sb_adds(req, verb);
	if (which != NULL)
		sb_field(req, "status", which);
	if (cli->opt[OPT_VILLAGE] != NULL)
		sb_field(req, "village", cli->opt[OPT_VILLAGE]);
	if (cli->opt[OPT_FROM] != NULL)
		sb_field(req, "from", cli->opt[OPT_FROM]);
	if (cli->opt[OPT_TO] != NULL)
		sb_field(req, "to", cli->opt[OPT_TO]);
	if (cli->opt[OPT_BY] != NULL)
		sb_field(req, "worker", cli->opt[OPT_BY]);
	if (cli->opt[OPT_SENSITIVE] != NULL)
		sb_field(req, "sensitive", "yes");
	return 0;
}

/* pingan dispute list. */
static int
case_list(const struct cli *cli, const char *cmd)
{
	struct strbuf	 req = { NULL, 0, 0 };
	int		 rv;

	if ((rv = case_read_request(cli, cmd, "DISPUTE-LIST", word_lists,
	    &req)) == 0)
		rv = case_read(cli, cmd, req.buf, view_case_list);
	sb_free(&req);
	return rv;
}

/* pingan dispute show. */
static int
case_show(const struct cli *cli, const char *cmd)
{
	struct strbuf	 req = { NULL, 0, 0 };
	struct record	 r;
	int		 rv;

	memset(&r, 0, sizeof(r));
	if ((rv = record_uuid(cli, cmd, OPT_DISPUTE, "dispute", true,
	    &r)) != 0)
		return rv;
	sb_adds(&req, "DISPUTE-SHOW");
	sb_field(&req, "dispute", r.vals[0]);
	record_free(&r);
	rv = case_read(cli, cmd, req.buf, view_case_show);
	sb_free(&req);
	return rv;
}

/* pingan dispute report|triage|log|status|extend|reopen|list|show. */
static int
cmd_dispute(struct cli *cli, int argc, char **argv)
{
	const struct subcommand	*sub;
	char			 cmd[64];
	int			 rv;

	if ((rv = sub_options(cli, argc, argv, "dispute", &sub, cmd,
	    sizeof(cmd))) != 0)
		return rv < 0 ? 0 : rv;
	if (strcmp(sub->name, "list") == 0)
		return case_list(cli, cmd);
	if (strcmp(sub->name, "show") == 0)
		return case_show(cli, cmd);
	return case_write(cli, cmd);
}

/* ----------------------------------------------------------------------- */

/* Prints a RISK-LIST reply. */
static int
view_risk_list(const char *json)
{
	static const char *const keys[] = { "id", "person", "village_name",
	    "reason", "cadre", "status", "dispute", "added_at" };
	static const char *const hdr[] = { "编号", "重点人员", "村(居)", "原因",
	    "责任人", "状态", "相关纠纷", "登记时间" };
	struct json_doc		 doc;
	const struct json_node	*list;
	size_t			 n;
	int			 rv;

	if ((rv = view_parse(json, &doc)) != 0)
		return rv;
	if ((list = view_array(&doc, json_root(&doc), "risks")) == NULL) {
		json_free(&doc);
		return errorx(EXIT_NETWORK, "服务器的回复中没有名单 (no register "
		    "in the reply)");
	}
	printf("上访重点人员 (petition-risk register)\n");
	n = view_table(&doc, list, keys, hdr, nitems(keys), VIEW_FULL, "  ");
	printf("共 %zu 人 (%zu entries)\n", n, n);
	json_free(&doc);
	return 0;
}

/* pingan risk add|update|list. */
static int
cmd_risk(struct cli *cli, int argc, char **argv)
{
	const struct subcommand	*sub;
	struct strbuf		 req = { NULL, 0, 0 };
	char			 cmd[64];
	int			 rv;

	if ((rv = sub_options(cli, argc, argv, "risk", &sub, cmd,
	    sizeof(cmd))) != 0)
		return rv < 0 ? 0 : rv;
	if (strcmp(sub->name, "list") != 0)
		return case_write(cli, cmd);
	if ((rv = case_read_request(cli, cmd, "RISK-LIST", word_risk_lists,
	    &req)) == 0)
		rv = case_read(cli, cmd, req.buf, view_risk_list);
	sb_free(&req);
	return rv;
}

/* Prints an AUDIT-LIST reply. */
static int
view_audit(const char *json)
{
	static const char *const keys[] = { "at", "worker", "request",
	    "record", "id", "peer", "detail" };
	static const char *const hdr[] = { "时间", "人员", "请求", "记录",
	    "编号", "来源地址", "内容" };
	struct json_doc		 doc;
	const struct json_node	*root, *list;
	size_t			 n;
	int			 rv;

	if ((rv = view_parse(json, &doc)) != 0)
		return rv;
	root = json_root(&doc);
	if ((list = view_array(&doc, root, "entries")) == NULL) {
		json_free(&doc);
		return errorx(EXIT_NETWORK, "服务器的回复中没有审计记录 (no audit "
		    "log in the reply)");
	}
	printf("敏感信息查阅记录 (audit log) %s 至 %s\n",
	    sum_str(&doc, root, "from"), sum_str(&doc, root, "to"));
	n = view_table(&doc, list, keys, hdr, nitems(keys), VIEW_FULL, "  ");
	printf("共 %zu 条 (%zu entries)\n", n, n);
	json_free(&doc);
	return 0;
}

/* pingan audit [--from --to --by]. */
static int
cmd_audit(struct cli *cli, int argc, char **argv)
{
	const char	*cmd = "audit";
	struct strbuf	 req = { NULL, 0, 0 };
	int		 rv;

	if ((rv = write_options(cli, argc, argv, audit_opts, cmd,
	    command_find(cmd), NULL)) != 0)
		return rv < 0 ? 0 : rv;
	if ((rv = case_read_request(cli, cmd, "AUDIT-LIST", word_lists,
	    &req)) == 0)
		rv = case_read(cli, cmd, req.buf, view_audit);
	sb_free(&req);
	return rv;
}

/* ----------------------------------------------------------------------- */

/* The reports of `pingan report`, their titles and period formats. */
static const struct {
	const char	*kind;
	const char	*title;
	const char	*format;	/* strftime of the current period */
	const char	*example;
} view_reports[] = {
	{ "week", "矛盾纠纷排查调处周报 (镇一周一上报, weekly report)",
	  "%G-W%V", "2026-W48 (YYYY-Www)" },
	{ "month", "矛盾纠纷月度研判 (一月一研判, monthly analysis)", "%Y-%m",
	  "2026-11 (YYYY-MM)" },
	{ "mediator", "专职调解员调处件数 (cases mediated per mediator)",
	  "%Y-%m", "2026-11 (YYYY-MM)" },
	{ "year", "矛盾纠纷排查调处年度统计 (annual figures)", "%Y",
	  "2026 (YYYY)" },
};

/* Tells whether a period is written the way its kind wants. */
static bool
view_period_valid(const char *kind, const char *p)
{
	const char	*s = p;
	int		 y, n;

	if (!digits(&s, 4, 4, &y) || y < 1970)
		return false;
	if (strcmp(kind, "year") == 0)
		return *s == '\0';
	if (*s++ != '-')
		return false;
	if (strcmp(kind, "week") == 0) {
		if (*s++ != 'W' || !digits(&s, 2, 2, &n) || *s != '\0')
			return false;
		return n >= 1 && n <= 53;
	}
	if (!digits(&s, 2, 2, &n) || *s != '\0')
		return false;
	return n >= 1 && n <= 12;
}

/* The counts columns of a report's tables, after their first ones. */
static const char *const view_count_keys[] = { "found", "mediated",
    "mediated_in_period", "open", "overdue" };
static const char *const view_count_hdrs[] = { "排查出", "已调处",
    "期内调处", "在办", "逾期" };

/* Prints a counts object as one line. */
static void
view_counts_line(const struct json_doc *d, const struct json_node *c,
    const char *what)
{
	printf("%s排查出 %.0f 件, 已调处 %.0f 件; 期内调处 %.0f 件; 期末在办 %.0f "
	    "件, 其中逾期 %.0f 件\n", what, view_num(d, c, "found"),
	    view_num(d, c, "mediated"), view_num(d, c, "mediated_in_period"),
	    view_num(d, c, "open"), view_num(d, c, "overdue"));
}

/*
 * Prints rows of counts (by village, category, level) under their first
 * columns; with skip_empty, rows with nothing to count are left out.
 */
static void
view_counts_table(const struct json_doc *d, const struct json_node *arr,
    const char *const *first, const char *const *fhdrs, size_t nfirst,
    bool skip_empty, const char *indent)
{
	const struct json_node	*e;
	const char		*keys[8], *hdrs[8];
	struct strbuf		 cell[8];
	const char		*row[8];
	struct text_table	 t;
	size_t			 ncols = 0, j, k, n = 0;
	bool			 any;

	for (j = 0; j < nfirst && ncols < nitems(keys); j++) {
		keys[ncols] = first[j];
		hdrs[ncols++] = fhdrs[j];
	}
	for (j = 0; j < nitems(view_count_keys) && ncols < nitems(keys); j++) {
		keys[ncols] = view_count_keys[j];
		hdrs[ncols++] = view_count_hdrs[j];
	}
	memset(cell, 0, sizeof(cell));
	ttab_init(&t, ncols, ((1u << ncols) - 1) & ~((1u << nfirst) - 1));
	ttab_add(&t, hdrs);
	for (e = json_first(d, arr); e != NULL; e = json_next(d, e)) {
		any = false;
		for (k = 0; k < nitems(view_count_keys); k++)
			if (view_num(d, e, view_count_keys[k]) > 0)
				any = true;
		if (!any && skip_empty)
			continue;
		for (j = 0; j < ncols; j++)
			row[j] = view_cell(d, e, keys[j], VIEW_NAMES, &cell[j]);
		if (nfirst > 0 && strcmp(keys[0], "level") == 0 &&
		    json_get(d, e, "level") != NULL &&
		    json_get(d, e, "level")->type == JSON_NULL)
			row[0] = "未分流";
		ttab_add(&t, row);
		n++;
	}
	if (n == 0)
		printf("%s无 (none)\n", indent);
	else
		ttab_print(&t, indent);
	ttab_free(&t);
	for (j = 0; j < ncols; j++)
		sb_free(&cell[j]);
}

/* The rows of a report by village and by category. */
static void
view_by_village_category(const struct json_doc *d,
    const struct json_node *root)
{
	static const char *const vk[] = { "code", "name" };
	static const char *const vh[] = { "编号", "村(居)" };
	static const char *const ck[] = { "category" };
	static const char *const ch[] = { "类别" };
	const struct json_node	*a;

	if ((a = view_array(d, root, "by_village")) != NULL) {
		printf("\n按村(居) (by village)\n");
		view_counts_table(d, a, vk, vh, 2, false, "  ");
	}
	if ((a = view_array(d, root, "by_category")) != NULL) {
		printf("\n按类别 (by category)\n");
		view_counts_table(d, a, ck, ch, 1, true, "  ");
	}
}

/* The week: its counts, by village and category, new and overdue cases. */
static void
view_report_week(const struct json_doc *d, const struct json_node *root)
{
	const struct json_node	*a;

	view_counts_line(d, json_get(d, root, "totals"), "本周");
	view_by_village_category(d, root);
	if ((a = view_array(d, root, "new")) != NULL) {
		printf("\n本周新增纠纷 (new)\n");
		view_cases(d, a, false, "  ", NULL, NULL);
	}
	if ((a = view_array(d, root, "overdue_cases")) != NULL) {
		printf("\n逾期未办结纠纷 (overdue)\n");
		view_cases(d, a, false, "  ", NULL, NULL);
	}
}

/*
 * The rows of the month's comparison (categories or villages): the three
 * months before, the month, and a mark where it rises.  Rows that are 0
 * throughout are left out.
 */
static void
view_rising(const struct json_doc *d, const struct json_node *arr,
    const struct json_node *previous, const char *key, const char *head,
    const char *indent)
{
	const struct json_node	*e, *p, *m;
	struct text_table	 t;
	struct strbuf		 rising = { NULL, 0, 0 };
	const char		*row[6];
	char			 b[4][32], name[96];
	size_t			 k, n = 0;
	bool			 any;

	ttab_init(&t, 6, 0x3e);
	row[0] = head;
	for (k = 0, p = json_first(d, previous); k < 3; k++) {
		snprintf(b[k], sizeof(b[k]), "%s",
		    p != NULL ? sum_str(d, p, "period") : "-");
		row[k + 1] = b[k];
		if (p != NULL)
			p = json_next(d, p);
	}
	row[4] = "本月";
	row[5] = "上升";
	ttab_add(&t, row);
	for (e = json_first(d, arr); e != NULL; e = json_next(d, e)) {
		any = view_num(d, e, "found") > 0;
		for (p = json_first(d, json_get(d, e, "previous")); p != NULL;
		    p = json_next(d, p))
			if (p->type == JSON_NUMBER && p->num > 0)
				any = true;
		if (!any)
			continue;
		if (strcmp(key, "code") == 0)
			snprintf(name, sizeof(name), "%s",
			    sum_str(d, e, "name"));
		else
			snprintf(name, sizeof(name), "%s", sum_str(d, e, key));
		row[0] = name;
		for (k = 0, p = json_first(d, json_get(d, e, "previous"));
		    k < 3; k++) {
			snprintf(b[k], sizeof(b[k]), "%.0f", p != NULL &&
			    p->type == JSON_NUMBER ? p->num : 0);
			row[k + 1] = b[k];
			if (p != NULL)
				p = json_next(d, p);
		}
		snprintf(b[3], sizeof(b[3]), "%.0f", view_num(d, e, "found"));
		row[4] = b[3];
		m = json_get(d, e, "rising");
		row[5] = m != NULL && m->type == JSON_TRUE ? "↑" : "";
		if (row[5][0] != '\0') {
			if (rising.len > 0)
				sb_adds(&rising, "、");
			sb_adds(&rising, name);
		}
		ttab_add(&t, row);
		n++;
	}
	if (n == 0)
		printf("%s无 (none)\n", indent);
	else
		ttab_print(&t, indent);
	printf("%s上升 (rising): %s\n", indent, rising.len > 0 ? rising.buf :
	    "无 (none)");
	ttab_free(&t);
	sb_free(&rising);
}

/* One row of counts: its name, then the counts of c. */
static void
view_counts_row(struct text_table *t, const struct json_doc *d,
    const char *name, const struct json_node *c)
{
	const char	*row[1 + nitems(view_count_keys)];
	char		 b[nitems(view_count_keys)][32];
	size_t		 k;

	row[0] = name;
	for (k = 0; k < nitems(view_count_keys); k++) {
		snprintf(b[k], sizeof(b[k]), "%.0f",
		    view_num(d, c, view_count_keys[k]));
		row[k + 1] = b[k];
	}
	ttab_add(t, row);
}

/* The counts of the three months before and of the month, a row each. */
static void
view_month_compare(const struct json_doc *d, const struct json_node *prev,
    const char *period, const struct json_node *totals, const char *indent)
{
	const struct json_node	*p;
	const char		*hdr[1 + nitems(view_count_keys)];
	struct text_table	 t;
	size_t			 k;

	hdr[0] = "月份";
	for (k = 0; k < nitems(view_count_keys); k++)
		hdr[k + 1] = view_count_hdrs[k];
	ttab_init(&t, nitems(hdr), 0x3e);
	ttab_add(&t, hdr);
	for (p = json_first(d, prev); p != NULL; p = json_next(d, p))
		view_counts_row(&t, d, sum_str(d, p, "period"), p);
	view_counts_row(&t, d, period, totals);
	ttab_print(&t, indent);
	ttab_free(&t);
}

/* The month against the three before, and what the meeting must look at. */
static void
view_report_month(const struct json_doc *d, const struct json_node *root)
{
	const struct json_node	*a, *prev, *pr;
	const char		*period = sum_str(d, root, "period");

	view_counts_line(d, json_get(d, root, "totals"), "本月");

	printf("\n与前三个月比较 (against the three months before)\n");
	prev = view_array(d, root, "previous");
	view_month_compare(d, prev, period, json_get(d, root, "totals"), "  ");

	if ((a = view_array(d, root, "categories")) != NULL) {
		printf("\n类别 (categories)\n");
		view_rising(d, a, prev, "category", "类别", "  ");
	}
	if ((a = view_array(d, root, "villages")) != NULL) {
		printf("\n村(居) (villages)\n");
		view_rising(d, a, prev, "code", "村(居)", "  ");
	}
	if ((a = view_array(d, root, "major")) != NULL) {
		printf("\n重大矛盾纠纷 (major disputes)\n");
		view_cases(d, a, false, "  ", NULL, NULL);
	}
	if ((pr = json_get(d, root, "petition_risk")) != NULL &&
	    pr->type == JSON_OBJECT) {
		printf("\n群体性上访苗头 (petition-risk signs)\n");
		printf("  本月发现 %.0f 件, 月末未办结 %.0f 件; 上访重点人员在控 "
		    "%.0f 人, 本月新增 %.0f 人, 本月化解 %.0f 人\n",
		    view_num(d, pr, "group_petition_found"),
		    view_num(d, pr, "group_petition_open"),
		    view_num(d, pr, "register_watch"),
		    view_num(d, pr, "register_added"),
		    view_num(d, pr, "register_resolved"));
	}
	if ((a = view_array(d, root, "leader_cases")) != NULL) {
		printf("\n包案领导案件 (cases of a responsible leader)\n");
		view_cases(d, a, false, "  ", NULL, NULL);
	}
}

/* The mediators' month: cases mediated and sessions, each case listed. */
static void
view_report_mediator(const struct json_doc *d, const struct json_node *root)
{
	static const char *const keys[] = { "code", "name", "mediated",
	    "sessions" };
	static const char *const hdr[] = { "编号", "调解员", "调处成功(件)",
	    "调解(次)" };
	static const char *const ck[] = { "mediated_at", "id", "village",
	    "category", "summary" };
	static const char *const chd[] = { "调处时间", "编号", "村(居)", "类别",
	    "简要情况" };
	const struct json_node	*a, *m, *cases;

	if ((a = view_array(d, root, "mediators")) == NULL)
		return;
	view_table(d, a, keys, hdr, nitems(keys), VIEW_NAMES, "  ");
	printf("  本月调处成功共 %.0f 件 (disputes mediated in the month)\n",
	    view_num(d, root, "total_mediated"));
	for (m = json_first(d, a); m != NULL; m = json_next(d, m)) {
		cases = view_array(d, m, "cases");
		if (cases == NULL || json_first(d, cases) == NULL)
			continue;
		printf("\n%s %s\n", sum_str(d, m, "code"),
		    sum_str(d, m, "name"));
		view_table(d, cases, ck, chd, nitems(ck), VIEW_NAMES, "  ");
	}
}

/* The year: the report's sentence, then its breakdowns. */
static void
view_report_year(const struct json_doc *d, const struct json_node *root)
{
	static const char *const lk[] = { "level" };
	static const char *const lh[] = { "级别" };
	static const char *const mk[] = { "month", "found", "mediated",
	    "mediated_in_month" };
	static const char *const mh[] = { "月份", "排查出", "已调处",
	    "当月调处" };
	const struct json_node	*totals = json_get(d, root, "totals"), *a;

	printf("排查出矛盾纠纷%.0f件,已调处%.0f件\n\n",
	    view_num(d, totals, "found"), view_num(d, totals, "mediated"));
	view_counts_line(d, totals, "全年");
	view_by_village_category(d, root);
	if ((a = view_array(d, root, "by_level")) != NULL) {
		printf("\n按级别 (by level)\n");
		view_counts_table(d, a, lk, lh, 1, true, "  ");
	}
	if ((a = view_array(d, root, "by_month")) != NULL) {
		printf("\n按月份 (by month)\n");
		view_table(d, a, mk, mh, nitems(mk), VIEW_NAMES, "  ");
	}
}

/* The kind of the report being printed (for view_report). */
static const char *view_report_kind;

/* Prints a REPORT reply in the form a meeting reads. */
static int
view_report(const char *json)
{
	struct json_doc		 doc;
	const struct json_node	*root;
	const char		*kind = view_report_kind, *v;
	char			 when[32];
	size_t			 i;
	int			 rv;

	if ((rv = view_parse(json, &doc)) != 0)
		return rv;
	root = json_root(&doc);
	for (i = 0; i < nitems(view_reports); i++)
		if (strcmp(view_reports[i].kind, kind) == 0)
			printf("%s", view_reports[i].title);
	printf(" %s (%s 至 %s)", sum_str(&doc, root, "period"),
	    sum_str(&doc, root, "from"), sum_str(&doc, root, "to"));
	if ((v = json_str(json_get(&doc, root, "village"))) != NULL)
		printf(", 村(居) %s", v);
	putchar('\n');
	view_time(sum_str(&doc, root, "as_of"), when, sizeof(when));
	printf("状态截至 (as of) %s, %s\n\n", when,
	    sum_str(&doc, root, "timezone"));
	if (strcmp(kind, "week") == 0)
		view_report_week(&doc, root);
	else if (strcmp(kind, "month") == 0)
		view_report_month(&doc, root);
	else if (strcmp(kind, "mediator") == 0)
		view_report_mediator(&doc, root);
	else
		view_report_year(&doc, root);
	json_free(&doc);
	return 0;
}

/* pingan report week|month|mediator|year [--period] [--village]. */
static int
cmd_report(struct cli *cli, int argc, char **argv)
{
	const struct subcommand	*sub;
	struct strbuf		 req = { NULL, 0, 0 };
	struct record		 r;
	struct tm		 tm;
	time_t			 now;
	const char		*period;
	char			 cmd[64], cur[32], sbuf[64];
	size_t			 i;
	int			 rv;

	if ((rv = sub_options(cli, argc, argv, "report", &sub, cmd,
	    sizeof(cmd))) != 0)
		return rv < 0 ? 0 : rv;
	for (i = 0; i < nitems(view_reports); i++)
		if (strcmp(view_reports[i].kind, sub->name) == 0)
			break;
	if (i == nitems(view_reports))
		return usage_error(cmd, "未知报表 (unknown report)");
	memset(&r, 0, sizeof(r));
	if ((rv = record_code(cli, cmd, OPT_VILLAGE, "village", false,
	    &r)) != 0)
		return rv;
	if ((period = cli->opt[OPT_PERIOD]) == NULL) {
		now = time(NULL);
		if (localtime_r(&now, &tm) == NULL ||
		    strftime(cur, sizeof(cur), view_reports[i].format,
		    &tm) == 0)
			return errorx(EXIT_LOCAL, "无法确定本期 (cannot tell the "
			    "current period)");
		period = cur;
	}
	if (!view_period_valid(sub->name, period))
		return usage_error(cmd, "期间 '%s' 无效, 应为如 %s (bad --period)",
		    sanitize(period, sbuf, sizeof(sbuf)),
		    view_reports[i].example);
	sb_adds(&req, "REPORT");
	sb_field(&req, "kind", sub->name);
	sb_field(&req, "period", period);
	if (cli->opt[OPT_VILLAGE] != NULL)
		sb_field(&req, "village", cli->opt[OPT_VILLAGE]);
	view_report_kind = sub->name;
	rv = case_read(cli, cmd, req.buf, view_report);
	sb_free(&req);
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
	if ((rv = client_connect_tcp(&c, &s, "ping")) != 0 ||
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
/*
 * Reads one line of a password from standard input, without echo when it
 * is a terminal; 0, or the exit status with the error printed.
 */
static int
admin_password_read(const char *cmd, const char *prompt, char *buf,
    size_t size)
{
	struct termios	 old, quiet;
	bool		 tty = isatty(STDIN_FILENO);
	size_t		 n;
	char		*r;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
		} else
			tty = false;
	}
	r = fgets(buf, (int)size, stdin);
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (r == NULL)
		return usage_error(cmd, "没有读到密码 (no password on standard "
		    "input)");
	n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(stdin))
		return usage_error(cmd, "密码过长 (password longer than %d "
		    "bytes)", PASSWORD_MAX);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/* PASSWORD-SET: reads the password, appends " hash=<its scrypt hash>". */
static int
admin_password_field(const char *cmd, struct strbuf *req)
{
	char	 pw[PASSWORD_MAX + 2], again[PASSWORD_MAX + 2];
	char	 hash[PASSWORD_HASH_MAX];
	size_t	 i, chars = 0;
	int	 rv;

	if ((rv = admin_password_read(cmd, "新密码 (new password): ", pw,
	    sizeof(pw))) != 0)
		return rv;
	for (i = 0; pw[i]; i++)
		chars += ((unsigned char)pw[i] & 0xc0) != 0x80;
	if (chars < PASSWORD_MIN || !proto_utf8_valid(pw, strlen(pw))) {
		explicit_bzero(pw, sizeof(pw));
		return usage_error(cmd, "密码至少%d个字符 (a password has at "
		    "least %d characters of UTF-8)", PASSWORD_MIN,
		    PASSWORD_MIN);
	}
	if (isatty(STDIN_FILENO)) {
		if ((rv = admin_password_read(cmd, "再输入一次 (again): ",
		    again, sizeof(again))) != 0 || strcmp(pw, again) != 0) {
			explicit_bzero(pw, sizeof(pw));
			explicit_bzero(again, sizeof(again));
			return rv ? rv : usage_error(cmd, "两次输入不一致 "
			    "(the passwords differ)");
		}
		explicit_bzero(again, sizeof(again));
	}
	rv = password_hash(pw, strlen(pw), hash, sizeof(hash));
	explicit_bzero(pw, sizeof(pw));
	if (rv != 0) {
		fprintf(stderr, "pingan: %s: 无法计算密码散列 (cannot hash the "
		    "password): %s\n", cmd, strerror(-rv));
		return EXIT_LOCAL;
	}
	sb_adds(req, " hash=");
	sb_adds(req, hash);
	return 0;
}

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
	if ((sub->flags & ADMIN_F_PASSWORD) &&
	    (rv = admin_password_field(cmd, &req)) != 0) {
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
	const struct subcommand	*psub;
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
	if (cmd->subs != NULL && optind + 1 < argc) {
		if ((psub = subcommand_find(cmd, argv[optind + 1])) == NULL)
			return usage_error(cmd->name, "未知子命令 '%s' (unknown "
			    "subcommand)", sanitize(argv[optind + 1], sbuf,
			    sizeof(sbuf)));
		usage_sub(stdout, cmd, psub);
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
