/* SPDX-License-Identifier: GPL-2.0 */
/* sva: an IOMMU SVA device with an IOTLB over the CPU page table (see sva.c). */
#ifndef MMN_MIRRORS_SVA_H
#define MMN_MIRRORS_SVA_H

#include <mmn/device.h>

#define SVA_IOTLB_ENTRIES	16

extern const struct mmn_driver mmn_driver_sva;

/* Introspection for tests: IOTLB entries in use, flushes received. */
unsigned int sva_iotlb_used(struct mmn_device *dev);
unsigned long sva_flushes(struct mmn_device *dev);

#endif
