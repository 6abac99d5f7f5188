/* count_loop.c - N increments of a counter in memory (volatile: one load and one
 * store each). Timer interrupts land in the middle of this loop; if resuming after
 * one ever ran an instruction twice, the count would come out too high. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0;
    volatile long counter = 0;
    for (long i = 0; i < n; i++)
        counter++;
    printf("%ld\n", counter);
    return counter != n;
}
