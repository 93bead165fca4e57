/* SPDX-License-Identifier: MIT */
/*
 * Holds: `fail path DEV` takes a path out of checking until `reinstate path
 * DEV`, keeping its record and counters.  A hold belongs to the device path
 * and the device's identity, not to the record: it survives reconfigure (a
 * path that leaves the configuration and comes back is still held) and,
 * through the state file, restarts; and it applies only while the name
 * still leads to the device that was held.  A name can be reused (a new
 * /dev/sdX, a loop number taken again): then the hold stays in the table,
 * listed by `show holds` and released by `reinstate path`, but the new
 * device is checked, and the log says why once.  Main thread only.
 *
 * The identity (hold_identity()):
 *	wwid:WWID		a block device whose sysfs gives a wwid
 *	devt:MAJ:MIN:DISKSEQ	a block device without one; the disk sequence
 *				number tells a reattached loop or a rescanned
 *				disk from the one held, but only within one
 *				boot: across a reboot only MAJ:MIN is compared
 *	ino:DEV:INO		anything else (files, pathsim paths)
 *
 * The state file STATE_DIR/holds is rewritten whole, atomically (temporary
 * file, fsync, rename, fsync of the directory), on every change: one line
 * per hold,
 *	hold SINCE_EPOCH_S PATH id=IDENTITY boot=BOOT_ID BY...
 * PATH and IDENTITY with bytes <= 0x20, '%', 0x7f and >= 0x80 written %HH.
 * Lines without id= and boot= (written by 0.1) hold by the name alone.
 * STATE_DIR is --state-dir, else the first of $STATE_DIRECTORY, else
 * /var/lib/pathcheckd.
 */
#ifndef PATHCHECKD_HOLD_H
#define PATHCHECKD_HOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct cmd_ctx;
struct daemon;
struct rec;
struct client;

#define DEFAULT_STATE_DIR "/var/lib/pathcheckd"

#define HOLD_ID_MAX	256
#define HOLD_BOOT_MAX	40

struct hold {
	char *dev;		/* canonical device path */
	char *by;		/* "uid 0 pid 1234" */
	time_t since;		/* wall clock */
	char id[HOLD_ID_MAX];	/* the device held; "": by name alone (0.1) */
	char boot[HOLD_BOOT_MAX];	/* /proc/sys/kernel/random/boot_id then */
};

/* Whether a hold applies to the device its path leads to now. */
enum hold_match {
	HOLD_APPLIES,		/* the same device, or a 0.1 hold by name */
	HOLD_OTHER_DEVICE,	/* the name leads to another device now */
};

struct holds {
	char boot[HOLD_BOOT_MAX];	/* this boot's id */
	char *dir;		/* the state directory */
	char *file;		/* dir/holds */
	struct hold *v;
	size_t n, cap;
};

/* Load the state file (a missing file is no holds); logs what it skips.
 * 0 or -errno (out of memory only). */
int  holds_init(struct daemon *d, const char *dir_opt);
void holds_fini(struct daemon *d);
/* A hold on this device path, or NULL (whether it applies or not). */
const struct hold *hold_find(const struct daemon *d, const char *dev);
/* The identity of the device at PATH now, as above; "" if it cannot be
 * stat()ed. */
void hold_identity(const char *path, char *buf, size_t len);
/* recs_add's hook: a new record of a held device starts held. */
void hold_apply(struct daemon *d, struct rec *r);
/* The commands. */
void cmd_fail_path(struct cmd_ctx *x);
void cmd_reinstate_path(struct cmd_ctx *x);
void cmd_show_holds(struct cmd_ctx *x);
/* Paths held now (records), for status lines. */
size_t holds_active(const struct daemon *d);

#endif
