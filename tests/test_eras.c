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
