/* SPDX-License-Identifier: MIT */
/*
 * Reconfigures that merge and never stall the loop (reconf.c).
 * Main-thread state, except the helper thread, which touches only
 * struct reconf's load fields until it writes reconf.efd (and the main
 * thread joins it before reading them).
 */
#ifndef PATHCHECKD_RECONF_H
#define PATHCHECKD_RECONF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct daemon;
struct client;

enum reconf_phase {
	RECONF_IDLE,
	RECONF_LOADING,		/* the helper thread reads and expands the file */
	RECONF_REMOVING,	/* slices: paths the new config drops */
	RECONF_ADDING,		/* slices: paths it adds */
};

struct idlist {
	uint64_t *id;
	size_t n;
};

struct reconf {
	enum reconf_phase phase;
	bool queued;			/* one more must run after this one */
	struct idlist waiters;		/* clients answered when this one ends */
	struct idlist queued_waiters;	/* ... when the queued one ends */
	int efd;			/* eventfd: the helper thread is done */
	pthread_t thread;
	bool thread_live;		/* created, not joined */
	char *file;			/* what the thread reads */
	/* written by the thread, read after the join */
	struct config cfg;
	struct cfg_dev *devs;
	size_t ndevs;
	int ret;
	char err[512];
	/* the apply, in slices */
	char **gone;			/* device paths to remove */
	size_t ngone, next;
	size_t added, removed;
	int apply_err;
	uint64_t t0_ms;
};

int  reconf_init(struct daemon *d);
void reconf_fini(struct daemon *d);
void reconf_request(struct daemon *d, struct client *c);
void reconf_loaded(struct daemon *d);
bool reconf_busy(const struct daemon *d);
void reconf_step(struct daemon *d);

#endif
