/* pipe_throughput.c - N MiB through a pipe in 64 KiB writes, from a child to its
 * parent (pipe-throughput benchmark). Prints the byte count and a checksum. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 0;
    long total = mib * 1024 * 1024;
    int fds[2];
    if (pipe(fds)) {
        perror("pipe");
        return 1;
    }
    static char buf[CHUNK];
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (int i = 0; i < CHUNK; i++)
            buf[i] = (char)i;
        for (long sent = 0; sent < total; sent += CHUNK)
            if (write(fds[1], buf, CHUNK) != CHUNK)
                _exit(1);
        _exit(0);
    }
    close(fds[1]);
    long got = 0;
    unsigned long sum = 0;
    ssize_t n;
    while ((n = read(fds[0], buf, CHUNK)) > 0) {
        got += n;
        sum += (unsigned char)buf[n - 1];
    }
    int status;
    waitpid(pid, &status, 0);
    printf("bytes %ld, checksum %lu, child %d\n", got, sum, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return got != total;
}
