/*
 * segv_nx.c - copy a `ret` instruction (0xc3) into a static (non-executable)
 * array and call it.  With NX enforced the call faults: SIGSEGV.
 */
#include <stdio.h>

static unsigned char code[16];          /* .bss: readable, writable, not executable */

int main(void)
{
    printf("before\n");
    fflush(stdout);
    ((volatile unsigned char *)code)[0] = 0xc3;   /* ret */
    void (*volatile fn)(void) = (void (*)(void))(void *)code;
    fn();
    printf("after (should not happen)\n");
    return 0;
}
