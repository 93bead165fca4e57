/* SPDX-License-Identifier: MIT */
/* pathcheckd.conf's keywords, shared by the parser (config.c, which
 * defines them) and the settings listing (config_settings.c). */
#ifndef PATHCHECKD_CONFIG_KEYWORDS_H
#define PATHCHECKD_CONFIG_KEYWORDS_H

#include <stddef.h>

enum kw_kind { KW_DURATION, KW_COUNT, KW_MODE, KW_ABSPATH, KW_LOG, KW_PATH, KW_BLACKLIST };

struct keyword {
	const char *name;
	enum kw_kind kind;
	size_t off;		/* of the field in struct config */
	unsigned int min, max;	/* KW_COUNT: range; KW_ABSPATH: max length */
};

/* In file order of show config; set_line[i] of struct config is keyword i's. */
extern const struct keyword config_keywords[];
extern const size_t config_nkeywords;

#endif
