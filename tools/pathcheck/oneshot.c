/* SPDX-License-Identifier: MIT */
/* pathcheck DEV...: one-shot check of storage paths, no daemon. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pathcheck.h"
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
		struct target *nt = realloc(t, (n + 1) * sizeof(*t));
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

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print(struct target *t, size_t n, int json, unsigned int timeout)
{
	char msg[512];

	if (json)
		printf("[");
	else
		printf("%-20s %-12s %8s %12s  %s\n", "device", "state", "blksize", "latency_us", "message");
	for (size_t i = 0; i < n; i++) {
		int bs = t[i].st == T_DONE ? pc_path_blksize(t[i].path) : 0;
		int up = t[i].st == T_DONE && t[i].res.state == PC_UP;

		message(&t[i], timeout, msg, sizeof(msg));
		if (!json) {
			printf("%-20s %-12s %8d %12llu  %s\n", t[i].dev, state_word(&t[i]), bs,
			       (unsigned long long)t[i].res.latency_us, msg);
			continue;
		}
		printf("%s\n {\"device\": ", i ? "," : "");
		json_str(t[i].dev);
		printf(", \"state\": \"%s\", \"up\": %s, \"blksize\": %d, \"latency_us\": %llu, \"reason\": ",
		       state_word(&t[i]), up ? "true" : "false", bs,
		       (unsigned long long)t[i].res.latency_us);
		json_str(t[i].st == T_DONE ? pc_reason_name(t[i].res.reason) :
			 t[i].st == T_SKIPPED ? "skipped" : "open error");
		printf(", \"message\": ");
		json_str(msg);
		printf("}");
	}
	if (json)
		printf("\n]\n");
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
	pc_engine_free(e);
	free(paths);
	free(t);
}

int oneshot_run(const struct oneshot_opts *oo, char **devs, size_t n)
{
	struct pc_options o = { .on_result = on_result, .log = quiet_log,
				.timeout_ms = oo->timeout_ms };
	struct pc_engine *e;
	struct target *t = NULL;
	struct pc_path **paths;
	size_t np = 0;
	int json = oo->json, all = oo->all, ret, bad = 0;

	if (n) {
		t = calloc(n, sizeof(*t));
		if (!t) {
			fprintf(stderr, "pathcheck: out of memory\n");
			return EXIT_TROUBLE;
		}
		for (size_t i = 0; i < n; i++)
			snprintf(t[i].dev, sizeof(t[i].dev), "%s", devs[i]);
	} else if ((ret = list_devices(&t, &n, all)) < 0) {
		fprintf(stderr, "pathcheck: /sys/block: %s\n", strerror(-ret));
		return EXIT_TROUBLE;
	}
	qsort(t, n, sizeof(*t), by_dev);
	ret = pc_engine_new(&o, &e);
	if (ret < 0) {
		fprintf(stderr, "pathcheck: engine: %s\n", strerror(-ret));
		free(t);
		return EXIT_TROUBLE;
	}
	paths = calloc(n ? n : 1, sizeof(*paths));
	if (!paths) {
		fprintf(stderr, "pathcheck: out of memory\n");
		release(e, t, n, NULL);
		return EXIT_TROUBLE;
	}
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
	pthread_mutex_lock(&lock);
	outstanding = np;
	pthread_mutex_unlock(&lock);
	/* All at once: one submission per aio group, results via on_result. */
	ret = np ? pc_check_many(paths, np) : 0;
	if (ret < 0) {
		fprintf(stderr, "pathcheck: pc_check_many: %s\n", strerror(-ret));
		release(e, t, n, paths);
		return EXIT_TROUBLE;
	}
	pthread_mutex_lock(&lock);
	while (outstanding)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	print(t, n, json, o.timeout_ms);
	fflush(stdout);	/* before exit can wait in the kernel for hung reads */
	for (size_t i = 0; i < n; i++)
		if (t[i].st == T_OPEN_FAILED || (t[i].st == T_DONE && t[i].res.state != PC_UP))
			bad = 1;
	release(e, t, n, paths);
	return bad ? EXIT_SOME_DOWN : EXIT_ALL_UP;
}
