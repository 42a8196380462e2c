// SPDX-License-Identifier: GPL-2.0
/*
 * Transparent huge pages: huge faults, the enabled knob, split (explicit,
 * partial munmap / mprotect / DONTNEED), zap, fork + COW of a huge PMD,
 * mprotect of a whole PMD, khugepaged and MADV_COLLAPSE, the huge zero
 * page, MADV_PAGEOUT, global reclaim and migration of a THP (split
 * first), and era 2.6.33's huge COW (2.6.38); the pinned 6.12 notifier
 * sequence of each; data kept (checker on, zero reports) and frame /
 * refcount / mapcount / swap-slot accounting back to baseline (the
 * harness compares the pool, swap and object counters at the end).
 */
#include "harness.h"

#include <stdlib.h>

#include <mmn/device.h>
#include <mmn/recorder.h>

#include "check/check.h"
#include "mirrors/dmirror.h"
#include "mm/huge_mm.h"
#include "mm/internal.h"

#define PG	PAGE_SIZE
#define HP	PMD_SIZE
#define RW	(PROT_READ | PROT_WRITE)
#define PRIV	(MAP_PRIVATE | MAP_ANONYMOUS)
#define BASE	0x40000000UL	/* 2 MiB aligned */
#define EXPECT_GE(a, b) __H_CMP(0, a, >=, b)

static pmd_t pmd_at(struct mm_struct *mm, unsigned long va)
{
	pmd_t *pmd = mm_find_pmd(mm, va);

	return pmd ? pmdp_get(pmd) : __pmd(0);
}

static bool huge_at(struct mm_struct *mm, unsigned long va)
{
	return pmd_trans_huge(pmd_at(mm, va));
}

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

static unsigned long free_frames(void)
{
	struct mmn_mem_stats st;

	mmn_mem_stats(&st);
	return st.free_frames;
}

static uint64_t val(unsigned long va, int gen)
{
	return (va >> PAGE_SHIFT) * 16 + (uint64_t)gen + 1;
}

/* One word per page of [va, va + len), value val(addr, gen). */
static int fill(struct mm_struct *mm, unsigned long va, unsigned long len, int gen)
{
	for (unsigned long a = va; a < va + len; a += PG) {
		int err = mmn_store(mm, a + 8, val(a, gen));

		if (err)
			return err;
	}
	return 0;
}

/* Number of pages of [va, va + len) whose word differs from gen. */
static unsigned long check(struct mm_struct *mm, unsigned long va,
			   unsigned long len, int gen)
{
	unsigned long bad = 0;

	for (unsigned long a = va; a < va + len; a += PG)
		if (ld(mm, a + 8) != val(a, gen))
			bad++;
	return bad;
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

/* The recorder's lines with a zero offset spelled "0" (see test_mm.c). */
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

#define CLEAR_2M(a, b)							\
	"start CLEAR [" a "," b ") blk=1 atomic=0\n"			\
	"arch_invalidate_secondary_tlbs [0,0xffffffffffffffff) atomic=1\n" \
	"end CLEAR [" a "," b ") blk=1 atomic=0\n"

/* ---- faults and the knob ------------------------------------------------ */

/* A write fault on an aligned MADV_HUGEPAGE range maps one huge PMD, no notifier. */
TEST(thp_write_fault_maps_huge_pmd)
{
	struct mm_struct *mm = thp_mm(2 * HP);
	struct mmn_recorder *rec;
	unsigned long before = free_frames();
	struct page *head;

	ASSERT_TRUE(mm != NULL);
	rec = rec_on(mm, BASE);
	ASSERT_TRUE(rec != NULL);
	mmn_check_begin();
	ASSERT_EQ(mmn_store(mm, BASE + 5 * PG, 7), 0);
	EXPECT_TRUE(huge_at(mm, BASE));
	EXPECT_FALSE(huge_at(mm, BASE + HP));
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_EQ(ld(mm, BASE + 5 * PG), 7);
	EXPECT_EQ(ld(mm, BASE + 6 * PG), 0);	/* zeroed */
	EXPECT_EQ(pfn_at(mm, BASE + 5 * PG), pfn_at(mm, BASE) + 5);
	head = pfn_to_page(pfn_at(mm, BASE));
	EXPECT_TRUE(PageFlag(head, PG_head));
	EXPECT_EQ(page_count(head), 1);
	EXPECT_EQ(total_mapcount(head), 1);
	EXPECT_EQ(mm->rss_anon, (long)HPAGE_PMD_NR);
	EXPECT_TRUE(PageAnonExclusive(head));
	EXPECT_EQ(before - free_frames(), HPAGE_PMD_NR);	/* tables: malloc */
	EXPECT_EQ(fill(mm, BASE, HP, 0), 0);
	EXPECT_EQ(check(mm, BASE, HP, 0), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* enabled=never / madvise / always, MADV_NOHUGEPAGE, read faults. */
TEST(thp_enabled_knob)
{
	struct mm_struct *mm = mmn_mm_create();

	ASSERT_EQ(mmn_mmap(mm, BASE, 4 * HP, RW, PRIV | MAP_FIXED), (long)BASE);
	EXPECT_EQ(mmn_thp_get_enabled(), MMN_THP_MADVISE);	/* lab default */
	ASSERT_EQ(mmn_store(mm, BASE, 1), 0);			/* no VM_HUGEPAGE */
	EXPECT_FALSE(huge_at(mm, BASE));
	mmn_thp_set_enabled(MMN_THP_ALWAYS);
	ASSERT_EQ(mmn_store(mm, BASE + HP, 1), 0);
	EXPECT_TRUE(huge_at(mm, BASE + HP));
	/* a read fault maps the huge zero page (read-only huge PMD) */
	EXPECT_EQ(ld(mm, BASE + 2 * HP), 0);
	EXPECT_TRUE(huge_at(mm, BASE + 2 * HP));
	EXPECT_EQ(pfn_at(mm, BASE + 2 * HP), huge_zero_pfn_read());
	EXPECT_EQ(writable_at(mm, BASE + 2 * HP), 0);
	ASSERT_EQ(mmn_madvise(mm, BASE + 3 * HP, HP, MADV_NOHUGEPAGE), 0);
	ASSERT_EQ(mmn_store(mm, BASE + 3 * HP, 1), 0);
	EXPECT_FALSE(huge_at(mm, BASE + 3 * HP));
	mmn_thp_set_enabled(MMN_THP_NEVER);
	ASSERT_EQ(mmn_madvise(mm, BASE + 3 * HP, HP, MADV_HUGEPAGE), 0);
	ASSERT_EQ(mmn_store(mm, BASE + 3 * HP + PG, 1), 0);
	EXPECT_FALSE(huge_at(mm, BASE + 3 * HP));
	mmn_thp_set_enabled(MMN_THP_MADVISE);
	/* a range not fully inside the VMA is never huge */
	ASSERT_EQ(mmn_munmap(mm, BASE + HP + HP - PG, PG), 0);
	EXPECT_FALSE(huge_at(mm, BASE + HP));
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(mm);
}

/* No free order-9 block: the fault falls back to 4 KiB. */
TEST_FRAMES(thp_alloc_fallback, 900)
{
	struct mm_struct *mm = thp_mm(HP);

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(mmn_store(mm, BASE, 3), 0);
	EXPECT_FALSE(huge_at(mm, BASE));
	EXPECT_EQ(ld(mm, BASE), 3);
	mmn_exit(mm);
}

/* ---- split ---------------------------------------------------------------- */

/* __split_huge_pmd: interval, start CLEAR 2M, flush under the PMD lock, end. */
TEST(notify_split_order)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;
	const char *t;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(mmn_store(mm, BASE, 1), 0);
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_recorder_add_interval(rec, BASE, HP), 0);
	ASSERT_EQ(mmn_split_huge_pmd(mm, BASE + 3 * PG), 0);
	t = rec_text(rec);
	ASSERT_STR_CONTAINS(t, "interval CLEAR [+0,+0x200000) blk=1 seq=");
	ASSERT_STR_CONTAINS(t, "\n" CLEAR_2M("+0", "+0x200000"));
	EXPECT_TRUE(strncmp(t, "interval", 8) == 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 4);
	EXPECT_FALSE(huge_at(mm, BASE));
	EXPECT_EQ(mmn_split_huge_pmd(mm, BASE), -ENOENT);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* Split keeps every value, maps subpage i at pte i, counts per pte. */
TEST(split_keeps_data_and_counts)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;
	struct page *head;
	unsigned long hpfn;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(mm, BASE, HP, 1), 0);
	hpfn = pfn_at(mm, BASE);
	head = pfn_to_page(hpfn);
	ASSERT_EQ(mmn_split_huge_pmd(mm, BASE), 0);
	EXPECT_EQ(check(mm, BASE, HP, 1), 0);
	for (unsigned long i = 0; i < HPAGE_PMD_NR; i += 37) {
		EXPECT_EQ(pfn_at(mm, BASE + i * PG), hpfn + i);
		EXPECT_EQ(page_mapcount(head + i), 1);
		EXPECT_EQ(writable_at(mm, BASE + i * PG), 1);
	}
	EXPECT_EQ(page_count(head), (long)HPAGE_PMD_NR);
	EXPECT_EQ(head->_entire_mapcount, 0);
	EXPECT_EQ(total_mapcount(head), (long)HPAGE_PMD_NR);
	EXPECT_EQ(mm->rss_anon, (long)HPAGE_PMD_NR);
	mmap_read_lock(mm);
	EXPECT_TRUE(mm_pgtables_valid(mm));
	mmap_read_unlock(mm);
	EXPECT_TRUE(page_counts_valid());
	/* the subpages are exclusive: writes reuse in place, no notifier */
	rec = rec_on(mm, BASE);
	ASSERT_EQ(fill(mm, BASE, HP, 2), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_EQ(pfn_at(mm, BASE + 100 * PG), hpfn + 100);
	EXPECT_EQ(check(mm, BASE, HP, 2), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* munmap of part of a huge PMD: split (CLEAR 2M) in __split_vma, then UNMAP. */
TEST(partial_munmap_splits)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;
	unsigned long before;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(mm, BASE, HP, 3), 0);
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_munmap(mm, BASE + 16 * PG, 16 * PG), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		CLEAR_2M("+0", "+0x200000")
		"start UNMAP [+0x10000,+0x20000) blk=1 atomic=0\n"
		"end UNMAP [+0x10000,+0x20000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x10000,+0x20000) atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 6);
	EXPECT_EQ(check(mm, BASE, 16 * PG, 3), 0);
	EXPECT_EQ(check(mm, BASE + 32 * PG, HP - 32 * PG, 3), 0);
	EXPECT_EQ(ld(mm, BASE + 16 * PG), 0xbad);	/* unmapped */
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	/* the compound page lives on until its last pte goes */
	before = free_frames();
	ASSERT_EQ(mmn_munmap(mm, BASE, HP), 0);
	EXPECT_EQ(free_frames() - before, HPAGE_PMD_NR);
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
}

/* mprotect of one page inside a THP: CLEAR 2M (split), then PROTECTION_VMA
 * of the page -- the real 6.1 trace. */
TEST(partial_mprotect_splits)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(mm, BASE, HP, 4), 0);
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_mprotect(mm, BASE + 8 * PG, PG, PROT_READ), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		CLEAR_2M("+0", "+0x200000")
		"start PROTECTION_VMA [+0x8000,+0x9000) blk=1 atomic=0\n"
		"end PROTECTION_VMA [+0x8000,+0x9000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x8000,+0x9000) atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 6);
	EXPECT_EQ(writable_at(mm, BASE + 8 * PG), 0);
	EXPECT_EQ(writable_at(mm, BASE + 9 * PG), 1);
	EXPECT_EQ(mmn_store(mm, BASE + 8 * PG, 1), -EFAULT);
	EXPECT_EQ(check(mm, BASE, HP, 4), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* DONTNEED of part of a THP splits inside the CLEAR range (nested); of a
 * whole PMD zaps it (zap_huge_pmd) and frees it after the flush. */
TEST(dontneed_huge_partial_and_whole)
{
	struct mm_struct *mm = thp_mm(2 * HP);
	struct mmn_recorder *rec;
	unsigned long before;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(mm, BASE, 2 * HP, 5), 0);
	ASSERT_TRUE(huge_at(mm, BASE) && huge_at(mm, BASE + HP));
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_madvise(mm, BASE + 4 * PG, 4 * PG, MADV_DONTNEED), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start CLEAR [+0x4000,+0x8000) blk=1 atomic=0\n"
		"start CLEAR [+0,+0x200000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [0,0xffffffffffffffff) atomic=1\n"
		"end CLEAR [+0,+0x200000) blk=1 atomic=0\n"
		"end CLEAR [+0x4000,+0x8000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x4000,+0x8000) atomic=0\n");
	EXPECT_EQ(ld(mm, BASE + 5 * PG + 8), 0);
	EXPECT_EQ(check(mm, BASE, 4 * PG, 5), 0);
	EXPECT_EQ(check(mm, BASE + 8 * PG, HP - 8 * PG, 5), 0);
	mmn_recorder_clear(rec);
	before = free_frames();
	ASSERT_EQ(mmn_madvise(mm, BASE + HP, HP, MADV_DONTNEED), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start CLEAR [+0x200000,+0x400000) blk=1 atomic=0\n"
		"end CLEAR [+0x200000,+0x400000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x200000,+0x400000) atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 3);
	EXPECT_EQ(free_frames() - before, HPAGE_PMD_NR);
	EXPECT_FALSE(huge_at(mm, BASE + HP));
	EXPECT_EQ(ld(mm, BASE + HP + 8), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* ---- fork, COW, mprotect ------------------------------------------------- */

/* fork shares the huge page read-only; a write splits and COWs 4 KiB. */
TEST(fork_huge_then_cow)
{
	struct mm_struct *p = thp_mm(HP), *c;
	struct mmn_recorder *rec;
	struct page *head;
	int err;

	ASSERT_TRUE(p != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(p, BASE, HP, 6), 0);
	head = pfn_to_page(pfn_at(p, BASE));
	rec = rec_on(p, BASE);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start PROTECTION_PAGE [+0,+0x200000) blk=1 atomic=0\n"
		"end PROTECTION_PAGE [+0,+0x200000) blk=1 atomic=0\n");
	EXPECT_TRUE(huge_at(p, BASE) && huge_at(c, BASE));
	EXPECT_EQ(pfn_at(c, BASE), pfn_at(p, BASE));
	EXPECT_EQ(writable_at(p, BASE), 0);
	EXPECT_EQ(writable_at(c, BASE), 0);
	EXPECT_EQ(page_count(head), 2);
	EXPECT_EQ(head->_entire_mapcount, 2);
	EXPECT_FALSE(PageAnonExclusive(head));
	/* the child writes: split (CLEAR 2M) then COW of one page (CLEAR 4K) */
	mmn_recorder_clear(rec);
	ASSERT_EQ(mmn_store(c, BASE + 3 * PG + 8, 0x77), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);	/* not the parent's mm */
	EXPECT_FALSE(huge_at(c, BASE));
	EXPECT_TRUE(huge_at(p, BASE));
	EXPECT_NE(pfn_at(c, BASE + 3 * PG), pfn_at(p, BASE + 3 * PG));
	EXPECT_EQ(pfn_at(c, BASE + 4 * PG), pfn_at(p, BASE + 4 * PG));
	/* the parent writes: its PMD is shared too: split + COW */
	ASSERT_EQ(mmn_store(p, BASE + 4 * PG + 8, 0x88), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		CLEAR_2M("+0", "+0x200000")
		"start CLEAR [+0x4000,+0x5000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x4000,+0x5000) atomic=1\n"
		"end CLEAR [+0x4000,+0x5000) blk=1 atomic=0\n");
	EXPECT_EQ(ld(p, BASE + 3 * PG + 8), val(BASE + 3 * PG, 6));
	EXPECT_EQ(ld(c, BASE + 3 * PG + 8), 0x77);
	EXPECT_EQ(ld(p, BASE + 4 * PG + 8), 0x88);
	EXPECT_EQ(ld(c, BASE + 4 * PG + 8), val(BASE + 4 * PG, 6));
	EXPECT_EQ(check(c, BASE + 5 * PG, HP - 5 * PG, 6), 0);
	EXPECT_EQ(check(p, BASE + 5 * PG, HP - 5 * PG, 6), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(c);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(p);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* After the child is gone the parent's write reuses the huge page. */
TEST(huge_cow_reuse_after_child_exit)
{
	struct mm_struct *p = thp_mm(HP), *c;
	struct mmn_recorder *rec;
	unsigned long pfn;
	int err;

	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(mmn_store(p, BASE, 1), 0);
	pfn = pfn_at(p, BASE);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	mmn_exit(c);
	rec = rec_on(p, BASE);
	ASSERT_EQ(mmn_store(p, BASE + PG, 2), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_TRUE(huge_at(p, BASE));
	EXPECT_EQ(pfn_at(p, BASE), pfn);
	EXPECT_EQ(writable_at(p, BASE), 1);
	mmn_exit(p);
	mmn_recorder_destroy(rec);
}

/* mprotect of a whole huge PMD: PROTECTION_VMA, no split, flush after E. */
TEST(mprotect_whole_huge_pmd)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(fill(mm, BASE, HP, 7), 0);
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_mprotect(mm, BASE, HP, PROT_READ), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start PROTECTION_VMA [+0,+0x200000) blk=1 atomic=0\n"
		"end PROTECTION_VMA [+0,+0x200000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0,+0x200000) atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 3);
	EXPECT_TRUE(huge_at(mm, BASE));
	EXPECT_EQ(writable_at(mm, BASE), 0);
	EXPECT_EQ(mmn_store(mm, BASE, 1), -EFAULT);
	ASSERT_EQ(mmn_mprotect(mm, BASE, HP, RW), 0);
	mmn_recorder_clear(rec);
	ASSERT_EQ(mmn_store(mm, BASE + 8, 9), 0);	/* exclusive: reuse */
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_TRUE(huge_at(mm, BASE));
	EXPECT_EQ(check(mm, BASE + PG, HP - PG, 7), 0);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

/* GUP and hmm-style walks read huge leaves; a GUP write on a shared huge
 * PMD breaks COW through the split. */
TEST(gup_on_huge_pmd)
{
	struct mm_struct *p = thp_mm(HP), *c;
	struct page *pages[2];
	int err;

	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(mmn_store(p, BASE + 2 * PG, 5), 0);
	mmap_read_lock(p);
	ASSERT_EQ(get_user_pages_remote(p, BASE + 2 * PG, 1, FOLL_WRITE, pages, NULL), 1);
	mmap_read_unlock(p);
	EXPECT_EQ(page_to_pfn(pages[0]), pfn_at(p, BASE + 2 * PG));
	EXPECT_EQ(page_count(pages[0]), 2);	/* on the head */
	put_page(pages[0]);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	mmap_read_lock(c);
	ASSERT_EQ(get_user_pages_remote(c, BASE + 2 * PG, 1, FOLL_WRITE, pages, NULL), 1);
	mmap_read_unlock(c);
	EXPECT_FALSE(huge_at(c, BASE));
	EXPECT_NE(page_to_pfn(pages[0]), pfn_at(p, BASE + 2 * PG));
	EXPECT_EQ(__mmn_page_data(pages[0])[0], 5);
	put_page(pages[0]);
	mmn_exit(c);
	mmn_exit(p);
	EXPECT_TRUE(page_counts_valid());
}

/* ---- collapse ---------------------------------------------------------------- */

/* 512 4 KiB pages at BASE, then VM_HUGEPAGE (so they start small). */
static struct mm_struct *small_mm(int gen)
{
	struct mm_struct *mm = mmn_mm_create();

	if (!mm)
		return NULL;
	if (mmn_mmap(mm, BASE, HP, RW, PRIV | MAP_FIXED) != (long)BASE ||
	    fill(mm, BASE, HP, gen) ||
	    mmn_madvise(mm, BASE, HP, MADV_HUGEPAGE)) {
		mmn_exit(mm);
		return NULL;
	}
	return mm;
}

/* khugepaged: interval, start CLEAR 2M, flush under the PMD lock, end; the
 * copy after the end; data kept, the small pages freed. */
TEST(khugepaged_collapse)
{
	struct mm_struct *mm;
	struct mmn_recorder *rec;
	unsigned long before;
	const char *t;

	mmn_check_begin();
	mm = small_mm(8);
	ASSERT_TRUE(mm != NULL);
	ASSERT_FALSE(huge_at(mm, BASE));
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_recorder_add_interval(rec, BASE, HP), 0);
	before = free_frames();
	EXPECT_EQ(mmn_khugepaged_scan(mm), 1);
	t = rec_text(rec);
	ASSERT_STR_CONTAINS(t, "interval CLEAR [+0,+0x200000) blk=1 seq=");
	ASSERT_STR_CONTAINS(t, "\n" CLEAR_2M("+0", "+0x200000"));
	EXPECT_TRUE(strncmp(t, "interval", 8) == 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 4);
	EXPECT_TRUE(huge_at(mm, BASE));
	EXPECT_EQ(before, free_frames());	/* 512 in, 512 out */
	EXPECT_EQ(check(mm, BASE, HP, 8), 0);
	EXPECT_EQ(writable_at(mm, BASE), 1);
	EXPECT_EQ(total_mapcount(pfn_to_page(pfn_at(mm, BASE))), 1);
	EXPECT_EQ(mm->rss_anon, (long)HPAGE_PMD_NR);
	EXPECT_EQ(mmn_khugepaged_scan(mm), 0);	/* already huge */
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	/* and it splits back and collapses again */
	ASSERT_EQ(mmn_split_huge_pmd(mm, BASE), 0);
	EXPECT_EQ(mmn_khugepaged_scan(mm), 1);
	EXPECT_EQ(check(mm, BASE, HP, 8), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* MADV_COLLAPSE: the same sequence, synchronously, whatever the knob. */
TEST(madv_collapse)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmn_recorder *rec;

	mmn_check_begin();
	mmn_thp_set_enabled(MMN_THP_NEVER);
	ASSERT_EQ(mmn_mmap(mm, BASE, 2 * HP, RW, PRIV | MAP_FIXED), (long)BASE);
	ASSERT_EQ(fill(mm, BASE, HP + 4 * PG, 9), 0);
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_madvise(mm, BASE, HP, MADV_COLLAPSE), 0);
	ASSERT_STR_CONTAINS(rec_text(rec), CLEAR_2M("+0", "+0x200000"));
	EXPECT_EQ(mmn_recorder_lines(rec), 3);
	EXPECT_TRUE(huge_at(mm, BASE));
	EXPECT_EQ(check(mm, BASE, HP, 9), 0);
	/* mostly empty range: MADV_COLLAPSE ignores max_ptes_none */
	mmn_khugepaged_set_max_ptes_none(0);
	ASSERT_EQ(mmn_madvise(mm, BASE + HP, HP, MADV_COLLAPSE), 0);
	EXPECT_TRUE(huge_at(mm, BASE + HP));
	EXPECT_EQ(check(mm, BASE + HP, 4 * PG, 9), 0);
	EXPECT_EQ(ld(mm, BASE + HP + 100 * PG + 8), 0);
	EXPECT_EQ(mmn_madvise(mm, BASE, 2 * HP, MADV_COLLAPSE), 0);	/* mapped */
	EXPECT_EQ(mmn_madvise(mm, BASE, PG, MADV_COLLAPSE), -EINVAL);
	mmn_khugepaged_set_max_ptes_none(HPAGE_PMD_NR - 1);
	mmn_thp_set_enabled(MMN_THP_MADVISE);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* khugepaged honours max_ptes_none; a pinned page (GUP) stops a collapse. */
TEST(collapse_refused)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmn_recorder *rec;
	struct page *pin;

	ASSERT_EQ(mmn_mmap(mm, BASE, HP, RW, PRIV | MAP_FIXED), (long)BASE);
	ASSERT_EQ(fill(mm, BASE, HP / 2, 10), 0);
	ASSERT_EQ(mmn_madvise(mm, BASE, HP, MADV_HUGEPAGE), 0);
	mmn_khugepaged_set_max_ptes_none(255);
	EXPECT_EQ(mmn_khugepaged_scan(mm), 0);		/* 256 none > 255 */
	mmn_khugepaged_set_max_ptes_none(256);
	mmap_read_lock(mm);
	ASSERT_EQ(get_user_pages_remote(mm, BASE + 7 * PG, 1, 0, &pin, NULL), 1);
	mmap_read_unlock(mm);
	rec = rec_on(mm, BASE);
	EXPECT_EQ(mmn_khugepaged_scan(mm), 0);		/* pinned */
	EXPECT_EQ(mmn_madvise(mm, BASE, HP, MADV_COLLAPSE), -EAGAIN);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);		/* refused at the scan */
	EXPECT_FALSE(huge_at(mm, BASE));
	put_page(pin);
	EXPECT_EQ(mmn_khugepaged_scan(mm), 1);
	EXPECT_EQ(check(mm, BASE, HP / 2, 10), 0);
	mmn_khugepaged_set_max_ptes_none(HPAGE_PMD_NR - 1);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* Collapse of pages shared with a forked child: the child keeps its data. */
TEST(collapse_shared_with_child)
{
	struct mm_struct *p, *c;
	int err;

	mmn_check_begin();
	p = small_mm(11);
	ASSERT_TRUE(p != NULL);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	ASSERT_EQ(mmn_madvise(p, BASE, HP, MADV_COLLAPSE), 0);
	EXPECT_TRUE(huge_at(p, BASE));
	EXPECT_FALSE(huge_at(c, BASE));
	ASSERT_EQ(fill(p, BASE, HP, 12), 0);
	EXPECT_EQ(check(c, BASE, HP, 11), 0);
	EXPECT_EQ(check(p, BASE, HP, 12), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(p);
	EXPECT_EQ(check(c, BASE, HP, 11), 0);
	mmn_exit(c);
	mmn_check_end();
	EXPECT_TRUE(page_counts_valid());
}

/* ---- devices ---------------------------------------------------------------- */

/* A raw device: a classic notifier that never drops its translation. */
struct raw {
	struct mmu_notifier mn;
	struct mmn_device *dev;
	struct mmn_spte s;
	unsigned long va;
	bool write_in_end;		/* DMA through s from range_end */
	int ends;
};

static int raw_start(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	return 0;
}

static void raw_end(struct mmu_notifier *mn, const struct mmu_notifier_range *r)
{
	struct raw *raw = container_of(mn, struct raw, mn);

	if (raw->write_in_end && r->event == MMU_NOTIFY_CLEAR) {
		raw->ends++;
		mmn_dev_write(raw->dev, &raw->s, raw->va, 0x5555);
	}
}

static const struct mmu_notifier_ops raw_mn_ops = {
	.invalidate_range_start = raw_start,
	.invalidate_range_end = raw_end,
};

static int raw_dma(struct mmn_device *dev, unsigned long va, bool write, uint64_t *v)
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

/*
 * A device keeps a 4 KiB translation of a page that khugepaged collapses:
 * its DMA after the collapse's contract point (here from its own
 * range_end, before the copy) is access-after-invalidate; after the
 * collapse the old frame is freed: use-after-free.
 */
TEST(device_stale_translation_across_collapse)
{
	struct raw raw = { .mn.ops = &raw_mn_ops };
	struct mm_struct *mm;
	uint64_t v;
	int err;

	mmn_check_begin();
	harness_expect_violations();
	mm = small_mm(13);
	ASSERT_TRUE(mm != NULL);
	raw.dev = mmn_device_create(&raw_dev_ops, mm, "raw", &err);
	ASSERT_TRUE(raw.dev != NULL);
	ASSERT_EQ(mmu_notifier_register(&raw.mn, mm), 0);
	mmn_device_track(raw.dev, &raw.mn);
	raw.va = BASE + 3 * PG;
	mmn_spte_make(raw.dev, &raw.s, raw.va, pfn_to_page(pfn_at(mm, raw.va)), true, 0);
	raw.write_in_end = true;
	ASSERT_EQ(mmn_madvise(mm, BASE, HP, MADV_COLLAPSE), 0);
	raw.write_in_end = false;
	EXPECT_EQ(raw.ends, 1);
	EXPECT_GE(mmn_report_count_kind(MMN_V_ACCESS_AFTER_INVALIDATE), 1);
	ASSERT_STR_CONTAINS(harness_violation_text(MMN_V_ACCESS_AFTER_INVALIDATE),
			    "access-after-invalidate");
	/* the late write was made before the copy: the data moved with it */
	EXPECT_EQ(ld(mm, raw.va), 0x5555);
	/* after the collapse the old frame is gone */
	EXPECT_EQ(mmn_dev_read(raw.dev, &raw.s, raw.va, &v), 0);
	EXPECT_EQ(mmn_report_count_kind(MMN_V_USE_AFTER_FREE), 1);
	mmu_notifier_unregister(&raw.mn, mm);
	mmn_device_destroy(raw.dev);
	mmn_exit(mm);
	mmn_check_end();
}

/* The correct dmirror stays silent through collapse and split. */
TEST(dmirror_correct_through_collapse_and_split)
{
	uint64_t *buf = calloc(4 * MMN_PAGE_WORDS, sizeof(uint64_t));
	struct hmm_dmirror_cmd cmd;
	struct mmn_device *dev;
	struct mm_struct *mm;
	int err;

	ASSERT_TRUE(buf != NULL);
	mmn_check_begin();
	mm = small_mm(14);
	ASSERT_TRUE(mm != NULL);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev != NULL);
	cmd = (struct hmm_dmirror_cmd){ .addr = BASE, .ptr = buf, .npages = 4 };
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[MMN_PAGE_WORDS + 1], val(BASE + PG, 14));
	for (int i = 0; i < 4; i++)
		buf[i * MMN_PAGE_WORDS + 1] = 0x1000 + i;
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_WRITE, &cmd), 0);
	ASSERT_EQ(mmn_madvise(mm, BASE, HP, MADV_COLLAPSE), 0);
	EXPECT_TRUE(huge_at(mm, BASE));
	EXPECT_EQ(ld(mm, BASE + 2 * PG + 8), 0x1002);
	for (int i = 0; i < 4; i++)
		buf[i * MMN_PAGE_WORDS + 1] = 0x2000 + i;
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_WRITE, &cmd), 0);
	EXPECT_EQ(ld(mm, BASE + 3 * PG + 8), 0x2003);
	ASSERT_EQ(mmn_split_huge_pmd(mm, BASE), 0);
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[1], 0x2000);
	EXPECT_EQ(mmn_store(mm, BASE + 8, 0x3000), 0);
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[1], 0x3000);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
	free(buf);
}

/* ---- the huge zero page ----------------------------------------------------- */

/* The recorder's text with line @n (0-based) on, or "" past the end. */
static const char *rec_from_line(struct mmn_recorder *rec, unsigned long n)
{
	const char *t = mmn_recorder_text(rec);

	while (n-- && (t = strchr(t, '\n')))
		t++;
	return t ? t : "";
}

/* A read fault on an aligned THP-eligible range maps the huge zero page
 * read-only, no notifier; mms share it; it lives while any mm holds it. */
TEST(huge_zero_read_fault)
{
	struct mm_struct *a = thp_mm(HP), *b = thp_mm(HP);
	unsigned long before = free_frames();
	struct mmn_recorder *rec;
	struct page *gup, *head;

	ASSERT_TRUE(a && b);
	mmn_check_begin();
	rec = rec_on(a, BASE);
	ASSERT_TRUE(rec != NULL);
	EXPECT_EQ(ld(a, BASE + 5 * PG + 8), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_TRUE(is_huge_zero_pmd(pmd_at(a, BASE)));
	EXPECT_EQ(pfn_at(a, BASE + 5 * PG), huge_zero_pfn_read() + 5);
	EXPECT_EQ(writable_at(a, BASE), 0);
	EXPECT_EQ(before - free_frames(), HPAGE_PMD_NR);
	EXPECT_EQ(a->rss_anon, 0);
	head = pfn_to_page(huge_zero_pfn_read());
	EXPECT_TRUE(PageFlag(head, PG_head));
	EXPECT_FALSE(PageAnon(head));
	EXPECT_EQ(page_count(head), 1);		/* mappings take none */
	/* a second mm shares it */
	EXPECT_EQ(ld(b, BASE + HP - 8), 0);
	EXPECT_EQ(pfn_at(b, BASE), huge_zero_pfn_read());
	EXPECT_EQ(before - free_frames(), HPAGE_PMD_NR);
	/* GUP (a device reading through it) references the head */
	mmap_read_lock(b);
	ASSERT_EQ(get_user_pages_remote(b, BASE + 7 * PG, 1, 0, &gup, NULL), 1);
	mmap_read_unlock(b);
	EXPECT_TRUE(is_huge_zero_page(gup));
	EXPECT_EQ(page_to_pfn(gup), huge_zero_pfn_read() + 7);
	EXPECT_EQ(page_count(head), 2);
	EXPECT_EQ(__mmn_page_data(gup)[1], 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	/* a exits: b still maps it */
	mmn_exit(a);
	EXPECT_EQ(before - free_frames(), HPAGE_PMD_NR);
	EXPECT_EQ(ld(b, BASE + 9 * PG), 0);
	/* b exits: only the GUP reference keeps the frames */
	mmn_exit(b);
	EXPECT_EQ(huge_zero_pfn_read(), ~0UL);
	EXPECT_EQ(before - free_frames(), HPAGE_PMD_NR);
	EXPECT_EQ(page_count(head), 1);
	put_page(gup);
	EXPECT_EQ(free_frames(), before);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* A write to the huge zero page: __split_huge_pmd (CLEAR 2M, the ptes map
 * the 4 KiB zero page), then wp_page_copy of one page (CLEAR 4K). */
TEST(huge_zero_write_splits_then_cows)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;
	unsigned long before;
	const char *t;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	EXPECT_EQ(ld(mm, BASE + 8), 0);
	before = free_frames();
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_recorder_add_interval(rec, BASE, HP), 0);
	ASSERT_EQ(mmn_store(mm, BASE + 3 * PG + 8, 0x77), 0);
	t = rec_text(rec);
	ASSERT_STR_CONTAINS(t, "\n" CLEAR_2M("+0", "+0x200000"));
	ASSERT_STR_CONTAINS(t, CLEAR_2M("+0", "+0x200000")
		"interval CLEAR [+0x3000,+0x4000) blk=1 seq=");
	ASSERT_STR_CONTAINS(t,
		"start CLEAR [+0x3000,+0x4000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x3000,+0x4000) atomic=1\n"
		"end CLEAR [+0x3000,+0x4000) blk=1 atomic=0\n");
	EXPECT_TRUE(strncmp(t, "interval CLEAR [+0,+0x200000)", 29) == 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 8);
	EXPECT_FALSE(huge_at(mm, BASE));
	EXPECT_EQ(pfn_at(mm, BASE + 4 * PG), 0);	/* the 4 KiB zero page */
	EXPECT_EQ(writable_at(mm, BASE + 4 * PG), 0);
	EXPECT_EQ(writable_at(mm, BASE + 3 * PG), 1);
	EXPECT_EQ(ld(mm, BASE + 3 * PG + 8), 0x77);
	EXPECT_EQ(ld(mm, BASE + 2 * PG + 8), 0);
	EXPECT_EQ(mm->rss_anon, 1);
	EXPECT_EQ(before - free_frames(), 1);	/* the mm keeps its huge zero ref */
	mmap_read_lock(mm);
	EXPECT_TRUE(mm_pgtables_valid(mm));
	mmap_read_unlock(mm);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* munmap / DONTNEED of the huge zero PMD, whole and in part; mprotect
 * keeps it read-only. */
TEST(huge_zero_zap_and_mprotect)
{
	struct mm_struct *mm = thp_mm(2 * HP);
	struct mmn_recorder *rec;
	unsigned long before;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	EXPECT_EQ(ld(mm, BASE), 0);
	EXPECT_EQ(ld(mm, BASE + HP), 0);
	ASSERT_TRUE(huge_at(mm, BASE) && huge_at(mm, BASE + HP));
	before = free_frames();
	rec = rec_on(mm, BASE);
	/* part: split into zero ptes inside the CLEAR, then zapped */
	ASSERT_EQ(mmn_madvise(mm, BASE + 4 * PG, 4 * PG, MADV_DONTNEED), 0);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"start CLEAR [+0x4000,+0x8000) blk=1 atomic=0\n"
		CLEAR_2M("+0", "+0x200000")
		"end CLEAR [+0x4000,+0x8000) blk=1 atomic=0\n"
		"arch_invalidate_secondary_tlbs [+0x4000,+0x8000) atomic=0\n");
	EXPECT_EQ(mmn_recorder_lines(rec), 6);
	EXPECT_FALSE(huge_at(mm, BASE));
	EXPECT_EQ(pfn_at(mm, BASE + 4 * PG), ~0UL);
	EXPECT_EQ(pfn_at(mm, BASE + 8 * PG), 0);
	/* whole */
	mmn_recorder_clear(rec);
	ASSERT_EQ(mmn_madvise(mm, BASE + HP, HP, MADV_DONTNEED), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 3);
	EXPECT_FALSE(huge_at(mm, BASE + HP));
	EXPECT_EQ(free_frames(), before);	/* no frame per mapping */
	/* faulted again: the same huge zero page */
	EXPECT_EQ(ld(mm, BASE + HP + 8), 0);
	EXPECT_EQ(pfn_at(mm, BASE + HP), huge_zero_pfn_read());
	/* mprotect: PROTECTION_VMA, no split, never writable */
	ASSERT_EQ(mmn_mprotect(mm, BASE + HP, HP, PROT_READ), 0);
	ASSERT_EQ(mmn_mprotect(mm, BASE + HP, HP, RW), 0);
	EXPECT_TRUE(is_huge_zero_pmd(pmd_at(mm, BASE + HP)));
	EXPECT_EQ(writable_at(mm, BASE + HP), 0);
	ASSERT_EQ(mmn_store(mm, BASE + HP + 16, 3), 0);
	EXPECT_EQ(ld(mm, BASE + HP + 16), 3);
	EXPECT_EQ(ld(mm, BASE + HP + PG), 0);
	ASSERT_EQ(mmn_munmap(mm, BASE, 2 * HP), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* fork shares the huge zero PMD; each side's write splits its own. */
TEST(huge_zero_fork)
{
	struct mm_struct *p = thp_mm(HP), *c;
	unsigned long before;
	int err;

	ASSERT_TRUE(p != NULL);
	mmn_check_begin();
	EXPECT_EQ(ld(p, BASE), 0);
	before = free_frames();
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	EXPECT_TRUE(is_huge_zero_pmd(pmd_at(c, BASE)));
	EXPECT_EQ(free_frames(), before);
	ASSERT_EQ(mmn_store(c, BASE + 8, 0xc), 0);
	EXPECT_FALSE(huge_at(c, BASE));
	EXPECT_TRUE(is_huge_zero_pmd(pmd_at(p, BASE)));
	EXPECT_EQ(ld(p, BASE + 8), 0);
	EXPECT_EQ(ld(c, BASE + 8), 0xc);
	/* the parent goes; the child still holds a huge zero reference */
	mmn_exit(p);
	EXPECT_EQ(before - free_frames(), 1);
	EXPECT_NE(huge_zero_pfn_read(), ~0UL);
	EXPECT_EQ(ld(c, BASE + PG), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_exit(c);
	EXPECT_EQ(huge_zero_pfn_read(), ~0UL);
	mmn_check_end();
	EXPECT_TRUE(page_counts_valid());
}

/* What leaves the huge zero page alone: migration, MADV_PAGEOUT, collapse,
 * KSM (hmm-tests' migrate_anon_huge_zero finds it read-only and zero). */
TEST(huge_zero_not_migrated_reclaimed_or_collapsed)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;
	struct mmn_mem_stats st;

	ASSERT_TRUE(mm != NULL);
	EXPECT_EQ(ld(mm, BASE), 0);
	rec = rec_on(mm, BASE);
	EXPECT_EQ(mmn_migrate_pages(mm, BASE, HP), 0);
	ASSERT_EQ(mmn_pageout(mm, BASE, HP), 0);
	mmn_mem_stats(&st);
	EXPECT_EQ(st.swap_used, 0);
	EXPECT_EQ(mmn_madvise(mm, BASE, HP, MADV_COLLAPSE), 0);	/* PMD mapped */
	EXPECT_EQ(mmn_khugepaged_scan(mm), 0);
	ASSERT_EQ(mmn_madvise(mm, BASE, HP, MADV_MERGEABLE), 0);
	mmn_ksm_scan();
	mmn_ksm_scan();
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_TRUE(is_huge_zero_pmd(pmd_at(mm, BASE)));
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* The correct dmirror reads the huge zero page as zeros, and follows the
 * split + COW of a CPU write and its own write fault. */
TEST(huge_zero_dmirror_correct)
{
	uint64_t *buf = calloc(4 * MMN_PAGE_WORDS, sizeof(uint64_t));
	struct hmm_dmirror_cmd cmd;
	struct mmn_device *dev;
	struct mm_struct *mm;
	int err;

	ASSERT_TRUE(buf != NULL);
	mmn_check_begin();
	mm = thp_mm(HP);
	ASSERT_TRUE(mm != NULL);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev != NULL);
	for (int i = 0; i < 4; i++)
		buf[i * MMN_PAGE_WORDS + 1] = 0xbad;
	cmd = (struct hmm_dmirror_cmd){ .addr = BASE, .ptr = buf, .npages = 4 };
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_TRUE(is_huge_zero_pmd(pmd_at(mm, BASE)));
	EXPECT_EQ(buf[1], 0);
	EXPECT_EQ(buf[3 * MMN_PAGE_WORDS + 1], 0);
	ASSERT_EQ(mmn_store(mm, BASE + PG + 8, 0x11), 0);
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[MMN_PAGE_WORDS + 1], 0x11);
	EXPECT_EQ(buf[2 * MMN_PAGE_WORDS + 1], 0);
	for (int i = 0; i < 4; i++)
		buf[i * MMN_PAGE_WORDS + 1] = 0x2000 + i;
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_WRITE, &cmd), 0);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(ld(mm, BASE + i * PG + 8), 0x2000 + i);
	EXPECT_EQ(ld(mm, BASE + 5 * PG + 8), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
	free(buf);
}

/* ---- reclaim and migration of a THP ------------------------------------------ */

static bool swapped_at(struct mm_struct *mm, unsigned long va)
{
	return mmn_swap_info(mm, va, NULL, NULL) == 0;
}

static struct mmn_mem_stats stats_now(void)
{
	struct mmn_mem_stats st;

	mmn_mem_stats(&st);
	return st;
}

/* MADV_PAGEOUT of a whole PMD-mapped THP: split (no THP swap-out), 512
 * pages to swap, the data back on swap-in. */
TEST(thp_pageout_swapin_data)
{
	struct mmn_mem_stats before, out;
	struct mm_struct *mm = thp_mm(HP);
	struct page *head;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(mm, BASE, HP, 20), 0);
	ASSERT_TRUE(huge_at(mm, BASE));
	head = pfn_to_page(pfn_at(mm, BASE));
	before = stats_now();
	ASSERT_EQ(mmn_pageout(mm, BASE, HP), 0);
	out = stats_now();
	EXPECT_EQ(out.swap_used, before.swap_used + HPAGE_PMD_NR);
	EXPECT_EQ(out.free_frames, before.free_frames + HPAGE_PMD_NR);
	EXPECT_EQ(out.anon_pages, before.anon_pages - HPAGE_PMD_NR);
	EXPECT_EQ(out.swap_cache_pages, 0);
	EXPECT_FALSE(huge_at(mm, BASE));
	EXPECT_TRUE(swapped_at(mm, BASE) && swapped_at(mm, BASE + HP - PG));
	EXPECT_FALSE(PageFlag(head, PG_head));	/* the frames are free */
	EXPECT_EQ(mm->rss_anon, 0);
	/* the audit reads swapped-out locations from their slots */
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_EQ(check(mm, BASE, HP, 20), 0);	/* swap-in, 4 KiB */
	EXPECT_EQ(mm->rss_anon, (long)HPAGE_PMD_NR);
	EXPECT_FALSE(huge_at(mm, BASE));
	EXPECT_EQ(fill(mm, BASE, HP, 21), 0);
	EXPECT_EQ(check(mm, BASE, HP, 21), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_TRUE(page_counts_valid());
}

#define CLEAR_2M_NOFLUSH(a, b)						\
	"start CLEAR [" a "," b ") blk=1 atomic=0\n"			\
	"end CLEAR [" a "," b ") blk=1 atomic=0\n"

/* Count the CLEAR 4K pageout/migration triples of pages [0, n) from line
 * @from: start, the flush under the PTL, end, page after page. */
static unsigned long clear_4k_triples(struct mmn_recorder *rec, unsigned long from,
				      unsigned long base_page, unsigned long n)
{
	const char *t = rec_from_line(rec, from);
	unsigned long ok = 0;
	char want[256];

	for (unsigned long i = base_page; i < base_page + n; i++) {
		unsigned long s = i * PG, e = s + PG;

		if (s)
			snprintf(want, sizeof(want),
				 "start CLEAR [+%#lx,+%#lx) blk=1 atomic=0\n"
				 "arch_invalidate_secondary_tlbs [+%#lx,+%#lx) atomic=1\n"
				 "end CLEAR [+%#lx,+%#lx) blk=1 atomic=0\n",
				 s, e, s, e, s, e);
		else
			snprintf(want, sizeof(want),
				 "start CLEAR [+0x0,+%#lx) blk=1 atomic=0\n"
				 "arch_invalidate_secondary_tlbs [+0x0,+%#lx) atomic=1\n"
				 "end CLEAR [+0x0,+%#lx) blk=1 atomic=0\n", e, e, e);
		if (strncmp(t, want, strlen(want)))
			break;
		t += strlen(want);
		ok++;
	}
	return ok;
}

/*
 * The pinned 6.12 sequence of MADV_PAGEOUT of a PMD-mapped THP:
 * split_folio(): the PMD split with freeze (CLEAR 2M, the flush under the
 * PMD lock), try_to_migrate_one()'s CLEAR 2M (nothing left mapped), then
 * try_to_unmap_one() per page (CLEAR 4K, flush under the PTL).
 */
TEST(notify_thp_pageout_order)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(fill(mm, BASE, HP, 22), 0);
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_pageout(mm, BASE, HP), 0);
	EXPECT_TRUE(strncmp(rec_text(rec),
		CLEAR_2M("+0", "+0x200000")
		CLEAR_2M_NOFLUSH("+0", "+0x200000"),
		strlen(CLEAR_2M("+0", "+0x200000")
		       CLEAR_2M_NOFLUSH("+0", "+0x200000"))) == 0);
	EXPECT_EQ(clear_4k_triples(rec, 5, 0, HPAGE_PMD_NR), HPAGE_PMD_NR);
	EXPECT_EQ(mmn_recorder_lines(rec), 5 + 3 * HPAGE_PMD_NR);
	mmn_recorder_destroy(rec);
	EXPECT_EQ(check(mm, BASE, HP, 22), 0);
	mmn_exit(mm);
}

/* MADV_PAGEOUT of part of a THP: split_folio() in the walk, then only the
 * pages asked for; the rest stays mapped as order-0 pages. */
TEST(thp_pageout_partial)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_mem_stats before, out;
	struct mmn_recorder *rec;
	struct page *page;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(mm, BASE, HP, 23), 0);
	before = stats_now();
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_pageout(mm, BASE + 16 * PG, 16 * PG), 0);
	EXPECT_TRUE(strncmp(rec_text(rec),
		CLEAR_2M("+0", "+0x200000")
		CLEAR_2M_NOFLUSH("+0", "+0x200000"),
		strlen(CLEAR_2M("+0", "+0x200000")
		       CLEAR_2M_NOFLUSH("+0", "+0x200000"))) == 0);
	EXPECT_EQ(clear_4k_triples(rec, 5, 16, 16), 16);
	EXPECT_EQ(mmn_recorder_lines(rec), 5 + 3 * 16);
	out = stats_now();
	EXPECT_EQ(out.swap_used, before.swap_used + 16);
	EXPECT_EQ(out.free_frames, before.free_frames + 16);
	EXPECT_TRUE(swapped_at(mm, BASE + 16 * PG));
	EXPECT_FALSE(swapped_at(mm, BASE + 15 * PG));
	page = pfn_to_page(pfn_at(mm, BASE + 40 * PG));
	EXPECT_FALSE(PageTransCompound(page));
	EXPECT_EQ(page_count(page), 1);
	EXPECT_EQ(page_mapcount(page), 1);
	EXPECT_TRUE(PageAnonExclusive(page));
	EXPECT_EQ(page->index, (BASE >> PAGE_SHIFT) + 40);
	EXPECT_EQ(mm->rss_anon, (long)HPAGE_PMD_NR - 16);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_EQ(check(mm, BASE, HP, 23), 0);
	/* writes to the former tails reuse them in place */
	mmn_recorder_clear(rec);
	ASSERT_EQ(mmn_store(mm, BASE + 40 * PG + 8, 5), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* A pinned THP (GUP) is not split (can_split_folio): no notifier at all. */
TEST(thp_pageout_pinned_refused)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;
	struct page *pin;

	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(fill(mm, BASE, HP, 24), 0);
	mmap_read_lock(mm);
	ASSERT_EQ(get_user_pages_remote(mm, BASE + 3 * PG, 1, 0, &pin, NULL), 1);
	mmap_read_unlock(mm);
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_pageout(mm, BASE, HP), 0);
	EXPECT_EQ(mmn_migrate_pages(mm, BASE, HP), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_TRUE(huge_at(mm, BASE));
	EXPECT_EQ(stats_now().swap_used, 0);
	put_page(pin);
	ASSERT_EQ(mmn_pageout(mm, BASE, HP), 0);
	EXPECT_EQ(stats_now().swap_used, HPAGE_PMD_NR);
	EXPECT_EQ(check(mm, BASE, HP, 24), 0);
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* A PTE-mapped THP (split PMD, compound page whole) mapped entirely by the
 * range is reclaimed from its head: the CLEAR 2M of the PMD split finds
 * no huge PMD, try_to_migrate_one's CLEAR 2M takes the 512 ptes. */
TEST(thp_pageout_pte_mapped)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;
	const char *t;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(mm, BASE, HP, 25), 0);
	ASSERT_EQ(mmn_split_huge_pmd(mm, BASE), 0);
	rec = rec_on(mm, BASE);
	ASSERT_EQ(mmn_pageout(mm, BASE, HP), 0);
	t = rec_text(rec);
	EXPECT_TRUE(strncmp(t, CLEAR_2M_NOFLUSH("+0", "+0x200000")
			       "start CLEAR [+0,+0x200000) blk=1 atomic=0\n"
			       "arch_invalidate_secondary_tlbs [+0,+0x1000) atomic=1\n"
			       "arch_invalidate_secondary_tlbs [+0x1000,+0x2000) atomic=1\n",
			    150) == 0);
	/* 2 + (1 + 512 + 1) + 3 * 512 */
	EXPECT_EQ(mmn_recorder_lines(rec), 2 + 514 + 3 * HPAGE_PMD_NR);
	EXPECT_EQ(stats_now().swap_used, HPAGE_PMD_NR);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_EQ(check(mm, BASE, HP, 25), 0);
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* A THP shared with a forked child is left alone by MADV_PAGEOUT. */
TEST(thp_pageout_shared_skipped)
{
	struct mm_struct *p = thp_mm(HP), *c;
	struct mmn_recorder *rec;
	int err;

	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(fill(p, BASE, HP, 26), 0);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	rec = rec_on(p, BASE);
	ASSERT_EQ(mmn_pageout(p, BASE, HP), 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 0);
	EXPECT_TRUE(huge_at(p, BASE) && huge_at(c, BASE));
	EXPECT_EQ(stats_now().swap_used, 0);
	mmn_exit(c);
	mmn_exit(p);
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* Global reclaim: the PMD is young on the first round (cleared, 2 MiB
 * flushed, clear_flush_young over the 2 MiB), split and reclaimed on the
 * second. */
TEST(thp_global_reclaim)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;
	int err;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(mm, BASE, HP, 27), 0);
	rec = mmn_recorder_create(mm, MMN_REC_TLBS, &err);
	ASSERT_TRUE(rec != NULL);
	mmn_recorder_set_base(rec, BASE);
	EXPECT_EQ(mmn_reclaim(HPAGE_PMD_NR), HPAGE_PMD_NR);
	ASSERT_STR_CONTAINS(rec_text(rec),
		"arch_invalidate_secondary_tlbs [0,0xffffffffffffffff) atomic=1\n"
		"clear_flush_young [+0,+0x200000) atomic=1\n");
	EXPECT_EQ(stats_now().swap_used, HPAGE_PMD_NR);
	EXPECT_FALSE(huge_at(mm, BASE));
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_EQ(check(mm, BASE, HP, 27), 0);
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* move_pages() of a THP: split first (6.12's fallback), then 512 order-0
 * migrations: CLEAR 4K each, the copy after the end; data kept. */
TEST(thp_migrate_data_and_order)
{
	struct mm_struct *mm = thp_mm(HP);
	struct mmn_recorder *rec;
	unsigned long old_pfn, before;

	ASSERT_TRUE(mm != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(mm, BASE, HP, 28), 0);
	old_pfn = pfn_at(mm, BASE + 7 * PG);
	before = free_frames();
	rec = rec_on(mm, BASE);
	EXPECT_EQ(mmn_migrate_pages(mm, BASE, HP), HPAGE_PMD_NR);
	EXPECT_TRUE(strncmp(rec_text(rec),
		CLEAR_2M("+0", "+0x200000")
		CLEAR_2M_NOFLUSH("+0", "+0x200000"),
		strlen(CLEAR_2M("+0", "+0x200000")
		       CLEAR_2M_NOFLUSH("+0", "+0x200000"))) == 0);
	EXPECT_EQ(clear_4k_triples(rec, 5, 0, HPAGE_PMD_NR), HPAGE_PMD_NR);
	EXPECT_EQ(mmn_recorder_lines(rec), 5 + 3 * HPAGE_PMD_NR);
	EXPECT_FALSE(huge_at(mm, BASE));
	EXPECT_NE(pfn_at(mm, BASE + 7 * PG), old_pfn);
	EXPECT_EQ(free_frames(), before);	/* 512 out, 512 in */
	EXPECT_EQ(writable_at(mm, BASE + 7 * PG), 1);
	EXPECT_FALSE(PageTransCompound(pfn_to_page(pfn_at(mm, BASE))));
	EXPECT_EQ(mm->rss_anon, (long)HPAGE_PMD_NR);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_EQ(check(mm, BASE, HP, 28), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
}

/* Migration of a THP mapped by parent (PMD) and child (ptes, after its
 * COW split): both keep their data. */
TEST(thp_migrate_shared_with_child)
{
	struct mm_struct *p = thp_mm(HP), *c;
	int err;

	ASSERT_TRUE(p != NULL);
	mmn_check_begin();
	ASSERT_EQ(fill(p, BASE, HP, 29), 0);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	ASSERT_EQ(mmn_store(c, BASE + 8, 0xc0), 0);	/* child: split + COW */
	EXPECT_EQ(mmn_migrate_pages(p, BASE, HP), HPAGE_PMD_NR);
	EXPECT_FALSE(huge_at(p, BASE));
	EXPECT_EQ(pfn_at(p, BASE + 9 * PG), pfn_at(c, BASE + 9 * PG));
	EXPECT_EQ(ld(c, BASE + 8), 0xc0);
	EXPECT_EQ(check(p, BASE, HP, 29), 0);
	EXPECT_EQ(check(c, BASE + PG, HP - PG, 29), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(c);
	mmn_exit(p);
	mmn_check_end();
	EXPECT_TRUE(page_counts_valid());
}

/* The correct dmirror stays silent through THP pageout, swap-in by its own
 * fault, and migration. */
TEST(dmirror_correct_through_thp_pageout_and_migration)
{
	uint64_t *buf = calloc(4 * MMN_PAGE_WORDS, sizeof(uint64_t));
	struct hmm_dmirror_cmd cmd;
	struct mmn_device *dev;
	struct mm_struct *mm;
	int err;

	ASSERT_TRUE(buf != NULL);
	mmn_check_begin();
	mm = thp_mm(HP);
	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(fill(mm, BASE, HP, 30), 0);
	dev = mmn_device_create(mmn_driver_dmirror.ops, mm, "correct", &err);
	ASSERT_TRUE(dev != NULL);
	cmd = (struct hmm_dmirror_cmd){ .addr = BASE, .ptr = buf, .npages = 4 };
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[MMN_PAGE_WORDS + 1], val(BASE + PG, 30));
	ASSERT_EQ(mmn_pageout(mm, BASE, HP), 0);
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);	/* swap-in */
	EXPECT_EQ(buf[2 * MMN_PAGE_WORDS + 1], val(BASE + 2 * PG, 30));
	for (int i = 0; i < 4; i++)
		buf[i * MMN_PAGE_WORDS + 1] = 0x3000 + i;
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_WRITE, &cmd), 0);
	/* the CPU swaps the rest in (collapse does not swap in) */
	EXPECT_EQ(check(mm, BASE + 4 * PG, HP - 4 * PG, 30), 0);
	ASSERT_EQ(mmn_madvise(mm, BASE, HP, MADV_COLLAPSE), 0);
	EXPECT_TRUE(huge_at(mm, BASE));
	EXPECT_EQ(mmn_migrate_pages(mm, BASE, HP), HPAGE_PMD_NR);
	ASSERT_EQ(dmirror_cmd(dev, HMM_DMIRROR_READ, &cmd), 0);
	EXPECT_EQ(buf[3 * MMN_PAGE_WORDS + 1], 0x3003);
	EXPECT_EQ(ld(mm, BASE + 2 * PG + 8), 0x3002);
	EXPECT_EQ(check(mm, BASE + 4 * PG, HP - 4 * PG, 30), 0);
	EXPECT_EQ(mmn_check_audit(), 0);
	mmn_device_destroy(dev);
	mmn_exit(mm);
	mmn_check_end();
	EXPECT_EQ(mmn_report_count(), 0);
	free(buf);
}

/* ---- era 2.6.33: 2.6.38's THP -------------------------------------------------- */

/* A read fault maps a fresh THP (no huge zero page before 3.8); a write to
 * a shared huge PMD copies the whole huge page (do_huge_pmd_wp_page). */
TEST(era_2_6_33_thp_read_fault_and_huge_cow)
{
	struct mm_struct *p, *c;
	unsigned long before, ppfn;
	int err;

	mmn_era = MMN_ERA_2_6_33;
	mmn_check_begin();
	p = thp_mm(HP);
	ASSERT_TRUE(p != NULL);
	EXPECT_EQ(ld(p, BASE + 8), 0);
	EXPECT_TRUE(huge_at(p, BASE));
	EXPECT_FALSE(is_huge_zero_pmd(pmd_at(p, BASE)));
	EXPECT_EQ(writable_at(p, BASE), 1);
	ASSERT_EQ(fill(p, BASE, HP, 31), 0);
	ppfn = pfn_at(p, BASE);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	before = free_frames();
	ASSERT_EQ(mmn_store(c, BASE + 5 * PG + 8, 0x55), 0);
	EXPECT_TRUE(huge_at(c, BASE));		/* a new huge page */
	EXPECT_NE(pfn_at(c, BASE), ppfn);
	EXPECT_EQ(writable_at(c, BASE), 1);
	EXPECT_EQ(before - free_frames(), HPAGE_PMD_NR);
	EXPECT_EQ(ld(c, BASE + 5 * PG + 8), 0x55);
	EXPECT_EQ(check(c, BASE + 6 * PG, HP - 6 * PG, 31), 0);
	EXPECT_EQ(check(p, BASE, HP, 31), 0);
	EXPECT_EQ(total_mapcount(pfn_to_page(ppfn)), 1);
	EXPECT_EQ(page_count(pfn_to_page(ppfn)), 1);
	/* the parent is alone now: its write reuses in place */
	ASSERT_EQ(mmn_store(p, BASE + 8, 0x66), 0);
	EXPECT_EQ(pfn_at(p, BASE), ppfn);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(c);
	mmn_exit(p);
	mmn_check_end();
	EXPECT_TRUE(page_counts_valid());
	mmn_era = MMN_ERA_6_12;
}

/* No second order-9 block: do_huge_pmd_wp_page_fallback copies into 512
 * small pages and maps them from the deposited table. */
TEST_FRAMES(era_2_6_33_huge_cow_fallback, 1100)
{
	struct mm_struct *p, *c;
	unsigned long ppfn;
	int err;

	mmn_era = MMN_ERA_2_6_33;
	mmn_check_begin();
	p = thp_mm(HP);
	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(fill(p, BASE, HP, 32), 0);
	ASSERT_TRUE(huge_at(p, BASE));
	ppfn = pfn_at(p, BASE);
	c = mmn_fork(p, &err);
	ASSERT_TRUE(c != NULL);
	ASSERT_EQ(mmn_store(c, BASE + 8, 0x77), 0);
	EXPECT_FALSE(huge_at(c, BASE));
	EXPECT_NE(pfn_at(c, BASE + 9 * PG), ppfn + 9);
	EXPECT_EQ(writable_at(c, BASE + 9 * PG), 1);
	EXPECT_EQ(c->rss_anon, (long)HPAGE_PMD_NR);
	EXPECT_EQ(ld(c, BASE + 8), 0x77);
	EXPECT_EQ(check(c, BASE + PG, HP - PG, 32), 0);
	EXPECT_EQ(check(p, BASE, HP, 32), 0);
	EXPECT_TRUE(huge_at(p, BASE));
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_TRUE(page_counts_valid());
	mmn_exit(c);
	mmn_exit(p);
	mmn_check_end();
	EXPECT_TRUE(page_counts_valid());
	mmn_era = MMN_ERA_6_12;
}

/* MADV_PAGEOUT and migration of a THP under era 2.6.33: the split's
 * pmdp_splitting_flush_notify pair (atomic), then invalidate_page per
 * page; data kept. */
TEST(era_2_6_33_thp_pageout_and_migrate)
{
	struct mm_struct *mm;
	struct mmn_recorder *rec;
	int err;

	mmn_era = MMN_ERA_2_6_33;
	mmn_check_begin();
	mm = thp_mm(2 * HP);
	ASSERT_TRUE(mm != NULL);
	ASSERT_EQ(fill(mm, BASE, 2 * HP, 33), 0);
	rec = mmn_recorder_create(mm, MMN_REC_LEGACY | MMN_REC_NO_YOUNG, &err);
	ASSERT_TRUE(rec != NULL);
	mmn_recorder_set_base(rec, BASE);
	ASSERT_EQ(mmn_pageout(mm, BASE, HP), 0);
	EXPECT_TRUE(strncmp(mmn_recorder_text(rec),
		"start CLEAR [+0x0,+0x200000) blk=0 atomic=1\n"
		"end CLEAR [+0x0,+0x200000) blk=0 atomic=1\n"
		"invalidate_page +0x0 atomic=1\n"
		"invalidate_page +0x1000 atomic=1\n", 130) == 0);
	EXPECT_EQ(mmn_recorder_lines(rec), 2 + HPAGE_PMD_NR);
	EXPECT_EQ(stats_now().swap_used, HPAGE_PMD_NR);
	mmn_recorder_clear(rec);
	EXPECT_EQ(mmn_migrate_pages(mm, BASE + HP, HP), HPAGE_PMD_NR);
	EXPECT_EQ(mmn_recorder_lines(rec), 2 + HPAGE_PMD_NR);
	EXPECT_EQ(mmn_check_audit(), 0);
	EXPECT_EQ(check(mm, BASE, 2 * HP, 33), 0);
	mmn_exit(mm);
	mmn_check_end();
	mmn_recorder_destroy(rec);
	EXPECT_TRUE(page_counts_valid());
	mmn_era = MMN_ERA_6_12;
}
