#!/usr/bin/env python3
"""Live queries on this host against the real tools.

Runs `mamori-agent query --json` (never `run`, never a server) and compares
its tables with what procps, dpkg and iproute2 report on the same host:
processes with `ps -eo pid,comm,args` (pids seen in every snapshot),
deb_packages with `dpkg-query -W`, listening_ports with `ss -ltunpH`, plus
sockets this test opens itself.  Reads only; changes nothing on the host.
"""
import json
import os
import shutil
import socket
import subprocess
import sys

BUILD = os.environ.get('MAMORI_BUILD') or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'build')
AGENT = os.path.join(BUILD, 'src', 'agent', 'mamori-agent')
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print('FAIL:', what)


def query(sql):
    out = subprocess.run([AGENT, 'query', '--json', sql], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    doc = json.loads(out)
    return [dict(zip(doc['columns'], row)) for row in doc['rows']]


def test_processes():
    before = {r['pid']: r for r in query(
        'SELECT pid, name, cmdline FROM processes')}
    def ps_field(field):
        out = subprocess.run(['ps', '-eo', 'pid=,%s=' % field], check=True,
                             capture_output=True, text=True).stdout
        rows = {}
        for line in out.splitlines():
            # args keeps its trailing spaces (an argument may end
            # with one); only the padding after the pid goes.
            pid, _, rest = line.lstrip().partition(' ')
            rows[int(pid)] = rest.lstrip(' ')
        return rows

    comm = ps_field('comm')
    args = ps_field('args')
    ps = {p: (comm[p], args[p]) for p in comm if p in args}
    after = {r['pid']: r for r in query(
        'SELECT pid, name, cmdline FROM processes')}
    stable = [p for p in ps if p in before and p in after and
              before[p]['name'] == after[p]['name'] and
              before[p]['cmdline'] == after[p]['cmdline']]
    check(len(stable) >= 3, 'at least 3 processes in every snapshot, got %d'
          % len(stable))
    check(1 in before, 'pid 1 is listed')
    check(os.getpid() in before, 'this test process is listed')
    for pid in stable:
        row = before[pid]
        ps_comm, ps_args = ps[pid]
        # ps cuts comm at 15 bytes; the kernel's stat holds up to 64 for
        # kernel workers.
        check(row['name'] == ps_comm or (len(ps_comm) == 15 and
                                         row['name'].startswith(ps_comm)),
              'pid %d: name %r matches ps comm %r'
              % (pid, row['name'], ps_comm))
        # The kernel's own bytes are the reference: arguments joined
        # with spaces. The table reads at most 128 KiB of them.
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                raw = f.read(128 * 1024)
        except OSError:
            continue
        if len(raw) >= 128 * 1024:
            continue
        try:
            want = raw.rstrip(b'\0').replace(b'\0', b' ').decode()
        except UnicodeDecodeError:
            want = None   # not text: how JSON carries it is another test
        if want is not None:
            check(row['cmdline'] == want,
                  'pid %d: cmdline %.200r == /proc cmdline %.200r'
                  % (pid, row['cmdline'], want))
        # ps prints control characters as '?' and may cut long lines;
        # compare with it where neither applies.
        if (row['cmdline'] and not ps_args.startswith('[') and
                len(row['cmdline']) < 2048 and
                row['cmdline'].isprintable()):
            check(ps_args == row['cmdline'],
                  'pid %d: cmdline %r == ps args %r'
                  % (pid, row['cmdline'], ps_args))
    me = query('SELECT pid, parent, uid FROM processes WHERE pid = %d'
               % os.getpid())
    check(me == [{'pid': os.getpid(), 'parent': os.getppid(),
                  'uid': os.getuid()}], 'this process by pid: %r' % me)
    print('processes: %d compared' % len(stable))


def test_packages():
    if shutil.which('dpkg-query') is None:
        print('deb_packages: no dpkg-query here, skipped')
        return
    ours = {(r['name'], r['version'], r['arch']) for r in query(
        "SELECT name, version, arch FROM deb_packages "
        "WHERE status = 'installed'")}
    out = subprocess.run(
        ['dpkg-query', '-W', '-f',
         '${Package}\t${Version}\t${Architecture}\t${db:Status-Status}\n'],
        check=True, capture_output=True, text=True).stdout
    theirs = set()
    for line in out.splitlines():
        name, version, arch, status = line.split('\t')
        if status == 'installed':
            theirs.add((name, version, arch))
    check(len(theirs) > 0, 'dpkg-query lists installed packages')
    check(ours == theirs, 'deb_packages == dpkg-query -W: only ours %r, '
          'only dpkg %r' % (sorted(ours - theirs)[:5],
                            sorted(theirs - ours)[:5]))
    print('deb_packages: %d compared' % len(theirs))


def ss_ports():
    out = subprocess.run(['ss', '-ltunpH'], check=True, capture_output=True,
                         text=True).stdout
    ports = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5:
            continue
        proto = 6 if f[0] == 'tcp' else 17 if f[0] == 'udp' else None
        if proto is None:
            continue
        local = f[4]
        addr, port = local.rsplit(':', 1)
        addr = addr.strip('[]').split('%')[0]
        if addr == '*':
            addr = '0.0.0.0' if '[' not in local else '::'
        pids = set()
        for part in line.split('pid=')[1:]:
            pids.add(int(part.split(',')[0]))
        ports[(proto, int(port))] = pids
    return ports


def test_listening():
    if shutil.which('ss') is None:
        print('listening_ports: no ss here, skipped')
        return
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(('127.0.0.1', 0))
    tcp.listen(1)
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.bind(('::1', 0))
    try:
        sql = 'SELECT pid, port, protocol, family, address FROM listening_ports'
        before = query(sql)
        theirs = ss_ports()
        after = query(sql)
        key = lambda r: (r['protocol'], r['port'])
        stable = {key(r) for r in before} & {key(r) for r in after}
        for k in stable:
            check(k in theirs, 'listening %r is in ss -ltunpH' % (k,))
        for k in theirs:
            if k in stable or k[0] == 17:
                continue
            # a socket ss saw but we saw in neither snapshot
            check(False, 'ss -ltunpH %r is in listening_ports' % (k,))
        mine = {(r['protocol'], r['port'], r['family'], r['address'],
                 r['pid']) for r in before}
        check((6, tcp.getsockname()[1], 2, '127.0.0.1', os.getpid()) in mine,
              'our TCP listener with our pid')
        check((17, udp.getsockname()[1], 10, '::1', os.getpid()) in mine,
              'our UDP socket with our pid')
        for r in before:
            pids = theirs.get(key(r))
            if pids and r['pid'] > 0:
                check(r['pid'] in pids, 'pid %d of %r is one ss names: %r'
                      % (r['pid'], key(r), pids))
        print('listening_ports: %d compared' % len(stable))
    finally:
        tcp.close()
        udp.close()


def test_errors():
    for sql, msg in [
            ("DELETE FROM users", 'query writes are not allowed: DELETE'),
            ("SELECT * FROM file", 'table file requires a constraint on '
             'path or directory')]:
        p = subprocess.run([AGENT, 'query', sql], capture_output=True,
                           text=True, timeout=60)
        check(p.returncode == 1, '%r exits 1, got %d' % (sql, p.returncode))
        check(p.stderr == 'mamori-agent: %s\n' % msg,
              '%r: one line %r, got %r' % (sql, msg, p.stderr))
        check(p.stdout == '', '%r prints nothing on stdout' % sql)
    p = subprocess.run([AGENT, 'query', '--timeout', '1s',
                        'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT '
                        'x + 1 FROM c) SELECT count(*) FROM c'],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 1 and
          p.stderr == 'mamori-agent: query took longer than 1 s\n',
          '--timeout 1s stops the query: %r' % p.stderr)
    p = subprocess.run([AGENT, 'query', "SELECT 1 AS one, 'two' AS two"],
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0 and p.stdout == 'one  two\n1    two\n',
          'aligned table: %r' % p.stdout)


def main():
    if not os.path.exists(AGENT):
        print('no agent at %s' % AGENT)
        return 1
    test_processes()
    test_packages()
    test_listening()
    test_errors()
    if failures:
        print('%d failure(s)' % len(failures))
        return 1
    print('ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
