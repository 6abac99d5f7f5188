/*
 * signal_handlers.c - POSIX signal semantics, one line per check.
 *
 * sigaction with and without SA_SIGINFO (si_signo, si_code SI_USER / SI_TKILL /
 * SI_QUEUE, si_pid, si_value), synchronous delivery of raise() and of kill()
 * to ourselves, blocking with sigprocmask + sigpending, standard signals
 * coalescing while real-time ones queue, SIG_IGN (also discarding a pending
 * signal), SA_RESETHAND, the signal blocked inside its own handler unless
 * SA_NODEFER, sa_mask, sigsuspend, sigtimedwait (pending, and timing out with
 * EAGAIN), sigaltstack + SA_ONSTACK, SIGCHLD on child exit, fork's handling
 * of masks and pending signals, kill(pid, 0), invalid signals (EINVAL),
 * EINTR versus SA_RESTART on a blocking pipe read, SIGPIPE / EPIPE.
 * Handlers only record into globals; everything is printed afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"

static volatile sig_atomic_t count, last_sig, last_code, last_pid_is_self, last_value;
static volatile sig_atomic_t depth, max_depth, self_blocked, usr2_blocked;

static const char *code_name(int code)
{
    switch (code) {
    case SI_USER: return "SI_USER";
    case SI_QUEUE: return "SI_QUEUE";
    case SI_TKILL: return "SI_TKILL";
    case SI_KERNEL: return "SI_KERNEL";
    case SI_TIMER: return "SI_TIMER";
    default: return "SI_?";
    }
}

static void reset(void)
{
    count = last_sig = last_code = last_pid_is_self = last_value = 0;
    depth = max_depth = self_blocked = usr2_blocked = 0;
}

static void on_plain(int sig)
{
    count++;
    last_sig = sig;
}

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    count++;
    last_sig = si->si_signo == sig ? sig : -1;
    last_code = si->si_code;
    last_pid_is_self = si->si_pid == getpid();
    if (si->si_code == SI_QUEUE)
        last_value = si->si_value.sival_int;
}

static void set_handler(int sig, void (*plain)(int), void (*info)(int, siginfo_t *, void *), int flags,
                        const sigset_t *mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (info) {
        sa.sa_sigaction = info;
        flags |= SA_SIGINFO;
    } else {
        sa.sa_handler = plain;
    }
    sa.sa_flags = flags;
    if (mask)
        sa.sa_mask = *mask;
    else
        sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) < 0)
        fatal("sigaction");
}

static int blocked(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig) == 1;
}

static int pending(int sig)
{
    sigset_t set;
    sigpending(&set);
    return sigismember(&set, sig) == 1;
}

static void block(int sig, int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    if (sigprocmask(how, &set, NULL) < 0)
        fatal("sigprocmask");
}

static void info_line(const char *what)
{
    printf("%s: count %d si_signo %d si_code %s si_pid is self %s\n", what, (int)count, (int)last_sig,
           code_name(last_code), last_pid_is_self ? "yes" : "no");
}

static void basic_delivery(void)
{
    reset();
    set_handler(SIGUSR1, on_plain, NULL, 0, NULL);
    show("kill(self, SIGUSR1) with a plain handler", kill(getpid(), SIGUSR1));
    printf("plain handler: count %d signo %d\n", (int)count, (int)last_sig);

    reset();
    show("raise(SIGUSR1)", raise(SIGUSR1));
    yesno("raise: handler ran before raise returned", count == 1);

    set_handler(SIGUSR1, NULL, on_info, 0, NULL);
    reset();
    kill(getpid(), SIGUSR1);
    info_line("SA_SIGINFO kill");
    reset();
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
    info_line("SA_SIGINFO tgkill");
    reset();
    union sigval v;
    v.sival_int = 1234;
    show("sigqueue(self, SIGUSR1, 1234)", sigqueue(getpid(), SIGUSR1, v));
    info_line("SA_SIGINFO sigqueue");
    printf("sigqueue: si_value %d\n", (int)last_value);
}

static void masking(void)
{
    set_handler(SIGUSR1, NULL, on_info, 0, NULL);
    reset();
    block(SIGUSR1, SIG_BLOCK);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    printf("blocked SIGUSR1 sent twice: handler count %d, pending %s\n", (int)count,
           pending(SIGUSR1) ? "yes" : "no");
    block(SIGUSR1, SIG_UNBLOCK);
    printf("after unblocking: count %d (standard signals do not queue), pending %s\n", (int)count,
           pending(SIGUSR1) ? "yes" : "no");

    int rt = SIGRTMIN + 1;
    set_handler(rt, NULL, on_info, 0, NULL);
    reset();
    block(rt, SIG_BLOCK);
    union sigval v;
    for (int i = 1; i <= 3; i++) {
        v.sival_int = i;
        sigqueue(getpid(), rt, v);
    }
    printf("blocked real-time signal queued 3 times: count %d\n", (int)count);
    block(rt, SIG_UNBLOCK);
    printf("after unblocking: count %d, last si_value %d\n", (int)count, (int)last_value);

    /* Blocking SIGKILL / SIGSTOP is silently ignored. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGKILL);
    sigaddset(&set, SIGSTOP);
    sigprocmask(SIG_BLOCK, &set, &old);
    printf("SIGKILL blockable: %s, SIGSTOP blockable: %s\n", blocked(SIGKILL) ? "yes" : "no",
           blocked(SIGSTOP) ? "yes" : "no");
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = 0;
    show("sigprocmask with a bad how", sigprocmask(12345, &set, NULL));
}

static void ignoring(void)
{
    set_handler(SIGUSR1, SIG_IGN, NULL, 0, NULL);
    show("kill(self, SIGUSR1) while SIG_IGN", kill(getpid(), SIGUSR1));
    printf("still alive after an ignored SIGUSR1: yes\n");

    /* A pending signal is discarded when its action becomes SIG_IGN. */
    set_handler(SIGUSR1, NULL, on_info, 0, NULL);
    reset();
    block(SIGUSR1, SIG_BLOCK);
    kill(getpid(), SIGUSR1);
    printf("pending before SIG_IGN: %s\n", pending(SIGUSR1) ? "yes" : "no");
    set_handler(SIGUSR1, SIG_IGN, NULL, 0, NULL);
    printf("pending after SIG_IGN: %s\n", pending(SIGUSR1) ? "yes" : "no");
    set_handler(SIGUSR1, NULL, on_info, 0, NULL);
    block(SIGUSR1, SIG_UNBLOCK);
    printf("handler count after unblocking: %d\n", (int)count);

    /* Default action "ignore": SIGCHLD, SIGURG, SIGWINCH. */
    set_handler(SIGURG, SIG_DFL, NULL, 0, NULL);
    show("kill(self, SIGURG) with SIG_DFL (ignored by default)", kill(getpid(), SIGURG));
}

static void on_resethand(int sig)
{
    count++;
    last_sig = sig;
}

static void on_nested(int sig)
{
    count++;
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    self_blocked = blocked(sig);
    usr2_blocked = blocked(SIGUSR2);
    if (count == 1)
        raise(sig);     /* nested now with SA_NODEFER, after we return without */
    depth--;
}

static void handler_flags(void)
{
    reset();
    set_handler(SIGUSR1, on_resethand, NULL, SA_RESETHAND, NULL);
    kill(getpid(), SIGUSR1);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("SA_RESETHAND: count %d, handler now SIG_DFL: %s\n", (int)count, sa.sa_handler == SIG_DFL ? "yes" : "no");

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    reset();
    set_handler(SIGUSR1, on_nested, NULL, 0, &mask);
    raise(SIGUSR1);
    printf("default: handler runs %d, max nesting %d, signal blocked in its handler %s, sa_mask (SIGUSR2) "
           "blocked %s\n", (int)count, (int)max_depth, self_blocked ? "yes" : "no", usr2_blocked ? "yes" : "no");
    printf("mask restored after the handler: SIGUSR1 blocked %s, SIGUSR2 blocked %s\n",
           blocked(SIGUSR1) ? "yes" : "no", blocked(SIGUSR2) ? "yes" : "no");

    reset();
    set_handler(SIGUSR1, on_nested, NULL, SA_NODEFER, NULL);
    raise(SIGUSR1);
    printf("SA_NODEFER: handler runs %d, max nesting %d, signal blocked in its handler %s\n", (int)count,
           (int)max_depth, self_blocked ? "yes" : "no");
}

static void sigsuspend_test(void)
{
    set_handler(SIGUSR1, NULL, on_info, 0, NULL);
    reset();
    block(SIGUSR1, SIG_BLOCK);
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sigset_t empty;
    sigemptyset(&empty);
    errno = 0;
    int r = sigsuspend(&empty);
    printf("sigsuspend: %d %s, handler ran %d, si_code %s, mask restored (SIGUSR1 blocked) %s\n", r,
           errname(errno), (int)count, code_name(last_code), blocked(SIGUSR1) ? "yes" : "no");
    waitpid(kid, NULL, 0);
    block(SIGUSR1, SIG_UNBLOCK);
}

static void sigtimedwait_test(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR2);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    struct timespec zero = { 0, 0 };
    int r = sigtimedwait(&set, &si, &zero);
    printf("sigtimedwait with SIGUSR2 pending: %d, si_signo %d, si_code %s, still pending %s\n", r, si.si_signo,
           code_name(si.si_code), pending(SIGUSR2) ? "yes" : "no");
    struct timespec ten_ms = { 0, 10 * 1000 * 1000 };
    errno = 0;
    r = sigtimedwait(&set, &si, &ten_ms);
    printf("sigtimedwait with nothing pending (10 ms): %d %s\n", r, errname(errno));
    raise(SIGUSR2);
    int sig = 0;
    r = sigwait(&set, &sig);
    printf("sigwait: %d, sig %d\n", r, sig);
    kill(getpid(), SIGUSR2);
    memset(&si, 0, sizeof si);
    r = sigwaitinfo(&set, &si);
    printf("sigwaitinfo: %d, si_code %s\n", r, code_name(si.si_code));
    struct timespec bad = { 0, 2000000000 };
    errno = 0;
    r = sigtimedwait(&set, &si, &bad);
    printf("sigtimedwait with tv_nsec 2e9: %d %s\n", r, errname(errno));
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static char *alt_base;
static size_t alt_size = 64 * 1024;
static volatile sig_atomic_t on_alt, alt_flag_onstack;

static void on_altstack(int sig)
{
    char local;
    uintptr_t here = (uintptr_t)&local;
    (void)sig;
    on_alt = here >= (uintptr_t)alt_base && here < (uintptr_t)alt_base + alt_size;
    stack_t cur;
    sigaltstack(NULL, &cur);
    alt_flag_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
    count++;
}

static void altstack_test(void)
{
    alt_base = malloc(alt_size);
    if (!alt_base)
        fatal("malloc");
    stack_t ss = { .ss_sp = alt_base, .ss_size = alt_size, .ss_flags = 0 };
    show("sigaltstack(64 KiB)", sigaltstack(&ss, NULL));
    reset();
    set_handler(SIGUSR1, on_altstack, NULL, SA_ONSTACK, NULL);
    raise(SIGUSR1);
    printf("SA_ONSTACK: handler ran %d, on the alternate stack %s, SS_ONSTACK inside %s\n", (int)count,
           on_alt ? "yes" : "no", alt_flag_onstack ? "yes" : "no");
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("after the handler: SS_ONSTACK %s, SS_DISABLE %s, size is 64 KiB %s\n",
           (cur.ss_flags & SS_ONSTACK) ? "yes" : "no", (cur.ss_flags & SS_DISABLE) ? "yes" : "no",
           cur.ss_size == alt_size ? "yes" : "no");
    reset();
    set_handler(SIGUSR1, on_altstack, NULL, 0, NULL);
    raise(SIGUSR1);
    printf("without SA_ONSTACK: on the alternate stack %s\n", on_alt ? "yes" : "no");

    stack_t tiny = { .ss_sp = alt_base, .ss_size = 256, .ss_flags = 0 };
    errno = 0;
    show("sigaltstack(256 bytes)", sigaltstack(&tiny, NULL));
    stack_t off = { .ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE };
    show("sigaltstack(SS_DISABLE)", sigaltstack(&off, NULL));
    sigaltstack(NULL, &cur);
    printf("now SS_DISABLE: %s\n", (cur.ss_flags & SS_DISABLE) ? "yes" : "no");
    free(alt_base);
}

static volatile sig_atomic_t chld_code, chld_status, chld_pid_ok;
static volatile pid_t chld_expected;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    count++;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid_ok = si->si_pid == chld_expected;
}

static void sigchld_test(void)
{
    reset();
    set_handler(SIGCHLD, NULL, on_chld, 0, NULL);
    block(SIGCHLD, SIG_BLOCK);
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0)
        _exit(5);
    chld_expected = kid;
    sigset_t empty;
    sigemptyset(&empty);
    while (count == 0)
        sigsuspend(&empty);
    printf("SIGCHLD: count %d, si_code %s, si_status %d, si_pid is the child %s\n", (int)count,
           chld_code == CLD_EXITED ? "CLD_EXITED" : "other", (int)chld_status, chld_pid_ok ? "yes" : "no");
    int st = 0;
    waitpid(kid, &st, 0);
    printf("SIGCHLD: the child is still there to be reaped: exit %d\n", WEXITSTATUS(st));
    block(SIGCHLD, SIG_UNBLOCK);
    set_handler(SIGCHLD, SIG_DFL, NULL, 0, NULL);
}

static void fork_inheritance(void)
{
    set_handler(SIGUSR1, NULL, on_info, 0, NULL);
    reset();
    block(SIGUSR1, SIG_BLOCK);
    raise(SIGUSR1);
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        struct sigaction sa;
        sigaction(SIGUSR1, NULL, &sa);
        printf("fork: child inherits the mask %s, the handler %s, not the pending signal %s\n",
               blocked(SIGUSR1) ? "yes" : "no", sa.sa_sigaction == on_info ? "yes" : "no",
               pending(SIGUSR1) ? "no" : "yes");
        _exit(0);
    }
    waitpid(kid, NULL, 0);
    printf("fork: parent still has it pending %s\n", pending(SIGUSR1) ? "yes" : "no");
    block(SIGUSR1, SIG_UNBLOCK);
    printf("fork: parent's handler ran after unblocking: %d\n", (int)count);
}

static void errors(void)
{
    errno = 0;
    show("kill(self, 0)", kill(getpid(), 0));
    errno = 0;
    show("kill(no such pid, 0)", kill(0x3ffffff0, 0));
    errno = 0;
    show("kill(self, 12345)", kill(getpid(), 12345));
    errno = 0;
    show("kill(self, -1)", kill(getpid(), -1));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_plain;
    errno = 0;
    show("sigaction(SIGKILL, handler)", sigaction(SIGKILL, &sa, NULL));
    errno = 0;
    show("sigaction(SIGSTOP, handler)", sigaction(SIGSTOP, &sa, NULL));
    errno = 0;
    show("sigaction(SIGKILL, SIG_IGN)", (sa.sa_handler = SIG_IGN, sigaction(SIGKILL, &sa, NULL)));
    errno = 0;
    show("sigaction(SIGKILL, query only)", sigaction(SIGKILL, NULL, &sa));
    errno = 0;
    show("sigaction(0)", sigaction(0, NULL, &sa));
    errno = 0;
    show("sigaction(65)", sigaction(65, NULL, &sa));
}

static int restart_pipe[2];

static void on_alarm(int sig)
{
    (void)sig;
    count++;
}

static void on_alarm_write(int sig)
{
    (void)sig;
    count++;
    if (write(restart_pipe[1], "r", 1) != 1)
        count += 100;
}

/* A repeating 50 ms timer: if a tick came before read() blocked, the next
 * one still interrupts it, so the test cannot hang. */
static void arm(long ms)
{
    struct itimerval it = { { 0, ms * 1000 }, { 0, ms * 1000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm(void)
{
    struct itimerval it = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

static void eintr_restart(void)
{
    if (pipe(restart_pipe) < 0)
        fatal("pipe");
    char c = 0;

    reset();
    set_handler(SIGALRM, on_alarm, NULL, 0, NULL);
    arm(50);
    errno = 0;
    ssize_t n = read(restart_pipe[0], &c, 1);
    int e = errno;
    disarm();
    printf("blocking read, SIGALRM without SA_RESTART: %ld %s, handler ran %s\n", (long)n,
           n < 0 ? errname(e) : "", count >= 1 ? "yes" : "no");

    reset();
    set_handler(SIGALRM, on_alarm_write, NULL, SA_RESTART, NULL);
    arm(50);
    errno = 0;
    n = read(restart_pipe[0], &c, 1);
    disarm();
    printf("blocking read, SIGALRM with SA_RESTART: %ld '%c', handler ran %s\n", (long)n, n == 1 ? c : '?',
           count >= 1 ? "yes" : "no");
    set_handler(SIGALRM, SIG_DFL, NULL, 0, NULL);
    close(restart_pipe[0]);
    close(restart_pipe[1]);
}

static void sigpipe_tests(void)
{
    int p[2];
    if (pipe(p) < 0)
        fatal("pipe");
    close(p[0]);
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        signal(SIGPIPE, SIG_DFL);
        ssize_t n = write(p[1], "x", 1);
        _exit(n < 0 ? 50 : 51);             /* not reached: SIGPIPE kills us */
    }
    int st = 0;
    waitpid(kid, &st, 0);
    printf("write to a pipe without readers, SIGPIPE default: killed %s by signal %d\n",
           WIFSIGNALED(st) ? "yes" : "no", WIFSIGNALED(st) ? WTERMSIG(st) : 0);

    set_handler(SIGPIPE, SIG_IGN, NULL, 0, NULL);
    errno = 0;
    show("write to a pipe without readers, SIGPIPE ignored", write(p[1], "x", 1));

    reset();
    set_handler(SIGPIPE, NULL, on_info, 0, NULL);
    errno = 0;
    show("write to a pipe without readers, SIGPIPE caught", write(p[1], "x", 1));
    printf("SIGPIPE handler: count %d signo %d si_code %s\n", (int)count, (int)last_sig, code_name(last_code));
    set_handler(SIGPIPE, SIG_DFL, NULL, 0, NULL);
    close(p[1]);
}

int main(void)
{
    unbuffered_stdout();
    basic_delivery();
    masking();
    ignoring();
    handler_flags();
    sigsuspend_test();
    sigtimedwait_test();
    altstack_test();
    sigchld_test();
    fork_inheritance();
    errors();
    eintr_restart();
    sigpipe_tests();
    printf("done\n");
    return 0;
}
