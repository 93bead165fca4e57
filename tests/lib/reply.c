/* SPDX-License-Identifier: MIT */
/* Reading the daemon's replies: see reply.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "reply.h"

bool reply_json_str(const char *obj, const char *key, char *out, size_t len)
{
	char pat[128];
	const char *p;
	size_t o = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(obj, pat);
	if (!p || !len)
		return false;
	for (p += strlen(pat); *p && *p != '"'; p++) {
		char ch = *p;

		if (ch == '\\') {
			p++;
			switch (*p) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'u': {
				unsigned int u = 0;

				if (sscanf(p + 1, "%4x", &u) != 1)
					return false;
				ch = (char)u;
				p += 4;
				break;
			}
			case '\0': return false;
			default: ch = *p; break;
			}
		}
		if (o + 1 < len)
			out[o++] = ch;
	}
	out[o] = '\0';
	return *p == '"';
}

bool reply_json_int(const char *obj, const char *key, long long *v)
{
	char pat[128], *end;
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(obj, pat);
	if (!p)
		return false;
	p += strlen(pat);
	if (!(*p == '-' || (*p >= '0' && *p <= '9')))
		return false;
	errno = 0;
	*v = strtoll(p, &end, 10);
	return !errno && (*end == ',' || *end == '}' || *end == ']');
}

bool reply_json_path(const char *paths, const char *dev, char *obj, size_t len)
{
	char pat[256];
	const char *p, *q;
	bool in_str = false;

	snprintf(pat, sizeof(pat), "{\"dev\":\"%s\"", dev);
	p = strstr(paths, pat);
	if (!p)
		return false;
	for (q = p; *q; q++) {
		if (in_str && *q == '\\' && q[1]) {
			q++;
			continue;
		}
		if (*q == '"')
			in_str = !in_str;
		else if (!in_str && *q == '}')
			break;
	}
	if (*q != '}')
		return false;
	snprintf(obj, len, "%.*s", (int)(q - p + 1), p);
	return (size_t)(q - p + 1) < len;
}

bool reply_starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

bool reply_has_line(const char *text, const char *a, const char *b, const char *c)
{
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char line[8192];

		snprintf(line, sizeof(line), "%.*s", (int)n, l);
		if (strstr(line, a) && strstr(line, b) && (!c || strstr(line, c)))
			return true;
		l += n + (e != NULL);
	}
	printf("\n  no line with '%s' '%s' '%s' in:\n%s\n", a, b, c ? c : "", text);
	return false;
}

unsigned int reply_count(const char *s, const char *needle)
{
	unsigned int n = 0;
	size_t l = strlen(needle);

	for (const char *p = s; l && (p = strstr(p, needle)); p += l)
		n++;
	return n;
}

bool reply_kv_u64(const char *text, const char *key, uint64_t *v)
{
	size_t kl = strlen(key);

	for (const char *line = text; line && *line;) {
		if (!strncmp(line, key, kl) && (line[kl] == ' ' || line[kl] == '\t')) {
			const char *p = line + kl;
			char *end;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				return false;
			*v = strtoull(p, &end, 10);
			return *end == '\n' || *end == '\0';
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

bool reply_is_iso_time(const char *s)
{
	/* 2026-11-25T07:00:00Z */
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return false;
	return true;
}

/* The text at the column of the header's title, to the next double space. */
void reply_column(const char *header, const char *row, const char *title,
		   char *out, size_t len)
{
	const char *at = strstr(header, title);
	size_t off = at ? (size_t)(at - header) : 0, n;

	out[0] = '\0';
	if (!at || strlen(row) <= off)
		return;
	n = strcspn(row + off, "\n");
	for (size_t i = 0; i + 1 < n; i++)
		if (row[off + i] == ' ' && row[off + i + 1] == ' ') {
			n = i;
			break;
		}
	snprintf(out, len, "%.*s", (int)n, row + off);
}

struct family {
	char name[128];
	char type[16];
};

static struct family *family_of(struct family *f, size_t n, const char *sample)
{
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(f[i].name);

		if (strncmp(sample, f[i].name, l))
			continue;
		if (sample[l] == '{' || sample[l] == ' ')
			return &f[i];
		if (!strcmp(f[i].type, "histogram") &&
		    (reply_starts_with(sample + l, "_bucket{") || reply_starts_with(sample + l, "_sum ") ||
		     reply_starts_with(sample + l, "_count ")))
			return &f[i];
	}
	return NULL;
}

/*
 * (text is cut into lines in place.)
 * Prometheus text format: every sample "name{labels} value" or "name value"
 * of a family declared by "# TYPE" before it; names pathcheck_*, counters
 * *_total; histogram buckets cumulative, +Inf equal to _count.  Returns
 * the number of families, 0 on a malformed text (asserted here).
 */
size_t reply_check_metrics(char *text)
{
	struct family fam[64];
	size_t nfam = 0, bad = 0;
	double last_bucket = -1;

	for (char *l = text, *nl; l && *l; l = nl) {
		nl = strchr(l, '\n');
		if (nl)
			*nl++ = '\0';
		if (reply_starts_with(l, "# HELP "))
			continue;
		if (reply_starts_with(l, "# TYPE ")) {
			struct family *f = &fam[nfam < 64 ? nfam++ : 63];

			if (sscanf(l + 7, "%127s %15s", f->name, f->type) != 2 ||
			    (strcmp(f->type, "counter") && strcmp(f->type, "gauge") &&
			     strcmp(f->type, "histogram")) ||
			    !reply_starts_with(f->name, "pathcheck_") ||
			    (!strcmp(f->type, "counter") &&
			     strcmp(f->name + strlen(f->name) - 6, "_total"))) {
				printf("\n  bad TYPE line: %s\n", l);
				bad++;
			}
			last_bucket = -1;
			continue;
		}
		{
			struct family *f = family_of(fam, nfam, l);
			const char *sp = strrchr(l, ' ');
			char *end;
			double v;

			if (!f || !sp) {
				printf("\n  sample without a TYPE before it: %s\n", l);
				bad++;
				continue;
			}
			if (strchr(l, '{') && (!strchr(l, '}') || strchr(l, '}') > sp ||
					       strchr(l, '{') > strchr(l, '}'))) {
				printf("\n  bad labels: %s\n", l);
				bad++;
			}
			v = strtod(sp + 1, &end);
			if (*end || end == sp + 1) {
				printf("\n  bad value: %s\n", l);
				bad++;
			}
			if (strstr(l, "_bucket{")) {
				if (v < last_bucket) {
					printf("\n  buckets not cumulative: %s\n", l);
					bad++;
				}
				last_bucket = v;
			} else if (!strcmp(f->type, "histogram") && strstr(l, "_count ") &&
				   v != last_bucket) {
				printf("\n  _count %g is not the +Inf bucket %g\n", v, last_bucket);
				bad++;
			}
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(nfam >= 10 && nfam < 64);
	return bad ? 0 : nfam;
}
