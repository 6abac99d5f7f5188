/*
 * compute_loop.c - N iterations of a serial integer mixing loop
 * (xorshift64 + multiply), CPU-bound with no syscalls and no memory traffic.
 * The seed goes through a volatile so the loop cannot be constant-folded, and
 * each step depends on the previous one so it cannot be vectorised.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0;
    volatile uint64_t seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)argc;
    uint64_t x = seed;
    uint64_t acc = 0;
    for (long i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = acc * 6364136223846793005ULL + (x ^ (uint64_t)i);
    }
    printf("result %llu\n", (unsigned long long)(acc ^ x));
    return 0;
}
