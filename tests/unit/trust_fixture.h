/*
 * trust_fixture.h - keys, policies and tasks built in memory for the unit
 * tests of src/trust/ (test_task.c, test_policy.c) and the benchmark.
 *
 * The fleet: an owner key; admins alice, bob, carol (dave's key exists but
 * is in no policy); group "web" = agent-1, agent-2 accepting query,
 * read_file, run_command; group "db" = agent-3 accepting query only.
 */
#ifndef MAMORI_TRUST_FIXTURE_H
#define MAMORI_TRUST_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "key.h"
#include "pki.h"
#include "policy.h"
#include "task.h"
#include "wire.h"

#define FX_ADMINS 4 /* alice bob carol dave */
#define FX_NOW 1800000000ULL

static const char *const fx_ids[FX_ADMINS] = {"alice", "bob", "carol",
    "dave"};

struct fx {
	EVP_PKEY *owner;
	EVP_PKEY *admin[FX_ADMINS];
	uint8_t owner_fp[MAMORI_SHA256_LEN];
};

static inline void
fx_init(struct fx *f)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	if (mamori_key_generate(&f->owner) != 0 ||
	    mamori_pubkey_fingerprint(f->owner, f->owner_fp) != 0)
		abort();
	for (i = 0; i < FX_ADMINS; i++)
		if (mamori_key_generate(&f->admin[i]) != 0)
			abort();
}

static inline void
fx_free(struct fx *f)
{
	size_t i;

	EVP_PKEY_free(f->owner);
	for (i = 0; i < FX_ADMINS; i++)
		EVP_PKEY_free(f->admin[i]);
}

struct fx_policy_opts {
	uint64_t version;
	int observe_from_server;
	uint32_t quorum_collect, quorum_change;
	size_t n_admins;            /* the first n of alice bob carol */
};

/* Encodes the fixture's PolicyBody into body (appending). */
static inline void
fx_policy_body(const struct fx *f, const struct fx_policy_opts *o,
    struct mamori_buf *body)
{
	Mamori__PolicyBody b = MAMORI__POLICY_BODY__INIT;
	Mamori__PolicyAdmin admins[3], *admin_ptrs[3];
	uint8_t raw[3][MAMORI_ED25519_PUB_LEN];
	Mamori__PolicyGroup web = MAMORI__POLICY_GROUP__INIT;
	Mamori__PolicyGroup db = MAMORI__POLICY_GROUP__INIT;
	Mamori__PolicyGroup *groups[2] = {&web, &db};
	static char *web_agents[] = {"agent-1", "agent-2"};
	static char *db_agents[] = {"agent-3"};
	Mamori__TaskType web_types[] = {MAMORI__TASK_TYPE__TASK_TYPE_QUERY,
	    MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE,
	    MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND};
	Mamori__TaskType db_types[] = {MAMORI__TASK_TYPE__TASK_TYPE_QUERY};
	size_t i;

	for (i = 0; i < o->n_admins && i < 3; i++) {
		mamori__policy_admin__init(&admins[i]);
		if (mamori_ed25519_public(f->admin[i], raw[i]) != 0)
			abort();
		admins[i].id = (char *)(uintptr_t)fx_ids[i];
		admins[i].public_key.data = raw[i];
		admins[i].public_key.len = MAMORI_ED25519_PUB_LEN;
		admin_ptrs[i] = &admins[i];
	}
	web.name = "web";
	web.n_agent_ids = 2;
	web.agent_ids = web_agents;
	web.n_accepted_types = 3;
	web.accepted_types = web_types;
	db.name = "db";
	db.n_agent_ids = 1;
	db.agent_ids = db_agents;
	db.n_accepted_types = 1;
	db.accepted_types = db_types;
	b.format_version = MAMORI_POLICY_FORMAT;
	b.version = o->version;
	b.issued_at = FX_NOW;
	b.owner_fingerprint.data = (uint8_t *)(uintptr_t)f->owner_fp;
	b.owner_fingerprint.len = MAMORI_SHA256_LEN;
	b.n_admins = o->n_admins;
	b.admins = admin_ptrs;
	b.n_groups = 2;
	b.groups = groups;
	b.observe_from_server = o->observe_from_server;
	b.quorum_collect = o->quorum_collect;
	b.quorum_change = o->quorum_change;
	if (mamori_pb_encode(&b.base, body) != 0)
		abort();
}

/* The SignedPolicy bytes for opts, signed by signer (the owner key when
 * NULL), appended to out. */
static inline void
fx_signed_policy(const struct fx *f, const struct fx_policy_opts *o,
    EVP_PKEY *signer, struct mamori_buf *out)
{
	Mamori__SignedPolicy sp = MAMORI__SIGNED_POLICY__INIT;
	struct mamori_buf body;
	uint8_t raw[MAMORI_ED25519_PUB_LEN], sig[MAMORI_ED25519_SIG_LEN];

	mamori_buf_init(&body, MAMORI_POLICY_MAX_BYTES);
	fx_policy_body(f, o, &body);
	if (signer == NULL)
		signer = f->owner;
	if (mamori_ed25519_public(signer, raw) != 0 ||
	    mamori_ed25519_sign(signer, MAMORI_POLICY_CONTEXT, body.data,
	    body.len, sig) != 0)
		abort();
	sp.body.data = body.data;
	sp.body.len = body.len;
	sp.owner_public_key.data = raw;
	sp.owner_public_key.len = sizeof(raw);
	sp.signature.data = sig;
	sp.signature.len = sizeof(sig);
	if (mamori_pb_encode(&sp.base, out) != 0)
		abort();
	mamori_buf_free(&body);
}

static inline struct mamori_policy *
fx_policy(const struct fx *f, const struct fx_policy_opts *o)
{
	struct mamori_policy *p = NULL;
	struct mamori_decision d;
	struct mamori_buf sp;

	mamori_buf_init(&sp, MAMORI_POLICY_MAX_BYTES);
	fx_signed_policy(f, o, NULL, &sp);
	if (mamori_policy_verify(sp.data, sp.len, f->owner_fp, 0, &p,
	    &d) != 0)
		abort();
	mamori_buf_free(&sp);
	return p;
}

struct fx_task_opts {
	int type;
	const char *agent;    /* target agent, or NULL */
	const char *group;    /* target group, or NULL */
	uint64_t not_before, not_after;
	uint8_t id_byte;      /* task id: 16 times this byte... */
	const uint8_t *id;    /* ...unless this 16-byte id is given */
	int unchecked;        /* skip mamori_task_body_check */
	const uint8_t *extra; /* bytes appended to the body (unchecked) */
	size_t extra_len;
};

/* Wraps body bytes in a SignedTask with no signature. */
static inline void
fx_wrap(const uint8_t *body, size_t len, struct mamori_buf *out)
{
	Mamori__SignedTask st = MAMORI__SIGNED_TASK__INIT;

	st.body.data = (uint8_t *)(uintptr_t)body;
	st.body.len = len;
	if (mamori_pb_encode(&st.base, out) != 0)
		abort();
}

/* An unsigned SignedTask for opts, appended to out. */
static inline void
fx_task(const struct fx_task_opts *o, struct mamori_buf *out)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__QueryParams q = MAMORI__QUERY_PARAMS__INIT;
	Mamori__ReadFileParams rf = MAMORI__READ_FILE_PARAMS__INIT;
	Mamori__RunCommandParams rc = MAMORI__RUN_COMMAND_PARAMS__INIT;
	Mamori__KillProcessParams kp = MAMORI__KILL_PROCESS_PARAMS__INIT;
	static char *argv[] = {"/usr/bin/uptime"};
	char *agents[1], *groups[1];
	uint8_t id[MAMORI_TASK_ID_LEN];
	char why[256];

	memset(id, o->id_byte, sizeof(id));
	if (o->id != NULL)
		memcpy(id, o->id, sizeof(id));
	b.format_version = MAMORI_TASK_FORMAT;
	b.task_id.data = id;
	b.task_id.len = sizeof(id);
	b.type = (Mamori__TaskType)o->type;
	b.params_case = mamori_task_params_case(o->type);
	switch (o->type) {
	case MAMORI__TASK_TYPE__TASK_TYPE_QUERY:
		q.sql = "SELECT name FROM packages";
		b.query = &q;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE:
		rf.path = "/etc/os-release";
		rf.max_bytes = 4096;
		b.read_file = &rf;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND:
		rc.n_argv = 1;
		rc.argv = argv;
		rc.timeout_seconds = 30;
		b.run_command = &rc;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_KILL_PROCESS:
		kp.pid = 4242;
		b.kill_process = &kp;
		break;
	default:
		abort();
	}
	if (o->agent != NULL) {
		agents[0] = (char *)(uintptr_t)o->agent;
		b.n_target_agents = 1;
		b.target_agents = agents;
	}
	if (o->group != NULL) {
		groups[0] = (char *)(uintptr_t)o->group;
		b.n_target_groups = 1;
		b.target_groups = groups;
	}
	b.not_before = o->not_before;
	b.not_after = o->not_after;
	b.created_by = "alice";
	if (o->unchecked) {
		struct mamori_buf body;

		mamori_buf_init(&body, MAMORI_TASK_MAX_BYTES);
		if (mamori_pb_encode(&b.base, &body) != 0 ||
		    (o->extra_len > 0 &&
		    mamori_buf_append(&body, o->extra, o->extra_len) != 0))
			abort();
		fx_wrap(body.data, body.len, out);
		mamori_buf_free(&body);
		return;
	}
	if (mamori_task_encode_unsigned(&b, out, why, sizeof(why)) != 0)
		abort();
}

/* Signs the task in b as admin i (fx_ids[i]) in place. */
static inline void
fx_sign(const struct fx *f, size_t i, struct mamori_buf *b)
{
	struct mamori_buf out;
	char why[256];

	mamori_buf_init(&out, MAMORI_TASK_MAX_BYTES);
	if (mamori_task_sign(b->data, b->len, fx_ids[i], f->admin[i], &out,
	    why, sizeof(why)) != 0)
		abort();
	mamori_buf_reset(b);
	if (mamori_buf_append(b, out.data, out.len) != 0)
		abort();
	mamori_buf_free(&out);
}

/* Signs the body in b as admin i without any check of the body (for
 * tasks the tool refuses to sign), appending the signature in place. */
static inline void
fx_sign_raw(const struct fx *f, size_t i, struct mamori_buf *b)
{
	Mamori__SignedTask *st = NULL, out = MAMORI__SIGNED_TASK__INIT;
	Mamori__TaskSignature sig = MAMORI__TASK_SIGNATURE__INIT;
	Mamori__TaskSignature *sigs[MAMORI_TASK_MAX_SIGNATURES + 1];
	uint8_t raw[MAMORI_ED25519_SIG_LEN];
	struct mamori_buf enc;
	size_t k;

	if (mamori_pb_decode(&mamori__signed_task__descriptor, b->data, b->len,
	    1 << 20, (ProtobufCMessage **)&st) != 0 ||
	    st->n_signatures >= MAMORI_TASK_MAX_SIGNATURES ||
	    mamori_ed25519_sign(f->admin[i], MAMORI_TASK_CONTEXT,
	    st->body.data, st->body.len, raw) != 0)
		abort();
	for (k = 0; k < st->n_signatures; k++)
		sigs[k] = st->signatures[k];
	sig.signer_id = (char *)(uintptr_t)fx_ids[i];
	sig.signature.data = raw;
	sig.signature.len = sizeof(raw);
	sigs[k] = &sig;
	out.body = st->body;
	out.signatures = sigs;
	out.n_signatures = k + 1;
	mamori_buf_init(&enc, MAMORI_TASK_MAX_BYTES);
	if (mamori_pb_encode(&out.base, &enc) != 0)
		abort();
	mamori_buf_reset(b);
	if (mamori_buf_append(b, enc.data, enc.len) != 0)
		abort();
	mamori_buf_free(&enc);
	mamori_pb_free(&st->base);
}

#endif
