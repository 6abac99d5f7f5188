/*
 * mmap_semantics.c - mmap/munmap/mprotect/mremap/madvise/msync and brk.
 *
 * Faults are caught by a SIGSEGV handler that siglongjmps back, so each
 * probe prints "ok" or "segv".  Checked: anonymous memory reads zeros;
 * access after munmap, to PROT_NONE, and writes after mprotect(PROT_READ)
 * fault; MAP_FIXED replaces part of a mapping; MAP_FIXED_NOREPLACE gives
 * EEXIST; invalid arguments (EINVAL, EBADF, EACCES, ENOMEM); mremap grows
 * (keeping the contents) and shrinks; MADV_DONTNEED zeroes private anonymous
 * memory and reverts a private file mapping to the file's contents; file
 * mappings (MAP_PRIVATE copies, MAP_SHARED writes reach the file); brk.
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
#include <sys/syscall.h>
#include <unistd.h>

#include "checks.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE 4096ul
#define FILE_PATH "/tmp/mmap_semantics.dat"

static sigjmp_buf env;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(env, 1);
}

static const char *probe_read(const volatile char *p)
{
    if (sigsetjmp(env, 1) == 0) {
        (void)*p;
        return "ok";
    }
    return "segv";
}

static const char *probe_write(volatile char *p)
{
    if (sigsetjmp(env, 1) == 0) {
        *p = *p;
        return "ok";
    }
    return "segv";
}

static int all_bytes(const char *p, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

static char *map_anon(size_t len, int prot)
{
    char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        fatal("mmap");
    return p;
}

static void protection_tests(void)
{
    char *p = map_anon(16 * PAGE, PROT_READ | PROT_WRITE);
    yesno("anonymous private mmap reads zeros", all_bytes(p, 16 * PAGE, 0));
    memset(p, 'x', 16 * PAGE);
    printf("write then read back: %s\n", all_bytes(p, 16 * PAGE, 'x') ? "ok" : "wrong");

    show("munmap the middle 4 pages", munmap(p + 6 * PAGE, 4 * PAGE));
    printf("read just below the hole: %s\n", probe_read(p + 6 * PAGE - 1));
    printf("read in the hole: %s\n", probe_read(p + 7 * PAGE));
    printf("read just above the hole: %s\n", probe_read(p + 10 * PAGE));
    show("munmap the rest (spanning the hole)", munmap(p, 16 * PAGE));
    printf("read after munmap: %s\n", probe_read(p));

    p = map_anon(PAGE, PROT_NONE);
    printf("PROT_NONE: read %s, write %s\n", probe_read(p), probe_write(p));
    show("mprotect(PROT_READ)", mprotect(p, PAGE, PROT_READ));
    printf("PROT_READ: read %s, write %s\n", probe_read(p), probe_write(p));
    show("mprotect(PROT_READ|PROT_WRITE)", mprotect(p, PAGE, PROT_READ | PROT_WRITE));
    p[10] = 42;
    show("mprotect(PROT_READ) after a write", mprotect(p, PAGE, PROT_READ));
    printf("read-only page keeps its data: %d, write %s\n", p[10], probe_write(p + 10));
    show("mprotect(PROT_NONE)", mprotect(p, PAGE, PROT_NONE));
    printf("PROT_NONE again: read %s\n", probe_read(p));
    show("mprotect(PROT_READ) restores access", mprotect(p, PAGE, PROT_READ));
    printf("data survived PROT_NONE: %d\n", p[10]);
    errno = 0;
    show("mprotect with bad flags", mprotect(p, PAGE, 0x100));
    errno = 0;
    /* raw: musl's mprotect() rounds the address down to a page itself */
    show("mprotect misaligned", syscall(SYS_mprotect, p + 1, PAGE, PROT_READ));
    munmap(p, PAGE);
    errno = 0;
    show("mprotect on unmapped memory", mprotect(p, PAGE, PROT_READ));
}

static void fixed_tests(void)
{
    char *p = map_anon(3 * PAGE, PROT_READ | PROT_WRITE);
    memset(p, 'A', 3 * PAGE);
    char *q = mmap(p + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED over the middle page: at the requested address %s\n", q == p + PAGE ? "yes" : "no");
    printf("after MAP_FIXED: first page 'A' %s, middle zeros %s, last page 'A' %s\n",
           all_bytes(p, PAGE, 'A') ? "yes" : "no", all_bytes(p + PAGE, PAGE, 0) ? "yes" : "no",
           all_bytes(p + 2 * PAGE, PAGE, 'A') ? "yes" : "no");
    errno = 0;
    q = mmap(p + PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE on a mapped page: %s %s\n", q == MAP_FAILED ? "MAP_FAILED" : "mapped",
           q == MAP_FAILED ? errname(errno) : "");
    munmap(p + 2 * PAGE, PAGE);
    q = mmap(p + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("MAP_FIXED_NOREPLACE on a free page: at the requested address %s\n", q == p + 2 * PAGE ? "yes" : "no");
    errno = 0;
    q = mmap(p + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED at a misaligned address: %s %s\n", q == MAP_FAILED ? "MAP_FAILED" : "mapped",
           q == MAP_FAILED ? errname(errno) : "");
    munmap(p, 3 * PAGE);
}

static void argument_errors(void)
{
    void *q;
#define TRY(label, call)                                                                             \
    do {                                                                                             \
        errno = 0;                                                                                   \
        q = (call);                                                                                  \
        printf("%s: %s %s\n", label, q == MAP_FAILED ? "MAP_FAILED" : "mapped",                    \
               q == MAP_FAILED ? errname(errno) : "");                                               \
    } while (0)
    TRY("mmap length 0", mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    TRY("mmap neither MAP_PRIVATE nor MAP_SHARED", mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0));
    TRY("mmap of a bad fd", mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0));
    TRY("mmap 256 TiB", mmap(NULL, 1ul << 48, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
#undef TRY
    char *p = map_anon(2 * PAGE, PROT_READ);
    errno = 0;
    show("munmap misaligned", munmap(p + 1, PAGE));
    errno = 0;
    show("munmap length 0", munmap(p, 0));
    show("munmap of an unmapped range", (munmap(p, 2 * PAGE), munmap(p, 2 * PAGE)));
    errno = 0;
    show("msync on unmapped memory", msync(p, PAGE, MS_SYNC));
    errno = 0;
    show("madvise(MADV_DONTNEED) misaligned", madvise(p + 1, PAGE, MADV_DONTNEED));
}

static void mremap_tests(void)
{
    char *p = map_anon(2 * PAGE, PROT_READ | PROT_WRITE);
    for (size_t i = 0; i < 2 * PAGE; i++)
        p[i] = (char)(i % 251);
    char *q = mremap(p, 2 * PAGE, 64 * PAGE, MREMAP_MAYMOVE);
    if (q == MAP_FAILED) {
        printf("mremap grow: %s\n", errname(errno));
        return;
    }
    int same = 1;
    for (size_t i = 0; i < 2 * PAGE; i++)
        same &= q[i] == (char)(i % 251);
    printf("mremap grow to 64 pages: contents kept %s, new part zeros %s, last byte writable %s\n",
           same ? "yes" : "no", all_bytes(q + 2 * PAGE, 62 * PAGE, 0) ? "yes" : "no",
           probe_write(q + 64 * PAGE - 1));
    char *r = mremap(q, 64 * PAGE, PAGE, 0);
    printf("mremap shrink to 1 page: same address %s, contents kept %s, page 2 %s\n", r == q ? "yes" : "no",
           q[100] == (char)100 ? "yes" : "no", probe_read(q + PAGE));
    errno = 0;
    r = mremap(q, PAGE, 2 * PAGE, 0x80);
    printf("mremap with bad flags: %s %s\n", r == MAP_FAILED ? "MAP_FAILED" : "ok", errname(errno));
    errno = 0;
    r = mremap(q + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    printf("mremap misaligned: %s %s\n", r == MAP_FAILED ? "MAP_FAILED" : "ok", errname(errno));

    /* MREMAP_FIXED to a spot we reserved. */
    char *target = map_anon(4 * PAGE, PROT_NONE);
    r = mremap(q, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, target + PAGE);
    printf("mremap MREMAP_FIXED: at the target %s, contents moved %s, old address %s\n",
           r == target + PAGE ? "yes" : "no", r != MAP_FAILED && r[100] == (char)100 ? "yes" : "no",
           probe_read(q));
    munmap(target, 4 * PAGE);
}

static void madvise_tests(void)
{
    char *p = map_anon(8 * PAGE, PROT_READ | PROT_WRITE);
    memset(p, 'z', 8 * PAGE);
    show("madvise(MADV_DONTNEED)", madvise(p + 2 * PAGE, 4 * PAGE, MADV_DONTNEED));
    printf("after MADV_DONTNEED: zeros in the range %s, outside untouched %s\n",
           all_bytes(p + 2 * PAGE, 4 * PAGE, 0) ? "yes" : "no",
           all_bytes(p, 2 * PAGE, 'z') && all_bytes(p + 6 * PAGE, 2 * PAGE, 'z') ? "yes" : "no");
    show("madvise(MADV_WILLNEED)", madvise(p, 8 * PAGE, MADV_WILLNEED));
    show("madvise(MADV_NORMAL)", madvise(p, 8 * PAGE, MADV_NORMAL));
    errno = 0;
    show("madvise(bad advice)", madvise(p, PAGE, 12345));
    munmap(p, 8 * PAGE);
}

static void file_tests(void)
{
    size_t len = 3 * PAGE + 100;
    char buf[3 * 4096 + 100];
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + i % 26);
    int fd = open(FILE_PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        fatal("open");
    if (write(fd, buf, len) != (ssize_t)len)
        fatal("write");

    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED)
        fatal("mmap file");
    printf("MAP_PRIVATE file mapping matches the file: %s\n", memcmp(p, buf, len) == 0 ? "yes" : "no");
    printf("bytes past EOF in the last page are zero: %s\n", all_bytes(p + len, 4 * PAGE - len, 0) ? "yes" : "no");
    p[5] = '#';
    char c = 0;
    if (pread(fd, &c, 1, 5) != 1)
        fatal("pread");
    printf("MAP_PRIVATE write: mapping '%c', file '%c'\n", p[5], c);
    show("madvise(MADV_DONTNEED) on the private file mapping", madvise(p, PAGE, MADV_DONTNEED));
    printf("after MADV_DONTNEED the page is the file's again: '%c'\n", p[5]);
    munmap(p, len);

    p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
    printf("mapping at offset 1 page starts with file byte 4096: %s\n",
           p != MAP_FAILED && p[0] == buf[PAGE] ? "yes" : "no");
    if (p != MAP_FAILED)
        munmap(p, 2 * PAGE);
    errno = 0;
    p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 100);
    printf("mapping at a misaligned offset: %s %s\n", p == MAP_FAILED ? "MAP_FAILED" : "mapped", errname(errno));

    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        fatal("mmap shared");
    memcpy(p + PAGE - 2, "SHARED", 6);      /* straddles a page boundary */
    char back[7] = { 0 };
    if (pread(fd, back, 6, PAGE - 2) != 6)
        fatal("pread");
    printf("MAP_SHARED write visible to read() before msync: %s\n", strcmp(back, "SHARED") == 0 ? "yes" : "no");
    show("msync(MS_SYNC)", msync(p, len, MS_SYNC));
    errno = 0;
    show("msync with MS_SYNC|MS_ASYNC", msync(p, len, MS_SYNC | MS_ASYNC));
    show("munmap", munmap(p, len));
    memset(back, 0, sizeof back);
    if (lseek(fd, PAGE - 2, SEEK_SET) < 0 || read(fd, back, 6) != 6)
        fatal("read");
    printf("after munmap, read() sees \"%s\"\n", back);
    close(fd);

    fd = open(FILE_PATH, O_RDONLY);
    errno = 0;
    p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("writable MAP_SHARED of an O_RDONLY fd: %s %s\n", p == MAP_FAILED ? "MAP_FAILED" : "mapped",
           errname(errno));
    p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("writable MAP_PRIVATE of an O_RDONLY fd: %s\n", p == MAP_FAILED ? "MAP_FAILED" : "mapped");
    if (p != MAP_FAILED)
        munmap(p, PAGE);
    close(fd);
    unlink(FILE_PATH);
}

static void brk_tests(void)
{
    /* Raw brk: the libc's idea of the break is left exactly as it was. */
    uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
    uintptr_t base = (cur + PAGE - 1) & ~(PAGE - 1);     /* start on a fresh page */
    printf("brk to the next page boundary: %s\n", (uintptr_t)syscall(SYS_brk, base) == base ? "yes" : "no");
    uintptr_t grown = (uintptr_t)syscall(SYS_brk, base + 64 * 1024);
    printf("brk grow by 64 KiB: %s\n", grown == base + 64 * 1024 ? "yes" : "no");
    char *area = (char *)base;
    yesno("new brk memory reads zeros", all_bytes(area, 64 * 1024, 0));
    memset(area, 7, 64 * 1024);
    printf("new brk memory writable: %s\n", all_bytes(area, 64 * 1024, 7) ? "yes" : "no");
    uintptr_t shrunk = (uintptr_t)syscall(SYS_brk, base);
    printf("brk shrink back: %s, old area now %s\n", shrunk == base ? "yes" : "no", probe_read(area + 8192));
    uintptr_t bad = (uintptr_t)syscall(SYS_brk, 0x1000);
    printf("brk below the start leaves the break unchanged: %s\n", bad == base ? "yes" : "no");
    grown = (uintptr_t)syscall(SYS_brk, base + 8192);
    printf("brk grow again: reads zeros %s\n", grown == base + 8192 && all_bytes(area, 8192, 0) ? "yes" : "no");
    printf("brk back to where the libc left it: %s\n", (uintptr_t)syscall(SYS_brk, cur) == cur ? "yes" : "no");
}

int main(void)
{
    unbuffered_stdout();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_segv;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) < 0 || sigaction(SIGBUS, &sa, NULL) < 0)
        fatal("sigaction");
    protection_tests();
    fixed_tests();
    argument_errors();
    mremap_tests();
    madvise_tests();
    file_tests();
    brk_tests();
    printf("done\n");
    return 0;
}
