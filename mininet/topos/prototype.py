"""(1) The prototype Science DMZ: the site the controller embeds by default (apps/dmz/default-site.ts).

dmz1 ports: 1 wan-routed (border router brtr), 2 wan-circuit (VLAN 3001 trunk to the circuit delay line cdl, far
end rdtn's circuit interface 02:00:00:00:02:0a), 3/4 the firewall fw1's outside/inside legs, 5 dtn1, 6 ps1,
7 lan1. Remote site behind the long-RTT WAN: rdtn (192.0.2.10) and rps (192.0.2.20). The circuit's RTT equals
the routed RTT unless circuit_rtt is given.
"""
from topos.common import LabSpec, InsideHost, RemoteHost, Circuit


def spec(rtt=88.0, circuit_rtt=None, **opts):
    return LabSpec(
        site='prototype',
        rtt_ms=rtt,
        inside=[InsideHost('dtn1', 'dtn', 5, 10), InsideHost('ps1', 'perfsonar', 6, 20, port_name='perfsonar1'),
                InsideHost('lan1', 'lan', 7, 30)],
        remotes=[RemoteHost('rdtn', 10, 0x10)],
        remote_ps=[RemoteHost('rps', 20, 0x20)],
        circuits=[Circuit('esnet', 2, 3001, '02:00:00:00:02:0a', 'rdtn', rtt if circuit_rtt is None else circuit_rtt,
                          500, 'cdl')],
        **opts)
