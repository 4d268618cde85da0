/*
 * test_content.c - detection content added to and removed from a server
 * home (src/server/content.c): each kind checked by its engine before a
 * byte is stored, refusals leaving the home as it was, a failed reload
 * undoing the change, and what a new detector built from the home sees.
 * Uses the shared corpora (Sigma, STIX, YARA, OSV) as they are.
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

#include "admin.h"
#include "buf.h"
#include "content.h"
#include "detect.h"
#include "err.h"
#include "util.h"

#define MKFIFO_RULE CORPORA "/sigma/rules/linux/process_creation/" \
    "proc_creation_lnx_mkfifo_named_pipe_creation.yml"
#define MKFIFO_ID "9d779ce8-5256-4b13-8b6f-b91c602b43f4"
#define POISONIVY CORPORA "/stix/poisonivy.json"
#define POISONIVY_BUNDLE "bundle--ac946f1d-6a0e-4a9d-bc83-3f1f3bfda6ba"
#define POISONIVY_IND "indicator--e8094b09-7df4-4b13-b207-1e27af3c4bde"
#define TICK CORPORA "/yara/jpcert-tick.yara"
#define DSA CORPORA "/osv/DSA-3029-1.json"
#define TEST_FILE_MAX (16 * 1024 * 1024)

static const char two_rules[] =
    "title: One\n"
    "id: 11111111-1111-4111-8111-111111111111\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection:\n"
    "    selection:\n"
    "        CommandLine|contains: 'mamori-one'\n"
    "    condition: selection\n"
    "level: high\n"
    "---\n"
    "title: Two\n"
    "id: 22222222-2222-4222-8222-222222222222\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection:\n"
    "    selection:\n"
    "        Image|endswith: '/mamori-two'\n"
    "    condition: selection\n"
    "level: medium\n"
    "---\n";

/* The second rule uses a modifier the engine does not support. */
static const char one_bad[] =
    "title: Good\n"
    "id: 33333333-3333-4333-8333-333333333333\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {selection: {CommandLine|contains: x}, condition: selection}\n"
    "---\n"
    "title: Bad\n"
    "id: 44444444-4444-4444-8444-444444444444\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {selection: {CommandLine|utf16le|contains: x}, "
    "condition: selection}\n";

static const char no_id[] =
    "title: Nameless\n"
    "logsource: {product: linux, category: process_creation}\n"
    "detection: {selection: {CommandLine|contains: x}, condition: selection}\n";

struct fix {
	char home[64];
	char why[512];
	int reloads;
	int fail_reload;
	size_t sigma_loaded, indicators_loaded;
};

/* The server's reload: a new detector from the home, counted. */
static int
reload(void *arg, char *why, size_t whylen)
{
	struct fix *f = arg;
	struct mamori_detect *d = NULL;
	struct mamori_detect_stats st;
	int r;

	f->reloads++;
	if (f->fail_reload) {
		snprintf(why, whylen, "reload refused by the test");
		return MAMORI_ERR_INTERNAL;
	}
	if ((r = mamori_detect_load(f->home, &d)) != 0)
		return r;
	mamori_detect_stats(d, &st);
	f->sigma_loaded = st.sigma_loaded;
	f->indicators_loaded = st.indicators_loaded;
	mamori_detect_free(d);
	return 0;
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->home, sizeof(f->home), "/tmp/mamori-content-XXXXXX");
	if (mkdtemp(f->home) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static void
rm_tree(const char *path)
{
	struct dirent *e;
	struct stat sb;
	char sub[1024];
	DIR *d;

	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode) && (d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			rm_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	rm_tree(f->home);
	free(f);
	return 0;
}

/* Files in HOME/sub. */
static int
count_files(const struct fix *f, const char *sub)
{
	char path[1024];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", f->home, sub);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
exists(const struct fix *f, const char *sub, const char *name)
{
	char path[1024];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s/%s", f->home, sub, name);
	return stat(path, &sb) == 0;
}

static void
read_corpus(const char *path, struct mamori_buf *b)
{
	mamori_buf_init(b, TEST_FILE_MAX);
	assert_int_equal(mamori_buf_read_file(b, path), 0);
}

static void
test_file_name(void **state)
{
	char out[200];

	(void)state;
	assert_int_equal(mamori_content_file_name("../etc/passwd", 13, ".yml",
	    out, sizeof(out)), 0);
	assert_string_equal(out, "_._etc_passwd.yml");
	assert_int_equal(mamori_content_file_name("", 0, ".json", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "unnamed.json");
	assert_int_equal(mamori_content_file_name("bundle--ab-12", 13, ".json",
	    out, sizeof(out)), 0);
	assert_string_equal(out, "bundle--ab-12.json");
	assert_int_equal(mamori_content_file_name("a b\n\xe3\x81\x82", 6, ".yar",
	    out, sizeof(out)), 0);
	assert_string_equal(out, "a_b___.yar");
	assert_int_equal(mamori_content_file_name("abc", 3, ".yml", out, 4),
	    MAMORI_ERR_TOO_LARGE);
}

static void
test_sigma_add_remove(void **state)
{
	struct fix *f = *state;
	struct mamori_buf b;
	const char *ids[2];
	json_t *res = NULL;

	read_corpus(MKFIFO_RULE, &b);
	assert_int_equal(mamori_content_sigma_add(f->home, MKFIFO_RULE,
	    (const char *)b.data, b.len, reload, f, &res, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(json_array_size(json_object_get(res, "added")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(res, "added"), 0), "id")), MKFIFO_ID);
	json_decref(res);
	assert_true(exists(f, "rules/sigma", MKFIFO_ID ".yml"));
	assert_int_equal(f->reloads, 1);
	assert_int_equal(f->sigma_loaded, 1);

	/* The same rule again: refused, nothing written, no reload. */
	assert_int_equal(mamori_content_sigma_add(f->home, "again.yml",
	    (const char *)b.data, b.len, reload, f, &res, f->why,
	    sizeof(f->why)), MAMORI_ERR_EXISTS);
	assert_null(res);
	assert_non_null(strstr(f->why, "already on the server"));
	assert_int_equal(count_files(f, "rules/sigma"), 1);
	assert_int_equal(f->reloads, 1);
	mamori_buf_free(&b);

	/* Two documents, two files, both applied. */
	assert_int_equal(mamori_content_sigma_add(f->home, "two.yml",
	    two_rules, strlen(two_rules), reload, f, &res, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(json_array_size(json_object_get(res, "added")), 2);
	json_decref(res);
	assert_int_equal(count_files(f, "rules/sigma"), 3);
	assert_int_equal(f->sigma_loaded, 3);

	/* An unknown id among known ones: nothing removed. */
	ids[0] = "11111111-1111-4111-8111-111111111111";
	ids[1] = "no-such-rule";
	assert_int_equal(mamori_content_sigma_remove(f->home, ids, 2, reload,
	    f, &res, f->why, sizeof(f->why)), MAMORI_ERR_NOT_FOUND);
	assert_non_null(strstr(f->why, "no-such-rule"));
	assert_int_equal(count_files(f, "rules/sigma"), 3);

	/* A reload that fails puts the file back. */
	f->fail_reload = 1;
	assert_int_equal(mamori_content_sigma_remove(f->home, ids, 1, reload,
	    f, &res, f->why, sizeof(f->why)), MAMORI_ERR_INTERNAL);
	assert_int_equal(count_files(f, "rules/sigma"), 3);
	assert_true(exists(f, "rules/sigma",
	    "11111111-1111-4111-8111-111111111111.yml"));
	f->fail_reload = 0;

	assert_int_equal(mamori_content_sigma_remove(f->home, ids, 1, reload,
	    f, &res, f->why, sizeof(f->why)), 0);
	assert_int_equal(json_array_size(json_object_get(res, "removed")), 1);
	json_decref(res);
	assert_int_equal(count_files(f, "rules/sigma"), 2);
	assert_int_equal(f->sigma_loaded, 2);
}

static void
test_sigma_refusals(void **state)
{
	struct fix *f = *state;
	json_t *res = NULL;

	/* One unsupported rule refuses the whole file. */
	assert_int_equal(mamori_content_sigma_add(f->home, "mixed.yml", one_bad,
	    strlen(one_bad), reload, f, &res, f->why, sizeof(f->why)),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(f->why, "utf16le"));
	assert_non_null(strstr(f->why, "Bad"));
	assert_int_equal(count_files(f, "rules/sigma"), 0);

	assert_int_equal(mamori_content_sigma_add(f->home, "x.yml", "a: [",
	    4, reload, f, &res, f->why, sizeof(f->why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(f->why, "is not YAML"));

	assert_int_equal(mamori_content_sigma_add(f->home, "x.yml", no_id,
	    strlen(no_id), reload, f, &res, f->why, sizeof(f->why)),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(f->why, "no id"));

	assert_int_equal(mamori_content_sigma_add(f->home, "x.yml", "---\n",
	    4, reload, f, &res, f->why, sizeof(f->why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(f->why, "no rule"));

	assert_int_equal(mamori_content_sigma_add(f->home, "x.yml", "a\0b", 3,
	    reload, f, &res, f->why, sizeof(f->why)), MAMORI_ERR_BAD_STRING);

	/* A failing reload leaves no file behind. */
	f->fail_reload = 1;
	assert_int_equal(mamori_content_sigma_add(f->home, "two.yml",
	    two_rules, strlen(two_rules), reload, f, &res, f->why,
	    sizeof(f->why)), MAMORI_ERR_INTERNAL);
	assert_null(res);
	assert_int_equal(count_files(f, "rules/sigma"), 0);
	assert_int_equal(f->reloads, 1);
}

static void
test_intel(void **state)
{
	struct fix *f = *state;
	struct mamori_buf b;
	json_t *res = NULL, *ind;
	size_t i, applied = 0;
	int seen = 0;

	read_corpus(POISONIVY, &b);
	f->fail_reload = 1;
	assert_int_equal(mamori_content_intel_import(f->home, POISONIVY,
	    (const char *)b.data, b.len, reload, f, &res, f->why,
	    sizeof(f->why)), MAMORI_ERR_INTERNAL);
	assert_int_equal(count_files(f, "rules/intel"), 0);
	f->fail_reload = 0;

	assert_int_equal(mamori_content_intel_import(f->home, POISONIVY,
	    (const char *)b.data, b.len, reload, f, &res, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(json_integer_value(json_object_get(res,
	    "indicators")), 25);
	assert_int_equal(json_integer_value(json_object_get(res, "taken")),
	    22);
	assert_int_equal(json_array_size(json_object_get(res,
	    "unsupported")), 3);
	assert_false(json_is_true(json_object_get(res, "replaced")));
	json_decref(res);
	assert_true(exists(f, "rules/intel", POISONIVY_BUNDLE ".json"));
	assert_int_equal(f->indicators_loaded, 22);

	/* The same bundle again replaces it. */
	assert_int_equal(mamori_content_intel_import(f->home, "copy.json",
	    (const char *)b.data, b.len, reload, f, &res, f->why,
	    sizeof(f->why)), 0);
	assert_true(json_is_true(json_object_get(res, "replaced")));
	json_decref(res);
	assert_int_equal(count_files(f, "rules/intel"), 1);
	mamori_buf_free(&b);

	assert_int_equal(mamori_content_intel_list(f->home, &res, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(json_array_size(json_object_get(res, "indicators")),
	    25);
	json_array_foreach(json_object_get(res, "indicators"), i, ind) {
		assert_string_equal(json_string_value(json_object_get(ind,
		    "bundle")), POISONIVY_BUNDLE);
		if (json_is_true(json_object_get(ind, "applied")))
			applied++;
		if (strcmp(json_string_value(json_object_get(ind, "id")),
		    POISONIVY_IND) == 0) {
			seen = 1;
			assert_string_equal(json_string_value(json_object_get(
			    ind, "kind")), "ipv4");
			assert_string_equal(json_string_value(json_object_get(
			    ind, "pattern_type")), "stix");
		}
	}
	assert_true(seen);
	assert_int_equal(applied, 22);
	json_decref(res);

	/* One indicator: the bundle is rewritten without it. */
	assert_int_equal(mamori_content_intel_remove(f->home, POISONIVY_IND,
	    reload, f, &res, f->why, sizeof(f->why)), 0);
	assert_string_equal(json_string_value(json_object_get(res, "kind")),
	    "indicator");
	json_decref(res);
	assert_int_equal(f->indicators_loaded, 21);
	assert_int_equal(mamori_content_intel_remove(f->home, POISONIVY_IND,
	    reload, f, &res, f->why, sizeof(f->why)), MAMORI_ERR_NOT_FOUND);
	assert_non_null(strstr(f->why, "mamori intel list"));

	/* The bundle: its file goes. */
	assert_int_equal(mamori_content_intel_remove(f->home, POISONIVY_BUNDLE,
	    reload, f, &res, f->why, sizeof(f->why)), 0);
	assert_int_equal(json_integer_value(json_object_get(res,
	    "indicators_removed")), 24);
	json_decref(res);
	assert_int_equal(count_files(f, "rules/intel"), 0);
	assert_int_equal(f->indicators_loaded, 0);

	/* No indicator at all; not a bundle. */
	read_corpus(CORPORA "/stix/infrastructure.json", &b);
	assert_int_equal(mamori_content_intel_import(f->home, "infra.json",
	    (const char *)b.data, b.len, reload, f, &res, f->why,
	    sizeof(f->why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(f->why, "no indicator"));
	mamori_buf_free(&b);
	assert_int_not_equal(mamori_content_intel_import(f->home, "x.json",
	    "{\"type\": \"x\"}", 13, reload, f, &res, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(count_files(f, "rules/intel"), 0);
}

static void
test_yara(void **state)
{
	struct fix *f = *state;
	struct mamori_buf b;
	json_t *res = NULL;

	read_corpus(TICK, &b);
	assert_int_equal(mamori_content_yara_add(f->home, TICK,
	    (const char *)b.data, b.len, &res, f->why, sizeof(f->why)), 0);
	assert_string_equal(json_string_value(json_object_get(res, "file")),
	    "jpcert-tick.yara");
	assert_int_equal(json_array_size(json_object_get(res, "rules")), 17);
	json_decref(res);

	/* The same rules under another name: duplicated identifiers. */
	assert_int_equal(mamori_content_yara_add(f->home, "copy.yar",
	    (const char *)b.data, b.len, &res, f->why, sizeof(f->why)),
	    MAMORI_ERR_YARA_COMPILE);
	assert_non_null(strstr(f->why, "duplicated identifier"));
	assert_int_equal(count_files(f, "rules/yara"), 1);
	mamori_buf_free(&b);

	assert_int_equal(mamori_content_yara_add(f->home, "bad.yar",
	    "rule x { condition: y }", 23, &res, f->why, sizeof(f->why)),
	    MAMORI_ERR_YARA_COMPILE);
	assert_non_null(strstr(f->why, "bad.yar:1: error"));
	assert_int_equal(mamori_content_yara_add(f->home, "inc.yar",
	    "include \"/etc/passwd\"\n", 22, &res, f->why, sizeof(f->why)),
	    MAMORI_ERR_YARA_COMPILE);
	assert_int_equal(count_files(f, "rules/yara"), 1);

	assert_int_equal(mamori_content_yara_list(f->home, &res, f->why,
	    sizeof(f->why)), 0);
	assert_int_equal(json_array_size(json_object_get(res, "rules")), 17);
	json_decref(res);

	assert_int_equal(mamori_content_yara_remove(f->home, "no_such_rule",
	    &res, f->why, sizeof(f->why)), MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_content_yara_remove(f->home,
	    "tick_SKYSEA_downloader", &res, f->why, sizeof(f->why)), 0);
	assert_int_equal(json_array_size(json_object_get(res, "rules")), 17);
	json_decref(res);
	assert_int_equal(count_files(f, "rules/yara"), 0);
}

static void
test_vuln(void **state)
{
	struct fix *f = *state;
	struct mamori_buf b;
	json_t *res = NULL;
	static const char pypi[] = "{\"id\": \"PYSEC-1\", \"modified\": "
	    "\"2020-01-01T00:00:00Z\", \"affected\": [{\"package\": "
	    "{\"ecosystem\": \"PyPI\", \"name\": \"x\"}}]}";

	read_corpus(DSA, &b);
	assert_int_equal(mamori_content_vuln_import(f->home, DSA,
	    (const char *)b.data, b.len, &res, f->why, sizeof(f->why)), 0);
	assert_string_equal(json_string_value(json_object_get(res, "file")),
	    "DSA-3029-1.json");
	assert_int_equal(json_integer_value(json_object_get(res,
	    "advisories")), 1);
	json_decref(res);
	mamori_buf_free(&b);
	assert_int_equal(mamori_content_vuln_import(f->home, "py.json", pypi,
	    strlen(pypi), &res, f->why, sizeof(f->why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(f->why, "no advisory for Debian"));
	assert_int_equal(mamori_content_vuln_import(f->home, "x.json", "nope",
	    4, &res, f->why, sizeof(f->why)), MAMORI_ERR_BAD_ADVISORY);
	assert_int_equal(count_files(f, "rules/vuln"), 1);
}

/* The admin socket's table types the content commands' arguments. */
static void
test_admin_requests(void **state)
{
	static const struct {
		const char *line;
		int ok;
	} cases[] = {
		{"{\"cmd\":\"rules.add\",\"name\":\"a.yml\",\"text\":\"x\"}", 1},
		{"{\"cmd\":\"rules.add\",\"name\":\"a.yml\",\"text\":1}", 0},
		{"{\"cmd\":\"rules.remove\",\"ids\":[\"a\",\"b\"]}", 1},
		{"{\"cmd\":\"rules.remove\",\"ids\":\"a\"}", 0},
		{"{\"cmd\":\"intel.import\",\"name\":\"b\",\"text\":\"{}\"}", 1},
		{"{\"cmd\":\"intel.list\"}", 1},
		{"{\"cmd\":\"intel.list\",\"id\":\"x\"}", 0},
		{"{\"cmd\":\"intel.remove\",\"id\":\"x\"}", 1},
		{"{\"cmd\":\"yara.add\",\"name\":\"y\",\"text\":\"r\"}", 1},
		{"{\"cmd\":\"yara.list\"}", 1},
		{"{\"cmd\":\"yara.remove\",\"name\":\"y\"}", 1},
		{"{\"cmd\":\"yara.remove\",\"file\":\"y\"}", 0},
		{"{\"cmd\":\"vuln.import\",\"name\":\"v\",\"text\":\"[]\"}", 1},
		{"{\"cmd\":\"vuln.report\"}", 1},
		{"{\"cmd\":\"vuln.report\",\"agent\":\"web-1\"}", 1},
		{"{\"cmd\":\"vuln.report\",\"agent\":7}", 0},
	};
	const struct mamori_admin_cmd *cmd;
	json_t *req;
	char why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = mamori_admin_request_parse(cases[i].line,
		    strlen(cases[i].line), &req, &cmd, why, sizeof(why));

		if (cases[i].ok) {
			assert_int_equal(r, 0);
			json_decref(req);
		} else {
			assert_int_not_equal(r, 0);
			assert_null(req);
			assert_true(why[0] != '\0');
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_name),
		cmocka_unit_test(test_admin_requests),
		cmocka_unit_test_setup_teardown(test_sigma_add_remove, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_sigma_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_intel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_yara, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vuln, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
