/*
 * cmd_token.c - `mamori token create|list|revoke`: enrollment tokens.
 *
 * The enrollment string is a secret: it is printed once, alone on the last
 * line of `token create` so scripts can take it with `tail -n 1`, and
 * nowhere else.  It is checked to be a well-formed enrollment string before
 * it is printed, so a confused server cannot make this command print
 * anything else there.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin_client.h"
#include "cli.h"
#include "enroll_string.h"
#include "err.h"
#include "table.h"
#include "util.h"

#define TOKEN_MIN_USES 1
#define TOKEN_MAX_USES 1000000
#define TOKEN_MIN_TTL 1                 /* seconds */
#define TOKEN_MAX_TTL (30 * 86400)      /* as the server enforces */
#define TOKEN_LABEL_MAX 256             /* bytes */
#define TOKEN_ID_SHORT 12               /* hex shown in lists */
#define TOKEN_ID_PREFIX_MIN 4
#define TOKEN_ID_HEX (2 * MAMORI_TOKEN_ID_LEN)

static int
all_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		    (*s >= 'A' && *s <= 'F')))
			return 0;
	return 1;
}

/* Appends " (in 3d 4h)" or " (passed)" to a time for people. */
static const char *
time_with_span(unsigned long long t, char *out, size_t outlen)
{
	char ts[32], span[32];
	uint64_t now = mamori_now();

	mamori_time_str(t, ts);
	if (t == 0)
		snprintf(out, outlen, "%s", ts);
	else if (t > now)
		snprintf(out, outlen, "%s (in %s)", ts,
		    mamori_span_str(t - now, span));
	else
		snprintf(out, outlen, "%s (passed)", ts);
	return out;
}

int
cmd_token_create(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *uses_s = NULL, *ttl_s = NULL, *server = NULL;
	const char *label = NULL;
	int json = 0;
	const struct cli_option opts[] = {
		{"--uses", "N", &uses_s, NULL},
		{"--ttl", "DURATION", &ttl_s, NULL},
		{"--server", "HOST:PORT", &server, NULL},
		{"--label", "TEXT", &label, NULL},
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct mamori_enroll_info info;
	char host[MAMORI_HOST_MAX + 1], safe[CLI_MSG_MAX], when[96];
	char ca_fp[MAMORI_FP_STRLEN];
	uint64_t uses = 1, ttl = 0;
	uint16_t port;
	json_t *req = NULL, *res = NULL;
	const char *string;
	int r = CLI_EXIT_FAIL;

	memset(&info, 0, sizeof(info));
	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (uses_s != NULL && mamori_parse_u64(uses_s, TOKEN_MIN_USES,
	    TOKEN_MAX_USES, &uses) != 0) {
		r = cli_usage_error(ctx, "--uses must be a number from %d to %d",
		    TOKEN_MIN_USES, TOKEN_MAX_USES);
		goto out;
	}
	if (ttl_s != NULL && (mamori_parse_duration(ttl_s, &ttl) != 0 ||
	    ttl < TOKEN_MIN_TTL || ttl > TOKEN_MAX_TTL)) {
		r = cli_usage_error(ctx, "--ttl must be a duration from 1s to "
		    "30d, such as 90m, 24h or 7d");
		goto out;
	}
	if (server != NULL && mamori_parse_hostport(server, host, sizeof(host),
	    &port) != 0) {
		r = cli_usage_error(ctx, "--server must be HOST:PORT or "
		    "[V6ADDR]:PORT");
		goto out;
	}
	if (label != NULL && strlen(label) > TOKEN_LABEL_MAX) {
		r = cli_usage_error(ctx, "--label is longer than %d bytes",
		    TOKEN_LABEL_MAX);
		goto out;
	}
	if ((req = json_pack("{s:s, s:I}", "cmd", "token.create", "uses",
	    (json_int_t)uses)) == NULL)
		goto nomem;
	if (ttl_s != NULL &&
	    json_object_set_new(req, "ttl", json_integer((json_int_t)ttl)) != 0)
		goto nomem;
	if (server != NULL &&
	    json_object_set_new(req, "server", json_string(server)) != 0)
		goto nomem;
	if (label != NULL) {
		json_t *l = json_string(label);

		if (l == NULL) {
			r = cli_usage_error(ctx, "--label must be UTF-8 text");
			goto out;
		}
		if (json_object_set_new(req, "label", l) != 0)
			goto nomem;
	}
	if (cli_admin_call(ctx, req, &res) != 0)
		goto out;
	if (json) {
		r = cli_print_json(res);
		goto out;
	}
	string = cli_json_str(res, "string");
	if (mamori_enroll_string_decode(string, &info) != 0) {
		cli_fail("mamorid answered without a valid enrollment string");
		goto out;
	}
	mamori_fingerprint_str(info.ca_fp, ca_fp);
	printf("Token         %s\n", cli_safe(cli_json_str(res, "id"), safe,
	    sizeof(safe)));
	if (label != NULL)
		printf("Label         %s\n", cli_safe(label, safe, sizeof(safe)));
	printf("Uses          %llu\n", cli_json_u64(res, "uses_max"));
	printf("Expires       %s\n", time_with_span(cli_json_u64(res,
	    "expires_at"), when, sizeof(when)));
	printf("Server        %s\n", cli_safe(info.server, safe, sizeof(safe)));
	printf("CA            %s\n", ca_fp);
	printf("\nEnrollment string (a secret: give it only to the endpoints "
	    "to enroll):\n");
	/* Decoded above, so it is base64url with its prefix: safe to print. */
	printf("%s\n", string);
	if (fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	OPENSSL_cleanse(&info, sizeof(info));
	json_decref(req);
	json_decref(res);
	return r;
}

int
cmd_token_list(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char *const headers[] = {"ID", "LABEL", "STATE", "USES",
	    "CREATED", "EXPIRES"};
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	struct cli_table t;
	json_t *res = NULL, *tok;
	char id[TOKEN_ID_SHORT + 1], uses[48], created[32], expires[32];
	size_t i;
	int r = CLI_EXIT_FAIL;

	memset(&t, 0, sizeof(t));
	if ((r = cli_parse(ctx, argc, argv, opts, NULL, NULL)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	if (cli_admin_cmd(ctx, "token.list", &res) != 0)
		goto out;
	if (json) {
		r = cli_print_json(res);
		goto out;
	}
	if (!json_is_array(res)) {
		cli_fail("mamorid answered token.list without a list");
		goto out;
	}
	if (cli_table_init(&t, 6, headers) != 0)
		goto nomem;
	json_array_foreach(res, i, tok) {
		const char *cells[6];

		mamori_strlcpy(id, cli_json_str(tok, "id"), sizeof(id));
		snprintf(uses, sizeof(uses), "%llu/%llu",
		    cli_json_u64(tok, "uses"), cli_json_u64(tok, "uses_max"));
		cells[0] = id;
		cells[1] = cli_json_str(tok, "label");
		cells[2] = cli_json_str(tok, "state");
		cells[3] = uses;
		cells[4] = mamori_time_str(cli_json_u64(tok, "created_at"),
		    created);
		cells[5] = mamori_time_str(cli_json_u64(tok, "expires_at"),
		    expires);
		if (cli_table_add(&t, cells) != 0)
			goto nomem;
	}
	if (cli_table_print(&t, stdout, 0) != 0 || fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
	goto out;
nomem:
	r = cli_fail("out of memory");
out:
	cli_table_free(&t);
	json_decref(res);
	return r;
}

int
cmd_token_revoke(struct cli_ctx *ctx, int argc, char **argv)
{
	int json = 0;
	const struct cli_option opts[] = {
		{"--json", NULL, NULL, &json},
		{NULL, NULL, NULL, NULL},
	};
	const char *id = NULL;
	json_t *req = NULL, *res = NULL;
	char safe[CLI_MSG_MAX];
	size_t n;
	int r = CLI_EXIT_FAIL;

	if ((r = cli_parse(ctx, argc, argv, opts, "ID", &id)) !=
	    CLI_CONTINUE)
		goto out;
	r = CLI_EXIT_FAIL;
	n = strlen(id);
	if (n < TOKEN_ID_PREFIX_MIN || n > TOKEN_ID_HEX || !all_hex(id)) {
		r = cli_usage_error(ctx, "a token ID is %d to %d hex characters",
		    TOKEN_ID_PREFIX_MIN, TOKEN_ID_HEX);
		goto out;
	}
	if ((req = json_pack("{s:s, s:s}", "cmd", "token.revoke", "id",
	    id)) == NULL) {
		cli_fail("out of memory");
		goto out;
	}
	if (cli_admin_call(ctx, req, &res) != 0)
		goto out;
	if (json) {
		r = cli_print_json(res);
		goto out;
	}
	printf("revoked token %s\n", cli_safe(*cli_json_str(res, "id") !=
	    '\0' ? cli_json_str(res, "id") : id, safe, sizeof(safe)));
	if (fflush(stdout) != 0) {
		cli_fail("cannot write to standard output");
		goto out;
	}
	r = CLI_EXIT_OK;
out:
	json_decref(req);
	json_decref(res);
	return r;
}
