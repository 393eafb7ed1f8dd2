"""Flows the labs install themselves with ovs-ofctl when no controller runs (selftest, --static-flows), in OVS's
text syntax. They mirror apps/dmz/pipeline.ts: the enterprise path (baseFlows) and, for experiments, the two
kinds of lease bypass (leaseFlows). The controller installs the real ones; these exist so the lab can be proved
and used before it does.
"""
from topos.common import LabSpec

ENTERPRISE, INSIDE_DELIVERY, LEASE = 20000, 20010, 40000
COOKIE = 0x00d0000000000000  # the pipeline owner's cookie (OWNER.PIPELINE << 48)
LEASE_COOKIE = 0x00d1000000000000


def base_flows(spec: LabSpec):
    """WAN <-> fw-outside; circuit trunks -> fw-outside; fw-inside -> inside ports; inside -> fw-inside (+ the other
    inside ports for broadcasts); known inside MACs delivered to their port; inside unicast -> fw-inside only;
    table miss: drop (fail-secure)."""
    wan, fo, fi = spec.wan_port, spec.fw_out_port, spec.fw_in_port
    inside = [h.port for h in spec.inside]
    c = 'cookie=%#x,table=0,' % COOKIE
    out = lambda ports: ','.join('output:%d' % p for p in ports)
    f = ['%spriority=%d,in_port=%d,actions=output:%d' % (c, ENTERPRISE, wan, fo),
         '%spriority=%d,in_port=%d,actions=output:%d' % (c, ENTERPRISE, fo, wan)]
    f += ['%spriority=%d,in_port=%d,actions=output:%d' % (c, ENTERPRISE, ct.trunk_port, fo) for ct in spec.circuits]
    f.append('%spriority=%d,in_port=%d,actions=%s' % (c, ENTERPRISE, fi, out(inside)))
    for p in inside:
        f.append('%spriority=%d,in_port=%d,actions=%s' % (c, ENTERPRISE, p, out([fi] + [q for q in inside if q != p])))
    for h in spec.inside:
        for src in [fi] + [q for q in inside if q != h.port]:
            f.append('%spriority=%d,in_port=%d,dl_dst=%s,actions=output:%d' % (c, INSIDE_DELIVERY, src, h.mac, h.port))
    for p in inside:
        f.append('%spriority=%d,in_port=%d,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=output:%d'
                 % (c, INSIDE_DELIVERY - 5, p, fi))
    f.append('%spriority=0,actions=drop' % c)
    return f


def _l4(proto, local_port, remote_port, inbound):
    """Match fields for the L4 ports; inbound: the DTN's port is the destination."""
    m = ''
    dst, src = (local_port, remote_port) if inbound else (remote_port, local_port)
    if dst is not None:
        m += ',%s_dst=%d' % (proto, dst)
    if src is not None:
        m += ',%s_src=%d' % (proto, src)
    return m


def routed_bypass(spec: LabSpec, dtn, remote_ip, proto='tcp', local_port=None, remote_port=None):
    """A routed lease's flows: WAN-routed <-> DTN directly for one 5-tuple pattern (IPv4)."""
    h = spec.host(dtn)
    c = 'cookie=%#x,table=0,priority=%d,' % (LEASE_COOKIE, LEASE)
    return ['%sin_port=%d,%s,nw_src=%s,nw_dst=%s%s,actions=output:%d'
            % (c, spec.wan_port, proto, remote_ip, h.ipv4, _l4(proto, local_port, remote_port, True), h.port),
            '%sin_port=%d,%s,nw_src=%s,nw_dst=%s%s,actions=output:%d'
            % (c, h.port, proto, h.ipv4, remote_ip, _l4(proto, local_port, remote_port, False), spec.wan_port)]


def circuit_bypass(spec: LabSpec, dtn, remote_ip, circuit=None, proto='tcp', local_port=None, remote_port=None):
    """A circuit lease's flows: out with the circuit's VLAN pushed and eth_dst = far end; in popped, to the DTN."""
    h = spec.host(dtn)
    ct = spec.circuits[0] if circuit is None else next(x for x in spec.circuits if x.name == circuit)
    c = 'cookie=%#x,table=0,priority=%d,' % (LEASE_COOKIE, LEASE)
    return ['%sin_port=%d,dl_vlan=%d,%s,nw_src=%s,nw_dst=%s%s,actions=pop_vlan,set_field:%s->eth_dst,output:%d'
            % (c, ct.trunk_port, ct.vlan, proto, remote_ip, h.ipv4, _l4(proto, local_port, remote_port, True), h.mac,
               h.port),
            '%sin_port=%d,%s,nw_src=%s,nw_dst=%s%s,actions=push_vlan:0x8100,set_field:%d->vlan_vid,'
            'set_field:%s->eth_dst,output:%d'
            % (c, h.port, proto, h.ipv4, remote_ip, _l4(proto, local_port, remote_port, False), 0x1000 | ct.vlan,
               ct.far_end_mac, ct.trunk_port)]
