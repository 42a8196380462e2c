// SPDX-License-Identifier: GPL-2.0
/*
 * mmn-phases: the lab side of the real-kernel validation (docs/validation.md).
 *
 *   mmn-phases run [--era E] [--flip PHASE]
 *       run the phases in the lab, print the normalised sequences
 *   mmn-phases normalize [--kernel TEXT] SERIAL_LOG OUTDIR
 *       turn a kernel-check guest log into OUTDIR/{PHASES,KERNEL,*.txt}
 *   mmn-phases compare [--era E] [--strict] [--flip PHASE] [--expect-mismatch PHASE] DIR
 *       run the lab phases and compare each with DIR/<phase>.txt; a phase
 *       listed in DIR/KNOWN-DIFFERENCES (a lab bug with an owner) is shown
 *       with its diff but fails only with --strict (make kernel-check)
 *
 * --flip PHASE (or MMN_PHASES_FLIP=PHASE) changes one event of the lab's
 * sequence for PHASE: the deliberately wrong lab, which must fail with a
 * readable diff.  --expect-mismatch PHASE is the CTest of that failure:
 * succeed iff PHASE matches as recorded and flipping it makes it, and
 * nothing else, mismatch.
 * Exit status: 0 all compared phases match, 1 a mismatch, 2 usage/IO.
 */
#include <stdlib.h>
#include <string.h>

#include "kcheck.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: mmn-phases run [--era 6.1|6.12] [--flip PHASE]\n"
		"       mmn-phases normalize [--kernel TEXT] SERIAL_LOG OUTDIR\n"
		"       mmn-phases compare [--era 6.1|6.12] [--strict] [--flip PHASE]"
		" [--expect-mismatch PHASE] TRACE_DIR\n");
	return 2;
}

static int lab(const char *era, const char *flip, struct kc_trace *t)
{
	if (kc_lab_run(era, t))
		return -1;
	if (flip) {
		struct kc_phase *p = kc_trace_phase(t, flip);

		if (!p || p->not_modelled) {
			fprintf(stderr, "mmn-phases: --flip %s: no such modelled phase\n", flip);
			return -1;
		}
		kc_flip(&p->seq);
		kc_flip(&p->alt);
		fprintf(stderr, "mmn-phases: phase %s deliberately changed (--flip)\n", flip);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *era = "6.12", *flip = getenv("MMN_PHASES_FLIP"), *expect = NULL;
	const char *kernel = NULL, *pos[2] = { 0 };
	static struct kc_trace real, labt, labf;
	bool strict = false;
	int npos = 0;

	if (argc < 2)
		return usage();
	if (flip && !*flip)
		flip = NULL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--era") && i + 1 < argc)
			era = argv[++i];
		else if (!strcmp(argv[i], "--flip") && i + 1 < argc)
			flip = argv[++i];
		else if (!strcmp(argv[i], "--expect-mismatch") && i + 1 < argc)
			expect = argv[++i];
		else if (!strcmp(argv[i], "--strict"))
			strict = true;
		else if (!strcmp(argv[i], "--kernel") && i + 1 < argc)
			kernel = argv[++i];
		else if (argv[i][0] != '-' && npos < 2)
			pos[npos++] = argv[i];
		else
			return usage();
	}

	if (!strcmp(argv[1], "run") && npos == 0) {
		if (lab(era, flip, &labt))
			return 2;
		for (size_t i = 0; i < labt.n; i++) {
			const struct kc_phase *p = &labt.ph[i];

			printf("# phase %s\n", p->name);
			if (p->not_modelled) {
				printf("# not yet modelled in the lab: %s\n", p->not_modelled);
				continue;
			}
			for (size_t j = 0; j < p->seq.n; j++)
				printf("%s\n", p->seq.line[j]);
			if (p->alt_rule) {
				printf("# alternative (rule %s)\n", p->alt_rule);
				for (size_t j = 0; j < p->alt.n; j++)
					printf("#   %s\n", p->alt.line[j]);
			}
		}
		return 0;
	}
	if (!strcmp(argv[1], "normalize") && npos == 2) {
		FILE *f = fopen(pos[0], "r");

		if (!f) {
			perror(pos[0]);
			return 2;
		}
		if (kc_parse_raw(f, &real)) {
			fprintf(stderr, "mmn-phases: %s: not a complete kernel-check log\n", pos[0]);
			fclose(f);
			return 2;
		}
		fclose(f);
		if (kernel)
			snprintf(real.kernel, sizeof(real.kernel), "%s", kernel);
		return kc_write_dir(&real, pos[1]) ? 2 : 0;
	}
	if (!strcmp(argv[1], "compare") && npos == 1) {
		struct kc_result res, fres;
		FILE *devnull;

		if (kc_read_dir(pos[0], &real))
			return 2;
		if (expect) {
			/* unchanged, PHASE matches; flipped, PHASE (and only the
			 * phases that mismatched before) mismatches */
			if (lab(era, NULL, &labt) || lab(era, expect, &labf))
				return 2;
			devnull = fopen("/dev/null", "w");
			kc_compare(&real, &labt, era, true, devnull, &res);
			fclose(devnull);
			printf("mmn-phases compare --flip %s: %s\n", expect, pos[0]);
			kc_compare(&real, &labf, era, true, stdout, &fres);
			bool before = false, after = false;

			for (int i = 0; i < res.nr_mismatch_names; i++)
				before |= !strcmp(res.mismatch[i], expect);
			for (int i = 0; i < fres.nr_mismatch_names; i++)
				after |= !strcmp(fres.mismatch[i], expect);
			bool ok = !before && after &&
				  fres.nr_mismatch_names == res.nr_mismatch_names + 1;

			printf("%s: phase %s matches as recorded and mismatches once flipped: %s\n",
			       ok ? "OK" : "FAILED", expect, ok ? "yes" : "no");
			return ok ? 0 : 1;
		}
		if (lab(era, flip, &labt))
			return 2;
		printf("mmn-phases compare: %s%s\n", pos[0], strict ? " (strict)" : "");
		kc_compare(&real, &labt, era, strict, stdout, &res);
		return res.mismatched || res.missing || res.stale_known ? 1 : 0;
	}
	return usage();
}
