/*
 * logins.c - the login event source: sessions opened and closed (wtmp),
 * ssh authentication, sudo and su (the auth log).
 *
 * Two files are followed like tail -F, on a poll timer of the agent's
 * loop: ROOT/var/log/wtmp (fixed 384-byte utmp records) and the auth log
 * (opt->auth_log as given, or ROOT/var/log/auth.log).  Each poll stats the
 * path: a new inode is a rotation, so the old file is read to its end
 * before the new one is read from its start; a size below our offset is a
 * truncation, so reading starts over.  The device, inode and offset of each
 * file are kept in STATE_DIR/logins.state after every poll that moved them,
 * so a restart goes on where the last run stopped (events between the last
 * spool write and the state write may repeat: delivery is at least once).
 * A file rotated while the agent was down is finished from PATH.1 when its
 * inode matches the saved one.  With no saved state a file present at start
 * is read from its end (its history predates the agent); a file that
 * appears later is read from its start.
 *
 * Closing records in wtmp rarely name the user, so the USER_PROCESS records
 * of sessions still open are kept (up to LOGINS_MAX_OPEN, rebuilt at start
 * from the last LOGINS_REBUILD_MAX bytes of wtmp) and a DEAD_PROCESS record
 * is matched to one by terminal, and by pid when both have one.
 *
 * The systemd journal is not read: on a host without a syslog auth log,
 * sshd, sudo and su events are off and a warning says so.  Auth log lines
 * are text any local user can add through syslog(3), so their events say
 * what the log says, not what surely happened.
 *
 * This file reads with bounded chunks and a bounded budget per poll, never
 * runs a program, and writes nothing but its state file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "authlog.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "parse.h"
#include "source.h"
#include "util.h"

#define LOGINS_POLL_MS 250                      /* how often files are read */
#define LOGINS_CHUNK (64 * 1024)                /* bytes read at once */
#define LOGINS_READ_MAX (4 * 1024 * 1024)       /* bytes per file per poll */
#define LOGINS_MAX_OPEN 4096                    /* open sessions remembered */
#define LOGINS_REBUILD_MAX (64 * 1024 * 1024)   /* wtmp bytes replayed */
#define LOGINS_PATH_MAX 4096
#define LOGINS_STATE_FILE "logins.state"
#define LOGINS_STATE_MAX 4096                   /* bytes of the state file */
#define LOGINS_STATE_TOKENS 4                   /* name dev ino offset */
#define LOGINS_ROTATED_SUFFIX ".1"
#define US_PER_MS 1000

enum follow_kind {
	FOLLOW_WTMP,
	FOLLOW_AUTHLOG,
};

/* One followed file. */
struct follow {
	const char *name;               /* its key in the state file */
	enum follow_kind kind;
	char path[LOGINS_PATH_MAX];
	int fd;                         /* -1: not open */
	uint64_t dev, ino, off;         /* of fd; off: bytes consumed */
	int skipping;                   /* inside a line too long to read */
	int have_saved;                 /* from the state file, until used */
	uint64_t saved_dev, saved_ino, saved_off;
};

struct logins {
	struct mamori_source_ctx ctx;
	char state_path[LOGINS_PATH_MAX];   /* "": no state kept */
	struct event *timer;
	struct follow wtmp, auth;
	struct mamori_wtmp_record *open;    /* sessions still open */
	size_t n_open, cap_open;
	uint32_t last_su_pid;           /* su logs one switch twice */
	uint8_t *chunk;
	int dirty;                      /* offsets moved since the save */
};

/* ---- state ---------------------------------------------------------------- */

static void
state_load(struct logins *st)
{
	struct mamori_token tok[LOGINS_STATE_TOKENS];
	struct follow *f;
	struct mamori_cursor c;
	struct mamori_buf b;
	const char *line;
	size_t len;
	uint64_t dev, ino, off;

	if (st->state_path[0] == '\0')
		return;
	mamori_buf_init(&b, LOGINS_STATE_MAX);
	if (mamori_buf_read_file(&b, st->state_path) != 0)
		goto out;       /* first run, or unreadable: start fresh */
	mamori_cursor_init(&c, b.data, b.len);
	while (mamori_next_line(&c, &line, &len)) {
		if (mamori_split_ws(line, len, tok, LOGINS_STATE_TOKENS) !=
		    LOGINS_STATE_TOKENS ||
		    mamori_parse_dec(tok[1].p, tok[1].len, UINT64_MAX,
		    &dev) != 0 ||
		    mamori_parse_dec(tok[2].p, tok[2].len, UINT64_MAX,
		    &ino) != 0 ||
		    mamori_parse_dec(tok[3].p, tok[3].len, UINT64_MAX,
		    &off) != 0)
			continue;
		if (mamori_tok_eq(tok[0].p, tok[0].len, st->wtmp.name))
			f = &st->wtmp;
		else if (mamori_tok_eq(tok[0].p, tok[0].len, st->auth.name))
			f = &st->auth;
		else
			continue;
		f->have_saved = 1;
		f->saved_dev = dev;
		f->saved_ino = ino;
		f->saved_off = off;
	}
out:
	mamori_buf_free(&b);
}

/* Appends f's position to the state text at out (size outlen). */
static int
state_line(const struct follow *f, char *out, size_t outlen)
{
	uint64_t dev = f->dev, ino = f->ino, off = f->off;
	int n;

	if (f->fd < 0) {
		if (!f->have_saved)
			return 0;
		dev = f->saved_dev;
		ino = f->saved_ino;
		off = f->saved_off;
	}
	n = snprintf(out, outlen, "%s %llu %llu %llu\n", f->name,
	    (unsigned long long)dev, (unsigned long long)ino,
	    (unsigned long long)off);
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

/* Writes the state file whole (temporary file, fsync, rename). */
static int
state_save(struct logins *st)
{
	char text[LOGINS_STATE_MAX], tmp[LOGINS_PATH_MAX];
	size_t len = 0;
	ssize_t w;
	int n, fd = -1, r = MAMORI_ERR_INTERNAL;

	if (st->state_path[0] == '\0') {
		r = 0;
		goto out;
	}
	if ((n = state_line(&st->wtmp, text, sizeof(text))) < 0)
		goto out;
	len = (size_t)n;
	if ((n = state_line(&st->auth, text + len, sizeof(text) - len)) < 0)
		goto out;
	len += (size_t)n;
	n = snprintf(tmp, sizeof(tmp), "%s.tmp", st->state_path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		log_warn("logins: cannot write %s: %s", tmp, strerror(errno));
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	if ((w = write(fd, text, len)) < 0 || (size_t)w != len ||
	    fsync(fd) != 0) {
		log_warn("logins: cannot write %s: %s", tmp, strerror(errno));
		r = MAMORI_ERR_IO;
		goto out;
	}
	if (close(fd) != 0 || rename(tmp, st->state_path) != 0) {
		fd = -1;
		log_warn("logins: cannot replace %s: %s", st->state_path,
		    strerror(errno));
		r = MAMORI_ERR_IO;
		goto out;
	}
	fd = -1;
	st->dirty = 0;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* ---- open sessions -------------------------------------------------------- */

/* The open session rec closes: same terminal, and same pid when both have
 * one; the index or n_open. */
static size_t
open_find(const struct logins *st, const struct mamori_wtmp_record *rec)
{
	size_t i, by_line = st->n_open;

	for (i = 0; i < st->n_open; i++) {
		if (strcmp(st->open[i].line, rec->line) != 0)
			continue;
		if (rec->pid > 0 && st->open[i].pid == rec->pid)
			return i;
		by_line = i;
	}
	return by_line;
}

static void
open_remove(struct logins *st, size_t i)
{
	if (i >= st->n_open)
		return;
	st->open[i] = st->open[st->n_open - 1];
	st->n_open--;
}

static int
open_add(struct logins *st, const struct mamori_wtmp_record *rec)
{
	struct mamori_wtmp_record *grown;
	size_t cap;

	open_remove(st, open_find(st, rec));    /* a terminal reused */
	if (st->n_open >= LOGINS_MAX_OPEN)
		open_remove(st, 0);             /* forget the oldest */
	if (st->n_open == st->cap_open) {
		cap = st->cap_open == 0 ? 16 : st->cap_open * 2;
		if ((grown = realloc(st->open, cap * sizeof(*grown))) == NULL)
			return MAMORI_ERR_ALLOC;
		st->open = grown;
		st->cap_open = cap;
	}
	st->open[st->n_open++] = *rec;
	return 0;
}

/* ---- records and lines ---------------------------------------------------- */

/* Emits ev (ownership passes); logs a failure. */
static int
emit(struct logins *st, Mamori__Event *ev)
{
	int r;

	if ((r = st->ctx.emit(st->ctx.sink, ev)) != 0)
		log_warn("logins: event not spooled, retried at the next poll:"
		    " %s", mamori_strerror(r));
	return r;
}

/* One wtmp record: the open sessions updated, an event emitted when
 * report is set.  Nonzero only when the event could not be emitted. */
static int
wtmp_record(struct logins *st, const uint8_t *data, int report)
{
	struct mamori_wtmp_record rec;
	Mamori__Event *ev = NULL;
	size_t i;
	int r;

	if (mamori_wtmp_decode(data, MAMORI_WTMP_RECORD_SIZE, &rec) != 0)
		return 0;
	if (rec.type == MAMORI_WTMP_USER_PROCESS) {
		if (report) {
			if ((r = mamori_wtmp_event(&rec, NULL, &ev)) != 0)
				return r;
			if (ev != NULL && (r = emit(st, ev)) != 0)
				return r;
		}
		if (open_add(st, &rec) != 0)
			log_warn("logins: out of memory for open sessions");
		return 0;
	}
	if (rec.type != MAMORI_WTMP_DEAD_PROCESS)
		return 0;
	i = open_find(st, &rec);
	/* Without a matching open session a close is a getty or init
	 * record unless it names a user. */
	if (report && (i < st->n_open || rec.user[0] != '\0')) {
		if ((r = mamori_wtmp_event(&rec, i < st->n_open ?
		    &st->open[i] : NULL, &ev)) != 0)
			return r;
		if (ev != NULL && (r = emit(st, ev)) != 0)
			return r;
	}
	open_remove(st, i);
	return 0;
}

static int
auth_line(struct logins *st, const char *line, size_t len)
{
	Mamori__Event *ev = NULL;
	int r;

	if ((r = mamori_authlog_parse(line, len, &ev)) != 0 || ev == NULL)
		return r;
	/* su writes "(to X) Y on TTY" and pam_unix's session line for one
	 * switch: report it once. */
	if (ev->login->action == MAMORI__LOGIN_EVENT__ACTION__SU &&
	    ev->login->pid != 0) {
		if (ev->login->pid == st->last_su_pid) {
			mamori_event_free(ev);
			return 0;
		}
		st->last_su_pid = ev->login->pid;
	}
	return emit(st, ev);
}

/*
 * Handles the whole units (lines, records) in buf; *used gets the bytes
 * done.  At the end of a file being left (last), a final line without its
 * newline counts as whole.  Nonzero when an event could not be emitted:
 * the unit that failed is not counted in *used.
 */
static int
consume(struct logins *st, struct follow *f, const uint8_t *buf,
    size_t len, int last, int report, size_t *used)
{
	const uint8_t *nl;
	size_t pos = 0, n;
	int r = 0;

	if (f->kind == FOLLOW_WTMP) {
		for (; len - pos >= MAMORI_WTMP_RECORD_SIZE;
		    pos += MAMORI_WTMP_RECORD_SIZE)
			if ((r = wtmp_record(st, buf + pos, report)) != 0)
				break;
		*used = pos;
		return r;
	}
	while (pos < len) {
		if ((nl = memchr(buf + pos, '\n', len - pos)) == NULL) {
			if (len - pos > MAMORI_AUTHLOG_LINE_MAX) {
				f->skipping = 1;        /* drop it to its end */
				pos = len;
			} else if (last) {
				if (!f->skipping &&
				    (r = auth_line(st, (const char *)buf + pos,
				    len - pos)) != 0)
					break;
				f->skipping = 0;
				pos = len;
			}
			break;
		}
		n = (size_t)(nl - (buf + pos));
		if (f->skipping)
			f->skipping = 0;
		else if ((r = auth_line(st, (const char *)buf + pos, n)) != 0)
			break;
		pos += n + 1;
	}
	*used = pos;
	return r;
}

/* ---- following ------------------------------------------------------------ */

/*
 * Reads f from its offset on, up to LOGINS_READ_MAX bytes.  last: the file
 * is being left (rotated away).  Returns 0 at the end of the data, 1 when
 * the budget ran out first, or an error (nothing more is read this poll).
 */
static int
follow_read(struct logins *st, struct follow *f, int last)
{
	struct stat sb;
	size_t budget = LOGINS_READ_MAX, want, used;
	ssize_t n;
	uint64_t size;
	int r = MAMORI_ERR_INTERNAL;

	if (fstat(f->fd, &sb) != 0) {
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	size = (uint64_t)sb.st_size;
	if (size < f->off) {
		log_info("logins: %s was truncated; reading it from the start",
		    f->path);
		f->off = 0;
		f->skipping = 0;
		st->dirty = 1;
	}
	if (f->kind == FOLLOW_WTMP)
		f->off -= f->off % MAMORI_WTMP_RECORD_SIZE;
	while (f->off < size && budget > 0) {
		want = size - f->off < LOGINS_CHUNK ? (size_t)(size - f->off) :
		    LOGINS_CHUNK;
		n = pread(f->fd, st->chunk, want, (off_t)f->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("logins: cannot read %s: %s", f->path,
			    strerror(errno));
			r = MAMORI_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		budget -= (size_t)n < budget ? (size_t)n : budget;
		r = consume(st, f, st->chunk, (size_t)n,
		    last && f->off + (uint64_t)n >= size, 1, &used);
		f->off += used;
		if (used > 0)
			st->dirty = 1;
		if (r != 0)
			goto out;
		if (used == 0)
			break;          /* a partial line or record */
	}
	r = f->off < size && budget == 0 ? 1 : 0;
out:
	return r;
}

/* Replays the wtmp records before f->off (at most LOGINS_REBUILD_MAX
 * bytes of them) into the open sessions, reporting nothing. */
static void
wtmp_rebuild(struct logins *st, struct follow *f)
{
	uint64_t pos = 0;
	size_t want, used;
	ssize_t n;

	if (f->off > LOGINS_REBUILD_MAX)
		pos = f->off - LOGINS_REBUILD_MAX;
	pos -= pos % MAMORI_WTMP_RECORD_SIZE;
	while (pos < f->off) {
		want = f->off - pos < LOGINS_CHUNK ? (size_t)(f->off - pos) :
		    LOGINS_CHUNK - LOGINS_CHUNK % MAMORI_WTMP_RECORD_SIZE;
		if ((n = pread(f->fd, st->chunk, want, (off_t)pos)) <= 0)
			break;
		(void)consume(st, f, st->chunk, (size_t)n, 0, 0, &used);
		if (used == 0)
			break;
		pos += used;
	}
}

/* Opens f's path.  at_start: the first open, where saved state applies. */
static int
follow_open(struct logins *st, struct follow *f, int at_start)
{
	char rotated[LOGINS_PATH_MAX];
	struct stat sb;
	int n, fd = -1, r = MAMORI_ERR_INTERNAL;

	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0) {
		r = errno == ENOENT ? MAMORI_ERR_NOT_FOUND :
		    errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_SYSTEM;
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	f->fd = fd;
	f->dev = (uint64_t)sb.st_dev;
	f->ino = (uint64_t)sb.st_ino;
	f->off = 0;
	f->skipping = 0;
	fd = -1;
	if (at_start && f->have_saved && f->saved_dev == f->dev &&
	    f->saved_ino == f->ino) {
		f->off = f->saved_off;  /* beyond the end: truncated, later */
	} else if (at_start && f->have_saved) {
		/* Rotated while we were down: finish the old file first; the
		 * next poll sees the new inode and moves on to it. */
		n = snprintf(rotated, sizeof(rotated), "%s%s", f->path,
		    LOGINS_ROTATED_SUFFIX);
		if (n > 0 && (size_t)n < sizeof(rotated) &&
		    (fd = open(rotated, O_RDONLY | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK)) >= 0 && fstat(fd, &sb) == 0 &&
		    S_ISREG(sb.st_mode) &&
		    (uint64_t)sb.st_dev == f->saved_dev &&
		    (uint64_t)sb.st_ino == f->saved_ino) {
			close(f->fd);
			f->fd = fd;
			f->dev = f->saved_dev;
			f->ino = f->saved_ino;
			f->off = f->saved_off;
			fd = -1;
		}
	} else if (at_start) {
		f->off = (uint64_t)sb.st_size;  /* history predates us */
	}
	f->have_saved = 0;
	st->dirty = 1;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static void
follow_close(struct follow *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* One poll of one file. */
static void
follow_tick(struct logins *st, struct follow *f)
{
	struct stat sb;
	int here;

	here = stat(f->path, &sb) == 0 && S_ISREG(sb.st_mode);
	if (f->fd < 0) {
		if (!here || follow_open(st, f, 0) != 0)
			return;
	} else if (here && ((uint64_t)sb.st_ino != f->ino ||
	    (uint64_t)sb.st_dev != f->dev)) {
		if (follow_read(st, f, 1) != 0)
			return;         /* more of the old file next time */
		log_info("logins: %s was rotated; following the new file",
		    f->path);
		follow_close(f);
		if (follow_open(st, f, 0) != 0)
			return;
	}
	(void)follow_read(st, f, 0);
}

static void
logins_tick(evutil_socket_t fd, short what, void *arg)
{
	struct logins *st = arg;

	(void)fd;
	(void)what;
	follow_tick(st, &st->wtmp);
	follow_tick(st, &st->auth);
	if (st->dirty)
		(void)state_save(st);
}

/* ---- the source ----------------------------------------------------------- */

static void
logins_stop(void *state)
{
	struct logins *st = state;

	if (st == NULL)
		return;
	if (st->timer != NULL)
		event_free(st->timer);
	if (st->dirty)
		(void)state_save(st);
	follow_close(&st->wtmp);
	follow_close(&st->auth);
	free(st->open);
	free(st->chunk);
	free(st);
}

static int
logins_start(const struct mamori_source_ctx *ctx, void **state)
{
	const char *root = ctx->root != NULL ? ctx->root : "";
	const char *auth = ctx->opt != NULL ? ctx->opt->auth_log : NULL;
	struct logins *st = NULL;
	struct timeval tv;
	int n, r = MAMORI_ERR_INTERNAL;

	*state = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->chunk = malloc(LOGINS_CHUNK)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	st->ctx = *ctx;
	st->wtmp.name = "wtmp";
	st->wtmp.kind = FOLLOW_WTMP;
	st->wtmp.fd = -1;
	st->auth.name = "authlog";
	st->auth.kind = FOLLOW_AUTHLOG;
	st->auth.fd = -1;
	n = snprintf(st->wtmp.path, sizeof(st->wtmp.path), "%s%s", root,
	    "/var/log/wtmp");
	if (n < 0 || (size_t)n >= sizeof(st->wtmp.path)) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if (auth != NULL && auth[0] != '\0')
		n = snprintf(st->auth.path, sizeof(st->auth.path), "%s", auth);
	else
		n = snprintf(st->auth.path, sizeof(st->auth.path), "%s%s", root,
		    "/var/log/auth.log");
	if (n < 0 || (size_t)n >= sizeof(st->auth.path)) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if (ctx->state_dir != NULL && ctx->state_dir[0] != '\0' &&
	    (r = mamori_path_join(st->state_path, sizeof(st->state_path),
	    ctx->state_dir, LOGINS_STATE_FILE)) != 0)
		goto out;
	state_load(st);
	if (follow_open(st, &st->wtmp, 1) == 0)
		wtmp_rebuild(st, &st->wtmp);
	else
		log_info("logins: no %s yet; sessions are reported once it "
		    "appears", st->wtmp.path);
	if (follow_open(st, &st->auth, 1) != 0)
		log_warn("logins: no auth log at %s (the systemd journal is "
		    "not read); ssh, sudo and su events start once it appears",
		    st->auth.path);
	tv.tv_sec = 0;
	tv.tv_usec = LOGINS_POLL_MS * US_PER_MS;
	if ((st->timer = event_new(ctx->base, -1, EV_PERSIST, logins_tick,
	    st)) == NULL || event_add(st->timer, &tv) != 0) {
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	(void)state_save(st);   /* where we start, should we restart soon */
	*state = st;
	st = NULL;
	r = 0;
out:
	logins_stop(st);
	return r;
}

const struct mamori_event_source mamori_source_logins = {
	.name = "login",
	.start = logins_start,
	.stop = logins_stop,
};
