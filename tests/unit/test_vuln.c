/*
 * test_vuln.c - unit tests for OSV advisory reading (src/detect/vuln/osv.c)
 * and matching a host's packages against them (vuln_match.c).
 *
 * The real advisory DSA-3029-1 (nginx, Debian:7, fixed in
 * 1.2.1-2.2+wheezy3) comes from ../shared/corpora/osv; the other advisories
 * are written here to reach one rule each: several ranges, last_affected,
 * limit, listed versions, binNMUs, and every kind of malformed input,
 * which must be refused with a reason naming the problem.
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

#include "err.h"
#include "osv.h"
#include "vuln_match.h"

#ifndef CORPORA
#define CORPORA "../shared/corpora"
#endif
#define DSA_3029 CORPORA "/osv/DSA-3029-1.json"

/* Every report, one line each, for the tests to search. */
struct reports {
	char text[16384];
	size_t len;
	int rejected, skipped;
};

static void
collect(void *arg, int kind, const char *file, const char *message)
{
	struct reports *r = arg;
	int n;

	if (kind == MAMORI_OSV_REJECTED)
		r->rejected++;
	else
		r->skipped++;
	n = snprintf(r->text + r->len, sizeof(r->text) - r->len, "%s: %s\n",
	    file, message);
	if (n > 0 && (size_t)n < sizeof(r->text) - r->len)
		r->len += (size_t)n;
}

static int
parse(const char *json, struct mamori_osv_set *set, struct reports *rep)
{
	return mamori_osv_parse(json, strlen(json), "t.json", set, collect,
	    rep);
}

/* Matches pkgs (release rel) against set; returns the finding count. */
static size_t
match(const struct mamori_osv_set *set, const char *rel,
    const struct mamori_vuln_package *pkgs, size_t n,
    struct mamori_vuln_result *res)
{
	struct mamori_vuln_index *ix = NULL;

	assert_int_equal(mamori_vuln_index_build(set, &ix), 0);
	assert_int_equal(mamori_vuln_match(ix, rel, pkgs, n, res), 0);
	mamori_vuln_index_free(ix);
	return res->n;
}

static void
test_dsa_3029(void **state)
{
	struct mamori_osv_set set;
	struct reports rep = {0};
	struct mamori_vuln_result res;
	const struct mamori_osv_advisory *a;
	const struct mamori_vuln_package wheezy2[] = {
		{"nginx-common", "1.2.1-2.2+wheezy2", "nginx",
		    "1.2.1-2.2+wheezy2"},
		{"nginx-full", "1.2.1-2.2+wheezy2", "nginx", NULL},
		{"libc6", "2.13-38", "eglibc", "2.13-38"},
	};
	const struct mamori_vuln_package wheezy3[] = {
		{"nginx-common", "1.2.1-2.2+wheezy3", "nginx", NULL},
	};
	const struct mamori_vuln_package no_source[] = {
		{"nginx", "1.2.1-2.2+wheezy2", NULL, NULL},
	};

	(void)state;
	mamori_osv_set_init(&set);
	assert_int_equal(mamori_osv_load(DSA_3029, &set, collect, &rep), 0);
	assert_int_equal(rep.rejected + rep.skipped, 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.n_files, 1);
	a = set.items[0];
	assert_string_equal(a->id, "DSA-3029-1");
	assert_string_equal(a->modified, "2014-09-20T08:18:07Z");
	assert_string_equal(a->published, "2014-09-20T00:00:00Z");
	assert_string_equal(a->summary, "nginx - security update");
	assert_non_null(strstr(a->details, "virtual host confusion"));
	assert_int_equal(a->n_aliases, 1);
	assert_string_equal(a->aliases[0], "CVE-2014-3616");
	assert_int_equal(a->n_affected, 1);
	assert_string_equal(a->affected[0].release, "7");
	assert_string_equal(a->affected[0].package, "nginx");
	assert_int_equal(a->affected[0].n_ranges, 1);
	assert_int_equal(a->affected[0].ranges[0].n_events, 2);
	assert_int_equal(a->affected[0].ranges[0].events[0].kind,
	    MAMORI_OSV_INTRODUCED);
	assert_string_equal(a->affected[0].ranges[0].events[1].version,
	    "1.2.1-2.2+wheezy3");
	assert_non_null(strstr(a->file, "DSA-3029-1.json"));

	/* wheezy2: affected, both binaries of the source in one finding. */
	assert_int_equal(match(&set, "7", wheezy2, 3, &res), 1);
	assert_string_equal(res.findings[0].advisory->id, "DSA-3029-1");
	assert_string_equal(res.findings[0].source, "nginx");
	assert_string_equal(res.findings[0].installed, "1.2.1-2.2+wheezy2");
	assert_string_equal(res.findings[0].fixed, "1.2.1-2.2+wheezy3");
	assert_int_equal(res.findings[0].n_binaries, 2);
	assert_string_equal(res.findings[0].binaries[0], "nginx-common");
	assert_string_equal(res.findings[0].binaries[1], "nginx-full");
	mamori_vuln_result_free(&res);
	/* wheezy3 is the fix. */
	assert_int_equal(match(&set, "7", wheezy3, 1, &res), 0);
	mamori_vuln_result_free(&res);
	/* Another release is not concerned. */
	assert_int_equal(match(&set, "8", wheezy2, 3, &res), 0);
	mamori_vuln_result_free(&res);
	assert_int_equal(match(&set, "12", wheezy2, 3, &res), 0);
	mamori_vuln_result_free(&res);
	/* No Source field: the binary's own name is the source. */
	assert_int_equal(match(&set, "7", no_source, 1, &res), 1);
	mamori_vuln_result_free(&res);
	mamori_osv_set_free(&set);
	mamori_osv_set_free(&set);     /* twice: left empty and reusable */
}

static const char ranges_json[] = "[\n"
    "{\"id\": \"T-1\", \"modified\": \"2024-01-01T00:00:00Z\",\n"
    " \"affected\": [{\"package\": {\"ecosystem\": \"Debian:12\","
    "  \"name\": \"foo\"}, \"ranges\": [{\"type\": \"ECOSYSTEM\","
    "  \"events\": [{\"fixed\": \"1.5-1\"}, {\"introduced\": \"1.0-1\"},"
    "   {\"introduced\": \"2.0-1\"}, {\"fixed\": \"2.3-1\"},"
    "   {\"introduced\": \"3.0\"}]}]}]},\n"
    "{\"id\": \"T-2\", \"modified\": \"2024-01-01T00:00:00Z\","
    " \"aliases\": [\"CVE-2024-0001\", \"CVE-2024-0002\"],\n"
    " \"severity\": [{\"type\": \"CVSS_V3\", \"score\": \"CVSS:3.1/AV:N\"}],"
    " \"affected\": [{\"package\": {\"ecosystem\": \"Debian:12\","
    "  \"name\": \"bar\"}, \"ranges\": [{\"type\": \"ECOSYSTEM\","
    "  \"events\": [{\"introduced\": \"0\"},"
    "   {\"last_affected\": \"1:2.0-3\"}]}]}]},\n"
    "{\"id\": \"T-3\", \"modified\": \"2024-01-01T00:00:00Z\",\n"
    " \"affected\": [{\"package\": {\"ecosystem\": \"Debian:12\","
    "  \"name\": \"baz\"}, \"versions\": [\"0.9-1\", \"0.9-2\"]}]},\n"
    "{\"id\": \"T-4\", \"modified\": \"2024-01-01T00:00:00Z\",\n"
    " \"affected\": [{\"package\": {\"ecosystem\": \"Debian:12\","
    "  \"name\": \"qux\"}, \"ranges\": [{\"type\": \"ECOSYSTEM\","
    "  \"events\": [{\"introduced\": \"0\"}, {\"limit\": \"5.0\"}]}]}]}\n"
    "]\n";

/* The finding of advisory id for a single package at version v, or NULL
 * (the result is freed by the caller). */
static const struct mamori_vuln_finding *
one(const struct mamori_osv_set *set, const char *source, const char *v,
    struct mamori_vuln_result *res)
{
	const struct mamori_vuln_package p = {source, v, NULL, NULL};

	if (match(set, "12", &p, 1, res) == 0)
		return NULL;
	assert_int_equal(res->n, 1);
	return &res->findings[0];
}

static void
test_ranges(void **state)
{
	static const struct {
		const char *source, *version, *fixed;
		int affected;
	} cases[] = {
		{"foo", "0.9", NULL, 0},        /* before the first interval */
		{"foo", "1.0-1", "1.5-1", 1},   /* introduced is inclusive */
		{"foo", "1.4-9", "1.5-1", 1},
		{"foo", "1.5-1", NULL, 0},      /* fixed is exclusive */
		{"foo", "1.5~rc1-1", "1.5-1", 1},
		{"foo", "1.9", NULL, 0},        /* between intervals */
		{"foo", "2.0-1", "2.3-1", 1},
		{"foo", "2.3-1", NULL, 0},
		{"foo", "3.0", NULL, 1},        /* open interval: no fix */
		{"foo", "99", NULL, 1},
		{"bar", "0.1", NULL, 1},
		{"bar", "1:2.0-3", NULL, 1},    /* last_affected is inclusive */
		{"bar", "1:2.0-3+b1", NULL, 0},
		{"bar", "2.0-4", NULL, 1},      /* no epoch: below 1: */
		{"baz", "0.9-1", NULL, 1},      /* listed versions */
		{"baz", "0.9-2", NULL, 1},
		{"baz", "0.9-3", NULL, 0},
		{"qux", "4.9", NULL, 1},        /* below the limit */
		{"qux", "5.0", NULL, 0},
	};
	struct mamori_osv_set set;
	struct reports rep = {0};
	struct mamori_vuln_result res;
	const struct mamori_vuln_finding *f;
	size_t i;

	(void)state;
	mamori_osv_set_init(&set);
	assert_int_equal(parse(ranges_json, &set, &rep), 0);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(set.n, 4);
	assert_int_equal(set.items[1]->n_aliases, 2);
	assert_string_equal(set.items[1]->aliases[1], "CVE-2024-0002");
	assert_int_equal(set.items[1]->n_severity, 1);
	assert_string_equal(set.items[1]->severity[0].type, "CVSS_V3");
	/* Events come out sorted. */
	assert_string_equal(set.items[0]->affected[0].ranges[0].events[0].version,
	    "1.0-1");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = one(&set, cases[i].source, cases[i].version, &res);
		if ((f != NULL) != cases[i].affected)
			fail_msg("%s %s: affected %d, want %d", cases[i].source,
			    cases[i].version, f != NULL, cases[i].affected);
		if (f != NULL && (cases[i].fixed == NULL ? f->fixed != NULL :
		    f->fixed == NULL || strcmp(f->fixed, cases[i].fixed) != 0))
			fail_msg("%s %s: fixed %s, want %s", cases[i].source,
			    cases[i].version, f->fixed ? f->fixed : "(none)",
			    cases[i].fixed ? cases[i].fixed : "(none)");
		mamori_vuln_result_free(&res);
	}
	mamori_osv_set_free(&set);
}

static void
test_binnmu_and_order(void **state)
{
	static const char json[] = "[{\"id\": \"DSA-2\", \"modified\": \"x\","
	    " \"affected\": [{\"package\": {\"ecosystem\": \"Debian:12\","
	    " \"name\": \"foo\"}, \"ranges\": [{\"type\": \"ECOSYSTEM\","
	    " \"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"1.0-2\"}]}]},"
	    " {\"package\": {\"ecosystem\": \"Debian:12\", \"name\": \"foo\"},"
	    " \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": "
	    "[{\"introduced\": \"0\"}, {\"fixed\": \"1.0-3\"}]}]}]},"
	    "{\"id\": \"DSA-1\", \"modified\": \"x\", \"affected\": [{"
	    "\"package\": {\"ecosystem\": \"Debian:12\", \"name\": \"zed\"},"
	    " \"ranges\": [{\"type\": \"ECOSYSTEM\", \"events\": "
	    "[{\"introduced\": \"0\"}]}]}]}]";
	/* libfoo1 is a binNMU with a version of its own: the source version
	 * decides. */
	const struct mamori_vuln_package pkgs[] = {
		{"libfoo1", "5.0+b1", "foo", "1.0-1"},
		{"zed", "1", "", ""},
		{"", "1", "zed", NULL},         /* no name: ignored */
		{"zed-doc", NULL, "zed", NULL}, /* no version: ignored */
	};
	struct mamori_osv_set set;
	struct mamori_vuln_result res;

	(void)state;
	mamori_osv_set_init(&set);
	assert_int_equal(parse(json, &set, NULL), 0);
	assert_int_equal(match(&set, "12", pkgs, 4, &res), 2);
	/* Sorted by advisory; one finding for DSA-2 despite two entries, with
	 * the lowest fix. */
	assert_string_equal(res.findings[0].advisory->id, "DSA-1");
	assert_string_equal(res.findings[0].source, "zed");
	assert_null(res.findings[0].fixed);
	assert_int_equal(res.findings[0].n_binaries, 1);
	assert_string_equal(res.findings[1].advisory->id, "DSA-2");
	assert_string_equal(res.findings[1].installed, "1.0-1");
	assert_string_equal(res.findings[1].fixed, "1.0-2");
	assert_string_equal(res.findings[1].binaries[0], "libfoo1");
	mamori_vuln_result_free(&res);
	/* A bad release is refused. */
	{
		struct mamori_vuln_index *ix = NULL;

		assert_int_equal(mamori_vuln_index_build(&set, &ix), 0);
		assert_int_equal(mamori_vuln_index_size(ix), 3);
		assert_int_equal(mamori_vuln_match(ix, "bookworm", pkgs, 4,
		    &res), MAMORI_ERR_INVALID);
		assert_int_equal(mamori_vuln_match(ix, "", pkgs, 4, &res),
		    MAMORI_ERR_INVALID);
		assert_int_equal(res.n, 0);
		mamori_vuln_index_free(ix);
	}
	mamori_osv_set_free(&set);
}

/* One advisory with affected[0] replaced by aff; must be refused with a
 * reason holding want. */
static void
expect_rejected(const char *aff, const char *want)
{
	char json[4096];
	struct mamori_osv_set set;
	struct reports rep = {0};

	snprintf(json, sizeof(json), "{\"id\": \"BAD-1\", \"modified\": "
	    "\"2024-01-01\", \"affected\": [%s]}", aff);
	mamori_osv_set_init(&set);
	assert_int_equal(parse(json, &set, &rep), 0);
	if (set.n != 0 || rep.rejected != 1 || set.n_rejected != 1)
		fail_msg("accepted: %s", aff);
	if (strstr(rep.text, want) == NULL ||
	    strstr(rep.text, "t.json: BAD-1: rejected: ") != rep.text)
		fail_msg("report \"%s\" lacks \"%s\"", rep.text, want);
	mamori_osv_set_free(&set);
}

#define PKG "\"package\": {\"ecosystem\": \"Debian:12\", \"name\": \"p\"}"

static void
test_malformed(void **state)
{
	struct mamori_osv_set set;
	struct reports rep = {0};
	char *big;
	size_t i, off;

	(void)state;
	expect_rejected("{" PKG ", \"ranges\": [{\"type\": \"ECOSYSTEM\", "
	    "\"events\": [{\"introduced\": \"0\"}, {\"fixed\": \"a1\"}]}]}",
	    "event 1's fixed version \"a1\": upstream version does not start "
	    "with a digit");
	expect_rejected("{" PKG ", \"ranges\": [{\"type\": \"ECOSYSTEM\", "
	    "\"events\": [{\"introduced\": \"0\", \"fixed\": \"1\"}]}]}",
	    "event 0 is not an object with one member");
	expect_rejected("{" PKG ", \"ranges\": [{\"type\": \"ECOSYSTEM\", "
	    "\"events\": [{\"fixed\": \"1\"}]}]}",
	    "no \"introduced\" event");
	expect_rejected("{" PKG ", \"ranges\": [{\"type\": \"ECOSYSTEM\", "
	    "\"events\": [{\"broken\": \"1\"}]}]}", "unknown member");
	expect_rejected("{" PKG ", \"ranges\": [{\"type\": \"ECOSYSTEM\", "
	    "\"events\": []}]}", "no events");
	expect_rejected("{" PKG ", \"ranges\": [{\"type\": \"ODD\", "
	    "\"events\": [{\"introduced\": \"0\"}]}]}", "not ECOSYSTEM");
	expect_rejected("{" PKG ", \"ranges\": {}}",
	    "\"ranges\" is not an array");
	expect_rejected("{" PKG ", \"versions\": [1]}",
	    "a listed version is not a string");
	expect_rejected("{\"package\": {\"ecosystem\": \"Debian:12\"}}",
	    "\"name\" is missing");
	expect_rejected("{\"package\": {\"ecosystem\": 12, \"name\": \"p\"}}",
	    "\"ecosystem\" is not a string");
	expect_rejected("{\"package\": {\"ecosystem\": \"Debian:12\", "
	    "\"name\": \"\"}}", "name is empty");
	expect_rejected("7", "an affected entry is not an object");

	/* Top-level problems. */
	mamori_osv_set_init(&set);
	assert_int_equal(parse("{\"id\": 5, \"modified\": \"x\"}", &set, &rep),
	    0);
	assert_non_null(strstr(rep.text, "advisory 0: rejected: \"id\" is not "
	    "a string"));
	assert_int_equal(parse("[{\"id\": \"X\"}]", &set, &rep), 0);
	assert_non_null(strstr(rep.text, "X: rejected: \"modified\" is "
	    "missing"));
	assert_int_equal(parse("{\"id\": \"X\", \"id\": \"Y\"}", &set, &rep),
	    MAMORI_ERR_BAD_ADVISORY);
	assert_int_equal(parse("{\"id\": ", &set, &rep),
	    MAMORI_ERR_BAD_ADVISORY);
	assert_non_null(strstr(rep.text, "t.json: not valid JSON (line 1"));
	assert_int_equal(parse("\"text\"", &set, &rep),
	    MAMORI_ERR_BAD_ADVISORY);
	assert_int_equal(parse("[1, {\"id\": \"OK-1\", \"modified\": \"x\"}]",
	    &set, &rep), 0);
	assert_non_null(strstr(rep.text, "advisory 0: rejected: not a JSON "
	    "object"));
	assert_int_equal(parse("{\"id\": \"X\", \"modified\": \"x\", "
	    "\"summary\": \"a\\u0007b\"}", &set, &rep), 0);
	assert_non_null(strstr(rep.text, "\"summary\" holds a control"));
	assert_int_equal(set.n, 1);     /* only OK-1 */
	assert_string_equal(set.items[0]->id, "OK-1");
	assert_int_equal(set.n_rejected, 7);

	/* Over the limit of affected entries. */
	big = malloc((MAMORI_OSV_AFFECTED_MAX + 2) * 80 + 100);
	assert_non_null(big);
	off = (size_t)snprintf(big, 100, "{\"id\": \"BIG\", \"modified\": "
	    "\"x\", \"affected\": [");
	for (i = 0; i <= MAMORI_OSV_AFFECTED_MAX; i++)
		off += (size_t)snprintf(big + off, 80, "%s{" PKG "}",
		    i ? "," : "");
	memcpy(big + off, "]}", 3);
	assert_int_equal(parse(big, &set, &rep), 0);
	assert_non_null(strstr(rep.text, "BIG: rejected: \"affected\" has more "
	    "than 1024 entries"));
	free(big);
	assert_int_equal(set.n, 1);
	mamori_osv_set_free(&set);
}

static void
test_skipped(void **state)
{
	static const char json[] = "[{\"id\": \"GHSA-1\", \"modified\": \"x\","
	    " \"affected\": [{\"package\": {\"ecosystem\": \"npm\", \"name\":"
	    " \"left-pad\"}}, {\"package\": {\"ecosystem\": \"Debian\","
	    " \"name\": \"p\"}}, {\"package\": {\"ecosystem\": \"Debian:sid\","
	    " \"name\": \"p\"}}, {" PKG ", \"ranges\": [{\"type\": \"GIT\","
	    " \"repo\": \"r\", \"events\": [{\"introduced\": \"abc\"}]}]}]},"
	    "{\"id\": \"W-1\", \"modified\": \"x\", \"withdrawn\": \"2024\"}]";
	struct mamori_osv_set set;
	struct reports rep = {0};

	(void)state;
	mamori_osv_set_init(&set);
	assert_int_equal(parse(json, &set, &rep), 0);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.items[0]->n_affected, 1);     /* Debian:12, p */
	assert_int_equal(set.items[0]->affected[0].n_ranges, 0);
	assert_int_equal(set.n_skipped_affected, 3);
	assert_int_equal(set.n_skipped_ranges, 1);
	assert_int_equal(set.n_withdrawn, 1);
	assert_int_equal(rep.skipped, 5);
	assert_non_null(strstr(rep.text, "GHSA-1: skipped left-pad in "
	    "ecosystem \"npm\": not a Debian ecosystem"));
	assert_non_null(strstr(rep.text, "\"Debian\": no Debian release"));
	assert_non_null(strstr(rep.text, "not a number"));
	assert_non_null(strstr(rep.text, "W-1: skipped: withdrawn"));
	mamori_osv_set_free(&set);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_load_dir(void **state)
{
	char dir[] = "/tmp/mamori-test-vuln-XXXXXX", path[256];
	struct mamori_osv_set set;
	struct reports rep = {0};

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/b.json", dir);
	write_file(path, ranges_json);
	snprintf(path, sizeof(path), "%s/a.json", dir);
	write_file(path, "{\"id\": \"A-1\", \"modified\": \"x\"}");
	snprintf(path, sizeof(path), "%s/c.json", dir);
	write_file(path, "not json");
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	write_file(path, "ignored");
	mamori_osv_set_init(&set);
	assert_int_equal(mamori_osv_load(dir, &set, collect, &rep), 0);
	assert_int_equal(set.n_files, 3);
	assert_int_equal(set.n, 5);
	assert_string_equal(set.items[0]->id, "A-1");    /* name order */
	assert_int_equal(set.n_rejected, 1);
	assert_non_null(strstr(rep.text, "/c.json: not valid JSON"));
	assert_int_equal(mamori_osv_load("/nonexistent/osv", &set, collect,
	    &rep), MAMORI_ERR_NOT_FOUND);
	/* A trailing slash does not double in the files' names. */
	snprintf(path, sizeof(path), "%s/", dir);
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(mamori_osv_load(path, &set, collect, &rep), 0);
	assert_int_equal(set.n, 10);
	assert_null(strstr(rep.text, "//"));
	assert_non_null(strstr(rep.text, "/c.json: not valid JSON"));
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	mamori_osv_set_free(&set);
	unlink(path);
	snprintf(path, sizeof(path), "%s/a.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/b.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/c.json", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_inventory_and_release(void **state)
{
	Mamori__Package p1 = MAMORI__PACKAGE__INIT, p2 = MAMORI__PACKAGE__INIT;
	Mamori__Package *list[2] = {&p1, &p2};
	Mamori__Inventory inv = MAMORI__INVENTORY__INIT;
	struct mamori_vuln_package *pkgs = NULL;
	char rel[MAMORI_VULN_RELEASE_MAX];
	size_t n = 9;

	(void)state;
	p1.name = "nginx-common";
	p1.version = "1.2.1-2.2+wheezy2";
	p1.source = "nginx";
	p1.source_version = "1.2.1-2.2+wheezy2";
	p1.status = "installed";
	p2.name = "old";
	p2.version = "1";
	p2.status = "config-files";
	inv.packages = list;
	inv.n_packages = 2;
	assert_int_equal(mamori_vuln_packages_from_inventory(&inv, &pkgs, &n),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(pkgs[0].source, "nginx");
	free(pkgs);

	assert_int_equal(mamori_vuln_release("debian", "12", rel), 0);
	assert_string_equal(rel, "12");
	assert_int_equal(mamori_vuln_release("debian", "7.11", rel), 0);
	assert_string_equal(rel, "7");
	assert_int_equal(mamori_vuln_release("ubuntu", "22.04", rel),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_vuln_release("debian", "", rel),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_vuln_release("debian", "12x", rel),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(mamori_vuln_release("debian", NULL, rel),
	    MAMORI_ERR_NOT_FOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dsa_3029),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_binnmu_and_order),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_skipped),
		cmocka_unit_test(test_load_dir),
		cmocka_unit_test(test_inventory_and_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
