// SPDX-License-Identifier: GPL-2.0
/*
 * dmirror: the HMM mirror device of Linux's lib/test_hmm.c, written only
 * against the kernel-shaped headers and <mmn/device.h>.
 *
 * One interval notifier over the whole address space, a device page table
 * of (translation, read/write) entries indexed by page, and a driver mutex
 * that orders the fault path against the invalidate callback:
 *
 *   fault path (dmirror_fault)            invalidate (dmirror_interval_invalidate)
 *   --------------------------            ------------------------------------
 *   seq = mmu_interval_read_begin()
 *   mmap_read_lock; hmm_range_fault()
 *   mmap_read_unlock                       [primary about to change ptes]
 *                                          mutex_lock(&dmirror->mutex)
 *                                          mmu_interval_set_seq(cur_seq)
 *                                          erase entries in the range
 *                                          mutex_unlock
 *   mutex_lock(&dmirror->mutex)            [pte change, free ...]
 *   if (mmu_interval_read_retry(seq))
 *           unlock, start over   <-- the set_seq above makes this true
 *   program the device page table
 *   mutex_unlock
 *
 * Whichever of the two takes the mutex first, the device never keeps an
 * entry the invalidation should have erased.  The broken forms break
 * exactly one edge of that diagram:
 *   retry-outside-lock  read_retry is checked before taking the mutex, so an
 *                       invalidation can run between the check and the
 *                       programming;
 *   no-set-seq          the callback erases but never moves the sequence, so
 *                       a fault that raced with it programs stale pfns;
 *   deferred            the callback queues the erase to a worker and
 *                       returns at once: the asynchronous invalidation
 *                       argued for in 2010 -- the device keeps using the old
 *                       pages after the primary was told they are gone.
 *
 * The device page table holds no page references (as test_hmm): it relies
 * entirely on the notifier erasing stale entries.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/linux/hmm.h>
#include <mmn/linux/mm.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/mutex.h>
#include <mmn/linux/sched.h>
#include <mmn/linux/spinlock.h>
#include <mmn/linux/wait.h>

#include "mirrors/dmirror.h"

#define DMIRROR_RANGE_FAULT_PAGES	32	/* pages per hmm_range_fault() */

enum dmirror_form {
	DMIRROR_CORRECT,
	DMIRROR_RETRY_OUTSIDE_LOCK,
	DMIRROR_NO_SET_SEQ,
	DMIRROR_DEFERRED,
};

static const char *const dmirror_forms[] = {
	"correct", "retry-outside-lock", "no-set-seq", "deferred", NULL
};

static const char *const dmirror_form_docs[] = {
	"read_retry under the driver mutex, set_seq in invalidate (lib/test_hmm.c)",
	"mmu_interval_read_retry() checked before taking the driver mutex",
	"invalidate erases entries but forgets mmu_interval_set_seq()",
	"invalidate queues the erase to a worker and returns (2010's asynchronous invalidation)",
	NULL
};

/* Device page table entry. */
struct dmirror_pte {
	unsigned long key;		/* va >> PAGE_SHIFT, or DPT_EMPTY/DPT_TOMB */
	struct mmn_spte spte;
};

#define DPT_EMPTY	(~0UL)
#define DPT_TOMB	(~0UL - 1)

/* A deferred erase, for the "deferred" form. */
struct dmirror_deferred {
	unsigned long start, end;
	struct dmirror_deferred *next;
};

struct dmirror {
	struct mmn_device *dev;
	struct mmu_interval_notifier notifier;
	struct mutex mutex;			/* orders faults vs invalidate */
	enum dmirror_form form;
	/* device page table: open addressing, under mutex */
	struct dmirror_pte *pt;
	unsigned long pt_cap, pt_used;
	/* the deferred form's worker */
	spinlock_t deferred_lock;
	struct dmirror_deferred *deferred_head, **deferred_tail;
	wait_queue_head_t deferred_wq;
	bool worker_stop;
	bool worker_hold;		/* tests: hold the worker back */
	bool worker_busy;		/* applying an item it dequeued */
	struct mmn_task *worker;
	/* TEST HOOK, see dmirror_set_test_hook(); NULL in normal runs */
	void (*test_hook)(void *arg);
	void *test_hook_arg;
};

/* ---- device page table ---------------------------------------------- */

static unsigned long dpt_hash(unsigned long key)
{
	key ^= key >> 29;
	key *= 0xbf58476d1ce4e5b9UL;
	key ^= key >> 32;
	return key;
}

static struct dmirror_pte *dpt_lookup(struct dmirror *dmirror, unsigned long key)
{
	unsigned long i;

	if (!dmirror->pt_cap)
		return NULL;
	for (i = dpt_hash(key) & (dmirror->pt_cap - 1);;
	     i = (i + 1) & (dmirror->pt_cap - 1)) {
		if (dmirror->pt[i].key == key)
			return &dmirror->pt[i];
		if (dmirror->pt[i].key == DPT_EMPTY)
			return NULL;
	}
}

static int dpt_grow(struct dmirror *dmirror)
{
	unsigned long cap = dmirror->pt_cap ? dmirror->pt_cap * 2 : 256;
	struct dmirror_pte *old = dmirror->pt, *pt;
	unsigned long old_cap = dmirror->pt_cap;

	pt = malloc(cap * sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	for (unsigned long i = 0; i < cap; i++)
		pt[i].key = DPT_EMPTY;
	dmirror->pt = pt;
	dmirror->pt_cap = cap;
	dmirror->pt_used = 0;
	for (unsigned long i = 0; i < old_cap; i++) {
		unsigned long k = old[i].key, j;

		if (k >= DPT_TOMB)
			continue;
		for (j = dpt_hash(k) & (cap - 1); pt[j].key != DPT_EMPTY;
		     j = (j + 1) & (cap - 1))
			;
		pt[j] = old[i];
		dmirror->pt_used++;
	}
	free(old);
	return 0;
}

static int dpt_store(struct dmirror *dmirror, const struct mmn_spte *spte)
{
	unsigned long key = spte->va >> PAGE_SHIFT, i;
	struct dmirror_pte *e = dpt_lookup(dmirror, key);

	if (e) {
		e->spte = *spte;
		return 0;
	}
	if ((dmirror->pt_used + 1) * 4 >= dmirror->pt_cap * 3 && dpt_grow(dmirror))
		return -ENOMEM;
	for (i = dpt_hash(key) & (dmirror->pt_cap - 1);
	     dmirror->pt[i].key < DPT_TOMB; i = (i + 1) & (dmirror->pt_cap - 1))
		;
	if (dmirror->pt[i].key == DPT_EMPTY)
		dmirror->pt_used++;
	dmirror->pt[i].key = key;
	dmirror->pt[i].spte = *spte;
	return 0;
}

/* Erase [start, end) from the device page table.  Caller holds mutex. */
static void dmirror_do_update(struct dmirror *dmirror, unsigned long start,
			      unsigned long end)
{
	unsigned long npages = (end - start) >> PAGE_SHIFT;

	/* a huge range (exit, release) is cheaper as a sweep */
	if (end <= start || npages > dmirror->pt_cap) {
		for (unsigned long i = 0; i < dmirror->pt_cap; i++) {
			unsigned long k = dmirror->pt[i].key;

			if (k < DPT_TOMB && k >= (start >> PAGE_SHIFT) &&
			    (end == 0 || k < ((end - 1) >> PAGE_SHIFT) + 1))
				dmirror->pt[i].key = DPT_TOMB;
		}
		return;
	}
	for (unsigned long a = start & PAGE_MASK; a < end; a += PAGE_SIZE) {
		struct dmirror_pte *e = dpt_lookup(dmirror, a >> PAGE_SHIFT);

		if (e)
			e->key = DPT_TOMB;
	}
}

/* ---- the deferred form's worker ------------------------------------ */

static bool dmirror_deferred_pending(struct dmirror *dmirror)
{
	bool ret;

	spin_lock(&dmirror->deferred_lock);
	ret = (dmirror->deferred_head && !dmirror->worker_hold) ||
	      dmirror->worker_stop;
	spin_unlock(&dmirror->deferred_lock);
	return ret;
}

static void *dmirror_worker(void *arg)
{
	struct dmirror *dmirror = arg;

	for (;;) {
		struct dmirror_deferred *d;

		wait_event(dmirror->deferred_wq, dmirror_deferred_pending(dmirror));
		spin_lock(&dmirror->deferred_lock);
		d = dmirror->worker_hold && !dmirror->worker_stop ?
		    NULL : dmirror->deferred_head;
		if (d) {
			dmirror->deferred_head = d->next;
			if (!d->next)
				dmirror->deferred_tail = &dmirror->deferred_head;
			dmirror->worker_busy = true;
		}
		spin_unlock(&dmirror->deferred_lock);
		if (!d) {
			if (dmirror->worker_stop)
				return NULL;
			continue;
		}
		/*
		 * "Later": the work has no urgency, whoever else can run goes
		 * first (under the controlled scheduler a yield puts the
		 * worker behind every runnable agent).
		 */
		cond_resched();
		mutex_lock(&dmirror->mutex);
		dmirror_do_update(dmirror, d->start, d->end);
		mutex_unlock(&dmirror->mutex);
		free(d);
		spin_lock(&dmirror->deferred_lock);
		dmirror->worker_busy = false;
		spin_unlock(&dmirror->deferred_lock);
	}
}

static void dmirror_defer(struct dmirror *dmirror, unsigned long start,
			  unsigned long end)
{
	struct dmirror_deferred *d = malloc(sizeof(*d));

	if (!d)
		abort();
	d->start = start;
	d->end = end;
	d->next = NULL;
	spin_lock(&dmirror->deferred_lock);
	*dmirror->deferred_tail = d;
	dmirror->deferred_tail = &d->next;
	spin_unlock(&dmirror->deferred_lock);
	wake_up(&dmirror->deferred_wq);
}

/* ---- the interval notifier ----------------------------------------- */

/*
 * invalidate: called from invalidate_range_start (and with RELEASE at
 * exit) with mmap_lock and/or rmap locks held.  May sleep only when the
 * range is blockable: otherwise trylock and report failure.
 */
static bool dmirror_interval_invalidate(struct mmu_interval_notifier *mni,
					const struct mmu_notifier_range *range,
					unsigned long cur_seq)
{
	struct dmirror *dmirror = container_of(mni, struct dmirror, notifier);

	if (dmirror->form == DMIRROR_DEFERRED) {
		/* no lock, no set_seq: the worker erases later */
		mmu_interval_set_seq(mni, cur_seq);
		dmirror_defer(dmirror, range->start, range->end);
		return true;
	}

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&dmirror->mutex);
	else if (!mutex_trylock(&dmirror->mutex))
		return false;

	if (dmirror->form != DMIRROR_NO_SET_SEQ)
		mmu_interval_set_seq(mni, cur_seq);

	dmirror_do_update(dmirror, range->start, range->end);

	mutex_unlock(&dmirror->mutex);
	return true;
}

static const struct mmu_interval_notifier_ops dmirror_min_ops = {
	.invalidate = dmirror_interval_invalidate,
};

/* ---- faults -------------------------------------------------------- */

/*
 * TEST HOOK: the point of the fault path between the page-table snapshot
 * (hmm_range_fault, mmap_lock dropped) and taking the driver mutex -- after
 * the retry-outside-lock form's early read_retry check.  An invalidation
 * that runs here is exactly the race the sequence protocol exists for, so a
 * test can run the racing primary operation synchronously from the hook
 * and show which forms survive it, without a scheduler.
 */
static void dmirror_call_test_hook(struct dmirror *dmirror)
{
	if (unlikely(dmirror->test_hook))
		dmirror->test_hook(dmirror->test_hook_arg);
}

/* Program the device page table from a faulted range.  Holds mutex. */
static int dmirror_do_fault(struct dmirror *dmirror, struct hmm_range *range)
{
	unsigned long *pfns = range->hmm_pfns;
	unsigned long va;

	for (va = range->start; va < range->end; va += PAGE_SIZE, pfns++) {
		struct mmn_spte spte;

		/* hmm_range_fault() returned VALID for every requested page */
		if (!(*pfns & HMM_PFN_VALID))
			return -EFAULT;
		mmn_spte_make(dmirror->dev, &spte, va, hmm_pfn_to_page(*pfns),
			      !!(*pfns & HMM_PFN_WRITE), 0);
		if (dpt_store(dmirror, &spte))
			return -ENOMEM;
	}
	return 0;
}

static int dmirror_range_fault(struct dmirror *dmirror, struct hmm_range *range)
{
	struct mm_struct *mm = dmirror->notifier.mm;
	int ret;

	for (;;) {
		range->notifier_seq = mmu_interval_read_begin(range->notifier);
		mmap_read_lock(mm);
		ret = hmm_range_fault(range);
		mmap_read_unlock(mm);
		if (ret) {
			if (ret == -EBUSY)
				continue;
			return ret;
		}

		if (dmirror->form == DMIRROR_RETRY_OUTSIDE_LOCK) {
			/* BROKEN: the check does not exclude invalidate */
			if (mmu_interval_read_retry(range->notifier,
						    range->notifier_seq))
				continue;
			dmirror_call_test_hook(dmirror);
			mutex_lock(&dmirror->mutex);
			break;
		}

		dmirror_call_test_hook(dmirror);
		mutex_lock(&dmirror->mutex);
		if (mmu_interval_read_retry(range->notifier,
					    range->notifier_seq)) {
			mutex_unlock(&dmirror->mutex);
			continue;
		}
		break;
	}

	ret = dmirror_do_fault(dmirror, range);
	mutex_unlock(&dmirror->mutex);
	return ret;
}

static int dmirror_fault_range(struct dmirror *dmirror, unsigned long start,
			       unsigned long end, bool write)
{
	struct mm_struct *mm = dmirror->notifier.mm;
	unsigned long pfns[DMIRROR_RANGE_FAULT_PAGES];
	struct hmm_range range = {
		.notifier = &dmirror->notifier,
		.hmm_pfns = pfns,
		.pfn_flags_mask = 0,
		.default_flags = HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0),
		.dev_private_owner = dmirror,
	};
	unsigned long addr;
	int ret = 0;

	/* Since the mm is for the mirrored process, get a reference first. */
	if (!mmget_not_zero(mm))
		return 0;

	for (addr = start; addr < end; addr = range.end) {
		range.start = addr;
		range.end = min(addr + (DMIRROR_RANGE_FAULT_PAGES << PAGE_SHIFT), end);
		ret = dmirror_range_fault(dmirror, &range);
		if (ret)
			break;
	}

	mmput(mm);
	return ret;
}

/* ---- device access ------------------------------------------------- */

static int dmirror_dma(struct mmn_device *dev, unsigned long va, bool write,
		       uint64_t *val)
{
	struct dmirror *dmirror = dev->priv;
	struct dmirror_pte *e;
	int ret;

	mutex_lock(&dmirror->mutex);
	e = dpt_lookup(dmirror, va >> PAGE_SHIFT);
	if (!e)
		ret = -ENOENT;
	else if (write)
		ret = mmn_dev_write(dev, &e->spte, va, *val);
	else
		ret = mmn_dev_read(dev, &e->spte, va, val);
	mutex_unlock(&dmirror->mutex);
	return ret;
}

static int dmirror_dev_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	struct dmirror *dmirror = dev->priv;
	unsigned long start = va & PAGE_MASK;

	return dmirror_fault_range(dmirror, start, start + PAGE_SIZE, write);
}

/*
 * HMM_DMIRROR_READ / HMM_DMIRROR_WRITE, as test_hmm.c defines them: access
 * [addr, addr + npages pages) page by page through the device page table;
 * at the first missing (or, for WRITE, read-only) entry fault from there to
 * the end (faults++) and go on.  cpages counts the pages accessed.
 */
static int dmirror_do_rw(struct dmirror *dmirror, struct hmm_dmirror_cmd *cmd,
			 unsigned long start, unsigned long end, bool write,
			 unsigned long *done)
{
	struct mmn_device *dev = dmirror->dev;
	uint64_t *buf = cmd->ptr;
	unsigned long va;
	int ret = 0;

	mutex_lock(&dmirror->mutex);
	for (va = start; va < end; va += PAGE_SIZE) {
		struct dmirror_pte *e = dpt_lookup(dmirror, va >> PAGE_SHIFT);
		uint64_t *page_buf = buf + ((va - cmd->addr) / sizeof(uint64_t));

		if (!e || (write && !e->spte.writable)) {
			ret = -ENOENT;
			break;
		}
		for (unsigned long i = 0; i < PAGE_SIZE / sizeof(uint64_t); i++) {
			if (write)
				mmn_dev_write(dev, &e->spte, va + i * 8, page_buf[i]);
			else
				mmn_dev_read(dev, &e->spte, va + i * 8, &page_buf[i]);
		}
		(*done)++;
	}
	mutex_unlock(&dmirror->mutex);
	return ret;
}

static int dmirror_rw(struct dmirror *dmirror, struct hmm_dmirror_cmd *cmd,
		      bool write)
{
	unsigned long start = cmd->addr;
	unsigned long end = cmd->addr + (cmd->npages << PAGE_SHIFT);
	unsigned long done = 0;
	int ret;

	if ((cmd->addr & ~PAGE_MASK) || end < cmd->addr)
		return -EINVAL;
	cmd->cpages = 0;
	cmd->faults = 0;
	for (;;) {
		ret = dmirror_do_rw(dmirror, cmd, start, end, write, &done);
		if (ret != -ENOENT)
			break;
		start = cmd->addr + (done << PAGE_SHIFT);
		ret = dmirror_fault_range(dmirror, start, end, write);
		if (ret)
			break;
		cmd->faults++;
		dmirror->dev->faults++;
	}
	if (!ret)
		cmd->cpages = done;
	return ret;
}

int dmirror_cmd(struct mmn_device *dev, unsigned int cmd_nr,
		struct hmm_dmirror_cmd *cmd)
{
	struct dmirror *dmirror = dev->priv;

	switch (cmd_nr) {
	case HMM_DMIRROR_READ:
		return dmirror_rw(dmirror, cmd, false);
	case HMM_DMIRROR_WRITE:
		return dmirror_rw(dmirror, cmd, true);
	default:
		return -EINVAL;
	}
}

/* ---- bind / unbind ------------------------------------------------- */

static int dmirror_bind(struct mmn_device *dev)
{
	struct dmirror *dmirror = calloc(1, sizeof(*dmirror));
	int form = mmn_driver_form(&mmn_driver_dmirror, dev->form);
	int ret;

	if (!dmirror)
		return -ENOMEM;
	if (form < 0) {
		free(dmirror);
		return -EINVAL;
	}
	dmirror->dev = dev;
	dmirror->form = form;
	mutex_init(&dmirror->mutex);
	spin_lock_init(&dmirror->deferred_lock);
	init_waitqueue_head(&dmirror->deferred_wq);
	dmirror->deferred_tail = &dmirror->deferred_head;
	dev->priv = dmirror;

	/* The whole address space, as test_hmm does. */
	ret = mmu_interval_notifier_insert(&dmirror->notifier, dev->mm, 0,
					   ULONG_MAX & PAGE_MASK, &dmirror_min_ops);
	if (ret) {
		mutex_destroy(&dmirror->mutex);
		spin_lock_destroy(&dmirror->deferred_lock);
		destroy_waitqueue_head(&dmirror->deferred_wq);
		free(dmirror);
		dev->priv = NULL;
		return ret;
	}
	mmn_device_track(dev, &dmirror->notifier);
	if (dmirror->form == DMIRROR_DEFERRED)
		dmirror->worker = mmn_task_create("dmirror-wq", MMN_TASK_WORKER,
						  NULL, dmirror_worker, dmirror);
	return 0;
}

static void dmirror_unbind(struct mmn_device *dev)
{
	struct dmirror *dmirror = dev->priv;

	mmu_interval_notifier_remove(&dmirror->notifier);
	mmn_device_untrack(dev, &dmirror->notifier);
	if (dmirror->worker) {
		spin_lock(&dmirror->deferred_lock);
		dmirror->worker_stop = true;
		spin_unlock(&dmirror->deferred_lock);
		wake_up(&dmirror->deferred_wq);
		mmn_task_join(dmirror->worker);
	}
	while (dmirror->deferred_head) {
		struct dmirror_deferred *d = dmirror->deferred_head;

		dmirror->deferred_head = d->next;
		free(d);
	}
	mutex_destroy(&dmirror->mutex);
	spin_lock_destroy(&dmirror->deferred_lock);
	destroy_waitqueue_head(&dmirror->deferred_wq);
	free(dmirror->pt);
	free(dmirror);
	dev->priv = NULL;
}

/* Hold the deferred form's worker back, or let it go. */
void dmirror_hold_worker(struct mmn_device *dev, bool hold)
{
	struct dmirror *dmirror = dev->priv;

	spin_lock(&dmirror->deferred_lock);
	dmirror->worker_hold = hold;
	spin_unlock(&dmirror->deferred_lock);
	wake_up(&dmirror->deferred_wq);
}

/*
 * TEST HOOK: call @fn(@arg) in every fault of @dev between the page-table
 * snapshot and taking the driver mutex (see dmirror_call_test_hook()), or
 * stop with @fn == NULL.  Only for single-task tests: set it while no other
 * task uses the device.  @fn may run primary operations on the mirrored mm
 * (it holds no lock); it is called on every fault round, so it keeps its
 * own state to act once.
 */
void dmirror_set_test_hook(struct mmn_device *dev, void (*fn)(void *),
			   void *arg)
{
	struct dmirror *dmirror = dev->priv;

	dmirror->test_hook = fn;
	dmirror->test_hook_arg = arg;
}

/* Wait until the deferred form's worker has caught up. */
void dmirror_flush_deferred(struct mmn_device *dev)
{
	struct dmirror *dmirror = dev->priv;

	dmirror_hold_worker(dev, false);

	for (;;) {
		bool empty;

		spin_lock(&dmirror->deferred_lock);
		empty = !dmirror->deferred_head && !dmirror->worker_busy;
		spin_unlock(&dmirror->deferred_lock);
		if (empty)
			return;
		cond_resched();
	}
}

static const struct mmn_device_ops dmirror_ops = {
	.name = "dmirror",
	.dma = dmirror_dma,
	.fault = dmirror_dev_fault,
	.bind = dmirror_bind,
	.unbind = dmirror_unbind,
};

const struct mmn_driver mmn_driver_dmirror = {
	.abi_version = MMN_DEVICE_ABI_VERSION,
	.name = "dmirror",
	.summary = "HMM mirror of lib/test_hmm.c: interval notifier, hmm_range_fault, device page table",
	.forms = dmirror_forms,
	.form_docs = dmirror_form_docs,
	.ops = &dmirror_ops,
};
