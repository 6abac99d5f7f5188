/* getppid_loop.c - N raw getppid syscalls (syscall-overhead benchmark). */
#define _GNU_SOURCE  /* syscall(), environ, POSIX I/O under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0;
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    printf("done %ld\n", n);
    return 0;
}
