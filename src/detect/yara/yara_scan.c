/*
 * yara_scan.c - applies a compiled rule set to a memory buffer or to one
 * file, and copies what matched (rules, their tags and meta, and where
 * their strings were found) into a result the caller owns.
 *
 * The scanned bytes are the attacker's: a scan is bounded by a file size
 * cap and libyara's timeout, the result by named caps on rules and string
 * matches.  A file is opened without following a symbolic link and without
 * blocking on a FIFO, must be a regular file, and is read rather than
 * mapped, so a file truncated under the scan cannot raise SIGBUS.  This
 * file must never follow a link, open anything but the path it was given,
 * or write to the scanned file.
 */
#include "yara_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

#define SCAN_READ_CHUNK (1024 * 1024) /* bytes per read() */

void
mamori_yara_result_free(struct mamori_yara_result *res)
{
	size_t i, j;

	if (res == NULL)
		return;
	for (i = 0; i < res->n; i++) {
		struct mamori_yara_match *m = &res->matches[i];

		mamori_yara_rule_info_clear(&m->rule);
		for (j = 0; j < m->nstrings; j++)
			free(m->strings[j].identifier);
		free(m->strings);
	}
	free(res->matches);
	memset(res, 0, sizeof(*res));
}

struct scan_ctx {
	struct mamori_yara_result *res;
	int alloc_failed;
};

/*
 * Copies the (capped) string matches of rule into m.  libyara keeps its
 * YR_MATCH records in a notebook allocator that does not align them, so
 * each is copied into an aligned local before any field is read (reading
 * them in place, as yr_string_matches_foreach does, is undefined
 * behaviour that UBSan reports).
 */
static int
copy_strings(YR_SCAN_CONTEXT *context, const YR_RULE *rule,
    struct mamori_yara_match *m)
{
	const YR_STRING *string;
	const YR_MATCH *at;
	YR_MATCH match;

	yr_rule_strings_foreach(rule, string) {
		for (at = context->matches[string->idx].head; at != NULL;
		    at = match.next) {
			struct mamori_yara_string_match *s;

			memcpy(&match, at, sizeof(match));
			if (match.is_private)
				continue;
			if (m->nstrings >= MAMORI_YARA_STRINGS_MAX) {
				m->strings_dropped++;
				continue;
			}
			if (m->strings == NULL && (m->strings =
			    calloc(MAMORI_YARA_STRINGS_MAX,
			    sizeof(*m->strings))) == NULL)
				return MAMORI_ERR_ALLOC;
			s = &m->strings[m->nstrings];
			if ((s->identifier = mamori_memdup_str(
			    string->identifier, strlen(string->identifier)))
			    == NULL)
				return MAMORI_ERR_ALLOC;
			s->offset = (uint64_t)(match.base + match.offset);
			s->length = match.match_length > 0 ?
			    (uint32_t)match.match_length : 0;
			m->nstrings++;
		}
	}
	return 0;
}

static int
scan_callback(YR_SCAN_CONTEXT *context, int message, void *message_data,
    void *user_data)
{
	struct scan_ctx *sc = user_data;
	struct mamori_yara_result *res = sc->res;
	struct mamori_yara_match *m;
	const YR_RULE *rule = message_data;

	if (message != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE; /* modules, console, too many matches */
	if (res->n >= MAMORI_YARA_MATCHES_MAX) {
		res->dropped++;
		return CALLBACK_CONTINUE;
	}
	if (res->matches == NULL && (res->matches =
	    calloc(MAMORI_YARA_MATCHES_MAX, sizeof(*res->matches))) == NULL)
		goto nomem;
	m = &res->matches[res->n];
	memset(m, 0, sizeof(*m));
	if (mamori_yara_rule_info_from(rule, &m->rule) != 0)
		goto nomem;
	res->n++; /* owned by res from here, complete or not */
	if (copy_strings(context, rule, m) != 0)
		goto nomem;
	return CALLBACK_CONTINUE;
nomem:
	sc->alloc_failed = 1;
	return CALLBACK_ERROR;
}

static void
resolve_options(const struct mamori_yara_scan_options *opts,
    uint64_t *file_max, int *timeout, int *flags)
{
	*file_max = MAMORI_YARA_FILE_MAX_DEFAULT;
	*timeout = MAMORI_YARA_TIMEOUT_DEFAULT;
	/* NO_TRYCATCH: libyara's try/catch installs process-wide SIGSEGV and
	 * SIGBUS handlers around each scan to survive a mapped file shrinking;
	 * we scan only memory we own, where a fault is a bug to crash on. */
	*flags = SCAN_FLAGS_REPORT_RULES_MATCHING | SCAN_FLAGS_FAST_MODE |
	    SCAN_FLAGS_NO_TRYCATCH;
	if (opts == NULL)
		return;
	if (opts->file_max > 0)
		*file_max = opts->file_max < MAMORI_YARA_FILE_MAX_LIMIT ?
		    opts->file_max : MAMORI_YARA_FILE_MAX_LIMIT;
	if (opts->timeout > 0)
		*timeout = opts->timeout < MAMORI_YARA_TIMEOUT_MAX ?
		    opts->timeout : MAMORI_YARA_TIMEOUT_MAX;
	if (opts->all_matches)
		*flags &= ~SCAN_FLAGS_FAST_MODE;
}

int
mamori_yara_scan_mem(const mamori_yara_rules_t *rules,
    const void *data, size_t len,
    const struct mamori_yara_scan_options *opts,
    struct mamori_yara_result *res)
{
	static const uint8_t empty[1];
	struct scan_ctx sc;
	uint64_t file_max;
	int timeout, flags, yr, r;

	if (res == NULL)
		return MAMORI_ERR_INVALID;
	memset(res, 0, sizeof(*res));
	if (rules == NULL || rules->yr == NULL || (data == NULL && len > 0))
		return MAMORI_ERR_INVALID;
	resolve_options(opts, &file_max, &timeout, &flags);
	if ((uint64_t)len > file_max)
		return MAMORI_ERR_TOO_LARGE;
	memset(&sc, 0, sizeof(sc));
	sc.res = res;
	yr = yr_rules_scan_mem(rules->yr, len > 0 ? data : empty, len, flags,
	    scan_callback, &sc, timeout);
	switch (yr) {
	case ERROR_SUCCESS:
		res->scanned = len;
		return 0;
	case ERROR_SCAN_TIMEOUT:
		r = MAMORI_ERR_TIMEOUT;
		break;
	case ERROR_INSUFFICIENT_MEMORY:
		r = MAMORI_ERR_ALLOC;
		break;
	default:
		r = sc.alloc_failed ? MAMORI_ERR_ALLOC : MAMORI_ERR_YARA_SCAN;
		break;
	}
	mamori_yara_result_free(res);
	return r;
}

static int
errno_to_err(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return MAMORI_ERR_NOT_FOUND;
	case EACCES:
	case EPERM:
		return MAMORI_ERR_PERMISSION;
	case ELOOP:  /* O_NOFOLLOW met a symbolic link */
	case ENXIO:  /* a socket, or a FIFO with no writer */
	case EISDIR:
		return MAMORI_ERR_NOT_REGULAR;
	case ENOMEM:
		return MAMORI_ERR_ALLOC;
	default:
		return MAMORI_ERR_IO;
	}
}

/* Reads the first size bytes of fd (its size by fstat, within the cap)
 * into *out: bytes appended meanwhile are not read, so the cap holds. */
static int
read_all(int fd, uint64_t size, uint8_t **out, size_t *outlen)
{
	uint8_t *data = NULL;
	size_t got = 0, want;
	ssize_t n;
	int r = MAMORI_ERR_ALLOC;

	*out = NULL;
	*outlen = 0;
	if ((data = malloc(size > 0 ? (size_t)size : 1)) == NULL)
		goto out;
	while (got < size) {
		want = (size_t)size - got;
		if (want > SCAN_READ_CHUNK)
			want = SCAN_READ_CHUNK;
		n = read(fd, data + got, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = MAMORI_ERR_IO;
			goto out;
		}
		if (n == 0)
			break; /* truncated meanwhile: scan what is there */
		got += (size_t)n;
	}
	*out = data;
	*outlen = got;
	data = NULL;
	r = 0;
out:
	free(data);
	return r;
}

int
mamori_yara_scan_file(const mamori_yara_rules_t *rules,
    const char *path, const struct mamori_yara_scan_options *opts,
    struct mamori_yara_result *res)
{
	return mamori_yara_scan_at(rules, AT_FDCWD, path, opts, res);
}

int
mamori_yara_scan_at(const mamori_yara_rules_t *rules, int dirfd,
    const char *path, const struct mamori_yara_scan_options *opts,
    struct mamori_yara_result *res)
{
	struct stat st;
	uint8_t *data = NULL;
	size_t len = 0;
	uint64_t file_max;
	int fd = -1, timeout, flags, r = MAMORI_ERR_INTERNAL;

	if (res == NULL)
		return MAMORI_ERR_INVALID;
	memset(res, 0, sizeof(*res));
	if (rules == NULL || path == NULL)
		return MAMORI_ERR_INVALID;
	resolve_options(opts, &file_max, &timeout, &flags);
	fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
	    O_NOCTTY);
	if (fd < 0) {
		r = errno_to_err(errno);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = MAMORI_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = MAMORI_ERR_NOT_REGULAR;
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > file_max) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = read_all(fd, (uint64_t)st.st_size, &data, &len))
	    != 0)
		goto out;
	r = mamori_yara_scan_mem(rules, data, len, opts, res);
out:
	free(data);
	if (fd >= 0)
		close(fd);
	return r;
}
