/*
 * test_files.c - the file integrity source and its baseline codec.
 *
 * The source runs on the real event loop over a temporary directory given
 * as ctx->root, with "/w" (and a /home/ * /.ssh glob) as watched paths; each
 * test changes files, runs the loop for a bounded time, and checks exactly
 * the events that came: paths, actions, hashes before and after, modes and
 * owners.  The baseline tests stop the source, change files while it is
 * down, start it again and expect exactly those changes with while_down
 * set; a damaged baseline file must cost a log line and nothing else.
 * Tests touch only their own temporary directories.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/event.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "events/baseline.h"
#include "events/event.h"
#include "events/source.h"
#include "util.h"

/* Exported by files.c; the agent reaches it through its source table. */
extern const struct mamori_event_source mamori_source_files;

#define TEST_MAX_EVENTS 256
#define TEST_WAIT_MS 3000
#define TEST_QUIET_MS 150               /* after the last expected event */
#define TEST_TICK_MS 10
#define TEST_PATH_MAX 4096
#define TEST_LOG_MAX (64 * 1024)

#define A_CREATED MAMORI__FILE_EVENT__ACTION__CREATED
#define A_MODIFIED MAMORI__FILE_EVENT__ACTION__MODIFIED
#define A_DELETED MAMORI__FILE_EVENT__ACTION__DELETED
#define A_RENAMED MAMORI__FILE_EVENT__ACTION__RENAMED
#define A_PERMISSIONS MAMORI__FILE_EVENT__ACTION__PERMISSIONS
#define A_OWNER MAMORI__FILE_EVENT__ACTION__OWNER

struct sink {
	Mamori__Event *ev[TEST_MAX_EVENTS];
	size_t n;
};

struct fim_test {
	char dir[TEST_PATH_MAX];        /* the root */
	char state[TEST_PATH_MAX];
	const char *watch[4];
	size_t n_watch;
	uint64_t hash_max;
	struct mamori_source_options opt;
	struct mamori_source_ctx ctx;
	struct event_base *base;
	void *src;
	struct sink sink;
};

static int
sink_emit(void *arg, Mamori__Event *ev)
{
	struct sink *s = arg;

	if (s->n >= TEST_MAX_EVENTS) {
		mamori_event_free(ev);
		return MAMORI_ERR_TOO_LARGE;
	}
	s->ev[s->n++] = ev;
	return 0;
}

static void
sink_clear(struct sink *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		mamori_event_free(s->ev[i]);
	s->n = 0;
}

/* ---- files on disk ------------------------------------------------------- */

static void
pathf(const struct fim_test *t, char *out, const char *rel)
{
	assert_true((size_t)snprintf(out, TEST_PATH_MAX, "%s%s", t->dir,
	    rel) < TEST_PATH_MAX);
}

static void
put(const struct fim_test *t, const char *rel, const char *text)
{
	char p[TEST_PATH_MAX];
	size_t n = strlen(text);
	int fd;

	pathf(t, p, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void
mk(const struct fim_test *t, const char *rel)
{
	char p[TEST_PATH_MAX];

	pathf(t, p, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void
mv(const struct fim_test *t, const char *from, const char *to)
{
	char a[TEST_PATH_MAX], b[TEST_PATH_MAX];

	pathf(t, a, from);
	pathf(t, b, to);
	assert_int_equal(rename(a, b), 0);
}

static void
rm(const struct fim_test *t, const char *rel)
{
	char p[TEST_PATH_MAX];

	pathf(t, p, rel);
	assert_int_equal(unlink(p), 0);
}

static void
mode(const struct fim_test *t, const char *rel, mode_t m)
{
	char p[TEST_PATH_MAX];

	pathf(t, p, rel);
	assert_int_equal(chmod(p, m), 0);
}

static void
sha_hex(const char *text, char out[2 * MAMORI_SHA256_LEN + 1])
{
	uint8_t d[MAMORI_SHA256_LEN];

	mamori_sha256(text, strlen(text), d);
	mamori_hex(d, sizeof(d), out);
}

/* ---- the source ---------------------------------------------------------- */

static void
fim_setup_dirs(struct fim_test *t)
{
	char p[TEST_PATH_MAX];

	memset(t, 0, sizeof(*t));
	umask(022);
	mamori_strlcpy(t->dir, "/tmp/mamori-fim-XXXXXX", sizeof(t->dir));
	assert_non_null(mkdtemp(t->dir));
	pathf(t, t->state, "/state");
	assert_int_equal(mkdir(t->state, 0700), 0);
	pathf(t, p, "/w");
	assert_int_equal(mkdir(p, 0755), 0);
	t->watch[0] = "/w";
	t->n_watch = 1;
}

static void
fim_start(struct fim_test *t)
{
	size_t i;

	memset(&t->opt, 0, sizeof(t->opt));
	for (i = 0; i < t->n_watch; i++)
		t->opt.watch[i] = t->watch[i];
	t->opt.n_watch = t->n_watch;
	t->opt.file_hash_max = t->hash_max;
	if (t->base == NULL)
		t->base = event_base_new();
	assert_non_null(t->base);
	t->ctx.base = t->base;
	t->ctx.root = t->dir;
	t->ctx.state_dir = t->state;
	t->ctx.opt = &t->opt;
	t->ctx.emit = sink_emit;
	t->ctx.sink = &t->sink;
	assert_int_equal(mamori_source_files.start(&t->ctx, &t->src), 0);
	assert_non_null(t->src);
}

static void
fim_stop(struct fim_test *t)
{
	mamori_source_files.stop(t->src);
	t->src = NULL;
}

/* Runs the loop until want events are in the sink (bounded), then for
 * TEST_QUIET_MS more so an extra event would be seen too. */
static void
run(struct fim_test *t, size_t want)
{
	struct timeval tick = {0, TEST_TICK_MS * 1000};
	int waited = 0;

	while (t->sink.n < want && waited < TEST_WAIT_MS) {
		event_base_loopexit(t->base, &tick);
		event_base_dispatch(t->base);
		waited += TEST_TICK_MS;
	}
	for (waited = 0; waited < TEST_QUIET_MS; waited += TEST_TICK_MS) {
		event_base_loopexit(t->base, &tick);
		event_base_dispatch(t->base);
	}
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes our own mkdtemp directory, without following links. */
static void
rm_tree(const char *path)
{
	assert_int_equal(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void
fim_teardown(struct fim_test *t)
{
	if (t->src != NULL)
		fim_stop(t);
	sink_clear(&t->sink);
	if (t->base != NULL)
		event_base_free(t->base);
	rm_tree(t->dir);
}

/* The event in the sink for path and action; fails the test if absent. */
static const Mamori__FileEvent *
find(const struct fim_test *t, Mamori__FileEvent__Action action,
    const char *path)
{
	size_t i;

	for (i = 0; i < t->sink.n; i++) {
		const Mamori__Event *ev = t->sink.ev[i];

		assert_int_equal(ev->body_case, MAMORI__EVENT__BODY_FILE);
		if (ev->file->action == action &&
		    strcmp(ev->file->path, path) == 0)
			return ev->file;
	}
	fail_msg("no event %d for %s among %zu", (int)action, path,
	    t->sink.n);
	return NULL;
}

static size_t
index_of(const struct fim_test *t, Mamori__FileEvent__Action action,
    const char *path)
{
	const Mamori__FileEvent *f = find(t, action, path);
	size_t i;

	for (i = 0; i < t->sink.n; i++)
		if (t->sink.ev[i]->file == f)
			return i;
	return SIZE_MAX;
}

static void
expect_n(struct fim_test *t, size_t n)
{
	size_t i;

	if (t->sink.n != n) {
		for (i = 0; i < t->sink.n; i++)
			print_message("event %zu: %d %s (old %s)\n", i,
			    (int)t->sink.ev[i]->file->action,
			    t->sink.ev[i]->file->path,
			    t->sink.ev[i]->file->old_path);
	}
	assert_int_equal(t->sink.n, n);
}

/* ---- live changes -------------------------------------------------------- */

static void
test_live(void **unused)
{
	struct fim_test t;
	const Mamori__FileEvent *f;
	char h1[65], h2[65], p[TEST_PATH_MAX];

	(void)unused;
	fim_setup_dirs(&t);
	fim_start(&t);
	run(&t, 0);
	expect_n(&t, 0);                /* first run: a baseline, no events */

	/* Create: one event with the final hash, however many writes. */
	put(&t, "/w/a.txt", "hello");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_CREATED, "/w/a.txt");
	sha_hex("hello", h1);
	assert_string_equal(f->sha256_after, h1);
	assert_string_equal(f->sha256_before, "");
	assert_int_equal(f->size, 5);
	assert_int_equal(f->mode, S_IFREG | 0644);
	assert_false(f->while_down);
	sink_clear(&t.sink);

	/* Modify: before and after. */
	put(&t, "/w/a.txt", "hello world");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_MODIFIED, "/w/a.txt");
	sha_hex("hello world", h2);
	assert_string_equal(f->sha256_before, h1);
	assert_string_equal(f->sha256_after, h2);
	assert_int_equal(f->size, 11);
	sink_clear(&t.sink);

	/* Permissions. */
	mode(&t, "/w/a.txt", 0600);
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_PERMISSIONS, "/w/a.txt");
	assert_int_equal(f->mode & 07777, 0600);
	assert_int_equal(f->old_mode & 07777, 0644);
	assert_string_equal(f->sha256_after, h2);
	sink_clear(&t.sink);

	/* Owner (needs root, which the suite has). */
	if (geteuid() == 0) {
		pathf(&t, p, "/w/a.txt");
		assert_int_equal(chown(p, 1234, 5678), 0);
		run(&t, 1);
		expect_n(&t, 1);
		f = find(&t, A_OWNER, "/w/a.txt");
		assert_int_equal(f->uid, 1234);
		assert_int_equal(f->gid, 5678);
		assert_int_equal(f->old_uid, 0);
		assert_int_equal(f->old_gid, 0);
		sink_clear(&t.sink);
	}

	/* Rename: old and new path, the content unchanged. */
	mv(&t, "/w/a.txt", "/w/b.txt");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_RENAMED, "/w/b.txt");
	assert_string_equal(f->old_path, "/w/a.txt");
	assert_string_equal(f->sha256_before, h2);
	assert_string_equal(f->sha256_after, h2);
	sink_clear(&t.sink);

	/* Delete: what it was. */
	rm(&t, "/w/b.txt");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_DELETED, "/w/b.txt");
	assert_string_equal(f->sha256_before, h2);
	assert_string_equal(f->sha256_after, "");
	sink_clear(&t.sink);

	/* A new subdirectory is watched: a file in it is seen. */
	mk(&t, "/w/sub");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_CREATED, "/w/sub");
	assert_true(S_ISDIR(f->mode));
	sink_clear(&t.sink);
	put(&t, "/w/sub/c.txt", "c");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_CREATED, "/w/sub/c.txt");
	sha_hex("c", h1);
	assert_string_equal(f->sha256_after, h1);
	sink_clear(&t.sink);

	/* A directory renamed: its watch follows, under the new name. */
	mv(&t, "/w/sub", "/w/sub2");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_RENAMED, "/w/sub2");
	assert_string_equal(f->old_path, "/w/sub");
	sink_clear(&t.sink);
	put(&t, "/w/sub2/c.txt", "c2");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_MODIFIED, "/w/sub2/c.txt");
	assert_string_equal(f->sha256_before, h1);
	sink_clear(&t.sink);

	/* The atomic rewrite of a configuration file: temp, then rename
	 * over it.  The rename carries what the target held before. */
	put(&t, "/w/conf", "v1");
	run(&t, 1);
	expect_n(&t, 1);
	sink_clear(&t.sink);
	put(&t, "/w/conf.tmp", "v2");
	run(&t, 1);
	expect_n(&t, 1);
	(void)find(&t, A_CREATED, "/w/conf.tmp");
	sink_clear(&t.sink);
	mv(&t, "/w/conf.tmp", "/w/conf");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_RENAMED, "/w/conf");
	assert_string_equal(f->old_path, "/w/conf.tmp");
	sha_hex("v1", h1);
	sha_hex("v2", h2);
	assert_string_equal(f->sha256_before, h1);
	assert_string_equal(f->sha256_after, h2);
	sink_clear(&t.sink);
	/* The same, faster than the events are read: the temporary file is
	 * gone before its creation is seen, the rename is still whole. */
	put(&t, "/w/conf.tmp", "v3");
	mv(&t, "/w/conf.tmp", "/w/conf");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_RENAMED, "/w/conf");
	assert_string_equal(f->old_path, "/w/conf.tmp");
	sha_hex("v3", h1);
	assert_string_equal(f->sha256_before, h2);
	assert_string_equal(f->sha256_after, h1);
	sink_clear(&t.sink);

	/* A tree moved in from outside the watched paths, then out. */
	mk(&t, "/outside");
	mk(&t, "/outside/x");
	put(&t, "/outside/x/y", "y");
	run(&t, 0);
	expect_n(&t, 0);
	mv(&t, "/outside/x", "/w/x");
	run(&t, 2);
	expect_n(&t, 2);
	assert_true(index_of(&t, A_CREATED, "/w/x") <
	    index_of(&t, A_CREATED, "/w/x/y"));
	sink_clear(&t.sink);
	mv(&t, "/w/x", "/outside/x2");
	run(&t, 2);
	expect_n(&t, 2);
	(void)find(&t, A_DELETED, "/w/x/y");
	(void)find(&t, A_DELETED, "/w/x");
	sink_clear(&t.sink);
	/* Its old watch must be gone: nothing more from there. */
	put(&t, "/outside/x2/y", "changed");
	run(&t, 0);
	expect_n(&t, 0);

	/* A write in a file kept open is reported after the coalescing
	 * delay, once. */
	{
		int fd;

		pathf(&t, p, "/w/log");
		fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "1", 1), 1);
		assert_int_equal(write(fd, "2", 1), 1);
		run(&t, 1);
		expect_n(&t, 1);
		f = find(&t, A_CREATED, "/w/log");
		sha_hex("12", h1);
		assert_string_equal(f->sha256_after, h1);
		assert_int_equal(close(fd), 0);
		run(&t, 0);
		expect_n(&t, 1);        /* close: the content is unchanged */
		sink_clear(&t.sink);
	}

	fim_teardown(&t);
}

/* ---- the baseline -------------------------------------------------------- */

static void
test_while_down(void **unused)
{
	struct fim_test t;
	const Mamori__FileEvent *f;
	char h1[65], h2[65];
	size_t i;

	(void)unused;
	fim_setup_dirs(&t);
	put(&t, "/w/keep.txt", "keep");
	put(&t, "/w/mod.txt", "before");
	put(&t, "/w/del.txt", "gone soon");
	put(&t, "/w/perm.txt", "perm");
	mk(&t, "/w/sub");
	put(&t, "/w/sub/deep.txt", "deep");
	fim_start(&t);
	run(&t, 0);
	expect_n(&t, 0);
	fim_stop(&t);

	/* While the agent is down. */
	put(&t, "/w/mod.txt", "after!");
	rm(&t, "/w/del.txt");
	put(&t, "/w/new.txt", "new");
	mode(&t, "/w/perm.txt", 0600);

	fim_start(&t);
	expect_n(&t, 4);                /* reported by start itself */
	for (i = 0; i < t.sink.n; i++)
		assert_true(t.sink.ev[i]->file->while_down);
	f = find(&t, A_MODIFIED, "/w/mod.txt");
	sha_hex("before", h1);
	sha_hex("after!", h2);
	assert_string_equal(f->sha256_before, h1);
	assert_string_equal(f->sha256_after, h2);
	f = find(&t, A_DELETED, "/w/del.txt");
	sha_hex("gone soon", h1);
	assert_string_equal(f->sha256_before, h1);
	f = find(&t, A_CREATED, "/w/new.txt");
	sha_hex("new", h1);
	assert_string_equal(f->sha256_after, h1);
	f = find(&t, A_PERMISSIONS, "/w/perm.txt");
	assert_int_equal(f->old_mode & 07777, 0644);
	assert_int_equal(f->mode & 07777, 0600);
	run(&t, 4);
	expect_n(&t, 4);                /* and nothing after */
	sink_clear(&t.sink);
	fim_stop(&t);

	/* Nothing changed since: nothing reported. */
	fim_start(&t);
	run(&t, 0);
	expect_n(&t, 0);
	fim_teardown(&t);
}

static void
test_corrupt_baseline(void **unused)
{
	struct mamori_fim_table *tab = NULL;
	struct fim_test t;
	char p[TEST_PATH_MAX], *log;
	FILE *cap;
	int saved;
	size_t n;

	(void)unused;
	fim_setup_dirs(&t);
	put(&t, "/w/a.txt", "a");
	fim_start(&t);
	fim_stop(&t);
	pathf(&t, p, "/state/files.baseline");
	assert_int_equal(mamori_baseline_load(p, MAMORI_FIM_MAX_FILES, &tab),
	    0);
	assert_int_equal(mamori_fim_table_count(tab), 2);   /* /w, a.txt */
	mamori_fim_table_free(tab);

	/* Overwrite the middle of it. */
	{
		int fd = open(p, O_WRONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "garbage!", 8, 20), 8);
		assert_int_equal(close(fd), 0);
	}
	fflush(stderr);
	cap = tmpfile();
	assert_non_null(cap);
	saved = dup(2);
	assert_int_equal(dup2(fileno(cap), 2), 2);
	fim_start(&t);
	run(&t, 0);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	log = calloc(1, TEST_LOG_MAX + 1);
	assert_non_null(log);
	rewind(cap);
	n = fread(log, 1, TEST_LOG_MAX, cap);
	log[n] = '\0';
	fclose(cap);
	fputs(log, stderr);
	assert_non_null(strstr(log, "files.baseline is damaged"));
	free(log);
	expect_n(&t, 0);                /* no guesses from a damaged file */
	fim_stop(&t);

	/* A fresh, valid baseline replaced it. */
	assert_int_equal(mamori_baseline_load(p, MAMORI_FIM_MAX_FILES, &tab),
	    0);
	assert_int_equal(mamori_fim_table_count(tab), 2);
	mamori_fim_table_free(tab);

	/* A file that is not a baseline at all, and an empty one. */
	put(&t, "/state/files.baseline", "not a baseline");
	fim_start(&t);
	expect_n(&t, 0);
	fim_stop(&t);
	put(&t, "/state/files.baseline", "");
	fim_start(&t);
	expect_n(&t, 0);
	fim_teardown(&t);
}

/* ---- globs, missing paths, the hash limit --------------------------------- */

static void
test_glob_and_missing(void **unused)
{
	struct fim_test t;
	const Mamori__FileEvent *f;
	char h[65];

	(void)unused;
	fim_setup_dirs(&t);
	mk(&t, "/home");
	mk(&t, "/home/alice");
	mk(&t, "/home/alice/.ssh");
	put(&t, "/home/alice/.ssh/authorized_keys", "ssh-ed25519 AAAA a");
	mk(&t, "/home/bob");
	t.watch[0] = "/home/*/.ssh";
	t.watch[1] = "/missing/later";
	t.n_watch = 2;
	fim_start(&t);
	run(&t, 0);
	expect_n(&t, 0);

	put(&t, "/home/alice/.ssh/authorized_keys", "ssh-ed25519 BBBB evil");
	run(&t, 1);
	expect_n(&t, 1);
	f = find(&t, A_MODIFIED, "/home/alice/.ssh/authorized_keys");
	sha_hex("ssh-ed25519 BBBB evil", h);
	assert_string_equal(f->sha256_after, h);
	sink_clear(&t.sink);

	/* bob had no .ssh: its creation is seen, and what goes in it. */
	mk(&t, "/home/bob/.ssh");
	run(&t, 1);
	expect_n(&t, 1);
	(void)find(&t, A_CREATED, "/home/bob/.ssh");
	sink_clear(&t.sink);
	put(&t, "/home/bob/.ssh/authorized_keys", "k");
	run(&t, 1);
	expect_n(&t, 1);
	(void)find(&t, A_CREATED, "/home/bob/.ssh/authorized_keys");
	sink_clear(&t.sink);

	/* Files next to a watched path are not watched. */
	put(&t, "/home/bob/.profile", "x");
	run(&t, 0);
	expect_n(&t, 0);

	/* The hash limit: a file past it has no hash, a smaller one has. */
	fim_stop(&t);
	t.hash_max = 4;
	fim_start(&t);
	expect_n(&t, 0);
	put(&t, "/home/bob/.ssh/big", "0123456789");
	put(&t, "/home/bob/.ssh/small", "0123");
	run(&t, 2);
	expect_n(&t, 2);
	f = find(&t, A_CREATED, "/home/bob/.ssh/big");
	assert_string_equal(f->sha256_after, "");
	assert_int_equal(f->size, 10);
	f = find(&t, A_CREATED, "/home/bob/.ssh/small");
	sha_hex("0123", h);
	assert_string_equal(f->sha256_after, h);
	fim_teardown(&t);
}

/* ---- the codec ----------------------------------------------------------- */

static void
reseal(struct mamori_buf *b)
{
	mamori_sha256(b->data, b->len - MAMORI_SHA256_LEN,
	    b->data + b->len - MAMORI_SHA256_LEN);
}

static void
test_codec(void **unused)
{
	struct mamori_fim_table *t, *u = NULL;
	struct mamori_fim_entry e, *g;
	struct mamori_fim_iter it;
	struct mamori_buf b;
	char path[64];
	size_t i, seen = 0;

	(void)unused;
	t = mamori_fim_table_new(1000);
	assert_non_null(t);
	memset(&e, 0, sizeof(e));
	for (i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/etc/f%zu", i);
		e.mode = S_IFREG | 0644;
		e.uid = (uint32_t)i;
		e.size = i * 10;
		e.mtime_ns = 1700000000000000000ULL + i;
		e.has_sha256 = (i % 2) == 0;
		memset(e.sha256, (int)(i & 0xff), sizeof(e.sha256));
		assert_int_equal(mamori_fim_table_put(t, path, &e), 0);
	}
	assert_int_equal(mamori_fim_table_count(t), 300);
	/* Replacing keeps the count. */
	e.uid = 77;
	assert_int_equal(mamori_fim_table_put(t, "/etc/f5", &e), 0);
	assert_int_equal(mamori_fim_table_count(t), 300);
	assert_int_equal(mamori_fim_table_get(t, "/etc/f5")->uid, 77);
	assert_int_equal(mamori_fim_table_del(t, "/etc/f6"), 0);
	assert_int_equal(mamori_fim_table_del(t, "/etc/f6"),
	    MAMORI_ERR_NOT_FOUND);
	assert_null(mamori_fim_table_get(t, "/etc/f6"));
	/* Deleting the entry just returned while iterating is allowed. */
	mamori_fim_iter_init(t, &it);
	while ((g = mamori_fim_iter_next(t, &it)) != NULL) {
		seen++;
		if (strcmp(g->path, "/etc/f7") == 0)
			assert_int_equal(mamori_fim_table_del(t, g->path), 0);
	}
	assert_int_equal(seen, 299);
	assert_int_equal(mamori_fim_table_count(t), 298);

	mamori_buf_init(&b, MAMORI_BASELINE_FILE_MAX);
	assert_int_equal(mamori_baseline_encode(t, &b), 0);
	assert_int_equal(mamori_baseline_decode(b.data, b.len, 1000, &u), 0);
	assert_int_equal(mamori_fim_table_count(u), 298);
	g = mamori_fim_table_get(u, "/etc/f8");
	assert_non_null(g);
	assert_int_equal(g->uid, 8);
	assert_int_equal(g->size, 80);
	assert_true(g->has_sha256);
	assert_int_equal(g->sha256[0], 8);
	g = mamori_fim_table_get(u, "/etc/f9");
	assert_false(g->has_sha256);
	mamori_fim_table_free(u);
	/* Over the caller's limit. */
	assert_int_equal(mamori_baseline_decode(b.data, b.len, 10, &u),
	    MAMORI_ERR_TOO_LARGE);
	assert_null(u);

	/* A flipped bit anywhere: the checksum refuses it. */
	b.data[30] ^= 1;
	assert_int_equal(mamori_baseline_decode(b.data, b.len, 1000, &u),
	    MAMORI_ERR_CHECKSUM);
	b.data[30] ^= 1;
	/* Cut short. */
	assert_int_equal(mamori_baseline_decode(b.data, b.len - 1, 1000, &u),
	    MAMORI_ERR_CHECKSUM);
	assert_int_equal(mamori_baseline_decode(b.data, 10, 1000, &u),
	    MAMORI_ERR_TRUNCATED);
	/* Another version, correctly summed. */
	b.data[7] = 2;
	reseal(&b);
	assert_int_equal(mamori_baseline_decode(b.data, b.len, 1000, &u),
	    MAMORI_ERR_BAD_VERSION);
	b.data[7] = 1;
	/* A count one short: bytes left over. */
	b.data[11]--;
	reseal(&b);
	assert_int_equal(mamori_baseline_decode(b.data, b.len, 1000, &u),
	    MAMORI_ERR_TRAILING);
	b.data[11]++;
	/* A count one too many: truncated. */
	b.data[11]++;
	reseal(&b);
	assert_int_equal(mamori_baseline_decode(b.data, b.len, 1000, &u),
	    MAMORI_ERR_TRUNCATED);
	b.data[11]--;
	reseal(&b);
	assert_int_equal(mamori_baseline_decode(b.data, b.len, 1000, &u), 0);
	mamori_fim_table_free(u);
	mamori_buf_free(&b);

	/* Hand-made files: a repeated path, a relative path, unknown flags,
	 * a record with a byte past its fields. */
	{
		static const uint8_t rec[] = {
		    0, 0, 0, 0,                 /* record length, set below */
		    0, 2, '/', 'a',             /* path */
		    0, 0, 0x81, 0xa4, 0, 0, 0, 0, 0, 0, 0, 0,
		    0, 0, 0, 0, 0, 0, 0, 1,     /* size */
		    0, 0, 0, 0, 0, 0, 0, 2,     /* mtime */
		    0,                          /* flags */
		};
		uint8_t one[4 + 4 + 4 + 2 * sizeof(rec) + 1 +
		    MAMORI_SHA256_LEN];
		size_t n;

		n = sizeof(rec) - 4;
		assert_int_equal(n, 2 + 2 + 12 + 16 + 1);
		memcpy(one, "MFIM\0\0\0\1\0\0\0\2", 12);
		memcpy(one + 12, rec, sizeof(rec));
		one[12 + 3] = (uint8_t)n;
		memcpy(one + 12 + sizeof(rec), rec, sizeof(rec));
		one[12 + sizeof(rec) + 3] = (uint8_t)n;
		n = 12 + 2 * sizeof(rec);
		mamori_sha256(one, n, one + n);
		assert_int_equal(mamori_baseline_decode(one, n +
		    MAMORI_SHA256_LEN, 1000, &u), MAMORI_ERR_BAD_MESSAGE);
		/* Only one record: fine. */
		one[11] = 1;
		n = 12 + sizeof(rec);
		mamori_sha256(one, n, one + n);
		assert_int_equal(mamori_baseline_decode(one, n +
		    MAMORI_SHA256_LEN, 1000, &u), 0);
		assert_int_equal(mamori_fim_table_get(u, "/a")->size, 1);
		mamori_fim_table_free(u);
		/* Relative path. */
		one[12 + 6] = 'a';
		mamori_sha256(one, n, one + n);
		assert_int_equal(mamori_baseline_decode(one, n +
		    MAMORI_SHA256_LEN, 1000, &u), MAMORI_ERR_BAD_STRING);
		one[12 + 6] = '/';
		/* Unknown flag. */
		one[n - 1] = 0x80;
		mamori_sha256(one, n, one + n);
		assert_int_equal(mamori_baseline_decode(one, n +
		    MAMORI_SHA256_LEN, 1000, &u), MAMORI_ERR_BAD_MESSAGE);
		one[n - 1] = 0;
		/* A byte past the fields, inside the record. */
		one[12 + 3] = (uint8_t)(sizeof(rec) - 4 + 1);
		one[n] = 0;
		mamori_sha256(one, n + 1, one + n + 1);
		assert_int_equal(mamori_baseline_decode(one, n + 1 +
		    MAMORI_SHA256_LEN, 1000, &u), MAMORI_ERR_TRAILING);
	}
	mamori_fim_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_while_down),
		cmocka_unit_test(test_corrupt_baseline),
		cmocka_unit_test(test_glob_and_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
