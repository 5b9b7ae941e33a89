/*
 * pingan.h: the one internal header of pingan (the OpenBSD/tmux way).
 *
 * Structs come first, then prototypes grouped by the file that defines them.
 * Every function returns 0 or a negative errno unless it says otherwise;
 * constructors return NULL on failure.  Output parameters are ret_* and last.
 */
#ifndef PINGAN_H
#define PINGAN_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/types.h>

#define PINGAN_PROTO_VERSION 1

struct event_base;
struct admin_request;
struct bufferevent;
struct evconnlistener;
struct ssl_ctx_st;		/* OpenSSL's SSL_CTX */
struct ssl_st;			/* OpenSSL's SSL */

/* Hard limits of the data model; the configurable ones live in struct config. */
#define PINGAN_CODE_MAX   32	/* village, grid and worker codes, bytes */
#define PINGAN_NAME_MAX   128	/* names, bytes of UTF-8 */
#define PINGAN_PHONE_MAX  32
#define PINGAN_TOKEN_MAX  128	/* a presented token, bytes */
#define PINGAN_FIELDS_MAX 16	/* key=value fields in one request */
#define PINGAN_UUID_STRLEN 36
#define PINGAN_PEER_MAX   64	/* "address:port" of a peer */
#define PINGAN_HASH_LEN   32	/* SHA-256 */
#define PINGAN_THROTTLE_MAX 8192	/* addresses whose failed AUTHs count */

/* ---- config ------------------------------------------------------------- */

enum config_sync {
	CONFIG_SYNC_OFF = 0,
	CONFIG_SYNC_NORMAL = 1,
	CONFIG_SYNC_FULL = 2,
	CONFIG_SYNC_EXTRA = 3,
};

/* Which editions of its reports pingan-report writes (report_edition). */
enum config_edition {
	CONFIG_EDITION_PUBLIC = 0,	/* for filing upward, not sensitive */
	CONFIG_EDITION_INTERNAL,	/* also the internal one (内部版) */
};

/* Patrol types (巡逻类型). */
enum patrol_type {
	PATROL_SECURITY = 0,		/* 治安巡防: key-hour public security */
	PATROL_FOREST_FIRE,		/* 森林防火巡逻 */
	PATROL_TYPE__COUNT,
};

#define WINDOW_VILLAGES_MAX 64

/*
 * A key-hour window that patrols must cover (config key `window`), e.g.
 * "security 20:00-24:00 all" or "forest_fire 08:00-18:00 03-01..04-30
 * DK,CJ".  Minutes are from local midnight of the window's day; to_min may
 * exceed 1440 (the window ends the next day).  season_from/to are MMDD
 * (0 = every day); a season may wrap the year end (11-01..02-28).
 */
struct window {
	enum patrol_type type;
	int		 from_min;
	int		 to_min;
	int		 season_from;
	int		 season_to;
	int		 nvillages;	/* 0 = every village */
	char		 villages[WINDOW_VILLAGES_MAX][PINGAN_CODE_MAX + 1];
};

#define CONFIG_WINDOWS_MAX 32

/* The daemon's configuration; see conf/pingand.conf for every key. */
struct config {
	char	*listen;		/* address to listen on */
	int	 port;
	int	 tls;			/* 1: a second terminal port, TLS */
	char	*tls_listen;		/* its address */
	int	 tls_port;
	char	*tls_cert;		/* PEM certificate (chain) */
	char	*tls_key;		/* PEM private key */
	char	*database;		/* SQLite file */
	char	*admin_socket;		/* UNIX socket for `pingan admin` */
	int	 admin_socket_mode;	/* permission bits of that socket */
	int	 line_max;		/* bytes in one request line */
	int	 line_max_unauth;	/* the same before AUTH succeeded */
	int	 note_max;		/* bytes in a check-in note */
	int	 conn_max;		/* simultaneous TCP connections */
	int	 idle_timeout;		/* seconds without a request */
	int	 auth_timeout;		/* seconds to AUTH after connecting */
	int	 auth_delay_ms;		/* delay before a failed AUTH's reply */
	int	 auth_delay_max_ms;	/* the delay's cap as failures double it */
	int	 auth_block_after;	/* failed AUTHs that block an address */
	int	 auth_block_window;	/* seconds in which they are counted */
	int	 auth_block_seconds;	/* how long the block lasts */
	int	 pipeline_max;		/* requests in flight per connection */
	int	 output_max;		/* bytes of unsent replies per connection */
	int	 batch_max;		/* requests in one write transaction */
	int	 queue_max;		/* requests waiting for the writer */
	int	 loop_priority;		/* SCHED_FIFO priority of the loop, 0 */
	int	 reader_nice;		/* added to the reader thread's nice */
	int	 max_future;		/* seconds an event time may lie ahead */
	int	 max_past_days;		/* days an event time may lie behind */
	int	 shutdown_timeout;	/* seconds to flush replies at exit */
	int	 synchronous;		/* enum config_sync */
	int	 checkpoint_pages;	/* WAL auto-checkpoint, pages */
	char	*reports_dir;		/* pingan-report's root */
	char	*backups_dir;		/* pingan-report --backup */
	int	 backups_keep;		/* backups kept */
	int	 report_edition;	/* enum config_edition */
	int	 log_level;		/* enum log_level */
	int	 log_target;		/* enum log_target */
	/* field work */
	char	*timezone;		/* the town's, e.g. "Asia/Shanghai" */
	int	 screening_cutoff;	/* minutes after local midnight */
	int	 duty_cutoff;		/* minutes after local midnight */
	int	 patrol_max_hours;	/* an open patrol older is flagged */
	int	 nwindows;
	struct window windows[CONFIG_WINDOWS_MAX];
	/* the dispute ledger */
	char	*dispute_categories;	/* a comma list of names */
	int	 dispute_yellow_days;	/* yellow this many days ahead */
	int	 sensitive_roles;	/* bit (1 << role) per role */
	/* the dashboard and its HTTP API (http.c) */
	int	 http;			/* 1: serve it */
	char	*http_listen;		/* address of the HTTP port */
	int	 http_port;
	int	 http_tls;		/* 1: the dashboard speaks HTTPS */
	int	 http_body_max;		/* bytes of a request body */
	int	 http_timeout;		/* seconds to read a request */
	int	 http_streams_max;	/* open /api/v1/events streams */
	int	 session_ttl;		/* seconds a login lasts */
	int	 sessions_max;		/* logins held at once */
	int	 dashboard_roles;	/* bit (1 << role) per role */
};

/* ---- log ------------------------------------------------------------------ */

enum log_target {
	LOG_TARGET_STDERR = 0,		/* journald <N> prefixes, or timestamps */
	LOG_TARGET_SYSLOG,
};

enum log_level {
	LOG_LEVEL_ERR = 0,
	LOG_LEVEL_WARN = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* ---- proto: request lines ------------------------------------------------- */

enum proto_cmd {
	PROTO_CMD_NONE = 0,
	PROTO_CMD_AUTH,
	PROTO_CMD_CHECKIN,
	PROTO_CMD_PING,
	PROTO_CMD_HELP,
	PROTO_CMD_QUIT,
	PROTO_CMD_PATROL_START,
	PROTO_CMD_PATROL_POINT,
	PROTO_CMD_PATROL_END,
	PROTO_CMD_SCREENING,
	PROTO_CMD_DUTY_ON,
	PROTO_CMD_DUTY_OFF,
	PROTO_CMD_SUMMARY,
	PROTO_CMD_DISPUTE_REPORT,
	PROTO_CMD_DISPUTE_TRIAGE,
	PROTO_CMD_DISPUTE_LOG,
	PROTO_CMD_DISPUTE_STATUS,
	PROTO_CMD_DISPUTE_EXTEND,
	PROTO_CMD_DISPUTE_REOPEN,
	PROTO_CMD_RISK_ADD,
	PROTO_CMD_RISK_UPDATE,
	PROTO_CMD_DISPUTE_LIST,
	PROTO_CMD_DISPUTE_SHOW,
	PROTO_CMD_RISK_LIST,
	PROTO_CMD_AUDIT_LIST,
	PROTO_CMD_REPORT,
};

/* Error codes of the protocol; docs/PROTOCOL.md lists them. */
enum proto_err {
	PROTO_OK = 0,
	PROTO_ERR_LINE_TOO_LONG,
	PROTO_ERR_BAD_UTF8,
	PROTO_ERR_SYNTAX,
	PROTO_ERR_UNKNOWN_COMMAND,
	PROTO_ERR_MISSING_FIELD,
	PROTO_ERR_BAD_FIELD,
	PROTO_ERR_UNKNOWN_GRID,
	PROTO_ERR_BAD_TIME,
	PROTO_ERR_AUTH_REQUIRED,
	PROTO_ERR_AUTH_FAILED,
	PROTO_ERR_FORBIDDEN,
	PROTO_ERR_STORAGE,
	PROTO_ERR_BUSY,
	PROTO_ERR_SHUTTING_DOWN,
	PROTO_ERR_NOT_FOUND,
	PROTO_ERR_PATROL_CLOSED,
	PROTO_ERR_PATROL_BUSY,
	PROTO_ERR_UNKNOWN_VILLAGE,
	PROTO_ERR_UNKNOWN_WORKER,
	PROTO_ERR_UNKNOWN_CATEGORY,
	PROTO_ERR_BAD_TRANSITION,
	PROTO_ERR_AUTH_BLOCKED,
	PROTO_ERR__COUNT,
};

/* What a check-in records about the work done. */
enum checkin_kind {
	CHECKIN_KIND_PATROL = 0,	/* 巡逻 */
	CHECKIN_KIND_SCREENING,		/* 排查 */
	CHECKIN_KIND_DUTY,		/* 值班 */
	CHECKIN_KIND_VISIT,		/* 走访 */
	CHECKIN_KIND_MEDIATION,		/* 调解 */
	CHECKIN_KIND_OTHER,		/* 其他 */
	CHECKIN_KIND__COUNT,
};

/* One key=value field of a request, pointing into the parser's buffer. */
struct proto_field {
	const char	*key;
	size_t		 keylen;
	const char	*val;		/* unescaped, NUL-terminated */
	size_t		 vallen;
};

/*
 * A parsed request.  Field values are unescaped into buf, which the
 * parser owns for as long as the request lives.
 */
struct proto_request {
	enum proto_cmd		 cmd;
	int			 nargs;		/* positional words after the verb */
	const char		*args[4];
	int			 nfields;
	struct proto_field	 fields[PINGAN_FIELDS_MAX];
	char			*buf;
	size_t			 bufsize;
};

/* A check-in as the daemon stores it (strings point into the request). */
struct checkin {
	uint8_t		 uuid[16];
	bool		 uuid_from_server;
	int64_t		 worker_id;
	int64_t		 grid_id;
	int64_t		 village_id;	/* the grid's */
	enum checkin_kind kind;
	int64_t		 event_ms;	/* when it happened, per the terminal */
	int64_t		 received_ms;	/* server clock */
	bool		 has_pos;
	double		 lat, lon;
	char		*note;		/* NULL or UTF-8 */
	char		 peer[PINGAN_PEER_MAX];
};

/* ---- field: patrols, screening, duty ------------------------------------ */

#define FIELD_MEMBERS_MAX 20	/* the whole patrol team */
#define FIELD_AREAS_MAX   32

enum field_verb {
	FIELD_PATROL_START = 0,
	FIELD_PATROL_POINT,
	FIELD_PATROL_END,
	FIELD_SCREENING,
	FIELD_DUTY_ON,
	FIELD_DUTY_OFF,
};
#define FIELD_VERBS	(FIELD_DUTY_OFF + 1)

/* One field-work record, checked against the roster on the loop. */
struct field_record {
	enum field_verb	 verb;
	uint8_t		 uuid[16];
	int64_t		 worker_id;
	int64_t		 event_ms;
	int64_t		 received_ms;
	char		 peer[PINGAN_PEER_MAX];
	bool		 has_pos;
	double		 lat, lon;
	char		*text;		/* note, summary or item; owned */
	/* PATROL-START */
	enum patrol_type ptype;
	int		 nmembers;
	int64_t		 members[FIELD_MEMBERS_MAX];
	int		 nareas;
	int64_t		 area_village[FIELD_AREAS_MAX];
	int64_t		 area_grid[FIELD_AREAS_MAX];	/* 0: whole village */
	/* PATROL-POINT, PATROL-END */
	uint8_t		 patrol_uuid[16];
	char		 checkpoint[PINGAN_CODE_MAX + 1];
	/* SCREENING */
	int64_t		 village_id;	/* also DUTY: the post, 0 = TOWN */
	int64_t		 grid_id;
	int32_t		 day;
	bool		 zero;
};

/* ---- roster: the in-memory snapshot of villages, grids and workers ------- */

enum worker_role {
	WORKER_ROLE_GRID = 0,		/* 网格员 */
	WORKER_ROLE_PATROL,		/* 巡防队员 */
	WORKER_ROLE_MEDIATOR,		/* 调解员 */
	WORKER_ROLE_DUTY,		/* 值班员 */
	WORKER_ROLE_SUPERVISOR,		/* 综治中心 */
	WORKER_ROLE_ADMIN,		/* 管理员 */
	WORKER_ROLE__COUNT,
};

enum worker_team {
	WORKER_TEAM_NONE = 0,
	WORKER_TEAM_POLICE,		/* 派出所民警 */
	WORKER_TEAM_ENFORCEMENT,	/* 执法队 */
	WORKER_TEAM_EMERGENCY,		/* 应急队 */
	WORKER_TEAM_VOLUNTEER,		/* 平安志愿者 */
	WORKER_TEAM__COUNT,
};

struct village {
	int64_t	 id;
	char	 code[PINGAN_CODE_MAX + 1];
	char	 name[PINGAN_NAME_MAX + 1];
};

struct grid {
	int64_t	 id;
	int64_t	 village_id;
	char	 code[PINGAN_CODE_MAX + 1];
	char	 name[PINGAN_NAME_MAX + 1];
};

struct credential {
	int64_t	 id;
	int64_t	 worker_id;
	uint8_t	 hash[PINGAN_HASH_LEN];
};

struct worker {
	int64_t		 id;
	char		 code[PINGAN_CODE_MAX + 1];
	char		 name[PINGAN_NAME_MAX + 1];
	enum worker_role role;
	enum worker_team team;
	int64_t		 village_id;	/* 0 when none */
	char		 phone[PINGAN_PHONE_MAX + 1];
	bool		 disabled;
};

/*
 * An immutable snapshot of the roster.  The loop owns the current one and
 * swaps it whole when the writer hands a new one over after an admin change.
 * Arrays are sorted by code (for lookups by code); credentials by worker_id.
 */
struct roster {
	struct village		*villages;
	size_t			 nvillages;
	struct grid		*grids;
	size_t			 ngrids;
	struct worker		*workers;
	size_t			 nworkers;
	struct credential	*credentials;	/* active ones only */
	size_t			 ncredentials;
};

/* ---- dispute: the dispute ledger (矛盾纠纷台账, docs/DISPUTES.md) ------- */

#define DISPUTE_HANDLERS_MAX	8	/* 办案人员 of one dispute */
#define DISPUTE_CATEGORY_MAX	64	/* bytes of a category's name */
#define DISPUTE_CATEGORIES_MAX	32	/* in dispute_categories */
#define DISPUTE_PERIOD_MAX	16	/* "2026-W48" */

enum dispute_status {
	DISPUTE_REPORTED = 0,		/* 已上报, not triaged yet */
	DISPUTE_OPEN,			/* 办理中 */
	DISPUTE_MEDIATED,		/* 调处成功 */
	DISPUTE_ESCALATED,		/* 未化解上交 */
	DISPUTE_CLOSED,			/* 其他原因办结 */
	DISPUTE_STATUS__COUNT,
};

enum dispute_level {
	DISPUTE_LEVEL_NONE = 0,		/* not triaged */
	DISPUTE_LEVEL_VILLAGE,		/* 村级 */
	DISPUTE_LEVEL_TOWN,		/* 镇级: 综治中心 */
	DISPUTE_LEVEL__COUNT,
};

enum dispute_source {
	DISPUTE_SOURCE_SCREENING = 0,	/* 排查 */
	DISPUTE_SOURCE_VILLAGE,		/* 村(居) */
	DISPUTE_SOURCE_WALK_IN,		/* 来访 */
	DISPUTE_SOURCE_HOTLINE,		/* 热线 */
	DISPUTE_SOURCE_HIGHER,		/* 上级交办 */
	DISPUTE_SOURCE__COUNT,
};

/* People involved, in the bands of the national ledger. */
enum dispute_band {
	DISPUTE_BAND_NONE = 0,		/* unknown */
	DISPUTE_BAND_LT50,
	DISPUTE_BAND_50_100,
	DISPUTE_BAND_100_500,
	DISPUTE_BAND_GT500,
	DISPUTE_BAND__COUNT,
};

/* What a log entry records. */
enum dispute_action {
	DISPUTE_ACTION_VISIT = 0,	/* 走访 */
	DISPUTE_ACTION_MEDIATION,	/* 调解 */
	DISPUTE_ACTION_CALL,		/* 电话 */
	DISPUTE_ACTION_MEETING,		/* 会商 */
	DISPUTE_ACTION_OTHER,		/* 其他 */
	DISPUTE_ACTION__COUNT,
};

enum dispute_warning {
	DISPUTE_WARNING_NONE = 0,
	DISPUTE_WARNING_YELLOW,		/* the deadline is near */
	DISPUTE_WARNING_RED,		/* overdue */
};

/* An entry of the petition-risk register (上访重点人员). */
enum risk_status {
	RISK_WATCH = 0,			/* 在控 */
	RISK_RESOLVED,			/* 已化解 */
	RISK_STATUS__COUNT,
};

/* The requests of the ledger; the writes come first. */
enum dispute_verb {
	DISPUTE_VERB_REPORT = 0,
	DISPUTE_VERB_TRIAGE,
	DISPUTE_VERB_LOG,
	DISPUTE_VERB_STATUS,
	DISPUTE_VERB_EXTEND,
	DISPUTE_VERB_REOPEN,
	DISPUTE_VERB_RISK_ADD,
	DISPUTE_VERB_RISK_UPDATE,
	DISPUTE_VERB_LIST,		/* the first read */
	DISPUTE_VERB_SHOW,
	DISPUTE_VERB_RISK_LIST,
	DISPUTE_VERB_AUDIT_LIST,
	DISPUTE_VERB_LEDGER,		/* REPORT kind= period= */
	DISPUTE_VERB__COUNT,
};

/* DISPUTE-LIST status=: which disputes. */
enum dispute_filter {
	DISPUTE_FILTER_OPEN = 0,	/* reported or open */
	DISPUTE_FILTER_OVERDUE,
	DISPUTE_FILTER_CLOSED,		/* mediated, escalated or closed */
	DISPUTE_FILTER_ALL,
	DISPUTE_FILTER_REPORTED,
	DISPUTE_FILTER_MEDIATED,
	DISPUTE_FILTER_ESCALATED,
};

/* REPORT kind=. */
enum ledger_kind {
	LEDGER_WEEK = 0,		/* 镇一周一上报 */
	LEDGER_MONTH,			/* 一月一研判 */
	LEDGER_MEDIATOR,		/* 调解员月度 */
	LEDGER_YEAR,
};

/*
 * One request of the ledger, checked against the roster, the sender's
 * role and the clock on the loop (dispute_parse), then carried out by the
 * writer (writes, and reads that return sensitive fields) or the reader.
 * Text fields are owned; unused ones are NULL.
 */
struct dispute_request {
	enum dispute_verb	 verb;
	uint8_t			 uuid[16];	/* the request's id (writes) */
	uint8_t			 ref[16];	/* dispute= or risk= */
	bool			 has_ref;
	/* the sender */
	int64_t			 worker_id;
	char			 worker_code[PINGAN_CODE_MAX + 1];
	enum worker_role	 role;
	int64_t			 worker_village;	/* 0 when none */
	bool			 sensitive;	/* role is in sensitive_roles */
	int			 yellow_days;
	int64_t			 event_ms;	/* at= (writes) */
	int64_t			 received_ms;	/* now */
	char			 peer[PINGAN_PEER_MAX];
	/* REPORT, RISK-ADD, and the village= of reads (0: none) */
	int64_t			 village_id;
	char			 village_code[PINGAN_CODE_MAX + 1];
	char			 category[DISPUTE_CATEGORY_MAX + 1];
	enum dispute_source	 source;
	bool			 has_screening;
	uint8_t			 screening[16];
	char			*summary;
	char			*parties;
	char			*contacts;
	enum dispute_band	 band;
	int64_t			 people;	/* -1: not given */
	bool			 group_petition;
	bool			 cross_area;
	/* TRIAGE, EXTEND, REOPEN */
	enum dispute_level	 level;
	int			 nhandlers;
	int64_t			 handlers[DISPUTE_HANDLERS_MAX];
	char			 handler_codes[DISPUTE_HANDLERS_MAX]
				    [PINGAN_CODE_MAX + 1];
	int64_t			 leader_id;	/* 0: none */
	char			 leader_code[PINGAN_CODE_MAX + 1];
	int32_t			 deadline;	/* -1: not given */
	/* LOG, STATUS */
	enum dispute_action	 action;
	enum dispute_status	 status;
	char			*note;		/* note, outcome or reason */
	/* RISK-ADD, RISK-UPDATE */
	char			*person;
	char			*reason;	/* the entry's reason */
	int64_t			 cadre_id;	/* 0: not given */
	char			 cadre_code[PINGAN_CODE_MAX + 1];
	enum risk_status	 risk_status;
	bool			 has_risk_status;
	/* reads */
	enum dispute_filter	 filter;
	bool			 all_statuses;	/* RISK-LIST status=all */
	int32_t			 from_day, to_day;	/* -1: not given */
	bool			 want_sensitive;	/* sensitive=yes */
	int64_t			 filter_worker;	/* AUDIT-LIST worker= */
	char			 filter_worker_code[PINGAN_CODE_MAX + 1];
	enum ledger_kind	 kind;
	char			 period[DISPUTE_PERIOD_MAX];
	int32_t			 period_from, period_to;	/* days */
	char			*categories;	/* REPORT: dispute_categories */
	char			 bad_code[PINGAN_CODE_MAX + 1];	/* an error's */
};

/*
 * The state of a dispute the store reads before a change, for
 * dispute_check: what the lifecycle and the permissions depend on.
 */
struct dispute_state {
	int64_t			 id;
	enum dispute_status	 status;
	enum dispute_level	 level;
	int32_t			 deadline;	/* -1: none */
	int64_t			 village_id;
	int64_t			 reported_ms;
	int64_t			 state_ms;	/* the last change of state */
	int64_t			 leader_id;	/* 0: none */
	char			 leader_code[PINGAN_CODE_MAX + 1];
	int			 nhandlers;
	int64_t			 handlers[DISPUTE_HANDLERS_MAX];
	char			 handler_codes[DISPUTE_HANDLERS_MAX]
				    [PINGAN_CODE_MAX + 1];
};

/* A dispute as stored (strings valid during the store's callback only). */
struct dispute_row {
	int64_t			 id;
	uint8_t			 uuid[16];
	int64_t			 village_id;
	const char		*category;
	enum dispute_source	 source;
	bool			 has_screening;
	uint8_t			 screening[16];
	const char		*summary;
	const char		*parties;	/* NULL when none */
	const char		*contacts;
	enum dispute_band	 band;
	int64_t			 people;	/* -1: unknown */
	bool			 group_petition;
	bool			 cross_area;
	enum dispute_level	 level;
	int64_t			 leader_id;	/* 0: none */
	int32_t			 deadline;	/* -1: none */
	enum dispute_status	 status;
	const char		*result;
	int64_t			 reporter_id;
	int64_t			 reported_ms;
	int64_t			 triaged_ms;	/* -1: never */
	int64_t			 state_ms;
	int64_t			 updated_ms;
};

/* One entry of a dispute's history, as stored (callback lifetime). */
struct dispute_history_row {
	int64_t			 dispute_id;
	uint8_t			 uuid[16];
	int64_t			 worker_id;
	const char		*verb;		/* "report", "triage", ... */
	int			 action;	/* enum dispute_action; -1 */
	int64_t			 event_ms;
	int64_t			 received_ms;
	const char		*changes;	/* a JSON object */
	const char		*note;
	int			 status;	/* enum dispute_status; -1: log */
	enum dispute_level	 level;
	int32_t			 deadline;	/* -1: none */
};

/* An entry of the petition-risk register (callback lifetime). */
struct risk_row {
	int64_t			 id;
	uint8_t			 uuid[16];
	const char		*person;
	const char		*reason;
	int64_t			 cadre_id;
	int64_t			 village_id;	/* 0: none */
	bool			 has_dispute;
	uint8_t			 dispute[16];
	enum risk_status	 status;
	int64_t			 worker_id;
	int64_t			 event_ms;
	int64_t			 updated_ms;
};

struct ledger;

/* What REPORT-SENSITIVE asks for (admin.c, ledger_sensitive). */
struct ledger_sensitive {
	const char	*kind;		/* "day", "week", "month", "year" */
	const char	*period;	/* its label: "2026-W48" */
	int32_t		 from, to;	/* days, inclusive */
	int64_t		 now_ms;	/* the daemon's clock */
	const char	*peer;		/* who reads: the admin socket's peer */
};

/* ---- csv: roster import ---------------------------------------------------- */

#define CSV_FIELDS_MAX 16

/* One record of a CSV file: fields point into the parser's copy. */
struct csv_record {
	int	 line;			/* 1-based line where the record starts */
	int	 nfields;
	char	*fields[CSV_FIELDS_MAX];
};

struct csv_file {
	char			*buf;	/* the unquoted fields, NUL-separated */
	struct csv_record	*records;
	size_t			 nrecords;
};

/* ---- store ---------------------------------------------------------------- */

struct store;

/* Outcome of storing one check-in. */
enum store_result {
	STORE_STORED = 0,
	STORE_DUPLICATE,
	STORE_FAILED,		/* the database failed: nothing stored */
	STORE_REFUSED,		/* a rule refused it: nothing stored */
};

/* A stored check-in as a page of GET /api/v1/checkins shows it. */
struct checkin_row {
	int64_t		 id;
	uint8_t		 uuid[16];
	int64_t		 worker_id;
	int64_t		 grid_id;
	const char	*kind;
	int64_t		 event_ms;
	int64_t		 received_ms;
	const char	*note;		/* or NULL */
};

/* ---- summary -------------------------------------------------------------- */

/* What a summary answers: all of it, or one part (the HTTP API's). */
enum summary_view {
	SUMMARY_FULL = 0,	/* docs/SUMMARY.md */
	SUMMARY_GAPS,		/* from, to, generated_at, gaps */
	SUMMARY_PATROLS,	/* generated_at, patrols: those out now */
	SUMMARY_TREND,		/* from, to, generated_at, days: per-day counts */
};

/* What a summary is asked about (docs/SUMMARY.md). */
struct summary_params {
	enum summary_view view;
	int32_t		 from, to;	/* days, inclusive (calendar.c) */
	char		 village[PINGAN_CODE_MAX + 1];	/* "" = town */
	int64_t		 now_ms;
	int		 screening_cutoff, duty_cutoff;	/* minutes */
	int		 patrol_max_hours;
	int		 nwindows;
	struct window	 windows[CONFIG_WINDOWS_MAX];
	int		 dispute_yellow_days;	/* 0..: yellow warnings */
};

/* ---- writer --------------------------------------------------------------- */

enum wjob_type {
	WJOB_CHECKIN = 0,
	WJOB_FIELD,
	WJOB_ADMIN,
	WJOB_SUMMARY,		/* run by the reader thread */
	WJOB_DISPUTE,		/* a ledger write, or a read to audit */
	WJOB_LEDGER,		/* a ledger read, run by the reader thread */
	WJOB_READ,		/* read_fn, run by the reader thread */
};

struct summary_params;

struct conn;
struct pending;
struct http_call;

struct wjob;

/*
 * A read for the reader thread (WJOB_READ): computes the job's reply from
 * the committed data, or returns NULL with err set (and job->err, if the
 * request was at fault).  The job's read_arg is freed with free().
 */
typedef char	*(*wjob_read_fn)(struct store *, struct wjob *, char *err,
		    size_t errlen);

/*
 * A job for the writer thread.  The loop allocates it, the writer fills
 * in the result, the loop frees it after delivering the reply.
 */
struct wjob {
	enum wjob_type		 type;
	struct conn		*conn;		/* owner; NULL once it closed */
	struct pending		*pending;	/* the reply slot in the conn */
	struct http_call	*http;		/* or an HTTP request's */
	wjob_read_fn		 read_fn;	/* WJOB_READ */
	void			*read_arg;
	struct checkin		 checkin;
	struct field_record	*field;
	struct summary_params	*summary;
	struct dispute_request	*dispute;
	struct admin_request	*admin;
	/* results, set by the writer */
	enum store_result	 result;
	enum proto_err		 err;		/* with STORE_REFUSED */
	char			 detail[64];	/* with STORE_REFUSED; a dispute
						   write's reply word with
						   STORE_STORED */
	int64_t			 rowid;
	char			*reply;		/* admin: full reply text */
	struct roster		*roster;	/* admin: new snapshot, if changed */
	STAILQ_ENTRY(wjob)	 entry;
};
STAILQ_HEAD(wjob_list, wjob);

/* mailbox.c: a lock-free hand-over of jobs between threads */
struct mailbox {
	_Atomic(struct wjob *)	 top;	/* the last posted; NULL: empty */
};
bool	 mailbox_post(struct mailbox *, struct wjob *);
bool	 mailbox_post_list(struct mailbox *, struct wjob_list *);
void	 mailbox_take(struct mailbox *, struct wjob_list *);

struct writer;

/* Statistics kept by the writer (read under its lock). */
#define WRITER_BATCH_BUCKETS	12	/* 1, 2, 4, ... 1024, +Inf */
#define WRITER_LATENCY_BUCKETS	14	/* 0.1 ms ... 10 s, +Inf */
/* The two WALs: the database's and the id index's. */
#define STORE_WAL_DB	0
#define STORE_WAL_IDS	1
#define STORE_WALS	2

struct writer_stats {
	uint64_t	 jobs;
	uint64_t	 commits;
	uint64_t	 failed_commits;
	uint64_t	 max_batch;
	/* histograms: counts per bucket (not cumulative), and sums */
	uint64_t	 batch_buckets[WRITER_BATCH_BUCKETS];
	uint64_t	 batch_sum;
	uint64_t	 latency_buckets[WRITER_LATENCY_BUCKETS];
	double		 latency_sum;	/* seconds */
	uint64_t	 batches;
	int64_t		 last_commit_ms;	/* wall clock, 0 before any */
	int64_t		 busy_since_ms;		/* a batch running since, or 0 */
	uint64_t	 reads;			/* jobs the reader finished */
	uint64_t	 checkpoints[STORE_WALS];	/* passes run, per WAL */
	uint64_t	 wal_restarts[STORE_WALS];	/* WAL started over */
	bool		 failing;		/* the last batch failed */
	char		 last_error[160];	/* and why */
};
/* The upper bounds of the buckets above (the last is +Inf). */
extern const double writer_batch_bounds[WRITER_BATCH_BUCKETS - 1];
extern const double writer_latency_bounds[WRITER_LATENCY_BUCKETS - 1];

/* ---- admin ---------------------------------------------------------------- */

/* An admin request, parsed on the loop, executed by the writer. */
struct admin_request {
	struct proto_request	 req;		/* verb and fields */
	char			 verb[32];	/* "village-add", ... */
	char			*body;		/* IMPORT payload, or NULL */
	size_t			 bodylen;
	char			 peer[PINGAN_PEER_MAX];	/* admin(uid 0, ...) */
	bool			 internal_allowed;	/* report_edition */
};

/* ---- metrics: counters for /metrics (metrics.c) -------------------------- */

#define METRICS_ROUTES_MAX	32
#define METRICS_STATUSES	13	/* metrics_http_statuses[] */

/* Counters kept by the loop (the writer keeps its own, writer_stats). */
struct metrics {
	uint64_t	 conns_accepted;
	uint64_t	 stored[CHECKIN_KIND__COUNT];	/* check-ins by kind */
	uint64_t	 stored_field[FIELD_VERBS];
	uint64_t	 stored_disputes;		/* ledger writes */
	uint64_t	 duplicates;
	uint64_t	 replies_ok;
	uint64_t	 replies_err[PROTO_ERR__COUNT];
	uint64_t	 http[METRICS_ROUTES_MAX][METRICS_STATUSES];
	uint64_t	 http_logins_failed;
	uint64_t	 commit_seq;	/* batches that stored something */
};

/* What /metrics shows: the loop's counters and the gauges of the moment. */
struct metrics_view {
	const struct metrics	*m;
	struct writer_stats	 ws;
	size_t			 queued;	/* jobs waiting for the writer */
	int			 conns;		/* terminal connections open */
	size_t			 sessions;	/* dashboard logins */
	int			 streams;	/* /api/v1/events open */
	const char		*routes[METRICS_ROUTES_MAX];	/* or NULL */
};

/* ---- session: the dashboard's logins (session.c) ------------------------ */

#define SESSION_ID_MAX	64	/* bytes of an id, NUL included */

struct session {
	int64_t	 worker_id;
	int64_t	 cred_id;	/* the token logged in with; 0: password */
	int64_t	 created_ms;
	int64_t	 expires_ms;
};
struct sessions;

/* ---- the daemon: server and connections (main.c, listener.c, conn.c) ---- */

enum conn_kind {
	CONN_TERMINAL = 0,	/* a terminal on TCP */
	CONN_ADMIN,		/* `pingan admin` on the UNIX socket */
};

/* Why a connection is not being read from; a bit each. */
#define CONN_PAUSE_PIPELINE	0x01	/* too many requests in flight */
#define CONN_PAUSE_OUTPUT	0x02	/* peer does not read its replies */
#define CONN_PAUSE_QUEUE	0x04	/* the writer's queue is full */
#define CONN_PAUSE_AUTH		0x08	/* a failed AUTH is being delayed */
#define CONN_PAUSE_SHUTDOWN	0x10	/* the server is stopping */
#define CONN_PAUSE_CLOSING	0x20	/* QUIT or forbidden: closing */

/* One request's slot in the ordered list of replies of a connection. */
struct pending {
	TAILQ_ENTRY(pending)	 entry;
	bool			 done;		/* reply is ready */
	bool			 close_after;	/* close once it is sent */
	struct wjob		*job;		/* at the writer, or NULL */
	char			*reply;		/* the reply, '\n' included */
	size_t			 len;
	char			 inline_buf[96];
};
TAILQ_HEAD(pending_list, pending);

/* One client connection: all of its state, freed by conn_close. */
struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct server		*srv;
	enum conn_kind		 kind;
	uint64_t		 id;
	struct bufferevent	*bev;
	char			 peer[PINGAN_PEER_MAX];
	bool			 closed;
	bool			 eof;		/* peer finished sending */
	bool			 draining;	/* shutdown: discard until EOF */
	bool			 discarding;	/* inside an over-long line */
	bool			 direct;	/* plain socket: written at once */
	unsigned		 paused;	/* CONN_PAUSE_* bits */
	bool			 authed;
	int64_t			 worker_id;
	int64_t			 cred_id;
	struct event		*auth_timer;	/* AUTH deadline */
	struct event		*delay_timer;	/* failed-AUTH delay */
	struct pending		*delayed;	/* reply held by delay_timer */
	struct pending_list	 pendings;
	int			 npending;
	int			 writes_in_flight;	/* jobs at the writer */
	struct wjob_list	 deferred_reads;	/* wait for those */
	struct admin_request	*admin_body;	/* IMPORT waiting for bytes */
	size_t			 body_need;
	struct proto_request	 req;		/* parse buffer, reused */
	uint64_t		 nrequests;
	const char		*close_reason;
};
TAILQ_HEAD(conn_list, conn);

/* The daemon: one per process, owned by main.c. */
struct server {
	struct event_base	*base;
	struct config		*cfg;
	const char		*config_path;
	struct writer		*writer;
	struct roster		*roster;
	struct throttle		*auth_throttle;	/* failed AUTHs per address */
	struct evconnlistener	*listener;
	struct evconnlistener	*admin_listener;
	struct evconnlistener	*tls_listener;	/* terminals with TLS */
	struct ssl_ctx_st	*tls_ctx;	/* NULL unless tls or http_tls */
	struct event		*accept_timer;	/* re-arm after EMFILE */
	bool			 accept_paused;	/* out of descriptors */
	struct event		*reap_ev;	/* frees closed connections */
	struct conn_list	 conns;
	struct conn_list	 graveyard;
	int			 nconns;
	uint64_t		 next_conn_id;
	bool			 queue_paused;	/* some conns wait on the queue */
	bool			 shutting_down;
	char			*line;		/* scratch line buffer */
	size_t			 linesize;
	struct http		*http;		/* the dashboard, or NULL */
	struct metrics		 metrics;
};

/* ---- throttle: failed logins per address (throttle.c) -------------------- */

struct throttle;

/*
 * What failed logins cost an address: the first failure's answer waits
 * delay_ms, each further one in the window twice as long, at most
 * delay_max_ms; the block_after-th failure within window_s seconds blocks
 * the address for block_s seconds (block_after 0: never).
 */
struct throttle_policy {
	int	 delay_ms;
	int	 delay_max_ms;
	int	 block_after;
	int	 window_s;
	int	 block_s;
};

/* ---- json: a small strict reader ----------------------------------------- */

#define JSON_DEPTH_MAX	64
#define JSON_INPUT_MAX	(64 * 1024 * 1024)

enum json_type {
	JSON_NULL = 0,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

/* One value of a parsed document; children and siblings are indexes. */
struct json_node {
	enum json_type	 type;
	const char	*key;		/* name of an object member, else NULL */
	size_t		 keylen;
	const char	*str;		/* JSON_STRING: unescaped, terminated */
	size_t		 len;		/* bytes of str; elements or members */
	double		 num;		/* JSON_NUMBER */
	size_t		 child;		/* first element or member */
	size_t		 next;		/* next sibling; 0 = none */
};

/* A parsed document: nodes[0] is the top value. */
struct json_doc {
	struct json_node	*nodes;
	size_t			 nnodes;
	char			*strings;
};

#define JSON_WRITE_DEPTH 16

/*
 * A JSON writer: one document, written front to back into buf (malloc'd,
 * the caller's to free).  Out of memory, it sets failed and drops the rest.
 * Start it zeroed.
 */
struct json {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	bool	 failed;
	int	 depth;
	bool	 first[JSON_WRITE_DEPTH];	/* nothing written yet at depth */
};

/* ---- spool: the client's offline queue (离线队列) ----------------------- */

#define SPOOL_NAME		"spool"
#define SPOOL_REJECTED		"spool.rejected"
#define SPOOL_LOCK		"spool.lock"
#define SPOOL_LINE_MAX		(64 * 1024)	/* bytes of a record, '\n' excluded */
#define SPOOL_FILE_MAX		(16 * 1024 * 1024)
#define SPOOL_RECORDS_MAX	100000

/* Why a line of the spool was skipped. */
enum spool_damage_reason {
	SPOOL_DAMAGE_TORN = 1,		/* no '\n': a crash mid-write */
	SPOOL_DAMAGE_LONG,		/* over SPOOL_LINE_MAX */
	SPOOL_DAMAGE_SYNTAX,		/* not "v1 <ms> <worker> <crc> ..." */
	SPOOL_DAMAGE_CRC,		/* the request does not match its CRC */
	SPOOL_DAMAGE_REQUEST,		/* not a write with a valid id */
};

/* One record of the spool; pointers into the buffer that was parsed. */
struct spool_record {
	int64_t		 created_ms;
	char		 worker[PINGAN_CODE_MAX + 1];
	char		 verb[16];	/* canonical, e.g. "PATROL-START" */
	char		 id[PINGAN_UUID_STRLEN + 1];	/* lower case */
	const char	*request;	/* the request line, no '\n' */
	size_t		 requestlen;
	const char	*line;		/* the whole record, '\n' included */
	size_t		 linelen;
};

/* A skipped line of the spool (its '\n' excluded). */
struct spool_damage {
	const char			*line;
	size_t				 len;
	enum spool_damage_reason	 reason;
};

/* A parsed spool file. */
struct spool {
	struct spool_record	*records;
	size_t			 nrecords;
	struct spool_damage	*damaged;	/* the first SPOOL_RECORDS_MAX */
	size_t			 ndamaged;
	size_t			 ndamaged_total;
	const char		*rest;		/* past SPOOL_RECORDS_MAX records */
	size_t			 restlen;
};

/* ---- web: the dashboard's files, built in ---- */

/*
 * One file of the dashboard (src/web/), turned into C at build time by
 * src/embed.py --assets: no file on disk is ever read to serve the page.
 */
struct web_asset {
	const char		*path;	/* "/app.js": "/" + the file's name */
	const char		*type;	/* Content-Type; text has its charset */
	const unsigned char	*data;	/* len bytes, then a NUL */
	size_t			 len;
	const char		*etag;	/* strong, quoted: "\"<32 hex>\"" */
};

/* The table embed.py writes (web_assets.c), in the order meson gives. */
extern const struct web_asset web_assets[];
extern const size_t web_nassets;

/* ---- prototypes ---------------------------------------------------------- */

/* log.c */
void	 log_init(int level, bool foreground);
void	 log_set_level(int level);
void	 log_set_target(int target);
int	 log_get_level(void);
void	 log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
size_t	 log_quote(char *dst, size_t dstlen, const char *src, size_t srclen);

/* notify.c */
void	 notify_ready(void);
void	 notify_status(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 notify_stopping(void);
uint64_t notify_watchdog_usec(void);
void	 notify_watchdog(void);

/* config.c */
void	 config_defaults(struct config *);
int	 config_parse(struct config *, const char *buf, size_t len,
	    const char *fname, char *ret_err, size_t errlen);
int	 config_load(struct config *, const char *path, char *ret_err,
	    size_t errlen);
void	 config_free(struct config *);
struct throttle_policy;
void	 config_auth_policy(const struct config *, struct throttle_policy *);
/* Copies the reloadable keys of src into dst; returns how many changed. */
int	 config_reload(struct config *dst, const struct config *src);

/* calendar.c: the town's days, in its time zone (set once, process-wide) */
int	 calendar_set_timezone(const char *tz);
/* True if tz is "UTC" or a zone file of this host; changes nothing. */
bool	 calendar_timezone_valid(const char *tz);
int64_t	 calendar_now_ms(void);
int64_t	 calendar_mono_ms(void);
int32_t	 calendar_day_of(int64_t ms);
int64_t	 calendar_day_start(int32_t day);
int64_t	 calendar_at(int32_t day, int minutes);
int	 calendar_day_parse(const char *s, int32_t *ret_day);
void	 calendar_day_format(int32_t day, char out[11]);
int	 calendar_day_mmdd(int32_t day);
bool	 calendar_window_active(const struct window *, int32_t day);
void	 calendar_window_range(const struct window *, int32_t day,
	    int64_t *ret_from, int64_t *ret_to);
size_t	 calendar_format_time(int64_t ms, char *out, size_t outlen);
int	 calendar_window_parse(const char *spec, struct window *ret_window,
	    char *ret_err, size_t errlen);
int	 calendar_minutes_parse(const char *s, int *ret_minutes);

/* proto.c */
bool	 proto_utf8_valid(const char *s, size_t len);
int	 proto_parse_line(const char *line, size_t len,
	    struct proto_request *ret_req);
void	 proto_request_free(struct proto_request *);
const char *proto_field(const struct proto_request *, const char *key);
/* Writes src as a protocol value (quoted when needed); returns its length. */
size_t	 proto_quote(char *dst, size_t dstlen, const char *src);
const char *proto_err_code(enum proto_err);
const char *proto_err_message(enum proto_err);
int	 proto_kind_parse(const char *s, enum checkin_kind *ret_kind);
const char *proto_kind_name(enum checkin_kind);
const char *proto_kind_label(enum checkin_kind);
int	 proto_patrol_type_parse(const char *s, enum patrol_type *ret_type);
const char *proto_patrol_type_name(enum patrol_type);
const char *proto_patrol_type_label(enum patrol_type);
int	 proto_time_parse(const char *s, int64_t *ret_ms);
int	 proto_event_bounds(const struct config *, int64_t now, int64_t ms,
	    const char **ret_detail);
int	 proto_event_time(const struct proto_request *, const struct config *,
	    int64_t now, int64_t *ret_ms, const char **ret_detail);
int	 proto_hex(char c);
int	 proto_uuid_parse(const char *s, uint8_t ret_uuid[16]);
void	 proto_uuid_format(const uint8_t uuid[16], char out[PINGAN_UUID_STRLEN + 1]);
int	 proto_double_parse(const char *s, double lo, double hi, double *ret);
int	 proto_checkin_parse(const struct proto_request *, int note_max,
	    struct checkin *ret_checkin, const char **ret_what);

/* csv.c */
int	 csv_parse(const char *buf, size_t len, struct csv_file *ret_file,
	    int *ret_errline);
void	 csv_free(struct csv_file *);

/* roster.c */
struct roster *roster_new(void);
void	 roster_free(struct roster *);
void	 roster_sort(struct roster *);
const struct grid *roster_grid_by_code(const struct roster *, const char *);
const struct village *roster_village_by_code(const struct roster *,
	    const char *);
const struct village *roster_village_by_id(const struct roster *, int64_t);
const struct worker *roster_worker_by_code(const struct roster *,
	    const char *);
const struct worker *roster_worker_by_id(const struct roster *, int64_t);
int64_t	 roster_authenticate(const struct roster *, const struct worker *,
	    const char *token, size_t tokenlen);
bool	 roster_credential_active(const struct roster *, int64_t cred_id);
int64_t	 roster_authenticate_token(const struct roster *, const char *token,
	    size_t tokenlen, int64_t *ret_worker_id);
int	 roster_role_parse(const char *s, enum worker_role *ret_role);
const char *roster_role_name(enum worker_role);
const char *roster_role_label(enum worker_role);
int	 roster_team_parse(const char *s, enum worker_team *ret_team);
const char *roster_team_name(enum worker_team);
const char *roster_team_label(enum worker_team);
bool	 roster_code_valid(const char *s);

/* token.c */
int	 token_generate(char *out, size_t outlen);
void	 token_hash(const char *token, size_t len, uint8_t out[PINGAN_HASH_LEN]);
#define PASSWORD_HASH_MAX	160	/* bytes of an encoded hash, NUL included */
#define PASSWORD_MIN		8	/* characters of a password, at least */
#define PASSWORD_MAX		128	/* bytes */
int	 password_hash(const char *pw, size_t len, char *out, size_t outlen);
int	 password_parse(const char *enc, int *ret_log2n, int *ret_r,
	    int *ret_p, uint8_t salt[16], uint8_t key[32]);
bool	 password_verify(const char *pw, size_t len, const char *enc);
bool	 token_equal(const uint8_t a[PINGAN_HASH_LEN],
	    const uint8_t b[PINGAN_HASH_LEN]);

/* store.c */
struct store *store_open(const char *path, const struct config *,
	    char *ret_err, size_t errlen);
void	 store_close(struct store *);
int	 store_schema_version(struct store *);
int	 store_begin(struct store *);
int	 store_commit(struct store *);
int	 store_rollback(struct store *);
bool	 store_in_transaction(struct store *);
int	 store_flush(struct store *, bool force);
void	 store_set_wal_callback(struct store *,
	    void (*cb)(void *, int which, int frames, int limit), void *arg);
struct store *store_open_reader(const char *path, char *ret_err,
	    size_t errlen);
int	 store_checkpoint(struct store *, int which, int *ret_frames,
	    int *ret_done);
/* The database alone (no id index), read-only: pingan-report. */
struct store *store_open_readonly(const char *path, char *ret_err,
	    size_t errlen);
/*
 * An online copy into the new file dst (sqlite3_backup_*), verified by
 * integrity_check and the row counts of the main tables at its snapshot;
 * cb gets each table's count.  dst is removed on failure.
 */
int	 store_backup(struct store *, const char *dst, int (*cb)(void *arg,
	    const char *table, int64_t n), void *arg);
enum store_result store_checkin_insert(struct store *, const struct checkin *,
	    int64_t *ret_rowid);
int64_t	 store_checkin_count(struct store *);
int	 store_health(struct store *);
int	 store_probe(struct store *);
int	 store_password_set(struct store *, int64_t worker_id,
	    const char *hash);
int	 store_password_clear(struct store *, int64_t worker_id);
int	 store_password_get(struct store *, int64_t worker_id, char *ret_hash,
	    size_t len);
int	 store_checkins_page(struct store *, int64_t from_ms, int64_t to_ms,
	    int64_t after_ms, int64_t after_id, int64_t village_id,
	    int64_t worker_id, const char *kind, int limit,
	    int (*cb)(void *arg, const struct checkin_row *), void *arg);
struct roster *store_roster_load(struct store *);
int	 store_village_upsert(struct store *, const char *code,
	    const char *name, char *ret_err, size_t errlen);
int	 store_grid_upsert(struct store *, const char *code,
	    const char *village_code, const char *name, char *ret_err,
	    size_t errlen);
int	 store_worker_upsert(struct store *, const struct worker *,
	    const char *village_code, char *ret_err, size_t errlen);
int	 store_worker_set_disabled(struct store *, const char *code,
	    bool disabled);
int	 store_credential_add(struct store *, int64_t worker_id,
	    const uint8_t hash[PINGAN_HASH_LEN], int64_t *ret_id);
int	 store_credential_revoke(struct store *, int64_t worker_id,
	    int64_t cred_id);
/* Calls cb for each credential of the worker (revoked_ms 0 when active). */
int	 store_credential_list(struct store *, int64_t worker_id,
	    int (*cb)(void *arg, int64_t id, int64_t created_ms,
	    int64_t revoked_ms), void *arg);
bool	 store_is_empty(struct store *);
const char *store_errmsg(struct store *);
enum store_result store_field_insert(struct store *,
	    const struct field_record *, enum proto_err *ret_err,
	    char *ret_detail, size_t detaillen);
/*
 * The queries of summary.c, on a reader, each bounded by its range through
 * an index; between store_summary_begin and _end they share one snapshot.
 * Each calls cb per row and stops at, and returns, cb's first non-zero
 * result; -EIO on a database error.  village_id 0 is the post TOWN.
 */
int	 store_summary_begin(struct store *);
void	 store_summary_end(struct store *);
/* Each check-in of [from_ms, to_ms): one row each, for the caller to count. */
int	 store_summary_checkins(struct store *, int64_t from_ms, int64_t to_ms,
	    int (*cb)(void *arg, int64_t worker_id, int64_t village_id,
	    const char *kind, int64_t n), void *arg);
/* Patrols whose time overlaps [from_ms, to_ms); end_ms -1 while open. */
int	 store_summary_patrols(struct store *, int64_t from_ms, int64_t to_ms,
	    int (*cb)(void *arg, int64_t patrol_id, const uint8_t *uuid,
	    const char *type, int64_t worker_id, int64_t start_ms,
	    int64_t end_ms), void *arg);
int	 store_summary_patrol_members(struct store *, int64_t from_ms,
	    int64_t to_ms, int (*cb)(void *arg, int64_t patrol_id,
	    int64_t worker_id), void *arg);
int	 store_summary_patrol_areas(struct store *, int64_t from_ms,
	    int64_t to_ms, int (*cb)(void *arg, int64_t patrol_id,
	    int64_t village_id, int64_t grid_id), void *arg);
/* Points per patrol and sender in [points_from, points_to), the last's time. */
int	 store_summary_patrol_points(struct store *, int64_t from_ms,
	    int64_t to_ms, int64_t points_from_ms, int64_t points_to_ms,
	    int (*cb)(void *arg, int64_t patrol_id, int64_t worker_id,
	    int64_t n, int64_t last_ms), void *arg);
/* Check-ins per day (calendar.c's day numbers) and village in [from, to). */
int	 store_summary_checkin_days(struct store *, int64_t from_ms,
	    int64_t to_ms, int (*cb)(void *arg, int32_t day,
	    int64_t village_id, int64_t n), void *arg);
int	 store_summary_screenings(struct store *, const char *day_from,
	    const char *day_to, int (*cb)(void *arg, const char *day,
	    int64_t village_id, int64_t grid_id, int64_t worker_id, bool zero,
	    int64_t n), void *arg);
/* The last 16 duty records of each worker before before_ms, newest first. */
int	 store_summary_duty_before(struct store *, const int64_t *worker_ids,
	    size_t n, int64_t before_ms, int (*cb)(void *arg,
	    int64_t worker_id, int64_t village_id, bool on, int64_t event_ms),
	    void *arg);
int	 store_summary_duty(struct store *, int64_t from_ms, int64_t to_ms,
	    int (*cb)(void *arg, int64_t worker_id, int64_t village_id,
	    bool on, int64_t event_ms), void *arg);
/* EXPLAIN QUERY PLAN of every summary query (STORE_SUMMARY_QUERIES of them). */
#define STORE_SUMMARY_QUERIES	9
int	 store_summary_explain(struct store *, int (*cb)(void *arg,
	    const char *query, const char *detail), void *arg);
/*
 * The dispute ledger.  store_dispute_write carries out one write of the
 * ledger inside the writer's transaction: its id claimed first (a
 * duplicate stores nothing), the rules that depend on the database checked
 * (dispute_check; STORE_REFUSED with *ret_err and a detail, nothing
 * stored), then every row of it or none.  *ret_done: the reply's word.
 */
enum store_result store_dispute_write(struct store *,
	    const struct dispute_request *, enum proto_err *ret_err,
	    char *ret_detail, size_t detaillen, const char **ret_done);
/* Savepoints around a read that writes the audit log. */
int	 store_savepoint(struct store *, const char *name);
int	 store_savepoint_release(struct store *, const char *name);
void	 store_savepoint_rollback(struct store *, const char *name);
/*
 * The reads of ledger.c; each calls cb per row and stops at, and returns,
 * cb's first non-zero result; -EIO on a database error.
 */
int	 store_dispute_find(struct store *, const uint8_t uuid[16],
	    int (*cb)(void *arg, const struct dispute_row *), void *arg);
/*
 * The disputes with a status in status_mask (1 << enum dispute_status),
 * of a village (0: all), reported in [from_ms, to_ms), oldest first.
 */
int	 store_dispute_list(struct store *, unsigned status_mask,
	    int64_t village_id, int64_t from_ms, int64_t to_ms,
	    int (*cb)(void *arg, const struct dispute_row *), void *arg);
/*
 * The disputes a period [from_ms, to_ms) may count: reported in it, or
 * reported before its end and either not ended or changed since its start.
 */
int	 store_dispute_period(struct store *, int64_t from_ms, int64_t to_ms,
	    int64_t village_id, int (*cb)(void *arg,
	    const struct dispute_row *), void *arg);
/* The history of a dispute (state changes only, or all), oldest first. */
int	 store_dispute_history(struct store *, int64_t dispute_id,
	    bool states_only, int (*cb)(void *arg,
	    const struct dispute_history_row *), void *arg);
/* Every assignment of a dispute, current and ended (until_ms -1: current). */
int	 store_dispute_assignments(struct store *, int64_t dispute_id,
	    int (*cb)(void *arg, int64_t worker_id, bool leader,
	    int64_t from_ms, int64_t until_ms), void *arg);
/* The ids of the disputes a worker is currently assigned to. */
int	 store_dispute_assigned(struct store *, int64_t worker_id,
	    int (*cb)(void *arg, int64_t dispute_id), void *arg);
/* DISPUTE-LOG action=mediation entries dated in [from_ms, to_ms), per worker. */
int	 store_dispute_sessions(struct store *, int64_t from_ms, int64_t to_ms,
	    int (*cb)(void *arg, int64_t worker_id, int64_t n), void *arg);
/* The petition-risk register, in the order of village code, then added. */
int	 store_risk_list(struct store *, int (*cb)(void *arg,
	    const struct risk_row *), void *arg);
/* Its history before to_ms: risk id, time and status after, in order. */
int	 store_risk_states(struct store *, int64_t to_ms, int (*cb)(void *arg,
	    int64_t risk_id, int64_t event_ms, enum risk_status status,
	    bool added), void *arg);
int	 store_audit_add(struct store *, int64_t at_ms, int64_t worker_id,
	    const char *request, const char *record, const uint8_t uuid[16],
	    const char *peer);
/* A read by the admin socket's peer (no worker; peer says who). */
int	 store_audit_add_admin(struct store *, int64_t at_ms,
	    const char *request, const char *record, const uint8_t uuid[16],
	    const char *peer, const char *detail);
/*
 * The audit log of [from_ms, to_ms), of a worker (0: all), oldest first;
 * worker_id 0 for a read by the admin socket's peer.
 */
int	 store_audit_list(struct store *, int64_t from_ms, int64_t to_ms,
	    int64_t worker_id, int (*cb)(void *arg, int64_t at_ms,
	    int64_t worker_id, const char *request, const char *record,
	    const uint8_t *uuid, const char *peer, const char *detail),
	    void *arg);
/* EXPLAIN QUERY PLAN of the ledger's period queries, like the summary's. */
int	 store_dispute_explain(struct store *, int (*cb)(void *arg,
	    const char *query, const char *detail), void *arg);

/* field.c */
int	 field_parse(const struct proto_request *, const struct roster *,
	    const struct worker *sender, const struct config *, int64_t now_ms,
	    struct field_record *ret_record, const char **ret_detail);
void	 field_record_free(struct field_record *);
const char *field_verb_done(enum field_verb);

/* dispute.c: the ledger's requests and lifecycle, pure */
int	 dispute_parse(const struct proto_request *, const struct roster *,
	    const struct worker *sender, const struct config *, int64_t now_ms,
	    struct dispute_request *ret_request, const char **ret_detail);
void	 dispute_request_free(struct dispute_request *);
bool	 dispute_is_write(enum dispute_verb);
bool	 dispute_on_writer(const struct dispute_request *);
/* The lifecycle: next status, or -PROTO_ERR_BAD_TRANSITION with why. */
int	 dispute_transition(enum dispute_verb, enum dispute_status from,
	    bool with_reason, enum dispute_status to,
	    enum dispute_status *ret_next, const char **ret_why);
/* A change against the dispute's state: who, lifecycle, times. */
int	 dispute_check(const struct dispute_request *,
	    const struct dispute_state *, enum dispute_status *ret_next,
	    const char **ret_detail);
bool	 dispute_visible(enum worker_role, int64_t worker_village,
	    int64_t dispute_village, bool assigned);
/* The history's "changes" object of a write (malloc'd JSON), or NULL. */
char	*dispute_changes_json(const struct dispute_request *,
	    const struct dispute_state *before, enum dispute_status next);
const char *dispute_done(const struct dispute_request *, bool reassigned);
int	 dispute_categories_parse(const char *list,
	    char (*ret_names)[DISPUTE_CATEGORY_MAX + 1], int max);
int	 dispute_period_parse(enum ledger_kind, const char *s, int32_t today,
	    int32_t *ret_from, int32_t *ret_to,
	    char ret_label[DISPUTE_PERIOD_MAX]);
enum dispute_band dispute_band_of(int64_t people);
bool	 dispute_major(enum dispute_band, bool group_petition);
enum dispute_warning dispute_warning_of(enum dispute_status, int32_t deadline,
	    int32_t today, int yellow_days);
const char *dispute_status_name(enum dispute_status);
int	 dispute_status_parse(const char *, enum dispute_status *);
const char *dispute_level_name(enum dispute_level);
int	 dispute_level_parse(const char *, enum dispute_level *);
const char *dispute_source_name(enum dispute_source);
int	 dispute_source_parse(const char *, enum dispute_source *);
const char *dispute_band_name(enum dispute_band);
int	 dispute_band_parse(const char *, enum dispute_band *);
const char *dispute_action_name(enum dispute_action);
int	 dispute_action_parse(const char *, enum dispute_action *);
const char *dispute_warning_name(enum dispute_warning);
const char *dispute_verb_name(enum dispute_verb);
const char *risk_status_name(enum risk_status);
int	 risk_status_parse(const char *, enum risk_status *);
int	 dispute_roles_parse(const char *list, int *ret_mask);

/* ledger.c: the ledger's reads and reports, as JSON */
/*
 * Answers a ledger read (list, show, risk list, audit list, report) as one
 * line of JSON (malloc'd); NULL with *ret_err (not_found, forbidden,
 * storage) and a detail.  on_writer: inside the writer's transaction, and
 * the records returned with sensitive fields are added to the audit log;
 * otherwise on a reader, in a snapshot of its own.
 */
char	*ledger_read(struct store *, const struct dispute_request *,
	    bool on_writer, enum proto_err *ret_err, char *ret_detail,
	    size_t detaillen);
/* The disputes of a summary: of [from_ms, to_ms), states at min(to, now). */
struct ledger *ledger_summary(struct store *, const struct roster *,
	    int64_t from_ms, int64_t to_ms, int64_t now_ms, int64_t village_id,
	    int yellow_days);
void	 ledger_free(struct ledger *);
/*
 * The sensitive fields of a report's internal edition (REPORT-SENSITIVE):
 * the parties and contacts of the disputes of q's period and the
 * petition-risk register as it stood at its end, as one line of JSON
 * (malloc'd).  Each record returned is added to the audit log as read by
 * q->peer, inside the caller's transaction.  NULL with a message on
 * failure; *ret_records: the records returned.
 */
char	*ledger_sensitive(struct store *, const struct ledger_sensitive *q,
	    size_t *ret_records, char *ret_err, size_t errlen);
void	 ledger_summary_json(const struct ledger *, struct json *);
void	 ledger_found_mediated(const struct ledger *, int64_t from_ms,
	    int64_t to_ms, int64_t *ret_found, int64_t *ret_mediated);
size_t	 ledger_overdue_count(const struct ledger *);
/* The deadline day and the village code of the k-th overdue dispute. */
int32_t	 ledger_overdue_day(const struct ledger *, size_t k);
const char *ledger_overdue_village(const struct ledger *, size_t k);
int64_t	 ledger_overdue_reported(const struct ledger *, size_t k);
/* Writes the members of the k-th overdue dispute's gap after its "day". */
void	 ledger_overdue_json(const struct ledger *, size_t k, struct json *);

/* summary.c */
/*
 * Checks a summary's request (day=, from= and to=, week=, month=, year=,
 * village=; all optional: today) against the roster and fills p with it
 * and the config's rules.  0, or -PROTO_ERR_* with *what set.
 */
int	 summary_request(const struct proto_request *, const struct roster *,
	    const struct config *, int64_t now_ms, struct summary_params *p,
	    const char **what);
/* Computes the summary as one line of JSON (malloc'd, no newline); NULL with ret_err set on failure. */
char	*summary_json(struct store *, const struct summary_params *,
	    char *ret_err, size_t errlen);

/* writer.c */
struct writer *writer_new(struct store *, const struct config *,
	    struct event_base *, void (*done_cb)(struct wjob_list *, void *),
	    void *arg);
void	 writer_submit(struct writer *, struct wjob *);
void	 writer_read_submit(struct writer *, struct wjob *);
size_t	 writer_queued(struct writer *);
void	 writer_stats(struct writer *, struct writer_stats *ret_stats);
void	 writer_set_batch_max(struct writer *, int);
void	 writer_stop(struct writer *);	/* drains, then joins */
void	 writer_free(struct writer *);
void	 wjob_free(struct wjob *);

/* admin.c */
/*
 * Parses an admin request line from peer under cfg; body (for IMPORT) is
 * attached later.
 */
struct admin_request *admin_parse(const char *line, size_t len,
	    const char *peer, const struct config *cfg,
	    enum proto_err *ret_err);
/* Bytes of body an IMPORT request announces, 0 for other requests. */
size_t	 admin_body_len(const struct admin_request *);
void	 admin_request_free(struct admin_request *);
/* Runs an admin request on the writer thread: sets job->reply, job->roster. */
void	 admin_execute(struct store *, struct wjob *);

/* listener.c */
int	 listener_start(struct server *);
bool	 listener_is_loopback(const char *address);
int	 listener_admin_start(struct server *);
void	 listener_stop(struct server *);

/* conn.c */
/* tls: the context of a connection that speaks TLS, NULL for plain. */
struct conn *conn_new(struct server *, enum conn_kind, int fd,
	    const char *peer, struct ssl_ctx_st *tls);
void	 conn_close(struct conn *, const char *reason);
void	 conn_reap(struct server *);
void	 conn_jobs_done(struct server *, struct wjob_list *);
void	 conn_resume_queue(struct server *);
void	 conn_shutdown(struct server *);
void	 conn_shutdown_write(struct server *);
bool	 conn_all_flushed(struct server *);

/* fault.c (tests only: PINGAN_FAULTS names the control file) */
struct sqlite3;
bool	 fault_install(void);
void	 fault_attach(struct sqlite3 *);

/* vfs.c */
const char *vfs_register(void);

/* metrics.c */
extern const int metrics_http_statuses[METRICS_STATUSES];
int	 metrics_status_index(int status);
/* The Prometheus text exposition of v (malloc'd), or NULL. */
char	*metrics_render(const struct metrics_view *v);

/* session.c */
struct sessions *session_table_new(size_t max);
void	 session_table_free(struct sessions *);
int	 session_create(struct sessions *, int64_t worker_id, int64_t cred_id,
	    int64_t now_ms, int ttl_s, char ret_id[SESSION_ID_MAX]);
const struct session *session_find(struct sessions *, const char *id,
	    size_t len, int64_t now_ms);
void	 session_delete(struct sessions *, const char *id, size_t len,
	    int64_t now_ms);
size_t	 session_count(const struct sessions *, int64_t now_ms);
size_t	 session_forget_passwords(struct sessions *, int64_t worker_id);

/* http.c */
struct http *http_start(struct server *);
void	 http_stop(struct http *);
void	 http_free(struct http *);
void	 http_job_done(struct http *, struct wjob *);
void	 http_password_changed(struct http *, const char *worker_code);
int	 http_query_parse(const char *buf, size_t len, struct proto_request *,
	    const char **what);
const char *http_cookie_find(const char *header, const char *name,
	    size_t *ret_len);

/* throttle.c: pure; peers are "addr:port", "[addr6]:port" or bare */
struct throttle *throttle_new(size_t max_entries);
void	 throttle_free(struct throttle *);
/* Milliseconds the peer's block still lasts, 0 when it may log in. */
int64_t	 throttle_check(struct throttle *, const char *peer, int64_t now_ms);
/* Counts a failure; returns the delay before answering it, in ms. */
int64_t	 throttle_fail(struct throttle *, const struct throttle_policy *,
	    const char *peer, int64_t now_ms, bool *ret_blocked);
void	 throttle_success(struct throttle *, const char *peer);
size_t	 throttle_count(const struct throttle *);
int	 throttle_key(const char *peer, uint8_t ret_key[16]);

/* tls.c */
enum tls_failure {
	TLS_FAIL_OTHER = 0,	/* see the OpenSSL errors */
	TLS_FAIL_EXPIRED,	/* the certificate has expired */
	TLS_FAIL_NOT_YET_VALID,	/* not yet valid (or the clock is wrong) */
	TLS_FAIL_UNKNOWN_CA,	/* not signed by a CA we trust */
	TLS_FAIL_NAME,		/* does not name the server we asked for */
	TLS_FAIL_CERT,		/* another certificate problem */
	TLS_FAIL_NOT_TLS,	/* the peer does not speak TLS */
	TLS_FAIL_VERSION,	/* no TLS version both ends accept */
};
/* The queued OpenSSL errors as one line in buf (cleared); returns buf. */
const char *tls_error_string(char *buf, size_t size);
struct ssl_ctx_st *tls_server_new(const char *cert_path, const char *key_path,
	    char *ret_err, size_t errlen);
void	 tls_ctx_free(struct ssl_ctx_st *);
int	 tls_server_cert_days(struct ssl_ctx_st *, char *ret_subject,
	    size_t size, int *ret_days);
struct bufferevent *tls_bufferevent_new(struct event_base *, int fd,
	    struct ssl_ctx_st *);
/* The TLS reason of a bufferevent's error in buf, or NULL if none. */
const char *tls_bufferevent_error(struct bufferevent *, char *buf,
	    size_t size);
void	 tls_bufferevent_close_notify(struct bufferevent *);
bool	 tls_bufferevent_is_tls(struct bufferevent *);
/* ca_file NULL: the system's CA store. */
struct ssl_ctx_st *tls_client_new(const char *ca_file, char *ret_err,
	    size_t errlen);
int	 tls_client_expect(struct ssl_st *, const char *host);
enum tls_failure tls_failure_class(struct ssl_st *);

/* demo.c */
int	 demo_create(struct store *, FILE *out, const char *credfile);

/* json.c */
int	 json_parse(const char *buf, size_t len, struct json_doc *ret_doc);
void	 json_free(struct json_doc *);
const struct json_node *json_root(const struct json_doc *);
const struct json_node *json_first(const struct json_doc *,
	    const struct json_node *);
const struct json_node *json_next(const struct json_doc *,
	    const struct json_node *);
const struct json_node *json_get(const struct json_doc *,
	    const struct json_node *obj, const char *key);
const struct json_node *json_path(const struct json_doc *,
	    const struct json_node *obj, const char *path);
const char *json_str(const struct json_node *);
double	 json_num(const struct json_node *);
/* The writer: key is NULL for an array element or the top value. */
void	 json_raw(struct json *, const char *s, size_t n);
void	 json_open(struct json *, const char *key, char c);
void	 json_close(struct json *, char c);
void	 json_string(struct json *, const char *key, const char *s);
void	 json_int(struct json *, const char *key, int64_t v);
void	 json_bool(struct json *, const char *key, bool v);
void	 json_null(struct json *, const char *key);
void	 json_hours(struct json *, const char *key, int64_t ms);
void	 json_time(struct json *, const char *key, int64_t ms);
void	 json_day(struct json *, const char *key, int32_t day);
void	 json_uuid(struct json *, const char *key, const uint8_t uuid[16]);
void	 json_verbatim(struct json *, const char *key, const char *text);

/* spool.c */
uint32_t spool_crc32(const void *buf, size_t len);
/* The canonical verb if s names a write the spool may hold, else NULL. */
const char *spool_verb(const char *s);
int	 spool_format(int64_t created_ms, const char *worker,
	    const char *request, char **ret_line, size_t *ret_len);
/* Pure: records point into buf; bad lines are counted, never fatal. */
int	 spool_parse(const char *buf, size_t len, struct spool *ret_spool);
void	 spool_free(struct spool *);
const char *spool_damage_name(enum spool_damage_reason);
int	 spool_dir_path(char *ret_path, size_t size);
int	 spool_mkdir(const char *dir);
int	 spool_lock(const char *dir, int timeout_ms, int *ret_fd);
int	 spool_read(const char *dir, const char *name, char **ret_buf,
	    size_t *ret_len);
/* On error the file is as it was: the text was not saved. */
int	 spool_append(const char *dir, const char *name, const char *text,
	    size_t len);
/* On error the old file is whole; a crash leaves it or the new one. */
int	 spool_rewrite(const char *dir, const char *name, const struct spool *,
	    const bool *keep);
/* Removes what crashed rewrites left; returns how many, or -errno. */
int	 spool_clean(const char *dir, const char *name);

/* web.c */
/* The asset served at path ("/" is index.html; no query), or NULL. */
const struct web_asset *web_asset_find(const char *path);

#endif /* PINGAN_H */
