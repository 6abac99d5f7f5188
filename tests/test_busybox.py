"""Busybox applets, Linux as the oracle: at least 60 applets of Debian's busybox-static.

Each case runs natively (``chroot ROOT /bin/busybox ...``) and in the lab, and stdout
and the exit status must match (tests/oracle.py's ``assert_same``). A string case runs
as ``busybox sh -c STRING``; a list case runs ``busybox ARGV...``.

Commands that write work on a copy of /data inside /tmp (``W`` below), and every
output is deterministic natively: no times but fixed ones (``touch -d``), no pids,
no inode numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from oracle import BUSYBOX, assert_same

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")

#: A private, writable copy of /data for one command: ``W + "cmd ..."`` (cp -a keeps
#: /data's fixed mtimes, so listings do not depend on the second the test ran in).
W = "rm -rf /tmp/w && cp -a /data /tmp/w && cd /tmp/w && "
#: Remove the copy at the end (keeps /tmp small for the next case).
END = "; s=$?; cd / && rm -rf /tmp/w /tmp/x; exit $s"

CASES: list[list[str] | str] = [
    # --- files and text ----------------------------------------------------------
    ["cat", "/data/a.txt", "/data/b.txt", "/data/sub/c.txt"],
    ["cat", "/nonexistent"],
    ["ls", "-a", "/data"],
    ["ls", "-R", "/data"],
    ["ls", "-1", "/data/files"],
    ["ls", "-lnR", "/data/files"],
    ["sort", "-r", "/etc/motd"],
    ["sort", "-n", "-k", "2", "/etc/motd"],
    ["sed", "-n", "s/line \\([0-9]*\\).*/\\1/p", "/etc/motd"],
    ["sed", "3,5d;s/test/TEST/", "/etc/motd"],
    ["awk", "{ n += $2 } END { print n, NR }", "/etc/motd"],
    ["awk", "-F", " ", 'NR % 3 == 0 { printf "%s-%d\\n", $1, $2 * 2 }', "/etc/motd"],
    ["grep", "-n", "1", "/etc/motd"],
    ["grep", "-c", "-v", "line 1", "/etc/motd"],
    ["grep", "nomatch", "/etc/motd"],
    ["egrep", "line (3|7) ", "/etc/motd"],
    ["fgrep", "-i", "LINE 2", "/etc/motd"],
    ["find", "/data", "-size", "+100c"],
    ["wc", "-l", "/etc/motd", "/data/a.txt"],
    ["wc", "-c", "/data/files/three"],
    ["head", "-n", "3", "/etc/motd"],
    ["head", "-c", "10", "/etc/motd"],
    ["tail", "-n", "2", "/etc/motd"],
    ["tail", "-c", "20", "/etc/motd"],
    ["tail", "-n", "+11", "/etc/motd"],
    ["cut", "-d", " ", "-f", "1,2", "/etc/motd"],
    ["cut", "-c", "1-4", "/etc/motd"],
    ["md5sum", "/etc/motd", "/data/a.txt"],
    ["sha1sum", "/etc/motd"],
    ["sha256sum", "/etc/motd", "/data/files/three"],
    ["sha512sum", "/data/b.txt"],
    ["md5sum", "/nonexistent"],
    ["od", "-c", "/data/b.txt"],
    ["od", "-A", "x", "-t", "x1z", "/data/a.txt"],
    ["hexdump", "-C", "/data/b.txt"],
    ["xxd", "/data/a.txt"],
    ["base64", "/etc/motd"],
    ["cmp", "/data/a.txt", "/data/b.txt"],
    ["cmp", "/data/a.txt", "/data/a.txt"],
    ["diff", "/data/a.txt", "/data/b.txt"],
    ["diff", "/etc/motd", "/etc/motd"],
    ["fold", "-w", "10", "/etc/motd"],
    ["nl", "/etc/motd"],
    ["paste", "/data/a.txt", "/data/b.txt"],
    ["paste", "-s", "-d", ",", "/etc/motd"],
    ["rev", "/etc/motd"],
    ["tac", "/etc/motd"],
    ["factor", "360", "97", "1000001"],
    ["sum", "/etc/motd"],
    ["cksum", "/etc/motd", "/data/files/three"],
    ["strings", "/etc/motd"],
    ["expand", "/etc/motd"],
    ["dos2unix", "-u", "/nonexistent"],
    ["stat", "-c", "%n %s %a %u %g %F %h", "/data/a.txt", "/data/b.txt", "/data/files/three", "/data/sub"],
    ["stat", "-c", "%Y %y", "/data/a.txt"],
    ["du", "-s", "-k", "/data"],
    "grep -r -l a /data | sort",
    "find /data | sort",
    "find /data -type f -name '*.txt' | sort",
    "find /data -type d | sort",
    "du -a /data | sort -k2",
    ["readlink", "-f", "/data/../data/sub/./c.txt"],
    ["realpath", "/data/sub/../files/one"],
    ["basename", "/data/sub/c.txt", ".txt"],
    ["dirname", "/data/sub/c.txt"],
    ["which", "busybox"],
    # --- arithmetic, strings, environment ---------------------------------------
    ["expr", "6", "*", "7"],
    ["expr", "length", "asterinas"],
    ["expr", "1", "=", "2"],
    ["seq", "5"],
    ["seq", "-s", ",", "0", "3", "20"],
    ["printf", "%s=%05d %x %c\\n", "a", "42", "255", "z"],
    ["echo", "-n", "no newline"],
    ["echo", "-e", "tab\\there"],
    ["test", "-d", "/data"],
    ["test", "-f", "/data"],
    ["[", "1", "-lt", "2", "]"],
    ["true"],
    ["false"],
    ["env", "-i", "A=1", "B=2", "/bin/busybox", "env"],
    ["printenv", "HOME"],
    ["printenv", "NOPE"],
    ["id", "-u"],
    ["id", "-gn"],
    ["whoami"],
    ["uname", "-s"],
    ["date", "-u", "-d", "@0"],
    ["date", "-u", "-d", "@1600000000", "+%Y-%m-%d %H:%M:%S %j %a"],
    ["sleep", "0"],
    ["timeout", "5", "/bin/busybox", "echo", "in time"],
    ["nice", "/bin/busybox", "echo", "nice"],
    ["nohup", "/bin/busybox", "true"],
    ["pwd"],
    ["tr", "a-z", "A-Z"],
    ["usleep", "0"],
    # --- pipes and stdin through the shell -----------------------------------------
    "cat /etc/motd | tr a-z A-Z | head -n 2",
    "yes | head -n 3",
    "yes abc | head -c 10 | od -c",
    "sort -r /etc/motd | uniq -c | head -n 3",
    "printf 'b\\na\\nb\\nc\\na\\n' | sort | uniq -d",
    "printf '1\\n2\\n3\\n' | xargs echo n:",
    "printf 'a b c d e\\n' | xargs -n 2 echo",
    "find /data -type f | sort | xargs wc -c",
    "echo hello | tee /tmp/tee | rev; cat /tmp/tee; rm /tmp/tee",
    "seq 10 | paste - - ",
    "echo 'Zm9vYmFy' | base64 -d; echo",
    "echo hello world | md5sum",
    "seq 100 | tail -n 3",
    "echo a:b:c | cut -d: -f2",
    "echo '  padded  ' | sed 's/^ *//;s/ *$//'",
    "echo hello | od -An -tx1",
    "echo 'one two' | awk '{print $2, $1}'",
    "printf 'x\\ty\\n' | expand -t 4 | od -c",
    "printf 'x    y\\n' | unexpand -a | od -c",
    "echo ABC | tr -d B",
    "echo aaabbb | tr -s ab",
    "echo hello | fold -w 2",
    "printf '3\\n1\\n2\\n' | sort -n | tac",
    "echo 'wc test line' | wc -w",
    # --- shell language ----------------------------------------------------------
    "for i in 1 2 3; do echo item $i; done",
    "i=0; while [ $i -lt 5 ]; do i=$((i+1)); done; echo $i",
    "f() { echo fn $1 $#; return 3; }; f a b; echo status $?",
    'x=$(echo sub; echo stitution); echo "$x"',
    "echo `echo backquote`",
    "(cd /data && pwd; exit 4); echo sub $? ; pwd",
    "cat <<EOF\nhere $HOME\ndoc\nEOF",
    "cat <<'EOF'\nquoted $HOME\nEOF",
    "trap 'echo trapped' EXIT; echo body",
    "trap 'echo usr1' USR1; kill -USR1 $$; echo after",
    "case abc in a*) echo glob;; *) echo no;; esac",
    'set -- x y z; echo $# $2 "$@"',
    "echo ${HOME:-unset} ${NOPE:-dflt} ${#PATH}",
    "v=hello.tar.gz; echo ${v%.gz} ${v%%.*} ${v#*.}",
    "echo $((7 * 6)) $((17 % 5)) $((1 << 10))",
    "echo out > /tmp/r; echo more >> /tmp/r; cat < /tmp/r; rm /tmp/r",
    "echo err >&2; echo ok",
    "ls /nonexistent; echo status $?",
    "false || echo or; true && echo and",
    "! false; echo $?",
    "exec 3>/tmp/fd; echo via3 >&3; exec 3>&-; cat /tmp/fd; rm /tmp/fd",
    'read a b <<EOF\nfirst second third\nEOF\necho "$b"',
    "sh -c 'exit 5'; echo $?",
    "echo a; sh -c 'echo b; exit 0'; echo c",
    "type echo cd",
    "command -v ls",
    "x=1; export x; env | grep '^x='",
    "umask 027; umask",
    "cd /data && echo * */*",
    "cd /data && for f in *.txt; do echo $f; done",
    "getopts ab: o -b val; echo $o $OPTARG",
    "printf '%s\\n' a b c | while read l; do echo got $l; done",
    # --- writing: on a copy of /data in /tmp -----------------------------------------
    W + "ls -lnR" + END,
    W + "touch -d '2001-02-03 04:05:06' new && stat -c '%s %Y %n' new" + END,
    W + "mkdir -p d1/d2/d3 && rmdir d1/d2/d3 && rmdir d1/d2 && ls -1 d1 && rmdir d1 && ls" + END,
    W + "mkdir -m 700 priv && stat -c '%a %F' priv" + END,
    W + "rmdir files; echo $?" + END,
    W + "cp a.txt copy && cat copy && cmp a.txt copy && echo same" + END,
    W + "cp -p /data/files/three t3 && stat -c '%a %s %Y' t3" + END,  # /data's mtimes are fixed
    W + "cp -a files f2 && ls -ln f2" + END,
    W + "mv a.txt moved && ls && cat moved" + END,
    W + "mv sub files/ && find . | sort" + END,
    W + "mv a.txt b.txt && cat b.txt && ls" + END,
    W + "rm a.txt && ls && rm a.txt; echo $?" + END,
    W + "rm -r files && ls" + END,
    W + "rm -rf sub files && ls" + END,
    W + "ln -s a.txt link && readlink link && cat link && ls -l link | cut -c1-10" + END,
    W + "ln -s /nowhere dangling; cat dangling; echo $?; readlink dangling" + END,
    W + "ln a.txt hard && stat -c '%h %s' a.txt hard && echo x >> hard && cat a.txt" + END,
    W + "ln -sf sub/c.txt s && realpath s && readlink -f s" + END,
    W + "chmod 640 a.txt && chmod u+x,g-r b.txt && stat -c '%a %n' a.txt b.txt" + END,
    W + "chmod -R go-rwx files && stat -c '%a %n' files files/one files/three" + END,
    W + "chown 12:34 a.txt && stat -c '%u %g' a.txt && chgrp 5 a.txt && stat -c '%u:%g' a.txt" + END,
    W + "chown -h 7 b.txt && ls -ln b.txt | cut -d' ' -f1-4" + END,
    W + "touch -d '@1000000000' a.txt && stat -c %Y a.txt" + END,
    W + "touch -r /data/files/one a.txt && stat -c %Y a.txt /data/files/one" + END,
    W + "echo new > n && touch -d 2000-01-01 n && ls -l n | cut -c1-10" + END,
    W + "echo data | tee t1 t2 > t3 && cat t1 t2" + END,
    W + "touch -d @1234567890 a.txt sub sub/c.txt && "
    "tar cf ../w.tar a.txt sub && tar tvf ../w.tar | sed 's/ \\+/ /g' && rm ../w.tar" + END,
    W + "tar cf - files | tar xf - -C sub && find sub | sort && cat sub/files/two" + END,
    W + "tar czf ../w.tgz . && mkdir ../x && tar xzf ../w.tgz -C ../x && ls -R ../x && rm -rf ../x ../w.tgz" + END,
    W + "gzip a.txt && ls && gunzip a.txt.gz && cat a.txt" + END,
    W + "gzip -c b.txt > b.gz && zcat b.gz && gzip -dc b.gz | wc -c" + END,
    W + "echo compress me | gzip | gunzip" + END,
    W + "bzip2 -c b.txt | bunzip2" + END,
    W + "seq 10 > s && sed -i 's/5/five/' s && cat s" + END,
    W + "dd if=/etc/motd of=d bs=16 count=3 2>&1 | head -c 0 && wc -c d && cat d" + END,
    W + "truncate -s 10 a.txt && od -c a.txt" + END,
    W + "printf 'b\\na\\n' > u && sort -o u u && cat u" + END,
    W + "cp -r sub sub2 && diff -r sub sub2 && echo same" + END,
    W + "echo changed > sub/c.txt && diff -u /data/sub/c.txt sub/c.txt | tail -n 2" + END,
    W + "sync && echo synced" + END,
    W + "du -a . | sort -k2" + END,
    W + "find . -newer files/one -o -name '*.txt' | sort" + END,
    W + "find . -name '*.txt' -exec cat {} \\; | sort" + END,
    W + "find . -type f -delete && find ." + END,
    W + "md5sum a.txt b.txt > sums && md5sum -c sums" + END,
    W + "ls -la | cut -c1-10 | sort | uniq -c" + END,
    W + "ls -S files; ls -t files; ls -r files" + END,
]


@pytest.fixture(scope="module", autouse=True)
def applet_links(root: Path):
    """ROOT/usr/bin/APPLET -> /bin/busybox for every applet, removed afterwards.

    Debian's busybox finds its own applets through /proc/self/exe, which a chroot
    without /proc lacks: natively ``sh -c 'uniq'`` would say "not found". With the
    links on PATH both sides run the same applets.
    """
    import shutil
    import subprocess

    names = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, check=True).stdout.split()
    usr_bin = root / "usr" / "bin"
    usr_bin.mkdir(parents=True)
    for name in names:
        os.symlink("/bin/busybox", usr_bin / name.decode())
    yield
    shutil.rmtree(root / "usr")


def _argv(case: list[str] | str) -> list[str]:
    if isinstance(case, str):
        return ["/bin/busybox", "sh", "-c", case]
    return ["/bin/busybox", *case]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case if isinstance(case, str) else " ".join(case))
def test_busybox_applet(root: Path, case: list[str] | str) -> None:
    assert_same(root, _argv(case))
