/*
 * admin_content.c - the admin commands that manage detection content on
 * the running server (rules.add, rules.remove, intel.import, intel.list,
 * intel.remove, yara.add, yara.list, yara.remove, vuln.import) and the
 * vulnerability report over every agent's stored inventory (vuln.report).
 *
 * Files are checked and stored by content.c; this file reloads detection
 * after a change by building a new matcher and swapping it in.  The event
 * loop is single-threaded and admin requests run on it, so the swap falls
 * between two event batches; the open event group is committed first, so
 * its events keep the alerts the old rules raised.  When the new matcher
 * cannot be built the old one stays and the change is undone.
 *
 * It must never leave the server without a matcher, nor print or log the
 * content of an agent's inventory.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "admin_content.h"
#include "content.h"
#include "err.h"
#include "inventory.h"
#include "log.h"
#include "server.h"
#include "vuln_match.h"
#include "wire.h"

/* ---- reload ------------------------------------------------------------ */

static int
reload_detect(void *arg, char *why, size_t whylen)
{
	struct mamori_server *srv = arg;
	struct mamori_detect *d = NULL;
	int r;

	if ((r = mamori_detect_load(srv->home, &d)) != 0) {
		snprintf(why, whylen, "the server could not rebuild detection "
		    "(%s); the rules in use are unchanged and nothing was "
		    "stored", mamori_strerror(r));
		return r;
	}
	/* Events of the open group were matched by the old rules. */
	mamori_session_group_commit(srv);
	mamori_detect_take_counts(d, srv->detect);
	mamori_detect_free(srv->detect);
	srv->detect = d;
	log_info("admin: detection reloaded");
	return 0;
}

static const char *
req_str(json_t *req, const char *name)
{
	return json_string_value(json_object_get(req, name));
}

/* The file text of a request; jansson's strings may hold NUL, which the
 * content checks refuse. */
static int
req_text(json_t *req, const char **name, const char **text, size_t *len,
    char *why, size_t whylen)
{
	json_t *t = json_object_get(req, "text");

	*name = req_str(req, "name");
	if (*name == NULL || t == NULL) {
		snprintf(why, whylen, "name and text are required");
		return MAMORI_ERR_INVALID;
	}
	*text = json_string_value(t);
	*len = json_string_length(t);
	return 0;
}

/* Adds the counts the listing shows after a change. */
static json_t *
with_counts(struct mamori_server *srv, json_t *res)
{
	struct mamori_detect_stats st;

	if (res == NULL || srv->detect == NULL)
		return res;
	mamori_detect_stats(srv->detect, &st);
	json_object_set_new(res, "sigma_loaded",
	    json_integer((json_int_t)st.sigma_loaded));
	json_object_set_new(res, "indicators_loaded",
	    json_integer((json_int_t)st.indicators_loaded));
	return res;
}

/* ---- Sigma, STIX, YARA, OSV -------------------------------------------- */

json_t *
mamori_admin_rules_add(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	const char *name, *text;
	size_t len;
	json_t *res = NULL;

	if (req_text(req, &name, &text, &len, why, whylen) != 0)
		return NULL;
	if (mamori_content_sigma_add(srv->home, name, text, len,
	    reload_detect, srv, &res, why, whylen) != 0)
		return NULL;
	return with_counts(srv, res);
}

json_t *
mamori_admin_rules_remove(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	json_t *ids = json_object_get(req, "ids"), *v, *res = NULL;
	const char *list[MAMORI_CONTENT_REMOVE_MAX];
	size_t i, n = json_array_size(ids);

	if (n == 0 || n > MAMORI_CONTENT_REMOVE_MAX) {
		snprintf(why, whylen, "give 1 to %d rule ids",
		    MAMORI_CONTENT_REMOVE_MAX);
		return NULL;
	}
	json_array_foreach(ids, i, v) {
		if ((list[i] = json_string_value(v)) == NULL ||
		    list[i][0] == '\0') {
			snprintf(why, whylen, "rule ids must be strings");
			return NULL;
		}
	}
	if (mamori_content_sigma_remove(srv->home, list, n, reload_detect,
	    srv, &res, why, whylen) != 0)
		return NULL;
	return with_counts(srv, res);
}

json_t *
mamori_admin_intel_import(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	const char *name, *text;
	size_t len;
	json_t *res = NULL;

	if (req_text(req, &name, &text, &len, why, whylen) != 0)
		return NULL;
	if (mamori_content_intel_import(srv->home, name, text, len,
	    reload_detect, srv, &res, why, whylen) != 0)
		return NULL;
	return with_counts(srv, res);
}

json_t *
mamori_admin_intel_list(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	json_t *res = NULL;

	(void)req;
	if (mamori_content_intel_list(srv->home, &res, why, whylen) != 0)
		return NULL;
	return res;
}

json_t *
mamori_admin_intel_remove(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	json_t *res = NULL;

	if (req_str(req, "id") == NULL) {
		snprintf(why, whylen, "id is required");
		return NULL;
	}
	if (mamori_content_intel_remove(srv->home, req_str(req, "id"),
	    reload_detect, srv, &res, why, whylen) != 0)
		return NULL;
	return with_counts(srv, res);
}

json_t *
mamori_admin_yara_add(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	const char *name, *text;
	size_t len;
	json_t *res = NULL;

	if (req_text(req, &name, &text, &len, why, whylen) != 0)
		return NULL;
	if (mamori_content_yara_add(srv->home, name, text, len, &res, why,
	    whylen) != 0)
		return NULL;
	return res;
}

json_t *
mamori_admin_yara_list(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	json_t *res = NULL;

	(void)req;
	if (mamori_content_yara_list(srv->home, &res, why, whylen) != 0)
		return NULL;
	return res;
}

json_t *
mamori_admin_yara_remove(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	json_t *res = NULL;

	if (req_str(req, "name") == NULL) {
		snprintf(why, whylen, "name is required");
		return NULL;
	}
	if (mamori_content_yara_remove(srv->home, req_str(req, "name"), &res,
	    why, whylen) != 0)
		return NULL;
	return res;
}

json_t *
mamori_admin_vuln_import(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	const char *name, *text;
	size_t len;
	json_t *res = NULL;

	if (req_text(req, &name, &text, &len, why, whylen) != 0)
		return NULL;
	if (mamori_content_vuln_import(srv->home, name, text, len, &res, why,
	    whylen) != 0)
		return NULL;
	return res;
}

/* ---- vulnerability report ---------------------------------------------- */

/* One category of an agent's stored inventory, decoded; *inv NULL when
 * the agent has not sent it. */
static int
stored_inventory(struct mamori_server *srv, const char *agent_id,
    uint32_t category, struct mamori_buf *b, Mamori__Inventory **inv)
{
	ProtobufCMessage *m = NULL;
	int r;

	*inv = NULL;
	mamori_buf_reset(b);
	r = mamori_store_inventory_get(srv->store, agent_id, category, b);
	if (r == MAMORI_ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	if ((r = mamori_pb_decode(&mamori__inventory__descriptor, b->data,
	    b->len, MAMORI_DECODE_BUDGET, &m)) != 0)
		return r;
	*inv = (Mamori__Inventory *)m;
	return 0;
}

static json_t *
strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *
binaries_json(const struct mamori_vuln_finding *f)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < f->n_binaries; i++)
		json_array_append_new(a, json_string(f->binaries[i]));
	return a;
}

struct report {
	json_t *by_adv;      /* advisory id -> {id, summary, ..., hosts: []} */
	json_t *hosts;       /* per host, with its advisories */
	json_t *skipped;     /* hosts not matched, and why */
};

/* Matches one agent; adds it to the report. */
static int
report_host(struct mamori_server *srv, const struct mamori_vuln_index *ix,
    const struct mamori_agent_rec *a, struct mamori_buf *b,
    struct report *rep)
{
	Mamori__Inventory *os = NULL, *pk = NULL;
	struct mamori_vuln_package *pkgs = NULL;
	struct mamori_vuln_result res;
	char release[MAMORI_VULN_RELEASE_MAX];
	json_t *host = NULL, *advs = NULL, *adv, *e;
	size_t npkgs = 0, i;
	const char *skip = NULL;
	int r;

	memset(&res, 0, sizeof(res));
	if ((r = stored_inventory(srv, a->id, MAMORI_INV_OS, b, &os)) != 0 ||
	    (r = stored_inventory(srv, a->id, MAMORI_INV_PACKAGES, b,
	    &pk)) != 0)
		goto out;
	if (os == NULL || os->os == NULL)
		skip = "no inventory of its system yet";
	else if (mamori_vuln_release(os->os->id, os->os->version_id,
	    release) != 0)
		skip = "not a Debian release with a number (its advisories "
		    "name Debian:N)";
	else if (pk == NULL)
		skip = "no package inventory yet";
	if (skip != NULL) {
		r = json_array_append_new(rep->skipped, json_pack(
		    "{s:s, s:s, s:s}", "agent", a->id, "hostname", a->hostname,
		    "reason", skip)) != 0 ? MAMORI_ERR_ALLOC : 0;
		goto out;
	}
	if ((r = mamori_vuln_packages_from_inventory(pk, &pkgs, &npkgs)) != 0 ||
	    (r = mamori_vuln_match(ix, release, pkgs, npkgs, &res)) != 0)
		goto out;
	r = MAMORI_ERR_ALLOC;
	if ((advs = json_array()) == NULL)
		goto out;
	for (i = 0; i < res.n; i++) {
		const struct mamori_vuln_finding *f = &res.findings[i];
		const struct mamori_osv_advisory *ad = f->advisory;

		/* An advisory stored twice (in two files) is one finding:
		 * findings come sorted by advisory id, then source. */
		if (i > 0 && strcmp(res.findings[i - 1].advisory->id,
		    ad->id) == 0 && strcmp(res.findings[i - 1].source,
		    f->source) == 0)
			continue;
		if (json_array_append_new(advs, json_pack(
		    "{s:s, s:s, s:s, s:s, s:s*, s:o}", "id", ad->id,
		    "summary", ad->summary != NULL ? ad->summary : "",
		    "source", f->source, "installed", f->installed,
		    "fixed", f->fixed, "binaries", binaries_json(f))) != 0)
			goto out;
		if ((adv = json_object_get(rep->by_adv, ad->id)) == NULL) {
			adv = json_pack("{s:s, s:s, s:o, s:[]}", "id", ad->id,
			    "summary", ad->summary != NULL ? ad->summary : "",
			    "aliases", strings_json(ad->aliases,
			    ad->n_aliases), "hosts");
			if (adv == NULL ||
			    json_object_set_new(rep->by_adv, ad->id, adv) != 0)
				goto out;
		}
		e = json_pack("{s:s, s:s, s:s, s:s, s:s*}", "agent", a->id,
		    "hostname", a->hostname, "source", f->source,
		    "installed", f->installed, "fixed", f->fixed);
		if (json_array_append_new(json_object_get(adv, "hosts"), e) !=
		    0)
			goto out;
	}
	host = json_pack("{s:s, s:s, s:s, s:I, s:O}", "agent", a->id,
	    "hostname", a->hostname, "release", release,
	    "packages", (json_int_t)npkgs, "advisories", advs);
	if (host == NULL || json_array_append_new(rep->hosts, host) != 0)
		goto out;
	r = 0;
out:
	json_decref(advs);
	mamori_vuln_result_free(&res);
	free(pkgs);
	mamori_pb_free((ProtobufCMessage *)os);
	mamori_pb_free((ProtobufCMessage *)pk);
	return r;
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The advisories of the report as an array sorted by id. */
static json_t *
sorted_advisories(json_t *by_adv)
{
	const char **keys = NULL, *k;
	size_t n = json_object_size(by_adv), i = 0;
	json_t *arr = json_array(), *v;

	if (arr == NULL || (n > 0 &&
	    (keys = calloc(n, sizeof(*keys))) == NULL)) {
		json_decref(arr);
		return NULL;
	}
	json_object_foreach(by_adv, k, v)
		keys[i++] = k;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 0; i < n; i++)
		if (json_array_append(arr, json_object_get(by_adv, keys[i])) !=
		    0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
	free(keys);
	return arr;
}

json_t *
mamori_admin_vuln_report(struct mamori_server *srv, json_t *req, char *why,
    size_t whylen)
{
	struct mamori_osv_set set;
	struct mamori_vuln_index *ix = NULL;
	struct mamori_agent_rec one, *agents = NULL;
	struct report rep = {NULL, NULL, NULL};
	struct mamori_buf b;
	char dir[PATH_MAX];
	const char *spec = req_str(req, "agent");
	json_t *res = NULL, *advs = NULL;
	size_t n = 0, i;
	int r;

	mamori_osv_set_init(&set);
	mamori_buf_init(&b, MAMORI_STORE_VALUE_MAX);
	if (spec != NULL && mamori_admin_resolve_agent(srv, spec, &one, why,
	    whylen) != 0)
		goto out;
	if (mamori_path_join(dir, sizeof(dir), srv->home,
	    MAMORI_CONTENT_VULN_DIR) != 0)
		goto out;
	r = mamori_osv_load(dir, &set, NULL, NULL);
	if (r != 0 && r != MAMORI_ERR_NOT_FOUND) {
		snprintf(why, whylen, "the stored advisories cannot be read: %s",
		    mamori_strerror(r));
		goto out;
	}
	if (mamori_vuln_index_build(&set, &ix) != 0)
		goto out;
	if ((rep.by_adv = json_object()) == NULL ||
	    (rep.hosts = json_array()) == NULL ||
	    (rep.skipped = json_array()) == NULL)
		goto out;
	if (spec != NULL) {
		r = report_host(srv, ix, &one, &b, &rep);
	} else {
		if (mamori_store_agent_list(srv->store, &agents, &n) != 0) {
			snprintf(why, whylen, "store failure");
			goto out;
		}
		for (i = 0, r = 0; i < n && r == 0; i++)
			if (agents[i].revoked_at == 0)
				r = report_host(srv, ix, &agents[i], &b, &rep);
	}
	if (r != 0) {
		snprintf(why, whylen, "stored inventory cannot be read: %s",
		    mamori_strerror(r));
		goto out;
	}
	if ((advs = sorted_advisories(rep.by_adv)) == NULL)
		goto out;
	res = json_pack("{s:I, s:I, s:O, s:O, s:O}",
	    "advisories_loaded", (json_int_t)set.n,
	    "advisories_rejected", (json_int_t)set.n_rejected,
	    "advisories", advs, "hosts", rep.hosts, "skipped", rep.skipped);
out:
	json_decref(advs);
	json_decref(rep.by_adv);
	json_decref(rep.hosts);
	json_decref(rep.skipped);
	mamori_vuln_index_free(ix);
	mamori_osv_set_free(&set);
	mamori_buf_free(&b);
	if (agents != NULL) {
		OPENSSL_cleanse(agents, n * sizeof(*agents));
		free(agents);
	}
	OPENSSL_cleanse(&one, sizeof(one));
	return res;
}
