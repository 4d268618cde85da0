/*
 * policy.h - the fleet policy: which admin keys may sign tasks, which agents
 * form which groups, what task types each group accepts, and how many admin
 * signatures each class of task needs.
 *
 * A policy is a PolicyBody (proto/mamori.proto) signed by the owner key:
 * Ed25519 over MAMORI_POLICY_CONTEXT (with its NUL) || body bytes.  An
 * agent accepts a policy only when the owner key that signed it has the
 * fingerprint it pinned at enrollment, and only when its version is newer
 * than the one it holds.  The bytes verified are the bytes decoded; a body
 * with unknown fields or in other than canonical encoding is refused.
 */
#ifndef MAMORI_TRUST_POLICY_H
#define MAMORI_TRUST_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"
#include "crypto.h"
#include "decision.h"
#include "mamori.pb-c.h"

#define MAMORI_POLICY_FORMAT 1
#define MAMORI_POLICY_CONTEXT "mamori policy v1" /* signed with its NUL */
#define MAMORI_POLICY_MAX_BYTES (4 * 1024 * 1024) /* a SignedPolicy */
#define MAMORI_POLICY_DECODE_BUDGET (32 * 1024 * 1024)
#define MAMORI_POLICY_MAX_ADMINS 64
#define MAMORI_POLICY_MAX_GROUPS 256
#define MAMORI_POLICY_MAX_MEMBERS 100000   /* agent ids over all groups */
#define MAMORI_POLICY_NAME_MAX 128         /* group and admin names */
#define MAMORI_POLICY_AGENT_ID_MAX 64      /* bytes of an agent id */
/* YARA rule sets carried by the policy (docs/yara.md).  Only bounds,
 * names and encoding are checked here: the trust library never links
 * libyara, so a set that does not compile is found (and skipped, said in
 * a TrustEvent) by the agent, and by `mamori policy sign` beforehand. */
#define MAMORI_POLICY_YARA_SETS_MAX 64           /* sets in one policy */
#define MAMORI_POLICY_YARA_NAME_MAX 128          /* bytes of a set name */
#define MAMORI_POLICY_YARA_SET_MAX (1024 * 1024) /* bytes of one source */
#define MAMORI_POLICY_YARA_TOTAL_MAX (3 * 1024 * 1024) /* all sources,
                                          * under MAMORI_POLICY_MAX_BYTES */
/* A group member standing for every agent of the fleet. */
#define MAMORI_POLICY_EVERY_AGENT "*"

/* A verified policy.  Read-only after verification. */
struct mamori_policy {
	Mamori__PolicyBody *body;       /* decoded body (owned) */
	EVP_PKEY **admin_keys;          /* one per body->admins[i] (owned) */
	uint8_t owner_fp[MAMORI_SHA256_LEN];
	uint8_t *signed_bytes;          /* the SignedPolicy as verified, */
	size_t signed_len;              /* to store and relay (owned) */
};

/*
 * Checks a decoded body's content: format, version > 0, owner fingerprint
 * length, admins (valid unique ids, 32-byte keys, names within bounds),
 * groups (unique names, agent ids within bounds, known task types), and
 * quorums (1 <= quorum <= number of admins; with no admins, no collect or
 * change task can ever pass, and quorums must still be 1), and YARA sets
 * (unique names of A-Z a-z 0-9 . _ - not starting with '.'; sources
 * non-empty UTF-8 without NUL within the MAMORI_POLICY_YARA_* bounds).  Returns 0 or
 * MAMORI_ERR_INVALID with one line in why.
 */
int mamori_policy_body_check(const Mamori__PolicyBody *b, char *why,
    size_t why_len);

/*
 * Verifies a serialized SignedPolicy.  pinned_owner_fp is the owner-key
 * fingerprint the agent pinned at enrollment; current_version the version
 * of the policy it holds (0: none).  On success returns 0 and *out (free
 * with mamori_policy_free); otherwise MAMORI_ERR_REFUSED (or ALLOC) and d
 * says why: MALFORMED, BAD_FORMAT, NOT_OWNER, BAD_SIGNATURE, STALE_POLICY,
 * INVALID_POLICY.
 */
int mamori_policy_verify(const uint8_t *data, size_t len,
    const uint8_t pinned_owner_fp[MAMORI_SHA256_LEN],
    uint64_t current_version, struct mamori_policy **out,
    struct mamori_decision *d);

/*
 * As mamori_policy_verify, but trusts whatever owner key signed it: for
 * showing a policy file to people, who compare owner_fp with their own.
 * Never use its result to decide anything.
 */
int mamori_policy_inspect(const uint8_t *data, size_t len,
    struct mamori_policy **out, struct mamori_decision *d);

void mamori_policy_free(struct mamori_policy *p);

/*
 * Signs a serialized PolicyBody with the owner key: checks it
 * (mamori_policy_body_check), checks its owner_fingerprint names owner, and
 * appends the SignedPolicy to out.  why gets one line on failure.
 */
int mamori_policy_sign(const uint8_t *body, size_t body_len, EVP_PKEY *owner,
    struct mamori_buf *out, char *why, size_t why_len);

/* 1 when name may name a YARA set: 1..MAMORI_POLICY_YARA_NAME_MAX of
 * A-Z a-z 0-9 . _ -, not starting with '.' (a file name on every system,
 * never a path). */
int mamori_policy_yara_name_valid(const char *name);

/* Index of the admin with id in p, or -1. */
int mamori_policy_admin_index(const struct mamori_policy *p, const char *id);

/* 1 when agent_id is a member of group g (listed, or g lists "*"). */
int mamori_policy_group_has(const Mamori__PolicyGroup *g,
    const char *agent_id);

/*
 * Reads a policy written by people as JSON (see docs in policy_json.c) and
 * appends the PolicyBody it describes to out.  Relative paths of admins'
 * public key files are taken from the JSON file's directory.  owner_fp
 * goes into the body, and issued_at.  why gets one line naming the
 * problem.
 */
int mamori_policy_from_json(const char *path,
    const uint8_t owner_fp[MAMORI_SHA256_LEN], uint64_t issued_at,
    struct mamori_buf *out, char *why, size_t why_len);

#endif
