// SPDX-License-Identifier: GPL-2.0
/*
 * The checker, rule by rule (DESIGN.md section 6): for every rule a
 * must-report case and a near-miss must-stay-silent case, each built
 * deterministically by one task in sequential steps.
 *
 * Most cases drive a "raw" device directly: a classic mmu_notifier tracked
 * as the device's (so its callback returns are the device's contract
 * points) whose callbacks do nothing unless a test asks them to, and whose
 * translations are mmn_sptes the test makes with mmn_spte_make() and uses
 * with mmn_dev_read()/mmn_dev_write() when it chooses.  A raw device is a
 * driver that never drops anything: whether an access through it is legal
 * is exactly what the checker decides.  The near misses that need a correct
 * driver use dmirror.
 *
 * Every test starts with mmn_check_begin() and ends with mmn_check_audit()
 * (while the processes still exist) and mmn_check_end().
 *
 * Covered elsewhere: unbalanced-range (test_notifier.c,
 * nonblock_eagain_failing_has_end: a failing start whose notifier has an
 * end) and nonblock-violation (test_notifier.c, eagain_blockable_violation,
 * einval_nonblock_violation, interval_nonblock, sleep_in_nonblock); here a
 * correct driver's non-blockable invalidation stays silent.
 */
#include "harness.h"

#include <mmn/device.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/mutex.h>
#include <mmn/linux/spinlock.h>

#include "check/check.h"
#include "mirrors/dmirror.h"

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

/* ------------------------------------------------------------------ */
/* The raw device.                                                      */

struct raw {
	struct mmu_notifier mn;
	struct mmn_device *dev;
	/* optional test actions inside the callbacks */
	void (*on_start)(struct raw *r, const struct mmu_notifier_range *range);
	void (*on_end)(struct raw *r, const struct mmu_notifier_range *range);
	bool lock_mutex;		/* start takes mutex (may sleep) */
	bool under_spinlock;		/* ... while holding spin */
	struct mutex mutex;
	spinlock_t spin;
	/* scratch for the callbacks */
	struct mmn_spte s;
	unsigned long va, pfn;
	uint64_t val;
	int calls;
};

static int raw_start(struct mmu_notifier *mn,
		     const struct mmu_notifier_range *range)
{
	struct raw *r = container_of(mn, struct raw, mn);

	if (r->under_spinlock)
		spin_lock(&r->spin);
	if (r->lock_mutex) {
		mutex_lock(&r->mutex);
		mutex_unlock(&r->mutex);
	}
	if (r->under_spinlock)
		spin_unlock(&r->spin);
	if (r->on_start)
		r->on_start(r, range);
	return 0;
}

static void raw_end(struct mmu_notifier *mn,
		    const struct mmu_notifier_range *range)
{
	struct raw *r = container_of(mn, struct raw, mn);

	if (r->on_end)
		r->on_end(r, range);
}

static const struct mmu_notifier_ops raw_mn_ops = {
	.invalidate_range_start = raw_start,
	.invalidate_range_end = raw_end,
};

/* dma/fault are not used by the direct tests: the test is the hardware. */
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

/* One process with a 4-page private anonymous area and a raw device. */
struct rig {
	struct mm_struct *mm, *child;
	unsigned long va;
	struct raw r;
};

static int rig_init(struct rig *g)
{
	int err;

	memset(g, 0, sizeof(*g));
	mmn_check_begin();
	g->mm = mmn_mm_create();
	if (!g->mm)
		return -ENOMEM;
	g->va = mmn_mmap(g->mm, 0, 4 * PG, RW, PRIV);
	if ((long)g->va < 0)
		return (int)g->va;
	mutex_init(&g->r.mutex);
	spin_lock_init(&g->r.spin);
	g->r.mn.ops = &raw_mn_ops;
	g->r.dev = mmn_device_create(&raw_dev_ops, g->mm, "raw", &err);
	if (!g->r.dev)
		return err;
	err = mmu_notifier_register(&g->r.mn, g->mm);
	if (err)
		return err;
	mmn_device_track(g->r.dev, &g->r.mn);
	return 0;
}

/* Audit (while the processes exist), tear down; returns the audit count. */
static unsigned long rig_fini(struct rig *g)
{
	unsigned long mismatches = mmn_check_audit();

	mmu_notifier_unregister(&g->r.mn, g->mm);
	mmn_device_destroy(g->r.dev);
	if (g->child)
		mmn_exit(g->child);
	mmn_exit(g->mm);
	mutex_destroy(&g->r.mutex);
	spin_lock_destroy(&g->r.spin);
	mmn_check_end();
	return mismatches;
}

/* The pfn the primary maps at @va now (0 if none). */
static unsigned long cur_pfn(struct mm_struct *mm, unsigned long va)
{
	unsigned long pfn;

	if (mmn_follow_pte(mm, va, &pfn, NULL))
		return 0;
	return pfn;
}

/* Translate @va of @dev's mm to whatever the primary maps there now. */
static int make_spte(struct mmn_device *dev, struct mmn_spte *s,
		     unsigned long va, bool writable)
{
	unsigned long pfn = cur_pfn(dev->mm, va);

	if (!pfn)
		return -ENOENT;
	mmn_spte_make(dev, s, va & PAGE_MASK, pfn_to_page(pfn), writable, 0);
	return 0;
}

static int fork_rig(struct rig *g)
{
	int err;

	g->child = mmn_fork(g->mm, &err);
	return g->child ? 0 : err;
}

/* ------------------------------------------------------------------ */
/* stale-read                                                           */

/* a device reads the old frame after the parent's COW write: stale-read */
TEST(stale_read_after_cow)
{
	struct mmn_spte s;
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, false), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);	/* COW: new frame */
	ASSERT_EQ(mmn_dev_read(g.r.dev, &s, g.va, &v), 0);
	EXPECT_EQ(v, VAL_A);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_STALE_READ),
			    "BUG: mmnlab: stale-read in raw");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_STALE_READ),
			    "last written 0xbbbb0002");
	/* and the protocol rule it broke */
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "contract point #");
	rig_fini(&g);
}

static void read_in_clear_start(struct raw *r, const struct mmu_notifier_range *range)
{
	if (range->event != MMU_NOTIFY_CLEAR)
		return;
	r->calls++;
	mmn_dev_read(r->dev, &r->s, r->va, &r->val);
}

/* near miss: the same read inside the device's own COW callback, before its
 * contract point, is legal (the old frame still holds the location) */
TEST(stale_read_near_miss_before_contract)
{
	struct rig g;

	ASSERT_EQ(rig_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &g.r.s, g.va, false), 0);
	g.r.va = g.va;
	ASSERT_EQ(fork_rig(&g), 0);
	g.r.on_start = read_in_clear_start;
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);
	g.r.on_start = NULL;
	EXPECT_EQ(g.r.calls, 1);
	EXPECT_EQ(g.r.val, VAL_A);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* near miss: a correct driver (dmirror) re-faults after COW and reads the
 * new frame */
TEST(stale_read_near_miss_correct_driver)
{
	struct mm_struct *mm, *child;
	struct hmm_dmirror_cmd cmd = { 0 };
	struct mmn_device *dev;
	uint64_t buf[PAGE_SIZE / 8];
	long va;
	int err;

	mmn_check_begin();
	mm = mmn_mm_create();
	va = mmn_mmap(mm, 0, PG, RW, PRIV);
	ASSERT_GT(va, 0);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev);
	ASSERT_EQ(mmn_store(mm, va, VAL_A), 0);
	cmd = (struct hmm_dmirror_cmd){ .addr = va, .ptr = buf, .npages = 1 };
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[0], VAL_A);
	child = mmn_fork(mm, &err);
	ASSERT_TRUE(child);
	ASSERT_EQ(mmn_store(mm, va, VAL_B), 0);
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[0], VAL_B);
	EXPECT_EQ(cmd.faults, 1);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(child);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* lost-write                                                           */

/* a device writes the frame wp_page_copy consumed: lost-write */
TEST(lost_write_after_cow)
{
	struct mmn_spte s;
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, true), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &s, g.va, VAL_C), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_LOST_WRITE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOST_WRITE),
			    "BUG: mmnlab: lost-write in raw");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOST_WRITE),
			    "value 0xcccc0003 went to frame");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LOST_WRITE),
			    "(wp_page_copy)");
	/* the parent never sees it; the child does (it owns the old frame) */
	ASSERT_EQ(mmn_load(g.mm, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	EXPECT_GE(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	rig_fini(&g);
}

/* near miss: the same write before fork lands in the parent's frame, and
 * fork hands it to both processes */
TEST(lost_write_near_miss_before_fork)
{
	struct mmn_spte s;
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, true), 0);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &s, g.va, VAL_C), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va + 8, VAL_B), 0);	/* COW */
	ASSERT_EQ(mmn_load(g.mm, g.va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	ASSERT_EQ(mmn_load(g.child, g.va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* use-after-free                                                       */

/* a device reads through a translation after munmap freed the frame */
TEST(use_after_free_after_munmap)
{
	struct mmn_spte s;
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, true), 0);
	ASSERT_EQ(mmn_munmap(g.mm, g.va, PG), 0);
	ASSERT_EQ(mmn_dev_read(g.r.dev, &s, g.va, &v), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_USE_AFTER_FREE),
			    "BUG: mmnlab: use-after-free in raw");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_USE_AFTER_FREE),
			    "is at generation");
	/* a write is one too, reported once per device and kind (the site) */
	ASSERT_EQ(mmn_dev_write(g.r.dev, &s, g.va, VAL_C), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	rig_fini(&g);
}

/* near miss: the same accesses before munmap */
TEST(use_after_free_near_miss_before_munmap)
{
	struct mmn_spte s;
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, true), 0);
	ASSERT_EQ(mmn_dev_read(g.r.dev, &s, g.va, &v), 0);
	EXPECT_EQ(v, VAL_A);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &s, g.va, VAL_C), 0);
	ASSERT_EQ(mmn_munmap(g.mm, g.va, PG), 0);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* end audit                                                            */

/* a lost write nobody reads again is caught at the end by the audit */
TEST(audit_catches_unread_lost_write)
{
	struct mmn_spte s;
	struct rig g;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, true), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &s, g.va, VAL_C), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_AUDIT), 0);
	/* the parent's location (B in memory, C written) and the child's
	 * (C in memory, A at fork) both differ; one report per run */
	EXPECT_EQ(rig_fini(&g), 2);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_AUDIT), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_AUDIT),
			    "audit mismatch at the end of the run");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_AUDIT),
			    "memory holds 0xbbbb0002, the last write to this location was 0xcccc0003");
}

/* near miss: a correct driver doing the same writes leaves the audit clean */
TEST(audit_near_miss_correct_driver)
{
	struct mm_struct *mm, *child;
	struct mmn_device *dev;
	uint64_t v;
	long va;
	int err;

	mmn_check_begin();
	mm = mmn_mm_create();
	va = mmn_mmap(mm, 0, PG, RW, PRIV);
	ASSERT_GT(va, 0);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev);
	ASSERT_EQ(mmn_store(mm, va, VAL_A), 0);
	v = VAL_A;
	ASSERT_EQ(mmn_device_access(dev, va, true, &v), 0);
	child = mmn_fork(mm, &err);
	ASSERT_TRUE(child);
	ASSERT_EQ(mmn_store(mm, va, VAL_B), 0);
	v = VAL_C;
	ASSERT_EQ(mmn_device_access(dev, va, true, &v), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	ASSERT_EQ(mmn_load(mm, va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	ASSERT_EQ(mmn_load(child, va, &v), 0);
	EXPECT_EQ(v, VAL_A);
	mmn_device_destroy(dev);
	mmn_exit(child);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* access-after-invalidate, rule (a)                                    */

/*
 * A translation made before the contract point of a removing event, used
 * after it: reported even when no data is lost (the parent rewrote the
 * same value, so the old frame still holds the right content).
 */
TEST(aai_rule_a_removing_event)
{
	struct mmn_spte s;
	struct rig g;
	const char *t;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, false), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);	/* COW, same content */
	ASSERT_EQ(mmn_dev_read(g.r.dev, &s, g.va, &v), 0);
	EXPECT_EQ(v, VAL_A);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	EXPECT_EQ(mmn_report_count(), 1);	/* no data violation */
	t = harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE);
	ASSERT_STR_CONTAINS(t, "BUG: mmnlab: access-after-invalidate in raw");
	ASSERT_STR_CONTAINS(t, "invalidate_range_start CLEAR");
	ASSERT_STR_CONTAINS(t, "the translation was made before the device's contract point and the event removes the mapping");
	EXPECT_EQ(rig_fini(&g), 0);
}

/* near miss: a translation re-made after the range ended, to the frame
 * the primary maps now, is legal */
TEST(aai_rule_a_near_miss_remade)
{
	struct mmn_spte s;
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, false), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, true), 0);
	ASSERT_EQ(mmn_dev_read(g.r.dev, &s, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &s, g.va, VAL_C), 0);
	ASSERT_EQ(mmn_load(g.mm, g.va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* protection variant: a write through a writable translation after the
 * contract point of mprotect(PROT_READ) is reported */
TEST(aai_rule_a_protection_write)
{
	struct mmn_spte s;
	struct rig g;
	const char *t;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, true), 0);
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, 4 * PG, PROT_READ), 0);
	ASSERT_EQ(mmn_dev_write(g.r.dev, &s, g.va, VAL_C), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	EXPECT_EQ(mmn_report_count(), 1);
	t = harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE);
	ASSERT_STR_CONTAINS(t, "Write of size 8");
	ASSERT_STR_CONTAINS(t, "PROTECTION_VMA");
	ASSERT_STR_CONTAINS(t, "a write through a translation made before the contract point of a protection change");
	EXPECT_EQ(rig_fini(&g), 0);
}

/* near miss: a read through the same translation after mprotect(PROT_READ)
 * is legal (the event only lowered protection) */
TEST(aai_rule_a_protection_read_near_miss)
{
	struct mmn_spte s;
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(make_spte(g.r.dev, &s, g.va, true), 0);
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, 4 * PG, PROT_READ), 0);
	ASSERT_EQ(mmn_dev_read(g.r.dev, &s, g.va, &v), 0);
	EXPECT_EQ(v, VAL_A);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* access-after-invalidate, rule (b)                                    */

/* Inside the device's range_end of a CLEAR (window still open): translate
 * to r->pfn (0: to what the primary maps now). */
static void make_in_clear_end(struct raw *r, const struct mmu_notifier_range *range)
{
	unsigned long pfn = r->pfn ? r->pfn : cur_pfn(r->dev->mm, r->va);

	if (range->event != MMU_NOTIFY_CLEAR || !pfn)
		return;
	r->calls++;
	mmn_spte_make(r->dev, &r->s, r->va, pfn_to_page(pfn), false, 0);
}

/* a translation made inside an open window that points at the old frame:
 * rule (b), and the read through it is stale */
TEST(aai_rule_b_made_in_window_old_frame)
{
	struct rig g;
	const char *t;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	g.r.va = g.va;
	g.r.pfn = cur_pfn(g.mm, g.va);		/* the frame COW will leave */
	g.r.on_end = make_in_clear_end;
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);
	g.r.on_end = NULL;
	ASSERT_EQ(g.r.calls, 1);
	ASSERT_NE(cur_pfn(g.mm, g.va), g.r.pfn);
	ASSERT_EQ(mmn_dev_read(g.r.dev, &g.r.s, g.va, &v), 0);
	EXPECT_EQ(v, VAL_A);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	t = harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE);
	ASSERT_STR_CONTAINS(t, "(already stale when made)");
	ASSERT_STR_CONTAINS(t, "the translation was made inside an invalidation window and points at a frame the primary no longer maps");
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);
	rig_fini(&g);
}

/* near miss: made inside the same window but to the new frame */
TEST(aai_rule_b_near_miss_new_frame)
{
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	g.r.va = g.va;
	g.r.pfn = 0;				/* whatever is mapped then */
	g.r.on_end = make_in_clear_end;
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);
	g.r.on_end = NULL;
	ASSERT_EQ(g.r.calls, 1);
	EXPECT_EQ(g.r.s.pfn, cur_pfn(g.mm, g.va));
	ASSERT_EQ(mmn_dev_read(g.r.dev, &g.r.s, g.va, &v), 0);
	EXPECT_EQ(v, VAL_B);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

static void make_in_protection_end(struct raw *r,
				   const struct mmu_notifier_range *range)
{
	if (range->event != MMU_NOTIFY_PROTECTION_VMA)
		return;
	r->calls++;
	mmn_spte_make(r->dev, &r->s, r->va, pfn_to_page(cur_pfn(r->dev->mm, r->va)),
		      false, 0);
}

/* near miss: made inside a protection window to the still-mapped frame */
TEST(aai_rule_b_near_miss_still_mapped)
{
	struct rig g;
	uint64_t v;

	ASSERT_EQ(rig_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	g.r.va = g.va;
	g.r.on_end = make_in_protection_end;
	ASSERT_EQ(mmn_mprotect(g.mm, g.va, 4 * PG, PROT_READ), 0);
	g.r.on_end = NULL;
	ASSERT_EQ(g.r.calls, 1);
	ASSERT_EQ(mmn_dev_read(g.r.dev, &g.r.s, g.va, &v), 0);
	EXPECT_EQ(v, VAL_A);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/*
 * Era 2.6.33 changes the pte first and tells the secondaries afterwards
 * (do_wp_page: copy, ptep_clear_flush, set_pte_at, then change_pte).  A
 * translation made in between, after fork's window closed, is stale when
 * made but breaks no contract yet: its contract is the change_pte to come.
 * Made after the device's change_pte returned, it does.
 */
struct early {
	struct mmu_notifier mn;
	struct rig *g;
	bool read;		/* also read through it, still before raw's */
	uint64_t val;
};

static void early_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			     unsigned long address, pte_t pte)
{
	struct early *e = container_of(mn, struct early, mn);
	struct rig *g = e->g;

	/* the raw device's fault installs what its GUP got before the COW */
	mmn_spte_make(g->r.dev, &g->r.s, g->va, pfn_to_page(g->r.pfn), false, 0);
	g->r.calls++;
	if (e->read)
		mmn_dev_read(g->r.dev, &g->r.s, g->va, &e->val);
}

static void raw_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			   unsigned long address, pte_t pte)
{
}

static const struct mmu_notifier_ops raw_mn_ops_legacy = {
	.invalidate_range_start = raw_start,
	.invalidate_range_end = raw_end,
	.change_pte = raw_change_pte,
};

static const struct mmu_notifier_ops early_ops = {
	.change_pte = early_change_pte,
};

/* 2.6.33, a rig whose raw notifier has change_pte, and a notifier
 * registered after it (so called before it) that makes raw's translation
 * to the frame COW is about to leave. */
static int rig_init_2_6_33(struct rig *g, struct early *e)
{
	int err;

	mmn_era = MMN_ERA_2_6_33;
	err = rig_init(g);
	if (err)
		return err;
	mmu_notifier_unregister(&g->r.mn, g->mm);
	g->r.mn.ops = &raw_mn_ops_legacy;
	err = mmu_notifier_register(&g->r.mn, g->mm);
	if (err)
		return err;
	mmn_device_track(g->r.dev, &g->r.mn);
	e->g = g;
	e->mn.ops = &early_ops;
	return mmu_notifier_register(&e->mn, g->mm);
}

TEST(aai_rule_b_2_6_33_near_miss_before_change_pte)
{
	struct early e = { .read = true };
	struct rig g;

	ASSERT_EQ(rig_init_2_6_33(&g, &e), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	g.r.pfn = cur_pfn(g.mm, g.va);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);	/* COW */
	ASSERT_EQ(g.r.calls, 1);
	ASSERT_NE(cur_pfn(g.mm, g.va), g.r.pfn);
	EXPECT_EQ(e.val, VAL_A);	/* the copy's source: same content */
	mmu_notifier_unregister(&e.mn, g.mm);
	EXPECT_EQ(rig_fini(&g), 0);
	mmn_era = MMN_ERA_6_12;
	EXPECT_EQ(mmn_report_count(), 0);
}

TEST(aai_rule_b_2_6_33_stale_after_change_pte)
{
	struct early e = { .read = false };
	struct rig g;
	const char *t;
	uint64_t v;

	ASSERT_EQ(rig_init_2_6_33(&g, &e), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	g.r.pfn = cur_pfn(g.mm, g.va);
	mmu_notifier_unregister(&e.mn, g.mm);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);	/* COW, change_pte */
	/* made after raw's change_pte returned, to the frame COW left */
	mmn_spte_make(g.r.dev, &g.r.s, g.va, pfn_to_page(g.r.pfn), false, 0);
	ASSERT_EQ(mmn_dev_read(g.r.dev, &g.r.s, g.va, &v), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	t = harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE);
	ASSERT_STR_CONTAINS(t, "(already stale when made)");
	ASSERT_STR_CONTAINS(t, "change_pte");
	rig_fini(&g);
	mmn_era = MMN_ERA_6_12;
}

/*
 * Fork and a TLB that walks the CPU page table (SVA): the parent's ptes
 * are write-protected while copying, but the secondary TLB is flushed only
 * at the end of dup_mmap.  A device write in between reaches the frame
 * the child now shares -- Linux's accepted window, as for the CPU's own
 * TLB -- so the child sees it, and that is no violation.  Through the same
 * translation after the flush it is one.
 */
struct tlbdev {
	struct mmu_notifier mn;
	struct mmn_device *dev;
	struct mmn_spte s;
	unsigned long va;
	bool write_in_flush;	/* the device writes while the flush runs */
	int flushes;
};

static void tlbdev_flush(struct mmu_notifier *mn, struct mm_struct *mm,
			 unsigned long start, unsigned long end)
{
	struct tlbdev *t = container_of(mn, struct tlbdev, mn);

	t->flushes++;
	if (t->write_in_flush && start == 0) {	/* fork's flush_tlb_mm */
		t->write_in_flush = false;
		mmn_dev_write(t->dev, &t->s, t->va, VAL_C);
	}
}

static const struct mmu_notifier_ops tlbdev_ops = {
	.arch_invalidate_secondary_tlbs = tlbdev_flush,
};

static int tlbdev_init(struct tlbdev *t, struct mm_struct **mm)
{
	int err;

	memset(t, 0, sizeof(*t));
	mmn_check_begin();
	*mm = mmn_mm_create();
	if (!*mm)
		return -ENOMEM;
	t->va = mmn_mmap(*mm, 0, 4 * PG, RW, PRIV);
	if ((long)t->va < 0)
		return (int)t->va;
	t->mn.ops = &tlbdev_ops;
	t->dev = mmn_device_create(&raw_dev_ops, *mm, "tlbdev", &err);
	if (!t->dev)
		return err;
	err = mmu_notifier_register(&t->mn, *mm);
	if (err)
		return err;
	mmn_device_track(t->dev, &t->mn);
	return 0;
}

static void tlbdev_fini(struct tlbdev *t, struct mm_struct *mm,
			struct mm_struct *child)
{
	mmu_notifier_unregister(&t->mn, mm);
	mmn_device_destroy(t->dev);
	if (child)
		mmn_exit(child);
	mmn_exit(mm);
	mmn_check_end();
}

TEST(fork_window_write_reaches_child_near_miss)
{
	struct mm_struct *mm, *child;
	struct tlbdev t;
	uint64_t v;
	int err;

	ASSERT_EQ(tlbdev_init(&t, &mm), 0);
	ASSERT_EQ(mmn_store(mm, t.va, VAL_A), 0);
	ASSERT_EQ(make_spte(t.dev, &t.s, t.va, true), 0);
	t.write_in_flush = true;
	child = mmn_fork(mm, &err);
	ASSERT_TRUE(child);
	ASSERT_FALSE(t.write_in_flush);		/* it wrote, during the flush */
	ASSERT_EQ(mmn_load(child, t.va, &v), 0);
	EXPECT_EQ(v, VAL_C);			/* the frame is shared */
	ASSERT_EQ(mmn_load(mm, t.va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	EXPECT_EQ(mmn_check_audit(), 0);
	tlbdev_fini(&t, mm, child);
	EXPECT_EQ(mmn_report_count(), 0);
}

TEST(fork_window_write_after_flush_reported)
{
	struct mm_struct *mm, *child;
	struct tlbdev t;
	uint64_t v;
	int err;

	ASSERT_EQ(tlbdev_init(&t, &mm), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(mm, t.va, VAL_A), 0);
	ASSERT_EQ(make_spte(t.dev, &t.s, t.va, true), 0);
	child = mmn_fork(mm, &err);
	ASSERT_TRUE(child);
	ASSERT_GT(t.flushes, 0);
	ASSERT_EQ(mmn_dev_write(t.dev, &t.s, t.va, VAL_C), 0);	/* too late */
	EXPECT_EQ(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	ASSERT_EQ(mmn_load(child, t.va, &v), 0);
	EXPECT_EQ(v, VAL_C);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_STALE_READ), 1);	/* the child */
	tlbdev_fini(&t, mm, child);
}

/* ------------------------------------------------------------------ */
/* sleep-in-atomic inside a notifier callback                            */

/* a driver whose invalidate_range_start takes a mutex under a spinlock */
TEST(sleep_in_atomic_mutex_under_spinlock)
{
	struct rig g;
	const char *t;

	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	g.r.lock_mutex = true;
	g.r.under_spinlock = true;
	ASSERT_EQ(mmn_madvise(g.mm, g.va, PG, MADV_DONTNEED), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_SLEEP_IN_ATOMIC), 1);
	t = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	ASSERT_STR_CONTAINS(t, "BUG: sleeping function called from invalid context");
	ASSERT_STR_CONTAINS(t, "in_atomic(): 1");
	ASSERT_STR_CONTAINS(t, "test_check.c");
	EXPECT_EQ(rig_fini(&g), 0);
}

/* the same mutex in 2.6.33, where range_start ran under rcu_read_lock */
TEST(sleep_in_atomic_era_2_6_33_rcu)
{
	struct rig g;
	const char *t;

	mmn_era = MMN_ERA_2_6_33;
	ASSERT_EQ(rig_init(&g), 0);
	harness_expect_violations();
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	g.r.lock_mutex = true;
	ASSERT_EQ(mmn_madvise(g.mm, g.va, PG, MADV_DONTNEED), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_SLEEP_IN_ATOMIC), 1);
	t = harness_violation_text(MMN_V_SLEEP_IN_ATOMIC);
	ASSERT_STR_CONTAINS(t, "BUG: sleeping function called from invalid context");
	ASSERT_STR_CONTAINS(t, "RCU nest depth: 1, expected: 0");
	EXPECT_EQ(rig_fini(&g), 0);
	mmn_era = MMN_ERA_6_12;
}

/* near miss: the same mutex in 6.12 with no spinlock (a blockable range) */
TEST(sleep_in_atomic_near_miss_6_12)
{
	struct rig g;

	ASSERT_EQ(rig_init(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_A), 0);
	g.r.lock_mutex = true;
	ASSERT_EQ(mmn_madvise(g.mm, g.va, PG, MADV_DONTNEED), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_B), 0);
	ASSERT_EQ(fork_rig(&g), 0);
	ASSERT_EQ(mmn_store(g.mm, g.va, VAL_C), 0);
	ASSERT_EQ(mmn_munmap(g.mm, g.va, PG), 0);
	EXPECT_EQ(rig_fini(&g), 0);
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* nonblock                                                             */

/* near miss: a correct driver (dmirror) on a non-blockable range trylocks
 * its mutex and succeeds; no report (the must-report cases are in
 * test_notifier.c) */
TEST(nonblock_near_miss_dmirror)
{
	struct mm_struct *mm;
	struct mmu_notifier_range r;
	struct mmn_device *dev;
	uint64_t v = VAL_A;
	long va;
	int err;

	mmn_check_begin();
	mm = mmn_mm_create();
	va = mmn_mmap(mm, 0, PG, RW, PRIV);
	ASSERT_GT(va, 0);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev);
	ASSERT_EQ(mmn_device_access(dev, va, true, &v), 0);
	mmu_notifier_range_init(&r, MMU_NOTIFY_CLEAR, 0, mm, va, va + PG);
	EXPECT_EQ(mmu_notifier_invalidate_range_start_nonblock(&r), 0);
	mmu_notifier_invalidate_range_end(&r);
	/* the entry is gone: the next access faults */
	dev->faults = 0;
	ASSERT_EQ(mmn_device_access(dev, va, false, &v), 0);
	EXPECT_EQ(v, VAL_A);
	EXPECT_EQ(dev->faults, 1);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
}

/* ------------------------------------------------------------------ */
/* livelock                                                             */

struct stuck {
	struct mmn_spte s;
	bool have;
	int faults, succeed_at;		/* succeed_at 0: never */
};

static int stuck_dma(struct mmn_device *dev, unsigned long va, bool write,
		     uint64_t *val)
{
	struct stuck *st = dev->priv;

	if (!st->have)
		return -ENOENT;
	return write ? mmn_dev_write(dev, &st->s, va, *val) :
		       mmn_dev_read(dev, &st->s, va, val);
}

/* a fault that "succeeds" without installing anything, until succeed_at */
static int stuck_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	struct stuck *st = dev->priv;

	if (++st->faults == st->succeed_at) {
		if (make_spte(dev, &st->s, va, write))
			return -EFAULT;
		st->have = true;
	}
	return 0;
}

static const struct mmn_device_ops stuck_ops = {
	.name = "stuck",
	.dma = stuck_dma,
	.fault = stuck_fault,
};

static int stuck_run(int succeed_at, int *faults, uint64_t *out)
{
	struct stuck st = { .succeed_at = succeed_at };
	struct mmn_device *dev;
	struct mm_struct *mm;
	uint64_t v = 0;
	long va;
	int err, ret;

	mmn_check_begin();
	mm = mmn_mm_create();
	va = mmn_mmap(mm, 0, PG, RW, PRIV);
	mmn_store(mm, va, VAL_A);
	dev = mmn_device_create(&stuck_ops, mm, "stuck", &err);
	if (!dev)
		return err;
	dev->priv = &st;
	ret = mmn_device_access(dev, va, false, &v);
	*faults = st.faults;
	*out = v;
	mmn_check_audit();
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	return ret;
}

/* a fault loop that never installs anything is a livelock past the bound */
TEST(livelock_fault_never_installs)
{
	uint64_t v;
	int faults;

	harness_expect_violations();
	EXPECT_EQ(stuck_run(0, &faults, &v), -EDEADLK);
	EXPECT_GT(faults, 1000);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_LIVELOCK), 1);
	EXPECT_EQ(mmn_report_count(), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LIVELOCK),
			    "BUG: mmnlab: livelock in stuck (form stuck)");
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_LIVELOCK),
			    "without progress");
}

/* near miss: a fault that succeeds on the second try */
TEST(livelock_near_miss_second_try)
{
	uint64_t v;
	int faults;

	EXPECT_EQ(stuck_run(2, &faults, &v), 0);
	EXPECT_EQ(faults, 2);
	EXPECT_EQ(v, VAL_A);
	EXPECT_EQ(mmn_report_count(), 0);
}
