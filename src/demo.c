/*
 * demo.c: the demo town, for a first start on an empty database.
 *
 * 樟斗镇 (Zhangdou town) as its 2020 report describes it: 7 villages, each
 * with 3 grids and a grid worker, the 20-person patrol team of four teams,
 * 2 full-time mediators and one supervisor of the 综治中心.  Every worker
 * gets a token; tokens are shown only once, so all of them go to a file
 * readable by its owner only.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pingan.h"

struct demo_village {
	const char	*code;
	const char	*name;
};

struct demo_worker {
	const char	*code;
	const char	*name;
	enum worker_role role;
	enum worker_team team;
	const char	*village;	/* NULL: the town */
};

static const struct demo_village demo_villages[] = {
	{ "ZD", "樟斗社区" },
	{ "DK", "东坑村" },
	{ "CJ", "长江村" },
	{ "HZ", "黄竹村" },
	{ "TX", "田心村" },
	{ "HP", "和平村" },
	{ "XH", "新华村" },
};
#define DEMO_NVILLAGES	(sizeof(demo_villages) / sizeof(demo_villages[0]))
#define DEMO_GRIDS	3	/* per village */

static const char *demo_ordinals[DEMO_GRIDS] = { "一", "二", "三" };

static const struct demo_worker demo_workers[] = {
	/* 治安巡防队伍: 派出所民警, 执法队, 应急队, 平安志愿者. */
	{ "P001", "刘建华", WORKER_ROLE_PATROL, WORKER_TEAM_POLICE, "ZD" },
	{ "P002", "陈志强", WORKER_ROLE_PATROL, WORKER_TEAM_POLICE, "DK" },
	{ "P003", "黄伟", WORKER_ROLE_PATROL, WORKER_TEAM_POLICE, "CJ" },
	{ "P004", "钟国平", WORKER_ROLE_PATROL, WORKER_TEAM_POLICE, "HZ" },
	{ "P005", "赖文斌", WORKER_ROLE_PATROL, WORKER_TEAM_POLICE, "TX" },
	{ "P006", "李明辉", WORKER_ROLE_PATROL, WORKER_TEAM_ENFORCEMENT,
	    "HP" },
	{ "P007", "郭永生", WORKER_ROLE_PATROL, WORKER_TEAM_ENFORCEMENT,
	    "XH" },
	{ "P008", "曾庆华", WORKER_ROLE_PATROL, WORKER_TEAM_ENFORCEMENT,
	    "ZD" },
	{ "P009", "肖勇", WORKER_ROLE_PATROL, WORKER_TEAM_ENFORCEMENT, "DK" },
	{ "P010", "何振东", WORKER_ROLE_PATROL, WORKER_TEAM_ENFORCEMENT,
	    "CJ" },
	{ "P011", "张海涛", WORKER_ROLE_PATROL, WORKER_TEAM_EMERGENCY, "HZ" },
	{ "P012", "王林", WORKER_ROLE_PATROL, WORKER_TEAM_EMERGENCY, "TX" },
	{ "P013", "蓝春生", WORKER_ROLE_PATROL, WORKER_TEAM_EMERGENCY, "HP" },
	{ "P014", "吴晓东", WORKER_ROLE_PATROL, WORKER_TEAM_EMERGENCY, "XH" },
	{ "P015", "谢光荣", WORKER_ROLE_PATROL, WORKER_TEAM_EMERGENCY, "ZD" },
	{ "P016", "罗秀英", WORKER_ROLE_PATROL, WORKER_TEAM_VOLUNTEER, "DK" },
	{ "P017", "刘桂兰", WORKER_ROLE_PATROL, WORKER_TEAM_VOLUNTEER, "CJ" },
	{ "P018", "朱德明", WORKER_ROLE_PATROL, WORKER_TEAM_VOLUNTEER, "HZ" },
	{ "P019", "邱丽萍", WORKER_ROLE_PATROL, WORKER_TEAM_VOLUNTEER, "TX" },
	{ "P020", "温金发", WORKER_ROLE_PATROL, WORKER_TEAM_VOLUNTEER, "HP" },
	/* 网格员: one per village. */
	{ "G001", "胡小燕", WORKER_ROLE_GRID, WORKER_TEAM_NONE, "ZD" },
	{ "G002", "叶春华", WORKER_ROLE_GRID, WORKER_TEAM_NONE, "DK" },
	{ "G003", "廖志勇", WORKER_ROLE_GRID, WORKER_TEAM_NONE, "CJ" },
	{ "G004", "杨美玲", WORKER_ROLE_GRID, WORKER_TEAM_NONE, "HZ" },
	{ "G005", "周建国", WORKER_ROLE_GRID, WORKER_TEAM_NONE, "TX" },
	{ "G006", "卢红梅", WORKER_ROLE_GRID, WORKER_TEAM_NONE, "HP" },
	{ "G007", "邓晓明", WORKER_ROLE_GRID, WORKER_TEAM_NONE, "XH" },
	/* 专职调解员 and the 综治中心. */
	{ "M001", "陈玉兰", WORKER_ROLE_MEDIATOR, WORKER_TEAM_NONE, NULL },
	{ "M002", "刘德福", WORKER_ROLE_MEDIATOR, WORKER_TEAM_NONE, NULL },
	{ "S001", "黄振华", WORKER_ROLE_SUPERVISOR, WORKER_TEAM_NONE, NULL },
	/* duty staff: the town's 综治中心 and each village's station */
	{ "D000", "钟丽华", WORKER_ROLE_DUTY, WORKER_TEAM_NONE, NULL },
	{ "D001", "赖小平", WORKER_ROLE_DUTY, WORKER_TEAM_NONE, "ZD" },
	{ "D002", "黄桂英", WORKER_ROLE_DUTY, WORKER_TEAM_NONE, "DK" },
	{ "D003", "李春来", WORKER_ROLE_DUTY, WORKER_TEAM_NONE, "CJ" },
	{ "D004", "何秀珍", WORKER_ROLE_DUTY, WORKER_TEAM_NONE, "HZ" },
	{ "D005", "曾宪文", WORKER_ROLE_DUTY, WORKER_TEAM_NONE, "TX" },
	{ "D006", "刘冬梅", WORKER_ROLE_DUTY, WORKER_TEAM_NONE, "HP" },
	{ "D007", "邱志明", WORKER_ROLE_DUTY, WORKER_TEAM_NONE, "XH" },
};
#define DEMO_NWORKERS	(sizeof(demo_workers) / sizeof(demo_workers[0]))

/* The logins printed on the terminal; the file holds them all. */
static const char *demo_shown[] = { "P001", "G001", "D000", "M001",
    "S001" };

/* Writes the credentials to a new temporary file next to credfile. */
static int
demo_credfile_write(const char *credfile,
    char tokens[DEMO_NWORKERS][PINGAN_TOKEN_MAX], char *tmp, size_t tmplen)
{
	const struct demo_worker	*w;
	FILE				*f;
	size_t				 i;
	int				 fd, r;

	if ((size_t)snprintf(tmp, tmplen, "%s.XXXXXX", credfile) >= tmplen)
		return -ENAMETOOLONG;
	if ((fd = mkstemp(tmp)) == -1)
		return -errno;
	if (fchmod(fd, 0600) == -1 || (f = fdopen(fd, "w")) == NULL) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	for (i = 0; i < DEMO_NWORKERS; i++) {
		w = &demo_workers[i];
		fprintf(f, "%s\t%s\t%s\t%s\n", w->code, tokens[i],
		    roster_role_name(w->role), w->name);
	}
	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) == -1) {
		r = errno != 0 ? -errno : -EIO;
		fclose(f);
		unlink(tmp);
		return r;
	}
	if (fclose(f) != 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return 0;
}

/* Flushes the directory of a path, so that a rename in it is durable. */
static void
demo_sync_dir(const char *path)
{
	char	 dir[4096];
	char	*slash;
	int	 fd;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir))
		return;
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	(void)fsync(fd);
	close(fd);
}

/* Adds the villages, grids and workers and their tokens, uncommitted. */
static int
demo_store_roster(struct store *store,
    char tokens[DEMO_NWORKERS][PINGAN_TOKEN_MAX])
{
	const struct demo_village	*v;
	const struct demo_worker	*dw;
	const struct worker		*found;
	struct roster			*roster;
	struct worker			 w;
	uint8_t				 hash[PINGAN_HASH_LEN];
	char				 code[PINGAN_CODE_MAX + 1];
	char				 name[PINGAN_NAME_MAX + 1];
	int64_t				 id;
	size_t				 i, k;
	int				 r;

	for (i = 0; i < DEMO_NVILLAGES; i++) {
		v = &demo_villages[i];
		if ((r = store_village_upsert(store, v->code, v->name, NULL,
		    0)) != 0)
			return r;
		for (k = 0; k < DEMO_GRIDS; k++) {
			snprintf(code, sizeof(code), "%s-%02zu", v->code, k + 1);
			snprintf(name, sizeof(name), "%s第%s网格", v->name,
			    demo_ordinals[k]);
			if ((r = store_grid_upsert(store, code, v->code, name,
			    NULL, 0)) != 0)
				return r;
		}
	}
	for (i = 0; i < DEMO_NWORKERS; i++) {
		dw = &demo_workers[i];
		memset(&w, 0, sizeof(w));
		snprintf(w.code, sizeof(w.code), "%s", dw->code);
		snprintf(w.name, sizeof(w.name), "%s", dw->name);
		w.role = dw->role;
		w.team = dw->team;
		if ((r = store_worker_upsert(store, &w, dw->village, NULL,
		    0)) != 0)
			return r;
	}

	/* The transaction sees its own rows: that gives the worker ids. */
	if ((roster = store_roster_load(store)) == NULL)
		return -EIO;
	for (i = 0; i < DEMO_NWORKERS; i++) {
		if ((found = roster_worker_by_code(roster,
		    demo_workers[i].code)) == NULL) {
			roster_free(roster);
			return -EIO;
		}
		token_hash(tokens[i], strlen(tokens[i]), hash);
		if ((r = store_credential_add(store, found->id, hash,
		    &id)) != 0) {
			roster_free(roster);
			return r;
		}
	}
	roster_free(roster);
	explicit_bzero(hash, sizeof(hash));
	return 0;
}

/* Prints what was created and the demo logins. */
static void
demo_print(FILE *out, char tokens[DEMO_NWORKERS][PINGAN_TOKEN_MAX],
    const char *credfile)
{
	const struct demo_worker	*w;
	size_t				 i, k;

	fprintf(out, "演示乡镇已创建 (demo town created): 樟斗镇 (Zhangdou), "
	    "%zu个村(居) (villages), %zu个网格 (grids), %zu名人员 "
	    "(workers)\n\n", DEMO_NVILLAGES, DEMO_NVILLAGES * DEMO_GRIDS,
	    DEMO_NWORKERS);
	fprintf(out, "  人员   令牌 (token)%31s  角色 (role), 姓名 (name)\n",
	    "");
	for (k = 0; k < sizeof(demo_shown) / sizeof(demo_shown[0]); k++) {
		for (i = 0; i < DEMO_NWORKERS; i++) {
			w = &demo_workers[i];
			if (strcmp(w->code, demo_shown[k]) != 0)
				continue;
			fprintf(out, "  %-6s %s  %s (%s) %s\n", w->code,
			    tokens[i], roster_role_label(w->role),
			    roster_role_name(w->role), w->name);
		}
	}
	fprintf(out, "\n全部%zu个令牌只显示这一次,已写入 (all %zu tokens, shown "
	    "only once, are in): %s\n", DEMO_NWORKERS, DEMO_NWORKERS,
	    credfile);
	fflush(out);
}

/*
 * Creates the demo town when the database holds no roster yet.  The
 * credentials file is written to a temporary name first and renamed only
 * after the commit, so it never lists tokens the database does not have.
 * Returns 1 if the town was created, 0 if the database was not empty.
 */
int
demo_create(struct store *store, FILE *out, const char *credfile)
{
	char	 tokens[DEMO_NWORKERS][PINGAN_TOKEN_MAX];
	char	 tmp[4096];
	size_t	 i;
	int	 r;

	if (!store_is_empty(store))
		return 0;
	for (i = 0; i < DEMO_NWORKERS; i++) {
		if ((r = token_generate(tokens[i], sizeof(tokens[i]))) != 0)
			goto out;
	}
	if ((r = demo_credfile_write(credfile, tokens, tmp, sizeof(tmp))) != 0)
		goto out;
	if ((r = store_begin(store)) != 0) {
		unlink(tmp);
		goto out;
	}
	if ((r = demo_store_roster(store, tokens)) != 0 ||
	    (r = store_commit(store)) != 0) {
		store_rollback(store);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, credfile) == -1) {
		r = -errno;
		unlink(tmp);
		goto out;
	}
	demo_sync_dir(credfile);
	if (out != NULL)
		demo_print(out, tokens, credfile);
	r = 1;
out:
	explicit_bzero(tokens, sizeof(tokens));
	return r;
}
