/* hist_codec: HdrHistogram's V2 interchange bytes (raw and zlib-compressed) and their base64,
 * so surge's latencies can be read by HdrHistogram tools and theirs merged into surge's. */
#include "core/hist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* A cookie's 0xf0 nibble is a word size; V2 writers put 1 there (LEB128 counts), which is
 * why every HdrHistogram log line starts "HISTFAAA" (0x1c849314). Readers ignore it. */
#define COOKIE_WORD_MASK     0xf0u
#define COOKIE_V2_WORD       0x10u
#define COOKIE_V2_RAW        0x1c849303u
#define COOKIE_V2_COMPRESSED 0x1c849304u

#define V2_HEADER_LEN   40 /* cookie, payload length, offset, digits, lowest, highest, ratio */
#define ZLIB_HEADER_LEN 8  /* cookie, deflated length */
#define LEB128_MAX      9  /* ZigZag LEB128-64b9B: 8 bytes of 7 bits, then one of 8 */
#define RAW_MAX         (V2_HEADER_LEN + LEB128_MAX * HIST_COUNTS_LEN)
/* Foreign layouts can be far larger than ours; real encodings are sparse, so anything that
 * claims more counts bytes than this is refused rather than inflated. */
#define DECODE_PAYLOAD_MAX (4u << 20)
#define BASE64_TEXT_MAX    (8u << 20)

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ---- encoding ---- */

static size_t put_varint(uint8_t *p, int64_t value)
{
	uint64_t u = ((uint64_t)value << 1) ^ (uint64_t)(value >> 63);
	size_t n = 0;

	while (n < LEB128_MAX - 1 && u >= 0x80) {
		p[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	p[n++] = (uint8_t)u; /* the ninth byte carries the last 8 bits whole */
	return n;
}

/* Counts up to the last non-zero one (at least one, as Java writes for an empty histogram);
 * a run of two or more zeros becomes one negative run length, a lone zero stays 0. */
static size_t encode_counts(const hist_t *h, uint8_t *out)
{
	int limit = HIST_COUNTS_LEN, i = 0;
	size_t n = 0;

	while (limit > 1 && h->counts[limit - 1] == 0)
		limit--;
	while (i < limit) {
		int run = 0;

		while (i + run < limit && h->counts[i + run] == 0)
			run++;
		if (run > 1) {
			n += put_varint(out + n, -(int64_t)run);
			i += run;
			continue;
		}
		/* a count above INT64_MAX cannot be represented; saturate rather than go negative
		 */
		n += put_varint(out + n,
		                h->counts[i] > INT64_MAX ? INT64_MAX : (int64_t)h->counts[i]);
		i++;
	}
	return n;
}

static size_t encode_raw(const hist_t *h, uint8_t *out)
{
	size_t payload = encode_counts(h, out + V2_HEADER_LEN);
	double ratio = 1.0;
	uint64_t ratio_bits;

	memcpy(&ratio_bits, &ratio, sizeof(ratio_bits));
	put_be32(out, COOKIE_V2_RAW | COOKIE_V2_WORD);
	put_be32(out + 4, (uint32_t)payload);
	put_be32(out + 8, 0); /* normalizing index offset: surge never shifts values */
	put_be32(out + 12, HIST_SIG_FIGS);
	put_be64(out + 16, (uint64_t)HIST_LOWEST);
	put_be64(out + 24, (uint64_t)HIST_HIGHEST);
	put_be64(out + 32, ratio_bits);
	return V2_HEADER_LEN + payload;
}

/* Appends the compressed form to out. The raw form is built in a temporary heap buffer
 * (at most RAW_MAX bytes) and deflated straight into out's spare room. */
int hist_encode(const hist_t *h, buf_t *out)
{
	uint8_t *raw = malloc(RAW_MAX), *dst;
	size_t raw_len;
	uLongf dst_len;
	int rc;

	if (!raw)
		return -ENOMEM;
	raw_len = encode_raw(h, raw);
	dst_len = compressBound((uLong)raw_len);
	rc = buf_reserve(out, ZLIB_HEADER_LEN + dst_len);
	if (rc < 0)
		goto done;
	dst = (uint8_t *)out->data + out->len;
	if (compress2(dst + ZLIB_HEADER_LEN, &dst_len, raw, (uLong)raw_len,
	              Z_DEFAULT_COMPRESSION) != Z_OK) {
		rc = -ENOMEM; /* zlib's only failure with a compressBound-sized output */
		goto done;
	}
	put_be32(dst, COOKIE_V2_COMPRESSED | COOKIE_V2_WORD);
	put_be32(dst + 4, (uint32_t)dst_len);
	out->len += ZLIB_HEADER_LEN + dst_len;
	out->data[out->len] = '\0';
done:
	free(raw);
	return rc;
}

static const char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_encode(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i += 3, out += 4) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[0] = base64_alphabet[v >> 18];
		out[1] = base64_alphabet[(v >> 12) & 63];
		out[2] = i + 1 < len ? base64_alphabet[(v >> 6) & 63] : '=';
		out[3] = i + 2 < len ? base64_alphabet[v & 63] : '=';
	}
}

/* Appends the base64 of the compressed form, the text HdrHistogram log lines carry. */
int hist_encode_base64(const hist_t *h, buf_t *out)
{
	buf_t bin;
	size_t text_len;
	int rc;

	buf_init(&bin, RAW_MAX + ZLIB_HEADER_LEN + 1024);
	rc = hist_encode(h, &bin);
	if (rc < 0)
		goto done;
	text_len = (bin.len + 2) / 3 * 4;
	rc = buf_reserve(out, text_len);
	if (rc < 0)
		goto done;
	base64_encode((const uint8_t *)bin.data, bin.len, out->data + out->len);
	out->len += text_len;
	out->data[out->len] = '\0';
done:
	buf_free(&bin);
	return rc;
}

/* ---- decoding ---- */

/* The source histogram's layout, derived from its header exactly as HdrHistogram does. */
struct layout {
	int unit_mag; /* log2 of the lowest discernible value */
	int half_mag; /* log2 of half the sub-bucket count */
	int64_t counts_len;
};

static int layout_init(struct layout *l, int32_t digits, int64_t lowest, uint64_t highest)
{
	int64_t single_unit = 2, half_count, buckets = 1;
	uint64_t untrackable;
	int count_mag = 0;

	if (digits < 0 || digits > 5 || lowest < 1)
		return -EINVAL;
	if (highest > INT64_MAX) /* Rust writes u64::MAX for "unbounded" */
		highest = INT64_MAX;
	if (highest < 2 * (uint64_t)lowest)
		return -EINVAL;
	for (int i = 0; i < digits; i++)
		single_unit *= 10;
	while (((int64_t)1 << count_mag) < single_unit)
		count_mag++;
	l->unit_mag = 63 - __builtin_clzll((uint64_t)lowest);
	l->half_mag = (count_mag > 1 ? count_mag : 1) - 1;
	if (l->unit_mag + l->half_mag > 61)
		return -EINVAL;
	half_count = (int64_t)1 << l->half_mag;
	untrackable = (uint64_t)(2 * half_count) << l->unit_mag;
	while (untrackable <= highest) {
		if (untrackable > (uint64_t)INT64_MAX / 2) {
			buckets++;
			break;
		}
		untrackable <<= 1;
		buckets++;
	}
	l->counts_len = (buckets + 1) * half_count;
	return 0;
}

/* The value range [lowest, lowest + width) that source index i stands for, saturating where
 * a huge layout's top bucket would pass INT64_MAX. */
static void source_range(const struct layout *l, int64_t i, uint64_t *lowest, uint64_t *width)
{
	int64_t half = (int64_t)1 << l->half_mag;
	int64_t bucket = (i >> l->half_mag) - 1, sub = (i & (half - 1)) + half;
	int shift;

	if (bucket < 0) {
		sub -= half;
		bucket = 0;
	}
	shift = (int)bucket + l->unit_mag;
	if (shift + (64 - __builtin_clzll((uint64_t)sub | 1)) > 63) {
		*lowest = INT64_MAX;
		*width = 1;
		return;
	}
	*lowest = (uint64_t)sub << shift;
	*width = (uint64_t)1 << shift;
}

static uint64_t at_most_top(uint64_t v)
{
	return v > (uint64_t)HIST_HIGHEST ? (uint64_t)HIST_HIGHEST : v;
}

/* Re-records one source bucket. The count goes in at the bucket's highest equivalent value,
 * so that for any source layout no finer than ours, percentiles and max come out as the
 * source's own HdrHistogram reports them; an identical layout maps index to index. min, max
 * and the sums are taken from the source bucket (lowest, highest and median equivalents), so
 * min, max, mean and stdev also match what HdrHistogram reports for the source. */
static int add_source_bucket(hist_t *h, const struct layout *l, int64_t i, uint64_t n)
{
	uint64_t lowest, width, top, mid;
	double dn = (double)n;

	if (n > (uint64_t)INT64_MAX - h->total) /* HdrHistogram's total is an int64 */
		return -EINVAL;
	source_range(l, i, &lowest, &width);
	top = at_most_top(lowest + (width - 1));
	mid = at_most_top(lowest + width / 2);
	if (lowest > (uint64_t)HIST_HIGHEST)
		h->clamped += n;
	h->counts[hist_index_of((int64_t)top)] += n;
	h->total += n;
	h->sum += (double)mid * dn;
	h->sum_sq += (double)mid * (double)mid * dn;
	if ((int64_t)at_most_top(lowest) < h->min)
		h->min = (int64_t)at_most_top(lowest);
	if ((int64_t)top > h->max)
		h->max = (int64_t)top;
	return 0;
}

static int read_varint(const uint8_t *p, size_t len, size_t *pos, int64_t *value)
{
	uint64_t u = 0;
	int i;

	for (i = 0; i < LEB128_MAX - 1; i++) {
		if (*pos >= len)
			return -EINVAL;
		u |= (uint64_t)(p[*pos] & 0x7f) << (7 * i);
		if (!(p[(*pos)++] & 0x80))
			break;
	}
	if (i == LEB128_MAX - 1) {
		if (*pos >= len)
			return -EINVAL;
		u |= (uint64_t)p[(*pos)++] << 56;
	}
	*value = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return 0;
}

/* Walks the ZigZag counts; every index and zero run is checked against the source layout. */
static int decode_counts(const uint8_t *p, size_t len, const struct layout *l, hist_t *h)
{
	size_t pos = 0;
	int64_t index = 0, value;

	while (pos < len) {
		if (read_varint(p, len, &pos, &value) < 0)
			return -EINVAL;
		if (value < 0) {
			if (value < index - l->counts_len) /* also rejects INT64_MIN */
				return -EINVAL;
			index -= value;
			continue;
		}
		if (index >= l->counts_len)
			return -EINVAL;
		if (value > 0 && add_source_bucket(h, l, index, (uint64_t)value) < 0)
			return -EINVAL;
		index++;
	}
	return 0;
}

/* The normalizing index offset and the integer-to-double ratio are ignored: writers store
 * counts in logical order whatever the offset, and surge's values are integers. */
static int decode_raw(const uint8_t *p, size_t len, hist_t *h)
{
	struct layout l;
	uint32_t payload;

	if (len < V2_HEADER_LEN || (get_be32(p) & ~COOKIE_WORD_MASK) != COOKIE_V2_RAW)
		return -EINVAL;
	payload = get_be32(p + 4);
	if (payload > INT32_MAX || payload != len - V2_HEADER_LEN)
		return -EINVAL;
	if (layout_init(&l, (int32_t)get_be32(p + 12), (int64_t)get_be64(p + 16),
	                get_be64(p + 24)) < 0)
		return -EINVAL;
	return decode_counts(p + V2_HEADER_LEN, payload, &l, h);
}

/* Inflates the 40-byte header first, so the counts length it declares can be bounded before
 * anything is allocated, then exactly that many bytes, which must end the zlib stream. */
static int inflate_raw(z_stream *zs, uint8_t **raw, size_t *raw_len)
{
	uint8_t head[V2_HEADER_LEN];
	uint32_t payload;
	int rc;

	zs->next_out = head;
	zs->avail_out = sizeof(head);
	rc = inflate(zs, Z_SYNC_FLUSH);
	if (rc == Z_MEM_ERROR) /* its window, allocated at the first call: not the input's fault */
		return -ENOMEM;
	if ((rc != Z_OK && rc != Z_STREAM_END) || zs->avail_out != 0)
		return -EINVAL;
	payload = get_be32(head + 4);
	if (payload > DECODE_PAYLOAD_MAX)
		return -EINVAL;
	*raw = malloc(V2_HEADER_LEN + payload + 1);
	if (!*raw)
		return -ENOMEM;
	memcpy(*raw, head, sizeof(head));
	zs->next_out = *raw + V2_HEADER_LEN;
	zs->avail_out = payload + 1; /* one spare byte proves the stream holds no more */
	rc = inflate(zs, Z_FINISH);
	if (rc == Z_MEM_ERROR)
		return -ENOMEM;
	if (rc != Z_STREAM_END || zs->avail_out != 1 || zs->avail_in != 0)
		return -EINVAL;
	*raw_len = V2_HEADER_LEN + payload;
	return 0;
}

static int decode_compressed(const uint8_t *p, size_t len, hist_t *h)
{
	z_stream zs;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	uint32_t deflated = get_be32(p + 4);
	int rc;

	if (deflated != len - ZLIB_HEADER_LEN || deflated > UINT32_MAX / 2)
		return -EINVAL;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)(uintptr_t)(p + ZLIB_HEADER_LEN); /* zlib never writes input */
	zs.avail_in = deflated;
	rc = inflate_raw(&zs, &raw, &raw_len);
	if (rc == 0)
		rc = decode_raw(raw, raw_len, h);
	inflateEnd(&zs);
	free(raw);
	return rc;
}

/* On any failure h is left empty, never half-filled. */
int hist_decode(const void *data, size_t len, hist_t *h)
{
	const uint8_t *p = data;
	uint32_t cookie;
	int rc = -EINVAL;

	hist_reset(h);
	if (len >= ZLIB_HEADER_LEN) {
		cookie = get_be32(p) & ~COOKIE_WORD_MASK;
		if (cookie == COOKIE_V2_COMPRESSED)
			rc = decode_compressed(p, len, h);
		else if (cookie == COOKIE_V2_RAW)
			rc = decode_raw(p, len, h);
	}
	if (rc < 0) {
		hist_reset(h);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	return 0;
}

static int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	return c == '/' ? 63 : -1;
}

/* Strict standard base64: whole quads, '=' only as one or two final pad characters. */
static int base64_decode(const char *text, size_t len, uint8_t *out, size_t *out_len)
{
	size_t n = 0;

	if (len == 0 || len % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i += 4) {
		int pad = (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=');
		int a = base64_value(text[i]), b = base64_value(text[i + 1]);
		int c = pad > 1 ? 0 : base64_value(text[i + 2]);
		int d = pad > 0 ? 0 : base64_value(text[i + 3]);
		uint32_t v;

		if ((pad && i + 4 != len) || (a | b | c | d) < 0)
			return -EINVAL;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
		out[n++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[n++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[n++] = (uint8_t)v;
	}
	*out_len = n;
	return 0;
}

int hist_decode_base64(const char *text, size_t len, hist_t *h)
{
	uint8_t *bin;
	size_t bin_len = 0;
	int rc;

	hist_reset(h);
	if (len > BASE64_TEXT_MAX)
		return -EINVAL;
	bin = malloc(len / 4 * 3 + 1);
	if (!bin)
		return -ENOMEM;
	rc = base64_decode(text, len, bin, &bin_len);
	if (rc == 0)
		rc = hist_decode(bin, bin_len, h);
	free(bin);
	return rc;
}
