"""The lab's own network namespace, and a relay that lets its switch reach a controller outside it.

Why: the OVS userspace datapath creates host-wide-named devices (its tap "ovs-netdev", one tap per bridge) in the
network namespace of ovs-vswitchd, so two private OVS instances in one namespace collide; lab/private-ovs.ts
therefore takes turns through a lock. The lab instead moves itself (its main thread, and every process it starts
from then on: ovsdb-server, ovs-vswitchd, Mininet's shells and veths) into a fresh network namespace. Its OVS
then collides with nobody, needs no turn, and nothing of the lab is ever visible in the root namespace; when the
lab's processes end, the namespace and everything in it (veths, taps, bridges) vanish with them.

The controller usually runs outside (a TypeScript test, or --controller-cmd, which the lab spawns before it moves
so that its REST API stays reachable). The DMZ switch connects to 127.0.0.1:PORT inside the lab namespace, where
a relay accepts and forwards each connection to 127.0.0.1:PORT in the original namespace: a thread that moved
itself back there (network namespaces are per thread) opens the upstream sockets.

Python 3.11 has no os.unshare/os.setns: libc through ctypes.
"""
import ctypes
import os
import socket
import subprocess
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, '%s: %s' % (what, os.strerror(e)))


def setns(fd):
    """Moves the calling thread into the network namespace open at fd."""
    _check(_libc.setns(fd, CLONE_NEWNET), 'setns')


def current():
    return os.readlink('/proc/thread-self/ns/net')


class LabNamespace:
    """enter(): the calling thread (and what it spawns) moves to a new network namespace with lo up.
    leave(): back to the original one; the lab namespace disappears once nothing uses it any more."""

    def __init__(self):
        self.orig_fd = None
        self.inode = None

    def enter(self):
        self.orig_fd = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(_libc.unshare(CLONE_NEWNET), 'unshare(CLONE_NEWNET)')
        except OSError:
            os.close(self.orig_fd)
            self.orig_fd = None
            raise
        self.inode = current()
        subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
        return self

    def leave(self):
        if self.orig_fd is None:
            return
        setns(self.orig_fd)
        os.close(self.orig_fd)
        self.orig_fd = None


class ControllerRelay:
    """Listens on 127.0.0.1:port in the lab namespace (create it there) and pipes each connection to
    127.0.0.1:port in the namespace open at outer_fd."""

    def __init__(self, port, outer_fd):
        self.port = port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', port))
        self.listener.listen(16)
        self.outer_fd = os.dup(outer_fd)
        self.socks = set()
        self.lock = threading.Lock()
        self.stopping = False
        self.connections = 0
        self.thread = threading.Thread(target=self._run, name='controller-relay', daemon=True)
        self.thread.start()

    def _run(self):
        setns(self.outer_fd)  # this thread's new sockets (the upstream ones) belong to the outer namespace
        while not self.stopping:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(('127.0.0.1', self.port), timeout=2)
                up.settimeout(None)
            except OSError:
                down.close()  # no controller (yet): the switch retries
                continue
            for s in (down, up):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.socks |= {down, up}
            self.connections += 1
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.stopping = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.socks:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.socks.clear()
        self.thread.join(2)
        os.close(self.outer_fd)
