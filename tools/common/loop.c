/* SPDX-License-Identifier: MIT */
/* Loop devices over files: see loop.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "loop.h"

#define LOOP_FREE_TRIES 32

int loop_configure(int lfd, int backing, const char *file,
		   unsigned int block_size, uint32_t lo_flags)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned int)backing;
	cfg.block_size = block_size;
	cfg.info.lo_flags = lo_flags;
	snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", file);
	return ioctl(lfd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
}

/* One free device configured over backing: its descriptor, or -errno;
 * -EBUSY means another process took it first. */
static int loop_try(int ctl, int backing, const char *file, int mode,
		    unsigned int block_size, uint32_t lo_flags,
		    char *dev, size_t len)
{
	int nr, lfd, ret;

	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (nr < 0)
		return -errno;
	snprintf(dev, len, "/dev/loop%d", nr);
	lfd = open(dev, mode | O_CLOEXEC);
	if (lfd < 0)
		return errno == ENOENT ? -EBUSY : -errno;
	ret = loop_configure(lfd, backing, file, block_size, lo_flags);
	if (ret) {
		close(lfd);
		return ret;
	}
	return lfd;
}

int loop_attach_free(const char *file, unsigned int block_size,
		     uint32_t lo_flags, char *dev, size_t len)
{
	int mode = lo_flags & LO_FLAGS_READ_ONLY ? O_RDONLY : O_RDWR;
	int ctl, backing, ret = -EBUSY;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	backing = open(file, mode | O_CLOEXEC);
	if (backing < 0) {
		ret = -errno;
		close(ctl);
		return ret;
	}
	for (int tries = 0; tries < LOOP_FREE_TRIES && ret == -EBUSY; tries++)
		ret = loop_try(ctl, backing, file, mode, block_size, lo_flags,
			       dev, len);
	close(backing);		/* the loop device holds its own reference */
	close(ctl);
	return ret;
}
