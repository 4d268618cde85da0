/*
 * tables.h - what the query engine's virtual tables are made of: a
 * descriptor per table (name, columns, the key columns a WHERE clause may
 * give it) and a generator that reads the host into a bounded row store.
 *
 * A generator is called once per xFilter with at most one key value (the
 * text of "path = '...'" and the like; IN lists become one call per value).
 * It reads only under q->root, asks the kernel directly only when q->live
 * is set, and never runs a program, opens a socket or writes anything.
 * The row store caps what one scan may hold (MAMORI_QROWS_*) and checks the
 * query's deadline, so a slow table stops with TIMEOUT.
 */
#ifndef MAMORI_QUERY_TABLES_H
#define MAMORI_QUERY_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"

#define MAMORI_QROWS_MAX 1000000                /* rows of one scan */
#define MAMORI_QROWS_BYTES_MAX (64u * 1024 * 1024) /* text of one scan */
#define MAMORI_QTABLE_COLS_MAX 32
#define MAMORI_QTEXT_FILE_MAX (4u * 1024 * 1024)  /* a config file read */

enum mamori_qcol_type { MAMORI_QCOL_INT, MAMORI_QCOL_TEXT, MAMORI_QCOL_REAL };

struct mamori_qcol {
	const char *name;
	enum mamori_qcol_type type;
};

/* What one scan may use. */
struct mamori_qctx {
	const struct mamori_collect_ctx *collect;
	uint64_t deadline_ms;           /* mamori_monotonic_ms() limit */
};

struct mamori_qcell {
	uint8_t type;                   /* enum mamori_query_type */
	int64_t i;
	double d;
	char *s;                        /* malloc'ed, TEXT */
	size_t len;
};

struct mamori_qrows {
	size_t ncols;
	size_t nrows, cap;              /* rows */
	size_t bytes;                   /* text held */
	struct mamori_qcell *cells;     /* nrows * ncols */
	const struct mamori_qctx *q;
};

struct mamori_qtable {
	const char *name;
	const struct mamori_qcol *cols;
	size_t ncols;
	/* Key columns a generator can use (-1: none); required: a query
	 * without "=" or IN on one of them is refused. */
	int key[2];
	int key_required;
	/* Appends rows to out; key is the column index of the constraint
	 * (-1: none) and value its text.  0 or a MAMORI_ERR_* code. */
	int (*gen)(const struct mamori_qctx *q, int key, const char *value,
	    struct mamori_qrows *out);
};

/* ---- the row store ------------------------------------------------------ */

void mamori_qrows_init(struct mamori_qrows *r, size_t ncols,
    const struct mamori_qctx *q);
void mamori_qrows_free(struct mamori_qrows *r);
/* Starts a row of NULLs.  TOO_LARGE past MAMORI_QROWS_MAX, TIMEOUT past
 * the deadline, ALLOC. */
int mamori_qrow_add(struct mamori_qrows *r);
/* Set column col of the last row.  TOO_LARGE past MAMORI_QROWS_BYTES_MAX,
 * ALLOC.  Text with a NUL byte is cut there. */
int mamori_qrow_int(struct mamori_qrows *r, size_t col, int64_t v);
int mamori_qrow_real(struct mamori_qrows *r, size_t col, double v);
int mamori_qrow_text(struct mamori_qrows *r, size_t col, const char *s);
int mamori_qrow_textn(struct mamori_qrows *r, size_t col, const char *s,
    size_t len);
/* The cell at (row, col). */
const struct mamori_qcell *mamori_qrows_cell(const struct mamori_qrows *r,
    size_t row, size_t col);
/* 1 when the query's deadline has passed. */
int mamori_qctx_expired(const struct mamori_qctx *q);

/* ---- the tables (one group per file) ------------------------------------ */

extern const struct mamori_qtable mamori_qtable_deb_packages;
extern const struct mamori_qtable mamori_qtable_users;
extern const struct mamori_qtable mamori_qtable_groups;
extern const struct mamori_qtable mamori_qtable_kernel_modules;
extern const struct mamori_qtable mamori_qtable_usb_devices;
extern const struct mamori_qtable mamori_qtable_interface_addresses;
extern const struct mamori_qtable mamori_qtable_os_version;
extern const struct mamori_qtable mamori_qtable_system_info;
extern const struct mamori_qtable mamori_qtable_listening_ports;
extern const struct mamori_qtable mamori_qtable_processes;
extern const struct mamori_qtable mamori_qtable_process_open_sockets;
extern const struct mamori_qtable mamori_qtable_mounts;
extern const struct mamori_qtable mamori_qtable_file;
extern const struct mamori_qtable mamori_qtable_hash;
extern const struct mamori_qtable mamori_qtable_logged_in_users;
extern const struct mamori_qtable mamori_qtable_crontab;
extern const struct mamori_qtable mamori_qtable_authorized_keys;
extern const struct mamori_qtable mamori_qtable_systemd_units;

#endif
