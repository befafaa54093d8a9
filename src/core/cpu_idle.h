/* cpu_idle: keeps idle CPUs polling instead of halting while a run lasts (the kernel's PM QoS
 * CPU latency request, /dev/cpu_dma_latency, as cyclictest and tuned's latency profiles use).
 * A halted core wakes late — hundreds of microseconds to milliseconds in a VM — and an open
 * model's sends and reads at low rates wait for that wake-up (docs/performance.md). */
#ifndef SURGE_CPU_IDLE_H
#define SURGE_CPU_IDLE_H

/* Asks for 0 µs of wake-up latency on every CPU; the request holds while the returned
 * descriptor stays open (close it, or exit, to give it back). -errno when it cannot be made
 * (-EACCES without root, -ENOENT where the kernel has no such device). */
int cpu_idle_poll_hold(void);

#endif
