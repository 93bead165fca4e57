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
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "loop.h"
#include "pathsim.h"

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
	int lfd;

	lo->fd = -1;
	lo->dev[0] = '\0';
	lfd = loop_attach_free(file, block_size, LO_FLAGS_READ_ONLY |
			       LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO,
			       lo->dev, sizeof(lo->dev));
	if (lfd < 0)
		return lfd;
	lo->fd = lfd;
	lo->direct_io = ps_loop_has_dio(lo->fd);
	return 0;
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
