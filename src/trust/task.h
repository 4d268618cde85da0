/*
 * task.h - signed tasks: their encoding, signing, and the checks an agent
 * makes before it acts on one.
 *
 * A task is a TaskBody (proto/mamori.proto) carried as bytes inside a
 * SignedTask with zero or more admin signatures, each Ed25519 over
 * MAMORI_TASK_CONTEXT (with its NUL) || the body bytes.  The agent acts only
 * when mamori_task_verify accepts it; the server, which relays tasks, holds
 * no admin key and so cannot make one that reads content or changes an
 * endpoint.  Every refusal has a reason code (decision.h).
 *
 * The class of each task type is fixed here, not in the policy:
 * observe = query; collect = read_file, hash_path, yara_scan; change = the
 * rest.
 */
#ifndef MAMORI_TRUST_TASK_H
#define MAMORI_TRUST_TASK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"
#include "decision.h"
#include "mamori.pb-c.h"
#include "policy.h"
#include "seen.h"

#define MAMORI_TASK_FORMAT 1
#define MAMORI_TASK_CONTEXT "mamori task v1" /* signed with its NUL */
#define MAMORI_TASK_ID_LEN 16
#define MAMORI_TASK_MAX_BYTES (256 * 1024)    /* a SignedTask */
#define MAMORI_TASK_DECODE_BUDGET (2 * 1024 * 1024)
#define MAMORI_TASK_MAX_SIGNATURES 16
#define MAMORI_TASK_MAX_TARGETS 1024
#define MAMORI_TASK_MAX_WINDOW (24 * 3600)    /* not_after - not_before */
#define MAMORI_TASK_CLOCK_SKEW 300            /* seconds either way */
#define MAMORI_TASK_STRING_MAX 4096           /* a path, SQL, argument */
#define MAMORI_TASK_SCRIPT_MAX (128 * 1024)   /* a run_script body */
#define MAMORI_TASK_ARGV_MAX 256
#define MAMORI_TASK_NAME_MAX 128              /* created_by, package name */

enum mamori_task_class {
	MAMORI_TASK_OBSERVE = 1,
	MAMORI_TASK_COLLECT = 2,
	MAMORI_TASK_CHANGE = 3,
};

/* A task that decoded (and, from mamori_task_verify, was accepted). */
struct mamori_task {
	Mamori__SignedTask *signed_task; /* owned */
	Mamori__TaskBody *body;          /* decoded signed_task->body, owned */
	enum mamori_task_class task_class;
	size_t valid_signers;            /* distinct signers verified (verify
	                                  * only; 0 from mamori_task_open) */
};

/* Name ("read_file") of a task type; NULL when there is none. */
const char *mamori_task_type_name(int type);
/* Type of a name; 0 (TASK_TYPE_UNSPECIFIED) when unknown. */
int mamori_task_type_from_name(const char *name);
/* Class of a type; 0 when the type is unknown. */
enum mamori_task_class mamori_task_type_class(int type);
/* "observe", "collect", "change"; "?" otherwise. */
const char *mamori_task_class_name(enum mamori_task_class c);

/* The oneof case of TaskBody.params that type must carry. */
Mamori__TaskBody__ParamsCase mamori_task_params_case(int type);

/*
 * Checks a body's content: format version, 16-byte id, known type with the
 * matching parameters, bounded strings without NUL, at least one target,
 * a window of 1 s .. 24 h.  Returns 0 or MAMORI_ERR_INVALID with one line
 * in why.
 */
int mamori_task_body_check(const Mamori__TaskBody *b, char *why,
    size_t why_len);

/* Checks b and appends a SignedTask carrying it and no signature to out. */
int mamori_task_encode_unsigned(const Mamori__TaskBody *b,
    struct mamori_buf *out, char *why, size_t why_len);

/*
 * Decodes a serialized SignedTask and its body strictly, without checking
 * signatures, window or targets: for the administrator's tools.  Free *out
 * with mamori_task_free.
 */
int mamori_task_open(const uint8_t *data, size_t len,
    struct mamori_task **out, char *why, size_t why_len);

/*
 * Adds signer_id's signature with key to the SignedTask in data, appending
 * the new SignedTask to out.  MAMORI_ERR_EXISTS when signer_id signed it
 * already.  The body bytes are carried over untouched.
 */
int mamori_task_sign(const uint8_t *data, size_t len, const char *signer_id,
    EVP_PKEY *key, struct mamori_buf *out, char *why, size_t why_len);

/*
 * The agent's decision on a serialized SignedTask from the server.  Checks,
 * in this order: a policy is installed; size and strict canonical decoding;
 * format version; window (not longer than 24 h, not_before <= now + skew,
 * now < not_after + skew); target (agent_id, or a group of the policy that
 * lists agent_id); type accepted by a group that lists agent_id;
 * signatures (every signer an admin of policy, every signature valid, a
 * signer counted once, count >= quorum of the type's class; observe tasks
 * need none when the policy allows observe_from_server); task id not in
 * seen.  Then records the id in seen (persisted when seen has a file).
 *
 * Returns 0 with *out the accepted task (free with mamori_task_free), or
 * MAMORI_ERR_REFUSED with *out NULL; d always says why.
 */
int mamori_task_verify(const struct mamori_policy *policy,
    const char *agent_id, uint64_t now, struct mamori_seen_set *seen,
    const uint8_t *data, size_t len, struct mamori_task **out,
    struct mamori_decision *d);

void mamori_task_free(struct mamori_task *t);

#endif
