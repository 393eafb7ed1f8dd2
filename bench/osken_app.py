"""os-ken peer of bench/controller-app.ts (packet-in mode): the same answer to every packet-in.

Run by bench/controller.ts as
    taskset -c 1 /usr/bin/python3 -m os_ken.cmd.manager --ofp-listen-host 127.0.0.1 --ofp-tcp-listen-port PORT osken_app.py

The answer is answerFlowMod() of bench/controller-flows.ts written with os-ken's own API, the way an os-ken app
is written: in_port from the packet-in's match, eth_dst and eth_src from the frame with os-ken's ethernet parser,
an OFPFC_ADD in table 0 (cookie 0xbe4c4, priority 100, no buffer) matching in_port, eth_dst, eth_src with
apply-actions [output: 2 if in_port == 1 else 1], sent with datapath.send_msg(). The benchmark checks that the
bytes equal dmzgate's answer (xid aside).
"""
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet
from os_ken.ofproto import ofproto_v1_3

ANSWER_COOKIE = 0xBE4C4
ANSWER_PRIORITY = 100


class BenchPacketInApp(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        ofp = dp.ofproto
        parser = dp.ofproto_parser
        in_port = msg.match['in_port']
        eth, _, _ = ethernet.ethernet.parser(msg.data)
        out = 2 if in_port == 1 else 1
        match = parser.OFPMatch(in_port=in_port, eth_dst=eth.dst, eth_src=eth.src)
        inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [parser.OFPActionOutput(out, 0)])]
        dp.send_msg(parser.OFPFlowMod(
            dp, cookie=ANSWER_COOKIE, cookie_mask=0, table_id=0, command=ofp.OFPFC_ADD, idle_timeout=0,
            hard_timeout=0, priority=ANSWER_PRIORITY, buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY,
            out_group=ofp.OFPG_ANY, flags=0, match=match, instructions=inst))
