/*
 * waiting.h - helpers for the programs that test blocking calls (poll_select.c,
 * epoll_eventfd.c, eventfd_sem.c): a monotonic clock to check that a wait lasted
 * long enough (times are compared, never printed), sleeping, and children that
 * act on the parent after a delay.
 */
#ifndef WAITING_H
#define WAITING_H

#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void sleep_ms(int ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

/* Fork a child that sleeps ms, then writes one byte to fd and exits. */
static inline pid_t delayed_write(int fd, int ms)
{
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork");
    if (pid == 0) {
        sleep_ms(ms);
        if (write(fd, "x", 1) != 1)
            _exit(1);
        _exit(0);
    }
    return pid;
}

/* Fork a child that sleeps ms, then sends sig to the parent. */
static inline pid_t delayed_kill(int sig, int ms)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork");
    if (pid == 0) {
        sleep_ms(ms);
        kill(parent, sig);
        _exit(0);
    }
    return pid;
}

static inline void reap(pid_t pid)
{
    int status;
    waitpid(pid, &status, 0);
}

#endif
