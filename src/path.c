/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
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

/* Checks that fd, whose flags and stat the caller has, can be read, and
 * gives its block size. */
static int probe_fd(struct pc_engine *e, int fd, int flags,
		    const struct stat *st, unsigned int *blksize)
{
	int bs = 0;

	if ((flags & O_ACCMODE) == O_WRONLY) {
		pc_log(e, LOG_ERR, "fd %d is not open for reading", fd);
		return -EBADF;
	}
	if (!S_ISBLK(st->st_mode) && !S_ISREG(st->st_mode)) {
		pc_log(e, LOG_ERR, "fd %d is %s: only block devices and "
		       "regular files can be checked", fd,
		       file_kind(st->st_mode));
		return S_ISDIR(st->st_mode) ? -EISDIR : -ENOTBLK;
	}
	/* The soft block size is never below the logical block size, and
	 * reading less than that fails: when it is unknown, take the largest
	 * we read rather than the smallest. */
	if (S_ISBLK(st->st_mode) && ioctl(fd, BLKBSZGET, &bs) < 0) {
		pc_log(e, LOG_INFO, "fd %d: BLKBSZGET: %s; reading %u bytes",
		       fd, strerror(errno), PC_DEFAULT_BLKSIZE);
		bs = 0;
	}
	/* Sanity cap: BLKBSZGET is known to lie on DASD. */
	*blksize = bs > 0 && bs <= (int)PC_MAX_BLKSIZE ? (unsigned int)bs :
		   PC_DEFAULT_BLKSIZE;
	return 0;
}

static int set_direct(struct pc_engine *e, struct pc_path *p, int flags)
{
	if (flags & O_DIRECT)
		return 0;
	if (fcntl(p->fd, F_SETFL, flags | O_DIRECT) < 0) {
		pc_log(e, LOG_ERR, "fd %d: cannot set O_DIRECT: %s", p->fd,
		       strerror(errno));
		return -EINVAL;
	}
	p->restore_flags = !p->own_fd;
	p->saved_flags = flags;
	return 0;
}

static void restore_fd(struct pc_path *p)
{
	if (p->own_fd)
		close(p->fd);
	else if (p->restore_flags)
		fcntl(p->fd, F_SETFL, p->saved_flags);
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
	p->req->state = REQ_IDLE;
	p->req->path = p;
	cds_wfcq_node_init(&p->req->reap.node);
	p->req->reap.kind = REAP_REQ;
	return p;
}

static int path_new(struct pc_engine *e, int fd, int flags,
		    const struct stat *st, void *arg, bool own_fd,
		    struct pc_path **pathp)
{
	struct aio_group *g;
	struct pc_path *p;
	unsigned int blksize;
	int err;

	err = probe_fd(e, fd, flags, st, &blksize);
	if (err)
		return err;
	p = path_alloc(e, fd, arg, own_fd);
	if (!p)
		return -ENOMEM;
	p->blksize = blksize;
	err = set_direct(e, p, flags);
	if (!err)
		err = group_get_slot(e, &g);
	if (err) {
		if (p->restore_flags)
			fcntl(fd, F_SETFL, flags);
		free(p->req);
		free(p);
		return err;
	}
	p->group = g;
	p->req->group = g;
	lock_group(g);
	cds_list_add_tail(&p->node, &g->path_list);
	unlock_group(g);
	atomic_fetch_add(&e->stats.paths, 1);
	*pathp = p;
	return 0;
}

int pc_path_new(struct pc_engine *engine, int fd, void *path_arg,
		struct pc_path **pathp)
{
	if (!pathp)
		return -EINVAL;
	*pathp = NULL;
	struct stat st;
	int flags;

	if (!engine)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fstat(fd, &st) < 0) {
		pc_log(engine, LOG_ERR, "fd %d: %s", fd, strerror(errno));
		return -EBADF;
	}
	return path_new(engine, fd, flags, &st, path_arg, false, pathp);
}

/* Opens dev for checking: O_DIRECT where the file takes it (else path_new
 * says why not), O_NONBLOCK so that opening a FIFO does not wait for a
 * writer, cleared again for files we keep. */
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
	if ((S_ISBLK(st->st_mode) || S_ISREG(st->st_mode)) &&
	    fcntl(fd, F_SETFL, *flags & ~O_NONBLOCK) == 0)
		*flags &= ~O_NONBLOCK;
	return fd;
}

int pc_path_open(struct pc_engine *engine, const char *dev, void *path_arg,
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
	err = path_new(engine, fd, flags, &st, path_arg, true, pathp);
	if (err)
		close(fd);
	return err;
}

void path_free_rcu(struct rcu_head *head)
{
	pc_rcu_callback_begin();
	free(caa_container_of(head, struct pc_path, rcu));
}

/*
 * Never blocks on I/O: a read in flight becomes an orphan.  It may wait for
 * a worker that is running this path's on_result right now (callbacks do
 * not block); see worker_wait_delivery() for the one case it does not.
 */
void pc_path_free(struct pc_path *path)
{
	struct pc_engine *e;
	struct aio_group *g;
	struct worker *w;
	struct pc_req *r;
	bool retire, free_req;

	if (!path)
		return;
	e = path->engine;
	g = path->group;
	lock_group(g);
	r = path->req;
	free_req = __req_detach(g, r);
	path->req = NULL;
	cds_list_del(&path->node);
	g->paths--;
	__group_release_slot(g);
	retire = __group_retire_if_fully_orphaned(g);
	w = g->worker;
	unlock_group(g);
	/* From here g may be gone unless we retired it ourselves. */
	atomic_store(&path->life, PATH_FREED);
	worker_wait_delivery(w, path);
	restore_fd(path);
	atomic_fetch_sub(&e->stats.paths, 1);
	if (retire)
		reaper_take_group(e, g);
	if (free_req)
		free(r);
	pc_call_rcu(&path->rcu, path_free_rcu);
}

int pc_path_set_timeout(struct pc_path *path, unsigned int timeout_ms)
{
	if (!path || !timeout_ms || timeout_ms > PC_MAX_TIMEOUT_MS)
		return -EINVAL;
	atomic_store(&path->timeout_ms, timeout_ms);
	return 0;
}

int pc_path_state(struct pc_path *path)
{
	struct pc_req *r;
	int state;

	if (!path)
		return -EINVAL;
	lock_group(path->group);
	r = path->req;
	switch (r->state) {
	case REQ_INFLIGHT:
		state = pc_now_us() < r->deadline_us ? PC_PENDING : PC_DOWN;
		break;
	case REQ_FAILED:
		state = PC_PENDING;
		break;
	default:
		state = path->result.state;
		break;
	}
	unlock_group(path->group);
	return state;
}

int pc_path_result(struct pc_path *path, struct pc_result *result)
{
	if (!path || !result)
		return -EINVAL;
	lock_group(path->group);
	*result = path->result;
	unlock_group(path->group);
	return 0;
}

int pc_path_blksize(struct pc_path *path)
{
	return path ? (int)path->blksize : -EINVAL;
}

void *pc_path_arg(struct pc_path *path)
{
	return path ? path->arg : NULL;
}
