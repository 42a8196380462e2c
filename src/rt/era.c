// SPDX-License-Identifier: GPL-2.0
/* The run's rule set and its options (<mmn/era.h>). */
#include <stdio.h>
#include <string.h>

#include <mmn/era.h>

enum mmn_era mmn_era = MMN_ERA_6_12;
unsigned int mmn_era_opts;
unsigned int mmn_era_opts_force;

static const char *const era_names[] = {
#define X(e, s) [MMN_ERA_##e] = s,
	MMN_ERAS(X)
#undef X
};

static const struct {
	const char *name;
	unsigned int bit;
	enum mmn_era era;		/* the only era that has it */
} era_opt_names[] = {
	{ "holt", MMN_ERA_OPT_HOLT, MMN_ERA_2_6_33 },
};

#define NR_ERA_OPTS	(sizeof(era_opt_names) / sizeof(era_opt_names[0]))

const char *mmn_era_name(enum mmn_era era)
{
	return (unsigned)era < MMN_ERA__COUNT ? era_names[era] : "?";
}

int mmn_era_parse(const char *name)
{
	for (int i = 0; i < MMN_ERA__COUNT; i++)
		if (!strcmp(name, era_names[i]))
			return i;
	return -1;
}

unsigned int mmn_era_opts_valid(enum mmn_era era)
{
	unsigned int opts = 0;

	for (size_t i = 0; i < NR_ERA_OPTS; i++)
		if (era_opt_names[i].era == era)
			opts |= era_opt_names[i].bit;
	return opts;
}

int mmn_era_parse_opts(const char *name, unsigned int *opts)
{
	const char *plus = strchr(name, '+');
	size_t len = plus ? (size_t)(plus - name) : strlen(name);
	char era[16];
	int e;

	*opts = 0;
	if (len >= sizeof(era))
		return -1;
	memcpy(era, name, len);
	era[len] = 0;
	e = mmn_era_parse(era);
	while (e >= 0 && plus) {
		const char *opt = plus + 1;
		size_t i;

		plus = strchr(opt, '+');
		len = plus ? (size_t)(plus - opt) : strlen(opt);
		for (i = 0; i < NR_ERA_OPTS; i++)
			if (strlen(era_opt_names[i].name) == len &&
			    !strncmp(opt, era_opt_names[i].name, len))
				break;
		if (i == NR_ERA_OPTS || era_opt_names[i].era != (enum mmn_era)e)
			return -1;
		*opts |= era_opt_names[i].bit;
	}
	return e;
}

const char *mmn_era_full_name(enum mmn_era era, unsigned int opts, char *buf,
			      size_t n)
{
	size_t len;

	snprintf(buf, n, "%s", mmn_era_name(era));
	for (size_t i = 0; i < NR_ERA_OPTS; i++) {
		if (!(opts & era_opt_names[i].bit))
			continue;
		len = strlen(buf);
		snprintf(buf + len, n > len ? n - len : 0, "+%s",
			 era_opt_names[i].name);
	}
	return buf;
}
