/*
 * tiny.c - a freestanding static program: no libc, no stack set-up.
 * _start issues two raw syscalls: write(1, msg, 22) and exit(0).
 * Build: -nostdlib -ffreestanding -static (see images/build.py).
 */
static const char msg[] = "Hello from user mode!\n";

__attribute__((noreturn)) void _start(void)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(1L), "D"(1L), "S"(msg), "d"(sizeof msg - 1)
                     : "rcx", "r11", "memory");
    (void)ret;
    __asm__ volatile("syscall"
                     :
                     : "a"(60L), "D"(0L)
                     : "rcx", "r11", "memory");
    __builtin_unreachable();
}
