/* segv_kernel.c - read a byte from the kernel half of the address space. */
#include <stdint.h>
#include <stdio.h>

static volatile uintptr_t kernel_addr = 0xffff888000000000ULL;

int main(void)
{
    printf("before\n");
    fflush(stdout);
    volatile char c = *(volatile char *)kernel_addr;
    (void)c;
    printf("after (should not happen)\n");
    return 0;
}
