/* SPDX-License-Identifier: MIT */
/* pathcheck-stress: the command line, and a pathsim mount as --devices. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pathcheck.h"
#include "array.h"
#include "duration.h"

#include "stress.h"

static void usage(FILE *f)
{
	fprintf(f,
"usage: pathcheck-stress --devices D1[,D2...] [options]\n"
"  --paths N          paths over the devices, round-robin (default: one each)\n"
"  --threads T        application threads (default 1)\n"
"  --duration DUR | --checks C   how long to run (default 5s)\n"
"  --mode sync|sync-cb|async|batch  (default async)\n"
"  --churn R          free and re-add R paths a second\n"
"  --reset-every DUR  pc_engine_reset every DUR\n"
"  --hung F --eio F --slow F:MS --flaky F:P   pathsim fault fractions;\n"
"                     MS and P as in pathsim's slow:MS and flaky:P (0 <= P <= 1)\n"
"  --flip DUR         change pathsim modes every DUR\n"
"  --workers N --group-size N --timeout DUR   engine options (default 2s)\n"
"  --coalesce-us US   pc_options.coalesce_us (default 0)\n"
"  --timeout-ms MS    deprecated: --timeout MSms\n"
"  --lifecycle        only add --paths paths, free them, free the engine\n"
"  --shared-fd        with --lifecycle: one fd per device for all its paths\n"
"                     (pc_path_new), and one round of checks before RSS\n"
"  --baseline per-path-context   the same with one io_context per path\n"
"  --baseline multipath-directio  multipath-tools' directio checker over\n"
"                     the paths for --duration (throughput reference)\n"
"  --sched rr|other   with it: SCHED_RR 99 as multipathd (default) or not\n"
"  --json --quiet\n"
"  --help --version\n"
"DUR: 500ms, 2s, 1.5s, 1m; a bare number is seconds; 0 for --duration,\n"
"--reset-every and --flip means none.\n");
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

/* DUR in seconds, or 0 */
static int parse_seconds(const char *s, double *v)
{
	unsigned int ms;

	if (!strcmp(s, "0")) {
		*v = 0;
		return 0;
	}
	if (dur_parse(s, &ms))
		return -EINVAL;
	*v = ms / 1000.0;
	return 0;
}

/* "F:ARG": the fraction F of the files, and pathsim's mode word "WORD:ARG". */
static int parse_frac_mode(const char *s, const char *word, double *f, struct sim_mode *m)
{
	char buf[64];
	const char *colon = strchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", (int)(colon - s), s);
	if (parse_double(buf, f) || *f > 1)
		return -EINVAL;
	if ((size_t)snprintf(buf, sizeof(buf), "%s%s", word, colon) >= sizeof(buf))
		return -EINVAL;
	return sim_mode_parse(buf, m);
}

static int split_devices(struct stress_cfg *cfg, char *list)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char **d = array_room(cfg->devs, cfg->ndevs, sizeof(*d));

		if (!d)
			return -ENOMEM;
		cfg->devs = d;
		cfg->devs[cfg->ndevs++] = tok;
	}
	return cfg->ndevs ? 0 : -EINVAL;
}

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "pathcheck-stress: bad value for --%s: '%s'\n", opt, val);
	return -EINVAL;
}

static const struct option opts[] = {
	{ "paths", 1, 0, 'n' }, { "devices", 1, 0, 'd' },
	{ "threads", 1, 0, 't' }, { "duration", 1, 0, 'D' },
	{ "checks", 1, 0, 'c' }, { "mode", 1, 0, 'm' },
	{ "churn", 1, 0, 'C' }, { "reset-every", 1, 0, 'r' },
	{ "hung", 1, 0, 'H' }, { "eio", 1, 0, 'E' },
	{ "slow", 1, 0, 'S' }, { "flaky", 1, 0, 'F' },
	{ "flip", 1, 0, 'f' }, { "workers", 1, 0, 'w' },
	{ "group-size", 1, 0, 'g' }, { "timeout-ms", 1, 0, 'M' },
	{ "timeout", 1, 0, 'T' }, { "coalesce-us", 1, 0, 'K' },
	{ "json", 0, 0, 'j' }, { "quiet", 0, 0, 'q' },
	{ "baseline", 1, 0, 'b' }, { "lifecycle", 0, 0, 'L' }, { "shared-fd", 0, 0, 'X' }, { "help", 0, 0, 'h' },
	{ "version", 0, 0, 'V' }, { "sched", 1, 0, 's' },
	{ 0, 0, 0, 0 },
};

int parse_args(struct stress_cfg *cfg, int argc, char **argv)
{
	int c, idx;
	unsigned int u;

	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		const char *name = idx >= 0 ? opts[idx].name : "?";

		switch (c) {
		case 'n': if (parse_uint(optarg, &cfg->npaths) || !cfg->npaths) return bad(name, optarg); break;
		case 'd': if (split_devices(cfg, optarg)) return bad(name, optarg); break;
		case 't': if (parse_uint(optarg, &cfg->threads) || !cfg->threads || cfg->threads > 1024) return bad(name, optarg); break;
		case 'D': if (parse_seconds(optarg, &cfg->duration)) return bad(name, optarg); break;
		case 'c': if (parse_uint(optarg, &u) || !u) return bad(name, optarg); cfg->max_checks = u; break;
		case 'm':
			if (!strcmp(optarg, "sync")) cfg->mode = RUN_SYNC;
			else if (!strcmp(optarg, "sync-cb")) cfg->mode = RUN_SYNC_CB;
			else if (!strcmp(optarg, "async")) cfg->mode = RUN_ASYNC;
			else if (!strcmp(optarg, "batch")) cfg->mode = RUN_BATCH;
			else return bad(name, optarg);
			break;
		case 'C': if (parse_double(optarg, &cfg->churn)) return bad(name, optarg); break;
		case 'r': if (parse_seconds(optarg, &cfg->reset_every)) return bad(name, optarg); break;
		case 'H': if (parse_double(optarg, &cfg->f_hung) || cfg->f_hung > 1) return bad(name, optarg); break;
		case 'E': if (parse_double(optarg, &cfg->f_eio) || cfg->f_eio > 1) return bad(name, optarg); break;
		case 'S': if (parse_frac_mode(optarg, "slow", &cfg->f_slow, &cfg->slow)) return bad(name, optarg); break;
		case 'F': if (parse_frac_mode(optarg, "flaky", &cfg->f_flaky, &cfg->flaky)) return bad(name, optarg); break;
		case 'f': if (parse_seconds(optarg, &cfg->flip)) return bad(name, optarg); break;
		case 'w': if (parse_uint(optarg, &cfg->workers)) return bad(name, optarg); break;
		case 'g': if (parse_uint(optarg, &cfg->group_size) || !cfg->group_size) return bad(name, optarg); break;
		case 'K': if (parse_uint(optarg, &cfg->coalesce_us) || cfg->coalesce_us > PC_MAX_COALESCE_US) return bad(name, optarg); break;
		case 'T': if (dur_parse(optarg, &cfg->timeout_ms)) return bad(name, optarg); break;
		case 'M':
			if (parse_uint(optarg, &cfg->timeout_ms) || !cfg->timeout_ms) return bad(name, optarg);
			fprintf(stderr, "pathcheck-stress: note: --timeout-ms is deprecated; "
				"write --timeout %sms\n", optarg);
			break;
		case 'j': cfg->json = 1; break;
		case 'q': cfg->quiet = 1; break;
		case 'b':
			if (!strcmp(optarg, "per-path-context")) cfg->program = PROG_PER_PATH_CONTEXT;
			else if (!strcmp(optarg, "multipath-directio")) cfg->program = PROG_MULTIPATH;
			else return bad(name, optarg);
			break;
		case 'L': cfg->program = PROG_LIFECYCLE; break;
		case 'X': cfg->shared_fd = 1; break;
		case 's':
			if (!strcmp(optarg, "rr")) cfg->sched_other = 0;
			else if (!strcmp(optarg, "other")) cfg->sched_other = 1;
			else return bad(name, optarg);
			break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("pathcheck-stress %s\n", PC_VERSION); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		idx = -1;
	}
	if (optind < argc) {
		fprintf(stderr, "pathcheck-stress: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!cfg->ndevs) {
		fprintf(stderr, "pathcheck-stress: --devices is required\n");
		usage(stderr);
		return -EINVAL;
	}
	if (cfg->f_hung + cfg->f_eio + cfg->f_slow + cfg->f_flaky > 1.0001) {
		fprintf(stderr, "pathcheck-stress: fault fractions add up to more than 1\n");
		return -EINVAL;
	}
	return 0;
}

/* A directory with a control file is a pathsim mount: its p0..pK become
 * the devices. */
int expand_pathsim(struct stress_cfg *cfg)
{
	char buf[4096];
	struct stat st;
	unsigned int i, n;

	if (stat(cfg->devs[0], &st) || !S_ISDIR(st.st_mode))
		return 0;
	snprintf(buf, sizeof(buf), "%s/control", cfg->devs[0]);
	if (access(buf, W_OK)) {
		fprintf(stderr, "pathcheck-stress: %s is a directory without a pathsim control file\n", cfg->devs[0]);
		return -EISDIR;
	}
	if (cfg->ndevs != 1) {
		fprintf(stderr, "pathcheck-stress: a pathsim mount must be the only device\n");
		return -EINVAL;
	}
	cfg->mount = cfg->devs[0];
	for (n = 0;; n++) {
		snprintf(buf, sizeof(buf), "%s/p%u", cfg->mount, n);
		if (access(buf, F_OK))
			break;
	}
	if (!n) {
		fprintf(stderr, "pathcheck-stress: %s has no p0\n", cfg->mount);
		return -ENOENT;
	}
	free(cfg->devs);
	cfg->devs = calloc(n, sizeof(*cfg->devs));
	if (!cfg->devs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "%s/p%u", cfg->mount, i);
		cfg->devs[i] = strdup(buf);
		if (!cfg->devs[i])
			return -ENOMEM;
	}
	cfg->ndevs = cfg->nsim = n;
	return 0;
}

void free_devs(struct stress_cfg *cfg)
{
	unsigned int i;

	for (i = 0; cfg->mount && i < cfg->ndevs; i++)
		free(cfg->devs[i]);
	free(cfg->devs);
	cfg->devs = NULL;
}
