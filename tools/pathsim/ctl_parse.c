/* SPDX-License-Identifier: MIT */
/*
 * The control language of pathsim: targets and command lines (the mode
 * words are tools/common/simmode.c's).
 * Parsing is strict and side-effect free, so that a bad write to the
 * control file can be refused as a whole before anything changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

#include "pathsim.h"

#define PS_MAX_TOKENS		4

/* The first round(num / den * npaths) paths, halves rounded up. */
static void ps_share(unsigned long long num, unsigned long long den,
		     unsigned int npaths, struct ps_range *r)
{
	unsigned long long scaled = num * npaths;

	r->first = 0;
	r->end = (unsigned int)((2 * scaled + den) / (2 * den));
}

static int ps_parse_index(const char *s, unsigned int npaths,
			  unsigned int *idx)
{
	unsigned long long v;
	int ret = sim_parse_uint(s, PS_MAX_PATHS, &v);

	if (ret < 0)
		return -EINVAL;
	if (v >= npaths)
		return -EINVAL;
	*idx = (unsigned int)v;
	return 0;
}

static int ps_parse_span(const char *s, unsigned int npaths,
			 struct ps_range *r)
{
	const char *dash = strchr(s, '-');
	char first[16];
	unsigned int a, b;
	size_t n = (size_t)(dash - s);

	if (n == 0 || n >= sizeof(first))
		return -EINVAL;
	memcpy(first, s, n);
	first[n] = '\0';
	if (ps_parse_index(first, npaths, &a) ||
	    ps_parse_index(dash + 1, npaths, &b) || a > b)
		return -EINVAL;
	r->first = a;
	r->end = b + 1;
	return 0;
}

static int ps_parse_percent(const char *s, size_t len, unsigned int npaths,
			    struct ps_range *r)
{
	unsigned long long num, den;

	if (sim_parse_decimal(s, len, &num, &den) || num > 100 * den)
		return -EINVAL;
	ps_share(num, den * 100, npaths, r);
	return 0;
}

static int ps_parse_fraction(const char *s, unsigned int npaths,
			     struct ps_range *r)
{
	unsigned long long num, den;

	if (sim_parse_decimal(s, strlen(s), &num, &den) || num > den)
		return -EINVAL;
	ps_share(num, den, npaths, r);
	return 0;
}

/* all | pK | K | A-B | F% | 0.F */
int ps_parse_target(const char *s, unsigned int npaths, struct ps_range *r)
{
	size_t len = strlen(s);

	if (!strcmp(s, "all")) {
		r->first = 0;
		r->end = npaths;
		return 0;
	}
	if (len && s[len - 1] == '%')
		return ps_parse_percent(s, len - 1, npaths, r);
	if (strchr(s, '.'))
		return ps_parse_fraction(s, npaths, r);
	if (strchr(s, '-'))
		return ps_parse_span(s, npaths, r);
	if (s[0] == 'p')
		s++;
	if (ps_parse_index(s, npaths, &r->first))
		return -EINVAL;
	r->end = r->first + 1;
	return 0;
}

static int ps_tokenize(char *line, char **tok)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t\r", &save); t;
	     t = strtok_r(NULL, " \t\r", &save)) {
		if (n == PS_MAX_TOKENS)
			return -EINVAL;
		tok[n++] = t;
	}
	return n;
}

/* One line; returns 1 for a command, 0 for a blank or comment line. */
static int ps_parse_line(char *line, unsigned int npaths, struct ps_cmd *cmd)
{
	char *tok[PS_MAX_TOKENS];
	int n = ps_tokenize(line, tok);

	if (n < 0)
		return n;
	if (n == 0 || tok[0][0] == '#')
		return 0;
	memset(cmd, 0, sizeof(*cmd));
	if (!strcmp(tok[0], "set") && n == 3) {
		cmd->kind = PS_CMD_SET;
		if (ps_parse_target(tok[1], npaths, &cmd->range) ||
		    sim_mode_parse(tok[2], &cmd->mode))
			return -EINVAL;
		return 1;
	}
	if (!strcmp(tok[0], "release") && n <= 2) {
		cmd->kind = PS_CMD_RELEASE;
		if (n == 1)
			return ps_parse_target("all", npaths, &cmd->range) ?
				-EINVAL : 1;
		return ps_parse_target(tok[1], npaths, &cmd->range) ?
			-EINVAL : 1;
	}
	if (!strcmp(tok[0], "reset") && n == 1) {
		cmd->kind = PS_CMD_RESET;
		return 1;
	}
	return -EINVAL;
}

static int ps_push_cmd(struct ps_cmd **cmds, size_t *n, size_t *cap,
		       const struct ps_cmd *cmd)
{
	if (array_reserve(cmds, cap, *n + 1, sizeof(**cmds)))
		return -ENOMEM;
	(*cmds)[(*n)++] = *cmd;
	return 0;
}

/*
 * Every line of text, all or nothing: on error *cmds is NULL.  A missing
 * final newline is fine, so "printf 'reset'" works like "echo reset".
 */
int ps_parse_commands(const char *text, size_t len, unsigned int npaths,
		      struct ps_cmd **cmds, size_t *ncmds)
{
	char *copy, *line, *save = NULL;
	size_t n = 0, cap = 0;
	struct ps_cmd cmd;
	int ret = 0;

	*cmds = NULL;
	*ncmds = 0;
	if (memchr(text, '\0', len))
		return -EINVAL;
	copy = strndup(text, len);
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line && ret >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		ret = ps_parse_line(line, npaths, &cmd);
		if (ret > 0)
			ret = ps_push_cmd(cmds, &n, &cap, &cmd);
	}
	free(copy);
	if (ret < 0) {
		free(*cmds);
		*cmds = NULL;
		return ret;
	}
	*ncmds = n;
	return 0;
}
