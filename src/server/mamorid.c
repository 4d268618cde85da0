/*
 * mamorid.c - the mamori server: command line, loading the home and the
 * storage key, opening the sealed store, then the event loop (server.c).
 *
 * It refuses to start - with one line saying what is wrong and what to do -
 * when the storage key is missing, unreadable, readable by others, or does
 * not open the store; it never creates a new store under an unknown key
 * over an existing home.
 *
 * Exit codes: 0 clean shutdown, 1 runtime failure, 2 bad usage.
 */
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "log.h"
#include "pki.h"
#include "server.h"
#include "server_run.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mamorid --home DIR --key-file PATH [--listen ADDR:PORT]\n"
	    "               [--advertise HOST:PORT] [--admin-group GROUP]\n"
	    "               [--heartbeat SECONDS] [--verbose]\n"
	    "\n"
	    "  --home DIR           server home made by `mamori init`\n"
	    "  --key-file PATH      storage key made by `mamori init`\n"
	    "  --listen ADDR:PORT   where agents connect (default "
	    "0.0.0.0:7443)\n"
	    "  --advertise H:P      address written into enrollment strings\n"
	    "                       (default: the listen address)\n"
	    "  --admin-group GROUP  group allowed on the admin socket besides "
	    "root\n"
	    "  --heartbeat SECONDS  interval agents are asked to keep "
	    "(default 30)\n");
}

static int
die_usage(const char *msg)
{
	fprintf(stderr, "mamorid: %s; see mamorid --help\n", msg);
	return 2;
}

#define MAMORID_MALLOC_KEEP (256 * 1024 * 1024)
#define MAMORID_MALLOC_PAD (16 * 1024 * 1024)

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"home", required_argument, NULL, 'H'},
		{"key-file", required_argument, NULL, 'k'},
		{"listen", required_argument, NULL, 'l'},
		{"advertise", required_argument, NULL, 'a'},
		{"admin-group", required_argument, NULL, 'g'},
		{"heartbeat", required_argument, NULL, 'b'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct mamori_server srv;
	const char *home = NULL, *key_file = NULL, *group = NULL;
	char path[PATH_MAX], host[MAMORI_HOST_MAX + 1];
	char why[MAMORI_OUTPUT_ERROR_MAX];
	uint8_t storage_key[MAMORI_KEY_LEN];
	X509 *server_cert = NULL;
	EVP_PKEY *server_key = NULL;
	struct stat st;

	/* Every TLS record of every agent borrows a buffer and gives it back
	 * (SSL_MODE_RELEASE_BUFFERS keeps idle agents small): keep freed
	 * memory instead of handing it back to the kernel after each burst,
	 * which made page faults a tenth of the ingest cost. */
	(void)mallopt(M_TRIM_THRESHOLD, MAMORID_MALLOC_KEEP);
	(void)mallopt(M_TOP_PAD, MAMORID_MALLOC_PAD);
	uint16_t port;
	uint64_t v;
	int c, r, rc = 1;
	enum mamori_log_level level = MAMORI_LOG_INFO;

	mamori_strlcpy(srv.listen, "0.0.0.0:7443", sizeof(srv.listen));
	srv.heartbeat_seconds = MAMORI_DEFAULT_HEARTBEAT;
	srv.admin_gid = (gid_t)-1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			home = optarg;
			break;
		case 'k':
			key_file = optarg;
			break;
		case 'l':
			if (mamori_parse_hostport(optarg, host, sizeof(host),
			    &port) != 0)
				return die_usage("--listen takes ADDR:PORT, "
				    "e.g. 0.0.0.0:7443 or [::1]:7443");
			mamori_strlcpy(srv.listen, optarg, sizeof(srv.listen));
			break;
		case 'a':
			if (mamori_parse_hostport(optarg, host, sizeof(host),
			    &port) != 0)
				return die_usage("--advertise takes HOST:PORT");
			mamori_strlcpy(srv.advertise, optarg,
			    sizeof(srv.advertise));
			break;
		case 'g':
			group = optarg;
			break;
		case 'b':
			if (mamori_parse_u64(optarg, 1, 3600, &v) != 0)
				return die_usage("--heartbeat takes 1 to 3600 "
				    "seconds");
			srv.heartbeat_seconds = (unsigned)v;
			break;
		case 'v':
			level = MAMORI_LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return die_usage("unknown option");
		}
	}
	if (optind != argc)
		return die_usage("unexpected argument");
	if (home == NULL)
		return die_usage("--home is required");
	if (key_file == NULL)
		return die_usage("--key-file is required");
	mamori_log_init("mamorid", level);
	if (group != NULL) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			fprintf(stderr, "mamorid: no group named %s; create it "
			    "or drop --admin-group\n", group);
			return 2;
		}
		srv.admin_gid = gr->gr_gid;
	}
	if (realpath(home, srv.home) == NULL ||
	    mamori_home_path(srv.home, MAMORI_HOME_CA_CERT, path,
	    sizeof(path)) != 0 || stat(path, &st) != 0) {
		fprintf(stderr, "mamorid: %s is not a mamori home; create one "
		    "with: mamori init --home %s --key-file PATH\n", home, home);
		return 1;
	}
	if ((r = mamori_storage_key_load(key_file, storage_key)) != 0) {
		fprintf(stderr, "mamorid: cannot use storage key %s: %s; %s\n",
		    key_file, mamori_strerror(r),
		    r == MAMORI_ERR_PERMISSION ? "make it readable by its "
		    "owner only (chmod 600)" : "pass the --key-file that "
		    "`mamori init` created for this home");
		return 1;
	}
	if ((r = mamori_home_fingerprints(srv.home, &srv.fp)) != 0 ||
	    (r = mamori_home_path(srv.home, MAMORI_HOME_CA_CERT, path,
	    sizeof(path))) != 0 ||
	    (r = mamori_cert_load(path, &srv.ca_cert)) != 0 ||
	    (r = mamori_home_path(srv.home, MAMORI_HOME_CA_KEY, path,
	    sizeof(path))) != 0 ||
	    (r = mamori_key_load(path, &srv.ca_key)) != 0 ||
	    (r = mamori_home_path(srv.home, MAMORI_HOME_SERVER_CERT, path,
	    sizeof(path))) != 0 ||
	    (r = mamori_cert_load(path, &server_cert)) != 0 ||
	    (r = mamori_home_path(srv.home, MAMORI_HOME_SERVER_KEY, path,
	    sizeof(path))) != 0 ||
	    (r = mamori_key_load(path, &server_key)) != 0) {
		fprintf(stderr, "mamorid: cannot load %s: %s; the home is "
		    "incomplete - restore it from backup\n", path,
		    mamori_strerror(r));
		goto out;
	}
	if ((r = mamori_home_path(srv.home, MAMORI_HOME_DB, path,
	    sizeof(path))) != 0)
		goto out;
	/* `mamori init` created the store under this home's key; never make
	 * a new one here, or a wrong key would start an empty server. */
	r = mamori_store_open_sqlite(path, storage_key, 0, &srv.store);
	OPENSSL_cleanse(storage_key, sizeof(storage_key));
	if (r == MAMORI_ERR_WRONG_KEY) {
		fprintf(stderr, "mamorid: the storage key in %s does not open "
		    "the data in %s; start with the key file made for this "
		    "home\n", key_file, path);
		goto out;
	}
	if (r == MAMORI_ERR_NOT_FOUND) {
		fprintf(stderr, "mamorid: no store at %s; the home is "
		    "incomplete - restore it from backup or run mamori init "
		    "for a new one\n", path);
		goto out;
	}
	if (r != 0) {
		fprintf(stderr, "mamorid: cannot open the store %s: %s\n",
		    path, mamori_strerror(r));
		goto out;
	}
	if ((r = mamori_detect_load(srv.home, &srv.detect)) != 0) {
		fprintf(stderr, "mamorid: cannot load the detection rules "
		    "under %s/rules: %s\n", srv.home, mamori_strerror(r));
		goto out;
	}
	if ((r = mamori_home_path(srv.home, "outputs.json", path,
	    sizeof(path))) != 0)
		goto out;
	if ((r = mamori_outputs_load(path, &srv.outputs, why,
	    sizeof(why))) != 0) {
		fprintf(stderr, "mamorid: %s: %s; fix it (docs/outputs.md) or "
		    "remove it\n", path, why);
		goto out;
	}
	if (srv.advertise[0] == '\0')
		mamori_strlcpy(srv.advertise, srv.listen,
		    sizeof(srv.advertise));
	if (mamori_home_path(srv.home, MAMORI_HOME_ADMIN_SOCK, srv.admin_path,
	    sizeof(srv.admin_path)) != 0)
		goto out;
	if ((r = mamori_server_run(&srv, server_cert, server_key)) != 0) {
		fprintf(stderr, "mamorid: cannot serve: %s\n",
		    mamori_strerror(r));
		goto out;
	}
	rc = 0;
out:
	/* After the last commit: outputs get MAMORI_OUTPUT_DRAIN_MS to
	 * deliver what they hold. */
	mamori_outputs_free(srv.outputs);
	mamori_store_close(srv.store);
	mamori_detect_free(srv.detect);
	X509_free(server_cert);
	EVP_PKEY_free(server_key);
	X509_free(srv.ca_cert);
	EVP_PKEY_free(srv.ca_key);
	return rc;
}
