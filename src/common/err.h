/*
 * err.h - mamori's one error space.
 *
 * Every function that can fail returns int: 0 on success, one of the negative
 * MAMORI_ERR_* codes below on failure.  The text for each code comes from the
 * same list (an X-macro), so codes and messages cannot drift apart.  errno
 * never crosses a module boundary: a module that sees a system error maps it
 * to MAMORI_ERR_SYSTEM and logs the detail itself.
 */
#ifndef MAMORI_ERR_H
#define MAMORI_ERR_H

#define MAMORI_ERR_MAP(X)                                                   \
	X(INTERNAL, -1, "internal error")                                   \
	X(ALLOC, -2, "out of memory")                                      \
	X(SYSTEM, -3, "system call failed")                                \
	X(INVALID, -4, "invalid argument")                                 \
	X(TRUNCATED, -5, "input truncated")                                \
	X(TOO_LARGE, -6, "input exceeds its limit")                        \
	X(TRAILING, -7, "unexpected trailing bytes")                       \
	X(BAD_STRING, -8, "string holds a NUL byte or invalid text")       \
	X(BAD_MESSAGE, -9, "malformed message")                            \
	X(BAD_VERSION, -10, "unsupported version")                         \
	X(CRYPTO, -11, "cryptographic operation failed")                   \
	X(AUTH, -12, "authentication failed")                              \
	X(NOT_FOUND, -13, "not found")                                     \
	X(EXISTS, -14, "already exists")                                   \
	X(EXPIRED, -15, "expired")                                         \
	X(REVOKED, -16, "revoked")                                         \
	X(USED_UP, -17, "no uses left")                                    \
	X(STORE, -18, "storage failure")                                   \
	X(IO, -19, "input/output error")                                   \
	X(PERMISSION, -20, "permission denied")                            \
	X(WRONG_KEY, -21, "storage key does not open this data")           \
	X(CLOSED, -22, "connection closed")                                \
	X(TIMEOUT, -23, "timed out")                                       \
	X(PROTOCOL, -24, "protocol violation")                             \
	X(CHECKSUM, -25, "checksum mismatch")                              \
	X(BAD_DEBVER, -35, "malformed Debian version")                     \
	X(BAD_ADVISORY, -36, "malformed advisory")                         \
	X(STIX_SYNTAX, -40, "STIX pattern syntax error")                   \
	X(STIX_UNSUPPORTED, -41, "STIX pattern not matchable by mamori")   \
	X(STIX_BUNDLE, -42, "not a STIX 2.1 bundle")                        \
	X(OUTPUT_REFUSED, -43, "the output's receiver refused the alert")  \
	X(OUTPUT_CONFIG, -44, "invalid outputs configuration")             \
	X(YARA_COMPILE, -45, "YARA rules do not compile")                  \
	X(YARA_SCAN, -46, "YARA scan failed")                              \
	X(NOT_REGULAR, -47, "not a regular file")                           \
	X(UNSUPPORTED, -48, "task type not handled here")                  \
	X(BAD_PACKAGE, -49, "not a valid Debian package name")             \
	X(EXIT_STATUS, -57, "program exited with a failure status")        \
	X(REFUSED, -55, "refused by the fleet policy")                     \
	X(PASSPHRASE, -56, "wrong passphrase or damaged key file")          \
	X(USB_RULES, -59, "USB rule file is damaged")                      \
	X(ISOLATION, -60, "host isolation could not be changed")           \
	X(YARA_BUSY, -58, "YARA scan queue is full")                       \
	X(QUERY_SQL, -50, "query is not valid SQL")                        \
	X(QUERY_DENIED, -51, "query is not allowed")                       \
	X(QUERY_TIMEOUT, -52, "query took too long")                       \
	X(QUERY_TOO_LARGE, -53, "query result exceeds its limit")          \
	X(QUERY_TABLE, -54, "query table failed")

enum mamori_err {
	MAMORI_OK = 0,
#define MAMORI_ERR_ENUM(name, code, text) MAMORI_ERR_##name = (code),
	MAMORI_ERR_MAP(MAMORI_ERR_ENUM)
#undef MAMORI_ERR_ENUM
};

/* Returns a static string describing code; never NULL. */
const char *mamori_strerror(int code);

/* Returns the symbolic name of code ("TRUNCATED"); never NULL. */
const char *mamori_errname(int code);

#endif
