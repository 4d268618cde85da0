/*
 * seen.c - the persistent replay set of task ids (see seen.h).
 *
 * Entries are kept sorted by id so lookups are a binary search.  The file
 * is read through the bounded cursor and refused whole if anything in it is
 * off: a damaged replay set must never turn into an empty one.  Nothing
 * here may drop an entry before its window, plus the clock skew, has
 * passed.
 */
#include "seen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "task.h"
#include "util.h"

#define SEEN_MAGIC "MSEN"
#define SEEN_HEADER_LEN 12

struct seen_entry {
	uint8_t id[MAMORI_SEEN_ID_LEN];
	uint64_t not_after;
};

struct mamori_seen_set {
	char *path;              /* NULL: memory only */
	struct seen_entry *entries;
	size_t n;
	size_t cap;
};

static int
entry_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MAMORI_SEEN_ID_LEN);
}

/* 1 when the entry's window and the skew have passed at now. */
static int
entry_expired(const struct seen_entry *e, uint64_t now)
{
	return now > e->not_after &&
	    now - e->not_after > MAMORI_TASK_CLOCK_SKEW;
}

static void
seen_prune(struct mamori_seen_set *s, uint64_t now)
{
	size_t i, w = 0;

	for (i = 0; i < s->n; i++)
		if (!entry_expired(&s->entries[i], now))
			s->entries[w++] = s->entries[i];
	s->n = w;
}

void
mamori_seen_free(struct mamori_seen_set *s)
{
	if (s == NULL)
		return;
	free(s->entries);
	free(s->path);
	free(s);
}

static int
seen_reserve(struct mamori_seen_set *s, size_t want)
{
	struct seen_entry *e;
	size_t cap;

	if (want <= s->cap)
		return 0;
	if (want > MAMORI_SEEN_MAX)
		return MAMORI_ERR_TOO_LARGE;
	cap = s->cap == 0 ? 64 : s->cap * 2;
	if (cap < want)
		cap = want;
	if (cap > MAMORI_SEEN_MAX)
		cap = MAMORI_SEEN_MAX;
	if ((e = realloc(s->entries, cap * sizeof(*e))) == NULL)
		return MAMORI_ERR_ALLOC;
	s->entries = e;
	s->cap = cap;
	return 0;
}

static int
seen_parse(struct mamori_seen_set *s, const uint8_t *data, size_t len)
{
	struct mamori_cursor c;
	uint8_t digest[MAMORI_SHA256_LEN], magic[4];
	const uint8_t *sum;
	uint32_t format, count, i;
	int r;

	if (len < SEEN_HEADER_LEN + MAMORI_SHA256_LEN ||
	    len > MAMORI_SEEN_FILE_MAX)
		return MAMORI_ERR_BAD_MESSAGE;
	mamori_sha256(data, len - MAMORI_SHA256_LEN, digest);
	if (!mamori_equal(digest, data + len - MAMORI_SHA256_LEN,
	    MAMORI_SHA256_LEN))
		return MAMORI_ERR_CHECKSUM;
	mamori_cursor_init(&c, data, len);
	if ((r = mamori_cursor_copy(&c, magic, sizeof(magic))) != 0 ||
	    (r = mamori_cursor_u32(&c, &format)) != 0 ||
	    (r = mamori_cursor_u32(&c, &count)) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	if (memcmp(magic, SEEN_MAGIC, sizeof(magic)) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	if (format != MAMORI_SEEN_FORMAT)
		return MAMORI_ERR_BAD_VERSION;
	if (count > MAMORI_SEEN_MAX ||
	    mamori_cursor_remaining(&c) != (size_t)count *
	    MAMORI_SEEN_ENTRY_LEN + MAMORI_SHA256_LEN)
		return MAMORI_ERR_BAD_MESSAGE;
	if ((r = seen_reserve(s, count)) != 0)
		return r;
	for (i = 0; i < count; i++) {
		struct seen_entry *e = &s->entries[i];

		if (mamori_cursor_copy(&c, e->id, MAMORI_SEEN_ID_LEN) != 0 ||
		    mamori_cursor_u64(&c, &e->not_after) != 0)
			return MAMORI_ERR_BAD_MESSAGE;
		if (i > 0 && memcmp(s->entries[i - 1].id, e->id,
		    MAMORI_SEEN_ID_LEN) >= 0)
			return MAMORI_ERR_BAD_MESSAGE;
	}
	if (mamori_cursor_bytes(&c, MAMORI_SHA256_LEN, &sum) != 0 ||
	    mamori_cursor_end(&c) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	s->n = count;
	return 0;
}

int
mamori_seen_decode(const uint8_t *data, size_t len,
    struct mamori_seen_set **out)
{
	struct mamori_seen_set *s;
	int r;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((r = seen_parse(s, data, len)) != 0) {
		mamori_seen_free(s);
		return r;
	}
	*out = s;
	return 0;
}

int
mamori_seen_open(const char *path, uint64_t now,
    struct mamori_seen_set **out)
{
	struct mamori_seen_set *s = NULL;
	struct mamori_buf b;
	struct stat st;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	mamori_buf_init(&b, MAMORI_SEEN_FILE_MAX);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (path != NULL) {
		if ((s->path = mamori_memdup_str(path, strlen(path))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		if (stat(path, &st) == 0) {
			if ((r = mamori_buf_read_file(&b, path)) != 0)
				goto out;
			if ((r = seen_parse(s, b.data, b.len)) != 0)
				goto out;
		} else if (errno != ENOENT) {
			r = MAMORI_ERR_IO;
			goto out;
		}
	}
	seen_prune(s, now);
	*out = s;
	s = NULL;
	r = 0;
out:
	mamori_buf_free(&b);
	mamori_seen_free(s);
	return r;
}

int
mamori_seen_contains(const struct mamori_seen_set *s,
    const uint8_t id[MAMORI_SEEN_ID_LEN])
{
	if (s == NULL || s->n == 0)
		return 0;
	return bsearch(id, s->entries, s->n, sizeof(*s->entries),
	    entry_cmp) != NULL;
}

size_t
mamori_seen_count(const struct mamori_seen_set *s)
{
	return s != NULL ? s->n : 0;
}

/* Writes the whole set to its file. */
static int
seen_save(const struct mamori_seen_set *s)
{
	struct mamori_buf b;
	uint8_t digest[MAMORI_SHA256_LEN];
	size_t i;
	int r;

	if (s->path == NULL)
		return 0;
	mamori_buf_init(&b, MAMORI_SEEN_FILE_MAX);
	if ((r = mamori_buf_append(&b, SEEN_MAGIC, 4)) != 0 ||
	    (r = mamori_buf_put_u32(&b, MAMORI_SEEN_FORMAT)) != 0 ||
	    (r = mamori_buf_put_u32(&b, (uint32_t)s->n)) != 0)
		goto out;
	for (i = 0; i < s->n; i++)
		if ((r = mamori_buf_append(&b, s->entries[i].id,
		    MAMORI_SEEN_ID_LEN)) != 0 ||
		    (r = mamori_buf_put_u64(&b, s->entries[i].not_after)) != 0)
			goto out;
	mamori_sha256(b.data, b.len, digest);
	if ((r = mamori_buf_append(&b, digest, sizeof(digest))) != 0)
		goto out;
	r = mamori_file_write(s->path, b.data, b.len, 0600, 0);
out:
	mamori_buf_free(&b);
	return r;
}

int
mamori_seen_add(struct mamori_seen_set *s,
    const uint8_t id[MAMORI_SEEN_ID_LEN], uint64_t not_after, uint64_t now)
{
	struct seen_entry e;
	size_t lo = 0, hi, pos;
	int r, c;

	if (s == NULL)
		return MAMORI_ERR_INVALID;
	if (mamori_seen_contains(s, id))
		return MAMORI_ERR_EXISTS;
	/* Pruning only drops entries no task can match any more, so it
	 * needs no undo if what follows fails. */
	seen_prune(s, now);
	if (s->n >= MAMORI_SEEN_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((r = seen_reserve(s, s->n + 1)) != 0)
		return r;
	hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		c = memcmp(s->entries[mid].id, id, MAMORI_SEEN_ID_LEN);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	pos = lo;
	memcpy(e.id, id, MAMORI_SEEN_ID_LEN);
	e.not_after = not_after;
	memmove(&s->entries[pos + 1], &s->entries[pos],
	    (s->n - pos) * sizeof(*s->entries));
	s->entries[pos] = e;
	s->n++;
	if ((r = seen_save(s)) != 0) {
		memmove(&s->entries[pos], &s->entries[pos + 1],
		    (s->n - pos - 1) * sizeof(*s->entries));
		s->n--;
		return r;
	}
	return 0;
}
