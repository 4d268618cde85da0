/*
 * authlog.h - the pure parsers behind the login source: one wtmp record
 * (struct utmp as glibc on x86_64 writes it) and one line of an auth log
 * (syslog's /var/log/auth.log, or sshd -E output).
 *
 * Both read bytes anyone with a login may have shaped (user names, remote
 * host names, anything logger(1) can write to syslog), so they take
 * (pointer, length) views, never read past them, and never trust the file:
 * strings are cut at their field's end, checked for NUL bytes, and copied
 * into events with invalid UTF-8 replaced (mamori_set_str).  They keep no
 * state, do no I/O and never run a program; the fuzz targets call them.
 */
#ifndef MAMORI_AUTHLOG_H
#define MAMORI_AUTHLOG_H

#include <stddef.h>
#include <stdint.h>

#include "mamori.pb-c.h"

#define MAMORI_WTMP_RECORD_SIZE 384     /* sizeof(struct utmp), x86_64 */
#define MAMORI_WTMP_LINE_MAX 32         /* ut_line */
#define MAMORI_WTMP_ID_MAX 4            /* ut_id */
#define MAMORI_WTMP_USER_MAX 32         /* ut_user */
#define MAMORI_WTMP_HOST_MAX 256        /* ut_host */
#define MAMORI_WTMP_IP_MAX 46           /* INET6_ADDRSTRLEN */
#define MAMORI_AUTHLOG_LINE_MAX 4096    /* longer lines are not parsed */

/* ut_type values we act on (utmp.h). */
#define MAMORI_WTMP_USER_PROCESS 7
#define MAMORI_WTMP_DEAD_PROCESS 8

/* One decoded wtmp record; strings are NUL-terminated, possibly empty. */
struct mamori_wtmp_record {
	int16_t type;
	int32_t pid;
	char line[MAMORI_WTMP_LINE_MAX + 1];
	char id[MAMORI_WTMP_ID_MAX + 1];
	char user[MAMORI_WTMP_USER_MAX + 1];
	char host[MAMORI_WTMP_HOST_MAX + 1];
	int32_t session;
	int32_t tv_sec;
	int32_t tv_usec;
	char ip[MAMORI_WTMP_IP_MAX];    /* ut_addr_v6 as text, "" when 0 */
};

/*
 * Decodes exactly MAMORI_WTMP_RECORD_SIZE bytes at data into *out (which is
 * zeroed first).  Integers are little-endian; each string is cut at the
 * first NUL in its fixed field.  Returns 0, MAMORI_ERR_TRUNCATED when len
 * is short or MAMORI_ERR_TRAILING when it is long.  Nothing is allocated.
 */
int mamori_wtmp_decode(const uint8_t *data, size_t len,
    struct mamori_wtmp_record *out);

/*
 * Builds the login event for rec into *out (owned by the caller, freed
 * with mamori_event_free): SESSION_OPEN for USER_PROCESS, SESSION_CLOSE for
 * DEAD_PROCESS.  For a close, opened (may be NULL) is the USER_PROCESS
 * record it matched, whose user and host fill what the close record lacks.
 * Other record types, and records without a line, give *out = NULL and 0.
 * Fails only with MAMORI_ERR_ALLOC.
 */
int mamori_wtmp_event(const struct mamori_wtmp_record *rec,
    const struct mamori_wtmp_record *opened, Mamori__Event **out);

/*
 * Parses one auth log line (without its newline; a trailing CR is ignored)
 * at (line, len) - any bytes - into a login event in *out (owned by the
 * caller): sshd's Accepted / Failed / Invalid user / Connection closed by
 * authenticating user, sudo's command and refusal lines, su's "(to X) Y on
 * TTY", "FAILED SU" and pam_unix(su:session) lines.  Lines may carry a
 * syslog header (traditional or RFC 3339) or none (sshd -E).  A line that
 * is none of these, longer than MAMORI_AUTHLOG_LINE_MAX or holding a NUL
 * gives *out = NULL and 0.  Fails only with MAMORI_ERR_ALLOC.
 */
int mamori_authlog_parse(const char *line, size_t len, Mamori__Event **out);

#endif
