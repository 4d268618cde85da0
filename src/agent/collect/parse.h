/*
 * parse.h - helpers shared by the inventory collectors, and the parsers of
 * whole files that the fuzz targets call directly.
 *
 * Everything read here is untrusted text: files are read with a cap, lines
 * and tokens are (pointer, length) views that never run past the data they
 * were cut from, and numbers are parsed with full checks.  Strings put into
 * an Inventory are malloc'ed copies, refused when they hold a NUL byte or
 * exceed MAMORI_COLLECT_STR_MAX, with invalid UTF-8 replaced by '?' so the
 * item stays visible and the message stays valid proto3.  Nothing here may
 * run a program or write a file.
 */
#ifndef MAMORI_COLLECT_PARSE_H
#define MAMORI_COLLECT_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "collect.h"
#include "mamori.pb-c.h"

#define MAMORI_COLLECT_PATH_MAX 4096        /* a path under ctx->root */
#define MAMORI_COLLECT_ATTR_MAX 4096        /* a sysfs/proc value file */
#define MAMORI_COLLECT_STR_MAX 4096         /* one string in an item */
#define MAMORI_COLLECT_DIR_MAX 65536        /* entries listed in one dir */

/* Item limits per category: past them a collector fails (TOO_LARGE). */
#define MAMORI_MAX_PACKAGES 100000
#define MAMORI_MAX_USERS 100000
#define MAMORI_MAX_GROUPS 100000
#define MAMORI_MAX_GROUP_MEMBERS 10000
#define MAMORI_MAX_SOCKETS 100000
#define MAMORI_MAX_MODULES 10000
#define MAMORI_MAX_USB 4096
#define MAMORI_MAX_BLOCK 4096
#define MAMORI_MAX_BLOCK_PARENTS 256
#define MAMORI_MAX_DISKS 4096
#define MAMORI_MAX_INTERFACES 4096
#define MAMORI_MAX_ADDRESSES 1024           /* per interface */

/* A view of part of a text: not NUL-terminated. */
struct mamori_token {
	const char *p;
	size_t len;
};

/* A sorted list of directory entry names. */
struct mamori_names {
	char **v;
	size_t n;
};

/* ---- paths and files ---------------------------------------------------- */

/*
 * out = ctx->root followed by the formatted path (which starts with "/").
 * MAMORI_ERR_TOO_LARGE when it does not fit in outlen.
 */
int mamori_collect_pathf(const struct mamori_collect_ctx *ctx, char *out,
    size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Reads the file at path (already prefixed with the root) into b, refusing
 * it past max bytes.  b must have been initialised (mamori_buf_init, any
 * cap); its old contents are freed first.  NOT_FOUND, PERMISSION, IO,
 * TOO_LARGE.  The caller frees b with mamori_buf_free().
 */
int mamori_collect_read(const char *path, size_t max, struct mamori_buf *b);

/*
 * Reads a one-value file (sysfs attribute, /proc/sys entry): its first line,
 * trimmed of whitespace, into out (NUL-terminated).  Fails on a NUL byte,
 * on a value that does not fit in outlen, or as mamori_collect_read().
 */
int mamori_read_value(const char *path, char *out, size_t outlen);

/* Reads a one-value file holding a decimal number up to max. */
int mamori_read_u64(const char *path, uint64_t max, uint64_t *out);

/*
 * Sets *field from a one-value file.  A missing, unreadable or malformed file
 * leaves *field as it was and is not an error: only MAMORI_ERR_ALLOC fails.
 */
int mamori_set_str_file(char **field, const char *path);

/*
 * Lists the names in directory path (without "." and ".."), sorted, into
 * *out (freed with mamori_names_free).  NOT_FOUND when the directory is
 * missing, TOO_LARGE past max entries.
 */
int mamori_list_dir(const char *path, size_t max, struct mamori_names *out);
void mamori_names_free(struct mamori_names *names);

/* ---- text ---------------------------------------------------------------- */

/* Trims spaces, tabs, CR and LF from both ends of (*s, *len). */
void mamori_trim(const char **s, size_t *len);

/* 1 when (s, len) equals the NUL-terminated lit exactly. */
int mamori_tok_eq(const char *s, size_t len, const char *lit);

/*
 * Splits line at the first sep into a trimmed key and a trimmed value.
 * MAMORI_ERR_INVALID when there is no sep or the key is empty.
 */
int mamori_split_kv(const char *line, size_t len, char sep,
    struct mamori_token *key, struct mamori_token *value);

/*
 * Splits line at runs of spaces and tabs into at most max tokens; returns the
 * number of tokens found in total (which may exceed max: only the first max
 * are stored).
 */
size_t mamori_split_ws(const char *line, size_t len, struct mamori_token *tok,
    size_t max);

/* Parses (s, len) as a decimal number, or as hex digits (no "0x"), in
 * [0, max]; nothing else may be in the view. */
int mamori_parse_dec(const char *s, size_t len, uint64_t max, uint64_t *out);
int mamori_parse_hex(const char *s, size_t len, uint64_t max, uint64_t *out);

/* ---- building items ----------------------------------------------------- */

/* A new message of type desc, initialised; NULL when out of memory.  Freed
 * with mamori_msg_free(). */
void *mamori_msg_new(const ProtobufCMessageDescriptor *desc);
/* Frees a message built by the collectors, and everything in it; NULL ok. */
void mamori_msg_free(void *msg);

/*
 * Replaces *field with a malloc'ed copy of (s, len).  A previous malloc'ed
 * value is freed; protobuf_c_empty_string is never freed.  Fails with
 * BAD_STRING on a NUL byte and TOO_LARGE past MAMORI_COLLECT_STR_MAX, leaving
 * *field as it was.  Invalid UTF-8 bytes are stored as '?'.
 */
int mamori_set_str(char **field, const char *s, size_t len);
int mamori_set_cstr(char **field, const char *s);

/*
 * Appends item to the repeated field whose array pointer is at arrayp (the
 * address of a T ** field) and whose count is *n, growing the array by
 * doubling (the capacity is implied by the count, so the array must only
 * ever be grown here).  TOO_LARGE when *n already is max.  On success the
 * array owns item; on failure the caller still does.
 */
int mamori_array_append(void *arrayp, size_t *n, size_t max, void *item);

/* Appends a malloc'ed copy of (s, len), checked as mamori_set_str(), to a
 * repeated string field. */
int mamori_strv_append(char ***arrayp, size_t *n, size_t max, const char *s,
    size_t len);

/* ---- whole-file parsers (fuzzed) ----------------------------------------
 *
 * Each appends the items it finds in (data, len) - any bytes, not
 * NUL-terminated - to inv, skipping malformed lines or stanzas.  They fail
 * only with ALLOC, or TOO_LARGE when the category's item limit is reached
 * (items appended so far stay in inv, which the caller frees).
 */

/* /var/lib/dpkg/status: every stanza whose status is not "not-installed". */
int mamori_parse_dpkg_status(const char *data, size_t len,
    Mamori__Inventory *inv);

/* /etc/passwd into inv->users, /etc/group into inv->groups. */
int mamori_parse_passwd(const char *data, size_t len, Mamori__Inventory *inv);
int mamori_parse_group(const char *data, size_t len, Mamori__Inventory *inv);

/* One of /proc/net/{tcp,tcp6,udp,udp6}, protocol naming which ("tcp6"),
 * into inv->listening_sockets: listening TCP, bound unconnected UDP.  pid,
 * process and executable are left for the caller to fill.  INVALID for any
 * other protocol. */
int mamori_parse_proc_net(const char *data, size_t len,
    Mamori__Inventory *inv, const char *protocol);

/* /etc/os-release into os (fields NAME, VERSION, ID, VERSION_ID,
 * PRETTY_NAME). */
int mamori_parse_os_release(const char *data, size_t len, Mamori__OsInfo *os);

/* /proc/modules into inv->kernel_modules. */
int mamori_parse_proc_modules(const char *data, size_t len,
    Mamori__Inventory *inv);

#endif
