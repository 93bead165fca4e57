/* SPDX-License-Identifier: MIT */
/*
 * O_DIRECT on the caller's descriptors.  O_DIRECT is a flag of the open
 * file description, not of the fd: two pc_path_new() on one fd, or on dup'd
 * fds, share it.  So the flag is restored only when the last path on that
 * description is freed, and only if we set it.
 *
 * A description is identified by kcmp(KCMP_FILE), which tells whether two
 * fds of this process refer to the same one, and if not, orders them.  The
 * registry is process-wide (two engines may check one fd): a treap per hash
 * bucket of inodes, ordered by (device, inode, kcmp order), so that finding
 * a description among n of one inode costs O(log n) kcmp() calls, not n
 * (16,000 opens of one device took 313 s when each compared with every
 * earlier one).  Each node lists its paths; the first one's fd stands for
 * the description (the caller keeps every path's fd open until
 * pc_path_free).
 *
 * Where kcmp is refused (containers' seccomp profiles: EPERM; kernels
 * without CONFIG_KCMP: ENOSYS), whether a new fd shares a description we
 * set O_DIRECT on cannot be proven, and guessing "no" once cleared the
 * flag under a live path, which then read the page cache and said UP for
 * a failing device.  Then the path reads through a descriptor of its own,
 * opened O_DIRECT from /proc/self/fd, and the caller's is left alone; if
 * even that fails, the flag is set and never cleared in this process.
 * Either way the log says so once.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "internal.h"

struct odirect_file {
	dev_t dev;
	ino_t ino;
	struct cds_list_head paths;	/* pc_path.odf_node */
	/* treap: in order of (dev, ino, kcmp); a parent's prio >= its
	 * children's */
	struct odirect_file *child[2], *parent;
	uint32_t prio;
};

#define ODIRECT_BUCKETS	1024u

/* protects: the registry, every odirect_file, pc_path.odf and odf_node, the
 * treaps' random state, keep_all, and the O_DIRECT flag of registered
 * descriptions (read, set and cleared only under it).  Taken alone: never
 * nests with another lock. */
static pthread_mutex_t odirect_lock = PTHREAD_MUTEX_INITIALIZER;
/* Its holder (owned_lock(), util.c). */
static _Atomic(const void *) odirect_owner;
static struct odirect_file *registry[ODIRECT_BUCKETS];
static uint32_t prio_state = 0x9e3779b9u;
/* The last resort once sharing could not be proven: never clear O_DIRECT
 * again in this process. */
static bool keep_all;
/* The one log line that says kcmp was refused (relaxed: a flag of its
 * own, it orders nothing). */
static _Atomic bool told_unproven;

static void odirect_take(void)
{
	owned_lock(&odirect_lock, &odirect_owner, "odirect_lock");
}

static void odirect_drop(void)
{
	owned_unlock(&odirect_lock, &odirect_owner, "odirect_lock");
}

/* fork() (thread.c): a child finds odirect_lock free, and the registry
 * as no thread was halfway through changing it. */
void odirect_before_fork(void)
{
	odirect_take();
}

void odirect_after_fork(void)
{
	odirect_drop();
}

/* What every odirect_*_locked() asserts: the caller holds odirect_lock. */
static void odirect_held(void)
{
	owned_held(&odirect_owner, "odirect_lock");
}

static unsigned int bucket(dev_t dev, ino_t ino)
{
	return (unsigned int)((ino * 31u + dev) % ODIRECT_BUCKETS);
}

static int first_fd(struct odirect_file *f)
{
	return cds_list_first_entry(&f->paths, struct pc_path, odf_node)->fd;
}

#define CMP_UNKNOWN	2	/* kcmp refused or gave no order */

/* Where fd (of st) stands against f: -1 before, 0 the same description,
 * 1 after, or CMP_UNKNOWN with errno set.  pid: ours (getpid() is a
 * system call: once per lookup). */
static int compare(pid_t pid, int fd, const struct stat *st,
		   struct odirect_file *f)
{
	long r;

	if (st->st_dev != f->dev)
		return st->st_dev < f->dev ? -1 : 1;
	if (st->st_ino != f->ino)
		return st->st_ino < f->ino ? -1 : 1;
	/* One fd is one description: no system call for the common case of
	 * many paths on one fd. */
	if (fd == first_fd(f))
		return 0;
	r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, fd, first_fd(f));
	if (r >= 0 && r <= 2)
		return r == 0 ? 0 : r == 1 ? -1 : 1;
	if (r >= 0)
		errno = EOPNOTSUPP;	/* 3: unordered, not for files */
	return CMP_UNKNOWN;
}

/*
 * fd's node, or NULL with *parent and *dir where a node for it would hang;
 * -errno in *err when kcmp cannot place it.
 */
static struct odirect_file *odirect_find_locked(int fd, const struct stat *st,
					   struct odirect_file **parent,
					   int *dir, int *err)
{
	struct odirect_file *f = registry[bucket(st->st_dev, st->st_ino)];
	pid_t pid = f ? getpid() : 0;
	int c;

	odirect_held();
	*parent = NULL;
	*dir = 0;
	*err = 0;
	while (f) {
		c = compare(pid, fd, st, f);
		if (c == 0)
			return f;
		if (c == CMP_UNKNOWN) {
			*err = -errno;
			return NULL;
		}
		*parent = f;
		*dir = c > 0;
		f = f->child[*dir];
	}
	return NULL;
}

/* Puts c, child dir of x, in x's place, and x below it (under
 * odirect_lock, which its callers assert). */
static void rotate_up(struct odirect_file **root, struct odirect_file *x,
		      int dir)
{
	struct odirect_file *c = x->child[dir];

	x->child[dir] = c->child[!dir];
	if (x->child[dir])
		x->child[dir]->parent = x;
	c->parent = x->parent;
	if (!x->parent)
		*root = c;
	else
		x->parent->child[x->parent->child[1] == x] = c;
	c->child[!dir] = x;
	x->parent = c;
}

static void odirect_insert_locked(struct odirect_file *f,
			     struct odirect_file *parent, int dir)
{
	struct odirect_file **root = &registry[bucket(f->dev, f->ino)];

	odirect_held();
	/* xorshift32: a treap needs its priorities only unpredictable
	 * to the order of the keys, not random in any stronger sense. */
	prio_state ^= prio_state << 13;
	prio_state ^= prio_state >> 17;
	prio_state ^= prio_state << 5;
	f->prio = prio_state;
	f->child[0] = f->child[1] = NULL;
	f->parent = parent;
	if (!parent)
		*root = f;
	else
		parent->child[dir] = f;
	while (f->parent && f->parent->prio < f->prio)
		rotate_up(root, f->parent, f->parent->child[1] == f);
}

/* Takes f out of its treap: no kcmp, so it works whatever came since. */
static void odirect_unregister_locked(struct odirect_file *f)
{
	struct odirect_file **root = &registry[bucket(f->dev, f->ino)];

	odirect_held();
	while (f->child[0] || f->child[1]) {
		int dir = !f->child[0] ? 1 : !f->child[1] ? 0 :
			  f->child[1]->prio > f->child[0]->prio;

		rotate_up(root, f, dir);
	}
	if (!f->parent)
		*root = NULL;
	else
		f->parent->child[f->parent->child[1] == f] = NULL;
}

/*
 * kcmp could not tell whether p's fd shares a description we set O_DIRECT
 * on: p reads through a descriptor of its own, or, failing that, O_DIRECT
 * is set and kept for good.  Called without the lock (open() may be slow
 * and the log callback runs).
 */
static int attach_unproven(struct pc_engine *e, struct pc_path *p,
			   const char *name, int kerr)
{
	char proc[32];
	int fd, now, err = 0;
	bool told = atomic_exchange_explicit(&told_unproven, true,
					     memory_order_relaxed);

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", p->fd);
	fd = open(proc, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd >= 0) {
		if (!told)
			pc_log(e, LOG_WARNING, "%s: kcmp: %s: cannot tell which "
			       "paths share an open file description; such "
			       "paths read through descriptors of their own",
			       name, strerror(-kerr));
		p->fd = fd;
		p->own_fd = true;
		return 0;
	}
	err = -errno;
	odirect_take();
	told = keep_all;
	keep_all = true;
	now = fcntl(p->fd, F_GETFL);
	if (now < 0 || (!(now & O_DIRECT) &&
			fcntl(p->fd, F_SETFL, now | O_DIRECT) < 0))
		err = -EINVAL;
	odirect_drop();
	if (!told || err == -EINVAL)	/* once, or for each failure */
		pc_log(e, err == -EINVAL ? LOG_ERR : LOG_WARNING,
		       "%s: kcmp: %s, and %s: %s: O_DIRECT %s", name,
		       strerror(-kerr), proc, strerror(-err),
		       err == -EINVAL ? "cannot be set" :
		       "stays set on every description it was set on");
	return err == -EINVAL ? err : 0;
}

/*
 * Sets O_DIRECT on p's description unless it is there already, and joins
 * p to the description's node when we set it (by this path or an earlier
 * one).  Where that cannot be told, p may get a descriptor of its own
 * (p->fd, p->own_fd).  name is for the messages; st is p->fd's fstat().
 */
int odirect_attach(struct pc_engine *e, struct pc_path *p, const char *name,
		   const struct stat *st)
{
	struct odirect_file *f, *parent;
	int err, dir;

	odirect_take();
	f = odirect_find_locked(p->fd, st, &parent, &dir, &err);
	if (err) {
		odirect_drop();
		return attach_unproven(e, p, name, err);
	}
	if (!f) {
		/* Read under the lock: another path may set it meanwhile. */
		int now = fcntl(p->fd, F_GETFL);

		if (now < 0 || (now & O_DIRECT))
			goto out;	/* the caller's own O_DIRECT: not ours */
		f = calloc(1, sizeof(*f));
		if (!f) {
			err = -ENOMEM;
			goto out;
		}
		if (fcntl(p->fd, F_SETFL, now | O_DIRECT) < 0) {
			err = -errno;
			free(f);
			odirect_drop();
			pc_log(e, LOG_ERR, "%s: cannot set O_DIRECT: %s", name,
			       strerror(-err));
			return -EINVAL;
		}
		f->dev = st->st_dev;
		f->ino = st->st_ino;
		CDS_INIT_LIST_HEAD(&f->paths);
		cds_list_add_tail(&p->odf_node, &f->paths);
		odirect_insert_locked(f, parent, dir);
	} else {
		cds_list_add_tail(&p->odf_node, &f->paths);
	}
	p->odf = f;
out:
	odirect_drop();
	return err;
}

/* p leaves its description; the last path to leave clears O_DIRECT on it,
 * keeping whatever other flags the caller set since. */
void odirect_detach(struct pc_path *p)
{
	struct odirect_file *f;

	odirect_take();
	f = p->odf;
	if (f) {
		cds_list_del(&p->odf_node);
		p->odf = NULL;
		if (cds_list_empty(&f->paths)) {
			int now = fcntl(p->fd, F_GETFL);

			if (now >= 0 && !keep_all)
				fcntl(p->fd, F_SETFL, now & ~O_DIRECT);
			odirect_unregister_locked(f);
			free(f);
		}
	}
	odirect_drop();
}
