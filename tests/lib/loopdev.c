/* SPDX-License-Identifier: MIT */
/* Loop devices a test owns: see loopdev.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "loopdev.h"

#define RANGE_LO	3000
#define RANGE_HI	250000

const char *loop_unavailable(void)
{
	if (geteuid() != 0)
		return "loop devices need root";
	if (access("/dev/loop-control", R_OK | W_OK))
		return "no /dev/loop-control";
	return NULL;
}

void loop_node(int nr, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/loop%d", nr);
}

void loop_rule(int nr, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/loop%d[%d]", nr / 10, nr % 10);
	if (nr < 10)
		snprintf(buf, len, "/dev/loop[%d]", nr);
}

static bool exists(int nr)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/block/loop%d", nr);
	return access(p, F_OK) == 0;
}

int loopset_new(struct loopset *ls, unsigned int n)
{
	unsigned int seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);

	ls->n = 0;
	ls->ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ls->ctl < 0)
		return -errno;
	for (int tries = 0; tries < 32; tries++) {
		int first = RANGE_LO + (int)(rand_r(&seed) % (RANGE_HI - RANGE_LO - n));
		unsigned int i;

		for (i = 0; i < n && !exists(first + (int)i); i++)
			;
		if (i < n)
			continue;
		ls->first = first;
		for (i = 0; i < n; i++) {
			if (ioctl(ls->ctl, LOOP_CTL_ADD, first + (int)i) < 0)
				break;
			ls->n = i + 1;
		}
		if (i == n)
			return 0;
		loopset_free(ls);	/* raced, or out of minors: try elsewhere */
		ls->ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
		if (ls->ctl < 0)
			return -errno;
	}
	close(ls->ctl);
	ls->ctl = -1;
	return -EBUSY;
}

void loopset_free(struct loopset *ls)
{
	if (ls->ctl < 0)
		return;
	for (unsigned int i = 0; i < ls->n; i++) {
		int nr = ls->first + (int)i;

		if (loop_bound(nr))
			loop_unbind(nr);
		/* A node still held (a daemon killed late) is busy a moment. */
		for (int t = 0; t < 100; t++) {
			if (ioctl(ls->ctl, LOOP_CTL_REMOVE, nr) == 0 || errno != EBUSY)
				break;
			usleep(10000);
		}
	}
	close(ls->ctl);
	ls->ctl = -1;
	ls->n = 0;
}

static int open_node(int nr)
{
	char p[64];

	loop_node(nr, p, sizeof(p));
	return open(p, O_RDWR | O_CLOEXEC);
}

int loop_bind(int nr, const char *file)
{
	int fd = open(file, O_RDWR | O_CLOEXEC), lfd, err = 0;

	if (fd < 0)
		return -errno;
	lfd = open_node(nr);
	if (lfd < 0)
		err = -errno;
	else
		err = loop_configure(lfd, fd, file, 0, 0);
	if (lfd >= 0)
		close(lfd);
	close(fd);
	return err;
}

static int node_ioctl(int nr, unsigned long req)
{
	int lfd = open_node(nr), err = 0;

	if (lfd < 0)
		return -errno;
	if (ioctl(lfd, req, 0) < 0)
		err = -errno;
	close(lfd);
	return err;
}

int loop_unbind(int nr)
{
	return node_ioctl(nr, LOOP_CLR_FD);
}

int loop_set_capacity(int nr)
{
	return node_ioctl(nr, LOOP_SET_CAPACITY);
}

long long loop_size(int nr)
{
	char p[64], buf[32];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "/sys/block/loop%d/size", nr);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return atoll(buf);
}

bool loop_bound(int nr)
{
	char p[64];

	snprintf(p, sizeof(p), "/sys/block/loop%d/loop", nr);
	return access(p, F_OK) == 0;
}

int loop_uevent(int nr, const char *action)
{
	char p[64];
	int fd, err = 0;

	snprintf(p, sizeof(p), "/sys/block/loop%d/uevent", nr);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, action, strlen(action)) < 0)
		err = -errno;
	close(fd);
	return err;
}
