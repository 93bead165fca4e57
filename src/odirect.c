/* SPDX-License-Identifier: MIT */
/*
 * O_DIRECT on the caller's descriptors.  O_DIRECT is a flag of the open
 * file description, not of the fd: two pc_path_new() on one fd, or on dup'd
 * fds, share it.  So the flag is restored only when the last path on that
 * description is freed, and only if we set it.
 *
 * A description is identified by kcmp(KCMP_FILE), which tells whether two
 * fds of this process refer to the same one.  Where kcmp is missing
 * (kernels without CONFIG_KCMP), two paths share a description when they
 * share the fd number and the inode: dup'd fds are then not recognised.
 *
 * The registry is process-wide (two engines may check one fd), hashed by
 * inode; each entry lists its paths, and the first one's fd stands for the
 * description (the caller keeps every path's fd open until pc_path_free).
 * A lookup costs one kcmp() per other description of the same inode that
 * we set O_DIRECT on: cheap for the usual one fd per device.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
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
	struct odirect_file *next;	/* hash chain */
};

#define ODIRECT_BUCKETS	1024u

/* protects: the registry, every odirect_file, pc_path.odf and odf_node, and
 * the O_DIRECT flag of registered descriptions (read, set and cleared
 * only under it).  Taken alone: never nests with another lock. */
static pthread_mutex_t odirect_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic pid_t odirect_owner;	/* for odirect_held() */
static struct odirect_file *registry[ODIRECT_BUCKETS];

static void odirect_take(void)
{
	pthread_mutex_lock(&odirect_lock);
	atomic_store_explicit(&odirect_owner, gettid(), memory_order_relaxed);
}

static void odirect_drop(void)
{
	atomic_store_explicit(&odirect_owner, 0, memory_order_relaxed);
	pthread_mutex_unlock(&odirect_lock);
}

/* What every __odirect_*() asserts: the caller holds odirect_lock. */
static void odirect_held(void)
{
	if (atomic_load_explicit(&odirect_owner, memory_order_relaxed) !=
	    gettid())
		abort();
}

static unsigned int bucket(dev_t dev, ino_t ino)
{
	return (unsigned int)((ino * 31u + dev) % ODIRECT_BUCKETS);
}

static int first_fd(struct odirect_file *f)
{
	return cds_list_first_entry(&f->paths, struct pc_path, odf_node)->fd;
}

/* 1: same description, 0: not, -1: cannot tell (no kcmp). */
static int same_description(int a, int b)
{
	pid_t pid = getpid();
	long r = syscall(SYS_kcmp, pid, pid, KCMP_FILE, a, b);

	if (r == 0)
		return 1;
	return r > 0 ? 0 : -1;
}

static struct odirect_file *__odirect_find(int fd, const struct stat *st)
{
	struct odirect_file *f;

	odirect_held();
	for (f = registry[bucket(st->st_dev, st->st_ino)]; f; f = f->next) {
		int same;

		if (f->dev != st->st_dev || f->ino != st->st_ino)
			continue;
		/* One fd is one description: no system call for the
		 * common case of many paths on one fd. */
		if (fd == first_fd(f))
			return f;
		same = same_description(fd, first_fd(f));
		if (same < 0)
			same = fd == first_fd(f);
		if (same)
			return f;
	}
	return NULL;
}

/*
 * Sets O_DIRECT on p's description unless it is there already, and joins
 * p to the description's entry when we set it (by this path or an earlier
 * one).  name is for the messages.
 */
int odirect_attach(struct pc_engine *e, struct pc_path *p, const char *name)
{
	struct odirect_file *f;
	struct stat st;
	int err = 0;

	if (fstat(p->fd, &st) < 0)
		return -errno;
	odirect_take();
	f = __odirect_find(p->fd, &st);
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
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		CDS_INIT_LIST_HEAD(&f->paths);
		f->next = registry[bucket(st.st_dev, st.st_ino)];
		registry[bucket(st.st_dev, st.st_ino)] = f;
	}
	cds_list_add_tail(&p->odf_node, &f->paths);
	p->odf = f;
out:
	odirect_drop();
	return err;
}

static void __odirect_unregister(struct odirect_file *f)
{
	struct odirect_file **pp = &registry[bucket(f->dev, f->ino)];

	odirect_held();
	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
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

			if (now >= 0)
				fcntl(p->fd, F_SETFL, now & ~O_DIRECT);
			__odirect_unregister(f);
			free(f);
		}
	}
	odirect_drop();
}
