// SPDX-License-Identifier: GPL-2.0
/*
 * The scenario parser: every error message, with its file:line:column,
 * the limits, and the canonical printer (parse(print(x)) == x).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "scenario/scenario.h"

static const char good[] =
	"# a comment line\n"
	"name fork-cow   # trailing comment\n"
	"era 6.12\n"
	"expect violation lost-write\n"
	"frames 256\n"
	"process P\n"
	"map A in P private rw pages 2\n"
	"map S in P shared rw pages 1\n"
	"mirror M dmirror deferred on P\n"
	"\n"
	"cpu T on P {\n"
	"    store A 0xa\n"
	"    store A[1]+8 10\n"
	"    fork C\n"
	"    store C:A 3\n"
	"    load A\n"
	"    loop 3 {\n"
	"        yield\n"
	"        dontneed A 1\n"
	"    }\n"
	"    mprotect A 2 r\n"
	"    munmap A[1] 1\n"
	"    remap A 1\n"
	"    exit C\n"
	"}\n"
	"device D of M {\n"
	"    write A 0xb\n"
	"    read A+16\n"
	"}\n";

/* Parse @text; return the error message ("" when it parsed). */
static const char *parse_err(const char *text)
{
	static char err[512];
	struct scn_scenario *s = scn_parse("t.mmn", text, strlen(text), err,
					   sizeof(err));

	if (s) {
		scn_free(s);
		err[0] = 0;
	}
	return err;
}

#define ASSERT_PARSE_ERROR(text, msg) \
	ASSERT_STR_CONTAINS(parse_err(text), msg)

/* A well-formed file parses into what it says. */
TEST(parse_good)
{
	char err[256];
	struct scn_scenario *s = scn_parse("t.mmn", good, strlen(good), err, sizeof(err));

	ASSERT_TRUE(s != NULL);
	ASSERT_STR_CONTAINS(s->name, "fork-cow");
	ASSERT_EQ(s->era, MMN_ERA_6_12);
	ASSERT_EQ(s->expect, MMN_V_LOST_WRITE);
	ASSERT_EQ(s->frames, 256);
	ASSERT_EQ(s->nprocs, 2);		/* P, and C from the fork */
	ASSERT_EQ(s->procs[1].forked_by, 14);
	ASSERT_EQ(s->nmaps, 2);
	ASSERT_EQ(s->maps[0].pages, 2);
	ASSERT_TRUE(s->maps[1].shared);
	ASSERT_EQ(s->nmirrors, 1);
	ASSERT_STR_CONTAINS(s->mirrors[0].form, "deferred");
	ASSERT_EQ(s->nagents, 2);
	ASSERT_EQ(s->agents[0].nops, 10);
	ASSERT_EQ(s->agents[0].ops[1].addr.off, 4096 + 8);
	ASSERT_EQ(s->agents[0].ops[3].addr.proc, 1);
	ASSERT_EQ(s->agents[0].ops[5].kind, SCN_OP_LOOP);
	ASSERT_EQ(s->agents[0].ops[5].count, 3);
	ASSERT_EQ(s->agents[0].ops[5].nbody, 2);
	ASSERT_EQ(s->agents[1].ops[1].addr.off, 16);
	scn_free(s);
}

/* Printing and parsing again gives the same text (canonical form). */
TEST(print_round_trip)
{
	char err[256], *buf1 = NULL, *buf2 = NULL;
	size_t n1 = 0, n2 = 0;
	struct scn_scenario *s = scn_parse("t.mmn", good, strlen(good), err, sizeof(err)), *t;
	FILE *f;

	ASSERT_TRUE(s != NULL);
	f = open_memstream(&buf1, &n1);
	scn_print(s, f);
	fclose(f);
	t = scn_parse("t2.mmn", buf1, n1, err, sizeof(err));
	ASSERT_TRUE(t != NULL);
	f = open_memstream(&buf2, &n2);
	scn_print(t, f);
	fclose(f);
	ASSERT_EQ(n1, n2);
	ASSERT_EQ(memcmp(buf1, buf2, n1), 0);
	scn_free(s);
	scn_free(t);
	free(buf1);
	free(buf2);
}

/* The name defaults to the file's base name without .mmn. */
TEST(default_name)
{
	char err[256];
	const char *t = "process P\ncpu T on P {\n yield\n}\n";
	struct scn_scenario *s = scn_parse("dir/my-case.mmn", t, strlen(t), err, sizeof(err));

	ASSERT_TRUE(s != NULL);
	ASSERT_STR_CONTAINS(s->name, "my-case");
	ASSERT_EQ(strlen(s->name), strlen("my-case"));
	ASSERT_EQ(s->expect, -1);
	scn_free(s);
}

/* Errors carry file:line:column, what was found and what was expected. */
TEST(error_positions)
{
	ASSERT_PARSE_ERROR("process P\nmap A in P private rw pagez 2\n",
			   "t.mmn:2:23: error: expected 'pages', found 'pagez'");
	ASSERT_PARSE_ERROR("process P\n  bogus\n",
			   "t.mmn:2:3: error: expected a declaration");
	ASSERT_PARSE_ERROR("process P\ncpu T on P {\n  store A 1\n}\n",
			   "t.mmn:3:9: error: unknown mapping 'A'");
}

/* Every message of the declaration grammar. */
TEST(error_declarations)
{
	ASSERT_PARSE_ERROR("era 5.0\n", "unknown era '5.0' (expected 6.12, 6.1 or 2.6.33)");
	ASSERT_PARSE_ERROR("era {\n", "expected an era (6.12, 6.1 or 2.6.33), found '{'");
	ASSERT_PARSE_ERROR("expect perhaps\n", "expected 'ok', 'maybe' or 'violation KIND', found 'perhaps'");
	ASSERT_PARSE_ERROR("expect violation nonsense\n", "unknown violation kind 'nonsense'");
	ASSERT_PARSE_ERROR("expect violation 7\n", "expected a violation kind, found '7'");
	ASSERT_PARSE_ERROR("name\n", "expected a scenario name");
	ASSERT_PARSE_ERROR("frames 3\n", "a frame count 3 is out of range [16, 1048576]");
	ASSERT_PARSE_ERROR("frames 99999999999999999999999\n", "out of range");
	ASSERT_PARSE_ERROR("process 9P\n", "expected a process name, found '9P'");
	ASSERT_PARSE_ERROR("process P\nprocess P\n", "t.mmn:2:9: error: 'P' is already declared");
	ASSERT_PARSE_ERROR("process ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ\n",
			   "is longer than 31 characters");
	ASSERT_PARSE_ERROR("process P\nmap A on P private rw pages 1\n", "expected 'in', found 'on'");
	ASSERT_PARSE_ERROR("process P\nmap A in Q private rw pages 1\n", "unknown process 'Q'");
	ASSERT_PARSE_ERROR("process P\nmap A in P public rw pages 1\n",
			   "expected 'private', 'shared' or 'file FILE', found 'public'");
	ASSERT_PARSE_ERROR("process P\nmap A in P private rwx pages 1\n",
			   "expected a protection (rw, r or none), found 'rwx'");
	ASSERT_PARSE_ERROR("process P\nmap A in P private rw pages 0\n",
			   "a page count 0 is out of range [1, 1024]");
	ASSERT_PARSE_ERROR("process P\nmap A in P private rw pages 1 extra\n",
			   "expected end of line, found 'extra'");
	ASSERT_PARSE_ERROR("process P\nmirror M nodriver on P\n", "unknown driver 'nodriver'");
	ASSERT_PARSE_ERROR("process P\nmirror M dmirror sloppy on P\n",
			   "driver 'dmirror' has no form 'sloppy'");
	ASSERT_PARSE_ERROR("process P\nmirror M dmirror on Q\n", "unknown process 'Q'");
	ASSERT_PARSE_ERROR("process P\nmirror M dmirror correct at P\n", "expected 'on', found 'at'");
	ASSERT_PARSE_ERROR("process P\n", "no agents: a scenario needs at least one 'cpu' or 'device' block");
	ASSERT_PARSE_ERROR("process P\ncpu T at P {\n}\n", "expected 'on', found 'at'");
	ASSERT_PARSE_ERROR("process P\ncpu T on Q {\n}\n", "unknown process 'Q'");
	ASSERT_PARSE_ERROR("process P\ndevice D of M {\n}\n", "unknown mirror 'M'");
	ASSERT_PARSE_ERROR("process P\ndevice D on P {\n}\n", "expected 'of', found 'on'");
	ASSERT_PARSE_ERROR("process P\ncpu T on P\n", "expected '{', found end of line");
	ASSERT_PARSE_ERROR("process P\ncpu T on P { yield\n}\n", "expected end of line after '{', found 'yield'");
	ASSERT_PARSE_ERROR("process P\ncpu T on P {\n yield\n", "expected '}', found end of file");
	ASSERT_PARSE_ERROR("process P\ncpu T on P {\n}\n}\n", "expected a declaration");
	ASSERT_PARSE_ERROR("process P\ncpu T on P {\n fork C\n}\ncpu U on C {\n}\n",
			   "process 'C' is created by a fork; agents run on processes that exist at the start");
	ASSERT_PARSE_ERROR("process P\ncpu T on P {\n fork C\n}\nmirror M dmirror on C\n",
			   "process 'C' is created by a fork; mirrors attach to processes that exist at the start");
	ASSERT_PARSE_ERROR("process P\n$\n", "expected a declaration (name, era, expect, frames, thp, swapcache, process, file, map, mirror, cpu, device or kthread), found '$'");
	ASSERT_PARSE_ERROR("era 6.12\nera 6.1\n", "a second 'era' line (list every era on one line)");
	ASSERT_PARSE_ERROR("thp sometimes\n", "expected 'always', 'madvise' or 'never', found 'sometimes'");
	ASSERT_PARSE_ERROR("swapcache drop\n", "expected 'keep', found 'drop'");
	ASSERT_PARSE_ERROR("file F pagez 1\n", "expected 'pages', found 'pagez'");
	ASSERT_PARSE_ERROR("file F pages 2000\n", "a page count 2000 is out of range [1, 1024]");
	ASSERT_PARSE_ERROR("process P\nmap A in P file G rw pages 1\n", "unknown file 'G'");
	ASSERT_PARSE_ERROR("file F pages 1\nprocess P\nmap A in P file F rw pages 2\n",
			   "the mapping is larger than file 'F' (1 pages)");
	ASSERT_PARSE_ERROR("process P\nmap A in P private rw pages 2 thp\n",
			   "'thp' needs a private mapping of a multiple of 512 pages");
	ASSERT_PARSE_ERROR("process P\nmap A in P shared rw pages 2 mergeable\n",
			   "'mergeable' needs a private mapping");
	ASSERT_PARSE_ERROR("expect era 9 ok\n", "unknown era '9'");
	ASSERT_PARSE_ERROR("expect nodrv/x ok\n", "unknown driver 'nodrv'");
	ASSERT_PARSE_ERROR("expect kvm/sloppy ok\n", "driver 'kvm' has no form 'sloppy'");
	ASSERT_PARSE_ERROR("file F pages 1\nfile G pages 1\nfile H pages 1\nfile I pages 1\nfile J pages 1\n",
			   "too many files (at most 4)");
	ASSERT_PARSE_ERROR("file F pages 2\nprocess P\ncpu T on P {\n truncate F 2000\n}\n",
			   "a size in pages 2000 is out of range [0, 1024]");
	ASSERT_PARSE_ERROR("file F pages 2\nprocess P\ncpu T on P {\n punch F 2 1\n}\n",
			   "a page of the file 2 is out of range [0, 1]");
	ASSERT_PARSE_ERROR("file F pages 2\nprocess P\ncpu T on P {\n punch F 1 2\n}\n",
			   "a page count inside the file 2 is out of range [1, 1]");
	ASSERT_PARSE_ERROR("process P\nmap A in P private rw pages 512 thp\ncpu T on P {\n mremap A\n}\n",
			   "'mremap' moves anonymous mappings without 'thp' only");
	{
		char many[2048];
		size_t n = 0;

		for (int i = 0; i <= SCN_MAX_EXPECT; i++)
			n += (size_t)snprintf(many + n, sizeof(many) - n, "expect ok\n");
		ASSERT_PARSE_ERROR(many, "too many 'expect' lines (at most 32)");
	}
	ASSERT_PARSE_ERROR("expect correct perhaps\n", "expected 'ok', 'maybe' or 'violation KIND', found 'perhaps'");
}

/* Every message of the operation grammar. */
TEST(error_operations)
{
	static const char head[] = "process P\nmap A in P private rw pages 2\n"
				   "mirror M kvm on P\n";
	static const struct { const char *body, *msg; } cases[] = {
		{ "cpu T on P {\n jump A\n}\n", "unknown operation 'jump'" },
		{ "cpu T on P {\n write A 1\n}\n",
		  "operation 'write' is for device agents, 'T' is a cpu agent" },
		{ "device D of M {\n store A 1\n}\n",
		  "operation 'store' is for cpu agents, 'D' is a device agent" },
		{ "cpu T on P {\n store A\n}\n", "expected a value, found end of line" },
		{ "cpu T on P {\n store A 0xzz\n}\n", "expected a value, found '0xzz'" },
		{ "cpu T on P {\n store B 1\n}\n", "unknown mapping 'B'" },
		{ "cpu T on P {\n store Q:A 1\n}\n", "unknown process 'Q'" },
		{ "cpu T on P {\n store P:B 1\n}\n", "unknown mapping 'B'" },
		{ "cpu T on P {\n store A[2] 1\n}\n", "a page index 2 is out of range [0, 1]" },
		{ "cpu T on P {\n store A[0 1\n}\n", "expected ']', found '1'" },
		{ "cpu T on P {\n store A+4 1\n}\n", "offset 4 is not 8-byte aligned" },
		{ "cpu T on P {\n store A+8192 1\n}\n", "an offset 8192 is out of range [0, 8184]" },
		{ "cpu T on P {\n store A[1]+4096 1\n}\n", "address is past the end of mapping 'A' (2 pages)" },
		{ "cpu T on P {\n store 1 1\n}\n", "expected an address (MAP, MAP[PAGE], MAP+OFFSET), found '1'" },
		{ "cpu T on P {\n munmap A+8 1\n}\n", "'munmap' needs a page-aligned address" },
		{ "cpu T on P {\n munmap A 3\n}\n", "a page count inside the mapping 3 is out of range [1, 2]" },
		{ "cpu T on P {\n munmap A[1] 2\n}\n", "a page count inside the mapping 2 is out of range [1, 1]" },
		{ "cpu T on P {\n mprotect A 1 x\n}\n", "expected a protection (rw, r or none), found 'x'" },
		{ "cpu T on P {\n fork P\n}\n", "'P' is already declared" },
		{ "cpu T on P {\n fork A\n}\n", "'A' is already declared" },
		{ "cpu T on P {\n loop 2 {\n fork C\n }\n}\n",
		  "'fork' cannot be inside a loop: each fork names a new process" },
		{ "cpu T on P {\n exit Q\n}\n", "unknown process 'Q'" },
		{ "cpu T on P {\n loop 0 {\n yield\n }\n}\n", "a loop count 0 is out of range [1, 100000]" },
		{ "cpu T on P {\n loop 2 yield\n}\n", "expected '{', found 'yield'" },
		{ "cpu T on P {\n yield yield\n}\n", "expected end of line, found 'yield'" },
		{ "kthread K {\n store A 1\n}\n",
		  "operation 'store' is for cpu agents, 'K' is a kthread agent" },
		{ "device D of M {\n ksm-scan\n}\n",
		  "operation 'ksm-scan' is for cpu or kthread agents, 'D' is a device agent" },
		{ "kthread K {\n migrate A 1\n}\n", "a kthread agent's 'migrate' needs PROCESS:ADDR" },
		{ "kthread K {\n khugepaged\n}\n", "a kthread agent's 'khugepaged' must name the process" },
		{ "cpu T on P {\n oom-reap Q\n}\n", "unknown process 'Q'" },
		{ "cpu T on P {\n collapse A\n}\n", "'collapse' needs a mapping declared with 'thp'" },
		{ "cpu T on P {\n split A\n}\n", "'split' needs a mapping declared with 'thp'" },
		{ "cpu T on P {\n mremap B\n}\n", "unknown mapping 'B'" },
		{ "cpu T on P {\n truncate G 1\n}\n", "unknown file 'G'" },
		{ "cpu T on P {\n reclaim 0\n}\n", "a page count 0 is out of range" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char text[512];

		snprintf(text, sizeof(text), "%s%s", head, cases[i].body);
		ASSERT_PARSE_ERROR(text, cases[i].msg);
	}
}

/* Limits are enforced with a clear message, before anything runs. */
TEST(error_limits)
{
	char *text = malloc(SCN_MAX_FILE_SIZE * 2);
	size_t n = 0;

	ASSERT_TRUE(text != NULL);
	/* too many processes */
	n = 0;
	for (int i = 0; i <= SCN_MAX_PROCS; i++)
		n += (size_t)sprintf(text + n, "process P%d\n", i);
	ASSERT_PARSE_ERROR(text, "too many processes (at most 8)");
	/* too many mappings */
	n = (size_t)sprintf(text, "process P\n");
	for (int i = 0; i <= SCN_MAX_MAPS; i++)
		n += (size_t)sprintf(text + n, "map A%d in P private rw pages 1\n", i);
	ASSERT_PARSE_ERROR(text, "too many mappings (at most 16)");
	/* too many mirrors */
	n = (size_t)sprintf(text, "process P\n");
	for (int i = 0; i <= SCN_MAX_MIRRORS; i++)
		n += (size_t)sprintf(text + n, "mirror M%d kvm on P\n", i);
	ASSERT_PARSE_ERROR(text, "too many mirrors (at most 4)");
	/* too many agents */
	n = (size_t)sprintf(text, "process P\n");
	for (int i = 0; i <= SCN_MAX_AGENTS; i++)
		n += (size_t)sprintf(text + n, "cpu T%d on P {\n yield\n}\n", i);
	ASSERT_PARSE_ERROR(text, "too many agents (at most 8)");
	/* too deep */
	n = (size_t)sprintf(text, "process P\ncpu T on P {\n");
	for (int i = 0; i <= SCN_MAX_DEPTH; i++)
		n += (size_t)sprintf(text + n, "loop 2 {\n");
	ASSERT_PARSE_ERROR(text, "loops nest deeper than 8");
	/* too many operations */
	n = (size_t)sprintf(text, "process P\ncpu T on P {\n");
	for (int i = 0; i <= SCN_MAX_OPS; i++)
		n += (size_t)sprintf(text + n, "yield\n");
	n += (size_t)sprintf(text + n, "}\n");
	ASSERT_PARSE_ERROR(text, "too many operations (at most 4096 in a file)");
	/* file size */
	memset(text, '#', SCN_MAX_FILE_SIZE + 1);
	{
		char err[256];

		ASSERT_TRUE(scn_parse("big.mmn", text, SCN_MAX_FILE_SIZE + 1, err,
				      sizeof(err)) == NULL);
		ASSERT_STR_CONTAINS(err, "big.mmn:1:1: error: file is larger than 65536 bytes");
	}
	/* NUL byte */
	{
		char err[256];

		memcpy(text, "process P\nab\0c", 15);
		ASSERT_TRUE(scn_parse("nul.mmn", text, 15, err, sizeof(err)) == NULL);
		ASSERT_STR_CONTAINS(err, "nul.mmn:2:3: error: NUL byte in a text file");
	}
	free(text);
}

/* A missing file is an error naming the file, not a crash. */
TEST(error_load)
{
	char err[256];

	ASSERT_TRUE(scn_load("/nonexistent/x.mmn", err, sizeof(err)) == NULL);
	ASSERT_STR_CONTAINS(err, "/nonexistent/x.mmn: error: cannot open: No such file or directory");
}

/* Every scenario in the repository parses, and prints back the same. */
TEST(catalogue_parses)
{
	static const char *const dirs[] = { "scenarios/seed", "scenarios/races" };
	int seen = 0;

	for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
		char dir[512];
		struct dirent *de;
		DIR *dp;

		snprintf(dir, sizeof(dir), "%s/%s", MMN_SOURCE_DIR, dirs[d]);
		dp = opendir(dir);
		ASSERT_TRUE(dp != NULL);
		while ((de = readdir(dp))) {
			char path[1024], err[512];
			struct scn_scenario *s;
			size_t len = strlen(de->d_name);

			if (len < 5 || strcmp(de->d_name + len - 4, ".mmn"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			s = scn_load(path, err, sizeof(err));
			if (!s)
				harness_fail(__FILE__, __LINE__, "%s", err);
			EXPECT_TRUE(s != NULL);
			scn_free(s);
			seen++;
		}
		closedir(dp);
	}
	ASSERT_GE(seen, 13);
}

/* Files, THP, KSM, kthreads and every operation parse and print back. */
TEST(parse_all_operations)
{
	static const char text[] =
		"name every-op\nera all\nthp never\nswapcache keep\n"
		"expect ok\nexpect broken violation access-after-invalidate\n"
		"expect era 2.6.33 xpmem/* violation sleep-in-atomic\n"
		"expect kvm/deferred violation lost-write\n"
		"file F pages 4\nprocess P\n"
		"map A in P private rw pages 512 thp\nmap K in P private rw pages 2 mergeable\n"
		"map S in P file F rw pages 4\nmirror M * on P\n"
		"cpu T on P {\n store A 1\n load A[1]\n fork C\n exit C\n munmap A[3] 1\n"
		" mprotect A 2 r\n dontneed A 1\n free A 1\n remap A[3] 1\n mremap K\n"
		" pageout A 1\n reclaim 4\n migrate A 1\n mergeable K 2\n unmergeable K 2\n"
		" ksm-scan\n hugepage A 512\n collapse A\n khugepaged\n split A\n oom-reap\n"
		" age A\n clear-soft-dirty\n truncate F 1\n punch F 0 2\n yield\n loop 2 {\n  yield\n }\n}\n"
		"kthread ksmd {\n ksm-scan\n khugepaged P\n migrate P:A 1\n split P:A\n}\n"
		"device D of M {\n read S+8\n write A 0x5\n}\n";
	char err[256], *buf1 = NULL, *buf2 = NULL;
	size_t n1 = 0, n2 = 0;
	struct scn_scenario *s = scn_parse("t.mmn", text, strlen(text), err, sizeof(err)), *t;
	struct scn_scenario *inst[SCN_MAX_INSTANCES];
	FILE *f;
	int n;

	if (!s)
		harness_fail(__FILE__, __LINE__, "%s", err);
	ASSERT_TRUE(s != NULL);
	ASSERT_EQ(s->eras, 7);
	ASSERT_EQ(s->thp, MMN_THP_NEVER);
	ASSERT_TRUE(s->swapcache_keep);
	ASSERT_EQ(s->nfiles, 1);
	ASSERT_TRUE(s->maps[0].thp);
	ASSERT_TRUE(s->maps[1].mergeable);
	ASSERT_EQ(s->maps[2].file, 0);
	ASSERT_EQ(s->agents[1].kind, SCN_AGENT_KTHREAD);
	ASSERT_EQ(s->nexpects, 4);
	f = open_memstream(&buf1, &n1);
	scn_print(s, f);
	fclose(f);
	t = scn_parse("t2.mmn", buf1, n1, err, sizeof(err));
	if (!t)
		harness_fail(__FILE__, __LINE__, "%s\n%s", err, buf1);
	ASSERT_TRUE(t != NULL);
	f = open_memstream(&buf2, &n2);
	scn_print(t, f);
	fclose(f);
	ASSERT_EQ(n1, n2);
	ASSERT_EQ(memcmp(buf1, buf2, n1), 0);

	/* the matrix: 3 eras x every driver form; expectations by weight */
	n = scn_expand(s, inst, SCN_MAX_INSTANCES);
	ASSERT_GT(n, 3 * 6);
	for (int i = 0; i < n; i++) {
		char label[96];

		scn_instance_label(inst[i], label, sizeof(label));
		if (!strcmp(label, "kvm/deferred"))
			EXPECT_EQ(inst[i]->expect, MMN_V_LOST_WRITE);
		else if (inst[i]->era == MMN_ERA_2_6_33 && !strncmp(label, "xpmem/", 6))
			EXPECT_EQ(inst[i]->expect, MMN_V_SLEEP_IN_ATOMIC);
		else if (strstr(label, "/correct") || strstr(label, "/sync-start"))
			EXPECT_EQ(inst[i]->expect, -1);
		else
			EXPECT_EQ(inst[i]->expect, MMN_V_ACCESS_AFTER_INVALIDATE);
		scn_free(inst[i]);
	}
	scn_free(s);
	scn_free(t);
	free(buf1);
	free(buf2);
}
