/*
 * vuln_match.h - which of a host's installed packages open advisories
 * name.
 *
 * An index maps (Debian release, source package) to the advisories'
 * affected entries.  A host is its Debian major release ("12") and its
 * packages, from any source: a dpkg status file, an agent's inventory
 * (mamori_vuln_packages_from_inventory) or a test.  Each package is matched
 * through its source package (its own name when dpkg named no Source) at
 * its source version (its binary version when dpkg named none), so binNMUs
 * and binaries built from one source are matched once, together.
 *
 * A version is affected when a range of the entry says so - it lies in any
 * [introduced, fixed) interval, or [introduced, last_affected] (introduced
 * "0" is every version), below any limit - or when the entry lists it.
 */
#ifndef MAMORI_VULN_MATCH_H
#define MAMORI_VULN_MATCH_H

#include <stddef.h>

#include "mamori.pb-c.h"
#include "osv.h"

#define MAMORI_VULN_HOST_PACKAGES_MAX 1000000  /* packages of one host */
#define MAMORI_VULN_RELEASE_MAX 16             /* bytes of "12" */

/* One installed binary package; every string borrowed from the caller. */
struct mamori_vuln_package {
	const char *name;           /* binary package */
	const char *version;        /* binary version */
	const char *source;         /* source package; NULL or "": name */
	const char *source_version; /* NULL or "": version */
};

/* One open advisory on a host, for one source package. */
struct mamori_vuln_finding {
	const struct mamori_osv_advisory *advisory; /* borrowed, the set's */
	const char *source;     /* source package (borrowed, the set's) */
	const char *installed;  /* version matched (borrowed, the host's) */
	const char *fixed;      /* first fixed version above it (borrowed,
	                         * the set's), NULL when there is no fix */
	const char **binaries;  /* the host's binaries of it (array owned by
	                         * the result, strings borrowed) */
	size_t n_binaries;
	size_t priv_rank;       /* the advisory's place in id order */
};

/* Findings of one host, sorted by advisory id, then source package. */
struct mamori_vuln_result {
	struct mamori_vuln_finding *findings;
	size_t n;
	size_t priv_cap;
	const char **priv_bins;     /* every finding's binaries, in one array */
	size_t priv_nbins, priv_capbins;
};

struct mamori_vuln_index;

/*
 * Builds the index of set's Debian affected entries into *out (caller
 * frees with mamori_vuln_index_free).  The index borrows set, which must
 * outlive it unchanged.  Returns 0 or MAMORI_ERR_ALLOC.
 */
int mamori_vuln_index_build(const struct mamori_osv_set *set,
    struct mamori_vuln_index **out);

/* Entries (release, package, affected entry) in the index. */
size_t mamori_vuln_index_size(const struct mamori_vuln_index *ix);

void mamori_vuln_index_free(struct mamori_vuln_index *ix);

/*
 * Matches a host of Debian release (digits, "12") with n packages against
 * ix, filling *out (caller frees with mamori_vuln_result_free; it borrows
 * from ix's set and from pkgs, which must outlive it).  Packages without a
 * name or version are ignored.  Returns 0, MAMORI_ERR_INVALID for a bad
 * release, MAMORI_ERR_TOO_LARGE past MAMORI_VULN_HOST_PACKAGES_MAX, or
 * MAMORI_ERR_ALLOC; *out is empty on failure.
 */
int mamori_vuln_match(const struct mamori_vuln_index *ix, const char *release,
    const struct mamori_vuln_package *pkgs, size_t n,
    struct mamori_vuln_result *out);

void mamori_vuln_result_free(struct mamori_vuln_result *r);

/*
 * The Debian major release of an os-release ID and VERSION_ID ("debian",
 * "12" or "12.4") into out (MAMORI_VULN_RELEASE_MAX bytes).  Returns 0,
 * MAMORI_ERR_NOT_FOUND when the system is not Debian or names no numeric
 * release (testing, unstable).
 */
int mamori_vuln_release(const char *os_id, const char *version_id,
    char out[MAMORI_VULN_RELEASE_MAX]);

/*
 * The packages of an inventory (its packages category, as the agent's dpkg
 * collector and the server's store hold it) as a malloc'ed array in *out
 * (count *n) borrowing inv's strings: inv must outlive it.  Packages whose
 * dpkg status says their files are gone (config-files, not-installed) are
 * left out.  Returns 0 or MAMORI_ERR_ALLOC.
 */
int mamori_vuln_packages_from_inventory(const Mamori__Inventory *inv,
    struct mamori_vuln_package **out, size_t *n);

#endif
