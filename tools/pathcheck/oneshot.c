/* SPDX-License-Identifier: MIT */
/* pathcheck DEV...: one-shot check of storage paths, no daemon. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pathcheck.h"
#include "array.h"
#include "sbuf.h"

#include "cli.h"

enum target_state { T_CHECKING, T_DONE, T_OPEN_FAILED, T_SKIPPED };

struct target {
	char dev[512];
	const char *skip_why;
	struct pc_path *path;
	int open_err;
	enum target_state st;
	struct pc_result res;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static size_t outstanding;

/* Runs on an engine worker: record the result, wake main when all are in. */
static void on_result(struct pc_path *p, int state, void *arg)
{
	struct target *t = arg;

	(void)state;
	pc_path_result(p, &t->res);
	pthread_mutex_lock(&lock);
	t->st = T_DONE;
	if (--outstanding == 0)
		pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
}

/* Like multipath's default blacklist: not storage paths. */
static const char *skip_reason(const char *name)
{
	static const char *const pfx[] = { "loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd" };
	char fn[600];
	unsigned long long size = 0;
	FILE *f;

	for (size_t i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++)
		if (!strncmp(name, pfx[i], strlen(pfx[i])))
			return "blacklisted type";
	snprintf(fn, sizeof(fn), "/sys/block/%s/size", name);
	f = fopen(fn, "r");
	if (f) {
		if (fscanf(f, "%llu", &size) != 1)
			size = 0;
		fclose(f);
	}
	return size ? NULL : "size 0";
}

static int list_devices(struct target **tp, size_t *np, int all)
{
	DIR *d = opendir("/sys/block");
	struct dirent *de;
	struct target *t = NULL;
	size_t n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct target *nt = array_room(t, n, sizeof(*t));

		if (!nt) {
			free(t);
			closedir(d);
			return -ENOMEM;
		}
		t = nt;
		memset(&t[n], 0, sizeof(t[n]));
		snprintf(t[n].dev, sizeof(t[n].dev), "/dev/%s", de->d_name);
		t[n].skip_why = all ? NULL : skip_reason(de->d_name);
		t[n].st = t[n].skip_why ? T_SKIPPED : T_CHECKING;
		n++;
	}
	closedir(d);
	*tp = t;
	*np = n;
	return 0;
}

static const char *state_word(const struct target *t)
{
	if (t->st == T_SKIPPED)
		return "skipped";
	if (t->st == T_OPEN_FAILED)
		return "faulty";
	if (t->res.state == PC_UP)
		return "ready";
	if (t->res.reason == PC_REASON_TIMEOUT)
		return "i/o timeout";
	return "faulty";
}

static void message(const struct target *t, unsigned int timeout, char *buf, size_t len)
{
	if (t->st == T_SKIPPED)
		snprintf(buf, len, "skipped: %s", t->skip_why);
	else if (t->st == T_OPEN_FAILED)
		snprintf(buf, len, "cannot open: %s", strerror(-t->open_err));
	else if (t->res.reason == PC_REASON_IO_ERROR || t->res.reason == PC_REASON_SUBMIT_ERROR)
		snprintf(buf, len, "%s: %s", pc_reason_name(t->res.reason), strerror(t->res.error));
	else if (t->res.reason == PC_REASON_SHORT_READ)
		snprintf(buf, len, "short read %u/%d", t->res.bytes, pc_path_blksize(t->path));
	else if (t->res.reason == PC_REASON_TIMEOUT)
		snprintf(buf, len, "timeout after %u ms", timeout);
	else
		snprintf(buf, len, "%s", pc_reason_name(t->res.reason));
}

static void print_table(struct target *t, size_t n, unsigned int timeout)
{
	char msg[512];

	printf("%-20s %-12s %8s %12s  %s\n", "device", "state", "blksize", "latency_us", "message");
	for (size_t i = 0; i < n; i++) {
		int bs = t[i].st == T_DONE ? pc_path_blksize(t[i].path) : 0;

		message(&t[i], timeout, msg, sizeof(msg));
		printf("%-20s %-12s %8d %12llu  %s\n", t[i].dev, state_word(&t[i]), bs,
		       (unsigned long long)t[i].res.latency_us, msg);
	}
}

/* The JSON array, built whole and written once: 0, or -ENOMEM. */
static int print_json(struct target *t, size_t n, unsigned int timeout)
{
	struct sbuf b = { 0 };
	char msg[512];
	int ret = 0;

	sb_append(&b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		int bs = t[i].st == T_DONE ? pc_path_blksize(t[i].path) : 0;
		int up = t[i].st == T_DONE && t[i].res.state == PC_UP;

		message(&t[i], timeout, msg, sizeof(msg));
		sb_printf(&b, "%s\n {\"device\": ", i ? "," : "");
		sb_json_str(&b, t[i].dev);
		sb_printf(&b, ", \"state\": \"%s\", \"up\": %s, \"blksize\": %d, \"latency_us\": %llu, \"reason\": ",
			  state_word(&t[i]), up ? "true" : "false", bs,
			  (unsigned long long)t[i].res.latency_us);
		sb_json_str(&b, t[i].st == T_DONE ? pc_reason_name(t[i].res.reason) :
			    t[i].st == T_SKIPPED ? "skipped" : "open error");
		sb_printf(&b, ", \"message\": ");
		sb_json_str(&b, msg);
		sb_append(&b, "}", 1);
	}
	sb_append(&b, "\n]\n", 3);
	if (b.oom)
		ret = -ENOMEM;
	else
		fputs(b.p, stdout);
	sb_free(&b);
	return ret;
}

/* Failures are reported per device in the table; the engine's own lines would repeat them. */
static void quiet_log(void *arg, int priority, const char *msg)
{
	(void)arg; (void)priority; (void)msg;
}

static int by_dev(const void *a, const void *b)
{
	return strcmp(((const struct target *)a)->dev, ((const struct target *)b)->dev);
}

static void release(struct pc_engine *e, struct target *t, size_t n, struct pc_path **paths)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].path)
			pc_path_free(t[i].path);
	if (e)
		pc_engine_free(e);
	free(paths);
	free(t);
}

static int targets_from_args(char **devs, size_t n, struct target **tp)
{
	struct target *t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		snprintf(t[i].dev, sizeof(t[i].dev), "%s", devs[i]);
	*tp = t;
	return 0;
}

/* Opens every target not skipped; returns how many paths it put in paths. */
static size_t open_targets(struct pc_engine *e, struct target *t, size_t n,
			   struct pc_path **paths)
{
	size_t np = 0;
	int ret;

	for (size_t i = 0; i < n; i++) {
		if (t[i].st == T_SKIPPED)
			continue;
		ret = pc_path_open(e, t[i].dev, &t[i], &t[i].path);
		if (ret < 0) {
			t[i].st = T_OPEN_FAILED;
			t[i].open_err = ret;
			continue;
		}
		paths[np++] = t[i].path;
	}
	return np;
}

/* All at once: one submission per aio group, results via on_result. */
static int check_all(struct pc_path **paths, size_t np)
{
	int ret;

	pthread_mutex_lock(&lock);
	outstanding = np;
	pthread_mutex_unlock(&lock);
	ret = np ? pc_check_many(paths, np) : 0;
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&lock);
	while (outstanding)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return 0;
}

static bool any_down(const struct target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].st == T_OPEN_FAILED || (t[i].st == T_DONE && t[i].res.state != PC_UP))
			return true;
	return false;
}

int oneshot_run(const struct oneshot_opts *oo, char **devs, size_t n)
{
	struct pc_options o = { .on_result = on_result, .log = quiet_log,
				.timeout_ms = oo->timeout_ms };
	struct pc_engine *e = NULL;
	struct target *t = NULL;
	struct pc_path **paths = NULL;
	const char *what = NULL;	/* what failed; NULL: memory */
	int ret, rc = EXIT_TROUBLE;

	if (n) {
		ret = targets_from_args(devs, n, &t);
	} else {
		ret = list_devices(&t, &n, oo->all);
		what = "/sys/block";
	}
	if (ret < 0)
		goto out;
	qsort(t, n, sizeof(*t), by_dev);
	what = "engine";
	ret = pc_engine_new(&o, &e);
	if (ret < 0)
		goto out;
	what = NULL;
	ret = -ENOMEM;
	paths = calloc(n ? n : 1, sizeof(*paths));
	if (!paths)
		goto out;
	what = "pc_check_many";
	ret = check_all(paths, open_targets(e, t, n, paths));
	if (ret < 0)
		goto out;
	what = NULL;
	if (oo->json) {
		ret = print_json(t, n, o.timeout_ms);
		if (ret < 0)
			goto out;
	} else {
		print_table(t, n, o.timeout_ms);
	}
	fflush(stdout);	/* before exit can wait in the kernel for hung reads */
	rc = any_down(t, n) ? EXIT_SOME_DOWN : EXIT_ALL_UP;
out:
	if (ret < 0 && what)
		fprintf(stderr, "pathcheck: %s: %s\n", what, strerror(-ret));
	else if (ret < 0)
		fprintf(stderr, "pathcheck: out of memory\n");
	release(e, t, n, paths);
	return rc;
}
