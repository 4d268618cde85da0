/*
 * admin_content.h - admin commands for detection content and the
 * vulnerability report (admin_content.c), entries of admin.c's command
 * table.  Each returns the result object (a new reference) or NULL with
 * one line in why; docs/admin-protocol.md describes their arguments.
 */
#ifndef MAMORI_ADMIN_CONTENT_H
#define MAMORI_ADMIN_CONTENT_H

#include <stddef.h>

#include <jansson.h>

struct mamori_server;

json_t *mamori_admin_rules_add(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_admin_rules_remove(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_admin_intel_import(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_admin_intel_list(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_admin_intel_remove(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_admin_yara_add(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_admin_yara_list(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_admin_yara_remove(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_admin_vuln_import(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);
json_t *mamori_admin_vuln_report(struct mamori_server *srv, json_t *req,
    char *why, size_t whylen);

#endif
