/* SPDX-License-Identifier: MIT */
/*
 * A multipathd model for the checker plugins (tests/multipath_*.c and
 * bench/multipath.sh): loads a libcheck*.so the way libmultipath does and
 * drives it with a family's checker loop.  Include after the family's
 * "checkers.h" (multipath/mpt-F/); LIBCHECK_HAS_PENDING selects the loop.
 *
 *  - 0.9 family: each tick calls libcheck_check() on every path (after
 *    checker_check()'s own checks); PATH_PENDING is asked again next tick.
 *  - 0.11 family: each tick starts every path with libcheck_check(); if
 *    libcheck_need_wait() says so for any, sleeps 5 ms, then collects each
 *    pending path with libcheck_pending() into path_state; 0.14's
 *    PATH_DISCONNECTED counts as PATH_DOWN, as multipathd maps it.
 *
 * The plugins' undefined symbols (directio's checker_is_sync, dlog...; the
 * pathcheck plugin's libpathcheck.so.0) are loaded first, RTLD_GLOBAL, as
 * multipathd has them: libmultipath and libmpathutil from multipath-tools,
 * libpathcheck.so.0 from the build directory.  The class object is laid
 * out as libmultipath keeps it, as far as checker_is_sync() reads it (the
 * sync flag at +28 from 0.9.0 to 0.14.x).
 */
#ifndef PC_MPT_DRIVER_H
#define PC_MPT_DRIVER_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct checker_class {
	void *node_next, *node_prev;
	void *handle;
	int refcount;
	int sync;
	char name[16];
};
_Static_assert(offsetof(struct checker_class, sync) == 28, "libmultipath");

struct mpt_plugin {
	void *handle;
	int (*init)(struct checker *);
	int (*check)(struct checker *);
	void (*free)(struct checker *);
	void (*reset)(void);
	int (*pending)(struct checker *);
	bool (*need_wait)(struct checker *);
	const char **msgtable;
	struct checker_class cls;
};

/* What the driver needs from the machine: why not, or NULL. */
static inline const char *mpt_unavailable(void)
{
	static char why[512];
	const char *dir = getenv("PC_BUILD_DIR");
	char path[4096];

	if (!dlopen("libmpathutil.so.0", RTLD_NOW | RTLD_GLOBAL) ||
	    !dlopen("libmultipath.so.0", RTLD_NOW | RTLD_GLOBAL)) {
		snprintf(why, sizeof(why), "multipath-tools' libmultipath is not "
			 "installed (%s): apt-get install multipath-tools", dlerror());
		return why;
	}
	/* an installed plugin finds the installed library by itself */
	snprintf(path, sizeof(path), "%s/libpathcheck.so.0", dir ? dir : "build");
	if (!getenv("PC_MPT_PLUGIN") && !dlopen(path, RTLD_NOW | RTLD_GLOBAL)) {
		snprintf(why, sizeof(why), "%s", dlerror());
		return why;
	}
	return NULL;
}

/* The pathcheck plugin of family ("0.9", "0.11") in the build directory,
 * or $PC_MPT_PLUGIN (tests/pkg/deb.sh: the installed one). */
static inline void mpt_pathcheck_path(char *buf, size_t len, const char *family)
{
	const char *dir = getenv("PC_BUILD_DIR");

	if (getenv("PC_MPT_PLUGIN")) {
		snprintf(buf, len, "%s", getenv("PC_MPT_PLUGIN"));
		return;
	}
	snprintf(buf, len, "%s/multipath/mpt-%s/libcheckpathcheck.so",
		 dir ? dir : "build", family);
}

static inline int mpt_sym(void *h, const char *name, void *fnp, bool need)
{
	void *sym = dlsym(h, name);

	if (!sym && need) {
		fprintf(stderr, "mpt: %s: %s\n", name, dlerror());
		return -ENOENT;
	}
	memcpy(fnp, &sym, sizeof(sym));
	return 0;
}

/* dlopen and dlsym as libmultipath's checker loader does. */
static inline int mpt_load(struct mpt_plugin *p, const char *path, const char *name)
{
	memset(p, 0, sizeof(*p));
	p->handle = dlopen(path, RTLD_NOW);
	if (!p->handle) {
		fprintf(stderr, "mpt: %s\n", dlerror());
		return -ENOENT;
	}
	if (mpt_sym(p->handle, "libcheck_init", &p->init, true) ||
	    mpt_sym(p->handle, "libcheck_check", &p->check, true) ||
	    mpt_sym(p->handle, "libcheck_free", &p->free, true)) {
		dlclose(p->handle);
		return -ENOENT;
	}
	mpt_sym(p->handle, "libcheck_reset", &p->reset, false);
	mpt_sym(p->handle, "libcheck_pending", &p->pending, false);
	mpt_sym(p->handle, "libcheck_need_wait", &p->need_wait, false);
	p->msgtable = dlsym(p->handle, "libcheck_msgtable");
	p->cls.refcount = 1;
	snprintf(p->cls.name, sizeof(p->cls.name), "%s", name);
	return 0;
}

/* As libmultipath unloads a class: reset, then dlclose. */
static inline int mpt_unload(struct mpt_plugin *p)
{
	if (p->reset)
		p->reset();
	return dlclose(p->handle);
}

static inline void mpt_set_sync(struct mpt_plugin *p, bool sync)
{
	p->cls.sync = sync;
}

/* A path: opened plainly, as multipathd does; 0 or -errno. */
static inline int mpt_path_init(struct mpt_plugin *p, struct checker *c,
				const char *dev, unsigned int timeout_s)
{
	memset(c, 0, sizeof(*c));
	c->cls = &p->cls;
	c->timeout = timeout_s;
	c->fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	if (p->init(c)) {
		close(c->fd);
		c->fd = -1;
		return -EIO;
	}
	return 0;
}

static inline void mpt_path_free(struct mpt_plugin *p, struct checker *c)
{
	p->free(c);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* checker_check(): the framework's part, then the plugin's. */
static inline int mpt_check(struct mpt_plugin *p, struct checker *c)
{
	c->msgid = CHECKER_MSGID_NONE;
	if (c->disable)
		return PATH_UNCHECKED;
	if (c->fd < 0)
		return PATH_WILD;
	return p->check(c);
}

/* The message multipathd would print after "<name> checker". */
static inline const char *mpt_message(const struct mpt_plugin *p,
				      const struct checker *c)
{
	static const char *const generic[] = {
		"", " is disabled", " has no usable fd", " provided invalid message id",
		" reports path is up", " reports path is down",
		" reports path is ghost", " doesn't support this device",
	};
	int i;

	if (c->msgid >= 0 && c->msgid < CHECKER_GENERIC_MSGTABLE_SIZE)
		return generic[c->msgid];
	if (c->msgid < CHECKER_FIRST_MSGID || !p->msgtable)
		return "(bad msgid)";
	for (i = 0; p->msgtable[i]; i++)
		if (i == c->msgid - CHECKER_FIRST_MSGID)
			return p->msgtable[i];
	return "(bad msgid)";
}

static inline uint64_t mpt_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#ifdef LIBCHECK_HAS_PENDING
static inline int mpt_state_of(int state)
{
	return state == PATH_DISCONNECTED ? PATH_DOWN : state;
}

/*
 * One tick of 0.11's loop over n paths: states[i] gets each path's state
 * (PATH_PENDING: still pending after the wait).  Returns the tick's time
 * in microseconds.
 */
static inline uint64_t mpt_tick(struct mpt_plugin *p, struct checker *c,
				unsigned int n, int *states)
{
	uint64_t t0 = mpt_now_us();
	struct timespec wait = { .tv_nsec = 5 * 1000 * 1000 };
	bool need_wait = false;
	unsigned int i;

	for (i = 0; i < n; i++) {
		c[i].path_state = mpt_check(p, &c[i]);
		if (c[i].path_state == PATH_PENDING && p->need_wait &&
		    p->need_wait(&c[i]))
			need_wait = true;
	}
	if (need_wait)
		nanosleep(&wait, NULL);
	for (i = 0; i < n; i++) {
		if (c[i].path_state == PATH_PENDING && p->pending)
			c[i].path_state = p->pending(&c[i]);
		states[i] = mpt_state_of(c[i].path_state);
	}
	return mpt_now_us() - t0;
}
#else
/* One tick of 0.9's loop over n paths, as above. */
static inline uint64_t mpt_tick(struct mpt_plugin *p, struct checker *c,
				unsigned int n, int *states)
{
	uint64_t t0 = mpt_now_us();
	unsigned int i;

	for (i = 0; i < n; i++)
		states[i] = mpt_check(p, &c[i]);
	return mpt_now_us() - t0;
}
#endif

#endif
