/* SPDX-License-Identifier: MIT */
/*
 * Holds: `fail path DEV` takes a path out of checking until `reinstate path
 * DEV`, keeping its record and counters.  A hold belongs to the device path,
 * not to the record, so it survives reconfigure (a path that leaves the
 * configuration and comes back is still held) and, through the state file,
 * restarts.  Main thread only.
 *
 * The state file STATE_DIR/holds is rewritten whole, atomically (temporary
 * file, fsync, rename, fsync of the directory), on every change: one line
 * per hold,
 *	hold SINCE_EPOCH_S PATH BY...
 * PATH with bytes <= 0x20, '%', 0x7f and >= 0x80 written %HH.  STATE_DIR is
 * --state-dir, else the first of $STATE_DIRECTORY, else /var/lib/pathcheckd.
 */
#ifndef PATHCHECKD_HOLD_H
#define PATHCHECKD_HOLD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct daemon;
struct rec;
struct client;

#define DEFAULT_STATE_DIR "/var/lib/pathcheckd"

struct hold {
	char *dev;		/* canonical device path */
	char *by;		/* "uid 0 pid 1234" */
	time_t since;		/* wall clock */
};

struct holds {
	char *dir;		/* the state directory */
	char *file;		/* dir/holds */
	struct hold *v;
	size_t n, cap;
};

/* Load the state file (a missing file is no holds); logs what it skips.
 * 0 or -errno (out of memory only). */
int  holds_init(struct daemon *d, const char *dir_opt);
void holds_fini(struct daemon *d);
/* A hold on this device path, or NULL. */
const struct hold *hold_find(const struct daemon *d, const char *dev);
/* recs_add's hook: a new record of a held device starts held. */
void hold_apply(struct daemon *d, struct rec *r);
/* The commands. */
void cmd_fail_path(struct daemon *d, struct client *c, const char *what);
void cmd_reinstate_path(struct daemon *d, struct client *c, const char *what);
/* Paths held now (records), for status lines. */
size_t holds_active(const struct daemon *d);

#endif
