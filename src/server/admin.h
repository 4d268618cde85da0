/*
 * admin.h - the admin socket's request decoder, exposed for its fuzz target.
 * The protocol is described in docs/admin-protocol.md.
 */
#ifndef MAMORI_ADMIN_H
#define MAMORI_ADMIN_H

#include <stddef.h>

#include <jansson.h>

/* A request carries at most one content file (content.h) as JSON text, or
 * a signed policy in base64url (src/trust/policy.h). */
#define MAMORI_ADMIN_MAX_REQUEST (16 * 1024 * 1024)

struct mamori_admin_cmd;

/*
 * Parses one request line (without its newline): a JSON object whose "cmd"
 * names a known command and whose other members are exactly that command's
 * arguments with the right types.  On success *req is a new reference and
 * *cmd the command; on failure why holds one line for the client.
 */
int mamori_admin_request_parse(const char *data, size_t len, json_t **req,
    const struct mamori_admin_cmd **cmd, char *why, size_t whylen);

/* The command's name ("token.create"). */
const char *mamori_admin_cmd_name(const struct mamori_admin_cmd *cmd);

struct mamori_server;
struct mamori_agent_rec;

/* Finds the one agent matching an id, an id prefix of at least 4
 * characters, or a hostname; on failure why says so. */
int mamori_admin_resolve_agent(struct mamori_server *srv, const char *spec,
    struct mamori_agent_rec *out, char *why, size_t whylen);

#endif
