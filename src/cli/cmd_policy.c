/*
 * cmd_policy.c - `mamori policy sign` and `mamori policy show`: the fleet
 * policy the owner key signs and every agent verifies (src/trust/policy.h).
 *
 * sign reads the JSON people write, refuses anything unknown with one line
 * naming it, and writes the SignedPolicy; it never overwrites a file.
 * show prints a signed policy after checking its signature against the
 * key inside it, and says which owner key that is: people must compare
 * that fingerprint with the one their agents pinned.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "admin_client.h"
#include "buf.h"
#include "cli.h"
#include "crypto.h"
#include "err.h"
#include "home.h"
#include "key.h"
#include "passphrase.h"
#include "pki.h"
#include "policy.h"
#include "table.h"
#include "task.h"
#include "util.h"
#include "wire.h"
#include "yara_rules.h"

#define POLICY_WHY_MAX 512

/*
 * Compiles each YARA set of a serialized PolicyBody alone, so the owner
 * learns before signing what agents would otherwise only report after
 * the policy reached them.  Prints every error; returns 0 when all
 * compile, CLI_EXIT_FAIL otherwise.
 */
static int
check_yara_sets(const struct mamori_buf *body)
{
	ProtobufCMessage *m = NULL;
	const Mamori__PolicyBody *b;
	struct mamori_yara_messages msgs;
	struct mamori_yara_source src;
	mamori_yara_rules_t *rules = NULL;
	char safe[CLI_MSG_MAX / 2];
	size_t i, j;
	int r = CLI_EXIT_FAIL, failed = 0;

	memset(&msgs, 0, sizeof(msgs));
	if (mamori_pb_decode(&mamori__policy_body__descriptor, body->data,
	    body->len, MAMORI_POLICY_DECODE_BUDGET, &m) != 0)
		return cli_fail("the policy body does not decode");
	b = (const Mamori__PolicyBody *)m;
	if (b->n_yara == 0) {
		r = 0;
		goto out;
	}
	if (mamori_yara_init() != 0) {
		cli_fail("libyara could not start");
		goto out;
	}
	for (i = 0; i < b->n_yara; i++) {
		src.name = b->yara[i]->name;
		src.text = b->yara[i]->source;
		src.len = strlen(b->yara[i]->source);
		if (mamori_yara_compile(&src, 1, &rules, &msgs) != 0) {
			failed++;
			for (j = 0; j < msgs.n; j++)
				if (!msgs.items[j].is_warning)
					cli_fail("YARA set %s line %d: %s",
					    b->yara[i]->name, msgs.items[j].line,
					    cli_safe(msgs.items[j].text, safe,
					    sizeof(safe)));
			if (msgs.errors == 0)
				cli_fail("YARA set %s does not compile",
				    b->yara[i]->name);
		}
		mamori_yara_rules_free(rules);
		rules = NULL;
		mamori_yara_messages_free(&msgs);
	}
	mamori_yara_finish();
	if (failed == 0)
		r = 0;
	else
		cli_fail("%d YARA set%s would not compile on the agents; fix "
		    "them (mamori yara check FILE) and sign again", failed,
		    failed == 1 ? "" : "s");
out:
	mamori_pb_free(m);
	return r;
}

int
cmd_policy_sign(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL, *owner_key = NULL, *out = NULL;
	const char *pass_file = NULL;
	int json = 0;
	const struct cli_option opts[] = {
		{"--owner-key", "FILE", &owner_key, NULL},
		{"--out", "FILE", &out, NULL},
		{"--passphrase-file", "FILE", &pass_file, NULL},
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct mamori_buf body, signed_policy;
	EVP_PKEY *owner = NULL;
	uint8_t fp[MAMORI_SHA256_LEN];
	char path[PATH_MAX], why[POLICY_WHY_MAX], fps[MAMORI_FP_STRLEN];
	char safe[CLI_MSG_MAX / 2], safe2[CLI_MSG_MAX / 2];
	int r, e;

	mamori_buf_init(&body, MAMORI_POLICY_MAX_BYTES);
	mamori_buf_init(&signed_policy, MAMORI_POLICY_MAX_BYTES);
	if ((r = cli_parse(ctx, argc, argv, opts, "POLICY.json", &file)) !=
	    CLI_CONTINUE)
		goto out;
	if (file == NULL || out == NULL || *out == '\0') {
		r = cli_usage_error(ctx, "policy sign needs POLICY.json and "
		    "--out FILE");
		goto out;
	}
	if (owner_key == NULL) {
		if (mamori_home_path(ctx->home, MAMORI_HOME_OWNER_KEY, path,
		    sizeof(path)) != 0) {
			r = cli_usage_error(ctx, "the --home path is too long");
			goto out;
		}
		owner_key = path;
	}
	if ((r = cli_key_load(owner_key, pass_file, &owner)) != 0)
		goto out;
	r = CLI_EXIT_FAIL;
	if (mamori_pubkey_fingerprint(owner, fp) != 0) {
		cli_fail("%s is not an Ed25519 key",
		    cli_safe(owner_key, safe, sizeof(safe)));
		goto out;
	}
	mamori_fingerprint_str(fp, fps);
	if (mamori_policy_from_json(file, fp, mamori_now(), &body, why,
	    sizeof(why)) != 0) {
		cli_fail("%s: %s", cli_safe(file, safe, sizeof(safe)),
		    cli_safe(why, safe2, sizeof(safe2)));
		goto out;
	}
	if (check_yara_sets(&body) != 0)
		goto out;
	if (mamori_policy_sign(body.data, body.len, owner, &signed_policy,
	    why, sizeof(why)) != 0) {
		cli_fail("cannot sign the policy: %s",
		    cli_safe(why, safe, sizeof(safe)));
		goto out;
	}
	if ((e = mamori_file_write(out, signed_policy.data, signed_policy.len,
	    0644, 1)) != 0) {
		cli_fail("cannot write %s: %s%s", cli_safe(out, safe,
		    sizeof(safe)), mamori_strerror(e), e == MAMORI_ERR_EXISTS ?
		    " (policy sign never overwrites a file)" : "");
		goto out;
	}
	if (json) {
		json_t *o = json_pack("{s:s, s:s}", "file", out,
		    "owner_fingerprint", fps);

		r = o != NULL ? cli_print_json(o) : cli_fail("out of memory");
		json_decref(o);
		goto out;
	}
	printf("Signed policy written to %s\nOwner key %s\n",
	    cli_safe(out, safe, sizeof(safe)), fps);
	r = fflush(stdout) == 0 ? CLI_EXIT_OK :
	    cli_fail("cannot write to standard output");
out:
	EVP_PKEY_free(owner);
	mamori_buf_free(&body);
	mamori_buf_free(&signed_policy);
	return r;
}

int
cli_print_yara_sets(const json_t *sets)
{
	static const char *const h[] = {"NAME", "BYTES", "SHA256"};
	struct cli_table t;
	const json_t *y;
	char bytes[32];
	size_t i;
	int r = CLI_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	if (json_array_size(sets) == 0) {
		printf("\nYARA sets: none\n");
		return fflush(stdout) == 0 ? CLI_EXIT_OK :
		    cli_fail("cannot write to standard output");
	}
	printf("\nYARA sets\n");
	if (cli_table_init(&t, 3, h) != 0) {
		cli_fail("out of memory");
		goto out;
	}
	t.max_width = 0;
	json_array_foreach(sets, i, y) {
		const char *cells[3];

		snprintf(bytes, sizeof(bytes), "%llu", cli_json_u64(y,
		    "bytes"));
		cells[0] = cli_json_str(y, "name");
		cells[1] = bytes;
		cells[2] = cli_json_str(y, "sha256");
		if (cli_table_add(&t, cells) != 0) {
			cli_fail("out of memory");
			goto out;
		}
	}
	if (cli_table_print(&t, stdout, 2) != 0 || fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
out:
	cli_table_free(&t);
	return r;
}

/* The policy as JSON (a new reference, NULL when out of memory). */
static json_t *
policy_json(const struct mamori_policy *p)
{
	const Mamori__PolicyBody *b = p->body;
	json_t *o, *admins, *groups, *yara;
	char fps[MAMORI_FP_STRLEN], hex[MAMORI_SHA256_LEN * 2 + 1];
	uint8_t fp[MAMORI_SHA256_LEN];
	size_t i, j;

	mamori_fingerprint_str(p->owner_fp, fps);
	o = json_pack("{s:I, s:I, s:s, s:b, s:{s:I, s:I}, s:[], s:[]}",
	    "version", (json_int_t)b->version,
	    "issued_at", (json_int_t)b->issued_at,
	    "owner_fingerprint", fps,
	    "observe_from_server", (int)b->observe_from_server,
	    "quorum", "collect", (json_int_t)b->quorum_collect,
	    "change", (json_int_t)b->quorum_change,
	    "admins", "groups");
	if (o == NULL)
		return NULL;
	if ((yara = json_array()) == NULL ||
	    json_object_set_new(o, "yara", yara) != 0)
		goto fail;
	for (i = 0; i < b->n_yara; i++) {
		size_t len = strlen(b->yara[i]->source);

		mamori_sha256(b->yara[i]->source, len, fp);
		mamori_hex(fp, sizeof(fp), hex);
		if (json_array_append_new(yara, json_pack("{s:s, s:I, s:s}",
		    "name", b->yara[i]->name, "bytes", (json_int_t)len,
		    "sha256", hex)) != 0)
			goto fail;
	}
	admins = json_object_get(o, "admins");
	groups = json_object_get(o, "groups");
	for (i = 0; i < b->n_admins; i++) {
		mamori_ed25519_fingerprint(b->admins[i]->public_key.data, fp);
		mamori_fingerprint_str(fp, fps);
		if (json_array_append_new(admins, json_pack("{s:s, s:s, s:s}",
		    "id", b->admins[i]->id, "name", b->admins[i]->name,
		    "fingerprint", fps)) != 0)
			goto fail;
	}
	for (i = 0; i < b->n_groups; i++) {
		const Mamori__PolicyGroup *g = b->groups[i];
		json_t *gj = json_pack("{s:s, s:[], s:[]}", "name", g->name,
		    "agents", "accept");

		if (json_array_append_new(groups, gj) != 0)
			goto fail;
		for (j = 0; j < g->n_agent_ids; j++)
			if (json_array_append_new(json_object_get(gj, "agents"),
			    json_string(g->agent_ids[j])) != 0)
				goto fail;
		for (j = 0; j < g->n_accepted_types; j++)
			if (json_array_append_new(json_object_get(gj, "accept"),
			    json_string(mamori_task_type_name(
			    (int)g->accepted_types[j]))) != 0)
				goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

static int
print_policy(const json_t *o)
{
	struct cli_table t;
	const json_t *a, *g, *v;
	char ts[32], num[64], quorum[64], count[32], accept[1024];
	size_t i, j, used;
	int r = CLI_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	snprintf(num, sizeof(num), "%llu", cli_json_u64(o, "version"));
	snprintf(quorum, sizeof(quorum), "collect %llu, change %llu",
	    cli_json_u64(json_object_get(o, "quorum"), "collect"),
	    cli_json_u64(json_object_get(o, "quorum"), "change"));
	{
		const char *rows[][2] = {
			{"Version", num},
			{"Issued", mamori_time_str(cli_json_u64(o, "issued_at"),
			    ts)},
			{"Owner key", cli_json_str(o, "owner_fingerprint")},
			{"Observe from server",
			    json_is_true(json_object_get(o,
			    "observe_from_server")) ? "yes" : "no"},
			{"Quorum", quorum},
		};

		if (cli_table_init(&t, 2, NULL) != 0)
			goto nomem;
		t.max_width = 0;
		for (i = 0; i < 5; i++)
			if (cli_table_add(&t, rows[i]) != 0)
				goto nomem;
		if (cli_table_print(&t, stdout, 0) != 0)
			goto io;
		cli_table_free(&t);
	}
	printf("\nAdmins\n");
	{
		static const char *const h[] = {"ID", "NAME", "FINGERPRINT"};

		if (cli_table_init(&t, 3, h) != 0)
			goto nomem;
		t.max_width = 0;
		json_array_foreach(json_object_get(o, "admins"), i, a) {
			const char *cells[] = {cli_json_str(a, "id"),
			    cli_json_str(a, "name"),
			    cli_json_str(a, "fingerprint")};

			if (cli_table_add(&t, cells) != 0)
				goto nomem;
		}
		if (cli_table_print(&t, stdout, 2) != 0)
			goto io;
		cli_table_free(&t);
	}
	printf("\nGroups\n");
	{
		static const char *const h[] = {"NAME", "AGENTS", "ACCEPTS"};

		if (cli_table_init(&t, 3, h) != 0)
			goto nomem;
		t.max_width = 0;
		json_array_foreach(json_object_get(o, "groups"), i, g) {
			const char *cells[3];

			snprintf(count, sizeof(count), "%zu",
			    json_array_size(json_object_get(g, "agents")));
			accept[0] = '\0';
			used = 0;
			json_array_foreach(json_object_get(g, "accept"), j, v) {
				int n = snprintf(accept + used,
				    sizeof(accept) - used, "%s%s",
				    used > 0 ? " " : "", json_string_value(v));

				if (n < 0 || (size_t)n >= sizeof(accept) - used)
					break;
				used += (size_t)n;
			}
			cells[0] = cli_json_str(g, "name");
			cells[1] = count;
			cells[2] = accept;
			if (cli_table_add(&t, cells) != 0)
				goto nomem;
		}
		if (cli_table_print(&t, stdout, 2) != 0)
			goto io;
	}
	r = cli_print_yara_sets(json_object_get(o, "yara"));
	goto out;
nomem:
	r = cli_fail("out of memory");
	goto out;
io:
	r = cli_fail("cannot write to standard output");
out:
	cli_table_free(&t);
	return r;
}

int
cmd_policy_show(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *file = NULL;
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct mamori_policy *p = NULL;
	struct mamori_decision d;
	struct mamori_buf b;
	json_t *o = NULL;
	char safe[CLI_MSG_MAX / 2], safe2[CLI_MSG_MAX / 2];
	int r, e;

	mamori_buf_init(&b, MAMORI_POLICY_MAX_BYTES);
	if ((r = cli_parse(ctx, argc, argv, opts, "FILE", &file)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (file == NULL) {
		r = cli_usage_error(ctx, "policy show needs a policy file");
		goto out;
	}
	if ((e = mamori_buf_read_file(&b, file)) != 0) {
		cli_fail("cannot read %s: %s", cli_safe(file, safe,
		    sizeof(safe)), mamori_strerror(e));
		goto out;
	}
	if (mamori_policy_inspect(b.data, b.len, &p, &d) != 0) {
		cli_fail("%s is not a valid signed policy: %s (%s)",
		    cli_safe(file, safe, sizeof(safe)),
		    cli_safe(d.detail, safe2, sizeof(safe2)),
		    mamori_decision_name(d.reason));
		goto out;
	}
	if ((o = policy_json(p)) == NULL) {
		cli_fail("out of memory");
		goto out;
	}
	r = json ? cli_print_json(o) : print_policy(o);
out:
	json_decref(o);
	mamori_policy_free(p);
	mamori_buf_free(&b);
	return r;
}
