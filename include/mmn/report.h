/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Violation reports.
 *
 * A violation is recorded the moment it is detected, into the run's report
 * object; it is never printed and forgotten.  Tests assert on the counts and
 * the text; the CLI prints the text.  The text of each record is already in
 * the kernel's own format (might_sleep, lockdep, KASAN-like two-access).
 */
#ifndef MMN_REPORT_H
#define MMN_REPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mmn_violation_class { MMN_VC_DATA, MMN_VC_PROTOCOL };

enum mmn_violation_kind {
#define MMN_VIOLATION(e, name, cls, rule) MMN_V_##e,
#include <mmn/violations.def>
#undef MMN_VIOLATION
	MMN_V__COUNT
};

const char *mmn_violation_name(enum mmn_violation_kind k);
const char *mmn_violation_rule(enum mmn_violation_kind k);
enum mmn_violation_class mmn_violation_class(enum mmn_violation_kind k);
/* Returns -1 for an unknown name. */
int mmn_violation_parse(const char *name);

struct mmn_violation {
	enum mmn_violation_kind kind;
	char *text;		/* full report, '\n'-terminated lines */
	const char *site;	/* "file:line" deduplication key, may be NULL */
};

/* Record a violation.  @site, if not NULL, dedups: one report per site
 * and kind per run, as the kernel's might_sleep does per call site. */
void mmn_report(enum mmn_violation_kind kind, const char *site,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void mmn_vreport(enum mmn_violation_kind kind, const char *site,
		 const char *fmt, va_list ap);

size_t mmn_report_count(void);
size_t mmn_report_count_kind(enum mmn_violation_kind kind);
const struct mmn_violation *mmn_report_get(size_t i);
void mmn_report_print(FILE *f);
void mmn_report_reset(void);
/* Optional: also echo every record to this stream as it is recorded. */
void mmn_report_set_echo(FILE *f);

/* A growable string, for building report text. */
struct mmn_buf {
	char *s;
	size_t len, cap;
};
void mmn_buf_printf(struct mmn_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mmn_buf_vprintf(struct mmn_buf *b, const char *fmt, va_list ap);
void mmn_buf_free(struct mmn_buf *b);

#ifdef __cplusplus
}
#endif
#endif /* MMN_REPORT_H */
