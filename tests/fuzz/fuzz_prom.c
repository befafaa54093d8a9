/* libFuzzer driver for the Prometheus text parser: hostile bytes straight in, parsed whole and
 * line by line. Beyond "no crash": every sample's slices lie inside the text, the whole-text
 * count equals the line-by-line count, and label lookups stay within their buffers. */
#include "scrape/prom.h"

#include <stdlib.h>
#include <string.h>

typedef struct bounds {
	const char *text;
	size_t len;
	size_t samples;
} bounds_t;

static void inside(const bounds_t *b, http_slice_t s)
{
	if (s.len && (s.p < b->text || s.p + s.len > b->text + b->len))
		abort();
}

static void on_sample(void *ctx, const prom_sample_t *s)
{
	bounds_t *b = ctx;
	char small[4], big[256];
	int n;

	b->samples++;
	inside(b, s->name);
	inside(b, s->labels);
	if (!s->name.len)
		abort();
	/* the lookup walks the validated labels again, and always leaves a terminated string */
	n = prom_label(s, "le", small, sizeof(small));
	if (n >= 0 && strnlen(small, sizeof(small)) == sizeof(small))
		abort();
	n = prom_label(s, "a", big, sizeof(big));
	if (n >= 0 && strnlen(big, sizeof(big)) == sizeof(big))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan sees any read past the end */
	char *text = malloc(size ? size : 1);
	bounds_t b;
	prom_stats_t st;
	size_t start = 0, lines_ok = 0;
	prom_sample_t s;
	char err[120];

	if (!text)
		return 0;
	memcpy(text, data, size);
	b = (bounds_t){.text = text, .len = size};
	prom_parse(text, size, on_sample, &b, &st);
	if (st.samples != b.samples)
		abort();
	while (start < size) {
		const char *nl = memchr(text + start, '\n', size - start);
		size_t end = nl ? (size_t)(nl - text) : size;
		enum prom_line rc =
		    prom_parse_line(text + start, end - start, &s, err, sizeof(err));

		if (rc == PROM_LINE_SAMPLE)
			lines_ok++;
		else if (rc == PROM_LINE_ERROR && strncmp(err, "column ", 7) != 0)
			abort();
		start = end + 1;
	}
	if (lines_ok != st.samples)
		abort();
	free(text);
	return 0;
}
