/*
 * home.c - creating the server's home directory and reading the storage key
 * (see home.h).
 *
 * Creation makes every key of a new fleet, so it must never overwrite
 * anything: it refuses a directory that already holds a home, a storage key
 * file that exists, and a storage key file placed inside the home (a backup
 * of the home would then carry the key that opens it).  When a step fails,
 * everything this run created is removed again, and nothing that existed
 * before is touched.  Secrets are wiped from memory before it returns.
 */
#include "home.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "buf.h"
#include "err.h"
#include "pki.h"
#include "util.h"

#define HOME_CA_NAME_PREFIX "mamori fleet CA "
#define HOME_CA_NAME_RANDOM 4          /* random bytes, shown as 8 hex */
#define HOME_CA_NAME_MAX 64
#define HOME_SERVER_NOTBEFORE (-3600L) /* seconds: tolerate clock skew */
#define HOME_MAX_PEM (16 * 1024)       /* bytes of a certificate or key file */
#define HOME_MAX_CREATED 16            /* paths one creation may leave */
#define STORAGE_KEY_HEX (2 * MAMORI_KEY_LEN)
/* The file holds the hex and at most a newline; read one byte more to
 * notice anything longer. */
#define STORAGE_KEY_FILE_MAX (STORAGE_KEY_HEX + 1)

/* What one creation made, in order, so failure can undo it in reverse. */
struct home_undo {
	char paths[HOME_MAX_CREATED][PATH_MAX];
	int is_dir[HOME_MAX_CREATED];
	size_t n;
};

static void
why_set(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int
undo_note(struct home_undo *u, const char *path, int is_dir)
{
	if (u->n >= HOME_MAX_CREATED)
		return MAMORI_ERR_INTERNAL;
	if (mamori_strlcpy(u->paths[u->n], path, PATH_MAX) >= PATH_MAX)
		return MAMORI_ERR_TOO_LARGE;
	u->is_dir[u->n] = is_dir;
	u->n++;
	return 0;
}

static void
undo_all(struct home_undo *u)
{
	while (u->n > 0) {
		u->n--;
		if (u->is_dir[u->n])
			rmdir(u->paths[u->n]);
		else
			unlink(u->paths[u->n]);
	}
}

int
mamori_home_path(const char *dir, const char *rel, char *out, size_t outlen)
{
	if (dir == NULL || rel == NULL || out == NULL || outlen == 0)
		return MAMORI_ERR_INVALID;
	return mamori_path_join(out, outlen, dir, rel);
}

/*
 * Canonical absolute form of path, which need not exist yet: the realpath
 * of its longest existing ancestor followed by the rest, taken literally.
 * The part that does not exist may not hold "." or "..", which only the
 * file system could resolve.
 */
static int
canonical_path(const char *path, char out[PATH_MAX])
{
	char abs[PATH_MAX], head[PATH_MAX], real[PATH_MAX];
	const char *p, *slash;
	size_t len = 0, cut, clen;
	int r = MAMORI_ERR_INTERNAL;

	out[0] = '\0';
	/* Absolute, with runs of slashes collapsed and none at the end. */
	if (path[0] != '/') {
		if (getcwd(abs, sizeof(abs)) == NULL) {
			r = MAMORI_ERR_SYSTEM;
			goto out;
		}
		len = strlen(abs);
	}
	for (p = path; *p != '\0'; p++) {
		if (*p == '/' && len > 0 && abs[len - 1] == '/')
			continue;
		if (len + 2 >= sizeof(abs)) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		if (p == path && *p != '/' && len > 0 && abs[len - 1] != '/')
			abs[len++] = '/';
		abs[len++] = *p;
	}
	abs[len] = '\0';
	while (len > 1 && abs[len - 1] == '/')
		abs[--len] = '\0';
	/* Walk up to the first ancestor that exists. */
	cut = len;
	for (;;) {
		memcpy(head, abs, cut);
		head[cut] = '\0';
		if (realpath(cut == 0 ? "/" : head, real) != NULL)
			break;
		if (errno != ENOENT) {
			r = errno == EACCES ? MAMORI_ERR_PERMISSION :
			    MAMORI_ERR_SYSTEM;
			goto out;
		}
		slash = memrchr(abs, '/', cut);
		if (slash == NULL) {
			r = MAMORI_ERR_NOT_FOUND;
			goto out;
		}
		clen = cut - (size_t)(slash - abs) - 1;
		if ((clen == 1 && slash[1] == '.') ||
		    (clen == 2 && slash[1] == '.' && slash[2] == '.')) {
			r = MAMORI_ERR_INVALID;
			goto out;
		}
		cut = (size_t)(slash - abs);
	}
	if (snprintf(out, PATH_MAX, "%s%s", strcmp(real, "/") == 0 &&
	    cut < len ? "" : real, abs + cut) >= PATH_MAX) {
		r = MAMORI_ERR_TOO_LARGE;
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		out[0] = '\0';
	return r;
}

/* 0 when the directory that would hold path exists. */
static int
parent_exists(const char *path)
{
	char copy[PATH_MAX];
	struct stat st;
	char *slash;
	size_t len;

	if (mamori_strlcpy(copy, path, sizeof(copy)) >= sizeof(copy))
		return MAMORI_ERR_TOO_LARGE;
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	if ((slash = strrchr(copy, '/')) == NULL)
		return 0; /* the working directory */
	if (slash == copy)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(copy, &st) != 0 || !S_ISDIR(st.st_mode))
		return MAMORI_ERR_NOT_FOUND;
	return 0;
}

/* 1 when inner is outer or lies below it (both canonical). */
static int
path_inside(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (strcmp(outer, "/") == 0)
		return 1;
	return strncmp(inner, outer, n) == 0 &&
	    (inner[n] == '\0' || inner[n] == '/');
}

/* 0 when dir is an empty directory; MAMORI_ERR_EXISTS otherwise, with
 * *holds_home set when it has keys/ or data/. */
static int
dir_check_empty(const char *dir, int *holds_home)
{
	DIR *d = NULL;
	struct dirent *e;
	int r = MAMORI_ERR_INTERNAL;

	*holds_home = 0;
	if ((d = opendir(dir)) == NULL) {
		r = errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_SYSTEM;
		goto out;
	}
	r = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		r = MAMORI_ERR_EXISTS;
		if (strcmp(e->d_name, MAMORI_HOME_KEYS) == 0 ||
		    strcmp(e->d_name, MAMORI_HOME_DATA) == 0)
			*holds_home = 1;
	}
out:
	if (d != NULL)
		closedir(d);
	return r;
}

/* mkdir with exactly mode 0700 whatever the umask; notes it for undo. */
static int
make_dir(const char *path, struct home_undo *u)
{
	int r = MAMORI_ERR_INTERNAL;

	if (mkdir(path, 0700) != 0) {
		r = errno == EEXIST ? MAMORI_ERR_EXISTS :
		    errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_SYSTEM;
		goto out;
	}
	if ((r = undo_note(u, path, 1)) != 0) {
		rmdir(path);
		goto out;
	}
	if (chmod(path, 0700) != 0) {
		r = MAMORI_ERR_SYSTEM;
		goto out;
	}
	r = 0;
out:
	return r;
}

static int
save_pubkey(EVP_PKEY *key, const char *path)
{
	BIO *bio = NULL;
	char *data;
	long n;
	int r = MAMORI_ERR_CRYPTO;

	if ((bio = BIO_new(BIO_s_mem())) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	if (PEM_write_bio_PUBKEY(bio, key) != 1)
		goto out;
	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		goto out;
	r = mamori_file_write(path, data, (size_t)n, 0644, 1);
out:
	BIO_free(bio);
	return r;
}

/* Writes one file of the home (a certificate, a private key, or with
 * pub_only the public half of key) and notes it for undo. */
static int
home_file(const char *dir, const char *rel, struct home_undo *u,
    EVP_PKEY *key, X509 *cert, int pub_only, char *why, size_t whylen)
{
	char path[PATH_MAX];
	int r = MAMORI_ERR_INTERNAL;

	if ((r = mamori_home_path(dir, rel, path, sizeof(path))) != 0) {
		why_set(why, whylen, "path too long: %s/%s", dir, rel);
		goto out;
	}
	if (cert != NULL)
		r = mamori_cert_save(cert, path);
	else if (pub_only)
		r = save_pubkey(key, path);
	else
		r = mamori_key_save(key, path);
	if (r != 0) {
		why_set(why, whylen, "cannot write %s: %s", path,
		    mamori_strerror(r));
		goto out;
	}
	if ((r = undo_note(u, path, 0)) != 0) {
		unlink(path);
		goto out;
	}
	r = 0;
out:
	return r;
}

int
mamori_home_create(const char *dir, const char *key_file,
    struct mamori_home_fingerprints *fp, char *why, size_t whylen)
{
	struct home_undo *u = NULL;
	char dir_real[PATH_MAX], key_real[PATH_MAX], path[PATH_MAX];
	char ca_name[HOME_CA_NAME_MAX], rnd_hex[2 * HOME_CA_NAME_RANDOM + 1];
	char key_hex[STORAGE_KEY_HEX + 2] = {0};
	uint8_t rnd[HOME_CA_NAME_RANDOM], storage_key[MAMORI_KEY_LEN] = {0};
	EVP_PKEY *ca_key = NULL, *server_key = NULL, *owner_key = NULL;
	X509 *ca_cert = NULL, *server_cert = NULL;
	struct mamori_home_fingerprints fps;
	struct stat st;
	int r = MAMORI_ERR_INTERNAL, holds_home = 0;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (fp != NULL)
		memset(fp, 0, sizeof(*fp));
	memset(&fps, 0, sizeof(fps));
	if (dir == NULL || key_file == NULL || *dir == '\0' ||
	    *key_file == '\0') {
		why_set(why, whylen, "a home directory and a key file are "
		    "both needed");
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}

	/* Where things are, before anything is made. */
	if ((r = canonical_path(dir, dir_real)) != 0) {
		why_set(why, whylen, "cannot resolve the path %s", dir);
		goto out;
	}
	if ((r = canonical_path(key_file, key_real)) != 0) {
		why_set(why, whylen, "cannot resolve the path %s", key_file);
		goto out;
	}
	if (path_inside(key_real, dir_real)) {
		why_set(why, whylen, "the storage key %s would lie inside the "
		    "home %s; put it elsewhere so backups of the home do not "
		    "carry it", key_file, dir);
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((r = parent_exists(dir)) != 0) {
		why_set(why, whylen, "the directory that would hold %s does "
		    "not exist", dir);
		goto out;
	}
	if ((r = parent_exists(key_file)) != 0) {
		why_set(why, whylen, "the directory that would hold the "
		    "storage key %s does not exist", key_file);
		goto out;
	}
	if (lstat(key_file, &st) == 0) {
		why_set(why, whylen, "the storage key file %s already exists; "
		    "refusing to overwrite it", key_file);
		r = MAMORI_ERR_EXISTS;
		goto out;
	}
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			why_set(why, whylen, "%s exists and is not a directory",
			    dir);
			r = MAMORI_ERR_EXISTS;
			goto out;
		}
		if ((r = dir_check_empty(dir, &holds_home)) != 0) {
			if (holds_home)
				why_set(why, whylen, "%s already holds a mamori "
				    "home; refusing to overwrite it", dir);
			else if (r == MAMORI_ERR_EXISTS)
				why_set(why, whylen, "%s exists and is not "
				    "empty", dir);
			else
				why_set(why, whylen, "cannot read %s: %s", dir,
				    mamori_strerror(r));
			goto out;
		}
		if (chmod(dir, 0700) != 0) {
			why_set(why, whylen, "cannot set mode 0700 on %s", dir);
			r = MAMORI_ERR_PERMISSION;
			goto out;
		}
	} else if ((r = make_dir(dir, u)) != 0) {
		why_set(why, whylen, "cannot create %s: %s", dir,
		    mamori_strerror(r));
		goto out;
	}

	/* Keys and certificates, all in memory first. */
	mamori_random(rnd, sizeof(rnd));
	mamori_hex(rnd, sizeof(rnd), rnd_hex);
	if (snprintf(ca_name, sizeof(ca_name), "%s%s", HOME_CA_NAME_PREFIX,
	    rnd_hex) >= (int)sizeof(ca_name)) {
		r = MAMORI_ERR_INTERNAL;
		goto out;
	}
	if ((r = mamori_key_generate(&ca_key)) != 0 ||
	    (r = mamori_ca_create(ca_key, ca_name, &ca_cert)) != 0 ||
	    (r = mamori_key_generate(&server_key)) != 0 ||
	    (r = mamori_cert_issue(ca_key, ca_cert, server_key,
	    MAMORI_SERVER_NAME, 1, HOME_SERVER_NOTBEFORE, MAMORI_SERVER_DAYS,
	    NULL, &server_cert)) != 0 ||
	    (r = mamori_key_generate(&owner_key)) != 0) {
		why_set(why, whylen, "cannot make the fleet keys: %s",
		    mamori_strerror(r));
		goto out;
	}
	if ((r = mamori_cert_fingerprint(ca_cert, fps.ca)) != 0 ||
	    (r = mamori_pubkey_fingerprint(owner_key, fps.owner)) != 0) {
		why_set(why, whylen, "cannot fingerprint the fleet keys: %s",
		    mamori_strerror(r));
		goto out;
	}

	/* The directories and files of the home. */
	if ((r = mamori_home_path(dir, MAMORI_HOME_KEYS, path,
	    sizeof(path))) != 0 || (r = make_dir(path, u)) != 0) {
		why_set(why, whylen, "cannot create %s/%s: %s", dir,
		    MAMORI_HOME_KEYS, mamori_strerror(r));
		goto out;
	}
	if ((r = mamori_home_path(dir, MAMORI_HOME_DATA, path,
	    sizeof(path))) != 0 || (r = make_dir(path, u)) != 0) {
		why_set(why, whylen, "cannot create %s/%s: %s", dir,
		    MAMORI_HOME_DATA, mamori_strerror(r));
		goto out;
	}
	if ((r = home_file(dir, MAMORI_HOME_CA_KEY, u, ca_key, NULL, 0, why,
	    whylen)) != 0 ||
	    (r = home_file(dir, MAMORI_HOME_CA_CERT, u, NULL, ca_cert, 0, why,
	    whylen)) != 0 ||
	    (r = home_file(dir, MAMORI_HOME_SERVER_KEY, u, server_key, NULL, 0,
	    why, whylen)) != 0 ||
	    (r = home_file(dir, MAMORI_HOME_SERVER_CERT, u, NULL, server_cert,
	    0, why, whylen)) != 0 ||
	    (r = home_file(dir, MAMORI_HOME_OWNER_KEY, u, owner_key, NULL, 0,
	    why, whylen)) != 0 ||
	    (r = home_file(dir, MAMORI_HOME_OWNER_PUB, u, owner_key, NULL, 1,
	    why, whylen)) != 0)
		goto out;

	/* The storage key last: nothing after it can fail, so it is never
	 * left behind without a home, nor removed once written. */
	mamori_random(storage_key, sizeof(storage_key));
	mamori_hex(storage_key, sizeof(storage_key), key_hex);
	key_hex[STORAGE_KEY_HEX] = '\n';
	key_hex[STORAGE_KEY_HEX + 1] = '\0';
	if ((r = mamori_file_write(key_file, key_hex, STORAGE_KEY_HEX + 1,
	    0600, 1)) != 0) {
		if (r == MAMORI_ERR_EXISTS)
			why_set(why, whylen, "the storage key file %s already "
			    "exists; refusing to overwrite it", key_file);
		else
			why_set(why, whylen, "cannot write the storage key %s: "
			    "%s", key_file, mamori_strerror(r));
		goto out;
	}
	u->n = 0; /* everything stays */
	if (fp != NULL)
		*fp = fps;
	r = 0;
out:
	if (u != NULL) {
		undo_all(u);
		free(u);
	}
	if (r != 0 && why != NULL && whylen > 0 && why[0] == '\0')
		why_set(why, whylen, "%s", mamori_strerror(r));
	OPENSSL_cleanse(storage_key, sizeof(storage_key));
	OPENSSL_cleanse(key_hex, sizeof(key_hex));
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(server_key);
	EVP_PKEY_free(owner_key);
	X509_free(ca_cert);
	X509_free(server_cert);
	return r;
}

int
mamori_storage_key_load(const char *path, uint8_t key[MAMORI_KEY_LEN])
{
	char text[STORAGE_KEY_FILE_MAX + 2];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd = -1, r = MAMORI_ERR_INTERNAL;

	memset(key, 0, MAMORI_KEY_LEN);
	memset(text, 0, sizeof(text));
	if (path == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		r = errno == ENOENT ? MAMORI_ERR_NOT_FOUND :
		    errno == EACCES ? MAMORI_ERR_PERMISSION : MAMORI_ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		r = MAMORI_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		r = MAMORI_ERR_PERMISSION;
		goto out;
	}
	/* Read up to one byte past the longest valid file. */
	while (len < STORAGE_KEY_FILE_MAX + 1) {
		n = read(fd, text + len, STORAGE_KEY_FILE_MAX + 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = MAMORI_ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == STORAGE_KEY_FILE_MAX && text[STORAGE_KEY_HEX] == '\n')
		len--;
	if (len != STORAGE_KEY_HEX) {
		r = len > STORAGE_KEY_FILE_MAX ? MAMORI_ERR_TOO_LARGE :
		    MAMORI_ERR_INVALID;
		goto out;
	}
	text[STORAGE_KEY_HEX] = '\0';
	if ((r = mamori_unhex(text, key, MAMORI_KEY_LEN)) != 0) {
		memset(key, 0, MAMORI_KEY_LEN);
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(text, sizeof(text));
	if (fd >= 0)
		close(fd);
	return r;
}

/* Reads a PEM file of at most HOME_MAX_PEM bytes into a memory BIO. */
static int
pem_bio(const char *dir, const char *rel, struct mamori_buf *b, BIO **out)
{
	char path[PATH_MAX];
	int r = MAMORI_ERR_INTERNAL;

	*out = NULL;
	if ((r = mamori_home_path(dir, rel, path, sizeof(path))) != 0)
		goto out;
	if ((r = mamori_buf_read_file(b, path)) != 0)
		goto out;
	if ((*out = BIO_new_mem_buf(b->data, (int)b->len)) == NULL) {
		r = MAMORI_ERR_ALLOC;
		goto out;
	}
	r = 0;
out:
	return r;
}

int
mamori_home_fingerprints(const char *dir, struct mamori_home_fingerprints *fp)
{
	struct mamori_buf b;
	X509 *cert = NULL;
	EVP_PKEY *owner = NULL;
	BIO *bio = NULL;
	int r = MAMORI_ERR_INTERNAL;

	mamori_buf_init(&b, HOME_MAX_PEM);
	if (fp == NULL || dir == NULL) {
		r = MAMORI_ERR_INVALID;
		goto out;
	}
	memset(fp, 0, sizeof(*fp));
	if ((r = pem_bio(dir, MAMORI_HOME_CA_CERT, &b, &bio)) != 0)
		goto out;
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	if ((r = mamori_cert_fingerprint(cert, fp->ca)) != 0)
		goto out;
	BIO_free(bio);
	bio = NULL;
	if ((r = pem_bio(dir, MAMORI_HOME_OWNER_PUB, &b, &bio)) != 0)
		goto out;
	if ((owner = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL)) == NULL) {
		r = MAMORI_ERR_CRYPTO;
		goto out;
	}
	if ((r = mamori_pubkey_fingerprint(owner, fp->owner)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0 && fp != NULL)
		memset(fp, 0, sizeof(*fp));
	BIO_free(bio);
	X509_free(cert);
	EVP_PKEY_free(owner);
	mamori_buf_free(&b);
	return r;
}
