/* demo_stale_tlb.c - demonstration for the OSTD bug "no_tlb_flush" (munmap removes
 * the page-table entry and frees the frame, but does not flush the TLB).
 *
 * The CPU still holds the old translation. We unmap page X and map fresh memory Y,
 * which gets X's old frame. Reading X should raise SIGSEGV; with the bug it reads
 * Y's bytes through the stale TLB entry, and writing X would write into Y. The page
 * tables are consistent -- memcheck sees nothing -- which is why this bug class is
 * dangerous; the program's own observation is the evidence. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>

#include "demo.h"

static sigjmp_buf env;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(env, 1);
}

int main(void)
{
    unbuffered_stdout();
    signal(SIGSEGV, on_segv);
    char *region = mmap(NULL, 32 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *x = region;
    char *y = region + 16 * 4096;
    memset(x, 'X', 4096);
    volatile char seen = x[100]; /* the CPU's TLB now translates x */
    long unmapped = munmap(x, 4096);
    memset(y, 'Y', 4096); /* fresh memory: the allocator may give it X's old frame */
    int stale = 0;
    if (sigsetjmp(env, 1) == 0) {
        seen = x[100];
        stale = 1;
    }
    show("munmap X", unmapped);
    if (stale)
        printf("read X after munmap: no fault -- a stale translation to a freed frame, holding %s\n",
               seen == 'Y' ? "Y's bytes" : seen == 'X' ? "X's old bytes" : "someone else's bytes");
    else
        printf("read X after munmap: SIGSEGV\n");
    printf("RESULT: %s\n", stale ? "corrupted" : "intact");
    return 0;
}
