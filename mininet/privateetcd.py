"""A private etcd cluster for the labs (Debian's etcd-server): the Python twin of lab/private-etcd.ts.

Each member has a data dir under the lab's work dir and its own loopback ports, so a lab never touches a system
etcd (the package enables one on 2379/2380). stop() ends only the PIDs started here.
"""
import json
import os
import random
import socket
import subprocess
import time
import urllib.request

ETCD_BIN = os.environ.get('DMZGATE_ETCD', '/usr/bin/etcd')


def free_port(taken=()):
    """A loopback port free now, below the kernel's ephemeral range: a port in that range can meanwhile become the
    source port of an outgoing connection, and a member restarted later must bind its port again."""
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 49152
    low = min(20000, ephemeral_low - 2000)
    for _ in range(100):
        port = random.randrange(low, ephemeral_low)
        if port in taken:
            continue
        with socket.socket() as s:
            try:
                s.bind(('127.0.0.1', port))
                return port
            except OSError:
                pass
    raise RuntimeError('no free loopback port in %d-%d' % (low, ephemeral_low - 1))


def http_json(url, timeout=1.0):
    """GET url and parse the JSON body; None if nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return json.loads(r.read())
    except (OSError, ValueError):
        return None


class PrivateEtcd:
    def __init__(self, workdir, members=3, taken=()):
        self.dir = os.path.join(workdir, 'etcd')
        os.makedirs(self.dir, exist_ok=True)
        self.token = 'dmzgate-lab-%d-%d' % (os.getpid(), time.time_ns())
        used = set(taken)
        self.members = []
        for i in range(1, members + 1):
            client = free_port(used)
            used.add(client)
            peer = free_port(used)
            used.add(peer)
            self.members.append({'name': 'e%d' % i, 'client': client, 'peer': peer, 'proc': None})
        self.ports = used - set(taken)

    @property
    def url(self):
        """The etcd://HOST:PORT,... form `dmzgate controller --cluster` takes."""
        return 'etcd://' + ','.join('127.0.0.1:%d' % m['client'] for m in self.members)

    def start(self, timeout=20.0):
        peers = ','.join('%s=http://127.0.0.1:%d' % (m['name'], m['peer']) for m in self.members)
        for m in self.members:
            self._spawn(m, peers)
        until = time.monotonic() + timeout
        for m in self.members:
            while (http_json('http://127.0.0.1:%d/health' % m['client']) or {}).get('health') != 'true':
                if m['proc'].poll() is not None:
                    raise RuntimeError('etcd member %s exited (%s):\n%s' % (m['name'], m['proc'].returncode,
                                                                          self.log(m)))
                if time.monotonic() > until:
                    raise RuntimeError('etcd member %s not healthy after %g s:\n%s' % (m['name'], timeout, self.log(m)))
                time.sleep(0.1)
        return self

    def _spawn(self, m, peers):
        url = 'http://127.0.0.1:%d'
        argv = [ETCD_BIN, '--name', m['name'], '--data-dir', os.path.join(self.dir, m['name']),
                '--listen-client-urls', url % m['client'], '--advertise-client-urls', url % m['client'],
                '--listen-peer-urls', url % m['peer'], '--initial-advertise-peer-urls', url % m['peer'],
                '--initial-cluster', peers, '--initial-cluster-state', 'new', '--initial-cluster-token', self.token,
                # Loopback: a dead member shows sooner than with the defaults (100/1000 ms).
                '--heartbeat-interval', '50', '--election-timeout', '500',
                # A counter poll's batch puts every lease that moved in one transaction (the default allows 128).
                '--max-txn-ops', '16384', '--max-request-bytes', str(16 << 20),
                # Every key's old revisions are kept until compacted.
                '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '1h']
        with open(os.path.join(self.dir, m['name'] + '.log'), 'ab') as log:
            m['proc'] = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def log(self, m, n=2000):
        try:
            with open(os.path.join(self.dir, m['name'] + '.log'), 'rb') as f:
                return f.read()[-n:].decode(errors='replace')
        except OSError:
            return '(no log)'

    def pids(self):
        return {m['name']: m['proc'].pid for m in self.members if m['proc'] is not None and m['proc'].poll() is None}

    def stop(self):
        """SIGTERM to each member this started (its PID), SIGKILL after 5 s."""
        for m in self.members:
            p, m['proc'] = m['proc'], None
            if p is None or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
