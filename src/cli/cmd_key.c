/*
 * cmd_key.c - `mamori key create` and `mamori key show`: an
 * administrator's Ed25519 signing key.
 *
 * create writes the private key encrypted under a passphrase (scrypt,
 * src/trust/key.h), mode 0600, and FILE.pub beside it; it refuses to
 * overwrite either.  It must never write a private key in the clear nor
 * print a passphrase; only ids, fingerprints and paths are shown.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "admin_client.h"
#include "buf.h"
#include "cli.h"
#include "crypto.h"
#include "err.h"
#include "key.h"
#include "passphrase.h"
#include "pki.h"
#include "table.h"
#include "util.h"

/* The id a key file name suggests: "alice.key" -> "alice". */
static void
id_from_path(const char *path, char *out, size_t outlen)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base != NULL ? base + 1 : path;
	n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".key") == 0)
		n -= 4;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, base, n);
	out[n] = '\0';
}

/* Prints a two-column table of label/value rows. */
static int
print_pairs(const char *const (*rows)[2], size_t n)
{
	struct cli_table t;
	size_t i;
	int r = CLI_EXIT_FAIL;

	if (cli_table_init(&t, 2, NULL) != 0)
		return cli_fail("out of memory");
	t.max_width = 0;
	for (i = 0; i < n; i++)
		if (cli_table_add(&t, rows[i]) != 0) {
			r = cli_fail("out of memory");
			goto out;
		}
	if (cli_table_print(&t, stdout, 0) != 0 || fflush(stdout) != 0) {
		r = cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
out:
	cli_table_free(&t);
	return r;
}

static int
show_key(const char *id, const uint8_t raw[MAMORI_ED25519_PUB_LEN],
    const char *priv, const char *pub, int json)
{
	uint8_t fp[MAMORI_SHA256_LEN];
	char fps[MAMORI_FP_STRLEN], b64[64];
	json_t *o;
	int r;

	mamori_ed25519_fingerprint(raw, fp);
	mamori_fingerprint_str(fp, fps);
	mamori_b64url_encode(raw, MAMORI_ED25519_PUB_LEN, b64);
	if (json) {
		o = json_pack("{s:s, s:s, s:s}", "id", id, "fingerprint", fps,
		    "public_key", b64);
		if (o == NULL)
			return cli_fail("out of memory");
		if (priv != NULL)
			json_object_set_new(o, "private_key_file",
			    json_string(priv));
		if (pub != NULL)
			json_object_set_new(o, "public_key_file",
			    json_string(pub));
		r = cli_print_json(o);
		json_decref(o);
		return r;
	}
	{
		const char *rows[][2] = {
			{"Id", id},
			{"Fingerprint", fps},
			{"Public key", b64},
			{"Private key file", priv},
			{"Public key file", pub},
		};
		size_t n = priv != NULL ? 5 : 3;

		return print_pairs((const char *const (*)[2])rows, n);
	}
}

int
cmd_key_create(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *out = NULL, *id = NULL, *pass_file = NULL;
	int json = 0;
	const struct cli_option opts[] = {
		{"--out", "FILE", &out, NULL},
		{"--id", "NAME", &id, NULL},
		{"--passphrase-file", "FILE", &pass_file, NULL},
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct cli_passphrase pp;
	EVP_PKEY *key = NULL;
	uint8_t raw[MAMORI_ED25519_PUB_LEN];
	char idbuf[MAMORI_ADMIN_ID_MAX + 2], pub[PATH_MAX];
	char safe[CLI_MSG_MAX / 2];
	int r, e;

	memset(&pp, 0, sizeof(pp));
	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		goto out;
	if (out == NULL || *out == '\0') {
		r = cli_usage_error(ctx, "key create needs --out FILE");
		goto out;
	}
	if (id == NULL) {
		id_from_path(out, idbuf, sizeof(idbuf));
		id = idbuf;
	}
	if (!mamori_admin_id_valid(id)) {
		r = cli_usage_error(ctx, "the key id '%s' is not valid: use "
		    "--id NAME with 1-%d of A-Z a-z 0-9 . _ @ -",
		    cli_safe(id, safe, sizeof(safe)), MAMORI_ADMIN_ID_MAX);
		goto out;
	}
	if (snprintf(pub, sizeof(pub), "%s%s", out, MAMORI_PUBFILE_SUFFIX) >=
	    (int)sizeof(pub)) {
		r = cli_usage_error(ctx, "the --out path is too long");
		goto out;
	}
	r = CLI_EXIT_FAIL;
	if (access(out, F_OK) == 0 || access(pub, F_OK) == 0) {
		cli_fail("%s or its .pub exists already; key create never "
		    "overwrites a key", cli_safe(out, safe, sizeof(safe)));
		goto out;
	}
	if ((r = cli_passphrase_get(pass_file, "New passphrase for the key: ",
	    1, &pp)) != 0)
		goto out;
	r = CLI_EXIT_FAIL;
	if (pp.len < MAMORI_PASSPHRASE_MIN) {
		cli_fail("the passphrase is shorter than %d characters",
		    MAMORI_PASSPHRASE_MIN);
		goto out;
	}
	if ((e = mamori_key_generate(&key)) != 0 ||
	    (e = mamori_ed25519_public(key, raw)) != 0) {
		cli_fail("cannot make a key: %s", mamori_strerror(e));
		goto out;
	}
	if ((e = mamori_keyfile_save(key, out, pp.text, pp.len)) != 0) {
		cli_fail("cannot write %s: %s", cli_safe(out, safe,
		    sizeof(safe)), mamori_strerror(e));
		goto out;
	}
	if ((e = mamori_pubfile_save(pub, id, key)) != 0) {
		unlink(out);
		cli_fail("cannot write %s: %s", cli_safe(pub, safe,
		    sizeof(safe)), mamori_strerror(e));
		goto out;
	}
	r = show_key(id, raw, out, pub, json);
out:
	cli_passphrase_wipe(&pp);
	EVP_PKEY_free(key);
	return r;
}

/* Reads a PEM public key (as HOME/keys/owner.pub) into raw. */
static int
load_pem_public(const char *path, uint8_t raw[MAMORI_ED25519_PUB_LEN])
{
	struct mamori_buf b;
	EVP_PKEY *k = NULL;
	BIO *bio = NULL;
	int r = MAMORI_ERR_INVALID;

	mamori_buf_init(&b, MAMORI_KEY_FILE_MAX);
	if ((r = mamori_buf_read_file(&b, path)) != 0)
		goto out;
	r = MAMORI_ERR_INVALID;
	if (b.data == NULL ||
	    (bio = BIO_new_mem_buf(b.data, (int)b.len)) == NULL ||
	    (k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL)
		goto out;
	r = mamori_ed25519_public(k, raw);
out:
	EVP_PKEY_free(k);
	BIO_free(bio);
	mamori_buf_free(&b);
	return r;
}

int
cmd_key_show(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL;
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	uint8_t raw[MAMORI_ED25519_PUB_LEN];
	char id[MAMORI_ADMIN_ID_MAX + 1], safe[CLI_MSG_MAX / 2];
	int r, e;

	if ((r = cli_parse(ctx, argc, argv, opts, "FILE.pub", &file)) !=
	    CLI_CONTINUE)
		return r;
	if (file == NULL)
		return cli_usage_error(ctx, "key show needs a public key file");
	if ((e = mamori_pubfile_load(file, id, raw)) != 0) {
		if (load_pem_public(file, raw) != 0)
			return cli_fail("%s is not a mamori public key file "
			    "(%s) nor a PEM Ed25519 public key",
			    cli_safe(file, safe, sizeof(safe)),
			    mamori_strerror(e));
		mamori_strlcpy(id, "-", sizeof(id));
	}
	return show_key(id, raw, NULL, file, json);
}
