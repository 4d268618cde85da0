/*
 * gen_trust_corpus.c - writes the seed corpora of fuzz_signed_task,
 * fuzz_signed_policy (signed with the fixed keys of trust_fleet.h) and
 * fuzz_seen_set:
 *
 *   gen_trust_corpus tests/fuzz/corpus
 *
 * Ed25519 is deterministic, so running it again writes the same files.
 * Seeds cover every task type and each decision the fuzzers should reach
 * past the signature check; they are committed, the program is kept to
 * renew them when the schema changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "trust_fleet.h"

static const char *corpus_dir;

static void
write_seed(const char *target, const char *name, const struct mamori_buf *b)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s/%s", corpus_dir, target, name);
	if (mamori_file_write(path, b->data, b->len, 0644, 0) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		exit(1);
	}
}

/* Signs the task in b with the key of seed byte as signer. */
static void
sign_as(struct mamori_buf *b, const char *signer, uint8_t seed)
{
	struct mamori_buf out;
	EVP_PKEY *k = tf_key(seed);
	char why[256];

	mamori_buf_init(&out, MAMORI_TASK_MAX_BYTES);
	if (mamori_task_sign(b->data, b->len, signer, k, &out, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, "sign: %s\n", why);
		exit(1);
	}
	mamori_buf_reset(b);
	if (mamori_buf_append(b, out.data, out.len) != 0)
		abort();
	mamori_buf_free(&out);
	EVP_PKEY_free(k);
}

static void
task(const char *name, int type, const char *agent, const char *group,
    uint64_t not_before, uint64_t not_after, const char *signers)
{
	Mamori__TaskBody b = MAMORI__TASK_BODY__INIT;
	Mamori__QueryParams q = MAMORI__QUERY_PARAMS__INIT;
	Mamori__ReadFileParams rf = MAMORI__READ_FILE_PARAMS__INIT;
	Mamori__HashPathParams hp = MAMORI__HASH_PATH_PARAMS__INIT;
	Mamori__YaraScanParams ys = MAMORI__YARA_SCAN_PARAMS__INIT;
	Mamori__RunCommandParams rc = MAMORI__RUN_COMMAND_PARAMS__INIT;
	Mamori__RunScriptParams rs = MAMORI__RUN_SCRIPT_PARAMS__INIT;
	Mamori__PackageParams pk = MAMORI__PACKAGE_PARAMS__INIT;
	Mamori__UsbDeviceParams usb = MAMORI__USB_DEVICE_PARAMS__INIT;
	Mamori__KillProcessParams kp = MAMORI__KILL_PROCESS_PARAMS__INIT;
	Mamori__HostIsolationParams hi = MAMORI__HOST_ISOLATION_PARAMS__INIT;
	static char *argv[] = {"/usr/bin/systemctl", "restart", "nginx"};
	char *agents[1], *groups[1], why[256];
	uint8_t id[MAMORI_TASK_ID_LEN], digest[MAMORI_SHA256_LEN];
	struct mamori_buf out;
	const char *s;

	mamori_sha256(name, strlen(name), digest);
	memcpy(id, digest, sizeof(id));
	b.format_version = MAMORI_TASK_FORMAT;
	b.task_id.data = id;
	b.task_id.len = sizeof(id);
	b.type = (Mamori__TaskType)type;
	b.params_case = mamori_task_params_case(type);
	q.sql = "SELECT name, version FROM packages WHERE name LIKE 'open%'";
	rf.path = "/etc/os-release";
	rf.max_bytes = 65536;
	hp.path = "/usr/bin";
	ys.path = "/home";
	rc.n_argv = 3;
	rc.argv = argv;
	rc.timeout_seconds = 60;
	rc.output_limit = 1 << 20;
	rs.interpreter = "/bin/sh";
	rs.body = "echo hello\nuptime\n";
	pk.name = "openssh-server";
	usb.vendor_id = 0x0781;
	usb.product_id = 0x5567;
	usb.serial = "4C530001";
	kp.pid = 4242;
	switch (b.params_case) {
	case MAMORI__TASK_BODY__PARAMS_QUERY: b.query = &q; break;
	case MAMORI__TASK_BODY__PARAMS_READ_FILE: b.read_file = &rf; break;
	case MAMORI__TASK_BODY__PARAMS_HASH_PATH: b.hash_path = &hp; break;
	case MAMORI__TASK_BODY__PARAMS_YARA_SCAN: b.yara_scan = &ys; break;
	case MAMORI__TASK_BODY__PARAMS_RUN_COMMAND: b.run_command = &rc; break;
	case MAMORI__TASK_BODY__PARAMS_RUN_SCRIPT: b.run_script = &rs; break;
	case MAMORI__TASK_BODY__PARAMS_PACKAGE_INSTALL:
		b.package_install = &pk;
		break;
	case MAMORI__TASK_BODY__PARAMS_PACKAGE_REMOVE:
		b.package_remove = &pk;
		break;
	case MAMORI__TASK_BODY__PARAMS_USB_BLOCK: b.usb_block = &usb; break;
	case MAMORI__TASK_BODY__PARAMS_USB_ALLOW: b.usb_allow = &usb; break;
	case MAMORI__TASK_BODY__PARAMS_KILL_PROCESS:
		b.kill_process = &kp;
		break;
	case MAMORI__TASK_BODY__PARAMS_ISOLATE_HOST:
		b.isolate_host = &hi;
		break;
	case MAMORI__TASK_BODY__PARAMS_RELEASE_HOST:
		b.release_host = &hi;
		break;
	default: abort();
	}
	if (agent != NULL) {
		agents[0] = (char *)(uintptr_t)agent;
		b.n_target_agents = 1;
		b.target_agents = agents;
	}
	if (group != NULL) {
		groups[0] = (char *)(uintptr_t)group;
		b.n_target_groups = 1;
		b.target_groups = groups;
	}
	b.not_before = not_before;
	b.not_after = not_after;
	b.created_by = "alice";
	mamori_buf_init(&out, MAMORI_TASK_MAX_BYTES);
	if (mamori_task_encode_unsigned(&b, &out, why, sizeof(why)) != 0) {
		fprintf(stderr, "%s: %s\n", name, why);
		exit(1);
	}
	/* signers: a letter per signature, a b c = alice bob carol, m =
	 * "mallory", a key the policy does not name. */
	for (s = signers; *s != '\0'; s++)
		if (*s == 'm')
			sign_as(&out, "mallory", 9);
		else
			sign_as(&out, tf_ids[*s - 'a'],
			    (uint8_t)(2 + (*s - 'a')));
	write_seed("signed_task", name, &out);
	mamori_buf_free(&out);
}

int
main(int argc, char **argv)
{
	const uint64_t nb = TF_NOW - 60, na = TF_NOW + 3600;
	struct mamori_buf p;
	int t;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_trust_corpus CORPUS_DIR\n");
		return 2;
	}
	corpus_dir = argv[1];
	task("query_unsigned", 1, TF_AGENT, NULL, nb, na, "");
	task("read_file_alice", 2, TF_AGENT, NULL, nb, na, "a");
	task("read_file_group", 2, NULL, "web", nb, na, "b");
	task("read_file_unsigned", 2, TF_AGENT, NULL, nb, na, "");
	task("read_file_mallory", 2, TF_AGENT, NULL, nb, na, "m");
	task("read_file_other_agent", 2, "agent-2", NULL, nb, na, "a");
	task("read_file_expired", 2, TF_AGENT, NULL, TF_NOW - 7200,
	    TF_NOW - 3600, "a");
	task("read_file_future", 2, TF_AGENT, NULL, TF_NOW + 3600,
	    TF_NOW + 7200, "a");
	task("run_command_quorum", 5, TF_AGENT, NULL, nb, na, "ab");
	task("run_command_one", 5, TF_AGENT, NULL, nb, na, "c");
	for (t = 3; t <= 13; t++) {
		char name[64];

		if (t == 5)
			continue;
		snprintf(name, sizeof(name), "%s_signed",
		    mamori_task_type_name(t));
		task(name, t, TF_AGENT, "web", nb, na, "abc");
	}
	mamori_buf_init(&p, MAMORI_POLICY_MAX_BYTES);
	tf_signed_policy(1, &p);
	write_seed("signed_policy", "v1", &p);
	mamori_buf_reset(&p);
	tf_signed_policy(7, &p);
	write_seed("signed_policy", "v7", &p);
	{
		/* YARA sets: one that compiles, one that does not (only the
		 * agent compiles; the policy checks bounds and UTF-8). */
		Mamori__PolicyYaraSet y[2], *ys[2];

		mamori__policy_yara_set__init(&y[0]);
		mamori__policy_yara_set__init(&y[1]);
		y[0].name = "marker.yar";
		y[0].source = "rule marker { strings: $a = \"MAMORI\" "
		    "condition: $a }";
		y[1].name = "broken.yar";
		y[1].source = "// \xe5\xae\x88\xe3\x82\x8a\nrule x {";
		ys[0] = &y[0];
		ys[1] = &y[1];
		mamori_buf_reset(&p);
		tf_signed_policy_yara(3, ys, 2, &p);
		write_seed("signed_policy", "v3_yara", &p);
	}
	mamori_buf_free(&p);
	{
		struct mamori_seen_set *seen = NULL;
		uint8_t id[MAMORI_SEEN_ID_LEN];
		char path[1024];
		int i;

		snprintf(path, sizeof(path), "%s/seen_set/three", corpus_dir);
		unlink(path);
		if (mamori_seen_open(path, TF_NOW, &seen) != 0)
			abort();
		for (i = 0; i < 3; i++) {
			memset(id, 0x30 + i, sizeof(id));
			if (mamori_seen_add(seen, id, TF_NOW + 60 * (uint64_t)i,
			    TF_NOW) != 0)
				abort();
		}
		mamori_seen_free(seen);
		snprintf(path, sizeof(path), "%s/seen_set/stale", corpus_dir);
		unlink(path);
		if (mamori_seen_open(path, TF_NOW, &seen) != 0)
			abort();
		memset(id, 0x41, sizeof(id));
		/* One entry long past its window, kept until the next add. */
		if (mamori_seen_add(seen, id, 1, TF_NOW) != 0 ||
		    mamori_seen_add(seen, id, 1, TF_NOW) != MAMORI_ERR_EXISTS)
			abort();
		mamori_seen_free(seen);
	}
	return 0;
}
