#!/usr/bin/env python3
"""test_tick_rules.py - the JPCERT/CC Tick rules against samples built
from their own strings and conditions (build_samples.py), through the
`mamori yara` commands the analysts and the agent use.

Asserts: the rule file compiles to its 17 rules; every rule is matched by
at least one sample built for it; every sample matches exactly the rules
its recipe expects (near misses and benign files: none), so a rule that
stops matching, or starts matching where it should not, fails the test.
Environment: MAMORI_BUILD (the build directory), MAMORI_SOURCE (the
source root; the corpus is at ../shared/corpora from there), or
MAMORI_CORPORA (the corpora folder itself, for a checkout that does not sit
next to shared/, such as a git worktree elsewhere).
"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("MAMORI_SOURCE", os.path.join(HERE, "..", ".."))
BUILD = os.environ["MAMORI_BUILD"]
MAMORI = os.path.join(BUILD, "src", "cli", "mamori")
CORPORA = os.environ.get("MAMORI_CORPORA") or os.path.join(
    SOURCE, "..", "shared", "corpora")
RULES = os.path.normpath(os.path.join(CORPORA, "yara", "jpcert-tick.yara"))
RULE_COUNT = 17

sys.path.insert(0, HERE)
import build_samples  # noqa: E402

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def run(args):
    p = subprocess.run([MAMORI] + args, capture_output=True, text=True,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def main():
    if not os.path.exists(RULES):
        print("corpus missing: %s; set MAMORI_CORPORA to the shared "
              "corpora folder" % RULES)
        return 1
    rc, out, err = run(["yara", "check", "--json", RULES])
    check(rc == 0, "yara check exits 0 (%d: %s)" % (rc, err.strip()))
    doc = json.loads(out)
    names = [r["rule"] for f in doc["files"] for r in f["rules"]]
    check(len(names) == RULE_COUNT, "%d rules compile (got %d)"
          % (RULE_COUNT, len(names)))

    with tempfile.TemporaryDirectory(prefix="mamori-yara-") as tmp:
        expected = dict(build_samples.build(tmp))
        rc, out, err = run(["yara", "scan", "--json", "--rules", RULES,
                            "--all-matches", tmp])
        check(rc == 0, "yara scan exits 0 (%d: %s)" % (rc, err.strip()))
        res = json.loads(out)
        check(res["files_scanned"] == len(expected),
              "all %d samples scanned (got %d, skipped %s)"
              % (len(expected), res["files_scanned"], res["skipped_files"]))
        got = {name: set() for name in expected}
        for m in res["matches"]:
            name = os.path.basename(m["path"])[:-len(".bin")]
            got[name].add(m["rule"])
            check(len(m["strings"]) > 0,
                  "%s: %s reports its matched strings" % (name, m["rule"]))
        for name in sorted(expected):
            want = set(expected[name])
            extra = sorted(got[name] - want)
            missing = sorted(want - got[name])
            check(not extra and not missing,
                  "%s matches %s%s%s" % (
                      name, ", ".join(sorted(want)) or "nothing",
                      " (missing: %s)" % ", ".join(missing) if missing else "",
                      " (also: %s)" % ", ".join(extra) if extra else ""))
        covered = set().union(*got.values())
        for rule in names:
            check(rule in covered, "rule %s is matched by a sample" % rule)

        # The agent's default, fast mode, finds the same rules.
        rc, out, err = run(["yara", "scan", "--json", "--rules", RULES, tmp])
        fast = sorted((os.path.basename(m["path"]), m["rule"])
                      for m in json.loads(out)["matches"])
        full = sorted((os.path.basename(m["path"]), m["rule"])
                      for m in res["matches"])
        check(rc == 0 and fast == full,
              "fast mode matches the same %d (file, rule) pairs" % len(full))

        # The size cap: the >10 MB ABK samples are skipped under 8 MiB.
        rc, out, err = run(["yara", "scan", "--json", "--rules", RULES,
                            "--max-size", "8", tmp])
        res = json.loads(out)
        skipped = sorted(os.path.basename(s["path"])
                         for s in res["skipped_files"])
        check(skipped == ["tick_ABK_downloader__bytecode.bin",
                          "tick_ABK_downloader__wide.bin"],
              "--max-size 8 skips the two 10 MB samples (%s)" % skipped)
        check(rc == 0, "a skipped large file is not a failure")
    if failures:
        print("%d checks failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
