/*
 * buf.h - the one bounded cursor for reading untrusted bytes, and the one
 * growable buffer for writing them.
 *
 * A cursor never reads past the end it was created with: every getter checks
 * the remaining length first and returns MAMORI_ERR_TRUNCATED instead.  A
 * decoder ends with mamori_cursor_end(), which fails on leftover bytes, so a
 * message is either consumed whole or refused.
 *
 * Unlike OpenSSH's sshbuf the cursor is a plain struct, so decoders can keep
 * it on the stack without an allocation per message; its fields are private
 * all the same - use the functions.
 */
#ifndef MAMORI_BUF_H
#define MAMORI_BUF_H

#include <stddef.h>
#include <stdint.h>

struct mamori_cursor {
	const uint8_t *priv_data;
	size_t priv_len;
	size_t priv_off;
};

/* Starts reading len bytes at data.  The cursor borrows data: it must stay
 * valid and unchanged while the cursor is used. */
void mamori_cursor_init(struct mamori_cursor *c, const void *data, size_t len);

/* Bytes not yet read. */
size_t mamori_cursor_remaining(const struct mamori_cursor *c);

/* Big-endian integer getters.  On failure *out is set to 0 and the cursor
 * does not move. */
int mamori_cursor_u8(struct mamori_cursor *c, uint8_t *out);
int mamori_cursor_u16(struct mamori_cursor *c, uint16_t *out);
int mamori_cursor_u32(struct mamori_cursor *c, uint32_t *out);
int mamori_cursor_u64(struct mamori_cursor *c, uint64_t *out);

/* Points *out at the next n bytes (borrowed from the cursor's input). */
int mamori_cursor_bytes(struct mamori_cursor *c, size_t n, const uint8_t **out);

/* Copies the next n bytes into out. */
int mamori_cursor_copy(struct mamori_cursor *c, void *out, size_t n);

/* Reads a string prefixed by a u8 length, at most max bytes, with no NUL
 * byte in it, into out (which must hold max + 1 bytes); NUL-terminates it. */
int mamori_cursor_str8(struct mamori_cursor *c, char *out, size_t max);

/* Returns 0 when every byte was read, MAMORI_ERR_TRAILING otherwise. */
int mamori_cursor_end(const struct mamori_cursor *c);

/*
 * A growable byte buffer with a hard cap set at creation.  Appends that would
 * grow it past the cap fail with MAMORI_ERR_TOO_LARGE and leave it unchanged.
 * The data is always followed by a NUL byte (not counted in len), so text read
 * into a buffer can be used as a C string once checked for embedded NULs.
 */
struct mamori_buf {
	uint8_t *data;
	size_t len;
	size_t priv_cap;
	size_t priv_max;
};

/* Starts an empty buffer that may hold up to max bytes.  Allocates nothing. */
void mamori_buf_init(struct mamori_buf *b, size_t max);

/* Makes room for n more bytes; returns a pointer to them (owned by b, valid
 * until the next call that changes b) in *out. */
int mamori_buf_reserve(struct mamori_buf *b, size_t n, uint8_t **out);

int mamori_buf_append(struct mamori_buf *b, const void *data, size_t n);
int mamori_buf_put_u8(struct mamori_buf *b, uint8_t v);
int mamori_buf_put_u16(struct mamori_buf *b, uint16_t v);
int mamori_buf_put_u32(struct mamori_buf *b, uint32_t v);
int mamori_buf_put_u64(struct mamori_buf *b, uint64_t v);
/* Appends a u8 length then s; fails if s is longer than 255 bytes. */
int mamori_buf_put_str8(struct mamori_buf *b, const char *s);

/* Empties b, keeping its memory. */
void mamori_buf_reset(struct mamori_buf *b);

/* Frees b's memory, wiping it first; b is left empty and reusable. */
void mamori_buf_free(struct mamori_buf *b);

/* Reads the whole file at path into b (which is reset first), refusing files
 * larger than b's cap with MAMORI_ERR_TOO_LARGE.  Works on /proc files, whose
 * size stat() does not tell. */
int mamori_buf_read_file(struct mamori_buf *b, const char *path);

/*
 * Line iteration over text in memory: *line is set to the next line (without
 * its '\n', not NUL-terminated) and *line_len to its length.  Returns 1 when a
 * line was produced, 0 at the end.
 */
int mamori_next_line(struct mamori_cursor *c, const char **line,
    size_t *line_len);

#endif
