/*
 * init.c - /init of the default boot image.
 *
 * Prints a (deterministic) banner, its argv and environment, then the
 * contents of /etc/motd if that file exists.  Uses open/read/close
 * directly so the syscall trace is easy to follow.
 */
#define _GNU_SOURCE  /* syscall(), environ, POSIX I/O under -std=c11 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    printf("Welcome to asterinas-lab!\n");
    printf("argc = %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    for (int i = 0; environ && environ[i]; i++)
        printf("env[%d] = %s\n", i, environ[i]);
    fflush(stdout);

    int fd = open("/etc/motd", O_RDONLY);
    if (fd < 0) {
        printf("(no /etc/motd)\n");
    } else {
        char buf[256];
        ssize_t n;
        printf("--- /etc/motd ---\n");
        fflush(stdout);
        while ((n = read(fd, buf, sizeof buf)) > 0)
            fwrite(buf, 1, (size_t)n, stdout);
        close(fd);
        printf("--- end of /etc/motd ---\n");
    }
    printf("init: done\n");
    return 0;
}
