/*
 * task_run.c - the runner's entry point and the task types that run
 * programs or act on processes: QUERY, RUN_COMMAND, RUN_SCRIPT,
 * PACKAGE_INSTALL, PACKAGE_REMOVE, KILL_PROCESS.  Files (READ_FILE,
 * HASH_PATH, YARA_SCAN) are in task_files.c.
 *
 * A script body reaches its interpreter as a sealed memfd at fd 3, named
 * on the command line as /dev/fd/3, not on stdin: sh reads a script from
 * stdin a line at a time, so any command in the script that reads stdin
 * would swallow the rest of the script; a memfd needs no file on disk
 * that another process could swap or that a crash would leave behind,
 * and its seals keep the body exactly as it was signed.
 *
 * Nothing here may run a shell of its own, hand apt-get a name outside
 * Debian's grammar, kill pid 1, the agent or a kernel thread, or put an
 * unchecked byte of the task into a message without bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "query.h"
#include "task_spawn.h"
#include "task_internal.h"
#include "task_run.h"
#include "util.h"

#define PACKAGE_TIMEOUT_SECONDS 1800  /* apt-get may download */
#define PF_KTHREAD_FLAG 0x00200000u   /* include/linux/sched.h */
#define PROC_STAT_MAX 4096
#define PROC_STATUS_MAX 16384
#define KILL_POLL_MS 50

static const char *const script_interpreters[] = {
	"/bin/sh", "/bin/bash", "/usr/bin/python3",
};

static int
is_empty_string(const char *s)
{
	return s == NULL || s == protobuf_c_empty_string;
}

static void
free_string(char **s)
{
	if (!is_empty_string(*s))
		free(*s);
	*s = (char *)protobuf_c_empty_string;
}

static uint64_t
realtime_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
mamori_task__output_max(const struct mamori_task_env *env)
{
	if (env == NULL || env->output_max == 0 ||
	    env->output_max > MAMORI_TASK_OUTPUT_MAX)
		return MAMORI_TASK_OUTPUT_MAX;
	return env->output_max;
}

void
mamori_task__text_fix(char *text)
{
	unsigned char *s = (unsigned char *)text;
	size_t n = strlen(text), i = 0, k;

	while (i < n) {
		if ((k = mamori_utf8_seq(s + i, n - i)) == 0) {
			s[i++] = '?';
			continue;
		}
		i += k;
	}
}

static void set_message_v(Mamori__TaskResult *res, const char *fmt,
    va_list ap) __attribute__((format(printf, 2, 0)));

static void
set_message_v(Mamori__TaskResult *res, const char *fmt, va_list ap)
{
	char text[MAMORI_TASK_MESSAGE_MAX + 1], *copy;
	size_t i;

	(void)vsnprintf(text, sizeof(text), fmt, ap);
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = '?';
	mamori_task__text_fix(text);
	if ((copy = mamori_memdup_str(text, strlen(text))) == NULL)
		return;
	free_string(&res->message);
	res->message = copy;
}

void
mamori_task__message(Mamori__TaskResult *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message_v(res, fmt, ap);
	va_end(ap);
}

int
mamori_task__fail(Mamori__TaskResult *res, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message_v(res, fmt, ap);
	va_end(ap);
	res->status = code == MAMORI_ERR_TIMEOUT ?
	    MAMORI__TASK_RESULT__STATUS__TIMED_OUT :
	    MAMORI__TASK_RESULT__STATUS__FAILED;
	return code;
}

int
mamori_task__check_path(Mamori__TaskResult *res, const char *path)
{
	if (is_empty_string(path) || path[0] == '\0')
		return mamori_task__fail(res, MAMORI_ERR_INVALID,
		    "no path given");
	if (path[0] != '/')
		return mamori_task__fail(res, MAMORI_ERR_INVALID,
		    "path must be absolute");
	if (strlen(path) > MAMORI_TASK_PATH_MAX)
		return mamori_task__fail(res, MAMORI_ERR_INVALID, "path longer "
		    "than %d bytes", MAMORI_TASK_PATH_MAX);
	return 0;
}

/* Makes room for entry n of a repeated field whose pointer array holds
 * max(8, the next power of two >= n) slots. */
static int
grow_for(void ***items, size_t n)
{
	void **p;

	if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
		return 0;
	p = realloc(*items, (n == 0 ? 8 : n * 2) * sizeof(void *));
	if (p == NULL)
		return MAMORI_ERR_ALLOC;
	*items = p;
	return 0;
}

/* A copy of s for a protobuf string: valid UTF-8 (see
 * mamori_task__text_fix); the shared empty string for "". */
static char *
dup_or_empty(const char *s)
{
	char *copy;

	if (s == NULL || s[0] == '\0')
		return (char *)protobuf_c_empty_string;
	if ((copy = mamori_memdup_str(s, strlen(s))) != NULL)
		mamori_task__text_fix(copy);
	return copy;
}

static void
file_hash_free(Mamori__FileHash *h)
{
	if (h == NULL)
		return;
	free_string(&h->path);
	free_string(&h->sha256);
	free_string(&h->error);
	free(h);
}

static void
yara_match_free(Mamori__YaraMatch *m)
{
	size_t i;

	if (m == NULL)
		return;
	free_string(&m->path);
	free_string(&m->rule);
	free_string(&m->namespace_);
	for (i = 0; i < m->n_tags; i++)
		free_string(&m->tags[i]);
	free(m->tags);
	free(m);
}

int
mamori_task__add_hash(Mamori__TaskResult *res,
    struct mamori_task_budget *b, const char *path, const char *sha256_hex,
    uint64_t size, const char *error)
{
	Mamori__FileHash *h = NULL;
	uint64_t cost;

	cost = strlen(path) + (sha256_hex != NULL ? strlen(sha256_hex) : 0) +
	    (error != NULL ? strlen(error) : 0) + 16;
	if (b->used + cost > b->max)
		return MAMORI_ERR_TOO_LARGE;
	if (grow_for((void ***)&res->hashes, res->n_hashes) != 0 ||
	    (h = malloc(sizeof(*h))) == NULL)
		return MAMORI_ERR_ALLOC;
	mamori__file_hash__init(h);
	h->size = size;
	if ((h->path = dup_or_empty(path)) == NULL ||
	    (h->sha256 = dup_or_empty(error == NULL ? sha256_hex : NULL)) ==
	    NULL || (h->error = dup_or_empty(error)) == NULL) {
		if (h->path == NULL)
			h->path = (char *)protobuf_c_empty_string;
		if (h->sha256 == NULL)
			h->sha256 = (char *)protobuf_c_empty_string;
		if (h->error == NULL)
			h->error = (char *)protobuf_c_empty_string;
		file_hash_free(h);
		return MAMORI_ERR_ALLOC;
	}
	res->hashes[res->n_hashes++] = h;
	b->used += cost;
	return 0;
}

int
mamori_task__add_match(Mamori__TaskResult *res,
    struct mamori_task_budget *b, const char *path, const char *rule,
    const char *ns, char *const *tags, size_t ntags)
{
	Mamori__YaraMatch *m = NULL;
	uint64_t cost;
	size_t i;

	cost = strlen(path) + strlen(rule) + strlen(ns) + 16;
	for (i = 0; i < ntags; i++)
		cost += strlen(tags[i]) + 4;
	if (b->used + cost > b->max ||
	    res->n_yara_matches >= MAMORI_TASK_YARA_MATCHES_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if (grow_for((void ***)&res->yara_matches, res->n_yara_matches) != 0 ||
	    (m = malloc(sizeof(*m))) == NULL)
		return MAMORI_ERR_ALLOC;
	mamori__yara_match__init(m);
	m->path = dup_or_empty(path);
	m->rule = dup_or_empty(rule);
	m->namespace_ = dup_or_empty(ns);
	if (ntags > 0 && (m->tags = calloc(ntags, sizeof(char *))) != NULL) {
		for (i = 0; i < ntags; i++) {
			if ((m->tags[i] = dup_or_empty(tags[i])) == NULL)
				break;
			m->n_tags++;
		}
	}
	if (m->path == NULL || m->rule == NULL || m->namespace_ == NULL ||
	    m->n_tags != ntags) {
		if (m->path == NULL)
			m->path = (char *)protobuf_c_empty_string;
		if (m->rule == NULL)
			m->rule = (char *)protobuf_c_empty_string;
		if (m->namespace_ == NULL)
			m->namespace_ = (char *)protobuf_c_empty_string;
		yara_match_free(m);
		return MAMORI_ERR_ALLOC;
	}
	res->yara_matches[res->n_yara_matches++] = m;
	b->used += cost;
	return 0;
}

void
mamori_task_result_clear(Mamori__TaskResult *res)
{
	size_t i;

	if (res == NULL)
		return;
	free_string(&res->message);
	free_string(&res->query_json);
	free(res->output.data);
	res->output.data = NULL;
	res->output.len = 0;
	for (i = 0; i < res->n_hashes; i++)
		file_hash_free(res->hashes[i]);
	free(res->hashes);
	res->hashes = NULL;
	res->n_hashes = 0;
	for (i = 0; i < res->n_yara_matches; i++)
		yara_match_free(res->yara_matches[i]);
	free(res->yara_matches);
	res->yara_matches = NULL;
	res->n_yara_matches = 0;
	res->output_truncated = 0;
	res->exit_code = 0;
	res->status = MAMORI__TASK_RESULT__STATUS__STATUS_UNSPECIFIED;
	res->started_ns = 0;
	res->finished_ns = 0;
}

/* ---- QUERY ------------------------------------------------------------ */

static int
run_query(const struct mamori_task_env *env, const Mamori__QueryParams *p,
    Mamori__TaskResult *res)
{
	struct mamori_query_limits lim;
	char err[MAMORI_QUERY_ERR_MAX];
	json_t *j = NULL;
	char *text = NULL;
	uint64_t omax = mamori_task__output_max(env);
	size_t rows;
	int r;

	if (is_empty_string(p->sql) || p->sql[0] == '\0') {
		r = mamori_task__fail(res, MAMORI_ERR_INVALID, "no SQL given");
		goto out;
	}
	if (strlen(p->sql) > MAMORI_TASK_SQL_MAX) {
		r = mamori_task__fail(res, MAMORI_ERR_INVALID, "SQL longer "
		    "than %d bytes", MAMORI_TASK_SQL_MAX);
		goto out;
	}
	if (env->query == NULL) {
		r = mamori_task__fail(res, MAMORI_ERR_NOT_FOUND, "live queries "
		    "are not available on this agent");
		goto out;
	}
	memset(&lim, 0, sizeof(lim));
	lim.timeout_ms = MAMORI_TASK_QUERY_TIMEOUT_MS;
	lim.bytes_max = omax;
	err[0] = '\0';
	if ((r = mamori_query_json(env->query, p->sql, &lim, &j, err,
	    sizeof(err))) != 0) {
		r = mamori_task__fail(res, r, "%s", err[0] != '\0' ? err :
		    mamori_strerror(r));
		goto out;
	}
	rows = json_array_size(json_object_get(j, "rows"));
	if ((text = json_dumps(j, JSON_COMPACT)) == NULL) {
		r = mamori_task__fail(res, MAMORI_ERR_ALLOC,
		    "out of memory writing the result");
		goto out;
	}
	/* Escaping can make the JSON longer than the engine counted. */
	if (strlen(text) > omax) {
		r = mamori_task__fail(res, MAMORI_ERR_QUERY_TOO_LARGE, "result "
		    "is %zu bytes as JSON, more than the %llu allowed",
		    strlen(text), (unsigned long long)omax);
		goto out;
	}
	free_string(&res->query_json);
	res->query_json = text;
	text = NULL;
	res->status = MAMORI__TASK_RESULT__STATUS__OK;
	mamori_task__message(res, "%zu rows", rows);
	r = 0;
out:
	free(text);
	json_decref(j);
	return r;
}

/* ---- RUN_COMMAND, RUN_SCRIPT, PACKAGE_* ------------------------------- */

/* Runs req and writes what happened into res. */
static int
run_program(const struct mamori_task_env *env,
    struct mamori_spawn_request *req, Mamori__TaskResult *res)
{
	struct mamori_spawn_result sr;
	char err[512], tail[256];
	uint64_t omax = mamori_task__output_max(env);
	int r;

	if (req->output_limit == 0)
		req->output_limit = MAMORI_TASK_OUTPUT_DEFAULT;
	if (req->output_limit > omax)
		req->output_limit = omax;
	if (req->timeout_seconds > MAMORI_SPAWN_TIMEOUT_MAX) {
		r = mamori_task__fail(res, MAMORI_ERR_INVALID, "timeout %u s "
		    "exceeds the maximum of %d s", req->timeout_seconds,
		    MAMORI_SPAWN_TIMEOUT_MAX);
		return r;
	}
	err[0] = '\0';
	r = mamori_spawn_run(req, &sr, err, sizeof(err));
	if (r != 0) {
		r = mamori_task__fail(res, r, "%s", err[0] != '\0' ? err :
		    mamori_strerror(r));
		goto out;
	}
	if (sr.output.len > 0) {
		if ((res->output.data = malloc(sr.output.len)) == NULL) {
			r = mamori_task__fail(res, MAMORI_ERR_ALLOC,
			    "out of memory keeping the output");
			goto out;
		}
		memcpy(res->output.data, sr.output.data, sr.output.len);
		res->output.len = sr.output.len;
	}
	res->output_truncated = sr.truncated != 0;
	res->exit_code = sr.exit_code;
	tail[0] = '\0';
	if (sr.truncated)
		(void)snprintf(tail, sizeof(tail), "; output %llu bytes, the "
		    "first %zu kept", (unsigned long long)sr.output_total,
		    sr.output.len);
	if (sr.lingered)
		(void)snprintf(tail + strlen(tail), sizeof(tail) -
		    strlen(tail), "; processes left holding its output were "
		    "killed");
	if (sr.timed_out) {
		r = mamori_task__fail(res, MAMORI_ERR_TIMEOUT, "%s timed out "
		    "after %u s; its process group was ended (exit code "
		    "%d)%s", sr.path, req->timeout_seconds != 0 ?
		    req->timeout_seconds : MAMORI_SPAWN_TIMEOUT_DEFAULT,
		    sr.exit_code, tail);
	} else if (sr.exit_code < 0) {
		r = mamori_task__fail(res, MAMORI_ERR_INTERNAL, "%s ended; its "
		    "exit status was taken by another wait in the agent%s",
		    sr.path, tail);
	} else if (sr.exit_code > 128) {
		r = mamori_task__fail(res, MAMORI_ERR_EXIT_STATUS, "%s was "
		    "killed by signal %d%s", sr.path, sr.exit_code - 128, tail);
	} else if (sr.exit_code != 0) {
		r = mamori_task__fail(res, MAMORI_ERR_EXIT_STATUS, "%s exited "
		    "with status %d%s", sr.path, sr.exit_code, tail);
	} else {
		res->status = MAMORI__TASK_RESULT__STATUS__OK;
		mamori_task__message(res, "%s exited with status 0%s",
		    sr.path, tail);
		r = 0;
	}
out:
	mamori_spawn_result_free(&sr);
	return r;
}

static int
run_command(const struct mamori_task_env *env,
    const Mamori__RunCommandParams *p, Mamori__TaskResult *res)
{
	struct mamori_spawn_request req;

	if (p->n_argv == 0)
		return mamori_task__fail(res, MAMORI_ERR_INVALID,
		    "no command given (argv is empty)");
	memset(&req, 0, sizeof(req));
	req.argv = (const char *const *)p->argv;
	req.argc = p->n_argv;
	req.timeout_seconds = p->timeout_seconds;
	req.output_limit = p->output_limit;
	return run_program(env, &req, res);
}

static int
run_script(const struct mamori_task_env *env,
    const Mamori__RunScriptParams *p, Mamori__TaskResult *res)
{
	struct mamori_spawn_request req;
	const char *argv[2];
	size_t i, len;

	for (i = 0; i < sizeof(script_interpreters) /
	    sizeof(script_interpreters[0]); i++)
		if (!is_empty_string(p->interpreter) &&
		    strcmp(p->interpreter, script_interpreters[i]) == 0)
			break;
	if (i == sizeof(script_interpreters) / sizeof(script_interpreters[0]))
		return mamori_task__fail(res, MAMORI_ERR_INVALID, "interpreter "
		    "must be one of /bin/sh, /bin/bash, /usr/bin/python3");
	len = is_empty_string(p->body) ? 0 : strlen(p->body);
	if (len > MAMORI_TASK_SCRIPT_MAX)
		return mamori_task__fail(res, MAMORI_ERR_INVALID, "script "
		    "longer than %d bytes", MAMORI_TASK_SCRIPT_MAX);
	argv[0] = script_interpreters[i];
	argv[1] = MAMORI_SPAWN_SCRIPT_PATH;
	memset(&req, 0, sizeof(req));
	req.argv = argv;
	req.argc = 2;
	req.script = len > 0 ? p->body : "";
	req.script_len = len;
	return run_program(env, &req, res);
}

int
mamori_task_package_name_check(const char *name)
{
	const char *p, *colon;
	size_t len;

	if (name == NULL)
		return MAMORI_ERR_BAD_PACKAGE;
	len = strlen(name);
	if (len < 2 || len > MAMORI_TASK_PACKAGE_NAME_MAX)
		return MAMORI_ERR_BAD_PACKAGE;
	colon = strchr(name, ':');
	if (colon == NULL)
		colon = name + len;
	if (colon - name < 2)
		return MAMORI_ERR_BAD_PACKAGE;
	if (!((name[0] >= 'a' && name[0] <= 'z') ||
	    (name[0] >= '0' && name[0] <= '9')))
		return MAMORI_ERR_BAD_PACKAGE;
	for (p = name; p < colon; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '+' || *p == '-' || *p == '.'))
			return MAMORI_ERR_BAD_PACKAGE;
	if (*colon == ':') {
		if (colon[1] == '\0')
			return MAMORI_ERR_BAD_PACKAGE;
		for (p = colon + 1; *p != '\0'; p++)
			if (!((*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '-'))
				return MAMORI_ERR_BAD_PACKAGE;
	}
	return 0;
}

static int
run_package(const struct mamori_task_env *env, const Mamori__PackageParams *p,
    int install, Mamori__TaskResult *res)
{
	static const char *const env_extra[] = {
		"DEBIAN_FRONTEND=noninteractive",
	};
	struct mamori_spawn_request req;
	const char *argv[8], *tool, *name;
	size_t n = 0;

	name = is_empty_string(p->name) ? "" : p->name;
	if (mamori_task_package_name_check(name) != 0)
		return mamori_task__fail(res, MAMORI_ERR_BAD_PACKAGE, "package "
		    "name '%.*s' is not a Debian package name (lowercase "
		    "letters, digits, '+', '-', '.', starting with a letter "
		    "or digit, optionally ':ARCH')",
		    MAMORI_TASK_PACKAGE_NAME_MAX, name);
	tool = env->package_tool != NULL ? env->package_tool :
	    MAMORI_TASK_PACKAGE_TOOL;
	if (tool[0] != '/')
		return mamori_task__fail(res, MAMORI_ERR_INVALID, "package tool "
		    "must be an absolute path");
	argv[n++] = tool;
	/* Exact names only: without this, apt-get falls back to reading a
	 * name that matches no package as a regular expression ('.' and '+'
	 * are in Debian's grammar), and "remove" would take every match. */
	argv[n++] = "-o";
	argv[n++] = "APT::Cmd::Pattern-Only=1";
	argv[n++] = install ? "install" : "remove";
	argv[n++] = "-y";
	if (install)
		argv[n++] = "--no-install-recommends";
	argv[n++] = name;
	memset(&req, 0, sizeof(req));
	req.argv = argv;
	req.argc = n;
	req.env_extra = env_extra;
	req.n_env_extra = 1;
	req.timeout_seconds = PACKAGE_TIMEOUT_SECONDS;
	return run_program(env, &req, res);
}

/* ---- KILL_PROCESS ----------------------------------------------------- */

/* Reads a small /proc file into b (capped); 0 or an error code. */
static int
proc_read(pid_t pid, const char *what, struct mamori_buf *b)
{
	char path[64];

	(void)snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return mamori_buf_read_file(b, path);
}

/* Tgid and kernel-thread flag of pid from /proc; 0 or NOT_FOUND. */
static int
proc_identity(pid_t pid, long *tgid, int *kthread)
{
	struct mamori_buf b;
	const char *s, *line;
	struct mamori_cursor c;
	size_t line_len;
	char *end;
	unsigned long flags;
	int field, r;

	*tgid = -1;
	*kthread = 0;
	mamori_buf_init(&b, PROC_STAT_MAX);
	if ((r = proc_read(pid, "stat", &b)) != 0 || b.data == NULL)
		goto out;
	r = MAMORI_ERR_NOT_FOUND;
	/* comm may hold anything, ')' included: fields follow the last. */
	if ((s = strrchr((const char *)b.data, ')')) == NULL)
		goto out;
	s++;
	for (field = 3; field < 9; field++)
		if ((s = strchr(s + 1, ' ')) == NULL)
			goto out;
	errno = 0;
	flags = strtoul(s + 1, &end, 10);
	if (errno != 0 || end == s + 1)
		goto out;
	*kthread = (flags & PF_KTHREAD_FLAG) != 0;

	mamori_buf_free(&b);
	mamori_buf_init(&b, PROC_STATUS_MAX);
	if ((r = proc_read(pid, "status", &b)) != 0)
		goto out;
	r = MAMORI_ERR_NOT_FOUND;
	mamori_cursor_init(&c, b.data, b.len);
	while (mamori_next_line(&c, &line, &line_len)) {
		if (line_len > 5 && strncmp(line, "Tgid:", 5) == 0) {
			errno = 0;
			*tgid = strtol(line + 5, &end, 10);
			if (errno == 0 && end != line + 5)
				r = 0;
			break;
		}
	}
out:
	mamori_buf_free(&b);
	return r;
}

/* The executable and command line of pid, printable, into out. */
static void
proc_describe(pid_t pid, char *exe, size_t exelen, char *cmd, size_t cmdlen)
{
	struct mamori_buf b;
	char path[64];
	ssize_t n;
	size_t i, j;

	(void)snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, exelen - 1);
	if (n < 0)
		(void)mamori_strlcpy(exe, "(executable unknown)", exelen);
	else
		exe[n] = '\0';
	for (i = 0; exe[i] != '\0'; i++)
		if ((unsigned char)exe[i] < 0x20 || exe[i] == 0x7f)
			exe[i] = '?';
	cmd[0] = '\0';
	mamori_buf_init(&b, MAMORI_TASK_CMDLINE_MAX * 4);
	if (proc_read(pid, "cmdline", &b) == 0 || b.len > 0) {
		for (i = 0, j = 0; i < b.len && j + 1 < cmdlen; i++) {
			unsigned char ch = b.data[i];

			if (ch == '\0') {
				if (i + 1 == b.len)
					break;
				ch = ' ';
			} else if (ch < 0x20 || ch == 0x7f) {
				ch = '?';
			}
			cmd[j++] = (char)ch;
		}
		cmd[j] = '\0';
	}
	mamori_buf_free(&b);
}

static int
pidfd_open_pid(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* SIGKILL through the pidfd when there is one (it names this process,
 * not whatever reuses its number). */
static int
send_kill(int pidfd, pid_t pid)
{
#ifdef SYS_pidfd_send_signal
	if (pidfd >= 0)
		return (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL,
		    0);
#else
	(void)pidfd;
#endif
	return kill(pid, SIGKILL);
}

/* 1 when pid no longer runs (gone, or a zombie). */
static int
proc_gone(pid_t pid)
{
	struct mamori_buf b;
	const char *s;
	int gone = 1;

	mamori_buf_init(&b, PROC_STAT_MAX);
	if (proc_read(pid, "stat", &b) == 0 && b.data != NULL &&
	    (s = strrchr((const char *)b.data, ')')) != NULL &&
	    s[1] == ' ' && s[2] != 'Z' && s[2] != 'X')
		gone = 0;
	mamori_buf_free(&b);
	return gone;
}

static int
kill_process(const struct mamori_task_env *env,
    const Mamori__KillProcessParams *p, Mamori__TaskResult *res)
{
	char exe[1024], cmd[MAMORI_TASK_CMDLINE_MAX + 1];
	struct pollfd pfd;
	uint64_t until;
	pid_t pid, self;
	long tgid;
	int pidfd = -1, kthread, gone = 0, r;

	self = env->agent_pid > 0 ? env->agent_pid : getpid();
	if (p->pid == 0 || p->pid > INT_MAX) {
		r = mamori_task__fail(res, MAMORI_ERR_INVALID, "refusing to "
		    "kill pid %u: not a process id", p->pid);
		goto out;
	}
	pid = (pid_t)p->pid;
	if (pid == 1) {
		r = mamori_task__fail(res, MAMORI_ERR_PERMISSION, "refusing to "
		    "kill pid 1 (init)");
		goto out;
	}
	if (pid == self) {
		r = mamori_task__fail(res, MAMORI_ERR_PERMISSION, "refusing to "
		    "kill pid %d: the agent itself", (int)pid);
		goto out;
	}
	/* Hold the process first, then look at it: a pid reused after this
	 * point is not the one the pidfd names. */
	pidfd = pidfd_open_pid(pid);
	if (pidfd < 0 && errno == ESRCH) {
		r = mamori_task__fail(res, MAMORI_ERR_NOT_FOUND, "no process "
		    "with pid %d", (int)pid);
		goto out;
	}
	if (proc_identity(pid, &tgid, &kthread) != 0) {
		r = mamori_task__fail(res, MAMORI_ERR_NOT_FOUND, "no process "
		    "with pid %d", (int)pid);
		goto out;
	}
	if (kthread) {
		r = mamori_task__fail(res, MAMORI_ERR_PERMISSION, "refusing to "
		    "kill pid %d: a kernel thread", (int)pid);
		goto out;
	}
	if (tgid == (long)self) {
		r = mamori_task__fail(res, MAMORI_ERR_PERMISSION, "refusing to "
		    "kill pid %d: a thread of the agent", (int)pid);
		goto out;
	}
	if (tgid != (long)pid) {
		r = mamori_task__fail(res, MAMORI_ERR_INVALID, "pid %d is a "
		    "thread of process %ld; kill that process instead",
		    (int)pid, tgid);
		goto out;
	}
	proc_describe(pid, exe, sizeof(exe), cmd, sizeof(cmd));
	if (send_kill(pidfd, pid) != 0) {
		r = mamori_task__fail(res, errno == ESRCH ? MAMORI_ERR_NOT_FOUND
		    : MAMORI_ERR_PERMISSION, "cannot kill pid %d (%s): %s",
		    (int)pid, exe, strerror(errno));
		goto out;
	}
	until = mamori_monotonic_ms() + MAMORI_TASK_KILL_WAIT_MS;
	while (!gone) {
		uint64_t now = mamori_monotonic_ms();

		if (pidfd >= 0) {
			pfd.fd = pidfd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			if (poll(&pfd, 1, now >= until ? 0 : (int)(until -
			    now)) > 0)
				gone = 1;
		} else {
			gone = proc_gone(pid);
			if (!gone && now < until)
				(void)poll(NULL, 0, KILL_POLL_MS);
		}
		if (now >= until)
			break;
	}
	if (!gone) {
		r = mamori_task__fail(res, MAMORI_ERR_TIMEOUT, "sent SIGKILL to "
		    "pid %d (%s: %s); still there after %d ms", (int)pid, exe,
		    cmd, MAMORI_TASK_KILL_WAIT_MS);
		goto out;
	}
	res->status = MAMORI__TASK_RESULT__STATUS__OK;
	mamori_task__message(res, "killed pid %d (%s: %s); gone", (int)pid,
	    exe, cmd);
	r = 0;
out:
	if (pidfd >= 0)
		(void)close(pidfd);
	return r;
}

/* ---- dispatch --------------------------------------------------------- */

static int
dispatch(const struct mamori_task_env *env, const Mamori__TaskBody *b,
    Mamori__TaskResult *res)
{
	Mamori__TaskBody__ParamsCase want;

	switch (b->type) {
	case MAMORI__TASK_TYPE__TASK_TYPE_USB_BLOCK:
	case MAMORI__TASK_TYPE__TASK_TYPE_USB_ALLOW:
	case MAMORI__TASK_TYPE__TASK_TYPE_ISOLATE_HOST:
	case MAMORI__TASK_TYPE__TASK_TYPE_RELEASE_HOST:
		return mamori_task__fail(res, MAMORI_ERR_UNSUPPORTED,
		    "not handled by the runner");
	case MAMORI__TASK_TYPE__TASK_TYPE_QUERY:
		want = MAMORI__TASK_BODY__PARAMS_QUERY;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_READ_FILE:
		want = MAMORI__TASK_BODY__PARAMS_READ_FILE;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_HASH_PATH:
		want = MAMORI__TASK_BODY__PARAMS_HASH_PATH;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_YARA_SCAN:
		want = MAMORI__TASK_BODY__PARAMS_YARA_SCAN;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_RUN_COMMAND:
		want = MAMORI__TASK_BODY__PARAMS_RUN_COMMAND;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_RUN_SCRIPT:
		want = MAMORI__TASK_BODY__PARAMS_RUN_SCRIPT;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_INSTALL:
		want = MAMORI__TASK_BODY__PARAMS_PACKAGE_INSTALL;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_PACKAGE_REMOVE:
		want = MAMORI__TASK_BODY__PARAMS_PACKAGE_REMOVE;
		break;
	case MAMORI__TASK_TYPE__TASK_TYPE_KILL_PROCESS:
		want = MAMORI__TASK_BODY__PARAMS_KILL_PROCESS;
		break;
	default:
		return mamori_task__fail(res, MAMORI_ERR_INVALID, "unknown task "
		    "type %d", (int)b->type);
	}
	/* The oneof pointers share storage: only the matching case is
	 * read. */
	if (b->params_case != want || b->query == NULL)
		return mamori_task__fail(res, MAMORI_ERR_INVALID, "task "
		    "parameters do not match its type");
	switch (want) {
	case MAMORI__TASK_BODY__PARAMS_QUERY:
		return run_query(env, b->query, res);
	case MAMORI__TASK_BODY__PARAMS_READ_FILE:
		return mamori_task__read_file(env, b->read_file, res);
	case MAMORI__TASK_BODY__PARAMS_HASH_PATH:
		return mamori_task__hash_path(env, b->hash_path, res);
	case MAMORI__TASK_BODY__PARAMS_YARA_SCAN:
		return mamori_task__yara_scan(env, b->yara_scan, res);
	case MAMORI__TASK_BODY__PARAMS_RUN_COMMAND:
		return run_command(env, b->run_command, res);
	case MAMORI__TASK_BODY__PARAMS_RUN_SCRIPT:
		return run_script(env, b->run_script, res);
	case MAMORI__TASK_BODY__PARAMS_PACKAGE_INSTALL:
		return run_package(env, b->package_install, 1, res);
	case MAMORI__TASK_BODY__PARAMS_PACKAGE_REMOVE:
		return run_package(env, b->package_remove, 0, res);
	case MAMORI__TASK_BODY__PARAMS_KILL_PROCESS:
		return kill_process(env, b->kill_process, res);
	default:
		return mamori_task__fail(res, MAMORI_ERR_INTERNAL,
		    "internal error");
	}
}

int
mamori_task_execute(const struct mamori_task_env *env,
    const Mamori__TaskBody *body, Mamori__TaskResult *res)
{
	static const struct mamori_task_env defaults;
	int r;

	if (res == NULL)
		return MAMORI_ERR_INVALID;
	res->started_ns = realtime_ns();
	res->status = MAMORI__TASK_RESULT__STATUS__FAILED;
	if (body == NULL)
		r = mamori_task__fail(res, MAMORI_ERR_INVALID, "no task");
	else
		r = dispatch(env != NULL ? env : &defaults, body, res);
	if (r == 0)
		res->status = MAMORI__TASK_RESULT__STATUS__OK;
	else if (res->status == MAMORI__TASK_RESULT__STATUS__OK)
		res->status = MAMORI__TASK_RESULT__STATUS__FAILED;
	res->finished_ns = realtime_ns();
	return r;
}
