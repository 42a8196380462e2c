// SPDX-License-Identifier: GPL-2.0
/*
 * The run's violation reports (<mmn/report.h>) and the violation table.
 *
 * The store is the lab's own bookkeeping, not a modelled object: it is
 * guarded by a plain pthread mutex, never by an rt/ lock, and recording a
 * report is not a schedule point.  Records are kept in the order they were
 * detected; (kind, site) pairs are recorded once per run.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/linux/compiler.h>
#include <mmn/report.h>
#include <mmn/rt.h>

#include "lockdep.h"

static const struct {
	const char *name;
	const char *rule;
	enum mmn_violation_class cls;
} violation_table[] = {
#define MMN_VIOLATION(e, n, c, r) [MMN_V_##e] = { n, r, MMN_VC_##c },
#include <mmn/violations.def>
#undef MMN_VIOLATION
};

const char *mmn_violation_name(enum mmn_violation_kind k)
{
	return (unsigned)k < MMN_V__COUNT ? violation_table[k].name : "?";
}

const char *mmn_violation_rule(enum mmn_violation_kind k)
{
	return (unsigned)k < MMN_V__COUNT ? violation_table[k].rule : "?";
}

enum mmn_violation_class mmn_violation_class(enum mmn_violation_kind k)
{
	return (unsigned)k < MMN_V__COUNT ? violation_table[k].cls : MMN_VC_PROTOCOL;
}

int mmn_violation_parse(const char *name)
{
	for (int i = 0; i < MMN_V__COUNT; i++)
		if (!strcmp(name, violation_table[i].name))
			return i;
	return -1;
}

/* ------------------------------------------------------------------ */
/* Growable strings.                                                   */

void mmn_buf_vprintf(struct mmn_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if (!b->s || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *s;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		s = realloc(b->s, cap);
		if (!s)
			abort();
		b->s = s;
		b->cap = cap;
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void mmn_buf_printf(struct mmn_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mmn_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void mmn_buf_free(struct mmn_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

/* ------------------------------------------------------------------ */
/* The store.                                                          */

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmn_violation *report_recs;
static size_t report_nr, report_cap;
static size_t report_per_kind[MMN_V__COUNT];
static FILE *report_echo;

#define REPORT_SEPARATOR \
	"==================================================================\n"

/* Under report_lock. */
static bool report_find_locked(enum mmn_violation_kind kind, const char *site)
{
	for (size_t i = 0; i < report_nr; i++)
		if (report_recs[i].kind == kind && report_recs[i].site &&
		    !strcmp(report_recs[i].site, site))
			return true;
	return false;
}

bool __mmn_report_seen(enum mmn_violation_kind kind, const char *site)
{
	bool seen;

	pthread_mutex_lock(&report_lock);
	seen = report_find_locked(kind, site);
	pthread_mutex_unlock(&report_lock);
	return seen;
}

void mmn_vreport(enum mmn_violation_kind kind, const char *site,
		 const char *fmt, va_list ap)
{
	struct mmn_buf b = { 0 };
	struct mmn_violation *v;

	if ((unsigned)kind >= MMN_V__COUNT)
		kind = MMN_V_LAB_BUG;
	mmn_buf_vprintf(&b, fmt, ap);
	if (!b.len || b.s[b.len - 1] != '\n')
		mmn_buf_printf(&b, "\n");

	pthread_mutex_lock(&report_lock);
	if (site && report_find_locked(kind, site)) {
		pthread_mutex_unlock(&report_lock);
		mmn_buf_free(&b);
		return;
	}
	if (report_nr == report_cap) {
		size_t cap = report_cap ? report_cap * 2 : 16;
		struct mmn_violation *recs = realloc(report_recs, cap * sizeof(*recs));

		if (!recs)
			abort();
		report_recs = recs;
		report_cap = cap;
	}
	v = &report_recs[report_nr++];
	v->kind = kind;
	v->text = b.s;
	v->site = site ? strdup(site) : NULL;
	report_per_kind[kind]++;
	if (report_echo) {
		fputs(REPORT_SEPARATOR, report_echo);
		fputs(v->text, report_echo);
		fputs(REPORT_SEPARATOR, report_echo);
		fflush(report_echo);
	}
	pthread_mutex_unlock(&report_lock);
}

void mmn_report(enum mmn_violation_kind kind, const char *site, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mmn_vreport(kind, site, fmt, ap);
	va_end(ap);
}

size_t mmn_report_count(void)
{
	size_t n;

	pthread_mutex_lock(&report_lock);
	n = report_nr;
	pthread_mutex_unlock(&report_lock);
	return n;
}

size_t mmn_report_count_kind(enum mmn_violation_kind kind)
{
	size_t n;

	if ((unsigned)kind >= MMN_V__COUNT)
		return 0;
	pthread_mutex_lock(&report_lock);
	n = report_per_kind[kind];
	pthread_mutex_unlock(&report_lock);
	return n;
}

/*
 * The record stays valid until mmn_report_reset(); the array may move as
 * records are added, so do not keep the pointer across a report.
 */
const struct mmn_violation *mmn_report_get(size_t i)
{
	const struct mmn_violation *v = NULL;

	pthread_mutex_lock(&report_lock);
	if (i < report_nr)
		v = &report_recs[i];
	pthread_mutex_unlock(&report_lock);
	return v;
}

void mmn_report_print(FILE *f)
{
	pthread_mutex_lock(&report_lock);
	for (size_t i = 0; i < report_nr; i++) {
		fputs(REPORT_SEPARATOR, f);
		fprintf(f, "mmnlab: %s: %s\n", mmn_violation_name(report_recs[i].kind),
			mmn_violation_rule(report_recs[i].kind));
		fputs(report_recs[i].text, f);
	}
	if (report_nr)
		fputs(REPORT_SEPARATOR, f);
	pthread_mutex_unlock(&report_lock);
}

void mmn_report_reset(void)
{
	pthread_mutex_lock(&report_lock);
	for (size_t i = 0; i < report_nr; i++) {
		free(report_recs[i].text);
		free((char *)report_recs[i].site);
	}
	free(report_recs);
	report_recs = NULL;
	report_nr = report_cap = 0;
	memset(report_per_kind, 0, sizeof(report_per_kind));
	pthread_mutex_unlock(&report_lock);
}

void mmn_report_set_echo(FILE *f)
{
	pthread_mutex_lock(&report_lock);
	report_echo = f;
	pthread_mutex_unlock(&report_lock);
}

/*
 * WARN_ON(): the kernel prints "WARNING: CPU: 0 PID: 1 at file:line func"
 * and a backtrace; the lab records it, with the condition in place of the
 * function and the held locks in place of the backtrace.
 */
void __mmn_warn(const char *cond, const char *file, int line)
{
	struct mmn_task *cur = mmn_current();
	struct mmn_buf b = { 0 };
	char site[256];

	snprintf(site, sizeof(site), "%s:%d", file, line);
	if (__mmn_report_seen(MMN_V_LAB_BUG, site))
		return;
	mmn_buf_printf(&b, "WARNING: CPU: 0 PID: %d at %s:%d %s\n", cur->pid, file, line, cond);
	mmn_buf_printf(&b, "Comm: %s\n", cur->comm);
	__mmn_print_held_locks(&b, cur);
	mmn_report(MMN_V_LAB_BUG, site, "%s", b.s);
	mmn_buf_free(&b);
}
