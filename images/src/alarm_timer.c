/*
 * alarm_timer.c - alarm, interval timers, POSIX timers, sleeping and clocks.
 *
 * alarm(1) + pause() (-1 EINTR after the SIGALRM handler ran); alarm()
 * returning the seconds left on the previous alarm; setitimer(ITIMER_REAL)
 * every 10 ms firing at least 3 times (sigsuspend), getitimer while it runs
 * (only it_interval is printed) and after cancelling; ITIMER_VIRTUAL firing
 * during a busy loop; timer_create/timer_settime with SIGEV_SIGNAL;
 * nanosleep and clock_nanosleep (relative and TIMER_ABSTIME) sleeping at
 * least 20 ms by CLOCK_MONOTONIC; clock_getres, times(), gettimeofday/time
 * agreement, CPU-time clocks, invalid arguments.  Times are only compared,
 * never printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"

static volatile sig_atomic_t alarms, vtalrms, usr1s, usr1_code;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void on_vtalrm(int sig)
{
    (void)sig;
    vtalrms++;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    usr1s++;
    usr1_code = si->si_code;
}

static void catch(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) < 0)
        fatal("sigaction");
}

static int64_t ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void alarm_tests(void)
{
    catch(SIGALRM, on_alarm);
    printf("alarm(0) with no alarm set: %u\n", alarm(0));
    alarm(10);
    printf("alarm(5) after alarm(10): %u\n", alarm(5));
    printf("alarm(0) after alarm(5): %u\n", alarm(0));

    alarms = 0;
    int64_t t0 = ns(CLOCK_MONOTONIC);
    alarm(1);
    errno = 0;
    int r = pause();
    int e = errno;
    int64_t elapsed = ns(CLOCK_MONOTONIC) - t0;
    printf("alarm(1) + pause(): %d %s, handler ran %d, took at least 1 s: %s\n", r, errname(e), (int)alarms,
           elapsed >= 1000000000 - 10000000 ? "yes" : "no");
}

static void itimer_tests(void)
{
    catch(SIGALRM, on_alarm);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, &old);
    alarms = 0;
    struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
    show("setitimer(ITIMER_REAL, 10 ms interval)", setitimer(ITIMER_REAL, &it, NULL));
    struct itimerval cur;
    show("getitimer(ITIMER_REAL)", getitimer(ITIMER_REAL, &cur));
    printf("getitimer: it_interval %ld.%06ld, it_value running: %s\n", (long)cur.it_interval.tv_sec,
           (long)cur.it_interval.tv_usec, cur.it_value.tv_sec > 0 || cur.it_value.tv_usec > 0 ? "yes" : "no");
    sigset_t waitmask = old;
    sigdelset(&waitmask, SIGALRM);
    int64_t t0 = ns(CLOCK_MONOTONIC);
    while (alarms < 3)
        sigsuspend(&waitmask);
    int64_t elapsed = ns(CLOCK_MONOTONIC) - t0;
    printf("interval timer fired at least 3 times: %s, took at least 20 ms: %s\n", alarms >= 3 ? "yes" : "no",
           elapsed >= 20000000 ? "yes" : "no");
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    show("setitimer(ITIMER_REAL, 0) to cancel", setitimer(ITIMER_REAL, &off, &cur));
    printf("old value returned by the cancel: it_interval %ld.%06ld\n", (long)cur.it_interval.tv_sec,
           (long)cur.it_interval.tv_usec);
    getitimer(ITIMER_REAL, &cur);
    printf("getitimer after cancel: all zero %s\n",
           cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0 && cur.it_interval.tv_sec == 0 &&
                   cur.it_interval.tv_usec == 0 ? "yes" : "no");
    /* Drain a tick that may have arrived before the cancel, then unblock. */
    struct timespec zero = { 0, 0 };
    sigtimedwait(&block, NULL, &zero);
    sigprocmask(SIG_SETMASK, &old, NULL);

    struct itimerval bad = { { 0, 0 }, { 0, 1000000 } };
    errno = 0;
    show("setitimer with tv_usec 1000000", setitimer(ITIMER_REAL, &bad, NULL));
    errno = 0;
    show("setitimer(which=5)", setitimer(5, &it, NULL));

    catch(SIGVTALRM, on_vtalrm);
    vtalrms = 0;
    struct itimerval v = { { 0, 0 }, { 0, 10000 } };
    show("setitimer(ITIMER_VIRTUAL, 10 ms)", setitimer(ITIMER_VIRTUAL, &v, NULL));
    /* Bounded by work, not by time: a virtual clock may barely move here.
     * 2e9 additions are seconds of CPU time, against 10 ms needed. */
    volatile uint64_t spin = 0;
    for (int round = 0; !vtalrms && round < 20000; round++)
        for (int i = 0; i < 100000; i++)
            spin += (uint64_t)i;
    printf("ITIMER_VIRTUAL fired during a busy loop: %s\n", vtalrms ? "yes" : "no");
}

static void posix_timer_tests(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);

    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGUSR1;
    sev.sigev_value.sival_int = 99;
    timer_t timer;
    show("timer_create(CLOCK_MONOTONIC, SIGEV_SIGNAL)", timer_create(CLOCK_MONOTONIC, &sev, &timer));
    struct itimerspec its = { { 0, 0 }, { 0, 20 * 1000 * 1000 } };
    int64_t t0 = ns(CLOCK_MONOTONIC);
    show("timer_settime(20 ms one-shot)", timer_settime(timer, 0, &its, NULL));
    struct itimerspec cur;
    timer_gettime(timer, &cur);
    printf("timer_gettime: armed %s\n", cur.it_value.tv_sec > 0 || cur.it_value.tv_nsec > 0 ? "yes" : "no");
    sigset_t waitmask = old;
    sigdelset(&waitmask, SIGUSR1);
    usr1s = 0;
    while (!usr1s)
        sigsuspend(&waitmask);
    int64_t elapsed = ns(CLOCK_MONOTONIC) - t0;
    printf("POSIX timer fired: si_code SI_TIMER %s, after at least 20 ms %s\n", usr1_code == SI_TIMER ? "yes" : "no",
           elapsed >= 20000000 ? "yes" : "no");
    timer_gettime(timer, &cur);
    printf("timer_gettime after expiry: disarmed %s\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0 ? "yes" : "no");
    show("timer_delete", timer_delete(timer));
    sigprocmask(SIG_SETMASK, &old, NULL);
}

static void sleep_tests(void)
{
    struct timespec d = { 0, 20 * 1000 * 1000 };
    int64_t t0 = ns(CLOCK_MONOTONIC);
    show("nanosleep(20 ms)", nanosleep(&d, NULL));
    printf("nanosleep slept at least 20 ms: %s\n", ns(CLOCK_MONOTONIC) - t0 >= 20000000 ? "yes" : "no");

    t0 = ns(CLOCK_MONOTONIC);
    show_err("clock_nanosleep(CLOCK_MONOTONIC, 20 ms)", clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL));
    printf("clock_nanosleep slept at least 20 ms: %s\n", ns(CLOCK_MONOTONIC) - t0 >= 20000000 ? "yes" : "no");

    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    int64_t target = (int64_t)until.tv_sec * 1000000000 + until.tv_nsec + 20000000;
    until.tv_sec = (time_t)(target / 1000000000);
    until.tv_nsec = (long)(target % 1000000000);
    show_err("clock_nanosleep(TIMER_ABSTIME, now + 20 ms)",
             clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL));
    printf("woke up at or after the deadline: %s\n", ns(CLOCK_MONOTONIC) >= target ? "yes" : "no");

    struct timespec past = { 0, 0 };
    show_err("clock_nanosleep(TIMER_ABSTIME, in the past)", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL));
    t0 = ns(CLOCK_REALTIME);
    show_err("clock_nanosleep(CLOCK_REALTIME, 20 ms)", clock_nanosleep(CLOCK_REALTIME, 0, &d, NULL));
    printf("by CLOCK_REALTIME at least 20 ms: %s\n", ns(CLOCK_REALTIME) - t0 >= 20000000 ? "yes" : "no");

    struct timespec bad = { 0, 1000000000 };
    errno = 0;
    show("nanosleep with tv_nsec 1e9", nanosleep(&bad, NULL));
    struct timespec neg = { -1, 0 };
    errno = 0;
    show("nanosleep with tv_sec -1", nanosleep(&neg, NULL));
    show_err("clock_nanosleep(bad clock)", clock_nanosleep((clockid_t)1234, 0, &d, NULL));
}

static void clock_tests(void)
{
    struct timespec res;
    static const struct { clockid_t id; const char *name; } clocks[] = {
        { CLOCK_REALTIME, "CLOCK_REALTIME" },
        { CLOCK_MONOTONIC, "CLOCK_MONOTONIC" },
        { CLOCK_BOOTTIME, "CLOCK_BOOTTIME" },
        { CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID" },
        { CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID" },
    };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        memset(&res, 0xff, sizeof res);
        int r = clock_getres(clocks[i].id, &res);
        printf("clock_getres(%s): %d, %ld.%09ld\n", clocks[i].name, r, (long)res.tv_sec, res.tv_nsec);
    }
    errno = 0;
    show("clock_getres(bad clock)", clock_getres((clockid_t)1234, &res));
    errno = 0;
    show("clock_gettime(bad clock)", clock_gettime((clockid_t)1234, &res));

    int64_t m1 = ns(CLOCK_MONOTONIC), m2 = ns(CLOCK_MONOTONIC);
    yesno("CLOCK_MONOTONIC does not go backwards", m2 >= m1);
    int64_t c1 = ns(CLOCK_PROCESS_CPUTIME_ID);
    volatile uint64_t spin = 0;
    for (int i = 0; i < 20000000; i++)
        spin += (uint64_t)i;
    int64_t c2 = ns(CLOCK_PROCESS_CPUTIME_ID);
    yesno("CLOCK_PROCESS_CPUTIME_ID advanced during a busy loop", c2 > c1);

    struct tms t;
    errno = 0;
    clock_t r = times(&t);
    yesno("times() succeeded", r != (clock_t)-1);
    printf("sysconf(_SC_CLK_TCK): %ld\n", sysconf(_SC_CLK_TCK));

    struct timeval tv;
    show("gettimeofday", gettimeofday(&tv, NULL));
    time_t now = time(NULL);
    printf("gettimeofday and time() agree within a second: %s\n",
           now - tv.tv_sec <= 1 && tv.tv_sec - now <= 1 ? "yes" : "no");
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    printf("CLOCK_REALTIME and time() agree within a second: %s\n",
           now - rt.tv_sec <= 1 && rt.tv_sec - now <= 1 ? "yes" : "no");
}

int main(void)
{
    unbuffered_stdout();
    alarm_tests();
    itimer_tests();
    posix_timer_tests();
    sleep_tests();
    clock_tests();
    printf("done\n");
    return 0;
}
