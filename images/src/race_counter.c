/*
 * race_counter.c - threads adding to one shared counter, with and without a lock.
 *
 *   race_counter MODE [THREADS [ITERATIONS]]      (defaults: 2 threads, 20000 each)
 *
 * MODE racy:   counter = counter + 1 as two separate instructions (a load, then a
 *              store): a thread preempted between them writes back a stale value and
 *              the other threads' increments in between are lost;
 * MODE atomic: one atomic read-modify-write (lock xadd);
 * MODE mutex:  the racy increment inside pthread_mutex_lock/unlock (futexes).
 * Prints "counter: T threads x N = C (expected T*N)". Exit status: 0, or 1 if an
 * atomic or mutex count is wrong (a racy count may be anything: that is the demo).
 * Under Linux (or the lab's chaos scheduler, which preempts at random instructions)
 * the racy count is usually short, by a different amount on every run; the other two
 * modes are always exact.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 16

static volatile long counter;
static long iterations = 20000;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *racy(void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        long value = counter;              /* load ...                          */
        __asm__ volatile("" : "+r"(value)); /* (keeps it two instructions: the    */
        counter = value + 1;               /* ... store  compiler could fuse them) */
    }
    return NULL;
}

static void *atomic(void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++)
        __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *locked(void *arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&lock);
        long value = counter;
        __asm__ volatile("" : "+r"(value));
        counter = value + 1;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argc > 1 ? argv[1] : "racy";
    int nthreads = argc > 2 ? atoi(argv[2]) : 2;
    if (argc > 3)
        iterations = atol(argv[3]);
    void *(*body)(void *) = !strcmp(mode, "atomic") ? atomic : !strcmp(mode, "mutex") ? locked : racy;
    if (nthreads < 1 || nthreads > MAX_THREADS || iterations < 0) {
        fprintf(stderr, "usage: race_counter racy|atomic|mutex [THREADS<=16 [ITERATIONS]]\n");
        return 2;
    }
    pthread_t t[MAX_THREADS];
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&t[i], NULL, body, NULL) != 0) {
            perror("pthread_create");
            return 1;
        }
    for (int i = 0; i < nthreads; i++)
        pthread_join(t[i], NULL);
    long expected = nthreads * iterations;
    printf("counter: %d threads x %ld = %ld (expected %ld)\n", nthreads, iterations, counter, expected);
    return body != racy && counter != expected;
}
