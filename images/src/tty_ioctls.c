/*
 * tty_ioctls.c - terminal ioctls and job control on the controlling tty (fd 0).
 *
 * Run as a session leader whose controlling terminal is fd 0 (natively: the
 * slave of a pty from forkpty(); in the lab: `setsid -c tty_ioctls` on the
 * console).  Prints one deterministic line per check -- flags, errno names,
 * stop signals, never pids -- so both runs can be compared byte for byte.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "checks.h"

static void say(const char *what, int r)
{
    printf("%s = %d %s\n", what, r < 0 ? -1 : r, r < 0 ? errname(errno) : "");
    fflush(stdout);
}

/* Run fn in a child of a new process group (a background job); report how it ended. */
static void in_background(const char *what, void (*fn)(void))
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        fn();
        _exit(0);
    }
    setpgid(pid, pid);
    int status;
    waitpid(pid, &status, WUNTRACED);
    if (WIFSTOPPED(status)) {
        printf("%s: stopped by %s\n", what, WSTOPSIG(status) == SIGTTIN ? "SIGTTIN"
               : WSTOPSIG(status) == SIGTTOU ? "SIGTTOU" : "another signal");
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    } else {
        printf("%s: exited %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    fflush(stdout);
}

static void bg_read(void)
{
    char c;
    say("  background read", (int)read(0, &c, 1));
}

static void bg_read_ignoring(void)
{
    signal(SIGTTIN, SIG_IGN);
    char c;
    say("  background read, SIGTTIN ignored", (int)read(0, &c, 1));
}

static void bg_write(void)
{
    say("  background write", (int)write(1, "", 0));
}

static void bg_tcsetattr(void)
{
    struct termios t;
    tcgetattr(0, &t);
    say("  background tcsetattr", tcsetattr(0, TCSANOW, &t));
}

static void bg_tcsetattr_ignoring(void)
{
    signal(SIGTTOU, SIG_IGN);
    struct termios t;
    tcgetattr(0, &t);
    say("  background tcsetattr, SIGTTOU ignored", tcsetattr(0, TCSANOW, &t));
}

static void bg_take_foreground(void)
{
    signal(SIGTTOU, SIG_IGN);
    say("  background tcsetpgrp(own group), SIGTTOU ignored", tcsetpgrp(0, getpgrp()));
    say("  then tcgetpgrp is own group", tcgetpgrp(0) == getpgrp());
    say("  give it back", tcsetpgrp(0, getppid()));
}

static void new_session(void)
{
    /* A group leader cannot start a session: do it in a child of the job. */
    pid_t pid = fork();
    if (pid == 0) {
        say("  setsid", setsid() > 0 ? 0 : -1);
        say("  tcgetpgrp(0) in a new session", tcgetpgrp(0));
        say("  TIOCSCTTY of a tty another session holds", ioctl(0, TIOCSCTTY, 0));
        say("  open /dev/tty without a controlling tty", open("/dev/tty", O_RDWR) >= 0 ? 0 : -1);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
}

static void drop_ctty(void)
{
    say("  TIOCNOTTY by a non-leader", ioctl(0, TIOCNOTTY));
    say("  tcgetpgrp after TIOCNOTTY", tcgetpgrp(0));
}

int main(void)
{
    struct termios t, saved, back;
    struct winsize ws = {0}, got = {0};
    int null = open("/dev/null", O_RDWR);
    int pipefd[2];
    pipe(pipefd);

    say("isatty(0)", isatty(0));
    say("isatty(/dev/null)", isatty(null));
    say("TCGETS on /dev/null", ioctl(null, TCGETS, &t));
    say("TIOCGWINSZ on a pipe", ioctl(pipefd[0], TIOCGWINSZ, &ws));
    say("TIOCGPGRP on a pipe", ioctl(pipefd[0], TIOCGPGRP, &(pid_t){0}));

    say("tcgetattr", tcgetattr(0, &saved));
    printf("iflag=%#o oflag=%#o lflag=%#o csize|cread=%#o\n", saved.c_iflag, saved.c_oflag,
           saved.c_lflag, saved.c_cflag & (CSIZE | CREAD));
    printf("cc:");
    for (int i = 0; i < 17; i++)
        printf(" %d", saved.c_cc[i]);
    printf("\n");

    t = saved;
    t.c_lflag &= ~(ICANON | ECHO | ISIG);
    t.c_iflag &= ~ICRNL;
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 3;
    say("tcsetattr raw", tcsetattr(0, TCSAFLUSH, &t));
    say("tcgetattr", tcgetattr(0, &back));
    say("roundtrip equal", back.c_lflag == t.c_lflag && back.c_iflag == t.c_iflag
        && back.c_cc[VMIN] == 0 && back.c_cc[VTIME] == 3);
    char c;
    say("read with VMIN=0 VTIME=3 and no input", (int)read(0, &c, 1));
    say("tcsetattr back", tcsetattr(0, TCSANOW, &saved));
    say("tcgetattr", tcgetattr(0, &back));
    say("restored", back.c_iflag == saved.c_iflag && back.c_oflag == saved.c_oflag
        && back.c_cflag == saved.c_cflag && back.c_lflag == saved.c_lflag
        && memcmp(back.c_cc, saved.c_cc, sizeof back.c_cc) == 0);

    ws.ws_row = 33;
    ws.ws_col = 101;
    ws.ws_xpixel = 7;
    ws.ws_ypixel = 9;
    say("TIOCSWINSZ", ioctl(0, TIOCSWINSZ, &ws));
    say("TIOCGWINSZ", ioctl(0, TIOCGWINSZ, &got));
    printf("winsize %d %d %d %d\n", got.ws_row, got.ws_col, got.ws_xpixel, got.ws_ypixel);
    int n = -1;
    say("FIONREAD", ioctl(0, FIONREAD, &n));
    printf("queued %d\n", n);

    say("tcgetpgrp is my group", tcgetpgrp(0) == getpgrp());
    pid_t sid = -1;
    say("TIOCGSID", ioctl(0, TIOCGSID, &sid));
    say("  is my session", sid == getsid(0));
    say("tcsetpgrp(own group)", tcsetpgrp(0, getpgrp()));
    say("tcsetpgrp(-1)", tcsetpgrp(0, -1));
    say("tcsetpgrp(no such group)", tcsetpgrp(0, 4000000));
    say("tcsetpgrp(group of another session)", tcsetpgrp(0, 1));
    say("TIOCSCTTY of my own controlling tty", ioctl(0, TIOCSCTTY, 0));
    int tty = open("/dev/tty", O_RDWR);
    say("open /dev/tty", tty >= 0 ? 0 : -1);
    say("isatty(/dev/tty)", isatty(tty));

    in_background("new session", new_session);
    in_background("TIOCNOTTY", drop_ctty);
    in_background("background read", bg_read);
    in_background("background read ignoring SIGTTIN", bg_read_ignoring);
    in_background("background write, TOSTOP off", bg_write);
    in_background("background tcsetattr", bg_tcsetattr);
    in_background("background tcsetattr ignoring SIGTTOU", bg_tcsetattr_ignoring);
    in_background("background tcsetpgrp", bg_take_foreground);
    say("foreground again", tcgetpgrp(0) == getpgrp());

    t = saved;
    t.c_lflag |= TOSTOP;
    tcsetattr(0, TCSANOW, &t);
    in_background("background write, TOSTOP on", bg_write);
    tcsetattr(0, TCSANOW, &saved);
    printf("done\n");
    return 0;
}
