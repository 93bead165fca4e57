/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "internal.h"

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a pipe";
	if (S_ISSOCK(mode))
		return "a socket";
	if (S_ISCHR(mode))
		return "a character device";
	return "not a block device or regular file";
}

/*
 * What a check of block device fd reads.  The soft block size (BLKBSZGET)
 * is what the path has always read, up to PC_DEFAULT_BLKSIZE (larger
 * values are known to lie, on DASD); but an O_DIRECT read must cover whole
 * logical blocks (BLKSSZGET), or the kernel refuses it with EINVAL and
 * a healthy 8 or 16 KiB-sector disk would be DOWN for ever.
 */
static int probe_blkdev(struct pc_engine *e, int fd, const char *name,
			unsigned int *blksize)
{
	int bs = 0, lbs = 0;

	/* Unknown: take the largest we read rather than the smallest. */
	if (ioctl(fd, BLKBSZGET, &bs) < 0) {
		pc_log(e, LOG_INFO, "%s: BLKBSZGET: %s; reading %u bytes",
		       name, strerror(errno), PC_DEFAULT_BLKSIZE);
		bs = 0;
	}
	*blksize = bs > 0 && bs <= (int)PC_DEFAULT_BLKSIZE ? (unsigned int)bs :
		   PC_DEFAULT_BLKSIZE;
	if (ioctl(fd, BLKSSZGET, &lbs) < 0 || lbs <= (int)*blksize)
		return 0;
	if (lbs > (int)PC_MAX_BLKSIZE || (lbs & (lbs - 1))) {
		pc_log(e, LOG_ERR, "%s: logical block size %d: at most %u, "
		       "a power of two, can be read", name, lbs,
		       PC_MAX_BLKSIZE);
		return -EINVAL;
	}
	*blksize = (unsigned int)lbs;
	return 0;
}

/* Checks that fd, whose flags and stat the caller has, can be read, and
 * gives its block size.  name is what the messages call it: the device
 * pc_path_open() was given, or "fd N". */
static int probe_fd(struct pc_engine *e, int fd, const char *name, int flags,
		    const struct stat *st, unsigned int *blksize)
{
	/* An O_PATH fd reads nothing either (its fcntl F_SETFL fails
	 * EBADF). */
	if ((flags & O_ACCMODE) == O_WRONLY || (flags & O_PATH)) {
		pc_log(e, LOG_ERR, "%s is not open for reading", name);
		return -EBADF;
	}
	if (!S_ISBLK(st->st_mode) && !S_ISREG(st->st_mode)) {
		pc_log(e, LOG_ERR, "%s is %s: only block devices and "
		       "regular files can be checked", name,
		       file_kind(st->st_mode));
		return S_ISDIR(st->st_mode) ? -EISDIR : -ENOTBLK;
	}
	if (S_ISBLK(st->st_mode))
		return probe_blkdev(e, fd, name, blksize);
	*blksize = PC_DEFAULT_BLKSIZE;
	return 0;
}

/* Our own descriptor is closed (pc_path_open's, or one odirect_attach()
 * opened); the caller's leaves its description. */
static void release_fd(struct pc_path *p)
{
	if (p->own_fd)
		close(p->fd);
	else
		odirect_detach(p);
}

static struct pc_path *path_alloc(struct pc_engine *e, int fd, void *arg,
				  bool own_fd)
{
	struct pc_path *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->req = calloc(1, sizeof(*p->req));
	if (!p->req) {
		free(p);
		return NULL;
	}
	p->engine = e;
	p->fd = fd;
	p->arg = arg;
	p->own_fd = own_fd;
	atomic_init(&p->timeout_ms, e->opts.timeout_ms);
	atomic_init(&p->life, PATH_LIVE);
	atomic_init(&p->sync_users, 0);
	atomic_init(&p->refs, 1);
	CDS_INIT_LIST_HEAD(&p->owed_node);
	CDS_INIT_LIST_HEAD(&p->odf_node);
	p->req->state = REQ_IDLE;
	p->req->path = p;
	cds_wfcq_node_init(&p->req->reap.node);
	p->req->reap.kind = REAP_REQ;
	return p;
}

/*
 * Joins p to its group's paths, unless pc_engine_free() has begun: then
 * gives the slot back and returns false.  Checked under the group lock,
 * which free_all_paths() takes after setting closing: either it finds p
 * here, or p sees closing.
 */
static bool path_link(struct aio_group *g, struct pc_path *p)
{
	bool closing;

	lock_group(g);
	closing = atomic_load_explicit(&g->engine->closing,
				       memory_order_relaxed);
	if (closing) {
		g->paths--;
		group_release_slot_locked(g);
	} else {
		cds_list_add_tail(&p->node, &g->path_list);
	}
	unlock_group(g);
	return !closing;
}

static int path_new(struct pc_engine *e, int fd, const char *name, int flags,
		    const struct stat *st, void *arg, bool own_fd,
		    struct pc_path **pathp)
{
	struct aio_group *g;
	struct pc_path *p;
	unsigned int blksize;
	int err;

	err = probe_fd(e, fd, name, flags, st, &blksize);
	if (err)
		return err;
	if (own_fd && !(flags & O_DIRECT)) {
		/* open_dev() fell back to a plain open: a check would read the
		 * page cache, UP while the device hangs. */
		pc_log(e, LOG_ERR, "%s: cannot open with O_DIRECT: the file "
		       "system does not support it", name);
		return -EINVAL;
	}
	p = path_alloc(e, fd, arg, own_fd);
	if (!p)
		return -ENOMEM;
	p->blksize = blksize;
	/* pc_path_open() opened it O_DIRECT; a caller's fd may share its
	 * open file description with other paths (odirect.c). */
	err = own_fd ? 0 : odirect_attach(e, p, name, st);
	if (!err)
		err = group_get_slot(e, &g);
	if (err) {
		if (!own_fd)	/* pc_path_open() closes its own */
			release_fd(p);
		free(p->req);
		free(p);
		return err;
	}
	p->group = g;
	p->req->group = g;
	if (!path_link(g, p)) {
		if (!own_fd)
			release_fd(p);
		free(p->req);
		free(p);
		return -ESHUTDOWN;
	}
	stat_add(e, paths, 1);
	*pathp = p;
	return 0;
}

static int path_new_nc(struct pc_engine *engine, int fd, void *path_arg,
		struct pc_path **pathp)
{
	if (!pathp)
		return -EINVAL;
	*pathp = NULL;
	struct stat st;
	char name[32];
	int flags;

	if (!engine)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	snprintf(name, sizeof(name), "fd %d", fd);
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fstat(fd, &st) < 0) {
		pc_log(engine, LOG_ERR, "%s: %s", name, strerror(errno));
		return -EBADF;
	}
	return path_new(engine, fd, name, flags, &st, path_arg, false, pathp);
}

/* Every public call that may reach a cancellation point (here: the log
 * callback, close(), eventfd writes) defers cancellation: pathcheck(3). */
int pc_path_new(struct pc_engine *engine, int fd, void *path_arg,
		struct pc_path **pathp)
{
	int cs = pc_nocancel_begin();
	int ret = path_new_nc(engine, fd, path_arg, pathp);

	pc_nocancel_end(cs);
	return ret;
}

/* Opens dev for checking: O_DIRECT where the file takes it (else path_new
 * says why not), O_NONBLOCK so that opening a FIFO does not wait for a
 * writer, cleared again for block devices we keep (a driver may read it).
 * A regular file keeps it: Linux ignores it for their reads and AIO, and
 * not clearing it saves a quarter of a path's system calls. */
static int open_dev(struct pc_engine *e, const char *dev, int *flags,
		    struct stat *st)
{
	int fd, err;

	*flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
	fd = open(dev, *flags | O_DIRECT);
	if (fd >= 0)
		*flags |= O_DIRECT;
	else if (errno == EINVAL)
		fd = open(dev, *flags);
	if (fd < 0) {
		err = -errno;
		pc_log(e, LOG_ERR, "%s: %s", dev, strerror(errno));
		return err;
	}
	if (fstat(fd, st) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (S_ISBLK(st->st_mode) &&
	    fcntl(fd, F_SETFL, *flags & ~O_NONBLOCK) == 0)
		*flags &= ~O_NONBLOCK;
	return fd;
}

static int path_open_nc(struct pc_engine *engine, const char *dev, void *path_arg,
		 struct pc_path **pathp)
{
	struct stat st;
	int fd, flags, err;

	if (!pathp)
		return -EINVAL;
	*pathp = NULL;
	if (!engine || !dev || !*dev)
		return -EINVAL;
	fd = open_dev(engine, dev, &flags, &st);
	if (fd < 0)
		return fd;
	err = path_new(engine, fd, dev, flags, &st, path_arg, true, pathp);
	if (err)
		close(fd);
	return err;
}

int pc_path_open(struct pc_engine *engine, const char *dev, void *path_arg,
		 struct pc_path **pathp)
{
	int cs = pc_nocancel_begin();
	int ret = path_open_nc(engine, dev, path_arg, pathp);

	pc_nocancel_end(cs);
	return ret;
}

void path_free_rcu(struct rcu_head *head)
{
	pc_rcu_callback_begin();
	free(caa_container_of(head, struct pc_path, rcu));
}

/* Drops a hold on p's memory (refs).  The last goes by call_rcu(): a call
 * that found p in a read section before the free began may still look. */
void path_put(struct pc_path *p)
{
	/* Release: our accesses to p come before the free; acquire on the
	 * last: so do every other holder's. */
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
		pc_call_rcu(&p->rcu, path_free_rcu);
}

/*
 * Marks path FREED and takes it out of its group, under the group lock:
 * every call on it from then on answers -ENODEV.  Returns false when
 * another thread got there first (a callback and pc_engine_free() may both
 * free a path): that one finishes the job.
 */
static bool path_unlink_locked(struct aio_group *g, struct pc_path *path,
			  bool *free_req, bool *retire)
{
	lock_held(g);
	if (atomic_load_explicit(&path->life, memory_order_relaxed) !=
	    PATH_LIVE)
		return false;
	/* seq_cst: the Dekker pair with worker->delivering (deliver()). */
	atomic_store_explicit(&path->life, PATH_FREED, memory_order_seq_cst);
	*free_req = req_detach_locked(g, path->req);
	post_waiters_locked(path, -ENODEV);
	path_forget_owed_locked(g, path);
	cds_list_del(&path->node);
	g->paths--;
	group_release_slot_locked(g);
	*retire = group_retire_if_fully_orphaned_locked(g);
	return true;
}

/* Calls on_free for p unless someone did: the freeing thread and the
 * worker that ran p's on_result may both try. */
void free_owed_pay(struct pc_path *p)
{
	if (atomic_exchange_explicit(&p->free_owed, false,
				     memory_order_acq_rel))
		p->engine->opts.on_free(p->arg);
}

/*
 * With on_free: no wait for a running on_result of path, which may be
 * waiting for a lock our caller holds.  When one runs (or may: w has
 * stored delivering == path), its worker calls on_free once it returns
 * (deliver()); else we do.  The Dekker pair: we store free_owed, then
 * load delivering; the worker stores delivering = NULL, then loads
 * free_owed (all seq_cst): one of us at least sees the other.
 */
static void free_or_hand_over(struct worker *w, struct pc_path *path)
{
	atomic_store_explicit(&path->free_owed, true, memory_order_seq_cst);
	if (atomic_load_explicit(&w->delivering, memory_order_seq_cst) !=
	    path)
		free_owed_pay(path);
}

/*
 * Never blocks on I/O: a read in flight becomes an orphan.  Without
 * on_free it may wait for a worker that is running this path's on_result
 * right now (see worker_wait_delivery() for the one case it does not
 * wait); with on_free it hands on_free to that worker instead.  It waits
 * for PC_SYNC callers it woke with -ENODEV to leave.  The path's
 * memory goes once the worker batch entries holding it are delivered
 * (refs), then by call_rcu(): a callback, or a call that found it before
 * the free began, may still look at it, and finds it FREED.
 */
static void path_free_nc(struct pc_path *path)
{
	struct pc_engine *e;
	struct aio_group *g;
	struct worker *w;
	struct pc_req *r;
	bool retire = false, free_req = false, mine;

	if (!path)
		return;
	e = path->engine;
	g = path->group;
	pc_rcu_read_lock();	/* path stays allocated should we lose */
	lock_group(g);
	r = path->req;
	mine = path_unlink_locked(g, path, &free_req, &retire);
	w = g->worker;
	unlock_group(g);
	pc_rcu_read_unlock();
	if (!mine)
		return;
	/* From here g may be gone unless we retired it ourselves; path->req
	 * is r, an orphan's now, or ours to free. */
	if (e->opts.on_free)
		free_or_hand_over(w, path);
	else
		worker_wait_delivery(w, path);
	/* Acquire: pairs with the waiters' release in check_sync(). */
	while (atomic_load_explicit(&path->sync_users, memory_order_acquire))
		sched_yield();	/* woken above: they leave at once */
	release_fd(path);
	stat_sub(e, paths, 1);
	if (retire)
		reaper_take_group(e, g);
	if (free_req)
		free(r);
	path_put(path);	/* a worker's undelivered entry may hold it still */
}

void pc_path_free(struct pc_path *path)
{
	int cs = pc_nocancel_begin();

	path_free_nc(path);
	pc_nocancel_end(cs);
}

static bool path_live(struct pc_path *path)
{
	return atomic_load_explicit(&path->life, memory_order_relaxed) ==
	       PATH_LIVE;
}

/*
 * The calls below may run while another thread (an on_result) frees the
 * path: each looks at it in an RCU read section, so it stays allocated,
 * and under the group lock, where pc_path_free() marks it FREED.
 */
int pc_path_set_timeout(struct pc_path *path, unsigned int timeout_ms)
{
	if (!path || !timeout_ms || timeout_ms > PC_MAX_TIMEOUT_MS)
		return -EINVAL;
	pc_rcu_read_lock();
	/* Relaxed: read by the next check's start_read_locked, no data with it. */
	atomic_store_explicit(&path->timeout_ms, timeout_ms,
			      memory_order_relaxed);
	timeout_ms = path_live(path);
	pc_rcu_read_unlock();
	return timeout_ms ? 0 : -ENODEV;
}

static int path_state_nc(struct pc_path *path)
{
	struct aio_group *g;
	struct pc_req *r;
	bool owed = false;
	int state;

	if (!path)
		return -EINVAL;
	pc_rcu_read_lock();	/* before the first look at path */
	g = path->group;
	lock_group(g);
	r = path->req;
	if (!path_live(path)) {
		state = -ENODEV;
	} else if (r->state == REQ_INFLIGHT || r->state == REQ_FAILED) {
		/* Past the deadline the check ends DOWN now, for everyone. */
		owed = finish_overdue_locked(g, r, pc_now_us());
		state = r->state == REQ_INFLIGHT || r->state == REQ_FAILED ?
			PC_PENDING : path->result.state;
	} else {
		state = path->result.state;
	}
	unlock_group(g);
	if (owed)
		worker_wake(g->worker);
	pc_rcu_read_unlock();
	return state;
}

int pc_path_state(struct pc_path *path)
{
	int cs = pc_nocancel_begin(), ret = path_state_nc(path);

	pc_nocancel_end(cs);
	return ret;
}

int pc_path_result(struct pc_path *path, struct pc_result *result)
{
	int err = 0;

	if (!path || !result)
		return -EINVAL;
	pc_rcu_read_lock();
	lock_group(path->group);
	if (path_live(path))
		*result = path->result;
	else
		err = -ENODEV;
	unlock_group(path->group);
	pc_rcu_read_unlock();
	return err;
}

int pc_path_blksize(struct pc_path *path)
{
	int ret;

	if (!path)
		return -EINVAL;
	pc_rcu_read_lock();
	ret = path_live(path) ? (int)path->blksize : -ENODEV;
	pc_rcu_read_unlock();
	return ret;
}

void *pc_path_arg(struct pc_path *path)
{
	void *arg;

	if (!path)
		return NULL;
	pc_rcu_read_lock();
	arg = path_live(path) ? path->arg : NULL;
	pc_rcu_read_unlock();
	return arg;
}
