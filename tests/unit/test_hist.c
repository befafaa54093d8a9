/* Unit tests for core/hist (layout, recording, percentiles, merge) and core/hist_codec
 * (HdrHistogram V2 bytes: round trips, official test vectors, malformed input). */
#include "test.h"

#include "core/hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <zlib.h>

/* hist_t is ~190 KB: keep the working set static rather than on the test's stack. */
static hist_t ha, hb, hu, hd;

/* splitmix64: a seeded generator, so a failure reproduces exactly. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double rng_unit(void) /* (0, 1) */
{
	return ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(void)
{
	return sqrt(-2.0 * log(rng_unit())) * cos(2.0 * M_PI * rng_unit());
}

enum dist { DIST_UNIFORM, DIST_EXPONENTIAL, DIST_LOGNORMAL, DIST_BIMODAL, DIST_SMALL, DIST_COUNT };

static const char *const dist_names[] = {"uniform", "exponential", "lognormal", "bimodal", "small"};

/* Latency-like shapes; lognormal spans ~1 µs to tens of seconds (median 1 ms). */
static int64_t draw(enum dist d)
{
	switch (d) {
	case DIST_UNIFORM: return (int64_t)(rng_next() % 1000000);
	case DIST_EXPONENTIAL: return (int64_t)(-log(rng_unit()) * 5000.0);
	case DIST_LOGNORMAL: return (int64_t)exp(log(1000.0) + 2.3 * rng_normal());
	case DIST_BIMODAL:
		return rng_next() % 10 ? 200 + (int64_t)(rng_next() % 100)
		                       : 2000000 + (int64_t)(rng_next() % 500000);
	default: return (int64_t)(rng_next() % 3000);
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t *fill(hist_t *h, enum dist d, size_t n, uint64_t seed)
{
	int64_t *v = malloc(n * sizeof(*v));

	rng_state = seed;
	hist_reset(h);
	for (size_t i = 0; i < n; i++) {
		v[i] = draw(d);
		if (v[i] > HIST_HIGHEST)
			v[i] =
			    HIST_HIGHEST; /* keep the exact reference equal to what is recorded */
		hist_record(h, v[i]);
	}
	qsort(v, n, sizeof(*v), cmp_i64);
	return v;
}

static int counts_equal(const hist_t *x, const hist_t *y)
{
	return memcmp(x->counts, y->counts, sizeof(x->counts)) == 0;
}

static uint64_t counts_sum(const hist_t *h)
{
	uint64_t s = 0;

	for (int i = 0; i < HIST_COUNTS_LEN; i++)
		s += h->counts[i];
	return s;
}

TEST(hist_layout)
{
	CHECK_INT(HIST_COUNTS_LEN, 23552);
	CHECK_INT(hist_index_of(0), 0);
	CHECK_INT(hist_index_of(2047), 2047);
	CHECK_INT(hist_index_of(2048), 2048);
	CHECK_INT(hist_highest_equivalent(2048), 2049);
	CHECK(hist_index_of(HIST_HIGHEST) < HIST_COUNTS_LEN);
	CHECK_INT(hist_index_of(INT64_MAX), hist_index_of(HIST_HIGHEST));
	CHECK_INT(hist_index_of(-7), 0);
	for (int i = 0; i < HIST_COUNTS_LEN; i++) {
		int64_t lo = hist_value_at_index(i);

		if (lo <= HIST_HIGHEST) { /* past the top, hist_index_of clamps */
			CHECK_INT(hist_index_of(lo), i);
			CHECK_INT(hist_index_of(hist_highest_equivalent(lo)), i);
		}
		CHECK(i == 0 || lo > hist_value_at_index(i - 1));
	}
	rng_state = 1;
	for (int i = 0; i < 200000; i++) {
		int64_t v = (int64_t)(rng_next() % (uint64_t)(HIST_HIGHEST + 1));
		int64_t lo = hist_value_at_index(hist_index_of(v)), hi = hist_highest_equivalent(v);

		CHECK(lo <= v && v <= hi);
		CHECK(v < 2048 ? lo == hi : (double)(hi - lo + 1) / (double)lo <= 1.0 / 1024);
	}
}

/* Ranks exact to the integer: 1..1000 sit in unit-wide buckets, and 50% of 1000 must be the
 * 500th value, not the 501st that a careless ceil of a rounded product gives. */
TEST(hist_percentile_exact_ranks)
{
	hist_reset(&ha);
	for (int v = 1; v <= 1000; v++)
		hist_record(&ha, v);
	CHECK_INT(hist_percentile(&ha, 50), 500);
	CHECK_INT(hist_percentile(&ha, 99), 990);
	CHECK_INT(hist_percentile(&ha, 99.9), 999);
	CHECK_INT(hist_percentile(&ha, 0.1), 1);
	CHECK_INT(hist_percentile(&ha, 0.05), 1);
	CHECK_INT(hist_percentile(&ha, 0), 1);
	CHECK_INT(hist_percentile(&ha, 100), 1000);
	CHECK_INT(hist_percentile(&ha, 250), 1000);
	CHECK_INT(hist_percentile(&ha, -3), 1);
}

/* p as parts per million. n is prime, so p * n / 100 is never an integer for p < 100 and the
 * nearest rank ceil(p/100 * n) is exact in integer arithmetic. */
static void check_percentiles(const hist_t *h, const int64_t *sorted, uint64_t n, const char *what)
{
	static const uint64_t ppm[] = {1,      10000,  100000, 250000, 500000, 750000,
	                               900000, 990000, 999000, 999900, 999990};

	for (size_t i = 0; i < sizeof(ppm) / sizeof(ppm[0]); i++) {
		uint64_t rank = ppm[i] * n / 1000000 + 1;
		int64_t want = sorted[rank - 1], got = hist_percentile(h, (double)ppm[i] / 1e4);

		if (got < want || got > hist_highest_equivalent(want) || got > sorted[n - 1] ||
		    (want > 0 && (double)(got - want) / (double)want > 0.001))
			test_fail(__FILE__, __LINE__, "%s p%g: got %" PRId64 ", exact %" PRId64,
			          what, (double)ppm[i] / 1e4, got, want);
	}
}

TEST(hist_percentiles_random)
{
	const uint64_t n = 100003;

	for (int d = 0; d < DIST_COUNT; d++) {
		for (uint64_t seed = 1; seed <= 3; seed++) {
			int64_t *v = fill(&ha, (enum dist)d, n, seed * 7919 + (uint64_t)d);

			check_percentiles(&ha, v, n, dist_names[d]);
			CHECK_INT(hist_percentile(&ha, 100), v[n - 1]);
			CHECK_INT(hist_percentile(&ha, 0), v[0]);
			free(v);
		}
	}
}

TEST(hist_stats)
{
	const size_t n = 50000;

	for (int d = 0; d < DIST_COUNT; d++) {
		int64_t *v = fill(&ha, (enum dist)d, n, 42 + (uint64_t)d);
		double sum = 0, sq = 0, mean;

		for (size_t i = 0; i < n; i++)
			sum += (double)v[i];
		mean = sum / (double)n;
		for (size_t i = 0; i < n; i++)
			sq += ((double)v[i] - mean) * ((double)v[i] - mean);
		CHECK_INT(ha.total, n);
		CHECK_INT(ha.min, v[0]);
		CHECK_INT(ha.max, v[n - 1]);
		CHECK_NEAR(hist_mean(&ha), mean, fabs(mean) * 1e-12);
		CHECK_NEAR(hist_stdev(&ha), sqrt(sq / (double)n), sqrt(sq / (double)n) * 1e-6);
		free(v);
	}
	hist_reset(&ha);
	hist_record_n(&ha, 12345, 1000);
	CHECK_NEAR(hist_stdev(&ha), 0, 0);
	CHECK_NEAR(hist_mean(&ha), 12345, 0);
}

TEST(hist_empty)
{
	hist_reset(&ha);
	CHECK_INT(ha.total, 0);
	CHECK_INT(ha.min, INT64_MAX);
	CHECK_INT(ha.max, 0);
	CHECK_INT(hist_percentile(&ha, 50), 0);
	CHECK_INT(hist_percentile(&ha, 100), 0);
	CHECK_NEAR(hist_mean(&ha), 0, 0);
	CHECK_NEAR(hist_stdev(&ha), 0, 0);
	CHECK_INT(counts_sum(&ha), 0);
}

TEST(hist_clamp)
{
	hist_reset(&ha);
	hist_record(&ha, HIST_HIGHEST);
	hist_record(&ha, HIST_HIGHEST + 1);
	hist_record(&ha, INT64_MAX);
	hist_record(&ha, -5);
	CHECK_INT(ha.total, 4);
	CHECK_INT(ha.clamped, 2);
	CHECK_INT(ha.max, HIST_HIGHEST);
	CHECK_INT(ha.min, 0);
	CHECK_INT(ha.counts[hist_index_of(HIST_HIGHEST)], 3);
	CHECK_INT(ha.counts[0], 1);
	CHECK_INT(hist_percentile(&ha, 99), HIST_HIGHEST);
	CHECK_NEAR(ha.sum, 3.0 * HIST_HIGHEST, 0);
	hist_record_n(&ha, HIST_HIGHEST * 2, 10);
	CHECK_INT(ha.clamped, 12);
	CHECK_INT(ha.total, 14);
}

TEST(hist_record_n)
{
	hist_reset(&ha);
	hist_reset(&hb);
	rng_state = 99;
	for (int i = 0; i < 1000; i++) {
		int64_t v = draw(DIST_LOGNORMAL);
		uint64_t k = rng_next() % 5;

		hist_record_n(&ha, v, k);
		for (uint64_t j = 0; j < k; j++)
			hist_record(&hb, v);
	}
	CHECK(counts_equal(&ha, &hb));
	CHECK_INT(ha.total, hb.total);
	CHECK_INT(ha.min, hb.min);
	CHECK_INT(ha.max, hb.max);
	CHECK_INT(ha.clamped, hb.clamped);
	CHECK_NEAR(ha.sum, hb.sum, hb.sum * 1e-12);
	CHECK_NEAR(ha.sum_sq, hb.sum_sq, hb.sum_sq * 1e-12);
	hist_reset(&ha);
	hist_record_n(&ha, 77, 0);
	CHECK_INT(ha.total, 0);
	CHECK_INT(ha.min, INT64_MAX);
	CHECK_INT(ha.max, 0);
}

TEST(hist_merge)
{
	int64_t *x = fill(&ha, DIST_LOGNORMAL, 30000, 5);
	int64_t *y = fill(&hb, DIST_BIMODAL, 20000, 6);

	hist_reset(&hu);
	for (int i = 0; i < 30000; i++)
		hist_record(&hu, x[i]);
	for (int i = 0; i < 20000; i++)
		hist_record(&hu, y[i]);
	hist_record(&hb, HIST_HIGHEST + 9);
	hist_record(&hu, HIST_HIGHEST + 9);
	hist_merge(&ha, &hb);
	CHECK(counts_equal(&ha, &hu));
	CHECK_INT(ha.total, hu.total);
	CHECK_INT(ha.min, hu.min);
	CHECK_INT(ha.max, hu.max);
	CHECK_INT(ha.clamped, 1);
	CHECK_NEAR(ha.sum, hu.sum, hu.sum * 1e-12);
	CHECK_INT(hist_percentile(&ha, 99.9), hist_percentile(&hu, 99.9));
	hist_reset(&hd);
	hist_merge(&hd, &hu); /* into empty */
	CHECK(counts_equal(&hd, &hu));
	CHECK_INT(hd.min, hu.min);
	hist_reset(&hb);
	hist_merge(&hd, &hb); /* empty into full: min/max untouched */
	CHECK_INT(hd.min, hu.min);
	CHECK_INT(hd.max, hu.max);
	free(x);
	free(y);
}

/* ---- codec ---- */

static void check_roundtrip(const hist_t *h, const char *what)
{
	buf_t b;

	buf_init(&b, 1 << 20);
	CHECK_INT(hist_encode(h, &b), 0);
	CHECK_INT(hist_decode(b.data, b.len, &hd), 0);
	if (!counts_equal(h, &hd))
		test_fail(__FILE__, __LINE__, "%s: counts differ after round trip", what);
	CHECK_INT(hd.total, h->total);
	if (h->total) {
		CHECK_INT(hist_index_of(hd.min), hist_index_of(h->min));
		CHECK_INT(hist_index_of(hd.max), hist_index_of(h->max));
		CHECK_INT(hist_index_of(hist_percentile(&hd, 99)),
		          hist_index_of(hist_percentile(h, 99)));
	}
	buf_free(&b);
}

TEST(hist_codec_roundtrip)
{
	for (int d = 0; d < DIST_COUNT; d++) {
		free(fill(&ha, (enum dist)d, 20000, 11 + (uint64_t)d));
		check_roundtrip(&ha, dist_names[d]);
	}
	hist_reset(&ha);
	check_roundtrip(&ha, "empty");
	hist_record(&ha, 0);
	check_roundtrip(&ha, "zero");
	hist_record_n(&ha, HIST_HIGHEST, 1ULL << 40);
	hist_record(&ha, HIST_HIGHEST + 1);
	check_roundtrip(&ha, "top");
	CHECK_INT(hd.max, HIST_HIGHEST);
	CHECK_INT(hd.clamped, 0); /* V2 has no field for it */
	hist_reset(&ha);
	/* lone zeros and dense runs, up to the top (counts past it would decode as the top) */
	for (int i = 0; i <= hist_index_of(HIST_HIGHEST); i++)
		ha.counts[i] = (uint64_t)i % 3;
	ha.counts[hist_index_of(HIST_HIGHEST)] = 1;
	ha.total = counts_sum(&ha);
	ha.min = 1;
	ha.max = HIST_HIGHEST;
	check_roundtrip(&ha, "dense");
}

/* The header bytes HdrHistogram writers produce for the same layout, word-size nibble
 * included; and a count payload byte-identical to HdrHistogramJS's for one value 42. */
TEST(hist_codec_header_bytes)
{
	static const uint8_t head[40] = {0x1c, 0x84, 0x93, 0x13, 0,    0,    0, 2, 0, 0, 0, 0, 0, 0,
	                                 0,    3,    0,    0,    0,    0,    0, 0, 0, 1, 0, 0, 0, 0,
	                                 0xd6, 0x93, 0xa4, 0,    0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
	uint8_t raw[64];
	uLongf raw_len = sizeof(raw);
	buf_t b;

	buf_init(&b, 1 << 20);
	hist_reset(&ha);
	hist_record(&ha, 42);
	CHECK_INT(hist_encode(&ha, &b), 0);
	CHECK(b.len > 8 && memcmp(b.data, "\x1c\x84\x93\x14", 4) == 0);
	CHECK_INT(uncompress(raw, &raw_len, (const Bytef *)b.data + 8, b.len - 8), Z_OK);
	CHECK_INT(raw_len, 42);
	CHECK(memcmp(raw, head, sizeof(head)) == 0);
	CHECK(raw[40] == 0x53 && raw[41] == 0x02); /* run of 42 zeros, then a count of 1 */
	buf_reset(&b);
	CHECK_INT(hist_encode_base64(&ha, &b), 0);
	CHECK(strncmp(b.data, "HISTFAAA", 8) == 0);
	CHECK_INT(b.len % 4, 0);
	buf_free(&b);
}

TEST(hist_codec_base64_roundtrip)
{
	buf_t b;

	buf_init(&b, 1 << 20);
	free(fill(&ha, DIST_LOGNORMAL, 10000, 3));
	CHECK_INT(hist_encode_base64(&ha, &b), 0);
	CHECK_INT(strlen(b.data), b.len);
	CHECK_INT(hist_decode_base64(b.data, b.len, &hd), 0);
	CHECK(counts_equal(&ha, &hd));
	CHECK_INT(hd.total, ha.total);
	buf_free(&b);
}

static int decode_text(const char *text, hist_t *h)
{
	return hist_decode_base64(text, strlen(text), h);
}

/* Interval 0 of jHiccup-2.0.7S.logV2.hlog, HdrHistogram's own test log (written by Java with
 * lowest 20000 ns and 2 digits, a layout coarser than ours). The expected figures are those
 * the HdrHistogram test suites (Go, JS) assert for that interval. */
TEST(hist_codec_official_vector)
{
	static const char jhiccup0[] =
	    "HISTFAAAAEV42pNpmSzMwMCgyAABTBDKT4GBgdnNYMcCBvsPEBEJISEuATEZMQ4uASkhIR4nrxg9v2lMax"
	    "hvMekILGZkKmcCAEf2CsI=";

	CHECK_INT(decode_text(jhiccup0, &ha), 0);
	CHECK_INT(ha.total, 741);
	CHECK_INT(ha.max, 2768895);
	CHECK_INT(hist_percentile(&ha, 50), 344063);
	CHECK_INT(hist_percentile(&ha, 99), 409599);
	CHECK_INT((int64_t)floor(hist_mean(&ha)), 301998);
	CHECK_INT(counts_sum(&ha), 741);
}

TEST(hist_codec_other_vectors)
{
	/* HdrHistogramJS's README: one value, 42, in a (1, 2^53 - 1, 3) histogram. */
	CHECK_INT(decode_text("HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM=", &ha), 0);
	CHECK_INT(ha.total, 1);
	CHECK_INT(ha.counts[42], 1);
	CHECK_INT(ha.min, 42);
	CHECK_INT(ha.max, 42);
	/* HdrHistogram_rust: an empty uncompressed V2 histogram whose highest is u64::MAX. */
	CHECK_INT(decode_text("HISTEwAAAAEAAAAAAAAAAwAAAAAAAAAB//////////8/8AAAAAAAAAA=", &ha), 0);
	CHECK_INT(ha.total, 0);
	/* Java after shiftValuesLeft: normalizing index offset 2048, counts in logical order;
	 * Java reads 7 counts in the bucket at 4936 (max 4939). */
	CHECK_INT(decode_text("HISTFAAAACR4nJNpmSzMwMDAzMDAwQChwYARTPI7Odh/gAgsNuYDAEyEA/o=", &ha),
	          0);
	CHECK_INT(ha.total, 7);
	CHECK_INT(ha.min, 4936);
	CHECK_INT(ha.max, 4939);
	CHECK_INT(ha.counts[hist_index_of(4936)], 7);
}

/* ---- hand-built raw V2 buffers, for foreign layouts and crafted input ---- */

static size_t zigzag(uint8_t *p, int64_t value)
{
	uint64_t u = ((uint64_t)value << 1) ^ (uint64_t)(value >> 63);
	size_t n = 0;

	while (n < 8 && u >= 0x80) {
		p[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	p[n++] = (uint8_t)u;
	return n;
}

static void be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static size_t build_raw(uint8_t *out, int32_t digits, int64_t lowest, int64_t highest,
                        const int64_t *values, size_t n)
{
	size_t len = 40;

	for (size_t i = 0; i < n; i++)
		len += zigzag(out + len, values[i]);
	be(out, 0x1c849313, 4);
	be(out + 4, len - 40, 4);
	be(out + 8, 0, 4);
	be(out + 12, (uint64_t)digits, 4);
	be(out + 16, (uint64_t)lowest, 8);
	be(out + 24, (uint64_t)highest, 8);
	be(out + 32, 0x3ff0000000000000ULL, 8);
	return len;
}

TEST(hist_codec_raw_v2)
{
	uint8_t *raw = malloc(300000);
	uLongf raw_len = 300000;
	buf_t b;

	buf_init(&b, 1 << 20);
	free(fill(&ha, DIST_EXPONENTIAL, 5000, 8));
	CHECK_INT(hist_encode(&ha, &b), 0);
	CHECK_INT(uncompress(raw, &raw_len, (const Bytef *)b.data + 8, b.len - 8), Z_OK);
	CHECK_INT(hist_decode(raw, raw_len, &hd), 0);
	CHECK(counts_equal(&ha, &hd));
	raw[3] = 0x03; /* a bare cookie without the word-size nibble is accepted too */
	CHECK_INT(hist_decode(raw, raw_len, &hd), 0);
	CHECK(counts_equal(&ha, &hd));
	CHECK_INT(hist_decode(raw, raw_len - 1, &hd), -EINVAL);
	CHECK_INT(hd.total, 0);
	buf_free(&b);
	free(raw);
}

/* Sources with other layouts: each bucket is re-recorded at its highest equivalent value. */
TEST(hist_codec_foreign_layout)
{
	uint8_t raw[256];
	/* 2 digits, unit 1: index 300 is bucket 1, sub-bucket 172, i.e. values 344..345 */
	int64_t coarse[] = {-300, 5};
	/* 4 digits: index 20000 is the value 20000 exactly */
	int64_t fine[] = {-20000, 3};
	/* unit 1000 (unit magnitude 9), 1e12 top: index 14336 is bucket 13, values from 2^32 */
	int64_t huge[] = {2, -14335, 4};

	CHECK_INT(hist_decode(raw, build_raw(raw, 2, 1, 1000000, coarse, 2), &ha), 0);
	CHECK_INT(ha.total, 5);
	CHECK_INT(ha.counts[hist_index_of(345)], 5);
	CHECK_INT(ha.min, 344);
	CHECK_INT(ha.max, 345);
	CHECK_INT(hist_percentile(&ha, 50), 345);
	CHECK_INT(hist_decode(raw, build_raw(raw, 4, 1, 1000000, fine, 2), &ha), 0);
	CHECK_INT(ha.counts[hist_index_of(20000)], 3);
	CHECK_INT(ha.min, 20000);
	CHECK_INT(hist_decode(raw, build_raw(raw, 3, 1000, 1000000000000LL, huge, 3), &ha), 0);
	CHECK_INT(ha.total, 6);
	CHECK_INT(ha.counts[hist_index_of(511)], 2); /* index 0: values 0..511 */
	CHECK_INT(ha.min, 0);
	CHECK_INT(ha.clamped, 4);
	CHECK_INT(ha.max, HIST_HIGHEST);
	CHECK_INT(ha.counts[hist_index_of(HIST_HIGHEST)], 4);
}

/* Input that must be refused cleanly, each a distinct check in the decoder. */
TEST(hist_codec_crafted)
{
	uint8_t raw[256], z[512];
	int64_t one[] = {1}, past_end[] = {-23552, 1}, run_past_end[] = {-23553};
	int64_t int_min[] = {INT64_MIN}, overflow[] = {INT64_MAX, INT64_MAX, INT64_MAX};
	size_t len = build_raw(raw, 3, 1, HIST_HIGHEST, one, 1);
	uLongf zlen = sizeof(z) - 8;

	CHECK_INT(hist_decode(raw, len, &ha), 0);
	CHECK_INT(hist_decode(raw, build_raw(raw, 3, 1, HIST_HIGHEST, past_end, 2), &ha), -EINVAL);
	CHECK_INT(hist_decode(raw, build_raw(raw, 3, 1, HIST_HIGHEST, run_past_end, 1), &ha),
	          -EINVAL);
	CHECK_INT(hist_decode(raw, build_raw(raw, 3, 1, HIST_HIGHEST, int_min, 1), &ha), -EINVAL);
	CHECK_INT(hist_decode(raw, build_raw(raw, 3, 1, HIST_HIGHEST, overflow, 3), &ha), -EINVAL);
	CHECK_INT(hist_decode(raw, build_raw(raw, 6, 1, HIST_HIGHEST, one, 1), &ha), -EINVAL);
	CHECK_INT(hist_decode(raw, build_raw(raw, -1, 1, HIST_HIGHEST, one, 1), &ha), -EINVAL);
	CHECK_INT(hist_decode(raw, build_raw(raw, 3, 0, HIST_HIGHEST, one, 1), &ha), -EINVAL);
	CHECK_INT(hist_decode(raw, build_raw(raw, 3, -5, HIST_HIGHEST, one, 1), &ha), -EINVAL);
	CHECK_INT(hist_decode(raw, build_raw(raw, 3, 100, 150, one, 1), &ha), -EINVAL);
	CHECK_INT(hist_decode(raw, build_raw(raw, 5, 1LL << 50, INT64_MAX, one, 1), &ha), -EINVAL);
	len = build_raw(raw, 3, 1, HIST_HIGHEST, one, 1);
	raw[40] = 0x80; /* a varint cut short by the end of the payload */
	CHECK_INT(hist_decode(raw, len, &ha), -EINVAL);
	be(raw + 4, 0xffffffff, 4); /* negative payload length */
	CHECK_INT(hist_decode(raw, len, &ha), -EINVAL);
	/* compressed: a header claiming 64 MiB of counts is refused before inflating them */
	len = build_raw(raw, 3, 1, HIST_HIGHEST, one, 1);
	be(raw + 4, 64u << 20, 4);
	CHECK_INT(compress(z + 8, &zlen, raw, len), Z_OK);
	be(z, 0x1c849314, 4);
	be(z + 4, zlen, 4);
	CHECK_INT(hist_decode(z, zlen + 8, &ha), -EINVAL);
	/* compressed: the stream holds one byte more than the header declares */
	be(raw + 4, len - 40 - 1, 4);
	zlen = sizeof(z) - 8;
	CHECK_INT(compress(z + 8, &zlen, raw, len), Z_OK);
	be(z + 4, zlen, 4);
	CHECK_INT(hist_decode(z, zlen + 8, &ha), -EINVAL);
	/* compressed inside compressed, and unknown cookies */
	be(raw, 0x1c849314, 4);
	CHECK_INT(hist_decode(raw, len, &ha), -EINVAL);
	be(raw, 0x1c849301, 4);
	CHECK_INT(hist_decode(raw, len, &ha), -EINVAL);
	CHECK_INT(hist_decode(raw, 0, &ha), -EINVAL);
	CHECK_INT(ha.total, 0);
}

/* A 10 MiB run of zeros deflates to ~10 KB; it must be refused, not inflated. */
TEST(hist_codec_zip_bomb)
{
	size_t big = 10u << 20;
	uint8_t *raw = calloc(1, big), *z = malloc(big / 100 + 1024);
	uLongf zlen = big / 100 + 1024 - 8;
	int64_t one[] = {1};

	build_raw(raw, 3, 1, HIST_HIGHEST, one, 1);
	be(raw + 4, big - 40, 4);
	CHECK_INT(compress(z + 8, &zlen, raw, big), Z_OK);
	be(z, 0x1c849314, 4);
	be(z + 4, zlen, 4);
	CHECK_INT(hist_decode(z, zlen + 8, &ha), -EINVAL);
	free(raw);
	free(z);
}

static void check_sane(const hist_t *h, int rc)
{
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		CHECK_INT(counts_sum(h), h->total);
		CHECK(h->total == 0 || h->min <= h->max);
		CHECK(h->max <= HIST_HIGHEST);
	} else {
		CHECK_INT(h->total, 0);
	}
}

TEST(hist_codec_truncations)
{
	uint8_t *raw = malloc(300000);
	uLongf raw_len = 300000;
	buf_t b, t;

	buf_init(&b, 1 << 20);
	buf_init(&t, 1 << 20);
	free(fill(&ha, DIST_LOGNORMAL, 3000, 21));
	CHECK_INT(hist_encode(&ha, &b), 0);
	CHECK_INT(hist_encode_base64(&ha, &t), 0);
	for (size_t n = 0; n < b.len; n++)
		CHECK_INT(hist_decode(b.data, n, &hd), -EINVAL);
	for (size_t n = 0; n < t.len; n++)
		CHECK_INT(hist_decode_base64(t.data, n, &hd), -EINVAL);
	CHECK_INT(uncompress(raw, &raw_len, (const Bytef *)b.data + 8, b.len - 8), Z_OK);
	for (size_t n = 0; n < raw_len; n++)
		CHECK_INT(hist_decode(raw, n, &hd), -EINVAL);
	buf_free(&b);
	buf_free(&t);
	free(raw);
}

/* Random corruption of compressed, raw and base64 forms: never a crash (run this under ASan),
 * and either -EINVAL with h empty or a self-consistent histogram. */
TEST(hist_codec_byte_flips)
{
	uint8_t *raw = malloc(300000), *copy = malloc(300000);
	uLongf raw_len = 300000;
	buf_t b, t;

	buf_init(&b, 1 << 20);
	buf_init(&t, 1 << 20);
	free(fill(&ha, DIST_BIMODAL, 2000, 31));
	CHECK_INT(hist_encode(&ha, &b), 0);
	CHECK_INT(hist_encode_base64(&ha, &t), 0);
	CHECK_INT(uncompress(raw, &raw_len, (const Bytef *)b.data + 8, b.len - 8), Z_OK);
	rng_state = 77;
	for (int trial = 0; trial < 3000; trial++) {
		const uint8_t *src = trial % 3 == 0   ? (const uint8_t *)b.data
		                     : trial % 3 == 1 ? raw
		                                      : (const uint8_t *)t.data;
		size_t len = trial % 3 == 0 ? b.len : trial % 3 == 1 ? raw_len : t.len;
		int flips = 1 + (int)(rng_next() % 3);

		memcpy(copy, src, len);
		for (int f = 0; f < flips; f++)
			copy[rng_next() % len] ^= (uint8_t)(1 + rng_next() % 255);
		if (trial % 3 == 2)
			check_sane(&hd, hist_decode_base64((const char *)copy, len, &hd));
		else
			check_sane(&hd, hist_decode(copy, len, &hd));
	}
	buf_free(&b);
	buf_free(&t);
	free(raw);
	free(copy);
}

TEST(hist_codec_base64_malformed)
{
	static const char *const bad[] = {
	    "",         "H",         "HIS",  "HISTFAAA=",  "HISTFAA*",  "HI=TFAAA",
	    "HISTF=AA", "HISTFAA=A", "====", "HISTFAAA\n", " HISTFAAA", "HISTFA=A",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(decode_text(bad[i], &ha), -EINVAL);
	CHECK_INT(decode_text("HISTFAAAAB542pNpmSzMwMDAxAABzFCaEUoz2X+AMIKZAEARAtM", &ha), -EINVAL);
}
