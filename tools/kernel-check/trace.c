// SPDX-License-Identifier: GPL-2.0
/*
 * Normalised notifier sequences, the guest log parser, the phase
 * directories under kernel/traces/, and the comparer (kcheck.h).
 *
 * The comparer's rules, each explicit and each named in its output
 * (docs/validation.md explains why Linux needs each one):
 *
 *   arena            only callbacks whose range (or address) intersects
 *                    the test arena are compared.  The real process also
 *                    has VMAs for its ELF image, heap, stack and vdso
 *                    (fork write-protects them, the parent's own stack
 *                    COWs, ...); the lab scenario has none.  Whole-space
 *                    ranges [0, ULONG_MAX) intersect, so they stay.
 *   reuse-may-copy   phase "reuse": a write after the child exited reuses
 *                    the page (no callback) unless another reference is
 *                    still held, e.g. by another CPU's LRU batch; then
 *                    do_wp_page copies.  The lab supplies that COW
 *                    sequence as the one accepted alternative.
 *   reclaim-aging    phases that reclaim (pageout, swapin): whether and
 *                    how often reclaim asks the secondary MMUs for the
 *                    accessed bit (folio_referenced, MGLRU look-around and
 *                    page-table walks) depends on LRU state, so
 *                    clear_flush_young, clear_young and test_young are
 *                    dropped from both sides in those phases only.
 *   legacy-6.1-not-modelled
 *                    era 6.1 only, and only while the lab declares it
 *                    does not call 6.1's change_pte / invalidate_range
 *                    from the mm/ call sites yet: those two callbacks are
 *                    dropped from both sides, and the verdict says so.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kcheck.h"

void kc_seq_add(struct kc_seq *s, const char *line)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->line = realloc(s->line, s->cap * sizeof(*s->line));
		if (!s->line)
			abort();
	}
	s->line[s->n] = strdup(line);
	if (!s->line[s->n])
		abort();
	s->n++;
}

void kc_seq_free(struct kc_seq *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->line[i]);
	free(s->line);
	memset(s, 0, sizeof(*s));
}

void kc_trace_free(struct kc_trace *t)
{
	for (size_t i = 0; i < t->n; i++) {
		kc_seq_free(&t->ph[i].seq);
		kc_seq_free(&t->ph[i].alt);
		free(t->ph[i].known);
	}
	t->n = 0;
}

struct kc_phase *kc_trace_phase(struct kc_trace *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->ph[i].name, name))
			return &t->ph[i];
	return NULL;
}

struct kc_phase *kc_trace_add_phase(struct kc_trace *t, const char *name)
{
	struct kc_phase *p = kc_trace_phase(t, name);

	if (p)
		return p;
	if (t->n == KC_MAX_PHASES)
		return NULL;
	p = &t->ph[t->n++];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	return p;
}

/* ---- normalisation --------------------------------------------------- */

static bool parse_hex(const char *s, unsigned long *v, const char **end)
{
	char *e;

	if (strncmp(s, "0x", 2))
		return false;
	errno = 0;
	*v = strtoul(s, &e, 16);
	if (errno || e == s)
		return false;
	*end = e;
	return true;
}

static int put_addr(char *b, size_t n, unsigned long a, unsigned long arena)
{
	if (a == 0 || a == ULONG_MAX)
		return snprintf(b, n, "0x%lx", a);
	if (a >= arena)
		return snprintf(b, n, "+0x%lx", a - arena);
	return snprintf(b, n, "-0x%lx", arena - a);
}

static bool is_word(const char *tok)
{
	return tok[0] && tok[0] != '[' && strncmp(tok, "0x", 2) &&
	       !strchr(tok, '=');
}

int kc_normalize_line(const char *in, unsigned long arena,
		      unsigned long arena_len, char *out, size_t outsz)
{
	char buf[512], *tok[16], *save;
	unsigned long a = 0, b = 0;
	bool have_range = false, have_addr = false, interval;
	const char *blk = NULL, *atomic = NULL, *e;
	size_t n = 0, len;
	int i = 1;

	snprintf(buf, sizeof(buf), "%s", in);
	len = strlen(buf);
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
		       buf[len - 1] == ' '))
		buf[--len] = 0;
	for (char *t = strtok_r(buf, " ", &save); t && n < 16;
	     t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	if (!n)
		return -1;
	interval = !strcmp(tok[0], "interval");
	len = snprintf(out, outsz, "%s", tok[0]);
	if (i < (int)n && is_word(tok[i]))
		len += snprintf(out + len, outsz - len, " %s", tok[i++]);
	if (i < (int)n && tok[i][0] == '[') {
		if (!parse_hex(tok[i] + 1, &a, &e) || *e != ',' ||
		    !parse_hex(e + 1, &b, &e) || strcmp(e, ")"))
			return -1;
		have_range = true;
		i++;
	} else if (i < (int)n && !strncmp(tok[i], "0x", 2)) {
		if (!parse_hex(tok[i], &a, &e) || *e)
			return -1;
		have_addr = true;
		i++;
	}
	for (; i < (int)n; i++) {
		if (!strncmp(tok[i], "blk=", 4))
			blk = tok[i] + 4;
		else if (!strncmp(tok[i], "atomic=", 7))
			atomic = tok[i] + 7;
		else if (!strchr(tok[i], '='))
			return -1;	/* other key=val: dropped */
	}
	if (have_range) {
		/* rule "arena" */
		if (!(a < arena + arena_len && b > arena))
			return 0;
		len += snprintf(out + len, outsz - len, " [");
		len += put_addr(out + len, outsz - len, a, arena);
		len += snprintf(out + len, outsz - len, ",");
		len += put_addr(out + len, outsz - len, b, arena);
		len += snprintf(out + len, outsz - len, ")");
	} else if (have_addr) {
		if (!(a >= arena && a < arena + arena_len))
			return 0;
		len += snprintf(out + len, outsz - len, " ");
		len += put_addr(out + len, outsz - len, a, arena);
	}
	if (blk)
		len += snprintf(out + len, outsz - len, " blk=%s", blk);
	if (atomic && !interval)
		len += snprintf(out + len, outsz - len, " atomic=%s", atomic);
	return len < outsz ? 1 : -1;
}

/* ---- the guest log --------------------------------------------------- */

int kc_parse_raw(FILE *f, struct kc_trace *t)
{
	char line[1024], norm[512];
	struct kc_phase *cur = NULL;
	bool ended = false, arena = false;
	unsigned long lineno = 0;
	int r;

	t->arena = KC_ARENA;
	t->arena_len = KC_ARENA_LEN;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "MMNT: "), *body;

		lineno++;
		if (!p)
			continue;
		body = strstr(p, " | ");
		if (!body) {
			fprintf(stderr, "line %lu: no ' | ' in a tracer line: %s",
				lineno, line);
			return -1;
		}
		body += 3;
		body[strcspn(body, "\r\n")] = 0;
		if (body[0] == '#') {
			const char *m = body + 2;

			if (!strncmp(m, "arena ", 6)) {
				if (sscanf(m + 6, "%lx %lx", &t->arena, &t->arena_len) != 2) {
					fprintf(stderr, "line %lu: bad arena marker\n", lineno);
					return -1;
				}
				arena = true;
			} else if (!strncmp(m, "phase ", 6)) {
				cur = kc_trace_add_phase(t, m + 6);
				if (!cur) {
					fprintf(stderr, "too many phases\n");
					return -1;
				}
			} else if (!strcmp(m, "end")) {
				ended = true;
				cur = NULL;
			}
			continue;
		}
		if (body[0] == '!') {
			fprintf(stderr, "line %lu: the tracer lost records: %s\n",
				lineno, body);
			return -1;
		}
		if (!cur)
			continue;
		r = kc_normalize_line(body, t->arena, t->arena_len, norm,
				      sizeof(norm));
		if (r < 0) {
			fprintf(stderr, "line %lu: cannot parse: %s\n", lineno, body);
			return -1;
		}
		if (r)
			kc_seq_add(&cur->seq, norm);
	}
	if (!arena || !ended || !t->n) {
		fprintf(stderr, "incomplete log: %s%s%s\n", arena ? "" : "no arena marker; ",
			ended ? "" : "no end marker; ", t->n ? "" : "no phase");
		return -1;
	}
	return 0;
}

/* ---- phase directories ------------------------------------------------ */

int kc_write_dir(const struct kc_trace *t, const char *dir)
{
	char path[4096];
	FILE *f;

	if (mkdir(dir, 0755) && errno != EEXIST) {
		perror(dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/KERNEL", dir);
	if (!(f = fopen(path, "w")))
		goto err;
	fprintf(f, "%s\n", t->kernel);
	fclose(f);
	snprintf(path, sizeof(path), "%s/PHASES", dir);
	if (!(f = fopen(path, "w")))
		goto err;
	for (size_t i = 0; i < t->n; i++)
		fprintf(f, "%s\n", t->ph[i].name);
	fclose(f);
	for (size_t i = 0; i < t->n; i++) {
		snprintf(path, sizeof(path), "%s/%s.txt", dir, t->ph[i].name);
		if (!(f = fopen(path, "w")))
			goto err;
		for (size_t j = 0; j < t->ph[i].seq.n; j++)
			fprintf(f, "%s\n", t->ph[i].seq.line[j]);
		fclose(f);
	}
	return 0;
err:
	perror(path);
	return -1;
}

static int read_lines(const char *path, struct kc_seq *s)
{
	char line[1024];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0])
			kc_seq_add(s, line);
	}
	fclose(f);
	return 0;
}

int kc_read_dir(const char *dir, struct kc_trace *t)
{
	char path[4096];
	struct kc_seq names = { 0 }, kernel = { 0 };

	t->arena = KC_ARENA;
	t->arena_len = KC_ARENA_LEN;
	snprintf(path, sizeof(path), "%s/PHASES", dir);
	if (read_lines(path, &names)) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/KERNEL", dir);
	if (!read_lines(path, &kernel) && kernel.n)
		snprintf(t->kernel, sizeof(t->kernel), "%s", kernel.line[0]);
	kc_seq_free(&kernel);
	for (size_t i = 0; i < names.n; i++) {
		struct kc_phase *p = kc_trace_add_phase(t, names.line[i]);

		snprintf(path, sizeof(path), "%s/%s.txt", dir, names.line[i]);
		if (!p || read_lines(path, &p->seq)) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			kc_seq_free(&names);
			return -1;
		}
	}
	kc_seq_free(&names);
	/* KNOWN-DIFFERENCES: "PHASE: reason" lines, '#' comments */
	snprintf(path, sizeof(path), "%s/KNOWN-DIFFERENCES", dir);
	if (!read_lines(path, &names)) {
		for (size_t i = 0; i < names.n; i++) {
			char *l = names.line[i], *colon = strchr(l, ':');
			struct kc_phase *p;

			if (l[0] == '#')
				continue;
			if (colon)
				*colon = 0;
			p = kc_trace_phase(t, l);
			if (!p) {
				fprintf(stderr, "%s: no phase '%s'\n", path, l);
				kc_seq_free(&names);
				return -1;
			}
			p->known = strdup(colon ? colon + 1 + strspn(colon + 1, " ") : "");
		}
		kc_seq_free(&names);
	}
	return 0;
}

/* ---- the comparer ----------------------------------------------------- */

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix)) &&
	       (s[strlen(prefix)] == ' ' || !s[strlen(prefix)]);
}

static bool dropped_by(const char *line, unsigned int rules)
{
	if ((rules & KC_RULE_AGING) &&
	    (starts(line, "clear_flush_young") || starts(line, "clear_young") ||
	     starts(line, "test_young")))
		return true;
	if ((rules & KC_RULE_LEGACY) &&
	    (starts(line, "change_pte") || starts(line, "invalidate_range")))
		return true;
	return false;
}

static void filter(const struct kc_seq *in, unsigned int rules, struct kc_seq *out)
{
	for (size_t i = 0; i < in->n; i++)
		if (!dropped_by(in->line[i], rules))
			kc_seq_add(out, in->line[i]);
}

/* A line diff (longest common subsequence; the sequences are short). */
static void print_diff(const struct kc_seq *a, const struct kc_seq *b, FILE *out)
{
	size_t n = a->n, m = b->n, i, j;
	unsigned *L = calloc((n + 1) * (m + 1), sizeof(*L));

	if (!L)
		abort();
#define LL(i, j) L[(i) * (m + 1) + (j)]
	for (i = n; i-- > 0;)
		for (j = m; j-- > 0;)
			LL(i, j) = !strcmp(a->line[i], b->line[j]) ? LL(i + 1, j + 1) + 1 :
				   LL(i + 1, j) > LL(i, j + 1) ? LL(i + 1, j) : LL(i, j + 1);
	i = j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && !strcmp(a->line[i], b->line[j])) {
			fprintf(out, "      %s\n", a->line[i]);
			i++, j++;
		} else if (i < n && (j == m || LL(i + 1, j) >= LL(i, j + 1))) {
			fprintf(out, "    - %s\n", a->line[i++]);
		} else {
			fprintf(out, "    + %s\n", b->line[j++]);
		}
	}
#undef LL
	free(L);
}

bool kc_phase_equal(const struct kc_seq *real, const struct kc_seq *lab,
		    unsigned int rules, FILE *out)
{
	struct kc_seq r = { 0 }, l = { 0 };
	bool eq;

	filter(real, rules, &r);
	filter(lab, rules, &l);
	eq = r.n == l.n;
	for (size_t i = 0; eq && i < r.n; i++)
		eq = !strcmp(r.line[i], l.line[i]);
	if (!eq && out)
		print_diff(&r, &l, out);
	kc_seq_free(&r);
	kc_seq_free(&l);
	return eq;
}

static const char *rules_note(unsigned int rules, char *b, size_t n)
{
	b[0] = 0;
	if (rules & KC_RULE_AGING)
		snprintf(b + strlen(b), n - strlen(b), ", rule reclaim-aging");
	if (rules & KC_RULE_LEGACY)
		snprintf(b + strlen(b), n - strlen(b),
			 ", rule legacy-6.1-not-modelled: change_pte/invalidate_range not compared");
	return b;
}

void kc_compare(const struct kc_trace *real, const struct kc_trace *lab,
		const char *lab_era, bool strict, FILE *out, struct kc_result *res)
{
	char note[160];

	memset(res, 0, sizeof(*res));
	fprintf(out, "real: %s\nlab:  era %s\n\n", real->kernel[0] ? real->kernel : "?",
		lab_era);
	for (size_t i = 0; i < lab->n; i++) {
		const struct kc_phase *lp = &lab->ph[i];
		const struct kc_phase *rp = kc_trace_phase((struct kc_trace *)real, lp->name);

		if (lp->not_modelled) {
			res->not_modelled++;
			fprintf(out, "  %-16s not yet modelled in the lab: %s (real: %zu callbacks)\n",
				lp->name, lp->not_modelled, rp ? rp->seq.n : 0);
			continue;
		}
		if (!rp) {
			res->missing++;
			fprintf(out, "  %-16s MISSING: no real trace recorded for this phase\n",
				lp->name);
			snprintf(res->mismatch[res->nr_mismatch_names++], KC_NAME_LEN,
				 "%s", lp->name);
			continue;
		}
		rules_note(lp->rules, note, sizeof(note));
		if (kc_phase_equal(&rp->seq, &lp->seq, lp->rules, NULL) ||
		    (lp->alt_rule && kc_phase_equal(&rp->seq, &lp->alt, lp->rules, NULL))) {
			bool alt = !kc_phase_equal(&rp->seq, &lp->seq, lp->rules, NULL);

			res->matched++;
			fprintf(out, "  %-16s match (%zu callbacks%s%s%s%s)\n", lp->name,
				rp->seq.n, alt ? ", rule " : "", alt ? lp->alt_rule : "",
				alt ? ": the accepted alternative" : "", note);
			if (rp->known) {
				res->stale_known++;
				fprintf(out, "  %-16s ^ listed in KNOWN-DIFFERENCES but matches now: "
					"remove the entry\n", "");
			}
			continue;
		}
		if (rp->known && !strict) {
			res->known++;
			fprintf(out, "  %-16s KNOWN MISMATCH (lab bug, KNOWN-DIFFERENCES: %s)%s\n",
				lp->name, rp->known, note);
			continue;
		}
		res->mismatched++;
		snprintf(res->mismatch[res->nr_mismatch_names++], KC_NAME_LEN, "%s",
			 lp->name);
		fprintf(out, "  %-16s MISMATCH%s\n", lp->name, note);
	}
	/* the diffs, after the table */
	for (size_t i = 0; i < lab->n; i++) {
		const struct kc_phase *lp = &lab->ph[i];
		const struct kc_phase *rp = kc_trace_phase((struct kc_trace *)real, lp->name);

		if (lp->not_modelled || !rp ||
		    kc_phase_equal(&rp->seq, &lp->seq, lp->rules, NULL) ||
		    (lp->alt_rule && kc_phase_equal(&rp->seq, &lp->alt, lp->rules, NULL)))
			continue;
		fprintf(out, "\nphase %s: the lab differs from the real kernel%s\n"
			"    (- only in the real kernel, + only in the lab)\n", lp->name,
			rp->known ? " (a KNOWN DIFFERENCE)" : "");
		kc_phase_equal(&rp->seq, &lp->seq, lp->rules, out);
		if (lp->alt_rule) {
			fprintf(out, "  nor does it equal the alternative of rule %s:\n",
				lp->alt_rule);
			kc_phase_equal(&rp->seq, &lp->alt, lp->rules, out);
		}
	}
	fprintf(out, "\n%d match, %d MISMATCH, %d known mismatch, %d missing, "
		"%d not yet modelled in the lab%s\n", res->matched, res->mismatched,
		res->known, res->missing, res->not_modelled,
		res->stale_known ? ", STALE KNOWN-DIFFERENCES entries" : "");
}

/* ---- the deliberately wrong lab sequence ------------------------------ */

static const char *const events[] = {
	"UNMAP", "CLEAR", "PROTECTION_VMA", "PROTECTION_PAGE", "SOFT_DIRTY",
	"RELEASE", "MIGRATE", "EXCLUSIVE",
};

void kc_flip(struct kc_seq *s)
{
	for (size_t i = 0; i < s->n; i++) {
		char *sp = strchr(s->line[i], ' '), *ev, *rest, b[512];

		if (!sp)
			continue;
		ev = sp + 1;
		rest = strchr(ev, ' ');
		for (size_t e = 0; e < sizeof(events) / sizeof(events[0]); e++) {
			size_t el = strlen(events[e]);

			if (strncmp(ev, events[e], el) || (ev[el] != ' ' && ev[el]))
				continue;
			snprintf(b, sizeof(b), "%.*s %s%s", (int)(sp - s->line[i]),
				 s->line[i], e == 1 ? "UNMAP" : "CLEAR", rest ? rest : "");
			free(s->line[i]);
			s->line[i] = strdup(b);
			return;
		}
	}
	kc_seq_add(s, "start CLEAR [+0x0,+0x1000) blk=1 atomic=0");
}
