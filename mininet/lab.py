#!/usr/bin/python3
"""dmzgate's Science DMZ lab: a Mininet network around an Open vSwitch DMZ switch (or a fabric of them), driven
by a controller.

  python3 mininet/lab.py --topo prototype --rtt 88 --loss 1/22000 [--controller-port P]
                         [--controller-cmd 'CMD'] [--scenario NAME | --cli | --serve]
  python3 mininet/lab.py --topo supercomputer [--miscable] --cli
  python3 mininet/lab.py --topo prototype --cluster 3 --cli

Starts a private OVS (temp dir; never the system one), the topology (topos/), points the DMZ switch at a
controller on 127.0.0.1:P (spawning --controller-cmd first if given, and stopping it at the end; with --cluster N,
a private etcd and N dmzgate controllers that every switch lists: labcluster.py), then runs a
scenario, the Mininet CLI, or a JSON-lines service on stdin/stdout (serve.py) for the TypeScript tests. The lab
lives in a network namespace of its own (labns.py; the switch reaches the controller through a relay). On exit it
stops only what it started: its processes by PID, its namespaces, veths and bridges, its OVS. See README.md.

Use the system python (/usr/bin/python3): Debian's mininet lives there. Must run as root.

As a module:   from lab import Lab;  with Lab(topo='prototype', rtt=10) as lab: lab.ping('rdtn', 'dtn1')
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

warnings.filterwarnings('ignore', category=DeprecationWarning)  # mininet imports distutils

from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402
from mininet.node import OVSSwitch, RemoteController  # noqa: E402
from mininet.link import Link  # noqa: E402

import flows  # noqa: E402
from privateovs import PrivateOvs  # noqa: E402
from labns import LabNamespace, ControllerRelay  # noqa: E402
from labcluster import ControllerCluster  # noqa: E402
from privateetcd import ETCD_BIN  # noqa: E402
from topos import make_spec, FABRICS  # noqa: E402
from topos.common import DmzTopo, site_yaml, netem_available, wan_backlog, miscabled_port  # noqa: E402
from topos.nodes import DelayNode  # noqa: E402

DMZGATE_CLI = os.path.join(os.path.dirname(HERE), 'dist', 'bin', 'dmzgate.js')
DELAYLINE_SRC = os.path.join(HERE, 'delayline.c')
DELAYLINE_BIN = os.path.join(HERE, 'build', 'delayline')


def build_delayline():
    """Compiles delayline.c with cc -O2 if the binary is missing or older than its source; returns its path."""
    if os.path.exists(DELAYLINE_BIN) and os.stat(DELAYLINE_BIN).st_mtime >= os.stat(DELAYLINE_SRC).st_mtime:
        return DELAYLINE_BIN
    os.makedirs(os.path.dirname(DELAYLINE_BIN), exist_ok=True)
    tmp = '%s.%d' % (DELAYLINE_BIN, os.getpid())
    p = subprocess.run(['cc', '-O2', '-Wall', '-o', tmp, DELAYLINE_SRC], capture_output=True, text=True)
    if p.returncode:
        raise RuntimeError('cc delayline.c failed:\n' + p.stderr)
    os.replace(tmp, DELAYLINE_BIN)  # atomic: a concurrent lab never runs a half-written binary
    return DELAYLINE_BIN


def parse_loss(text):
    """'1/22000' or '22000' -> 22000; '0', 'none', '' -> 0."""
    if text in (None, '', '0', 'none', 'off'):
        return 0
    m = re.fullmatch(r'(?:1/)?(\d+)', str(text).strip())
    if not m:
        raise ValueError('loss: expected 1/N or N, got %r' % text)
    return int(m.group(1))


def _log(msg):
    print('lab: ' + msg, file=sys.stderr, flush=True)


class LabError(RuntimeError):
    pass


class Lab:
    """One running lab. Hosts are named as in topos/common.py (rdtn, rps, dtn1, ps1, lan1, brtr, rrtr, fw1, ...)."""

    def __init__(self, topo='prototype', rtt=88.0, circuit_rtt=None, loss='1/22000', loss_dir='in', wan_rate=500,
                 fw_rate=500, cc='bbr', projects=3, controller_port=6653, controller_cmd=None, controller=True,
                 static_flows=False, emulation='auto', connect_timeout=30.0, keep_workdir=False, isolate=True,
                 fibre_rtt=None, miscable=False, cluster=None):
        opts = dict(rtt=float(rtt), circuit_rtt=None if circuit_rtt is None else float(circuit_rtt),
                    wan_rate_mbps=float(wan_rate), fw_rate_mbps=float(fw_rate), loss_n=parse_loss(loss),
                    loss_dir=loss_dir, cc=cc)
        if topo == 'multiproject':
            opts['projects'] = int(projects)
        if topo == 'distributed' and fibre_rtt is not None:
            opts['fibre_rtt'] = float(fibre_rtt)
        self.spec = make_spec(topo, **opts)
        self.topo_name = topo
        if miscable and not self.spec.links:
            raise LabError('--miscable is for fabric topologies (%s)' % ', '.join(FABRICS))
        if static_flows and self.spec.links:
            raise LabError('static flows are one switch\'s enterprise path: not for fabric topologies')
        # miscable: the first fabric link's second end is cabled to another port (topos.common.miscabled_port;
        # the site config keeps the planned one), so LLDP sees a link the config does not have.
        self.miscable = miscable
        self.controller_port = int(controller_port)
        self.controller_cmd = controller_cmd
        self.use_controller = controller or bool(controller_cmd)
        # cluster: N built dmzgate controllers on a private etcd (labcluster.py) instead of one controller.
        self.cluster_size = int(cluster) if cluster else None
        if self.cluster_size and (controller_cmd or not controller):
            raise LabError('cluster: the lab spawns its own controllers (no controller_cmd, controller=True)')
        self.cluster = None
        self.static_flows = static_flows
        self.emulation = emulation
        self.connect_timeout = connect_timeout
        self.keep_workdir = keep_workdir
        self.isolate = isolate
        self.ns = None
        self.relays = []
        self.net = None
        self.ovs = None
        self.workdir = None
        self.controller_proc = None
        self.switches = []
        self.procs = []  # background processes we started in hosts (iperf3 servers, ...)
        self.netem = False

    # --- lifecycle ------------------------------------------------------------------------------------------------

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _preflight(self):
        if os.geteuid() != 0:
            raise LabError('the lab must run as root (network namespaces, veths, OVS)')
        for tool in ('mnexec', 'ovs-vsctl', 'ovs-vswitchd', 'nft', 'tc', 'ethtool', 'iperf3', 'ip', 'cc', 'unshare'):
            if not shutil.which(tool):
                raise LabError('%s is missing (Debian packages: mininet openvswitch-switch nftables iproute2 ethtool '
                               'iperf3 gcc util-linux)' % tool)
        if self.cluster_size:
            if not os.access(ETCD_BIN, os.X_OK):
                raise LabError('%s is missing (Debian package etcd-server; or set DMZGATE_ETCD)' % ETCD_BIN)
            if not os.path.exists(DMZGATE_CLI):
                raise LabError('%s is missing: run `npm run build`' % DMZGATE_CLI)
        if self.isolate:
            return  # our interfaces live in our own namespace: nothing can clash
        # Names we create in the root namespace: the switch's tap and its port veths. Never delete what we did not
        # make: refuse to start instead.
        names = [s.name for s in self.spec.all_switches]
        clash = sorted(n for n in os.listdir('/sys/class/net') if any(n == sw or n.startswith(sw + '-eth')
                                                                      for sw in names))
        if clash:
            raise LabError('interfaces %s already exist in the root namespace (another lab, or a crashed one: '
                           'remove them with `ip link del`)' % ', '.join(clash))

    def start(self):
        self._preflight()
        binary = build_delayline()
        if self.emulation not in ('auto', 'netem', 'delayline'):
            raise LabError('emulation: auto, netem or delayline')
        self.netem = self.emulation == 'netem' or (self.emulation == 'auto' and netem_available())
        if self.emulation == 'netem' and not netem_available():
            raise LabError('this kernel has no netem (sch_netem); use --emulation delayline')
        self.workdir = tempfile.mkdtemp(prefix='dmzgate-lab-')
        try:
            with open(self.site_file, 'w') as f:
                f.write(site_yaml(self.spec))
            if self.controller_cmd:
                self._start_controller()  # first, and outside the lab's namespace (its REST API stays reachable)
            if self.cluster_size:
                self.cluster = ControllerCluster(self.cluster_size, DMZGATE_CLI, self.site_file, self.workdir,
                                                 node=shutil.which('node') or 'node',
                                                 ready_timeout=self.connect_timeout)
                self.cluster.start()
            if self.isolate:
                self.ns = LabNamespace().enter()
                # Ours alone: no IPv6 on the interfaces made here (switch ports), unless a node turns it on.
                subprocess.run(['sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1',
                                'net.ipv6.conf.all.disable_ipv6=1'], check=True)
                if self.use_controller:
                    self.relays = [ControllerRelay(port, self.ns.orig_fd) for port in self.controller_ports]
            self.ovs = PrivateOvs(lock=not self.isolate, nice=-10).start()
            topo = DmzTopo(spec=self.spec, delayline=binary, logdir=self.workdir, netem=self.netem,
                           miscable=self.miscable)
            # Mininet.init() would run fixLimits(), which raises host-wide sysctls (net.core.*mem_max,
            # netdev_max_backlog, fs.file-max, ...): not ours to change. We tune each host's namespace instead.
            Mininet.inited = True
            self.net = Mininet(topo=None, switch=OVSSwitch, controller=None, link=Link, build=False,
                               autoSetMacs=False)
            if self.use_controller:
                # Every switch lists every controller (Mininet gives each switch all of them).
                names = [m['name'] for m in self.cluster.members] if self.cluster else ['c0']
                for name, port in zip(names, self.controller_ports):
                    self.net.addController(QuietRemoteController(name, ip='127.0.0.1', port=port))
            self.net.topo = topo
            self.net.build()
            self.net.start()
            self.switch = self.net[self.spec.switch]
            self.switches = [self.net[s.name] for s in self.spec.all_switches]
            self.ovs.tune_packet_sockets()
            # The switches' ports are wires: keep the kernel from sending its own IPv6 chatter (MLD, RS) out of them.
            for sw in self.switches:
                sw.cmd('for i in %s; do sysctl -qw net.ipv6.conf.$i.disable_ipv6=1; done'
                       % ' '.join(i for i in sw.intfNames() if i != 'lo'))
            if self.static_flows:
                self.add_flows(flows.base_flows(self.spec))
            if self.cluster:
                self._wait_cluster()
            elif self.use_controller:
                self._wait_connected(strict=bool(self.controller_cmd))
        except BaseException:
            self.stop()
            raise
        return self

    def _start_controller(self):
        cmd = self.controller_cmd.format(port=self.controller_port, site=self.site_file, workdir=self.workdir)
        log = open(os.path.join(self.workdir, 'controller.log'), 'ab')
        _log('starting controller: %s' % cmd)
        # Its own session, so stop() can end it and its children (sh -c, node) by its PID's process group.
        self.controller_proc = subprocess.Popen(cmd, shell=True, start_new_session=True, stdin=subprocess.DEVNULL,
                                                stdout=log, stderr=subprocess.STDOUT)
        log.close()
        until = time.monotonic() + self.connect_timeout
        while not _listening(self.controller_port):  # read from /proc: a probe connection would look like a switch
            if self.controller_proc.poll() is not None:
                raise LabError('controller exited with status %s:\n%s' % (self.controller_proc.returncode,
                                                                          _tail(self.controller_log)))
            if time.monotonic() > until:
                raise LabError('controller does not listen on 127.0.0.1:%d after %g s:\n%s'
                               % (self.controller_port, self.connect_timeout, _tail(self.controller_log)))
            time.sleep(0.1)

    def _wait_connected(self, strict):
        until = time.monotonic() + self.connect_timeout
        while not self.connected():
            if time.monotonic() > until:
                late = ', '.join(sw.name for sw in self.switches if not sw.connected())
                if strict:
                    raise LabError('%s did not connect to the controller at 127.0.0.1:%d' % (late,
                                                                                           self.controller_port))
                _log('warning: %s not connected to a controller at 127.0.0.1:%d (fail-secure: it forwards '
                     'nothing until flows are installed)' % (late, self.controller_port))
                return
            time.sleep(0.2)

    def _wait_cluster(self):
        """Until the members agree on a leader, every switch is connected to every member, and the leader is
        OpenFlow master on each."""
        leader = self.cluster.wait_leader(self.connect_timeout)
        target = 'tcp:127.0.0.1:%d' % self.cluster.member(leader)['openflow_port']
        until = time.monotonic() + self.connect_timeout
        while True:
            roles = self.controller_roles()
            if self.connected() and all(per.get(target, {}).get('role') == 'master' for per in roles.values()):
                return
            if time.monotonic() > until:
                raise LabError('the switches are not connected to every member with %s master after %g s: %s'
                               % (leader, self.connect_timeout, json.dumps(roles)))
            time.sleep(0.2)

    def stop(self):
        """Stops what this lab started, and only that: host processes by PID, the Mininet network (its veths,
        namespaces, the DMZ bridge), the private OVS, the relays, the controller (or the cluster's controllers
        and etcd members) by PID. Each step runs even if an earlier one failed."""
        def step(what, fn):
            try:
                fn()
            except Exception as e:
                _log('warning: stopping %s: %s: %s' % (what, type(e).__name__, e))
        for p in self.procs:
            step('a host process', lambda p=p: _kill(p))
        self.procs = []
        if self.net is not None:
            step('mininet', self.net.stop)
            self.net = None
        if self.ovs is not None:
            step('ovs', self.ovs.stop)
            self.ovs = None
        for relay in self.relays:
            step('a controller relay', relay.stop)
        self.relays = []
        if self.ns is not None:
            step('the lab namespace', self.ns.leave)  # it goes away with the last process in it
            self.ns = None
        if self.controller_proc is not None:
            step('the controller', lambda: _kill(self.controller_proc, group=True))
            self.controller_proc = None
        if self.cluster is not None:
            step('the controller cluster', self.cluster.stop)
            self.cluster = None
        if self.workdir and not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    # --- information ----------------------------------------------------------------------------------------------

    @property
    def controller_ports(self):
        if self.cluster:
            return [m['openflow_port'] for m in self.cluster.members]
        return [self.controller_port]

    @property
    def site_file(self):
        return os.path.join(self.workdir, 'site.yaml')

    @property
    def controller_log(self):
        return os.path.join(self.workdir, 'controller.log')

    def info(self):
        s = self.spec
        hosts = {}
        for h in s.inside:
            hosts[h.name] = {'role': h.role, 'port': h.port, 'mac': h.mac, 'ipv4': h.ipv4, 'ipv6': h.ipv6}
        for r in s.remotes + s.remote_ps:
            hosts[r.name] = {'role': 'remote', 'mac': r.mac, 'ipv4': r.ipv4, 'ipv6': r.ipv6}
        return {
            'topo': self.topo_name, 'site': s.site, 'switch': s.switch, 'dpid': '%016x' % s.dpid,
            'rtt_ms': s.rtt_ms, 'wan_rate_mbps': s.wan_rate_mbps, 'fw_rate_mbps': s.fw_rate_mbps,
            'loss': {'n': self.firewall.loss_n, 'direction': self.firewall.loss_dir} if self.net else None,
            'cc': s.cc, 'emulation': 'netem' if self.netem else 'delayline',
            'circuits': [{'name': c.name, 'trunk_port': c.trunk_port, 'vlan': c.vlan, 'far_end_mac': c.far_end_mac,
                          'remote': c.remote, 'rtt_ms': c.rtt_ms, 'capacity_mbps': c.capacity_mbps}
                         for c in s.circuits],
            'ports': {'wan-routed': s.wan_port, 'fw-outside': s.fw_out_port, 'fw-inside': s.fw_in_port},
            'hosts': hosts, 'site_file': self.site_file, 'workdir': self.workdir,
            'switches': [{'name': x.name, 'dpid': '%016x' % x.dpid} for x in s.all_switches],
            'links': [fl.name for fl in s.links],
            'miscabled': {'link': s.links[0].name, 'cabled_to': miscabled_port(s)} if self.miscable else None,
            'site_variant': 'fabric' if s.links else 'switch',
            'controller': ','.join('127.0.0.1:%d' % p for p in self.controller_ports) if self.use_controller else None,
            'cluster': self.cluster.info() if self.cluster else None,
            'ovs_dir': self.ovs.dir if self.ovs else None, 'tcp_max_buffer': s.tcp_max_buffer(),
            'netns': self.ns.inode if self.ns else None,
        }

    @property
    def firewall(self):
        return self.net['fw1']

    def node(self, name):
        try:
            return self.net[name]
        except KeyError:
            raise LabError('no node %r' % name) from None

    def ip(self, name, family=4):
        for h in self.spec.inside + self.spec.remotes + self.spec.remote_ps:
            if h.name == name:
                return h.ipv4 if family == 4 else h.ipv6
        if re.fullmatch(r'[\d.]+|[0-9a-fA-F:]+', name):
            return name
        raise LabError('no host %r' % name)

    # --- running things in hosts ----------------------------------------------------------------------------------

    def cmd(self, host, command, timeout=60):
        """Runs a shell command in a host's namespace; returns {'rc', 'out', 'err'}."""
        p = self.node(host).popen(['bash', '-c', command])
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(p, group=True)
            out, err = p.communicate()
            return {'rc': None, 'out': out.decode(errors='replace'), 'err': err.decode(errors='replace'),
                    'timeout': True}
        return {'rc': p.returncode, 'out': out.decode(errors='replace'), 'err': err.decode(errors='replace')}

    def spawn(self, host, argv):
        """Starts a background process in a host (killed by PID at stop); returns its Popen."""
        p = self.node(host).popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(p)
        return p

    def ping(self, src, dst, count=10, interval=0.2, family=4, warmup=True, timeout=None):
        """Pings dst (a host name or address) from src. A first ping resolves ARP/ND and is not counted.
        Returns {'sent', 'received', 'loss', 'min', 'avg', 'max', 'mdev', 'median', 'rtts'} in ms."""
        addr = self.ip(dst, family)
        fam = '-6' if family == 6 else '-4'
        if warmup:
            self.cmd(src, 'ping %s -c 1 -W 3 %s' % (fam, addr), timeout=10)
        r = self.cmd(src, 'ping %s -n -c %d -i %g -W 3 %s' % (fam, count, interval, addr),
                     timeout=timeout or count * interval + 10)
        rtts = [float(x) for x in re.findall(r'time=([\d.]+) ms', r['out'])]
        m = re.search(r'(\d+) packets transmitted, (\d+) received', r['out'])
        sent, rcvd = (int(m.group(1)), int(m.group(2))) if m else (count, len(rtts))
        res = {'src': src, 'dst': addr, 'sent': sent, 'received': rcvd, 'loss': 1 - rcvd / sent if sent else 1.0,
               'rtts': rtts}
        if rtts:
            res['median'] = statistics.median(rtts)
        m = re.search(r'= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms', r['out'])
        if m:
            res.update(dict(zip(('min', 'avg', 'max', 'mdev'), map(float, m.groups()))))
        return res

    def iperf3(self, src, dst, port=5201, seconds=5, cc='cubic', reverse=False, parallel=1, udp=False, bitrate=None,
               family=4, connect_timeout=3.0, server=True, extra=()):
        """iperf3 from src to dst:port (a server is started on dst unless server=False). Returns a summary
        {'ok', 'sent_mbps', 'received_mbps', 'retransmits', 'cc', 'error', 'intervals_mbps'} and 'raw' (end)."""
        addr = self.ip(dst, family)
        srv = None
        if server:
            srv = self.spawn(dst, ['iperf3', '-s', '-1', '-p', str(port)])
            self._wait_listening(dst, port, udp=False)
        argv = ['iperf3', '-c', addr, '-p', str(port), '-t', str(seconds), '-J', '--connect-timeout',
                str(int(connect_timeout * 1000))]
        if cc and not udp:
            argv += ['-C', cc]
        if reverse:
            argv.append('-R')
        if parallel and parallel > 1:
            argv += ['-P', str(parallel)]
        if udp:
            argv += ['-u', '-b', str(bitrate or '100M')]
        elif bitrate:
            argv += ['-b', str(bitrate)]
        argv += list(extra)
        r = self.cmd(src, ' '.join(shlex.quote(a) for a in argv), timeout=seconds + connect_timeout + 20)
        if srv is not None:
            _kill(srv)
            self.procs.remove(srv)
        try:
            j = json.loads(r['out'])
        except ValueError:
            return {'ok': False, 'error': (r['err'] or r['out']).strip()[-500:] or 'no output'}
        if 'error' in j:
            return {'ok': False, 'error': j['error']}
        end = j.get('end', {})
        if udp:
            s = end.get('sum', {})
            res = {'ok': True, 'sent_mbps': s.get('bits_per_second', 0) / 1e6,
                   'received_mbps': s.get('bits_per_second', 0) * (1 - s.get('lost_percent', 0) / 100) / 1e6,
                   'lost_percent': s.get('lost_percent'), 'jitter_ms': s.get('jitter_ms')}
        else:
            res = {'ok': True, 'sent_mbps': end.get('sum_sent', {}).get('bits_per_second', 0) / 1e6,
                   'received_mbps': end.get('sum_received', {}).get('bits_per_second', 0) / 1e6,
                   'retransmits': end.get('sum_sent', {}).get('retransmits'),
                   'cc': end.get('sender_tcp_congestion')}
        res['intervals_mbps'] = [round(i['sum']['bits_per_second'] / 1e6, 1) for i in j.get('intervals', [])]
        res['raw'] = {k: end.get(k) for k in ('sum_sent', 'sum_received', 'sum', 'cpu_utilization_percent') if k in end}
        return res

    def _wait_listening(self, host, port, udp=False, timeout=5.0):
        until = time.monotonic() + timeout
        flag = '-uln' if udp else '-tln'
        while time.monotonic() < until:
            if re.search(r':%d\s' % port, self.cmd(host, 'ss -H %s' % flag, timeout=5)['out']):
                return
            time.sleep(0.05)
        raise LabError('nothing listens on %s port %d' % (host, port))

    # --- the firewall, the WAN, the circuits ------------------------------------------------------------------

    def fw_counters(self):
        return self.firewall.counters()

    def set_loss(self, n, direction=None):
        self.firewall.set_loss(parse_loss(n), direction or self.firewall.loss_dir)
        return {'n': self.firewall.loss_n, 'direction': self.firewall.loss_dir}

    def set_fw_rate(self, mbit):
        self.firewall.set_rate(float(mbit))
        return {'fw_rate_mbps': float(mbit)}

    def delay_nodes(self):
        return [n for n in self.net.hosts if isinstance(n, DelayNode)]

    def set_rtt(self, rtt, circuit=None):
        """Changes the routed WAN's RTT (or a circuit's, by name). Restarts its delay line; frames in flight are
        lost."""
        if self.netem:
            raise LabError('set_rtt: not supported with netem links (restart the lab)')
        rtt = float(rtt)
        if circuit is None:
            self.spec.rtt_ms = rtt
            for dl in ['wdl'] + [w.delay_node for w in self.spec.wans]:
                self.net[dl].start_delayline(delay_ab=rtt / 2.0, delay_ba=rtt / 2.0,
                                             backlog=wan_backlog(self.spec.wan_rate_mbps, rtt))
        else:
            c = next((x for x in self.spec.circuits if x.name == circuit), None)
            if c is None:
                raise LabError('no circuit %r' % circuit)
            c.rtt_ms = rtt
            self.net[c.delay_node].start_delayline(delay_ab=rtt / 2.0, delay_ba=rtt / 2.0,
                                                   backlog=wan_backlog(c.capacity_mbps, rtt))
        return {'rtt_ms': rtt, 'circuit': circuit}

    def delay_stats(self, name='wdl'):
        return self.node(name).stats()

    def circuit_route(self, remote=None, local=None, enable=True, circuit=None):
        """Makes a remote DTN send its traffic for an inside host (default: every DTN) over its circuit (as after
        a circuit lease) instead of the routed WAN, or back (enable=False). The circuit has no ARP: the neighbour
        entry is static (the DMZ switch rewrites eth_dst to the DTN's MAC anyway)."""
        c = (self.spec.circuits[0] if circuit is None and remote is None else
             next(x for x in self.spec.circuits if x.name == circuit or (circuit is None and x.remote == remote)))
        intf = '%s-circ' % c.remote
        targets = [self.spec.host(local)] if local else self.spec.dtns
        r = next(x for x in self.spec.remotes if x.name == c.remote)
        for h in targets:
            if enable:
                cmds = ['ip link set %s up' % intf,
                        'ip neigh replace %s lladdr %s dev %s nud permanent' % (h.ipv4, h.mac, intf),
                        'ip route replace %s/32 dev %s src %s' % (h.ipv4, intf, r.ipv4),
                        'ip -6 neigh replace %s lladdr %s dev %s nud permanent' % (h.ipv6, h.mac, intf),
                        'ip -6 route replace %s/128 dev %s src %s' % (h.ipv6, intf, r.ipv6)]
            else:
                cmds = ['ip route del %s/32 dev %s' % (h.ipv4, intf), 'ip -6 route del %s/128 dev %s' % (h.ipv6, intf)]
            res = self.cmd(c.remote, ' && '.join(cmds))
            if res['rc'] != 0:
                raise LabError('circuit_route on %s: %s' % (c.remote, res['err'].strip()))
        return {'circuit': c.name, 'remote': c.remote, 'locals': [h.name for h in targets], 'enabled': enable}

    # --- the DMZ switch -----------------------------------------------------------------------------------------

    def ofctl(self, command, *args, switch=None):
        """ovs-ofctl on the DMZ switch (in fabrics: the first switch), or on the named one."""
        return self.ovs.ofctl(command, switch or self.spec.switch, *args)

    def dump_flows(self, switch=None):
        return self.ofctl('dump-flows', switch=switch)

    def add_flows(self, lines):
        """Installs flows (ovs-ofctl text, one per line) on the DMZ switch, in one bundle."""
        path = os.path.join(self.workdir, 'flows.%d.txt' % time.monotonic_ns())
        with open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        try:
            self.ofctl('add-flows', '--bundle', path)
        finally:
            os.unlink(path)
        return {'added': len(lines)}

    def del_flows(self, match=''):
        self.ofctl('del-flows', *([match] if match else []))
        return {}

    def vsctl(self, *args):
        return self.ovs.vsctl(*args)

    def recable(self, switch, port, to_port):
        """Moves what is cabled to a switch's port onto another port number of the same switch, as a person
        re-plugging a cable would: the switch reports the old port deleted and the new one added."""
        sw = self.node(switch)
        intf = sw.intfs.get(int(port))
        if intf is None or int(to_port) in sw.intfs:
            raise LabError('recable: %s has no port %s, or already a port %s' % (switch, port, to_port))
        self.vsctl('del-port', switch, intf.name)
        self.vsctl('add-port', switch, intf.name, '--', 'set', 'Interface', intf.name,
                   'ofport_request=%d' % int(to_port))
        del sw.intfs[int(port)]
        del sw.ports[intf]
        sw.intfs[int(to_port)] = intf
        sw.ports[intf] = int(to_port)
        return {'switch': switch, 'interface': intf.name, 'port': int(to_port)}

    def connected(self):
        """Every switch of the lab is connected to its controller (a cluster's: to every member that runs)."""
        if not self.cluster:
            return all(sw.connected() for sw in self.switches)
        want = {'tcp:127.0.0.1:%d' % m['openflow_port'] for m in self.cluster.members if self.cluster.running(m)}
        return all(want <= {t for t, c in per.items() if c['connected']} for per in self.controller_roles().values())

    def controller_roles(self):
        """{switch: {target: {'connected', 'role'}}} as the lab's OVS reports each switch's controllers."""
        rows = json.loads(self.vsctl('--format=json', '--columns=_uuid,target,is_connected,role', 'list',
                                     'controller'))['data']
        # An unset column reads ["set", []]: a role not reported yet is None.
        by_uuid = {r[0][1]: {'target': r[1], 'connected': r[2] is True, 'role': r[3] if isinstance(r[3], str) else None}
                   for r in rows}
        res = {}
        for sw in self.switches:
            ids = json.loads(self.vsctl('--format=json', '--columns=controller', 'find', 'bridge',
                                        'name=%s' % sw.name))['data'][0][0]
            ids = [u[1] for u in ids[1]] if ids[0] == 'set' else [ids[1]]
            res[sw.name] = {by_uuid[u]['target']: {'connected': by_uuid[u]['connected'], 'role': by_uuid[u]['role']}
                            for u in ids if u in by_uuid}
        return res

    # --- the controller cluster ---------------------------------------------------------------------------------

    def _need_cluster(self):
        if not self.cluster:
            raise LabError('this lab runs no controller cluster (--cluster N)')
        return self.cluster

    def cluster_state(self):
        """The members (name, api, openflow_port, pid, running, data, each one's GET /api/v1/cluster view), the
        leader they all name (or None), and each switch's controllers as OVS reports them."""
        res = self._need_cluster().state()
        res['switches'] = self.controller_roles()
        return res

    def kill_member(self, name):
        """SIGKILL to a member's PID; returns once it is gone."""
        return self._need_cluster().kill(name)

    def restart_member(self, name):
        """Starts a killed member again on its data dir and ports; returns once its API answers."""
        return self._need_cluster().restart(name)


def _listening(port):
    """Is a TCP socket listening on port (any address) in this thread's network namespace?"""
    for path in ('/proc/thread-self/net/tcp', '/proc/thread-self/net/tcp6'):
        try:
            with open(path) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    if cols[3] == '0A' and int(cols[1].rsplit(':', 1)[1], 16) == port:
                        return True
        except FileNotFoundError:
            pass
    return False


def _tail(path, n=3000):
    try:
        with open(path, 'rb') as f:
            return f.read()[-n:].decode(errors='replace')
    except OSError:
        return '(no log)'


class QuietRemoteController(RemoteController):
    """A RemoteController that does not probe the controller's port when created (a probe is a stray TCP
    connection the controller would log; the switch's own connection is what counts)."""

    def checkListening(self):
        return


def _kill(p, group=False, timeout=3.0):
    """Ends a process we started, by its PID (or its process group, which it leads)."""
    if p.poll() is not None:
        return
    try:
        if group:
            os.killpg(p.pid, signal.SIGTERM)
        else:
            p.send_signal(signal.SIGTERM)
        p.wait(timeout)
    except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
        try:
            if group:
                os.killpg(p.pid, signal.SIGKILL)
            else:
                p.kill()
        except ProcessLookupError:
            pass
        p.wait()


# --- command line ------------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--topo', default='prototype', help='prototype | circuit | multiproject (one switch), '
                    'supercomputer | datasite | distributed (fabrics) (default prototype)')
    ap.add_argument('--rtt', type=float, default=88.0, help='routed WAN round-trip time, ms (default 88)')
    ap.add_argument('--circuit-rtt', type=float, help='circuit RTT, ms (prototype: = --rtt; circuit: --rtt/2)')
    ap.add_argument('--projects', type=int, default=3, help='multiproject: number of projects (default 3)')
    ap.add_argument('--fibre-rtt', type=float, help='distributed: the dark fibre\'s RTT, ms (default 20)')
    ap.add_argument('--miscable', action='store_true', help='fabrics: cable the first link\'s second end to its '
                    'port + 10 or the next free one (the site config keeps the planned port): LLDP must flag it')
    ap.add_argument('--loss', default='1/22000', help='enterprise-path loss, 1/N (default 1/22000; 0: none)')
    ap.add_argument('--loss-dir', default='in', choices=('in', 'out', 'both'),
                    help='which direction loses frames: in = arriving from the WAN (default)')
    ap.add_argument('--wan-rate', type=float, default=500, help='WAN rate cap, Mbit/s (default 500; 0: none)')
    ap.add_argument('--fw-rate', type=float, default=500, help='firewall rate cap, Mbit/s (default 500; 0: none)')
    ap.add_argument('--cc', default='bbr', choices=('bbr', 'reno'), help='hosts\' default congestion control')
    ap.add_argument('--controller-port', type=int, default=6653)
    ap.add_argument('--controller-cmd', help='command that starts the controller (spawned first, stopped at the end);'
                    ' {port}, {site} (the generated site YAML) and {workdir} are substituted. Default: the built dmzgate'
                    ' controller (dist/bin/dmzgate.js) on the generated site, its API on 127.0.0.1:--api-port')
    ap.add_argument('--external-controller', action='store_true',
                    help='a controller already listens on --controller-port: spawn none')
    ap.add_argument('--api-port', type=int, default=8080, help='the default controller\'s REST API port (default 8080)')
    ap.add_argument('--cluster', type=int, choices=(1, 3), help='N built dmzgate controllers (c1..cN, free ports, '
                    'state in the work dir) on a private etcd cluster of N members instead of one controller; '
                    'every switch lists them all')
    ap.add_argument('--no-controller', action='store_true', help='no controller at all (implies --static-flows '
                    'unless --no-static-flows)')
    ap.add_argument('--static-flows', action='store_true', help='install the enterprise-path flows with ovs-ofctl')
    ap.add_argument('--no-static-flows', action='store_true')
    ap.add_argument('--emulation', default='auto', choices=('auto', 'netem', 'delayline'),
                    help='WAN delay: netem where the kernel has it (auto), else the userspace delay line')
    ap.add_argument('--connect-timeout', type=float, default=30.0)
    ap.add_argument('--keep-workdir', action='store_true', help='keep logs, stats and site.yaml after exit')
    ap.add_argument('--no-isolate', action='store_true', help='build the lab in the root network namespace (then '
                    'its OVS takes turns with other private OVS instances through a lock)')
    ap.add_argument('-v', '--verbose', action='store_true', help='Mininet info logging')
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument('--scenario', help='run a named scenario (scenarios.py; "list" lists them) and print JSON')
    mode.add_argument('--cli', action='store_true', help='the Mininet CLI')
    mode.add_argument('--serve', action='store_true', help='JSON lines on stdin/stdout (serve.py)')
    a = ap.parse_args(argv)
    if a.cluster and (a.controller_cmd or a.no_controller or a.external_controller):
        ap.error('--cluster spawns its own controllers: not with --controller-cmd, --no-controller or '
                 '--external-controller')
    if a.cluster and not os.path.exists(DMZGATE_CLI):
        ap.error('%s is missing: run `npm run build` (npm run lab does)' % DMZGATE_CLI)
    if a.controller_cmd is None and not a.no_controller and not a.external_controller and not a.cluster:
        if not os.path.exists(DMZGATE_CLI):
            ap.error('%s is missing: run `npm run build` (npm run lab does), or give --controller-cmd' % DMZGATE_CLI)
        a.controller_cmd = ('%s %s controller --openflow-port {port} --api-port %d --config {site} --data {workdir}/data'
                            % (shutil.which('node') or 'node', DMZGATE_CLI, a.api_port))

    import scenarios
    if a.scenario == 'list':
        for name, fn in scenarios.SCENARIOS.items():
            print('%-12s %s' % (name, (fn.__doc__ or '').strip().split('\n')[0]))
        return 0
    if a.scenario and a.scenario not in scenarios.SCENARIOS:
        ap.error('unknown scenario %s (have: %s)' % (a.scenario, ', '.join(scenarios.SCENARIOS)))

    out = sys.stdout
    if a.serve:
        # stdout carries only our JSON lines: everything else written to fd 1 (Mininet, children) goes to stderr.
        out = os.fdopen(os.dup(1), 'w', buffering=1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    setLogLevel('info' if a.verbose else 'output' if a.cli else 'warning')
    if a.miscable and a.topo not in FABRICS:
        ap.error('--miscable is for the fabric topologies (%s)' % ', '.join(FABRICS))
    if a.static_flows and a.topo in FABRICS:
        ap.error('--static-flows: one switch\'s enterprise path, not for the fabric topologies')
    # Fabrics get no static flows (flows.py is one switch's enterprise path), even with --no-controller.
    static = (a.static_flows or a.no_controller) and not a.no_static_flows and a.topo not in FABRICS
    lab = Lab(topo=a.topo, rtt=a.rtt, circuit_rtt=a.circuit_rtt, loss=a.loss, loss_dir=a.loss_dir,
              wan_rate=a.wan_rate, fw_rate=a.fw_rate, cc=a.cc, projects=a.projects,
              controller_port=a.controller_port, controller_cmd=a.controller_cmd, controller=not a.no_controller,
              static_flows=static, emulation=a.emulation, connect_timeout=a.connect_timeout,
              keep_workdir=a.keep_workdir, isolate=not a.no_isolate, fibre_rtt=a.fibre_rtt, miscable=a.miscable,
              cluster=a.cluster)

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    rc = 0
    try:
        lab.start()
        if a.serve:
            import serve
            serve.serve(lab, sys.stdin, out)
        elif a.cli:
            from mininet.cli import CLI
            _log('site config: %s; switches %s; type exit to stop'
                 % (lab.site_file, ', '.join(s.name for s in lab.spec.all_switches)))
            for m in (lab.cluster.info()['members'] if lab.cluster else []):
                _log('controller %s: API %s, OpenFlow port %d, pid %s' % (m['name'], m['api'], m['openflow_port'],
                                                                         m['pid']))
            CLI(lab.net)
        elif a.scenario:
            res = scenarios.SCENARIOS[a.scenario](lab)
            print(json.dumps(res, indent=2))
            rc = 0 if res.get('ok', True) else 1
        else:
            _log('up: %s (Ctrl-C stops)' % json.dumps(lab.info()))
            signal.pause()
    except KeyboardInterrupt:
        rc = 130
    finally:
        lab.stop()
    return rc


if __name__ == '__main__':
    sys.exit(main())
