/* SPDX-License-Identifier: MIT */
/* A binary min-heap of requests by deadline; each request knows its index,
 * so any one can be removed in O(log n). */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

int heap_init(struct deadline_heap *h, unsigned int cap)
{
	h->reqs = calloc(cap, sizeof(*h->reqs));
	if (!h->reqs)
		return -ENOMEM;
	h->n = 0;
	h->cap = cap;
	return 0;
}

void heap_free(struct deadline_heap *h)
{
	free(h->reqs);
	h->reqs = NULL;
}

static void place(struct deadline_heap *h, unsigned int i, struct pc_req *r)
{
	h->reqs[i] = r;
	r->heap_idx = i;
}

static void sift_up(struct deadline_heap *h, unsigned int i)
{
	struct pc_req *r = h->reqs[i];

	while (i > 0) {
		unsigned int parent = (i - 1) / 2;

		if (h->reqs[parent]->deadline_us <= r->deadline_us)
			break;
		place(h, i, h->reqs[parent]);
		i = parent;
	}
	place(h, i, r);
}

static void sift_down(struct deadline_heap *h, unsigned int i)
{
	struct pc_req *r = h->reqs[i];

	for (;;) {
		unsigned int c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n &&
		    h->reqs[c + 1]->deadline_us < h->reqs[c]->deadline_us)
			c++;
		if (r->deadline_us <= h->reqs[c]->deadline_us)
			break;
		place(h, i, h->reqs[c]);
		i = c;
	}
	place(h, i, r);
}

/* Room is guaranteed: a group has at most cap requests. */
void heap_push(struct deadline_heap *h, struct pc_req *r)
{
	place(h, h->n++, r);
	sift_up(h, h->n - 1);
}

void heap_remove(struct deadline_heap *h, struct pc_req *r)
{
	unsigned int i = r->heap_idx;
	struct pc_req *last = h->reqs[--h->n];

	if (i == h->n)
		return;
	place(h, i, last);
	sift_up(h, i);
	sift_down(h, last->heap_idx);
}

struct pc_req *heap_top(const struct deadline_heap *h)
{
	return h->n ? h->reqs[0] : NULL;
}
