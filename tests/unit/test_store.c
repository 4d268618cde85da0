/*
 * test_store.c - unit tests for the SQLite store and field sealing.
 *
 * Each test works in its own mkdtemp directory under /tmp, removed in
 * teardown.  Beyond the happy paths, the tests look at the bytes on disk:
 * a marker stored in every sealed field must appear in no file of the
 * directory, a wrong key must leave the database untouched, and a sealed
 * value moved to another row must fail to open.  Tests must never depend
 * on the order they run in or leave files behind.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "crypto.h"
#include "err.h"
#include "seal.h"
#include "store.h"
#include "util.h"

#define TEST_DIR_TEMPLATE "/tmp/mamori-store-XXXXXX"
#define TEST_PATH_MAX 256
#define TEST_FILE_MAX (64 * 1024 * 1024)
#define TEST_HISTORY_MAX 16
#define TEST_DETAIL_MAX 64
#define MARKER "qz-MAMORI-MARKER-5f1c9a2e-qz"

struct fixture {
	char dir[TEST_PATH_MAX];
	char path[TEST_PATH_MAX];
	uint8_t key[MAMORI_KEY_LEN];
	struct mamori_store *s;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	mamori_strlcpy(f->dir, TEST_DIR_TEMPLATE, sizeof(f->dir));
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	if (mamori_path_join(f->path, sizeof(f->path), f->dir,
	    "store.db") != 0) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	mamori_random(f->key, sizeof(f->key));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[TEST_PATH_MAX];
	struct dirent *de;
	DIR *d;

	mamori_store_close(f->s);
	if ((d = opendir(f->dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (mamori_path_join(p, sizeof(p), f->dir,
			    de->d_name) == 0)
				unlink(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
open_new(struct fixture *f)
{
	assert_int_equal(mamori_store_open_sqlite(f->path, f->key, 1, &f->s),
	    0);
	assert_non_null(f->s);
}

static void
reopen(struct fixture *f)
{
	mamori_store_close(f->s);
	f->s = NULL;
	assert_int_equal(mamori_store_open_sqlite(f->path, f->key, 0, &f->s),
	    0);
	assert_non_null(f->s);
}

static void
agent_id(unsigned n, char out[MAMORI_AGENT_ID_STRLEN])
{
	snprintf(out, MAMORI_AGENT_ID_STRLEN, "%032x", n);
}

static void
add_agent(struct fixture *f, unsigned n, const char *hostname)
{
	struct mamori_agent_rec a;

	memset(&a, 0, sizeof(a));
	agent_id(n, a.id);
	snprintf(a.cert_serial, sizeof(a.cert_serial), "%032x", n + 1000);
	a.enrolled_at = 100 + n;
	a.last_seen = 100 + n;
	mamori_strlcpy(a.hostname, hostname, sizeof(a.hostname));
	mamori_strlcpy(a.os, "Debian GNU/Linux 12", sizeof(a.os));
	mamori_strlcpy(a.address, "198.51.100.1", sizeof(a.address));
	assert_int_equal(mamori_store_agent_add(f->s, &a), 0);
}

static void
sibling(const struct fixture *f, const char *suffix, char *out, size_t len)
{
	int n = snprintf(out, len, "%s%s", f->path, suffix);

	assert_true(n > 0 && (size_t)n < len);
}

static void
assert_mode_0600(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

/* Runs one statement with up to two text parameters on a raw connection
 * to the store's file, behind the store's back. */
static void
raw_exec(const struct fixture *f, const char *sql, const char *p1,
    const char *p2)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (p1 != NULL)
		assert_int_equal(sqlite3_bind_text(st, 1, p1, -1,
		    SQLITE_STATIC), SQLITE_OK);
	if (p2 != NULL)
		assert_int_equal(sqlite3_bind_text(st, 2, p2, -1,
		    SQLITE_STATIC), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* --- sealing ------------------------------------------------------------- */

static void
test_seal_wrap(void **state)
{
	struct mamori_seal *a = NULL, *b = NULL, *c = NULL;
	uint8_t key[MAMORI_KEY_LEN], other[MAMORI_KEY_LEN];
	uint8_t ia[MAMORI_SHA256_LEN], ib[MAMORI_SHA256_LEN];
	uint8_t ic[MAMORI_SHA256_LEN];
	struct mamori_buf w, ct, pt;

	(void)state;
	mamori_random(key, sizeof(key));
	memcpy(other, key, sizeof(other));
	other[0] ^= 1;
	mamori_buf_init(&w, 256);
	mamori_buf_init(&ct, 256);
	mamori_buf_init(&pt, 256);

	assert_int_equal(mamori_seal_wrap_new(key, &w, &a), 0);
	assert_int_equal(w.len, MAMORI_SEAL_WRAPPED_LEN);
	assert_int_equal(mamori_seal_unwrap(other, w.data, w.len, &b),
	    MAMORI_ERR_WRONG_KEY);
	assert_null(b);
	assert_int_equal(mamori_seal_unwrap(key, w.data, w.len - 1, &b),
	    MAMORI_ERR_WRONG_KEY);
	assert_null(b);
	w.data[5] ^= 0x80;
	assert_int_equal(mamori_seal_unwrap(key, w.data, w.len, &b),
	    MAMORI_ERR_WRONG_KEY);
	w.data[5] ^= 0x80;
	assert_int_equal(mamori_seal_unwrap(key, w.data, w.len, &b), 0);

	/* The unwrapped key opens what the original sealed. */
	assert_int_equal(mamori_seal_field(a, "agents", "r1", "hostname",
	    "secret", 6, &ct), 0);
	assert_int_equal(ct.len, 6 + MAMORI_AEAD_OVERHEAD);
	assert_null(memmem(ct.data, ct.len, "secret", 6));
	assert_int_equal(mamori_seal_open_field(b, "agents", "r1", "hostname",
	    ct.data, ct.len, &pt), 0);
	assert_int_equal(pt.len, 6);
	assert_memory_equal(pt.data, "secret", 6);

	/* Same index key from the same data key; another data key differs. */
	assert_int_equal(mamori_seal_index(a, "x", 1, ia), 0);
	assert_int_equal(mamori_seal_index(b, "x", 1, ib), 0);
	assert_memory_equal(ia, ib, sizeof(ia));
	mamori_buf_reset(&w);
	assert_int_equal(mamori_seal_wrap_new(key, &w, &c), 0);
	assert_int_equal(mamori_seal_index(c, "x", 1, ic), 0);
	assert_memory_not_equal(ia, ic, sizeof(ia));
	mamori_buf_reset(&pt);
	assert_int_equal(mamori_seal_open_field(c, "agents", "r1", "hostname",
	    ct.data, ct.len, &pt), MAMORI_ERR_AUTH);

	mamori_seal_free(a);
	mamori_seal_free(b);
	mamori_seal_free(c);
	mamori_seal_free(NULL);
	mamori_buf_free(&w);
	mamori_buf_free(&ct);
	mamori_buf_free(&pt);
}

static void
test_seal_place(void **state)
{
	struct mamori_seal *k = NULL;
	uint8_t key[MAMORI_KEY_LEN];
	struct mamori_buf w, ct, pt;

	(void)state;
	mamori_random(key, sizeof(key));
	mamori_buf_init(&w, 256);
	mamori_buf_init(&ct, 256);
	mamori_buf_init(&pt, 4);
	assert_int_equal(mamori_seal_wrap_new(key, &w, &k), 0);

	assert_int_equal(mamori_seal_field(k, "ab", "c", "d", "v", 1, &ct), 0);
	assert_int_equal(mamori_seal_open_field(k, "ab", "c", "d", ct.data,
	    ct.len, &pt), 0);
	mamori_buf_reset(&pt);
	/* Every part of the place counts, and the parts cannot slide. */
	assert_int_equal(mamori_seal_open_field(k, "a", "bc", "d", ct.data,
	    ct.len, &pt), MAMORI_ERR_AUTH);
	assert_int_equal(mamori_seal_open_field(k, "ab", "cd", "d", ct.data,
	    ct.len, &pt), MAMORI_ERR_AUTH);
	assert_int_equal(mamori_seal_open_field(k, "ab", "c", "e", ct.data,
	    ct.len, &pt), MAMORI_ERR_AUTH);
	assert_int_equal(mamori_seal_open_field(k, "xb", "c", "d", ct.data,
	    ct.len, &pt), MAMORI_ERR_AUTH);
	assert_int_equal(pt.len, 0);
	/* Altered, short or empty values do not open either. */
	ct.data[ct.len - 1] ^= 1;
	assert_int_equal(mamori_seal_open_field(k, "ab", "c", "d", ct.data,
	    ct.len, &pt), MAMORI_ERR_AUTH);
	assert_int_equal(mamori_seal_open_field(k, "ab", "c", "d", ct.data, 3,
	    &pt), MAMORI_ERR_AUTH);
	assert_int_equal(mamori_seal_open_field(k, "ab", "c", "d", "", 0,
	    &pt), MAMORI_ERR_AUTH);
	/* Empty names are refused. */
	assert_int_equal(mamori_seal_field(k, "", "c", "d", "v", 1, &ct),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_seal_field(k, "ab", "", "d", "v", 1, &ct),
	    MAMORI_ERR_INVALID);

	mamori_seal_free(k);
	mamori_buf_free(&w);
	mamori_buf_free(&ct);
	mamori_buf_free(&pt);
}

/* --- opening ------------------------------------------------------------- */

static void
test_open_create_reopen(void **state)
{
	struct fixture *f = *state;
	struct mamori_agent_rec a;
	char wal[TEST_PATH_MAX], shm[TEST_PATH_MAX];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	/* Nothing there and no create: refused, and nothing created. */
	assert_int_equal(mamori_store_open_sqlite(f->path, f->key, 0, &f->s),
	    MAMORI_ERR_NOT_FOUND);
	assert_null(f->s);
	assert_int_equal(access(f->path, F_OK), -1);

	open_new(f);
	add_agent(f, 1, "host-one");
	sibling(f, "-wal", wal, sizeof(wal));
	sibling(f, "-shm", shm, sizeof(shm));
	assert_mode_0600(f->path);
	assert_mode_0600(wal);
	assert_mode_0600(shm);

	/* The database is in WAL mode. */
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1,
	    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* Reopened without create, the data is there. */
	reopen(f);
	assert_int_equal(mamori_store_agent_get(f->s, "00000000000000000000"
	    "000000000001", &a), 0);
	assert_string_equal(a.hostname, "host-one");

	/* create on an existing store opens it; it does not start over. */
	mamori_store_close(f->s);
	f->s = NULL;
	open_new(f);
	assert_int_equal(mamori_store_agent_get(f->s, "00000000000000000000"
	    "000000000001", &a), 0);
	assert_string_equal(a.hostname, "host-one");
}

static void
test_open_not_a_store(void **state)
{
	struct fixture *f = *state;
	static const char junk[] = "this is not a database, not at all......"
	    "........................................................";

	assert_int_equal(mamori_file_write(f->path, junk, sizeof(junk), 0600,
	    1), 0);
	assert_int_equal(mamori_store_open_sqlite(f->path, f->key, 0, &f->s),
	    MAMORI_ERR_STORE);
	assert_null(f->s);
	assert_int_equal(mamori_store_open_sqlite(f->path, f->key, 1, &f->s),
	    MAMORI_ERR_STORE);
	assert_null(f->s);
}

static void
test_wrong_key(void **state)
{
	struct fixture *f = *state;
	struct mamori_buf before, after;
	uint8_t other[MAMORI_KEY_LEN];
	struct stat sb1, sb2;
	char wal[TEST_PATH_MAX];

	open_new(f);
	add_agent(f, 1, "host-one");
	mamori_store_close(f->s);
	f->s = NULL;

	mamori_buf_init(&before, TEST_FILE_MAX);
	mamori_buf_init(&after, TEST_FILE_MAX);
	assert_int_equal(mamori_buf_read_file(&before, f->path), 0);
	assert_true(before.len > 0);
	assert_int_equal(stat(f->path, &sb1), 0);
	/* Let a write, were there one, show in the mtime. */
	usleep(20 * 1000);

	memcpy(other, f->key, sizeof(other));
	other[MAMORI_KEY_LEN - 1] ^= 0x01;
	assert_int_equal(mamori_store_open_sqlite(f->path, other, 0, &f->s),
	    MAMORI_ERR_WRONG_KEY);
	assert_null(f->s);
	assert_int_equal(mamori_store_open_sqlite(f->path, other, 1, &f->s),
	    MAMORI_ERR_WRONG_KEY);
	assert_null(f->s);

	assert_int_equal(mamori_buf_read_file(&after, f->path), 0);
	assert_int_equal(stat(f->path, &sb2), 0);
	assert_int_equal(before.len, after.len);
	assert_memory_equal(before.data, after.data, before.len);
	assert_int_equal(sb1.st_mtim.tv_sec, sb2.st_mtim.tv_sec);
	assert_int_equal(sb1.st_mtim.tv_nsec, sb2.st_mtim.tv_nsec);
	sibling(f, "-wal", wal, sizeof(wal));
	assert_int_equal(access(wal, F_OK), -1);

	/* The right key still opens it. */
	reopen(f);
	mamori_buf_free(&before);
	mamori_buf_free(&after);
}

/* --- tokens -------------------------------------------------------------- */

static void
make_token(struct mamori_token_rec *t, uint8_t hash[MAMORI_SHA256_LEN],
    uint64_t created, uint64_t expires, uint32_t uses_max, const char *label)
{
	uint8_t secret[MAMORI_TOKEN_SECRET_LEN];

	memset(t, 0, sizeof(*t));
	mamori_random(t->id, sizeof(t->id));
	t->created_at = created;
	t->expires_at = expires;
	t->uses_max = uses_max;
	mamori_strlcpy(t->label, label, sizeof(t->label));
	mamori_random(secret, sizeof(secret));
	mamori_sha256(secret, sizeof(secret), hash);
}

static void
test_tokens(void **state)
{
	struct fixture *f = *state;
	struct mamori_token_rec t1, t2, t3, *list = NULL;
	uint8_t h1[MAMORI_SHA256_LEN], h2[MAMORI_SHA256_LEN];
	uint8_t h3[MAMORI_SHA256_LEN], bad[MAMORI_SHA256_LEN];
	uint8_t unknown[MAMORI_TOKEN_ID_LEN];
	size_t n = 99;

	open_new(f);
	assert_int_equal(mamori_store_token_list(f->s, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
	list = NULL;

	make_token(&t1, h1, 100, 2000, 2, "laptops, floor 3");
	make_token(&t2, h2, 200, 1500, 1, "one-shot");
	make_token(&t3, h3, 300, 9000, 5, "");
	memset(bad, 0x5a, sizeof(bad));
	mamori_random(unknown, sizeof(unknown));
	assert_int_equal(mamori_store_token_add(f->s, &t1, h1), 0);
	assert_int_equal(mamori_store_token_add(f->s, &t2, h2), 0);
	assert_int_equal(mamori_store_token_add(f->s, &t3, h3), 0);
	assert_int_equal(mamori_store_token_add(f->s, &t1, h1),
	    MAMORI_ERR_EXISTS);

	/* Unknown comes first of all. */
	assert_int_equal(mamori_store_token_consume(f->s, unknown, h1, 1000),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_store_token_revoke(f->s, unknown, 1000),
	    MAMORI_ERR_NOT_FOUND);

	/* Use counting: two uses, then no more. */
	assert_int_equal(mamori_store_token_consume(f->s, t1.id, bad, 1000),
	    MAMORI_ERR_AUTH);
	assert_int_equal(mamori_store_token_consume(f->s, t1.id, h2, 1000),
	    MAMORI_ERR_AUTH);
	assert_int_equal(mamori_store_token_consume(f->s, t1.id, h1, 1000), 0);
	assert_int_equal(mamori_store_token_consume(f->s, t1.id, h1, 1001), 0);
	assert_int_equal(mamori_store_token_consume(f->s, t1.id, h1, 1002),
	    MAMORI_ERR_USED_UP);
	/* The secret is checked before the count. */
	assert_int_equal(mamori_store_token_consume(f->s, t1.id, bad, 1002),
	    MAMORI_ERR_AUTH);
	/* Expiry before the count; expired at exactly expires_at. */
	assert_int_equal(mamori_store_token_consume(f->s, t1.id, h1, 2000),
	    MAMORI_ERR_EXPIRED);

	/* Expiry: the second before works, expires_at itself does not. */
	assert_int_equal(mamori_store_token_consume(f->s, t2.id, h2, 1500),
	    MAMORI_ERR_EXPIRED);
	assert_int_equal(mamori_store_token_consume(f->s, t2.id, h2, 1499), 0);
	assert_int_equal(mamori_store_token_consume(f->s, t2.id, h2, 1499),
	    MAMORI_ERR_USED_UP);
	assert_int_equal(mamori_store_token_consume(f->s, t2.id, h2, 1600),
	    MAMORI_ERR_EXPIRED);

	/* Revocation comes before expiry, the secret before revocation. */
	assert_int_equal(mamori_store_token_revoke(f->s, t2.id, 1700), 0);
	assert_int_equal(mamori_store_token_revoke(f->s, t2.id, 1800), 0);
	assert_int_equal(mamori_store_token_consume(f->s, t2.id, h2, 1900),
	    MAMORI_ERR_REVOKED);
	assert_int_equal(mamori_store_token_consume(f->s, t2.id, bad, 1900),
	    MAMORI_ERR_AUTH);
	assert_int_equal(mamori_store_token_revoke(f->s, t3.id, 400), 0);
	assert_int_equal(mamori_store_token_consume(f->s, t3.id, h3, 500),
	    MAMORI_ERR_REVOKED);

	/* Failed attempts counted nothing; newest first; labels back. */
	reopen(f);
	assert_int_equal(mamori_store_token_list(f->s, &list, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(list[0].id, t3.id, MAMORI_TOKEN_ID_LEN);
	assert_memory_equal(list[1].id, t2.id, MAMORI_TOKEN_ID_LEN);
	assert_memory_equal(list[2].id, t1.id, MAMORI_TOKEN_ID_LEN);
	assert_string_equal(list[0].label, "");
	assert_string_equal(list[1].label, "one-shot");
	assert_string_equal(list[2].label, "laptops, floor 3");
	assert_int_equal(list[2].uses, 2);
	assert_int_equal(list[2].uses_max, 2);
	assert_int_equal(list[2].created_at, 100);
	assert_int_equal(list[2].expires_at, 2000);
	assert_int_equal(list[2].revoked_at, 0);
	assert_int_equal(list[1].uses, 1);
	assert_int_equal(list[1].revoked_at, 1700);
	assert_int_equal(list[0].uses, 0);
	assert_int_equal(list[0].revoked_at, 400);
	free(list);
}

static void
test_token_transactions(void **state)
{
	struct fixture *f = *state;
	struct mamori_store *s2 = NULL;
	struct mamori_token_rec t, *list = NULL;
	uint8_t h[MAMORI_SHA256_LEN];
	size_t n = 0;

	open_new(f);
	make_token(&t, h, 100, 2000, 1, "tx");
	assert_int_equal(mamori_store_token_add(f->s, &t, h), 0);

	/* A use counted inside a transaction that rolls back is undone. */
	assert_int_equal(mamori_store_begin(f->s), 0);
	assert_int_equal(mamori_store_begin(f->s), MAMORI_ERR_INVALID);
	assert_int_equal(mamori_store_token_consume(f->s, t.id, h, 1000), 0);
	assert_int_equal(mamori_store_token_consume(f->s, t.id, h, 1000),
	    MAMORI_ERR_USED_UP);
	assert_int_equal(mamori_store_rollback(f->s), 0);
	assert_int_equal(mamori_store_rollback(f->s), 0);
	assert_int_equal(mamori_store_commit(f->s), MAMORI_ERR_INVALID);
	assert_int_equal(mamori_store_token_list(f->s, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].uses, 0);
	free(list);
	list = NULL;

	/* Two handles on one file share the count: one use, one winner. */
	assert_int_equal(mamori_store_open_sqlite(f->path, f->key, 0, &s2), 0);
	assert_int_equal(mamori_store_token_consume(s2, t.id, h, 1000), 0);
	assert_int_equal(mamori_store_token_consume(f->s, t.id, h, 1000),
	    MAMORI_ERR_USED_UP);
	mamori_store_close(s2);

	/* Committed work stays. */
	add_agent(f, 9, "keep");
	assert_int_equal(mamori_store_begin(f->s), 0);
	add_agent(f, 10, "gone");
	assert_int_equal(mamori_store_rollback(f->s), 0);
	assert_int_equal(mamori_store_begin(f->s), 0);
	add_agent(f, 11, "kept");
	assert_int_equal(mamori_store_commit(f->s), 0);
	reopen(f);
	{
		struct mamori_agent_rec a;
		char id[MAMORI_AGENT_ID_STRLEN];

		agent_id(10, id);
		assert_int_equal(mamori_store_agent_get(f->s, id, &a),
		    MAMORI_ERR_NOT_FOUND);
		agent_id(11, id);
		assert_int_equal(mamori_store_agent_get(f->s, id, &a), 0);
		assert_string_equal(a.hostname, "kept");
	}
}

/* --- agents -------------------------------------------------------------- */

static void
test_agents(void **state)
{
	struct fixture *f = *state;
	struct mamori_agent_rec a, *list = NULL;
	char ida[MAMORI_AGENT_ID_STRLEN], idb[MAMORI_AGENT_ID_STRLEN];
	char idx[MAMORI_AGENT_ID_STRLEN], longname[MAMORI_STORE_HOSTNAME_MAX + 1];
	size_t n = 0;

	open_new(f);
	agent_id(1, ida);
	agent_id(2, idb);
	agent_id(77, idx);
	add_agent(f, 2, "bravo.example");
	add_agent(f, 1, "alpha.example");

	memset(&a, 0, sizeof(a));
	agent_id(1, a.id);
	assert_int_equal(mamori_store_agent_add(f->s, &a), MAMORI_ERR_EXISTS);
	mamori_strlcpy(a.id, "../etc", sizeof(a.id));
	assert_int_equal(mamori_store_agent_add(f->s, &a), MAMORI_ERR_INVALID);

	assert_int_equal(mamori_store_agent_get(f->s, ida, &a), 0);
	assert_string_equal(a.id, ida);
	assert_string_equal(a.hostname, "alpha.example");
	assert_string_equal(a.os, "Debian GNU/Linux 12");
	assert_string_equal(a.address, "198.51.100.1");
	assert_int_equal(a.enrolled_at, 101);
	assert_int_equal(a.last_seen, 101);
	assert_int_equal(a.revoked_at, 0);
	assert_int_equal(strlen(a.cert_serial), 32);

	assert_int_equal(mamori_store_agent_seen(f->s, ida, 500,
	    "2001:db8::7"), 0);
	assert_int_equal(mamori_store_agent_set_info(f->s, ida, "alpha2",
	    "Debian GNU/Linux 13"), 0);
	assert_int_equal(mamori_store_agent_revoke(f->s, ida, 600), 0);
	assert_int_equal(mamori_store_agent_revoke(f->s, ida, 700), 0);

	/* Unknown agents. */
	assert_int_equal(mamori_store_agent_get(f->s, idx, &a),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_store_agent_seen(f->s, idx, 1, "192.0.2.1"),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_store_agent_set_info(f->s, idx, "h", "o"),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_store_agent_revoke(f->s, idx, 1),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_store_agent_get(f->s, "", &a),
	    MAMORI_ERR_INVALID);

	/* Over-long fields are refused, and nothing changes. */
	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(mamori_store_agent_set_info(f->s, ida, longname,
	    "x"), MAMORI_ERR_TOO_LARGE);

	reopen(f);
	assert_int_equal(mamori_store_agent_list(f->s, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, ida);
	assert_string_equal(list[1].id, idb);
	assert_string_equal(list[0].hostname, "alpha2");
	assert_string_equal(list[0].os, "Debian GNU/Linux 13");
	assert_string_equal(list[0].address, "2001:db8::7");
	assert_int_equal(list[0].last_seen, 500);
	assert_int_equal(list[0].revoked_at, 600);
	assert_string_equal(list[1].hostname, "bravo.example");
	assert_int_equal(list[1].revoked_at, 0);
	free(list);
}

/* --- inventory ----------------------------------------------------------- */

static void
test_inventory(void **state)
{
	struct fixture *f = *state;
	static const uint8_t v1[] = {'d', 'p', 'k', 'g', 0, 1, 2, 0xff};
	static const uint8_t v2[] = {'n', 'e', 'w', 0};
	char ida[MAMORI_AGENT_ID_STRLEN], idx[MAMORI_AGENT_ID_STRLEN];
	struct mamori_buf b, small;
	uint8_t *big;
	uint64_t t = 99;

	open_new(f);
	agent_id(1, ida);
	agent_id(77, idx);
	add_agent(f, 1, "alpha");
	mamori_buf_init(&b, MAMORI_STORE_VALUE_MAX + 16);
	mamori_buf_init(&small, 4);

	assert_int_equal(mamori_store_inventory_time(f->s, ida, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 1, &b),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_store_inventory_put(f->s, idx, 1, v1,
	    sizeof(v1), 10), MAMORI_ERR_NOT_FOUND);

	assert_int_equal(mamori_store_inventory_put(f->s, ida, 1, v1,
	    sizeof(v1), 100), 0);
	assert_int_equal(mamori_store_inventory_put(f->s, ida, 2, NULL, 0,
	    200), 0);
	assert_int_equal(mamori_store_inventory_time(f->s, ida, &t), 0);
	assert_int_equal(t, 200);

	/* get appends to what the buffer holds. */
	assert_int_equal(mamori_buf_append(&b, "X", 1), 0);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 1, &b), 0);
	assert_int_equal(b.len, 1 + sizeof(v1));
	assert_memory_equal(b.data + 1, v1, sizeof(v1));
	mamori_buf_reset(&b);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 2, &b), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 3, &b),
	    MAMORI_ERR_NOT_FOUND);
	/* A buffer too small for the value. */
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 1, &small),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(small.len, 0);

	/* Replacing a category. */
	assert_int_equal(mamori_store_inventory_put(f->s, ida, 1, v2,
	    sizeof(v2), 300), 0);
	reopen(f);
	mamori_buf_reset(&b);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 1, &b), 0);
	assert_int_equal(b.len, sizeof(v2));
	assert_memory_equal(b.data, v2, sizeof(v2));
	assert_int_equal(mamori_store_inventory_time(f->s, ida, &t), 0);
	assert_int_equal(t, 300);
	assert_int_equal(mamori_store_inventory_time(f->s, idx, &t), 0);
	assert_int_equal(t, 0);

	/* Limits: the largest value goes in and out, one more byte does not
	 * go in. */
	big = malloc(MAMORI_STORE_VALUE_MAX + 1);
	assert_non_null(big);
	memset(big, 0xa5, MAMORI_STORE_VALUE_MAX + 1);
	assert_int_equal(mamori_store_inventory_put(f->s, ida, 9, big,
	    MAMORI_STORE_VALUE_MAX + 1, 400), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(mamori_store_inventory_put(f->s, ida, 9, big,
	    MAMORI_STORE_VALUE_MAX, 400), 0);
	mamori_buf_reset(&b);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 9, &b), 0);
	assert_int_equal(b.len, MAMORI_STORE_VALUE_MAX);
	assert_memory_equal(b.data, big, MAMORI_STORE_VALUE_MAX);
	free(big);

	mamori_buf_free(&b);
	mamori_buf_free(&small);
}

/* --- history ------------------------------------------------------------- */

struct history_seen {
	size_t n;
	int stop_at;            /* 1-based call to return 7 on; 0: never */
	uint64_t id[TEST_HISTORY_MAX];
	uint64_t time[TEST_HISTORY_MAX];
	uint32_t category[TEST_HISTORY_MAX];
	uint32_t kind[TEST_HISTORY_MAX];
	char detail[TEST_HISTORY_MAX][TEST_DETAIL_MAX];
};

static int
history_cb(void *ctx, const struct mamori_history_rec *rec)
{
	struct history_seen *h = ctx;

	if (h->n >= TEST_HISTORY_MAX || rec->detail_len >= TEST_DETAIL_MAX)
		return -100;
	h->id[h->n] = rec->id;
	h->time[h->n] = rec->time;
	h->category[h->n] = rec->category;
	h->kind[h->n] = rec->kind;
	memcpy(h->detail[h->n], rec->detail, rec->detail_len);
	h->detail[h->n][rec->detail_len] = '\0';
	h->n++;
	if (h->stop_at != 0 && (size_t)h->stop_at == h->n)
		return 7;
	return 0;
}

static void
history_add(struct fixture *f, const char *id, uint64_t time,
    const char *detail)
{
	assert_int_equal(mamori_store_history_add(f->s, id, time, 3, 2,
	    (const uint8_t *)detail, strlen(detail)), 0);
}

static void
test_history(void **state)
{
	struct fixture *f = *state;
	char ida[MAMORI_AGENT_ID_STRLEN], idb[MAMORI_AGENT_ID_STRLEN];
	char idx[MAMORI_AGENT_ID_STRLEN];
	struct history_seen h;

	open_new(f);
	agent_id(1, ida);
	agent_id(2, idb);
	agent_id(77, idx);
	add_agent(f, 1, "alpha");
	add_agent(f, 2, "bravo");
	history_add(f, ida, 50, "d50");
	history_add(f, ida, 10, "d10");
	history_add(f, ida, 30, "d30a");
	history_add(f, ida, 30, "d30b");
	history_add(f, ida, 70, "d70");
	history_add(f, idb, 20, "b20");
	assert_int_equal(mamori_store_history_add(f->s, idx, 1, 1, 1,
	    (const uint8_t *)"x", 1), MAMORI_ERR_NOT_FOUND);
	reopen(f);

	/* Everything, by time then id. */
	memset(&h, 0, sizeof(h));
	assert_int_equal(mamori_store_history_list(f->s, ida, 0, 0,
	    history_cb, &h), 0);
	assert_int_equal(h.n, 5);
	assert_int_equal(h.time[0], 10);
	assert_string_equal(h.detail[0], "d10");
	assert_int_equal(h.time[1], 30);
	assert_int_equal(h.time[2], 30);
	assert_true(h.id[1] < h.id[2]);
	assert_true((strcmp(h.detail[1], "d30a") == 0 &&
	    strcmp(h.detail[2], "d30b") == 0) ||
	    (strcmp(h.detail[1], "d30b") == 0 &&
	    strcmp(h.detail[2], "d30a") == 0));
	assert_int_equal(h.time[3], 50);
	assert_string_equal(h.detail[3], "d50");
	assert_int_equal(h.time[4], 70);
	assert_string_equal(h.detail[4], "d70");
	assert_int_equal(h.category[0], 3);
	assert_int_equal(h.kind[0], 2);
	assert_true(h.id[0] != 0 && h.id[0] <= (uint64_t)INT64_MAX);

	/* since is inclusive. */
	memset(&h, 0, sizeof(h));
	assert_int_equal(mamori_store_history_list(f->s, ida, 30, 0,
	    history_cb, &h), 0);
	assert_int_equal(h.n, 4);
	assert_int_equal(h.time[0], 30);
	assert_int_equal(h.time[3], 70);

	/* limit. */
	memset(&h, 0, sizeof(h));
	assert_int_equal(mamori_store_history_list(f->s, ida, 30, 2,
	    history_cb, &h), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.time[0], 30);
	assert_int_equal(h.time[1], 30);
	memset(&h, 0, sizeof(h));
	assert_int_equal(mamori_store_history_list(f->s, ida, 0, 1,
	    history_cb, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.detail[0], "d10");

	/* The callback stops the walk and its value comes back. */
	memset(&h, 0, sizeof(h));
	h.stop_at = 2;
	assert_int_equal(mamori_store_history_list(f->s, ida, 0, 0,
	    history_cb, &h), 7);
	assert_int_equal(h.n, 2);

	/* Only the agent's own entries; nothing for an unknown agent. */
	memset(&h, 0, sizeof(h));
	assert_int_equal(mamori_store_history_list(f->s, idb, 0, 0,
	    history_cb, &h), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.detail[0], "b20");
	memset(&h, 0, sizeof(h));
	assert_int_equal(mamori_store_history_list(f->s, idx, 0, 0,
	    history_cb, &h), 0);
	assert_int_equal(h.n, 0);
	memset(&h, 0, sizeof(h));
	assert_int_equal(mamori_store_history_list(f->s, ida, 71, 0,
	    history_cb, &h), 0);
	assert_int_equal(h.n, 0);
}

/* --- at rest ------------------------------------------------------------- */

/* Asserts that no file in dir holds needle; returns how many were read. */
static size_t
assert_nowhere(const char *dir, const char *needle)
{
	char p[TEST_PATH_MAX];
	struct mamori_buf b;
	struct dirent *de;
	size_t files = 0;
	DIR *d;

	mamori_buf_init(&b, TEST_FILE_MAX);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		assert_int_equal(mamori_path_join(p, sizeof(p), dir,
		    de->d_name), 0);
		assert_int_equal(mamori_buf_read_file(&b, p), 0);
		if (b.len > 0 && memmem(b.data, b.len, needle,
		    strlen(needle)) != NULL)
			fail_msg("the marker is in clear in %s", p);
		files++;
	}
	closedir(d);
	mamori_buf_free(&b);
	return files;
}

static int
history_marker_cb(void *ctx, const struct mamori_history_rec *rec)
{
	int *found = ctx;

	if (memmem(rec->detail, rec->detail_len, MARKER,
	    strlen(MARKER)) != NULL)
		(*found)++;
	return 0;
}

static void
test_marker_sealed_at_rest(void **state)
{
	struct fixture *f = *state;
	static const char detail[] = "change: " MARKER " installed";
	struct mamori_token_rec t, *tokens = NULL;
	struct mamori_agent_rec a;
	uint8_t h[MAMORI_SHA256_LEN];
	char ida[MAMORI_AGENT_ID_STRLEN], wal[TEST_PATH_MAX];
	char inv[128];
	struct mamori_buf b;
	size_t n = 0;
	int found = 0;

	open_new(f);
	agent_id(1, ida);
	add_agent(f, 1, MARKER ".example");
	assert_int_equal(mamori_store_agent_set_info(f->s, ida,
	    "host-" MARKER, "os " MARKER), 0);
	assert_int_equal(mamori_store_agent_seen(f->s, ida, 1000, MARKER),
	    0);
	make_token(&t, h, 1, 2, 3, "label " MARKER);
	assert_int_equal(mamori_store_token_add(f->s, &t, h), 0);
	snprintf(inv, sizeof(inv), "pkg=%s;ver=1", MARKER);
	assert_int_equal(mamori_store_inventory_put(f->s, ida, 4,
	    (const uint8_t *)inv, strlen(inv), 1000), 0);
	assert_int_equal(mamori_store_history_add(f->s, ida, 1000, 4, 1,
	    (const uint8_t *)detail, sizeof(detail) - 1), 0);

	/* While open, the WAL holds the writes: still no marker. */
	sibling(f, "-wal", wal, sizeof(wal));
	assert_int_equal(access(wal, F_OK), 0);
	assert_true(assert_nowhere(f->dir, MARKER) >= 3);
	/* The search itself works: the agent id, stored in clear, is found. */
	mamori_store_close(f->s);
	f->s = NULL;
	{
		struct mamori_buf db;

		mamori_buf_init(&db, TEST_FILE_MAX);
		assert_int_equal(mamori_buf_read_file(&db, f->path), 0);
		assert_non_null(memmem(db.data, db.len, ida, strlen(ida)));
		mamori_buf_free(&db);
	}
	assert_true(assert_nowhere(f->dir, MARKER) >= 1);

	/* Through the store it all comes back. */
	reopen(f);
	assert_int_equal(mamori_store_agent_get(f->s, ida, &a), 0);
	assert_string_equal(a.hostname, "host-" MARKER);
	assert_string_equal(a.os, "os " MARKER);
	assert_string_equal(a.address, MARKER);
	assert_int_equal(mamori_store_token_list(f->s, &tokens, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(tokens[0].label, "label " MARKER);
	free(tokens);
	mamori_buf_init(&b, 1024);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 4, &b), 0);
	assert_int_equal(b.len, strlen(inv));
	assert_memory_equal(b.data, inv, b.len);
	mamori_buf_free(&b);
	assert_int_equal(mamori_store_history_list(f->s, ida, 0, 0,
	    history_marker_cb, &found), 0);
	assert_int_equal(found, 1);
	assert_true(assert_nowhere(f->dir, MARKER) >= 1);
}

static void
test_moved_ciphertext(void **state)
{
	struct fixture *f = *state;
	char ida[MAMORI_AGENT_ID_STRLEN], idb[MAMORI_AGENT_ID_STRLEN];
	struct mamori_agent_rec a, *list = NULL;
	struct mamori_buf b;
	struct history_seen h;
	size_t n = 0;

	open_new(f);
	agent_id(1, ida);
	agent_id(2, idb);
	add_agent(f, 1, "alpha-secret-host");
	add_agent(f, 2, "bravo-host");
	assert_int_equal(mamori_store_inventory_put(f->s, ida, 1,
	    (const uint8_t *)"one", 3, 10), 0);
	assert_int_equal(mamori_store_inventory_put(f->s, ida, 2,
	    (const uint8_t *)"two", 3, 10), 0);
	history_add(f, idb, 5, "bravo history");
	mamori_store_close(f->s);
	f->s = NULL;

	/* Agent A's sealed hostname copied into agent B's row. */
	raw_exec(f, "UPDATE agents SET hostname ="
	    " (SELECT hostname FROM agents WHERE id = ?1) WHERE id = ?2",
	    ida, idb);
	/* Category 1's value copied over category 2 of the same agent. */
	raw_exec(f, "UPDATE inventory SET value ="
	    " (SELECT value FROM inventory WHERE agent_id = ?1 AND"
	    " category = 1) WHERE agent_id = ?1 AND category = 2", ida, NULL);
	/* B's history entry handed to A. */
	raw_exec(f, "UPDATE history SET agent_id = ?1 WHERE agent_id = ?2",
	    ida, idb);

	reopen(f);
	assert_int_equal(mamori_store_agent_get(f->s, idb, &a),
	    MAMORI_ERR_AUTH);
	assert_string_equal(a.hostname, "");
	assert_int_equal(mamori_store_agent_list(f->s, &list, &n),
	    MAMORI_ERR_AUTH);
	assert_null(list);
	assert_int_equal(n, 0);
	/* The original row still opens. */
	assert_int_equal(mamori_store_agent_get(f->s, ida, &a), 0);
	assert_string_equal(a.hostname, "alpha-secret-host");

	mamori_buf_init(&b, 1024);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 2, &b),
	    MAMORI_ERR_AUTH);
	assert_int_equal(b.len, 0);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 1, &b), 0);
	assert_memory_equal(b.data, "one", 3);
	mamori_buf_free(&b);

	memset(&h, 0, sizeof(h));
	assert_int_equal(mamori_store_history_list(f->s, ida, 0, 0,
	    history_cb, &h), MAMORI_ERR_AUTH);
	assert_int_equal(h.n, 0);
}

static void
test_damaged_values(void **state)
{
	struct fixture *f = *state;
	char ida[MAMORI_AGENT_ID_STRLEN], size[32];
	struct mamori_agent_rec a;
	struct mamori_buf b;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	open_new(f);
	agent_id(1, ida);
	add_agent(f, 1, "alpha");
	assert_int_equal(mamori_store_inventory_put(f->s, ida, 1,
	    (const uint8_t *)"v", 1, 10), 0);
	mamori_store_close(f->s);
	f->s = NULL;

	/* A truncated value does not open. */
	raw_exec(f, "UPDATE agents SET os = x'01' WHERE id = ?1", ida, NULL);
	/* A value larger than any the store writes is refused unread. */
	snprintf(size, sizeof(size), "%d",
	    MAMORI_STORE_VALUE_MAX + MAMORI_AEAD_OVERHEAD + 1);
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "UPDATE inventory SET value ="
	    " zeroblob(?1) WHERE agent_id = ?2", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_bind_int(st, 1, MAMORI_STORE_VALUE_MAX +
	    MAMORI_AEAD_OVERHEAD + 1), SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 2, ida, -1, SQLITE_STATIC),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	reopen(f);
	assert_int_equal(mamori_store_agent_get(f->s, ida, &a),
	    MAMORI_ERR_AUTH);
	mamori_buf_init(&b, MAMORI_STORE_VALUE_MAX + 64);
	assert_int_equal(mamori_store_inventory_get(f->s, ida, 1, &b),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(b.len, 0);
	mamori_buf_free(&b);
}

/* --- alerts -------------------------------------------------------------- */

#define TEST_ALERTS_MAX 64
#define TEST_WINDOW 1000

struct alert_copy {
	char agent[MAMORI_AGENT_ID_STRLEN];
	char key[MAMORI_ALERT_KEY_MAX + 1];
	char detail[2048];
	uint32_t source, severity;
	uint64_t first, last, count;
};

struct alert_list {
	struct alert_copy a[TEST_ALERTS_MAX];
	size_t n;
};

static int
alert_copy_cb(void *ctx, const struct mamori_alert_rec *rec)
{
	struct alert_list *l = ctx;
	struct alert_copy *c;

	assert_true(l->n < TEST_ALERTS_MAX);
	c = &l->a[l->n++];
	mamori_strlcpy(c->agent, rec->agent_id, sizeof(c->agent));
	mamori_strlcpy(c->key, rec->rule_key, sizeof(c->key));
	assert_true(mamori_strlcpy(c->detail, rec->detail, sizeof(c->detail))
	    < sizeof(c->detail));
	c->source = rec->source;
	c->severity = rec->severity;
	c->first = rec->first_seen;
	c->last = rec->last_seen;
	c->count = rec->count;
	return 0;
}

static void
list_alerts(struct fixture *f, const char *agent, uint64_t since,
    uint32_t sev, size_t limit, struct alert_list *l)
{
	struct mamori_alert_query q;

	memset(&q, 0, sizeof(q));
	memset(l, 0, sizeof(*l));
	q.agent_id = agent;
	q.since_ns = since;
	q.severity_min = sev;
	q.limit = limit;
	assert_int_equal(mamori_store_alert_list(f->s, &q, alert_copy_cb, l),
	    0);
}

static int
raise_alert(struct fixture *f, unsigned agent, const char *key,
    uint32_t severity, uint64_t time, uint64_t seq, const char *detail)
{
	struct mamori_alert_raise a;
	char id[MAMORI_AGENT_ID_STRLEN];
	int created = -1;

	agent_id(agent, id);
	memset(&a, 0, sizeof(a));
	a.agent_id = id;
	a.source = MAMORI_ALERT_SIGMA;
	a.rule_key = key;
	a.severity = severity;
	a.time_ns = time;
	a.seq = seq;
	a.detail_json = detail;
	a.window_ns = TEST_WINDOW;
	assert_int_equal(mamori_store_alert_raise(f->s, &a, &created), 0);
	return created;
}

static void
test_alert_dedup(void **state)
{
	struct fixture *f = *state;
	struct alert_list l;
	char want[1024];
	unsigned i;

	open_new(f);
	add_agent(f, 1, "one");
	add_agent(f, 2, "two");
	/* Inside the group transaction, as the server raises them. */
	assert_int_equal(mamori_store_group_begin(f->s), 0);
	assert_int_equal(raise_alert(f, 1, "rule-a", MAMORI_SEVERITY_HIGH,
	    5000, 7, "{\"title\":\"A\"}"), 1);
	assert_int_equal(raise_alert(f, 1, "rule-a", MAMORI_SEVERITY_HIGH,
	    5000 + TEST_WINDOW - 1, 9, "{\"title\":\"A\"}"), 0);
	/* The same seq again (redelivery) counts but is listed once. */
	assert_int_equal(raise_alert(f, 1, "rule-a", MAMORI_SEVERITY_HIGH,
	    5001, 9, "{\"title\":\"A\"}"), 0);
	/* Another agent, another key: alerts of their own. */
	assert_int_equal(raise_alert(f, 2, "rule-a", MAMORI_SEVERITY_HIGH,
	    5000, 7, "{\"title\":\"A\"}"), 1);
	assert_int_equal(raise_alert(f, 1, "rule-b", MAMORI_SEVERITY_LOW,
	    5000, 8, "{\"title\":\"B\"}"), 1);
	assert_int_equal(mamori_store_group_end(f->s, 1), 0);

	list_alerts(f, NULL, 0, 0, 0, &l);
	assert_int_equal(l.n, 3);
	list_alerts(f, "00000000000000000000000000000001", 0, 0, 0, &l);
	assert_int_equal(l.n, 2);
	/* Newest last_seen first. */
	assert_string_equal(l.a[0].key, "rule-a");
	assert_int_equal(l.a[0].count, 3);
	assert_int_equal(l.a[0].first, 5000);
	assert_int_equal(l.a[0].last, 5000 + TEST_WINDOW - 1);
	assert_int_equal(l.a[0].source, MAMORI_ALERT_SIGMA);
	assert_int_equal(l.a[0].severity, MAMORI_SEVERITY_HIGH);
	assert_string_equal(l.a[0].detail, "{\"title\":\"A\",\"seqs\":[7,9]}");
	assert_string_equal(l.a[1].key, "rule-b");
	assert_int_equal(l.a[1].count, 1);

	/* Past the window: a new alert, the old one unchanged. */
	assert_int_equal(raise_alert(f, 1, "rule-a", MAMORI_SEVERITY_HIGH,
	    5000 + TEST_WINDOW, 10, "{\"title\":\"A\"}"), 1);
	list_alerts(f, "00000000000000000000000000000001", 0, 0, 0, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.a[0].count, 1);
	assert_int_equal(l.a[0].first, 5000 + TEST_WINDOW);
	assert_string_equal(l.a[0].detail, "{\"title\":\"A\",\"seqs\":[10]}");
	assert_int_equal(l.a[1].count, 3);

	/* The seqs list is bounded; the count is not. */
	for (i = 0; i < MAMORI_ALERT_SEQS_MAX + 10; i++)
		assert_int_equal(raise_alert(f, 2, "rule-c",
		    MAMORI_SEVERITY_MEDIUM, 9000 + i, 100 + i, NULL), i == 0);
	list_alerts(f, "00000000000000000000000000000002", 0, 0, 1, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.a[0].key, "rule-c");
	assert_int_equal(l.a[0].count, MAMORI_ALERT_SEQS_MAX + 10);
	snprintf(want, sizeof(want), ",%u]}",
	    100 + MAMORI_ALERT_SEQS_MAX - 1);
	assert_non_null(strstr(l.a[0].detail, want));
	assert_string_equal(strstr(l.a[0].detail, want), want);

	/* Bad input changes nothing. */
	{
		struct mamori_alert_raise a;

		memset(&a, 0, sizeof(a));
		a.agent_id = "00000000000000000000000000000001";
		a.source = MAMORI_ALERT_SIGMA;
		a.rule_key = "rule-x";
		a.severity = 9;
		assert_int_equal(mamori_store_alert_raise(f->s, &a, NULL),
		    MAMORI_ERR_INVALID);
		a.severity = MAMORI_SEVERITY_LOW;
		a.detail_json = "[1]";
		assert_int_equal(mamori_store_alert_raise(f->s, &a, NULL),
		    MAMORI_ERR_INVALID);
		a.detail_json = NULL;
		a.agent_id = "00000000000000000000000000000099";
		assert_int_equal(mamori_store_alert_raise(f->s, &a, NULL),
		    MAMORI_ERR_NOT_FOUND);
	}
	list_alerts(f, NULL, 0, 0, 0, &l);
	assert_int_equal(l.n, 5);
}

static void
test_alert_filters(void **state)
{
	struct fixture *f = *state;
	struct alert_list l;
	uint32_t sev;

	open_new(f);
	add_agent(f, 1, "one");
	add_agent(f, 2, "two");
	assert_int_equal(raise_alert(f, 1, "k1", MAMORI_SEVERITY_LOW, 100, 1,
	    NULL), 1);
	assert_int_equal(raise_alert(f, 1, "k2", MAMORI_SEVERITY_CRITICAL,
	    200, 2, NULL), 1);
	assert_int_equal(raise_alert(f, 2, "k3", MAMORI_SEVERITY_HIGH, 300, 1,
	    NULL), 1);
	list_alerts(f, NULL, 0, MAMORI_SEVERITY_HIGH, 0, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.a[0].key, "k3");
	assert_string_equal(l.a[1].key, "k2");
	list_alerts(f, NULL, 150, 0, 0, &l);
	assert_int_equal(l.n, 2);
	list_alerts(f, NULL, 250, 0, 0, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.a[0].agent, "00000000000000000000000000000002");
	list_alerts(f, "00000000000000000000000000000001", 0,
	    MAMORI_SEVERITY_CRITICAL, 0, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.a[0].key, "k2");
	list_alerts(f, NULL, 0, 0, 2, &l);
	assert_int_equal(l.n, 2);
	list_alerts(f, "00000000000000000000000000000003", 0, 0, 0, &l);
	assert_int_equal(l.n, 0);

	assert_int_equal(mamori_alert_severity_parse("medium", &sev), 0);
	assert_int_equal(sev, MAMORI_SEVERITY_MEDIUM);
	assert_int_equal(mamori_alert_severity_parse("severe", &sev),
	    MAMORI_ERR_INVALID);
	assert_string_equal(mamori_alert_severity_name(MAMORI_SEVERITY_LOW),
	    "low");
}

static void
test_alert_sealed(void **state)
{
	struct fixture *f = *state;
	struct alert_list l;

	open_new(f);
	add_agent(f, 1, "one");
	assert_int_equal(raise_alert(f, 1, "sealed-rule", MAMORI_SEVERITY_HIGH,
	    100, 1, "{\"value\":\"" MARKER "\"}"), 1);
	assert_int_equal(raise_alert(f, 1, "sealed-rule", MAMORI_SEVERITY_HIGH,
	    101, 2, "{\"value\":\"" MARKER "\"}"), 0);
	assert_true(assert_nowhere(f->dir, MARKER) >= 1);
	mamori_store_close(f->s);
	f->s = NULL;
	assert_true(assert_nowhere(f->dir, MARKER) >= 1);
	{
		/* The rule key is clear (an id): the search itself works. */
		struct mamori_buf db;

		mamori_buf_init(&db, TEST_FILE_MAX);
		assert_int_equal(mamori_buf_read_file(&db, f->path), 0);
		assert_non_null(memmem(db.data, db.len, "sealed-rule", 11));
		mamori_buf_free(&db);
	}
	reopen(f);
	list_alerts(f, NULL, 0, 0, 0, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.a[0].detail,
	    "{\"value\":\"" MARKER "\",\"seqs\":[1,2]}");
	/* A detail moved to another alert's row does not open. */
	assert_int_equal(raise_alert(f, 1, "other", MAMORI_SEVERITY_LOW, 100,
	    3, NULL), 1);
	mamori_store_close(f->s);
	f->s = NULL;
	raw_exec(f, "UPDATE alerts SET detail = (SELECT detail FROM alerts"
	    " WHERE rule_key = ?1) WHERE rule_key = ?2", "sealed-rule",
	    "other");
	reopen(f);
	{
		struct mamori_alert_query q;

		memset(&q, 0, sizeof(q));
		memset(&l, 0, sizeof(l));
		assert_int_equal(mamori_store_alert_list(f->s, &q,
		    alert_copy_cb, &l), MAMORI_ERR_AUTH);
	}
	/* Ingest goes on past a damaged detail: no error, no new alert
	 * (raise_alert asserts success; 0: the existing one counted). */
	assert_int_equal(raise_alert(f, 1, "other", MAMORI_SEVERITY_LOW, 101,
	    4, NULL), 0);
}

/* Runs SQL on a raw connection, behind the store's back. */
static void
raw_sql(const struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static int64_t
raw_version(const struct fixture *f)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT value FROM meta"
	    " WHERE name = 'schema_version'", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return v;
}

static void
test_alert_migration(void **state)
{
	struct fixture *f = *state;
	struct mamori_agent_rec a;
	struct alert_list l;
	char ida[MAMORI_AGENT_ID_STRLEN];
	int inserted = 0;

	/* A version 2 store: what a new one is, less the alerts table. */
	open_new(f);
	add_agent(f, 1, "host-one");
	agent_id(1, ida);
	assert_int_equal(mamori_store_event_add(f->s, ida, 1, 10, 2,
	    (const uint8_t *)"ev", 2, &inserted), 0);
	assert_int_equal(inserted, 1);
	mamori_store_close(f->s);
	f->s = NULL;
	raw_sql(f, "DROP TABLE alerts; DROP TABLE objects;"
	    "UPDATE meta SET value = 2 WHERE name = 'schema_version';");
	assert_int_equal(raw_version(f), 2);

	reopen(f);
	assert_int_equal(raw_version(f), 4);
	assert_int_equal(mamori_store_agent_get(f->s, ida, &a), 0);
	assert_string_equal(a.hostname, "host-one");
	assert_int_equal(raise_alert(f, 1, "after-migration",
	    MAMORI_SEVERITY_HIGH, 10, 1, NULL), 1);
	list_alerts(f, NULL, 0, 0, 0, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.a[0].key, "after-migration");
	reopen(f);
	assert_int_equal(raw_version(f), 4);

	/* A store newer than this build is refused. */
	mamori_store_close(f->s);
	f->s = NULL;
	raw_sql(f, "UPDATE meta SET value = 5 WHERE name = 'schema_version';");
	assert_int_equal(mamori_store_open_sqlite(f->path, f->key, 0, &f->s),
	    MAMORI_ERR_STORE);
	assert_null(f->s);
}

struct object_seen {
	size_t n;
	char keys[8][MAMORI_OBJECT_KEY_MAX + 1];
	char values[8][32];
};

static int
object_cb(void *ctx, const struct mamori_object_rec *rec)
{
	struct object_seen *o = ctx;

	assert_true(o->n < 8);
	assert_true(rec->len < sizeof(o->values[0]));
	mamori_strlcpy(o->keys[o->n], rec->key, sizeof(o->keys[0]));
	memcpy(o->values[o->n], rec->value, rec->len);
	o->values[o->n][rec->len] = '\0';
	o->n++;
	return 0;
}

static void
put_object(struct fixture *f, const char *kind, const char *key,
    uint64_t time, uint64_t expires, const char *v, int replace, int want)
{
	struct mamori_object_rec o = {kind, key, time, expires,
	    (const uint8_t *)v, strlen(v)};
	int inserted = -1;

	assert_int_equal(mamori_store_object_put(f->s, &o, replace,
	    &inserted), 0);
	assert_int_equal(inserted, want);
}

static void
test_objects(void **state)
{
	struct fixture *f = *state;
	struct mamori_object_rec bad = {"task", "has space", 1, 1,
	    (const uint8_t *)"x", 1};
	struct object_seen seen;
	struct mamori_buf b, db;
	uint64_t t = 0;

	open_new(f);
	put_object(f, "task", "aa01", 10, 100, "first " MARKER, 0, 1);
	put_object(f, "task", "aa01", 11, 100, "second", 0, 0);
	put_object(f, "result", "aa01/agent1", 12, 100, "r1", 0, 1);
	put_object(f, "result", "aa01/agent2", 13, 50, "r2", 0, 1);
	put_object(f, "result", "ab02/agent1", 14, 100, "r3", 0, 1);
	put_object(f, "policy", "current", 15, 0, "p1", 1, 1);
	put_object(f, "policy", "current", 16, 0, "p2", 1, 1);

	mamori_buf_init(&b, 1024);
	assert_int_equal(mamori_store_object_get(f->s, "task", "aa01", &b,
	    &t), 0);
	assert_int_equal(t, 10);
	assert_memory_equal(b.data, "first ", 6);   /* not replaced */
	mamori_buf_reset(&b);
	assert_int_equal(mamori_store_object_get(f->s, "policy", "current",
	    &b, &t), 0);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.data, "p2", 2);       /* replaced */
	assert_int_equal(mamori_store_object_get(f->s, "policy", "none",
	    &b, &t), MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_store_object_put(f->s, &bad, 1, NULL),
	    MAMORI_ERR_INVALID);
	bad.key = "a:b";
	assert_int_equal(mamori_store_object_put(f->s, &bad, 1, NULL),
	    MAMORI_ERR_INVALID);

	/* By prefix, not yet expired, oldest first. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(mamori_store_object_list(f->s, "result", "aa01/", 60,
	    0, object_cb, &seen), 0);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.keys[0], "aa01/agent1");
	assert_string_equal(seen.values[0], "r1");
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(mamori_store_object_list(f->s, "result", "", 0, 0,
	    object_cb, &seen), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.keys[2], "ab02/agent1");

	/* Sealed at rest, and bound to kind and key. */
	reopen(f);
	mamori_buf_init(&db, TEST_FILE_MAX);
	assert_int_equal(mamori_buf_read_file(&db, f->path), 0);
	assert_null(memmem(db.data, db.len, MARKER, strlen(MARKER)));
	mamori_buf_free(&db);
	mamori_store_close(f->s);
	f->s = NULL;
	raw_sql(f, "UPDATE objects SET value = (SELECT value FROM objects"
	    " WHERE key = 'aa01/agent1') WHERE key = 'ab02/agent1'");
	reopen(f);
	mamori_buf_reset(&b);
	assert_int_equal(mamori_store_object_get(f->s, "result",
	    "ab02/agent1", &b, NULL), MAMORI_ERR_AUTH);
	mamori_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_wrap),
		cmocka_unit_test(test_seal_place),
		cmocka_unit_test_setup_teardown(test_open_create_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_not_a_store, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_transactions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_agents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inventory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_marker_sealed_at_rest,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_ciphertext, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_damaged_values, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alert_dedup, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alert_filters, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alert_sealed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_alert_migration, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_objects, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
