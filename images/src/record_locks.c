/* record_locks.c - POSIX record locks through fcntl(F_GETLK/F_SETLK/F_SETLKW).
 *
 * One line per check, no pids printed (only "the parent" or "the child"), so a
 * native run and a run in the lab compare byte for byte.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

static const char *PATH = "/tmp/record_locks.dat";

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = whence;
    fl.l_start = start;
    fl.l_len = len;
    return fcntl(fd, cmd, &fl);
}

/* F_GETLK for [start, start+len) as `type`: who (if anyone) is in the way. */
static void probe(const char *what, int fd, short type, off_t start, off_t len, pid_t parent)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    fl.l_pid = 12345;
    if (fcntl(fd, F_GETLK, &fl) < 0) {
        printf("%s: getlk %s\n", what, errname(errno));
        return;
    }
    if (fl.l_type == F_UNLCK) {
        printf("%s: free (start %ld len %ld pid %s)\n", what, (long)fl.l_start, (long)fl.l_len,
               fl.l_pid == 12345 ? "untouched" : "changed");
        return;
    }
    printf("%s: %s lock [%ld, +%ld) whence %d held by %s\n", what, fl.l_type == F_WRLCK ? "write" : "read",
           (long)fl.l_start, (long)fl.l_len, fl.l_whence, fl.l_pid == parent ? "the parent" : "someone else");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* no buffered lines duplicated by fork */
    pid_t parent = getpid();
    int fd = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        printf("open: %s\n", errname(errno));
        return 1;
    }
    if (write(fd, "0123456789abcdefghij", 20) != 20)
        return 1;

    /* Bad requests. */
    show("bad type", lk(fd, F_SETLK, 7, SEEK_SET, 0, 1));
    show("bad whence", lk(fd, F_SETLK, F_WRLCK, 9, 0, 1));
    show("negative start", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -5, 1));
    show("getlk unlck", lk(fd, F_GETLK, F_UNLCK, SEEK_SET, 0, 1));
    show("bad fd", lk(99, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    int ro = open(PATH, O_RDONLY);
    show("write lock on read-only fd", lk(ro, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
    show("read lock on read-only fd", lk(ro, F_SETLK, F_RDLCK, SEEK_SET, 100, 1));
    show("unlock it", lk(ro, F_SETLK, F_UNLCK, SEEK_SET, 100, 1));

    /* The parent's locks: write [0,10), read [10,15), write from 15 to EOF-and-beyond,
     * then unlock the middle of the first and merge adjacent ranges. */
    show("parent write [0,10)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    show("parent read [10,15)", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 10, 5));
    show("parent write [15,eof)", lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 15, 0));
    show("parent unlock [100,eof)", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 100, 0));
    show("parent unlock [4,6)", lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 4, 2));
    show("parent relock own [0,2) read", lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 2));
    lseek(fd, 8, SEEK_SET);
    show("parent seek-cur negative len", lk(fd, F_SETLK, F_WRLCK, SEEK_CUR, 0, -2));
    probe("parent sees its own locks", fd, F_WRLCK, 0, 100, parent);

    int ready[2], go[2];
    if (pipe(ready) < 0 || pipe(go) < 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        int cfd = open(PATH, O_RDWR);
        probe("child [0,1) write", cfd, F_WRLCK, 0, 1, parent);
        probe("child [0,1) read", cfd, F_RDLCK, 0, 1, parent);
        probe("child [4,6) write", cfd, F_WRLCK, 4, 2, parent);
        probe("child [6,8) write", cfd, F_WRLCK, 6, 2, parent);
        probe("child [10,15) read", cfd, F_RDLCK, 10, 5, parent);
        probe("child [10,15) write", cfd, F_WRLCK, 10, 5, parent);
        probe("child [50,51) write", cfd, F_WRLCK, 50, 1, parent);
        probe("child [1000,1001) write", cfd, F_WRLCK, 1000, 1, parent);
        show("child setlk [4,6) write", lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 4, 2));
        show("child setlk [10,12) read", lk(cfd, F_SETLK, F_RDLCK, SEEK_SET, 10, 2));
        show("child setlk [0,1) write", lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 0, 1));
        show("child setlk [500,501) write", lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 500, 1));
        /* The parent now waits for [4,6), which we hold, while we are about to wait
         * for the parent's [0,2): one of us must get EDEADLK. The parent blocks first. */
        write(ready[1], "r", 1);
        char c;
        read(go[0], &c, 1);
        usleep(100000);
        int r = lk(cfd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
        printf("child setlkw [0,1) write: %s\n", r < 0 ? errname(errno) : "ok");
        /* Dropping our locks lets the parent in; closing another descriptor of the
         * file drops locks too. Report after the parent has printed its lines, so that
         * the output's order does not depend on which process the CPU runs first. */
        int unlocked = lk(cfd, F_SETLK, F_UNLCK, SEEK_SET, 0, 0);
        int locked = lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 200, 1);
        int other = open(PATH, O_RDONLY);
        close(other);
        write(ready[1], "r", 1);
        read(go[0], &c, 1);
        show("child unlock all", unlocked);
        show("child write [200,201)", locked);
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    write(go[1], "g", 1);
    int r = lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 4, 2);
    printf("parent setlkw [4,6) write: %s\n", r < 0 ? errname(errno) : "ok");
    read(ready[0], &c, 1);
    probe("parent sees [200,201) after the child's close", fd, F_WRLCK, 200, 1, parent);
    write(go[1], "g", 1);
    int status;
    waitpid(child, &status, 0);
    printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

    /* A child's locks die with it. */
    child = fork();
    if (child == 0) {
        int cfd = open(PATH, O_RDWR);
        lk(cfd, F_SETLK, F_WRLCK, SEEK_SET, 300, 10);
        write(ready[1], "r", 1);
        read(go[0], &c, 1);
        _exit(0);
    }
    read(ready[0], &c, 1);
    r = lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 305, 1);
    printf("parent setlk [305,306) while the child lives: %s\n", r < 0 ? errname(errno) : "ok");
    write(go[1], "g", 1);
    waitpid(child, &status, 0);
    r = lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 305, 1);
    printf("parent setlk [305,306) after the child exited: %s\n", r < 0 ? errname(errno) : "ok");

    close(ro);
    close(fd);
    unlink(PATH);

    /* Open-file-description locks: the owner is the open file, not the process. */
    int a = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int b = open(PATH, O_RDWR);
    show("ofd: a write [0,10)", lk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 0, 10));
    show("ofd: b (same process, other open) write [5,6)", lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1));
    show("ofd: b process-owned lock [5,6) beside it", lk(b, F_SETLK, F_WRLCK, SEEK_SET, 5, 1));
    show("ofd: b process-owned lock [20,21)", lk(b, F_SETLK, F_WRLCK, SEEK_SET, 20, 1));
    show("ofd: a write [20,21) against b's process lock", lk(a, F_OFD_SETLK, F_WRLCK, SEEK_SET, 20, 1));
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_len = 1;
    fl.l_pid = 1;
    show("ofd: l_pid not 0", fcntl(b, F_OFD_SETLK, &fl));
    fl.l_pid = 0;
    if (fcntl(b, F_OFD_GETLK, &fl) == 0)
        printf("ofd: b getlk [0,1): %s, pid %d\n", fl.l_type == F_WRLCK ? "write lock" : "other", (int)fl.l_pid);
    int a2 = dup(a);
    close(a);
    show("ofd: b after closing a (dup still open)", lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1));
    child = fork();
    if (child == 0) {
        show("ofd: child, inherited dup of a (same open file) write [5,6)", lk(a2, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1));
        _exit(0);
    }
    waitpid(child, &status, 0);
    close(a2);
    show("ofd: b after the last descriptor closed", lk(b, F_OFD_SETLK, F_WRLCK, SEEK_SET, 5, 1));
    close(b);
    unlink(PATH);
    printf("done\n");
    return 0;
}
