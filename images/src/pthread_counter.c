/*
 * pthread_counter.c - POSIX threads: mutex, condition variables, TLS, join.
 *
 * - 4 threads each add 1 to a shared counter 100000 times under a mutex;
 * - a producer hands 1000 items to a consumer through a one-slot buffer
 *   guarded by a mutex and two condition variables (sum and an
 *   order-sensitive checksum);
 * - a __thread variable: each thread sees its own copy, main's is untouched;
 * - pthread_self() and gettid() differ between threads that are alive at
 *   the same time, getpid() is the same;
 * - values returned by threads come back through pthread_join; pthread_once,
 *   a detached thread, an error-checking mutex;
 * - a robust mutex whose owner thread exits while holding it: the next
 *   locker gets EOWNERDEAD (the kernel walks the dead thread's robust list).
 * argv[1] overrides the per-thread iteration count (default 100000).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "checks.h"

#define NTHREADS 4
#define ITEMS 1000

static long iterations = 100000;
static long counter;
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

static void *count_up(void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&counter_lock);
        counter++;
        pthread_mutex_unlock(&counter_lock);
    }
    return NULL;
}

static void counter_test(void)
{
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        int err = pthread_create(&t[i], NULL, count_up, NULL);
        if (err) {
            show_err("pthread_create", err);
            exit(1);
        }
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    printf("counter: %d threads x %ld increments = %ld (expected %ld)\n", NTHREADS, iterations, counter,
           NTHREADS * iterations);
}

/* One-slot buffer. */
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slot_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t slot_full = PTHREAD_COND_INITIALIZER;
static int slot_used;
static long slot_value;

static void *producer(void *arg)
{
    (void)arg;
    for (long i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&slot_lock);
        while (slot_used)
            pthread_cond_wait(&slot_empty, &slot_lock);
        slot_value = i * i % 1009;
        slot_used = 1;
        pthread_cond_signal(&slot_full);
        pthread_mutex_unlock(&slot_lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long *result = arg;
    long sum = 0, weighted = 0;
    for (long k = 1; k <= ITEMS; k++) {
        pthread_mutex_lock(&slot_lock);
        while (!slot_used)
            pthread_cond_wait(&slot_full, &slot_lock);
        sum += slot_value;
        weighted = (weighted * 31 + slot_value) % 1000000007;
        slot_used = 0;
        pthread_cond_signal(&slot_empty);
        pthread_mutex_unlock(&slot_lock);
    }
    result[0] = sum;
    result[1] = weighted;
    return NULL;
}

static void producer_consumer_test(void)
{
    long expected_sum = 0, expected_weighted = 0;
    for (long i = 1; i <= ITEMS; i++) {
        expected_sum += i * i % 1009;
        expected_weighted = (expected_weighted * 31 + i * i % 1009) % 1000000007;
    }
    long result[2] = { 0, 0 };
    pthread_t p, c;
    pthread_create(&c, NULL, consumer, result);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    printf("producer/consumer: %d items, sum %ld (expected %ld), ordered checksum %ld (expected %ld)\n", ITEMS,
           result[0], expected_sum, result[1], expected_weighted);
}

/* TLS + identity; all threads wait at a barrier so they are alive together. */
static __thread long tls_value = 7;
static pthread_barrier_t barrier;
static pthread_t selves[NTHREADS];
static long tids[NTHREADS];
static int pid_same[NTHREADS];
static int tls_ok[NTHREADS];

static void *identity(void *arg)
{
    long id = (long)(intptr_t)arg;
    int fresh = tls_value == 7;         /* a new thread starts with the initial value */
    tls_value = 1000 + id;
    selves[id] = pthread_self();
    tids[id] = syscall(SYS_gettid);
    pid_same[id] = getpid() == (pid_t)syscall(SYS_getpid);
    pthread_barrier_wait(&barrier);     /* everybody has written their tls_value */
    tls_ok[id] = fresh && tls_value == 1000 + id;
    pthread_barrier_wait(&barrier);     /* nobody exits before the others checked */
    return (void *)(intptr_t)(id * 11 + 1);
}

static void identity_test(void)
{
    pthread_t t[NTHREADS];
    pid_t main_pid = getpid();
    long main_tid = syscall(SYS_gettid);
    if (pthread_barrier_init(&barrier, NULL, NTHREADS) != 0)
        fatal("pthread_barrier_init");
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, identity, (void *)(intptr_t)i);
    long sum = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        int err = pthread_join(t[i], &ret);
        sum += (long)(intptr_t)ret;
        if (err)
            show_err("pthread_join", err);
    }
    pthread_barrier_destroy(&barrier);
    int distinct = 1, tid_distinct = 1, tls = 1, same_pid = 1, matches_create = 1;
    for (int i = 0; i < NTHREADS; i++) {
        tls &= tls_ok[i];
        same_pid &= pid_same[i];
        matches_create &= pthread_equal(selves[i], t[i]) != 0;
        if (pthread_equal(selves[i], pthread_self()))
            distinct = 0;
        if (tids[i] == main_tid || tids[i] == main_pid)
            tid_distinct = 0;
        for (int j = 0; j < i; j++) {
            if (pthread_equal(selves[i], selves[j]))
                distinct = 0;
            if (tids[i] == tids[j])
                tid_distinct = 0;
        }
    }
    yesno("TLS: each thread saw its own __thread value", tls);
    printf("TLS: main's value still %ld\n", tls_value);
    yesno("pthread_self distinct across live threads", distinct);
    yesno("pthread_self matches what pthread_create returned", matches_create);
    yesno("gettid distinct across threads and from the main thread", tid_distinct);
    yesno("getpid the same in every thread", same_pid);
    yesno("main thread: gettid == getpid", main_tid == main_pid);
    printf("join: sum of returned values %ld (expected %d)\n", sum, 1 + 12 + 23 + 34);
}

static int once_runs;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void once_fn(void)
{
    once_runs++;
}

static void *call_once(void *arg)
{
    (void)arg;
    pthread_once(&once, once_fn);
    return NULL;
}

static pthread_mutex_t detached_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t detached_cond = PTHREAD_COND_INITIALIZER;
static int detached_done;

static void *detached(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&detached_lock);
    detached_done = 1;
    pthread_cond_signal(&detached_cond);
    pthread_mutex_unlock(&detached_lock);
    return NULL;
}

static void misc_test(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, call_once, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    call_once(NULL);
    printf("pthread_once: ran %d time(s)\n", once_runs);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t d;
    int err = pthread_create(&d, &attr, detached, NULL);
    show_err("pthread_create(detached)", err);
    pthread_attr_destroy(&attr);
    pthread_mutex_lock(&detached_lock);
    while (!detached_done)
        pthread_cond_wait(&detached_cond, &detached_lock);
    pthread_mutex_unlock(&detached_lock);
    printf("detached thread ran: yes\n");

    pthread_mutex_t m;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &ma);
    show_err("errorcheck mutex: lock", pthread_mutex_lock(&m));
    show_err("errorcheck mutex: lock again", pthread_mutex_lock(&m));
    show_err("errorcheck mutex: trylock", pthread_mutex_trylock(&m));
    show_err("errorcheck mutex: unlock", pthread_mutex_unlock(&m));
    show_err("errorcheck mutex: unlock again", pthread_mutex_unlock(&m));
    pthread_mutex_destroy(&m);
    pthread_mutexattr_destroy(&ma);
}

static pthread_mutex_t robust;

static void *lock_and_exit(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL; /* ends while still holding the mutex */
}

static void robust_test(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &attr);
    pthread_t t;
    pthread_create(&t, NULL, lock_and_exit, NULL);
    pthread_join(t, NULL);
    int err = pthread_mutex_lock(&robust);
    show_err("robust mutex after its owner exited", err);
    if (err == EOWNERDEAD)
        show_err("pthread_mutex_consistent", pthread_mutex_consistent(&robust));
    show_err("unlock", pthread_mutex_unlock(&robust));
    show_err("lock again", pthread_mutex_lock(&robust));
    pthread_mutex_unlock(&robust);
}

int main(int argc, char **argv)
{
    unbuffered_stdout();
    if (argc > 1)
        iterations = atol(argv[1]);
    counter_test();
    producer_consumer_test();
    identity_test();
    misc_test();
    robust_test();
    printf("done\n");
    return 0;
}
