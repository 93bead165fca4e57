/* SPDX-License-Identifier: MIT */
/*
 * A tiny Linux AIO reader for tests that read a path directly, not through
 * libpathcheck: O_DIRECT reads of AIO_READER_BLK bytes at consecutive
 * blocks, up to depth in flight.  A read held by pathsim must be released
 * before aio_reader_close: io_destroy waits for the reads in flight.
 */
#ifndef PC_AIO_READER_H
#define PC_AIO_READER_H

#include <libaio.h>
#include <sys/types.h>

#define AIO_READER_BLK	4096u

struct aio_reader {
	io_context_t ctx;
	int fd;
	unsigned int depth;
	char *bufs;
	struct iocb *cbs;
	struct iocb **cbp;
	unsigned int inflight;
	unsigned int blocks;	/* the reads wrap around after these */
};

/* Opens path O_DIRECT for depth reads over its first size bytes: 0 or
 * -errno (close it either way). */
int aio_reader_open(struct aio_reader *r, const char *path, unsigned int depth, off_t size);
/* Submits n reads of AIO_READER_BLK bytes at consecutive blocks; io_submit's result. */
int aio_reader_submit(struct aio_reader *r, unsigned int n);
/* Waits up to ms for n completions; how many came (results in ev). */
int aio_reader_wait(struct aio_reader *r, unsigned int n, struct io_event *ev,
		    unsigned int ms);
void aio_reader_close(struct aio_reader *r);

#endif
