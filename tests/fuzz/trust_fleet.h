/*
 * trust_fleet.h - a fixed fleet for the trust fuzz targets and their seed
 * generator: keys derived from constant seeds, so seeds signed once stay
 * valid and libFuzzer can reach past the signature checks.
 *
 * Owner key seed 0x01.., admins alice 0x02.., bob 0x03.., carol 0x04..;
 * group "web" = agent-1 accepting query, read_file, run_command; quorum
 * collect 1, change 2; observe from server allowed; policy version 1.
 * Tasks are verified as agent-1 at TF_NOW.  These keys are public
 * knowledge: never use them outside tests.
 */
#ifndef MAMORI_TRUST_FLEET_H
#define MAMORI_TRUST_FLEET_H

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "err.h"
#include "key.h"
#include "policy.h"
#include "task.h"
#include "wire.h"

#define TF_NOW 1800000000ULL
#define TF_AGENT "agent-1"
#define TF_ADMINS 3

static const char *const tf_ids[TF_ADMINS] = {"alice", "bob", "carol"};

static inline EVP_PKEY *
tf_key(uint8_t seed_byte)
{
	uint8_t seed[32];
	EVP_PKEY *k;

	memset(seed, seed_byte, sizeof(seed));
	if ((k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed))) == NULL)
		abort();
	return k;
}

/* The fleet's SignedPolicy of the given version carrying n YARA sets
 * (borrowed), appended to out. */
static inline void
tf_signed_policy_yara(uint64_t version, Mamori__PolicyYaraSet **sets,
    size_t n, struct mamori_buf *out)
{
	Mamori__PolicyBody b = MAMORI__POLICY_BODY__INIT;
	Mamori__PolicyAdmin admins[TF_ADMINS], *ptrs[TF_ADMINS];
	Mamori__PolicyGroup web = MAMORI__POLICY_GROUP__INIT, *groups[1];
	static char *agents[] = {TF_AGENT};
	Mamori__TaskType types[] = {MAMORI__TASK_TYPE__TASK_TYPE_QUERY,
	    MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE,
	    MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND};
	uint8_t raw[TF_ADMINS][32], owner_raw[32], fp[32];
	struct mamori_buf body;
	EVP_PKEY *owner = tf_key(1), *k;
	char why[256];
	size_t i;

	for (i = 0; i < TF_ADMINS; i++) {
		k = tf_key((uint8_t)(2 + i));
		if (mamori_ed25519_public(k, raw[i]) != 0)
			abort();
		EVP_PKEY_free(k);
		mamori__policy_admin__init(&admins[i]);
		admins[i].id = (char *)(uintptr_t)tf_ids[i];
		admins[i].public_key.data = raw[i];
		admins[i].public_key.len = 32;
		ptrs[i] = &admins[i];
	}
	web.name = "web";
	web.n_agent_ids = 1;
	web.agent_ids = agents;
	web.n_accepted_types = 3;
	web.accepted_types = types;
	groups[0] = &web;
	if (mamori_ed25519_public(owner, owner_raw) != 0)
		abort();
	mamori_ed25519_fingerprint(owner_raw, fp);
	b.format_version = MAMORI_POLICY_FORMAT;
	b.version = version;
	b.issued_at = TF_NOW;
	b.owner_fingerprint.data = fp;
	b.owner_fingerprint.len = 32;
	b.n_admins = TF_ADMINS;
	b.admins = ptrs;
	b.n_groups = 1;
	b.groups = groups;
	b.observe_from_server = 1;
	b.quorum_collect = 1;
	b.quorum_change = 2;
	b.yara = sets;
	b.n_yara = n;
	mamori_buf_init(&body, MAMORI_POLICY_MAX_BYTES);
	if (mamori_pb_encode(&b.base, &body) != 0 ||
	    mamori_policy_sign(body.data, body.len, owner, out, why,
	    sizeof(why)) != 0)
		abort();
	mamori_buf_free(&body);
	EVP_PKEY_free(owner);
}

/* The fleet's SignedPolicy of the given version, appended to out. */
static inline void
tf_signed_policy(uint64_t version, struct mamori_buf *out)
{
	tf_signed_policy_yara(version, NULL, 0, out);
}

/* The pinned owner fingerprint. */
static inline void
tf_owner_fp(uint8_t fp[32])
{
	EVP_PKEY *owner = tf_key(1);
	uint8_t raw[32];

	if (mamori_ed25519_public(owner, raw) != 0)
		abort();
	mamori_ed25519_fingerprint(raw, fp);
	EVP_PKEY_free(owner);
}

#endif
