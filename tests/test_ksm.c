// SPDX-License-Identifier: GPL-2.0
/*
 * KSM: ksmd merges identical MADV_MERGEABLE pages (second pass for two
 * new pages, at once into an existing KSM page), the pinned 6.12 notifier
 * sequence of write_protect_page and replace_page from the ksmd task, COW
 * on a write to a KSM page, MADV_UNMERGEABLE, a pinned page that is not
 * merged, rmap_walk_ksm across fork, data kept under the checker, and
 * accounting back to baseline.
 */
#include "harness.h"

#include <stdlib.h>

#include <mmn/device.h>
#include <mmn/recorder.h>

#include "check/check.h"
#include "mirrors/dmirror.h"
#include "mm/internal.h"

#define PG	PAGE_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)

static unsigned long pfn_at(struct mm_struct *mm, unsigned long va)
{
	unsigned long pfn;

	if (mmn_follow_pte(mm, va, &pfn, NULL))
		return ~0UL;
	return pfn;
}

static int writable_at(struct mm_struct *mm, unsigned long va)
{
	bool w;

	if (mmn_follow_pte(mm, va, NULL, &w))
		return -1;
	return w;
}

static uint64_t ld(struct mm_struct *mm, unsigned long va)
{
	uint64_t v = 0xdeadbeef;

	if (mmn_load(mm, va, &v))
		return 0xbad;
	return v;
}

static void *ksmd_fn(void *arg)
{
	return (void *)(long)mmn_ksm_scan();
}

/* One ksmd pass, from a kernel thread named "ksmd" (mm NULL), as Linux. */
static int ksmd_pass(void)
{
	struct mmn_task *t = mmn_task_create("ksmd", MMN_TASK_KTHREAD, NULL,
					     ksmd_fn, NULL);

	return t ? (int)(long)mmn_task_join(t) : -1;
}

/* A process with @n mergeable pages; page i holds @vals[i] in word 1. */
static struct mm_struct *ksm_mm(long *va, int n, const uint64_t *vals)
{
	struct mm_struct *mm = mmn_mm_create();

	*va = mmn_mmap(mm, 0, n * PG, RW, PRIV);
	if (*va < 0 || mmn_madvise(mm, *va, n * PG, MADV_MERGEABLE))
		return mm;
	for (int i = 0; i < n; i++)
		mmn_store(mm, *va + i * PG + 8, vals[i]);
	return mm;
}

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

static struct mmn_recorder *rec_on(struct mm_struct *mm, unsigned long base)
{
	int err;
	struct mmn_recorder *rec = mmn_recorder_create(mm, MMN_REC_TLBS, &err);

	if (rec)
		mmn_recorder_set_base(rec, base);
	return rec;
}

#define CLEAR_PAGE(a, b)						\
	"start CLEAR [" a "," b ") blk=1 atomic=0\n"			\
	"arch_invalidate_secondary_tlbs [" a "," b ") atomic=1\n"	\
	"end CLEAR [" a "," b ") blk=1 atomic=0\n"

/* Two identical pages in two processes merge on the second pass; COW after. */
TEST(ksm_merge_two_processes_and_cow)
{
	const uint64_t v1[3] = { 0x11, 0x22, 0x33 }, v2[3] = { 0x11, 0x99, 0x33 };
	struct mm_struct *a, *b;
	unsigned long shared, sharing;
	long va, vb;

	mmn_check_begin();
	a = ksm_mm(&va, 3, v1);
	b = ksm_mm(&vb, 3, v2);
	ASSERT_GT(va, 0);
	ASSERT_GT(vb, 0);
	EXPECT_EQ(ksmd_pass(), 0);		/* checksums only */
	EXPECT_EQ(ksmd_pass(), 2);		/* pages 0 and 2 */
	EXPECT_EQ(pfn_at(a, va), pfn_at(b, vb));
	EXPECT_EQ(pfn_at(a, va + 2 * PG), pfn_at(b, vb + 2 * PG));
	EXPECT_NE(pfn_at(a, va + PG), pfn_at(b, vb + PG));
	EXPECT_EQ(writable_at(a, va), 0);
	EXPECT_TRUE(PageKsm(pfn_to_page(pfn_at(a, va))));
	EXPECT_EQ(page_mapcount(pfn_to_page(pfn_at(a, va))), 2);
	mmn_ksm_counts(&shared, &sharing);
	EXPECT_EQ(shared, 2);
	EXPECT_EQ(sharing, 2);
	EXPECT_EQ(ksmd_pass(), 0);		/* nothing new */
	/* both keep their own values after a write: COW of the KSM page */
	ASSERT_EQ(mmn_store(a, va + 8, 0xa1), 0);
	EXPECT_NE(pfn_at(a, va), pfn_at(b, vb));
	EXPECT_EQ(ld(a, va + 8), 0xa1);
	EXPECT_EQ(ld(b, vb + 8), 0x11);
	ASSERT_EQ(mmn_store(b, vb + 8, 0xb1), 0);
	EXPECT_EQ(ld(a, va + 8), 0xa1);
	EXPECT_EQ(ld(b, vb + 8), 0xb1);
	EXPECT_EQ(ld(a, va + 2 * PG + 8), 0x33);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmap_read_lock(a);
	EXPECT_TRUE(mm_pgtables_valid(a));
	mmap_read_unlock(a);
	mmn_exit(a);
	EXPECT_EQ(ld(b, vb + 2 * PG + 8), 0x33);
	mmn_exit(b);
	mmn_check_end();
	mmn_ksm_counts(&shared, &sharing);
	EXPECT_EQ(shared, 0);
	EXPECT_TRUE(page_counts_valid());
}

/*
 * Pinned sequence (6.12): for the first pair, write_protect_page of the
 * page being scanned, then of the unstable-tree page, then replace_page
 * of the latter; a third identical page: write_protect_page, replace_page.
 */
TEST(notify_ksm_merge_order)
{
	const uint64_t v[3] = { 7, 7, 7 };
	struct mmn_recorder *rec;
	struct mm_struct *mm;
	long va;

	mm = ksm_mm(&va, 3, v);
	ASSERT_GT(va, 0);
	rec = rec_on(mm, va);
	ASSERT_EQ(mmn_recorder_add_interval(rec, va, 3 * PG), 0);
	EXPECT_EQ(ksmd_pass(), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	mmn_recorder_remove_interval(rec);
	EXPECT_EQ(ksmd_pass(), 2);
	ASSERT_STR_CONTAINS(rec_text(rec),
		/* page 1 meets page 0 in the unstable tree */
		CLEAR_PAGE("+0x1000", "+0x2000")	/* write_protect_page(1) */
		CLEAR_PAGE("+0", "+0x1000")		/* write_protect_page(0) */
		CLEAR_PAGE("+0", "+0x1000")		/* replace_page(0 -> 1) */
		/* page 2 meets the stable tree */
		CLEAR_PAGE("+0x2000", "+0x3000")	/* write_protect_page(2) */
		CLEAR_PAGE("+0x2000", "+0x3000"));	/* replace_page(2 -> 1) */
	EXPECT_EQ(mmn_recorder_lines(rec), 15);
	EXPECT_EQ(pfn_at(mm, va), pfn_at(mm, va + PG));
	EXPECT_EQ(pfn_at(mm, va + 2 * PG), pfn_at(mm, va + PG));
	/* a write to a KSM page: wp_page_copy, CLEAR one page */
	mmn_recorder_clear(rec);
	ASSERT_EQ(mmn_store(mm, va + PG + 8, 8), 0);
	ASSERT_STR_CONTAINS(rec_text(rec), CLEAR_PAGE("+0x1000", "+0x2000"));
	EXPECT_EQ(mmn_recorder_lines(rec), 3);
	/* MADV_UNMERGEABLE breaks COW on the remaining KSM pages */
	mmn_recorder_clear(rec);
	ASSERT_EQ(mmn_madvise(mm, va, 3 * PG, MADV_UNMERGEABLE), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		CLEAR_PAGE("+0", "+0x1000")
		CLEAR_PAGE("+0x2000", "+0x3000"));
	EXPECT_EQ(mmn_recorder_lines(rec), 6);
	EXPECT_NE(pfn_at(mm, va), pfn_at(mm, va + 2 * PG));
	EXPECT_FALSE(PageKsm(pfn_to_page(pfn_at(mm, va))));
	EXPECT_EQ(ld(mm, va + 8), 7);
	EXPECT_EQ(ld(mm, va + PG + 8), 8);
	EXPECT_EQ(ld(mm, va + 2 * PG + 8), 7);
	EXPECT_EQ(ksmd_pass(), 0);		/* not mergeable any more */
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* A page that changes between passes is not merged (checksum). */
TEST(ksm_changing_page_not_merged)
{
	const uint64_t v[2] = { 5, 5 };
	struct mm_struct *mm;
	long va;

	mm = ksm_mm(&va, 2, v);
	ASSERT_GT(va, 0);
	EXPECT_EQ(ksmd_pass(), 0);
	ASSERT_EQ(mmn_store(mm, va + 16, 1), 0);
	ASSERT_EQ(mmn_store(mm, va + 16, 0), 0);	/* same content again */
	ASSERT_EQ(mmn_store(mm, va + PG + 24, 3), 0);	/* different */
	EXPECT_EQ(ksmd_pass(), 0);
	ASSERT_EQ(mmn_store(mm, va + PG + 24, 0), 0);
	EXPECT_EQ(ksmd_pass(), 0);	/* page 1 changed since the last pass */
	EXPECT_EQ(ksmd_pass(), 1);
	EXPECT_EQ(pfn_at(mm, va), pfn_at(mm, va + PG));
	mmn_exit(mm);
}

/* write_protect_page aborts on a pinned page (GUP reference): the pte is
 * restored, nothing merged; after the unpin it merges. */
TEST(ksm_pinned_page_not_merged)
{
	const uint64_t v[2] = { 9, 9 };
	struct mmn_recorder *rec;
	struct mm_struct *mm;
	struct page *pin;
	long va;

	mm = ksm_mm(&va, 2, v);
	ASSERT_GT(va, 0);
	EXPECT_EQ(ksmd_pass(), 0);
	mmap_read_lock(mm);
	ASSERT_EQ(get_user_pages_remote(mm, va + PG, 1, FOLL_WRITE, &pin, NULL), 1);
	mmap_read_unlock(mm);
	rec = rec_on(mm, va);
	EXPECT_EQ(ksmd_pass(), 0);
	/* the pinned page 1 is scanned second: its write-protect fails */
	ASSERT_STR_CONTAINS(rec_text(rec), CLEAR_PAGE("+0x1000", "+0x2000"));
	EXPECT_EQ(mmn_recorder_lines(rec), 3);
	EXPECT_NE(pfn_at(mm, va), pfn_at(mm, va + PG));
	EXPECT_EQ(writable_at(mm, va + PG), 1);
	EXPECT_EQ(mmn_store(mm, va + PG + 8, 9), 0);	/* still exclusive */
	EXPECT_EQ(page_to_pfn(pin), pfn_at(mm, va + PG));
	put_page(pin);
	EXPECT_EQ(ksmd_pass(), 1);
	EXPECT_EQ(pfn_at(mm, va), pfn_at(mm, va + PG));
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

static bool count_one(struct page *page, struct vm_area_struct *vma,
		      unsigned long address, void *arg)
{
	spinlock_t *ptl;
	pte_t *pte = page_vma_mapped_pte(page, vma, address, &ptl);

	if (pte) {
		(*(int *)arg)++;
		pte_unmap_unlock(pte, ptl);
	}
	return true;
}

/* rmap_walk_ksm finds every mapping: both merged mms and a forked child. */
TEST(ksm_rmap_walk_across_fork)
{
	const uint64_t v[1] = { 0x42 };
	struct mm_struct *a, *b, *c;
	struct rmap_walk_control rwc = { .rmap_one = count_one };
	struct page *kpage;
	long va, vb;
	int n = 0, err;

	mmn_check_begin();
	a = ksm_mm(&va, 1, v);
	b = ksm_mm(&vb, 1, v);
	ksmd_pass();
	EXPECT_EQ(ksmd_pass(), 1);
	c = mmn_fork(a, &err);
	ASSERT_TRUE(c != NULL);
	kpage = pfn_to_page(pfn_at(a, va));
	EXPECT_EQ(pfn_at(c, va), page_to_pfn(kpage));
	EXPECT_EQ(page_mapcount(kpage), 3);
	get_page(kpage);
	lock_page(kpage);
	rwc.arg = &n;
	rmap_walk(kpage, &rwc);
	unlock_page(kpage);
	EXPECT_EQ(n, 3);
	/* the child is on KSM's list too; nothing to merge */
	EXPECT_EQ(ksmd_pass(), 0);
	ASSERT_EQ(mmn_store(c, va + 8, 0x43), 0);
	EXPECT_EQ(ld(a, va + 8), 0x42);
	EXPECT_EQ(ld(b, vb + 8), 0x42);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(a);
	mmn_exit(b);
	EXPECT_EQ(page_count(kpage), 1);	/* ours only */
	put_page(kpage);
	mmn_exit(c);
	mmn_check_end();
	EXPECT_TRUE(page_counts_valid());
}

/* The correct dmirror stays silent through merge, COW and unmerge. */
TEST(dmirror_correct_through_ksm)
{
	uint64_t *buf = calloc(2 * MMN_PAGE_WORDS, sizeof(uint64_t));
	const uint64_t v[2] = { 0x55, 0x55 };
	struct hmm_dmirror_cmd cmd;
	struct mmn_device *dev;
	struct mm_struct *mm;
	long va;
	int err;

	ASSERT_TRUE(buf != NULL);
	mmn_check_begin();
	mm = ksm_mm(&va, 2, v);
	ASSERT_GT(va, 0);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev != NULL);
	cmd = (struct hmm_dmirror_cmd){ .addr = va, .ptr = buf, .npages = 2 };
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[1], 0x55);
	ksmd_pass();
	EXPECT_EQ(ksmd_pass(), 1);
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[MMN_PAGE_WORDS + 1], 0x55);
	/* a device write to the merged pages COWs them apart */
	buf[1] = 0x66;
	buf[MMN_PAGE_WORDS + 1] = 0x77;
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_WRITE, &cmd), 0);
	EXPECT_NE(pfn_at(mm, va), pfn_at(mm, va + PG));
	EXPECT_EQ(ld(mm, va + 8), 0x66);
	EXPECT_EQ(ld(mm, va + PG + 8), 0x77);
	ASSERT_EQ(mmn_store(mm, va + PG + 8, 0x55), 0);
	ASSERT_EQ(mmn_store(mm, va + 8, 0x55), 0);
	/* the checksums of the first pass still match: one pass may do */
	EXPECT_EQ(ksmd_pass() + ksmd_pass(), 1);
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	ASSERT_EQ(mmn_madvise(mm, va, 2 * PG, MADV_UNMERGEABLE), 0);
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[1], 0x55);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
	free(buf);
}
