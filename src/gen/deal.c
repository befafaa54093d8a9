/* deal: the arithmetic of splitting counts and sequences over parts (deal.h). */
#include "gen/deal.h"

static uint64_t parts(deal_part_t p)
{
	return p.count ? p.count : 1;
}

uint64_t deal_share(uint64_t total, deal_part_t p)
{
	uint64_t n = parts(p);

	return total / n + ((uint64_t)p.index < total % n);
}

uint64_t deal_nth(uint64_t n, deal_part_t p)
{
	return (n - 1) * parts(p) + p.index + 1;
}

uint64_t deal_nth2(uint64_t n, deal_part_t inner, deal_part_t outer)
{
	return deal_nth(deal_nth(n, inner), outer);
}

double deal_value(double value, deal_part_t p)
{
	return value / (double)parts(p);
}

bool deal_is_whole(deal_part_t p)
{
	return parts(p) == 1;
}
