/*
 * tables_etc.c - logged_in_users (utmp), crontab, authorized_keys and
 * systemd_units, read from files under ROOT.
 *
 * All four read configuration or state files that other users may have
 * written (crontabs in the spool, ~/.ssh/authorized_keys), so every file is
 * read with a cap, must be a regular file (a symlink planted in a home
 * directory is not followed), and only lines of the expected shape become
 * rows: a line that is not a key or a schedule never reaches a result.
 * systemd_units is built from the unit files on disk, without D-Bus: see
 * gen_units for what differs from osquery.  Nothing here may run a
 * program, talk to systemd or write anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "collectors.h"
#include "err.h"
#include "parse.h"
#include "tables.h"

#define QETC_UTMP_MAX (4u * 1024 * 1024)      /* bytes of utmp */
#define QETC_UTMP_RECORD 384                  /* struct utmp, x86_64 */
#define QETC_CRON_FILES_MAX 10000
#define QETC_UNIT_FILE_MAX (1024u * 1024)
#define QETC_UNITS_MAX 100000
#define QETC_KEY_TOKENS 3

#define COLS(a) a, sizeof(a) / sizeof(a[0])
#define I MAMORI_QCOL_INT
#define T MAMORI_QCOL_TEXT

/* Reads path (under the root) into b when it is a regular file, not a
 * symlink; NOT_FOUND otherwise. */
static int
read_regular(const struct mamori_qctx *q, const char *path, size_t max,
    struct mamori_buf *b)
{
	char full[MAMORI_COLLECT_PATH_MAX];
	struct stat sb;
	int r;

	if ((r = mamori_collect_pathf(q->collect, full, sizeof(full), "%s",
	    path)) != 0)
		return r;
	if (lstat(full, &sb) != 0 || !S_ISREG(sb.st_mode))
		return MAMORI_ERR_NOT_FOUND;
	return mamori_collect_read(full, max, b);
}

/* ---- logged_in_users ---------------------------------------------------- */

enum { L_TYPE, L_USER, L_TTY, L_HOST, L_TIME, L_PID };
static const struct mamori_qcol login_cols[] = {
	{"type", T}, {"user", T}, {"tty", T}, {"host", T}, {"time", I},
	{"pid", I},
};

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* A fixed utmp string field: up to the first NUL. */
static int
utmp_str(struct mamori_qrows *out, size_t col, const uint8_t *p, size_t max)
{
	const uint8_t *nul = memchr(p, '\0', max);

	return mamori_qrow_textn(out, col, (const char *)p,
	    nul != NULL ? (size_t)(nul - p) : max);
}

/* Every utmp record but EMPTY, with osquery's type names. */
static int
gen_logins(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	static const char *const types[] = {"empty", "runlevel", "boot_time",
	    "new_time", "old_time", "init", "login", "user", "dead",
	    "accounting"};
	struct mamori_buf b;
	const uint8_t *rec;
	uint32_t type;
	size_t off;
	int r = 0;

	(void)key;
	(void)value;
	mamori_buf_init(&b, 0);
	if (read_regular(q, "/var/run/utmp", QETC_UTMP_MAX, &b) != 0 &&
	    read_regular(q, "/run/utmp", QETC_UTMP_MAX, &b) != 0)
		goto out;               /* no utmp: nobody logged in */
	for (off = 0; off + QETC_UTMP_RECORD <= b.len;
	    off += QETC_UTMP_RECORD) {
		rec = b.data + off;
		type = (uint32_t)rec[0] | (uint32_t)rec[1] << 8;
		if (type == 0 || type >= sizeof(types) / sizeof(types[0]))
			continue;
		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_text(out, L_TYPE, types[type])) != 0 ||
		    (r = mamori_qrow_int(out, L_PID,
		    (int32_t)le32(rec + 4))) != 0 ||
		    (r = utmp_str(out, L_TTY, rec + 8, 32)) != 0 ||
		    (r = utmp_str(out, L_USER, rec + 44, 32)) != 0 ||
		    (r = utmp_str(out, L_HOST, rec + 76, 256)) != 0 ||
		    (r = mamori_qrow_int(out, L_TIME,
		    (int32_t)le32(rec + 340))) != 0)
			break;
	}
out:
	mamori_buf_free(&b);
	return r;
}

const struct mamori_qtable mamori_qtable_logged_in_users = {
	"logged_in_users", COLS(login_cols), {-1, -1}, 0, gen_logins,
};

/* ---- crontab ------------------------------------------------------------ */

enum { C_EVENT, C_MINUTE, C_HOUR, C_DAY_OF_MONTH, C_MONTH, C_DAY_OF_WEEK,
	C_COMMAND, C_PATH };
static const struct mamori_qcol cron_cols[] = {
	{"event", T}, {"minute", T}, {"hour", T}, {"day_of_month", T},
	{"month", T}, {"day_of_week", T}, {"command", T}, {"path", T},
};

/* One crontab's lines.  As osquery, the user field of system crontabs
 * (/etc/crontab, /etc/cron.d) stays at the start of command. */
static int
cron_file(const struct mamori_qctx *q, const char *path,
    struct mamori_qrows *out)
{
	struct mamori_token tok[6];
	struct mamori_cursor c;
	struct mamori_buf b;
	const char *line, *eq, *end;
	size_t len, n, k;
	int r = 0;

	mamori_buf_init(&b, 0);
	if (read_regular(q, path, MAMORI_QTEXT_FILE_MAX, &b) != 0)
		goto out;
	mamori_cursor_init(&c, b.data, b.len);
	while (mamori_next_line(&c, &line, &len) && r == 0) {
		mamori_trim(&line, &len);
		if (len == 0 || line[0] == '#')
			continue;
		end = line + len;
		n = mamori_split_ws(line, len, tok, 6);
		/* NAME=value sets the environment */
		eq = memchr(line, '=', len);
		if (eq != NULL && eq < tok[0].p + tok[0].len)
			continue;
		if (line[0] == '@') {
			if (n < 2)
				continue;
			if ((r = mamori_qrow_add(out)) != 0 ||
			    (r = mamori_qrow_textn(out, C_EVENT, tok[0].p,
			    tok[0].len)) != 0 ||
			    (r = mamori_qrow_textn(out, C_COMMAND, tok[1].p,
			    (size_t)(end - tok[1].p))) != 0 ||
			    (r = mamori_qrow_text(out, C_PATH, path)) != 0)
				break;
			for (k = C_MINUTE; k <= C_DAY_OF_WEEK && r == 0; k++)
				r = mamori_qrow_text(out, k, "");
			continue;
		}
		if (n < 6)
			continue;
		if ((r = mamori_qrow_add(out)) != 0 ||
		    (r = mamori_qrow_text(out, C_EVENT, "")) != 0 ||
		    (r = mamori_qrow_textn(out, C_COMMAND, tok[5].p,
		    (size_t)(end - tok[5].p))) != 0 ||
		    (r = mamori_qrow_text(out, C_PATH, path)) != 0)
			break;
		for (k = 0; k < 5 && r == 0; k++)
			r = mamori_qrow_textn(out, C_MINUTE + k, tok[k].p,
			    tok[k].len);
	}
out:
	mamori_buf_free(&b);
	return r;
}

static int
cron_dir(const struct mamori_qctx *q, const char *dir,
    struct mamori_qrows *out)
{
	char full[MAMORI_COLLECT_PATH_MAX], path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names names = {NULL, 0};
	size_t i;
	int r;

	if (mamori_collect_pathf(q->collect, full, sizeof(full), "%s",
	    dir) != 0 ||
	    mamori_list_dir(full, QETC_CRON_FILES_MAX, &names) != 0)
		return 0;
	for (i = 0, r = 0; i < names.n && r == 0; i++) {
		if (names.v[i][0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, names.v[i]) >=
		    (int)sizeof(path))
			continue;
		r = cron_file(q, path, out);
	}
	mamori_names_free(&names);
	return r;
}

static int
gen_crontab(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	int r;

	(void)key;
	(void)value;
	if ((r = cron_file(q, "/etc/crontab", out)) != 0 ||
	    (r = cron_dir(q, "/etc/cron.d", out)) != 0 ||
	    (r = cron_dir(q, "/var/spool/cron/crontabs", out)) != 0)
		return r;
	return 0;
}

const struct mamori_qtable mamori_qtable_crontab = {
	"crontab", COLS(cron_cols), {-1, -1}, 0, gen_crontab,
};

/* ---- authorized_keys ---------------------------------------------------- */

enum { K_UID, K_ALGORITHM, K_KEY, K_OPTIONS, K_COMMENT, K_KEY_FILE };
static const struct mamori_qcol key_cols[] = {
	{"uid", I}, {"algorithm", T}, {"key", T}, {"options", T},
	{"comment", T}, {"key_file", T},
};

static int
is_key_type(const char *p, size_t len)
{
	static const char *const prefixes[] = {"ssh-", "ecdsa-sha2-",
	    "sk-ssh-", "sk-ecdsa-sha2-"};
	size_t i, n;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		n = strlen(prefixes[i]);
		if (len > n && memcmp(p, prefixes[i], n) == 0)
			return 1;
	}
	return 0;
}

/* One authorized_keys line: [options] type base64 [comment].  Options
 * end at the first space outside double quotes (where \" is a quote). */
static int
key_line(struct mamori_qrows *out, uint32_t uid, const char *file,
    const char *line, size_t len)
{
	struct mamori_token tok[QETC_KEY_TOKENS];
	const char *opt = line, *rest = line, *end = line + len, *cstart;
	size_t optlen = 0, n, i;
	int quoted = 0, r;

	if (!is_key_type(line, strcspn(line, " \t") < len ?
	    strcspn(line, " \t") : len)) {
		for (i = 0; i < len; i++) {
			if (quoted && line[i] == '\\' && i + 1 < len)
				i++;            /* \" inside quotes */
			else if (line[i] == '"')
				quoted = !quoted;
			else if (!quoted && (line[i] == ' ' ||
			    line[i] == '\t'))
				break;
		}
		optlen = i;
		rest = line + i;
	}
	len = (size_t)(end - rest);
	mamori_trim(&rest, &len);
	n = mamori_split_ws(rest, len, tok, QETC_KEY_TOKENS);
	if (n < 2 || !is_key_type(tok[0].p, tok[0].len))
		return 0;               /* not a key: never shown */
	cstart = n > 2 ? tok[2].p : end;
	len = (size_t)(rest + len - cstart);
	if ((r = mamori_qrow_add(out)) != 0 ||
	    (r = mamori_qrow_int(out, K_UID, uid)) != 0 ||
	    (r = mamori_qrow_textn(out, K_ALGORITHM, tok[0].p,
	    tok[0].len)) != 0 ||
	    (r = mamori_qrow_textn(out, K_KEY, tok[1].p, tok[1].len)) != 0 ||
	    (r = mamori_qrow_textn(out, K_OPTIONS, opt, optlen)) != 0 ||
	    (r = mamori_qrow_textn(out, K_COMMENT, cstart, len)) != 0 ||
	    (r = mamori_qrow_text(out, K_KEY_FILE, file)) != 0)
		return r;
	return 0;
}

static int
gen_keys(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	static const char *const files[] = {"authorized_keys",
	    "authorized_keys2"};
	char path[MAMORI_COLLECT_PATH_MAX];
	Mamori__Inventory *inv = NULL;
	struct mamori_cursor c;
	struct mamori_buf b;
	const char *line;
	size_t i, k, len;
	int r;

	(void)key;
	(void)value;
	mamori_buf_init(&b, 0);
	if ((inv = mamori_msg_new(&mamori__inventory__descriptor)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_collector_users(q->collect, inv)) != 0) {
		r = r == MAMORI_ERR_NOT_FOUND ? 0 : r;
		goto out;
	}
	for (i = 0; i < inv->n_users && r == 0; i++) {
		const Mamori__User *u = inv->users[i];

		if (u->home[0] != '/' || strcmp(u->home, "/nonexistent") == 0)
			continue;
		for (k = 0; k < 2 && r == 0; k++) {
			if (snprintf(path, sizeof(path), "%s%s.ssh/%s",
			    u->home, u->home[strlen(u->home) - 1] == '/' ?
			    "" : "/", files[k]) >= (int)sizeof(path))
				continue;
			if (read_regular(q, path, MAMORI_QTEXT_FILE_MAX,
			    &b) != 0)
				continue;
			mamori_cursor_init(&c, b.data, b.len);
			while (r == 0 && mamori_next_line(&c, &line, &len)) {
				mamori_trim(&line, &len);
				if (len == 0 || line[0] == '#')
					continue;
				r = key_line(out, u->uid, path, line, len);
			}
		}
	}
out:
	mamori_buf_free(&b);
	mamori_inventory_free(inv);
	return r;
}

const struct mamori_qtable mamori_qtable_authorized_keys = {
	"authorized_keys", COLS(key_cols), {-1, -1}, 0, gen_keys,
};

/* ---- systemd_units ------------------------------------------------------ */

enum { SU_ID, SU_DESCRIPTION, SU_LOAD_STATE, SU_ACTIVE_STATE, SU_SUB_STATE,
	SU_UNIT_FILE_STATE, SU_FOLLOWING, SU_OBJECT_PATH, SU_FRAGMENT_PATH,
	SU_SOURCE_PATH, SU_USER };
static const struct mamori_qcol unit_cols[] = {
	{"id", T}, {"description", T}, {"load_state", T}, {"active_state", T},
	{"sub_state", T}, {"unit_file_state", T}, {"following", T},
	{"object_path", T}, {"fragment_path", T}, {"source_path", T},
	{"user", T},
};

/* Highest precedence first, as systemd searches them. */
static const char *const unit_dirs[] = {"/etc/systemd/system",
    "/run/systemd/system", "/usr/local/lib/systemd/system",
    "/lib/systemd/system", "/usr/lib/systemd/system"};

static int
is_unit_name(const char *name)
{
	static const char *const kinds[] = {".service", ".socket", ".target",
	    ".timer", ".path", ".mount", ".automount", ".swap", ".slice",
	    ".scope"};
	size_t i, n = strlen(name), k;

	if (name[0] == '.' || strstr(name, "@.") != NULL)
		return 0;       /* hidden, or a template */
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		k = strlen(kinds[i]);
		if (n > k && strcmp(name + n - k, kinds[i]) == 0)
			return 1;
	}
	return 0;
}

static int
names_has(const struct mamori_names *set, const char *name)
{
	size_t lo = 0, hi = set->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(set->v[mid], name);
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names linked from /etc/systemd/system/NAME.wants and NAME.requires:
 * the enabled units. */
static int
enabled_units(const struct mamori_qctx *q, struct mamori_names *out)
{
	char full[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names dirs = {NULL, 0}, in = {NULL, 0};
	size_t i, j, n;
	int r = 0;

	out->v = NULL;
	out->n = 0;
	if (mamori_collect_pathf(q->collect, full, sizeof(full),
	    "/etc/systemd/system") != 0 ||
	    mamori_list_dir(full, QETC_UNITS_MAX, &dirs) != 0)
		return 0;
	for (i = 0; i < dirs.n && r == 0; i++) {
		n = strlen(dirs.v[i]);
		if (!((n > 6 && strcmp(dirs.v[i] + n - 6, ".wants") == 0) ||
		    (n > 9 && strcmp(dirs.v[i] + n - 9, ".requires") == 0)))
			continue;
		if (mamori_collect_pathf(q->collect, full, sizeof(full),
		    "/etc/systemd/system/%s", dirs.v[i]) != 0 ||
		    mamori_list_dir(full, QETC_UNITS_MAX, &in) != 0)
			continue;
		for (j = 0; j < in.n && r == 0; j++) {
			if ((r = mamori_array_append(&out->v, &out->n,
			    QETC_UNITS_MAX, in.v[j])) == 0)
				in.v[j] = NULL;
		}
		mamori_names_free(&in);
	}
	mamori_names_free(&dirs);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), names_cmp);
	return r;
}

/* D-Bus object path of a unit: bytes other than [A-Za-z0-9] as _XX. */
static void
object_path(const char *name, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o;
	int n;

	n = snprintf(out, outlen, "/org/freedesktop/systemd1/unit/");
	o = n > 0 ? (size_t)n : 0;
	for (; *name != '\0' && o + 4 < outlen; name++) {
		unsigned char ch = (unsigned char)*name;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9'))
			out[o++] = (char)ch;
		else {
			out[o++] = '_';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
}

/* Description= of [Unit], and whether [Install] says how to enable it. */
static int
unit_file_read(const char *path,
    struct mamori_qrows *out, int *installable)
{
	struct mamori_token k, v;
	struct mamori_cursor c;
	struct mamori_buf b;
	struct stat sb;
	const char *line;
	size_t len;
	int section = 0, r = 0;   /* 1 [Unit], 2 [Install] */

	*installable = 0;
	mamori_buf_init(&b, 0);
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    mamori_collect_read(path, QETC_UNIT_FILE_MAX, &b) != 0)
		goto out;
	mamori_cursor_init(&c, b.data, b.len);
	while (mamori_next_line(&c, &line, &len)) {
		mamori_trim(&line, &len);
		if (len > 0 && line[0] == '[') {
			section = mamori_tok_eq(line, len, "[Unit]") ? 1 :
			    mamori_tok_eq(line, len, "[Install]") ? 2 : 0;
			continue;
		}
		if (mamori_split_kv(line, len, '=', &k, &v) != 0)
			continue;
		if (section == 1 && mamori_tok_eq(k.p, k.len, "Description")) {
			if ((r = mamori_qrow_textn(out, SU_DESCRIPTION, v.p,
			    v.len)) != 0)
				goto out;
		} else if (section == 2 && v.len > 0 &&
		    (mamori_tok_eq(k.p, k.len, "WantedBy") ||
		    mamori_tok_eq(k.p, k.len, "RequiredBy") ||
		    mamori_tok_eq(k.p, k.len, "UpheldBy") ||
		    mamori_tok_eq(k.p, k.len, "Alias") ||
		    mamori_tok_eq(k.p, k.len, "Also")))
			*installable = 1;
	}
out:
	mamori_buf_free(&b);
	return r;
}

/* active_state/sub_state of a service from its cgroup (v2): "active" and
 * "running" when it holds processes; NULL when that cannot be told. */
static int
unit_activity(const struct mamori_qctx *q, const char *name,
    struct mamori_qrows *out)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_buf b;
	int r = 0;

	if (strlen(name) < 9 || strcmp(name + strlen(name) - 8, ".service"))
		return 0;
	mamori_buf_init(&b, 0);
	if (mamori_collect_pathf(q->collect, path, sizeof(path),
	    "/sys/fs/cgroup/system.slice/%s/cgroup.procs", name) == 0 &&
	    mamori_collect_read(path, MAMORI_COLLECT_ATTR_MAX * 16, &b) == 0 &&
	    b.len > 0) {
		if ((r = mamori_qrow_text(out, SU_ACTIVE_STATE, "active")) ==
		    0)
			r = mamori_qrow_text(out, SU_SUB_STATE, "running");
	}
	mamori_buf_free(&b);
	return r;
}

static int
unit_row(const struct mamori_qctx *q, const char *dir, const char *name,
    const struct mamori_names *enabled, struct mamori_qrows *out)
{
	char full[MAMORI_COLLECT_PATH_MAX], frag[MAMORI_COLLECT_PATH_MAX];
	char target[MAMORI_COLLECT_PATH_MAX], obj[1024];
	struct stat sb;
	ssize_t n;
	int installable = 0, masked = 0, r;

	if (mamori_collect_pathf(q->collect, full, sizeof(full), "%s/%s", dir,
	    name) != 0 || lstat(full, &sb) != 0)
		return 0;
	if (snprintf(frag, sizeof(frag), "%s/%s", dir, name) >=
	    (int)sizeof(frag))
		return 0;
	if (S_ISLNK(sb.st_mode)) {
		n = readlink(full, target, sizeof(target) - 1);
		if (n <= 0)
			return 0;
		target[n] = '\0';
		if (strcmp(target, "/dev/null") == 0)
			masked = 1;
		else if (snprintf(frag, sizeof(frag), "%s%s%s",
		    target[0] == '/' ? "" : dir, target[0] == '/' ? "" : "/",
		    target) >= (int)sizeof(frag))
			return 0;
	} else if (!S_ISREG(sb.st_mode))
		return 0;
	object_path(name, obj, sizeof(obj));
	if ((r = mamori_qrow_add(out)) != 0 ||
	    (r = mamori_qrow_text(out, SU_ID, name)) != 0 ||
	    (r = mamori_qrow_text(out, SU_LOAD_STATE, masked ? "masked" :
	    "loaded")) != 0 ||
	    (r = mamori_qrow_text(out, SU_FOLLOWING, "")) != 0 ||
	    (r = mamori_qrow_text(out, SU_OBJECT_PATH, obj)) != 0 ||
	    (r = mamori_qrow_text(out, SU_FRAGMENT_PATH, masked ? "" :
	    frag)) != 0 ||
	    (r = mamori_qrow_text(out, SU_SOURCE_PATH, "")) != 0 ||
	    (r = mamori_qrow_text(out, SU_USER, "")) != 0 ||
	    (r = mamori_qrow_text(out, SU_DESCRIPTION, "")) != 0)
		return r;
	if (!masked && mamori_collect_pathf(q->collect, full, sizeof(full),
	    "%s", frag) == 0 &&
	    (r = unit_file_read(full, out, &installable)) != 0)
		return r;
	if ((r = mamori_qrow_text(out, SU_UNIT_FILE_STATE, masked ? "masked" :
	    names_has(enabled, name) ? "enabled" : installable ? "disabled" :
	    "static")) != 0)
		return r;
	return masked ? 0 : unit_activity(q, name, out);
}

/*
 * Unlike osquery (which asks systemd over D-Bus for the units it has
 * loaded), this lists the unit files on disk, first directory wins:
 * templates are left out, load_state is "loaded" or "masked" from the file
 * alone, unit_file_state is "enabled" when /etc/systemd/system/X.wants or
 * X.requires links it, "disabled" when its [Install] section could enable
 * it, else "static"; active_state and sub_state are known only for
 * services running in their own cgroup ("active"/"running"), NULL
 * otherwise; following, source_path and user are "".
 */
static int
gen_units(const struct mamori_qctx *q, int key, const char *value,
    struct mamori_qrows *out)
{
	char full[MAMORI_COLLECT_PATH_MAX];
	struct mamori_names seen = {NULL, 0}, names = {NULL, 0};
	struct mamori_names enabled = {NULL, 0};
	char *copy;
	size_t d, i;
	int r;

	(void)key;
	(void)value;
	if ((r = enabled_units(q, &enabled)) != 0)
		goto out;
	for (d = 0; d < sizeof(unit_dirs) / sizeof(unit_dirs[0]); d++) {
		if (mamori_collect_pathf(q->collect, full, sizeof(full), "%s",
		    unit_dirs[d]) != 0 ||
		    mamori_list_dir(full, QETC_UNITS_MAX, &names) != 0)
			continue;
		for (i = 0; i < names.n && r == 0; i++) {
			if (!is_unit_name(names.v[i]) ||
			    names_has(&seen, names.v[i]))
				continue;
			if ((r = unit_row(q, unit_dirs[d], names.v[i],
			    &enabled, out)) != 0)
				break;
			if ((copy = strdup(names.v[i])) == NULL) {
				r = MAMORI_ERR_ALLOC;
				break;
			}
			if ((r = mamori_array_append(&seen.v, &seen.n,
			    QETC_UNITS_MAX, copy)) != 0) {
				free(copy);
				break;
			}
		}
		/* Names within one directory are unique: sort once. */
		if (seen.n > 1)
			qsort(seen.v, seen.n, sizeof(*seen.v), names_cmp);
		mamori_names_free(&names);
		if (r != 0)
			goto out;
	}
out:
	mamori_names_free(&names);
	mamori_names_free(&seen);
	mamori_names_free(&enabled);
	return r;
}

const struct mamori_qtable mamori_qtable_systemd_units = {
	"systemd_units", COLS(unit_cols), {-1, -1}, 0, gen_units,
};
