/* serve_mail: a worker's mailbox — callbacks other threads (database pool, background work)
 * post to run on the worker's own loop, in order, from a bounded ring under a mutex.
 * The ring starts again at its first slot whenever it is empty: it is large (a burst must
 * fit) and calloc'd, so its pages become resident only as slots are written, and a ring that
 * kept going round would make all of them resident however few mails wait at once — 1 MiB a
 * worker, over 13 minutes of the soak (docs/testing.md). */
#include <errno.h>

#include "serve/serve_internal.h"

int serve_post(serve_worker_t *w, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&w->mail_lock);
	if (w->mail_len == w->mail_cap) {
		pthread_mutex_unlock(&w->mail_lock);
		return -EAGAIN;
	}
	if (!w->mail_len)
		w->mail_head = 0; /* empty: the first slots again, already resident */
	w->mail[(w->mail_head + w->mail_len++) % w->mail_cap] = (struct serve_mail){fn, arg};
	pthread_mutex_unlock(&w->mail_lock);
	loop_wake(w->loop);
	return 0;
}

void serve_mail_run(serve_worker_t *w)
{
	for (;;) {
		struct serve_mail m;

		pthread_mutex_lock(&w->mail_lock);
		if (!w->mail_len) {
			pthread_mutex_unlock(&w->mail_lock);
			return;
		}
		m = w->mail[w->mail_head];
		w->mail_head = (w->mail_head + 1) % w->mail_cap;
		w->mail_len--;
		pthread_mutex_unlock(&w->mail_lock);
		m.fn(m.arg);
	}
}
