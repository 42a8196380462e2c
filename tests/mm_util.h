/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the primary-MMU tests (test_file, test_migrate,
 * test_mremap): short names for mmap flags, a load that cannot fail
 * silently, the pfn at an address, the pool's counters, and the recorder
 * with its offsets relative to a mapping.
 */
#ifndef MMN_TEST_MM_UTIL_H
#define MMN_TEST_MM_UTIL_H

#include <string.h>
#include <sys/mman.h>

#include <mmn/mm.h>
#include <mmn/recorder.h>

#include "harness.h"

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)
#define SHARED	(MAP_SHARED | MAP_ANONYMOUS)

#ifndef EXPECT_GE
#define EXPECT_GE(a, b) __H_CMP(0, a, >=, b)
#define EXPECT_GT(a, b) __H_CMP(0, a, >, b)
#endif

#define VAL_A	0xaaaa0001ULL
#define VAL_B	0xbbbb0002ULL
#define VAL_C	0xcccc0003ULL

static inline __attribute__((unused)) uint64_t ld(struct mm_struct *mm, unsigned long va)
{
	uint64_t v = 0xdeadbeef;

	if (mmn_load(mm, va, &v))
		return 0xbad;
	return v;
}

static inline __attribute__((unused)) unsigned long pfn_at(struct mm_struct *mm, unsigned long va)
{
	unsigned long pfn;

	if (mmn_follow_pte(mm, va, &pfn, NULL))
		return 0;
	return pfn;
}

static inline __attribute__((unused)) struct mmn_mem_stats stats(void)
{
	struct mmn_mem_stats st;

	mmn_mem_stats(&st);
	return st;
}

/* The recorder's lines, with a zero offset spelled "0" (see test_mm.c). */
static inline __attribute__((unused)) const char *rec_text(struct mmn_recorder *rec)
{
	static char buf[8192];
	const char *t = mmn_recorder_text(rec);
	size_t o = 0;

	for (size_t i = 0; t[i] && o + 1 < sizeof(buf); i++) {
		if (i > 0 && (t[i - 1] == '[' || t[i - 1] == '+') &&
		    !strncmp(&t[i], "0x0,", 4)) {
			buf[o++] = '0';
			i += 2;
			continue;
		}
		buf[o++] = t[i];
	}
	buf[o] = 0;
	return buf;
}

static inline __attribute__((unused)) struct mmn_recorder *rec_on(struct mm_struct *mm, unsigned long base,
				   unsigned int flags)
{
	int err;
	struct mmn_recorder *rec = mmn_recorder_create(mm, flags, &err);

	if (rec)
		mmn_recorder_set_base(rec, base);
	return rec;
}

#endif
