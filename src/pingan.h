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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/types.h>

#define PINGAN_PROTO_VERSION 1

struct event_base;
struct admin_request;

/* Hard limits of the data model; the configurable ones live in struct config. */
#define PINGAN_CODE_MAX   32	/* village, grid and worker codes, bytes */
#define PINGAN_NAME_MAX   128	/* names, bytes of UTF-8 */
#define PINGAN_PHONE_MAX  32
#define PINGAN_TOKEN_MAX  128	/* a presented token, bytes */
#define PINGAN_FIELDS_MAX 16	/* key=value fields in one request */
#define PINGAN_UUID_STRLEN 36
#define PINGAN_PEER_MAX   64	/* "address:port" of a peer */
#define PINGAN_HASH_LEN   32	/* SHA-256 */

/* ---- config ------------------------------------------------------------- */

enum config_sync {
	CONFIG_SYNC_OFF = 0,
	CONFIG_SYNC_NORMAL = 1,
	CONFIG_SYNC_FULL = 2,
	CONFIG_SYNC_EXTRA = 3,
};

/* The daemon's configuration; see conf/pingand.conf for every key. */
struct config {
	char	*listen;		/* address to listen on */
	int	 port;
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
	int	 pipeline_max;		/* requests in flight per connection */
	int	 output_max;		/* bytes of unsent replies per connection */
	int	 batch_max;		/* requests in one write transaction */
	int	 queue_max;		/* requests waiting for the writer */
	int	 max_future;		/* seconds an event time may lie ahead */
	int	 max_past_days;		/* days an event time may lie behind */
	int	 shutdown_timeout;	/* seconds to flush replies at exit */
	int	 synchronous;		/* enum config_sync */
	int	 checkpoint_pages;	/* WAL auto-checkpoint, pages */
	int	 log_level;		/* enum log_level */
};

/* ---- log ------------------------------------------------------------------ */

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
	enum checkin_kind kind;
	int64_t		 event_ms;	/* when it happened, per the terminal */
	int64_t		 received_ms;	/* server clock */
	bool		 has_pos;
	double		 lat, lon;
	char		*note;		/* NULL or UTF-8 */
	char		 peer[PINGAN_PEER_MAX];
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
	STORE_FAILED,
};

/* ---- writer --------------------------------------------------------------- */

enum wjob_type {
	WJOB_CHECKIN = 0,
	WJOB_ADMIN,
};

struct conn;
struct pending;

/*
 * A job for the writer thread.  The loop allocates it, the writer fills
 * in the result, the loop frees it after delivering the reply.
 */
struct wjob {
	enum wjob_type		 type;
	struct conn		*conn;		/* owner; NULL once it closed */
	struct pending		*pending;	/* the reply slot in the conn */
	struct checkin		 checkin;
	struct admin_request	*admin;
	/* results, set by the writer */
	enum store_result	 result;
	int64_t			 rowid;
	char			*reply;		/* admin: full reply text */
	struct roster		*roster;	/* admin: new snapshot, if changed */
	STAILQ_ENTRY(wjob)	 entry;
};
STAILQ_HEAD(wjob_list, wjob);

struct writer;

/* Statistics kept by the writer (read under its lock). */
struct writer_stats {
	uint64_t	 jobs;
	uint64_t	 commits;
	uint64_t	 failed_commits;
	uint64_t	 max_batch;
};

/* ---- admin ---------------------------------------------------------------- */

/* An admin request, parsed on the loop, executed by the writer. */
struct admin_request {
	struct proto_request	 req;		/* verb and fields */
	char			 verb[32];	/* "village-add", ... */
	char			*body;		/* IMPORT payload, or NULL */
	size_t			 bodylen;
};

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
	unsigned		 paused;	/* CONN_PAUSE_* bits */
	bool			 authed;
	int64_t			 worker_id;
	int64_t			 cred_id;
	struct event		*auth_timer;	/* AUTH deadline */
	struct event		*delay_timer;	/* failed-AUTH delay */
	struct pending		*delayed;	/* reply held by delay_timer */
	struct pending_list	 pendings;
	int			 npending;
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
	struct evconnlistener	*listener;
	struct evconnlistener	*admin_listener;
	struct event		*accept_timer;	/* re-arm after EMFILE */
	struct event		*reap_ev;	/* frees closed connections */
	struct conn_list	 conns;
	struct conn_list	 graveyard;
	int			 nconns;
	uint64_t		 next_conn_id;
	bool			 queue_paused;	/* some conns wait on the queue */
	bool			 shutting_down;
	char			*line;		/* scratch line buffer */
	size_t			 linesize;
};

/* ---- prototypes ---------------------------------------------------------- */

/* log.c */
void	 log_init(int level, bool foreground);
void	 log_set_level(int level);
int	 log_get_level(void);
void	 log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
size_t	 log_quote(char *dst, size_t dstlen, const char *src, size_t srclen);

/* config.c */
void	 config_defaults(struct config *);
int	 config_parse(struct config *, const char *buf, size_t len,
	    const char *fname, char *ret_err, size_t errlen);
int	 config_load(struct config *, const char *path, char *ret_err,
	    size_t errlen);
void	 config_free(struct config *);
/* Copies the reloadable keys of src into dst; returns how many changed. */
int	 config_reload(struct config *dst, const struct config *src);

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
int	 proto_time_parse(const char *s, int64_t *ret_ms);
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
void	 store_set_wal_callback(struct store *, void (*cb)(void *), void *arg);
struct store *store_open_reader(const char *path, char *ret_err,
	    size_t errlen);
int	 store_checkpoint(struct store *);
enum store_result store_checkin_insert(struct store *, const struct checkin *,
	    int64_t *ret_rowid);
int64_t	 store_checkin_count(struct store *);
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

/* writer.c */
struct writer *writer_new(struct store *, const struct config *,
	    struct event_base *, void (*done_cb)(struct wjob_list *, void *),
	    void *arg);
void	 writer_submit(struct writer *, struct wjob *);
size_t	 writer_queued(struct writer *);
void	 writer_stats(struct writer *, struct writer_stats *ret_stats);
void	 writer_set_batch_max(struct writer *, int);
void	 writer_stop(struct writer *);	/* drains, then joins */
void	 writer_free(struct writer *);
void	 wjob_free(struct wjob *);

/* admin.c */
/* Parses an admin request line; body (for IMPORT) is attached later. */
struct admin_request *admin_parse(const char *line, size_t len,
	    enum proto_err *ret_err);
/* Bytes of body an IMPORT request announces, 0 for other requests. */
size_t	 admin_body_len(const struct admin_request *);
void	 admin_request_free(struct admin_request *);
/* Runs an admin request on the writer thread: sets job->reply, job->roster. */
void	 admin_execute(struct store *, struct wjob *);

/* listener.c */
int	 listener_start(struct server *);
int	 listener_admin_start(struct server *);
void	 listener_stop(struct server *);

/* conn.c */
struct conn *conn_new(struct server *, enum conn_kind, int fd,
	    const char *peer);
void	 conn_close(struct conn *, const char *reason);
void	 conn_reap(struct server *);
void	 conn_jobs_done(struct server *, struct wjob_list *);
void	 conn_resume_queue(struct server *);
void	 conn_shutdown(struct server *);
void	 conn_shutdown_write(struct server *);
bool	 conn_all_flushed(struct server *);

/* demo.c */
int	 demo_create(struct store *, FILE *out, const char *credfile);

#endif /* PINGAN_H */
