/* SPDX-License-Identifier: MIT */
/*
 * --baseline per-path-context: the design before shared aio groups, one
 * io_context per path (io_setup(1) when the path is added, io_destroy when
 * it is freed).  Measures the lifecycle only: add npaths, free them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#include "stress.h"

struct bpath {
	int fd;
	io_context_t ctx;
};

static int bpath_open(struct bpath *bp, const char *dev)
{
	int ret;

	bp->fd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (bp->fd < 0)
		return -errno;
	memset(&bp->ctx, 0, sizeof(bp->ctx));
	ret = io_setup(1, &bp->ctx);
	if (ret < 0) {
		close(bp->fd);
		return ret;
	}
	return 0;
}

static void bpath_free(struct bpath *bp)
{
	io_destroy(bp->ctx);
	close(bp->fd);
}

int baseline_lifecycle(char **devs, unsigned int ndevs, unsigned int npaths, int json)
{
	struct bpath *bp = calloc(npaths, sizeof(*bp));
	double t0, t1, t2;
	unsigned int i, n;
	int ret = 0;

	if (!bp)
		return 2;
	t0 = now_s();
	for (n = 0; n < npaths; n++) {
		ret = bpath_open(&bp[n], devs[n % ndevs]);
		if (ret < 0) {
			fprintf(stderr, "pathcheck-stress: baseline %s: %s\n",
				devs[n % ndevs], strerror(-ret));
			break;
		}
	}
	t1 = now_s();
	for (i = 0; i < n; i++)
		bpath_free(&bp[i]);
	t2 = now_s();
	free(bp);
	if (json)
		printf("{\"baseline\":\"per-path-context\",\"paths\":%u,\"create_s\":%.6f,"
		       "\"free_s\":%.6f,\"total_s\":%.6f,\"per_path_us\":%.1f}\n",
		       n, t1 - t0, t2 - t1, t2 - t0, n ? (t2 - t0) * 1e6 / n : 0);
	else
		printf("baseline per-path-context: %u paths, create %.3f s, free %.3f s, %.1f us/path\n",
		       n, t1 - t0, t2 - t1, n ? (t2 - t0) * 1e6 / n : 0);
	return ret < 0 ? 2 : 0;
}
