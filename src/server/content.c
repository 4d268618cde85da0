/*
 * content.c - Sigma rules, STIX bundles, YARA files and OSV advisories
 * added to and removed from a running server's home (see content.h).
 *
 * Each change is checked first with the library that will use the
 * content, then written through a small journal of the files it touches
 * (their old bytes kept in memory), then reloaded; a failed reload plays
 * the journal back, so a refused change leaves the home as it was.
 *
 * This file must never write outside HOME/rules/, never follow a name the
 * administrator sent into a path without reducing it to a safe stem, and
 * never keep half of a change.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "buf.h"
#include "content.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "osv.h"
#include "sigma.h"
#include "stix_bundle.h"
#include "util.h"
#include "yara_rules.h"

#define CONTENT_FILE_MODE 0640
#define CONTENT_DIR_MODE 0750
#define CONTENT_REASON_MAX 512
#define CONTENT_REJECTS_MAX 64      /* OSV problems returned to the client */

/* ---- names and directories --------------------------------------------- */

int
mamori_content_file_name(const char *stem, size_t stemlen, const char *ext,
    char *out, size_t outlen)
{
	size_t i, n = stemlen < MAMORI_CONTENT_NAME_MAX ? stemlen :
	    MAMORI_CONTENT_NAME_MAX;
	size_t elen = strlen(ext);

	if (outlen < (n == 0 ? sizeof("unnamed") : n + 1) + elen)
		return MAMORI_ERR_TOO_LARGE;
	if (n == 0) {
		memcpy(out, "unnamed", sizeof("unnamed"));
		n = sizeof("unnamed") - 1;
	} else {
		for (i = 0; i < n; i++) {
			char c = stem[i];

			out[i] = ((c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '_' || (c == '.' && i > 0)) ? c :
			    '_';
		}
	}
	memcpy(out + n, ext, elen + 1);
	return 0;
}

/* The base name of what the administrator called the file, without ext
 * when it ends so. */
static void
base_stem(const char *name, const char *const *exts, const char **stem,
    size_t *len)
{
	const char *slash = strrchr(name, '/');
	size_t n, e;

	*stem = slash != NULL ? slash + 1 : name;
	n = strlen(*stem);
	for (e = 0; exts[e] != NULL; e++) {
		size_t el = strlen(exts[e]);

		if (n > el && strcmp(*stem + n - el, exts[e]) == 0) {
			n -= el;
			break;
		}
	}
	*len = n;
}

/* HOME/sub, created (with HOME/rules) when missing. */
static int
content_dir(const char *home, const char *sub, int create, char *out,
    size_t outlen)
{
	char rules[PATH_MAX];
	int r;

	if ((r = mamori_path_join(out, outlen, home, sub)) != 0)
		return r;
	if (!create)
		return 0;
	if ((r = mamori_path_join(rules, sizeof(rules), home, "rules")) != 0)
		return r;
	if ((mkdir(rules, CONTENT_DIR_MODE) != 0 && errno != EEXIST) ||
	    (mkdir(out, CONTENT_DIR_MODE) != 0 && errno != EEXIST))
		return MAMORI_ERR_SYSTEM;
	return 0;
}

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), m = strlen(suffix);

	return n > m && strcmp(name + n - m, suffix) == 0;
}

/* Text a client sends must be text: no NUL, within the limit. */
static int
check_text(const char *name, const char *text, size_t len, char *why,
    size_t whylen)
{
	if (len == 0) {
		snprintf(why, whylen, "%.200s is empty", name);
		return MAMORI_ERR_INVALID;
	}
	if (len > MAMORI_CONTENT_TEXT_MAX) {
		snprintf(why, whylen, "%.200s is larger than %d bytes; split it",
		    name, MAMORI_CONTENT_TEXT_MAX);
		return MAMORI_ERR_TOO_LARGE;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(why, whylen, "%.200s holds a NUL byte; it is not text",
		    name);
		return MAMORI_ERR_BAD_STRING;
	}
	return 0;
}

/* ---- the journal: files touched by one change -------------------------- */

struct journal_entry {
	char path[PATH_MAX];
	uint8_t *old;       /* bytes before, NULL when the file did not exist */
	size_t old_len;
};

struct journal {
	struct journal_entry *e;
	size_t n;
};

static void
journal_free(struct journal *j)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		free(j->e[i].old);
	free(j->e);
	memset(j, 0, sizeof(*j));
}

/* Records path's present bytes before it changes. */
static int
journal_note(struct journal *j, const char *path)
{
	struct journal_entry *p, *x;
	struct mamori_buf b;
	int r;

	if (j->n >= MAMORI_CONTENT_CHANGES_MAX)
		return MAMORI_ERR_TOO_LARGE;
	if ((p = realloc(j->e, (j->n + 1) * sizeof(*p))) == NULL)
		return MAMORI_ERR_ALLOC;
	j->e = p;
	x = &j->e[j->n];
	memset(x, 0, sizeof(*x));
	if (mamori_strlcpy(x->path, path, sizeof(x->path)) >= sizeof(x->path))
		return MAMORI_ERR_TOO_LARGE;
	mamori_buf_init(&b, MAMORI_STIX_BUNDLE_MAX_BYTES);
	r = mamori_buf_read_file(&b, path);
	if (r == 0) {
		/* An empty file is kept as a one-byte allocation. */
		if ((x->old = malloc(b.len > 0 ? b.len : 1)) == NULL) {
			mamori_buf_free(&b);
			return MAMORI_ERR_ALLOC;
		}
		if (b.len > 0)
			memcpy(x->old, b.data, b.len);
		x->old_len = b.len;
	} else if (r != MAMORI_ERR_NOT_FOUND) {
		mamori_buf_free(&b);
		return r;
	}
	mamori_buf_free(&b);
	j->n++;
	return 0;
}

static int
journal_write(struct journal *j, const char *path, const void *data,
    size_t len, int exclusive)
{
	int r;

	if ((r = journal_note(j, path)) != 0)
		return r;
	if ((r = mamori_file_write(path, data, len, CONTENT_FILE_MODE,
	    exclusive)) != 0) {
		j->n--;
		free(j->e[j->n].old);
	}
	return r;
}

static int
journal_unlink(struct journal *j, const char *path)
{
	int r;

	if ((r = journal_note(j, path)) != 0)
		return r;
	if (unlink(path) != 0) {
		j->n--;
		free(j->e[j->n].old);
		return errno == ENOENT ? MAMORI_ERR_NOT_FOUND : MAMORI_ERR_IO;
	}
	return 0;
}

/* Puts every file back, newest change first. */
static void
journal_undo(struct journal *j)
{
	size_t i;

	for (i = j->n; i-- > 0;) {
		struct journal_entry *x = &j->e[i];

		if (x->old == NULL) {
			if (unlink(x->path) != 0 && errno != ENOENT)
				log_error("content: cannot remove %s again: %s",
				    x->path, strerror(errno));
		} else if (mamori_file_write(x->path, x->old, x->old_len,
		    CONTENT_FILE_MODE, 0) != 0) {
			log_error("content: cannot restore %s", x->path);
		}
	}
}

/* Reloads; on failure undoes the journal. */
static int
journal_commit(struct journal *j, mamori_content_reload_fn reload,
    void *arg, char *why, size_t whylen)
{
	int r;

	if (reload == NULL)
		return 0;
	if ((r = reload(arg, why, whylen)) != 0) {
		journal_undo(j);
		if (why[0] == '\0')
			snprintf(why, whylen, "the server could not reload its "
			    "rules (%s); nothing was changed",
			    mamori_strerror(r));
	}
	return r;
}

/* ---- Sigma ------------------------------------------------------------- */

struct yaml_doc {
	size_t start, end;
};

/*
 * Splits text into its YAML documents (byte ranges), leaving out empty
 * ones.  A YAML error is reported with its line.
 */
static int
yaml_split(const char *name, const char *text, size_t len,
    struct yaml_doc **out, size_t *n, char *why, size_t whylen)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct yaml_doc *docs = NULL, *p;
	size_t nd = 0, start = 0, events = 0;
	int done = 0, r = MAMORI_ERR_INVALID, empty = 1;

	*out = NULL;
	*n = 0;
	if (!yaml_parser_initialize(&parser))
		return MAMORI_ERR_ALLOC;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			snprintf(why, whylen, "%.200s is not YAML: line %zu: "
			    "%.200s", name, parser.problem_mark.line + 1,
			    parser.problem != NULL ? parser.problem : "?");
			goto out;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			start = ev.start_mark.index;
			events = 0;
			empty = 1;
			break;
		case YAML_SCALAR_EVENT:
			if (events++ > 0 || ev.data.scalar.length > 0 ||
			    ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
				empty = 0;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_ALIAS_EVENT:
			events++;
			empty = 0;
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (empty)
				break;
			if (nd >= MAMORI_CONTENT_SIGMA_DOCS_MAX) {
				snprintf(why, whylen, "%.200s holds more than %d "
				    "rules; split it", name,
				    MAMORI_CONTENT_SIGMA_DOCS_MAX);
				yaml_event_delete(&ev);
				r = MAMORI_ERR_TOO_LARGE;
				goto out;
			}
			if ((p = realloc(docs, (nd + 1) * sizeof(*p))) ==
			    NULL) {
				yaml_event_delete(&ev);
				r = MAMORI_ERR_ALLOC;
				goto out;
			}
			docs = p;
			docs[nd].start = start;
			docs[nd].end = ev.end_mark.index <= len ?
			    ev.end_mark.index : len;
			nd++;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (nd == 0) {
		snprintf(why, whylen, "%.200s holds no rule", name);
		goto out;
	}
	*out = docs;
	*n = nd;
	docs = NULL;
	r = 0;
out:
	yaml_parser_delete(&parser);
	free(docs);
	return r;
}

/* The rules of HOME/rules/sigma as read (not compiled): ids and paths. */
static int
sigma_home(const char *home, struct mamori_sigma_ruleset **out)
{
	struct mamori_sigma_schema schema;
	char dir[PATH_MAX];
	int r;

	*out = NULL;
	mamori_sigma_ingest_schema(&schema);
	if ((r = content_dir(home, MAMORI_CONTENT_SIGMA_DIR, 0, dir,
	    sizeof(dir))) != 0 ||
	    (r = mamori_sigma_ruleset_new(&schema, out)) != 0)
		return r;
	r = mamori_sigma_ruleset_add_path(*out, dir);
	return r == MAMORI_ERR_NOT_FOUND ? 0 : r;
}

int
mamori_content_sigma_add(const char *home, const char *name,
    const char *text, size_t len, mamori_content_reload_fn reload,
    void *arg, json_t **out, char *why, size_t whylen)
{
	static const char *const exts[] = {".yml", ".yaml", NULL};
	struct mamori_sigma_schema schema;
	struct mamori_sigma_ruleset *rs = NULL, *have = NULL;
	const struct mamori_sigma_rule_info *info, *old;
	struct yaml_doc *docs = NULL;
	struct journal j = {NULL, 0};
	char dir[PATH_MAX], path[PATH_MAX], file[MAMORI_CONTENT_NAME_MAX + 8];
	char docname[PATH_MAX];
	const char *stem;
	size_t ndocs = 0, i, k, nhave, stemlen, bad = 0;
	json_t *added = NULL, *res = NULL;
	int r;

	*out = NULL;
	why[0] = '\0';
	if ((r = check_text(name, text, len, why, whylen)) != 0)
		goto out;
	if ((r = yaml_split(name, text, len, &docs, &ndocs, why, whylen)) != 0)
		goto out;
	base_stem(name, exts, &stem, &stemlen);
	mamori_sigma_ingest_schema(&schema);
	if ((r = mamori_sigma_ruleset_new(&schema, &rs)) != 0)
		goto out;
	for (i = 0; i < ndocs; i++) {
		snprintf(docname, sizeof(docname), "%.*s#%zu", (int)stemlen,
		    stem, i + 1);
		if ((r = mamori_sigma_ruleset_add_yaml(rs, ndocs > 1 ? docname :
		    name, text + docs[i].start, docs[i].end - docs[i].start)) !=
		    0)
			goto out;
	}
	if ((r = mamori_sigma_ruleset_compile(rs)) != 0)
		goto out;
	r = MAMORI_ERR_INVALID;
	for (i = 0; i < ndocs; i++) {
		info = mamori_sigma_rule_info(rs, i);
		if (info->loaded)
			continue;
		if (bad++ == 0)
			snprintf(why, whylen, "rule %.100s%s%.60s%s cannot be "
			    "applied by the server: %.200s", info->title,
			    info->id[0] != '\0' ? " (" : "", info->id,
			    info->id[0] != '\0' ? ")" : "", info->reason);
	}
	if (bad > 1) {
		char first[CONTENT_REASON_MAX];

		mamori_strlcpy(first, why, sizeof(first));
		snprintf(why, whylen, "%zu of the %zu rules of %.100s cannot be "
		    "applied; nothing was added; the first: %s", bad, ndocs,
		    name, first);
	}
	if (bad > 0)
		goto out;
	if ((r = sigma_home(home, &have)) != 0) {
		snprintf(why, whylen, "the server's rules cannot be read: %s",
		    mamori_strerror(r));
		goto out;
	}
	nhave = mamori_sigma_ruleset_count(have);
	r = MAMORI_ERR_EXISTS;
	for (i = 0; i < ndocs; i++) {
		info = mamori_sigma_rule_info(rs, i);
		if (info->id[0] == '\0') {
			snprintf(why, whylen, "rule %.200s has no id; give it one "
			    "(a UUID) so that it can be removed", info->title);
			r = MAMORI_ERR_INVALID;
			goto out;
		}
		for (k = 0; k < i; k++)
			if (strcmp(mamori_sigma_rule_info(rs, k)->id,
			    info->id) == 0) {
				snprintf(why, whylen, "rule id %.100s appears "
				    "twice in %.200s", info->id, name);
				goto out;
			}
		for (k = 0; k < nhave; k++) {
			old = mamori_sigma_rule_info(have, k);
			if (strcmp(old->id, info->id) == 0) {
				snprintf(why, whylen, "rule %.100s is already on "
				    "the server (%.200s); remove it first",
				    info->id, old->path);
				goto out;
			}
		}
	}
	if ((r = content_dir(home, MAMORI_CONTENT_SIGMA_DIR, 1, dir,
	    sizeof(dir))) != 0) {
		snprintf(why, whylen, "cannot create the rules directory");
		goto out;
	}
	if ((added = json_array()) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < ndocs; i++) {
		info = mamori_sigma_rule_info(rs, i);
		if ((r = mamori_content_file_name(info->id, strlen(info->id),
		    ".yml", file, sizeof(file))) != 0 ||
		    (r = mamori_path_join(path, sizeof(path), dir, file)) != 0)
			goto undo;
		r = journal_write(&j, path, text + docs[i].start,
		    docs[i].end - docs[i].start, 1);
		if (r == MAMORI_ERR_EXISTS) {
			snprintf(why, whylen, "a file %.200s is already among "
			    "the server's rules; remove it first", file);
			goto undo;
		}
		if (r != 0) {
			snprintf(why, whylen, "cannot write %.200s: %s", file,
			    mamori_strerror(r));
			goto undo;
		}
		if (json_array_append_new(added, json_pack("{s:s, s:s, s:s, "
		    "s:s}", "id", info->id, "title", info->title, "level",
		    mamori_sigma_level_name(info->level), "file", file)) != 0) {
			r = MAMORI_ERR_ALLOC;
			goto undo;
		}
	}
	if ((r = journal_commit(&j, reload, arg, why, whylen)) != 0)
		goto out;
	if ((res = json_pack("{s:O}", "added", added)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	log_info("content: %zu Sigma rule(s) added from %.200s", ndocs, name);
	*out = res;
	r = 0;
	goto out;
undo:
	journal_undo(&j);
out:
	json_decref(added);
	journal_free(&j);
	mamori_sigma_ruleset_free(rs);
	mamori_sigma_ruleset_free(have);
	free(docs);
	return r;
}

int
mamori_content_sigma_remove(const char *home, const char *const *ids,
    size_t n, mamori_content_reload_fn reload, void *arg, json_t **out,
    char *why, size_t whylen)
{
	struct mamori_sigma_ruleset *have = NULL;
	const struct mamori_sigma_rule_info *info;
	struct journal j = {NULL, 0};
	char dir[PATH_MAX];
	size_t i, k, nhave, dlen, found;
	json_t *removed = NULL, *paths = NULL, *res = NULL;
	int r = MAMORI_ERR_INVALID;

	*out = NULL;
	why[0] = '\0';
	if (n == 0 || n > MAMORI_CONTENT_REMOVE_MAX) {
		snprintf(why, whylen, "give 1 to %d rule ids",
		    MAMORI_CONTENT_REMOVE_MAX);
		goto out;
	}
	if ((r = content_dir(home, MAMORI_CONTENT_SIGMA_DIR, 0, dir,
	    sizeof(dir))) != 0 || (r = sigma_home(home, &have)) != 0) {
		snprintf(why, whylen, "the server's rules cannot be read: %s",
		    mamori_strerror(r));
		goto out;
	}
	dlen = strlen(dir);
	nhave = mamori_sigma_ruleset_count(have);
	r = MAMORI_ERR_ALLOC;
	if ((removed = json_array()) == NULL || (paths = json_object()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		found = 0;
		for (k = 0; k < nhave; k++) {
			info = mamori_sigma_rule_info(have, k);
			if (strcmp(info->id, ids[i]) != 0)
				continue;
			if (strncmp(info->path, dir, dlen) != 0 ||
			    info->path[dlen] != '/') {
				r = MAMORI_ERR_INTERNAL;
				goto out;
			}
			found++;
			if (json_object_set_new(paths, info->path,
			    json_string(ids[i])) != 0 ||
			    json_array_append_new(removed, json_pack(
			    "{s:s, s:s, s:s}", "id", ids[i], "title",
			    info->title, "file", info->path + dlen + 1)) != 0)
				goto out;
		}
		if (found == 0) {
			snprintf(why, whylen, "no Sigma rule with id %.100s on "
			    "the server; see mamori rules list", ids[i]);
			r = MAMORI_ERR_NOT_FOUND;
			goto out;
		}
	}
	{
		const char *path;
		json_t *v;

		json_object_foreach(paths, path, v) {
			if ((r = journal_unlink(&j, path)) != 0 &&
			    r != MAMORI_ERR_NOT_FOUND) {
				snprintf(why, whylen, "cannot remove %.200s: %s",
				    path, mamori_strerror(r));
				journal_undo(&j);
				goto out;
			}
		}
	}
	if ((r = journal_commit(&j, reload, arg, why, whylen)) != 0)
		goto out;
	if ((res = json_pack("{s:O}", "removed", removed)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	log_info("content: %zu Sigma rule file(s) removed",
	    json_object_size(paths));
	*out = res;
	r = 0;
out:
	json_decref(removed);
	json_decref(paths);
	journal_free(&j);
	mamori_sigma_ruleset_free(have);
	return r;
}

/* ---- STIX -------------------------------------------------------------- */

/* Every *.json file under dir (recursively, in name order) into files. */
static int
list_json(const char *dir, int depth, const char *ext, json_t *files)
{
	struct dirent **ents = NULL;
	struct stat sb;
	char path[PATH_MAX];
	int i, n, r = 0;

	if (depth > MAMORI_CONTENT_DIR_DEPTH_MAX)
		return 0;
	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0)
		return errno == ENOENT ? 0 : MAMORI_ERR_IO;
	for (i = 0; i < n && r == 0; i++) {
		const char *name = ents[i]->d_name;

		if (name[0] == '.' ||
		    mamori_path_join(path, sizeof(path), dir, name) != 0 ||
		    stat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode))
			r = list_json(path, depth + 1, ext, files);
		else if (S_ISREG(sb.st_mode) && has_suffix(name, ext)) {
			if (json_array_size(files) >= MAMORI_CONTENT_FILES_MAX)
				r = MAMORI_ERR_TOO_LARGE;
			else if (json_array_append_new(files,
			    json_string(path)) != 0)
				r = MAMORI_ERR_ALLOC;
		}
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return r;
}

static json_t *
indicator_json(const struct mamori_stix_bundle *b,
    const struct mamori_stix_indicator *in, const char *file)
{
	json_t *o, *values;
	size_t t;
	const char *kind = "";

	values = json_array();
	if (in->compiled != NULL) {
		for (t = 0; values != NULL && t < in->compiled->nterms; t++) {
			const struct mamori_stix_term *term =
			    &in->compiled->terms[t];

			if (t == 0)
				kind = mamori_stix_kind_name(term->kind);
			json_array_append_new(values, json_pack("{s:s, s:s}",
			    "kind", mamori_stix_kind_name(term->kind),
			    "value", term->value));
		}
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:b, s:s}",
	    "id", in->id != NULL ? in->id : "",
	    "name", in->name != NULL ? in->name : "",
	    "pattern_type", in->pattern_type != NULL ? in->pattern_type : "",
	    "pattern", in->pattern != NULL ? in->pattern : "",
	    "kind", kind, "values", values,
	    "bundle", b->id != NULL ? b->id : "", "file", file,
	    "applied", in->compiled != NULL,
	    "reason", in->compiled != NULL ? "" : in->reason);
	return o;
}

int
mamori_content_intel_import(const char *home, const char *name,
    const char *text, size_t len, mamori_content_reload_fn reload,
    void *arg, json_t **out, char *why, size_t whylen)
{
	struct mamori_stix_bundle *b = NULL;
	struct journal j = {NULL, 0};
	char err[MAMORI_STIX_REASON_MAX], dir[PATH_MAX], path[PATH_MAX];
	char file[MAMORI_CONTENT_NAME_MAX + 8];
	uint8_t digest[MAMORI_SHA256_LEN];
	char hex[2 * MAMORI_SHA256_LEN + 1];
	const char *stem;
	json_t *unsupported = NULL, *res = NULL;
	struct stat sb;
	size_t i;
	int r, replaced;

	*out = NULL;
	why[0] = '\0';
	if ((r = check_text(name, text, len, why, whylen)) != 0)
		goto out;
	r = mamori_stix_bundle_parse(text, len, name, &b, err, sizeof(err));
	if (r != 0) {
		snprintf(why, whylen, "%.200s is not a STIX 2.1 bundle mamori "
		    "can read: %.200s", name, err);
		goto out;
	}
	r = MAMORI_ERR_INVALID;
	if (b->nind == 0) {
		snprintf(why, whylen, "%.200s holds no indicator (%zu other "
		    "objects); nothing was imported", name, b->nother);
		goto out;
	}
	if ((unsupported = json_array()) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < b->nind; i++) {
		const struct mamori_stix_indicator *in = &b->ind[i];

		if (in->compiled != NULL)
			continue;
		if (json_array_append_new(unsupported, json_pack(
		    "{s:s, s:s, s:s}", "id", in->id != NULL ? in->id : "",
		    "name", in->name != NULL ? in->name : "",
		    "reason", in->reason)) != 0) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
	}
	if (b->nsupported == 0) {
		snprintf(why, whylen, "none of the %zu indicators of %.200s can "
		    "be applied; the first: %.200s: %.200s", b->nind, name,
		    b->ind[0].id != NULL ? b->ind[0].id : "(no id)",
		    b->ind[0].reason);
		goto out;
	}
	if (b->id != NULL && b->id[0] != '\0') {
		stem = b->id;
	} else {
		mamori_sha256(text, len, digest);
		mamori_hex(digest, 8, hex);
		stem = hex;
	}
	if ((r = mamori_content_file_name(stem, strlen(stem), ".json", file,
	    sizeof(file))) != 0 ||
	    (r = content_dir(home, MAMORI_CONTENT_INTEL_DIR, 1, dir,
	    sizeof(dir))) != 0 ||
	    (r = mamori_path_join(path, sizeof(path), dir, file)) != 0) {
		snprintf(why, whylen, "cannot create the indicator directory");
		goto out;
	}
	replaced = stat(path, &sb) == 0;
	if ((r = journal_write(&j, path, text, len, 0)) != 0) {
		snprintf(why, whylen, "cannot write %.200s: %s", file,
		    mamori_strerror(r));
		goto out;
	}
	if ((r = journal_commit(&j, reload, arg, why, whylen)) != 0)
		goto out;
	res = json_pack("{s:s, s:s, s:I, s:I, s:I, s:O, s:b}",
	    "bundle", b->id != NULL ? b->id : "", "file", file,
	    "indicators", (json_int_t)b->nind,
	    "taken", (json_int_t)b->nsupported,
	    "other_objects", (json_int_t)b->nother,
	    "unsupported", unsupported, "replaced", replaced);
	if (res == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	log_info("content: bundle %.200s %s: %zu of %zu indicators taken",
	    file, replaced ? "replaced" : "imported", b->nsupported, b->nind);
	*out = res;
	r = 0;
out:
	json_decref(unsupported);
	journal_free(&j);
	mamori_stix_bundle_free(b);
	return r;
}

int
mamori_content_intel_list(const char *home, json_t **out, char *why,
    size_t whylen)
{
	struct mamori_stix_bundle *b = NULL;
	char dir[PATH_MAX], err[MAMORI_STIX_REASON_MAX];
	json_t *files = NULL, *inds = NULL, *bad = NULL, *v, *res = NULL;
	size_t i, k, dlen;
	int r;

	*out = NULL;
	why[0] = '\0';
	r = MAMORI_ERR_ALLOC;
	if ((files = json_array()) == NULL || (inds = json_array()) == NULL ||
	    (bad = json_array()) == NULL)
		goto out;
	if ((r = content_dir(home, MAMORI_CONTENT_INTEL_DIR, 0, dir,
	    sizeof(dir))) != 0 || (r = list_json(dir, 0, ".json", files)) != 0) {
		snprintf(why, whylen, "the server's bundles cannot be listed: "
		    "%s", mamori_strerror(r));
		goto out;
	}
	dlen = strlen(dir);
	json_array_foreach(files, i, v) {
		const char *path = json_string_value(v);
		const char *rel = path + dlen + 1;

		r = mamori_stix_bundle_load(path, &b, err, sizeof(err));
		if (r == MAMORI_ERR_ALLOC)
			goto out;
		if (r != 0) {
			if (json_array_append_new(bad, json_pack("{s:s, s:s}",
			    "file", rel, "reason", err)) != 0) {
				r = MAMORI_ERR_ALLOC;
				goto out;
			}
			continue;
		}
		for (k = 0; k < b->nind; k++)
			if (json_array_append_new(inds, indicator_json(b,
			    &b->ind[k], rel)) != 0) {
				r = MAMORI_ERR_ALLOC;
				goto out;
			}
		mamori_stix_bundle_free(b);
		b = NULL;
	}
	if ((res = json_pack("{s:O, s:I, s:O}", "indicators", inds, "bundles",
	    (json_int_t)json_array_size(files), "unreadable", bad)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	*out = res;
	r = 0;
out:
	mamori_stix_bundle_free(b);
	json_decref(files);
	json_decref(inds);
	json_decref(bad);
	return r;
}

/* Counts the indicator objects of a bundle's objects array. */
static size_t
count_indicators(json_t *objects)
{
	size_t i, n = 0;
	json_t *o;

	json_array_foreach(objects, i, o)
		if (json_is_string(json_object_get(o, "type")) &&
		    strcmp(json_string_value(json_object_get(o, "type")),
		    "indicator") == 0)
			n++;
	return n;
}

int
mamori_content_intel_remove(const char *home, const char *id,
    mamori_content_reload_fn reload, void *arg, json_t **out, char *why,
    size_t whylen)
{
	struct journal j = {NULL, 0};
	struct mamori_buf buf;
	char dir[PATH_MAX];
	json_t *files = NULL, *v, *bundle = NULL, *touched = NULL, *res = NULL;
	size_t i, k, dlen, removed_ind = 0;
	const char *kind = NULL;
	char *text = NULL;
	int r;

	*out = NULL;
	why[0] = '\0';
	mamori_buf_init(&buf, MAMORI_STIX_BUNDLE_MAX_BYTES);
	r = MAMORI_ERR_ALLOC;
	if ((files = json_array()) == NULL || (touched = json_array()) == NULL)
		goto out;
	if ((r = content_dir(home, MAMORI_CONTENT_INTEL_DIR, 0, dir,
	    sizeof(dir))) != 0 || (r = list_json(dir, 0, ".json", files)) != 0) {
		snprintf(why, whylen, "the server's bundles cannot be listed: "
		    "%s", mamori_strerror(r));
		goto out;
	}
	dlen = strlen(dir);
	json_array_foreach(files, i, v) {
		const char *path = json_string_value(v);
		json_t *objects, *o;
		size_t before;

		json_decref(bundle);
		bundle = NULL;
		if (mamori_buf_read_file(&buf, path) != 0 ||
		    (bundle = json_loadb((const char *)buf.data, buf.len,
		    JSON_REJECT_DUPLICATES, NULL)) == NULL ||
		    !json_is_object(bundle))
			continue;
		if (json_is_string(json_object_get(bundle, "id")) &&
		    strcmp(json_string_value(json_object_get(bundle, "id")),
		    id) == 0) {
			if ((r = journal_unlink(&j, path)) != 0)
				goto fail;
			removed_ind += count_indicators(json_object_get(bundle,
			    "objects"));
			kind = "bundle";
			if (json_array_append_new(touched,
			    json_string(path + dlen + 1)) != 0)
				goto nomem;
			continue;
		}
		objects = json_object_get(bundle, "objects");
		if (!json_is_array(objects))
			continue;
		before = json_array_size(objects);
		for (k = before; k-- > 0;) {
			o = json_array_get(objects, k);
			if (json_is_string(json_object_get(o, "id")) &&
			    strcmp(json_string_value(json_object_get(o, "id")),
			    id) == 0 &&
			    json_is_string(json_object_get(o, "type")) &&
			    strcmp(json_string_value(json_object_get(o,
			    "type")), "indicator") == 0)
				json_array_remove(objects, k);
		}
		if (json_array_size(objects) == before)
			continue;
		removed_ind += before - json_array_size(objects);
		kind = kind == NULL ? "indicator" : kind;
		if (count_indicators(objects) == 0) {
			r = journal_unlink(&j, path);
		} else {
			free(text);
			if ((text = json_dumps(bundle, JSON_INDENT(2))) ==
			    NULL)
				goto nomem;
			r = journal_write(&j, path, text, strlen(text), 0);
		}
		if (r != 0)
			goto fail;
		if (json_array_append_new(touched,
		    json_string(path + dlen + 1)) != 0)
			goto nomem;
	}
	if (kind == NULL) {
		snprintf(why, whylen, "no bundle or indicator with id %.100s on "
		    "the server; see mamori intel list", id);
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	if ((r = journal_commit(&j, reload, arg, why, whylen)) != 0)
		goto out;
	if ((res = json_pack("{s:s, s:s, s:I, s:O}", "id", id, "kind", kind,
	    "indicators_removed", (json_int_t)removed_ind, "files",
	    touched)) == NULL)
		goto nomem;
	log_info("content: %s %.100s removed (%zu indicators)", kind, id,
	    removed_ind);
	*out = res;
	r = 0;
	goto out;
nomem:
	r = MAMORI_ERR_ALLOC;
fail:
	journal_undo(&j);
	if (why[0] == '\0')
		snprintf(why, whylen, "cannot change the stored bundles: %s",
		    mamori_strerror(r));
out:
	free(text);
	json_decref(bundle);
	json_decref(files);
	json_decref(touched);
	journal_free(&j);
	mamori_buf_free(&buf);
	return r;
}

/* ---- YARA -------------------------------------------------------------- */

struct yara_files {
	json_t *paths;                 /* stored files, in name order */
	struct mamori_buf *texts;      /* their bytes */
	size_t n;
};

static void
yara_files_free(struct yara_files *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		mamori_buf_free(&f->texts[i]);
	free(f->texts);
	json_decref(f->paths);
	memset(f, 0, sizeof(*f));
}

static int
is_yara_name(const char *name)
{
	return has_suffix(name, ".yar") || has_suffix(name, ".yara");
}

/* Reads every stored .yar / .yara file (not recursing). */
static int
yara_files_read(const char *dir, struct yara_files *f)
{
	struct dirent **ents = NULL;
	char path[PATH_MAX];
	int i, n, r = 0;

	memset(f, 0, sizeof(*f));
	if ((f->paths = json_array()) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0)
		return errno == ENOENT ? 0 : MAMORI_ERR_IO;
	for (i = 0; i < n && r == 0; i++) {
		const char *name = ents[i]->d_name;

		if (name[0] == '.' || !is_yara_name(name))
			continue;
		if (f->n >= MAMORI_YARA_SOURCES_MAX - 1) {
			r = MAMORI_ERR_TOO_LARGE;
			break;
		}
		if ((r = mamori_path_join(path, sizeof(path), dir, name)) != 0)
			break;
		if (f->n % 16 == 0) {
			struct mamori_buf *p = realloc(f->texts,
			    (f->n + 16) * sizeof(*p));

			if (p == NULL) {
				r = MAMORI_ERR_ALLOC;
				break;
			}
			f->texts = p;
		}
		mamori_buf_init(&f->texts[f->n], MAMORI_YARA_SOURCE_MAX);
		if ((r = mamori_buf_read_file(&f->texts[f->n], path)) != 0) {
			mamori_buf_free(&f->texts[f->n]);
			break;
		}
		f->n++;
		if (json_array_append_new(f->paths, json_string(name)) != 0)
			r = MAMORI_ERR_ALLOC;
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return r;
}

static void
yara_why(const struct mamori_yara_messages *m, int r, char *why,
    size_t whylen)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!m->items[i].is_warning) {
			snprintf(why, whylen, "%.200s:%d: error: %.300s%s",
			    m->items[i].source, m->items[i].line,
			    m->items[i].text, m->errors > 1 ?
			    " (and more errors)" : "");
			return;
		}
	snprintf(why, whylen, "YARA rules do not compile: %s",
	    mamori_strerror(r));
}

static json_t *
yara_rules_json(const mamori_yara_rules_t *rules, const char *file,
    json_t *arr)
{
	struct mamori_yara_rule_info *infos = NULL;
	size_t n = 0, i, t;
	json_t *tags;

	if (mamori_yara_rules_list(rules, &infos, &n) != 0)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *desc = mamori_yara_rule_meta(&infos[i],
		    "description");

		tags = json_array();
		for (t = 0; tags != NULL && t < infos[i].ntags; t++)
			json_array_append_new(tags,
			    json_string(infos[i].tags[t]));
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:o, "
		    "s:s}", "name", infos[i].name, "file", file, "tags", tags,
		    "description", desc != NULL ? desc : "")) != 0) {
			arr = NULL;
			break;
		}
	}
	mamori_yara_rule_infos_free(infos, n);
	return arr;
}

int
mamori_content_yara_add(const char *home, const char *name,
    const char *text, size_t len, json_t **out, char *why, size_t whylen)
{
	static const char *const exts[] = {".yara", ".yar", NULL};
	struct mamori_yara_source src[MAMORI_YARA_SOURCES_MAX];
	struct mamori_yara_messages msgs;
	struct yara_files f;
	mamori_yara_rules_t *rules = NULL;
	char dir[PATH_MAX], path[PATH_MAX], file[MAMORI_CONTENT_NAME_MAX + 8];
	const char *stem;
	size_t stemlen, i, total = len;
	json_t *list = NULL, *res = NULL;
	int r, inited = 0;

	*out = NULL;
	why[0] = '\0';
	memset(&msgs, 0, sizeof(msgs));
	memset(&f, 0, sizeof(f));
	if ((r = check_text(name, text, len, why, whylen)) != 0)
		goto out;
	base_stem(name, exts, &stem, &stemlen);
	if ((r = mamori_content_file_name(stem, stemlen, has_suffix(name,
	    ".yara") ? ".yara" : ".yar", file, sizeof(file))) != 0 ||
	    (r = content_dir(home, MAMORI_CONTENT_YARA_DIR, 1, dir,
	    sizeof(dir))) != 0 ||
	    (r = mamori_path_join(path, sizeof(path), dir, file)) != 0) {
		snprintf(why, whylen, "cannot create the YARA directory");
		goto out;
	}
	if ((r = yara_files_read(dir, &f)) != 0) {
		snprintf(why, whylen, "the stored YARA files cannot be read: "
		    "%s", mamori_strerror(r));
		goto out;
	}
	for (i = 0; i < f.n; i++) {
		if (strcmp(json_string_value(json_array_get(f.paths, i)),
		    file) == 0) {
			snprintf(why, whylen, "a YARA file %.200s is already on "
			    "the server; remove it first (mamori yara remove "
			    "%.200s)", file, file);
			r = MAMORI_ERR_EXISTS;
			goto out;
		}
		src[i].name = json_string_value(json_array_get(f.paths, i));
		src[i].text = (const char *)f.texts[i].data;
		src[i].len = f.texts[i].len;
		total += f.texts[i].len;
	}
	if (total > MAMORI_YARA_SOURCE_MAX) {
		snprintf(why, whylen, "the server's YARA rules would pass %u "
		    "bytes; remove some first", MAMORI_YARA_SOURCE_MAX);
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	if ((r = mamori_yara_init()) != 0)
		goto out;
	inited = 1;
	/* Alone first, so an error names the new file's own lines. */
	src[f.n].name = file;
	src[f.n].text = text;
	src[f.n].len = len;
	if ((r = mamori_yara_compile(&src[f.n], 1, &rules, &msgs)) != 0) {
		yara_why(&msgs, r, why, whylen);
		goto out;
	}
	if ((list = json_array()) == NULL ||
	    yara_rules_json(rules, file, list) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (json_array_size(list) == 0) {
		snprintf(why, whylen, "%.200s holds no YARA rule", name);
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	mamori_yara_rules_free(rules);
	rules = NULL;
	mamori_yara_messages_free(&msgs);
	/* Then with every stored file, as the policy will carry them: a
	 * rule name taken twice fails here. */
	if ((r = mamori_yara_compile(src, f.n + 1, &rules, &msgs)) != 0) {
		char first[CONTENT_REASON_MAX];

		yara_why(&msgs, r, first, sizeof(first));
		snprintf(why, whylen, "%.200s does not compile with the YARA "
		    "rules already on the server: %s", name, first);
		goto out;
	}
	if ((r = mamori_file_write(path, text, len, CONTENT_FILE_MODE, 1)) !=
	    0) {
		snprintf(why, whylen, "cannot write %.200s: %s", file,
		    mamori_strerror(r));
		goto out;
	}
	if ((res = json_pack("{s:s, s:O}", "file", file, "rules", list)) ==
	    NULL) {
		(void)unlink(path);
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	log_info("content: YARA file %s added (%zu rules)", file,
	    json_array_size(list));
	*out = res;
	r = 0;
out:
	mamori_yara_rules_free(rules);
	mamori_yara_messages_free(&msgs);
	if (inited)
		mamori_yara_finish();
	json_decref(list);
	yara_files_free(&f);
	return r;
}

/* Rules of each stored file, compiled alone: into *rules (an array). */
static int
yara_list_files(const struct yara_files *f, json_t *rules, json_t *files)
{
	struct mamori_yara_source src;
	struct mamori_yara_messages msgs;
	mamori_yara_rules_t *compiled = NULL;
	char err[CONTENT_REASON_MAX];
	size_t i, before;
	int r = 0;

	for (i = 0; i < f->n && r == 0; i++) {
		src.name = json_string_value(json_array_get(f->paths, i));
		src.text = (const char *)f->texts[i].data;
		src.len = f->texts[i].len;
		memset(&msgs, 0, sizeof(msgs));
		err[0] = '\0';
		before = json_array_size(rules);
		r = mamori_yara_compile(&src, 1, &compiled, &msgs);
		if (r == 0 && yara_rules_json(compiled, src.name, rules) ==
		    NULL)
			r = MAMORI_ERR_ALLOC;
		else if (r != 0 && r != MAMORI_ERR_ALLOC) {
			yara_why(&msgs, r, err, sizeof(err));
			r = 0;
		}
		if (r == 0 && json_array_append_new(files, json_pack(
		    "{s:s, s:I, s:s}", "file", src.name, "rules",
		    (json_int_t)(json_array_size(rules) - before), "error",
		    err)) != 0)
			r = MAMORI_ERR_ALLOC;
		mamori_yara_rules_free(compiled);
		compiled = NULL;
		mamori_yara_messages_free(&msgs);
	}
	return r;
}

int
mamori_content_yara_list(const char *home, json_t **out, char *why,
    size_t whylen)
{
	struct yara_files f;
	char dir[PATH_MAX];
	json_t *rules = NULL, *files = NULL;
	int r, inited = 0;

	*out = NULL;
	why[0] = '\0';
	memset(&f, 0, sizeof(f));
	if ((r = content_dir(home, MAMORI_CONTENT_YARA_DIR, 0, dir,
	    sizeof(dir))) != 0 || (r = yara_files_read(dir, &f)) != 0) {
		snprintf(why, whylen, "the stored YARA files cannot be read: "
		    "%s", mamori_strerror(r));
		goto out;
	}
	r = MAMORI_ERR_ALLOC;
	if ((rules = json_array()) == NULL || (files = json_array()) == NULL)
		goto out;
	if (f.n > 0) {
		if ((r = mamori_yara_init()) != 0)
			goto out;
		inited = 1;
		if ((r = yara_list_files(&f, rules, files)) != 0)
			goto out;
	}
	if ((*out = json_pack("{s:O, s:O}", "files", files, "rules", rules)) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	r = 0;
out:
	if (inited)
		mamori_yara_finish();
	json_decref(rules);
	json_decref(files);
	yara_files_free(&f);
	return r;
}

int
mamori_content_yara_remove(const char *home, const char *name,
    json_t **out, char *why, size_t whylen)
{
	struct yara_files f;
	char dir[PATH_MAX], path[PATH_MAX];
	const char *file = NULL;
	json_t *rules = NULL, *files = NULL, *gone = NULL, *e;
	size_t i;
	int r, inited = 0;

	*out = NULL;
	why[0] = '\0';
	memset(&f, 0, sizeof(f));
	if ((r = content_dir(home, MAMORI_CONTENT_YARA_DIR, 0, dir,
	    sizeof(dir))) != 0 || (r = yara_files_read(dir, &f)) != 0) {
		snprintf(why, whylen, "the stored YARA files cannot be read: "
		    "%s", mamori_strerror(r));
		goto out;
	}
	r = MAMORI_ERR_ALLOC;
	if ((rules = json_array()) == NULL || (files = json_array()) == NULL ||
	    (gone = json_array()) == NULL)
		goto out;
	for (i = 0; i < f.n; i++)
		if (strcmp(json_string_value(json_array_get(f.paths, i)),
		    name) == 0)
			file = json_string_value(json_array_get(f.paths, i));
	if (f.n > 0) {
		if ((r = mamori_yara_init()) != 0)
			goto out;
		inited = 1;
		if ((r = yara_list_files(&f, rules, files)) != 0)
			goto out;
	}
	json_array_foreach(rules, i, e)
		if (file == NULL && json_is_string(json_object_get(e, "name")) &&
		    strcmp(json_string_value(json_object_get(e, "name")),
		    name) == 0)
			file = json_string_value(json_object_get(e, "file"));
	if (file == NULL) {
		snprintf(why, whylen, "no YARA file or rule named %.100s on the "
		    "server; see mamori yara list", name);
		r = MAMORI_ERR_NOT_FOUND;
		goto out;
	}
	json_array_foreach(rules, i, e)
		if (strcmp(json_string_value(json_object_get(e, "file")),
		    file) == 0 && json_array_append(gone,
		    json_object_get(e, "name")) != 0) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
	if ((r = mamori_path_join(path, sizeof(path), dir, file)) != 0)
		goto out;
	if (unlink(path) != 0) {
		snprintf(why, whylen, "cannot remove %.200s: %s", file,
		    strerror(errno));
		r = MAMORI_ERR_IO;
		goto out;
	}
	log_info("content: YARA file %s removed", file);
	if ((*out = json_pack("{s:s, s:O}", "file", file, "rules", gone)) ==
	    NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	r = 0;
out:
	if (inited)
		mamori_yara_finish();
	json_decref(rules);
	json_decref(files);
	json_decref(gone);
	yara_files_free(&f);
	return r;
}

/* ---- OSV --------------------------------------------------------------- */

struct osv_report {
	json_t *rejected;
	json_t *skipped;
};

static void
osv_report_one(void *arg, int kind, const char *file, const char *message)
{
	struct osv_report *rep = arg;
	json_t *arr = kind == MAMORI_OSV_REJECTED ? rep->rejected :
	    rep->skipped;

	(void)file;
	if (json_array_size(arr) < CONTENT_REJECTS_MAX)
		json_array_append_new(arr, json_string(message));
}

int
mamori_content_vuln_import(const char *home, const char *name,
    const char *text, size_t len, json_t **out, char *why, size_t whylen)
{
	static const char *const exts[] = {".json", NULL};
	struct mamori_osv_set set;
	struct osv_report rep = {NULL, NULL};
	char dir[PATH_MAX], path[PATH_MAX], file[MAMORI_CONTENT_NAME_MAX + 8];
	const char *stem;
	size_t stemlen, i, debian;
	json_t *ids = NULL, *res = NULL;
	struct stat sb;
	int r, replaced;

	*out = NULL;
	why[0] = '\0';
	mamori_osv_set_init(&set);
	if ((r = check_text(name, text, len, why, whylen)) != 0)
		goto out;
	r = MAMORI_ERR_ALLOC;
	if ((rep.rejected = json_array()) == NULL ||
	    (rep.skipped = json_array()) == NULL || (ids = json_array()) == NULL)
		goto out;
	if ((r = mamori_osv_parse(text, len, name, &set, osv_report_one,
	    &rep)) != 0) {
		snprintf(why, whylen, "%.200s is not OSV JSON: %.300s", name,
		    json_array_size(rep.rejected) > 0 ? json_string_value(
		    json_array_get(rep.rejected, 0)) : mamori_strerror(r));
		goto out;
	}
	for (i = 0, debian = 0; i < set.n; i++)
		if (set.items[i]->n_affected > 0)
			debian++;
	if (debian == 0) {
		snprintf(why, whylen, "%.200s holds no advisory for Debian "
		    "(ecosystem Debian:N)%s%.300s", name,
		    json_array_size(rep.rejected) > 0 ? ": " : "",
		    json_array_size(rep.rejected) > 0 ? json_string_value(
		    json_array_get(rep.rejected, 0)) : "");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	for (i = 0; i < set.n; i++)
		if (json_array_append_new(ids, json_string(set.items[i]->id)) !=
		    0) {
			r = MAMORI_ERR_ALLOC;
			goto out;
		}
	if (set.n == 1) {
		stem = set.items[0]->id;
		stemlen = strlen(stem);
	} else {
		base_stem(name, exts, &stem, &stemlen);
	}
	if ((r = mamori_content_file_name(stem, stemlen, ".json", file,
	    sizeof(file))) != 0 ||
	    (r = content_dir(home, MAMORI_CONTENT_VULN_DIR, 1, dir,
	    sizeof(dir))) != 0 ||
	    (r = mamori_path_join(path, sizeof(path), dir, file)) != 0) {
		snprintf(why, whylen, "cannot create the advisory directory");
		goto out;
	}
	replaced = stat(path, &sb) == 0;
	if ((r = mamori_file_write(path, text, len, CONTENT_FILE_MODE, 0)) !=
	    0) {
		snprintf(why, whylen, "cannot write %.200s: %s", file,
		    mamori_strerror(r));
		goto out;
	}
	res = json_pack("{s:s, s:I, s:O, s:O, s:I, s:I, s:b}", "file", file,
	    "advisories", (json_int_t)set.n, "ids", ids, "rejected",
	    rep.rejected, "withdrawn", (json_int_t)set.n_withdrawn,
	    "skipped_affected", (json_int_t)set.n_skipped_affected,
	    "replaced", replaced);
	if (res == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	log_info("content: advisories %s %s (%zu)", file,
	    replaced ? "replaced" : "imported", set.n);
	*out = res;
	r = 0;
out:
	json_decref(rep.rejected);
	json_decref(rep.skipped);
	json_decref(ids);
	mamori_osv_set_free(&set);
	return r;
}
