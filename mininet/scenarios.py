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


SCENARIOS = {'info': info, 'rtt': rtt, 'enterprise': enterprise, 'compare': compare}
