/* SPDX-License-Identifier: MIT */
/*
 * Checks on btrfs files, whose O_DIRECT reads are verified against their
 * data checksums when they complete.  Paths of one aio group read at the
 * same time: if two reads in flight shared a buffer, one would overwrite
 * the other's data before btrfs verified it, and btrfs would fail a read
 * of healthy storage with EIO, count it in corruption_errs and log
 * "csum failed".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/btrfs.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "pathcheck.h"

#define NFILES		4
#define ROUNDS		2000		/* NFILES checks each */
#define FILE_SIZE	(1u << 20)
#define IMG_SIZE	(256 << 20)	/* mkfs.btrfs wants > 114 MiB */

/* What the test made, for cleanup on any exit, signals included. */
static struct fixture {
	char img[256];
	char dev[64];
	char mnt[256];
	bool attached, mounted;
} fx;

static void undo(void)
{
	if (fx.mounted && umount2(fx.mnt, 0) < 0)
		umount2(fx.mnt, MNT_DETACH);
	fx.mounted = false;
	if (fx.attached)
		pc_test_loop_detach(fx.dev);
	fx.attached = false;
	if (fx.mnt[0])
		rmdir(fx.mnt);
	fx.mnt[0] = '\0';
	if (fx.img[0])
		unlink(fx.img);
	fx.img[0] = '\0';
}

static void on_signal(int sig)
{
	undo();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const char *find_tool(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin",
					    "/bin", NULL };

	for (int i = 0; dirs[i]; i++) {
		snprintf(buf, len, "%s/%s", dirs[i], name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Makes a btrfs on a loop device and mounts it; NULL, or why not. */
static const char *setup(char *why, size_t len)
{
	char mkfs[128], out[4096], err[4096];
	const char *tmp = getenv("TMPDIR");
	const char *argv[] = { NULL, "-q", "-f", fx.dev, NULL };
	struct pc_test_run run = { .argv = argv, .limit_ms = 60000,
				   .out = out, .out_cap = sizeof(out),
				   .err = err, .err_cap = sizeof(err) };
	int fd, ret;

	if (pc_test_need_root())
		return pc_test_need_root();
	argv[0] = find_tool("mkfs.btrfs", mkfs, sizeof(mkfs));
	if (!argv[0])
		return "no mkfs.btrfs (btrfs-progs; scripts/deps.sh build)";
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	fd = pc_test_tmpfile(fx.img, sizeof(fx.img), IMG_SIZE);
	if (fd < 0) {
		snprintf(why, len, "no backing file: %s", strerror(-fd));
		return why;
	}
	close(fd);
	ret = pc_test_loop_attach(fx.img, 0, fx.dev, sizeof(fx.dev));
	if (ret < 0) {
		snprintf(why, len, "no loop device: %s", strerror(-ret));
		return why;
	}
	fx.attached = true;
	ret = pc_test_run(&run);
	if (ret < 0 || run.status != 0) {
		snprintf(why, len, "mkfs.btrfs %s failed (%d): %.200s", fx.dev,
			 ret < 0 ? ret : run.status, err);
		return why;
	}
	snprintf(fx.mnt, sizeof(fx.mnt), "%s/pcbtrfs.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx.mnt)) {
		fx.mnt[0] = '\0';
		snprintf(why, len, "mkdtemp: %s", strerror(errno));
		return why;
	}
	if (mount(fx.dev, fx.mnt, "btrfs", 0, NULL) < 0) {
		snprintf(why, len, "cannot mount btrfs on %s: %s", fx.dev,
			 strerror(errno));
		return why;
	}
	fx.mounted = true;
	return NULL;
}

/* Different random data in each file, on disk with its checksums. */
static int write_file(const char *name)
{
	static unsigned int seed = 12345;
	unsigned int *data = malloc(FILE_SIZE);
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = 0;

	if (!data || fd < 0) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < FILE_SIZE / sizeof(*data); i++)
		data[i] = rand_r(&seed);
	if (write(fd, data, FILE_SIZE) != (ssize_t)FILE_SIZE || fsync(fd) < 0)
		err = -EIO;
out:
	if (fd >= 0)
		close(fd);
	free(data);
	return err;
}

/* corruption_errs of the filesystem's device 1, or -1. */
static long corruption_errs(void)
{
	struct btrfs_ioctl_fs_info_args info = { 0 };
	char path[256], line[128];
	const unsigned char *u = info.fsid;
	long n = -1, v;
	FILE *f;
	int fd = open(fx.mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ioctl(fd, BTRFS_IOC_FS_INFO, &info) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	snprintf(path, sizeof(path), "/sys/fs/btrfs/%02x%02x%02x%02x-%02x%02x-"
		 "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x/devinfo/1/"
		 "error_stats", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7],
		 u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "corruption_errs %ld", &v) == 1)
			n = v;
	fclose(f);
	return n;
}

/* The kernel log from now on, or -1 where it cannot be read. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Lines since kmsg_open() that say "csum failed" about our device. */
static int kmsg_csum_failures(int fd)
{
	const char *dev = strrchr(fx.dev, '/') + 1;
	char rec[8192];
	int n = 0;
	ssize_t len;

	while ((len = read(fd, rec, sizeof(rec) - 1)) > 0 || errno == EPIPE) {
		if (len <= 0)
			continue;	/* EPIPE: records were overwritten */
		rec[len] = '\0';
		if (strstr(rec, "csum failed") && strstr(rec, dev))
			n++;
	}
	return n;
}

struct tally {
	atomic_uint up, down, outstanding;
	atomic_int first_error;
	sem_t round_done;
};

static void on_result(struct pc_path *p, int state, void *arg)
{
	struct tally *t = arg;
	struct pc_result r;

	if (state == PC_UP) {
		atomic_fetch_add(&t->up, 1);
	} else {
		int none = 0;

		atomic_fetch_add(&t->down, 1);
		if (pc_path_result(p, &r) == 0)
			atomic_compare_exchange_strong(&t->first_error, &none,
						       r.error ? r.error : -1);
	}
	if (atomic_fetch_sub(&t->outstanding, 1) == 1)
		sem_post(&t->round_done);
}

static void check_together(void)
{
	static struct tally t;
	struct pc_options o = { .on_result = on_result };
	struct pc_engine *e = NULL;
	struct pc_path *paths[NFILES] = { NULL };
	struct pc_stats st;
	char name[NFILES][300];
	long errs0, errs1;
	int kmsg, csum;

	for (int i = 0; i < NFILES; i++) {
		snprintf(name[i], sizeof(name[i]), "%s/f%d", fx.mnt, i);
		PC_REQUIRE(write_file(name[i]) == 0);
	}
	errs0 = corruption_errs();
	PC_REQUIRE(errs0 >= 0);
	kmsg = kmsg_open();
	if (kmsg < 0)
		printf("btrfs: /dev/kmsg unreadable (%s): the kernel log is "
		       "not checked\n", strerror(errno));
	sem_init(&t.round_done, 0, 0);
	PC_REQUIRE(pc_engine_new(&o, &e) == 0);
	for (int i = 0; i < NFILES; i++)
		PC_REQUIRE(pc_path_open(e, name[i], &t, &paths[i]) == 0);
	PC_REQUIRE(pc_engine_stats(e, &st) == 0);
	CU_ASSERT_EQUAL(st.groups, 1);	/* the point: one group */
	for (int r = 0; r < ROUNDS; r++) {
		int started;

		atomic_store(&t.outstanding, NFILES);
		started = pc_check_many(paths, NFILES);
		CU_ASSERT_EQUAL(started, NFILES);
		if (started != NFILES)
			break;	/* no round_done would come */
		while (sem_wait(&t.round_done) && errno == EINTR)
			;
	}
	errs1 = corruption_errs();
	csum = kmsg >= 0 ? kmsg_csum_failures(kmsg) : 0;
	printf("btrfs: %u up, %u down (first error %d), corruption_errs "
	       "%ld -> %ld, %d \"csum failed\" logged\n", atomic_load(&t.up),
	       atomic_load(&t.down), atomic_load(&t.first_error), errs0, errs1,
	       csum);
	CU_ASSERT_EQUAL(atomic_load(&t.up), NFILES * ROUNDS);
	CU_ASSERT_EQUAL(atomic_load(&t.down), 0);
	CU_ASSERT_EQUAL(errs1, errs0);
	CU_ASSERT_EQUAL(csum, 0);
	for (int i = 0; i < NFILES; i++)
		pc_path_free(paths[i]);
	pc_engine_free(e);
	sem_destroy(&t.round_done);
	if (kmsg >= 0)
		close(kmsg);
}

/* Four healthy btrfs files checked together, in one group, 8,000 times:
 * every check UP, no corruption counted, nothing logged. */
static void test_healthy_files_one_group(void)
{
	char why[512];
	const char *skip = setup(why, sizeof(why));

	if (skip) {
		undo();
		PC_SKIP("%s", skip);
	}
	check_together();
	undo();
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "healthy_files_one_group", test_healthy_files_one_group },
		{ NULL, NULL },
	};

	return pc_test_main("read_buffers_btrfs", tests, argc, argv);
}
