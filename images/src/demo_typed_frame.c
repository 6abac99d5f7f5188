/* demo_typed_frame.c - demonstration for the safe-kernel bug "map_typed_frame"
 * (growing the heap, the kernel maps a frame it allocated for its own use -- a typed
 * frame -- into user space, and writes into a page-table frame).
 *
 * OSTD refuses both: typed frames have no byte access and cannot be mapped. The
 * refusal is an exception in the kernel's brk handler: an oops, which kills only the
 * process that made the call. Its parent (this program) carries on. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "demo.h"

int main(void)
{
    unbuffered_stdout();
    struct neighbour n = start_neighbour();
    pid_t kid = fork();
    if (kid == 0) {
        long now = syscall(SYS_brk, 0);
        syscall(SYS_brk, now + 64 * 4096); /* the buggy kernel maps a typed frame here */
        printf("the heap grew (not reached with the bug)\n");
        _exit(0);
    }
    int status;
    waitpid(kid, &status, 0);
    yesno("the process that grew its heap was killed by SIGSEGV (an oops)",
          WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
    yesno("the machine keeps running: we are still here", 1);
    finish_with_neighbour(&n);
    return 0;
}
