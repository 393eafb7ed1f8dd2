"""A dmzgate controller cluster for a lab (lab.py --cluster N): a private etcd (privateetcd.py) and N
`dmzgate controller --cluster` members c1..cN, each on its own OpenFlow and API ports and data dir under the lab's
work dir. Members can be SIGKILLed and started again by name; stop() ends only the PIDs started here.

Everything runs in the network namespace the cluster was created in, even once the lab has moved into its own
(labns.py): the cluster's calls run on threads that joined that namespace, so its processes (spawned from there)
and its HTTP requests to their APIs stay where the lab's caller can reach them.
"""
import functools
import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from labns import setns
from privateetcd import PrivateEtcd, free_port, http_json


def _outside(fn):
    @functools.wraps(fn)
    def run(self, *args, **kwargs):
        return self._pool.submit(fn, self, *args, **kwargs).result()
    return run


def _signal_group(p, sig):
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


class ClusterError(RuntimeError):
    pass


class ControllerCluster:
    def __init__(self, size, cli, site, workdir, node='node', ready_timeout=30.0):
        self.size = size
        self.cli = cli
        self.node = node
        self.site = site
        self.workdir = workdir
        self.ready_timeout = ready_timeout
        self.etcd = None
        self.members = []
        self.lock = threading.Lock()
        self._ns_fd = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix='cluster',
                                        initializer=setns, initargs=(self._ns_fd,))

    @_outside
    def start(self):
        used = set()
        for i in range(1, self.size + 1):
            of_port = free_port(used)
            used.add(of_port)
            api_port = free_port(used)
            used.add(api_port)
            self.members.append({'name': 'c%d' % i, 'openflow_port': of_port, 'api_port': api_port,
                                 'data': os.path.join(self.workdir, 'c%d' % i), 'proc': None})
        self.etcd = PrivateEtcd(self.workdir, members=self.size, taken=used).start()
        for m in self.members:
            self._spawn(m)
        for m in self.members:
            self._wait_ready(m)
        return self

    def _argv(self, m):
        return [self.node, self.cli, 'controller', '--cluster', self.etcd.url, '--name', m['name'],
                '--openflow-port', str(m['openflow_port']), '--api-port', str(m['api_port']),
                '--data', m['data'], '--config', self.site]

    def _spawn(self, m):
        with open(self.log_path(m['name']), 'ab') as log:
            m['proc'] = subprocess.Popen(self._argv(m), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_ready(self, m):
        """Until the member's API answers (it listens for switches before that)."""
        until = time.monotonic() + self.ready_timeout
        while self._view(m) is None:
            if m['proc'].poll() is not None:
                raise ClusterError('controller %s exited with status %s:\n%s' % (m['name'], m['proc'].returncode,
                                                                               self.log_tail(m['name'])))
            if time.monotonic() > until:
                raise ClusterError('controller %s: no API on 127.0.0.1:%d after %g s:\n%s'
                                   % (m['name'], m['api_port'], self.ready_timeout, self.log_tail(m['name'])))
            time.sleep(0.1)

    @staticmethod
    def api(m):
        return 'http://127.0.0.1:%d' % m['api_port']

    def _view(self, m):
        return http_json(self.api(m) + '/api/v1/cluster')

    def log_path(self, name):
        return os.path.join(self.workdir, name + '.log')

    def log_tail(self, name, n=3000):
        try:
            with open(self.log_path(name), 'rb') as f:
                return f.read()[-n:].decode(errors='replace')
        except OSError:
            return '(no log)'

    def member(self, name):
        m = next((x for x in self.members if x['name'] == name), None)
        if m is None:
            raise ClusterError('no member %r (have %s)' % (name, ', '.join(x['name'] for x in self.members)))
        return m

    @staticmethod
    def running(m):
        return m['proc'] is not None and m['proc'].poll() is None

    def describe(self, m):
        return {'name': m['name'], 'api': self.api(m), 'openflow_port': m['openflow_port'],
                'pid': m['proc'].pid if self.running(m) else None, 'running': self.running(m), 'data': m['data'],
                'log': self.log_path(m['name'])}

    def info(self):
        return {'etcd': self.etcd.url if self.etcd else None, 'etcd_pids': self.etcd.pids() if self.etcd else {},
                'members': [self.describe(m) for m in self.members]}

    @_outside
    def state(self):
        """info() with each running member's own view (GET /api/v1/cluster), and the leader every one of them
        names, if they agree."""
        res = self.info()
        views = []
        for d, m in zip(res['members'], self.members):
            d['view'] = self._view(m) if d['running'] else None
            views.append(d['view'])
        res['leader'] = self._agreed_leader(views)
        return res

    @staticmethod
    def _agreed_leader(views):
        live = [v for v in views if v is not None]
        leaders = [v['name'] for v in live if v.get('role') == 'leader']
        if len(leaders) != 1 or not all((v.get('leader') or {}).get('name') == leaders[0] for v in live):
            return None
        return leaders[0]

    @_outside
    def wait_leader(self, timeout=20.0):
        """The name of the member that leads, once every running member names it."""
        until = time.monotonic() + timeout
        while True:
            leader = self._agreed_leader([self._view(m) for m in self.members if self.running(m)])
            if leader is not None:
                return leader
            if time.monotonic() > until:
                raise ClusterError('no leader every running member names after %g s' % timeout)
            time.sleep(0.1)

    def kill(self, name):
        """SIGKILL to the member's PID (a crash); returns once it is gone."""
        with self.lock:
            m = self.member(name)
            if not self.running(m):
                raise ClusterError('member %s does not run' % name)
            pid = m['proc'].pid
            m['proc'].kill()
            m['proc'].wait()
        return {'name': name, 'pid': pid, 'signal': 'SIGKILL'}

    @_outside
    def restart(self, name):
        """Starts a stopped member again on its data dir and ports; returns once its API answers."""
        with self.lock:
            m = self.member(name)
            if self.running(m):
                raise ClusterError('member %s still runs (pid %d)' % (name, m['proc'].pid))
            self._spawn(m)
        self._wait_ready(m)
        return self.describe(m)

    def stop(self):
        """SIGTERM to each member's process group (it leads one), all at once (one by one, each would be elected
        in turn on the way out), SIGKILL after 5 s; then the etcd members."""
        try:
            procs = [m['proc'] for m in self.members if self.running(m)]
            for m in self.members:
                m['proc'] = None
            for p in procs:
                _signal_group(p, signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    _signal_group(p, signal.SIGKILL)
                    p.wait()
            if self.etcd is not None:
                self.etcd.stop()
        finally:
            self._pool.shutdown(wait=False)
            if self._ns_fd is not None:
                os.close(self._ns_fd)
                self._ns_fd = None
