/* fs_tmpfs.c - /tmp is a size-limited tmpfs: fill it until ENOSPC and check that
 * what fits is kept, statfs tracks usage, and truncating gives the space back.
 * Prints only size-independent facts so any tmpfs size compares equal.
 * Fills /tmp only when run as "fs_tmpfs fill" and /tmp is an empty tmpfs of at most
 * 1 GiB; otherwise it only reports what it sees and exits 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define TMPFS_MAGIC 0x01021994
#define CHUNK 100000

static const char *yes(int c) { return c ? "yes" : "no"; }

int main(int argc, char **argv)
{
    static char buf[CHUNK], back[CHUNK];
    for (int i = 0; i < CHUNK; i++)
        buf[i] = (char)('a' + i % 26);
    struct statfs before, full, after, root;
    if (statfs("/tmp", &before) != 0 || statfs("/", &root) != 0) {
        perror("statfs");
        return 1;
    }
    printf("/tmp is tmpfs: %s\n", yes(before.f_type == TMPFS_MAGIC));
    printf("bsize 4096: %s\n", yes(before.f_bsize == 4096));
    printf("empty /tmp is all free: %s\n", yes(before.f_bfree == before.f_blocks && before.f_bavail == before.f_blocks));
    printf("/tmp is its own file system: %s\n",
           yes(memcmp(&before.f_fsid, &root.f_fsid, sizeof root.f_fsid) != 0));
    long long capacity = (long long)before.f_blocks * before.f_bsize;
    printf("capacity at most 1 GiB: %s\n", yes(capacity <= (1LL << 30)));
    if (argc < 2 || strcmp(argv[1], "fill") != 0 || before.f_type != TMPFS_MAGIC
        || before.f_bfree != before.f_blocks || capacity > (1LL << 30)) {
        printf("not filling /tmp\n");
        return 0;
    }

    int fd = open("/tmp/fill", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    long long total = 0;
    int shorts = 0, err = 0;
    ssize_t n;
    for (;;) {
        n = write(fd, buf, CHUNK);
        if (n < 0) {
            err = errno;
            break;
        }
        if (n < CHUNK)
            shorts++;
        total += n;
    }
    printf("ended with ENOSPC: %s\n", yes(err == ENOSPC));
    printf("one short write before it: %s\n", yes(shorts == 1));
    printf("wrote exactly the capacity: %s\n", yes(total == capacity));
    errno = 0;
    printf("next write also ENOSPC: %s\n", yes(write(fd, buf, 1) < 0 && errno == ENOSPC));
    printf("rewriting inside the file works: %s\n", yes(pwrite(fd, buf, 10, 5) == 10));
    struct stat st;
    fstat(fd, &st);
    printf("file keeps what fit: %s\n", yes(st.st_size == total));
    statfs("/tmp", &full);
    printf("statfs: no free blocks: %s\n", yes(full.f_bfree == 0 && full.f_bavail == 0));
    long long last = total - total % CHUNK;
    n = pread(fd, back, CHUNK, last);
    printf("tail data intact: %s\n", yes(n == total % CHUNK && memcmp(back, buf, (size_t)n) == 0));
    errno = 0;
    int other = open("/tmp/other", O_CREAT | O_WRONLY, 0644);
    printf("creating an empty file still works: %s\n", yes(other >= 0));
    errno = 0;
    printf("writing to it: ENOSPC: %s\n", yes(write(other, buf, 1) < 0 && errno == ENOSPC));
    close(other);
    unlink("/tmp/other");
    printf("ftruncate to half: %d\n", ftruncate(fd, total / 2 / 4096 * 4096));
    statfs("/tmp", &after);
    printf("half free again: %s\n",
           yes(after.f_bfree == before.f_blocks - (unsigned long)(total / 2 / 4096)));
    printf("write after truncate: %s\n", yes(pwrite(fd, buf, 10, 0) == 10));
    unlink("/tmp/fill");
    statfs("/tmp", &after);
    printf("unlinked but open: space still used: %s\n", yes(after.f_bfree < before.f_blocks));
    close(fd);
    statfs("/tmp", &after);
    printf("closed: all free: %s\n", yes(after.f_bfree == before.f_blocks));
    printf("done\n");
    return 0;
}
