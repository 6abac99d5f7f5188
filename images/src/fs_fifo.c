/* fs_fifo.c - named pipes: mknod/mkfifo, the open rules (blocking until the other end
 * opens, O_NONBLOCK, ENXIO), data through the FIFO, EOF, and fstat. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENXIO: return "ENXIO";
    case EAGAIN: return "EAGAIN";
    case ESPIPE: return "ESPIPE";
    case EPIPE: return "EPIPE";
    case ENOENT: return "ENOENT";
    default: return "other";
    }
}

static const char *err(int r) { return r < 0 ? ename(errno) : "ok"; }

static void nap(void)
{
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

int main(void)
{
    const char *p = "/tmp/fifo";
    umask(022);
    signal(SIGPIPE, SIG_IGN);
    printf("mkfifo: %s\n", err(mkfifo(p, 0666)));
    printf("mkfifo again: %s\n", err(mkfifo(p, 0666)));
    struct stat st, fst;
    stat(p, &st);
    printf("is fifo: %d, mode %o, size %ld, nlink %ld\n", S_ISFIFO(st.st_mode), st.st_mode & 07777,
           (long)st.st_size, (long)st.st_nlink);
    printf("mknod regular: %s\n", err(mknod("/tmp/reg", S_IFREG | 0600, 0)));
    stat("/tmp/reg", &fst);
    printf("  is regular: %d, mode %o\n", S_ISREG(fst.st_mode), fst.st_mode & 07777);
    printf("mknod type 0: %s\n", err(mknod("/tmp/zero", 0644, 0)));
    stat("/tmp/zero", &fst);
    printf("  is regular: %d\n", S_ISREG(fst.st_mode));
    printf("mknod bad type: %s\n", err(mknod("/tmp/bad", 0170000 | 0644, 0)));
    printf("mknodat fifo: %s\n", err(mknodat(AT_FDCWD, "/tmp/fifo2", S_IFIFO | 0640, 0)));

    errno = 0;
    int w = open(p, O_WRONLY | O_NONBLOCK);
    printf("write-only nonblocking open, no reader: %s\n", err(w));
    int r = open(p, O_RDONLY | O_NONBLOCK);
    printf("read-only nonblocking open: %s\n", err(r));
    char buf[64] = {0};
    printf("read with no writer: %zd\n", read(r, buf, sizeof buf));
    w = open(p, O_WRONLY | O_NONBLOCK);
    printf("write-only nonblocking open with reader: %s\n", err(w));
    printf("write: %zd\n", write(w, "hello", 5));
    memset(buf, 0, sizeof buf);
    printf("read: %zd %s\n", read(r, buf, sizeof buf), buf);
    printf("empty read: %s\n", err((int)read(r, buf, sizeof buf)));
    fstat(r, &fst);
    printf("fstat: fifo %d, same inode %d\n", S_ISFIFO(fst.st_mode), fst.st_ino == st.st_ino);
    printf("lseek: %s\n", err((int)lseek(r, 0, SEEK_SET)));
    printf("fcntl flags: %o %o\n", fcntl(r, F_GETFL) & 03, fcntl(w, F_GETFL) & 03);
    close(w);
    printf("read after writer closed: %zd\n", read(r, buf, sizeof buf));
    close(r);

    int rw = open(p, O_RDWR);
    printf("O_RDWR open: %s\n", err(rw));
    printf("  write %zd\n", write(rw, "xyz", 3));
    memset(buf, 0, sizeof buf);
    printf("  read %zd %s\n", read(rw, buf, 2), buf);
    close(rw);
    rw = open(p, O_RDWR | O_NONBLOCK);
    printf("reopened: data gone: %s\n", err((int)read(rw, buf, sizeof buf)));
    close(rw);

    /* Blocking opens: the child's O_WRONLY open waits until we open for reading. */
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(p, O_WRONLY);
        if (fd < 0)
            _exit(1);
        write(fd, "from child", 10);
        close(fd);
        _exit(0);
    }
    nap();
    r = open(p, O_RDONLY);
    printf("blocking reader open: %s\n", err(r));
    memset(buf, 0, sizeof buf);
    ssize_t n, got = 0;
    while ((n = read(r, buf + got, sizeof buf - 1 - got)) > 0)
        got += n;
    printf("read %zd: %s\n", got, buf);
    close(r);
    int status;
    waitpid(pid, &status, 0);
    printf("child: %d\n", WEXITSTATUS(status));

    /* And the other way round: the child's O_RDONLY open waits for our writer. */
    pid = fork();
    if (pid == 0) {
        int fd = open(p, O_RDONLY);
        if (fd < 0)
            _exit(1);
        char b[16] = {0};
        ssize_t k = read(fd, b, sizeof b);
        _exit(k == 4 && memcmp(b, "ping", 4) == 0 ? 0 : 2);
    }
    nap();
    w = open(p, O_WRONLY);
    printf("blocking writer open: %s\n", err(w));
    printf("write: %zd\n", write(w, "ping", 4));
    waitpid(pid, &status, 0);
    printf("child: %d\n", WEXITSTATUS(status));
    errno = 0;
    printf("write with no reader left: %zd %s\n", write(w, "x", 1), ename(errno));
    close(w);
    printf("unlink: %s\n", err(unlink(p)));
    unlink("/tmp/fifo2");
    unlink("/tmp/reg");
    unlink("/tmp/zero");
    printf("done\n");
    return 0;
}
