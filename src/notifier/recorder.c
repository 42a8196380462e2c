// SPDX-License-Identifier: GPL-2.0
/*
 * The recording secondary MMU (<mmn/recorder.h>).
 *
 * Each callback samples in_atomic() first, then appends its line under
 * rec->lock, a spinlock: several callbacks (arch_invalidate_secondary_tlbs,
 * the young ones, the legacy ones) run in atomic context, where a mutex
 * may not be taken.  The interval invalidate also sets the subscription's
 * seq under rec->lock, as the protocol asks of any driver.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/recorder.h>
#include <mmn/report.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/spinlock.h>

struct mmn_recorder {
	struct mmu_notifier mn;			/* classic */
	struct mmu_notifier tlbs;		/* arch_invalidate_secondary_tlbs */
	struct mmu_interval_notifier isub;
	struct mm_struct *mm;
	unsigned int flags;
	bool mn_registered, tlbs_registered, isub_inserted;

	spinlock_t lock;	/* everything below */
	unsigned int refuse_atomic;	/* MMN_REC_HOLT: starts left to refuse */
	unsigned long base;
	struct mmn_buf buf;
	unsigned long nr_lines;
};

static struct mmn_recorder *rec_of_mn(struct mmu_notifier *mn)
{
	return container_of(mn, struct mmn_recorder, mn);
}

/*
 * One address: relative to the base if one is set (+0x.. or -0x..), except
 * 0 and ULONG_MAX, the bounds of whole-address-space ranges.
 */
static void rec_addr(struct mmn_recorder *rec, struct mmn_buf *b,
		     unsigned long a)
{
	if (!rec->base || a == 0 || a == ULONG_MAX)
		mmn_buf_printf(b, "0x%lx", a);
	else if (a >= rec->base)
		mmn_buf_printf(b, "+0x%lx", a - rec->base);
	else
		mmn_buf_printf(b, "-0x%lx", rec->base - a);
}

static void rec_range(struct mmn_recorder *rec, struct mmn_buf *b,
		      unsigned long start, unsigned long end)
{
	mmn_buf_printf(b, "[");
	rec_addr(rec, b, start);
	mmn_buf_printf(b, ",");
	rec_addr(rec, b, end);
	mmn_buf_printf(b, ")");
}

/* Append one line: @head, an optional range or address, then @tail. */
enum { REC_NONE, REC_RANGE, REC_ADDR };

static void rec_line(struct mmn_recorder *rec, const char *head, int what,
		     unsigned long a, unsigned long b, const char *tail)
{
	spin_lock(&rec->lock);
	mmn_buf_printf(&rec->buf, "%s", head);
	if (what == REC_RANGE) {
		mmn_buf_printf(&rec->buf, " ");
		rec_range(rec, &rec->buf, a, b);
	} else if (what == REC_ADDR) {
		mmn_buf_printf(&rec->buf, " ");
		rec_addr(rec, &rec->buf, a);
	}
	mmn_buf_printf(&rec->buf, "%s\n", tail);
	rec->nr_lines++;
	spin_unlock(&rec->lock);
}

static void rec_range_line(struct mmn_recorder *rec, const char *what,
			   const struct mmu_notifier_range *range, bool atomic)
{
	char head[64], tail[48];

	snprintf(head, sizeof(head), "%s %s", what,
		 mmu_notifier_event_name(range->event));
	snprintf(tail, sizeof(tail), " blk=%d atomic=%d",
		 mmu_notifier_range_blockable(range), atomic);
	rec_line(rec, head, REC_RANGE, range->start, range->end, tail);
}

static const char *rec_atomic(bool atomic)
{
	return atomic ? " atomic=1" : " atomic=0";
}

/* ---- classic notifier ------------------------------------------------ */

static void rec_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	rec_line(rec_of_mn(mn), "release", REC_NONE, 0, 0, "");
}

static int rec_start(struct mmu_notifier *mn,
		     const struct mmu_notifier_range *range)
{
	bool atomic = mmn_in_atomic();

	rec_range_line(rec_of_mn(mn), "start", range, atomic);
	return 0;
}

/*
 * era 2.6.33+holt: Robin Holt's range_start.  Held: i_mmap_lock when
 * @atomic (must not sleep); it never sleeps anyway.
 */
static int rec_start_atomic(struct mmu_notifier *mn, struct mm_struct *mm,
			    unsigned long start, unsigned long end, bool atomic)
{
	struct mmn_recorder *rec = rec_of_mn(mn);
	bool in_atomic = mmn_in_atomic();
	char tail[64];
	int ret = 0;

	spin_lock(&rec->lock);
	if (atomic && rec->refuse_atomic) {
		rec->refuse_atomic--;
		ret = 1;
	}
	spin_unlock(&rec->lock);
	snprintf(tail, sizeof(tail), " arg=%d ret=%d atomic=%d", atomic, ret,
		 in_atomic);
	rec_line(rec, "start_atomic", REC_RANGE, start, end, tail);
	return ret;
}

static void rec_end(struct mmu_notifier *mn,
		    const struct mmu_notifier_range *range)
{
	bool atomic = mmn_in_atomic();

	rec_range_line(rec_of_mn(mn), "end", range, atomic);
}

static int rec_clear_flush_young(struct mmu_notifier *mn, struct mm_struct *mm,
				 unsigned long start, unsigned long end)
{
	bool atomic = mmn_in_atomic();

	rec_line(rec_of_mn(mn), "clear_flush_young", REC_RANGE, start, end,
		 rec_atomic(atomic));
	return 0;
}

static int rec_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			   unsigned long start, unsigned long end)
{
	bool atomic = mmn_in_atomic();

	rec_line(rec_of_mn(mn), "clear_young", REC_RANGE, start, end,
		 rec_atomic(atomic));
	return 0;
}

static int rec_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			  unsigned long address)
{
	bool atomic = mmn_in_atomic();

	rec_line(rec_of_mn(mn), "test_young", REC_ADDR, address, 0,
		 rec_atomic(atomic));
	return 0;
}

static void rec_invalidate_range(struct mmu_notifier *mn, struct mm_struct *mm,
				 unsigned long start, unsigned long end)
{
	bool atomic = mmn_in_atomic();

	rec_line(rec_of_mn(mn), "invalidate_range", REC_RANGE, start, end,
		 rec_atomic(atomic));
}

static void rec_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			   unsigned long address, pte_t pte)
{
	bool atomic = mmn_in_atomic();

	rec_line(rec_of_mn(mn), "change_pte", REC_ADDR, address, 0,
		 rec_atomic(atomic));
}

static void rec_invalidate_page(struct mmu_notifier *mn, struct mm_struct *mm,
				unsigned long address)
{
	bool atomic = mmn_in_atomic();

	rec_line(rec_of_mn(mn), "invalidate_page", REC_ADDR, address, 0,
		 rec_atomic(atomic));
}

static const struct mmu_notifier_ops rec_ops = {
	.release		= rec_release,
	.invalidate_range_start	= rec_start,
	.invalidate_range_end	= rec_end,
	.clear_flush_young	= rec_clear_flush_young,
	.clear_young		= rec_clear_young,
	.test_young		= rec_test_young,
};

static const struct mmu_notifier_ops rec_ops_no_young = {
	.release		= rec_release,
	.invalidate_range_start	= rec_start,
	.invalidate_range_end	= rec_end,
};

static const struct mmu_notifier_ops rec_ops_legacy = {
	.release		= rec_release,
	.invalidate_range_start	= rec_start,
	.invalidate_range_end	= rec_end,
	.clear_flush_young	= rec_clear_flush_young,
	.clear_young		= rec_clear_young,
	.test_young		= rec_test_young,
	.invalidate_range	= rec_invalidate_range,
	.change_pte		= rec_change_pte,
	.invalidate_page	= rec_invalidate_page,
};

static const struct mmu_notifier_ops rec_ops_legacy_no_young = {
	.release		= rec_release,
	.invalidate_range_start	= rec_start,
	.invalidate_range_end	= rec_end,
	.invalidate_range	= rec_invalidate_range,
	.change_pte		= rec_change_pte,
	.invalidate_page	= rec_invalidate_page,
};

static const struct mmu_notifier_ops rec_ops_holt = {
	.release			= rec_release,
	.invalidate_range_start_atomic	= rec_start_atomic,
	.invalidate_range_end		= rec_end,
};

static const struct mmu_notifier_ops rec_ops_holt_legacy = {
	.release			= rec_release,
	.invalidate_range_start_atomic	= rec_start_atomic,
	.invalidate_range_end		= rec_end,
	.change_pte			= rec_change_pte,
	.invalidate_page		= rec_invalidate_page,
};

/* ---- tlbs notifier ---------------------------------------------------- */

static void rec_tlbs_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	rec_line(container_of(mn, struct mmn_recorder, tlbs), "release tlbs",
		 REC_NONE, 0, 0, "");
}

static void rec_arch_invalidate_secondary_tlbs(struct mmu_notifier *mn,
					       struct mm_struct *mm,
					       unsigned long start,
					       unsigned long end)
{
	bool atomic = mmn_in_atomic();

	rec_line(container_of(mn, struct mmn_recorder, tlbs),
		 "arch_invalidate_secondary_tlbs", REC_RANGE, start, end,
		 rec_atomic(atomic));
}

static const struct mmu_notifier_ops rec_tlbs_ops = {
	.release			= rec_tlbs_release,
	.arch_invalidate_secondary_tlbs	= rec_arch_invalidate_secondary_tlbs,
};

/* ---- interval notifier ------------------------------------------------ */

static bool rec_interval_invalidate(struct mmu_interval_notifier *isub,
				    const struct mmu_notifier_range *range,
				    unsigned long cur_seq)
{
	struct mmn_recorder *rec = container_of(isub, struct mmn_recorder, isub);
	char head[64], tail[48];

	snprintf(head, sizeof(head), "interval %s",
		 mmu_notifier_event_name(range->event));
	snprintf(tail, sizeof(tail), " blk=%d seq=%lu",
		 mmu_notifier_range_blockable(range), cur_seq);
	spin_lock(&rec->lock);
	/* the driver lock of the collision-retry protocol */
	mmu_interval_set_seq(isub, cur_seq);
	spin_unlock(&rec->lock);
	rec_line(rec, head, REC_RANGE, range->start, range->end, tail);
	return true;
}

static const struct mmu_interval_notifier_ops rec_interval_ops = {
	.invalidate = rec_interval_invalidate,
};

/* ---- API ---------------------------------------------------------------- */

struct mmn_recorder *mmn_recorder_create(struct mm_struct *mm, unsigned int flags,
					 int *err)
{
	struct mmn_recorder *rec = calloc(1, sizeof(*rec));
	bool young = !(flags & MMN_REC_NO_YOUNG);
	int ret;

	if (!rec) {
		ret = -ENOMEM;
		goto out;
	}
	rec->mm = mm;
	rec->flags = flags;
	mmn_spin_lock_init(&rec->lock.rlock, "&recorder->lock");
	if (flags & MMN_REC_HOLT)
		rec->mn.ops = flags & MMN_REC_LEGACY ? &rec_ops_holt_legacy :
						       &rec_ops_holt;
	else if (flags & MMN_REC_LEGACY)
		rec->mn.ops = young ? &rec_ops_legacy : &rec_ops_legacy_no_young;
	else
		rec->mn.ops = young ? &rec_ops : &rec_ops_no_young;
	ret = mmu_notifier_register(&rec->mn, mm);
	if (ret)
		goto out_free;
	rec->mn_registered = true;
	if (flags & MMN_REC_TLBS) {
		rec->tlbs.ops = &rec_tlbs_ops;
		ret = mmu_notifier_register(&rec->tlbs, mm);
		if (ret)
			goto out_destroy;
		rec->tlbs_registered = true;
	}
	if (err)
		*err = 0;
	return rec;

out_destroy:
	mmn_recorder_destroy(rec);
	rec = NULL;
	goto out;
out_free:
	mmn_spin_lock_destroy(&rec->lock.rlock);
	free(rec);
	rec = NULL;
out:
	if (err)
		*err = ret;
	return NULL;
}

int mmn_recorder_add_interval(struct mmn_recorder *rec, unsigned long start,
			      unsigned long length)
{
	int ret;

	if (rec->isub_inserted)
		return -EBUSY;
	ret = mmu_interval_notifier_insert(&rec->isub, rec->mm, start, length,
					   &rec_interval_ops);
	if (!ret)
		rec->isub_inserted = true;
	return ret;
}

void mmn_recorder_remove_interval(struct mmn_recorder *rec)
{
	if (!rec->isub_inserted)
		return;
	mmu_interval_notifier_remove(&rec->isub);
	rec->isub_inserted = false;
}

void mmn_recorder_unregister(struct mmn_recorder *rec)
{
	if (rec->tlbs_registered) {
		mmu_notifier_unregister(&rec->tlbs, rec->mm);
		rec->tlbs_registered = false;
	}
	if (rec->mn_registered) {
		mmu_notifier_unregister(&rec->mn, rec->mm);
		rec->mn_registered = false;
	}
}

void mmn_recorder_refuse_atomic(struct mmn_recorder *rec, unsigned int n)
{
	spin_lock(&rec->lock);
	rec->refuse_atomic = n;
	spin_unlock(&rec->lock);
}

void mmn_recorder_set_base(struct mmn_recorder *rec, unsigned long base)
{
	spin_lock(&rec->lock);
	rec->base = base;
	spin_unlock(&rec->lock);
}

void mmn_recorder_mark(struct mmn_recorder *rec, const char *text)
{
	char head[256];

	snprintf(head, sizeof(head), "# %s", text);
	rec_line(rec, head, REC_NONE, 0, 0, "");
}

const char *mmn_recorder_text(struct mmn_recorder *rec)
{
	const char *s;

	spin_lock(&rec->lock);
	s = rec->buf.s ? rec->buf.s : "";
	spin_unlock(&rec->lock);
	return s;
}

char *mmn_recorder_dup_text(struct mmn_recorder *rec)
{
	char *s;

	spin_lock(&rec->lock);
	s = strdup(rec->buf.s ? rec->buf.s : "");
	spin_unlock(&rec->lock);
	return s;
}

unsigned long mmn_recorder_lines(struct mmn_recorder *rec)
{
	unsigned long n;

	spin_lock(&rec->lock);
	n = rec->nr_lines;
	spin_unlock(&rec->lock);
	return n;
}

void mmn_recorder_clear(struct mmn_recorder *rec)
{
	spin_lock(&rec->lock);
	mmn_buf_free(&rec->buf);
	rec->nr_lines = 0;
	spin_unlock(&rec->lock);
}

void mmn_recorder_destroy(struct mmn_recorder *rec)
{
	if (!rec)
		return;
	mmn_recorder_remove_interval(rec);
	mmn_recorder_unregister(rec);
	mmn_buf_free(&rec->buf);
	mmn_spin_lock_destroy(&rec->lock.rlock);
	free(rec);
}
