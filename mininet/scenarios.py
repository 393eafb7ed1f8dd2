"""Named lab scenarios for `lab.py --scenario NAME`: each takes a running Lab and returns a JSON-able dict (with
'ok'). Scenarios that install bypass flows themselves (compare) are for labs without a controller
(--no-controller); with a controller, leases come from its REST API instead.
"""
import time

import flows


def info(lab):
    """The lab's hosts, addresses, ports and site config path."""
    return dict(lab.info(), ok=True)


def rtt(lab):
    """Ping RTT from the remote DTN to each inside host over the routed path (through the firewall)."""
    res = {}
    for h in lab.spec.inside:
        res[h.name] = lab.ping(lab.spec.remotes[0].name, h.name, count=10)
    ok = all(r['received'] == r['sent'] for r in res.values())
    return {'ok': ok, 'configured_rtt_ms': lab.spec.rtt_ms, 'pings': res}


def enterprise(lab, seconds=10):
    """iperf3 remote DTN -> dtn1 through the enterprise firewall, cubic and bbr, with the firewall's counters."""
    remote = lab.spec.remotes[0].name
    dtn = lab.spec.dtns[0].name
    before = lab.fw_counters()
    runs = {cc: lab.iperf3(remote, dtn, seconds=seconds, cc=cc) for cc in ('cubic', 'bbr')}
    after = lab.fw_counters()
    return {'ok': all(r['ok'] for r in runs.values()), 'rtt_ms': lab.spec.rtt_ms,
            'loss': lab.info()['loss'], 'iperf3': runs,
            'fw_forwarded_packets': after['forwarded']['packets'] - before['forwarded']['packets'],
            'fw_lost_in': after['dropped']['lost_in']['packets'] - before['dropped']['lost_in']['packets'],
            'fw_lost_out': after['dropped']['lost_out']['packets'] - before['dropped']['lost_out']['packets']}


def compare(lab, seconds=10, cc='cubic'):
    """Without a controller: the same transfer over the enterprise path, a routed bypass and a circuit bypass
    (flows installed here with ovs-ofctl), to show what a lease buys."""
    s = lab.spec
    remote, dtn = s.remotes[0], s.dtns[0]
    out = {'rtt_ms': s.rtt_ms, 'circuit_rtt_ms': s.circuits[0].rtt_ms, 'loss': lab.info()['loss'], 'cc': cc}
    out['enterprise'] = lab.iperf3(remote.name, dtn.name, port=5201, seconds=seconds, cc=cc)
    bypass = flows.routed_bypass(s, dtn.name, remote.ipv4, local_port=5201)
    lab.add_flows(bypass)
    fw0 = lab.fw_counters()['forwarded']['packets']
    out['routed_bypass'] = lab.iperf3(remote.name, dtn.name, port=5201, seconds=seconds, cc=cc)
    out['routed_bypass']['fw_packets'] = lab.fw_counters()['forwarded']['packets'] - fw0
    lab.del_flows('cookie=%#x/-1' % flows.LEASE_COOKIE)
    lab.add_flows(flows.circuit_bypass(s, dtn.name, remote.ipv4, local_port=5201)
                  + flows.circuit_bypass(s, dtn.name, remote.ipv4, proto='icmp'))
    lab.circuit_route(remote=remote.name, local=dtn.name)
    time.sleep(0.2)
    out['circuit_ping'] = lab.ping(remote.name, dtn.name, count=5, warmup=False)
    out['circuit_bypass'] = lab.iperf3(remote.name, dtn.name, port=5201, seconds=seconds, cc=cc)
    lab.circuit_route(remote=remote.name, local=dtn.name, enable=False)
    lab.del_flows('cookie=%#x/-1' % flows.LEASE_COOKIE)
    out['ok'] = all(out[k]['ok'] for k in ('enterprise', 'routed_bypass', 'circuit_bypass'))
    return out


def shape(lab, seconds=8, cc='cubic', rtts=(10, 50, 88)):
    """Without a controller: ESnet's loss-vs-RTT shape. At each RTT, iperf3 remote DTN -> dtn1 over the lossy
    enterprise path and over a routed bypass, beside the Mathis et al. bound MSS / RTT / sqrt(p) for the loss."""
    s = lab.spec
    remote, dtn = s.remotes[0], s.dtns[0]
    n = lab.firewall.loss_n
    rows = []
    for rtt_ms in rtts:
        lab.set_rtt(rtt_ms)
        ent = lab.iperf3(remote.name, dtn.name, seconds=seconds, cc=cc)
        lab.add_flows(flows.routed_bypass(s, dtn.name, remote.ipv4, local_port=5201))
        byp = lab.iperf3(remote.name, dtn.name, seconds=seconds, cc=cc)
        lab.del_flows('cookie=%#x/-1' % flows.LEASE_COOKIE)
        mathis = 1448 * 8 / (rtt_ms / 1000) * n ** 0.5 / 1e6 if n else None
        rows.append({'rtt_ms': rtt_ms, 'enterprise_mbps': round(ent.get('received_mbps', 0), 1),
                     'enterprise_retransmits': ent.get('retransmits'), 'bypass_mbps': round(byp.get('received_mbps', 0), 1),
                     'bypass_retransmits': byp.get('retransmits'),
                     'mathis_bound_mbps': round(mathis, 1) if mathis else None, 'ok': ent['ok'] and byp['ok']})
    return {'ok': all(r['ok'] for r in rows), 'cc': cc, 'loss': '1/%d' % n if n else 0,
            'wan_rate_mbps': s.wan_rate_mbps, 'fw_rate_mbps': s.fw_rate_mbps, 'rows': rows}


SCENARIOS = {'info': info, 'rtt': rtt, 'enterprise': enterprise, 'compare': compare, 'shape': shape}
