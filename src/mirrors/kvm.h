/* SPDX-License-Identifier: GPL-2.0 */
/* kvm: KVM's shadow-MMU notifier protocol (see kvm.c). */
#ifndef MMN_MIRRORS_KVM_H
#define MMN_MIRRORS_KVM_H

#include <mmn/device.h>

extern const struct mmn_driver mmn_driver_kvm;

void kvm_hold_worker(struct mmn_device *dev, bool hold);
/* Tests only: a function called in the fault path between GUP and taking
 * mmu_lock (NULL: none, the default). */
void kvm_set_test_hook(struct mmn_device *dev, void (*fn)(void *), void *arg);
void kvm_invalidate_state(struct mmn_device *dev, unsigned long *seq,
			  long *in_progress);
/* Tests only: the spte that translates @va (4 KiB or 2 MiB); -ENOENT. */
int kvm_spte_lookup(struct mmn_device *dev, unsigned long va,
		    struct mmn_spte *spte);

#endif
