/*
 * server_run.h - entry point from mamorid.c into the server: runs the event
 * loop until SIGINT or SIGTERM.  srv must have its store, CA, home, listen
 * address and heartbeat set.  Returns 0 after a clean shutdown.
 */
#ifndef MAMORI_SERVER_RUN_H
#define MAMORI_SERVER_RUN_H

#include "server.h"

int mamori_server_run(struct mamori_server *srv, X509 *server_cert,
    EVP_PKEY *server_key);

#endif
