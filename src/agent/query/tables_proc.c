/*
 * tables_proc.c - processes and process_open_sockets, read from
 * ROOT/proc/PID/{stat,status,cmdline,cwd,exe,root,io,cgroup,fd,ns/net}.
 *
 * Processes come and go while we read: a pid whose stat cannot be read is
 * skipped, any other file that is missing or not ours to read (another
 * user's cwd, io) leaves its columns NULL.  Every file is read with a cap
 * and every number parsed with full checks.  Nothing here may run a
 * program, signal a process, open a socket or write anything.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "parse.h"
#include "sock_table.h"
#include "tables.h"

#define QPROC_CMDLINE_MAX (128 * 1024)  /* bytes of /proc/PID/cmdline */
#define QPROC_PIDS_MAX 1000000
#define QPROC_FDS_MAX 65536             /* descriptors looked at per pid */
#define QPROC_SOCKETS_MAX 1000000       /* lines of the socket tables */
#define QPROC_NET_TABLE_MAX (64u * 1024 * 1024)

#define COLS(a) a, sizeof(a) / sizeof(a[0])
#define I MAMORI_QCOL_INT
#define T MAMORI_QCOL_TEXT

/* 1 when name is all digits (a pid directory). */
static int
is_pid(const char *name, uint64_t *pid)
{
	return mamori_parse_dec(name, strlen(name), INT32_MAX, pid) == 0 &&
	    name[0] != '\0';
}

/* A signed decimal token. */
static int
parse_signed(const struct mamori_token *t, int64_t *out)
{
	uint64_t v;

	if (t->len > 1 && t->p[0] == '-') {
		if (mamori_parse_dec(t->p + 1, t->len - 1, INT64_MAX, &v) != 0)
			return MAMORI_ERR_INVALID;
		*out = -(int64_t)v;
		return 0;
	}
	if (mamori_parse_dec(t->p, t->len, INT64_MAX, &v) != 0)
		return MAMORI_ERR_INVALID;
	*out = (int64_t)v;
	return 0;
}

/* readlink of ROOT/proc/PID/what into out; -1 when unreadable. */
static ssize_t
proc_link(const struct mamori_qctx *q, uint64_t pid, const char *what,
    char *out, size_t outlen)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	ssize_t n;

	if (mamori_collect_pathf(q->collect, path, sizeof(path),
	    "/proc/%llu/%s", (unsigned long long)pid, what) != 0)
		return -1;
	n = readlink(path, out, outlen);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	out[n] = '\0';
	return n;
}

/* Reads ROOT/proc/PID/what into b (capped at max). */
static int
proc_read(const struct mamori_qctx *q, uint64_t pid, const char *what,
    size_t max, struct mamori_buf *b)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	int r;

	if ((r = mamori_collect_pathf(q->collect, path, sizeof(path),
	    "/proc/%llu/%s", (unsigned long long)pid, what)) != 0)
		return r;
	return mamori_collect_read(path, max, b);
}

/* The value of "key:" in a status-like file, as a view. */
static int
find_field(const struct mamori_buf *b, const char *key,
    struct mamori_token *value)
{
	struct mamori_cursor c;
	struct mamori_token k;
	const char *line;
	size_t len;

	mamori_cursor_init(&c, b->data, b->len);
	while (mamori_next_line(&c, &line, &len)) {
		if (mamori_split_kv(line, len, ':', &k, value) == 0 &&
		    mamori_tok_eq(k.p, k.len, key))
			return 0;
	}
	return MAMORI_ERR_NOT_FOUND;
}

/* The boot time from ROOT/proc/stat's btime; 0 when unknown. */
static uint64_t
boot_time(const struct mamori_qctx *q)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_buf b;
	uint64_t t = 0;

	mamori_buf_init(&b, 0);
	if (mamori_collect_pathf(q->collect, path, sizeof(path),
	    "/proc/stat") == 0 &&
	    mamori_collect_read(path, MAMORI_QTEXT_FILE_MAX, &b) == 0) {
		struct mamori_cursor c;
		struct mamori_token tok[3];
		const char *line;
		size_t len;

		mamori_cursor_init(&c, b.data, b.len);
		while (mamori_next_line(&c, &line, &len)) {
			if (mamori_split_ws(line, len, tok, 3) == 2 &&
			    mamori_tok_eq(tok[0].p, tok[0].len, "btime") &&
			    mamori_parse_dec(tok[1].p, tok[1].len, UINT32_MAX,
			    &t) == 0)
				break;
		}
	}
	mamori_buf_free(&b);
	return t;
}

/* ---- processes ---------------------------------------------------------- */

enum { P_PID, P_NAME, P_PATH, P_CMDLINE, P_STATE, P_CWD, P_ROOT, P_UID,
	P_GID, P_EUID, P_EGID, P_SUID, P_SGID, P_ON_DISK, P_WIRED_SIZE,
	P_RESIDENT_SIZE, P_TOTAL_SIZE, P_USER_TIME, P_SYSTEM_TIME,
	P_DISK_BYTES_READ, P_DISK_BYTES_WRITTEN, P_START_TIME, P_PARENT,
	P_PGROUP, P_THREADS, P_NICE, P_CGROUP_PATH };
static const struct mamori_qcol proc_cols[] = {
	{"pid", I}, {"name", T}, {"path", T}, {"cmdline", T}, {"state", T},
	{"cwd", T}, {"root", T}, {"uid", I}, {"gid", I}, {"euid", I},
	{"egid", I}, {"suid", I}, {"sgid", I}, {"on_disk", I},
	{"wired_size", I}, {"resident_size", I}, {"total_size", I},
	{"user_time", I}, {"system_time", I}, {"disk_bytes_read", I},
	{"disk_bytes_written", I}, {"start_time", I}, {"parent", I},
	{"pgroup", I}, {"threads", I}, {"nice", I}, {"cgroup_path", T},
};

/* Fields of /proc/PID/stat after "(comm) ", counted from the state. */
enum { ST_STATE = 0, ST_PPID = 1, ST_PGRP = 2, ST_UTIME = 11,
	ST_STIME = 12, ST_NICE = 16, ST_THREADS = 17, ST_START = 19,
	ST_VSIZE = 20, ST_RSS = 21, ST_COUNT = 22 };

struct proc_env {
	uint64_t btime;
	long hz, page;
};

/* Sets uid..sgid columns from a "Uid:"/"Gid:" line (real, eff, saved). */
static int
ids(struct mamori_qrows *out, const struct mamori_buf *status,
    const char *key, size_t real, size_t eff, size_t saved)
{
	struct mamori_token v, tok[4];
	uint64_t id;
	size_t cols[3] = {real, eff, saved}, k;
	int r;

	if (find_field(status, key, &v) != 0 ||
	    mamori_split_ws(v.p, v.len, tok, 4) < 3)
		return 0;
	for (k = 0; k < 3; k++) {
		if (mamori_parse_dec(tok[k].p, tok[k].len, UINT32_MAX,
		    &id) != 0)
			continue;
		if ((r = mamori_qrow_int(out, cols[k], (int64_t)id)) != 0)
			return r;
	}
	return 0;
}

static int
proc_row(const struct mamori_qctx *q, const struct proc_env *env,
    uint64_t pid, struct mamori_qrows *out)
{
	struct mamori_buf b, status;
	struct mamori_token tok[ST_COUNT], v;
	char link[MAMORI_COLLECT_PATH_MAX], path[MAMORI_COLLECT_PATH_MAX];
	const char *open, *close;
	struct stat sb;
	uint64_t u[ST_COUNT];
	int64_t nice;
	ssize_t n;
	size_t i, ntok;
	int r = 0;

	mamori_buf_init(&b, 0);
	mamori_buf_init(&status, 0);
	if (proc_read(q, pid, "stat", MAMORI_COLLECT_ATTR_MAX, &b) != 0)
		goto out;               /* gone, or never was: skip */
	open = memchr(b.data, '(', b.len);
	close = NULL;
	for (i = b.len; i > 0; i--)
		if (b.data[i - 1] == ')') {
			close = (const char *)&b.data[i - 1];
			break;
		}
	if (open == NULL || close == NULL || close < open)
		goto out;
	ntok = mamori_split_ws(close + 1, (size_t)((const char *)b.data +
	    b.len - close - 1), tok, ST_COUNT);
	if (ntok < ST_COUNT)
		goto out;
	memset(u, 0, sizeof(u));
	for (i = 1; i < ST_COUNT; i++)
		if (i != ST_NICE)
			(void)mamori_parse_dec(tok[i].p, tok[i].len, INT64_MAX,
			    &u[i]);
	if ((r = mamori_qrow_add(out)) != 0 ||
	    (r = mamori_qrow_int(out, P_PID, (int64_t)pid)) != 0 ||
	    (r = mamori_qrow_textn(out, P_NAME, open + 1,
	    (size_t)(close - open - 1))) != 0 ||
	    (r = mamori_qrow_textn(out, P_STATE, tok[ST_STATE].p,
	    tok[ST_STATE].len)) != 0 ||
	    (r = mamori_qrow_int(out, P_PARENT, (int64_t)u[ST_PPID])) != 0 ||
	    (r = mamori_qrow_int(out, P_PGROUP, (int64_t)u[ST_PGRP])) != 0 ||
	    (r = mamori_qrow_int(out, P_THREADS,
	    (int64_t)u[ST_THREADS])) != 0 ||
	    (r = mamori_qrow_int(out, P_USER_TIME,
	    (int64_t)(u[ST_UTIME] * 1000 / (uint64_t)env->hz))) != 0 ||
	    (r = mamori_qrow_int(out, P_SYSTEM_TIME,
	    (int64_t)(u[ST_STIME] * 1000 / (uint64_t)env->hz))) != 0 ||
	    (r = mamori_qrow_int(out, P_WIRED_SIZE, 0)) != 0 ||
	    (r = mamori_qrow_int(out, P_TOTAL_SIZE,
	    (int64_t)u[ST_VSIZE])) != 0 ||
	    (r = mamori_qrow_int(out, P_RESIDENT_SIZE,
	    (int64_t)(u[ST_RSS] * (uint64_t)env->page))) != 0)
		goto out;
	if (parse_signed(&tok[ST_NICE], &nice) == 0 &&
	    (r = mamori_qrow_int(out, P_NICE, nice)) != 0)
		goto out;
	if (env->btime != 0 && (r = mamori_qrow_int(out, P_START_TIME,
	    (int64_t)(env->btime + u[ST_START] / (uint64_t)env->hz))) != 0)
		goto out;
	/* cmdline: NUL-separated arguments, joined with spaces. */
	if (proc_read(q, pid, "cmdline", QPROC_CMDLINE_MAX, &b) == 0) {
		while (b.len > 0 && b.data[b.len - 1] == '\0')
			b.len--;
		for (i = 0; i < b.len; i++)
			if (b.data[i] == '\0')
				b.data[i] = ' ';
		if ((r = mamori_qrow_textn(out, P_CMDLINE,
		    (const char *)b.data, b.len)) != 0)
			goto out;
	} else if ((r = mamori_qrow_text(out, P_CMDLINE, "")) != 0)
		goto out;
	if (proc_read(q, pid, "status", MAMORI_QTEXT_FILE_MAX, &status) == 0 &&
	    ((r = ids(out, &status, "Uid", P_UID, P_EUID, P_SUID)) != 0 ||
	    (r = ids(out, &status, "Gid", P_GID, P_EGID, P_SGID)) != 0))
		goto out;
	/* exe: on_disk 1 when the file is still there, 0 when deleted, -1
	 * when unknown (a kernel thread, another user's process). */
	if ((n = proc_link(q, pid, "exe", link, sizeof(link))) > 0) {
		int deleted = (size_t)n > 10 &&
		    strcmp(link + n - 10, " (deleted)") == 0;

		if ((r = mamori_qrow_textn(out, P_PATH, link, deleted ?
		    (size_t)n - 10 : (size_t)n)) != 0)
			goto out;
		if (!deleted && mamori_collect_pathf(q->collect, path,
		    sizeof(path), "%s", link) == 0)
			deleted = stat(path, &sb) != 0;
		if ((r = mamori_qrow_int(out, P_ON_DISK, deleted ? 0 : 1)) != 0)
			goto out;
	} else if ((r = mamori_qrow_text(out, P_PATH, "")) != 0 ||
	    (r = mamori_qrow_int(out, P_ON_DISK, -1)) != 0)
		goto out;
	if (proc_link(q, pid, "cwd", link, sizeof(link)) > 0 &&
	    (r = mamori_qrow_text(out, P_CWD, link)) != 0)
		goto out;
	if (proc_link(q, pid, "root", link, sizeof(link)) > 0 &&
	    (r = mamori_qrow_text(out, P_ROOT, link)) != 0)
		goto out;
	if (proc_read(q, pid, "io", MAMORI_COLLECT_ATTR_MAX, &b) == 0) {
		uint64_t bytes;

		if (find_field(&b, "read_bytes", &v) == 0 &&
		    mamori_parse_dec(v.p, v.len, INT64_MAX, &bytes) == 0 &&
		    (r = mamori_qrow_int(out, P_DISK_BYTES_READ,
		    (int64_t)bytes)) != 0)
			goto out;
		if (find_field(&b, "write_bytes", &v) == 0 &&
		    mamori_parse_dec(v.p, v.len, INT64_MAX, &bytes) == 0 &&
		    (r = mamori_qrow_int(out, P_DISK_BYTES_WRITTEN,
		    (int64_t)bytes)) != 0)
			goto out;
	}
	/* cgroup v2: the "0::PATH" line. */
	if (proc_read(q, pid, "cgroup", MAMORI_COLLECT_ATTR_MAX, &b) == 0) {
		struct mamori_cursor c;
		const char *line;
		size_t len;

		mamori_cursor_init(&c, b.data, b.len);
		while (mamori_next_line(&c, &line, &len)) {
			if (len >= 3 && memcmp(line, "0::", 3) == 0) {
				if ((r = mamori_qrow_textn(out, P_CGROUP_PATH,
				    line + 3, len - 3)) != 0)
					goto out;
				break;
			}
		}
	}
out:
	mamori_buf_free(&b);
	mamori_buf_free(&status);
	return r;
}

static void
proc_env_init(const struct mamori_qctx *q, struct proc_env *env)
{
	env->btime = boot_time(q);
	env->hz = sysconf(_SC_CLK_TCK);
	env->page = sysconf(_SC_PAGESIZE);
	if (env->hz <= 0)
		env->hz = 100;
	if (env->page <= 0)
		env->page = 4096;
}

static int
gen_processes(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names names = {NULL, 0};
	struct proc_env env;
	uint64_t pid;
	size_t i;
	int r;

	proc_env_init(q, &env);
	if (key == P_PID) {
		if (!is_pid(value, &pid))
			return 0;
		return proc_row(q, &env, pid, out);
	}
	if ((r = mamori_collect_pathf(q->collect, path, sizeof(path),
	    "/proc")) != 0)
		return r;
	if ((r = mamori_list_dir(path, QPROC_PIDS_MAX, &names)) != 0)
		return r;
	for (i = 0; i < names.n && r == 0; i++) {
		if (!is_pid(names.v[i], &pid))
			continue;
		if (mamori_qctx_expired(q))
			r = MAMORI_ERR_TIMEOUT;
		else
			r = proc_row(q, &env, pid, out);
	}
	mamori_names_free(&names);
	return r;
}

const struct mamori_qtable mamori_qtable_processes = {
	"processes", COLS(proc_cols), {P_PID, -1}, 0, gen_processes,
};

/* ---- process_open_sockets ----------------------------------------------- */

enum { S_PID, S_FD, S_SOCKET, S_FAMILY, S_PROTOCOL, S_LOCAL_ADDRESS,
	S_REMOTE_ADDRESS, S_LOCAL_PORT, S_REMOTE_PORT, S_PATH, S_STATE,
	S_NET_NAMESPACE };
static const struct mamori_qcol sock_cols[] = {
	{"pid", I}, {"fd", I}, {"socket", I}, {"family", I}, {"protocol", I},
	{"local_address", T}, {"remote_address", T}, {"local_port", I},
	{"remote_port", I}, {"path", T}, {"state", T}, {"net_namespace", T},
};

struct sock_list {
	struct mamori_sock_entry *v;
	size_t n, cap;
};

static int
sock_collect(void *arg, const struct mamori_sock_entry *e)
{
	struct sock_list *l = arg;
	struct mamori_sock_entry *grown;
	size_t cap;

	if (e->inode == 0)
		return 0;
	if (l->n >= QPROC_SOCKETS_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 64 : l->cap * 2;
		if ((grown = realloc(l->v, cap * sizeof(*grown))) == NULL)
			return MAMORI_ERR_ALLOC;
		l->v = grown;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
	return 0;
}

static int
sock_cmp(const void *a, const void *b)
{
	const struct mamori_sock_entry *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static const char *
tcp_state(uint8_t s)
{
	static const char *const names[] = {"", "ESTABLISHED", "SYN_SENT",
	    "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
	    "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};

	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "";
}

static int
sock_rows_for(const struct mamori_qctx *q, const struct sock_list *l,
    uint64_t pid, struct mamori_qrows *out)
{
	char path[MAMORI_COLLECT_PATH_MAX], link[64], ns[64];
	struct mamori_names fds = {NULL, 0};
	struct mamori_sock_entry key, *e;
	const char *nsnum = "";
	uint64_t fd, inode;
	ssize_t n;
	size_t i, len;
	int r = 0;

	if (mamori_collect_pathf(q->collect, path, sizeof(path),
	    "/proc/%llu/fd", (unsigned long long)pid) != 0 ||
	    mamori_list_dir(path, QPROC_FDS_MAX, &fds) != 0)
		return 0;               /* gone, or not ours to read */
	if (proc_link(q, pid, "ns/net", ns, sizeof(ns)) > 0 &&
	    strncmp(ns, "net:[", 5) == 0 && (len = strlen(ns)) > 6) {
		ns[len - 1] = '\0';
		nsnum = ns + 5;
	}
	for (i = 0; i < fds.n && r == 0; i++) {
		if (!is_pid(fds.v[i], &fd))
			continue;
		if (mamori_collect_pathf(q->collect, path, sizeof(path),
		    "/proc/%llu/fd/%s", (unsigned long long)pid,
		    fds.v[i]) != 0)
			continue;
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 10 || strncmp(link, "socket:[", 8) != 0 ||
		    link[n - 1] != ']')
			continue;
		if (mamori_parse_dec(link + 8, (size_t)n - 9, UINT64_MAX,
		    &inode) != 0)
			continue;
		key.inode = inode;
		e = bsearch(&key, l->v, l->n, sizeof(*l->v), sock_cmp);
		if (e == NULL)
			continue;       /* unix, netlink, ... */
		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_int(out, S_PID, (int64_t)pid)) != 0 ||
		    (r = mamori_qrow_int(out, S_FD, (int64_t)fd)) != 0 ||
		    (r = mamori_qrow_int(out, S_SOCKET,
		    (int64_t)inode)) != 0 ||
		    (r = mamori_qrow_int(out, S_FAMILY,
		    strchr(e->protocol, '6') != NULL ? 10 : 2)) != 0 ||
		    (r = mamori_qrow_int(out, S_PROTOCOL,
		    e->tcp ? 6 : 17)) != 0 ||
		    (r = mamori_qrow_text(out, S_LOCAL_ADDRESS,
		    e->local)) != 0 ||
		    (r = mamori_qrow_text(out, S_REMOTE_ADDRESS,
		    e->remote)) != 0 ||
		    (r = mamori_qrow_int(out, S_LOCAL_PORT,
		    e->local_port)) != 0 ||
		    (r = mamori_qrow_int(out, S_REMOTE_PORT,
		    e->remote_port)) != 0 ||
		    (r = mamori_qrow_text(out, S_PATH, "")) != 0 ||
		    (r = mamori_qrow_text(out, S_STATE,
		    e->tcp ? tcp_state(e->state) : "")) != 0 ||
		    (r = mamori_qrow_text(out, S_NET_NAMESPACE, nsnum)) != 0)
			break;
	}
	mamori_names_free(&fds);
	return r;
}

/* inet sockets only (tcp, tcp6, udp, udp6 of the namespace ROOT/proc/net
 * shows); unix and raw sockets are not listed. */
static int
gen_open_sockets(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	static const char *const protos[] = {"tcp", "tcp6", "udp", "udp6"};
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names names = {NULL, 0};
	struct sock_list l = {NULL, 0, 0};
	struct mamori_buf b;
	uint64_t pid;
	size_t i;
	int r = 0;

	mamori_buf_init(&b, 0);
	for (i = 0; i < 4; i++) {
		if ((r = mamori_collect_pathf(q->collect, path, sizeof(path),
		    "/proc/net/%s", protos[i])) != 0)
			goto out;
		if (mamori_collect_read(path, QPROC_NET_TABLE_MAX, &b) != 0)
			continue;
		if ((r = mamori_sock_table_parse((const char *)b.data, b.len,
		    protos[i], sock_collect, &l)) != 0)
			goto out;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), sock_cmp);
	if (key == S_PID) {
		if (is_pid(value, &pid))
			r = sock_rows_for(q, &l, pid, out);
		goto out;
	}
	if ((r = mamori_collect_pathf(q->collect, path, sizeof(path),
	    "/proc")) != 0 ||
	    (r = mamori_list_dir(path, QPROC_PIDS_MAX, &names)) != 0)
		goto out;
	for (i = 0; i < names.n && r == 0; i++) {
		if (!is_pid(names.v[i], &pid))
			continue;
		if (mamori_qctx_expired(q))
			r = MAMORI_ERR_TIMEOUT;
		else
			r = sock_rows_for(q, &l, pid, out);
	}
out:
	mamori_names_free(&names);
	mamori_buf_free(&b);
	free(l.v);
	return r;
}

const struct mamori_qtable mamori_qtable_process_open_sockets = {
	"process_open_sockets", COLS(sock_cols), {S_PID, -1}, 0,
	gen_open_sockets,
};
