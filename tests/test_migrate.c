// SPDX-License-Identifier: GPL-2.0
/*
 * CPU page migration (mmn_migrate_pages, move_pages to "the other node"):
 * data and sharing survive, pinned pages stay, swap-cache and shared-memory
 * pages move with their cache slot, the notifier sequence per page, a
 * stale device translation of the old frame, and a correct driver that
 * refaults after migration.
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


/* new frames; the child's mapping of a shared page moves too */
TEST(migrate_data_and_sharing)
{
	struct mm_struct *p, *c;
	unsigned long old0, old1;
	int err;
	long a;

	mmn_check_begin();
	p = mmn_mm_create();
	a = mmn_mmap(p, 0, 3 * PG, RW, PRIV);
	ASSERT_EQ(mmn_store(p, a, VAL_A), 0);
	ASSERT_EQ(mmn_store(p, a + PG, VAL_B), 0);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	old0 = pfn_at(p, a);
	old1 = pfn_at(p, a + PG);
	EXPECT_EQ(pfn_at(c, a), old0);
	EXPECT_EQ(mmn_migrate_pages(p, a, 3 * PG), 2);	/* the hole is skipped */
	EXPECT_NE(pfn_at(p, a), old0);
	EXPECT_NE(pfn_at(p, a + PG), old1);
	EXPECT_EQ(pfn_at(c, a), pfn_at(p, a));		/* still shared */
	EXPECT_EQ(ld(p, a), VAL_A);
	EXPECT_EQ(ld(c, a + PG), VAL_B);
	ASSERT_EQ(mmn_store(c, a, VAL_C), 0);		/* COW still works */
	EXPECT_EQ(ld(p, a), VAL_A);
	EXPECT_EQ(ld(c, a), VAL_C);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(c);
	mmn_exit(p);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* an exclusive writable page stays writable after migration */
TEST(migrate_keeps_writable)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, PG, RW, PRIV);
	bool w = false;

	ASSERT_EQ(mmn_store(mm, a, VAL_A), 0);
	EXPECT_EQ(mmn_migrate_pages(mm, a, PG), 1);
	ASSERT_EQ(mmn_follow_pte(mm, a, NULL, &w), 0);
	EXPECT_TRUE(w);
	EXPECT_EQ(ld(mm, a), VAL_A);
	mmn_exit(mm);
}

/* per page: CLEAR via try_to_migrate_one, flush under the PTL; the copy
 * and remove_migration_ptes add nothing */
TEST(notify_migrate_order)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	struct mmn_recorder *rec;

	mmn_store(mm, a, 1);
	mmn_store(mm, a + PG, 2);
	rec = rec_on(mm, a, MMN_REC_TLBS);
	EXPECT_EQ(mmn_migrate_pages(mm, a, 2 * PG), 2);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start CLEAR [+0,+0x1000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0,+0x1000) atomic=1\n"
		"end CLEAR [+0,+0x1000) blk=1 atomic=0\n"
		"start CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x1000,+0x2000) atomic=1\n"
		"end CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 6);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* an extra reference (a pin) makes the migration fail: the old page is
 * mapped back, nothing is copied or sealed */
TEST(migrate_pinned_page_stays)
{
	struct mm_struct *mm;
	struct page *page;
	unsigned long old;
	long a;

	mmn_check_begin();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, PG, RW, PRIV);
	ASSERT_EQ(mmn_store(mm, a, VAL_A), 0);
	old = pfn_at(mm, a);
	page = pfn_to_page(old);
	get_page(page);
	EXPECT_EQ(mmn_migrate_pages(mm, a, PG), 0);
	EXPECT_EQ(pfn_at(mm, a), old);
	EXPECT_EQ(ld(mm, a), VAL_A);
	ASSERT_EQ(mmn_store(mm, a, VAL_B), 0);	/* still writable, exclusive */
	put_page(page);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
}

/* swap-cache pages move with their slot; shared memory with its cache */
TEST(migrate_swapcache_and_shmem)
{
	struct mm_struct *p, *c;
	unsigned long old;
	int err;
	long a, s;

	mmn_check_begin();
	p = mmn_mm_create();
	a = mmn_mmap(p, 0, PG, RW, PRIV);
	s = mmn_mmap(p, 0, PG, RW, SHARED);
	ASSERT_EQ(mmn_store(p, a, VAL_A), 0);
	ASSERT_EQ(mmn_store(p, s, VAL_B), 0);
	ASSERT_EQ(mmn_pageout(p, a, PG), 0);
	EXPECT_EQ(ld(p, a), VAL_A);			/* in the swap cache */
	EXPECT_EQ(stats().swap_cache_pages, 1);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	old = pfn_at(p, s);
	EXPECT_EQ(mmn_migrate_pages(p, a, PG), 1);
	EXPECT_EQ(mmn_migrate_pages(p, s, PG), 1);
	EXPECT_NE(pfn_at(p, s), old);
	EXPECT_EQ(stats().swap_cache_pages, 1);
	EXPECT_EQ(ld(p, a), VAL_A);
	EXPECT_EQ(ld(c, s), VAL_B);			/* the child refaults */
	EXPECT_EQ(pfn_at(c, s), pfn_at(p, s));
	ASSERT_EQ(mmn_store(c, s, VAL_C), 0);
	EXPECT_EQ(ld(p, s), VAL_C);
	ASSERT_EQ(mmn_pageout(p, a, PG), 0);		/* shared: skipped */
	EXPECT_EQ(mmn_reclaim(10), 1);
	EXPECT_EQ(ld(c, a), VAL_A);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(c);
	mmn_exit(p);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* a translation of the old frame used after migration: the frame is gone */
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

TEST(migrate_stale_translation)
{
	struct mmu_notifier mn = { .ops = &nop_ops };
	struct mmn_device *dev;
	struct mm_struct *mm;
	struct mmn_spte sp;
	int err;
	long a;

	mmn_check_begin();
	harness_expect_violations();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, PG, RW, PRIV);
	ASSERT_EQ(mmn_store(mm, a, VAL_A), 0);
	dev = mmn_device_create(&raw_dev_ops, mm, "raw", &err);
	ASSERT_TRUE(dev != NULL);
	ASSERT_EQ(mmu_notifier_register(&mn, mm), 0);
	mmn_device_track(dev, &mn);
	mmn_spte_make(dev, &sp, a, pfn_to_page(pfn_at(mm, a)), true, 0);
	EXPECT_EQ(mmn_migrate_pages(mm, a, PG), 1);
	ASSERT_EQ(mmn_dev_write(dev, &sp, a, VAL_C), 0);
	EXPECT_GE(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE) +
		  mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	EXPECT_EQ(ld(mm, a), VAL_A);		/* the write went nowhere */
	EXPECT_EQ(mmn_check_audit(), 0);
	mmu_notifier_unregister(&mn, mm);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
}

/* a correct driver refaults after the migration: silent */
TEST(migrate_dmirror_correct_silent)
{
	struct mmn_device *dev;
	struct mm_struct *mm;
	uint64_t v;
	int err;
	long a;

	mmn_check_begin();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev != NULL);
	v = VAL_A;
	ASSERT_EQ(mmn_device_access(dev, a, true, &v), 0);
	EXPECT_EQ(mmn_migrate_pages(mm, a, 2 * PG), 1);
	v = VAL_B;
	ASSERT_EQ(mmn_device_access(dev, a + 8, true, &v), 0);
	ASSERT_EQ(mmn_device_access(dev, a, false, &v), 0);
	EXPECT_EQ(v, VAL_A);
	EXPECT_EQ(ld(mm, a + 8), VAL_B);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* a fault on a migration entry waits for the migration to finish: seen
 * from inside the migration's own range_end, the pte is an entry */
struct peek {
	struct mmu_notifier mn;
	struct mm_struct *mm;
	unsigned long va;
	int entries;
};

static void peek_end(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	struct peek *pk = container_of(mn, struct peek, mn);
	unsigned long slot;

	/* not present for the MMU, and not a swap slot: a migration entry */
	if (mmn_follow_pte(pk->mm, pk->va, NULL, NULL) == -ENOENT &&
	    mmn_swap_info(pk->mm, pk->va, &slot, NULL) == -ENOENT)
		pk->entries++;
}

static const struct mmu_notifier_ops peek_ops = { .invalidate_range_end = peek_end };

TEST(migrate_entry_during_migration)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, PG, RW, PRIV);
	struct peek pk = { .mn.ops = &peek_ops, .mm = mm, .va = a };

	ASSERT_EQ(mmn_store(mm, a, VAL_A), 0);
	ASSERT_EQ(mmu_notifier_register(&pk.mn, mm), 0);
	EXPECT_EQ(mmn_migrate_pages(mm, a, PG), 1);
	EXPECT_EQ(pk.entries, 1);
	EXPECT_EQ(ld(mm, a), VAL_A);
	mmu_notifier_unregister(&pk.mn, mm);
	mmn_exit(mm);
}
