/*
 * segv_recover.c - synchronous faults delivered to SA_SIGINFO handlers.
 *
 * - SIGSEGV: si_code SEGV_MAPERR for an unmapped address (a read of 0x1000,
 *   a call through NULL), SEGV_ACCERR for a write to a PROT_READ page, and
 *   si_addr is the faulting address; recovery with sigsetjmp/siglongjmp,
 *   repeated to show siglongjmp restores the mask (savemask=1), and that
 *   with savemask=0 SIGSEGV stays blocked;
 * - the ucontext: trap number 14 (page fault) and the write bit of the error
 *   code; a handler that skips the faulting instruction by advancing RIP;
 * - a handler that fixes the fault (mprotect the page writable) and returns,
 *   so the store is retried after rt_sigreturn;
 * - a kernel-half and a non-canonical address, SIGBUS past the end of a
 *   mapped file, SIGFPE (divide by zero), SIGILL (ud2), SIGTRAP (int3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "checks.h"

#define FILE_PATH "/tmp/segv_recover.dat"

static sigjmp_buf env;
static volatile sig_atomic_t calls, last_signo, last_code, trapno, errcode;
static void *volatile last_addr;
static volatile int mode;       /* 0: longjmp out, 1: mprotect and return, 2: skip 3 bytes */
static char *volatile fix_page;

static void handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    calls++;
    last_signo = sig;
    last_code = si->si_code;
    last_addr = si->si_addr;
    trapno = (sig_atomic_t)uc->uc_mcontext.gregs[REG_TRAPNO];
    errcode = (sig_atomic_t)uc->uc_mcontext.gregs[REG_ERR];
    if (mode == 1) {
        mprotect(fix_page, 4096, PROT_READ | PROT_WRITE);
        return;
    }
    if (mode == 2) {
        uc->uc_mcontext.gregs[REG_RIP] += 3;    /* movb $imm8, (%rax) is 3 bytes */
        return;
    }
    siglongjmp(env, 1);
}

static const char *code_name(int sig, int code)
{
    if (code == SI_KERNEL)
        return "SI_KERNEL";
    switch (sig) {
    case SIGSEGV:
        return code == SEGV_MAPERR ? "SEGV_MAPERR" : code == SEGV_ACCERR ? "SEGV_ACCERR" : "SEGV_?";
    case SIGBUS:
        return code == BUS_ADRERR ? "BUS_ADRERR" : code == BUS_ADRALN ? "BUS_ADRALN" : "BUS_?";
    case SIGFPE:
        return code == FPE_INTDIV ? "FPE_INTDIV" : "FPE_?";
    case SIGILL:
        return code == ILL_ILLOPN ? "ILL_ILLOPN" : "ILL_?";
    case SIGTRAP:
        return code == TRAP_BRKPT ? "TRAP_BRKPT" : "TRAP_?";
    default:
        return "?";
    }
}

static int sig_blocked(int sig)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig) == 1;
}

static void install(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sig, &sa, NULL) < 0)
        fatal("sigaction");
}

static void report(const char *what, void *expected_addr, int check_addr)
{
    printf("%s: signal %d %s", what, (int)last_signo, code_name(last_signo, last_code));
    if (check_addr)
        printf(", si_addr is the faulting address %s", last_addr == expected_addr ? "yes" : "no");
    printf("\n");
}

static volatile char sink;
static char *volatile unmapped = (char *)0x1000;

static void maperr_and_accerr(void)
{
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ro == MAP_FAILED)
        fatal("mmap");
    for (int i = 0; i < 4; i++) {
        calls = 0;
        if (sigsetjmp(env, 1) == 0) {
            sink = *unmapped;
            printf("read of 0x1000 did not fault\n");
        } else {
            printf("round %d: ", i);
            report("read of 0x1000", unmapped, 1);
            printf("round %d: handler calls %d, SIGSEGV blocked after siglongjmp %s\n", i, (int)calls,
                   sig_blocked(SIGSEGV) ? "yes" : "no");
        }
        if (sigsetjmp(env, 1) == 0) {
            ro[8 + i] = 1;
            printf("write to a PROT_READ page did not fault\n");
        } else {
            printf("round %d: ", i);
            report("write to a PROT_READ page", ro + 8 + i, 1);
            printf("round %d: trapno %d, error code has the write bit %s, user bit %s\n", i, (int)trapno,
                   (errcode & 2) ? "yes" : "no", (errcode & 4) ? "yes" : "no");
        }
    }

    /* savemask=0: the handler's mask (SIGSEGV blocked) is not undone. */
    if (sigsetjmp(env, 0) == 0) {
        sink = *unmapped;
    } else {
        printf("sigsetjmp(env, 0): SIGSEGV blocked after siglongjmp %s\n", sig_blocked(SIGSEGV) ? "yes" : "no");
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGSEGV);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
    }

    void (*volatile null_fn)(void) = NULL;
    if (sigsetjmp(env, 1) == 0) {
        null_fn();
    } else {
        report("call through NULL", NULL, 1);
    }
    munmap(ro, 4096);
}

static void fix_and_retry(void)
{
    char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        fatal("mmap");
    fix_page = page;
    calls = 0;
    mode = 1;
    ((volatile char *)page)[100] = 77;          /* faults once, then succeeds */
    mode = 0;
    printf("fixed by mprotect in the handler: handler calls %d, value %d, %s\n", (int)calls, page[100],
           code_name(last_signo, last_code));
    munmap(page, 4096);

    page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        fatal("mmap");
    calls = 0;
    mode = 2;
    __asm__ volatile("movq %0, %%rax\n\tmovb $0x5a, (%%rax)" : : "r"(page) : "rax", "memory");
    mode = 0;
    printf("skipped the faulting store via REG_RIP: handler calls %d, page still zero %s\n", (int)calls,
           page[0] == 0 ? "yes" : "no");
    munmap(page, 4096);
}

static char *volatile kernel = (char *)0xffff888000000000ul;
static char *volatile noncanonical = (char *)0x0000800000000000ul;

static void other_addresses(void)
{
    if (sigsetjmp(env, 1) == 0)
        sink = *kernel;
    else
        report("read of a kernel-half address", kernel, 1);

    if (sigsetjmp(env, 1) == 0)
        sink = *noncanonical;
    else
        printf("read of a non-canonical address: signal %d %s, si_addr 0 %s\n", (int)last_signo,
               code_name(last_signo, last_code), last_addr == NULL ? "yes" : "no");
}

static void sigbus(void)
{
    install(SIGBUS);
    int fd = open(FILE_PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fatal("open");
    if (write(fd, "short file\n", 11) != 11)
        fatal("write");
    char *map = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        fatal("mmap file");
    printf("mapped file: first page reads \"%.10s\", rest of the page zero %s\n", map, map[4095] == 0 ? "yes" : "no");
    if (sigsetjmp(env, 1) == 0)
        sink = map[4096 + 5];
    else
        report("read past the end of the file", map + 4096 + 5, 1);
    munmap(map, 2 * 4096);
    close(fd);
    unlink(FILE_PATH);
}

static volatile int zero;

static void arithmetic_and_traps(void)
{
    install(SIGFPE);
    install(SIGILL);
    install(SIGTRAP);
    volatile int n = 7;
    if (sigsetjmp(env, 1) == 0)
        n = n / zero;
    else
        report("integer division by zero", NULL, 0);
    if (sigsetjmp(env, 1) == 0)
        __asm__ volatile("ud2");
    else
        report("ud2", NULL, 0);
    if (sigsetjmp(env, 1) == 0)
        __asm__ volatile("int3");
    else
        report("int3", NULL, 0);
    (void)n;
}

int main(void)
{
    unbuffered_stdout();
    install(SIGSEGV);
    maperr_and_accerr();
    fix_and_retry();
    other_addresses();
    sigbus();
    arithmetic_and_traps();
    printf("done\n");
    return 0;
}
