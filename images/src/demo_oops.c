/* demo_oops.c - demonstration for the safe-kernel bug "syscall_exception" (uname
 * raises an unexpected Python exception: an index out of range).
 *
 * An exception in safe kernel code is an oops: the process that made the call is
 * killed with SIGSEGV and the oops is logged; every other process runs on. */
#define _GNU_SOURCE
#include <sys/utsname.h>

#include "demo.h"

int main(void)
{
    unbuffered_stdout();
    struct neighbour n = start_neighbour();
    pid_t kid = fork();
    if (kid == 0) {
        struct utsname u;
        uname(&u);
        printf("uname returned (not reached with the bug): %s\n", u.sysname);
        _exit(0);
    }
    int status;
    waitpid(kid, &status, 0);
    yesno("the process that called uname was killed by SIGSEGV (an oops)",
          WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    yesno("the machine keeps running: we are still here", 1);
    finish_with_neighbour(&n);
    return 0;
}
