/*
 * futex_wake.c - the raw futex(2) system call.
 *
 * Error paths: FUTEX_WAIT on a word that does not hold the expected value
 * (EAGAIN), timeouts (ETIMEDOUT, relative and absolute), a bad timespec,
 * bitset 0, a misaligned word (EINVAL), a NULL word (EFAULT), an unknown op
 * (ENOSYS).  With waiter threads (pthread_create): FUTEX_WAKE returns how
 * many it woke, WAIT_BITSET/WAKE_BITSET with disjoint bitsets do not wake,
 * FUTEX_CMP_REQUEUE with a stale value fails with EAGAIN and otherwise moves
 * waiters to a second word, where FUTEX_WAKE finds them; FUTEX_WAKE_OP.
 *
 * A waiter announces itself with a flag just before it calls FUTEX_WAIT, but
 * it may not be asleep in the kernel yet when the main thread looks.  So
 * wakes and requeues are retried (after a 10 ms pause) until they account
 * for every waiter, and only totals are printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"

static long futex(void *uaddr, int op, uint32_t val, const struct timespec *ts, void *uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

/* For ops that take a count where the timeout would be (REQUEUE, WAKE_OP). */
static long futex_val2(void *uaddr, int op, uint32_t val, uint32_t val2, void *uaddr2, uint32_t val3)
{
    return syscall(SYS_futex, uaddr, op, val, (unsigned long)val2, uaddr2, val3);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static uint32_t word_a, word_b;
static volatile int ready;

struct waiter {
    pthread_t thread;
    uint32_t *word;
    int op;
    uint32_t bitset;
    long ret;
    int err;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    __atomic_add_fetch(&ready, 1, __ATOMIC_SEQ_CST);
    errno = 0;
    w->ret = futex(w->word, w->op, 0, NULL, NULL, w->bitset);
    w->err = errno;
    return NULL;
}

static void start_waiters(struct waiter *w, int n, uint32_t *word, int op, uint32_t bitset)
{
    ready = 0;
    for (int i = 0; i < n; i++) {
        w[i].word = word;
        w[i].op = op;
        w[i].bitset = bitset;
        w[i].ret = -2;
        int err = pthread_create(&w[i].thread, NULL, wait_thread, &w[i]);
        if (err) {
            show_err("pthread_create", err);
            exit(1);
        }
    }
    while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < n)
        sched_yield();
    sleep_ms(10);
}

static void join_waiters(const char *what, struct waiter *w, int n)
{
    int ok = 1;
    for (int i = 0; i < n; i++) {
        pthread_join(w[i].thread, NULL);
        ok &= w[i].ret == 0;
    }
    printf("%s: every waiter's FUTEX_WAIT returned 0: %s\n", what, ok ? "yes" : "no");
}

/* FUTEX_WAKE(word, nr) until `total` waiters are woken (at most ~5 s). */
static int wake_all(uint32_t *word, int op, int nr, int total, uint32_t bitset, int *max_per_call)
{
    int woken = 0;
    *max_per_call = 0;
    for (int tries = 0; woken < total && tries < 500; tries++) {
        long r = futex(word, op, (uint32_t)nr, NULL, NULL, bitset);
        if (r < 0) {
            printf("wake failed: %s\n", errname(errno));
            return woken;
        }
        woken += (int)r;
        if (r > *max_per_call)
            *max_per_call = (int)r;
        if (woken < total)
            sleep_ms(10);
    }
    return woken;
}

static void errors(void)
{
    uint32_t word = 1;
    errno = 0;
    show("FUTEX_WAIT, value mismatch", futex(&word, FUTEX_WAIT, 0, NULL, NULL, 0));
    errno = 0;
    show("FUTEX_WAIT_PRIVATE, value mismatch", futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));

    struct timespec rel = { 0, 10 * 1000 * 1000 };
    errno = 0;
    show("FUTEX_WAIT, 10 ms timeout", futex(&word, FUTEX_WAIT_PRIVATE, 1, &rel, NULL, 0));

    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 10 * 1000 * 1000;
    if (abs.tv_nsec >= 1000000000) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000;
    }
    errno = 0;
    show("FUTEX_WAIT_BITSET, absolute CLOCK_MONOTONIC timeout",
         futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY));

    struct timespec bad = { 0, 1000000000 };
    errno = 0;
    show("FUTEX_WAIT, tv_nsec 1e9", futex(&word, FUTEX_WAIT_PRIVATE, 1, &bad, NULL, 0));
    errno = 0;
    show("FUTEX_WAIT_BITSET, bitset 0", futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, NULL, 0));
    errno = 0;
    show("FUTEX_WAKE_BITSET, bitset 0", futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0));
    errno = 0;
    show("FUTEX_WAIT, misaligned word", futex((char *)&word_a + 1, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0));
    errno = 0;
    show("FUTEX_WAIT, NULL word", futex(NULL, FUTEX_WAIT, 0, &rel, NULL, 0));
    errno = 0;
    show("FUTEX_WAIT_PRIVATE, NULL word", futex(NULL, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0));
    errno = 0;
    show("futex op 99", futex(&word, 99, 0, NULL, NULL, 0));
    errno = 0;
    show("FUTEX_WAKE, nobody waiting", futex(&word, FUTEX_WAKE, 1, NULL, NULL, 0));
    errno = 0;
    show("FUTEX_WAKE_PRIVATE, nobody waiting", futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
}

static void wake_tests(void)
{
    struct waiter w[3];
    int max;

    word_a = 0;
    start_waiters(w, 1, &word_a, FUTEX_WAIT_PRIVATE, 0);
    int n = wake_all(&word_a, FUTEX_WAKE_PRIVATE, 1, 1, 0, &max);
    printf("one waiter: FUTEX_WAKE woke %d\n", n);
    join_waiters("one waiter", w, 1);

    start_waiters(w, 3, &word_a, FUTEX_WAIT_PRIVATE, 0);
    n = wake_all(&word_a, FUTEX_WAKE_PRIVATE, 1, 3, 0, &max);
    printf("three waiters, FUTEX_WAKE(1) repeatedly: woke %d in total, at most %d per call\n", n, max);
    join_waiters("three waiters", w, 3);

    start_waiters(w, 1, &word_a, FUTEX_WAIT_BITSET_PRIVATE, 0x1);
    long r = futex(&word_a, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, NULL, NULL, 0x2);
    printf("waiter with bitset 0x1, FUTEX_WAKE_BITSET 0x2: woke %ld\n", r);
    n = wake_all(&word_a, FUTEX_WAKE_BITSET_PRIVATE, INT_MAX, 1, 0x3, &max);
    printf("waiter with bitset 0x1, FUTEX_WAKE_BITSET 0x3: woke %d\n", n);
    join_waiters("bitset waiter", w, 1);

    /* A FUTEX_WAIT (bitset "match any") waiter is woken by any WAKE_BITSET. */
    start_waiters(w, 1, &word_a, FUTEX_WAIT_PRIVATE, 0);
    n = wake_all(&word_a, FUTEX_WAKE_BITSET_PRIVATE, 1, 1, 0x80, &max);
    printf("plain waiter, FUTEX_WAKE_BITSET 0x80: woke %d\n", n);
    join_waiters("plain waiter", w, 1);
}

static void requeue_tests(void)
{
    struct waiter w[3];
    int max;
    word_a = 0;
    word_b = 0;
    start_waiters(w, 3, &word_a, FUTEX_WAIT_PRIVATE, 0);

    errno = 0;
    show("FUTEX_CMP_REQUEUE with a stale value",
         futex_val2(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 0, INT_MAX, &word_b, 1));
    errno = 0;
    show("FUTEX_CMP_REQUEUE, negative count",
         futex_val2(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, (uint32_t)-1, INT_MAX, &word_b, 0));

    /* Move all three from word_a to word_b (retrying for late sleepers). */
    int moved = 0;
    for (int tries = 0; moved < 3 && tries < 500; tries++) {
        long r = futex_val2(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 0, INT_MAX, &word_b, 0);
        if (r < 0) {
            printf("FUTEX_CMP_REQUEUE failed: %s\n", errname(errno));
            break;
        }
        moved += (int)r;
        if (moved < 3)
            sleep_ms(10);
    }
    printf("FUTEX_CMP_REQUEUE (wake 0): requeued %d in total\n", moved);
    printf("FUTEX_WAKE on the old word: %ld\n", futex(&word_a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
    printf("FUTEX_WAKE(1) on the new word: %ld\n", futex(&word_b, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    printf("FUTEX_WAKE(all) on the new word: %ld\n", futex(&word_b, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0));
    join_waiters("requeued waiters", w, 3);

    /* FUTEX_REQUEUE (no compare): wake one, move the other. */
    start_waiters(w, 2, &word_a, FUTEX_WAIT_PRIVATE, 0);
    int woken = 0;
    moved = 0;
    for (int tries = 0; woken + moved < 2 && tries < 500; tries++) {
        long r = futex_val2(&word_a, FUTEX_REQUEUE_PRIVATE, (uint32_t)(1 - woken), INT_MAX, &word_b, 0);
        if (r < 0) {
            printf("FUTEX_REQUEUE failed: %s\n", errname(errno));
            break;
        }
        /* The return value counts woken + requeued; the first one is woken. */
        int w1 = r > 0 && woken == 0 ? 1 : 0;
        woken += w1;
        moved += (int)r - w1;
        if (woken + moved < 2)
            sleep_ms(10);
    }
    printf("FUTEX_REQUEUE (wake 1): woke %d, requeued %d\n", woken, moved);
    int n = wake_all(&word_b, FUTEX_WAKE_PRIVATE, INT_MAX, moved, 0, &max);
    printf("FUTEX_WAKE on the new word: %d\n", n);
    join_waiters("FUTEX_REQUEUE waiters", w, 2);
}

static void wake_op_test(void)
{
    word_a = 0;
    word_b = 3;
    long r = futex_val2(&word_a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &word_b,
                        FUTEX_OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 3));
    printf("FUTEX_WAKE_OP (SET 5, if old == 3), nobody waiting: %ld, second word now %u\n", r, word_b);
    r = futex_val2(&word_a, FUTEX_WAKE_OP_PRIVATE, 1, 1, &word_b, FUTEX_OP(FUTEX_OP_ADD, 2, FUTEX_OP_CMP_GT, 100));
    printf("FUTEX_WAKE_OP (ADD 2, if old > 100): %ld, second word now %u\n", r, word_b);
}

int main(void)
{
    unbuffered_stdout();
    errors();
    wake_tests();
    requeue_tests();
    wake_op_test();
    printf("done\n");
    return 0;
}
