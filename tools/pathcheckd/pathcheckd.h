/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd: one event-loop thread (the "main thread") owns every record,
 * client and the schedule.  Engine workers touch only the result queue
 * (struct results), through on_result.  So everything below except struct
 * results is main-thread-only and takes no lock.
 */
#ifndef PATHCHECKD_H
#define PATHCHECKD_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pathcheck.h"
#include "config.h"
#include "flap.h"

/* --- growable text buffer --------------------------------------------- */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;		/* an append failed: the content is truncated */
};
void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_vprintf(struct sbuf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void sb_append(struct sbuf *b, const char *s, size_t n);
void sb_consume(struct sbuf *b, size_t n);		/* drop n from front */
void sb_free(struct sbuf *b);

/* escape.c: names as text (\xHH) and as JSON (\u, U+FFFD); see there */
void sb_json_str(struct sbuf *b, const char *s);	/* quoted, escaped */
void sb_text_str(struct sbuf *b, const char *s);	/* escaped, unquoted */
const char *text_esc(const char *s, char *buf, size_t len);	/* truncates */
size_t text_esc_len(const char *s);			/* columns of sb_text_str */

/* --- log --------------------------------------------------------------- */
void log_setup(int target, bool debug);	/* enum cfg_log */
void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_engine(void *arg, int prio, const char *msg);	/* pc_options.log */

/* --- time --------------------------------------------------------------- */
uint64_t now_ms(void);			/* CLOCK_MONOTONIC */
void fmt_wall(char *buf, size_t len, uint64_t mono_ms); /* ISO 8601 UTC */

/* --- records: one per path ---------------------------------------------- */

/*
 * What the daemon reports of a path: the engine's finished state refined
 * by its reason, in multipathd's chk_st words.  The record keeps the latest
 * finished check, never "pending": a read in flight is not news.
 */
enum chk_st {
	CHK_UNDEF = 0,		/* no check finished yet */
	CHK_READY,		/* up */
	CHK_FAULTY,		/* down: io error, short read, submit error, open failed */
	CHK_TIMEOUT,		/* down: no answer before the deadline */
	CHK_PENDING,		/* display only: undef with a read in flight */
	CHK_HELD,		/* display only: held out by `fail path` (hold.c) */
	CHK_MARGINAL,		/* display only: flapping or slow (flap.c) */
};
#define CHK_NST (CHK_MARGINAL + 1)	/* number of display states */
const char *chk_st_name(enum chk_st st);	/* "ready", "i/o timeout"... */

/* Reasons beyond the engine's enum pc_reason. */
#define REASON_OPEN_FAILED 100

enum rec_state {
	REC_ACTIVE,		/* in the table and the schedule */
	REC_REMOVED,		/* out of both; freed after the result queue drains */
};

struct client;

struct daemon;

struct rec {
	struct daemon *d;		/* immutable: on_result's way back */
	enum rec_state rstate;
	struct pc_path *path;		/* NULL when the open failed */
	char *dev;			/* canonical path */
	char *name;			/* "sdb" */
	uint64_t rdev;			/* dev_t of a block device; 0: none (format.c) */
	unsigned int interval_ms, timeout_ms;
	unsigned int timeout_line;	/* where timeout_ms came from: a line, */
	bool timeout_sysfs;		/* the device's sysfs timeout, or neither: default */

	/* latest finished check */
	enum chk_st st;
	bool held;			/* `fail path`: not scheduled (hold.c) */
	struct rec_flap fl;		/* marginal and backoff (flap.c) */
	int reason;			/* enum pc_reason or REASON_OPEN_FAILED */
	int error;			/* positive errno */
	uint64_t latency_us;
	uint64_t checks;
	uint64_t transitions;
	uint64_t last_change_ms;	/* monotonic; 0: never */

	/* schedule */
	uint64_t due_ms;
	size_t heap_idx;

	size_t idx;			/* in daemon.recs */
	uint64_t removed_gen;		/* drain_gen when removed */
	struct rec *hnext;		/* device-path index chain */

	/* ids of clients waiting on a `check` of this path */
	uint64_t *waiters;
	size_t nwaiters;
};

/* --- the result queue: workers -> main thread --------------------------- */
struct result_msg {
	struct rec *rec;
	int state;
	struct pc_result res;
};

struct results {
	/*
	 * Protects q/n/cap.  Leaf lock: taken by workers in on_result and by the
	 * main thread to swap the queue out; nothing is called under it.
	 */
	pthread_mutex_t lock;
	struct result_msg *q;
	size_t n, cap;
	bool dropped;		/* out of memory: a result was lost */
	int efd;		/* eventfd, written when q turns non-empty */
};

/* --- latency histogram --------------------------------------------------- */
#define HIST_BUCKETS 18
extern const double hist_bounds_s[HIST_BUCKETS];	/* last is +Inf */
struct hist {
	uint64_t count[HIST_BUCKETS];
	uint64_t n;
	double sum_s;
	double max_s;
};
void hist_add(struct hist *h, double s);
double hist_quantile(const struct hist *h, double q);

/* --- the daemon ---------------------------------------------------------- */
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
	uint64_t events_sent;
	uint64_t results_lost;
};

struct daemon {
	struct config cfg;
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
	uint64_t seq;			/* transition events, daemon-wide */

	int epfd, listen_fd, sig_fd, timer_fd;
	bool listen_paused;		/* out of descriptors: retried each second */
	uint64_t timer_armed_ms;
	uint64_t start_ms, next_metrics_ms, next_housekeeping_ms;
	bool stopping;
	struct counters ctr;
	struct holds *holds;		/* hold.c */
	/* showconfig.c: when the config in force was loaded (wall clock), and
	 * why the last reload was refused (NULL: it was not) and when */
	int64_t config_loaded_at, reload_failed_at;
	char *reload_error;
	const char *state_dir_origin;
	/* notify.c: the watchdog's ping period (0: none), and STATUS= */
	uint64_t watchdog_ms, next_watchdog_ms;
	char *last_status;	/* "--state-dir", "$STATE_DIRECTORY", NULL */
};

/* records.c */
int  recs_add(struct daemon *d, const char *dev, const char *name,
	      unsigned int interval_ms, unsigned int timeout_ms,
	      struct rec **recp);
void recs_remove(struct daemon *d, struct rec *r);
void recs_reap_removed(struct daemon *d, uint64_t gen);
struct rec *recs_find(struct daemon *d, const char *what);
int  recs_apply_config(struct daemon *d, const struct config *cfg);
void recs_free_all(struct daemon *d);
void recs_sort(struct daemon *d);
void rec_display(const struct rec *r, enum chk_st *st);
const char *rec_reason_text(const struct rec *r, char *buf, size_t len);

/* results.c */
int  results_init(struct results *rq);
void results_fini(struct results *rq);
void results_on_result(struct pc_path *path, int state, void *arg);
void results_drain(struct daemon *d);
void rec_finish_check(struct daemon *d, struct rec *r, int state,
		      const struct pc_result *res);

/* sched.c */
void sched_insert(struct daemon *d, struct rec *r, uint64_t due_ms);
void sched_remove(struct daemon *d, struct rec *r);
void sched_run(struct daemon *d, uint64_t now);
uint64_t sched_next_ms(struct daemon *d);	/* UINT64_MAX when empty */
uint64_t sched_spread(const struct rec *r, uint64_t now);

/* ctl.c: the control socket */
int  ctl_listen(struct daemon *d);
void ctl_close(struct daemon *d);
void ctl_accept(struct daemon *d);
void ctl_event(struct daemon *d, struct client *c, uint32_t events);
void ctl_housekeeping(struct daemon *d, uint64_t now);
void ctl_publish(struct daemon *d, const struct sbuf *ev);	/* one event line */
void ctl_publish_transition(struct daemon *d, const struct rec *r,
			    enum chk_st from);
void ctl_check_done(struct daemon *d, struct rec *r);
struct client *ctl_client_by_id(struct daemon *d, uint64_t id);
void ctl_close_all(struct daemon *d);
void ctl_sweep(struct daemon *d);

/* cmds.c */
void cmd_run(struct daemon *d, struct client *c, char *line);
void cmd_reply_check(struct daemon *d, struct client *c, const struct rec *r,
		     bool json);

/* metrics.c */
void metrics_text(struct daemon *d, struct sbuf *b);
int  metrics_write_file(struct daemon *d);
void stats_fill(struct daemon *d, struct pc_stats *st);

/* main.c; epoll tags of the fixed descriptors, clients are tagged by pointer */
enum epoll_tag { TAG_LISTEN = 1, TAG_SIGNAL, TAG_TIMER, TAG_RESULTS };

static inline void *epoll_tag(enum epoll_tag t)
{
	return (void *)(uintptr_t)t;
}

int  daemon_reconfigure(struct daemon *d, char *err, size_t errlen);
void daemon_request_stop(struct daemon *d);
void epoll_watch(struct daemon *d, int fd, uint32_t events, void *ptr);
void epoll_modify(struct daemon *d, int fd, uint32_t events, void *ptr);

#endif
