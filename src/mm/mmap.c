// SPDX-License-Identifier: GPL-2.0
/*
 * The VMA set and the calls that change it (mm/mmap.c, mm/vma.c):
 * mmap, munmap, VMA split and merge, exit_mmap, mm_take_all_locks.
 *
 * The VMA set is a sorted array of non-overlapping VMAs (Linux: a maple
 * tree), changed only under mmap_lock for write.  A VMA's bounds and pgoff
 * change (split, merge) under mmap_lock write plus, like Linux's
 * vma_prepare(), its mapping's i_mmap_rwsem and its anon_vma root rwsem,
 * both for write, so rmap walkers that hold only those see them stable.
 *
 * munmap (do_vmi_munmap -> vms_complete_munmap_vmas), mmap_lock write:
 *   split at start, split at end, detach -> tlb_gather_mmu ->
 *   unmap_vmas: S(UNMAP, [start, end)) -> zap every VMA -> E ->
 *   free_pgtables (unlink anon_vmas, unlink from i_mmap; tables stay) ->
 *   tlb_finish_mmu (F, then pages freed) -> remove_vma (fput, free).
 *
 * exit_mmap, after mm_users reached 0:
 *   mmu_notifier_release(mm) -> mmap_read_lock -> tlb_gather_mmu_fullmm ->
 *   unmap_vmas: S(UNMAP, [0, ULONG_MAX)) -> zap all -> E -> read unlock ->
 *   mmap_write_lock -> free_pgtables (anon_vma/i_mmap unlink, every table
 *   below the pgd into the gather) -> tlb_finish_mmu (F [0, ULONG_MAX),
 *   then pages and tables freed) -> remove_vma each -> write unlock.
 *
 * Addresses: top-down below MMAP_BASE (highest gap that fits), or the hint
 * if it is free; the same sequence of calls gives the same addresses.
 */
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "mm/internal.h"

/* ---- lookup --------------------------------------------------------- */

/* Index of the first VMA with vm_end > addr (map_count if none). */
static int vma_search(struct mm_struct *mm, unsigned long addr)
{
	int lo = 0, hi = mm->map_count;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (mm->vmas[mid]->vm_end > addr)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	int i = vma_search(mm, addr);

	return i < mm->map_count ? mm->vmas[i] : NULL;
}

struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && vma->vm_start <= addr ? vma : NULL;
}

int vma_index(struct mm_struct *mm, struct vm_area_struct *vma)
{
	int i = vma_search(mm, vma->vm_start);

	VM_WARN_ON(i >= mm->map_count || mm->vmas[i] != vma);
	return i;
}

struct vm_area_struct *vma_prev(struct mm_struct *mm, struct vm_area_struct *vma)
{
	int i = vma_index(mm, vma);

	return i > 0 ? mm->vmas[i - 1] : NULL;
}

struct vm_area_struct *vma_next(struct mm_struct *mm, struct vm_area_struct *vma)
{
	int i = vma_index(mm, vma);

	return i + 1 < mm->map_count ? mm->vmas[i + 1] : NULL;
}

/* ---- allocation ---------------------------------------------------- */

struct vm_area_struct *vm_area_alloc(struct mm_struct *mm)
{
	struct vm_area_struct *vma = calloc(1, sizeof(*vma));

	if (!vma)
		return NULL;
	vma->vm_mm = mm;
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	INIT_LIST_HEAD(&vma->shared);
	__mmn_stat_add(MMN_STAT_VMAS, 1);
	return vma;
}

struct vm_area_struct *vm_area_dup(struct vm_area_struct *orig)
{
	struct vm_area_struct *vma = vm_area_alloc(orig->vm_mm);

	if (!vma)
		return NULL;
	*vma = *orig;
	INIT_LIST_HEAD(&vma->anon_vma_chain);
	INIT_LIST_HEAD(&vma->shared);
	return vma;
}

void vm_area_free(struct vm_area_struct *vma)
{
	free(vma);
	__mmn_stat_add(MMN_STAT_VMAS, -1);
}

/* Insert into the sorted array; mmap_lock write held. */
int vma_link(struct mm_struct *mm, struct vm_area_struct *vma)
{
	int i;

	mmap_assert_write_locked(mm);
	if (mm->map_count == mm->vmas_cap) {
		int cap = mm->vmas_cap ? mm->vmas_cap * 2 : 16;
		void *p = realloc(mm->vmas, cap * sizeof(*mm->vmas));

		if (!p)
			return -ENOMEM;
		mm->vmas = p;
		mm->vmas_cap = cap;
	}
	i = vma_search(mm, vma->vm_start);
	memmove(&mm->vmas[i + 1], &mm->vmas[i],
		(mm->map_count - i) * sizeof(*mm->vmas));
	mm->vmas[i] = vma;
	mm->map_count++;
	return 0;
}

static void vma_unlink(struct mm_struct *mm, struct vm_area_struct *vma)
{
	int i = vma_index(mm, vma);

	memmove(&mm->vmas[i], &mm->vmas[i + 1],
		(mm->map_count - i - 1) * sizeof(*mm->vmas));
	mm->map_count--;
}

uint64_t vm_get_page_prot(unsigned long vm_flags)
{
	if (!(vm_flags & (VM_READ | VM_WRITE | VM_EXEC)))
		return _PAGE_PROTNONE;
	/* private writable: read-only ptes, the first write COWs */
	if ((vm_flags & (VM_WRITE | VM_SHARED)) == (VM_WRITE | VM_SHARED))
		return _PAGE_PRESENT | _PAGE_USER | _PAGE_RW;
	return _PAGE_PRESENT | _PAGE_USER;
}

/* free_pgtables()' per-VMA part: unlink from the rmap. */
static void unlink_vma_rmap(struct vm_area_struct *vma)
{
	unlink_anon_vmas(vma);
	if (vma->vm_file) {
		struct address_space *mapping = vma->vm_file->f_mapping;

		i_mmap_lock_write(mapping);
		vma_interval_tree_remove(vma, mapping);
		i_mmap_unlock_write(mapping);
	}
}

/* ---- vma_prepare/vma_complete: bounds change under the rmap locks --- */

static void vma_prepare(struct vm_area_struct *vma)
{
	if (vma->vm_file)
		i_mmap_lock_write(vma->vm_file->f_mapping);
	if (vma->anon_vma)
		anon_vma_lock_write(vma->anon_vma);
}

static void vma_complete(struct vm_area_struct *vma)
{
	if (vma->anon_vma)
		anon_vma_unlock_write(vma->anon_vma);
	if (vma->vm_file)
		i_mmap_unlock_write(vma->vm_file->f_mapping);
}

/*
 * Split @vma at @addr: @vma keeps [vm_start, addr), a new VMA gets
 * [addr, vm_end) (Linux's __split_vma with new_below == 0).
 */
int split_vma(struct vm_area_struct *vma, unsigned long addr)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *new;

	mmap_assert_write_locked(mm);
	VM_WARN_ON(addr <= vma->vm_start || addr >= vma->vm_end);
	new = vm_area_dup(vma);
	if (!new)
		return -ENOMEM;
	new->vm_start = addr;
	new->vm_pgoff += (addr - vma->vm_start) >> PAGE_SHIFT;
	if (anon_vma_clone(new, vma)) {
		vm_area_free(new);
		return -ENOMEM;
	}
	if (new->vm_file)
		get_file(new->vm_file);
	vma_prepare(vma);
	/* a huge PMD across @addr is split first (CLEAR 2M) */
	vma_adjust_trans_huge(vma, addr);
	vma->vm_end = addr;
	if (new->vm_file)
		vma_interval_tree_insert(new, new->vm_file->f_mapping);
	vma_complete(vma);
	if (vma_link(mm, new)) {
		/* undo: give the range back */
		vma_prepare(vma);
		vma->vm_end = new->vm_end;
		if (new->vm_file)
			vma_interval_tree_remove(new, new->vm_file->f_mapping);
		vma_complete(vma);
		unlink_anon_vmas(new);
		remove_vma(new);
		return -ENOMEM;
	}
	return 0;
}

/*
 * is_mergeable_anon_vma() (6.12): the same anon_vma, or one of the two has
 * none and the neighbour being merged with was never forked (a single
 * avc): adopting its anon_vma then costs no rmap scalability.
 */
static bool anon_vma_compatible(struct vm_area_struct *a, struct vm_area_struct *b,
				struct vm_area_struct *neighbour)
{
	struct list_head *chain = &neighbour->anon_vma_chain;

	if ((!a->anon_vma || !b->anon_vma) &&
	    !list_empty(chain) && chain->next == chain->prev)
		return true;
	return a->anon_vma == b->anon_vma;
}

/* @a, @b adjacent (a below b); @neighbour is the one that exists already. */
static bool can_merge(struct vm_area_struct *a, struct vm_area_struct *b,
		      struct vm_area_struct *neighbour)
{
	return a->vm_end == b->vm_start && a->vm_flags == b->vm_flags &&
	       a->vm_file == b->vm_file && a->vm_ops == b->vm_ops &&
	       a->vm_pgoff + vma_pages(a) == b->vm_pgoff &&
	       !(a->vm_flags & VM_PFNMAP) &&
	       anon_vma_compatible(a, b, neighbour);
}

/* @a absorbs @b (its right neighbour); @b is freed. */
static int vma_merge_pair(struct vm_area_struct *a, struct vm_area_struct *b)
{
	struct mm_struct *mm = a->vm_mm;

	if (!a->anon_vma && b->anon_vma) {
		/* dup_anon_vma(): adopt @b's anon_vma first */
		if (anon_vma_clone(a, b))
			return -ENOMEM;
		a->anon_vma = b->anon_vma;
	}
	vma_unlink(mm, b);
	vma_prepare(a);
	a->vm_end = b->vm_end;
	vma_complete(a);
	unlink_vma_rmap(b);
	remove_vma(b);
	return 0;
}

struct vm_area_struct *vma_merge_neighbours(struct vm_area_struct *vma)
{
	struct mm_struct *mm = vma->vm_mm;
	struct vm_area_struct *prev, *next;

	mmap_assert_write_locked(mm);
	prev = vma_prev(mm, vma);
	if (prev && can_merge(prev, vma, prev) && !vma_merge_pair(prev, vma))
		vma = prev;
	next = vma_next(mm, vma);
	if (next && can_merge(vma, next, next))
		vma_merge_pair(vma, next);
	MM_CHECK(1, mm_vmas_valid(mm));
	return vma;
}

/* ---- teardown helpers ----------------------------------------------- */

/* After the flush: drop the file and free the VMA. */
void remove_vma(struct vm_area_struct *vma)
{
	if (vma->vm_ops && vma->vm_ops->close)
		vma->vm_ops->close(vma);
	if (vma->vm_file)
		fput(vma->vm_file);
	vm_area_free(vma);
}

/* ---- munmap --------------------------------------------------------- */

int do_munmap_locked(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma, *last, **detached;
	struct mmu_gather tlb;
	int i, first, n;

	mmap_assert_write_locked(mm);
	vma = find_vma(mm, start);
	if (!vma || vma->vm_start >= end)
		return 0;
	if (vma->vm_start < start) {
		if (split_vma(vma, start))
			return -ENOMEM;
		vma = find_vma(mm, start);
	}
	last = find_vma(mm, end - 1);
	if (last && last->vm_start < end && last->vm_end > end) {
		if (split_vma(last, end))
			return -ENOMEM;
	}
	first = vma_index(mm, vma);
	for (n = 0; first + n < mm->map_count &&
		    mm->vmas[first + n]->vm_start < end; n++)
		;
	detached = malloc(n * sizeof(*detached));
	if (!detached)
		return -ENOMEM;
	memcpy(detached, &mm->vmas[first], n * sizeof(*detached));
	memmove(&mm->vmas[first], &mm->vmas[first + n],
		(mm->map_count - first - n) * sizeof(*mm->vmas));
	mm->map_count -= n;

	tlb_gather_mmu(&tlb, mm);
	unmap_vmas(&tlb, detached, n, start, end);
	for (i = 0; i < n; i++)
		unlink_vma_rmap(detached[i]);	/* free_pgtables() */
	tlb_finish_mmu(&tlb);
	for (i = 0; i < n; i++)
		remove_vma(detached[i]);
	free(detached);
	MM_CHECK(1, mm_vmas_valid(mm));
	MM_CHECK(2, mm_pgtables_valid(mm));
	return 0;
}

int mmn_munmap(struct mm_struct *mm, unsigned long start, unsigned long len)
{
	unsigned long end;
	int ret;

	if (start & ~PAGE_MASK || !len)
		return -EINVAL;
	len = PAGE_ALIGN(len);
	end = start + len;
	if (!len || end > TASK_SIZE || end < start)
		return -EINVAL;
	mmap_write_lock(mm);
	ret = do_munmap_locked(mm, start, end);
	mmap_write_unlock(mm);
	return ret;
}

/* ---- mmap ----------------------------------------------------------- */

static bool range_is_free(struct mm_struct *mm, unsigned long addr, unsigned long end)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return !vma || vma->vm_start >= end;
}

/* Top-down: the highest gap below mmap_base that fits @len. */
unsigned long get_unmapped_area(struct mm_struct *mm, unsigned long hint,
				unsigned long len)
{
	if (hint) {
		hint = PAGE_ALIGN(hint);
		if (hint >= MMAP_MIN_ADDR && hint <= TASK_SIZE - len &&
		    range_is_free(mm, hint, hint + len))
			return hint;
	}
	for (int i = mm->map_count - 1; i >= -1; i--) {
		unsigned long lo = i >= 0 ? mm->vmas[i]->vm_end : MMAP_MIN_ADDR;
		unsigned long hi = i + 1 < mm->map_count ?
				   mm->vmas[i + 1]->vm_start : TASK_SIZE;

		hi = min(hi, mm->mmap_base);
		if (hi > lo && hi - lo >= len)
			return hi - len;
	}
	return (unsigned long)-ENOMEM;
}

static unsigned long calc_vm_flags(int prot, int flags)
{
	unsigned long vm_flags = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;

	if (prot & PROT_READ)
		vm_flags |= VM_READ;
	if (prot & PROT_WRITE)
		vm_flags |= VM_WRITE;
	if (prot & PROT_EXEC)
		vm_flags |= VM_EXEC;
	if ((flags & MAP_TYPE) == MAP_SHARED)
		vm_flags |= VM_SHARED | VM_MAYSHARE;
	return vm_flags;
}

long mmn_mmap(struct mm_struct *mm, unsigned long addr, unsigned long len,
	      int prot, int flags)
{
	int type = flags & MAP_TYPE;
	struct vm_area_struct *vma;
	struct file *file = NULL;
	unsigned long vm_flags;
	long ret;

	if (!len)
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (type != MAP_SHARED && type != MAP_PRIVATE)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS))
		return -EINVAL;		/* file mappings come later */
	len = PAGE_ALIGN(len);
	if (!len || len > TASK_SIZE)
		return -ENOMEM;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & ~PAGE_MASK)
			return -EINVAL;
		if (addr > TASK_SIZE - len || addr < MMAP_MIN_ADDR)
			return -ENOMEM;
	}
	vm_flags = calc_vm_flags(prot, flags);
	if (type == MAP_SHARED) {
		/* shmem_zero_setup() */
		file = shmem_file_setup(len);
		if (!file)
			return -ENOMEM;
	}
	vma = vm_area_alloc(mm);
	if (!vma) {
		ret = -ENOMEM;
		goto out_file;
	}

	mmap_write_lock(mm);
	if (flags & MAP_FIXED_NOREPLACE) {
		if (!range_is_free(mm, addr, addr + len)) {
			ret = -EEXIST;
			goto out_unlock;
		}
	} else if (flags & MAP_FIXED) {
		/* what was there is unmapped first */
		ret = do_munmap_locked(mm, addr, addr + len);
		if (ret)
			goto out_unlock;
	} else {
		addr = get_unmapped_area(mm, addr, len);
		if (IS_ERR_VALUE(addr)) {
			ret = (long)addr;
			goto out_unlock;
		}
	}
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	mmn_check_reset_range(mm, addr, addr + len);
	vma->vm_flags = vm_flags;
	vma->vm_page_prot = vm_get_page_prot(vm_flags);
	if (file) {
		vma->vm_file = file;
		vma->vm_pgoff = 0;
		vma->vm_ops = &shmem_vm_ops;
		i_mmap_lock_write(file->f_mapping);
		vma_interval_tree_insert(vma, file->f_mapping);
		i_mmap_unlock_write(file->f_mapping);
	} else {
		vma->vm_pgoff = addr >> PAGE_SHIFT;
	}
	ret = vma_link(mm, vma);
	if (ret) {
		if (file) {
			i_mmap_lock_write(file->f_mapping);
			vma_interval_tree_remove(vma, file->f_mapping);
			i_mmap_unlock_write(file->f_mapping);
		}
		goto out_unlock;
	}
	vma_merge_neighbours(vma);
	mmap_write_unlock(mm);
	return (long)addr;

out_unlock:
	mmap_write_unlock(mm);
	if (vma)
		vm_area_free(vma);
out_file:
	if (file)
		fput(file);
	return ret;
}

/* ---- exit ------------------------------------------------------------ */

void exit_mmap(struct mm_struct *mm)
{
	struct mmu_gather tlb;
	struct vm_area_struct **vmas;
	int i, n;

	/* before anything is unmapped or freed, secondaries let go */
	mmu_notifier_release(mm);

	mmap_read_lock(mm);
	tlb_gather_mmu_fullmm(&tlb, mm);
	if (mm->map_count)
		unmap_vmas(&tlb, mm->vmas, mm->map_count, 0, ULONG_MAX);
	mmap_read_unlock(mm);

	__atomic_fetch_or(&mm->flags, 1UL << MMF_OOM_SKIP, __ATOMIC_RELAXED);
	mmap_write_lock(mm);
	for (i = 0; i < mm->map_count; i++)
		unlink_vma_rmap(mm->vmas[i]);
	mmn_check_pgtables_going(mm);	/* lockless checker walks end */
	free_pgtables(&tlb, mm);
	tlb_finish_mmu(&tlb);
	vmas = mm->vmas;
	n = mm->map_count;
	mm->vmas = NULL;
	mm->map_count = mm->vmas_cap = 0;
	for (i = 0; i < n; i++)
		remove_vma(vmas[i]);
	free(vmas);
	mmap_write_unlock(mm);
}

/* ---- mm_take_all_locks ------------------------------------------------ */

static mmn_mutex_t mm_all_locks_mutex;

/* From mmn_mem_init()/mmn_mem_exit(): the rt objects live per run. */
void __mmn_mmap_init(void)
{
	mmn_mutex_init(&mm_all_locks_mutex, "mm_all_locks_mutex");
}

void __mmn_mmap_exit(void)
{
	mmn_mutex_destroy(&mm_all_locks_mutex);
}

int mm_take_all_locks(struct mm_struct *mm)
{
	int i;

	mmap_assert_write_locked(mm);
	mmn_mutex_lock(&mm_all_locks_mutex, __FILE__, __LINE__);
	for (i = 0; i < mm->map_count; i++) {
		struct vm_area_struct *vma = mm->vmas[i];
		struct address_space *mapping;

		if (!vma->vm_file)
			continue;
		mapping = vma->vm_file->f_mapping;
		if (!mapping->all_locks_taken) {
			mapping->all_locks_taken = true;
			down_write(&mapping->i_mmap_rwsem);
		}
	}
	for (i = 0; i < mm->map_count; i++) {
		struct anon_vma_chain *avc;

		if (!mm->vmas[i]->anon_vma)
			continue;
		list_for_each_entry(avc, &mm->vmas[i]->anon_vma_chain, same_vma) {
			struct anon_vma *root = avc->anon_vma->root;

			if (!root->all_locks_taken) {
				root->all_locks_taken = true;
				down_write(&root->rwsem);
			}
		}
	}
	return 0;
}

void mm_drop_all_locks(struct mm_struct *mm)
{
	int i;

	mmap_assert_write_locked(mm);
	for (i = 0; i < mm->map_count; i++) {
		struct anon_vma_chain *avc;

		if (!mm->vmas[i]->anon_vma)
			continue;
		list_for_each_entry(avc, &mm->vmas[i]->anon_vma_chain, same_vma) {
			struct anon_vma *root = avc->anon_vma->root;

			if (root->all_locks_taken) {
				root->all_locks_taken = false;
				up_write(&root->rwsem);
			}
		}
	}
	for (i = 0; i < mm->map_count; i++) {
		struct vm_area_struct *vma = mm->vmas[i];
		struct address_space *mapping;

		if (!vma->vm_file)
			continue;
		mapping = vma->vm_file->f_mapping;
		if (mapping->all_locks_taken) {
			mapping->all_locks_taken = false;
			up_write(&mapping->i_mmap_rwsem);
		}
	}
	mmn_mutex_unlock(&mm_all_locks_mutex);
}

/* ---- invariants -------------------------------------------------------- */

/*
 * The VMA set is sorted, non-overlapping, page aligned, within the user
 * address space; every VMA belongs to @mm; an anon_vma is on its chain;
 * a shared VMA has a file.  mmap_lock held.
 */
bool mm_vmas_valid(struct mm_struct *mm)
{
	unsigned long prev_end = 0;

	for (int i = 0; i < mm->map_count; i++) {
		struct vm_area_struct *vma = mm->vmas[i];

		if (vma->vm_mm != mm || vma->vm_start >= vma->vm_end)
			return false;
		if ((vma->vm_start | vma->vm_end) & ~PAGE_MASK)
			return false;
		if (vma->vm_start < prev_end || vma->vm_end > TASK_SIZE)
			return false;
		if (vma->anon_vma && list_empty(&vma->anon_vma_chain))
			return false;
		/* shared: a file (shmem for MAP_SHARED|MAP_ANONYMOUS), or a
		 * driver's PFN map (pfnmap.c: no file, the driver's ops) */
		if ((vma->vm_flags & VM_SHARED) && !vma->vm_file &&
		    !(vma->vm_flags & VM_PFNMAP))
			return false;
		prev_end = vma->vm_end;
	}
	return true;
}
