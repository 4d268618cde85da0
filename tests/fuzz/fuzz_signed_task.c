/*
 * fuzz_signed_task.c - libFuzzer target for the agent's task gate
 * (mamori_task_verify in src/trust/task.c), against the fixed fleet of
 * trust_fleet.h.
 *
 * Whatever the bytes, verification must end in a decision with a detail,
 * hand out a task exactly when it accepts, and never accept a task that
 * does not name agent-1 (directly or through "web"), lies outside its
 * window, or has fewer distinct admin signatures than its class needs.  An
 * accepted task must be refused as REPLAYED the second time.  Any breach
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trust_fleet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mamori_policy *policy;

static void
fleet_init(void)
{
	struct mamori_decision d;
	struct mamori_buf sp;
	uint8_t fp[32];

	mamori_buf_init(&sp, MAMORI_POLICY_MAX_BYTES);
	tf_signed_policy(1, &sp);
	tf_owner_fp(fp);
	if (mamori_policy_verify(sp.data, sp.len, fp, 0, &policy, &d) != 0)
		abort();
	mamori_buf_free(&sp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mamori_seen_set *seen = NULL;
	struct mamori_task *t = NULL, *t2 = NULL;
	struct mamori_decision d;
	const Mamori__TaskBody *b;
	size_t need;
	int r;

	if (policy == NULL)
		fleet_init();
	if (mamori_seen_open(NULL, TF_NOW, &seen) != 0)
		abort();
	r = mamori_task_verify(policy, TF_AGENT, TF_NOW, seen, data, size, &t,
	    &d);
	if (d.detail[0] == '\0')
		abort();
	if (r != 0) {
		if (t != NULL || d.reason == MAMORI_DECISION_ACCEPTED ||
		    mamori_seen_count(seen) != 0)
			abort();
		goto out;
	}
	if (t == NULL || d.reason != MAMORI_DECISION_ACCEPTED)
		abort();
	b = t->body;
	if (b->not_before > TF_NOW + MAMORI_TASK_CLOCK_SKEW ||
	    TF_NOW >= b->not_after + MAMORI_TASK_CLOCK_SKEW ||
	    b->not_after - b->not_before > MAMORI_TASK_MAX_WINDOW)
		abort();
	need = t->task_class == MAMORI_TASK_OBSERVE ? 0 :
	    t->task_class == MAMORI_TASK_COLLECT ? 1 : 2;
	if (t->valid_signers < need ||
	    t->valid_signers > t->signed_task->n_signatures)
		abort();
	if (mamori_task_params_case((int)b->type) != b->params_case)
		abort();
	if (mamori_task_verify(policy, TF_AGENT, TF_NOW, seen, data, size,
	    &t2, &d) != MAMORI_ERR_REFUSED ||
	    d.reason != MAMORI_DECISION_REPLAYED || t2 != NULL)
		abort();
out:
	mamori_task_free(t);
	mamori_seen_free(seen);
	return 0;
}
