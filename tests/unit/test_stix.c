/*
 * test_stix.c - unit tests for STIX 2.1 indicators (src/detect/intel):
 * the bundle reader against the OASIS example bundles in the shared
 * corpora, the pattern grammar (operators, qualifiers, FOLLOWEDBY, escapes,
 * literals, nesting, precedence) and its syntax errors with their offsets,
 * the compiler's supported subset and its reasons, and the matcher (hashes,
 * IPv4/IPv6 addresses and CIDRs, domains, URLs, AND/OR, misses).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "intel.h"
#include "stix_bundle.h"
#include "stix_pattern.h"

#define STIX_DIR CORPORA "/stix"
#define DUMP_MAX 2048

static const char sha_a[] =
    "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c";
static const char md5_a[] = "00112233445566778899aabbccddeeff";

/* ---- corpus bundles ---- */

struct corpus_case {
	const char *file;
	size_t nind;
	size_t nother;
	const char *supported; /* per indicator, in order: 1 or 0 */
};

static const struct corpus_case corpus[] = {
	{"indicator-for-c2-ip-address.json", 1, 0, "1"},
	{"indicator-for-malicious-url.json", 1, 2, "1"},
	{"indicators-for-C2-with-COA.json", 2, 6, "11"},
	{"infrastructure.json", 0, 10, ""},
	{"malicious-email-indicator-with-attachment.json", 2, 4, "00"},
	{"malware-indicator-for-file-hash.json", 1, 2, "1"},
	/* CBricksDoc and CPiShellPutDoc are file:name patterns; one domain is
	 * written 'domain autuo.xicp.net', not a host name */
	{"poisonivy.json", 25, 130, "1111111110011111111111110"},
	{"sighting-of-an-indicator.json", 1, 3, "1"},
};

static struct mamori_stix_bundle *
load(const char *file)
{
	char path[512], err[256];
	struct mamori_stix_bundle *b = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/%s", STIX_DIR, file);
	r = mamori_stix_bundle_load(path, &b, err, sizeof(err));
	if (r != 0)
		fail_msg("%s: %s", file, err);
	assert_non_null(b);
	return b;
}

static void
test_corpus_bundles(void **state)
{
	struct mamori_stix_bundle *b;
	size_t i, j, nsup;

	(void)state;
	for (i = 0; i < sizeof(corpus) / sizeof(corpus[0]); i++) {
		b = load(corpus[i].file);
		assert_int_equal(b->nind, corpus[i].nind);
		assert_int_equal(b->nother, corpus[i].nother);
		assert_int_equal(strlen(corpus[i].supported), b->nind);
		for (nsup = 0, j = 0; j < b->nind; j++) {
			int want = corpus[i].supported[j] == '1';

			if ((b->ind[j].compiled != NULL) != want)
				fail_msg("%s indicator %zu (%s): supported %d, "
				    "reason '%s'", corpus[i].file, j,
				    b->ind[j].id, !want, b->ind[j].reason);
			/* never unsupported without a reason */
			if (!want)
				assert_true(b->ind[j].reason[0] != '\0');
			assert_non_null(b->ind[j].id);
			assert_non_null(b->ind[j].pattern);
			nsup += (size_t)want;
		}
		assert_int_equal(b->nsupported, nsup);
		mamori_stix_bundle_free(b);
	}
}

static void
test_corpus_fields(void **state)
{
	struct mamori_stix_bundle *b;
	const struct mamori_stix_indicator *ind;

	(void)state;
	b = load("poisonivy.json");
	ind = &b->ind[1];
	assert_string_equal(ind->id,
	    "indicator--329ae6e9-25bd-49e8-89d1-aae4ca52e4a7");
	assert_string_equal(ind->name, "www.webserver.dynssl.com");
	assert_string_equal(ind->pattern_type, "stix");
	assert_non_null(ind->valid_from);
	/* one domain OR five addresses: six alternatives */
	assert_int_equal(ind->compiled->nconj, 6);
	assert_int_equal(ind->compiled->terms[0].kind, MAMORI_STIX_DOMAIN);
	assert_string_equal(ind->compiled->terms[0].value,
	    "www.webserver.dynssl.com");
	assert_non_null(strstr(b->ind[10].reason, "file:name"));
	assert_non_null(strstr(b->ind[9].reason, "not a host name"));
	mamori_stix_bundle_free(b);

	b = load("malicious-email-indicator-with-attachment.json");
	assert_non_null(strstr(b->ind[0].reason, "email-message"));
	assert_int_equal(b->ind[0].nlabels, 1);
	assert_string_equal(b->ind[0].labels[0], "malicious-activity");
	assert_int_equal(b->ind[0].nkill_chain, 0);
	mamori_stix_bundle_free(b);
}

static void
test_bundle_refused(void **state)
{
	struct mamori_stix_bundle *b = (void *)1;
	char err[256], deep[200];
	size_t i;

	(void)state;
	assert_int_equal(mamori_stix_bundle_parse("{", 1, "x", &b, err,
	    sizeof(err)), MAMORI_ERR_STIX_BUNDLE);
	assert_null(b);
	assert_non_null(strstr(err, "not valid JSON"));
	assert_int_equal(mamori_stix_bundle_parse("{\"type\":\"indicator\"}",
	    20, "x", &b, err, sizeof(err)), MAMORI_ERR_STIX_BUNDLE);
	assert_int_equal(mamori_stix_bundle_parse(
	    "{\"type\":\"bundle\",\"objects\":3}", 29, "x", &b, err,
	    sizeof(err)), MAMORI_ERR_STIX_BUNDLE);
	for (i = 0; i < sizeof(deep) / 2; i++) {
		deep[i] = '[';
		deep[sizeof(deep) - 1 - i] = ']';
	}
	assert_int_equal(mamori_stix_bundle_parse(deep, sizeof(deep), "x", &b,
	    err, sizeof(err)), MAMORI_ERR_TOO_LARGE);
	assert_null(b);
}

static void
test_bundle_indicator_problems(void **state)
{
	static const char json[] = "{\"type\":\"bundle\",\"id\":\"bundle--1\","
	    "\"objects\":["
	    "{\"type\":\"indicator\",\"id\":\"indicator--1\","
	    "\"pattern\":\"[domain-name:value = 'a.example']\","
	    "\"pattern_type\":\"sigma\"},"
	    "{\"type\":\"indicator\",\"id\":\"indicator--2\"},"
	    "{\"type\":\"indicator\",\"id\":\"indicator--3\","
	    "\"pattern\":\"[domain-name:value = 'a.example'\","
	    "\"pattern_type\":\"stix\"},"
	    "{\"type\":\"indicator\",\"id\":\"indicator--4\","
	    "\"pattern\":\"[domain-name:value = 'a.example']\","
	    "\"pattern_type\":\"stix\",\"kill_chain_phases\":[{"
	    "\"kill_chain_name\":\"mitre-attack\",\"phase_name\":"
	    "\"command-and-control\"}],\"external_references\":["
	    "{\"source_name\":\"mitre-attack\",\"external_id\":\"T1071\"}]},"
	    "{\"type\":\"malware\"}, 7]}";
	struct mamori_stix_bundle *b = NULL;
	char err[256];

	(void)state;
	assert_int_equal(mamori_stix_bundle_parse(json, sizeof(json) - 1,
	    "inline", &b, err, sizeof(err)), 0);
	assert_int_equal(b->nind, 4);
	assert_int_equal(b->nother, 2);
	assert_int_equal(b->nsupported, 1);
	assert_string_equal(b->id, "bundle--1");
	assert_string_equal(b->source, "inline");
	assert_non_null(strstr(b->ind[0].reason, "pattern_type 'sigma'"));
	assert_non_null(strstr(b->ind[1].reason, "no pattern"));
	assert_non_null(strstr(b->ind[2].reason, "syntax error at byte 32"));
	assert_non_null(b->ind[3].compiled);
	assert_int_equal(b->ind[3].nattack_ids, 1);
	assert_string_equal(b->ind[3].attack_ids[0], "T1071");
	assert_int_equal(b->ind[3].nkill_chain, 1);
	assert_string_equal(b->ind[3].kill_chain[0],
	    "mitre-attack:command-and-control");
	mamori_stix_bundle_free(b);
}

/* ---- grammar ---- */

static void
assert_parses(const char *pattern, const char *dump)
{
	struct mamori_stix_pattern *p = NULL;
	struct mamori_stix_error e;
	char out[DUMP_MAX];
	int r;

	r = mamori_stix_pattern_parse(pattern, strlen(pattern), &p, &e);
	if (r != 0)
		fail_msg("'%s' refused at %zu: %s", pattern, e.pos, e.msg);
	if (dump != NULL) {
		assert_int_equal(mamori_stix_pattern_dump(p, out, sizeof(out)),
		    0);
		if (strcmp(out, dump) != 0)
			fail_msg("'%s' parsed as '%s', expected '%s'", pattern,
			    out, dump);
	}
	mamori_stix_pattern_free(p);
}

static void
test_grammar_valid(void **state)
{
	static const char *const valid[] = {
		"[file:hashes.'SHA-256' = 'abc']",
		"[file:hashes.MD5 == 'abc']",
		"[a:b != 1]", "[a:b <> 1]", "[a:b < 1]", "[a:b <= +1]",
		"[a:b > -1]", "[a:b >= 1.5]", "[a:b > -.5]",
		"[a:b IN ('x', 1, true, false, h'00', t'2020-01-01T00:00:00Z')]",
		"[a:b IN ()]",
		"[a:b LIKE 'x%']", "[a:b MATCHES '^x$']",
		"[a:b ISSUBSET '10.0.0.0/8']", "[a:b ISSUPERSET '10.0.0.0/8']",
		"[a:b NOT = 1]", "[a:b NOT IN (1, 2)]", "[a:b NOT LIKE 'x']",
		"[EXISTS a:b]", "[NOT EXISTS a:b.c]",
		"[a:b = true]", "[a:b = b'AQIDBA==']", "[a:b = b'AQID']",
		"[a:b = b'AQ==']", "[a:b = h'']",
		"[a:b[*].c = 1]", "[a:b[0].'c d'[-1] = 1]",
		"[x-custom-type:x_prop = 1]",
		"[a:'quoted first' = 1]",
		"[a:b = 1] REPEATS 5 TIMES",
		"[a:b = 1] WITHIN 300 SECONDS",
		"[a:b = 1] WITHIN 0.5 SECONDS",
		"[a:b = 1] START t'2016-06-01T00:00:00Z' STOP "
		    "t'2016-07-01T00:00:00.123Z'",
		"[a:b = 1] REPEATS 2 TIMES WITHIN 10 SECONDS",
		"([a:b = 1] AND [c:d = 2]) WITHIN 1 SECONDS",
		"[a:b = 1] FOLLOWEDBY [c:d = 2]",
		"(([a:b = 1]))",
		"[((a:b = 1 OR (c:d = 2)) AND e:f = 3)]",
		"/* comment */ [a:b = 1] // trailing",
		"\t[a:b\n=\r1]\xc2\xa0",
		"[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' "
		    "AND email-message:body_multipart[*].body_raw_ref.name "
		    "MATCHES '^Final Report.+\\\\.exe$']",
		"[network-traffic:dst_ref.type = 'ipv4-addr' AND "
		    "network-traffic:dst_ref.value = '203.0.113.33/32']",
		"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\System\\\\Foo']",
		"[file:extensions.'windows-pebinary-ext'.sections[*].entropy > "
		    "7.0]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		assert_parses(valid[i], NULL);
}

static void
test_grammar_precedence(void **state)
{
	(void)state;
	/* AND binds tighter than OR, inside and between observations */
	assert_parses("[a:b = 1 OR c:d = 2 AND e:f = 3]",
	    "[(a:b = 1 OR (c:d = 2 AND e:f = 3))]");
	assert_parses("[a:b = 1 AND c:d = 2 OR e:f = 3]",
	    "[((a:b = 1 AND c:d = 2) OR e:f = 3)]");
	assert_parses("[a:b = 1] OR [c:d = 2] AND [e:f = 3]",
	    "([a:b = 1] OR ([c:d = 2] AND [e:f = 3]))");
	/* FOLLOWEDBY is the loosest */
	assert_parses("[a:b = 1] FOLLOWEDBY [c:d = 2] OR [e:f = 3]",
	    "([a:b = 1] FOLLOWEDBY ([c:d = 2] OR [e:f = 3]))");
	/* parentheses override */
	assert_parses("[(a:b = 1 OR c:d = 2) AND e:f = 3]",
	    "[((a:b = 1 OR c:d = 2) AND e:f = 3)]");
	/* a chain of one operator is one node */
	assert_parses("[a:b = 1 OR c:d = 2 OR e:f = 3]",
	    "[(a:b = 1 OR c:d = 2 OR e:f = 3)]");
	/* a qualifier binds to the observation before it */
	assert_parses("[a:b = 1] OR [c:d = 2] WITHIN 5 SECONDS",
	    "([a:b = 1] OR ([c:d = 2] WITHIN 5 SECONDS))");
	assert_parses("[a:b = 1] REPEATS 2 TIMES WITHIN 10 SECONDS",
	    "(([a:b = 1] REPEATS 2 TIMES) WITHIN 10 SECONDS)");
	/* canonical spelling of operators and literals */
	assert_parses("[a:b == 1 AND c:d <> 2 AND e:f NOT IN ('x','y')]",
	    "[(a:b = 1 AND c:d != 2 AND e:f NOT IN ('x', 'y'))]");
	assert_parses("[NOT EXISTS a:b[*].'c-d']",
	    "[NOT EXISTS a:b[*].'c-d']");
}

static void
test_grammar_escapes(void **state)
{
	struct mamori_stix_pattern *p = NULL;
	struct mamori_stix_compiled *c = NULL;
	char reason[MAMORI_STIX_REASON_MAX];
	static const char pat[] =
	    "[url:value = 'http://x.example/it\\'s/a\\\\b']";

	(void)state;
	/* the dump re-escapes what the parser decoded */
	assert_parses("[a:b = 'it\\'s \\\\ here']", "[a:b = 'it\\'s \\\\ here']");
	assert_int_equal(mamori_stix_pattern_parse(pat, strlen(pat), &p, NULL),
	    0);
	assert_int_equal(mamori_stix_pattern_compile(p, &c, reason,
	    sizeof(reason)), 0);
	assert_string_equal(c->terms[0].value, "http://x.example/it's/a\\b");
	mamori_stix_compiled_free(c);
	mamori_stix_pattern_free(p);
}

static void
assert_syntax_error(const char *pattern, size_t pos, const char *msg)
{
	struct mamori_stix_pattern *p = (void *)1;
	struct mamori_stix_error e;
	int r;

	r = mamori_stix_pattern_parse(pattern, strlen(pattern), &p, &e);
	if (r == 0)
		fail_msg("'%s' accepted", pattern);
	assert_null(p);
	if (e.pos != pos || strstr(e.msg, msg) == NULL)
		fail_msg("'%s': error at %zu '%s', expected at %zu '%s'",
		    pattern, e.pos, e.msg, pos, msg);
}

static void
test_grammar_errors(void **state)
{
	char deep[300];
	size_t i;

	(void)state;
	assert_syntax_error("", 0, "expected '[' or '('");
	assert_syntax_error("[a:b = 1", 8, "expected ']'");
	assert_syntax_error("[a:b = 'x]", 7, "string not closed");
	assert_syntax_error("[a:b = 'x\\n']", 9, "invalid escape");
	assert_syntax_error("[a:c-d = 1]", 3, "name with '-'");
	assert_syntax_error("[a:b = 1] WITHIN -5 SECONDS", 17,
	    "negative number");
	assert_syntax_error("[a:b = 1] WITHIN 5", 18, "expected SECONDS");
	assert_syntax_error("[a:b = 1] REPEATS 1.5 TIMES", 18,
	    "expected a positive integer");
	assert_syntax_error("[a:b = 1] AND", 13, "expected '[' or '('");
	assert_syntax_error("[a:b LIKE 1]", 10, "expected a string");
	assert_syntax_error("[a:b > true]", 7, "expected a value");
	assert_syntax_error("[a:b = 007]", 7, "leading zero");
	assert_syntax_error("[a:b = t'2016-13-01T00:00:00Z']", 7,
	    "invalid timestamp");
	assert_syntax_error("[a:b = h'f']", 7, "pairs of hex digits");
	assert_syntax_error("[a:b = h'zz']", 9, "invalid hex digit");
	assert_syntax_error("[a:b = b'A=B=']", 7, "base64");
	assert_syntax_error("[a:b = 1]]", 9, "expected end of pattern");
	assert_syntax_error("[a:b = 1] [c:d = 2]", 10,
	    "expected end of pattern");
	assert_syntax_error("[AND:b = 1]", 1, "expected an object type");
	assert_syntax_error("[a:b = 1 OR]", 11, "expected an object type");
	assert_syntax_error("[a:b IN (1 2)]", 11, "expected ',' or ')'");
	assert_syntax_error("[a:b = 1 /* x]", 9, "comment not closed");
	assert_syntax_error("[a:b = 1] and [c:d = 2]", 10,
	    "expected end of pattern");
	assert_syntax_error("[a:b @ 1]", 5, "unexpected '@'");
	assert_syntax_error("[a:b[x] = 1]", 5, "expected an index");
	assert_syntax_error("[a:b = 1] START t'2016-01-01T00:00:00Z'", 39,
	    "expected STOP");
	for (i = 0; i < sizeof(deep) - 1; i++)
		deep[i] = '(';
	deep[sizeof(deep) - 1] = '\0';
	assert_syntax_error(deep, 64, "nested deeper than");
}

/* ---- compiler ---- */

static struct mamori_stix_compiled *
compile_ok(const char *pattern)
{
	struct mamori_stix_pattern *p = NULL;
	struct mamori_stix_compiled *c = NULL;
	char reason[MAMORI_STIX_REASON_MAX];

	assert_int_equal(mamori_stix_pattern_parse(pattern, strlen(pattern),
	    &p, NULL), 0);
	if (mamori_stix_pattern_compile(p, &c, reason, sizeof(reason)) != 0)
		fail_msg("'%s' not compiled: %s", pattern, reason);
	mamori_stix_pattern_free(p);
	return c;
}

static void
assert_unsupported(const char *pattern, const char *why)
{
	struct mamori_stix_pattern *p = NULL;
	struct mamori_stix_compiled *c = (void *)1;
	char reason[MAMORI_STIX_REASON_MAX];

	assert_int_equal(mamori_stix_pattern_parse(pattern, strlen(pattern),
	    &p, NULL), 0);
	assert_int_equal(mamori_stix_pattern_compile(p, &c, reason,
	    sizeof(reason)), MAMORI_ERR_STIX_UNSUPPORTED);
	assert_null(c);
	if (strstr(reason, why) == NULL)
		fail_msg("'%s': reason '%s', expected '%s'", pattern, reason,
		    why);
	mamori_stix_pattern_free(p);
}

static void
test_compile_supported(void **state)
{
	static const char *const hashes[] = {
		"'SHA-256'", "SHA256", "sha256", "'sha-256'",
	};
	struct mamori_stix_compiled *c;
	char pat[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		snprintf(pat, sizeof(pat), "[file:hashes.%s = '%s']", hashes[i],
		    "EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C");
		c = compile_ok(pat);
		assert_int_equal(c->nconj, 1);
		assert_int_equal(c->terms[0].kind, MAMORI_STIX_SHA256);
		assert_string_equal(c->terms[0].value, sha_a);
		assert_null(c->note);
		mamori_stix_compiled_free(c);
	}
	c = compile_ok("[file:hashes.'SHA-1' = "
	    "'da39a3ee5e6b4b0d3255bfef95601890afd80709']");
	assert_int_equal(c->terms[0].kind, MAMORI_STIX_SHA1);
	assert_non_null(strstr(c->note, "SHA-256 only"));
	mamori_stix_compiled_free(c);
	c = compile_ok("[file:hashes.MD5 = h'00112233445566778899AABBCCDDEEFF']");
	assert_int_equal(c->terms[0].kind, MAMORI_STIX_MD5);
	assert_string_equal(c->terms[0].value, md5_a);
	mamori_stix_compiled_free(c);

	/* host bits of a CIDR are cleared */
	c = compile_ok("[ipv4-addr:value = '223.167.1.2/15']");
	assert_string_equal(c->terms[0].value, "223.166.0.0/15");
	assert_int_equal(c->terms[0].prefix, 96 + 15);
	mamori_stix_compiled_free(c);
	c = compile_ok("[ipv6-addr:value = '2001:DB8::1/32']");
	assert_string_equal(c->terms[0].value, "2001:db8::/32");
	mamori_stix_compiled_free(c);
	c = compile_ok("[ipv4-addr:value ISSUBSET '10.0.0.0/8']");
	assert_string_equal(c->terms[0].value, "10.0.0.0/8");
	mamori_stix_compiled_free(c);
	c = compile_ok("[domain-name:value = 'WWW.Example.COM.']");
	assert_string_equal(c->terms[0].value, "www.example.com");
	mamori_stix_compiled_free(c);
	c = compile_ok("[url:value = 'HTTP://Paypa1.Banking.com']");
	assert_string_equal(c->terms[0].value, "http://paypa1.banking.com/");
	mamori_stix_compiled_free(c);

	/* IN is an OR; AND distributes over OR; duplicates collapse */
	c = compile_ok("[ipv4-addr:value IN ('1.2.3.4', '10.0.0.0/8')]");
	assert_int_equal(c->nconj, 2);
	mamori_stix_compiled_free(c);
	c = compile_ok("[(ipv4-addr:value = '1.1.1.1' OR ipv4-addr:value = "
	    "'2.2.2.2') AND domain-name:value = 'c2.example']");
	assert_int_equal(c->nconj, 2);
	assert_int_equal(c->conj[0].count, 2);
	assert_int_equal(c->conj[1].count, 2);
	mamori_stix_compiled_free(c);
	c = compile_ok("[domain-name:value = 'a.example' AND domain-name:value "
	    "= 'A.example']");
	assert_int_equal(c->nconj, 1);
	assert_int_equal(c->conj[0].count, 1);
	mamori_stix_compiled_free(c);
	c = compile_ok("[url:value = 'http://a.example/'] OR "
	    "([domain-name:value = 'b.example'])");
	assert_int_equal(c->nconj, 2);
	mamori_stix_compiled_free(c);

	/* two hashes of one file: both needed; mamori events carry SHA-256 */
	snprintf(pat, sizeof(pat), "[file:hashes.MD5 = '%s' AND "
	    "file:hashes.'SHA-256' = '%s']", md5_a, sha_a);
	c = compile_ok(pat);
	assert_int_equal(c->nconj, 1);
	assert_int_equal(c->conj[0].count, 2);
	assert_non_null(strstr(c->note, "SHA-256 only"));
	mamori_stix_compiled_free(c);
}

static void
test_compile_unsupported(void **state)
{
	char pat[256];

	(void)state;
	assert_unsupported("[file:name = 'x.exe']", "file:name");
	assert_unsupported("[file:hashes.'SHA-512' = 'ab']", "SHA-512");
	assert_unsupported("[file:hashes.MD5 = 'xyz']", "is not 32 hex digits");
	assert_unsupported("[file:hashes.MD5 = 5]", "not a string");
	assert_unsupported("[email-message:subject MATCHES 'x']",
	    "object type email-message");
	assert_unsupported("[ipv4-addr:resolves_to_refs[*].value = '1.2.3.4']",
	    "only value");
	assert_unsupported("[domain-name:value LIKE '%.example']",
	    "operator LIKE");
	assert_unsupported("[ipv4-addr:value NOT = '1.2.3.4']", "negated");
	assert_unsupported("[ipv4-addr:value = '2001:db8::1']",
	    "not an IPv4 address");
	assert_unsupported("[ipv4-addr:value = '10.0.0.0/33']",
	    "not an IPv4 address");
	assert_unsupported("[domain-name:value = 'domain autuo.xicp.net']",
	    "not a host name");
	assert_unsupported("[domain-name:value = 'com']", "single label");
	assert_unsupported("[url:value = 'not a url']", "not a URL");
	assert_unsupported("[ipv4-addr:value IN ()]", "empty set");
	assert_unsupported("[EXISTS file:name]", "EXISTS");
	assert_unsupported("[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY "
	    "[ipv4-addr:value = '5.6.7.8']", "FOLLOWEDBY");
	assert_unsupported("[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS",
	    "qualifier WITHIN");
	assert_unsupported("[ipv4-addr:value = '1.2.3.4'] REPEATS 2 TIMES",
	    "qualifier REPEATS");
	assert_unsupported("[ipv4-addr:value = '1.2.3.4'] START "
	    "t'2016-01-01T00:00:00Z' STOP t'2017-01-01T00:00:00Z'",
	    "START/STOP");
	assert_unsupported("[ipv4-addr:value = '1.2.3.4'] AND "
	    "[domain-name:value = 'x.example']", "AND between observations");
	/* one unsupported part makes the whole indicator unsupported */
	snprintf(pat, sizeof(pat), "[file:hashes.'SHA-256' = '%s' AND "
	    "file:name = 'x.exe']", sha_a);
	assert_unsupported(pat, "file:name");
	assert_unsupported("[domain-name:value = 'a.example' OR "
	    "file:size > 10]", "file:size");
	/* contradictions */
	snprintf(pat, sizeof(pat), "[file:hashes.MD5 = '%s' AND "
	    "file:hashes.MD5 = 'ffffffffffffffffffffffffffffffff']", md5_a);
	assert_unsupported(pat, "can never both hold");
	assert_unsupported("[ipv4-addr:value = '1.1.1.1' AND "
	    "ipv4-addr:value = '2.2.2.2']", "can never both hold");
}

/* ---- matcher ---- */

struct fixture {
	struct mamori_intel *set;
	struct mamori_stix_indicator ind[16];
	size_t n;
};

/* Adds an indicator with pattern to f's set. */
static void
add(struct fixture *f, const char *id, const char *pattern)
{
	struct mamori_stix_indicator *ind = &f->ind[f->n++];
	struct mamori_stix_pattern *p = NULL;

	memset(ind, 0, sizeof(*ind));
	ind->id = (char *)id;
	ind->name = (char *)id;
	ind->pattern = (char *)pattern;
	assert_int_equal(mamori_stix_pattern_parse(pattern, strlen(pattern),
	    &p, NULL), 0);
	assert_int_equal(mamori_stix_pattern_compile(p, &ind->compiled,
	    ind->reason, sizeof(ind->reason)), 0);
	mamori_stix_pattern_free(p);
	assert_int_equal(mamori_intel_add(f->set, ind, "test"), 0);
	mamori_stix_compiled_free(ind->compiled);
	ind->compiled = NULL;
}

static char matched[2048];

/* The ids matched by obs, sorted, space-separated ("" for none). */
static const char *
match(struct fixture *f, const struct mamori_intel_obs *obs)
{
	struct mamori_intel_match m[16];
	const char *ids[16], *tmp;
	size_t n = 0, i, j;

	assert_int_equal(mamori_intel_match(f->set, obs, m, 16, &n), 0);
	for (i = 0; i < n; i++)
		ids[i] = m[i].id;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(ids[j], ids[i]) < 0) {
				tmp = ids[i];
				ids[i] = ids[j];
				ids[j] = tmp;
			}
	matched[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strncat(matched, " ", sizeof(matched) - strlen(matched) - 1);
		strncat(matched, ids[i], sizeof(matched) - strlen(matched) - 1);
	}
	return matched;
}

static const char *
match_ip(struct fixture *f, const char *ip)
{
	struct mamori_intel_obs o = {0};

	o.ip = ip;
	return match(f, &o);
}

static const char *
match_host(struct fixture *f, const char *host)
{
	struct mamori_intel_obs o = {0};

	o.host = host;
	return match(f, &o);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || mamori_intel_new(&f->set) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	mamori_intel_free(f->set);
	free(f);
	return 0;
}

static void
test_match_hashes(void **state)
{
	struct fixture *f = *state;
	struct mamori_intel_obs o = {0};
	char pat[256], upper[65];
	size_t i;

	snprintf(pat, sizeof(pat), "[file:hashes.'SHA-256' = '%s']", sha_a);
	add(f, "h1", pat);
	snprintf(pat, sizeof(pat), "[file:hashes.MD5 = '%s']", md5_a);
	add(f, "h2", pat);
	for (i = 0; i < 64; i++)
		upper[i] = (char)(sha_a[i] >= 'a' ? sha_a[i] - 32 : sha_a[i]);
	upper[64] = '\0';
	o.sha256 = upper;
	assert_string_equal(match(f, &o), "h1");
	o.sha256 = sha_a;
	o.md5 = md5_a;
	assert_string_equal(match(f, &o), "h1 h2");
	o.sha256 = NULL;
	o.md5 = NULL;
	o.sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
	assert_string_equal(match(f, &o), "");
	/* a SHA-256 that is also... no MD5 under the SHA-256 key */
	o.sha1 = NULL;
	o.sha256 =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	assert_string_equal(match(f, &o), "");
}

static void
test_match_ipv4(void **state)
{
	struct fixture *f = *state;
	struct mamori_intel_obs o = {0};
	static const uint8_t raw[4] = {223, 167, 0, 1};
	struct mamori_intel_match m[4];
	size_t n;

	add(f, "cidr15", "[ipv4-addr:value = '223.166.0.0/15']");
	add(f, "cidr8", "[ipv4-addr:value ISSUBSET '223.0.0.0/8']");
	add(f, "exact", "[ipv4-addr:value = '10.0.0.0']");
	add(f, "cidr24", "[ipv4-addr:value = '198.51.100.0/24']");
	add(f, "cidr31", "[ipv4-addr:value = '198.51.100.6/31']");
	assert_string_equal(match_ip(f, "223.167.255.255"), "cidr15 cidr8");
	assert_string_equal(match_ip(f, "223.166.0.0"), "cidr15 cidr8");
	assert_string_equal(match_ip(f, "223.168.0.0"), "cidr8");
	assert_string_equal(match_ip(f, "223.165.255.255"), "cidr8");
	assert_string_equal(match_ip(f, "224.0.0.1"), "");
	assert_string_equal(match_ip(f, "10.0.0.0"), "exact");
	assert_string_equal(match_ip(f, "10.0.0.1"), "");
	/* prefixes of /16 and longer go through the /16 filter */
	assert_string_equal(match_ip(f, "198.51.100.255"), "cidr24");
	assert_string_equal(match_ip(f, "198.51.100.7"), "cidr24 cidr31");
	assert_string_equal(match_ip(f, "198.51.100.8"), "cidr24");
	assert_string_equal(match_ip(f, "198.51.101.0"), "");
	assert_string_equal(match_ip(f, "198.50.100.6"), "");
	/* an IPv4-mapped IPv6 address is the IPv4 address */
	assert_string_equal(match_ip(f, "::ffff:10.0.0.0"), "exact");
	o.ip_bytes = raw;
	o.ip_len = 4;
	/* longest prefix first, the value that matched reported */
	assert_int_equal(mamori_intel_match(f->set, &o, m, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].id, "cidr15");
	assert_string_equal(m[0].value, "223.166.0.0/15");
	assert_int_equal(m[0].kind, MAMORI_STIX_IPV4);
	assert_string_equal(m[0].source, "test");
	assert_string_equal(m[1].value, "223.0.0.0/8");
	/* too many for out */
	assert_int_equal(mamori_intel_match(f->set, &o, m, 1, &n),
	    MAMORI_ERR_TOO_LARGE);
	assert_int_equal(n, 1);
}

static void
test_match_ipv6(void **state)
{
	struct fixture *f = *state;

	add(f, "v6net", "[ipv6-addr:value = '2001:db8::/32']");
	add(f, "v6host", "[ipv6-addr:value = '2001:db8:0:0:0:0:0:1']");
	assert_string_equal(match_ip(f, "2001:db8::1"), "v6host v6net");
	assert_string_equal(match_ip(f, "2001:db8:ffff:ffff::1"), "v6net");
	assert_string_equal(match_ip(f, "2001:db9::1"), "");
	assert_string_equal(match_ip(f, "10.0.0.1"), "");
}

static void
test_match_domains_urls(void **state)
{
	struct fixture *f = *state;
	struct mamori_intel_obs o = {0};

	add(f, "dom", "[domain-name:value = 'evil.example']");
	add(f, "url", "[url:value = 'http://x4z9arb.cn/4712/']");
	add(f, "url2", "[url:value = 'http://paypa1.banking.com']");
	assert_string_equal(match_host(f, "evil.example"), "dom");
	assert_string_equal(match_host(f, "EVIL.Example."), "dom");
	assert_string_equal(match_host(f, "a.b.evil.example"), "dom");
	assert_string_equal(match_host(f, "notevil.example"), "");
	assert_string_equal(match_host(f, "example"), "");
	assert_string_equal(match_host(f, "evil.example.org"), "");
	o.url = "HTTP://X4Z9ARB.cn/4712/#frag";
	assert_string_equal(match(f, &o), "url");
	o.url = "http://x4z9arb.cn/4712/X";
	assert_string_equal(match(f, &o), "");
	o.url = "http://paypa1.banking.com/";
	assert_string_equal(match(f, &o), "url2");
	o.url = "http://paypa1.banking.com";
	assert_string_equal(match(f, &o), "url2");
}

static void
test_match_and_or(void **state)
{
	struct fixture *f = *state;
	struct mamori_intel_obs o = {0};
	char pat[256];

	add(f, "and", "[ipv4-addr:value = '198.51.100.7' AND "
	    "domain-name:value = 'c2.example']");
	add(f, "or", "[ipv4-addr:value = '198.51.100.8'] OR "
	    "[domain-name:value = 'c3.example']");
	snprintf(pat, sizeof(pat), "[file:hashes.MD5 = '%s' AND "
	    "file:hashes.'SHA-256' = '%s']", md5_a, sha_a);
	add(f, "both", pat);
	o.ip = "198.51.100.7";
	assert_string_equal(match(f, &o), "");
	o.host = "c2.example";
	assert_string_equal(match(f, &o), "and");
	o.ip = NULL;
	assert_string_equal(match(f, &o), "");
	o.host = "c3.example";
	assert_string_equal(match(f, &o), "or");
	o.host = NULL;
	o.ip = "198.51.100.8";
	assert_string_equal(match(f, &o), "or");
	o.ip = NULL;
	/* mamori events carry SHA-256 only: this needs the MD5 too */
	o.sha256 = sha_a;
	assert_string_equal(match(f, &o), "");
	o.md5 = md5_a;
	assert_string_equal(match(f, &o), "both");
}

static void
test_match_invalid_observables(void **state)
{
	struct fixture *f = *state;
	struct mamori_intel_obs o = {0};
	struct mamori_intel_match m[2];
	size_t n = 9;

	add(f, "dom", "[domain-name:value = 'evil.example']");
	assert_int_equal(mamori_intel_match(f->set, &o, m, 2, &n), 0);
	assert_int_equal(n, 0);
	o.sha256 = "abc";
	assert_int_equal(mamori_intel_match(f->set, &o, m, 2, &n),
	    MAMORI_ERR_INVALID);
	o.sha256 = NULL;
	o.ip = "300.1.1.1";
	assert_int_equal(mamori_intel_match(f->set, &o, m, 2, &n),
	    MAMORI_ERR_INVALID);
	o.ip = NULL;
	o.host = "evil example";
	assert_int_equal(mamori_intel_match(f->set, &o, m, 2, &n),
	    MAMORI_ERR_INVALID);
	assert_int_equal(n, 0);
}

/* More indicators on one value than an event's hits can hold: reported,
 * not silently cut. */
static void
test_match_many_hits(void **state)
{
	struct fixture *f = *state;
	struct mamori_stix_indicator ind;
	struct mamori_stix_pattern *p = NULL;
	struct mamori_intel_obs o = {0};
	static struct mamori_intel_match m[MAMORI_INTEL_HITS_MAX + 8];
	static const char pat[] = "[ipv4-addr:value = '192.0.2.1']";
	char id[32];
	size_t i, n;

	memset(&ind, 0, sizeof(ind));
	assert_int_equal(mamori_stix_pattern_parse(pat, strlen(pat), &p,
	    NULL), 0);
	assert_int_equal(mamori_stix_pattern_compile(p, &ind.compiled,
	    ind.reason, sizeof(ind.reason)), 0);
	ind.pattern = (char *)pat;
	ind.id = id;
	for (i = 0; i < MAMORI_INTEL_HITS_MAX + 1; i++) {
		snprintf(id, sizeof(id), "indicator--%zu", i);
		assert_int_equal(mamori_intel_add(f->set, &ind, NULL), 0);
	}
	mamori_stix_compiled_free(ind.compiled);
	mamori_stix_pattern_free(p);
	o.ip = "192.0.2.1";
	assert_int_equal(mamori_intel_match(f->set, &o, m,
	    sizeof(m) / sizeof(m[0]), &n), MAMORI_ERR_TOO_LARGE);
	assert_int_equal(n, MAMORI_INTEL_HITS_MAX);
	o.ip = "192.0.2.2";
	assert_int_equal(mamori_intel_match(f->set, &o, m, 1, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_match_corpus(void **state)
{
	struct fixture *f = *state;
	struct mamori_stix_bundle *b1, *b2, *b3;
	struct mamori_intel_obs o = {0};
	struct mamori_intel_match m[8];
	size_t n, added;

	b1 = load("poisonivy.json");
	b2 = load("indicators-for-C2-with-COA.json");
	b3 = load("malware-indicator-for-file-hash.json");
	assert_int_equal(mamori_intel_add_bundle(f->set, b1, &added), 0);
	assert_int_equal(added, 22);
	assert_int_equal(mamori_intel_add_bundle(f->set, b2, &added), 0);
	assert_int_equal(added, 2);
	assert_int_equal(mamori_intel_add_bundle(f->set, b3, &added), 0);
	assert_int_equal(mamori_intel_count(f->set), 25);
	mamori_stix_bundle_free(b1);
	mamori_stix_bundle_free(b2);
	mamori_stix_bundle_free(b3);
	/* one address in four poisonivy indicators */
	o.ip = "113.10.246.30";
	assert_int_equal(mamori_intel_match(f->set, &o, m, 8, &n), 0);
	assert_int_equal(n, 4);
	/* the same hash indicator from two bundles: reported with each
	 * source */
	o.ip = NULL;
	o.sha256 = sha_a;
	assert_int_equal(mamori_intel_match(f->set, &o, m, 8, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].id,
	    "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade");
	assert_string_not_equal(m[0].source, m[1].source);
	o.sha256 = NULL;
	o.host = "microsoftb.byinter.net";
	assert_int_equal(mamori_intel_match(f->set, &o, m, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].name, "microsoft.byinter.net");
	assert_string_equal(m[0].value, "microsoftb.byinter.net");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_bundles),
		cmocka_unit_test(test_corpus_fields),
		cmocka_unit_test(test_bundle_refused),
		cmocka_unit_test(test_bundle_indicator_problems),
		cmocka_unit_test(test_grammar_valid),
		cmocka_unit_test(test_grammar_precedence),
		cmocka_unit_test(test_grammar_escapes),
		cmocka_unit_test(test_grammar_errors),
		cmocka_unit_test(test_compile_supported),
		cmocka_unit_test(test_compile_unsupported),
		cmocka_unit_test_setup_teardown(test_match_hashes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_match_ipv4, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_match_ipv6, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_match_domains_urls, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_match_and_or, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_match_invalid_observables,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_many_hits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_match_corpus, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
