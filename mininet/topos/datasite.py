"""(5) A major data site: parallel links, a data-transfer cluster, two WAN entries.

border1 (dpid 1): 1 wan-routed (brtr, 10.10.1.1), 3/4 the firewall's legs, 7 lan1, 5/6 fabric. dmz1 (dpid 2):
1 wan-routed (the second WAN entry: border router brtr2, 10.10.1.2, its own WAN link 198.51.100.4/30 through the
delay line wdl2 to the remote router), the DTN cluster dtc1 = dtn1..dtn4 on ports 11-14 (10.10.1.10-.13), ps1
(15, .20), 5/6 fabric. Two parallel links border1:5-dmz1:5 and border1:6-dmz1:6 (10 Gbit/s, cost 1 each: a
"2x10G LAG" used together). Policy backup-paths: true. Inside MACs are 02:00:00:00:01:<last octet>. No circuit.
"""
from topos.common import LabSpec, InsideHost, RemoteHost, SwitchSpec, FabricLink, WanEntry, Cluster


def spec(rtt=88.0, circuit_rtt=None, **opts):
    dmz = dict(switch='dmz1')
    dtns = [InsideHost('dtn%d' % k, 'dtn', 10 + k, 9 + k, mac_octet=9 + k, **dmz) for k in range(1, 5)]
    return LabSpec(
        site='datasite',
        rtt_ms=rtt,
        switch='border1',
        dpid=1,
        switches=[SwitchSpec('dmz1', 2)],
        links=[FabricLink('border1', 5, 'dmz1', 5, 10000), FabricLink('border1', 6, 'dmz1', 6, 10000)],
        wans=[WanEntry('brtr2', 'dmz1', 1, 2, 0x02, 1, 'wdl2')],
        inside=dtns + [InsideHost('ps1', 'perfsonar', 15, 20, port_name='perfsonar1', mac_octet=20, **dmz),
                       InsideHost('lan1', 'lan', 7, 30, mac_octet=30)],
        clusters=[Cluster('dtc1', [h.name for h in dtns])],
        remotes=[RemoteHost('rdtn', 10, 0x10)],
        remote_ps=[RemoteHost('rps', 20, 0x20)],
        circuits=[],
        backup_paths=True,
        **opts)
