/*
 * vuln_match.c - the advisory index and the matcher of a host's packages.
 *
 * The index is one array of (release, package, affected entry) sorted by
 * release then package, searched by bisection: no hashing of names an
 * attacker chose, and building it costs one sort.  A host's packages are
 * grouped by (source, version) so each source is looked up and compared
 * once however many binaries it built.  This file must never modify the
 * advisories or the packages it is given, and never trust a version to be
 * valid: mamori_debver_cmp orders any string.
 */
#include <stdlib.h>
#include <string.h>

#include "debver.h"
#include "err.h"
#include "vuln_match.h"

struct ix_entry {
	const char *release;
	const char *package;
	const struct mamori_osv_advisory *adv;
	const struct mamori_osv_affected *aff;
	size_t rank;            /* adv's place in id order */
	size_t range0, n_ranges;        /* in ix->ranges */
	size_t version0, n_versions;    /* in ix->versions */
};

/*
 * The affected entries' ranges, events and versions, copied in entry
 * order into flat arrays and one arena of strings: matching a host walks
 * memory in order instead of chasing the advisories' scattered pointers.
 */
struct ix_event {
	int kind;
	int zero;               /* introduced "0": below every version */
	const char *version;    /* in ix->arena */
	const char *orig;       /* the set's string: what findings borrow */
};

struct ix_range {
	size_t event0, n_events;        /* in ix->events */
};

/* The entries of one (release, package): entries[start, end). */
struct ix_key {
	const char *release;
	const char *package;
	size_t start, end;
};

struct mamori_vuln_index {
	struct ix_entry *entries;
	size_t n;
	struct ix_key *keys;
	size_t n_keys;
	struct ix_range *ranges;
	struct ix_event *events;
	const char **versions;
	char *arena;
};

/* Copies s into the arena at *off; returns the copy. */
static const char *
arena_put(char *arena, size_t *off, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena + *off;

	memcpy(p, s, n);
	*off += n;
	return p;
}

/* Sizes the flat arrays of ix's entries need. */
static void
flat_sizes(const struct mamori_vuln_index *ix, size_t *n_ranges,
    size_t *n_events, size_t *n_versions, size_t *bytes)
{
	size_t i, j, k;

	*n_ranges = *n_events = *n_versions = *bytes = 0;
	for (i = 0; i < ix->n; i++) {
		const struct mamori_osv_affected *a = ix->entries[i].aff;

		*n_ranges += a->n_ranges;
		for (j = 0; j < a->n_ranges; j++) {
			*n_events += a->ranges[j].n_events;
			for (k = 0; k < a->ranges[j].n_events; k++)
				*bytes += strlen(
				    a->ranges[j].events[k].version) + 1;
		}
		*n_versions += a->n_versions;
		for (j = 0; j < a->n_versions; j++)
			*bytes += strlen(a->versions[j]) + 1;
	}
}

/* Fills the flat arrays (allocated to flat_sizes) in entry order. */
static void
flat_fill(struct mamori_vuln_index *ix)
{
	size_t i, j, k, nr = 0, ne = 0, nv = 0, off = 0;

	for (i = 0; i < ix->n; i++) {
		struct ix_entry *e = &ix->entries[i];
		const struct mamori_osv_affected *a = e->aff;

		e->range0 = nr;
		e->n_ranges = a->n_ranges;
		for (j = 0; j < a->n_ranges; j++) {
			struct ix_range *r = &ix->ranges[nr++];

			r->event0 = ne;
			r->n_events = a->ranges[j].n_events;
			for (k = 0; k < a->ranges[j].n_events; k++) {
				const struct mamori_osv_event *src =
				    &a->ranges[j].events[k];
				struct ix_event *ev = &ix->events[ne++];

				ev->kind = src->kind;
				ev->zero = src->kind == MAMORI_OSV_INTRODUCED &&
				    strcmp(src->version, "0") == 0;
				ev->version = arena_put(ix->arena, &off,
				    src->version);
				ev->orig = src->version;
			}
		}
		e->version0 = nv;
		e->n_versions = a->n_versions;
		for (j = 0; j < a->n_versions; j++)
			ix->versions[nv++] = arena_put(ix->arena, &off,
			    a->versions[j]);
	}
}

static int
adv_cmp(const void *pa, const void *pb)
{
	const struct mamori_osv_advisory *a = *(const void *const *)pa;
	const struct mamori_osv_advisory *b = *(const void *const *)pb;
	int r;

	if ((r = strcmp(a->id, b->id)) != 0)
		return r;
	return (a > b) - (a < b);
}

static int
entry_cmp(const void *pa, const void *pb)
{
	const struct ix_entry *a = pa, *b = pb;
	int r;

	if ((r = strcmp(a->release, b->release)) != 0 ||
	    (r = strcmp(a->package, b->package)) != 0)
		return r;
	if (a->rank != b->rank)
		return (a->rank > b->rank) - (a->rank < b->rank);
	/* Same advisory twice (two files): keep a stable, total order. */
	return (a->aff > b->aff) - (a->aff < b->aff);
}

int
mamori_vuln_index_build(const struct mamori_osv_set *set,
    struct mamori_vuln_index **out)
{
	struct mamori_vuln_index *ix = NULL;
	const struct mamori_osv_advisory **byid = NULL;
	size_t i, j, total = 0, n_ranges, n_events, n_versions, bytes;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	for (i = 0; i < set->n; i++)
		total += set->items[i]->n_affected;
	if ((ix = calloc(1, sizeof(*ix))) == NULL ||
	    (set->n > 0 && (byid = calloc(set->n, sizeof(*byid))) == NULL) ||
	    (total > 0 && ((ix->entries = calloc(total,
	    sizeof(*ix->entries))) == NULL || (ix->keys = calloc(total,
	    sizeof(*ix->keys))) == NULL))) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	/* Ranks in id order, so findings sort by comparing integers. */
	for (i = 0; i < set->n; i++)
		byid[i] = set->items[i];
	if (set->n > 1)
		qsort(byid, set->n, sizeof(*byid), adv_cmp);
	for (i = 0; i < set->n; i++) {
		const struct mamori_osv_advisory *adv = byid[i];

		for (j = 0; j < adv->n_affected; j++) {
			struct ix_entry *e = &ix->entries[ix->n++];

			e->release = adv->affected[j].release;
			e->package = adv->affected[j].package;
			e->adv = adv;
			e->aff = &adv->affected[j];
			e->rank = i;
		}
	}
	if (ix->n > 1)
		qsort(ix->entries, ix->n, sizeof(*ix->entries), entry_cmp);
	flat_sizes(ix, &n_ranges, &n_events, &n_versions, &bytes);
	if ((n_ranges > 0 && (ix->ranges = calloc(n_ranges,
	    sizeof(*ix->ranges))) == NULL) ||
	    (n_events > 0 && (ix->events = calloc(n_events,
	    sizeof(*ix->events))) == NULL) ||
	    (n_versions > 0 && (ix->versions = calloc(n_versions,
	    sizeof(*ix->versions))) == NULL) ||
	    (ix->arena = malloc(bytes + 1)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	flat_fill(ix);
	for (i = 0; i < ix->n; i++) {
		const struct ix_entry *e = &ix->entries[i];
		struct ix_key *k = ix->n_keys > 0 ? &ix->keys[ix->n_keys - 1] :
		    NULL;

		if (k != NULL && strcmp(k->release, e->release) == 0 &&
		    strcmp(k->package, e->package) == 0) {
			k->end = i + 1;
			continue;
		}
		k = &ix->keys[ix->n_keys++];
		k->release = e->release;
		k->package = e->package;
		k->start = i;
		k->end = i + 1;
	}
	*out = ix;
	ix = NULL;
	r = 0;
out:
	free(byid);
	mamori_vuln_index_free(ix);
	return r;
}

size_t
mamori_vuln_index_size(const struct mamori_vuln_index *ix)
{
	return ix == NULL ? 0 : ix->n;
}

void
mamori_vuln_index_free(struct mamori_vuln_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->entries);
	free(ix->keys);
	free(ix->ranges);
	free(ix->events);
	free(ix->versions);
	free(ix->arena);
	free(ix);
}

/* The keys of release: [*lo, *hi). */
static void
release_keys(const struct mamori_vuln_index *ix, const char *release,
    size_t *lo_out, size_t *hi_out)
{
	size_t lo = 0, hi = ix->n_keys, mid, first;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(ix->keys[mid].release, release) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	hi = ix->n_keys;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(ix->keys[mid].release, release) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*lo_out = first;
	*hi_out = lo;
}

/* The key of package among keys [lo, hi) (one release), or NULL. */
static const struct ix_key *
package_key(const struct mamori_vuln_index *ix, size_t lo, size_t hi,
    const char *package)
{
	size_t mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		r = strcmp(ix->keys[mid].package, package);
		if (r == 0)
			return &ix->keys[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * 1 when v is affected by range r, with *fixed the first fixed version
 * above v (NULL: none).  The events are sorted (osv.c), so the walk can stop
 * at the first event above v: no later event changes the answer.
 */
static int
range_affected(const struct mamori_vuln_index *ix, const struct ix_range *r,
    const char *v, const char **fixed)
{
	const struct ix_event *ev = ix->events + r->event0;
	size_t i, stop = r->n_events;
	int affected = 0, has_limit = 0, below_limit = 0, c;

	*fixed = NULL;
	for (i = 0; i < r->n_events; i++) {
		if (ev[i].kind == MAMORI_OSV_LIMIT)
			continue;
		c = ev[i].zero ? 1 : mamori_debver_cmp(v, ev[i].version);
		if (c < 0) {
			stop = i;
			break;
		}
		if (ev[i].kind == MAMORI_OSV_INTRODUCED)
			affected = 1;
		else if (ev[i].kind == MAMORI_OSV_FIXED)
			affected = 0;
		else if (ev[i].kind == MAMORI_OSV_LAST_AFFECTED && c > 0)
			affected = 0;
	}
	if (!affected)
		return 0;
	for (i = 0; i < r->n_events; i++) {
		if (ev[i].kind != MAMORI_OSV_LIMIT)
			continue;
		has_limit = 1;
		if (mamori_debver_cmp(v, ev[i].version) < 0)
			below_limit = 1;
	}
	if (has_limit && !below_limit)
		return 0;
	for (i = stop; i < r->n_events; i++)
		if (ev[i].kind == MAMORI_OSV_FIXED) {
			*fixed = ev[i].orig;
			break;
		}
	return 1;
}

/* 1 when v is affected by entry e; *fixed as for range_affected (the
 * lowest over the ranges that say so). */
static int
entry_affected(const struct mamori_vuln_index *ix, const struct ix_entry *e,
    const char *v, const char **fixed)
{
	const char *f;
	size_t i;
	int affected = 0;

	*fixed = NULL;
	for (i = 0; i < e->n_ranges; i++) {
		if (!range_affected(ix, &ix->ranges[e->range0 + i], v, &f))
			continue;
		if (f != NULL && (*fixed == NULL ||
		    mamori_debver_cmp(f, *fixed) < 0))
			*fixed = f;
		affected = 1;
	}
	for (i = 0; i < e->n_versions && !affected; i++)
		if (mamori_debver_cmp(v, ix->versions[e->version0 + i]) == 0)
			affected = 1;
	return affected;
}

static const char *
pkg_source(const struct mamori_vuln_package *p)
{
	return p->source != NULL && p->source[0] != '\0' ? p->source :
	    p->name;
}

static const char *
pkg_version(const struct mamori_vuln_package *p)
{
	return p->source_version != NULL && p->source_version[0] != '\0' ?
	    p->source_version : p->version;
}

/* A package of the host that has advisories: its key and version. */
struct hit {
	const struct ix_key *key;
	const char *version;
	const struct mamori_vuln_package *pkg;
};

static int
hit_cmp(const void *pa, const void *pb)
{
	const struct hit *a = pa, *b = pb;
	int r;

	if (a->key != b->key)
		return (a->key > b->key) - (a->key < b->key);
	if ((r = strcmp(a->version, b->version)) != 0)
		return r;
	return strcmp(a->pkg->name, b->pkg->name);
}

static int
finding_cmp(const void *pa, const void *pb)
{
	const struct mamori_vuln_finding *a = pa, *b = pb;
	int r;

	if (a->priv_rank != b->priv_rank)
		return (a->priv_rank > b->priv_rank) -
		    (a->priv_rank < b->priv_rank);
	if ((r = strcmp(a->source, b->source)) != 0)
		return r;
	return strcmp(a->installed, b->installed);
}

/* Adds a finding whose binaries are the n_group hits at group; their
 * names go to the result's one array (pointers fixed at the end). */
static int
result_add(struct mamori_vuln_result *res, const struct ix_entry *e,
    const char *installed, const char *fixed, const struct hit *group,
    size_t n_group)
{
	struct mamori_vuln_finding *f, *grown;
	const char **bins;
	size_t cap, i;

	if (res->n == res->priv_cap) {
		cap = res->priv_cap == 0 ? 16 : res->priv_cap * 2;
		if ((grown = reallocarray(res->findings, cap,
		    sizeof(*grown))) == NULL)
			return MAMORI_ERR_ALLOC;
		res->findings = grown;
		res->priv_cap = cap;
	}
	if (res->priv_capbins - res->priv_nbins < n_group) {
		cap = res->priv_capbins == 0 ? 64 : res->priv_capbins;
		while (cap - res->priv_nbins < n_group)
			cap *= 2;
		if ((bins = reallocarray(res->priv_bins, cap,
		    sizeof(*bins))) == NULL)
			return MAMORI_ERR_ALLOC;
		res->priv_bins = bins;
		res->priv_capbins = cap;
	}
	f = &res->findings[res->n];
	memset(f, 0, sizeof(*f));
	f->binaries = NULL;     /* set once the array stops moving */
	f->n_binaries = n_group;
	for (i = 0; i < n_group; i++)
		res->priv_bins[res->priv_nbins + i] = group[i].pkg->name;
	res->priv_nbins += n_group;
	f->advisory = e->adv;
	f->priv_rank = e->rank;
	f->source = e->package;
	f->installed = installed;
	f->fixed = fixed;
	res->n++;
	return 0;
}

void
mamori_vuln_result_free(struct mamori_vuln_result *r)
{
	if (r == NULL)
		return;
	free(r->findings);
	free(r->priv_bins);
	memset(r, 0, sizeof(*r));
}

static int
release_ok(const char *release)
{
	size_t n = strlen(release);

	return n > 0 && n < MAMORI_VULN_RELEASE_MAX &&
	    strspn(release, "0123456789") == n;
}

/* Matches one group of hits: one key, one version. */
static int
match_group(const struct mamori_vuln_index *ix, const struct hit *group,
    size_t n_group, struct mamori_vuln_result *out)
{
	const struct mamori_osv_advisory *last = NULL;
	const char *fixed;
	size_t i;
	int r;

	for (i = group->key->start; i < group->key->end; i++) {
		const struct ix_entry *e = &ix->entries[i];

		if (e->adv == last)     /* one finding per advisory */
			continue;
		if (!entry_affected(ix, e, group->version, &fixed))
			continue;
		if ((r = result_add(out, e, group->version, fixed, group,
		    n_group)) != 0)
			return r;
		last = e->adv;
	}
	return 0;
}

int
mamori_vuln_match(const struct mamori_vuln_index *ix, const char *release,
    const struct mamori_vuln_package *pkgs, size_t n,
    struct mamori_vuln_result *out)
{
	struct hit *hits = NULL;
	const struct ix_key *key;
	size_t i, m = 0, start, lo, hi, off;
	int r = MAMORI_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (release == NULL || !release_ok(release)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if (n > MAMORI_VULN_HOST_PACKAGES_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	release_keys(ix, release, &lo, &hi);
	if (n == 0 || lo == hi) {
		r = 0;
		goto out;
	}
	if ((hits = calloc(n, sizeof(*hits))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	/* Only packages whose source has advisories are sorted and grouped:
	 * on a real host, a small part of them. */
	for (i = 0; i < n; i++) {
		if (pkgs[i].name == NULL || pkgs[i].name[0] == '\0' ||
		    pkgs[i].version == NULL || pkgs[i].version[0] == '\0')
			continue;
		if ((key = package_key(ix, lo, hi, pkg_source(&pkgs[i]))) ==
		    NULL)
			continue;
		hits[m].key = key;
		hits[m].version = pkg_version(&pkgs[i]);
		hits[m].pkg = &pkgs[i];
		m++;
	}
	if (m > 1)
		qsort(hits, m, sizeof(*hits), hit_cmp);
	for (start = 0; start < m; start = i) {
		for (i = start + 1; i < m; i++)
			if (hits[i].key != hits[start].key ||
			    strcmp(hits[i].version, hits[start].version) != 0)
				break;
		if ((r = match_group(ix, hits + start, i - start, out)) != 0)
			goto out;
	}
	for (i = 0, off = 0; i < out->n; i++) {
		out->findings[i].binaries = out->priv_bins + off;
		off += out->findings[i].n_binaries;
	}
	if (out->n > 1)
		qsort(out->findings, out->n, sizeof(*out->findings),
		    finding_cmp);
	r = 0;
out:
	free(hits);
	if (r != 0)
		mamori_vuln_result_free(out);
	return r;
}

int
mamori_vuln_release(const char *os_id, const char *version_id,
    char out[MAMORI_VULN_RELEASE_MAX])
{
	size_t n;

	out[0] = '\0';
	if (os_id == NULL || version_id == NULL ||
	    strcmp(os_id, "debian") != 0)
		return MAMORI_ERR_NOT_FOUND;
	n = strspn(version_id, "0123456789");
	if (n == 0 || n >= MAMORI_VULN_RELEASE_MAX ||
	    (version_id[n] != '\0' && version_id[n] != '.'))
		return MAMORI_ERR_NOT_FOUND;
	memcpy(out, version_id, n);
	out[n] = '\0';
	return 0;
}

/* 1 when a package in dpkg status word st has its files installed. */
static int
status_installed(const char *st)
{
	return st == NULL || st[0] == '\0' ||
	    (strcmp(st, "config-files") != 0 &&
	    strcmp(st, "not-installed") != 0);
}

int
mamori_vuln_packages_from_inventory(const Mamori__Inventory *inv,
    struct mamori_vuln_package **out, size_t *n)
{
	struct mamori_vuln_package *pkgs = NULL;
	size_t i, m = 0;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	*n = 0;
	if (inv->n_packages > 0 && (pkgs = calloc(inv->n_packages,
	    sizeof(*pkgs))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < inv->n_packages; i++) {
		const Mamori__Package *p = inv->packages[i];

		if (p == NULL || !status_installed(p->status))
			continue;
		pkgs[m].name = p->name;
		pkgs[m].version = p->version;
		pkgs[m].source = p->source;
		pkgs[m].source_version = p->source_version;
		m++;
	}
	*out = pkgs;
	*n = m;
	pkgs = NULL;
	r = 0;
out:
	free(pkgs);
	return r;
}
