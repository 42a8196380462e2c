// SPDX-License-Identifier: GPL-2.0
/*
 * The scenario parser.  A hand-written lexer and recursive-descent parser
 * over a line-oriented grammar (docs/scenarios.md):
 *
 *   file    := { line NL }
 *   line    := 'name' WORD | 'era' ERA... | 'expect' ('ok' | 'violation' WORD)
 *            | 'frames' NUM | 'process' NAME
 *            | 'map' NAME 'in' NAME ('private'|'shared') PROT 'pages' NUM
 *            | 'mirror' NAME DRIVER [FORM] 'on' NAME
 *            | 'cpu' NAME 'on' NAME '{' NL ops '}'
 *            | 'device' NAME 'of' NAME '{' NL ops '}'
 *   ops     := { op NL }
 *   op      := see ops.def; 'loop' NUM '{' NL ops '}'
 *   ADDR    := [NAME ':'] NAME ['[' NUM ']'] ['+' NUM]
 *   PROT    := 'rw' | 'r' | 'none'
 *   ERA     := 'all' | ('6.12' | '6.1' | '2.6.33') {'+' OPTION}   ('2.6.33+holt')
 *
 * '#' starts a comment to the end of the line.  Every error names
 * file:line:column, what was found and what was expected; the first error
 * stops the parse (one clear message beats a cascade).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <mmn/linux/mm.h>
#include <mmn/mm.h>

#include "scenario/scenario.h"

static const char *const op_names[] = {
#define SCN_OP(e, name, who, args, doc) [SCN_OP_##e] = name,
#include "scenario/ops.def"
#undef SCN_OP
};

/* Which agents may run an operation: a mask of these. */
#define C	(1 << SCN_AGENT_CPU)
#define D	(1 << SCN_AGENT_DEVICE)
#define K	(1 << SCN_AGENT_KTHREAD)

static const unsigned int op_who[] = {
#define SCN_OP(e, name, who, args, doc) [SCN_OP_##e] = who,
#include "scenario/ops.def"
#undef SCN_OP
};

#undef C
#undef D
#undef K

static const char *const agent_kind_names[] = {
	[SCN_AGENT_CPU] = "cpu", [SCN_AGENT_DEVICE] = "device",
	[SCN_AGENT_KTHREAD] = "kthread",
};

const char *scn_op_name(enum scn_op_kind k)
{
	return (unsigned)k < SCN_OP__COUNT ? op_names[k] : "?";
}

static const char *const op_args[] = {
#define SCN_OP(e, name, who, args, doc) [SCN_OP_##e] = args,
#include "scenario/ops.def"
#undef SCN_OP
};

static const char *const op_docs[] = {
#define SCN_OP(e, name, who, args, doc) [SCN_OP_##e] = doc,
#include "scenario/ops.def"
#undef SCN_OP
};

const char *scn_op_args(enum scn_op_kind k)
{
	return (unsigned)k < SCN_OP__COUNT ? op_args[k] : "";
}

const char *scn_op_doc(enum scn_op_kind k)
{
	return (unsigned)k < SCN_OP__COUNT ? op_docs[k] : "";
}

/* ---- lexer ------------------------------------------------------------ */

enum tok_kind { T_EOF, T_NL, T_WORD, T_NUM, T_LBRACE, T_RBRACE, T_LBRACK,
		T_RBRACK, T_PLUS, T_COLON, T_BAD };

struct tok {
	enum tok_kind kind;
	int line, col;
	const char *s;		/* into the text */
	size_t len;
	uint64_t num;
	bool num_overflow;
};

struct parser {
	const char *file;
	const char *p, *end;
	int line, col;
	struct tok t;		/* current token */
	char *err;
	size_t errlen;
	bool failed;
	struct scn_scenario *s;
	int depth;
};

static const char *tok_desc(const struct tok *t, char *buf, size_t n)
{
	switch (t->kind) {
	case T_EOF: return "end of file";
	case T_NL: return "end of line";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	case T_LBRACK: return "'['";
	case T_RBRACK: return "']'";
	case T_PLUS: return "'+'";
	case T_COLON: return "':'";
	default:
		snprintf(buf, n, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->s);
		return buf;
	}
}

static void __attribute__((format(printf, 3, 4)))
error_at(struct parser *ps, const struct tok *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = true;
	n = snprintf(ps->err, ps->errlen, "%s:%d:%d: error: ", ps->file,
		     t->line, t->col);
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
}

/* "expected X, found Y" */
static void expected(struct parser *ps, const char *what)
{
	char buf[64];

	error_at(ps, &ps->t, "expected %s, found %s", what,
		 tok_desc(&ps->t, buf, sizeof(buf)));
}

static bool is_word_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/';
}

/*
 * A word that starts with a digit: a number if it is all decimal digits or
 * 0x and hex digits, else it stays a word ("6.12", "2.6.33").
 */
static void lex_number(struct tok *t)
{
	size_t i = 0;
	int base = 10;
	uint64_t v = 0;

	if (t->len > 2 && t->s[0] == '0' && (t->s[1] == 'x' || t->s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (; i < t->len; i++) {
		int c = tolower((unsigned char)t->s[i]), d;

		if (isdigit(c))
			d = c - '0';
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return;		/* not a number: a word */
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			t->num_overflow = true;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	t->kind = T_NUM;
	t->num = v;
}

static void next(struct parser *ps)
{
	struct tok *t = &ps->t;

	if (ps->failed) {
		t->kind = T_EOF;
		return;
	}
	/* skip blanks and comments */
	for (;;) {
		while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
					   *ps->p == '\r')) {
			ps->p++;
			ps->col++;
		}
		if (ps->p < ps->end && *ps->p == '#') {
			while (ps->p < ps->end && *ps->p != '\n') {
				ps->p++;
				ps->col++;
			}
		}
		break;
	}
	t->line = ps->line;
	t->col = ps->col;
	t->s = ps->p;
	t->len = 0;
	t->num_overflow = false;
	if (ps->p >= ps->end) {
		t->kind = T_EOF;
		return;
	}
	switch (*ps->p) {
	case '\n':
		t->kind = T_NL;
		ps->p++;
		ps->line++;
		ps->col = 1;
		t->len = 1;
		return;
	case '{': t->kind = T_LBRACE; goto one;
	case '}': t->kind = T_RBRACE; goto one;
	case '[': t->kind = T_LBRACK; goto one;
	case ']': t->kind = T_RBRACK; goto one;
	case '+': t->kind = T_PLUS; goto one;
	case ':': t->kind = T_COLON; goto one;
	default:
		break;
	}
	if (is_word_char((unsigned char)*ps->p)) {
		while (ps->p < ps->end && is_word_char((unsigned char)*ps->p)) {
			ps->p++;
			ps->col++;
		}
		t->kind = T_WORD;
		t->len = (size_t)(ps->p - t->s);
		if (isdigit((unsigned char)t->s[0]))
			lex_number(t);
		return;
	}
	t->kind = T_BAD;
	t->len = 1;
	ps->p++;
	ps->col++;
	return;
one:
	t->len = 1;
	ps->p++;
	ps->col++;
}

static bool tok_is(const struct parser *ps, const char *word)
{
	return ps->t.kind == T_WORD && ps->t.len == strlen(word) &&
	       !memcmp(ps->t.s, word, ps->t.len);
}

static bool accept_word(struct parser *ps, const char *word)
{
	if (!tok_is(ps, word))
		return false;
	next(ps);
	return true;
}

static bool expect_word(struct parser *ps, const char *word)
{
	char buf[64];

	if (accept_word(ps, word))
		return true;
	snprintf(buf, sizeof(buf), "'%s'", word);
	expected(ps, buf);
	return false;
}

static bool expect_tok(struct parser *ps, enum tok_kind k, const char *what)
{
	if (ps->t.kind == k) {
		next(ps);
		return true;
	}
	expected(ps, what);
	return false;
}

static bool expect_eol(struct parser *ps)
{
	if (ps->t.kind == T_NL) {
		next(ps);
		return true;
	}
	if (ps->t.kind == T_EOF)
		return true;
	expected(ps, "end of line");
	return false;
}

/* A NAME into @buf (identifier-like: letters, digits, _ - .). */
static bool parse_name(struct parser *ps, char *buf, const char *what)
{
	if (ps->t.kind != T_WORD || !isalpha((unsigned char)ps->t.s[0])) {
		expected(ps, what);
		return false;
	}
	if (ps->t.len >= SCN_MAX_NAME) {
		error_at(ps, &ps->t, "%s '%.*s' is longer than %d characters",
			 what, (int)ps->t.len, ps->t.s, SCN_MAX_NAME - 1);
		return false;
	}
	memcpy(buf, ps->t.s, ps->t.len);
	buf[ps->t.len] = 0;
	next(ps);
	return true;
}

static bool parse_num(struct parser *ps, uint64_t *v, uint64_t lo, uint64_t hi,
		      const char *what)
{
	if (ps->t.kind != T_NUM) {
		expected(ps, what);
		return false;
	}
	if (ps->t.num_overflow || ps->t.num < lo || ps->t.num > hi) {
		error_at(ps, &ps->t, "%s %.*s is out of range [%llu, %llu]", what,
			 (int)ps->t.len, ps->t.s, (unsigned long long)lo,
			 (unsigned long long)hi);
		return false;
	}
	*v = ps->t.num;
	next(ps);
	return true;
}

/*
 * Index of @name in an array of @n declarations of @stride bytes, each
 * starting with its char name[] (scn_proc, scn_map, scn_file, scn_mirror,
 * scn_agent), or -1.
 */
static int find_named(const void *base, int n, size_t stride, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp((const char *)base + (size_t)i * stride, name))
			return i;
	return -1;
}

#define FIND(arr, n, name) find_named((arr), (n), sizeof((arr)[0]), (name))
_Static_assert(offsetof(struct scn_proc, name) == 0, "name first");
_Static_assert(offsetof(struct scn_map, name) == 0, "name first");
_Static_assert(offsetof(struct scn_file, name) == 0, "name first");
_Static_assert(offsetof(struct scn_mirror, name) == 0, "name first");
_Static_assert(offsetof(struct scn_agent, name) == 0, "name first");

static int find_proc(const struct scn_scenario *s, const char *name)
{
	return FIND(s->procs, s->nprocs, name);
}

static int find_map(const struct scn_scenario *s, const char *name)
{
	return FIND(s->maps, s->nmaps, name);
}

static int find_file(const struct scn_scenario *s, const char *name)
{
	return FIND(s->files, s->nfiles, name);
}

static int find_mirror(const struct scn_scenario *s, const char *name)
{
	return FIND(s->mirrors, s->nmirrors, name);
}

/* Names share one namespace: processes, maps, mirrors, agents. */
static bool name_taken(const struct scn_scenario *s, const char *name)
{
	return find_proc(s, name) >= 0 || find_map(s, name) >= 0 ||
	       find_mirror(s, name) >= 0 || find_file(s, name) >= 0 ||
	       FIND(s->agents, s->nagents, name) >= 0;
}

static bool parse_new_name(struct parser *ps, char *buf, const char *what)
{
	struct tok at = ps->t;

	if (!parse_name(ps, buf, what))
		return false;
	if (name_taken(ps->s, buf)) {
		error_at(ps, &at, "'%s' is already declared", buf);
		return false;
	}
	return true;
}

/*
 * The era line's "ERA+OPTION" (2.6.33+holt): the options after an era
 * parsed by parse_era() as @e.  Returns the options, or -1.
 */
static long parse_era_opts(struct parser *ps, int e)
{
	struct tok at = ps->t;
	char buf[64];
	unsigned int opts;

	snprintf(buf, sizeof(buf), "%s", mmn_era_name(e));
	while (ps->t.kind == T_PLUS) {
		size_t len = strlen(buf);

		next(ps);
		if (ps->t.kind != T_WORD || len + 1 + ps->t.len >= sizeof(buf)) {
			expected(ps, "an era option after '+' (2.6.33+holt)");
			return -1;
		}
		buf[len] = '+';
		memcpy(buf + len + 1, ps->t.s, ps->t.len);
		buf[len + 1 + ps->t.len] = 0;
		next(ps);
	}
	if (mmn_era_parse_opts(buf, &opts) != e) {
		error_at(ps, &at, "unknown era option in '%s' (the one option is 2.6.33+holt)",
			 buf);
		return -1;
	}
	return opts;
}

/* An era name: 6.12, 6.1 or 2.6.33.  Returns the era or -1. */
static int parse_era(struct parser *ps)
{
	char buf[16] = "";
	struct tok at = ps->t;
	int e;

	if ((ps->t.kind != T_WORD && ps->t.kind != T_NUM) ||
	    ps->t.len >= sizeof(buf)) {
		expected(ps, "an era (6.12, 6.1 or 2.6.33)");
		return -1;
	}
	memcpy(buf, ps->t.s, ps->t.len);
	e = mmn_era_parse(buf);
	if (e < 0) {
		error_at(ps, &at, "unknown era '%s' (expected 6.12, 6.1 or 2.6.33)", buf);
		return -1;
	}
	next(ps);
	return e;
}

/* "ok" or "violation KIND" into *@kind (-1 for ok). */
static bool parse_outcome(struct parser *ps, int *kind)
{
	char name[SCN_MAX_NAME];
	struct tok at;

	if (accept_word(ps, "ok")) {
		*kind = -1;
		return true;
	}
	if (accept_word(ps, "maybe")) {
		*kind = SCN_EXPECT_MAYBE;
		return true;
	}
	if (!accept_word(ps, "violation")) {
		expected(ps, "'ok', 'maybe' or 'violation KIND'");
		return false;
	}
	at = ps->t;
	if (ps->t.kind != T_WORD || ps->t.len >= sizeof(name)) {
		expected(ps, "a violation kind");
		return false;
	}
	memcpy(name, ps->t.s, ps->t.len);
	name[ps->t.len] = 0;
	*kind = strcmp(name, "any") ? mmn_violation_parse(name) : SCN_EXPECT_ANY;
	if (*kind < 0) {
		error_at(ps, &at, "unknown violation kind '%s' (see 'mmnlab list')", name);
		return false;
	}
	next(ps);
	return true;
}

/* expect [era E] [correct | broken | DRIVER/FORM | DRIVER/ *] OUTCOME */
static bool parse_expect(struct parser *ps)
{
	struct scn_scenario *s = ps->s;
	struct scn_expect *x;
	struct tok at = ps->t;

	if (s->nexpects >= SCN_MAX_EXPECT) {
		error_at(ps, &at, "too many 'expect' lines (at most %d)", SCN_MAX_EXPECT);
		return false;
	}
	x = &s->expects[s->nexpects];
	memset(x, 0, sizeof(*x));
	x->era = -1;
	x->form = SCN_FORM_ANY;
	x->line = at.line;
	if (accept_word(ps, "era")) {
		x->era = parse_era(ps);
		if (x->era < 0)
			return false;
	}
	if (accept_word(ps, "correct")) {
		x->form = SCN_FORM_CORRECT;
	} else if (accept_word(ps, "broken")) {
		x->form = SCN_FORM_BROKEN;
	} else if (ps->t.kind == T_WORD && memchr(ps->t.s, '/', ps->t.len)) {
		char spec[2 * SCN_MAX_NAME], *slash;

		at = ps->t;
		if (ps->t.len >= sizeof(spec)) {
			expected(ps, "DRIVER/FORM");
			return false;
		}
		memcpy(spec, ps->t.s, ps->t.len);
		spec[ps->t.len] = 0;
		slash = strchr(spec, '/');
		*slash = 0;
		x->driver = mmn_driver_find(spec);
		if (!x->driver) {
			error_at(ps, &at, "unknown driver '%s' (see 'mmnlab list')", spec);
			return false;
		}
		next(ps);
		if (slash[1] == 0 && ps->t.kind == T_BAD && ps->t.len == 1 && ps->t.s[0] == '*') {
			next(ps);		/* DRIVER/ * */
		} else {
			x->form = mmn_driver_form(x->driver, slash + 1);
			if (x->form < 0) {
				error_at(ps, &at, "driver '%s' has no form '%s' (see 'mmnlab list')",
					 x->driver->name, slash + 1);
				return false;
			}
		}
	}
	if (!parse_outcome(ps, &x->kind))
		return false;
	if (x->era < 0 && !x->driver && x->form == SCN_FORM_ANY)
		s->expect = x->kind;
	s->nexpects++;
	return true;
}

static bool parse_prot(struct parser *ps, int *prot)
{
	if (accept_word(ps, "rw"))
		*prot = PROT_READ | PROT_WRITE;
	else if (accept_word(ps, "r"))
		*prot = PROT_READ;
	else if (accept_word(ps, "none"))
		*prot = PROT_NONE;
	else {
		expected(ps, "a protection (rw, r or none)");
		return false;
	}
	return true;
}

/* ADDR := [PROC ':'] MAP ['[' PAGE ']'] ['+' OFFSET] */
static bool parse_addr(struct parser *ps, struct scn_addr *a)
{
	char name[SCN_MAX_NAME];
	struct tok at = ps->t;
	const struct scn_map *m;
	uint64_t v;

	a->proc = -1;
	a->off = 0;
	if (!parse_name(ps, name, "an address (MAP, MAP[PAGE], MAP+OFFSET)"))
		return false;
	if (ps->t.kind == T_COLON) {
		a->proc = find_proc(ps->s, name);
		if (a->proc < 0) {
			error_at(ps, &at, "unknown process '%s'", name);
			return false;
		}
		next(ps);
		at = ps->t;
		if (!parse_name(ps, name, "a mapping name"))
			return false;
	}
	a->map = find_map(ps->s, name);
	if (a->map < 0) {
		error_at(ps, &at, "unknown mapping '%s'", name);
		return false;
	}
	m = &ps->s->maps[a->map];
	if (ps->t.kind == T_LBRACK) {
		next(ps);
		if (!parse_num(ps, &v, 0, m->pages - 1, "a page index"))
			return false;
		a->off = (unsigned long)v << PAGE_SHIFT;
		if (!expect_tok(ps, T_RBRACK, "']'"))
			return false;
	}
	if (ps->t.kind == T_PLUS) {
		struct tok ot;

		next(ps);
		ot = ps->t;
		if (!parse_num(ps, &v, 0, m->pages * PAGE_SIZE - 8, "an offset"))
			return false;
		if (v & 7) {
			error_at(ps, &ot, "offset %llu is not 8-byte aligned (accesses are 64-bit words)",
				 (unsigned long long)v);
			return false;
		}
		a->off += (unsigned long)v;
		if (a->off > m->pages * PAGE_SIZE - 8) {
			error_at(ps, &ot, "address is past the end of mapping '%s' (%lu pages)",
				 m->name, m->pages);
			return false;
		}
	}
	return true;
}

static bool parse_ops(struct parser *ps, struct scn_agent *ag,
		      struct scn_op **opsp, int *nopsp);

static bool op_add(struct parser *ps, struct scn_op **ops, int *nops,
		   struct scn_op **out)
{
	struct scn_op *n;

	if (ps->s->nops_total >= SCN_MAX_OPS) {
		error_at(ps, &ps->t, "too many operations (at most %d in a file)",
			 SCN_MAX_OPS);
		return false;
	}
	n = realloc(*ops, (size_t)(*nops + 1) * sizeof(**ops));
	if (!n) {
		error_at(ps, &ps->t, "out of memory");
		return false;
	}
	*ops = n;
	*out = &n[(*nops)++];
	memset(*out, 0, sizeof(**out));
	ps->s->nops_total++;
	return true;
}

/* A kthread has no process of its own: its addresses name one. */
static bool agent_proc_ok(struct parser *ps, const struct scn_agent *ag,
			  const struct scn_op *op, const struct tok *at)
{
	if (ag->kind == SCN_AGENT_KTHREAD && op->addr.proc < 0) {
		error_at(ps, at, "a kthread agent's '%s' needs PROCESS:ADDR",
			 op_names[op->kind]);
		return false;
	}
	return true;
}

static bool parse_op(struct parser *ps, struct scn_agent *ag, struct scn_op *op)
{
	struct tok at = ps->t;
	char name[SCN_MAX_NAME];
	uint64_t v;
	int k;

	for (k = 0; k < SCN_OP__COUNT; k++)
		if (tok_is(ps, op_names[k]))
			break;
	if (k == SCN_OP__COUNT) {
		char buf[64];

		error_at(ps, &at, "unknown operation %s (see 'mmnlab list')",
			 tok_desc(&ps->t, buf, sizeof(buf)));
		return false;
	}
	if (!(op_who[k] & (1u << ag->kind))) {
		char who[40] = "";

		for (int w = 0; w < 3; w++)
			if (op_who[k] & (1u << w))
				snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s%s",
					 who[0] ? " or " : "", agent_kind_names[w]);
		error_at(ps, &at, "operation '%s' is for %s agents, '%s' is a %s agent",
			 op_names[k], who, ag->name, agent_kind_names[ag->kind]);
		return false;
	}
	op->kind = k;
	op->line = at.line;
	op->col = at.col;
	op->proc = -1;
	op->file = -1;
	next(ps);
	switch (op->kind) {
	case SCN_OP_STORE:
	case SCN_OP_WRITE:
		if (!parse_addr(ps, &op->addr))
			return false;
		return parse_num(ps, &op->val, 0, UINT64_MAX, "a value");
	case SCN_OP_LOAD:
	case SCN_OP_READ:
		return parse_addr(ps, &op->addr);
	case SCN_OP_FORK:
		if (ps->depth) {
			error_at(ps, &at, "'fork' cannot be inside a loop: each fork names a new process");
			return false;
		}
		at = ps->t;
		if (!parse_new_name(ps, name, "the child's process name"))
			return false;
		if (ps->s->nprocs >= SCN_MAX_PROCS) {
			error_at(ps, &at, "too many processes (at most %d)", SCN_MAX_PROCS);
			return false;
		}
		op->proc = ps->s->nprocs;
		snprintf(ps->s->procs[op->proc].name, SCN_MAX_NAME, "%s", name);
		ps->s->procs[op->proc].forked_by = op->line;
		ps->s->nprocs++;
		return true;
	case SCN_OP_EXIT:
		if (ps->t.kind == T_WORD) {
			at = ps->t;
			if (!parse_name(ps, name, "a process name"))
				return false;
			op->proc = find_proc(ps->s, name);
			if (op->proc < 0) {
				error_at(ps, &at, "unknown process '%s'", name);
				return false;
			}
		}
		return true;
	case SCN_OP_MUNMAP:
	case SCN_OP_DONTNEED:
	case SCN_OP_FREE:
	case SCN_OP_REMAP:
	case SCN_OP_PAGEOUT:
	case SCN_OP_MIGRATE:
	case SCN_OP_MERGEABLE:
	case SCN_OP_UNMERGEABLE:
	case SCN_OP_HUGEPAGE:
	case SCN_OP_MPROTECT: {
		const struct scn_map *m;

		if (!parse_addr(ps, &op->addr))
			return false;
		m = &ps->s->maps[op->addr.map];
		if (op->addr.off & (PAGE_SIZE - 1)) {
			error_at(ps, &at, "'%s' needs a page-aligned address", op_names[k]);
			return false;
		}
		if (!parse_num(ps, &v, 1, m->pages - (op->addr.off >> PAGE_SHIFT),
			       "a page count inside the mapping"))
			return false;
		op->pages = (unsigned long)v;
		if (op->kind == SCN_OP_MPROTECT)
			return parse_prot(ps, &op->prot);
		return agent_proc_ok(ps, ag, op, &at);
	}
	case SCN_OP_MREMAP:
		at = ps->t;
		if (!parse_name(ps, name, "a mapping name"))
			return false;
		op->addr.map = find_map(ps->s, name);
		op->addr.proc = -1;
		if (op->addr.map < 0) {
			error_at(ps, &at, "unknown mapping '%s'", name);
			return false;
		}
		if (ps->s->maps[op->addr.map].thp || ps->s->maps[op->addr.map].file >= 0) {
			error_at(ps, &at, "'mremap' moves anonymous mappings without 'thp' only");
			return false;
		}
		return true;
	case SCN_OP_RECLAIM:
		if (!parse_num(ps, &v, 1, 1UL << 20, "a page count"))
			return false;
		op->pages = (unsigned long)v;
		return true;
	case SCN_OP_COLLAPSE:
	case SCN_OP_SPLIT:
	case SCN_OP_AGE:
		if (!parse_addr(ps, &op->addr))
			return false;
		if (op->kind != SCN_OP_AGE && !ps->s->maps[op->addr.map].thp) {
			error_at(ps, &at, "'%s' needs a mapping declared with 'thp'", op_names[k]);
			return false;
		}
		return agent_proc_ok(ps, ag, op, &at);
	case SCN_OP_KHUGEPAGED:
	case SCN_OP_OOM_REAP:
		if (ps->t.kind == T_WORD) {
			at = ps->t;
			if (!parse_name(ps, name, "a process name"))
				return false;
			op->proc = find_proc(ps->s, name);
			if (op->proc < 0) {
				error_at(ps, &at, "unknown process '%s'", name);
				return false;
			}
		} else if (ag->kind == SCN_AGENT_KTHREAD) {
			error_at(ps, &at, "a kthread agent's '%s' must name the process", op_names[k]);
			return false;
		}
		return true;
	case SCN_OP_TRUNCATE:
	case SCN_OP_PUNCH: {
		const struct scn_file *f;

		at = ps->t;
		if (!parse_name(ps, name, "a file name"))
			return false;
		op->file = find_file(ps->s, name);
		if (op->file < 0) {
			error_at(ps, &at, "unknown file '%s'", name);
			return false;
		}
		f = &ps->s->files[op->file];
		if (op->kind == SCN_OP_TRUNCATE) {
			if (!parse_num(ps, &v, 0, SCN_MAX_PAGES, "a size in pages"))
				return false;
			op->pages = (unsigned long)v;
			return true;
		}
		if (!parse_num(ps, &v, 0, f->pages - 1, "a page of the file"))
			return false;
		op->page = (unsigned long)v;
		if (!parse_num(ps, &v, 1, f->pages - op->page, "a page count inside the file"))
			return false;
		op->pages = (unsigned long)v;
		return true;
	}
	case SCN_OP_KSM_SCAN:
	case SCN_OP_CLEAR_SOFT_DIRTY:
	case SCN_OP_YIELD:
		return true;
	case SCN_OP_LOOP:
		if (!parse_num(ps, &v, 1, SCN_MAX_LOOP, "a loop count"))
			return false;
		op->count = (unsigned long)v;
		if (ps->depth >= SCN_MAX_DEPTH) {
			error_at(ps, &at, "loops nest deeper than %d", SCN_MAX_DEPTH);
			return false;
		}
		ps->depth++;
		if (!parse_ops(ps, ag, &op->body, &op->nbody))
			return false;
		ps->depth--;
		return true;
	default:
		return false;
	}
}

/* '{' NL { op NL } '}' */
static bool parse_ops(struct parser *ps, struct scn_agent *ag,
		      struct scn_op **opsp, int *nopsp)
{
	if (!expect_tok(ps, T_LBRACE, "'{'"))
		return false;
	if (!expect_tok(ps, T_NL, "end of line after '{'"))
		return false;
	for (;;) {
		struct scn_op *op;

		while (ps->t.kind == T_NL)
			next(ps);
		if (ps->t.kind == T_RBRACE) {
			next(ps);
			return true;
		}
		if (ps->t.kind == T_EOF) {
			expected(ps, "'}'");
			return false;
		}
		if (!op_add(ps, opsp, nopsp, &op))
			return false;
		if (!parse_op(ps, ag, op))
			return false;
		if (ps->t.kind == T_RBRACE)
			continue;	/* "loop 2 { yield }" on one line is fine */
		if (!expect_tok(ps, T_NL, "end of line"))
			return false;
	}
}

static bool parse_agent(struct parser *ps, enum scn_agent_kind kind)
{
	struct scn_scenario *s = ps->s;
	struct tok at = ps->t;
	struct scn_agent *ag;
	char name[SCN_MAX_NAME];

	if (s->nagents >= SCN_MAX_AGENTS) {
		error_at(ps, &at, "too many agents (at most %d)", SCN_MAX_AGENTS);
		return false;
	}
	ag = &s->agents[s->nagents];
	memset(ag, 0, sizeof(*ag));
	ag->kind = kind;
	ag->line = at.line;
	ag->proc = -1;
	ag->mirror = -1;
	if (!parse_new_name(ps, ag->name, "an agent name"))
		return false;
	s->nagents++;
	if (kind == SCN_AGENT_KTHREAD) {
		/* kthread NAME { ... }: no process of its own */
	} else if (kind == SCN_AGENT_CPU) {
		if (!expect_word(ps, "on"))
			return false;
		at = ps->t;
		if (!parse_name(ps, name, "a process name"))
			return false;
		ag->proc = find_proc(s, name);
		if (ag->proc < 0) {
			error_at(ps, &at, "unknown process '%s'", name);
			return false;
		}
		if (s->procs[ag->proc].forked_by >= 0) {
			error_at(ps, &at, "process '%s' is created by a fork; agents run on processes that exist at the start",
				 name);
			return false;
		}
	} else {
		if (!expect_word(ps, "of"))
			return false;
		at = ps->t;
		if (!parse_name(ps, name, "a mirror name"))
			return false;
		ag->mirror = find_mirror(s, name);
		if (ag->mirror < 0) {
			error_at(ps, &at, "unknown mirror '%s'", name);
			return false;
		}
	}
	return parse_ops(ps, ag, &ag->ops, &ag->nops) && expect_eol(ps);
}

static bool parse_line(struct parser *ps)
{
	struct scn_scenario *s = ps->s;
	struct tok at = ps->t;
	char name[SCN_MAX_NAME];
	uint64_t v;

	if (accept_word(ps, "name")) {
		if (ps->t.kind != T_WORD || ps->t.len >= sizeof(s->name)) {
			expected(ps, "a scenario name (one word, under 64 characters)");
			return false;
		}
		memcpy(s->name, ps->t.s, ps->t.len);
		s->name[ps->t.len] = 0;
		next(ps);
	} else if (accept_word(ps, "era")) {
		if (s->era_set) {
			error_at(ps, &at, "a second 'era' line (list every era on one line)");
			return false;
		}
		s->eras = 0;
		if (accept_word(ps, "all")) {
			s->eras = (1u << MMN_ERA__COUNT) - 1;
		} else {
			do {
				struct tok eat = ps->t;
				int e = parse_era(ps);
				long o = e < 0 ? -1 : parse_era_opts(ps, e);

				if (o < 0)
					return false;
				/* options are the scenario's: one form per era */
				if ((s->eras & (1u << e)) &&
				    ((unsigned int)o != (s->era_opts & mmn_era_opts_valid(e)))) {
					error_at(ps, &eat, "era %s twice with different options (one file per variant)",
						 mmn_era_name(e));
					return false;
				}
				s->eras |= 1u << e;
				s->era_opts |= (unsigned int)o;
			} while (ps->t.kind == T_WORD || ps->t.kind == T_NUM);
		}
		for (int e = 0; e < MMN_ERA__COUNT; e++)
			if (s->eras & (1u << e)) {
				s->era = e;
				break;
			}
		s->era_set = true;
	} else if (accept_word(ps, "expect")) {
		if (!parse_expect(ps))
			return false;
	} else if (accept_word(ps, "frames")) {
		if (!parse_num(ps, &v, 16, 1UL << 20, "a frame count"))
			return false;
		s->frames = (unsigned long)v;
	} else if (accept_word(ps, "process")) {
		if (s->nprocs >= SCN_MAX_PROCS) {
			error_at(ps, &at, "too many processes (at most %d)", SCN_MAX_PROCS);
			return false;
		}
		if (!parse_new_name(ps, s->procs[s->nprocs].name, "a process name"))
			return false;
		s->procs[s->nprocs++].forked_by = -1;
	} else if (accept_word(ps, "map")) {
		struct scn_map *m;

		if (s->nmaps >= SCN_MAX_MAPS) {
			error_at(ps, &at, "too many mappings (at most %d)", SCN_MAX_MAPS);
			return false;
		}
		m = &s->maps[s->nmaps];
		memset(m, 0, sizeof(*m));
		m->line = at.line;
		if (!parse_new_name(ps, m->name, "a mapping name") ||
		    !expect_word(ps, "in"))
			return false;
		at = ps->t;
		if (!parse_name(ps, name, "a process name"))
			return false;
		m->proc = find_proc(s, name);
		if (m->proc < 0) {
			error_at(ps, &at, "unknown process '%s'", name);
			return false;
		}
		m->file = -1;
		if (accept_word(ps, "shared")) {
			m->shared = true;
		} else if (accept_word(ps, "file")) {
			at = ps->t;
			if (!parse_name(ps, name, "a file name"))
				return false;
			m->file = find_file(s, name);
			if (m->file < 0) {
				error_at(ps, &at, "unknown file '%s'", name);
				return false;
			}
			m->shared = true;
		} else if (!accept_word(ps, "private")) {
			expected(ps, "'private', 'shared' or 'file FILE'");
			return false;
		}
		if (!parse_prot(ps, &m->prot) || !expect_word(ps, "pages") ||
		    !parse_num(ps, &v, 1, SCN_MAX_PAGES, "a page count"))
			return false;
		m->pages = (unsigned long)v;
		if (m->file >= 0 && m->pages > s->files[m->file].pages) {
			error_at(ps, &at, "the mapping is larger than file '%s' (%lu pages)",
				 s->files[m->file].name, s->files[m->file].pages);
			return false;
		}
		for (;;) {
			struct tok ft = ps->t;

			if (accept_word(ps, "thp")) {
				if (m->shared || m->pages % 512) {
					error_at(ps, &ft, "'thp' needs a private mapping of a multiple of 512 pages");
					return false;
				}
				m->thp = true;
			} else if (accept_word(ps, "mergeable")) {
				if (m->shared) {
					error_at(ps, &ft, "'mergeable' needs a private mapping");
					return false;
				}
				m->mergeable = true;
			} else {
				break;
			}
		}
		s->nmaps++;
	} else if (accept_word(ps, "mirror")) {
		struct scn_mirror *m;

		if (s->nmirrors >= SCN_MAX_MIRRORS) {
			error_at(ps, &at, "too many mirrors (at most %d)", SCN_MAX_MIRRORS);
			return false;
		}
		m = &s->mirrors[s->nmirrors];
		memset(m, 0, sizeof(*m));
		m->line = at.line;
		if (!parse_new_name(ps, m->name, "a mirror name"))
			return false;
		at = ps->t;
		if (ps->t.kind == T_BAD && ps->t.len == 1 && ps->t.s[0] == '*') {
			/* every driver and form: expanded by scn_expand() */
			next(ps);
			m->any = true;
			m->driver = mmn_builtin_drivers[0];
			snprintf(m->form, sizeof(m->form), "%s", m->driver->forms[0]);
			goto mirror_on;
		}
		if (!parse_name(ps, name, "a driver name or '*'"))
			return false;
		m->driver = mmn_driver_find(name);
		if (!m->driver) {
			error_at(ps, &at, "unknown driver '%s' (see 'mmnlab list')", name);
			return false;
		}
		snprintf(m->form, sizeof(m->form), "%s", m->driver->forms[0]);
		if (!tok_is(ps, "on")) {
			at = ps->t;
			if (!parse_name(ps, name, "a form or 'on'"))
				return false;
			if (mmn_driver_form(m->driver, name) < 0) {
				error_at(ps, &at, "driver '%s' has no form '%s' (see 'mmnlab list')",
					 m->driver->name, name);
				return false;
			}
			snprintf(m->form, sizeof(m->form), "%s", name);
		}
mirror_on:
		if (!expect_word(ps, "on"))
			return false;
		at = ps->t;
		if (!parse_name(ps, name, "a process name"))
			return false;
		m->proc = find_proc(s, name);
		if (m->proc < 0) {
			error_at(ps, &at, "unknown process '%s'", name);
			return false;
		}
		if (s->procs[m->proc].forked_by >= 0) {
			error_at(ps, &at, "process '%s' is created by a fork; mirrors attach to processes that exist at the start",
				 name);
			return false;
		}
		s->nmirrors++;
	} else if (accept_word(ps, "cpu")) {
		return parse_agent(ps, SCN_AGENT_CPU);
	} else if (accept_word(ps, "device")) {
		return parse_agent(ps, SCN_AGENT_DEVICE);
	} else if (accept_word(ps, "kthread")) {
		return parse_agent(ps, SCN_AGENT_KTHREAD);
	} else if (accept_word(ps, "file")) {
		struct scn_file *f;

		if (s->nfiles >= SCN_MAX_FILES) {
			error_at(ps, &at, "too many files (at most %d)", SCN_MAX_FILES);
			return false;
		}
		f = &s->files[s->nfiles];
		memset(f, 0, sizeof(*f));
		f->line = at.line;
		if (!parse_new_name(ps, f->name, "a file name") ||
		    !expect_word(ps, "pages") ||
		    !parse_num(ps, &v, 1, SCN_MAX_PAGES, "a page count"))
			return false;
		f->pages = (unsigned long)v;
		s->nfiles++;
	} else if (accept_word(ps, "thp")) {
		if (accept_word(ps, "always"))
			s->thp = MMN_THP_ALWAYS;
		else if (accept_word(ps, "madvise"))
			s->thp = MMN_THP_MADVISE;
		else if (accept_word(ps, "never"))
			s->thp = MMN_THP_NEVER;
		else {
			expected(ps, "'always', 'madvise' or 'never'");
			return false;
		}
	} else if (accept_word(ps, "swapcache")) {
		if (!expect_word(ps, "keep"))
			return false;
		s->swapcache_keep = true;
	} else {
		expected(ps, "a declaration (name, era, expect, frames, thp, swapcache, process, file, map, mirror, cpu, device or kthread)");
		return false;
	}
	return expect_eol(ps);
}

static void ops_free(struct scn_op *ops, int n)
{
	for (int i = 0; i < n; i++)
		ops_free(ops[i].body, ops[i].nbody);
	free(ops);
}

void scn_free(struct scn_scenario *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nagents && !s->borrowed_ops; i++)
		ops_free(s->agents[i].ops, s->agents[i].nops);
	free(s);
}

struct scn_scenario *scn_parse(const char *file, const char *text, size_t len,
			       char *err, size_t errlen)
{
	struct parser ps = {
		.file = file, .p = text, .end = text + len, .line = 1, .col = 1,
		.err = err, .errlen = errlen,
	};
	struct scn_scenario *s;
	const char *nul;

	if (errlen)
		err[0] = 0;
	if (len > SCN_MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s:1:1: error: file is larger than %d bytes",
			 file, SCN_MAX_FILE_SIZE);
		return NULL;
	}
	nul = memchr(text, 0, len);
	if (nul) {
		int line = 1, col = 1;

		for (const char *q = text; q < nul; q++, col++)
			if (*q == '\n') {
				line++;
				col = 0;
			}
		snprintf(err, errlen, "%s:%d:%d: error: NUL byte in a text file",
			 file, line, col);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "%s: error: out of memory", file);
		return NULL;
	}
	s->expect = -1;
	s->thp = -1;
	s->era = MMN_ERA_6_12;
	s->eras = 1u << MMN_ERA_6_12;
	snprintf(s->file, sizeof(s->file), "%s", file);
	ps.s = s;
	next(&ps);
	while (!ps.failed && ps.t.kind != T_EOF) {
		if (ps.t.kind == T_NL) {
			next(&ps);
			continue;
		}
		if (!parse_line(&ps))
			break;
	}
	if (!ps.failed && !s->nagents) {
		struct tok t = ps.t;

		error_at(&ps, &t, "no agents: a scenario needs at least one 'cpu' or 'device' block");
	}
	if (ps.failed) {
		scn_free(s);
		return NULL;
	}
	if (!s->name[0]) {
		const char *base = strrchr(file, '/');

		snprintf(s->name, sizeof(s->name), "%s", base ? base + 1 : file);
		if (strlen(s->name) > 4 && !strcmp(s->name + strlen(s->name) - 4, ".mmn"))
			s->name[strlen(s->name) - 4] = 0;
	}
	return s;
}

struct scn_scenario *scn_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct scn_scenario *s;
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: error: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(SCN_MAX_FILE_SIZE + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: error: out of memory", path);
		return NULL;
	}
	n = fread(buf, 1, SCN_MAX_FILE_SIZE + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: error: cannot read: %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	s = scn_parse(path, buf, n, err, errlen);
	free(buf);
	return s;
}

/* ---- printing --------------------------------------------------------- */

static const char *prot_name(int prot)
{
	if (prot == (PROT_READ | PROT_WRITE))
		return "rw";
	return prot == PROT_READ ? "r" : "none";
}

static void print_addr(const struct scn_scenario *s, const struct scn_addr *a,
		       FILE *f)
{
	if (a->proc >= 0)
		fprintf(f, "%s:", s->procs[a->proc].name);
	fprintf(f, "%s", s->maps[a->map].name);
	if (a->off >> PAGE_SHIFT)
		fprintf(f, "[%lu]", a->off >> PAGE_SHIFT);
	if (a->off & (PAGE_SIZE - 1))
		fprintf(f, "+%lu", a->off & (PAGE_SIZE - 1));
}

static void print_ops(const struct scn_scenario *s, const struct scn_op *ops,
		      int n, int indent, FILE *f)
{
	for (int i = 0; i < n; i++) {
		const struct scn_op *op = &ops[i];

		fprintf(f, "%*s%s", indent, "", scn_op_name(op->kind));
		switch (op->kind) {
		case SCN_OP_STORE:
		case SCN_OP_WRITE:
			fputc(' ', f);
			print_addr(s, &op->addr, f);
			fprintf(f, " %#llx", (unsigned long long)op->val);
			break;
		case SCN_OP_LOAD:
		case SCN_OP_READ:
			fputc(' ', f);
			print_addr(s, &op->addr, f);
			break;
		case SCN_OP_FORK:
			fprintf(f, " %s", s->procs[op->proc].name);
			break;
		case SCN_OP_EXIT:
			if (op->proc >= 0)
				fprintf(f, " %s", s->procs[op->proc].name);
			break;
		case SCN_OP_MUNMAP:
		case SCN_OP_DONTNEED:
		case SCN_OP_FREE:
		case SCN_OP_REMAP:
		case SCN_OP_PAGEOUT:
		case SCN_OP_MIGRATE:
		case SCN_OP_MERGEABLE:
		case SCN_OP_UNMERGEABLE:
		case SCN_OP_HUGEPAGE:
		case SCN_OP_MPROTECT:
			fputc(' ', f);
			print_addr(s, &op->addr, f);
			fprintf(f, " %lu", op->pages);
			if (op->kind == SCN_OP_MPROTECT)
				fprintf(f, " %s", prot_name(op->prot));
			break;
		case SCN_OP_COLLAPSE:
		case SCN_OP_SPLIT:
		case SCN_OP_AGE:
			fputc(' ', f);
			print_addr(s, &op->addr, f);
			break;
		case SCN_OP_MREMAP:
			fprintf(f, " %s", s->maps[op->addr.map].name);
			break;
		case SCN_OP_RECLAIM:
			fprintf(f, " %lu", op->pages);
			break;
		case SCN_OP_KHUGEPAGED:
		case SCN_OP_OOM_REAP:
			if (op->proc >= 0)
				fprintf(f, " %s", s->procs[op->proc].name);
			break;
		case SCN_OP_TRUNCATE:
			fprintf(f, " %s %lu", s->files[op->file].name, op->pages);
			break;
		case SCN_OP_PUNCH:
			fprintf(f, " %s %lu %lu", s->files[op->file].name, op->page, op->pages);
			break;
		case SCN_OP_LOOP:
			fprintf(f, " %lu {\n", op->count);
			print_ops(s, op->body, op->nbody, indent + 4, f);
			fprintf(f, "%*s}", indent, "");
			break;
		default:
			break;
		}
		fputc('\n', f);
	}
}

void scn_print(const struct scn_scenario *s, FILE *f)
{
	fprintf(f, "name %s\nera", s->name);
	for (int e = 0; e < MMN_ERA__COUNT; e++) {
		char era[32];

		if (s->eras & (1u << e))
			fprintf(f, " %s", mmn_era_full_name(e,
				s->era_opts & mmn_era_opts_valid(e), era,
				sizeof(era)));
	}
	fputc('\n', f);
	if (!s->nexpects)
		fprintf(f, "expect ok\n");
	for (int i = 0; i < s->nexpects; i++) {
		const struct scn_expect *x = &s->expects[i];

		fprintf(f, "expect");
		if (x->era >= 0)
			fprintf(f, " era %s", mmn_era_name(x->era));
		if (x->form == SCN_FORM_CORRECT)
			fprintf(f, " correct");
		else if (x->form == SCN_FORM_BROKEN)
			fprintf(f, " broken");
		else if (x->driver)
			fprintf(f, " %s/%s", x->driver->name,
				x->form >= 0 ? x->driver->forms[x->form] : "*");
		if (x->kind < 0)
			fprintf(f, " ok\n");
		else if (x->kind == SCN_EXPECT_MAYBE)
			fprintf(f, " maybe\n");
		else
			fprintf(f, " violation %s\n", x->kind == SCN_EXPECT_ANY ?
				"any" : mmn_violation_name(x->kind));
	}
	if (s->frames)
		fprintf(f, "frames %lu\n", s->frames);
	if (s->thp >= 0)
		fprintf(f, "thp %s\n", s->thp == MMN_THP_ALWAYS ? "always" :
			s->thp == MMN_THP_MADVISE ? "madvise" : "never");
	if (s->swapcache_keep)
		fprintf(f, "swapcache keep\n");
	for (int i = 0; i < s->nfiles; i++)
		fprintf(f, "file %s pages %lu\n", s->files[i].name, s->files[i].pages);
	for (int i = 0; i < s->nprocs; i++)
		if (s->procs[i].forked_by < 0)
			fprintf(f, "process %s\n", s->procs[i].name);
	for (int i = 0; i < s->nmaps; i++) {
		const struct scn_map *m = &s->maps[i];

		fprintf(f, "map %s in %s ", m->name, s->procs[m->proc].name);
		if (m->file >= 0)
			fprintf(f, "file %s", s->files[m->file].name);
		else
			fprintf(f, "%s", m->shared ? "shared" : "private");
		fprintf(f, " %s pages %lu%s%s\n", prot_name(m->prot), m->pages,
			m->thp ? " thp" : "", m->mergeable ? " mergeable" : "");
	}
	for (int i = 0; i < s->nmirrors; i++)
		if (s->mirrors[i].any)
			fprintf(f, "mirror %s * on %s\n", s->mirrors[i].name,
				s->procs[s->mirrors[i].proc].name);
		else
			fprintf(f, "mirror %s %s %s on %s\n", s->mirrors[i].name,
				s->mirrors[i].driver->name, s->mirrors[i].form,
				s->procs[s->mirrors[i].proc].name);
	for (int i = 0; i < s->nagents; i++) {
		const struct scn_agent *ag = &s->agents[i];

		if (ag->kind == SCN_AGENT_CPU)
			fprintf(f, "cpu %s on %s {\n", ag->name, s->procs[ag->proc].name);
		else if (ag->kind == SCN_AGENT_KTHREAD)
			fprintf(f, "kthread %s {\n", ag->name);
		else
			fprintf(f, "device %s of %s {\n", ag->name,
				s->mirrors[ag->mirror].name);
		print_ops(s, ag->ops, ag->nops, 4, f);
		fprintf(f, "}\n");
	}
}
