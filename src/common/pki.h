/*
 * pki.h - the fleet's certificates: Ed25519 keys, the fleet CA, server and
 * agent certificates, certificate requests, and fingerprints.
 *
 * Roles are carried by extended key usage: the server certificate has
 * serverAuth only, agent certificates clientAuth only, so an agent's
 * certificate can never pass for the server's.  An agent certificate's
 * subject CN is its agent id, which the server chose; nothing in a request
 * decides it.
 */
#ifndef MAMORI_PKI_H
#define MAMORI_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"

#define MAMORI_SERVER_NAME "mamorid.fleet"   /* SAN of every server cert */
#define MAMORI_AGENT_ID_LEN 32               /* hex characters */
#define MAMORI_MAX_CSR 4096                  /* DER bytes of a request */
#define MAMORI_MAX_CERT 8192                 /* DER bytes of a certificate */
#define MAMORI_CA_DAYS 3650
#define MAMORI_SERVER_DAYS 825
#define MAMORI_AGENT_DAYS 397

/* Makes a new Ed25519 key; *out is owned by the caller (EVP_PKEY_free). */
int mamori_key_generate(EVP_PKEY **out);

/* Creates a self-signed fleet CA certificate for key. */
int mamori_ca_create(EVP_PKEY *key, const char *name, X509 **out);

/*
 * Issues a certificate for pub signed by the CA.  server selects serverAuth
 * (with MAMORI_SERVER_NAME as DNS SAN) or clientAuth.  notbefore_offset and
 * days set the validity window from now (seconds, may be negative).  The
 * 16-byte random serial is written to serial_out when non-NULL.
 */
int mamori_cert_issue(EVP_PKEY *ca_key, X509 *ca_cert, EVP_PKEY *pub,
    const char *cn, int server, long notbefore_offset, long days,
    uint8_t serial_out[16], X509 **out);

/* Makes a DER certificate request for key; *der is OPENSSL_malloc'ed. */
int mamori_csr_create(EVP_PKEY *key, uint8_t **der, size_t *der_len);

/* Parses untrusted DER (at most MAMORI_MAX_CSR bytes), checks its signature,
 * and returns its public key, which must be Ed25519. */
int mamori_csr_parse(const uint8_t *der, size_t len, EVP_PKEY **pub_out);

/* SHA-256 of a certificate's DER encoding. */
int mamori_cert_fingerprint(X509 *cert, uint8_t out[MAMORI_SHA256_LEN]);

/* SHA-256 of an Ed25519 key's raw 32-byte public key. */
int mamori_pubkey_fingerprint(EVP_PKEY *key, uint8_t out[MAMORI_SHA256_LEN]);

/* The certificate's serial as 32 lowercase hex chars (serials mamori issues
 * are 16 bytes); out holds 33 bytes. */
int mamori_cert_serial_hex(X509 *cert, char out[33]);

/* The certificate's subject CN into out (NUL-terminated); fails when absent,
 * longer than outlen - 1, or holding a NUL. */
int mamori_cert_cn(X509 *cert, char *out, size_t outlen);

/* PEM files.  Private keys are written mode 0600, exclusively. */
int mamori_key_save(EVP_PKEY *key, const char *path);
int mamori_key_load(const char *path, EVP_PKEY **out);
int mamori_cert_save(X509 *cert, const char *path);
int mamori_cert_load(const char *path, X509 **out);

/* DER helpers; *der is OPENSSL_malloc'ed. */
int mamori_cert_to_der(X509 *cert, uint8_t **der, size_t *len);
int mamori_cert_from_der(const uint8_t *der, size_t len, X509 **out);

#endif
