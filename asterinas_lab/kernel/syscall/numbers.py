"""x86-64 Linux system call numbers and argument counts.

Generated once from the host's ``asm/unistd_64.h`` (Debian package linux-libc-dev),
extended with the numbers 451..462 that newer kernels added, and then committed as
plain Python. The kernel must not parse C headers at import time: the safe kernel
needs a fixed, reviewable ABI table that behaves the same on every host, and the
numbers are part of the Linux ABI, so they never change once assigned.

``SYSCALL_NAMES`` maps a number to the name strace prints; ``SYSCALL_NARGS`` gives how
many argument registers each call uses (the count strace uses), so a generic tracer
prints the right number of arguments for calls that have no dedicated decoder.
"""

from __future__ import annotations

from typing import Final

SYS_READ: Final = 0
SYS_WRITE: Final = 1
SYS_OPEN: Final = 2
SYS_CLOSE: Final = 3
SYS_STAT: Final = 4
SYS_FSTAT: Final = 5
SYS_LSTAT: Final = 6
SYS_POLL: Final = 7
SYS_LSEEK: Final = 8
SYS_MMAP: Final = 9
SYS_MPROTECT: Final = 10
SYS_MUNMAP: Final = 11
SYS_BRK: Final = 12
SYS_RT_SIGACTION: Final = 13
SYS_RT_SIGPROCMASK: Final = 14
SYS_RT_SIGRETURN: Final = 15
SYS_IOCTL: Final = 16
SYS_PREAD64: Final = 17
SYS_PWRITE64: Final = 18
SYS_READV: Final = 19
SYS_WRITEV: Final = 20
SYS_ACCESS: Final = 21
SYS_PIPE: Final = 22
SYS_SELECT: Final = 23
SYS_SCHED_YIELD: Final = 24
SYS_MREMAP: Final = 25
SYS_MSYNC: Final = 26
SYS_MINCORE: Final = 27
SYS_MADVISE: Final = 28
SYS_SHMGET: Final = 29
SYS_SHMAT: Final = 30
SYS_SHMCTL: Final = 31
SYS_DUP: Final = 32
SYS_DUP2: Final = 33
SYS_PAUSE: Final = 34
SYS_NANOSLEEP: Final = 35
SYS_GETITIMER: Final = 36
SYS_ALARM: Final = 37
SYS_SETITIMER: Final = 38
SYS_GETPID: Final = 39
SYS_SENDFILE: Final = 40
SYS_SOCKET: Final = 41
SYS_CONNECT: Final = 42
SYS_ACCEPT: Final = 43
SYS_SENDTO: Final = 44
SYS_RECVFROM: Final = 45
SYS_SENDMSG: Final = 46
SYS_RECVMSG: Final = 47
SYS_SHUTDOWN: Final = 48
SYS_BIND: Final = 49
SYS_LISTEN: Final = 50
SYS_GETSOCKNAME: Final = 51
SYS_GETPEERNAME: Final = 52
SYS_SOCKETPAIR: Final = 53
SYS_SETSOCKOPT: Final = 54
SYS_GETSOCKOPT: Final = 55
SYS_CLONE: Final = 56
SYS_FORK: Final = 57
SYS_VFORK: Final = 58
SYS_EXECVE: Final = 59
SYS_EXIT: Final = 60
SYS_WAIT4: Final = 61
SYS_KILL: Final = 62
SYS_UNAME: Final = 63
SYS_SEMGET: Final = 64
SYS_SEMOP: Final = 65
SYS_SEMCTL: Final = 66
SYS_SHMDT: Final = 67
SYS_MSGGET: Final = 68
SYS_MSGSND: Final = 69
SYS_MSGRCV: Final = 70
SYS_MSGCTL: Final = 71
SYS_FCNTL: Final = 72
SYS_FLOCK: Final = 73
SYS_FSYNC: Final = 74
SYS_FDATASYNC: Final = 75
SYS_TRUNCATE: Final = 76
SYS_FTRUNCATE: Final = 77
SYS_GETDENTS: Final = 78
SYS_GETCWD: Final = 79
SYS_CHDIR: Final = 80
SYS_FCHDIR: Final = 81
SYS_RENAME: Final = 82
SYS_MKDIR: Final = 83
SYS_RMDIR: Final = 84
SYS_CREAT: Final = 85
SYS_LINK: Final = 86
SYS_UNLINK: Final = 87
SYS_SYMLINK: Final = 88
SYS_READLINK: Final = 89
SYS_CHMOD: Final = 90
SYS_FCHMOD: Final = 91
SYS_CHOWN: Final = 92
SYS_FCHOWN: Final = 93
SYS_LCHOWN: Final = 94
SYS_UMASK: Final = 95
SYS_GETTIMEOFDAY: Final = 96
SYS_GETRLIMIT: Final = 97
SYS_GETRUSAGE: Final = 98
SYS_SYSINFO: Final = 99
SYS_TIMES: Final = 100
SYS_PTRACE: Final = 101
SYS_GETUID: Final = 102
SYS_SYSLOG: Final = 103
SYS_GETGID: Final = 104
SYS_SETUID: Final = 105
SYS_SETGID: Final = 106
SYS_GETEUID: Final = 107
SYS_GETEGID: Final = 108
SYS_SETPGID: Final = 109
SYS_GETPPID: Final = 110
SYS_GETPGRP: Final = 111
SYS_SETSID: Final = 112
SYS_SETREUID: Final = 113
SYS_SETREGID: Final = 114
SYS_GETGROUPS: Final = 115
SYS_SETGROUPS: Final = 116
SYS_SETRESUID: Final = 117
SYS_GETRESUID: Final = 118
SYS_SETRESGID: Final = 119
SYS_GETRESGID: Final = 120
SYS_GETPGID: Final = 121
SYS_SETFSUID: Final = 122
SYS_SETFSGID: Final = 123
SYS_GETSID: Final = 124
SYS_CAPGET: Final = 125
SYS_CAPSET: Final = 126
SYS_RT_SIGPENDING: Final = 127
SYS_RT_SIGTIMEDWAIT: Final = 128
SYS_RT_SIGQUEUEINFO: Final = 129
SYS_RT_SIGSUSPEND: Final = 130
SYS_SIGALTSTACK: Final = 131
SYS_UTIME: Final = 132
SYS_MKNOD: Final = 133
SYS_USELIB: Final = 134
SYS_PERSONALITY: Final = 135
SYS_USTAT: Final = 136
SYS_STATFS: Final = 137
SYS_FSTATFS: Final = 138
SYS_SYSFS: Final = 139
SYS_GETPRIORITY: Final = 140
SYS_SETPRIORITY: Final = 141
SYS_SCHED_SETPARAM: Final = 142
SYS_SCHED_GETPARAM: Final = 143
SYS_SCHED_SETSCHEDULER: Final = 144
SYS_SCHED_GETSCHEDULER: Final = 145
SYS_SCHED_GET_PRIORITY_MAX: Final = 146
SYS_SCHED_GET_PRIORITY_MIN: Final = 147
SYS_SCHED_RR_GET_INTERVAL: Final = 148
SYS_MLOCK: Final = 149
SYS_MUNLOCK: Final = 150
SYS_MLOCKALL: Final = 151
SYS_MUNLOCKALL: Final = 152
SYS_VHANGUP: Final = 153
SYS_MODIFY_LDT: Final = 154
SYS_PIVOT_ROOT: Final = 155
SYS__SYSCTL: Final = 156
SYS_PRCTL: Final = 157
SYS_ARCH_PRCTL: Final = 158
SYS_ADJTIMEX: Final = 159
SYS_SETRLIMIT: Final = 160
SYS_CHROOT: Final = 161
SYS_SYNC: Final = 162
SYS_ACCT: Final = 163
SYS_SETTIMEOFDAY: Final = 164
SYS_MOUNT: Final = 165
SYS_UMOUNT2: Final = 166
SYS_SWAPON: Final = 167
SYS_SWAPOFF: Final = 168
SYS_REBOOT: Final = 169
SYS_SETHOSTNAME: Final = 170
SYS_SETDOMAINNAME: Final = 171
SYS_IOPL: Final = 172
SYS_IOPERM: Final = 173
SYS_CREATE_MODULE: Final = 174
SYS_INIT_MODULE: Final = 175
SYS_DELETE_MODULE: Final = 176
SYS_GET_KERNEL_SYMS: Final = 177
SYS_QUERY_MODULE: Final = 178
SYS_QUOTACTL: Final = 179
SYS_NFSSERVCTL: Final = 180
SYS_GETPMSG: Final = 181
SYS_PUTPMSG: Final = 182
SYS_AFS_SYSCALL: Final = 183
SYS_TUXCALL: Final = 184
SYS_SECURITY: Final = 185
SYS_GETTID: Final = 186
SYS_READAHEAD: Final = 187
SYS_SETXATTR: Final = 188
SYS_LSETXATTR: Final = 189
SYS_FSETXATTR: Final = 190
SYS_GETXATTR: Final = 191
SYS_LGETXATTR: Final = 192
SYS_FGETXATTR: Final = 193
SYS_LISTXATTR: Final = 194
SYS_LLISTXATTR: Final = 195
SYS_FLISTXATTR: Final = 196
SYS_REMOVEXATTR: Final = 197
SYS_LREMOVEXATTR: Final = 198
SYS_FREMOVEXATTR: Final = 199
SYS_TKILL: Final = 200
SYS_TIME: Final = 201
SYS_FUTEX: Final = 202
SYS_SCHED_SETAFFINITY: Final = 203
SYS_SCHED_GETAFFINITY: Final = 204
SYS_SET_THREAD_AREA: Final = 205
SYS_IO_SETUP: Final = 206
SYS_IO_DESTROY: Final = 207
SYS_IO_GETEVENTS: Final = 208
SYS_IO_SUBMIT: Final = 209
SYS_IO_CANCEL: Final = 210
SYS_GET_THREAD_AREA: Final = 211
SYS_LOOKUP_DCOOKIE: Final = 212
SYS_EPOLL_CREATE: Final = 213
SYS_EPOLL_CTL_OLD: Final = 214
SYS_EPOLL_WAIT_OLD: Final = 215
SYS_REMAP_FILE_PAGES: Final = 216
SYS_GETDENTS64: Final = 217
SYS_SET_TID_ADDRESS: Final = 218
SYS_RESTART_SYSCALL: Final = 219
SYS_SEMTIMEDOP: Final = 220
SYS_FADVISE64: Final = 221
SYS_TIMER_CREATE: Final = 222
SYS_TIMER_SETTIME: Final = 223
SYS_TIMER_GETTIME: Final = 224
SYS_TIMER_GETOVERRUN: Final = 225
SYS_TIMER_DELETE: Final = 226
SYS_CLOCK_SETTIME: Final = 227
SYS_CLOCK_GETTIME: Final = 228
SYS_CLOCK_GETRES: Final = 229
SYS_CLOCK_NANOSLEEP: Final = 230
SYS_EXIT_GROUP: Final = 231
SYS_EPOLL_WAIT: Final = 232
SYS_EPOLL_CTL: Final = 233
SYS_TGKILL: Final = 234
SYS_UTIMES: Final = 235
SYS_VSERVER: Final = 236
SYS_MBIND: Final = 237
SYS_SET_MEMPOLICY: Final = 238
SYS_GET_MEMPOLICY: Final = 239
SYS_MQ_OPEN: Final = 240
SYS_MQ_UNLINK: Final = 241
SYS_MQ_TIMEDSEND: Final = 242
SYS_MQ_TIMEDRECEIVE: Final = 243
SYS_MQ_NOTIFY: Final = 244
SYS_MQ_GETSETATTR: Final = 245
SYS_KEXEC_LOAD: Final = 246
SYS_WAITID: Final = 247
SYS_ADD_KEY: Final = 248
SYS_REQUEST_KEY: Final = 249
SYS_KEYCTL: Final = 250
SYS_IOPRIO_SET: Final = 251
SYS_IOPRIO_GET: Final = 252
SYS_INOTIFY_INIT: Final = 253
SYS_INOTIFY_ADD_WATCH: Final = 254
SYS_INOTIFY_RM_WATCH: Final = 255
SYS_MIGRATE_PAGES: Final = 256
SYS_OPENAT: Final = 257
SYS_MKDIRAT: Final = 258
SYS_MKNODAT: Final = 259
SYS_FCHOWNAT: Final = 260
SYS_FUTIMESAT: Final = 261
SYS_NEWFSTATAT: Final = 262
SYS_UNLINKAT: Final = 263
SYS_RENAMEAT: Final = 264
SYS_LINKAT: Final = 265
SYS_SYMLINKAT: Final = 266
SYS_READLINKAT: Final = 267
SYS_FCHMODAT: Final = 268
SYS_FACCESSAT: Final = 269
SYS_PSELECT6: Final = 270
SYS_PPOLL: Final = 271
SYS_UNSHARE: Final = 272
SYS_SET_ROBUST_LIST: Final = 273
SYS_GET_ROBUST_LIST: Final = 274
SYS_SPLICE: Final = 275
SYS_TEE: Final = 276
SYS_SYNC_FILE_RANGE: Final = 277
SYS_VMSPLICE: Final = 278
SYS_MOVE_PAGES: Final = 279
SYS_UTIMENSAT: Final = 280
SYS_EPOLL_PWAIT: Final = 281
SYS_SIGNALFD: Final = 282
SYS_TIMERFD_CREATE: Final = 283
SYS_EVENTFD: Final = 284
SYS_FALLOCATE: Final = 285
SYS_TIMERFD_SETTIME: Final = 286
SYS_TIMERFD_GETTIME: Final = 287
SYS_ACCEPT4: Final = 288
SYS_SIGNALFD4: Final = 289
SYS_EVENTFD2: Final = 290
SYS_EPOLL_CREATE1: Final = 291
SYS_DUP3: Final = 292
SYS_PIPE2: Final = 293
SYS_INOTIFY_INIT1: Final = 294
SYS_PREADV: Final = 295
SYS_PWRITEV: Final = 296
SYS_RT_TGSIGQUEUEINFO: Final = 297
SYS_PERF_EVENT_OPEN: Final = 298
SYS_RECVMMSG: Final = 299
SYS_FANOTIFY_INIT: Final = 300
SYS_FANOTIFY_MARK: Final = 301
SYS_PRLIMIT64: Final = 302
SYS_NAME_TO_HANDLE_AT: Final = 303
SYS_OPEN_BY_HANDLE_AT: Final = 304
SYS_CLOCK_ADJTIME: Final = 305
SYS_SYNCFS: Final = 306
SYS_SENDMMSG: Final = 307
SYS_SETNS: Final = 308
SYS_GETCPU: Final = 309
SYS_PROCESS_VM_READV: Final = 310
SYS_PROCESS_VM_WRITEV: Final = 311
SYS_KCMP: Final = 312
SYS_FINIT_MODULE: Final = 313
SYS_SCHED_SETATTR: Final = 314
SYS_SCHED_GETATTR: Final = 315
SYS_RENAMEAT2: Final = 316
SYS_SECCOMP: Final = 317
SYS_GETRANDOM: Final = 318
SYS_MEMFD_CREATE: Final = 319
SYS_KEXEC_FILE_LOAD: Final = 320
SYS_BPF: Final = 321
SYS_EXECVEAT: Final = 322
SYS_USERFAULTFD: Final = 323
SYS_MEMBARRIER: Final = 324
SYS_MLOCK2: Final = 325
SYS_COPY_FILE_RANGE: Final = 326
SYS_PREADV2: Final = 327
SYS_PWRITEV2: Final = 328
SYS_PKEY_MPROTECT: Final = 329
SYS_PKEY_ALLOC: Final = 330
SYS_PKEY_FREE: Final = 331
SYS_STATX: Final = 332
SYS_IO_PGETEVENTS: Final = 333
SYS_RSEQ: Final = 334
SYS_PIDFD_SEND_SIGNAL: Final = 424
SYS_IO_URING_SETUP: Final = 425
SYS_IO_URING_ENTER: Final = 426
SYS_IO_URING_REGISTER: Final = 427
SYS_OPEN_TREE: Final = 428
SYS_MOVE_MOUNT: Final = 429
SYS_FSOPEN: Final = 430
SYS_FSCONFIG: Final = 431
SYS_FSMOUNT: Final = 432
SYS_FSPICK: Final = 433
SYS_PIDFD_OPEN: Final = 434
SYS_CLONE3: Final = 435
SYS_CLOSE_RANGE: Final = 436
SYS_OPENAT2: Final = 437
SYS_PIDFD_GETFD: Final = 438
SYS_FACCESSAT2: Final = 439
SYS_PROCESS_MADVISE: Final = 440
SYS_EPOLL_PWAIT2: Final = 441
SYS_MOUNT_SETATTR: Final = 442
SYS_QUOTACTL_FD: Final = 443
SYS_LANDLOCK_CREATE_RULESET: Final = 444
SYS_LANDLOCK_ADD_RULE: Final = 445
SYS_LANDLOCK_RESTRICT_SELF: Final = 446
SYS_MEMFD_SECRET: Final = 447
SYS_PROCESS_MRELEASE: Final = 448
SYS_FUTEX_WAITV: Final = 449
SYS_SET_MEMPOLICY_HOME_NODE: Final = 450
SYS_CACHESTAT: Final = 451
SYS_FCHMODAT2: Final = 452
SYS_MAP_SHADOW_STACK: Final = 453
SYS_FUTEX_WAKE: Final = 454
SYS_FUTEX_WAIT: Final = 455
SYS_FUTEX_REQUEUE: Final = 456
SYS_STATMOUNT: Final = 457
SYS_LISTMOUNT: Final = 458
SYS_LSM_GET_SELF_ATTR: Final = 459
SYS_LSM_SET_SELF_ATTR: Final = 460
SYS_LSM_LIST_MODULES: Final = 461
SYS_MSEAL: Final = 462

#: Number -> syscall name, exactly as strace spells it.
SYSCALL_NAMES: Final[dict[int, str]] = {
    0: "read",
    1: "write",
    2: "open",
    3: "close",
    4: "stat",
    5: "fstat",
    6: "lstat",
    7: "poll",
    8: "lseek",
    9: "mmap",
    10: "mprotect",
    11: "munmap",
    12: "brk",
    13: "rt_sigaction",
    14: "rt_sigprocmask",
    15: "rt_sigreturn",
    16: "ioctl",
    17: "pread64",
    18: "pwrite64",
    19: "readv",
    20: "writev",
    21: "access",
    22: "pipe",
    23: "select",
    24: "sched_yield",
    25: "mremap",
    26: "msync",
    27: "mincore",
    28: "madvise",
    29: "shmget",
    30: "shmat",
    31: "shmctl",
    32: "dup",
    33: "dup2",
    34: "pause",
    35: "nanosleep",
    36: "getitimer",
    37: "alarm",
    38: "setitimer",
    39: "getpid",
    40: "sendfile",
    41: "socket",
    42: "connect",
    43: "accept",
    44: "sendto",
    45: "recvfrom",
    46: "sendmsg",
    47: "recvmsg",
    48: "shutdown",
    49: "bind",
    50: "listen",
    51: "getsockname",
    52: "getpeername",
    53: "socketpair",
    54: "setsockopt",
    55: "getsockopt",
    56: "clone",
    57: "fork",
    58: "vfork",
    59: "execve",
    60: "exit",
    61: "wait4",
    62: "kill",
    63: "uname",
    64: "semget",
    65: "semop",
    66: "semctl",
    67: "shmdt",
    68: "msgget",
    69: "msgsnd",
    70: "msgrcv",
    71: "msgctl",
    72: "fcntl",
    73: "flock",
    74: "fsync",
    75: "fdatasync",
    76: "truncate",
    77: "ftruncate",
    78: "getdents",
    79: "getcwd",
    80: "chdir",
    81: "fchdir",
    82: "rename",
    83: "mkdir",
    84: "rmdir",
    85: "creat",
    86: "link",
    87: "unlink",
    88: "symlink",
    89: "readlink",
    90: "chmod",
    91: "fchmod",
    92: "chown",
    93: "fchown",
    94: "lchown",
    95: "umask",
    96: "gettimeofday",
    97: "getrlimit",
    98: "getrusage",
    99: "sysinfo",
    100: "times",
    101: "ptrace",
    102: "getuid",
    103: "syslog",
    104: "getgid",
    105: "setuid",
    106: "setgid",
    107: "geteuid",
    108: "getegid",
    109: "setpgid",
    110: "getppid",
    111: "getpgrp",
    112: "setsid",
    113: "setreuid",
    114: "setregid",
    115: "getgroups",
    116: "setgroups",
    117: "setresuid",
    118: "getresuid",
    119: "setresgid",
    120: "getresgid",
    121: "getpgid",
    122: "setfsuid",
    123: "setfsgid",
    124: "getsid",
    125: "capget",
    126: "capset",
    127: "rt_sigpending",
    128: "rt_sigtimedwait",
    129: "rt_sigqueueinfo",
    130: "rt_sigsuspend",
    131: "sigaltstack",
    132: "utime",
    133: "mknod",
    134: "uselib",
    135: "personality",
    136: "ustat",
    137: "statfs",
    138: "fstatfs",
    139: "sysfs",
    140: "getpriority",
    141: "setpriority",
    142: "sched_setparam",
    143: "sched_getparam",
    144: "sched_setscheduler",
    145: "sched_getscheduler",
    146: "sched_get_priority_max",
    147: "sched_get_priority_min",
    148: "sched_rr_get_interval",
    149: "mlock",
    150: "munlock",
    151: "mlockall",
    152: "munlockall",
    153: "vhangup",
    154: "modify_ldt",
    155: "pivot_root",
    156: "_sysctl",
    157: "prctl",
    158: "arch_prctl",
    159: "adjtimex",
    160: "setrlimit",
    161: "chroot",
    162: "sync",
    163: "acct",
    164: "settimeofday",
    165: "mount",
    166: "umount2",
    167: "swapon",
    168: "swapoff",
    169: "reboot",
    170: "sethostname",
    171: "setdomainname",
    172: "iopl",
    173: "ioperm",
    174: "create_module",
    175: "init_module",
    176: "delete_module",
    177: "get_kernel_syms",
    178: "query_module",
    179: "quotactl",
    180: "nfsservctl",
    181: "getpmsg",
    182: "putpmsg",
    183: "afs_syscall",
    184: "tuxcall",
    185: "security",
    186: "gettid",
    187: "readahead",
    188: "setxattr",
    189: "lsetxattr",
    190: "fsetxattr",
    191: "getxattr",
    192: "lgetxattr",
    193: "fgetxattr",
    194: "listxattr",
    195: "llistxattr",
    196: "flistxattr",
    197: "removexattr",
    198: "lremovexattr",
    199: "fremovexattr",
    200: "tkill",
    201: "time",
    202: "futex",
    203: "sched_setaffinity",
    204: "sched_getaffinity",
    205: "set_thread_area",
    206: "io_setup",
    207: "io_destroy",
    208: "io_getevents",
    209: "io_submit",
    210: "io_cancel",
    211: "get_thread_area",
    212: "lookup_dcookie",
    213: "epoll_create",
    214: "epoll_ctl_old",
    215: "epoll_wait_old",
    216: "remap_file_pages",
    217: "getdents64",
    218: "set_tid_address",
    219: "restart_syscall",
    220: "semtimedop",
    221: "fadvise64",
    222: "timer_create",
    223: "timer_settime",
    224: "timer_gettime",
    225: "timer_getoverrun",
    226: "timer_delete",
    227: "clock_settime",
    228: "clock_gettime",
    229: "clock_getres",
    230: "clock_nanosleep",
    231: "exit_group",
    232: "epoll_wait",
    233: "epoll_ctl",
    234: "tgkill",
    235: "utimes",
    236: "vserver",
    237: "mbind",
    238: "set_mempolicy",
    239: "get_mempolicy",
    240: "mq_open",
    241: "mq_unlink",
    242: "mq_timedsend",
    243: "mq_timedreceive",
    244: "mq_notify",
    245: "mq_getsetattr",
    246: "kexec_load",
    247: "waitid",
    248: "add_key",
    249: "request_key",
    250: "keyctl",
    251: "ioprio_set",
    252: "ioprio_get",
    253: "inotify_init",
    254: "inotify_add_watch",
    255: "inotify_rm_watch",
    256: "migrate_pages",
    257: "openat",
    258: "mkdirat",
    259: "mknodat",
    260: "fchownat",
    261: "futimesat",
    262: "newfstatat",
    263: "unlinkat",
    264: "renameat",
    265: "linkat",
    266: "symlinkat",
    267: "readlinkat",
    268: "fchmodat",
    269: "faccessat",
    270: "pselect6",
    271: "ppoll",
    272: "unshare",
    273: "set_robust_list",
    274: "get_robust_list",
    275: "splice",
    276: "tee",
    277: "sync_file_range",
    278: "vmsplice",
    279: "move_pages",
    280: "utimensat",
    281: "epoll_pwait",
    282: "signalfd",
    283: "timerfd_create",
    284: "eventfd",
    285: "fallocate",
    286: "timerfd_settime",
    287: "timerfd_gettime",
    288: "accept4",
    289: "signalfd4",
    290: "eventfd2",
    291: "epoll_create1",
    292: "dup3",
    293: "pipe2",
    294: "inotify_init1",
    295: "preadv",
    296: "pwritev",
    297: "rt_tgsigqueueinfo",
    298: "perf_event_open",
    299: "recvmmsg",
    300: "fanotify_init",
    301: "fanotify_mark",
    302: "prlimit64",
    303: "name_to_handle_at",
    304: "open_by_handle_at",
    305: "clock_adjtime",
    306: "syncfs",
    307: "sendmmsg",
    308: "setns",
    309: "getcpu",
    310: "process_vm_readv",
    311: "process_vm_writev",
    312: "kcmp",
    313: "finit_module",
    314: "sched_setattr",
    315: "sched_getattr",
    316: "renameat2",
    317: "seccomp",
    318: "getrandom",
    319: "memfd_create",
    320: "kexec_file_load",
    321: "bpf",
    322: "execveat",
    323: "userfaultfd",
    324: "membarrier",
    325: "mlock2",
    326: "copy_file_range",
    327: "preadv2",
    328: "pwritev2",
    329: "pkey_mprotect",
    330: "pkey_alloc",
    331: "pkey_free",
    332: "statx",
    333: "io_pgetevents",
    334: "rseq",
    424: "pidfd_send_signal",
    425: "io_uring_setup",
    426: "io_uring_enter",
    427: "io_uring_register",
    428: "open_tree",
    429: "move_mount",
    430: "fsopen",
    431: "fsconfig",
    432: "fsmount",
    433: "fspick",
    434: "pidfd_open",
    435: "clone3",
    436: "close_range",
    437: "openat2",
    438: "pidfd_getfd",
    439: "faccessat2",
    440: "process_madvise",
    441: "epoll_pwait2",
    442: "mount_setattr",
    443: "quotactl_fd",
    444: "landlock_create_ruleset",
    445: "landlock_add_rule",
    446: "landlock_restrict_self",
    447: "memfd_secret",
    448: "process_mrelease",
    449: "futex_waitv",
    450: "set_mempolicy_home_node",
    451: "cachestat",
    452: "fchmodat2",
    453: "map_shadow_stack",
    454: "futex_wake",
    455: "futex_wait",
    456: "futex_requeue",
    457: "statmount",
    458: "listmount",
    459: "lsm_get_self_attr",
    460: "lsm_set_self_attr",
    461: "lsm_list_modules",
    462: "mseal",
}

#: Number -> how many argument registers the call reads (strace's count).
SYSCALL_NARGS: Final[dict[int, int]] = {
    0: 3,
    1: 3,
    2: 3,
    3: 1,
    4: 2,
    5: 2,
    6: 2,
    7: 3,
    8: 3,
    9: 6,
    10: 3,
    11: 2,
    12: 1,
    13: 4,
    14: 4,
    15: 0,
    16: 3,
    17: 4,
    18: 4,
    19: 3,
    20: 3,
    21: 2,
    22: 1,
    23: 5,
    24: 0,
    25: 5,
    26: 3,
    27: 3,
    28: 3,
    29: 3,
    30: 3,
    31: 3,
    32: 1,
    33: 2,
    34: 0,
    35: 2,
    36: 2,
    37: 1,
    38: 3,
    39: 0,
    40: 4,
    41: 3,
    42: 3,
    43: 3,
    44: 6,
    45: 6,
    46: 3,
    47: 3,
    48: 2,
    49: 3,
    50: 2,
    51: 3,
    52: 3,
    53: 4,
    54: 5,
    55: 5,
    56: 5,
    57: 0,
    58: 0,
    59: 3,
    60: 1,
    61: 4,
    62: 2,
    63: 1,
    64: 3,
    65: 3,
    66: 4,
    67: 1,
    68: 2,
    69: 4,
    70: 5,
    71: 3,
    72: 3,
    73: 2,
    74: 1,
    75: 1,
    76: 2,
    77: 2,
    78: 3,
    79: 2,
    80: 1,
    81: 1,
    82: 2,
    83: 2,
    84: 1,
    85: 2,
    86: 2,
    87: 1,
    88: 2,
    89: 3,
    90: 2,
    91: 2,
    92: 3,
    93: 3,
    94: 3,
    95: 1,
    96: 2,
    97: 2,
    98: 2,
    99: 1,
    100: 1,
    101: 4,
    102: 0,
    103: 3,
    104: 0,
    105: 1,
    106: 1,
    107: 0,
    108: 0,
    109: 2,
    110: 0,
    111: 0,
    112: 0,
    113: 2,
    114: 2,
    115: 2,
    116: 2,
    117: 3,
    118: 3,
    119: 3,
    120: 3,
    121: 1,
    122: 1,
    123: 1,
    124: 1,
    125: 2,
    126: 2,
    127: 2,
    128: 4,
    129: 3,
    130: 2,
    131: 2,
    132: 2,
    133: 3,
    134: 1,
    135: 1,
    136: 2,
    137: 2,
    138: 2,
    139: 3,
    140: 2,
    141: 3,
    142: 2,
    143: 2,
    144: 3,
    145: 1,
    146: 1,
    147: 1,
    148: 2,
    149: 2,
    150: 2,
    151: 1,
    152: 0,
    153: 0,
    154: 3,
    155: 2,
    156: 1,
    157: 5,
    158: 2,
    159: 1,
    160: 2,
    161: 1,
    162: 0,
    163: 1,
    164: 2,
    165: 5,
    166: 2,
    167: 2,
    168: 1,
    169: 4,
    170: 2,
    171: 2,
    172: 1,
    173: 3,
    174: 2,
    175: 3,
    176: 2,
    177: 1,
    178: 5,
    179: 4,
    180: 3,
    181: 5,
    182: 5,
    183: 5,
    184: 3,
    185: 3,
    186: 0,
    187: 3,
    188: 5,
    189: 5,
    190: 5,
    191: 4,
    192: 4,
    193: 4,
    194: 3,
    195: 3,
    196: 3,
    197: 2,
    198: 2,
    199: 2,
    200: 2,
    201: 1,
    202: 6,
    203: 3,
    204: 3,
    205: 1,
    206: 2,
    207: 1,
    208: 5,
    209: 3,
    210: 3,
    211: 1,
    212: 3,
    213: 1,
    214: 4,
    215: 4,
    216: 5,
    217: 3,
    218: 1,
    219: 0,
    220: 4,
    221: 4,
    222: 3,
    223: 4,
    224: 2,
    225: 1,
    226: 1,
    227: 2,
    228: 2,
    229: 2,
    230: 4,
    231: 1,
    232: 4,
    233: 4,
    234: 3,
    235: 2,
    236: 5,
    237: 6,
    238: 3,
    239: 5,
    240: 4,
    241: 1,
    242: 5,
    243: 5,
    244: 2,
    245: 3,
    246: 4,
    247: 5,
    248: 5,
    249: 4,
    250: 5,
    251: 3,
    252: 2,
    253: 0,
    254: 3,
    255: 2,
    256: 4,
    257: 4,
    258: 3,
    259: 4,
    260: 5,
    261: 3,
    262: 4,
    263: 3,
    264: 4,
    265: 5,
    266: 3,
    267: 4,
    268: 3,
    269: 3,
    270: 6,
    271: 5,
    272: 1,
    273: 2,
    274: 3,
    275: 6,
    276: 4,
    277: 4,
    278: 4,
    279: 6,
    280: 4,
    281: 6,
    282: 3,
    283: 2,
    284: 1,
    285: 4,
    286: 4,
    287: 2,
    288: 4,
    289: 4,
    290: 2,
    291: 1,
    292: 3,
    293: 2,
    294: 1,
    295: 4,
    296: 4,
    297: 4,
    298: 5,
    299: 5,
    300: 2,
    301: 5,
    302: 4,
    303: 5,
    304: 3,
    305: 2,
    306: 1,
    307: 4,
    308: 2,
    309: 3,
    310: 6,
    311: 6,
    312: 5,
    313: 3,
    314: 3,
    315: 4,
    316: 5,
    317: 3,
    318: 3,
    319: 2,
    320: 5,
    321: 3,
    322: 5,
    323: 1,
    324: 3,
    325: 3,
    326: 6,
    327: 6,
    328: 6,
    329: 4,
    330: 2,
    331: 1,
    332: 5,
    333: 6,
    334: 4,
    424: 4,
    425: 2,
    426: 6,
    427: 4,
    428: 3,
    429: 5,
    430: 2,
    431: 5,
    432: 3,
    433: 3,
    434: 2,
    435: 2,
    436: 3,
    437: 4,
    438: 3,
    439: 4,
    440: 5,
    441: 6,
    442: 5,
    443: 4,
    444: 3,
    445: 4,
    446: 2,
    447: 1,
    448: 2,
    449: 5,
    450: 4,
    451: 4,
    452: 4,
    453: 3,
    454: 4,
    455: 6,
    456: 4,
    457: 4,
    458: 4,
    459: 4,
    460: 4,
    461: 3,
    462: 3,
}

#: Name -> number, the inverse of :data:`SYSCALL_NAMES`.
SYSCALL_NUMBERS: Final[dict[str, int]] = {name: nr for nr, name in SYSCALL_NAMES.items()}
