/*
 * task_files.c - the runner's collect tasks: READ_FILE (the first bytes
 * of one regular file, with its SHA-256 and size), HASH_PATH (a file or a
 * directory tree hashed file by file) and YARA_SCAN (a file or a tree
 * scanned with the agent's rules).
 *
 * Paths come from a task and are treated as hostile: the last component
 * is looked at through an O_PATH, O_NOFOLLOW descriptor and opened for
 * reading only when it is a regular file, so a symbolic link is never
 * followed and a FIFO or a device is never opened.  Trees are walked with each directory held open
 * (openat), never following links, never entering pseudo filesystems
 * (proc, sysfs, ...), bounded in depth, entries, time and result bytes.
 * Nothing here writes to the file system.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <linux/magic.h>
#include <openssl/evp.h>

#include "buf.h"
#include "crypto.h"
#include "err.h"
#include "task_internal.h"
#include "util.h"
#include "yara_rules.h"

#define WALK_ENTRIES_MAX (10 * MAMORI_TASK_WALK_FILES_MAX) /* visited */
#define READ_CHUNK (64 * 1024)
#define ERROR_TEXT_MAX 256

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* ---- hashing ---------------------------------------------------------- */

/*
 * Reads fd to its end (at most MAMORI_TASK_HASH_FILE_MAX bytes), hashing
 * all of it and keeping the first keep_max bytes in keep (NULL: none).
 * Returns 0 with the hex digest and the size, or an error code.
 */
static int
hash_fd(int fd, struct mamori_buf *keep, uint64_t keep_max,
    char hex[2 * MAMORI_SHA256_LEN + 1], uint64_t *size)
{
	uint8_t chunk[READ_CHUNK], md[MAMORI_SHA256_LEN];
	EVP_MD_CTX *ctx = NULL;
	uint64_t total = 0;
	unsigned int mdlen = 0;
	ssize_t n;
	size_t k;
	int r = MAMORI_ERR_ALLOC;

	*size = 0;
	hex[0] = '\0';
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == EACCES || errno == EPERM ?
			    MAMORI_ERR_PERMISSION : MAMORI_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > MAMORI_TASK_HASH_FILE_MAX) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		if (keep != NULL && keep->len < keep_max) {
			k = (size_t)(keep_max - keep->len);
			if (k > (size_t)n)
				k = (size_t)n;
			if ((r = mamori_buf_append(keep, chunk, k)) != 0)
				goto out;
		}
		if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1) {
			r = MAMORI_ERR_CRYPTO;
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    mdlen != MAMORI_SHA256_LEN) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	mamori_hex(md, sizeof(md), hex);
	*size = total;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

/* Words for a failed open or read of a path. */
static const char *
open_error(int err_no, int code)
{
	if (code == MAMORI_ERR_TOO_LARGE)
		return "larger than 16 GiB, not hashed";
	if (code == MAMORI_ERR_NOT_REGULAR)
		return "not a regular file";
	switch (err_no) {
	case ELOOP:
		return "symbolic link, not followed";
	case ENOENT:
	case ENOTDIR:
		return "no such file";
	case EACCES:
	case EPERM:
		return "permission denied";
	case ENXIO:
		return "not a regular file";
	default:
		return code == MAMORI_ERR_PERMISSION ? "permission denied" :
		    "read error";
	}
}

static const char *
type_word(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISLNK(m))
		return "a symbolic link, not followed";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

static int
code_of_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return MAMORI_ERR_NOT_FOUND;
	case EACCES:
	case EPERM:
		return MAMORI_ERR_PERMISSION;
	case ELOOP:
	case ENXIO:
		return MAMORI_ERR_NOT_REGULAR;
	default:
		return MAMORI_ERR_IO;
	}
}

/*
 * Opens name (relative to dirfd) for reading only if it is a regular
 * file: first as O_PATH without following a link, which opens nothing,
 * then, after fstat said "regular file", again for reading through
 * /proc/self/fd, checked to be the same inode.  So a device node (whose
 * open alone may act: rewind a tape, raise a modem line) or a FIFO is
 * never opened, even when swapped in between.  Returns the descriptor,
 * or -1 with *code (NOT_REGULAR with *st telling the type, NOT_FOUND,
 * PERMISSION, IO) and errno set.
 */
static int
open_regular(int dirfd, const char *name, struct stat *st, int *code)
{
	char proc[64];
	struct stat st2;
	int pfd, fd, e;

	pfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0) {
		*code = code_of_errno(errno);
		return -1;
	}
	if (fstat(pfd, st) != 0) {
		e = errno;
		(void)close(pfd);
		*code = MAMORI_ERR_IO;
		errno = e;
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		(void)close(pfd);
		*code = MAMORI_ERR_NOT_REGULAR;
		errno = ENXIO;
		return -1;
	}
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	e = errno;
	(void)close(pfd);
	if (fd < 0) {
		*code = code_of_errno(e);
		errno = e;
		return -1;
	}
	if (fstat(fd, &st2) != 0 || !S_ISREG(st2.st_mode) ||
	    st2.st_dev != st->st_dev || st2.st_ino != st->st_ino) {
		(void)close(fd);
		*code = MAMORI_ERR_NOT_REGULAR;
		errno = ENXIO;
		return -1;
	}
	*st = st2;
	return fd;
}

/* ---- READ_FILE -------------------------------------------------------- */

int
mamori_task__read_file(const struct mamori_task_env *env,
    const Mamori__ReadFileParams *p, Mamori__TaskResult *res)
{
	struct mamori_task_budget budget;
	struct mamori_buf keep;
	char hex[2 * MAMORI_SHA256_LEN + 1];
	struct stat st;
	uint64_t omax = mamori_task__output_max(env), max, size = 0;
	int fd = -1, r, e, code;

	mamori_buf_init(&keep, MAMORI_TASK_OUTPUT_MAX);
	if ((r = mamori_task__check_path(res, p->path)) != 0)
		goto out;
	max = p->max_bytes != 0 ? p->max_bytes : MAMORI_TASK_READ_DEFAULT;
	if (max > omax)
		max = omax;
	memset(&st, 0, sizeof(st));
	if ((fd = open_regular(AT_FDCWD, p->path, &st, &code)) < 0) {
		e = errno;
		if (code == MAMORI_ERR_NOT_REGULAR)
			r = mamori_task__fail(res, code, "%s is %s; only "
			    "regular files are read", p->path,
			    type_word(st.st_mode));
		else
			r = mamori_task__fail(res, code, "cannot open %s: %s",
			    p->path, strerror(e));
		goto out;
	}
	if ((r = hash_fd(fd, &keep, max, hex, &size)) != 0) {
		r = mamori_task__fail(res, r, "cannot read %s: %s", p->path,
		    open_error(errno, r));
		goto out;
	}
	if (keep.len > 0) {
		if ((res->output.data = malloc(keep.len)) == NULL) {
			r = mamori_task__fail(res, MAMORI_ERR_ALLOC,
			    "out of memory");
			goto out;
		}
		memcpy(res->output.data, keep.data, keep.len);
		res->output.len = keep.len;
	}
	res->output_truncated = size > keep.len;
	budget.max = omax;
	budget.used = 0;
	if ((r = mamori_task__add_hash(res, &budget, p->path, hex, size,
	    NULL)) != 0 && r != MAMORI_ERR_TOO_LARGE) {
		r = mamori_task__fail(res, r, "out of memory");
		goto out;
	}
	res->status = MAMORI__TASK_RESULT__STATUS__OK;
	mamori_task__message(res, "read %zu of %llu bytes", keep.len,
	    (unsigned long long)size);
	r = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	mamori_buf_free(&keep);
	return r;
}

/* ---- the tree walker -------------------------------------------------- */

struct walk;
/* Called for each regular file (name relative to dirfd; path for people)
 * and, with st of another type, for each entry that is not one. */
typedef int (*walk_file_fn)(struct walk *w, int dirfd, const char *name,
    const char *path);
typedef int (*walk_other_fn)(struct walk *w, const char *path,
    const char *error);

struct walk {
	walk_file_fn on_file;
	walk_other_fn on_other;
	uint64_t deadline_ms;
	size_t visited;
	size_t reported;
	int stopped;           /* a limit ended the walk */
	const char *why;       /* which limit */
	Mamori__TaskResult *res;
	struct mamori_task_budget budget;
	void *ud;
};

static int
pseudo_fs(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) != 0)
		return 0;
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case BPF_FS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case PSTOREFS_MAGIC:
	case EFIVARFS_MAGIC:
		return 1;
	default:
		return 0;
	}
}

/* Counts an entry to report; 0, or 1 when a limit stops the walk. */
static int
walk_count(struct walk *w)
{
	if (w->stopped)
		return 1;
	if (w->reported >= MAMORI_TASK_WALK_FILES_MAX) {
		w->stopped = 1;
		w->why = "the limit of 100000 files";
		return 1;
	}
	if (mamori_monotonic_ms() > w->deadline_ms) {
		w->stopped = 1;
		w->why = "the time limit of 1800 s";
		return 1;
	}
	w->reported++;
	return 0;
}

static int
walk_dir(struct walk *w, int dfd, char *path, size_t plen, int depth)
{
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	size_t nlen;
	int fd, r = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		(void)close(dfd);
		if (!walk_count(w))
			r = w->on_other(w, path, "cannot read directory");
		return r;
	}
	while (!w->stopped && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (++w->visited > WALK_ENTRIES_MAX) {
			w->stopped = 1;
			w->why = "the limit of 1000000 entries visited";
			break;
		}
		nlen = strlen(de->d_name);
		if (plen + 1 + nlen > MAMORI_TASK_PATH_MAX) {
			if (!walk_count(w) && (r = w->on_other(w, path,
			    "an entry's path is longer than 4096 bytes")) != 0)
				break;
			continue;
		}
		if (plen == 1 && path[0] == '/') {
			memcpy(path + 1, de->d_name, nlen + 1);
		} else {
			path[plen] = '/';
			memcpy(path + plen + 1, de->d_name, nlen + 1);
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)
		    != 0) {
			if (!walk_count(w))
				r = w->on_other(w, path, open_error(errno, 0));
		} else if (S_ISDIR(st.st_mode)) {
			if (depth + 1 > MAMORI_TASK_WALK_DEPTH_MAX) {
				if (!walk_count(w))
					r = w->on_other(w, path, "deeper than "
					    "32 levels, not walked");
			} else if ((fd = openat(dirfd(d), de->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
			    < 0) {
				if (!walk_count(w))
					r = w->on_other(w, path,
					    open_error(errno, 0));
			} else if (pseudo_fs(fd)) {
				(void)close(fd);
			} else {
				r = walk_dir(w, fd, path, strlen(path),
				    depth + 1);
			}
		} else if (S_ISREG(st.st_mode)) {
			if (!walk_count(w))
				r = w->on_file(w, dirfd(d), de->d_name, path);
		} else {
			if (!walk_count(w))
				r = w->on_other(w, path, type_word(st.st_mode));
		}
		path[plen] = '\0';
		if (r != 0)
			break;
	}
	(void)closedir(d);
	return r;
}

/*
 * Walks start (a file or a directory).  Returns 0 when the walk ran (a
 * limit may have stopped it: w->stopped), or fails res when start cannot
 * be opened.
 */
static int
walk_start(struct walk *w, const char *start)
{
	char path[MAMORI_TASK_PATH_MAX + 2];
	struct stat st;
	int fd, e, r;

	w->deadline_ms = mamori_monotonic_ms() +
	    1000ull * MAMORI_TASK_WALK_SECONDS_MAX;
	/* O_PATH: look at what the path names without opening a device. */
	fd = open(start, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return mamori_task__fail(w->res, code_of_errno(e), "cannot open "
		    "%s: %s", start, strerror(e));
	}
	if (fstat(fd, &st) != 0) {
		e = errno;
		(void)close(fd);
		return mamori_task__fail(w->res, MAMORI_ERR_IO, "cannot stat "
		    "%s: %s", start, strerror(e));
	}
	if (S_ISREG(st.st_mode)) {
		(void)close(fd);
		(void)walk_count(w);
		return w->on_file(w, AT_FDCWD, start, start);
	}
	if (!S_ISDIR(st.st_mode)) {
		(void)close(fd);
		return mamori_task__fail(w->res, MAMORI_ERR_NOT_REGULAR, "%s is "
		    "%s; give a regular file or a directory", start,
		    type_word(st.st_mode));
	}
	(void)close(fd);
	fd = open(start, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return mamori_task__fail(w->res, code_of_errno(e), "cannot open "
		    "%s: %s", start, strerror(e));
	}
	(void)mamori_strlcpy(path, start, sizeof(path));
	/* "/a/b/" walks as "/a/b"; "/" stays. */
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	r = walk_dir(w, fd, path, strlen(path), 0);
	return r;
}

/* ---- HASH_PATH -------------------------------------------------------- */

static int
hash_add(struct walk *w, const char *path, const char *hex, uint64_t size,
    const char *error)
{
	int r = mamori_task__add_hash(w->res, &w->budget, path, hex, size,
	    error);

	if (r == MAMORI_ERR_TOO_LARGE) {
		w->stopped = 1;
		w->why = "the result size limit";
		return 0;
	}
	return r;
}

static int
hash_other(struct walk *w, const char *path, const char *error)
{
	return hash_add(w, path, NULL, 0, error);
}

static int
hash_file(struct walk *w, int dirfd, const char *name, const char *path)
{
	char hex[2 * MAMORI_SHA256_LEN + 1];
	struct stat st;
	uint64_t size = 0;
	int fd, r, code;

	memset(&st, 0, sizeof(st));
	if ((fd = open_regular(dirfd, name, &st, &code)) < 0)
		return hash_add(w, path, NULL, 0, code == MAMORI_ERR_NOT_REGULAR
		    ? type_word(st.st_mode) : open_error(errno, code));
	r = hash_fd(fd, NULL, 0, hex, &size);
	(void)close(fd);
	if (r != 0)
		return hash_add(w, path, NULL, (uint64_t)st.st_size,
		    open_error(0, r));
	return hash_add(w, path, hex, size, NULL);
}

int
mamori_task__hash_path(const struct mamori_task_env *env,
    const Mamori__HashPathParams *p, Mamori__TaskResult *res)
{
	struct walk w;
	size_t i, failed = 0;
	int r;

	if ((r = mamori_task__check_path(res, p->path)) != 0)
		return r;
	memset(&w, 0, sizeof(w));
	w.on_file = hash_file;
	w.on_other = hash_other;
	w.res = res;
	w.budget.max = mamori_task__output_max(env);
	if ((r = walk_start(&w, p->path)) != 0) {
		if (res->message == NULL || res->message[0] == '\0')
			r = mamori_task__fail(res, r, "hashing %s: %s", p->path,
			    mamori_strerror(r));
		return r;
	}
	for (i = 0; i < res->n_hashes; i++)
		if (res->hashes[i]->error[0] != '\0')
			failed++;
	res->output_truncated = w.stopped != 0;
	res->status = MAMORI__TASK_RESULT__STATUS__OK;
	if (w.stopped)
		mamori_task__message(res, "%zu entries (%zu not hashed); "
		    "stopped at %s", res->n_hashes, failed, w.why);
	else
		mamori_task__message(res, "%zu entries (%zu not hashed)",
		    res->n_hashes, failed);
	return 0;
}

/* ---- YARA_SCAN -------------------------------------------------------- */

struct yara_walk {
	const mamori_yara_rules_t *rules;
	size_t scanned;
	size_t errors;
	size_t files_matched;
	uint64_t bytes;
	char first_error[ERROR_TEXT_MAX];
};

static void
yara_note_error(struct yara_walk *y, const char *path, const char *what)
{
	y->errors++;
	if (y->first_error[0] == '\0')
		(void)snprintf(y->first_error, sizeof(y->first_error), "%s: %s",
		    path, what);
}

static int
yara_other(struct walk *w, const char *path, const char *error)
{
	(void)w;
	(void)path;
	(void)error;
	return 0; /* only regular files are scanned; the rest is skipped */
}

static int
yara_file(struct walk *w, int dirfd, const char *name, const char *path)
{
	struct yara_walk *y = w->ud;
	struct mamori_yara_result yr;
	size_t i;
	int r;

	memset(&yr, 0, sizeof(yr));
	r = mamori_yara_scan_at(y->rules, dirfd, name, NULL, &yr);
	if (r != 0) {
		yara_note_error(y, path, r == MAMORI_ERR_TOO_LARGE ?
		    "larger than the scan limit" : mamori_strerror(r));
		mamori_yara_result_free(&yr);
		return r == MAMORI_ERR_ALLOC ? r : 0;
	}
	y->scanned++;
	y->bytes += yr.scanned;
	if (yr.n > 0)
		y->files_matched++;
	for (i = 0; i < yr.n && !w->stopped; i++) {
		const struct mamori_yara_rule_info *ri = &yr.matches[i].rule;

		r = mamori_task__add_match(w->res, &w->budget, path, ri->name,
		    ri->ns, ri->tags, ri->ntags);
		if (r == MAMORI_ERR_TOO_LARGE) {
			w->stopped = 1;
			w->why = "the limit on matches in a result";
		} else if (r != 0) {
			mamori_yara_result_free(&yr);
			return r;
		}
	}
	mamori_yara_result_free(&yr);
	return 0;
}

static int
has_rule_suffix(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && strcmp(name + n - 4, ".yar") == 0) ||
	    (n > 5 && strcmp(name + n - 5, ".yara") == 0);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compiles the rule files of dir into *out; fails res with why not. */
static int
compile_dir(const char *dir, Mamori__TaskResult *res,
    mamori_yara_rules_t **out)
{
	struct mamori_yara_source src[MAMORI_TASK_YARA_RULE_FILES_MAX];
	struct mamori_buf bufs[MAMORI_TASK_YARA_RULE_FILES_MAX];
	char *names[MAMORI_TASK_YARA_RULE_FILES_MAX];
	struct mamori_yara_messages msgs;
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	size_t n = 0, i, total = 0;
	int dfd = -1, fd, r;

	memset(&msgs, 0, sizeof(msgs));
	*out = NULL;
	for (i = 0; i < MAMORI_TASK_YARA_RULE_FILES_MAX; i++)
		mamori_buf_init(&bufs[i], MAMORI_YARA_SOURCE_MAX);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
		r = mamori_task__fail(res, MAMORI_ERR_NOT_FOUND, "cannot open "
		    "the YARA rules directory %s: %s", dir, strerror(errno));
		if (dfd >= 0)
			(void)close(dfd);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!has_rule_suffix(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0
		    || !S_ISREG(st.st_mode))
			continue;
		if (n >= MAMORI_TASK_YARA_RULE_FILES_MAX) {
			r = mamori_task__fail(res, MAMORI_ERR_TOO_LARGE, "more "
			    "than %d rule files in %s",
			    MAMORI_TASK_YARA_RULE_FILES_MAX, dir);
			goto out;
		}
		if ((names[n] = mamori_memdup_str(de->d_name,
		    strlen(de->d_name))) == NULL) {
			r = mamori_task__fail(res, MAMORI_ERR_ALLOC,
			    "out of memory");
			goto out;
		}
		n++;
	}
	if (n == 0) {
		r = mamori_task__fail(res, MAMORI_ERR_NOT_FOUND, "no YARA rule "
		    "files (*.yar, *.yara) in %s", dir);
		goto out;
	}
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (i = 0; i < n; i++) {
		uint8_t chunk[READ_CHUNK];
		ssize_t got;

		fd = openat(dirfd(d), names[i], O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
			r = mamori_task__fail(res, MAMORI_ERR_IO, "cannot read "
			    "rule file %s/%s", dir, names[i]);
			if (fd >= 0)
				(void)close(fd);
			goto out;
		}
		r = 0;
		while ((got = read(fd, chunk, sizeof(chunk))) > 0) {
			total += (size_t)got;
			if (total > MAMORI_YARA_SOURCE_MAX ||
			    (r = mamori_buf_append(&bufs[i], chunk,
			    (size_t)got)) != 0) {
				r = MAMORI_ERR_TOO_LARGE;
				break;
			}
		}
		(void)close(fd);
		if (r != 0 || got < 0) {
			r = mamori_task__fail(res, r != 0 ? r : MAMORI_ERR_IO,
			    "cannot read rule file %s/%s: %s", dir, names[i],
			    r != 0 ? "rules exceed 4 MiB" : "read error");
			goto out;
		}
		src[i].name = names[i];
		src[i].text = bufs[i].data != NULL ? (const char *)bufs[i].data
		    : "";
		src[i].len = bufs[i].len;
	}
	if ((r = mamori_yara_compile(src, n, out, &msgs)) != 0) {
		if (msgs.errors > 0)
			r = mamori_task__fail(res, r, "YARA rules in %s do not "
			    "compile: %s:%d: %s", dir, msgs.items[0].source,
			    msgs.items[0].line, msgs.items[0].text);
		else
			r = mamori_task__fail(res, r, "YARA rules in %s do not "
			    "compile: %s", dir, mamori_strerror(r));
		goto out;
	}
	r = 0;
out:
	mamori_yara_messages_free(&msgs);
	for (i = 0; i < n; i++)
		free(names[i]);
	for (i = 0; i < MAMORI_TASK_YARA_RULE_FILES_MAX; i++)
		mamori_buf_free(&bufs[i]);
	if (d != NULL)
		(void)closedir(d);
	return r;
}

int
mamori_task__yara_scan(const struct mamori_task_env *env,
    const Mamori__YaraScanParams *p, Mamori__TaskResult *res)
{
	mamori_yara_rules_t *own = NULL;
	struct yara_walk y;
	struct walk w;
	char size[32];
	int r, inited = 0;

	memset(&y, 0, sizeof(y));
	if ((r = mamori_task__check_path(res, p->path)) != 0)
		goto out;
	if ((r = mamori_yara_init()) != 0) {
		r = mamori_task__fail(res, r, "cannot start libyara");
		goto out;
	}
	inited = 1;
	if (env->yara_rules != NULL) {
		y.rules = env->yara_rules;
	} else if (env->yara_rules_dir != NULL) {
		if ((r = compile_dir(env->yara_rules_dir, res, &own)) != 0)
			goto out;
		y.rules = own;
	} else {
		r = mamori_task__fail(res, MAMORI_ERR_NOT_FOUND, "this agent "
		    "has no YARA rules");
		goto out;
	}
	memset(&w, 0, sizeof(w));
	w.on_file = yara_file;
	w.on_other = yara_other;
	w.res = res;
	w.ud = &y;
	w.budget.max = mamori_task__output_max(env);
	if ((r = walk_start(&w, p->path)) != 0) {
		if (res->message == NULL || res->message[0] == '\0')
			r = mamori_task__fail(res, r, "scanning %s: %s",
			    p->path, mamori_strerror(r));
		goto out;
	}
	if (y.scanned == 0 && y.errors > 0) {
		r = mamori_task__fail(res, MAMORI_ERR_YARA_SCAN, "nothing "
		    "scanned: %s", y.first_error);
		goto out;
	}
	res->output_truncated = w.stopped != 0;
	res->status = MAMORI__TASK_RESULT__STATUS__OK;
	mamori_task__message(res, "scanned %zu files (%s), %zu matches in "
	    "%zu files, %zu not scanned%s%s%s%s", y.scanned,
	    mamori_size_str(y.bytes, size), res->n_yara_matches,
	    y.files_matched, y.errors, y.errors > 0 ? " (first: " : "",
	    y.first_error, y.errors > 0 ? ")" : "", w.stopped ?
	    "; stopped at a limit" : "");
	r = 0;
out:
	mamori_yara_rules_free(own);
	if (inited)
		mamori_yara_finish();
	return r;
}
