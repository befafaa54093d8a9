/* Tests for gen/deal: counts and sequences split exactly over parts (shards, threads of a
 * shard), and the engine's use of it on rate and user schedules — every case exact: the
 * parts add up to the whole, second by second, with no overlap and no gap. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/clock.h"
#include "gen/deal.h"
#include "gen/schedule.h"
#include "test.h"

TEST(deal_counts_split_exactly)
{
	/* the cases first: -n 10 and -c 10 over 3 shards are 4/3/3 */
	CHECK_INT(deal_share(10, (deal_part_t){0, 3}), 4);
	CHECK_INT(deal_share(10, (deal_part_t){1, 3}), 3);
	CHECK_INT(deal_share(10, (deal_part_t){2, 3}), 3);
	CHECK_INT(deal_share(300, (deal_part_t){2, 3}), 100);
	CHECK_INT(deal_share(7, (deal_part_t){0, 0}), 7); /* count 0: the whole */
	for (uint64_t total = 0; total <= 200; total++) {
		for (uint32_t n = 1; n <= 12; n++) {
			uint64_t sum = 0, lo = UINT64_MAX, hi = 0;

			for (uint32_t i = 0; i < n; i++) {
				uint64_t s = deal_share(total, (deal_part_t){i, n});

				sum += s;
				lo = s < lo ? s : lo;
				hi = s > hi ? s : hi;
				/* a part's share never shrinks as the total grows */
				if (total)
					CHECK(s >= deal_share(total - 1, (deal_part_t){i, n}));
			}
			CHECK_INT(sum, total);
			CHECK(hi - lo <= 1);
		}
	}
}

TEST(deal_sequence_covers_the_first_items_exactly)
{
	static int owner[400];

	for (uint64_t total = 0; total <= 150; total++) {
		for (uint32_t n = 1; n <= 9; n++) {
			for (uint64_t k = 0; k <= total; k++)
				owner[k] = -1;
			for (uint32_t i = 0; i < n; i++) {
				deal_part_t p = {i, n};

				for (uint64_t m = 1; m <= deal_share(total, p); m++) {
					uint64_t k = deal_nth(m, p);

					CHECK(k >= 1 && k <= total);
					if (k >= 1 && k <= total) {
						CHECK_INT(owner[k], -1); /* no overlap */
						owner[k] = (int)i;
					}
				}
			}
			for (uint64_t k = 1; k <= total; k++)
				CHECK(owner[k] >= 0); /* no gap */
		}
	}
}

TEST(deal_threads_of_shards_are_parts_of_the_whole)
{
	static int seen[500];

	for (uint32_t shards = 1; shards <= 5; shards++) {
		for (uint32_t threads = 1; threads <= 4; threads++) {
			for (uint64_t total = 0; total <= 97; total += 7) {
				uint64_t count = 0;

				for (uint64_t k = 0; k <= total; k++)
					seen[k] = 0;
				for (uint32_t s = 0; s < shards; s++) {
					deal_part_t shard = {s, shards};
					uint64_t mine = deal_share(total, shard), dealt = 0;

					for (uint32_t t = 0; t < threads; t++) {
						deal_part_t thread = {t, threads};

						dealt += deal_share(mine, thread);
						for (uint64_t m = 1; m <= deal_share(mine, thread);
						     m++) {
							uint64_t k = deal_nth2(m, thread, shard);

							CHECK(k >= 1 && k <= total);
							/* the shard's items are every shards-th */
							CHECK_INT((k - 1) % shards, s);
							if (k >= 1 && k <= total)
								seen[k]++;
							count++;
						}
					}
					CHECK_INT(dealt, mine);
				}
				CHECK_INT(count, total);
				for (uint64_t k = 1; k <= total; k++)
					CHECK_INT(seen[k], 1);
			}
		}
	}
}

#define MAX_SECONDS 16
#define MAX_PARTS   8

/* Arrivals per second of a rate schedule over `duration_ns`, as gen_open.c's due_time dispatches
 * them: the thread's n-th is the test's deal_nth2(n, thread, shard)-th, while it is due before
 * the end. Returns the arrivals counted. */
static uint64_t count_arrivals(const schedule_t *s, uint64_t duration_ns, deal_part_t shard,
                               uint32_t threads, uint64_t per_second[MAX_SECONDS])
{
	uint64_t total = 0;

	for (int i = 0; i < MAX_SECONDS; i++)
		per_second[i] = 0;
	for (uint32_t t = 0; t < threads; t++) {
		deal_part_t thread = {t, threads};

		for (uint64_t n = 1;; n++) {
			uint64_t at = schedule_arrival_time(s, deal_nth2(n, thread, shard));

			if (at == UINT64_MAX || at >= duration_ns)
				break;
			per_second[at / NS_PER_S]++;
			total++;
		}
	}
	return total;
}

/* One process's arrivals against N shards' (each with its threads): the same in every second,
 * every second split at most 1 apart. */
static void check_rate_dealt(const schedule_t *s, uint64_t duration_ns, uint32_t shards,
                             uint32_t threads)
{
	uint64_t whole[MAX_SECONDS], part[MAX_PARTS][MAX_SECONDS];
	uint64_t all = count_arrivals(s, duration_ns, (deal_part_t){0, 1}, 1, whole), sum = 0;

	for (uint32_t i = 0; i < shards; i++)
		sum += count_arrivals(s, duration_ns, (deal_part_t){i, shards}, threads, part[i]);
	CHECK_INT(sum, all);
	for (int sec = 0; sec < MAX_SECONDS; sec++) {
		uint64_t total = 0, lo = UINT64_MAX, hi = 0;

		for (uint32_t i = 0; i < shards; i++) {
			total += part[i][sec];
			lo = part[i][sec] < lo ? part[i][sec] : lo;
			hi = part[i][sec] > hi ? part[i][sec] : hi;
		}
		CHECK_INT(total, whole[sec]);
		CHECK(hi - lo <= 1);
	}
}

TEST(deal_open_model_arrivals_per_second)
{
	static const char *const stages[] = {"1s:100,2s:1000,1s:0", "500ms:7,1500ms:0.5,2s:333",
	                                     "0:50,3s:50,0:900,1s:900", "3s:1,1s:0"};
	uint64_t whole[MAX_SECONDS], part[3][MAX_SECONDS];
	schedule_t s;
	char err[200];

	/* the case: 1000/s over 3 shards is 334/333/333 every second (whose part gets
	 * the 334 rotates), 3000 in all less the one due at the very end */
	schedule_constant(&s, 1000, 3 * NS_PER_S);
	CHECK_INT(count_arrivals(&s, 3 * NS_PER_S, (deal_part_t){0, 1}, 1, whole), 2999);
	for (uint32_t i = 0; i < 3; i++)
		count_arrivals(&s, 3 * NS_PER_S, (deal_part_t){i, 3}, 2, part[i]);
	for (int sec = 1; sec < 3; sec++) {
		uint64_t p[3] = {part[0][sec], part[1][sec], part[2][sec]};

		CHECK_INT(p[0] + p[1] + p[2], 1000);
		CHECK(p[0] >= 333 && p[0] <= 334 && p[1] >= 333 && p[1] <= 334 && p[2] >= 333 &&
		      p[2] <= 334);
	}

	for (uint32_t shards = 1; shards <= MAX_PARTS; shards++) {
		for (uint32_t threads = 1; threads <= 3; threads++) {
			schedule_constant(&s, 1000, 3 * NS_PER_S);
			check_rate_dealt(&s, 3 * NS_PER_S, shards, threads);
			schedule_constant(&s, 333.3, 10 * NS_PER_S);
			check_rate_dealt(&s, 2500 * NS_PER_MS, shards, threads); /* -d cuts it */
			schedule_constant(&s, 0.7, 10 * NS_PER_S);
			check_rate_dealt(&s, 10 * NS_PER_S, shards, threads);
			for (size_t k = 0; k < sizeof(stages) / sizeof(stages[0]); k++) {
				CHECK_INT(schedule_parse(stages[k], 0, 1e7, &s, err, sizeof(err)),
				          0);
				check_rate_dealt(&s, schedule_duration(&s), shards, threads);
			}
		}
	}
}

/* -n N under the open model: each thread's budget is its share of its shard's share of N, and
 * the arrivals those budgets send are exactly the test's first N. */
TEST(deal_open_model_request_budget_is_the_first_arrivals)
{
	static bool sent[2000];

	for (uint64_t n = 1; n <= 1000; n += 37) {
		for (uint32_t shards = 1; shards <= 4; shards++) {
			for (uint32_t threads = 1; threads <= 3; threads++) {
				uint64_t count = 0;

				for (uint64_t k = 0; k <= n; k++)
					sent[k] = false;
				for (uint32_t s = 0; s < shards; s++) {
					deal_part_t shard = {s, shards};

					for (uint32_t t = 0; t < threads; t++) {
						deal_part_t thread = {t, threads};
						uint64_t budget =
						    deal_share(deal_share(n, shard), thread);

						for (uint64_t m = 1; m <= budget; m++) {
							uint64_t k = deal_nth2(m, thread, shard);

							CHECK(k <= n);
							if (k <= n)
								sent[k] = true;
							count++;
						}
					}
				}
				CHECK_INT(count, n);
				for (uint64_t k = 1; k <= n; k++)
					CHECK(sent[k]);
			}
		}
	}
}

/* The closed model with stages: at every moment the users asked, rounded once, are dealt to
 * the shards and their threads (gen_thread_share) and add up to exactly that. */
TEST(deal_closed_model_users_follow_the_stages)
{
	static const char *const stages[] = {"10s:10,5s:3,5s:0", "2s:1000,1s:17,0:4,3s:4", "1s:1",
	                                     "7s:7.5"};
	schedule_t s;
	char err[200];

	for (size_t k = 0; k < sizeof(stages) / sizeof(stages[0]); k++) {
		CHECK_INT(schedule_parse(stages[k], 0, 1e6, &s, err, sizeof(err)), 0);
		for (uint64_t t = 0; t <= schedule_duration(&s); t += 100 * NS_PER_MS) {
			uint64_t asked = (uint64_t)(schedule_value_at(&s, t) + 0.5);

			for (uint32_t shards = 1; shards <= 5; shards++) {
				for (uint32_t threads = 1; threads <= 3; threads++) {
					uint64_t sum = 0, lo = UINT64_MAX, hi = 0;

					for (uint32_t i = 0; i < shards; i++) {
						uint64_t mine = 0;

						for (uint32_t j = 0; j < threads; j++)
							mine += deal_share(
							    deal_share(asked,
							               (deal_part_t){i, shards}),
							    (deal_part_t){j, threads});
						sum += mine;
						lo = mine < lo ? mine : lo;
						hi = mine > hi ? mine : hi;
					}
					CHECK_INT(sum, asked);
					CHECK(hi - lo <= 1);
				}
			}
		}
	}
}
