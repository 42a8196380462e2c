/* SPDX-License-Identifier: GPL-2.0 */
/* xpmem: cross-process memory attachments (see xpmem.c). */
#ifndef MMN_MIRRORS_XPMEM_H
#define MMN_MIRRORS_XPMEM_H

#include <mmn/device.h>

extern const struct mmn_driver mmn_driver_xpmem;

/*
 * The XPMEM API, for a device whose dev->mm is the exporting (source)
 * process.  Ids are > 0; errors are -errno.
 *   xpmem_make    export [vaddr, vaddr + size) of the source: a segment
 *   xpmem_get     permission to attach a segment: an access permit (apid)
 *   xpmem_attach  map [offset, offset + size) of the segment into @mm as a
 *                 PFN map (at @hint if free); returns the address
 *   xpmem_detach  unmap the attachment of @mm at @at_vaddr
 *   xpmem_remove  unexport: detach every attachment, drop the segment
 * The attacher must not be the source itself.
 */
long xpmem_make(struct mmn_device *dev, unsigned long vaddr, unsigned long size);
long xpmem_get(struct mmn_device *dev, long segid);
long xpmem_attach(struct mmn_device *dev, struct mm_struct *mm, long apid,
		  unsigned long offset, unsigned long size, unsigned long hint);
int xpmem_detach(struct mmn_device *dev, struct mm_struct *mm,
		 unsigned long at_vaddr);
int xpmem_remove(struct mmn_device *dev, long segid);

/* The process the device's own accesses (ops->dma) come from: it attaches
 * a 2 MiB window of the source at the same address on the first fault. */
struct mm_struct *xpmem_attacher(struct mmn_device *dev);

/* The deferred form's worker: hold it back / let it catch up. */
void xpmem_hold_worker(struct mmn_device *dev, bool hold);
void xpmem_flush_deferred(struct mmn_device *dev);

/* Source pages pinned by attachments, for tests. */
unsigned long xpmem_pinned(struct mmn_device *dev);

#endif
