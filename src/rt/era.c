// SPDX-License-Identifier: GPL-2.0
/* The run's rule set (<mmn/era.h>). */
#include <string.h>

#include <mmn/era.h>

enum mmn_era mmn_era = MMN_ERA_6_12;

static const char *const era_names[] = {
#define X(e, s) [MMN_ERA_##e] = s,
	MMN_ERAS(X)
#undef X
};

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
