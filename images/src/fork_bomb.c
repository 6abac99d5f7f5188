/*
 * fork_bomb.c - a bounded fork bomb: the kernel must refuse fork() cleanly
 * when it runs out of memory or tasks, and clean everything up afterwards.
 *
 * Only for the lab, where it runs as pid 1 on a machine with little RAM: as
 * any other pid it prints a refusal and exits 0, so it is harmless natively
 * (root ignores RLIMIT_NPROC, so Linux would only stop it at its own limits).
 *
 * Forks children (each waits in pause()) until fork() fails or CAP (5000,
 * or argv[1]) succeed.  The children are put in their own process group,
 * so one kill(-pgid, SIGKILL) ends all of them and not us; then every one
 * is reaped.  Prints no counts, only whether fork failed with EAGAIN or
 * ENOMEM and whether everything was reaped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

int main(int argc, char **argv)
{
    unbuffered_stdout();
    if (getpid() != 1) {
        printf("fork_bomb: not pid 1, refusing to run (it is meant for the lab)\n");
        return 0;
    }
    long cap = argc > 1 ? atol(argv[1]) : 5000;
    pid_t pgid = 0;
    long forked = 0;
    int err = 0;
    while (forked < cap) {
        pid_t kid = fork();
        if (kid < 0) {
            err = errno;
            break;
        }
        if (kid == 0) {
            setpgid(0, pgid);   /* the first child starts the group */
            for (;;)
                pause();
        }
        if (pgid == 0)
            pgid = kid;
        setpgid(kid, pgid);     /* also from here, so there is no window */
        forked++;
    }
    printf("fork eventually failed: EAGAIN or ENOMEM: %s\n", err == EAGAIN || err == ENOMEM ? "yes" : "no");
    printf("fork failed with: %s\n", err ? errname(err) : "(did not fail)");
    yesno("forked at least 10 children first", forked >= 10);
    if (pgid != 0)
        show("kill(-pgid, SIGKILL)", kill(-pgid, SIGKILL));
    long reaped = 0, by_sigkill = 0;
    int st;
    pid_t r;
    while ((r = waitpid(-1, &st, 0)) > 0) {
        reaped++;
        by_sigkill += WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
    }
    int wait_err = errno;
    yesno("reaped all", reaped == forked);
    yesno("all killed by SIGKILL", by_sigkill == forked);
    printf("then waitpid: %s\n", errname(wait_err));
    pid_t kid = fork();
    if (kid == 0)
        _exit(3);
    int ok = kid > 0 && waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 3;
    yesno("fork works again afterwards", ok);
    return 0;
}
