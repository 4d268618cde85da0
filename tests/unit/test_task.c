/*
 * test_task.c - unit tests for signed tasks and the replay set
 * (src/trust/task.c, src/trust/seen.c).
 *
 * An agent must act on a task only when every check passes; each test
 * below breaks exactly one condition and asserts the precise reason the
 * task is refused, and that nothing is handed out or recorded then.  The
 * fleet is the one in trust_fixture.h.
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

#include "trust_fixture.h"
#include "../fuzz/trust_fleet.h"

#define READ_FILE MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE
#define QUERY MAMORI__TASK_TYPE__TASK_TYPE_QUERY
#define RUN_COMMAND MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND
#define KILL_PROCESS MAMORI__TASK_TYPE__TASK_TYPE_KILL_PROCESS
#define ALICE 0
#define BOB 1
#define CAROL 2
#define DAVE 3

struct state {
	struct fx f;
	struct mamori_policy *policy;    /* 3 admins, quorums 1 and 2 */
	struct mamori_seen_set *seen;
	struct mamori_buf task;
	char dir[64];
};

static const struct fx_policy_opts default_policy = {
	.version = 1, .observe_from_server = 1, .quorum_collect = 1,
	.quorum_change = 2, .n_admins = 3,
};

static int
setup(void **ctx)
{
	struct state *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	fx_init(&s->f);
	s->policy = fx_policy(&s->f, &default_policy);
	assert_int_equal(mamori_seen_open(NULL, FX_NOW, &s->seen), 0);
	mamori_buf_init(&s->task, MAMORI_TASK_MAX_BYTES);
	snprintf(s->dir, sizeof(s->dir), "/tmp/mamori-test-task.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	*ctx = s;
	return 0;
}

static int
teardown(void **ctx)
{
	struct state *s = *ctx;
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", s->dir, MAMORI_SEEN_FILE);
	unlink(path);
	rmdir(s->dir);
	mamori_buf_free(&s->task);
	mamori_seen_free(s->seen);
	mamori_policy_free(s->policy);
	fx_free(&s->f);
	free(s);
	return 0;
}

/* A task of type to agent-1, valid for an hour from FX_NOW - 60. */
static struct fx_task_opts
opts(int type, uint8_t id)
{
	struct fx_task_opts o = {
		.type = type, .agent = "agent-1", .group = NULL,
		.not_before = FX_NOW - 60, .not_after = FX_NOW + 3600,
		.id_byte = id,
	};

	return o;
}

/* Verifies s->task as agent at now; returns the reason, and checks that
 * a task is handed out exactly when it is accepted. */
static enum mamori_decision_reason
verify_as(struct state *s, const struct mamori_policy *p, const char *agent,
    uint64_t now)
{
	struct mamori_task *t = NULL;
	struct mamori_decision d;
	int r;

	r = mamori_task_verify(p, agent, now, s->seen, s->task.data,
	    s->task.len, &t, &d);
	if (r == 0) {
		assert_non_null(t);
		assert_int_equal(d.reason, MAMORI_DECISION_ACCEPTED);
	} else {
		assert_int_equal(r, MAMORI_ERR_REFUSED);
		assert_null(t);
		assert_int_not_equal(d.reason, MAMORI_DECISION_ACCEPTED);
	}
	assert_true(d.detail[0] != '\0');
	mamori_task_free(t);
	return d.reason;
}

static enum mamori_decision_reason
verify(struct state *s)
{
	return verify_as(s, s->policy, "agent-1", FX_NOW);
}

static void
task_make(struct state *s, const struct fx_task_opts *o)
{
	mamori_buf_reset(&s->task);
	fx_task(o, &s->task);
}

static void
test_valid_collect_task_accepted(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 1);
	struct mamori_task *t = NULL;
	struct mamori_decision d;

	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(mamori_task_verify(s->policy, "agent-1", FX_NOW,
	    s->seen, s->task.data, s->task.len, &t, &d), 0);
	assert_non_null(t);
	assert_int_equal(t->task_class, MAMORI_TASK_COLLECT);
	assert_int_equal(t->valid_signers, 1);
	assert_string_equal(t->body->read_file->path, "/etc/os-release");
	assert_int_equal(mamori_seen_count(s->seen), 1);
	assert_string_equal(mamori_decision_name(d.reason), "ACCEPTED");
	mamori_task_free(t);
}

static void
test_no_signature(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 2);

	task_make(s, &o);
	assert_int_equal(verify(s), MAMORI_DECISION_NO_SIGNATURE);
	assert_int_equal(mamori_seen_count(s->seen), 0);
}

/* Replaces the signatures of task with those of from (same or another
 * body); dup repeats the first signature. */
static void
graft(struct mamori_buf *task, const struct mamori_buf *from, int dup)
{
	Mamori__SignedTask *a = NULL, *b = NULL, st = MAMORI__SIGNED_TASK__INIT;
	Mamori__TaskSignature *sigs[4];

	assert_int_equal(mamori_pb_decode(&mamori__signed_task__descriptor,
	    task->data, task->len, 1 << 20, (ProtobufCMessage **)&a), 0);
	assert_int_equal(mamori_pb_decode(&mamori__signed_task__descriptor,
	    from->data, from->len, 1 << 20, (ProtobufCMessage **)&b), 0);
	assert_true(b->n_signatures >= 1 && b->n_signatures <= 2);
	memcpy(sigs, b->signatures, b->n_signatures * sizeof(*sigs));
	st.body = a->body;
	st.signatures = sigs;
	st.n_signatures = b->n_signatures;
	if (dup)
		sigs[st.n_signatures++] = sigs[0];
	{
		struct mamori_buf out;

		mamori_buf_init(&out, MAMORI_TASK_MAX_BYTES);
		assert_int_equal(mamori_pb_encode(&st.base, &out), 0);
		mamori_buf_reset(task);
		assert_int_equal(mamori_buf_append(task, out.data, out.len),
		    0);
		mamori_buf_free(&out);
	}
	mamori_pb_free(&a->base);
	mamori_pb_free(&b->base);
}

static void
test_wrong_signature(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 3);

	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	/* The signature is the last 64 bytes of the encoding. */
	s->task.data[s->task.len - 10] ^= 0x01;
	assert_int_equal(verify(s), MAMORI_DECISION_BAD_SIGNATURE);
	assert_int_equal(mamori_seen_count(s->seen), 0);
}

static void
test_signature_over_other_body(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 4), o2 = opts(READ_FILE, 5);
	struct mamori_buf other;

	mamori_buf_init(&other, MAMORI_TASK_MAX_BYTES);
	fx_task(&o2, &other);
	fx_sign(&s->f, ALICE, &other);
	task_make(s, &o);
	graft(&s->task, &other, 0);
	assert_int_equal(verify(s), MAMORI_DECISION_BAD_SIGNATURE);
	mamori_buf_free(&other);
}

static void
test_signer_not_in_policy(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 6);

	task_make(s, &o);
	fx_sign(&s->f, DAVE, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_UNKNOWN_SIGNER);
	/* An unknown signer spoils the task even beside a valid one. */
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_UNKNOWN_SIGNER);
}

static void
test_quorum_change(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(RUN_COMMAND, 7);

	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_QUORUM);
	fx_sign(&s->f, BOB, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_ACCEPTED);
}

static void
test_quorum_collect(void **ctx)
{
	struct state *s = *ctx;
	struct fx_policy_opts po = default_policy;
	struct mamori_policy *p;
	struct fx_task_opts o = opts(READ_FILE, 8);

	po.quorum_collect = 2;
	p = fx_policy(&s->f, &po);
	task_make(s, &o);
	fx_sign(&s->f, CAROL, &s->task);
	assert_int_equal(verify_as(s, p, "agent-1", FX_NOW),
	    MAMORI_DECISION_QUORUM);
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(verify_as(s, p, "agent-1", FX_NOW),
	    MAMORI_DECISION_ACCEPTED);
	mamori_policy_free(p);
}

static void
test_duplicate_signer_counts_once(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(RUN_COMMAND, 9);
	struct mamori_buf signed_once, again;
	char why[256];

	mamori_buf_init(&signed_once, MAMORI_TASK_MAX_BYTES);
	mamori_buf_init(&again, MAMORI_TASK_MAX_BYTES);
	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	/* The tool refuses a second signature by the same admin... */
	assert_int_equal(mamori_task_sign(s->task.data, s->task.len, "alice",
	    s->f.admin[ALICE], &again, why, sizeof(why)), MAMORI_ERR_EXISTS);
	/* ...and a task carrying one twice still counts one. */
	assert_int_equal(mamori_buf_append(&signed_once, s->task.data,
	    s->task.len), 0);
	graft(&s->task, &signed_once, 1);
	assert_int_equal(verify(s), MAMORI_DECISION_QUORUM);
	mamori_buf_free(&signed_once);
	mamori_buf_free(&again);
}

static void
test_window(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 10);

	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	/* Expired once not_after plus the skew has passed. */
	assert_int_equal(verify_as(s, s->policy, "agent-1",
	    o.not_after + MAMORI_TASK_CLOCK_SKEW), MAMORI_DECISION_EXPIRED);
	assert_int_equal(verify_as(s, s->policy, "agent-1",
	    o.not_after + 100000), MAMORI_DECISION_EXPIRED);
	/* Not valid yet beyond the skew. */
	assert_int_equal(verify_as(s, s->policy, "agent-1",
	    o.not_before - MAMORI_TASK_CLOCK_SKEW - 1),
	    MAMORI_DECISION_NOT_YET_VALID);
	assert_int_equal(mamori_seen_count(s->seen), 0);
	/* Within the skew at the start: accepted. */
	assert_int_equal(verify_as(s, s->policy, "agent-1",
	    o.not_before - MAMORI_TASK_CLOCK_SKEW),
	    MAMORI_DECISION_ACCEPTED);
}

static void
test_window_too_long(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 11);
	struct mamori_buf b;
	char why[256];

	o.not_after = o.not_before + MAMORI_TASK_MAX_WINDOW + 1;
	o.unchecked = 1;
	task_make(s, &o);
	fx_sign_raw(&s->f, ALICE, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_WINDOW_TOO_LONG);
	/* The tool does not make such a task. */
	o.unchecked = 0;
	mamori_buf_init(&b, MAMORI_TASK_MAX_BYTES);
	{
		Mamori__TaskBody *body = NULL;
		struct mamori_task *t = NULL;

		o.not_after = o.not_before + MAMORI_TASK_MAX_WINDOW;
		fx_task(&o, &b);
		assert_int_equal(mamori_task_open(b.data, b.len, &t, why,
		    sizeof(why)), 0);
		body = t->body;
		body->not_after++;
		assert_int_equal(mamori_task_encode_unsigned(body, &b, why,
		    sizeof(why)), MAMORI_ERR_INVALID);
		mamori_task_free(t);
	}
	mamori_buf_free(&b);
}

static void
test_targets(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 12);

	o.agent = "agent-2";
	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_NOT_TARGETED);
	/* A group target reaches its members only. */
	o.agent = NULL;
	o.group = "web";
	o.id_byte = 13;
	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(verify_as(s, s->policy, "agent-3", FX_NOW),
	    MAMORI_DECISION_NOT_TARGETED);
	assert_int_equal(verify_as(s, s->policy, "agent-9", FX_NOW),
	    MAMORI_DECISION_NOT_TARGETED);
	assert_int_equal(verify_as(s, s->policy, "agent-2", FX_NOW),
	    MAMORI_DECISION_ACCEPTED);
	/* A group the policy does not have reaches nobody. */
	o.group = "webx";
	o.id_byte = 14;
	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_NOT_TARGETED);
}

static void
test_type_not_allowed(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 15);

	o.agent = "agent-3"; /* in db, which accepts query only */
	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(verify_as(s, s->policy, "agent-3", FX_NOW),
	    MAMORI_DECISION_TYPE_NOT_ALLOWED);
	/* kill_process: agent-1's group does not accept it either. */
	o = opts(KILL_PROCESS, 16);
	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	fx_sign(&s->f, BOB, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_TYPE_NOT_ALLOWED);
}

static void
test_replay(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 17);
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", s->dir, MAMORI_SEEN_FILE);
	mamori_seen_free(s->seen);
	assert_int_equal(mamori_seen_open(path, FX_NOW, &s->seen), 0);
	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_ACCEPTED);
	assert_int_equal(verify(s), MAMORI_DECISION_REPLAYED);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	/* After a restart: still refused. */
	mamori_seen_free(s->seen);
	assert_int_equal(mamori_seen_open(path, FX_NOW + 60, &s->seen), 0);
	assert_int_equal(mamori_seen_count(s->seen), 1);
	assert_int_equal(verify_as(s, s->policy, "agent-1", FX_NOW + 60),
	    MAMORI_DECISION_REPLAYED);
	/* Re-signed by another admin it is the same task. */
	fx_sign(&s->f, BOB, &s->task);
	assert_int_equal(verify_as(s, s->policy, "agent-1", FX_NOW + 60),
	    MAMORI_DECISION_REPLAYED);
	/* Once its window and the skew have passed, the id is pruned and the
	 * task is refused as expired. */
	mamori_seen_free(s->seen);
	assert_int_equal(mamori_seen_open(path, o.not_after +
	    MAMORI_TASK_CLOCK_SKEW + 1, &s->seen), 0);
	assert_int_equal(mamori_seen_count(s->seen), 0);
	assert_int_equal(verify_as(s, s->policy, "agent-1", o.not_after +
	    MAMORI_TASK_CLOCK_SKEW + 1), MAMORI_DECISION_EXPIRED);
}

static void
test_seen_file_damaged(void **ctx)
{
	struct state *s = *ctx;
	struct mamori_seen_set *set = NULL;
	struct mamori_buf b;
	uint8_t id[MAMORI_SEEN_ID_LEN];
	char path[128];
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", s->dir, MAMORI_SEEN_FILE);
	unlink(path);
	assert_int_equal(mamori_seen_open(path, FX_NOW, &set), 0);
	for (i = 0; i < 3; i++) {
		memset(id, (int)(0x40 - i), sizeof(id));
		assert_int_equal(mamori_seen_add(set, id, FX_NOW + 10, FX_NOW),
		    0);
	}
	assert_int_equal(mamori_seen_add(set, id, FX_NOW + 10, FX_NOW),
	    MAMORI_ERR_EXISTS);
	mamori_seen_free(set);
	mamori_buf_init(&b, MAMORI_SEEN_FILE_MAX);
	assert_int_equal(mamori_buf_read_file(&b, path), 0);
	assert_int_equal(b.len, 12 + 3 * MAMORI_SEEN_ENTRY_LEN + 32);
	assert_int_equal(mamori_seen_decode(b.data, b.len, &set), 0);
	assert_int_equal(mamori_seen_count(set), 3);
	assert_true(mamori_seen_contains(set, id));
	mamori_seen_free(set);
	/* Any flipped byte: the whole file is refused, not emptied. */
	for (i = 0; i < b.len; i++) {
		b.data[i] ^= 0x20;
		assert_int_not_equal(mamori_seen_decode(b.data, b.len, &set),
		    0);
		assert_null(set);
		b.data[i] ^= 0x20;
	}
	b.data[20] ^= 1;
	assert_int_equal(mamori_file_write(path, b.data, b.len, 0600, 0), 0);
	assert_int_equal(mamori_seen_open(path, FX_NOW, &set),
	    MAMORI_ERR_CHECKSUM);
	assert_null(set);
	unlink(path);
	mamori_buf_free(&b);
}

static void
test_resigned_after_signer_removed(void **ctx)
{
	struct state *s = *ctx;
	struct fx_policy_opts po = default_policy;
	struct mamori_policy *v2;
	struct fx_task_opts o = opts(READ_FILE, 18);

	task_make(s, &o);
	fx_sign(&s->f, CAROL, &s->task);
	po.version = 2;
	po.n_admins = 2; /* carol removed */
	v2 = fx_policy(&s->f, &po);
	assert_int_equal(verify_as(s, v2, "agent-1", FX_NOW),
	    MAMORI_DECISION_UNKNOWN_SIGNER);
	/* Alice's signature beside carol's does not save it. */
	fx_sign(&s->f, ALICE, &s->task);
	assert_int_equal(verify_as(s, v2, "agent-1", FX_NOW),
	    MAMORI_DECISION_UNKNOWN_SIGNER);
	/* Under v1 the same bytes pass. */
	assert_int_equal(verify(s), MAMORI_DECISION_ACCEPTED);
	mamori_policy_free(v2);
}

static void
test_observe_from_server(void **ctx)
{
	struct state *s = *ctx;
	struct fx_policy_opts po = default_policy;
	struct mamori_policy *strict;
	struct fx_task_opts o = opts(QUERY, 19);

	task_make(s, &o);
	assert_int_equal(verify(s), MAMORI_DECISION_ACCEPTED);
	po.version = 2;
	po.observe_from_server = 0;
	strict = fx_policy(&s->f, &po);
	o.id_byte = 20;
	task_make(s, &o);
	assert_int_equal(verify_as(s, strict, "agent-1", FX_NOW),
	    MAMORI_DECISION_NO_SIGNATURE);
	fx_sign(&s->f, BOB, &s->task);
	assert_int_equal(verify_as(s, strict, "agent-1", FX_NOW),
	    MAMORI_DECISION_ACCEPTED);
	/* A collect task never passes unsigned, whatever the policy. */
	o = opts(READ_FILE, 21);
	task_make(s, &o);
	assert_int_equal(verify(s), MAMORI_DECISION_NO_SIGNATURE);
	mamori_policy_free(strict);
}

static void
test_malformed(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(READ_FILE, 22);
	/* field 99, varint 1: unknown to TaskBody */
	static const uint8_t unknown[] = {0x98, 0x06, 0x01};
	/* field 7 (not_after) again: a duplicate, non-canonical */
	static const uint8_t dup[] = {0x38, 0x01};
	size_t cut;

	o.unchecked = 1;
	o.extra = unknown;
	o.extra_len = sizeof(unknown);
	task_make(s, &o);
	fx_sign_raw(&s->f, ALICE, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_MALFORMED);
	o.extra = dup;
	o.extra_len = sizeof(dup);
	task_make(s, &o);
	fx_sign_raw(&s->f, ALICE, &s->task);
	assert_int_equal(verify(s), MAMORI_DECISION_MALFORMED);
	/* Every truncation of a valid task is refused. */
	o = opts(READ_FILE, 23);
	task_make(s, &o);
	fx_sign(&s->f, ALICE, &s->task);
	for (cut = 0; cut < s->task.len; cut++) {
		struct mamori_task *t = NULL;
		struct mamori_decision d;

		assert_int_equal(mamori_task_verify(s->policy, "agent-1",
		    FX_NOW, s->seen, s->task.data, cut, &t, &d),
		    MAMORI_ERR_REFUSED);
		assert_null(t);
	}
	assert_int_equal(mamori_seen_count(s->seen), 0);
	/* A type whose parameters are another type's. */
	{
		Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
		Mamori__QueryParams q = MAMORI__QUERY_PARAMS__INIT;
		uint8_t id[MAMORI_TASK_ID_LEN];
		char *agents[] = {"agent-1"};
		struct mamori_buf body;

		memset(id, 24, sizeof(id));
		b.format_version = 1;
		b.task_id.data = id;
		b.task_id.len = sizeof(id);
		b.type = MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND;
		b.params_case = MAMORI__TASK_BODY__PARAMS_QUERY;
		q.sql = "SELECT 1";
		b.query = &q;
		b.n_target_agents = 1;
		b.target_agents = agents;
		b.not_before = FX_NOW;
		b.not_after = FX_NOW + 60;
		mamori_buf_init(&body, MAMORI_TASK_MAX_BYTES);
		assert_int_equal(mamori_pb_encode(&b.base, &body), 0);
		mamori_buf_reset(&s->task);
		fx_wrap(body.data, body.len, &s->task);
		fx_sign_raw(&s->f, ALICE, &s->task);
		fx_sign_raw(&s->f, BOB, &s->task);
		assert_int_equal(verify(s), MAMORI_DECISION_MALFORMED);
		b.format_version = 2;
		b.params_case = MAMORI__TASK_BODY__PARAMS__NOT_SET;
		mamori_buf_reset(&body);
		assert_int_equal(mamori_pb_encode(&b.base, &body), 0);
		mamori_buf_reset(&s->task);
		fx_wrap(body.data, body.len, &s->task);
		assert_int_equal(verify(s), MAMORI_DECISION_BAD_FORMAT);
		mamori_buf_free(&body);
	}
}

static void
test_no_policy(void **ctx)
{
	struct state *s = *ctx;
	struct fx_task_opts o = opts(QUERY, 25);

	task_make(s, &o);
	assert_int_equal(verify_as(s, NULL, "agent-1", FX_NOW),
	    MAMORI_DECISION_NO_POLICY);
}

static void
test_context_separation(void **ctx)
{
	struct state *s = *ctx;
	static const uint8_t body[] = "same bytes";
	uint8_t sig[MAMORI_ED25519_SIG_LEN];

	assert_int_equal(mamori_ed25519_sign(s->f.admin[ALICE],
	    MAMORI_TASK_CONTEXT, body, sizeof(body), sig), 0);
	assert_int_equal(mamori_ed25519_verify(s->f.admin[ALICE],
	    MAMORI_TASK_CONTEXT, body, sizeof(body), sig, sizeof(sig)), 0);
	assert_int_equal(mamori_ed25519_verify(s->f.admin[ALICE],
	    MAMORI_POLICY_CONTEXT, body, sizeof(body), sig, sizeof(sig)),
	    MAMORI_ERR_AUTH);
	assert_int_equal(mamori_ed25519_verify(s->f.admin[BOB],
	    MAMORI_TASK_CONTEXT, body, sizeof(body), sig, sizeof(sig)),
	    MAMORI_ERR_AUTH);
}

static void
test_type_classes(void **ctx)
{
	int t;

	(void)ctx;
	assert_int_equal(mamori_task_type_class(QUERY), MAMORI_TASK_OBSERVE);
	for (t = 2; t <= 4; t++)
		assert_int_equal(mamori_task_type_class(t),
		    MAMORI_TASK_COLLECT);
	for (t = 5; t <= 13; t++) {
		assert_int_equal(mamori_task_type_class(t),
		    MAMORI_TASK_CHANGE);
		assert_int_equal(mamori_task_type_from_name(
		    mamori_task_type_name(t)), t);
	}
	assert_int_equal(mamori_task_type_class(0), 0);
	assert_int_equal(mamori_task_type_class(14), 0);
	assert_null(mamori_task_type_name(14));
	assert_int_equal(mamori_task_type_from_name("format_disk"), 0);
	assert_string_equal(mamori_decision_name(MAMORI_DECISION_QUORUM),
	    "QUORUM");
}

/* The fuzz seeds (tests/fuzz/corpus/signed_task, written by
 * gen_trust_corpus) reach the decisions they are named for, so the fuzzer
 * starts past the signature checks. */
static void
test_fuzz_seeds(void **ctx)
{
	static const struct {
		const char *name;
		enum mamori_decision_reason reason;
	} seeds[] = {
		{"query_unsigned", MAMORI_DECISION_ACCEPTED},
		{"read_file_alice", MAMORI_DECISION_ACCEPTED},
		{"read_file_group", MAMORI_DECISION_ACCEPTED},
		{"run_command_quorum", MAMORI_DECISION_ACCEPTED},
		{"run_command_one", MAMORI_DECISION_QUORUM},
		{"read_file_unsigned", MAMORI_DECISION_NO_SIGNATURE},
		{"read_file_mallory", MAMORI_DECISION_UNKNOWN_SIGNER},
		{"read_file_other_agent", MAMORI_DECISION_NOT_TARGETED},
		{"read_file_expired", MAMORI_DECISION_EXPIRED},
		{"read_file_future", MAMORI_DECISION_NOT_YET_VALID},
		{"kill_process_signed", MAMORI_DECISION_TYPE_NOT_ALLOWED},
	};
	struct state *s = *ctx;
	struct mamori_policy *p = NULL;
	struct mamori_decision d;
	struct mamori_buf sp;
	char path[512];
	uint8_t fp[32];
	size_t i;

	mamori_buf_init(&sp, MAMORI_POLICY_MAX_BYTES);
	snprintf(path, sizeof(path), "%s/../../fuzz/corpus/signed_policy/v1",
	    FIXTURES);
	assert_int_equal(mamori_buf_read_file(&sp, path), 0);
	tf_owner_fp(fp);
	assert_int_equal(mamori_policy_verify(sp.data, sp.len, fp, 0, &p, &d),
	    0);
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		snprintf(path, sizeof(path),
		    "%s/../../fuzz/corpus/signed_task/%s", FIXTURES,
		    seeds[i].name);
		assert_int_equal(mamori_buf_read_file(&s->task, path), 0);
		if (verify_as(s, p, TF_AGENT, TF_NOW) != seeds[i].reason)
			fail_msg("seed %s: %s", seeds[i].name,
			    mamori_decision_name(verify_as(s, p, TF_AGENT,
			    TF_NOW)));
	}
	mamori_policy_free(p);
	mamori_buf_free(&sp);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid_collect_task_accepted),
		T(test_no_signature),
		T(test_wrong_signature),
		T(test_signature_over_other_body),
		T(test_signer_not_in_policy),
		T(test_quorum_change),
		T(test_quorum_collect),
		T(test_duplicate_signer_counts_once),
		T(test_window),
		T(test_window_too_long),
		T(test_targets),
		T(test_type_not_allowed),
		T(test_replay),
		T(test_seen_file_damaged),
		T(test_resigned_after_signer_removed),
		T(test_observe_from_server),
		T(test_malformed),
		T(test_no_policy),
		T(test_context_separation),
		T(test_type_classes),
		T(test_fuzz_seeds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
