/*
 * poll_select.c - poll, ppoll, select and pselect over pipes.
 *
 * Readiness of pipe ends (POLLIN, POLLOUT, POLLHUP when no writer is left,
 * POLLERR when no reader is left), POLLNVAL for a closed descriptor, negative
 * fds ignored, zero timeouts returning at once, finite timeouts lasting at
 * least their length, infinite waits woken by a forked child's write, signals
 * interrupting waits (EINTR), the sigmask argument of ppoll/pselect swapped
 * in for the wait only, fd_set results, EBADF/EINVAL.  Times are compared,
 * never printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
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

static void mkpipe(int p[2])
{
    if (pipe(p) < 0)
        fatal("pipe");
}

static void poll1(const char *label, int fd, short events, int timeout)
{
    struct pollfd pfd = { fd, events, 0x7777 };
    int r = poll(&pfd, 1, timeout);
    if (r < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: %d revents %#x\n", label, r, (unsigned)pfd.revents);
}

static void poll_tests(void)
{
    int p[2];
    char c;
    mkpipe(p);
    poll1("poll empty read end, timeout 0", p[0], POLLIN, 0);
    poll1("poll write end", p[1], POLLOUT, 0);
    poll1("poll write end for POLLIN only", p[1], POLLIN, 0);
    write(p[1], "ab", 2);
    poll1("poll read end with data", p[0], POLLIN | POLLOUT, 0);
    poll1("poll read end with data, events 0", p[0], 0, 0);
    close(p[1]);
    poll1("poll read end, data and no writer", p[0], POLLIN, 0);
    read(p[0], &c, 1);
    read(p[0], &c, 1);
    poll1("poll read end, drained, no writer", p[0], POLLIN, 0);
    poll1("poll read end, no writer, events 0", p[0], 0, 0);
    close(p[0]);
    poll1("poll closed fd", p[0], POLLIN, 0);

    mkpipe(p);
    close(p[0]);
    poll1("poll write end, no reader", p[1], POLLOUT, 0);
    close(p[1]);

    /* A full pipe is not writable. */
    mkpipe(p);
    static char buf[4096];
    memset(buf, 'z', sizeof buf);
    struct pollfd w = { p[1], POLLOUT, 0 };
    int writes = 0;
    while (poll(&w, 1, 0) == 1 && writes < 1000) {
        write(p[1], buf, sizeof buf);
        writes++;
    }
    printf("pipe stopped being writable after 16 pages: %s\n", writes == 16 ? "yes" : "no");
    for (int i = 0; i < 16; i++)
        read(p[0], buf, sizeof buf);
    poll1("poll drained write end", p[1], POLLOUT, 0);
    close(p[0]);
    close(p[1]);

    /* Several descriptors, a negative one ignored, a closed one POLLNVAL. */
    int a[2], b[2];
    mkpipe(a);
    mkpipe(b);
    write(b[1], "y", 1);
    int bad = b[1] + 10;
    struct pollfd fds[5] = {
        { a[0], POLLIN, 0 }, { b[0], POLLIN, 0 }, { -1, POLLIN, 0x55 }, { bad, POLLIN, 0 }, { a[1], POLLOUT, 0 },
    };
    int r = poll(fds, 5, 1000);
    printf("poll five fds: %d revents %#x %#x %#x %#x %#x\n", r, (unsigned)fds[0].revents,
           (unsigned)fds[1].revents, (unsigned)fds[2].revents, (unsigned)fds[3].revents, (unsigned)fds[4].revents);
    show("poll(NULL, 0, 0)", poll(NULL, 0, 0));

    /* Timeouts. */
    int64_t t0 = now_ns();
    poll1("poll empty pipe, 50 ms", a[0], POLLIN, 50);
    yesno("poll took at least 50 ms", now_ns() - t0 >= 50000000);
    t0 = now_ns();
    show("poll no fds, 30 ms", poll(NULL, 0, 30));
    yesno("poll with no fds took at least 30 ms", now_ns() - t0 >= 30000000);

    /* An infinite wait woken by a child's write. */
    t0 = now_ns();
    pid_t pid = delayed_write(a[1], 30);
    poll1("poll -1 woken by child's write", a[0], POLLIN, -1);
    yesno("waited at least 30 ms", now_ns() - t0 >= 30000000);
    reap(pid);
    read(a[0], buf, 1);
    /* ... and by the last writer closing. */
    pid = fork();
    if (pid == 0) {
        close(a[0]);
        sleep_ms(20);
        _exit(0);
    }
    close(a[1]);
    poll1("poll -1 woken by the last writer exiting", a[0], POLLIN, -1);
    reap(pid);
    close(a[0]);
    close(b[0]);
    close(b[1]);

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    errno = 0;
    show("poll nfds > RLIMIT_NOFILE", poll(fds, rl.rlim_cur + 1, 0));
    struct pollfd *volatile wild = (struct pollfd *)8;
    show("poll bad pointer", poll(wild, 1, 0));

    /* A signal interrupts poll. */
    mkpipe(p);
    usr1s = 0;
    pid = delayed_kill(SIGUSR1, 20);
    poll1("poll -1 interrupted by SIGUSR1", p[0], POLLIN, -1);
    printf("handler ran: %d\n", (int)usr1s);
    reap(pid);
    close(p[0]);
    close(p[1]);
}

static void ppoll_tests(void)
{
    int p[2];
    mkpipe(p);
    struct pollfd pfd = { p[0], POLLIN, 0 };
    struct timespec zero = { 0, 0 };
    show("ppoll timeout 0", ppoll(&pfd, 1, &zero, NULL));
    struct timespec ts = { 0, 30000000 };
    int64_t t0 = now_ns();
    show("ppoll 30 ms", ppoll(&pfd, 1, &ts, NULL));
    yesno("ppoll took at least 30 ms", now_ns() - t0 >= 30000000);
    struct timespec inval = { 0, 1000000000 };
    show("ppoll tv_nsec = 1e9", ppoll(&pfd, 1, &inval, NULL));
    write(p[1], "q", 1);
    struct timespec big = { 5, 0 };
    show("ppoll with data", ppoll(&pfd, 1, &big, NULL));
    printf("revents %#x\n", (unsigned)pfd.revents);
    char c;
    read(p[0], &c, 1);

    /* The sigmask argument: SIGUSR1 blocked and pending, unblocked during ppoll only. */
    sigset_t block, old, empty, cur;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, &old);
    usr1s = 0;
    raise(SIGUSR1);
    printf("pending SIGUSR1 while blocked, handler ran: %d\n", (int)usr1s);
    show("ppoll with empty mask, pending SIGUSR1", ppoll(&pfd, 1, NULL, &empty));
    printf("handler ran: %d\n", (int)usr1s);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    yesno("SIGUSR1 blocked again after ppoll", sigismember(&cur, SIGUSR1));
    raise(SIGUSR1);
    show("ppoll timeout 0, mask keeps SIGUSR1 blocked", ppoll(&pfd, 1, &zero, &block));
    printf("handler ran: %d\n", (int)usr1s);
    show("pselect with empty mask, pending SIGUSR1", pselect(0, NULL, NULL, NULL, NULL, &empty));
    printf("handler ran: %d\n", (int)usr1s);
    sigprocmask(SIG_BLOCK, NULL, &cur);
    yesno("SIGUSR1 blocked again after pselect", sigismember(&cur, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(p[0]);
    close(p[1]);
}

static void select_tests(void)
{
    int p[2], q[2];
    mkpipe(p);
    mkpipe(q);
    fd_set r, w;
    struct timeval tv = { 0, 0 };
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    show("select empty pipe, timeout 0", select(p[0] + 1, &r, NULL, NULL, &tv));
    yesno("read set cleared", !FD_ISSET(p[0], &r));
    write(p[1], "s", 1);
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(p[0], &r);
    FD_SET(q[0], &r);
    FD_SET(p[1], &w);
    FD_SET(q[1], &w);
    int nfds = (q[1] > p[1] ? q[1] : p[1]) + 1;
    tv.tv_sec = 1;
    tv.tv_usec = 0;
    int n = select(nfds, &r, &w, NULL, &tv);
    printf("select 2 read + 2 write: %d, p read %d q read %d p write %d q write %d\n", n, FD_ISSET(p[0], &r),
           FD_ISSET(q[0], &r), FD_ISSET(p[1], &w), FD_ISSET(q[1], &w));

    FD_ZERO(&r);
    FD_SET(q[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 30000;
    int64_t t0 = now_ns();
    show("select 30 ms on an empty pipe", select(q[0] + 1, &r, NULL, NULL, &tv));
    yesno("select took at least 30 ms", now_ns() - t0 >= 30000000);
    printf("timeout left: %ld.%06ld\n", (long)tv.tv_sec, (long)tv.tv_usec);

    /* Woken by a child's write; the timeout is updated with the time left. */
    FD_ZERO(&r);
    FD_SET(q[0], &r);
    tv.tv_sec = 10;
    tv.tv_usec = 0;
    pid_t pid = delayed_write(q[1], 20);
    n = select(q[0] + 1, &r, NULL, NULL, &tv);
    printf("select woken by child's write: %d, set %d\n", n, FD_ISSET(q[0], &r));
    yesno("timeout decreased", tv.tv_sec < 10 && (tv.tv_sec > 0 || tv.tv_usec > 0));
    reap(pid);

    /* NULL timeout: forever, ended by a signal. */
    char c;
    read(q[0], &c, 1);
    FD_ZERO(&r);
    FD_SET(q[0], &r);
    usr1s = 0;
    pid = delayed_kill(SIGUSR1, 20);
    show("select NULL timeout interrupted by SIGUSR1", select(q[0] + 1, &r, NULL, NULL, NULL));
    printf("handler ran: %d\n", (int)usr1s);
    reap(pid);

    /* Errors. */
    FD_ZERO(&r);
    FD_SET(q[1] + 5, &r);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    show("select on a closed fd", select(q[1] + 6, &r, NULL, NULL, &tv));
    show("select nfds -1", select(-1, NULL, NULL, NULL, &tv));
    tv.tv_usec = -1;
    show("select tv_usec = -1", select(0, NULL, NULL, NULL, &tv));
    tv.tv_sec = 0;
    tv.tv_usec = 20000;
    t0 = now_ns();
    show("select(0, NULL, NULL, NULL, 20 ms)", select(0, NULL, NULL, NULL, &tv));
    yesno("took at least 20 ms", now_ns() - t0 >= 20000000);

    /* Hang-up counts as readable, no reader as writable (the write then fails). */
    close(p[1]);
    read(p[0], &c, 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    tv.tv_sec = 0;
    tv.tv_usec = 0;
    show("select read end with no writer", select(p[0] + 1, &r, NULL, NULL, &tv));
    close(q[0]);
    FD_ZERO(&w);
    FD_SET(q[1], &w);
    show("select write end with no reader", select(q[1] + 1, NULL, &w, NULL, &tv));
    close(p[0]);
    close(q[1]);

    struct timespec ts = { 0, 20000000 };
    t0 = now_ns();
    show("pselect 20 ms, no fds", pselect(0, NULL, NULL, NULL, &ts, NULL));
    yesno("pselect took at least 20 ms", now_ns() - t0 >= 20000000);
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
    poll_tests();
    ppoll_tests();
    select_tests();
    printf("done\n");
    return 0;
}
