/* demo_read_overflow.c - demonstration for the safe-kernel bug "read_overflow"
 * (read() copies count + 4096 bytes into the user buffer).
 *
 * A neighbour process holds a known pattern. We read() 16 bytes into a buffer that
 * ends at the edge of a mapping (the next page is unmapped): Linux returns 16; with
 * the bug the copy runs into the unmapped page and fails with EFAULT. Then a read
 * into the middle of a larger mapping: with the bug our *own* bytes after the buffer
 * are overwritten. Either way nothing outside this process changes: the neighbour
 * checks its pattern. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"

int main(void)
{
    unbuffered_stdout();
    struct neighbour n = start_neighbour();
    int fd = open("/dev/zero", O_RDONLY);
    char *edge = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(edge + 4096, 4096);
    show("read 16 bytes into a buffer at the end of a mapping", read(fd, edge + 4096 - 16, 16));
    char *big = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(big, 'x', 4 * 4096);
    show("read 16 bytes into the middle of a larger mapping", read(fd, big, 16));
    yesno("our own bytes after the buffer were overwritten", big[16] != 'x');
    finish_with_neighbour(&n);
    return 0;
}
