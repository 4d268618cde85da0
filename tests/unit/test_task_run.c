/*
 * test_task_run.c - the agent's task runner (src/agent/task) on this
 * machine, with real programs.
 *
 * Commands: output and exit status, a timeout that ends `sleep 30` within
 * seconds, an output flood kept to its limit with bounded memory, a
 * background child holding the pipe, the clean environment, descriptors,
 * cwd, stdin and session of the child.  Scripts through the allow-listed
 * interpreters, their body never on stdin.  Packages: the name grammar,
 * the exact apt-get command line through a recording tool, and a real
 * removal of a tiny .deb built and installed here.  Processes: a child
 * killed and reported, pid 0, 1, the runner itself, its threads and
 * kernel threads refused.  Files: READ_FILE with its hash, symbolic links
 * and FIFOs refused; HASH_PATH over a tree with links, FIFOs and a depth
 * past the limit; YARA_SCAN with rules from a directory (and the JPCERT/CC
 * corpus rules compiling).  Queries: JSON result, SQL errors, and the
 * time and peak memory of SELECT * FROM processes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "err.h"
#include "query.h"
#include "task_run.h"
#include "util.h"

extern char **environ;

struct ctx {
	char dir[128];
};

static struct mamori_task_env env0;

static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -1;
	(void)mamori_strlcpy(c->dir, "/tmp/mamori-task-XXXXXX",
	    sizeof(c->dir));
	if (mkdtemp(c->dir) == NULL) {
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static void
run_quiet(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char line[256];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		;
	(void)pclose(f);
}

static int
teardown(void **state)
{
	struct ctx *c = *state;
	char cmd[512];

	(void)snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s",
	    c->dir, c->dir);
	run_quiet(cmd);
	free(c);
	return 0;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* Runs a command task; the result is the caller's to clear. */
static int
run_cmd(const struct mamori_task_env *env, const char *const *argv,
    size_t argc, uint32_t timeout, uint64_t limit, Mamori__TaskResult *res)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__RunCommandParams p = MAMORI__RUN_COMMAND_PARAMS__INIT;

	p.argv = (char **)(uintptr_t)argv;
	p.n_argv = argc;
	p.timeout_seconds = timeout;
	p.output_limit = limit;
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND;
	b.params_case = MAMORI__TASK_BODY__PARAMS_RUN_COMMAND;
	b.run_command = &p;
	return mamori_task_execute(env, &b, res);
}

static void
assert_output(const Mamori__TaskResult *res, const char *want)
{
	if (res->output.len != strlen(want) || (res->output.len > 0 &&
	    memcmp(res->output.data, want, res->output.len) != 0))
		fail_msg("output was '%.*s', wanted '%s' (message: %s)",
		    (int)res->output.len, (const char *)res->output.data, want,
		    res->message);
}

/* ---- commands ---------------------------------------------------------- */

static void
test_command_output_and_status(void **state)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	const char *echo[] = {"echo", "hello", "world"};
	const char *fail3[] = {"/bin/sh", "-c", ("echo out; echo err >&2; "
	    "exit 3")};
	const char *missing[] = {"no-such-program-mamori"};
	const char *relative[] = {"bin/echo", "x"};

	(void)state;
	assert_int_equal(run_cmd(&env0, echo, 3, 0, 0, &res), 0);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__OK);
	assert_int_equal(res.exit_code, 0);
	assert_output(&res, "hello world\n");
	assert_false(res.output_truncated);
	assert_non_null(strstr(res.message, "/usr/bin/echo"));
	assert_true(res.started_ns > 0 && res.finished_ns >= res.started_ns);
	mamori_task_result_clear(&res);

	assert_int_equal(run_cmd(&env0, fail3, 3, 0, 0, &res),
	    MAMORI_ERR_EXIT_STATUS);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__FAILED);
	assert_int_equal(res.exit_code, 3);
	assert_output(&res, "out\nerr\n");
	assert_non_null(strstr(res.message, "exited with status 3"));
	mamori_task_result_clear(&res);

	assert_int_equal(run_cmd(&env0, missing, 1, 0, 0, &res),
	    MAMORI_ERR_NOT_FOUND);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__FAILED);
	assert_non_null(strstr(res.message, "command not found"));
	mamori_task_result_clear(&res);

	assert_int_equal(run_cmd(&env0, relative, 2, 0, 0, &res),
	    MAMORI_ERR_INVALID);
	mamori_task_result_clear(&res);

	assert_int_equal(run_cmd(&env0, echo, 0, 0, 0, &res),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(res.message, "argv is empty"));
	mamori_task_result_clear(&res);

	assert_int_equal(run_cmd(&env0, echo, 1, 3601, 0, &res),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(res.message, "3600"));
	mamori_task_result_clear(&res);
}

static void
test_command_timeout(void **state)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	const char *sleep30[] = {"sleep", "30"};
	/* Ignores SIGTERM: the group is killed 2 s after it. */
	const char *stubborn[] = {"/bin/sh", "-c", ("trap '' TERM; sleep 30; "
	    "sleep 30")};
	double t0, dt;

	(void)state;
	t0 = now_s();
	assert_int_equal(run_cmd(&env0, sleep30, 2, 1, 0, &res),
	    MAMORI_ERR_TIMEOUT);
	dt = now_s() - t0;
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__TIMED_OUT);
	assert_int_equal(res.exit_code, 128 + SIGTERM);
	assert_true(dt >= 0.9 && dt < 3.5);
	assert_non_null(strstr(res.message, "timed out after 1 s"));
	mamori_task_result_clear(&res);

	t0 = now_s();
	assert_int_equal(run_cmd(&env0, stubborn, 3, 1, 0, &res),
	    MAMORI_ERR_TIMEOUT);
	dt = now_s() - t0;
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__TIMED_OUT);
	assert_int_equal(res.exit_code, 128 + SIGKILL);
	assert_true(dt >= 2.9 && dt < 5.5);
	mamori_task_result_clear(&res);
}

static long
max_rss_kib(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

static void
test_command_output_flood(void **state)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	const char *yes[] = {"yes"};
	const char *zeros[] = {"head", "-c", "20000000", "/dev/zero"};
	long rss0;
	size_t i;

	(void)state;
	rss0 = max_rss_kib();
	assert_int_equal(run_cmd(&env0, yes, 1, 1, 1024, &res),
	    MAMORI_ERR_TIMEOUT);
	assert_int_equal(res.output.len, 1024);
	assert_true(res.output_truncated);
	for (i = 0; i < 1024; i += 2)
		assert_memory_equal(res.output.data + i, "y\n", 2);
	assert_non_null(strstr(res.message, "the first 1024 kept"));
	mamori_task_result_clear(&res);

	assert_int_equal(run_cmd(&env0, zeros, 4, 20, 1024, &res), 0);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__OK);
	assert_int_equal(res.output.len, 1024);
	assert_true(res.output_truncated);
	assert_non_null(strstr(res.message, "output 20000000 bytes"));
	mamori_task_result_clear(&res);

	/* A limit past the cap is held to the cap. */
	{
		struct mamori_task_env small = env0;

		small.output_max = 100;
		assert_int_equal(run_cmd(&small, zeros, 4, 20, 1u << 30, &res),
		    0);
		assert_int_equal(res.output.len, 100);
		mamori_task_result_clear(&res);
	}
	/* Tens of MB went through; the runner kept kilobytes. */
	assert_true(max_rss_kib() - rss0 < 8 * 1024);
}

/* 1 when pid is gone or a zombie (within a second). */
static int
pid_gone(long pid)
{
	char path[64], buf[512];
	int i, fd;
	ssize_t n;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	for (i = 0; i < 20; i++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return 1;
		n = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (n > 0) {
			char *p;

			buf[n] = '\0';
			p = strrchr(buf, ')');
			if (p != NULL && (p[2] == 'Z' || p[2] == 'X'))
				return 1;
		}
		(void)poll(NULL, 0, 50);
	}
	return 0;
}

static void
test_command_background_child(void **state)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	const char *bg[] = {"/bin/sh", "-c", "sleep 30 & echo $!"};
	/* The output closed, the child still runs in the group. */
	const char *quiet[] = {"/bin/sh", "-c",
	    "sleep 30 >/dev/null 2>&1 & echo $!"};
	char num[32];
	double t0, dt;
	long pid;

	(void)state;
	t0 = now_s();
	assert_int_equal(run_cmd(&env0, bg, 3, 20, 0, &res), 0);
	dt = now_s() - t0;
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__OK);
	assert_true(dt < 5.0);
	assert_non_null(strstr(res.message, "were killed"));
	assert_true(res.output.len > 1 && res.output.len < sizeof(num));
	memcpy(num, res.output.data, res.output.len - 1);
	num[res.output.len - 1] = '\0';
	pid = strtol(num, NULL, 10);
	assert_true(pid > 1);
	assert_true(pid_gone(pid));
	mamori_task_result_clear(&res);

	t0 = now_s();
	assert_int_equal(run_cmd(&env0, quiet, 3, 20, 0, &res), 0);
	assert_true(now_s() - t0 < 2.0);
	memcpy(num, res.output.data, res.output.len - 1);
	num[res.output.len - 1] = '\0';
	pid = strtol(num, NULL, 10);
	assert_true(pid_gone(pid));
	mamori_task_result_clear(&res);
}

static void
test_command_clean_environment(void **state)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	const char *env[] = {"env"};
	const char *fds[] = {"/bin/sh", "-c", ("ls /proc/$$/fd | tr '\\n' ' '; "
	    "readlink /proc/$$/fd/0; pwd")};
	const char *ids[] = {"awk", "{ print ($1 == $5 && $1 == $6) }",
	    "/proc/self/stat"};
	int leak;

	(void)state;
	assert_int_equal(setenv("MAMORI_TEST_SECRET", "do-not-pass", 1), 0);
	/* A descriptor without CLOEXEC must not reach the child either. */
	leak = fcntl(open("/dev/null", O_RDONLY), F_DUPFD, 50);
	assert_true(leak >= 50);

	assert_int_equal(run_cmd(&env0, env, 1, 0, 0, &res), 0);
	assert_output(&res, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
	    "LANG=C.UTF-8\nHOME=/root\n");
	mamori_task_result_clear(&res);

	assert_int_equal(run_cmd(&env0, fds, 3, 0, 0, &res), 0);
	assert_output(&res, "0 1 2 /dev/null\n/\n");
	mamori_task_result_clear(&res);

	/* Signals: none blocked, none of 1..31 ignored, whatever the agent
	 * does (it ignores SIGPIPE).  glibc's posix_spawn leaves its own
	 * internal signals 32 and 33 ignored; nothing else uses them. */
	{
		const char *sig[] = {"grep", "-E", "^Sig(Ign|Blk)",
		    "/proc/self/status"};
		sigset_t usr1, old;
		char text[128], *ign;
		unsigned long long mask;

		(void)signal(SIGPIPE, SIG_IGN);
		(void)sigemptyset(&usr1);
		(void)sigaddset(&usr1, SIGUSR1);
		assert_int_equal(pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);
		assert_int_equal(run_cmd(&env0, sig, 4, 0, 0, &res), 0);
		assert_true(res.output.len < sizeof(text));
		memcpy(text, res.output.data, res.output.len);
		text[res.output.len] = '\0';
		assert_non_null(strstr(text, "SigBlk:\t0000000000000000\n"));
		assert_non_null(ign = strstr(text, "SigIgn:\t"));
		mask = strtoull(ign + 8, NULL, 16);
		/* Bit n - 1 is signal n. */
		assert_int_equal(mask & 0x7fffffffull, 0);
		assert_int_equal(mask & ~0x180000000ull, 0);
		mamori_task_result_clear(&res);
		assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
		(void)signal(SIGPIPE, SIG_DFL);
	}

	/* Its own session and process group. */
	assert_int_equal(run_cmd(&env0, ids, 3, 0, 0, &res), 0);
	assert_output(&res, "1\n");
	mamori_task_result_clear(&res);
	(void)close(leak);
	(void)unsetenv("MAMORI_TEST_SECRET");
}

struct parallel_run {
	int code;
	int result;
	int exit_code;
	char out[16];
};

static void *
parallel_thread(void *arg)
{
	struct parallel_run *p = arg;
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	char script[64];
	const char *argv[] = {"/bin/sh", "-c", script};

	(void)snprintf(script, sizeof(script), "sleep 0.3; echo %d; exit %d",
	    p->code, p->code);
	p->result = run_cmd(&env0, argv, 3, 10, 0, &res);
	p->exit_code = res.exit_code;
	if (res.output.len < sizeof(p->out)) {
		memcpy(p->out, res.output.data, res.output.len);
		p->out[res.output.len] = '\0';
	}
	mamori_task_result_clear(&res);
	return NULL;
}

/* Worker threads run tasks at once; each waits for its own program. */
static void
test_command_parallel(void **state)
{
	struct parallel_run runs[4];
	pthread_t th[4];
	char want[16];
	double t0;
	int i;

	(void)state;
	t0 = now_s();
	for (i = 0; i < 4; i++) {
		memset(&runs[i], 0, sizeof(runs[i]));
		runs[i].code = i;
		assert_int_equal(pthread_create(&th[i], NULL, parallel_thread,
		    &runs[i]), 0);
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_true(now_s() - t0 < 2.5);
	for (i = 0; i < 4; i++) {
		assert_int_equal(runs[i].result, i == 0 ? 0 :
		    MAMORI_ERR_EXIT_STATUS);
		assert_int_equal(runs[i].exit_code, i);
		(void)snprintf(want, sizeof(want), "%d\n", i);
		assert_string_equal(runs[i].out, want);
	}
}

/* ---- scripts ---------------------------------------------------------- */

static int
run_script(const char *interp, const char *body, Mamori__TaskResult *res)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__RunScriptParams p = MAMORI__RUN_SCRIPT_PARAMS__INIT;

	p.interpreter = (char *)(uintptr_t)interp;
	p.body = (char *)(uintptr_t)body;
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_RUN_SCRIPT;
	b.params_case = MAMORI__TASK_BODY__PARAMS_RUN_SCRIPT;
	b.run_script = &p;
	return mamori_task_execute(&env0, &b, res);
}

static void
test_script(void **state)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;

	(void)state;
	/* `cat` reads stdin: /dev/null, not the rest of the script. */
	assert_int_equal(run_script("/bin/sh", "echo one\ncat\necho two\n",
	    &res), 0);
	assert_output(&res, "one\ntwo\n");
	mamori_task_result_clear(&res);

	assert_int_equal(run_script("/bin/bash",
	    "set -e\nx=$((6*7))\necho \"$x $BASH_VERSINFO\" | cut -c1-3\n"
	    "exit 4\n", &res), MAMORI_ERR_EXIT_STATUS);
	assert_int_equal(res.exit_code, 4);
	assert_output(&res, "42 \n");
	mamori_task_result_clear(&res);

	assert_int_equal(run_script("/usr/bin/python3",
	    "import os, sys\nprint(sum(range(10)), sorted(os.environ)[:3])\n",
	    &res), 0);
	assert_output(&res, "45 ['HOME', 'LANG', 'PATH']\n");
	mamori_task_result_clear(&res);

	/* The script cannot rewrite its own sealed body. */
	assert_int_equal(run_script("/bin/sh",
	    "echo x >> /dev/fd/3 && echo wrote || echo sealed\n", &res), 0);
	assert_non_null(memmem(res.output.data, res.output.len, "sealed", 6));
	mamori_task_result_clear(&res);

	assert_int_equal(run_script("/usr/bin/perl", "print 1", &res),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(res.message, "interpreter must be one of"));
	mamori_task_result_clear(&res);
	assert_int_equal(run_script("sh", "echo 1", &res), MAMORI_ERR_INVALID);
	mamori_task_result_clear(&res);
}

/* ---- packages ---------------------------------------------------------- */

static void
test_package_name_grammar(void **state)
{
	static const char *const good[] = {"nginx", "libc6", "g++",
	    "libstdc++6", "0ad", "python3.11", "foo:amd64", "a-b", "x1",
	    "libgtk-3-0:i386"};
	static const char *const bad[] = {"", "a", "-y", "--purge",
	    "-oAPT::Get::Foo=1", "Nginx", "foo bar", "foo;rm", "../x",
	    "foo/bar", "?installed", "~nfoo", "foo:", ":amd64", "foo=1.0",
	    "foo*", "foo$", "f\xc3\xa9", "foo:AMD64", "foo:amd64:x", ".foo",
	    "+foo", "foo\n", "a:b"};
	char longname[MAMORI_TASK_PACKAGE_NAME_MAX + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (mamori_task_package_name_check(good[i]) != 0)
			fail_msg("refused good name %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mamori_task_package_name_check(bad[i]) !=
		    MAMORI_ERR_BAD_PACKAGE)
			fail_msg("accepted bad name '%s'", bad[i]);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(mamori_task_package_name_check(longname),
	    MAMORI_ERR_BAD_PACKAGE);
	longname[MAMORI_TASK_PACKAGE_NAME_MAX] = '\0';
	assert_int_equal(mamori_task_package_name_check(longname), 0);
	assert_int_equal(mamori_task_package_name_check(NULL),
	    MAMORI_ERR_BAD_PACKAGE);
}

static int
run_package(const struct mamori_task_env *env, int install, const char *name,
    Mamori__TaskResult *res)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__PackageParams p = MAMORI__PACKAGE_PARAMS__INIT;

	p.name = (char *)(uintptr_t)name;
	b.type = install ? MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_INSTALL :
	    MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_REMOVE;
	b.params_case = install ? MAMORI__TASK_BODY__PARAMS_PACKAGE_INSTALL :
	    MAMORI__TASK_BODY__PARAMS_PACKAGE_REMOVE;
	if (install)
		b.package_install = &p;
	else
		b.package_remove = &p;
	return mamori_task_execute(env, &b, res);
}

static void
read_text(const char *path, char *out, size_t outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, out, outlen - 1);
	assert_true(n >= 0);
	out[n] = '\0';
	(void)close(fd);
}

static void
test_package_recording_tool(void **state)
{
	struct ctx *c = *state;
	struct mamori_task_env env = env0;
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	char tool[256], log[256], script[1024], got[1024];

	(void)snprintf(tool, sizeof(tool), "%s/apt-get", c->dir);
	(void)snprintf(log, sizeof(log), "%s/calls", c->dir);
	(void)snprintf(script, sizeof(script), "#!/bin/sh\n"
	    "printf '%%s|' \"$@\" >> %s\n"
	    "echo \"$DEBIAN_FRONTEND\" >> %s\n"
	    "echo installing\n", log, log);
	write_file(tool, script, 0755);
	env.package_tool = tool;

	assert_int_equal(run_package(&env, 1, "hello-pkg", &res), 0);
	assert_output(&res, "installing\n");
	mamori_task_result_clear(&res);
	assert_int_equal(run_package(&env, 0, "libfoo1:amd64", &res), 0);
	mamori_task_result_clear(&res);
	read_text(log, got, sizeof(got));
	assert_string_equal(got,
	    "-o|APT::Cmd::Pattern-Only=1|install|-y|--no-install-recommends|"
	    "hello-pkg|noninteractive\n"
	    "-o|APT::Cmd::Pattern-Only=1|remove|-y|libfoo1:amd64|"
	    "noninteractive\n");

	/* Refused names never reach the tool. */
	assert_int_equal(run_package(&env, 1, "-oDebug::pkgProblemResolver=1",
	    &res), MAMORI_ERR_BAD_PACKAGE);
	assert_non_null(strstr(res.message, "not a Debian package name"));
	mamori_task_result_clear(&res);
	assert_int_equal(run_package(&env, 0, "foo;reboot", &res),
	    MAMORI_ERR_BAD_PACKAGE);
	mamori_task_result_clear(&res);
	read_text(log, got, sizeof(got));
	assert_null(strstr(got, "pkgProblem"));
	assert_null(strstr(got, "reboot"));

	env.package_tool = "apt-get";
	assert_int_equal(run_package(&env, 1, "hello", &res),
	    MAMORI_ERR_INVALID);
	mamori_task_result_clear(&res);
}

/* Output of a command run through popen (tests only). */
static void
shell_out(const char *cmd, char *out, size_t outlen)
{
	FILE *f = popen(cmd, "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	(void)pclose(f);
}

static void
test_package_real_remove(void **state)
{
	struct ctx *c = *state;
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	char path[256], cmd[1024], out[4096];
	struct stat st;

	if (geteuid() != 0 || access("/usr/bin/dpkg-deb", X_OK) != 0 ||
	    access("/usr/bin/apt-get", X_OK) != 0)
		skip();
	(void)snprintf(path, sizeof(path), "%s/pkg/DEBIAN", c->dir);
	(void)snprintf(cmd, sizeof(cmd), "mkdir -p %s %s/pkg/usr/share/"
	    "mamori-test-dummy", path, c->dir);
	run_quiet(cmd);
	(void)snprintf(path, sizeof(path), "%s/pkg/DEBIAN/control", c->dir);
	write_file(path, "Package: mamori-test-dummy\nVersion: 1.0-1\n"
	    "Architecture: all\nMaintainer: mamori tests "
	    "<tests@example.invalid>\nSection: misc\nPriority: optional\n"
	    "Description: empty package for the task runner's tests\n", 0644);
	(void)snprintf(path, sizeof(path), "%s/pkg/usr/share/"
	    "mamori-test-dummy/marker", c->dir);
	write_file(path, "marker\n", 0644);
	(void)snprintf(cmd, sizeof(cmd), "dpkg-deb --root-owner-group --build "
	    "%s/pkg %s/dummy.deb >/dev/null 2>&1 && dpkg -i %s/dummy.deb "
	    ">/dev/null 2>&1 && dpkg-query -W -f='${Status}' "
	    "mamori-test-dummy", c->dir, c->dir, c->dir);
	shell_out(cmd, out, sizeof(out));
	assert_string_equal(out, "install ok installed");
	assert_int_equal(stat("/usr/share/mamori-test-dummy/marker", &st), 0);

	assert_int_equal(run_package(&env0, 0, "mamori-test-dummy", &res), 0);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__OK);
	assert_int_equal(res.exit_code, 0);
	assert_non_null(memmem(res.output.data, res.output.len,
	    "Removing mamori-test-dummy", 26));
	mamori_task_result_clear(&res);
	assert_int_not_equal(stat("/usr/share/mamori-test-dummy/marker", &st),
	    0);
	shell_out("dpkg-query -W -f='${Status}' mamori-test-dummy 2>/dev/null",
	    out, sizeof(out));
	assert_null(strstr(out, "install ok installed"));

	/* Removing it again: apt-get says so and succeeds; a name that
	 * only a regular expression would match removes nothing. */
	assert_int_equal(run_package(&env0, 0, "mamori-test-dumm.", &res),
	    MAMORI_ERR_EXIT_STATUS);
	assert_int_equal(res.exit_code, 100);
	mamori_task_result_clear(&res);
	run_quiet("dpkg --purge mamori-test-dummy >/dev/null 2>&1");
}

/* ---- processes -------------------------------------------------------- */

static int
run_kill(const struct mamori_task_env *env, uint32_t pid,
    Mamori__TaskResult *res)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__KillProcessParams p = MAMORI__KILL_PROCESS_PARAMS__INIT;

	p.pid = pid;
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_KILL_PROCESS;
	b.params_case = MAMORI__TASK_BODY__PARAMS_KILL_PROCESS;
	b.kill_process = &p;
	return mamori_task_execute(env, &b, res);
}

static void *
idle_thread(void *arg)
{
	long *tid = arg;

	*tid = (long)syscall(SYS_gettid);
	pause();
	return NULL;
}

/* A kernel thread's pid, or 0 when none is visible. */
static long
find_kthread(void)
{
	char path[64], buf[1024];
	long pid;
	int fd;
	ssize_t n;

	for (pid = 2; pid < 200; pid++) {
		(void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (n > 0) {
			char *p, *end;
			int field;
			unsigned long flags;

			buf[n] = '\0';
			if ((p = strrchr(buf, ')')) == NULL)
				continue;
			for (field = 2; field < 9 && p != NULL; field++)
				p = strchr(p + 1, ' ');
			if (p == NULL)
				continue;
			flags = strtoul(p + 1, &end, 10);
			if (flags & 0x00200000u)
				return pid;
		}
	}
	return 0;
}

static void
test_kill_process(void **state)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	char *const argv[] = {"sleep", "100", NULL};
	struct mamori_task_env other = env0;
	pthread_t th;
	long tid = 0, kt;
	pid_t child;
	int st;

	(void)state;
	assert_int_equal(posix_spawn(&child, "/usr/bin/sleep", NULL, NULL,
	    argv, environ), 0);
	(void)poll(NULL, 0, 100);
	assert_int_equal(run_kill(&env0, (uint32_t)child, &res), 0);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__OK);
	assert_non_null(strstr(res.message, "/usr/bin/sleep: sleep 100"));
	assert_non_null(strstr(res.message, "gone"));
	mamori_task_result_clear(&res);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	/* Gone now: nothing to kill. */
	assert_int_equal(run_kill(&env0, (uint32_t)child, &res),
	    MAMORI_ERR_NOT_FOUND);
	mamori_task_result_clear(&res);

	assert_int_equal(run_kill(&env0, 1, &res), MAMORI_ERR_PERMISSION);
	assert_non_null(strstr(res.message, "pid 1 (init)"));
	mamori_task_result_clear(&res);
	assert_int_equal(run_kill(&env0, 0, &res), MAMORI_ERR_INVALID);
	mamori_task_result_clear(&res);
	assert_int_equal(run_kill(&env0, 0xffffffffu, &res),
	    MAMORI_ERR_INVALID);
	mamori_task_result_clear(&res);
	assert_int_equal(run_kill(&env0, (uint32_t)getpid(), &res),
	    MAMORI_ERR_PERMISSION);
	assert_non_null(strstr(res.message, "the agent itself"));
	mamori_task_result_clear(&res);

	/* The agent's pid as configured, and a thread of this process. */
	other.agent_pid = 1234567;
	assert_int_equal(run_kill(&other, 1234567, &res),
	    MAMORI_ERR_PERMISSION);
	mamori_task_result_clear(&res);
	assert_int_equal(pthread_create(&th, NULL, idle_thread, &tid), 0);
	while (__atomic_load_n(&tid, __ATOMIC_SEQ_CST) == 0)
		(void)poll(NULL, 0, 10);
	assert_int_equal(run_kill(&env0, (uint32_t)tid, &res),
	    MAMORI_ERR_PERMISSION);
	assert_non_null(strstr(res.message, "a thread of the agent"));
	mamori_task_result_clear(&res);
	assert_int_equal(pthread_cancel(th), 0);
	assert_int_equal(pthread_join(th, NULL), 0);

	if ((kt = find_kthread()) != 0) {
		assert_int_equal(run_kill(&env0, (uint32_t)kt, &res),
		    MAMORI_ERR_PERMISSION);
		assert_non_null(strstr(res.message, "kernel thread"));
		mamori_task_result_clear(&res);
	} else {
		print_message("no kernel thread visible: not checked\n");
	}
}

/* ---- files ------------------------------------------------------------ */

static int
run_read(const char *path, uint64_t max, Mamori__TaskResult *res)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__ReadFileParams p = MAMORI__READ_FILE_PARAMS__INIT;

	p.path = (char *)(uintptr_t)path;
	p.max_bytes = max;
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE;
	b.params_case = MAMORI__TASK_BODY__PARAMS_READ_FILE;
	b.read_file = &p;
	return mamori_task_execute(&env0, &b, res);
}

#define HELLO_SHA256 \
	"b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"

static void
test_read_file(void **state)
{
	struct ctx *c = *state;
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	char file[256], link[256], fifo[256];

	(void)snprintf(file, sizeof(file), "%s/hello.txt", c->dir);
	(void)snprintf(link, sizeof(link), "%s/link", c->dir);
	(void)snprintf(fifo, sizeof(fifo), "%s/fifo", c->dir);
	write_file(file, "hello world", 0600);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);

	assert_int_equal(run_read(file, 0, &res), 0);
	assert_output(&res, "hello world");
	assert_false(res.output_truncated);
	assert_int_equal(res.n_hashes, 1);
	assert_string_equal(res.hashes[0]->sha256, HELLO_SHA256);
	assert_int_equal(res.hashes[0]->size, 11);
	assert_string_equal(res.hashes[0]->path, file);
	mamori_task_result_clear(&res);

	/* max_bytes keeps the first bytes; the hash is of the whole file. */
	assert_int_equal(run_read(file, 5, &res), 0);
	assert_output(&res, "hello");
	assert_true(res.output_truncated);
	assert_string_equal(res.hashes[0]->sha256, HELLO_SHA256);
	assert_int_equal(res.hashes[0]->size, 11);
	mamori_task_result_clear(&res);

	assert_int_equal(run_read(link, 0, &res), MAMORI_ERR_NOT_REGULAR);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__FAILED);
	assert_non_null(strstr(res.message, "symbolic link, not followed"));
	assert_int_equal(res.output.len, 0);
	mamori_task_result_clear(&res);

	assert_int_equal(run_read(fifo, 0, &res), MAMORI_ERR_NOT_REGULAR);
	assert_non_null(strstr(res.message, "a FIFO"));
	mamori_task_result_clear(&res);
	/* A device is never opened, only looked at. */
	assert_int_equal(run_read("/dev/null", 0, &res),
	    MAMORI_ERR_NOT_REGULAR);
	assert_non_null(strstr(res.message, "/dev/null is a device"));
	mamori_task_result_clear(&res);
	/* A /proc file says size 0 and still has bytes. */
	assert_int_equal(run_read("/proc/version", 0, &res), 0);
	assert_true(res.output.len > 10);
	assert_memory_equal(res.output.data, "Linux", 5);
	assert_int_equal(res.hashes[0]->size, res.output.len);
	mamori_task_result_clear(&res);
	assert_int_equal(run_read(c->dir, 0, &res), MAMORI_ERR_NOT_REGULAR);
	assert_non_null(strstr(res.message, "a directory"));
	mamori_task_result_clear(&res);
	assert_int_equal(run_read("relative/path", 0, &res),
	    MAMORI_ERR_INVALID);
	mamori_task_result_clear(&res);
	assert_int_equal(run_read("", 0, &res), MAMORI_ERR_INVALID);
	mamori_task_result_clear(&res);
	assert_int_equal(run_read("/nonexistent/mamori", 0, &res),
	    MAMORI_ERR_NOT_FOUND);
	mamori_task_result_clear(&res);
}

static int
run_hash(const char *path, Mamori__TaskResult *res)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__HashPathParams p = MAMORI__HASH_PATH_PARAMS__INIT;

	p.path = (char *)(uintptr_t)path;
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_HASH_PATH;
	b.params_case = MAMORI__TASK_BODY__PARAMS_HASH_PATH;
	b.hash_path = &p;
	return mamori_task_execute(&env0, &b, res);
}

static const Mamori__FileHash *
find_hash(const Mamori__TaskResult *res, const char *path)
{
	size_t i;

	for (i = 0; i < res->n_hashes; i++)
		if (strcmp(res->hashes[i]->path, path) == 0)
			return res->hashes[i];
	fail_msg("no entry for %s", path);
	return NULL;
}

static void
test_hash_path(void **state)
{
	struct ctx *c = *state;
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	char root[256], p[1024];
	const Mamori__FileHash *h;
	size_t i;
	int level;

	(void)snprintf(root, sizeof(root), "%s/tree", c->dir);
	assert_int_equal(mkdir(root, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/a.txt", root);
	write_file(p, "hello world", 0600);
	(void)snprintf(p, sizeof(p), "%s/sub", root);
	assert_int_equal(mkdir(p, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/sub/empty", root);
	write_file(p, "", 0600);
	(void)snprintf(p, sizeof(p), "%s/sub/link", root);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	(void)snprintf(p, sizeof(p), "%s/sub/fifo", root);
	assert_int_equal(mkfifo(p, 0600), 0);
	/* 34 levels: the 33rd is reported, not entered. */
	(void)snprintf(p, sizeof(p), "%s/deep", root);
	for (level = 0; level < 34; level++) {
		assert_int_equal(mkdir(p, 0700), 0);
		(void)mamori_strlcpy(p + strlen(p), "/d", sizeof(p) - strlen(p));
	}

	assert_int_equal(run_hash(root, &res), 0);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__OK);
	assert_int_equal(res.n_hashes, 5);
	(void)snprintf(p, sizeof(p), "%s/a.txt", root);
	h = find_hash(&res, p);
	assert_string_equal(h->sha256, HELLO_SHA256);
	assert_int_equal(h->size, 11);
	assert_string_equal(h->error, "");
	(void)snprintf(p, sizeof(p), "%s/sub/empty", root);
	h = find_hash(&res, p);
	assert_string_equal(h->sha256, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	(void)snprintf(p, sizeof(p), "%s/sub/link", root);
	h = find_hash(&res, p);
	assert_string_equal(h->sha256, "");
	assert_non_null(strstr(h->error, "symbolic link"));
	(void)snprintf(p, sizeof(p), "%s/sub/fifo", root);
	assert_string_equal(find_hash(&res, p)->error, "a FIFO");
	for (i = 0; i < res.n_hashes; i++)
		if (strstr(res.hashes[i]->error, "deeper than 32") != NULL)
			break;
	assert_true(i < res.n_hashes);
	assert_non_null(strstr(res.message, "5 entries (3 not hashed)"));
	mamori_task_result_clear(&res);

	/* One file; a trailing slash on a directory walks the same. */
	(void)snprintf(p, sizeof(p), "%s/a.txt", root);
	assert_int_equal(run_hash(p, &res), 0);
	assert_int_equal(res.n_hashes, 1);
	mamori_task_result_clear(&res);
	(void)snprintf(p, sizeof(p), "%s/sub/", root);
	assert_int_equal(run_hash(p, &res), 0);
	assert_int_equal(res.n_hashes, 3);
	(void)snprintf(p, sizeof(p), "%s/sub/empty", root);
	(void)find_hash(&res, p);
	mamori_task_result_clear(&res);

	/* Many entries: the lists grow past their first allocations. */
	(void)snprintf(p, sizeof(p), "%s/many", c->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	for (level = 0; level < 70; level++) {
		(void)snprintf(p, sizeof(p), "%s/many/f%02d", c->dir, level);
		write_file(p, "hello world", 0600);
	}
	(void)snprintf(p, sizeof(p), "%s/many", c->dir);
	assert_int_equal(run_hash(p, &res), 0);
	assert_int_equal(res.n_hashes, 70);
	for (i = 0; i < res.n_hashes; i++)
		assert_string_equal(res.hashes[i]->sha256, HELLO_SHA256);
	mamori_task_result_clear(&res);

	/* File names are bytes; the result's strings are UTF-8. */
	(void)snprintf(p, sizeof(p), "%s/names", c->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/names/bad\xff\xc3.txt", c->dir);
	write_file(p, "hello world", 0600);
	(void)snprintf(p, sizeof(p), "%s/names/caf\xc3\xa9", c->dir);
	write_file(p, "hello world", 0600);
	(void)snprintf(p, sizeof(p), "%s/names", c->dir);
	assert_int_equal(run_hash(p, &res), 0);
	assert_int_equal(res.n_hashes, 2);
	(void)snprintf(p, sizeof(p), "%s/names/bad??.txt", c->dir);
	assert_string_equal(find_hash(&res, p)->sha256, HELLO_SHA256);
	(void)snprintf(p, sizeof(p), "%s/names/caf\xc3\xa9", c->dir);
	assert_string_equal(find_hash(&res, p)->sha256, HELLO_SHA256);
	mamori_task_result_clear(&res);
	assert_int_equal(run_read("/nonexistent/\xe2\x82", 0, &res),
	    MAMORI_ERR_NOT_FOUND);
	assert_non_null(strstr(res.message, "/nonexistent/??"));
	mamori_task_result_clear(&res);

	/* The start itself a link: refused. */
	(void)snprintf(p, sizeof(p), "%s/sub/link", root);
	assert_int_equal(run_hash(p, &res), MAMORI_ERR_NOT_REGULAR);
	mamori_task_result_clear(&res);
}

static int
run_yara(const struct mamori_task_env *env, const char *path,
    Mamori__TaskResult *res)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__YaraScanParams p = MAMORI__YARA_SCAN_PARAMS__INIT;

	p.path = (char *)(uintptr_t)path;
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_YARA_SCAN;
	b.params_case = MAMORI__TASK_BODY__PARAMS_YARA_SCAN;
	b.yara_scan = &p;
	return mamori_task_execute(env, &b, res);
}

static void
test_yara_scan(void **state)
{
	struct ctx *c = *state;
	struct mamori_task_env env = env0;
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	char rules[256], bad[256], tree[256], p[512];

	(void)snprintf(rules, sizeof(rules), "%s/rules", c->dir);
	(void)snprintf(bad, sizeof(bad), "%s/bad", c->dir);
	(void)snprintf(tree, sizeof(tree), "%s/scan", c->dir);
	assert_int_equal(mkdir(rules, 0700), 0);
	assert_int_equal(mkdir(bad, 0700), 0);
	assert_int_equal(mkdir(tree, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/test.yar", rules);
	write_file(p, "rule mamori_marker : tagA tagB {\n"
	    "  strings: $a = \"MAMORI-TEST-MARKER\"\n"
	    "  condition: $a\n}\n", 0600);
	(void)snprintf(p, sizeof(p), "%s/README", rules);
	write_file(p, "not a rule file, ignored\n", 0600);
	(void)snprintf(p, sizeof(p), "%s/broken.yara", bad);
	write_file(p, "rule broken {\n condition: $nope\n}\n", 0600);
	(void)snprintf(p, sizeof(p), "%s/hit.bin", tree);
	write_file(p, "xx MAMORI-TEST-MARKER xx", 0600);
	(void)snprintf(p, sizeof(p), "%s/miss.bin", tree);
	write_file(p, "nothing here", 0600);
	(void)snprintf(p, sizeof(p), "%s/link", tree);
	assert_int_equal(symlink("hit.bin", p), 0);

	assert_int_equal(run_yara(&env, tree, &res), MAMORI_ERR_NOT_FOUND);
	assert_non_null(strstr(res.message, "no YARA rules"));
	mamori_task_result_clear(&res);

	env.yara_rules_dir = rules;
	assert_int_equal(run_yara(&env, tree, &res), 0);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__OK);
	assert_int_equal(res.n_yara_matches, 1);
	(void)snprintf(p, sizeof(p), "%s/hit.bin", tree);
	assert_string_equal(res.yara_matches[0]->path, p);
	assert_string_equal(res.yara_matches[0]->rule, "mamori_marker");
	assert_int_equal(res.yara_matches[0]->n_tags, 2);
	assert_string_equal(res.yara_matches[0]->tags[0], "tagA");
	assert_string_equal(res.yara_matches[0]->tags[1], "tagB");
	assert_non_null(strstr(res.message, "scanned 2 files"));
	mamori_task_result_clear(&res);

	/* One file. */
	assert_int_equal(run_yara(&env, p, &res), 0);
	assert_int_equal(res.n_yara_matches, 1);
	mamori_task_result_clear(&res);

	env.yara_rules_dir = bad;
	assert_int_equal(run_yara(&env, tree, &res), MAMORI_ERR_YARA_COMPILE);
	assert_non_null(strstr(res.message, "broken.yara:"));
	mamori_task_result_clear(&res);

	/* The JPCERT/CC Tick rules compile and find nothing in plain text. */
	env.yara_rules_dir = CORPORA "/yara";
	assert_int_equal(run_yara(&env, tree, &res), 0);
	assert_int_equal(res.n_yara_matches, 0);
	mamori_task_result_clear(&res);
}

/* ---- queries ---------------------------------------------------------- */

static int
run_sql(const struct mamori_task_env *env, const char *sql,
    Mamori__TaskResult *res)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__QueryParams p = MAMORI__QUERY_PARAMS__INIT;

	p.sql = (char *)(uintptr_t)sql;
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_QUERY;
	b.params_case = MAMORI__TASK_BODY__PARAMS_QUERY;
	b.query = &p;
	return mamori_task_execute(env, &b, res);
}

static void
test_query(void **state)
{
	struct mamori_query_config cfg = {"", 1};
	struct mamori_task_env env = env0;
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	double t0, dt;
	long rss0;
	int r;

	(void)state;
	assert_int_equal(run_sql(&env, "SELECT 1", &res), MAMORI_ERR_NOT_FOUND);
	assert_non_null(strstr(res.message, "not available"));
	mamori_task_result_clear(&res);

	assert_int_equal(mamori_query_engine_new(&cfg, &env.query), 0);
	assert_int_equal(run_sql(&env, "SELECT 1 AS one, 'x\"y' AS two",
	    &res), 0);
	assert_string_equal(res.query_json,
	    "{\"columns\":[\"one\",\"two\"],\"rows\":[[1,\"x\\\"y\"]]}");
	assert_string_equal(res.message, "1 rows");
	mamori_task_result_clear(&res);

	assert_int_equal(run_sql(&env, "SELEC nonsense", &res),
	    MAMORI_ERR_QUERY_SQL);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__FAILED);
	assert_non_null(strstr(res.message, "syntax error"));
	assert_string_equal(res.query_json, "");
	mamori_task_result_clear(&res);

	assert_int_equal(run_sql(&env, "DELETE FROM processes", &res),
	    MAMORI_ERR_QUERY_DENIED);
	mamori_task_result_clear(&res);

	/* The cap on the result's bytes holds for the JSON text. */
	{
		struct mamori_task_env small = env;

		small.output_max = 64;
		r = run_sql(&small, "SELECT * FROM processes", &res);
		assert_true(r == MAMORI_ERR_QUERY_TOO_LARGE);
		mamori_task_result_clear(&res);
	}

	/* What a full process listing costs through the runner. */
	rss0 = max_rss_kib();
	t0 = now_s();
	assert_int_equal(run_sql(&env, "SELECT * FROM processes", &res), 0);
	dt = now_s() - t0;
	print_message("QUERY SELECT * FROM processes: %s, %zu bytes of JSON, "
	    "%.1f ms, peak RSS %ld KiB (+%ld KiB)\n", res.message,
	    strlen(res.query_json), dt * 1000.0, max_rss_kib(),
	    max_rss_kib() - rss0);
	assert_non_null(strstr(res.query_json, "\"columns\":[\"pid\""));
	mamori_task_result_clear(&res);
	mamori_query_engine_free(env.query);
}

/* ---- dispatch --------------------------------------------------------- */

static void
test_dispatch(void **state)
{
	Mamori__TaskResult res = MAMORI__TASK_RESULT__INIT;
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__UsbDeviceParams usb = MAMORI__USB_DEVICE_PARAMS__INIT;
	Mamori__QueryParams q = MAMORI__QUERY_PARAMS__INIT;
	Mamori__HostIsolationParams iso = MAMORI__HOST_ISOLATION_PARAMS__INIT;

	(void)state;
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_USB_BLOCK;
	b.params_case = MAMORI__TASK_BODY__PARAMS_USB_BLOCK;
	b.usb_block = &usb;
	assert_int_equal(mamori_task_execute(&env0, &b, &res),
	    MAMORI_ERR_UNSUPPORTED);
	assert_int_equal(res.status, MAMORI__TASK_RESULT__STATUS__FAILED);
	assert_string_equal(res.message, "not handled by the runner");
	mamori_task_result_clear(&res);

	b.type = MAMORI__TASK_TYPE__TASK_TYPE_ISOLATE_HOST;
	b.params_case = MAMORI__TASK_BODY__PARAMS_ISOLATE_HOST;
	b.isolate_host = &iso;
	assert_int_equal(mamori_task_execute(&env0, &b, &res),
	    MAMORI_ERR_UNSUPPORTED);
	mamori_task_result_clear(&res);

	/* Parameters of another type: refused, never read as the wrong
	 * message. */
	b.type = MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND;
	b.params_case = MAMORI__TASK_BODY__PARAMS_QUERY;
	b.query = &q;
	assert_int_equal(mamori_task_execute(&env0, &b, &res),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(res.message, "do not match"));
	mamori_task_result_clear(&res);

	b.params_case = MAMORI__TASK_BODY__PARAMS_RUN_COMMAND;
	b.run_command = NULL;
	assert_int_equal(mamori_task_execute(&env0, &b, &res),
	    MAMORI_ERR_INVALID);
	mamori_task_result_clear(&res);

	b.type = (Mamori__TaskType)99;
	assert_int_equal(mamori_task_execute(&env0, &b, &res),
	    MAMORI_ERR_INVALID);
	assert_non_null(strstr(res.message, "unknown task type 99"));
	mamori_task_result_clear(&res);

	assert_int_equal(mamori_task_execute(NULL, NULL, &res),
	    MAMORI_ERR_INVALID);
	mamori_task_result_clear(&res);
	mamori_task_result_clear(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_output_and_status),
		cmocka_unit_test(test_command_timeout),
		cmocka_unit_test(test_command_output_flood),
		cmocka_unit_test(test_command_background_child),
		cmocka_unit_test(test_command_clean_environment),
		cmocka_unit_test(test_command_parallel),
		cmocka_unit_test(test_script),
		cmocka_unit_test(test_package_name_grammar),
		cmocka_unit_test_setup_teardown(test_package_recording_tool,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_package_real_remove,
		    setup, teardown),
		cmocka_unit_test(test_kill_process),
		cmocka_unit_test_setup_teardown(test_read_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hash_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_yara_scan, setup,
		    teardown),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_dispatch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
