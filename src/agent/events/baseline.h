/*
 * baseline.h - the file-integrity table (path -> what the file was) and the
 * baseline file that carries it from one run of the agent to the next.
 *
 * The table is an in-memory hash of host paths (without ctx->root) to the
 * last known mode, owner, size, mtime and SHA-256 of each file under the
 * watched paths; the file source reports "before" values from it.  The
 * baseline file is its serialized form, written atomically into the state
 * directory and read back at start, so changes made while the agent was
 * down are found.  The file lives on the host and may have been damaged or
 * written by someone else: the decoder trusts nothing in it, and a file it
 * refuses only costs the comparison of one start, never a crash.
 *
 * Format (all integers big-endian):
 *
 *   "MFIM"  u32 version (1)  u32 record count
 *   count x record:
 *     u32 length of the rest of the record (<= MAMORI_BASELINE_RECORD_MAX)
 *     u16 path length, path (absolute, no NUL, < MAMORI_FIM_PATH_MAX)
 *     u32 mode  u32 uid  u32 gid  u64 size  u64 mtime_ns
 *     u8 flags (bit 0: a SHA-256 follows; other bits must be 0)
 *     [32 bytes SHA-256 of the content]
 *   32 bytes SHA-256 of everything before it
 *
 * A record holding anything past its fields, a repeated path, a count
 * beyond the limit or any byte after the trailer refuses the whole file.
 */
#ifndef MAMORI_BASELINE_H
#define MAMORI_BASELINE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"

#define MAMORI_FIM_PATH_MAX 4096        /* a host path, with its NUL */
#define MAMORI_FIM_MAX_FILES 200000     /* entries tracked in one table */
#define MAMORI_BASELINE_VERSION 1
#define MAMORI_BASELINE_FILE_MAX (64 * 1024 * 1024)
#define MAMORI_BASELINE_RECORD_MAX (2 + (MAMORI_FIM_PATH_MAX - 1) + \
	3 * 4 + 2 * 8 + 1 + MAMORI_SHA256_LEN)

/* What is known of one path.  Fields priv_* belong to the table. */
struct mamori_fim_entry {
	char *path;                     /* owned by the table */
	uint32_t mode;                  /* st_mode: type and permission bits */
	uint32_t uid;
	uint32_t gid;
	uint64_t size;
	uint64_t mtime_ns;
	int has_sha256;                 /* regular file under the hash limit */
	uint8_t sha256[MAMORI_SHA256_LEN];
	struct mamori_fim_entry *priv_next;
};

struct mamori_fim_table;

/* Iteration state; see mamori_fim_iter_next. */
struct mamori_fim_iter {
	size_t priv_bucket;
	struct mamori_fim_entry *priv_next;
};

/* A new empty table that holds at most max entries; NULL when out of
 * memory.  Freed with mamori_fim_table_free (NULL allowed). */
struct mamori_fim_table *mamori_fim_table_new(size_t max);
void mamori_fim_table_free(struct mamori_fim_table *t);

size_t mamori_fim_table_count(const struct mamori_fim_table *t);

/* The entry for path, or NULL.  The pointer stays valid until the entry is
 * replaced or deleted, or the table is freed. */
struct mamori_fim_entry *mamori_fim_table_get(const struct mamori_fim_table *t,
    const char *path);

/*
 * Sets the entry for path to the values of e (e->path and e->priv_next are
 * ignored; the table copies path).  Replacing keeps the count; inserting
 * past the table's max fails with MAMORI_ERR_TOO_LARGE, a path of
 * MAMORI_FIM_PATH_MAX bytes or more with MAMORI_ERR_TOO_LARGE too.
 * Invalidates iterators.
 */
int mamori_fim_table_put(struct mamori_fim_table *t, const char *path,
    const struct mamori_fim_entry *e);

/* Removes the entry for path: 0, or MAMORI_ERR_NOT_FOUND. */
int mamori_fim_table_del(struct mamori_fim_table *t, const char *path);

/*
 * Walks every entry once, in no particular order: init, then next until it
 * returns NULL.  The entry just returned may be deleted before the next
 * call; no other change to the table is allowed while iterating.
 */
void mamori_fim_iter_init(const struct mamori_fim_table *t,
    struct mamori_fim_iter *it);
struct mamori_fim_entry *mamori_fim_iter_next(const struct mamori_fim_table *t,
    struct mamori_fim_iter *it);

/* Appends the baseline file for t to out (its cap should allow
 * MAMORI_BASELINE_FILE_MAX).  TOO_LARGE when it does not fit. */
int mamori_baseline_encode(const struct mamori_fim_table *t,
    struct mamori_buf *out);

/*
 * Decodes a baseline file (any bytes) into a new table of at most max_files
 * entries, stored in *out on success (the caller frees it); *out is NULL on
 * failure.  Returns CHECKSUM, BAD_VERSION, BAD_MESSAGE, TRUNCATED,
 * TRAILING, TOO_LARGE or ALLOC.  Pure: no I/O, no global state.
 */
int mamori_baseline_decode(const void *data, size_t len, size_t max_files,
    struct mamori_fim_table **out);

/* Reads and decodes the file at path (NOT_FOUND when there is none). */
int mamori_baseline_load(const char *path, size_t max_files,
    struct mamori_fim_table **out);

/* Writes t to path atomically (temporary file, fsync, rename), mode 0600. */
int mamori_baseline_save(const char *path, const struct mamori_fim_table *t);

#endif
