#!/usr/bin/python3
"""Proves the lab infrastructure without the controller (run as root with /usr/bin/python3):

  python3 mininet/selftest.py [--json] [--quick]

Builds the prototype topology (routed RTT 10 ms, circuit RTT 20 ms, enterprise loss 1/22000) on a private OVS,
installs the DMZ's default-path flows itself with ovs-ofctl (WAN <-> fw-outside, inside <-> fw-inside, delivery by
MAC, table miss drop, fail_mode=secure), and checks:

  flows          the switch holds exactly the flows installed, and is fail-secure
  ping           remote DTN -> dtn1 through the firewall: no loss; least RTT of 20 within 1 ms of 10 ms
  outbound       dtn1 -> remote DTN (the firewall admits everything outbound)
  iperf3         remote DTN -> dtn1 port 5201 through the firewall works (cubic)
  counters       the firewall's forwarded counters rose by at least the transfer's packets
  blocked        tcp 5202 to dtn1 (a listening iperf3 the policy does not admit): refused; in_dropped rose
  admitted-ssh   tcp 22 to lan1 is admitted (policy: ssh to LAN hosts)
  routed-bypass  with a lease-like flow pair WAN <-> dtn1, iperf3 works and the firewall sees none of it
  circuit        with circuit flows (VLAN 3001 pushed/popped, eth_dst = far end) and the remote DTN routing over
                 the circuit: ping works, least RTT within 1 ms of 20 ms, the circuit delay line carried it
  rtt-50/88      the WAN delay line reconfigured: least RTT within 1 ms of 50 and 88 ms
  teardown       no namespace, interface, bridge or process of the lab is left (before/after lists)

Prints a report (or one JSON object with --json) and exits 0 when every check passed.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import warnings

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
warnings.filterwarnings('ignore', category=DeprecationWarning)

from mininet.log import setLogLevel  # noqa: E402

import flows  # noqa: E402
import privateovs  # noqa: E402
from lab import Lab  # noqa: E402

TOLERANCE_MS = 1.0


# --- what exists on the machine: before/after lists ---------------------------------------------------------------

def net_namespaces():
    """Network namespace inode -> a PID in it, for every process (and /run/netns names)."""
    out = {}
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                out.setdefault(os.readlink('/proc/%s/ns/net' % pid), int(pid))
            except OSError:
                pass
    if os.path.isdir('/run/netns'):
        for name in os.listdir('/run/netns'):
            try:
                out.setdefault('net:[%d]' % os.stat('/run/netns/' + name).st_ino, name)
            except OSError:
                pass
    return out


def root_links():
    return set(os.listdir('/sys/class/net'))


def processes():
    out = {}
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    cmd = f.read().replace(b'\0', b' ').decode(errors='replace').strip()
                if cmd:
                    out[int(pid)] = cmd
            except OSError:
                pass
    return out


def snapshot():
    return {'netns': net_namespaces(), 'links': root_links(), 'procs': processes()}


# --- checks -----------------------------------------------------------------------------------------------------

class Checks:
    def __init__(self):
        self.results = []
        self.t0 = time.monotonic()

    def check(self, name, ok, **details):
        self.results.append(dict(name=name, ok=bool(ok), t=round(time.monotonic() - self.t0, 1), **details))
        print('%s %-14s %s' % ('PASS' if ok else 'FAIL', name, json.dumps(details)), file=sys.stderr, flush=True)
        return ok

    def guard(self, name, fn):
        try:
            fn()
        except Exception as e:  # a crashing check is a failed check; go on with the others
            self.check(name, False, error='%s: %s' % (type(e).__name__, e))

    @property
    def ok(self):
        return all(r['ok'] for r in self.results)


def rtt_check(c, lab, name, src, dst, want, count=20):
    """The path's RTT is the least of the pings: every frame waits the configured delay in the delay line, and on a
    machine shared with other work a ping also waits for CPUs (OVS, a host, the delay node), which says nothing
    about the emulated WAN. The median had that wait in it: under the test suite's parallel load it was 1.05 ms
    over a 50 ms delay (min 0.72 over; 0.63-0.8 over when idle), failing a check of the delay itself. median, avg
    and max are reported too."""
    p = lab.ping(src, dst, count=count, interval=0.1)
    least = p.get('min')
    med = p.get('median')
    ok = p['received'] == p['sent'] and least is not None and abs(least - want) <= TOLERANCE_MS
    c.check(name, ok, configured_ms=want, median=med, min=least, avg=p.get('avg'), max=p.get('max'),
            mdev=p.get('mdev'), sent=p['sent'], received=p['received'])
    return p


def run(quick=False):
    c = Checks()
    before = snapshot()
    lab = Lab(topo='prototype', rtt=10, circuit_rtt=20, loss='1/22000', loss_dir='in', controller=False,
              static_flows=True, keep_workdir=False)
    mine = {'netns': set(), 'links': set(), 'pids': {}, 'paths': []}
    secs = 3 if quick else 5
    try:
        lab.start()
        c.check('start', True, seconds=round(time.monotonic() - c.t0, 1), emulation=lab.info()['emulation'])
        s = lab.spec
        # Everything of the lab, to look for after teardown.
        for n in lab.net.hosts + lab.net.switches:
            mine['pids'][n.pid] = 'mininet:%s' % n.name
            mine['netns'].add(os.readlink('/proc/%d/ns/net' % n.pid)) if n.inNamespace else None
        for d in lab.delay_nodes():
            mine['pids'][d.proc.pid] = d.cmdline
        mine['pids'][lab.ovs.vswitchd.pid] = 'ovs-vswitchd'
        mine['pids'][lab.ovs.db.pid] = 'ovsdb-server'
        if lab.ns:
            mine['netns'].add(lab.ns.inode)
        # Interfaces the lab made where this process runs (its own namespace, or the root one with --no-isolate).
        mine['links'] = set(re.findall(r'^\d+: ([^:@]+)', subprocess.run(['ip', '-o', 'link'], capture_output=True,
                                                                          text=True).stdout, re.M)) - before['links']
        mine['paths'] = [lab.workdir, lab.ovs.dir]

        def check_flows():
            dump = lab.dump_flows()
            n = len([ln for ln in dump.splitlines() if 'cookie=' in ln])
            fail = lab.vsctl('get', 'bridge', s.switch, 'fail_mode').strip()
            dp = lab.vsctl('get', 'bridge', s.switch, 'datapath_type').strip()
            c.check('flows', n == len(flows.base_flows(s)) and fail == 'secure' and dp == 'netdev', flows=n,
                    fail_mode=fail, datapath_type=dp)
        c.guard('flows', check_flows)
        c.guard('ping', lambda: rtt_check(c, lab, 'ping', 'rdtn', 'dtn1', 10.0))

        def outbound():
            p = lab.ping('dtn1', 'rdtn', count=3, interval=0.2)
            c.check('outbound', p['received'] == p['sent'], avg=p.get('avg'))
        c.guard('outbound', outbound)

        def iperf():
            f0 = lab.fw_counters()
            r = lab.iperf3('rdtn', 'dtn1', port=5201, seconds=secs, cc='cubic')
            f1 = lab.fw_counters()
            c.check('iperf3', r['ok'] and r['received_mbps'] > 20, port=5201, cc=r.get('cc'),
                    received_mbps=round(r.get('received_mbps', 0), 1), retransmits=r.get('retransmits'),
                    error=r.get('error'))
            din = f1['forwarded']['in']['packets'] - f0['forwarded']['in']['packets']
            dout = f1['forwarded']['out']['packets'] - f0['forwarded']['out']['packets']
            dbytes = f1['forwarded']['in']['bytes'] - f0['forwarded']['in']['bytes']
            moved = r.get('raw', {}).get('sum_received', {}).get('bytes', 0)
            lost = f1['dropped']['lost_in']['packets'] - f0['dropped']['lost_in']['packets']
            c.check('counters', din > 1000 and dout > 100 and dbytes >= moved, in_packets=din, out_packets=dout,
                    in_bytes=dbytes, iperf_bytes=moved, lost_in=lost)
        c.guard('iperf3', iperf)

        def blocked():
            f0 = lab.fw_counters()['dropped']['in_dropped']['packets']
            srv = lab.spawn('dtn1', ['iperf3', '-s', '-p', '5202'])
            lab._wait_listening('dtn1', 5202)
            r = lab.iperf3('rdtn', 'dtn1', port=5202, seconds=1, server=False, connect_timeout=2)
            f1 = lab.fw_counters()['dropped']['in_dropped']['packets']
            lab.procs.remove(srv)
            srv.terminate()
            srv.wait()
            c.check('blocked', not r['ok'] and f1 > f0, port=5202, error=r.get('error'), in_dropped=f1 - f0)
        c.guard('blocked', blocked)

        def ssh_admitted():
            r = lab.iperf3('rdtn', 'lan1', port=22, seconds=1, cc='cubic')
            c.check('admitted-ssh', r['ok'], port=22, host='lan1', error=r.get('error'))
        c.guard('admitted-ssh', ssh_admitted)

        def routed_bypass():
            lab.add_flows(flows.routed_bypass(s, 'dtn1', s.remotes[0].ipv4, local_port=5201))
            f0 = lab.fw_counters()['forwarded']['packets']
            r = lab.iperf3('rdtn', 'dtn1', port=5201, seconds=secs, cc='cubic')
            f1 = lab.fw_counters()['forwarded']['packets']
            lab.del_flows('cookie=%#x/-1' % flows.LEASE_COOKIE)
            c.check('routed-bypass', r['ok'] and f1 - f0 < 20, received_mbps=round(r.get('received_mbps', 0), 1),
                    retransmits=r.get('retransmits'), fw_packets=f1 - f0, error=r.get('error'))
        c.guard('routed-bypass', routed_bypass)

        def circuit():
            ct = s.circuits[0]
            lab.add_flows(flows.circuit_bypass(s, 'dtn1', s.remotes[0].ipv4, proto='icmp'))
            lab.circuit_route(remote='rdtn', local='dtn1')
            st0 = lab.delay_stats(ct.delay_node)
            f0 = lab.fw_counters()['forwarded']['packets']
            rtt_check(c, lab, 'circuit', 'rdtn', 'dtn1', ct.rtt_ms)
            st1 = lab.delay_stats(ct.delay_node)
            f1 = lab.fw_counters()['forwarded']['packets']
            lab.circuit_route(remote='rdtn', local='dtn1', enable=False)
            lab.del_flows('cookie=%#x/-1' % flows.LEASE_COOKIE)
            ab = st1['ab']['tx'] - st0['ab']['tx']  # trunk -> far end: VLAN popped
            ba = st1['ba']['tx'] - st0['ba']['tx']  # far end -> trunk: VLAN pushed
            c.check('circuit-path', ab >= 10 and ba >= 10 and f1 == f0,
                    popped=ab, pushed=ba, fw_packets=f1 - f0, vlan=ct.vlan, far_end=ct.far_end_mac)
        c.guard('circuit', circuit)

        for rtt in (50, 88):
            def at(rtt=rtt):
                lab.set_rtt(rtt)
                rtt_check(c, lab, 'rtt-%d' % rtt, 'rdtn', 'dtn1', float(rtt), count=10 if quick else 20)
            c.guard('rtt-%d' % rtt, at)
    except Exception as e:
        c.check('lab', False, error='%s: %s' % (type(e).__name__, e))
    finally:
        t = time.monotonic()
        lab.stop()
        stop_s = round(time.monotonic() - t, 1)

    # --- teardown: nothing of ours is left ---
    time.sleep(0.2)
    after = snapshot()
    left_ns = sorted(mine['netns'] & set(after['netns']))
    left_links = sorted(mine['links'] & after['links'])
    left_procs = {pid: cmd for pid, cmd in after['procs'].items()
                  if (pid in mine['pids'] and pid not in before['procs'])
                  or re.search(r'mininet:|/build/delayline|dmzgate-lab-', cmd)
                  or any(p and p in cmd for p in mine['paths'])}
    left_paths = [p for p in mine['paths'] if p and os.path.exists(p)]
    try:
        with open(privateovs.lock_path()) as f:
            lock = f.read()
    except FileNotFoundError:
        lock = ''
    lock_held = lock.startswith('%d ' % os.getpid())
    foreign = {'netns': len(set(after['netns']) - set(before['netns']) - mine['netns']),
               'links': sorted(after['links'] - before['links'] - mine['links'])}
    c.check('teardown', not (left_ns or left_links or left_procs or left_paths or lock_held), seconds=stop_s,
            lab_netns=len(mine['netns']), lab_links=len(mine['links']), lab_pids=len(mine['pids']),
            left_netns=left_ns, left_links=left_links, left_procs=left_procs, left_paths=left_paths,
            lock_held=lock_held, other_changes_on_machine=foreign)
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--json', action='store_true', help='print one JSON object on stdout')
    ap.add_argument('--quick', action='store_true', help='shorter transfers')
    a = ap.parse_args()
    if os.geteuid() != 0:
        print('selftest: must run as root', file=sys.stderr)
        return 2
    setLogLevel('warning')
    c = run(quick=a.quick)
    total = round(time.monotonic() - c.t0, 1)
    if a.json:
        print(json.dumps({'ok': c.ok, 'seconds': total, 'checks': c.results}))
    else:
        print('selftest: %s in %.1f s (%d checks)' % ('PASSED' if c.ok else 'FAILED', total, len(c.results)))
    return 0 if c.ok else 1


if __name__ == '__main__':
    sys.exit(main())
