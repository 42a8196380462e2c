/* SPDX-License-Identifier: GPL-2.0 */
/* dmirror: the HMM mirror device of lib/test_hmm.c (see dmirror.c). */
#ifndef MMN_MIRRORS_DMIRROR_H
#define MMN_MIRRORS_DMIRROR_H

#include <stdint.h>

#include <mmn/device.h>

/* The ioctl commands of lib/test_hmm_uapi.h that the lab models. */
#define HMM_DMIRROR_READ	0x00
#define HMM_DMIRROR_WRITE	0x01

/* struct hmm_dmirror_cmd, with a 64-bit word buffer. */
struct hmm_dmirror_cmd {
	unsigned long addr;	/* page aligned */
	uint64_t *ptr;		/* npages * 512 words */
	unsigned long npages;
	unsigned long cpages;	/* out: pages accessed */
	unsigned long faults;	/* out: fault rounds */
};

extern const struct mmn_driver mmn_driver_dmirror;

int dmirror_cmd(struct mmn_device *dev, unsigned int cmd_nr,
		struct hmm_dmirror_cmd *cmd);
void dmirror_hold_worker(struct mmn_device *dev, bool hold);
void dmirror_flush_deferred(struct mmn_device *dev);
/* Tests only: a function called in the fault path between hmm_range_fault()
 * and taking the driver mutex (NULL: none, the default). */
void dmirror_set_test_hook(struct mmn_device *dev, void (*fn)(void *),
			   void *arg);

#endif
