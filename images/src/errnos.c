/*
 * errnos.c - exercise syscall error paths and print the errno names.
 *
 * Each line looks like "name = <ret> errno=<E-name>".  Names come from a
 * small table (not strerror) so musl and glibc builds print the same text.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *errname(int e)
{
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case ESPIPE: return "ESPIPE";
    case EPIPE: return "EPIPE";
    case ERANGE: return "ERANGE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    default: return "E?";
    }
}

static void report(const char *name, long ret)
{
    printf("%s = %ld errno=%s\n", name, ret, ret < 0 ? errname(errno) : "0");
    fflush(stdout);
}

/* Bad pointers go through volatiles so compilers neither warn nor assume. */
static const void *volatile bad_ptr = (const void *)1;

int main(void)
{
    static const char msg[] = "x";
    long r;

    errno = 0; r = write(-1, msg, 1);
    report("write(-1)", r);

    errno = 0; r = write(1, bad_ptr, 10);
    report("write(1, bad_ptr)", r);

    errno = 0; r = open("/nonexistent", O_RDONLY);
    report("open(/nonexistent)", r);

    errno = 0; r = close(1000);
    report("close(1000)", r);

    errno = 0; r = syscall(9999);
    report("syscall(9999)", r);

    errno = 0; r = openat(AT_FDCWD, (const char *)bad_ptr, O_RDONLY);
    report("openat(bad_ptr)", r);

    errno = 0; r = read(-1, (void *)msg, 0);
    report("read(-1)", r);

    errno = 0; r = write(1, msg, 0);
    report("write(1, len=0)", r);

    if (!isatty(1)) {
        struct winsize ws;
        errno = 0; r = ioctl(1, TIOCGWINSZ, &ws);
        report("ioctl(1, TIOCGWINSZ)", r);
    } else {
        printf("ioctl(1, TIOCGWINSZ) skipped: stdout is a tty\n");
    }
    return 0;
}
