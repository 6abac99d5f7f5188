/*
 * epoll_eventfd.c - eventfd counters and epoll interest lists.
 *
 * eventfd: the counter (reads return and reset it), EFD_SEMAPHORE (reads
 * return 1), EFD_NONBLOCK (EAGAIN on an empty counter and on overflow), a
 * blocking read woken by a forked child's write, short buffers and the
 * reserved value 2^64-1 (EINVAL), poll readiness.
 * epoll: create/create1 arguments, EPOLL_CTL_ADD/MOD/DEL and their errors
 * (EEXIST, ENOENT, EBADF, EPERM for regular files, EINVAL for the epoll fd
 * itself), level-triggered reports, EPOLLHUP/EPOLLERR reported unasked,
 * EPOLLET and EPOLLONESHOT, maxevents, entries dropped when their fd is
 * closed, blocking and timed waits, signals (EINTR, epoll_pwait's mask), an
 * epoll fd polled by poll().  Times are compared, never printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "waiting.h"

static volatile sig_atomic_t usr1s;

static void on_usr1(int sig)
{
    (void)sig;
    usr1s++;
}

static void read_u64(const char *label, int fd)
{
    uint64_t v = 0;
    ssize_t r = read(fd, &v, sizeof v);
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %ld value %llu\n", label, (long)r, (unsigned long long)v);
}

static void write_u64(const char *label, int fd, uint64_t v)
{
    show(label, write(fd, &v, sizeof v));
}

static short revents(int fd, short events)
{
    struct pollfd pfd = { fd, events, 0 };
    poll(&pfd, 1, 0);
    return pfd.revents;
}

static void eventfd_tests(void)
{
    int e = eventfd(0, EFD_NONBLOCK);
    show("eventfd(0, EFD_NONBLOCK) >= 0", e < 0 ? e : 0);
    read_u64("read empty nonblocking eventfd", e);
    printf("poll empty eventfd: %#x\n", (unsigned)revents(e, POLLIN | POLLOUT));
    write_u64("write 3", e, 3);
    write_u64("write 4", e, 4);
    printf("poll eventfd with count: %#x\n", (unsigned)revents(e, POLLIN | POLLOUT));
    read_u64("read", e);
    read_u64("read again", e);
    uint32_t small = 1;
    show("write 4 bytes", write(e, &small, sizeof small));
    show("read into 4 bytes", read(e, &small, sizeof small));
    write_u64("write 2^64-1", e, UINT64_MAX);
    write_u64("write 2^64-2", e, UINT64_MAX - 1);
    printf("poll full eventfd: %#x\n", (unsigned)revents(e, POLLIN | POLLOUT));
    write_u64("write 1 to full nonblocking eventfd", e, 1);
    write_u64("write 0 to full eventfd", e, 0);
    read_u64("read full", e);
    close(e);

    e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    read_u64("semaphore read", e);
    read_u64("semaphore read", e);
    read_u64("semaphore read at 0", e);
    close(e);

    show("eventfd bad flags", eventfd(0, 0x1234));
    e = eventfd(0, EFD_CLOEXEC);
    printf("EFD_CLOEXEC sets FD_CLOEXEC: %s\n", fcntl(e, F_GETFD) & FD_CLOEXEC ? "yes" : "no");

    /* A blocking read woken by a child's write. */
    int64_t t0 = now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        uint64_t v = 5;
        write(e, &v, sizeof v);
        _exit(0);
    }
    read_u64("blocking read woken by child", e);
    printf("waited at least 20 ms: %s\n", now_ns() - t0 >= 20000000 ? "yes" : "no");
    reap(pid);

    /* A blocking write on overflow, woken by a child's read. */
    write_u64("write 2^64-2", e, UINT64_MAX - 1);
    pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        uint64_t v;
        read(e, &v, sizeof v);
        _exit(0);
    }
    write_u64("blocking write woken by child's read", e, 7);
    reap(pid);
    read_u64("read", e);

    /* A signal interrupts a blocking read. */
    usr1s = 0;
    pid = delayed_kill(SIGUSR1, 20);
    read_u64("blocking read interrupted by SIGUSR1", e);
    printf("handler ran: %d\n", (int)usr1s);
    reap(pid);
    close(e);
}

static int ep_wait(const char *label, int ep, int max, int timeout)
{
    struct epoll_event evs[8];
    memset(evs, 0, sizeof evs);
    int n = epoll_wait(ep, evs, max, timeout);
    if (n < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return n;
    }
    /* Report the events sorted by data, so the order Linux keeps does not matter. */
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (evs[j].data.u64 < evs[i].data.u64) {
                struct epoll_event tmp = evs[i];
                evs[i] = evs[j];
                evs[j] = tmp;
            }
    printf("%s: %d", label, n);
    for (int i = 0; i < n; i++)
        printf(" [%llu %#x]", (unsigned long long)evs[i].data.u64, evs[i].events);
    printf("\n");
    return n;
}

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t data)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(ep, op, fd, &ev);
}

static void epoll_tests(void)
{
    show("epoll_create(0)", epoll_create(0));
    show("epoll_create1(bad flags)", epoll_create1(0x1234));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    printf("epoll_create1(EPOLL_CLOEXEC) sets FD_CLOEXEC: %s\n", fcntl(ep, F_GETFD) & FD_CLOEXEC ? "yes" : "no");
    int p[2];
    if (pipe(p) < 0)
        fatal("pipe");

    show("ADD pipe read end", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 10));
    show("ADD it again", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 10));
    show("MOD an fd not added", ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 11));
    show("DEL an fd not added", ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0));
    show("ADD a closed fd", ctl(ep, EPOLL_CTL_ADD, 99, EPOLLIN, 0));
    show("ADD the epoll fd itself", ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0));
    show("ctl on a non-epoll fd", ctl(p[1], EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
    show("ctl bad op", ctl(ep, 77, p[1], EPOLLIN, 0));
    int f = open("/tmp/epoll_regular", O_RDWR | O_CREAT | O_TRUNC, 0600);
    show("ADD a regular file", ctl(ep, EPOLL_CTL_ADD, f, EPOLLIN, 0));
    close(f);
    unlink("/tmp/epoll_regular");

    ep_wait("wait on empty pipe, timeout 0", ep, 8, 0);
    write(p[1], "ab", 2);
    ep_wait("wait after write", ep, 8, 0);
    ep_wait("level-triggered: again", ep, 8, 0);
    show("ADD write end", ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 20));
    ep_wait("both ends", ep, 8, 0);
    struct epoll_event one[2];
    show("both ends, maxevents 1", epoll_wait(ep, one, 1, 0));
    show("MOD write end to EPOLLIN", ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLIN, 21));
    ep_wait("write end not readable", ep, 8, 0);
    show("DEL write end", ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0));
    show("DEL write end, NULL event", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL));
    ep_wait("maxevents 0", ep, 0, 0);
    ep_wait("epoll_wait on a pipe", p[0], 8, 0);
    ep_wait("epoll_wait on a closed fd", 99, 8, 0);
    printf("poll the epoll fd: %#x\n", (unsigned)revents(ep, POLLIN));

    char buf[8];
    read(p[0], buf, 2);
    ep_wait("drained", ep, 8, 0);
    printf("poll the epoll fd: %#x\n", (unsigned)revents(ep, POLLIN));
    int64_t t0 = now_ns();
    ep_wait("30 ms timeout", ep, 8, 30);
    printf("took at least 30 ms: %s\n", now_ns() - t0 >= 30000000 ? "yes" : "no");

    /* A blocking wait woken by a child's write. */
    t0 = now_ns();
    pid_t pid = delayed_write(p[1], 20);
    ep_wait("infinite wait woken by child", ep, 8, -1);
    printf("waited at least 20 ms: %s\n", now_ns() - t0 >= 20000000 ? "yes" : "no");
    reap(pid);
    read(p[0], buf, 1);

    /* Hang-up is reported though only EPOLLIN was asked for. */
    close(p[1]);
    ep_wait("no writer left", ep, 8, 0);
    close(p[0]);
    ep_wait("after closing the watched fd", ep, 8, 0);

    /* Error on a write end whose reader is gone. */
    if (pipe(p) < 0)
        fatal("pipe");
    ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 30);
    close(p[0]);
    ep_wait("no reader left", ep, 8, 0);
    ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0);
    close(p[1]);

    /* Edge-triggered eventfd. */
    int e = eventfd(0, EFD_NONBLOCK);
    ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLET, 40);
    ep_wait("ET: nothing yet", ep, 8, 0);
    write_u64("write 1", e, 1);
    ep_wait("ET: after a write", ep, 8, 0);
    ep_wait("ET: no new edge", ep, 8, 0);
    write_u64("write 1", e, 1);
    ep_wait("ET: a new write is a new edge", ep, 8, 0);
    ctl(ep, EPOLL_CTL_DEL, e, 0, 0);

    /* One-shot. */
    ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLONESHOT, 50);
    ep_wait("ONESHOT: first", ep, 8, 0);
    ep_wait("ONESHOT: disabled", ep, 8, 0);
    write_u64("write 1", e, 1);
    ep_wait("ONESHOT: still disabled after a write", ep, 8, 0);
    show("MOD re-arms", ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN | EPOLLONESHOT, 51));
    ep_wait("ONESHOT: re-armed", ep, 8, 0);
    show("ADD after ONESHOT fired: EEXIST", ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN, 52));

    /* Signals. */
    uint64_t v;
    read(e, &v, sizeof v);
    usr1s = 0;
    pid = delayed_kill(SIGUSR1, 20);
    ctl(ep, EPOLL_CTL_MOD, e, EPOLLIN, 53);
    ep_wait("infinite wait interrupted by SIGUSR1", ep, 8, -1);
    printf("handler ran: %d\n", (int)usr1s);
    reap(pid);

    sigset_t block, old, empty, cur;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, &old);
    usr1s = 0;
    raise(SIGUSR1);
    struct epoll_event evs[4];
    show("epoll_pwait, empty mask, pending SIGUSR1", epoll_pwait(ep, evs, 4, -1, &empty));
    printf("handler ran: %d\n", (int)usr1s);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("SIGUSR1 blocked again: %s\n", sigismember(&cur, SIGUSR1) ? "yes" : "no");
    raise(SIGUSR1);
    show("epoll_pwait, mask blocks SIGUSR1, timeout 0", epoll_pwait(ep, evs, 4, 0, &block));
    printf("handler ran: %d\n", (int)usr1s);
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("handler ran after unblocking: %d\n", (int)usr1s);

    /* Fork: the child's wait sees the same interest list. */
    pid = fork();
    if (pid == 0) {
        ep_wait("child waits on the inherited epoll fd", ep, 8, -1);
        _exit(0);
    }
    sleep_ms(20);
    /* Print only after the child has: which process the CPU runs first after the
     * write is the scheduler's business, and the output must not depend on it. */
    uint64_t add = 1;
    ssize_t wrote = write(e, &add, sizeof add);
    reap(pid);
    printf("parent writes 1: %zd\n", wrote);
    close(e);
    close(ep);
}

int main(void)
{
    unbuffered_stdout();
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    eventfd_tests();
    epoll_tests();
    printf("done\n");
    return 0;
}
