/*
 * table.h - text for people: escaping of untrusted strings for a terminal,
 * and tables with aligned columns.
 *
 * Most of what the CLI prints was written by agents (hostnames, package
 * names, paths), so every cell goes through cli_escape: control characters,
 * invalid UTF-8 and the invisible characters that reorder or hide text
 * (bidirectional overrides, zero-width characters) are written as visible
 * escapes, and a cell is cut at a display width.  A table must never write
 * a byte of a cell that did not go through it.
 */
#ifndef MAMORI_CLI_TABLE_H
#define MAMORI_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"

#define CLI_CELL_MAX_WIDTH 60        /* display columns of a table cell */
#define CLI_COLUMN_GAP 2             /* spaces between columns */
#define CLI_TABLE_MAX_COLUMNS 32
#define CLI_TABLE_MAX_ROWS 4000000   /* a 64 MiB response holds fewer */
#define CLI_ELLIPSIS "..."           /* marks a cut cell */
#define CLI_ESCAPE_MAX_BYTES (1024 * 1024) /* output of one escape */

/*
 * Appends s to out escaped for a terminal:
 *  - printable ASCII as is, except "\" written as "\\";
 *  - tab, newline, carriage return as \t \n \r; other C0 controls and DEL
 *    as \xNN;
 *  - valid UTF-8 as is, except C1 controls, bidirectional controls, line
 *    and paragraph separators, zero-width characters and the byte order
 *    mark, written as \u{XXXX}, and more than CLI_MAX_COMBINING combining
 *    marks in a row, written the same way;
 *  - every byte of invalid UTF-8 as \xNN.
 * With max_width > 0 the result is cut to at most max_width display
 * columns, ending with CLI_ELLIPSIS when cut.  Wide (East Asian) characters
 * count two columns, combining marks none.  *width, when not NULL, gets
 * the display width written.
 */
#define CLI_MAX_COMBINING 2
int cli_escape(const char *s, size_t max_width, struct mamori_buf *out,
    size_t *width);

struct cli_cell {
	char *text;   /* escaped, owned by the table */
	size_t width; /* display columns */
};

struct cli_table {
	size_t ncols;
	size_t nrows;       /* including the header row, when there is one */
	size_t priv_cap;    /* rows allocated */
	int has_header;
	size_t max_width;   /* cap of a cell; 0: none */
	struct cli_cell *priv_cells; /* nrows * ncols */
};

/* Starts a table of ncols columns; headers (ncols strings, or NULL for a
 * table without a header row) are copied.  Cells are cut at
 * CLI_CELL_MAX_WIDTH unless max_width is changed before adding rows. */
int cli_table_init(struct cli_table *t, size_t ncols,
    const char *const *headers);

/* Adds a row of ncols strings (borrowed; NULL prints as empty). */
int cli_table_add(struct cli_table *t, const char *const *cells);

/* Rows added, not counting the header. */
size_t cli_table_rows(const struct cli_table *t);

/*
 * Prints the table: each line starts with indent spaces, each column is
 * padded to its widest cell plus CLI_COLUMN_GAP, and no line ends with
 * spaces.  Returns MAMORI_ERR_IO when writing fails.
 */
int cli_table_print(const struct cli_table *t, FILE *out, size_t indent);

/* Frees the table's memory; accepts a table never initialised with zeros. */
void cli_table_free(struct cli_table *t);

#endif
