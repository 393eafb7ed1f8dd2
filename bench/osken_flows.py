"""os-ken peer for part (b) of bench/controller.ts: install n 5-tuple flows with flow-mods + one barrier.

Run by bench/controller.ts as
    taskset -c 1 /usr/bin/python3 -m os_ken.cmd.manager --ofp-listen-host 127.0.0.1 --ofp-tcp-listen-port PORT osken_flows.py
with, in the environment:
    OSKEN_BENCH_FLOWS   a file of "src dst sport dport" lines (flowRow() of bench/controller-flows.ts)
    OSKEN_BENCH_PLAN    comma-separated flow counts, one per run (e.g. 1000,1000,1000,10000)
    OSKEN_BENCH_COOKIE  the cookie of every flow (decimal)

Once the switch is in MAIN_DISPATCHER, each run empties table 0..254 (OFPFC_DELETE + barrier, not timed), then
times building and sending the first n flows (the same flows as flowSpec(): priority 1000, eth_type=ip,
ip_proto=tcp, ipv4_src, ipv4_dst, tcp_src, tcp_dst, apply-actions [output:2]) up to the barrier reply, and asks
for the aggregate flow count. One JSON line per run on stdout: {"n", "ms", "cpu_ms", "count"}; then {"done": true}.
"""
import json
import os
import sys
import time

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3

FLOW_PRIORITY = 1000
FLOW_OUT_PORT = 2


def say(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


class BenchFlowInstaller(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with open(os.environ['OSKEN_BENCH_FLOWS']) as f:
            self.rows = [(s, d, int(sp), int(dp)) for s, d, sp, dp in (line.split() for line in f if line.strip())]
        self.plan = [int(n) for n in os.environ['OSKEN_BENCH_PLAN'].split(',')]
        self.cookie = int(os.environ['OSKEN_BENCH_COOKIE'])
        self.waiting = {}  # xid -> [hub.Event, reply]
        self.started = False

    @set_ev_cls(ofp_event.EventOFPStateChange, MAIN_DISPATCHER)
    def on_main(self, ev):
        if not self.started:
            self.started = True
            hub.spawn(self.run, ev.datapath)

    def request(self, dp, msg):
        dp.set_xid(msg)
        slot = [hub.Event(), None]
        self.waiting[msg.xid] = slot
        dp.send_msg(msg)
        if not slot[0].wait(timeout=300):
            raise RuntimeError('no reply to xid %d' % msg.xid)
        return slot[1]

    def answered(self, ev):
        slot = self.waiting.pop(ev.msg.xid, None)
        if slot:
            slot[1] = ev.msg
            slot[0].set()

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def on_barrier(self, ev):
        self.answered(ev)

    @set_ev_cls(ofp_event.EventOFPAggregateStatsReply, MAIN_DISPATCHER)
    def on_aggregate(self, ev):
        self.answered(ev)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def on_error(self, ev):
        say({'error': 'switch refused a message: type %d code %d' % (ev.msg.type, ev.msg.code)})

    def run(self, dp):
        ofp = dp.ofproto
        parser = dp.ofproto_parser
        try:
            for n in self.plan:
                dp.send_msg(parser.OFPFlowMod(dp, command=ofp.OFPFC_DELETE, table_id=ofp.OFPTT_ALL,
                                              out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, match=parser.OFPMatch()))
                self.request(dp, parser.OFPBarrierRequest(dp))
                rows = self.rows[:n]
                start = time.perf_counter()
                cpu0 = time.process_time()
                for src, dst, sport, dport in rows:
                    match = parser.OFPMatch(eth_type=0x0800, ip_proto=6, ipv4_src=src, ipv4_dst=dst, tcp_src=sport, tcp_dst=dport)
                    inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [parser.OFPActionOutput(FLOW_OUT_PORT, 0)])]
                    dp.send_msg(parser.OFPFlowMod(
                        dp, cookie=self.cookie, cookie_mask=0, table_id=0, command=ofp.OFPFC_ADD, idle_timeout=0,
                        hard_timeout=0, priority=FLOW_PRIORITY, buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY,
                        out_group=ofp.OFPG_ANY, flags=0, match=match, instructions=inst))
                self.request(dp, parser.OFPBarrierRequest(dp))
                ms = (time.perf_counter() - start) * 1000
                cpu_ms = (time.process_time() - cpu0) * 1000
                agg = self.request(dp, parser.OFPAggregateStatsRequest(
                    dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0, parser.OFPMatch()))
                say({'n': n, 'ms': ms, 'cpu_ms': cpu_ms, 'count': agg.body.flow_count})
            say({'done': True})
        except Exception as e:  # reported to the bench, which fails the run
            say({'error': 'os-ken installer: %r' % (e,)})
            say({'done': True})
