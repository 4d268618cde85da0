/*
 * test_yara.c - unit tests for the libyara wrapper (src/detect/yara).
 *
 * Compiling: errors come back with their source name and line, include is
 * refused, NUL bytes and oversized text are refused, duplicate rules across
 * sources are caught.  Metadata: names, tags and meta of every type.
 * Scanning: a buffer and a file match with string offsets; the size cap;
 * a directory, a symbolic link and a FIFO are refused without blocking;
 * result caps hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "util.h"
#include "yara_rules.h"

static const char good_rules[] =
    "rule alpha : tagone tagtwo {\n"
    "  meta:\n"
    "    description = \"finds alpha\"\n"
    "    author = \"mamori tests\"\n"
    "    score = 75\n"
    "    active = true\n"
    "  strings:\n"
    "    $a = \"ALPHA-MARKER\"\n"
    "    $w = \"wide-one\" wide\n"
    "  condition:\n"
    "    $a or $w\n"
    "}\n"
    "\n"
    "rule beta {\n"
    "  strings:\n"
    "    $h = { 4D 5A ?? 00 [2-4] FF }\n"
    "  condition:\n"
    "    $h at 0\n"
    "}\n";

static int
setup(void **state)
{
	(void)state;
	return mamori_yara_init();
}

static int
teardown(void **state)
{
	(void)state;
	mamori_yara_finish();
	return 0;
}

static mamori_yara_rules_t *
compile_one(const char *text)
{
	struct mamori_yara_source src = {"test.yar", text, strlen(text)};
	struct mamori_yara_messages msgs;
	mamori_yara_rules_t *rules = NULL;

	assert_int_equal(mamori_yara_compile(&src, 1, &rules, &msgs), 0);
	assert_int_equal(msgs.errors, 0);
	mamori_yara_messages_free(&msgs);
	assert_non_null(rules);
	return rules;
}

/* The first error (not warning) of msgs. */
static const struct mamori_yara_message *
first_error(const struct mamori_yara_messages *msgs)
{
	size_t i;

	for (i = 0; i < msgs->n; i++)
		if (!msgs->items[i].is_warning)
			return &msgs->items[i];
	fail_msg("no error among %zu messages", msgs->n);
	return NULL;
}

static void
test_compile_error_line(void **state)
{
	static const char bad[] =
	    "rule ok { condition: true }\n"
	    "\n"
	    "rule broken {\n"
	    "  strings:\n"
	    "    $a = \"x\"\n"
	    "  condition:\n"
	    "    $a and\n"
	    "    nosuch\n"
	    "}\n";
	struct mamori_yara_source src = {"bad.yar", bad, sizeof(bad) - 1};
	struct mamori_yara_messages msgs;
	const struct mamori_yara_message *e;
	mamori_yara_rules_t *rules = (mamori_yara_rules_t *)&msgs;

	(void)state;
	assert_int_equal(mamori_yara_compile(&src, 1, &rules, &msgs),
	    MAMORI_ERR_YARA_COMPILE);
	assert_null(rules);
	assert_int_equal(msgs.errors, 1);
	/* The one-byte string is worth a warning at its own line. */
	assert_int_equal(msgs.n, 2);
	assert_true(msgs.items[0].is_warning);
	assert_int_equal(msgs.items[0].line, 5);
	e = first_error(&msgs);
	assert_string_equal(e->source, "bad.yar");
	assert_int_equal(e->line, 8);
	assert_non_null(strstr(e->text, "nosuch"));
	mamori_yara_messages_free(&msgs);
	assert_int_equal(msgs.n, 0);
	mamori_yara_messages_free(NULL);
}

static void
test_compile_second_source_named(void **state)
{
	static const char one[] = "rule one { condition: true }\n";
	static const char two[] = "\nrule two { condition: tru }\n";
	struct mamori_yara_source src[2] = {
		{"one.yar", one, sizeof(one) - 1},
		{"two.yar", two, sizeof(two) - 1},
	};
	struct mamori_yara_messages msgs;
	mamori_yara_rules_t *rules = NULL;

	(void)state;
	assert_int_equal(mamori_yara_compile(src, 2, &rules, &msgs),
	    MAMORI_ERR_YARA_COMPILE);
	assert_null(rules);
	assert_string_equal(first_error(&msgs)->source, "two.yar");
	assert_int_equal(first_error(&msgs)->line, 2);
	mamori_yara_messages_free(&msgs);
}

static void
test_compile_duplicate_across_sources(void **state)
{
	static const char one[] = "rule same { condition: true }\n";
	struct mamori_yara_source src[2] = {
		{"a.yar", one, sizeof(one) - 1},
		{"b.yar", one, sizeof(one) - 1},
	};
	struct mamori_yara_messages msgs;
	mamori_yara_rules_t *rules = NULL;

	(void)state;
	assert_int_equal(mamori_yara_compile(src, 2, &rules, &msgs),
	    MAMORI_ERR_YARA_COMPILE);
	assert_string_equal(first_error(&msgs)->source, "b.yar");
	assert_non_null(strstr(first_error(&msgs)->text, "duplicated"));
	mamori_yara_messages_free(&msgs);
}

static void
test_compile_refuses_include(void **state)
{
	static const char inc[] = "include \"/etc/passwd\"\n"
	    "rule x { condition: true }\n";
	struct mamori_yara_source src = {"inc.yar", inc, sizeof(inc) - 1};
	struct mamori_yara_messages msgs;
	mamori_yara_rules_t *rules = NULL;

	(void)state;
	assert_int_equal(mamori_yara_compile(&src, 1, &rules, &msgs),
	    MAMORI_ERR_YARA_COMPILE);
	assert_null(rules);
	assert_non_null(strstr(first_error(&msgs)->text,
	    "include is not allowed"));
	mamori_yara_messages_free(&msgs);
}

static void
test_compile_refuses_nul_and_size(void **state)
{
	static const char nul[] = "rule x { condition: true }\0junk";
	struct mamori_yara_source src = {"nul.yar", nul, sizeof(nul) - 1};
	struct mamori_yara_messages msgs;
	mamori_yara_rules_t *rules = NULL;
	char *big;
	size_t i;

	(void)state;
	assert_int_equal(mamori_yara_compile(&src, 1, &rules, &msgs),
	    MAMORI_ERR_BAD_STRING);
	assert_int_equal(msgs.errors, 1);
	mamori_yara_messages_free(&msgs);

	big = malloc(MAMORI_YARA_SOURCE_MAX + 1);
	assert_non_null(big);
	for (i = 0; i < MAMORI_YARA_SOURCE_MAX + 1; i++)
		big[i] = (i % 64 == 63) ? '\n' : ' ';
	src.name = "big.yar";
	src.text = big;
	src.len = MAMORI_YARA_SOURCE_MAX + 1;
	assert_int_equal(mamori_yara_compile(&src, 1, &rules, &msgs),
	    MAMORI_ERR_TOO_LARGE);
	assert_null(rules);
	assert_non_null(strstr(msgs.items[0].text, "larger than"));
	mamori_yara_messages_free(&msgs);
	free(big);

	assert_int_equal(mamori_yara_compile(NULL, 0, &rules, NULL),
	    MAMORI_ERR_INVALID);
}

static void
test_rule_metadata(void **state)
{
	mamori_yara_rules_t *rules = compile_one(good_rules);
	struct mamori_yara_rule_info *infos;
	size_t n;

	(void)state;
	assert_int_equal(mamori_yara_rules_count(rules), 2);
	assert_int_equal(mamori_yara_rules_list(rules, &infos, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(infos[0].name, "alpha");
	assert_string_equal(infos[0].ns, "default");
	assert_int_equal(infos[0].ntags, 2);
	assert_string_equal(infos[0].tags[0], "tagone");
	assert_string_equal(infos[0].tags[1], "tagtwo");
	assert_int_equal(infos[0].nmeta, 4);
	assert_string_equal(mamori_yara_rule_meta(&infos[0], "description"),
	    "finds alpha");
	assert_string_equal(mamori_yara_rule_meta(&infos[0], "score"), "75");
	assert_string_equal(mamori_yara_rule_meta(&infos[0], "active"),
	    "true");
	assert_null(mamori_yara_rule_meta(&infos[0], "hash"));
	assert_string_equal(infos[1].name, "beta");
	assert_int_equal(infos[1].ntags, 0);
	assert_int_equal(infos[1].nmeta, 0);
	mamori_yara_rule_infos_free(infos, n);
	mamori_yara_rule_infos_free(NULL, 0);
	mamori_yara_rules_free(rules);
	mamori_yara_rules_free(NULL);
}

static void
test_scan_buffer(void **state)
{
	mamori_yara_rules_t *rules = compile_one(good_rules);
	struct mamori_yara_result res;
	struct mamori_yara_scan_options opts = {0, 0, 1};
	uint8_t buf[256];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "MZ\x90\x00\x01\x02\xff", 7);
	memcpy(buf + 100, "ALPHA-MARKER", 12);
	memcpy(buf + 200, "ALPHA-MARKER", 12);
	assert_int_equal(mamori_yara_scan_mem(rules, buf, sizeof(buf), &opts,
	    &res), 0);
	assert_int_equal(res.n, 2);
	assert_int_equal(res.scanned, sizeof(buf));
	assert_string_equal(res.matches[0].rule.name, "alpha");
	assert_int_equal(res.matches[0].nstrings, 2);
	assert_string_equal(res.matches[0].strings[0].identifier, "$a");
	assert_int_equal(res.matches[0].strings[0].offset, 100);
	assert_int_equal(res.matches[0].strings[0].length, 12);
	assert_int_equal(res.matches[0].strings[1].offset, 200);
	assert_string_equal(mamori_yara_rule_meta(&res.matches[0].rule,
	    "author"), "mamori tests");
	assert_string_equal(res.matches[1].rule.name, "beta");
	assert_int_equal(res.matches[1].strings[0].offset, 0);
	mamori_yara_result_free(&res);

	/* Nothing there: no match; empty buffer too. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(mamori_yara_scan_mem(rules, buf, sizeof(buf), NULL,
	    &res), 0);
	assert_int_equal(res.n, 0);
	mamori_yara_result_free(&res);
	assert_int_equal(mamori_yara_scan_mem(rules, NULL, 0, NULL, &res), 0);
	assert_int_equal(res.n, 0);
	mamori_yara_result_free(&res);

	/* Over the cap. */
	opts.file_max = 100;
	assert_int_equal(mamori_yara_scan_mem(rules, buf, sizeof(buf), &opts,
	    &res), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(res.n, 0);
	mamori_yara_rules_free(rules);
}

static void
test_scan_caps_strings(void **state)
{
	mamori_yara_rules_t *rules = compile_one(
	    "rule many { strings: $a = \"ZZ\" condition: #a > 10 }\n");
	struct mamori_yara_scan_options opts = {0, 0, 1};
	struct mamori_yara_result res;
	char buf[1000];

	(void)state;
	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(mamori_yara_scan_mem(rules, buf, sizeof(buf), &opts,
	    &res), 0);
	assert_int_equal(res.n, 1);
	assert_int_equal(res.matches[0].nstrings, MAMORI_YARA_STRINGS_MAX);
	assert_true(res.matches[0].strings_dropped > 0);
	mamori_yara_result_free(&res);
	mamori_yara_result_free(NULL);
	mamori_yara_rules_free(rules);
}

static void
test_scan_timeout(void **state)
{
	mamori_yara_rules_t *rules = compile_one(
	    "rule slow { condition: for any i in (0..0x7fffffffffffffff) : "
	    "( i == -1 ) }\n");
	struct mamori_yara_scan_options opts = {0, 1, 0};
	struct mamori_yara_result res;
	uint64_t t0 = mamori_monotonic_ms();

	(void)state;
	assert_int_equal(mamori_yara_scan_mem(rules, "abc", 3, &opts, &res),
	    MAMORI_ERR_TIMEOUT);
	assert_int_equal(res.n, 0);
	assert_true(mamori_monotonic_ms() - t0 < 10000);
	mamori_yara_rules_free(rules);
}

#define THREADS 4
#define THREAD_SCANS 50

struct thread_arg {
	const mamori_yara_rules_t *rules;
	int ok;
};

static void *
scan_thread(void *p)
{
	struct thread_arg *a = p;
	struct mamori_yara_result res;
	char buf[512];
	int i;

	memset(buf, '-', sizeof(buf));
	memcpy(buf + 300, "ALPHA-MARKER", 12);
	for (i = 0; i < THREAD_SCANS; i++) {
		if (mamori_yara_scan_mem(a->rules, buf, sizeof(buf), NULL,
		    &res) != 0 || res.n != 1 || res.matches[0].nstrings != 1 ||
		    res.matches[0].strings[0].offset != 300) {
			mamori_yara_result_free(&res);
			return NULL;
		}
		mamori_yara_result_free(&res);
	}
	a->ok = 1;
	return NULL;
}

/* One rule set, scanned from several threads at once. */
static void
test_scan_threads(void **state)
{
	mamori_yara_rules_t *rules = compile_one(good_rules);
	struct thread_arg args[THREADS];
	pthread_t t[THREADS];
	int i;

	(void)state;
	for (i = 0; i < THREADS; i++) {
		args[i].rules = rules;
		args[i].ok = 0;
		assert_int_equal(pthread_create(&t[i], NULL, scan_thread,
		    &args[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_true(args[i].ok);
	}
	mamori_yara_rules_free(rules);
}

/* A temporary directory holding the test's files. */
static void
make_dir(char *dir, size_t len)
{
	mamori_strlcpy(dir, "/tmp/mamori-test-yara.XXXXXX", len);
	assert_non_null(mkdtemp(dir));
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_scan_file_and_refusals(void **state)
{
	mamori_yara_rules_t *rules = compile_one(good_rules);
	struct mamori_yara_scan_options opts = {0, 0, 0};
	struct mamori_yara_result res;
	char dir[64], file[128], link[128], fifo[128], sub[128], big[128];
	uint8_t data[64];

	(void)state;
	make_dir(dir, sizeof(dir));
	snprintf(file, sizeof(file), "%s/sample", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(big, sizeof(big), "%s/big", dir);
	memset(data, '.', sizeof(data));
	memcpy(data + 10, "w\0i\0d\0e\0-\0o\0n\0e\0", 16);
	write_file(file, data, sizeof(data));
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(sub, 0700), 0);

	assert_int_equal(mamori_yara_scan_file(rules, file, &opts, &res), 0);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.matches[0].rule.name, "alpha");
	assert_string_equal(res.matches[0].strings[0].identifier, "$w");
	assert_int_equal(res.matches[0].strings[0].offset, 10);
	assert_int_equal(res.scanned, sizeof(data));
	mamori_yara_result_free(&res);

	/* A link to a matching file is refused, not followed. */
	assert_int_equal(mamori_yara_scan_file(rules, link, &opts, &res),
	    MAMORI_ERR_NOT_REGULAR);
	assert_int_equal(res.n, 0);
	/* A FIFO with no writer: refused at once, never blocks. */
	assert_int_equal(mamori_yara_scan_file(rules, fifo, &opts, &res),
	    MAMORI_ERR_NOT_REGULAR);
	assert_int_equal(mamori_yara_scan_file(rules, sub, &opts, &res),
	    MAMORI_ERR_NOT_REGULAR);
	assert_int_equal(mamori_yara_scan_file(rules, "/dev/null", &opts,
	    &res), MAMORI_ERR_NOT_REGULAR);
	snprintf(sub, sizeof(sub), "%s/missing", dir);
	assert_int_equal(mamori_yara_scan_file(rules, sub, &opts, &res),
	    MAMORI_ERR_NOT_FOUND);

	/* Size cap: a file one byte over is refused, at the cap is scanned. */
	opts.file_max = sizeof(data) - 1;
	assert_int_equal(mamori_yara_scan_file(rules, file, &opts, &res),
	    MAMORI_ERR_TOO_LARGE);
	opts.file_max = sizeof(data);
	assert_int_equal(mamori_yara_scan_file(rules, file, &opts, &res), 0);
	assert_int_equal(res.n, 1);
	mamori_yara_result_free(&res);
	/* The default cap refuses a (sparse) file past it. */
	{
		int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, (off_t)
		    MAMORI_YARA_FILE_MAX_DEFAULT + 1), 0);
		close(fd);
	}
	assert_int_equal(mamori_yara_scan_file(rules, big, NULL, &res),
	    MAMORI_ERR_TOO_LARGE);

	unlink(big);
	unlink(file);
	unlink(link);
	unlink(fifo);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	rmdir(sub);
	rmdir(dir);
	mamori_yara_rules_free(rules);
}

static void
test_init_is_counted(void **state)
{
	mamori_yara_rules_t *rules;

	(void)state;
	/* A second init and finish leave libyara usable (setup holds one). */
	assert_int_equal(mamori_yara_init(), 0);
	mamori_yara_finish();
	rules = compile_one("rule r { condition: filesize == 3 }\n");
	{
		struct mamori_yara_result res;

		assert_int_equal(mamori_yara_scan_mem(rules, "abc", 3, NULL,
		    &res), 0);
		assert_int_equal(res.n, 1);
		mamori_yara_result_free(&res);
	}
	mamori_yara_rules_free(rules);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_error_line),
		cmocka_unit_test(test_compile_second_source_named),
		cmocka_unit_test(test_compile_duplicate_across_sources),
		cmocka_unit_test(test_compile_refuses_include),
		cmocka_unit_test(test_compile_refuses_nul_and_size),
		cmocka_unit_test(test_rule_metadata),
		cmocka_unit_test(test_scan_buffer),
		cmocka_unit_test(test_scan_caps_strings),
		cmocka_unit_test(test_scan_timeout),
		cmocka_unit_test(test_scan_threads),
		cmocka_unit_test(test_scan_file_and_refusals),
		cmocka_unit_test(test_init_is_counted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
