/* units: parsing of the quantities users type — durations, rates, sizes, counts —
 * with one error convention: 0 on success, -EINVAL with a message in err otherwise. */
#ifndef SURGE_UNITS_H
#define SURGE_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "250ms", "30s", "5m", "1h", "1.5s", "100us", "10ns"; a bare number means default_unit_ns. */
int units_parse_duration(const char *s, uint64_t default_unit_ns, uint64_t *out_ns, char *err,
                         size_t errlen);
/* "500", "500/s", "30000/m", "10/h", "2.5/s" → requests per second. */
int units_parse_rate(const char *s, double *out_per_s, char *err, size_t errlen);
/* "1024", "64k", "10KiB", "1.5MB", "2G" → bytes (k/K/KiB = 1024, KB = 1000, likewise M and G). */
int units_parse_size(const char *s, uint64_t *out_bytes, char *err, size_t errlen);
/* A finite non-negative plain decimal ("2", "0.5", "1e3": no sign, space, inf, nan or hex);
 * *rest points past it. 0, or -EINVAL. */
int units_parse_number(const char *s, double *out, const char **rest);
/* "10%" or the fraction "0.1" → 0.1, at most max (1 for a share of a whole, INFINITY for a
 * relative change that may pass 100 %). 0, or -EINVAL with a message in err. */
int units_parse_percent(const char *s, double max, double *out, char *err, size_t errlen);
/* true/false, 1/0, yes/no, on/off in any case: the one reading of a boolean everywhere
 * (environment variables, flag values, query parameters); anything else is an error. */
int units_parse_bool(const char *s, bool *out, char *err, size_t errlen);
/* Kubernetes quantities, as a container's resources.limits takes them. CPU: "200m", "0.5",
 * "2" → millicores, from 10m (the kernel's smallest CFS quota, 1 ms per 100 ms period) to
 * 1,000,000m. Memory: "128Mi", "1Gi", "500M", "1e9", "268435456" → bytes (Ki Mi Gi Ti Pi Ei
 * are powers of 1024, k M G T P E of 1000), from 1Mi to 1Ei. */
int units_parse_cpu_quantity(const char *s, uint64_t *out_millicores, char *err, size_t errlen);
int units_parse_memory_quantity(const char *s, uint64_t *out_bytes, char *err, size_t errlen);
/* A non-negative integer within [min, max]. */
int units_parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                      size_t errlen);

/* "1.23s", "456.78ms", "12.34us" — the unit chosen so the number reads well. */
void units_format_duration_us(double us, char *out, size_t len);
/* "1.21GB", "345.00KB" with binary multiples, as wrk prints transfer. */
void units_format_bytes(double bytes, char *out, size_t len);
/* For messages: "1,000,000,000" (digits grouped by three). */
void units_format_count(uint64_t v, char *out, size_t len);
/* For messages: "0.001", "2.5", "1,000,000" (at most three decimals, none trailing; NAN is
 * "none"), never 1e+06. */
void units_format_number(double v, char *out, size_t len);

#endif
