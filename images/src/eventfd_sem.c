/*
 * eventfd_sem.c - an EFD_SEMAPHORE eventfd used as a counting semaphore by threads.
 *
 *   eventfd_sem [N]          (default 40: the size of the threaded parts)
 *
 * Reading an EFD_SEMAPHORE eventfd is a semaphore *down* (take one unit, sleeping
 * while there is none); writing the 8-byte value n is an *up* by n. The program
 * checks (lab 7's wait-queue exercise):
 *   - the single-threaded semantics: reads return 1, EAGAIN when empty with
 *     EFD_NONBLOCK, a write of n allows n reads, poll readiness;
 *   - a semaphore initialised to 1 used as a lock around a racy increment (a load
 *     and a store): exact only if no two threads hold a unit at once;
 *   - producers and consumers: units written in batches of 1, 2 and 3 by two
 *     producers, taken one by one by three consumers: no unit lost or duplicated;
 *   - ping-pong between two threads on two semaphores: strict alternation;
 *   - one write of K wakes K sleeping readers (every one of them must run);
 *   - a blocked read interrupted by a signal (pthread_kill from another thread):
 *     EINTR without SA_RESTART, restarted (and later satisfied) with SA_RESTART.
 * Every line is deterministic (no times, no ids); ends with "done", exit 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "waiting.h"

static long n = 40;

static long down(int fd)
{
    uint64_t v = 0;
    ssize_t r = read(fd, &v, sizeof v);
    return r == (ssize_t)sizeof v ? (long)v : -1;
}

static void up(int fd, uint64_t value)
{
    if (write(fd, &value, sizeof value) != (ssize_t)sizeof value) {
        printf("write failed: %s\n", errname(errno));
        exit(1);
    }
}

static int readable(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* --- 1. single-threaded semantics ------------------------------------------------ */

static void basics(void)
{
    int fd = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    long a = down(fd), b = down(fd), c = down(fd);
    printf("basics: three reads of 3: %ld %ld %ld\n", a, b, c);
    show("basics: read of an empty semaphore", down(fd));
    printf("basics: readable when empty: %d\n", readable(fd));
    up(fd, 2);
    printf("basics: readable after writing 2: %d\n", readable(fd));
    a = down(fd);
    b = down(fd);
    printf("basics: two reads: %ld %ld\n", a, b);
    show("basics: third read", down(fd));
    up(fd, 0);
    show("basics: read after writing 0", down(fd));
    close(fd);
}

/* --- 2. a semaphore of 1 as a lock --------------------------------------------- */

static int lock_fd;
static volatile long shared;

static void *locker(void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++) {
        down(lock_fd);
        long value = shared;                /* a load ...                    */
        __asm__ volatile("" : "+r"(value));
        if (i % 7 == 0)
            sched_yield();                  /* (even across a system call)   */
        shared = value + 1;                 /* ... and a store               */
        up(lock_fd, 1);
    }
    return NULL;
}

static void as_lock(void)
{
    pthread_t t[3];
    lock_fd = eventfd(1, EFD_SEMAPHORE);
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, locker, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("lock: 3 threads x %ld = %ld\n", n, shared);
    fcntl(lock_fd, F_SETFL, O_NONBLOCK);
    long a = down(lock_fd);
    printf("lock: the unit is back: %ld\n", a);
    show("lock: and only one", down(lock_fd));
    close(lock_fd);
}

/* --- 3. producers and consumers -------------------------------------------------- */

#define CONSUMERS 3
#define PRODUCERS 2

static int items_fd;
static long consumed[CONSUMERS];
static long total_produced;

static void *producer(void *arg)
{
    long id = (long)arg;
    long quota = CONSUMERS * n / PRODUCERS, sent = 0;
    for (uint64_t batch = 1 + id; sent < quota; batch = batch % 3 + 1) {
        if (batch > (uint64_t)(quota - sent))
            batch = quota - sent;
        up(items_fd, batch);
        sent += batch;
    }
    __atomic_fetch_add(&total_produced, sent, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *consumer(void *arg)
{
    long id = (long)arg;
    for (long i = 0; i < n; i++)
        consumed[id] += down(items_fd);
    return NULL;
}

static void producers_consumers(void)
{
    pthread_t c[CONSUMERS], p[PRODUCERS];
    items_fd = eventfd(0, EFD_SEMAPHORE);
    for (long i = 0; i < CONSUMERS; i++)
        pthread_create(&c[i], NULL, consumer, (void *)i);
    for (long i = 0; i < PRODUCERS; i++)
        pthread_create(&p[i], NULL, producer, (void *)i);
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(p[i], NULL);
    for (int i = 0; i < CONSUMERS; i++)
        pthread_join(c[i], NULL);
    printf("queue: produced %ld, consumed %ld %ld %ld\n", total_produced, consumed[0], consumed[1],
           consumed[2]);
    printf("queue: left over: %d\n", readable(items_fd));
    close(items_fd);
}

/* --- 4. ping-pong ---------------------------------------------------------------- */

static int ping_fd, pong_fd;
static char trace[64];
static int trace_len;

static void *ponger(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++) {
        down(pong_fd);
        trace[trace_len++] = 'o';
        up(ping_fd, 1);
    }
    return NULL;
}

static void ping_pong(void)
{
    pthread_t t;
    ping_fd = eventfd(1, EFD_SEMAPHORE);
    pong_fd = eventfd(0, EFD_SEMAPHORE);
    pthread_create(&t, NULL, ponger, NULL);
    for (int i = 0; i < 20; i++) {
        down(ping_fd);
        trace[trace_len++] = 'i';
        up(pong_fd, 1);
    }
    pthread_join(t, NULL);
    trace[trace_len] = 0;
    printf("ping-pong: %s\n", trace);
    close(ping_fd);
    close(pong_fd);
}

/* --- 5. one write wakes many ----------------------------------------------------- */

#define SLEEPERS 4

static int gate_fd;
static int ready;
static long passed;

static void *sleeper(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
    long v = down(gate_fd);
    __atomic_fetch_add(&passed, v, __ATOMIC_SEQ_CST);
    return NULL;
}

static void wake_many(void)
{
    pthread_t t[SLEEPERS];
    gate_fd = eventfd(0, EFD_SEMAPHORE);
    for (int round = 0; round < 2; round++) {
        ready = 0;
        for (int i = 0; i < SLEEPERS; i++)
            pthread_create(&t[i], NULL, sleeper, NULL);
        while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < SLEEPERS)
            sched_yield();
        sleep_ms(10);           /* (let them go to sleep: the output does not depend on it) */
        if (round == 0) {
            up(gate_fd, SLEEPERS);          /* one write of 4 */
        } else {
            for (int i = 0; i < SLEEPERS; i++)
                up(gate_fd, 1);             /* four writes of 1, back to back */
        }
        for (int i = 0; i < SLEEPERS; i++)
            pthread_join(t[i], NULL);
        printf("gate: round %d: %ld passed\n", round, passed);
    }
    close(gate_fd);
}

/* --- 6. signals ------------------------------------------------------------------ */

/* A helper thread sends SIGUSR1 to the main thread every 5 ms until it has been handled
 * `want` times, then (if asked) writes one unit. Signals that land before the main
 * thread blocks in read() only run the handler, so the output does not depend on
 * timing: the read is interrupted (or restarted) by whichever signal finds it asleep. */

static volatile sig_atomic_t usr1s;
static int signal_fd;
static pthread_t main_thread;
static volatile int stop_signalling;

struct plan {
    int want;
    int then_write;
};

static void on_usr1(int sig)
{
    (void)sig;
    usr1s++;
}

static void *signaller(void *arg)
{
    struct plan *plan = arg;
    /* (gives up after 200 tries: a kernel that never interrupts the read then
     * deadlocks instead of spinning here forever) */
    for (int tries = 0; !stop_signalling && usr1s < plan->want && tries < 200; tries++) {
        pthread_kill(main_thread, SIGUSR1);
        sleep_ms(5);
    }
    if (plan->then_write)
        up(signal_fd, 1);
    return NULL;
}

static void signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);              /* no SA_RESTART */
    signal_fd = eventfd(0, EFD_SEMAPHORE);
    main_thread = pthread_self();

    pthread_t t;
    struct plan interrupt = { 1000000, 0 };
    pthread_create(&t, NULL, signaller, &interrupt);
    show("signal: blocked read, no SA_RESTART", down(signal_fd));
    stop_signalling = 1;
    pthread_join(t, NULL);
    printf("signal: handled: %d\n", usr1s > 0);

    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    usr1s = 0;
    stop_signalling = 0;
    struct plan restart = { 3, 1 };
    pthread_create(&t, NULL, signaller, &restart);
    show("signal: blocked read, SA_RESTART", down(signal_fd));
    pthread_join(t, NULL);
    printf("signal: handled 3 or more: %d, left over %d\n", usr1s >= 3, readable(signal_fd));
    close(signal_fd);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc > 1)
        n = atol(argv[1]);
    if (n < 1 || n > 100000)
        n = 40;
    n -= n % 2;
    if (n == 0)
        n = 2;
    basics();
    as_lock();
    producers_consumers();
    ping_pong();
    wake_many();
    signals();
    printf("done\n");
    return 0;
}
