// SPDX-License-Identifier: GPL-2.0
/*
 * The checker (DESIGN.md section 6): ghost memory, seals, generations and
 * per-device invalidation windows.
 *
 * Everything here runs under check_lock, a plain pthread mutex that is the
 * lab's own bookkeeping, not a modelled lock: no schedule point is passed
 * and no modelled lock is taken while it is held, so it is invisible to the
 * controlled scheduler and to lockdep.
 *
 * Contract points and windows
 * ---------------------------
 * Each device's notifier subscriptions are tracked (mmn_device_track()).
 * When one of their invalidation callbacks returns, that is the device's
 * contract point for the range: every translation made before it must be
 * gone.  A window is open from the contract point to the matching
 * invalidate_range_end:
 *
 *      primary (mm/)                     device
 *      -------------                     ------
 *      invalidate_range_start
 *        ->callback ... returns  == t_contract ==  (sptes born before
 *                                                   t_contract are dead)
 *      pte change, flush, free           fault path must not establish
 *      invalidate_range_end  ======= t_end ======  a translation to the
 *                                                   old frame before here
 *
 * An access through spte s at va inside a window W's range is
 * access-after-invalidate if
 * (t_enter is the callback's entry: a translation made while the callback
 * runs was made from the primary's state after the change began, which a
 * TLB-flush style callback does not have to remove.)
 *
 *   (a) s.born < W.t_enter and W's event removes the mapping (or the
 *       access is a write and W only lowered protection), or
 *   (b) W.t_enter < s.born, W was still open at s.born or s was stale at
 *       birth, and the primary no longer maps s's frame (compatibly) at va.
 * Accesses before the device's own contract point are legal, whatever the
 * primary did meanwhile (an IOTLB hit between a pte change and the flush
 * under the PT lock; a legacy driver before its invalidate_page).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmn/device.h>
#include <mmn/mm.h>
#include <mmn/report.h>
#include <mmn/rt.h>

#include "check/check.h"
#include "mm/internal.h"
#include "mm/mm_types.h"
#include "notifier/internal.h"

bool mmn_check_enabled;

static pthread_mutex_t check_mutex = PTHREAD_MUTEX_INITIALIZER;
static uint64_t check_clock;

void mmn_check_lock(void)
{
	pthread_mutex_lock(&check_mutex);
}

void mmn_check_unlock(void)
{
	pthread_mutex_unlock(&check_mutex);
}

/* ------------------------------------------------------------------ */
/* Event history: the last few things the checker saw, for reports.    */

#define HISTORY_LEN	24
#define HISTORY_TEXT	176

static struct {
	uint64_t clock;
	char text[HISTORY_TEXT];
} history[HISTORY_LEN];
static unsigned long history_next;

static uint64_t history_vadd(const char *fmt, va_list ap)
{
	unsigned long i = history_next++ % HISTORY_LEN;
	int n;

	history[i].clock = ++check_clock;
	n = snprintf(history[i].text, HISTORY_TEXT, "%s/%d: ",
		     mmn_current()->comm, mmn_current()->pid);
	if (n < 0 || n >= HISTORY_TEXT)
		n = 0;
	vsnprintf(history[i].text + n, HISTORY_TEXT - n, fmt, ap);
	return history[i].clock;
}

static uint64_t __attribute__((format(printf, 1, 2))) history_add(const char *fmt, ...)
{
	va_list ap;
	uint64_t c;

	va_start(ap, fmt);
	c = history_vadd(fmt, ap);
	va_end(ap);
	return c;
}

void __mmn_check_note(const char *fmt, ...)
{
	va_list ap;

	mmn_check_lock();
	va_start(ap, fmt);
	history_vadd(fmt, ap);
	va_end(ap);
	mmn_check_unlock();
}

static void history_print(struct mmn_buf *b)
{
	unsigned long first = history_next > HISTORY_LEN ?
			      history_next - HISTORY_LEN : 0;

	mmn_buf_printf(b, "Event history (most recent last):\n");
	for (unsigned long i = first; i < history_next; i++) {
		unsigned long k = i % HISTORY_LEN;

		mmn_buf_printf(b, "  #%-5" PRIu64 " %s\n", history[k].clock,
			       history[k].text);
	}
}

/* ------------------------------------------------------------------ */
/* Locations and ghost memory.                                          */
/*
 * A location key names one page of logical memory:
 *   anon:  bit 63 clear, mm id in bits 40..62, va >> PAGE_SHIFT below
 *   file:  bit 63 set, mapping id in bits 40..62, page index below
 * The ghost of a page is 512 words, allocated on first write; a missing
 * ghost page reads as zeros (fresh anonymous memory, a hole in a file).
 */
#define LOC_FILE	(1ULL << 63)
#define LOC_ID_SHIFT	40
#define LOC_IDX_MASK	((1ULL << LOC_ID_SHIFT) - 1)

struct ghost_page {
	uint64_t key;
	void *obj;			/* mm_struct * or address_space * */
	uint64_t w[MMN_PAGE_WORDS];
};

struct loc {
	uint64_t key;
	void *obj;
	unsigned int word;		/* word index in the page */
};

static inline uint64_t loc_key_anon(const struct mm_struct *mm, unsigned long va)
{
	return ((uint64_t)mm->id << LOC_ID_SHIFT) | ((va >> PAGE_SHIFT) & LOC_IDX_MASK);
}

static inline uint64_t loc_key_file(const struct address_space *m, unsigned long index)
{
	return LOC_FILE | ((uint64_t)m->id << LOC_ID_SHIFT) | (index & LOC_IDX_MASK);
}

/*
 * Aliases: PFN maps whose memory is another mm's (XPMEM attachments).  An
 * access at va in [start, end) of @mm is an access to the location
 * (target, target_start + (va - start)) -- the exporter's -- whatever
 * frame it reaches: if that frame is no longer the exporter's, the ghost
 * says so.  Registered by mm/pfnmap.c when such an area is mapped and
 * dropped when it closes.  A handful at most: a linear scan.
 */
#define MAX_ALIASES	32

static struct alias {
	struct mm_struct *mm, *target;
	unsigned long start, end, target_start;
} aliases[MAX_ALIASES];
static unsigned int nr_aliases;

static const struct alias *alias_find(const struct mm_struct *mm, unsigned long va)
{
	for (unsigned int i = 0; i < nr_aliases; i++)
		if (aliases[i].mm == mm && va >= aliases[i].start &&
		    va < aliases[i].end)
			return &aliases[i];
	return NULL;
}

void mmn_check_alias_add(struct mm_struct *mm, unsigned long start,
			 unsigned long end, struct mm_struct *target,
			 unsigned long target_start)
{
	mmn_check_lock();
	if (nr_aliases < MAX_ALIASES)
		aliases[nr_aliases++] = (struct alias){ mm, target, start, end,
							target_start };
	else
		mmn_report(MMN_V_LAB_BUG, "check:aliases",
			   "mmnlab: more than %d PFN-map aliases\n", MAX_ALIASES);
	mmn_check_unlock();
}

void mmn_check_alias_del(struct mm_struct *mm, unsigned long start)
{
	mmn_check_lock();
	for (unsigned int i = 0; i < nr_aliases; i++) {
		if (aliases[i].mm == mm && aliases[i].start == start) {
			aliases[i] = aliases[--nr_aliases];
			break;
		}
	}
	mmn_check_unlock();
}

/* Where does an access at (@mm, @va) to @page land, logically? */
static struct loc page_location(struct mm_struct *mm, unsigned long va,
				struct page *page)
{
	const struct alias *a;
	struct loc l;

	if (unlikely(nr_aliases) && (a = alias_find(mm, va)))
		return page_location(a->target, a->target_start + (va - a->start),
				     page);
	l.word = (va & (PAGE_SIZE - 1)) / sizeof(uint64_t);
	if (page && !PageAnon(page) && page->mapping &&
	    !is_zero_pfn(page_to_pfn(page))) {
		struct address_space *m = page->mapping;

		l.key = loc_key_file(m, page->index);
		l.obj = m;
	} else {
		l.key = loc_key_anon(mm, va);
		l.obj = mm;
	}
	return l;
}

/* Open-addressing hash map from a 64-bit key to a pointer. */
struct hmap {
	uint64_t *keys;
	void **vals;
	unsigned long cap, used;	/* cap: power of two */
};

#define HMAP_EMPTY	UINT64_MAX
#define HMAP_TOMB	(UINT64_MAX - 1)

static inline unsigned long hmap_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (unsigned long)k;
}

static void hmap_grow(struct hmap *h);

static void **hmap_slot(struct hmap *h, uint64_t key, bool create)
{
	unsigned long i, tomb = ULONG_MAX;

	if (create && (h->used + 1) * 4 >= h->cap * 3)
		hmap_grow(h);
	if (!h->cap)
		return NULL;
	for (i = hmap_hash(key) & (h->cap - 1);; i = (i + 1) & (h->cap - 1)) {
		if (h->keys[i] == key)
			return &h->vals[i];
		if (h->keys[i] == HMAP_TOMB && tomb == ULONG_MAX)
			tomb = i;
		if (h->keys[i] == HMAP_EMPTY) {
			if (!create)
				return NULL;
			if (tomb != ULONG_MAX)
				i = tomb;
			else
				h->used++;
			h->keys[i] = key;
			h->vals[i] = NULL;
			return &h->vals[i];
		}
	}
}

static void hmap_grow(struct hmap *h)
{
	struct hmap n;
	unsigned long i;

	n.cap = h->cap ? h->cap * 2 : 64;
	n.used = 0;
	n.keys = malloc(n.cap * sizeof(*n.keys));
	n.vals = malloc(n.cap * sizeof(*n.vals));
	if (!n.keys || !n.vals)
		abort();
	for (i = 0; i < n.cap; i++)
		n.keys[i] = HMAP_EMPTY;
	for (i = 0; i < h->cap; i++)
		if (h->keys[i] < HMAP_TOMB)
			*hmap_slot(&n, h->keys[i], true) = h->vals[i];
	free(h->keys);
	free(h->vals);
	*h = n;
}

static void hmap_del(struct hmap *h, uint64_t key)
{
	void **v = hmap_slot(h, key, false);

	if (v)
		h->keys[v - h->vals] = HMAP_TOMB;
}

static void hmap_free(struct hmap *h, void (*fn)(void *))
{
	for (unsigned long i = 0; i < h->cap; i++)
		if (h->keys[i] < HMAP_TOMB && fn)
			fn(h->vals[i]);
	free(h->keys);
	free(h->vals);
	memset(h, 0, sizeof(*h));
}

static struct hmap ghosts;	/* location key -> struct ghost_page */
static struct hmap resets;	/* location key -> clock of its last reset */
/* (mm, va) key -> clock of its last pte change told afterwards (2.6.33) */
static struct hmap unnotified;

/* Did location page @key start over after @born?  (0: no) */
static uint64_t reset_since(uint64_t key, uint64_t born)
{
	void **v = hmap_slot(&resets, key, false);
	uint64_t c = v ? (uint64_t)(uintptr_t)*v : 0;

	return c > born ? c : 0;
}
static struct hmap seals;	/* pfn -> struct seal_list */

static uint64_t ghost_get(const struct loc *l)
{
	void **v = hmap_slot(&ghosts, l->key, false);

	return v && *v ? ((struct ghost_page *)*v)->w[l->word] : 0;
}

static struct ghost_page *ghost_page_get(uint64_t key, void *obj, bool create)
{
	void **v = hmap_slot(&ghosts, key, create);
	struct ghost_page *g;

	if (!v)
		return NULL;
	if (*v || !create)
		return *v;
	g = calloc(1, sizeof(*g));
	if (!g)
		abort();
	g->key = key;
	g->obj = obj;
	*v = g;
	return g;
}

static void ghost_set(const struct loc *l, uint64_t val)
{
	ghost_page_get(l->key, l->obj, true)->w[l->word] = val;
}

static void ghost_drop(uint64_t key)
{
	void **v = hmap_slot(&ghosts, key, false);

	if (v) {
		free(*v);
		hmap_del(&ghosts, key);
	}
}

/* Drop every ghost page whose key matches @key under @mask. */
static void ghost_drop_matching(uint64_t key, uint64_t mask)
{
	for (unsigned long i = 0; i < ghosts.cap; i++) {
		if (ghosts.keys[i] >= HMAP_TOMB)
			continue;
		if ((ghosts.keys[i] & mask) == key) {
			free(ghosts.vals[i]);
			ghosts.keys[i] = HMAP_TOMB;
		}
	}
}

/*
 * Fork shares.  From fork's copy of an anonymous location to the flush at
 * the end of dup_mmap, the parent's location and the child's share one
 * frame, and a secondary TLB may still write it through a writable entry
 * made before the copy (SVA's IOTLB, exactly as the CPU's own TLB may:
 * Linux accepts that window).  Such a write reaches the child as well.
 * Parent location key -> the child locations copied from it.
 */
struct fork_share {
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long pfn;		/* the frame they shared at the copy */
	uint64_t clock;
};

struct fork_share_list {
	unsigned int nr, cap;
	struct fork_share s[];
};

static struct hmap fork_shares;

static bool primary_lookup(struct mm_struct *mm, unsigned long va,
			   unsigned long *pfn, bool *write);

static void fork_share_add(struct mm_struct *src, struct mm_struct *mm,
			   unsigned long addr)
{
	void **v;
	struct fork_share_list *fl;
	unsigned long pfn;
	bool w;

	if (!primary_lookup(src, addr, &pfn, &w))
		return;
	v = hmap_slot(&fork_shares, loc_key_anon(src, addr), true);
	fl = *v;

	if (!fl || fl->nr == fl->cap) {
		unsigned int cap = fl ? fl->cap * 2 : 2;
		struct fork_share_list *n = realloc(fl, sizeof(*n) + cap * sizeof(n->s[0]));

		if (!n)
			abort();
		if (!fl)
			n->nr = 0;
		n->cap = cap;
		fl = n;
		*v = fl;
	}
	fl->s[fl->nr++] = (struct fork_share){ mm, addr, pfn, check_clock };
}

/* The write of @val at word @l->word of the parent's location reached the
 * frame @pfn: every child copied from it after @born that shares that
 * frame (maps it, or has not mapped its copy yet) sees it too. */

static void fork_share_write(const struct loc *l, uint64_t born,
			     unsigned long pfn, uint64_t val)
{
	void **v;
	struct fork_share_list *fl;

	if (!fork_shares.used || (l->key & LOC_FILE))
		return;
	v = hmap_slot(&fork_shares, l->key, false);
	if (!v || !*v)
		return;
	fl = *v;
	for (unsigned int i = 0; i < fl->nr; i++) {
		const struct fork_share *fs = &fl->s[i];
		struct loc d = { .key = loc_key_anon(fs->mm, fs->addr), .word = l->word,
				 .obj = fs->mm };

		unsigned long cur;
		bool w;

		if (fs->clock < born || fs->pfn != pfn)
			continue;
		if (!primary_lookup(fs->mm, fs->addr, &cur, &w) || cur == pfn)
			ghost_set(&d, val);
	}
}

/* ------------------------------------------------------------------ */
/* Seals.                                                               */

struct seal {
	uint32_t gen;
	uint64_t key;			/* location page key */
	uint64_t clock;
	char why[64];
};

struct seal_list {
	unsigned int nr, cap;
	struct seal s[];
};

#define SEAL_ALL	(~0ULL)		/* every location of the frame */

static const struct seal *seal_find(unsigned long pfn, uint32_t gen, uint64_t key)
{
	void **v = hmap_slot(&seals, pfn, false);
	struct seal_list *sl;

	if (!v || !*v)
		return NULL;
	sl = *v;
	for (unsigned int i = 0; i < sl->nr; i++)
		if (sl->s[i].gen == gen &&
		    (sl->s[i].key == key || sl->s[i].key == SEAL_ALL))
			return &sl->s[i];
	return NULL;
}

static void seal_add(unsigned long pfn, uint32_t gen, uint64_t key,
		     uint64_t clock, const char *why)
{
	void **v = hmap_slot(&seals, pfn, true);
	struct seal_list *sl = *v;
	unsigned int i;

	/* forget seals of older generations of this frame */
	if (sl) {
		unsigned int j = 0;

		for (i = 0; i < sl->nr; i++)
			if (sl->s[i].gen == gen)
				sl->s[j++] = sl->s[i];
		sl->nr = j;
	}
	if (!sl || sl->nr == sl->cap) {
		unsigned int cap = sl ? sl->cap * 2 : 4;
		struct seal_list *n = realloc(sl, sizeof(*n) + cap * sizeof(n->s[0]));

		if (!n)
			abort();
		if (!sl)
			n->nr = 0;
		n->cap = cap;
		sl = n;
		*v = sl;
	}
	i = sl->nr++;
	sl->s[i].gen = gen;
	sl->s[i].key = key;
	sl->s[i].clock = clock;
	snprintf(sl->s[i].why, sizeof(sl->s[i].why), "%s", why);
}

/* ------------------------------------------------------------------ */
/* Devices and windows.                                                 */

struct window {
	unsigned long start, end;	/* [start, end) */
	int event;			/* enum mmu_notifier_event, or -1 */
	bool removes;			/* else: lowers protection only */
	uint64_t t_enter;		/* the callback began */
	bool flush;			/* a TLB-flush style callback (no end) */
	uint64_t t_contract, t_end;	/* t_end == UINT64_MAX: open */
	char what[128];
};

struct dev_check {
	struct mmn_device *dev;
	struct window *w;
	unsigned long nr, cap;
	unsigned long contracts;	/* contract points passed */
};

#define MAX_TRACKED	64

static struct {
	const void *sub;
	struct mmn_device *dev;
} tracked[MAX_TRACKED];
static unsigned int nr_tracked;

static struct dev_check *dev_check(struct mmn_device *dev)
{
	if (!dev->check) {
		struct dev_check *dc = calloc(1, sizeof(*dc));

		if (!dc)
			abort();
		dc->dev = dev;
		dev->check = dc;
	}
	return dev->check;
}

void mmn_device_track(struct mmn_device *dev, const void *subscription)
{
	mmn_check_lock();
	if (nr_tracked < MAX_TRACKED) {
		tracked[nr_tracked].sub = subscription;
		tracked[nr_tracked].dev = dev;
		nr_tracked++;
	} else {
		mmn_report(MMN_V_LAB_BUG, "check:tracked",
			   "mmnlab: more than %d tracked subscriptions\n", MAX_TRACKED);
	}
	mmn_check_unlock();
}

void mmn_device_untrack(struct mmn_device *dev, const void *subscription)
{
	mmn_check_lock();
	for (unsigned int i = 0; i < nr_tracked; i++) {
		if (tracked[i].sub == subscription && tracked[i].dev == dev) {
			tracked[i] = tracked[--nr_tracked];
			break;
		}
	}
	mmn_check_unlock();
}

/*
 * How many contract points @dev has passed: an invalidation reached it, so
 * its fault loop's retries are not "without progress" (device.c's
 * livelock bound).  0 with checking off.
 */
unsigned long __mmn_check_device_contracts(struct mmn_device *dev)
{
	unsigned long n = 0;

	if (!mmn_check_enabled)
		return 0;
	mmn_check_lock();
	if (dev->check)
		n = ((struct dev_check *)dev->check)->contracts;
	mmn_check_unlock();
	return n;
}

/* Called by mmn_device_destroy(). */
void __mmn_check_device_gone(struct mmn_device *dev)
{
	struct dev_check *dc = dev->check;

	mmn_check_lock();
	for (unsigned int i = 0; i < nr_tracked;) {
		if (tracked[i].dev == dev)
			tracked[i] = tracked[--nr_tracked];
		else
			i++;
	}
	if (dc) {
		free(dc->w);
		free(dc);
		dev->check = NULL;
	}
	mmn_check_unlock();
}

static struct mmn_device *tracked_device(const void *sub)
{
	for (unsigned int i = 0; i < nr_tracked; i++)
		if (tracked[i].sub == sub)
			return tracked[i].dev;
	return NULL;
}

/*
 * Callback entries not yet returned: (task, subscription) -> clock.  A
 * window's t_enter comes from here when the callback returns.
 */
#define MAX_ENTERED	64

static struct {
	const struct mmn_task *task;
	const void *sub;
	uint64_t clock;
} entered[MAX_ENTERED];
static unsigned int nr_entered;

static struct mmn_device *tracked_device(const void *sub);

static void enter_put(const void *sub, const char *cb)
{
	struct mmn_device *dev = tracked_device(sub);

	if (!dev || nr_entered >= MAX_ENTERED)
		return;
	entered[nr_entered].task = mmn_current();
	entered[nr_entered].sub = sub;
	entered[nr_entered].clock = history_add("%s: %s begins", dev->name, cb);
	nr_entered++;
}

/* The entry clock of current's callback on @sub (now if unknown). */
static uint64_t enter_take(const void *sub, uint64_t now)
{
	const struct mmn_task *t = mmn_current();

	for (unsigned int i = nr_entered; i-- > 0;) {
		if (entered[i].task == t && entered[i].sub == sub) {
			uint64_t c = entered[i].clock;

			entered[i] = entered[--nr_entered];
			return c;
		}
	}
	return now;
}

static const char *const contract_names[] = {
	[MMN_CONTRACT_RANGE_START] = "invalidate_range_start",
	[MMN_CONTRACT_INTERVAL] = "interval invalidate",
	[MMN_CONTRACT_SECONDARY_TLBS] = "arch_invalidate_secondary_tlbs",
	[MMN_CONTRACT_INVALIDATE_RANGE] = "invalidate_range",
	[MMN_CONTRACT_INVALIDATE_PAGE] = "invalidate_page",
	[MMN_CONTRACT_CHANGE_PTE] = "change_pte",
	[MMN_CONTRACT_RELEASE] = "release",
};

void __mmn_check_contract(const void *sub, enum mmn_contract kind,
			  struct mm_struct *mm, unsigned long start,
			  unsigned long end, int event)
{
	struct mmn_device *dev;
	struct dev_check *dc;
	struct window *w;
	uint64_t now;

	mmn_check_lock();
	dev = tracked_device(sub);
	now = history_add("%s returned: %s %s [%#lx-%#lx) %s", dev ? dev->name : "?",
			  contract_names[kind],
			  event >= 0 ? mmu_notifier_event_name(event) : "",
			  start, end, mmn_mm_name(mm));
	if (!dev) {
		mmn_check_unlock();
		return;
	}
	dc = dev_check(dev);
	dc->contracts++;
	if (dc->nr == dc->cap) {
		unsigned long cap = dc->cap ? dc->cap * 2 : 16;
		struct window *n = realloc(dc->w, cap * sizeof(*n));

		if (!n)
			abort();
		dc->w = n;
		dc->cap = cap;
	}
	w = &dc->w[dc->nr++];
	w->start = start;
	w->end = end;
	w->event = event;
	w->removes = event < 0 || mmu_notifier_event_removes(event);
	w->t_contract = now;
	w->t_enter = enter_take(sub, now);
	/*
	 * Only the range-start style contracts have a matching end; the
	 * others close at once (the pte change already happened).
	 */
	w->flush = !(kind == MMN_CONTRACT_RANGE_START || kind == MMN_CONTRACT_INTERVAL);
	w->t_end = w->flush ? now : UINT64_MAX;
	snprintf(w->what, sizeof(w->what), "%s %s [%#lx-%#lx) of %s by task %s/%d",
		 contract_names[kind],
		 event >= 0 ? mmu_notifier_event_name(event) : "",
		 start, end, mmn_mm_name(mm), mmn_current()->comm,
		 mmn_current()->pid);
	mmn_check_unlock();
}

void __mmn_check_range_end(const void *sub, struct mm_struct *mm,
			   unsigned long start, unsigned long end, int event)
{
	uint64_t now;

	mmn_check_lock();
	now = history_add("invalidate_range_end %s [%#lx-%#lx) %s",
			  mmu_notifier_event_name(event), start, end,
			  mmn_mm_name(mm));
	for (unsigned int i = 0; i < nr_tracked; i++) {
		struct mmn_device *dev = tracked[i].dev;
		struct dev_check *dc = dev->check;

		if ((sub && tracked[i].sub != sub) || !dc)
			continue;
		/* close the newest matching open window */
		for (unsigned long k = dc->nr; k-- > 0;) {
			struct window *w = &dc->w[k];

			if (w->t_end == UINT64_MAX && w->start == start &&
			    w->end == end && w->event == event) {
				w->t_end = now;
				break;
			}
		}
	}
	mmn_check_unlock();
}

/* ------------------------------------------------------------------ */
/* Reports.                                                             */

static void report_head(struct mmn_buf *b, enum mmn_violation_kind kind,
			struct mmn_device *dev)
{
	mmn_buf_printf(b, "BUG: mmnlab: %s in %s",
		       mmn_violation_name(kind), dev ? dev->ops->name : "cpu");
	if (dev)
		mmn_buf_printf(b, " (form %s)", dev->form ? dev->form : "correct");
	mmn_buf_printf(b, "\n");
}

static void report_access_line(struct mmn_buf *b, bool write, unsigned long va,
			       struct mmn_device *dev, struct mm_struct *mm)
{
	struct mmn_task *t = mmn_current();

	mmn_buf_printf(b, "%s of size 8 at addr %#lx of %s by task %s/%d",
		       write ? "Write" : "Read", va, mmn_mm_name(mm), t->comm, t->pid);
	if (dev)
		mmn_buf_printf(b, " through %s", dev->name);
	mmn_buf_printf(b, "\n");
}

static void report_spte(struct mmn_buf *b, const struct mmn_spte *s)
{
	mmn_buf_printf(b, " translation: va %#lx -> pfn %#lx gen %u %s%s, made at #%" PRIu64 "%s\n",
		       s->va, s->pfn, s->gen, s->writable ? "rw" : "ro",
		       s->order ? " (2M)" : "", s->born,
		       s->stale_at_birth ? " (already stale when made)" : "");
}

static void report_finish(struct mmn_buf *b, enum mmn_violation_kind kind,
			  const char *site)
{
	history_print(b);
	mmn_report(kind, site, "%s", b->s);
	mmn_buf_free(b);
}

/* ------------------------------------------------------------------ */
/* Access checks.                                                       */

/*
 * What the primary maps at (@mm, @va): a lockless walk, as the MMU does.
 * Under check_lock, so it takes no modelled lock (no schedule point, no
 * PTL: the CPU access path takes the PTL and then check_lock).  Page
 * tables are freed only by exit_mmap(), which first passes
 * mmn_check_pgtables_going() -- a barrier on check_lock -- after
 * mm_users dropped to zero: a walker that sees mm_users > 0 under
 * check_lock walks tables that stay until it lets go.
 */
static bool primary_lookup(struct mm_struct *mm, unsigned long va,
			   unsigned long *pfn, bool *writable)
{
	uint64_t e = 0;
	struct pgtable *t;
	int level;

	if (READ_ONCE(mm->mm_users) <= 0)
		return false;
	t = mm->pgd;
	for (level = 3; level >= 0; level--) {
		e = __entry_get(&t->e[(va >> (PAGE_SHIFT + 9 * level)) & (PTRS_PER_TABLE - 1)]);
		if (!(e & _PAGE_PRESENT))
			return false;
		if (level == 0 || (level == 1 && (e & _PAGE_PSE)))
			break;
		t = entry_table(e);
	}
	*pfn = (unsigned long)((e & _PAGE_PFN_MASK) >> PAGE_SHIFT);
	if (level == 1)
		*pfn += (va & ~PMD_MASK) >> PAGE_SHIFT;
	*writable = e & _PAGE_RW;
	return true;
}

/* Does the primary map @pfn at (@mm, @va), writable if @write? */
static bool primary_maps(struct mm_struct *mm, unsigned long va,
			 unsigned long pfn, bool write)
{
	unsigned long cur;
	bool w;

	if (!primary_lookup(mm, va, &cur, &w))
		return false;
	return cur == pfn && (!write || w);
}

void mmn_check_pgtables_going(struct mm_struct *mm)
{
	if (!mmn_check_enabled)
		return;
	mmn_check_lock();
	mmn_check_unlock();
}

static bool window_covers(const struct window *w, unsigned long va)
{
	return va >= w->start && va < w->end;
}

/* Did (mm, va)'s pte change, to be notified afterwards, at or after @t
 * (a mark carries the clock of the event before it)? */
static bool unnotified_since(struct mm_struct *mm, unsigned long va, uint64_t t)
{
	void **v;

	if (!unnotified.used)
		return false;
	v = hmap_slot(&unnotified, loc_key_anon(mm, va & PAGE_MASK), false);
	return v && (uint64_t)(uintptr_t)*v >= t;
}

void __mmn_check_pte_change_unnotified(struct mm_struct *mm, unsigned long va)
{
	mmn_check_lock();
	*hmap_slot(&unnotified, loc_key_anon(mm, va & PAGE_MASK), true) =
		(void *)(uintptr_t)check_clock;
	mmn_check_unlock();
}

/* Rules (a) and (b) above.  Returns the window broken, or NULL. */
static const struct window *check_windows(struct mmn_device *dev,
					  const struct mmn_spte *s,
					  unsigned long va, unsigned long pfn,
					  bool write, const char **rule)
{
	struct dev_check *dc = dev->check;
	bool latest_closed_seen = false, closed_seen = false;

	if (!dc)
		return NULL;
	for (unsigned long k = dc->nr; k-- > 0;) {
		const struct window *w = &dc->w[k];

		if (!window_covers(w, va))
			continue;
		/*
		 * 2.6.33 changes a pte first and tells the secondaries after
		 * (invalidate_page, change_pte): a translation made stale by
		 * such a change after the newest window closed breaks no
		 * contract yet -- the coming notification is its contract.
		 * (Windows are in contract order: older ones ended earlier,
		 * and rule (a) does not apply to windows entered before birth.)
		 */
		if (w->t_end <= s->born && !closed_seen) {
			closed_seen = true;
			if (s->stale_at_birth &&
			    unnotified_since(dev->mm, va, w->t_end))
				return NULL;
		}
		if (s->born < w->t_enter) {
			if (w->removes || write) {
				*rule = w->removes ?
					"the translation was made before the device's contract point and the event removes the mapping" :
					"a write through a translation made before the contract point of a protection change";
				return w;
			}
			continue;
		}
		/* w->t_enter < s->born */
		/*
		 * A translation made while a TLB-flush style callback ran was
		 * made from the ptes as they are after the change: the flush
		 * promised nothing about it.  (Judging it by what the primary
		 * maps now would race with the next pte transaction, which
		 * will flush in its own time.)
		 */
		if (w->flush)
			continue;
		/* made inside a window that has closed since, and the frame
		 * left the location only after it closed, by a 2.6.33
		 * change still to be told (reclaim's invalidate_page after
		 * a THP split): that notification is the contract */
		if (w->t_end > s->born && w->t_end != UINT64_MAX &&
		    unnotified_since(dev->mm, va, w->t_end))
			return NULL;
		if (w->t_end > s->born || (s->stale_at_birth && !latest_closed_seen)) {
			/* the same frame, freed and mapped there again, is
			 * not the frame the translation was made for */
			if (!primary_maps(dev->mm, va, pfn, write) ||
			    pfn_to_page(s->pfn)->gen != s->gen) {
				*rule = w->t_end > s->born ?
					"the translation was made inside an invalidation window and points at a frame the primary no longer maps" :
					"the translation was stale when made, after the device's contract point";
				return w;
			}
		}
		if (w->t_end <= s->born) {
			/* older windows closed before birth cannot matter */
			latest_closed_seen = true;
			break;
		}
	}
	return NULL;
}

/* Did a contract point covering @va pass since @born? */
static bool contract_since(struct mmn_device *dev, unsigned long va,
			   uint64_t born)
{
	struct dev_check *dc = dev->check;

	if (!dc)
		return false;
	for (unsigned long k = dc->nr; k-- > 0;) {
		if (dc->w[k].t_contract <= born)
			return false;		/* windows are in contract order */
		if (window_covers(&dc->w[k], va) && dc->w[k].t_enter > born)
			return true;
	}
	return false;
}

/*
 * One device access, under check_lock.  The access itself happens here
 * too, so that it is atomic with the ghost update.
 */
static int dev_access(struct mmn_device *dev, const struct mmn_spte *s,
		      unsigned long va, bool write, uint64_t *val)
{
	unsigned long pfn = s->pfn + ((va - s->va) >> PAGE_SHIFT);
	struct page *page = pfn_to_page(pfn);
	uint64_t *word = (uint64_t *)__mmn_page_data(page) +
			 (va & (PAGE_SIZE - 1)) / sizeof(uint64_t);
	const struct window *w;
	const char *rule = NULL;
	uint64_t now;
	struct loc l;

	if (write)
		now = history_add("%s write %#lx = %#" PRIx64 " via pfn %#lx",
				  dev->name, va, *val, pfn);
	else
		now = history_add("%s read %#lx via pfn %#lx", dev->name, va, pfn);
	(void)now;

	w = check_windows(dev, s, va, pfn, write, &rule);
	if (w) {
		struct mmn_buf b = { 0 };

		report_head(&b, MMN_V_ACCESS_AFTER_INVALIDATE, dev);
		report_access_line(&b, write, va, dev, dev->mm);
		report_spte(&b, s);
		mmn_buf_printf(&b, " contract point #%" PRIu64 ": %s\n", w->t_contract, w->what);
		if (w->t_end != UINT64_MAX)
			mmn_buf_printf(&b, " range ended at #%" PRIu64 "\n", w->t_end);
		mmn_buf_printf(&b, " rule: %s\n", rule);
		report_finish(&b, MMN_V_ACCESS_AFTER_INVALIDATE, dev->name);
	}

	/* generations: the frame was freed since the translation was made */
	if (pfn_to_page(s->pfn)->gen != s->gen) {
		struct mmn_buf b = { 0 };

		report_head(&b, MMN_V_USE_AFTER_FREE, dev);
		report_access_line(&b, write, va, dev, dev->mm);
		report_spte(&b, s);
		mmn_buf_printf(&b, " frame %#lx is at generation %u: freed since the translation was made%s\n",
			       s->pfn, pfn_to_page(s->pfn)->gen,
			       page_count(pfn_to_page(s->pfn)) ? ", and reused" : "");
		report_finish(&b, MMN_V_USE_AFTER_FREE, dev->name);
		/* the access still happens: hardware does not know */
		if (write)
			__atomic_store_n(word, *val, __ATOMIC_RELAXED);
		else
			*val = __atomic_load_n(word, __ATOMIC_RELAXED);
		return 0;
	}

	/*
	 * The primary already moved the location away from this frame, but
	 * the device's contract point for that has not come yet: an IOTLB hit
	 * between a zap and the TLB flush that follows the range end (SVA), a
	 * legacy driver before its invalidate_page.  Legal, as the CPU's own
	 * TLB is: the access is ordered before the change.  A read returns
	 * the frame's old content, a write goes to a frame the location has
	 * already left; neither says anything about the location's ghost.
	 */
	if (!w && !primary_maps(dev->mm, va, pfn, false) &&
	    !contract_since(dev, va, s->born)) {
		if (write) {
			__atomic_store_n(word, *val, __ATOMIC_RELAXED);
			/*
			 * The write lands before the device's flush: the
			 * frame still carries the location's data unless the
			 * location started over since the translation was
			 * made (a zap: DONTNEED, munmap -- the frame is
			 * dropped, the write with it).  Reclaim and migration
			 * keep the data: they write out or copy the frame
			 * after the flush.
			 */
			l = page_location(dev->mm, va, page);
			if (reset_since(l.key, s->born) == 0) {
				ghost_set(&l, *val);
				fork_share_write(&l, s->born, pfn, *val);
			}
		} else {
			*val = __atomic_load_n(word, __ATOMIC_RELAXED);
		}
		return 0;
	}

	l = page_location(dev->mm, va, page);
	if (write) {
		const struct seal *seal = seal_find(pfn, page->gen, l.key);

		if (seal) {
			struct mmn_buf b = { 0 };

			report_head(&b, MMN_V_LOST_WRITE, dev);
			report_access_line(&b, true, va, dev, dev->mm);
			report_spte(&b, s);
			mmn_buf_printf(&b, " value %#" PRIx64 " went to frame %#lx, whose content the primary consumed at #%" PRIu64 " (%s)\n",
				       *val, pfn, seal->clock, seal->why);
			mmn_buf_printf(&b, " the write is lost: the location now lives in another frame\n");
			report_finish(&b, MMN_V_LOST_WRITE, dev->name);
		}
		__atomic_store_n(word, *val, __ATOMIC_RELAXED);
		ghost_set(&l, *val);
		fork_share_write(&l, s->born, pfn, *val);
	} else {
		uint64_t got = __atomic_load_n(word, __ATOMIC_RELAXED);
		uint64_t want = ghost_get(&l);

		*val = got;
		if (got != want) {
			struct mmn_buf b = { 0 };

			report_head(&b, MMN_V_STALE_READ, dev);
			report_access_line(&b, false, va, dev, dev->mm);
			report_spte(&b, s);
			mmn_buf_printf(&b, " value changed: %#" PRIx64 " -> %#" PRIx64 " (read %#" PRIx64 ", last written %#" PRIx64 ")\n",
				       got, want, got, want);
			report_finish(&b, MMN_V_STALE_READ, dev->name);
		}
	}
	return 0;
}

int mmn_dev_read(struct mmn_device *dev, const struct mmn_spte *s,
		 unsigned long va, uint64_t *val)
{
	mmn_sched_point(MMN_SP_DEV_ACCESS, dev);
	dev->accesses++;
	if (!mmn_check_enabled) {
		struct page *page = pfn_to_page(s->pfn + ((va - s->va) >> PAGE_SHIFT));
		uint64_t *word = (uint64_t *)__mmn_page_data(page) +
				 (va & (PAGE_SIZE - 1)) / sizeof(uint64_t);

		*val = __atomic_load_n(word, __ATOMIC_RELAXED);
		return 0;
	}
	mmn_check_lock();
	dev_access(dev, s, va, false, val);
	mmn_check_unlock();
	return 0;
}

int mmn_dev_write(struct mmn_device *dev, const struct mmn_spte *s,
		  unsigned long va, uint64_t val)
{
	if (!s->writable)
		return -EPERM;
	mmn_sched_point(MMN_SP_DEV_ACCESS, dev);
	dev->accesses++;
	if (!mmn_check_enabled) {
		struct page *page = pfn_to_page(s->pfn + ((va - s->va) >> PAGE_SHIFT));
		uint64_t *word = (uint64_t *)__mmn_page_data(page) +
				 (va & (PAGE_SIZE - 1)) / sizeof(uint64_t);

		__atomic_store_n(word, val, __ATOMIC_RELAXED);
		return 0;
	}
	mmn_check_lock();
	dev_access(dev, s, va, true, &val);
	mmn_check_unlock();
	return 0;
}

void mmn_spte_make(struct mmn_device *dev, struct mmn_spte *s,
		   unsigned long va, struct page *page, bool writable,
		   unsigned int order)
{
	unsigned long size = PAGE_SIZE << order;

	s->va = va & ~(size - 1);
	s->pfn = page_to_pfn(page);
	s->gen = page->gen;
	s->order = (uint8_t)order;
	s->writable = writable;
	s->stale_at_birth = false;
	s->born = 0;
	if (!mmn_check_enabled)
		return;
	mmn_check_lock();
	/* a 2 MiB translation is stale if any of its 512 frames is */
	for (unsigned long i = 0; i < (1UL << order) && !s->stale_at_birth; i++)
		s->stale_at_birth = !primary_maps(dev->mm, s->va + i * PAGE_SIZE,
						  s->pfn + i, writable);
	s->born = history_add("%s maps %#lx -> pfn %#lx %s%s%s", dev->name, s->va,
			      s->pfn, writable ? "rw" : "ro", order ? " (2M)" : "",
			      s->stale_at_birth ? " (stale)" : "");
	mmn_check_unlock();
}

/*
 * Demote a 2 MiB translation into 4 KiB ones over the same frames, as
 * KVM's make_huge_page_split_spte() does: each keeps the huge one's birth
 * (it is the same translation, still older than any contract point the
 * huge one was older than), permissions and staleness.  The generation is
 * each frame's own: the frames of a compound page are freed together, so
 * while the head is at @huge's generation every frame is at the one it had
 * when @huge was made; once the head moved on, the sub-translations are as
 * dead as @huge (use-after-free at their first use).
 */
void mmn_spte_split(struct mmn_device *dev, const struct mmn_spte *huge,
		    struct mmn_spte *sub)
{
	unsigned long nr = 1UL << huge->order;
	bool freed = __atomic_load_n(&pfn_to_page(huge->pfn)->gen,
				     __ATOMIC_ACQUIRE) != huge->gen;

	for (unsigned long i = 0; i < nr; i++) {
		uint32_t gen = __atomic_load_n(&pfn_to_page(huge->pfn + i)->gen,
					       __ATOMIC_ACQUIRE);

		sub[i] = *huge;
		sub[i].va = huge->va + i * PAGE_SIZE;
		sub[i].pfn = huge->pfn + i;
		sub[i].order = 0;
		sub[i].gen = freed ? gen - 1 : gen;
	}
	if (!mmn_check_enabled || !huge->order)
		return;
	mmn_check_lock();
	history_add("%s splits %#lx -> pfn %#lx (2M, made at #%" PRIu64 ") into %lu 4K translations",
		    dev->name, huge->va, huge->pfn, huge->born, nr);
	mmn_check_unlock();
}

/* ------------------------------------------------------------------ */
/* Primary-side hooks.                                                  */

void __mmn_check_cpu_access(struct mm_struct *mm, unsigned long va,
			    struct page *page, uint64_t *word, bool write,
			    uint64_t *valp)
{
	struct loc l;

	mmn_check_lock();
	l = page_location(mm, va, page);
	if (write) {
		const struct alias *a = unlikely(nr_aliases) ? alias_find(mm, va) : NULL;
		const struct seal *seal;

		/*
		 * Through an alias (an XPMEM attachment) the CPU is a secondary
		 * MMU of the exporter: a write to a frame the exporter's
		 * primary consumed for that location is lost, as a device's.
		 */
		if (a && (seal = seal_find(page_to_pfn(page), page->gen, l.key))) {
			struct mmn_buf b = { 0 };

			report_head(&b, MMN_V_LOST_WRITE, NULL);
			report_access_line(&b, true, va, NULL, mm);
			mmn_buf_printf(&b, " through a PFN map of %s %#lx\n",
				       mmn_mm_name(a->target),
				       a->target_start + (va - a->start));
			mmn_buf_printf(&b, " value %#" PRIx64 " went to frame %#lx, whose content the primary consumed at #%" PRIu64 " (%s)\n",
				       *valp, page_to_pfn(page), seal->clock, seal->why);
			mmn_buf_printf(&b, " the write is lost: the location now lives in another frame\n");
			report_finish(&b, MMN_V_LOST_WRITE, "cpu");
		}
		__atomic_store_n(word, *valp, __ATOMIC_RELAXED);
		history_add("%s store %#lx = %#" PRIx64, mmn_mm_name(mm), va, *valp);
		ghost_set(&l, *valp);
	} else {
		uint64_t val = __atomic_load_n(word, __ATOMIC_RELAXED);
		uint64_t want = ghost_get(&l);

		*valp = val;
		history_add("%s load %#lx -> %#" PRIx64, mmn_mm_name(mm), va, val);

		if (val != want) {
			struct mmn_buf b = { 0 };

			report_head(&b, MMN_V_STALE_READ, NULL);
			report_access_line(&b, false, va, NULL, mm);
			mmn_buf_printf(&b, " frame %#lx\n", page_to_pfn(page));
			mmn_buf_printf(&b, " value changed: %#" PRIx64 " -> %#" PRIx64 " (the CPU read %#" PRIx64 ", the last write to this location was %#" PRIx64 ")\n",
				       val, want, val, want);
			mmn_buf_printf(&b, " someone wrote this frame through a translation that no longer belongs to this location\n");
			report_finish(&b, MMN_V_STALE_READ, "cpu");
		}
	}
	mmn_check_unlock();
}

void __mmn_check_fork_page(struct mm_struct *src, struct mm_struct *dst,
			   unsigned long addr)
{
	struct ghost_page *from, *to;

	mmn_check_lock();
	from = ghost_page_get(loc_key_anon(src, addr), src, false);
	if (from) {
		to = ghost_page_get(loc_key_anon(dst, addr), dst, true);
		memcpy(to->w, from->w, sizeof(to->w));
	}
	fork_share_add(src, dst, addr & PAGE_MASK);
	mmn_check_unlock();
}

/* dup_mmap flushed the parent's TLB: the fork shares of @src end. */
void __mmn_check_fork_done(struct mm_struct *src)
{
	uint64_t key = loc_key_anon(src, 0) & ~LOC_IDX_MASK;

	mmn_check_lock();
	for (unsigned long i = 0; fork_shares.used && i < fork_shares.cap; i++) {
		if (fork_shares.keys[i] >= HMAP_TOMB ||
		    (fork_shares.keys[i] & ~LOC_IDX_MASK) != key)
			continue;
		free(fork_shares.vals[i]);
		fork_shares.keys[i] = HMAP_TOMB;
	}
	mmn_check_unlock();
}

void __mmn_check_reset_range(struct mm_struct *mm, unsigned long start,
			     unsigned long end)
{
	mmn_check_lock();
	history_add("%s [%#lx-%#lx) starts over (zero)", mmn_mm_name(mm), start, end);
	if (((end - start) >> PAGE_SHIFT) <= 4096) {
		uint64_t now = check_clock;

		for (unsigned long a = start & PAGE_MASK; a < end; a += PAGE_SIZE) {
			ghost_drop(loc_key_anon(mm, a));
			*hmap_slot(&resets, loc_key_anon(mm, a), true) = (void *)(uintptr_t)now;
		}
	} else {
		for (unsigned long i = 0; i < ghosts.cap; i++) {
			struct ghost_page *g;
			unsigned long a;

			if (ghosts.keys[i] >= HMAP_TOMB)
				continue;
			g = ghosts.vals[i];
			if (g->obj != mm || (g->key & LOC_FILE))
				continue;
			a = (g->key & LOC_IDX_MASK) << PAGE_SHIFT;
			if (a >= start && a < end) {
				free(g);
				ghosts.keys[i] = HMAP_TOMB;
			}
		}
	}
	mmn_check_unlock();
}

void __mmn_check_mm_gone(struct mm_struct *mm)
{
	mmn_check_lock();
	ghost_drop_matching(loc_key_anon(mm, 0) & ~LOC_IDX_MASK, ~LOC_IDX_MASK);
	mmn_check_unlock();
}

/* A shared-memory object is gone: its locations with it. */
void __mmn_check_mapping_gone(struct address_space *mapping)
{
	if (!mmn_check_enabled)
		return;
	mmn_check_lock();
	ghost_drop_matching(loc_key_file(mapping, 0) & ~LOC_IDX_MASK, ~LOC_IDX_MASK);
	mmn_check_unlock();
}

void __mmn_check_consumed(struct page *src, struct mm_struct *mm,
			  unsigned long va, const char *why)
{
	struct loc l = page_location(mm, va, src);
	uint64_t now;

	/* caller holds check_lock (the copy and the seal are one step) */
	now = history_add("%s consumed pfn %#lx for %s %#lx", why,
			  page_to_pfn(src), mmn_mm_name(mm), va & PAGE_MASK);
	seal_add(page_to_pfn(src), src->gen, l.key, now, why);
}

void mmn_check_seal(struct page *page, struct mm_struct *mm, unsigned long va,
		    const char *why)
{
	if (!mmn_check_enabled)
		return;
	mmn_check_lock();
	__mmn_check_consumed(page, mm, va, why);
	mmn_check_unlock();
}

static void seal_all_locked(struct page *page, const char *why)
{
	uint64_t now = history_add("%s consumed pfn %#lx", why, page_to_pfn(page));

	seal_add(page_to_pfn(page), page->gen, SEAL_ALL, now, why);
}

void mmn_check_seal_all(struct page *page, const char *why)
{
	if (!mmn_check_enabled)
		return;
	mmn_check_lock();
	seal_all_locked(page, why);
	mmn_check_unlock();
}

void mmn_copy_page_consumed_all(struct page *dst, struct page *src,
				const char *why)
{
	if (!mmn_check_enabled) {
		copy_page_data(dst, src);
		return;
	}
	mmn_check_lock();
	copy_page_data(dst, src);
	if (!is_zero_pfn(page_to_pfn(src)))
		seal_all_locked(src, why);
	mmn_check_unlock();
}

void __mmn_check_move_range(struct mm_struct *mm, unsigned long old,
			    unsigned long new, unsigned long len)
{
	mmn_check_lock();
	history_add("%s mremap %#lx-%#lx -> %#lx", mmn_mm_name(mm), old,
		    old + len, new);
	for (unsigned long off = 0; off < len; off += PAGE_SIZE) {
		uint64_t from = loc_key_anon(mm, old + off);
		uint64_t to = loc_key_anon(mm, new + off);
		void **v = hmap_slot(&ghosts, from, false);
		struct ghost_page *g;

		ghost_drop(to);
		if (!v || !*v)
			continue;
		g = *v;
		hmap_del(&ghosts, from);
		g->key = to;
		*hmap_slot(&ghosts, to, true) = g;
	}
	mmn_check_unlock();
}

void mmn_check_reset_file(struct address_space *mapping, unsigned long from,
			  unsigned long to)
{
	if (!mmn_check_enabled)
		return;
	mmn_check_lock();
	for (unsigned long i = 0; i < ghosts.cap; i++) {
		struct ghost_page *g;
		unsigned long idx;

		if (ghosts.keys[i] >= HMAP_TOMB)
			continue;
		g = ghosts.vals[i];
		if (g->obj != mapping || !(g->key & LOC_FILE))
			continue;
		idx = g->key & LOC_IDX_MASK;
		if (idx >= from && idx < to) {
			free(g);
			ghosts.keys[i] = HMAP_TOMB;
		}
	}
	mmn_check_unlock();
}

void mmn_copy_page_consumed(struct page *dst, struct page *src,
			    struct mm_struct *mm, unsigned long va,
			    const char *why)
{
	if (!mmn_check_enabled) {
		copy_page_data(dst, src);
		return;
	}
	mmn_check_lock();
	copy_page_data(dst, src);
	if (!is_zero_pfn(page_to_pfn(src)))
		__mmn_check_consumed(src, mm, va, why);
	mmn_check_unlock();
}

/* ------------------------------------------------------------------ */
/* Run begin / audit / end.                                             */

static void free_ptr(void *p)
{
	free(p);
}

/*
 * The notifier core's observer hook: the exits of the invalidation
 * callbacks are contract points, range ends close windows.  Called in the
 * context of the task running the callback; may not sleep.
 */
static void check_notifier_hook(const struct mn_call *c, bool exit)
{
	int ev = c->range ? (int)c->range->event : -1;

	if (!exit) {
		switch (c->cb) {
		case MN_CB_INVALIDATE_RANGE_START:
		case MN_CB_INTERVAL_INVALIDATE:
		case MN_CB_ARCH_INVALIDATE_SECONDARY_TLBS:
		case MN_CB_INVALIDATE_RANGE:
		case MN_CB_INVALIDATE_PAGE:
		case MN_CB_CHANGE_PTE:
		case MN_CB_RELEASE:
			mmn_check_lock();
			enter_put(c->sub, __mmn_notifier_callback_name(c->cb));
			mmn_check_unlock();
			break;
		default:
			break;
		}
		return;
	}
	switch (c->cb) {
	case MN_CB_INVALIDATE_RANGE_START:
		if (c->ret == 0)
			__mmn_check_contract(c->sub, MMN_CONTRACT_RANGE_START, c->mm,
					     c->start, c->end, ev);
		break;
	case MN_CB_INTERVAL_INVALIDATE:
		if (c->ret)
			__mmn_check_contract(c->sub, MMN_CONTRACT_INTERVAL, c->mm,
					     c->start, c->end, ev);
		break;
	case MN_CB_ARCH_INVALIDATE_SECONDARY_TLBS:
		__mmn_check_contract(c->sub, MMN_CONTRACT_SECONDARY_TLBS, c->mm,
				     c->start, c->end, -1);
		break;
	case MN_CB_INVALIDATE_RANGE:
		__mmn_check_contract(c->sub, MMN_CONTRACT_INVALIDATE_RANGE, c->mm,
				     c->start, c->end, -1);
		break;
	case MN_CB_INVALIDATE_PAGE:
		__mmn_check_contract(c->sub, MMN_CONTRACT_INVALIDATE_PAGE, c->mm,
				     c->start, c->end, -1);
		break;
	case MN_CB_CHANGE_PTE:
		__mmn_check_contract(c->sub, MMN_CONTRACT_CHANGE_PTE, c->mm,
				     c->start, c->end, -1);
		break;
	case MN_CB_RELEASE:
		__mmn_check_contract(c->sub, MMN_CONTRACT_RELEASE, c->mm, 0,
				     ULONG_MAX, MMU_NOTIFY_RELEASE);
		break;
	case MN_CB_INVALIDATE_RANGE_END:
	case MN_CB_INTERVAL_END:
		__mmn_check_range_end(c->sub, c->mm, c->start, c->end, ev);
		break;
	default:
		break;
	}
}

static void check_reset(void)
{
	hmap_free(&ghosts, free_ptr);
	hmap_free(&seals, free_ptr);
	hmap_free(&resets, NULL);
	hmap_free(&unnotified, NULL);
	hmap_free(&fork_shares, free_ptr);
	history_next = 0;
	check_clock = 0;
	nr_tracked = 0;
	nr_entered = 0;
}

void mmn_check_begin(void)
{
	mmn_check_lock();
	check_reset();
	mmn_check_enabled = true;
	__mmn_device_reset_ids();
	mmn_check_unlock();
	__atomic_store_n(&__mmn_notifier_hook, check_notifier_hook, __ATOMIC_RELEASE);
}

void mmn_check_end(void)
{
	__atomic_store_n(&__mmn_notifier_hook, NULL, __ATOMIC_RELEASE);
	mmn_check_lock();
	mmn_check_enabled = false;
	check_reset();
	mmn_check_unlock();
}

struct audit_ctx {
	unsigned long mismatches;
};

/* Compare the words @data the primary would read at (@mm, @va), location
 * @l, with the ghost; @pfn names the frame (~0UL: a swap slot). */
static void audit_words(struct mm_struct *mm, unsigned long va,
			const uint64_t *data, struct loc l, unsigned long pfn,
			struct audit_ctx *ac)
{
	struct ghost_page *g = ghost_page_get(l.key, l.obj, false);

	for (unsigned int i = 0; i < MMN_PAGE_WORDS; i++) {
		uint64_t got = __atomic_load_n(&data[i], __ATOMIC_RELAXED);
		uint64_t want = g ? g->w[i] : 0;
		struct mmn_buf b = { 0 };

		if (got == want)
			continue;
		ac->mismatches++;
		mmn_buf_printf(&b, "BUG: mmnlab: audit mismatch at the end of the run\n");
		if (pfn == ~0UL)
			mmn_buf_printf(&b, "%s %#lx (swapped out): the swap slot holds %#" PRIx64 ", the last write to this location was %#" PRIx64 "\n",
				       mmn_mm_name(mm), va + i * 8, got, want);
		else
			mmn_buf_printf(&b, "%s %#lx (frame %#lx): memory holds %#" PRIx64 ", the last write to this location was %#" PRIx64 "\n",
				       mmn_mm_name(mm), va + i * 8, pfn, got, want);
		report_finish(&b, MMN_V_AUDIT, "audit");
		return;		/* one report per page */
	}
}

/* Compare one mapped page of @mm at @va (frame @page) with the ghost. */
static void audit_page(struct mm_struct *mm, unsigned long va,
		       struct page *page, struct audit_ctx *ac)
{
	audit_words(mm, va, __mmn_page_data(page), page_location(mm, va, page),
		    page_to_pfn(page), ac);
}

/*
 * A swap or migration entry at (@mm, @va): audit what the primary would
 * read back -- the swap-cache page if the slot still has one, else the
 * slot's saved data; the page under migration for a migration entry.
 */
static void audit_swap_pte(struct mm_struct *mm, unsigned long va, uint64_t e,
			   struct audit_ctx *ac)
{
	unsigned long pfn;
	const uint64_t *data = __mmn_swap_audit_data(__pte(e), &pfn);
	struct page *page = pfn == ~0UL ? NULL : pfn_to_page(pfn);

	if (!data)
		return;
	/* a file page under migration keeps its file location; a swap slot
	 * or swap-cache page is the anon location of this mm */
	audit_words(mm, va, data, page_location(mm, va, page), pfn, ac);
}

/*
 * Walk every present leaf of @t (a table of @level covering from @base),
 * as the MMU would, and audit the frames behind it.  Special ptes (no
 * struct page: PFN maps) are skipped: their locations belong to the mm
 * that owns the frame.
 */
static void audit_table(struct mm_struct *mm, struct pgtable *t, int level,
			unsigned long base, struct audit_ctx *ac)
{
	unsigned long span = 1UL << (PAGE_SHIFT + 9 * level);

	for (unsigned int i = 0; i < PTRS_PER_TABLE; i++) {
		uint64_t e = __entry_get(&t->e[i]);
		unsigned long va = base + i * span;

		if (level == 0 && e && !(e & (_PAGE_PRESENT | _PAGE_PROTNONE))) {
			audit_swap_pte(mm, va, e, ac);
			continue;
		}
		if (!(e & _PAGE_PRESENT))
			continue;
		if (level == 0) {
			if (!(e & _PAGE_SPECIAL) || is_zero_pfn(pte_pfn(__pte(e))))
				audit_page(mm, va, pfn_to_page(pte_pfn(__pte(e))), ac);
		} else if (level == 1 && (e & _PAGE_PSE)) {
			for (unsigned long k = 0; k < HPAGE_PMD_NR; k++)
				audit_page(mm, va + k * PAGE_SIZE,
					   pfn_to_page(pmd_pfn(__pmd(e)) + k), ac);
		} else {
			audit_table(mm, entry_table(e), level - 1, va, ac);
		}
	}
}

static void audit_mm(struct mm_struct *mm, void *arg)
{
	if (READ_ONCE(mm->mm_users) <= 0)
		return;
	mmn_check_lock();
	audit_table(mm, mm->pgd, 3, 0, arg);
	mmn_check_unlock();
}

/*
 * The end-of-run audit: with nothing else running, read every mapped
 * location through the primary and compare it with the ghost, so that a
 * lost write is caught even when nobody reads it again.
 */
unsigned long mmn_check_audit(void)
{
	struct audit_ctx ac = { 0 };

	if (!mmn_check_enabled)
		return 0;
	/* mmlist_lock is a modelled lock: take it outside check_lock */
	__mmn_for_each_mm(audit_mm, &ac);
	return ac.mismatches;
}
