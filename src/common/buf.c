/*
 * buf.c - bounded cursor and capped buffer (see buf.h).  This file must never
 * read or write outside the ranges it was given, whatever the input.
 */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"

void
mamori_cursor_init(struct mamori_cursor *c, const void *data, size_t len)
{
	c->priv_data = data;
	c->priv_len = data == NULL ? 0 : len;
	c->priv_off = 0;
}

size_t
mamori_cursor_remaining(const struct mamori_cursor *c)
{
	return c->priv_len - c->priv_off;
}

int
mamori_cursor_bytes(struct mamori_cursor *c, size_t n, const uint8_t **out)
{
	*out = NULL;
	if (n > mamori_cursor_remaining(c))
		return MAMORI_ERR_TRUNCATED;
	*out = c->priv_data + c->priv_off;
	c->priv_off += n;
	return 0;
}

int
mamori_cursor_copy(struct mamori_cursor *c, void *out, size_t n)
{
	const uint8_t *p;
	int r;

	if ((r = mamori_cursor_bytes(c, n, &p)) != 0)
		return r;
	if (n > 0)
		memcpy(out, p, n);
	return 0;
}

static int
cursor_be(struct mamori_cursor *c, size_t n, uint64_t *out)
{
	const uint8_t *p;
	uint64_t v = 0;
	size_t i;
	int r;

	*out = 0;
	if ((r = mamori_cursor_bytes(c, n, &p)) != 0)
		return r;
	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	*out = v;
	return 0;
}

int
mamori_cursor_u8(struct mamori_cursor *c, uint8_t *out)
{
	uint64_t v;
	int r = cursor_be(c, 1, &v);

	*out = (uint8_t)v;
	return r;
}

int
mamori_cursor_u16(struct mamori_cursor *c, uint16_t *out)
{
	uint64_t v;
	int r = cursor_be(c, 2, &v);

	*out = (uint16_t)v;
	return r;
}

int
mamori_cursor_u32(struct mamori_cursor *c, uint32_t *out)
{
	uint64_t v;
	int r = cursor_be(c, 4, &v);

	*out = (uint32_t)v;
	return r;
}

int
mamori_cursor_u64(struct mamori_cursor *c, uint64_t *out)
{
	return cursor_be(c, 8, out);
}

int
mamori_cursor_str8(struct mamori_cursor *c, char *out, size_t max)
{
	struct mamori_cursor save = *c;
	const uint8_t *p;
	uint8_t n;
	int r;

	out[0] = '\0';
	if ((r = mamori_cursor_u8(c, &n)) != 0)
		return r;
	if (n > max) {
		*c = save;
		return MAMORI_ERR_TOO_LARGE;
	}
	if ((r = mamori_cursor_bytes(c, n, &p)) != 0) {
		*c = save;
		return r;
	}
	if (memchr(p, '\0', n) != NULL) {
		*c = save;
		return MAMORI_ERR_BAD_STRING;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
mamori_cursor_end(const struct mamori_cursor *c)
{
	return mamori_cursor_remaining(c) == 0 ? 0 : MAMORI_ERR_TRAILING;
}

int
mamori_next_line(struct mamori_cursor *c, const char **line, size_t *line_len)
{
	const uint8_t *start, *nl;
	size_t left = mamori_cursor_remaining(c);

	*line = NULL;
	*line_len = 0;
	if (left == 0)
		return 0;
	start = c->priv_data + c->priv_off;
	nl = memchr(start, '\n', left);
	if (nl == NULL) {
		*line = (const char *)start;
		*line_len = left;
		c->priv_off = c->priv_len;
	} else {
		*line = (const char *)start;
		*line_len = (size_t)(nl - start);
		c->priv_off += *line_len + 1;
	}
	return 1;
}

void
mamori_buf_init(struct mamori_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->priv_cap = 0;
	b->priv_max = max;
}

int
mamori_buf_reserve(struct mamori_buf *b, size_t n, uint8_t **out)
{
	size_t need, cap;
	uint8_t *p;

	*out = NULL;
	if (n > b->priv_max || b->len > b->priv_max - n)
		return MAMORI_ERR_TOO_LARGE;
	need = b->len + n + 1; /* room for the trailing NUL */
	if (need > b->priv_cap) {
		cap = b->priv_cap < 256 ? 256 : b->priv_cap;
		while (cap < need)
			cap = cap > SIZE_MAX / 2 ? need : cap * 2;
		/* priv_max + 1 wraps to 0 for an unlimited buffer. */
		if (b->priv_max < SIZE_MAX && cap > b->priv_max + 1)
			cap = b->priv_max + 1;
		/* Not realloc: the old copy may hold secrets and must be wiped. */
		if ((p = malloc(cap)) == NULL)
			return MAMORI_ERR_ALLOC;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			OPENSSL_cleanse(b->data, b->priv_cap);
			free(b->data);
		}
		b->data = p;
		b->priv_cap = cap;
	}
	*out = b->data + b->len;
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
mamori_buf_append(struct mamori_buf *b, const void *data, size_t n)
{
	uint8_t *p;
	int r;

	if ((r = mamori_buf_reserve(b, n, &p)) != 0)
		return r;
	if (n > 0)
		memcpy(p, data, n);
	return 0;
}

static int
buf_put_be(struct mamori_buf *b, uint64_t v, size_t n)
{
	uint8_t tmp[8];
	size_t i;

	for (i = 0; i < n; i++)
		tmp[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return mamori_buf_append(b, tmp, n);
}

int
mamori_buf_put_u8(struct mamori_buf *b, uint8_t v)
{
	return buf_put_be(b, v, 1);
}

int
mamori_buf_put_u16(struct mamori_buf *b, uint16_t v)
{
	return buf_put_be(b, v, 2);
}

int
mamori_buf_put_u32(struct mamori_buf *b, uint32_t v)
{
	return buf_put_be(b, v, 4);
}

int
mamori_buf_put_u64(struct mamori_buf *b, uint64_t v)
{
	return buf_put_be(b, v, 8);
}

int
mamori_buf_put_str8(struct mamori_buf *b, const char *s)
{
	size_t n = strlen(s);
	int r;

	if (n > 255)
		return MAMORI_ERR_TOO_LARGE;
	if ((r = mamori_buf_put_u8(b, (uint8_t)n)) != 0)
		return r;
	return mamori_buf_append(b, s, n);
}

void
mamori_buf_reset(struct mamori_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
mamori_buf_free(struct mamori_buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->priv_cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->priv_cap = 0;
}

int
mamori_buf_read_file(struct mamori_buf *b, const char *path)
{
	uint8_t *p;
	ssize_t n;
	int fd, r = MAMORI_ERR_INTERNAL;

	mamori_buf_reset(b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? MAMORI_ERR_NOT_FOUND :
		    errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_IO;
	for (;;) {
		size_t chunk = b->priv_max - b->len;

		if (chunk > 4096)
			chunk = 4096;
		if (chunk == 0) {
			/* At the cap: the file fits only if it ends here.
			 * A short read is not the end (pipes, /proc); only
			 * a read of 0 is. */
			uint8_t probe;

			do {
				n = read(fd, &probe, 1);
			} while (n < 0 && errno == EINTR);
			r = n == 0 ? 0 :
			    n > 0 ? MAMORI_ERR_TOO_LARGE : MAMORI_ERR_IO;
			break;
		}
		if ((r = mamori_buf_reserve(b, chunk, &p)) != 0)
			break;
		b->len -= chunk;
		n = read(fd, p, chunk);
		if (n < 0) {
			b->data[b->len] = '\0';
			if (errno == EINTR)
				continue;
			r = MAMORI_ERR_IO;
			break;
		}
		b->len += (size_t)n;
		b->data[b->len] = '\0';
		if (n == 0) {
			r = 0;
			break;
		}
	}
	close(fd);
	if (r != 0)
		mamori_buf_reset(b);
	return r;
}
