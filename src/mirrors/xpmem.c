// SPDX-License-Identifier: GPL-2.0
/*
 * xpmem: SGI/HPE XPMEM (github hpc/xpmem: kernel/xpmem_attach.c,
 * xpmem_mmu_notifier.c), written against the kernel-shaped headers,
 * <mmn/device.h> and <mmn/linux/pfnmap.h>.
 *
 * Process A (the source, dev->mm) exports a range (xpmem_make); process B
 * gets and attaches it (xpmem_get, xpmem_attach): B gets a VM_PFNMAP VMA
 * whose ptes hold A's frames.  B's CPU is the secondary MMU: a fault in the
 * attachment resolves through A's mm -- A's mmap_lock, GUP pinning the
 * frame -- and inserts the pfn in B's page table.  A's notifier zaps B's
 * ptes (zap_vma_ptes: a nested CLEAR invalidation of B's mm) and unpins,
 * under a sleeping mutex.  For the checker an attached address *is* the
 * source's location (the PFN map is registered as an alias of A), so B's
 * loads and stores are checked against A's memory.
 *
 *   B faults (xpmem_fault)                   A's invalidation (sync-start)
 *   ----------------------                   -----------------------------
 *   seq = mmu_interval_read_begin()
 *   mmap_read_lock(A); GUP(A, va) = pin;
 *   mmap_read_unlock(A)                      interval invalidate:
 *                                              mutex_lock(invalidate_mutex)
 *                                              mmu_interval_set_seq()
 *                                              zap_vma_ptes(B's VMA), unpin
 *                                              mutex_unlock
 *                                            [A's pte change, free ...]
 *   mutex_lock(invalidate_mutex)
 *   if (mmu_interval_read_retry(seq))
 *        unpin, start over
 *   vmf_insert_pfn(B, pfn)
 *   mutex_unlock
 *
 * Forms:
 *   sync-start  the above: the zap runs in the invalidation that opens the
 *               range (an interval notifier: its ->invalidate is called
 *               from invalidate_range_start), sleeping on the mutex; on a
 *               non-blockable range with pages attached it fails (false,
 *               i.e. -EAGAIN).  Correct under 6.1/6.12.  In era 2.6.33 no
 *               interval notifier and no blockable flag existed: the same
 *               zap runs from a classic invalidate_range_start, which the
 *               core called under rcu_read_lock -- the mutex is reported as
 *               sleep-in-atomic, which is why Robin Holt asked for a sleepable
 *               range_start in 2010.  Under 2.6.33+holt: Robin's protocol,
 *               below.
 *   end-only    what hpc/xpmem does today: a classic notifier with only
 *               invalidate_range_end (+ release), which ignores
 *               invalidations not raised by a thread of the source process
 *               (kswapd, khugepaged, ksmd; here: any task whose mm is not
 *               A) and zaps when all pages in the range "have been
 *               unmapped and freed".  No sequence in the fault.  Between
 *               A's pte change and A's range_end, B's CPU reads and writes
 *               A's old frame: stale-read, lost-write.
 *   deferred    the 2010 asynchronous proposal: the invalidation queues the
 *               zap to a worker and returns at once; B keeps the old frame
 *               until the worker runs (lost-write, stale-read).
 *
 * Era option 2.6.33+holt (Robin Holt's RFP-V2, reference linux-2.6.33.md
 * section 4; <mmn/era.h>): sync-start registers Robin's range_start,
 * ->invalidate_range_start_atomic(mn, mm, start, end, bool atomic), plus
 * range_end, and its fault follows KVM's in-progress/sequence protocol
 * (there is no interval notifier in 2010):
 *
 *   B faults (xpmem_fault)                  A's range_start(atomic) .. end
 *   ----------------------                  ------------------------------
 *   wait_event(mn_wq, !mn_active)           spin_lock(mn_lock)
 *   seq = mn_seq                            mn_active++; mn_seq++
 *   mmap_read_lock(A); GUP(A, va) = pin;    spin_unlock(mn_lock)
 *   mmap_read_unlock(A)                     atomic (truncate, i_mmap_lock):
 *                                             no sleeping: mutex_trylock()s;
 *                                             a page of the range attached
 *                                             (or a mutex busy): return 1,
 *                                             invalidate nothing; else 0
 *                                           !atomic (every other site, and
 *                                             truncate's unlocked retry):
 *                                             mutex_lock(invalidate_mutex)
 *                                             zap_vma_ptes(B), unpin
 *                                             mutex_unlock; return 0
 *   mutex_lock(invalidate_mutex)            [A's pte change, free ...]
 *   spin_lock(mn_lock)                      range_end (also after a
 *   retry = mn_active || seq != mn_seq        refusal): spin_lock(mn_lock)
 *   spin_unlock(mn_lock)                      mn_active--; mn_seq++
 *   if (retry) unpin, start over              spin_unlock; wake_up_all
 *   vmf_insert_pfn(B, pfn)
 *   mutex_unlock
 *
 * A fault that passed its check before start is zapped by the !atomic
 * start (it holds the mutex that start needs) or, against an atomic start,
 * makes it refuse (its pin is seen, or its mutex is busy); a fault that
 * checks after start retries until range_end; one that read mn_seq between
 * start and end (its wait passed just before start) sees end's bump and
 * retries -- without it, random exploration of truncate-holt.mmn found B
 * mapping a page the restarted walk had just truncated.  A refusal is
 * always safe: the truncate path then calls start(atomic = false) outside
 * i_mmap_lock (truncate.c), and its restart finds nothing attached.  The
 * reclaim, migration and KSM sites call invalidate_page/change_pte, atomic
 * under the PT lock even with the proposal; XPMEM implements neither (its
 * attachments pin the pages).  The deferred and end-only forms are as in
 * plain 2.6.33.
 *
 * Lab simplifications: one invalidate mutex per segment (hpc/xpmem has one
 * per attachment; the sequence is per segment here, and read_retry must be
 * checked under the lock that set_seq is called under); a partial munmap
 * of an attachment detaches all of it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <mmn/device.h>
#include <mmn/era.h>
#include <mmn/linux/mm.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/mutex.h>
#include <mmn/linux/pfnmap.h>
#include <mmn/linux/sched.h>
#include <mmn/linux/spinlock.h>
#include <mmn/linux/wait.h>
#include <mmn/mm.h>

#include "mirrors/xpmem.h"

enum xpmem_form {
	XPMEM_SYNC_START,
	XPMEM_END_ONLY,
	XPMEM_DEFERRED,
};

static const char *const xpmem_forms[] = {
	"sync-start", "end-only", "deferred", NULL
};

static const char *const xpmem_form_docs[] = {
	"zap the attachers' ptes in the invalidation at range start, under a sleeping mutex; -EAGAIN when not blockable",
	"hpc/xpmem today: zap only in invalidate_range_end, only for the source's own threads",
	"the 2010 asynchronous proposal: queue the zap to a worker and return",
	NULL
};

struct xpmem;
struct xpmem_segment;

struct xpmem_attachment {
	struct xpmem_segment *seg;
	struct mm_struct *mm;		/* the attacher (mmgrab'ed) */
	struct mmn_pfnmap pm;
	unsigned long offset;		/* into the segment */
	unsigned long at_vaddr, size;
	struct page **pages;		/* pinned source pages; under the mutex */
	bool detached;
	struct xpmem_attachment *next;
};

struct xpmem_segment {
	struct xpmem *xp;
	long segid;
	unsigned long vaddr, size;	/* source range [vaddr, vaddr + size) */
	struct mmu_interval_notifier notifier;
	bool has_notifier;
	struct mutex invalidate_mutex;	/* attachments' ptes and pins */
	struct xpmem_attachment *atts;
	struct xpmem_segment *next;
};

struct xpmem_deferred {
	struct xpmem_segment *seg;
	unsigned long start, end;
	struct xpmem_deferred *next;
};

struct xpmem {
	struct mmn_device *dev;
	enum xpmem_form form;
	bool legacy;			/* era 2.6.33: classic start */
	bool holt;			/* era 2.6.33+holt, sync-start */
	/* holt: the invalidations of A in progress, for B's faults */
	spinlock_t mn_lock;		/* mn_active, mn_seq */
	unsigned long mn_active;	/* starts whose end has not run */
	unsigned long mn_seq;		/* bumped by every start and end */
	wait_queue_head_t mn_wq;	/* faults waiting for mn_active == 0 */
	struct mmu_notifier mn;		/* end-only, and era 2.6.33 */
	bool has_mn;
	struct mutex lock;		/* the segment list */
	struct mutex attach_mutex;	/* the device's own attaches */
	struct xpmem_segment *segs;
	long next_segid;
	struct mm_struct *attacher;	/* the device's process B */
	/* the deferred form's worker */
	spinlock_t deferred_lock;
	struct xpmem_deferred *deferred_head, **deferred_tail;
	unsigned long deferred_busy;	/* popped, not yet done */
	wait_queue_head_t deferred_wq;
	bool worker_stop, worker_hold;
	struct mmn_task *worker;
};

/* ---- clearing the attachers' ptes --------------------------------------- */

/*
 * xpmem_clear_PTEs_range(): zap what the attachments of @seg map of the
 * source range [start, end) and unpin it.  Holds seg->invalidate_mutex.
 */
static void xpmem_clear_ptes(struct xpmem_segment *seg, unsigned long start,
			     unsigned long end)
{
	for (struct xpmem_attachment *att = seg->atts; att; att = att->next) {
		unsigned long s = seg->vaddr + att->offset, e = s + att->size;

		if (att->detached)
			continue;
		s = max(s, start & PAGE_MASK);
		e = min(e, end ? end : ~0UL);
		if (s >= e)
			continue;
		/* the attacher's mapping goes first, then the pins */
		zap_vma_ptes(att->pm.vma, att->at_vaddr + (s - seg->vaddr - att->offset),
			     e - s);
		for (unsigned long a = s; a < e; a += PAGE_SIZE) {
			unsigned long i = (a - seg->vaddr - att->offset) >> PAGE_SHIFT;

			if (att->pages[i]) {
				put_page(att->pages[i]);
				att->pages[i] = NULL;
			}
		}
	}
}

static bool xpmem_pinned_in(struct xpmem_segment *seg, unsigned long start,
			    unsigned long end)
{
	for (struct xpmem_attachment *att = seg->atts; att; att = att->next) {
		unsigned long s = seg->vaddr + att->offset;

		for (unsigned long i = 0; i < att->size >> PAGE_SHIFT; i++) {
			unsigned long a = s + (i << PAGE_SHIFT);

			if (att->pages[i] && a >= (start & PAGE_MASK) &&
			    (end == 0 || a < end))
				return true;
		}
	}
	return false;
}

static bool seg_overlaps(struct xpmem_segment *seg, unsigned long start,
			 unsigned long end)
{
	return seg->vaddr < end && start < seg->vaddr + seg->size;
}

static void xpmem_clear_all(struct xpmem *xp, unsigned long start,
			    unsigned long end);

/* ---- the deferred form's worker -------------------------------------- */

static void xpmem_defer(struct xpmem *xp, struct xpmem_segment *seg,
			unsigned long start, unsigned long end)
{
	struct xpmem_deferred *d = malloc(sizeof(*d));

	if (!d)
		abort();
	d->seg = seg;
	d->start = start;
	d->end = end;
	d->next = NULL;
	spin_lock(&xp->deferred_lock);
	*xp->deferred_tail = d;
	xp->deferred_tail = &d->next;
	spin_unlock(&xp->deferred_lock);
	wake_up(&xp->deferred_wq);
}

static bool xpmem_deferred_pending(struct xpmem *xp)
{
	bool ret;

	spin_lock(&xp->deferred_lock);
	ret = (xp->deferred_head && !xp->worker_hold) || xp->worker_stop;
	spin_unlock(&xp->deferred_lock);
	return ret;
}

static void *xpmem_worker(void *arg)
{
	struct xpmem *xp = arg;

	for (;;) {
		struct xpmem_deferred *d;

		wait_event(xp->deferred_wq, xpmem_deferred_pending(xp));
		spin_lock(&xp->deferred_lock);
		d = xp->worker_hold && !xp->worker_stop ? NULL : xp->deferred_head;
		if (d) {
			xp->deferred_head = d->next;
			if (!d->next)
				xp->deferred_tail = &xp->deferred_head;
			xp->deferred_busy++;
		}
		spin_unlock(&xp->deferred_lock);
		if (!d) {
			if (xp->worker_stop)
				return NULL;
			continue;
		}
		if (d->seg) {
			mutex_lock(&d->seg->invalidate_mutex);
			xpmem_clear_ptes(d->seg, d->start, d->end);
			mutex_unlock(&d->seg->invalidate_mutex);
		} else {
			xpmem_clear_all(xp, d->start, d->end);
		}
		free(d);
		spin_lock(&xp->deferred_lock);
		xp->deferred_busy--;
		spin_unlock(&xp->deferred_lock);
	}
}

void xpmem_hold_worker(struct mmn_device *dev, bool hold)
{
	struct xpmem *xp = dev->priv;

	spin_lock(&xp->deferred_lock);
	xp->worker_hold = hold;
	spin_unlock(&xp->deferred_lock);
	wake_up(&xp->deferred_wq);
}

void xpmem_flush_deferred(struct mmn_device *dev)
{
	struct xpmem *xp = dev->priv;

	xpmem_hold_worker(dev, false);
	for (;;) {
		bool idle;

		spin_lock(&xp->deferred_lock);
		idle = !xp->deferred_head && !xp->deferred_busy;
		spin_unlock(&xp->deferred_lock);
		if (idle || !xp->worker)
			return;
		cond_resched();
	}
}

/* ---- notifiers -------------------------------------------------------------- */

/*
 * Interval invalidate (sync-start, deferred; eras 6.1/6.12): called from
 * invalidate_range_start (and with RELEASE at exit) with A's mmap_lock
 * and/or rmap locks held.  May sleep iff blockable.  On return (sync-start)
 * no attacher maps a source page of the range, and read_retry() makes a
 * racing fault start over.
 */
static bool xpmem_seg_invalidate(struct mmu_interval_notifier *mni,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq)
{
	struct xpmem_segment *seg = container_of(mni, struct xpmem_segment,
						 notifier);

	if (seg->xp->form == XPMEM_DEFERRED) {
		/* BROKEN: nothing is gone when this returns */
		mmu_interval_set_seq(mni, cur_seq);
		xpmem_defer(seg->xp, seg, range->start, range->end);
		return true;
	}
	if (!mmu_notifier_range_blockable(range)) {
		/* zap_vma_ptes() sleeps: only succeed if nothing is attached */
		if (!mutex_trylock(&seg->invalidate_mutex))
			return false;
		if (xpmem_pinned_in(seg, range->start, range->end)) {
			mutex_unlock(&seg->invalidate_mutex);
			return false;
		}
		mmu_interval_set_seq(mni, cur_seq);
		mutex_unlock(&seg->invalidate_mutex);
		return true;
	}
	mutex_lock(&seg->invalidate_mutex);
	mmu_interval_set_seq(mni, cur_seq);
	xpmem_clear_ptes(seg, range->start, range->end);
	mutex_unlock(&seg->invalidate_mutex);
	return true;
}

static const struct mmu_interval_notifier_ops xpmem_seg_ops = {
	.invalidate = xpmem_seg_invalidate,
};

static struct xpmem *mn_to_xpmem(struct mmu_notifier *mn)
{
	return container_of(mn, struct xpmem, mn);
}

/* Clear every segment overlapping [start, end) (end 0: all), synchronously. */
static void xpmem_clear_all(struct xpmem *xp, unsigned long start,
			    unsigned long end)
{
	mutex_lock(&xp->lock);
	for (struct xpmem_segment *seg = xp->segs; seg; seg = seg->next) {
		if (end && !seg_overlaps(seg, start, end))
			continue;
		mutex_lock(&seg->invalidate_mutex);
		xpmem_clear_ptes(seg, start, end);
		mutex_unlock(&seg->invalidate_mutex);
	}
	mutex_unlock(&xp->lock);
}

/*
 * invalidate_range_end (end-only): all pages of the range were unmapped
 * and possibly freed -- except those the attachments pin.  Held: A's
 * mmap_lock and/or rmap locks.  Sleeps on the mutexes with no blockable
 * check, as hpc/xpmem does.
 */
static void xpmem_invalidate_range_end(struct mmu_notifier *mn,
				       const struct mmu_notifier_range *range)
{
	struct xpmem *xp = mn_to_xpmem(mn);

	/* BROKEN: "ignore notifications not from the source's thread group" */
	if (current->mm != xp->dev->mm)
		return;
	xpmem_clear_all(xp, range->start, range->end);
}

/*
 * invalidate_range_start (era 2.6.33, sync-start and deferred): in 2010
 * there was no blockable flag and the core held rcu_read_lock: the mutex
 * below sleeps in atomic context.
 */
static int xpmem_invalidate_range_start_legacy(struct mmu_notifier *mn,
					       const struct mmu_notifier_range *range)
{
	struct xpmem *xp = mn_to_xpmem(mn);

	if (xp->form == XPMEM_DEFERRED) {
		/* BROKEN: queued for every segment (NULL), nothing done now */
		xpmem_defer(xp, NULL, range->start, range->end);
		return 0;
	}
	xpmem_clear_all(xp, range->start, range->end);
	return 0;
}

/*
 * era 2.6.33+holt, atomic range_start: is a page of [start, end) attached
 * (pinned by an attachment)?  Must not sleep: a mutex that is busy counts
 * as attached (a fault or a clear is running there; refusing is safe).
 */
static bool xpmem_attached_in(struct xpmem *xp, unsigned long start,
			      unsigned long end)
{
	bool attached = false;

	if (!mutex_trylock(&xp->lock))
		return true;
	for (struct xpmem_segment *seg = xp->segs; seg && !attached;
	     seg = seg->next) {
		if (!seg_overlaps(seg, start, end))
			continue;
		if (!mutex_trylock(&seg->invalidate_mutex)) {
			attached = true;
			break;
		}
		attached = xpmem_pinned_in(seg, start, end);
		mutex_unlock(&seg->invalidate_mutex);
	}
	mutex_unlock(&xp->lock);
	return attached;
}

/*
 * invalidate_range_start_atomic (era 2.6.33+holt, sync-start): Robin
 * Holt's protocol.  Held: @atomic: A's file i_mmap_lock (spinlock, no
 * sleeping), not A's mmap_lock; !@atomic: A's mmap_lock and/or nothing
 * (truncate's unlocked retry), the notifier SRCU: may sleep.  Raises
 * mn_active until range_end, which the core calls whatever this returns.
 */
static int xpmem_invalidate_range_start_holt(struct mmu_notifier *mn,
					     struct mm_struct *mm,
					     unsigned long start,
					     unsigned long end, bool atomic)
{
	struct xpmem *xp = mn_to_xpmem(mn);

	spin_lock(&xp->mn_lock);
	xp->mn_active++;
	xp->mn_seq++;
	spin_unlock(&xp->mn_lock);
	if (atomic)
		return xpmem_attached_in(xp, start, end) ? 1 : 0;
	xpmem_clear_all(xp, start, end);
	return 0;
}

/* range_end (era 2.6.33+holt, sync-start): B's faults may go on. */
static void xpmem_invalidate_range_end_holt(struct mmu_notifier *mn,
					    const struct mmu_notifier_range *range)
{
	struct xpmem *xp = mn_to_xpmem(mn);

	spin_lock(&xp->mn_lock);
	xp->mn_active--;
	/* a fault that read mn_seq while this range ran must retry */
	xp->mn_seq++;
	spin_unlock(&xp->mn_lock);
	wake_up_all(&xp->mn_wq);
}

static bool xpmem_mn_idle(struct xpmem *xp)
{
	bool idle;

	spin_lock(&xp->mn_lock);
	idle = !xp->mn_active;
	spin_unlock(&xp->mn_lock);
	return idle;
}

/* release: A is exiting; tear every attachment down (xpmem_teardown). */
static void xpmem_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	xpmem_clear_all(mn_to_xpmem(mn), 0, 0);
}

static const struct mmu_notifier_ops xpmem_mmuops_end_only = {
	.invalidate_range_end = xpmem_invalidate_range_end,
	.release = xpmem_release,
};

static const struct mmu_notifier_ops xpmem_mmuops_legacy = {
	.invalidate_range_start = xpmem_invalidate_range_start_legacy,
	.release = xpmem_release,
};

static const struct mmu_notifier_ops xpmem_mmuops_holt = {
	.invalidate_range_start_atomic = xpmem_invalidate_range_start_holt,
	.invalidate_range_end = xpmem_invalidate_range_end_holt,
	.release = xpmem_release,
};

/* ---- attachments ---------------------------------------------------------------- */

/*
 * xpmem_fault_handler(): a CPU access of the attacher missed.  Held: the
 * attacher's mmap_read_lock.  May sleep.  Resolves through the source: its
 * mmap_lock, GUP with a pin that the attachment keeps until it is zapped.
 */
static int xpmem_fault(struct mmn_pfnmap_fault *vmf)
{
	struct xpmem_attachment *att = vmf->pm->private_data;
	struct xpmem_segment *seg = att->seg;
	struct xpmem *xp = seg->xp;
	struct mm_struct *src = xp->dev->mm;
	unsigned long idx = (vmf->address - att->at_vaddr) >> PAGE_SHIFT;
	unsigned long vaddr = seg->vaddr + att->offset + (idx << PAGE_SHIFT);
	/* attachments are read-write: pin for write (breaks COW in the
	 * source, never the zero page), so the pte can be writable */
	const bool write = true;
	unsigned long seq = 0;
	struct page *page;
	long npages;
	int ret;

again:
	if (seg->has_notifier)
		seq = mmu_interval_read_begin(&seg->notifier);
	if (xp->holt) {
		/* era 2.6.33+holt: wait out A's invalidations (KVM-style) */
		wait_event(xp->mn_wq, xpmem_mn_idle(xp));
		spin_lock(&xp->mn_lock);
		seq = xp->mn_seq;
		spin_unlock(&xp->mn_lock);
	}
	if (!mmget_not_zero(src))
		return VM_FAULT_SIGBUS;
	mmap_read_lock(src);
	npages = get_user_pages_remote(src, vaddr, 1, write ? FOLL_WRITE : 0,
				       &page, NULL);
	mmap_read_unlock(src);
	mmput(src);
	if (npages != 1)
		return npages == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;

	mutex_lock(&seg->invalidate_mutex);
	if (att->detached) {
		mutex_unlock(&seg->invalidate_mutex);
		put_page(page);
		return VM_FAULT_SIGBUS;
	}
	if (seg->has_notifier && mmu_interval_read_retry(&seg->notifier, seq)) {
		mutex_unlock(&seg->invalidate_mutex);
		put_page(page);
		goto again;
	}
	if (xp->holt) {
		bool retry;

		spin_lock(&xp->mn_lock);
		retry = xp->mn_active || xp->mn_seq != seq;
		spin_unlock(&xp->mn_lock);
		if (retry) {
			mutex_unlock(&seg->invalidate_mutex);
			put_page(page);
			goto again;
		}
	}
	if (att->pages[idx]) {
		/* a racing fault pinned it first: keep one pin */
		put_page(page);
		page = att->pages[idx];
	} else {
		att->pages[idx] = page;
	}
	ret = vmf_insert_pfn(vmf->vma, vmf->address, page_to_pfn(page), write);
	mutex_unlock(&seg->invalidate_mutex);
	return ret;
}

/* The attachment's VMA goes away (munmap, exit of the attacher). */
static void xpmem_att_close(struct mmn_pfnmap *pm)
{
	struct xpmem_attachment *att = pm->private_data;
	struct xpmem_segment *seg = att->seg;

	mutex_lock(&seg->invalidate_mutex);
	att->detached = true;
	for (unsigned long i = 0; i < att->size >> PAGE_SHIFT; i++) {
		if (att->pages[i]) {
			put_page(att->pages[i]);
			att->pages[i] = NULL;
		}
	}
	mutex_unlock(&seg->invalidate_mutex);
}

static const struct mmn_pfnmap_ops xpmem_pfnmap_ops = {
	.name = "xpmem",
	.fault = xpmem_fault,
	.close = xpmem_att_close,
};

static struct xpmem_segment *xpmem_seg_find(struct xpmem *xp, long segid)
{
	for (struct xpmem_segment *seg = xp->segs; seg; seg = seg->next)
		if (seg->segid == segid)
			return seg;
	return NULL;
}

long xpmem_make(struct mmn_device *dev, unsigned long vaddr, unsigned long size)
{
	struct xpmem *xp = dev->priv;
	struct xpmem_segment *seg;
	int ret;

	if ((vaddr & ~PAGE_MASK) || (size & ~PAGE_MASK) || !size ||
	    vaddr + size < vaddr)
		return -EINVAL;
	seg = calloc(1, sizeof(*seg));
	if (!seg)
		return -ENOMEM;
	seg->xp = xp;
	seg->vaddr = vaddr;
	seg->size = size;
	mutex_init(&seg->invalidate_mutex);
	if (!xp->legacy && xp->form != XPMEM_END_ONLY) {
		/* takes A's mmap_lock: before xp->lock (A's callbacks take it) */
		ret = mmu_interval_notifier_insert(&seg->notifier, dev->mm, vaddr,
						   size, &xpmem_seg_ops);
		if (ret) {
			mutex_destroy(&seg->invalidate_mutex);
			free(seg);
			return ret;
		}
		seg->has_notifier = true;
		mmn_device_track(dev, &seg->notifier);
	}
	mutex_lock(&xp->lock);
	seg->segid = ++xp->next_segid;
	seg->next = xp->segs;
	xp->segs = seg;
	mutex_unlock(&xp->lock);
	return seg->segid;
}

long xpmem_get(struct mmn_device *dev, long segid)
{
	struct xpmem *xp = dev->priv;
	bool found;

	mutex_lock(&xp->lock);
	found = xpmem_seg_find(xp, segid);
	mutex_unlock(&xp->lock);
	return found ? segid : -ENOENT;	/* the apid is the segid here */
}

long xpmem_attach(struct mmn_device *dev, struct mm_struct *mm, long apid,
		  unsigned long offset, unsigned long size, unsigned long hint)
{
	struct xpmem *xp = dev->priv;
	struct xpmem_attachment *att;
	struct xpmem_segment *seg;
	long addr;

	if (mm == dev->mm || (offset & ~PAGE_MASK) || (size & ~PAGE_MASK) || !size)
		return -EINVAL;
	att = calloc(1, sizeof(*att));
	if (!att)
		return -ENOMEM;
	att->pages = calloc(size >> PAGE_SHIFT, sizeof(*att->pages));
	if (!att->pages) {
		free(att);
		return -ENOMEM;
	}
	mutex_lock(&xp->lock);
	seg = xpmem_seg_find(xp, apid);
	if (!seg || offset + size > seg->size || offset + size < offset) {
		mutex_unlock(&xp->lock);
		free(att->pages);
		free(att);
		return seg ? -EINVAL : -ENOENT;
	}
	att->seg = seg;
	att->mm = mm;
	att->offset = offset;
	att->size = size;
	att->pm.ops = &xpmem_pfnmap_ops;
	att->pm.private_data = att;
	att->pm.alias_mm = dev->mm;
	att->pm.alias_start = seg->vaddr + offset;
	mmgrab(mm);
	/* on the list before the mapping exists: the fault needs no lookup */
	mutex_lock(&seg->invalidate_mutex);
	att->next = seg->atts;
	seg->atts = att;
	mutex_unlock(&seg->invalidate_mutex);
	mutex_unlock(&xp->lock);

	addr = mmn_mmap_pfnmap(mm, hint, size, PROT_READ | PROT_WRITE, &att->pm);
	mutex_lock(&seg->invalidate_mutex);
	if (addr < 0)
		att->detached = true;
	else
		att->at_vaddr = (unsigned long)addr;
	mutex_unlock(&seg->invalidate_mutex);
	return addr;
}

/* The live attachment of @mm at exactly @at_vaddr; its size.  Holds xp->lock. */
static bool xpmem_att_find(struct xpmem *xp, struct mm_struct *mm,
			   unsigned long at_vaddr, unsigned long *size)
{
	for (struct xpmem_segment *seg = xp->segs; seg; seg = seg->next) {
		bool found = false;

		mutex_lock(&seg->invalidate_mutex);
		for (struct xpmem_attachment *att = seg->atts; att; att = att->next) {
			if (att->mm == mm && !att->detached &&
			    att->at_vaddr == at_vaddr) {
				*size = att->size;
				found = true;
				break;
			}
		}
		mutex_unlock(&seg->invalidate_mutex);
		if (found)
			return true;
	}
	return false;
}

int xpmem_detach(struct mmn_device *dev, struct mm_struct *mm,
		 unsigned long at_vaddr)
{
	struct xpmem *xp = dev->priv;
	unsigned long size = 0;
	bool found;

	mutex_lock(&xp->lock);
	found = xpmem_att_find(xp, mm, at_vaddr, &size);
	mutex_unlock(&xp->lock);
	if (!found)
		return -EINVAL;
	/* the close callback unpins */
	return mmn_munmap(mm, at_vaddr, size);
}

static void xpmem_seg_free(struct xpmem *xp, struct xpmem_segment *seg)
{
	/* detach what is still attached: the attacher's munmap -> close */
	for (struct xpmem_attachment *att = seg->atts; att; att = att->next) {
		bool detached;

		mutex_lock(&seg->invalidate_mutex);
		detached = att->detached;
		mutex_unlock(&seg->invalidate_mutex);
		if (!detached && mmget_not_zero(att->mm)) {
			mmn_munmap(att->mm, att->at_vaddr, att->size);
			mmput(att->mm);
		}
	}
	if (seg->has_notifier) {
		mmu_interval_notifier_remove(&seg->notifier);
		mmn_device_untrack(xp->dev, &seg->notifier);
	}
	while (seg->atts) {
		struct xpmem_attachment *att = seg->atts;

		seg->atts = att->next;
		mmdrop(att->mm);
		free(att->pages);
		free(att);
	}
	mutex_destroy(&seg->invalidate_mutex);
	free(seg);
}

int xpmem_remove(struct mmn_device *dev, long segid)
{
	struct xpmem *xp = dev->priv;
	struct xpmem_segment **pp, *seg = NULL;

	xpmem_flush_deferred(dev);
	mutex_lock(&xp->lock);
	for (pp = &xp->segs; *pp; pp = &(*pp)->next) {
		if ((*pp)->segid == segid) {
			seg = *pp;
			*pp = seg->next;
			break;
		}
	}
	mutex_unlock(&xp->lock);
	if (!seg)
		return -ENOENT;
	xpmem_seg_free(xp, seg);
	return 0;
}

/* ---- the device's own accesses ------------------------------------------ */

struct mm_struct *xpmem_attacher(struct mmn_device *dev)
{
	return ((struct xpmem *)dev->priv)->attacher;
}

/* The device's attachment of the source address @va, and where it maps it. */
static bool xpmem_dev_lookup(struct xpmem *xp, unsigned long va,
			     unsigned long *bvap)
{
	struct xpmem_attachment *att = NULL;
	unsigned long bva = 0;

	mutex_lock(&xp->lock);
	for (struct xpmem_segment *seg = xp->segs; seg && !att; seg = seg->next) {
		if (va < seg->vaddr || va >= seg->vaddr + seg->size)
			continue;
		mutex_lock(&seg->invalidate_mutex);
		for (att = seg->atts; att; att = att->next) {
			unsigned long s = seg->vaddr + att->offset;

			if (att->mm == xp->attacher && !att->detached &&
			    va >= s && va < s + att->size) {
				bva = att->at_vaddr + (va - s);
				break;
			}
		}
		mutex_unlock(&seg->invalidate_mutex);
	}
	mutex_unlock(&xp->lock);
	*bvap = bva;
	return att;
}

/* An access by the attacher's CPU to the source address @va. */
static int xpmem_dma(struct mmn_device *dev, unsigned long va, bool write,
		     uint64_t *val)
{
	struct xpmem *xp = dev->priv;
	unsigned long bva;

	if (!xpmem_dev_lookup(xp, va, &bva))
		return -ENOENT;
	dev->accesses++;
	return write ? mmn_store(xp->attacher, bva, *val) :
		       mmn_load(xp->attacher, bva, val);
}

/* Attach the 2 MiB window of the source around @va, at the same address. */
static int xpmem_dev_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	struct xpmem *xp = dev->priv;
	unsigned long start = va & PMD_MASK;
	unsigned long bva;
	long segid, addr;
	int ret = 0;

	mutex_lock(&xp->attach_mutex);
	if (xpmem_dev_lookup(xp, va, &bva))
		goto out;	/* attached meanwhile */
	segid = xpmem_make(dev, start, PMD_SIZE);
	if (segid < 0) {
		ret = (int)segid;
		goto out;
	}
	addr = xpmem_attach(dev, xp->attacher, xpmem_get(dev, segid), 0,
			    PMD_SIZE, start);
	if (addr < 0)
		ret = (int)addr;
out:
	mutex_unlock(&xp->attach_mutex);
	return ret;
}

/* ---- bind / unbind -------------------------------------------------------- */

static int xpmem_bind(struct mmn_device *dev)
{
	int form = mmn_driver_form(&mmn_driver_xpmem, dev->form);
	struct xpmem *xp;
	int ret;

	if (dev->form && !strcmp(dev->form, "correct"))
		form = XPMEM_SYNC_START;	/* forms[0] */
	if (form < 0)
		return -EINVAL;
	xp = calloc(1, sizeof(*xp));
	if (!xp)
		return -ENOMEM;
	xp->dev = dev;
	xp->form = form;
	xp->legacy = mmn_era == MMN_ERA_2_6_33;
	xp->holt = mmn_era_holt() && form == XPMEM_SYNC_START;
	spin_lock_init(&xp->mn_lock);
	init_waitqueue_head(&xp->mn_wq);
	mutex_init(&xp->lock);
	mutex_init(&xp->attach_mutex);
	spin_lock_init(&xp->deferred_lock);
	init_waitqueue_head(&xp->deferred_wq);
	xp->deferred_tail = &xp->deferred_head;
	dev->priv = xp;
	xp->attacher = mmn_mm_create();
	if (!xp->attacher) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (form == XPMEM_END_ONLY || xp->legacy) {
		if (form == XPMEM_END_ONLY)
			xp->mn.ops = &xpmem_mmuops_end_only;
		else if (xp->holt)
			xp->mn.ops = &xpmem_mmuops_holt;
		else
			xp->mn.ops = &xpmem_mmuops_legacy;
		ret = mmu_notifier_register(&xp->mn, dev->mm);
		if (ret)
			goto out_exit;
		xp->has_mn = true;
		mmn_device_track(dev, &xp->mn);
	}
	if (form == XPMEM_DEFERRED)
		xp->worker = mmn_task_create("xpmem-wq", MMN_TASK_WORKER, NULL,
					     xpmem_worker, xp);
	return 0;

out_exit:
	mmn_exit(xp->attacher);
out_free:
	mutex_destroy(&xp->lock);
	mutex_destroy(&xp->attach_mutex);
	spin_lock_destroy(&xp->deferred_lock);
	destroy_waitqueue_head(&xp->deferred_wq);
	spin_lock_destroy(&xp->mn_lock);
	destroy_waitqueue_head(&xp->mn_wq);
	free(xp);
	dev->priv = NULL;
	return ret;
}

static void xpmem_unbind(struct mmn_device *dev)
{
	struct xpmem *xp = dev->priv;

	xpmem_flush_deferred(dev);
	if (xp->worker) {
		spin_lock(&xp->deferred_lock);
		xp->worker_stop = true;
		spin_unlock(&xp->deferred_lock);
		wake_up(&xp->deferred_wq);
		mmn_task_join(xp->worker);
	}
	while (xp->deferred_head) {
		struct xpmem_deferred *d = xp->deferred_head;

		xp->deferred_head = d->next;
		free(d);
	}
	while (xp->segs) {
		struct xpmem_segment *seg = xp->segs;

		xp->segs = seg->next;
		xpmem_seg_free(xp, seg);
	}
	if (xp->has_mn) {
		mmu_notifier_unregister(&xp->mn, dev->mm);
		mmn_device_untrack(dev, &xp->mn);
	}
	mmn_exit(xp->attacher);
	mutex_destroy(&xp->lock);
	mutex_destroy(&xp->attach_mutex);
	spin_lock_destroy(&xp->deferred_lock);
	destroy_waitqueue_head(&xp->deferred_wq);
	spin_lock_destroy(&xp->mn_lock);
	destroy_waitqueue_head(&xp->mn_wq);
	free(xp);
	dev->priv = NULL;
}

unsigned long xpmem_pinned(struct mmn_device *dev)
{
	struct xpmem *xp = dev->priv;
	unsigned long n = 0;

	mutex_lock(&xp->lock);
	for (struct xpmem_segment *seg = xp->segs; seg; seg = seg->next) {
		mutex_lock(&seg->invalidate_mutex);
		for (struct xpmem_attachment *att = seg->atts; att; att = att->next)
			for (unsigned long i = 0; i < att->size >> PAGE_SHIFT; i++)
				n += att->pages[i] != NULL;
		mutex_unlock(&seg->invalidate_mutex);
	}
	mutex_unlock(&xp->lock);
	return n;
}

static const struct mmn_device_ops xpmem_ops = {
	.name = "xpmem",
	.dma = xpmem_dma,
	.fault = xpmem_dev_fault,
	.bind = xpmem_bind,
	.unbind = xpmem_unbind,
};

const struct mmn_driver mmn_driver_xpmem = {
	.abi_version = MMN_DEVICE_ABI_VERSION,
	.name = "xpmem",
	.summary = "XPMEM: B attaches A's range as a PFN map; A's notifier zaps B's ptes and unpins",
	.forms = xpmem_forms,
	.form_docs = xpmem_form_docs,
	.ops = &xpmem_ops,
};
