/*
 * cow_isolation.c - fork() gives the child a private (copy-on-write) copy of
 * memory, while MAP_SHARED memory stays shared.
 *
 * - 8 MiB from malloc, filled with a pattern; the child overwrites all of
 *   it and checks its own view; the parent's copy (checksum) is unchanged;
 * - the other direction: the parent writes after fork() and the live child
 *   still sees the old values (also for .data, .bss and the stack);
 * - a private anonymous mmap behaves like malloc'd memory;
 * - MAP_SHARED|MAP_ANONYMOUS memory is shared both ways;
 * - a child that touches one byte of a large region leaves the rest alone.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

#define BIG (8u << 20)

static uint64_t checksum(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;        /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7 + (i >> 12) + seed);
}

static int child_status(pid_t kid)
{
    int st = 0;
    if (waitpid(kid, &st, 0) != kid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The child rewrites the whole buffer; the parent must not see it. */
static void child_writes(const char *what, unsigned char *buf)
{
    uint64_t before = checksum(buf, BIG);
    printf("%s: parent checksum before fork %016llx\n", what, (unsigned long long)before);
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        int same = checksum(buf, BIG) == before;
        memset(buf, 0xa5, BIG);
        int ok = 1;
        for (size_t i = 0; i < BIG; i += 4096)
            ok &= buf[i] == 0xa5 && buf[i + 4095] == 0xa5;
        printf("%s: child saw the parent's data: %s, sees its own writes: %s, checksum %016llx\n", what,
               same ? "yes" : "no", ok ? "yes" : "no", (unsigned long long)checksum(buf, BIG));
        _exit(ok && same ? 0 : 1);
    }
    printf("%s: child exit %d\n", what, child_status(kid));
    uint64_t after = checksum(buf, BIG);
    printf("%s: parent checksum after child exit %016llx, unchanged: %s\n", what,
           (unsigned long long)after, after == before ? "yes" : "no");
}

static int data_var = 11;
static int bss_var;

/* The parent writes while the child is alive; the child keeps its values. */
static void parent_writes(unsigned char *buf)
{
    int stack_var = 33;
    int go[2];
    if (pipe(go) < 0)
        fatal("pipe");
    bss_var = 22;
    *(volatile int *)&stack_var = 33;
    uint64_t before = checksum(buf, BIG);
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)        /* parent has written by now */
            _exit(2);
        int heap_ok = checksum(buf, BIG) == before;
        printf("parent-writes: child still sees old heap: %s, data %d, bss %d, stack %d\n",
               heap_ok ? "yes" : "no", data_var, bss_var, *(volatile int *)&stack_var);
        _exit(0);
    }
    close(go[0]);
    memset(buf, 0x5a, BIG);
    data_var = 111;
    bss_var = 222;
    *(volatile int *)&stack_var = 333;
    if (write(go[1], "g", 1) != 1)
        fatal("write");
    close(go[1]);
    printf("parent-writes: child exit %d\n", child_status(kid));
    printf("parent-writes: parent sees its new values: data %d, bss %d, stack %d, heap byte %#x\n",
           data_var, bss_var, *(volatile int *)&stack_var, buf[BIG / 2]);
}

static void shared_tests(void)
{
    size_t len = 64 * 1024;
    int *shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        fatal("mmap shared");
    int *private_ = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (private_ == MAP_FAILED)
        fatal("mmap private");
    size_t n = len / sizeof(int);
    for (size_t i = 0; i < n; i++)
        shared[i] = private_[i] = 1;

    int go[2], written[2];
    if (pipe(go) < 0 || pipe(written) < 0)
        fatal("pipe");
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        close(go[1]);
        close(written[0]);
        for (size_t i = 0; i < n; i++) {
            shared[i] = (int)i;
            private_[i] = -1;
        }
        close(written[1]);                  /* EOF for the parent: our writes are done */
        char c;
        if (read(go[0], &c, 1) != 1)        /* the parent wrote shared[0] */
            _exit(2);
        printf("shared: child sees the parent's write: %s\n", shared[0] == 4242 ? "yes" : "no");
        _exit(0);
    }
    close(go[0]);
    close(written[1]);
    char c;
    if (read(written[0], &c, 1) != 0)       /* wait for the child's writes */
        fatal("read");
    close(written[0]);
    long sum = 0;
    int priv_ok = 1;
    for (size_t i = 0; i < n; i++) {
        sum += shared[i];
        priv_ok &= private_[i] == 1;
    }
    printf("shared: parent sees the child's writes: sum %ld (expected %ld)\n", sum, (long)n * (long)(n - 1) / 2);
    shared[0] = 4242;
    if (write(go[1], "g", 1) != 1)
        fatal("write");
    close(go[1]);
    printf("shared: child exit %d\n", child_status(kid));
    printf("private mmap: child's writes invisible to the parent: %s\n", priv_ok ? "yes" : "no");
    munmap(shared, len);
    munmap(private_, len);
}

/* One store in the child must copy one page, not disturb the others. */
static void one_byte_test(unsigned char *buf)
{
    fill(buf, BIG, 3);
    uint64_t before = checksum(buf, BIG);
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        buf[BIG / 3] ^= 0xff;
        uint64_t mine = checksum(buf, BIG);
        buf[BIG / 3] ^= 0xff;
        _exit(mine != before && checksum(buf, BIG) == before ? 0 : 1);
    }
    printf("one-byte write: child exit %d\n", child_status(kid));
    yesno("one-byte write: parent unchanged", checksum(buf, BIG) == before);
}

int main(void)
{
    unbuffered_stdout();
    unsigned char *heap = malloc(BIG);
    if (!heap)
        fatal("malloc");
    fill(heap, BIG, 0);
    child_writes("malloc", heap);

    unsigned char *anon = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED)
        fatal("mmap");
    fill(anon, BIG, 1);
    child_writes("mmap private", anon);

    parent_writes(heap);
    shared_tests();
    one_byte_test(anon);
    munmap(anon, BIG);
    free(heap);
    printf("done\n");
    return 0;
}
