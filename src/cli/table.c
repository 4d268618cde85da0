/*
 * table.c - terminal escaping and aligned tables (see table.h).
 *
 * Input here is untrusted text from agents.  The escaper decodes UTF-8
 * itself, strictly (no overlong forms, no surrogates, nothing past
 * U+10FFFF), so a byte it does not understand is shown, never passed to the
 * terminal.  It must never write a raw control character, and never write
 * past the limits it was given.
 */
#include "table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define ESCAPE_PIECE_MAX 16 /* bytes of one escaped character */

struct cp_range {
	uint32_t lo, hi;
};

/* Characters that hide, reorder or restyle text without showing. */
static const struct cp_range hidden[] = {
	{0x0080, 0x009f}, {0x00ad, 0x00ad}, {0x061c, 0x061c},
	{0x180e, 0x180e}, {0x200b, 0x200f}, {0x2028, 0x202e},
	{0x2060, 0x2064}, {0x2066, 0x206f}, {0xfeff, 0xfeff},
	{0xfff9, 0xfffb}, {0xe0000, 0xe007f},
};

/* Combining marks: no width of their own. */
static const struct cp_range combining[] = {
	{0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd},
	{0x0610, 0x061a}, {0x064b, 0x065f}, {0x1ab0, 0x1aff},
	{0x1dc0, 0x1dff}, {0x20d0, 0x20ff}, {0x3099, 0x309a},
	{0xfe00, 0xfe0f}, {0xfe20, 0xfe2f},
};

/* East Asian wide and fullwidth characters: two columns. */
static const struct cp_range wide[] = {
	{0x1100, 0x115f}, {0x2e80, 0x303e}, {0x3041, 0x33ff},
	{0x3400, 0x4dbf}, {0x4e00, 0x9fff}, {0xa000, 0xa4cf},
	{0xac00, 0xd7a3}, {0xf900, 0xfaff}, {0xfe30, 0xfe4f},
	{0xff00, 0xff60}, {0xffe0, 0xffe6}, {0x1f300, 0x1f64f},
	{0x1f900, 0x1f9ff}, {0x20000, 0x3fffd},
};

#define N_RANGES(a) (sizeof(a) / sizeof((a)[0]))

static int
in_ranges(uint32_t cp, const struct cp_range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return 1;
	return 0;
}

/*
 * Decodes one UTF-8 character at s; returns its length in bytes (1-4) and
 * sets *cp, or returns 0 when the bytes are not valid UTF-8.  Reads no
 * further than the first byte that does not fit, so a NUL ends it.
 */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;
	uint32_t v;

	*cp = 0;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1fu;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0fu;
		if (c == 0xe0)
			lo = 0xa0;       /* no overlong forms */
		else if (c == 0xed)
			hi = 0x9f;       /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07u;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;       /* nothing past U+10FFFF */
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		unsigned char b = s[i];

		if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf))
			return 0;
		v = (v << 6) | (b & 0x3fu);
	}
	*cp = v;
	return n;
}

/* Writes "\xNN" into piece; returns its length. */
static size_t
escape_byte(unsigned char c, char *piece)
{
	static const char hex[] = "0123456789abcdef";

	piece[0] = '\\';
	piece[1] = 'x';
	piece[2] = hex[c >> 4];
	piece[3] = hex[c & 15];
	return 4;
}

/* Writes "\u{XXXX}" into piece (ESCAPE_PIECE_MAX bytes); returns its
 * length. */
static size_t
escape_cp(uint32_t cp, char *piece)
{
	static const char hex[] = "0123456789ABCDEF";
	char digits[8];
	size_t nd = 0, n = 0;

	do {
		digits[nd++] = hex[cp & 15];
		cp >>= 4;
	} while (cp != 0 && nd < sizeof(digits));
	while (nd < 4)
		digits[nd++] = '0';
	piece[n++] = '\\';
	piece[n++] = 'u';
	piece[n++] = '{';
	while (nd > 0)
		piece[n++] = digits[--nd];
	piece[n++] = '}';
	return n;
}

int
cli_escape(const char *s, size_t max_width, struct mamori_buf *out,
    size_t *width)
{
	const unsigned char *p = (const unsigned char *)s;
	struct mamori_buf tmp;
	char piece[ESCAPE_PIECE_MAX];
	size_t w = 0, fit_len = 0, fit_w = 0, pn, pw, n, ell;
	size_t combining_run = 0;
	uint32_t cp;
	int cut = 0, r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&tmp, CLI_ESCAPE_MAX_BYTES);
	if (width != NULL)
		*width = 0;
	ell = strlen(CLI_ELLIPSIS);
	if (max_width > 0 && max_width <= ell)
		max_width = ell + 1;
	while (p != NULL && *p != '\0') {
		pw = 1;
		n = 1;
		if (*p < 0x80) {
			combining_run = 0;
			if (*p == '\\') {
				memcpy(piece, "\\\\", 2);
				pn = 2;
			} else if (*p >= 0x20 && *p < 0x7f) {
				piece[0] = (char)*p;
				pn = 1;
			} else if (*p == '\t' || *p == '\n' || *p == '\r') {
				piece[0] = '\\';
				piece[1] = *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r';
				pn = 2;
			} else {
				pn = escape_byte(*p, piece);
			}
		} else if ((n = utf8_decode(p, &cp)) == 0) {
			combining_run = 0;
			n = 1;
			pn = escape_byte(*p, piece);
		} else if (in_ranges(cp, hidden, N_RANGES(hidden)) ||
		    (in_ranges(cp, combining, N_RANGES(combining)) &&
		    combining_run >= CLI_MAX_COMBINING)) {
			pn = escape_cp(cp, piece);
		} else {
			memcpy(piece, p, n);
			pn = n;
			if (in_ranges(cp, combining, N_RANGES(combining))) {
				combining_run++;
				pw = 0;
			} else {
				combining_run = 0;
				pw = in_ranges(cp, wide, N_RANGES(wide)) ? 2 : 1;
			}
		}
		if (pn > 1 && piece[0] == '\\')
			pw = pn; /* escapes are plain ASCII */
		if ((max_width > 0 && w + pw > max_width) ||
		    tmp.len + pn + ell > CLI_ESCAPE_MAX_BYTES) {
			cut = 1;
			break;
		}
		if ((r = mamori_buf_append(&tmp, piece, pn)) != 0)
			goto out;
		w += pw;
		p += n;
		if (max_width == 0 || w + ell <= max_width) {
			fit_len = tmp.len;
			fit_w = w;
		}
	}
	if (cut) {
		if ((r = mamori_buf_append(out, tmp.data, fit_len)) != 0 ||
		    (r = mamori_buf_append(out, CLI_ELLIPSIS, ell)) != 0)
			goto out;
		w = fit_w + ell;
	} else if ((r = mamori_buf_append(out, tmp.data, tmp.len)) != 0) {
		goto out;
	}
	if (width != NULL)
		*width = w;
	r = 0;
out:
	mamori_buf_free(&tmp);
	return r;
}

int
cli_table_init(struct cli_table *t, size_t ncols, const char *const *headers)
{
	int r = MAMORI_ERR_INTERNAL;

	memset(t, 0, sizeof(*t));
	if (ncols == 0 || ncols > CLI_TABLE_MAX_COLUMNS) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	t->ncols = ncols;
	t->max_width = CLI_CELL_MAX_WIDTH;
	if (headers != NULL) {
		/* Headers are never cut. */
		t->max_width = 0;
		if ((r = cli_table_add(t, headers)) != 0)
			goto out;
		t->max_width = CLI_CELL_MAX_WIDTH;
		t->has_header = 1;
	}
	r = 0;
out:
	if (r != 0)
		cli_table_free(t);
	return r;
}

size_t
cli_table_rows(const struct cli_table *t)
{
	return t->nrows - (t->has_header ? 1 : 0);
}

int
cli_table_add(struct cli_table *t, const char *const *cells)
{
	struct cli_cell *grown, *row;
	struct mamori_buf b;
	size_t i, cap;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, CLI_ESCAPE_MAX_BYTES);
	if (t->ncols == 0) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if (t->nrows >= CLI_TABLE_MAX_ROWS) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if (t->nrows == t->priv_cap) {
		cap = t->priv_cap < 16 ? 16 : t->priv_cap * 2;
		if (cap > CLI_TABLE_MAX_ROWS)
			cap = CLI_TABLE_MAX_ROWS;
		grown = realloc(t->priv_cells, cap * t->ncols * sizeof(*grown));
		if (grown == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		t->priv_cells = grown;
		t->priv_cap = cap;
	}
	row = t->priv_cells + t->nrows * t->ncols;
	memset(row, 0, t->ncols * sizeof(*row));
	for (i = 0; i < t->ncols; i++) {
		mamori_buf_reset(&b);
		if ((r = cli_escape(cells[i] == NULL ? "" : cells[i],
		    t->max_width, &b, &row[i].width)) != 0)
			goto fail;
		if ((row[i].text = strdup(b.data == NULL ? "" :
		    (const char *)b.data)) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto fail;
		}
	}
	t->nrows++;
	r = 0;
	goto out;
fail:
	for (i = 0; i < t->ncols; i++)
		free(row[i].text);
out:
	mamori_buf_free(&b);
	return r;
}

int
cli_table_print(const struct cli_table *t, FILE *out, size_t indent)
{
	size_t widths[CLI_TABLE_MAX_COLUMNS];
	size_t row, col, last, pad;
	const struct cli_cell *cells;
	int r = MAMORI_ERR_INTERNAL;

	memset(widths, 0, sizeof(widths));
	for (row = 0; row < t->nrows; row++)
		for (col = 0; col < t->ncols; col++) {
			cells = t->priv_cells + row * t->ncols;
			if (cells[col].width > widths[col])
				widths[col] = cells[col].width;
		}
	for (row = 0; row < t->nrows; row++) {
		cells = t->priv_cells + row * t->ncols;
		/* Pad only up to the last cell that holds something. */
		last = t->ncols;
		for (col = 0; col < t->ncols; col++)
			if (cells[col].width > 0)
				last = col;
		if (last == t->ncols) {
			fputc('\n', out); /* an empty row: no trailing spaces */
			continue;
		}
		for (pad = 0; pad < indent; pad++)
			fputc(' ', out);
		for (col = 0; col <= last; col++) {
			fputs(cells[col].text, out);
			if (col == last)
				break;
			for (pad = cells[col].width;
			    pad < widths[col] + CLI_COLUMN_GAP; pad++)
				fputc(' ', out);
		}
		fputc('\n', out);
	}
	if (ferror(out)) {
		r = MAMORI_ERR_IO;
		goto out;
	}
	r = 0;
out:
	return r;
}

void
cli_table_free(struct cli_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->priv_cells != NULL)
		for (i = 0; i < t->nrows * t->ncols; i++)
			free(t->priv_cells[i].text);
	free(t->priv_cells);
	memset(t, 0, sizeof(*t));
}
