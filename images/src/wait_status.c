/*
 * wait_status.c - how a child's end (or stop) is reported by waitpid/waitid.
 *
 * Children that exit(0), exit(42), are killed by SIGKILL and SIGTERM, die of
 * SIGSEGV (NULL store) and of abort() (SIGABRT), and a child that is stopped
 * (SIGSTOP, WUNTRACED), continued (SIGCONT, WCONTINUED) and then killed.
 * Each status is decoded with the W* macros.  WCOREDUMP and the CLD_DUMPED /
 * CLD_KILLED si_code of SIGSEGV/SIGABRT depend on the host's core dump
 * settings, so they are never printed (the crashing children also turn core
 * dumps off).  waitid() with P_PID / P_ALL, WNOHANG, WNOWAIT; si_code is
 * printed for CLD_EXITED, CLD_KILLED (SIGKILL/SIGTERM), CLD_STOPPED and
 * CLD_CONTINUED.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

static int *volatile null_ptr;

static void no_core_dump(void)
{
    struct rlimit none = { 0, 0 };
    setrlimit(RLIMIT_CORE, &none);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static void decode(const char *what, int st)
{
    printf("%s: WIFEXITED %d", what, WIFEXITED(st) != 0);
    if (WIFEXITED(st))
        printf(" WEXITSTATUS %d", WEXITSTATUS(st));
    printf(" WIFSIGNALED %d", WIFSIGNALED(st) != 0);
    if (WIFSIGNALED(st))
        printf(" WTERMSIG %d", WTERMSIG(st));
    printf(" WIFSTOPPED %d", WIFSTOPPED(st) != 0);
    if (WIFSTOPPED(st))
        printf(" WSTOPSIG %d", WSTOPSIG(st));
    printf(" WIFCONTINUED %d\n", WIFCONTINUED(st) != 0);
}

static const char *cld_name(int code)
{
    switch (code) {
    case CLD_EXITED: return "CLD_EXITED";
    case CLD_KILLED: return "CLD_KILLED";
    case CLD_DUMPED: return "CLD_DUMPED";
    case CLD_TRAPPED: return "CLD_TRAPPED";
    case CLD_STOPPED: return "CLD_STOPPED";
    case CLD_CONTINUED: return "CLD_CONTINUED";
    case 0: return "0";
    default: return "CLD_?";
    }
}

/* A child that blocks until killed. */
static pid_t sleeper(void)
{
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        for (;;)
            pause();
    }
    return kid;
}

static pid_t exiter(int code)
{
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0)
        _exit(code);
    return kid;
}

static void reap(const char *what, pid_t kid, int options)
{
    int st = 0;
    pid_t r = waitpid(kid, &st, options);
    if (r != kid) {
        printf("%s: waitpid returned %s\n", what, r < 0 ? errname(errno) : "another pid");
        return;
    }
    decode(what, st);
}

static void waitpid_tests(void)
{
    reap("exit(0)", exiter(0), 0);
    reap("exit(42)", exiter(42), 0);

    pid_t kid = sleeper();
    kill(kid, SIGKILL);
    reap("SIGKILL", kid, 0);

    kid = sleeper();
    kill(kid, SIGTERM);
    reap("SIGTERM", kid, 0);

    kid = fork();
    if (kid == 0) {
        no_core_dump();
        *null_ptr = 1;
        _exit(99);
    }
    reap("NULL store (SIGSEGV)", kid, 0);

    kid = fork();
    if (kid == 0) {
        no_core_dump();
        abort();
    }
    reap("abort()", kid, 0);

    /* Stop, continue, kill. */
    kid = sleeper();
    kill(kid, SIGSTOP);
    reap("SIGSTOP (WUNTRACED)", kid, WUNTRACED);
    int st = 0;
    pid_t r = waitpid(kid, &st, WNOHANG | WUNTRACED);
    printf("stopped child, stop already reported: waitpid(WNOHANG|WUNTRACED) = %ld\n", (long)r);
    kill(kid, SIGCONT);
    reap("SIGCONT (WCONTINUED)", kid, WCONTINUED);
    kill(kid, SIGKILL);
    reap("then SIGKILL", kid, 0);

    /* A child that stops itself. */
    kid = fork();
    if (kid == 0) {
        raise(SIGSTOP);
        _exit(8);
    }
    reap("raise(SIGSTOP) in the child", kid, WUNTRACED);
    kill(kid, SIGCONT);
    reap("continued, then exit(8)", kid, 0);

    /* Without WUNTRACED a stop is not reported: SIGKILL it while stopped. */
    kid = sleeper();
    kill(kid, SIGSTOP);
    kill(kid, SIGKILL);
    reap("stopped then SIGKILL, waited without WUNTRACED", kid, 0);
}

static void show_info(const char *what, int r, const siginfo_t *si, pid_t kid, int print_code)
{
    if (r < 0) {
        printf("%s: waitid %d %s\n", what, r, errname(errno));
        return;
    }
    printf("%s: waitid %d si_signo %d si_pid is child %s", what, r, si->si_signo,
           si->si_pid == kid ? "yes" : "no");
    if (print_code)
        printf(" si_code %s", cld_name(si->si_code));
    printf(" si_status %d\n", si->si_status);
}

static void waitid_tests(void)
{
    siginfo_t si;
    pid_t kid = exiter(7);
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, kid, &si, WEXITED);
    show_info("waitid(P_PID) exit(7)", r, &si, kid, 1);

    kid = sleeper();
    kill(kid, SIGKILL);
    memset(&si, 0, sizeof si);
    r = waitid(P_ALL, 0, &si, WEXITED);
    show_info("waitid(P_ALL) SIGKILL", r, &si, kid, 1);

    kid = sleeper();
    kill(kid, SIGTERM);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, kid, &si, WEXITED);
    show_info("waitid(P_PID) SIGTERM", r, &si, kid, 1);

    kid = fork();
    if (kid == 0) {
        no_core_dump();
        *null_ptr = 1;
        _exit(99);
    }
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, kid, &si, WEXITED);
    show_info("waitid(P_PID) SIGSEGV", r, &si, kid, 0);
    printf("waitid(P_PID) SIGSEGV: si_code is CLD_KILLED or CLD_DUMPED: %s\n",
           si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED ? "yes" : "no");

    /* WNOHANG with a running child: 0 and si_pid 0. */
    kid = sleeper();
    memset(&si, 0xff, sizeof si);
    r = waitid(P_PID, kid, &si, WEXITED | WNOHANG);
    printf("waitid(WNOHANG) on a running child: %d, si_pid %d\n", r, (int)si.si_pid);

    /* Stopped / continued through waitid. */
    kill(kid, SIGSTOP);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, kid, &si, WSTOPPED);
    show_info("waitid(WSTOPPED)", r, &si, kid, 1);
    kill(kid, SIGCONT);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, kid, &si, WCONTINUED);
    show_info("waitid(WCONTINUED)", r, &si, kid, 1);

    /* WNOWAIT leaves the zombie for a later wait. */
    kill(kid, SIGKILL);
    memset(&si, 0, sizeof si);
    r = waitid(P_PID, kid, &si, WEXITED | WNOWAIT);
    show_info("waitid(WNOWAIT) SIGKILL", r, &si, kid, 1);
    int st = 0;
    pid_t p = waitpid(kid, &st, 0);
    printf("waitpid after WNOWAIT: got the child %s\n", p == kid ? "yes" : "no");
    decode("waitpid after WNOWAIT", st);

    errno = 0;
    r = waitid(P_ALL, 0, &si, WEXITED);
    printf("waitid with no children: %d %s\n", r, errname(errno));
    errno = 0;
    r = waitid(P_ALL, 0, &si, 0);
    printf("waitid with no WEXITED/WSTOPPED/WCONTINUED: %d %s\n", r, errname(errno));
    errno = 0;
    r = waitid(7, 0, &si, WEXITED);
    printf("waitid with a bad idtype: %d %s\n", r, errname(errno));
}

int main(void)
{
    unbuffered_stdout();
    waitpid_tests();
    waitid_tests();
    printf("done\n");
    return 0;
}
