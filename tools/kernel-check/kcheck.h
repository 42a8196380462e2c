/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The comparison half of the real-kernel validation (docs/validation.md):
 * normalised notifier sequences per phase, the lab's phases, and the
 * comparer with its explicit rules.
 *
 * Normalised line (both sides; the lab recorder's format, <mmn/recorder.h>,
 * with addresses relative to the arena and only what both sides can
 * know):
 *
 *   CALLBACK[ EVENT|tlbs][ RANGE|ADDR][ blk=B][ atomic=A]
 *
 * RANGE is [a,b), each bound +0xOFF / -0xOFF from the arena base, except
 * 0 and ULONG_MAX (whole-address-space ranges), which stay 0x0 and
 * 0xffffffffffffffff.  Dropped: the interval callback's seq (the per-mm
 * sequence counts every invalidation since the mm was created) and its
 * atomic (the lab's recorder does not sample it), and the tracer's
 * sid/pid/comm/cur fields.
 */
#ifndef MMN_KCHECK_H
#define MMN_KCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define KC_ARENA	0x10000000UL	/* kernel/mmntest/mmntest.c */
#define KC_ARENA_LEN	0x4000000UL
#define KC_MAX_PHASES	48
#define KC_NAME_LEN	40

struct kc_seq {
	char **line;
	size_t n, cap;
};

/* per-phase comparison rules (docs/validation.md, "Rules") */
#define KC_RULE_AGING	(1u << 0)	/* reclaim-aging: drop young callbacks */
#define KC_RULE_LEGACY	(1u << 1)	/* legacy-6.1-not-modelled */

struct kc_phase {
	char name[KC_NAME_LEN];
	struct kc_seq seq;
	/* lab side only */
	struct kc_seq alt;		/* another accepted sequence ... */
	const char *alt_rule;		/* ... and the rule that accepts it */
	const char *not_modelled;	/* why the lab cannot run it yet */
	unsigned int rules;
	/* real side only: KNOWN-DIFFERENCES lists this phase (the reason) */
	char *known;
};

struct kc_trace {
	char kernel[160];		/* real: "KABI linux-image-KABI VERSION" */
	unsigned long arena, arena_len;
	struct kc_phase ph[KC_MAX_PHASES];
	size_t n;
};

void kc_seq_add(struct kc_seq *s, const char *line);
void kc_seq_free(struct kc_seq *s);
void kc_trace_free(struct kc_trace *t);
struct kc_phase *kc_trace_phase(struct kc_trace *t, const char *name);
struct kc_phase *kc_trace_add_phase(struct kc_trace *t, const char *name);

/*
 * Normalise one recorder/tracer line into @out.  Returns 1 to keep, 0 for
 * a line outside the arena (rule "arena"), -1 if it cannot be parsed.
 */
int kc_normalize_line(const char *in, unsigned long arena,
		      unsigned long arena_len, char *out, size_t outsz);

/*
 * A raw guest log (serial console: "MMNT: sid=.. | BODY" lines with
 * "# phase NAME" markers) into a trace.  Lines before the first phase and
 * after "# end" are ignored.  Returns 0 or -1 with a message on stderr.
 */
int kc_parse_raw(FILE *f, struct kc_trace *t);
/* A directory of normalised phase files (PHASES, KERNEL, NAME.txt). */
int kc_write_dir(const struct kc_trace *t, const char *dir);
int kc_read_dir(const char *dir, struct kc_trace *t);

/* The lab side: run every phase under @era ("6.1" or "6.12"). */
int kc_lab_run(const char *era, struct kc_trace *t);

/* Change one event in @s (the deliberately wrong lab sequence). */
void kc_flip(struct kc_seq *s);

struct kc_result {
	int matched, mismatched, not_modelled, missing, known, stale_known;
	char first_mismatch[KC_NAME_LEN];
	int nr_mismatch_names;
	char mismatch[KC_MAX_PHASES][KC_NAME_LEN];
};

/*
 * Compare every lab phase with the real one, print a table and a diff for
 * each mismatch on @out.  A mismatch of a phase listed in the trace
 * directory's KNOWN-DIFFERENCES (a lab bug with an owner, not a rule)
 * counts as res->known unless @strict; a listed phase that matches counts
 * as res->stale_known.  Neither is ever silent.
 */
void kc_compare(const struct kc_trace *real, const struct kc_trace *lab,
		const char *lab_era, bool strict, FILE *out, struct kc_result *res);

/* The comparison of one phase after the rules: true if equal; the diff of
 * the two (filtered) sequences goes to @out when not NULL. */
bool kc_phase_equal(const struct kc_seq *real, const struct kc_seq *lab,
		    unsigned int rules, FILE *out);

#endif
