/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aio_reader.h"
#include "clock.h"
#include "harness.h"

int aio_reader_open(struct aio_reader *r, const char *path, unsigned int depth, off_t size)
{
	void *bufs;

	memset(r, 0, sizeof(*r));
	r->fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	if (io_setup((int)depth, &r->ctx) < 0) {
		close(r->fd);
		return -EAGAIN;
	}
	if (posix_memalign(&bufs, AIO_READER_BLK, (size_t)depth * AIO_READER_BLK))
		bufs = NULL;
	r->bufs = bufs;
	r->depth = depth;
	r->blocks = size / AIO_READER_BLK > 0 ? (unsigned int)(size / AIO_READER_BLK) : 1;
	r->cbs = calloc(depth, sizeof(*r->cbs));
	r->cbp = calloc(depth, sizeof(*r->cbp));
	if (!r->bufs || !r->cbs || !r->cbp)
		return -ENOMEM;
	return 0;
}

/* Submits n reads of AIO_READER_BLK bytes at consecutive blocks; io_submit's result. */
int aio_reader_submit(struct aio_reader *r, unsigned int n)
{
	unsigned int i, slot;
	int ret;

	if (r->inflight + n > r->depth)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		slot = r->inflight + i;
		memset(r->bufs + (size_t)slot * AIO_READER_BLK, 0xa5, AIO_READER_BLK);
		io_prep_pread(&r->cbs[slot], r->fd, r->bufs + (size_t)slot * AIO_READER_BLK,
			      AIO_READER_BLK, (long long)(slot % r->blocks) * AIO_READER_BLK);
		r->cbp[i] = &r->cbs[slot];
	}
	ret = io_submit(r->ctx, (long)n, r->cbp);
	if (ret > 0)
		r->inflight += (unsigned int)ret;
	return ret;
}

/* Waits up to ms for n completions; how many came (results in ev). */
int aio_reader_wait(struct aio_reader *r, unsigned int n, struct io_event *ev,
		       unsigned int ms)
{
	uint64_t deadline = pc_test_now_ms() + ms;
	int got = 0, ret;

	while ((unsigned int)got < n) {
		uint64_t now = pc_test_now_ms();
		struct timespec ts = ts_from_ms(deadline - now);

		if (now >= deadline)
			break;
		ret = io_getevents(r->ctx, 1, (long)(n - (unsigned int)got),
				   ev + got, &ts);
		if (ret < 0 && ret != -EINTR)
			break;
		if (ret > 0)
			got += ret;
	}
	r->inflight -= (unsigned int)got;
	return got;
}

/* Callers release first: io_destroy waits for reads in flight. */
void aio_reader_close(struct aio_reader *r)
{
	if (r->ctx)
		io_destroy(r->ctx);
	if (r->fd > 0)
		close(r->fd);
	free(r->bufs);
	free(r->cbs);
	free(r->cbp);
	memset(r, 0, sizeof(*r));
}
