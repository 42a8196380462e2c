// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim and swap, MADV_FREE, page aging, the OOM reaper and soft-dirty:
 * data through the checker's ghost memory, the notifier call sequence of
 * each operation through the recorder (real-kernel.md section 5, 6.12
 * column unless a test says 6.1), and frame / swap-slot accounting (the
 * harness compares both with the test's baseline at the end).
 *
 * The "swap works by accident" pair drives a raw device: a classic
 * notifier tracked as the device's whose callbacks do nothing, and a
 * translation the test makes and uses itself (as test_check.c does).
 */
#include "harness.h"

#include <stdlib.h>

#include <mmn/device.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/recorder.h>

#include "check/check.h"
#include "mirrors/dmirror.h"
#include "mm/internal.h"

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)

#ifndef EXPECT_GE
#define EXPECT_GE(a, b) __H_CMP(0, a, >=, b)
#endif

#define VAL_A	0xaaaa0001ULL
#define VAL_B	0xbbbb0002ULL
#define VAL_C	0xcccc0003ULL

static uint64_t ld(struct mm_struct *mm, unsigned long va)
{
	uint64_t v = 0xdeadbeef;

	if (mmn_load(mm, va, &v))
		return 0xbad;
	return v;
}

static struct mmn_mem_stats stats(void)
{
	struct mmn_mem_stats st;

	mmn_mem_stats(&st);
	return st;
}

static bool swapped(struct mm_struct *mm, unsigned long va, bool *cached)
{
	bool c;

	if (mmn_swap_info(mm, va, NULL, &c))
		return false;
	if (cached)
		*cached = c;
	return true;
}

/* The recorder's lines, with a zero offset spelled "0" (see test_mm.c). */
static const char *rec_text(struct mmn_recorder *rec)
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

static struct mmn_recorder *rec_on(struct mm_struct *mm, unsigned long base,
				   unsigned int flags)
{
	int err;
	struct mmn_recorder *rec = mmn_recorder_create(mm, flags, &err);

	if (rec)
		mmn_recorder_set_base(rec, base);
	return rec;
}

/* ---- swap out and in ---------------------------------------------------- */

/* data survives MADV_PAGEOUT and the swap-in; slots and frames come back */
TEST(swap_out_in_data)
{
	struct mmn_mem_stats before, out;
	struct mm_struct *mm;
	bool cached;
	long a;

	mmn_check_begin();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, 4 * PG, RW, PRIV);
	ASSERT_GT(a, 0);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(mmn_store(mm, a + i * PG + 8, VAL_A + i), 0);
	before = stats();
	ASSERT_EQ(mmn_pageout(mm, a, 4 * PG), 0);
	out = stats();
	EXPECT_EQ(out.swap_used, before.swap_used + 4);
	EXPECT_EQ(out.free_frames, before.free_frames + 4);
	EXPECT_EQ(out.swap_cache_pages, 0);
	ASSERT_TRUE(swapped(mm, a, &cached));
	EXPECT_FALSE(cached);
	/* the audit reads swapped-out locations from their slots */
	EXPECT_EQ(mmn_check_audit(), 0);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(ld(mm, a + i * PG + 8), VAL_A + i);
	EXPECT_FALSE(swapped(mm, a, NULL));
	/* a read swap-in keeps the slot (swap cache) until a write or exit */
	EXPECT_EQ(stats().swap_cache_pages, 4);
	ASSERT_EQ(mmn_store(mm, a + 8, VAL_B), 0);
	EXPECT_EQ(ld(mm, a + 8), VAL_B);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(stats().swap_used, 0);
}

/* a write fault on a swapped page frees its slot at once */
TEST(swap_in_write_frees_slot)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, PG, RW, PRIV);

	ASSERT_EQ(mmn_store(mm, a, VAL_A), 0);
	ASSERT_EQ(mmn_pageout(mm, a, PG), 0);
	EXPECT_EQ(stats().swap_used, 1);
	ASSERT_EQ(mmn_store(mm, a + 8, VAL_B), 0);
	EXPECT_EQ(stats().swap_used, 0);
	EXPECT_EQ(stats().swap_cache_pages, 0);
	EXPECT_EQ(ld(mm, a), VAL_A);
	mmn_exit(mm);
}

/* fork of a swapped-out page: both see it, COW separates them, slots go */
TEST(swap_fork_of_swapped_page)
{
	struct mm_struct *p, *c;
	int err;
	long a;

	mmn_check_begin();
	p = mmn_mm_create();
	a = mmn_mmap(p, 0, 2 * PG, RW, PRIV);
	ASSERT_EQ(mmn_store(p, a, VAL_A), 0);
	ASSERT_EQ(mmn_store(p, a + PG, VAL_B), 0);
	ASSERT_EQ(mmn_pageout(p, a, 2 * PG), 0);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	ASSERT_TRUE(swapped(c, a, NULL));
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_EQ(ld(c, a), VAL_A);
	EXPECT_EQ(ld(p, a), VAL_A);		/* the same swap-cache frame */
	ASSERT_EQ(mmn_store(p, a, VAL_C), 0);	/* COW */
	EXPECT_EQ(ld(c, a), VAL_A);
	EXPECT_EQ(ld(p, a), VAL_C);
	EXPECT_EQ(ld(p, a + PG), VAL_B);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(c);
	EXPECT_EQ(ld(p, a + PG), VAL_B);
	mmn_exit(p);
	mmn_check_end();
}

/* global reclaim takes shared (forked) pages too, after aging them once */
TEST(swap_global_reclaim_after_fork)
{
	struct mm_struct *p, *c;
	int err;
	long a;

	mmn_check_begin();
	p = mmn_mm_create();
	a = mmn_mmap(p, 0, 3 * PG, RW, PRIV);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(mmn_store(p, a + i * PG, VAL_A + i), 0);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	ASSERT_EQ(mmn_store(c, a + 2 * PG, VAL_C), 0);	/* the child's own copy */
	EXPECT_EQ(mmn_reclaim(100), 4);
	for (int i = 0; i < 3; i++)
		EXPECT_TRUE(swapped(p, a + i * PG, NULL));
	EXPECT_EQ(stats().anon_pages, 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_EQ(ld(p, a + PG), VAL_A + 1);
	EXPECT_EQ(ld(c, a + PG), VAL_A + 1);
	EXPECT_EQ(ld(c, a + 2 * PG), VAL_C);
	EXPECT_EQ(ld(p, a + 2 * PG), VAL_A + 2);
	mmn_exit(p);
	EXPECT_EQ(ld(c, a), VAL_A);
	mmn_exit(c);
	mmn_check_end();
}

/* exit with pages swapped out, in the swap cache, and mapped from it */
TEST(swap_accounting_after_exit)
{
	struct mm_struct *p, *c;
	int err;
	long a;

	p = mmn_mm_create();
	a = mmn_mmap(p, 0, 4 * PG, RW, PRIV);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(mmn_store(p, a + i * PG, i + 1), 0);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	EXPECT_EQ(mmn_reclaim(100), 4);
	EXPECT_EQ(ld(p, a), 1);			/* read: stays in the cache */
	mmn_swap_keep_cache(true);
	EXPECT_EQ(mmn_reclaim(100), 0);		/* all mapped or kept */
	mmn_swap_keep_cache(false);
	EXPECT_EQ(ld(c, a + PG), 2);
	mmn_exit(p);
	mmn_exit(c);
	EXPECT_EQ(stats().swap_used, 0);
	EXPECT_EQ(stats().swap_cache_pages, 0);
}

/* a full swap device: reclaim gives up, the data stays where it was */
TEST(swap_full_device)
{
	struct mm_struct *mm = mmn_mm_create();
	unsigned long n = stats().nr_swap_slots;
	long a = mmn_mmap(mm, 0, (n + 2) * PG, RW, PRIV);

	ASSERT_GT(a, 0);
	for (unsigned long i = 0; i < n + 2; i++)
		ASSERT_EQ(mmn_store(mm, a + i * PG, i), 0);
	ASSERT_EQ(mmn_pageout(mm, a, (n + 2) * PG), 0);
	EXPECT_EQ(stats().swap_used, n);
	EXPECT_FALSE(swapped(mm, a + (n + 1) * PG, NULL));
	EXPECT_EQ(ld(mm, a + (n + 1) * PG), n + 1);
	EXPECT_EQ(ld(mm, a + 3 * PG), 3);
	mmn_exit(mm);
}

/* ---- notifier order ------------------------------------------------------- */

/* 6.12 MADV_PAGEOUT: per page CLEAR via try_to_unmap_one with the flush
 * under the PTL, nothing else (as the recorded 6.12 trace) */
TEST(notify_pageout_order)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	struct mmn_recorder *rec;

	mmn_store(mm, a, 1);
	mmn_store(mm, a + PG, 2);
	rec = rec_on(mm, a, MMN_REC_TLBS);
	ASSERT_TRUE(rec != NULL);
	ASSERT_EQ(mmn_pageout(mm, a, 2 * PG), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start CLEAR [+0,+0x1000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0,+0x1000) atomic=1\n"
		"end CLEAR [+0,+0x1000) blk=1 atomic=0\n"
		"start CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x1000,+0x2000) atomic=1\n"
		"end CLEAR [+0x1000,+0x2000) blk=1 atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 6);
	/* reading back swaps in without a callback */
	mmn_recorder_clear(rec);
	EXPECT_EQ(ld(mm, a + PG), 2);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* 6.1 MADV_PAGEOUT: folio_referenced's clear_flush_young (atomic) first */
TEST(notify_pageout_order_6_1)
{
	struct mm_struct *mm;
	struct mmn_recorder *rec;
	long a;

	mmn_era = MMN_ERA_6_1;
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, PG, RW, PRIV);
	mmn_store(mm, a, 1);
	rec = rec_on(mm, a, 0);
	ASSERT_TRUE(rec != NULL);
	ASSERT_EQ(mmn_pageout(mm, a, PG), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"clear_flush_young [+0,+0x1000) atomic=1\n"
		"start CLEAR [+0,+0x1000) blk=1 atomic=0\n"
		"end CLEAR [+0,+0x1000) blk=1 atomic=0\n");
	EXPECT_TRUE(swapped(mm, a, NULL));
	EXPECT_EQ(ld(mm, a), 1);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* global reclaim (6.12, MGLRU): clear_young via the look-around, then the
 * CLEAR of try_to_unmap_one in the second round */
TEST(notify_reclaim_order)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, PG, RW, PRIV);
	struct mmn_recorder *rec;

	mmn_store(mm, a, 1);
	rec = rec_on(mm, a, 0);
	EXPECT_EQ(mmn_reclaim(1), 1);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"clear_young [+0,+0x1000) atomic=1\n"
		"clear_young [+0,+0x1000) atomic=1\n"
		"start CLEAR [+0,+0x1000) blk=1 atomic=0\n"
		"end CLEAR [+0,+0x1000) blk=1 atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 4);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* ---- swap "works by accident" ----------------------------------------------- */

struct raw {
	struct mmu_notifier mn;
	struct mmn_device *dev;
};

static int raw_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	return 0;	/* a device that never drops anything */
}

static const struct mmu_notifier_ops raw_mn_ops = {
	.invalidate_range_start = raw_start,
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
	.name = "raw", .dma = raw_dma, .fault = raw_fault,
};

struct rig {
	struct mm_struct *mm;
	long va;
	struct raw r;
	struct mmn_spte s;
	struct page *page;
};

/* One page holding VAL_A, a raw device with a writable translation of it. */
static int rig_init(struct rig *g)
{
	unsigned long pfn;
	int err;

	memset(g, 0, sizeof(*g));
	mmn_check_begin();
	g->mm = mmn_mm_create();
	g->va = mmn_mmap(g->mm, 0, PG, RW, PRIV);
	if (g->va < 0)
		return (int)g->va;
	g->r.mn.ops = &raw_mn_ops;
	g->r.dev = mmn_device_create(&raw_dev_ops, g->mm, "raw", &err);
	if (!g->r.dev)
		return err;
	err = mmu_notifier_register(&g->r.mn, g->mm);
	if (err)
		return err;
	mmn_device_track(g->r.dev, &g->r.mn);
	err = mmn_store(g->mm, g->va, VAL_A);
	if (err)
		return err;
	if (mmn_follow_pte(g->mm, g->va, &pfn, NULL))
		return -ENOENT;
	g->page = pfn_to_page(pfn);
	mmn_spte_make(g->r.dev, &g->s, g->va, g->page, true, 0);
	return 0;
}

static unsigned long rig_fini(struct rig *g)
{
	unsigned long mismatches = mmn_check_audit();

	mmu_notifier_unregister(&g->r.mn, g->mm);
	mmn_device_destroy(g->r.dev);
	mmn_exit(g->mm);
	mmn_check_end();
	return mismatches;
}

static void expect_no_data_violation(void)
{
	EXPECT_EQ(mmn_report_count_kind(MMN_V_LOST_WRITE), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_AUDIT), 0);
}

/*
 * The device holds a page reference (a pin): reclaim unmaps the page and
 * writes it out but cannot free it, so it stays in the swap cache; the
 * device's late write lands in that frame and swap-in maps the same frame
 * again.  Only the protocol rule is broken, no data is lost.
 */
TEST(swap_by_accident_reference_held)
{
	struct rig g;
	bool cached = false;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	get_page(g.page);			/* the device's pin */
	ASSERT_EQ(mmn_pageout(g.mm, g.va, PG), 0);
	ASSERT_TRUE(swapped(g.mm, g.va, &cached));
	EXPECT_TRUE(cached);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &g.s, g.va, VAL_C), 0);
	EXPECT_GE(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	EXPECT_EQ(ld(g.mm, g.va), VAL_C);	/* the same frame again */
	EXPECT_EQ(pfn_to_page(page_to_pfn(g.page)), g.page);
	put_page(g.page);
	EXPECT_EQ(rig_fini(&g), 0);
	expect_no_data_violation();
}

/* the same with the keep-in-swap-cache knob instead of a pin */
TEST(swap_by_accident_kept_in_cache)
{
	struct rig g;
	unsigned long pfn;
	bool cached = false;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	mmn_swap_keep_cache(true);
	ASSERT_EQ(mmn_pageout(g.mm, g.va, PG), 0);
	mmn_swap_keep_cache(false);
	ASSERT_TRUE(swapped(g.mm, g.va, &cached));
	EXPECT_TRUE(cached);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &g.s, g.va, VAL_C), 0);
	EXPECT_EQ(ld(g.mm, g.va), VAL_C);
	ASSERT_EQ(mmn_follow_pte(g.mm, g.va, &pfn, NULL), 0);
	EXPECT_EQ(pfn, page_to_pfn(g.page));
	EXPECT_EQ(rig_fini(&g), 0);
	expect_no_data_violation();
}

/* dropped from the swap cache and freed: the late write is a use-after-free */
TEST(swap_dropped_write_is_use_after_free)
{
	struct rig g;
	bool cached = true;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_pageout(g.mm, g.va, PG), 0);
	ASSERT_TRUE(swapped(g.mm, g.va, &cached));
	EXPECT_FALSE(cached);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &g.s, g.va, VAL_C), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_USE_AFTER_FREE),
			    "is at generation");
	EXPECT_EQ(ld(g.mm, g.va), VAL_A);	/* from the slot */
	EXPECT_EQ(rig_fini(&g), 0);
}

/* written while in the cache, then the clean page is dropped: the write is
 * lost, and the ghost catches it at the next read */
TEST(swap_dropped_after_write_is_stale_read)
{
	struct rig g;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	mmn_swap_keep_cache(true);
	ASSERT_EQ(mmn_pageout(g.mm, g.va, PG), 0);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &g.s, g.va, VAL_C), 0);
	mmn_swap_keep_cache(false);
	EXPECT_EQ(mmn_reclaim(10), 1);		/* clean: dropped, no write-out */
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 0);
	EXPECT_EQ(ld(g.mm, g.va), VAL_A);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_STALE_READ),
			    "the last write to this location was 0xcccc0003");
	rig_fini(&g);
}

/* the same lost write, never read again: the end audit reads the slot */
TEST(swap_dropped_after_write_audit)
{
	struct rig g;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	mmn_swap_keep_cache(true);
	ASSERT_EQ(mmn_pageout(g.mm, g.va, PG), 0);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &g.s, g.va, VAL_C), 0);
	mmn_swap_keep_cache(false);
	EXPECT_EQ(mmn_reclaim(10), 1);
	EXPECT_EQ(rig_fini(&g), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_AUDIT),
			    "(swapped out): the swap slot holds 0xaaaa0001");
}

/* a correct driver (dmirror) through swap out and in: silent */
TEST(swap_dmirror_correct_silent)
{
	struct mm_struct *mm;
	struct mmn_device *dev;
	uint64_t v;
	long va;
	int err;

	mmn_check_begin();
	mm = mmn_mm_create();
	va = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev != NULL);
	v = VAL_A;
	ASSERT_EQ(mmn_device_access(dev, va, true, &v), 0);
	ASSERT_EQ(mmn_store(mm, va + PG, VAL_B), 0);
	ASSERT_EQ(mmn_pageout(mm, va, 2 * PG), 0);
	EXPECT_TRUE(swapped(mm, va, NULL));
	ASSERT_EQ(mmn_device_access(dev, va, false, &v), 0);	/* swap-in */
	EXPECT_EQ(v, VAL_A);
	v = VAL_C;
	ASSERT_EQ(mmn_device_access(dev, va + PG, true, &v), 0);
	ASSERT_EQ(mmn_pageout(mm, va, 2 * PG), 0);
	EXPECT_EQ(ld(mm, va + PG), VAL_C);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ---- MADV_FREE ------------------------------------------------------------ */

/* MADV_FREE, then a CPU write: the pte is dirty again, nothing is dropped */
TEST(madv_free_then_write_survives)
{
	struct mm_struct *mm;
	long a;

	mmn_check_begin();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	ASSERT_EQ(mmn_store(mm, a, VAL_A), 0);
	ASSERT_EQ(mmn_store(mm, a + PG, VAL_A), 0);
	ASSERT_EQ(mmn_madvise(mm, a, 2 * PG, MADV_FREE), 0);
	ASSERT_EQ(mmn_store(mm, a + 8, VAL_B), 0);
	ASSERT_EQ(mmn_pageout(mm, a, 2 * PG), 0);
	EXPECT_FALSE(swapped(mm, a, NULL));
	EXPECT_EQ(ld(mm, a), VAL_A);		/* kept, mapped */
	EXPECT_EQ(ld(mm, a + 8), VAL_B);
	EXPECT_EQ(ld(mm, a + PG), 0);		/* dropped: reads zero */
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* MADV_FREE, then reclaim: the clean page is discarded and reads zero;
 * a swapped-out page in the range is dropped by MADV_FREE itself */
TEST(madv_free_then_reclaim_zero)
{
	struct mm_struct *mm;
	long a;

	mmn_check_begin();
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	ASSERT_EQ(mmn_store(mm, a, VAL_A), 0);
	ASSERT_EQ(mmn_store(mm, a + PG, VAL_B), 0);
	ASSERT_EQ(mmn_pageout(mm, a + PG, PG), 0);
	ASSERT_EQ(mmn_madvise(mm, a, 2 * PG, MADV_FREE), 0);
	EXPECT_EQ(stats().swap_used, 0);
	EXPECT_EQ(ld(mm, a), VAL_A);		/* not reclaimed yet */
	EXPECT_EQ(mmn_reclaim(10), 1);
	EXPECT_EQ(stats().anon_pages, 0);
	EXPECT_EQ(ld(mm, a), 0);
	EXPECT_EQ(ld(mm, a + PG), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* MADV_FREE: one CLEAR over the range, the flush after E */
TEST(notify_madv_free_order)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, 4 * PG, RW, PRIV);
	struct mmn_recorder *rec;

	mmn_store(mm, a + PG, 1);
	rec = rec_on(mm, a, MMN_REC_TLBS);
	ASSERT_EQ(mmn_madvise(mm, a, 4 * PG, MADV_FREE), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start CLEAR [+0,+0x4000) blk=1 atomic=0\n"
		"end CLEAR [+0,+0x4000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x1000,+0x2000) atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 3);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* ---- page aging --------------------------------------------------------------- */

TEST(page_aging_6_12_clear_young)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, PG, RW, PRIV);
	struct mmn_recorder *rec;

	mmn_store(mm, a, 1);
	rec = rec_on(mm, a, 0);
	EXPECT_EQ(mmn_page_test_young(mm, a), 1);
	EXPECT_EQ(mmn_page_referenced(mm, a), 1);
	EXPECT_EQ(mmn_page_test_young(mm, a), 0);
	EXPECT_EQ(mmn_page_referenced(mm, a), 0);
	ld(mm, a);
	EXPECT_EQ(mmn_page_referenced(mm, a), 1);
	/* the first test_young is answered by the primary's bit alone */
	ASSERT_STR_CONTAINS(rec_text(rec),
		"clear_young [+0,+0x1000) atomic=1\n"
		"test_young +0x0 atomic=1\n"
		"clear_young [+0,+0x1000) atomic=1\n"
		"clear_young [+0,+0x1000) atomic=1\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 4);
	EXPECT_EQ(mmn_page_referenced(mm, a + PG), -ENOENT);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

TEST(page_aging_6_1_clear_flush_young)
{
	struct mm_struct *mm, *c;
	struct mmn_recorder *rec;
	int err;
	long a;

	mmn_era = MMN_ERA_6_1;
	mm = mmn_mm_create();
	a = mmn_mmap(mm, 0, PG, RW, PRIV);
	mmn_store(mm, a, 1);
	c = mmn_fork(mm, &err);
	ld(c, a);
	rec = rec_on(mm, a, 0);
	/* both mappings are asked; the child's is young, the parent's too */
	EXPECT_EQ(mmn_page_referenced(mm, a), 2);
	ASSERT_STR_CONTAINS(rec_text(rec), "clear_flush_young [+0,+0x1000) atomic=1\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 1);	/* the child's mm is not ours */
	mmn_exit(c);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* ---- OOM reaper ------------------------------------------------------------------ */

struct failing {
	struct mmu_notifier mn;
	unsigned long fail_start;
	int starts, fails;
};

static int failing_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	struct failing *f = container_of(mn, struct failing, mn);

	f->starts++;
	if (!mmu_notifier_range_blockable(r) && r->start == f->fail_start) {
		f->fails++;
		return -EAGAIN;
	}
	return 0;
}

/* a start that can fail has no end (mmu_notifier.h) */
static const struct mmu_notifier_ops failing_ops = {
	.invalidate_range_start = failing_start,
};

TEST(oom_reap_nonblock_skips_vma)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	long b = mmn_mmap(mm, 0, 2 * PG, PROT_READ, PRIV);
	struct failing f = { .mn.ops = &failing_ops };
	struct mmn_recorder *rec;
	char want[256];

	ASSERT_GT(a, 0);
	ASSERT_GT(b, 0);
	mmn_store(mm, a, VAL_A);
	ld(mm, b);
	f.fail_start = a;
	rec = rec_on(mm, 0, 0);
	ASSERT_EQ(mmu_notifier_register(&f.mn, mm), 0);
	mmgrab(mm);
	EXPECT_EQ(mmn_oom_reap(mm), -EAGAIN);
	EXPECT_EQ(f.starts, 2);
	EXPECT_EQ(f.fails, 1);
	/* the reaped VMA: non-blockable start, then its end */
	snprintf(want, sizeof(want),
		 "start UNMAP [%#lx,%#lx) blk=0 atomic=0\n"
		 "end UNMAP [%#lx,%#lx) blk=0 atomic=0\n",
		 (unsigned long)b, (unsigned long)b + 2 * PG,
		 (unsigned long)b, (unsigned long)b + 2 * PG);
	ASSERT_STR_CONTAINS(mmn_recorder_text(rec), want);
	/* the skipped VMA keeps its memory */
	EXPECT_EQ(ld(mm, a), VAL_A);
	mmu_notifier_unregister(&f.mn, mm);
	EXPECT_EQ(mmn_oom_reap(mm), 0);		/* now every VMA goes */
	EXPECT_EQ(mmn_oom_reap(mm), 0);		/* MMF_OOM_SKIP: nothing */
	EXPECT_EQ(stats().anon_pages, 0);
	mmn_exit(mm);
	mmdrop(mm);
	mmn_recorder_destroy(rec);
}

/* the reaper only tries mmap_lock */
TEST(oom_reap_trylock)
{
	struct mm_struct *mm = mmn_mm_create();

	mmap_write_lock(mm);
	EXPECT_EQ(mmn_oom_reap(mm), -EAGAIN);
	mmap_write_unlock(mm);
	EXPECT_EQ(mmn_oom_reap(mm), 0);
	mmn_exit(mm);
}

/* ---- soft-dirty ----------------------------------------------------------------------- */

TEST(soft_dirty_clear_and_redirty)
{
	struct mm_struct *mm = mmn_mm_create();
	long a = mmn_mmap(mm, 0, 2 * PG, RW, PRIV);
	struct mmn_recorder *rec;
	bool w;

	mmn_store(mm, a, 1);
	mmn_store(mm, a + PG, 2);
	ASSERT_EQ(mmn_pageout(mm, a + PG, PG), 0);
	EXPECT_EQ(mmn_page_soft_dirty(mm, a), 1);
	EXPECT_EQ(mmn_page_soft_dirty(mm, a + PG), 1);	/* kept in the swap pte */
	rec = rec_on(mm, a, MMN_REC_TLBS);
	ASSERT_EQ(mmn_clear_soft_dirty(mm), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start SOFT_DIRTY [0,0xffffffffffffffff) blk=1 atomic=0\n"
		"end SOFT_DIRTY [0,0xffffffffffffffff) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [0,0xffffffffffffffff) atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 3);
	EXPECT_EQ(mmn_page_soft_dirty(mm, a), 0);
	EXPECT_EQ(mmn_page_soft_dirty(mm, a + PG), 0);
	ASSERT_EQ(mmn_follow_pte(mm, a, NULL, &w), 0);
	EXPECT_FALSE(w);
	mmn_recorder_clear(rec);
	EXPECT_EQ(ld(mm, a), 1);
	EXPECT_EQ(mmn_page_soft_dirty(mm, a), 0);	/* a read keeps it clean */
	ASSERT_EQ(mmn_store(mm, a, 3), 0);		/* reuse, no notifier */
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_EQ(mmn_page_soft_dirty(mm, a), 1);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}
