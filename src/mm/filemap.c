// SPDX-License-Identifier: GPL-2.0
/*
 * Regular files: a page cache with an i_size (mm/filemap.c filemap_fault(),
 * filemap_read()/generic_perform_write() reduced to one word; mm/mmap.c's
 * file part of do_mmap()).
 *
 * A file is the shmem object of shmem.c with an i_size of its own: the
 * same struct file (f_count: the user's handle + one per VMA) and
 * address_space (pages by index in i_pages, each holding one reference
 * for its slot; i_mmap, the VMAs mapping it; i_pages_lock; and
 * invalidate_lock).  MAP_SHARED|MAP_ANONYMOUS memory is the special case
 * of a file nobody can name, whose size never changes.  Page ->mapping
 * and ->index make a file page's location (mapping, index) for the
 * checker, shared by every mapping and by read/write.
 *
 * i_size and i_pages change under i_pages_lock; the array grows (never
 * shrinks) with the size.  Locks, Linux's order: mmap_lock ->
 * invalidate_lock -> page lock -> i_mmap_rwsem -> PTL, i_pages_lock
 * innermost.
 *
 * filemap_fault(), mmap_lock (read) held:
 *   look the page up (a reference); if absent, under invalidate_lock
 *   (read: truncate and hole punch hold it for write, so no page appears
 *   in a range being removed) allocate a zeroed one and insert it;
 *   beyond i_size: VM_FAULT_SIGBUS;
 *   lock the page; truncated meanwhile (->mapping changed): retry;
 *   return it locked (VM_FAULT_LOCKED): memory.c maps it under the PTL and
 *   unlocks it, so truncate, which locks every page it removes, cannot
 *   remove it between the lookup and the pte.
 * No notifier: faults only add mappings.
 */
#include <stdlib.h>
#include <string.h>

#include "check/check.h"
#include "mm/internal.h"

static unsigned long size_pages(const struct address_space *mapping)
{
	return PAGE_ALIGN(i_size_read(mapping)) >> PAGE_SHIFT;
}

/* Make room for @nr pages in i_pages (any lock but i_pages_lock held). */
int filemap_grow(struct address_space *mapping, unsigned long nr)
{
	struct page **n, **old;

	if (nr <= READ_ONCE(mapping->nr_slots))
		return 0;
	n = calloc(nr, sizeof(*n));
	if (!n)
		return -ENOMEM;
	spin_lock(&mapping->i_pages_lock);
	if (nr <= mapping->nr_slots) {
		spin_unlock(&mapping->i_pages_lock);
		free(n);
		return 0;
	}
	memcpy(n, mapping->i_pages, mapping->nr_slots * sizeof(*n));
	old = mapping->i_pages;
	mapping->i_pages = n;
	mapping->nr_slots = nr;
	spin_unlock(&mapping->i_pages_lock);
	free(old);
	return 0;
}

/*
 * The page at @index, referenced; *@pagep NULL for a hole unless @create
 * (then a zeroed page is inserted: call with invalidate_lock held for
 * read).  -EFAULT at or beyond i_size, -ENOMEM.
 */
static int filemap_get_page(struct address_space *mapping, unsigned long index,
			    bool create, struct page **pagep)
{
	struct page *page, *new;

	*pagep = NULL;
	spin_lock(&mapping->i_pages_lock);
	if (index >= size_pages(mapping)) {
		spin_unlock(&mapping->i_pages_lock);
		return -EFAULT;
	}
	page = mapping->i_pages[index];
	if (page)
		get_page(page);
	spin_unlock(&mapping->i_pages_lock);
	if (page || !create) {
		*pagep = page;
		return 0;
	}

	new = alloc_zeroed_page();
	if (!new)
		return -ENOMEM;
	SetPageFlag(new, PG_uptodate);
	WRITE_ONCE(new->mapping, (void *)mapping);
	WRITE_ONCE(new->index, index);
	spin_lock(&mapping->i_pages_lock);
	if (index >= size_pages(mapping)) {
		spin_unlock(&mapping->i_pages_lock);
		WRITE_ONCE(new->mapping, NULL);
		put_page(new);
		return -EFAULT;
	}
	page = mapping->i_pages[index];
	if (!page) {
		/* the allocation's reference becomes the slot's */
		mapping->i_pages[index] = new;
		mapping->nrpages++;
		__mmn_stat_add(MMN_STAT_FILE, 1);
		page = new;
		new = NULL;
	}
	get_page(page);
	spin_unlock(&mapping->i_pages_lock);
	if (new) {
		WRITE_ONCE(new->mapping, NULL);
		put_page(new);
	}
	*pagep = page;
	return 0;
}

/* The page at @index, locked and referenced and still in the file. */
static int filemap_lock_page(struct address_space *mapping, unsigned long index,
			     bool create, struct page **pagep)
{
	struct page *page;
	int err;

	for (;;) {
		err = filemap_get_page(mapping, index, false, &page);
		if (!err && !page && create) {
			down_read(&mapping->invalidate_lock);
			err = filemap_get_page(mapping, index, true, &page);
			up_read(&mapping->invalidate_lock);
		}
		if (err || !page) {
			*pagep = NULL;
			return err;
		}
		lock_page(page);
		if (READ_ONCE(page->mapping) == mapping &&
		    index < size_pages(mapping)) {
			*pagep = page;
			return 0;
		}
		/* truncated or punched out meanwhile */
		err = READ_ONCE(page->mapping) == mapping ? -EFAULT : 0;
		unlock_page(page);
		put_page(page);
		if (err)
			return err;
	}
}

static int filemap_fault(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct page *page;
	int err = filemap_lock_page(mapping, vmf->pgoff, true, &page);

	if (err == -ENOMEM)
		return VM_FAULT_OOM;
	if (err || !page)
		return VM_FAULT_SIGBUS;
	vmf->page = page;
	return VM_FAULT_LOCKED;
}

const struct vm_operations_struct file_vm_ops = {
	.name = "file",
	.fault = filemap_fault,
};

/* ---- the lab's file API ------------------------------------------------- */

struct file *mmn_file_create(unsigned long size, int *err)
{
	struct file *file;

	if (size & 7) {
		*err = -EINVAL;
		return NULL;
	}
	file = shmem_file_setup(PAGE_ALIGN(size));
	if (!file) {
		*err = -ENOMEM;
		return NULL;
	}
	file->f_mapping->shmem = false;
	i_size_write(file->f_mapping, size);
	*err = 0;
	return file;
}

void mmn_file_close(struct file *file)
{
	fput(file);
}

unsigned long mmn_file_size(struct file *file)
{
	return i_size_read(file->f_mapping);
}

static int file_rw(struct file *file, unsigned long pos, uint64_t *val,
		   bool write)
{
	struct address_space *mapping = file->f_mapping;
	struct page *page;
	uint64_t *word;
	int err;

	if (pos & 7)
		return -EINVAL;
	if (pos >= i_size_read(mapping))
		return -ENXIO;
	err = filemap_lock_page(mapping, pos >> PAGE_SHIFT, write, &page);
	if (err == -EFAULT)
		return -ENXIO;
	if (err)
		return err;
	if (!page) {
		/* a hole reads as zeros without allocating */
		*val = 0;
		return 0;
	}
	word = __mmn_page_data(page) + ((pos & ~PAGE_MASK) >> 3);
	/* copy_to/from_user of one word, atomic with the checker's ghost of
	 * the file location; the page lock keeps truncate out */
	mmn_check_cpu_access(NULL, pos, page, word, write, val);
	if (write)
		SetPageDirty(page);
	unlock_page(page);
	put_page(page);
	return 0;
}

int mmn_file_read(struct file *file, unsigned long pos, uint64_t *val)
{
	return file_rw(file, pos, val, false);
}

int mmn_file_write(struct file *file, unsigned long pos, uint64_t val)
{
	return file_rw(file, pos, &val, true);
}

/* ---- mmap of a file ------------------------------------------------------ */

long mmn_mmap_file(struct mm_struct *mm, unsigned long addr, unsigned long len,
		   int prot, int flags, struct file *file, unsigned long pgoff)
{
	struct vm_area_struct *vma;
	unsigned long vm_flags;
	long ret;

	if (!len || !file)
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	/* private file mappings (do_cow_fault) are not modelled */
	if ((flags & MAP_TYPE) != MAP_SHARED || (flags & MAP_ANONYMOUS))
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (!len || len > TASK_SIZE || pgoff + (len >> PAGE_SHIFT) < pgoff)
		return -ENOMEM;
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (addr & ~PAGE_MASK)
			return -EINVAL;
		if (addr > TASK_SIZE - len || addr < MMAP_MIN_ADDR)
			return -ENOMEM;
	}
	vm_flags = VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_SHARED | VM_MAYSHARE;
	if (prot & PROT_READ)
		vm_flags |= VM_READ;
	if (prot & PROT_WRITE)
		vm_flags |= VM_WRITE;
	if (prot & PROT_EXEC)
		vm_flags |= VM_EXEC;
	vma = vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;

	mmap_write_lock(mm);
	if (flags & MAP_FIXED_NOREPLACE) {
		struct vm_area_struct *next = find_vma(mm, addr);

		if (next && next->vm_start < addr + len) {
			ret = -EEXIST;
			goto out_unlock;
		}
	} else if (flags & MAP_FIXED) {
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
	vma->vm_flags = vm_flags;
	vma->vm_page_prot = vm_get_page_prot(vm_flags);
	vma->vm_pgoff = pgoff;
	vma->vm_file = file;
	vma->vm_ops = &file_vm_ops;
	get_file(file);
	i_mmap_lock_write(file->f_mapping);
	vma_interval_tree_insert(vma, file->f_mapping);
	i_mmap_unlock_write(file->f_mapping);
	ret = vma_link(mm, vma);
	if (ret) {
		i_mmap_lock_write(file->f_mapping);
		vma_interval_tree_remove(vma, file->f_mapping);
		i_mmap_unlock_write(file->f_mapping);
		mmap_write_unlock(mm);
		fput(file);
		vm_area_free(vma);
		return ret;
	}
	vma_merge_neighbours(vma);
	mmap_write_unlock(mm);
	return (long)addr;

out_unlock:
	mmap_write_unlock(mm);
	vm_area_free(vma);
	return ret;
}
