// SPDX-License-Identifier: GPL-2.0
/*
 * mmntrace: record every MMU-notifier callback a real kernel makes on the
 * mm of a test process, so that docs/validation.md can compare the real
 * sequences with the lab's (DESIGN.md section 8).
 *
 * A misc device, /dev/mmntrace.  Each open file is a session (ioctls in
 * mmntrace.h): MMNTR_REGISTER puts a classic notifier on current->mm with
 * every callback the running kernel has (release, the three young ones,
 * invalidate_range_start/end; below 6.9 change_pte, below 6.6
 * invalidate_range) and, from 6.6 on, a second notifier with
 * arch_invalidate_secondary_tlbs: since 6.6 a notifier that has it
 * together with start/end is refused (-EINVAL and a WARNING).  An
 * interval notifier can be inserted over one range.
 *
 * Every callback of every session appends one record to one global log;
 * read() returns it as text, one line per record:
 *
 *   sid=S pid=P comm=C cur=M | BODY
 *
 * cur is 1 when the callback's mm is current->mm (0 for ksmd, kswapd, the
 * OOM reaper, an exiting task), and BODY is the lab recorder's line format
 * (include/mmn/recorder.h) with absolute addresses:
 *
 *   start EVENT [a,b) blk=B atomic=A        end EVENT [a,b) blk=B atomic=A
 *   interval EVENT [a,b) blk=B seq=N atomic=A
 *   release | release tlbs                  (classic | tlbs notifier)
 *   arch_invalidate_secondary_tlbs [a,b) atomic=A
 *   clear_flush_young [a,b) atomic=A        clear_young [a,b) atomic=A
 *   test_young ADDR atomic=A
 *   invalidate_range [a,b) atomic=A         change_pte ADDR atomic=A
 *   # TEXT                                  (MMNTR_MARK)
 *
 * atomic is in_atomic() || irqs_disabled(), sampled first thing in the
 * callback (the log's own spinlock comes after).  The Debian kernels have
 * CONFIG_PREEMPT_COUNT, so a held spinlock shows.  If the log fills, the
 * last line read is "! dropped N records".
 *
 * GPL: every mmu_notifier_* and mmu_interval_* export is GPL-only.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/vmalloc.h>

#include "mmntrace.h"

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 6, 0)
#define MMNTR_HAVE_INVALIDATE_RANGE 1	/* removed in 6.6 */
#else
#define MMNTR_HAVE_TLBS 1		/* arch_invalidate_secondary_tlbs, 6.6 */
#endif
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 9, 0)
#define MMNTR_HAVE_CHANGE_PTE 1		/* removed in 6.9 */
#endif

#define MMNTR_RING	32768		/* records */

enum mmntr_kind {
	K_START, K_END, K_INTERVAL, K_RELEASE, K_RELEASE_TLBS, K_TLBS,
	K_CLEAR_FLUSH_YOUNG, K_CLEAR_YOUNG, K_TEST_YOUNG,
	K_INVALIDATE_RANGE, K_CHANGE_PTE, K_MARK,
};

struct mmntr_rec {
	u8 kind, event, blk, atomic, cur;
	u16 sid;
	pid_t pid;
	unsigned long start, end, seq;
	char comm[TASK_COMM_LEN];
	char text[MMNTR_MARK_LEN];	/* K_MARK only */
};

static DEFINE_SPINLOCK(mmntr_lock);	/* the ring and the counters below */
static struct mmntr_rec *mmntr_ring;
static unsigned long mmntr_nr;		/* records in the ring */
static unsigned long mmntr_dropped;
static atomic_t mmntr_next_sid = ATOMIC_INIT(0);

struct mmntr_sess {
	struct mmu_notifier mn;		/* classic */
	struct mmu_notifier tlbs;	/* arch_invalidate_secondary_tlbs */
	struct mmu_interval_notifier isub;
	struct mm_struct *mm;		/* registered on; grabbed by register */
	struct mm_struct *imm;		/* interval inserted on */
	bool mn_reg, tlbs_reg, isub_in;
	u16 sid;
	struct mutex lock;		/* the fields above (ioctl vs release) */
	spinlock_t seq_lock;		/* the interval's driver lock */
};

static bool mmntr_atomic(void)
{
	return in_atomic() || irqs_disabled();
}

static void mmntr_log(struct mmntr_sess *s, struct mm_struct *mm, u8 kind,
		      u8 event, bool blk, bool atomic, unsigned long start,
		      unsigned long end, unsigned long seq, const char *text)
{
	struct mmntr_rec *r;
	unsigned long flags;

	spin_lock_irqsave(&mmntr_lock, flags);
	if (mmntr_nr >= MMNTR_RING) {
		mmntr_dropped++;
		goto out;
	}
	r = &mmntr_ring[mmntr_nr++];
	r->kind = kind;
	r->event = event;
	r->blk = blk;
	r->atomic = atomic;
	r->cur = mm && mm == current->mm;
	r->sid = s ? s->sid : 0;
	r->pid = current->pid;
	r->start = start;
	r->end = end;
	r->seq = seq;
	memcpy(r->comm, current->comm, sizeof(r->comm));
	r->comm[sizeof(r->comm) - 1] = 0;
	if (text)
		strscpy(r->text, text, sizeof(r->text));
	else
		r->text[0] = 0;
out:
	spin_unlock_irqrestore(&mmntr_lock, flags);
}

/* ---- the classic notifier ---------------------------------------------- */

static struct mmntr_sess *sess_of(struct mmu_notifier *mn)
{
	return container_of(mn, struct mmntr_sess, mn);
}

/* exit_mmap() or mmu_notifier_unregister(); may run concurrently with the
 * others; after it no start/end comes */
static void mmntr_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	mmntr_log(sess_of(mn), mm, K_RELEASE, 0, 1, mmntr_atomic(), 0, 0, 0,
		  NULL);
}

/* mmap lock and/or rmap locks held; may sleep only if blockable; never
 * fails here, so end always follows */
static int mmntr_start(struct mmu_notifier *mn,
		       const struct mmu_notifier_range *range)
{
	bool atomic = mmntr_atomic();

	mmntr_log(sess_of(mn), range->mm, K_START, range->event,
		  mmu_notifier_range_blockable(range), atomic, range->start,
		  range->end, 0, NULL);
	return 0;
}

static void mmntr_end(struct mmu_notifier *mn,
		      const struct mmu_notifier_range *range)
{
	bool atomic = mmntr_atomic();

	mmntr_log(sess_of(mn), range->mm, K_END, range->event,
		  mmu_notifier_range_blockable(range), atomic, range->start,
		  range->end, 0, NULL);
}

/* aging: under the PT lock (atomic); report "not young" */
static int mmntr_clear_flush_young(struct mmu_notifier *mn,
				   struct mm_struct *mm, unsigned long start,
				   unsigned long end)
{
	mmntr_log(sess_of(mn), mm, K_CLEAR_FLUSH_YOUNG, 0, 1, mmntr_atomic(),
		  start, end, 0, NULL);
	return 0;
}

static int mmntr_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			     unsigned long start, unsigned long end)
{
	mmntr_log(sess_of(mn), mm, K_CLEAR_YOUNG, 0, 1, mmntr_atomic(), start,
		  end, 0, NULL);
	return 0;
}

static int mmntr_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			    unsigned long address)
{
	mmntr_log(sess_of(mn), mm, K_TEST_YOUNG, 0, 1, mmntr_atomic(), address,
		  0, 0, NULL);
	return 0;
}

#ifdef MMNTR_HAVE_INVALIDATE_RANGE
/* < 6.6: under the PT lock from the *_clear_flush_notify helpers, from
 * range_end (not _only_end) and from the TLB-gather flush */
static void mmntr_invalidate_range(struct mmu_notifier *mn,
				   struct mm_struct *mm, unsigned long start,
				   unsigned long end)
{
	mmntr_log(sess_of(mn), mm, K_INVALIDATE_RANGE, 0, 1, mmntr_atomic(),
		  start, end, 0, NULL);
}
#endif

#ifdef MMNTR_HAVE_CHANGE_PTE
/* < 6.9: set_pte_at_notify(), under the PT lock, inside start/end */
static void mmntr_change_pte(struct mmu_notifier *mn, struct mm_struct *mm,
			     unsigned long address, pte_t pte)
{
	mmntr_log(sess_of(mn), mm, K_CHANGE_PTE, 0, 1, mmntr_atomic(), address,
		  0, 0, NULL);
}
#endif

static const struct mmu_notifier_ops mmntr_ops = {
	.release		= mmntr_release,
	.clear_flush_young	= mmntr_clear_flush_young,
	.clear_young		= mmntr_clear_young,
	.test_young		= mmntr_test_young,
	.invalidate_range_start	= mmntr_start,
	.invalidate_range_end	= mmntr_end,
#ifdef MMNTR_HAVE_INVALIDATE_RANGE
	.invalidate_range	= mmntr_invalidate_range,
#endif
#ifdef MMNTR_HAVE_CHANGE_PTE
	.change_pte		= mmntr_change_pte,
#endif
};

/* ---- the tlbs notifier (6.6+) ------------------------------------------- */

#ifdef MMNTR_HAVE_TLBS
static struct mmntr_sess *sess_of_tlbs(struct mmu_notifier *mn)
{
	return container_of(mn, struct mmntr_sess, tlbs);
}

static void mmntr_release_tlbs(struct mmu_notifier *mn, struct mm_struct *mm)
{
	mmntr_log(sess_of_tlbs(mn), mm, K_RELEASE_TLBS, 0, 1, mmntr_atomic(),
		  0, 0, 0, NULL);
}

/* from the arch TLB flush (x86 flush_tlb_mm_range(), the batched reclaim
 * flush): often under the PT lock; must not sleep */
static void mmntr_tlbs(struct mmu_notifier *mn, struct mm_struct *mm,
		       unsigned long start, unsigned long end)
{
	mmntr_log(sess_of_tlbs(mn), mm, K_TLBS, 0, 1, mmntr_atomic(), start,
		  end, 0, NULL);
}

static const struct mmu_notifier_ops mmntr_tlbs_ops = {
	.release			= mmntr_release_tlbs,
	.arch_invalidate_secondary_tlbs	= mmntr_tlbs,
};
#endif

/* ---- the interval notifier ---------------------------------------------- */

/* may sleep if blockable; always succeeds (sets the seq under the driver
 * lock, as the collision-retry protocol asks) */
static bool mmntr_interval_invalidate(struct mmu_interval_notifier *isub,
				      const struct mmu_notifier_range *range,
				      unsigned long cur_seq)
{
	struct mmntr_sess *s = container_of(isub, struct mmntr_sess, isub);
	bool atomic = mmntr_atomic();

	spin_lock(&s->seq_lock);
	mmu_interval_set_seq(isub, cur_seq);
	spin_unlock(&s->seq_lock);
	mmntr_log(s, range->mm, K_INTERVAL, range->event,
		  mmu_notifier_range_blockable(range), atomic, range->start,
		  range->end, cur_seq, NULL);
	return true;
}

static const struct mmu_interval_notifier_ops mmntr_interval_ops = {
	.invalidate = mmntr_interval_invalidate,
};

/* ---- the device ---------------------------------------------------------- */

static const char *mmntr_event_name(unsigned int ev)
{
	switch (ev) {
	case MMU_NOTIFY_UNMAP:			return "UNMAP";
	case MMU_NOTIFY_CLEAR:			return "CLEAR";
	case MMU_NOTIFY_PROTECTION_VMA:		return "PROTECTION_VMA";
	case MMU_NOTIFY_PROTECTION_PAGE:	return "PROTECTION_PAGE";
	case MMU_NOTIFY_SOFT_DIRTY:		return "SOFT_DIRTY";
	case MMU_NOTIFY_RELEASE:		return "RELEASE";
	case MMU_NOTIFY_MIGRATE:		return "MIGRATE";
	case MMU_NOTIFY_EXCLUSIVE:		return "EXCLUSIVE";
	}
	return "EVENT?";
}

static int mmntr_format(const struct mmntr_rec *r, char *b, size_t n)
{
	int len = scnprintf(b, n, "sid=%u pid=%d comm=%s cur=%u | ", r->sid,
			    r->pid, r->comm, r->cur);
	const char *ev = mmntr_event_name(r->event);

	switch (r->kind) {
	case K_START:
	case K_END:
		len += scnprintf(b + len, n - len, "%s %s [0x%lx,0x%lx) blk=%u atomic=%u\n",
				 r->kind == K_START ? "start" : "end", ev,
				 r->start, r->end, r->blk, r->atomic);
		break;
	case K_INTERVAL:
		len += scnprintf(b + len, n - len, "interval %s [0x%lx,0x%lx) blk=%u seq=%lu atomic=%u\n",
				 ev, r->start, r->end, r->blk, r->seq, r->atomic);
		break;
	case K_RELEASE:
		len += scnprintf(b + len, n - len, "release\n");
		break;
	case K_RELEASE_TLBS:
		len += scnprintf(b + len, n - len, "release tlbs\n");
		break;
	case K_TLBS:
	case K_CLEAR_FLUSH_YOUNG:
	case K_CLEAR_YOUNG:
	case K_INVALIDATE_RANGE:
		len += scnprintf(b + len, n - len, "%s [0x%lx,0x%lx) atomic=%u\n",
				 r->kind == K_TLBS ? "arch_invalidate_secondary_tlbs" :
				 r->kind == K_CLEAR_FLUSH_YOUNG ? "clear_flush_young" :
				 r->kind == K_CLEAR_YOUNG ? "clear_young" :
				 "invalidate_range", r->start, r->end, r->atomic);
		break;
	case K_TEST_YOUNG:
	case K_CHANGE_PTE:
		len += scnprintf(b + len, n - len, "%s 0x%lx atomic=%u\n",
				 r->kind == K_TEST_YOUNG ? "test_young" : "change_pte",
				 r->start, r->atomic);
		break;
	case K_MARK:
		len += scnprintf(b + len, n - len, "# %s\n", r->text);
		break;
	}
	return len;
}

static int mmntr_open(struct inode *inode, struct file *file)
{
	struct mmntr_sess *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return -ENOMEM;
	mutex_init(&s->lock);
	spin_lock_init(&s->seq_lock);
	s->sid = atomic_inc_return(&mmntr_next_sid);
	s->mn.ops = &mmntr_ops;
#ifdef MMNTR_HAVE_TLBS
	s->tlbs.ops = &mmntr_tlbs_ops;
#endif
	file->private_data = s;
	file->f_pos = 0;
	return 0;
}

/* Unregister (->release runs if exit has not run it), tlbs first as the
 * lab's recorder does.  After mmu_notifier_unregister() no callback of
 * that notifier runs any more (it synchronizes SRCU). */
static void mmntr_unregister(struct mmntr_sess *s)
{
#ifdef MMNTR_HAVE_TLBS
	if (s->tlbs_reg) {
		mmu_notifier_unregister(&s->tlbs, s->mm);
		s->tlbs_reg = false;
	}
#endif
	if (s->mn_reg) {
		mmu_notifier_unregister(&s->mn, s->mm);
		s->mn_reg = false;
	}
}

static int mmntr_release_file(struct inode *inode, struct file *file)
{
	struct mmntr_sess *s = file->private_data;

	mutex_lock(&s->lock);
	if (s->isub_in) {
		mmu_interval_notifier_remove(&s->isub);
		s->isub_in = false;
	}
	mmntr_unregister(s);
	mutex_unlock(&s->lock);
	kfree(s);
	return 0;
}

static long mmntr_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mmntr_sess *s = file->private_data;
	struct mmntr_interval iv;
	struct mmntr_mark mk;
	unsigned long flags;
	long ret = 0;

	switch (cmd) {
	case MMNTR_MARK:
		if (copy_from_user(&mk, (void __user *)arg, sizeof(mk)))
			return -EFAULT;
		mk.text[sizeof(mk.text) - 1] = 0;
		mmntr_log(s, current->mm, K_MARK, 0, 0, 0, 0, 0, 0, mk.text);
		return 0;
	case MMNTR_CLEAR:
		spin_lock_irqsave(&mmntr_lock, flags);
		mmntr_nr = 0;
		mmntr_dropped = 0;
		spin_unlock_irqrestore(&mmntr_lock, flags);
		return 0;
	}

	if (!current->mm)
		return -EINVAL;
	mutex_lock(&s->lock);
	switch (cmd) {
	case MMNTR_REGISTER:
		if (s->mn_reg) {
			ret = -EBUSY;
			break;
		}
		s->mm = current->mm;
		ret = mmu_notifier_register(&s->mn, s->mm);
		if (ret)
			break;
		s->mn_reg = true;
#ifdef MMNTR_HAVE_TLBS
		ret = mmu_notifier_register(&s->tlbs, s->mm);
		if (ret) {
			mmntr_unregister(s);
			break;
		}
		s->tlbs_reg = true;
#endif
		break;
	case MMNTR_UNREGISTER:
		mmntr_unregister(s);
		break;
	case MMNTR_INTERVAL_INSERT:
		if (copy_from_user(&iv, (void __user *)arg, sizeof(iv))) {
			ret = -EFAULT;
			break;
		}
		if (s->isub_in) {
			ret = -EBUSY;
			break;
		}
		ret = mmu_interval_notifier_insert(&s->isub, current->mm,
						   iv.start, iv.length,
						   &mmntr_interval_ops);
		if (!ret)
			s->isub_in = true;
		break;
	case MMNTR_INTERVAL_REMOVE:
		if (s->isub_in) {
			mmu_interval_notifier_remove(&s->isub);
			s->isub_in = false;
		}
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&s->lock);
	return ret;
}

/* The file position is a record index. */
static ssize_t mmntr_read(struct file *file, char __user *ubuf, size_t count,
			  loff_t *ppos)
{
	char *line = kmalloc(256, GFP_KERNEL);
	struct mmntr_rec r;
	unsigned long flags, dropped;
	size_t done = 0;
	int len;

	if (!line)
		return -ENOMEM;
	for (;;) {
		bool have = false;

		spin_lock_irqsave(&mmntr_lock, flags);
		if (*ppos < mmntr_nr) {
			r = mmntr_ring[*ppos];
			have = true;
		}
		dropped = mmntr_dropped;
		spin_unlock_irqrestore(&mmntr_lock, flags);
		if (have)
			len = mmntr_format(&r, line, 256);
		else if (dropped && *ppos == MMNTR_RING)
			len = scnprintf(line, 256, "! dropped %lu records\n", dropped);
		else
			break;
		if (done + len > count)
			break;
		if (copy_to_user(ubuf + done, line, len)) {
			kfree(line);
			return -EFAULT;
		}
		done += len;
		(*ppos)++;
	}
	kfree(line);
	return done;
}

static const struct file_operations mmntr_fops = {
	.owner		= THIS_MODULE,
	.open		= mmntr_open,
	.release	= mmntr_release_file,
	.unlocked_ioctl	= mmntr_ioctl,
	.read		= mmntr_read,
	.llseek		= noop_llseek,
};

static struct miscdevice mmntr_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "mmntrace",
	.fops	= &mmntr_fops,
	.mode	= 0666,
};

static int __init mmntr_init(void)
{
	int ret;

	mmntr_ring = vzalloc(sizeof(*mmntr_ring) * MMNTR_RING);
	if (!mmntr_ring)
		return -ENOMEM;
	ret = misc_register(&mmntr_dev);
	if (ret)
		vfree(mmntr_ring);
	return ret;
}

static void __exit mmntr_exit(void)
{
	misc_deregister(&mmntr_dev);
	mmu_notifier_synchronize();
	vfree(mmntr_ring);
}

module_init(mmntr_init);
module_exit(mmntr_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mmnlab: record MMU-notifier callbacks for validation");
