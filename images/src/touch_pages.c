/* touch_pages.c - map N anonymous pages and write one byte to each: the cost of
 * first touch (a page fault that allocates, zeroes and maps a frame). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0;
    long sum = 0;
    if (n > 0) {
        char *p = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        for (long i = 0; i < n; i++)
            p[i * 4096] = (char)i;
        for (long i = 0; i < n; i++)
            sum += p[i * 4096] & 1;
    }
    printf("done %ld, odd %ld\n", n, sum);
    return 0;
}
