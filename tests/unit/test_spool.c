/*
 * test_spool.c - the agent's durable event spool (src/agent/spool.c):
 * round trips, restarts, acknowledgements across segments, overflow, torn
 * and flipped records found at open and while reading, garbage in the
 * directory, and the one promise everything rests on - a sequence number
 * is never given out twice.  Each test works in its own mkdtemp directory
 * and removes it; nothing outside it is touched.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "buf.h"
#include "err.h"
#include "spool.h"
#include "util.h"
#include "wire.h"

#define TEST_PATH_MAX 4096
#define TEST_BATCH_MAX (4 * 1024 * 1024)
#define TEST_DECODE_BUDGET (256 * 1024 * 1024)
#define TEST_REASON_MAX 160
#define TEST_BIG_EVENT (64 * 1024)      /* a few dozen per segment */
#define TEST_SMALL_EVENT 40
#define TEST_NFTW_FDS 16

struct fixture {
	char root[TEST_PATH_MAX];
	char dir[TEST_PATH_MAX];        /* root/spool */
};

/* An Event with a ProcessEvent body whose command line is cmdlen bytes. */
struct test_event {
	Mamori__Event ev;
	Mamori__ProcessEvent proc;
	char *cmd;
};

/* One event as read back. */
struct seen {
	uint64_t seq;
	int loss;
	uint64_t first, last, count;
	char reason[TEST_REASON_MAX];
	uint32_t pid;
	size_t cmdlen;
};

struct seen_list {
	struct seen *v;
	size_t n, cap;
};

/* out = printf(fmt, ...), failing the test when it does not fit. */
static void
pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
pathf(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, TEST_PATH_MAX, fmt, ap);
	va_end(ap);
	assert_true(n > 0 && n < TEST_PATH_MAX);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/mamori-test-spool-XXXXXX");
	if (mkdtemp(f->root) == NULL) {
		free(f);
		return -1;
	}
	if (mamori_path_join(f->dir, sizeof(f->dir), f->root, "spool") != 0) {
		rmdir(f->root);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
remove_tree(const char *path)
{
	nftw(path, remove_one, TEST_NFTW_FDS, FTW_DEPTH | FTW_PHYS);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	remove_tree(f->root);
	free(f);
	return 0;
}

static void
event_make(struct test_event *t, uint32_t pid, size_t cmdlen)
{
	memset(t, 0, sizeof(*t));
	mamori__event__init(&t->ev);
	mamori__process_event__init(&t->proc);
	t->cmd = malloc(cmdlen + 1);
	assert_non_null(t->cmd);
	memset(t->cmd, 'a' + (int)(pid % 26), cmdlen);
	t->cmd[cmdlen] = '\0';
	t->proc.action = MAMORI__PROCESS_EVENT__ACTION__START;
	t->proc.pid = pid;
	t->proc.command_line = t->cmd;
	t->ev.body_case = MAMORI__EVENT__BODY_PROCESS;
	t->ev.process = &t->proc;
}

static void
event_free(struct test_event *t)
{
	free(t->cmd);
	t->cmd = NULL;
}

/* Appends one event; returns its number. */
static uint64_t
append_one(struct mamori_spool *sp, uint32_t pid, size_t cmdlen)
{
	struct test_event t;
	uint64_t seq;

	event_make(&t, pid, cmdlen);
	assert_int_equal(mamori_spool_append(sp, &t.ev, &seq), 0);
	assert_int_equal(t.ev.seq, seq);
	assert_true(seq > 0);
	event_free(&t);
	return seq;
}

static void
seen_add(struct seen_list *l, const Mamori__Event *e)
{
	struct seen *s;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 64 : l->cap * 2;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		assert_non_null(l->v);
	}
	s = &l->v[l->n++];
	memset(s, 0, sizeof(*s));
	s->seq = e->seq;
	if (e->body_case == MAMORI__EVENT__BODY_LOSS) {
		s->loss = 1;
		s->first = e->loss->first_seq;
		s->last = e->loss->last_seq;
		s->count = e->loss->count;
		snprintf(s->reason, sizeof(s->reason), "%s", e->loss->reason);
	} else if (e->body_case == MAMORI__EVENT__BODY_PROCESS) {
		s->pid = e->process->pid;
		s->cmdlen = strlen(e->process->command_line);
	}
}

/* One read: decodes the batch and checks it against count and last. */
static size_t
read_once(struct mamori_spool *sp, uint64_t after, size_t max,
    struct seen_list *l, uint64_t *last_seq)
{
	Mamori__EventBatch *batch;
	ProtobufCMessage *m;
	struct mamori_buf b;
	uint64_t prev = after;
	size_t count, i;

	mamori_buf_init(&b, TEST_BATCH_MAX);
	assert_int_equal(mamori_spool_read(sp, after, max, &b, &count,
	    last_seq), 0);
	assert_true(b.len <= max);
	if (count == 0) {
		assert_int_equal(b.len, 0);
		assert_int_equal(*last_seq, 0);
		mamori_buf_free(&b);
		return 0;
	}
	assert_int_equal(mamori_pb_decode(&mamori__event_batch__descriptor,
	    b.data, b.len, TEST_DECODE_BUDGET, &m), 0);
	batch = (Mamori__EventBatch *)m;
	assert_int_equal(batch->n_events, count);
	for (i = 0; i < count; i++) {
		assert_true(batch->events[i]->seq > prev);
		prev = batch->events[i]->seq;
		if (l != NULL)
			seen_add(l, batch->events[i]);
	}
	assert_int_equal(prev, *last_seq);
	mamori_pb_free(m);
	mamori_buf_free(&b);
	return count;
}

/* Reads everything after 'after'.  A read cut short by damage may return
 * nothing once, so stop only after two empty reads. */
static void
read_all(struct mamori_spool *sp, uint64_t after, struct seen_list *l)
{
	uint64_t last;
	int empty = 0;

	while (empty < 2) {
		if (read_once(sp, after, TEST_BATCH_MAX, l, &last) == 0) {
			empty++;
			continue;
		}
		empty = 0;
		after = last;
	}
}

static void
seen_free(struct seen_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static const struct seen *
seen_find(const struct seen_list *l, uint64_t seq)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].seq == seq)
			return &l->v[i];
	return NULL;
}

static size_t
seen_losses(const struct seen_list *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->v[i].loss;
	return n;
}

static const struct seen *
seen_loss(const struct seen_list *l, size_t k)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].loss && k-- == 0)
			return &l->v[i];
	return NULL;
}

static uint64_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (uint64_t)st.st_size;
}

static void
seg_path(char *out, const char *dir, uint64_t name)
{
	pathf(out, "%s/%020llu.seg", dir, (unsigned long long)name);
}

/* Sorted names of the segment files in dir; returns how many. */
static size_t
seg_names(const char *dir, uint64_t *names, size_t max)
{
	struct dirent *de;
	size_t n = 0, i, j;
	uint64_t t;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len != 24 || strcmp(de->d_name + 20, ".seg") != 0)
			continue;
		assert_true(n < max);
		names[n++] = strtoull(de->d_name, NULL, 10);
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && names[j - 1] > names[j]; j--) {
			t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	return n;
}

static void
write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

/* XORs the byte at off in path with 0x5a. */
static void
flip_byte(const char *path, uint64_t off)
{
	uint8_t c;
	int fd = open(path, O_RDWR);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
	c ^= 0x5a;
	assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
	close(fd);
}

static void
copy_prefix(const char *from, const char *to, uint64_t n)
{
	uint8_t *data = malloc(n + 1);
	int fd = open(from, O_RDONLY);

	assert_non_null(data);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, data, n), (ssize_t)n);
	close(fd);
	write_file(to, data, n);
	free(data);
}

static void
test_record_decode(void **state)
{
	/* CRC-32C of "123456789" is 0xe3069283 (RFC 3720, B.4). */
	static const uint8_t rec[] = {0, 0, 0, 9, 0xe3, 0x06, 0x92, 0x83,
	    '1', '2', '3', '4', '5', '6', '7', '8', '9', 'x'};
	uint8_t bad[sizeof(rec)];
	const uint8_t *p;
	size_t n, used, i;

	(void)state;
	assert_int_equal(mamori_spool_record_decode(rec, sizeof(rec), &p, &n,
	    &used), 0);
	assert_ptr_equal(p, rec + 8);
	assert_int_equal(n, 9);
	assert_int_equal(used, 17);
	for (i = 0; i < 17; i++)
		assert_int_equal(mamori_spool_record_decode(rec, i, &p, &n,
		    &used), MAMORI_ERR_TRUNCATED);
	assert_null(p);
	assert_int_equal(used, 0);
	memcpy(bad, rec, sizeof(bad));
	bad[12] ^= 1;
	assert_int_equal(mamori_spool_record_decode(bad, sizeof(bad), &p, &n,
	    &used), MAMORI_ERR_CHECKSUM);
	memcpy(bad, rec, sizeof(bad));
	bad[5] ^= 0x80;
	assert_int_equal(mamori_spool_record_decode(bad, sizeof(bad), &p, &n,
	    &used), MAMORI_ERR_CHECKSUM);
	/* A length past the limit is refused before the data is looked at. */
	memcpy(bad, rec, sizeof(bad));
	bad[0] = 0;
	bad[1] = 0x10;
	bad[2] = 0;
	bad[3] = 1;
	assert_int_equal(mamori_spool_record_decode(bad, sizeof(bad), &p, &n,
	    &used), MAMORI_ERR_TOO_LARGE);
	memset(bad, 0, sizeof(bad));
	assert_int_equal(mamori_spool_record_decode(bad, sizeof(bad), &p, &n,
	    &used), MAMORI_ERR_BAD_MESSAGE);
}

static void
test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	struct mamori_buf b;
	struct stat dst;
	uint64_t last, i;
	size_t count;

	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	assert_int_equal(stat(f->dir, &dst), 0);
	assert_int_equal(dst.st_mode & 0777, 0700);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.first_seq, 0);
	assert_int_equal(st.next_seq, 1);
	assert_int_equal(st.records, 0);
	assert_int_equal(read_once(sp, 0, TEST_BATCH_MAX, NULL, &last), 0);
	for (i = 1; i <= 10; i++)
		assert_int_equal(append_one(sp, (uint32_t)(100 + i),
		    TEST_SMALL_EVENT + i), i);
	assert_int_equal(mamori_spool_sync(sp), 0);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.first_seq, 1);
	assert_int_equal(st.next_seq, 11);
	assert_int_equal(st.records, 10);
	assert_int_equal(st.lost, 0);
	assert_true(st.bytes > 10 * TEST_SMALL_EVENT);

	assert_int_equal(read_once(sp, 0, TEST_BATCH_MAX, &l, &last), 10);
	assert_int_equal(last, 10);
	for (i = 0; i < 10; i++) {
		assert_int_equal(l.v[i].seq, i + 1);
		assert_false(l.v[i].loss);
		assert_int_equal(l.v[i].pid, 101 + i);
		assert_int_equal(l.v[i].cmdlen, TEST_SMALL_EVENT + i + 1);
	}
	seen_free(&l);
	assert_int_equal(read_once(sp, 5, TEST_BATCH_MAX, &l, &last), 5);
	assert_int_equal(l.v[0].seq, 6);
	seen_free(&l);
	assert_int_equal(read_once(sp, 10, TEST_BATCH_MAX, NULL, &last), 0);

	/* A small batch ends before the record that would not fit. */
	assert_int_equal(read_once(sp, 0, 2 * (TEST_SMALL_EVENT + 20), &l,
	    &last), 2);
	assert_int_equal(last, 2);
	seen_free(&l);
	/* One that cannot hold even one record says so. */
	mamori_buf_init(&b, TEST_BATCH_MAX);
	assert_int_equal(mamori_spool_read(sp, 0, 8, &b, &count, &last),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(count, 0);
	mamori_buf_free(&b);

	assert_int_equal(mamori_spool_ack(sp, 5), 0);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.first_seq, 6);
	assert_int_equal(st.records, 5);
	assert_int_equal(mamori_spool_ack(sp, 3), 0);  /* old: no change */
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.first_seq, 6);
	/* Numbers never given out are refused, and change nothing. */
	assert_int_equal(mamori_spool_ack(sp, 11), MAMORI_ERR_INVALID);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.records, 5);
	assert_int_equal(mamori_spool_ack(sp, 10), 0);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.first_seq, 0);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.next_seq, 11);
	assert_int_equal(append_one(sp, 1, 10), 11);
	mamori_spool_close(sp);
	mamori_spool_close(NULL);
}

static void
test_refuses(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool *sp, *other;
	struct test_event t;
	uint64_t seq = 99;

	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	/* One spool, one process: a second opener is kept out. */
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &other), MAMORI_ERR_EXISTS);
	assert_null(other);
	event_make(&t, 1, MAMORI_SPOOL_MAX_RECORD + 1);
	t.ev.seq = 77;
	assert_int_equal(mamori_spool_append(sp, &t.ev, &seq),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(seq, 0);
	assert_int_equal(t.ev.seq, 77);
	event_free(&t);
	assert_int_equal(append_one(sp, 1, 10), 1);
	mamori_spool_close(sp);
}

static void
test_restart(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	uint64_t i;

	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	for (i = 1; i <= 5; i++)
		assert_int_equal(append_one(sp, (uint32_t)i, 50), i);
	assert_int_equal(mamori_spool_ack(sp, 2), 0);
	mamori_spool_close(sp);

	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.next_seq, 6);
	assert_int_equal(st.first_seq, 3);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.lost, 0);
	read_all(sp, 2, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].seq, 3);
	assert_int_equal(l.v[2].seq, 5);
	assert_int_equal(l.v[2].pid, 5);
	seen_free(&l);
	assert_int_equal(append_one(sp, 6, 50), 6);
	/* Everything acknowledged: the files go, the numbers stay used. */
	assert_int_equal(mamori_spool_ack(sp, 6), 0);
	mamori_spool_close(sp);
	{
		uint64_t names[8];

		assert_int_equal(seg_names(f->dir, names, 8), 0);
	}
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.next_seq, 7);
	assert_int_equal(st.first_seq, 0);
	assert_int_equal(append_one(sp, 7, 50), 7);
	mamori_spool_close(sp);
}

static void
test_ack_segments(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	uint64_t names[16], i;

	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	for (i = 1; i <= 150; i++)
		assert_int_equal(append_one(sp, (uint32_t)i, TEST_BIG_EVENT),
		    i);
	assert_int_equal(seg_names(f->dir, names, 16), 3);
	assert_int_equal(names[0], 1);
	/* Each segment stays near the rotation size. */
	for (i = 0; i < 2; i++) {
		char path[TEST_PATH_MAX];

		seg_path(path, f->dir, names[i]);
		assert_true(file_size(path) <= MAMORI_SPOOL_SEGMENT_BYTES);
		assert_true(file_size(path) > MAMORI_SPOOL_SEGMENT_BYTES -
		    2 * TEST_BIG_EVENT);
	}
	assert_int_equal(mamori_spool_ack(sp, names[1] - 2), 0);
	assert_int_equal(seg_names(f->dir, names, 16), 3);
	assert_int_equal(mamori_spool_ack(sp, names[1] - 1), 0);
	assert_int_equal(seg_names(f->dir, names, 16), 2);
	assert_int_equal(mamori_spool_ack(sp, names[1]), 0);
	assert_int_equal(seg_names(f->dir, names, 16), 1);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.first_seq, names[0] + 1);
	assert_int_equal(st.records, 150 - names[0]);
	mamori_spool_close(sp);

	/* The acknowledgement survives a restart. */
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.first_seq, names[0] + 1);
	assert_int_equal(st.records, 150 - names[0]);
	assert_int_equal(st.next_seq, 151);
	read_all(sp, names[0], &l);
	assert_int_equal(l.n, 150 - names[0]);
	assert_int_equal(l.v[0].seq, names[0] + 1);
	assert_int_equal(l.v[0].cmdlen, TEST_BIG_EVENT);
	seen_free(&l);
	mamori_spool_close(sp);
}

/* Checks every number from acked + 1 below next is accounted for exactly
 * once: read back as an event or inside one LossEvent's range. */
static void
check_accounted(const struct seen_list *l, uint64_t acked, uint64_t next,
    uint64_t lost)
{
	uint64_t s, total = 0;
	size_t i, hits;

	for (i = 0; i < l->n; i++) {
		if (!l->v[i].loss)
			continue;
		assert_true(l->v[i].first > acked);
		assert_true(l->v[i].last >= l->v[i].first);
		assert_int_equal(l->v[i].count,
		    l->v[i].last - l->v[i].first + 1);
		assert_true(l->v[i].last < l->v[i].seq);
		total += l->v[i].count;
	}
	/* A LossEvent dropped in turn is carried into the next one, so the
	 * counts still add up. */
	assert_int_equal(total, lost);
	for (s = acked + 1; s < next; s++) {
		hits = seen_find(l, s) != NULL;
		for (i = 0; i < l->n; i++)
			if (l->v[i].loss && s >= l->v[i].first &&
			    s <= l->v[i].last)
				hits++;
		assert_int_equal(hits, 1);
	}
}

static void
test_overflow(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	const uint64_t cap = 3 * MAMORI_SPOOL_SEGMENT_BYTES;
	uint64_t i, prev = 0, seq, acked, last;
	size_t k;

	assert_int_equal(mamori_spool_open(f->dir, cap, &sp), 0);
	for (i = 0; i < 100; i++)
		prev = append_one(sp, (uint32_t)i, TEST_BIG_EVENT);
	/* Deliver part of it: acknowledged records are never "lost". */
	assert_true(read_once(sp, 0, TEST_BATCH_MAX, NULL, &last) > 0);
	acked = last;
	assert_int_equal(mamori_spool_ack(sp, acked), 0);
	for (i = 0; i < 300; i++) {
		seq = append_one(sp, (uint32_t)i, TEST_BIG_EVENT);
		assert_true(seq > prev);
		prev = seq;
		mamori_spool_stats(sp, &st);
		assert_true(st.bytes <= cap);
	}
	mamori_spool_stats(sp, &st);
	assert_true(st.lost > 0);
	read_all(sp, acked, &l);
	/* Each drop took one segment (a few dozen records) and said so
	 * once, in a LossEvent that follows the records it names. */
	assert_true(seen_losses(&l) >= 1);
	for (k = 0; k < seen_losses(&l); k++) {
		const struct seen *ls = seen_loss(&l, k);

		assert_string_equal(ls->reason, "overflow");
		assert_true(ls->count > 0);
		assert_true(ls->count < MAMORI_SPOOL_SEGMENT_BYTES /
		    TEST_BIG_EVENT + 2);
	}
	check_accounted(&l, acked, st.next_seq, st.lost);
	/* Consecutive drops name consecutive ranges. */
	for (k = 1; k < seen_losses(&l); k++)
		assert_true(seen_loss(&l, k)->first >
		    seen_loss(&l, k - 1)->last);
	seen_free(&l);
	mamori_spool_close(sp);
}

static void
test_tiny_cap(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	uint64_t i, prev = 0, seq;

	assert_int_equal(mamori_spool_open(f->dir, 1024, &sp), 0);
	for (i = 0; i < 50; i++) {
		seq = append_one(sp, (uint32_t)i, 300);
		assert_true(seq > prev);
		prev = seq;
		mamori_spool_stats(sp, &st);
		assert_true(st.bytes <= 1024);
		assert_true(st.records >= 1);
	}
	read_all(sp, 0, &l);
	assert_true(seen_find(&l, prev) != NULL);
	assert_true(seen_losses(&l) >= 1);
	mamori_spool_stats(sp, &st);
	check_accounted(&l, 0, st.next_seq, st.lost);
	seen_free(&l);
	mamori_spool_close(sp);
	/* A cap below one record still takes every event. */
	remove_tree(f->dir);
	assert_int_equal(mamori_spool_open(f->dir, 16, &sp), 0);
	for (i = 0; i < 5; i++)
		append_one(sp, (uint32_t)i, 300);
	read_all(sp, 0, &l);
	assert_true(l.n >= 1);
	assert_int_equal(l.v[l.n - 1].pid, 4);
	seen_free(&l);
	mamori_spool_close(sp);
}

static void
test_torn_tail(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	char base[TEST_PATH_MAX], src[TEST_PATH_MAX], dst[TEST_PATH_MAX];
	uint64_t i, before, size, cut, next;
	const struct seen *ls;

	pathf(base, "%s/base", f->root);
	assert_int_equal(mamori_spool_open(base, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	for (i = 1; i <= 4; i++)
		append_one(sp, (uint32_t)i, TEST_SMALL_EVENT);
	mamori_spool_stats(sp, &st);
	before = st.bytes;
	append_one(sp, 5, TEST_SMALL_EVENT);
	mamori_spool_close(sp);
	seg_path(src, base, 1);
	size = file_size(src);

	for (cut = before; cut < size; cut++) {
		remove_tree(f->dir);
		assert_int_equal(mkdir(f->dir, 0700), 0);
		seg_path(dst, f->dir, 1);
		copy_prefix(src, dst, cut);
		assert_int_equal(mamori_spool_open(f->dir,
		    MAMORI_SPOOL_MAX_DEFAULT, &sp), 0);
		mamori_spool_stats(sp, &st);
		read_all(sp, 0, &l);
		for (i = 1; i <= 4; i++) {
			assert_non_null(seen_find(&l, i));
			assert_int_equal(seen_find(&l, i)->pid, i);
		}
		assert_null(seen_find(&l, 5));
		if (cut == before) {
			/* The record never reached the file: nothing to
			 * see, nothing to report. */
			assert_int_equal(l.n, 4);
			assert_int_equal(st.lost, 0);
			next = 5;
		} else {
			assert_int_equal(seen_losses(&l), 1);
			ls = seen_loss(&l, 0);
			assert_int_equal(ls->first, 5);
			assert_true(ls->seq > 5);
			assert_int_equal(strncmp(ls->reason, "corrupt spool",
			    13), 0);
			if (ls->last != 0) {
				assert_int_equal(ls->last, 5);
				assert_int_equal(ls->count, 1);
			} else {
				assert_non_null(strstr(ls->reason,
				    "bytes unreadable in "
				    "00000000000000000001.seg"));
			}
			assert_int_equal(st.lost, 1);
			next = ls->seq + 1;
		}
		mamori_spool_stats(sp, &st);
		assert_int_equal(st.next_seq, next);
		assert_int_equal(append_one(sp, 6, 10), next);
		mamori_spool_close(sp);
		seen_free(&l);
		/* What recovery decided stays decided. */
		assert_int_equal(mamori_spool_open(f->dir,
		    MAMORI_SPOOL_MAX_DEFAULT, &sp), 0);
		mamori_spool_stats(sp, &st);
		assert_int_equal(st.next_seq, next + 1);
		assert_int_equal(st.lost, 0);
		mamori_spool_close(sp);
	}
}

/* Records of one size: 20 events with equal command lines and one-byte
 * sequence numbers.  Returns the size of one record. */
static uint64_t
fill_uniform(const char *dir, uint64_t n)
{
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	uint64_t i;

	assert_int_equal(mamori_spool_open(dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	for (i = 1; i <= n; i++)
		assert_int_equal(append_one(sp, 1, TEST_SMALL_EVENT), i);
	mamori_spool_stats(sp, &st);
	mamori_spool_close(sp);
	return (st.bytes - 8) / n;
}

static void
test_flipped_byte(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	char path[TEST_PATH_MAX];
	uint64_t rec, i;
	const struct seen *ls;

	rec = fill_uniform(f->dir, 20);
	seg_path(path, f->dir, 1);
	flip_byte(path, 8 + 9 * rec + rec / 2);
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	/* Cut right before the spoiled record. */
	assert_int_equal(file_size(path), 8 + 9 * rec);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.lost, 11);
	assert_true(st.next_seq > 21);
	read_all(sp, 0, &l);
	for (i = 1; i <= 9; i++)
		assert_non_null(seen_find(&l, i));
	for (i = 10; i <= 20; i++)
		assert_null(seen_find(&l, i));
	assert_int_equal(seen_losses(&l), 1);
	ls = seen_loss(&l, 0);
	/* The good records past the damage show how far it went. */
	assert_int_equal(ls->first, 10);
	assert_int_equal(ls->last, 20);
	assert_int_equal(ls->count, 11);
	assert_string_equal(ls->reason, "corrupt spool");
	assert_true(ls->seq > 20);
	seen_free(&l);
	mamori_spool_close(sp);
}

static void
test_flipped_while_open(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	char path[TEST_PATH_MAX];
	uint64_t rec, last;
	const struct seen *ls;

	rec = fill_uniform(f->dir, 20);
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	/* Warm the read position, then spoil record 15 under it. */
	assert_int_equal(read_once(sp, 0, rec, NULL, &last), 1);
	seg_path(path, f->dir, 1);
	flip_byte(path, 8 + 14 * rec + rec - 1);
	assert_int_equal(read_once(sp, last, TEST_BATCH_MAX, &l, &last), 13);
	assert_int_equal(last, 14);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.lost, 6);
	assert_int_equal(st.next_seq, 22);
	read_all(sp, last, &l);
	assert_int_equal(l.n, 14);
	ls = seen_loss(&l, 0);
	assert_non_null(ls);
	assert_int_equal(ls->seq, 21);
	assert_int_equal(ls->first, 15);
	assert_int_equal(ls->last, 20);
	assert_int_equal(ls->count, 6);
	seen_free(&l);
	assert_int_equal(append_one(sp, 1, 10), 22);
	mamori_spool_close(sp);
	/* A restart finds everything whole. */
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.next_seq, 23);
	read_all(sp, 0, &l);
	assert_int_equal(l.n, 14 + 2);
	seen_free(&l);
	mamori_spool_close(sp);
}

static void
test_flipped_old_segment(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	char path[TEST_PATH_MAX];
	uint64_t names[8], i;
	const struct seen *ls;

	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	for (i = 1; i <= 100; i++)
		append_one(sp, (uint32_t)i, TEST_BIG_EVENT);
	mamori_spool_close(sp);
	assert_int_equal(seg_names(f->dir, names, 8), 2);
	seg_path(path, f->dir, 1);
	flip_byte(path, file_size(path) / 2);
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	read_all(sp, 0, &l);
	assert_int_equal(seen_losses(&l), 1);
	ls = seen_loss(&l, 0);
	/* The lost part of the first segment ends where the next begins. */
	assert_int_equal(ls->last, names[1] - 1);
	assert_true(ls->first > 1 && ls->first < names[1]);
	assert_int_equal(ls->seq, 101);
	for (i = 1; i <= 100; i++)
		assert_true((seen_find(&l, i) != NULL) !=
		    (i >= ls->first && i <= ls->last));
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.lost, ls->count);
	seen_free(&l);
	mamori_spool_close(sp);
}

static void
test_garbage(void **state)
{
	static const char junk[] = "this is not a segment\n\0\0\0\x05\xff";
	struct fixture *f = *state;
	struct mamori_spool_stats st;
	struct mamori_spool *sp;
	struct seen_list l = {0};
	char path[TEST_PATH_MAX];
	uint8_t zeros[100] = {0};
	uint64_t seq;

	assert_int_equal(mkdir(f->dir, 0755), 0);
	pathf(path, "%s/notes.txt", f->dir);
	write_file(path, junk, sizeof(junk));
	pathf(path, "%s/12.seg", f->dir);
	write_file(path, junk, sizeof(junk));
	pathf(path, "%s/99999999999999999999.seg", f->dir);
	write_file(path, junk, sizeof(junk));
	pathf(path, "%s/state", f->dir);
	write_file(path, junk, sizeof(junk));
	seg_path(path, f->dir, 1);
	write_file(path, junk, sizeof(junk));
	seg_path(path, f->dir, 30);
	write_file(path, "", 0);
	seg_path(path, f->dir, 40);
	write_file(path, "MSPL\0\0\0\1", 8);
	seg_path(path, f->dir, 50);
	write_file(path, zeros, sizeof(zeros));
	seg_path(path, f->dir, 100);
	assert_int_equal(mkdir(path, 0700), 0);
	seg_path(path, f->dir, 200);
	assert_int_equal(symlink("/etc/hostname", path), 0);

	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	read_all(sp, 0, &l);
	/* The unreadable files are reported, nothing is taken as an event. */
	assert_true(seen_losses(&l) >= 2);
	assert_int_equal(seen_losses(&l), l.n);
	seq = append_one(sp, 1, 10);
	/* Names in use (the directory, the link) are never reused. */
	assert_true(seq > 200);
	seen_free(&l);
	mamori_spool_close(sp);
	pathf(path, "%s/notes.txt", f->dir);
	assert_int_equal(file_size(path), sizeof(junk));

	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	mamori_spool_stats(sp, &st);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.next_seq, seq + 1);
	mamori_spool_close(sp);
}

/* The sequence numbers handed out, in order; each must pass all before. */
struct issued {
	uint64_t v[4096];
	size_t n;
};

static void
issue(struct issued *is, uint64_t seq)
{
	assert_true(is->n < sizeof(is->v) / sizeof(is->v[0]));
	if (is->n > 0)
		assert_true(seq > is->v[is->n - 1]);
	is->v[is->n++] = seq;
}

/* Every LossEvent read must carry a number no append was given. */
static void
issue_losses(struct issued *is, struct mamori_spool *sp)
{
	struct seen_list l = {0};
	size_t i, j;

	read_all(sp, 0, &l);
	for (i = 0; i < l.n; i++) {
		if (!l.v[i].loss)
			continue;
		for (j = 0; j < is->n; j++)
			assert_true(is->v[j] != l.v[i].seq);
	}
	seen_free(&l);
}

static void
test_seq_never_repeats(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool *sp;
	struct issued *is = calloc(1, sizeof(*is));
	char path[TEST_PATH_MAX];
	uint64_t names[64], n, i;

	assert_non_null(is);
	/* Plain restarts. */
	for (n = 0; n < 3; n++) {
		assert_int_equal(mamori_spool_open(f->dir,
		    MAMORI_SPOOL_MAX_DEFAULT, &sp), 0);
		for (i = 0; i < 10; i++)
			issue(is, append_one(sp, (uint32_t)i, 60));
		mamori_spool_close(sp);
	}
	/* Torn tail: the last record, seen or not, keeps its number. */
	n = seg_names(f->dir, names, 64);
	seg_path(path, f->dir, names[n - 1]);
	assert_int_equal(truncate(path, (off_t)file_size(path) - 3), 0);
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	issue_losses(is, sp);
	for (i = 0; i < 10; i++)
		issue(is, append_one(sp, (uint32_t)i, 60));
	mamori_spool_close(sp);
	/* A spoiled middle. */
	n = seg_names(f->dir, names, 64);
	seg_path(path, f->dir, names[0]);
	flip_byte(path, file_size(path) / 2);
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	issue_losses(is, sp);
	for (i = 0; i < 10; i++)
		issue(is, append_one(sp, (uint32_t)i, 60));
	mamori_spool_close(sp);
	/* The last segment's header spoiled: the whole file unreadable. */
	n = seg_names(f->dir, names, 64);
	seg_path(path, f->dir, names[n - 1]);
	flip_byte(path, 0);
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	issue_losses(is, sp);
	issue(is, append_one(sp, 1, 60));
	mamori_spool_close(sp);
	/* Overflow, across restarts. */
	for (n = 0; n < 3; n++) {
		assert_int_equal(mamori_spool_open(f->dir, 2048, &sp), 0);
		for (i = 0; i < 30; i++)
			issue(is, append_one(sp, (uint32_t)i, 300));
		issue_losses(is, sp);
		mamori_spool_close(sp);
	}
	/* Everything acknowledged and deleted. */
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	issue(is, append_one(sp, 1, 60));
	assert_int_equal(mamori_spool_ack(sp, is->v[is->n - 1]), 0);
	mamori_spool_close(sp);
	assert_int_equal(seg_names(f->dir, names, 64), 0);
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	issue(is, append_one(sp, 1, 60));
	mamori_spool_close(sp);
	free(is);
}

/* A trickle of events, each acknowledged at once, keeps appending to one
 * segment file: no file is created and deleted per acknowledgement.  On
 * close, the fully acknowledged segment goes. */
static void
test_ack_keeps_open_segment(void **state)
{
	struct fixture *f = *state;
	struct mamori_spool *sp;
	uint64_t names[64], first = 0, seq, i;

	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	for (i = 0; i < 200; i++) {
		seq = append_one(sp, (uint32_t)i, 80);
		assert_int_equal(mamori_spool_sync(sp), 0);
		assert_int_equal(mamori_spool_ack(sp, seq), 0);
		assert_int_equal(seg_names(f->dir, names, 64), 1);
		if (i == 0)
			first = names[0];
		assert_int_equal(names[0], first);
	}
	mamori_spool_close(sp);
	assert_int_equal(seg_names(f->dir, names, 64), 0);
	/* Reopened: numbering continues, nothing acknowledged is resent. */
	assert_int_equal(mamori_spool_open(f->dir, MAMORI_SPOOL_MAX_DEFAULT,
	    &sp), 0);
	assert_int_equal(append_one(sp, 1, 80), 201);
	mamori_spool_close(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_decode),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ack_segments, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tiny_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flipped_while_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flipped_old_segment,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ack_keeps_open_segment,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_never_repeats, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
