"""The lab topologies' shared model: a LabSpec describes one Science DMZ lab (the DMZ switch's ports and hosts, the
remote site, the WAN and circuits, the firewall); DmzTopo turns it into a Mininet topology and site_yaml() into
the controller's site config (apps/dmz/config-schema.ts), so the two never disagree.

Addressing (one L2 segment inside, routed to the remote site):

  inside    10.10.1.0/24, fd00:10:10:1::/64   border router .1/::1 (MAC 02:00:00:00:01:01) on DMZ port wan-routed;
            inside hosts' MACs are 02:00:00:00:01:PP (PP = their DMZ port, hex); all reach the border router
            through the transparent firewall (WAN <-> fw-outside, fw-inside <-> inside ports), ARP/ND included.
  WAN       198.51.100.0/30, 2001:db8:ffff::/64   remote router .1, border router .2; the long-RTT link between
            them is a delay line (or netem)
  remote    192.0.2.0/24, 2001:db8:2::/64   remote router .1, rdtn .10 (more remote DTNs .11, .12, ...), rps .20;
            a Linux bridge in the remote router joins them
  circuits  a VLAN trunk port on the DMZ switch -> a delay line that pops the circuit's VLAN -> the remote DTN's
            second interface, whose MAC is the circuit's far-end MAC (02:00:00:00:02:0a for the first). The remote
            DTN answers over the circuit only once told to (Lab.circuit_route), as it would after a lease.

Node names: dmz1 (switch), fw1 (firewall), brtr (border router), wdl (WAN delay line), rrtr (remote router),
rdtn/rdtnN, rps (remote), cdl/cdlN (circuit delay lines), dtnN, ps1, lan1 (inside).

Fabrics (LabSpec.switches and .links non-empty): several switches joined by fabric links (a veth between two
bridges, or a delay line node for a long-RTT link); each inside host, circuit, the firewall's legs and the WAN
entries sit on a named switch. More WAN entries (WanEntry) are more border routers on the inside segment, each
with its own WAN link to the remote router. An inside host's MAC is then 02:00:00:00:01:MM with MM its own
mac_octet (ports repeat across switches).
"""
from dataclasses import dataclass, field
from typing import List, Optional

from mininet.link import Link, TCLink
from mininet.node import OVSSwitch
from mininet.topo import Topo

from topos.nodes import LabNode, Router, Firewall, DelayNode

INSIDE4, INSIDE6 = '10.10.1', 'fd00:10:10:1'
REMOTE4, REMOTE6 = '192.0.2', '2001:db8:2'
WAN4, WAN6 = '198.51.100', '2001:db8:ffff'
BORDER_MAC = '02:00:00:00:01:01'


@dataclass
class InsideHost:
    name: str
    role: str  # dtn | perfsonar | lan
    port: int
    last_octet: int
    port_name: Optional[str] = None
    switch: Optional[str] = None  # default: LabSpec.switch
    mac_octet: Optional[int] = None  # default: the port

    @property
    def mac(self):
        return '02:00:00:00:01:%02x' % (self.port if self.mac_octet is None else self.mac_octet)

    @property
    def ipv4(self):
        return '%s.%d' % (INSIDE4, self.last_octet)

    @property
    def ipv6(self):
        return '%s::%d' % (INSIDE6, self.last_octet)


@dataclass
class RemoteHost:
    name: str
    last_octet: int
    mac_octet: int

    @property
    def mac(self):
        return '02:00:00:00:02:%02x' % self.mac_octet

    @property
    def ipv4(self):
        return '%s.%d' % (REMOTE4, self.last_octet)

    @property
    def ipv6(self):
        return '%s::%d' % (REMOTE6, self.last_octet)


@dataclass
class Circuit:
    name: str
    trunk_port: int
    vlan: int
    far_end_mac: str
    remote: str  # the remote host whose second interface is the far end
    rtt_ms: float
    capacity_mbps: int
    delay_node: str
    port_name: str = 'circuit-trunk'
    switch: Optional[str] = None  # default: LabSpec.switch


@dataclass
class SwitchSpec:
    name: str
    dpid: int


@dataclass
class FabricLink:
    """A cable between fabric ports of two switches; with rtt_ms, a delay line node (delay_node) spliced in."""
    a: str
    a_port: int
    b: str
    b_port: int
    capacity_mbps: int
    cost: int = 1
    rtt_ms: float = 0.0
    delay_node: Optional[str] = None

    @property
    def name(self):
        return '%s:%d-%s:%d' % (self.a, self.a_port, self.b, self.b_port)


@dataclass
class WanEntry:
    """Another border router: inside .last_octet (MAC 02:00:00:00:01:MM), its own WAN /30 (the n-th after the
    first) through its own delay line to the remote router."""
    router: str
    switch: str
    port: int
    last_octet: int
    mac_octet: int
    wan_index: int
    delay_node: str


@dataclass
class Cluster:
    name: str
    members: List[str]


@dataclass
class LabSpec:
    site: str
    rtt_ms: float
    inside: List[InsideHost]
    remotes: List[RemoteHost]
    circuits: List[Circuit]
    remote_ps: List[RemoteHost] = field(default_factory=list)
    switch: str = 'dmz1'
    dpid: int = 1
    wan_port: int = 1
    fw_out_port: int = 3
    fw_in_port: int = 4
    wan_rate_mbps: float = 500
    fw_rate_mbps: float = 500
    loss_n: int = 22000
    loss_dir: str = 'in'
    cc: str = 'bbr'
    policy_ports: tuple = ('50000-51000', 5201)
    max_lease: str = '12h'
    # Fabrics: the switches besides `switch`, the links between them, where the WAN uplink and the firewall legs
    # sit (default `switch`), more WAN entries, DTN clusters, and the policy's backup-paths (None: not written).
    switches: List[SwitchSpec] = field(default_factory=list)
    links: List[FabricLink] = field(default_factory=list)
    wan_switch: Optional[str] = None
    fw_switch: Optional[str] = None
    wans: List[WanEntry] = field(default_factory=list)
    clusters: List[Cluster] = field(default_factory=list)
    backup_paths: Optional[bool] = None

    @property
    def all_switches(self):
        """Every switch of the lab, the first one (`switch`) first."""
        return [SwitchSpec(self.switch, self.dpid)] + list(self.switches)

    def switch_of(self, x):
        """The switch an inside host, circuit or None (the WAN/firewall default) sits on."""
        return getattr(x, 'switch', None) or self.switch

    def host(self, name):
        for h in self.inside:
            if h.name == name:
                return h
        raise KeyError(name)

    @property
    def dtns(self):
        return [h for h in self.inside if h.role == 'dtn']

    def tcp_max_buffer(self):
        """fasterdata: socket buffers >= 2x the bandwidth-delay product; at least 64 MiB (LAB.md: 64 MiB at
        88 ms filled a 1 Gbit/s userspace-OVS path). The path rate here can reach ~1 Gbit/s, whatever the caps."""
        rtt = max([self.rtt_ms] + [c.rtt_ms for c in self.circuits]) / 1000
        rate = max(1000.0, self.wan_rate_mbps, self.fw_rate_mbps) * 1e6
        return max(64 << 20, int(2 * rate * rtt / 8))


def netem_available():
    """True when the kernel has netem (tried in a throwaway network namespace)."""
    import subprocess
    p = subprocess.run(['unshare', '-n', 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'],
                       capture_output=True)
    return p.returncode == 0


def wan_backlog(rate_mbps, rtt_ms):
    """Bytes of queue in front of a WAN link's rate limit: one bandwidth-delay product (at least 10 ms), the
    buffering a science WAN's routers give a single large flow. A shallower queue makes loss-based TCP (cubic)
    overflow it every cycle and measures the buffer, not the path."""
    return int((rate_mbps or 0) * 1e6 / 8 * max(rtt_ms, 10.0) / 1000) or None


def netem_limit(rate_mbps, one_way_ms):
    """netem's queue (packets) must hold a one-way delay's worth of full-size frames at the link rate (at least
    ~1 Gbit/s without a cap), plus room for a burst: its default of 1000 would drop at long RTTs."""
    rate = (rate_mbps or 1000) * 1e6
    return int(rate * one_way_ms / 1000 / 8 / 1500 * 1.5) + 1000


def miscabled_port(spec: LabSpec):
    """Where a miscabled lab plugs the first link's b end: the first port from b_port + 10 that the site config
    does not name on that switch."""
    fl = spec.links[0]
    used = {no for no, _, _ in site_ports(spec)[fl.b]}
    port = fl.b_port + 10
    while port in used:
        port += 1
    return port


class DmzTopo(Topo):
    """The Science DMZ lab described by a LabSpec. netem: use TCLink(delay=) for the WAN and circuit delays instead
    of delay lines (circuits keep a VLAN-popping delay node with no delay). delayline: path of the binary."""

    def build(self, spec: LabSpec, delayline: str, logdir: str, netem: bool = False, miscable: bool = False):
        tcp = {'max_buffer': spec.tcp_max_buffer(), 'cc': spec.cc}
        sws = {s.name: self.addSwitch(s.name, cls=OVSSwitch, dpid='%016x' % s.dpid, datapath='user',
                                      protocols='OpenFlow13', failMode='secure') for s in spec.all_switches}
        on = lambda x: sws[spec.switch_of(x)]  # noqa: E731

        # --- inside: the firewall's legs and the inside hosts ------------------------------------------------
        policy = {'dtns': [], 'perfsonar': [], 'lan': []}
        for h in spec.inside:
            policy[{'dtn': 'dtns', 'perfsonar': 'perfsonar', 'lan': 'lan'}[h.role]].append(([h.ipv4], [h.ipv6]))
        fw_sw = sws[spec.fw_switch or spec.switch]
        self.addHost('fw1', cls=Firewall, ip=None, outside='fw1-out', inside='fw1-in', policy=policy,
                     rate_mbit=spec.fw_rate_mbps, loss_n=spec.loss_n, loss_dir=spec.loss_dir)
        self.addLink('fw1', fw_sw, port2=spec.fw_out_port, intfName1='fw1-out', cls=Link)
        self.addLink('fw1', fw_sw, port2=spec.fw_in_port, intfName1='fw1-in', cls=Link)
        for h in spec.inside:
            intf = '%s-eth0' % h.name
            self.addHost(h.name, cls=LabNode, ip=None, tcp=tcp,
                         addrs={intf: ['%s/24' % h.ipv4, '%s/64' % h.ipv6]},
                         routes=[('default', '%s.1' % INSIDE4), ('default', '%s::1' % INSIDE6)])
            self.addLink(h.name, on(h), port2=h.port, intfName1=intf, addr1=h.mac, cls=Link)

        # --- fabric links: a cable, or a delay line node for a long-RTT one; miscable moves the first link's b
        # end to a port the site config does not name (miscabled_port) --------------------------------------------
        for i, fl in enumerate(spec.links):
            b_port = miscabled_port(spec) if miscable and i == 0 else fl.b_port
            if not fl.rtt_ms:
                self.addLink(sws[fl.a], sws[fl.b], port1=fl.a_port, port2=b_port, cls=Link)
                continue
            d, one_way = fl.delay_node, fl.rtt_ms / 2.0
            if netem:
                self.addLink(sws[fl.a], sws[fl.b], port1=fl.a_port, port2=b_port, cls=TCLink, txo=False, rxo=False,
                             delay='%gms' % one_way, max_queue_size=netem_limit(0, one_way))
                continue
            self.addHost(d, cls=DelayNode, ip=None, a='%s-a' % d, b='%s-b' % d, binary=delayline, logdir=logdir,
                         delay_ab=one_way, delay_ba=one_way, rate=0)
            self.addLink(d, sws[fl.a], port2=fl.a_port, intfName1='%s-a' % d, cls=Link)
            self.addLink(d, sws[fl.b], port2=b_port, intfName1='%s-b' % d, cls=Link)

        # --- border routers, WAN, remote router and the remote LAN --------------------------------------------
        self.addHost('brtr', cls=Router, ip=None, addrs={
            'brtr-dmz': ['%s.1/24' % INSIDE4, '%s::1/64' % INSIDE6],
            'brtr-wan': ['%s.2/30' % WAN4, '%s::2/64' % WAN6]},
            routes=[('%s.0/24' % REMOTE4, '%s.1' % WAN4), ('%s::/64' % REMOTE6, '%s::1' % WAN6)])
        self.addLink('brtr', sws[spec.wan_switch or spec.switch], port2=spec.wan_port, intfName1='brtr-dmz',
                     addr1=BORDER_MAC, cls=Link)
        remote_hosts = spec.remotes + spec.remote_ps
        lan_ports = ['rrtr-%s' % r.name for r in remote_hosts]
        rrtr_addrs = {'br-lan': ['%s.1/24' % REMOTE4, '%s::1/64' % REMOTE6],
                      'rrtr-wan': ['%s.1/30' % WAN4, '%s::1/64' % WAN6]}
        for w in spec.wans:
            rrtr_addrs['rrtr-wan%d' % w.wan_index] = ['%s.%d/30' % (WAN4, 4 * w.wan_index + 1),
                                                      '%s:%x::1/64' % (WAN6, w.wan_index)]
            self.addHost(w.router, cls=Router, ip=None, addrs={
                '%s-dmz' % w.router: ['%s.%d/24' % (INSIDE4, w.last_octet), '%s::%d/64' % (INSIDE6, w.last_octet)],
                '%s-wan' % w.router: ['%s.%d/30' % (WAN4, 4 * w.wan_index + 2), '%s:%x::2/64' % (WAN6, w.wan_index)]},
                routes=[('%s.0/24' % REMOTE4, '%s.%d' % (WAN4, 4 * w.wan_index + 1)),
                        ('%s::/64' % REMOTE6, '%s:%x::1' % (WAN6, w.wan_index))])
            self.addLink(w.router, sws[w.switch], port2=w.port, intfName1='%s-dmz' % w.router,
                         addr1='02:00:00:00:01:%02x' % w.mac_octet, cls=Link)
        self.addHost('rrtr', cls=Router, ip=None, lan_bridge={'name': 'br-lan', 'ports': lan_ports}, addrs=rrtr_addrs,
                     routes=[('%s.0/24' % INSIDE4, '%s.2' % WAN4), ('%s::/64' % INSIDE6, '%s::2' % WAN6)])
        one_way = spec.rtt_ms / 2.0
        wan_links = [('brtr', 'rrtr-wan', 'brtr-wan', 'wdl')]
        wan_links += [(w.router, 'rrtr-wan%d' % w.wan_index, '%s-wan' % w.router, w.delay_node) for w in spec.wans]
        for router, r_intf, b_intf, dl in wan_links:
            if netem:
                self.addLink('rrtr', router, intfName1=r_intf, intfName2=b_intf, cls=TCLink, txo=False, rxo=False,
                             delay='%gms' % one_way, bw=spec.wan_rate_mbps or None,
                             max_queue_size=netem_limit(spec.wan_rate_mbps, one_way))
            else:
                self.addHost(dl, cls=DelayNode, ip=None, a='%s-r' % dl, b='%s-l' % dl, binary=delayline,
                             logdir=logdir, delay_ab=one_way, delay_ba=one_way, rate=spec.wan_rate_mbps,
                             backlog=wan_backlog(spec.wan_rate_mbps, spec.rtt_ms))
                self.addLink('rrtr', dl, intfName1=r_intf, intfName2='%s-r' % dl, cls=Link)
                self.addLink(dl, router, intfName1='%s-l' % dl, intfName2=b_intf, cls=Link)
        for r in remote_hosts:
            intf = '%s-eth0' % r.name
            self.addHost(r.name, cls=LabNode, ip=None, tcp=tcp,
                         addrs={intf: ['%s/24' % r.ipv4, '%s/64' % r.ipv6]},
                         routes=[('default', '%s.1' % REMOTE4), ('default', '%s::1' % REMOTE6)])
            self.addLink(r.name, 'rrtr', intfName1=intf, intfName2='rrtr-%s' % r.name, addr1=r.mac, cls=Link)

        # --- circuits: DMZ trunk port -> delay node (pops the VLAN) -> the remote DTN's circuit interface -------
        for c in spec.circuits:
            d = c.delay_node
            cintf = '%s-circ' % c.remote
            self.addHost(d, cls=DelayNode, ip=None, a='%s-trunk' % d, b='%s-far' % d, binary=delayline, logdir=logdir,
                         delay_ab=0 if netem else c.rtt_ms / 2.0, delay_ba=0 if netem else c.rtt_ms / 2.0,
                         rate=0 if netem else c.capacity_mbps, vlan=c.vlan,
                         backlog=wan_backlog(c.capacity_mbps, c.rtt_ms))
            self.addLink(d, on(c), port2=c.trunk_port, intfName1='%s-trunk' % d, cls=Link)
            if netem:
                self.addLink(d, c.remote, intfName1='%s-far' % d, intfName2=cintf, addr2=c.far_end_mac, cls=TCLink,
                             txo=False, rxo=False, delay='%gms' % (c.rtt_ms / 2.0), bw=c.capacity_mbps or None,
                             max_queue_size=netem_limit(c.capacity_mbps, c.rtt_ms / 2.0))
            else:
                self.addLink(d, c.remote, intfName1='%s-far' % d, intfName2=cintf, addr2=c.far_end_mac, cls=Link)


# --- the site config (YAML) --------------------------------------------------------------------------------------

def site_ports(spec: LabSpec):
    """{switch name: [(port, role, name)]}, every switch of the lab, ports sorted."""
    ports = {s.name: [] for s in spec.all_switches}
    ports[spec.wan_switch or spec.switch].append((spec.wan_port, 'wan-routed', 'border-router'))
    for w in spec.wans:
        ports[w.switch].append((w.port, 'wan-routed', w.router))
    for c in spec.circuits:
        ports[spec.switch_of(c)].append((c.trunk_port, 'wan-circuit', c.port_name))
    fw = spec.fw_switch or spec.switch
    ports[fw] += [(spec.fw_out_port, 'fw-outside', 'firewall-outside'), (spec.fw_in_port, 'fw-inside', 'firewall-inside')]
    for h in spec.inside:
        ports[spec.switch_of(h)].append((h.port, h.role, h.port_name or h.name))
    for fl in spec.links:
        ports[fl.a].append((fl.a_port, 'fabric', 'to-%s' % fl.b))
        ports[fl.b].append((fl.b_port, 'fabric', 'to-%s' % fl.a))
    for name, ps in ports.items():
        nos = [no for no, _, _ in ps]
        if len(set(nos)) != len(nos):
            raise ValueError('switch %s: a port number is used twice: %s' % (name, sorted(nos)))
        ps.sort()
    return ports


def router_mac(spec: LabSpec, switch, port, role):
    """With several WAN entries, each wan-routed port names its border router's MAC: the inside hosts' gateway is
    brtr, and a transfer that leaves by another entry must address that one."""
    if role != 'wan-routed' or not spec.wans:
        return ''
    w = next((x for x in spec.wans if x.switch == switch and x.port == port), None)
    return ', router-mac: "02:00:00:00:01:%02x"' % (w.mac_octet if w else 0x01)


def site_yaml(spec: LabSpec):
    """The controller's site config for this lab (format: apps/dmz/config-schema.ts)."""
    out = ['# dmzgate site: %s (generated by mininet/sitegen.py from the lab topology)' % spec.site,
           'site: %s' % spec.site, 'switches:']
    ports = site_ports(spec)
    for sw in spec.all_switches:
        out += ['  - name: %s' % sw.name, '    dpid: "%016x"' % sw.dpid, '    ports:']
        for no, role, name in ports[sw.name]:
            out.append('      - { port: %d, role: %s, name: %s%s }' % (no, role, name, router_mac(spec, sw.name, no, role)))
    for key, role in (('dtns', 'dtn'), ('perfsonar', 'perfsonar'), ('lan', 'lan')):
        hosts = [h for h in spec.inside if h.role == role]
        if not hosts:
            continue
        out.append('%s:' % key)
        for h in hosts:
            out += ['  - name: %s' % h.name, '    switch: %s' % spec.switch_of(h), '    port: %d' % h.port,
                    '    mac: "%s"' % h.mac, '    ipv4: [%s]' % h.ipv4, '    ipv6: ["%s"]' % h.ipv6]
    if spec.clusters:
        out.append('clusters:')
        for c in spec.clusters:
            out.append('  - { name: %s, members: [%s] }' % (c.name, ', '.join(c.members)))
    if spec.circuits:
        out.append('circuits:')
        for c in spec.circuits:
            out += ['  - name: %s' % c.name, '    switch: %s' % spec.switch_of(c), '    trunk-port: %d' % c.trunk_port,
                    '    vlan: %d' % c.vlan, '    far-end-mac: "%s"' % c.far_end_mac,
                    '    capacity-mbps: %d' % c.capacity_mbps]
    if spec.links:
        out.append('links:')
        for fl in spec.links:
            out.append('  - { a: "%s:%d", b: "%s:%d", capacity-mbps: %d, cost: %d }'
                       % (fl.a, fl.a_port, fl.b, fl.b_port, fl.capacity_mbps, fl.cost))
    out += ['policy:', '  max-lease: %s' % spec.max_lease,
            '  ports: [%s]' % ', '.join(str(p) for p in spec.policy_ports), '  protocols: [tcp, udp]']
    if spec.backup_paths is not None:
        out.append('  backup-paths: %s' % ('true' if spec.backup_paths else 'false'))
    return '\n'.join(out) + '\n'
