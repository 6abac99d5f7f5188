"""Time in the kernel: timers on the monotonic clock, and the clocks syscalls read."""
