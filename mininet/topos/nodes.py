"""Node classes of the labs: tuned hosts, routers, the transparent enterprise firewall, and the delay line.

Each configures itself in config() (Mininet calls it once links exist, before switches start) and undoes what
outlives its namespace in terminate(). Processes a node starts are tracked by PID and killed by PID.

Every node turns TX checksum offload off on all its interfaces: with OVS's userspace datapath a partial checksum
is never completed, and TCP fails (LAB.md). Addresses are set here, not by Mininet (nodes get ip=None), so IPv6
and several addresses per interface work.
"""
import os
import signal
import subprocess
import time

from mininet.node import Node

import firewall as fw


def _sh(node, command):
    """Runs a shell command in the node's shell; raises on a non-zero status."""
    out = node.cmd(command + '; echo "__rc=$?"')
    body, _, rc = out.rpartition('__rc=')
    if rc.strip() != '0':
        raise RuntimeError('%s: `%s` failed (%s): %s' % (node.name, command, rc.strip(), body.strip()))
    return body


class LabNode(Node):
    """A namespace node configured from parameters:
       addrs: {intf: [cidr, ...]}  IPv4 and IPv6 addresses (IPv6 without DAD)
       routes: [(dst, via), ...]   dst 'default' or a prefix; IPv6 if ':' in via
       tcp: {'max_buffer': bytes, 'cc': 'bbr'|'reno'}  fasterdata tuning (hosts)
       forward: True for a router
       sysctls: {name: value} extra
    """

    def config(self, addrs=None, routes=None, tcp=None, forward=False, sysctls=None, **params):
        r = super().config(**params)
        s = {
            'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0,
            'net.ipv6.conf.all.accept_ra': 0, 'net.ipv6.conf.default.accept_ra': 0,
            'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0,
        }
        if forward:
            s.update({'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1})
        if tcp:
            mx = int(tcp.get('max_buffer', 64 << 20))
            s.update({
                # fasterdata.es.net host tuning: autotuning up to >= 2x the bandwidth-delay product.
                'net.ipv4.tcp_rmem': '"4096 131072 %d"' % mx,
                'net.ipv4.tcp_wmem': '"4096 16384 %d"' % mx,
                'net.ipv4.tcp_no_metrics_save': 1,
                'net.ipv4.tcp_mtu_probing': 1,
                'net.ipv4.tcp_congestion_control': tcp.get('cc', 'bbr'),
            })
        s.update(sysctls or {})
        _sh(self, 'sysctl -qw ' + ' '.join('%s=%s' % kv for kv in s.items()))
        for intf in self.intfNames():
            self.cmd('ethtool -K %s tx off >/dev/null 2>&1' % intf)
        for intf in addrs or {}:
            self.cmd('sysctl -qw net.ipv6.conf.%s.disable_ipv6=0' % intf)
        for intf, cidrs in (addrs or {}).items():
            for cidr in cidrs:
                _sh(self, 'ip addr add %s dev %s%s' % (cidr, intf, ' nodad' if ':' in cidr else ''))
                mi = self.nameToIntf.get(intf)
                if mi is not None and ':' not in cidr and mi.ip is None:
                    # Mininet's own view (node.IP(), host names in the CLI), without it reconfiguring anything.
                    mi.ip, mi.prefixLen = cidr.split('/')[0], int(cidr.split('/')[1])
            _sh(self, 'ip link set %s up' % intf)
        for dst, via in routes or []:
            fam = '-6 ' if ':' in via else ''
            _sh(self, 'ip %sroute replace %s via %s' % (fam, dst, via))
        return r


class Router(LabNode):
    """A router; lan_bridge={'name': 'br-lan', 'ports': [...]} bridges host-facing interfaces into one LAN
    (its addresses then go on the bridge)."""

    def config(self, lan_bridge=None, **params):
        if lan_bridge:
            br = lan_bridge['name']
            _sh(self, 'ip link add %s type bridge && ip link set %s up' % (br, br))
            for p in lan_bridge['ports']:
                _sh(self, 'ip link set %s master %s && ip link set %s up' % (p, br, p))
            # Plain bridging on the remote LAN: no netfilter there.
            self.cmd('sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0')
        params.setdefault('forward', True)
        return super().config(**params)


class Firewall(LabNode):
    """The enterprise firewall: a transparent bridge br0 over `outside` and `inside` with the nftables policy of
    firewall.py, an htb rate cap on both legs and random loss (1 in loss_n) at the ingress of the legs named by
    loss_dir. policy: {'dtns': [(v4s, v6s)], 'perfsonar': [...], 'lan': [...]}."""

    def config(self, outside=None, inside=None, policy=None, rate_mbit=0, loss_n=0, loss_dir='in', **params):
        r = super().config(sysctls={'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1},
                           **params)
        self.outside, self.inside = outside, inside
        _sh(self, 'ip link add br0 type bridge && ip link set br0 up')
        for leg in (outside, inside):
            self.cmd('ethtool -K %s gro off >/dev/null 2>&1' % leg)
            _sh(self, 'ip link set %s master br0 && ip link set %s up' % (leg, leg))
        # br_netfilter: bridged IP goes through the inet hooks (and conntrack); the default, made explicit.
        _sh(self, 'sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1')
        p = policy or {}
        self.nft(fw.ruleset(outside, inside, p.get('dtns', []), p.get('perfsonar', []), p.get('lan', [])))
        self.set_loss(loss_n, loss_dir)
        self.set_rate(rate_mbit)
        return r

    def nft(self, script):
        proc = self.popen(['nft', '-f', '-'], stdin=subprocess.PIPE)
        out, err = proc.communicate(script.encode(), timeout=20)
        if proc.returncode:
            raise RuntimeError('%s: nft failed: %s\n%s' % (self.name, err.decode(errors='replace'), script))

    def set_loss(self, n, direction='in'):
        if direction not in ('in', 'out', 'both'):
            raise ValueError('loss direction must be in, out or both')
        self.loss_n, self.loss_dir = int(n or 0), direction
        self.nft(fw.loss_ruleset(self.outside, self.inside, self.loss_n, direction))

    def set_rate(self, rate_mbit):
        self.rate_mbit = rate_mbit
        for leg in (self.outside, self.inside):
            for c in fw.htb_commands(leg, rate_mbit):
                _sh(self, c)

    def counters(self):
        return fw.counters(self)


class DelayNode(Node):
    """The WAN without netem: runs delayline between interfaces a and b (a: the remote side, or the VLAN trunk
    with vlan=). delay_ab/delay_ba one-way ms, loss 1 in N per direction, rate Mbit/s, backlog bytes.
    binary: path of the compiled delayline; logdir: where its output and stats go; rt: its SCHED_FIFO priority."""

    def config(self, a=None, b=None, binary=None, logdir='/tmp', delay_ab=0.0, delay_ba=0.0, loss_ab=0, loss_ba=0,
               rate=0, backlog=None, vlan=None, rt=10, **params):
        r = super().config(**params)
        self.dl_args = dict(a=a, b=b, binary=binary, logdir=logdir, delay_ab=delay_ab, delay_ba=delay_ba,
                            loss_ab=loss_ab, loss_ba=loss_ba, rate=rate, backlog=backlog, vlan=vlan, rt=rt)
        self.proc = None
        self.cmd('sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1')
        for intf in (a, b):
            # A wire: no address, no offloads (frames stay MTU-sized, checksums complete), promiscuous.
            self.cmd('ip addr flush dev %s; ethtool -K %s tx off rx off gro off gso off tso off lro off >/dev/null 2>&1'
                     % (intf, intf))
            _sh(self, 'ip link set %s up promisc on' % intf)
        self.start_delayline()
        return r

    @property
    def stats_path(self):
        return os.path.join(self.dl_args['logdir'], '%s.stats.json' % self.name)

    def start_delayline(self, **changes):
        """(Re)starts the delay line, with changed settings if given (frames in flight are lost)."""
        self.stop_delayline()
        self.dl_args.update(changes)
        a = self.dl_args
        argv = [a['binary'], '-a', a['a'], '-b', a['b'], '--delay-ab', '%g' % a['delay_ab'],
                '--delay-ba', '%g' % a['delay_ba'], '--loss-ab', str(int(a['loss_ab'] or 0)),
                '--loss-ba', str(int(a['loss_ba'] or 0)), '--rate', '%g' % (a['rate'] or 0),
                '--stats', self.stats_path]
        if a['backlog']:
            argv += ['--backlog', str(int(a['backlog']))]
        if a['vlan']:
            argv += ['--vlan', str(int(a['vlan']))]
        if a['rt']:
            argv += ['--rt', str(int(a['rt']))]  # SCHED_FIFO: the wire keeps time on a busy machine
        self.log = open(os.path.join(a['logdir'], '%s.log' % self.name), 'ab')
        self.proc = self.popen(argv, stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()  # "delayline ready ..." once both sockets are bound
        if not line.startswith('delayline ready'):
            self.proc.wait(5)
            raise RuntimeError('%s: delayline did not start (status %s); see %s' % (self.name, self.proc.returncode,
                                                                                   self.log.name))
        self.cmdline = ' '.join(argv)

    def stats(self):
        """The delay line's counters (it writes them on SIGUSR1)."""
        import json
        if not self.proc or self.proc.poll() is not None:
            raise RuntimeError('%s: delayline is not running' % self.name)
        before = os.stat(self.stats_path).st_mtime_ns if os.path.exists(self.stats_path) else 0
        self.proc.send_signal(signal.SIGUSR1)
        until = time.monotonic() + 3
        while time.monotonic() < until:
            if os.path.exists(self.stats_path) and os.stat(self.stats_path).st_mtime_ns != before:
                with open(self.stats_path) as f:
                    text = f.read()
                if text.endswith('\n'):
                    return json.loads(text)
            time.sleep(0.01)
        raise RuntimeError('%s: no stats from delayline' % self.name)

    def stop_delayline(self):
        p = getattr(self, 'proc', None)
        if p and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p and p.stdout:
            p.stdout.close()
        self.proc = None
        log = getattr(self, 'log', None)
        if log:
            log.close()
            self.log = None

    def terminate(self):
        self.stop_delayline()
        super().terminate()
