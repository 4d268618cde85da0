/*
 * os.c - the operating-system collector: os-release, kernel, hostname,
 * machine id and boot time.
 *
 * os-release(5) is a shell-compatible list of KEY=VALUE assignments; values
 * may be quoted with '...' or "..." and use backslash escapes.  We unquote
 * them the way a shell would for those forms and refuse anything else (an
 * unterminated quote, unquoted whitespace) rather than guess.  This file
 * must never source the file with a shell or run any other program; the
 * only kernel call it makes is uname(), and only on a live host.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "buf.h"
#include "collectors.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define MAMORI_OS_RELEASE_MAX (64 * 1024)   /* bytes of os-release */
#define MAMORI_PROC_STAT_MAX (4 * 1024 * 1024) /* bytes of /proc/stat */

static const char *const os_release_paths[] = {
	"/etc/os-release", "/usr/lib/os-release",
};

/*
 * Unquotes an os-release value (s, len) into out (which holds len + 1
 * bytes); sets *outlen.  MAMORI_ERR_INVALID on unterminated quotes,
 * unquoted whitespace or a trailing lone backslash.
 */
static int
os_release_unquote(const char *s, size_t len, char *out, size_t *outlen)
{
	enum { BARE, SINGLE, DOUBLE } state = BARE;
	size_t i, o = 0;
	int r = MAMORI_ERR_INVALID;

	*outlen = 0;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		switch (state) {
		case BARE:
			if (ch == '\'')
				state = SINGLE;
			else if (ch == '"')
				state = DOUBLE;
			else if (ch == '\\') {
				if (++i == len)
					goto out;
				out[o++] = s[i];
			} else if (ch == ' ' || ch == '\t')
				goto out;
			else
				out[o++] = ch;
			break;
		case SINGLE:
			if (ch == '\'')
				state = BARE;
			else
				out[o++] = ch;
			break;
		case DOUBLE:
			if (ch == '"')
				state = BARE;
			else if (ch == '\\' && i + 1 < len &&
			    strchr("\"\\$`", s[i + 1]) != NULL && s[i + 1] != '\0')
				out[o++] = s[++i];
			else
				out[o++] = ch;
			break;
		}
	}
	if (state != BARE)
		goto out;
	out[o] = '\0';
	*outlen = o;
	r = 0;
out:
	return r;
}

/* The field of os that os-release key names, or NULL. */
static char **
os_release_field(Mamori__OsInfo *os, const struct mamori_token *key)
{
	if (mamori_tok_eq(key->p, key->len, "NAME"))
		return &os->name;
	if (mamori_tok_eq(key->p, key->len, "VERSION"))
		return &os->version;
	if (mamori_tok_eq(key->p, key->len, "ID"))
		return &os->id;
	if (mamori_tok_eq(key->p, key->len, "VERSION_ID"))
		return &os->version_id;
	if (mamori_tok_eq(key->p, key->len, "PRETTY_NAME"))
		return &os->pretty_name;
	return NULL;
}

int
mamori_parse_os_release(const char *data, size_t len, Mamori__OsInfo *os)
{
	struct mamori_token key, value;
	struct mamori_cursor c;
	const char *line;
	size_t line_len, vlen;
	char *buf = NULL, **field;
	int r = MAMORI_ERR_INTERNAL;

	mamori_cursor_init(&c, data, len);
	while (mamori_next_line(&c, &line, &line_len)) {
		mamori_trim(&line, &line_len);
		if (line_len == 0 || line[0] == '#')
			continue;
		if (mamori_split_kv(line, line_len, '=', &key, &value) != 0 ||
		    (field = os_release_field(os, &key)) == NULL)
			continue;
		/* No space is allowed around '='. */
		if (key.p + key.len != value.p - 1)
			continue;
		free(buf);
		if ((buf = malloc(value.len + 1)) == NULL) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
		if (os_release_unquote(value.p, value.len, buf, &vlen) != 0)
			continue;
		r = mamori_set_str(field, buf, vlen);
		if (r == MAMORI_ERR_ALLOC)
			goto out;
	}
	r = 0;
out:
	free(buf);
	return r;
}

/* Reads "btime N" from /proc/stat. */
static int
read_boot_time(const char *path, uint64_t *btime)
{
	struct mamori_token tok[2];
	struct mamori_cursor c;
	struct mamori_buf b;
	const char *line;
	size_t line_len;
	int r = MAMORI_ERR_INTERNAL;

	*btime = 0;
	mamori_buf_init(&b, MAMORI_PROC_STAT_MAX);
	if ((r = mamori_collect_read(path, MAMORI_PROC_STAT_MAX, &b)) != 0)
		goto out;
	r = MAMORI_ERR_NOT_FOUND;
	mamori_cursor_init(&c, b.data, b.len);
	while (mamori_next_line(&c, &line, &line_len)) {
		if (mamori_split_ws(line, line_len, tok, 2) != 2 ||
		    !mamori_tok_eq(tok[0].p, tok[0].len, "btime"))
			continue;
		r = mamori_parse_dec(tok[1].p, tok[1].len, UINT64_MAX, btime);
		break;
	}
out:
	mamori_buf_free(&b);
	return r;
}

int
mamori_collector_os(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	Mamori__OsInfo *os = NULL;
	struct mamori_buf b;
	struct utsname uts;
	size_t i;
	int found = 0;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_OS_RELEASE_MAX);
	if ((os = mamori_msg_new(&mamori__os_info__descriptor)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < sizeof(os_release_paths) / sizeof(*os_release_paths);
	    i++) {
		if ((r = mamori_collect_pathf(ctx, path, sizeof(path), "%s",
		    os_release_paths[i])) != 0)
			goto out;
		if (mamori_collect_read(path, MAMORI_OS_RELEASE_MAX, &b) != 0)
			continue;
		if ((r = mamori_parse_os_release((const char *)b.data, b.len,
		    os)) != 0)
			goto out;
		found = 1;
		break;
	}
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/sys/kernel/osrelease")) != 0 ||
	    (r = mamori_set_str_file(&os->kernel_release, path)) != 0 ||
	    (r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/sys/kernel/version")) != 0 ||
	    (r = mamori_set_str_file(&os->kernel_version, path)) != 0 ||
	    (r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/sys/kernel/hostname")) != 0 ||
	    (r = mamori_set_str_file(&os->hostname, path)) != 0 ||
	    (r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/etc/machine-id")) != 0 ||
	    (r = mamori_set_str_file(&os->machine_id, path)) != 0 ||
	    (r = mamori_collect_pathf(ctx, path, sizeof(path),
	    "/proc/stat")) != 0)
		goto out;
	if (read_boot_time(path, &os->boot_time) != 0)
		os->boot_time = 0;
	if (ctx->live && uname(&uts) == 0 &&
	    (r = mamori_set_cstr(&os->arch, uts.machine)) == MAMORI_ERR_ALLOC)
		goto out;
	if (!found && os->kernel_release[0] == '\0') {
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	mamori_msg_free(inv->os);
	inv->os = os;
	os = NULL;
	r = 0;
out:
	mamori_msg_free(os);
	mamori_buf_free(&b);
	return r;
}
