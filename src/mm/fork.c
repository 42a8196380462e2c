// SPDX-License-Identifier: GPL-2.0
/*
 * mm_struct lifetime and fork (kernel/fork.c: mm_alloc, mmget/mmput,
 * mmgrab/mmdrop, dup_mmap; include/linux/mmap_lock.h).
 *
 *   mm_users  users of the address space; the last mmput() tears it down
 *             (exit_mmap) and then drops the mm_users' share of mm_count.
 *   mm_count  references to the struct; the last mmdrop() frees it, after
 *             mmu_notifier_subscriptions_destroy() and freeing the pgd.
 *
 * dup_mmap(), in Linux's order:
 *   parent mmap_lock write -> child mmap_lock write -> for each parent VMA
 *   (VM_DONTCOPY skipped): vm_area_dup, anon_vma_fork, shared file: get_file
 *   and insert into i_mmap, link into the child, copy_page_range (which
 *   notifies S/E PROTECTION_PAGE on the parent for cow mappings that need a
 *   copy) -> child unlock -> flush_tlb_mm(parent) -> parent unlock.
 * On failure the half-built child is torn down by mmput().
 */
#include <stdio.h>
#include <stdlib.h>

#include "check/check.h"
#include "mm/internal.h"

static int mm_next_id;
static mmn_spinlock_t mmlist_lock;
static LIST_HEAD(mm_list);

/* From mmn_mem_init(): ids restart at mm#1, the mm list is empty. */
void __mmn_fork_init(void)
{
	__atomic_store_n(&mm_next_id, 0, __ATOMIC_RELAXED);
	INIT_LIST_HEAD(&mm_list);
	mmn_spin_lock_init(&mmlist_lock, "mmlist_lock");
}

void __mmn_fork_exit(void)
{
	mmn_spin_lock_destroy(&mmlist_lock);
}

const char *mmn_mm_name(const struct mm_struct *mm)
{
	return mm ? mm->name : "(null mm)";
}

struct mm_struct *mm_alloc(void)
{
	struct mm_struct *mm = calloc(1, sizeof(*mm));

	if (!mm)
		return NULL;
	mm->pgd = pgtable_alloc(3, 0);
	if (!mm->pgd) {
		free(mm);
		return NULL;
	}
	mmn_rwsem_init(&mm->mmap_lock.s, "mmap_lock");
	mmn_spin_lock_init(&mm->page_table_lock.rlock, "page_table_lock");
	mm->mm_users = 1;
	mm->mm_count = 1;
	mm->mmap_base = MMAP_BASE;
	mm->id = __atomic_add_fetch(&mm_next_id, 1, __ATOMIC_RELAXED);
	snprintf(mm->name, sizeof(mm->name), "mm#%d", mm->id);
	mmn_spin_lock(&mmlist_lock, __FILE__, __LINE__);
	list_add_tail(&mm->mmlist, &mm_list);
	mmn_spin_unlock(&mmlist_lock);
	__mmn_stat_add(MMN_STAT_MMS, 1);
	return mm;
}

/* Call @fn for every live mm, under mmlist_lock (@fn must not sleep). */
void __mmn_for_each_mm(void (*fn)(struct mm_struct *mm, void *arg), void *arg)
{
	struct list_head *pos;

	mmn_spin_lock(&mmlist_lock, __FILE__, __LINE__);
	/*
	 * By list_head: list_for_each_entry()'s end test forms an mm_struct
	 * pointer from the static list head, misaligned for the type
	 * (UBSan: member access within misaligned address).
	 */
	for (pos = mm_list.next; pos != &mm_list; pos = pos->next)
		fn(list_entry(pos, struct mm_struct, mmlist), arg);
	mmn_spin_unlock(&mmlist_lock);
}

struct mm_struct *mmn_mm_create(void)
{
	return mm_alloc();
}

/* ---- reference counts ---------------------------------------------- */

void mmgrab(struct mm_struct *mm)
{
	__atomic_fetch_add(&mm->mm_count, 1, __ATOMIC_RELAXED);
}

void __mmdrop(struct mm_struct *mm)
{
	VM_WARN_ON(mm->map_count);
	mmn_check_mm_gone(mm);
	mmu_notifier_subscriptions_destroy(mm);
	mmn_spin_lock(&mmlist_lock, __FILE__, __LINE__);
	list_del(&mm->mmlist);
	mmn_spin_unlock(&mmlist_lock);
	pgtable_free(mm->pgd);
	mmn_rwsem_destroy(&mm->mmap_lock.s);
	mmn_spin_lock_destroy(&mm->page_table_lock.rlock);
	free(mm->vmas);
	free(mm);
	__mmn_stat_add(MMN_STAT_MMS, -1);
}

void mmdrop(struct mm_struct *mm)
{
	int n = __atomic_sub_fetch(&mm->mm_count, 1, __ATOMIC_ACQ_REL);

	VM_WARN_ON(n < 0);
	if (n == 0)
		__mmdrop(mm);
}

void mmget(struct mm_struct *mm)
{
	VM_WARN_ON(__atomic_load_n(&mm->mm_users, __ATOMIC_RELAXED) <= 0);
	__atomic_fetch_add(&mm->mm_users, 1, __ATOMIC_RELAXED);
}

bool mmget_not_zero(struct mm_struct *mm)
{
	int n = __atomic_load_n(&mm->mm_users, __ATOMIC_RELAXED);

	while (n > 0)
		if (__atomic_compare_exchange_n(&mm->mm_users, &n, n + 1, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return true;
	return false;
}

void mmput(struct mm_struct *mm)
{
	int n = __atomic_sub_fetch(&mm->mm_users, 1, __ATOMIC_ACQ_REL);

	VM_WARN_ON(n < 0);
	if (n)
		return;
	/* __mmput() */
	__atomic_fetch_or(&mm->flags, 1UL << MMF_EXITING, __ATOMIC_RELAXED);
	ksm_exit(mm);
	exit_mmap(mm);
	mmdrop(mm);
}

void mmn_exit(struct mm_struct *mm)
{
	mmput(mm);
}

/* ---- mmap_lock ------------------------------------------------------ */

void __mmn_mmap_read_lock(struct mm_struct *mm, const char *file, int line)
{
	mmn_down_read(&mm->mmap_lock.s, file, line);
}

bool __mmn_mmap_read_trylock(struct mm_struct *mm, const char *file, int line)
{
	return mmn_down_read_trylock(&mm->mmap_lock.s, file, line);
}

void __mmn_mmap_write_lock(struct mm_struct *mm, const char *file, int line)
{
	mmn_down_write(&mm->mmap_lock.s, file, line);
}

void mmap_read_unlock(struct mm_struct *mm)
{
	mmn_up_read(&mm->mmap_lock.s);
}

void mmap_write_unlock(struct mm_struct *mm)
{
	mmn_up_write(&mm->mmap_lock.s);
}

void mmap_write_downgrade(struct mm_struct *mm)
{
	mmn_downgrade_write(&mm->mmap_lock.s);
}

void __mmn_mmap_assert_locked(struct mm_struct *mm, const char *file, int line)
{
	mmn_lockdep_assert_held(&mm->mmap_lock, mmn_rwsem_held_by_current(&mm->mmap_lock.s),
				"mm->mmap_lock", file, line);
}

void __mmn_mmap_assert_write_locked(struct mm_struct *mm, const char *file, int line)
{
	mmn_lockdep_assert_held(&mm->mmap_lock,
				mmn_rwsem_write_held_by_current(&mm->mmap_lock.s),
				"mm->mmap_lock (write)", file, line);
}

/* ---- fork ------------------------------------------------------------ */

static int dup_mmap(struct mm_struct *mm, struct mm_struct *oldmm)
{
	int retval = 0;

	mmap_write_lock(oldmm);
	mmap_write_lock(mm);	/* not visible to anyone yet */
	for (int i = 0; i < oldmm->map_count; i++) {
		struct vm_area_struct *mpnt = oldmm->vmas[i], *tmp;

		if (mpnt->vm_flags & VM_DONTCOPY)
			continue;
		tmp = vm_area_dup(mpnt);
		if (!tmp) {
			retval = -ENOMEM;
			break;
		}
		tmp->vm_mm = mm;
		if (anon_vma_fork(tmp, mpnt)) {
			vm_area_free(tmp);
			retval = -ENOMEM;
			break;
		}
		if (tmp->vm_file) {
			struct address_space *mapping = tmp->vm_file->f_mapping;

			get_file(tmp->vm_file);
			i_mmap_lock_write(mapping);
			vma_interval_tree_insert(tmp, mapping);
			i_mmap_unlock_write(mapping);
		}
		if (vma_link(mm, tmp)) {
			if (tmp->vm_file) {
				i_mmap_lock_write(tmp->vm_file->f_mapping);
				vma_interval_tree_remove(tmp, tmp->vm_file->f_mapping);
				i_mmap_unlock_write(tmp->vm_file->f_mapping);
			}
			unlink_anon_vmas(tmp);
			remove_vma(tmp);
			retval = -ENOMEM;
			break;
		}
		if (tmp->vm_ops && tmp->vm_ops->open)
			tmp->vm_ops->open(tmp);
		retval = copy_page_range(tmp, mpnt);
		if (retval)
			break;
	}
	MM_CHECK(1, mm_vmas_valid(mm));
	MM_CHECK(2, mm_pgtables_valid(mm));
	mmap_write_unlock(mm);
	flush_tlb_mm(oldmm);
	mmn_check_fork_done(oldmm);
	mmap_write_unlock(oldmm);
	return retval;
}

struct mm_struct *mmn_fork(struct mm_struct *parent, int *err)
{
	struct mm_struct *mm = mm_alloc();
	int ret;

	if (!mm) {
		if (err)
			*err = -ENOMEM;
		return NULL;
	}
	ksm_fork(mm, parent);	/* dup_mmap()'s: the child is mergeable too */
	ret = dup_mmap(mm, parent);
	if (ret) {
		mmput(mm);
		if (err)
			*err = ret;
		return NULL;
	}
	if (err)
		*err = 0;
	return mm;
}
