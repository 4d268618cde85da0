/*
 * policy.c - verifying and signing the fleet policy (see policy.h).
 *
 * Input here may come from the server, which is not trusted to write
 * policies: the signature over the exact bytes is checked before anything
 * in them is believed, lengths are bounded before anything is allocated
 * for them, and a body is taken only in the one encoding protobuf-c would
 * write for it.  This file must never accept a policy whose owner key was
 * not pinned, nor one that is not newer than the current.
 */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "key.h"
#include "task.h"
#include "trust_internal.h"
#include "util.h"
#include "wire.h"

static void
why_set(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
why_set(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* 1 when s is 1..max bytes of printable ASCII (names people read and
 * agents compare byte for byte). */
static int
name_ok(const char *s, size_t max)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int
mamori_policy_yara_name_valid(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 ||
	    n > MAMORI_POLICY_YARA_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-'))
			return 0;
	}
	return 1;
}

/* 1 when s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF). */
static int
utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		if ((k = mamori_utf8_seq(s + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

static int
yara_sets_check(const Mamori__PolicyBody *b, char *why, size_t why_len)
{
	size_t i, j, len, total = 0;

	if (b->n_yara > MAMORI_POLICY_YARA_SETS_MAX) {
		why_set(why, why_len, "more than %d YARA sets",
		    MAMORI_POLICY_YARA_SETS_MAX);
		return MAMORI_ERR_INVALID;
	}
	for (i = 0; i < b->n_yara; i++) {
		const Mamori__PolicyYaraSet *y = b->yara[i];

		if (!mamori_policy_yara_name_valid(y->name)) {
			why_set(why, why_len, "YARA set %zu has an invalid "
			    "name (1-%d of A-Z a-z 0-9 . _ -, not starting "
			    "with .)", i + 1, MAMORI_POLICY_YARA_NAME_MAX);
			return MAMORI_ERR_INVALID;
		}
		for (j = 0; j < i; j++)
			if (strcmp(b->yara[j]->name, y->name) == 0) {
				why_set(why, why_len, "YARA set %s appears "
				    "twice", y->name);
				return MAMORI_ERR_INVALID;
			}
		len = y->source != NULL ? strlen(y->source) : 0;
		if (len == 0) {
			why_set(why, why_len, "YARA set %s is empty", y->name);
			return MAMORI_ERR_INVALID;
		}
		if (len > MAMORI_POLICY_YARA_SET_MAX) {
			why_set(why, why_len, "YARA set %s is larger than %d "
			    "bytes", y->name, MAMORI_POLICY_YARA_SET_MAX);
			return MAMORI_ERR_INVALID;
		}
		total += len;
		if (total > MAMORI_POLICY_YARA_TOTAL_MAX) {
			why_set(why, why_len, "YARA sets exceed %d bytes in "
			    "all", MAMORI_POLICY_YARA_TOTAL_MAX);
			return MAMORI_ERR_INVALID;
		}
		if (!utf8_ok((const unsigned char *)y->source, len)) {
			why_set(why, why_len, "YARA set %s is not UTF-8 text",
			    y->name);
			return MAMORI_ERR_INVALID;
		}
	}
	return 0;
}

int
mamori_policy_body_check(const Mamori__PolicyBody *b, char *why,
    size_t why_len)
{
	size_t i, j, k, members = 0;

	if (b->format_version != MAMORI_POLICY_FORMAT) {
		why_set(why, why_len, "policy format %u is not supported",
		    b->format_version);
		return MAMORI_ERR_INVALID;
	}
	if (b->version == 0) {
		why_set(why, why_len, "policy version must be greater than 0");
		return MAMORI_ERR_INVALID;
	}
	if (b->owner_fingerprint.len != MAMORI_SHA256_LEN) {
		why_set(why, why_len, "owner fingerprint is not 32 bytes");
		return MAMORI_ERR_INVALID;
	}
	if (b->n_admins > MAMORI_POLICY_MAX_ADMINS) {
		why_set(why, why_len, "more than %d admins",
		    MAMORI_POLICY_MAX_ADMINS);
		return MAMORI_ERR_INVALID;
	}
	for (i = 0; i < b->n_admins; i++) {
		const Mamori__PolicyAdmin *a = b->admins[i];

		if (!mamori_admin_id_valid(a->id)) {
			why_set(why, why_len, "admin %zu has an invalid id "
			    "(1-%d of A-Z a-z 0-9 . _ @ -)", i + 1,
			    MAMORI_ADMIN_ID_MAX);
			return MAMORI_ERR_INVALID;
		}
		if (a->public_key.len != MAMORI_ED25519_PUB_LEN) {
			why_set(why, why_len, "admin %s: public key is not 32 "
			    "bytes", a->id);
			return MAMORI_ERR_INVALID;
		}
		if (a->name[0] != '\0' &&
		    !name_ok(a->name, MAMORI_POLICY_NAME_MAX)) {
			why_set(why, why_len, "admin %s: name must be "
			    "printable ASCII, at most %d bytes", a->id,
			    MAMORI_POLICY_NAME_MAX);
			return MAMORI_ERR_INVALID;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(b->admins[j]->id, a->id) == 0) {
				why_set(why, why_len, "admin id %s appears "
				    "twice", a->id);
				return MAMORI_ERR_INVALID;
			}
			if (memcmp(b->admins[j]->public_key.data,
			    a->public_key.data, MAMORI_ED25519_PUB_LEN) == 0) {
				why_set(why, why_len, "admins %s and %s have "
				    "the same key", b->admins[j]->id, a->id);
				return MAMORI_ERR_INVALID;
			}
		}
	}
	if (b->n_groups > MAMORI_POLICY_MAX_GROUPS) {
		why_set(why, why_len, "more than %d groups",
		    MAMORI_POLICY_MAX_GROUPS);
		return MAMORI_ERR_INVALID;
	}
	for (i = 0; i < b->n_groups; i++) {
		const Mamori__PolicyGroup *g = b->groups[i];

		if (!name_ok(g->name, MAMORI_POLICY_NAME_MAX) ||
		    !mamori_admin_id_valid(g->name)) {
			why_set(why, why_len, "group %zu has an invalid name "
			    "(1-%d of A-Z a-z 0-9 . _ @ -)", i + 1,
			    MAMORI_ADMIN_ID_MAX);
			return MAMORI_ERR_INVALID;
		}
		for (j = 0; j < i; j++)
			if (strcmp(b->groups[j]->name, g->name) == 0) {
				why_set(why, why_len, "group %s appears twice",
				    g->name);
				return MAMORI_ERR_INVALID;
			}
		members += g->n_agent_ids;
		if (members > MAMORI_POLICY_MAX_MEMBERS) {
			why_set(why, why_len, "more than %d agent ids in all "
			    "groups", MAMORI_POLICY_MAX_MEMBERS);
			return MAMORI_ERR_INVALID;
		}
		for (j = 0; j < g->n_agent_ids; j++)
			if (!name_ok(g->agent_ids[j],
			    MAMORI_POLICY_AGENT_ID_MAX)) {
				why_set(why, why_len, "group %s: agent id %zu "
				    "is empty, too long or not printable",
				    g->name, j + 1);
				return MAMORI_ERR_INVALID;
			}
		for (j = 0; j < g->n_accepted_types; j++) {
			if (mamori_task_type_name((int)g->accepted_types[j]) ==
			    NULL) {
				why_set(why, why_len, "group %s: unknown task "
				    "type %d", g->name,
				    (int)g->accepted_types[j]);
				return MAMORI_ERR_INVALID;
			}
			for (k = 0; k < j; k++)
				if (g->accepted_types[k] ==
				    g->accepted_types[j]) {
					why_set(why, why_len, "group %s: task "
					    "type %s appears twice", g->name,
					    mamori_task_type_name(
					    (int)g->accepted_types[j]));
					return MAMORI_ERR_INVALID;
				}
		}
	}
	if (b->quorum_collect == 0 || b->quorum_change == 0) {
		why_set(why, why_len, "quorums must be at least 1");
		return MAMORI_ERR_INVALID;
	}
	if (b->n_admins > 0 && (b->quorum_collect > b->n_admins ||
	    b->quorum_change > b->n_admins)) {
		why_set(why, why_len, "a quorum (collect %u, change %u) "
		    "exceeds the number of admins (%zu)", b->quorum_collect,
		    b->quorum_change, b->n_admins);
		return MAMORI_ERR_INVALID;
	}
	if (b->n_admins == 0 && (b->quorum_collect > 1 ||
	    b->quorum_change > 1)) {
		why_set(why, why_len, "a quorum exceeds the number of admins "
		    "(0)");
		return MAMORI_ERR_INVALID;
	}
	return yara_sets_check(b, why, why_len);
}

void
mamori_policy_free(struct mamori_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	if (p->admin_keys != NULL && p->body != NULL)
		for (i = 0; i < p->body->n_admins; i++)
			EVP_PKEY_free(p->admin_keys[i]);
	free(p->admin_keys);
	mamori_pb_free(p->body != NULL ? &p->body->base : NULL);
	free(p->signed_bytes);
	free(p);
}

int
mamori_trust_decode_canonical(const ProtobufCMessageDescriptor *desc,
    const uint8_t *data, size_t len, size_t budget, ProtobufCMessage **out)
{
	ProtobufCMessage *m = NULL;
	uint8_t *again = NULL;
	int r;

	*out = NULL;
	if ((r = mamori_pb_decode(desc, data, len, budget, &m)) != 0)
		return r;
	if (protobuf_c_message_get_packed_size(m) != len) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	if (len > 0) {
		if ((again = malloc(len)) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		if (protobuf_c_message_pack(m, again) != len ||
		    memcmp(again, data, len) != 0) {
			r = MAMORI_ERR_BAD_MESSAGE;
			goto out;
		}
	}
	*out = m;
	m = NULL;
	r = 0;
out:
	free(again);
	mamori_pb_free(m);
	return r;
}


static int
policy_open(const uint8_t *data, size_t len,
    const uint8_t *pinned_owner_fp, uint64_t current_version,
    struct mamori_policy **out, struct mamori_decision *d)
{
	Mamori__SignedPolicy *sp = NULL;
	ProtobufCMessage *m = NULL;
	struct mamori_policy *p = NULL;
	EVP_PKEY *owner = NULL;
	uint8_t fp[MAMORI_SHA256_LEN];
	char why[MAMORI_DECISION_DETAIL_MAX];
	size_t i;
	int r = MAMORI_ERR_REFUSED;

	*out = NULL;
	mamori_decision_set(d, MAMORI_DECISION_INTERNAL, NULL);
	if (data == NULL || len == 0 || len > MAMORI_POLICY_MAX_BYTES) {
		mamori_decision_set(d, MAMORI_DECISION_MALFORMED,
		    "signed policy is empty or larger than %d bytes",
		    MAMORI_POLICY_MAX_BYTES);
		goto out;
	}
	if (mamori_trust_decode_canonical(&mamori__signed_policy__descriptor,
	    data, len, MAMORI_POLICY_DECODE_BUDGET, &m) != 0) {
		mamori_decision_set(d, MAMORI_DECISION_MALFORMED,
		    "signed policy does not decode");
		goto out;
	}
	sp = (Mamori__SignedPolicy *)m;
	m = NULL;
	if (sp->owner_public_key.len != MAMORI_ED25519_PUB_LEN ||
	    sp->signature.len != MAMORI_ED25519_SIG_LEN ||
	    sp->body.len == 0) {
		mamori_decision_set(d, MAMORI_DECISION_MALFORMED,
		    "signed policy lacks a body, a 32-byte owner key or a "
		    "64-byte signature");
		goto out;
	}
	mamori_ed25519_fingerprint(sp->owner_public_key.data, fp);
	if (pinned_owner_fp != NULL &&
	    !mamori_equal(fp, pinned_owner_fp, MAMORI_SHA256_LEN)) {
		char got[MAMORI_FP_STRLEN], want[MAMORI_FP_STRLEN];

		mamori_fingerprint_str(fp, got);
		mamori_fingerprint_str(pinned_owner_fp, want);
		mamori_decision_set(d, MAMORI_DECISION_NOT_OWNER,
		    "policy signed by owner key %s, pinned is %s", got, want);
		goto out;
	}
	if (mamori_ed25519_from_public(sp->owner_public_key.data,
	    &owner) != 0) {
		mamori_decision_set(d, MAMORI_DECISION_MALFORMED,
		    "owner public key is not a valid Ed25519 key");
		goto out;
	}
	if (mamori_ed25519_verify(owner, MAMORI_POLICY_CONTEXT,
	    sp->body.data, sp->body.len, sp->signature.data,
	    sp->signature.len) != 0) {
		mamori_decision_set(d, MAMORI_DECISION_BAD_SIGNATURE,
		    "owner signature over the policy does not verify");
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	memcpy(p->owner_fp, fp, sizeof(fp));
	if (mamori_trust_decode_canonical(&mamori__policy_body__descriptor,
	    sp->body.data, sp->body.len, MAMORI_POLICY_DECODE_BUDGET,
	    &m) != 0) {
		mamori_decision_set(d, MAMORI_DECISION_MALFORMED,
		    "policy body does not decode");
		goto out;
	}
	p->body = (Mamori__PolicyBody *)m;
	m = NULL;
	if (p->body->format_version != MAMORI_POLICY_FORMAT) {
		mamori_decision_set(d, MAMORI_DECISION_BAD_FORMAT,
		    "policy format %u is not supported",
		    p->body->format_version);
		goto out;
	}
	if (p->body->owner_fingerprint.len != MAMORI_SHA256_LEN ||
	    !mamori_equal(p->body->owner_fingerprint.data, fp,
	    MAMORI_SHA256_LEN)) {
		mamori_decision_set(d, MAMORI_DECISION_NOT_OWNER,
		    "policy names another owner key than the one that signed "
		    "it");
		goto out;
	}
	if (mamori_policy_body_check(p->body, why, sizeof(why)) != 0) {
		mamori_decision_set(d, MAMORI_DECISION_INVALID_POLICY, "%s",
		    why);
		goto out;
	}
	if (p->body->version <= current_version) {
		mamori_decision_set(d, MAMORI_DECISION_STALE_POLICY,
		    "policy version %llu is not newer than the current %llu",
		    (unsigned long long)p->body->version,
		    (unsigned long long)current_version);
		goto out;
	}
	if ((p->admin_keys = calloc(p->body->n_admins + 1,
	    sizeof(*p->admin_keys))) == NULL ||
	    (p->signed_bytes = malloc(len)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < p->body->n_admins; i++)
		if (mamori_ed25519_from_public(
		    p->body->admins[i]->public_key.data,
		    &p->admin_keys[i]) != 0) {
			mamori_decision_set(d, MAMORI_DECISION_INVALID_POLICY,
			    "admin %s: public key is not a valid Ed25519 key",
			    p->body->admins[i]->id);
			goto out;
		}
	memcpy(p->signed_bytes, data, len);
	p->signed_len = len;
	mamori_decision_set(d, MAMORI_DECISION_ACCEPTED,
	    "policy version %llu accepted",
	    (unsigned long long)p->body->version);
	*out = p;
	p = NULL;
	r = 0;
out:
	EVP_PKEY_free(owner);
	mamori_pb_free(m);
	mamori_pb_free(sp != NULL ? &sp->base : NULL);
	mamori_policy_free(p);
	if (r == MAMORI_ERR_ALLOC)
		mamori_decision_set(d, MAMORI_DECISION_INTERNAL,
		    "out of memory");
	return r;
}

int
mamori_policy_verify(const uint8_t *data, size_t len,
    const uint8_t pinned_owner_fp[MAMORI_SHA256_LEN],
    uint64_t current_version, struct mamori_policy **out,
    struct mamori_decision *d)
{
	if (pinned_owner_fp == NULL) {
		*out = NULL;
		mamori_decision_set(d, MAMORI_DECISION_NOT_OWNER,
		    "no owner key is pinned");
		return MAMORI_ERR_REFUSED;
	}
	return policy_open(data, len, pinned_owner_fp, current_version, out,
	    d);
}

int
mamori_policy_inspect(const uint8_t *data, size_t len,
    struct mamori_policy **out, struct mamori_decision *d)
{
	return policy_open(data, len, NULL, 0, out, d);
}

int
mamori_policy_sign(const uint8_t *body, size_t body_len, EVP_PKEY *owner,
    struct mamori_buf *out, char *why, size_t why_len)
{
	Mamori__SignedPolicy sp = MAMORI__SIGNED_POLICY__INIT;
	ProtobufCMessage *m = NULL;
	Mamori__PolicyBody *b;
	uint8_t raw[MAMORI_ED25519_PUB_LEN], fp[MAMORI_SHA256_LEN];
	uint8_t sig[MAMORI_ED25519_SIG_LEN];
	int r;

	why_set(why, why_len, "internal error");
	if ((r = mamori_ed25519_public(owner, raw)) != 0) {
		why_set(why, why_len, "the owner key is not an Ed25519 key");
		goto out;
	}
	if ((r = mamori_trust_decode_canonical(
	    &mamori__policy_body__descriptor, body, body_len,
	    MAMORI_POLICY_DECODE_BUDGET, &m)) != 0) {
		why_set(why, why_len, "policy body does not decode: %s",
		    mamori_strerror(r));
		goto out;
	}
	b = (Mamori__PolicyBody *)m;
	if ((r = mamori_policy_body_check(b, why, why_len)) != 0)
		goto out;
	mamori_ed25519_fingerprint(raw, fp);
	if (!mamori_equal(b->owner_fingerprint.data, fp, sizeof(fp))) {
		why_set(why, why_len, "the policy names another owner key");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = mamori_ed25519_sign(owner, MAMORI_POLICY_CONTEXT, body,
	    body_len, sig)) != 0) {
		why_set(why, why_len, "signing failed: %s", mamori_strerror(r));
		goto out;
	}
	sp.body.data = (uint8_t *)(uintptr_t)body;
	sp.body.len = body_len;
	sp.owner_public_key.data = raw;
	sp.owner_public_key.len = sizeof(raw);
	sp.signature.data = sig;
	sp.signature.len = sizeof(sig);
	if (protobuf_c_message_get_packed_size(&sp.base) >
	    MAMORI_POLICY_MAX_BYTES) {
		why_set(why, why_len, "signed policy exceeds %d bytes",
		    MAMORI_POLICY_MAX_BYTES);
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	r = mamori_pb_encode(&sp.base, out);
out:
	mamori_pb_free(m);
	return r;
}

int
mamori_policy_admin_index(const struct mamori_policy *p, const char *id)
{
	size_t i;

	for (i = 0; p != NULL && i < p->body->n_admins; i++)
		if (strcmp(p->body->admins[i]->id, id) == 0)
			return (int)i;
	return -1;
}

int
mamori_policy_group_has(const Mamori__PolicyGroup *g, const char *agent_id)
{
	size_t i;

	/* "*" stands for every agent of the fleet: one group can reach
	 * thousands of agents without listing them. */
	for (i = 0; i < g->n_agent_ids; i++)
		if (strcmp(g->agent_ids[i], agent_id) == 0 ||
		    strcmp(g->agent_ids[i], MAMORI_POLICY_EVERY_AGENT) == 0)
			return 1;
	return 0;
}
