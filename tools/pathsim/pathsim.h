/* SPDX-License-Identifier: MIT */
/*
 * pathsim: a FUSE file system of simulated storage paths whose reads can be
 * made to fail, slow down or hang at run time.  See docs/pathsim.md.
 */
#ifndef PATHSIM_H
#define PATHSIM_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "simmode.h"

#define PS_MAX_PATHS	1000000u
#define PS_MIN_SIZE	(1ull << 20)
#define PS_MAX_SIZE	(1ull << 40)
#define PS_POLL_MS	100		/* parent watch interval */

/* Exit codes of the program. */
enum {
	PS_EXIT_OK = 0,
	PS_EXIT_ERROR = 1,
	PS_EXIT_USAGE = 2,
	PS_EXIT_NOMOUNT = 3,	/* FUSE could not be mounted here */
};

/* Paths [first, end) of a command. */
struct ps_range {
	unsigned int first;
	unsigned int end;
};

enum ps_cmd_kind {
	PS_CMD_SET,
	PS_CMD_RELEASE,
	PS_CMD_RESET,
};

struct ps_cmd {
	enum ps_cmd_kind kind;
	struct ps_range range;
	struct sim_mode mode;
};

/* ctl_parse.c: the control language (parser) and the table, no FUSE in here */
int ps_parse_target(const char *s, unsigned int npaths, struct ps_range *r);
int ps_parse_commands(const char *text, size_t len, unsigned int npaths,
		      struct ps_cmd **cmds, size_t *ncmds);

/* Counters of one path, as the control table shows them. */
struct ps_counts {
	unsigned long reads;	/* read requests received */
	unsigned long ok;	/* answered with every byte asked */
	unsigned long failed;	/* answered with EIO */
	unsigned long shortreads; /* answered with fewer bytes */
	unsigned long hung;	/* held by a hung mode right now */
};

struct ps_path {
	struct sim_mode mode;
	struct ps_counts counts;
};

/* Where a read the server keeps is. */
enum ps_held_state {
	PS_HELD_HUNG,		/* on the hung list until released */
	PS_HELD_TIMED,		/* in the timer heap until due_us */
};

struct ps_held {
	fuse_req_t req;
	unsigned int path;
	size_t len;		/* bytes a full answer has */
	enum ps_held_state state;
	uint64_t due_us;
	uint64_t seq;		/* FIFO order among equal deadlines */
	struct ps_held *prev, *next;
};

enum ps_run_state {
	PS_RUNNING,
	PS_STOPPING,		/* every read is answered EIO at once */
};

struct ps_sim {
	pthread_mutex_t lock;
	pthread_cond_t timer_cond;
	pthread_t timer;
	bool timer_started;
	bool timer_stop;
	enum ps_run_state state;
	unsigned int npaths;
	uint64_t size;
	uint64_t seed;
	uint64_t rng;
	struct ps_path *paths;
	struct ps_held hung;	/* list head of hung reads */
	struct ps_held **heap;	/* timed reads, earliest first */
	size_t heap_len, heap_cap;
	uint64_t seq;
};

/* sim.c: modes, counters and held reads */
int ps_sim_init(struct ps_sim *sim, unsigned int npaths, uint64_t size,
		uint64_t seed);
void ps_sim_destroy(struct ps_sim *sim);
int ps_sim_start_timer(struct ps_sim *sim);
void ps_sim_read(struct ps_sim *sim, unsigned int path, fuse_req_t req,
		 size_t size, off_t off);
void ps_sim_apply(struct ps_sim *sim, const struct ps_cmd *cmds, size_t n);
int ps_sim_table(struct ps_sim *sim, char **buf, size_t *len);
void ps_sim_stop(struct ps_sim *sim);

/* fs.c: the FUSE side */
struct ps_snap;

struct ps_fs {
	struct ps_sim *sim;
	struct fuse_session *se;
	pthread_t thread;
	bool thread_started;
	int stop_fd;		/* eventfd: asks the session thread to end */
	int done_fd;		/* eventfd: the session thread ended */
	uid_t uid;
	gid_t gid;
	struct timespec birth;
	struct ps_snap *snaps;	/* open control files */
};

int ps_fs_mount(struct ps_fs *fs, struct ps_sim *sim, const char *mnt,
		bool debug);
int ps_fs_start(struct ps_fs *fs);
void ps_fs_stop(struct ps_fs *fs);
void ps_fs_unmount(struct ps_fs *fs);

/* loopdev.c */
struct ps_loop {
	char dev[32];
	int fd;			/* kept open: autoclear detaches at our exit */
	bool direct_io;
};

int ps_loop_attach(const char *file, unsigned int block_size,
		   struct ps_loop *lo);
void ps_loop_detach(struct ps_loop *lo);

/* watch.c: notices a process starting to exit */
struct ps_watch {
	pid_t pid;
	unsigned long long start_time;
};

int ps_watch_init(struct ps_watch *w, pid_t pid);
bool ps_watch_gone(const struct ps_watch *w);

/* ctl_client.c: pathsim ctl ..., the client of MOUNTPOINT/control */
int ps_ctl_main(int argc, char **argv);

#endif
