/* demo.h - shared by the bug demonstrations (images/src/demo_*.c, see
 * asterinas_lab/bugs/). A "neighbour" is a separate process holding a known pattern
 * in its memory; at the end it checks the pattern, which tells whether a bug reached
 * memory outside the process that triggered it. Every demo ends with
 * "RESULT: intact" or "RESULT: corrupted". */
#ifndef DEMO_H
#define DEMO_H

#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

#define NEIGHBOUR_PAGES 64

struct neighbour {
    pid_t pid;
};

static inline unsigned char neighbour_byte(size_t i)
{
    return (unsigned char)(i * 7 + (i >> 12) + 1);
}

static volatile sig_atomic_t neighbour_asked;

static void neighbour_on_usr1(int sig)
{
    (void)sig;
    neighbour_asked = 1;
}

/* The neighbour uses no read() or write(): a bug under test may be in those, and it
 * must not hit the neighbour through its own syscalls. It waits for SIGUSR1 and
 * answers with its exit status: 0 if its pattern is intact, 1 if not. */
static inline struct neighbour start_neighbour(void)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork");
    if (pid == 0) {
        signal(SIGUSR1, neighbour_on_usr1);
        size_t size = NEIGHBOUR_PAGES * 4096;
        unsigned char *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (size_t i = 0; i < size; i++)
            mem[i] = neighbour_byte(i);
        while (!neighbour_asked)
            sigsuspend(&old);
        size_t changed = 0;
        for (size_t i = 0; i < size; i++)
            changed += mem[i] != neighbour_byte(i);
        _exit(changed ? 1 : 0);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    struct neighbour n = { pid };
    return n;
}

/* Ask the neighbour to check its memory; print the verdict and RESULT. */
static inline int neighbour_intact(struct neighbour *n)
{
    int status = -1;
    kill(n->pid, SIGUSR1);
    waitpid(n->pid, &status, 0);
    int intact = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    yesno("the neighbour process's memory is intact", intact);
    return intact;
}

static inline void finish_with_neighbour(struct neighbour *n)
{
    printf("RESULT: %s\n", neighbour_intact(n) ? "intact" : "corrupted");
}

#endif
