/*
 * policy_json.c - the fleet policy as people write it, turned into the
 * PolicyBody the owner signs (see mamori_policy_from_json in policy.h).
 *
 *   {
 *     "version": 3,                      required, > 0, newer each time
 *     "observe_from_server": true,       optional, default true
 *     "quorum": {"collect": 1, "change": 2},   optional, each default 1
 *     "admins": [
 *       {"id": "alice", "public_key_file": "alice.key.pub", "name": "Alice"},
 *       {"id": "bob", "public_key": "<base64url of the 32-byte key>"}
 *     ],
 *     "groups": [
 *       {"name": "servers", "agents": ["<agent id>", ...],
 *        "accept": ["query", "read_file", "run_command"]}
 *     ],
 *     "yara": ["rules/tick.yara", "marker.yar"]   optional: YARA rule
 *                          files, relative to the JSON file's directory;
 *                          each file's name is its set's name
 *   }
 *
 * Unknown keys, unknown task types, duplicate keys and values of the wrong
 * type are refused with a message naming them; nothing is guessed.  This
 * file reads only files its caller named (the JSON and the public key
 * files it lists) and must never sign anything itself.
 */
#include "policy.h"

#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "key.h"
#include "task.h"
#include "util.h"
#include "wire.h"

#define POLICY_JSON_MAX (8 * 1024 * 1024)

static void
why_set(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
why_set(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* What the body points to, freed in one place. */
struct built {
	Mamori__PolicyBody body;
	Mamori__PolicyAdmin *admins;
	Mamori__PolicyAdmin **admin_ptrs;
	uint8_t (*keys)[MAMORI_ED25519_PUB_LEN];
	Mamori__PolicyGroup *groups;
	Mamori__PolicyGroup **group_ptrs;
	Mamori__PolicyYaraSet *yara;
	Mamori__PolicyYaraSet **yara_ptrs;
	struct mamori_buf *yara_text; /* the files read, NUL-terminated */
	uint8_t owner_fp[MAMORI_SHA256_LEN];
};

static void
built_free(struct built *b)
{
	size_t i;

	if (b->groups != NULL)
		for (i = 0; i < b->body.n_groups; i++) {
			free(b->groups[i].agent_ids);
			free(b->groups[i].accepted_types);
		}
	free(b->groups);
	free(b->group_ptrs);
	if (b->yara_text != NULL)
		for (i = 0; i < b->body.n_yara; i++)
			mamori_buf_free(&b->yara_text[i]);
	free(b->yara_text);
	free(b->yara);
	free(b->yara_ptrs);
	free(b->admins);
	free(b->admin_ptrs);
	free(b->keys);
}

/* Refuses keys of obj not in allowed (NULL-terminated). */
static int
only_keys(json_t *obj, const char *where, const char *const *allowed,
    char *why, size_t why_len)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v) {
		int ok = 0;

		(void)v;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = 1;
		if (!ok) {
			why_set(why, why_len, "%s: unknown key \"%.64s\"",
			    where, key);
			return MAMORI_ERR_INVALID;
		}
	}
	return 0;
}

/* A string member of obj (required or not); *out borrows from obj. */
static int
get_str(json_t *obj, const char *key, int required, const char *where,
    const char **out, char *why, size_t why_len)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		why_set(why, why_len, "%s: \"%s\" is required", where, key);
		return MAMORI_ERR_INVALID;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) !=
	    json_string_length(v)) {
		why_set(why, why_len, "%s: \"%s\" must be a string without "
		    "NUL", where, key);
		return MAMORI_ERR_INVALID;
	}
	*out = json_string_value(v);
	return 0;
}

static int
get_uint(json_t *obj, const char *key, uint64_t def, uint64_t max,
    const char *where, uint64_t *out, char *why, size_t why_len)
{
	json_t *v = json_object_get(obj, key);

	*out = def;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		why_set(why, why_len, "%s: \"%s\" must be an integer from 0 "
		    "to %llu", where, key, (unsigned long long)max);
		return MAMORI_ERR_INVALID;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* dir of path into out ("." when none). */
static void
dir_of(const char *path, char *out, size_t out_len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		mamori_strlcpy(out, ".", out_len);
		return;
	}
	if (slash == path) {
		mamori_strlcpy(out, "/", out_len);
		return;
	}
	mamori_strlcpy(out, path, (size_t)(slash - path) + 1 < out_len ?
	    (size_t)(slash - path) + 1 : out_len);
}

static int
build_admin(json_t *a, size_t i, const char *dir, struct built *bt,
    char *why, size_t why_len)
{
	static const char *const keys[] = {"id", "name", "public_key",
	    "public_key_file", NULL};
	Mamori__PolicyAdmin *pa = &bt->admins[i];
	const char *id, *name, *key_b64, *key_file;
	char where[96], file_id[MAMORI_ADMIN_ID_MAX + 1], path[PATH_MAX];
	size_t got;
	int r;

	snprintf(where, sizeof(where), "admins[%zu]", i);
	if (!json_is_object(a)) {
		why_set(why, why_len, "%s must be an object", where);
		return MAMORI_ERR_INVALID;
	}
	if ((r = only_keys(a, where, keys, why, why_len)) != 0 ||
	    (r = get_str(a, "id", 1, where, &id, why, why_len)) != 0 ||
	    (r = get_str(a, "name", 0, where, &name, why, why_len)) != 0 ||
	    (r = get_str(a, "public_key", 0, where, &key_b64, why,
	    why_len)) != 0 ||
	    (r = get_str(a, "public_key_file", 0, where, &key_file, why,
	    why_len)) != 0)
		return r;
	if (!mamori_admin_id_valid(id)) {
		why_set(why, why_len, "%s: id must be 1-%d of A-Z a-z 0-9 . _ "
		    "@ -", where, MAMORI_ADMIN_ID_MAX);
		return MAMORI_ERR_INVALID;
	}
	if ((key_b64 == NULL) == (key_file == NULL)) {
		why_set(why, why_len, "admin %s: give exactly one of "
		    "\"public_key\" and \"public_key_file\"", id);
		return MAMORI_ERR_INVALID;
	}
	if (key_b64 != NULL) {
		if (mamori_b64url_decode(key_b64, strlen(key_b64),
		    bt->keys[i], MAMORI_ED25519_PUB_LEN, &got) != 0 ||
		    got != MAMORI_ED25519_PUB_LEN) {
			why_set(why, why_len, "admin %s: public_key is not "
			    "base64url of 32 bytes", id);
			return MAMORI_ERR_INVALID;
		}
	} else {
		if (key_file[0] == '/')
			r = mamori_strlcpy(path, key_file, sizeof(path)) <
			    sizeof(path) ? 0 : MAMORI_ERR_TOO_LARGE;
		else
			r = mamori_path_join(path, sizeof(path), dir,
			    key_file);
		if (r != 0 || (r = mamori_pubfile_load(path, file_id,
		    bt->keys[i])) != 0) {
			why_set(why, why_len, "admin %s: cannot read public "
			    "key file %.200s: %s", id, path,
			    mamori_strerror(r));
			return MAMORI_ERR_INVALID;
		}
		if (strcmp(file_id, id) != 0) {
			why_set(why, why_len, "admin %s: public key file "
			    "%.200s is for \"%s\"", id, path, file_id);
			return MAMORI_ERR_INVALID;
		}
	}
	mamori__policy_admin__init(pa);
	pa->id = (char *)(uintptr_t)id;
	pa->name = (char *)(uintptr_t)(name != NULL ? name : "");
	pa->public_key.data = bt->keys[i];
	pa->public_key.len = MAMORI_ED25519_PUB_LEN;
	bt->admin_ptrs[i] = pa;
	return 0;
}

static int
build_group(json_t *g, size_t i, struct built *bt, char *why, size_t why_len)
{
	static const char *const keys[] = {"name", "agents", "accept", NULL};
	Mamori__PolicyGroup *pg = &bt->groups[i];
	json_t *agents, *accept, *v;
	const char *name;
	char where[96];
	size_t j, n;
	int r, type;

	snprintf(where, sizeof(where), "groups[%zu]", i);
	mamori__policy_group__init(pg);
	bt->group_ptrs[i] = pg;
	if (!json_is_object(g)) {
		why_set(why, why_len, "%s must be an object", where);
		return MAMORI_ERR_INVALID;
	}
	if ((r = only_keys(g, where, keys, why, why_len)) != 0 ||
	    (r = get_str(g, "name", 1, where, &name, why, why_len)) != 0)
		return r;
	pg->name = (char *)(uintptr_t)name;
	agents = json_object_get(g, "agents");
	accept = json_object_get(g, "accept");
	if ((agents != NULL && !json_is_array(agents)) ||
	    !json_is_array(accept)) {
		why_set(why, why_len, "group %.64s: \"agents\" and \"accept\" "
		    "must be arrays (\"accept\" is required)", name);
		return MAMORI_ERR_INVALID;
	}
	n = agents != NULL ? json_array_size(agents) : 0;
	if (n > MAMORI_POLICY_MAX_MEMBERS) {
		why_set(why, why_len, "group %.64s: too many agents", name);
		return MAMORI_ERR_INVALID;
	}
	if (n > 0 && (pg->agent_ids = calloc(n, sizeof(char *))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (j = 0; j < n; j++) {
		v = json_array_get(agents, j);
		if (!json_is_string(v)) {
			why_set(why, why_len, "group %.64s: agents[%zu] must "
			    "be a string", name, j);
			return MAMORI_ERR_INVALID;
		}
		pg->agent_ids[j] = (char *)(uintptr_t)json_string_value(v);
		pg->n_agent_ids = j + 1;
	}
	n = json_array_size(accept);
	if (n > 0 && (pg->accepted_types = calloc(n,
	    sizeof(*pg->accepted_types))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (j = 0; j < n; j++) {
		v = json_array_get(accept, j);
		if (!json_is_string(v) || (type = mamori_task_type_from_name(
		    json_string_value(v))) == 0) {
			why_set(why, why_len, "group %.64s: accept[%zu] is not "
			    "a task type (mamori task create --help lists "
			    "them)", name, j);
			return MAMORI_ERR_INVALID;
		}
		pg->accepted_types[j] = (Mamori__TaskType)type;
		pg->n_accepted_types = j + 1;
	}
	return 0;
}

/* Reads the i-th YARA rule file (a path relative to dir, or absolute) into
 * bt: its name is the file's name, its text the set's source. */
static int
build_yara(json_t *v, size_t i, const char *dir, struct built *bt,
    char *why, size_t why_len)
{
	Mamori__PolicyYaraSet *y = &bt->yara[i];
	struct mamori_buf *text = &bt->yara_text[i];
	char path[PATH_MAX];
	const char *file, *base;
	int r;

	mamori__policy_yara_set__init(y);
	bt->yara_ptrs[i] = y;
	mamori_buf_init(text, MAMORI_POLICY_YARA_SET_MAX + 1);
	if (!json_is_string(v) || (file = json_string_value(v))[0] == '\0' ||
	    strlen(file) != json_string_length(v)) {
		why_set(why, why_len, "yara[%zu] must be the path of a rule "
		    "file", i);
		return MAMORI_ERR_INVALID;
	}
	if (file[0] == '/')
		r = mamori_strlcpy(path, file, sizeof(path)) < sizeof(path) ?
		    0 : MAMORI_ERR_TOO_LARGE;
	else
		r = mamori_path_join(path, sizeof(path), dir, file);
	if (r != 0) {
		why_set(why, why_len, "yara[%zu]: path too long", i);
		return MAMORI_ERR_INVALID;
	}
	r = mamori_buf_read_file(text, path);
	if (r == MAMORI_ERR_TOO_LARGE) {
		why_set(why, why_len, "YARA file %.200s is larger than %d "
		    "bytes", file, MAMORI_POLICY_YARA_SET_MAX);
		return MAMORI_ERR_INVALID;
	}
	if (r != 0) {
		why_set(why, why_len, "cannot read YARA file %.200s: %s",
		    path, mamori_strerror(r));
		return MAMORI_ERR_INVALID;
	}
	if (text->len == 0 || memchr(text->data, '\0', text->len) != NULL) {
		why_set(why, why_len, "YARA file %.200s is empty or holds a "
		    "NUL byte", file);
		return MAMORI_ERR_INVALID;
	}
	if ((r = mamori_buf_append(text, "", 1)) != 0)
		return r;
	base = strrchr(file, '/');
	base = base != NULL ? base + 1 : file;
	y->name = (char *)(uintptr_t)base;
	y->source = (char *)text->data;
	return 0;
}

int
mamori_policy_from_json(const char *path,
    const uint8_t owner_fp[MAMORI_SHA256_LEN], uint64_t issued_at,
    struct mamori_buf *out, char *why, size_t why_len)
{
	static const char *const top_keys[] = {"version",
	    "observe_from_server", "quorum", "admins", "groups", "yara", NULL};
	static const char *const quorum_keys[] = {"collect", "change", NULL};
	struct built bt;
	struct mamori_buf text;
	json_error_t jerr;
	json_t *root = NULL, *admins, *groups, *quorum, *obs, *yara;
	char dir[PATH_MAX];
	uint64_t v;
	size_t i, n;
	int r;

	memset(&bt, 0, sizeof(bt));
	mamori__policy_body__init(&bt.body);
	mamori_buf_init(&text, POLICY_JSON_MAX);
	if ((r = mamori_buf_read_file(&text, path)) != 0) {
		why_set(why, why_len, "cannot read %.200s: %s", path,
		    mamori_strerror(r));
		goto out;
	}
	if ((root = json_loadb(text.data != NULL ? (const char *)text.data :
	    "", text.len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		why_set(why, why_len, "%.200s line %d: %s", path, jerr.line,
		    jerr.text);
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	r = MAMORI_ERR_INVALID;
	if (!json_is_object(root)) {
		why_set(why, why_len, "the policy must be a JSON object");
		goto out;
	}
	if ((r = only_keys(root, "policy", top_keys, why, why_len)) != 0)
		goto out;
	if (json_object_get(root, "version") == NULL) {
		why_set(why, why_len, "policy: \"version\" is required");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = get_uint(root, "version", 0, INT64_MAX, "policy",
	    &bt.body.version, why, why_len)) != 0)
		goto out;
	if (bt.body.version == 0) {
		why_set(why, why_len, "policy: \"version\" must be greater "
		    "than 0");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	bt.body.observe_from_server = 1;
	if ((obs = json_object_get(root, "observe_from_server")) != NULL) {
		if (!json_is_boolean(obs)) {
			why_set(why, why_len, "policy: \"observe_from_server\" "
			    "must be true or false");
			r = MAMORI_ERR_INVALID;
			goto out;
		}
		bt.body.observe_from_server = json_is_true(obs);
	}
	bt.body.quorum_collect = bt.body.quorum_change = 1;
	if ((quorum = json_object_get(root, "quorum")) != NULL) {
		if (!json_is_object(quorum)) {
			why_set(why, why_len, "policy: \"quorum\" must be an "
			    "object");
			r = MAMORI_ERR_INVALID;
			goto out;
		}
		if ((r = only_keys(quorum, "quorum", quorum_keys, why,
		    why_len)) != 0 ||
		    (r = get_uint(quorum, "collect", 1,
		    MAMORI_POLICY_MAX_ADMINS, "quorum", &v, why,
		    why_len)) != 0)
			goto out;
		bt.body.quorum_collect = (uint32_t)v;
		if ((r = get_uint(quorum, "change", 1,
		    MAMORI_POLICY_MAX_ADMINS, "quorum", &v, why,
		    why_len)) != 0)
			goto out;
		bt.body.quorum_change = (uint32_t)v;
	}
	admins = json_object_get(root, "admins");
	groups = json_object_get(root, "groups");
	if ((admins != NULL && !json_is_array(admins)) ||
	    (groups != NULL && !json_is_array(groups))) {
		why_set(why, why_len, "policy: \"admins\" and \"groups\" must "
		    "be arrays");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	n = admins != NULL ? json_array_size(admins) : 0;
	if (n > MAMORI_POLICY_MAX_ADMINS) {
		why_set(why, why_len, "policy: more than %d admins",
		    MAMORI_POLICY_MAX_ADMINS);
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((bt.admins = calloc(n + 1, sizeof(*bt.admins))) == NULL ||
	    (bt.admin_ptrs = calloc(n + 1, sizeof(*bt.admin_ptrs))) == NULL ||
	    (bt.keys = calloc(n + 1, sizeof(*bt.keys))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	dir_of(path, dir, sizeof(dir));
	for (i = 0; i < n; i++)
		if ((r = build_admin(json_array_get(admins, i), i, dir, &bt,
		    why, why_len)) != 0)
			goto out;
	bt.body.n_admins = n;
	bt.body.admins = bt.admin_ptrs;
	n = groups != NULL ? json_array_size(groups) : 0;
	if (n > MAMORI_POLICY_MAX_GROUPS) {
		why_set(why, why_len, "policy: more than %d groups",
		    MAMORI_POLICY_MAX_GROUPS);
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((bt.groups = calloc(n + 1, sizeof(*bt.groups))) == NULL ||
	    (bt.group_ptrs = calloc(n + 1, sizeof(*bt.group_ptrs))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	bt.body.groups = bt.group_ptrs;
	for (i = 0; i < n; i++) {
		bt.body.n_groups = i + 1;
		if ((r = build_group(json_array_get(groups, i), i, &bt, why,
		    why_len)) != 0)
			goto out;
	}
	bt.body.n_groups = n;
	yara = json_object_get(root, "yara");
	if (yara != NULL && !json_is_array(yara)) {
		why_set(why, why_len, "policy: \"yara\" must be an array of "
		    "rule file paths");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	n = yara != NULL ? json_array_size(yara) : 0;
	if (n > MAMORI_POLICY_YARA_SETS_MAX) {
		why_set(why, why_len, "policy: more than %d YARA files",
		    MAMORI_POLICY_YARA_SETS_MAX);
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((bt.yara = calloc(n + 1, sizeof(*bt.yara))) == NULL ||
	    (bt.yara_ptrs = calloc(n + 1, sizeof(*bt.yara_ptrs))) == NULL ||
	    (bt.yara_text = calloc(n + 1, sizeof(*bt.yara_text))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	bt.body.yara = bt.yara_ptrs;
	for (i = 0; i < n; i++) {
		bt.body.n_yara = i + 1;
		if ((r = build_yara(json_array_get(yara, i), i, dir, &bt, why,
		    why_len)) != 0)
			goto out;
	}
	bt.body.n_yara = n;
	bt.body.format_version = MAMORI_POLICY_FORMAT;
	bt.body.issued_at = issued_at;
	memcpy(bt.owner_fp, owner_fp, MAMORI_SHA256_LEN);
	bt.body.owner_fingerprint.data = bt.owner_fp;
	bt.body.owner_fingerprint.len = MAMORI_SHA256_LEN;
	if ((r = mamori_policy_body_check(&bt.body, why, why_len)) != 0)
		goto out;
	if ((r = mamori_pb_encode(&bt.body.base, out)) != 0)
		why_set(why, why_len, "policy too large: %s",
		    mamori_strerror(r));
out:
	built_free(&bt);
	json_decref(root);
	mamori_buf_free(&text);
	return r;
}
