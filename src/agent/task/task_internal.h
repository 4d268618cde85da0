/*
 * task_internal.h - what the runner's files share: writing a TaskResult
 * (status, message, hash and match entries under the result's byte cap)
 * and the per-type functions of task_files.c.  Not for use outside
 * src/agent/task.
 */
#ifndef MAMORI_TASK_INTERNAL_H
#define MAMORI_TASK_INTERNAL_H

#include <stdint.h>

#include "task_run.h"

/* What a result may still grow by; a type that adds entries stops (and
 * sets output_truncated) when the next one would pass the cap. */
struct mamori_task_budget {
	uint64_t max;
	uint64_t used;
};

/* Sets res->message to the formatted text (cut at MAMORI_TASK_MESSAGE_MAX,
 * control characters replaced by '?'); keeps the old one when out of
 * memory. */
void mamori_task__message(Mamori__TaskResult *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Status FAILED (or TIMED_OUT when code is MAMORI_ERR_TIMEOUT) with the
 * message; returns code. */
int mamori_task__fail(Mamori__TaskResult *res, int code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* Replaces every byte of text that is not part of valid UTF-8 with '?'
 * (a protobuf string must be UTF-8; file names are any bytes).  The
 * length does not change. */
void mamori_task__text_fix(char *text);

/* The cap on a result's bytes for env. */
uint64_t mamori_task__output_max(const struct mamori_task_env *env);

/* Appends a FileHash (sha256_hex NULL or error non-NULL for an entry that
 * failed).  Returns 0, MAMORI_ERR_TOO_LARGE when the budget is spent (the
 * entry is not added), MAMORI_ERR_ALLOC. */
int mamori_task__add_hash(Mamori__TaskResult *res,
    struct mamori_task_budget *b, const char *path, const char *sha256_hex,
    uint64_t size, const char *error);

/* Appends a YaraMatch; returns as mamori_task__add_hash. */
int mamori_task__add_match(Mamori__TaskResult *res,
    struct mamori_task_budget *b, const char *path, const char *rule,
    const char *ns, char *const *tags, size_t ntags);

/* A path given by a task: absolute, at most MAMORI_TASK_PATH_MAX bytes.
 * Returns 0 or fails res with MAMORI_ERR_INVALID. */
int mamori_task__check_path(Mamori__TaskResult *res, const char *path);

int mamori_task__read_file(const struct mamori_task_env *env,
    const Mamori__ReadFileParams *p, Mamori__TaskResult *res);
int mamori_task__hash_path(const struct mamori_task_env *env,
    const Mamori__HashPathParams *p, Mamori__TaskResult *res);
int mamori_task__yara_scan(const struct mamori_task_env *env,
    const Mamori__YaraScanParams *p, Mamori__TaskResult *res);

#endif
