/*
 * checks.h - tiny helpers shared by the process/memory/signal/thread test
 * programs (fork_tree.c, signal_handlers.c, ...).
 *
 * Every check prints one deterministic line: no pids, addresses or times.
 * Errno values are printed by name from our own table (not strerror, whose
 * text differs between musl and glibc), so a native run and a run inside
 * the lab can be compared byte for byte.
 */
#ifndef CHECKS_H
#define CHECKS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static inline const char *errname(int e)
{
    static char unknown[24];
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case ENOEXEC: return "ENOEXEC";
    case EBADF: return "EBADF";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOTTY: return "ENOTTY";
    case ETXTBSY: return "ETXTBSY";
    case EFBIG: return "EFBIG";
    case ENOSPC: return "ENOSPC";
    case ESPIPE: return "ESPIPE";
    case EROFS: return "EROFS";
    case EPIPE: return "EPIPE";
    case EDOM: return "EDOM";
    case ERANGE: return "ERANGE";
    case EDEADLK: return "EDEADLK";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EOWNERDEAD: return "EOWNERDEAD";
    case ETIMEDOUT: return "ETIMEDOUT";
    default:
        snprintf(unknown, sizeof unknown, "E#%d", e);
        return unknown;
    }
}

/* "label: ret" on success, "label: -1 ENAME" on failure (ret < 0, errno set). */
static inline void show(const char *label, long ret)
{
    if (ret < 0)
        printf("%s: %ld %s\n", label, ret, errname(errno));
    else
        printf("%s: %ld\n", label, ret);
}

/* For APIs that return an error number instead of setting errno
 * (pthread_*, clock_nanosleep, posix_*). */
static inline void show_err(const char *label, int err)
{
    printf("%s: %s\n", label, errname(err));
}

static inline void yesno(const char *label, int cond)
{
    printf("%s: %s\n", label, cond ? "yes" : "no");
}

/* A setup step failed: nothing after it would be meaningful. */
static inline void fatal(const char *what)
{
    printf("FATAL %s: %s\n", what, errname(errno));
    fflush(stdout);
    exit(1);
}

/* Unbuffered stdout: nothing is left in a stdio buffer to be duplicated by
 * fork() or lost by _exit()/a fatal signal, and lines from parent and child
 * come out in the order they were printed. */
static inline void unbuffered_stdout(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
}

#endif
