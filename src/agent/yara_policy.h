/*
 * yara_policy.h - the agent's YARA rules from the signed fleet policy: the
 * sets compiled when a policy is accepted (and at start, from the held
 * policy), the compiled rules shared with YARA_SCAN tasks, and the scans
 * of new and changed executables the file source asks for, each match
 * reported as a YaraEvent.
 *
 * Rules come only from a policy that already passed mamori_policy_verify:
 * this module never reads rules from anywhere else and never loads
 * compiled rule blobs.  A set that does not compile is skipped (the caller
 * is told, to say so in a TrustEvent) and the others apply.
 *
 * Threads: the compiled rules are one generation, reference-counted; a
 * new policy installs a new generation and the old one is freed when the
 * last scan holding it lets go.  libyara lets one compiled YR_RULES be
 * scanned by several threads at once (up to YR_MAX_THREADS, 32): the task
 * workers and the scanner thread here share it read-only.  File scans run
 * on one scanner thread fed by a bounded queue, so a large executable
 * never holds up the event loop; events go back to the loop through a
 * pipe and are emitted there, where the spool lives.
 */
#ifndef MAMORI_AGENT_YARA_POLICY_H
#define MAMORI_AGENT_YARA_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "mamori.pb-c.h"
#include "yara_rules.h"

#define MAMORI_AGENT_YARA_QUEUE 256        /* files waiting for a scan */
#define MAMORI_AGENT_YARA_FILE_MAX (32u * 1024 * 1024) /* bytes of one
                                            * executable scanned */
#define MAMORI_AGENT_YARA_TIMEOUT 10       /* seconds of one file scan */
#define MAMORI_AGENT_YARA_EVENTS_MAX 64    /* YaraEvents from one file */
#define MAMORI_AGENT_YARA_PATH_MAX 4096    /* bytes of a queued path */
#define MAMORI_AGENT_YARA_WHY_MAX 256      /* bytes of a skipped set's why */

struct mamori_agent_yara;
struct mamori_yara_generation;

/* Hands one event (owned) to the spool; called on the event loop. */
typedef int (*mamori_agent_yara_emit_fn)(void *ctx, Mamori__Event *ev);
/* Told about each set that was skipped, with one line saying why. */
typedef void (*mamori_agent_yara_skip_fn)(void *ctx, const char *set,
    const char *why);

/*
 * Starts libyara and the scanner thread.  base is the agent's event loop
 * (events are emitted on it through emit/ctx); base NULL: no scanner,
 * only rules for tasks (tests, tools).  Returns 0 and *out, or an error.
 */
int mamori_agent_yara_new(struct event_base *base,
    mamori_agent_yara_emit_fn emit, void *ctx,
    struct mamori_agent_yara **out);
/* Stops the scanner (a scan in progress is waited for, queued files are
 * dropped) and frees everything; accepts NULL. */
void mamori_agent_yara_free(struct mamori_agent_yara *y);

/*
 * Compiles the n sets and makes them the rules in force, replacing the
 * previous ones (n 0: no rules).  Each set is compiled alone first; one
 * that does not compile is reported to skip (may be NULL) and left out,
 * the rest are compiled together, each in the YARA namespace of its set
 * name.  *applied (may be NULL) gets the number of sets in force.
 * Returns 0 (also when sets were skipped), MAMORI_ERR_ALLOC, or the
 * compiler's error when the sets that compile alone fail together (then
 * no rules are in force).  Called on the event loop.
 */
int mamori_agent_yara_apply(struct mamori_agent_yara *y,
    Mamori__PolicyYaraSet *const *sets, size_t n,
    mamori_agent_yara_skip_fn skip, void *ctx, size_t *applied);

/* Number of rules in force (0: none). */
size_t mamori_agent_yara_rule_count(struct mamori_agent_yara *y);

/*
 * The compiled rules in force, held until mamori_agent_yara_release(*gen):
 * valid on any thread meanwhile, even after a new policy replaced them.
 * Returns NULL (and *gen NULL) when no rules are in force.
 */
const mamori_yara_rules_t *mamori_agent_yara_hold(struct mamori_agent_yara *y,
    struct mamori_yara_generation **gen);
void mamori_agent_yara_release(struct mamori_yara_generation *gen);

/*
 * Asks for a scan of the file at disk_path (reported as host_path) when
 * rules are in force.  Non-blocking: the scanner thread opens it with
 * O_NOFOLLOW, takes it only when it is still a regular file with an x bit
 * and at most MAMORI_AGENT_YARA_FILE_MAX bytes, reads it into memory,
 * hashes what it read and scans that with a MAMORI_AGENT_YARA_TIMEOUT.
 * Returns 1 when queued, 0 when there is nothing to do (no rules, no
 * scanner), MAMORI_ERR_YARA_BUSY when the queue is full (the file is not
 * scanned; logged), MAMORI_ERR_TOO_LARGE for a path past the limit,
 * MAMORI_ERR_ALLOC.
 */
int mamori_agent_yara_submit(struct mamori_agent_yara *y,
    const char *disk_path, const char *host_path);

/* Counters: files scanned, files matched, scans dropped (queue full),
 * scans failed (unreadable, too large, timeout). */
struct mamori_agent_yara_stats {
	uint64_t scanned, matched, dropped, failed;
};
void mamori_agent_yara_stats(struct mamori_agent_yara *y,
    struct mamori_agent_yara_stats *out);

/*
 * Scans one file now, on the calling thread, with the rules in force, and
 * appends one YaraEvent per matching rule (at most
 * MAMORI_AGENT_YARA_EVENTS_MAX) to *events (*n of them, the caller frees
 * each with mamori_event_free and the array with free).  What the scanner
 * thread does for each queued file; exported for tests.  Returns 0 (also
 * with no match or no rules), or the error of opening, reading or
 * scanning (MAMORI_ERR_NOT_REGULAR for a link or a file without an x bit).
 */
int mamori_agent_yara_scan_file(struct mamori_agent_yara *y,
    const char *disk_path, const char *host_path, Mamori__Event ***events,
    size_t *n);

#endif
