/*
 * fuzz_syscalls.c - a seeded syscall fuzzer for the lab's kernel.
 *
 *     fuzz_syscalls SEED COUNT [BATCH]
 *
 * Lab only: it must run as pid 1 (inside the lab); as any other pid it prints a
 * refusal and exits 0, so running it on a real machine does nothing harmful.
 *
 * The parent (pid 1) forks one worker per batch and waits for it with a timeout.
 * A worker issues up to BATCH (default 1000) raw syscalls: numbers drawn uniformly
 * from 0..NR_SPAN-1 (every x86-64 number, implemented or not) plus a few outside
 * the table, six arguments each from an adversarial mix (0, -1, small ints and fds,
 * random 64-bit words, pointers into a scratch buffer and across its end into a
 * PROT_NONE guard page, kernel and non-canonical addresses, huge lengths, paths,
 * results of earlier calls).  Its descriptors 3..12 are real files (a regular
 * file, /dev/zero, /dev/urandom, directories, a pipe, /dev/full, a program), so
 * small fd numbers reach real code.  The worker counts everything in a MAP_SHARED page,
 * and writes each call there *before* making it, so when a worker dies the parent
 * still has its figures and knows the call that killed it.  The parent keeps going
 * until COUNT calls have been issued in total, then prints the figures as
 * "key value" lines (asterinas_lab/fuzz.py parses them) and "done".
 *
 * Everything is reproducible: the worker of batch B draws from a xorshift stream
 * seeded with (SEED, B), and the lab's deterministic mode makes the kernel's side
 * reproducible too.
 *
 * What the worker does not do (it would hurt the fuzzing, not the kernel):
 *  - signal its parent: kill/tkill/tgkill/rt_(tg)sigqueueinfo whose pid argument
 *    would reach pid 1, the parent's process group or every process is rewritten
 *    to the worker's own pid (or a pid that does not exist); prlimit64 and
 *    process_vm_* / pidfd_open / ptrace on pid 1 are rewritten likewise; a
 *    clone with CLONE_PARENT (whose child becomes the parent's child) or with
 *    SIGKILL or SIGSTOP as exit signal (which would reach pid 1 if the child is
 *    re-parented there) gets SIGCHLD as its exit signal instead;
 *  - fork bombs: after every call the worker compares gettid() with its own tid
 *    (in the same asm block, using registers only), and anything else (a fork,
 *    vfork or clone child, a thread) calls SYS_exit at once;
 *  - (no longer needed, kept as switches) cap file offsets and address-range
 *    lengths: the first fuzzing runs found that a write at offset 8 GiB allocated
 *    8 GiB of host memory and munmap(addr, 1 << 46) walked its range page by page
 *    for hours. The kernel now refuses files over 256 MiB (EFBIG) and visits only
 *    the page tables that exist, so FILE_CAP and RANGE_CAP are set to "no cap".
 * The parent catches every signal it can (all but SIGKILL, SIGSTOP and SIGCHLD) with
 * a handler that logs it: none should reach it, so each one is reported ("stray").
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NR_SPAN 470          /* x86-64 numbers 0..469 (Linux 6.x ends at 462) */
#define NERR 134             /* errno 1..133 counted one by one */
#define DEFAULT_BATCH 1000
#define TIMEOUT_NS 2000000000LL   /* a worker gets 2 s (virtual time in deterministic mode) */
#define POLL_NS 20000000L         /* the parent checks every 20 ms */
#define FILE_CAP (1L << 62)       /* largest file offset / length the worker passes */
#define RANGE_CAP (1UL << 62)     /* largest address range the worker passes */
#define USER_END (1UL << 47)
#define SCRATCH_PAGES 2
#define PAGE 4096L
#define MAGIC 0x66757a7a73797363ULL  /* "fuzzsysc" */

/* Syscall numbers the worker treats specially. */
enum {
    NR_LSEEK = 8, NR_PWRITE64 = 18, NR_CLONE = 56, NR_EXIT = 60, NR_KILL = 62,
    NR_TRUNCATE = 76, NR_FTRUNCATE = 77, NR_PTRACE = 101, NR_GETPGID = 121,
    NR_RT_SIGQUEUEINFO = 129, NR_PRLIMIT = 302, NR_GETTID = 186, NR_TKILL = 200,
    NR_TGKILL = 234, NR_FALLOCATE = 285, NR_PWRITEV = 296, NR_RT_TGSIGQUEUEINFO = 297,
    NR_PROCESS_VM_READV = 310, NR_PROCESS_VM_WRITEV = 311,
    NR_PWRITEV2 = 328, NR_PIDFD_OPEN = 434, NR_CLONE3 = 435,
    NR_MMAP = 9, NR_MPROTECT = 10, NR_MUNMAP = 11, NR_BRK = 12, NR_MREMAP = 25, NR_MSYNC = 26,
    NR_MINCORE = 27, NR_MADVISE = 28, NR_MLOCK = 149, NR_MUNLOCK = 150,
    NR_REMAP_FILE_PAGES = 216, NR_MBIND = 237, NR_MLOCK2 = 325, NR_PKEY_MPROTECT = 329,
    NR_MAP_SHADOW_STACK = 453, NR_MSEAL = 462,
};
#define MAP_FIXED_FLAGS 0x100010UL   /* MAP_FIXED | MAP_FIXED_NOREPLACE */
#define CLONE_PARENT_FLAG 0x00008000UL
#define CSIGNAL_MASK 0xffUL
#define SIGCHLD_NR 17

/* Shared between the parent and the worker of the current batch. */
struct shared {
    uint64_t magic;
    uint64_t calls;               /* issued (counted before the call) */
    uint64_t returned;            /* came back */
    uint64_t ok;                  /* returned >= 0 */
    uint64_t err[NERR];           /* returned -errno, errno < NERR */
    uint64_t err_other;           /* returned another negative value */
    uint64_t out_of_range;        /* numbers outside 0..NR_SPAN-1 */
    uint64_t rewritten;           /* calls whose arguments were made safe */
    uint64_t finished;            /* the worker completed its batch */
    uint64_t last_nr, last_args[6];
    uint64_t per_nr[NR_SPAN];     /* calls per number */
    uint64_t per_nr_answer[NR_SPAN]; /* ... that returned something other than -ENOSYS */
};

/* ------------------------------------------------------------------ random */

static uint64_t rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint64_t below(uint64_t n) { return rnd() % n; }

/* --------------------------------------------------------------- syscalls */

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "+a"(n), "+D"(a), "+S"(b), "+d"(c), "+r"(r10), "+r"(r8), "+r"(r9)
                     :
                     : "rcx", "r11", "memory", "cc");
    return n;
}

/*
 * The fuzzed call.  Right after it, still in registers only (no stack, no memory:
 * a clone child may have a garbage stack pointer or share our memory), check
 * gettid() against ours and SYS_exit if it differs.
 */
static long fuzz_call(long n, long a, long b, long c, long d, long e, long f, long tid)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    register long r12 __asm__("r12") = tid;
    __asm__ volatile("syscall\n\t"
                     "mov %%rax, %%r13\n\t"
                     "mov $186, %%eax\n\t"      /* gettid */
                     "syscall\n\t"
                     "cmp %%rax, %%r12\n\t"
                     "je 1f\n\t"
                     "mov $60, %%eax\n\t"       /* exit (this thread only) */
                     "xor %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:\n\t"
                     "mov %%r13, %%rax\n\t"
                     : "+a"(n), "+D"(a), "+S"(b), "+d"(c), "+r"(r10), "+r"(r8), "+r"(r9)
                     : "r"(r12)
                     : "rcx", "r11", "r13", "memory", "cc");
    return n;
}

/* The kernel's struct sigaction, and a restorer: installed with the raw syscall so
 * that 32..34 (which musl keeps for itself and refuses) are caught as well. */
struct ksigaction {
    void *handler;
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};
void fuzz_restore_rt(void);
__asm__(".text\n"
        ".global fuzz_restore_rt\n"
        "fuzz_restore_rt:\n\t"
        "mov $15, %eax\n\t"
        "syscall\n\t"
        "ud2\n");

/* ------------------------------------------------------------ arguments */

static const char *const PATHS[] = {
    "/tmp/fz", "/", "/dev/null", "/tmp", "", ".", "..", "/tmp/fz/x", "/bin/tiny",
    "/nonexistent", "/dev", "/tmp/fz2", "fz", "/proc/self/exe", "//tmp/../tmp/fz",
    "/dev/zero", "/dev/urandom", "/dev/full",
};
#define NPATHS (sizeof PATHS / sizeof PATHS[0])
static char long_path[5000];    /* longer than PATH_MAX: ENAMETOOLONG */

static unsigned char *scratch;  /* SCRATCH_PAGES read-write pages, then a PROT_NONE page */
static uint64_t recent[8];      /* results of recent calls (fds, addresses, pids) */
static uint64_t my_pid;

static uint64_t scratch_ptr(void)
{
    switch (below(4)) {
    case 0: return (uint64_t)scratch;
    case 1: return (uint64_t)scratch + (below(SCRATCH_PAGES * PAGE) & ~7UL);
    case 2: return (uint64_t)scratch + below(SCRATCH_PAGES * PAGE);
    default: return (uint64_t)scratch + SCRATCH_PAGES * PAGE - 1 - below(64);  /* straddles the guard */
    }
}

static uint64_t word(void)
{
    static const uint64_t huge[] = {
        0x7fffffff, 0x80000000, 0xffffffff, 0x7ffff000, 1UL << 32, 1UL << 40, 1UL << 47,
        0x7fffffffffffffffUL, 0x8000000000000000UL, ~0UL, ~0UL - 4095, 0x100000000000UL,
    };
    switch (below(28)) {
    case 0: case 1: return 0;
    case 2: return 1;
    case 3: case 4: return ~0UL;                                  /* -1 */
    case 5: case 6: return (uint64_t)(int64_t)((int)below(46) - 5);  /* -5..40 */
    case 7: return below(13);                                     /* the worker's fds */
    case 8: return rnd();
    case 9: return (uint32_t)rnd();
    case 10: case 11: case 12: return scratch_ptr();
    case 13: return (uint64_t)scratch + SCRATCH_PAGES * PAGE + below(PAGE);  /* the guard page */
    case 14: return 0xffff888000000000UL + below(1 << 20) * PAGE;          /* kernel direct map */
    case 15: return 0xffffffff80000000UL + below(1 << 16);                 /* kernel text */
    case 16: {
        static const uint64_t bad[] = {0x8000000000000000UL, 0x0000800000000000UL,
                                       0x00007ffffffff000UL, 0xfffffffffffff000UL, 0x1000};
        return bad[below(5)];
    }
    case 17: return below(PAGE);                                           /* NULL page */
    case 18: return huge[below(sizeof huge / sizeof huge[0])];
    case 19: return rnd() & 0x00007ffffffff000UL;                          /* page-aligned user */
    case 20: case 21: return (uint64_t)PATHS[below(NPATHS)];
    case 22: return below(8) ? (uint64_t)PATHS[0] : (uint64_t)long_path;
    case 23: return 1UL << below(64);                                      /* one flag bit */
    case 24: return (1UL << below(64)) - 1 + below(3);                    /* 2^n - 1 .. 2^n + 1 */
    case 25: case 26: return recent[below(8)];
    default: return (uint64_t)(below(2) ? 4096 : 8) * below(4);            /* sizes: 0, 8, 16, ... */
    }
}

/* Refill some scratch words: structures read from user memory (timespecs, iovecs,
 * sigactions, argv arrays) then contain plausible values. */
static void refill_scratch(int words)
{
    uint64_t *w = (uint64_t *)scratch;
    for (int i = 0; i < words; i++)
        w[below(SCRATCH_PAGES * PAGE / 8)] = word();
}

/* ------------------------------------------------------- making calls safe */

static long parent_pgid;

/* Would a kill()-style pid argument reach the parent?  pid_t is the low 32 bits. */
static int targets_parent(uint64_t pid)
{
    int p = (int)pid;
    if (p == 1 || p == 0 || p == -1 || (long)p == -parent_pgid)
        return 1;
    if (p < 0) {    /* a process group: also refuse the parent's group of the moment */
        long pg = sys6(NR_GETPGID, 1, 0, 0, 0, 0, 0);
        if (pg > 0 && -(long)p == pg)
            return 1;
    }
    return 0;
}

static uint64_t safe_pid(void)
{
    return below(2) ? my_pid : 99999;   /* ourselves, or a pid that does not exist */
}

static uint64_t cap_file(uint64_t v)
{
    int64_t s = (int64_t)v;
    return s > FILE_CAP ? v % FILE_CAP : v;
}

/* An address-range length the kernel would walk page by page: at most RANGE_CAP
 * (lengths past the user half fail at once and are kept). */
static uint64_t cap_range(uint64_t v)
{
    return v > RANGE_CAP && v <= USER_END ? v % RANGE_CAP : v;
}

/* Returns 1 if an argument was changed. */
static int make_safe(uint64_t nr, uint64_t *a)
{
    uint64_t before[6];
    memcpy(before, a, sizeof before);
    switch (nr) {
    case NR_KILL:
    case NR_RT_SIGQUEUEINFO:
        if (targets_parent(a[0]))
            a[0] = safe_pid();
        break;
    case NR_TKILL:                      /* tids: only the parent's (1) matters */
        if ((int)a[0] == 1)
            a[0] = safe_pid();
        break;
    case NR_TGKILL:
    case NR_RT_TGSIGQUEUEINFO:
        if ((int)a[0] == 1 || (int)a[1] == 1) {
            a[0] = my_pid;
            a[1] = safe_pid();
        }
        break;
    case NR_PTRACE:
        if ((int)a[1] == 1)
            a[1] = safe_pid();
        break;
    case NR_PRLIMIT:
    case NR_PROCESS_VM_READV:
    case NR_PROCESS_VM_WRITEV:
    case NR_PIDFD_OPEN:
        if ((int)a[0] == 1)
            a[0] = nr == NR_PRLIMIT && below(2) ? 0 : safe_pid();
        break;
    case NR_CLONE:
        /* The child's exit signal goes to the parent with CLONE_PARENT, and (in the
         * lab) to pid 1 when the child is re-parented there: never SIGKILL or
         * SIGSTOP, which the parent cannot catch. */
        if (a[0] & CLONE_PARENT_FLAG || (a[0] & CSIGNAL_MASK) == 9 || (a[0] & CSIGNAL_MASK) == 19)
            a[0] = (a[0] & ~CSIGNAL_MASK) | SIGCHLD_NR;
        break;
    case NR_CLONE3:
        a[0] = 0;   /* struct clone_args in memory we cannot vet: pass NULL (EFAULT) */
        break;
    case NR_LSEEK:
        a[1] = cap_file(a[1]);
        break;
    case NR_MMAP:
        if (a[3] & MAP_FIXED_FLAGS)
            a[1] = cap_range(a[1]);
        break;
    case NR_MPROTECT: case NR_MUNMAP: case NR_MSYNC: case NR_MINCORE: case NR_MADVISE:
    case NR_MLOCK: case NR_MUNLOCK: case NR_REMAP_FILE_PAGES: case NR_MBIND: case NR_MLOCK2:
    case NR_PKEY_MPROTECT: case NR_MAP_SHADOW_STACK: case NR_MSEAL:
        a[1] = cap_range(a[1]);
        break;
    case NR_MREMAP:
        a[1] = cap_range(a[1]);
        a[2] = cap_range(a[2]);
        break;
    case NR_BRK: {
        /* A heap grown by more than RANGE_CAP would be walked when it shrinks. */
        uint64_t cur = (uint64_t)sys6(NR_BRK, 0, 0, 0, 0, 0, 0);
        if (a[0] > cur + RANGE_CAP && a[0] < USER_END)
            a[0] = cur + a[0] % RANGE_CAP;
        break;
    }
    case NR_PWRITE64:
        a[3] = cap_file(a[3]);
        break;
    case NR_TRUNCATE:
    case NR_FTRUNCATE:
        a[1] = cap_file(a[1]);
        break;
    case NR_FALLOCATE:
        a[2] = cap_file(a[2]);
        a[3] = cap_file(a[3]);
        break;
    case NR_PWRITEV:
    case NR_PWRITEV2:
        a[3] = cap_file(a[3]);
        a[4] = 0;
        break;
    }
    return memcmp(before, a, sizeof before) != 0;
}

/* ------------------------------------------------------------------ worker */

/* Descriptors 3..12 of a worker are real files, so small fd numbers reach real
 * code: a regular file, character devices, directories, a pipe (7, 8: the worker's
 * own) and a program.  The parent opens the files once, before the first fork, so
 * they stay reachable even after a worker unlinks their paths. */
static void open_resources(void)
{
    static const struct { const char *path; int flags; } files[] = {
        {"/tmp/fz", O_RDWR | O_CREAT}, {"/dev/zero", O_RDWR}, {"/dev/urandom", O_RDONLY},
        {"/", O_RDONLY | O_DIRECTORY}, {NULL, 0}, {NULL, 0}, {"/tmp", O_RDONLY | O_DIRECTORY},
        {"/dev/full", O_RDWR}, {"/bin/tiny", O_RDONLY}, {"/dev/null", O_WRONLY | O_APPEND},
    };
    for (int i = 0; i < (int)(sizeof files / sizeof files[0]); i++) {
        int fd = 3 + i, got;
        if (files[i].path != NULL && (got = open(files[i].path, files[i].flags, 0600)) >= 0 && got != fd) {
            dup2(got, fd);
            close(got);
        }
    }
}

static void worker(struct shared *sh, uint64_t seed, uint64_t batch, long count, int devnull)
{
    uint64_t s = seed * 0x100000001b3ULL ^ batch;
    rng = splitmix(&s) | 1;
    setpgid(0, 0);
    struct ksigaction dfl = {0, 0, 0, 0};    /* SIG_DFL: not the parent's counting handler */
    for (int sig = 1; sig < 65; sig++)
        sys6(13, sig, (long)&dfl, 0, 8, 0, 0);
    for (int fd = 0; fd < 3; fd++)
        dup2(devnull, fd);
    close(devnull);
    int p[2];
    pipe(p);                           /* 7 and 8, the free slots among the resources */
    my_pid = (uint64_t)sys6(39, 0, 0, 0, 0, 0, 0);            /* getpid */
    long tid = sys6(NR_GETTID, 0, 0, 0, 0, 0, 0);
    scratch = mmap(NULL, (SCRATCH_PAGES + 1) * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (scratch == MAP_FAILED)
        sys6(231, 3, 0, 0, 0, 0, 0);
    mprotect(scratch + SCRATCH_PAGES * PAGE, PAGE, PROT_NONE);
    memset(long_path, 'a', sizeof long_path - 1);
    for (int i = 0; i < 8; i++)
        recent[i] = (uint64_t)(int64_t)((int)below(8) - 1);
    refill_scratch(SCRATCH_PAGES * PAGE / 8);

    for (long i = 0; i < count; i++) {
        if (i % 16 == 15)
            refill_scratch(32);
        uint64_t nr, a[6];
        switch (below(64)) {
        case 0: nr = NR_SPAN + below(600); break;                 /* past the table */
        case 1: nr = rnd(); break;                                /* any 64-bit number */
        case 2: nr = 0x40000000UL | below(NR_SPAN); break;        /* the x32 bit */
        default: nr = below(NR_SPAN); break;
        }
        for (int k = 0; k < 6; k++)
            a[k] = word();
        /* Vet the call as the number any kernel could take it for: Linux reads only
         * the low 32 bits of RAX, and x32 kernels ignore the x32 bit. */
        if (make_safe((uint32_t)nr & ~0x40000000U, a))
            sh->rewritten++;
        sh->last_nr = nr;
        memcpy(sh->last_args, a, sizeof a);
        sh->calls++;
        if (nr < NR_SPAN)
            sh->per_nr[nr]++;
        else
            sh->out_of_range++;
        long r = fuzz_call((long)nr, a[0], a[1], a[2], a[3], a[4], a[5], tid);
        sh->returned++;
        if (r >= 0) {
            sh->ok++;
            recent[below(8)] = (uint64_t)r;
        } else if (r >= -NERR + 1) {
            sh->err[-r]++;
        } else {
            sh->err_other++;
        }
        if (nr < NR_SPAN && r != -38)
            sh->per_nr_answer[nr]++;
    }
    sh->finished = 1;
    sys6(231, 0, 0, 0, 0, 0, 0);   /* exit_group */
}

/* ------------------------------------------------------------------ parent */

/* Signals that reach the parent: counted per number, and the last STRAY_LOG of
 * each batch kept with how they were sent (si_code, si_pid). */
#define STRAY_LOG 32
static volatile uint64_t stray_signals[65];
static volatile struct { int sig, code, pid; } stray_log[STRAY_LOG];
static volatile int stray_n;

static void count_signal(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    if (sig > 0 && sig < 65)
        stray_signals[sig]++;
    int i = stray_n++;
    if (i < STRAY_LOG) {
        stray_log[i].sig = sig;
        stray_log[i].code = info ? info->si_code : 0;
        stray_log[i].pid = info ? info->si_pid : 0;
    }
}

static void catch_all_signals(void)
{
    struct ksigaction ka = {(void *)count_signal, SA_SIGINFO | SA_RESTART | 0x04000000 /* SA_RESTORER */,
                            fuzz_restore_rt, 0};
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
            sys6(13, sig, (long)&ka, 0, 8, 0, 0);   /* rt_sigaction */
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void nap(void)
{
    struct timespec ts = {0, POLL_NS};
    nanosleep(&ts, NULL);      /* EINTR from a stray signal is fine */
}

static int valid(const struct shared *sh)
{
    if (sh->magic != MAGIC)
        return 0;
    uint64_t sum = sh->ok + sh->err_other, issued = sh->out_of_range;
    for (int e = 0; e < NERR; e++)
        sum += sh->err[e];
    for (int n = 0; n < NR_SPAN; n++)
        issued += sh->per_nr[n];
    return sum == sh->returned && issued == sh->calls &&
           (sh->returned == sh->calls || sh->returned + 1 == sh->calls);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (getpid() != 1) {
        printf("fuzz_syscalls: not pid 1, refusing to run (it is meant for the lab)\n");
        return 0;
    }
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
    long total = argc > 2 ? atol(argv[2]) : 10000;
    long batch_size = argc > 3 ? atol(argv[3]) : DEFAULT_BATCH;
    if (batch_size <= 0)
        batch_size = DEFAULT_BATCH;

    catch_all_signals();

    open_resources();
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int devnull = open("/dev/null", O_RDWR);
    if (sh == MAP_FAILED || devnull < 0) {
        printf("fuzz_syscalls: setup failed\n");
        return 2;
    }
    parent_pgid = getpgrp();
    printf("seed %llu\nrequested %ld\nbatch_size %ld\n", (unsigned long long)seed, total, batch_size);

    static uint64_t per_nr[NR_SPAN], per_nr_answer[NR_SPAN], err[NERR];
    uint64_t calls = 0, returned = 0, ok = 0, err_other = 0, out_of_range = 0, rewritten = 0;
    uint64_t batches = 0, completed = 0, exited_early = 0, timeouts = 0, lost = 0, fork_failed = 0;
    uint64_t orphans = 0, by_signal[65] = {0};
    long max_batches = total + 1000;

    while ((long)calls < total && (long)batches < max_batches) {
        memset(sh, 0, sizeof *sh);
        sh->magic = MAGIC;
        long want = total - (long)calls < batch_size ? total - (long)calls : batch_size;
        pid_t pid = fork();
        if (pid == 0) {
            worker(sh, seed, batches, want, devnull);
            _exit(0);
        }
        if (pid < 0) {
            fork_failed++;
            if (fork_failed > 100)
                break;
            nap();
            continue;
        }
        int64_t deadline = now_ns() + TIMEOUT_NS;
        int status = 0, timed_out = 0;
        for (;;) {
            pid_t r = waitpid(-1, &status, WNOHANG | __WALL);
            if (r == pid)
                break;
            if (r > 0) {
                orphans++;
                continue;
            }
            if (r < 0) {      /* ECHILD: the worker vanished without a status */
                status = -1;
                break;
            }
            if (!timed_out && now_ns() > deadline) {
                timed_out = 1;
                kill(pid, SIGKILL);
            }
            nap();
        }
        kill(-pid, SIGKILL);          /* anything left in the worker's group */
        while (waitpid(-1, NULL, WNOHANG | __WALL) > 0)
            orphans++;
        batches++;
        /* stray BATCH PID SIGNAL SI_CODE SENDER: a signal that reached the parent */
        for (int i = 0; i < stray_n && i < STRAY_LOG; i++)
            printf("stray %llu %d %d %d %d\n", (unsigned long long)(batches - 1), pid,
                   stray_log[i].sig, stray_log[i].code, stray_log[i].pid);
        stray_n = 0;

        const char *how;
        char howbuf[32];
        if (timed_out) {
            timeouts++;
            how = "timeout";
        } else if (status != -1 && WIFSIGNALED(status)) {
            int sig = WTERMSIG(status);
            by_signal[sig > 0 && sig < 65 ? sig : 0]++;
            snprintf(howbuf, sizeof howbuf, "signal:%d", WTERMSIG(status));
            how = howbuf;
        } else if (status != -1 && WIFEXITED(status) && sh->finished) {
            completed++;
            how = NULL;
        } else {
            exited_early++;
            snprintf(howbuf, sizeof howbuf, "exit:%d", status == -1 ? -1 : WEXITSTATUS(status));
            how = howbuf;
        }
        if (!valid(sh)) {
            lost++;
            printf("lost %llu %d\n", (unsigned long long)(batches - 1), pid);
            continue;
        }
        calls += sh->calls;
        returned += sh->returned;
        ok += sh->ok;
        err_other += sh->err_other;
        out_of_range += sh->out_of_range;
        rewritten += sh->rewritten;
        for (int e = 0; e < NERR; e++)
            err[e] += sh->err[e];
        for (int n = 0; n < NR_SPAN; n++) {
            per_nr[n] += sh->per_nr[n];
            per_nr_answer[n] += sh->per_nr_answer[n];
        }
        if (how != NULL) {
            /* end BATCH PID CALLS HOW LAST_NR A0..A5 (hex) */
            printf("end %llu %d %llu %s %llx", (unsigned long long)(batches - 1), pid,
                   (unsigned long long)sh->calls, how, (unsigned long long)sh->last_nr);
            for (int k = 0; k < 6; k++)
                printf(" %llx", (unsigned long long)sh->last_args[k]);
            printf("\n");
        }
    }

    unsigned tried = 0, answered = 0;
    for (int n = 0; n < NR_SPAN; n++) {
        tried += per_nr[n] != 0;
        answered += per_nr_answer[n] != 0;
    }
    printf("calls %llu\n", (unsigned long long)calls);
    printf("returned %llu\n", (unsigned long long)returned);
    printf("succeeded %llu\n", (unsigned long long)ok);
    printf("out_of_range %llu\n", (unsigned long long)out_of_range);
    printf("rewritten %llu\n", (unsigned long long)rewritten);
    printf("numbers_span %d\n", NR_SPAN);
    printf("numbers_tried %u\n", tried);
    printf("numbers_answered %u\n", answered);
    printf("batches %llu\n", (unsigned long long)batches);
    printf("completed %llu\n", (unsigned long long)completed);
    printf("exited_early %llu\n", (unsigned long long)exited_early);
    printf("timeouts %llu\n", (unsigned long long)timeouts);
    printf("lost %llu\n", (unsigned long long)lost);
    printf("fork_failed %llu\n", (unsigned long long)fork_failed);
    printf("orphans %llu\n", (unsigned long long)orphans);
    for (int sig = 0; sig < 65; sig++)
        if (by_signal[sig])
            printf("signal %d %llu\n", sig, (unsigned long long)by_signal[sig]);
    for (int e = 1; e < NERR; e++)
        if (err[e])
            printf("errno %d %llu\n", e, (unsigned long long)err[e]);
    printf("errno_other %llu\n", (unsigned long long)err_other);
    for (int sig = 1; sig < 65; sig++)
        if (stray_signals[sig])
            printf("parent_signal %d %llu\n", sig, (unsigned long long)stray_signals[sig]);
    printf("done\n");
    return 0;
}
