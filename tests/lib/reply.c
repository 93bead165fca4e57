/* SPDX-License-Identifier: MIT */
/* Reading the daemon's replies: see reply.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
