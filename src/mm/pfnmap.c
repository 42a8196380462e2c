// SPDX-License-Identifier: GPL-2.0
/*
 * PFN maps (<mmn/linux/pfnmap.h>): mmap of a driver's VM_PFNMAP area,
 * vmf_insert_pfn() from its fault handler, zap_vma_ptes().
 *
 * Linux: the driver's ->mmap sets VM_PFNMAP | VM_IO | VM_DONTEXPAND |
 * VM_DONTDUMP and a vm_ops whose ->fault calls vmf_insert_pfn()
 * (mm/memory.c insert_pfn: under the PTL, a special pte if none is
 * present) and returns VM_FAULT_NOPAGE; zap_vma_ptes() is
 * zap_page_range_single() restricted to VM_PFNMAP VMAs.
 *
 * The ptes carry _PAGE_SPECIAL, so vm_normal_page() returns NULL for them:
 * zap, fork and GUP never touch the frames' counts or rmap.  Whoever
 * inserted the pfn keeps the frame alive.
 *
 * For the checker, an area may alias another mm's memory (an XPMEM
 * attachment): mmn_check_alias_add() makes CPU accesses through it count
 * as accesses to the exporter's locations (check.c page_location()).
 */
#include <sys/mman.h>

#include <mmn/linux/pfnmap.h>

#include "check/check.h"
#include "mm/internal.h"

static int pfnmap_vm_fault(struct vm_fault *vmf)
{
	struct mmn_pfnmap *pm = vmf->vma->vm_private_data;
	struct mmn_pfnmap_fault f = {
		.vma = vmf->vma,
		.address = vmf->address,
		.write = vmf->flags & FAULT_FLAG_WRITE,
		.pm = pm,
	};

	if (!pm->ops->fault)
		return VM_FAULT_SIGBUS;
	return pm->ops->fault(&f);
}

static void pfnmap_vm_close(struct vm_area_struct *vma)
{
	struct mmn_pfnmap *pm = vma->vm_private_data;

	if (pm->vma != vma)
		return;		/* a piece split off: the area closes once */
	/* the driver's close first: it still sees pm->vma (XPMEM excludes
	 * its zaps under its own mutex there) */
	if (pm->ops->close)
		pm->ops->close(pm);
	mmn_check_alias_del(vma->vm_mm, pm->start);
	pm->vma = NULL;
}

static const struct vm_operations_struct pfnmap_vm_ops = {
	.name = "pfnmap",
	.fault = pfnmap_vm_fault,
	.close = pfnmap_vm_close,
};

static bool pfnmap_range_free(struct mm_struct *mm, unsigned long addr,
			      unsigned long end)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return !vma || vma->vm_start >= end;
}

/* The highest gap below mmap_base that fits @len (get_unmapped_area). */
static unsigned long pfnmap_unmapped_area(struct mm_struct *mm,
					  unsigned long hint, unsigned long len)
{
	if (hint && !(hint & ~PAGE_MASK) && hint >= MMAP_MIN_ADDR &&
	    hint <= TASK_SIZE - len && pfnmap_range_free(mm, hint, hint + len))
		return hint;
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

long mmn_mmap_pfnmap(struct mm_struct *mm, unsigned long hint,
		     unsigned long len, int prot, struct mmn_pfnmap *pm)
{
	struct vm_area_struct *vma;
	unsigned long addr, vm_flags;
	long ret;

	len = PAGE_ALIGN(len);
	if (!len || len > TASK_SIZE || (prot & ~(PROT_READ | PROT_WRITE)) ||
	    !pm || !pm->ops)
		return -EINVAL;
	vm_flags = VM_SHARED | VM_MAYSHARE | VM_PFNMAP | VM_IO | VM_DONTCOPY |
		   VM_DONTEXPAND | VM_MAYREAD | VM_MAYWRITE;
	if (prot & PROT_READ)
		vm_flags |= VM_READ;
	if (prot & PROT_WRITE)
		vm_flags |= VM_WRITE;
	vma = vm_area_alloc(mm);
	if (!vma)
		return -ENOMEM;

	mmap_write_lock(mm);
	addr = pfnmap_unmapped_area(mm, hint, len);
	if (IS_ERR_VALUE(addr)) {
		ret = (long)addr;
		goto out_free;
	}
	vma->vm_start = addr;
	vma->vm_end = addr + len;
	vma->vm_flags = vm_flags;
	vma->vm_page_prot = vm_get_page_prot(vm_flags);
	vma->vm_pgoff = addr >> PAGE_SHIFT;
	vma->vm_ops = &pfnmap_vm_ops;
	vma->vm_private_data = pm;
	ret = vma_link(mm, vma);
	if (ret)
		goto out_free;
	pm->vma = vma;
	pm->start = addr;
	pm->end = addr + len;
	if (pm->alias_mm)
		mmn_check_alias_add(mm, addr, addr + len, pm->alias_mm,
				    pm->alias_start);
	mmap_write_unlock(mm);
	return (long)addr;

out_free:
	mmap_write_unlock(mm);
	vm_area_free(vma);
	return ret;
}

int vmf_insert_pfn(struct vm_area_struct *vma, unsigned long addr,
		   unsigned long pfn, bool write)
{
	struct mm_struct *mm = vma->vm_mm;
	uint64_t prot = _PAGE_PRESENT | _PAGE_USER | _PAGE_SPECIAL;
	spinlock_t *ptl;
	pmd_t *pmd;
	pte_t *pte;

	mmap_assert_locked(mm);
	if (WARN_ON(!(vma->vm_flags & VM_PFNMAP)) ||
	    WARN_ON(addr < vma->vm_start || addr >= vma->vm_end))
		return VM_FAULT_SIGBUS;
	if (write && (vma->vm_flags & VM_WRITE))
		prot |= _PAGE_RW | _PAGE_DIRTY;
	pmd = mm_alloc_pmd(mm, addr);
	if (!pmd)
		return VM_FAULT_OOM;
	pte = pte_alloc_map_lock(mm, pmd, addr & PAGE_MASK, &ptl);
	if (!pte)
		return VM_FAULT_OOM;
	/* insert_pfn(): a racing fault may have installed one already */
	if (pte_none(ptep_get(pte)))
		set_pte_at(mm, addr & PAGE_MASK, pte, pfn_pte(pfn, prot | _PAGE_ACCESSED));
	pte_unmap_unlock(pte, ptl);
	return VM_FAULT_NOPAGE;
}

void zap_vma_ptes(struct vm_area_struct *vma, unsigned long address,
		  unsigned long size)
{
	if (!vma || !(vma->vm_flags & VM_PFNMAP) || address < vma->vm_start ||
	    address + size > vma->vm_end || address + size <= address)
		return;
	zap_page_range_single(vma, address, size);
}
