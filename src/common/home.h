/*
 * home.h - the server's home directory and the storage key file.
 *
 *   HOME/                 0700
 *     keys/               0700  fleet CA and server keys, apart from data
 *       ca.key ca.crt           fleet CA (Ed25519)
 *       server.key server.crt   server TLS identity, issued by the CA
 *       owner.pub               owner public key (PEM); the server needs
 *                               only its fingerprint
 *       owner.key               owner private key, written here by init
 *                               for the owner to move offline
 *     data/               0700  the store (mamori.db and its WAL)
 *     admin.sock                admin socket, while mamorid runs
 *
 * The storage key lives outside HOME, at a path the operator chooses: a
 * file holding 64 hex characters and a newline, mode 0600.  A copy of HOME
 * without it reveals nothing.
 */
#ifndef MAMORI_HOME_H
#define MAMORI_HOME_H

#include <limits.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"

#define MAMORI_HOME_KEYS "keys"
#define MAMORI_HOME_DATA "data"
#define MAMORI_HOME_DB "data/mamori.db"
#define MAMORI_HOME_ADMIN_SOCK "admin.sock"
#define MAMORI_HOME_CA_KEY "keys/ca.key"
#define MAMORI_HOME_CA_CERT "keys/ca.crt"
#define MAMORI_HOME_SERVER_KEY "keys/server.key"
#define MAMORI_HOME_SERVER_CERT "keys/server.crt"
#define MAMORI_HOME_OWNER_KEY "keys/owner.key"
#define MAMORI_HOME_OWNER_PUB "keys/owner.pub"

struct mamori_home_fingerprints {
	uint8_t ca[MAMORI_SHA256_LEN];
	uint8_t owner[MAMORI_SHA256_LEN];
};

/*
 * Creates a new home at dir and the storage key at key_file.  Refuses with
 * MAMORI_ERR_EXISTS when dir already holds a home (keys/ or data/ exist) or
 * key_file exists, and with MAMORI_ERR_INVALID when key_file lies inside
 * dir.  dir itself may exist if empty.  On failure, what it created is
 * removed.  Writes one line per problem to *why (static or caller buffer of
 * whylen bytes) for the operator.
 */
int mamori_home_create(const char *dir, const char *key_file,
    struct mamori_home_fingerprints *fp, char *why, size_t whylen);

/* Path of a home file: out = dir "/" rel. */
int mamori_home_path(const char *dir, const char *rel, char *out,
    size_t outlen);

/* Reads the storage key file: exactly 64 hex chars, optional newline;
 * refuses a file readable by group or others (MAMORI_ERR_PERMISSION). */
int mamori_storage_key_load(const char *path,
    uint8_t key[MAMORI_KEY_LEN]);

/* Loads the fingerprints of the home's CA certificate and owner key. */
int mamori_home_fingerprints(const char *dir,
    struct mamori_home_fingerprints *fp);

#endif
