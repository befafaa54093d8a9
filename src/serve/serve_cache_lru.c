/* serve_cache_lru: the in-process cache — a hash of user ids to JSON documents with a
 * least-recently-used list, bounded by --cache-size, one mutex (lookups are microseconds). */
#include <stdlib.h>
#include <string.h>

#include "serve/serve_db.h"

#define VALUE_MAX 8192 /* a larger document is not cached */

typedef struct entry {
	int64_t id;
	struct entry *hash_next;
	struct entry *prev, *next; /* the LRU list: head is the most recent */
	size_t len;
	char value[];
} entry_t;

static struct {
	pthread_mutex_t lock;
	entry_t **buckets;
	uint32_t mask, count, max;
	entry_t *head, *tail;
	uint64_t evictions;
} lru = {.lock = PTHREAD_MUTEX_INITIALIZER};

int serve_cache_lru_init(uint32_t entries)
{
	uint32_t n = 16;

	while (n < entries * 2 && n < (1u << 30))
		n <<= 1;
	lru.buckets = calloc(n, sizeof(*lru.buckets));
	lru.mask = n - 1;
	lru.max = entries ? entries : 1;
	return lru.buckets ? 0 : -1;
}

static entry_t **slot(int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

	return &lru.buckets[(h >> 32) & lru.mask];
}

static void list_unlink(entry_t *e)
{
	*(e->prev ? &e->prev->next : &lru.head) = e->next;
	*(e->next ? &e->next->prev : &lru.tail) = e->prev;
	e->prev = e->next = NULL;
}

static void list_push(entry_t *e)
{
	e->next = lru.head;
	e->prev = NULL;
	*(lru.head ? &lru.head->prev : &lru.tail) = e;
	lru.head = e;
}

/* Unlinks the entry for id from its bucket and the list; the caller frees it. */
static entry_t *take(int64_t id)
{
	for (entry_t **p = slot(id); *p; p = &(*p)->hash_next) {
		entry_t *e = *p;
		if (e->id == id) {
			*p = e->hash_next;
			list_unlink(e);
			lru.count--;
			return e;
		}
	}
	return NULL;
}

static int lru_get(void *conn, int64_t id, buf_t *out)
{
	int hit = 0;

	pthread_mutex_lock(&lru.lock);
	for (entry_t *e = *slot(id); e; e = e->hash_next) {
		if (e->id == id) {
			list_unlink(e);
			list_push(e);
			hit = buf_append(out, e->value, e->len) == 0;
			break;
		}
	}
	pthread_mutex_unlock(&lru.lock);
	return hit;
}

static int lru_set(void *conn, int64_t id, const char *value, size_t len)
{
	entry_t *e, *old;

	if (len > VALUE_MAX || !(e = malloc(sizeof(*e) + len)))
		return -1;
	e->id = id;
	e->len = len;
	memcpy(e->value, value, len);
	pthread_mutex_lock(&lru.lock);
	old = take(id);
	while (lru.count >= lru.max && lru.tail) { /* full: the least recently used goes */
		free(take(lru.tail->id));
		lru.evictions++;
	}
	e->hash_next = *slot(id);
	*slot(id) = e;
	list_push(e);
	lru.count++;
	pthread_mutex_unlock(&lru.lock);
	free(old);
	return 0;
}

static int lru_del(void *conn, int64_t id)
{
	entry_t *e;

	pthread_mutex_lock(&lru.lock);
	e = take(id);
	pthread_mutex_unlock(&lru.lock);
	free(e);
	return 0;
}

void serve_cache_lru_free(void)
{
	pthread_mutex_lock(&lru.lock);
	while (lru.tail)
		free(take(lru.tail->id));
	free(lru.buckets);
	lru.buckets = NULL;
	pthread_mutex_unlock(&lru.lock);
}

uint64_t serve_cache_lru_evictions(void)
{
	uint64_t n;

	pthread_mutex_lock(&lru.lock);
	n = lru.evictions;
	pthread_mutex_unlock(&lru.lock);
	return n;
}

uint32_t serve_cache_lru_size(void)
{
	uint32_t n;

	pthread_mutex_lock(&lru.lock);
	n = lru.count;
	pthread_mutex_unlock(&lru.lock);
	return n;
}

const serve_cache_backend_t serve_cache_lru = {
    .name = "lru",
    .get = lru_get,
    .set = lru_set,
    .del = lru_del,
};
