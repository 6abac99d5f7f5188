/* demo_kept_frame.c - demonstration for the safe-kernel bug "kept_frame" (munmap
 * keeps a handle to the unmapped page's frame, and a later munmap writes garbage
 * through it: a use after free, in any C kernel).
 *
 * In the framekernel the handle keeps the frame alive: OSTD will not hand it to
 * anyone else while a handle exists, so the garbage lands in a frame nobody maps.
 * Our new pages and the neighbour's stay intact. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "demo.h"

int main(void)
{
    unbuffered_stdout();
    struct neighbour n = start_neighbour();
    char *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(a, 'A', 4096);
    show("munmap a page (the buggy kernel keeps its frame)", munmap(a, 4096));
    /* New memory: with a C kernel's use-after-free, this could get the same frame. */
    size_t size = 16 * 4096;
    char *b = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(b, 'B', size);
    char *c = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    c[0] = 'C';
    show("munmap another page (the buggy kernel now writes through the kept frame)", munmap(c, 4096));
    size_t bad = 0;
    for (size_t i = 0; i < size; i++)
        bad += b[i] != 'B';
    yesno("our new pages are intact", bad == 0);
    finish_with_neighbour(&n);
    return 0;
}
