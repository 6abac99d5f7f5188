/*
 * write_checks.c - write(2) and writev(2), their results and errnos: good buffers,
 * NULL with length 0, bad and kernel-half pointers (EFAULT), bad fds (EBADF), iovec
 * counts out of range (EINVAL), pipes and /dev/null. All output goes through
 * printf, i.e. musl's writev on stdout: lab 3's student handlers serve every byte.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "checks.h"

static long raw_write(long fd, const void *buf, long count)
{
    return syscall(SYS_write, fd, buf, count);
}

static long raw_writev(long fd, const struct iovec *iov, long count)
{
    return syscall(SYS_writev, fd, iov, count);
}

int main(void)
{
    static struct iovec many[1025];
    char buf[64];
    int fds[2];

    setvbuf(stdout, NULL, _IONBF, 0); /* one writev per printf */
    show("write(1, \"abc\\n\", 4)", raw_write(1, "abc\n", 4));
    show("write(1, NULL, 0)", raw_write(1, NULL, 0));
    show("write(1, NULL, 5)", raw_write(1, NULL, 5));
    show("write(1, 0x10, 1)", raw_write(1, (void *)0x10, 1));
    show("write(1, kernel address, 4)", raw_write(1, (void *)0xffff888000000000UL, 4));
    show("write(1, non-canonical, 4)", raw_write(1, (void *)0x0000800000000000UL, 4));
    show("write(99, \"x\", 1)", raw_write(99, "x", 1));
    show("write(-1, \"x\", 1)", raw_write(-1, "x", 1));

    /* a page that was unmapped */
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(page, "mapped\n", 7);
    show("write(1, page, 7)", raw_write(1, page, 7));
    munmap(page, 4096);
    show("write(1, unmapped page, 7)", raw_write(1, page, 7));

    int null = open("/dev/null", O_WRONLY);
    show("write(/dev/null, \"data\", 4)", raw_write(null, "data", 4));
    close(null);

    if (pipe(fds) == 0) {
        show("write(pipe, \"through a pipe\", 14)", raw_write(fds[1], "through a pipe", 14));
        long n = read(fds[0], buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        printf("read(pipe) = %ld \"%s\"\n", n, buf);
        show("write(pipe, NULL, 3)", raw_write(fds[1], NULL, 3));
        close(fds[0]);
        close(fds[1]);
    }

    struct iovec two[3] = {{"ab", 2}, {NULL, 0}, {"cd\n", 3}};
    show("writev(1, {\"ab\", NULL/0, \"cd\\n\"}, 3)", raw_writev(1, two, 3));
    show("writev(1, iov, 0)", raw_writev(1, two, 0));
    show("writev(1, NULL, 0)", raw_writev(1, NULL, 0));
    show("writev(1, iov, -1)", raw_writev(1, two, -1));
    for (int i = 0; i < 1025; i++) {
        many[i].iov_base = "";
        many[i].iov_len = 0;
    }
    show("writev(1, iov, 1024 empty)", raw_writev(1, many, 1024));
    show("writev(1, iov, 1025)", raw_writev(1, many, 1025));
    show("writev(1, NULL, 2)", raw_writev(1, NULL, 2));
    struct iovec bad[1] = {{(void *)0x10, 4}};
    show("writev(1, {0x10, 4}, 1)", raw_writev(1, bad, 1));
    show("writev(99, iov, 3)", raw_writev(99, two, 3));
    printf("done\n");
    return 0;
}
