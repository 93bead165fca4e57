/* SPDX-License-Identifier: MIT */
/*
 * Devices that come and go (hotplug.c): block uevents add and remove
 * configured paths, and every removal says why.  Main-thread state.
 */
#ifndef PATHCHECKD_HOTPLUG_H
#define PATHCHECKD_HOTPLUG_H

struct daemon;
struct rec;

/* why a path left */
enum rm_cause { RM_DEVICE_GONE, RM_CONFIG, RM_COMMAND, RM_NCAUSES };

struct hotplug {
	void *udev;			/* struct udev */
	void *mon;			/* struct udev_monitor */
	int fd;				/* -1: not following uevents */
	const char *source;		/* "udev" or "kernel" */
};

int  hotplug_start(struct daemon *d);
void hotplug_stop(struct daemon *d);
void hotplug_event(struct daemon *d);
void path_removed(struct daemon *d, struct rec *r, enum rm_cause cause);
const char *rm_cause_word(enum rm_cause cause);

#endif
