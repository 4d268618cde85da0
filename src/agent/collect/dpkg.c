/*
 * dpkg.c - the installed-packages collector: /var/lib/dpkg/status.
 *
 * The status file is a list of RFC 822-like stanzas separated by empty
 * lines; a line starting with a space or tab continues the field before it.
 * We report every stanza whose status word is not "not-installed", which is
 * what `dpkg-query -W` lists.  The file is read with a cap and each stanza
 * with a cap of its own; a malformed stanza (no Package, a bad Status, a
 * repeated field, a field line without a colon) is skipped, never guessed
 * at.  This file must never run dpkg or any other program.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "collectors.h"
#include "err.h"
#include "log.h"
#include "parse.h"

#define MAMORI_DPKG_STATUS_PATH "/var/lib/dpkg/status"
#define MAMORI_DPKG_STATUS_MAX (64 * 1024 * 1024)  /* bytes of the file */
#define MAMORI_DPKG_STANZA_MAX (1024 * 1024)       /* bytes of one stanza */
#define DPKG_STATUS_WORDS 3                        /* want flag status */

/* The fields we keep from one stanza, as views into the file's bytes. */
struct dpkg_stanza {
	struct mamori_token package, status, version, arch, source;
	unsigned seen;        /* bit per field above, to catch repeats */
	size_t bytes;         /* size so far, against MAMORI_DPKG_STANZA_MAX */
	int bad;              /* malformed: skip it */
	int fields;           /* field lines so far */
};

enum {
	F_PACKAGE = 1u << 0,
	F_STATUS = 1u << 1,
	F_VERSION = 1u << 2,
	F_ARCH = 1u << 3,
	F_SOURCE = 1u << 4,
};

static int
name_is(const struct mamori_token *name, const char *field)
{
	return strlen(field) == name->len &&
	    strncasecmp(name->p, field, name->len) == 0;
}

/* Records one "Name: value" line in st. */
static void
stanza_field(struct dpkg_stanza *st, const char *line, size_t len)
{
	struct mamori_token name, value, *dst = NULL;
	unsigned bit = 0;
	size_t i;

	st->fields++;
	if (mamori_split_kv(line, len, ':', &name, &value) != 0) {
		st->bad = 1;
		return;
	}
	for (i = 0; i < name.len; i++) {
		if (name.p[i] == ' ' || name.p[i] == '\t') {
			st->bad = 1;
			return;
		}
	}
	if (name_is(&name, "Package")) {
		dst = &st->package;
		bit = F_PACKAGE;
	} else if (name_is(&name, "Status")) {
		dst = &st->status;
		bit = F_STATUS;
	} else if (name_is(&name, "Version")) {
		dst = &st->version;
		bit = F_VERSION;
	} else if (name_is(&name, "Architecture")) {
		dst = &st->arch;
		bit = F_ARCH;
	} else if (name_is(&name, "Source")) {
		dst = &st->source;
		bit = F_SOURCE;
	}
	if (dst == NULL)
		return;
	if (st->seen & bit) {
		st->bad = 1;
		return;
	}
	st->seen |= bit;
	*dst = value;
}

/*
 * Splits a Source value, "name" or "name (version)", into its parts.  A
 * value that is neither keeps only its first word as the name.
 */
static void
split_source(const struct mamori_token *src, struct mamori_token *name,
    struct mamori_token *version)
{
	const char *p = src->p, *end = src->p + src->len;
	struct mamori_token rest;

	name->p = p;
	while (p < end && *p != ' ' && *p != '\t' && *p != '(')
		p++;
	name->len = (size_t)(p - name->p);
	version->p = NULL;
	version->len = 0;
	rest.p = p;
	rest.len = (size_t)(end - p);
	mamori_trim(&rest.p, &rest.len);
	if (rest.len >= 2 && rest.p[0] == '(' && rest.p[rest.len - 1] == ')') {
		version->p = rest.p + 1;
		version->len = rest.len - 2;
		mamori_trim(&version->p, &version->len);
		if (version->len == 0 || memchr(version->p, '(',
		    version->len) != NULL || memchr(version->p, ')',
		    version->len) != NULL)
			version->p = NULL;
	}
	if (version->p == NULL)
		version->len = 0;
}

/*
 * Turns a finished stanza into a Package appended to inv, unless it is
 * malformed or not installed.  Fails only with ALLOC or the item limit.
 */
static int
stanza_emit(const struct dpkg_stanza *st, Mamori__Inventory *inv)
{
	struct mamori_token words[DPKG_STATUS_WORDS], sname, sver;
	Mamori__Package *pkg = NULL;
	int r = MAMORI_ERR_INTERNAL;

	if (st->fields == 0) {
		r = 0;          /* nothing there: runs of blank lines */
		goto out;
	}
	if (st->bad || !(st->seen & F_PACKAGE) || !(st->seen & F_STATUS) ||
	    st->package.len == 0 ||
	    mamori_split_ws(st->status.p, st->status.len, words,
	    DPKG_STATUS_WORDS) != DPKG_STATUS_WORDS) {
		r = 0;
		log_debug("dpkg: skipping a malformed stanza");
		goto out;
	}
	if (mamori_tok_eq(words[2].p, words[2].len, "not-installed")) {
		r = 0;
		goto out;
	}
	if ((pkg = mamori_msg_new(&mamori__package__descriptor)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if ((r = mamori_set_str(&pkg->name, st->package.p,
	    st->package.len)) != 0 ||
	    (r = mamori_set_str(&pkg->status, words[2].p, words[2].len)) != 0 ||
	    (r = mamori_set_str(&pkg->version, st->version.p,
	    st->version.len)) != 0 ||
	    (r = mamori_set_str(&pkg->arch, st->arch.p, st->arch.len)) != 0)
		goto skip;
	sname = st->package;
	sver = st->version;
	if (st->seen & F_SOURCE) {
		struct mamori_token n, v;

		split_source(&st->source, &n, &v);
		if (n.len > 0)
			sname = n;
		if (v.len > 0)
			sver = v;
	}
	if ((r = mamori_set_str(&pkg->source, sname.p, sname.len)) != 0 ||
	    (r = mamori_set_str(&pkg->source_version, sver.p,
	    sver.len)) != 0)
		goto skip;
	if ((r = mamori_array_append(&inv->packages, &inv->n_packages,
	    MAMORI_MAX_PACKAGES, pkg)) != 0)
		goto out;
	pkg = NULL;
	r = 0;
	goto out;
skip:
	/* A field with a NUL byte or past the string limit: drop the item. */
	if (r != MAMORI_ERR_ALLOC) {
		log_debug("dpkg: skipping a stanza: %s", mamori_strerror(r));
		r = 0;
	}
out:
	mamori_msg_free(pkg);
	return r;
}

int
mamori_parse_dpkg_status(const char *data, size_t len,
    Mamori__Inventory *inv)
{
	struct mamori_cursor c;
	struct dpkg_stanza st;
	const char *line;
	size_t line_len;
	int r = MAMORI_ERR_INTERNAL;

	memset(&st, 0, sizeof(st));
	mamori_cursor_init(&c, data, len);
	while (mamori_next_line(&c, &line, &line_len)) {
		if (line_len == 0) {
			if ((r = stanza_emit(&st, inv)) != 0)
				goto out;
			memset(&st, 0, sizeof(st));
			continue;
		}
		if (line_len >= MAMORI_DPKG_STANZA_MAX ||
		    st.bytes > MAMORI_DPKG_STANZA_MAX - line_len - 1)
			st.bad = 1;
		else
			st.bytes += line_len + 1;
		if (st.bad)
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			/* Continuation of a field we do not keep, unless it
			 * comes before any field at all. */
			if (st.fields == 0)
				st.bad = 1;
			continue;
		}
		stanza_field(&st, line, line_len);
	}
	if ((r = stanza_emit(&st, inv)) != 0)
		goto out;
	r = 0;
out:
	return r;
}

int
mamori_collector_packages(const struct mamori_collect_ctx *ctx,
    Mamori__Inventory *inv)
{
	char path[MAMORI_COLLECT_PATH_MAX];
	struct mamori_buf b;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, MAMORI_DPKG_STATUS_MAX);
	if ((r = mamori_collect_pathf(ctx, path, sizeof(path), "%s",
	    MAMORI_DPKG_STATUS_PATH)) != 0)
		goto out;
	if ((r = mamori_collect_read(path, MAMORI_DPKG_STATUS_MAX, &b)) != 0)
		goto out;
	r = mamori_parse_dpkg_status((const char *)b.data, b.len, inv);
out:
	mamori_buf_free(&b);
	return r;
}
