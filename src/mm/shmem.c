// SPDX-License-Identifier: GPL-2.0
/*
 * The shmem object behind MAP_SHARED|MAP_ANONYMOUS (mm/shmem.c
 * shmem_zero_setup(), shmem_get_folio(), shmem_fault(); fs/file_table.c
 * get_file()/fput()).
 *
 * Each shared anonymous mmap() creates one struct file and one
 * address_space.  The file is referenced by every VMA mapping it (split and
 * fork take references); the address_space by the file.  Pages live in
 * i_pages by index, each holding one reference for its page-cache slot
 * (plus one per pte mapping it, taken by the fault).  i_mmap lists the VMAs
 * (all of them, in every forked mm) under i_mmap_rwsem (era 2.6.33: and
 * the i_mmap_lock spinlock inside it, see below); i_pages under
 * i_pages_lock (the xa_lock).  When the last VMA goes, the file and the
 * mapping go, and with them the page-cache references (truncate).
 *
 * Fault: shmem_fault() finds the page at the VMA's offset or allocates a
 * zeroed one and inserts it (with a recheck, since the allocation happens
 * outside i_pages_lock), and returns it referenced; finish_fault() in
 * memory.c maps it.  No fault-around (Linux maps neighbouring cached pages
 * on a read fault); no swap of shmem pages yet.
 */
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "mm/internal.h"

static int mapping_next_id;

void __mmn_shmem_ids_reset(void)
{
	__atomic_store_n(&mapping_next_id, 0, __ATOMIC_RELAXED);
}

struct file *shmem_file_setup(unsigned long size)
{
	struct address_space *mapping = calloc(1, sizeof(*mapping));
	struct file *file = calloc(1, sizeof(*file));
	unsigned long slots = size >> PAGE_SHIFT;

	if (!mapping || !file)
		goto fail;
	mapping->i_pages = calloc(slots ? slots : 1, sizeof(struct page *));
	if (!mapping->i_pages)
		goto fail;
	mapping->nr_slots = slots;
	mapping->i_size = size;
	mapping->shmem = true;
	mapping->refcount = 1;
	mmn_rwsem_init(&mapping->i_mmap_rwsem.s, "i_mmap_rwsem");
	mmn_spin_lock_init(&mapping->i_mmap_lock.rlock, "&mapping->i_mmap_lock");
	mapping->truncate_count = 1;	/* never page aligned */
	mmn_rwsem_init(&mapping->invalidate_lock.s, "invalidate_lock");
	mmn_spin_lock_init(&mapping->i_pages_lock.rlock, "i_pages_lock");
	INIT_LIST_HEAD(&mapping->i_mmap);
	mapping->id = __atomic_add_fetch(&mapping_next_id, 1, __ATOMIC_RELAXED);
	file->f_mapping = mapping;
	file->f_count = 1;
	__mmn_stat_add(MMN_STAT_MAPPINGS, 1);
	return file;
fail:
	if (mapping)
		free(mapping->i_pages);
	free(mapping);
	free(file);
	return NULL;
}

/* truncate_inode_pages() + destroy: nothing maps the object any more. */
static void shmem_evict(struct address_space *mapping)
{
	for (unsigned long i = 0; i < mapping->nr_slots; i++) {
		struct page *page = mapping->i_pages[i];

		if (!page)
			continue;
		mapping->i_pages[i] = NULL;
		VM_WARN_ON(page_mapcount(page));
		WRITE_ONCE(page->mapping, NULL);
		__mmn_stat_add(MMN_STAT_FILE, -1);
		put_page(page);
	}
	VM_WARN_ON(!list_empty(&mapping->i_mmap));
	__mmn_check_mapping_gone(mapping);
	mmn_rwsem_destroy(&mapping->i_mmap_rwsem.s);
	mmn_spin_lock_destroy(&mapping->i_mmap_lock.rlock);
	mmn_rwsem_destroy(&mapping->invalidate_lock.s);
	mmn_spin_lock_destroy(&mapping->i_pages_lock.rlock);
	free(mapping->i_pages);
	free(mapping);
	__mmn_stat_add(MMN_STAT_MAPPINGS, -1);
}

void get_file(struct file *file)
{
	__atomic_fetch_add(&file->f_count, 1, __ATOMIC_RELAXED);
}

void fput(struct file *file)
{
	struct address_space *mapping = file->f_mapping;

	if (__atomic_sub_fetch(&file->f_count, 1, __ATOMIC_ACQ_REL))
		return;
	free(file);
	if (!__atomic_sub_fetch(&mapping->refcount, 1, __ATOMIC_ACQ_REL))
		shmem_evict(mapping);
}

int shmem_get_page(struct address_space *mapping, unsigned long index,
		   struct page **pagep)
{
	struct page *page, *new;

	if (index >= mapping->nr_slots)
		return -EFAULT;		/* beyond i_size: SIGBUS */
	spin_lock(&mapping->i_pages_lock);
	page = mapping->i_pages[index];
	if (page)
		get_page(page);
	spin_unlock(&mapping->i_pages_lock);
	if (page)
		goto found;

	new = alloc_zeroed_page();
	if (!new)
		return -ENOMEM;
	SetPageFlag(new, PG_uptodate);
	WRITE_ONCE(new->mapping, (void *)mapping);
	WRITE_ONCE(new->index, index);
	spin_lock(&mapping->i_pages_lock);
	page = mapping->i_pages[index];
	if (!page) {
		/* the slot's reference is the allocation's; one more for us */
		mapping->i_pages[index] = new;
		mapping->nrpages++;
		page = new;
		new = NULL;
		__mmn_stat_add(MMN_STAT_FILE, 1);
	}
	get_page(page);
	spin_unlock(&mapping->i_pages_lock);
	if (new) {
		WRITE_ONCE(new->mapping, NULL);
		put_page(new);		/* lost the race */
	}
found:
	*pagep = page;
	return 0;
}

static int shmem_fault(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	int err = shmem_get_page(mapping, vmf->pgoff, &vmf->page);

	if (err == -ENOMEM)
		return VM_FAULT_OOM;
	if (err)
		return VM_FAULT_SIGBUS;
	return 0;
}

const struct vm_operations_struct shmem_vm_ops = {
	.name = "shmem",
	.fault = shmem_fault,
};

/* ---- i_mmap ----------------------------------------------------------- */

/*
 * The lock of the VMAs of a file.
 *
 *   6.12, 6.1  i_mmap_rwsem (3.19+): readers (rmap walks, truncate) may
 *              sleep inside, e.g. in a blockable range_start.
 *   2.6.33     address_space.i_mmap_lock was a spinlock: every section,
 *              read or write, is atomic.  The lab keeps i_mmap_rwsem as the
 *              outer lock (mm_take_all_locks() takes it directly) and takes
 *              mapping->i_mmap_lock inside it, readers and writers alike,
 *              so nothing may sleep between lock and unlock: not the
 *              rmap_one of an rmap walk (rmap.c), not the range_start that
 *              unmap_mapping_range() calls per VMA (truncate.c).  Lock
 *              order: i_mmap_rwsem -> i_mmap_lock -> PTL.
 */
static inline bool i_mmap_is_spinlock(void)
{
	return mmn_era == MMN_ERA_2_6_33;
}

void i_mmap_lock_write(struct address_space *mapping)
{
	down_write(&mapping->i_mmap_rwsem);
	if (i_mmap_is_spinlock())
		spin_lock(&mapping->i_mmap_lock);
}

void i_mmap_unlock_write(struct address_space *mapping)
{
	if (i_mmap_is_spinlock())
		spin_unlock(&mapping->i_mmap_lock);
	up_write(&mapping->i_mmap_rwsem);
}

void i_mmap_lock_read(struct address_space *mapping)
{
	down_read(&mapping->i_mmap_rwsem);
	if (i_mmap_is_spinlock())
		spin_lock(&mapping->i_mmap_lock);
}

void i_mmap_unlock_read(struct address_space *mapping)
{
	if (i_mmap_is_spinlock())
		spin_unlock(&mapping->i_mmap_lock);
	up_read(&mapping->i_mmap_rwsem);
}

/* i_mmap_rwsem held for write by the caller. */
void vma_interval_tree_insert(struct vm_area_struct *vma, struct address_space *mapping)
{
	list_add_tail(&vma->shared, &mapping->i_mmap);
}

void vma_interval_tree_remove(struct vm_area_struct *vma, struct address_space *mapping)
{
	list_del_init(&vma->shared);
}
