/*
 * passphrase.c - passphrases for admin keys (see passphrase.h).
 *
 * A passphrase is kept in one fixed buffer and wiped after use; it is
 * never printed, logged or put in a message.  The prompt reads from the
 * terminal itself, not standard input, so a piped task file can never be
 * taken for a passphrase.
 */
#include "passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "cli.h"
#include "err.h"

void
cli_passphrase_wipe(struct cli_passphrase *pp)
{
	OPENSSL_cleanse(pp, sizeof(*pp));
}

/* Takes the first line of n bytes at p (without "\n" or "\r\n"). */
static int
take_line(const char *p, size_t n, struct cli_passphrase *pp)
{
	const char *nl = memchr(p, '\n', n);

	if (nl != NULL)
		n = (size_t)(nl - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0 || n > MAMORI_PASSPHRASE_MAX || memchr(p, 0, n) != NULL)
		return MAMORI_ERR_INVALID;
	memcpy(pp->text, p, n);
	pp->text[n] = '\0';
	pp->len = n;
	return 0;
}

/* Reads one line from the terminal with echo off. */
static int
tty_read(int fd, const char *prompt, struct cli_passphrase *pp)
{
	struct termios old, quiet;
	char buf[MAMORI_PASSPHRASE_MAX + 2];
	size_t n = 0;
	ssize_t got;
	char c;
	int r = MAMORI_ERR_IO, restored = 0;

	if (tcgetattr(fd, &old) != 0)
		return MAMORI_ERR_IO;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (write(fd, prompt, strlen(prompt)) < 0 ||
	    tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
		goto out;
	for (;;) {
		got = read(fd, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || c == '\n')
			break;
		if (n >= sizeof(buf) - 1) {
			r = MAMORI_ERR_TOO_LARGE;
			goto out;
		}
		buf[n++] = c;
	}
	r = take_line(buf, n, pp);
out:
	restored = tcsetattr(fd, TCSAFLUSH, &old) == 0;
	if (write(fd, "\n", 1) < 0 || !restored)
		r = r == 0 ? MAMORI_ERR_IO : r;
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

int
cli_passphrase_get(const char *file, const char *prompt, int confirm,
    struct cli_passphrase *pp)
{
	struct cli_passphrase again;
	struct mamori_buf b;
	const char *env;
	char safe[CLI_MSG_MAX / 2];
	int fd = -1, r = CLI_EXIT_FAIL, e;

	memset(pp, 0, sizeof(*pp));
	memset(&again, 0, sizeof(again));
	mamori_buf_init(&b, MAMORI_PASSPHRASE_MAX + 2);
	if (file != NULL) {
		if ((e = mamori_buf_read_file(&b, file)) != 0) {
			cli_fail("cannot read the passphrase file %s: %s",
			    cli_safe(file, safe, sizeof(safe)),
			    e == MAMORI_ERR_TOO_LARGE ? "longer than 1024 "
			    "bytes" : mamori_strerror(e));
			goto out;
		}
		if (b.data == NULL || take_line((const char *)b.data, b.len,
		    pp) != 0) {
			cli_fail("the passphrase file %s holds no passphrase "
			    "on its first line", cli_safe(file, safe,
			    sizeof(safe)));
			goto out;
		}
		r = 0;
		goto out;
	}
	if ((env = getenv(CLI_PASSPHRASE_ENV)) != NULL) {
		if (take_line(env, strlen(env), pp) != 0) {
			cli_fail("%s is empty or longer than %d bytes",
			    CLI_PASSPHRASE_ENV, MAMORI_PASSPHRASE_MAX);
			goto out;
		}
		r = 0;
		goto out;
	}
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		cli_fail("no terminal to ask for the passphrase: use "
		    "--passphrase-file FILE or set %s", CLI_PASSPHRASE_ENV);
		goto out;
	}
	if ((e = tty_read(fd, prompt, pp)) != 0) {
		cli_fail("no passphrase read: %s", e == MAMORI_ERR_INVALID ?
		    "it was empty" : mamori_strerror(e));
		goto out;
	}
	if (confirm) {
		if ((e = tty_read(fd, "Repeat the passphrase: ",
		    &again)) != 0 || again.len != pp->len ||
		    memcmp(again.text, pp->text, pp->len) != 0) {
			cli_fail("the passphrases do not match");
			goto out;
		}
	}
	r = 0;
out:
	if (r != 0)
		cli_passphrase_wipe(pp);
	cli_passphrase_wipe(&again);
	if (fd >= 0)
		close(fd);
	mamori_buf_free(&b);
	return r;
}

int
cli_key_load(const char *path, const char *pass_file, EVP_PKEY **out)
{
	struct cli_passphrase pp;
	char safe[CLI_MSG_MAX / 2], prompt[CLI_MSG_MAX];
	int enc, e, r = CLI_EXIT_FAIL;

	*out = NULL;
	memset(&pp, 0, sizeof(pp));
	cli_safe(path, safe, sizeof(safe));
	if ((enc = mamori_keyfile_encrypted(path)) < 0) {
		cli_fail("cannot read the key file %s: %s", safe,
		    mamori_strerror(enc));
		goto out;
	}
	if (enc) {
		snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", safe);
		if ((r = cli_passphrase_get(pass_file, prompt, 0, &pp)) != 0)
			goto out;
		r = CLI_EXIT_FAIL;
	}
	if ((e = mamori_keyfile_load(path, enc ? pp.text : NULL, pp.len,
	    out)) != 0) {
		if (e == MAMORI_ERR_PASSPHRASE)
			cli_fail("wrong passphrase for %s (or the file is "
			    "damaged)", safe);
		else if (e == MAMORI_ERR_PERMISSION)
			cli_fail("%s is readable by others or not readable by "
			    "you: it must be mode 0600 and yours (chmod 600)",
			    safe);
		else
			cli_fail("cannot load the key %s: %s (an Ed25519 PEM "
			    "private key is needed)", safe,
			    mamori_strerror(e));
		goto out;
	}
	r = 0;
out:
	cli_passphrase_wipe(&pp);
	return r;
}
