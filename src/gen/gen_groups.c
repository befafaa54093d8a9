/* gen_groups: responses counted by a header's value. A thread looks its value up among at most
 * GEN_GROUPS_MAX kept ones (a handful in practice: one per instance), so the cost per response
 * is a short scan and a histogram record — paid only with --group-by-header. */
#include "gen/gen_groups.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The value as it is kept and reported: printable ASCII, anything else as '?', so a result
 * document stays valid UTF-8 whatever bytes the target sent. */
static void clean(const http_header_capture_t *c, char *out)
{
	for (uint8_t i = 0; i < c->len; i++) {
		unsigned char b = (unsigned char)c->value[i];

		out[i] = b >= 0x20 && b < 0x7f ? (char)b : '?';
	}
	out[c->len] = '\0';
}

static gen_group_t *group_new(const char *value)
{
	gen_group_t *g = calloc(1, sizeof(*g));

	/* calloc: the histogram's pages are touched only where its values fall */
	if (!g || !(g->latency = calloc(1, sizeof(hist_t)))) {
		free(g);
		return NULL;
	}
	g->latency->min = INT64_MAX;
	strcpy(g->value, value);
	return g;
}

/* The group of a value, added when new; NULL when there is no room (or memory) for it. */
static gen_group_t *find(gen_groups_t *g, const char *value)
{
	gen_group_t *x;

	for (uint32_t i = 0; i < g->count; i++)
		if (strcmp(g->groups[i]->value, value) == 0)
			return g->groups[i];
	if (g->count == GEN_GROUPS_MAX)
		return NULL;
	if (!(x = group_new(value))) {
		g->out_of_memory = true;
		return NULL;
	}
	g->groups[g->count++] = x;
	return x;
}

void gen_groups_record(gen_groups_t *g, const http_header_capture_t *c, int64_t latency_us,
                       bool error)
{
	char value[HTTP_CAPTURE_MAX + 1];
	gen_group_t *x;

	if (!c->found) {
		g->missing++;
		return;
	}
	g->truncated += c->truncated;
	clean(c, value);
	if (!(x = find(g, value))) {
		g->overflow++;
		return;
	}
	x->responses++;
	x->errors += error;
	hist_record(x->latency, latency_us);
}

void gen_groups_error(gen_groups_t *g, const http_header_capture_t *c)
{
	char value[HTTP_CAPTURE_MAX + 1];

	if (!c->found)
		return;
	clean(c, value);
	for (uint32_t i = 0; i < g->count; i++)
		if (strcmp(g->groups[i]->value, value) == 0) {
			g->groups[i]->errors++;
			return;
		}
}

int gen_groups_merge(gen_groups_t *dst, const gen_groups_t *src)
{
	dst->missing += src->missing;
	dst->overflow += src->overflow;
	dst->truncated += src->truncated;
	dst->out_of_memory |= src->out_of_memory;
	for (uint32_t i = 0; i < src->count; i++) {
		const gen_group_t *s = src->groups[i];
		gen_group_t *d = find(dst, s->value);

		if (!d) {
			if (dst->out_of_memory)
				return -ENOMEM;
			dst->overflow += s->responses; /* threads saw more values between them */
			continue;
		}
		d->responses += s->responses;
		d->errors += s->errors;
		hist_merge(d->latency, s->latency);
	}
	return 0;
}

void gen_groups_free(gen_groups_t *g)
{
	for (uint32_t i = 0; i < g->count; i++) {
		free(g->groups[i]->latency);
		free(g->groups[i]);
	}
	memset(g, 0, sizeof(*g));
}

uint64_t gen_groups_grouped(const gen_groups_t *g)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < g->count; i++)
		n += g->groups[i]->responses;
	return n;
}

double gen_groups_spread(const gen_groups_t *g)
{
	uint64_t total = gen_groups_grouped(g), most = 0;

	for (uint32_t i = 0; i < g->count; i++)
		if (g->groups[i]->responses > most)
			most = g->groups[i]->responses;
	return total ? (double)most * g->count / (double)total : NAN;
}
