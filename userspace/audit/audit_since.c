// SPDX-License-Identifier: LGPL-2.1-or-later
/* --since TIME: relative ("-10min") or absolute (ISO 8601) wall time. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "audit/audit_reader.h"

#define NSEC 1000000000LL

static int64_t unit_seconds(const char *unit, size_t len)
{
	static const struct { const char *name; int64_t seconds; } units[] = {
		{ "s", 1 }, { "sec", 1 }, { "second", 1 },
		{ "m", 60 }, { "min", 60 }, { "minute", 60 },
		{ "h", 3600 }, { "hour", 3600 },
		{ "d", 86400 }, { "day", 86400 },
		{ "w", 604800 }, { "week", 604800 },
	};
	size_t i, n;

	if (len > 1 && unit[len - 1] == 's' && strncasecmp(unit, "s", len))
		len--;	/* plural: "mins", "hours" (but "s" stays seconds) */
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		n = strlen(units[i].name);
		if (n == len && !strncasecmp(unit, units[i].name, len))
			return units[i].seconds;
	}
	return 0;
}

/* "-10min", "10 min ago" */
static int parse_relative(const char *spec, int64_t now_ns, int64_t *out_ns)
{
	const char *p = spec, *unit;
	bool minus = false;
	size_t unit_len;
	int64_t seconds;
	char *end;
	long long n;

	if (*p == '-') {
		minus = true;
		p++;
	}
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	errno = 0;
	n = strtoll(p, &end, 10);
	if (errno || n < 0)
		return -EINVAL;
	while (*end == ' ')
		end++;
	unit = end;
	while (isalpha((unsigned char)*end))
		end++;
	unit_len = (size_t)(end - unit);
	seconds = unit_len ? unit_seconds(unit, unit_len) : 0;
	if (!seconds)	/* a bare number says nothing: seconds? minutes? */
		return -EINVAL;
	while (*end == ' ')
		end++;
	if (!minus) {
		if (strcasecmp(end, "ago"))
			return -EINVAL;
	} else if (*end) {
		return -EINVAL;
	}
	if (n > INT64_MAX / NSEC / seconds)
		return -EINVAL;
	*out_ns = now_ns - n * seconds * NSEC;
	return 0;
}

/* ".123" after the seconds: up to nanoseconds */
static const char *parse_fraction(const char *p, int64_t *ns)
{
	int64_t scale = NSEC / 10;

	*ns = 0;
	if (*p != '.')
		return p;
	for (p++; isdigit((unsigned char)*p); p++) {
		*ns += (*p - '0') * scale;
		scale /= 10;
	}
	return p;
}

/* "", "Z", "+01:00", "-0530": sets *utc_offset (seconds east of UTC) and
 * *has_zone; returns -EINVAL for anything else. */
static int parse_zone(const char *p, bool *has_zone, long *utc_offset)
{
	int sign, hh, mm = 0;

	*has_zone = false;
	*utc_offset = 0;
	if (!*p)
		return 0;
	*has_zone = true;
	if (!strcasecmp(p, "Z") || !strcasecmp(p, "UTC"))
		return 0;
	if (*p != '+' && *p != '-')
		return -EINVAL;
	sign = *p++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
		return -EINVAL;
	hh = (p[0] - '0') * 10 + (p[1] - '0');
	p += 2;
	if (*p == ':')
		p++;
	if (*p) {
		if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2])
			return -EINVAL;
		mm = (p[0] - '0') * 10 + (p[1] - '0');
	}
	if (hh > 23 || mm > 59)
		return -EINVAL;
	*utc_offset = sign * (hh * 3600L + mm * 60L);
	return 0;
}

static int parse_absolute(const char *spec, int64_t *out_ns)
{
	static const char *const formats[] = {
		"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
		"%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d",
	};
	const char *rest = NULL;
	int64_t frac_ns;
	bool has_zone;
	long offset;
	struct tm tm;
	time_t t;
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		rest = strptime(spec, formats[i], &tm);
		if (rest && (*rest == '\0' || *rest == '.' || *rest == 'Z' || *rest == 'z' ||
			     *rest == '+' || *rest == '-' || *rest == ' '))
			break;
		rest = NULL;
	}
	if (!rest)
		return -EINVAL;
	rest = parse_fraction(rest, &frac_ns);
	if (*rest == ' ')
		rest++;
	if (parse_zone(rest, &has_zone, &offset) < 0)
		return -EINVAL;
	if (has_zone) {
		t = timegm(&tm) - offset;
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	*out_ns = (int64_t)t * NSEC + frac_ns;
	return 0;
}

int lw_audit_parse_since(const char *spec, int64_t now_ns, int64_t *out_ns)
{
	char *end;

	if (!spec || !*spec)
		return -EINVAL;
	if (!strcasecmp(spec, "now")) {
		*out_ns = now_ns;
		return 0;
	}
	if (spec[0] == '@') {
		long long sec;
		int64_t frac_ns;

		if (!isdigit((unsigned char)spec[1]))
			return -EINVAL;
		errno = 0;
		sec = strtoll(spec + 1, &end, 10);
		if (errno || sec > INT64_MAX / NSEC - 1)
			return -EINVAL;
		if (*parse_fraction(end, &frac_ns))
			return -EINVAL;
		*out_ns = sec * NSEC + frac_ns;
		return 0;
	}
	if (spec[0] == '-' || !strchr(spec + 1, '-'))
		return parse_relative(spec, now_ns, out_ns);
	return parse_absolute(spec, out_ns);
}
