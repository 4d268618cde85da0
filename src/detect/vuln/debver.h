/*
 * debver.h - Debian package versions: validation and ordering exactly as
 * deb-version(7) and dpkg define them.
 *
 * A version is [epoch:]upstream_version[-debian_revision].  Ordering compares
 * the epochs as numbers, then the upstream versions, then the revisions, each
 * with dpkg's algorithm: alternating runs of non-digits (compared character
 * by character, '~' before everything, even the end; letters before every
 * other character) and runs of digits (compared as numbers).  Numbers are
 * compared as digit strings, so no length of number can overflow.
 *
 * mamori_debver_cmp never fails: it orders any two strings (valid or not)
 * consistently, so hostile versions cannot break a sort or a match; callers
 * that must trust a version check it first with mamori_debver_check.
 */
#ifndef MAMORI_DEBVER_H
#define MAMORI_DEBVER_H

#include <stddef.h>

#define MAMORI_DEBVER_MAX 256        /* bytes of one version */
#define MAMORI_DEBVER_EPOCH_MAX "2147483647" /* dpkg keeps epochs in an int */

/*
 * Compares versions a and b (NUL-terminated).  Returns -1, 0 or 1 as a
 * sorts before, equal to or after b - the answer `dpkg --compare-versions`
 * gives for valid versions.  Antisymmetric for any input:
 * cmp(a, b) == -cmp(b, a).
 */
int mamori_debver_cmp(const char *a, const char *b);

/*
 * Checks that v is a well-formed Debian version per deb-version(7): at most
 * MAMORI_DEBVER_MAX bytes; an optional epoch of digits (at most
 * MAMORI_DEBVER_EPOCH_MAX) before the first ':'; an upstream version that
 * starts with a digit and holds only letters, digits and ". + ~", plus
 * '-' when there is a revision; a revision (after the last '-'), when
 * present, not empty and of letters, digits and ". + ~".  Returns 0, or
 * MAMORI_ERR_BAD_DEBVER with *reason (when reason is not NULL) set to a
 * static sentence saying what is wrong.
 */
int mamori_debver_check(const char *v, const char **reason);

#endif
