// SPDX-License-Identifier: GPL-2.0
/*
 * Trace files (<mmn/explore.h>): a schedule and where it came from, as
 * text.  The parser takes any bytes: every malformed input is an error
 * message with name:line, never an assertion, a crash or an unbounded
 * allocation (the declared decision count is capped, and the array grows
 * only as decisions are actually read).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/explore.h>
#include <mmn/mmn.h>
#include <mmn/report.h>

#define TRACE_MAX_DECISIONS	(4ul << 20)
#define TRACE_MAX_SCENARIO	4096
#define TRACE_MAX_FILE		(64ul << 20)
#define TRACE_PER_LINE		16

void mmn_trace_free(struct mmn_trace *t)
{
	free(t->scenario);
	mmn_schedule_free(&t->schedule);
	memset(t, 0, sizeof(*t));
}

int mmn_trace_from_result(struct mmn_trace *t, const struct mmn_explore_config *cfg,
			  const struct mmn_explore_result *r, const char *scenario)
{
	const struct mmn_schedule *s;

	memset(t, 0, sizeof(*t));
	if (!r->found)
		return -ENOENT;
	s = r->shrunk ? &r->shrunk_schedule : &r->schedule;
	t->format = MMN_TRACE_FORMAT;
	snprintf(t->version, sizeof(t->version), "%s", MMN_VERSION_STRING);
	snprintf(t->strategy, sizeof(t->strategy), "%s", mmn_explore_strategy_name(cfg->strategy));
	if (r->status == MMN_EXEC_VIOLATION)
		snprintf(t->violation, sizeof(t->violation), "%s",
			 mmn_violation_name((enum mmn_violation_kind)r->kind));
	else
		snprintf(t->violation, sizeof(t->violation), "%s", mmn_exec_status_name(r->status));
	t->seed = cfg->seed;
	t->execution = r->index;
	t->steps = r->shrunk ? r->shrunk_steps : r->steps;
	t->preemptions = r->shrunk ? r->shrunk_preemptions : r->preemptions;
	t->scenario = strdup(scenario ? scenario : "");
	t->schedule.pid = malloc((s->nr + 1) * sizeof(uint16_t));
	if (!t->scenario || !t->schedule.pid) {
		mmn_trace_free(t);
		return -ENOMEM;
	}
	memcpy(t->schedule.pid, s->pid, s->nr * sizeof(uint16_t));
	t->schedule.nr = s->nr;
	return 0;
}

/* One line of the header: control characters would break the format. */
static void trace_put_line(FILE *f, const char *key, const char *val)
{
	fprintf(f, "%s ", key);
	for (const char *p = val ? val : ""; *p; p++)
		fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, f);
	fputc('\n', f);
}

int mmn_explore_write_trace(FILE *f, const struct mmn_trace *t)
{
	const struct mmn_schedule *s = &t->schedule;
	unsigned int on_line = 0;

	fprintf(f, "# mmnlab schedule trace: the decisions of one execution\n");
	fprintf(f, "mmnlab-trace %u\n", MMN_TRACE_FORMAT);
	trace_put_line(f, "version", t->version[0] ? t->version : MMN_VERSION_STRING);
	trace_put_line(f, "scenario", t->scenario);
	trace_put_line(f, "strategy", t->strategy);
	fprintf(f, "seed %llu\n", (unsigned long long)t->seed);
	fprintf(f, "execution %lu\n", t->execution);
	trace_put_line(f, "violation", t->violation[0] ? t->violation : "none");
	fprintf(f, "preemptions %u\n", t->preemptions);
	fprintf(f, "steps %lu\n", t->steps);
	fprintf(f, "decisions %zu\n", s->nr);
	for (size_t i = 0; i < s->nr;) {
		size_t run = 1;

		while (i + run < s->nr && s->pid[i + run] == s->pid[i])
			run++;
		fprintf(f, on_line ? " " : "  ");
		if (run >= 3) {
			fprintf(f, "%u*%zu", s->pid[i], run);
			i += run;
		} else {
			fprintf(f, "%u", s->pid[i]);
			i++;
		}
		if (++on_line == TRACE_PER_LINE) {
			fputc('\n', f);
			on_line = 0;
		}
	}
	if (on_line)
		fputc('\n', f);
	fprintf(f, "end\n");
	return ferror(f) ? -EIO : 0;
}

/* ------------------------------------------------------------------ */
/* Parsing.                                                            */

struct trace_parser {
	const char *name;
	unsigned long line;
	char *err;
	size_t errlen;
	struct mmn_trace *t;
	unsigned int seen;		/* keys seen, by bit */
	size_t declared;		/* "decisions N" */
	size_t cap;
};

static int trace_fail(struct trace_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int trace_fail(struct trace_parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err && p->errlen) {
		n = snprintf(p->err, p->errlen, "%s:%lu: ", p->name, p->line);
		if (n >= 0 && (size_t)n < p->errlen) {
			va_start(ap, fmt);
			vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -EINVAL;
}

static bool trace_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A decimal (or 0x hex) number in [s, s+n), at most @max. */
static bool trace_number(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	unsigned int base = 10;
	uint64_t v = 0;

	if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		n -= 2;
	}
	if (!n || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned int d;

		if (s[i] >= '0' && s[i] <= '9')
			d = (unsigned int)(s[i] - '0');
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = (unsigned int)(s[i] - 'a' + 10);
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = (unsigned int)(s[i] - 'A' + 10);
		else
			return false;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static int trace_word(struct trace_parser *p, const char *key, const char *v, size_t n,
		      char *dst, size_t cap)
{
	for (size_t i = 0; i < n; i++)
		if (trace_space(v[i]))
			return trace_fail(p, "%s: one word expected", key);
	if (!n || n >= cap)
		return trace_fail(p, "%s: %s", key, n ? "too long" : "missing value");
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

enum trace_key {
	TK_VERSION, TK_SCENARIO, TK_STRATEGY, TK_SEED, TK_EXECUTION, TK_VIOLATION,
	TK_PREEMPTIONS, TK_STEPS, TK_DECISIONS,
};

static const char *const trace_keys[] = {
	[TK_VERSION] = "version", [TK_SCENARIO] = "scenario", [TK_STRATEGY] = "strategy",
	[TK_SEED] = "seed", [TK_EXECUTION] = "execution", [TK_VIOLATION] = "violation",
	[TK_PREEMPTIONS] = "preemptions", [TK_STEPS] = "steps", [TK_DECISIONS] = "decisions",
};

static int trace_key(struct trace_parser *p, const char *k, size_t kn, const char *v, size_t vn)
{
	struct mmn_trace *t = p->t;
	uint64_t num;
	int key = -1;

	for (int i = 0; i <= TK_DECISIONS; i++)
		if (strlen(trace_keys[i]) == kn && !memcmp(trace_keys[i], k, kn))
			key = i;
	if (key < 0)
		return trace_fail(p, "unknown key '%.*s'", (int)(kn > 32 ? 32 : kn), k);
	if (p->seen & (1u << key))
		return trace_fail(p, "'%s' given twice", trace_keys[key]);
	p->seen |= 1u << key;
	switch (key) {
	case TK_VERSION:
		return trace_word(p, "version", v, vn, t->version, sizeof(t->version));
	case TK_STRATEGY:
		if (trace_word(p, "strategy", v, vn, t->strategy, sizeof(t->strategy)))
			return -EINVAL;
		if (mmn_explore_strategy_parse(t->strategy) < 0)
			return trace_fail(p, "unknown strategy '%s'", t->strategy);
		return 0;
	case TK_VIOLATION:
		return trace_word(p, "violation", v, vn, t->violation, sizeof(t->violation));
	case TK_SCENARIO:
		if (vn > TRACE_MAX_SCENARIO)
			return trace_fail(p, "scenario: longer than %d characters",
					  TRACE_MAX_SCENARIO);
		t->scenario = malloc(vn + 1);
		if (!t->scenario)
			return -ENOMEM;
		memcpy(t->scenario, v, vn);
		t->scenario[vn] = '\0';
		return 0;
	case TK_SEED:
		if (!trace_number(v, vn, UINT64_MAX, &num))
			return trace_fail(p, "seed: not a 64-bit number");
		t->seed = num;
		return 0;
	case TK_EXECUTION:
	case TK_STEPS:
		if (!trace_number(v, vn, (unsigned long)-1, &num))
			return trace_fail(p, "%s: not a number", trace_keys[key]);
		*(key == TK_STEPS ? &t->steps : &t->execution) = (unsigned long)num;
		return 0;
	case TK_PREEMPTIONS:
		if (!trace_number(v, vn, UINT32_MAX, &num))
			return trace_fail(p, "preemptions: not a number");
		t->preemptions = (unsigned int)num;
		return 0;
	case TK_DECISIONS:
		if (!trace_number(v, vn, TRACE_MAX_DECISIONS, &num))
			return trace_fail(p, "decisions: not a number up to %lu",
					  TRACE_MAX_DECISIONS);
		p->declared = (size_t)num;
		return 0;
	}
	return 0;
}

static int trace_push(struct trace_parser *p, uint16_t pid, size_t count)
{
	struct mmn_schedule *s = &p->t->schedule;

	if (count > p->declared - s->nr)
		return trace_fail(p, "more decisions than the %zu declared", p->declared);
	if (s->nr + count > p->cap) {
		size_t cap = p->cap ? p->cap : 64;
		uint16_t *a;

		while (cap < s->nr + count)
			cap *= 2;
		a = realloc(s->pid, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		s->pid = a;
		p->cap = cap;
	}
	while (count--)
		s->pid[s->nr++] = pid;
	return 0;
}

/* One line of decisions.  Returns 1 at "end". */
static int trace_decisions(struct trace_parser *p, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t start, star = 0;
		uint64_t pid, count = 1;
		int ret;

		while (i < n && trace_space(s[i]))
			i++;
		if (i == n || s[i] == '#')
			return 0;
		start = i;
		while (i < n && !trace_space(s[i]) && s[i] != '#') {
			if (s[i] == '*' && !star)
				star = i;
			i++;
		}
		if (i - start == 3 && !memcmp(s + start, "end", 3)) {
			while (i < n && trace_space(s[i]))
				i++;
			if (i < n && s[i] != '#')
				return trace_fail(p, "text after 'end'");
			return 1;
		}
		if (!trace_number(s + start, (star ? star : i) - start, 0x3fff, &pid) || !pid)
			return trace_fail(p, "bad decision '%.*s': a pid 1..16383 or pid*count",
					  (int)(i - start > 32 ? 32 : i - start), s + start);
		if (star && (!trace_number(s + star + 1, i - star - 1, TRACE_MAX_DECISIONS,
					   &count) || !count))
			return trace_fail(p, "bad repeat count in '%.*s'",
					  (int)(i - start > 32 ? 32 : i - start), s + start);
		ret = trace_push(p, (uint16_t)pid, (size_t)count);
		if (ret)
			return ret;
	}
	return 0;
}

int mmn_explore_parse_trace(const char *buf, size_t len, const char *name,
			    struct mmn_trace *t, char *err, size_t errlen)
{
	struct trace_parser p = { .name = name ? name : "trace", .err = err, .errlen = errlen, .t = t };
	enum { HEADER, KEYS, DECISIONS, DONE } state = HEADER;
	size_t pos = 0;
	int ret = 0;

	memset(t, 0, sizeof(*t));
	if (err && errlen)
		err[0] = '\0';
	if (!buf)
		len = 0;
	while (pos < len && !ret) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		size_t k = 0, kn, v;

		pos += n + (nl ? 1 : 0);
		p.line++;
		if (memchr(line, '\0', n)) {
			ret = trace_fail(&p, "NUL byte");
			break;
		}
		while (n && trace_space(line[n - 1]))
			n--;
		while (k < n && trace_space(line[k]))
			k++;
		if (k == n || line[k] == '#')
			continue;
		if (state == DECISIONS) {
			ret = trace_decisions(&p, line + k, n - k);
			if (ret == 1) {
				state = DONE;
				ret = 0;
			}
			continue;
		}
		if (state == DONE) {
			ret = trace_fail(&p, "text after 'end'");
			break;
		}
		kn = k;
		while (kn < n && !trace_space(line[kn]))
			kn++;
		v = kn;
		while (v < n && trace_space(line[v]))
			v++;
		if (state == HEADER) {
			uint64_t fmt;

			if (kn - k != 12 || memcmp(line + k, "mmnlab-trace", 12))
				ret = trace_fail(&p, "not an mmnlab trace (no 'mmnlab-trace 1' line)");
			else if (!trace_number(line + v, n - v, UINT32_MAX, &fmt))
				ret = trace_fail(&p, "mmnlab-trace: format number expected");
			else if (fmt != MMN_TRACE_FORMAT)
				ret = trace_fail(&p, "trace format %llu; this mmnlab reads format %d",
						 (unsigned long long)fmt, MMN_TRACE_FORMAT);
			else
				t->format = (unsigned int)fmt;
			state = KEYS;
			continue;
		}
		ret = trace_key(&p, line + k, kn - k, line + v, n - v);
		if (!ret && (p.seen & (1u << TK_DECISIONS)))
			state = DECISIONS;
	}
	if (!ret && state != DONE) {
		p.line++;
		ret = trace_fail(&p, state == HEADER ? "empty: no 'mmnlab-trace 1' line" :
				 state == KEYS ? "no 'decisions' line" : "missing 'end'");
	}
	if (!ret && t->schedule.nr != p.declared) {
		ret = trace_fail(&p, "%zu decisions declared, %zu given", p.declared,
				 t->schedule.nr);
	}
	if (!ret && !t->strategy[0])
		ret = trace_fail(&p, "no 'strategy' line");
	if (ret)
		mmn_trace_free(t);
	return ret;
}

int mmn_explore_read_trace(const char *path, struct mmn_trace *t, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret;

	memset(t, 0, sizeof(*t));
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	for (;;) {
		size_t got;

		if (len == cap) {
			char *b;

			if (cap >= TRACE_MAX_FILE) {
				snprintf(err, errlen, "%s: larger than %lu bytes", path, TRACE_MAX_FILE);
				ret = -EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			b = realloc(buf, cap);
			if (!b) {
				ret = -ENOMEM;
				goto out;
			}
			buf = b;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (!got)
			break;
	}
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	ret = mmn_explore_parse_trace(buf, len, path, t, err, errlen);
out:
	free(buf);
	fclose(f);
	return ret;
}
