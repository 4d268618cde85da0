/*
 * intel.c - the indicator set and its matcher (see intel.h).
 *
 * Every compiled term becomes one key in one open-addressing hash table:
 * a tag (the kind) and bytes (a digest, a prefix length and a masked
 * address, a domain or a URL).  A key leads to the list of terms that use
 * it, a term to its alternative, an alternative to its indicator.  CIDRs
 * are a prefix table: one key per (prefix length, masked address), and a
 * lookup tries only the prefix lengths present, longest first.  Domains
 * look up the name and each parent.  This file must never make matching
 * cost grow with the number of indicators, nor keep a pointer into a
 * caller's indicator.
 */
#include "intel.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "util.h"

#define INTEL_TAG_ADDR 100 /* key tag of addresses; others: the kind */
#define INTEL_ADDR_KEY 17  /* prefix length + 16 bytes */
#define INTEL_KEY_MAX MAMORI_STIX_URL_MAX
#define INTEL_MIN_SLOTS 1024
#define INTEL_NONE UINT32_MAX
#define INTEL_V4_FILTER 112  /* IPv4 /16 and longer: in v4_by16 */

struct intel_ind {
	char *id, *name, *pattern, *source;
};

struct intel_conj {
	uint32_t ind;
	uint32_t count; /* terms AND'ed */
};

struct intel_term {
	uint32_t conj;
	uint32_t next;  /* next term with the same key */
	enum mamori_stix_kind kind;
	char *value;
};

struct intel_slot {
	uint64_t hash;   /* 0: empty */
	uint32_t key;    /* offset of tag + bytes in keys */
	uint32_t len;    /* bytes of the key, tag included */
	uint32_t head;   /* first term */
};

struct mamori_intel {
	uint64_t seed;
	struct intel_ind *ind;
	size_t nind, capind;
	struct intel_conj *conj;
	size_t nconj, capconj;
	struct intel_term *terms;
	size_t nterms, capterms;
	struct intel_slot *slots;
	size_t nslots, used;     /* nslots: a power of two */
	uint8_t *keys;
	size_t nkeys, capkeys;
	uint32_t prefix_count[129]; /* address keys per prefix length */
	/* IPv4 /16 -> bit (len - 16) set when an IPv4 key of prefix length
	 * len >= 16 lies in that /16: most addresses then need no probe */
	uint32_t *v4_by16;
};

static uint64_t
key_hash(uint64_t seed, const uint8_t *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= k[i];
		h *= 0x100000001b3ULL;
	}
	/* murmur3's finaliser spreads FNV's weak low bits */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h == 0 ? 1 : h;
}

/* Grows *p (n used of *cap, elements of size) to hold one more. */
static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *np;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap == 0 ? 64 : *cap * 2;
	if ((np = realloc(*p, nc * size)) == NULL)
		return MAMORI_ERR_ALLOC;
	*p = np;
	*cap = nc;
	return 0;
}

int
mamori_intel_new(struct mamori_intel **out)
{
	struct mamori_intel *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return MAMORI_ERR_ALLOC;
	if ((s->slots = calloc(INTEL_MIN_SLOTS, sizeof(*s->slots))) == NULL) {
		free(s);
		return MAMORI_ERR_ALLOC;
	}
	s->nslots = INTEL_MIN_SLOTS;
	if ((s->v4_by16 = calloc(65536, sizeof(*s->v4_by16))) == NULL) {
		free(s->slots);
		free(s);
		return MAMORI_ERR_ALLOC;
	}
	mamori_random(&s->seed, sizeof(s->seed));
	*out = s;
	return 0;
}

void
mamori_intel_free(struct mamori_intel *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nind; i++) {
		free(s->ind[i].id);
		free(s->ind[i].name);
		free(s->ind[i].pattern);
		free(s->ind[i].source);
	}
	for (i = 0; i < s->nterms; i++)
		free(s->terms[i].value);
	free(s->ind);
	free(s->conj);
	free(s->terms);
	free(s->slots);
	free(s->keys);
	free(s->v4_by16);
	free(s);
}

size_t
mamori_intel_count(const struct mamori_intel *s)
{
	return s == NULL ? 0 : s->nind;
}

static const struct intel_slot *
find_slot(const struct mamori_intel *s, const uint8_t *k, size_t n,
    uint64_t h)
{
	size_t mask = s->nslots - 1, i = (size_t)h & mask;
	const struct intel_slot *sl;

	for (;;) {
		sl = &s->slots[i];
		if (sl->hash == 0)
			return sl;
		if (sl->hash == h && sl->len == n &&
		    memcmp(s->keys + sl->key, k, n) == 0)
			return sl;
		i = (i + 1) & mask;
	}
}

static int
rehash(struct mamori_intel *s)
{
	struct intel_slot *old = s->slots, *ns, *sl;
	size_t n = s->nslots * 2, i, j, mask = n - 1;

	if ((ns = calloc(n, sizeof(*ns))) == NULL)
		return MAMORI_ERR_ALLOC;
	for (i = 0; i < s->nslots; i++) {
		if (old[i].hash == 0)
			continue;
		for (j = (size_t)old[i].hash & mask; ns[j].hash != 0;
		    j = (j + 1) & mask)
			;
		sl = &ns[j];
		*sl = old[i];
	}
	free(old);
	s->slots = ns;
	s->nslots = n;
	return 0;
}

/* 1 when the 16 bytes at a are ::ffff:a.b.c.d */
static int
is_v4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff};

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/* Links term t under key k (tag + bytes), adding the key if new. */
static int
index_term(struct mamori_intel *s, const uint8_t *k, size_t n, uint32_t t)
{
	struct intel_slot *sl;
	uint64_t h;
	int r;

	if ((s->used + 1) * 2 > s->nslots && (r = rehash(s)) != 0)
		return r;
	h = key_hash(s->seed, k, n);
	sl = (struct intel_slot *)find_slot(s, k, n, h);
	if (sl->hash == 0) {
		if (s->nkeys + n > UINT32_MAX)
			return MAMORI_ERR_TOO_LARGE;
		while (s->nkeys + n > s->capkeys) {
			size_t nc = s->capkeys == 0 ? 4096 : s->capkeys * 2;
			uint8_t *nk;

			if ((nk = realloc(s->keys, nc)) == NULL)
				return MAMORI_ERR_ALLOC;
			s->keys = nk;
			s->capkeys = nc;
		}
		memcpy(s->keys + s->nkeys, k, n);
		sl->hash = h;
		sl->key = (uint32_t)s->nkeys;
		sl->len = (uint32_t)n;
		sl->head = INTEL_NONE;
		s->nkeys += n;
		s->used++;
		if (k[0] == INTEL_TAG_ADDR) {
			s->prefix_count[k[1]]++;
			if (k[1] >= INTEL_V4_FILTER && is_v4_mapped(k + 2))
				s->v4_by16[(size_t)k[14] << 8 | k[15]] |=
				    1u << (k[1] - INTEL_V4_FILTER);
		}
	}
	s->terms[t].next = sl->head;
	sl->head = t;
	return 0;
}

/* The key of a compiled term into k; its length. */
static size_t
term_key(const struct mamori_stix_term *t, uint8_t *k)
{
	size_t n;

	if (t->kind == MAMORI_STIX_IPV4 || t->kind == MAMORI_STIX_IPV6) {
		k[0] = INTEL_TAG_ADDR;
		k[1] = t->prefix;
		memcpy(k + 2, t->addr, 16);
		return 2 + 16;
	}
	k[0] = (uint8_t)t->kind;
	if (t->kind <= MAMORI_STIX_MD5) {
		memcpy(k + 1, t->addr, t->addr_len);
		return 1 + (size_t)t->addr_len;
	}
	n = strlen(t->value);
	if (n > INTEL_KEY_MAX)
		n = INTEL_KEY_MAX;
	memcpy(k + 1, t->value, n);
	return 1 + n;
}

static char *
dup_or_null(const char *s, int *failed)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = mamori_memdup_str(s, strlen(s))) == NULL)
		*failed = 1;
	return d;
}

int
mamori_intel_add(struct mamori_intel *s,
    const struct mamori_stix_indicator *ind, const char *source)
{
	const struct mamori_stix_compiled *c = ind->compiled;
	uint8_t key[INTEL_KEY_MAX + 2];
	struct intel_ind *in;
	size_t i, j, n0t = s->nterms, n0c = s->nconj;
	uint32_t ci, ti;
	int r = MAMORI_ERR_INTERNAL, failed = 0;

	if (c == NULL || ind->id == NULL || ind->pattern == NULL)
		return MAMORI_ERR_STIX_UNSUPPORTED;
	if (s->nind >= MAMORI_INTEL_INDICATORS_MAX ||
	    s->nterms + c->nterms >= INTEL_NONE)
		return MAMORI_ERR_TOO_LARGE;
	if ((r = grow((void **)&s->ind, &s->capind, s->nind,
	    sizeof(*s->ind))) != 0)
		return r;
	in = &s->ind[s->nind];
	memset(in, 0, sizeof(*in));
	in->id = dup_or_null(ind->id, &failed);
	in->name = dup_or_null(ind->name, &failed);
	in->pattern = dup_or_null(ind->pattern, &failed);
	in->source = dup_or_null(source, &failed);
	if (failed) {
		r = MAMORI_ERR_ALLOC;
		goto fail;
	}
	for (i = 0; i < c->nconj; i++) {
		if ((r = grow((void **)&s->conj, &s->capconj, s->nconj,
		    sizeof(*s->conj))) != 0)
			goto fail;
		ci = (uint32_t)s->nconj++;
		s->conj[ci].ind = (uint32_t)s->nind;
		s->conj[ci].count = (uint32_t)c->conj[i].count;
		for (j = 0; j < c->conj[i].count; j++) {
			const struct mamori_stix_term *t =
			    &c->terms[c->conj[i].first + j];

			if ((r = grow((void **)&s->terms, &s->capterms,
			    s->nterms, sizeof(*s->terms))) != 0)
				goto fail;
			ti = (uint32_t)s->nterms;
			s->terms[ti].conj = ci;
			s->terms[ti].kind = t->kind;
			if ((s->terms[ti].value = mamori_memdup_str(t->value,
			    strlen(t->value))) == NULL) {
				r = MAMORI_ERR_ALLOC;
				goto fail;
			}
			s->nterms++;
			if ((r = index_term(s, key, term_key(t, key), ti)) != 0)
				goto fail;
		}
	}
	s->nind++;
	return 0;
fail:
	/* Unlink the terms added (each is the head of its key's list, newest
	 * first) and forget them, so the set is as before. */
	for (i = s->nterms; i > n0t; i--) {
		struct intel_slot *sl;

		for (j = 0; j < s->nslots; j++) {
			sl = &s->slots[j];
			if (sl->hash != 0 && sl->head == i - 1) {
				sl->head = s->terms[i - 1].next;
				break;
			}
		}
		free(s->terms[i - 1].value);
	}
	s->nterms = n0t;
	s->nconj = n0c;
	free(in->id);
	free(in->name);
	free(in->pattern);
	free(in->source);
	memset(in, 0, sizeof(*in));
	return r;
}

int
mamori_intel_add_bundle(struct mamori_intel *s,
    const struct mamori_stix_bundle *b, size_t *added)
{
	size_t i, n = 0;
	int r = 0;

	for (i = 0; i < b->nind; i++) {
		if (b->ind[i].compiled == NULL)
			continue;
		if ((r = mamori_intel_add(s, &b->ind[i], b->source)) != 0)
			break;
		n++;
	}
	if (added != NULL)
		*added = n;
	return r;
}

struct hits {
	uint32_t t[MAMORI_INTEL_HITS_MAX];
	size_t n;
	int cut; /* more hits than fit: some indicators may be missing */
};

static void
lookup(const struct mamori_intel *s, const uint8_t *k, size_t n,
    struct hits *h)
{
	const struct intel_slot *sl;
	uint32_t t;

	sl = find_slot(s, k, n, key_hash(s->seed, k, n));
	if (sl->hash == 0)
		return;
	for (t = sl->head; t != INTEL_NONE; t = s->terms[t].next) {
		if (h->n >= MAMORI_INTEL_HITS_MAX) {
			h->cut = 1;
			return;
		}
		h->t[h->n++] = t;
	}
}

static int
lookup_hash(const struct mamori_intel *s, const char *hex,
    enum mamori_stix_kind kind, size_t len, struct hits *h)
{
	uint8_t k[1 + 32];

	if (hex == NULL)
		return 0;
	if (strlen(hex) != 2 * len || mamori_unhex(hex, k + 1, len) != 0)
		return MAMORI_ERR_INVALID;
	k[0] = (uint8_t)kind;
	lookup(s, k, 1 + len, h);
	return 0;
}

static int
lookup_addr(const struct mamori_intel *s, const struct mamori_intel_obs *o,
    struct hits *h)
{
	uint8_t a[16], k[INTEL_ADDR_KEY + 1];
	uint32_t v4;
	int len, i;

	memset(a, 0, sizeof(a));
	if (o->ip != NULL) {
		a[10] = a[11] = 0xff;
		if (inet_pton(AF_INET, o->ip, a + 12) != 1 &&
		    inet_pton(AF_INET6, o->ip, a) != 1)
			return MAMORI_ERR_INVALID;
	} else if (o->ip_bytes != NULL && o->ip_len == 4) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12, o->ip_bytes, 4);
	} else if (o->ip_bytes != NULL && o->ip_len == 16) {
		memcpy(a, o->ip_bytes, 16);
	} else if (o->ip_bytes != NULL) {
		return MAMORI_ERR_INVALID;
	} else {
		return 0;
	}
	k[0] = INTEL_TAG_ADDR;
	v4 = is_v4_mapped(a) ? s->v4_by16[(size_t)a[12] << 8 | a[13]] : 0;
	for (len = 128; len >= 0; len--) {
		if (s->prefix_count[len] == 0)
			continue;
		/* an IPv4 address skips /16 and longer not in its /16 */
		if (len >= INTEL_V4_FILTER && is_v4_mapped(a) &&
		    (v4 & (1u << (len - INTEL_V4_FILTER))) == 0)
			continue;
		k[1] = (uint8_t)len;
		memcpy(k + 2, a, 16);
		for (i = len; i < 128; i++)
			k[2 + i / 8] &= (uint8_t)~(0x80u >> (i % 8));
		lookup(s, k, 2 + 16, h);
	}
	return 0;
}

static int
lookup_host(const struct mamori_intel *s, const char *host, struct hits *h)
{
	uint8_t k[1 + 256];
	char name[256];
	const char *p;
	size_t n;

	if (host == NULL)
		return 0;
	if (mamori_stix_domain_normalise(host, name, sizeof(name)) != 0)
		return MAMORI_ERR_INVALID;
	k[0] = MAMORI_STIX_DOMAIN;
	/* the name, then each parent that still has a dot */
	for (p = name; p != NULL && strchr(p, '.') != NULL;
	    p = strchr(p, '.') + 1) {
		n = strlen(p);
		memcpy(k + 1, p, n);
		lookup(s, k, 1 + n, h);
	}
	return 0;
}

static int
lookup_url(const struct mamori_intel *s, const char *url, struct hits *h)
{
	uint8_t k[1 + MAMORI_STIX_URL_MAX];
	char norm[MAMORI_STIX_URL_MAX];
	size_t n;

	if (url == NULL)
		return 0;
	if (mamori_stix_url_normalise(url, norm, sizeof(norm)) != 0)
		return MAMORI_ERR_INVALID;
	n = strlen(norm);
	k[0] = MAMORI_STIX_URL;
	memcpy(k + 1, norm, n);
	lookup(s, k, 1 + n, h);
	return 0;
}

int
mamori_intel_match(const struct mamori_intel *s,
    const struct mamori_intel_obs *obs, struct mamori_intel_match *out,
    size_t max, size_t *n)
{
	struct hits hits, *h = &hits;
	const struct intel_term *t;
	const struct intel_conj *c;
	const struct intel_ind *in;
	size_t i, j, k, got;
	int r = MAMORI_ERR_INTERNAL;

	*n = 0;
	h->n = 0;
	h->cut = 0;
	if ((r = lookup_hash(s, obs->sha256, MAMORI_STIX_SHA256, 32, h)) != 0 ||
	    (r = lookup_hash(s, obs->sha1, MAMORI_STIX_SHA1, 20, h)) != 0 ||
	    (r = lookup_hash(s, obs->md5, MAMORI_STIX_MD5, 16, h)) != 0 ||
	    (r = lookup_addr(s, obs, h)) != 0 ||
	    (r = lookup_host(s, obs->host, h)) != 0 ||
	    (r = lookup_url(s, obs->url, h)) != 0)
		goto out;
	for (i = 0; i < h->n; i++) {
		t = &s->terms[h->t[i]];
		c = &s->conj[t->conj];
		if (c->count > 1) {
			/* every term of the alternative hit by this event */
			for (got = 0, j = 0; j < h->n; j++)
				if (s->terms[h->t[j]].conj == t->conj)
					got++;
			if (got < c->count)
				continue;
		}
		in = &s->ind[c->ind];
		for (k = 0; k < *n; k++)
			if (out[k].id == in->id)
				break;
		if (k < *n)
			continue;
		if (*n >= max) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		out[*n].id = in->id;
		out[*n].name = in->name;
		out[*n].pattern = in->pattern;
		out[*n].source = in->source;
		out[*n].kind = t->kind;
		out[*n].value = t->value;
		(*n)++;
	}
	r = h->cut ? MAMORI_ERR_TOO_LARGE : 0;
out:
	if (r != 0 && r != MAMORI_ERR_TOO_LARGE)
		*n = 0;
	return r;
}
