/*
 * tiny_data.c - freestanding like tiny, but with every kind of segment: read-only
 * data, text, initialised data (.data) and zero-filled data (.bss, two pages).
 * It writes to .data and .bss (so they must be mapped writable and .bss zeroed),
 * passes a bad pointer to write() (which must fail with -EFAULT, not crash),
 * and exits 0 only if everything behaved as on Linux.
 * Build: -nostdlib -ffreestanding -static (see images/build.py).
 */
static const char greeting[] = "tiny_data: hello from .rodata\n";
static char counter[] = "count: 0\n"; /* .data: rewritten below */
static char buffer[8192];             /* .bss: must start zeroed */

static long sys3(long number, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(number), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static long put(const char *text)
{
    long n = 0;
    while (text[n])
        n++;
    return sys3(1, 1, (long)text, n);
}

__attribute__((noreturn)) void _start(void)
{
    int failures = 0;
    put(greeting);
    for (int i = 1; i <= 3; i++) {
        *(volatile char *)&counter[7] = (char)('0' + i);
        put(counter);
    }
    volatile char *high = buffer + 4096 + 100; /* on the second page of .bss */
    if (buffer[0] != 0 || high[0] != 0)
        failures++;
    const char *text = "bss: written on its second page\n";
    for (int i = 0; text[i]; i++)
        high[i] = text[i];
    high[32] = 0;
    put((const char *)high);
    if (sys3(1, 1, 0x10, 4) == -14)
        put("write(1, 0x10, 4) = -EFAULT\n");
    else
        failures++;
    put(failures ? "tiny_data: FAILED\n" : "tiny_data: done\n");
    sys3(60, failures, 0, 0);
    __builtin_unreachable();
}
