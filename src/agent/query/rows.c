/*
 * rows.c - the bounded row store a virtual table scan fills.
 *
 * A scan materialises its rows here before SQLite reads them, so this is
 * where one scan's size is capped (rows, text bytes) and where a slow scan
 * notices the query's deadline.  It holds copies only; it never reads the
 * host itself.
 */
#include "tables.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "query.h"
#include "util.h"

void
mamori_qrows_init(struct mamori_qrows *r, size_t ncols,
    const struct mamori_qctx *q)
{
	memset(r, 0, sizeof(*r));
	r->ncols = ncols;
	r->q = q;
}

void
mamori_qrows_free(struct mamori_qrows *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i].s);
	free(r->cells);
	r->cells = NULL;
	r->nrows = r->cap = r->bytes = 0;
}

int
mamori_qctx_expired(const struct mamori_qctx *q)
{
	return q != NULL && q->deadline_ms != 0 &&
	    mamori_monotonic_ms() > q->deadline_ms;
}

int
mamori_qrow_add(struct mamori_qrows *r)
{
	struct mamori_qcell *grown;
	size_t cap;

	if (r->nrows >= MAMORI_QROWS_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((r->nrows & 63) == 0 && mamori_qctx_expired(r->q))
		return MAMORI_ERR_TIMEOUT;
	if (r->nrows == r->cap) {
		cap = r->cap == 0 ? 64 : r->cap * 2;
		grown = realloc(r->cells, cap * r->ncols * sizeof(*grown));
		if (grown == NULL)
			return MAMORI_ERR_ALLOC;
		r->cells = grown;
		r->cap = cap;
	}
	memset(&r->cells[r->nrows * r->ncols], 0,
	    r->ncols * sizeof(*r->cells));
	r->nrows++;
	return 0;
}

static struct mamori_qcell *
last_cell(struct mamori_qrows *r, size_t col)
{
	struct mamori_qcell *c;

	if (r->nrows == 0 || col >= r->ncols)
		return NULL;
	c = &r->cells[(r->nrows - 1) * r->ncols + col];
	if (c->s != NULL) {
		r->bytes -= c->len;
		free(c->s);
		c->s = NULL;
	}
	return c;
}

int
mamori_qrow_int(struct mamori_qrows *r, size_t col, int64_t v)
{
	struct mamori_qcell *c;

	if ((c = last_cell(r, col)) == NULL)
		return MAMORI_ERR_INTERNAL;
	c->type = MAMORI_QUERY_INT;
	c->i = v;
	return 0;
}

int
mamori_qrow_real(struct mamori_qrows *r, size_t col, double v)
{
	struct mamori_qcell *c;

	if ((c = last_cell(r, col)) == NULL)
		return MAMORI_ERR_INTERNAL;
	c->type = MAMORI_QUERY_REAL;
	c->d = v;
	return 0;
}

int
mamori_qrow_textn(struct mamori_qrows *r, size_t col, const char *s,
    size_t len)
{
	struct mamori_qcell *c;
	const char *nul;

	if ((c = last_cell(r, col)) == NULL)
		return MAMORI_ERR_INTERNAL;
	if (s == NULL) {
		c->type = MAMORI_QUERY_NULL;
		return 0;
	}
	if ((nul = memchr(s, '\0', len)) != NULL)
		len = (size_t)(nul - s);
	if (len > MAMORI_QROWS_BYTES_MAX - r->bytes)
		return MAMORI_ERR_TOO_LARGE;
	if ((c->s = mamori_memdup_str(s, len)) == NULL)
		return MAMORI_ERR_ALLOC;
	c->type = MAMORI_QUERY_TEXT;
	c->len = len;
	r->bytes += len;
	return 0;
}

int
mamori_qrow_text(struct mamori_qrows *r, size_t col, const char *s)
{
	return mamori_qrow_textn(r, col, s, s == NULL ? 0 : strlen(s));
}

const struct mamori_qcell *
mamori_qrows_cell(const struct mamori_qrows *r, size_t row, size_t col)
{
	return &r->cells[row * r->ncols + col];
}
