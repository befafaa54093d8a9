/* loop_io: the run-time choice of the loop's I/O backend. io_uring is tried by setting up a
 * ring as a loop would (loop_uring.c); a kernel without io_uring (ENOSYS), a seccomp profile
 * or kernel.io_uring_disabled that forbids it (EPERM), or one too old for what the loop needs
 * (EOPNOTSUPP), leaves epoll, and AUTO keeps the reason so the run and the server can say it. */
#include "core/loop_io.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t choice_lock = PTHREAD_MUTEX_INITIALIZER;
static const loop_backend_ops_t *chosen;
static bool may_fall_back = true;
static char fallback_reason[160];

int loop_io_parse(const char *text, enum loop_io_choice *out)
{
	if (strcmp(text, "auto") == 0)
		*out = LOOP_IO_AUTO;
	else if (strcmp(text, "uring") == 0 || strcmp(text, "io_uring") == 0)
		*out = LOOP_IO_URING;
	else if (strcmp(text, "epoll") == 0)
		*out = LOOP_IO_EPOLL;
	else
		return -EINVAL;
	return 0;
}

static void describe(int err, char *why, size_t len)
{
	if (err == -EOPNOTSUPP)
		snprintf(why, len,
		         "the kernel's io_uring lacks timed waits (IORING_FEAT_EXT_ARG, 5.11)");
	else if (err == -EPERM)
		snprintf(why, len,
		         "io_uring_setup: %s (a seccomp profile, or kernel.io_uring_disabled)",
		         strerror(-err));
	else if (err == -ENOSYS)
		snprintf(why, len, "io_uring_setup: %s (a kernel without io_uring, or seccomp)",
		         strerror(-err));
	else
		snprintf(why, len, "io_uring_setup: %s", strerror(-err));
}

/* A ring set up and taken down, as a loop would: 0 or -errno. */
static int probe_uring(void)
{
	int err = 0;
	void *b = loop_uring_ops.create(&err);

	if (!b)
		return err ? err : -ENOMEM;
	loop_uring_ops.destroy(b);
	return 0;
}

static int choose_locked(enum loop_io_choice choice, char *why, size_t why_len)
{
	int rc;

	fallback_reason[0] = '\0';
	if (choice == LOOP_IO_EPOLL) {
		chosen = &loop_epoll_ops;
		may_fall_back = false;
		return 0;
	}
	rc = probe_uring();
	if (rc == 0) {
		chosen = &loop_uring_ops;
		may_fall_back = choice == LOOP_IO_AUTO;
		return 0;
	}
	if (choice == LOOP_IO_URING) {
		if (why)
			describe(rc, why, why_len);
		return rc;
	}
	describe(rc, fallback_reason, sizeof(fallback_reason));
	chosen = &loop_epoll_ops;
	may_fall_back = true;
	return 0;
}

int loop_io_choose(enum loop_io_choice choice, char *why, size_t why_len)
{
	int rc;

	pthread_mutex_lock(&choice_lock);
	rc = choose_locked(choice, why, why_len);
	pthread_mutex_unlock(&choice_lock);
	return rc;
}

const loop_backend_ops_t *loop_io_ops(void)
{
	const loop_backend_ops_t *ops;

	pthread_mutex_lock(&choice_lock);
	if (!chosen)
		choose_locked(LOOP_IO_AUTO, NULL, 0);
	ops = chosen;
	pthread_mutex_unlock(&choice_lock);
	return ops;
}

bool loop_io_may_fall_back(void)
{
	bool may;

	pthread_mutex_lock(&choice_lock);
	may = may_fall_back;
	pthread_mutex_unlock(&choice_lock);
	return may;
}

const char *loop_io_backend(void)
{
	return loop_io_ops()->name;
}

const char *loop_io_fallback(void)
{
	loop_io_ops();
	return fallback_reason;
}
