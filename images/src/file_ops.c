/* file_ops.c - N times: create a file, write 4 KiB, read it back, unlink it
 * (file-system benchmark). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    static char data[4096], back[4096];
    memset(data, 'f', sizeof data);
    char path[256];
    long bad = 0;
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/bench-%ld", dir, i % 16);
        int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
        if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data || lseek(fd, 0, SEEK_SET) != 0
            || read(fd, back, sizeof back) != (ssize_t)sizeof back || memcmp(data, back, sizeof data) != 0)
            bad++;
        if (fd >= 0)
            close(fd);
        if (unlink(path) != 0)
            bad++;
    }
    printf("done %ld, bad %ld\n", n, bad);
    return bad != 0;
}
