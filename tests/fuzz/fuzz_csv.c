/* libFuzzer driver for the CSV data files of scenarios (surge.csv, scenario_csv_parse): RFC 4180
 * with quotes, doubled quotes, separators and line breaks inside quotes, CRLF or LF. Beyond
 * "no crash": an accepted file has a header and at least one row, every cell is a string
 * inside the file's buffer, and the table written back with every cell quoted parses to the
 * same table; a rejection names its line, on one line. */
#include "scenario/scenario_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

static void check_table(const scenario_csv_t *c, const char *text, size_t len)
{
	if (c->cols < 1 || c->cols > 1024 || c->rows < 2 || c->cells[0] != text)
		abort();
	for (size_t i = 0; i < (size_t)c->rows * c->cols; i++) {
		const char *cell = c->cells[i];

		if (cell < text || cell > text + len ||
		    !memchr(cell, '\0', (size_t)(text + len + 1 - cell)))
			abort();
		/* a one-column file skips blank lines: no data row is empty */
		if (c->cols == 1 && i > 0 && cell[0] == '\0')
			abort();
	}
}

/* Every cell quoted, quotes doubled, CRLF between rows. */
static char *write_table(const scenario_csv_t *c, size_t *len)
{
	size_t cap = 16, used = 0;
	char *out;

	for (size_t i = 0; i < (size_t)c->rows * c->cols; i++)
		cap += 2 * strlen(c->cells[i]) + 4;
	if (!(out = malloc(cap + 1)))
		abort();
	for (uint32_t r = 0; r < c->rows; r++) {
		for (uint32_t k = 0; k < c->cols; k++) {
			const char *cell = c->cells[(size_t)r * c->cols + k];

			out[used++] = '"';
			for (; *cell; cell++) {
				if (*cell == '"')
					out[used++] = '"';
				out[used++] = *cell;
			}
			out[used++] = '"';
			out[used++] = k + 1 < c->cols ? ',' : '\r';
			if (k + 1 == c->cols)
				out[used++] = '\n';
		}
	}
	*len = used;
	return out;
}

static void check_round_trip(const scenario_csv_t *c)
{
	scenario_csv_t again = {0};
	char err[256];
	size_t len;
	char *text = write_table(c, &len);

	if (scenario_csv_parse(&again, text, len, err, sizeof(err)) < 0)
		abort();
	if (again.rows != c->rows || again.cols != c->cols)
		abort();
	for (size_t i = 0; i < (size_t)c->rows * c->cols; i++)
		if (strcmp(again.cells[i], c->cells[i]) != 0)
			abort();
	free(again.cells);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scenario_csv_t c = {0};
	char err[256];
	char *text = malloc(size + 1); /* the parser may write one byte past the text: its NUL */
	int rc;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	rc = scenario_csv_parse(&c, text, size, err, sizeof(err));
	if (rc == 0) {
		check_table(&c, text, size);
		check_round_trip(&c);
		free(c.cells);
	} else if (rc == -EINVAL) {
		fuzz_check_message(err, sizeof(err));
		if (strncmp(err, "line ", 5) != 0 && strstr(err, "header") == NULL)
			abort();
	} else {
		abort();
	}
	free(text);
	return 0;
}
