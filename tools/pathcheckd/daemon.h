/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd: one event-loop thread (the "main thread") owns every record,
 * client and the schedule.  Engine workers touch only the result queue
 * (results.h), through on_result.  So everything here except struct
 * results is main-thread-only and takes no lock.
 */
#ifndef PATHCHECKD_DAEMON_H
#define PATHCHECKD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "pathcheck.h"
#include "config.h"
#include "hist.h"
#include "hotplug.h"
#include "limits.h"
#include "logbudget.h"
#include "reconf.h"
#include "records.h"
#include "results.h"

struct client;

/* Counters of the host modules (hotplug, limits, log budget, reconfigure). */
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

/* The daemon on a real server: devices that come and go, the machine's
 * limits, the log budget and reconfigures run in slices by the loop. */
struct host {
	struct hotplug hp;
	struct limits lim;
	struct logbudget lb;
	struct reconf rc;
};

struct counters {
	uint64_t transitions;
	uint64_t checks_started;	/* reads started by the schedule */
	uint64_t checks_busy;		/* due, but the previous read still in the kernel */
	uint64_t results;		/* results processed */
	uint64_t schedule_slips;	/* fell a whole interval behind */
	uint64_t clients_accepted;
	uint64_t clients_dropped;	/* slow or overlong */
	uint64_t commands;
	uint64_t command_errors;
	uint64_t reconfigures;
	uint64_t reconfigure_errors;
	uint64_t path_open_failures;	/* opens that failed, retries included */
	uint64_t events_sent;
	uint64_t results_lost;
	struct host_counters host;
};

struct daemon {
	struct config cfg;
	/* The settings that take effect at restart, as they were at start:
	 * in force whatever a reload read (show config, the limit advice). */
	struct config started;
	char *config_file;
	char *socket_path;		/* in use (from -s or the config) */
	char *metrics_file;		/* from --metrics-file or the config */
	bool socket_from_cli, metrics_from_cli, log_from_cli, debug;
	int log_cli;			/* enum cfg_log given by -f or --log */

	struct pc_engine *engine;
	struct results results;

	/* records: sorted by name then dev when recs_sorted */
	struct rec **recs;
	size_t nrecs, caprecs;
	bool recs_sorted;
	struct rec **buckets;		/* index by device path */
	size_t nbuckets;
	struct rec **removed;		/* REC_REMOVED, awaiting the drain */
	uint64_t drain_gen;		/* result-queue swaps so far */
	size_t nremoved, capremoved;

	/* schedule: min-heap on due_ms */
	struct rec **heap;
	size_t nheap;			/* capacity: caprecs */
	struct hist lag;		/* start time - due time */
	struct hist latency;		/* check latency */

	/* clients */
	struct client **clients;
	size_t nclients, capclients;
	uint64_t next_client_id;
	size_t subscribers;
	bool client_dead;		/* ctl_sweep has clients to free */
	bool resume_clients;		/* ... or held-back lines to run */
	uint64_t turn;			/* event-loop turns (ctl_sweep): clients' shares */
	int spare_fds[4];		/* CTL_SPARE_FDS, kept for root; -1: in use */
	uint64_t seq;			/* transition events, daemon-wide */

	int epfd, listen_fd, sig_fd, timer_fd;
	bool listen_paused;		/* out of descriptors: retried each second */
	uint64_t timer_armed_ms;
	uint64_t start_ms, next_metrics_ms, next_housekeeping_ms;
	bool stopping;
	struct counters ctr;
	struct host host;
	struct holds *holds;		/* hold.c: paths held by `fail path` */
	/* showconfig.c: when the config in force was loaded (wall clock), and
	 * why the last reload was refused (NULL: it was not) and when */
	int64_t config_loaded_at, reload_failed_at;
	char *reload_error;
	const char *state_dir_origin;	/* "--state-dir", "$STATE_DIRECTORY", NULL */
	/* notify.c: the watchdog's ping period (0: none), and STATUS= */
	uint64_t watchdog_ms, next_watchdog_ms;
	char *last_status;
};

/* The longest a piece of large work (a reconfigure's apply, the retry of
 * unopened paths, a storm of uevents) runs before the loop takes its turn:
 * so a due check or a command waits at most this long behind it. */
#define LOOP_SLICE_MS	5

/* main.c: the event loop.  Tags of the fixed descriptors; a client is tagged by its pointer. */
enum loop_tag { TAG_LISTEN = 1, TAG_SIGNAL, TAG_TIMER, TAG_RESULTS, TAG_UEVENT,
		TAG_RECONF };

static inline void *loop_tag(enum loop_tag t)
{
	return (void *)(uintptr_t)t;
}

void daemon_apply_settings(struct daemon *d, const struct config *old,
			   const struct config *cfg);
void daemon_request_stop(struct daemon *d);
void loop_watch(struct daemon *d, int fd, uint32_t events, void *ptr);
void loop_modify(struct daemon *d, int fd, uint32_t events, void *ptr);

#endif
