/* segv_null.c - store through a NULL pointer; must die with SIGSEGV. */
#include <stdio.h>

/* volatile pointer: the compiler cannot prove it is NULL, so it emits a
 * real store instead of a trap instruction (ud2 would be SIGILL). */
static int *volatile null_ptr = 0;

int main(void)
{
    printf("before\n");
    fflush(stdout);
    *null_ptr = 42;
    printf("after (should not happen)\n");
    return 0;
}
