/* SPDX-License-Identifier: MIT */
/*
 * Loop devices over files, for pathsim (--loop) and the tests: the one
 * place that configures one (LOOP_CONFIGURE: file, block size and flags
 * in one ioctl, so no reader sees the device half set up) and that takes
 * a free one when other processes on the machine take them too.
 */
#ifndef PC_COMMON_LOOP_H
#define PC_COMMON_LOOP_H

#include <stddef.h>
#include <stdint.h>

/* Binds the loop device open as lfd to backing (named file in the
 * device's status).  block_size 0: the driver's default.  lo_flags:
 * LO_FLAGS_*.  0 or -errno. */
int loop_configure(int lfd, int backing, const char *file,
		   unsigned int block_size, uint32_t lo_flags);

/* A free loop device configured over file, read-only if lo_flags has
 * LO_FLAGS_READ_ONLY: its node in dev ("/dev/loopN") and its open
 * descriptor returned, or -errno.  A device another process takes between
 * LOOP_CTL_GET_FREE and ours is retried, a few times. */
int loop_attach_free(const char *file, unsigned int block_size,
		     uint32_t lo_flags, char *dev, size_t len);

#endif
