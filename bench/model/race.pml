/*
 * The fault-vs-invalidate race of race.mmn, in Promela, for SPIN 6.5.
 * bench/model/run-spin builds and runs it (spin -a, gcc pan.c, ./pan);
 * -DCORRECT gives the correct form, which SPIN proves safe.
 *
 * A device caches a translation (spte) of the CPU's page under a sequence
 * count (seq: mmu_interval_read_begin waits for an even one, read_retry
 * compares).  The CPU remaps the page: the driver's invalidate callback,
 * under the driver's lock, makes the sequence odd and erases the
 * translation; once it returned (the contract point) no translation of
 * the old frame may be used; then the CPU's page table points at a new
 * frame, and invalidate_range_end makes the sequence even again.  The
 * broken device checks the sequence before taking the lock
 * (dmirror/retry-outside-lock).
 */
byte pte = 1;			/* the frame the CPU maps */
byte spte = 0;			/* the device's translation, 0: none */
byte seq = 0;			/* the interval notifier's sequence: odd
				 * while an invalidation is in progress */
bool lock = false;		/* the driver's mutex */
bool invalidated = false;	/* the invalidation's contract point passed */

inline acquire() { atomic { !lock -> lock = true } }
inline release() { lock = false }

active proctype cpu()
{
	/* migration: invalidate_range_start -> the driver's invalidate */
	acquire();
	seq++;
	spte = 0;
	release();
	invalidated = true;
	/* the new frame */
	pte = 2;
	/* invalidate_range_end */
	seq++
}

active proctype device()
{
	byte s, p;

	/* a miss: the fault path */
retry:
	atomic { seq % 2 == 0 -> s = seq }	/* mmu_interval_read_begin */
	p = pte;		/* hmm_range_fault */
#ifdef CORRECT
	acquire();
	if
	:: seq != s -> release(); goto retry
	:: else -> skip
	fi;
#else
	if			/* read_retry, outside the lock */
	:: seq != s -> goto retry
	:: else -> skip
	fi;
	acquire();
#endif
	spte = p;
	release();
	/* the DMA through the translation it holds now */
	assert(!(invalidated && spte == 1))
}
