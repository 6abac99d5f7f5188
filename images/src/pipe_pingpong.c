/* pipe_pingpong.c - parent and child pass one byte back and forth N times over two
 * pipes: each round trip is two context switches through blocking reads. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0;
    int ping[2], pong[2];
    if (pipe(ping) || pipe(pong)) {
        perror("pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        char c;
        close(ping[1]);
        close(pong[0]);
        while (read(ping[0], &c, 1) == 1)
            if (write(pong[1], &c, 1) != 1)
                _exit(1);
        _exit(0);
    }
    close(ping[0]);
    close(pong[1]);
    long ok = 0;
    for (long i = 0; i < n; i++) {
        char c = (char)i, back;
        if (write(ping[1], &c, 1) == 1 && read(pong[0], &back, 1) == 1 && back == c)
            ok++;
    }
    close(ping[1]);
    int status;
    waitpid(pid, &status, 0);
    printf("done %ld, ok %ld, child %d\n", n, ok, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return ok != n;
}
