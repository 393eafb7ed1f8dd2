"""(3) Several projects, each with its own DTN pair and circuit: dtn1..dtnN inside (ports 5, 8, 9, ...; 10.10.1.10,
.11, ...), remote DTNs rdtn, rdtn2, ... (192.0.2.10, .11, ...), and one circuit per project on its own trunk port
(2, 22, 23, ...; VLAN 3001, 3002, ...; far end = that project's remote DTN's circuit interface, MAC
02:00:00:00:02:0a, :0b, ...). ps1 on 6 and lan1 on 7 as in the prototype.
"""
from topos.common import LabSpec, InsideHost, RemoteHost, Circuit


def spec(rtt=88.0, circuit_rtt=None, projects=3, **opts):
    if not 1 <= projects <= 9:
        raise ValueError('projects: 1..9')
    inside, remotes, circuits = [], [], []
    crtt = rtt if circuit_rtt is None else circuit_rtt
    for k in range(1, projects + 1):
        inside.append(InsideHost('dtn%d' % k, 'dtn', 5 if k == 1 else 6 + k, 9 + k))
        rname = 'rdtn' if k == 1 else 'rdtn%d' % k
        remotes.append(RemoteHost(rname, 9 + k, 0x0f + k))
        circuits.append(Circuit('esnet' if k == 1 else 'project%d' % k, 2 if k == 1 else 20 + k, 3000 + k,
                                '02:00:00:00:02:%02x' % (0x09 + k), rname, crtt, 500,
                                'cdl' if k == 1 else 'cdl%d' % k,
                                port_name='circuit-trunk' if k == 1 else 'circuit-trunk-%d' % k))
    inside += [InsideHost('ps1', 'perfsonar', 6, 20, port_name='perfsonar1'), InsideHost('lan1', 'lan', 7, 30)]
    return LabSpec(site='multiproject', rtt_ms=rtt, inside=inside, remotes=remotes, circuits=circuits,
                   remote_ps=[RemoteHost('rps', 20, 0x20)], **opts)
