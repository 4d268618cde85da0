/*
 * seen.h - the agent's replay set: ids of the tasks it accepted, each with
 * the end of its validity window, so no task runs twice.
 *
 * A task past not_after + MAMORI_TASK_CLOCK_SKEW is refused as expired
 * anyway, so its id is pruned then and the set stays small; it is capped
 * all the same (MAMORI_SEEN_MAX), and when full it refuses to record more
 * rather than forget a live id.  On disk (in the agent's state directory):
 *
 *   "MSEN" | u32 format (1) | u32 count |
 *   count x (16 task id | u64 not_after), ids strictly ascending |
 *   32 SHA-256 of everything before it
 *
 * big-endian, written atomically with mamori_file_write.  A file that does
 * not parse is an error, never an empty set: forgetting ids would open the
 * door to replays.
 */
#ifndef MAMORI_TRUST_SEEN_H
#define MAMORI_TRUST_SEEN_H

#include <stddef.h>
#include <stdint.h>

#define MAMORI_SEEN_FILE "tasks.seen"
#define MAMORI_SEEN_FORMAT 1
#define MAMORI_SEEN_MAX 65536
#define MAMORI_SEEN_ID_LEN 16
#define MAMORI_SEEN_ENTRY_LEN (MAMORI_SEEN_ID_LEN + 8)
#define MAMORI_SEEN_FILE_MAX (12 + MAMORI_SEEN_MAX * MAMORI_SEEN_ENTRY_LEN + 32)

struct mamori_seen_set;

/*
 * Opens the set stored at path (NULL: kept in memory only).  A missing file
 * is an empty set; a damaged one is MAMORI_ERR_CHECKSUM or
 * MAMORI_ERR_BAD_MESSAGE.  Entries past their window at now are dropped.
 * Free *out with mamori_seen_free.
 */
int mamori_seen_open(const char *path, uint64_t now,
    struct mamori_seen_set **out);

void mamori_seen_free(struct mamori_seen_set *s);

/* 1 when id is in the set. */
int mamori_seen_contains(const struct mamori_seen_set *s,
    const uint8_t id[MAMORI_SEEN_ID_LEN]);

/*
 * Records id until not_after: prunes what expired at now, adds id, and
 * writes the file (when there is one) before returning 0.  Fails with
 * MAMORI_ERR_EXISTS when id is in the set, MAMORI_ERR_TOO_LARGE when the
 * set is full; on any failure the set is as it was.
 */
int mamori_seen_add(struct mamori_seen_set *s,
    const uint8_t id[MAMORI_SEEN_ID_LEN], uint64_t not_after, uint64_t now);

size_t mamori_seen_count(const struct mamori_seen_set *s);

/* Parses the file format from memory into a memory-only set (for the
 * fuzzer and tests). */
int mamori_seen_decode(const uint8_t *data, size_t len,
    struct mamori_seen_set **out);

#endif
