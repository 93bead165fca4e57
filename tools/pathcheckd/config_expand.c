/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.conf's path rules expanded into the devices to check: glob,
 * canonical paths, the blacklist, duplicates (config.h, config_expand).
 */
#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <unistd.h>

#include "array.h"

#include "config.h"

/* A block device of size zero, by sysfs (no open, so no medium is spun up). */
bool config_blk_empty(dev_t rdev)
{
	char path[64], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/size", major(rdev), minor(rdev));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;	/* unknown: let the open say */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10) == 0;
}

/* A device found by a rule; seq orders the finds so the first one wins. */
struct found {
	struct cfg_dev dev;
	size_t seq;
	const struct cfg_path_rule *rule;
};

struct expansion {
	const struct config *cfg;
	struct found *v;
	size_t n;
	void (*note)(void *arg, const struct cfg_note *n);
	void *arg;
};

static void note(struct expansion *x, enum cfg_note_kind kind, const struct cfg_path_rule *r,
		 const char *match, const char *real, size_t bl, const struct cfg_path_rule *w)
{
	struct cfg_note n = { .kind = kind, .rule = r, .match = match, .real = real,
			      .blacklist = bl, .winner = w };

	if (x->note)
		x->note(x->arg, &n);
}

/* The first blacklist glob matching, or -1. */
static ssize_t blacklisted(const struct config *cfg, const char *match, const char *real)
{
	for (size_t i = 0; i < cfg->nblacklist; i++)
		if (!fnmatch(cfg->blacklist[i], match, 0) ||
		    (real && !fnmatch(cfg->blacklist[i], real, 0)))
			return (ssize_t)i;
	return -1;
}

/* The last component, trailing slashes ignored: "/dev/sdb/" is "sdb". */
static char *base_name(const char *path)
{
	size_t end = strlen(path), start;

	while (end > 1 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (start == end)	/* "/" */
		return strdup(path);
	return strndup(path + start, end - start);
}

/* Takes path (malloc'ed) over: it is freed on error. */
static int add_found(struct expansion *x, const struct cfg_path_rule *r, char *path)
{
	char *name = base_name(path);
	struct found *grown = name ? array_room(x->v, x->n, sizeof(*x->v)) : NULL;

	if (!grown) {
		free(name);
		free(path);
		return -ENOMEM;
	}
	x->v = grown;
	unsigned int tline;
	bool tsys;
	unsigned int tms = config_path_timeout(x->cfg, r, path, &tline, &tsys);

	x->v[x->n] = (struct found){
		.dev = {
			.path = path,
			.name = name,
			.interval_ms = r->interval_ms ? r->interval_ms : x->cfg->interval_ms,
			.timeout_ms = tms,
			.timeout_line = tline,
			.timeout_sysfs = tsys,
		},
		.seq = x->n,
		.rule = r,
	};
	x->n++;
	return 0;
}

/*
 * One match of a rule.  A literal path (no wildcard) is what the admin
 * named: it is kept even when it does not resolve or is no device, so
 * that the daemon reports why it cannot check it; only a directory is
 * skipped.  A glob match is kept only if it resolves to a block device
 * or a regular file: a glob sweeps in dangling links, directories and
 * things like /dev/loop-control that were never meant.
 */
static int add_match(struct expansion *x, const struct cfg_path_rule *r,
		     const char *match, bool literal)
{
	char *real = realpath(match, NULL);
	struct stat st;
	ssize_t bl;
	bool keep;

	if (!real) {
		if (errno == ENOMEM)
			return -ENOMEM;
		if (!literal)
			return 0;
		bl = blacklisted(x->cfg, match, NULL);
		if (bl >= 0) {
			note(x, CFG_NOTE_BLACKLISTED, r, match, NULL, (size_t)bl, NULL);
			return 0;
		}
		real = strdup(match);
		return real ? add_found(x, r, real) : -ENOMEM;
	}
	if (stat(real, &st))
		keep = literal;
	else if (S_ISBLK(st.st_mode) && config_blk_empty(st.st_rdev))
		keep = false;	/* no medium, an unbound loop: not a path */
	else if (literal)
		keep = !S_ISDIR(st.st_mode);
	else
		keep = S_ISBLK(st.st_mode) || S_ISREG(st.st_mode);
	bl = keep ? blacklisted(x->cfg, match, real) : -1;
	if (!keep)
		note(x, CFG_NOTE_NOT_DEVICE, r, match, real, 0, NULL);
	else if (bl >= 0)
		note(x, CFG_NOTE_BLACKLISTED, r, match, real, (size_t)bl, NULL);
	if (!keep || bl >= 0) {
		free(real);
		return 0;
	}
	return add_found(x, r, real);
}

static int expand_rule(struct expansion *x, const struct cfg_path_rule *r)
{
	glob_t g = { 0 };
	int ret;

	if (!strpbrk(r->glob, "*?[\\"))
		return add_match(x, r, r->glob, true);
	ret = glob(r->glob, GLOB_NOSORT, NULL, &g);
	if (ret == GLOB_NOMATCH)
		ret = 0;
	else if (ret == GLOB_NOSPACE)
		ret = -ENOMEM;
	else if (ret)
		ret = -EIO;
	for (size_t i = 0; !ret && i < g.gl_pathc; i++)
		ret = add_match(x, r, g.gl_pathv[i], false);
	globfree(&g);
	return ret;
}

static int by_path_then_seq(const void *a, const void *b)
{
	const struct found *x = a, *y = b;
	int c = strcmp(x->dev.path, y->dev.path);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int by_name_then_path(const void *a, const void *b)
{
	const struct cfg_dev *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->path, y->path);
}

/* Keeps the first find of each canonical path, in a new cfg_dev array. */
static int dedupe(struct expansion *x, struct cfg_dev **devsp)
{
	struct cfg_dev *devs;
	size_t n = 0;

	if (x->n)
		qsort(x->v, x->n, sizeof(*x->v), by_path_then_seq);
	devs = calloc(x->n ? x->n : 1, sizeof(*devs));
	if (!devs)
		return -ENOMEM;
	for (size_t i = 0, first = 0; i < x->n; i++) {
		if (n && !strcmp(devs[n - 1].path, x->v[i].dev.path)) {
			note(x, CFG_NOTE_SHADOWED, x->v[i].rule, x->v[i].dev.path,
			     x->v[i].dev.path, 0, x->v[first].rule);
			free(x->v[i].dev.path);
			free(x->v[i].dev.name);
		} else {
			note(x, CFG_NOTE_KEPT, x->v[i].rule, x->v[i].dev.path, x->v[i].dev.path,
			     0, NULL);
			first = i;
			devs[n++] = x->v[i].dev;
		}
	}
	free(x->v);
	x->v = NULL;
	x->n = 0;
	if (n)
		qsort(devs, n, sizeof(*devs), by_name_then_path);
	*devsp = devs;
	return (int)n;
}

static void found_free(struct expansion *x)
{
	for (size_t i = 0; i < x->n; i++) {
		free(x->v[i].dev.path);
		free(x->v[i].dev.name);
	}
	free(x->v);
}

int config_expand(const struct config *cfg, struct cfg_dev **devsp)
{
	return config_expand_notes(cfg, devsp, NULL, NULL);
}

int config_expand_notes(const struct config *cfg, struct cfg_dev **devsp,
			void (*notef)(void *arg, const struct cfg_note *n), void *arg)
{
	struct expansion x = { .cfg = cfg, .note = notef, .arg = arg };
	int ret = 0;

	*devsp = NULL;
	for (size_t i = 0; !ret && i < cfg->nrules; i++)
		ret = expand_rule(&x, &cfg->rules[i]);
	if (!ret && x.n > INT_MAX)
		ret = -EOVERFLOW;
	if (!ret)
		ret = dedupe(&x, devsp);
	if (ret < 0)
		found_free(&x);
	return ret;
}

void config_devs_free(struct cfg_dev *devs, size_t n)
{
	if (!devs)
		return;
	for (size_t i = 0; i < n; i++) {
		free(devs[i].path);
		free(devs[i].name);
	}
	free(devs);
}
