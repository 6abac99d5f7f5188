/*
 * exec_chain.c - execve: what survives it and how it fails.
 *
 * Run it by absolute path with no arguments.  It re-executes itself
 * (argv[0]) STAGES times; argv carries the stage number and some fd numbers,
 * envp carries CHAIN_TRAIL, which every stage extends.  Checked in each stage:
 * - a plain fd survives exec and keeps its file offset (each stage reads
 *   the next two bytes), fds marked O_CLOEXEC / FD_CLOEXEC / dup3(O_CLOEXEC)
 *   are closed (fcntl F_GETFD gives EBADF);
 * - the pid stays the same, mappings are gone, caught signals are reset to
 *   SIG_DFL while ignored ones stay ignored, the signal mask and pending
 *   signals are kept;
 * then, in the last stage, failing execve()s (ENOENT, EACCES, ENOEXEC,
 * ENOTDIR) and finally a "#!" script (written to /tmp at run time) whose
 * interpreter is this program, which ends the chain in "script" mode.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks.h"

#define STAGES 3
#define DATA "/tmp/exec_chain.data"
#define NOEXEC "/tmp/exec_chain.noexec"
#define TEXT "/tmp/exec_chain.text"
#define BADINTERP "/tmp/exec_chain.badinterp"
#define SCRIPT "/tmp/exec_chain.sh"
#define FIXED_ADDR ((void *)0x200000000ul)

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

extern char **environ;

static void cleanup(void)
{
    unlink(DATA);
    unlink(NOEXEC);
    unlink(TEXT);
    unlink(BADINTERP);
    unlink(SCRIPT);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        fatal(path);
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len)
        fatal("write");
    close(fd);
}

static void read_two(const char *who, int fd)
{
    char buf[3] = { 0 };
    ssize_t n = read(fd, buf, 2);
    printf("%s: plain fd read %ld bytes: \"%s\"\n", who, (long)n, n > 0 ? buf : "");
}

static void on_usr2(int sig)
{
    (void)sig;
}

static const char *disposition(int sig)
{
    struct sigaction sa;
    if (sigaction(sig, NULL, &sa) < 0)
        return errname(errno);
    if (sa.sa_handler == SIG_DFL)
        return "SIG_DFL";
    if (sa.sa_handler == SIG_IGN)
        return "SIG_IGN";
    return "handler";
}

/* Re-exec ourselves as stage `next`. */
static void exec_stage(char *self, int next, int plain, int cloexec, int cloexec2, int cloexec3, const char *trail)
{
    char a_stage[16], a_plain[16], a_cx[16], a_cx2[16], a_cx3[16], a_pid[24];
    snprintf(a_stage, sizeof a_stage, "%d", next);
    snprintf(a_plain, sizeof a_plain, "%d", plain);
    snprintf(a_cx, sizeof a_cx, "%d", cloexec);
    snprintf(a_cx2, sizeof a_cx2, "%d", cloexec2);
    snprintf(a_cx3, sizeof a_cx3, "%d", cloexec3);
    snprintf(a_pid, sizeof a_pid, "%ld", (long)getpid());
    char *argv[] = { self, "chain", a_stage, a_plain, a_cx, a_cx2, a_cx3, a_pid, NULL };

    /* envp: our environment, with CHAIN_TRAIL replaced. */
    static char trail_var[256];
    snprintf(trail_var, sizeof trail_var, "CHAIN_TRAIL=%s%s%d", trail ? trail : "", trail ? "," : "", next);
    char *envp[64];
    int n = 0;
    for (char **e = environ; *e && n < 62; e++)
        if (strncmp(*e, "CHAIN_TRAIL=", 12) != 0)
            envp[n++] = *e;
    envp[n++] = trail_var;
    envp[n] = NULL;
    execve(self, argv, envp);
    printf("execve(self) failed: %s\n", errname(errno));
    exit(1);
}

static void failing_execs(void)
{
    char *argv[] = { "x", NULL };
    char *envp[] = { NULL };
    write_file(NOEXEC, "#!/bin/sh\nexit 0\n", 0644);
    write_file(TEXT, "just some text, no #! and no ELF header\n", 0755);
    write_file(BADINTERP, "#!/nonexistent/interpreter\n", 0755);
    errno = 0;
    show("execve(missing file)", execve("/tmp/exec_chain.missing", argv, envp));
    show("execve(file without x bits)", execve(NOEXEC, argv, envp));
    show("execve(text file without #!)", execve(TEXT, argv, envp));
    show("execve(script with missing interpreter)", execve(BADINTERP, argv, envp));
    show("execve(a directory)", execve("/tmp", argv, envp));
    show("execve(path through a regular file)", execve(DATA "/x", argv, envp));
    printf("still running after the failed execs: yes\n");
}

static void exec_script(const char *self, int plain)
{
    char fdnum[16];
    snprintf(fdnum, sizeof fdnum, "%d", plain);
    setenv("CHAIN_FD", fdnum, 1);
    char text[512];
    snprintf(text, sizeof text, "#!%s script\n", self);
    write_file(SCRIPT, text, 0755);
    char *argv[] = { "ignored-argv0", "extra1", "extra 2", NULL };
    execve(SCRIPT, argv, environ);
    printf("execve(script) failed: %s\n", errname(errno));
    exit(1);
}

static int start(char *self)
{
    umask(022);     /* so the files get exactly the modes asked for */
    cleanup();
    write_file(DATA, "0123456789abcdef", 0644);
    int plain = open(DATA, O_RDONLY);
    int cloexec = open(DATA, O_RDONLY | O_CLOEXEC);
    if (plain < 0 || cloexec < 0)
        fatal("open");
    int cloexec2 = dup(plain);
    if (cloexec2 < 0 || fcntl(cloexec2, F_SETFD, FD_CLOEXEC) < 0)
        fatal("dup/F_SETFD");
    int cloexec3 = dup3(plain, cloexec2 + 1, O_CLOEXEC);
    if (cloexec3 < 0)
        fatal("dup3");
    printf("stage 0: O_CLOEXEC fd has FD_CLOEXEC: %s\n", fcntl(cloexec, F_GETFD) == FD_CLOEXEC ? "yes" : "no");
    printf("stage 0: plain fd F_GETFD: %d\n", fcntl(plain, F_GETFD));
    read_two("stage 0", plain);

    /* A mapping that must not survive the exec. */
    void *p = mmap(FIXED_ADDR, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                   -1, 0);
    printf("stage 0: mapped a page at a fixed address: %s\n", p == FIXED_ADDR ? "yes" : "no");

    /* Signals: SIGUSR1 ignored, SIGUSR2 caught, SIGHUP blocked and pending. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    show("stage 0: sigaction(SIGUSR1, SIG_IGN)", sigaction(SIGUSR1, &sa, NULL));
    sa.sa_handler = on_usr2;
    show("stage 0: sigaction(SIGUSR2, handler)", sigaction(SIGUSR2, &sa, NULL));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    show("stage 0: block SIGHUP", sigprocmask(SIG_BLOCK, &set, NULL));
    show("stage 0: raise(SIGHUP) while blocked", raise(SIGHUP));

    exec_stage(self, 1, plain, cloexec, cloexec2, cloexec3, NULL);
    return 1;
}

static int chain(char **argv)
{
    int stage = atoi(argv[2]);
    int plain = atoi(argv[3]);
    int cx[3] = { atoi(argv[4]), atoi(argv[5]), atoi(argv[6]) };
    long pid = atol(argv[7]);
    char who[32];
    snprintf(who, sizeof who, "stage %d", stage);

    const char *trail = getenv("CHAIN_TRAIL");
    printf("%s: CHAIN_TRAIL=%s\n", who, trail ? trail : "(unset)");
    printf("%s: same pid as before the exec: %s\n", who, (long)getpid() == pid ? "yes" : "no");
    printf("%s: plain fd F_GETFD: %d\n", who, fcntl(plain, F_GETFD));
    read_two(who, plain);
    static const char *how[3] = { "O_CLOEXEC", "F_SETFD FD_CLOEXEC", "dup3 O_CLOEXEC" };
    for (int i = 0; i < 3; i++) {
        errno = 0;
        int r = fcntl(cx[i], F_GETFD);
        printf("%s: %s fd after exec: F_GETFD %d %s\n", who, how[i], r, r < 0 ? errname(errno) : "");
    }
    int fresh = open(DATA, O_RDONLY);
    printf("%s: a new open() reuses the lowest closed fd: %s\n", who, fresh == cx[0] ? "yes" : "no");
    close(fresh);
    errno = 0;
    int r = msync(FIXED_ADDR, 4096, MS_ASYNC);
    printf("%s: stage 0's mapping is gone (msync): %d %s\n", who, r, r < 0 ? errname(errno) : "");
    printf("%s: SIGUSR1 is %s, SIGUSR2 is %s\n", who, disposition(SIGUSR1), disposition(SIGUSR2));
    sigset_t set;
    sigprocmask(SIG_BLOCK, NULL, &set);
    printf("%s: SIGHUP still blocked: %s\n", who, sigismember(&set, SIGHUP) ? "yes" : "no");
    sigpending(&set);
    printf("%s: SIGHUP still pending: %s\n", who, sigismember(&set, SIGHUP) ? "yes" : "no");

    if (stage < STAGES)
        exec_stage(argv[0], stage + 1, plain, cx[0], cx[1], cx[2], trail);
    failing_execs();
    exec_script(argv[0], plain);
    return 1;
}

static int script(int argc, char **argv)
{
    printf("script: argc %d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("script: argv[%d]=%s\n", i, argv[i]);
    size_t n = strlen(argv[0]);
    printf("script: argv[0] is the interpreter: %s\n",
           n >= 11 && strcmp(argv[0] + n - 11, "/exec_chain") == 0 ? "yes" : "no");
    const char *trail = getenv("CHAIN_TRAIL");
    printf("script: CHAIN_TRAIL=%s\n", trail ? trail : "(unset)");
    const char *fd = getenv("CHAIN_FD");
    read_two("script", fd ? atoi(fd) : -1);
    cleanup();
    printf("done\n");
    return 0;
}

int main(int argc, char **argv)
{
    unbuffered_stdout();
    if (argc >= 8 && strcmp(argv[1], "chain") == 0)
        return chain(argv);
    if (argc >= 3 && strcmp(argv[1], "script") == 0)
        return script(argc, argv);
    if (argc != 1 || argv[0][0] != '/') {
        printf("usage: run me by absolute path, with no arguments\n");
        return 2;
    }
    return start(argv[0]);
}
