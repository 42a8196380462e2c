// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the scenario parser: any input must either parse or
 * produce one "file:line:col: error: ..." message; never crash, assert or
 * leak.  Parsed scenarios are printed back and re-parsed: the canonical
 * form must parse to the same text.
 *
 *   make fuzz            (clang; a short bounded run, as CI does)
 *   build-fuzz/fuzz_scenario fuzz/corpus/scenario -max_total_time=600
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], err2[512];
	struct scn_scenario *s, *t;
	char *buf1 = NULL, *buf2 = NULL;
	size_t n1 = 0, n2 = 0;
	FILE *f;

	s = scn_parse("fuzz.mmn", (const char *)data, size, err, sizeof(err));
	if (!s) {
		/* an error always says where */
		if (strncmp(err, "fuzz.mmn:", 9))
			abort();
		return 0;
	}
	f = open_memstream(&buf1, &n1);
	scn_print(s, f);
	fclose(f);
	t = scn_parse("fuzz2.mmn", buf1, n1, err2, sizeof(err2));
	if (!t) {
		fprintf(stderr, "canonical form does not parse: %s\n%s", err2, buf1);
		abort();
	}
	f = open_memstream(&buf2, &n2);
	scn_print(t, f);
	fclose(f);
	if (n1 != n2 || memcmp(buf1, buf2, n1)) {
		fprintf(stderr, "print(parse(print(x))) != print(x)\n");
		abort();
	}
	scn_free(s);
	scn_free(t);
	free(buf1);
	free(buf2);
	return 0;
}
