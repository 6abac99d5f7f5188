/* demo_frame_reuse.c - demonstration for the OSTD bug "alloc_in_use" (now and then
 * the frame allocator hands out a frame that is still in use, zeroing it).
 *
 * The neighbour fills 64 pages with a pattern; then we allocate and touch memory. A
 * frame given to us twice, or taken from the neighbour, shows up as pages of ours
 * that share bytes, and as a neighbour whose pattern changed. memcheck sees frames
 * mapped writable in more than one place and reference counts that do not add up. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "demo.h"

int main(void)
{
    unbuffered_stdout();
    struct neighbour n = start_neighbour();
    size_t pages = 64;
    unsigned char *mem = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t p = 0; p < pages; p++)
        memset(mem + p * 4096, (int)(p + 1), 4096);
    size_t wrong = 0;
    for (size_t p = 0; p < pages; p++)
        wrong += mem[p * 4096 + 5] != (unsigned char)(p + 1);
    printf("pages of ours that do not hold what we wrote: %zu of %zu\n", wrong, pages);
    int intact = neighbour_intact(&n);
    printf("RESULT: %s\n", intact && wrong == 0 ? "intact" : "corrupted");
    return 0;
}
