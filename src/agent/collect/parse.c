/*
 * parse.c - helpers shared by the inventory collectors (see parse.h).
 *
 * These functions see untrusted bytes from files an attacker on the host may
 * have written.  They must never read past the length they were given, never
 * assume a NUL terminator on a view, never store a string with a NUL byte
 * in it, and never grow anything without a named limit.  They read; they
 * never write files or run programs.
 */
#include "parse.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "util.h"

#define ARRAY_MIN_CAP 8           /* first allocation of a repeated field */
#define DEC_DIGITS_MAX 20         /* digits of UINT64_MAX */
#define HEX_DIGITS_MAX 16

int
mamori_collect_pathf(const struct mamori_collect_ctx *ctx, char *out,
    size_t outlen, const char *fmt, ...)
{
	size_t rootlen;
	va_list ap;
	int n;

	if (outlen == 0)
		return MAMORI_ERR_INVALID;
	out[0] = '\0';
	if ((rootlen = mamori_strlcpy(out, ctx->root != NULL ? ctx->root : "",
	    outlen)) >= outlen) {
		out[0] = '\0';
		return MAMORI_ERR_TOO_LARGE;
	}
	va_start(ap, fmt);
	n = vsnprintf(out + rootlen, outlen - rootlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - rootlen) {
		out[0] = '\0';
		return MAMORI_ERR_TOO_LARGE;
	}
	return 0;
}

int
mamori_collect_read(const char *path, size_t max, struct mamori_buf *b)
{
	/* The cap is only set at creation: start b over with this one. */
	mamori_buf_free(b);
	mamori_buf_init(b, max);
	return mamori_buf_read_file(b, path);
}

void
mamori_trim(const char **s, size_t *len)
{
	const char *p = *s;
	size_t n = *len;

	while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
	    p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	*s = p;
	*len = n;
}

int
mamori_tok_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

int
mamori_read_value(const char *path, char *out, size_t outlen)
{
	struct mamori_buf b;
	const char *v;
	size_t len;
	const char *nl;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_COLLECT_ATTR_MAX);
	if (outlen > 0)
		out[0] = '\0';
	if (outlen == 0) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = mamori_buf_read_file(&b, path)) != 0)
		goto out;
	v = (const char *)b.data;
	len = b.len;
	if (v == NULL)
		len = 0;
	if (len > 0 && (nl = memchr(v, '\n', len)) != NULL)
		len = (size_t)(nl - v);
	mamori_trim(&v, &len);
	if (len > 0 && memchr(v, '\0', len) != NULL) {
		r = MAMORI_ERR_BAD_STRING;
		goto out;
	}
	if (len >= outlen) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if (len > 0)
		memcpy(out, v, len);
	out[len] = '\0';
	r = 0;
out:
	mamori_buf_free(&b);
	return r;
}

int
mamori_read_u64(const char *path, uint64_t max, uint64_t *out)
{
	char v[DEC_DIGITS_MAX + 2];
	int r = MAMORI_ERR_INTERNAL;

	*out = 0;
	if ((r = mamori_read_value(path, v, sizeof(v))) != 0)
		goto out;
	r = mamori_parse_u64(v, 0, max, out);
out:
	return r;
}

int
mamori_set_str_file(char **field, const char *path)
{
	char v[MAMORI_COLLECT_ATTR_MAX];
	int r = MAMORI_ERR_INTERNAL;

	if (mamori_read_value(path, v, sizeof(v)) != 0) {
		r = 0;          /* missing or unreadable: left empty */
		goto out;
	}
	r = mamori_set_cstr(field, v);
	if (r != MAMORI_ERR_ALLOC)
		r = 0;
out:
	return r;
}

static int
names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
mamori_names_free(struct mamori_names *names)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	names->v = NULL;
	names->n = 0;
}

int
mamori_list_dir(const char *path, size_t max, struct mamori_names *out)
{
	struct mamori_names names = {NULL, 0};
	struct dirent *de;
	char *name = NULL;
	DIR *d = NULL;
	int r = MAMORI_ERR_INTERNAL;

	out->v = NULL;
	out->n = 0;
	if ((d = opendir(path)) == NULL) {
		r = (errno == ENOENT || errno == ENOTDIR) ? MAMORI_ERR_NOT_FOUND :
		    errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_IO;
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((name = strdup(de->d_name)) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		if ((r = mamori_array_append(&names.v, &names.n, max,
		    name)) != 0)
			goto out;
		name = NULL;
	}
	if (names.n > 1)
		qsort(names.v, names.n, sizeof(*names.v), names_cmp);
	*out = names;
	names.v = NULL;
	names.n = 0;
	r = 0;
out:
	free(name);
	mamori_names_free(&names);
	if (d != NULL)
		closedir(d);
	return r;
}

int
mamori_split_kv(const char *line, size_t len, char sep,
    struct mamori_token *key, struct mamori_token *value)
{
	const char *s;
	int r = MAMORI_ERR_INTERNAL;

	key->p = value->p = line;
	key->len = value->len = 0;
	if (len == 0 || (s = memchr(line, sep, len)) == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	key->p = line;
	key->len = (size_t)(s - line);
	value->p = s + 1;
	value->len = len - key->len - 1;
	mamori_trim(&key->p, &key->len);
	mamori_trim(&value->p, &value->len);
	r = key->len == 0 ? MAMORI_ERR_INVALID : 0;
out:
	return r;
}

size_t
mamori_split_ws(const char *line, size_t len, struct mamori_token *tok,
    size_t max)
{
	size_t i = 0, n = 0, start;

	while (i < len) {
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		if (n < max) {
			tok[n].p = line + start;
			tok[n].len = i - start;
		}
		n++;
	}
	return n;
}

int
mamori_parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	char tmp[DEC_DIGITS_MAX + 1];

	*out = 0;
	if (len == 0 || len > DEC_DIGITS_MAX)
		return MAMORI_ERR_INVALID;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return mamori_parse_u64(tmp, 0, max, out);
}

int
mamori_parse_hex(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	unsigned d;

	*out = 0;
	if (len == 0 || len > HEX_DIGITS_MAX)
		return MAMORI_ERR_INVALID;
	for (i = 0; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned)(s[i] - 'a' + 10);
		else if (s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned)(s[i] - 'A' + 10);
		else
			return MAMORI_ERR_INVALID;
		v = (v << 4) | d;
	}
	if (v > max)
		return MAMORI_ERR_INVALID;
	*out = v;
	return 0;
}

void *
mamori_msg_new(const ProtobufCMessageDescriptor *desc)
{
	void *m;

	if ((m = malloc(desc->sizeof_message)) == NULL)
		return NULL;
	desc->message_init(m);
	return m;
}

void
mamori_msg_free(void *msg)
{
	if (msg != NULL)
		protobuf_c_message_free_unpacked(msg, NULL);
}

int
mamori_set_str(char **field, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *copy = NULL;
	size_t i, n;
	int r = MAMORI_ERR_INTERNAL;

	if (len > MAMORI_COLLECT_STR_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if (len > 0 && memchr(s, '\0', len) != NULL) {
		r = MAMORI_ERR_BAD_STRING;
		goto out;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < len; i += n) {
		if ((n = mamori_utf8_seq(u + i, len - i)) == 0) {
			copy[i] = '?';
			n = 1;
		} else {
			memcpy(copy + i, s + i, n);
		}
	}
	copy[len] = '\0';
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = copy;
	copy = NULL;
	r = 0;
out:
	free(copy);
	return r;
}

int
mamori_set_cstr(char **field, const char *s)
{
	return mamori_set_str(field, s, strlen(s));
}

int
mamori_array_append(void *arrayp, size_t *n, size_t max, void *item)
{
	void **arr, **grown;
	size_t cap;
	int r = MAMORI_ERR_INTERNAL;

	memcpy(&arr, arrayp, sizeof(arr));
	if (*n >= max) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	/* The capacity is max(ARRAY_MIN_CAP, next power of two >= n): the
	 * array is full exactly when n is 0, or a power of two >= the
	 * minimum. */
	if (*n == 0 || (*n >= ARRAY_MIN_CAP && (*n & (*n - 1)) == 0)) {
		cap = *n == 0 ? ARRAY_MIN_CAP : *n * 2;
		if (cap > SIZE_MAX / sizeof(*grown)) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		if ((grown = realloc(arr, cap * sizeof(*grown))) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		arr = grown;
		memcpy(arrayp, &arr, sizeof(arr));
	}
	arr[(*n)++] = item;
	r = 0;
out:
	return r;
}

int
mamori_strv_append(char ***arrayp, size_t *n, size_t max, const char *s,
    size_t len)
{
	char *copy = (char *)protobuf_c_empty_string;
	int r = MAMORI_ERR_INTERNAL;

	if (*n >= max) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = mamori_set_str(&copy, s, len)) != 0)
		goto out;
	if ((r = mamori_array_append(arrayp, n, max, copy)) != 0)
		goto out;
	copy = (char *)protobuf_c_empty_string;
	r = 0;
out:
	if (copy != protobuf_c_empty_string)
		free(copy);
	return r;
}
