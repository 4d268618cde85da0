/*
 * decision.h - why a fleet policy or a task was accepted or refused.
 *
 * Every verification in src/trust/ ends in one decision: a reason code a
 * program can act on (and the agent turns into an event for the server),
 * its symbolic name, a fixed summary, and one line of detail naming what
 * exactly failed.  The list is an X-macro so codes, names and summaries
 * cannot drift apart.  Reason codes are stable: append, never renumber.
 * The detail may quote task or policy content already escaped for a
 * terminal; it must never be used as a format string.
 */
#ifndef MAMORI_TRUST_DECISION_H
#define MAMORI_TRUST_DECISION_H

#include <stddef.h>

#define MAMORI_DECISION_MAP(X)                                               \
	X(ACCEPTED, 0, "accepted")                                           \
	X(NO_POLICY, 1, "no fleet policy is installed")                      \
	X(MALFORMED, 2, "malformed or non-canonical encoding")               \
	X(BAD_FORMAT, 3, "unsupported format version")                       \
	X(WINDOW_TOO_LONG, 4, "validity window longer than 24 hours")        \
	X(NOT_YET_VALID, 5, "not valid yet")                                 \
	X(EXPIRED, 6, "validity window has passed")                          \
	X(NOT_TARGETED, 7, "not addressed to this agent")                    \
	X(TYPE_NOT_ALLOWED, 8, "task type not accepted by this agent's "     \
	    "groups")                                                        \
	X(NO_SIGNATURE, 9, "no admin signature")                             \
	X(UNKNOWN_SIGNER, 10, "signer is not an admin of the policy")        \
	X(BAD_SIGNATURE, 11, "signature does not verify")                    \
	X(QUORUM, 12, "too few admin signatures for the task's class")       \
	X(REPLAYED, 13, "task id was seen before")                           \
	X(SEEN_FULL, 14, "replay set is full")                               \
	X(STATE, 15, "could not record the task id")                         \
	X(NOT_OWNER, 16, "policy not signed by the pinned owner key")        \
	X(STALE_POLICY, 17, "policy version not newer than the current one") \
	X(INVALID_POLICY, 18, "policy content is invalid")                   \
	X(INTERNAL, 19, "internal error")

enum mamori_decision_reason {
#define MAMORI_DECISION_ENUM(name, code, text) \
	MAMORI_DECISION_##name = (code),
	MAMORI_DECISION_MAP(MAMORI_DECISION_ENUM)
#undef MAMORI_DECISION_ENUM
};

#define MAMORI_DECISION_DETAIL_MAX 256

struct mamori_decision {
	enum mamori_decision_reason reason;
	char detail[MAMORI_DECISION_DETAIL_MAX]; /* one line, never empty */
};

/* "QUORUM"; "UNKNOWN" for a code not in the list.  Never NULL. */
const char *mamori_decision_name(enum mamori_decision_reason reason);

/* The fixed summary of reason; never NULL. */
const char *mamori_decision_text(enum mamori_decision_reason reason);

/* Sets d to reason with a printf-style detail (the summary when fmt is
 * NULL).  Arguments must not come from untrusted input unescaped. */
void mamori_decision_set(struct mamori_decision *d,
    enum mamori_decision_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
