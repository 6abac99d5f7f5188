/*
 * args.c - print argc, argv and the environment, one item per line.
 * Exit status = atoi($EXIT_CODE) if set, else 0.
 */
#define _GNU_SOURCE  /* syscall(), environ, POSIX I/O under -std=c11 */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (int i = 0; environ && environ[i]; i++)
        printf("env[%d]=%s\n", i, environ[i]);
    const char *code = getenv("EXIT_CODE");
    return code ? atoi(code) : 0;
}
