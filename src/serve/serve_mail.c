/* serve_mail: a worker's mailbox — callbacks other threads (database pool, background work)
 * post to run on the worker's own loop, in order, from a bounded ring under a mutex. */
#include <errno.h>

#include "serve/serve_internal.h"

int serve_post(serve_worker_t *w, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&w->mail_lock);
	if (w->mail_len == w->mail_cap) {
		pthread_mutex_unlock(&w->mail_lock);
		return -EAGAIN;
	}
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
