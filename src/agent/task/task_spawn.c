/*
 * task_spawn.c - one program for a task: posix_spawn into a clean session,
 * output through one pipe read with poll, a timeout that ends the whole
 * process group (SIGTERM, then SIGKILL), and a leader whose exit is
 * watched through a pidfd (or, without one, a short tick).
 *
 * The leader's exit is observed with waitid(WNOWAIT): the zombie keeps its
 * pid, and with it the process group id, reserved until the very end, so
 * the last kill(-pgid, SIGKILL) can never reach an unrelated process that
 * was given the same number.
 *
 * It must never run a shell, never let the child inherit a descriptor or
 * a variable of the agent, never keep more output than asked, and never
 * return with the program's group still running.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "task_spawn.h"
#include "util.h"

#define SPAWN_HOME_MAX 1024
#define SPAWN_TICK_MS 50          /* without a pidfd */
#define SPAWN_READ_CHUNK 16384

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Moves fd above the descriptors the child's file actions write (0..3),
 * so a dup2 onto 1, 2 or 3 never overwrites another of ours. */
static int
fd_above_std(int fd)
{
	int nfd;

	if (fd > MAMORI_SPAWN_SCRIPT_FD)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, MAMORI_SPAWN_SCRIPT_FD + 1);
	(void)close(fd);
	return nfd;
}

/* Finds argv0 in the clean PATH (or takes it as given when absolute). */
static int
resolve_program(const char *argv0, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char dirs[] = MAMORI_SPAWN_PATH;
	char *dir, *next;
	struct stat st;
	int saw_noexec = 0;

	if (argv0[0] == '\0')
		return fail(err, errlen, MAMORI_ERR_INVALID,
		    "the program name is empty");
	if (strchr(argv0, '/') != NULL) {
		if (argv0[0] != '/')
			return fail(err, errlen, MAMORI_ERR_INVALID, "program "
			    "path is relative; give an absolute path or a "
			    "bare name looked up in %s", MAMORI_SPAWN_PATH);
		if (mamori_strlcpy(out, argv0, outlen) >= outlen)
			return fail(err, errlen, MAMORI_ERR_INVALID,
			    "program path too long");
		if (stat(out, &st) != 0)
			return fail(err, errlen, errno == ENOENT ||
			    errno == ENOTDIR ? MAMORI_ERR_NOT_FOUND :
			    MAMORI_ERR_PERMISSION, "cannot run %s: %s", out,
			    strerror(errno));
		if (!S_ISREG(st.st_mode) || faccessat(AT_FDCWD, out, X_OK,
		    AT_EACCESS) != 0)
			return fail(err, errlen, MAMORI_ERR_PERMISSION,
			    "cannot run %s: not an executable file", out);
		return 0;
	}
	for (dir = dirs; dir != NULL; dir = next) {
		if ((next = strchr(dir, ':')) != NULL)
			*next++ = '\0';
		if (mamori_path_join(out, outlen, dir, argv0) != 0)
			return fail(err, errlen, MAMORI_ERR_INVALID,
			    "program name too long");
		if (stat(out, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (faccessat(AT_FDCWD, out, X_OK, AT_EACCESS) == 0)
			return 0;
		saw_noexec = 1;
	}
	out[0] = '\0';
	if (saw_noexec)
		return fail(err, errlen, MAMORI_ERR_PERMISSION, "%s is not "
		    "executable in PATH=%s", argv0, MAMORI_SPAWN_PATH);
	return fail(err, errlen, MAMORI_ERR_NOT_FOUND, "%s: command not "
	    "found in PATH=%s", argv0, MAMORI_SPAWN_PATH);
}

/* HOME for the child: /root for root, the uid's home otherwise, "/" when
 * there is none. */
static void
home_of_uid(char *out, size_t outlen)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];

	if (getuid() == 0) {
		(void)mamori_strlcpy(out, "/root", outlen);
		return;
	}
	if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL && pw.pw_dir != NULL && pw.pw_dir[0] == '/' &&
	    mamori_strlcpy(out, pw.pw_dir, outlen) < outlen)
		return;
	(void)mamori_strlcpy(out, "/", outlen);
}

static int
env_pair_ok(const char *s)
{
	const char *eq = strchr(s, '=');
	const char *p;

	if (eq == NULL || eq == s || strlen(s) > MAMORI_SPAWN_ARG_MAX)
		return 0;
	for (p = s; p < eq; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '_'))
			return 0;
	return 1;
}

/* A sealed, read-only-from-now-on memory file holding the script. */
static int
script_memfd(const void *script, size_t len, char *err, size_t errlen)
{
	const uint8_t *p = script;
	size_t off = 0;
	ssize_t n;
	int fd;

	fd = memfd_create("mamori-task-script", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING);
	if (fd < 0)
		return fail(err, errlen, MAMORI_ERR_SYSTEM, "memfd_create: %s",
		    strerror(errno));
	while (off < len) {
		n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			(void)fail(err, errlen, MAMORI_ERR_SYSTEM, "writing the "
			    "script: %s", strerror(errno));
			(void)close(fd);
			return MAMORI_ERR_SYSTEM;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		(void)fail(err, errlen, MAMORI_ERR_SYSTEM, "sealing the "
		    "script: %s", strerror(errno));
		(void)close(fd);
		return MAMORI_ERR_SYSTEM;
	}
	return fd;
}

static int
pidfd_of(pid_t pid)
{
#ifdef SYS_pidfd_open
	long fd = syscall(SYS_pidfd_open, pid, 0);

	if (fd >= 0) {
		(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
		return (int)fd;
	}
#else
	(void)pid;
#endif
	return -1;
}

/* 1 when the leader has exited (its status in *code, the zombie left in
 * place; -1 when someone else reaped it), 0 while it runs. */
static int
leader_exited(pid_t pid, int *code)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
		if (errno != ECHILD)
			return 0;
		*code = -1;
		return 1;
	}
	if (si.si_pid != pid)
		return 0;
	if (si.si_code == CLD_EXITED)
		*code = si.si_status;
	else
		*code = 128 + si.si_status;
	return 1;
}

/* Reads what the pipe holds (a bounded number of chunks), keeping the
 * first limit bytes.  Returns 1 at end of file, 0 otherwise. */
static int
drain(int fd, struct mamori_spawn_result *res, uint64_t limit)
{
	uint8_t chunk[SPAWN_READ_CHUNK];
	ssize_t n;
	size_t keep;
	int i;

	for (i = 0; i < MAMORI_SPAWN_READS_PER_WAKE; i++) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : 1;
		if (n == 0)
			return 1;
		res->output_total += (uint64_t)n;
		keep = 0;
		if (res->output.len < limit)
			keep = (size_t)(limit - res->output.len);
		if (keep > (size_t)n)
			keep = (size_t)n;
		if (keep > 0 && mamori_buf_append(&res->output, chunk,
		    keep) != 0)
			keep = 0;
		if (keep < (size_t)n)
			res->truncated = 1;
	}
	return 0;
}

void
mamori_spawn_result_free(struct mamori_spawn_result *res)
{
	if (res == NULL)
		return;
	mamori_buf_free(&res->output);
	memset(res, 0, sizeof(*res));
}

static int
check_request(const struct mamori_spawn_request *req, char *err,
    size_t errlen)
{
	size_t i;

	if (req->argv == NULL || req->argc == 0 || req->argv[0] == NULL)
		return fail(err, errlen, MAMORI_ERR_INVALID,
		    "no program to run (argv is empty)");
	if (req->argc > MAMORI_SPAWN_ARGV_MAX)
		return fail(err, errlen, MAMORI_ERR_INVALID, "more than %d "
		    "arguments", MAMORI_SPAWN_ARGV_MAX);
	for (i = 0; i < req->argc; i++)
		if (req->argv[i] == NULL ||
		    strlen(req->argv[i]) > MAMORI_SPAWN_ARG_MAX)
			return fail(err, errlen, MAMORI_ERR_INVALID, "argument "
			    "%zu is missing or longer than %d bytes", i,
			    MAMORI_SPAWN_ARG_MAX);
	if (req->n_env_extra > MAMORI_SPAWN_ENV_EXTRA_MAX)
		return fail(err, errlen, MAMORI_ERR_INVALID,
		    "too many environment variables");
	for (i = 0; i < req->n_env_extra; i++)
		if (req->env_extra[i] == NULL || !env_pair_ok(req->env_extra[i]))
			return fail(err, errlen, MAMORI_ERR_INVALID,
			    "environment entry %zu is not NAME=value", i);
	if (req->timeout_seconds > MAMORI_SPAWN_TIMEOUT_MAX)
		return fail(err, errlen, MAMORI_ERR_INVALID, "timeout %u s "
		    "exceeds the maximum of %d s", req->timeout_seconds,
		    MAMORI_SPAWN_TIMEOUT_MAX);
	if (req->output_limit == 0 || req->output_limit >
	    MAMORI_SPAWN_OUTPUT_MAX)
		return fail(err, errlen, MAMORI_ERR_INVALID, "output limit "
		    "must be 1 .. %u bytes", MAMORI_SPAWN_OUTPUT_MAX);
	if (req->script != NULL && req->script_len > MAMORI_SPAWN_SCRIPT_MAX)
		return fail(err, errlen, MAMORI_ERR_INVALID, "script longer "
		    "than %d bytes", MAMORI_SPAWN_SCRIPT_MAX);
	return 0;
}

int
mamori_spawn_run(const struct mamori_spawn_request *req,
    struct mamori_spawn_result *res, char *err, size_t errlen)
{
	char home[SPAWN_HOME_MAX], home_var[SPAWN_HOME_MAX + 8];
	char *envp[3 + MAMORI_SPAWN_ENV_EXTRA_MAX + 1];
	char **argv = NULL;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	struct pollfd pfd[2];
	uint64_t now, deadline, term_at = 0, kill_at = 0, linger_at = 0;
	uint64_t give_up_at = 0, wait_ms;
	pid_t pid = -1;
	int pipefd[2] = {-1, -1}, script_fd = -1, pidfd = -1;
	int fa_ok = 0, attr_ok = 0, exited = 0, pipe_open = 0;
	int code = 0, r = MAMORI_ERR_INTERNAL, e, nfds;
	size_t i, nenv = 0;

	if (errlen > 0)
		err[0] = '\0';
	memset(res, 0, sizeof(*res));
	mamori_buf_init(&res->output, MAMORI_SPAWN_OUTPUT_MAX);
	if ((r = check_request(req, err, errlen)) != 0)
		goto out;
	if ((r = resolve_program(req->argv[0], res->path, sizeof(res->path),
	    err, errlen)) != 0)
		goto out;

	r = MAMORI_ERR_ALLOC;
	if ((argv = calloc(req->argc + 1, sizeof(*argv))) == NULL) {
		(void)fail(err, errlen, r, "out of memory");
		goto out;
	}
	for (i = 0; i < req->argc; i++)
		argv[i] = (char *)(uintptr_t)req->argv[i];
	home_of_uid(home, sizeof(home));
	(void)snprintf(home_var, sizeof(home_var), "HOME=%s", home);
	envp[nenv++] = (char *)(uintptr_t)("PATH=" MAMORI_SPAWN_PATH);
	envp[nenv++] = (char *)(uintptr_t)("LANG=" MAMORI_SPAWN_LANG);
	envp[nenv++] = home_var;
	for (i = 0; i < req->n_env_extra; i++)
		envp[nenv++] = (char *)(uintptr_t)req->env_extra[i];
	envp[nenv] = NULL;

	r = MAMORI_ERR_SYSTEM;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		(void)fail(err, errlen, r, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pipefd[0] = fd_above_std(pipefd[0])) < 0 ||
	    (pipefd[1] = fd_above_std(pipefd[1])) < 0) {
		(void)fail(err, errlen, r, "fcntl: %s", strerror(errno));
		goto out;
	}
	pipe_open = 1;
	if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK) != 0) {
		(void)fail(err, errlen, r, "fcntl: %s", strerror(errno));
		goto out;
	}
	if (req->script != NULL) {
		if ((script_fd = script_memfd(req->script, req->script_len,
		    err, errlen)) < 0)
			goto out;
		if ((script_fd = fd_above_std(script_fd)) < 0) {
			(void)fail(err, errlen, r, "fcntl: %s",
			    strerror(errno));
			goto out;
		}
	}

	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	fa_ok = 1;
	if (posix_spawnattr_init(&attr) != 0)
		goto out;
	attr_ok = 1;
	(void)sigfillset(&all);
	(void)sigemptyset(&none);
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2) != 0 ||
	    (script_fd >= 0 && posix_spawn_file_actions_adddup2(&fa,
	    script_fd, MAMORI_SPAWN_SCRIPT_FD) != 0) ||
	    posix_spawn_file_actions_addclosefrom_np(&fa, script_fd >= 0 ?
	    MAMORI_SPAWN_SCRIPT_FD + 1 : MAMORI_SPAWN_SCRIPT_FD) != 0 ||
	    posix_spawn_file_actions_addchdir_np(&fa, "/") != 0 ||
	    posix_spawnattr_setsigdefault(&attr, &all) != 0 ||
	    posix_spawnattr_setsigmask(&attr, &none) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) != 0) {
		(void)fail(err, errlen, r, "cannot prepare the process");
		goto out;
	}
	if ((e = posix_spawn(&pid, res->path, &fa, &attr, argv, envp)) != 0) {
		pid = -1;
		r = e == ENOENT ? MAMORI_ERR_NOT_FOUND : e == EACCES ?
		    MAMORI_ERR_PERMISSION : MAMORI_ERR_SYSTEM;
		(void)fail(err, errlen, r, "cannot run %s: %s", res->path,
		    strerror(e));
		goto out;
	}
	(void)close(pipefd[1]);
	pipefd[1] = -1;
	if (script_fd >= 0) {
		(void)close(script_fd);
		script_fd = -1;
	}
	pidfd = pidfd_of(pid);

	now = mamori_monotonic_ms();
	deadline = now + 1000ull * (req->timeout_seconds != 0 ?
	    req->timeout_seconds : MAMORI_SPAWN_TIMEOUT_DEFAULT);
	for (;;) {
		if (!exited)
			exited = leader_exited(pid, &code);
		if (exited && !pipe_open)
			break;
		now = mamori_monotonic_ms();
		/* The clock's decisions, in order of escalation. */
		if (!exited && term_at == 0 && now >= deadline) {
			res->timed_out = 1;
			(void)kill(-pid, SIGTERM);
			term_at = now;
			kill_at = now + MAMORI_SPAWN_TERM_GRACE_MS;
		}
		if (exited && pipe_open && linger_at == 0) {
			linger_at = now + MAMORI_SPAWN_LINGER_MS;
			if (linger_at > deadline && deadline > now)
				linger_at = deadline;
		}
		if (exited && pipe_open && kill_at == 0 && now >= linger_at) {
			/* Others of the group hold the pipe: end them. */
			res->lingered = 1;
			kill_at = now;
		}
		if (kill_at != 0 && give_up_at == 0 && now >= kill_at) {
			(void)kill(-pid, SIGKILL);
			give_up_at = now + MAMORI_SPAWN_REAP_MS;
		}
		if (give_up_at != 0 && now >= give_up_at) {
			if (!exited) {
				r = fail(err, errlen, MAMORI_ERR_TIMEOUT,
				    "process %d did not exit after SIGKILL",
				    (int)pid);
				goto out;
			}
			break; /* an escaped process holds the pipe */
		}

		wait_ms = give_up_at != 0 ? give_up_at - now :
		    kill_at != 0 ? kill_at - now :
		    linger_at != 0 ? linger_at - now :
		    deadline > now ? deadline - now : 0;
		if (!exited && pidfd < 0 && wait_ms > SPAWN_TICK_MS)
			wait_ms = SPAWN_TICK_MS;
		nfds = 0;
		if (pipe_open) {
			pfd[nfds].fd = pipefd[0];
			pfd[nfds].events = POLLIN;
			pfd[nfds++].revents = 0;
		}
		if (!exited && pidfd >= 0) {
			pfd[nfds].fd = pidfd;
			pfd[nfds].events = POLLIN;
			pfd[nfds++].revents = 0;
		}
		if (poll(pfd, (nfds_t)nfds, (int)(wait_ms > 1000 ? 1000 :
		    wait_ms)) < 0 && errno != EINTR) {
			(void)fail(err, errlen, MAMORI_ERR_SYSTEM, "poll: %s",
			    strerror(errno));
			(void)kill(-pid, SIGKILL);
			kill_at = now;
			give_up_at = now + MAMORI_SPAWN_REAP_MS;
			continue;
		}
		if (pipe_open && pfd[0].revents != 0 &&
		    drain(pipefd[0], res, req->output_limit)) {
			(void)close(pipefd[0]);
			pipefd[0] = -1;
			pipe_open = 0;
		}
	}
	res->exit_code = code;
	r = 0;
out:
	if (pid > 0) {
		/* Whatever is left of the group goes with the task; then the
		 * leader's zombie is reaped, freeing its pid and group id. */
		(void)kill(-pid, SIGKILL);
		if (exited)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
	}
	if (pipefd[0] >= 0)
		(void)close(pipefd[0]);
	if (pipefd[1] >= 0)
		(void)close(pipefd[1]);
	if (script_fd >= 0)
		(void)close(script_fd);
	if (pidfd >= 0)
		(void)close(pidfd);
	if (fa_ok)
		(void)posix_spawn_file_actions_destroy(&fa);
	if (attr_ok)
		(void)posix_spawnattr_destroy(&attr);
	free(argv);
	res->truncated = res->output_total > res->output.len;
	return r;
}
