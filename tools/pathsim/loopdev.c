/* SPDX-License-Identifier: MIT */
/*
 * Loop devices over path files (--loop, root only).
 *
 * The device is configured read-only with LO_FLAGS_DIRECT_IO, so the loop
 * driver reads the FUSE file with asynchronous direct IO: a hung path
 * hangs only the requests sent to it, never the loop worker, and nothing
 * is answered from a page cache.  LO_FLAGS_AUTOCLEAR plus the descriptor
 * we keep open detach the device when pathsim exits, even by SIGKILL
 * (or later, at the last close of whoever still holds it open).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pathsim.h"

#define PS_LOOP_TRIES 32

static int ps_loop_configure(int lfd, int backing, const char *file,
			     unsigned int block_size)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned int)backing;
	cfg.block_size = block_size;
	cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR |
			    LO_FLAGS_DIRECT_IO;
	snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", file);
	return ioctl(lfd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
}

/* A free device configured over backing; -EBUSY means we raced. */
static int ps_loop_try(int ctl, int backing, const char *file,
		       unsigned int block_size, struct ps_loop *lo)
{
	int nr, lfd, ret;

	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (nr < 0)
		return -errno;
	snprintf(lo->dev, sizeof(lo->dev), "/dev/loop%d", nr);
	lfd = open(lo->dev, O_RDONLY | O_CLOEXEC);
	if (lfd < 0)
		return errno == ENOENT ? -EBUSY : -errno;
	ret = ps_loop_configure(lfd, backing, file, block_size);
	if (ret) {
		close(lfd);
		return ret;
	}
	lo->fd = lfd;
	return 0;
}

static bool ps_loop_has_dio(int lfd)
{
	struct loop_info64 info;

	if (ioctl(lfd, LOOP_GET_STATUS64, &info))
		return false;
	return info.lo_flags & LO_FLAGS_DIRECT_IO;
}

int ps_loop_attach(const char *file, unsigned int block_size,
		   struct ps_loop *lo)
{
	int ctl, backing, ret = -EBUSY, tries;

	lo->fd = -1;
	lo->dev[0] = '\0';
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	backing = open(file, O_RDONLY | O_CLOEXEC);
	if (backing < 0) {
		ret = -errno;
		close(ctl);
		return ret;
	}
	for (tries = 0; tries < PS_LOOP_TRIES && ret == -EBUSY; tries++)
		ret = ps_loop_try(ctl, backing, file, block_size, lo);
	close(backing);		/* the loop device holds its own reference */
	close(ctl);
	if (!ret)
		lo->direct_io = ps_loop_has_dio(lo->fd);
	return ret;
}

void ps_loop_detach(struct ps_loop *lo)
{
	if (lo->fd < 0)
		return;
	/* Detaches now, or at the last close of another opener. */
	ioctl(lo->fd, LOOP_CLR_FD, 0);
	close(lo->fd);
	lo->fd = -1;
}
