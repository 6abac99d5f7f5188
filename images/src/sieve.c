/* sieve.c - byte-per-number sieve of Eratosthenes over N bytes (store heavy). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    if (n < 2) {
        printf("primes below %ld: 0\n", n);
        return 0;
    }
    unsigned char *is = malloc((size_t)n);
    if (!is) {
        printf("malloc failed\n");
        return 1;
    }
    memset(is, 1, (size_t)n);
    is[0] = is[1] = 0;
    for (long i = 2; i * i < n; i++)
        if (is[i])
            for (long j = i * i; j < n; j += i)
                is[j] = 0;
    long count = 0;
    for (long i = 0; i < n; i++)
        count += is[i];
    free(is);
    printf("primes below %ld: %ld\n", n, count);
    return 0;
}
