/*
 * rlimits_misc.c - resource limits, sessions and process groups,
 * credentials, and assorted process-wide queries.
 *
 * - getrlimit/setrlimit/prlimit64: RLIMIT_NOFILE lowered so that the next
 *   open() fails with EMFILE, RLIMIT_AS lowered so that a big mmap fails
 *   with ENOMEM, RLIMIT_STACK and RLIMIT_NPROC read and written back,
 *   soft > hard and a bad resource give EINVAL (host limits are never
 *   printed, only compared);
 * - uname (sysname and machine only), sysinfo, sched_yield,
 *   sched_getaffinity/sched_setaffinity, getcpu, getrusage, prctl
 *   PR_SET_NAME/PR_GET_NAME, umask;
 * - sessions and groups: a child's setsid() makes it session and group
 *   leader, a group leader's setsid() fails with EPERM, setpgid(0, 0),
 *   ESRCH for a pid that does not exist;
 * - credentials (run as root: all 0), setuid(0)/setgid(0)/setresuid(-1...).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

#define NO_SUCH_PID 0x3ffffff0

static long raw_prlimit64(pid_t pid, int resource, const struct rlimit *new_limit, struct rlimit *old)
{
    return syscall(SYS_prlimit64, pid, resource, new_limit, old);
}

static void nofile_tests(void)
{
    struct rlimit old, lim;
    show("getrlimit(RLIMIT_NOFILE)", getrlimit(RLIMIT_NOFILE, &old));
    yesno("NOFILE soft <= hard", old.rlim_cur <= old.rlim_max);
    int open_before = 0;
    for (int fd = 0; fd < 16; fd++)
        open_before += fcntl(fd, F_GETFD) >= 0;
    lim = old;
    lim.rlim_cur = 16;
    show("setrlimit(RLIMIT_NOFILE, soft 16)", setrlimit(RLIMIT_NOFILE, &lim));
    struct rlimit now;
    getrlimit(RLIMIT_NOFILE, &now);
    printf("getrlimit reads back soft %lu, hard unchanged %s\n", (unsigned long)now.rlim_cur,
           now.rlim_max == old.rlim_max ? "yes" : "no");
    int fds[32], n = 0, err = 0;
    while (n < 32) {
        int fd = open("/", O_RDONLY | O_DIRECTORY);
        if (fd < 0) {
            err = errno;
            break;
        }
        fds[n++] = fd;
    }
    printf("open() until it fails: fds already open + opened = %d, then %s\n", open_before + n, errname(err));
    errno = 0;
    show("dup(0) at the limit", dup(0));
    errno = 0;
    show("fcntl(0, F_DUPFD, 16) beyond the limit", fcntl(0, F_DUPFD, 16));
    errno = 0;
    show("dup2(0, 20) beyond the limit", dup2(0, 20));
    while (n > 0)
        close(fds[--n]);

    lim.rlim_cur = 16;
    lim.rlim_max = 8;
    errno = 0;
    show("setrlimit(RLIMIT_NOFILE, soft 16 > hard 8)", setrlimit(RLIMIT_NOFILE, &lim));
    show("setrlimit(RLIMIT_NOFILE, restore)", setrlimit(RLIMIT_NOFILE, &old));

    /* prlimit64 sets and returns the old value in one call. */
    struct rlimit got;
    lim = old;
    lim.rlim_cur = 20;
    show("prlimit64(0, RLIMIT_NOFILE, soft 20)", raw_prlimit64(0, RLIMIT_NOFILE, &lim, &got));
    printf("prlimit64 returned the previous soft limit: %s\n", got.rlim_cur == old.rlim_cur ? "yes" : "no");
    getrlimit(RLIMIT_NOFILE, &now);
    printf("getrlimit after prlimit64: soft %lu\n", (unsigned long)now.rlim_cur);
    show("prlimit64(self pid, query)", raw_prlimit64(getpid(), RLIMIT_NOFILE, NULL, &got));
    printf("prlimit64 query: soft %lu\n", (unsigned long)got.rlim_cur);
    errno = 0;
    show("prlimit64(no such pid)", raw_prlimit64(NO_SUCH_PID, RLIMIT_NOFILE, NULL, &got));
    setrlimit(RLIMIT_NOFILE, &old);
}

static void other_limits(void)
{
    struct rlimit old, lim, now;

    show("getrlimit(RLIMIT_STACK)", getrlimit(RLIMIT_STACK, &old));
    lim = old;
    lim.rlim_cur = 4 << 20;
    if (lim.rlim_cur > lim.rlim_max)
        lim.rlim_cur = lim.rlim_max;
    show("setrlimit(RLIMIT_STACK, soft 4 MiB)", setrlimit(RLIMIT_STACK, &lim));
    getrlimit(RLIMIT_STACK, &now);
    printf("RLIMIT_STACK reads back: %s\n", now.rlim_cur == lim.rlim_cur ? "yes" : "no");
    setrlimit(RLIMIT_STACK, &old);

    show("getrlimit(RLIMIT_NPROC)", getrlimit(RLIMIT_NPROC, &old));
    show("setrlimit(RLIMIT_NPROC, unchanged)", setrlimit(RLIMIT_NPROC, &old));

    show("getrlimit(RLIMIT_AS)", getrlimit(RLIMIT_AS, &old));
    lim = old;
    lim.rlim_cur = 512ul << 20;
    show("setrlimit(RLIMIT_AS, soft 512 MiB)", setrlimit(RLIMIT_AS, &lim));
    errno = 0;
    void *p = mmap(NULL, 1ul << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap(1 GiB) under a 512 MiB RLIMIT_AS: %s %s\n", p == MAP_FAILED ? "MAP_FAILED" : "mapped",
           p == MAP_FAILED ? errname(errno) : "");
    if (p != MAP_FAILED)
        munmap(p, 1ul << 30);
    p = mmap(NULL, 1ul << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap(1 MiB) under it: %s\n", p == MAP_FAILED ? "MAP_FAILED" : "mapped");
    if (p != MAP_FAILED)
        munmap(p, 1ul << 20);
    show("setrlimit(RLIMIT_AS, restore)", setrlimit(RLIMIT_AS, &old));

    show("getrlimit(RLIMIT_CORE)", getrlimit(RLIMIT_CORE, &old));
    show("getrlimit(RLIMIT_CPU)", getrlimit(RLIMIT_CPU, &old));
    errno = 0;
    show("getrlimit(resource 999)", getrlimit(999, &old));
    errno = 0;
    show("setrlimit(resource 999)", setrlimit(999, &old));
}

static void system_info(void)
{
    struct utsname u;
    show("uname", uname(&u));
    printf("uname: sysname %s, machine %s\n", u.sysname, u.machine);

    struct sysinfo si;
    show("sysinfo", sysinfo(&si));
    yesno("sysinfo: totalram > 0", si.totalram > 0);
    yesno("sysinfo: mem_unit >= 1", si.mem_unit >= 1);
    yesno("sysinfo: freeram <= totalram", si.freeram <= si.totalram);
    yesno("sysinfo: at least one process", si.procs >= 1);

    show("sched_yield", sched_yield());
    cpu_set_t set;
    CPU_ZERO(&set);
    show("sched_getaffinity", sched_getaffinity(0, sizeof set, &set));
    yesno("affinity mask has at least one CPU", CPU_COUNT(&set) >= 1);
    show("sched_setaffinity(same mask)", sched_setaffinity(0, sizeof set, &set));
    cpu_set_t none;
    CPU_ZERO(&none);
    errno = 0;
    show("sched_setaffinity(empty mask)", sched_setaffinity(0, sizeof none, &none));
    unsigned cpu = 9999, node = 9999;
    show("getcpu", syscall(SYS_getcpu, &cpu, &node, NULL));
    yesno("getcpu: the CPU is in our affinity mask", cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set));
    /* raw: musl's sched_getscheduler() is a stub that always fails with ENOSYS */
    show("sched_getscheduler(0) (SCHED_OTHER is 0)", syscall(SYS_sched_getscheduler, 0));

    struct rusage ru;
    show("getrusage(RUSAGE_SELF)", getrusage(RUSAGE_SELF, &ru));
    show("getrusage(RUSAGE_CHILDREN)", getrusage(RUSAGE_CHILDREN, &ru));
    show("getrusage(RUSAGE_THREAD)", getrusage(RUSAGE_THREAD, &ru));
    errno = 0;
    show("getrusage(who=5)", getrusage(5, &ru));

    char name[17] = { 0 };
    show("prctl(PR_SET_NAME)", prctl(PR_SET_NAME, "rlimits-test", 0, 0, 0));
    show("prctl(PR_GET_NAME)", prctl(PR_GET_NAME, name, 0, 0, 0));
    printf("name: %s\n", name);

    umask(077);
    printf("umask(022) returns the previous mask: %03o\n", (unsigned)umask(022));
}

static void session_tests(void)
{
    pid_t kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        pid_t me = getpid();
        pid_t sid = setsid();
        printf("child: setsid() returned our pid %s\n", sid == me ? "yes" : "no");
        printf("child: getsid(0) == getpid() %s, getpgrp() == getpid() %s, getpgid(0) == getpid() %s\n",
               getsid(0) == me ? "yes" : "no", getpgrp() == me ? "yes" : "no", getpgid(0) == me ? "yes" : "no");
        errno = 0;
        show("child: setsid() again (session leader)", setsid());
        errno = 0;
        show("child: setpgid(0, 0) as session leader", setpgid(0, 0));
        _exit(0);
    }
    waitpid(kid, NULL, 0);

    int go[2], printed[2];
    if (pipe(go) < 0 || pipe(printed) < 0)
        fatal("pipe");
    kid = fork();
    if (kid < 0)
        fatal("fork");
    if (kid == 0) {
        close(go[1]);
        close(printed[0]);
        pid_t me = getpid();
        show("child2: setpgid(0, 0)", setpgid(0, 0));
        printf("child2: getpgrp() == getpid() %s, same session as the parent %s\n", getpgrp() == me ? "yes" : "no",
               getsid(0) == getsid(getppid()) ? "yes" : "no");
        errno = 0;
        show("child2: setsid() as a group leader", setsid());
        close(printed[1]);              /* our output is complete */
        char c;
        if (read(go[0], &c, 1) < 0)     /* stay alive while the parent looks at us */
            _exit(1);
        _exit(0);
    }
    close(go[0]);
    close(printed[1]);
    char c;
    if (read(printed[0], &c, 1) != 0)
        fatal("read");
    close(printed[0]);
    show("parent: setpgid(child, child) again", setpgid(kid, kid));
    printf("parent: getpgid(child) == child %s\n", getpgid(kid) == kid ? "yes" : "no");
    printf("parent: getsid(child) == getsid(0) %s\n", getsid(kid) == getsid(0) ? "yes" : "no");
    close(go[1]);
    waitpid(kid, NULL, 0);

    errno = 0;
    show("getpgid(no such pid)", getpgid(NO_SUCH_PID));
    errno = 0;
    show("getsid(no such pid)", getsid(NO_SUCH_PID));
    errno = 0;
    show("setpgid(no such pid, 0)", setpgid(NO_SUCH_PID, 0));
    errno = 0;
    show("setpgid(0, -1)", setpgid(0, -1));
    printf("getpgid(0) == getpgrp() %s\n", getpgid(0) == getpgrp() ? "yes" : "no");
}

static void credentials(void)
{
    printf("getuid %d geteuid %d getgid %d getegid %d\n", (int)getuid(), (int)geteuid(), (int)getgid(),
           (int)getegid());
    uid_t r, e, s;
    gid_t gr, ge, gs;
    show("getresuid", getresuid(&r, &e, &s));
    printf("resuid %d %d %d\n", (int)r, (int)e, (int)s);
    show("getresgid", getresgid(&gr, &ge, &gs));
    printf("resgid %d %d %d\n", (int)gr, (int)ge, (int)gs);
    show("setuid(0)", setuid(0));
    show("setgid(0)", setgid(0));
    show("setresuid(-1, -1, -1)", setresuid((uid_t)-1, (uid_t)-1, (uid_t)-1));
    show("setresgid(-1, -1, -1)", setresgid((gid_t)-1, (gid_t)-1, (gid_t)-1));
    show("seteuid(0)", seteuid(0));
}

int main(void)
{
    unbuffered_stdout();
    nofile_tests();
    other_limits();
    system_info();
    session_tests();
    credentials();
    printf("done\n");
    return 0;
}
