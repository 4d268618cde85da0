/*
 * fuzz_csr.c - libFuzzer target for the certificate request an
 * unauthenticated agent sends when it enrolls (mamori_csr_parse in
 * src/common/pki.c).
 *
 * Whatever parses must hold an Ed25519 key whose fingerprint can be taken;
 * anything else aborts.  OpenSSL does the DER work: this target checks that
 * mamori's limits and checks around it hold, and that nothing leaks.
 */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t fp[MAMORI_SHA256_LEN];
	EVP_PKEY *pub = NULL;

	if (mamori_csr_parse(data, size, &pub) != 0) {
		if (pub != NULL)
			abort();
		return 0;
	}
	if (size > MAMORI_MAX_CSR || EVP_PKEY_get_id(pub) != EVP_PKEY_ED25519)
		abort();
	if (mamori_pubkey_fingerprint(pub, fp) != 0)
		abort();
	EVP_PKEY_free(pub);
	return 0;
}
