/*
 * baseline.c - the file-integrity table and its on-disk form (see
 * baseline.h).
 *
 * The table is a chained hash with FNV-1a over the path, grown by doubling
 * while it holds more entries than buckets.  The decoder reads the baseline
 * file only through a bounded cursor, checks the trailing checksum before
 * anything else, and refuses the whole file on the first record it does not
 * understand: it must never guess, and never keep a half-read table.
 */
#include "baseline.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define BASELINE_MAGIC "MFIM"
#define BASELINE_MAGIC_LEN 4
#define BASELINE_HEADER_LEN (BASELINE_MAGIC_LEN + 4 + 4)
#define BASELINE_FLAG_SHA256 0x01
#define TABLE_MIN_BUCKETS 64

struct mamori_fim_table {
	struct mamori_fim_entry **buckets;
	size_t n_buckets;               /* a power of two */
	size_t count;
	size_t max;
};

static uint64_t
table_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct mamori_fim_table *
mamori_fim_table_new(size_t max)
{
	struct mamori_fim_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->buckets = calloc(TABLE_MIN_BUCKETS,
	    sizeof(*t->buckets))) == NULL) {
		free(t);
		return NULL;
	}
	t->n_buckets = TABLE_MIN_BUCKETS;
	t->max = max;
	return t;
}

void
mamori_fim_table_free(struct mamori_fim_table *t)
{
	struct mamori_fim_entry *e, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n_buckets; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->priv_next;
			free(e->path);
			free(e);
		}
	}
	free(t->buckets);
	free(t);
}

size_t
mamori_fim_table_count(const struct mamori_fim_table *t)
{
	return t->count;
}

struct mamori_fim_entry *
mamori_fim_table_get(const struct mamori_fim_table *t, const char *path)
{
	struct mamori_fim_entry *e;

	e = t->buckets[table_hash(path) & (t->n_buckets - 1)];
	for (; e != NULL; e = e->priv_next)
		if (strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

/* Doubles the bucket array; on failure the table stays as it was (only
 * slower), so growing never fails an insert. */
static void
table_grow(struct mamori_fim_table *t)
{
	struct mamori_fim_entry **nb, *e, *next;
	size_t i, n = t->n_buckets * 2, b;

	if (n > SIZE_MAX / sizeof(*nb) || (nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < t->n_buckets; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->priv_next;
			b = table_hash(e->path) & (n - 1);
			e->priv_next = nb[b];
			nb[b] = e;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->n_buckets = n;
}

int
mamori_fim_table_put(struct mamori_fim_table *t, const char *path,
    const struct mamori_fim_entry *e)
{
	struct mamori_fim_entry *cur, *ne = NULL;
	size_t len, b;
	int r = MAMORI_ERR_INTERNAL;

	if ((len = strlen(path)) >= MAMORI_FIM_PATH_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((cur = mamori_fim_table_get(t, path)) != NULL) {
		char *keep = cur->path;
		struct mamori_fim_entry *link = cur->priv_next;

		*cur = *e;
		cur->path = keep;
		cur->priv_next = link;
		r = 0;
		goto out;
	}
	if (t->count >= t->max) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((ne = malloc(sizeof(*ne))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	*ne = *e;
	if ((ne->path = malloc(len + 1)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	memcpy(ne->path, path, len + 1);
	if (t->count >= t->n_buckets)
		table_grow(t);
	b = table_hash(path) & (t->n_buckets - 1);
	ne->priv_next = t->buckets[b];
	t->buckets[b] = ne;
	ne = NULL;
	t->count++;
	r = 0;
out:
	free(ne);
	return r;
}

int
mamori_fim_table_del(struct mamori_fim_table *t, const char *path)
{
	struct mamori_fim_entry **pp, *e;

	pp = &t->buckets[table_hash(path) & (t->n_buckets - 1)];
	for (; (e = *pp) != NULL; pp = &e->priv_next) {
		if (strcmp(e->path, path) == 0) {
			*pp = e->priv_next;
			free(e->path);
			free(e);
			t->count--;
			return 0;
		}
	}
	return MAMORI_ERR_NOT_FOUND;
}

void
mamori_fim_iter_init(const struct mamori_fim_table *t,
    struct mamori_fim_iter *it)
{
	it->priv_bucket = 0;
	it->priv_next = t->n_buckets > 0 ? t->buckets[0] : NULL;
}

struct mamori_fim_entry *
mamori_fim_iter_next(const struct mamori_fim_table *t,
    struct mamori_fim_iter *it)
{
	struct mamori_fim_entry *e;

	while (it->priv_next == NULL) {
		if (++it->priv_bucket >= t->n_buckets)
			return NULL;
		it->priv_next = t->buckets[it->priv_bucket];
	}
	e = it->priv_next;
	it->priv_next = e->priv_next;
	return e;
}

int
mamori_baseline_encode(const struct mamori_fim_table *t,
    struct mamori_buf *out)
{
	struct mamori_fim_iter it;
	struct mamori_fim_entry *e;
	uint8_t sum[MAMORI_SHA256_LEN];
	size_t start = out->len, plen;
	int r = MAMORI_ERR_INTERNAL;

	if (t->count > UINT32_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = mamori_buf_append(out, BASELINE_MAGIC,
	    BASELINE_MAGIC_LEN)) != 0 ||
	    (r = mamori_buf_put_u32(out, MAMORI_BASELINE_VERSION)) != 0 ||
	    (r = mamori_buf_put_u32(out, (uint32_t)t->count)) != 0)
		goto out;
	mamori_fim_iter_init(t, &it);
	while ((e = mamori_fim_iter_next(t, &it)) != NULL) {
		plen = strlen(e->path);
		if (plen >= MAMORI_FIM_PATH_MAX) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		if ((r = mamori_buf_put_u32(out, (uint32_t)(2 + plen + 3 * 4 +
		    2 * 8 + 1 + (e->has_sha256 ? MAMORI_SHA256_LEN : 0)))) != 0 ||
		    (r = mamori_buf_put_u16(out, (uint16_t)plen)) != 0 ||
		    (r = mamori_buf_append(out, e->path, plen)) != 0 ||
		    (r = mamori_buf_put_u32(out, e->mode)) != 0 ||
		    (r = mamori_buf_put_u32(out, e->uid)) != 0 ||
		    (r = mamori_buf_put_u32(out, e->gid)) != 0 ||
		    (r = mamori_buf_put_u64(out, e->size)) != 0 ||
		    (r = mamori_buf_put_u64(out, e->mtime_ns)) != 0 ||
		    (r = mamori_buf_put_u8(out, e->has_sha256 ?
		    BASELINE_FLAG_SHA256 : 0)) != 0)
			goto out;
		if (e->has_sha256 && (r = mamori_buf_append(out, e->sha256,
		    MAMORI_SHA256_LEN)) != 0)
			goto out;
	}
	mamori_sha256(out->data + start, out->len - start, sum);
	if ((r = mamori_buf_append(out, sum, sizeof(sum))) != 0)
		goto out;
	r = 0;
out:
	if (r != 0 && out->len > start)
		out->len = start;
	return r;
}

/* One record, from its own cursor (which must be consumed whole). */
static int
baseline_record(struct mamori_cursor *rec, struct mamori_fim_table *t)
{
	struct mamori_fim_entry e;
	char path[MAMORI_FIM_PATH_MAX];
	const uint8_t *p;
	uint16_t plen;
	uint8_t flags;
	int r = MAMORI_ERR_INTERNAL;

	memset(&e, 0, sizeof(e));
	if ((r = mamori_cursor_u16(rec, &plen)) != 0)
		goto out;
	if (plen == 0 || plen >= MAMORI_FIM_PATH_MAX) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	if ((r = mamori_cursor_bytes(rec, plen, &p)) != 0)
		goto out;
	if (p[0] != '/' || memchr(p, '\0', plen) != NULL) {
		r = MAMORI_ERR_BAD_STRING;
		goto out;
	}
	memcpy(path, p, plen);
	path[plen] = '\0';
	if ((r = mamori_cursor_u32(rec, &e.mode)) != 0 ||
	    (r = mamori_cursor_u32(rec, &e.uid)) != 0 ||
	    (r = mamori_cursor_u32(rec, &e.gid)) != 0 ||
	    (r = mamori_cursor_u64(rec, &e.size)) != 0 ||
	    (r = mamori_cursor_u64(rec, &e.mtime_ns)) != 0 ||
	    (r = mamori_cursor_u8(rec, &flags)) != 0)
		goto out;
	if ((flags & ~BASELINE_FLAG_SHA256) != 0) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	if (flags & BASELINE_FLAG_SHA256) {
		if ((r = mamori_cursor_copy(rec, e.sha256,
		    MAMORI_SHA256_LEN)) != 0)
			goto out;
		e.has_sha256 = 1;
	}
	if ((r = mamori_cursor_end(rec)) != 0)
		goto out;
	if (mamori_fim_table_get(t, path) != NULL) {
		r = MAMORI_ERR_BAD_MESSAGE;     /* a path twice */
		goto out;
	}
	r = mamori_fim_table_put(t, path, &e);
out:
	return r;
}

int
mamori_baseline_decode(const void *data, size_t len, size_t max_files,
    struct mamori_fim_table **out)
{
	struct mamori_fim_table *t = NULL;
	struct mamori_cursor c, rec;
	uint8_t sum[MAMORI_SHA256_LEN];
	const uint8_t *magic, *body;
	uint32_t version, count, rlen, i;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if (len > MAMORI_BASELINE_FILE_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if (len < BASELINE_HEADER_LEN + MAMORI_SHA256_LEN) {
		r = MAMORI_ERR_TRUNCATED;
		goto out;
	}
	/* The checksum first: a file cut short or overwritten is refused
	 * before any of its fields is believed. */
	mamori_sha256(data, len - MAMORI_SHA256_LEN, sum);
	if (!mamori_equal(sum, (const uint8_t *)data + len - MAMORI_SHA256_LEN,
	    sizeof(sum))) {
		r = MAMORI_ERR_CHECKSUM;
		goto out;
	}
	mamori_cursor_init(&c, data, len - MAMORI_SHA256_LEN);
	if ((r = mamori_cursor_bytes(&c, BASELINE_MAGIC_LEN, &magic)) != 0 ||
	    (r = mamori_cursor_u32(&c, &version)) != 0 ||
	    (r = mamori_cursor_u32(&c, &count)) != 0)
		goto out;
	if (memcmp(magic, BASELINE_MAGIC, BASELINE_MAGIC_LEN) != 0) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	if (version != MAMORI_BASELINE_VERSION) {
		r = MAMORI_ERR_BAD_VERSION;
		goto out;
	}
	if (count > max_files) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((t = mamori_fim_table_new(max_files)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < count; i++) {
		if ((r = mamori_cursor_u32(&c, &rlen)) != 0)
			goto out;
		if (rlen > MAMORI_BASELINE_RECORD_MAX) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		if ((r = mamori_cursor_bytes(&c, rlen, &body)) != 0)
			goto out;
		mamori_cursor_init(&rec, body, rlen);
		if ((r = baseline_record(&rec, t)) != 0)
			goto out;
	}
	if ((r = mamori_cursor_end(&c)) != 0)
		goto out;
	*out = t;
	t = NULL;
	r = 0;
out:
	mamori_fim_table_free(t);
	return r;
}

int
mamori_baseline_load(const char *path, size_t max_files,
    struct mamori_fim_table **out)
{
	struct mamori_buf b;
	int r;

	*out = NULL;
	mamori_buf_init(&b, MAMORI_BASELINE_FILE_MAX);
	if ((r = mamori_buf_read_file(&b, path)) != 0)
		goto out;
	r = mamori_baseline_decode(b.data, b.len, max_files, out);
out:
	mamori_buf_free(&b);
	return r;
}

int
mamori_baseline_save(const char *path, const struct mamori_fim_table *t)
{
	struct mamori_buf b;
	int r;

	mamori_buf_init(&b, MAMORI_BASELINE_FILE_MAX);
	if ((r = mamori_baseline_encode(t, &b)) != 0)
		goto out;
	r = mamori_file_write(path, b.data, b.len, 0600, 0);
out:
	mamori_buf_free(&b);
	return r;
}
