/*
 * vfs_perms.c - permission checks, chroot and mount, as root and as other users.
 *
 * "vfs_perms run", as root (natively: under chroot into the test tree; without
 * "run" it only prints its usage). Everything happens under /tmp/vfs. Parts:
 *   - root: DAC override, but X_OK/exec need some execute bit;
 *   - unprivileged children (setgroups/setgid/setuid): EACCES from the mode
 *     bits, search permission on every directory, write+search on the parent,
 *     owner-class and group-class rules, sticky /tmp-like directories,
 *     chmod/chown/utimensat/truncate rules, access() with real vs effective ids;
 *   - chroot: "/" and ".." stay in the jail, inherited by fork, EPERM as a user;
 *   - mount/umount2: tmpfs (size=), ramfs, proc (/proc/mounts lines for our
 *     mounts), MS_REMOUNT|MS_RDONLY (EROFS), stacking, EBUSY, MNT_DETACH and
 *     the error cases;
 *   - readdir order: newest entry first, as Linux tmpfs lists.
 * Each check prints one deterministic line; the last line is "done".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

#define BASE "/tmp/vfs"
#define TMPFS_MAGIC 0x01021994
#define RAMFS_MAGIC 0x858458f6

static void must(long r, const char *what)
{
    if (r < 0)
        fatal(what);
}

static void make_file(const char *path, mode_t mode, uid_t uid, gid_t gid, const char *text)
{
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    must(fd, path);
    if (text)
        must(write(fd, text, strlen(text)), "write");
    close(fd);
    must(chown(path, uid, gid), "chown");
    must(chmod(path, mode), "chmod");
}

static void make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
    must(mkdir(path, 0700), path);
    must(chown(path, uid, gid), "chown dir");
    must(chmod(path, mode), "chmod dir");
}

/* open(2) and close at once: "label: 0" or "label: -1 EACCES". */
static void try_open(const char *label, const char *path, int flags)
{
    int fd = open(path, flags, 0644);
    if (fd >= 0) {
        close(fd);
        fd = 0;
    }
    show(label, fd);
}

static void run_as(uid_t uid, gid_t gid, gid_t group, void (*body)(void))
{
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork");
    if (pid == 0) {
        gid_t groups[1] = {group};
        if (setgroups(group ? 1 : 0, groups) || setgid(gid) || setuid(uid))
            fatal("drop privileges");
        body();
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("child for uid %d: status %#x\n", (int)uid, status);
}

/* execve in a child: its errno, or "ran, exit N". */
static void try_exec(const char *label, const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {(char *)path, NULL};
        char *envp[] = {NULL};
        execve(path, argv, envp);
        printf("%s: -1 %s\n", label, errname(errno));
        _exit(100);
    }
    int status;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 100)
        printf("%s: ran, exit %d\n", label, WEXITSTATUS(status));
}

static void owner_of(const char *label, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        printf("%s: -1 %s\n", label, errname(errno));
    else
        printf("%s: uid %d gid %d mode %o\n", label, (int)st.st_uid, (int)st.st_gid, (int)(st.st_mode & 07777));
}

/* ----- as root ------------------------------------------------------------ */

static void root_checks(void)
{
    show("root access secret R_OK|W_OK", access(BASE "/secret", R_OK | W_OK));
    try_open("root open 0000 file O_RDWR", BASE "/zero", O_RDWR);
    show("root access 0644 file X_OK", access(BASE "/pub", X_OK));
    show("root access 0000 dir X_OK", access(BASE "/zerodir", X_OK));
    show("root access 0100 file X_OK", access(BASE "/script", X_OK));
    show("root stat through 0000 dir", access(BASE "/zerodir/f", F_OK));
    try_exec("root exec 0644 file", BASE "/pub");
    try_exec("root exec 0100 script of uid 1000", BASE "/script");
    try_exec("root exec directory", BASE);
    show("access bad mode", access(BASE "/pub", 8));
    show("faccessat2 bad flags", syscall(SYS_faccessat2, AT_FDCWD, BASE "/pub", R_OK, 0x1));
}

/* ----- as uid 1000 (groups 1000 and 2000) --------------------------------- */

static void user_checks(void)
{
    printf("uid %d euid %d gid %d\n", (int)getuid(), (int)geteuid(), (int)getgid());
    try_open("open 0600 root file", BASE "/secret", O_RDONLY);
    show("access 0600 root file R_OK", access(BASE "/secret", R_OK));
    show("access 0644 file R_OK", access(BASE "/pub", R_OK));
    show("access 0644 file W_OK", access(BASE "/pub", W_OK));
    show("access 0644 file F_OK", access(BASE "/pub", F_OK));
    try_open("open 0644 O_RDONLY", BASE "/pub", O_RDONLY);
    try_open("open 0644 O_WRONLY", BASE "/pub", O_WRONLY);
    try_open("open 0644 O_RDWR", BASE "/pub", O_RDWR);
    try_open("open 0644 O_RDONLY|O_TRUNC", BASE "/pub", O_RDONLY | O_TRUNC);
    try_open("open 0666 O_RDWR|O_TRUNC", BASE "/pubw", O_RDWR | O_TRUNC);
    /* search permission */
    struct stat st;
    show("stat in 0700 root dir", stat(BASE "/closed/inside", &st));
    try_open("open in 0700 root dir", BASE "/closed/inside", O_RDONLY);
    try_open("opendir 0700 root dir", BASE "/closed", O_RDONLY | O_DIRECTORY);
    show("chdir 0700 root dir", chdir(BASE "/closed"));
    show("stat in 0744 dir (no x)", stat(BASE "/listonly/f", &st));
    try_open("opendir 0744 dir (r)", BASE "/listonly", O_RDONLY | O_DIRECTORY);
    try_open("open in 0711 dir", BASE "/searchonly/f", O_RDONLY);
    try_open("opendir 0711 dir (no r)", BASE "/searchonly", O_RDONLY | O_DIRECTORY);
    show("stat 0711 dir/../pub", stat(BASE "/searchonly/../pub", &st));
    show("stat 0744 dir/../pub", stat(BASE "/listonly/../pub", &st));
    /* classes: owner bits alone for the owner, group bits alone for members */
    try_open("owner of 0077 file", BASE "/ownerdeny", O_RDONLY);
    try_open("member of 0604 file's group", BASE "/grpdeny", O_RDONLY);
    try_open("member of 0640 file's group", BASE "/grpfile", O_RDONLY);
    try_open("member of 0640 file's group O_WRONLY", BASE "/grpfile", O_WRONLY);
    /* names in a 0555 directory */
    try_open("create in 0555 dir", BASE "/ro_dir/new", O_CREAT | O_WRONLY);
    try_open("O_EXCL on existing in 0555 dir", BASE "/ro_dir/f", O_CREAT | O_EXCL | O_WRONLY);
    try_open("O_CREAT on existing 0644 in 0555 dir", BASE "/ro_dir/f", O_CREAT | O_RDONLY);
    show("mkdir in 0555 dir", mkdir(BASE "/ro_dir/d", 0755));
    show("mkdir existing in 0555 dir", mkdir(BASE "/ro_dir/sub", 0755));
    show("unlink in 0555 dir", unlink(BASE "/ro_dir/f"));
    show("unlink missing in 0555 dir", unlink(BASE "/ro_dir/missing"));
    show("rmdir in 0555 dir", rmdir(BASE "/ro_dir/sub"));
    show("rename in 0555 dir", rename(BASE "/ro_dir/f", BASE "/ro_dir/g"));
    show("symlink in 0555 dir", symlink("x", BASE "/ro_dir/l"));
    show("link into 0555 dir", link(BASE "/userdir/mine0", BASE "/ro_dir/h"));
    show("rename own file into 0555 dir", rename(BASE "/userdir/mine0", BASE "/ro_dir/m"));
    /* own directory */
    try_open("create in own dir", BASE "/userdir/mine", O_CREAT | O_WRONLY);
    owner_of("  new file", BASE "/userdir/mine");
    show("mkdir in own dir", mkdir(BASE "/userdir/d", 0777));
    owner_of("  new dir", BASE "/userdir/d");
    try_open("create in setgid dir", BASE "/sgid/f", O_CREAT | O_WRONLY);
    owner_of("  new file in setgid dir", BASE "/sgid/f");
    show("mkdir in setgid dir", mkdir(BASE "/sgid/d", 0755));
    owner_of("  new dir in setgid dir", BASE "/sgid/d");
    show("mkfifo in own dir", mkfifo(BASE "/userdir/fifo", 0600));
    show("mknod char device", mknod(BASE "/userdir/null", S_IFCHR | 0666, makedev(1, 3)));
    show("create 0444 with O_RDWR", open(BASE "/userdir/ro", O_CREAT | O_RDWR, 0444) >= 0 ? 0 : -1);
    try_open("reopen 0444 O_RDWR", BASE "/userdir/ro", O_RDWR);
    /* attributes */
    show("chmod root's file", chmod(BASE "/pub", 0777));
    show("chmod own file", chmod(BASE "/userdir/mine", 0640));
    show("chown own file to root", chown(BASE "/userdir/mine", 0, -1));
    show("chown own file to self", chown(BASE "/userdir/mine", 1000, -1));
    show("chgrp own file to 2000 (member)", chown(BASE "/userdir/mine", -1, 2000));
    show("chgrp own file to 3000", chown(BASE "/userdir/mine", -1, 3000));
    show("chgrp root's file to 1000", chown(BASE "/pub", -1, 1000));
    owner_of("  own file", BASE "/userdir/mine");
    struct timespec ts[2] = {{1000, 0}, {1000, 0}};
    show("utimensat NULL on 0644 root file", utimensat(AT_FDCWD, BASE "/pub", NULL, 0));
    show("utimensat times on 0644 root file", utimensat(AT_FDCWD, BASE "/pub", ts, 0));
    show("utimensat NULL on 0666 root file", utimensat(AT_FDCWD, BASE "/pubw", NULL, 0));
    show("utimensat times on 0666 root file", utimensat(AT_FDCWD, BASE "/pubw", ts, 0));
    show("utimensat times on own file", utimensat(AT_FDCWD, BASE "/userdir/mine", ts, 0));
    show("truncate 0644 root file", truncate(BASE "/pub", 0));
    show("truncate 0666 root file", truncate(BASE "/pubw", 1));
    /* exec */
    show("access 0100 script of uid 1000 X_OK", access(BASE "/script", X_OK));
    try_exec("exec own 0100 script", BASE "/script");
    try_exec("exec 0700 root script", BASE "/rootscript");
    /* privileged calls */
    show("chroot as user", chroot(BASE "/userdir"));
    show("chroot missing as user", chroot(BASE "/missing"));
    show("mount as user", mount("none", BASE "/userdir", "tmpfs", 0, NULL));
    show("mount missing target as user", mount("none", BASE "/missing", "tmpfs", 0, NULL));
    show("umount2 as user", umount2(BASE "/userdir", 0));
    /* sticky directory: create one's own file there */
    try_open("create in sticky dir", BASE "/sticky/u1000", O_CREAT | O_WRONLY);
}

static void other_user_checks(void)
{
    printf("uid %d\n", (int)getuid());
    try_open("other: 0077 file of uid 1000", BASE "/ownerdeny", O_RDONLY);
    try_open("other: 0604 file, not a member", BASE "/grpdeny", O_RDONLY);
    show("other: access 0100 script X_OK", access(BASE "/script", X_OK));
    try_exec("other: exec 0100 script of uid 1000", BASE "/script");
    show("sticky: unlink root's file", unlink(BASE "/sticky/root"));
    show("sticky: unlink uid 1000's file", unlink(BASE "/sticky/u1000"));
    show("sticky: rename uid 1000's file", rename(BASE "/sticky/u1000", BASE "/sticky/x"));
    try_open("sticky: create own", BASE "/sticky/u1001", O_CREAT | O_WRONLY);
    show("sticky: rename own", rename(BASE "/sticky/u1001", BASE "/sticky/u1001b"));
    show("sticky: unlink own", unlink(BASE "/sticky/u1001b"));
    show("non-sticky 0777 dir: unlink uid 1000's file", unlink(BASE "/open/u1000"));
}

static void sticky_owner_checks(void)
{
    show("sticky: owner unlinks own file", unlink(BASE "/sticky/u1000"));
}

/* ruid 1000, euid 0: access() asks about the real user, AT_EACCESS about the effective one. */
static void setuid_style_checks(void)
{
    if (setgroups(0, NULL) || setresgid(1000, 0, 0) || setresuid(1000, 0, 0))
        fatal("setresuid");
    show("ruid 1000 euid 0: access secret R_OK", access(BASE "/secret", R_OK));
    show("ruid 1000 euid 0: faccessat AT_EACCESS", faccessat(AT_FDCWD, BASE "/secret", R_OK, AT_EACCESS));
    show("ruid 1000 euid 0: access in 0700 dir", access(BASE "/closed/inside", F_OK));
    show("ruid 1000 euid 0: AT_EACCESS in 0700 dir",
         faccessat(AT_FDCWD, BASE "/closed/inside", F_OK, AT_EACCESS));
    show("ruid 1000 euid 0: AT_EACCESS X_OK on 0644", faccessat(AT_FDCWD, BASE "/pub", X_OK, AT_EACCESS));
    try_open("ruid 1000 euid 0: open secret", BASE "/secret", O_RDONLY);
    _exit(0);
}

/* ----- chroot --------------------------------------------------------------- */

static void print_cwd(const char *label)
{
    char buf[PATH_MAX];
    if (getcwd(buf, sizeof buf))
        printf("%s: %s\n", label, buf);
    else
        printf("%s: NULL %s\n", label, errname(errno));
}

static void print_file(const char *label, const char *path)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%s: -1 %s\n", label, errname(errno));
        return;
    }
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    printf("%s: %ld \"%s\"\n", label, n, buf);
}

static void chroot_checks(void)
{
    show("chroot missing", chroot(BASE "/missing"));
    show("chroot a file", chroot(BASE "/pub"));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct stat root_st, dotdot, jail_st;
        stat(BASE "/jail", &jail_st);
        show("chroot jail", chroot(BASE "/jail"));
        print_cwd("getcwd before chdir");
        show("chdir /", chdir("/"));
        print_cwd("getcwd");
        print_file("/file", "/file");
        print_file("/../../file", "/../../file");
        print_file("/sub/../../../file", "/sub/../../../file");
        stat("/", &root_st);
        stat("/..", &dotdot);
        printf("/ is the jail: %d, /.. is /: %d\n", root_st.st_ino == jail_st.st_ino,
               dotdot.st_ino == root_st.st_ino && dotdot.st_dev == root_st.st_dev);
        show("chdir sub", chdir("sub"));
        print_cwd("getcwd in sub");
        show("chdir ../../..", chdir("../../.."));
        print_cwd("getcwd after ../../..");
        show("access /tmp", access("/tmp", F_OK));
        show("access " BASE, access(BASE, F_OK));
        show("symlink to / resolves in jail", access("/sub/up/file", F_OK));
        show("rmdir /", rmdir("/"));
        fflush(stdout);
        pid_t kid = fork();
        if (kid == 0) {
            print_file("child of jailed process: /file", "/file");
            print_cwd("child getcwd");
            _exit(0);
        }
        waitpid(kid, NULL, 0);
        show("chroot again to /sub", chroot("/sub"));
        show("chdir / after second chroot", chdir("/"));
        print_file("/file in /sub", "/file");
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    print_cwd("parent getcwd (not jailed)");
}

/* ----- mount ---------------------------------------------------------------- */

static void print_mounts(const char *label)
{
    char buf[4096];
    int fd = open(BASE "/proc/mounts", O_RDONLY);
    if (fd < 0) {
        printf("%s: open /proc/mounts: %s\n", label, errname(errno));
        return;
    }
    long n = 0, r;
    while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
        n += r;
    close(fd);
    buf[n] = 0;
    printf("%s:\n", label);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, " " BASE "/"))
            printf("  %s\n", line);
}

static long dev_of(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? -1 : (long)st.st_dev;
}

static void mount_checks(void)
{
    const char *mnt = BASE "/mnt";
    struct statfs sf;
    show("mount missing target", mount("none", BASE "/missing", "tmpfs", 0, NULL));
    show("mount on a file", mount("none", BASE "/pub", "tmpfs", 0, NULL));
    show("mount unknown type", mount("none", mnt, "nosuchfs", 0, NULL));
    show("mount NULL type", mount("none", mnt, NULL, 0, NULL));
    show("mount size=abc", mount("none", mnt, "tmpfs", 0, "size=abc"));
    show("mount unknown tmpfs option", mount("none", mnt, "tmpfs", 0, "bogus=1"));
    show("remount a non-mountpoint", mount(NULL, BASE, NULL, MS_REMOUNT, NULL));
    show("umount2 non-mountpoint", umount2(BASE, 0));
    show("umount2 missing", umount2(BASE "/missing", 0));
    show("umount2 bad flags", umount2(mnt, 0x100));

    long parent_dev = dev_of(BASE);
    show("mount tmpfs size=64k", mount("none", mnt, "tmpfs", 0, "size=64k,mode=750"));
    printf("new device: %d\n", dev_of(mnt) != parent_dev);
    owner_of("mount root", mnt);
    int fd = open(BASE "/mnt/file", O_CREAT | O_WRONLY, 0644);
    show("write in tmpfs", write(fd, "abc", 3));
    close(fd);
    show("statfs", statfs(mnt, &sf));
    printf("  type tmpfs %d blocks %ld free %ld flags %#lx\n", sf.f_type == TMPFS_MAGIC, (long)sf.f_blocks,
           (long)sf.f_bfree, (long)sf.f_flags);
    show("link across mounts", link(BASE "/pub", BASE "/mnt/pub"));
    show("rename across mounts", rename(BASE "/mnt/file", BASE "/file2"));
    show("rmdir a mountpoint", rmdir(mnt));

    mkdir(BASE "/proc", 0555);
    show("mount proc nosuid,nodev,noexec", mount("proc", BASE "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                                 NULL));
    show("statfs proc", statfs(BASE "/proc", &sf));
    printf("  flags %#lx\n", (long)sf.f_flags);
    print_mounts("our mounts");

    fd = open(BASE "/mnt/file", O_WRONLY);
    show("remount read-only with a file open for writing", mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL));
    close(fd);
    fd = open(BASE "/mnt/file", O_RDONLY);
    show("remount read-only", mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL));
    close(fd);
    try_open("ro: create", BASE "/mnt/new", O_CREAT | O_WRONLY);
    try_open("ro: open for writing", BASE "/mnt/file", O_WRONLY);
    try_open("ro: open O_RDONLY", BASE "/mnt/file", O_RDONLY);
    show("ro: mkdir", mkdir(BASE "/mnt/d", 0755));
    show("ro: mkdir existing", mkdir(BASE "/mnt/file", 0755));
    show("ro: unlink", unlink(BASE "/mnt/file"));
    show("ro: chmod", chmod(BASE "/mnt/file", 0600));
    show("ro: access W_OK", access(BASE "/mnt/file", W_OK));
    show("ro: access R_OK", access(BASE "/mnt/file", R_OK));
    show("ro: truncate", truncate(BASE "/mnt/file", 0));
    show("ro: utimensat", utimensat(AT_FDCWD, BASE "/mnt/file", NULL, 0));
    print_mounts("after remount ro");
    statfs(mnt, &sf);
    printf("ro: statfs flags %#lx\n", (long)sf.f_flags);
    show("remount read-write", mount(NULL, mnt, NULL, MS_REMOUNT, NULL));
    try_open("rw again: create", BASE "/mnt/new", O_CREAT | O_WRONLY);
    show("remount noexec", mount(NULL, mnt, NULL, MS_REMOUNT | MS_NOEXEC, NULL));
    make_file(BASE "/mnt/script", 0755, 0, 0, "#!/bin/busybox true\n");
    try_exec("exec on a noexec mount", BASE "/mnt/script");
    show("access X_OK on a noexec mount", access(BASE "/mnt/script", X_OK));
    show("remount exec", mount(NULL, mnt, NULL, MS_REMOUNT, NULL));
    try_exec("exec after remount", BASE "/mnt/script");

    /* busy: an open file, a working directory, a mount below */
    fd = open(BASE "/mnt/file", O_RDONLY);
    show("umount2 with an open file", umount2(mnt, 0));
    close(fd);
    chdir(mnt);
    show("umount2 with cwd inside", umount2(mnt, 0));
    chdir("/");
    mkdir(BASE "/mnt/inner", 0755);
    show("mount ramfs below", mount("none", BASE "/mnt/inner", "ramfs", 0, "mode=700,whatever"));
    show("statfs ramfs", statfs(BASE "/mnt/inner", &sf));
    printf("  type ramfs %d\n", sf.f_type == RAMFS_MAGIC);
    print_mounts("with ramfs below");
    show("umount2 with a mount below", umount2(mnt, 0));

    /* stacking: a second tmpfs on the same directory hides the first */
    show("mount second tmpfs on top", mount("none", mnt, "tmpfs", 0, NULL));
    show("  first's file hidden", access(BASE "/mnt/file", F_OK));
    show("umount2 top", umount2(mnt, 0));
    show("  first's file back", access(BASE "/mnt/file", F_OK));

    /* detach while busy */
    fd = open(BASE "/mnt/file", O_RDONLY);
    show("umount2 MNT_DETACH while busy", umount2(mnt, MNT_DETACH));
    char buf[8] = {0};
    show("read through fd after detach", read(fd, buf, sizeof buf - 1));
    close(fd);
    show("file gone from the directory", access(BASE "/mnt/file", F_OK));
    show("umount2 again", umount2(mnt, 0));
    print_mounts("after umount");
    show("umount2 proc", umount2(BASE "/proc", 0));
}

/* ----- readdir order -------------------------------------------------------- */

static void order_checks(void)
{
    mkdir(BASE "/order", 0755);
    const char *names[] = {"a", "b", "c", "d"};
    char path[64];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, BASE "/order/%s", names[i]);
        close(open(path, O_CREAT | O_WRONLY, 0644));
    }
    rename(BASE "/order/b", BASE "/order/z");
    unlink(BASE "/order/c");
    close(open(BASE "/order/c", O_CREAT | O_WRONLY, 0644));
    DIR *dir = opendir(BASE "/order");
    printf("readdir order:");
    for (struct dirent *e; (e = readdir(dir));)
        printf(" %s", e->d_name);
    printf("\n");
    closedir(dir);
}

int main(int argc, char **argv)
{
    unbuffered_stdout();
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        /* It mounts, chowns and changes users: only on purpose, inside a chroot. */
        printf("usage: vfs_perms run   (as root, under chroot: it works in /tmp/vfs)\n");
        return 0;
    }
    umask(0);
    must(mkdir(BASE, 0755), "mkdir " BASE);
    make_file(BASE "/secret", 0600, 0, 0, "secret");
    make_file(BASE "/zero", 0, 0, 0, NULL);
    make_file(BASE "/pub", 0644, 0, 0, "public");
    make_file(BASE "/pubw", 0666, 0, 0, "world");
    make_file(BASE "/script", 0100, 1000, 1000, "#!/bin/busybox true\n");
    make_file(BASE "/rootscript", 0700, 0, 0, "#!/bin/busybox true\n");
    make_file(BASE "/ownerdeny", 0077, 1000, 0, NULL);
    make_file(BASE "/grpdeny", 0604, 0, 2000, NULL);
    make_file(BASE "/grpfile", 0640, 0, 2000, NULL);
    make_dir(BASE "/zerodir", 0, 0, 0);
    make_file(BASE "/zerodir/f", 0644, 0, 0, NULL);
    make_dir(BASE "/closed", 0700, 0, 0);
    make_file(BASE "/closed/inside", 0644, 0, 0, NULL);
    make_dir(BASE "/listonly", 0744, 0, 0);
    make_file(BASE "/listonly/f", 0644, 0, 0, NULL);
    make_dir(BASE "/searchonly", 0711, 0, 0);
    make_file(BASE "/searchonly/f", 0644, 0, 0, NULL);
    make_dir(BASE "/ro_dir", 0755, 0, 0);
    make_file(BASE "/ro_dir/f", 0644, 0, 0, NULL);
    make_dir(BASE "/ro_dir/sub", 0755, 0, 0);
    must(chmod(BASE "/ro_dir", 0555), "chmod ro_dir");
    make_dir(BASE "/userdir", 0755, 1000, 1000);
    make_file(BASE "/userdir/mine0", 0644, 1000, 1000, NULL);
    make_dir(BASE "/sgid", 02777, 0, 2000);
    make_dir(BASE "/sticky", 01777, 0, 0);
    make_file(BASE "/sticky/root", 0666, 0, 0, NULL);
    make_dir(BASE "/open", 0777, 0, 0);
    make_file(BASE "/open/u1000", 0644, 1000, 1000, NULL);
    make_dir(BASE "/jail", 0755, 0, 0);
    make_dir(BASE "/jail/sub", 0755, 0, 0);
    make_file(BASE "/jail/file", 0644, 0, 0, "in jail");
    make_file(BASE "/jail/sub/file", 0644, 0, 0, "in sub");
    must(symlink("/", BASE "/jail/sub/up"), "symlink");
    make_dir(BASE "/mnt", 0755, 0, 0);

    root_checks();
    run_as(1000, 1000, 2000, user_checks);
    run_as(1001, 1001, 0, other_user_checks);
    run_as(1000, 1000, 0, sticky_owner_checks);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        setuid_style_checks();
    waitpid(pid, NULL, 0);
    chroot_checks();
    mount_checks();
    order_checks();
    printf("done\n");
    return 0;
}
