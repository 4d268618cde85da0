/*
 * test_sigma.c - unit tests of the Sigma engine: the condition grammar,
 * every modifier with a case that must match and one that must not,
 * wildcards and escapes, null, numbers, case, keyword searches, hostile
 * YAML, the real SigmaHQ corpus loaded in ingest mode (every rule of the
 * three mapped categories accounted for), real rules against crafted
 * events and their near misses, and the offline JSON-lines scan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "sigma.h"

#ifndef CORPORA
#define CORPORA "../shared/corpora"
#endif
#define SIGMA_DIR CORPORA "/sigma"

#define T_MAX_FIELDS 16

/* Loads one rule (offline schema) and matches it against an event given
 * as name, value pairs ending with NULL (a NULL value: field absent).
 * Returns 1 match, 0 no match, -1 rule not loaded (reason in why). */
static int
run(const char *yaml, char *why, size_t whylen, ...)
{
	struct mamori_sigma_slot slots[T_MAX_FIELDS];
	struct mamori_sigma_dynamic *d = NULL;
	struct mamori_sigma_ruleset *rs = NULL;
	struct mamori_sigma_matcher *m = NULL;
	struct mamori_sigma_schema schema;
	const struct mamori_sigma_rule_info *info;
	const uint32_t *hits;
	const char *name, *value;
	uint32_t slot;
	size_t nhits;
	va_list ap;
	int result;

	assert_int_equal(mamori_sigma_dynamic_new(&d), 0);
	mamori_sigma_dynamic_schema(d, &schema);
	assert_int_equal(mamori_sigma_ruleset_new(&schema, &rs), 0);
	assert_int_equal(mamori_sigma_ruleset_add_yaml(rs, "t.yml", yaml,
	    strlen(yaml)), 0);
	assert_int_equal(mamori_sigma_ruleset_compile(rs), 0);
	assert_int_equal(mamori_sigma_ruleset_count(rs), 1);
	info = mamori_sigma_rule_info(rs, 0);
	if (why != NULL)
		snprintf(why, whylen, "%s", info->reason);
	if (!info->loaded) {
		assert_true(info->reason[0] != '\0');
		result = -1;
		goto out;
	}
	memset(slots, 0, sizeof(slots));
	va_start(ap, whylen);
	while ((name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		if (mamori_sigma_dynamic_slot(d, name, &slot) != 0 ||
		    value == NULL)
			continue;
		assert_true(slot < T_MAX_FIELDS);
		slots[slot].value = value;
		slots[slot].len = strlen(value);
		slots[slot].present = 1;
	}
	va_end(ap);
	assert_int_equal(mamori_sigma_matcher_new(rs, &m), 0);
	assert_int_equal(mamori_sigma_match(m, 0, slots,
	    mamori_sigma_dynamic_count(d), &hits, &nhits), 0);
	result = nhits == 1;
out:
	mamori_sigma_matcher_free(m);
	mamori_sigma_ruleset_free(rs);
	mamori_sigma_dynamic_free(d);
	return result;
}

#define RULE_HEAD "title: t\nlogsource:\n  category: test\ndetection:\n"

/* A rule with searches a, b, c on fields A, B, C (each "x") and the
 * given condition. */
static int
cond3(const char *cond, int a, int b, int c)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), RULE_HEAD "  a:\n    A: x\n  b:\n    B: x\n"
	    "  c:\n    C: x\n  condition: %s\n", cond);
	return run(yaml, NULL, 0, "A", a ? "x" : "y", "B", b ? "x" : "y",
	    "C", c ? "x" : "y", NULL);
}

static void
test_precedence(void **state)
{
	(void)state;
	/* and binds tighter than or. */
	assert_int_equal(cond3("a or b and c", 1, 0, 0), 1);
	assert_int_equal(cond3("a or b and c", 0, 1, 0), 0);
	assert_int_equal(cond3("a or b and c", 0, 1, 1), 1);
	assert_int_equal(cond3("b and c or a", 1, 0, 0), 1);
	/* not binds tighter than and. */
	assert_int_equal(cond3("not a and b", 0, 1, 0), 1);
	assert_int_equal(cond3("not a and b", 0, 0, 0), 0);
	assert_int_equal(cond3("not a and b", 1, 1, 0), 0);
	assert_int_equal(cond3("not a or b", 1, 0, 0), 0);
	/* Parentheses. */
	assert_int_equal(cond3("(a or b) and c", 1, 0, 0), 0);
	assert_int_equal(cond3("(a or b) and c", 1, 0, 1), 1);
	assert_int_equal(cond3("not (a and b)", 1, 1, 0), 0);
	assert_int_equal(cond3("not (a and b)", 1, 0, 0), 1);
	assert_int_equal(cond3("not not a", 1, 0, 0), 1);
	assert_int_equal(cond3("((a)) and ((not b) or c)", 1, 1, 1), 1);
	assert_int_equal(cond3("((a)) and ((not b) or c)", 1, 1, 0), 0);
	/* Keywords in any case. */
	assert_int_equal(cond3("a AND NOT b", 1, 0, 0), 1);
}

/* Searches sel_1 (A), sel_2 (B), _helper (C), other (D). */
static int
of_rule(const char *cond, int a, int b, int c, int d)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml), RULE_HEAD "  sel_1:\n    A: x\n"
	    "  sel_2:\n    B: x\n  _helper:\n    C: x\n  other:\n    D: x\n"
	    "  condition: %s\n", cond);
	return run(yaml, NULL, 0, "A", a ? "x" : "y", "B", b ? "x" : "y",
	    "C", c ? "x" : "y", "D", d ? "x" : "y", NULL);
}

static void
test_of(void **state)
{
	(void)state;
	assert_int_equal(of_rule("1 of sel_*", 0, 1, 0, 0), 1);
	assert_int_equal(of_rule("1 of sel_*", 0, 0, 1, 1), 0);
	assert_int_equal(of_rule("all of sel_*", 1, 1, 0, 0), 1);
	assert_int_equal(of_rule("all of sel_*", 1, 0, 0, 0), 0);
	assert_int_equal(of_rule("1 of sel_?", 1, 0, 0, 0), 1);
	assert_int_equal(of_rule("all of sel*", 1, 1, 0, 0), 1);
	/* them leaves out identifiers starting with "_". */
	assert_int_equal(of_rule("1 of them", 0, 0, 1, 0), 0);
	assert_int_equal(of_rule("1 of them", 0, 0, 0, 1), 1);
	assert_int_equal(of_rule("all of them", 1, 1, 0, 1), 1);
	assert_int_equal(of_rule("all of them", 1, 1, 1, 0), 0);
	/* ... but a pattern may name them. */
	assert_int_equal(of_rule("1 of _help*", 0, 0, 1, 0), 1);
	assert_int_equal(of_rule("all of sel_1", 1, 0, 0, 0), 1);
	/* of inside a larger condition. */
	assert_int_equal(of_rule("other and not 1 of sel_*", 0, 0, 0, 1), 1);
	assert_int_equal(of_rule("other and not 1 of sel_*", 0, 1, 0, 1), 0);
	assert_int_equal(of_rule("1 of sel_* and other", 1, 0, 0, 0), 0);
}

static void
test_condition_list(void **state)
{
	const char *yaml = RULE_HEAD "  a:\n    A: x\n  b:\n    B: x\n"
	    "  condition:\n    - a\n    - b\n";

	(void)state;
	assert_int_equal(run(yaml, NULL, 0, "A", "x", "B", "y", NULL), 1);
	assert_int_equal(run(yaml, NULL, 0, "A", "y", "B", "x", NULL), 1);
	assert_int_equal(run(yaml, NULL, 0, "A", "y", "B", "y", NULL), 0);
}

static void
test_bad_conditions(void **state)
{
	static const char *const bad[] = {
		"a and", "nothere", "1 of zz*", "a | count() > 5", "(a or b",
		"a or b)", "a b", "1 sel", "all of", "a & b", "",
	};
	char yaml[8192], why[MAMORI_SIGMA_REASON_MAX];
	size_t i, o;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml), RULE_HEAD "  a:\n    A: x\n"
		    "  b:\n    B: x\n  condition: '%s'\n", bad[i]);
		assert_int_equal(run(yaml, why, sizeof(why), NULL), -1);
		assert_true(strlen(why) > 0);
	}
	assert_int_equal(run(RULE_HEAD "  a:\n    A: x\n  condition: 'a | "
	    "count() > 5'\n", why, sizeof(why), NULL), -1);
	assert_non_null(strstr(why, "aggregation"));
	/* Nesting past the limit is refused, not recursed into. */
	o = (size_t)snprintf(yaml, sizeof(yaml), RULE_HEAD "  a:\n    A: x\n"
	    "  condition: '");
	for (i = 0; i < 200; i++)
		yaml[o++] = '(';
	yaml[o++] = 'a';
	for (i = 0; i < 200; i++)
		yaml[o++] = ')';
	snprintf(yaml + o, sizeof(yaml) - o, "'\n");
	assert_int_equal(run(yaml, why, sizeof(why), NULL), -1);
	assert_non_null(strstr(why, "deeper"));
}

/* One field item "F<mods>: <value yaml>" against F = field. */
static int
mod(const char *key, const char *value, const char *field)
{
	char yaml[2048];

	snprintf(yaml, sizeof(yaml), RULE_HEAD "  sel:\n    %s: %s\n"
	    "  condition: sel\n", key, value);
	return run(yaml, NULL, 0, "F", field, NULL);
}

static void
test_string_modifiers(void **state)
{
	(void)state;
	/* Plain value: the whole field, any case. */
	assert_int_equal(mod("F", "'/bin/bash'", "/bin/bash"), 1);
	assert_int_equal(mod("F", "'/bin/bash'", "/BIN/BASH"), 1);
	assert_int_equal(mod("F", "'/bin/bash'", "/bin/bash2"), 0);
	assert_int_equal(mod("F", "'/bin/bash'", "x/bin/bash"), 0);
	assert_int_equal(mod("F|contains", "'curl'", "a CURL b"), 1);
	assert_int_equal(mod("F|contains", "'curl'", "cur l"), 0);
	assert_int_equal(mod("F|startswith", "'/tmp/'", "/tmp/x"), 1);
	assert_int_equal(mod("F|startswith", "'/tmp/'", "/var/tmp/x"), 0);
	assert_int_equal(mod("F|endswith", "'/nc'", "/usr/bin/nc"), 1);
	assert_int_equal(mod("F|endswith", "'/nc'", "/usr/bin/ncat"), 0);
	/* A list is OR; with all, AND. */
	assert_int_equal(mod("F|contains", "['aa', 'bb']", "xbbx"), 1);
	assert_int_equal(mod("F|contains", "['aa', 'bb']", "xcx"), 0);
	assert_int_equal(mod("F|contains|all", "['aa', 'bb']", "bb aa"), 1);
	assert_int_equal(mod("F|contains|all", "['aa', 'bb']", "bb a"), 0);
	/* cased. */
	assert_int_equal(mod("F|cased", "'Abc'", "Abc"), 1);
	assert_int_equal(mod("F|cased", "'Abc'", "abc"), 0);
	assert_int_equal(mod("F|contains|cased", "'Abc'", "xAbcx"), 1);
	assert_int_equal(mod("F|contains|cased", "'Abc'", "xABCx"), 0);
	/* A field that is absent matches no string. */
	assert_int_equal(run(RULE_HEAD "  sel:\n    F|contains: a\n"
	    "  condition: sel\n", NULL, 0, "F", NULL, NULL), 0);
	assert_int_equal(run(RULE_HEAD "  sel:\n    F|contains: a\n"
	    "  condition: not sel\n", NULL, 0, "F", NULL, NULL), 1);
	/* Text with newlines and regex metacharacters is literal. */
	assert_int_equal(mod("F|contains", "'a.c'", "abc"), 0);
	assert_int_equal(mod("F|contains", "'a.c'", "xa.cx"), 1);
	assert_int_equal(mod("F|contains", "'(x|y)'", "(x|y)"), 1);
	assert_int_equal(mod("F|contains", "'(x|y)'", "x"), 0);
	assert_int_equal(mod("F|endswith", "'b'", "a\nb"), 1);
	assert_int_equal(mod("F|endswith", "'a'", "a\n"), 0);
}

static void
test_wildcards(void **state)
{
	(void)state;
	assert_int_equal(mod("F", "'/usr/*/python*'", "/usr/bin/python3"), 1);
	assert_int_equal(mod("F", "'/usr/*/python*'", "/opt/bin/python3"), 0);
	assert_int_equal(mod("F", "'a?c'", "abc"), 1);
	assert_int_equal(mod("F", "'a?c'", "ac"), 0);
	assert_int_equal(mod("F", "'a?c'", "abbc"), 0);
	assert_int_equal(mod("F", "'*'", "anything"), 1);
	assert_int_equal(mod("F", "'*'", ""), 1);
	assert_int_equal(mod("F", "'a*'", "a\nb"), 1);
	/* Escapes: \* and \? are literal, \\ is one backslash, a backslash
	 * before anything else is itself. */
	assert_int_equal(mod("F", "'a\\*b'", "a*b"), 1);
	assert_int_equal(mod("F", "'a\\*b'", "axxb"), 0);
	assert_int_equal(mod("F", "'a\\?b'", "a?b"), 1);
	assert_int_equal(mod("F", "'a\\?b'", "axb"), 0);
	assert_int_equal(mod("F", "'a\\\\*'", "a\\zzz"), 1);
	assert_int_equal(mod("F", "'a\\\\*'", "azzz"), 0);
	assert_int_equal(mod("F", "'C:\\Windows\\x'", "c:\\windows\\X"), 1);
	assert_int_equal(mod("F|contains", "'\\*'", "a*b"), 1);
	assert_int_equal(mod("F|contains", "'\\*'", "ab"), 0);
	/* Wildcards inside contains. */
	assert_int_equal(mod("F|contains", "'wget*http'", "x wget -q http"),
	    1);
	assert_int_equal(mod("F|contains", "'wget*http'", "http wget"), 0);
}

static void
test_re(void **state)
{
	(void)state;
	assert_int_equal(mod("F|re", "'^ab+c$'", "abbbc"), 1);
	assert_int_equal(mod("F|re", "'^ab+c$'", "ac"), 0);
	/* Case-sensitive unless i. */
	assert_int_equal(mod("F|re", "'^abc$'", "ABC"), 0);
	assert_int_equal(mod("F|re|i", "'^abc$'", "ABC"), 1);
	/* m: ^ and $ at lines. */
	assert_int_equal(mod("F|re", "'^b$'", "a\nb"), 0);
	assert_int_equal(mod("F|re|m", "'^b$'", "a\nb"), 1);
	/* s: . matches newline. */
	assert_int_equal(mod("F|re", "'a.b'", "a\nb"), 0);
	assert_int_equal(mod("F|re|s", "'a.b'", "a\nb"), 1);
	/* A bad expression is a reason, not a crash. */
	assert_int_equal(mod("F|re", "'(ab'", "ab"), -1);
	assert_int_equal(mod("F|i", "'ab'", "ab"), -1);
}

static void
test_cidr(void **state)
{
	(void)state;
	assert_int_equal(mod("F|cidr", "'10.0.0.0/8'", "10.20.30.40"), 1);
	assert_int_equal(mod("F|cidr", "'10.0.0.0/8'", "11.0.0.1"), 0);
	assert_int_equal(mod("F|cidr", "'192.168.1.0/26'", "192.168.1.63"), 1);
	assert_int_equal(mod("F|cidr", "'192.168.1.0/26'", "192.168.1.64"), 0);
	assert_int_equal(mod("F|cidr", "'fe80::/10'", "fe80::1"), 1);
	assert_int_equal(mod("F|cidr", "'fe80::/10'", "fec0::1"), 0);
	assert_int_equal(mod("F|cidr", "'2001:db8::/32'", "2001:db8:1::5"), 1);
	assert_int_equal(mod("F|cidr", "'2001:db8::/32'", "10.0.0.1"), 0);
	assert_int_equal(mod("F|cidr", "'10.0.0.0/8'", "not an ip"), 0);
	assert_int_equal(mod("F|cidr", "['127.0.0.0/8', '::1/128']", "::1"), 1);
	assert_int_equal(mod("F|cidr", "'10.0.0.0/33'", "10.0.0.1"), -1);
	assert_int_equal(mod("F|cidr", "'bogus'", "10.0.0.1"), -1);
}

static void
test_base64(void **state)
{
	(void)state;
	/* "ping" is "cGluZw==". */
	assert_int_equal(mod("F|base64", "'ping'", "cGluZw=="), 1);
	assert_int_equal(mod("F|base64", "'ping'", "cGluZw"), 0);
	assert_int_equal(mod("F|base64|contains", "'ping'", "x cGluZw== y"),
	    1);
	/* base64 text is case-sensitive. */
	assert_int_equal(mod("F|base64", "'ping'", "CGLUZW=="), 0);
	/* base64offset: the value at any offset of an encoded text.
	 * base64("  /bin/sh -i") = "ICAvYmluL3NoIC1p", base64(" /bin/sh -i")
	 * = "IC9iaW4vc2ggLWk=", base64("/bin/sh -i") = "L2Jpbi9zaCAtaQ==". */
	assert_int_equal(mod("F|base64offset|contains", "'/bin/sh'",
	    "echo ICAvYmluL3NoIC1p | base64 -d"), 1);
	assert_int_equal(mod("F|base64offset|contains", "'/bin/sh'",
	    "IC9iaW4vc2ggLWk="), 1);
	assert_int_equal(mod("F|base64offset|contains", "'/bin/sh'",
	    "L2Jpbi9zaCAtaQ=="), 1);
	assert_int_equal(mod("F|base64offset|contains", "'/bin/sh'",
	    "L2Jpbi9iYXNo"), 0);
}

static void
test_windash(void **state)
{
	(void)state;
	assert_int_equal(mod("F|windash|contains", "' -enc '", "x -enc y"), 1);
	assert_int_equal(mod("F|windash|contains", "' -enc '", "x /enc y"), 1);
	assert_int_equal(mod("F|windash|contains", "' -enc '",
	    "x \xe2\x80\x93" "enc y"), 1);
	assert_int_equal(mod("F|windash|contains", "' -enc '",
	    "x \xe2\x80\x94" "enc y"), 1);
	assert_int_equal(mod("F|windash|contains", "' -enc '", "x enc y"), 0);
	assert_int_equal(mod("F|contains", "' -enc '", "x /enc y"), 0);
	/* Only dashes that start an option change. */
	assert_int_equal(mod("F|windash|contains", "'a-b -c'", "a-b /c"), 1);
	assert_int_equal(mod("F|windash|contains", "'a-b -c'", "a/b /c"), 0);
}

static void
test_exists_null_numbers(void **state)
{
	const char *exists = RULE_HEAD "  sel:\n    F|exists: true\n"
	    "  condition: sel\n";
	const char *absent = RULE_HEAD "  sel:\n    F|exists: false\n"
	    "  condition: sel\n";
	const char *null = RULE_HEAD "  sel:\n    F: null\n  condition: sel\n";
	const char *empty = RULE_HEAD "  sel:\n    F: ''\n  condition: sel\n";

	(void)state;
	assert_int_equal(run(exists, NULL, 0, "F", "", NULL), 1);
	assert_int_equal(run(exists, NULL, 0, "F", NULL, NULL), 0);
	assert_int_equal(run(absent, NULL, 0, "F", NULL, NULL), 1);
	assert_int_equal(run(absent, NULL, 0, "F", "x", NULL), 0);
	assert_int_equal(mod("F|exists", "maybe", "x"), -1);
	/* null: absent or empty. */
	assert_int_equal(run(null, NULL, 0, "F", NULL, NULL), 1);
	assert_int_equal(run(null, NULL, 0, "F", "", NULL), 1);
	assert_int_equal(run(null, NULL, 0, "F", "x", NULL), 0);
	/* '' (quoted) is the empty string, present. */
	assert_int_equal(run(empty, NULL, 0, "F", "", NULL), 1);
	assert_int_equal(run(empty, NULL, 0, "F", NULL, NULL), 0);
	assert_int_equal(run(empty, NULL, 0, "F", "x", NULL), 0);
	/* Numbers compare as their decimal text... */
	assert_int_equal(mod("F", "4444", "4444"), 1);
	assert_int_equal(mod("F", "4444", "44444"), 0);
	assert_int_equal(mod("F", "[22, 4444]", "22"), 1);
	/* ... and numerically with lt/lte/gt/gte. */
	assert_int_equal(mod("F|lt", "1024", "80"), 1);
	assert_int_equal(mod("F|lt", "1024", "1024"), 0);
	assert_int_equal(mod("F|lte", "1024", "1024"), 1);
	assert_int_equal(mod("F|lte", "1024", "1025"), 0);
	assert_int_equal(mod("F|gt", "1024", "1025"), 1);
	assert_int_equal(mod("F|gt", "1024", "100"), 0);
	assert_int_equal(mod("F|gte", "1.5", "1.5"), 1);
	assert_int_equal(mod("F|gte", "1.5", "1.49"), 0);
	assert_int_equal(mod("F|gt", "10", "eleven"), 0);
	assert_int_equal(mod("F|gt", "ten", "11"), -1);
	/* Booleans are text too. */
	assert_int_equal(mod("F", "'true'", "TRUE"), 1);
	assert_int_equal(mod("F", "'true'", "false"), 0);
}

static void
test_keywords_and_maps(void **state)
{
	const char *kw = RULE_HEAD "  keywords:\n    - 'evil'\n    - 'bad*thing'\n"
	    "  condition: keywords\n";
	const char *maps = RULE_HEAD "  sel:\n    - A: x\n      B: x\n"
	    "    - C: x\n  condition: sel\n";
	char why[MAMORI_SIGMA_REASON_MAX];

	(void)state;
	/* Keywords look at the keyword slot (the offline scan fills it
	 * with every value of the event, one per line). */
	assert_int_equal(run(kw, NULL, 0, MAMORI_SIGMA_KEYWORDS, "an EVIL one",
	    NULL), 1);
	assert_int_equal(run(kw, NULL, 0, MAMORI_SIGMA_KEYWORDS,
	    "bad to the thing", NULL), 1);
	assert_int_equal(run(kw, NULL, 0, MAMORI_SIGMA_KEYWORDS,
	    "bad\nthing", NULL), 0);
	assert_int_equal(run(kw, NULL, 0, MAMORI_SIGMA_KEYWORDS, "good",
	    NULL), 0);
	/* A list of maps is OR, a map is AND. */
	assert_int_equal(run(maps, NULL, 0, "A", "x", "B", "x", "C", "y",
	    NULL), 1);
	assert_int_equal(run(maps, NULL, 0, "A", "x", "B", "y", "C", "y",
	    NULL), 0);
	assert_int_equal(run(maps, NULL, 0, "A", "y", "B", "y", "C", "x",
	    NULL), 1);
	/* Unsupported modifiers, and shapes, are reasons. */
	assert_int_equal(mod("F|utf16le|base64", "'x'", "x"), -1);
	assert_int_equal(mod("F|expand", "'%x%'", "x"), -1);
	assert_int_equal(run(RULE_HEAD "  sel:\n    F:\n      G: x\n"
	    "  condition: sel\n", why, sizeof(why), "F", "x", NULL), -1);
	assert_non_null(strstr(why, "map"));
	assert_int_equal(run("title: t\nlogsource: {}\ndetection:\n  sel:\n"
	    "    F: x\n", why, sizeof(why), NULL), -1);
	assert_non_null(strstr(why, "condition"));
	assert_int_equal(run("logsource: {}\ndetection:\n  sel:\n    F: x\n"
	    "  condition: sel\n", why, sizeof(why), NULL), -1);
	assert_non_null(strstr(why, "title"));
}

static void
test_hostile_yaml(void **state)
{
	static const char *const bad[] = {
		"", "- a\n- b\n", "title: [", "a: &x [1]\nb: *x\n",
		"title: t\n---\ntitle: u\n", "\t\t:::", "title: t\nlogsource: 1\n"
		"detection: 2\n", "title: t\nlogsource: {}\ndetection: {a: {}, "
		"condition: a}\n",
	};
	char *deep, why[MAMORI_SIGMA_REASON_MAX];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(run(bad[i], why, sizeof(why), NULL), -1);
	/* Deep nesting and too many nodes stop at their limits. */
	deep = malloc(100000);
	assert_non_null(deep);
	for (i = 0; i < 50000; i++)
		deep[i] = '[';
	deep[i] = '\0';
	assert_int_equal(run(deep, why, sizeof(why), NULL), -1);
	assert_non_null(strstr(why, "deeper"));
	memcpy(deep, "a: [", 4);
	for (i = 4; i + 2 < 90000; i += 2)
		memcpy(deep + i, "1,", 2);
	memcpy(deep + i, "1]", 3);
	assert_int_equal(run(deep, why, sizeof(why), NULL), -1);
	assert_non_null(strstr(why, "nodes"));
	/* Too many values, and too many patterns made from them. */
	i = (size_t)snprintf(deep, 100000, RULE_HEAD "  s:\n    F:\n");
	for (k = 0; k < MAMORI_SIGMA_VALUES_MAX + 1; k++)
		i += (size_t)snprintf(deep + i, 100000 - i, "      - '-%zu'\n",
		    k);
	snprintf(deep + i, 100000 - i, "  condition: s\n");
	assert_int_equal(run(deep, why, sizeof(why), NULL), -1);
	assert_non_null(strstr(why, "too many values"));
	i = (size_t)snprintf(deep, 100000, RULE_HEAD "  s:\n    F|windash:\n");
	for (k = 0; k < MAMORI_SIGMA_PATTERNS_MAX / 5 + 1; k++)
		i += (size_t)snprintf(deep + i, 100000 - i, "      - '-%zu'\n",
		    k);
	snprintf(deep + i, 100000 - i, "  condition: s\n");
	assert_int_equal(run(deep, why, sizeof(why), NULL), -1);
	assert_non_null(strstr(why, "patterns"));
	free(deep);
}

/* Loads the corpus's three mapped categories in ingest mode. */
static struct mamori_sigma_ruleset *
load_corpus_ingest(void)
{
	static const char *const dirs[] = {
		SIGMA_DIR "/rules/linux/process_creation",
		SIGMA_DIR "/rules/linux/file_event",
		SIGMA_DIR "/rules/linux/network_connection",
		SIGMA_DIR "/rules-threat-hunting/linux",
	};
	struct mamori_sigma_ruleset *rs;
	struct mamori_sigma_schema schema;
	size_t i;

	mamori_sigma_ingest_schema(&schema);
	assert_int_equal(mamori_sigma_ruleset_new(&schema, &rs), 0);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		assert_int_equal(mamori_sigma_ruleset_add_path(rs, dirs[i]), 0);
	assert_int_equal(mamori_sigma_ruleset_compile(rs), 0);
	return rs;
}

static void
test_corpus_ingest(void **state)
{
	/* The two OMIGOD rules select on LogonId, which mamori's process
	 * events do not carry; every other rule must load. */
	static const char *const expected_unsupported[] = {
		"6eea1bf6-f8d2-488a-a742-e6ef6c1b67db",
		"21541900-27a9-4454-9c4c-3f0a4240344a",
	};
	const struct mamori_sigma_rule_info *info;
	struct mamori_sigma_ruleset *rs = load_corpus_ingest();
	size_t i, k, unsupported = 0;
	int expected;

	(void)state;
	/* 122 + 8 + 5 rules, and 4 threat-hunting rules. */
	assert_int_equal(mamori_sigma_ruleset_count(rs), 139);
	assert_int_equal(mamori_sigma_ruleset_loaded(rs), 137);
	for (i = 0; i < mamori_sigma_ruleset_count(rs); i++) {
		info = mamori_sigma_rule_info(rs, i);
		assert_non_null(info);
		assert_true(info->title[0] != '\0');
		if (info->loaded) {
			assert_string_equal(info->reason, "");
			continue;
		}
		unsupported++;
		assert_true(info->reason[0] != '\0');
		assert_non_null(strstr(info->reason, "LogonId"));
		expected = 0;
		for (k = 0; k < 2; k++)
			if (strcmp(info->id, expected_unsupported[k]) == 0)
				expected = 1;
		assert_true(expected);
	}
	assert_int_equal(unsupported, 2);
	assert_null(mamori_sigma_rule_info(rs, i));
	mamori_sigma_ruleset_free(rs);
}

static void
test_corpus_everything_offline(void **state)
{
	struct mamori_sigma_dynamic *d;
	struct mamori_sigma_ruleset *rs;
	struct mamori_sigma_schema schema;

	(void)state;
	assert_int_equal(mamori_sigma_dynamic_new(&d), 0);
	mamori_sigma_dynamic_schema(d, &schema);
	assert_int_equal(mamori_sigma_ruleset_new(&schema, &rs), 0);
	assert_int_equal(mamori_sigma_ruleset_add_path(rs, SIGMA_DIR), 0);
	assert_int_equal(mamori_sigma_ruleset_compile(rs), 0);
	/* Every Linux rule, auditd and builtin included, compiles. */
	assert_int_equal(mamori_sigma_ruleset_count(rs), 214);
	assert_int_equal(mamori_sigma_ruleset_loaded(rs), 214);
	assert_int_equal(mamori_sigma_ruleset_add_path(rs,
	    SIGMA_DIR "/nonexistent"), MAMORI_ERR_NOT_FOUND);
	mamori_sigma_ruleset_free(rs);
	mamori_sigma_dynamic_free(d);
}

/* Matches an ingest event; returns 1 when the rule with id matched,
 * and checks that no rule of another category did. */
static int
ingest_hits(struct mamori_sigma_ruleset *rs, uint32_t cat,
    const struct mamori_sigma_slot *slots, const char *id)
{
	const struct mamori_sigma_rule_info *info;
	struct mamori_sigma_matcher *m;
	const uint32_t *hits;
	size_t n, i;
	int found = 0;

	assert_int_equal(mamori_sigma_matcher_new(rs, &m), 0);
	assert_int_equal(mamori_sigma_match(m, cat, slots,
	    MAMORI_SIGMA_INGEST_NSLOTS, &hits, &n), 0);
	for (i = 0; i < n; i++) {
		info = mamori_sigma_rule_info(rs, hits[i]);
		if (i > 0)
			assert_true(hits[i] > hits[i - 1]);
		if (strcmp(info->id, id) == 0)
			found = 1;
		if (cat == MAMORI_SIGMA_CAT_NETWORK_CONNECTION)
			assert_string_equal(info->category,
			    "network_connection");
	}
	mamori_sigma_matcher_free(m);
	return found;
}

static void
set(struct mamori_sigma_slot *slots, uint32_t slot, const char *v)
{
	slots[slot].value = v;
	slots[slot].len = strlen(v);
	slots[slot].present = 1;
}

static void
test_corpus_matches(void **state)
{
	struct mamori_sigma_slot s[MAMORI_SIGMA_INGEST_NSLOTS];
	struct mamori_sigma_ruleset *rs = load_corpus_ingest();

	(void)state;
	/* Shell Invocation via Apt: Image|endswith /apt-get and the
	 * Pre-Invoke option. */
	memset(s, 0, sizeof(s));
	set(s, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, "/usr/bin/apt-get");
	set(s, MAMORI_SIGMA_SLOT_PROCESS_COMMAND_LINE, "apt-get update -o "
	    "APT::Update::Pre-Invoke::=/bin/sh");
	assert_true(ingest_hits(rs, MAMORI_SIGMA_CAT_PROCESS_CREATION, s,
	    "bb382fd5-b454-47ea-a264-1828e4c766d6"));
	/* Near miss: same command line from another program. */
	set(s, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, "/usr/bin/apt-cache");
	assert_false(ingest_hits(rs, MAMORI_SIGMA_CAT_PROCESS_CREATION, s,
	    "bb382fd5-b454-47ea-a264-1828e4c766d6"));
	/* The right event under another category matches nothing of it. */
	set(s, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, "/usr/bin/apt-get");
	assert_false(ingest_hits(rs, MAMORI_SIGMA_CAT_FILE_EVENT, s,
	    "bb382fd5-b454-47ea-a264-1828e4c766d6"));

	/* Crypto mining pool (network_connection). */
	memset(s, 0, sizeof(s));
	set(s, MAMORI_SIGMA_SLOT_DESTINATION_DOMAIN, "POOL.minexmr.com");
	set(s, MAMORI_SIGMA_SLOT_INITIATED, "true");
	assert_true(ingest_hits(rs, MAMORI_SIGMA_CAT_NETWORK_CONNECTION, s,
	    "a46c93b7-55ed-4d27-a41b-c259456c4746"));
	set(s, MAMORI_SIGMA_SLOT_DESTINATION_DOMAIN, "pool.minexmr.com.evil");
	assert_false(ingest_hits(rs, MAMORI_SIGMA_CAT_NETWORK_CONNECTION, s,
	    "a46c93b7-55ed-4d27-a41b-c259456c4746"));

	/* LocaltoNet: endswith and Initiated: 'true'. */
	set(s, MAMORI_SIGMA_SLOT_DESTINATION_DOMAIN, "abc.localto.net");
	assert_true(ingest_hits(rs, MAMORI_SIGMA_CAT_NETWORK_CONNECTION, s,
	    "c4568f5d-131f-4e78-83d4-45b2da0ec4f1"));
	set(s, MAMORI_SIGMA_SLOT_INITIATED, "false");
	assert_false(ingest_hits(rs, MAMORI_SIGMA_CAT_NETWORK_CONNECTION, s,
	    "c4568f5d-131f-4e78-83d4-45b2da0ec4f1"));

	/* Execution from /tmp (startswith), and its filter. */
	memset(s, 0, sizeof(s));
	set(s, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, "/tmp/.x/miner");
	set(s, MAMORI_SIGMA_SLOT_PROCESS_COMMAND_LINE, "/tmp/.x/miner -o a");
	assert_true(ingest_hits(rs, MAMORI_SIGMA_CAT_PROCESS_CREATION, s,
	    "312b42b1-bded-4441-8b58-163a3af58775"));
	set(s, MAMORI_SIGMA_SLOT_PROCESS_EXECUTABLE, "/usr/tmp/miner");
	assert_false(ingest_hits(rs, MAMORI_SIGMA_CAT_PROCESS_CREATION, s,
	    "312b42b1-bded-4441-8b58-163a3af58775"));
	mamori_sigma_ruleset_free(rs);
}

static int
scan_match(void *arg, uint64_t line, uint32_t rule)
{
	uint64_t *lines = arg;

	(void)rule;
	lines[0]++;
	lines[lines[0]] = line;
	return 0;
}

static void
scan_bad(void *arg, uint64_t line, const char *reason)
{
	(void)arg;
	(void)line;
	assert_true(reason[0] != '\0');
}

static void
test_scan_jsonl(void **state)
{
	const char *rule = "title: t\nid: x1\nlogsource:\n  product: linux\n"
	    "detection:\n  sel:\n    Image|endswith: '/nc'\n"
	    "    DestinationPort: 4444\n  condition: sel\n";
	const char *events =
	    "{\"Image\": \"/usr/bin/nc\", \"DestinationPort\": 4444}\n"
	    "{\"Image\": \"/usr/bin/nc\", \"DestinationPort\": 80}\n"
	    "not json\n"
	    "\n"
	    "[1]\n"
	    "{\"Image\": \"/bin/NC\", \"DestinationPort\": \"4444\"}\n";
	struct mamori_sigma_dynamic *d;
	struct mamori_sigma_ruleset *rs;
	struct mamori_sigma_schema schema;
	struct mamori_sigma_scan_stats st;
	struct mamori_sigma_scan_cb cb;
	uint64_t lines[8] = {0};
	FILE *f;

	(void)state;
	assert_int_equal(mamori_sigma_dynamic_new(&d), 0);
	mamori_sigma_dynamic_schema(d, &schema);
	assert_int_equal(mamori_sigma_ruleset_new(&schema, &rs), 0);
	assert_int_equal(mamori_sigma_ruleset_add_yaml(rs, "r", rule,
	    strlen(rule)), 0);
	assert_int_equal(mamori_sigma_ruleset_compile(rs), 0);
	assert_non_null(f = tmpfile());
	assert_int_equal(fputs(events, f) >= 0, 1);
	rewind(f);
	cb.arg = lines;
	cb.on_match = scan_match;
	cb.on_bad = scan_bad;
	assert_int_equal(mamori_sigma_scan_jsonl(rs, d, f, &cb, &st), 0);
	assert_int_equal(st.lines, 6);
	assert_int_equal(st.events, 3);
	assert_int_equal(st.bad, 2);
	assert_int_equal(st.matches, 2);
	assert_int_equal(lines[0], 2);
	assert_int_equal(lines[1], 1);
	assert_int_equal(lines[2], 6);
	fclose(f);
	mamori_sigma_ruleset_free(rs);
	mamori_sigma_dynamic_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_of),
		cmocka_unit_test(test_condition_list),
		cmocka_unit_test(test_bad_conditions),
		cmocka_unit_test(test_string_modifiers),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_re),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_windash),
		cmocka_unit_test(test_exists_null_numbers),
		cmocka_unit_test(test_keywords_and_maps),
		cmocka_unit_test(test_hostile_yaml),
		cmocka_unit_test(test_corpus_ingest),
		cmocka_unit_test(test_corpus_everything_offline),
		cmocka_unit_test(test_corpus_matches),
		cmocka_unit_test(test_scan_jsonl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
