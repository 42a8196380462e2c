// SPDX-License-Identifier: GPL-2.0
/*
 * kvm's 2 MiB sptes (host_pfn_mapping_level, kvm_mmu_hugepage_adjust) and
 * the huge-partial form, single task, with the checker on:
 *
 *  1. correct kvm maps a THP (a huge PMD of the primary) with one order-9
 *     spte; DMA through it reaches each 4 KiB subframe, and the ghost
 *     memory agrees with what the CPU reads; a page the primary maps with
 *     ptes gets 4 KiB sptes; aging sees and clears the huge spte;
 *  2. every invalidation that touches a huge spte drops it whole (correct):
 *     fork, split, mprotect, DONTNEED of one page -- zero reports, audit
 *     clean;
 *  3. huge-partial keeps 511 of the 512 pages after such an invalidation
 *     and the checker reports it: fork (a write into the frame the child
 *     shares), split (CLEAR), mprotect (a write after a protection change),
 *     a zap of the whole THP (use-after-free);
 *  4. the checker's side of order-9 translations, with a raw device: a
 *     2 MiB translation is stale at birth if any of its frames is, and
 *     mmn_spte_split() keeps the birth and the frames' generations.
 */
#include "harness.h"

#include <stdlib.h>

#include <mmn/device.h>
#include <mmn/linux/mmu_notifier.h>

#include "check/check.h"
#include "mirrors/kvm.h"

#define PG	PAGE_SIZE
#define HP	PMD_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)
#define BASE	0x40000000UL	/* 2 MiB aligned */
#define EXPECT_GE(a, b) __H_CMP(0, a, >=, b)

static uint64_t ld(struct mm_struct *mm, unsigned long va)
{
	uint64_t v = 0xdeadbeef;

	if (mmn_load(mm, va, &v))
		return 0xbad;
	return v;
}

static unsigned long pfn_at(struct mm_struct *mm, unsigned long va)
{
	unsigned long pfn;

	if (mmn_follow_pte(mm, va, &pfn, NULL))
		return ~0UL;
	return pfn;
}

/* A process with a THP-eligible (MADV_HUGEPAGE) private area at BASE. */
static struct mm_struct *thp_mm(unsigned long len)
{
	struct mm_struct *mm = mmn_mm_create();

	if (!mm)
		return NULL;
	if (mmn_mmap(mm, BASE, len, RW, PRIV | MAP_FIXED) != (long)BASE ||
	    mmn_madvise(mm, BASE, len, MADV_HUGEPAGE)) {
		mmn_exit(mm);
		return NULL;
	}
	return mm;
}

static uint64_t dev_rd(struct mmn_device *dev, unsigned long va)
{
	uint64_t v = 0xdeadbeef;

	if (mmn_device_access(dev, va, false, &v))
		return 0xbad;
	return v;
}

static int dev_wr(struct mmn_device *dev, unsigned long va, uint64_t v)
{
	return mmn_device_access(dev, va, true, &v);
}

/* The order of the spte translating @va, -1 if none. */
static int spte_order(struct mmn_device *dev, unsigned long va)
{
	struct mmn_spte s;

	return kvm_spte_lookup(dev, va, &s) ? -1 : s.order;
}

/* ------------------------------------------------------------------ */
/* 1. Correct kvm: one order-9 spte over a THP.                         */

TEST(kvm_huge_spte_maps_thp)
{
	struct mm_struct *mm;
	struct mmn_device *dev;
	struct mmn_spte s;
	unsigned long head;
	int err;

	mmn_check_begin();
	mm = thp_mm(HP);
	ASSERT_TRUE(mm);
	dev = mmn_device_create(mmn_driver_kvm.ops, mm, "correct", &err);
	ASSERT_TRUE(dev);

	/* the device's write fault faults the THP in (GUP: a huge fault) */
	ASSERT_EQ(dev_wr(dev, BASE + 3 * PG + 16, 0xd3), 0);
	ASSERT_EQ(kvm_spte_lookup(dev, BASE + 3 * PG, &s), 0);
	EXPECT_EQ(s.order, HPAGE_PMD_ORDER);
	EXPECT_EQ(s.va, BASE);
	EXPECT_TRUE(s.writable);
	head = pfn_at(mm, BASE);
	EXPECT_EQ(s.pfn, head);
	EXPECT_EQ(pfn_at(mm, BASE + 3 * PG), head + 3);
	EXPECT_FALSE(s.stale_at_birth);
	EXPECT_EQ(spte_order(dev, BASE + 511 * PG), HPAGE_PMD_ORDER);
	/* one spte covers all 512 pages: no other fault */
	EXPECT_EQ(dev->faults, 1);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 37)
		ASSERT_EQ(dev_wr(dev, BASE + i * PG + 8, 0x1000 + i), 0);
	ASSERT_EQ(dev_wr(dev, BASE + 511 * PG + 4088, 0x1fff), 0);
	EXPECT_EQ(dev->faults, 1);

	/* the CPU reads each subframe's value where the device wrote it */
	EXPECT_EQ(ld(mm, BASE + 3 * PG + 16), 0xd3);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 37)
		EXPECT_EQ(ld(mm, BASE + i * PG + 8), 0x1000 + i);
	EXPECT_EQ(ld(mm, BASE + 511 * PG + 4088), 0x1fff);
	/* ... and the device reads the CPU's */
	ASSERT_EQ(mmn_store(mm, BASE + 200 * PG + 24, 0xc200), 0);
	EXPECT_EQ(dev_rd(dev, BASE + 200 * PG + 24), 0xc200);
	EXPECT_EQ(dev_rd(dev, BASE + 37 * PG + 8), 0x1000 + 37);
	EXPECT_EQ(dev_rd(dev, BASE + 38 * PG + 8), 0);
	EXPECT_EQ(dev->faults, 1);

	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* fork + COW through a huge spte                                       */

struct fork_result {
	uint64_t parent9, child9, parent7, child7;
	unsigned long audit;
	int order_after_fork;		/* spte order at A[9] after fork */
};

/*
 * The device writes A[3] (a 2 MiB spte), the parent forks (PROTECTION_PAGE
 * over the whole VMA: the PMD read-only in both), the device writes A[9],
 * the parent writes A[7] (huge COW: split, then a 4 KiB copy), the device
 * writes A[7]+8 and reads A[9].
 */
static void fork_run(const char *form, struct fork_result *r)
{
	struct mm_struct *mm, *child;
	struct mmn_device *dev;
	int err;

	mmn_check_begin();
	mm = thp_mm(HP);
	ASSERT_TRUE(mm);
	dev = mmn_device_create(mmn_driver_kvm.ops, mm, form, &err);
	ASSERT_TRUE(dev);
	ASSERT_EQ(mmn_store(mm, BASE, 0x1), 0);
	ASSERT_EQ(dev_wr(dev, BASE + 3 * PG, 0xd3), 0);
	ASSERT_EQ(spte_order(dev, BASE + 3 * PG), HPAGE_PMD_ORDER);
	child = mmn_fork(mm, &err);
	ASSERT_TRUE(child);
	r->order_after_fork = spte_order(dev, BASE + 9 * PG);
	ASSERT_EQ(dev_wr(dev, BASE + 9 * PG, 0xd9), 0);
	ASSERT_EQ(mmn_store(mm, BASE + 7 * PG, 0xc7), 0);
	ASSERT_EQ(dev_wr(dev, BASE + 7 * PG + 8, 0xd7), 0);
	r->parent9 = ld(mm, BASE + 9 * PG);
	r->child9 = ld(child, BASE + 9 * PG);
	r->parent7 = ld(mm, BASE + 7 * PG + 8);
	r->child7 = ld(child, BASE + 7 * PG + 8);
	r->audit = mmn_check_audit();
	mmn_device_destroy(dev);
	mmn_exit(child);
	mmn_exit(mm);
	mmn_check_end();
}

TEST(kvm_huge_correct_fork_cow)
{
	struct fork_result r;

	fork_run("correct", &r);
	EXPECT_EQ(r.order_after_fork, -1);	/* dropped whole */
	EXPECT_EQ(r.parent9, 0xd9);
	EXPECT_EQ(r.child9, 0);
	EXPECT_EQ(r.parent7, 0xd7);
	EXPECT_EQ(r.child7, 0);
	EXPECT_EQ(r.audit, 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

TEST(kvm_huge_partial_fork_caught)
{
	struct fork_result r;

	harness_expect_violations();
	fork_run("huge-partial", &r);
	EXPECT_EQ(r.order_after_fork, 0);	/* demoted, kept */
	EXPECT_EQ(r.parent9, 0xd9);
	EXPECT_EQ(r.child9, 0xd9);		/* into the child's memory */
	EXPECT_EQ(r.parent7, 0xd7);
	EXPECT_EQ(r.child7, 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "(form huge-partial)");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "a write through a translation made before the contract point of a protection change");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "PROTECTION_PAGE [0x40000000-0x40200000)");
	/* the child reads the device's value where its own is 0 */
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_STALE_READ),
			    "(the CPU read 0xd9, the last write to this location was 0)");
	EXPECT_EQ(r.audit, 1);
}

/* A page the primary maps with ptes gets a 4 KiB spte. */
TEST(kvm_huge_spte_only_over_huge_pmd)
{
	struct mm_struct *mm;
	struct mmn_device *dev;
	struct mmn_spte s;
	unsigned long head;
	long va;
	int err;

	mmn_check_begin();
	mm = thp_mm(2 * HP);
	ASSERT_TRUE(mm);
	/* a 2 MiB area without MADV_HUGEPAGE (lab default: madvise) */
	va = mmn_mmap(mm, BASE + 4 * HP, HP, RW, PRIV | MAP_FIXED);
	ASSERT_EQ(va, (long)(BASE + 4 * HP));
	dev = mmn_device_create(mmn_driver_kvm.ops, mm, "correct", &err);
	ASSERT_TRUE(dev);

	/* no THP there */
	ASSERT_EQ(dev_wr(dev, BASE + 4 * HP + 5 * PG, 0x45), 0);
	EXPECT_EQ(spte_order(dev, BASE + 4 * HP + 5 * PG), 0);

	/* a THP, then split: each page again through a 4 KiB spte */
	ASSERT_EQ(mmn_store(mm, BASE + 9 * PG, 0x9), 0);
	head = pfn_at(mm, BASE);
	ASSERT_EQ(dev_rd(dev, BASE + 9 * PG), 0x9);
	EXPECT_EQ(spte_order(dev, BASE + 9 * PG), HPAGE_PMD_ORDER);
	ASSERT_EQ(mmn_split_huge_pmd(mm, BASE), 0);
	EXPECT_EQ(spte_order(dev, BASE + 9 * PG), -1);	/* dropped whole */
	EXPECT_EQ(dev_rd(dev, BASE + 9 * PG), 0x9);
	ASSERT_EQ(kvm_spte_lookup(dev, BASE + 9 * PG, &s), 0);
	EXPECT_EQ(s.order, 0);
	EXPECT_EQ(s.va, BASE + 9 * PG);
	EXPECT_EQ(s.pfn, head + 9);
	ASSERT_EQ(dev_wr(dev, BASE + 10 * PG, 0xa), 0);
	EXPECT_EQ(spte_order(dev, BASE + 10 * PG), 0);
	EXPECT_EQ(ld(mm, BASE + 10 * PG), 0xa);
	EXPECT_EQ(spte_order(dev, BASE + 11 * PG), -1);

	/* a huge spte replaces the 4 KiB ones below it (khugepaged) */
	ASSERT_EQ(mmn_madvise(mm, BASE, HP, MADV_COLLAPSE), 0);
	EXPECT_EQ(spte_order(dev, BASE + 9 * PG), -1);
	EXPECT_EQ(dev_rd(dev, BASE + 10 * PG), 0xa);
	EXPECT_EQ(spte_order(dev, BASE + 9 * PG), HPAGE_PMD_ORDER);
	EXPECT_EQ(dev_rd(dev, BASE + 9 * PG), 0x9);

	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* Aging: a huge spte answers for, and is cleared by, any of its pages. */
TEST(kvm_huge_spte_aging)
{
	struct mm_struct *mm;
	struct mmn_device *dev;
	int err;

	mmn_check_begin();
	mm = thp_mm(HP);
	ASSERT_TRUE(mm);
	dev = mmn_device_create(mmn_driver_kvm.ops, mm, "correct", &err);
	ASSERT_TRUE(dev);
	ASSERT_EQ(dev_wr(dev, BASE + 3 * PG, 0x3), 0);
	ASSERT_EQ(spte_order(dev, BASE), HPAGE_PMD_ORDER);

	/* a fresh spte is young; test_young at another page says so */
	EXPECT_EQ(mmu_notifier_test_young(mm, BASE + 300 * PG), 1);
	EXPECT_EQ(mmu_notifier_clear_young(mm, BASE + 300 * PG, BASE + 301 * PG), 1);
	EXPECT_EQ(mmu_notifier_test_young(mm, BASE + 3 * PG), 0);
	EXPECT_EQ(mmu_notifier_test_young(mm, BASE + 511 * PG), 0);
	/* the device reads page 77: the whole spte is young again */
	EXPECT_EQ(dev_rd(dev, BASE + 77 * PG), 0);
	EXPECT_EQ(mmu_notifier_test_young(mm, BASE + 5 * PG), 1);

	/* pmdp_clear_flush_young_notify(): the notifier over the 2 MiB */
	EXPECT_EQ(mmu_notifier_clear_flush_young(mm, BASE, BASE + HP), 1);
	EXPECT_EQ(mmu_notifier_test_young(mm, BASE + 77 * PG), 0);
	EXPECT_EQ(mmu_notifier_clear_flush_young(mm, BASE, BASE + HP), 0);
	/* a 4 KiB range at the end of the 2 MiB (a pte-sized look-around) */
	EXPECT_EQ(dev_rd(dev, BASE + 400 * PG), 0);
	EXPECT_EQ(mmu_notifier_clear_young(mm, BASE + 511 * PG, BASE + HP), 1);
	EXPECT_EQ(mmu_notifier_test_young(mm, BASE + 400 * PG), 0);
	EXPECT_EQ(dev->faults, 1);

	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* 2/3. One invalidation over a huge spte, correct and huge-partial.    */

enum huge_op {
	OP_SPLIT,		/* __split_huge_pmd: CLEAR, 2 MiB */
	OP_MPROTECT,		/* mprotect(PROT_READ) of the whole THP */
	OP_DONTNEED_ONE,	/* DONTNEED of page 5: CLEAR 4K, nested split */
	OP_DONTNEED_ALL,	/* DONTNEED of the 2 MiB: zap, frames freed */
};

struct op_result {
	int order0, order5, order9;	/* sptes after the operation */
	struct mmn_spte s9;		/* the spte at page 9 (huge-partial) */
	uint64_t born;			/* the huge spte's birth */
	int wr9, rd9;			/* the device's accesses after */
	uint64_t v9;
	unsigned long audit;
};

/*
 * The CPU writes pages 0 and 9, the device reads page 3 (a 2 MiB spte),
 * the operation runs, the device reads page 9 (*v9) and writes it (*v9 is
 * then what the CPU reads there).
 */
static void op_run(const char *form, enum huge_op op, struct op_result *r)
{
	struct mm_struct *mm;
	struct mmn_device *dev;
	struct mmn_spte s;
	int err;

	memset(r, 0, sizeof(*r));
	mmn_check_begin();
	mm = thp_mm(HP);
	ASSERT_TRUE(mm);
	dev = mmn_device_create(mmn_driver_kvm.ops, mm, form, &err);
	ASSERT_TRUE(dev);
	ASSERT_EQ(mmn_store(mm, BASE, 0xc0), 0);
	ASSERT_EQ(mmn_store(mm, BASE + 9 * PG, 0xc9), 0);
	ASSERT_EQ(dev_rd(dev, BASE + 3 * PG), 0);
	ASSERT_EQ(kvm_spte_lookup(dev, BASE, &s), 0);
	ASSERT_EQ(s.order, HPAGE_PMD_ORDER);
	r->born = s.born;
	switch (op) {
	case OP_SPLIT:
		ASSERT_EQ(mmn_split_huge_pmd(mm, BASE), 0);
		break;
	case OP_MPROTECT:
		ASSERT_EQ(mmn_mprotect(mm, BASE, HP, PROT_READ), 0);
		break;
	case OP_DONTNEED_ONE:
		ASSERT_EQ(mmn_madvise(mm, BASE + 5 * PG, PG, MADV_DONTNEED), 0);
		break;
	case OP_DONTNEED_ALL:
		ASSERT_EQ(mmn_madvise(mm, BASE, HP, MADV_DONTNEED), 0);
		break;
	}
	r->order0 = spte_order(dev, BASE);
	r->order5 = spte_order(dev, BASE + 5 * PG);
	r->order9 = spte_order(dev, BASE + 9 * PG);
	kvm_spte_lookup(dev, BASE + 9 * PG, &r->s9);
	r->v9 = 0xdeadbeef;
	r->rd9 = mmn_device_access(dev, BASE + 9 * PG, false, &r->v9);
	r->wr9 = dev_wr(dev, BASE + 9 * PG, 0xd9);
	if (!r->wr9)
		r->v9 = ld(mm, BASE + 9 * PG);
	r->audit = mmn_check_audit();
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
}

/* correct: each operation drops the whole huge spte; no report */
TEST(kvm_huge_correct_drops_whole_spte)
{
	static const enum huge_op ops[] = {
		OP_SPLIT, OP_MPROTECT, OP_DONTNEED_ONE, OP_DONTNEED_ALL
	};
	struct op_result r;

	for (unsigned int i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		op_run("correct", ops[i], &r);
		EXPECT_EQ(r.order0, -1);
		EXPECT_EQ(r.order5, -1);
		EXPECT_EQ(r.order9, -1);
		if (ops[i] == OP_MPROTECT) {
			EXPECT_EQ(r.wr9, -EFAULT);	/* the command fails */
			EXPECT_EQ(r.v9, 0xc9);	/* read */
		} else {
			EXPECT_EQ(r.wr9, 0);
			EXPECT_EQ(r.v9, 0xd9);
		}
		EXPECT_EQ(r.rd9, 0);
		EXPECT_EQ(r.audit, 0);
	}
	EXPECT_EQ(mmn_report_count(), 0);
}

/* huge-partial keeps 511 4 KiB sptes over the same frames, as old as the
 * huge one, and zaps only the first page the range names */
TEST(kvm_huge_partial_keeps_511)
{
	struct op_result r;

	harness_expect_violations();
	op_run("huge-partial", OP_SPLIT, &r);
	EXPECT_EQ(r.order0, -1);		/* the page the range names */
	EXPECT_EQ(r.order5, 0);
	EXPECT_EQ(r.order9, 0);
	EXPECT_EQ(r.s9.va, BASE + 9 * PG);
	EXPECT_EQ(r.s9.born, r.born);		/* the same translation */
	EXPECT_FALSE(r.s9.writable);		/* it was made by a read */
	EXPECT_EQ(r.audit, 0);			/* same frames: no data lost */
}

/* split: the CLEAR removes the mapping; a read through a kept spte */
TEST(kvm_huge_partial_split_caught)
{
	struct op_result r;

	harness_expect_violations();
	op_run("huge-partial", OP_SPLIT, &r);
	EXPECT_EQ(r.rd9, 0);
	EXPECT_GE(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "(form huge-partial)");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "the translation was made before the device's contract point and the event removes the mapping");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "invalidate_range_start CLEAR [0x40000000-0x40200000)");
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 0);
}

/* DONTNEED of the whole THP: the 511 kept sptes point at freed frames */
TEST(kvm_huge_partial_zap_caught)
{
	struct op_result r;

	harness_expect_violations();
	op_run("huge-partial", OP_DONTNEED_ALL, &r);
	EXPECT_EQ(r.order0, -1);
	EXPECT_EQ(r.order9, 0);
	EXPECT_GE(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	EXPECT_GE(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_USE_AFTER_FREE),
			    "(form huge-partial)");
}

/* DONTNEED of one page: its range demotes, but the nested split's CLEAR
 * over the 2 MiB zaps the 4 KiB sptes normally: nothing is kept */
TEST(kvm_huge_partial_dontneed_one_page_near_miss)
{
	struct op_result r;

	op_run("huge-partial", OP_DONTNEED_ONE, &r);
	EXPECT_EQ(r.order0, -1);
	EXPECT_EQ(r.order5, -1);
	EXPECT_EQ(r.order9, -1);
	EXPECT_EQ(r.v9, 0xd9);
	EXPECT_EQ(r.audit, 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* mprotect: a write through a kept writable spte after the protection
 * change's contract point; the data itself survives (audit clean) */
static void mprotect_run(const char *form, struct op_result *r)
{
	struct mm_struct *mm;
	struct mmn_device *dev;
	int err;

	memset(r, 0, sizeof(*r));
	mmn_check_begin();
	mm = thp_mm(HP);
	ASSERT_TRUE(mm);
	dev = mmn_device_create(mmn_driver_kvm.ops, mm, form, &err);
	ASSERT_TRUE(dev);
	ASSERT_EQ(dev_wr(dev, BASE + 3 * PG, 0xd3), 0);	/* writable, 2 MiB */
	ASSERT_EQ(mmn_mprotect(mm, BASE, HP, PROT_READ), 0);
	r->order9 = spte_order(dev, BASE + 9 * PG);
	r->wr9 = dev_wr(dev, BASE + 9 * PG, 0xd9);
	r->v9 = ld(mm, BASE + 9 * PG);
	r->audit = mmn_check_audit();
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
}

TEST(kvm_huge_mprotect)
{
	struct op_result r;

	mprotect_run("correct", &r);
	EXPECT_EQ(r.order9, -1);
	EXPECT_EQ(r.wr9, -EFAULT);
	EXPECT_EQ(r.v9, 0);
	EXPECT_EQ(r.audit, 0);
	EXPECT_EQ(mmn_report_count(), 0);

	harness_expect_violations();
	mprotect_run("huge-partial", &r);
	EXPECT_EQ(r.order9, 0);
	EXPECT_EQ(r.wr9, 0);			/* through the kept spte */
	EXPECT_EQ(r.v9, 0xd9);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "a write through a translation made before the contract point of a protection change");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "PROTECTION_VMA");
	EXPECT_EQ(r.audit, 0);
}

/* ------------------------------------------------------------------ */
/* 4. The checker's side: a raw device that makes and uses 2 MiB        */
/*    translations itself and never drops them.                         */

static int raw_start(struct mmu_notifier *mn,
		     const struct mmu_notifier_range *range)
{
	return 0;
}

static void raw_end(struct mmu_notifier *mn,
		    const struct mmu_notifier_range *range)
{
}

static const struct mmu_notifier_ops raw_mn_ops = {
	.invalidate_range_start = raw_start,
	.invalidate_range_end = raw_end,
};

static int raw_dma(struct mmn_device *dev, unsigned long va, bool write,
		   uint64_t *val)
{
	return -ENOENT;
}

static int raw_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	return -EFAULT;
}

static const struct mmn_device_ops raw_dev_ops = {
	.name = "raw",
	.dma = raw_dma,
	.fault = raw_fault,
};

struct raw_rig {
	struct mm_struct *mm;
	struct mmn_device *dev;
	struct mmu_notifier mn;
};

static int raw_init(struct raw_rig *g)
{
	int err;

	mmn_check_begin();
	g->mm = thp_mm(HP);
	if (!g->mm)
		return -ENOMEM;
	g->mn.ops = &raw_mn_ops;
	err = mmu_notifier_register(&g->mn, g->mm);
	if (err)
		return err;
	g->dev = mmn_device_create(&raw_dev_ops, g->mm, "raw", &err);
	if (!g->dev)
		return err;
	mmn_device_track(g->dev, &g->mn);
	return 0;
}

static void raw_fini(struct raw_rig *g)
{
	mmn_check_audit();
	mmn_device_untrack(g->dev, &g->mn);
	mmu_notifier_unregister(&g->mn, g->mm);
	mmn_device_destroy(g->dev);
	mmn_exit(g->mm);
	mmn_check_end();
}

/*
 * A 2 MiB translation is stale when made if any of its 512 frames is not
 * mapped there (here page 5, dropped after a split), not only the first:
 * an access at page 5 is reported, one at page 3 is not.
 */
TEST(check_huge_spte_stale_if_any_frame_is)
{
	struct raw_rig g;
	struct mmn_spte s;
	unsigned long head;
	char want[96];
	uint64_t v;

	harness_expect_violations();
	ASSERT_EQ(raw_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, BASE + 3 * PG, 0x33), 0);
	ASSERT_EQ(mmn_store(g.mm, BASE + 5 * PG, 0x55), 0);
	head = pfn_at(g.mm, BASE);

	/* near miss: over the huge PMD the translation is current */
	mmn_spte_make(g.dev, &s, BASE, pfn_to_page(head), true, HPAGE_PMD_ORDER);
	EXPECT_FALSE(s.stale_at_birth);
	EXPECT_EQ(mmn_dev_read(g.dev, &s, BASE + 5 * PG, &v), 0);
	EXPECT_EQ(v, 0x55);
	EXPECT_EQ(mmn_report_count(), 0);

	ASSERT_EQ(mmn_split_huge_pmd(g.mm, BASE), 0);
	ASSERT_EQ(mmn_madvise(g.mm, BASE + 5 * PG, PG, MADV_DONTNEED), 0);
	ASSERT_EQ(pfn_at(g.mm, BASE + 3 * PG), head + 3);
	mmn_spte_make(g.dev, &s, BASE, pfn_to_page(head), false, HPAGE_PMD_ORDER);
	EXPECT_TRUE(s.stale_at_birth);
	EXPECT_EQ(mmn_dev_read(g.dev, &s, BASE + 3 * PG, &v), 0);
	EXPECT_EQ(v, 0x33);
	EXPECT_EQ(mmn_report_count(), 0);
	EXPECT_EQ(mmn_dev_read(g.dev, &s, BASE + 5 * PG, &v), 0);
	EXPECT_EQ(v, 0x55);			/* the old content */
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "the translation was stale when made, after the device's contract point");
	snprintf(want, sizeof(want), "va %#lx -> pfn %#lx gen %u ro (2M), made at #",
		 BASE, head, s.gen);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    want);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "(already stale when made)");
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	raw_fini(&g);
}

/*
 * mmn_spte_split(): 4 KiB translations over the huge one's frames, born
 * when it was; while the THP lives they are good, once it was freed they
 * are as dead as the huge one.
 */
TEST(check_spte_split_generations)
{
	struct mmn_spte s, *sub = calloc(HPAGE_PMD_NR, sizeof(*sub));
	struct raw_rig g;
	unsigned long head;
	uint64_t v;

	ASSERT_TRUE(sub);
	harness_expect_violations();
	ASSERT_EQ(raw_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, BASE + 9 * PG, 0x99), 0);
	head = pfn_at(g.mm, BASE);
	mmn_spte_make(g.dev, &s, BASE, pfn_to_page(head), true, HPAGE_PMD_ORDER);

	mmn_spte_split(g.dev, &s, sub);
	EXPECT_EQ(sub[9].va, BASE + 9 * PG);
	EXPECT_EQ(sub[9].pfn, head + 9);
	EXPECT_EQ(sub[9].order, 0);
	EXPECT_EQ(sub[9].born, s.born);
	EXPECT_TRUE(sub[9].writable);
	EXPECT_EQ(mmn_dev_read(g.dev, &sub[9], BASE + 9 * PG + 8, &v), 0);
	EXPECT_EQ(v, 0);
	EXPECT_EQ(mmn_dev_write(g.dev, &sub[9], BASE + 9 * PG + 8, 0x98), 0);
	EXPECT_EQ(ld(g.mm, BASE + 9 * PG + 8), 0x98);
	EXPECT_EQ(mmn_report_count(), 0);

	/* the THP is zapped and freed: a split made now is dead too */
	ASSERT_EQ(mmn_madvise(g.mm, BASE, HP, MADV_DONTNEED), 0);
	mmn_spte_split(g.dev, &s, sub);
	EXPECT_EQ(mmn_dev_read(g.dev, &sub[9], BASE + 9 * PG, &v), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	raw_fini(&g);
	free(sub);
}
