/*
 * fork_tree.c - fork, exit codes, wait/waitpid, getppid, vfork, orphans.
 *
 * - a binary tree of processes (depth 3, two children each) forked
 *   concurrently; every node exits with the sum of its subtree's ids, and
 *   getppid() checks travel up in bit 7 of the exit codes;
 * - the same tree walked one process at a time, each node printing itself
 *   (pre-order, so the output order is fixed);
 * - wait() for any child, wait() with no children (ECHILD), waitpid(WNOHANG)
 *   on a running child, waitpid on a non-child (ECHILD), vfork + _exit;
 * - an orphan: once its parent has exited, getppid() changes (natively to
 *   the nearest subreaper or init, which is not always pid 1 under chroot,
 *   so only "changed" is printed).  This runs last: inside the lab, where
 *   this program is pid 1, the orphan is re-parented to us.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"

#define DEPTH 3
#define PPID_BAD 0x80

/* Sum of the ids in the subtree rooted at id (children of n: 2n, 2n+1). */
static int subtree_sum(int id, int depth)
{
    if (depth == DEPTH)
        return id;
    return id + subtree_sum(2 * id, depth + 1) + subtree_sum(2 * id + 1, depth + 1);
}

/* Runs in node `id` (a child process); returns its exit code. */
static int concurrent_node(int id, int depth, pid_t parent)
{
    int bad = getppid() != parent;
    if (depth == DEPTH)
        return (id & 0x7f) | (bad ? PPID_BAD : 0);
    pid_t self = getpid();
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] < 0)
            return PPID_BAD | 1;
        if (kids[i] == 0)
            _exit(concurrent_node(2 * id + i, depth + 1, self));
    }
    int sum = id;
    for (int i = 0; i < 2; i++) {      /* fixed order: left, then right */
        int st;
        if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st)) {
            bad = 1;
            continue;
        }
        sum += WEXITSTATUS(st) & 0x7f;
        bad |= (WEXITSTATUS(st) & PPID_BAD) != 0;
    }
    return (sum & 0x7f) | (bad ? PPID_BAD : 0);
}

/* One process at a time: print, then run the left subtree, then the right. */
static int sequential_node(int id, int depth, pid_t parent)
{
    printf("node %d depth %d: getppid is parent: %s\n", id, depth, getppid() == parent ? "yes" : "no");
    if (depth == DEPTH)
        return id;
    pid_t self = getpid();
    int sum = id;
    for (int i = 0; i < 2; i++) {
        pid_t kid = fork();
        if (kid < 0)
            return 255;
        if (kid == 0)
            _exit(sequential_node(2 * id + i, depth + 1, self));
        int st;
        if (waitpid(kid, &st, 0) == kid && WIFEXITED(st))
            sum += WEXITSTATUS(st);
    }
    printf("node %d: subtree exit codes sum %d\n", id, sum);
    return sum & 0xff;
}

static void tree_tests(void)
{
    pid_t self = getpid();
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] < 0)
            fatal("fork");
        if (kids[i] == 0)
            _exit(concurrent_node(2 + i, 1, self));
    }
    int total = 1;
    for (int i = 0; i < 2; i++) {
        int st = 0;
        pid_t r = waitpid(kids[i], &st, 0);
        printf("concurrent subtree %d: waitpid returned child: %s, exited: %s, sum %d (expected %d), "
               "getppid checks: %s\n", 2 + i, r == kids[i] ? "yes" : "no", WIFEXITED(st) ? "yes" : "no",
               WEXITSTATUS(st) & 0x7f, subtree_sum(2 + i, 1), (WEXITSTATUS(st) & PPID_BAD) ? "FAILED" : "ok");
        total += WEXITSTATUS(st) & 0x7f;
    }
    printf("concurrent tree total %d\n", total);

    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0)
        _exit(sequential_node(1, 0, self));
    int st = 0;
    waitpid(kid, &st, 0);
    printf("sequential tree: root exit code %d (sum of ids & 0xff = %d)\n",
           WEXITSTATUS(st), subtree_sum(1, 0) & 0xff);
}

static void wait_any_tests(void)
{
    /* Five children exit 10..14; wait() reaps them in whatever order. */
    for (int i = 0; i < 5; i++) {
        pid_t kid = fork();
        if (kid < 0)
            fatal("fork");
        if (kid == 0)
            _exit(10 + i);
    }
    int sum = 0, count = 0, st;
    pid_t r;
    while ((r = wait(&st)) > 0) {
        count++;
        sum += WIFEXITED(st) ? WEXITSTATUS(st) : 1000;
    }
    printf("wait() reaped %d children, exit codes sum %d, then %s\n", count, sum, errname(errno));

    errno = 0;
    r = wait(&st);
    show("wait with no children", r);
    errno = 0;
    r = waitpid(-1, &st, WNOHANG);
    show("waitpid(-1, WNOHANG) with no children", r);

    /* exit codes are 8 bits */
    pid_t kid = fork();
    if (kid == 0)
        exit(256 + 3);
    waitpid(kid, &st, 0);
    printf("exit(259) seen as %d\n", WEXITSTATUS(st));
    kid = fork();
    if (kid == 0)
        exit(-1);
    waitpid(kid, &st, 0);
    printf("exit(-1) seen as %d\n", WEXITSTATUS(st));
}

static void wnohang_tests(void)
{
    int go[2];
    if (pipe(go) < 0)
        fatal("pipe");
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        char c;
        close(go[1]);
        ssize_t n = read(go[0], &c, 1);     /* blocks until the parent writes */
        _exit(n == 1 ? 7 : 99);
    }
    close(go[0]);
    int st = 0;
    pid_t r = waitpid(kid, &st, WNOHANG);
    printf("waitpid(WNOHANG) on a running child: %ld\n", (long)r);
    if (write(go[1], "x", 1) != 1)
        fatal("write");
    close(go[1]);
    r = waitpid(kid, &st, 0);
    printf("after releasing it: waitpid returned child: %s, exit code %d\n",
           r == kid ? "yes" : "no", WEXITSTATUS(st));
    errno = 0;
    r = waitpid(kid, &st, 0);
    show("waitpid on the reaped child again", r);
    errno = 0;
    r = waitpid(getpid(), &st, 0);
    show("waitpid on ourselves (not a child)", r);
    errno = 0;
    r = waitpid(-1, &st, 0x40000);      /* not a valid option bit */
    show("waitpid with a bad option", r);
}

static volatile int vfork_flag;

static void vfork_tests(void)
{
    vfork_flag = 0;
    pid_t kid = vfork();
    if (kid < 0)
        fatal("vfork");
    if (kid == 0) {
        vfork_flag = 1;     /* the parent is suspended and shares our memory */
        _exit(3);
    }
    int st = 0;
    pid_t r = waitpid(kid, &st, 0);
    printf("vfork: child ran first and its store is visible: %s\n", vfork_flag ? "yes" : "no");
    printf("vfork: waitpid returned child: %s, exit code %d\n", r == kid ? "yes" : "no", WEXITSTATUS(st));
}

static void orphan_test(void)
{
    int result[2], ready[2];
    if (pipe(result) < 0 || pipe(ready) < 0)
        fatal("pipe");
    pid_t middle = fork();
    if (middle < 0)
        fatal("fork");
    if (middle == 0) {
        pid_t me = getpid();
        pid_t grandchild = fork();
        if (grandchild < 0)
            _exit(1);
        if (grandchild == 0) {
            close(result[0]);
            close(ready[0]);
            char verdict[2] = { getppid() == me ? 'y' : 'n', 'n' };
            close(ready[1]);            /* tell the middle process to exit */
            /* Wait (at most ~10 s) for the re-parenting. */
            for (int i = 0; i < 10000 && getppid() == me; i++) {
                struct timespec ms = { 0, 1000000 };
                nanosleep(&ms, NULL);
            }
            verdict[1] = getppid() != me ? 'y' : 'n';
            if (write(result[1], verdict, 2) != 2)
                _exit(1);
            _exit(0);
        }
        close(result[0]);
        close(result[1]);
        close(ready[1]);
        char c;
        while (read(ready[0], &c, 1) > 0)   /* EOF once the grandchild is ready */
            ;
        _exit(5);
    }
    close(result[1]);
    close(ready[0]);
    close(ready[1]);
    int st = 0;
    waitpid(middle, &st, 0);
    printf("orphan's parent exited with %d\n", WEXITSTATUS(st));
    char verdict[2] = { '?', '?' };
    ssize_t n = read(result[0], verdict, 2);
    printf("orphan: read %ld bytes from it\n", (long)n);
    printf("orphan: getppid was its parent before: %s\n", verdict[0] == 'y' ? "yes" : "no");
    printf("orphan: getppid changed after the parent exited: %s\n", verdict[1] == 'y' ? "yes" : "no");
    close(result[0]);
}

int main(void)
{
    unbuffered_stdout();
    tree_tests();
    wait_any_tests();
    wnohang_tests();
    vfork_tests();
    orphan_test();
    printf("done\n");
    return 0;
}
