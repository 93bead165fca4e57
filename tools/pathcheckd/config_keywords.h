/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.conf's keywords: the one table (config.c) that the parser,
 * the defaults, the restart check, show config and the documentation test
 * (tests/daemon_config_doc) read.  A new key is a row here, the field it
 * fills, the code that uses it and its entry in pathcheckd.conf(5).
 */
#ifndef PATHCHECKD_CONFIG_KEYWORDS_H
#define PATHCHECKD_CONFIG_KEYWORDS_H

#include <stddef.h>

enum kw_kind { KW_DURATION, KW_COUNT, KW_MODE, KW_ABSPATH, KW_LOG, KW_PATH, KW_BLACKLIST };

/* When a new value in the file takes effect. */
enum kw_apply { KW_RELOAD, KW_RESTART };

struct keyword {
	const char *name;
	enum kw_kind kind;
	size_t off;		/* of the field in struct config */
	unsigned int min, max;	/* KW_COUNT: range; KW_ABSPATH: max length */
	unsigned int def;	/* the default of a number, duration, mode or log */
	unsigned int zero;	/* 0 stands for this (the engine's default); 0: for
				 * nothing (a duration: off) */
	enum kw_apply apply;
	const char *man;	/* its tag line in pathcheckd.conf(5) */
};

/* In file order of show config; set_line[i] of struct config is keyword i's. */
extern const struct keyword config_keywords[];
extern const size_t config_nkeywords;
const struct keyword *config_keyword(const char *name);	/* NULL: none */

#endif
