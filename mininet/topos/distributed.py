"""(6) A distributed Science DMZ: a building's DMZ switch behind a long dark-fibre link.

dmz1 (dpid 1) as in the prototype (1 wan-routed, 2 wan-circuit, 3/4 firewall, 5 dtn1, 6 ps1, 7 lan1) plus 8
fabric; bldg1 (dpid 2) in the far building with its own DTN dtn2 (port 2, 10.10.1.11, MAC 02:00:00:00:01:0b)
and 1 fabric. The dark fibre dmz1:8-bldg1:1 (1 Gbit/s) is the delay line node fdl with fibre_rtt (default 20 ms;
netem where the kernel has it). Policy backup-paths: false (there is no other way to the building).
"""
from topos.common import LabSpec, InsideHost, RemoteHost, Circuit, SwitchSpec, FabricLink


def spec(rtt=88.0, circuit_rtt=None, fibre_rtt=20.0, **opts):
    if fibre_rtt <= 0:
        raise ValueError('distributed: the dark fibre needs an RTT > 0 ms')
    return LabSpec(
        site='distributed',
        rtt_ms=rtt,
        switches=[SwitchSpec('bldg1', 2)],
        links=[FabricLink('dmz1', 8, 'bldg1', 1, 1000, rtt_ms=float(fibre_rtt), delay_node='fdl')],
        inside=[InsideHost('dtn1', 'dtn', 5, 10), InsideHost('ps1', 'perfsonar', 6, 20, port_name='perfsonar1'),
                InsideHost('lan1', 'lan', 7, 30), InsideHost('dtn2', 'dtn', 2, 11, switch='bldg1', mac_octet=0x0b)],
        remotes=[RemoteHost('rdtn', 10, 0x10)],
        remote_ps=[RemoteHost('rps', 20, 0x20)],
        circuits=[Circuit('esnet', 2, 3001, '02:00:00:00:02:0a', 'rdtn', rtt if circuit_rtt is None else circuit_rtt,
                          500, 'cdl')],
        backup_paths=False,
        **opts)
