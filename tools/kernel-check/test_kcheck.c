// SPDX-License-Identifier: GPL-2.0
/*
 * The comparer's logic on small fixture traces: normalisation of tracer
 * and recorder lines, the arena rule, the per-phase rules, the accepted
 * alternative, the flip, the diff, and the guest-log parser.
 */
#include <stdlib.h>
#include <string.h>

#include "kcheck.h"

static int failures, checks;

#define CHECK(cond) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
	}								\
} while (0)

static const char *norm(const char *in)
{
	static char out[512];
	int r = kc_normalize_line(in, KC_ARENA, KC_ARENA_LEN, out, sizeof(out));

	return r < 0 ? "<error>" : r == 0 ? "<dropped>" : out;
}

static void test_normalize(void)
{
	/* tracer: seq, atomic of interval, and the header fields go */
	CHECK(!strcmp(norm("interval CLEAR [0x10002000,0x10003000) blk=1 seq=5 atomic=0"),
		      "interval CLEAR [+0x2000,+0x3000) blk=1"));
	/* lab recorder, absolute (no base) */
	CHECK(!strcmp(norm("interval CLEAR [0x10002000,0x10003000) blk=1 seq=3"),
		      "interval CLEAR [+0x2000,+0x3000) blk=1"));
	CHECK(!strcmp(norm("start PROTECTION_VMA [0x10000000,0x10010000) blk=1 atomic=0"),
		      "start PROTECTION_VMA [+0x0,+0x10000) blk=1 atomic=0"));
	CHECK(!strcmp(norm("arch_invalidate_secondary_tlbs [0x0,0xffffffffffffffff) atomic=1"),
		      "arch_invalidate_secondary_tlbs [0x0,0xffffffffffffffff) atomic=1"));
	CHECK(!strcmp(norm("change_pte 0x10002000 atomic=1"), "change_pte +0x2000 atomic=1"));
	CHECK(!strcmp(norm("release tlbs"), "release tlbs"));
	CHECK(!strcmp(norm("release"), "release"));
	/* rule arena: the parent's stack, the ELF data */
	CHECK(!strcmp(norm("start PROTECTION_PAGE [0x7ffffffde000,0x7ffffffff000) blk=1 atomic=0"),
		      "<dropped>"));
	CHECK(!strcmp(norm("change_pte 0x4ba000 atomic=1"), "<dropped>"));
	/* straddling the arena's start: kept, relative below the base */
	CHECK(!strcmp(norm("start CLEAR [0xfff0000,0x10001000) blk=1 atomic=0"),
		      "start CLEAR [-0x10000,+0x1000) blk=1 atomic=0"));
	CHECK(!strcmp(norm("start CLEAR [0x1000,0x2000 blk=1"), "<error>"));
}

static void seq_of(struct kc_seq *s, const char *const *lines)
{
	for (; *lines; lines++)
		kc_seq_add(s, *lines);
}

static void test_rules(void)
{
	static const char *const real[] = {
		"clear_flush_young [+0xc00000,+0xc01000) atomic=1",
		"interval CLEAR [+0xc00000,+0xc01000) blk=1",
		"start CLEAR [+0xc00000,+0xc01000) blk=1 atomic=0",
		"invalidate_range [+0xc00000,+0xc01000) atomic=1",
		"end CLEAR [+0xc00000,+0xc01000) blk=1 atomic=0",
		NULL,
	};
	static const char *const lab[] = {
		"interval CLEAR [+0xc00000,+0xc01000) blk=1",
		"start CLEAR [+0xc00000,+0xc01000) blk=1 atomic=0",
		"end CLEAR [+0xc00000,+0xc01000) blk=1 atomic=0",
		NULL,
	};
	struct kc_seq r = { 0 }, l = { 0 };

	seq_of(&r, real);
	seq_of(&l, lab);
	CHECK(!kc_phase_equal(&r, &l, 0, NULL));
	CHECK(!kc_phase_equal(&r, &l, KC_RULE_AGING, NULL));
	CHECK(!kc_phase_equal(&r, &l, KC_RULE_LEGACY, NULL));
	CHECK(kc_phase_equal(&r, &l, KC_RULE_AGING | KC_RULE_LEGACY, NULL));
	/* a rule never hides a start/end difference */
	free(l.line[1]);
	l.line[1] = strdup("start UNMAP [+0xc00000,+0xc01000) blk=1 atomic=0");
	CHECK(!kc_phase_equal(&r, &l, KC_RULE_AGING | KC_RULE_LEGACY, NULL));
	kc_seq_free(&r);
	kc_seq_free(&l);
}

static void test_flip_and_compare(void)
{
	static const char *const seq[] = {
		"interval CLEAR [+0x4000,+0x8000) blk=1",
		"start CLEAR [+0x4000,+0x8000) blk=1 atomic=0",
		NULL,
	};
	static struct kc_trace real, lab;
	struct kc_result res;
	struct kc_phase *p;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	snprintf(real.kernel, sizeof(real.kernel), "fixture");
	seq_of(&kc_trace_add_phase(&real, "dontneed")->seq, seq);
	kc_trace_add_phase(&real, "reuse");
	kc_seq_add(&kc_trace_add_phase(&real, "ksm-merge")->seq, "start CLEAR [+0x800000,+0x801000) blk=1 atomic=0");
	/* the copy Linux may make instead of reusing */
	seq_of(&kc_trace_phase(&real, "reuse")->seq, seq);

	seq_of(&kc_trace_add_phase(&lab, "dontneed")->seq, seq);
	p = kc_trace_add_phase(&lab, "reuse");
	p->alt_rule = "reuse-may-copy";
	seq_of(&p->alt, seq);
	kc_trace_add_phase(&lab, "ksm-merge")->not_modelled = "KSM";

	out = open_memstream(&text, &len);
	kc_compare(&real, &lab, "6.12", true, out, &res);
	fclose(out);
	CHECK(res.matched == 2 && res.mismatched == 0 && res.not_modelled == 1);
	CHECK(strstr(text, "rule reuse-may-copy"));
	CHECK(strstr(text, "not yet modelled in the lab: KSM"));
	free(text);

	/* one flipped event: a mismatch of that phase, with a readable diff */
	kc_flip(&kc_trace_phase(&lab, "dontneed")->seq);
	CHECK(!strcmp(kc_trace_phase(&lab, "dontneed")->seq.line[0],
		      "interval UNMAP [+0x4000,+0x8000) blk=1"));
	out = open_memstream(&text, &len);
	kc_compare(&real, &lab, "6.12", true, out, &res);
	fclose(out);
	CHECK(res.mismatched == 1 && !strcmp(res.mismatch[0], "dontneed"));
	CHECK(strstr(text, "    - interval CLEAR [+0x4000,+0x8000) blk=1\n"
			   "    + interval UNMAP [+0x4000,+0x8000) blk=1\n"));
	free(text);

	/* an empty sequence flips into a spurious callback */
	{
		struct kc_seq e = { 0 };

		kc_flip(&e);
		CHECK(e.n == 1);
		kc_seq_free(&e);
	}
	kc_trace_free(&real);
	kc_trace_free(&lab);
}

static void test_parse_raw(void)
{
	static const char log[] =
		"[    2.1] some kernel noise\n"
		"MMNT: sid=1 pid=9 comm=mmntest cur=1 | # kernel 6.12.117+deb12-amd64\n"
		"MMNT: sid=1 pid=9 comm=mmntest cur=1 | # arena 0x10000000 0x4000000\n"
		"MMNT: sid=1 pid=9 comm=mmntest cur=1 | # phase fork\n"
		"MMNT: sid=1 pid=9 comm=mmntest cur=1 | start PROTECTION_PAGE [0x4b9000,0x4bb000) blk=1 atomic=0\n"
		"MMNT: sid=1 pid=9 comm=mmntest cur=1 | interval PROTECTION_PAGE [0x10000000,0x10010000) blk=1 seq=3 atomic=0\n"
		"MMNT: sid=1 pid=9 comm=mmntest cur=1 | # phase reuse\n"
		"MMNT: sid=2 pid=10 comm=ksmd cur=0 | # phase exit\n"
		"MMNT: sid=2 pid=10 comm=mmntest cur=0 | release\n"
		"MMNT: sid=1 pid=9 comm=mmntest cur=1 | # end\n"
		"MMNT-END failures=0\n";
	static struct kc_trace t;
	FILE *f = fmemopen((void *)log, sizeof(log) - 1, "r");

	CHECK(f && !kc_parse_raw(f, &t));
	if (f)
		fclose(f);
	CHECK(t.n == 3);
	CHECK(kc_trace_phase(&t, "fork") && kc_trace_phase(&t, "fork")->seq.n == 1);
	CHECK(kc_trace_phase(&t, "reuse") && kc_trace_phase(&t, "reuse")->seq.n == 0);
	CHECK(kc_trace_phase(&t, "exit") &&
	      !strcmp(kc_trace_phase(&t, "exit")->seq.line[0], "release"));
	kc_trace_free(&t);

	/* a truncated log (no end marker) is refused */
	f = fmemopen((void *)log, strstr(log, "# end") - log, "r");
	CHECK(f && kc_parse_raw(f, &t) < 0);
	if (f)
		fclose(f);
	kc_trace_free(&t);
}

int main(void)
{
	test_normalize();
	test_rules();
	test_flip_and_compare();
	test_parse_raw();
	printf("test_kcheck: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
