/*
 * query.h - live queries on the endpoint: read-only SQL (SQLite dialect)
 * over virtual tables that carry osquery's table and column names.
 *
 * An engine owns a private in-memory SQLite database in which only the
 * eponymous virtual tables of this module exist.  Every query is checked
 * before and while it runs: one statement, SELECT only (an authorizer
 * refuses writes, ATTACH, transactions, PRAGMAs other than table_info and
 * dangerous functions), SQLite's own limits lowered, a wall-clock timeout
 * and caps on the rows and bytes of the result.  The tables read the host
 * (under a root prefix, so tests use fixture trees) with the inventory
 * collectors and small readers of their own; they never run a program,
 * never open a socket and never write anything: nothing on the endpoint
 * changes because of a query.
 */
#ifndef MAMORI_QUERY_H
#define MAMORI_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MAMORI_QUERY_SQL_MAX 100000          /* bytes of SQL text */
#define MAMORI_QUERY_TIMEOUT_MS_DEFAULT 10000
#define MAMORI_QUERY_TIMEOUT_MS_MAX (10 * 60 * 1000)
#define MAMORI_QUERY_ROWS_MAX_DEFAULT 100000
#define MAMORI_QUERY_BYTES_MAX_DEFAULT (8u * 1024 * 1024)
#define MAMORI_QUERY_ERR_MAX 256             /* a useful err buffer */
/* SQLite's heap in this process (sqlite3_hard_heap_limit64, which is
 * process-wide: the agent uses SQLite for nothing else). */
#define MAMORI_QUERY_HEAP_MAX ((int64_t)256 * 1024 * 1024)

/* Where the tables read the host: like struct mamori_collect_ctx. */
struct mamori_query_config {
	const char *root;       /* "" on a live host, or a fixture tree */
	int live;               /* 1: may ask the kernel (getifaddrs, uname) */
};

/* Bounds of one run; 0 in a field means its default. */
struct mamori_query_limits {
	uint64_t timeout_ms;    /* wall clock, default 10 s */
	uint64_t rows_max;      /* result rows, default 100,000 */
	uint64_t bytes_max;     /* result bytes (text + 8 per number), 8 MiB */
};

enum mamori_query_type {
	MAMORI_QUERY_NULL = 0,
	MAMORI_QUERY_INT,
	MAMORI_QUERY_REAL,
	MAMORI_QUERY_TEXT,
};

/* One value of a result row; s (TEXT only, NUL-terminated, len bytes) is
 * valid during the callback only.  A BLOB arrives as TEXT. */
struct mamori_query_value {
	enum mamori_query_type type;
	int64_t i;
	double d;
	const char *s;
	size_t len;
};

/*
 * Called once with values == NULL to announce the ncols column names, then
 * once per row with ncols values.  names and values are valid during the
 * call only.  A non-zero return stops the query; mamori_query_run returns
 * it.
 */
typedef int (*mamori_query_row_fn)(void *ud, size_t ncols,
    const char *const *names, const struct mamori_query_value *values);

struct mamori_query_engine;

/*
 * Makes an engine reading the host under cfg->root (copied).  An engine
 * serves one thread at a time; queries run one after another.  *out is
 * freed with mamori_query_engine_free.  ALLOC, or INTERNAL when SQLite
 * cannot be set up.
 */
int mamori_query_engine_new(const struct mamori_query_config *cfg,
    struct mamori_query_engine **out);
void mamori_query_engine_free(struct mamori_query_engine *e);

/*
 * Runs sql within limits (NULL: defaults), calling cb as described above.
 * Returns 0, or on failure a negative code with one line in err (errlen
 * bytes, always NUL-terminated when errlen > 0):
 *   MAMORI_ERR_QUERY_SQL       malformed SQL (SQLite's message), several
 *                              statements, empty or too long text, or
 *                              "query needs more than 256 MiB of memory" past
 *                              MAMORI_QUERY_HEAP_MAX
 *   MAMORI_ERR_QUERY_DENIED    a write, ATTACH, transaction, PRAGMA or
 *                              forbidden function ("query writes are not
 *                              allowed: INSERT")
 *   MAMORI_ERR_QUERY_TIMEOUT   "query took longer than 10 s"
 *   MAMORI_ERR_QUERY_TOO_LARGE "result exceeds 8 MiB" / "... 100000 rows"
 *   MAMORI_ERR_QUERY_TABLE     a table failed, or lacks a required
 *                              constraint ("table file requires a
 *                              constraint on path")
 *   or what cb returned.  The engine stays usable after any failure.
 */
int mamori_query_run(struct mamori_query_engine *e, const char *sql,
    const struct mamori_query_limits *limits, mamori_query_row_fn cb,
    void *ud, char *err, size_t errlen);

/*
 * Runs sql and returns its result as {"columns":[...],"rows":[[...],...]}
 * in *out (a new reference, the caller decrefs it).  Errors as
 * mamori_query_run, plus ALLOC.
 */
int mamori_query_json(struct mamori_query_engine *e, const char *sql,
    const struct mamori_query_limits *limits, json_t **out, char *err,
    size_t errlen);

/* The names of the tables served, sorted; *n gets the count. */
const char *const *mamori_query_table_names(size_t *n);

#endif
