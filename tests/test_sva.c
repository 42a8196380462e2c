// SPDX-License-Identifier: GPL-2.0
/*
 * sva (src/mirrors/sva.c), deterministic: one task, sequential steps.
 * The correct form (IOTLB purged by arch_invalidate_secondary_tlbs) stays
 * silent through fork/COW, munmap, mprotect and DONTNEED, including the
 * legal window between mprotect's pte change and its flush after
 * range_end.  flush-in-end is caught: an IOTLB hit after its range_start
 * contract point and before its range_end purge, after a COW, a munmap,
 * a DONTNEED and an mprotect, is access-after-invalidate.  The hit is made
 * from a notifier registered after the device, so that its range_end runs
 * before the device's.
 */
#include "harness.h"

#include <mmn/device.h>
#include <mmn/linux/mmu_notifier.h>

#include "check/check.h"
#include "mirrors/sva.h"

#ifndef EXPECT_GE
#define EXPECT_GE(a, b) __H_CMP(0, a, >=, b)
#define EXPECT_GT(a, b) __H_CMP(0, a, >, b)
#endif

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)

#define VAL_A	0xaaaa0001ULL
#define VAL_B	0xbbbb0002ULL
#define VAL_C	0xcccc0003ULL
#define VAL_D	0xdddd0004ULL

struct rig {
	struct mm_struct *mm, *child;
	struct mmn_device *dev;
	unsigned long va;
	/* an IOTLB access from inside the primary's range_end */
	struct mmu_notifier mn;
	int event;			/* -1: none */
	bool write;
	int ret, calls;
	uint64_t val;
};

static void probe_end(struct mmu_notifier *mn,
		      const struct mmu_notifier_range *range)
{
	struct rig *g = container_of(mn, struct rig, mn);

	if ((int)range->event != g->event)
		return;
	g->calls++;
	/* the hardware: IOTLB hit or walk, never a page request here */
	g->ret = g->dev->ops->dma(g->dev, g->va, g->write, &g->val);
}

static int probe_start(struct mmu_notifier *mn,
		       const struct mmu_notifier_range *range)
{
	return 0;
}

static const struct mmu_notifier_ops probe_ops = {
	.invalidate_range_start = probe_start,
	.invalidate_range_end = probe_end,
};

static int rig_init(struct rig *g, const char *form)
{
	int err;

	memset(g, 0, sizeof(*g));
	g->event = -1;
	mmn_check_begin();
	g->mm = mmn_mm_create();
	g->va = mmn_mmap(g->mm, 0, 8 * PG, RW, PRIV);
	if ((long)g->va < 0)
		return (int)g->va;
	g->dev = mmn_device_create(mmn_driver_sva.ops, g->mm, form, &err);
	if (!g->dev)
		return err;
	/* registered after the device: its end runs before the device's */
	g->mn.ops = &probe_ops;
	return mmu_notifier_register(&g->mn, g->mm);
}

static unsigned long rig_fini(struct rig *g)
{
	unsigned long mismatches = mmn_check_audit();

	mmu_notifier_unregister(&g->mn, g->mm);
	mmn_device_destroy(g->dev);
	if (g->child)
		mmn_exit(g->child);
	mmn_exit(g->mm);
	mmn_check_end();
	return mismatches;
}

static int dev_rd(struct rig *g, unsigned long va, uint64_t *v)
{
	return mmn_device_access(g->dev, va, false, v);
}

static int dev_wr(struct rig *g, unsigned long va, uint64_t v)
{
	return mmn_device_access(g->dev, va, true, &v);
}

/* the correct form through every primary operation: not one report */
TEST(correct_silent_fork_cow_munmap_mprotect_dontneed)
{
	struct rig g;
	uint64_t v;
	int err;

	ASSERT_EQ(rig_init(&g, "correct"), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, VAL_A);
	ASSERT_EQ(dev_wr(&g, g.va, VAL_B), 0);
	EXPECT_GT(sva_iotlb_used(g.dev), 0);
	g.child = mmn_fork(g.mm, &err);
	ASSERT_TRUE(g.child);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_C), 0);	/* COW */
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	ASSERT_EQ(dev_wr(&g, g.va, VAL_D), 0);
	ASSERT_EQ(mmn_load(g.mm, g.va, &v), 0);
	EXPECT_EQ(v, VAL_D);
	ASSERT_EQ(mmn_load(g.child, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, PG, PROT_READ), 0);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, VAL_D);
	EXPECT_EQ(dev_wr(&g, g.va, VAL_A), -EFAULT);
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, PG, RW), 0);
	ASSERT_EQ(dev_wr(&g, g.va + PG, VAL_A), 0);
	ASSERT_EQ(mmn_madvise(g.mm, g.va + PG, PG, MADV_DONTNEED), 0);
	ASSERT_EQ(dev_rd(&g, g.va + PG, &v), 0);
	EXPECT_EQ(v, 0);
	ASSERT_EQ(dev_wr(&g, g.va + 2 * PG, VAL_A), 0);
	ASSERT_EQ(mmn_munmap(g.mm, g.va + 2 * PG, PG), 0);
	EXPECT_EQ(dev_rd(&g, g.va + 2 * PG, &v), -EFAULT);
	EXPECT_GT(sva_flushes(g.dev), 0);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/*
 * The legal window: mprotect write-protects the pte under the PTL and
 * flushes after range_end.  A device write through the IOTLB's writable
 * entry in between happens before the device's contract point: silent.
 */
/*
 * A read-only IOTLB entry whose pte the primary upgrades in place, with no
 * flush (the child exits; the parent's write fault reuses the page:
 * wp_page_reuse, x86 flushes nobody for an upgrade).  The device's write
 * hits the read-only entry: the IOMMU walks again before faulting, as the
 * CPU does, and the write goes through -- before, it faulted forever (a
 * livelock seen under ASan in test_sva_mt, 6 runs in 40).
 */
TEST(correct_readonly_entry_upgraded_in_place)
{
	struct rig g;
	uint64_t v;
	int err;

	ASSERT_EQ(rig_init(&g, "correct"), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	g.child = mmn_fork(g.mm, &err);
	ASSERT_TRUE(g.child);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);		/* caches it read-only */
	EXPECT_EQ(v, VAL_A);
	mmn_exit(g.child);
	g.child = NULL;
	ASSERT_EQ(dev_wr(&g, g.va, VAL_B), 0);		/* GUP reuses, in place */
	ASSERT_EQ(mmn_load(g.mm, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

TEST(correct_iotlb_hit_before_flush_is_legal)
{
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g, "correct"), 0);
	ASSERT_EQ(dev_wr(&g, g.va, VAL_A), 0);
	g.event = MMU_NOTIFY_PROTECTION_VMA;
	g.write = true;
	g.val = VAL_B;
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, PG, PROT_READ), 0);
	EXPECT_EQ(g.calls, 1);
	EXPECT_EQ(g.ret, 0);			/* hit: not flushed yet */
	ASSERT_EQ(mmn_load(g.mm, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	EXPECT_EQ(sva_iotlb_used(g.dev), 0);	/* the flush after end */
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* near miss: the correct form's IOTLB was purged at the COW's pte switch
 * (under the PT lock): the access in range_end walks to the new frame */
TEST(correct_cow_purged_at_pte_switch)
{
	struct rig g;
	uint64_t v;
	int err;

	ASSERT_EQ(rig_init(&g, "correct"), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	g.child = mmn_fork(g.mm, &err);
	ASSERT_TRUE(g.child);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);		/* read-only entry */
	g.event = MMU_NOTIFY_CLEAR;
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_C), 0);	/* COW */
	EXPECT_EQ(g.calls, 1);
	EXPECT_EQ(g.ret, 0);
	EXPECT_EQ(g.val, VAL_A);	/* the copy, before the store lands */
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* flush-in-end after a COW: the old frame is still in the IOTLB */
TEST(flush_in_end_cow_caught)
{
	struct rig g;
	const char *t;
	uint64_t v;
	int err;

	ASSERT_EQ(rig_init(&g, "flush-in-end"), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	g.child = mmn_fork(g.mm, &err);
	ASSERT_TRUE(g.child);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	g.event = MMU_NOTIFY_CLEAR;
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_C), 0);
	EXPECT_EQ(g.ret, 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	t = harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE);
	ASSERT_STR_CONTAINS(t, "access-after-invalidate in sva (form flush-in-end)");
	ASSERT_STR_CONTAINS(t, "invalidate_range_start CLEAR");
	rig_fini(&g);
}

/* flush-in-end after munmap: the frame is on its way out */
TEST(flush_in_end_munmap_caught)
{
	struct rig g;

	ASSERT_EQ(rig_init(&g, "flush-in-end"), 0);
	harness_expect_violations();
	ASSERT_EQ(dev_wr(&g, g.va, VAL_A), 0);
	g.event = MMU_NOTIFY_UNMAP;
	ASSERT_EQ(mmn_munmap(g.mm, g.va, PG), 0);
	EXPECT_EQ(g.calls, 1);
	EXPECT_EQ(g.ret, 0);
	EXPECT_EQ(g.val, VAL_A);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "invalidate_range_start UNMAP");
	rig_fini(&g);
}

/* flush-in-end after DONTNEED: a write to the zapped frame */
TEST(flush_in_end_dontneed_caught)
{
	struct rig g;

	ASSERT_EQ(rig_init(&g, "flush-in-end"), 0);
	harness_expect_violations();
	ASSERT_EQ(dev_wr(&g, g.va, VAL_B), 0);
	g.event = MMU_NOTIFY_CLEAR;
	g.write = true;
	g.val = VAL_C;
	ASSERT_EQ(mmn_madvise(g.mm, g.va, PG, MADV_DONTNEED), 0);
	EXPECT_EQ(g.calls, 1);
	EXPECT_EQ(g.ret, 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	rig_fini(&g);
}

/* flush-in-end and mprotect: a write after the protection change's
 * contract point -- the same access the correct form may make */
TEST(flush_in_end_mprotect_write_caught)
{
	struct rig g;

	ASSERT_EQ(rig_init(&g, "flush-in-end"), 0);
	harness_expect_violations();
	ASSERT_EQ(dev_wr(&g, g.va, VAL_A), 0);
	g.event = MMU_NOTIFY_PROTECTION_VMA;
	g.write = true;
	g.val = VAL_B;
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, PG, PROT_READ), 0);
	EXPECT_EQ(g.ret, 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "a write through a translation made before the contract point of a protection change");
	rig_fini(&g);
}

/* era 6.1: the same driver through ->invalidate_range, silent */
TEST(correct_silent_era_6_1)
{
	struct rig g;
	uint64_t v;
	int err;

	mmn_era = MMN_ERA_6_1;
	ASSERT_EQ(rig_init(&g, "correct"), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(dev_wr(&g, g.va, VAL_B), 0);
	g.child = mmn_fork(g.mm, &err);
	ASSERT_TRUE(g.child);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_C), 0);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	ASSERT_EQ(mmn_madvise(g.mm, g.va, PG, MADV_DONTNEED), 0);
	ASSERT_EQ(dev_rd(&g, g.va, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_GT(sva_flushes(g.dev), 0);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
	mmn_era = MMN_ERA_6_12;
}

/* 2.6.33 had no SVA: binding fails cleanly */
TEST(no_sva_in_2_6_33)
{
	struct mm_struct *mm;
	int err = 0;

	mmn_era = MMN_ERA_2_6_33;
	mm = mmn_mm_create();
	EXPECT_FALSE(mmn_device_create(mmn_driver_sva.ops, mm, "correct", &err));
	EXPECT_EQ(err, -EOPNOTSUPP);
	mmn_exit(mm);
	mmn_era = MMN_ERA_6_12;
}
