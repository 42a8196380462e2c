// SPDX-License-Identifier: GPL-2.0
/*
 * Regular files: the page cache behind read/write and MAP_SHARED file
 * mappings, truncate (then re-extend: zeros), hole punch, SIGBUS beyond
 * EOF, two processes sharing a file, the notifier sequences of truncate
 * and punch (real 6.1: CLEAR 0x6000 twice for 8 -> 2 pages, CLEAR 0x1000
 * for a punched page), a correct driver across truncate, accounting.
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


static struct file *mkfile(unsigned long size)
{
	int err;

	return mmn_file_create(size, &err);
}

/* read/write and the mapping see the same page cache */
TEST(file_rw_and_mmap)
{
	struct mmn_mem_stats base = stats();
	struct mm_struct *mm;
	struct file *f;
	uint64_t v;
	long a;

	mmn_check_begin();
	f = mkfile(4 * PG);
	ASSERT_TRUE(f != NULL);
	EXPECT_EQ(mmn_file_size(f), 4 * PG);
	ASSERT_EQ(mmn_file_write(f, PG + 8, VAL_A), 0);
	EXPECT_EQ(stats().file_pages, base.file_pages + 1);
	ASSERT_EQ(mmn_file_read(f, 2 * PG, &v), 0);	/* a hole */
	EXPECT_EQ(v, 0);
	EXPECT_EQ(stats().file_pages, base.file_pages + 1);
	mm = mmn_mm_create();
	a = mmn_mmap_file(mm, 0, 4 * PG, RW, MAP_SHARED, f, 0);
	ASSERT_GT(a, 0);
	EXPECT_EQ(mmn_mmap_file(mm, 0, PG, RW, MAP_PRIVATE, f, 0), -EINVAL);
	EXPECT_EQ(ld(mm, a + PG + 8), VAL_A);
	ASSERT_EQ(mmn_store(mm, a + 3 * PG, VAL_B), 0);
	ASSERT_EQ(mmn_file_read(f, 3 * PG, &v), 0);
	EXPECT_EQ(v, VAL_B);
	EXPECT_EQ(mmn_file_read(f, 4 * PG, &v), -ENXIO);
	EXPECT_EQ(mmn_file_write(f, 3, 1), -EINVAL);
	/* a mapping at an offset */
	EXPECT_GT(mmn_mmap_file(mm, 0x100000000UL, PG, PROT_READ,
				MAP_SHARED | MAP_FIXED, f, 3), 0);
	EXPECT_EQ(ld(mm, 0x100000000UL), VAL_B);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_file_close(f);		/* the mappings keep it */
	EXPECT_EQ(ld(mm, a + 3 * PG), VAL_B);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* truncate drops the pages beyond, SIGBUS there; re-extending reads zeros */
TEST(file_truncate_then_extend)
{
	struct mm_struct *mm;
	struct file *f;
	uint64_t v;
	long a;

	mmn_check_begin();
	f = mkfile(8 * PG);
	mm = mmn_mm_create();
	a = mmn_mmap_file(mm, 0, 8 * PG, RW, MAP_SHARED, f, 0);
	ASSERT_GT(a, 0);
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(mmn_store(mm, a + i * PG, VAL_A + i), 0);
	ASSERT_EQ(mmn_file_truncate(f, 2 * PG), 0);
	EXPECT_EQ(stats().file_pages, 2);
	EXPECT_EQ(mmn_load(mm, a + 2 * PG, &v), -EFAULT);	/* SIGBUS */
	EXPECT_EQ(mmn_store(mm, a + 7 * PG, 1), -EFAULT);
	EXPECT_EQ(ld(mm, a + PG), VAL_A + 1);
	EXPECT_EQ(mmn_check_audit(), 0);
	ASSERT_EQ(mmn_file_truncate(f, 8 * PG), 0);
	EXPECT_EQ(ld(mm, a + 5 * PG), 0);
	ASSERT_EQ(mmn_file_read(f, 7 * PG, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(ld(mm, a), VAL_A);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_file_close(f);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* a partial last page keeps its head and is zeroed beyond the new size */
TEST(file_truncate_partial_page)
{
	struct mm_struct *mm;
	struct file *f;
	long a;

	mmn_check_begin();
	f = mkfile(2 * PG);
	mm = mmn_mm_create();
	a = mmn_mmap_file(mm, 0, 2 * PG, RW, MAP_SHARED, f, 0);
	ASSERT_EQ(mmn_store(mm, a + PG, VAL_A), 0);
	ASSERT_EQ(mmn_store(mm, a + PG + 8, VAL_B), 0);
	ASSERT_EQ(mmn_file_truncate(f, PG + 8), 0);
	EXPECT_EQ(ld(mm, a + PG), VAL_A);
	EXPECT_EQ(ld(mm, a + PG + 8), 0);
	EXPECT_EQ(mmn_file_truncate(f, 5), -EINVAL);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_file_close(f);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* hole punch: whole pages go (zeros), partial edges are zeroed, size kept */
TEST(file_punch_hole)
{
	struct mm_struct *mm;
	struct file *f;
	uint64_t v;
	long a;

	mmn_check_begin();
	f = mkfile(4 * PG);
	mm = mmn_mm_create();
	a = mmn_mmap_file(mm, 0, 4 * PG, RW, MAP_SHARED, f, 0);
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(mmn_store(mm, a + i * PG, VAL_A + i), 0);
		ASSERT_EQ(mmn_store(mm, a + i * PG + PG - 8, VAL_B + i), 0);
	}
	ASSERT_EQ(mmn_file_punch_hole(f, PG - 8, 2 * PG + 16), 0);
	EXPECT_EQ(mmn_file_size(f), 4 * PG);
	EXPECT_EQ(stats().file_pages, 2);
	EXPECT_EQ(ld(mm, a), VAL_A);
	EXPECT_EQ(ld(mm, a + PG - 8), 0);		/* partial head */
	EXPECT_EQ(ld(mm, a + PG), 0);
	EXPECT_EQ(ld(mm, a + 2 * PG), 0);
	EXPECT_EQ(ld(mm, a + 3 * PG), 0);		/* partial tail */
	EXPECT_EQ(ld(mm, a + 3 * PG + 8), 0);
	EXPECT_EQ(ld(mm, a + 3 * PG + PG - 8), VAL_B + 3);
	ASSERT_EQ(mmn_file_read(f, 2 * PG + 8, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_file_close(f);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ftruncate 8 -> 2 pages: two unmap passes, CLEAR of 0x6000 each; the
 * first zaps dirty shared ptes, so it flushes under the PTL, inside */
TEST(notify_truncate_order)
{
	struct mm_struct *mm = mmn_mm_create();
	struct file *f = mkfile(8 * PG);
	long a = mmn_mmap_file(mm, 0, 8 * PG, RW, MAP_SHARED, f, 0);
	struct mmn_recorder *rec;

	for (int i = 0; i < 8; i++)
		mmn_store(mm, a + i * PG, i);
	rec = rec_on(mm, a, MMN_REC_TLBS);
	ASSERT_EQ(mmn_recorder_add_interval(rec, a, 16 * PG), 0);
	ASSERT_EQ(mmn_file_truncate(f, 2 * PG), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"interval CLEAR [+0x2000,+0x8000) blk=1");
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start CLEAR [+0x2000,+0x8000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x2000,+0x8000) atomic=1\n"
		"end CLEAR [+0x2000,+0x8000) blk=1 atomic=0\n");
	ASSERT_STR_CONTAINS(strstr(rec_text(rec), "arch_invalidate"),
		"start CLEAR [+0x2000,+0x8000) blk=1 atomic=0\n"
		"end CLEAR [+0x2000,+0x8000) blk=1 atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 7);
	mmn_recorder_remove_interval(rec);
	mmn_exit(mm);
	mmn_file_close(f);
	mmn_recorder_destroy(rec);
}

/* punch one page: one CLEAR of 0x1000 */
TEST(notify_punch_hole_order)
{
	struct mm_struct *mm = mmn_mm_create();
	struct file *f = mkfile(4 * PG);
	long a = mmn_mmap_file(mm, 0, 4 * PG, RW, MAP_SHARED, f, 0);
	struct mmn_recorder *rec;

	mmn_store(mm, a + 2 * PG, 1);
	rec = rec_on(mm, a, MMN_REC_TLBS);
	ASSERT_EQ(mmn_file_punch_hole(f, 2 * PG, PG), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x2000,+0x3000) atomic=1\n"
		"end CLEAR [+0x2000,+0x3000) blk=1 atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 3);
	mmn_exit(mm);
	mmn_file_close(f);
	mmn_recorder_destroy(rec);
}

/* two processes map the file; truncate unmaps both; fork shares it too */
TEST(file_shared_by_two_mms)
{
	struct mm_struct *m1, *m2, *c;
	struct file *f;
	int err;
	long a, b;

	mmn_check_begin();
	f = mkfile(2 * PG);
	m1 = mmn_mm_create();
	m2 = mmn_mm_create();
	a = mmn_mmap_file(m1, 0, 2 * PG, RW, MAP_SHARED, f, 0);
	b = mmn_mmap_file(m2, 0, 2 * PG, RW, MAP_SHARED, f, 0);
	ASSERT_EQ(mmn_store(m1, a + PG, VAL_A), 0);
	EXPECT_EQ(ld(m2, b + PG), VAL_A);
	c = mmn_fork(m2, &err);
	ASSERT_TRUE(c != NULL);
	ASSERT_EQ(mmn_store(c, b + PG, VAL_B), 0);
	EXPECT_EQ(ld(m1, a + PG), VAL_B);
	ASSERT_EQ(mmn_file_truncate(f, PG), 0);
	EXPECT_EQ(mmn_follow_pte(m1, a + PG, NULL, NULL), -ENOENT);
	EXPECT_EQ(mmn_follow_pte(c, b + PG, NULL, NULL), -ENOENT);
	ASSERT_EQ(mmn_file_truncate(f, 2 * PG), 0);
	EXPECT_EQ(ld(c, b + PG), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_file_close(f);
	mmn_exit(c);
	mmn_exit(m1);
	mmn_exit(m2);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* a correct driver reads a file page, truncate + extend, reads zero */
TEST(file_dmirror_truncate_silent)
{
	struct mmn_device *dev;
	struct mm_struct *mm;
	struct file *f;
	uint64_t v;
	int err;
	long a;

	mmn_check_begin();
	f = mkfile(2 * PG);
	mm = mmn_mm_create();
	a = mmn_mmap_file(mm, 0, 2 * PG, RW, MAP_SHARED, f, 0);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev != NULL);
	ASSERT_EQ(mmn_file_write(f, PG, VAL_A), 0);
	ASSERT_EQ(mmn_device_access(dev, a + PG, false, &v), 0);
	EXPECT_EQ(v, VAL_A);
	v = VAL_B;
	ASSERT_EQ(mmn_device_access(dev, a + PG + 8, true, &v), 0);
	ASSERT_EQ(mmn_file_truncate(f, PG), 0);
	EXPECT_NE(mmn_device_access(dev, a + PG, false, &v), 0);	/* SIGBUS */
	ASSERT_EQ(mmn_file_truncate(f, 2 * PG), 0);
	ASSERT_EQ(mmn_device_access(dev, a + PG + 8, false, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_file_close(f);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* a stale translation of a truncated page: its frame is freed */
static int nop_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	return 0;
}

static const struct mmu_notifier_ops nop_ops = { .invalidate_range_start = nop_start };

static int raw_dma(struct mmn_device *dev, unsigned long va, bool write, uint64_t *val)
{
	return -ENOENT;
}

static int raw_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	return -EFAULT;
}

static const struct mmn_device_ops raw_dev_ops = {
	.name = "raw", .dma = raw_dma, .fault = raw_fault,
};

TEST(file_truncate_stale_translation)
{
	struct mmu_notifier mn = { .ops = &nop_ops };
	struct mmn_device *dev;
	struct mm_struct *mm;
	struct mmn_spte sp;
	struct file *f;
	int err;
	long a;

	mmn_check_begin();
	harness_expect_violations();
	f = mkfile(2 * PG);
	mm = mmn_mm_create();
	a = mmn_mmap_file(mm, 0, 2 * PG, RW, MAP_SHARED, f, 0);
	ASSERT_EQ(mmn_store(mm, a + PG, VAL_A), 0);
	dev = mmn_device_create(&raw_dev_ops, mm, "raw", &err);
	ASSERT_TRUE(dev != NULL);
	ASSERT_EQ(mmu_notifier_register(&mn, mm), 0);
	mmn_device_track(dev, &mn);
	mmn_spte_make(dev, &sp, a + PG, pfn_to_page(pfn_at(mm, a + PG)), true, 0);
	ASSERT_EQ(mmn_file_truncate(f, PG), 0);
	ASSERT_EQ(mmn_dev_write(dev, &sp, a + PG, VAL_C), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	ASSERT_EQ(mmn_file_truncate(f, 2 * PG), 0);
	EXPECT_EQ(ld(mm, a + PG), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmu_notifier_unregister(&mn, mm);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_file_close(f);
	mmn_check_end();
}
