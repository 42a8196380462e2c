// SPDX-License-Identifier: GPL-2.0
/*
 * The lab half of the real-kernel validation: the phases of
 * kernel/mmntest/mmntest.c, run in the lab with the lab's recording
 * notifier (<mmn/recorder.h>) under the era of the kernel compared
 * against, each captured as a normalised sequence (kcheck.h).
 *
 * Same arena, same regions, same order as mmntest.c; one lab mm plays the
 * test process.  A phase whose primary-MMU operation the lab does not
 * have yet returns not_modelled() with the missing API: it is reported
 * as "not yet modelled in the lab" and excluded from the comparison,
 * never faked.  Each such operation is detected at configure time
 * (tools/kernel-check/CMakeLists.txt defines KC_HAVE_<OP> when
 * <mmn/mm.h> declares its entry point), so a phase turns on by itself
 * when its API lands; its body is already written against that API.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/mmn.h>
#include <mmn/recorder.h>

#include "kcheck.h"

/*
 * Era 6.1's legacy call sites: set_pte_at_notify() -> change_pte (COW,
 * KSM), invalidate_range under the PT lock from the *_clear_flush_notify
 * helpers and from the TLB-gather flush.  The notifier core calls
 * invalidate_range from range_end (only_end in COW and THP split), KSM and
 * COW call change_pte, ptep_clear_flush_notify (COW, reclaim) and the
 * gather flush (tlb_flush_mmu_tlbonly) call invalidate_range: the lab has
 * them all (issue 5), so the comparer checks them.  Set to 0 to drop
 * change_pte and invalidate_range on both sides (rule
 * legacy-6.1-not-modelled).
 */
#define KC_LAB_HAS_61_LEGACY_SITES 1

#define PG		4096UL
#define A		(KC_ARENA + 0x0000000UL)
#define B		(KC_ARENA + 0x0400000UL)
#define K		(KC_ARENA + 0x0800000UL)
#define P		(KC_ARENA + 0x0c00000UL)
#define M		(KC_ARENA + 0x1000000UL)
#define H		(KC_ARENA + 0x1400000UL)
#define F		(KC_ARENA + 0x1800000UL)

struct lab {
	enum mmn_era era;
	struct mm_struct *mm;
	struct mmn_recorder *rec;
	struct mm_struct *child;	/* fork .. reuse */
	struct file *file;		/* truncate, punch-hole */
	const char *not_modelled;	/* set by not_modelled() */
	bool failed;
};

/* The phase cannot run in the lab yet: @why names the missing piece. */
static int __attribute__((unused)) not_modelled(struct lab *l, const char *why)
{
	l->not_modelled = why;
	return 0;
}

/* A lab operation failed where Linux succeeded: the phase is wrong. */
static int lab_fail(struct lab *l, const char *phase, const char *what, long err)
{
	fprintf(stderr, "mmn-phases: phase %s: %s failed: %ld\n", phase, what, err);
	l->failed = true;
	return -1;
}

static unsigned int rec_flags(enum mmn_era era)
{
	/* 6.12: the classic notifier + the tlbs one, as the module registers
	 * from 6.6 on; 6.1: one notifier with the legacy callbacks */
	return era == MMN_ERA_6_1 ? MMN_REC_LEGACY : MMN_REC_TLBS;
}

static int map_anon(struct mm_struct *mm, unsigned long addr, unsigned long len,
		    int prot)
{
	long r = mmn_mmap(mm, addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);

	return r == (long)addr ? 0 : (int)r;
}

static int touch(struct mm_struct *mm, unsigned long addr, unsigned long pages,
		 uint64_t val)
{
	for (unsigned long i = 0; i < pages; i++) {
		int r = mmn_store(mm, addr + i * PG, val + i);

		if (r)
			return r;
	}
	return 0;
}

/* Start capturing: what ran before (the phase's setup) is not part of it. */
static void rec_begin(struct lab *l)
{
	mmn_recorder_clear(l->rec);
}

/* ---- the phases (mmntest.c's, in its order) ------------------------------ */

static int ph_fault_in(struct lab *l)
{
	int r = map_anon(l->mm, A, 16 * PG, PROT_READ | PROT_WRITE);

	if (r || (r = touch(l->mm, A, 16, 0x1000)))
		return lab_fail(l, "fault-in", "mmap/touch A", r);
	return 0;
}

static int ph_fork(struct lab *l)
{
	int err = 0;

	l->child = mmn_fork(l->mm, &err);
	return l->child ? 0 : lab_fail(l, "fork", "mmn_fork", err);
}

static int ph_cow(struct lab *l)
{
	int r = mmn_store(l->mm, A + 2 * PG, 7);

	if (r || (r = mmn_store(l->mm, A + 2 * PG, 8)))
		return lab_fail(l, "cow", "store", r);
	return 0;
}

static int ph_reuse(struct lab *l)
{
	int r;

	mmn_exit(l->child);
	l->child = NULL;
	rec_begin(l);
	r = mmn_store(l->mm, A + 3 * PG, 9);
	return r ? lab_fail(l, "reuse", "store", r) : 0;
}

static int ph_dontneed(struct lab *l)
{
	int r = mmn_madvise(l->mm, A + 4 * PG, 4 * PG, MADV_DONTNEED);

	return r ? lab_fail(l, "dontneed", "MADV_DONTNEED", r) : 0;
}

static int ph_mprotect_ro(struct lab *l)
{
	int r = mmn_mprotect(l->mm, A, 16 * PG, PROT_READ);

	return r ? lab_fail(l, "mprotect-ro", "mprotect", r) : 0;
}

static int ph_mprotect_rw(struct lab *l)
{
	int r = mmn_mprotect(l->mm, A, 16 * PG, PROT_READ | PROT_WRITE);

	return r ? lab_fail(l, "mprotect-rw", "mprotect", r) : 0;
}

static int ph_munmap(struct lab *l)
{
	int r = mmn_munmap(l->mm, A + 8 * PG, 8 * PG);

	return r ? lab_fail(l, "munmap", "munmap", r) : 0;
}

static int ph_mremap(struct lab *l)
{
#ifdef KC_HAVE_MREMAP
	long r = map_anon(l->mm, B, 4 * PG, PROT_READ | PROT_WRITE);

	/* a guard right after B: growing in place is impossible */
	if (r || (r = map_anon(l->mm, B + 4 * PG, PG, PROT_NONE)) ||
	    (r = touch(l->mm, B, 4, 0x2000)))
		return lab_fail(l, "mremap", "setup", r);
	rec_begin(l);
	r = mmn_mremap(l->mm, B, 4 * PG, 8 * PG, MREMAP_MAYMOVE, 0);
	if (r < 0 || r == (long)B)
		return lab_fail(l, "mremap", "mremap (must move)", r);
	return 0;
#else
	return not_modelled(l, "mremap (mmn_mremap)");
#endif
}

static int ph_ksm_merge(struct lab *l)
{
#ifdef KC_HAVE_KSM
	unsigned long shared = 0, sharing = 0;
	int r = map_anon(l->mm, K, 8 * PG, PROT_READ | PROT_WRITE);

	/* eight identical pages */
	for (int i = 0; !r && i < 8; i++)
		r = mmn_store(l->mm, K + i * PG, 0x5a5a5a5a5a5a5a5aull);
	if (r)
		return lab_fail(l, "ksm-merge", "setup", r);
	rec_begin(l);
	r = mmn_madvise(l->mm, K, 8 * PG, MADV_MERGEABLE);
	if (r)
		return lab_fail(l, "ksm-merge", "MADV_MERGEABLE", r);
	for (int pass = 0; pass < 10 && !(shared == 1 && sharing == 7); pass++) {
		mmn_ksm_scan();
		mmn_ksm_counts(&shared, &sharing);
	}
	if (shared != 1 || sharing != 7)
		return lab_fail(l, "ksm-merge", "merge (shared*1000+sharing)",
				(long)(shared * 1000 + sharing));
	return 0;
#else
	return not_modelled(l, "KSM (mmn_ksm_scan)");
#endif
}

static int ph_ksm_unmerge(struct lab *l)
{
#ifdef KC_HAVE_KSM
	int r = mmn_madvise(l->mm, K, 8 * PG, MADV_UNMERGEABLE);

	return r ? lab_fail(l, "ksm-unmerge", "MADV_UNMERGEABLE", r) : 0;
#else
	return not_modelled(l, "KSM (mmn_ksm_scan)");
#endif
}

static int ph_pageout(struct lab *l)
{
#ifdef KC_HAVE_SWAP
	int r = map_anon(l->mm, P, 8 * PG, PROT_READ | PROT_WRITE);

	if (r || (r = touch(l->mm, P, 8, 0x3000)))
		return lab_fail(l, "pageout", "setup", r);
	rec_begin(l);
	r = mmn_madvise(l->mm, P, 8 * PG, MADV_PAGEOUT);
	return r ? lab_fail(l, "pageout", "MADV_PAGEOUT", r) : 0;
#else
	return not_modelled(l, "reclaim and swap (mmn_pageout)");
#endif
}

static int ph_swapin(struct lab *l)
{
#ifdef KC_HAVE_SWAP
	for (int i = 0; i < 8; i++) {
		uint64_t v;
		int r = mmn_load(l->mm, P + i * PG, &v);

		if (r || v != 0x3000u + i)
			return lab_fail(l, "swapin", "load", r ? r : -EIO);
	}
	return 0;
#else
	return not_modelled(l, "reclaim and swap (mmn_pageout)");
#endif
}

static int ph_migrate(struct lab *l)
{
#ifdef KC_HAVE_MIGRATE
	long r = map_anon(l->mm, M, 4 * PG, PROT_READ | PROT_WRITE);

	if (r || (r = touch(l->mm, M, 4, 0x4000)))
		return lab_fail(l, "migrate", "setup", r);
	rec_begin(l);
	r = mmn_migrate_pages(l->mm, M, 4 * PG);
	return r != 4 ? lab_fail(l, "migrate", "mmn_migrate_pages", r) : 0;
#else
	return not_modelled(l, "migration (mmn_migrate_pages)");
#endif
}

static int ph_collapse(struct lab *l)
{
#ifdef KC_HAVE_THP
	int r;

	/* the guest runs with THP "never": 512 small pages, collapsed on request */
	mmn_thp_set_enabled(MMN_THP_NEVER);
	r = map_anon(l->mm, H, 512 * PG, PROT_READ | PROT_WRITE);
	if (r || (r = touch(l->mm, H, 512, 0x5000)))
		return lab_fail(l, "collapse", "setup", r);
	rec_begin(l);
	r = mmn_madvise(l->mm, H, 512 * PG, MADV_COLLAPSE);
	return r ? lab_fail(l, "collapse", "MADV_COLLAPSE", r) : 0;
#else
	return not_modelled(l, "THP (mmn_thp_set_enabled, MADV_COLLAPSE)");
#endif
}

static int ph_thp_split(struct lab *l)
{
#ifdef KC_HAVE_THP
	int r = mmn_mprotect(l->mm, H + PG, PG, PROT_READ);

	return r ? lab_fail(l, "thp-split", "mprotect", r) : 0;
#else
	return not_modelled(l, "THP (mmn_thp_set_enabled, MADV_COLLAPSE)");
#endif
}

static int ph_truncate(struct lab *l)
{
#ifdef KC_HAVE_FILE
	long r;
	int err = 0;

	/* mmntest: a memfd (tmpfs) of 8 pages, MAP_SHARED, touched */
	l->file = mmn_file_create(8 * PG, &err);
	if (!l->file)
		return lab_fail(l, "truncate", "mmn_file_create", err);
	r = mmn_mmap_file(l->mm, F, 8 * PG, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED, l->file, 0);
	if (r != (long)F || (r = touch(l->mm, F, 8, 0x6000)))
		return lab_fail(l, "truncate", "setup", r);
	rec_begin(l);
	r = mmn_file_truncate(l->file, 2 * PG);
	return r ? lab_fail(l, "truncate", "truncate", r) : 0;
#else
	return not_modelled(l, "files and truncate (mmn_file_truncate)");
#endif
}

static int ph_punch_hole(struct lab *l)
{
#ifdef KC_HAVE_FILE
	int r = mmn_file_punch_hole(l->file, 0, PG);

	mmn_file_close(l->file);
	l->file = NULL;
	return r ? lab_fail(l, "punch-hole", "punch hole", r) : 0;
#else
	return not_modelled(l, "files and truncate (mmn_file_truncate)");
#endif
}

static int ph_interval_remove(struct lab *l)
{
	int r;

	mmn_recorder_remove_interval(l->rec);
	r = mmn_madvise(l->mm, A, PG, MADV_DONTNEED);
	return r ? lab_fail(l, "interval-remove", "MADV_DONTNEED", r) : 0;
}

static int ph_unregister(struct lab *l)
{
	int r;

	mmn_recorder_unregister(l->rec);
	r = mmn_munmap(l->mm, A, 8 * PG);
	return r ? lab_fail(l, "unregister", "munmap", r) : 0;
}

/* The real phase: a forked child with its own registration and interval
 * exits.  Its callbacks do not depend on what it maps (whole-space ranges
 * only), so here: a fresh mm with A, its own recorder, exit. */
static int ph_exit(struct lab *l, struct kc_seq *out);

static const struct {
	const char *name;
	int (*fn)(struct lab *l);
	unsigned int rules;
} phases[] = {
	{ "fault-in",		ph_fault_in,	0 },
	{ "fork",		ph_fork,	0 },
	{ "cow",		ph_cow,	0 },
	{ "reuse",		ph_reuse,	0 },
	{ "dontneed",		ph_dontneed,	0 },
	{ "mprotect-ro",	ph_mprotect_ro,	0 },
	{ "mprotect-rw",	ph_mprotect_rw,	0 },
	{ "munmap",		ph_munmap,	0 },
	{ "mremap",		ph_mremap,	0 },
	{ "ksm-merge",		ph_ksm_merge,	0 },
	{ "ksm-unmerge",	ph_ksm_unmerge,	0 },
	{ "pageout",		ph_pageout,	KC_RULE_AGING },
	{ "swapin",		ph_swapin,	KC_RULE_AGING },
	{ "migrate",		ph_migrate,	0 },
	{ "collapse",		ph_collapse,	0 },
	{ "thp-split",		ph_thp_split,	0 },
	{ "truncate",		ph_truncate,	0 },
	{ "punch-hole",		ph_punch_hole,	0 },
	{ "interval-remove",	ph_interval_remove,	0 },
	{ "unregister",		ph_unregister,	0 },
	{ "exit",		NULL,	0 },
};

/* ---- running ------------------------------------------------------------- */

static void capture(struct lab *l, struct mmn_recorder *rec, struct kc_seq *out)
{
	char *text = mmn_recorder_dup_text(rec), *save, norm[512];

	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		int r = kc_normalize_line(line, KC_ARENA, KC_ARENA_LEN, norm,
					  sizeof(norm));

		if (r < 0) {
			fprintf(stderr, "mmn-phases: cannot normalise lab line: %s\n", line);
			l->failed = true;
		} else if (r) {
			kc_seq_add(out, norm);
		}
	}
	free(text);
	mmn_recorder_clear(rec);
}

static struct mmn_recorder *new_recorder(struct lab *l, struct mm_struct *mm)
{
	int err = 0;
	struct mmn_recorder *rec = mmn_recorder_create(mm, rec_flags(l->era), &err);

	if (!rec || mmn_recorder_add_interval(rec, KC_ARENA, KC_ARENA_LEN)) {
		fprintf(stderr, "mmn-phases: recorder: %d\n", err);
		l->failed = true;
		mmn_recorder_destroy(rec);
		return NULL;
	}
	return rec;
}

static int ph_exit(struct lab *l, struct kc_seq *out)
{
	struct mm_struct *mm = mmn_mm_create();
	struct mmn_recorder *rec;
	int r;

	if (!mm)
		return lab_fail(l, "exit", "mmn_mm_create", -ENOMEM);
	r = map_anon(mm, A, 16 * PG, PROT_READ | PROT_WRITE);
	if (r || (r = touch(mm, A, 16, 0x1000)))
		return lab_fail(l, "exit", "setup", r);
	rec = new_recorder(l, mm);
	if (!rec)
		return -1;
	mmn_exit(mm);
	capture(l, rec, out);
	mmn_recorder_destroy(rec);
	return 0;
}

/*
 * Rule reuse-may-copy: the sequence Linux makes when the page cannot be
 * reused (another reference, e.g. a remote LRU batch): the COW copy of
 * page 3, recorded in a lab of its own.
 */
static void reuse_alternative(struct lab *l, struct kc_seq *out)
{
	struct mm_struct *mm = mmn_mm_create(), *child;
	struct mmn_recorder *rec;
	int err = 0;

	if (!mm || map_anon(mm, A, 16 * PG, PROT_READ | PROT_WRITE) ||
	    touch(mm, A, 16, 0x1000) || !(rec = new_recorder(l, mm))) {
		l->failed = true;
		if (mm)
			mmn_exit(mm);
		return;
	}
	child = mmn_fork(mm, &err);
	if (!child) {
		l->failed = true;
	} else {
		mmn_recorder_clear(rec);
		if (mmn_store(mm, A + 3 * PG, 9))
			l->failed = true;
		capture(l, rec, out);
		mmn_exit(child);
	}
	mmn_exit(mm);
	mmn_recorder_destroy(rec);
}

int kc_lab_run(const char *era_name, struct kc_trace *t)
{
	struct mmn_rt_config rc = { .backend = MMN_BACKEND_THREADS };
	struct mmn_mem_config mc = { .nr_frames = 4096 };
	struct lab l = { 0 };
	int era = mmn_era_parse(era_name);

	if (era != MMN_ERA_6_1 && era != MMN_ERA_6_12) {
		fprintf(stderr, "mmn-phases: era must be 6.1 or 6.12, not '%s'\n", era_name);
		return -1;
	}
	l.era = era;
	mmn_era = era;
	mmn_rt_init(&rc);
	if (mmn_mem_init(&mc)) {
		fprintf(stderr, "mmn-phases: mmn_mem_init failed\n");
		return -1;
	}
	snprintf(t->kernel, sizeof(t->kernel), "lab era %s", era_name);
	t->arena = KC_ARENA;
	t->arena_len = KC_ARENA_LEN;

	l.mm = mmn_mm_create();
	l.rec = l.mm ? new_recorder(&l, l.mm) : NULL;
	if (!l.rec)
		return -1;
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]) && !l.failed; i++) {
		struct kc_phase *p = kc_trace_add_phase(t, phases[i].name);

		p->rules = phases[i].rules;
		if (era == MMN_ERA_6_1 && !KC_LAB_HAS_61_LEGACY_SITES)
			p->rules |= KC_RULE_LEGACY;
		rec_begin(&l);
		l.not_modelled = NULL;
		if (!phases[i].fn) {
			ph_exit(&l, &p->seq);
			continue;
		}
		if (phases[i].fn(&l))
			break;
		if (l.not_modelled) {
			p->not_modelled = l.not_modelled;
			mmn_recorder_clear(l.rec);
			continue;
		}
		capture(&l, l.rec, &p->seq);
		if (!strcmp(p->name, "reuse")) {
			p->alt_rule = "reuse-may-copy";
			reuse_alternative(&l, &p->alt);
		}
	}
	if (l.child)
		mmn_exit(l.child);
	mmn_exit(l.mm);
	mmn_recorder_destroy(l.rec);
#ifdef KC_HAVE_FILE
	if (l.file)
		mmn_file_close(l.file);
#endif
	mmn_mem_exit();
	mmn_rt_exit();
	if (era == MMN_ERA_6_1 && !KC_LAB_HAS_61_LEGACY_SITES) {
		for (size_t i = 0; i < t->n; i++)
			for (size_t j = 0; j < t->ph[i].seq.n; j++)
				if (!strncmp(t->ph[i].seq.line[j], "change_pte", 10)) {
					fprintf(stderr, "mmn-phases: note: the lab calls change_pte "
						"(phase %s); once every 6.1 legacy call site is in, "
						"set KC_LAB_HAS_61_LEGACY_SITES in %s\n",
						t->ph[i].name, __FILE__);
					i = t->n - 1;
					break;
				}
	}
	return l.failed ? -1 : 0;
}
