/* SPDX-License-Identifier: MIT */
/*
 * pathcheckd.conf(5) fuzzed: a seeded fuzzer mutates valid configs
 * (PC_FUZZ_SEED=N reproduces a run) and requires exit 0 or 1 with a proper
 * message, never a signal, another status or a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config_fx.h"
#include "harness.h"

/*
 * 300 runs take 2 s on a plain build; under ASan each exec costs ~70 ms
 * (most of it LeakSanitizer at exit), under TSan ~45 ms.  So the fuzzer
 * stops early once it has used its time budget, after at least
 * FUZZ_MIN_RUNS.  The seed fixes the sequence, so a run that stopped
 * early is a prefix of the full one.
 */
#define FUZZ_RUNS	300
#define FUZZ_MIN_RUNS	100
#define FUZZ_BUDGET_MS	8000

/* --- fuzz ------------------------------------------------------------------------------------ */

static uint64_t rng;

static uint64_t rnd(void)
{
	return pc_test_rand(&rng);
}

static size_t rn(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

#define PICK(a) ((a)[rn(sizeof(a) / sizeof((a)[0]))])

struct text {
	char *p;
	size_t len, cap;
};

static bool text_reserve(struct text *t, size_t more)
{
	char *p;

	if (t->len + more <= t->cap)
		return true;
	p = realloc(t->p, t->len + more + 4096);
	if (!p)
		return false;
	t->p = p;
	t->cap = t->len + more + 4096;
	return true;
}

static void text_insert(struct text *t, size_t at, const char *s, size_t n)
{
	if (!n || at > t->len || !text_reserve(t, n))
		return;
	memmove(t->p + at + n, t->p + at, t->len - at);
	memcpy(t->p + at, s, n);
	t->len += n;
}

static void text_delete(struct text *t, size_t at, size_t n)
{
	if (at >= t->len)
		return;
	if (n > t->len - at)
		n = t->len - at;
	memmove(t->p + at, t->p + at + n, t->len - at - n);
	t->len -= n;
}

/* Where a line starts, at random. */
static size_t line_start(const struct text *t)
{
	size_t at = rn(t->len + 1);

	while (at > 0 && t->p[at - 1] != '\n')
		at--;
	return at;
}

static const char *const fuzz_bases[] = {
	"interval 2s\ntimeout 1s\nworkers 2\ngroup_size 16\nshutdown_timeout 200ms\n"
	"socket /run/pcd-fuzz.sock\nsocket_mode 0660\nmetrics_file /var/tmp/pcd.prom\n"
	"log stderr\nblacklist */sdc\npath @/links/* interval=1s\n"
	"path @/d/sd* interval=2s timeout=3s\npath @/d/*/p0\npath @/d/missing\n",
	"# comment\npath @/d/sda timeout=500ms # tail\n\tpath @/d/sd[bc]\r\nblacklist @/d/b/*\n",
	"interval 1.5s\npath @/d/*\npath @/d/*/*\nblacklist ?*/sdd\n",
	"",
};

static const char *const fuzz_words[] = {
	"interval", "timeout", "workers", "group_size", "shutdown_timeout", "socket",
	"socket_mode", "metrics_file", "log", "path", "blacklist", "intervall", "PATH",
	"#", "=", "interval=", "timeout=1s", "interval=250ms", "foo=1", "timeout=0",
	"0", "1", "5", "250ms", "1.5s", "2m", "24h", "25h", "0.5ms", "1.", ".1", "-3",
	"18446744073709551616", "99999999999999999999999999999999999999ms", "4294967296",
	"0777", "01000", "8", "stderr", "syslog", "auto", "journal", "/", "/*", "*", "?",
	"[", "[!", "[]", "\\", "/run/x.sock", "relative", "@/d/*", "@/d/sd?", "@/links/*",
	"@/d/missing", "@/d/[", "@/d/*/p0", "*/sda", "@/d/sdd", "@/links/dangling",
};

static void mutate_insert_line(struct text *t)
{
	char line[512];
	size_t n = 0, words = 1 + rn(5);
	char *s;

	for (size_t i = 0; i < words && n < sizeof(line) - 80; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s",
				      i ? PICK(((const char *const[]){ " ", "\t", "  " })) : "",
				      PICK(fuzz_words));
	line[n++] = '\n';
	line[n] = '\0';
	s = config_fx_expand(line);
	if (s)
		text_insert(t, line_start(t), s, strlen(s));
	free(s);
}

static void mutate_long_line(struct text *t)
{
	size_t n = 4000 + rn(200);
	char *s = malloc(n + 1);

	if (!s)
		return;
	for (size_t i = 0; i < n; i++)
		s[i] = rn(4) ? (char)('a' + rn(26)) : "* /#=.\t"[rn(7)];
	if (rn(2))
		memcpy(s, "path /", 6);
	s[n] = '\n';
	text_insert(t, line_start(t), s, n + 1);
	free(s);
}

static void mutate_huge_number(struct text *t)
{
	char num[80];
	size_t n = 10 + rn(60);

	for (size_t i = 0; i < n; i++)
		num[i] = (char)('0' + rn(10));
	num[n] = '\0';
	snprintf(num + n, sizeof(num) - n, "%s", PICK(((const char *const[]){ "", "ms", "s", "h" })));
	text_insert(t, rn(t->len + 1), num, strlen(num));
}

static void mutate(struct text *t)
{
	char junk[32];
	size_t n;

	switch (rn(12)) {
	case 0:		/* a byte becomes any byte */
		if (t->len)
			t->p[rn(t->len)] = (char)rn(256);
		break;
	case 1:		/* a bit flips */
		if (t->len)
			t->p[rn(t->len)] ^= (char)(1 << rn(8));
		break;
	case 2:
		t->len = rn(t->len + 1);
		break;
	case 3:
		mutate_insert_line(t);
		break;
	case 4:
		mutate_huge_number(t);
		break;
	case 5:
		mutate_long_line(t);
		break;
	case 6:		/* binary junk */
		n = 1 + rn(sizeof(junk));
		for (size_t i = 0; i < n; i++)
			junk[i] = (char)rn(256);
		text_insert(t, rn(t->len + 1), junk, n);
		break;
	case 7:
		text_insert(t, rn(t->len + 1), "", 1);
		break;
	case 8:
		text_delete(t, rn(t->len + 1), 1 + rn(20));
		break;
	case 9:		/* a stretch repeated */
		n = rn(t->len + 1);
		if (n < t->len) {
			size_t k = 1 + rn(t->len - n < 100 ? t->len - n : 100);
			char *dup = malloc(k);

			if (dup) {
				memcpy(dup, t->p + n, k);
				text_insert(t, rn(t->len + 1), dup, k);
			}
			free(dup);
		}
		break;
	case 10:	/* a character that means something here */
		junk[0] = "# \t\r\n=*?[]\\/.-"[rn(15)];
		text_insert(t, rn(t->len + 1), junk, 1);
		break;
	default:	/* a character that means something replaces one */
		if (t->len)
			t->p[rn(t->len)] = "# \t\n=*?[/0123456789"[rn(19)];
		break;
	}
}

/* One line of -t output: "NAME PATH interval=MS timeout=MS". */
static bool device_line_ok(const char *line, size_t len)
{
	char copy[PATH_MAX * 2 + 64], *iv, *tv;
	unsigned int a, b;
	char end;

	if (len >= sizeof(copy))
		return false;
	memcpy(copy, line, len);
	copy[len] = '\0';
	iv = strstr(copy, " interval=");
	tv = iv ? strstr(iv, " timeout=") : NULL;
	return iv && iv > copy && tv &&
	       sscanf(iv, " interval=%u timeout=%u%c", &a, &b, &end) == 2 &&
	       a >= 1 && a <= 86400000 && b >= 1 && b <= 86400000;
}

static bool fuzz_output_ok(const char *conf)
{
	char where[PATH_MAX + 16];

	if (config_last.timed_out || config_last.sig || (config_last.status != 0 && config_last.status != 1))
		return false;
	if (config_last.status == 1) {
		snprintf(where, sizeof(where), "pathcheckd: %s:", conf);
		return !strncmp(config_last.err, where, strlen(where)) && config_last.nout == 0;
	}
	for (const char *l = config_last.out; *l;) {
		const char *nl = strchr(l, '\n');

		if (!nl || (strncmp(l, "# ", 2) && !device_line_ok(l, (size_t)(nl - l))))
			return false;
		l = nl + 1;
	}
	return config_last.nerr == 0;
}

static void fuzz_report(unsigned int iter, const struct text *t)
{
	printf("\n  iteration %u: exit %d, signal %d%s after %" PRIu64 " ms\n  stderr: %.500s\n"
	       "  config (%zu bytes):\n  ", iter, config_last.status, config_last.sig,
	       config_last.timed_out ? ", killed at the time limit" : "", config_last.ms, config_last.err, t->len);
	for (size_t i = 0; i < t->len && i < 1000; i++) {
		unsigned char c = (unsigned char)t->p[i];

		if (c == '\n')
			printf("\\n\n  ");
		else if (c < 0x20 || c >= 0x7f || c == '\\')
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\n");
}

static uint64_t fuzz_seed(void)
{
	const char *s = getenv("PC_FUZZ_SEED");
	struct timespec ts;

	if (s && *s)
		return strtoull(s, NULL, 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid();
}

/* A mutated config in t, from the next base. */
static bool fuzz_make(struct text *t)
{
	char *base = config_fx_expand(PICK(fuzz_bases));
	size_t m = 1 + rn(4);

	if (!base)
		return false;
	t->len = 0;
	text_insert(t, 0, base, strlen(base));
	free(base);
	for (size_t k = 0; k < m; k++)
		mutate(t);
	return true;
}

static void test_fuzz(void)
{
	char conf[PATH_MAX];
	uint64_t seed = fuzz_seed(), t0 = pc_test_now_ms(), slowest = 0;
	unsigned int runs = 0, bad = 0, errors = 0;
	struct text t = { 0 };

	if (!config_fx_have_daemon())
		return;
	printf("\n  fuzz seed %" PRIu64 " (PC_FUZZ_SEED=%" PRIu64 " reproduces it)\n", seed, seed);
	rng = seed;
	config_fx_path(conf, sizeof(conf), "fuzz.conf");
	while (runs < FUZZ_RUNS && bad < 5 &&
	       (runs < FUZZ_MIN_RUNS || pc_test_now_ms() - t0 < FUZZ_BUDGET_MS)) {
		if (!fuzz_make(&t) || config_fx_write(conf, t.p ? t.p : "", t.len) ||
		    config_fx_run(conf)) {
			CU_FAIL("cannot write or run a fuzzed config");
			break;
		}
		runs++;
		slowest = config_last.ms > slowest ? config_last.ms : slowest;
		errors += config_last.status == 1;
		if (!fuzz_output_ok(conf)) {
			bad++;
			fuzz_report(runs - 1, &t);
		}
	}
	free(t.p);
	printf("  %u runs%s, %u config errors, %u bad, %" PRIu64 " ms (slowest run %" PRIu64 " ms)\n",
	       runs, runs < FUZZ_RUNS && bad < 5 ? " (time budget used up)" : "", errors, bad,
	       pc_test_now_ms() - t0, slowest);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(runs >= FUZZ_MIN_RUNS || bad > 0);
}

int main(int argc, char **argv)
{
	static const struct pc_test tests[] = {
		{ "fuzz", test_fuzz },
		{ NULL, NULL },
	};
	int ret = config_fx_make_tree();

	if (ret) {
		fprintf(stderr, "daemon_config_fuzz: cannot make the temporary tree: %s\n",
			strerror(-ret));
		config_fx_remove_tree();
		return 1;
	}
	ret = pc_test_main("daemon_config_fuzz", tests, argc, argv);
	config_fx_remove_tree();
	return ret;
}
