/* flock_locks.c - BSD flock(2): the lock belongs to the open file, is shared by dup
 * and fork, conflicts with a second open, goes away with the last descriptor, does not
 * see fcntl record locks, and LOCK_EX waits for the holder. One line per check. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checks.h"

static const char *PATH = "/tmp/flock_locks.dat";

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    int fd1 = open(PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int fd2 = open(PATH, O_RDONLY);
    if (fd1 < 0 || fd2 < 0)
        fatal("open");
    show("bad operation", flock(fd1, 0));
    show("LOCK_SH|LOCK_EX", flock(fd1, LOCK_SH | LOCK_EX));
    show("bad fd", flock(99, LOCK_EX));
    show("unlock unlocked", flock(fd1, LOCK_UN));
    show("fd1 LOCK_EX", flock(fd1, LOCK_EX));
    show("fd1 LOCK_EX again", flock(fd1, LOCK_EX | LOCK_NB));
    show("fd2 (second open) LOCK_EX|NB", flock(fd2, LOCK_EX | LOCK_NB));
    show("fd2 LOCK_SH|NB", flock(fd2, LOCK_SH | LOCK_NB));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    show("fcntl lock beside it", fcntl(fd1, F_SETLK, &fl));
    int dupd = dup(fd1);
    show("dup LOCK_EX|NB (same open file)", flock(dupd, LOCK_EX | LOCK_NB));
    close(fd1);
    show("fd2 after closing fd1 (dup still open)", flock(fd2, LOCK_EX | LOCK_NB));
    close(dupd);
    show("fd2 after closing the last descriptor", flock(fd2, LOCK_SH | LOCK_NB));
    int fd3 = open(PATH, O_RDONLY);
    show("fd3 LOCK_SH|NB beside a shared lock", flock(fd3, LOCK_SH | LOCK_NB));
    show("fd3 LOCK_EX|NB while fd2 shares", flock(fd3, LOCK_EX | LOCK_NB));
    show("fd2 LOCK_EX|NB (the failed upgrade dropped fd3's lock)", flock(fd2, LOCK_EX | LOCK_NB));
    show("fd2 unlock", flock(fd2, LOCK_UN));
    show("fd3 upgrade to LOCK_EX|NB", flock(fd3, LOCK_EX | LOCK_NB));

    int ready[2];
    if (pipe(ready) < 0)
        fatal("pipe");
    pid_t child = fork();
    if (child == 0) {
        /* The inherited fd3 is the same open file: the lock is ours too. */
        show("child: inherited fd3 LOCK_EX|NB", flock(fd3, LOCK_EX | LOCK_NB));
        int own = open(PATH, O_RDONLY);
        show("child: own open LOCK_SH|NB", flock(own, LOCK_SH | LOCK_NB));
        write(ready[1], "r", 1);
        /* Blocks until the parent lets go of fd3's lock (the child must close its
         * inherited copy too: the lock lives as long as any descriptor does). */
        close(fd3);
        int r = flock(own, LOCK_EX);
        printf("child: own open LOCK_EX after waiting: %s\n", r < 0 ? errname(errno) : "ok");
        _exit(0);
    }
    char c;
    read(ready[0], &c, 1);
    usleep(100000);
    printf("parent: releasing\n");
    close(fd3);
    int status;
    waitpid(child, &status, 0);
    printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    close(fd2);
    unlink(PATH);
    printf("done\n");
    return 0;
}
