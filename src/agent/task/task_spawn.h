/*
 * task_spawn.h - runs one program for a task and waits for it, bounded in time
 * and in the output it keeps.
 *
 * The program starts with nothing of the agent's: a clean environment
 * (PATH, LANG, HOME and only the extra variables the caller names), stdin
 * on /dev/null, cwd "/", every descriptor other than 0, 1, 2 (and 3 for a
 * script) closed, default signal dispositions and an empty signal mask, in
 * a session and process group of its own.  (glibc's posix_spawn leaves
 * its two internal signals, 32 and 33, ignored in the child; no program
 * built on glibc uses them, and each glibc program installs its own
 * handlers when it needs them.)  stdout and stderr share one
 * pipe, so their bytes arrive interleaved as the program wrote them.
 *
 * It uses posix_spawn (glibc's clone(CLONE_VFORK) path), so it is safe to
 * call from one thread of a multithreaded process; no code of ours runs in
 * the child.  The process must not ignore SIGCHLD nor reap children with
 * waitpid(-1) on another thread: the runner waits for its own pid.
 *
 * It must never return while anything of the program's process group is
 * still running: on return the group has been sent SIGKILL and the leader
 * reaped (the one exception, a leader stuck in the kernel past
 * MAMORI_SPAWN_REAP_MS after SIGKILL, is reported as an error).  It never
 * runs a shell of its own and never interprets an argument.
 */
#ifndef MAMORI_TASK_SPAWN_H
#define MAMORI_TASK_SPAWN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define MAMORI_SPAWN_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
#define MAMORI_SPAWN_LANG "C.UTF-8"
#define MAMORI_SPAWN_ARGV_MAX 256            /* arguments of one program */
#define MAMORI_SPAWN_ARG_MAX 4096            /* bytes of one argument */
#define MAMORI_SPAWN_ENV_EXTRA_MAX 8         /* extra NAME=value pairs */
#define MAMORI_SPAWN_SCRIPT_MAX (128 * 1024) /* bytes of a script body */
#define MAMORI_SPAWN_TIMEOUT_DEFAULT 60      /* seconds */
#define MAMORI_SPAWN_TIMEOUT_MAX 3600
#define MAMORI_SPAWN_OUTPUT_DEFAULT (64u * 1024)
#define MAMORI_SPAWN_OUTPUT_MAX (4u * 1024 * 1024)
#define MAMORI_SPAWN_TERM_GRACE_MS 2000      /* SIGTERM, then SIGKILL */
#define MAMORI_SPAWN_LINGER_MS 2000          /* pipe held after the leader
                                              * exited, then SIGKILL */
#define MAMORI_SPAWN_REAP_MS 10000           /* after SIGKILL */
#define MAMORI_SPAWN_READS_PER_WAKE 16       /* reads before the clock is
                                              * looked at again */
#define MAMORI_SPAWN_SCRIPT_FD 3             /* where a script body is */
#define MAMORI_SPAWN_SCRIPT_PATH "/dev/fd/3"

struct mamori_spawn_request {
	/* argv[0] is an absolute path, or a bare name looked up in
	 * MAMORI_SPAWN_PATH by the runner (never by the child). */
	const char *const *argv;
	size_t argc;
	/* "NAME=value" pairs added to the clean environment. */
	const char *const *env_extra;
	size_t n_env_extra;
	/* When script is not NULL: its bytes in a sealed memfd at
	 * MAMORI_SPAWN_SCRIPT_FD of the child (argv names it as
	 * MAMORI_SPAWN_SCRIPT_PATH). */
	const void *script;
	size_t script_len;
	uint32_t timeout_seconds;  /* 0: default; past the maximum: refused */
	uint64_t output_limit;     /* bytes kept, 1 .. MAMORI_SPAWN_OUTPUT_MAX */
};

struct mamori_spawn_result {
	struct mamori_buf output;  /* the first output_limit bytes */
	uint64_t output_total;     /* every byte the program wrote */
	int truncated;             /* output_total > output.len */
	int exit_code;             /* exit status, or 128 + signal; -1 when
	                            * another waitpid took it (SIGCHLD
	                            * ignored, or waitpid(-1) elsewhere) */
	int timed_out;             /* the timeout ended it */
	int lingered;              /* the leader exited, others kept the pipe
	                            * and were killed */
	char path[MAMORI_SPAWN_ARG_MAX]; /* the program run */
};

/*
 * Runs req and fills *res (the caller frees it with
 * mamori_spawn_result_free whatever the return).  Returns 0 when the
 * program ran (whatever its exit status, or when the timeout ended it:
 * see res->timed_out), or on failure with one line in err:
 *   MAMORI_ERR_INVALID    a request out of bounds (no argv, too many or
 *                         too long arguments, a relative path with '/',
 *                         a bad NAME=value, a timeout past the maximum)
 *   MAMORI_ERR_NOT_FOUND  no such program in the clean PATH
 *   MAMORI_ERR_PERMISSION the program is not executable
 *   MAMORI_ERR_SYSTEM     pipe, memfd or posix_spawn failed
 *   MAMORI_ERR_TIMEOUT    the leader did not die after SIGKILL
 *   MAMORI_ERR_ALLOC
 */
int mamori_spawn_run(const struct mamori_spawn_request *req,
    struct mamori_spawn_result *res, char *err, size_t errlen);

/* Frees the output and zeroes *res; accepts NULL. */
void mamori_spawn_result_free(struct mamori_spawn_result *res);

#endif
