/* SPDX-License-Identifier: MIT */
/*
 * Read buffers: each group has a pool of PC_BUF_BLOCK blocks, so that no
 * read shares its buffer with another read in flight.  A path whose
 * logical block is larger (8 or 16 KiB: such disks exist) takes a run of
 * blocks in one slab, aligned to its length within the slab, so that the
 * run never straddles two mappings.  Layers that check
 * data in place when an O_DIRECT read completes (btrfs checksums, T10-PI,
 * dm-integrity, dm-verity) fail a read whose buffer another read
 * overwrote.
 *
 * A read takes a buffer when it starts and gives it back when the kernel
 * has let go of it: an answer (in time, late or to an orphan), a refused
 * io_submit(), a successful io_cancel(), or io_destroy() of a retired
 * group (group_free()).  Memory follows the reads in flight:
 *
 *   - Blocks come in slabs of PC_BUF_SLAB blocks, mapped with mmap(): page
 *     aligned (>= PC_BUF_BLOCK), no allocator header per block, and an
 *     unmapped slab is given back to the kernel at once (a malloc'd block
 *     freed in the middle of the heap stays resident).
 *   - A slab untouched for PC_BUF_DECAY_MS is trimmed by the group's
 *     worker: unmapped when all its blocks are free, otherwise the pages
 *     of its free blocks are given back (MADV_DONTNEED), so that a read
 *     hung for long pins its own block, not its slab.  Until then checks
 *     in a loop reuse warm pages instead of faulting new ones each round.
 *   - Taking and giving back is a bit in the slab's mask under the group
 *     lock the caller already holds: no allocation per check.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "internal.h"

#define SLAB_BYTES	((size_t)PC_BUF_SLAB * PC_BUF_BLOCK)
#define SLAB_ALL_FREE	((uint32_t)((1ull << PC_BUF_SLAB) - 1))

struct buf_slab {
	struct cds_list_head node;	/* [G] partial or empty list; none when full */
	struct cds_list_head all;	/* [G] bufpool.all */
	unsigned char *mem;		/* SLAB_BYTES, page aligned */
	uint32_t free_mask;		/* [G] bit i: block i is free */
	uint32_t cold_mask;		/* [G] free, and its page given back */
	uint64_t used_us;		/* [G] last take or give back */
};

#define TRIM_AFTER_US	(PC_BUF_DECAY_MS * 1000ull)

_Static_assert(PC_BUF_SLAB <= 32, "free_mask has 32 bits");
_Static_assert(SLAB_BYTES >= PC_MAX_BLKSIZE, "a slab holds the largest read");

void bufpool_init(struct bufpool *bp)
{
	CDS_INIT_LIST_HEAD(&bp->partial);
	CDS_INIT_LIST_HEAD(&bp->empty);
	CDS_INIT_LIST_HEAD(&bp->all);
	bp->slabs = 0;
	atomic_init(&bp->trim_at_us, UINT64_MAX);
}

static struct buf_slab *slab_new(void)
{
	struct buf_slab *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	s->mem = mmap(NULL, SLAB_BYTES, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->mem == MAP_FAILED) {
		free(s);
		return NULL;
	}
	s->free_mask = SLAB_ALL_FREE;
	s->cold_mask = 0;	/* never touched: costs no memory anyway */
	return s;
}

static void slab_free(struct buf_slab *s)
{
	munmap(s->mem, SLAB_BYTES);
	free(s);
}

/* Blocks a read of bytes needs: a power of two (logical block sizes are). */
static unsigned int blocks_for(unsigned int bytes)
{
	return bytes <= PC_BUF_BLOCK ? 1 : bytes / PC_BUF_BLOCK;
}

/* The bits of the runs of n free blocks of s starting at a multiple of n:
 * bit i set when blocks i .. i + n - 1 are all free. */
static uint32_t free_runs(const struct buf_slab *s, unsigned int n)
{
	uint32_t runs = s->free_mask;

	for (unsigned int k = 1; k < n; k++)
		runs &= s->free_mask >> k;
	/* bits 0, n, 2n...: 0xffffffff / 0b11...1 (n ones) */
	return runs & (uint32_t)(UINT32_MAX / ((1ull << n) - 1));
}

/* A slab with a free run of n blocks: partly used slabs first, so that
 * idle slabs empty out; then the slab emptied last, whose pages are the
 * warmest; NULL: none. */
static struct buf_slab *find_slab_locked(struct bufpool *bp, unsigned int n)
{
	struct buf_slab *s;

	if (n == 1) {	/* every partial slab has one: no scan */
		if (!cds_list_empty(&bp->partial))
			return cds_list_first_entry(&bp->partial,
						    struct buf_slab, node);
	} else {
		cds_list_for_each_entry(s, &bp->partial, node)
			if (free_runs(s, n))
				return s;
	}
	if (cds_list_empty(&bp->empty))
		return NULL;
	s = cds_list_entry(bp->empty.prev, struct buf_slab, node);
	cds_list_move(&s->node, &bp->partial);
	return s;
}

/*
 * Free blocks for r's read of bytes (at most PC_MAX_BLKSIZE), in r->buf,
 * or -ENOMEM (no memory for a new slab).
 */
int req_take_buf_locked(struct aio_group *g, struct pc_req *r, unsigned int bytes,
		   uint64_t now)
{
	struct bufpool *bp = &g->bufs;
	unsigned int n = blocks_for(bytes), i;
	struct buf_slab *s;
	uint32_t run;

	lock_held(g);
	s = find_slab_locked(bp, n);
	if (!s) {
		s = slab_new();
		if (!s)
			return -ENOMEM;
		bp->slabs++;
		cds_list_add(&s->all, &bp->all);
		cds_list_add(&s->node, &bp->partial);
	}
	i = (unsigned int)__builtin_ctz(free_runs(s, n));
	run = (uint32_t)(((1ull << n) - 1) << i);
	s->free_mask &= ~run;
	s->cold_mask &= ~run;	/* the kernel faults them back in */
	s->used_us = now;
	if (!s->free_mask)
		cds_list_del(&s->node);		/* full: on no list */
	r->buf_slab = s;
	r->buf_blocks = n;
	r->buf = s->mem + (size_t)i * PC_BUF_BLOCK;
	return 0;
}

/*
 * Gives r's blocks back, if it holds any: the kernel has let go of them.
 * A slab that empties goes to the tail of the empty list (oldest first).
 * The group's worker trims what stays untouched (bufpool_trim()).
 */
void req_give_buf_locked(struct aio_group *g, struct pc_req *r, uint64_t now)
{
	struct bufpool *bp = &g->bufs;
	struct buf_slab *s = r->buf_slab;
	unsigned int i;
	uint64_t at;

	lock_held(g);
	if (!r->buf)
		return;
	i = (unsigned int)(((unsigned char *)r->buf - s->mem) / PC_BUF_BLOCK);
	r->buf = NULL;
	r->buf_slab = NULL;
	if (!s->free_mask)
		cds_list_add(&s->node, &bp->partial);	/* was full */
	s->free_mask |= (uint32_t)(((1ull << r->buf_blocks) - 1) << i);
	s->used_us = now;
	if (s->free_mask == SLAB_ALL_FREE) {
		cds_list_del(&s->node);
		cds_list_add_tail(&s->node, &bp->empty);
	}
	if (atomic_load_explicit(&bp->trim_at_us, memory_order_relaxed) !=
	    UINT64_MAX)
		return;		/* armed already, for this or an older slab */
	at = now + TRIM_AFTER_US;
	/* seq_cst, as the comment always said: a store then a load of
	 * sleep_until_us (worker_watch_deadline()), the pair of the worker's
	 * store then rescan in arm().  Relaxed, a thread other than the
	 * worker (pc_path_free, a refused submit) could miss a worker asleep
	 * with no deadline, and the slab would stay until the next read. */
	atomic_store_explicit(&bp->trim_at_us, at, memory_order_seq_cst);
	worker_watch_deadline(g->worker, at);
}

/* Gives back the pages of s's free blocks not given back yet. */
static void slab_cool_locked(struct buf_slab *s)
{
	uint32_t warm = s->free_mask & ~s->cold_mask;

	while (warm) {
		unsigned int i = (unsigned int)__builtin_ctz(warm);
		unsigned int n = (unsigned int)__builtin_ctzll(
			~((uint64_t)warm >> i));

		madvise(s->mem + (size_t)i * PC_BUF_BLOCK,
			(size_t)n * PC_BUF_BLOCK, MADV_DONTNEED);
		warm &= ~(((1ull << n) - 1) << i);
	}
	s->cold_mask = s->free_mask;
}

/*
 * The group's worker, when trim_at_us is due: unmaps the slabs empty and
 * untouched for PC_BUF_DECAY_MS (outside the lock), gives back the pages of
 * the free blocks of partial slabs untouched as long (under it: a take
 * must not race the madvise), and arms the next trim.
 */
void bufpool_trim(struct aio_group *g, uint64_t now)
{
	struct bufpool *bp = &g->bufs;
	struct buf_slab *s, *tmp;
	CDS_LIST_HEAD(old);
	uint64_t next = UINT64_MAX;

	lock_group(g);
	cds_list_for_each_entry_safe(s, tmp, &bp->empty, node) {
		if (s->used_us + TRIM_AFTER_US > now) {
			next = s->used_us + TRIM_AFTER_US;
			break;
		}
		cds_list_del(&s->all);
		cds_list_del(&s->node);
		cds_list_add_tail(&s->node, &old);
		bp->slabs--;
	}
	cds_list_for_each_entry(s, &bp->partial, node) {
		if (s->cold_mask == s->free_mask)
			continue;
		if (s->used_us + TRIM_AFTER_US <= now)
			slab_cool_locked(s);
		else if (s->used_us + TRIM_AFTER_US < next)
			next = s->used_us + TRIM_AFTER_US;
	}
	atomic_store_explicit(&bp->trim_at_us, next, memory_order_relaxed);
	unlock_group(g);
	cds_list_for_each_entry_safe(s, tmp, &old, node)
		slab_free(s);
}

/* After io_destroy(), or before any read: every slab goes, with the
 * blocks that orphans and timed-out reads held. */
void bufpool_free(struct bufpool *bp)
{
	struct buf_slab *s, *tmp;

	cds_list_for_each_entry_safe(s, tmp, &bp->all, all)
		slab_free(s);
	CDS_INIT_LIST_HEAD(&bp->all);
	CDS_INIT_LIST_HEAD(&bp->partial);
	CDS_INIT_LIST_HEAD(&bp->empty);
	bp->slabs = 0;
}
