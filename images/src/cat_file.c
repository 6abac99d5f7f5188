/*
 * cat_file.c - copy argv[1] to stdout with raw open/read/write.
 * Reads through a 100-byte buffer so larger files need several read()s.
 * On failure prints "open: <strerror(errno)>" (to stdout) and exits 1.
 */
#define _GNU_SOURCE  /* syscall(), environ, POSIX I/O under -std=c11 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: cat_file FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        printf("open: %s\n", strerror(errno));
        return 1;
    }
    char buf[100];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        ssize_t off = 0;
        while (off < n) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0) {
                close(fd);
                return 1;
            }
            off += w;
        }
    }
    if (n < 0) {
        printf("read: %s\n", strerror(errno));
        close(fd);
        return 1;
    }
    close(fd);
    return 0;
}
