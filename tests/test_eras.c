// SPDX-License-Identifier: GPL-2.0
/*
 * Pinned notifier call sequences per era for the operations whose legacy
 * call sites differ (issue 5): COW, KSM merge, reclaim (MADV_PAGEOUT) and
 * munmap, under 6.1 (change_pte, invalidate_range: must agree with
 * kernel/traces/6.1 minus the interval lines) and 2.6.33 (change_pte after
 * set_pte_at, invalidate_page under the PT lock, no range pair around
 * one-page operations, everything atomic, no blockable flag).  The 6.12
 * sequences are pinned in test_notifier.c (seq_*).
 *
 * 2.6.33 truncate (issue 5): unmap_mapping_range() under the i_mmap_lock
 * spinlock, one start/end pair per VMA, and with a lock break
 * (mmn_truncate_knobs) several pairs over shrinking sub-ranges, end
 * always over the range its start had.
 *
 * 2.6.33+holt (issue 6, Robin Holt's RFP-V2): range_start(atomic) with
 * atomic only on that truncate path; a refusal (the recorder's
 * mmn_recorder_refuse_atomic) gives start(1) = 1, end, the same range
 * again outside i_mmap_lock (start(0), end: atomic=0), and the restarted
 * walk's start(1) = 0, zap, end; every other site passes 0 and, with the
 * TLB gather after start, munmap's start is no longer atomic.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/era.h>
#include <mmn/mm.h>
#include <mmn/recorder.h>
#include <mmn/linux/mmu_notifier.h>

#include "mm/internal.h"
#include "scenario/scenario.h"

#define PG(n)	((unsigned long)(n) * PAGE_SIZE)
#define A	0x20000000UL

struct era_fix {
	struct mm_struct *mm;
	struct mmn_recorder *rec;
};

static bool era_setup(struct era_fix *f, enum mmn_era era, int pages,
		      unsigned long val, bool same)
{
	int err;

	mmn_era = era;
	f->mm = mmn_mm_create();
	if (!f->mm || mmn_mmap(f->mm, A, PG(pages), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) != (long)A)
		return false;
	for (int i = 0; i < pages; i++)
		if (mmn_store(f->mm, A + PG(i), same ? val : val + i))
			return false;
	f->rec = mmn_recorder_create(f->mm, MMN_REC_LEGACY | MMN_REC_NO_YOUNG, &err);
	if (!f->rec)
		return false;
	mmn_recorder_set_base(f->rec, A);
	return true;
}

static void era_teardown(struct era_fix *f)
{
	if (f->mm)
		mmn_exit(f->mm);
	mmn_recorder_destroy(f->rec);
	mmn_era = MMN_ERA_6_12;
}

#define EXPECT_LOG(f, text) do {					\
	const char *__log = mmn_recorder_text((f)->rec);		\
	if (getenv("ERAS_PRINT"))					\
		printf("----\n%s", __log);				\
	if (strcmp(__log, (text)))					\
		harness_fail(__FILE__, __LINE__,			\
			     "log differs\n--- expected\n%s--- got\n%s", \
			     (text), __log);				\
	mmn_recorder_clear((f)->rec);					\
} while (0)

static void do_cow(struct era_fix *f)
{
	struct mm_struct *child;
	int err;

	child = mmn_fork(f->mm, &err);
	ASSERT_TRUE(child);
	mmn_recorder_clear(f->rec);
	ASSERT_EQ(mmn_store(f->mm, A + PG(2), 7), 0);
	if (child)
		mmn_exit(child);
}

static void do_ksm(struct era_fix *f)
{
	unsigned long shared = 0, sharing = 0;

	ASSERT_EQ(mmn_madvise(f->mm, A, PG(2), MADV_MERGEABLE), 0);
	for (int pass = 0; pass < 10 && !(shared == 1 && sharing == 1); pass++) {
		mmn_ksm_scan();
		mmn_ksm_counts(&shared, &sharing);
	}
	EXPECT_EQ(shared, 1);
	EXPECT_EQ(sharing, 1);
}

/* 6.1 COW (wp_page_copy): start, invalidate_range under the PTL
 * (ptep_clear_flush_notify), change_pte (set_pte_at_notify), only_end --
 * kernel/traces/6.1/cow.txt */
TEST(era_6_1_cow)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_6_1, 4, 0x1000, false));
	do_cow(&f);
	EXPECT_LOG(&f,
		"start CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n"
		"invalidate_range [+0x2000,+0x3000) atomic=1\n"
		"change_pte +0x2000 atomic=1\n"
		"end CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n");
	era_teardown(&f);
}

/* 2.6.33 do_wp_page: no range pair; change_pte after set_pte_at, PTL held */
TEST(era_2_6_33_cow)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_2_6_33, 4, 0x1000, false));
	do_cow(&f);
	EXPECT_LOG(&f,
		"change_pte +0x2000 atomic=1\n");
	era_teardown(&f);
}

/* 6.1 KSM (write_protect_page, replace_page): start, change_pte, end
 * (invalidate_range from range_end) per page -- ksm-merge.txt */
TEST(era_6_1_ksm_merge)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_6_1, 2, 0x5a5a, true));
	do_ksm(&f);
	EXPECT_LOG(&f,
		"start CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n"
		"change_pte +0x1000 atomic=1\n"
		"invalidate_range [+0x1000,+0x2000) atomic=0\n"
		"end CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n"
		"start CLEAR [+0x0,+0x1000) blk=1 atomic=0\n"
		"change_pte +0x0 atomic=1\n"
		"invalidate_range [+0x0,+0x1000) atomic=0\n"
		"end CLEAR [+0x0,+0x1000) blk=1 atomic=0\n"
		"start CLEAR [+0x0,+0x1000) blk=1 atomic=0\n"
		"change_pte +0x0 atomic=1\n"
		"invalidate_range [+0x0,+0x1000) atomic=0\n"
		"end CLEAR [+0x0,+0x1000) blk=1 atomic=0\n");
	era_teardown(&f);
}

/* 2.6.33 KSM: change_pte only, under the PTL */
TEST(era_2_6_33_ksm_merge)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_2_6_33, 2, 0x5a5a, true));
	do_ksm(&f);
	EXPECT_LOG(&f,
		"change_pte +0x1000 atomic=1\n"
		"change_pte +0x0 atomic=1\n"
		"change_pte +0x0 atomic=1\n");
	era_teardown(&f);
}

/* 6.1 try_to_unmap_one: start, invalidate_range under the PTL, end (with
 * its invalidate_range); the MADV_PAGEOUT gather flush last -- pageout.txt */
TEST(era_6_1_reclaim)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_6_1, 2, 0x3000, false));
	ASSERT_EQ(mmn_madvise(f.mm, A, PG(2), MADV_PAGEOUT), 0);
	EXPECT_LOG(&f,
		"start CLEAR [+0x0,+0x1000) blk=1 atomic=0\n"
		"invalidate_range [+0x0,+0x1000) atomic=1\n"
		"invalidate_range [+0x0,+0x1000) atomic=0\n"
		"end CLEAR [+0x0,+0x1000) blk=1 atomic=0\n"
		"start CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n"
		"invalidate_range [+0x1000,+0x2000) atomic=1\n"
		"invalidate_range [+0x1000,+0x2000) atomic=0\n"
		"end CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n"
		"invalidate_range [+0x0,+0x2000) atomic=0\n");
	era_teardown(&f);
}

/* 2.6.33 try_to_unmap_one: invalidate_page under the PTL, no range pair */
TEST(era_2_6_33_reclaim)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_2_6_33, 2, 0x3000, false));
	ASSERT_EQ(mmn_madvise(f.mm, A, PG(2), MADV_PAGEOUT), 0);
	EXPECT_LOG(&f,
		"invalidate_page +0x0 atomic=1\n"
		"invalidate_page +0x1000 atomic=1\n");
	era_teardown(&f);
}

/* 6.1 munmap: start, end (invalidate_range), the gather flush's
 * invalidate_range after end -- munmap.txt */
TEST(era_6_1_munmap)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_6_1, 8, 0x4000, false));
	ASSERT_EQ(mmn_munmap(f.mm, A + PG(4), PG(4)), 0);
	EXPECT_LOG(&f,
		"start UNMAP [+0x4000,+0x8000) blk=1 atomic=0\n"
		"invalidate_range [+0x4000,+0x8000) atomic=0\n"
		"end UNMAP [+0x4000,+0x8000) blk=1 atomic=0\n"
		"invalidate_range [+0x4000,+0x8000) atomic=0\n");
	era_teardown(&f);
}

/* 2.6.33 unmap_vmas: start/end inside the per-CPU gather, preemption
 * off (atomic=1), no blockable flag */
TEST(era_2_6_33_munmap)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_2_6_33, 8, 0x4000, false));
	ASSERT_EQ(mmn_munmap(f.mm, A + PG(4), PG(4)), 0);
	EXPECT_LOG(&f,
		"start UNMAP [+0x4000,+0x8000) blk=0 atomic=1\n"
		"end UNMAP [+0x4000,+0x8000) blk=0 atomic=1\n");
	era_teardown(&f);
}

/* ---- 2.6.33 truncate ------------------------------------------------- */

#define F1	0x30000000UL	/* first mapping of the file */
#define F2	0x30100000UL	/* second mapping, same mm */

struct file_fix {
	struct mm_struct *mm;
	struct file *f;
	struct mmn_recorder *rec;
};

/* A file of @pages pages, mapped @nmaps times (F1, F2), every page written. */
static bool file_setup(struct file_fix *f, enum mmn_era era, int pages,
		       int nmaps)
{
	static const unsigned long at[] = { F1, F2 };
	int err;

	mmn_era = era;
	f->mm = mmn_mm_create();
	f->f = mmn_file_create(PG(pages), &err);
	if (!f->mm || !f->f)
		return false;
	for (int m = 0; m < nmaps; m++) {
		if (mmn_mmap_file(f->mm, at[m], PG(pages), PROT_READ | PROT_WRITE,
				  MAP_SHARED, f->f, 0) != (long)at[m])
			return false;
		for (int i = 0; i < pages; i++)
			if (mmn_store(f->mm, at[m] + PG(i), 0x100 + i))
				return false;
	}
	f->rec = mmn_recorder_create(f->mm, MMN_REC_LEGACY | MMN_REC_NO_YOUNG, &err);
	if (!f->rec)
		return false;
	mmn_recorder_set_base(f->rec, F1);
	return true;
}

/* The pfn the pte at @va maps, 0 if none. */
static unsigned long pfn_of(struct mm_struct *mm, unsigned long va)
{
	unsigned long pfn;

	return mmn_follow_pte(mm, va, &pfn, NULL) ? 0 : pfn;
}

static void file_teardown(struct file_fix *f)
{
	if (f->mm)
		mmn_exit(f->mm);
	if (f->f)
		mmn_file_close(f->f);
	mmn_recorder_destroy(f->rec);
	memset(&mmn_truncate_knobs, 0, sizeof(mmn_truncate_knobs));
	mmn_era = MMN_ERA_6_12;
}

#define EXPECT_FLOG(f, text) do {					\
	struct era_fix __e = { .rec = (f)->rec };			\
	EXPECT_LOG(&__e, text);						\
} while (0)

/* 8 -> 2 pages: two passes (before and after the page cache is emptied),
 * each one start/end over the VMA's part of the hole, under i_mmap_lock
 * (atomic=1), no blockable flag */
TEST(era_2_6_33_truncate)
{
	struct file_fix f = { 0 };
	uint64_t v;

	ASSERT_TRUE(file_setup(&f, MMN_ERA_2_6_33, 8, 1));
	ASSERT_EQ(mmn_file_truncate(f.f, PG(2)), 0);
	EXPECT_FLOG(&f,
		"start CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"start CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n");
	EXPECT_EQ(mmn_load(f.mm, F1 + PG(2), &v), -EFAULT);
	ASSERT_EQ(mmn_load(f.mm, F1 + PG(1), &v), 0);
	EXPECT_EQ(v, 0x101);
	file_teardown(&f);
}

/*
 * A lock break every chunk (2 pages): the zap stops after each chunk, end
 * still covers the whole range of its start, the VMA remembers where it
 * stopped (vm_truncate_count) and the restarted walk starts there.  The
 * second pass (a new truncate_count) goes over the hole again.
 */
TEST(era_2_6_33_truncate_lock_break)
{
	struct file_fix f = { 0 };
	uint64_t v;

	ASSERT_TRUE(file_setup(&f, MMN_ERA_2_6_33, 8, 1));
	mmn_truncate_knobs.zap_block_pages = 2;
	mmn_truncate_knobs.break_every = 1;
	ASSERT_EQ(mmn_file_truncate(f.f, PG(2)), 0);
	EXPECT_FLOG(&f,
		"start CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"start CLEAR [+0x4000,+0x8000) blk=0 atomic=1\n"
		"end CLEAR [+0x4000,+0x8000) blk=0 atomic=1\n"
		"start CLEAR [+0x6000,+0x8000) blk=0 atomic=1\n"
		"end CLEAR [+0x6000,+0x8000) blk=0 atomic=1\n"
		"start CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"start CLEAR [+0x4000,+0x8000) blk=0 atomic=1\n"
		"end CLEAR [+0x4000,+0x8000) blk=0 atomic=1\n"
		"start CLEAR [+0x6000,+0x8000) blk=0 atomic=1\n"
		"end CLEAR [+0x6000,+0x8000) blk=0 atomic=1\n");
	for (int i = 2; i < 8; i++)
		EXPECT_EQ(mmn_load(f.mm, F1 + PG(i), &v), -EFAULT);
	ASSERT_EQ(mmn_load(f.mm, F1 + PG(1), &v), 0);
	EXPECT_EQ(v, 0x101);
	EXPECT_EQ(mmn_report_count(), 0);
	file_teardown(&f);
}

/*
 * Two VMAs of the file, 4 pages truncated to 0, 2-page chunks, a break
 * after every third chunk: the first VMA is done in two chunks; the break
 * hits the second VMA after its first chunk; the restarted walk skips the
 * first VMA (vm_truncate_count == truncate_count) and resumes the second
 * at its restart address.  Second pass: third chunk, in the second VMA
 * again.
 */
TEST(era_2_6_33_truncate_restart_skips_done_vmas)
{
	struct file_fix f = { 0 };
	uint64_t v;

	ASSERT_TRUE(file_setup(&f, MMN_ERA_2_6_33, 4, 2));
	mmn_truncate_knobs.zap_block_pages = 2;
	mmn_truncate_knobs.break_every = 3;
	ASSERT_EQ(mmn_file_truncate(f.f, 0), 0);
	EXPECT_FLOG(&f,
		"start CLEAR [+0x0,+0x4000) blk=0 atomic=1\n"
		"end CLEAR [+0x0,+0x4000) blk=0 atomic=1\n"
		"start CLEAR [+0x100000,+0x104000) blk=0 atomic=1\n"
		"end CLEAR [+0x100000,+0x104000) blk=0 atomic=1\n"
		"start CLEAR [+0x102000,+0x104000) blk=0 atomic=1\n"
		"end CLEAR [+0x102000,+0x104000) blk=0 atomic=1\n"
		"start CLEAR [+0x0,+0x4000) blk=0 atomic=1\n"
		"end CLEAR [+0x0,+0x4000) blk=0 atomic=1\n"
		"start CLEAR [+0x100000,+0x104000) blk=0 atomic=1\n"
		"end CLEAR [+0x100000,+0x104000) blk=0 atomic=1\n"
		"start CLEAR [+0x102000,+0x104000) blk=0 atomic=1\n"
		"end CLEAR [+0x102000,+0x104000) blk=0 atomic=1\n");
	for (int i = 0; i < 4; i++) {
		EXPECT_EQ(mmn_load(f.mm, F1 + PG(i), &v), -EFAULT);
		EXPECT_EQ(mmn_load(f.mm, F2 + PG(i), &v), -EFAULT);
	}
	EXPECT_EQ(mmn_report_count(), 0);
	file_teardown(&f);
}

/* ---- 2.6.33+holt ------------------------------------------------------ */

static bool holt_setup(struct file_fix *f, int pages)
{
	int err;

	mmn_era = MMN_ERA_2_6_33;
	mmn_era_opts = MMN_ERA_OPT_HOLT;
	f->mm = mmn_mm_create();
	f->f = mmn_file_create(PG(pages), &err);
	if (!f->mm || !f->f)
		return false;
	if (mmn_mmap_file(f->mm, F1, PG(pages), PROT_READ | PROT_WRITE,
			  MAP_SHARED, f->f, 0) != (long)F1)
		return false;
	for (int i = 0; i < pages; i++)
		if (mmn_store(f->mm, F1 + PG(i), 0x100 + i))
			return false;
	f->rec = mmn_recorder_create(f->mm, MMN_REC_HOLT | MMN_REC_LEGACY, &err);
	if (!f->rec)
		return false;
	mmn_recorder_set_base(f->rec, F1);
	return true;
}

static void holt_teardown(struct file_fix *f)
{
	file_teardown(f);
	mmn_era_opts = 0;
}

/* nobody refuses: one start(atomic=1)/end per VMA and pass, under
 * i_mmap_lock */
TEST(era_holt_truncate)
{
	struct file_fix f = { 0 };

	ASSERT_TRUE(holt_setup(&f, 8));
	ASSERT_EQ(mmn_file_truncate(f.f, PG(2)), 0);
	EXPECT_FLOG(&f,
		"start_atomic [+0x2000,+0x8000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"start_atomic [+0x2000,+0x8000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n");
	holt_teardown(&f);
}

/*
 * The atomic start refused once: nothing zapped, end; i_mmap_lock dropped:
 * start(0) and end for the same range outside it (atomic=0); relock and
 * restart: start(1) = 0, zap, end.  The second pass is not refused.
 */
TEST(era_holt_truncate_refused)
{
	struct file_fix f = { 0 };
	uint64_t v;

	ASSERT_TRUE(holt_setup(&f, 8));
	mmn_recorder_refuse_atomic(f.rec, 1);
	ASSERT_EQ(mmn_file_truncate(f.f, PG(2)), 0);
	EXPECT_FLOG(&f,
		"start_atomic [+0x2000,+0x8000) arg=1 ret=1 atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"start_atomic [+0x2000,+0x8000) arg=0 ret=0 atomic=0\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=0\n"
		"start_atomic [+0x2000,+0x8000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n"
		"start_atomic [+0x2000,+0x8000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=0 atomic=1\n");
	for (int i = 2; i < 8; i++)
		EXPECT_EQ(mmn_load(f.mm, F1 + PG(i), &v), -EFAULT);
	EXPECT_EQ(mmn_report_count(), 0);
	holt_teardown(&f);
}

/*
 * Hole punch of pages [1, 7) in 2-page chunks, a lock break after every
 * second chunk: without a refusal, start(1) [1, 7) .. break .. end [1, 7),
 * then [5, 7).  Refused once: the unlocked start(0)/end cover [1, 7), the
 * restart zaps two chunks and breaks, the last restart covers [5, 7).
 */
TEST(era_holt_punch_refused_then_break)
{
	struct file_fix f = { 0 };

	ASSERT_TRUE(holt_setup(&f, 8));
	mmn_truncate_knobs.zap_block_pages = 2;
	mmn_truncate_knobs.break_every = 2;
	ASSERT_EQ(mmn_file_punch_hole(f.f, PG(1), PG(6)), 0);
	EXPECT_FLOG(&f,
		"start_atomic [+0x1000,+0x7000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x1000,+0x7000) blk=0 atomic=1\n"
		"start_atomic [+0x5000,+0x7000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x5000,+0x7000) blk=0 atomic=1\n");
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(mmn_store(f.mm, F1 + PG(i), i), 0);
	mmn_recorder_clear(f.rec);
	mmn_recorder_refuse_atomic(f.rec, 1);
	ASSERT_EQ(mmn_file_punch_hole(f.f, PG(1), PG(6)), 0);
	EXPECT_FLOG(&f,
		"start_atomic [+0x1000,+0x7000) arg=1 ret=1 atomic=1\n"
		"end CLEAR [+0x1000,+0x7000) blk=0 atomic=1\n"
		"start_atomic [+0x1000,+0x7000) arg=0 ret=0 atomic=0\n"
		"end CLEAR [+0x1000,+0x7000) blk=0 atomic=0\n"
		"start_atomic [+0x1000,+0x7000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x1000,+0x7000) blk=0 atomic=1\n"
		"start_atomic [+0x5000,+0x7000) arg=1 ret=0 atomic=1\n"
		"end CLEAR [+0x5000,+0x7000) blk=0 atomic=1\n");
	for (int i = 1; i < 7; i++)
		EXPECT_EQ(pfn_of(f.mm, F1 + PG(i)), 0);
	EXPECT_NE(pfn_of(f.mm, F1), 0);
	EXPECT_EQ(mmn_report_count(), 0);
	holt_teardown(&f);
}

/*
 * munmap under the proposal: start(0) before the per-CPU gather (not
 * atomic), end inside it (atomic); reclaim's invalidate_page is still
 * called under the PT lock
 */
TEST(era_holt_munmap_and_reclaim)
{
	struct era_fix f = { 0 };
	int err;

	mmn_era_opts = MMN_ERA_OPT_HOLT;
	mmn_era = MMN_ERA_2_6_33;
	f.mm = mmn_mm_create();
	ASSERT_TRUE(f.mm);
	ASSERT_EQ(mmn_mmap(f.mm, A, PG(8), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), (long)A);
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(mmn_store(f.mm, A + PG(i), i + 1), 0);
	f.rec = mmn_recorder_create(f.mm, MMN_REC_HOLT | MMN_REC_LEGACY, &err);
	ASSERT_TRUE(f.rec);
	mmn_recorder_set_base(f.rec, A);
	ASSERT_EQ(mmn_munmap(f.mm, A + PG(4), PG(4)), 0);
	EXPECT_LOG(&f,
		"start_atomic [+0x4000,+0x8000) arg=0 ret=0 atomic=0\n"
		"end UNMAP [+0x4000,+0x8000) blk=0 atomic=1\n");
	ASSERT_EQ(mmn_madvise(f.mm, A, PG(2), MADV_PAGEOUT), 0);
	EXPECT_LOG(&f,
		"invalidate_page +0x0 atomic=1\n"
		"invalidate_page +0x1000 atomic=1\n");
	ASSERT_EQ(mmn_madvise(f.mm, A + PG(2), PG(2), MADV_DONTNEED), 0);
	EXPECT_LOG(&f,
		"start_atomic [+0x2000,+0x4000) arg=0 ret=0 atomic=0\n"
		"end CLEAR [+0x2000,+0x4000) blk=0 atomic=1\n");
	era_teardown(&f);
	mmn_era_opts = 0;
}

static int refuse_always(struct mmu_notifier *mn, struct mm_struct *mm,
			 unsigned long start, unsigned long end, bool atomic)
{
	return 1;
}

static const struct mmu_notifier_ops refuse_ops = {
	.invalidate_range_start_atomic = refuse_always,
};

/* a refusal with atomic false: nobody retries, the core reports it */
TEST(era_holt_refusal_without_atomic_reported)
{
	struct mmu_notifier mn = { .ops = &refuse_ops };
	struct mm_struct *mm;

	mmn_era = MMN_ERA_2_6_33;
	mmn_era_opts = MMN_ERA_OPT_HOLT;
	mm = mmn_mm_create();
	ASSERT_TRUE(mm);
	ASSERT_EQ(mmn_mmap(mm, A, PG(2), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), (long)A);
	ASSERT_EQ(mmn_store(mm, A, 1), 0);
	ASSERT_EQ(mmu_notifier_register(&mn, mm), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_madvise(mm, A, PG(1), MADV_DONTNEED), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_NONBLOCK), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_NONBLOCK),
			    "returned 1 with atomic == false");
	mmu_notifier_unregister(&mn, mm);
	mmn_exit(mm);
	mmn_era = MMN_ERA_6_12;
	mmn_era_opts = 0;
}

/* the option's names; the RFP's range_start only registers under it */
TEST(era_holt_option_parse_and_register)
{
	struct mm_struct *mm;
	struct mmn_recorder *rec;
	unsigned int opts = 7;
	char buf[32];
	int err;

	EXPECT_EQ(mmn_era_parse_opts("2.6.33+holt", &opts), MMN_ERA_2_6_33);
	EXPECT_EQ(opts, MMN_ERA_OPT_HOLT);
	EXPECT_EQ(mmn_era_parse_opts("2.6.33", &opts), MMN_ERA_2_6_33);
	EXPECT_EQ(opts, 0);
	EXPECT_EQ(mmn_era_parse_opts("6.12+holt", &opts), -1);
	EXPECT_EQ(mmn_era_parse_opts("2.6.33+hol", &opts), -1);
	EXPECT_EQ(mmn_era_parse_opts("2.6.33+holt+x", &opts), -1);
	EXPECT_EQ(strcmp(mmn_era_full_name(MMN_ERA_2_6_33, MMN_ERA_OPT_HOLT,
					   buf, sizeof(buf)), "2.6.33+holt"), 0);
	EXPECT_FALSE(mmn_era_holt());
	/* plain 2.6.33: a notifier with only the RFP's start is refused */
	mmn_era = MMN_ERA_2_6_33;
	mm = mmn_mm_create();
	ASSERT_TRUE(mm);
	harness_expect_violations();
	rec = mmn_recorder_create(mm, MMN_REC_HOLT, &err);
	EXPECT_TRUE(rec == NULL);
	EXPECT_EQ(err, -EINVAL);
	mmn_exit(mm);
	mmn_era = MMN_ERA_6_12;
}

/* the scenario era line: "2.6.33+holt" sets the option for the file */
TEST(era_holt_scenario_line)
{
	static const char *const bad[] = {
		"era 2.6.33+hol\n",		/* unknown option */
		"era 6.12+holt\n",		/* not an option of 6.12 */
		"era 2.6.33 2.6.33+holt\n",	/* one variant per file */
		"era 2.6.33+holt 2.6.33\n",
		"era 2.6.33+\n",
	};
	const char *good = "name h\nera 6.12 2.6.33+holt\nprocess P\n"
			   "map A in P private rw pages 1\n"
			   "cpu T on P {\n    store A 1\n}\n";
	struct scn_scenario *s;
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *f;

	s = scn_parse("h.mmn", good, strlen(good), err, sizeof(err));
	ASSERT_TRUE(s);
	EXPECT_EQ(s->eras, (1u << MMN_ERA_6_12) | (1u << MMN_ERA_2_6_33));
	EXPECT_EQ(s->era_opts, MMN_ERA_OPT_HOLT);
	f = open_memstream(&text, &len);
	ASSERT_TRUE(f);
	scn_print(s, f);
	fclose(f);
	ASSERT_STR_CONTAINS(text, "era 6.12 2.6.33+holt\n");
	free(text);
	scn_free(s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = scn_parse("h.mmn", bad[i], strlen(bad[i]), err, sizeof(err));
		EXPECT_TRUE(s == NULL);
		if (s)
			scn_free(s);
		else if (getenv("ERAS_PRINT"))
			printf("# %s\n", err);
	}
}

/* ---- THP and KSM's pinned page (issue 5 leftovers) ---------------------- */
/*
 * 6.1: anon THPs never call invalidate_range under the PMD lock (only the
 * file/DAX split uses pmdp_huge_clear_flush_notify): the split is start +
 * only_end, the collapse start + end (its invalidate_range) -- as
 * kernel/traces/6.1/thp-split.txt and collapse.txt.  2.6.33 runs 2.6.38's
 * THP: pmdp_clear_flush_notify (collapse, huge COW) and
 * pmdp_splitting_flush_notify (split), the pair under page_table_lock.
 */

#define THP_PAGES	512

/* A 2 MiB-aligned area of one PMD at A; @huge: MADV_HUGEPAGE before the
 * writes (one huge PMD), else after them (512 small pages). */
static bool era_thp_setup(struct era_fix *f, enum mmn_era era, bool huge)
{
	int err;

	mmn_era = era;
	f->mm = mmn_mm_create();
	if (!f->mm || mmn_mmap(f->mm, A, PG(THP_PAGES), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED) != (long)A)
		return false;
	if (huge && mmn_madvise(f->mm, A, PG(THP_PAGES), MADV_HUGEPAGE))
		return false;
	for (int i = 0; i < THP_PAGES; i++)
		if (mmn_store(f->mm, A + PG(i), 0x7000 + i))
			return false;
	if (!huge && mmn_madvise(f->mm, A, PG(THP_PAGES), MADV_HUGEPAGE))
		return false;
	f->rec = mmn_recorder_create(f->mm, MMN_REC_LEGACY | MMN_REC_NO_YOUNG, &err);
	if (!f->rec)
		return false;
	mmn_recorder_set_base(f->rec, A);
	return true;
}

#define PAIR_2M(blk, atomic)						\
	"start CLEAR [+0x0,+0x200000) blk=" blk " atomic=" atomic "\n"	\
	"end CLEAR [+0x0,+0x200000) blk=" blk " atomic=" atomic "\n"

/* 6.1 __split_huge_pmd: pmdp_invalidate, only_end -- thp-split.txt */
TEST(era_6_1_thp_split)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_thp_setup(&f, MMN_ERA_6_1, true));
	ASSERT_EQ(mmn_split_huge_pmd(f.mm, A + PG(3)), 0);
	EXPECT_LOG(&f, PAIR_2M("1", "0"));
	era_teardown(&f);
}

/* 6.1 collapse_huge_page: pmdp_collapse_flush notifies nothing; range_end
 * calls invalidate_range -- collapse.txt */
TEST(era_6_1_thp_collapse)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_thp_setup(&f, MMN_ERA_6_1, false));
	ASSERT_EQ(mmn_madvise(f.mm, A, PG(THP_PAGES), MADV_COLLAPSE), 0);
	EXPECT_LOG(&f,
		"start CLEAR [+0x0,+0x200000) blk=1 atomic=0\n"
		"invalidate_range [+0x0,+0x200000) atomic=0\n"
		"end CLEAR [+0x0,+0x200000) blk=1 atomic=0\n");
	era_teardown(&f);
}

/* 6.1 huge COW: the split (start, only_end), then wp_page_copy of 4 KiB */
TEST(era_6_1_thp_cow)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_thp_setup(&f, MMN_ERA_6_1, true));
	do_cow(&f);
	EXPECT_LOG(&f,
		PAIR_2M("1", "0")
		"start CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n"
		"invalidate_range [+0x2000,+0x3000) atomic=1\n"
		"change_pte +0x2000 atomic=1\n"
		"end CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n");
	era_teardown(&f);
}

/* 6.1 write to the huge zero page: __split_huge_zero_page_pmd (no
 * notifier of its own: start, only_end), then the COW of the 4 KiB zero
 * page */
TEST(era_6_1_huge_zero_write)
{
	struct era_fix f = { 0 };
	uint64_t v = 1;
	int err;

	mmn_era = MMN_ERA_6_1;
	f.mm = mmn_mm_create();
	ASSERT_EQ(mmn_mmap(f.mm, A, PG(THP_PAGES), PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED), (long)A);
	ASSERT_EQ(mmn_madvise(f.mm, A, PG(THP_PAGES), MADV_HUGEPAGE), 0);
	f.rec = mmn_recorder_create(f.mm, MMN_REC_LEGACY | MMN_REC_NO_YOUNG, &err);
	ASSERT_TRUE(f.rec != NULL);
	mmn_recorder_set_base(f.rec, A);
	ASSERT_EQ(mmn_load(f.mm, A + PG(2), &v), 0);
	EXPECT_EQ(v, 0);
	ASSERT_EQ(mmn_store(f.mm, A + PG(2), 7), 0);
	EXPECT_LOG(&f,
		PAIR_2M("1", "0")
		"start CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n"
		"invalidate_range [+0x2000,+0x3000) atomic=1\n"
		"change_pte +0x2000 atomic=1\n"
		"end CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n");
	era_teardown(&f);
}

/* 2.6.33 (2.6.38's split_huge_page): pmdp_splitting_flush_notify under
 * page_table_lock, the PMD still huge; the pte table is then populated
 * with no notifier */
TEST(era_2_6_33_thp_split)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_thp_setup(&f, MMN_ERA_2_6_33, true));
	ASSERT_EQ(mmn_split_huge_pmd(f.mm, A + PG(3)), 0);
	EXPECT_LOG(&f, PAIR_2M("0", "1"));
	era_teardown(&f);
}

/* 2.6.33 khugepaged (2.6.38's collapse_huge_page): pmdp_clear_flush_notify
 * under page_table_lock, inside the anon_vma lock */
TEST(era_2_6_33_thp_collapse)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_thp_setup(&f, MMN_ERA_2_6_33, false));
	EXPECT_EQ(mmn_khugepaged_scan(f.mm), 1);
	EXPECT_LOG(&f, PAIR_2M("0", "1"));
	era_teardown(&f);
}

/* 2.6.33 huge COW (2.6.38's do_huge_pmd_wp_page): the whole huge page
 * copied first, then pmdp_clear_flush_notify under page_table_lock */
TEST(era_2_6_33_thp_cow)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_thp_setup(&f, MMN_ERA_2_6_33, true));
	do_cow(&f);
	EXPECT_LOG(&f, PAIR_2M("0", "1"));
	era_teardown(&f);
}

/* KSM on a pinned page: write_protect_page restores the original pte */
static void do_ksm_pinned(struct era_fix *f)
{
	struct page *pin;

	ASSERT_EQ(mmn_madvise(f->mm, A, PG(2), MADV_MERGEABLE), 0);
	mmn_ksm_scan();			/* checksums */
	mmap_read_lock(f->mm);
	ASSERT_EQ(get_user_pages_remote(f->mm, A + PG(1), 1, FOLL_WRITE, &pin,
					NULL), 1);
	mmap_read_unlock(f->mm);
	mmn_recorder_clear(f->rec);
	mmn_ksm_scan();			/* page 1's write-protect fails */
	put_page(pin);
}

/* 6.1: the restore is a plain set_pte_at: start, end (invalidate_range) */
TEST(era_6_1_ksm_pinned)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_6_1, 2, 0x5a5a, true));
	do_ksm_pinned(&f);
	EXPECT_LOG(&f,
		"start CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n"
		"invalidate_range [+0x1000,+0x2000) atomic=0\n"
		"end CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n");
	era_teardown(&f);
}

/* 2.6.33: set_pte_at_notify of the original pte: change_pte, PTL held */
TEST(era_2_6_33_ksm_pinned)
{
	struct era_fix f = { 0 };

	ASSERT_TRUE(era_setup(&f, MMN_ERA_2_6_33, 2, 0x5a5a, true));
	do_ksm_pinned(&f);
	EXPECT_LOG(&f, "change_pte +0x1000 atomic=1\n");
	era_teardown(&f);
}
