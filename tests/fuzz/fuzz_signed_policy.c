/*
 * fuzz_signed_policy.c - libFuzzer target for fleet policy verification
 * (mamori_policy_verify in src/trust/policy.c), with the owner key of
 * trust_fleet.h pinned.
 *
 * A policy is handed out exactly when it is accepted; an accepted one has
 * the pinned owner, a version above 0, content that passes the policy
 * check, a key object per admin, and the very bytes given; verifying it
 * again as the current version is STALE_POLICY.  Any breach aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trust_fleet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t fp[32];
	static int have_fp;
	struct mamori_policy *p = NULL, *p2 = NULL;
	struct mamori_decision d;
	char why[256];
	size_t i;
	int r;

	if (!have_fp) {
		tf_owner_fp(fp);
		have_fp = 1;
	}
	r = mamori_policy_verify(data, size, fp, 0, &p, &d);
	if (d.detail[0] == '\0')
		abort();
	if (r != 0) {
		if (p != NULL || d.reason == MAMORI_DECISION_ACCEPTED)
			abort();
		return 0;
	}
	if (p == NULL || d.reason != MAMORI_DECISION_ACCEPTED ||
	    p->body->version == 0 || memcmp(p->owner_fp, fp, 32) != 0 ||
	    p->signed_len != size || memcmp(p->signed_bytes, data, size) != 0 ||
	    mamori_policy_body_check(p->body, why, sizeof(why)) != 0)
		abort();
	for (i = 0; i < p->body->n_admins; i++)
		if (p->admin_keys[i] == NULL)
			abort();
	if (mamori_policy_verify(data, size, fp, p->body->version, &p2,
	    &d) != MAMORI_ERR_REFUSED || p2 != NULL ||
	    d.reason != MAMORI_DECISION_STALE_POLICY)
		abort();
	mamori_policy_free(p);
	return 0;
}
