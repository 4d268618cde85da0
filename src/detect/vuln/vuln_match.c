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
};

struct mamori_vuln_index {
	struct ix_entry *entries;
	size_t n;
};

static int
entry_cmp(const void *pa, const void *pb)
{
	const struct ix_entry *a = pa, *b = pb;
	int r;

	if ((r = strcmp(a->release, b->release)) != 0 ||
	    (r = strcmp(a->package, b->package)) != 0 ||
	    (r = strcmp(a->adv->id, b->adv->id)) != 0)
		return r;
	/* Same advisory twice (two files): keep a stable, total order. */
	return (a->aff > b->aff) - (a->aff < b->aff);
}

int
mamori_vuln_index_build(const struct mamori_osv_set *set,
    struct mamori_vuln_index **out)
{
	struct mamori_vuln_index *ix = NULL;
	size_t i, j, total = 0;
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	for (i = 0; i < set->n; i++)
		total += set->items[i]->n_affected;
	if ((ix = calloc(1, sizeof(*ix))) == NULL ||
	    (total > 0 && (ix->entries = calloc(total,
	    sizeof(*ix->entries))) == NULL)) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < set->n; i++) {
		const struct mamori_osv_advisory *adv = set->items[i];

		for (j = 0; j < adv->n_affected; j++) {
			struct ix_entry *e = &ix->entries[ix->n++];

			e->release = adv->affected[j].release;
			e->package = adv->affected[j].package;
			e->adv = adv;
			e->aff = &adv->affected[j];
		}
	}
	if (ix->n > 1)
		qsort(ix->entries, ix->n, sizeof(*ix->entries), entry_cmp);
	*out = ix;
	ix = NULL;
	r = 0;
out:
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
	free(ix);
}

/* First entry of (release, package), or ix->n when there is none. */
static size_t
ix_find(const struct mamori_vuln_index *ix, const char *release,
    const char *package)
{
	size_t lo = 0, hi = ix->n, mid;
	int r;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((r = strcmp(ix->entries[mid].release, release)) == 0)
			r = strcmp(ix->entries[mid].package, package);
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ix->n && strcmp(ix->entries[lo].release, release) == 0 &&
	    strcmp(ix->entries[lo].package, package) == 0)
		return lo;
	return ix->n;
}

static int
is_zero(const struct mamori_osv_event *e)
{
	return e->kind == MAMORI_OSV_INTRODUCED && strcmp(e->version, "0") == 0;
}

/*
 * 1 when v is affected by range r, with *fixed the first fixed version
 * above v (NULL: none).  The events are sorted (osv.c), so the walk can stop
 * at the first event above v: no later event changes the answer.
 */
static int
range_affected(const struct mamori_osv_range *r, const char *v,
    const char **fixed)
{
	size_t i, stop = r->n_events;
	int affected = 0, has_limit = 0, below_limit = 0, c;

	*fixed = NULL;
	for (i = 0; i < r->n_events; i++) {
		const struct mamori_osv_event *e = &r->events[i];

		if (e->kind == MAMORI_OSV_LIMIT)
			continue;
		c = is_zero(e) ? 1 : mamori_debver_cmp(v, e->version);
		if (c < 0) {
			stop = i;
			break;
		}
		if (e->kind == MAMORI_OSV_INTRODUCED)
			affected = 1;
		else if (e->kind == MAMORI_OSV_FIXED)
			affected = 0;
		else if (e->kind == MAMORI_OSV_LAST_AFFECTED && c > 0)
			affected = 0;
	}
	for (i = 0; i < r->n_events; i++) {
		if (r->events[i].kind != MAMORI_OSV_LIMIT)
			continue;
		has_limit = 1;
		if (mamori_debver_cmp(v, r->events[i].version) < 0)
			below_limit = 1;
	}
	if (!affected || (has_limit && !below_limit))
		return 0;
	for (i = stop; i < r->n_events; i++)
		if (r->events[i].kind == MAMORI_OSV_FIXED) {
			*fixed = r->events[i].version;
			break;
		}
	return 1;
}

/* 1 when v is affected by entry a; *fixed as for range_affected (the
 * lowest over the ranges that say so). */
static int
entry_affected(const struct mamori_osv_affected *a, const char *v,
    const char **fixed)
{
	const char *f;
	size_t i;
	int affected = 0;

	*fixed = NULL;
	for (i = 0; i < a->n_ranges; i++) {
		if (!range_affected(&a->ranges[i], v, &f))
			continue;
		if (f != NULL && (*fixed == NULL ||
		    mamori_debver_cmp(f, *fixed) < 0))
			*fixed = f;
		affected = 1;
	}
	for (i = 0; i < a->n_versions && !affected; i++)
		if (mamori_debver_cmp(v, a->versions[i]) == 0)
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

static int
pkg_cmp(const void *pa, const void *pb)
{
	const struct mamori_vuln_package *a = *(const void *const *)pa;
	const struct mamori_vuln_package *b = *(const void *const *)pb;
	int r;

	if ((r = strcmp(pkg_source(a), pkg_source(b))) != 0 ||
	    (r = strcmp(pkg_version(a), pkg_version(b))) != 0)
		return r;
	return strcmp(a->name, b->name);
}

static int
finding_cmp(const void *pa, const void *pb)
{
	const struct mamori_vuln_finding *a = pa, *b = pb;
	int r;

	if ((r = strcmp(a->advisory->id, b->advisory->id)) != 0 ||
	    (r = strcmp(a->source, b->source)) != 0)
		return r;
	return strcmp(a->installed, b->installed);
}

static int
result_add(struct mamori_vuln_result *res, const struct ix_entry *e,
    const char *installed, const char *fixed,
    const struct mamori_vuln_package *const *group, size_t n_group)
{
	struct mamori_vuln_finding *f, *grown;
	size_t cap, i;

	if (res->n == res->priv_cap) {
		cap = res->priv_cap == 0 ? 16 : res->priv_cap * 2;
		if ((grown = reallocarray(res->findings, cap,
		    sizeof(*grown))) == NULL)
			return MAMORI_ERR_ALLOC;
		res->findings = grown;
		res->priv_cap = cap;
	}
	f = &res->findings[res->n];
	memset(f, 0, sizeof(*f));
	if ((f->binaries = calloc(n_group, sizeof(*f->binaries))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < n_group; i++)
		f->binaries[i] = group[i]->name;
	f->n_binaries = n_group;
	f->advisory = e->adv;
	f->source = e->package;
	f->installed = installed;
	f->fixed = fixed;
	res->n++;
	return 0;
}

void
mamori_vuln_result_free(struct mamori_vuln_result *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->findings[i].binaries);
	free(r->findings);
	memset(r, 0, sizeof(*r));
}

static int
release_ok(const char *release)
{
	size_t n = strlen(release);

	return n > 0 && n < MAMORI_VULN_RELEASE_MAX &&
	    strspn(release, "0123456789") == n;
}

/* Matches one group of packages of one (source, version). */
static int
match_group(const struct mamori_vuln_index *ix, const char *release,
    const struct mamori_vuln_package *const *group, size_t n_group,
    struct mamori_vuln_result *out)
{
	const char *source = pkg_source(group[0]);
	const char *version = pkg_version(group[0]);
	const struct mamori_osv_advisory *last = NULL;
	const char *fixed;
	size_t i;
	int r;

	for (i = ix_find(ix, release, source); i < ix->n; i++) {
		const struct ix_entry *e = &ix->entries[i];

		if (strcmp(e->package, source) != 0 ||
		    strcmp(e->release, release) != 0)
			break;
		if (e->adv == last)     /* one finding per advisory */
			continue;
		if (!entry_affected(e->aff, version, &fixed))
			continue;
		if ((r = result_add(out, e, version, fixed, group,
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
	const struct mamori_vuln_package **order = NULL;
	size_t i, m = 0, start;
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
	if (n == 0 || ix->n == 0) {
		r = 0;
		goto out;
	}
	if ((order = calloc(n, sizeof(*order))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (pkgs[i].name != NULL && pkgs[i].name[0] != '\0' &&
		    pkgs[i].version != NULL && pkgs[i].version[0] != '\0')
			order[m++] = &pkgs[i];
	if (m > 1)
		qsort(order, m, sizeof(*order), pkg_cmp);
	for (start = 0; start < m; start = i) {
		for (i = start + 1; i < m; i++)
			if (strcmp(pkg_source(order[i]),
			    pkg_source(order[start])) != 0 ||
			    strcmp(pkg_version(order[i]),
			    pkg_version(order[start])) != 0)
				break;
		if ((r = match_group(ix, release, order + start, i - start,
		    out)) != 0)
			goto out;
	}
	if (out->n > 1)
		qsort(out->findings, out->n, sizeof(*out->findings),
		    finding_cmp);
	r = 0;
out:
	free(order);
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
