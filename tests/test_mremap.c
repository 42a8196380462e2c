// SPDX-License-Identifier: GPL-2.0
/*
 * mremap(): data moves with the ptes (present, swapped out, shared), the
 * checker's ghost moves with it, in-place grow and shrink, MREMAP_FIXED,
 * the notifier sequence (real 6.1: UNMAP of the old range from
 * move_page_tables, then UNMAP from do_munmap), and a correct driver.
 */
#include "harness.h"

#include <stdlib.h>

#include <mmn/device.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/recorder.h>

#include "check/check.h"
#include "mirrors/dmirror.h"
#include "mm/internal.h"

#include "mm_util.h"


/* grow with MAYMOVE past a neighbour: the pages move, the old range goes */
TEST(mremap_move_data)
{
	struct mm_struct *mm;
	unsigned long pfn;
	uint64_t v;
	long a, b, n;

	mmn_check_begin();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, 4 * PG, RW, PRIV);
	b = mmn_mmap(mm, a + 4 * PG, PG, RW, PRIV | MAP_FIXED);	/* blocks growth */
	ASSERT_EQ(b, a + 4 * (long)PG);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(mmn_store(mm, a + i * PG + 16, VAL_A + i), 0);
	ASSERT_EQ(mmn_pageout(mm, a + 3 * PG, PG), 0);		/* one swapped */
	pfn = pfn_at(mm, a);
	n = mmn_mremap(mm, a, 4 * PG, 8 * PG, MREMAP_MAYMOVE, 0);
	ASSERT_GT(n, 0);
	EXPECT_NE(n, a);
	EXPECT_EQ(pfn_at(mm, n), pfn);				/* the same frame */
	EXPECT_EQ(mmn_load(mm, a, &v), -EFAULT);
	EXPECT_EQ(mmn_check_audit(), 0);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(ld(mm, n + i * PG + 16), VAL_A + i);
	EXPECT_EQ(ld(mm, n + 6 * PG), 0);			/* the new part */
	ASSERT_EQ(mmn_store(mm, n + 7 * PG, VAL_B), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* rmap after the move: reclaim and fork still find the moved pages */
TEST(mremap_then_rmap)
{
	struct mm_struct *mm, *c;
	int err;
	long a, n;

	mmn_check_begin();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	ASSERT_EQ(mmn_store(mm, a, VAL_A), 0);
	ASSERT_EQ(mmn_store(mm, a + PG, VAL_B), 0);
	n = mmn_mremap(mm, a, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
		       0x200000000UL);
	ASSERT_EQ(n, 0x200000000L);
	EXPECT_EQ(mmn_reclaim(10), 2);
	EXPECT_EQ(ld(mm, n + PG), VAL_B);
	EXPECT_EQ(mmn_migrate_pages(mm, n, 2 * PG), 1);	/* one still swapped */
	EXPECT_EQ(ld(mm, n), VAL_A);
	EXPECT_EQ(mmn_migrate_pages(mm, n, 2 * PG), 2);
	c = mmn_fork(mm, &err);
	ASSERT_TRUE(c != NULL);
	EXPECT_EQ(ld(c, n), VAL_A);
	ASSERT_EQ(mmn_store(c, n, VAL_C), 0);
	EXPECT_EQ(ld(mm, n), VAL_A);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(c);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* grow in place and shrink: no pte moves */
TEST(mremap_in_place)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmn_recorder *rec;
	uint64_t v;
	long a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);

	ASSERT_EQ(mmn_store(mm, a, VAL_A), 0);
	/* the top-down allocator left room below only: unmap above first */
	ASSERT_EQ(mmn_munmap(mm, a + 2 * PG, 4 * PG), 0);
	rec = rec_on(mm, a, 0);
	EXPECT_EQ(mmn_mremap(mm, a, 2 * PG, 4 * PG, 0, 0), a);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	ASSERT_EQ(mmn_store(mm, a + 3 * PG, VAL_B), 0);
	EXPECT_EQ(mmn_mremap(mm, a, 4 * PG, PG, 0, 0), a);	/* munmap's UNMAP */
	ASSERT_STR_CONTAINS(rec_text(rec), "start UNMAP [+0x1000,+0x4000)");
	EXPECT_EQ(mmn_load(mm, a + 3 * PG, &v), -EFAULT);
	EXPECT_EQ(ld(mm, a), VAL_A);
	EXPECT_EQ(mmn_mremap(mm, a, PG, 2 * PG, MREMAP_FIXED, 0), -EINVAL);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* 6.12: UNMAP of the old range with the flush inside it, under the PT
 * locks; then do_munmap's UNMAP, with nothing left to flush */
TEST(notify_mremap_order)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	struct mmn_recorder *rec;
	long n;

	mmn_mmap(mm, a + 2 * PG, PG, RW, PRIV | MAP_FIXED);
	mmn_store(mm, a + PG, 1);
	rec = rec_on(mm, a, MMN_REC_TLBS);
	n = mmn_mremap(mm, a, 2 * PG, 4 * PG, MREMAP_MAYMOVE, 0);
	ASSERT_GT(n, 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start UNMAP [+0,+0x2000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0,+0x2000) atomic=1\n"
		"end UNMAP [+0,+0x2000) blk=1 atomic=0\n"
		"start UNMAP [+0,+0x2000) blk=1 atomic=0\n"
		"end UNMAP [+0,+0x2000) blk=1 atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 5);
	EXPECT_EQ(ld(mm, n + PG), 1);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* shared memory moves too; its location is the object's, not the address */
TEST(mremap_shared)
{
	struct mm_struct *mm, *c;
	int err;
	long a, n;

	mmn_check_begin();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, 2 * PG, RW, SHARED);
	ASSERT_EQ(mmn_store(mm, a + PG, VAL_A), 0);
	c = mmn_fork(mm, &err);
	ASSERT_TRUE(c != NULL);
	n = mmn_mremap(mm, a, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
		       0x300000000UL);
	ASSERT_EQ(n, 0x300000000L);
	ASSERT_EQ(mmn_store(c, a + PG, VAL_B), 0);
	EXPECT_EQ(ld(mm, n + PG), VAL_B);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(c);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* a correct driver follows the move */
TEST(mremap_dmirror_correct_silent)
{
	struct mmn_device *dev;
	struct mm_struct *mm;
	uint64_t v;
	int err;
	long a, n;

	mmn_check_begin();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev != NULL);
	v = VAL_A;
	ASSERT_EQ(mmn_device_access(dev, a, true, &v), 0);
	n = mmn_mremap(mm, a, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
		       0x400000000UL);
	ASSERT_EQ(n, 0x400000000L);
	EXPECT_NE(mmn_device_access(dev, a, false, &v), 0);
	ASSERT_EQ(mmn_device_access(dev, n, false, &v), 0);
	EXPECT_EQ(v, VAL_A);
	v = VAL_B;
	ASSERT_EQ(mmn_device_access(dev, n + 8, true, &v), 0);
	EXPECT_EQ(ld(mm, n + 8), VAL_B);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}
