// SPDX-License-Identifier: GPL-2.0
/*
 * mmntest: the real-kernel half of the validation (docs/validation.md).
 * Runs as PID 1's child in a QEMU guest with our mmntrace module loaded,
 * performs the lab's phases on a fixed "arena" of the address space, one
 * marker ("phase NAME") before each, and prints the module's log on
 * stdout, each line prefixed "MMNT: ".  tools/kernel-check normalises it.
 *
 * The arena and its regions are the ones the lab program uses
 * (tools/kernel-check/phases.c); keep the two in step:
 *
 *   A  arena+0x0000000  16 pages private anon: fault-in .. munmap, remove
 *   B  arena+0x0400000   4 pages private anon, + a guard page: mremap
 *   K  arena+0x0800000   8 identical pages: KSM
 *   P  arena+0x0c00000   8 pages: MADV_PAGEOUT to zram, swap-in
 *   M  arena+0x1000000   4 pages: move_pages to the other NUMA node
 *   H  arena+0x1400000   2 MiB: MADV_COLLAPSE, then a split by mprotect
 *   F  arena+0x1800000   8 pages of a memfd (tmpfs), MAP_SHARED: truncate
 *
 * Each region is mapped in its own phase (right before the marker), so
 * that fork sees only A.  The interval notifier covers the whole arena.
 * Built with gcc -static; needs no library beyond libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../mmntrace/mmntrace.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif

#define PG		4096UL
#define ARENA		0x10000000UL
#define ARENA_LEN	0x4000000UL
#define A		(ARENA + 0x0000000UL)
#define B		(ARENA + 0x0400000UL)
#define K		(ARENA + 0x0800000UL)
#define P		(ARENA + 0x0c00000UL)
#define M		(ARENA + 0x1000000UL)
#define H		(ARENA + 0x1400000UL)
#define F		(ARENA + 0x1800000UL)

static int dev = -1;
static int failures;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("MMNT-FAIL ");
	vprintf(fmt, ap);
	printf(" (errno %d: %s)\n", errno, strerror(errno));
	va_end(ap);
	fflush(stdout);
	exit(1);
}

/* a phase could not do what it must; the run fails, the others go on */
static void phase_fail(const char *phase, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("MMNT-FAIL phase %s: ", phase);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	failures++;
}

static void mark_on(int fd, const char *fmt, ...)
{
	struct mmntr_mark mk = { { 0 } };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mk.text, sizeof(mk.text), fmt, ap);
	va_end(ap);
	if (ioctl(fd, MMNTR_MARK, &mk))
		die("MMNTR_MARK");
}

#define phase(name) mark_on(dev, "phase %s", name)

static void map_fixed(unsigned long addr, unsigned long len, int prot, int flags,
		      int fd)
{
	void *p = mmap((void *)addr, len, prot, flags | MAP_FIXED_NOREPLACE,
		       fd, 0);

	if (p != (void *)addr)
		die("mmap %#lx len %#lx", addr, len);
}

static void touch(unsigned long addr, unsigned long pages, uint64_t val)
{
	for (unsigned long i = 0; i < pages; i++)
		*(volatile uint64_t *)(addr + i * PG) = val + i;
}

static long read_long(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	long v = -1;

	if (fd >= 0) {
		if (read(fd, buf, sizeof(buf) - 1) > 0)
			v = strtol(buf, NULL, 10);
		close(fd);
	}
	return v;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void insert_interval(int fd)
{
	struct mmntr_interval iv = { ARENA, ARENA_LEN };

	if (ioctl(fd, MMNTR_INTERVAL_INSERT, &iv))
		die("MMNTR_INTERVAL_INSERT");
}

/* ---- phases ---------------------------------------------------------- */

static int child_pipe[2];
static pid_t child;

static void ph_fault_in(void)
{
	phase("fault-in");
	map_fixed(A, 16 * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1);
	touch(A, 16, 0x1000);
}

static void ph_fork(void)
{
	char c;

	if (pipe(child_pipe))
		die("pipe");
	phase("fork");
	child = fork();
	if (child < 0)
		die("fork");
	if (!child) {
		close(child_pipe[1]);
		while (read(child_pipe[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(child_pipe[0]);
}

static void ph_cow(void)
{
	phase("cow");
	touch(A + 2 * PG, 1, 7);	/* COW copy: the child shares it */
	touch(A + 2 * PG, 1, 8);	/* now writable: nothing */
}

static void ph_reuse(void)
{
	int status;

	close(child_pipe[1]);
	if (waitpid(child, &status, 0) != child)
		die("waitpid");
	phase("reuse");
	touch(A + 3 * PG, 1, 9);	/* sole owner: reused, no copy */
}

static void ph_dontneed(void)
{
	phase("dontneed");
	if (madvise((void *)(A + 4 * PG), 4 * PG, MADV_DONTNEED))
		die("MADV_DONTNEED");
}

static void ph_mprotect(void)
{
	phase("mprotect-ro");
	if (mprotect((void *)A, 16 * PG, PROT_READ))
		die("mprotect RO");
	phase("mprotect-rw");
	if (mprotect((void *)A, 16 * PG, PROT_READ | PROT_WRITE))
		die("mprotect RW");
}

static void ph_munmap(void)
{
	phase("munmap");
	if (munmap((void *)(A + 8 * PG), 8 * PG))
		die("munmap");
}

static void ph_mremap(void)
{
	void *p;

	map_fixed(B, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	/* a guard right after B: growing in place is impossible */
	map_fixed(B + 4 * PG, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	touch(B, 4, 0x2000);
	phase("mremap");
	p = mremap((void *)B, 4 * PG, 8 * PG, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		die("mremap");
	if (p == (void *)B)
		phase_fail("mremap", "grew in place despite the guard");
	else if (*(volatile uint64_t *)((char *)p + 3 * PG) != 0x2003)
		phase_fail("mremap", "data did not move");
}

static void ph_ksm(void)
{
	long shared = 0, sharing = 0;
	int i;

	map_fixed(K, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	for (i = 0; i < 8; i++)
		memset((void *)(K + i * PG), 0x5a, PG);
	phase("ksm-merge");
	if (madvise((void *)K, 8 * PG, MADV_MERGEABLE))
		die("MADV_MERGEABLE");
	for (i = 0; i < 500; i++) {	/* 10 ms ksmd sleeps: ~20 ms here */
		shared = read_long("/sys/kernel/mm/ksm/pages_shared");
		sharing = read_long("/sys/kernel/mm/ksm/pages_sharing");
		if (shared == 1 && sharing == 7)
			break;
		sleep_ms(10);
	}
	if (shared != 1 || sharing != 7)
		phase_fail("ksm-merge", "not merged: shared=%ld sharing=%ld",
			   shared, sharing);
	/* let ksmd finish the pass that merged them */
	sleep_ms(100);
	phase("ksm-unmerge");
	if (madvise((void *)K, 8 * PG, MADV_UNMERGEABLE))
		die("MADV_UNMERGEABLE");
	for (i = 0; i < 8; i++)
		if (*(volatile uint8_t *)(K + i * PG) != 0x5a)
			phase_fail("ksm-unmerge", "page %d lost its data", i);
}

static void ph_pageout(void)
{
	unsigned char vec[8];
	int i, resident = 0;

	map_fixed(P, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	touch(P, 8, 0x3000);
	phase("pageout");
	if (madvise((void *)P, 8 * PG, MADV_PAGEOUT))
		die("MADV_PAGEOUT");
	if (mincore((void *)P, 8 * PG, vec))
		die("mincore");
	for (i = 0; i < 8; i++)
		resident += vec[i] & 1;
	if (resident)
		phase_fail("pageout", "%d of 8 pages still resident (no swap?)",
			   resident);
	phase("swapin");
	for (i = 0; i < 8; i++)
		if (*(volatile uint64_t *)(P + i * PG) != 0x3000u + i)
			phase_fail("swapin", "page %d lost its data", i);
}

static void ph_migrate(void)
{
	void *pages[4];
	int nodes[4], status[4], i, target;

	map_fixed(M, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	touch(M, 4, 0x4000);
	for (i = 0; i < 4; i++)
		pages[i] = (void *)(M + i * PG);
	if (syscall(SYS_move_pages, 0, 4, pages, NULL, status, 0))
		die("move_pages query");
	target = status[0] == 0 ? 1 : 0;
	for (i = 0; i < 4; i++)
		nodes[i] = target;
	phase("migrate");
	if (syscall(SYS_move_pages, 0, 4, pages, nodes, status, MPOL_MF_MOVE))
		die("move_pages");
	for (i = 0; i < 4; i++)
		if (status[i] != target)
			phase_fail("migrate", "page %d: status %d, want node %d",
				   i, status[i], target);
}

static void ph_thp(void)
{
	/* THP is "never" in the guest: 512 small pages, collapsed on request */
	map_fixed(H, 512 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	touch(H, 512, 0x5000);
	phase("collapse");
	if (madvise((void *)H, 512 * PG, MADV_COLLAPSE))
		phase_fail("collapse", "MADV_COLLAPSE: %s", strerror(errno));
	phase("thp-split");
	if (mprotect((void *)(H + PG), PG, PROT_READ))
		die("mprotect inside the THP");
}

static void ph_file(void)
{
	int fd = memfd_create("mmntest", 0);

	if (fd < 0)
		die("memfd_create");
	if (ftruncate(fd, 8 * PG))
		die("ftruncate 8");
	map_fixed(F, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	touch(F, 8, 0x6000);
	phase("truncate");
	if (ftruncate(fd, 2 * PG))
		die("ftruncate 2");
	phase("punch-hole");
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PG))
		die("fallocate PUNCH_HOLE");
	close(fd);
}

static void ph_remove_unregister(void)
{
	phase("interval-remove");
	if (ioctl(dev, MMNTR_INTERVAL_REMOVE))
		die("MMNTR_INTERVAL_REMOVE");
	if (madvise((void *)A, PG, MADV_DONTNEED))
		die("MADV_DONTNEED after remove");
	phase("unregister");
	if (ioctl(dev, MMNTR_UNREGISTER))
		die("MMNTR_UNREGISTER");
	if (munmap((void *)A, 8 * PG))
		die("munmap after unregister");
}

/* a child with its own registration and interval exits: release */
static void ph_exit(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (!pid) {
		int fd = open(MMNTR_DEV, O_RDWR);

		if (fd < 0 || ioctl(fd, MMNTR_REGISTER))
			_exit(2);
		insert_interval(fd);
		mark_on(fd, "phase exit");
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		phase_fail("exit", "child failed: status %#x", status);
}

/* ---- main ------------------------------------------------------------- */

static void dump_log(void)
{
	static char buf[1 << 16];
	char *line, *save;
	ssize_t n;

	for (;;) {
		n = read(dev, buf, sizeof(buf) - 1);
		if (n < 0)
			die("read log");
		if (n == 0)
			break;
		buf[n] = 0;
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			printf("MMNT: %s\n", line);
			if (line[0] == '!')
				failures++;
		}
	}
}

int main(void)
{
	struct utsname u;
	cpu_set_t cpus;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* one CPU: the per-CPU LRU batches are the local ones, so reuse is
	 * deterministic; node 0's CPU */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus))
		die("sched_setaffinity");
	dev = open(MMNTR_DEV, O_RDWR);
	if (dev < 0)
		die("open %s", MMNTR_DEV);
	uname(&u);
	if (ioctl(dev, MMNTR_CLEAR))
		die("MMNTR_CLEAR");
	mark_on(dev, "kernel %s", u.release);
	mark_on(dev, "arena %#lx %#lx", ARENA, ARENA_LEN);
	if (ioctl(dev, MMNTR_REGISTER))
		die("MMNTR_REGISTER");
	insert_interval(dev);

	ph_fault_in();
	ph_fork();
	ph_cow();
	ph_reuse();
	ph_dontneed();
	ph_mprotect();
	ph_munmap();
	ph_mremap();
	ph_ksm();
	ph_pageout();
	ph_migrate();
	ph_thp();
	ph_file();
	ph_remove_unregister();
	ph_exit();
	mark_on(dev, "end");

	dump_log();
	printf("MMNT-END failures=%d\n", failures);
	return failures ? 1 : 0;
}
