/*
 * task_run.h - the agent's task runner: what a task that already passed
 * verification (src/trust/task.h) does on the endpoint, and the
 * TaskResult it reports.
 *
 * The runner trusts nothing in the body all the same: every parameter is
 * checked again against the limits below, every program runs through
 * task_spawn.h (clean environment, own process group, bounded time and
 * output), and package names are checked against Debian's grammar before
 * apt-get is started.  It never runs a shell of its own, never follows a
 * symbolic link it was given, never kills pid 1, the agent or a kernel
 * thread, and never returns while a program it started is running.
 *
 * Types handled: QUERY, READ_FILE, HASH_PATH, YARA_SCAN, RUN_COMMAND,
 * RUN_SCRIPT, PACKAGE_INSTALL, PACKAGE_REMOVE, KILL_PROCESS.  USB and host
 * isolation tasks are done elsewhere: for them the result says "not
 * handled by the runner" and MAMORI_ERR_UNSUPPORTED tells the caller to
 * dispatch them on.
 */
#ifndef MAMORI_TASK_RUN_H
#define MAMORI_TASK_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mamori.pb-c.h"
#include "yara_rules.h"

struct mamori_query_engine;

#define MAMORI_TASK_OUTPUT_MAX (4u * 1024 * 1024)      /* any result */
#define MAMORI_TASK_OUTPUT_DEFAULT (64u * 1024)        /* RUN_*, PACKAGE_* */
#define MAMORI_TASK_READ_DEFAULT (1024u * 1024)        /* READ_FILE */
#define MAMORI_TASK_PATH_MAX 4096                      /* bytes of a path */
#define MAMORI_TASK_SQL_MAX 100000                     /* bytes of SQL */
#define MAMORI_TASK_QUERY_TIMEOUT_MS 30000
#define MAMORI_TASK_WALK_FILES_MAX 100000    /* entries of HASH_PATH/YARA */
#define MAMORI_TASK_WALK_DEPTH_MAX 32        /* directory levels */
#define MAMORI_TASK_WALK_SECONDS_MAX 1800    /* wall clock of one walk */
#define MAMORI_TASK_HASH_FILE_MAX ((uint64_t)16 * 1024 * 1024 * 1024)
#define MAMORI_TASK_YARA_MATCHES_MAX 10000   /* matches in one result */
#define MAMORI_TASK_YARA_RULE_FILES_MAX MAMORI_YARA_SOURCES_MAX
#define MAMORI_TASK_PACKAGE_NAME_MAX 128     /* bytes, with ":arch" */
#define MAMORI_TASK_PACKAGE_TOOL "/usr/bin/apt-get"
#define MAMORI_TASK_SCRIPT_MAX (128 * 1024)  /* bytes of a script body */
#define MAMORI_TASK_KILL_WAIT_MS 5000        /* for a killed process */
#define MAMORI_TASK_CMDLINE_MAX 1024         /* bytes reported of a
                                              * killed process's argv */
#define MAMORI_TASK_MESSAGE_MAX 1024         /* bytes of result.message */

struct mamori_task_env {
	/* Live queries; NULL: QUERY tasks fail ("not available"). */
	struct mamori_query_engine *query;
	/* apt-get, or a stand-in for tests; NULL: MAMORI_TASK_PACKAGE_TOOL.
	 * Must be an absolute path. */
	const char *package_tool;
	/* YARA rule *source* files (*.yar, *.yara) compiled for each scan;
	 * used when yara_rules is NULL.  Both NULL: YARA_SCAN fails. */
	const char *yara_rules_dir;
	const mamori_yara_rules_t *yara_rules; /* borrowed, already compiled */
	/* Cap on the bytes of any one result (output, query JSON, hash and
	 * match lists); 0: MAMORI_TASK_OUTPUT_MAX, never more. */
	uint64_t output_max;
	/* The agent's own pid, never killed; 0: getpid(). */
	pid_t agent_pid;
};

/*
 * Runs one verified task and fills *res, which the caller gives zeroed
 * and initialized (MAMORI__TASK_RESULT__INIT).  Sets status, message,
 * started_ns and finished_ns always, and per type query_json, output,
 * output_truncated, exit_code, hashes or yara_matches; leaves task_id and
 * reason to the caller.  Blocking (up to the task's timeout, a walk's
 * MAMORI_TASK_WALK_SECONDS_MAX); call it on a worker thread.  Never
 * returns with a program it started still running.  Several tasks may
 * run at once on different threads, except that env->query serves one
 * thread at a time (query.h): the caller serialises QUERY tasks.
 *
 * Returns 0 when res->status is OK.  Otherwise res->status is FAILED or
 * TIMED_OUT, res->message says why in one line, and the code is:
 *   MAMORI_ERR_UNSUPPORTED a type for another part of the agent (USB,
 *                          isolation): dispatch it there
 *   MAMORI_ERR_INVALID     parameters missing, out of bounds or not
 *                          matching the type
 *   MAMORI_ERR_BAD_PACKAGE a package name outside Debian's grammar
 *   MAMORI_ERR_EXIT_STATUS a program ran and exited non-zero (exit_code)
 *   MAMORI_ERR_TIMEOUT     a program ran past its timeout (TIMED_OUT)
 *   MAMORI_ERR_PERMISSION, _NOT_FOUND, _NOT_REGULAR, _TOO_LARGE, _IO,
 *   _QUERY_*, _YARA_*, _SYSTEM, _ALLOC as the step that failed said.
 * Whatever it returns, the caller frees with mamori_task_result_clear.
 */
int mamori_task_execute(const struct mamori_task_env *env,
    const Mamori__TaskBody *body, Mamori__TaskResult *res);

/* Frees what mamori_task_execute allocated in *res and resets those
 * fields (task_id and reason are the caller's); accepts NULL. */
void mamori_task_result_clear(Mamori__TaskResult *res);

/*
 * Checks a package name against Debian policy 5.6.1 (lowercase letters,
 * digits, '+', '-', '.'; at least two characters; starting with a letter
 * or digit), optionally followed by ":ARCH" (lowercase letters, digits,
 * '-').  Returns 0 or MAMORI_ERR_BAD_PACKAGE.  A name that looks like an
 * option, a pattern ("?installed", "~n") or a path never passes.
 */
int mamori_task_package_name_check(const char *name);

#endif
