/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Declaring a device: the one mmnlab header a secondary-MMU driver needs
 * beside the kernel-shaped <mmn/linux/...>.
 *
 * A driver owns a translation structure (a device page table, a shadow page
 * table, a TLB ...).  Each entry that lets the device reach memory is, for
 * the lab, a struct mmn_spte: the frame it points at, whether it allows
 * writes, and when it was made.  The driver stores mmn_sptes where the real
 * driver stores a pfn or a struct page *, makes them with mmn_spte_make()
 * where the real driver programs its page table, and performs DMA with
 * mmn_dev_read()/mmn_dev_write() where the real hardware would access
 * memory through the entry.  The frame touched is the one the *device's*
 * entry says, not the one the primary page table says: that difference is
 * the whole point, and the checker watches it.
 *
 * A device agent is a task that issues DMA reads and writes of 64-bit
 * words at virtual addresses of the mirrored mm: it calls ops->dma(); on
 * -ENOENT (miss) or -EPERM (write through a read-only entry) it calls
 * ops->fault() and retries.
 */
#ifndef MMN_DEVICE_H
#define MMN_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include <mmn/linux/mm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when this header's structures or the driver-facing API change. */
#define MMN_DEVICE_ABI_VERSION	1

struct mmn_device;

/* A secondary translation as the lab sees it.  Plain data: copy it freely. */
struct mmn_spte {
	unsigned long va;	/* first address it translates (aligned to its size) */
	unsigned long pfn;	/* first frame */
	uint32_t gen;		/* the frame's generation when made */
	uint8_t order;		/* 0: 4 KiB, 9: 2 MiB */
	bool writable;
	bool stale_at_birth;	/* the primary did not map pfn (so) when made */
	uint64_t born;		/* checker clock when made */
};

struct mmn_device_ops {
	const char *name;	/* "dmirror", "kvm" ... */
	/*
	 * dma: one device access of the 64-bit word at @va.
	 * When: from a device agent task.  Held: nothing.  May sleep
	 *   (hardware does not, but a driver's software TLB lookup may take
	 *   its own locks as the real driver's command path does).
	 * Must: translate @va through the driver's own structure and access
	 *   memory only with mmn_dev_read()/mmn_dev_write().
	 * Returns 0, -ENOENT on a miss, -EPERM for a write through a read-only
	 *   entry, another -errno for a fatal device error.
	 */
	int (*dma)(struct mmn_device *dev, unsigned long va, bool write,
		   uint64_t *val);
	/*
	 * fault: make @va translatable (for writing if @write).
	 * When: from the device agent after dma() missed.  Held: nothing.
	 *   May sleep.
	 * Returns 0 (retry the access), or -EFAULT/-EPERM where the real
	 *   driver fails the command (no VMA, no permission).
	 */
	int (*fault)(struct mmn_device *dev, unsigned long va, bool write);
	/* Set up / tear down the driver state for dev->mm (register notifiers).
	 * May sleep. */
	int (*bind)(struct mmn_device *dev);
	void (*unbind)(struct mmn_device *dev);
};

struct mmn_device {
	const struct mmn_device_ops *ops;
	struct mm_struct *mm;	/* the address space it mirrors (mmgrab'ed) */
	const char *form;	/* "correct", or a named broken form */
	int id;			/* dev#N in reports */
	char name[32];
	void *priv;		/* the driver's */
	/* counters, as test_hmm reports them */
	unsigned long faults, accesses;
	/* checker state, private */
	void *check;
};

/* Create a device of @ops over @mm in @form and bind it. */
struct mmn_device *mmn_device_create(const struct mmn_device_ops *ops,
				     struct mm_struct *mm, const char *form,
				     int *err);
void mmn_device_destroy(struct mmn_device *dev);

/*
 * Tell the checker that @subscription (a struct mmu_notifier * or
 * struct mmu_interval_notifier *) belongs to @dev: the return of its
 * invalidation callbacks are @dev's contract points.
 */
void mmn_device_track(struct mmn_device *dev, const void *subscription);
void mmn_device_untrack(struct mmn_device *dev, const void *subscription);

/* Make a translation of @va to @page (the page is the one mapped at @va
 * when the driver looked it up).  For a 2 MiB entry pass the head page,
 * an aligned @va and order 9. */
void mmn_spte_make(struct mmn_device *dev, struct mmn_spte *s,
		   unsigned long va, struct page *page, bool writable,
		   unsigned int order);

/* Demote the 2 MiB translation @huge into 1 << @huge->order 4 KiB ones
 * over the same frames (@sub: that many entries), as a driver splitting a
 * huge entry in place does: each keeps @huge's birth and permissions. */
void mmn_spte_split(struct mmn_device *dev, const struct mmn_spte *huge,
		    struct mmn_spte *sub);

/* DMA through @s.  @va must lie inside @s.  Returns 0, or -EPERM for a
 * write through a read-only @s (no access happens). */
int mmn_dev_read(struct mmn_device *dev, const struct mmn_spte *s,
		 unsigned long va, uint64_t *val);
int mmn_dev_write(struct mmn_device *dev, const struct mmn_spte *s,
		  unsigned long va, uint64_t val);

/* One access by a device agent: dma(), fault on a miss, retry (at most
 * @max_faults times, then a livelock violation).  Returns 0 or -errno. */
int mmn_device_access(struct mmn_device *dev, unsigned long va, bool write,
		      uint64_t *val);

/*
 * A driver, as the CLI, scenarios and plugins name it.  A plugin exports
 * one `const struct mmn_driver mmn_plugin_driver` with abi_version set to
 * MMN_DEVICE_ABI_VERSION.  The device's form is passed to bind() through
 * dev->form; forms[0] is the correct form.
 */
struct mmn_driver {
	unsigned int abi_version;
	const char *name;
	const char *summary;
	const char *const *forms;	/* NULL-terminated; forms[0] = "correct" */
	const char *const *form_docs;	/* one line each, same order */
	const struct mmn_device_ops *ops;
};

/* Built-in drivers, NULL-terminated. */
extern const struct mmn_driver *const mmn_builtin_drivers[];

#define MMN_MAX_PLUGIN_DRIVERS	8

/*
 * Make a plugin's driver (mmn_plugin_load()) one of the lab's drivers:
 * found by name, listed, and part of every `mirror M *` expansion after
 * the built-in ones.  Returns 0 (also if @drv is already registered),
 * -EEXIST if another driver has its name, -ENOSPC past
 * MMN_MAX_PLUGIN_DRIVERS.  Call before any run starts.
 */
int mmn_driver_register(const struct mmn_driver *drv);
/* The @i-th driver, built-in ones first, then registered ones; NULL past
 * the end. */
const struct mmn_driver *mmn_driver_nth(int i);
bool mmn_driver_is_builtin(const struct mmn_driver *drv);
/* A built-in or registered driver by name, or NULL. */
const struct mmn_driver *mmn_driver_find(const char *name);
/* Index of @form in @drv->forms, or -1. */
int mmn_driver_form(const struct mmn_driver *drv, const char *form);

#ifdef __cplusplus
}
#endif
#endif
