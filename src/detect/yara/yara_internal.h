/*
 * yara_internal.h - what yara_rules.c and yara_scan.c share and nobody
 * else sees: the rule set's layout and the copy of a libyara rule into a
 * mamori_yara_rule_info.  Never include it outside src/detect/yara.
 */
#ifndef MAMORI_YARA_INTERNAL_H
#define MAMORI_YARA_INTERNAL_H

#include <yara.h>

#include "yara_rules.h"

struct mamori_yara_rules {
	YR_RULES *yr;
	size_t count;
};

/* Copies rule's name, namespace, tags and meta into *info (zeroed first);
 * returns 0 or MAMORI_ERR_ALLOC, leaving *info empty. */
int mamori_yara_rule_info_from(const YR_RULE *rule,
    struct mamori_yara_rule_info *info);

/* Frees what *info owns and zeroes it. */
void mamori_yara_rule_info_clear(struct mamori_yara_rule_info *info);

#endif
