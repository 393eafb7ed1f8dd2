"""A private Open vSwitch for the labs: its own ovsdb-server and ovs-vswitchd in a temp dir.

The Python twin of lab/private-ovs.ts, and it takes turns with it: the userspace datapath's devices are
host-wide (its tap "ovs-netdev", one tap per bridge), so only one private ovs-vswitchd may run at a time. Both
sides hold the same lock file, /tmp/dmzgate-private-ovs.lock, containing "PID token"; a lock whose PID no
longer exists is taken over.

Mininet's OVSSwitch runs plain `ovs-vsctl`/`ovs-ofctl` in shells it spawns from this process, and those tools
find their daemon through OVS_RUNDIR (db.sock, BRIDGE.mgmt, ovs-vswitchd.pid). So while the private OVS runs we
point this process's environment at it (OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR/OVS_SYSCONFDIR): every shell Mininet
starts afterwards inherits it, and nothing reaches a system OVS. stop() restores the environment.
"""
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'
ENV_KEYS = ('OVS_RUNDIR', 'OVS_DBDIR', 'OVS_LOGDIR', 'OVS_SYSCONFDIR')


def lock_path():
    return os.path.join(tempfile.gettempdir(), 'dmzgate-private-ovs.lock')


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class PrivateOvs:
    def __init__(self, lock=True, nice=0):
        """lock=False: this OVS runs in a network namespace of its own (labns.py) and needs no turn.
        nice: ovs-vswitchd's niceness (negative: it forwards promptly on a busy machine, as a switch's ASIC would)."""
        self.use_lock = lock
        self.nice = nice
        self.dir = None
        self.db = None
        self.vswitchd = None
        self.token = '%d %s' % (os.getpid(), '%012x' % random.getrandbits(48))
        self._saved_env = None
        self._locked = False

    # --- the host-wide turn ---------------------------------------------------------------------------------

    def _acquire(self, timeout):
        path = lock_path()
        until = time.monotonic() + timeout
        while True:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                os.write(fd, self.token.encode())
                os.close(fd)
                self._locked = True
                return
            except FileExistsError:
                pass
            try:
                with open(path) as f:
                    holder = f.read()
            except FileNotFoundError:
                continue
            try:
                pid = int(holder.split(' ')[0])
            except ValueError:
                pid = 0
            if pid <= 0 or not _alive(pid):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
                continue
            if time.monotonic() > until:
                raise RuntimeError('another private OVS (%s) still runs after %d s; only one can run at a time (%s)'
                                   % (holder, timeout, path))
            time.sleep(0.1)

    def _release(self):
        if not self._locked:
            return
        try:
            with open(lock_path()) as f:
                if f.read() == self.token:
                    os.unlink(lock_path())
        except FileNotFoundError:
            pass
        self._locked = False

    # --- daemons ------------------------------------------------------------------------------------------------

    @property
    def db_socket(self):
        return 'unix:' + os.path.join(self.dir, 'db.sock')

    @property
    def env(self):
        return {k: self.dir for k in ENV_KEYS}

    def _wait_for(self, path, what, proc, timeout=10.0):
        until = time.monotonic() + timeout
        while not os.path.exists(path):
            if proc.poll() is not None:
                raise RuntimeError('%s exited with status %s; see %s' % (what, proc.returncode, self.dir))
            if time.monotonic() > until:
                raise RuntimeError('timed out waiting for %s (%s)' % (what, path))
            time.sleep(0.02)

    def start(self, lock_timeout=110):
        if not os.path.exists(SCHEMA):
            raise RuntimeError('Open vSwitch is not installed (apt-get install openvswitch-switch)')
        if self.use_lock:
            self._acquire(lock_timeout)
        try:
            self.dir = tempfile.mkdtemp(prefix='dmzgate-ovs-')
            env = dict(os.environ, **self.env)
            d = self.dir
            subprocess.run(['ovsdb-tool', 'create', os.path.join(d, 'conf.db'), SCHEMA], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            self.db = subprocess.Popen(
                ['ovsdb-server', os.path.join(d, 'conf.db'), '--remote=punix:' + os.path.join(d, 'db.sock'),
                 '--unixctl=' + os.path.join(d, 'ovsdb-server.ctl'), '--pidfile=' + os.path.join(d, 'ovsdb-server.pid'),
                 '--log-file=' + os.path.join(d, 'ovsdb-server.log'), '-vconsole:off'],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._wait_for(os.path.join(d, 'db.sock'), 'ovsdb-server', self.db)
            self.vsctl('--no-wait', 'init', env=env)
            self.vswitchd = subprocess.Popen(
                ['ovs-vswitchd', self.db_socket, '--unixctl=' + os.path.join(d, 'ovs-vswitchd.ctl'),
                 '--pidfile=' + os.path.join(d, 'ovs-vswitchd.pid'),
                 '--log-file=' + os.path.join(d, 'ovs-vswitchd.log'), '-vconsole:off'],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=lambda: os.nice(self.nice) if self.nice else None)
            self._wait_for(os.path.join(d, 'ovs-vswitchd.ctl'), 'ovs-vswitchd', self.vswitchd)
            # Mininet's shells inherit this process's environment: point them at us.
            self._saved_env = {k: os.environ.get(k) for k in ENV_KEYS}
            os.environ.update(self.env)
        except BaseException:
            self.stop()
            raise
        return self

    def vsctl(self, *args, env=None):
        return subprocess.run(['ovs-vsctl', '--db=' + self.db_socket, '--timeout=10'] + [str(a) for a in args],
                              env=env or dict(os.environ, **self.env), check=True, capture_output=True,
                              text=True).stdout

    def ofctl(self, command, bridge, *args):
        """ovs-ofctl on a bridge's management socket (works without a controller)."""
        return subprocess.run(['ovs-ofctl', '-O', 'OpenFlow13', command, 'unix:' + os.path.join(self.dir, bridge + '.mgmt')]
                              + [str(a) for a in args], env=dict(os.environ, **self.env), check=True,
                              capture_output=True, text=True).stdout

    def appctl(self, *args):
        return subprocess.run(['ovs-appctl', '--target=' + os.path.join(self.dir, 'ovs-vswitchd.ctl')]
                              + [str(a) for a in args], env=dict(os.environ, **self.env), check=True,
                              capture_output=True, text=True).stdout

    def tune_packet_sockets(self, rcvbuf=4 << 20):
        """Enlarges the receive buffers of ovs-vswitchd's AF_PACKET sockets (one per port of a userspace-datapath
        bridge). They get the host's net.core.rmem_default (~208 KiB, about 90 full-size frames): the buffer is
        the port's only queue, so a few milliseconds in which the daemon is not scheduled (2 cores shared with
        senders, receivers and delay lines) overflow it and it drops frames nobody counts (ss: skmem d...), which
        the labs would mistake for path loss. rmem_default is global (not settable in a namespace) and OVS does
        not set SO_RCVBUF, so we set it on the sockets themselves: pidfd_getfd() gives us a duplicate of each
        descriptor, and SO_RCVBUFFORCE on it changes the shared socket. Call after the ports exist (in the
        namespace of the ports). Returns the number of sockets tuned."""
        import ctypes
        import socket as so
        libc = ctypes.CDLL(None, use_errno=True)
        SYS_pidfd_getfd = 438
        pid = self.vswitchd.pid
        inodes = set()
        with open('/proc/thread-self/net/packet') as f:  # the packet sockets of this thread's namespace
            for line in f.readlines()[1:]:
                cols = line.split()
                if len(cols) >= 9:
                    inodes.add(cols[8])
        pidfd = os.pidfd_open(pid)
        n = 0
        try:
            for fd in os.listdir('/proc/%d/fd' % pid):
                try:
                    target = os.readlink('/proc/%d/fd/%s' % (pid, fd))
                except OSError:
                    continue
                m = target.startswith('socket:[') and target[8:-1]
                if not m or m not in inodes:
                    continue
                dup = libc.syscall(SYS_pidfd_getfd, pidfd, int(fd), 0)
                if dup < 0:
                    raise OSError(ctypes.get_errno(), 'pidfd_getfd: %s' % os.strerror(ctypes.get_errno()))
                try:
                    s = so.socket(fileno=dup)
                    s.setsockopt(so.SOL_SOCKET, 33, rcvbuf)  # SO_RCVBUFFORCE
                    s.detach()
                    n += 1
                finally:
                    os.close(dup)
        finally:
            os.close(pidfd)
        return n

    @staticmethod
    def _stop(proc, timeout=5.0):
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self):
        if self.vswitchd is not None and self.vswitchd.poll() is None:
            # --cleanup: delete the datapath and its taps (ovs-netdev, bridge devices) on the way out.
            try:
                subprocess.run(['ovs-appctl', '--target=' + os.path.join(self.dir, 'ovs-vswitchd.ctl'), '--timeout=5',
                                'exit', '--cleanup'], capture_output=True, timeout=8)
                self.vswitchd.wait(5)
            except (subprocess.TimeoutExpired, OSError):
                pass
        self._stop(self.vswitchd)
        self._stop(self.db)
        self.vswitchd = self.db = None
        if self._saved_env is not None:
            for k, v in self._saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            self._saved_env = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        self._release()
