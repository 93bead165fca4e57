/* SPDX-License-Identifier: MIT */
/*
 * The read-buffer pool (src/bufpool.c) on its own, with times given, on
 * real memory: every read gets a block no other holds; a block stays with
 * its read until given back; slabs untouched for PC_BUF_DECAY_MS are
 * unmapped when empty, and otherwise give back the pages of their free
 * blocks but not of the blocks still held (mincore(2) says which pages are
 * resident); and a read that finds no memory for its block fails its
 * check DOWN, PC_REASON_SUBMIT_ERROR with ENOMEM.  tests/read_buffers_btrfs shows the pool where it matters, on the kernel's
 * checksummed reads.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "../src/internal.h"	/* a unit test of the pool itself */

#define NREQ	((int)(4 * PC_BUF_SLAB))
#define DECAY	(PC_BUF_DECAY_MS * 1000ull)

static struct pc_engine engine;
static struct worker worker;
static struct aio_group group;
static struct pc_req reqs[NREQ];

static void setup(void)
{
	memset(&group, 0, sizeof(group));
	memset(reqs, 0, sizeof(reqs));
	pthread_mutex_init(&group.lock, NULL);
	atomic_init(&group.lock_owner, NULL);
	group.engine = &engine;
	group.worker = &worker;
	/* A worker scanning now: a trim armed for later does not wake it. */
	worker.engine = &engine;
	atomic_init(&worker.sleep_until_us, 0);
	bufpool_init(&group.bufs);
}

static void teardown(void)
{
	bufpool_free(&group.bufs);
	pthread_mutex_destroy(&group.lock);
}

/* 1: the page of p is resident, 0: not, -errno: not mapped. */
static int resident(void *p)
{
	unsigned char v;

	if (mincore(p, (size_t)sysconf(_SC_PAGESIZE), &v) < 0)
		return -errno;
	return v & 1;
}

/* Takes a block for each request at time now; the "kernel" writes it. */
static void take_all(uint64_t now)
{
	lock_group(&group);
	for (int i = 0; i < NREQ; i++) {
		CU_ASSERT_EQUAL(req_take_buf_locked(&group, &reqs[i], PC_BUF_BLOCK, now), 0);
		if (reqs[i].buf)
			memset(reqs[i].buf, 0xa5, PC_BUF_BLOCK);
	}
	unlock_group(&group);
}

static int overlaps(int i, int j)
{
	uintptr_t a = (uintptr_t)reqs[i].buf, b = (uintptr_t)reqs[j].buf;

	return a < b + PC_BUF_BLOCK && b < a + PC_BUF_BLOCK;
}

/* Every read in flight has its own aligned block; given back, the blocks
 * are taken again without mapping more. */
static void test_own_block(void)
{
	setup();
	take_all(1000);
	for (int i = 0; i < NREQ; i++) {
		PC_REQUIRE(reqs[i].buf != NULL);
		CU_ASSERT_EQUAL((uintptr_t)reqs[i].buf % PC_BUF_BLOCK, 0);
		for (int j = 0; j < i; j++)
			CU_ASSERT_FALSE(overlaps(i, j));
	}
	CU_ASSERT_EQUAL(group.bufs.slabs, NREQ / PC_BUF_SLAB);
	lock_group(&group);
	for (int i = 0; i < NREQ; i++) {
		req_give_buf_locked(&group, &reqs[i], 2000);
		CU_ASSERT_PTR_NULL(reqs[i].buf);
		req_give_buf_locked(&group, &reqs[i], 2000);	/* none held: no-op */
	}
	unlock_group(&group);
	take_all(3000);
	CU_ASSERT_EQUAL(group.bufs.slabs, NREQ / PC_BUF_SLAB);
	teardown();
}

/*
 * Reads of more than a block (8 and 16 KiB logical blocks) take a run of
 * blocks in one slab, aligned to its length, beside single blocks: no two
 * reads overlap, the slabs are packed full (no run straddles two), and
 * given back the blocks serve a next round without mapping more.
 */
static void test_runs(void)
{
	static const unsigned int bytes[] = { 512, 16384, 4096, 8192 };
	unsigned int len[NREQ];
	unsigned int slabs;

	setup();
	for (int round = 0; round < 2; round++) {
		lock_group(&group);
		for (int i = 0; i < NREQ; i++) {
			len[i] = bytes[i % 4] < PC_BUF_BLOCK ? PC_BUF_BLOCK :
				 bytes[i % 4];
			CU_ASSERT_EQUAL(req_take_buf_locked(&group, &reqs[i],
						       bytes[i % 4], 1000), 0);
			PC_REQUIRE(reqs[i].buf != NULL);
			memset(reqs[i].buf, 0xa5, len[i]);
		}
		unlock_group(&group);
		for (int i = 0; i < NREQ; i++) {
			uintptr_t a = (uintptr_t)reqs[i].buf;

			CU_ASSERT_EQUAL(a % PC_BUF_BLOCK, 0);
			CU_ASSERT_EQUAL(reqs[i].buf_blocks,
					len[i] / PC_BUF_BLOCK);
			for (int j = 0; j < i; j++) {
				uintptr_t b = (uintptr_t)reqs[j].buf;

				CU_ASSERT_FALSE(a < b + len[j] && b < a + len[i]);
			}
		}
		if (round == 0)
			slabs = group.bufs.slabs;
		else
			CU_ASSERT_EQUAL(group.bufs.slabs, slabs);
		lock_group(&group);
		for (int i = 0; i < NREQ; i++)
			req_give_buf_locked(&group, &reqs[i], 2000);
		unlock_group(&group);
	}
	/* 4 + 2 + 1 + 1 blocks a quarter of the reads: 8 slabs exactly. */
	CU_ASSERT_EQUAL(slabs, NREQ / 4 * 8 / PC_BUF_SLAB);
	CU_ASSERT_TRUE(cds_list_empty(&group.bufs.partial));
	teardown();
}

/*
 * Two slabs keep one block each (a timed-out or orphaned read), two are
 * given back whole.  Before the decay nothing is trimmed; after it the
 * empty slabs are unmapped and the partial ones keep only the held pages.
 */
static void test_trim_follows_reads(void)
{
	const uint64_t t0 = 1000000;
	void *held[2], *freed[2], *gone[2];

	setup();
	take_all(t0);
	/* Blocks are handed out slab by slab, so reqs[k * SLAB] starts slab k. */
	held[0] = reqs[0].buf;
	held[1] = reqs[PC_BUF_SLAB].buf;
	freed[0] = reqs[1].buf;
	freed[1] = reqs[PC_BUF_SLAB + 5].buf;
	gone[0] = reqs[2 * PC_BUF_SLAB].buf;
	gone[1] = reqs[3 * PC_BUF_SLAB + 3].buf;
	lock_group(&group);
	for (int i = 0; i < NREQ; i++)
		if (i != 0 && i != (int)PC_BUF_SLAB)
			req_give_buf_locked(&group, &reqs[i], t0);
	unlock_group(&group);
	CU_ASSERT_EQUAL(atomic_load(&group.bufs.trim_at_us), t0 + DECAY);

	bufpool_trim(&group, t0 + DECAY - 1);	/* too early */
	CU_ASSERT_EQUAL(group.bufs.slabs, 4);
	CU_ASSERT_EQUAL(resident(freed[0]), 1);
	CU_ASSERT_EQUAL(resident(gone[0]), 1);

	bufpool_trim(&group, t0 + DECAY);
	CU_ASSERT_EQUAL(group.bufs.slabs, 2);
	CU_ASSERT_EQUAL(resident(held[0]), 1);
	CU_ASSERT_EQUAL(resident(held[1]), 1);
	CU_ASSERT_EQUAL(resident(freed[0]), 0);
	CU_ASSERT_EQUAL(resident(freed[1]), 0);
	CU_ASSERT_EQUAL(resident(gone[0]), -ENOMEM);
	CU_ASSERT_EQUAL(resident(gone[1]), -ENOMEM);
	CU_ASSERT_EQUAL(atomic_load(&group.bufs.trim_at_us), UINT64_MAX);
	/* The held blocks were not touched by the trim. */
	CU_ASSERT_EQUAL(((unsigned char *)held[0])[PC_BUF_BLOCK - 1], 0xa5);

	/* The kernel answers: the last blocks go, then their slabs. */
	lock_group(&group);
	req_give_buf_locked(&group, &reqs[0], t0 + 2 * DECAY);
	req_give_buf_locked(&group, &reqs[PC_BUF_SLAB], t0 + 2 * DECAY);
	unlock_group(&group);
	CU_ASSERT_EQUAL(atomic_load(&group.bufs.trim_at_us), t0 + 3 * DECAY);
	bufpool_trim(&group, t0 + 3 * DECAY);
	CU_ASSERT_EQUAL(group.bufs.slabs, 0);
	CU_ASSERT_EQUAL(resident(held[0]), -ENOMEM);
	teardown();
}

/* A retired group's pool goes whole, blocks still held included. */
static void test_free_with_held_blocks(void)
{
	setup();
	take_all(1000);
	teardown();	/* ASan/valgrind: nothing leaks */
	CU_ASSERT_EQUAL(group.bufs.slabs, 0);
}

#define NPATHS	((int)PC_BUF_SLAB + 1)	/* one more than a slab holds */

static struct {
	atomic_int up, enomem, other;
	sem_t done;
	atomic_int left;
} tally;

static void count(struct pc_path *p, int state, void *arg)
{
	struct pc_result r;

	(void)arg;
	pc_path_result(p, &r);
	if (state == PC_UP)
		atomic_fetch_add(&tally.up, 1);
	else if (r.reason == PC_REASON_SUBMIT_ERROR && r.error == ENOMEM)
		atomic_fetch_add(&tally.enomem, 1);
	else
		atomic_fetch_add(&tally.other, 1);
	if (atomic_fetch_sub(&tally.left, 1) == 1)
		sem_post(&tally.done);
}

static int round_of_checks(struct pc_path **paths)
{
	atomic_store(&tally.up, 0);
	atomic_store(&tally.enomem, 0);
	atomic_store(&tally.other, 0);
	atomic_store(&tally.left, NPATHS);
	if (pc_check_many(paths, NPATHS) != NPATHS)
		return -1;
	while (sem_wait(&tally.done) && errno == EINTR)
		;
	return 0;
}

/*
 * In a child: 17 paths of one group, one slab mapped, then no more
 * address space.  A round over all of them needs a second slab: 16 checks
 * UP, one DOWN with ENOMEM, nothing lost; with the limit lifted, 17 UP.
 * Exit status: 0 as expected, 10 + n where step n went wrong.
 */
static int enomem_child(const char *file)
{
	struct pc_options o = { .on_result = count, .workers = 1 };
	struct pc_path *paths[NPATHS];
	struct pc_engine *e;
	struct rlimit lim, old;

	sem_init(&tally.done, 0, 0);
	if (pc_engine_new(&o, &e) < 0)
		return 11;
	for (int i = 0; i < NPATHS; i++)
		if (pc_path_open(e, file, NULL, &paths[i]) < 0)
			return 12;
	if (round_of_checks(paths) || tally.up != NPATHS)
		return 13;	/* both slabs mapped now */
	/* Both slabs go once idle; one check maps one again. */
	pc_test_sleep_ms(PC_BUF_DECAY_MS + 500);
	atomic_store(&tally.left, 1000);
	atomic_store(&tally.up, 0);
	if (pc_check(paths[0], PC_SYNC) != PC_UP)
		return 18;
	/* Its on_result may come after pc_check returns (pc_check(3)): it
	 * must not land in the next round's tally. */
	for (int i = 0; i < 5000 && atomic_load(&tally.up) != 1; i++)
		pc_test_sleep_ms(1);
	if (getrlimit(RLIMIT_AS, &lim) < 0)
		return 14;
	old = lim;
	lim.rlim_cur = pc_test_vm_size();	/* the soft limit: it can go back up */
	if (setrlimit(RLIMIT_AS, &lim) < 0)
		return 14;
	if (round_of_checks(paths))
		return 15;
	if (tally.up != NPATHS - 1 || tally.enomem != 1 || tally.other) {
		fprintf(stderr, "up %d, ENOMEM %d, other %d\n", tally.up,
			tally.enomem, tally.other);
		return 16;
	}
	if (setrlimit(RLIMIT_AS, &old) < 0)
		return 19;
	if (round_of_checks(paths) || tally.up != NPATHS)
		return 17;
	for (int i = 0; i < NPATHS; i++)
		pc_path_free(paths[i]);
	pc_engine_free(e);
	return 0;
}

static void test_no_memory_for_a_block(void)
{
	char file[256];
	int fd, status;
	pid_t pid;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	PC_SKIP("the sanitizers' own mappings do not live under RLIMIT_AS");
#endif
	fd = pc_test_tmpfile(file, sizeof(file), 1 << 20);
	PC_REQUIRE(fd >= 0);
	close(fd);
	pid = fork();
	PC_REQUIRE(pid >= 0);
	if (pid == 0)
		_exit(enomem_child(file));
	status = pc_test_wait_exit(pid, 30000);
	unlink(file);
	CU_ASSERT_EQUAL(status, 0);
	if (status)
		printf("bufpool: the child stopped at step %d\n", status);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "own_block", test_own_block },
		{ "runs", test_runs },
		{ "trim_follows_reads", test_trim_follows_reads },
		{ "free_with_held_blocks", test_free_with_held_blocks },
		{ "no_memory_for_a_block", test_no_memory_for_a_block },
		{ NULL, NULL },
	};

	return pc_test_main("read_buffers_pool", tests, argc, argv);
}
