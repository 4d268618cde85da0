/*
 * sqlite.c - the embedded storage backend: one SQLite database in WAL mode
 * in the server's data directory (see store.h for the contract).
 *
 * Every sensitive field is sealed (seal.h) before it is bound to a statement
 * and opened only after it was read back, so the database, its WAL and its
 * shared-memory file never hold a hostname, address, OS string, label,
 * inventory, history detail, event or alert detail in clear.  Ids, timestamps, counters and type
 * codes stay clear so SQL can select on them.
 *
 * This file must never build SQL from data (every value is a bound
 * parameter of a statement prepared once and cached), never log a field's
 * content, never write to a database whose key did not open, and never
 * abort on a database error: each becomes MAMORI_ERR_STORE and a log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <jansson.h>
#include <sqlite3.h>

#include "err.h"
#include "log.h"
#include "seal.h"
#include "store_impl.h"
#include "util.h"

#define SQ_SCHEMA_VERSION 4
/* The server's loop thread waits at most this long for a lock: another
 * process holding the database is an error, not a reason to stall. */
#define SQ_BUSY_TIMEOUT_MS 1000
#define SQ_DB_MODE 0600
/* Attempts at a fresh random history id before giving up. */
#define SQ_HISTORY_ID_TRIES 8
/* First capacity of a list being read. */
#define SQ_LIST_FIRST 16
/* Largest timestamp the backend stores where SQL compares it. */
#define SQ_TIME_MAX ((uint64_t)INT64_MAX)
/* Largest sealed column read back. */
#define SQ_SEALED_MAX (MAMORI_STORE_VALUE_MAX + MAMORI_AEAD_OVERHEAD)
/* Room for the hex of a token id. */
#define SQ_TOKEN_HEX_LEN (2 * MAMORI_TOKEN_ID_LEN + 1)
/* Room for a row identity such as "agent_id/history id". */
#define SQ_ROW_LEN (MAMORI_SEAL_ROW_MAX + 1)
#define SQ_CERT_SERIAL_LEN 33

#define SQ_META_SCHEMA_VERSION "schema_version"
#define SQ_META_DATA_KEY "data_key"

#define SQ_STR_(x) #x
#define SQ_STR(x) SQ_STR_(x)


/* Version 2 added the events table; sq_migrate() brings a version 1 store
 * up to date. */
#define SQ_EVENTS_SCHEMA \
    "CREATE TABLE events (" \
    " id INTEGER PRIMARY KEY," \
    " agent INTEGER NOT NULL," \
    " seq INTEGER NOT NULL," \
    " time INTEGER NOT NULL," \
    " type INTEGER NOT NULL," \
    " payload BLOB NOT NULL," \
    " UNIQUE (agent, seq));" \
    "CREATE INDEX events_time ON events (time);"

/* Version 3 added the alerts table (agent: the agents row's rowid, as in
 * events; detail sealed, bound to the alert's id). */
#define SQ_ALERTS_SCHEMA \
    "CREATE TABLE alerts (" \
    " id INTEGER PRIMARY KEY," \
    " agent INTEGER NOT NULL," \
    " source INTEGER NOT NULL," \
    " rule_key TEXT NOT NULL," \
    " severity INTEGER NOT NULL," \
    " first_seen INTEGER NOT NULL," \
    " last_seen INTEGER NOT NULL," \
    " count INTEGER NOT NULL," \
    " detail BLOB NOT NULL);" \
    "CREATE INDEX alerts_key ON alerts (agent, rule_key, id);" \
    "CREATE INDEX alerts_last ON alerts (last_seen, id);"

/* Version 4 added objects: sealed values of remote management (the fleet
 * policy, tasks, their results) by kind and key; time and expiry clear. */
#define SQ_OBJECTS_SCHEMA \
    "CREATE TABLE objects (" \
    " kind TEXT NOT NULL," \
    " key TEXT NOT NULL," \
    " time INTEGER NOT NULL," \
    " expires INTEGER NOT NULL," \
    " value BLOB NOT NULL," \
    " PRIMARY KEY (kind, key)) WITHOUT ROWID;" \
    "CREATE INDEX objects_time ON objects (kind, time);"

/*
 * events.agent is the agents row's rowid, not its 32-character id: the
 * (agent, seq) index that makes each event unique is then small, which is
 * most of what an insert costs.  Events are only ever appended, so the
 * rowid-based id grows with arrival order.
 */
static const char sq_schema[] =
    "CREATE TABLE meta ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " value NOT NULL);"
    "CREATE TABLE tokens ("
    " id BLOB PRIMARY KEY NOT NULL"
    "  CHECK (length(id) = " SQ_STR(MAMORI_TOKEN_ID_LEN) "),"
    " secret_hash BLOB NOT NULL"
    "  CHECK (length(secret_hash) = " SQ_STR(MAMORI_SHA256_LEN) "),"
    " created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " uses_max INTEGER NOT NULL,"
    " uses INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL,"
    " label BLOB NOT NULL);"
    "CREATE TABLE agents ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " cert_serial TEXT NOT NULL,"
    " enrolled_at INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " revoked_at INTEGER NOT NULL,"
    " hostname BLOB NOT NULL,"
    " os BLOB NOT NULL,"
    " address BLOB NOT NULL);"
    "CREATE TABLE inventory ("
    " agent_id TEXT NOT NULL REFERENCES agents (id),"
    " category INTEGER NOT NULL,"
    " time INTEGER NOT NULL,"
    " value BLOB NOT NULL,"
    " PRIMARY KEY (agent_id, category));"
    "CREATE TABLE history ("
    " id INTEGER PRIMARY KEY,"
    " agent_id TEXT NOT NULL REFERENCES agents (id),"
    " time INTEGER NOT NULL,"
    " category INTEGER NOT NULL,"
    " kind INTEGER NOT NULL,"
    " detail BLOB NOT NULL);"
    "CREATE INDEX history_agent_time ON history (agent_id, time, id);"
    SQ_EVENTS_SCHEMA
    SQ_ALERTS_SCHEMA
    SQ_OBJECTS_SCHEMA;

/* Per-connection settings; none of them writes to the database. */
static const char sq_pragmas[] =
    "PRAGMA foreign_keys = ON;"
    "PRAGMA synchronous = NORMAL;"
    "PRAGMA temp_store = MEMORY;"
    "PRAGMA secure_delete = ON;"
    "PRAGMA trusted_schema = OFF;"
    "PRAGMA cache_size = -65536;"       /* 64 MiB of pages */
    "PRAGMA wal_autocheckpoint = 16384;";

enum sq_id {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_JOURNAL_WAL,
	SQ_TABLE_COUNT,
	SQ_META_EXISTS,
	SQ_META_GET,
	SQ_META_PUT,
	SQ_TOKEN_ADD,
	SQ_TOKEN_LIST,
	SQ_TOKEN_REVOKE,
	SQ_TOKEN_CHECK,
	SQ_TOKEN_USE,
	SQ_AGENT_ADD,
	SQ_AGENT_GET,
	SQ_AGENT_LIST,
	SQ_AGENT_SEEN,
	SQ_AGENT_SET_INFO,
	SQ_AGENT_REVOKE,
	SQ_INVENTORY_GET,
	SQ_INVENTORY_PUT,
	SQ_INVENTORY_TIME,
	SQ_HISTORY_ADD,
	SQ_HISTORY_LIST,
	SQ_EVENT_ADD,
	SQ_EVENT_LIST_ASC,
	SQ_EVENT_LIST_DESC,
	SQ_META_SET,
	SQ_AGENT_ROWID,
	SQ_ALERT_FIND,
	SQ_ALERT_INSERT,
	SQ_ALERT_DETAIL,
	SQ_ALERT_BUMP,
	SQ_ALERT_LIST,
	SQ_OBJECT_PUT,
	SQ_OBJECT_ADD,
	SQ_OBJECT_GET,
	SQ_OBJECT_LIST,
	SQ_COUNT
};

static const char *const sq_sql[SQ_COUNT] = {
	[SQ_BEGIN] = "BEGIN IMMEDIATE",
	[SQ_COMMIT] = "COMMIT",
	[SQ_ROLLBACK] = "ROLLBACK",
	[SQ_JOURNAL_WAL] = "PRAGMA journal_mode = WAL",
	[SQ_TABLE_COUNT] = "SELECT count(*) FROM sqlite_schema",
	[SQ_META_EXISTS] = "SELECT count(*) FROM sqlite_schema"
	    " WHERE type = 'table' AND name = 'meta'",
	[SQ_META_GET] = "SELECT value FROM meta WHERE name = ?1",
	[SQ_META_PUT] = "INSERT INTO meta (name, value) VALUES (?1, ?2)",
	[SQ_TOKEN_ADD] = "INSERT INTO tokens (id, secret_hash, created_at,"
	    " expires_at, uses_max, uses, revoked_at, label)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[SQ_TOKEN_LIST] = "SELECT id, created_at, expires_at, uses_max, uses,"
	    " revoked_at, label FROM tokens"
	    " ORDER BY created_at DESC, rowid DESC",
	[SQ_TOKEN_REVOKE] = "UPDATE tokens SET revoked_at ="
	    " CASE WHEN revoked_at = 0 THEN ?2 ELSE revoked_at END"
	    " WHERE id = ?1",
	[SQ_TOKEN_CHECK] = "SELECT secret_hash, expires_at, uses_max, uses,"
	    " revoked_at FROM tokens WHERE id = ?1",
	[SQ_TOKEN_USE] = "UPDATE tokens SET uses = uses + 1"
	    " WHERE id = ?1 AND uses = ?2 AND uses < uses_max",
	[SQ_AGENT_ADD] = "INSERT INTO agents (id, cert_serial, enrolled_at,"
	    " last_seen, revoked_at, hostname, os, address)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[SQ_AGENT_GET] = "SELECT id, cert_serial, enrolled_at, last_seen,"
	    " revoked_at, hostname, os, address FROM agents WHERE id = ?1",
	[SQ_AGENT_LIST] = "SELECT id, cert_serial, enrolled_at, last_seen,"
	    " revoked_at, hostname, os, address FROM agents ORDER BY id",
	[SQ_AGENT_SEEN] = "UPDATE agents SET last_seen = ?2, address = ?3"
	    " WHERE id = ?1",
	[SQ_AGENT_SET_INFO] = "UPDATE agents SET hostname = ?2, os = ?3"
	    " WHERE id = ?1",
	[SQ_AGENT_REVOKE] = "UPDATE agents SET revoked_at ="
	    " CASE WHEN revoked_at = 0 THEN ?2 ELSE revoked_at END"
	    " WHERE id = ?1",
	[SQ_INVENTORY_GET] = "SELECT value FROM inventory"
	    " WHERE agent_id = ?1 AND category = ?2",
	[SQ_INVENTORY_PUT] = "INSERT INTO inventory (agent_id, category, time,"
	    " value) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT (agent_id, category) DO UPDATE"
	    " SET time = excluded.time, value = excluded.value",
	[SQ_INVENTORY_TIME] = "SELECT max(time) FROM inventory"
	    " WHERE agent_id = ?1",
	[SQ_HISTORY_ADD] = "INSERT INTO history (id, agent_id, time, category,"
	    " kind, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[SQ_HISTORY_LIST] = "SELECT id, time, category, kind, detail"
	    " FROM history WHERE agent_id = ?1 AND time >= ?2"
	    " ORDER BY time, id LIMIT ?3",
	[SQ_EVENT_ADD] = "INSERT INTO events (agent, seq, time, type,"
	    " payload) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (agent, seq) DO NOTHING",
	[SQ_EVENT_LIST_ASC] = "SELECT e.id, a.id, e.seq, e.time, e.type,"
	    " e.payload FROM events e JOIN agents a ON a.rowid = e.agent"
	    " WHERE (?1 IS NULL OR e.agent ="
	    " (SELECT rowid FROM agents WHERE id = ?1))"
	    " AND (?2 = 0 OR e.type = ?2) AND e.time >= ?3 AND e.time <= ?4"
	    " AND e.id > ?5 ORDER BY e.id LIMIT ?6",
	[SQ_EVENT_LIST_DESC] = "SELECT e.id, a.id, e.seq, e.time, e.type,"
	    " e.payload FROM events e JOIN agents a ON a.rowid = e.agent"
	    " WHERE (?1 IS NULL OR e.agent ="
	    " (SELECT rowid FROM agents WHERE id = ?1))"
	    " AND (?2 = 0 OR e.type = ?2) AND e.time >= ?3 AND e.time <= ?4"
	    " AND e.id > ?5 ORDER BY e.id DESC LIMIT ?6",
	[SQ_AGENT_ROWID] = "SELECT rowid FROM agents WHERE id = ?1",
	[SQ_META_SET] = "UPDATE meta SET value = ?2 WHERE name = ?1",
	[SQ_ALERT_FIND] = "SELECT id, first_seen, detail FROM alerts"
	    " WHERE agent = ?1 AND rule_key = ?2 ORDER BY id DESC LIMIT 1",
	[SQ_ALERT_INSERT] = "INSERT INTO alerts (agent, source, rule_key,"
	    " severity, first_seen, last_seen, count, detail)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1, x'')",
	[SQ_ALERT_DETAIL] = "UPDATE alerts SET detail = ?2 WHERE id = ?1",
	[SQ_ALERT_BUMP] = "UPDATE alerts SET count = count + 1,"
	    " last_seen = max(last_seen, ?2), severity = max(severity, ?3)"
	    " WHERE id = ?1",
	[SQ_ALERT_LIST] = "SELECT al.id, a.id, al.source, al.rule_key,"
	    " al.severity, al.first_seen, al.last_seen, al.count, al.detail"
	    " FROM alerts al JOIN agents a ON a.rowid = al.agent"
	    " WHERE (?1 IS NULL OR al.agent ="
	    " (SELECT rowid FROM agents WHERE id = ?1))"
	    " AND al.last_seen >= ?2 AND al.severity >= ?3"
	    " ORDER BY al.last_seen DESC, al.id DESC LIMIT ?4",
	[SQ_OBJECT_PUT] = "INSERT INTO objects (kind, key, time, expires,"
	    " value) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (kind, key)"
	    " DO UPDATE SET time = excluded.time, expires = excluded.expires,"
	    " value = excluded.value",
	[SQ_OBJECT_ADD] = "INSERT INTO objects (kind, key, time, expires,"
	    " value) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (kind, key) DO NOTHING",
	[SQ_OBJECT_GET] = "SELECT time, expires, value FROM objects"
	    " WHERE kind = ?1 AND key = ?2",
	[SQ_OBJECT_LIST] = "SELECT key, time, expires, value FROM objects"
	    " WHERE kind = ?1 AND key >= ?2 AND key < ?2 || '~'"
	    " AND expires >= ?3 ORDER BY time, key LIMIT ?4",
};

#define SQ_ROWID_CACHE 4096  /* a power of two */

/*
 * Checkpoints - copying the WAL back into the database file, with an fsync -
 * run on a thread of their own with its own connection, every
 * SQ_CHECKPOINT_MS, so the server's event loop never waits for one.  The
 * loop's connection still checkpoints by itself past SQ_WAL_SELF_PAGES,
 * should the thread fall behind.
 */
#define SQ_CHECKPOINT_MS 500
#define SQ_WAL_SELF_PAGES 65536   /* 256 MiB of 4 KiB pages */

struct sq_checkpointer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	sqlite3 *db;
	int running, stop;
};

struct sq_store {
	struct mamori_store base;     /* first: the interface's handle */
	sqlite3 *db;
	/* Agents' rows by id, for storing events: batches from thousands of
	 * agents interleave, and agents rows are never deleted. */
	struct sq_rowid_slot {
		char id[MAMORI_AGENT_ID_STRLEN];
		int64_t rowid;
	} rowids[SQ_ROWID_CACHE];
	struct mamori_seal *seal;
	sqlite3_stmt *stmt[SQ_COUNT]; /* prepared on first use */
	/* Each event's sealed payload, reused: it holds only ciphertext. */
	struct mamori_buf event_sealed;
	struct sq_checkpointer ckpt;
};

static const struct mamori_store_ops sq_ops;

static struct sq_store *
sq_from(struct mamori_store *base)
{
	return (struct sq_store *)base;
}

/* Logs a database error for what and returns MAMORI_ERR_STORE. */
static int
sq_fail(struct sq_store *s, const char *what)
{
	log_error("store: %s: %s", what,
	    s->db != NULL ? sqlite3_errmsg(s->db) : "no database");
	return MAMORI_ERR_STORE;
}

/* Returns the cached statement id in *out, preparing it the first time.
 * Refuses a statement still stepping (a callback re-entering the store). */
static int
sq_stmt(struct sq_store *s, enum sq_id id, sqlite3_stmt **out)
{
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if (s->stmt[id] == NULL) {
		if (sqlite3_prepare_v3(s->db, sq_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL) !=
		    SQLITE_OK) {
			s->stmt[id] = NULL;
			r = sq_fail(s, "prepare");
			goto out;
		}
	} else if (sqlite3_stmt_busy(s->stmt[id])) {
		log_error("store: statement %d re-entered while in use",
		    (int)id);
		r = MAMORI_ERR_INTERNAL;
		goto out;
	}
	*out = s->stmt[id];
	r = 0;
out:
	return r;
}

/* Makes a statement ready for its next use; accepts NULL. */
static void
sq_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int
sq_bind_i64(struct sq_store *s, sqlite3_stmt *st, int i, int64_t v)
{
	if (sqlite3_bind_int64(st, i, (sqlite3_int64)v) != SQLITE_OK)
		return sq_fail(s, "bind");
	return 0;
}

static int
sq_bind_u64(struct sq_store *s, sqlite3_stmt *st, int i, uint64_t v)
{
	/* Stored as the same 64 bits; read back with sq_col_u64. */
	return sq_bind_i64(s, st, i, (int64_t)v);
}

static int
sq_bind_text(struct sq_store *s, sqlite3_stmt *st, int i, const char *v)
{
	if (sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) != SQLITE_OK)
		return sq_fail(s, "bind");
	return 0;
}

/* Binds n bytes at v, which must stay valid until sq_done(st). */
static int
sq_bind_blob(struct sq_store *s, sqlite3_stmt *st, int i, const void *v,
    size_t n)
{
	static const uint8_t empty[1];

	if (n > INT_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if (sqlite3_bind_blob(st, i, n > 0 ? v : empty, (int)n,
	    SQLITE_STATIC) != SQLITE_OK)
		return sq_fail(s, "bind");
	return 0;
}

static uint64_t
sq_col_u64(sqlite3_stmt *st, int i)
{
	return (uint64_t)sqlite3_column_int64(st, i);
}

/*
 * Steps st.  Returns 1 for a row, 0 when done, MAMORI_ERR_EXISTS for a
 * primary key or unique constraint, MAMORI_ERR_NOT_FOUND for a foreign key
 * (the row refers to an unknown agent), MAMORI_ERR_STORE (logged) otherwise.
 */
static int
sq_step(struct sq_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	switch (rc) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		return 0;
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return MAMORI_ERR_EXISTS;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return MAMORI_ERR_NOT_FOUND;
	default:
		return sq_fail(s, what);
	}
}

/* Runs a statement that returns no row. */
static int
sq_run(struct sq_store *s, enum sq_id id, const char *what)
{
	sqlite3_stmt *st = NULL;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = sq_stmt(s, id, &st)) != 0)
		goto out;
	if ((r = sq_step(s, st, what)) < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	return r;
}

/* Runs a statement returning one integer into *v. */
static int
sq_int(struct sq_store *s, enum sq_id id, const char *what, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int r = MAMORI_ERR_INTERNAL;

	*v = 0;
	if ((r = sq_stmt(s, id, &st)) != 0)
		goto out;
	if ((r = sq_step(s, st, what)) < 0)
		goto out;
	if (r == 0) {
		r = sq_fail(s, what);
		goto out;
	}
	*v = (int64_t)sqlite3_column_int64(st, 0);
	r = 0;
out:
	sq_done(st);
	return r;
}

/*
 * Transactions.  An operation that needs several statements opens its own
 * transaction unless the caller already holds one (*owned says which), and
 * sq_txn_leave ends only what it opened: committed on success, rolled back
 * otherwise.
 */
static int
sq_txn_enter(struct sq_store *s, int *owned)
{
	int r = MAMORI_ERR_INTERNAL;

	*owned = 0;
	if (!sqlite3_get_autocommit(s->db)) {
		r = 0;
		goto out;
	}
	if ((r = sq_run(s, SQ_BEGIN, "begin")) != 0)
		goto out;
	*owned = 1;
	r = 0;
out:
	return r;
}

static int
sq_txn_leave(struct sq_store *s, int owned, int r)
{
	if (!owned)
		return r;
	if (r == 0 && (r = sq_run(s, SQ_COMMIT, "commit")) == 0)
		return 0;
	if (!sqlite3_get_autocommit(s->db))
		(void)sq_run(s, SQ_ROLLBACK, "rollback");
	return r;
}

/* Agent ids come from certificates the server issued (32 hex characters);
 * anything outside a conservative alphabet is refused. */
static int
sq_check_agent_id(const char *id)
{
	size_t i, len;

	if (id == NULL)
		return MAMORI_ERR_INVALID;
	len = strlen(id);
	if (len == 0 || len >= MAMORI_AGENT_ID_STRLEN)
		return MAMORI_ERR_INVALID;
	for (i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || c == '-' || c == '_' ||
		    c == '.'))
			return MAMORI_ERR_INVALID;
	}
	return 0;
}

/* Seals the string v (NULL: empty), shorter than max, into out. */
static int
sq_seal_str(struct sq_store *s, const char *table, const char *row,
    const char *column, const char *v, size_t max, struct mamori_buf *out)
{
	size_t len = v != NULL ? strlen(v) : 0;

	if (len >= max)
		return MAMORI_ERR_TOO_LARGE;
	return mamori_seal_field(s->seal, table, row, column, v != NULL ? v :
	    "", len, out);
}

/*
 * Opens the sealed column col of the current row of st, appending the
 * plaintext to out.  Logs (names only, never content) what fails.
 */
static int
sq_open_col(struct sq_store *s, sqlite3_stmt *st, int col, const char *table,
    const char *row, const char *column, struct mamori_buf *out)
{
	const void *p;
	int n, r = MAMORI_ERR_INTERNAL;

	p = sqlite3_column_blob(st, col);
	n = sqlite3_column_bytes(st, col);
	if (n < 0) {
		r = sq_fail(s, "read");
		goto out;
	}
	if ((size_t)n > SQ_SEALED_MAX) {
		log_error("store: sealed %s.%s of row %s exceeds its limit",
		    table, column, row);
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if (p == NULL)
		p = "";
	r = mamori_seal_open_field(s->seal, table, row, column, p, (size_t)n,
	    out);
	if (r == MAMORI_ERR_AUTH)
		log_error("store: sealed %s.%s of row %s does not open",
		    table, column, row);
	else if (r == MAMORI_ERR_TOO_LARGE)
		log_debug("store: sealed %s.%s of row %s does not fit the "
		    "caller's buffer", table, column, row);
	if (r != 0)
		goto out;
	r = 0;
out:
	return r;
}

/* Opens a sealed string column into dst (dstlen bytes, NUL-terminated). */
static int
sq_open_str(struct sq_store *s, sqlite3_stmt *st, int col, const char *table,
    const char *row, const char *column, char *dst, size_t dstlen)
{
	struct mamori_buf b;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, dstlen - 1);
	dst[0] = '\0';
	if ((r = sq_open_col(s, st, col, table, row, column, &b)) != 0)
		goto out;
	if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
		log_error("store: sealed %s.%s of row %s holds a NUL",
		    table, column, row);
		r = MAMORI_ERR_BAD_STRING;
		goto out;
	}
	if (b.len > 0)
		memcpy(dst, b.data, b.len);
	dst[b.len] = '\0';
	r = 0;
out:
	mamori_buf_free(&b);
	return r;
}

/* Copies a clear text column into dst; MAMORI_ERR_STORE when it does not
 * fit (the database was altered behind the store's back). */
static int
sq_col_str(sqlite3_stmt *st, int col, const char *what, char *dst,
    size_t dstlen)
{
	const unsigned char *p = sqlite3_column_text(st, col);

	if (p == NULL || mamori_strlcpy(dst, (const char *)p, dstlen) >=
	    dstlen) {
		log_error("store: %s in the database is malformed", what);
		dst[0] = '\0';
		return MAMORI_ERR_STORE;
	}
	return 0;
}

/*
 * Makes room in an array being filled with records of size elem so that it
 * holds at least n + 1.  Not realloc: records hold opened fields, so the
 * old copy is wiped before it is freed.
 */
static int
sq_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	size_t ncap;
	void *p = NULL;
	int r = MAMORI_ERR_INTERNAL;

	if (n < *cap) {
		r = 0;
		goto out;
	}
	ncap = *cap == 0 ? SQ_LIST_FIRST : *cap * 2;
	if (ncap < *cap || ncap > SIZE_MAX / elem) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((p = calloc(ncap, elem)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (*arr != NULL) {
		memcpy(p, *arr, n * elem);
		OPENSSL_cleanse(*arr, *cap * elem);
		free(*arr);
	}
	*arr = p;
	*cap = ncap;
	r = 0;
out:
	return r;
}

static void
sq_wipe_free(void *arr, size_t bytes)
{
	if (arr == NULL)
		return;
	OPENSSL_cleanse(arr, bytes);
	free(arr);
}

/* --- handle and transactions ------------------------------------------- */

static void *
sq_checkpointer_main(void *arg)
{
	struct sq_checkpointer *c = arg;
	struct timespec until;
	int rc;

	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += SQ_CHECKPOINT_MS % 1000 * 1000000L;
		until.tv_sec += SQ_CHECKPOINT_MS / 1000 +
		    until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		(void)pthread_cond_timedwait(&c->cond, &c->lock, &until);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->lock);
		/* PASSIVE: copies what it can without waiting for anyone. */
		rc = sqlite3_wal_checkpoint_v2(c->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store: checkpoint: %s", sqlite3_errmsg(c->db));
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Starts the checkpoint thread on its own connection to path; without it
 * the store still works, checkpointing on its own connection. */
static void
sq_checkpointer_start(struct sq_store *s, const char *path)
{
	struct sq_checkpointer *c = &s->ckpt;
	char pragma[64];

	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS) != SQLITE_OK) {
		log_warn("store: no checkpoint thread: %s",
		    c->db != NULL ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close(c->db);
		c->db = NULL;
		return;
	}
	c->stop = 0;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		sqlite3_close(c->db);
		c->db = NULL;
		return;
	}
	if (pthread_cond_init(&c->cond, NULL) != 0 ||
	    pthread_create(&c->thread, NULL, sq_checkpointer_main, c) != 0) {
		pthread_mutex_destroy(&c->lock);
		sqlite3_close(c->db);
		c->db = NULL;
		log_warn("store: no checkpoint thread");
		return;
	}
	c->running = 1;
	snprintf(pragma, sizeof(pragma), "PRAGMA wal_autocheckpoint = %d",
	    SQ_WAL_SELF_PAGES);
	(void)sqlite3_exec(s->db, pragma, NULL, NULL, NULL);
}

static void
sq_checkpointer_stop(struct sq_checkpointer *c)
{
	if (!c->running)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	sqlite3_close(c->db);
	c->db = NULL;
	c->running = 0;
}

static void
sq_close(struct mamori_store *base)
{
	struct sq_store *s = sq_from(base);
	size_t i;

	if (s == NULL)
		return;
	sq_checkpointer_stop(&s->ckpt);
	for (i = 0; i < SQ_COUNT; i++)
		sqlite3_finalize(s->stmt[i]);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_error("store: close: %s", sqlite3_errmsg(s->db));
	mamori_seal_free(s->seal);
	mamori_buf_free(&s->event_sealed);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

static int
sq_begin(struct mamori_store *base)
{
	struct sq_store *s = sq_from(base);
	int r = MAMORI_ERR_INTERNAL;

	if (!sqlite3_get_autocommit(s->db)) {
		log_error("store: begin: a transaction is already open");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = sq_run(s, SQ_BEGIN, "begin")) != 0)
		goto out;
	r = 0;
out:
	return r;
}

static int
sq_commit(struct mamori_store *base)
{
	struct sq_store *s = sq_from(base);
	int r = MAMORI_ERR_INTERNAL;

	if (sqlite3_get_autocommit(s->db)) {
		log_error("store: commit: no transaction is open");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = sq_run(s, SQ_COMMIT, "commit")) != 0)
		goto out;
	r = 0;
out:
	return r;
}

/* Rolling back when nothing is open (SQLite may already have rolled back
 * after an error) does nothing and succeeds, so cleanup paths can call it
 * unconditionally. */
static int
sq_rollback(struct mamori_store *base)
{
	struct sq_store *s = sq_from(base);
	int r = MAMORI_ERR_INTERNAL;

	if (sqlite3_get_autocommit(s->db)) {
		r = 0;
		goto out;
	}
	if ((r = sq_run(s, SQ_ROLLBACK, "rollback")) != 0)
		goto out;
	r = 0;
out:
	return r;
}

/* --- tokens -------------------------------------------------------------- */

static int
sq_token_add(struct mamori_store *base, const struct mamori_token_rec *t,
    const uint8_t *secret_hash)
{
	struct sq_store *s = sq_from(base);
	struct mamori_buf label;
	sqlite3_stmt *st = NULL;
	char row[SQ_TOKEN_HEX_LEN];
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&label, MAMORI_STORE_LABEL_MAX + MAMORI_AEAD_OVERHEAD);
	if (memchr(t->label, '\0', sizeof(t->label)) == NULL) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	mamori_hex(t->id, MAMORI_TOKEN_ID_LEN, row);
	if ((r = sq_seal_str(s, "tokens", row, "label", t->label,
	    MAMORI_STORE_LABEL_MAX, &label)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_TOKEN_ADD, &st)) != 0 ||
	    (r = sq_bind_blob(s, st, 1, t->id, MAMORI_TOKEN_ID_LEN)) != 0 ||
	    (r = sq_bind_blob(s, st, 2, secret_hash, MAMORI_SHA256_LEN)) != 0 ||
	    (r = sq_bind_u64(s, st, 3, t->created_at)) != 0 ||
	    (r = sq_bind_u64(s, st, 4, t->expires_at)) != 0 ||
	    (r = sq_bind_i64(s, st, 5, t->uses_max)) != 0 ||
	    (r = sq_bind_i64(s, st, 6, t->uses)) != 0 ||
	    (r = sq_bind_u64(s, st, 7, t->revoked_at)) != 0 ||
	    (r = sq_bind_blob(s, st, 8, label.data, label.len)) != 0)
		goto out;
	if ((r = sq_step(s, st, "token_add")) < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&label);
	return r;
}

static int
sq_token_list(struct mamori_store *base, struct mamori_token_rec **out,
    size_t *n)
{
	struct sq_store *s = sq_from(base);
	struct mamori_token_rec *arr = NULL, *t;
	sqlite3_stmt *st = NULL;
	size_t count = 0, cap = 0;
	char row[SQ_TOKEN_HEX_LEN];
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	*n = 0;
	if ((r = sq_stmt(s, SQ_TOKEN_LIST, &st)) != 0)
		goto out;
	while ((r = sq_step(s, st, "token_list")) == 1) {
		if ((r = sq_grow((void **)&arr, &cap, count,
		    sizeof(*arr))) != 0)
			goto out;
		t = &arr[count];
		if (sqlite3_column_bytes(st, 0) != MAMORI_TOKEN_ID_LEN) {
			log_error("store: a token id is malformed");
			r = MAMORI_ERR_STORE;
			goto out;
		}
		memcpy(t->id, sqlite3_column_blob(st, 0), MAMORI_TOKEN_ID_LEN);
		t->created_at = sq_col_u64(st, 1);
		t->expires_at = sq_col_u64(st, 2);
		t->uses_max = (uint32_t)sqlite3_column_int64(st, 3);
		t->uses = (uint32_t)sqlite3_column_int64(st, 4);
		t->revoked_at = sq_col_u64(st, 5);
		mamori_hex(t->id, MAMORI_TOKEN_ID_LEN, row);
		if ((r = sq_open_str(s, st, 6, "tokens", row, "label",
		    t->label, sizeof(t->label))) != 0)
			goto out;
		count++;
	}
	if (r < 0)
		goto out;
	*out = arr;
	*n = count;
	arr = NULL;
	r = 0;
out:
	sq_done(st);
	sq_wipe_free(arr, cap * sizeof(*arr));
	return r;
}

static int
sq_token_revoke(struct mamori_store *base, const uint8_t *id, uint64_t now)
{
	struct sq_store *s = sq_from(base);
	sqlite3_stmt *st = NULL;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = sq_stmt(s, SQ_TOKEN_REVOKE, &st)) != 0 ||
	    (r = sq_bind_blob(s, st, 1, id, MAMORI_TOKEN_ID_LEN)) != 0 ||
	    (r = sq_bind_u64(s, st, 2, now)) != 0)
		goto out;
	if ((r = sq_step(s, st, "token_revoke")) < 0)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	r = 0;
out:
	sq_done(st);
	return r;
}

/*
 * Reads the token and counts a use inside one transaction (the caller's, or
 * one of its own), so two servers sharing the file cannot both spend the
 * last use.  The checks run in the contract's order; nothing is written
 * unless all pass.
 */
static int
sq_token_consume(struct mamori_store *base, const uint8_t *id,
    const uint8_t *secret_hash, uint64_t now)
{
	struct sq_store *s = sq_from(base);
	sqlite3_stmt *st = NULL;
	uint8_t stored[MAMORI_SHA256_LEN];
	uint64_t expires_at, revoked_at;
	int64_t uses_max, uses;
	int owned = 0, r = MAMORI_ERR_INTERNAL;

	memset(stored, 0, sizeof(stored));
	if ((r = sq_txn_enter(s, &owned)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_TOKEN_CHECK, &st)) != 0 ||
	    (r = sq_bind_blob(s, st, 1, id, MAMORI_TOKEN_ID_LEN)) != 0)
		goto out;
	if ((r = sq_step(s, st, "token_consume")) < 0)
		goto out;
	if (r == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	if (sqlite3_column_bytes(st, 0) != MAMORI_SHA256_LEN) {
		log_error("store: a token's secret hash is malformed");
		r = MAMORI_ERR_STORE;
		goto out;
	}
	memcpy(stored, sqlite3_column_blob(st, 0), sizeof(stored));
	expires_at = sq_col_u64(st, 1);
	uses_max = (int64_t)sqlite3_column_int64(st, 2);
	uses = (int64_t)sqlite3_column_int64(st, 3);
	revoked_at = sq_col_u64(st, 4);
	sq_done(st);
	st = NULL;

	if (!mamori_equal(stored, secret_hash, sizeof(stored))) {
		r = MAMORI_ERR_AUTH;
		goto out;
	}
	if (revoked_at != 0) {
		r = MAMORI_ERR_REVOKED;
		goto out;
	}
	if (now >= expires_at) {
		r = MAMORI_ERR_EXPIRED;
		goto out;
	}
	if (uses >= uses_max) {
		r = MAMORI_ERR_USED_UP;
		goto out;
	}
	if ((r = sq_stmt(s, SQ_TOKEN_USE, &st)) != 0 ||
	    (r = sq_bind_blob(s, st, 1, id, MAMORI_TOKEN_ID_LEN)) != 0 ||
	    (r = sq_bind_i64(s, st, 2, uses)) != 0)
		goto out;
	if ((r = sq_step(s, st, "token_consume")) < 0)
		goto out;
	if (sqlite3_changes(s->db) != 1) {
		log_error("store: token_consume: the token changed underneath");
		r = MAMORI_ERR_STORE;
		goto out;
	}
	r = 0;
out:
	sq_done(st);
	OPENSSL_cleanse(stored, sizeof(stored));
	return sq_txn_leave(s, owned, r);
}

/* --- agents -------------------------------------------------------------- */

static int
sq_agent_add(struct mamori_store *base, const struct mamori_agent_rec *a)
{
	struct sq_store *s = sq_from(base);
	struct mamori_buf host, os, addr;
	sqlite3_stmt *st = NULL;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&host, SQ_SEALED_MAX);
	mamori_buf_init(&os, SQ_SEALED_MAX);
	mamori_buf_init(&addr, SQ_SEALED_MAX);
	if ((r = sq_check_agent_id(a->id)) != 0)
		goto out;
	if (memchr(a->cert_serial, '\0', sizeof(a->cert_serial)) == NULL ||
	    memchr(a->hostname, '\0', sizeof(a->hostname)) == NULL ||
	    memchr(a->os, '\0', sizeof(a->os)) == NULL ||
	    memchr(a->address, '\0', sizeof(a->address)) == NULL) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = sq_seal_str(s, "agents", a->id, "hostname", a->hostname,
	    MAMORI_STORE_HOSTNAME_MAX, &host)) != 0 ||
	    (r = sq_seal_str(s, "agents", a->id, "os", a->os,
	    MAMORI_STORE_OS_MAX, &os)) != 0 ||
	    (r = sq_seal_str(s, "agents", a->id, "address", a->address,
	    MAMORI_STORE_ADDRESS_MAX, &addr)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_AGENT_ADD, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, a->id)) != 0 ||
	    (r = sq_bind_text(s, st, 2, a->cert_serial)) != 0 ||
	    (r = sq_bind_u64(s, st, 3, a->enrolled_at)) != 0 ||
	    (r = sq_bind_u64(s, st, 4, a->last_seen)) != 0 ||
	    (r = sq_bind_u64(s, st, 5, a->revoked_at)) != 0 ||
	    (r = sq_bind_blob(s, st, 6, host.data, host.len)) != 0 ||
	    (r = sq_bind_blob(s, st, 7, os.data, os.len)) != 0 ||
	    (r = sq_bind_blob(s, st, 8, addr.data, addr.len)) != 0)
		goto out;
	if ((r = sq_step(s, st, "agent_add")) < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&host);
	mamori_buf_free(&os);
	mamori_buf_free(&addr);
	return r;
}

/* Fills a from the current row of an agent SELECT. */
static int
sq_agent_row(struct sq_store *s, sqlite3_stmt *st, struct mamori_agent_rec *a)
{
	int r = MAMORI_ERR_INTERNAL;

	memset(a, 0, sizeof(*a));
	if ((r = sq_col_str(st, 0, "an agent id", a->id, sizeof(a->id))) != 0 ||
	    (r = sq_col_str(st, 1, "a certificate serial", a->cert_serial,
	    sizeof(a->cert_serial))) != 0)
		goto out;
	a->enrolled_at = sq_col_u64(st, 2);
	a->last_seen = sq_col_u64(st, 3);
	a->revoked_at = sq_col_u64(st, 4);
	if ((r = sq_open_str(s, st, 5, "agents", a->id, "hostname",
	    a->hostname, sizeof(a->hostname))) != 0 ||
	    (r = sq_open_str(s, st, 6, "agents", a->id, "os", a->os,
	    sizeof(a->os))) != 0 ||
	    (r = sq_open_str(s, st, 7, "agents", a->id, "address",
	    a->address, sizeof(a->address))) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		OPENSSL_cleanse(a, sizeof(*a));
	return r;
}

static int
sq_agent_get(struct mamori_store *base, const char *id,
    struct mamori_agent_rec *out)
{
	struct sq_store *s = sq_from(base);
	sqlite3_stmt *st = NULL;
	int r = MAMORI_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if ((r = sq_check_agent_id(id)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_AGENT_GET, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, id)) != 0)
		goto out;
	if ((r = sq_step(s, st, "agent_get")) < 0)
		goto out;
	if (r == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = sq_agent_row(s, st, out)) != 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	return r;
}

static int
sq_agent_list(struct mamori_store *base, struct mamori_agent_rec **out,
    size_t *n)
{
	struct sq_store *s = sq_from(base);
	struct mamori_agent_rec *arr = NULL;
	sqlite3_stmt *st = NULL;
	size_t count = 0, cap = 0;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	*n = 0;
	if ((r = sq_stmt(s, SQ_AGENT_LIST, &st)) != 0)
		goto out;
	while ((r = sq_step(s, st, "agent_list")) == 1) {
		if ((r = sq_grow((void **)&arr, &cap, count,
		    sizeof(*arr))) != 0)
			goto out;
		if ((r = sq_agent_row(s, st, &arr[count])) != 0)
			goto out;
		count++;
	}
	if (r < 0)
		goto out;
	*out = arr;
	*n = count;
	arr = NULL;
	r = 0;
out:
	sq_done(st);
	sq_wipe_free(arr, cap * sizeof(*arr));
	return r;
}

/* address NULL is stored as an empty address. */
static int
sq_agent_seen(struct mamori_store *base, const char *id, uint64_t now,
    const char *address)
{
	struct sq_store *s = sq_from(base);
	struct mamori_buf addr;
	sqlite3_stmt *st = NULL;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&addr, SQ_SEALED_MAX);
	if ((r = sq_check_agent_id(id)) != 0)
		goto out;
	if ((r = sq_seal_str(s, "agents", id, "address", address,
	    MAMORI_STORE_ADDRESS_MAX, &addr)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_AGENT_SEEN, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, id)) != 0 ||
	    (r = sq_bind_u64(s, st, 2, now)) != 0 ||
	    (r = sq_bind_blob(s, st, 3, addr.data, addr.len)) != 0)
		goto out;
	if ((r = sq_step(s, st, "agent_seen")) < 0)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&addr);
	return r;
}

/* hostname or os NULL is stored as empty. */
static int
sq_agent_set_info(struct mamori_store *base, const char *id,
    const char *hostname, const char *os)
{
	struct sq_store *s = sq_from(base);
	struct mamori_buf host, osb;
	sqlite3_stmt *st = NULL;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&host, SQ_SEALED_MAX);
	mamori_buf_init(&osb, SQ_SEALED_MAX);
	if ((r = sq_check_agent_id(id)) != 0)
		goto out;
	if ((r = sq_seal_str(s, "agents", id, "hostname", hostname,
	    MAMORI_STORE_HOSTNAME_MAX, &host)) != 0 ||
	    (r = sq_seal_str(s, "agents", id, "os", os, MAMORI_STORE_OS_MAX,
	    &osb)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_AGENT_SET_INFO, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, id)) != 0 ||
	    (r = sq_bind_blob(s, st, 2, host.data, host.len)) != 0 ||
	    (r = sq_bind_blob(s, st, 3, osb.data, osb.len)) != 0)
		goto out;
	if ((r = sq_step(s, st, "agent_set_info")) < 0)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&host);
	mamori_buf_free(&osb);
	return r;
}

static int
sq_agent_revoke(struct mamori_store *base, const char *id, uint64_t now)
{
	struct sq_store *s = sq_from(base);
	sqlite3_stmt *st = NULL;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = sq_check_agent_id(id)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_AGENT_REVOKE, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, id)) != 0 ||
	    (r = sq_bind_u64(s, st, 2, now)) != 0)
		goto out;
	if ((r = sq_step(s, st, "agent_revoke")) < 0)
		goto out;
	if (sqlite3_changes(s->db) == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	r = 0;
out:
	sq_done(st);
	return r;
}

/* --- inventory and history ----------------------------------------------- */

static int
sq_inventory_row(const char *agent_id, uint32_t category, char row[SQ_ROW_LEN])
{
	int n = snprintf(row, SQ_ROW_LEN, "%s/%" PRIu32, agent_id, category);

	if (n < 0 || n >= SQ_ROW_LEN)
		return MAMORI_ERR_INVALID;
	return 0;
}

static int
sq_inventory_get(struct mamori_store *base, const char *agent_id,
    uint32_t category, struct mamori_buf *out)
{
	struct sq_store *s = sq_from(base);
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN];
	int r = MAMORI_ERR_INTERNAL;

	if ((r = sq_check_agent_id(agent_id)) != 0 ||
	    (r = sq_inventory_row(agent_id, category, row)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_INVENTORY_GET, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, agent_id)) != 0 ||
	    (r = sq_bind_i64(s, st, 2, category)) != 0)
		goto out;
	if ((r = sq_step(s, st, "inventory_get")) < 0)
		goto out;
	if (r == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = sq_open_col(s, st, 0, "inventory", row, "value", out)) != 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	return r;
}

static int
sq_inventory_put(struct mamori_store *base, const char *agent_id,
    uint32_t category, const uint8_t *value, size_t len, uint64_t now)
{
	struct sq_store *s = sq_from(base);
	struct mamori_buf sealed;
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN];
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&sealed, SQ_SEALED_MAX);
	if ((r = sq_check_agent_id(agent_id)) != 0 ||
	    (r = sq_inventory_row(agent_id, category, row)) != 0)
		goto out;
	if (now > SQ_TIME_MAX || (value == NULL && len > 0)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if (len > MAMORI_STORE_VALUE_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = mamori_seal_field(s->seal, "inventory", row, "value",
	    value != NULL ? (const void *)value : "", len, &sealed)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_INVENTORY_PUT, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, agent_id)) != 0 ||
	    (r = sq_bind_i64(s, st, 2, category)) != 0 ||
	    (r = sq_bind_u64(s, st, 3, now)) != 0 ||
	    (r = sq_bind_blob(s, st, 4, sealed.data, sealed.len)) != 0)
		goto out;
	if ((r = sq_step(s, st, "inventory_put")) < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&sealed);
	return r;
}

static int
sq_inventory_time(struct mamori_store *base, const char *agent_id,
    uint64_t *time)
{
	struct sq_store *s = sq_from(base);
	sqlite3_stmt *st = NULL;
	int r = MAMORI_ERR_INTERNAL;

	*time = 0;
	if ((r = sq_check_agent_id(agent_id)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_INVENTORY_TIME, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, agent_id)) != 0)
		goto out;
	if ((r = sq_step(s, st, "inventory_time")) < 0)
		goto out;
	/* max() over no rows is one NULL row. */
	if (r == 1 && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*time = sq_col_u64(st, 0);
	r = 0;
out:
	sq_done(st);
	return r;
}

static int
sq_history_row(const char *agent_id, uint64_t id, char row[SQ_ROW_LEN])
{
	int n = snprintf(row, SQ_ROW_LEN, "%s/%" PRIu64, agent_id, id);

	if (n < 0 || n >= SQ_ROW_LEN)
		return MAMORI_ERR_INVALID;
	return 0;
}

/*
 * The id is drawn at random before the insert because it is part of the
 * detail's associated data; a collision (1 in 2^63 per pair) is retried.
 */
static int
sq_history_add(struct mamori_store *base, const char *agent_id,
    uint64_t time, uint32_t category, uint32_t kind, const uint8_t *detail,
    size_t len)
{
	struct sq_store *s = sq_from(base);
	struct mamori_buf sealed;
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN];
	uint64_t id;
	int tries, r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&sealed, SQ_SEALED_MAX);
	if ((r = sq_check_agent_id(agent_id)) != 0)
		goto out;
	if (time > SQ_TIME_MAX || (detail == NULL && len > 0)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if (len > MAMORI_STORE_VALUE_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	for (tries = 0; tries < SQ_HISTORY_ID_TRIES; tries++) {
		id = 1 + mamori_random_below((uint64_t)INT64_MAX);
		mamori_buf_reset(&sealed);
		if ((r = sq_history_row(agent_id, id, row)) != 0)
			goto out;
		if ((r = mamori_seal_field(s->seal, "history", row, "detail",
		    detail != NULL ? (const void *)detail : "", len,
		    &sealed)) != 0)
			goto out;
		if ((r = sq_stmt(s, SQ_HISTORY_ADD, &st)) != 0 ||
		    (r = sq_bind_u64(s, st, 1, id)) != 0 ||
		    (r = sq_bind_text(s, st, 2, agent_id)) != 0 ||
		    (r = sq_bind_u64(s, st, 3, time)) != 0 ||
		    (r = sq_bind_i64(s, st, 4, category)) != 0 ||
		    (r = sq_bind_i64(s, st, 5, kind)) != 0 ||
		    (r = sq_bind_blob(s, st, 6, sealed.data, sealed.len)) != 0)
			goto out;
		r = sq_step(s, st, "history_add");
		sq_done(st);
		st = NULL;
		if (r != MAMORI_ERR_EXISTS)
			break;
	}
	if (r < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&sealed);
	return r;
}

static int
sq_history_list(struct mamori_store *base, const char *agent_id,
    uint64_t since, size_t limit, mamori_history_fn fn, void *ctx)
{
	struct sq_store *s = sq_from(base);
	struct mamori_history_rec rec;
	struct mamori_buf detail;
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN];
	int r = MAMORI_ERR_INTERNAL, cb;

	mamori_buf_init(&detail, MAMORI_STORE_VALUE_MAX);
	if ((r = sq_check_agent_id(agent_id)) != 0)
		goto out;
	if (since > SQ_TIME_MAX) {
		/* No stored time is that large. */
		r = 0;
		goto out;
	}
	if ((r = sq_stmt(s, SQ_HISTORY_LIST, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, agent_id)) != 0 ||
	    (r = sq_bind_u64(s, st, 2, since)) != 0 ||
	    (r = sq_bind_i64(s, st, 3, limit == 0 || limit > INT64_MAX ? -1 :
	    (int64_t)limit)) != 0)
		goto out;
	while ((r = sq_step(s, st, "history_list")) == 1) {
		memset(&rec, 0, sizeof(rec));
		rec.id = sq_col_u64(st, 0);
		rec.time = sq_col_u64(st, 1);
		rec.category = (uint32_t)sqlite3_column_int64(st, 2);
		rec.kind = (uint32_t)sqlite3_column_int64(st, 3);
		mamori_buf_reset(&detail);
		if ((r = sq_history_row(agent_id, rec.id, row)) != 0 ||
		    (r = sq_open_col(s, st, 4, "history", row, "detail",
		    &detail)) != 0)
			goto out;
		rec.detail = detail.data;
		rec.detail_len = detail.len;
		if ((cb = fn(ctx, &rec)) != 0) {
			r = cb;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&detail);
	return r;
}

static int
sq_event_row(const char *agent_id, uint64_t seq, char row[SQ_ROW_LEN])
{
	int n = snprintf(row, SQ_ROW_LEN, "%s/%" PRIu64, agent_id, seq);

	if (n < 0 || n >= SQ_ROW_LEN)
		return MAMORI_ERR_INVALID;
	return 0;
}

/* The agents row of id, cached; NOT_FOUND when none. */
static int
sq_agent_rowid(struct sq_store *s, const char *id, int64_t *rowid)
{
	struct sq_rowid_slot *slot;
	sqlite3_stmt *st = NULL;
	uint64_t h = 14695981039346656037ULL;
	const char *p;
	int r = MAMORI_ERR_INTERNAL;

	for (p = id; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	slot = &s->rowids[h & (SQ_ROWID_CACHE - 1)];
	if (slot->rowid != 0 && strcmp(slot->id, id) == 0) {
		*rowid = slot->rowid;
		return 0;
	}
	if ((r = sq_stmt(s, SQ_AGENT_ROWID, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, id)) != 0)
		goto out;
	if ((r = sq_step(s, st, "agent rowid")) < 0)
		goto out;
	if (r == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	*rowid = (int64_t)sqlite3_column_int64(st, 0);
	mamori_strlcpy(slot->id, id, sizeof(slot->id));
	slot->rowid = *rowid;
	r = 0;
out:
	sq_done(st);
	return r;
}

static int
sq_event_add(struct mamori_store *base, const char *agent_id, uint64_t seq,
    uint64_t time_ns, uint32_t type, const uint8_t *payload, size_t len,
    int *inserted)
{
	struct sq_store *s = sq_from(base);
	struct mamori_buf *sealed = &s->event_sealed;
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN];
	int64_t agent = 0;
	int r = MAMORI_ERR_INTERNAL;

	*inserted = 0;
	mamori_buf_reset(sealed);
	if ((r = sq_check_agent_id(agent_id)) != 0)
		goto out;
	if (seq == 0 || seq > SQ_TIME_MAX || time_ns > SQ_TIME_MAX ||
	    (payload == NULL && len > 0)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if (len > MAMORI_STORE_VALUE_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = sq_agent_rowid(s, agent_id, &agent)) != 0)
		goto out;
	if ((r = sq_event_row(agent_id, seq, row)) != 0 ||
	    (r = mamori_seal_field(s->seal, "events", row, "payload",
	    payload != NULL ? (const void *)payload : "", len, sealed)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_EVENT_ADD, &st)) != 0 ||
	    (r = sq_bind_i64(s, st, 1, agent)) != 0 ||
	    (r = sq_bind_u64(s, st, 2, seq)) != 0 ||
	    (r = sq_bind_u64(s, st, 3, time_ns)) != 0 ||
	    (r = sq_bind_i64(s, st, 4, type)) != 0 ||
	    (r = sq_bind_blob(s, st, 5, sealed->data, sealed->len)) != 0)
		goto out;
	if ((r = sq_step(s, st, "event_add")) < 0)
		goto out;
	*inserted = sqlite3_changes(s->db) > 0;
	r = 0;
out:
	sq_done(st);
	return r;
}

static int
sq_event_list(struct mamori_store *base, const struct mamori_event_query *q,
    mamori_event_fn fn, void *ctx)
{
	struct sq_store *s = sq_from(base);
	struct mamori_event_rec rec;
	struct mamori_buf payload;
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN], agent[MAMORI_AGENT_ID_STRLEN];
	const unsigned char *a;
	int r = MAMORI_ERR_INTERNAL, cb;

	mamori_buf_init(&payload, MAMORI_STORE_VALUE_MAX);
	if (q->agent_id != NULL && (r = sq_check_agent_id(q->agent_id)) != 0)
		goto out;
	if ((r = sq_stmt(s, q->newest_first ? SQ_EVENT_LIST_DESC :
	    SQ_EVENT_LIST_ASC, &st)) != 0)
		goto out;
	if (q->agent_id != NULL)
		r = sq_bind_text(s, st, 1, q->agent_id);
	else if (sqlite3_bind_null(st, 1) != SQLITE_OK)
		r = sq_fail(s, "bind");
	if (r != 0 ||
	    (r = sq_bind_i64(s, st, 2, q->type)) != 0 ||
	    (r = sq_bind_u64(s, st, 3, q->since_ns > SQ_TIME_MAX ?
	    SQ_TIME_MAX : q->since_ns)) != 0 ||
	    (r = sq_bind_u64(s, st, 4, q->until_ns == 0 ||
	    q->until_ns > SQ_TIME_MAX ? SQ_TIME_MAX : q->until_ns)) != 0 ||
	    (r = sq_bind_u64(s, st, 5, q->after_id > SQ_TIME_MAX ?
	    SQ_TIME_MAX : q->after_id)) != 0 ||
	    (r = sq_bind_i64(s, st, 6, q->limit == 0 || q->limit > INT64_MAX ?
	    -1 : (int64_t)q->limit)) != 0)
		goto out;
	while ((r = sq_step(s, st, "event_list")) == 1) {
		memset(&rec, 0, sizeof(rec));
		rec.id = sq_col_u64(st, 0);
		a = sqlite3_column_text(st, 1);
		if (a == NULL || mamori_strlcpy(agent, (const char *)a,
		    sizeof(agent)) >= sizeof(agent)) {
			r = sq_fail(s, "event agent id");
			goto out;
		}
		rec.agent_id = agent;
		rec.seq = sq_col_u64(st, 2);
		rec.time_ns = sq_col_u64(st, 3);
		rec.type = (uint32_t)sqlite3_column_int64(st, 4);
		mamori_buf_reset(&payload);
		if ((r = sq_event_row(agent, rec.seq, row)) != 0 ||
		    (r = sq_open_col(s, st, 5, "events", row, "payload",
		    &payload)) != 0)
			goto out;
		rec.payload = payload.data;
		rec.payload_len = payload.len;
		if ((cb = fn(ctx, &rec)) != 0) {
			r = cb;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&payload);
	return r;
}

/* --- alerts -------------------------------------------------------------- */

static int
sq_alert_row(uint64_t id, char row[SQ_ROW_LEN])
{
	int n = snprintf(row, SQ_ROW_LEN, "%" PRIu64, id);

	if (n < 0 || n >= SQ_ROW_LEN)
		return MAMORI_ERR_INVALID;
	return 0;
}

/* Frees text from json_dumps, wiping it first (it is an opened detail). */
static void
sq_json_text_free(char *t)
{
	if (t == NULL)
		return;
	OPENSSL_cleanse(t, strlen(t));
	free(t);
}

/* Seals the JSON text of detail for alert id and stores it. */
static int
sq_alert_put_detail(struct sq_store *s, uint64_t id, const json_t *detail)
{
	struct mamori_buf sealed;
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN], *text = NULL;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&sealed, SQ_SEALED_MAX);
	if ((text = json_dumps(detail, JSON_COMPACT)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (strlen(text) > MAMORI_ALERT_DETAIL_MAX + 64 *
	    MAMORI_ALERT_SEQS_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = sq_alert_row(id, row)) != 0 ||
	    (r = mamori_seal_field(s->seal, "alerts", row, "detail", text,
	    strlen(text), &sealed)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_ALERT_DETAIL, &st)) != 0 ||
	    (r = sq_bind_u64(s, st, 1, id)) != 0 ||
	    (r = sq_bind_blob(s, st, 2, sealed.data, sealed.len)) != 0)
		goto out;
	if ((r = sq_step(s, st, "alert detail")) < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	sq_json_text_free(text);
	mamori_buf_free(&sealed);
	return r;
}

/* Parses an opened or given detail: a JSON object, else NULL. */
static json_t *
sq_alert_parse(const char *text, size_t len)
{
	json_t *j;

	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Appends seq to detail's "seqs" unless it is full or has it already;
 * *changed says whether it did. */
static int
sq_alert_add_seq(json_t *detail, uint64_t seq, int *changed)
{
	json_t *seqs = json_object_get(detail, "seqs"), *v;
	size_t i;

	*changed = 0;
	if (!json_is_array(seqs)) {
		if ((seqs = json_array()) == NULL ||
		    json_object_set_new(detail, "seqs", seqs) != 0)
			return MAMORI_ERR_ALLOC;
	}
	if (json_array_size(seqs) >= MAMORI_ALERT_SEQS_MAX)
		return 0;
	json_array_foreach(seqs, i, v) {
		if (json_is_integer(v) &&
		    (uint64_t)json_integer_value(v) == seq)
			return 0;
	}
	if (json_array_append_new(seqs, json_integer((json_int_t)seq)) != 0)
		return MAMORI_ERR_ALLOC;
	*changed = 1;
	return 0;
}

static int
sq_alert_raise(struct mamori_store *base, const struct mamori_alert_raise *a,
    int *created)
{
	struct sq_store *s = sq_from(base);
	struct mamori_buf opened;
	sqlite3_stmt *st = NULL;
	json_t *detail = NULL;
	char row[SQ_ROW_LEN];
	const char *given;
	uint64_t window, id = 0, first = 0;
	int64_t agent = 0;
	int owned = 0, found = 0, changed = 0, r = MAMORI_ERR_INTERNAL;

	if (created != NULL)
		*created = 0;
	mamori_buf_init(&opened, SQ_SEALED_MAX);
	if ((r = sq_check_agent_id(a->agent_id)) != 0)
		goto out;
	if (a->rule_key == NULL || a->rule_key[0] == '\0' ||
	    strlen(a->rule_key) > MAMORI_ALERT_KEY_MAX ||
	    (a->source != MAMORI_ALERT_SIGMA &&
	    a->source != MAMORI_ALERT_INDICATOR &&
	    a->source != MAMORI_ALERT_YARA) ||
	    a->severity < MAMORI_SEVERITY_INFORMATIONAL ||
	    a->severity > MAMORI_SEVERITY_CRITICAL ||
	    a->time_ns > SQ_TIME_MAX || a->seq > SQ_TIME_MAX) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	given = a->detail_json != NULL ? a->detail_json : "{}";
	if (strlen(given) > MAMORI_ALERT_DETAIL_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	window = a->window_ns != 0 ? a->window_ns : MAMORI_ALERT_WINDOW_NS;
	if ((r = sq_agent_rowid(s, a->agent_id, &agent)) != 0)
		goto out;
	if ((r = sq_txn_enter(s, &owned)) != 0)
		goto out;
	/* The agent's latest alert for this key, if its window holds the
	 * event. */
	if ((r = sq_stmt(s, SQ_ALERT_FIND, &st)) != 0 ||
	    (r = sq_bind_i64(s, st, 1, agent)) != 0 ||
	    (r = sq_bind_text(s, st, 2, a->rule_key)) != 0)
		goto out;
	if ((r = sq_step(s, st, "alert find")) < 0)
		goto out;
	if (r == 1) {
		id = sq_col_u64(st, 0);
		first = sq_col_u64(st, 1);
		if (a->time_ns < first || a->time_ns - first < window) {
			found = 1;
			/* A detail that does not open (damaged behind the
			 * store's back) is logged and left as it is: the
			 * alert still counts, and ingest goes on. */
			if ((r = sq_alert_row(id, row)) != 0)
				goto out;
			if (sq_open_col(s, st, 2, "alerts", row, "detail",
			    &opened) != 0)
				mamori_buf_reset(&opened);
		}
	}
	sq_done(st);
	st = NULL;
	if (found) {
		if ((r = sq_stmt(s, SQ_ALERT_BUMP, &st)) != 0 ||
		    (r = sq_bind_u64(s, st, 1, id)) != 0 ||
		    (r = sq_bind_u64(s, st, 2, a->time_ns)) != 0 ||
		    (r = sq_bind_i64(s, st, 3, a->severity)) != 0)
			goto out;
		if ((r = sq_step(s, st, "alert bump")) < 0)
			goto out;
		if (opened.len == 0 || (detail = sq_alert_parse(
		    (const char *)opened.data, opened.len)) == NULL) {
			log_error("store: detail of alert %" PRIu64 " is not "
			    "readable; its seqs are not updated", id);
			if (a->id_out != NULL)
				*a->id_out = id;
			r = 0;
			goto out;
		}
		if ((r = sq_alert_add_seq(detail, a->seq, &changed)) != 0)
			goto out;
		if (changed && (r = sq_alert_put_detail(s, id, detail)) != 0)
			goto out;
		if (a->id_out != NULL)
			*a->id_out = id;
		r = 0;
		goto out;
	}
	if ((detail = sq_alert_parse(given, strlen(given))) == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	(void)json_object_del(detail, "seqs");
	if ((r = sq_alert_add_seq(detail, a->seq, &changed)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_ALERT_INSERT, &st)) != 0 ||
	    (r = sq_bind_i64(s, st, 1, agent)) != 0 ||
	    (r = sq_bind_i64(s, st, 2, a->source)) != 0 ||
	    (r = sq_bind_text(s, st, 3, a->rule_key)) != 0 ||
	    (r = sq_bind_i64(s, st, 4, a->severity)) != 0 ||
	    (r = sq_bind_u64(s, st, 5, a->time_ns)) != 0)
		goto out;
	if ((r = sq_step(s, st, "alert insert")) < 0)
		goto out;
	id = (uint64_t)sqlite3_last_insert_rowid(s->db);
	if ((r = sq_alert_put_detail(s, id, detail)) != 0)
		goto out;
	if (created != NULL)
		*created = 1;
	if (a->id_out != NULL)
		*a->id_out = id;
	r = 0;
out:
	sq_done(st);
	json_decref(detail);
	mamori_buf_free(&opened);     /* wipes the opened detail */
	return sq_txn_leave(s, owned, r);
}

static int
sq_alert_list(struct mamori_store *base, const struct mamori_alert_query *q,
    mamori_alert_fn fn, void *ctx)
{
	struct sq_store *s = sq_from(base);
	struct mamori_alert_rec rec;
	struct mamori_buf detail;
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN], agent[MAMORI_AGENT_ID_STRLEN];
	char key[MAMORI_ALERT_KEY_MAX + 1];
	int r = MAMORI_ERR_INTERNAL, cb;

	mamori_buf_init(&detail, SQ_SEALED_MAX);
	if (q->agent_id != NULL && (r = sq_check_agent_id(q->agent_id)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_ALERT_LIST, &st)) != 0)
		goto out;
	if (q->agent_id != NULL)
		r = sq_bind_text(s, st, 1, q->agent_id);
	else if (sqlite3_bind_null(st, 1) != SQLITE_OK)
		r = sq_fail(s, "bind");
	if (r != 0 ||
	    (r = sq_bind_u64(s, st, 2, q->since_ns > SQ_TIME_MAX ?
	    SQ_TIME_MAX : q->since_ns)) != 0 ||
	    (r = sq_bind_i64(s, st, 3, q->severity_min)) != 0 ||
	    (r = sq_bind_i64(s, st, 4, q->limit == 0 || q->limit > INT64_MAX ?
	    -1 : (int64_t)q->limit)) != 0)
		goto out;
	while ((r = sq_step(s, st, "alert_list")) == 1) {
		memset(&rec, 0, sizeof(rec));
		rec.id = sq_col_u64(st, 0);
		if ((r = sq_col_str(st, 1, "alert agent id", agent,
		    sizeof(agent))) != 0 ||
		    (r = sq_col_str(st, 3, "alert rule key", key,
		    sizeof(key))) != 0)
			goto out;
		rec.agent_id = agent;
		rec.source = (uint32_t)sqlite3_column_int64(st, 2);
		rec.rule_key = key;
		rec.severity = (uint32_t)sqlite3_column_int64(st, 4);
		rec.first_seen = sq_col_u64(st, 5);
		rec.last_seen = sq_col_u64(st, 6);
		rec.count = sq_col_u64(st, 7);
		mamori_buf_reset(&detail);
		if ((r = sq_alert_row(rec.id, row)) != 0 ||
		    (r = sq_open_col(s, st, 8, "alerts", row, "detail",
		    &detail)) != 0 ||
		    (r = mamori_buf_append(&detail, "", 1)) != 0)
			goto out;
		rec.detail = (const char *)detail.data;
		if ((cb = fn(ctx, &rec)) != 0) {
			r = cb;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&detail);
	return r;
}

/* --- objects ------------------------------------------------------------- */

/* Kinds and keys are short printable ASCII without '~' (the list's upper
 * bound) or ':' (the seal's row separator). */
static int
sq_object_name_ok(const char *v, size_t max, int empty_ok)
{
	size_t i, n;

	if (v == NULL)
		return 0;
	n = strlen(v);
	if ((n == 0 && !empty_ok) || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] >= '~' || v[i] == ':')
			return 0;
	return 1;
}

static int
sq_object_row(const char *kind, const char *key, char row[SQ_ROW_LEN])
{
	int n = snprintf(row, SQ_ROW_LEN, "%s:%s", kind, key);

	return n < 0 || n >= SQ_ROW_LEN ? MAMORI_ERR_TOO_LARGE : 0;
}

static int
sq_object_put(struct mamori_store *base, const struct mamori_object_rec *o,
    int replace, int *inserted)
{
	struct sq_store *s = sq_from(base);
	struct mamori_buf sealed;
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN];
	int r = MAMORI_ERR_INTERNAL;

	if (inserted != NULL)
		*inserted = 0;
	mamori_buf_init(&sealed, SQ_SEALED_MAX);
	if (!sq_object_name_ok(o->kind, MAMORI_OBJECT_KIND_MAX, 0) ||
	    !sq_object_name_ok(o->key, MAMORI_OBJECT_KEY_MAX, 0) ||
	    o->time > SQ_TIME_MAX || o->expires > SQ_TIME_MAX) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if (o->len > MAMORI_STORE_VALUE_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = sq_object_row(o->kind, o->key, row)) != 0 ||
	    (r = mamori_seal_field(s->seal, "objects", row, "value",
	    o->value != NULL ? o->value : (const uint8_t *)"", o->len,
	    &sealed)) != 0)
		goto out;
	if ((r = sq_stmt(s, replace ? SQ_OBJECT_PUT : SQ_OBJECT_ADD,
	    &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, o->kind)) != 0 ||
	    (r = sq_bind_text(s, st, 2, o->key)) != 0 ||
	    (r = sq_bind_u64(s, st, 3, o->time)) != 0 ||
	    (r = sq_bind_u64(s, st, 4, o->expires)) != 0 ||
	    (r = sq_bind_blob(s, st, 5, sealed.data, sealed.len)) != 0)
		goto out;
	if ((r = sq_step(s, st, "object put")) < 0)
		goto out;
	if (inserted != NULL)
		*inserted = sqlite3_changes(s->db) > 0;
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&sealed);
	return r;
}

static int
sq_object_get(struct mamori_store *base, const char *kind, const char *key,
    struct mamori_buf *out, uint64_t *time)
{
	struct sq_store *s = sq_from(base);
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN];
	int r = MAMORI_ERR_INTERNAL;

	if (time != NULL)
		*time = 0;
	if (!sq_object_name_ok(kind, MAMORI_OBJECT_KIND_MAX, 0) ||
	    !sq_object_name_ok(key, MAMORI_OBJECT_KEY_MAX, 0)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = sq_object_row(kind, key, row)) != 0 ||
	    (r = sq_stmt(s, SQ_OBJECT_GET, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, kind)) != 0 ||
	    (r = sq_bind_text(s, st, 2, key)) != 0)
		goto out;
	if ((r = sq_step(s, st, "object get")) < 0)
		goto out;
	if (r == 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	if (time != NULL)
		*time = sq_col_u64(st, 0);
	if ((r = sq_open_col(s, st, 2, "objects", row, "value", out)) != 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	return r;
}

static int
sq_object_list(struct mamori_store *base, const char *kind,
    const char *prefix, uint64_t expires_min, size_t limit,
    mamori_object_fn fn, void *ctx)
{
	struct sq_store *s = sq_from(base);
	struct mamori_object_rec rec;
	struct mamori_buf value;
	sqlite3_stmt *st = NULL;
	char row[SQ_ROW_LEN], key[MAMORI_OBJECT_KEY_MAX + 1];
	int r = MAMORI_ERR_INTERNAL, cb;

	mamori_buf_init(&value, SQ_SEALED_MAX);
	if (prefix == NULL)
		prefix = "";
	if (!sq_object_name_ok(kind, MAMORI_OBJECT_KIND_MAX, 0) ||
	    !sq_object_name_ok(prefix, MAMORI_OBJECT_KEY_MAX, 1)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = sq_stmt(s, SQ_OBJECT_LIST, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, kind)) != 0 ||
	    (r = sq_bind_text(s, st, 2, prefix)) != 0 ||
	    (r = sq_bind_u64(s, st, 3, expires_min > SQ_TIME_MAX ?
	    SQ_TIME_MAX : expires_min)) != 0 ||
	    (r = sq_bind_i64(s, st, 4, limit == 0 || limit > INT64_MAX ?
	    -1 : (int64_t)limit)) != 0)
		goto out;
	while ((r = sq_step(s, st, "object list")) == 1) {
		memset(&rec, 0, sizeof(rec));
		if ((r = sq_col_str(st, 0, "object key", key,
		    sizeof(key))) != 0 ||
		    (r = sq_object_row(kind, key, row)) != 0)
			goto out;
		mamori_buf_reset(&value);
		if ((r = sq_open_col(s, st, 3, "objects", row, "value",
		    &value)) != 0)
			goto out;
		rec.kind = kind;
		rec.key = key;
		rec.time = sq_col_u64(st, 1);
		rec.expires = sq_col_u64(st, 2);
		rec.value = value.data;
		rec.len = value.len;
		if ((cb = fn(ctx, &rec)) != 0) {
			r = cb;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	mamori_buf_free(&value);
	return r;
}

/* --- opening ------------------------------------------------------------- */

/*
 * Makes sure there is a file at path: created empty with mode 0600 when
 * create is set and nothing is there (*created = 1), MAMORI_ERR_NOT_FOUND
 * when create is not set and nothing is there.
 */
static int
sq_file_prepare(const char *path, int create, int *created)
{
	struct stat sb;
	int fd = -1, r = MAMORI_ERR_INTERNAL;

	*created = 0;
	if (create) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
		    SQ_DB_MODE);
		if (fd >= 0) {
			/* Exactly 0600 whatever the umask. */
			if (fchmod(fd, SQ_DB_MODE) != 0) {
				log_error("store: fchmod %s: %s", path,
				    strerror(errno));
				r = MAMORI_ERR_SYSTEM;
				*created = 1;
				goto out;
			}
			*created = 1;
			r = 0;
			goto out;
		}
		if (errno != EEXIST) {
			log_error("store: create %s: %s", path,
			    strerror(errno));
			r = MAMORI_ERR_SYSTEM;
			goto out;
		}
	}
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT) {
			r = MAMORI_ERR_NOT_FOUND;
			goto out;
		}
		log_error("store: stat %s: %s", path, strerror(errno));
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		log_error("store: %s is not a regular file", path);
		r = MAMORI_ERR_STORE;
		goto out;
	}
	if ((sb.st_mode & 077) != 0)
		log_warn("store: %s is readable by others than its owner",
		    path);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* Reads the meta value name into out (blob or integer). */
static int
sq_meta_get(struct sq_store *s, const char *name, struct mamori_buf *blob,
    int64_t *num)
{
	sqlite3_stmt *st = NULL;
	const void *p;
	int n, r = MAMORI_ERR_INTERNAL;

	if ((r = sq_stmt(s, SQ_META_GET, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, name)) != 0)
		goto out;
	if ((r = sq_step(s, st, "meta")) < 0)
		goto out;
	if (r == 0) {
		log_error("store: the database has no %s", name);
		r = MAMORI_ERR_STORE;
		goto out;
	}
	if (num != NULL)
		*num = (int64_t)sqlite3_column_int64(st, 0);
	if (blob != NULL) {
		p = sqlite3_column_blob(st, 0);
		n = sqlite3_column_bytes(st, 0);
		if (n < 0 || (r = mamori_buf_append(blob, p != NULL ? p : "",
		    (size_t)n)) != 0) {
			log_error("store: the database's %s is malformed",
			    name);
			r = MAMORI_ERR_STORE;
			goto out;
		}
	}
	r = 0;
out:
	sq_done(st);
	return r;
}

/* Adds what version `to` brought (schema sql), atomically. */
static int
sq_migrate(struct sq_store *s, const char *sql, int64_t to, const char *what)
{
	sqlite3_stmt *st = NULL;
	int owned = 0, r = MAMORI_ERR_INTERNAL;

	if ((r = sq_txn_enter(s, &owned)) != 0)
		goto out;
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		r = sq_fail(s, "schema migration");
		goto out;
	}
	if ((r = sq_stmt(s, SQ_META_SET, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, SQ_META_SCHEMA_VERSION)) != 0 ||
	    (r = sq_bind_i64(s, st, 2, to)) != 0)
		goto out;
	if ((r = sq_step(s, st, "meta")) < 0)
		goto out;
	log_info("store: upgraded to schema version %" PRId64 " (%s)", to,
	    what);
	r = 0;
out:
	sq_done(st);
	return sq_txn_leave(s, owned, r);
}

/* Opens an existing store's data key.  Reads only. */
static int
sq_load(struct sq_store *s, const uint8_t *storage_key)
{
	struct mamori_buf wrapped;
	int64_t version = 0;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&wrapped, MAMORI_SEAL_WRAPPED_LEN);
	if ((r = sq_meta_get(s, SQ_META_DATA_KEY, &wrapped, NULL)) != 0)
		goto out;
	if ((r = mamori_seal_unwrap(storage_key, wrapped.data, wrapped.len,
	    &s->seal)) != 0) {
		if (r == MAMORI_ERR_WRONG_KEY)
			log_error("store: the storage key does not open this "
			    "store");
		goto out;
	}
	if ((r = sq_meta_get(s, SQ_META_SCHEMA_VERSION, NULL,
	    &version)) != 0)
		goto out;
	if (version == 1 && (r = sq_migrate(s, SQ_EVENTS_SCHEMA, 2,
	    "events")) == 0)
		version = 2;
	if (version == 2 && (r = sq_migrate(s, SQ_ALERTS_SCHEMA, 3,
	    "alerts")) == 0)
		version = 3;
	if (version == 3 && (r = sq_migrate(s, SQ_OBJECTS_SCHEMA, 4,
	    "objects")) == 0)
		version = 4;
	if (version != SQ_SCHEMA_VERSION) {
		log_error("store: schema version %" PRId64 ", this build "
		    "knows %d", version, SQ_SCHEMA_VERSION);
		r = MAMORI_ERR_STORE;
		goto out;
	}
	r = 0;
out:
	mamori_buf_free(&wrapped);
	return r;
}

static int
sq_journal_wal(struct sq_store *s)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int r = MAMORI_ERR_INTERNAL;

	if ((r = sq_stmt(s, SQ_JOURNAL_WAL, &st)) != 0)
		goto out;
	if ((r = sq_step(s, st, "journal_mode")) < 0)
		goto out;
	mode = r == 1 ? sqlite3_column_text(st, 0) : NULL;
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		log_error("store: the database refuses WAL mode");
		r = MAMORI_ERR_STORE;
		goto out;
	}
	r = 0;
out:
	sq_done(st);
	/* A pragma's statement is not kept: it is used once per open. */
	if (s->stmt[SQ_JOURNAL_WAL] != NULL) {
		sqlite3_finalize(s->stmt[SQ_JOURNAL_WAL]);
		s->stmt[SQ_JOURNAL_WAL] = NULL;
	}
	return r;
}

/* Lays out a new store in an empty database: schema, version, data key. */
static int
sq_init(struct sq_store *s, const uint8_t *storage_key)
{
	struct mamori_buf wrapped;
	sqlite3_stmt *st = NULL;
	int64_t tables = 0;
	int owned = 0, r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&wrapped, MAMORI_SEAL_WRAPPED_LEN);
	if ((r = sq_int(s, SQ_TABLE_COUNT, "schema", &tables)) != 0)
		goto out;
	if (tables != 0) {
		log_error("store: the database holds tables but no mamori "
		    "store");
		r = MAMORI_ERR_STORE;
		goto out;
	}
	if ((r = sq_journal_wal(s)) != 0)
		goto out;
	if ((r = sq_txn_enter(s, &owned)) != 0)
		goto out;
	/* Checked again under the write lock: another process may have
	 * created the store since. */
	if ((r = sq_int(s, SQ_TABLE_COUNT, "schema", &tables)) != 0)
		goto out;
	if (tables != 0) {
		log_error("store: the store was created concurrently");
		r = MAMORI_ERR_STORE;
		goto out;
	}
	if (sqlite3_exec(s->db, sq_schema, NULL, NULL, NULL) != SQLITE_OK) {
		r = sq_fail(s, "schema");
		goto out;
	}
	if ((r = mamori_seal_wrap_new(storage_key, &wrapped, &s->seal)) != 0)
		goto out;
	if ((r = sq_stmt(s, SQ_META_PUT, &st)) != 0 ||
	    (r = sq_bind_text(s, st, 1, SQ_META_SCHEMA_VERSION)) != 0 ||
	    (r = sq_bind_i64(s, st, 2, SQ_SCHEMA_VERSION)) != 0)
		goto out;
	if ((r = sq_step(s, st, "meta")) < 0)
		goto out;
	sq_done(st);
	if ((r = sq_bind_text(s, st, 1, SQ_META_DATA_KEY)) != 0 ||
	    (r = sq_bind_blob(s, st, 2, wrapped.data, wrapped.len)) != 0)
		goto out;
	if ((r = sq_step(s, st, "meta")) < 0)
		goto out;
	r = 0;
out:
	sq_done(st);
	r = sq_txn_leave(s, owned, r);
	if (r != 0) {
		mamori_seal_free(s->seal);
		s->seal = NULL;
	}
	mamori_buf_free(&wrapped);
	return r;
}

int
mamori_store_open_sqlite(const char *path,
    const uint8_t storage_key[MAMORI_KEY_LEN], int create,
    struct mamori_store **out)
{
	struct sq_store *s = NULL;
	int64_t has_meta = 0;
	int created = 0, r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if (path == NULL || storage_key == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	s->base.ops = &sq_ops;
	mamori_buf_init(&s->event_sealed, SQ_SEALED_MAX);
	if ((r = sq_file_prepare(path, create, &created)) != 0)
		goto out;
	/* No SQLITE_OPEN_CREATE: the file exists by now, and SQLite must not
	 * make one with the process umask. */
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		r = sq_fail(s, "open");
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if (sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) !=
	    SQLITE_OK ||
	    sqlite3_exec(s->db, sq_pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		r = sq_fail(s, "configure");
		goto out;
	}
	if ((r = sq_int(s, SQ_META_EXISTS, "schema", &has_meta)) != 0)
		goto out;
	if (has_meta) {
		/* Key first: nothing is written before it opened. */
		if ((r = sq_load(s, storage_key)) != 0)
			goto out;
		if ((r = sq_journal_wal(s)) != 0)
			goto out;
		sq_checkpointer_start(s, path);
	} else if (create) {
		if ((r = sq_init(s, storage_key)) != 0)
			goto out;
	} else {
		log_error("store: %s holds no mamori store", path);
		r = MAMORI_ERR_STORE;
		goto out;
	}
	*out = &s->base;
	s = NULL;
	r = 0;
out:
	sq_close(s != NULL ? &s->base : NULL);
	if (r != 0 && created && unlink(path) != 0)
		log_warn("store: cannot remove %s: %s", path, strerror(errno));
	return r;
}

static const struct mamori_store_ops sq_ops = {
	.name = "sqlite",
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.token_add = sq_token_add,
	.token_list = sq_token_list,
	.token_revoke = sq_token_revoke,
	.token_consume = sq_token_consume,
	.agent_add = sq_agent_add,
	.agent_get = sq_agent_get,
	.agent_list = sq_agent_list,
	.agent_seen = sq_agent_seen,
	.agent_set_info = sq_agent_set_info,
	.agent_revoke = sq_agent_revoke,
	.inventory_get = sq_inventory_get,
	.inventory_put = sq_inventory_put,
	.inventory_time = sq_inventory_time,
	.history_add = sq_history_add,
	.history_list = sq_history_list,
	.event_add = sq_event_add,
	.event_list = sq_event_list,
	.alert_raise = sq_alert_raise,
	.alert_list = sq_alert_list,
	.object_put = sq_object_put,
	.object_get = sq_object_get,
	.object_list = sq_object_list,
};
