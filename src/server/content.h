/*
 * content.h - the detection content an administrator keeps on a running
 * server, in files under its home:
 *
 *   HOME/rules/sigma/ID.yml     one Sigma rule a file, named by its id
 *   HOME/rules/intel/BUNDLE.json  STIX 2.1 bundles, named by bundle id
 *   HOME/rules/yara/NAME.yar    YARA rule files (kept for the policy)
 *   HOME/rules/vuln/NAME.json   OSV advisories (public data: plain files)
 *
 * Every change is checked with the engine that will use it before a byte
 * is written (a rule the engine cannot apply is refused with its reason,
 * and nothing is stored), written atomically, and then handed to the
 * caller's reload callback; when the reload fails, every file written or
 * removed is put back as it was.  Results are JSON objects for the admin
 * socket.  Text sent by the administrator is data: it is never used as a
 * path (names are reduced to [A-Za-z0-9._-]) or a format string.
 *
 * Not thread-safe; the server calls it from its event loop.
 */
#ifndef MAMORI_CONTENT_H
#define MAMORI_CONTENT_H

#include <stddef.h>

#include <jansson.h>

#define MAMORI_CONTENT_TEXT_MAX (12 * 1024 * 1024) /* bytes of one file */
#define MAMORI_CONTENT_NAME_MAX 96        /* bytes of a stored file's stem */
#define MAMORI_CONTENT_SIGMA_DOCS_MAX 1000 /* rules of one multi-doc file */
#define MAMORI_CONTENT_REMOVE_MAX 256     /* ids in one remove */
#define MAMORI_CONTENT_FILES_MAX 10000    /* files of one content kind */
#define MAMORI_CONTENT_DIR_DEPTH_MAX 16   /* recursion under rules/intel */
#define MAMORI_CONTENT_CHANGES_MAX 1024   /* files one change touches */

#define MAMORI_CONTENT_SIGMA_DIR "rules/sigma"
#define MAMORI_CONTENT_INTEL_DIR "rules/intel"
#define MAMORI_CONTENT_YARA_DIR "rules/yara"
#define MAMORI_CONTENT_VULN_DIR "rules/vuln"

/* Called after the files changed: 0 when the server took them, else an
 * error with one line in why; the change is then undone. */
typedef int (*mamori_content_reload_fn)(void *arg, char *why, size_t whylen);

/*
 * Each function below returns 0 with *out a new JSON object for the
 * client, or an error with *out NULL and one line in why (for the
 * administrator: what is wrong and what to do).  name is the file name
 * the administrator gave (for messages and the stored name); text, len
 * the file's bytes.  reload may be NULL (nothing to reload).
 */

/* Sigma: one rule, or several YAML documents each a rule.  Every rule
 * must be applicable by the server's ingest schema, carry an id, and not
 * be on the server already. */
int mamori_content_sigma_add(const char *home, const char *name,
    const char *text, size_t len, mamori_content_reload_fn reload,
    void *arg, json_t **out, char *why, size_t whylen);

/* Removes the files of the rules with these ids (every id must exist). */
int mamori_content_sigma_remove(const char *home, const char *const *ids,
    size_t n, mamori_content_reload_fn reload, void *arg, json_t **out,
    char *why, size_t whylen);

/* STIX 2.1: a bundle with at least one indicator mamori can apply.  A
 * bundle with the id of a stored one replaces it. */
int mamori_content_intel_import(const char *home, const char *name,
    const char *text, size_t len, mamori_content_reload_fn reload,
    void *arg, json_t **out, char *why, size_t whylen);

/* Every indicator of the stored bundles: id, name, pattern type, what it
 * matches, bundle, applied or why not. */
int mamori_content_intel_list(const char *home, json_t **out, char *why,
    size_t whylen);

/* Removes a bundle (by bundle id) or one indicator (by indicator id; the
 * bundle is rewritten without it, or removed when it was the last). */
int mamori_content_intel_remove(const char *home, const char *id,
    mamori_content_reload_fn reload, void *arg, json_t **out, char *why,
    size_t whylen);

/* YARA: rule text that compiles with libyara together with every stored
 * file (so no rule name is taken twice). */
int mamori_content_yara_add(const char *home, const char *name,
    const char *text, size_t len, json_t **out, char *why, size_t whylen);
int mamori_content_yara_list(const char *home, json_t **out, char *why,
    size_t whylen);
/* name: a stored file's name, or a rule's name (its whole file goes). */
int mamori_content_yara_remove(const char *home, const char *name,
    json_t **out, char *why, size_t whylen);

/* OSV: a file holding at least one advisory of ecosystem Debian:N.  A
 * file of the same stored name replaces it. */
int mamori_content_vuln_import(const char *home, const char *name,
    const char *text, size_t len, json_t **out, char *why, size_t whylen);

/* The stored name for a stem: bytes outside [A-Za-z0-9._-] become '_', a
 * leading '.' becomes '_', cut at MAMORI_CONTENT_NAME_MAX, "unnamed" when
 * empty; then ext.  Returns 0 or MAMORI_ERR_TOO_LARGE. */
int mamori_content_file_name(const char *stem, size_t stemlen,
    const char *ext, char *out, size_t outlen);

#endif
