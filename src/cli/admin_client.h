/*
 * admin_client.h - one request to mamorid over its admin socket
 * (docs/admin-protocol.md): connect to HOME/admin.sock, send one JSON line,
 * read one JSON line back, within a size limit and a time limit.
 */
#ifndef MAMORI_CLI_ADMIN_CLIENT_H
#define MAMORI_CLI_ADMIN_CLIENT_H

#include <stdint.h>

#include <jansson.h>

#include "cli.h"

#define CLI_ADMIN_MAX_REQUEST (16 * 1024 * 1024) /* MAMORI_ADMIN_MAX_REQUEST */
#define CLI_ADMIN_MAX_RESPONSE (64 * 1024 * 1024) /* bytes of one answer */
#define CLI_ADMIN_TIMEOUT_MS (30 * 1000)          /* whole exchange */
#define CLI_ADMIN_READ_CHUNK (64 * 1024)

/*
 * Sends request (borrowed; must hold "cmd") to the server of ctx->home and
 * returns the "result" of a successful answer in *result (a new reference
 * the caller releases with json_decref; JSON null when the answer had
 * none).  On any failure, including an answer with "ok": false, prints one
 * line to stderr saying why and returns a MAMORI_ERR_* code; *result is
 * then NULL.
 */
int cli_admin_call(const struct cli_ctx *ctx, json_t *request,
    json_t **result);

/* cli_admin_call for a command without arguments: {"cmd": cmd}. */
int cli_admin_cmd(const struct cli_ctx *ctx, const char *cmd,
    json_t **result);

/*
 * A request answered line by line (docs/admin-protocol.md, "Streams"):
 * fn gets the first line's result (kind 0), each following line (kind 1),
 * and the closing summary (kind 2; a one-line answer has none).  Returns
 * 0, what fn returned, or a MAMORI_ERR_* code after printing why.
 */
typedef int (*cli_stream_fn)(void *ud, const json_t *v, int kind);
int cli_admin_stream(const struct cli_ctx *ctx, json_t *request,
    uint64_t timeout_ms, cli_stream_fn fn, void *ud);

/* Convenience getters for answers: a missing or mistyped member gives ""
 * or 0, never a failure, so a newer server's answers still print. */
const char *cli_json_str(const json_t *obj, const char *key);
unsigned long long cli_json_u64(const json_t *obj, const char *key);
int cli_json_bool(const json_t *obj, const char *key);

/* Prints v to stdout as indented JSON with non-ASCII escaped (\uXXXX), so
 * no byte of it can drive a terminal.  Returns an exit code. */
int cli_print_json(const json_t *v);

/* Prints the YARA sets of a policy (a JSON array of {name, bytes, sha256})
 * as a table (cmd_policy.c); returns a CLI_EXIT_* code. */
int cli_print_yara_sets(const json_t *sets);

#endif
