/* SPDX-License-Identifier: MIT */
/*
 * Logical blocks of any size (pathcheck(3), "The directio check"): a path
 * reads at least one logical block whatever its size, so a healthy disk
 * with 8 or 16 KiB sectors is UP (an O_DIRECT read of less fails EINVAL),
 * and the group's buffer pool serves those reads beside 512- and
 * 4096-byte ones in one group, each read in flight with its own buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

static char file[256];

/* A loop device over file with logical blocks of lbs: 0, or skips. */
static int attach(unsigned int lbs, char *dev, size_t len)
{
	int err = pc_test_loop_attach(file, lbs, dev, len);

	if (err)
		pc_test_skip("loop device with %u-byte sectors: %s", lbs,
			     strerror(-err));
	return err;
}

static void check_one(struct pc_engine *e, const char *dev, unsigned int lbs)
{
	struct pc_path *p, *q;
	struct pc_result r;
	int fd, ss = 0;

	fd = open(dev, O_RDONLY | O_CLOEXEC);
	PC_REQUIRE(fd >= 0);
	PC_REQUIRE(ioctl(fd, BLKSSZGET, &ss) == 0);
	CU_ASSERT_EQUAL(ss, (int)lbs);
	/* pc_path_open and pc_path_new alike. */
	PC_REQUIRE(pc_path_open(e, dev, NULL, &p) == 0);
	PC_REQUIRE(pc_path_new(e, fd, NULL, &q) == 0);
	CU_ASSERT_EQUAL(pc_path_blksize(p), (int)lbs);
	CU_ASSERT_EQUAL(pc_path_blksize(q), (int)lbs);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(pc_check(p, PC_SYNC), PC_UP);
		CU_ASSERT_EQUAL(pc_check(q, PC_SYNC), PC_UP);
	}
	pc_path_result(p, &r);
	CU_ASSERT_EQUAL(r.bytes, lbs);
	if (r.state != PC_UP)
		printf("\n  %s: %s (%s)\n", dev, pc_reason_name(r.reason),
		       strerror(r.error));
	pc_path_free(p);
	pc_path_free(q);
	close(fd);
}

static void test_sector_sizes(void)
{
	/* Up to Linux's largest, 64 KiB, where the kernel's loop takes it. */
	static const unsigned int sizes[] = { 8192, 16384, 32768, 65536 };
	const char *why = pc_test_need_root();
	struct pc_engine *e;
	char dev[64];

	if (why)
		PC_SKIP("loop devices: %s", why);
	PC_REQUIRE(pc_engine_new(NULL, &e) == 0);
	for (unsigned int i = 0; i < 4; i++) {
		if (i >= 2 && pc_test_loop_attach(file, sizes[i], dev,
						  sizeof(dev))) {
			printf("\n  no loop device with %u-byte sectors here\n",
			       sizes[i]);
			break;
		}
		if (i < 2 && attach(sizes[i], dev, sizeof(dev)))
			break;
		check_one(e, dev, sizes[i]);
		CU_ASSERT_EQUAL(pc_test_loop_detach(dev), 0);
	}
	pc_engine_free(e);
}

/*
 * One group, paths of 512, 4096 (a file) and 16384 bytes, more reads in
 * flight than a slab has blocks: every check of every round is UP.
 */
#define PER	24
static void test_mixed_group(void)
{
	struct pc_options o = { .workers = 1, .group_size = 4 * PER };
	const char *why = pc_test_need_root();
	struct pc_path *paths[3 * PER];
	char small[64], big[64];
	struct pc_engine *e;
	struct pc_stats st;
	int up = 0;

	if (why)
		PC_SKIP("loop devices: %s", why);
	if (attach(512, small, sizeof(small)))
		return;
	if (attach(16384, big, sizeof(big))) {
		pc_test_loop_detach(small);
		return;
	}
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < PER; i++) {
		PC_REQUIRE(pc_path_open(e, small, NULL, &paths[3 * i]) == 0);
		PC_REQUIRE(pc_path_open(e, file, NULL, &paths[3 * i + 1]) == 0);
		PC_REQUIRE(pc_path_open(e, big, NULL, &paths[3 * i + 2]) == 0);
	}
	CU_ASSERT_TRUE(pc_path_blksize(paths[0]) <= 4096);
	CU_ASSERT_EQUAL(pc_path_blksize(paths[2]), 16384);
	for (int round = 0; round < 5; round++) {
		CU_ASSERT_EQUAL(pc_check_many(paths, 3 * PER), 3 * PER);
		for (int i = 0; i < 3 * PER; i++)
			up += pc_check(paths[i], PC_SYNC) == PC_UP;
	}
	CU_ASSERT_EQUAL(up, 5 * 3 * PER);
	PC_REQUIRE(pc_engine_stats(e, &st) == 0);
	CU_ASSERT_EQUAL(st.groups, 1);
	CU_ASSERT_EQUAL(st.down, 0);
	for (int i = 0; i < 3 * PER; i++)
		pc_path_free(paths[i]);
	pc_engine_free(e);
	CU_ASSERT_EQUAL(pc_test_loop_detach(small), 0);
	CU_ASSERT_EQUAL(pc_test_loop_detach(big), 0);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "sector_sizes", test_sector_sizes },
		{ "mixed_group", test_mixed_group },
		{ NULL, NULL },
	};

	return pc_test_main_file("block_sizes", tests, argc, argv, file,
				 sizeof(file));
}
