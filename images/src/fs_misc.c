/* fs_misc.c - close_range, fallocate, preadv/pwritev(2), ioctl FIONREAD/FIONBIO. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *ename(int e)
{
    switch (e) {
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case EAGAIN: return "EAGAIN";
    case ESPIPE: return "ESPIPE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EISDIR: return "EISDIR";
    case ENODEV: return "ENODEV";
    default: return "other";
    }
}

static void show(const char *what, long r)
{
    if (r < 0)
        printf("%s: -1 %s\n", what, ename(errno));
    else
        printf("%s: %ld\n", what, r);
}

static int is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

int main(void)
{
    /* close_range */
    int base = open("/tmp", O_RDONLY);
    for (int i = 0; i < 6; i++)
        dup2(base, 20 + i);
    show("close_range 21..23", syscall(SYS_close_range, 21, 23, 0));
    printf("open after: 20:%d 21:%d 23:%d 24:%d\n", is_open(20), is_open(21), is_open(23), is_open(24));
    show("close_range cloexec 24..~0", syscall(SYS_close_range, 24, ~0U, 4));
    printf("24 open %d cloexec %d, 25 cloexec %d, 20 cloexec %d\n", is_open(24), fcntl(24, F_GETFD),
           fcntl(25, F_GETFD), fcntl(20, F_GETFD));
    show("close_range unshare 25..25", syscall(SYS_close_range, 25, 25, 2));
    printf("25 open %d\n", is_open(25));
    show("close_range first>last", syscall(SYS_close_range, 5, 4, 0));
    show("close_range bad flags", syscall(SYS_close_range, 30, 40, 1));
    show("close_range nothing open", syscall(SYS_close_range, 100, 200, 0));

    /* fallocate */
    int fd = open("/tmp/falloc", O_CREAT | O_RDWR | O_TRUNC, 0644);
    struct stat st;
    show("fallocate 0 100 1000", fallocate(fd, 0, 100, 1000));
    fstat(fd, &st);
    printf("size %ld blocks %ld\n", (long)st.st_size, (long)st.st_blocks);
    show("fallocate inside", fallocate(fd, 0, 0, 10));
    fstat(fd, &st);
    printf("size %ld\n", (long)st.st_size);
    char buf[64];
    show("read zeros", pread(fd, buf, 8, 500));
    printf("all zero: %d\n", buf[0] == 0 && buf[7] == 0);
    show("fallocate len 0", fallocate(fd, 0, 0, 0));
    show("fallocate negative offset", fallocate(fd, 0, -1, 10));
    show("fallocate collapse range", fallocate(fd, 0x08, 0, 4096));
    int ro = open("/tmp/falloc", O_RDONLY);
    show("fallocate read-only fd", fallocate(ro, 0, 0, 5000));
    int dir = open("/tmp", O_RDONLY);
    show("fallocate directory", fallocate(dir, 0, 0, 10));
    int p[2];
    pipe(p);
    show("fallocate pipe", fallocate(p[1], 0, 0, 10));

    /* preadv / pwritev */
    struct iovec w[2] = {{"hello ", 6}, {"world", 5}};
    show("pwritev at 2000", pwritev(fd, w, 2, 2000));
    show("lseek cur", lseek(fd, 0, SEEK_CUR));
    char a[4] = {0}, b[16] = {0};
    struct iovec r[2] = {{a, 3}, {b, 15}};
    show("preadv at 2000", preadv(fd, r, 2, 2000));
    printf("a=%.3s b=%s\n", a, b);
    show("preadv past end", preadv(fd, r, 2, 99999));
    show("preadv negative", preadv(fd, r, 2, -5));
    show("pwritev2 flags 0 at 0", pwritev2(fd, w, 1, 0, 0));
    show("pwritev2 offset -1 (position)", pwritev2(fd, w + 1, 1, -1, 0));
    show("lseek cur", lseek(fd, 0, SEEK_CUR));
    lseek(fd, 0, SEEK_SET);
    memset(b, 0, sizeof b);
    show("preadv2 offset -1", preadv2(fd, r, 2, -1, 0));
    printf("a=%.3s b=%.8s\n", a, b);
    show("lseek cur", lseek(fd, 0, SEEK_CUR));
    show("preadv pipe", preadv(p[0], r, 2, 0));

    /* FIONREAD / FIONBIO */
    int n = -1;
    lseek(fd, 100, SEEK_SET);
    show("FIONREAD file", ioctl(fd, FIONREAD, &n));
    printf("  %d\n", n);
    lseek(fd, 99999, SEEK_SET);
    show("FIONREAD past end", ioctl(fd, FIONREAD, &n));
    printf("  %d\n", n);
    write(p[1], "abcdefg", 7);
    show("FIONREAD pipe read end", ioctl(p[0], FIONREAD, &n));
    printf("  %d\n", n);
    show("FIONREAD pipe write end", ioctl(p[1], FIONREAD, &n));
    printf("  %d\n", n);
    show("FIONREAD directory", ioctl(dir, FIONREAD, &n));
    read(p[0], buf, sizeof buf);
    int on = 1;
    show("FIONBIO on", ioctl(p[0], FIONBIO, &on));
    printf("  O_NONBLOCK: %d\n", !!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
    show("read empty pipe", read(p[0], buf, sizeof buf));
    on = 0;
    show("FIONBIO off", ioctl(p[0], FIONBIO, &on));
    printf("  O_NONBLOCK: %d\n", !!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
    unlink("/tmp/falloc");
    printf("done\n");
    return 0;
}
