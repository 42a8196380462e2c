// SPDX-License-Identifier: GPL-2.0
/*
 * The frame pool: mem_map[] and the frames' data (mm/page_alloc.c,
 * mm/swap.c's put_page, include/linux/mm.h's refcount helpers).
 *
 * - mem_map[nr_frames] of struct page, and nr_frames * 4 KiB of data,
 *   mmap'd (zero-filled by the kernel).  pfn 0 is the shared zero page:
 *   PG_reserved, refcount pinned at 1, never freed, never written.
 * - One free list, LIFO, logically filled in ascending pfn order at init:
 *   the same sequence of calls hands out the same pfns.  Order-9 (THP)
 *   allocations take the lowest aligned block of 512 free frames; the head
 *   carries PG_head and order 9, tails PG_tail and ->head.
 * - The pool outlives a run.  An explorer runs thousands of executions,
 *   each mmn_mem_init() .. mmn_mem_exit(); mapping, clearing and unmapping
 *   the whole pool each time cost more than the execution.  So the
 *   mappings stay (up to process exit, or until a bigger pool is asked
 *   for), and only frames a run took are made pristine again:
 *   . frames at or above zone.untouched were never taken in this run:
 *     their struct page and data are all zero (pristine) and they are not
 *     on the list; logically they are its tail, in ascending order.  An
 *     order-0 allocation from an empty list takes zone.untouched; an
 *     order-9 one beyond it first appends the frames below its block
 *     (materialize_locked()).  The pfns handed out are the same as with a
 *     fully built list.
 *   . pool.dirty bounds every frame any run since the last clearing took;
 *     mmn_mem_init() zeroes mem_map, data and free_map below it.  Nothing
 *     writes a frame's page or data before it is allocated (a device can
 *     only reach a frame through a translation made from an allocated
 *     page), so the frames above it are still pristine.
 * - __free_pages() is the single place a frame returns to the pool: the
 *   generation is bumped there (use-after-free detection) and the checker
 *   hook observes it.
 * - Frame words are only touched with relaxed atomic loads and stores:
 *   devices access frames concurrently without locks, and a copy races
 *   with them by design (the checker judges it, TSan must not).
 * - Allocation never aborts: NULL, and the caller returns -ENOMEM or
 *   VM_FAULT_OOM.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mm/huge_mm.h"
#include "mm/internal.h"

int mmn_mm_debug = 1;

static struct {
	struct page *mem_map;
	uint64_t *data;
	unsigned long nr_frames;
	mmn_spinlock_t lock;		/* zone->lock: free list, bitmap */
	struct list_head free_list;
	unsigned long nr_free;		/* on the list, plus the untouched */
	unsigned char *free_map;	/* 1 = frame on the free list */
	unsigned long untouched;	/* first frame never taken this run */
	long stat[MMN_STAT__NR];	/* atomic */
	bool ready;
} zone;

/* The mappings, kept across runs (see the top of the file). */
static struct {
	struct page *mem_map;
	uint64_t *data;
	unsigned char *free_map;
	unsigned long cap;		/* frames mapped */
	unsigned long dirty;		/* frames below may be non-pristine */
} pool;

static void pool_release(void)
{
	if (!pool.cap)
		return;
	munmap(pool.data, pool.cap * PAGE_SIZE);
	free(pool.mem_map);
	free(pool.free_map);
	memset(&pool, 0, sizeof(pool));
}

static void __attribute__((destructor)) pool_release_at_exit(void)
{
	if (!zone.ready)
		pool_release();
}

/* A pool of at least @n frames, every frame pristine; 0 or -ENOMEM. */
static int pool_get(unsigned long n)
{
	if (pool.cap < n) {
		pool_release();
		pool.data = mmap(NULL, n * PAGE_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (pool.data == MAP_FAILED) {
			pool.data = NULL;
			return -ENOMEM;
		}
		pool.mem_map = calloc(n, sizeof(struct page));
		pool.free_map = calloc(n, 1);
		if (!pool.mem_map || !pool.free_map) {
			free(pool.mem_map);
			free(pool.free_map);
			munmap(pool.data, n * PAGE_SIZE);
			memset(&pool, 0, sizeof(pool));
			return -ENOMEM;
		}
		pool.cap = n;
		pool.dirty = 0;
		return 0;
	}
	if (pool.dirty) {
		size_t bytes = pool.dirty * PAGE_SIZE;

		memset(pool.mem_map, 0, pool.dirty * sizeof(struct page));
		memset(pool.free_map, 0, pool.dirty);
		/* memset, not MADV_DONTNEED: the next run touches these frames
		 * again, and a page fault costs more than clearing 4 KiB */
		memset(pool.data, 0, bytes);
		pool.dirty = 0;
	}
	return 0;
}

/* Append the untouched frames below @end to the free list (zone.lock). */
static void materialize_locked(unsigned long end)
{
	for (unsigned long pfn = zone.untouched; pfn < end; pfn++) {
		struct page *page = &zone.mem_map[pfn];

		list_add_tail(&page->lru, &zone.free_list);
		zone.free_map[pfn] = 1;
	}
	if (end > zone.untouched)
		zone.untouched = end;
}

static bool frame_free_locked(unsigned long pfn)
{
	return pfn >= zone.untouched || zone.free_map[pfn];
}

int mmn_mem_init(const struct mmn_mem_config *cfg)
{
	unsigned long n = cfg && cfg->nr_frames ? cfg->nr_frames : 16384;
	struct page *zero;
	int err;

	if (zone.ready || n < 2)
		return -EINVAL;
	err = pool_get(n);
	if (err)
		return err;
	zone.data = pool.data;
	zone.mem_map = pool.mem_map;
	zone.free_map = pool.free_map;
	zone.nr_frames = n;
	mmn_spin_lock_init(&zone.lock, "zone->lock");
	INIT_LIST_HEAD(&zone.free_list);
	memset(zone.stat, 0, sizeof(zone.stat));
	zero = &zone.mem_map[ZERO_PFN];
	INIT_LIST_HEAD(&zero->lru);
	zero->flags = 1UL << PG_reserved | 1UL << PG_uptodate;
	zero->_refcount = 1;
	zone.untouched = ZERO_PFN + 1;
	zone.nr_free = n - 1;
	pool.dirty = zone.untouched;
	__mmn_fork_init();
	__mmn_rmap_ids_reset();
	__mmn_shmem_ids_reset();
	__mmn_mmap_init();
	__mmn_ksm_init();
	__mmn_thp_init();
	__mmn_swap_init(cfg ? cfg->nr_swap_slots : 0);
	zone.ready = true;
	return 0;
}

void mmn_mem_exit(void)
{
	if (!zone.ready)
		return;
	__mmn_swap_exit();
	__mmn_ksm_exit();
	__mmn_mmap_exit();
	__mmn_fork_exit();
	mmn_spin_lock_destroy(&zone.lock);
	/* keep the mappings; the next mmn_mem_init() clears what we took */
	if (zone.untouched > pool.dirty)
		pool.dirty = zone.untouched;
	memset(&zone, 0, sizeof(zone));
}

void __mmn_stat_add(int item, long delta)
{
	__atomic_fetch_add(&zone.stat[item], delta, __ATOMIC_RELAXED);
}

static unsigned long stat_read(int item)
{
	return (unsigned long)__atomic_load_n(&zone.stat[item], __ATOMIC_RELAXED);
}

void mmn_mem_stats(struct mmn_mem_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->nr_frames = zone.nr_frames;
	mmn_spin_lock(&zone.lock, __FILE__, __LINE__);
	st->free_frames = zone.nr_free;
	mmn_spin_unlock(&zone.lock);
	st->anon_pages = stat_read(MMN_STAT_ANON);
	st->file_pages = stat_read(MMN_STAT_FILE);
	st->page_tables = stat_read(MMN_STAT_PGTABLE);
	st->nr_mms = stat_read(MMN_STAT_MMS);
	st->nr_vmas = stat_read(MMN_STAT_VMAS);
	st->nr_anon_vmas = stat_read(MMN_STAT_ANON_VMAS);
	st->nr_mappings = stat_read(MMN_STAT_MAPPINGS);
	__mmn_swap_stats(st);
}

/* ---- pfn <-> page ------------------------------------------------- */

unsigned long page_to_pfn(const struct page *page)
{
	return (unsigned long)(page - zone.mem_map);
}

struct page *pfn_to_page(unsigned long pfn)
{
	if (pfn >= zone.nr_frames)
		return NULL;
	return &zone.mem_map[pfn];
}

bool is_zero_pfn(unsigned long pfn)
{
	return pfn == ZERO_PFN;
}

uint64_t *__mmn_page_data(struct page *page)
{
	return zone.data + page_to_pfn(page) * MMN_PAGE_WORDS;
}

struct page *compound_head(struct page *page)
{
	struct page *head = READ_ONCE(page->head);

	return head ? head : page;
}

/* ---- allocation --------------------------------------------------- */

static void prep_new_page(struct page *page)
{
	page->flags = 0;
	page->_mapcount = 0;
	page->mapping = NULL;
	page->index = 0;
	page->order = 0;
	page->head = NULL;
	page->private = 0;
	__atomic_store_n(&page->_refcount, 1, __ATOMIC_RELEASE);
}

static struct page *alloc_order9_locked(void)
{
	unsigned long nr = HPAGE_PMD_NR;

	/* block 0 holds the zero page */
	for (unsigned long base = nr; base + nr <= zone.nr_frames; base += nr) {
		unsigned long i;

		for (i = 0; i < nr; i++)
			if (!frame_free_locked(base + i))
				break;
		if (i < nr)
			continue;
		materialize_locked(base + nr);
		for (i = 0; i < nr; i++) {
			list_del_init(&zone.mem_map[base + i].lru);
			zone.free_map[base + i] = 0;
		}
		zone.nr_free -= nr;
		return &zone.mem_map[base];
	}
	return NULL;
}

struct page *alloc_pages(unsigned int order)
{
	struct page *page = NULL;

	if (order != 0 && order != HPAGE_PMD_ORDER)
		return NULL;
	mmn_spin_lock(&zone.lock, __FILE__, __LINE__);
	if (order == 0) {
		if (!list_empty(&zone.free_list)) {
			page = list_first_entry(&zone.free_list, struct page, lru);
			list_del_init(&page->lru);
			zone.free_map[page_to_pfn(page)] = 0;
			zone.nr_free--;
		} else if (zone.untouched < zone.nr_frames) {
			/* the list's logical tail: the lowest untouched frame */
			page = &zone.mem_map[zone.untouched++];
			INIT_LIST_HEAD(&page->lru);
			zone.nr_free--;
		}
	} else {
		page = alloc_order9_locked();
	}
	mmn_spin_unlock(&zone.lock);
	if (!page)
		return NULL;
	prep_new_page(page);
	if (order) {
		SetPageFlag(page, PG_head);
		page->order = (uint8_t)order;
		for (unsigned long i = 1; i < (1UL << order); i++) {
			struct page *tail = page + i;

			prep_new_page(tail);
			__atomic_store_n(&tail->_refcount, 0, __ATOMIC_RELAXED);
			SetPageFlag(tail, PG_tail);
			WRITE_ONCE(tail->head, page);
		}
	}
	return page;
}

void clear_page_data(struct page *page)
{
	uint64_t *d = __mmn_page_data(page);

	for (unsigned long i = 0; i < MMN_PAGE_WORDS; i++)
		__atomic_store_n(&d[i], 0, __ATOMIC_RELAXED);
}

void copy_page_data(struct page *to, struct page *from)
{
	uint64_t *d = __mmn_page_data(to);
	const uint64_t *s = __mmn_page_data(from);

	for (unsigned long i = 0; i < MMN_PAGE_WORDS; i++)
		__atomic_store_n(&d[i], __atomic_load_n(&s[i], __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
}

struct page *alloc_zeroed_page(void)
{
	struct page *page = alloc_pages(0);

	if (page)
		clear_page_data(page);
	return page;
}

/* ---- freeing: the one path ----------------------------------------- */

static void free_one_frame_locked(struct page *page)
{
	__mmn_hook_page_free(page);
	page->flags = 0;
	page->mapping = NULL;
	page->index = 0;
	page->order = 0;
	page->private = 0;
	WRITE_ONCE(page->head, NULL);
	__atomic_fetch_add(&page->gen, 1, __ATOMIC_RELEASE);
	list_add(&page->lru, &zone.free_list);
	zone.free_map[page_to_pfn(page)] = 1;
	zone.nr_free++;
}

/*
 * The refcount of @page (a head or order-0 page) reached zero.  Drops what
 * the page held (its anon_vma pin) and returns the frames to the pool.
 */
void __free_pages(struct page *page)
{
	unsigned long nr = 1UL << page->order;
	struct anon_vma *anon_vma = NULL;

	if (WARN_ON(PageReserved(page)))
		return;
	VM_WARN_ON(__atomic_load_n(&page->_mapcount, __ATOMIC_RELAXED) != 0);
	VM_WARN_ON(__atomic_load_n(&page->_entire_mapcount, __ATOMIC_RELAXED) != 0);
	if (PageAnon(page)) {
		/* a KSM page's ->mapping is its stable node */
		if (PageKsm(page))
			__ksm_page_freed(page);
		else
			anon_vma = (struct anon_vma *)page->mapping;
		__mmn_stat_add(MMN_STAT_ANON, -(long)nr);
	}
	mmn_spin_lock(&zone.lock, __FILE__, __LINE__);
	for (unsigned long i = 0; i < nr; i++)
		free_one_frame_locked(page + i);
	mmn_spin_unlock(&zone.lock);
	if (anon_vma)
		put_anon_vma(anon_vma);
}

/* ---- reference counts ---------------------------------------------- */

void get_page(struct page *page)
{
	page = compound_head(page);
	VM_WARN_ON(__atomic_load_n(&page->_refcount, __ATOMIC_RELAXED) <= 0);
	__atomic_fetch_add(&page->_refcount, 1, __ATOMIC_RELAXED);
}

void put_page(struct page *page)
{
	int ref;

	page = compound_head(page);
	if (PageReserved(page))
		return;
	ref = __atomic_sub_fetch(&page->_refcount, 1, __ATOMIC_ACQ_REL);
	VM_WARN_ON(ref < 0);
	if (ref == 0)
		__free_pages(page);
}

int page_count(const struct page *page)
{
	return __atomic_load_n(&compound_head((struct page *)page)->_refcount,
			       __ATOMIC_RELAXED);
}

int page_mapcount(const struct page *page)
{
	return __atomic_load_n(&page->_mapcount, __ATOMIC_RELAXED);
}

void page_mapcount_inc(struct page *page)
{
	__atomic_fetch_add(&page->_mapcount, 1, __ATOMIC_RELAXED);
}

int page_mapcount_dec(struct page *page)
{
	int n = __atomic_sub_fetch(&page->_mapcount, 1, __ATOMIC_RELAXED);

	VM_WARN_ON(n < 0);
	return n;
}

/* ---- page lock (PG_locked): a bit lock, as folio_lock() ------------ */

bool trylock_page(struct page *page)
{
	unsigned long old = __atomic_fetch_or(&page->flags, 1UL << PG_locked,
					      __ATOMIC_ACQUIRE);

	return !(old & (1UL << PG_locked));
}

/* Sleeps (a schedule point per attempt) until the bit is ours. */
void lock_page(struct page *page)
{
	mmn_might_sleep(__FILE__, __LINE__);
	while (!trylock_page(page))
		mmn_cond_resched(__FILE__, __LINE__);
}

void unlock_page(struct page *page)
{
	__atomic_fetch_and(&page->flags, ~(1UL << PG_locked), __ATOMIC_RELEASE);
}

bool PageLocked(struct page *page)
{
	return PageFlag(page, PG_locked);
}

/* ---- invariants ---------------------------------------------------- */

/*
 * Quiescent check of every frame: free frames have no references and sit
 * on the free list; allocated frames have refcount >= mapcount (each pte
 * holds a reference); anon pages point at an anon_vma.
 */
bool page_counts_valid(void)
{
	/* the untouched frames are pristine: free, no references */
	unsigned long nr_free = zone.nr_frames - zone.untouched;

	for (unsigned long pfn = 1; pfn < zone.untouched; pfn++) {
		struct page *page = &zone.mem_map[pfn];
		int ref = page_count(page), map = page_mapcount(page);

		if (zone.free_map[pfn]) {
			nr_free++;
			if (page->_refcount || map)
				return false;
			continue;
		}
		if (PageFlag(page, PG_tail))
			continue;
		if (ref <= 0 || map < 0 || map > ref)
			return false;
		if (PageAnon(page) && !page->mapping)
			return false;
	}
	return nr_free == zone.nr_free;
}
