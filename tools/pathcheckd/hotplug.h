/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd on a real server: devices that come and go (hotplug.c), the
 * machine's limits (limits.c), the log budget (logbudget.c) and
 * reconfigures that merge and never stall the loop (reconf.c).  All of it
 * is main-thread state, except the reconfigure's helper thread, which
 * touches only struct reconf's load fields until it writes reconf.efd (and
 * the main thread joins it before reading them).
 */
#ifndef PATHCHECKD_HOTPLUG_H
#define PATHCHECKD_HOTPLUG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct daemon;
struct rec;
struct client;
struct sbuf;

/* --- why a path left ------------------------------------------------------ */
enum rm_cause { RM_DEVICE_GONE, RM_CONFIG, RM_COMMAND, RM_NCAUSES };

struct host_counters {
	uint64_t removed[RM_NCAUSES];
	uint64_t added_hotplug;		/* paths added by a uevent */
	uint64_t uevents;		/* block uevents read */
	uint64_t uevents_lost;		/* receive buffer overflows */
	uint64_t log_suppressed;	/* per-path lines over the budget */
	uint64_t reconfigure_requests;	/* reconfigure commands and SIGHUPs */
	uint64_t reconfigures_merged;	/* ... that joined a waiting one */
	uint64_t open_retries;		/* opens of unopened paths retried */
};

/* --- limits.c -------------------------------------------------------------- */
#define LIMITS_FD_RESERVE	64	/* descriptors paths never take */
#define LIMITS_BACKOFF_MIN_MS	1000
#define LIMITS_BACKOFF_MAX_MS	8000

struct limits {
	unsigned long long nofile_start;	/* soft limit we were started with */
	bool report_due;		/* a path newly failed on a limit */
	bool retry_more;		/* a retry pass ran out of its slice */
};

/* --- logbudget.c ------------------------------------------------------------ */
#define LOGB_FIRST	20		/* names shown in a summary */
#define LOGB_NAME	64

/* The per-path lines the budget covers, one summary line each a second. */
enum logb_kind {
	LOGB_UP, LOGB_TIMEOUT, LOGB_FAULTY,	/* transitions */
	LOGB_MARGINAL, LOGB_UNMARGINAL,		/* flap.c's */
	LOGB_ADDED, LOGB_OPENED,		/* hotplug */
	LOGB_HOLD_OTHER,			/* hold.c: another device */
	LOGB_REMOVED,				/* + enum rm_cause */
	LOGB_NKINDS = LOGB_REMOVED + RM_NCAUSES
};

struct logbudget {
	uint64_t window_ms;		/* start of the current second */
	unsigned int used;		/* lines logged in it */
	struct {
		uint64_t count;
		unsigned int nnames;
		char names[LOGB_FIRST][LOGB_NAME];
	} k[LOGB_NKINDS];
};

/* --- reconf.c ----------------------------------------------------------------- */
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

/* --- hotplug.c ------------------------------------------------------------------ */
struct hotplug {
	void *udev;			/* struct udev */
	void *mon;			/* struct udev_monitor */
	int fd;				/* -1: not following uevents */
	const char *source;		/* "udev" or "kernel" */
};

struct host {
	struct hotplug hp;
	struct limits lim;
	struct logbudget lb;
	struct reconf rc;
};

/* hotplug.c */
int  hotplug_start(struct daemon *d);
void hotplug_stop(struct daemon *d);
void hotplug_event(struct daemon *d);
void path_removed(struct daemon *d, struct rec *r, enum rm_cause cause);
const char *rm_cause_word(enum rm_cause cause);

/* limits.c */
void limits_init(struct daemon *d);
int  limits_open(struct daemon *d, struct rec *r);
void limits_retry(struct daemon *d, uint64_t now);
void limits_report(struct daemon *d);
void limits_metrics(struct daemon *d, struct sbuf *b);
size_t limits_unopened(struct daemon *d);

/* util.c: the engine's lines from this thread go to debug while on */

/* logbudget.c */
bool logbudget_take(struct daemon *d, const char *name, enum logb_kind k);
void logbudget_tick(struct daemon *d, uint64_t now);

/* reconf.c */
int  reconf_init(struct daemon *d);
void reconf_fini(struct daemon *d);
void reconf_request(struct daemon *d, struct client *c);
void reconf_loaded(struct daemon *d);
bool reconf_busy(const struct daemon *d);
void reconf_step(struct daemon *d);

/* the loop's hooks (limits.c) */
bool host_busy(const struct daemon *d);	/* work left: poll, do not sleep */
void host_step(struct daemon *d);		/* one slice of it */
void host_housekeeping(struct daemon *d, uint64_t now);	/* every second */

#endif
