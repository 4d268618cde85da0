/*
 * admin.c - the local admin socket that `mamori` talks to.
 *
 * Only root, the server's own user, or members of the configured admin group
 * may connect: the socket file is 0660 and every peer is checked again with
 * SO_PEERCRED.  Requests are single JSON lines checked against a table of
 * commands and argument types before anything runs; values are bound into
 * store calls, never formatted into SQL or shell.  Strings that agents
 * supplied (hostnames, inventory) are returned through jansson, which escapes
 * them.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include "admin.h"
#include "admin_content.h"
#include "enroll_string.h"
#include "fleet.h"
#include "err.h"
#include "inventory.h"
#include "log.h"
#include "pbjson.h"
#include "server.h"

#define ADMIN_MAX_ARGS 8
#define ADMIN_TIMEOUT 30          /* seconds for one request */
#define ADMIN_PREFIX_MIN 4        /* shortest id prefix accepted */
#define ADMIN_HISTORY_DEFAULT 1000
#define ADMIN_EVENTS_DEFAULT 100
#define ADMIN_EVENTS_MAX 100000
#define ADMIN_EVENTS_SCAN_MAX 2000000  /* rows decrypted for one --match */
#define ADMIN_MATCH_MAX 256
#define ADMIN_ALERTS_DEFAULT 100
#define ADMIN_ALERTS_MAX 100000

struct admin_arg {
	const char *name;
	json_type type;
};

typedef json_t *(*admin_fn)(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);

/* A command that answers line by line (fleet.c): 0 when it took bev. */
typedef int (*admin_stream_fn)(struct mamori_server *srv,
    struct bufferevent *bev, json_t *req, char *why, size_t whylen);

struct mamori_admin_cmd {
	const char *name;
	admin_fn fn;                  /* NULL: a stream command (streams[]) */
	struct admin_arg args[ADMIN_MAX_ARGS];
};

static const struct {
	const char *name;
	admin_stream_fn fn;
} streams[] = {
	{"query", mamori_fleet_query},
	{"task.submit", mamori_fleet_task_submit},
};

static admin_stream_fn
stream_fn(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++)
		if (strcmp(streams[i].name, name) == 0)
			return streams[i].fn;
	return NULL;
}

static json_t *cmd_status(struct mamori_server *, json_t *, char *, size_t);
static json_t *cmd_token_create(struct mamori_server *, json_t *, char *,
    size_t);
static json_t *cmd_token_list(struct mamori_server *, json_t *, char *,
    size_t);
static json_t *cmd_token_revoke(struct mamori_server *, json_t *, char *,
    size_t);
static json_t *cmd_agents(struct mamori_server *, json_t *, char *, size_t);
static json_t *cmd_inventory(struct mamori_server *, json_t *, char *,
    size_t);
static json_t *cmd_history(struct mamori_server *, json_t *, char *, size_t);
static json_t *cmd_revoke(struct mamori_server *, json_t *, char *, size_t);
static json_t *cmd_events(struct mamori_server *, json_t *, char *, size_t);
static json_t *cmd_alerts(struct mamori_server *, json_t *, char *, size_t);
static json_t *cmd_rules(struct mamori_server *, json_t *, char *, size_t);
static json_t *cmd_outputs(struct mamori_server *, json_t *, char *, size_t);

static const struct mamori_admin_cmd commands[] = {
	{"status", cmd_status, {{NULL, JSON_NULL}}},
	{"token.create", cmd_token_create, {{"uses", JSON_INTEGER},
	    {"ttl", JSON_INTEGER}, {"server", JSON_STRING},
	    {"label", JSON_STRING}, {NULL, JSON_NULL}}},
	{"token.list", cmd_token_list, {{NULL, JSON_NULL}}},
	{"token.revoke", cmd_token_revoke, {{"id", JSON_STRING},
	    {NULL, JSON_NULL}}},
	{"agents", cmd_agents, {{NULL, JSON_NULL}}},
	{"inventory", cmd_inventory, {{"agent", JSON_STRING},
	    {NULL, JSON_NULL}}},
	{"history", cmd_history, {{"agent", JSON_STRING},
	    {"since", JSON_INTEGER}, {"limit", JSON_INTEGER},
	    {NULL, JSON_NULL}}},
	{"revoke", cmd_revoke, {{"agent", JSON_STRING}, {NULL, JSON_NULL}}},
	{"events", cmd_events, {{"agent", JSON_STRING}, {"type", JSON_STRING},
	    {"since", JSON_INTEGER}, {"until", JSON_INTEGER},
	    {"match", JSON_STRING}, {"limit", JSON_INTEGER},
	    {"after_id", JSON_INTEGER}, {NULL, JSON_NULL}}},
	{"alerts", cmd_alerts, {{"since", JSON_INTEGER},
	    {"severity", JSON_STRING}, {"agent", JSON_STRING},
	    {"limit", JSON_INTEGER}, {NULL, JSON_NULL}}},
	{"rules", cmd_rules, {{NULL, JSON_NULL}}},
	{"policy.push", mamori_fleet_policy_push, {{"policy", JSON_STRING},
	    {NULL, JSON_NULL}}},
	{"policy.show", mamori_fleet_policy_show, {{NULL, JSON_NULL}}},
	{"hunt.list", mamori_fleet_hunt_list, {{"limit", JSON_INTEGER},
	    {NULL, JSON_NULL}}},
	{"hunt.show", mamori_fleet_hunt_show, {{"id", JSON_STRING},
	    {NULL, JSON_NULL}}},
	{"query", NULL, {{"sql", JSON_STRING}, {"agents", JSON_ARRAY},
	    {"group", JSON_STRING}, {"all", JSON_TRUE}, {"wait", JSON_INTEGER},
	    {"ttl", JSON_INTEGER}, {NULL, JSON_NULL}}},
	{"task.submit", NULL, {{"task", JSON_STRING}, {"wait", JSON_INTEGER},
	    {NULL, JSON_NULL}}},
	{"rules.add", mamori_admin_rules_add, {{"name", JSON_STRING},
	    {"text", JSON_STRING}, {NULL, JSON_NULL}}},
	{"rules.remove", mamori_admin_rules_remove, {{"ids", JSON_ARRAY},
	    {NULL, JSON_NULL}}},
	{"intel.import", mamori_admin_intel_import, {{"name", JSON_STRING},
	    {"text", JSON_STRING}, {NULL, JSON_NULL}}},
	{"intel.list", mamori_admin_intel_list, {{NULL, JSON_NULL}}},
	{"intel.remove", mamori_admin_intel_remove, {{"id", JSON_STRING},
	    {NULL, JSON_NULL}}},
	{"yara.add", mamori_admin_yara_add, {{"name", JSON_STRING},
	    {"text", JSON_STRING}, {NULL, JSON_NULL}}},
	{"yara.list", mamori_admin_yara_list, {{NULL, JSON_NULL}}},
	{"yara.remove", mamori_admin_yara_remove, {{"name", JSON_STRING},
	    {NULL, JSON_NULL}}},
	{"vuln.import", mamori_admin_vuln_import, {{"name", JSON_STRING},
	    {"text", JSON_STRING}, {NULL, JSON_NULL}}},
	{"vuln.report", mamori_admin_vuln_report, {{"agent", JSON_STRING},
	    {NULL, JSON_NULL}}},
	{"outputs", cmd_outputs, {{NULL, JSON_NULL}}},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const char *
mamori_admin_cmd_name(const struct mamori_admin_cmd *cmd)
{
	return cmd->name;
}

int
mamori_admin_request_parse(const char *data, size_t len, json_t **req,
    const struct mamori_admin_cmd **cmd, char *why, size_t whylen)
{
	const struct mamori_admin_cmd *c = NULL;
	json_error_t jerr;
	json_t *j = NULL, *v;
	const char *key, *name;
	size_t i, k;
	int r = MAMORI_ERR_BAD_MESSAGE;

	*req = NULL;
	*cmd = NULL;
	why[0] = '\0';
	if (len > MAMORI_ADMIN_MAX_REQUEST) {
		snprintf(why, whylen, "request longer than %d bytes",
		    MAMORI_ADMIN_MAX_REQUEST);
		return MAMORI_ERR_TOO_LARGE;
	}
	j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		snprintf(why, whylen, "request is not JSON: %s", jerr.text);
		goto out;
	}
	if (!json_is_object(j)) {
		snprintf(why, whylen, "request is not a JSON object");
		goto out;
	}
	if ((name = json_string_value(json_object_get(j, "cmd"))) == NULL) {
		snprintf(why, whylen, "request has no \"cmd\" string");
		goto out;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			c = &commands[i];
	if (c == NULL) {
		snprintf(why, whylen, "unknown command");
		goto out;
	}
	json_object_foreach(j, key, v) {
		if (strcmp(key, "cmd") == 0)
			continue;
		for (k = 0; c->args[k].name != NULL; k++)
			if (strcmp(c->args[k].name, key) == 0)
				break;
		if (c->args[k].name == NULL) {
			snprintf(why, whylen, "%s takes no argument named "
			    "\"%.40s\"", c->name, key);
			goto out;
		}
		if (json_typeof(v) != c->args[k].type) {
			snprintf(why, whylen, "argument \"%s\" of %s has the "
			    "wrong type", c->args[k].name, c->name);
			goto out;
		}
	}
	*req = j;
	*cmd = c;
	j = NULL;
	r = 0;
out:
	json_decref(j);
	return r;
}

/* ---- helpers ----------------------------------------------------------- */

static json_t *
fail(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return NULL;
}

static int
arg_int(json_t *req, const char *name, json_int_t def, json_int_t min,
    json_int_t max, json_int_t *out)
{
	json_t *v = json_object_get(req, name);

	*out = v == NULL ? def : json_integer_value(v);
	return *out >= min && *out <= max ? 0 : MAMORI_ERR_INVALID;
}

static json_t *
agent_json(struct mamori_server *srv, const struct mamori_agent_rec *a)
{
	int connected = mamori_session_is_connected(srv, a->id);

	/* The store's last_seen is written at most once a minute; a
	 * connected agent is seen now. */
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b}",
	    "id", a->id, "hostname", a->hostname, "os", a->os,
	    "address", a->address, "enrolled_at", (json_int_t)a->enrolled_at,
	    "last_seen", (json_int_t)(connected ? mamori_now() : a->last_seen),
	    "revoked_at", (json_int_t)a->revoked_at,
	    "connected", connected);
}

/* Finds the one agent matching an id, an id prefix, or a hostname. */
static int
resolve_agent_by(struct mamori_server *srv, const char *spec,
    int by_hostname, struct mamori_agent_rec *out, char *why, size_t whylen)
{
	struct mamori_agent_rec *all = NULL;
	size_t n = 0, i, matches = 0, slen = strlen(spec);
	int r;

	if (slen == 0 || slen > MAMORI_STORE_HOSTNAME_MAX) {
		snprintf(why, whylen, "no agent given");
		return MAMORI_ERR_INVALID;
	}
	if ((r = mamori_store_agent_list(srv->store, &all, &n)) != 0) {
		snprintf(why, whylen, "store failure: %s", mamori_strerror(r));
		return r;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(all[i].id, spec) == 0) {
			*out = all[i];
			matches = 1;
			break;
		}
		if ((slen >= ADMIN_PREFIX_MIN &&
		    strncmp(all[i].id, spec, slen) == 0) ||
		    (by_hostname && strcmp(all[i].hostname, spec) == 0)) {
			if (matches++ == 0)
				*out = all[i];
		}
	}
	OPENSSL_cleanse(all, n * sizeof(*all));
	free(all);
	if (matches == 1)
		return 0;
	snprintf(why, whylen, matches == 0 ? "no agent matches \"%.64s\"" :
	    "\"%.64s\" matches several agents; give more of the id", spec);
	return matches == 0 ? MAMORI_ERR_NOT_FOUND : MAMORI_ERR_INVALID;
}

/* Hostnames are what agents say they are: good for looking, not for
 * acting (revoke takes an id or id prefix only). */
static int
resolve_agent(struct mamori_server *srv, const char *spec,
    struct mamori_agent_rec *out, char *why, size_t whylen)
{
	return resolve_agent_by(srv, spec, 1, out, why, whylen);
}

int
mamori_admin_resolve_agent(struct mamori_server *srv, const char *spec,
    struct mamori_agent_rec *out, char *why, size_t whylen)
{
	return resolve_agent(srv, spec, out, why, whylen);
}

/* ---- commands ---------------------------------------------------------- */

static json_t *
cmd_status(struct mamori_server *srv, json_t *req, char *why, size_t whylen)
{
	char ca[MAMORI_FP_STRLEN], owner[MAMORI_FP_STRLEN];

	(void)req;
	(void)why;
	(void)whylen;
	mamori_fingerprint_str(srv->fp.ca, ca);
	mamori_fingerprint_str(srv->fp.owner, owner);
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}",
	    "version", MAMORI_VERSION, "listen", srv->listen,
	    "advertise", srv->advertise,
	    "agents_connected", (json_int_t)srv->n_agents_connected,
	    "connections", (json_int_t)srv->n_sessions,
	    "started_at", (json_int_t)srv->started_at,
	    "ca_fingerprint", ca, "owner_fingerprint", owner);
}

static json_t *
cmd_token_create(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	struct mamori_enroll_info info;
	struct mamori_token_rec t;
	char str[MAMORI_ENROLL_STRING_MAX], hex[2 * MAMORI_TOKEN_ID_LEN + 1];
	char host[MAMORI_HOST_MAX + 1];
	uint8_t hash[MAMORI_SHA256_LEN];
	const char *server, *label;
	json_int_t uses, ttl;
	json_t *res = NULL;
	uint16_t port;
	int r;

	memset(&t, 0, sizeof(t));
	memset(&info, 0, sizeof(info));
	if (arg_int(req, "uses", 1, 1, MAMORI_TOKEN_MAX_USES, &uses) != 0)
		return fail(why, whylen, "uses must be between 1 and 1000000");
	if (arg_int(req, "ttl", 86400, 1, MAMORI_TOKEN_MAX_TTL, &ttl) != 0)
		return fail(why, whylen, "ttl must be between 1 second and "
		    "30 days");
	server = json_string_value(json_object_get(req, "server"));
	if (server == NULL)
		server = srv->advertise;
	if (mamori_parse_hostport(server, host, sizeof(host), &port) != 0)
		return fail(why, whylen, "server must be HOST:PORT");
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
		return fail(why, whylen, "the server listens on every address; "
		    "say which one agents should use with --server HOST:PORT "
		    "(or start mamorid with --advertise)");
	label = json_string_value(json_object_get(req, "label"));
	if (label != NULL && strlen(label) >= sizeof(t.label))
		return fail(why, whylen, "label too long (127 bytes at most)");
	mamori_random(t.id, sizeof(t.id));
	mamori_random(info.secret, sizeof(info.secret));
	t.created_at = mamori_now();
	t.expires_at = t.created_at + (uint64_t)ttl;
	t.uses_max = (uint32_t)uses;
	if (label != NULL)
		mamori_strlcpy(t.label, label, sizeof(t.label));
	mamori_sha256(info.secret, sizeof(info.secret), hash);
	mamori_strlcpy(info.server, server, sizeof(info.server));
	memcpy(info.ca_fp, srv->fp.ca, MAMORI_SHA256_LEN);
	memcpy(info.owner_fp, srv->fp.owner, MAMORI_SHA256_LEN);
	memcpy(info.token_id, t.id, sizeof(t.id));
	if ((r = mamori_enroll_string_encode(&info, str, sizeof(str))) != 0) {
		fail(why, whylen, "cannot encode the enrollment string");
		goto out;
	}
	if ((r = mamori_store_token_add(srv->store, &t, hash)) != 0) {
		fail(why, whylen, "store failure");
		goto out;
	}
	mamori_hex(t.id, sizeof(t.id), hex);
	log_info("admin: token %.8s created (%u uses, expires in %llds)", hex,
	    t.uses_max, (long long)ttl);
	res = json_pack("{s:s, s:s, s:I, s:I}", "id", hex, "string", str,
	    "expires_at", (json_int_t)t.expires_at,
	    "uses_max", (json_int_t)t.uses_max);
out:
	OPENSSL_cleanse(&info, sizeof(info));
	OPENSSL_cleanse(str, sizeof(str));
	return res;
}

static const char *
token_state(const struct mamori_token_rec *t, uint64_t now)
{
	if (t->revoked_at != 0)
		return "revoked";
	if (now >= t->expires_at)
		return "expired";
	if (t->uses >= t->uses_max)
		return "used up";
	return "active";
}

static json_t *
cmd_token_list(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	struct mamori_token_rec *all = NULL;
	char hex[2 * MAMORI_TOKEN_ID_LEN + 1];
	uint64_t now = mamori_now();
	json_t *arr;
	size_t n = 0, i;

	(void)req;
	if (mamori_store_token_list(srv->store, &all, &n) != 0)
		return fail(why, whylen, "store failure");
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++) {
		mamori_hex(all[i].id, sizeof(all[i].id), hex);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:I, s:I, "
		    "s:I, s:I, s:I, s:s}", "id", hex, "label", all[i].label,
		    "created_at", (json_int_t)all[i].created_at,
		    "expires_at", (json_int_t)all[i].expires_at,
		    "uses_max", (json_int_t)all[i].uses_max,
		    "uses", (json_int_t)all[i].uses,
		    "revoked_at", (json_int_t)all[i].revoked_at,
		    "state", token_state(&all[i], now)));
	}
	free(all);
	return arr;
}

static json_t *
cmd_token_revoke(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	struct mamori_token_rec *all = NULL;
	const char *spec = json_string_value(json_object_get(req, "id"));
	char hex[2 * MAMORI_TOKEN_ID_LEN + 1], found[sizeof(hex)];
	size_t n = 0, i, matches = 0, slen;
	uint8_t id[MAMORI_TOKEN_ID_LEN];
	int r;

	if (spec == NULL || (slen = strlen(spec)) < ADMIN_PREFIX_MIN ||
	    slen > 2 * MAMORI_TOKEN_ID_LEN)
		return fail(why, whylen, "give the token id (at least 4 hex "
		    "characters of it)");
	if (mamori_store_token_list(srv->store, &all, &n) != 0)
		return fail(why, whylen, "store failure");
	for (i = 0; i < n; i++) {
		mamori_hex(all[i].id, sizeof(all[i].id), hex);
		if (strncmp(hex, spec, slen) == 0 && matches++ == 0) {
			memcpy(id, all[i].id, sizeof(id));
			memcpy(found, hex, sizeof(found));
		}
	}
	free(all);
	if (matches != 1) {
		snprintf(why, whylen, matches == 0 ? "no token matches "
		    "\"%.32s\"" : "\"%.32s\" matches several tokens", spec);
		return NULL;
	}
	if ((r = mamori_store_token_revoke(srv->store, id, mamori_now())) != 0)
		return fail(why, whylen, mamori_strerror(r));
	log_info("admin: token %.8s revoked", found);
	return json_pack("{s:s}", "id", found);
}

static json_t *
cmd_agents(struct mamori_server *srv, json_t *req, char *why, size_t whylen)
{
	struct mamori_agent_rec *all = NULL;
	json_t *arr;
	size_t n = 0, i;

	(void)req;
	if (mamori_store_agent_list(srv->store, &all, &n) != 0)
		return fail(why, whylen, "store failure");
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, agent_json(srv, &all[i]));
	OPENSSL_cleanse(all, n * sizeof(*all));
	free(all);
	return arr;
}

static json_t *
cmd_inventory(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	const struct mamori_inv_category *cats;
	struct mamori_agent_rec a;
	struct mamori_buf b;
	ProtobufCMessage *m, **items;
	json_t *res = NULL, *inv = NULL, *v;
	uint64_t collected = 0;
	size_t ncat, i, n, k;
	int r;

	if (resolve_agent(srv, json_string_value(json_object_get(req,
	    "agent")), &a, why, whylen) != 0)
		return NULL;
	cats = mamori_inv_categories(&ncat);
	mamori_buf_init(&b, MAMORI_STORE_VALUE_MAX);
	if ((inv = json_object()) == NULL)
		goto out;
	for (i = 0; i < ncat; i++) {
		mamori_buf_reset(&b);
		r = mamori_store_inventory_get(srv->store, a.id,
		    cats[i].field_id, &b);
		if (r == MAMORI_ERR_NOT_FOUND)
			continue;
		if (r != 0 || mamori_pb_decode(&mamori__inventory__descriptor,
		    b.data, b.len, MAMORI_DECODE_BUDGET, &m) != 0) {
			fail(why, whylen, "stored inventory cannot be read");
			goto out;
		}
		if (((Mamori__Inventory *)m)->collected_at > collected)
			collected = ((Mamori__Inventory *)m)->collected_at;
		n = mamori_inv_items((Mamori__Inventory *)m, &cats[i], &items);
		if (cats[i].singular) {
			v = n > 0 ? mamori_pb_to_json(items[0]) : json_null();
		} else {
			v = json_array();
			for (k = 0; v != NULL && k < n; k++)
				json_array_append_new(v,
				    mamori_pb_to_json(items[k]));
		}
		mamori_pb_free(m);
		json_object_set_new(inv, cats[i].name, v);
	}
	res = json_pack("{s:o, s:I, s:O}", "agent", agent_json(srv, &a),
	    "collected_at", (json_int_t)collected, "inventory", inv);
out:
	json_decref(inv);
	mamori_buf_free(&b);
	return res;
}

struct history_ctx {
	json_t *arr;
};

static json_t *
item_json(const struct mamori_inv_category *cat, const ProtobufCBinaryData *d)
{
	const ProtobufCFieldDescriptor *f;
	ProtobufCMessage *m;
	json_t *j;

	if (d->len == 0)
		return NULL;
	f = protobuf_c_message_descriptor_get_field(
	    &mamori__inventory__descriptor, cat->field_id);
	if (f == NULL || mamori_pb_decode(f->descriptor, d->data, d->len,
	    MAMORI_DECODE_BUDGET, &m) != 0)
		return json_null();
	j = mamori_pb_to_json(m);
	mamori_pb_free(m);
	return j;
}

static int
history_one(void *arg, const struct mamori_history_rec *rec)
{
	struct history_ctx *ctx = arg;
	const struct mamori_inv_category *cat;
	Mamori__InventoryChange *ch;
	ProtobufCMessage *m;
	json_t *e, *v;

	if ((cat = mamori_inv_category_by_id(rec->category)) == NULL)
		return 0;
	if (mamori_pb_decode(&mamori__inventory_change__descriptor,
	    rec->detail, rec->detail_len, MAMORI_DECODE_BUDGET, &m) != 0)
		return MAMORI_ERR_BAD_MESSAGE;
	ch = (Mamori__InventoryChange *)m;
	e = json_pack("{s:I, s:s, s:s}", "time", (json_int_t)rec->time,
	    "category", cat->name, "kind",
	    mamori_inv_change_name((int)rec->kind));
	if (e != NULL) {
		if ((v = item_json(cat, &ch->before)) != NULL)
			json_object_set_new(e, "before", v);
		if ((v = item_json(cat, &ch->after)) != NULL)
			json_object_set_new(e, "after", v);
		json_array_append_new(ctx->arr, e);
	}
	mamori_pb_free(m);
	return 0;
}

static json_t *
cmd_history(struct mamori_server *srv, json_t *req, char *why, size_t whylen)
{
	struct history_ctx ctx;
	struct mamori_agent_rec a;
	json_int_t since, limit;

	if (resolve_agent(srv, json_string_value(json_object_get(req,
	    "agent")), &a, why, whylen) != 0)
		return NULL;
	if (arg_int(req, "since", 0, 0, INT64_MAX, &since) != 0 ||
	    arg_int(req, "limit", ADMIN_HISTORY_DEFAULT, 1, 1000000,
	    &limit) != 0)
		return fail(why, whylen, "since and limit must be positive");
	ctx.arr = json_array();
	if (ctx.arr == NULL)
		return NULL;
	if (mamori_store_history_list(srv->store, a.id, (uint64_t)since,
	    (size_t)limit, history_one, &ctx) != 0) {
		json_decref(ctx.arr);
		return fail(why, whylen, "stored history cannot be read");
	}
	return ctx.arr;
}

static json_t *
cmd_revoke(struct mamori_server *srv, json_t *req, char *why, size_t whylen)
{
	struct mamori_agent_rec a;
	int dropped, r;

	if (resolve_agent_by(srv, json_string_value(json_object_get(req,
	    "agent")), 0, &a, why, whylen) != 0)
		return NULL;
	if ((r = mamori_store_agent_revoke(srv->store, a.id,
	    mamori_now())) != 0)
		return fail(why, whylen, mamori_strerror(r));
	dropped = mamori_session_drop_agent(srv, a.id, "agent revoked by "
	    "the administrator");
	log_info("admin: agent %s revoked%s", a.id,
	    dropped ? "; its connection was closed" : "");
	return json_pack("{s:s, s:b}", "id", a.id, "dropped", dropped);
}

/* ---- events ------------------------------------------------------------ */

struct events_ctx {
	json_t *arr;
	const struct mamori_agent_rec *agents;   /* sorted by id */
	size_t n_agents;
	const char *match;
	size_t limit;
	size_t scanned;
	uint64_t last_id;
};

static int
agent_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct mamori_agent_rec *)elem)->id);
}

static int
contains_nocase(const char *hay, const char *needle)
{
	return strcasestr(hay, needle) != NULL;
}

static int
events_one(void *arg, const struct mamori_event_rec *rec)
{
	struct events_ctx *ctx = arg;
	const struct mamori_agent_rec *a;
	ProtobufCMessage *m;
	json_t *e = NULL;
	char *text = NULL;
	int keep = 1;

	if (++ctx->scanned > ADMIN_EVENTS_SCAN_MAX)
		return 1;
	if (rec->id > ctx->last_id)
		ctx->last_id = rec->id;
	if (mamori_pb_decode(&mamori__event__descriptor, rec->payload,
	    rec->payload_len, MAMORI_DECODE_BUDGET, &m) != 0) {
		log_error("admin: stored event %llu of agent %s does not "
		    "decode", (unsigned long long)rec->seq, rec->agent_id);
		return 0;
	}
	if ((e = mamori_pb_to_json(m)) == NULL)
		goto out;
	if (ctx->match != NULL) {
		text = json_dumps(e, JSON_COMPACT);
		keep = text != NULL && contains_nocase(text, ctx->match);
	}
	if (keep) {
		a = bsearch(rec->agent_id, ctx->agents, ctx->n_agents,
		    sizeof(*ctx->agents), agent_cmp);
		json_object_set_new(e, "id", json_integer((json_int_t)rec->id));
		json_object_set_new(e, "agent", json_string(rec->agent_id));
		json_object_set_new(e, "hostname",
		    json_string(a != NULL ? a->hostname : ""));
		json_object_set_new(e, "type", json_string(
		    mamori_event_type_name(rec->type)));
		json_array_append(ctx->arr, e);
	}
out:
	free(text);
	json_decref(e);
	mamori_pb_free(m);
	return ctx->limit > 0 && json_array_size(ctx->arr) >= ctx->limit;
}

static json_t *
cmd_events(struct mamori_server *srv, json_t *req, char *why, size_t whylen)
{
	struct mamori_event_query q;
	struct events_ctx ctx;
	struct mamori_agent_rec a, *agents = NULL;
	const char *spec, *type, *match;
	json_int_t since, until, limit, after;
	json_t *res = NULL;
	size_t n_agents = 0, i, n;
	int r;

	memset(&q, 0, sizeof(q));
	memset(&ctx, 0, sizeof(ctx));
	if (arg_int(req, "since", 0, 0, INT64_MAX / 1000000000, &since) != 0 ||
	    arg_int(req, "until", 0, 0, INT64_MAX / 1000000000, &until) != 0 ||
	    arg_int(req, "limit", ADMIN_EVENTS_DEFAULT, 1, ADMIN_EVENTS_MAX,
	    &limit) != 0 ||
	    arg_int(req, "after_id", 0, 0, INT64_MAX, &after) != 0)
		return fail(why, whylen, "since, until, limit and after_id must "
		    "be positive (limit at most 100000)");
	if ((spec = json_string_value(json_object_get(req, "agent"))) != NULL) {
		if (resolve_agent(srv, spec, &a, why, whylen) != 0)
			return NULL;
		q.agent_id = a.id;
	}
	if ((type = json_string_value(json_object_get(req, "type"))) != NULL &&
	    (q.type = mamori_event_type_code(type)) == 0)
		return fail(why, whylen, "unknown event type; use process, "
		    "login, file, network, usb, trust, yara or loss");
	match = json_string_value(json_object_get(req, "match"));
	if (match != NULL && (match[0] == '\0' ||
	    strlen(match) > ADMIN_MATCH_MAX))
		return fail(why, whylen, "match must be 1 to 256 bytes");
	q.since_ns = (uint64_t)since * 1000000000ULL;
	q.until_ns = until > 0 ? (uint64_t)until * 1000000000ULL +
	    999999999ULL : 0;
	q.after_id = (uint64_t)after;
	/* Following reads forward from a cursor; a listing shows the newest
	 * events, oldest first. */
	q.newest_first = after == 0;
	q.limit = match != NULL ? 0 : (size_t)limit;
	if (mamori_store_agent_list(srv->store, &agents, &n_agents) != 0)
		return fail(why, whylen, "store failure");
	ctx.arr = json_array();
	ctx.agents = agents;
	ctx.n_agents = n_agents;
	ctx.match = match;
	ctx.limit = (size_t)limit;
	ctx.last_id = (uint64_t)after;
	if (ctx.arr == NULL)
		goto out;
	r = mamori_store_event_list(srv->store, &q, events_one, &ctx);
	if (r < 0) {
		fail(why, whylen, "stored events cannot be read");
		goto out;
	}
	if (q.newest_first) {
		/* Back into chronological order. */
		n = json_array_size(ctx.arr);
		for (i = 0; i < n / 2; i++) {
			json_t *x = json_incref(json_array_get(ctx.arr, i));
			json_t *y = json_incref(json_array_get(ctx.arr,
			    n - 1 - i));

			json_array_set_new(ctx.arr, i, y);
			json_array_set_new(ctx.arr, n - 1 - i, x);
		}
	}
	res = json_pack("{s:O, s:I, s:b}", "events", ctx.arr,
	    "last_id", (json_int_t)ctx.last_id,
	    "truncated", ctx.scanned > ADMIN_EVENTS_SCAN_MAX);
out:
	json_decref(ctx.arr);
	OPENSSL_cleanse(agents, n_agents * sizeof(*agents));
	free(agents);
	return res;
}

/* ---- alerts and rules -------------------------------------------------- */

struct alerts_ctx {
	json_t *arr;
	const struct mamori_agent_rec *agents;   /* sorted by id */
	size_t n_agents;
};

static int
alerts_one(void *arg, const struct mamori_alert_rec *rec)
{
	struct alerts_ctx *ctx = arg;
	const struct mamori_agent_rec *a;
	json_t *detail, *e;

	detail = json_loads(rec->detail, JSON_REJECT_DUPLICATES, NULL);
	if (detail == NULL) {
		log_error("admin: detail of alert %llu does not parse",
		    (unsigned long long)rec->id);
		detail = json_object();
	}
	a = bsearch(rec->agent_id, ctx->agents, ctx->n_agents,
	    sizeof(*ctx->agents), agent_cmp);
	e = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o*}",
	    "id", (json_int_t)rec->id, "agent", rec->agent_id,
	    "hostname", a != NULL ? a->hostname : "",
	    "source", mamori_alert_source_name(rec->source),
	    "rule", rec->rule_key,
	    "severity", mamori_alert_severity_name(rec->severity),
	    "first_seen_ns", (json_int_t)rec->first_seen,
	    "last_seen_ns", (json_int_t)rec->last_seen,
	    "count", (json_int_t)rec->count, "detail", detail);
	if (e == NULL || json_array_append_new(ctx->arr, e) != 0)
		return MAMORI_ERR_ALLOC;
	return 0;
}

static json_t *
cmd_alerts(struct mamori_server *srv, json_t *req, char *why, size_t whylen)
{
	struct mamori_alert_query q;
	struct alerts_ctx ctx;
	struct mamori_agent_rec a, *agents = NULL;
	const char *spec, *sev;
	json_int_t since, limit;
	json_t *res = NULL;
	size_t n_agents = 0;

	memset(&q, 0, sizeof(q));
	memset(&ctx, 0, sizeof(ctx));
	if (arg_int(req, "since", 0, 0, INT64_MAX / 1000000000, &since) != 0 ||
	    arg_int(req, "limit", ADMIN_ALERTS_DEFAULT, 1, ADMIN_ALERTS_MAX,
	    &limit) != 0)
		return fail(why, whylen, "since and limit must be positive "
		    "(limit at most 100000)");
	if ((sev = json_string_value(json_object_get(req, "severity"))) !=
	    NULL && mamori_alert_severity_parse(sev, &q.severity_min) != 0)
		return fail(why, whylen, "unknown severity; use "
		    "informational, low, medium, high or critical");
	if ((spec = json_string_value(json_object_get(req, "agent"))) != NULL) {
		if (resolve_agent(srv, spec, &a, why, whylen) != 0)
			return NULL;
		q.agent_id = a.id;
	}
	q.since_ns = (uint64_t)since * 1000000000ULL;
	q.limit = (size_t)limit;
	if (mamori_store_agent_list(srv->store, &agents, &n_agents) != 0)
		return fail(why, whylen, "store failure");
	ctx.agents = agents;
	ctx.n_agents = n_agents;
	if ((ctx.arr = json_array()) == NULL)
		goto out;
	if (mamori_store_alert_list(srv->store, &q, alerts_one, &ctx) != 0) {
		fail(why, whylen, "stored alerts cannot be read");
		goto out;
	}
	res = json_pack("{s:O}", "alerts", ctx.arr);
out:
	json_decref(ctx.arr);
	OPENSSL_cleanse(agents, n_agents * sizeof(*agents));
	free(agents);
	return res;
}

static json_t *
cmd_rules(struct mamori_server *srv, json_t *req, char *why, size_t whylen)
{
	struct mamori_detect_rule rule;
	struct mamori_detect_stats st;
	json_t *arr = NULL, *e, *res = NULL;
	size_t i, n;

	(void)req;
	if (srv->detect == NULL)
		return fail(why, whylen, "detection is not loaded");
	if ((arr = json_array()) == NULL)
		goto out;
	n = mamori_detect_rule_count(srv->detect);
	for (i = 0; i < n; i++) {
		if (mamori_detect_rule_get(srv->detect, i, &rule) != 0)
			break;
		e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s}",
		    "source", mamori_alert_source_name(rule.source),
		    "id", rule.key, "title", rule.title,
		    "severity", mamori_alert_severity_name(rule.severity),
		    "path", rule.path, "loaded", rule.loaded,
		    "reason", rule.reason);
		if (e == NULL || json_array_append_new(arr, e) != 0)
			goto out;
	}
	mamori_detect_stats(srv->detect, &st);
	res = json_pack("{s:O, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "rules", arr, "bundles", (json_int_t)st.bundles,
	    "bundles_unreadable", (json_int_t)st.bundles_unreadable,
	    "sigma_loaded", (json_int_t)st.sigma_loaded,
	    "sigma_unsupported", (json_int_t)st.sigma_unsupported,
	    "indicators_loaded", (json_int_t)st.indicators_loaded,
	    "indicators_unsupported", (json_int_t)st.indicators_unsupported,
	    "events_evaluated", (json_int_t)st.events,
	    "alerts_raised", (json_int_t)st.alerts);
out:
	json_decref(arr);
	return res;
}

/* Each alert output with its counters (output/output.h). */
static json_t *
cmd_outputs(struct mamori_server *srv, json_t *req, char *why, size_t whylen)
{
	struct mamori_output_stats st;
	json_t *arr, *e;
	size_t i;

	(void)req;
	(void)why;
	(void)whylen;
	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < mamori_outputs_count(srv->outputs); i++) {
		if (mamori_outputs_stats(srv->outputs, i, &st) != 0)
			break;
		e = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:I, s:s, s:I}", "name", st.name,
		    "kind", st.kind, "target", st.target,
		    "queued", (json_int_t)st.queued,
		    "queue_max", (json_int_t)st.queue_max,
		    "sent", (json_int_t)st.sent,
		    "retried", (json_int_t)st.retried,
		    "dropped", (json_int_t)st.dropped,
		    "failed", (json_int_t)st.failed,
		    "refused", (json_int_t)st.refused,
		    "skipped", (json_int_t)st.skipped,
		    "last_sent", (json_int_t)st.last_sent,
		    "last_error", st.last_error,
		    "last_error_at", (json_int_t)st.last_error_at);
		if (e == NULL || json_array_append_new(arr, e) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return json_pack("{s:o}", "outputs", arr);
}

/* ---- the socket -------------------------------------------------------- */

static void
admin_respond(struct bufferevent *bev, json_t *result, const char *why)
{
	json_t *resp;
	char *text;

	if (result != NULL)
		resp = json_pack("{s:b, s:o}", "ok", 1, "result", result);
	else
		resp = json_pack("{s:b, s:s}", "ok", 0, "error",
		    why[0] != '\0' ? why : "internal error");
	text = resp == NULL ? NULL : json_dumps(resp, JSON_COMPACT);
	if (text != NULL) {
		bufferevent_write(bev, text, strlen(text));
		bufferevent_write(bev, "\n", 1);
	}
	free(text);
	json_decref(resp);
}

/* One client connection: the line is searched for its end only in the
 * bytes not yet searched, so a large request costs one pass. */
struct admin_conn {
	struct mamori_server *srv;
	size_t scanned;
};

static void
admin_close_when_flushed(struct bufferevent *bev, void *arg)
{
	free(arg);
	bufferevent_free(bev);
}

static void
admin_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	free(arg);
	bufferevent_free(bev);
}

static void
admin_read(struct bufferevent *bev, void *arg)
{
	struct admin_conn *conn = arg;
	struct mamori_server *srv = conn->srv;
	struct evbuffer *in = bufferevent_get_input(bev);
	const struct mamori_admin_cmd *cmd;
	struct evbuffer_ptr eol, from;
	json_t *req = NULL, *result = NULL;
	char why[512];
	char *line;
	size_t len;

	why[0] = '\0';
	if (evbuffer_ptr_set(in, &from, conn->scanned, EVBUFFER_PTR_SET) != 0)
		from.pos = -1;
	eol = evbuffer_search_eol(in, from.pos >= 0 ? &from : NULL, NULL,
	    EVBUFFER_EOL_LF);
	if (eol.pos < 0) {
		conn->scanned = evbuffer_get_length(in);
		if (evbuffer_get_length(in) <= MAMORI_ADMIN_MAX_REQUEST)
			return;
		snprintf(why, sizeof(why), "request longer than %d bytes",
		    MAMORI_ADMIN_MAX_REQUEST);
		log_warn("admin: %s", why);
		goto respond;
	}
	if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) == NULL)
		return;
	if (mamori_admin_request_parse(line, len, &req, &cmd, why,
	    sizeof(why)) != 0) {
		log_warn("admin: bad request: %s", why);
	} else if (cmd->fn == NULL) {
		free(line);
		if (stream_fn(cmd->name)(srv, bev, req, why, sizeof(why)) == 0) {
			json_decref(req);
			free(conn);     /* bev is the command's now */
			return;
		}
		log_info("admin: %s failed: %s", cmd->name, why);
		json_decref(req);
		goto respond;
	} else {
		result = cmd->fn(srv, req, why, sizeof(why));
		if (result == NULL && why[0] == '\0')
			snprintf(why, sizeof(why), "out of memory");
		if (result == NULL)
			log_info("admin: %s failed: %s", cmd->name, why);
	}
	free(line);
	json_decref(req);
respond:
	bufferevent_disable(bev, EV_READ);
	admin_respond(bev, result, why);
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		free(conn);
		bufferevent_free(bev);  /* nothing could be written */
		return;
	}
	bufferevent_setcb(bev, NULL, admin_close_when_flushed, admin_event,
	    conn);
}

/* May this local user administer the server? */
static int
peer_allowed(struct mamori_server *srv, int fd, uid_t *uid_out)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd *pw;
	struct group *gr;
	char **m;

	*uid_out = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
		return 0;
	*uid_out = cred.uid;
	if (cred.uid == 0 || cred.uid == geteuid())
		return 1;
	if (srv->admin_gid == (gid_t)-1)
		return 0;
	if (cred.gid == srv->admin_gid)
		return 1;
	if ((pw = getpwuid(cred.uid)) == NULL ||
	    (gr = getgrgid(srv->admin_gid)) == NULL)
		return 0;
	for (m = gr->gr_mem; m != NULL && *m != NULL; m++)
		if (strcmp(*m, pw->pw_name) == 0)
			return 1;
	return 0;
}

static void
admin_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct mamori_server *srv = arg;
	struct admin_conn *conn;
	struct bufferevent *bev;
	struct timeval tv = {ADMIN_TIMEOUT, 0};
	uid_t uid;

	(void)l;
	(void)sa;
	(void)salen;
	if (!peer_allowed(srv, fd, &uid)) {
		log_warn("admin: refused a connection from uid %ld",
		    (long)uid);
		evutil_closesocket(fd);
		return;
	}
	if ((conn = calloc(1, sizeof(*conn))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	conn->srv = srv;
	bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		free(conn);
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, admin_read, NULL, admin_event, conn);
	bufferevent_setwatermark(bev, EV_READ, 0,
	    MAMORI_ADMIN_MAX_REQUEST + 2);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Is another server answering on this socket? */
static int
socket_in_use(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), used;

	if (fd < 0)
		return 0;
	used = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return used;
}

int
mamori_admin_start(struct mamori_server *srv)
{
	struct sockaddr_un sun;
	mode_t old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (mamori_strlcpy(sun.sun_path, srv->admin_path,
	    sizeof(sun.sun_path)) >= sizeof(sun.sun_path)) {
		log_error("admin socket path %s is too long for a unix socket; "
		    "use a shorter --home", srv->admin_path);
		return MAMORI_ERR_INVALID;
	}
	if (socket_in_use(&sun)) {
		log_error("another mamorid already serves %s; stop it first",
		    srv->home);
		return MAMORI_ERR_EXISTS;
	}
	(void)unlink(sun.sun_path);
	old = umask(0117);
	srv->admin_listener = evconnlistener_new_bind(srv->base, admin_accept,
	    srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 64,
	    (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (srv->admin_listener == NULL) {
		log_error("cannot create admin socket %s: %s", sun.sun_path,
		    strerror(errno));
		return MAMORI_ERR_SYSTEM;
	}
	if (srv->admin_gid != (gid_t)-1 &&
	    chown(sun.sun_path, (uid_t)-1, srv->admin_gid) != 0)
		log_warn("cannot give admin socket to its group: %s",
		    strerror(errno));
	(void)chmod(sun.sun_path, srv->admin_gid != (gid_t)-1 ? 0660 : 0600);
	return 0;
}

void
mamori_admin_stop(struct mamori_server *srv)
{
	if (srv->admin_listener != NULL) {
		evconnlistener_free(srv->admin_listener);
		srv->admin_listener = NULL;
		(void)unlink(srv->admin_path);
	}
}
