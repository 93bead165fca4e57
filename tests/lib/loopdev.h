/* SPDX-License-Identifier: MIT */
/*
 * Loop devices a test owns, by number, for hotplug tests.  Other tests
 * and programs on the machine make loop devices too (losetup -f takes the
 * lowest free one), so a hotplug test makes its own nodes with
 * LOOP_CTL_ADD at a high range of numbers nobody uses, names exactly
 * those in its daemon's config, and only ever detaches and removes those.
 *
 *	struct loopset ls;
 *	PC_REQUIRE(loopset_new(&ls, 200) == 0);	(nodes made, unbound: size 0)
 *	loop_bind(ls.first + i, file) ... loop_unbind(...)
 *	loopset_free(&ls);	(detaches and removes every node it made)
 */
#ifndef PC_LOOPDEV_H
#define PC_LOOPDEV_H

#include <stdbool.h>
#include <stddef.h>

struct loopset {
	int first;		/* nodes first .. first + n - 1 */
	unsigned int n;
	int ctl;		/* /dev/loop-control */
};

/* Why loop devices cannot be made here (not root, no loop-control), or NULL. */
const char *loop_unavailable(void);

/* n new nodes at consecutive free numbers: 0 or -errno. */
int loopset_new(struct loopset *ls, unsigned int n);
/* Detach (LOOP_CLR_FD) and remove (LOOP_CTL_REMOVE) every node of the set. */
void loopset_free(struct loopset *ls);

/* /dev/loopN */
void loop_node(int nr, char *buf, size_t len);
/* A `path` rule that matches /dev/loopN and nothing else, as a glob
 * ("/dev/loop412[3]"), so the node's absence lists nothing. */
void loop_rule(int nr, char *buf, size_t len);

int loop_bind(int nr, const char *file);	/* LOOP_SET_FD: 0 or -errno */
int loop_unbind(int nr);			/* LOOP_CLR_FD (losetup -d) */
int loop_set_capacity(int nr);			/* LOOP_SET_CAPACITY (losetup -c) */
/* Sectors by sysfs; 0 unbound, -errno if no such device. */
long long loop_size(int nr);
/* Bound to a file: /sys/block/loopN/loop exists. */
bool loop_bound(int nr);
/* A synthetic "remove" uevent for it, as when SCSI deletes a device. */
int loop_uevent(int nr, const char *action);

#endif
