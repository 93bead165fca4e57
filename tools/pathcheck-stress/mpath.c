/* SPDX-License-Identifier: MIT */
/*
 * --baseline multipath-directio: multipath-tools' own directio path checker,
 * the real libcheckdirectio.so loaded at run time, driven over the same
 * paths the way multipathd drives it, for the throughput comparison of
 * docs/performance.md (row 2d).
 *
 * How multipathd 0.9.4 drives it: one checker loop thread walks all paths
 * and calls the class's check function (checker_check() -> libcheck_check())
 * on each path that is due, with the class set to async.  An async call
 * either starts a read (the path's req goes PENDING) or looks at a read
 * started by an earlier call; each call reaps whatever completions its aio
 * group has (io_getevents, waiting at most 1 us), so a later call on the
 * path returns UP or DOWN.  A path that stays PENDING is checked again on
 * the next tick.
 *
 * The emulation: one thread, round after round over all N paths, one
 * libcheck_check() per path per round, no pacing: multipathd only ticks
 * once a second, so this is the fastest that checker can be driven from
 * one loop.  A call returning UP or DOWN is one finished check; a call
 * returning PENDING is a pending poll.  It is fair to the checker: the
 * same devices, the same number of paths, the same duration and, like
 * multipathd's checker loop and like pathcheck's batch row, one
 * application thread (pathcheck's engine adds its worker threads, which
 * reap completions; this checker reaps them in the calling thread).
 *
 * Shared state: 0.9.4's checker keeps its aio groups (one io_context per
 * 1024 paths) in a list global to the library; libcheck_init joins or
 * creates one, libcheck_free leaves it (a read still in flight becomes an
 * orphan of the group), and only libcheck_reset() destroys the groups.
 * Nothing is needed at start (0.9.4's directio has no libcheck_mp_init);
 * at the end every checker is freed, then libcheck_reset() is called, as
 * multipathd does when it unloads the class.  io_destroy there waits for
 * reads still held by the kernel, so on a hung device the exit waits too.
 *
 * Scheduling: multipathd 0.9.4 puts itself in SCHED_RR at priority 99
 * (setscheduler() in multipathd/main.c), and so does this loop unless
 * --sched other.  It matters: a poll that finds nothing waits in
 * io_getevents() for 1 us, which the kernel stretches by the thread's
 * timer slack, 50 us for SCHED_OTHER but 0 for real-time threads (on
 * recent kernels; 6.18 here).
 *
 * The checker's own timeout: checker_timeout is in seconds, and the async
 * path compares it with the number of polls of a pending read (it assumes
 * one poll a second).  30 s, multipathd's default for a device without a
 * SCSI timeout, like a loop device.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#include "stress.h"

/*
 * The checker object as multipath-tools 0.9.4 (libmultipath ABI node
 * LIBMULTIPATH_17.0.0) lays it out.  Upstream keeps the definition inside
 * libmultipath; this is our own description of its ABI.  The offsets were
 * read from 0.9.4's checkers.h and confirmed on the Debian 12 binaries:
 * libcheck_check() loads context from +24, fd from +8 and timeout from
 * +12 and stores a 16-bit msgid at +20; checker_is_sync() loads the class
 * pointer from +0 and the class's sync flag from +28.
 */
struct mp_checker_class;

struct mp_checker {
	struct mp_checker_class *cls;	/* +0  the class: sync flag */
	int fd;				/* +8  the path's fd */
	unsigned int timeout;		/* +12 checker_timeout, seconds */
	int disable;			/* +16 seen by checker_check() only */
	short msgid;			/* +20 set by every check */
	void *context;			/* +24 the checker's per-path state */
	void **mpcontext;		/* +32 per-map state (directio: none) */
};

/*
 * libmultipath's class object, only as far as the plugin reaches into it:
 * checker_is_sync() reads sync.  The loader's list node, dlopen handle and
 * refcount come first; function pointers after name are never read by
 * the plugin, so they are left out.
 */
struct mp_checker_class {
	void *node_next, *node_prev;	/* +0  */
	void *handle;			/* +16 */
	int refcount;			/* +24 */
	int sync;			/* +28 */
	char name[16];			/* +32 */
};

_Static_assert(offsetof(struct mp_checker, fd) == 8, "0.9.4 ABI");
_Static_assert(offsetof(struct mp_checker, timeout) == 12, "0.9.4 ABI");
_Static_assert(offsetof(struct mp_checker, disable) == 16, "0.9.4 ABI");
_Static_assert(offsetof(struct mp_checker, msgid) == 20, "0.9.4 ABI");
_Static_assert(offsetof(struct mp_checker, context) == 24, "0.9.4 ABI");
_Static_assert(offsetof(struct mp_checker, mpcontext) == 32, "0.9.4 ABI");
_Static_assert(sizeof(struct mp_checker) == 40, "0.9.4 ABI");
_Static_assert(offsetof(struct mp_checker_class, sync) == 28, "0.9.4 ABI");

/* 0.9.4's enum path_check_state and the message ids directio sets. */
enum mp_state {
	MP_WILD, MP_UNCHECKED, MP_DOWN, MP_UP, MP_SHAKY, MP_GHOST, MP_PENDING,
};
enum mp_msgid {
	MP_MSGID_UP = 4,		/* generic "reports path is up" */
	MP_MSGID_DOWN = 5,		/* generic "reports path is down" */
	MP_MSGID_UNKNOWN = 100,		/* directio's first: not available */
	MP_MSGID_PENDING = 101,		/* directio: waiting on aio */
};

#define MP_ABI_NODE "LIBMULTIPATH_17.0.0"
#define MP_CHECKER_TIMEOUT_S 30

struct mp_lib {
	void *util, *mp, *plugin;
	int (*init)(struct mp_checker *);
	int (*check)(struct mp_checker *);
	void (*free)(struct mp_checker *);
	void (*reset)(void);
	int (*is_sync)(const struct mp_checker *);
};

struct mp_counts {
	uint64_t up, down, pending, unchecked, other, bad_msgid;
	short msgid[MP_PENDING + 1];	/* the last msgid seen per state */
};

static volatile sig_atomic_t mp_stop;

static void mp_on_signal(int sig)
{
	(void)sig;
	mp_stop = 1;
}

/* The plugin's directory: $PATHCHECK_MULTIPATH_DIR, or where distributions
 * install it. */
static int mp_find_plugin(char *buf, size_t len)
{
	static const char *const dirs[] = {
		"/lib/multipath", "/usr/lib/multipath", "/lib64/multipath",
		"/usr/lib64/multipath", NULL,
	};
	const char *env = getenv("PATHCHECK_MULTIPATH_DIR");
	unsigned int i;

	if (env && *env) {
		snprintf(buf, len, "%s/libcheckdirectio.so", env);
		return access(buf, R_OK) ? -ENOENT : 0;
	}
	for (i = 0; dirs[i]; i++) {
		snprintf(buf, len, "%s/libcheckdirectio.so", dirs[i]);
		if (!access(buf, R_OK))
			return 0;
	}
	return -ENOENT;
}

static void *mp_dlopen(const char *name, int flags)
{
	void *h = dlopen(name, flags);

	if (!h)
		fprintf(stderr, "pathcheck-stress: dlopen %s: %s\n", name, dlerror());
	return h;
}

static void mp_lib_close(struct mp_lib *lib)
{
	if (lib->plugin)
		dlclose(lib->plugin);
	if (lib->mp)
		dlclose(lib->mp);
	if (lib->util)
		dlclose(lib->util);
	memset(lib, 0, sizeof(*lib));
}

/* dlsym into a function pointer without a cast between object and
 * function pointers. */
static int mp_sym(void *h, const char *name, void *fnp)
{
	void *sym = dlsym(h, name);

	if (!sym) {
		fprintf(stderr, "pathcheck-stress: %s: %s\n", name, dlerror());
		return -ENOENT;
	}
	memcpy(fnp, &sym, sizeof(sym));
	return 0;
}

/*
 * The plugin's undefined symbols (checker_is_sync, dlog, timespecsub...)
 * come from libmultipath and libmpathutil: load those first, global.
 */
static int mp_lib_open(struct mp_lib *lib)
{
	char path[4096];
	void *sym;

	memset(lib, 0, sizeof(*lib));
	if (mp_find_plugin(path, sizeof(path))) {
		fprintf(stderr, "pathcheck-stress: multipath-tools' libcheckdirectio.so "
			"not found: install multipath-tools\n");
		return -ENOENT;
	}
	lib->util = mp_dlopen("libmpathutil.so.0", RTLD_NOW | RTLD_GLOBAL);
	if (lib->util)
		lib->mp = mp_dlopen("libmultipath.so.0", RTLD_NOW | RTLD_GLOBAL);
	if (lib->mp)
		lib->plugin = mp_dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib->plugin)
		goto fail;
	/* The struct layout above is 0.9.4's: refuse another ABI. */
	sym = dlvsym(lib->mp, "checker_is_sync", MP_ABI_NODE);
	if (!sym) {
		fprintf(stderr, "pathcheck-stress: libmultipath.so.0 is not ABI %s "
			"(multipath-tools 0.9.4), the only checker ABI this baseline knows\n",
			MP_ABI_NODE);
		goto fail;
	}
	memcpy(&lib->is_sync, &sym, sizeof(sym));
	if (mp_sym(lib->plugin, "libcheck_init", &lib->init) ||
	    mp_sym(lib->plugin, "libcheck_check", &lib->check) ||
	    mp_sym(lib->plugin, "libcheck_free", &lib->free) ||
	    mp_sym(lib->plugin, "libcheck_reset", &lib->reset))
		goto fail;
	return 0;
fail:
	mp_lib_close(lib);
	return -ENOENT;
}

/* The sync flag must be where checker_is_sync() looks for it. */
static int mp_abi_probe(const struct mp_lib *lib)
{
	struct mp_checker_class cls = { .sync = 1 };
	struct mp_checker c = { .cls = &cls, .fd = -1 };
	int on = lib->is_sync(&c), off;

	cls.sync = 0;
	off = lib->is_sync(&c);
	if (on && !off)
		return 0;
	fprintf(stderr, "pathcheck-stress: checker_is_sync() does not read the "
		"sync flag where 0.9.4 keeps it: ABI mismatch\n");
	return -EPROTO;
}

static int mp_paths_open(const struct mp_lib *lib, struct mp_checker *c,
			 struct mp_checker_class *cls, char **devs,
			 unsigned int ndevs, unsigned int npaths, unsigned int *n)
{
	for (*n = 0; *n < npaths; (*n)++) {
		const char *dev = devs[*n % ndevs];
		struct mp_checker *ck = &c[*n];

		/* multipathd opens paths plainly; the checker adds O_DIRECT
		 * and takes it off again in libcheck_free */
		ck->fd = open(dev, O_RDONLY | O_CLOEXEC);
		if (ck->fd < 0) {
			fprintf(stderr, "pathcheck-stress: %s: %s\n", dev, strerror(errno));
			return -errno;
		}
		ck->cls = cls;
		ck->timeout = MP_CHECKER_TIMEOUT_S;
		if (lib->init(ck)) {
			fprintf(stderr, "pathcheck-stress: libcheck_init failed for path %u "
				"(%s); fs.aio-max-nr too small?\n", *n, dev);
			close(ck->fd);
			ck->fd = -1;
			return -EIO;
		}
	}
	return 0;
}

static void mp_paths_free(const struct mp_lib *lib, struct mp_checker *c,
			  unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		lib->free(&c[i]);
		close(c[i].fd);
	}
	lib->reset();		/* destroys the aio groups and their orphans */
}

static void mp_count(struct mp_counts *k, int state, short msgid)
{
	short want;

	switch (state) {
	case MP_UP: k->up++; want = MP_MSGID_UP; break;
	case MP_DOWN: k->down++; want = MP_MSGID_DOWN; break;
	case MP_PENDING: k->pending++; want = MP_MSGID_PENDING; break;
	case MP_UNCHECKED: k->unchecked++; want = MP_MSGID_UNKNOWN; break;
	default: k->other++; return;
	}
	k->msgid[state] = msgid;
	if (msgid != want)
		k->bad_msgid++;
}

static void mp_progress(double t0, double now, uint64_t done, uint64_t *last,
			uint64_t pending, uint64_t *last_pending)
{
	fprintf(stderr, "%6.1fs %8" PRIu64 " checks/s  %8" PRIu64 " pending polls/s\n",
		now - t0, done - *last, pending - *last_pending);
	*last = done;
	*last_pending = pending;
}

/* multipathd's scheduling; "other" when asked or not permitted. */
static const char *mp_sched_enter(int rt)
{
	struct sched_param sp = { .sched_priority = 99 };

	if (!rt)
		return "other";
	if (sched_setscheduler(0, SCHED_RR, &sp)) {
		fprintf(stderr, "pathcheck-stress: cannot run SCHED_RR at priority 99 "
			"as multipathd does (%s): measuring with SCHED_OTHER\n",
			strerror(errno));
		return "other";
	}
	return "rr99";
}

static void mp_sched_leave(void)
{
	struct sched_param sp = { .sched_priority = 0 };

	sched_setscheduler(0, SCHED_OTHER, &sp);
}

/* multipathd's checker loop without its one-second tick. */
static double mp_drive(const struct mp_lib *lib, struct mp_checker *c,
		       unsigned int n, double duration, int quiet,
		       struct mp_counts *k)
{
	double t0 = now_s(), end = t0 + duration, next = t0 + 1, now = t0;
	uint64_t last = 0, last_pending = 0;
	unsigned int i;

	while (!mp_stop && now < end) {
		for (i = 0; i < n && !mp_stop; i++) {
			int state = lib->check(&c[i]);

			mp_count(k, state, c[i].msgid);
			now = now_s();
			if (now >= end)
				break;
			if (now >= next) {
				if (!quiet)
					mp_progress(t0, now, k->up + k->down, &last,
						    k->pending, &last_pending);
				next += 1;
			}
		}
	}
	return now - t0;
}

static void mp_report(const struct mp_counts *k, unsigned int n, double wall,
		      const char *sched, int json)
{
	uint64_t checks = k->up + k->down;
	double cps = wall > 0 ? (double)checks / wall : 0;

	if (json) {
		printf("{\"baseline\":\"multipath-directio\",\"paths\":%u,\"checks\":%" PRIu64
		       ",\"checks_per_s\":%.0f,\"pending_polls\":%" PRIu64 ",\"up\":%" PRIu64
		       ",\"down\":%" PRIu64 ",\"unchecked\":%" PRIu64 ",\"bad_msgid\":%" PRIu64
		       ",\"checker_timeout_s\":%d,\"sched\":\"%s\",\"wall_s\":%.3f}\n",
		       n, checks, cps, k->pending, k->up, k->down, k->unchecked,
		       k->bad_msgid + k->other, MP_CHECKER_TIMEOUT_S, sched, wall);
		return;
	}
	printf("baseline multipath-directio (multipath-tools 0.9.4 libcheckdirectio.so, "
	       "one thread, async, sched %s): %u paths, %.2f s\n", sched, n, wall);
	printf("checks %" PRIu64 " (%.0f/s)  up %" PRIu64 "  down %" PRIu64
	       "  pending polls %" PRIu64 "  unchecked %" PRIu64 "\n",
	       checks, cps, k->up, k->down, k->pending, k->unchecked);
	printf("last msgid: up %d  down %d  pending %d  (expected %d %d %d); "
	       "unexpected %" PRIu64 "\n",
	       k->msgid[MP_UP], k->msgid[MP_DOWN], k->msgid[MP_PENDING],
	       MP_MSGID_UP, MP_MSGID_DOWN, MP_MSGID_PENDING, k->bad_msgid + k->other);
}

int baseline_multipath(char **devs, unsigned int ndevs, unsigned int npaths,
		       double duration, int rt, int json, int quiet)
{
	const char *sched;
	struct mp_checker_class cls = { .sync = 0, .name = "directio" };
	struct mp_counts k = { 0 };
	struct mp_checker *c;
	struct mp_lib lib;
	unsigned int n = 0;
	double wall;
	int ret;

	if (mp_lib_open(&lib))
		return 2;
	if (mp_abi_probe(&lib)) {
		mp_lib_close(&lib);
		return 2;
	}
	c = calloc(npaths, sizeof(*c));
	if (!c) {
		mp_lib_close(&lib);
		return 2;
	}
	ret = mp_paths_open(&lib, c, &cls, devs, ndevs, npaths, &n);
	if (ret == 0) {
		signal(SIGINT, mp_on_signal);
		signal(SIGTERM, mp_on_signal);
		sched = mp_sched_enter(rt);
		wall = mp_drive(&lib, c, n, duration, quiet, &k);
		if (strcmp(sched, "other"))
			mp_sched_leave();
		mp_report(&k, n, wall, sched, json);
	}
	mp_paths_free(&lib, c, n);
	free(c);
	mp_lib_close(&lib);
	if (ret)
		return 2;
	/* a message id where the ABI says none goes: the layout is wrong */
	return k.bad_msgid || k.other ? 1 : 0;
}
