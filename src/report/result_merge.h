/* result_merge: the exact merge of the result documents of one distributed run's shards
 * (SPEC §2.7) into the document of the whole, as if one generator had done all the work.
 * Counters are summed, histograms decoded and added (never percentiles averaged), timelines
 * aligned by wall-clock second, and thresholds and the assessment judged again on the whole.
 * docs/compare-merge.md says what is exact and what is not. */
#ifndef SURGE_RESULT_MERGE_H
#define SURGE_RESULT_MERGE_H

#include <jansson.h>
#include <stddef.h>

/* Merges n >= 1 documents (result_doc_load's) named names[i] (their files: used in messages
 * and recorded in "merged_from"). Returns a new document the caller json_decref()s, or NULL
 * with one line in err naming the file at fault: documents of different runs (config.url,
 * method or scenario differ), the same shard twice (equal start, duration, totals,
 * histograms and generator figures: both files named), a malformed histogram, a threshold
 * that no longer parses, or out of memory. The inputs are not changed. */
json_t *result_doc_merge(json_t *const *docs, const char *const *names, size_t n, char *err,
                         size_t errlen);

#endif
