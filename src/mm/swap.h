/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Private to swapfile.c and swap_state.c (Linux's mm/swap.h): slot
 * allocation and the swap cache's array, under swap_lock.
 */
#ifndef MMN_MM_SWAP_H
#define MMN_MM_SWAP_H

#include "mm/internal.h"

/* swap_map[] holds the swap count (ptes naming the slot) | SWAP_HAS_CACHE
 * (a page for the slot is in the swap cache).  0: the slot is free. */
#define SWAP_HAS_CACHE	0x40000000

/* A free slot, with SWAP_HAS_CACHE set; .val 0 when the device is full. */
swp_entry_t get_swap_page(void);
/* Claim SWAP_HAS_CACHE for a swap-in: -EEXIST if some page holds it
 * already, -ENOENT if the slot was freed meanwhile. */
int swapcache_prepare(swp_entry_t entry);
/* Drop SWAP_HAS_CACHE (the slot is freed if no count remains). */
void put_swap_folio(swp_entry_t entry);

void swap_lock(void);
void swap_unlock(void);
/* swap_lock held: the swap cache slot of @entry (NULL if not a device
 * entry), and the count of pages in the cache. */
struct page **__swap_cache_slot(swp_entry_t entry);
void __swap_cache_add(long delta);
/* swap_lock held: drop SWAP_HAS_CACHE of @entry. */
void __put_swap_folio(swp_entry_t entry);
bool __swap_keep_cache(void);

#endif /* MMN_MM_SWAP_H */
