/*
 * clone_threads.c - clone(2) flags, thread ids and thread exit.
 *
 * (a) the libc clone() wrapper, fork-style (exit signal SIGCHLD, no
 *     CLONE_VM): the child's writes stay in the child;
 * (b) clone(CLONE_VM): the child's writes are visible; a child with exit
 *     signal 0 is only seen by waitpid with __WALL (plain waitpid: ECHILD);
 * (c) a raw clone(2) (musl's wrapper refuses CLONE_CHILD_CLEARTID and
 *     CLONE_THREAD) with CLONE_PARENT_SETTID | CLONE_CHILD_SETTID |
 *     CLONE_CHILD_CLEARTID: both tid words are set, and the child's is
 *     cleared and futex-woken when it exits;
 * (d) a raw CLONE_THREAD thread calling SYS_exit ends only itself; it cannot
 *     be waited for; getpid() == gettid() only in the main thread;
 * (e) with pthreads: pthread_kill runs the handler in the target thread;
 *     exit() / exit_group in a thread end the whole process; a main thread
 *     that calls SYS_exit leaves the process running until the last thread
 *     calls exit_group.
 * Children started by the raw clone share our TLS, so they only use raw
 * system calls (no errno, no stdio).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"

#define STACK_SIZE (256 * 1024)

#ifndef __WALL
#define __WALL 0x40000000
#endif

/* Raw system calls that never touch errno (safe in a TLS-sharing child). */
static long rsys(long n, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "0"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

/*
 * clone(flags, stack, ptid, ctid, tls): the child pops fn and arg from its
 * new stack, calls fn(arg) and passes the result to SYS_exit.
 */
static long raw_clone(unsigned long flags, void *stack_top, int *ptid, int *ctid, int (*fn)(void *), void *arg)
{
    void **sp = (void **)((uintptr_t)stack_top & ~(uintptr_t)15);
    *--sp = arg;
    *--sp = (void *)fn;
    register long r10 __asm__("r10") = (long)ctid;
    register long r8 __asm__("r8") = 0;
    long ret;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "pop %%rax\n\t"
        "pop %%rdi\n\t"
        "call *%%rax\n\t"
        "mov %%eax, %%edi\n\t"
        "mov $60, %%eax\n\t"        /* SYS_exit */
        "syscall\n\t"
        "hlt\n\t"
        "1:\n\t"
        : "=a"(ret)
        : "0"((long)SYS_clone), "D"(flags), "S"(sp), "d"(ptid), "r"(r10), "r"(r8)
        : "rcx", "r11", "memory");
    return ret;
}

static char *new_stack(void)
{
    char *s = malloc(STACK_SIZE);
    if (!s)
        fatal("malloc");
    return s;
}

static volatile int shared_var;

static int write_var(void *arg)
{
    shared_var = (int)(intptr_t)arg;
    return 7;
}

static void libc_clone_tests(void)
{
    char *stack = new_stack();
    shared_var = 0;
    pid_t kid = clone(write_var, stack + STACK_SIZE, SIGCHLD, (void *)(intptr_t)99);
    if (kid < 0)
        fatal("clone");
    int st = 0;
    pid_t r = waitpid(kid, &st, 0);
    printf("clone(SIGCHLD): waitpid got it %s, exit code %d, its write visible to us %s\n",
           r == kid ? "yes" : "no", WEXITSTATUS(st), shared_var == 99 ? "yes" : "no");

    shared_var = 0;
    kid = clone(write_var, stack + STACK_SIZE, CLONE_VM, (void *)(intptr_t)123);
    if (kid < 0)
        fatal("clone");
    errno = 0;
    r = waitpid(kid, &st, 0);
    printf("clone(CLONE_VM, exit signal 0): plain waitpid %ld %s\n", (long)r, r < 0 ? errname(errno) : "");
    r = waitpid(kid, &st, __WALL);
    printf("clone(CLONE_VM): waitpid(__WALL) got it %s, exit code %d, its write visible to us %s\n",
           r == kid ? "yes" : "no", WEXITSTATUS(st), shared_var == 123 ? "yes" : "no");
    free(stack);
}

/* (c) */
static int ctid_word, ptid_word;
static volatile int child_ready, child_go;
static volatile long child_saw_ctid, child_gettid;

static int tid_child(void *arg)
{
    (void)arg;
    child_saw_ctid = __atomic_load_n(&ctid_word, __ATOMIC_SEQ_CST);
    child_gettid = rsys(SYS_gettid, 0, 0, 0);
    child_ready = 1;
    while (!child_go)
        rsys(SYS_sched_yield, 0, 0, 0);
    return 4;
}

/* Wait until the kernel clears *word (CLONE_CHILD_CLEARTID), like pthread_join. */
static int wait_cleared(int *word)
{
    for (int i = 0; i < 1000; i++) {
        int v = __atomic_load_n(word, __ATOMIC_SEQ_CST);
        if (v == 0)
            return 1;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        /* The kernel's wake is a shared (not private) FUTEX_WAKE. */
        syscall(SYS_futex, word, FUTEX_WAIT, v, &ts, NULL, 0);
    }
    return 0;
}

static void tid_word_tests(void)
{
    char *stack = new_stack();
    ctid_word = ptid_word = -1;
    child_ready = child_go = 0;
    long tid = raw_clone(CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD,
                         stack + STACK_SIZE, &ptid_word, &ctid_word, tid_child, NULL);
    if (tid < 0) {
        printf("raw clone: %s\n", errname((int)-tid));
        return;
    }
    printf("CLONE_PARENT_SETTID: parent's word holds the new tid %s\n", ptid_word == tid ? "yes" : "no");
    while (!child_ready)
        sched_yield();
    printf("CLONE_CHILD_SETTID: child's word held its tid when it started %s\n",
           child_saw_ctid == tid ? "yes" : "no");
    printf("child's gettid() is the tid clone returned %s\n", child_gettid == tid ? "yes" : "no");
    child_go = 1;
    printf("CLONE_CHILD_CLEARTID: word cleared (and futex woken) at exit %s\n", wait_cleared(&ctid_word) ? "yes" : "no");
    int st = 0;
    pid_t r = waitpid((pid_t)tid, &st, 0);
    printf("then waitpid: got it %s, exit code %d\n", r == tid ? "yes" : "no", WEXITSTATUS(st));
    free(stack);
}

/* (d) */
static int thread_ctid;
static volatile long thread_tid, thread_pid;
static volatile int thread_ran;

static int raw_thread(void *arg)
{
    (void)arg;
    thread_tid = rsys(SYS_gettid, 0, 0, 0);
    thread_pid = rsys(SYS_getpid, 0, 0, 0);
    thread_ran = 1;
    rsys(SYS_exit, 0, 0, 0);    /* ends this thread only */
    return 1;
}

static void raw_thread_tests(void)
{
    char *stack = new_stack();
    unsigned long flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                          CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    thread_ctid = 0;
    long tid = raw_clone(flags, stack + STACK_SIZE, &thread_ctid, &thread_ctid, raw_thread, NULL);
    if (tid < 0) {
        printf("raw clone(CLONE_THREAD): %s\n", errname((int)-tid));
        return;
    }
    int cleared = wait_cleared(&thread_ctid);
    printf("CLONE_THREAD thread ran %s, exited with SYS_exit (tid word cleared) %s\n", thread_ran ? "yes" : "no",
           cleared ? "yes" : "no");
    printf("main thread still running after the thread's SYS_exit: yes\n");
    printf("thread: getpid() is ours %s, gettid() differs from getpid() %s, is the tid clone returned %s\n",
           thread_pid == getpid() ? "yes" : "no", thread_tid != thread_pid ? "yes" : "no",
           thread_tid == tid ? "yes" : "no");
    printf("main thread: gettid() == getpid() %s\n", syscall(SYS_gettid) == getpid() ? "yes" : "no");
    errno = 0;
    int st;
    pid_t r = waitpid((pid_t)tid, &st, __WALL | WNOHANG);
    printf("waitpid on a thread: %ld %s\n", (long)r, r < 0 ? errname(errno) : "");
    free(stack);
}

/* (e) */
static volatile long handler_tid;
static volatile int handled;

static void on_usr1(int sig)
{
    (void)sig;
    handler_tid = syscall(SYS_gettid);
    handled = 1;
}

static volatile long target_tid;

static void *sig_target(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);   /* only this thread takes SIGUSR1 */
    target_tid = syscall(SYS_gettid);
    for (int i = 0; i < 10000 && !handled; i++) {
        struct timespec ts = { 0, 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void pthread_kill_test(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    /* Blocked in the main thread (and inherited); the target unblocks it. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, sig_target, NULL) != 0)
        fatal("pthread_create");
    while (!target_tid)
        sched_yield();
    show_err("pthread_kill(thread, SIGUSR1)", pthread_kill(t, SIGUSR1));
    pthread_join(t, NULL);
    printf("handler ran in the target thread: %s\n", handled && handler_tid == target_tid ? "yes" : "no");
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void *exit_from_thread(void *arg)
{
    exit((int)(intptr_t)arg);
}

static void *exit_group_from_thread(void *arg)
{
    syscall(SYS_exit_group, (int)(intptr_t)arg);
    return NULL;
}

static void *exit_later(void *arg)
{
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    exit((int)(intptr_t)arg);
}

static int run_in_child(void *(*fn)(void *), int code, int main_exits)
{
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, fn, (void *)(intptr_t)code) != 0)
            _exit(100);
        if (main_exits)
            syscall(SYS_exit, 0);       /* only the main thread */
        for (;;)
            pause();
    }
    int st = 0;
    waitpid(kid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void process_exit_tests(void)
{
    printf("exit(5) in a thread ends the process: status %d\n", run_in_child(exit_from_thread, 5, 0));
    printf("exit_group(6) in a thread ends the process: status %d\n", run_in_child(exit_group_from_thread, 6, 0));
    printf("main thread SYS_exit, then the other thread exit(9): status %d\n", run_in_child(exit_later, 9, 1));
}

int main(void)
{
    unbuffered_stdout();
    libc_clone_tests();
    tid_word_tests();
    raw_thread_tests();
    pthread_kill_test();
    process_exit_tests();
    printf("done\n");
    return 0;
}
