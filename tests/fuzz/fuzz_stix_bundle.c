/*
 * fuzz_stix_bundle.c - libFuzzer target for STIX bundles: the bytes are read
 * as a bundle, every supported indicator goes into a fresh matcher set, and
 * a fixed event (a hash, an address, a host, a URL) is matched against it.
 * Must never keep state between inputs.
 */
#include <stddef.h>
#include <stdint.h>

#include "intel.h"
#include "stix_bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 1};
	struct mamori_stix_bundle *b = NULL;
	struct mamori_intel *set = NULL;
	struct mamori_intel_match m[8];
	struct mamori_intel_obs obs = {0};
	char err[256];
	size_t n;

	if (mamori_stix_bundle_parse((const char *)data, size, "fuzz", &b,
	    err, sizeof(err)) != 0)
		return 0;
	if (mamori_intel_new(&set) != 0)
		goto out;
	(void)mamori_intel_add_bundle(set, b, NULL);
	obs.sha256 =
	    "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c";
	obs.md5 = "00112233445566778899aabbccddeeff";
	obs.ip = "10.0.0.0";
	obs.host = "www.webserver.dynssl.com";
	obs.url = "http://x4z9arb.cn/4712/";
	(void)mamori_intel_match(set, &obs, m, 8, &n);
	obs.ip = NULL;
	obs.ip_bytes = v6;
	obs.ip_len = sizeof(v6);
	(void)mamori_intel_match(set, &obs, m, 8, &n);
out:
	mamori_intel_free(set);
	mamori_stix_bundle_free(b);
	return 0;
}
