/*
 * passphrase.h - where the CLI gets the passphrase of an admin key: a file
 * named with --passphrase-file, the environment variable
 * MAMORI_PASSPHRASE, or a prompt on the terminal with echo off.
 */
#ifndef MAMORI_CLI_PASSPHRASE_H
#define MAMORI_CLI_PASSPHRASE_H

#include <stddef.h>

#include "key.h"

#define CLI_PASSPHRASE_ENV "MAMORI_PASSPHRASE"

struct cli_passphrase {
	char text[MAMORI_PASSPHRASE_MAX + 2];
	size_t len;
};

/*
 * Gets a passphrase into pp: from file when not NULL (its first line),
 * else from the environment, else from /dev/tty with prompt (asked twice
 * and compared when confirm is set).  Returns 0, or prints one line saying
 * what is wrong and returns an exit code.  Wipe pp with
 * cli_passphrase_wipe.
 */
int cli_passphrase_get(const char *file, const char *prompt, int confirm,
    struct cli_passphrase *pp);

void cli_passphrase_wipe(struct cli_passphrase *pp);

/*
 * Loads a private key file, asking for its passphrase (as above) only when
 * the file is encrypted.  Prints one line and returns an exit code on
 * failure; *out is the caller's.
 */
int cli_key_load(const char *path, const char *pass_file, EVP_PKEY **out);

#endif
