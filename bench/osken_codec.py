"""os-ken's OpenFlow 1.3 parser on the same three cases as bench/codec.ts (the peer it is compared with).

Run by bench/codec.ts under `taskset -c 0 /usr/bin/python3 osken_codec.py DIR SECONDS`, with DIR holding the
inputs the TypeScript side built, as sets that each case cycles through (distinct addresses and ports, so that
no cache on either side sees the same message twice in a row):
  packet_ins.bin            the packet-ins, back to back (decode);
  flow_mod_params.json      the parameters of each flow-mod, which os-ken builds with its own classes (encode);
  flow_mods.bin             dmzgate's encoding of those flow-mods, back to back, to compare serialize() with;
  flow_stats_replies.bin    the flow-stats replies, back to back (decode).
Prints one JSON object per case on stdout. `one_pass` is the checksum of one pass over the set (same fields, same
formula as dmzgate's), taken before timing. Exits 3 when os-ken cannot be imported (Debian package
python3-os-ken; use /usr/bin/python3).
"""
import json
import os
import sys
import time

try:
    from os_ken.ofproto import ofproto_parser
    from os_ken.ofproto import ofproto_v1_3 as ofp
    from os_ken.ofproto import ofproto_v1_3_parser as parser
except ImportError as e:  # pragma: no cover - reported by the caller
    print(json.dumps({"error": "os-ken is not importable: %s (install python3-os-ken, run /usr/bin/python3)" % e}))
    sys.exit(3)


class FakeDatapath:
    """All that os-ken's message classes need of a datapath to parse and serialise."""
    ofproto = ofp
    ofproto_parser = parser
    id = 1


DP = FakeDatapath()


def split_messages(data):
    """OpenFlow messages back to back -> list of bytes (each message's length is in its header)."""
    out = []
    pos = 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 2:pos + 4], 'big')
        out.append(data[pos:pos + length])
        pos += length
    return out


def measure(body, seconds):
    """Runs body(batch) until `seconds` have passed (after a short warm-up); returns (messages/s, checksum)."""
    body(200)
    batch = 200
    n = 0
    checksum = 0
    start = time.perf_counter()
    while True:
        checksum = (checksum + body(batch)) & 0xFFFFFFFF
        n += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed, checksum


def cycling(items):
    """A function returning the items round-robin, carrying on across calls."""
    state = {'k': 0}
    size = len(items)

    def take(batch):
        k = state['k']
        state['k'] = k + batch
        return (items[(k + i) % size] for i in range(batch))
    return take


def decode_packet_in(bufs):
    take = cycling(bufs)

    def body(batch):
        s = 0
        for buf in take(batch):
            version, msg_type, msg_len, xid = ofproto_parser.header(buf)
            m = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)
            s += m.total_len + len(m.data) + m.match['in_port'] + len(m.match['eth_dst']) + ord(m.match['ipv4_src'][-1])
        return s & 0xFFFFFFFF
    return body


def decode_flow_stats(bufs):
    take = cycling(bufs)

    def body(batch):
        s = 0
        for buf in take(batch):
            version, msg_type, msg_len, xid = ofproto_parser.header(buf)
            m = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)
            for st in m.body:
                s += st.priority + st.instructions[0].actions[0].port
        return s & 0xFFFFFFFF
    return body


def flow_mod(p, xid):
    """One flow-mod of bench/codec.ts, built with os-ken's classes from its parameters."""
    match = parser.OFPMatch(eth_type=0x0800, ip_proto=6, ipv4_src=p['srcIp'], ipv4_dst=p['dstIp'],
                            tcp_src=p['sport'], tcp_dst=p['dport'])
    inst = [
        parser.OFPInstructionMeter(p['meterId']),
        parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [
            parser.OFPActionSetField(eth_dst=p['hostMac']),
            parser.OFPActionOutput(p['outPort'], 0),
        ]),
    ]
    fm = parser.OFPFlowMod(DP, cookie=p['cookie'], cookie_mask=0, table_id=0, command=ofp.OFPFC_ADD, idle_timeout=60,
                           hard_timeout=300, priority=p['priority'], buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY,
                           out_group=ofp.OFPG_ANY, flags=ofp.OFPFF_SEND_FLOW_REM, match=match, instructions=inst)
    fm.xid = xid
    return fm


def encode_flow_mod(msgs):
    take = cycling(msgs)

    def body(batch):
        s = 0
        for msg in take(batch):
            msg.serialize()
            s += len(msg.buf) + msg.buf[-1]
        return s & 0xFFFFFFFF
    return body


def main():
    directory, seconds = sys.argv[1], float(sys.argv[2])
    read = lambda name: open(os.path.join(directory, name), 'rb').read()
    pkt_ins = split_messages(read('packet_ins.bin'))
    fms_ours = split_messages(read('flow_mods.bin'))
    fsrs = split_messages(read('flow_stats_replies.bin'))
    params = json.loads(read('flow_mod_params.json'))

    # Sanity: os-ken understands the bytes the way we built them.
    for buf in pkt_ins:
        version, msg_type, msg_len, xid = ofproto_parser.header(buf)
        m = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)
        assert isinstance(m, parser.OFPPacketIn) and m.total_len == 64 and len(m.data) == 64, m
    for buf in fsrs:
        version, msg_type, msg_len, xid = ofproto_parser.header(buf)
        m = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)
        assert isinstance(m, parser.OFPFlowStatsReply) and len(m.body) == 100, m
    fms = [flow_mod(p, i) for i, p in enumerate(params)]
    identical = 0
    first_difference = None
    for fm, ours in zip(fms, fms_ours):
        fm.serialize()
        if bytes(fm.buf) == ours:
            identical += 1
        elif first_difference is None:
            first_difference = 'xid %d: os-ken %s, dmzgate %s' % (fm.xid, bytes(fm.buf).hex(), ours.hex())

    out = []
    body = decode_packet_in(pkt_ins)
    one_pass = body(len(pkt_ins))
    rate, cs = measure(body, seconds)
    out.append({"case": "packet-in decode", "msgs_per_s": rate, "checksum": cs, "one_pass": one_pass})
    body = encode_flow_mod(fms)
    one_pass = body(len(fms))
    rate, cs = measure(body, seconds)
    out.append({"case": "flow-mod encode", "msgs_per_s": rate, "checksum": cs, "one_pass": one_pass,
                "identical_encodings": identical, "first_difference": first_difference})
    body = decode_flow_stats(fsrs)
    one_pass = body(len(fsrs))
    rate, cs = measure(body, seconds)
    out.append({"case": "flow-stats-reply decode", "msgs_per_s": rate, "checksum": cs, "one_pass": one_pass})
    for o in out:
        print(json.dumps(o))


if __name__ == '__main__':
    main()
