/* SPDX-License-Identifier: MIT */
/*
 * pathcheck-stress: load, churn and fault generator for libpathcheck that
 * is also an oracle: it knows each path's mode and counts wrong and lost
 * results.  See pathcheck-stress(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pathcheck.h"
#include "stress.h"

enum run_mode { RUN_SYNC, RUN_ASYNC, RUN_BATCH };

struct config {
	unsigned int npaths, threads, workers, group_size, timeout_ms;
	double duration, churn, reset_every, flip;
	uint64_t max_checks;
	enum run_mode mode;
	int json, quiet, shared_fd, sched_other;
	double f_hung, f_eio, f_slow, f_flaky;
	unsigned int slow_ms, flaky_pct;
	char **devs;
	unsigned int ndevs;
	char *mount;		/* pathsim mount or NULL */
	unsigned int nsim;	/* files p0..pK in the mount */
};

static struct config cfg = {
	.npaths = 0, .threads = 1, .duration = 5, .mode = RUN_ASYNC,
	.timeout_ms = 2000,
};
static struct pc_engine *engine;
static struct spath *paths;
static atomic_uint epoch;		/* odd while modes change */
static atomic_int stopping;
static struct hist hist;
static atomic_uint_fast64_t c_started, c_delivered, c_up, c_down, c_timeouts,
	c_wrong, c_lost, c_blocked, c_straddled, c_errors, c_churned,
	c_resets, c_delivered_freed;
static unsigned int *sim_mode;		/* mode of each pathsim file */
static unsigned int flip_offset;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: pathcheck-stress --devices D1[,D2...] [options]\n"
"  --paths N          paths over the devices, round-robin (default: one each)\n"
"  --threads T        application threads (default 1)\n"
"  --duration S | --checks C   how long to run (default 5 s)\n"
"  --mode sync|async|batch     (default async)\n"
"  --churn R          free and re-add R paths a second\n"
"  --reset-every S    pc_engine_reset every S seconds\n"
"  --hung F --eio F --slow F:MS --flaky F:P   pathsim fault fractions\n"
"  --flip S           change pathsim modes every S seconds\n"
"  --workers N --group-size N --timeout-ms MS   engine options\n"
"  --lifecycle        only add --paths paths, free them, free the engine\n"
"  --shared-fd        with --lifecycle: one fd per device for all its paths\n"
"                     (pc_path_new), and one round of checks before RSS\n"
"  --baseline per-path-context   the same with one io_context per path\n"
"  --baseline multipath-directio  multipath-tools' directio checker over\n"
"                     the paths for --duration (throughput reference)\n"
"  --sched rr|other   with it: SCHED_RR 99 as multipathd (default) or not\n"
"  --json --quiet\n");
}

static int parse_uint(const char *s, unsigned int *v)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || end == s || *end || x > 0xffffffffUL || *s == '-')
		return -EINVAL;
	*v = (unsigned int)x;
	return 0;
}

static int parse_double(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno || end == s || *end || *v < 0)
		return -EINVAL;
	return 0;
}

/* "F:N" */
static int parse_frac_arg(const char *s, double *f, unsigned int *n)
{
	char buf[64], *colon;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = 0;
	if (parse_double(buf, f) || *f > 1 || parse_uint(colon + 1, n))
		return -EINVAL;
	return 0;
}

static int split_devices(char *list)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char **d = realloc(cfg.devs, (cfg.ndevs + 1) * sizeof(*d));

		if (!d)
			return -ENOMEM;
		cfg.devs = d;
		cfg.devs[cfg.ndevs++] = tok;
	}
	return cfg.ndevs ? 0 : -EINVAL;
}

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "pathcheck-stress: bad value for --%s: '%s'\n", opt, val);
	return -EINVAL;
}

static int parse_args(int argc, char **argv, int *baseline)
{
	static const struct option opts[] = {
		{ "paths", 1, 0, 'n' }, { "devices", 1, 0, 'd' },
		{ "threads", 1, 0, 't' }, { "duration", 1, 0, 'D' },
		{ "checks", 1, 0, 'c' }, { "mode", 1, 0, 'm' },
		{ "churn", 1, 0, 'C' }, { "reset-every", 1, 0, 'r' },
		{ "hung", 1, 0, 'H' }, { "eio", 1, 0, 'E' },
		{ "slow", 1, 0, 'S' }, { "flaky", 1, 0, 'F' },
		{ "flip", 1, 0, 'f' }, { "workers", 1, 0, 'w' },
		{ "group-size", 1, 0, 'g' }, { "timeout-ms", 1, 0, 'T' },
		{ "json", 0, 0, 'j' }, { "quiet", 0, 0, 'q' },
		{ "baseline", 1, 0, 'b' }, { "lifecycle", 0, 0, 'L' }, { "shared-fd", 0, 0, 'X' }, { "help", 0, 0, 'h' },
		{ "sched", 1, 0, 's' },
		{ 0, 0, 0, 0 },
	};
	int c, idx;
	unsigned int u;

	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		const char *name = idx >= 0 ? opts[idx].name : "?";

		switch (c) {
		case 'n': if (parse_uint(optarg, &cfg.npaths) || !cfg.npaths) return bad(name, optarg); break;
		case 'd': if (split_devices(optarg)) return bad(name, optarg); break;
		case 't': if (parse_uint(optarg, &cfg.threads) || !cfg.threads || cfg.threads > 1024) return bad(name, optarg); break;
		case 'D': if (parse_double(optarg, &cfg.duration)) return bad(name, optarg); break;
		case 'c': if (parse_uint(optarg, &u) || !u) return bad(name, optarg); cfg.max_checks = u; break;
		case 'm':
			if (!strcmp(optarg, "sync")) cfg.mode = RUN_SYNC;
			else if (!strcmp(optarg, "async")) cfg.mode = RUN_ASYNC;
			else if (!strcmp(optarg, "batch")) cfg.mode = RUN_BATCH;
			else return bad(name, optarg);
			break;
		case 'C': if (parse_double(optarg, &cfg.churn)) return bad(name, optarg); break;
		case 'r': if (parse_double(optarg, &cfg.reset_every)) return bad(name, optarg); break;
		case 'H': if (parse_double(optarg, &cfg.f_hung) || cfg.f_hung > 1) return bad(name, optarg); break;
		case 'E': if (parse_double(optarg, &cfg.f_eio) || cfg.f_eio > 1) return bad(name, optarg); break;
		case 'S': if (parse_frac_arg(optarg, &cfg.f_slow, &cfg.slow_ms)) return bad(name, optarg); break;
		case 'F': if (parse_frac_arg(optarg, &cfg.f_flaky, &cfg.flaky_pct) || cfg.flaky_pct > 100) return bad(name, optarg); break;
		case 'f': if (parse_double(optarg, &cfg.flip)) return bad(name, optarg); break;
		case 'w': if (parse_uint(optarg, &cfg.workers)) return bad(name, optarg); break;
		case 'g': if (parse_uint(optarg, &cfg.group_size) || !cfg.group_size) return bad(name, optarg); break;
		case 'T': if (parse_uint(optarg, &cfg.timeout_ms) || !cfg.timeout_ms) return bad(name, optarg); break;
		case 'j': cfg.json = 1; break;
		case 'q': cfg.quiet = 1; break;
		case 'b':
			if (!strcmp(optarg, "per-path-context")) *baseline = 1;
			else if (!strcmp(optarg, "multipath-directio")) *baseline = 3;
			else return bad(name, optarg);
			break;
		case 'L': *baseline = 2; break;
		case 'X': cfg.shared_fd = 1; break;
		case 's':
			if (!strcmp(optarg, "rr")) cfg.sched_other = 0;
			else if (!strcmp(optarg, "other")) cfg.sched_other = 1;
			else return bad(name, optarg);
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		idx = -1;
	}
	if (optind < argc) {
		fprintf(stderr, "pathcheck-stress: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!cfg.ndevs) {
		fprintf(stderr, "pathcheck-stress: --devices is required\n");
		usage(stderr);
		return -EINVAL;
	}
	if (cfg.f_hung + cfg.f_eio + cfg.f_slow + cfg.f_flaky > 1.0001) {
		fprintf(stderr, "pathcheck-stress: fault fractions add up to more than 1\n");
		return -EINVAL;
	}
	return 0;
}

/* A directory with a control file is a pathsim mount: its p0..pK become
 * the devices. */
static int expand_pathsim(void)
{
	char buf[4096];
	struct stat st;
	unsigned int i, n;

	if (stat(cfg.devs[0], &st) || !S_ISDIR(st.st_mode))
		return 0;
	snprintf(buf, sizeof(buf), "%s/control", cfg.devs[0]);
	if (access(buf, W_OK)) {
		fprintf(stderr, "pathcheck-stress: %s is a directory without a pathsim control file\n", cfg.devs[0]);
		return -EISDIR;
	}
	if (cfg.ndevs != 1) {
		fprintf(stderr, "pathcheck-stress: a pathsim mount must be the only device\n");
		return -EINVAL;
	}
	cfg.mount = cfg.devs[0];
	for (n = 0;; n++) {
		snprintf(buf, sizeof(buf), "%s/p%u", cfg.mount, n);
		if (access(buf, F_OK))
			break;
	}
	if (!n) {
		fprintf(stderr, "pathcheck-stress: %s has no p0\n", cfg.mount);
		return -ENOENT;
	}
	free(cfg.devs);
	cfg.devs = calloc(n, sizeof(*cfg.devs));
	if (!cfg.devs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s/p%u", cfg.mount, i);
		cfg.devs[i] = strdup(buf);
		if (!cfg.devs[i])
			return -ENOMEM;
	}
	cfg.ndevs = cfg.nsim = n;
	return 0;
}

static int control_write(const char *text)
{
	char buf[4096];
	int fd, ret = 0;
	ssize_t len = (ssize_t)strlen(text);

	snprintf(buf, sizeof(buf), "%s/control", cfg.mount);
	fd = open(buf, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)len) != len)
		ret = -errno;
	close(fd);
	if (ret)
		fprintf(stderr, "pathcheck-stress: control '%s': %s\n", text, strerror(-ret));
	return ret;
}

static const char *mode_word(unsigned int m, char *buf, size_t len)
{
	switch (m) {
	case MODE_HUNG: return "hung";
	case MODE_EIO: return "eio";
	case MODE_SLOW: snprintf(buf, len, "slow:%u", cfg.slow_ms); return buf;
	case MODE_FLAKY: snprintf(buf, len, "flaky:%u", cfg.flaky_pct); return buf;
	default: return "up";
	}
}

/* Give file i its mode from the fractions, rotated by flip_offset. */
static int apply_modes(void)
{
	unsigned int n = cfg.nsim, i, cut[4];
	char *text, word[32];
	size_t len = 0, cap = (size_t)n * 48 + 64;
	int ret;

	if (!cfg.mount)
		return 0;
	cut[0] = (unsigned int)(cfg.f_hung * n + 0.5);
	cut[1] = cut[0] + (unsigned int)(cfg.f_eio * n + 0.5);
	cut[2] = cut[1] + (unsigned int)(cfg.f_slow * n + 0.5);
	cut[3] = cut[2] + (unsigned int)(cfg.f_flaky * n + 0.5);
	text = malloc(cap);
	if (!text)
		return -ENOMEM;
	text[0] = 0;
	for (i = 0; i < n; i++) {
		unsigned int r = i, m = MODE_UP;

		if (r < cut[0]) m = MODE_HUNG;
		else if (r < cut[1]) m = MODE_EIO;
		else if (r < cut[2]) m = MODE_SLOW;
		else if (r < cut[3]) m = MODE_FLAKY;
		sim_mode[(i + flip_offset) % n] = m;
	}
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "set %u %s\n", i,
					mode_word(sim_mode[i], word, sizeof(word)));
	ret = control_write(text);
	free(text);
	for (i = 0; i < cfg.npaths; i++)
		atomic_store(&paths[i].mode, sim_mode[i % n]);
	return ret;
}

static void judge(struct spath *sp, int state, unsigned int started_epoch)
{
	struct pc_result r;
	unsigned int m = atomic_load(&sp->mode);
	int reason = PC_REASON_NONE;

	if (started_epoch & 1 || started_epoch != atomic_load(&epoch)) {
		atomic_fetch_add(&c_straddled, 1);
		return;
	}
	if (pc_path_result(sp->p, &r) == 0)
		reason = r.reason;
	if (reason == PC_REASON_TIMEOUT)
		atomic_fetch_add(&c_timeouts, 1);
	if ((m == MODE_UP || m == MODE_SLOW) && state == PC_DOWN &&
	    reason != PC_REASON_TIMEOUT)
		atomic_fetch_add(&c_wrong, 1);
	if ((m == MODE_HUNG || m == MODE_EIO) && state == PC_UP)
		atomic_fetch_add(&c_wrong, 1);
}

static void on_result(struct pc_path *p, int state, void *arg)
{
	struct spath *sp = arg;
	uint64_t t0 = atomic_load(&sp->start_us);

	(void)p;
	if (!atomic_exchange(&sp->pending, 0)) {
		/* a result nobody started (or already counted lost) */
		atomic_fetch_add(&c_delivered_freed, 1);
	}
	atomic_fetch_add(&c_delivered, 1);
	atomic_fetch_add(&sp->delivered, 1);
	if (state == PC_UP)
		atomic_fetch_add(&c_up, 1);
	else
		atomic_fetch_add(&c_down, 1);
	hist_add(&hist, now_us() - t0);
	judge(sp, state, atomic_load(&sp->start_epoch));
}

/* Mark sp as started; undo when the engine did not start a read. */
static void mark_started(struct spath *sp)
{
	atomic_store(&sp->start_epoch, atomic_load(&epoch));
	atomic_store(&sp->start_us, now_us());
	atomic_store(&sp->pending, 1);
}

static void account_check(struct spath *sp, int ret)
{
	if (ret == PC_PENDING) {
		atomic_fetch_add(&c_started, 1);
		atomic_fetch_add(&sp->started, 1);
		return;
	}
	/* no read started: timed-out read still held, or an error */
	if (atomic_exchange(&sp->pending, 0)) {
		if (ret < 0)
			atomic_fetch_add(&c_errors, 1);
		else
			atomic_fetch_add(&c_blocked, 1);
	}
}

static int budget_left(void)
{
	if (atomic_load(&stopping))
		return 0;
	return !cfg.max_checks || atomic_load(&c_started) < cfg.max_checks;
}

static void check_one(struct spath *sp, int sync)
{
	int ret;

	pthread_mutex_lock(&sp->lock);
	if (!sp->p || atomic_load(&sp->pending)) {
		pthread_mutex_unlock(&sp->lock);
		return;
	}
	mark_started(sp);
	ret = pc_check(sp->p, sync ? PC_SYNC : 0);
	if (sync && (ret == PC_UP || ret == PC_DOWN)) {
		atomic_fetch_add(&c_started, 1);
		atomic_fetch_add(&sp->started, 1);
	} else {
		account_check(sp, ret);
	}
	pthread_mutex_unlock(&sp->lock);
}

static void run_batch(unsigned int t)
{
	struct pc_path *batch[256];
	struct spath *owners[256];
	unsigned int i, n = 0;
	int ret;

	for (i = t; i < cfg.npaths && budget_left(); i += cfg.threads) {
		struct spath *sp = &paths[i];

		if (pthread_mutex_trylock(&sp->lock))
			continue;
		/* hung paths go singly: pc_check_many skips held reads silently */
		if (!sp->p || atomic_load(&sp->pending) ||
		    atomic_load(&sp->mode) == MODE_HUNG) {
			pthread_mutex_unlock(&sp->lock);
			if (sp->p && atomic_load(&sp->mode) == MODE_HUNG)
				check_one(sp, 0);
			continue;
		}
		mark_started(sp);
		batch[n] = sp->p;
		owners[n++] = sp;
		if (n == 256 || i + cfg.threads >= cfg.npaths) {
			unsigned int k;

			ret = pc_check_many(batch, n);
			if (ret >= 0) {
				atomic_fetch_add(&c_started, (unsigned int)ret);
				for (k = 0; k < n; k++)
					atomic_fetch_add(&owners[k]->started, 1);
				if ((unsigned int)ret < n)
					atomic_fetch_add(&c_blocked, n - (unsigned int)ret);
			} else {
				atomic_fetch_add(&c_errors, 1);
				for (k = 0; k < n; k++)
					atomic_store(&owners[k]->pending, 0);
			}
			for (k = 0; k < n; k++)
				pthread_mutex_unlock(&owners[k]->lock);
			n = 0;
		}
	}
	for (i = 0; i < n; i++) {	/* budget ran out mid-batch */
		atomic_store(&owners[i]->pending, 0);
		pthread_mutex_unlock(&owners[i]->lock);
	}
}

static void *checker(void *arg)
{
	unsigned int t = (unsigned int)(uintptr_t)arg, i;

	while (budget_left()) {
		if (cfg.mode == RUN_BATCH) {
			run_batch(t);
		} else {
			for (i = t; i < cfg.npaths && budget_left(); i += cfg.threads)
				check_one(&paths[i], cfg.mode == RUN_SYNC);
		}
		if (cfg.mode != RUN_SYNC)
			sched_yield();
	}
	return NULL;
}

static int open_path(struct spath *sp)
{
	int ret = pc_path_open(engine, sp->dev, sp, &sp->p);

	if (ret < 0) {
		sp->p = NULL;
		fprintf(stderr, "pathcheck-stress: %s: %s\n", sp->dev, strerror(-ret));
	} else if (cfg.timeout_ms) {
		pc_path_set_timeout(sp->p, cfg.timeout_ms);
	}
	return ret;
}

static void churn_one(unsigned int i)
{
	struct spath *sp = &paths[i];

	if (pthread_mutex_trylock(&sp->lock))
		return;
	if (sp->p) {
		pc_path_free(sp->p);
		sp->p = NULL;
		/* a check in flight is cancelled, not lost */
		atomic_store(&sp->pending, 0);
		open_path(sp);
		atomic_fetch_add(&c_churned, 1);
	}
	pthread_mutex_unlock(&sp->lock);
}

static void sleep_us(uint64_t us)
{
	struct timespec ts = { (time_t)(us / 1000000), (long)(us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* Every second: count reads pending past timeout + 2 s as lost. */
static void scan_lost(uint64_t margin_us)
{
	unsigned int i;

	for (i = 0; i < cfg.npaths; i++) {
		struct spath *sp = &paths[i];
		bool late;

		if (!atomic_load(&sp->pending))
			continue;
		/* Checks start under sp->lock (mark_started): holding it,
		 * start_us belongs to the pending check.  Busy: one is being
		 * started right now, so it is not late. */
		if (pthread_mutex_trylock(&sp->lock))
			continue;
		/* now after the lock: a check started since is not in the past */
		late = now_us() - atomic_load(&sp->start_us) >= margin_us &&
		       atomic_exchange(&sp->pending, 0);
		pthread_mutex_unlock(&sp->lock);
		if (!late)
			continue;
		if (atomic_load(&sp->start_epoch) != atomic_load(&epoch))
			atomic_fetch_add(&c_straddled, 1);
		else
			atomic_fetch_add(&c_lost, 1);
	}
}

static void progress(uint64_t t_start, uint64_t *last_checks)
{
	struct pc_stats st = { 0 };
	uint64_t d = atomic_load(&c_delivered);

	pc_engine_stats(engine, &st);
	if (!cfg.quiet)
		fprintf(stderr, "%6.1fs %8" PRIu64 " checks/s  inflight %" PRIu64
			"  orphans %" PRIu64 "  groups %" PRIu64 "  lost %" PRIu64
			"  wrong %" PRIu64 "\n",
			(double)(now_us() - t_start) / 1e6, d - *last_checks,
			st.inflight, st.orphans, st.groups,
			(uint64_t)atomic_load(&c_lost), (uint64_t)atomic_load(&c_wrong));
	*last_checks = d;
}

static void flip_modes(void)
{
	atomic_fetch_add(&epoch, 1);		/* odd: results not judged */
	flip_offset++;
	apply_modes();
	control_write("release\n");
	atomic_fetch_add(&epoch, 1);
}

static uint64_t outstanding(void)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < cfg.npaths; i++)
		n += atomic_load(&paths[i].pending);
	return n;
}

static void drive(uint64_t t_start)
{
	uint64_t end = t_start + (uint64_t)(cfg.duration * 1e6);
	uint64_t next_sec = t_start + 1000000, next_reset = 0, next_flip = 0;
	uint64_t next_churn = t_start, churn_gap = 0, last = 0;
	uint64_t margin = (uint64_t)cfg.timeout_ms * 1000 + 2000000;

	if (cfg.reset_every > 0)
		next_reset = t_start + (uint64_t)(cfg.reset_every * 1e6);
	if (cfg.flip > 0 && cfg.mount)
		next_flip = t_start + (uint64_t)(cfg.flip * 1e6);
	if (cfg.churn > 0)
		churn_gap = (uint64_t)(1e6 / cfg.churn);
	for (;;) {
		uint64_t now = now_us();

		if (cfg.max_checks ? !budget_left() : now >= end)
			break;
		if (churn_gap) {
			while (now >= next_churn) {
				churn_one((unsigned int)((uint64_t)rand() % cfg.npaths));
				next_churn += churn_gap;
			}
		}
		if (next_reset && now >= next_reset) {
			if (pc_engine_reset(engine) == 0)
				atomic_fetch_add(&c_resets, 1);
			next_reset += (uint64_t)(cfg.reset_every * 1e6);
		}
		if (next_flip && now >= next_flip) {
			flip_modes();
			next_flip += (uint64_t)(cfg.flip * 1e6);
		}
		if (now >= next_sec) {
			scan_lost(margin);
			progress(t_start, &last);
			next_sec += 1000000;
		}
		sleep_us(churn_gap && churn_gap < 10000 ? churn_gap : 10000);
	}
}

/* After the load: release hung reads, wait for what is in flight. */
static void drain(void)
{
	uint64_t deadline = now_us() + (uint64_t)cfg.timeout_ms * 1000 + 2000000;

	while (outstanding() && now_us() < deadline)
		sleep_us(10000);
	scan_lost(0);
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Resident KiB now from an fd opened in advance (--lifecycle may use up
 * the others), or -1. */
static long statm_rss_kib(int fd)
{
	char buf[128];
	long pages, rss;
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof(buf) - 1, 0) : -1;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%ld %ld", &pages, &rss) != 2)
		return -1;
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Without a file descriptor: --lifecycle may have used them all. */
static long peak_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) ? -1 : ru.ru_maxrss;
}

static const char *mode_name(void)
{
	return cfg.mode == RUN_SYNC ? "sync" : cfg.mode == RUN_BATCH ? "batch" : "async";
}

static int report(double wall, long rss, const struct pc_stats *st, int mismatch)
{
	uint64_t checks = atomic_load(&c_delivered);
	double cps = wall > 0 ? (double)checks / wall : 0;

	if (cfg.json) {
		printf("{\"mode\":\"%s\",\"threads\":%u,\"paths\":%u,\"devices\":%u,"
		       "\"started\":%" PRIu64 ",\"checks\":%" PRIu64 ",\"checks_per_s\":%.0f,"
		       "\"lat_p50_us\":%" PRIu64 ",\"lat_p99_us\":%" PRIu64 ",\"lat_max_us\":%" PRIu64 ","
		       "\"up\":%" PRIu64 ",\"down\":%" PRIu64 ",\"timeouts\":%" PRIu64 ","
		       "\"lost\":%" PRIu64 ",\"wrong\":%" PRIu64 ",\"blocked\":%" PRIu64 ","
		       "\"straddled\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"churned\":%" PRIu64 ","
		       "\"resets\":%" PRIu64 ",\"orphans_reaped\":%" PRIu64 ","
		       "\"groups_created\":%" PRIu64 ",\"groups_destroyed\":%" PRIu64 ","
		       "\"stats_checks\":%" PRIu64 ",\"stats_mismatch\":%d,\"unexpected\":%" PRIu64 ","
		       "\"rss_kib\":%ld,\"wall_s\":%.3f}\n",
		       mode_name(), cfg.threads, cfg.npaths, cfg.ndevs, (uint64_t)c_started, checks, cps,
		       hist_pct(&hist, 50), hist_pct(&hist, 99), hist_max(&hist),
		       (uint64_t)c_up, (uint64_t)c_down, (uint64_t)c_timeouts,
		       (uint64_t)c_lost, (uint64_t)c_wrong, (uint64_t)c_blocked,
		       (uint64_t)c_straddled, (uint64_t)c_errors, (uint64_t)c_churned,
		       (uint64_t)c_resets, st->orphans_reaped, st->groups_created,
		       st->groups_destroyed, st->checks, mismatch, (uint64_t)c_delivered_freed, rss, wall);
	} else {
		printf("mode %s, %u threads, %u paths on %u devices, %.2f s\n",
		       mode_name(), cfg.threads, cfg.npaths, cfg.ndevs, wall);
		printf("checks %" PRIu64 " (%.0f/s)  up %" PRIu64 "  down %" PRIu64
		       "  timeouts %" PRIu64 "\n", checks, cps, (uint64_t)c_up,
		       (uint64_t)c_down, (uint64_t)c_timeouts);
		printf("latency p50 %" PRIu64 " us  p99 %" PRIu64 " us  max %" PRIu64 " us\n",
		       hist_pct(&hist, 50), hist_pct(&hist, 99), hist_max(&hist));
		printf("lost %" PRIu64 "  wrong %" PRIu64 "  blocked %" PRIu64
		       "  straddled %" PRIu64 "  errors %" PRIu64 "\n",
		       (uint64_t)c_lost, (uint64_t)c_wrong, (uint64_t)c_blocked,
		       (uint64_t)c_straddled, (uint64_t)c_errors);
		printf("churned %" PRIu64 "  resets %" PRIu64 "  orphans reaped %" PRIu64
		       "  groups created %" PRIu64 " destroyed %" PRIu64 "  rss %ld KiB\n",
		       (uint64_t)c_churned, (uint64_t)c_resets, st->orphans_reaped,
		       st->groups_created, st->groups_destroyed, rss);
		if (mismatch)
			printf("engine stats disagree: stats.checks %" PRIu64 " vs %" PRIu64 " delivered\n",
			       st->checks, checks);
	}
	return (c_lost || c_wrong || mismatch) ? 1 : 0;
}

static int *shared_fds;

/* --shared-fd: one O_DIRECT fd per device, shared by all its paths, so
 * that 100,000 paths do not need 100,000 descriptors. */
static int open_shared_fds(void)
{
	shared_fds = calloc(cfg.ndevs, sizeof(*shared_fds));
	if (!shared_fds)
		return -ENOMEM;
	for (unsigned int i = 0; i < cfg.ndevs; i++) {
		shared_fds[i] = open(cfg.devs[i], O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (shared_fds[i] < 0) {
			fprintf(stderr, "pathcheck-stress: %s: %s\n",
				cfg.devs[i], strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static void close_shared_fds(void)
{
	for (unsigned int i = 0; shared_fds && i < cfg.ndevs; i++)
		if (shared_fds[i] >= 0)
			close(shared_fds[i]);
	free(shared_fds);
	shared_fds = NULL;
}

/* One pc_check_many over every path, waiting until none is in flight. */
static void check_round(struct pc_path **pp, unsigned int n)
{
	struct pc_stats st;
	uint64_t until = now_us() + 30000000;

	pc_check_many(pp, n);
	do {
		sleep_us(10000);
		pc_engine_stats(engine, &st);
	} while (st.inflight && now_us() < until);
}

/* --lifecycle: add npaths, free them, free the engine; times and RSS. */
static int lifecycle(void)
{
	struct pc_options o = { 0 };
	struct pc_path **pp = calloc(cfg.npaths, sizeof(*pp));
	struct pc_stats st = { 0 };
	uint64_t t0, t1, tf, t2, t3;
	unsigned int i, n;
	long rss0 = peak_rss_kib(), rss1;
	int statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	long rest0 = statm_rss_kib(statm), rest1 = -1;
	int ret = 0;

	if (!pp)
		return 2;
	o.workers = cfg.workers;
	o.group_size = cfg.group_size;
	o.timeout_ms = cfg.timeout_ms;
	t0 = now_us();
	ret = pc_engine_new(&o, &engine);
	if (ret < 0) {
		fprintf(stderr, "pathcheck-stress: pc_engine_new: %s\n", strerror(-ret));
		free(pp);
		return 2;
	}
	if (cfg.shared_fd && open_shared_fds() < 0) {
		pc_engine_free(engine);
		free(pp);
		return 2;
	}
	for (n = 0; n < cfg.npaths; n++) {
		if (cfg.shared_fd)
			ret = pc_path_new(engine, shared_fds[n % cfg.ndevs], NULL,
					  &pp[n]);
		else
			ret = pc_path_open(engine, cfg.devs[n % cfg.ndevs],
					   NULL, &pp[n]);
		if (ret < 0) {
			fprintf(stderr, "pathcheck-stress: path %u (%s): %s\n", n,
				cfg.devs[n % cfg.ndevs], strerror(-ret));
			break;
		}
	}
	t1 = now_us();
	if (cfg.shared_fd) {
		check_round(pp, n);	/* touch what a running engine touches */
		/* At rest: the engine keeps idle read buffers for a second. */
		sleep_us(2000000);
		rest1 = statm_rss_kib(statm);
	}
	tf = now_us();	/* free_paths_s: the frees only */
	rss1 = peak_rss_kib();
	pc_engine_stats(engine, &st);
	for (i = 0; i < n; i++)
		pc_path_free(pp[i]);
	t2 = now_us();
	pc_engine_free(engine);
	t3 = now_us();
	close_shared_fds();
	free(pp);
	if (statm >= 0)
		close(statm);
	printf("{\"lifecycle\":\"pathcheck\",\"paths\":%u,\"groups\":%" PRIu64
	       ",\"create_s\":%.6f,\"free_paths_s\":%.6f,\"free_engine_s\":%.6f,"
	       "\"total_s\":%.6f,\"rss_kib\":%ld,\"rss_per_path_b\":%.0f",
	       n, st.groups, (double)(t1 - t0) / 1e6, (double)(t2 - tf) / 1e6,
	       (double)(t3 - t2) / 1e6, (double)(t3 - t0) / 1e6, rss1,
	       n ? (double)(rss1 - rss0) * 1024.0 / n : 0);
	if (rest1 >= 0 && rest0 >= 0)
		printf(",\"rest_rss_kib\":%ld,\"rest_per_path_b\":%.0f", rest1,
		       n ? (double)(rest1 - rest0) * 1024.0 / n : 0);
	printf("}\n");
	return ret < 0 ? 1 : 0;
}

static void free_devs(void)
{
	unsigned int i;

	for (i = 0; cfg.mount && i < cfg.ndevs; i++)
		free(cfg.devs[i]);
	free(cfg.devs);
	cfg.devs = NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stopping, 1);
}

static int setup_paths(void)
{
	unsigned int i;

	if (!cfg.npaths)
		cfg.npaths = cfg.ndevs;
	paths = calloc(cfg.npaths, sizeof(*paths));
	if (!paths)
		return -ENOMEM;
	for (i = 0; i < cfg.npaths; i++) {
		pthread_mutex_init(&paths[i].lock, NULL);
		paths[i].dev = cfg.devs[i % cfg.ndevs];
		if (open_path(&paths[i]) < 0)
			return -EIO;
	}
	if (cfg.mount) {
		sim_mode = calloc(cfg.nsim, sizeof(*sim_mode));
		if (!sim_mode)
			return -ENOMEM;
		return apply_modes();
	}
	return 0;
}

static void teardown_paths(void)
{
	unsigned int i;

	for (i = 0; paths && i < cfg.npaths; i++) {
		if (paths[i].p)
			pc_path_free(paths[i].p);
		pthread_mutex_destroy(&paths[i].lock);
	}
}

int main(int argc, char **argv)
{
	struct pc_options o = { 0 };
	struct pc_stats st = { 0 };
	pthread_t *tids = NULL;
	int baseline = 0, ret, rc = 2, mismatch = 0;
	unsigned int i, nthreads = 0;
	uint64_t t0;
	double wall;

	if (parse_args(argc, argv, &baseline))
		return 2;
	if (expand_pathsim())
		return 2;
	if (baseline == 2) {
		if (!cfg.npaths)
			cfg.npaths = cfg.ndevs;
		ret = lifecycle();
		free_devs();
		return ret;
	}
	if (baseline == 3) {
		ret = baseline_multipath(cfg.devs, cfg.ndevs, cfg.npaths ? cfg.npaths : cfg.ndevs,
					 cfg.duration, !cfg.sched_other, cfg.json, cfg.quiet);
		free_devs();
		return ret;
	}
	if (baseline) {
		ret = baseline_lifecycle(cfg.devs, cfg.ndevs, cfg.npaths ? cfg.npaths : cfg.ndevs, cfg.json);
		free_devs();
		return ret;
	}
	if ((cfg.f_hung || cfg.f_eio || cfg.f_slow || cfg.f_flaky || cfg.flip) && !cfg.mount) {
		fprintf(stderr, "pathcheck-stress: fault options need a pathsim mount in --devices\n");
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	o.workers = cfg.workers;
	o.group_size = cfg.group_size;
	o.timeout_ms = cfg.timeout_ms;
	o.on_result = on_result;
	ret = pc_engine_new(&o, &engine);
	if (ret < 0) {
		fprintf(stderr, "pathcheck-stress: pc_engine_new: %s\n", strerror(-ret));
		return 2;
	}
	if (setup_paths() < 0)
		goto out;
	tids = calloc(cfg.threads, sizeof(*tids));
	if (!tids)
		goto out;
	t0 = now_us();
	for (i = 0; i < cfg.threads; i++, nthreads++)
		if (pthread_create(&tids[i], NULL, checker, (void *)(uintptr_t)i))
			break;
	drive(t0);
	atomic_store(&stopping, 1);
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	wall = (double)(now_us() - t0) / 1e6;
	if (cfg.mount)
		control_write("release\n");
	drain();
	pc_engine_stats(engine, &st);
	/* stats.checks also counts checks of paths freed by churn whose
	 * delivery was cancelled, so only equality without churn */
	if (cfg.churn > 0 ? st.checks < c_delivered : st.checks != c_delivered)
		mismatch = 1;
	rc = report(wall, rss_kib(), &st, mismatch);
out:
	if (cfg.mount)
		control_write("release\n");
	teardown_paths();
	pc_engine_free(engine);
	free_devs();
	free(sim_mode);
	free(paths);
	free(tids);
	return rc;
}
