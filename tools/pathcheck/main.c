/* SPDX-License-Identifier: MIT */
/*
 * pathcheck [options] [DEV...]            one-shot check, no daemon
 * pathcheck [options] COMMAND [WORDS...]  one pathcheckd command
 * pathcheck [options] -k[COMMAND]         pathcheckd shell, or one command
 *
 * The first word decides: a pathcheckd command word (show, check, ...) is
 * never a device; a file of that name is checked as ./show.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pathcheck.h"
#include "duration.h"
#include "protocol.h"

#include "cli.h"

enum mode { MODE_ONESHOT, MODE_COMMAND, MODE_SHELL };

struct args {
	bool json, all, shell;
	const char *timeout;	/* unparsed: parsed by the mode that uses it */
	const char *socket;
	const char *count;
	const char *kcmd;	/* -kCOMMAND */
	char **words;
	size_t nwords;
};

static const char synopsis[] =
	"usage: pathcheck [--json] [--timeout DUR] [--all] [DEV...]\n"
	"       pathcheck [-s SOCKET] [--timeout DUR] [--json] COMMAND [WORDS...]\n"
	"       pathcheck [-s SOCKET] [--timeout DUR] [--count N] -k[COMMAND]\n";

static void help(void)
{
	fputs(synopsis, stdout);
	fputs("\n"
	      "One-shot check (no daemon): reads the first block of each DEV with O_DIRECT\n"
	      "through Linux AIO, all at once; without DEV, every block device except\n"
	      "loop, ram, zram, dm-, md, sr, fd, nbd and empty ones.\n"
	      "  -j, --json           a JSON array instead of the table\n"
	      "  -t, --timeout DUR    check deadline (default 30s)\n"
	      "  -a, --all            also the devices skipped by default\n"
	      "  exit 0: all up, 1: some down or not openable, 2: error\n"
	      "\n"
	      "Client of pathcheckd: COMMAND is show (or list), check, add, del (or remove),\n"
	      "fail, reinstate, reconfigure, subscribe, shutdown, debug or help;\n"
	      "`pathcheck help` asks the daemon.\n"
	      "A command word is never a device: a file named show is checked as ./show,\n"
	      "and `pathcheck check DEV` asks the daemon to check DEV now.  A word that\n"
	      "names no file and is one typo from a command word is refused as a typo.\n"
	      "  -s, --socket PATH    $PATHCHECK_SOCKET, else " PATHCHECKD_SOCKET "\n"
	      "  -t, --timeout DUR    connect and reply wait (default 60s)\n"
	      "  -j, --json           JSON form of show/check (adds the word json)\n"
	      "  -k                   shell: one command a line from stdin, one connection;\n"
	      "                       quit, exit or EOF ends it\n"
	      "  -kCOMMAND, -k COMMAND  just that command\n"
	      "      --count N        subscribe: exit after N events\n"
	      "  exit 0: done, 1: error reply, 2: usage, no daemon, no reply in time\n"
	      "\n"
	      "  -h, --help           this text\n"
	      "  -V, --version        the version\n"
	      "DUR: 500ms, 2s, 1.5s, 1m; a bare number is seconds.\n", stdout);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("pathcheck: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'pathcheck --help'.\n", stderr);
	return EXIT_TROUBLE;
}

/* --timeout DUR: 0, or a usage error's exit status. */
static int parse_timeout(const char *s, unsigned int *ms)
{
	enum dur_err err = dur_parse(s, ms);

	if (err)
		return usage_error("bad --timeout '%s': %s", s, dur_strerror(err));
	return 0;
}

/* -1 to go on, else the exit status (after --help, --version, a usage error). */
static int parse_args(int argc, char **argv, struct args *a)
{
	enum { OPT_COUNT = 256 };
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' }, { "timeout", required_argument, NULL, 't' },
		{ "all", no_argument, NULL, 'a' }, { "socket", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "jt:as:k::hV", lo, NULL)) != -1) {
		switch (c) {
		case 'j': a->json = true; break;
		case 'a': a->all = true; break;
		case 't': a->timeout = optarg; break;
		case 's': a->socket = optarg; break;
		case 'k': a->shell = true; a->kcmd = optarg; break;
		case OPT_COUNT: a->count = optarg; break;
		case 'h': help(); return EXIT_ALL_UP;
		case 'V':
			printf("pathcheck %s\n", PC_VERSION);
			return EXIT_ALL_UP;
		default:
			fputs(synopsis, stderr);
			fputs("Try 'pathcheck --help'.\n", stderr);
			return EXIT_TROUBLE;
		}
	}
	a->words = argv + optind;
	a->nwords = (size_t)(argc - optind);
	return -1;
}

/* A word that names no file and is a slip from a command word: checking it
 * would only say that it cannot be opened. */
static bool typo_of_command(const char *word)
{
	struct stat st;

	return !strchr(word, '/') && lstat(word, &st) && errno == ENOENT &&
	       client_near_command(word);
}

static int run_oneshot(const struct args *a)
{
	struct oneshot_opts o = { .json = a->json, .all = a->all, .timeout_ms = PC_DEFAULT_TIMEOUT_MS };

	if (a->socket || a->count)
		return usage_error("%s applies to pathcheckd commands only",
				   a->socket ? "--socket" : "--count");
	for (size_t i = 0; i < a->nwords; i++)
		if (client_is_command(a->words[i]))
			return usage_error("'%s' is a pathcheckd command word, not a device "
					   "(a command goes first; a file of that name is ./NAME)",
					   a->words[i]);
	for (size_t i = 0; i < a->nwords; i++)
		if (typo_of_command(a->words[i]))
			return usage_error("unknown command '%s' (did you mean '%s'?)",
					   a->words[i], client_near_command(a->words[i]));
	if (a->timeout && parse_timeout(a->timeout, &o.timeout_ms))
		return EXIT_TROUBLE;
	/* Earlier builds read a bare number here as milliseconds: say how it reads now. */
	if (a->timeout && dur_is_bare(a->timeout) && o.timeout_ms >= 100000)
		fprintf(stderr, "pathcheck: note: --timeout %s is read as seconds; "
			"write %sms for milliseconds\n", a->timeout, a->timeout);
	return oneshot_run(&o, a->words, a->nwords);
}

static bool ends_with_json(const char *line)
{
	size_t len = strlen(line);

	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	return len >= 4 && !strncmp(line + len - 4, "json", 4) &&
	       (len == 4 || line[len - 5] == ' ' || line[len - 5] == '\t');
}

/* The words joined by single spaces, "json" added for --json.  The word
 * after "format", if it holds a space or tab, goes in double quotes, which
 * pathcheckd takes as one word. */
static char *join_command(const struct args *a)
{
	size_t len = 1 + (a->kcmd ? strlen(a->kcmd) + 1 : 0) + 5 + 2 * a->nwords;
	char *line, *p;

	for (size_t i = 0; i < a->nwords; i++)
		len += strlen(a->words[i]) + 1;
	line = p = malloc(len);
	if (!line)
		return NULL;
	*p = '\0';
	if (a->kcmd)
		p = stpcpy(p, a->kcmd);
	for (size_t i = 0; i < a->nwords; i++) {
		/* `-k "show paths"` is a whole line: only a format is one word */
		bool quote = i > 0 && !strcmp(a->words[i - 1], "format") &&
			     strpbrk(a->words[i], " \t") && !strchr(a->words[i], '"');

		if (p != line)
			*p++ = ' ';
		if (quote)
			*p++ = '"';
		p = stpcpy(p, a->words[i]);
		if (quote)
			*p++ = '"';
		*p = '\0';
	}
	if (a->json && !ends_with_json(line))
		strcpy(p, p != line ? " json" : "json");
	return line;
}

static bool blank(const char *s)
{
	return strspn(s, " \t") == strlen(s);
}

static int run_client(const struct args *a, enum mode mode)
{
	const char *env = getenv("PATHCHECK_SOCKET");
	struct client_opts o = { .socket = PATHCHECKD_SOCKET, .timeout_ms = 60000 };
	char *end, *line;
	int rc;

	if (a->all)
		return usage_error("%s applies to one-shot checks only", "--all");
	if (mode == MODE_SHELL && a->json)
		return usage_error("%s needs a command; in the shell add the word json",
				   "--json");
	if (a->timeout && parse_timeout(a->timeout, &o.timeout_ms))
		return EXIT_TROUBLE;
	if (a->count) {
		errno = 0;
		o.count = strtoul(a->count, &end, 10);
		if (errno || *end || !o.count || a->count[0] == '-')
			return usage_error("bad --count '%s' (a number of events, 1 or more)",
					   a->count);
	}
	if (a->socket)
		o.socket = a->socket;
	else if (env && *env)
		o.socket = env;
	if (mode == MODE_SHELL)
		return client_shell(&o);
	line = join_command(a);
	if (!line) {
		fprintf(stderr, "pathcheck: out of memory\n");
		return EXIT_TROUBLE;
	}
	if (blank(line))
		rc = usage_error("%s", "empty command");
	else if (o.count && !client_is_subscribe(line))
		rc = usage_error("%s applies to subscribe only", "--count");
	else if (client_check_line(line))
		rc = EXIT_TROUBLE;
	else
		rc = client_command(&o, line);
	free(line);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	int rc = parse_args(argc, argv, &a);
	enum mode mode = MODE_ONESHOT;

	if (rc >= 0)
		return rc;
	if (a.shell)
		mode = a.kcmd || a.nwords ? MODE_COMMAND : MODE_SHELL;
	else if (a.nwords && client_is_command(a.words[0]))
		mode = MODE_COMMAND;
	if (mode == MODE_ONESHOT)
		return run_oneshot(&a);
	return run_client(&a, mode);
}
