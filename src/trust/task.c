/*
 * task.c - signed tasks (see task.h).
 *
 * mamori_task_verify is the gate between the network and every action an
 * agent can take on its host.  It trusts nothing in the task until the
 * signatures over the exact bytes received have been checked against the
 * keys in the owner-signed policy, and it checks in a fixed order so each
 * refusal has one reason.  It must never accept a task on a path that did
 * not pass every check, never count one admin twice, and never let a
 * task id through twice.
 */
#include "task.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "key.h"
#include "trust_internal.h"
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

struct task_type_info {
	int type;
	const char *name;
	enum mamori_task_class task_class;
	Mamori__TaskBody__ParamsCase params;
};

static const struct task_type_info task_types[] = {
	{MAMORI__TASK_TYPE__TASK_TYPE_QUERY, "query", MAMORI_TASK_OBSERVE,
	    MAMORI__TASK_BODY__PARAMS_QUERY},
	{MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE, "read_file",
	    MAMORI_TASK_COLLECT, MAMORI__TASK_BODY__PARAMS_READ_FILE},
	{MAMORI__TASK_TYPE__TASK_TYPE_HASH_PATH, "hash_path",
	    MAMORI_TASK_COLLECT, MAMORI__TASK_BODY__PARAMS_HASH_PATH},
	{MAMORI__TASK_TYPE__TASK_TYPE_YARA_SCAN, "yara_scan",
	    MAMORI_TASK_COLLECT, MAMORI__TASK_BODY__PARAMS_YARA_SCAN},
	{MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND, "run_command",
	    MAMORI_TASK_CHANGE, MAMORI__TASK_BODY__PARAMS_RUN_COMMAND},
	{MAMORI__TASK_TYPE__TASK_TYPE_RUN_SCRIPT, "run_script",
	    MAMORI_TASK_CHANGE, MAMORI__TASK_BODY__PARAMS_RUN_SCRIPT},
	{MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_INSTALL, "package_install",
	    MAMORI_TASK_CHANGE, MAMORI__TASK_BODY__PARAMS_PACKAGE_INSTALL},
	{MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_REMOVE, "package_remove",
	    MAMORI_TASK_CHANGE, MAMORI__TASK_BODY__PARAMS_PACKAGE_REMOVE},
	{MAMORI__TASK_TYPE__TASK_TYPE_USB_BLOCK, "usb_block",
	    MAMORI_TASK_CHANGE, MAMORI__TASK_BODY__PARAMS_USB_BLOCK},
	{MAMORI__TASK_TYPE__TASK_TYPE_USB_ALLOW, "usb_allow",
	    MAMORI_TASK_CHANGE, MAMORI__TASK_BODY__PARAMS_USB_ALLOW},
	{MAMORI__TASK_TYPE__TASK_TYPE_KILL_PROCESS, "kill_process",
	    MAMORI_TASK_CHANGE, MAMORI__TASK_BODY__PARAMS_KILL_PROCESS},
	{MAMORI__TASK_TYPE__TASK_TYPE_ISOLATE_HOST, "isolate_host",
	    MAMORI_TASK_CHANGE, MAMORI__TASK_BODY__PARAMS_ISOLATE_HOST},
	{MAMORI__TASK_TYPE__TASK_TYPE_RELEASE_HOST, "release_host",
	    MAMORI_TASK_CHANGE, MAMORI__TASK_BODY__PARAMS_RELEASE_HOST},
};

#define N_TASK_TYPES (sizeof(task_types) / sizeof(task_types[0]))

static const struct task_type_info *
type_info(int type)
{
	size_t i;

	for (i = 0; i < N_TASK_TYPES; i++)
		if (task_types[i].type == type)
			return &task_types[i];
	return NULL;
}

const char *
mamori_task_type_name(int type)
{
	const struct task_type_info *t = type_info(type);

	return t != NULL ? t->name : NULL;
}

int
mamori_task_type_from_name(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < N_TASK_TYPES; i++)
		if (strcmp(task_types[i].name, name) == 0)
			return task_types[i].type;
	return 0;
}

enum mamori_task_class
mamori_task_type_class(int type)
{
	const struct task_type_info *t = type_info(type);

	return t != NULL ? t->task_class : (enum mamori_task_class)0;
}

const char *
mamori_task_class_name(enum mamori_task_class c)
{
	switch (c) {
	case MAMORI_TASK_OBSERVE:
		return "observe";
	case MAMORI_TASK_COLLECT:
		return "collect";
	case MAMORI_TASK_CHANGE:
		return "change";
	}
	return "?";
}

Mamori__TaskBody__ParamsCase
mamori_task_params_case(int type)
{
	const struct task_type_info *t = type_info(type);

	return t != NULL ? t->params : MAMORI__TASK_BODY__PARAMS__NOT_SET;
}

/* 1 when s is a string of 1..max bytes (0..max with may_be_empty). */
static int
str_ok(const char *s, size_t max, int may_be_empty)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strnlen(s, max + 1);
	return n <= max && (n > 0 || may_be_empty);
}

static int
params_check(const Mamori__TaskBody *b, char *why, size_t why_len)
{
	size_t i;

	switch (b->params_case) {
	case MAMORI__TASK_BODY__PARAMS_QUERY:
		if (!str_ok(b->query->sql, MAMORI_TASK_STRING_MAX, 0))
			goto bad;
		break;
	case MAMORI__TASK_BODY__PARAMS_READ_FILE:
		if (!str_ok(b->read_file->path, MAMORI_TASK_STRING_MAX, 0) ||
		    b->read_file->path[0] != '/')
			goto bad_path;
		break;
	case MAMORI__TASK_BODY__PARAMS_HASH_PATH:
		if (!str_ok(b->hash_path->path, MAMORI_TASK_STRING_MAX, 0) ||
		    b->hash_path->path[0] != '/')
			goto bad_path;
		break;
	case MAMORI__TASK_BODY__PARAMS_YARA_SCAN:
		if (!str_ok(b->yara_scan->path, MAMORI_TASK_STRING_MAX, 0) ||
		    b->yara_scan->path[0] != '/')
			goto bad_path;
		break;
	case MAMORI__TASK_BODY__PARAMS_RUN_COMMAND:
		if (b->run_command->n_argv == 0 ||
		    b->run_command->n_argv > MAMORI_TASK_ARGV_MAX)
			goto bad;
		for (i = 0; i < b->run_command->n_argv; i++)
			if (!str_ok(b->run_command->argv[i],
			    MAMORI_TASK_STRING_MAX, i > 0))
				goto bad;
		break;
	case MAMORI__TASK_BODY__PARAMS_RUN_SCRIPT:
		if (!str_ok(b->run_script->interpreter,
		    MAMORI_TASK_STRING_MAX, 0) ||
		    !str_ok(b->run_script->body, MAMORI_TASK_SCRIPT_MAX, 0))
			goto bad;
		break;
	case MAMORI__TASK_BODY__PARAMS_PACKAGE_INSTALL:
		if (!str_ok(b->package_install->name, MAMORI_TASK_NAME_MAX, 0))
			goto bad;
		break;
	case MAMORI__TASK_BODY__PARAMS_PACKAGE_REMOVE:
		if (!str_ok(b->package_remove->name, MAMORI_TASK_NAME_MAX, 0))
			goto bad;
		break;
	case MAMORI__TASK_BODY__PARAMS_USB_BLOCK:
	case MAMORI__TASK_BODY__PARAMS_USB_ALLOW: {
		const Mamori__UsbDeviceParams *u =
		    b->params_case == MAMORI__TASK_BODY__PARAMS_USB_BLOCK ?
		    b->usb_block : b->usb_allow;

		if (u->vendor_id > 0xffff || u->product_id > 0xffff ||
		    !str_ok(u->serial, MAMORI_TASK_NAME_MAX, 1))
			goto bad;
		break;
	}
	case MAMORI__TASK_BODY__PARAMS_KILL_PROCESS:
		if (b->kill_process->pid <= 1)
			goto bad;
		break;
	case MAMORI__TASK_BODY__PARAMS_ISOLATE_HOST:
	case MAMORI__TASK_BODY__PARAMS_RELEASE_HOST:
		break;
	default:
		goto bad;
	}
	return 0;
bad_path:
	why_set(why, why_len, "%s: path must be absolute, at most %d bytes",
	    mamori_task_type_name(b->type), MAMORI_TASK_STRING_MAX);
	return MAMORI_ERR_INVALID;
bad:
	why_set(why, why_len, "%s: parameters missing or out of bounds",
	    mamori_task_type_name(b->type));
	return MAMORI_ERR_INVALID;
}

int
mamori_task_body_check(const Mamori__TaskBody *b, char *why, size_t why_len)
{
	size_t i;

	if (b->format_version != MAMORI_TASK_FORMAT) {
		why_set(why, why_len, "task format %u is not supported",
		    b->format_version);
		return MAMORI_ERR_BAD_VERSION;
	}
	if (b->task_id.len != MAMORI_TASK_ID_LEN) {
		why_set(why, why_len, "task id is not %d bytes",
		    MAMORI_TASK_ID_LEN);
		return MAMORI_ERR_INVALID;
	}
	if (type_info((int)b->type) == NULL) {
		why_set(why, why_len, "unknown task type %d", (int)b->type);
		return MAMORI_ERR_INVALID;
	}
	if (b->params_case != mamori_task_params_case((int)b->type)) {
		why_set(why, why_len, "%s task carries other parameters",
		    mamori_task_type_name((int)b->type));
		return MAMORI_ERR_INVALID;
	}
	if (params_check(b, why, why_len) != 0)
		return MAMORI_ERR_INVALID;
	if (b->n_target_agents + b->n_target_groups == 0 ||
	    b->n_target_agents + b->n_target_groups >
	    MAMORI_TASK_MAX_TARGETS) {
		why_set(why, why_len, "a task needs 1 to %d targets",
		    MAMORI_TASK_MAX_TARGETS);
		return MAMORI_ERR_INVALID;
	}
	for (i = 0; i < b->n_target_agents; i++)
		if (!str_ok(b->target_agents[i], MAMORI_POLICY_AGENT_ID_MAX,
		    0)) {
			why_set(why, why_len, "target agent %zu is empty or "
			    "too long", i + 1);
			return MAMORI_ERR_INVALID;
		}
	for (i = 0; i < b->n_target_groups; i++)
		if (!str_ok(b->target_groups[i], MAMORI_POLICY_NAME_MAX, 0)) {
			why_set(why, why_len, "target group %zu is empty or "
			    "too long", i + 1);
			return MAMORI_ERR_INVALID;
		}
	if (!str_ok(b->created_by, MAMORI_TASK_NAME_MAX, 1)) {
		why_set(why, why_len, "created_by is longer than %d bytes",
		    MAMORI_TASK_NAME_MAX);
		return MAMORI_ERR_INVALID;
	}
	if (b->not_after <= b->not_before) {
		why_set(why, why_len, "the window ends before it starts");
		return MAMORI_ERR_INVALID;
	}
	if (b->not_after - b->not_before > MAMORI_TASK_MAX_WINDOW) {
		why_set(why, why_len, "the window is longer than 24 hours");
		return MAMORI_ERR_INVALID;
	}
	return 0;
}

void
mamori_task_free(struct mamori_task *t)
{
	if (t == NULL)
		return;
	mamori_pb_free(t->body != NULL ? &t->body->base : NULL);
	mamori_pb_free(t->signed_task != NULL ? &t->signed_task->base : NULL);
	free(t);
}

int
mamori_task_encode_unsigned(const Mamori__TaskBody *b,
    struct mamori_buf *out, char *why, size_t why_len)
{
	Mamori__SignedTask st = MAMORI__SIGNED_TASK__INIT;
	struct mamori_buf body;
	int r;

	mamori_buf_init(&body, MAMORI_TASK_MAX_BYTES);
	if ((r = mamori_task_body_check(b, why, why_len)) != 0)
		goto out;
	if ((r = mamori_pb_encode(&b->base, &body)) != 0) {
		why_set(why, why_len, "task exceeds %d bytes",
		    MAMORI_TASK_MAX_BYTES);
		goto out;
	}
	st.body.data = body.data;
	st.body.len = body.len;
	if (protobuf_c_message_get_packed_size(&st.base) >
	    MAMORI_TASK_MAX_BYTES) {
		why_set(why, why_len, "task exceeds %d bytes",
		    MAMORI_TASK_MAX_BYTES);
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	r = mamori_pb_encode(&st.base, out);
out:
	mamori_buf_free(&body);
	return r;
}

/* Decodes the SignedTask and its body; on failure *reason is MALFORMED or
 * BAD_FORMAT and why says what. */
static int
task_decode(const uint8_t *data, size_t len, struct mamori_task **out,
    enum mamori_decision_reason *reason, char *why, size_t why_len)
{
	struct mamori_task *t = NULL;
	ProtobufCMessage *m = NULL;
	size_t i;
	int r = MAMORI_ERR_BAD_MESSAGE;

	*out = NULL;
	*reason = MAMORI_DECISION_MALFORMED;
	if (data == NULL || len == 0 || len > MAMORI_TASK_MAX_BYTES) {
		why_set(why, why_len, "signed task is empty or larger than %d "
		    "bytes", MAMORI_TASK_MAX_BYTES);
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (mamori_trust_decode_canonical(&mamori__signed_task__descriptor,
	    data, len, MAMORI_TASK_DECODE_BUDGET, &m) != 0) {
		why_set(why, why_len, "signed task does not decode");
		goto out;
	}
	t->signed_task = (Mamori__SignedTask *)m;
	m = NULL;
	if (t->signed_task->n_signatures > MAMORI_TASK_MAX_SIGNATURES) {
		why_set(why, why_len, "more than %d signatures",
		    MAMORI_TASK_MAX_SIGNATURES);
		goto out;
	}
	for (i = 0; i < t->signed_task->n_signatures; i++) {
		const Mamori__TaskSignature *s = t->signed_task->signatures[i];

		if (!str_ok(s->signer_id, MAMORI_ADMIN_ID_MAX, 0) ||
		    s->signature.len != MAMORI_ED25519_SIG_LEN) {
			why_set(why, why_len, "signature %zu lacks a signer "
			    "id or is not 64 bytes", i + 1);
			goto out;
		}
	}
	if (mamori_trust_decode_canonical(&mamori__task_body__descriptor,
	    t->signed_task->body.data, t->signed_task->body.len,
	    MAMORI_TASK_DECODE_BUDGET, &m) != 0) {
		why_set(why, why_len, "task body does not decode");
		goto out;
	}
	t->body = (Mamori__TaskBody *)m;
	m = NULL;
	if (t->body->format_version != MAMORI_TASK_FORMAT) {
		*reason = MAMORI_DECISION_BAD_FORMAT;
		why_set(why, why_len, "task format %u is not supported",
		    t->body->format_version);
		goto out;
	}
	if (t->body->not_after > t->body->not_before &&
	    t->body->not_after - t->body->not_before >
	    MAMORI_TASK_MAX_WINDOW) {
		*reason = MAMORI_DECISION_WINDOW_TOO_LONG;
		why_set(why, why_len, "window of %llu s is longer than %d s",
		    (unsigned long long)(t->body->not_after -
		    t->body->not_before), MAMORI_TASK_MAX_WINDOW);
		goto out;
	}
	if (mamori_task_body_check(t->body, why, why_len) != 0)
		goto out;
	t->task_class = mamori_task_type_class((int)t->body->type);
	*reason = MAMORI_DECISION_ACCEPTED;
	*out = t;
	t = NULL;
	r = 0;
out:
	mamori_pb_free(m);
	mamori_task_free(t);
	return r;
}

int
mamori_task_open(const uint8_t *data, size_t len, struct mamori_task **out,
    char *why, size_t why_len)
{
	enum mamori_decision_reason reason;

	return task_decode(data, len, out, &reason, why, why_len);
}

int
mamori_task_sign(const uint8_t *data, size_t len, const char *signer_id,
    EVP_PKEY *key, struct mamori_buf *out, char *why, size_t why_len)
{
	Mamori__SignedTask st = MAMORI__SIGNED_TASK__INIT;
	Mamori__TaskSignature sig = MAMORI__TASK_SIGNATURE__INIT;
	Mamori__TaskSignature **sigs = NULL;
	struct mamori_task *t = NULL;
	uint8_t raw[MAMORI_ED25519_SIG_LEN];
	size_t i, n;
	int r;

	if (!mamori_admin_id_valid(signer_id)) {
		why_set(why, why_len, "invalid signer id");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = mamori_task_open(data, len, &t, why, why_len)) != 0)
		goto out;
	n = t->signed_task->n_signatures;
	for (i = 0; i < n; i++)
		if (strcmp(t->signed_task->signatures[i]->signer_id,
		    signer_id) == 0) {
			why_set(why, why_len, "%s has signed this task already",
			    signer_id);
			r = MAMORI_ERR_EXISTS;
			goto out;
		}
	if (n >= MAMORI_TASK_MAX_SIGNATURES) {
		why_set(why, why_len, "the task has %d signatures already",
		    MAMORI_TASK_MAX_SIGNATURES);
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = mamori_ed25519_sign(key, MAMORI_TASK_CONTEXT,
	    t->signed_task->body.data, t->signed_task->body.len, raw)) != 0) {
		why_set(why, why_len, "signing failed: %s", mamori_strerror(r));
		goto out;
	}
	if ((sigs = calloc(n + 1, sizeof(*sigs))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < n; i++)
		sigs[i] = t->signed_task->signatures[i];
	sig.signer_id = (char *)(uintptr_t)signer_id;
	sig.signature.data = raw;
	sig.signature.len = sizeof(raw);
	sigs[n] = &sig;
	st.body = t->signed_task->body;
	st.n_signatures = n + 1;
	st.signatures = sigs;
	if (protobuf_c_message_get_packed_size(&st.base) >
	    MAMORI_TASK_MAX_BYTES) {
		why_set(why, why_len, "signed task exceeds %d bytes",
		    MAMORI_TASK_MAX_BYTES);
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	r = mamori_pb_encode(&st.base, out);
out:
	free(sigs);
	mamori_task_free(t);
	return r;
}

/* 1 when the body names agent_id, directly or through a group of the
 * policy that lists it. */
static int
task_targets(const struct mamori_policy *p, const Mamori__TaskBody *b,
    const char *agent_id)
{
	size_t i, j;

	for (i = 0; i < b->n_target_agents; i++)
		if (strcmp(b->target_agents[i], agent_id) == 0)
			return 1;
	for (i = 0; i < b->n_target_groups; i++)
		for (j = 0; j < p->body->n_groups; j++)
			if (strcmp(p->body->groups[j]->name,
			    b->target_groups[i]) == 0 &&
			    mamori_policy_group_has(p->body->groups[j],
			    agent_id))
				return 1;
	return 0;
}

/* 1 when a group of the policy that lists agent_id accepts type. */
static int
type_accepted(const struct mamori_policy *p, int type, const char *agent_id)
{
	size_t i, j;

	for (i = 0; i < p->body->n_groups; i++) {
		const Mamori__PolicyGroup *g = p->body->groups[i];

		if (!mamori_policy_group_has(g, agent_id))
			continue;
		for (j = 0; j < g->n_accepted_types; j++)
			if ((int)g->accepted_types[j] == type)
				return 1;
	}
	return 0;
}

/*
 * Checks every signature; returns the reason and sets *distinct to the
 * number of different admins whose signature verified.
 */
static enum mamori_decision_reason
task_signatures(const struct mamori_policy *p, const Mamori__SignedTask *st,
    size_t *distinct, char *why, size_t why_len)
{
	uint8_t counted[MAMORI_POLICY_MAX_ADMINS];
	size_t i;
	int idx;

	*distinct = 0;
	memset(counted, 0, sizeof(counted));
	for (i = 0; i < st->n_signatures; i++) {
		const Mamori__TaskSignature *s = st->signatures[i];

		idx = mamori_policy_admin_index(p, s->signer_id);
		if (idx < 0 || idx >= MAMORI_POLICY_MAX_ADMINS) {
			why_set(why, why_len, "signature %zu: signer is not an "
			    "admin of policy version %llu", i + 1,
			    (unsigned long long)p->body->version);
			return MAMORI_DECISION_UNKNOWN_SIGNER;
		}
		if (mamori_ed25519_verify(p->admin_keys[idx],
		    MAMORI_TASK_CONTEXT, st->body.data, st->body.len,
		    s->signature.data, s->signature.len) != 0) {
			why_set(why, why_len, "signature %zu by admin %s does "
			    "not verify", i + 1, p->body->admins[idx]->id);
			return MAMORI_DECISION_BAD_SIGNATURE;
		}
		if (!counted[idx]) {
			counted[idx] = 1;
			(*distinct)++;
		}
	}
	return MAMORI_DECISION_ACCEPTED;
}

int
mamori_task_verify(const struct mamori_policy *policy, const char *agent_id,
    uint64_t now, struct mamori_seen_set *seen, const uint8_t *data,
    size_t len, struct mamori_task **out, struct mamori_decision *d)
{
	enum mamori_decision_reason reason;
	struct mamori_task *t = NULL;
	const Mamori__TaskBody *b;
	char why[MAMORI_DECISION_DETAIL_MAX], idhex[2 * MAMORI_TASK_ID_LEN + 1];
	size_t need, have;
	int r = MAMORI_ERR_REFUSED, rr;

	*out = NULL;
	mamori_decision_set(d, MAMORI_DECISION_INTERNAL, NULL);
	if (policy == NULL || policy->body == NULL) {
		mamori_decision_set(d, MAMORI_DECISION_NO_POLICY, NULL);
		goto out;
	}
	if (agent_id == NULL || seen == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	why[0] = '\0';
	if ((rr = task_decode(data, len, &t, &reason, why,
	    sizeof(why))) != 0) {
		if (rr == MAMORI_ERR_ALLOC) {
			r = rr;
			goto out;
		}
		mamori_decision_set(d, reason, "%s", why);
		goto out;
	}
	b = t->body;
	mamori_hex(b->task_id.data, MAMORI_TASK_ID_LEN, idhex);
	if (b->not_before > now &&
	    b->not_before - now > MAMORI_TASK_CLOCK_SKEW) {
		mamori_decision_set(d, MAMORI_DECISION_NOT_YET_VALID,
		    "task %s is valid from %llu, now is %llu", idhex,
		    (unsigned long long)b->not_before,
		    (unsigned long long)now);
		goto out;
	}
	if (now >= b->not_after &&
	    now - b->not_after >= MAMORI_TASK_CLOCK_SKEW) {
		mamori_decision_set(d, MAMORI_DECISION_EXPIRED,
		    "task %s was valid until %llu, now is %llu", idhex,
		    (unsigned long long)b->not_after,
		    (unsigned long long)now);
		goto out;
	}
	if (!task_targets(policy, b, agent_id)) {
		mamori_decision_set(d, MAMORI_DECISION_NOT_TARGETED,
		    "task %s names neither this agent nor one of its groups",
		    idhex);
		goto out;
	}
	if (!type_accepted(policy, (int)b->type, agent_id)) {
		mamori_decision_set(d, MAMORI_DECISION_TYPE_NOT_ALLOWED,
		    "task %s: no group of this agent accepts %s", idhex,
		    mamori_task_type_name((int)b->type));
		goto out;
	}
	reason = task_signatures(policy, t->signed_task, &have, why,
	    sizeof(why));
	if (reason != MAMORI_DECISION_ACCEPTED) {
		mamori_decision_set(d, reason, "task %s: %s", idhex, why);
		goto out;
	}
	switch (t->task_class) {
	case MAMORI_TASK_OBSERVE:
		need = policy->body->observe_from_server ? 0 : 1;
		break;
	case MAMORI_TASK_COLLECT:
		need = policy->body->quorum_collect;
		break;
	case MAMORI_TASK_CHANGE:
		need = policy->body->quorum_change;
		break;
	default:
		goto out;
	}
	if (need < 1 && t->task_class != MAMORI_TASK_OBSERVE)
		need = 1; /* never: the policy check refuses quorum 0 */
	if (have < need) {
		mamori_decision_set(d, have == 0 ?
		    MAMORI_DECISION_NO_SIGNATURE : MAMORI_DECISION_QUORUM,
		    "task %s (%s, %s) has %zu of the %zu admin signatures "
		    "it needs", idhex, mamori_task_type_name((int)b->type),
		    mamori_task_class_name(t->task_class), have, need);
		goto out;
	}
	if (mamori_seen_contains(seen, b->task_id.data)) {
		mamori_decision_set(d, MAMORI_DECISION_REPLAYED,
		    "task %s was received before", idhex);
		goto out;
	}
	if ((rr = mamori_seen_add(seen, b->task_id.data, b->not_after,
	    now)) != 0) {
		mamori_decision_set(d, rr == MAMORI_ERR_TOO_LARGE ?
		    MAMORI_DECISION_SEEN_FULL : rr == MAMORI_ERR_EXISTS ?
		    MAMORI_DECISION_REPLAYED : MAMORI_DECISION_STATE,
		    "task %s: cannot record its id: %s", idhex,
		    mamori_strerror(rr));
		goto out;
	}
	t->valid_signers = have;
	mamori_decision_set(d, MAMORI_DECISION_ACCEPTED,
	    "task %s (%s) accepted with %zu admin signature%s", idhex,
	    mamori_task_type_name((int)b->type), have, have == 1 ? "" : "s");
	*out = t;
	t = NULL;
	r = 0;
out:
	if (r == MAMORI_ERR_ALLOC)
		mamori_decision_set(d, MAMORI_DECISION_INTERNAL,
		    "out of memory");
	mamori_task_free(t);
	return r;
}
