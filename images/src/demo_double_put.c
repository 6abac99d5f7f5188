/* demo_double_put.c - demonstration for the OSTD bug "double_put" (unmapping a page
 * that copy-on-write shares with another process drops *both* references, so the
 * frame goes back to the allocator while the other process still maps it).
 *
 * We write a pattern into a page and fork. The child unmaps its copy-on-write view
 * of the page and allocates fresh memory, which the allocator serves from the frame
 * it wrongly got back -- our page. The child fills it; we read our page: the child's
 * bytes. memcheck sees one frame mapped writable by one process and read-only by
 * another, with a reference count that matches neither. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "demo.h"

int main(void)
{
    unbuffered_stdout();
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(page, 'P', 4096);
    int done[2];
    if (pipe(done))
        fatal("pipe");
    pid_t kid = fork();
    if (kid == 0) {
        munmap(page, 4096);
        char *fresh = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(fresh, 'c', 16 * 4096);
        char c = 'd';
        if (write(done[1], &c, 1) != 1)
            _exit(1);
        pause(); /* stay alive, so both mappings exist when memory is audited */
        _exit(0);
    }
    char c;
    if (read(done[0], &c, 1) != 1)
        fatal("read");
    size_t changed = 0;
    for (size_t i = 0; i < 4096; i++)
        changed += page[i] != 'P';
    yesno("our page still holds our bytes", changed == 0);
    printf("bytes of our page changed by the other process: %zu\n", changed);
    kill(kid, SIGKILL);
    waitpid(kid, NULL, 0);
    printf("RESULT: %s\n", changed ? "corrupted" : "intact");
    return 0;
}
