"""os-ken's OpenFlow 1.3 parser on the same three cases as bench/codec.ts (the peer it is compared with).

Run by bench/codec.ts under `taskset -c 0 /usr/bin/python3 osken_codec.py DIR SECONDS`, with DIR holding the
bytes the TypeScript side built: packet_in.bin (decode), flow_mod.bin (our encoding of the flow-mod, to compare
os-ken's serialize() output with), flow_stats_reply.bin (decode). Prints one JSON object per case on stdout.
Exits 3 when os-ken cannot be imported (Debian package python3-os-ken; use /usr/bin/python3).
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


def decode_packet_in(buf):
    def body(batch):
        s = 0
        for _ in range(batch):
            version, msg_type, msg_len, xid = ofproto_parser.header(buf)
            m = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)
            s += m.total_len + len(m.data) + m.match['in_port'] + len(m.match['eth_dst'])
        return s
    return body


def decode_flow_stats(buf):
    def body(batch):
        s = 0
        for _ in range(batch):
            version, msg_type, msg_len, xid = ofproto_parser.header(buf)
            m = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, buf)
            for st in m.body:
                s += st.priority + st.instructions[0].actions[0].port
        return s
    return body


def flow_mod():
    """The flow-mod of bench/codec.ts, built with os-ken's classes."""
    match = parser.OFPMatch(eth_type=0x0800, ip_proto=6, ipv4_src='192.0.2.10', ipv4_dst='198.51.100.20',
                            tcp_src=49152, tcp_dst=443)
    inst = [
        parser.OFPInstructionMeter(7),
        parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [
            parser.OFPActionSetField(eth_dst='02:00:00:00:00:99'),
            parser.OFPActionOutput(2, 0),
        ]),
    ]
    return parser.OFPFlowMod(DP, cookie=0x1234, cookie_mask=0, table_id=0, command=ofp.OFPFC_ADD, idle_timeout=60,
                             hard_timeout=300, priority=1000, buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY,
                             out_group=ofp.OFPG_ANY, flags=ofp.OFPFF_SEND_FLOW_REM, match=match, instructions=inst)


def encode_flow_mod(msg):
    def body(batch):
        s = 0
        for _ in range(batch):
            msg.serialize()
            s += len(msg.buf) + msg.buf[-1]
        return s
    return body


def main():
    directory, seconds = sys.argv[1], float(sys.argv[2])
    read = lambda name: open(os.path.join(directory, name), 'rb').read()
    pkt_in, fm_ours, fsr = read('packet_in.bin'), read('flow_mod.bin'), read('flow_stats_reply.bin')

    # Sanity: os-ken understands the bytes the way we built them.
    version, msg_type, msg_len, xid = ofproto_parser.header(pkt_in)
    m = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, pkt_in)
    assert isinstance(m, parser.OFPPacketIn) and m.total_len == 64 and len(m.data) == 64, m
    version, msg_type, msg_len, xid = ofproto_parser.header(fsr)
    m = ofproto_parser.msg(DP, version, msg_type, msg_len, xid, fsr)
    assert isinstance(m, parser.OFPFlowStatsReply) and len(m.body) == 100, m
    fm = flow_mod()
    fm.xid = 0
    fm.serialize()
    same_bytes = bytes(fm.buf) == fm_ours

    out = []
    # `one`: the checksum of a single message, compared with dmzgate's (same fields, same formula).
    body = decode_packet_in(pkt_in)
    rate, cs = measure(body, seconds)
    out.append({"case": "packet-in decode", "msgs_per_s": rate, "checksum": cs, "one": body(1)})
    body = encode_flow_mod(fm)
    rate, cs = measure(body, seconds)
    out.append({"case": "flow-mod encode", "msgs_per_s": rate, "checksum": cs, "one": body(1),
                "same_bytes_as_dmzgate": same_bytes, "osken_hex": bytes(fm.buf).hex()})
    body = decode_flow_stats(fsr)
    rate, cs = measure(body, seconds)
    out.append({"case": "flow-stats-reply decode", "msgs_per_s": rate, "checksum": cs, "one": body(1)})
    for o in out:
        print(json.dumps(o))


if __name__ == '__main__':
    main()
