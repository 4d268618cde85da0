/*
 * test_yara_policy.c - unit tests for the agent's YARA rules from the
 * fleet policy (src/agent/yara_policy.c): sets that do not compile are
 * skipped and said, the others apply, each in its own namespace; only
 * regular executables are scanned, never through a link; the event's hash
 * is of the bytes scanned; a generation held by a scan outlives the policy
 * that replaced it; the scanner thread hands events to the loop.
 *
 * Uses the JPCERT/CC Tick rules from ../shared/corpora/yara as they are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "event.h"
#include "util.h"
#include "yara_policy.h"

#define MARKER_RULE \
	"rule mamori_marker : test {\n" \
	"  meta:\n" \
	"    severity = \"medium\"\n" \
	"  strings:\n" \
	"    $m = \"MAMORI-YARA-MARKER-7f3a\"\n" \
	"  condition:\n" \
	"    $m\n" \
	"}\n"
#define MARKER_TEXT "#!/bin/sh\n# MAMORI-YARA-MARKER-7f3a\nexit 0\n"

struct fx {
	char dir[64];
	struct mamori_buf tick;
	struct mamori_agent_yara *y;
	Mamori__PolicyYaraSet set[4];
	Mamori__PolicyYaraSet *sets[4];
	char skipped[4][64];
	size_t n_skipped;
};

static int
setup(void **ctx)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[256];
	size_t i;

	assert_non_null(f);
	mamori_strlcpy(f->dir, "/tmp/mamori-yarapol-XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	mamori_buf_init(&f->tick, 1024 * 1024);
	snprintf(path, sizeof(path), "%s/yara/jpcert-tick.yara", CORPORA);
	assert_int_equal(mamori_buf_read_file(&f->tick, path), 0);
	assert_int_equal(mamori_buf_append(&f->tick, "", 1), 0);
	for (i = 0; i < 4; i++) {
		mamori__policy_yara_set__init(&f->set[i]);
		f->sets[i] = &f->set[i];
	}
	*ctx = f;
	return 0;
}

static const char *const fx_files[] = {"marker", "marker.txt", "link",
    "plain", "big", NULL};

static int
teardown(void **ctx)
{
	struct fx *f = *ctx;
	char path[256];
	size_t i;

	mamori_agent_yara_free(f->y);
	/* Only the files these tests make, in their own directory. */
	for (i = 0; fx_files[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, fx_files[i]);
		unlink(path);
	}
	rmdir(f->dir);
	mamori_buf_free(&f->tick);
	free(f);
	return 0;
}

static void
on_skip(void *ctx, const char *set, const char *why)
{
	struct fx *f = ctx;

	assert_true(why[0] != '\0');
	assert_true(f->n_skipped < 4);
	mamori_strlcpy(f->skipped[f->n_skipped++], set, 64);
}

static void
write_exec(struct fx *f, const char *name, const char *text, mode_t mode,
    char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", f->dir, name);
	unlink(out);
	assert_int_equal(mamori_file_write(out, text, strlen(text), 0600, 0),
	    0);
	assert_int_equal(chmod(out, mode), 0);
}

static void
events_free(Mamori__Event **evs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mamori_event_free(evs[i]);
	free(evs);
}

/* Marker, Tick and a broken set: the broken one is skipped and said, the
 * other two apply. */
static void
apply_three(struct fx *f)
{
	size_t applied = 99;

	f->set[0].name = "marker.yar";
	f->set[0].source = MARKER_RULE;
	f->set[1].name = "broken.yar";
	f->set[1].source = "rule broken { condition: nope }";
	f->set[2].name = "jpcert-tick.yara";
	f->set[2].source = (char *)f->tick.data;
	assert_int_equal(mamori_agent_yara_apply(f->y, f->sets, 3, on_skip, f,
	    &applied), 0);
	assert_int_equal(applied, 2);
	assert_int_equal(f->n_skipped, 1);
	assert_string_equal(f->skipped[0], "broken.yar");
	/* 1 marker + the 17 Tick rules */
	assert_int_equal(mamori_agent_yara_rule_count(f->y), 18);
}

static void
test_apply_and_scan(void **ctx)
{
	struct fx *f = *ctx;
	Mamori__Event **evs = NULL;
	char path[256], link_path[256], hex[65];
	uint8_t digest[MAMORI_SHA256_LEN];
	size_t n = 0;

	assert_int_equal(mamori_agent_yara_new(NULL, NULL, NULL, &f->y), 0);
	/* No rules: nothing to do, nothing queued. */
	write_exec(f, "marker", MARKER_TEXT, 0755, path, sizeof(path));
	assert_int_equal(mamori_agent_yara_scan_file(f->y, path, "/usr/bin/m",
	    &evs, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(mamori_agent_yara_submit(f->y, path, "/usr/bin/m"),
	    0);
	apply_three(f);
	assert_int_equal(mamori_agent_yara_scan_file(f->y, path,
	    "/usr/local/bin/m", &evs, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(evs[0]->body_case, MAMORI__EVENT__BODY_YARA);
	assert_string_equal(evs[0]->yara->rule, "mamori_marker");
	assert_string_equal(evs[0]->yara->set, "marker.yar");
	assert_string_equal(evs[0]->yara->namespace_, "marker.yar");
	assert_string_equal(evs[0]->yara->path, "/usr/local/bin/m");
	assert_string_equal(evs[0]->yara->severity, "medium");
	assert_int_equal(evs[0]->yara->n_tags, 1);
	assert_string_equal(evs[0]->yara->tags[0], "test");
	assert_int_equal(evs[0]->yara->size, strlen(MARKER_TEXT));
	mamori_sha256(MARKER_TEXT, strlen(MARKER_TEXT), digest);
	mamori_hex(digest, sizeof(digest), hex);
	assert_string_equal(evs[0]->yara->sha256, hex);
	events_free(evs, n);
	/* Not executable: not scanned. */
	write_exec(f, "marker.txt", MARKER_TEXT, 0644, path, sizeof(path));
	assert_int_equal(mamori_agent_yara_scan_file(f->y, path, "/x", &evs,
	    &n), MAMORI_ERR_NOT_REGULAR);
	assert_int_equal(n, 0);
	/* A link to an executable is never followed. */
	snprintf(path, sizeof(path), "%s/marker", f->dir);
	snprintf(link_path, sizeof(link_path), "%s/link", f->dir);
	unlink(link_path);
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_equal(mamori_agent_yara_scan_file(f->y, link_path, "/x",
	    &evs, &n), MAMORI_ERR_NOT_REGULAR);
	/* A directory is not a file to scan; a missing file is said. */
	assert_int_equal(mamori_agent_yara_scan_file(f->y, f->dir, "/x",
	    &evs, &n), MAMORI_ERR_NOT_REGULAR);
	snprintf(path, sizeof(path), "%s/gone", f->dir);
	assert_int_equal(mamori_agent_yara_scan_file(f->y, path, "/x", &evs,
	    &n), MAMORI_ERR_NOT_FOUND);
	/* An executable without the marker: no event. */
	write_exec(f, "plain", "#!/bin/sh\nexit 0\n", 0700, path,
	    sizeof(path));
	assert_int_equal(mamori_agent_yara_scan_file(f->y, path, "/x", &evs,
	    &n), 0);
	assert_int_equal(n, 0);
}

/* The same rule name in two sets: both compile together, in their own
 * namespaces, and a file matching both says each set. */
static void
test_namespaces(void **ctx)
{
	struct fx *f = *ctx;
	Mamori__Event **evs = NULL;
	char path[256];
	size_t applied = 0, n = 0;

	assert_int_equal(mamori_agent_yara_new(NULL, NULL, NULL, &f->y), 0);
	f->set[0].name = "a.yar";
	f->set[0].source = MARKER_RULE;
	f->set[1].name = "b.yar";
	f->set[1].source = MARKER_RULE;
	assert_int_equal(mamori_agent_yara_apply(f->y, f->sets, 2, on_skip, f,
	    &applied), 0);
	assert_int_equal(applied, 2);
	assert_int_equal(f->n_skipped, 0);
	write_exec(f, "marker", MARKER_TEXT, 0755, path, sizeof(path));
	assert_int_equal(mamori_agent_yara_scan_file(f->y, path, "/m", &evs,
	    &n), 0);
	assert_int_equal(n, 2);
	assert_string_not_equal(evs[0]->yara->set, evs[1]->yara->set);
	assert_string_equal(evs[0]->yara->rule, evs[1]->yara->rule);
	events_free(evs, n);
	/* Every set broken: nothing in force, each said. */
	f->set[0].source = "rule";
	f->set[1].source = "rule x {";
	assert_int_equal(mamori_agent_yara_apply(f->y, f->sets, 2, on_skip, f,
	    &applied), 0);
	assert_int_equal(applied, 0);
	assert_int_equal(f->n_skipped, 2);
	assert_int_equal(mamori_agent_yara_rule_count(f->y), 0);
}

/* A scan's generation stays valid after a new policy replaced it. */
static void
test_generation_held(void **ctx)
{
	struct fx *f = *ctx;
	struct mamori_yara_generation *g = NULL, *g2 = NULL;
	const mamori_yara_rules_t *rules;
	struct mamori_yara_result res;
	size_t applied;

	assert_int_equal(mamori_agent_yara_new(NULL, NULL, NULL, &f->y), 0);
	assert_null(mamori_agent_yara_hold(f->y, &g));
	assert_null(g);
	f->set[0].name = "marker.yar";
	f->set[0].source = MARKER_RULE;
	assert_int_equal(mamori_agent_yara_apply(f->y, f->sets, 1, NULL, NULL,
	    &applied), 0);
	rules = mamori_agent_yara_hold(f->y, &g);
	assert_non_null(rules);
	/* The policy now has no sets. */
	assert_int_equal(mamori_agent_yara_apply(f->y, f->sets, 0, NULL, NULL,
	    &applied), 0);
	assert_int_equal(applied, 0);
	assert_null(mamori_agent_yara_hold(f->y, &g2));
	memset(&res, 0, sizeof(res));
	assert_int_equal(mamori_yara_scan_mem(rules, MARKER_TEXT,
	    strlen(MARKER_TEXT), NULL, &res), 0);
	assert_int_equal(res.n, 1);
	mamori_yara_result_free(&res);
	mamori_agent_yara_release(g);
	mamori_agent_yara_release(NULL);
}

struct loop_ctx {
	struct event_base *base;
	Mamori__Event *got;
	size_t n;
};

static int
loop_emit(void *ctx, Mamori__Event *ev)
{
	struct loop_ctx *l = ctx;

	l->n++;
	if (l->got == NULL)
		l->got = ev;
	else
		mamori_event_free(ev);
	event_base_loopbreak(l->base);
	return 0;
}

/* Through the scanner thread: submitted on the loop, emitted on it. */
static void
test_scanner_thread(void **ctx)
{
	struct fx *f = *ctx;
	struct loop_ctx l;
	struct mamori_agent_yara_stats st;
	struct timeval tv = {10, 0};
	char path[256];
	size_t applied;

	memset(&l, 0, sizeof(l));
	assert_non_null(l.base = event_base_new());
	assert_int_equal(mamori_agent_yara_new(l.base, loop_emit, &l, &f->y),
	    0);
	apply_three(f);
	(void)applied;
	write_exec(f, "marker", MARKER_TEXT, 0755, path, sizeof(path));
	assert_int_equal(mamori_agent_yara_submit(f->y, path,
	    "/usr/local/bin/marker"), 1);
	assert_int_equal(event_base_loopexit(l.base, &tv), 0);
	assert_int_equal(event_base_dispatch(l.base), 0);
	assert_int_equal(l.n, 1);
	assert_non_null(l.got);
	assert_string_equal(l.got->yara->rule, "mamori_marker");
	assert_string_equal(l.got->yara->path, "/usr/local/bin/marker");
	mamori_event_free(l.got);
	mamori_agent_yara_stats(f->y, &st);
	assert_int_equal(st.matched, 1);
	assert_int_equal(st.scanned, 1);
	assert_int_equal(st.dropped, 0);
	mamori_agent_yara_free(f->y);
	f->y = NULL;
	event_base_free(l.base);
}

/* Past the size cap: refused before anything is read. */
static void
test_too_large(void **ctx)
{
	struct fx *f = *ctx;
	Mamori__Event **evs = NULL;
	char path[256];
	size_t n = 0;
	FILE *fp;

	assert_int_equal(mamori_agent_yara_new(NULL, NULL, NULL, &f->y), 0);
	f->set[0].name = "marker.yar";
	f->set[0].source = MARKER_RULE;
	assert_int_equal(mamori_agent_yara_apply(f->y, f->sets, 1, NULL, NULL,
	    NULL), 0);
	snprintf(path, sizeof(path), "%s/big", f->dir);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(ftruncate(fileno(fp),
	    (off_t)MAMORI_AGENT_YARA_FILE_MAX + 1), 0);
	fclose(fp);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(mamori_agent_yara_scan_file(f->y, path, "/big", &evs,
	    &n), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(n, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_apply_and_scan),
		T(test_namespaces),
		T(test_generation_held),
		T(test_scanner_thread),
		T(test_too_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
