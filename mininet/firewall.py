"""The enterprise firewall of the labs: a transparent bridge with a stateful nftables policy, a rate cap, and loss.

The firewall node bridges its two legs (br0 over OUTSIDE and INSIDE, which sit on the DMZ switch's fw-outside and
fw-inside ports). Its policy is the site's:

  inbound (outside -> inside), new connections, admitted:
    ICMP/ICMPv6 echo and errors, IPv6 neighbour discovery   (ping, path MTU discovery, IPv6 itself)
    tcp 443 to every inside host                             (https)
    tcp 22 to the LAN hosts                                  (ssh)
    DTNs: tcp 2811 (GridFTP control), tcp/udp 5201 (iperf3), tcp/udp 50000-51000 (GridFTP/Globus data: the
          site policy's lease ports, so a lease never opens what the firewall refuses)
    perfSONAR: tcp 443 (pScheduler), tcp 861/862 (OWAMP/TWAMP control), udp 8760-9960 (OWAMP/TWAMP tests),
          tcp/udp 5201 (iperf3 throughput tests)
    everything else: dropped, counted ("in_dropped")
  outbound (inside -> outside): everything
  established/related: both ways; conntrack-invalid: dropped, counted

Stateful bridge filtering: this kernel has no nf_conntrack_bridge (CONFIG_NF_CONNTRACK_BRIDGE unset), so `ct
state` in the nftables `bridge` family would never match. Instead, br_netfilter (built in; per namespace,
net.bridge.bridge-nf-call-ip{,6}tables=1) hands bridged IPv4/IPv6 to the inet hooks with conntrack. A `bridge`
family chain runs first and marks each frame with the leg it entered on (the inet forward hook only sees br0),
and drops 802.1Q-tagged frames (br_netfilter does not inspect them, so they would slip past the policy); ARP is
bridged untouched. The `inet` table holds the stateful policy and the named counters tests read.

Loss: an nftables `netdev` ingress chain on a leg, `numgen random mod N == 0` drops 1 frame in N, counted: at
the firewall's ingress, which is a receiver's ingress for the frames it carries (never a sender's own egress,
where TCP would see a local drop). Direction "in" (default) loses frames arriving from outside (the data of an
inbound transfer), "out" frames arriving from inside, "both" both.

Rate cap: htb on the egress of each leg (inbound traffic leaves by the inside leg).
"""
import json

TABLE = 'dmzfw'
LOSS_TABLE = 'dmzloss'

DTN_TCP = '2811, 5201, 50000-51000'
DTN_UDP = '5201, 50000-51000'
PS_TCP = '443, 861, 862, 5201'
PS_UDP = '5201, 8760-9960'

COUNTERS = ('in_forwarded', 'out_forwarded', 'in_dropped', 'invalid', 'tagged_dropped', 'unknown_dropped')


def _set(name, kind, addrs):
    elems = ', '.join(addrs)
    body = 'type %s; ' % kind + ('elements = { %s }; ' % elems if addrs else '')
    return '  set %s { %s}\n' % (name, body)


def ruleset(outside, inside, dtns=(), perfsonar=(), lan=()):
    """nft script for the firewall: `dtns` etc. are lists of (ipv4 list, ipv6 list) per host."""
    def split(hosts):
        v4 = [a for h in hosts for a in h[0]]
        v6 = [a for h in hosts for a in h[1]]
        return v4, v6

    dtn4, dtn6 = split(dtns)
    ps4, ps6 = split(perfsonar)
    lan4, lan6 = split(lan)
    s = []
    s.append('table bridge %s {\n' % TABLE)
    s.append('  counter tagged_dropped { }\n')
    s.append('  chain prerouting {\n')
    s.append('    type filter hook prerouting priority -200; policy accept;\n')
    s.append('    ether type 8021q counter name tagged_dropped drop\n')
    s.append('    iifname "%s" meta mark set 0x1\n' % outside)
    s.append('    iifname "%s" meta mark set 0x2\n' % inside)
    s.append('  }\n}\n')

    s.append('table inet %s {\n' % TABLE)
    for c in COUNTERS:
        if c != 'tagged_dropped':
            s.append('  counter %s { }\n' % c)
    s.append(_set('dtn4', 'ipv4_addr', dtn4) + _set('dtn6', 'ipv6_addr', dtn6))
    s.append(_set('ps4', 'ipv4_addr', ps4) + _set('ps6', 'ipv6_addr', ps6))
    s.append(_set('lan4', 'ipv4_addr', lan4) + _set('lan6', 'ipv6_addr', lan6))
    s.append('''  chain forward {
    type filter hook forward priority filter; policy drop;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert, nd-redirect } accept
    ct state invalid counter name invalid drop
    meta mark 0x2 goto outbound
    meta mark 0x1 goto inbound
    counter name unknown_dropped drop
  }
  chain outbound {
    counter name out_forwarded accept
  }
  chain inbound {
    ct state established,related goto in_accept
    icmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } counter goto in_accept
    icmpv6 type { echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem } counter goto in_accept
    tcp dport 443 counter goto in_accept
    ip daddr @lan4 tcp dport 22 counter goto in_accept
    ip6 daddr @lan6 tcp dport 22 counter goto in_accept
''')
    for fam, dset, tcp, udp in (('ip', 'dtn4', DTN_TCP, DTN_UDP), ('ip6', 'dtn6', DTN_TCP, DTN_UDP),
                                ('ip', 'ps4', PS_TCP, PS_UDP), ('ip6', 'ps6', PS_TCP, PS_UDP)):
        s.append('    %s daddr @%s tcp dport { %s } counter goto in_accept\n' % (fam, dset, tcp))
        s.append('    %s daddr @%s udp dport { %s } counter goto in_accept\n' % (fam, dset, udp))
    s.append('''    counter name in_dropped drop
  }
  chain in_accept {
    counter name in_forwarded accept
  }
}
''')
    return ''.join(s)


def loss_ruleset(outside, inside, n, direction='in'):
    """nft script (re)creating the loss table: drop 1 in n frames at the ingress of the leg(s) named by direction."""
    s = ['table netdev %s {\n' % LOSS_TABLE, '  counter lost_in { }\n', '  counter lost_out { }\n']
    for d, dev in (('in', outside), ('out', inside)):
        s.append('  chain ingress_%s {\n' % d)
        s.append('    type filter hook ingress device "%s" priority -500; policy accept;\n' % dev)
        if n and direction in (d, 'both'):
            s.append('    numgen random mod %d == 0 counter name lost_%s drop\n' % (int(n), d))
        s.append('  }\n')
    s.append('}\n')
    # Delete first so that a change of N or direction replaces the rules (the table may not exist yet).
    return 'table netdev %s { }\ndelete table netdev %s\n' % (LOSS_TABLE, LOSS_TABLE) + ''.join(s)


def htb_commands(dev, rate_mbit):
    """tc commands for a rate cap on dev's egress (as Mininet's TCIntf does with bw=)."""
    if not rate_mbit:
        return ['tc qdisc del dev %s root 2>/dev/null || true' % dev]
    return ['tc qdisc replace dev %s root handle 5: htb default 1' % dev,
            'tc class replace dev %s parent 5: classid 5:1 htb rate %gmbit burst 15k' % (dev, rate_mbit)]


def parse_counters(nft_json):
    """Named counters from `nft -j list counters` output: {name: {'packets': n, 'bytes': n}}."""
    out = {}
    for item in json.loads(nft_json).get('nftables', []):
        c = item.get('counter')
        if c and c.get('table') in (TABLE, LOSS_TABLE):
            out[c['name']] = {'packets': c.get('packets', 0), 'bytes': c.get('bytes', 0)}
    return out


def counters(node):
    """The firewall's counters, read in its namespace. Returns {'forwarded': {'in', 'out', 'packets', 'bytes'},
    'dropped': {...}, 'counters': {name: {packets, bytes}}}."""
    p = node.popen(['nft', '-j', 'list', 'counters'])
    out, err = p.communicate(timeout=10)
    if p.returncode:
        raise RuntimeError('nft list counters: %s' % err.decode(errors='replace'))
    c = parse_counters(out.decode())
    z = {'packets': 0, 'bytes': 0}
    fin, fout = c.get('in_forwarded', z), c.get('out_forwarded', z)
    return {
        'forwarded': {'in': fin, 'out': fout, 'packets': fin['packets'] + fout['packets'],
                      'bytes': fin['bytes'] + fout['bytes']},
        'dropped': {k: c.get(k, z) for k in ('in_dropped', 'invalid', 'tagged_dropped', 'unknown_dropped',
                                              'lost_in', 'lost_out')},
        'counters': c,
    }
