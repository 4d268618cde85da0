/*
 * engine.c - the live-query engine: a private in-memory SQLite database,
 * the eponymous virtual tables over the host, and the guards that keep
 * every query read-only and bounded.
 *
 * Guards, outermost first: the SQL text is capped and must hold exactly one
 * statement whose first word reads (SELECT, WITH, VALUES, EXPLAIN or a
 * PRAGMA on the allow-list); the authorizer refuses every action but
 * SELECT, READ, FUNCTION (minus a deny-list) and recursive CTEs; the
 * prepared statement must be read-only by SQLite's own account; SQLite's
 * limits are lowered and extension loading is off; a progress handler
 * enforces the wall-clock timeout, and the rows and bytes handed to the
 * caller are counted against caps.  The database is ":memory:" with
 * temporary storage in memory, so no query can touch a file.  This file
 * must never let a query write, attach a database, load code or outlive
 * its limits.
 */
#include "query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "err.h"
#include "tables.h"
#include "util.h"

#define QUERY_PROGRESS_OPS 1000         /* VM steps between clock checks */
#define QUERY_COLUMNS_MAX 200
#define QUERY_EXPR_DEPTH_MAX 100
#define QUERY_COMPOUND_MAX 50
#define QUERY_LIKE_PATTERN_MAX 1000
#define QUERY_VARIABLES_MAX 32
#define QUERY_FUNCTION_ARGS_MAX 32
#define QUERY_VDBE_OPS_MAX 100000
#define QUERY_VALUE_MAX (8 * 1024 * 1024) /* one string or blob */
#define QUERY_DENIED_MAX MAMORI_QUERY_ERR_MAX

static const struct mamori_qtable *const tables[] = {
	&mamori_qtable_authorized_keys,
	&mamori_qtable_crontab,
	&mamori_qtable_deb_packages,
	&mamori_qtable_file,
	&mamori_qtable_groups,
	&mamori_qtable_hash,
	&mamori_qtable_interface_addresses,
	&mamori_qtable_kernel_modules,
	&mamori_qtable_listening_ports,
	&mamori_qtable_logged_in_users,
	&mamori_qtable_mounts,
	&mamori_qtable_os_version,
	&mamori_qtable_process_open_sockets,
	&mamori_qtable_processes,
	&mamori_qtable_system_info,
	&mamori_qtable_systemd_units,
	&mamori_qtable_usb_devices,
	&mamori_qtable_users,
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* Functions a query may never call, whatever SQLite was built with. */
static const char *const denied_functions[] = {
	"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
	"sqlite_dbpage", "zipfile", "sqlar_compress", "sqlar_uncompress",
};

/* PRAGMAs that only describe the schema. */
static const char *const allowed_pragmas[] = {"table_info", "table_xinfo"};

struct mamori_query_engine {
	sqlite3 *db;
	struct mamori_collect_ctx collect;
	char *root;
	/* The run in progress. */
	struct mamori_qctx q;
	int timed_out;
	int checking;                   /* authorizer active */
	char denied[QUERY_DENIED_MAX];  /* why the authorizer said no */
	char table_err[MAMORI_QUERY_ERR_MAX];
	int table_code;
};

struct module_aux {
	struct mamori_query_engine *e;
	const struct mamori_qtable *t;
};

struct qvtab {
	sqlite3_vtab base;
	struct module_aux *aux;
};

struct qcursor {
	sqlite3_vtab_cursor base;
	struct mamori_qrows rows;
	size_t at;
};

static const char *const *
names_sorted(size_t *n)
{
	static const char *names[NTABLES];
	size_t i;

	for (i = 0; i < NTABLES; i++)
		names[i] = tables[i]->name;
	*n = NTABLES;
	return names;
}

const char *const *
mamori_query_table_names(size_t *n)
{
	return names_sorted(n);
}

/* ---- the virtual table module ------------------------------------------- */

static int
vt_connect(sqlite3 *db, void *paux, int argc, const char *const *argv,
    sqlite3_vtab **out, char **errp)
{
	struct module_aux *aux = paux;
	const struct mamori_qtable *t = aux->t;
	struct qvtab *vt;
	char decl[2048];
	size_t off, i;
	int n;

	(void)argc;
	(void)argv;
	(void)errp;
	*out = NULL;
	off = 0;
	n = snprintf(decl, sizeof(decl), "CREATE TABLE x(");
	if (n < 0)
		return SQLITE_ERROR;
	off = (size_t)n;
	for (i = 0; i < t->ncols; i++) {
		n = snprintf(decl + off, sizeof(decl) - off, "%s%s %s",
		    i == 0 ? "" : ", ", t->cols[i].name,
		    t->cols[i].type == MAMORI_QCOL_INT ? "INTEGER" :
		    t->cols[i].type == MAMORI_QCOL_REAL ? "REAL" : "TEXT");
		if (n < 0 || (size_t)n >= sizeof(decl) - off)
			return SQLITE_ERROR;
		off += (size_t)n;
	}
	if (sizeof(decl) - off < 2)
		return SQLITE_ERROR;
	decl[off++] = ')';
	decl[off] = '\0';
	if (sqlite3_declare_vtab(db, decl) != SQLITE_OK)
		return SQLITE_ERROR;
	if ((vt = sqlite3_malloc(sizeof(*vt))) == NULL)
		return SQLITE_NOMEM;
	memset(vt, 0, sizeof(*vt));
	vt->aux = aux;
	*out = &vt->base;
	return SQLITE_OK;
}

static int
vt_disconnect(sqlite3_vtab *v)
{
	sqlite3_free(v);
	return SQLITE_OK;
}

static int
is_key(const struct mamori_qtable *t, int col)
{
	return col >= 0 && (col == t->key[0] || col == t->key[1]);
}

/*
 * Uses the first usable "=" (or IN, which SQLite turns into one xFilter
 * per value) on a key column.  A table that needs a key and has no "=" on
 * one at all fails with a message; one whose "=" is only usable in another
 * plan (a join order) says SQLITE_CONSTRAINT so SQLite picks that plan.
 */
static int
vt_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
	struct qvtab *vt = (struct qvtab *)v;
	const struct mamori_qtable *t = vt->aux->t;
	int i, found = 0, used = -1;

	for (i = 0; i < info->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &info->aConstraint[i];

		if (c->op != SQLITE_INDEX_CONSTRAINT_EQ ||
		    !is_key(t, c->iColumn))
			continue;
		found = 1;
		if (c->usable && used < 0)
			used = i;
	}
	if (used >= 0) {
		info->aConstraintUsage[used].argvIndex = 1;
		info->aConstraintUsage[used].omit = 0;
		info->idxNum = info->aConstraint[used].iColumn;
		info->estimatedCost = 10;
		info->estimatedRows = 10;
		return SQLITE_OK;
	}
	if (t->key_required) {
		if (found)
			return SQLITE_CONSTRAINT;
		sqlite3_free(v->zErrMsg);
		v->zErrMsg = sqlite3_mprintf("table %s requires a constraint "
		    "on %s%s%s", t->name, t->cols[t->key[0]].name,
		    t->key[1] >= 0 ? " or " : "",
		    t->key[1] >= 0 ? t->cols[t->key[1]].name : "");
		return SQLITE_ERROR;
	}
	info->idxNum = -1;
	info->estimatedCost = 100000;
	info->estimatedRows = 1000;
	return SQLITE_OK;
}

static int
vt_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
	struct qcursor *c;

	(void)v;
	if ((c = sqlite3_malloc(sizeof(*c))) == NULL)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	*out = &c->base;
	return SQLITE_OK;
}

static int
vt_close(sqlite3_vtab_cursor *cur)
{
	struct qcursor *c = (struct qcursor *)cur;

	mamori_qrows_free(&c->rows);
	sqlite3_free(c);
	return SQLITE_OK;
}

static int
vt_filter(sqlite3_vtab_cursor *cur, int idx_num, const char *idx_str,
    int argc, sqlite3_value **argv)
{
	struct qcursor *c = (struct qcursor *)cur;
	struct qvtab *vt = (struct qvtab *)cur->pVtab;
	struct mamori_query_engine *e = vt->aux->e;
	const struct mamori_qtable *t = vt->aux->t;
	const char *value = NULL;
	char number[32];
	int r;

	(void)idx_str;
	mamori_qrows_free(&c->rows);
	mamori_qrows_init(&c->rows, t->ncols, &e->q);
	c->at = 0;
	if (idx_num >= 0 && argc >= 1) {
		/* An integer key compared with 1.0 or '1' is 1. */
		if (t->cols[idx_num].type == MAMORI_QCOL_INT &&
		    sqlite3_value_numeric_type(argv[0]) != SQLITE_TEXT &&
		    sqlite3_value_type(argv[0]) != SQLITE_NULL) {
			double d = sqlite3_value_double(argv[0]);
			sqlite3_int64 i = sqlite3_value_int64(argv[0]);

			if ((double)i != d)
				return SQLITE_OK;       /* 1.5: no row */
			snprintf(number, sizeof(number), "%lld", (long long)i);
			value = number;
		} else
			value = (const char *)sqlite3_value_text(argv[0]);
		if (value == NULL)
			return SQLITE_OK;       /* "= NULL" matches nothing */
	}
	r = t->gen(&e->q, idx_num >= 0 && argc >= 1 ? idx_num : -1, value,
	    &c->rows);
	if (r == 0)
		return SQLITE_OK;
	mamori_qrows_free(&c->rows);
	e->table_code = r;
	if (r == MAMORI_ERR_TIMEOUT)
		e->timed_out = 1;
	snprintf(e->table_err, sizeof(e->table_err), "table %s: %s", t->name,
	    r == MAMORI_ERR_TOO_LARGE ? "more rows or text than one scan may "
	    "hold; narrow the query with WHERE" : mamori_strerror(r));
	sqlite3_free(vt->base.zErrMsg);
	vt->base.zErrMsg = sqlite3_mprintf("%s", e->table_err);
	return SQLITE_ERROR;
}

static int
vt_next(sqlite3_vtab_cursor *cur)
{
	((struct qcursor *)cur)->at++;
	return SQLITE_OK;
}

static int
vt_eof(sqlite3_vtab_cursor *cur)
{
	struct qcursor *c = (struct qcursor *)cur;

	return c->at >= c->rows.nrows;
}

static int
vt_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct qcursor *c = (struct qcursor *)cur;
	const struct mamori_qcell *cell;

	if (col < 0 || (size_t)col >= c->rows.ncols ||
	    c->at >= c->rows.nrows) {
		sqlite3_result_null(ctx);
		return SQLITE_OK;
	}
	cell = mamori_qrows_cell(&c->rows, c->at, (size_t)col);
	switch (cell->type) {
	case MAMORI_QUERY_INT:
		sqlite3_result_int64(ctx, cell->i);
		break;
	case MAMORI_QUERY_REAL:
		sqlite3_result_double(ctx, cell->d);
		break;
	case MAMORI_QUERY_TEXT:
		sqlite3_result_text(ctx, cell->s, (int)cell->len,
		    SQLITE_TRANSIENT);
		break;
	default:
		sqlite3_result_null(ctx);
	}
	return SQLITE_OK;
}

static int
vt_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	*rowid = (sqlite3_int64)((struct qcursor *)cur)->at;
	return SQLITE_OK;
}

static const sqlite3_module module = {
	.iVersion = 1,
	.xCreate = NULL,                /* eponymous only */
	.xConnect = vt_connect,
	.xBestIndex = vt_best_index,
	.xDisconnect = vt_disconnect,
	.xDestroy = vt_disconnect,
	.xOpen = vt_open,
	.xClose = vt_close,
	.xFilter = vt_filter,
	.xNext = vt_next,
	.xEof = vt_eof,
	.xColumn = vt_column,
	.xRowid = vt_rowid,
	/* no xUpdate: the tables are read-only */
};

/* ---- guards ------------------------------------------------------------- */

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
deny(struct mamori_query_engine *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Keeps the first refusal: it names what the query asked for. */
static void
deny(struct mamori_query_engine *e, const char *fmt, ...)
{
	va_list ap;

	if (e->denied[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(e->denied, sizeof(e->denied), fmt, ap);
	va_end(ap);
}

static int
authorize(void *ud, int action, const char *a1, const char *a2,
    const char *dbname, const char *trigger)
{
	struct mamori_query_engine *e = ud;
	size_t i;

	(void)dbname;
	(void)trigger;
	if (!e->checking)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_FUNCTION:
		for (i = 0; i < sizeof(denied_functions) /
		    sizeof(denied_functions[0]); i++) {
			if (a2 != NULL &&
			    strcasecmp(a2, denied_functions[i]) == 0) {
				deny(e, "query may not call %s()", a2);
				return SQLITE_DENY;
			}
		}
		return SQLITE_OK;
	case SQLITE_PRAGMA:
		for (i = 0; i < sizeof(allowed_pragmas) /
		    sizeof(allowed_pragmas[0]); i++) {
			if (a1 != NULL && strcasecmp(a1, allowed_pragmas[i]) ==
			    0)
				return SQLITE_OK;
		}
		deny(e, "query may not use PRAGMA %s (only table_info and "
		    "table_xinfo)", a1 != NULL ? a1 : "?");
		return SQLITE_DENY;
	case SQLITE_ATTACH:
		deny(e, "query may not attach databases: %s", "ATTACH");
		return SQLITE_DENY;
	case SQLITE_DETACH:
		deny(e, "query may not attach databases: %s", "DETACH");
		return SQLITE_DENY;
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		deny(e, "query may not control transactions: %s",
		    a1 != NULL ? a1 : "SAVEPOINT");
		return SQLITE_DENY;
	case SQLITE_INSERT:
		deny(e, "query writes are not allowed: %s", "INSERT");
		return SQLITE_DENY;
	case SQLITE_UPDATE:
		/* SQLite declaring an eponymous table the engine did not
		 * connect in advance: a PRAGMA function. */
		if (a1 != NULL && strcmp(a1, "sqlite_master") == 0)
			deny(e, "query may not use %s", "PRAGMA functions");
		else
			deny(e, "query writes are not allowed: %s", "UPDATE");
		return SQLITE_DENY;
	case SQLITE_DELETE:
		deny(e, "query writes are not allowed: %s", "DELETE");
		return SQLITE_DENY;
	case SQLITE_ALTER_TABLE:
		deny(e, "query writes are not allowed: %s", "ALTER");
		return SQLITE_DENY;
	case SQLITE_ANALYZE:
		deny(e, "query writes are not allowed: %s", "ANALYZE");
		return SQLITE_DENY;
	case SQLITE_REINDEX:
		deny(e, "query writes are not allowed: %s", "REINDEX");
		return SQLITE_DENY;
	case SQLITE_DROP_INDEX: case SQLITE_DROP_TABLE:
	case SQLITE_DROP_TEMP_INDEX: case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_TEMP_TRIGGER: case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_TRIGGER: case SQLITE_DROP_VIEW:
	case SQLITE_DROP_VTABLE:
		deny(e, "query writes are not allowed: %s", "DROP");
		return SQLITE_DENY;
	default:                        /* CREATE_* and anything new */
		deny(e, "query writes are not allowed: %s", "CREATE");
		return SQLITE_DENY;
	}
}

static int
progress(void *ud)
{
	struct mamori_query_engine *e = ud;

	if (mamori_qctx_expired(&e->q)) {
		e->timed_out = 1;
		return 1;
	}
	return 0;
}

/* Skips white space and SQL comments; returns where the next token starts. */
static const char *
skip_space(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		    *p == '\f' || *p == '\v' || *p == ';')
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");

			p = end == NULL ? p + strlen(p) : end + 2;
		} else
			return p;
	}
}

/*
 * Checks the first word of the statement: the words that start writes,
 * transactions or ATTACH are refused here with the word in the message
 * (the authorizer would refuse them too; this names them better and covers
 * VACUUM, which can write a file and does not ask the authorizer).  Other
 * words go on to SQLite, which names what is wrong with them.
 */
static int
check_first_word(const char *sql, char *err, size_t errlen)
{
	static const char *const transactions[] = {"BEGIN", "COMMIT", "END",
	    "ROLLBACK", "SAVEPOINT", "RELEASE"};
	static const char *const writing[] = {"INSERT", "UPDATE", "DELETE",
	    "REPLACE", "CREATE", "DROP", "ALTER", "VACUUM", "REINDEX",
	    "ANALYZE", "UPSERT"};
	char word[16];
	size_t n = 0, i;
	const char *p = skip_space(sql);

	while (n < sizeof(word) - 1 && ((p[n] >= 'a' && p[n] <= 'z') ||
	    (p[n] >= 'A' && p[n] <= 'Z'))) {
		word[n] = (char)(p[n] & ~0x20);
		n++;
	}
	word[n] = '\0';
	if (n == 0)
		return 0;               /* let SQLite say what is wrong */
	for (i = 0; i < sizeof(writing) / sizeof(writing[0]); i++)
		if (strcmp(word, writing[i]) == 0) {
			set_err(err, errlen, "query writes are not allowed: "
			    "%s", word);
			return MAMORI_ERR_QUERY_DENIED;
		}
	for (i = 0; i < sizeof(transactions) / sizeof(transactions[0]); i++)
		if (strcmp(word, transactions[i]) == 0) {
			set_err(err, errlen, "query may not control "
			    "transactions: %s", word);
			return MAMORI_ERR_QUERY_DENIED;
		}
	if (strcmp(word, "ATTACH") == 0 || strcmp(word, "DETACH") == 0) {
		set_err(err, errlen, "query may not attach databases: %s",
		    word);
		return MAMORI_ERR_QUERY_DENIED;
	}
	return 0;                       /* SQLite names the error */
}

/* ---- engine ------------------------------------------------------------- */

int
mamori_query_engine_new(const struct mamori_query_config *cfg,
    struct mamori_query_engine **out)
{
	struct mamori_query_engine *e = NULL;
	struct module_aux *aux;
	char *errmsg = NULL;
	size_t i;
	int r = MAMORI_ERR_INTERNAL, on = 1, off = 0;

	*out = NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((e->root = strdup(cfg != NULL && cfg->root != NULL ? cfg->root :
	    "")) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	e->collect.root = e->root;
	e->collect.live = cfg != NULL ? cfg->live : 1;
	e->q.collect = &e->collect;
	/* Bounds what one query can hold (a UNION's set, a sort). */
	if (sqlite3_hard_heap_limit64(-1) == 0 ||
	    sqlite3_hard_heap_limit64(-1) > MAMORI_QUERY_HEAP_MAX)
		sqlite3_hard_heap_limit64(MAMORI_QUERY_HEAP_MAX);
	if (sqlite3_open_v2(":memory:", &e->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_PRIVATECACHE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_db_config(e->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
	    off, NULL) != SQLITE_OK ||
	    sqlite3_db_config(e->db, SQLITE_DBCONFIG_DEFENSIVE, on, NULL) !=
	    SQLITE_OK ||
	    sqlite3_db_config(e->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, off,
	    NULL) != SQLITE_OK ||
	    sqlite3_db_config(e->db, SQLITE_DBCONFIG_ENABLE_VIEW, off,
	    NULL) != SQLITE_OK ||
	    sqlite3_db_config(e->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, off,
	    NULL) != SQLITE_OK)
		goto out;
	/* Sorts and temporary b-trees stay in memory: no file is made. */
	if (sqlite3_exec(e->db, "PRAGMA temp_store = MEMORY", NULL, NULL,
	    &errmsg) != SQLITE_OK)
		goto out;
	sqlite3_limit(e->db, SQLITE_LIMIT_LENGTH, QUERY_VALUE_MAX);
	sqlite3_limit(e->db, SQLITE_LIMIT_SQL_LENGTH, MAMORI_QUERY_SQL_MAX);
	sqlite3_limit(e->db, SQLITE_LIMIT_COLUMN, QUERY_COLUMNS_MAX);
	sqlite3_limit(e->db, SQLITE_LIMIT_EXPR_DEPTH, QUERY_EXPR_DEPTH_MAX);
	sqlite3_limit(e->db, SQLITE_LIMIT_COMPOUND_SELECT, QUERY_COMPOUND_MAX);
	sqlite3_limit(e->db, SQLITE_LIMIT_VDBE_OP, QUERY_VDBE_OPS_MAX);
	sqlite3_limit(e->db, SQLITE_LIMIT_FUNCTION_ARG,
	    QUERY_FUNCTION_ARGS_MAX);
	sqlite3_limit(e->db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(e->db, SQLITE_LIMIT_LIKE_PATTERN_LENGTH,
	    QUERY_LIKE_PATTERN_MAX);
	sqlite3_limit(e->db, SQLITE_LIMIT_VARIABLE_NUMBER,
	    QUERY_VARIABLES_MAX);
	sqlite3_limit(e->db, SQLITE_LIMIT_TRIGGER_DEPTH, 1);
	sqlite3_limit(e->db, SQLITE_LIMIT_WORKER_THREADS, 0);
	for (i = 0; i < NTABLES; i++) {
		if ((aux = sqlite3_malloc(sizeof(*aux))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		aux->e = e;
		aux->t = tables[i];
		/* sqlite3_free(aux) runs when the module goes, even when
		 * registering fails. */
		if (sqlite3_create_module_v2(e->db, tables[i]->name, &module,
		    aux, sqlite3_free) != SQLITE_OK)
			goto out;
	}
	/* Connect every table now (and SQLite's JSON table functions):
	 * SQLite's first use of an eponymous table declares its schema,
	 * which the authorizer would see as a write. */
	if (sqlite3_exec(e->db, "SELECT * FROM json_each('[]'), "
	    "json_tree('[]')", NULL, NULL, &errmsg) != SQLITE_OK)
		goto out;
	for (i = 0; i < NTABLES; i++) {
		char pragma[128];

		snprintf(pragma, sizeof(pragma), "PRAGMA table_info(%s)",
		    tables[i]->name);
		if (sqlite3_exec(e->db, pragma, NULL, NULL, &errmsg) !=
		    SQLITE_OK)
			goto out;
	}
	sqlite3_set_authorizer(e->db, authorize, e);
	sqlite3_progress_handler(e->db, QUERY_PROGRESS_OPS, progress, e);
	*out = e;
	e = NULL;
	r = 0;
out:
	sqlite3_free(errmsg);
	mamori_query_engine_free(e);
	return r;
}

void
mamori_query_engine_free(struct mamori_query_engine *e)
{
	if (e == NULL)
		return;
	sqlite3_close_v2(e->db);
	free(e->root);
	free(e);
}

static void
limits_resolve(const struct mamori_query_limits *in,
    struct mamori_query_limits *out)
{
	memset(out, 0, sizeof(*out));
	if (in != NULL)
		*out = *in;
	if (out->timeout_ms == 0)
		out->timeout_ms = MAMORI_QUERY_TIMEOUT_MS_DEFAULT;
	if (out->timeout_ms > MAMORI_QUERY_TIMEOUT_MS_MAX)
		out->timeout_ms = MAMORI_QUERY_TIMEOUT_MS_MAX;
	if (out->rows_max == 0)
		out->rows_max = MAMORI_QUERY_ROWS_MAX_DEFAULT;
	if (out->bytes_max == 0)
		out->bytes_max = MAMORI_QUERY_BYTES_MAX_DEFAULT;
}

static void
timeout_err(uint64_t ms, char *err, size_t errlen)
{
	if (ms % 1000 == 0)
		set_err(err, errlen, "query took longer than %llu s",
		    (unsigned long long)(ms / 1000));
	else
		set_err(err, errlen, "query took longer than %llu ms",
		    (unsigned long long)ms);
}

static void
bytes_err(uint64_t max, char *err, size_t errlen)
{
	if (max % (1024 * 1024) == 0)
		set_err(err, errlen, "result exceeds %llu MiB",
		    (unsigned long long)(max / (1024 * 1024)));
	else
		set_err(err, errlen, "result exceeds %llu bytes",
		    (unsigned long long)max);
}

/* Maps a failed prepare or step to one message and code. */
static int
sqlite_failure(struct mamori_query_engine *e,
    const struct mamori_query_limits *lim, int rc, char *err, size_t errlen)
{
	if (e->timed_out || rc == SQLITE_INTERRUPT) {
		timeout_err(lim->timeout_ms, err, errlen);
		return MAMORI_ERR_QUERY_TIMEOUT;
	}
	if (e->denied[0] != '\0') {
		set_err(err, errlen, "%s", e->denied);
		return MAMORI_ERR_QUERY_DENIED;
	}
	if (e->table_err[0] != '\0') {
		set_err(err, errlen, "%s", e->table_err);
		return MAMORI_ERR_QUERY_TABLE;
	}
	if (strncmp(sqlite3_errmsg(e->db), "table ", 6) == 0 &&
	    strstr(sqlite3_errmsg(e->db), "requires a constraint") != NULL) {
		set_err(err, errlen, "%s", sqlite3_errmsg(e->db));
		return MAMORI_ERR_QUERY_TABLE;
	}
	if (rc == SQLITE_TOOBIG) {
		set_err(err, errlen, "a value in the query exceeds %d bytes",
		    QUERY_VALUE_MAX);
		return MAMORI_ERR_QUERY_TOO_LARGE;
	}
	if (rc == SQLITE_NOMEM)
		set_err(err, errlen, "query needs more than %lld MiB of memory",
		    (long long)(MAMORI_QUERY_HEAP_MAX / (1024 * 1024)));
	else
		set_err(err, errlen, "%s", sqlite3_errmsg(e->db));
	return MAMORI_ERR_QUERY_SQL;
}

int
mamori_query_run(struct mamori_query_engine *e, const char *sql,
    const struct mamori_query_limits *limits, mamori_query_row_fn cb,
    void *ud, char *err, size_t errlen)
{
	struct mamori_query_limits lim;
	struct mamori_query_value *vals = NULL;
	const char **names = NULL;
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	uint64_t rows = 0, bytes = 0;
	size_t len, ncols = 0, i;
	int r = MAMORI_ERR_INTERNAL, rc;

	set_err(err, errlen, "%s", "");
	limits_resolve(limits, &lim);
	e->timed_out = 0;
	e->denied[0] = '\0';
	e->table_err[0] = '\0';
	e->table_code = 0;
	if (sql == NULL || (len = strlen(sql)) == 0 ||
	    *skip_space(sql) == '\0') {
		set_err(err, errlen, "query is empty");
		r = MAMORI_ERR_QUERY_SQL;
		goto out;
	}
	if (len > MAMORI_QUERY_SQL_MAX) {
		set_err(err, errlen, "query is longer than %d bytes",
		    MAMORI_QUERY_SQL_MAX);
		r = MAMORI_ERR_QUERY_SQL;
		goto out;
	}
	if ((r = check_first_word(sql, err, errlen)) != 0)
		goto out;
	e->q.deadline_ms = mamori_monotonic_ms() + lim.timeout_ms;
	e->checking = 1;
	rc = sqlite3_prepare_v3(e->db, sql, (int)len, 0, &st, &tail);
	e->checking = 0;
	if (rc != SQLITE_OK) {
		r = sqlite_failure(e, &lim, rc, err, errlen);
		goto out;
	}
	if (st == NULL) {
		set_err(err, errlen, "query is empty");
		r = MAMORI_ERR_QUERY_SQL;
		goto out;
	}
	if (tail != NULL && *skip_space(tail) != '\0') {
		set_err(err, errlen, "query must be one statement; remove "
		    "what follows the first ';'");
		r = MAMORI_ERR_QUERY_SQL;
		goto out;
	}
	if (!sqlite3_stmt_readonly(st)) {
		set_err(err, errlen, "query writes are not allowed: %s",
		    "statement is not read-only");
		r = MAMORI_ERR_QUERY_DENIED;
		goto out;
	}
	ncols = (size_t)sqlite3_column_count(st);
	if ((names = calloc(ncols + 1, sizeof(*names))) == NULL ||
	    (vals = calloc(ncols + 1, sizeof(*vals))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		set_err(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < ncols; i++) {
		names[i] = sqlite3_column_name(st, (int)i);
		if (names[i] == NULL) {
			r = MAMORI_ERR_ALLOC;
			set_err(err, errlen, "out of memory");
			goto out;
		}
	}
	if ((r = cb(ud, ncols, names, NULL)) != 0)
		goto out;
	for (;;) {
		e->checking = 1;
		rc = sqlite3_step(st);
		e->checking = 0;
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			r = sqlite_failure(e, &lim, rc, err, errlen);
			goto out;
		}
		if (++rows > lim.rows_max) {
			set_err(err, errlen, "result exceeds %llu rows",
			    (unsigned long long)lim.rows_max);
			r = MAMORI_ERR_QUERY_TOO_LARGE;
			goto out;
		}
		for (i = 0; i < ncols; i++) {
			struct mamori_query_value *v = &vals[i];

			memset(v, 0, sizeof(*v));
			switch (sqlite3_column_type(st, (int)i)) {
			case SQLITE_INTEGER:
				v->type = MAMORI_QUERY_INT;
				v->i = sqlite3_column_int64(st, (int)i);
				bytes += 8;
				break;
			case SQLITE_FLOAT:
				v->type = MAMORI_QUERY_REAL;
				v->d = sqlite3_column_double(st, (int)i);
				bytes += 8;
				break;
			case SQLITE_NULL:
				v->type = MAMORI_QUERY_NULL;
				bytes += 1;
				break;
			default:
				v->type = MAMORI_QUERY_TEXT;
				v->s = (const char *)sqlite3_column_text(st,
				    (int)i);
				if (v->s == NULL) {
					r = MAMORI_ERR_ALLOC;
					set_err(err, errlen, "out of memory");
					goto out;
				}
				v->len = (size_t)sqlite3_column_bytes(st,
				    (int)i);
				bytes += v->len;
			}
		}
		if (bytes > lim.bytes_max) {
			bytes_err(lim.bytes_max, err, errlen);
			r = MAMORI_ERR_QUERY_TOO_LARGE;
			goto out;
		}
		if ((r = cb(ud, ncols, names, vals)) != 0)
			goto out;
	}
	r = 0;
out:
	e->checking = 0;
	e->q.deadline_ms = 0;
	sqlite3_finalize(st);
	free(names);
	free(vals);
	return r;
}

/* ---- JSON --------------------------------------------------------------- */

struct json_acc {
	json_t *columns, *rows;
};

static int
json_row(void *ud, size_t ncols, const char *const *names,
    const struct mamori_query_value *values)
{
	struct json_acc *a = ud;
	json_t *row, *v;
	size_t i;

	if (values == NULL) {
		for (i = 0; i < ncols; i++)
			if (json_array_append_new(a->columns,
			    json_string(names[i])) != 0)
				return MAMORI_ERR_ALLOC;
		return 0;
	}
	if ((row = json_array()) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < ncols; i++) {
		switch (values[i].type) {
		case MAMORI_QUERY_INT:
			v = json_integer((json_int_t)values[i].i);
			break;
		case MAMORI_QUERY_REAL:
			v = json_real(values[i].d);
			break;
		case MAMORI_QUERY_TEXT:
			/* Invalid UTF-8 (a blob, a file name) becomes
			 * null rather than failing the whole result. */
			v = json_stringn(values[i].s, values[i].len);
			if (v == NULL)
				v = json_null();
			break;
		default:
			v = json_null();
		}
		if (json_array_append_new(row, v) != 0) {
			json_decref(row);
			return MAMORI_ERR_ALLOC;
		}
	}
	if (json_array_append_new(a->rows, row) != 0)
		return MAMORI_ERR_ALLOC;
	return 0;
}

int
mamori_query_json(struct mamori_query_engine *e, const char *sql,
    const struct mamori_query_limits *limits, json_t **out, char *err,
    size_t errlen)
{
	struct json_acc a;
	json_t *o = NULL;
	int r = MAMORI_ERR_ALLOC;

	*out = NULL;
	a.columns = json_array();
	a.rows = json_array();
	if (a.columns == NULL || a.rows == NULL) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	if ((r = mamori_query_run(e, sql, limits, json_row, &a, err,
	    errlen)) != 0) {
		if (r == MAMORI_ERR_ALLOC)
			set_err(err, errlen, "out of memory");
		goto out;
	}
	if ((o = json_object()) == NULL ||
	    json_object_set(o, "columns", a.columns) != 0 ||
	    json_object_set(o, "rows", a.rows) != 0) {
		r = MAMORI_ERR_ALLOC;
		set_err(err, errlen, "out of memory");
		goto out;
	}
	*out = o;
	o = NULL;
	r = 0;
out:
	json_decref(o);
	json_decref(a.columns);
	json_decref(a.rows);
	return r;
}
