/*
 * test_policy.c - unit tests for the fleet policy and admin key files
 * (src/trust/policy.c, policy_json.c, key.c).
 *
 * An agent must take a policy only from the owner key it pinned, only
 * newer than the one it holds, and only in the bytes that were signed,
 * decoded strictly.  Key files must not open without their passphrase and
 * must not be readable by anyone but their owner.  The policy file people
 * write must be refused, with a message, on anything unknown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust_fixture.h"

struct state {
	struct fx f;
	struct mamori_buf sp;
	char dir[64];
};

static const struct fx_policy_opts default_policy = {
	.version = 5, .observe_from_server = 1, .quorum_collect = 1,
	.quorum_change = 2, .n_admins = 3,
};

static int
setup(void **ctx)
{
	struct state *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	fx_init(&s->f);
	mamori_buf_init(&s->sp, MAMORI_POLICY_MAX_BYTES);
	snprintf(s->dir, sizeof(s->dir), "/tmp/mamori-test-policy.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	*ctx = s;
	return 0;
}

static int
teardown(void **ctx)
{
	struct state *s = *ctx;
	struct dirent *e;
	char path[512];
	DIR *d;

	/* Only this test's own temporary directory, which holds files. */
	if ((d = opendir(s->dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", s->dir,
			    e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(s->dir);
	mamori_buf_free(&s->sp);
	fx_free(&s->f);
	free(s);
	return 0;
}

static enum mamori_decision_reason
verify(struct state *s, const uint8_t *pin, uint64_t current)
{
	struct mamori_policy *p = NULL;
	struct mamori_decision d;
	int r;

	r = mamori_policy_verify(s->sp.data, s->sp.len, pin, current, &p, &d);
	if (r == 0) {
		assert_non_null(p);
		assert_int_equal(d.reason, MAMORI_DECISION_ACCEPTED);
	} else {
		assert_int_equal(r, MAMORI_ERR_REFUSED);
		assert_null(p);
	}
	mamori_policy_free(p);
	return d.reason;
}

static void
test_valid_policy(void **ctx)
{
	struct state *s = *ctx;
	struct mamori_policy *p = NULL;
	struct mamori_decision d;

	fx_signed_policy(&s->f, &default_policy, NULL, &s->sp);
	assert_int_equal(mamori_policy_verify(s->sp.data, s->sp.len,
	    s->f.owner_fp, 4, &p, &d), 0);
	assert_int_equal(p->body->version, 5);
	assert_int_equal(p->body->n_admins, 3);
	assert_int_equal(mamori_policy_admin_index(p, "bob"), 1);
	assert_int_equal(mamori_policy_admin_index(p, "dave"), -1);
	assert_int_equal(p->signed_len, s->sp.len);
	assert_memory_equal(p->signed_bytes, s->sp.data, s->sp.len);
	assert_memory_equal(p->owner_fp, s->f.owner_fp, MAMORI_SHA256_LEN);
	mamori_policy_free(p);
}

static void
test_not_signed_by_owner(void **ctx)
{
	struct state *s = *ctx;

	/* Signed by an admin key, which travels in place of the owner's. */
	fx_signed_policy(&s->f, &default_policy, s->f.admin[0], &s->sp);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_NOT_OWNER);
	/* With the admin pinned, the body still names the real owner. */
	{
		uint8_t raw[32], fp[32];

		assert_int_equal(mamori_ed25519_public(s->f.admin[0], raw), 0);
		mamori_ed25519_fingerprint(raw, fp);
		assert_int_equal(verify(s, fp, 0), MAMORI_DECISION_NOT_OWNER);
	}
	assert_int_equal(verify(s, NULL, 0), MAMORI_DECISION_NOT_OWNER);
}

static void
test_pinned_fingerprint_mismatch(void **ctx)
{
	struct state *s = *ctx;
	uint8_t other[MAMORI_SHA256_LEN];

	fx_signed_policy(&s->f, &default_policy, NULL, &s->sp);
	memcpy(other, s->f.owner_fp, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(verify(s, other, 0), MAMORI_DECISION_NOT_OWNER);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_ACCEPTED);
}

static void
test_version_must_grow(void **ctx)
{
	struct state *s = *ctx;

	fx_signed_policy(&s->f, &default_policy, NULL, &s->sp);
	assert_int_equal(verify(s, s->f.owner_fp, 5),
	    MAMORI_DECISION_STALE_POLICY);
	assert_int_equal(verify(s, s->f.owner_fp, 6),
	    MAMORI_DECISION_STALE_POLICY);
	assert_int_equal(verify(s, s->f.owner_fp, 4),
	    MAMORI_DECISION_ACCEPTED);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_ACCEPTED);
}

static void
test_tampered_body(void **ctx)
{
	struct state *s = *ctx;
	size_t i, bad_sig = 0;

	fx_signed_policy(&s->f, &default_policy, NULL, &s->sp);
	/* The body comes first after its 2-3 byte tag and length: flip
	 * every bit position of its first 200 bytes in turn. */
	for (i = 4; i < 204; i++) {
		enum mamori_decision_reason r;

		s->sp.data[i] ^= 0x04;
		r = verify(s, s->f.owner_fp, 0);
		assert_int_not_equal(r, MAMORI_DECISION_ACCEPTED);
		if (r == MAMORI_DECISION_BAD_SIGNATURE)
			bad_sig++;
		s->sp.data[i] ^= 0x04;
	}
	assert_true(bad_sig > 100);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_ACCEPTED);
}

/* Signs body bytes as the owner and wraps them. */
static void
sign_body(struct state *s, const uint8_t *body, size_t len)
{
	Mamori__SignedPolicy sp = MAMORI__SIGNED_POLICY__INIT;
	uint8_t raw[32], sig[64];

	assert_int_equal(mamori_ed25519_public(s->f.owner, raw), 0);
	assert_int_equal(mamori_ed25519_sign(s->f.owner,
	    MAMORI_POLICY_CONTEXT, body, len, sig), 0);
	sp.body.data = (uint8_t *)(uintptr_t)body;
	sp.body.len = len;
	sp.owner_public_key.data = raw;
	sp.owner_public_key.len = 32;
	sp.signature.data = sig;
	sp.signature.len = 64;
	mamori_buf_reset(&s->sp);
	assert_int_equal(mamori_pb_encode(&sp.base, &s->sp), 0);
}

static void
test_unknown_fields(void **ctx)
{
	struct state *s = *ctx;
	struct mamori_buf body;
	static const uint8_t unknown[] = {0xf8, 0x07, 0x01}; /* field 127 */
	char why[256];

	mamori_buf_init(&body, MAMORI_POLICY_MAX_BYTES);
	fx_policy_body(&s->f, &default_policy, &body);
	sign_body(s, body.data, body.len);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_ACCEPTED);
	/* An unknown field in the body, signed by the owner all the same. */
	assert_int_equal(mamori_buf_append(&body, unknown, sizeof(unknown)),
	    0);
	sign_body(s, body.data, body.len);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_MALFORMED);
	{
		struct mamori_buf out;

		mamori_buf_init(&out, MAMORI_POLICY_MAX_BYTES);
		assert_int_not_equal(mamori_policy_sign(body.data, body.len,
		    s->f.owner, &out, why, sizeof(why)), 0);
		mamori_buf_free(&out);
	}
	/* ...and in the SignedPolicy around a good body. */
	mamori_buf_reset(&body);
	fx_policy_body(&s->f, &default_policy, &body);
	sign_body(s, body.data, body.len);
	assert_int_equal(mamori_buf_append(&s->sp, unknown, sizeof(unknown)),
	    0);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_MALFORMED);
	mamori_buf_free(&body);
}

static void
test_invalid_content(void **ctx)
{
	struct state *s = *ctx;
	struct fx_policy_opts o = default_policy;
	struct mamori_buf body, out;
	char why[256];

	mamori_buf_init(&body, MAMORI_POLICY_MAX_BYTES);
	mamori_buf_init(&out, MAMORI_POLICY_MAX_BYTES);
	/* quorum above the number of admins, signed by the owner: the agent
	 * refuses it, and the signing tool does not make it. */
	o.quorum_change = 4;
	fx_signed_policy(&s->f, &o, NULL, &s->sp);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_INVALID_POLICY);
	fx_policy_body(&s->f, &o, &body);
	assert_int_equal(mamori_policy_sign(body.data, body.len, s->f.owner,
	    &out, why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "quorum"));
	/* version 0 */
	o = default_policy;
	o.version = 0;
	mamori_buf_reset(&body);
	fx_policy_body(&s->f, &o, &body);
	assert_int_equal(mamori_policy_sign(body.data, body.len, s->f.owner,
	    &out, why, sizeof(why)), MAMORI_ERR_INVALID);
	/* a valid body signs, by the owner only */
	mamori_buf_reset(&body);
	fx_policy_body(&s->f, &default_policy, &body);
	assert_int_equal(mamori_policy_sign(body.data, body.len, s->f.admin[1],
	    &out, why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_int_equal(mamori_policy_sign(body.data, body.len, s->f.owner,
	    &out, why, sizeof(why)), 0);
	mamori_buf_reset(&s->sp);
	assert_int_equal(mamori_buf_append(&s->sp, out.data, out.len), 0);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_ACCEPTED);
	mamori_buf_free(&body);
	mamori_buf_free(&out);
}

static void
write_text(const char *dir, const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	assert_int_equal(mamori_file_write(path, text, strlen(text), 0644, 0),
	    0);
}

static int
json_policy(struct state *s, const char *text, char *why, size_t why_len)
{
	char path[256];
	int r;

	write_text(s->dir, "policy.json", text);
	snprintf(path, sizeof(path), "%s/policy.json", s->dir);
	mamori_buf_reset(&s->sp);
	why[0] = '\0';
	r = mamori_policy_from_json(path, s->f.owner_fp, FX_NOW, &s->sp, why,
	    why_len);
	if (r != 0)
		assert_true(why[0] != '\0');
	return r;
}

static void
test_policy_json(void **ctx)
{
	struct state *s = *ctx;
	Mamori__PolicyBody *b = NULL;
	char path[256], why[256], text[1024], b64[64];
	uint8_t raw[32];

	snprintf(path, sizeof(path), "%s/alice.key.pub", s->dir);
	assert_int_equal(mamori_pubfile_save(path, "alice", s->f.admin[0]),
	    0);
	assert_int_equal(mamori_ed25519_public(s->f.admin[1], raw), 0);
	mamori_b64url_encode(raw, sizeof(raw), b64);
	snprintf(text, sizeof(text),
	    "{\"version\": 7, \"quorum\": {\"change\": 2},\n"
	    " \"admins\": [{\"id\": \"alice\", \"public_key_file\": "
	    "\"alice.key.pub\", \"name\": \"Alice A.\"},\n"
	    "   {\"id\": \"bob\", \"public_key\": \"%s\"}],\n"
	    " \"groups\": [{\"name\": \"web\", \"agents\": [\"agent-1\"], "
	    "\"accept\": [\"query\", \"read_file\"]}]}", b64);
	assert_int_equal(json_policy(s, text, why, sizeof(why)), 0);
	assert_int_equal(mamori_pb_decode(&mamori__policy_body__descriptor,
	    s->sp.data, s->sp.len, 1 << 20, (ProtobufCMessage **)&b), 0);
	assert_int_equal(b->version, 7);
	assert_int_equal(b->observe_from_server, 1);
	assert_int_equal(b->quorum_collect, 1);
	assert_int_equal(b->quorum_change, 2);
	assert_int_equal(b->n_admins, 2);
	assert_string_equal(b->admins[0]->name, "Alice A.");
	assert_memory_equal(b->admins[1]->public_key.data, raw, 32);
	assert_int_equal(b->groups[0]->accepted_types[1],
	    MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE);
	mamori_pb_free(&b->base);

	assert_int_equal(json_policy(s, "{\"version\": 1, \"colour\": 1}",
	    why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "colour"));
	assert_int_equal(json_policy(s, "{\"version\": 1, \"groups\": "
	    "[{\"name\": \"g\", \"accept\": [\"format_disk\"]}]}", why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "accept[0]"));
	assert_int_equal(json_policy(s, "{\"version\": 0}", why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_int_equal(json_policy(s, "{\"quorum\": {}}", why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_int_equal(json_policy(s, "{\"version\": 1, \"version\": 2}",
	    why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_int_equal(json_policy(s, "{\"version\": 1, \"quorum\": "
	    "{\"collect\": 2}}", why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "quorum"));
	/* A public key file for another id. */
	assert_int_equal(json_policy(s, "{\"version\": 1, \"admins\": "
	    "[{\"id\": \"mallory\", \"public_key_file\": \"alice.key.pub\"}]}",
	    why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "alice"));
}

/* Body of the default policy with sets (borrowed) put in; mamori_pb_free
 * after taking the sets out again (yara_take). */
static Mamori__PolicyBody *
body_with_yara(struct state *s, Mamori__PolicyYaraSet **sets, size_t n)
{
	Mamori__PolicyBody *b = NULL;
	struct mamori_buf body;

	mamori_buf_init(&body, MAMORI_POLICY_MAX_BYTES);
	fx_policy_body(&s->f, &default_policy, &body);
	assert_int_equal(mamori_pb_decode(&mamori__policy_body__descriptor,
	    body.data, body.len, 1 << 20, (ProtobufCMessage **)&b), 0);
	mamori_buf_free(&body);
	b->yara = sets;
	b->n_yara = n;
	return b;
}

static void
yara_take(Mamori__PolicyBody *b)
{
	b->yara = NULL;
	b->n_yara = 0;
	mamori_pb_free(&b->base);
}

static int
check_one(struct state *s, const char *name, const char *source,
    char *why, size_t why_len)
{
	Mamori__PolicyYaraSet y = MAMORI__POLICY_YARA_SET__INIT;
	Mamori__PolicyYaraSet *sets[1] = {&y};
	Mamori__PolicyBody *b;
	int r;

	y.name = (char *)(uintptr_t)name;
	y.source = (char *)(uintptr_t)source;
	b = body_with_yara(s, sets, 1);
	why[0] = '\0';
	r = mamori_policy_body_check(b, why, why_len);
	yara_take(b);
	return r;
}

static void
test_yara_sets_check(void **ctx)
{
	struct state *s = *ctx;
	Mamori__PolicyYaraSet y[MAMORI_POLICY_YARA_SETS_MAX + 1];
	Mamori__PolicyYaraSet *sets[MAMORI_POLICY_YARA_SETS_MAX + 1];
	Mamori__PolicyBody *b;
	char why[256], names[MAMORI_POLICY_YARA_SETS_MAX + 1][16], *big;
	static const char rule[] = "rule r { condition: true }";
	size_t i;

	assert_int_equal(check_one(s, "tick.yara", rule, why, sizeof(why)),
	    0);
	assert_int_equal(check_one(s, "a-b_c.1.yar", "// 守り\n"
	    "rule r { condition: true }", why, sizeof(why)), 0);
	/* Names are file names: no path, no hidden file, no space. */
	assert_int_equal(check_one(s, "../etc/x.yar", rule, why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "invalid name"));
	assert_int_equal(check_one(s, ".hidden", rule, why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_int_equal(check_one(s, "a b.yar", rule, why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_int_equal(check_one(s, "", rule, why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_policy_yara_name_valid("x/y"), 0);
	assert_int_equal(mamori_policy_yara_name_valid("x.yar"), 1);
	/* Sources: not empty, UTF-8 only (overlong, surrogate, truncated). */
	assert_int_equal(check_one(s, "e.yar", "", why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "empty"));
	assert_int_equal(check_one(s, "u.yar", "rule \xc0\xaf", why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "UTF-8"));
	assert_int_equal(check_one(s, "u.yar", "\xed\xa0\x80", why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_int_equal(check_one(s, "u.yar", "ok \xe5\xae", why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	assert_int_equal(check_one(s, "u.yar", "\xf4\x90\x80\x80", why,
	    sizeof(why)), MAMORI_ERR_INVALID);
	/* One set past its bound. */
	big = malloc(MAMORI_POLICY_YARA_SET_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', MAMORI_POLICY_YARA_SET_MAX + 1);
	big[MAMORI_POLICY_YARA_SET_MAX + 1] = '\0';
	assert_int_equal(check_one(s, "big.yar", big, why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "larger"));
	big[MAMORI_POLICY_YARA_SET_MAX] = '\0';
	assert_int_equal(check_one(s, "big.yar", big, why, sizeof(why)), 0);
	/* Sets within their bound each, past it in all; then too many;
	 * then the same name twice. */
	for (i = 0; i <= MAMORI_POLICY_YARA_SETS_MAX; i++) {
		mamori__policy_yara_set__init(&y[i]);
		snprintf(names[i], sizeof(names[i]), "s%zu.yar", i);
		y[i].name = names[i];
		y[i].source = big;
		sets[i] = &y[i];
	}
	b = body_with_yara(s, sets, 4);
	assert_int_equal(mamori_policy_body_check(b, why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "in all"));
	yara_take(b);
	for (i = 0; i <= MAMORI_POLICY_YARA_SETS_MAX; i++)
		y[i].source = (char *)(uintptr_t)rule;
	b = body_with_yara(s, sets, MAMORI_POLICY_YARA_SETS_MAX);
	assert_int_equal(mamori_policy_body_check(b, why, sizeof(why)), 0);
	b->n_yara = MAMORI_POLICY_YARA_SETS_MAX + 1;
	assert_int_equal(mamori_policy_body_check(b, why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "more than"));
	y[1].name = names[0];
	b->n_yara = 2;
	assert_int_equal(mamori_policy_body_check(b, why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "twice"));
	yara_take(b);
	free(big);
}

/* Sets survive signing and verifying byte for byte; a body whose set
 * holds a NUL (protobuf-c would cut it) is refused as not canonical. */
static void
test_yara_signed(void **ctx)
{
	struct state *s = *ctx;
	Mamori__PolicyYaraSet y = MAMORI__POLICY_YARA_SET__INIT;
	Mamori__PolicyYaraSet *sets[1] = {&y};
	Mamori__PolicyBody *b;
	struct mamori_policy *p = NULL;
	struct mamori_decision d;
	struct mamori_buf body;
	uint8_t *nul;
	char why[256];
	size_t i, len;

	y.name = "marker.yar";
	y.source = "rule marker { strings: $a = \"MAMORI\" condition: $a }";
	b = body_with_yara(s, sets, 1);
	mamori_buf_init(&body, MAMORI_POLICY_MAX_BYTES);
	assert_int_equal(mamori_pb_encode(&b->base, &body), 0);
	yara_take(b);
	mamori_buf_reset(&s->sp);
	assert_int_equal(mamori_policy_sign(body.data, body.len, s->f.owner,
	    &s->sp, why, sizeof(why)), 0);
	assert_int_equal(mamori_policy_verify(s->sp.data, s->sp.len,
	    s->f.owner_fp, 0, &p, &d), 0);
	assert_int_equal(p->body->n_yara, 1);
	assert_string_equal(p->body->yara[0]->name, "marker.yar");
	assert_string_equal(p->body->yara[0]->source, y.source);
	mamori_policy_free(p);
	p = NULL;
	/* Replace the 'M' of MAMORI by a NUL in the encoded body, sign it
	 * as it is: the verifier must not take it. */
	nul = NULL;
	len = body.len;
	for (i = 0; i + 6 <= len; i++)
		if (memcmp(body.data + i, "MAMORI", 6) == 0)
			nul = body.data + i;
	assert_non_null(nul);
	*nul = '\0';
	sign_body(s, body.data, body.len);
	assert_int_equal(verify(s, s->f.owner_fp, 0),
	    MAMORI_DECISION_MALFORMED);
	mamori_buf_free(&body);
}

static void
test_yara_json(void **ctx)
{
	struct state *s = *ctx;
	Mamori__PolicyBody *b = NULL;
	char why[256], text[1024];

	write_text(s->dir, "marker.yar", "rule marker { strings: $a = "
	    "\"MAMORI-MARKER\" condition: $a }\n");
	snprintf(text, sizeof(text), "{\"version\": 2, \"yara\": "
	    "[\"marker.yar\", \"%s/yara/jpcert-tick.yara\"]}", CORPORA);
	assert_int_equal(json_policy(s, text, why, sizeof(why)), 0);
	assert_int_equal(mamori_pb_decode(&mamori__policy_body__descriptor,
	    s->sp.data, s->sp.len, 1 << 22, (ProtobufCMessage **)&b), 0);
	assert_int_equal(b->n_yara, 2);
	assert_string_equal(b->yara[0]->name, "marker.yar");
	assert_non_null(strstr(b->yara[0]->source, "MAMORI-MARKER"));
	assert_string_equal(b->yara[1]->name, "jpcert-tick.yara");
	assert_non_null(strstr(b->yara[1]->source, "tick_SKYSEA_downloader"));
	mamori_pb_free(&b->base);
	/* A missing file, a file name that cannot be a set name, a NUL,
	 * not an array. */
	assert_int_equal(json_policy(s, "{\"version\": 2, \"yara\": "
	    "[\"nope.yar\"]}", why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "nope.yar"));
	write_text(s->dir, "bad name.yar", "rule x { condition: true }");
	assert_int_equal(json_policy(s, "{\"version\": 2, \"yara\": "
	    "[\"bad name.yar\"]}", why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "invalid name"));
	assert_int_equal(json_policy(s, "{\"version\": 2, \"yara\": "
	    "\"marker.yar\"}", why, sizeof(why)), MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "array"));
	assert_int_equal(json_policy(s, "{\"version\": 2, \"yara\": "
	    "[\"marker.yar\", \"marker.yar\"]}", why, sizeof(why)),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(why, "twice"));
	{
		char path[256];
		static const char withnul[] = "rule a\0 { condition: true }";

		snprintf(path, sizeof(path), "%s/nul.yar", s->dir);
		assert_int_equal(mamori_file_write(path, withnul,
		    sizeof(withnul) - 1, 0644, 0), 0);
		assert_int_equal(json_policy(s, "{\"version\": 2, \"yara\": "
		    "[\"nul.yar\"]}", why, sizeof(why)), MAMORI_ERR_INVALID);
		assert_non_null(strstr(why, "NUL"));
	}
}

static void
test_key_files(void **ctx)
{
	struct state *s = *ctx;
	EVP_PKEY *k = NULL;
	char path[256], pub[256], id[MAMORI_ADMIN_ID_MAX + 1];
	uint8_t raw[32], raw2[32];
	struct stat st;
	static const char pass[] = "correct horse battery";

	snprintf(path, sizeof(path), "%s/alice.key", s->dir);
	assert_int_equal(mamori_keyfile_save(s->f.admin[0], path, "short", 5),
	    MAMORI_ERR_INVALID);
	assert_int_equal(mamori_keyfile_save(s->f.admin[0], path, pass,
	    strlen(pass)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(mamori_keyfile_encrypted(path), 1);
	/* Never overwritten. */
	assert_int_equal(mamori_keyfile_save(s->f.admin[1], path, pass,
	    strlen(pass)), MAMORI_ERR_EXISTS);
	assert_int_equal(mamori_keyfile_load(path, "wrong passphrase", 16,
	    &k), MAMORI_ERR_PASSPHRASE);
	assert_null(k);
	assert_int_equal(mamori_keyfile_load(path, NULL, 0, &k),
	    MAMORI_ERR_PASSPHRASE);
	assert_int_equal(mamori_keyfile_load(path, pass, strlen(pass), &k), 0);
	assert_int_equal(mamori_ed25519_public(k, raw), 0);
	assert_int_equal(mamori_ed25519_public(s->f.admin[0], raw2), 0);
	assert_memory_equal(raw, raw2, 32);
	EVP_PKEY_free(k);
	k = NULL;
	/* A key file others can read is refused. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(mamori_keyfile_load(path, pass, strlen(pass), &k),
	    MAMORI_ERR_PERMISSION);
	/* The owner key as `mamori init` writes it: plain PKCS#8. */
	snprintf(path, sizeof(path), "%s/owner.key", s->dir);
	assert_int_equal(mamori_key_save(s->f.owner, path), 0);
	assert_int_equal(mamori_keyfile_encrypted(path), 0);
	assert_int_equal(mamori_keyfile_load(path, NULL, 0, &k), 0);
	EVP_PKEY_free(k);
	/* Public key files round-trip and are parsed strictly. */
	snprintf(pub, sizeof(pub), "%s/alice.key.pub", s->dir);
	assert_int_equal(mamori_pubfile_save(pub, "alice", s->f.admin[0]), 0);
	assert_int_equal(mamori_pubfile_load(pub, id, raw), 0);
	assert_string_equal(id, "alice");
	assert_memory_equal(raw, raw2, 32);
	assert_int_not_equal(mamori_pubfile_parse("mamori-admin-key-v1 a b",
	    23, id, raw), 0);
	assert_int_not_equal(mamori_pubfile_parse("x", 1, id, raw), 0);
	assert_int_equal(mamori_admin_id_valid("alice@example.org"), 1);
	assert_int_equal(mamori_admin_id_valid("-x"), 0);
	assert_int_equal(mamori_admin_id_valid("a b"), 0);
}

static void
test_group_members(void **ctx)
{
	char *listed[] = {"agent-1", "agent-2"};
	char *every[] = {"agent-1", MAMORI_POLICY_EVERY_AGENT};
	Mamori__PolicyGroup g = MAMORI__POLICY_GROUP__INIT;

	(void)ctx;
	g.name = "web";
	g.agent_ids = listed;
	g.n_agent_ids = 2;
	assert_int_equal(mamori_policy_group_has(&g, "agent-2"), 1);
	assert_int_equal(mamori_policy_group_has(&g, "agent-3"), 0);
	assert_int_equal(mamori_policy_group_has(&g, "agent"), 0);
	g.agent_ids = every;
	assert_int_equal(mamori_policy_group_has(&g, "agent-3"), 1);
	g.n_agent_ids = 0;
	assert_int_equal(mamori_policy_group_has(&g, "agent-1"), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid_policy),
		T(test_not_signed_by_owner),
		T(test_pinned_fingerprint_mismatch),
		T(test_version_must_grow),
		T(test_tampered_body),
		T(test_unknown_fields),
		T(test_invalid_content),
		T(test_policy_json),
		T(test_yara_sets_check),
		T(test_yara_signed),
		T(test_yara_json),
		T(test_key_files),
		cmocka_unit_test(test_group_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
