#!/usr/bin/env python3
"""debver_oracle.py - checks mamori_debver_cmp against dpkg itself.

Gathers the Debian versions this machine knows (dpkg's status file, and
`apt-cache dumpavail` when apt has package lists), builds pairs - sorted
neighbours, random pairs, versions of the same package, hand-made edge
cases - and asks `dpkg --compare-versions` about each.  Every pair must get
the same answer from mamori (through tests/unit/debver_tool.c), and every
real version must pass mamori_debver_check.

Usage: debver_oracle.py PATH/TO/debver_tool [PAIRS]   (default 3000 pairs)
Exits 77 (skipped) when dpkg is not installed.
"""
import collections
import random
import shutil
import subprocess
import sys
import tempfile
import time

STATUS = "/var/lib/dpkg/status"
EDGE = [
    ("1.0", "1.0-0"), ("1.0~rc1", "1.0"), ("1.0~~", "1.0~"), ("1.0", "1.0+b1"),
    ("1.0a", "1.0+"), ("1.0+", "1.0."), ("1:0.1", "2.0"), ("2:1.0", "10:0.1"),
    ("0:1.0", "1.0"), ("00001:1", "1:1"), ("1.00", "1.0"), ("1.001", "1.1"),
    ("1.0-1", "1.0-1.1"), ("1.0-1-2", "1.0-1-1"), ("1.0-1-2", "1.0-1"),
    ("1.0-a", "1.0-1"), ("1.2.3-4", "1.2.3-4~bpo1"),
    ("9" * 40, "9" * 39 + "8"), ("1." + "9" * 30, "1.1" + "0" * 30),
    ("0" * 30 + "1", "1"), ("1.0-1+deb12u1", "1.0-1+deb12u10"),
    ("1.2.1-2.2+wheezy2", "1.2.1-2.2+wheezy3"), ("1.0z", "1.0Z"),
    ("1.0-A", "1.0-a"), ("1.0~beta", "1.0~alpha"), ("1:1.0-1", "1.0-1"),
    ("2.36-9+deb12u4", "2.36-9+deb12u10"), ("1.0+dfsg-1", "1.0-1"),
    ("1.0.0~git20230101", "1.0.0"), ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12"),
    ("1:2.3-4-5-6", "1:2.3-4-5-7"), ("0.0", "0"), ("10", "9"), ("1.10", "1.9"),
]


def read_versions():
    """(package, version) pairs from dpkg status and apt's lists."""
    found = []
    texts = []
    try:
        with open(STATUS, encoding="utf-8", errors="replace") as f:
            texts.append(f.read())
    except OSError:
        pass
    if shutil.which("apt-cache"):
        r = subprocess.run(["apt-cache", "dumpavail"], capture_output=True,
                           text=True, errors="replace")
        if r.returncode == 0:
            texts.append(r.stdout)
    for text in texts:
        pkg = None
        for line in text.splitlines():
            if line.startswith("Package:"):
                pkg = line.split(":", 1)[1].strip()
            elif line.startswith("Version:") and pkg is not None:
                found.append((pkg, line.split(":", 1)[1].strip()))
    return found


def dpkg_agrees(pairs, answers, shells=2):
    """For each pair, whether dpkg holds the relation mamori answered
    (-1: lt, 0: eq, 1: gt) - one dpkg process per pair, run by a couple of
    shells side by side.  A relation dpkg denies is a disagreement either
    way."""
    rel = {-1: "lt", 0: "eq", 1: "gt"}
    script = ('while read a r b; do '
              'if dpkg --compare-versions "$a" "$r" "$b"; then echo y; '
              'else echo n; fi; done')
    lines = ["%s %s %s\n" % (a, rel[m], b) for (a, b), m in zip(pairs, answers)]
    chunk = (len(lines) + shells - 1) // shells
    procs = []
    for i in range(shells):
        f = tempfile.TemporaryFile(mode="w+")
        f.write("".join(lines[i * chunk:(i + 1) * chunk]))
        f.seek(0)
        procs.append((subprocess.Popen(["sh", "-c", script], stdin=f,
                                       stdout=subprocess.PIPE, text=True), f))
    out = []
    for p, f in procs:
        stdout, _ = p.communicate()
        f.close()
        if p.returncode != 0:
            raise RuntimeError("dpkg loop failed")
        out += [x == "y" for x in stdout.split()]
    return out


def perl_answers(pairs):
    """Dpkg::Version's answers (dpkg's own Perl module) for many pairs in
    one process, or None when the module is missing."""
    code = ('use Dpkg::Version; while (<STDIN>) { chomp; '
            'my ($a, $b) = split / /; my $r = version_compare($a, $b); '
            'print $r <=> 0, "\n"; }')
    try:
        r = subprocess.run(["perl", "-e", code],
                           input="".join("%s %s\n" % p for p in pairs),
                           capture_output=True, text=True)
    except OSError:
        return None
    if r.returncode != 0:
        return None
    return [int(x) for x in r.stdout.split()]


def dpkg_answer(a, b):
    for rel, v in (("lt", -1), ("eq", 0)):
        if subprocess.run(["dpkg", "--compare-versions", a, rel, b]).returncode == 0:
            return v
    return 1


def tool(path, mode, lines):
    r = subprocess.run([path, mode], input="".join(l + "\n" for l in lines),
                       capture_output=True, text=True, check=True)
    return r.stdout.splitlines()


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__)
        return 2
    if shutil.which("dpkg") is None:
        print("dpkg not installed: skipped")
        return 77
    path = sys.argv[1]
    want_pairs = int(sys.argv[2]) if len(sys.argv) == 3 else 3000
    rng = random.Random(20261128)
    t0 = time.monotonic()

    found = read_versions()
    versions = sorted(set(v for _, v in found))
    if len(versions) < 50:
        print("only %d versions found on this machine" % len(versions))
        return 1
    bad = [(v, why) for v, why in zip(versions, tool(path, "check", versions))
           if why != "ok"]
    for v, why in bad:
        print("real version refused: %r: %s" % (v, why))

    # mamori's own sort of every version: its neighbours are the pairs
    # most likely to expose an ordering mistake.
    ordered = tool(path, "sort", versions)

    pairs = []
    per = want_pairs // 4
    step = max(1, len(ordered) // per)
    start = rng.randrange(step)
    pairs += [(ordered[i], ordered[i + 1])
              for i in range(start, len(ordered) - 1, step)][:per]
    pairs += [tuple(rng.sample(versions, 2)) for _ in range(per)]
    by_pkg = collections.defaultdict(set)
    for p, v in found:
        by_pkg[p].add(v)
    multi = [sorted(vs) for vs in by_pkg.values() if len(vs) > 1]
    same = []
    while multi and len(same) < per:
        vs = rng.choice(multi)
        same.append(tuple(rng.sample(vs, 2)))
    pairs += same
    pairs += EDGE + [(b, a) for a, b in EDGE]
    while len(pairs) < want_pairs:
        pairs.append(tuple(rng.sample(versions, 2)))

    mine = [int(x) for x in tool(path, "cmp", ["%s %s" % p for p in pairs])]
    agree = dpkg_agrees(pairs, mine)
    if len(agree) != len(pairs):
        print("dpkg answered %d of %d pairs" % (len(agree), len(pairs)))
        return 1
    wrong = [(p, m) for p, m, ok in zip(pairs, mine, agree) if not ok]
    for (a, b), m in wrong[:20]:
        print("disagree: %s vs %s: mamori %d, dpkg %d"
              % (a, b, m, dpkg_answer(a, b)))
    print("%d real versions (%d packages), %d pairs checked against "
          "dpkg --compare-versions (%d sorted neighbours, %d random, "
          "%d same-package, %d edge): %d disagree, %d real versions "
          "refused" % (len(versions), len(by_pkg), len(pairs), per, per,
                       len(same), 2 * len(EDGE), len(wrong), len(bad)))

    # Wider, in one process: every sorted neighbour and many random pairs
    # against Dpkg::Version, dpkg's own Perl implementation.
    wide = [(ordered[i], ordered[i + 1]) for i in range(len(ordered) - 1)]
    wide += [tuple(rng.sample(versions, 2)) for _ in range(20000)]
    mine = [int(x) for x in tool(path, "cmp", ["%s %s" % p for p in wide])]
    perl = perl_answers(wide)
    perl_wrong = 0
    if perl is None:
        print("Dpkg::Version not available: wide check skipped")
    else:
        for (a, b), m, d in zip(wide, mine, perl):
            if m != d:
                perl_wrong += 1
                if perl_wrong <= 20:
                    print("disagree (Dpkg::Version): %s vs %s: mamori %d, "
                          "dpkg %d" % (a, b, m, d))
        print("%d more pairs (every sorted neighbour, 20000 random) "
              "checked against Dpkg::Version: %d disagree"
              % (len(wide), perl_wrong))
    print("%.1f s" % (time.monotonic() - t0))
    return 1 if wrong or bad or perl_wrong else 0


if __name__ == "__main__":
    sys.exit(main())
