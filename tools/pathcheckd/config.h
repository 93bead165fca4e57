/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd's configuration: parsing, validation and expansion of path
 * globs into device lists.  The file format is documented in
 * pathcheckd.conf(5).  Nothing here touches the engine.
 */
#ifndef PATHCHECKD_CONFIG_H
#define PATHCHECKD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* One `path GLOB [interval=DUR] [timeout=DUR]` line. 0: inherit global. */
struct cfg_path_rule {
	char *glob;
	unsigned int interval_ms;
	unsigned int timeout_ms;
	unsigned int line;
};

struct config {
	char *file;			/* as given, for messages */
	unsigned int interval_ms;	/* default 5 s */
	unsigned int timeout_ms;	/* default 30 s */
	unsigned int workers;		/* 0: online CPUs */
	unsigned int group_size;	/* 0: engine default (1024) */
	unsigned int shutdown_ms;	/* 0: engine default (1000) */
	char *socket_path;		/* NULL unless set in the file */
	unsigned int socket_mode;	/* default 0600 */
	char *metrics_file;		/* NULL: no metrics file */
	int log_target;			/* enum cfg_log */
	unsigned int log_budget;	/* transition lines a second; 0: no limit */
	struct cfg_path_rule *rules;
	size_t nrules;
	char **blacklist;		/* globs */
	size_t nblacklist;
};

enum cfg_log { CFG_LOG_AUTO = 0, CFG_LOG_STDERR, CFG_LOG_SYSLOG };

/* One device to check, after expansion.  */
struct cfg_dev {
	char *path;		/* canonical: realpath() of the match */
	char *name;		/* basename of path: "sdb" */
	unsigned int interval_ms;
	unsigned int timeout_ms;
};

/*
 * Parse FILE into *cfg (which is zeroed first, defaults applied).  On error
 * returns -EINVAL (or -errno of the open/read) and writes one message
 * "FILE:LINE: reason" (or "FILE: reason") into err[errlen]; *cfg is then
 * left empty (nothing to free, config_free is still safe).
 */
int config_load(const char *file, struct config *cfg, char *err, size_t errlen);

/* Same, from a string (FILE is only used in messages). */
int config_parse(const char *file, const char *text, size_t len,
		 struct config *cfg, char *err, size_t errlen);

void config_free(struct config *cfg);

/*
 * Expand the rules into a list of devices: glob(3) each rule in order,
 * canonicalise each match with realpath(3), drop matches that any blacklist
 * glob matches (fnmatch against both the configured match and the
 * canonical path), drop duplicates (same canonical path: the first rule
 * wins, so per-glob overrides apply by first match).  A glob match is kept
 * only if it resolves to a block device or a regular file (so /dev/loop*
 * skips /dev/loop-control).  A block device of size zero is never kept.
 * A rule without glob metacharacters is kept whatever else it names except
 * a directory: a missing file shows as "unopened" in the daemon.  Sorted
 * by name.
 * Returns the count (>= 0) with *devsp allocated, or -errno.
 */
int config_expand(const struct config *cfg, struct cfg_dev **devsp);
void config_devs_free(struct cfg_dev *devs, size_t n);

/* A block device whose sysfs size is 0 (unbound loop, no medium): not a path. */
bool config_blk_empty(dev_t rdev);

#endif
