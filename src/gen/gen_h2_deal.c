/* gen_h2_deal: how --h2's streams are laid out — every `streams` of a shard's streams one
 * TCP connection, whole connections dealt to threads as deal_share deals a count
 * (docs/run.md), users dealt round robin over the connections — and a thread's connections
 * and stream slots in memory. Arithmetic but for the set-up: no I/O. */
#include <errno.h>
#include <stdlib.h>

#include "gen/gen_h2_internal.h"

uint32_t gen_h2_connections(uint32_t streams_total, uint32_t streams)
{
	return streams ? (streams_total + streams - 1) / streams : streams_total;
}

uint32_t gen_h2_threads(uint32_t streams_total, uint32_t streams, uint32_t threads)
{
	uint32_t conns = gen_h2_connections(streams_total, streams);

	if (threads > conns)
		threads = conns;
	return threads ? threads : 1;
}

/* The first of part p's connections when `conns` are dealt in order: the parts before it
 * take conns/count each and the first conns%count one more. */
static uint32_t first_conn(uint32_t conns, deal_part_t p)
{
	uint32_t more = conns % (p.count ? p.count : 1);

	return p.index * (conns / (p.count ? p.count : 1)) + (p.index < more ? p.index : more);
}

uint32_t gen_h2_thread_first_slot(uint32_t streams_total, uint32_t streams, deal_part_t p)
{
	uint32_t m = streams ? streams : 1;
	uint64_t first = (uint64_t)first_conn(gen_h2_connections(streams_total, m), p) * m;

	return first < streams_total ? (uint32_t)first : streams_total;
}

uint32_t gen_h2_thread_slots(uint32_t streams_total, uint32_t streams, deal_part_t p)
{
	uint32_t m = streams ? streams : 1, conns = gen_h2_connections(streams_total, m);
	uint64_t end = (uint64_t)(first_conn(conns, p) + deal_share(conns, p)) * m;

	if (end > streams_total)
		end = streams_total;
	return (uint32_t)end - gen_h2_thread_first_slot(streams_total, m, p);
}

/* How many of items 1..n dealt round robin over `parts` go to parts [a, b). */
static uint64_t round_robin(uint64_t n, uint32_t a, uint32_t b, uint32_t parts)
{
	uint64_t rest = n % parts;

	if (a >= b)
		return 0;
	return n / parts * (b - a) + (rest <= a ? 0 : rest - a < b - a ? rest - a : b - a);
}

uint32_t gen_h2_thread_users(uint32_t users, uint32_t streams_total, uint32_t streams,
                             deal_part_t p)
{
	uint32_t m = streams ? streams : 1, conns = gen_h2_connections(streams_total, m);
	uint32_t a = first_conn(conns, p), b = a + (uint32_t)deal_share(conns, p);
	/* the shard's last connection carries `last`: the first `last` rounds go over all of
	 * them, the rest over the others, each up to m */
	uint64_t last = conns ? streams_total - (uint64_t)(conns - 1) * m : 0;

	if (users > streams_total)
		users = streams_total;
	if (!conns)
		return 0;
	if (users <= last * conns)
		return (uint32_t)round_robin(users, a, b, conns);
	return (uint32_t)(last * (b - a) + round_robin(users - last * conns, a,
	                                               b < conns - 1 ? b : conns - 1, conns - 1));
}

/* ---- a thread's connections and streams ---- */

int gen_h2_thread_setup(gen_thread_t *t)
{
	uint32_t m = t->run->cfg.streams, n = (t->conn_count + m - 1) / m;
	gen_h2_thread_t *h2 = calloc(1, sizeof(*h2));

	if (!h2)
		return -ENOMEM;
	t->h2 = h2;
	gen_h2_pool_init(&h2->pool);
	h2->conns = calloc(n, sizeof(*h2->conns));
	h2->slots = calloc(t->conn_count, sizeof(*h2->slots));
	if (!h2->conns || !h2->slots)
		return -ENOMEM;
	h2->conn_count = n;
	for (uint32_t i = 0; i < n; i++) {
		gen_h2_conn_t *h = &h2->conns[i];

		h->thread = t;
		h->fd = -1;
		h->slots = &h2->slots[i * m];
		/* a thread's last connection has the streams left over (docs/run.md) */
		h->slot_count = t->conn_count - i * m < m ? t->conn_count - i * m : m;
	}
	return 0;
}

void gen_h2_thread_free(gen_thread_t *t)
{
	if (!t->h2)
		return;
	for (uint32_t i = 0; i < t->h2->conn_count; i++)
		gen_h2_conn_close_now(
		    &t->h2->conns[i]); /* before its loop is freed; none is in a call */
	gen_h2_pool_free(&t->h2->pool);
	free(t->h2->conns);
	free(t->h2->slots);
	free(t->h2);
	t->h2 = NULL;
}
