/*
 * fuzz_content.c - detection content sent to the admin socket, on hostile
 * bytes: the first byte picks Sigma (the YAML document splitter and the
 * ingest schema's checks), STIX (import, list, then removal of the first
 * indicator the listing shows, which rewrites the bundle) or OSV; the rest
 * is the file's text.  Whatever is taken must be listed and removable;
 * nothing may crash, and after each input the home is emptied again.
 *
 * The home lives in a temporary directory made on the first input and
 * removed at exit.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "content.h"
#include "err.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[64];

static void
empty_dir(const char *sub)
{
	char dir[256], p[512];
	struct dirent *e;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", fuzz_dir, sub);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		(void)unlink(p);
	}
	closedir(d);
}

static void
fuzz_cleanup(void)
{
	static const char *const subs[] = {"rules/sigma", "rules/intel",
	    "rules/vuln", "rules/yara", "rules", NULL};
	char p[256];
	size_t i;

	for (i = 0; subs[i] != NULL; i++) {
		empty_dir(subs[i]);
		snprintf(p, sizeof(p), "%s/%s", fuzz_dir, subs[i]);
		(void)rmdir(p);
	}
	(void)rmdir(fuzz_dir);
}

static void
fuzz_init(void)
{
	mamori_log_init("fuzz_content", MAMORI_LOG_ERROR);
	mamori_strlcpy(fuzz_dir, "/tmp/mamori-fuzz-content-XXXXXX",
	    sizeof(fuzz_dir));
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	atexit(fuzz_cleanup);
}

static void
fuzz_sigma(const char *text, size_t len)
{
	char why[512];
	const char *ids[1];
	json_t *res = NULL, *e, *gone;
	size_t i;

	if (mamori_content_sigma_add(fuzz_dir, "fuzz.yml", text, len, NULL,
	    NULL, &res, why, sizeof(why)) != 0) {
		if (res != NULL || why[0] == '\0')
			abort();
		return;
	}
	json_array_foreach(json_object_get(res, "added"), i, e) {
		ids[0] = json_string_value(json_object_get(e, "id"));
		gone = NULL;

		if (ids[0] == NULL || mamori_content_sigma_remove(fuzz_dir, ids,
		    1, NULL, NULL, &gone, why, sizeof(why)) != 0)
			abort();
		json_decref(gone);
	}
	json_decref(res);
}

static void
fuzz_intel(const char *text, size_t len)
{
	char why[512];
	json_t *res = NULL, *list = NULL, *first, *gone = NULL;
	const char *id;

	if (mamori_content_intel_import(fuzz_dir, "fuzz.json", text, len,
	    NULL, NULL, &res, why, sizeof(why)) != 0) {
		if (res != NULL || why[0] == '\0')
			abort();
		return;
	}
	json_decref(res);
	if (mamori_content_intel_list(fuzz_dir, &list, why, sizeof(why)) != 0)
		abort();
	first = json_array_get(json_object_get(list, "indicators"), 0);
	id = json_string_value(json_object_get(first, "id"));
	/* An indicator without an id cannot be named; others must go. */
	if (id != NULL && id[0] != '\0' &&
	    mamori_content_intel_remove(fuzz_dir, id, NULL, NULL, &gone, why,
	    sizeof(why)) == 0)
		json_decref(gone);
	json_decref(list);
}

static void
fuzz_vuln(const char *text, size_t len)
{
	char why[512];
	json_t *res = NULL;

	if (mamori_content_vuln_import(fuzz_dir, "fuzz.json", text, len, &res,
	    why, sizeof(why)) == 0)
		json_decref(res);
	else if (res != NULL || why[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fuzz_dir[0] == '\0')
		fuzz_init();
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_sigma((const char *)data + 1, size - 1);
		break;
	case 1:
		fuzz_intel((const char *)data + 1, size - 1);
		break;
	default:
		fuzz_vuln((const char *)data + 1, size - 1);
		break;
	}
	empty_dir("rules/sigma");
	empty_dir("rules/intel");
	empty_dir("rules/vuln");
	return 0;
}
