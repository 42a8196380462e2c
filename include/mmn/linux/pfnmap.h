/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PFN maps for driver code: a VM_PFNMAP area whose ptes the driver fills
 * from its fault handler with frames it owns or pinned elsewhere (XPMEM's
 * attachments, a device BAR), as Linux's remap_pfn_range()/vmf_insert_pfn()
 * and zap_vma_ptes() allow.
 *
 * The ptes are _PAGE_SPECIAL: the primary MMU takes no reference and keeps
 * no rmap for them; the driver keeps the frames alive (a pin) until it has
 * zapped the ptes.  The VMA is VM_SHARED | VM_PFNMAP | VM_IO | VM_DONTCOPY
 * | VM_DONTEXPAND: never merged, not inherited by fork.
 *
 * Alias: if @alias_mm is set, the checker treats an access at address a of
 * the area as an access to the location (alias_mm, alias_start + (a -
 * start)): the ghost of an XPMEM attachment is the exporter's memory.
 */
#ifndef MMN_LINUX_PFNMAP_H
#define MMN_LINUX_PFNMAP_H

#include <mmn/linux/mm.h>

#ifndef VM_FAULT_OOM
#define VM_FAULT_OOM		0x000001
#define VM_FAULT_SIGBUS		0x000002
#define VM_FAULT_NOPAGE		0x000100
#endif

struct mmn_pfnmap;

/* One fault in a PFN map. */
struct mmn_pfnmap_fault {
	struct vm_area_struct *vma;
	unsigned long address;		/* page aligned */
	bool write;
	struct mmn_pfnmap *pm;
};

struct mmn_pfnmap_ops {
	const char *name;
	/*
	 * fault: a CPU access missed in the area.
	 * Held: mmap_read_lock of the area's mm.  May sleep.
	 * Must: install the pte with vmf_insert_pfn() (or not, to retry) and
	 *   return VM_FAULT_NOPAGE, or VM_FAULT_SIGBUS / VM_FAULT_OOM.
	 */
	int (*fault)(struct mmn_pfnmap_fault *vmf);
	/*
	 * close: the area is being unmapped (munmap, exit), after its ptes
	 * were zapped and flushed.  Held: mmap_write_lock (munmap) or nothing
	 * of concurrency (exit).  May sleep.
	 */
	void (*close)(struct mmn_pfnmap *pm);
};

/* Owned by the driver; must outlive the area (until ->close). */
struct mmn_pfnmap {
	const struct mmn_pfnmap_ops *ops;
	void *private_data;
	struct mm_struct *alias_mm;	/* NULL: no alias */
	unsigned long alias_start;
	/* set by mmn_mmap_pfnmap() */
	struct vm_area_struct *vma;
	unsigned long start, end;
};

/*
 * Map a PFN area of @len bytes in @mm at @hint if that range is free (else
 * anywhere), with PROT_READ[|PROT_WRITE] @prot.  Takes mmap_write_lock.
 * Returns the address or -errno.  Partial munmap of the area unmaps it all.
 */
long mmn_mmap_pfnmap(struct mm_struct *mm, unsigned long hint,
		     unsigned long len, int prot, struct mmn_pfnmap *pm);

/*
 * vmf_insert_pfn(): from ->fault, install a special pte for @pfn at @addr
 * (writable if @write and the VMA allows it) unless one is present.
 * Returns VM_FAULT_NOPAGE, or VM_FAULT_OOM.
 */
int vmf_insert_pfn(struct vm_area_struct *vma, unsigned long addr,
		   unsigned long pfn, bool write);

/*
 * zap_vma_ptes(): remove the ptes of [address, address + size) of a
 * VM_PFNMAP VMA: a CLEAR invalidation of the VMA's mm (its own notifiers
 * run, nested in whatever the caller is in), the ptes cleared, the TLB
 * flushed.  The caller keeps the VMA alive (XPMEM: its invalidate mutex
 * excludes ->close).  May sleep.
 */
void zap_vma_ptes(struct vm_area_struct *vma, unsigned long address,
		  unsigned long size);

#endif
