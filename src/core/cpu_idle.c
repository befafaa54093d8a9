/* cpu_idle: see cpu_idle.h. */
#include "core/cpu_idle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#define CPU_LATENCY_DEVICE "/dev/cpu_dma_latency"

int cpu_idle_poll_hold(void)
{
	int32_t zero_us = 0; /* the device takes a binary s32 */
	int fd = open(CPU_LATENCY_DEVICE, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (write(fd, &zero_us, sizeof(zero_us)) != (ssize_t)sizeof(zero_us)) {
		int err = errno ? errno : EIO;

		close(fd);
		return -err;
	}
	return fd;
}
