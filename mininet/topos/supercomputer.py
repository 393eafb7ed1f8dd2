"""(4) A supercomputer center: border, core and DMZ leaf switches.

border1 (dpid 1): 1 wan-routed (brtr), 3/4 the firewall's legs, 7 lan1, 5/6 fabric. core1 (dpid 2): 4 wan-circuit
(VLAN 3001 trunk to cdl, far end rdtn's circuit interface), 1/2 fabric. leaf1 (dpid 3): the DTNs dtn1 (port 4,
10.10.1.10) and dtn2 (5, .11), ps1 (6, .20), 1/2 fabric. Links (10 Gbit/s): border1:5-core1:1 and core1:2-leaf1:1
(cost 1 each: the path through the core), and the redundant link border1:6-leaf1:2 around the core (cost 3: the
way out when a core link fails). Policy backup-paths: true. Inside MACs are 02:00:00:00:01:<last octet>.
"""
from topos.common import LabSpec, InsideHost, RemoteHost, Circuit, SwitchSpec, FabricLink


def spec(rtt=88.0, circuit_rtt=None, **opts):
    leaf = dict(switch='leaf1')
    return LabSpec(
        site='supercomputer',
        rtt_ms=rtt,
        switch='border1',
        dpid=1,
        switches=[SwitchSpec('core1', 2), SwitchSpec('leaf1', 3)],
        links=[FabricLink('border1', 5, 'core1', 1, 10000), FabricLink('core1', 2, 'leaf1', 1, 10000),
               FabricLink('border1', 6, 'leaf1', 2, 10000, cost=3)],
        inside=[InsideHost('dtn1', 'dtn', 4, 10, mac_octet=10, **leaf),
                InsideHost('dtn2', 'dtn', 5, 11, mac_octet=11, **leaf),
                InsideHost('ps1', 'perfsonar', 6, 20, port_name='perfsonar1', mac_octet=20, **leaf),
                InsideHost('lan1', 'lan', 7, 30, mac_octet=30)],
        remotes=[RemoteHost('rdtn', 10, 0x10)],
        remote_ps=[RemoteHost('rps', 20, 0x20)],
        circuits=[Circuit('esnet', 4, 3001, '02:00:00:00:02:0a', 'rdtn', rtt if circuit_rtt is None else circuit_rtt,
                          500, 'cdl', switch='core1')],
        backup_paths=True,
        **opts)
