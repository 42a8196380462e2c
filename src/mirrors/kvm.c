// SPDX-License-Identifier: GPL-2.0
/*
 * kvm: KVM's MMU-notifier protocol (virt/kvm/kvm_main.c, arch/x86/kvm/mmu),
 * written only against the kernel-shaped headers and <mmn/device.h>.
 *
 * The guest's physical memory is the mirrored mm's address space, one to
 * one (gfn == hva >> PAGE_SHIFT, a single memslot).  The shadow page table
 * maps gfns to sptes under mmu_lock.  The protocol:
 *
 *   fault (kvm_faultin_pfn + direct map)     invalidate_range_start / _end
 *   ------------------------------------     -----------------------------
 *   mmu_seq = mmu_invalidate_seq
 *   smp_rmb()
 *   GUP: hva -> pfn (may sleep, no mmu_lock)  spin_lock(mmu_lock)
 *                                             in_progress++, widen range
 *                                             zap sptes in range, flush
 *                                             spin_unlock(mmu_lock)
 *                                             [primary changes ptes]
 *   spin_lock(mmu_lock)                       spin_lock(mmu_lock)
 *   if (in_progress && gfn in range) ||       mmu_invalidate_seq++
 *      mmu_invalidate_seq != mmu_seq:         smp_wmb(); in_progress--
 *           retry                             spin_unlock(mmu_lock)
 *   install spte
 *   spin_unlock(mmu_lock)
 *
 * The fault sees either the raised in_progress (start ran, end did not) or
 * the bumped seq (end ran): a pfn looked up before or during an
 * invalidation is never installed.
 *
 * Huge sptes (kvm_mmu_hugepage_adjust(), host_pfn_mapping_level()).  The
 * level is decided after GUP, from the primary's page table, and only
 * under mmu_lock once the retry check passed: any change of a huge PMD
 * (split, zap, COW, collapse) is bracketed by a range over the whole
 * 2 MiB, so a huge PMD seen then is the one GUP's pfn came from.
 *
 *   fault                                     THP split (CLEAR, 2 MiB)
 *   -----                                     ------------------------
 *   mmu_seq = mmu_invalidate_seq
 *   GUP: hva -> pfn of a subpage of the THP
 *   spin_lock(mmu_lock)
 *   retry check passes
 *   lookup_address_in_mm(hva): huge PMD,
 *     same pfn -> level 2M
 *   install ONE spte: gfn & ~511 -> head pfn
 *   spin_unlock(mmu_lock)
 *                                             spin_lock(mmu_lock)
 *                                             in_progress++
 *                                             zap every spte that
 *                                               intersects the range:
 *                                               the huge one whole
 *                                             spin_unlock(mmu_lock)
 *                                             pmdp_invalidate, 512 ptes
 *                                             ... range_end: seq++
 *
 * Aging (clear_young, test_young) reads and clears the huge spte's
 * accessed bit for any address it covers.
 *
 * Broken forms:
 *   seq-in-start   the seq is bumped in start and nothing is done in end:
 *                  a fault that snapshots the seq after start, looks up
 *                  the old pfn before the pte change and installs it after
 *                  passes the check;
 *   no-in-progress the fault checks only the seq: the same window;
 *   deferred       start queues the zap to a worker and returns;
 *   huge-partial   the blind spot cited when invalidate_page was removed
 *                  in 4.13 ("it named a single address, so implementers
 *                  invalidated only 4 KiB of a THP"): a huge spte that an
 *                  invalidation [start, end) intersects is demoted into
 *                  512 4 KiB sptes over the same frames and only the one
 *                  at max(start, huge va) is zapped; the other 511 stay
 *                  (4 KiB sptes are zapped normally):
 *
 *   primary (fork: PROTECTION_PAGE)          kvm huge-partial
 *   -------------------------------          ----------------
 *   invalidate_range_start [A, A+2M)  -->    split huge spte of A;
 *                                            zap the 4K spte of A only
 *   parent PMD read-only, THP shared
 *   invalidate_range_end               -->   seq++
 *                                            guest writes A+4K through
 *                                            its old writable spte: into
 *                                            the frame the child shares
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/linux/mm.h>
#include <mmn/linux/mmu_notifier.h>
#include <mmn/linux/sched.h>
#include <mmn/linux/spinlock.h>
#include <mmn/linux/wait.h>
#include <mmn/mm.h>

#include "mirrors/kvm.h"

enum kvm_form {
	KVM_CORRECT,
	KVM_SEQ_IN_START,
	KVM_NO_IN_PROGRESS,
	KVM_DEFERRED,
	KVM_HUGE_PARTIAL,
};

static const char *const kvm_forms[] = {
	"correct", "seq-in-start", "no-in-progress", "deferred", "huge-partial",
	NULL
};

static const char *const kvm_form_docs[] = {
	"zap in range_start, seq++ and in_progress-- in range_end, fault retries (kvm_main.c)",
	"mmu_invalidate_seq bumped in range_start, nothing in range_end",
	"the fault path ignores mmu_invalidate_in_progress",
	"range_start queues the zap to a worker and returns",
	"an invalidation demotes a 2M spte into 4K ones and zaps only the page it names first (pre-4.13 invalidate_page)",
	NULL
};

/*
 * The shadow page table: a hash of sptes keyed by gfn (4 KiB) or by
 * SPT_HUGE | gfn >> 9 (2 MiB).  An spte never overlaps another: installing
 * a huge spte drops the 4 KiB ones below it (KVM replaces the child page
 * table), installing a 4 KiB one drops a huge one above it.
 */
#define SPT_EMPTY	(~0UL)
#define SPT_TOMB	(~0UL - 1)
#define SPT_HUGE	(1UL << 62)

struct kvm_spte {
	unsigned long key;		/* SPT_EMPTY, SPT_TOMB, or a key */
	struct mmn_spte spte;
	bool accessed;
};

struct kvm_deferred {
	unsigned long start, end;
	struct kvm_deferred *next;
};

struct kvm {
	struct mmn_device *dev;
	struct mmu_notifier mmu_notifier;
	spinlock_t mmu_lock;
	unsigned long mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	unsigned long mmu_invalidate_range_start;	/* gfn, [start, end) */
	unsigned long mmu_invalidate_range_end;
	enum kvm_form form;
	/* shadow page table, under mmu_lock */
	struct kvm_spte *spt;
	unsigned long spt_cap, spt_used;
	/* the deferred form's worker */
	spinlock_t deferred_lock;
	struct kvm_deferred *deferred_head, **deferred_tail;
	wait_queue_head_t deferred_wq;
	bool worker_stop, worker_hold;
	struct mmn_task *worker;
	/* TEST HOOK, see kvm_set_test_hook(); NULL in normal runs */
	void (*test_hook)(void *arg);
	void *test_hook_arg;
};

/* ---- shadow page table --------------------------------------------- */

static unsigned long spt_hash(unsigned long key)
{
	key ^= key >> 31;
	key *= 0x94d049bb133111ebUL;
	key ^= key >> 29;
	return key;
}

static unsigned long spt_key(unsigned long gfn, unsigned int order)
{
	return order ? SPT_HUGE | (gfn >> HPAGE_PMD_ORDER) : gfn;
}

/* The gfns [*gs, *ge) an entry's key covers. */
static void spt_key_range(unsigned long key, unsigned long *gs, unsigned long *ge)
{
	if (key & SPT_HUGE) {
		*gs = (key & ~SPT_HUGE) << HPAGE_PMD_ORDER;
		*ge = *gs + HPAGE_PMD_NR;
	} else {
		*gs = key;
		*ge = key + 1;
	}
}

static struct kvm_spte *spt_lookup(struct kvm *kvm, unsigned long key)
{
	if (!kvm->spt_cap)
		return NULL;
	for (unsigned long i = spt_hash(key) & (kvm->spt_cap - 1);;
	     i = (i + 1) & (kvm->spt_cap - 1)) {
		if (kvm->spt[i].key == key)
			return &kvm->spt[i];
		if (kvm->spt[i].key == SPT_EMPTY)
			return NULL;
	}
}

/* The spte translating @gfn, at whatever level: the hardware's walk. */
static struct kvm_spte *spt_find(struct kvm *kvm, unsigned long gfn)
{
	struct kvm_spte *e = spt_lookup(kvm, spt_key(gfn, 0));

	return e ? e : spt_lookup(kvm, spt_key(gfn, HPAGE_PMD_ORDER));
}

static void spt_drop(struct kvm *kvm, unsigned long key)
{
	struct kvm_spte *e = spt_lookup(kvm, key);

	if (e)
		e->key = SPT_TOMB;
}

static int spt_grow(struct kvm *kvm)
{
	unsigned long cap = kvm->spt_cap ? kvm->spt_cap * 2 : 256;
	struct kvm_spte *old = kvm->spt, *spt = malloc(cap * sizeof(*spt));
	unsigned long old_cap = kvm->spt_cap;

	if (!spt)
		return -ENOMEM;
	for (unsigned long i = 0; i < cap; i++)
		spt[i].key = SPT_EMPTY;
	kvm->spt = spt;
	kvm->spt_cap = cap;
	kvm->spt_used = 0;
	for (unsigned long i = 0; i < old_cap; i++) {
		unsigned long j;

		if (old[i].key >= SPT_TOMB)
			continue;
		for (j = spt_hash(old[i].key) & (cap - 1); spt[j].key != SPT_EMPTY;
		     j = (j + 1) & (cap - 1))
			;
		spt[j] = old[i];
		kvm->spt_used++;
	}
	free(old);
	return 0;
}

/* Install @spte (4 KiB or 2 MiB), replacing what it overlaps.  Holds mmu_lock. */
static int spt_install(struct kvm *kvm, const struct mmn_spte *spte,
		       bool accessed)
{
	unsigned long gfn = spte->va >> PAGE_SHIFT, i;
	unsigned long key = spt_key(gfn, spte->order);
	struct kvm_spte *e = spt_lookup(kvm, key);

	if (e) {
		e->spte = *spte;
		e->accessed = accessed;
		return 0;
	}
	if (spte->order) {
		/* the huge spte replaces the page table of 4 KiB ones */
		for (unsigned long g = gfn; g < gfn + HPAGE_PMD_NR; g++)
			spt_drop(kvm, spt_key(g, 0));
	} else {
		spt_drop(kvm, spt_key(gfn, HPAGE_PMD_ORDER));
	}
	if ((kvm->spt_used + 1) * 4 >= kvm->spt_cap * 3 && spt_grow(kvm))
		return -ENOMEM;
	for (i = spt_hash(key) & (kvm->spt_cap - 1); kvm->spt[i].key < SPT_TOMB;
	     i = (i + 1) & (kvm->spt_cap - 1))
		;
	if (kvm->spt[i].key == SPT_EMPTY)
		kvm->spt_used++;
	kvm->spt[i].key = key;
	kvm->spt[i].spte = *spte;
	kvm->spt[i].accessed = accessed;
	return 0;
}

/*
 * kvm_unmap_gfn_range(): zap every spte that intersects [start, end) (end
 * 0: everything), a huge one whole, at its level.  Holds mmu_lock.
 *
 * @partial (the huge-partial form's range_start and invalidate_page): a
 * huge spte is instead demoted into 4 KiB sptes over the same frames, and
 * only the one of the first page the invalidation names in it is zapped.
 */
static bool kvm_unmap_hva_range(struct kvm *kvm, unsigned long start,
				unsigned long end, bool partial)
{
	unsigned long gs = start >> PAGE_SHIFT;
	unsigned long ge = end ? ((end - 1) >> PAGE_SHIFT) + 1 : ~0UL;
	struct kvm_spte *demote = NULL;
	unsigned long nr_demote = 0;
	struct mmn_spte *sub;
	bool flush = false;

	for (unsigned long i = 0; i < kvm->spt_cap; i++) {
		struct kvm_spte *e = &kvm->spt[i];
		unsigned long s, t;

		if (e->key >= SPT_TOMB)
			continue;
		spt_key_range(e->key, &s, &t);
		if (s >= ge || t <= gs)
			continue;
		if (partial && (e->key & SPT_HUGE)) {
			/* BROKEN: kept, below */
			struct kvm_spte *n = realloc(demote, (nr_demote + 1) * sizeof(*n));

			if (!n)
				abort();
			demote = n;
			demote[nr_demote++] = *e;
		}
		e->key = SPT_TOMB;
		flush = true;
	}
	if (!nr_demote)
		return flush;
	sub = malloc(HPAGE_PMD_NR * sizeof(*sub));
	if (!sub)
		abort();
	for (unsigned long k = 0; k < nr_demote; k++) {
		unsigned long hs = demote[k].spte.va >> PAGE_SHIFT;
		unsigned long named = max(gs, hs);

		mmn_spte_split(kvm->dev, &demote[k].spte, sub);
		for (unsigned long j = 0; j < HPAGE_PMD_NR; j++)
			if (hs + j != named &&
			    spt_install(kvm, &sub[j], demote[k].accessed))
				abort();
	}
	free(sub);
	free(demote);
	return flush;
}

/* ---- mmu notifier -------------------------------------------------- */

static struct kvm *mmu_notifier_to_kvm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvm, mmu_notifier);
}

/* kvm_mmu_invalidate_begin(): holds mmu_lock. */
static void kvm_mmu_invalidate_begin(struct kvm *kvm, unsigned long start,
				     unsigned long end)
{
	unsigned long gs = start >> PAGE_SHIFT;
	unsigned long ge = end ? ((end - 1) >> PAGE_SHIFT) + 1 : ~0UL;

	kvm->mmu_invalidate_in_progress++;
	if (kvm->mmu_invalidate_in_progress == 1) {
		kvm->mmu_invalidate_range_start = gs;
		kvm->mmu_invalidate_range_end = ge;
	} else {
		kvm->mmu_invalidate_range_start = min(kvm->mmu_invalidate_range_start, gs);
		kvm->mmu_invalidate_range_end = max(kvm->mmu_invalidate_range_end, ge);
	}
}

static void kvm_defer(struct kvm *kvm, unsigned long start, unsigned long end)
{
	struct kvm_deferred *d = malloc(sizeof(*d));

	if (!d)
		abort();
	d->start = start;
	d->end = end;
	d->next = NULL;
	spin_lock(&kvm->deferred_lock);
	*kvm->deferred_tail = d;
	kvm->deferred_tail = &d->next;
	spin_unlock(&kvm->deferred_lock);
	wake_up(&kvm->deferred_wq);
}

/*
 * invalidate_range_start: mmap_lock and/or rmap locks held; never sleeps
 * (mmu_lock is a spinlock), so it never needs -EAGAIN.
 */
static int kvm_mmu_notifier_invalidate_range_start(struct mmu_notifier *mn,
						   const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	spin_lock(&kvm->mmu_lock);
	switch (kvm->form) {
	case KVM_SEQ_IN_START:
		/* BROKEN: too early */
		WRITE_ONCE(kvm->mmu_invalidate_seq, kvm->mmu_invalidate_seq + 1);
		kvm_unmap_hva_range(kvm, range->start, range->end, false);
		break;
	case KVM_DEFERRED:
		kvm_mmu_invalidate_begin(kvm, range->start, range->end);
		spin_unlock(&kvm->mmu_lock);
		kvm_defer(kvm, range->start, range->end);	/* BROKEN */
		return 0;
	default:
		kvm_mmu_invalidate_begin(kvm, range->start, range->end);
		kvm_unmap_hva_range(kvm, range->start, range->end,
				    kvm->form == KVM_HUGE_PARTIAL);
		break;
	}
	spin_unlock(&kvm->mmu_lock);
	return 0;
}

/* invalidate_range_end: same context as start. */
static void kvm_mmu_notifier_invalidate_range_end(struct mmu_notifier *mn,
						  const struct mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	if (kvm->form == KVM_SEQ_IN_START)
		return;			/* BROKEN: nothing in end */
	spin_lock(&kvm->mmu_lock);
	/* kvm_mmu_invalidate_end(); WRITE_ONCE pairs with the fault's
	 * lockless READ_ONCE snapshot */
	WRITE_ONCE(kvm->mmu_invalidate_seq, kvm->mmu_invalidate_seq + 1);
	smp_wmb();
	kvm->mmu_invalidate_in_progress--;
	WARN_ON(kvm->mmu_invalidate_in_progress < 0);
	spin_unlock(&kvm->mmu_lock);
}

/*
 * invalidate_page (era 2.6.33; also change_pte's fallback there): PT lock
 * held, atomic.  2.6.33's kvm_mmu_notifier_invalidate_page(): under
 * mmu_lock bump the sequence and unmap the spte, before the page can go.
 */
static void kvm_mmu_notifier_invalidate_page(struct mmu_notifier *mn,
					     struct mm_struct *mm,
					     unsigned long address)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	address &= PAGE_MASK;
	spin_lock(&kvm->mmu_lock);
	WRITE_ONCE(kvm->mmu_invalidate_seq, kvm->mmu_invalidate_seq + 1);
	kvm_unmap_hva_range(kvm, address, address + PAGE_SIZE,
			    kvm->form == KVM_HUGE_PARTIAL);
	spin_unlock(&kvm->mmu_lock);
}

/*
 * kvm_age_gfn() / kvm_test_age_gfn(): PT lock held by the caller, atomic.
 * A huge spte answers (and is cleared) for every address it covers.
 */
static int kvm_age_range(struct kvm *kvm, unsigned long start,
			 unsigned long end, bool clear)
{
	int young = 0;

	spin_lock(&kvm->mmu_lock);
	for (unsigned long a = start & PAGE_MASK; a < end; a += PAGE_SIZE) {
		struct kvm_spte *e = spt_find(kvm, a >> PAGE_SHIFT);

		if (e && e->accessed) {
			young = 1;
			if (clear)
				e->accessed = false;
		}
	}
	spin_unlock(&kvm->mmu_lock);
	return young;
}

static int kvm_mmu_notifier_clear_flush_young(struct mmu_notifier *mn,
					      struct mm_struct *mm,
					      unsigned long start,
					      unsigned long end)
{
	return kvm_age_range(mmu_notifier_to_kvm(mn), start, end, true);
}

static int kvm_mmu_notifier_clear_young(struct mmu_notifier *mn,
					struct mm_struct *mm,
					unsigned long start, unsigned long end)
{
	return kvm_age_range(mmu_notifier_to_kvm(mn), start, end, true);
}

static int kvm_mmu_notifier_test_young(struct mmu_notifier *mn,
				       struct mm_struct *mm,
				       unsigned long address)
{
	return kvm_age_range(mmu_notifier_to_kvm(mn), address,
			     address + PAGE_SIZE, false);
}

/* release: exit_mmap or unregister; tear everything down. */
static void kvm_mmu_notifier_release(struct mmu_notifier *mn,
				     struct mm_struct *mm)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);

	spin_lock(&kvm->mmu_lock);
	kvm_unmap_hva_range(kvm, 0, 0, false);	/* kvm_arch_flush_shadow_all */
	spin_unlock(&kvm->mmu_lock);
}

static const struct mmu_notifier_ops kvm_mmu_notifier_ops = {
	.invalidate_range_start = kvm_mmu_notifier_invalidate_range_start,
	.invalidate_range_end = kvm_mmu_notifier_invalidate_range_end,
	.clear_flush_young = kvm_mmu_notifier_clear_flush_young,
	.clear_young = kvm_mmu_notifier_clear_young,
	.test_young = kvm_mmu_notifier_test_young,
	.release = kvm_mmu_notifier_release,
	.invalidate_page = kvm_mmu_notifier_invalidate_page,	/* 2.6.33 */
};

/* ---- the deferred form's worker ------------------------------------ */

static bool kvm_deferred_pending(struct kvm *kvm)
{
	bool ret;

	spin_lock(&kvm->deferred_lock);
	ret = (kvm->deferred_head && !kvm->worker_hold) || kvm->worker_stop;
	spin_unlock(&kvm->deferred_lock);
	return ret;
}

static void *kvm_zap_worker(void *arg)
{
	struct kvm *kvm = arg;

	for (;;) {
		struct kvm_deferred *d;

		wait_event(kvm->deferred_wq, kvm_deferred_pending(kvm));
		spin_lock(&kvm->deferred_lock);
		d = kvm->worker_hold && !kvm->worker_stop ? NULL : kvm->deferred_head;
		if (d) {
			kvm->deferred_head = d->next;
			if (!d->next)
				kvm->deferred_tail = &kvm->deferred_head;
		}
		spin_unlock(&kvm->deferred_lock);
		if (!d) {
			if (kvm->worker_stop)
				return NULL;
			continue;
		}
		cond_resched();		/* "later": see dmirror_worker() */
		spin_lock(&kvm->mmu_lock);
		kvm_unmap_hva_range(kvm, d->start, d->end, false);
		spin_unlock(&kvm->mmu_lock);
		free(d);
	}
}

void kvm_hold_worker(struct mmn_device *dev, bool hold)
{
	struct kvm *kvm = dev->priv;

	spin_lock(&kvm->deferred_lock);
	kvm->worker_hold = hold;
	spin_unlock(&kvm->deferred_lock);
	wake_up(&kvm->deferred_wq);
}

/* ---- faults and guest accesses ------------------------------------- */

/* mmu_invalidate_retry_gfn(): holds mmu_lock. */
static bool kvm_mmu_invalidate_retry_gfn(struct kvm *kvm, unsigned long mmu_seq,
					 unsigned long gfn)
{
	if (kvm->form != KVM_NO_IN_PROGRESS &&
	    unlikely(kvm->mmu_invalidate_in_progress)) {
		if (gfn >= kvm->mmu_invalidate_range_start &&
		    gfn < kvm->mmu_invalidate_range_end)
			return true;
	}
	return kvm->mmu_invalidate_seq != mmu_seq;
}

/*
 * host_pfn_mapping_level() and kvm_mmu_hugepage_adjust(): the order of the
 * spte to install for @gfn, whose pfn GUP found in @page.  Holds mmu_lock,
 * after kvm_mmu_invalidate_retry_gfn() said no invalidation touched @gfn
 * since the seq snapshot: the primary's page table may be read now (KVM:
 * "the information may become stale soon, but it is safe to use as long
 * as 1) mmu_notifier_retry was checked after taking mmu_lock, and 2)
 * mmu_lock is taken now").  The primary changes a huge PMD only inside a
 * range over its whole 2 MiB, which would have made the fault retry, so a
 * huge PMD seen here maps @page; KVM asserts it (VM_BUG_ON on the pfn's
 * alignment).  Here a broken form's stale @page falls back to 4 KiB, as
 * does a write through a read-only PMD.  The caller holds mm_users.
 */
static unsigned int kvm_mmu_hugepage_adjust(struct kvm *kvm, unsigned long gfn,
					    struct page *page, bool write)
{
	unsigned long pfn;
	unsigned int order;
	bool writable;

	if (mmn_lookup_address_in_mm(kvm->dev->mm, gfn << PAGE_SHIFT, &pfn,
				     &writable, &order))
		return 0;
	if (order != HPAGE_PMD_ORDER || pfn != page_to_pfn(page) ||
	    (write && !writable))
		return 0;
	return HPAGE_PMD_ORDER;
}

/*
 * The fault path (kvm_faultin_pfn(), then direct_map() under mmu_lock).
 * When: from the device agent after a miss or a write through a read-only
 * spte.  Held: nothing.  May sleep in GUP; mmu_lock (a spinlock) from the
 * retry check to the install.
 */
static int kvm_dev_fault(struct mmn_device *dev, unsigned long va, bool write)
{
	struct kvm *kvm = dev->priv;
	struct mm_struct *mm = dev->mm;
	unsigned long gfn = va >> PAGE_SHIFT, mmu_seq;
	struct mmn_spte spte;
	struct page *page;
	unsigned int order;
	long npages;
	int ret = 0;

	mmu_seq = READ_ONCE(kvm->mmu_invalidate_seq);
	smp_rmb();

	/*
	 * hva_to_pfn(): GUP, may sleep.  The vCPU runs in the mm, so it has
	 * users until the spte is installed (the level is read from its page
	 * tables under mmu_lock).
	 */
	if (!mmget_not_zero(mm))
		return -EFAULT;
	mmap_read_lock(mm);
	npages = get_user_pages_remote(mm, va & PAGE_MASK, 1,
				       write ? FOLL_WRITE : 0, &page, NULL);
	mmap_read_unlock(mm);
	if (npages != 1) {
		mmput(mm);
		return npages < 0 ? (int)npages : -EFAULT;
	}

	/*
	 * TEST HOOK: between the hva->pfn lookup and mmu_lock, where an
	 * invalidation races with the fault (kvm_set_test_hook()).
	 */
	if (unlikely(kvm->test_hook))
		kvm->test_hook(kvm->test_hook_arg);

	spin_lock(&kvm->mmu_lock);
	if (kvm_mmu_invalidate_retry_gfn(kvm, mmu_seq, gfn))
		goto out_unlock;	/* RET_PF_RETRY: the access faults again */
	order = kvm_mmu_hugepage_adjust(kvm, gfn, page, write);
	if (order)	/* fault->pfn &= ~mask: the head of the THP */
		mmn_spte_make(dev, &spte, va & PMD_MASK,
			      pfn_to_page(page_to_pfn(page) -
					  (gfn & (HPAGE_PMD_NR - 1))),
			      write, order);
	else
		mmn_spte_make(dev, &spte, va & PAGE_MASK, page, write, 0);
	ret = spt_install(kvm, &spte, true);
out_unlock:
	spin_unlock(&kvm->mmu_lock);
	/* kvm_release_page_clean(): the spte holds no reference */
	put_page(page);
	mmput(mm);
	return ret;
}

/*
 * A guest access: the hardware walks the shadow page table.  mmu_lock is
 * taken only to read the lab's hash table safely; it models that a zap
 * followed by the remote TLB flush leaves no access in flight.
 */
static int kvm_dma(struct mmn_device *dev, unsigned long va, bool write,
		   uint64_t *val)
{
	struct kvm *kvm = dev->priv;
	struct kvm_spte *e;
	int ret;

	spin_lock(&kvm->mmu_lock);
	e = spt_find(kvm, va >> PAGE_SHIFT);
	if (!e) {
		ret = -ENOENT;
	} else {
		e->accessed = true;
		ret = write ? mmn_dev_write(dev, &e->spte, va, *val) :
			      mmn_dev_read(dev, &e->spte, va, val);
	}
	spin_unlock(&kvm->mmu_lock);
	return ret;
}

/* ---- bind / unbind ------------------------------------------------- */

static int kvm_bind(struct mmn_device *dev)
{
	struct kvm *kvm = calloc(1, sizeof(*kvm));
	int form = mmn_driver_form(&mmn_driver_kvm, dev->form);
	int ret;

	if (!kvm)
		return -ENOMEM;
	if (form < 0) {
		free(kvm);
		return -EINVAL;
	}
	kvm->dev = dev;
	kvm->form = form;
	spin_lock_init(&kvm->mmu_lock);
	spin_lock_init(&kvm->deferred_lock);
	init_waitqueue_head(&kvm->deferred_wq);
	kvm->deferred_tail = &kvm->deferred_head;
	kvm->mmu_notifier.ops = &kvm_mmu_notifier_ops;
	dev->priv = kvm;
	ret = mmu_notifier_register(&kvm->mmu_notifier, dev->mm);
	if (ret) {
		spin_lock_destroy(&kvm->mmu_lock);
		spin_lock_destroy(&kvm->deferred_lock);
		destroy_waitqueue_head(&kvm->deferred_wq);
		free(kvm);
		dev->priv = NULL;
		return ret;
	}
	mmn_device_track(dev, &kvm->mmu_notifier);
	if (kvm->form == KVM_DEFERRED)
		kvm->worker = mmn_task_create("kvm-zap", MMN_TASK_WORKER, NULL,
					      kvm_zap_worker, kvm);
	return 0;
}

static void kvm_unbind(struct mmn_device *dev)
{
	struct kvm *kvm = dev->priv;

	mmu_notifier_unregister(&kvm->mmu_notifier, dev->mm);
	mmn_device_untrack(dev, &kvm->mmu_notifier);
	if (kvm->worker) {
		spin_lock(&kvm->deferred_lock);
		kvm->worker_stop = true;
		spin_unlock(&kvm->deferred_lock);
		wake_up(&kvm->deferred_wq);
		mmn_task_join(kvm->worker);
	}
	while (kvm->deferred_head) {
		struct kvm_deferred *d = kvm->deferred_head;

		kvm->deferred_head = d->next;
		free(d);
	}
	spin_lock_destroy(&kvm->mmu_lock);
	spin_lock_destroy(&kvm->deferred_lock);
	destroy_waitqueue_head(&kvm->deferred_wq);
	free(kvm->spt);
	free(kvm);
	dev->priv = NULL;
}

/*
 * TEST HOOK: call @fn(@arg) in every fault of @dev after GUP and before
 * taking mmu_lock (the page reference from GUP is held), or stop with
 * @fn == NULL.  Set it while no other task uses the device.  @fn may run
 * primary operations or wait for another task to do so; it keeps its own
 * state to act once.
 */
void kvm_set_test_hook(struct mmn_device *dev, void (*fn)(void *), void *arg)
{
	struct kvm *kvm = dev->priv;

	kvm->test_hook = fn;
	kvm->test_hook_arg = arg;
}

/* Introspection for tests. */
void kvm_invalidate_state(struct mmn_device *dev, unsigned long *seq,
			  long *in_progress)
{
	struct kvm *kvm = dev->priv;

	spin_lock(&kvm->mmu_lock);
	*seq = kvm->mmu_invalidate_seq;
	*in_progress = kvm->mmu_invalidate_in_progress;
	spin_unlock(&kvm->mmu_lock);
}

/* Introspection for tests: the spte translating @va (under mmu_lock). */
int kvm_spte_lookup(struct mmn_device *dev, unsigned long va,
		    struct mmn_spte *spte)
{
	struct kvm *kvm = dev->priv;
	struct kvm_spte *e;

	spin_lock(&kvm->mmu_lock);
	e = spt_find(kvm, va >> PAGE_SHIFT);
	if (e)
		*spte = e->spte;
	spin_unlock(&kvm->mmu_lock);
	return e ? 0 : -ENOENT;
}

static const struct mmn_device_ops kvm_ops = {
	.name = "kvm",
	.dma = kvm_dma,
	.fault = kvm_dev_fault,
	.bind = kvm_bind,
	.unbind = kvm_unbind,
};

const struct mmn_driver mmn_driver_kvm = {
	.abi_version = MMN_DEVICE_ABI_VERSION,
	.name = "kvm",
	.summary = "KVM shadow MMU: mmu_lock, mmu_invalidate_seq/in_progress, zap in range_start",
	.forms = kvm_forms,
	.form_docs = kvm_form_docs,
	.ops = &kvm_ops,
};
