/*
 * audit_parse.c - the text of Linux audit records, and the assembly of the
 * records of one execve (see audit_parse.h for the format).
 *
 * The input is what the kernel wrote, but most of it is chosen by whoever
 * ran the program: argument bytes, file names, the working directory.  This
 * file must never read past the length it was given, never keep more than
 * the named limits, never store a string with a NUL byte in it, and never
 * guess at a record that breaks the format: it refuses it and says so.  It
 * makes no system calls.
 */
#include "audit_parse.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"
#include "parse.h"

#define HEADER_PREFIX "audit("
#define NULL_VALUE "(null)"
#define TTY_NONE "(none)"
#define TRUNCATED_MARK " [truncated]"
#define CHUNK_INDEX_MAX 0x7fffffffULL   /* more than MAX_ARG_STRLEN needs */
#define DEV_PART_MAX 0xfffffULL         /* 20-bit minor, 12-bit major */

/* SYSCALL fields read; a second one of these in a record is refused. */
#define SEEN_SUCCESS 0x01u
#define SEEN_PID 0x02u
#define SEEN_PPID 0x04u
#define SEEN_UID 0x08u
#define SEEN_EUID 0x10u
#define SEEN_TTY 0x20u
#define SEEN_EXE 0x40u

int
mamori_audit_header(const char *text, size_t len, struct mamori_audit_id *id,
    const char **body, size_t *body_len)
{
	const char *p = text, *end = text + len, *q;
	uint64_t v;
	int r = MAMORI_ERR_INTERNAL;

	memset(id, 0, sizeof(*id));
	*body = NULL;
	*body_len = 0;
	if (len < sizeof(HEADER_PREFIX) - 1 ||
	    memcmp(p, HEADER_PREFIX, sizeof(HEADER_PREFIX) - 1) != 0) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	p += sizeof(HEADER_PREFIX) - 1;
	/* seconds */
	if ((q = memchr(p, '.', (size_t)(end - p))) == NULL ||
	    mamori_parse_dec(p, (size_t)(q - p), UINT64_MAX, &id->sec) != 0) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	p = q + 1;
	/* milliseconds: always three digits */
	if ((q = memchr(p, ':', (size_t)(end - p))) == NULL || q - p != 3 ||
	    mamori_parse_dec(p, 3, 999, &v) != 0) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	id->msec = (uint32_t)v;
	p = q + 1;
	/* serial */
	if ((q = memchr(p, ')', (size_t)(end - p))) == NULL ||
	    mamori_parse_dec(p, (size_t)(q - p), UINT64_MAX, &id->serial) != 0) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	p = q + 1;
	if (p >= end || *p != ':') {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	p++;
	if (p < end) {
		if (*p != ' ') {
			r = MAMORI_ERR_BAD_MESSAGE;
			goto out;
		}
		p++;
	}
	*body = p;
	*body_len = (size_t)(end - p);
	r = 0;
out:
	if (r != 0)
		memset(id, 0, sizeof(*id));
	return r;
}

int
mamori_audit_next_field(const char **p, size_t *left,
    struct mamori_audit_field *f)
{
	const char *s = *p, *end = *p + *left, *w, *eq, *q;

	memset(f, 0, sizeof(*f));
	for (;;) {
		while (s < end && *s == ' ')
			s++;
		if (s == end) {
			*p = s;
			*left = 0;
			return 0;
		}
		w = s;
		while (s < end && *s != ' ' && *s != '=')
			s++;
		if (s == end || *s == ' ')
			continue;               /* a word without '=' */
		eq = s;
		if (eq == w)
			return MAMORI_ERR_BAD_MESSAGE;
		s = eq + 1;
		if (s < end && *s == '"') {
			if ((q = memchr(s + 1, '"', (size_t)(end - s - 1))) ==
			    NULL)
				return MAMORI_ERR_BAD_MESSAGE;
			if (q + 1 < end && q[1] != ' ')
				return MAMORI_ERR_BAD_MESSAGE;
			f->val = s + 1;
			f->val_len = (size_t)(q - s - 1);
			f->quoted = 1;
			s = q + 1;
		} else {
			f->val = s;
			while (s < end && *s != ' ')
				s++;
			f->val_len = (size_t)(s - f->val);
		}
		f->key = w;
		f->key_len = (size_t)(eq - w);
		*p = s;
		*left = (size_t)(end - s);
		return 1;
	}
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The value's bytes appended to out; NULs allowed only when allow_nul. */
static int
value_decode(const struct mamori_audit_field *f, int allow_nul,
    struct mamori_buf *out)
{
	size_t i, n, old_len = out->len;
	uint8_t *dst;
	int hi, lo, r = MAMORI_ERR_INTERNAL;

	if (f->quoted) {
		if (!allow_nul && memchr(f->val, '\0', f->val_len) != NULL) {
			r = MAMORI_ERR_BAD_STRING;
			goto out;
		}
		r = mamori_buf_append(out, f->val, f->val_len);
		goto out;
	}
	if (mamori_tok_eq(f->val, f->val_len, NULL_VALUE)) {
		r = 0;
		goto out;
	}
	if (f->val_len % 2 != 0) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	n = f->val_len / 2;
	if ((r = mamori_buf_reserve(out, n, &dst)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		hi = hex_digit(f->val[2 * i]);
		lo = hex_digit(f->val[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			r = MAMORI_ERR_BAD_MESSAGE;
			goto out;
		}
		dst[i] = (uint8_t)(hi << 4 | lo);
		if (dst[i] == 0 && !allow_nul) {
			r = MAMORI_ERR_BAD_STRING;
			goto out;
		}
	}
	r = 0;
out:
	if (r != 0) {
		out->len = old_len;
		if (out->data != NULL)
			out->data[old_len] = '\0';
	}
	return r;
}

int
mamori_audit_value(const struct mamori_audit_field *f, struct mamori_buf *out)
{
	return value_decode(f, 0, out);
}

void
mamori_audit_text_fix(char *s, size_t len)
{
	unsigned char *u = (unsigned char *)s;
	size_t i, n;

	for (i = 0; i < len; i += n) {
		if ((n = mamori_utf8_seq(u + i, len - i)) == 0) {
			s[i] = '?';
			n = 1;
		}
	}
}

void
mamori_audit_exec_init(struct mamori_audit_exec *x)
{
	memset(x, 0, sizeof(*x));
	mamori_buf_init(&x->priv_chunk, MAMORI_AUDIT_ARGV_BYTES_MAX);
}

void
mamori_audit_exec_free(struct mamori_audit_exec *x)
{
	size_t i;

	if (x == NULL)
		return;
	free(x->exe);
	free(x->tty);
	free(x->cwd);
	free(x->proctitle);
	for (i = 0; i < x->n_args; i++)
		free(x->args[i]);
	free(x->args);
	mamori_buf_free(&x->priv_chunk);
	mamori_audit_exec_init(x);
}

/* *dst = a malloc'ed copy of the decoded value (max bytes). */
static int
set_value(char **dst, const struct mamori_audit_field *f, size_t max)
{
	struct mamori_buf b;
	char *copy = NULL;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, max);
	if ((r = value_decode(f, 0, &b)) != 0)
		goto out;
	if ((copy = malloc(b.len + 1)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (b.len > 0)
		memcpy(copy, b.data, b.len);
	copy[b.len] = '\0';
	free(*dst);
	*dst = copy;
	copy = NULL;
	r = 0;
out:
	free(copy);
	mamori_buf_free(&b);
	return r;
}

static int
field_u32(const struct mamori_audit_field *f, uint32_t *out)
{
	uint64_t v;
	int r;

	if (f->quoted)
		return MAMORI_ERR_BAD_MESSAGE;
	if ((r = mamori_parse_dec(f->val, f->val_len, UINT32_MAX, &v)) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	*out = (uint32_t)v;
	return 0;
}

/* Marks a SYSCALL field seen; BAD_MESSAGE when it was already. */
static int
seen_once(unsigned *seen, unsigned bit)
{
	if (*seen & bit)
		return MAMORI_ERR_BAD_MESSAGE;
	*seen |= bit;
	return 0;
}

static int
add_syscall(struct mamori_audit_exec *x, const char *p, size_t left)
{
	struct mamori_audit_field f;
	unsigned seen = 0;
	int k, r = MAMORI_ERR_INTERNAL;

	if (x->have_syscall) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	x->have_syscall = 1;
	while ((k = mamori_audit_next_field(&p, &left, &f)) == 1) {
		if (mamori_tok_eq(f.key, f.key_len, "success")) {
			if ((r = seen_once(&seen, SEEN_SUCCESS)) != 0)
				goto out;
			x->success = !f.quoted &&
			    mamori_tok_eq(f.val, f.val_len, "yes");
		} else if (mamori_tok_eq(f.key, f.key_len, "pid")) {
			if ((r = seen_once(&seen, SEEN_PID)) != 0 ||
			    (r = field_u32(&f, &x->pid)) != 0)
				goto out;
		} else if (mamori_tok_eq(f.key, f.key_len, "ppid")) {
			if ((r = seen_once(&seen, SEEN_PPID)) != 0 ||
			    (r = field_u32(&f, &x->ppid)) != 0)
				goto out;
		} else if (mamori_tok_eq(f.key, f.key_len, "uid")) {
			if ((r = seen_once(&seen, SEEN_UID)) != 0 ||
			    (r = field_u32(&f, &x->uid)) != 0)
				goto out;
		} else if (mamori_tok_eq(f.key, f.key_len, "euid")) {
			if ((r = seen_once(&seen, SEEN_EUID)) != 0 ||
			    (r = field_u32(&f, &x->euid)) != 0)
				goto out;
		} else if (mamori_tok_eq(f.key, f.key_len, "tty")) {
			/* A kernel-made name, never quoted or hex. */
			if ((r = seen_once(&seen, SEEN_TTY)) != 0)
				goto out;
			if (f.quoted || f.val_len > MAMORI_AUDIT_STR_MAX ||
			    memchr(f.val, '\0', f.val_len) != NULL) {
				r = MAMORI_ERR_BAD_MESSAGE;
				goto out;
			}
			if (!mamori_tok_eq(f.val, f.val_len, TTY_NONE)) {
				free(x->tty);
				if ((x->tty = mamori_memdup_str(f.val, f.val_len)) ==
				    NULL) {
					r = MAMORI_ERR_ALLOC;
					goto out;
				}
			}
		} else if (mamori_tok_eq(f.key, f.key_len, "exe")) {
			if ((r = seen_once(&seen, SEEN_EXE)) != 0 ||
			    (r = set_value(&x->exe, &f, MAMORI_AUDIT_STR_MAX)) != 0)
				goto out;
		}
	}
	r = k;
out:
	return r;
}

/* Adds one complete argument (raw bytes), or notes it was not kept. */
static int
push_arg(struct mamori_audit_exec *x, const uint8_t *s, size_t len)
{
	char **grown, *copy = NULL;
	int r = MAMORI_ERR_INTERNAL;

	x->priv_next_arg++;
	if (x->truncated || x->n_args >= MAMORI_AUDIT_ARGS_MAX ||
	    len > MAMORI_AUDIT_ARGV_BYTES_MAX - x->args_bytes) {
		/* args stays a prefix of the real argument list */
		x->truncated = 1;
		r = 0;
		goto out;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (len > 0)
		memcpy(copy, s, len);
	copy[len] = '\0';
	if ((grown = realloc(x->args, (x->n_args + 1) * sizeof(*grown))) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	x->args = grown;
	x->args[x->n_args++] = copy;
	copy = NULL;
	x->args_bytes += len;
	r = 0;
out:
	free(copy);
	return r;
}

/* Ends an argument that came in chunks. */
static int
end_chunked(struct mamori_audit_exec *x)
{
	int r;

	if (!x->priv_chunked)
		return 0;
	x->priv_chunked = 0;
	r = push_arg(x, x->priv_chunk.data, x->priv_chunk.len);
	mamori_buf_reset(&x->priv_chunk);
	return r;
}

/*
 * Splits an EXECVE key "aN", "aN_len" or "aN[K]" into N, its form (0, 1,
 * 2) and K.  BAD_MESSAGE for anything else.
 */
static int
arg_key(const struct mamori_audit_field *f, uint64_t *n, int *form,
    uint64_t *chunk)
{
	const char *k = f->key, *end = f->key + f->key_len, *d, *b;

	*n = 0;
	*form = 0;
	*chunk = 0;
	if (f->key_len < 2 || k[0] != 'a')
		return MAMORI_ERR_BAD_MESSAGE;
	d = k + 1;
	while (d < end && *d >= '0' && *d <= '9')
		d++;
	if (mamori_parse_dec(k + 1, (size_t)(d - k - 1), MAMORI_AUDIT_ARGC_MAX,
	    n) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	if (d == end)
		return 0;
	if (mamori_tok_eq(d, (size_t)(end - d), "_len")) {
		*form = 1;
		return 0;
	}
	if (*d != '[' || end[-1] != ']')
		return MAMORI_ERR_BAD_MESSAGE;
	b = d + 1;
	if (mamori_parse_dec(b, (size_t)(end - 1 - b), CHUNK_INDEX_MAX,
	    chunk) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	*form = 2;
	return 0;
}

static int
add_execve_field(struct mamori_audit_exec *x,
    const struct mamori_audit_field *f)
{
	struct mamori_buf b;
	uint64_t n, chunk, len_full;
	int form, r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_AUDIT_ARGV_BYTES_MAX);
	if (mamori_tok_eq(f->key, f->key_len, "argc")) {
		if (x->have_execve || f->quoted ||
		    mamori_parse_dec(f->val, f->val_len, MAMORI_AUDIT_ARGC_MAX,
		    &x->argc) != 0) {
			r = MAMORI_ERR_BAD_MESSAGE;
			goto out;
		}
		x->have_execve = 1;
		r = 0;
		goto out;
	}
	if ((r = arg_key(f, &n, &form, &chunk)) != 0)
		goto out;
	if (!x->have_execve) {
		r = MAMORI_ERR_BAD_MESSAGE;     /* an argument before argc */
		goto out;
	}
	/* The argument coming in chunks ends where the next one begins. */
	if (x->priv_chunked && n == x->priv_next_arg + 1 &&
	    (r = end_chunked(x)) != 0)
		goto out;
	if (n != x->priv_next_arg || n >= x->argc) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	switch (form) {
	case 0:                         /* aN=value */
		if (x->priv_chunked) {
			r = MAMORI_ERR_BAD_MESSAGE;
			goto out;
		}
		if ((r = value_decode(f, 0, &b)) == MAMORI_ERR_TOO_LARGE) {
			r = push_arg(x, NULL, MAMORI_AUDIT_ARGV_BYTES_MAX + 1);
			goto out;
		}
		if (r != 0)
			goto out;
		r = push_arg(x, b.data, b.len);
		goto out;
	case 1:                         /* aN_len=L: chunks follow */
		if (x->priv_chunked || f->quoted ||
		    mamori_parse_dec(f->val, f->val_len, UINT64_MAX,
		    &len_full) != 0) {
			r = MAMORI_ERR_BAD_MESSAGE;
			goto out;
		}
		x->priv_chunked = 1;
		x->priv_next_chunk = 0;
		mamori_buf_reset(&x->priv_chunk);
		r = 0;
		goto out;
	default:                        /* aN[K]=chunk */
		if (!x->priv_chunked || chunk != x->priv_next_chunk) {
			r = MAMORI_ERR_BAD_MESSAGE;
			goto out;
		}
		x->priv_next_chunk++;
		r = value_decode(f, 0, &x->priv_chunk);
		if (r == MAMORI_ERR_TOO_LARGE) {
			/* Too long to keep: no argument after it is kept
			 * either, so the rest is only checked. */
			x->truncated = 1;
			mamori_buf_reset(&x->priv_chunk);
			r = 0;
		}
		goto out;
	}
out:
	mamori_buf_free(&b);
	return r;
}

static int
add_execve(struct mamori_audit_exec *x, const char *p, size_t left)
{
	struct mamori_audit_field f;
	int k, r = MAMORI_ERR_INTERNAL;

	while ((k = mamori_audit_next_field(&p, &left, &f)) == 1)
		if ((r = add_execve_field(x, &f)) != 0)
			goto out;
	r = k;
out:
	return r;
}

static int
add_cwd(struct mamori_audit_exec *x, const char *p, size_t left)
{
	struct mamori_audit_field f;
	int k, r = MAMORI_ERR_INTERNAL;

	if (x->have_cwd) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	x->have_cwd = 1;
	while ((k = mamori_audit_next_field(&p, &left, &f)) == 1)
		if (mamori_tok_eq(f.key, f.key_len, "cwd") &&
		    (r = set_value(&x->cwd, &f, MAMORI_AUDIT_STR_MAX)) != 0)
			goto out;
	r = k;
out:
	return r;
}

/* "MAJ:MIN" in hex, as the kernel writes a device. */
static int
parse_dev(const struct mamori_audit_field *f, uint32_t *major,
    uint32_t *minor)
{
	const char *c;
	uint64_t a, b;

	if (f->quoted || (c = memchr(f->val, ':', f->val_len)) == NULL ||
	    mamori_parse_hex(f->val, (size_t)(c - f->val), DEV_PART_MAX,
	    &a) != 0 ||
	    mamori_parse_hex(c + 1, f->val_len - (size_t)(c + 1 - f->val),
	    DEV_PART_MAX, &b) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	*major = (uint32_t)a;
	*minor = (uint32_t)b;
	return 0;
}

static int
add_path(struct mamori_audit_exec *x, const char *p, size_t left)
{
	struct mamori_audit_field f;
	struct mamori_audit_path item;
	int k, have_item = 0, have_inode = 0, have_dev = 0;
	int r = MAMORI_ERR_INTERNAL;

	memset(&item, 0, sizeof(item));
	while ((k = mamori_audit_next_field(&p, &left, &f)) == 1) {
		if (mamori_tok_eq(f.key, f.key_len, "item")) {
			if (have_item || f.quoted ||
			    mamori_parse_dec(f.val, f.val_len, UINT32_MAX,
			    &item.item) != 0) {
				r = MAMORI_ERR_BAD_MESSAGE;
				goto out;
			}
			have_item = 1;
		} else if (mamori_tok_eq(f.key, f.key_len, "inode")) {
			if (have_inode || f.quoted ||
			    mamori_parse_dec(f.val, f.val_len, UINT64_MAX,
			    &item.inode) != 0) {
				r = MAMORI_ERR_BAD_MESSAGE;
				goto out;
			}
			have_inode = 1;
		} else if (mamori_tok_eq(f.key, f.key_len, "dev")) {
			if (have_dev || parse_dev(&f, &item.dev_major,
			    &item.dev_minor) != 0) {
				r = MAMORI_ERR_BAD_MESSAGE;
				goto out;
			}
			have_dev = 1;
		}
	}
	if ((r = k) != 0)
		goto out;
	/* An item the kernel could not resolve has no inode: nothing to
	 * compare with later. */
	if (have_item && have_inode && have_dev &&
	    x->n_path < MAMORI_AUDIT_PATH_ITEMS_MAX)
		x->path[x->n_path++] = item;
	r = 0;
out:
	return r;
}

static int
add_proctitle(struct mamori_audit_exec *x, const char *p, size_t left)
{
	struct mamori_audit_field f;
	struct mamori_buf b;
	size_t i;
	int k, r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_AUDIT_PROCTITLE_MAX);
	if (x->proctitle != NULL) {
		r = MAMORI_ERR_BAD_MESSAGE;
		goto out;
	}
	while ((k = mamori_audit_next_field(&p, &left, &f)) == 1) {
		if (!mamori_tok_eq(f.key, f.key_len, "proctitle"))
			continue;
		mamori_buf_reset(&b);
		if ((r = value_decode(&f, 1, &b)) != 0)
			goto out;
		/* The arguments, NUL-separated: joined with spaces. */
		while (b.len > 0 && b.data[b.len - 1] == '\0')
			b.len--;
		for (i = 0; i < b.len; i++)
			if (b.data[i] == '\0')
				b.data[i] = ' ';
		free(x->proctitle);
		if ((x->proctitle = mamori_memdup_str(b.len > 0 ? (char *)b.data : "",
		    b.len)) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		x->proctitle_len = b.len;
	}
	r = k;
out:
	mamori_buf_free(&b);
	return r;
}

int
mamori_audit_exec_add(struct mamori_audit_exec *x, unsigned type,
    const char *text, size_t len)
{
	struct mamori_audit_id id;
	const char *body;
	size_t body_len;
	int r = MAMORI_ERR_INTERNAL;

	if (len > MAMORI_AUDIT_RECORD_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = mamori_audit_header(text, len, &id, &body, &body_len)) != 0)
		goto out;
	if (!x->have_id) {
		x->id = id;
		x->have_id = 1;
	} else if (id.sec != x->id.sec || id.msec != x->id.msec ||
	    id.serial != x->id.serial) {
		return MAMORI_ERR_INVALID;      /* not ours: x unchanged */
	}
	switch (type) {
	case MAMORI_AUDIT_SYSCALL:
		r = add_syscall(x, body, body_len);
		break;
	case MAMORI_AUDIT_EXECVE:
		r = add_execve(x, body, body_len);
		break;
	case MAMORI_AUDIT_CWD:
		r = add_cwd(x, body, body_len);
		break;
	case MAMORI_AUDIT_PATH:
		r = add_path(x, body, body_len);
		break;
	case MAMORI_AUDIT_PROCTITLE:
		r = add_proctitle(x, body, body_len);
		break;
	default:
		r = 0;                  /* EOE and types not read here */
		break;
	}
out:
	if (r != 0)
		x->broken = 1;
	return r;
}

int
mamori_audit_exec_finish(struct mamori_audit_exec *x)
{
	int r;

	if (x->broken)
		return MAMORI_ERR_BAD_MESSAGE;
	if ((r = end_chunked(x)) != 0) {
		x->broken = 1;
		return r;
	}
	if (!x->have_syscall || !x->success || !x->have_execve)
		return 0;
	/* Arguments missing at the end (a record lost): say so. */
	if (x->priv_next_arg < x->argc)
		x->truncated = 1;
	return 1;
}

int
mamori_audit_command_line(const struct mamori_audit_exec *x, char **out)
{
	struct mamori_buf b;
	size_t i;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	mamori_buf_init(&b, MAMORI_AUDIT_ARGV_BYTES_MAX +
	    MAMORI_AUDIT_ARGS_MAX + sizeof(TRUNCATED_MARK));
	for (i = 0; i < x->n_args; i++) {
		if ((i > 0 && (r = mamori_buf_append(&b, " ", 1)) != 0) ||
		    (r = mamori_buf_append(&b, x->args[i],
		    strlen(x->args[i]))) != 0)
			goto out;
	}
	if (x->n_args == 0 && x->proctitle != NULL &&
	    (r = mamori_buf_append(&b, x->proctitle, x->proctitle_len)) != 0)
		goto out;
	if (x->truncated && (r = mamori_buf_append(&b, TRUNCATED_MARK,
	    sizeof(TRUNCATED_MARK) - 1)) != 0)
		goto out;
	if ((*out = mamori_memdup_str(b.len > 0 ? (char *)b.data : "", b.len)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	r = 0;
out:
	mamori_buf_free(&b);
	return r;
}
