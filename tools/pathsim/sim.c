/* SPDX-License-Identifier: MIT */
/*
 * The simulated paths: their modes, their counters, and the reads the
 * server keeps (hung ones until released, slow ones until due).
 *
 * One mutex guards everything.  Replies are sent with it held, so a
 * reader that sees its completion also sees the counters that count it.
 * Replying never blocks: writing to /dev/fuse only completes kernel
 * requests.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "array.h"
#include "clock.h"
#include "sbuf.h"

#include "pathsim.h"

#define PS_ZERO_CHUNK	(128u * 1024u)
#define PS_ZERO_IOV	64u		/* 8 MiB, more than FUSE ever asks */

static const char ps_zeros[PS_ZERO_CHUNK];

/* What one read gets, decided from the path's mode. */
enum ps_outcome {
	PS_OUT_FULL,
	PS_OUT_EIO,
	PS_OUT_SHORT,
	PS_OUT_DELAY,
	PS_OUT_HOLD,
};

/* splitmix64: small, seedable, good enough for coin flips */
static uint64_t ps_rand(struct ps_sim *sim)
{
	uint64_t z = (sim->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double ps_rand_unit(struct ps_sim *sim)
{
	return (double)(ps_rand(sim) >> 11) * 0x1.0p-53;
}

static enum ps_outcome ps_decide(struct ps_sim *sim, const struct sim_mode *m)
{
	switch (m->kind) {
	case SIM_MODE_UP:
		return PS_OUT_FULL;
	case SIM_MODE_EIO:
		return PS_OUT_EIO;
	case SIM_MODE_SHORT:
		return PS_OUT_SHORT;
	case SIM_MODE_SLOW:
		return PS_OUT_DELAY;
	case SIM_MODE_HUNG:
		return PS_OUT_HOLD;
	case SIM_MODE_FLAKY:
		return ps_rand_unit(sim) < m->flaky_p ? PS_OUT_EIO : PS_OUT_FULL;
	}
	return PS_OUT_EIO;
}

static void ps_reply_zeros(fuse_req_t req, size_t len)
{
	struct iovec iov[PS_ZERO_IOV];
	unsigned int n = 0;

	while (len && n < PS_ZERO_IOV) {
		size_t chunk = len < PS_ZERO_CHUNK ? len : PS_ZERO_CHUNK;

		iov[n].iov_base = (void *)ps_zeros;
		iov[n].iov_len = chunk;
		len -= chunk;
		n++;
	}
	fuse_reply_iov(req, iov, (int)n);
}

/* Answers one read now; outcome is FULL, SHORT or EIO. */
static void ps_answer(struct ps_sim *sim, unsigned int path, fuse_req_t req,
		      size_t len, enum ps_outcome out)
{
	struct ps_counts *c = &sim->paths[path].counts;

	switch (out) {
	case PS_OUT_FULL:
		c->ok++;
		ps_reply_zeros(req, len);
		break;
	case PS_OUT_SHORT:
		c->shortreads++;
		ps_reply_zeros(req, len / 2);
		break;
	default:
		c->failed++;
		fuse_reply_err(req, EIO);
		break;
	}
}

/* --- the timer heap of slow reads -------------------------------------- */

static bool ps_heap_before(const struct ps_held *a, const struct ps_held *b)
{
	return a->due_us < b->due_us ||
	       (a->due_us == b->due_us && a->seq < b->seq);
}

static void ps_heap_swap(struct ps_sim *sim, size_t i, size_t j)
{
	struct ps_held *t = sim->heap[i];

	sim->heap[i] = sim->heap[j];
	sim->heap[j] = t;
}

static int ps_heap_push(struct ps_sim *sim, struct ps_held *h)
{
	size_t i;

	if (array_reserve(&sim->heap, &sim->heap_cap, sim->heap_len + 1, sizeof(*sim->heap)))
		return -ENOMEM;
	i = sim->heap_len++;
	sim->heap[i] = h;
	while (i && ps_heap_before(sim->heap[i], sim->heap[(i - 1) / 2])) {
		ps_heap_swap(sim, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return 0;
}

static struct ps_held *ps_heap_pop(struct ps_sim *sim)
{
	struct ps_held *top = sim->heap[0];
	size_t i = 0;

	sim->heap[0] = sim->heap[--sim->heap_len];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < sim->heap_len && ps_heap_before(sim->heap[l], sim->heap[m]))
			m = l;
		if (r < sim->heap_len && ps_heap_before(sim->heap[r], sim->heap[m]))
			m = r;
		if (m == i)
			break;
		ps_heap_swap(sim, i, m);
		i = m;
	}
	return top;
}

/* --- held reads ---------------------------------------------------------- */

static void ps_hung_add(struct ps_sim *sim, struct ps_held *h)
{
	h->state = PS_HELD_HUNG;
	h->next = &sim->hung;
	h->prev = sim->hung.prev;
	sim->hung.prev->next = h;
	sim->hung.prev = h;
	sim->paths[h->path].counts.hung++;
}

static void ps_hung_del(struct ps_sim *sim, struct ps_held *h)
{
	h->prev->next = h->next;
	h->next->prev = h->prev;
	sim->paths[h->path].counts.hung--;
}

static int ps_delay(struct ps_sim *sim, struct ps_held *h, unsigned int ms)
{
	h->state = PS_HELD_TIMED;
	h->due_us = now_us() + (uint64_t)ms * 1000u;
	h->seq = sim->seq++;
	if (ps_heap_push(sim, h))
		return -ENOMEM;
	pthread_cond_signal(&sim->timer_cond);
	return 0;
}

/*
 * Gives a held read the outcome its path's mode has now.  A path still
 * hung answers EIO: a release never leaves a read held.
 */
static void ps_settle(struct ps_sim *sim, struct ps_held *h)
{
	const struct sim_mode *m = &sim->paths[h->path].mode;
	enum ps_outcome out = ps_decide(sim, m);

	if (out == PS_OUT_DELAY && !ps_delay(sim, h, m->slow_ms))
		return;
	if (out == PS_OUT_HOLD || out == PS_OUT_DELAY)
		out = PS_OUT_EIO;
	ps_answer(sim, h->path, h->req, h->len, out);
	free(h);
}

static struct ps_held *ps_held_new(unsigned int path, fuse_req_t req,
				   size_t len)
{
	struct ps_held *h = calloc(1, sizeof(*h));

	if (h) {
		h->req = req;
		h->path = path;
		h->len = len;
	}
	return h;
}

void ps_sim_read(struct ps_sim *sim, unsigned int path, fuse_req_t req,
		 size_t size, off_t off)
{
	struct ps_path *p = &sim->paths[path];
	size_t len = 0;
	enum ps_outcome out;
	struct ps_held *h;

	if (off >= 0 && (uint64_t)off < sim->size)
		len = sim->size - (uint64_t)off < size ?
			(size_t)(sim->size - (uint64_t)off) : size;

	pthread_mutex_lock(&sim->lock);
	p->counts.reads++;
	out = sim->state == PS_STOPPING ? PS_OUT_EIO : ps_decide(sim, &p->mode);
	if (out == PS_OUT_DELAY || out == PS_OUT_HOLD) {
		h = ps_held_new(path, req, len);
		if (!h)
			out = PS_OUT_EIO;
		else if (out == PS_OUT_HOLD)
			ps_hung_add(sim, h);
		else if (ps_delay(sim, h, p->mode.slow_ms)) {
			free(h);
			out = PS_OUT_EIO;
		}
	}
	if (out != PS_OUT_DELAY && out != PS_OUT_HOLD)
		ps_answer(sim, path, req, len, out);
	pthread_mutex_unlock(&sim->lock);
}

static bool ps_in_range(const struct ps_range *r, unsigned int path)
{
	return path >= r->first && path < r->end;
}

/* Settles hung reads in range, oldest first. */
static void ps_release(struct ps_sim *sim, const struct ps_range *r)
{
	struct ps_held *h, *next;

	for (h = sim->hung.next; h != &sim->hung; h = next) {
		next = h->next;
		if (!ps_in_range(r, h->path))
			continue;
		ps_hung_del(sim, h);
		ps_settle(sim, h);
	}
}

/* Answers every held read now with the given outcome. */
static void ps_flush(struct ps_sim *sim, enum ps_outcome out)
{
	struct ps_held *h;

	while (sim->hung.next != &sim->hung) {
		h = sim->hung.next;
		ps_hung_del(sim, h);
		ps_answer(sim, h->path, h->req, h->len, out);
		free(h);
	}
	while (sim->heap_len) {
		h = ps_heap_pop(sim);
		ps_answer(sim, h->path, h->req, h->len, out);
		free(h);
	}
}

static void ps_reset(struct ps_sim *sim)
{
	unsigned int i;

	for (i = 0; i < sim->npaths; i++)
		sim->paths[i].mode = (struct sim_mode){ .kind = SIM_MODE_UP };
	ps_flush(sim, PS_OUT_FULL);
	for (i = 0; i < sim->npaths; i++)
		memset(&sim->paths[i].counts, 0, sizeof(sim->paths[i].counts));
	sim->rng = sim->seed;
}

void ps_sim_apply(struct ps_sim *sim, const struct ps_cmd *cmds, size_t n)
{
	size_t i;
	unsigned int p;

	pthread_mutex_lock(&sim->lock);
	for (i = 0; i < n; i++) {
		const struct ps_cmd *c = &cmds[i];

		switch (c->kind) {
		case PS_CMD_SET:
			for (p = c->range.first; p < c->range.end; p++)
				sim->paths[p].mode = c->mode;
			break;
		case PS_CMD_RELEASE:
			ps_release(sim, &c->range);
			break;
		case PS_CMD_RESET:
			ps_reset(sim);
			break;
		}
	}
	pthread_mutex_unlock(&sim->lock);
}

/* --- the timer thread ---------------------------------------------------- */

static void ps_timer_wait(struct ps_sim *sim, uint64_t due_us)
{
	struct timespec ts = ts_from_us(due_us);

	pthread_cond_timedwait(&sim->timer_cond, &sim->lock, &ts);
}

static void *ps_timer_main(void *arg)
{
	struct ps_sim *sim = arg;
	struct ps_held *h;

	pthread_mutex_lock(&sim->lock);
	while (!sim->timer_stop) {
		if (!sim->heap_len) {
			pthread_cond_wait(&sim->timer_cond, &sim->lock);
			continue;
		}
		if (sim->heap[0]->due_us > now_us()) {
			ps_timer_wait(sim, sim->heap[0]->due_us);
			continue;
		}
		h = ps_heap_pop(sim);
		ps_answer(sim, h->path, h->req, h->len, PS_OUT_FULL);
		free(h);
	}
	pthread_mutex_unlock(&sim->lock);
	return NULL;
}

int ps_sim_start_timer(struct ps_sim *sim)
{
	int ret = pthread_create(&sim->timer, NULL, ps_timer_main, sim);

	if (ret)
		return -ret;
	sim->timer_started = true;
	return 0;
}

/* Answers everything EIO, then stops the timer thread. */
void ps_sim_stop(struct ps_sim *sim)
{
	pthread_mutex_lock(&sim->lock);
	sim->state = PS_STOPPING;
	ps_flush(sim, PS_OUT_EIO);
	sim->timer_stop = true;
	pthread_cond_broadcast(&sim->timer_cond);
	pthread_mutex_unlock(&sim->lock);
	if (sim->timer_started) {
		pthread_join(sim->timer, NULL);
		sim->timer_started = false;
	}
}

/* --- the table ----------------------------------------------------------- */

static int ps_table_format(const struct ps_sim *sim,
			   const struct ps_path *paths, struct sbuf *t)
{
	char mode[32];
	unsigned int i;

	sb_printf(t, "# pathsim 1 paths=%u size=%llu seed=%llu\n",
		  sim->npaths, (unsigned long long)sim->size,
		  (unsigned long long)sim->seed);
	for (i = 0; !t->oom && i < sim->npaths; i++) {
		const struct ps_counts *c = &paths[i].counts;

		sim_mode_format(&paths[i].mode, mode, sizeof(mode));
		sb_printf(t, "p%u %s reads=%lu ok=%lu failed=%lu short=%lu hung=%lu\n",
			  i, mode, c->reads, c->ok, c->failed, c->shortreads, c->hung);
	}
	return t->oom ? -ENOMEM : 0;
}

/* A snapshot of the table; the caller frees *buf. */
int ps_sim_table(struct ps_sim *sim, char **buf, size_t *len)
{
	struct sbuf t = { 0 };
	struct ps_path *copy;
	size_t bytes = sim->npaths * sizeof(*copy);
	int ret;

	copy = malloc(bytes);
	if (!copy)
		return -ENOMEM;
	pthread_mutex_lock(&sim->lock);
	memcpy(copy, sim->paths, bytes);
	pthread_mutex_unlock(&sim->lock);
	ret = ps_table_format(sim, copy, &t);
	free(copy);
	if (ret) {
		sb_free(&t);
		return ret;
	}
	*buf = t.p;
	*len = t.len;
	return 0;
}

/* --- life cycle ---------------------------------------------------------- */

int ps_sim_init(struct ps_sim *sim, unsigned int npaths, uint64_t size,
		uint64_t seed)
{
	pthread_condattr_t attr;
	int ret;

	memset(sim, 0, sizeof(*sim));
	sim->paths = calloc(npaths, sizeof(*sim->paths));
	if (!sim->paths)
		return -ENOMEM;
	sim->npaths = npaths;
	sim->size = size;
	sim->seed = seed;
	sim->rng = seed;
	sim->state = PS_RUNNING;
	sim->hung.next = sim->hung.prev = &sim->hung;
	pthread_mutex_init(&sim->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	ret = pthread_cond_init(&sim->timer_cond, &attr);
	pthread_condattr_destroy(&attr);
	if (ret) {
		pthread_mutex_destroy(&sim->lock);
		free(sim->paths);
		return -ret;
	}
	return 0;
}

void ps_sim_destroy(struct ps_sim *sim)
{
	ps_sim_stop(sim);
	pthread_cond_destroy(&sim->timer_cond);
	pthread_mutex_destroy(&sim->lock);
	free(sim->heap);
	free(sim->paths);
	memset(sim, 0, sizeof(*sim));
}
