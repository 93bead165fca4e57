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

#define CFG_NSETTINGS 24	/* room for the scalar keywords */

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
	unsigned int log_budget;	/* per-path lines a second; 0: no limit */
	unsigned int clients_per_uid;	/* unprivileged clients a uid may have; default 64 */
	unsigned int client_idle_ms;	/* client_idle_timeout, default 10 s */
	struct cfg_path_rule *rules;
	size_t nrules;
	/* marginal paths and backoff (flap.h); 0: off (slow_threshold, max_interval) */
	unsigned int flap_threshold;	/* default 2 */
	unsigned int flap_window_ms;	/* default 60 s */
	unsigned int flap_recovery_ms;	/* default 60 s */
	unsigned int slow_threshold_ms;	/* default off */
	unsigned int slow_window_ms;	/* default 60 s */
	unsigned int max_interval_ms;	/* default off: every check at interval */
	char **blacklist;		/* globs */
	unsigned int *blacklist_line;	/* where each was written */
	size_t nblacklist;
	unsigned int set_line[CFG_NSETTINGS];	/* line of each setting; 0: default */
};

enum cfg_log { CFG_LOG_AUTO = 0, CFG_LOG_STDERR, CFG_LOG_SYSLOG, CFG_LOG_JOURNAL };

/* One device to check, after expansion.  */
struct cfg_dev {
	char *path;		/* canonical: realpath() of the match */
	char *name;		/* basename of path: "sdb" */
	unsigned int interval_ms;
	unsigned int timeout_ms;
	unsigned int timeout_line;	/* its line in the file; 0: see sysfs */
	bool timeout_sysfs;		/* from the device's sysfs timeout */
};

/* The device's own SCSI command timeout in ms, or 0 (devtimeout.c). */
unsigned int dev_sysfs_timeout_ms(const char *real);
/* A path's timeout: the rule's, else the file's global one, else the
 * device's sysfs one, else the default; *line and *sysfs say which. */
unsigned int config_path_timeout(const struct config *cfg, const struct cfg_path_rule *r,
				 const char *real, unsigned int *line, bool *sysfs);
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
 * The scalar setting number i (0, 1, ...): its keyword, its value as the
 * file would write it, and the line that set it (0: the default).  False
 * past the last.
 */
bool config_setting(const struct config *cfg, size_t i, const char **name,
		    char *val, size_t len, unsigned int *line);

/* True if keyword NAME's value differs between a and b (as show config
 * writes it). */
bool config_differs(const struct config *a, const struct config *b, const char *name);
/* dst: only the settings that take effect at restart, copied from src
 * (the rest zero; config_free frees it).  0 or -ENOMEM. */
int config_copy_restart(struct config *dst, const struct config *src);

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

/* What config_expand decided about one candidate, for `pathcheckd -t`. */
enum cfg_note_kind {
	CFG_NOTE_KEPT,		/* rule took it */
	CFG_NOTE_NOT_DEVICE,	/* a glob match that is no block device or file */
	CFG_NOTE_BLACKLISTED,	/* blacklist[blacklist] dropped it */
	CFG_NOTE_SHADOWED,	/* rule matched it too, but winner took it first */
};

struct cfg_note {
	enum cfg_note_kind kind;
	const struct cfg_path_rule *rule;
	const char *match;		/* as the glob gave it */
	const char *real;		/* canonical, or NULL if it does not resolve */
	size_t blacklist;		/* CFG_NOTE_BLACKLISTED */
	const struct cfg_path_rule *winner;	/* CFG_NOTE_SHADOWED */
};

/* config_expand, telling note() about every candidate on the way. */
int config_expand_notes(const struct config *cfg, struct cfg_dev **devsp,
			void (*note)(void *arg, const struct cfg_note *n), void *arg);
void config_devs_free(struct cfg_dev *devs, size_t n);

/* A block device whose sysfs size is 0 (unbound loop, no medium): not a path. */
bool config_blk_empty(dev_t rdev);

#endif
