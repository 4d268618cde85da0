/*
 * process.c - the process event source: a START for every program the host
 * runs (every successful execve and execveat), with its full command line,
 * and an END for every process that ends, with its exit code.
 *
 * STARTs come from the kernel audit subsystem (NETLINK_AUDIT).  The source
 * makes itself the audit daemon (AUDIT_SET pid; it refuses, with a log
 * line, when another audit daemon holds that place), enables audit and
 * raises the kernel's backlog limit if needed, and adds one "always,exit"
 * rule per architecture of the machine for execve and execveat, keyed
 * PROC_RULE_KEY.  The kernel then writes, for every exec, the SYSCALL,
 * EXECVE (the arguments, copied from the new process's memory inside the
 * exec itself, so even a process that lives a microsecond is seen whole),
 * CWD, PATH and PROCTITLE records and an EOE; audit_parse.c assembles them.
 * Reading /proc/PID/cmdline after a proc connector exec event instead would
 * miss most short-lived processes.
 *
 * ENDs come from the proc connector (NETLINK_CONNECTOR, PROC_EVENT_EXIT).
 * They are held back PROC_EXIT_DELAY_MS, because the audit records of an
 * exec travel through the kernel's kauditd thread and often arrive after
 * the exit of a short process: so an END normally follows its START, and
 * carries the executable the START put in the pid cache.  exit_code is the
 * exit status (0-255), or minus the signal number when a signal ended the
 * process.
 *
 * Sizes: the audit socket's receive buffer is forced to PROC_AUDIT_RCVBUF
 * and the kernel backlog to PROC_BACKLOG_LIMIT, so bursts wait in the
 * kernel instead of being lost; when the kernel still drops records its
 * "lost" counter grows, and the source says so with a LossEvent ("audit
 * records lost: N").  An overflow of either socket, a record group the
 * parser refuses, and a pending-group table overflow are reported the same
 * way.  No loss is silent.
 *
 * What can still be missed or be wrong:
 * - execs while the agent is not running, or while another audit daemon
 *   holds the audit socket (the source does not start then);
 * - records the kernel drops anyway (backlog full past its wait time,
 *   audit rate limit, out of memory): counted, reported as a LossEvent,
 *   but which processes they were is unknown;
 * - processes that end without ever calling exec (a forked child) have an
 *   END but no START; their END names the executable of the parent they
 *   were forked from when the source knew it;
 * - an END whose START arrives more than PROC_EXIT_DELAY_MS later (a burst
 *   that backs up kauditd) comes first and may lack the executable;
 * - END events lost when the proc connector's socket overflows (reported
 *   as a LossEvent without a count: the kernel does not tell);
 * - parent_executable and parent_command_line are read from /proc when the
 *   parent was not seen starting, so a parent that already exited or
 *   exec'd since is missing or wrong; sha256 is of the file at the path
 *   now (skipped when its inode is not the one the kernel executed, or it
 *   is larger than the hashing limit), so a file rewritten in place since
 *   the exec is hashed as it is now;
 * - arguments past MAMORI_AUDIT_ARGS_MAX or MAMORI_AUDIT_ARGV_BYTES_MAX
 *   are not kept (the command line then ends in " [truncated]"); bytes that
 *   are not UTF-8 are replaced by '?'.
 *
 * This file must never run a program, never block the loop except for the
 * bounded request/reply exchanges with the kernel at start and stop, never
 * trust a netlink message that does not come from the kernel, and never
 * leave its audit rules or the audit pid behind on stop.  Records of other
 * kinds that reach the audit daemon (logins, config changes) are dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

#include <openssl/evp.h>

#include "audit_parse.h"
#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "source.h"
#include "util.h"

#define PROC_RULE_KEY "mamori-process"
#define PROC_AUDIT_RCVBUF (8 * 1024 * 1024)   /* the kernel doubles it */
#define PROC_CN_RCVBUF (4 * 1024 * 1024)
#define PROC_AUDIT_MSG_MAX (16 * 1024)        /* > one audit record */
#define PROC_CN_MSG_MAX 4096
#define PROC_REQUEST_MAX 2048                 /* one request we send */
#define PROC_READ_BATCH 1024                  /* messages per wakeup */
/* After a wakeup, both sockets rest this long before the next: one exec
 * is several audit records arriving one by one, and a wakeup per record
 * was most of the agent's CPU.  The receive buffers above hold far more
 * than arrives meanwhile, and every record carries its own time. */
#define PROC_COALESCE_MS 20
#define PROC_REPLY_TIMEOUT_MS 2000
#define PROC_BACKLOG_LIMIT 8192               /* as auditd's -b */
#define PROC_PENDING_MAX 64                   /* exec groups being read */
#define PROC_GROUP_TIMEOUT_MS 2000            /* a group without its EOE */
#define PROC_STATUS_INTERVAL_MS 1000          /* AUDIT_GET: lost counter */
#define PROC_EXIT_DELAY_MS 250
#define PROC_EXIT_QUEUE_MAX 8192
#define PROC_PID_SLOTS 65536                  /* pid cache, direct-mapped */
#define PROC_IMAGE_BYTES_MAX (32 * 1024 * 1024) /* its strings, in total */
#define PROC_CACHE_CMDLINE_MAX 4096           /* a command line it keeps */
#define PROC_HASH_SLOTS 4096                  /* sha256 cache */
#define PROC_USERS_MAX 65536
#define PROC_PASSWD_MAX (8 * 1024 * 1024)
#define PROC_PASSWD_RECHECK_MS 5000
#define PROC_PATH_MAX 4352                    /* root + a PATH_MAX path */
#define PROC_REASON_MAX 128

#define NS_PER_SEC 1000000000ULL
#define NS_PER_MS 1000000ULL

/* One rule per architecture: its AUDIT_ARCH and its execve, execveat. */
struct rule_arch {
	const char *name;
	uint32_t arch;
	int nr[2];
	int required;           /* the native one; the compat one may fail */
};

static const struct rule_arch rule_arches[] = {
#if defined(__x86_64__)
	{"b64", AUDIT_ARCH_X86_64, {59, 322}, 1},
	{"b32", AUDIT_ARCH_I386, {11, 358}, 0},
#elif defined(__aarch64__)
	{"b64", AUDIT_ARCH_AARCH64, {221, 281}, 1},
	{"b32", AUDIT_ARCH_ARM, {11, 387}, 0},
#else
#error "process source: add this architecture's execve numbers"
#endif
};
#define N_ARCHES (sizeof(rule_arches) / sizeof(rule_arches[0]))

/* What a pid ran, shared by a process and the children it forked. */
struct proc_image {
	unsigned refs;
	size_t bytes;
	char *exe;
	char *cmdline;
};

struct pid_slot {
	uint32_t pid;
	struct proc_image *img;         /* NULL: slot empty */
};

struct hash_slot {
	int used;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	char hex[2 * MAMORI_SHA256_LEN + 1];
};

struct user_entry {
	uint32_t uid;
	size_t line;            /* order in the file: the first one wins */
	char *name;
};

struct pending {
	int used;
	uint64_t born_ms;
	struct mamori_audit_exec x;
};

struct proc_exit {
	uint32_t pid, ppid;
	int32_t code;
	uint64_t time_ns;
	uint64_t due_ms;
};

struct proc_state {
	struct mamori_source_ctx ctx;
	uint64_t hash_max;
	int audit_fd, cn_fd;
	struct event *audit_ev, *cn_ev, *status_ev, *exit_ev;
	struct event *resume_ev;        /* re-arms audit_ev and cn_ev */
	uint32_t seq;
	int stopping;
	/* what start changed, undone by stop */
	int registered;
	int rule_added[N_ARCHES];
	int restore_enabled, restore_backlog;
	uint32_t old_enabled, old_backlog;
	int cn_listening;
	/* audit status */
	uint32_t lost_seen;
	int takeover_said;
	/* exec groups being assembled */
	struct pending pend[PROC_PENDING_MAX];
	/* ENDs held back */
	struct proc_exit *exits;
	size_t exit_head, n_exits;
	/* caches */
	struct pid_slot *pids;
	size_t image_bytes;
	struct hash_slot *hashes;
	struct user_entry *users;
	size_t n_users;
	struct stat passwd_st;
	int have_passwd;
	uint64_t passwd_checked_ms;
	uint8_t *rbuf;
};

static void process_stop(void *state);

/* ---- small helpers ------------------------------------------------------ */

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* out = ctx root + the formatted host path. */
static int
host_path(const struct proc_state *st, char *out, size_t outlen,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
host_path(const struct proc_state *st, char *out, size_t outlen,
    const char *fmt, ...)
{
	size_t rootlen;
	va_list ap;
	int n;

	rootlen = mamori_strlcpy(out, st->ctx.root != NULL ? st->ctx.root : "",
	    outlen);
	if (rootlen >= outlen)
		return MAMORI_ERR_TOO_LARGE;
	va_start(ap, fmt);
	n = vsnprintf(out + rootlen, outlen - rootlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - rootlen)
		return MAMORI_ERR_TOO_LARGE;
	return 0;
}

/* Sets a string field to (s, len), with what is not UTF-8 made '?'. */
static int
set_text(char **field, const char *s, size_t len)
{
	int r;

	if ((r = mamori_event_set_strn(field, s, len)) != 0)
		return r;
	mamori_audit_text_fix(*field, len);
	return 0;
}

static void
emit(struct proc_state *st, Mamori__Event *ev)
{
	int r;

	if ((r = st->ctx.emit(st->ctx.sink, ev)) != 0)
		log_warn("process source: an event was not spooled: %s",
		    mamori_strerror(r));
}

/* Emits a LossEvent; count 0 when the number is unknown. */
static void
emit_loss(struct proc_state *st, uint64_t count, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
emit_loss(struct proc_state *st, uint64_t count, const char *fmt, ...)
{
	char reason[PROC_REASON_MAX];
	Mamori__Event *ev;
	va_list ap;

	if (st->stopping)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	log_warn("process source: %s", reason);
	if ((ev = mamori_event_new(MAMORI__EVENT__BODY_LOSS)) == NULL)
		return;
	ev->loss->count = count;
	if (mamori_event_set_str(&ev->loss->reason, reason) != 0) {
		mamori_event_free(ev);
		return;
	}
	emit(st, ev);
}

/* Reads at most cap bytes of a file (a /proc one) into out. */
static int
read_prefix(const char *path, char *out, size_t cap, size_t *len)
{
	ssize_t n;
	int fd = -1, r = MAMORI_ERR_INTERNAL;

	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	while (*len < cap) {
		n = read(fd, out + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = MAMORI_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* ---- pid cache ---------------------------------------------------------- */

static void
image_unref(struct proc_state *st, struct proc_image *img)
{
	if (img == NULL || --img->refs > 0)
		return;
	st->image_bytes -= img->bytes;
	free(img->exe);
	free(img->cmdline);
	free(img);
}

/* A new image with one reference, or NULL (no memory, over the budget).
 * The command line is cut at PROC_CACHE_CMDLINE_MAX. */
static struct proc_image *
image_new(struct proc_state *st, const char *exe, size_t exe_len,
    const char *cmd, size_t cmd_len)
{
	struct proc_image *img = NULL;
	size_t bytes;

	if (cmd_len > PROC_CACHE_CMDLINE_MAX)
		cmd_len = PROC_CACHE_CMDLINE_MAX;
	bytes = sizeof(*img) + exe_len + cmd_len + 2;
	if (bytes > PROC_IMAGE_BYTES_MAX - st->image_bytes)
		goto fail;
	if ((img = calloc(1, sizeof(*img))) == NULL ||
	    (img->exe = mamori_memdup_str(exe, exe_len)) == NULL ||
	    (img->cmdline = mamori_memdup_str(cmd, cmd_len)) == NULL)
		goto fail;
	mamori_audit_text_fix(img->exe, strlen(img->exe));
	mamori_audit_text_fix(img->cmdline, strlen(img->cmdline));
	img->refs = 1;
	img->bytes = bytes;
	st->image_bytes += bytes;
	return img;
fail:
	if (img != NULL) {
		free(img->exe);
		free(img);
	}
	return NULL;
}

static struct pid_slot *
pid_slot(struct proc_state *st, uint32_t pid)
{
	return &st->pids[pid % PROC_PID_SLOTS];
}

static struct proc_image *
pid_get(struct proc_state *st, uint32_t pid)
{
	struct pid_slot *s = pid_slot(st, pid);

	return s->img != NULL && s->pid == pid ? s->img : NULL;
}

/* Points pid at img (taking a reference; NULL clears). */
static void
pid_set(struct proc_state *st, uint32_t pid, struct proc_image *img)
{
	struct pid_slot *s = pid_slot(st, pid);

	if (img != NULL)
		img->refs++;
	image_unref(st, s->img);
	s->pid = pid;
	s->img = img;
}

/* What /proc says pid runs now, cached; NULL when it cannot be read. */
static struct proc_image *
pid_from_proc(struct proc_state *st, uint32_t pid)
{
	char path[PROC_PATH_MAX], exe[PROC_PATH_MAX];
	char cmd[PROC_CACHE_CMDLINE_MAX];
	struct proc_image *img;
	size_t cmd_len = 0, i;
	ssize_t n;

	if (pid == 0)
		return NULL;
	if (host_path(st, path, sizeof(path), "/proc/%u/exe", pid) != 0 ||
	    (n = readlink(path, exe, sizeof(exe) - 1)) < 0)
		n = 0;          /* kernel threads and zombies have none */
	if (host_path(st, path, sizeof(path), "/proc/%u/cmdline", pid) != 0 ||
	    read_prefix(path, cmd, sizeof(cmd), &cmd_len) != 0) {
		if (n == 0)
			return NULL;
		cmd_len = 0;
	}
	for (i = 0; i < cmd_len; i++)
		if (cmd[i] == '\0')
			cmd[i] = ' ';
	while (cmd_len > 0 && cmd[cmd_len - 1] == ' ')
		cmd_len--;
	if ((n == 0 && cmd_len == 0) ||
	    (img = image_new(st, exe, (size_t)n, cmd, cmd_len)) == NULL)
		return NULL;
	pid_set(st, pid, img);
	image_unref(st, img);
	return img;
}

/* ---- user names --------------------------------------------------------- */

static void
users_free(struct proc_state *st)
{
	size_t i;

	for (i = 0; i < st->n_users; i++)
		free(st->users[i].name);
	free(st->users);
	st->users = NULL;
	st->n_users = 0;
}

static int
user_cmp(const void *a, const void *b)
{
	const struct user_entry *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Reads name:x:uid lines of /etc/passwd; the first entry of a uid wins. */
static int
users_load(struct proc_state *st, const char *path)
{
	struct user_entry *v = NULL, *grown;
	struct mamori_cursor c;
	struct mamori_buf b;
	const char *line, *f1, *f2, *f3;
	size_t len, n = 0, i, j;
	uint64_t uid;
	char num[24];
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, PROC_PASSWD_MAX);
	if ((r = mamori_buf_read_file(&b, path)) != 0)
		goto out;
	mamori_cursor_init(&c, b.data, b.len);
	while (mamori_next_line(&c, &line, &len) == 1 && n < PROC_USERS_MAX) {
		if ((f1 = memchr(line, ':', len)) == NULL || f1 == line ||
		    (f2 = memchr(f1 + 1, ':', len - (size_t)(f1 + 1 - line))) ==
		    NULL ||
		    (f3 = memchr(f2 + 1, ':', len - (size_t)(f2 + 1 - line))) ==
		    NULL || (size_t)(f3 - f2 - 1) >= sizeof(num) ||
		    memchr(line, '\0', (size_t)(f1 - line)) != NULL)
			continue;
		memcpy(num, f2 + 1, (size_t)(f3 - f2 - 1));
		num[f3 - f2 - 1] = '\0';
		if (mamori_parse_u64(num, 0, UINT32_MAX, &uid) != 0)
			continue;
		if ((grown = realloc(v, (n + 1) * sizeof(*v))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		v = grown;
		if ((v[n].name = mamori_memdup_str(line, (size_t)(f1 - line))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		mamori_audit_text_fix(v[n].name, strlen(v[n].name));
		v[n].uid = (uint32_t)uid;
		v[n].line = n;
		n++;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), user_cmp);
	for (i = 0, j = 0; i < n; i++) {
		if (j > 0 && v[j - 1].uid == v[i].uid) {
			free(v[i].name);
			continue;
		}
		v[j++] = v[i];
	}
	users_free(st);
	st->users = v;
	st->n_users = j;
	v = NULL;
	n = 0;
	r = 0;
out:
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	mamori_buf_free(&b);
	return r;
}

/* The name of uid from /etc/passwd (reread when it changed); NULL when
 * unknown.  Valid until the next call. */
static const char *
user_name(struct proc_state *st, uint32_t uid)
{
	char path[PROC_PATH_MAX];
	struct stat sb;
	size_t lo = 0, hi, mid;
	uint64_t now = mamori_monotonic_ms();

	if (!st->have_passwd || now - st->passwd_checked_ms >=
	    PROC_PASSWD_RECHECK_MS) {
		st->passwd_checked_ms = now;
		if (host_path(st, path, sizeof(path), "/etc/passwd") == 0 &&
		    stat(path, &sb) == 0 && (!st->have_passwd ||
		    sb.st_ino != st->passwd_st.st_ino ||
		    sb.st_size != st->passwd_st.st_size ||
		    sb.st_mtim.tv_sec != st->passwd_st.st_mtim.tv_sec ||
		    sb.st_mtim.tv_nsec != st->passwd_st.st_mtim.tv_nsec) &&
		    users_load(st, path) == 0) {
			st->passwd_st = sb;
			st->have_passwd = 1;
		}
	}
	hi = st->n_users;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (st->users[mid].uid == uid)
			return st->users[mid].name;
		if (st->users[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- executable hashes -------------------------------------------------- */

static size_t
hash_index(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)dev * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ino;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)(h % PROC_HASH_SLOTS);
}

static int
hash_fd(int fd, char hex[2 * MAMORI_SHA256_LEN + 1])
{
	uint8_t md[MAMORI_SHA256_LEN];
	int r;

	if ((r = mamori_sha256_fd(fd, 0, md)) == 0)
		mamori_hex(md, sizeof(md), hex);
	return r;
}

/*
 * The sha256 of the executable x ran, into hex ("" when not known).  The
 * file is opened once and checked with fstat: it must be a regular file
 * within the hashing limit and, when the kernel reported PATH items, one
 * of the inodes it executed.  Cached by (dev, inode, size, mtime, ctime):
 * ctime cannot be set back by a user, so a file changed in place with its
 * mtime restored is hashed again.
 */
static void
exe_hash(struct proc_state *st, const struct mamori_audit_exec *x,
    char hex[2 * MAMORI_SHA256_LEN + 1])
{
	char path[PROC_PATH_MAX];
	struct hash_slot *h;
	struct stat sb;
	size_t i;
	int fd = -1, match;

	hex[0] = '\0';
	if (x->exe == NULL || x->exe[0] != '/' ||
	    host_path(st, path, sizeof(path), "%s", x->exe) != 0)
		goto out;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0
	    || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (uint64_t)sb.st_size > st->hash_max)
		goto out;
	/* Under a test root the kernel's inodes are not those files'. */
	if (x->n_path > 0 && (st->ctx.root == NULL || st->ctx.root[0] == '\0')) {
		match = 0;
		for (i = 0; i < x->n_path && !match; i++)
			match = x->path[i].inode == (uint64_t)sb.st_ino &&
			    makedev(x->path[i].dev_major,
			    x->path[i].dev_minor) == sb.st_dev;
		if (!match)
			goto out;       /* replaced since the exec */
	}
	h = &st->hashes[hash_index(sb.st_dev, sb.st_ino)];
	if (h->used && h->dev == sb.st_dev && h->ino == sb.st_ino &&
	    h->size == sb.st_size &&
	    h->mtime.tv_sec == sb.st_mtim.tv_sec &&
	    h->mtime.tv_nsec == sb.st_mtim.tv_nsec &&
	    h->ctime.tv_sec == sb.st_ctim.tv_sec &&
	    h->ctime.tv_nsec == sb.st_ctim.tv_nsec) {
		memcpy(hex, h->hex, sizeof(h->hex));
		goto out;
	}
	if (hash_fd(fd, hex) != 0) {
		hex[0] = '\0';
		goto out;
	}
	h->used = 1;
	h->dev = sb.st_dev;
	h->ino = sb.st_ino;
	h->size = sb.st_size;
	h->mtime = sb.st_mtim;
	h->ctime = sb.st_ctim;
	memcpy(h->hex, hex, sizeof(h->hex));
out:
	if (fd >= 0)
		close(fd);
}

/* ---- START -------------------------------------------------------------- */

static int
emit_start(struct proc_state *st, const struct mamori_audit_exec *x)
{
	char hex[2 * MAMORI_SHA256_LEN + 1];
	Mamori__Event *ev = NULL;
	Mamori__ProcessEvent *pe;
	struct proc_image *parent, *img;
	const char *name;
	char *cmdline = NULL;
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	if ((ev = mamori_event_new(MAMORI__EVENT__BODY_PROCESS)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	ev->time_ns = x->id.sec * NS_PER_SEC + x->id.msec * NS_PER_MS;
	pe = ev->process;
	pe->action = MAMORI__PROCESS_EVENT__ACTION__START;
	pe->pid = x->pid;
	pe->ppid = x->ppid;
	pe->uid = x->uid;
	pe->euid = x->euid;
	if ((r = mamori_audit_command_line(x, &cmdline)) != 0 ||
	    (r = set_text(&pe->command_line, cmdline, strlen(cmdline))) != 0)
		goto out;
	for (i = 0; i < x->n_args; i++) {
		if ((r = mamori_event_add_str(&pe->args, &pe->n_args,
		    MAMORI_AUDIT_ARGS_MAX, x->args[i], strlen(x->args[i]))) != 0)
			goto out;
		mamori_audit_text_fix(pe->args[i], strlen(pe->args[i]));
	}
	if (x->exe != NULL &&
	    (r = set_text(&pe->executable, x->exe, strlen(x->exe))) != 0)
		goto out;
	if (x->cwd != NULL && (r = set_text(&pe->working_directory, x->cwd,
	    strlen(x->cwd))) != 0)
		goto out;
	if (x->tty != NULL &&
	    (r = set_text(&pe->tty, x->tty, strlen(x->tty))) != 0)
		goto out;
	if ((name = user_name(st, x->uid)) != NULL &&
	    (r = mamori_event_set_str(&pe->user_name, name)) != 0)
		goto out;
	exe_hash(st, x, hex);
	if (hex[0] != '\0' && (r = mamori_event_set_str(&pe->sha256, hex)) != 0)
		goto out;
	/* The parent as the source last saw it, else as /proc has it now. */
	if ((parent = pid_get(st, x->ppid)) == NULL)
		parent = pid_from_proc(st, x->ppid);
	if (parent != NULL &&
	    ((r = mamori_event_set_str(&pe->parent_executable,
	    parent->exe)) != 0 ||
	    (r = mamori_event_set_str(&pe->parent_command_line,
	    parent->cmdline)) != 0))
		goto out;
	/* From now on pid runs this. */
	img = image_new(st, pe->executable, strlen(pe->executable),
	    pe->command_line, strlen(pe->command_line));
	pid_set(st, x->pid, img);
	image_unref(st, img);
	emit(st, ev);
	ev = NULL;
	r = 0;
out:
	free(cmdline);
	mamori_event_free(ev);
	return r;
}

/* ---- audit records ------------------------------------------------------ */

static void
pending_finish(struct proc_state *st, struct pending *g, const char *why)
{
	int r;

	if ((r = mamori_audit_exec_finish(&g->x)) < 0)
		emit_loss(st, 1, "audit record unreadable (%s): a process "
		    "start was lost", mamori_errname(r));
	else if (r == 1 && !st->stopping &&
	    (r = emit_start(st, &g->x)) != 0)
		emit_loss(st, 1, "process start not reported: %s",
		    mamori_strerror(r));
	if (why != NULL)
		log_debug("process source: audit event %llu ended without "
		    "EOE (%s)", (unsigned long long)g->x.id.serial, why);
	mamori_audit_exec_free(&g->x);
	g->used = 0;
}

static int
is_exec_record(unsigned type)
{
	return type == AUDIT_SYSCALL || type == AUDIT_EXECVE ||
	    type == AUDIT_CWD || type == AUDIT_PATH ||
	    type == AUDIT_PROCTITLE || type == AUDIT_EOE;
}

static void
audit_record(struct proc_state *st, unsigned type, const char *text,
    size_t len)
{
	struct mamori_audit_id id;
	struct pending *g, *match = NULL, *free_slot = NULL, *oldest = NULL;
	const char *body;
	size_t body_len, i;
	int r;

	if (!is_exec_record(type))
		return;
	if (mamori_audit_header(text, len, &id, &body, &body_len) != 0) {
		emit_loss(st, 0, "audit record without a readable id dropped");
		return;
	}
	for (i = 0; i < PROC_PENDING_MAX && match == NULL; i++) {
		struct pending *p = &st->pend[i];

		if (!p->used) {
			if (free_slot == NULL)
				free_slot = p;
		} else if (p->x.id.serial == id.serial &&
		    p->x.id.sec == id.sec && p->x.id.msec == id.msec) {
			match = p;
		} else if (oldest == NULL || p->born_ms < oldest->born_ms) {
			oldest = p;
		}
	}
	if ((g = match) == NULL && (g = free_slot) == NULL) {
		/* Table full: the oldest group is ended as it is. */
		emit_loss(st, 0, "too many audit events at once: one ended "
		    "early");
		pending_finish(st, oldest, "too many events at once");
		g = oldest;
	}
	if (!g->used) {
		if (type == AUDIT_EOE)
			return;         /* the end of an event not ours */
		g->used = 1;
		g->born_ms = mamori_monotonic_ms();
		mamori_audit_exec_init(&g->x);
	}
	if ((r = mamori_audit_exec_add(&g->x, type, text, len)) != 0)
		log_debug("process source: audit record %u refused: %s", type,
		    mamori_errname(r));
	if (type == AUDIT_EOE)
		pending_finish(st, g, NULL);
}

static void
pending_expire(struct proc_state *st)
{
	uint64_t now = mamori_monotonic_ms();
	size_t i;

	for (i = 0; i < PROC_PENDING_MAX; i++)
		if (st->pend[i].used &&
		    now - st->pend[i].born_ms >= PROC_GROUP_TIMEOUT_MS)
			pending_finish(st, &st->pend[i], "timed out");
}

static void
audit_status_seen(struct proc_state *st, const struct audit_status *s)
{
	uint32_t delta = s->lost - st->lost_seen;

	if (delta > 0) {
		st->lost_seen = s->lost;
		emit_loss(st, delta, "audit records lost: %u", delta);
	}
	if (s->pid != (uint32_t)getpid() && !st->takeover_said) {
		st->takeover_said = 1;
		emit_loss(st, 0, "audit daemon pid is now %u, not the agent: "
		    "process starts are no longer seen", s->pid);
	}
}

/*
 * One message from the audit socket (n bytes, from the kernel).  Records
 * come one per datagram and the kernel sets nlmsg_len of a record to the
 * length of its text only; replies have a true nlmsg_len.
 */
static void
audit_message(struct proc_state *st, const uint8_t *buf, size_t n)
{
	const struct nlmsghdr *h = (const void *)buf;
	const char *text;
	size_t len;

	if (n < NLMSG_HDRLEN)
		return;
	if (h->nlmsg_type == AUDIT_GET) {
		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct audit_status)) &&
		    h->nlmsg_len <= n)
			audit_status_seen(st, NLMSG_DATA(h));
		return;
	}
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);

		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) &&
		    h->nlmsg_len <= n && e->error != 0)
			log_warn("process source: audit request %u failed: %s",
			    h->nlmsg_seq, strerror(-e->error));
		return;
	}
	if (!is_exec_record(h->nlmsg_type))
		return;
	len = n - NLMSG_HDRLEN;
	if (h->nlmsg_len != len && h->nlmsg_len != n) {
		emit_loss(st, 0, "audit record with a bad length dropped");
		return;
	}
	text = (const char *)buf + NLMSG_HDRLEN;
	while (len > 0 && text[len - 1] == '\0')
		len--;
	audit_record(st, h->nlmsg_type, text, len);
}

/*
 * Reads one datagram; 1 with *n set, 0 when none is waiting, an error
 * otherwise: TOO_LARGE when the socket overflowed (ENOBUFS), TRUNCATED for
 * a datagram longer than cap (dropped).  Datagrams not from the kernel
 * (nl_pid 0) are dropped unread.
 */
static int
nl_recv(int fd, uint8_t *buf, size_t cap, size_t *n)
{
	struct sockaddr_nl sa;
	socklen_t salen;
	ssize_t k;

	for (;;) {
		salen = sizeof(sa);
		k = recvfrom(fd, buf, cap, MSG_DONTWAIT | MSG_TRUNC,
		    (struct sockaddr *)&sa, &salen);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (k < 0 && errno == ENOBUFS)
			return MAMORI_ERR_TOO_LARGE;
		if (k < 0)
			return MAMORI_ERR_SYSTEM;
		if (salen < sizeof(sa) || sa.nl_family != AF_NETLINK ||
		    sa.nl_pid != 0)
			continue;       /* not from the kernel: never read */
		if ((size_t)k > cap)
			return MAMORI_ERR_TRUNCATED;
		*n = (size_t)k;
		return 1;
	}
}

/* Rests ev (drained) until resume_ev fires; a socket with more to read
 * than one batch is read again at once. */
static void
rest(struct proc_state *st, struct event *ev, int drained)
{
	struct timeval tv = {0, PROC_COALESCE_MS * 1000};

	if (!drained || st->resume_ev == NULL)
		return;
	event_del(ev);
	if (!evtimer_pending(st->resume_ev, NULL))
		evtimer_add(st->resume_ev, &tv);
}

static void
resume_timer(evutil_socket_t fd, short what, void *arg)
{
	struct proc_state *st = arg;

	(void)fd;
	(void)what;
	if (!event_pending(st->audit_ev, EV_READ, NULL))
		event_add(st->audit_ev, NULL);
	if (!event_pending(st->cn_ev, EV_READ, NULL))
		event_add(st->cn_ev, NULL);
}

static void
audit_readable(evutil_socket_t fd, short what, void *arg)
{
	struct proc_state *st = arg;
	size_t n, i;
	int r;

	(void)what;
	for (i = 0; i < PROC_READ_BATCH; i++) {
		if ((r = nl_recv(fd, st->rbuf, PROC_AUDIT_MSG_MAX, &n)) == 0)
			break;
		if (r == MAMORI_ERR_TOO_LARGE || r == MAMORI_ERR_TRUNCATED) {
			emit_loss(st, 0, r == MAMORI_ERR_TOO_LARGE ?
			    "audit socket overflow: records lost" :
			    "audit message too long: dropped");
			continue;
		}
		if (r < 0) {
			log_warn("process source: audit socket: %s",
			    strerror(errno));
			break;
		}
		audit_message(st, st->rbuf, n);
	}
	rest(st, st->audit_ev, i < PROC_READ_BATCH);
}

/* ---- audit requests ----------------------------------------------------- */

static int
audit_send(struct proc_state *st, uint16_t type, uint16_t flags,
    const void *data, size_t len, uint32_t *seq)
{
	union {
		struct nlmsghdr h;
		uint8_t bytes[PROC_REQUEST_MAX];
	} m;
	struct sockaddr_nl sa;
	ssize_t k;

	if (NLMSG_SPACE(len) > sizeof(m))
		return MAMORI_ERR_TOO_LARGE;
	memset(&m, 0, NLMSG_SPACE(len));
	m.h.nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
	m.h.nlmsg_type = type;
	m.h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	m.h.nlmsg_seq = *seq = ++st->seq;
	if (len > 0)
		memcpy(NLMSG_DATA(&m.h), data, len);
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	do {
		k = sendto(st->audit_fd, &m, m.h.nlmsg_len, 0,
		    (struct sockaddr *)&sa, sizeof(sa));
	} while (k < 0 && errno == EINTR);
	if (k < 0) {
		log_error("process source: audit request %u: %s", type,
		    strerror(errno));
		return errno == EPERM || errno == EACCES ||
		    errno == ECONNREFUSED ? MAMORI_ERR_PERMISSION :
		    MAMORI_ERR_SYSTEM;
	}
	return 0;
}

/*
 * Waits (bounded) for the reply to request seq: an AUDIT_GET status when
 * status is not NULL, else the ACK, whose error (0 or a negative errno)
 * goes to *kerr.  Other messages meanwhile are handled as usual, or
 * dropped while stopping.
 */
static int
audit_wait(struct proc_state *st, uint32_t seq, struct audit_status *status,
    int *kerr)
{
	const struct nlmsghdr *h = (const void *)st->rbuf;
	uint64_t deadline = mamori_monotonic_ms() + PROC_REPLY_TIMEOUT_MS, now;
	struct pollfd p;
	size_t n;
	int r;

	*kerr = 0;
	for (;;) {
		if ((r = nl_recv(st->audit_fd, st->rbuf, PROC_AUDIT_MSG_MAX,
		    &n)) < 0 && r != MAMORI_ERR_TOO_LARGE &&
		    r != MAMORI_ERR_TRUNCATED)
			return r;
		if (r == 0) {
			now = mamori_monotonic_ms();
			if (now >= deadline)
				return MAMORI_ERR_TIMEOUT;
			p.fd = st->audit_fd;
			p.events = POLLIN;
			p.revents = 0;
			(void)poll(&p, 1, (int)(deadline - now));
			continue;
		}
		if (r != 1 || n < NLMSG_HDRLEN)
			continue;
		if (h->nlmsg_seq == seq && h->nlmsg_type == NLMSG_ERROR &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)) &&
		    h->nlmsg_len <= n) {
			*kerr = ((const struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (status == NULL || *kerr != 0)
				return 0;
			continue;
		}
		if (status != NULL && h->nlmsg_seq == seq &&
		    h->nlmsg_type == AUDIT_GET &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(*status)) &&
		    h->nlmsg_len <= n) {
			memcpy(status, NLMSG_DATA(h), sizeof(*status));
			return 0;
		}
		if (!st->stopping)
			audit_message(st, st->rbuf, n);
	}
}

/* One request and its reply; *kerr as audit_wait. */
static int
audit_request(struct proc_state *st, uint16_t type, const void *data,
    size_t len, struct audit_status *status, int *kerr)
{
	uint32_t seq;
	int r;

	*kerr = 0;
	if ((r = audit_send(st, type, status != NULL ? 0 : NLM_F_ACK, data,
	    len, &seq)) != 0)
		return r;
	return audit_wait(st, seq, status, kerr);
}

static int
audit_get(struct proc_state *st, struct audit_status *s)
{
	int kerr, r;

	memset(s, 0, sizeof(*s));
	if ((r = audit_request(st, AUDIT_GET, NULL, 0, s, &kerr)) != 0)
		return r;
	if (kerr == -ECONNREFUSED || kerr == -EPERM) {
		log_error("process source: audit is not available here (%s): "
		    "it needs the initial user and network namespaces and "
		    "CAP_AUDIT_CONTROL, which a container does not have",
		    strerror(-kerr));
		return MAMORI_ERR_PERMISSION;
	}
	if (kerr != 0) {
		log_error("process source: audit status: %s", strerror(-kerr));
		return MAMORI_ERR_SYSTEM;
	}
	return 0;
}

/* AUDIT_SET of the fields in s->mask; *kerr the kernel's answer. */
static int
audit_set(struct proc_state *st, const struct audit_status *s, int *kerr)
{
	return audit_request(st, AUDIT_SET, s, sizeof(*s), NULL, kerr);
}

/* The rule for one architecture into buf; returns its length. */
static size_t
rule_build(const struct rule_arch *a, uint8_t *buf, size_t cap)
{
	struct audit_rule_data *rule = (void *)buf;
	size_t keylen = sizeof(PROC_RULE_KEY) - 1, i;

	if (sizeof(*rule) + keylen > cap)
		return 0;
	memset(buf, 0, sizeof(*rule) + keylen);
	rule->flags = AUDIT_FILTER_EXIT;
	rule->action = AUDIT_ALWAYS;
	for (i = 0; i < 2; i++)
		rule->mask[a->nr[i] / 32] |= 1u << (a->nr[i] % 32);
	rule->field_count = 2;
	rule->fields[0] = AUDIT_ARCH;
	rule->values[0] = a->arch;
	rule->fieldflags[0] = AUDIT_EQUAL;
	rule->fields[1] = AUDIT_FILTERKEY;
	rule->values[1] = (uint32_t)keylen;
	rule->fieldflags[1] = AUDIT_EQUAL;
	rule->buflen = (uint32_t)keylen;
	memcpy(rule->buf, PROC_RULE_KEY, keylen);
	return sizeof(*rule) + keylen;
}

static int
rule_change(struct proc_state *st, size_t i, uint16_t type, int *kerr)
{
	uint8_t buf[PROC_REQUEST_MAX - NLMSG_HDRLEN];
	size_t len;

	if ((len = rule_build(&rule_arches[i], buf, sizeof(buf))) == 0)
		return MAMORI_ERR_INTERNAL;
	return audit_request(st, type, buf, len, NULL, kerr);
}

/* Everything the audit side of start did, undone (also half-done). */
static void
audit_teardown(struct proc_state *st)
{
	struct audit_status s;
	size_t i;
	int kerr, r;

	if (st->audit_fd < 0)
		return;
	for (i = 0; i < N_ARCHES; i++) {
		if (!st->rule_added[i])
			continue;
		if ((r = rule_change(st, i, AUDIT_DEL_RULE, &kerr)) != 0 ||
		    kerr != 0)
			log_error("process source: audit rule %s not removed: "
			    "%s", rule_arches[i].name, r != 0 ?
			    mamori_strerror(r) : strerror(-kerr));
		st->rule_added[i] = 0;
	}
	if (st->restore_backlog) {
		memset(&s, 0, sizeof(s));
		s.mask = AUDIT_STATUS_BACKLOG_LIMIT;
		s.backlog_limit = st->old_backlog;
		if (audit_set(st, &s, &kerr) != 0 || kerr != 0)
			log_warn("process source: audit backlog limit not "
			    "restored");
		st->restore_backlog = 0;
	}
	if (st->restore_enabled) {
		memset(&s, 0, sizeof(s));
		s.mask = AUDIT_STATUS_ENABLED;
		s.enabled = st->old_enabled;
		if (audit_set(st, &s, &kerr) != 0 || kerr != 0)
			log_warn("process source: audit not disabled again");
		st->restore_enabled = 0;
	}
	if (st->registered) {
		memset(&s, 0, sizeof(s));
		s.mask = AUDIT_STATUS_PID;
		s.pid = 0;
		if ((r = audit_set(st, &s, &kerr)) != 0 || kerr != 0)
			log_error("process source: audit pid not released: %s",
			    r != 0 ? mamori_strerror(r) : strerror(-kerr));
		st->registered = 0;
	}
	close(st->audit_fd);
	st->audit_fd = -1;
}

static void
set_rcvbuf(int fd, int bytes, const char *what)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes,
	    sizeof(bytes)) != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) != 0)
		log_warn("process source: %s receive buffer: %s", what,
		    strerror(errno));
}

static int
audit_setup(struct proc_state *st)
{
	struct audit_status s, now;
	size_t i;
	int kerr, r = MAMORI_ERR_INTERNAL;

	if ((st->audit_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, NETLINK_AUDIT)) < 0) {
		log_error("process source: audit socket: %s", strerror(errno));
		r = errno == EPROTONOSUPPORT ? MAMORI_ERR_NOT_FOUND :
		    MAMORI_ERR_SYSTEM;
		goto out;
	}
	set_rcvbuf(st->audit_fd, PROC_AUDIT_RCVBUF, "audit socket");
	if ((r = audit_get(st, &now)) != 0)
		goto out;
	if (now.enabled == 2) {
		log_error("process source: audit configuration is locked "
		    "(enabled=2): cannot add the exec rules");
		r = MAMORI_ERR_PERMISSION;
		goto out;
	}
	/* Become the audit daemon; never push a live one aside. */
	memset(&s, 0, sizeof(s));
	s.mask = AUDIT_STATUS_PID;
	s.pid = (uint32_t)getpid();
	if ((r = audit_set(st, &s, &kerr)) != 0)
		goto out;
	if (kerr == -EEXIST) {
		log_warn("process source: another audit daemon (pid %u) "
		    "receives the kernel's audit records; not taking its "
		    "place, so process events are off", now.pid);
		r = MAMORI_ERR_EXISTS;
		goto out;
	}
	if (kerr != 0) {
		log_error("process source: cannot become the audit daemon: "
		    "%s%s", strerror(-kerr), kerr == -EPERM ?
		    " (needs CAP_AUDIT_CONTROL in the initial namespaces)" :
		    "");
		r = kerr == -EPERM || kerr == -EACCES ?
		    MAMORI_ERR_PERMISSION : MAMORI_ERR_SYSTEM;
		goto out;
	}
	st->registered = 1;
	st->lost_seen = now.lost;
	if (now.enabled == 0) {
		memset(&s, 0, sizeof(s));
		s.mask = AUDIT_STATUS_ENABLED;
		s.enabled = 1;
		if ((r = audit_set(st, &s, &kerr)) != 0)
			goto out;
		if (kerr != 0) {
			log_error("process source: cannot enable audit: %s",
			    strerror(-kerr));
			r = MAMORI_ERR_SYSTEM;
			goto out;
		}
		st->restore_enabled = 1;
		st->old_enabled = now.enabled;
	}
	if (now.backlog_limit < PROC_BACKLOG_LIMIT) {
		memset(&s, 0, sizeof(s));
		s.mask = AUDIT_STATUS_BACKLOG_LIMIT;
		s.backlog_limit = PROC_BACKLOG_LIMIT;
		if ((r = audit_set(st, &s, &kerr)) != 0)
			goto out;
		if (kerr == 0) {
			st->restore_backlog = 1;
			st->old_backlog = now.backlog_limit;
		} else {
			log_warn("process source: audit backlog limit stays "
			    "%u: %s", now.backlog_limit, strerror(-kerr));
		}
	}
	for (i = 0; i < N_ARCHES; i++) {
		if ((r = rule_change(st, i, AUDIT_ADD_RULE, &kerr)) != 0)
			goto out;
		/* EEXIST: our own rule, left by an agent that died; it is
		 * ours to remove at stop all the same. */
		if (kerr == 0 || kerr == -EEXIST) {
			st->rule_added[i] = 1;
			continue;
		}
		log_warn("process source: audit rule for %s execs refused: %s",
		    rule_arches[i].name, strerror(-kerr));
		if (rule_arches[i].required) {
			r = MAMORI_ERR_SYSTEM;
			goto out;
		}
	}
	r = 0;
out:
	return r;
}

/* ---- END: the proc connector -------------------------------------------- */

static int
cn_send_op(struct proc_state *st, uint32_t op)
{
	union {
		struct nlmsghdr h;
		uint8_t bytes[NLMSG_SPACE(sizeof(struct cn_msg) +
		    sizeof(uint32_t))];
	} m;
	struct cn_msg *cn;
	struct sockaddr_nl sa;
	ssize_t k;

	memset(&m, 0, sizeof(m));
	m.h.nlmsg_len = (uint32_t)NLMSG_LENGTH(sizeof(*cn) + sizeof(op));
	m.h.nlmsg_type = NLMSG_DONE;
	m.h.nlmsg_pid = (uint32_t)getpid();
	cn = NLMSG_DATA(&m.h);
	cn->id.idx = CN_IDX_PROC;
	cn->id.val = CN_VAL_PROC;
	cn->len = sizeof(op);
	memcpy(cn->data, &op, sizeof(op));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	do {
		k = sendto(st->cn_fd, &m, m.h.nlmsg_len, 0,
		    (struct sockaddr *)&sa, sizeof(sa));
	} while (k < 0 && errno == EINTR);
	if (k < 0) {
		log_error("process source: proc connector: %s",
		    strerror(errno));
		return errno == EPERM ? MAMORI_ERR_PERMISSION :
		    MAMORI_ERR_SYSTEM;
	}
	return 0;
}

static int
cn_setup(struct proc_state *st)
{
	struct sockaddr_nl sa;
	int r = MAMORI_ERR_INTERNAL;

	if ((st->cn_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, NETLINK_CONNECTOR)) < 0) {
		log_error("process source: connector socket: %s",
		    strerror(errno));
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = CN_IDX_PROC;
	if (bind(st->cn_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		log_error("process source: proc connector: %s",
		    strerror(errno));
		r = errno == EPERM ? MAMORI_ERR_PERMISSION : MAMORI_ERR_SYSTEM;
		goto out;
	}
	set_rcvbuf(st->cn_fd, PROC_CN_RCVBUF, "proc connector");
	if ((r = cn_send_op(st, PROC_CN_MCAST_LISTEN)) != 0)
		goto out;
	st->cn_listening = 1;
	r = 0;
out:
	return r;
}

/* An exit status as the kernel keeps it, as exit_code: 0-255 or -signal. */
static int32_t
exit_code(uint32_t status)
{
	int s = (int)status;

	if (WIFSIGNALED(s))
		return -(int32_t)WTERMSIG(s);
	return (int32_t)WEXITSTATUS(s);
}

static void
emit_end(struct proc_state *st, const struct proc_exit *e)
{
	Mamori__Event *ev;
	struct proc_image *img;

	if ((img = pid_get(st, e->pid)) != NULL)
		img->refs++;
	pid_set(st, e->pid, NULL);
	if ((ev = mamori_event_new(MAMORI__EVENT__BODY_PROCESS)) == NULL)
		goto out;
	ev->time_ns = e->time_ns;
	ev->process->action = MAMORI__PROCESS_EVENT__ACTION__END;
	ev->process->pid = e->pid;
	ev->process->ppid = e->ppid;
	ev->process->exit_code = e->code;
	if (img != NULL && img->exe[0] != '\0' &&
	    mamori_event_set_str(&ev->process->executable, img->exe) != 0) {
		mamori_event_free(ev);
		goto out;
	}
	emit(st, ev);
out:
	image_unref(st, img);
}

/* Emits the held-back ENDs that are due (all with flush). */
static void
exits_run(struct proc_state *st, int flush)
{
	uint64_t now = mamori_monotonic_ms();
	struct timeval tv;
	struct proc_exit *e;

	while (st->n_exits > 0) {
		e = &st->exits[st->exit_head];
		if (!flush && e->due_ms > now) {
			tv.tv_sec = (time_t)((e->due_ms - now) / 1000);
			tv.tv_usec = (suseconds_t)((e->due_ms - now) % 1000 *
			    1000);
			evtimer_add(st->exit_ev, &tv);
			return;
		}
		st->exit_head = (st->exit_head + 1) % PROC_EXIT_QUEUE_MAX;
		st->n_exits--;
		emit_end(st, e);
	}
}

static void
exit_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	exits_run(arg, 0);
}

static void
exit_queue(struct proc_state *st, const struct proc_exit *e)
{
	struct proc_exit *slot;

	if (st->n_exits == PROC_EXIT_QUEUE_MAX) {
		/* Full: the oldest goes out now rather than being lost. */
		slot = &st->exits[st->exit_head];
		st->exit_head = (st->exit_head + 1) % PROC_EXIT_QUEUE_MAX;
		st->n_exits--;
		emit_end(st, slot);
	}
	st->exits[(st->exit_head + st->n_exits) % PROC_EXIT_QUEUE_MAX] = *e;
	if (st->n_exits++ == 0)
		exits_run(st, 0);
}

static void
cn_event(struct proc_state *st, const struct proc_event *pe, size_t len,
    uint64_t mono_now, uint64_t real_now)
{
	struct proc_image *img;
	struct proc_exit e;

	if (pe->what == PROC_EVENT_FORK &&
	    len >= offsetof(struct proc_event, event_data) +
	    sizeof(pe->event_data.fork)) {
		const struct fork_proc_event *f = &pe->event_data.fork;

		if (f->child_pid != f->child_tgid)
			return;                 /* a thread */
		/* The child runs what its parent ran, until it execs. */
		if ((img = pid_get(st, (uint32_t)f->parent_tgid)) == NULL)
			img = pid_from_proc(st, (uint32_t)f->parent_tgid);
		pid_set(st, (uint32_t)f->child_tgid, img);
		return;
	}
	if (pe->what != PROC_EVENT_EXIT || len < offsetof(struct proc_event,
	    event_data) + offsetof(struct exit_proc_event, parent_pid))
		return;
	if (pe->event_data.exit.process_pid != pe->event_data.exit.process_tgid)
		return;                         /* a thread */
	memset(&e, 0, sizeof(e));
	e.pid = (uint32_t)pe->event_data.exit.process_tgid;
	if (len >= offsetof(struct proc_event, event_data) +
	    sizeof(pe->event_data.exit))
		e.ppid = (uint32_t)pe->event_data.exit.parent_tgid;
	e.code = exit_code(pe->event_data.exit.exit_code);
	e.time_ns = pe->timestamp_ns <= mono_now &&
	    mono_now - pe->timestamp_ns < real_now ?
	    real_now - (mono_now - pe->timestamp_ns) : real_now;
	e.due_ms = mamori_monotonic_ms() + PROC_EXIT_DELAY_MS;
	exit_queue(st, &e);
}

static void
cn_readable(evutil_socket_t fd, short what, void *arg)
{
	struct proc_state *st = arg;
	uint8_t buf[PROC_CN_MSG_MAX] __attribute__((aligned(8)));
	const struct nlmsghdr *h;
	const struct cn_msg *cn;
	struct proc_event pe;
	uint64_t mono_now, real_now;
	size_t n, i, left;
	int r;

	(void)what;
	for (i = 0; i < PROC_READ_BATCH; i++) {
		if ((r = nl_recv(fd, buf, sizeof(buf), &n)) == 0)
			break;
		if (r == MAMORI_ERR_TOO_LARGE || r == MAMORI_ERR_TRUNCATED) {
			emit_loss(st, 0, "proc connector overflow: process "
			    "end events lost");
			continue;
		}
		if (r < 0) {
			log_warn("process source: proc connector: %s",
			    strerror(errno));
			break;
		}
		mono_now = clock_ns(CLOCK_MONOTONIC);
		real_now = clock_ns(CLOCK_REALTIME);
		h = (const void *)buf;
		left = n;
		for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type != NLMSG_DONE ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*cn)))
				continue;
			cn = NLMSG_DATA(h);
			if (cn->id.idx != CN_IDX_PROC ||
			    cn->id.val != CN_VAL_PROC ||
			    cn->len > h->nlmsg_len - NLMSG_LENGTH(sizeof(*cn)))
				continue;
			/* cn->data sits 4 bytes off the event's alignment */
			memset(&pe, 0, sizeof(pe));
			memcpy(&pe, cn->data, cn->len < sizeof(pe) ? cn->len :
			    sizeof(pe));
			cn_event(st, &pe, cn->len, mono_now, real_now);
		}
	}
	rest(st, st->cn_ev, i < PROC_READ_BATCH);
}

/* ---- the source --------------------------------------------------------- */

static void
status_timer(evutil_socket_t fd, short what, void *arg)
{
	struct proc_state *st = arg;
	uint32_t seq;

	(void)fd;
	(void)what;
	pending_expire(st);
	(void)audit_send(st, AUDIT_GET, 0, NULL, 0, &seq);
}

static int
process_start(const struct mamori_source_ctx *ctx, void **state)
{
	struct proc_state *st = NULL;
	struct timeval tv;
	int r = MAMORI_ERR_INTERNAL;

	*state = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	st->ctx = *ctx;
	st->audit_fd = st->cn_fd = -1;
	st->hash_max = ctx->opt != NULL && ctx->opt->file_hash_max > 0 ?
	    ctx->opt->file_hash_max : MAMORI_FILE_HASH_MAX_DEFAULT;
	if ((st->rbuf = malloc(PROC_AUDIT_MSG_MAX)) == NULL ||
	    (st->exits = calloc(PROC_EXIT_QUEUE_MAX, sizeof(*st->exits))) ==
	    NULL ||
	    (st->pids = calloc(PROC_PID_SLOTS, sizeof(*st->pids))) == NULL ||
	    (st->hashes = calloc(PROC_HASH_SLOTS, sizeof(*st->hashes))) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	/* Ends first: an exec seen before its process's end is subscribed
	 * would leave the pid cache wrong, not the other way round. */
	if ((r = cn_setup(st)) != 0 || (r = audit_setup(st)) != 0)
		goto out;
	if ((st->audit_ev = event_new(ctx->base, st->audit_fd,
	    EV_READ | EV_PERSIST, audit_readable, st)) == NULL ||
	    (st->cn_ev = event_new(ctx->base, st->cn_fd, EV_READ | EV_PERSIST,
	    cn_readable, st)) == NULL ||
	    (st->status_ev = event_new(ctx->base, -1, EV_PERSIST,
	    status_timer, st)) == NULL ||
	    (st->exit_ev = evtimer_new(ctx->base, exit_timer, st)) == NULL ||
	    (st->resume_ev = evtimer_new(ctx->base, resume_timer, st)) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	tv.tv_sec = PROC_STATUS_INTERVAL_MS / 1000;
	tv.tv_usec = PROC_STATUS_INTERVAL_MS % 1000 * 1000;
	if (event_add(st->audit_ev, NULL) != 0 ||
	    event_add(st->cn_ev, NULL) != 0 ||
	    event_add(st->status_ev, &tv) != 0) {
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	log_info("process source: watching execs (audit) and exits (proc "
	    "connector)");
	*state = st;
	st = NULL;
	r = 0;
out:
	process_stop(st);
	return r;
}

static void
process_stop(void *state)
{
	struct proc_state *st = state;
	size_t i;

	if (st == NULL)
		return;
	st->stopping = 1;
	if (st->audit_ev != NULL)
		event_free(st->audit_ev);
	if (st->cn_ev != NULL)
		event_free(st->cn_ev);
	if (st->status_ev != NULL)
		event_free(st->status_ev);
	if (st->exit_ev != NULL)
		event_free(st->exit_ev);
	if (st->resume_ev != NULL)
		event_free(st->resume_ev);
	audit_teardown(st);
	if (st->cn_fd >= 0) {
		if (st->cn_listening)
			(void)cn_send_op(st, PROC_CN_MCAST_IGNORE);
		close(st->cn_fd);
	}
	for (i = 0; i < PROC_PENDING_MAX; i++)
		if (st->pend[i].used)
			mamori_audit_exec_free(&st->pend[i].x);
	if (st->pids != NULL)
		for (i = 0; i < PROC_PID_SLOTS; i++)
			image_unref(st, st->pids[i].img);
	users_free(st);
	free(st->pids);
	free(st->hashes);
	free(st->exits);
	free(st->rbuf);
	free(st);
}

const struct mamori_event_source mamori_source_process = {
	"process", process_start, process_stop,
};
