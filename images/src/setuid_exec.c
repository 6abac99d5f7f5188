/* setuid_exec.c - execve with set-user-ID and set-group-ID files.
 *
 * "setuid_exec run", as root (natively: under chroot into the test tree): copies
 * itself to /tmp with the mode bits below, then a child that dropped to uid/gid 1000
 * execs each copy as "setuid_exec ids", which prints its real, effective and saved
 * ids and AT_SECURE. A nosuid mount makes the bits ignored. One line per check. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

static void ids(const char *who)
{
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("%s: uid %d euid %d suid %d, gid %d egid %d sgid %d, secure %lu\n", who, (int)r, (int)e, (int)s,
           (int)gr, (int)ge, (int)gs, getauxval(AT_SECURE));
}

static int copy_self(const char *self, const char *to, mode_t mode, uid_t uid, gid_t gid)
{
    int in = open(self, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
    if (in < 0 || out < 0)
        return -1;
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, n) != n)
            return -1;
    close(in);
    close(out);
    /* chown first: changing the owner clears the set-ID bits. */
    if (chown(to, uid, gid) < 0 || chmod(to, mode) < 0)
        return -1;
    return 0;
}

/* Run `prog ids` in a child that is uid/gid `as` (or stays root if as < 0). */
static void run_as(const char *what, const char *prog, int as)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (as >= 0 && (setgroups(0, NULL) < 0 || setgid(as) < 0 || setuid(as) < 0))
            _exit(99);
        printf("%s -> ", what);
        fflush(stdout);
        char *argv[] = {(char *)prog, "ids", NULL};
        execv(prog, argv);
        printf("exec: %s\n", errname(errno));
        _exit(98);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("%s: status %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "ids") == 0) {
        ids("ids");
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "run") != 0 || getuid() != 0) {
        printf("usage: setuid_exec run (as root)\n");
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    umask(0);
    mkdir("/tmp/suid", 0755);
    show("setuid root", copy_self(argv[0], "/tmp/suid/root_u", 04755, 0, 0));
    show("setgid 4242", copy_self(argv[0], "/tmp/suid/grp_g", 02755, 0, 4242));
    show("setgid without group x", copy_self(argv[0], "/tmp/suid/grp_nox", 02745, 0, 4242));
    show("setuid 1000, setgid 4242", copy_self(argv[0], "/tmp/suid/u1000", 06755, 1000, 4242));
    show("plain", copy_self(argv[0], "/tmp/suid/plain", 0755, 0, 0));
    struct stat st;
    stat("/tmp/suid/root_u", &st);
    printf("root_u mode %o\n", (unsigned)(st.st_mode & 07777));
    /* chown by root clears set-ID bits on an executable, as Linux does. */
    show("chown setuid file", chown("/tmp/suid/plain", 0, 0) + chmod("/tmp/suid/plain", 04755)
                                  + chown("/tmp/suid/plain", 1, 1));
    stat("/tmp/suid/plain", &st);
    printf("after chown mode %o\n", (unsigned)(st.st_mode & 07777));

    run_as("user runs setuid root", "/tmp/suid/root_u", 1000);
    run_as("user runs setgid 4242", "/tmp/suid/grp_g", 1000);
    run_as("user runs setgid without group x", "/tmp/suid/grp_nox", 1000);
    run_as("root runs setuid 1000 setgid 4242", "/tmp/suid/u1000", -1);
    run_as("user runs plain", "/tmp/suid/plain", 1000);

    mkdir("/tmp/suid/ns", 0755);
    if (mount("none", "/tmp/suid/ns", "tmpfs", MS_NOSUID, "mode=755") == 0) {
        show("setuid root on nosuid", copy_self(argv[0], "/tmp/suid/ns/root_u", 04755, 0, 0));
        run_as("user runs setuid root on a nosuid mount", "/tmp/suid/ns/root_u", 1000);
        show("umount", umount("/tmp/suid/ns"));
    } else {
        printf("mount: %s\n", errname(errno));
    }
    unlink("/tmp/suid/root_u");
    unlink("/tmp/suid/grp_g");
    unlink("/tmp/suid/grp_nox");
    unlink("/tmp/suid/u1000");
    unlink("/tmp/suid/plain");
    rmdir("/tmp/suid/ns");
    rmdir("/tmp/suid");
    printf("done\n");
    return 0;
}
