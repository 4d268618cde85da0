/*
 * files.c - the file integrity source: created, modified, deleted and
 * renamed files, and changes of permissions and owner, under the watched
 * paths (ctx->opt->watch, taken under ctx->root; a component may be a glob
 * such as the "*" of /home/ * /.ssh, matched once at start).
 *
 * How: one inotify instance, non-blocking, on the event loop.  Every
 * directory of a watched tree gets a watch, new subdirectories too; the
 * parent of each watched path gets one filtered to that name, so the path
 * itself being removed, replaced or created later is seen (a watched path
 * missing at start is picked up when it appears).  An in-memory table
 * (baseline.h) holds mode, owner, size, mtime and SHA-256 of every file, so
 * each event carries "before" values.  Writes are coalesced: IN_MODIFY only
 * marks a file, which is hashed once at IN_CLOSE_WRITE or, for a file kept
 * open, after FIM_COALESCE_MS; a file created and written reports one
 * CREATED with its final hash.  IN_MOVED_FROM/IN_MOVED_TO are paired by
 * cookie into one RENAMED whose sha256_before is what the new path held
 * before when the rename replaced a file (the usual atomic rewrite of a
 * configuration file), else the moved file's own; an unpaired half is a
 * file moved out (DELETED) or in (CREATED).  Event "mode" is the whole
 * st_mode: type bits and permission bits.
 *
 * Baseline: at start every tree is walked and hashed into a fresh table,
 * compared with the table the previous run saved in ctx->state_dir
 * (FIM_BASELINE_FILE), and each difference is reported with while_down set;
 * the table is then saved, again every FIM_SAVE_INTERVAL_S when it changed,
 * and at stop.  A damaged baseline file is logged and replaced, never
 * trusted.  After an inotify queue overflow the trees are walked again and
 * compared the same way (without while_down).
 *
 * Costs and limits: files up to file_hash_max bytes (default 64 MiB) are
 * hashed synchronously in MAMORI_HASH_CHUNK reads, so one large file holds the
 * loop for the time it takes to read it (~0.1 s per 64 MiB from cache), and
 * the walk at start hashes every watched file before start returns.  Past
 * FIM_MAX_WATCH_DIRS directories, MAMORI_FIM_MAX_FILES files, FIM_MAX_DEPTH
 * levels or MAMORI_FIM_PATH_MAX bytes of path, the rest is skipped with one
 * log line per limit.  This source must never follow a symbolic link, never
 * change a file (reads use O_NOFOLLOW and O_NOATIME), never block on a FIFO
 * (O_NONBLOCK, regular files only) and never run a program.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "baseline.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "parse.h"
#include "source.h"
#include "util.h"
#include "yara_policy.h"

#define FIM_MAX_WATCH_DIRS 16384        /* inotify watches held */
#define FIM_MAX_DEPTH 64                /* levels below a watched path */
#define FIM_MAX_ROOTS 4096              /* watched paths after globbing */
#define FIM_MAX_ONLY 1024               /* names one filtered watch keeps */
#define FIM_MAX_PENDING 4096            /* files written, not yet hashed */
#define FIM_COALESCE_MS 1000            /* a file kept open is hashed after */
#define FIM_MOVE_WAIT_MS 50             /* an IN_MOVED_FROM waits its pair */
#define FIM_SAVE_INTERVAL_S 300         /* baseline saved this often */
#define FIM_READ_BUF 65536              /* one read of the inotify fd */
#define FIM_READS_PER_WAKE 16
#define FIM_BASELINE_FILE "files.baseline"
#define FIM_MASK (IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE | \
	IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | \
	IN_MOVE_SELF | IN_DONT_FOLLOW | IN_EXCL_UNLINK | IN_ONLYDIR)
#define FIM_PERM_BITS 07777u

/* One inotify watch: a whole directory (full), or only some names in it
 * (the parents of watched paths). */
struct fim_watch {
	int wd;
	int full;
	char *path;                     /* host path, without the root */
	char **only;
	size_t n_only;
};

/* A file written (or created) whose hash is still to be taken. */
struct fim_pending {
	char *path;
	int created;                    /* not in the table yet */
	struct mamori_fim_entry snap;   /* as at IN_CREATE, for a file gone
	                                 * before it was hashed */
};

struct fim_state {
	struct event_base *base;
	char *root;
	char *baseline_path;            /* NULL: no state directory */
	mamori_emit_fn emit;
	void *sink;
	struct mamori_agent_yara *yara; /* scans new executables, or NULL */
	uint64_t hash_max;
	char **patterns;
	size_t n_patterns;
	int fd;
	uint8_t *readbuf;
	struct event *read_ev, *pending_ev, *move_ev, *save_ev;
	struct mamori_fim_table *table;
	struct fim_watch *watches;
	size_t n_watches;
	struct fim_pending *pending;
	size_t n_pending;
	int move_active;
	uint32_t move_cookie;
	char *move_path;
	int dirty;                      /* table changed since the save */
	int warned_files, warned_dirs, warned_depth, warned_path;
	int warned_only;
};

enum fim_hash_policy {
	FIM_HASH_ALWAYS,                /* read the content again */
	FIM_HASH_IF_CHANGED,            /* reuse the old hash when size and
	                                 * mtime are unchanged */
};

static void fim_pending_flush(struct fim_state *st, size_t i);

/* ---- paths --------------------------------------------------------------- */

/* out = the path on disk of host path p (root prefixed). */
static int
fim_real(const struct fim_state *st, const char *p, char *out, size_t outlen)
{
	if ((size_t)snprintf(out, outlen, "%s%s", st->root, p) >= outlen)
		return MAMORI_ERR_TOO_LARGE;
	return 0;
}

/* out = dir "/" name, for host paths ("/" + name at the top). */
static int
fim_join(struct fim_state *st, const char *dir, const char *name, char *out,
    size_t outlen)
{
	int n;

	n = snprintf(out, outlen, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
	    name);
	if (n < 0 || (size_t)n >= outlen ||
	    strlen(st->root) + (size_t)n >= MAMORI_FIM_PATH_MAX) {
		if (!st->warned_path) {
			log_warn("files: a path under %s is longer than %d "
			    "bytes; such paths are not watched", dir,
			    MAMORI_FIM_PATH_MAX - 1);
			st->warned_path = 1;
		}
		return MAMORI_ERR_TOO_LARGE;
	}
	return 0;
}

/* 1 when path is prefix itself or below it. */
static int
fim_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strcmp(prefix, "/") == 0)
		return path[0] == '/';
	return strncmp(path, prefix, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

/* 1 when path lies at or below a path the pattern names (each pattern
 * component matched against the path's, as fnmatch does). */
static int
fim_pattern_covers(const char *pattern, const char *path)
{
	char pc[MAMORI_FIM_PATH_MAX], qc[MAMORI_FIM_PATH_MAX];
	const char *p = pattern, *q = path, *pe, *qe;
	size_t pl, ql;

	for (;;) {
		while (*p == '/')
			p++;
		while (*q == '/')
			q++;
		if (*p == '\0')
			return 1;
		if (*q == '\0')
			return 0;
		pe = strchr(p, '/');
		qe = strchr(q, '/');
		pl = pe != NULL ? (size_t)(pe - p) : strlen(p);
		ql = qe != NULL ? (size_t)(qe - q) : strlen(q);
		memcpy(pc, p, pl);
		pc[pl] = '\0';
		memcpy(qc, q, ql);
		qc[ql] = '\0';
		if (fnmatch(pc, qc, FNM_PERIOD) != 0)
			return 0;
		p += pl;
		q += ql;
	}
}

static int
fim_covered(const struct fim_state *st, const char *path)
{
	size_t i;

	for (i = 0; i < st->n_patterns; i++)
		if (fim_pattern_covers(st->patterns[i], path))
			return 1;
	return 0;
}

/* ---- what a file is ------------------------------------------------------ */

static void
fim_entry_from_stat(const struct stat *sb, struct mamori_fim_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->mode = (uint32_t)sb->st_mode;
	e->uid = (uint32_t)sb->st_uid;
	e->gid = (uint32_t)sb->st_gid;
	e->size = sb->st_size > 0 ? (uint64_t)sb->st_size : 0;
	e->mtime_ns = (uint64_t)sb->st_mtim.tv_sec * 1000000000ULL +
	    (uint64_t)sb->st_mtim.tv_nsec;
}

/*
 * Fills e with what host path p is now (lstat, and the content hash of a
 * regular file up to the limit).  With FIM_HASH_IF_CHANGED and an old entry
 * of the same size and mtime, old's hash is reused.  NOT_FOUND when p is
 * gone; a file that cannot be read is described without a hash.
 */
static int
fim_describe(struct fim_state *st, const char *p, enum fim_hash_policy pol,
    const struct mamori_fim_entry *old, struct mamori_fim_entry *e)
{
	char real[MAMORI_FIM_PATH_MAX];
	struct stat sb, fsb;
	int fd = -1, r = MAMORI_ERR_INTERNAL;

	memset(e, 0, sizeof(*e));
	if ((r = fim_real(st, p, real, sizeof(real))) != 0)
		goto out;
	if (lstat(real, &sb) != 0) {
		r = errno == ENOENT || errno == ENOTDIR ? MAMORI_ERR_NOT_FOUND :
		    MAMORI_ERR_IO;
		goto out;
	}
	fim_entry_from_stat(&sb, e);
	r = 0;
	if (!S_ISREG(sb.st_mode) || e->size > st->hash_max)
		goto out;
	if (pol == FIM_HASH_IF_CHANGED && old != NULL && old->has_sha256 &&
	    old->mode == e->mode && old->size == e->size &&
	    old->mtime_ns == e->mtime_ns) {
		memcpy(e->sha256, old->sha256, MAMORI_SHA256_LEN);
		e->has_sha256 = 1;
		goto out;
	}
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOATIME);
	if (fd < 0 && errno == EPERM)   /* O_NOATIME on another's file */
		fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		goto out;               /* described, without a hash */
	/* The file read must be the one described. */
	if (fstat(fd, &fsb) != 0 || !S_ISREG(fsb.st_mode) ||
	    fsb.st_ino != sb.st_ino || fsb.st_dev != sb.st_dev)
		goto out;
	if (mamori_sha256_fd(fd, st->hash_max, e->sha256) == 0)
		e->has_sha256 = 1;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* ---- events -------------------------------------------------------------- */

/*
 * A regular file with an x bit that was created, changed, moved in or
 * just made executable is handed to the policy's YARA rules (scanned on
 * the scanner thread, never here: yara_policy.h).
 */
static void
fim_yara(struct fim_state *st, Mamori__FileEvent__Action action,
    const char *path, const struct mamori_fim_entry *before,
    const struct mamori_fim_entry *after)
{
	char real[MAMORI_FIM_PATH_MAX];

	if (st->yara == NULL || after == NULL || !S_ISREG(after->mode) ||
	    (after->mode & 0111) == 0)
		return;
	if (action == MAMORI__FILE_EVENT__ACTION__PERMISSIONS) {
		if (before != NULL && (before->mode & 0111) != 0)
			return;         /* was executable: content unchanged */
	} else if (action != MAMORI__FILE_EVENT__ACTION__CREATED &&
	    action != MAMORI__FILE_EVENT__ACTION__MODIFIED &&
	    action != MAMORI__FILE_EVENT__ACTION__RENAMED)
		return;
	if (fim_real(st, path, real, sizeof(real)) != 0)
		return;
	(void)mamori_agent_yara_submit(st->yara, real, path);
}

static int
fim_emit(struct fim_state *st, Mamori__FileEvent__Action action,
    const char *path, const char *old_path,
    const struct mamori_fim_entry *before,
    const struct mamori_fim_entry *after, int while_down)
{
	const struct mamori_fim_entry *now = after != NULL ? after : before;
	char hex[2 * MAMORI_SHA256_LEN + 1];
	Mamori__Event *ev = NULL;
	Mamori__FileEvent *f;
	int r = MAMORI_ERR_INTERNAL;

	if ((ev = mamori_event_new(MAMORI__EVENT__BODY_FILE)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	f = ev->file;
	f->action = action;
	f->while_down = while_down ? 1 : 0;
	if ((r = mamori_set_cstr(&f->path, path)) != 0)
		goto out;
	if (old_path != NULL && (r = mamori_set_cstr(&f->old_path,
	    old_path)) != 0)
		goto out;
	if (before != NULL && before->has_sha256) {
		mamori_hex(before->sha256, MAMORI_SHA256_LEN, hex);
		if ((r = mamori_set_cstr(&f->sha256_before, hex)) != 0)
			goto out;
	}
	if (after != NULL && after->has_sha256) {
		mamori_hex(after->sha256, MAMORI_SHA256_LEN, hex);
		if ((r = mamori_set_cstr(&f->sha256_after, hex)) != 0)
			goto out;
	}
	if (now != NULL) {
		f->mode = now->mode;
		f->uid = now->uid;
		f->gid = now->gid;
		f->size = now->size;
	}
	if (before != NULL) {
		f->old_mode = before->mode;
		f->old_uid = before->uid;
		f->old_gid = before->gid;
	}
	r = st->emit(st->sink, ev);
	ev = NULL;
	if (r != 0)
		log_warn("files: event not spooled: %s", mamori_strerror(r));
	fim_yara(st, action, path, before, after);
out:
	mamori_event_free(ev);
	return r;
}

static int
fim_content_differs(const struct mamori_fim_entry *a,
    const struct mamori_fim_entry *b)
{
	if ((a->mode & S_IFMT) != (b->mode & S_IFMT))
		return 1;
	if (S_ISDIR(a->mode))
		return 0;               /* a directory's content is its entries */
	if (a->has_sha256 && b->has_sha256)
		return memcmp(a->sha256, b->sha256, MAMORI_SHA256_LEN) != 0;
	/* One side past the hash limit (or unreadable): size and mtime are
	 * all there is to compare. */
	return a->size != b->size || a->mtime_ns != b->mtime_ns;
}

/* Reports how after differs from before (NULL: it is new). */
static void
fim_compare(struct fim_state *st, const char *path,
    const struct mamori_fim_entry *before,
    const struct mamori_fim_entry *after, int while_down)
{
	if (before == NULL) {
		(void)fim_emit(st, MAMORI__FILE_EVENT__ACTION__CREATED, path,
		    NULL, NULL, after, while_down);
		return;
	}
	if (fim_content_differs(before, after))
		(void)fim_emit(st, MAMORI__FILE_EVENT__ACTION__MODIFIED, path,
		    NULL, before, after, while_down);
	if ((before->mode & FIM_PERM_BITS) != (after->mode & FIM_PERM_BITS))
		(void)fim_emit(st, MAMORI__FILE_EVENT__ACTION__PERMISSIONS,
		    path, NULL, before, after, while_down);
	if (before->uid != after->uid || before->gid != after->gid)
		(void)fim_emit(st, MAMORI__FILE_EVENT__ACTION__OWNER, path,
		    NULL, before, after, while_down);
}

/* Records e for path; with report set, first reports how it changed. */
static void
fim_track(struct fim_state *st, const char *path,
    const struct mamori_fim_entry *e, int report)
{
	struct mamori_fim_entry before, *cur;
	int r;

	cur = mamori_fim_table_get(st->table, path);
	if (cur != NULL)
		before = *cur;
	if ((r = mamori_fim_table_put(st->table, path, e)) != 0) {
		if (r == MAMORI_ERR_TOO_LARGE && !st->warned_files) {
			log_warn("files: more than %d files under the watched "
			    "paths; the others are not tracked",
			    MAMORI_FIM_MAX_FILES);
			st->warned_files = 1;
		} else if (r != MAMORI_ERR_TOO_LARGE) {
			log_warn("files: cannot track a file: %s",
			    mamori_strerror(r));
		}
		return;
	}
	st->dirty = 1;
	if (report)
		fim_compare(st, path, cur != NULL ? &before : NULL, e, 0);
}

/* Describes path again and records (and reports) the difference. */
static void
fim_refresh(struct fim_state *st, const char *path, enum fim_hash_policy pol)
{
	struct mamori_fim_entry e, *old;

	old = mamori_fim_table_get(st->table, path);
	if (fim_describe(st, path, pol, old, &e) != 0)
		return;
	fim_track(st, path, &e, 1);
}

/* Collects the table's paths at or below prefix (malloc'ed copies). */
static int
fim_collect(struct fim_state *st, const char *prefix, int below_only,
    char ***out, size_t *n)
{
	struct mamori_fim_iter it;
	struct mamori_fim_entry *e;
	char **v = NULL, **grown;
	size_t cnt = 0, cap = 0;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	*n = 0;
	mamori_fim_iter_init(st->table, &it);
	while ((e = mamori_fim_iter_next(st->table, &it)) != NULL) {
		if (!fim_under(e->path, prefix) ||
		    (below_only && strcmp(e->path, prefix) == 0))
			continue;
		if (cnt == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((grown = realloc(v, cap * sizeof(*v))) == NULL) {
				r = MAMORI_ERR_ALLOC;
				goto out;
			}
			v = grown;
		}
		if ((v[cnt] = strdup(e->path)) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		cnt++;
	}
	*out = v;
	*n = cnt;
	v = NULL;
	r = 0;
out:
	while (v != NULL && cnt > 0)
		free(v[--cnt]);
	free(v);
	return r;
}

static void
fim_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Forgets path (and, with subtree set, everything below it), reporting
 * each as DELETED when report is set. */
static void
fim_untrack(struct fim_state *st, const char *path, int subtree, int report)
{
	struct mamori_fim_entry before, *cur;
	char **v = NULL;
	size_t n = 0, i;

	cur = mamori_fim_table_get(st->table, path);
	if (subtree && cur != NULL && S_ISDIR(cur->mode) &&
	    fim_collect(st, path, 1, &v, &n) == 0) {
		for (i = 0; i < n; i++) {
			cur = mamori_fim_table_get(st->table, v[i]);
			if (cur == NULL)
				continue;
			before = *cur;
			if (report)
				(void)fim_emit(st,
				    MAMORI__FILE_EVENT__ACTION__DELETED, v[i],
				    NULL, &before, NULL, 0);
			(void)mamori_fim_table_del(st->table, v[i]);
		}
		fim_strv_free(v, n);
	}
	if ((cur = mamori_fim_table_get(st->table, path)) == NULL)
		return;
	before = *cur;
	if (report)
		(void)fim_emit(st, MAMORI__FILE_EVENT__ACTION__DELETED, path,
		    NULL, &before, NULL, 0);
	(void)mamori_fim_table_del(st->table, path);
	st->dirty = 1;
}

/* ---- watches ------------------------------------------------------------- */

static struct fim_watch *
fim_watch_find(struct fim_state *st, int wd)
{
	size_t i;

	for (i = 0; i < st->n_watches; i++)
		if (st->watches[i].wd == wd)
			return &st->watches[i];
	return NULL;
}

static void
fim_watch_clear(struct fim_watch *w)
{
	fim_strv_free(w->only, w->n_only);
	free(w->path);
	memset(w, 0, sizeof(*w));
}

static void
fim_watch_drop(struct fim_state *st, struct fim_watch *w)
{
	size_t i = (size_t)(w - st->watches);

	fim_watch_clear(w);
	st->watches[i] = st->watches[--st->n_watches];
}

static int
fim_watch_has(const struct fim_watch *w, const char *name)
{
	size_t i;

	if (w->full)
		return 1;
	for (i = 0; i < w->n_only; i++)
		if (strcmp(w->only[i], name) == 0)
			return 1;
	return 0;
}

/* Watches directory host path dir: whole (only == NULL) or for the one
 * name only.  A directory watched already is widened, never narrowed. */
static int
fim_watch_add(struct fim_state *st, const char *dir, const char *only)
{
	char real[MAMORI_FIM_PATH_MAX], *copy = NULL, **grown;
	struct fim_watch *w, *wgrown;
	int wd, r = MAMORI_ERR_INTERNAL;

	if ((r = fim_real(st, dir, real, sizeof(real))) != 0)
		goto out;
	if (st->n_watches >= FIM_MAX_WATCH_DIRS) {
		if (!st->warned_dirs) {
			log_warn("files: more than %d directories under the "
			    "watched paths; the others are not watched",
			    FIM_MAX_WATCH_DIRS);
			st->warned_dirs = 1;
		}
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((wd = inotify_add_watch(st->fd, real[0] != '\0' ? real : "/",
	    FIM_MASK)) < 0) {
		if (errno == ENOSPC && !st->warned_dirs) {
			log_warn("files: the kernel's inotify watch limit is "
			    "reached (fs.inotify.max_user_watches); %s and "
			    "others are not watched", dir);
			st->warned_dirs = 1;
		}
		r = errno == ENOENT || errno == ENOTDIR ? MAMORI_ERR_NOT_FOUND :
		    MAMORI_ERR_SYSTEM;
		goto out;
	}
	if ((w = fim_watch_find(st, wd)) == NULL) {
		if ((wgrown = realloc(st->watches,
		    (st->n_watches + 1) * sizeof(*st->watches))) == NULL) {
			(void)inotify_rm_watch(st->fd, wd);
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		st->watches = wgrown;
		w = &st->watches[st->n_watches];
		memset(w, 0, sizeof(*w));
		if ((w->path = strdup(dir)) == NULL) {
			(void)inotify_rm_watch(st->fd, wd);
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		w->wd = wd;
		st->n_watches++;
	} else if (strcmp(w->path, dir) != 0) {
		/* The same directory under a new name (renamed meanwhile):
		 * the newest name is the one events must carry. */
		if ((copy = strdup(dir)) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		free(w->path);
		w->path = copy;
		copy = NULL;
	}
	if (only == NULL) {
		fim_strv_free(w->only, w->n_only);
		w->only = NULL;
		w->n_only = 0;
		w->full = 1;
	} else if (!fim_watch_has(w, only)) {
		if (w->n_only >= FIM_MAX_ONLY) {
			if (!st->warned_only) {
				log_warn("files: more than %d watched paths in "
				    "%s; the others are not watched",
				    FIM_MAX_ONLY, dir);
				st->warned_only = 1;
			}
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		if ((copy = strdup(only)) == NULL ||
		    (grown = realloc(w->only, (w->n_only + 1) *
		    sizeof(*w->only))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		w->only = grown;
		w->only[w->n_only++] = copy;
		copy = NULL;
	}
	r = 0;
out:
	free(copy);
	return r;
}

/* Stops watching every directory at or below path (moved out of sight). */
static void
fim_watch_remove_tree(struct fim_state *st, const char *path)
{
	size_t i = 0;

	while (i < st->n_watches) {
		if (st->watches[i].full && fim_under(st->watches[i].path,
		    path)) {
			(void)inotify_rm_watch(st->fd, st->watches[i].wd);
			fim_watch_drop(st, &st->watches[i]);
			continue;
		}
		i++;
	}
}

/* Renames the watches at or below from to the same place below to. */
static void
fim_watch_rename_tree(struct fim_state *st, const char *from, const char *to)
{
	char np[MAMORI_FIM_PATH_MAX], *copy;
	size_t i, n = strlen(from);

	for (i = 0; i < st->n_watches; i++) {
		if (!fim_under(st->watches[i].path, from))
			continue;
		if ((size_t)snprintf(np, sizeof(np), "%s%s", to,
		    st->watches[i].path + n) >= sizeof(np) ||
		    (copy = strdup(np)) == NULL)
			continue;
		free(st->watches[i].path);
		st->watches[i].path = copy;
	}
}

/* ---- walking ------------------------------------------------------------- */

struct fim_dir {
	char *path;
	unsigned depth;
};

/*
 * Watches and records the tree at host path top (a directory), reporting
 * what is new or changed when report is set.  Depth-first with an explicit
 * stack, so a deep tree costs heap, not stack.
 */
static int
fim_walk(struct fim_state *st, const char *top, int report)
{
	struct fim_dir *stack = NULL, *grown, cur = {NULL, 0};
	size_t n = 0, cap = 0;
	struct mamori_fim_entry e;
	char real[MAMORI_FIM_PATH_MAX], child[MAMORI_FIM_PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd, r;

	if ((r = fim_describe(st, top, FIM_HASH_ALWAYS,
	    mamori_fim_table_get(st->table, top), &e)) != 0)
		return r;
	fim_track(st, top, &e, report);
	if (!S_ISDIR(e.mode))
		return 0;
	if ((cur.path = strdup(top)) == NULL)
		return MAMORI_ERR_ALLOC;
	for (;;) {
		if (cur.path == NULL) {
			if (n == 0)
				break;
			cur = stack[--n];
		}
		if (fim_watch_add(st, cur.path, NULL) == MAMORI_ERR_TOO_LARGE)
			goto next;
		if (fim_real(st, cur.path, real, sizeof(real)) != 0)
			goto next;
		fd = open(real[0] != '\0' ? real : "/", O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			goto next;
		if ((d = fdopendir(fd)) == NULL) {
			close(fd);
			goto next;
		}
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (fim_join(st, cur.path, de->d_name, child,
			    sizeof(child)) != 0)
				continue;
			if (fim_describe(st, child, FIM_HASH_ALWAYS,
			    mamori_fim_table_get(st->table, child), &e) != 0)
				continue;
			fim_track(st, child, &e, report);
			if (!S_ISDIR(e.mode))
				continue;
			if (cur.depth + 1 > FIM_MAX_DEPTH) {
				if (!st->warned_depth) {
					log_warn("files: %s is more than %d "
					    "levels deep; deeper directories "
					    "are not watched", child,
					    FIM_MAX_DEPTH);
					st->warned_depth = 1;
				}
				continue;
			}
			if (n + st->n_watches >= FIM_MAX_WATCH_DIRS)
				continue;       /* fim_watch_add warns */
			if (n == cap) {
				cap = cap == 0 ? 64 : cap * 2;
				if ((grown = realloc(stack,
				    cap * sizeof(*stack))) == NULL)
					break;
				stack = grown;
			}
			if ((stack[n].path = strdup(child)) == NULL)
				break;
			stack[n++].depth = cur.depth + 1;
		}
		closedir(d);
next:
		free(cur.path);
		cur.path = NULL;
	}
	while (n > 0)
		free(stack[--n].path);
	free(stack);
	return 0;
}

/* Watches one watched path: its parent for the name (so the path can
 * come, go and be replaced), and the tree below when it is a directory. */
static void
fim_watch_root(struct fim_state *st, const char *path, int report)
{
	char parent[MAMORI_FIM_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int r;

	if (slash == NULL || strcmp(path, "/") == 0)
		return;
	memcpy(parent, path, (size_t)(slash - path));
	parent[slash - path] = '\0';
	if (parent[0] == '\0')
		mamori_strlcpy(parent, "/", sizeof(parent));
	if ((r = fim_watch_add(st, parent, slash + 1)) != 0 &&
	    r != MAMORI_ERR_TOO_LARGE) {
		log_info("files: %s does not exist; not watched", path);
		return;
	}
	if (fim_walk(st, path, report) == MAMORI_ERR_NOT_FOUND)
		log_info("files: %s does not exist yet; watched for its "
		    "creation", path);
}

/* Appends a copy of path to (*v, *n), at most FIM_MAX_ROOTS. */
static int
fim_strv_push(char ***v, size_t *n, const char *path)
{
	char **grown;

	if (*n >= FIM_MAX_ROOTS)
		return MAMORI_ERR_TOO_LARGE;
	if ((grown = realloc(*v, (*n + 1) * sizeof(**v))) == NULL)
		return MAMORI_ERR_ALLOC;
	*v = grown;
	if ((grown[*n] = strdup(path)) == NULL)
		return MAMORI_ERR_ALLOC;
	(*n)++;
	return 0;
}

/* The matches of glob component comp in host directory dir, appended to
 * (*v, *n); with dirs_only set, only directories count. */
static void
fim_glob_dir(struct fim_state *st, const char *dir, const char *comp,
    int dirs_only, char ***v, size_t *n)
{
	char real[MAMORI_FIM_PATH_MAX], path[MAMORI_FIM_PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if (fim_real(st, dir, real, sizeof(real)) != 0 ||
	    (d = opendir(real[0] != '\0' ? real : "/")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    fnmatch(comp, de->d_name, FNM_PERIOD) != 0)
			continue;
		if (fim_join(st, dir, de->d_name, path, sizeof(path)) != 0)
			continue;
		if (dirs_only && (fim_real(st, path, real, sizeof(real)) != 0 ||
		    lstat(real, &sb) != 0 || !S_ISDIR(sb.st_mode)))
			continue;
		if (fim_strv_push(v, n, path) != 0)
			break;
	}
	closedir(d);
}

/*
 * Expands one pattern's glob components (fnmatch, dot files not matched)
 * against the disk and watches each match.  A pattern without a glob is
 * watched as it is, even when missing.
 */
static void
fim_expand(struct fim_state *st, const char *pattern, int report)
{
	char **cur = NULL, **next = NULL;
	size_t n_cur = 0, n_next = 0, i, len;
	char comp[MAMORI_FIM_PATH_MAX], path[MAMORI_FIM_PATH_MAX];
	const char *p = pattern, *end;

	if (fim_strv_push(&cur, &n_cur, "/") != 0)
		goto out;
	for (;;) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, '/');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len;
		if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			log_warn("files: watched path %s holds \".\" or "
			    "\"..\"; ignored", pattern);
			goto out;
		}
		for (i = 0; i < n_cur; i++) {
			if (strpbrk(comp, "*?[") != NULL)
				fim_glob_dir(st, cur[i], comp, *p != '\0',
				    &next, &n_next);
			else if (fim_join(st, cur[i], comp, path,
			    sizeof(path)) == 0)
				(void)fim_strv_push(&next, &n_next, path);
		}
		if (n_next >= FIM_MAX_ROOTS)
			log_warn("files: %s matches more than %d paths; the "
			    "others are not watched", pattern, FIM_MAX_ROOTS);
		fim_strv_free(cur, n_cur);
		cur = next;
		n_cur = n_next;
		next = NULL;
		n_next = 0;
	}
	for (i = 0; i < n_cur; i++)
		fim_watch_root(st, cur[i], report);
out:
	fim_strv_free(cur, n_cur);
	fim_strv_free(next, n_next);
}

static void
fim_watch_all(struct fim_state *st, int report)
{
	size_t i;

	for (i = 0; i < st->n_patterns; i++)
		fim_expand(st, st->patterns[i], report);
}

/*
 * Compares the table a walk just built with old: every difference is
 * reported (with while_down for the baseline at start); entries of old
 * that no pattern covers any more are dropped without a word.
 */
static void
fim_diff(struct fim_state *st, struct mamori_fim_table *old, int while_down)
{
	struct mamori_fim_iter it;
	struct mamori_fim_entry *e, *o;

	mamori_fim_iter_init(st->table, &it);
	while ((e = mamori_fim_iter_next(st->table, &it)) != NULL)
		fim_compare(st, e->path, mamori_fim_table_get(old, e->path), e,
		    while_down);
	mamori_fim_iter_init(old, &it);
	while ((o = mamori_fim_iter_next(old, &it)) != NULL)
		if (mamori_fim_table_get(st->table, o->path) == NULL &&
		    fim_covered(st, o->path))
			(void)fim_emit(st, MAMORI__FILE_EVENT__ACTION__DELETED,
			    o->path, NULL, o, NULL, while_down);
}

/* Walks everything again into a fresh table and reports the differences
 * (after the kernel dropped events). */
static void
fim_rescan(struct fim_state *st)
{
	struct mamori_fim_table *old = st->table, *fresh;

	if ((fresh = mamori_fim_table_new(MAMORI_FIM_MAX_FILES)) == NULL)
		return;
	st->table = fresh;
	fim_watch_all(st, 0);
	fim_diff(st, old, 0);
	mamori_fim_table_free(old);
	st->dirty = 1;
}

static void
fim_save(struct fim_state *st)
{
	int r;

	if (st->baseline_path == NULL || !st->dirty)
		return;
	if ((r = mamori_baseline_save(st->baseline_path, st->table)) != 0) {
		log_warn("files: cannot save the baseline %s: %s",
		    st->baseline_path, mamori_strerror(r));
		return;
	}
	st->dirty = 0;
}

/* ---- pending writes and moves -------------------------------------------- */

static ssize_t
fim_pending_find(const struct fim_state *st, const char *path)
{
	size_t i;

	for (i = 0; i < st->n_pending; i++)
		if (strcmp(st->pending[i].path, path) == 0)
			return (ssize_t)i;
	return -1;
}

/* Hashes pending file i now and reports it; removes it from the list. */
static void
fim_pending_flush(struct fim_state *st, size_t i)
{
	struct fim_pending p = st->pending[i];
	struct mamori_fim_entry e;

	st->pending[i] = st->pending[--st->n_pending];
	if (fim_describe(st, p.path, FIM_HASH_ALWAYS,
	    mamori_fim_table_get(st->table, p.path), &e) == 0)
		fim_track(st, p.path, &e, 1);
	else if (p.created)
		fim_track(st, p.path, &p.snap, 1); /* gone already */
	free(p.path);
}

static void
fim_pending_flush_path(struct fim_state *st, const char *path)
{
	ssize_t i;

	if ((i = fim_pending_find(st, path)) >= 0)
		fim_pending_flush(st, (size_t)i);
}

static void
fim_pending_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fim_state *st = arg;

	(void)fd;
	(void)what;
	while (st->n_pending > 0)
		fim_pending_flush(st, st->n_pending - 1);
}

/* Marks path as written; it is hashed at close or after the delay. */
static void
fim_pending_add(struct fim_state *st, const char *path, int created)
{
	struct timeval tv = {FIM_COALESCE_MS / 1000,
	    (FIM_COALESCE_MS % 1000) * 1000};
	struct fim_pending *p;
	struct stat sb;
	char real[MAMORI_FIM_PATH_MAX];

	if (fim_pending_find(st, path) >= 0)
		return;
	if (st->n_pending >= FIM_MAX_PENDING) {
		fim_refresh(st, path, FIM_HASH_ALWAYS);
		return;
	}
	p = &st->pending[st->n_pending];
	memset(p, 0, sizeof(*p));
	if (fim_real(st, path, real, sizeof(real)) != 0 ||
	    lstat(real, &sb) != 0 || (p->path = strdup(path)) == NULL) {
		if (created)
			fim_refresh(st, path, FIM_HASH_ALWAYS);
		return;
	}
	if (!S_ISREG(sb.st_mode)) {
		free(p->path);
		p->path = NULL;
		fim_refresh(st, path, FIM_HASH_ALWAYS);
		return;
	}
	fim_entry_from_stat(&sb, &p->snap);
	p->created = created;
	st->n_pending++;
	if (!evtimer_pending(st->pending_ev, NULL))
		(void)evtimer_add(st->pending_ev, &tv);
}

/* A file or tree that appeared (created, or moved in from elsewhere). */
static void
fim_appeared(struct fim_state *st, const char *path, int is_dir)
{
	if (is_dir)
		(void)fim_walk(st, path, 1);
	else
		fim_refresh(st, path, FIM_HASH_ALWAYS);
}

/* A file or tree that left the watched paths (moved out, no pair). */
static void
fim_moved_out(struct fim_state *st, const char *path)
{
	fim_untrack(st, path, 1, 1);
	fim_watch_remove_tree(st, path);
}

static void
fim_move_finish(struct fim_state *st)
{
	if (!st->move_active)
		return;
	st->move_active = 0;
	(void)evtimer_del(st->move_ev);
	fim_moved_out(st, st->move_path);
	free(st->move_path);
	st->move_path = NULL;
}

static void
fim_move_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fim_move_finish(arg);
}

/* Moves the table entries below from to below to (a renamed directory). */
static void
fim_rekey_tree(struct fim_state *st, const char *from, const char *to)
{
	char np[MAMORI_FIM_PATH_MAX];
	struct mamori_fim_entry e, *cur;
	size_t n = 0, i, flen = strlen(from);
	char **v = NULL;

	if (fim_collect(st, from, 1, &v, &n) != 0)
		return;
	for (i = 0; i < n; i++) {
		if ((cur = mamori_fim_table_get(st->table, v[i])) == NULL)
			continue;
		e = *cur;
		(void)mamori_fim_table_del(st->table, v[i]);
		if ((size_t)snprintf(np, sizeof(np), "%s%s", to,
		    v[i] + flen) >= sizeof(np))
			continue;
		if (mamori_fim_table_put(st->table, np, &e) != 0)
			continue;
	}
	fim_strv_free(v, n);
	st->dirty = 1;
}

/* A rename inside the watched paths: from -> to. */
static void
fim_renamed(struct fim_state *st, const char *from, const char *to,
    int is_dir)
{
	struct mamori_fim_entry moved, replaced, now, *cur;
	int had_replaced = 0, known;

	if ((cur = mamori_fim_table_get(st->table, from)) == NULL &&
	    is_dir) {
		/* A tree not known before: walked as new. */
		fim_appeared(st, to, is_dir);
		return;
	}
	/* The source may be unknown (a temporary file created and renamed
	 * before its events were read, or past a limit): the rename is
	 * still reported, with what the target held before if anything. */
	if ((known = cur != NULL))
		moved = *cur;
	else
		memset(&moved, 0, sizeof(moved));
	if ((cur = mamori_fim_table_get(st->table, to)) != NULL) {
		replaced = *cur;
		had_replaced = 1;
	}
	if (fim_describe(st, to, FIM_HASH_IF_CHANGED, known ? &moved : NULL,
	    &now) != 0) {
		fim_moved_out(st, from);        /* gone again already */
		return;
	}
	(void)fim_emit(st, MAMORI__FILE_EVENT__ACTION__RENAMED, to, from,
	    had_replaced ? &replaced : known ? &moved : NULL, &now, 0);
	if (had_replaced && S_ISDIR(replaced.mode))
		fim_untrack(st, to, 1, 0);
	(void)mamori_fim_table_del(st->table, from);
	if (known && S_ISDIR(moved.mode)) {
		fim_rekey_tree(st, from, to);
		fim_watch_rename_tree(st, from, to);
	}
	fim_track(st, to, &now, 0);
	st->dirty = 1;
}

/* ---- inotify ------------------------------------------------------------- */

static void
fim_handle(struct fim_state *st, const struct inotify_event *ie,
    const char *name)
{
	char path[MAMORI_FIM_PATH_MAX];
	struct fim_watch *w;
	int is_dir = (ie->mask & IN_ISDIR) != 0;

	if (ie->mask & IN_Q_OVERFLOW) {
		log_warn("files: the kernel dropped file events (inotify queue "
		    "overflow); walking the watched paths again");
		fim_move_finish(st);
		fim_rescan(st);
		return;
	}
	if ((w = fim_watch_find(st, ie->wd)) == NULL)
		return;
	if (ie->mask & IN_IGNORED) {
		fim_watch_drop(st, w);
		return;
	}
	/* Events on a watched directory itself are reported by its
	 * parent's watch, which every watched path has. */
	if (name == NULL || !fim_watch_has(w, name))
		return;
	if (fim_join(st, w->path, name, path, sizeof(path)) != 0)
		return;
	if (st->move_active && (!(ie->mask & IN_MOVED_TO) ||
	    ie->cookie != st->move_cookie))
		fim_move_finish(st);
	if (ie->mask & (IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB)) {
		if (ie->mask & IN_CLOSE_WRITE) {
			if (fim_pending_find(st, path) >= 0)
				fim_pending_flush_path(st, path);
			else
				fim_refresh(st, path, FIM_HASH_ALWAYS);
		} else if (ie->mask & IN_MODIFY) {
			fim_pending_add(st, path, 0);
		} else if (fim_pending_find(st, path) < 0) {
			/* A pending file reports its final attributes
			 * when flushed. */
			fim_refresh(st, path, FIM_HASH_IF_CHANGED);
		}
		return;
	}
	fim_pending_flush_path(st, path);
	if (ie->mask & IN_CREATE) {
		if (is_dir || mamori_fim_table_get(st->table, path) != NULL)
			fim_appeared(st, path, is_dir);
		else
			fim_pending_add(st, path, 1);
	} else if (ie->mask & IN_DELETE) {
		/* rmdir needs an empty directory: no subtree to forget. */
		fim_untrack(st, path, 0, 1);
	} else if (ie->mask & IN_MOVED_FROM) {
		struct timeval tv = {0, FIM_MOVE_WAIT_MS * 1000};

		if ((st->move_path = strdup(path)) == NULL) {
			fim_moved_out(st, path);
			return;
		}
		st->move_active = 1;
		st->move_cookie = ie->cookie;
		(void)evtimer_add(st->move_ev, &tv);
	} else if (ie->mask & IN_MOVED_TO) {
		if (st->move_active && ie->cookie == st->move_cookie) {
			st->move_active = 0;
			(void)evtimer_del(st->move_ev);
			fim_renamed(st, st->move_path, path, is_dir);
			free(st->move_path);
			st->move_path = NULL;
		} else {
			fim_appeared(st, path, is_dir);
		}
	}
}

static void
fim_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fim_state *st = arg;
	const struct inotify_event *ie;
	size_t off, nlen;
	ssize_t n;
	int i;

	(void)what;
	for (i = 0; i < FIM_READS_PER_WAKE; i++) {
		n = read(fd, st->readbuf, FIM_READ_BUF);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("files: reading inotify events "
				    "failed: %s", strerror(errno));
			return;
		}
		if (n == 0)
			return;
		for (off = 0; off + sizeof(*ie) <= (size_t)n;
		    off += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)(void *)
			    (st->readbuf + off);
			if (ie->len > (size_t)n - off - sizeof(*ie))
				break;
			nlen = ie->len > 0 ? strnlen(ie->name, ie->len) : 0;
			if (nlen == ie->len && nlen > 0)
				break;          /* the kernel pads with NUL */
			fim_handle(st, ie, nlen > 0 ? ie->name : NULL);
		}
	}
}

static void
fim_save_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fim_save(arg);
}

/* ---- start and stop ------------------------------------------------------ */

static void
files_stop(void *state)
{
	struct fim_state *st = state;
	size_t i;

	if (st == NULL)
		return;
	if (st->move_active)
		fim_move_finish(st);
	if (st->table != NULL && st->pending != NULL)
		fim_pending_cb(-1, 0, st);
	if (st->table != NULL)
		fim_save(st);
	if (st->read_ev != NULL)
		event_free(st->read_ev);
	if (st->pending_ev != NULL)
		event_free(st->pending_ev);
	if (st->move_ev != NULL)
		event_free(st->move_ev);
	if (st->save_ev != NULL)
		event_free(st->save_ev);
	if (st->fd >= 0)
		close(st->fd);
	for (i = 0; i < st->n_watches; i++)
		fim_watch_clear(&st->watches[i]);
	free(st->watches);
	free(st->pending);
	free(st->move_path);
	fim_strv_free(st->patterns, st->n_patterns);
	mamori_fim_table_free(st->table);
	free(st->readbuf);
	free(st->baseline_path);
	free(st->root);
	free(st);
}

/* Reads the previous run's table; NULL when there is none or it is
 * damaged (then said once, and replaced by the next save). */
static struct mamori_fim_table *
fim_load_previous(struct fim_state *st)
{
	struct mamori_fim_table *old = NULL;
	int r;

	if (st->baseline_path == NULL)
		return NULL;
	r = mamori_baseline_load(st->baseline_path, MAMORI_FIM_MAX_FILES, &old);
	if (r == MAMORI_ERR_NOT_FOUND) {
		log_info("files: no baseline yet (%s); this run makes the "
		    "first one", st->baseline_path);
	} else if (r != 0) {
		log_error("files: the baseline %s is damaged (%s); changes "
		    "made while the agent was down cannot be reported this "
		    "time, a fresh baseline is written", st->baseline_path,
		    mamori_strerror(r));
	}
	return old;
}

static int
files_start(const struct mamori_source_ctx *ctx, void **state)
{
	const struct mamori_source_options *opt = ctx->opt;
	struct mamori_fim_table *old = NULL;
	struct fim_state *st = NULL;
	struct timeval save_tv = {FIM_SAVE_INTERVAL_S, 0};
	char path[MAMORI_FIM_PATH_MAX];
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	*state = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	st->fd = -1;
	st->base = ctx->base;
	st->emit = ctx->emit;
	st->sink = ctx->sink;
	st->yara = ctx->yara;
	st->hash_max = opt != NULL && opt->file_hash_max != 0 ?
	    opt->file_hash_max : MAMORI_FILE_HASH_MAX_DEFAULT;
	if ((st->root = strdup(ctx->root != NULL ? ctx->root : "")) == NULL ||
	    (st->readbuf = malloc(FIM_READ_BUF)) == NULL ||
	    (st->pending = calloc(FIM_MAX_PENDING,
	    sizeof(*st->pending))) == NULL ||
	    (st->table = mamori_fim_table_new(MAMORI_FIM_MAX_FILES)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	/* Trailing slashes off the root, so root + "/etc" is one path. */
	for (i = strlen(st->root); i > 0 && st->root[i - 1] == '/'; i--)
		st->root[i - 1] = '\0';
	if (ctx->state_dir != NULL && ctx->state_dir[0] != '\0') {
		if ((r = mamori_path_join(path, sizeof(path), ctx->state_dir,
		    FIM_BASELINE_FILE)) != 0) {
			log_error("files: state directory path too long");
			goto out;
		}
		if ((st->baseline_path = strdup(path)) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
	}
	if (opt != NULL && opt->n_watch > 0) {
		if ((st->patterns = calloc(opt->n_watch,
		    sizeof(*st->patterns))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		for (i = 0; i < opt->n_watch && i < MAMORI_MAX_WATCH_PATHS;
		    i++) {
			if (opt->watch[i] == NULL || opt->watch[i][0] != '/' ||
			    strlen(opt->watch[i]) >= MAMORI_FIM_PATH_MAX) {
				log_warn("files: watched path %s is not an "
				    "absolute path; ignored", opt->watch[i] ?
				    opt->watch[i] : "(null)");
				continue;
			}
			if ((st->patterns[st->n_patterns] =
			    strdup(opt->watch[i])) == NULL) {
				r = MAMORI_ERR_ALLOC;
				goto out;
			}
			st->n_patterns++;
		}
	}
	if ((st->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_error("files: inotify is not available: %s",
		    strerror(errno));
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	if ((st->read_ev = event_new(st->base, st->fd, EV_READ | EV_PERSIST,
	    fim_read_cb, st)) == NULL ||
	    (st->pending_ev = evtimer_new(st->base, fim_pending_cb,
	    st)) == NULL ||
	    (st->move_ev = evtimer_new(st->base, fim_move_cb, st)) == NULL ||
	    (st->save_ev = event_new(st->base, -1, EV_PERSIST, fim_save_cb,
	    st)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	/* Watches first, then the walk: a change during the walk is seen
	 * twice at worst, never missed. */
	old = fim_load_previous(st);
	fim_watch_all(st, 0);
	if (old != NULL)
		fim_diff(st, old, 1);
	st->dirty = 1;
	fim_save(st);
	log_info("files: watching %zu paths: %zu directories, %zu files",
	    st->n_patterns, st->n_watches,
	    mamori_fim_table_count(st->table));
	if (event_add(st->read_ev, NULL) != 0 ||
	    event_add(st->save_ev, &save_tv) != 0) {
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	*state = st;
	st = NULL;
	r = 0;
out:
	mamori_fim_table_free(old);
	files_stop(st);
	return r;
}

const struct mamori_event_source mamori_source_files = {
	.name = "file",
	.start = files_start,
	.stop = files_stop,
};
