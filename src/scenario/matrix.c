// SPDX-License-Identifier: GPL-2.0
/*
 * The scenario matrix: a scenario that says "era all" or "mirror M *" is
 * run once per era and per driver form.  Each instance is a copy with
 * everything fixed; its expectation is the most specific "expect" line
 * that matches it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario.h"

/* The mirror a "mirror M *" line stands for (the first such). */
static int any_mirror(const struct scn_scenario *s)
{
	for (int i = 0; i < s->nmirrors; i++)
		if (s->mirrors[i].any)
			return i;
	return -1;
}

/* The mirror expectations are matched against: the "*" one, else the first. */
static const struct scn_mirror *subject(const struct scn_scenario *s)
{
	int i = any_mirror(s);

	if (i >= 0)
		return &s->mirrors[i];
	return s->nmirrors ? &s->mirrors[0] : NULL;
}

/* How specific @x is for @s, or -1 if it does not match. */
static int expect_score(const struct scn_scenario *s, const struct scn_expect *x)
{
	const struct scn_mirror *m = subject(s);
	int form = m ? mmn_driver_form(m->driver, m->form) : -1;
	int score = 0;

	if (x->era >= 0) {
		if (x->era != (int)s->era)
			return -1;
		score += 1;
	}
	if (x->driver) {
		if (!m || m->driver != x->driver)
			return -1;
		if (x->form >= 0) {
			if (x->form != form)
				return -1;
			score += 8;
		} else {
			score += 4;
		}
	} else if (x->form == SCN_FORM_CORRECT || x->form == SCN_FORM_BROKEN) {
		if (!m)
			return -1;
		if ((x->form == SCN_FORM_CORRECT) != (form == 0))
			return -1;
		score += 2;
	}
	return score;
}

int scn_expected(const struct scn_scenario *s)
{
	int best = -1, kind = -1;

	for (int i = 0; i < s->nexpects; i++) {
		int sc = expect_score(s, &s->expects[i]);

		/* later lines win ties */
		if (sc >= 0 && sc >= best) {
			best = sc;
			kind = s->expects[i].kind;
		}
	}
	return kind;
}

void scn_instance_label(const struct scn_scenario *s, char *buf, size_t n)
{
	const struct scn_mirror *m = subject(s);

	if (!m)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%s/%s", m->driver->name, m->form);
}

static struct scn_scenario *instance(const struct scn_scenario *s, int era,
				     const struct mmn_driver *drv, int form)
{
	struct scn_scenario *x = malloc(sizeof(*x));
	int m = any_mirror(s);

	if (!x)
		return NULL;
	*x = *s;
	x->borrowed_ops = true;
	x->era = era;
	x->eras = 1u << era;
	if (m >= 0) {
		x->mirrors[m].any = false;
		x->mirrors[m].driver = drv;
		snprintf(x->mirrors[m].form, sizeof(x->mirrors[m].form), "%s",
			 drv->forms[form]);
	}
	x->expect = scn_expected(x);
	return x;
}

int scn_expand(const struct scn_scenario *s, struct scn_scenario **out, int max)
{
	int n = 0;

	for (int e = 0; e < MMN_ERA__COUNT; e++) {
		if (!(s->eras & (1u << e)))
			continue;
		if (any_mirror(s) < 0) {
			if (n < max)
				out[n++] = instance(s, e, NULL, 0);
			continue;
		}
		for (int d = 0; mmn_driver_nth(d); d++)
			for (int f = 0; mmn_driver_nth(d)->forms[f]; f++)
				if (n < max)
					out[n++] = instance(s, e, mmn_driver_nth(d), f);
	}
	for (int i = 0; i < n; i++)
		if (!out[i]) {
			for (int j = 0; j < n; j++)
				scn_free(out[j]);
			return -1;
		}
	return n;
}
