/*
 * cmd_init.c - `mamori init`: creates a server home and its storage key
 * through mamori_home_create, then tells the operator what to keep where.
 *
 * It must never overwrite an existing home or key file (home.c refuses),
 * and never print a key: only fingerprints and paths.  It also creates the
 * home's empty store, which mamorid refuses to create itself.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "crypto.h"
#include "err.h"
#include "home.h"
#include "store.h"

#define INIT_WHY_MAX 1024

/* Creates the empty store of a new home, sealed under key_file's key. */
static int
create_store(const char *home, const char *key_file)
{
	uint8_t key[MAMORI_KEY_LEN];
	char path[PATH_MAX];
	struct mamori_store *store = NULL;
	int r = MAMORI_ERR_INTERNAL;

	memset(key, 0, sizeof(key));
	if ((r = mamori_home_path(home, MAMORI_HOME_DB, path,
	    sizeof(path))) != 0)
		goto out;
	if ((r = mamori_storage_key_load(key_file, key)) != 0)
		goto out;
	if ((r = mamori_store_open_sqlite(path, key, 1, &store)) != 0)
		goto out;
	r = 0;
out:
	mamori_store_close(store);
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

int
cmd_init(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *key_file = NULL;
	const struct cli_option opts[] = {
		{"--key-file", "PATH", &key_file, NULL},
		{NULL, NULL, NULL, NULL},
	};
	struct mamori_home_fingerprints fp;
	char why[INIT_WHY_MAX], safe[CLI_MSG_MAX];
	char home_real[PATH_MAX], key_real[PATH_MAX], owner_key[PATH_MAX];
	char ca_fp[MAMORI_FP_STRLEN], owner_fp[MAMORI_FP_STRLEN];
	const char *home_shown, *key_shown;
	int r = CLI_EXIT_FAIL, e;

	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (key_file == NULL || *key_file == '\0') {
		r = cli_usage_error(ctx, "init needs --key-file PATH");
		goto out;
	}
	if ((e = mamori_home_create(ctx->home, key_file, &fp, why,
	    sizeof(why))) != 0) {
		cli_fail("cannot create a home at %s: %s",
		    cli_safe(ctx->home, safe, sizeof(safe) / 2),
		    cli_safe(why, safe + sizeof(safe) / 2, sizeof(safe) / 2));
		goto out;
	}
	/* mamorid never creates a store (a wrong key must not start an empty
	 * server), so the new home gets its empty store here, under the key
	 * just written. */
	if ((e = create_store(ctx->home, key_file)) != 0) {
		char safe2[CLI_MSG_MAX / 2];

		cli_fail("created the home at %s but not its store (%s); remove "
		    "it and %s, then run mamori init again",
		    cli_safe(ctx->home, safe, sizeof(safe) / 2),
		    mamori_strerror(e), cli_safe(key_file, safe2,
		    sizeof(safe2)));
		goto out;
	}
	home_shown = realpath(ctx->home, home_real) != NULL ? home_real :
	    ctx->home;
	key_shown = realpath(key_file, key_real) != NULL ? key_real : key_file;
	if (mamori_home_path(home_shown, MAMORI_HOME_OWNER_KEY, owner_key,
	    sizeof(owner_key)) != 0)
		owner_key[0] = '\0';
	mamori_fingerprint_str(fp.ca, ca_fp);
	mamori_fingerprint_str(fp.owner, owner_fp);
	printf("Home             %s\n", cli_safe(home_shown, safe,
	    sizeof(safe)));
	printf("Storage key      %s\n", cli_safe(key_shown, safe,
	    sizeof(safe)));
	printf("CA fingerprint   %s\n", ca_fp);
	printf("Owner key        %s\n", owner_fp);
	printf("\n"
	    "Keep the storage key file apart from backups of the home: a copy\n"
	    "of the home reveals nothing without it, and the server will not\n"
	    "start without it.\n");
	printf("Move the owner key %s offline now; the server\n"
	    "needs only keys/owner.pub.\n", cli_safe(owner_key, safe,
	    sizeof(safe)));
	if (fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
out:
	return r;
}
