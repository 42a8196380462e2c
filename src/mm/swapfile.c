// SPDX-License-Identifier: GPL-2.0
/*
 * The swap device (mm/swapfile.c, the swap half of mm/page_io.c): slots,
 * swap counts, and the data written out.
 *
 * One device, type 0, of nr_slots slots (struct mmn_mem_config; slot 0 is
 * the header and never handed out).  Per slot, as Linux's swap_map[]:
 *   the swap count   how many swap ptes name the slot (try_to_unmap_one
 *                    and fork take one each, swap-in and zap drop one);
 *   SWAP_HAS_CACHE   a page for the slot sits in the swap cache
 *                    (swap_state.c); set when add_to_swap() allocates the
 *                    slot or a swap-in claims it, cleared when the page
 *                    leaves the cache.
 * A slot is free again when both are gone.  Everything under swap_lock, a
 * spinlock taken inside the PT lock (Linux: PTL -> si->lock).
 *
 * The data of a slot is a separate 4 KiB store, written by pageout
 * (swap_writepage) and read by a swap-in that misses the swap cache
 * (swap_read_page).  Writing a slot is NOT a seal in the checker's sense
 * (DESIGN.md section 6): the page stays in the swap cache after
 * write-out until reclaim frees it, and a swap-in while it is there maps
 * the same frame again, so a device still writing into that frame loses
 * nothing ("swap works by accident").  Only once the clean page was
 * dropped and the slot is read back does a late device write vanish;
 * the ghost memory catches that at the next read or at the end audit.
 *
 * Frame words and slot words are copied with relaxed atomic accesses: a
 * device may be writing the frame while it is written out, by design.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mm/swap.h"

#define DEFAULT_SWAP_SLOTS	4096

static struct {
	spinlock_t lock;
	unsigned long nr_slots;		/* slot 0 included */
	int *swap_map;
	struct page **cache;		/* swap cache, by offset */
	uint64_t *data;			/* nr_slots * 512 words */
	unsigned long inuse;		/* slots with a count or cache */
	unsigned long nr_cache;		/* pages in the swap cache */
	bool keep_cache;		/* mmn_swap_keep_cache() */
	bool ready;
} si;

void __mmn_swap_init(unsigned long nr_slots)
{
	if (!nr_slots)
		nr_slots = DEFAULT_SWAP_SLOTS;
	nr_slots++;			/* the header */
	memset(&si, 0, sizeof(si));
	si.swap_map = calloc(nr_slots, sizeof(*si.swap_map));
	si.cache = calloc(nr_slots, sizeof(*si.cache));
	si.data = mmap(NULL, nr_slots * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!si.swap_map || !si.cache || si.data == MAP_FAILED) {
		/* no swap device: every add_to_swap() fails */
		free(si.swap_map);
		free(si.cache);
		if (si.data != MAP_FAILED)
			munmap(si.data, nr_slots * PAGE_SIZE);
		memset(&si, 0, sizeof(si));
		return;
	}
	si.nr_slots = nr_slots;
	si.swap_map[0] = SWAP_HAS_CACHE;	/* the header: never free */
	spin_lock_init(&si.lock);
	si.ready = true;
}

void __mmn_swap_exit(void)
{
	if (!si.ready)
		return;
	spin_lock_destroy(&si.lock);
	munmap(si.data, si.nr_slots * PAGE_SIZE);
	free(si.swap_map);
	free(si.cache);
	memset(&si, 0, sizeof(si));
}

void __mmn_swap_stats(struct mmn_mem_stats *st)
{
	if (!si.ready)
		return;
	spin_lock(&si.lock);
	st->nr_swap_slots = si.nr_slots - 1;
	st->swap_used = si.inuse;
	st->swap_cache_pages = si.nr_cache;
	spin_unlock(&si.lock);
}

void mmn_swap_keep_cache(bool keep)
{
	WRITE_ONCE(si.keep_cache, keep);
}

bool __swap_keep_cache(void)
{
	return READ_ONCE(si.keep_cache);
}

void swap_lock(void)
{
	spin_lock(&si.lock);
}

void swap_unlock(void)
{
	spin_unlock(&si.lock);
}

/* A device entry naming an existing slot? */
static bool swap_entry_valid(swp_entry_t entry)
{
	unsigned long off = swp_offset(entry);

	return si.ready && swp_type(entry) == 0 && off > 0 && off < si.nr_slots;
}

struct page **__swap_cache_slot(swp_entry_t entry)
{
	if (!swap_entry_valid(entry))
		return NULL;
	return &si.cache[swp_offset(entry)];
}

void __swap_cache_add(long delta)
{
	si.nr_cache += delta;
}

/* swap_lock held: the slot's count and cache bit are both gone. */
static void swap_entry_maybe_free(unsigned long off)
{
	if (si.swap_map[off] == 0) {
		VM_WARN_ON(si.cache[off]);
		__atomic_fetch_sub(&si.inuse, 1, __ATOMIC_RELAXED);
	}
}

/* ---- slots ------------------------------------------------------------ */

swp_entry_t get_swap_page(void)
{
	swp_entry_t entry = { 0 };

	if (!si.ready)
		return entry;
	spin_lock(&si.lock);
	/* the lowest free slot: the same calls give the same slots */
	for (unsigned long off = 1; off < si.nr_slots; off++) {
		if (si.swap_map[off])
			continue;
		si.swap_map[off] = SWAP_HAS_CACHE;
		__atomic_fetch_add(&si.inuse, 1, __ATOMIC_RELAXED);
		entry = swp_entry(0, off);
		break;
	}
	spin_unlock(&si.lock);
	return entry;
}

int swap_duplicate(swp_entry_t entry)
{
	unsigned long off = swp_offset(entry);
	int ret = 0;

	if (WARN_ON(!swap_entry_valid(entry)))
		return -EINVAL;
	spin_lock(&si.lock);
	if (WARN_ON(!si.swap_map[off]))
		ret = -ENOENT;
	else
		si.swap_map[off]++;
	spin_unlock(&si.lock);
	return ret;
}

/* swap_lock held: one swap pte naming @off went away. */
static void __swap_entry_put(unsigned long off)
{
	if (WARN_ON(!(si.swap_map[off] & ~SWAP_HAS_CACHE)))
		return;
	si.swap_map[off]--;
	swap_entry_maybe_free(off);
}

void swap_free(swp_entry_t entry)
{
	if (WARN_ON(!swap_entry_valid(entry)))
		return;
	spin_lock(&si.lock);
	__swap_entry_put(swp_offset(entry));
	spin_unlock(&si.lock);
}

int __swap_count(swp_entry_t entry)
{
	int count;

	if (!swap_entry_valid(entry))
		return 0;
	spin_lock(&si.lock);
	count = si.swap_map[swp_offset(entry)] & ~SWAP_HAS_CACHE;
	spin_unlock(&si.lock);
	return count;
}

bool vm_swap_full(void)
{
	return si.ready &&
	       __atomic_load_n(&si.inuse, __ATOMIC_RELAXED) * 2 > si.nr_slots - 1;
}

int swapcache_prepare(swp_entry_t entry)
{
	unsigned long off = swp_offset(entry);
	int ret = 0;

	if (!swap_entry_valid(entry))
		return -ENOENT;
	spin_lock(&si.lock);
	if (!si.swap_map[off])
		ret = -ENOENT;
	else if (si.swap_map[off] & SWAP_HAS_CACHE)
		ret = -EEXIST;
	else
		si.swap_map[off] |= SWAP_HAS_CACHE;
	spin_unlock(&si.lock);
	return ret;
}

void __put_swap_folio(swp_entry_t entry)
{
	unsigned long off = swp_offset(entry);

	VM_WARN_ON(!(si.swap_map[off] & SWAP_HAS_CACHE));
	si.swap_map[off] &= ~SWAP_HAS_CACHE;
	swap_entry_maybe_free(off);
}

void put_swap_folio(swp_entry_t entry)
{
	if (WARN_ON(!swap_entry_valid(entry)))
		return;
	spin_lock(&si.lock);
	__put_swap_folio(entry);
	spin_unlock(&si.lock);
}

/*
 * A swap pte was zapped (free_swap_and_cache_nr): drop its count; when
 * only the swap cache still holds the slot, try to drop that page too
 * (__try_to_reclaim_swap with TTRS_UNMAPPED: trylock, only if unmapped).
 * Called under the PT lock: the page lock is only tried.
 */
void free_swap_and_cache(swp_entry_t entry)
{
	unsigned long off = swp_offset(entry);
	struct page *page = NULL;

	if (WARN_ON(!swap_entry_valid(entry)))
		return;
	spin_lock(&si.lock);
	__swap_entry_put(off);
	if (si.swap_map[off] == SWAP_HAS_CACHE && si.cache[off]) {
		page = si.cache[off];
		get_page(page);
	}
	spin_unlock(&si.lock);
	if (!page)
		return;
	if (trylock_page(page)) {
		if (PageSwapCache(page) && page->private == entry.val &&
		    !page_mapped(page))
			folio_free_swap(page);
		unlock_page(page);
	}
	put_page(page);
}

/* ---- data ------------------------------------------------------------- */

static uint64_t *slot_data(unsigned long off)
{
	return si.data + off * MMN_PAGE_WORDS;
}

/* pageout(): the page's content goes to its slot (the page stays). */
void swap_writepage(struct page *page)
{
	swp_entry_t entry = { page->private };
	const uint64_t *src = __mmn_page_data(page);
	uint64_t *dst;

	if (WARN_ON(!PageSwapCache(page) || !swap_entry_valid(entry)))
		return;
	dst = slot_data(swp_offset(entry));
	for (unsigned long i = 0; i < MMN_PAGE_WORDS; i++)
		__atomic_store_n(&dst[i], __atomic_load_n(&src[i], __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
}

/* swap_read_folio(): a fresh swap-cache page gets the slot's content. */
void swap_read_page(struct page *page, swp_entry_t entry)
{
	uint64_t *dst = __mmn_page_data(page);
	const uint64_t *src;

	if (WARN_ON(!swap_entry_valid(entry)))
		return;
	src = slot_data(swp_offset(entry));
	for (unsigned long i = 0; i < MMN_PAGE_WORDS; i++)
		__atomic_store_n(&dst[i], __atomic_load_n(&src[i], __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
}

/*
 * For the end audit, with nothing running (no lock: the audit holds the
 * checker's innermost lock): the words a swap-in of @pte would give --
 * the page under migration for a migration entry, the swap-cache page if
 * there is one, else the slot.  *@pfn: the frame, or ~0UL for the slot.
 */
const uint64_t *__mmn_swap_audit_data(pte_t pte, unsigned long *pfn)
{
	swp_entry_t entry = pte_to_swp_entry(pte);
	struct page *page;

	*pfn = ~0UL;
	if (is_migration_entry(entry)) {
		page = pfn_to_page(swp_offset_pfn(entry));
		if (!page)
			return NULL;
		*pfn = page_to_pfn(page);
		return __mmn_page_data(page);
	}
	if (!swap_entry_valid(entry))
		return NULL;
	page = si.cache[swp_offset(entry)];
	if (page) {
		*pfn = page_to_pfn(page);
		return __mmn_page_data(page);
	}
	return slot_data(swp_offset(entry));
}
