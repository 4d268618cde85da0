/*
 * accounts.c - the users and groups collectors: /etc/passwd and /etc/group.
 *
 * Both files are colon-separated lines with a fixed number of fields.
 * Comments, blank lines, NIS compat lines ("+" or "-" first) and lines with
 * the wrong field count or a bad id are skipped.  Only the local files are
 * read: this file must never call getpwent() (NSS could load modules and
 * reach the network) and never run a program.
 */
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "collectors.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define MAMORI_PASSWD_PATH "/etc/passwd"
#define MAMORI_GROUP_PATH "/etc/group"
#define MAMORI_ACCOUNTS_FILE_MAX (16 * 1024 * 1024)  /* bytes of either file */
#define PASSWD_FIELDS 7
#define GROUP_FIELDS 4

/*
 * Splits line at every sep into at most max fields; returns the count found
 * in total (only the first max are stored).  "a::b" has three fields.
 */
static size_t
split_fields(const char *line, size_t len, char sep, struct mamori_token *f,
    size_t max)
{
	size_t i, start = 0, n = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && line[i] != sep)
			continue;
		if (n < max) {
			f[n].p = line + start;
			f[n].len = i - start;
		}
		n++;
		start = i + 1;
	}
	return n;
}

/* 1 for lines that hold no entry: blank, comments, NIS compat lines. */
static int
line_skipped(const char *line, size_t len)
{
	const char *p = line;
	size_t n = len;

	mamori_trim(&p, &n);
	return n == 0 || p[0] == '#' || line[0] == '+' || line[0] == '-';
}

/* r from building one item: keep going unless out of memory. */
static int
item_result(int r, const char *what)
{
	if (r == 0 || r == MAMORI_ERR_ALLOC)
		return r;
	log_debug("accounts: skipping a %s entry: %s", what,
	    mamori_strerror(r));
	return 0;
}

static int
passwd_line(const char *line, size_t len, Mamori__Inventory *inv)
{
	struct mamori_token f[PASSWD_FIELDS];
	Mamori__User *user = NULL;
	uint64_t uid, gid;
	int r = MAMORI_ERR_INTERNAL;

	if (split_fields(line, len, ':', f, PASSWD_FIELDS) != PASSWD_FIELDS ||
	    f[0].len == 0 ||
	    mamori_parse_dec(f[2].p, f[2].len, UINT32_MAX, &uid) != 0 ||
	    mamori_parse_dec(f[3].p, f[3].len, UINT32_MAX, &gid) != 0) {
		r = item_result(MAMORI_ERR_BAD_MESSAGE, "passwd");
		goto out;
	}
	if ((user = mamori_msg_new(&mamori__user__descriptor)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	user->uid = (uint32_t)uid;
	user->gid = (uint32_t)gid;
	if ((r = mamori_set_str(&user->name, f[0].p, f[0].len)) != 0 ||
	    (r = mamori_set_str(&user->gecos, f[4].p, f[4].len)) != 0 ||
	    (r = mamori_set_str(&user->home, f[5].p, f[5].len)) != 0 ||
	    (r = mamori_set_str(&user->shell, f[6].p, f[6].len)) != 0) {
		r = item_result(r, "passwd");
		goto out;
	}
	if ((r = mamori_array_append(&inv->users, &inv->n_users,
	    MAMORI_MAX_USERS, user)) != 0)
		goto out;
	user = NULL;
	r = 0;
out:
	mamori_msg_free(user);
	return r;
}

int
mamori_parse_passwd(const char *data, size_t len, Mamori__Inventory *inv)
{
	struct mamori_cursor c;
	const char *line;
	size_t line_len;
	int r = MAMORI_ERR_INTERNAL;

	mamori_cursor_init(&c, data, len);
	while (mamori_next_line(&c, &line, &line_len)) {
		if (line_skipped(line, line_len))
			continue;
		if ((r = passwd_line(line, line_len, inv)) != 0)
			goto out;
	}
	r = 0;
out:
	return r;
}

/* Adds the comma-separated members in (s, len) to group. */
static int
group_members(const char *s, size_t len, Mamori__Group *group)
{
	size_t i, start = 0;
	int r = MAMORI_ERR_INTERNAL;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		if (i > start && (r = mamori_strv_append(&group->members,
		    &group->n_members, MAMORI_MAX_GROUP_MEMBERS, s + start,
		    i - start)) != 0)
			goto out;
		start = i + 1;
	}
	r = 0;
out:
	return r;
}

static int
group_line(const char *line, size_t len, Mamori__Inventory *inv)
{
	struct mamori_token f[GROUP_FIELDS];
	Mamori__Group *group = NULL;
	uint64_t gid;
	int r = MAMORI_ERR_INTERNAL;

	if (split_fields(line, len, ':', f, GROUP_FIELDS) != GROUP_FIELDS ||
	    f[0].len == 0 ||
	    mamori_parse_dec(f[2].p, f[2].len, UINT32_MAX, &gid) != 0) {
		r = item_result(MAMORI_ERR_BAD_MESSAGE, "group");
		goto out;
	}
	if ((group = mamori_msg_new(&mamori__group__descriptor)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	group->gid = (uint32_t)gid;
	if ((r = mamori_set_str(&group->name, f[0].p, f[0].len)) != 0 ||
	    (r = group_members(f[3].p, f[3].len, group)) != 0) {
		r = item_result(r, "group");
		goto out;
	}
	if ((r = mamori_array_append(&inv->groups, &inv->n_groups,
	    MAMORI_MAX_GROUPS, group)) != 0)
		goto out;
	group = NULL;
	r = 0;
out:
	mamori_msg_free(group);
	return r;
}

int
mamori_parse_group(const char *data, size_t len, Mamori__Inventory *inv)
{
	struct mamori_cursor c;
	const char *line;
	size_t line_len;
	int r = MAMORI_ERR_INTERNAL;

	mamori_cursor_init(&c, data, len);
	while (mamori_next_line(&c, &line, &line_len)) {
		if (line_skipped(line, line_len))
			continue;
		if ((r = group_line(line, line_len, inv)) != 0)
			goto out;
	}
	r = 0;
out:
	return r;
}

/* Reads ROOT + rel and hands it to parse. */
static int
accounts_file(const struct mamori_collect_ctx *ctx, const char *rel,
    int (*parse)(const char *, size_t, Mamori__Inventory *),
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_buf b;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_ACCOUNTS_FILE_MAX);
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path), "%s",
	    rel)) != 0)
		goto out;
	if ((r = mamori_collect_read(path, MAMORI_ACCOUNTS_FILE_MAX,
	    &b)) != 0)
		goto out;
	r = parse((const char *)b.data, b.len, inv);
out:
	mamori_buf_free(&b);
	return r;
}

int
mamori_collector_users(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	return accounts_file(ctx, MAMORI_PASSWD_PATH, mamori_parse_passwd,
	    inv);
}

int
mamori_collector_groups(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	return accounts_file(ctx, MAMORI_GROUP_PATH, mamori_parse_group, inv);
}
