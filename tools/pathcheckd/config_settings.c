/* SPDX-License-Identifier: MIT */
/*
 * What the parsed configuration says, for its readers: each scalar setting
 * as the file would write it (show config), and a path's timeout with
 * where it came from.  The keywords are config.c's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pathcheck.h"

#include "config.h"
#include "config_keywords.h"

static void fmt_duration(char *val, size_t len, unsigned int ms)
{
	if (ms % 1000)
		snprintf(val, len, "%ums", ms);
	else
		snprintf(val, len, "%us", ms / 1000);
}

bool config_setting(const struct config *cfg, size_t i, const char **name,
		    char *val, size_t len, unsigned int *line)
{
	static const char *const logs[] = { "auto", "stderr", "syslog", "journal" };
	size_t n = config_nkeywords;
	const struct keyword *kw;
	const void *f;

	/* path and blacklist are lists, shown apart: skip them. */
	for (size_t k = 0; k < n; k++) {
		if (config_keywords[k].kind == KW_PATH || config_keywords[k].kind == KW_BLACKLIST)
			continue;
		if (i--)
			continue;
		kw = &config_keywords[k];
		f = (const char *)cfg + kw->off;
		*name = kw->name;
		*line = cfg->set_line[k];
		switch (kw->kind) {
		case KW_DURATION:	/* 0: the engine's default, or off */
			if (*(const unsigned int *)f || kw->zero)
				fmt_duration(val, len, *(const unsigned int *)f ?
					     *(const unsigned int *)f : kw->zero);
			else
				snprintf(val, len, "off");
			break;
		case KW_COUNT:
			snprintf(val, len, "%u", *(const unsigned int *)f ?
				 *(const unsigned int *)f : kw->zero);
			break;
		case KW_MODE:
			snprintf(val, len, "%04o", *(const unsigned int *)f);
			break;
		case KW_ABSPATH:
			snprintf(val, len, "%s", *(char *const *)f ? *(char *const *)f : "-");
			break;
		case KW_LOG:
			snprintf(val, len, "%s", logs[*(const int *)f % 4]);
			break;
		case KW_PATH:
		case KW_BLACKLIST:
			break;
		}
		return true;
	}
	return false;
}

const struct keyword *config_keyword(const char *name)
{
	for (size_t k = 0; k < config_nkeywords; k++)
		if (!strcmp(config_keywords[k].name, name))
			return &config_keywords[k];
	return NULL;
}

/* The value of keyword kw in cfg as show config writes it. */
static void value_of(const struct config *cfg, const struct keyword *kw, char *val,
		     size_t len)
{
	const char *name;
	unsigned int line;

	val[0] = '\0';
	for (size_t i = 0; config_setting(cfg, i, &name, val, len, &line); i++)
		if (!strcmp(name, kw->name))
			return;
	val[0] = '\0';
}

bool config_differs(const struct config *a, const struct config *b, const char *name)
{
	const struct keyword *kw = config_keyword(name);
	char va[4200], vb[4200];

	if (!kw)
		return false;
	value_of(a, kw, va, sizeof(va));
	value_of(b, kw, vb, sizeof(vb));
	return strcmp(va, vb) != 0;
}

int config_copy_restart(struct config *dst, const struct config *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t k = 0; k < config_nkeywords; k++) {
		const struct keyword *kw = &config_keywords[k];
		const char *from = (const char *)src + kw->off;
		char *to = (char *)dst + kw->off;

		if (kw->apply != KW_RESTART)
			continue;
		dst->set_line[k] = src->set_line[k];
		if (kw->kind == KW_ABSPATH) {
			const char *str = *(char *const *)from;

			if (str && !(*(char **)to = strdup(str)))
				return -ENOMEM;
		} else {
			memcpy(to, from, sizeof(unsigned int));
		}
	}
	return 0;
}

/* A path's timeout and where it came from: its rule, the file, the device's
 * sysfs timeout, or the default. */
unsigned int config_path_timeout(const struct config *cfg, const struct cfg_path_rule *r,
				 const char *real, unsigned int *line, bool *sysfs)
{
	size_t global = (size_t)(config_keyword("timeout") - config_keywords);
	unsigned int ms;

	*sysfs = false;
	*line = 0;
	if (r && r->timeout_ms) {
		*line = r->line;
		return r->timeout_ms;
	}
	if (cfg->set_line[global]) {
		*line = cfg->set_line[global];
		return cfg->timeout_ms;
	}
	ms = dev_sysfs_timeout_ms(real);
	*sysfs = ms != 0;
	return ms ? ms : cfg->timeout_ms;
}
