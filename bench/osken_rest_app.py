"""os-ken peer of dmzgate's POST /api/v1/transfers for bench/api.ts: a REST app granting transfer bypasses.

Run by bench/api.ts as
    taskset -c 1 /usr/bin/python3 -m os_ken.cmd.manager --ofp-listen-host 127.0.0.1 --ofp-tcp-listen-port PORT osken_rest_app.py
with, in the environment:
    OSKEN_BENCH_HTTP_PORT   the REST API's port (127.0.0.1)
    OSKEN_BENCH_TOKEN       the bearer token every request must carry

The way a Ryu/os-ken REST app is written: os_ken.app.wsgi (ControllerBase, route, WSGIApplication) is not in
Debian's python3-os-ken 2.5.0, so the few lines it amounts to are here: a `routes` Mapper, a webob request per
call and a controller object per request, served by os_ken.lib.hub.WSGIServer (eventlet.wsgi: HTTP/1.1 keep-alive,
a green thread per connection, an access-log line per request, as os-ken apps log by default).

POST /api/v1/transfers takes dmzgate's body (dtn, remote, protocol, local_ports, remote_ports, path, duration),
for one DTN-side port and one remote port (the benchmark's requests), and installs on the site's switch (the
default site of apps/dmz/default-site.ts: WAN port 1, dtn1 on port 5 at 10.10.1.10) the flows dmzgate installs
for a routed lease: both directions of the 5-tuple, priority 40000, cookie 0xd1<<48 | id, hard timeout = duration,
OFPFF_SEND_FLOW_REM. It sends the two flow-mods and a barrier, and answers 201 after the barrier reply (502 if
the switch refused a flow-mod: its error arrives before the barrier reply, OF1.3.5 section 6.2). An exact
duplicate of an active transfer is a 409. DELETE /api/v1/transfers/ID removes both flows (delete-strict +
barrier). GET /api/v1/switches says whether the switch is connected. Nothing is persisted: no state file,
audit trail, events or metrics (dmzgate does all of those on the same request).
"""
import hmac
import ipaddress
import json
import os
import sys

import routes
import webob
import webob.dec

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import MAIN_DISPATCHER, DEAD_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3

DPID = 1
WAN_PORT = 1
DTN_PORT = 5
DTN_IPV4 = '10.10.1.10'
ALLOWED = '198.18.0.0/15'
LEASE_PRIORITY = 40000
LEASE_OWNER = 0xD1
BARRIER_TIMEOUT = 10
IPPROTO = {'tcp': 6, 'udp': 17}


def say(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


class HttpError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code


def json_response(status, body):
    return webob.Response(status=status, content_type='application/json', charset='utf-8',
                          body=json.dumps(body).encode())


def single_port(value, field):
    if not isinstance(value, list) or len(value) != 1 or not isinstance(value[0], str) or not value[0].isdigit():
        raise HttpError(400, 'DMZ_INVALID_FIELD', '%s: one port, as ["PORT"]' % field)
    port = int(value[0])
    if not 0 < port < 65536:
        raise HttpError(400, 'DMZ_INVALID_FIELD', '%s: %d is not a port' % (field, port))
    return port


class TransferController(object):
    """One per request, as os_ken.app.wsgi's ControllerBase subclasses are."""

    def __init__(self, req, app):
        self.req = req
        self.app = app

    def body(self):
        try:
            b = json.loads(self.req.body)
        except ValueError:
            raise HttpError(400, 'DMZ_MALFORMED_JSON', 'the body is not JSON')
        if not isinstance(b, dict):
            raise HttpError(400, 'DMZ_INVALID_FIELD', 'the body is not an object')
        return b

    def create(self, **_):
        b = self.body()
        if b.get('dtn') != 'dtn1' or b.get('path') != 'routed':
            raise HttpError(422, 'DMZ_POLICY', 'only dtn1 over the routed path')
        proto = IPPROTO.get(b.get('protocol'))
        if proto is None:
            raise HttpError(400, 'DMZ_INVALID_FIELD', '/protocol: tcp or udp')
        try:
            remote = ipaddress.ip_address(b.get('remote'))
        except ValueError:
            raise HttpError(400, 'DMZ_INVALID_FIELD', '/remote: an IPv4 address')
        if remote not in self.app.allowed:
            raise HttpError(403, 'DMZ_REMOTE_DENIED', '/remote: outside the token\'s remotes')
        lport = single_port(b.get('local_ports'), '/local_ports')
        rport = single_port(b.get('remote_ports'), '/remote_ports')
        duration = b.get('duration')
        if not isinstance(duration, int) or not 0 < duration <= 65535:
            raise HttpError(400, 'DMZ_INVALID_FIELD', '/duration: 1..65535 seconds')
        t = self.app.grant(str(remote), b['protocol'], proto, lport, rport, duration)
        return json_response(201, t)

    def release(self, id, **_):
        return json_response(200, self.app.release(int(id)))

    def switches(self, **_):
        return json_response(200, {'switches': [{'dpid': '%016x' % DPID, 'connected': self.app.dp is not None}]})


class BenchRestApp(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.port = int(os.environ['OSKEN_BENCH_HTTP_PORT'])
        self.token = os.environ['OSKEN_BENCH_TOKEN'].encode()
        self.allowed = ipaddress.ip_network(ALLOWED)
        self.dp = None
        self.next_id = 1
        self.active = {}    # id -> transfer
        self.by_tuple = {}  # (remote, proto, lport, rport) -> id
        self.waiting = {}   # barrier xid -> [hub.Event, flow-mod xids, error or None]
        self.errors = {}    # flow-mod xid -> the barrier slot waiting for it
        self.mapper = routes.Mapper()
        self.mapper.connect('create', '/api/v1/transfers', action='create', conditions={'method': ['POST']})
        self.mapper.connect('release', '/api/v1/transfers/{id}', action='release', requirements={'id': r'\d+'},
                            conditions={'method': ['DELETE']})
        self.mapper.connect('switches', '/api/v1/switches', action='switches', conditions={'method': ['GET']})

    def start(self):
        thread = super().start()
        server = hub.WSGIServer(('127.0.0.1', self.port), self.wsgi)
        self.threads.append(hub.spawn(server.serve_forever))
        return thread

    @webob.dec.wsgify
    def wsgi(self, req):
        match = self.mapper.match(environ=req.environ)
        if match is None:
            return json_response(404, {'code': 'DMZ_ROUTE_NOT_FOUND'})
        auth = req.headers.get('Authorization', '')
        if not hmac.compare_digest(auth.encode(), b'Bearer ' + self.token):
            return json_response(401, {'code': 'DMZ_TOKEN_INVALID'})
        args = dict(match)
        action = args.pop('action')
        try:
            return getattr(TransferController(req, self), action)(**args)
        except HttpError as e:
            return json_response(e.status, {'code': e.code, 'message': str(e)})

    # ---- the switch ------------------------------------------------------------------------------------------

    @set_ev_cls(ofp_event.EventOFPStateChange, [MAIN_DISPATCHER, DEAD_DISPATCHER])
    def on_state(self, ev):
        if ev.datapath.id != DPID:
            return
        if ev.state == MAIN_DISPATCHER:
            self.dp = ev.datapath
            say({'ready': True})
        elif self.dp is ev.datapath:
            self.dp = None

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def on_barrier(self, ev):
        slot = self.waiting.pop(ev.msg.xid, None)
        if slot:
            slot[0].set()

    @set_ev_cls(ofp_event.EventOFPErrorMsg, MAIN_DISPATCHER)
    def on_error(self, ev):
        slot = self.errors.get(ev.msg.xid)
        if slot is not None and slot[2] is None:
            slot[2] = 'type %d code %d' % (ev.msg.type, ev.msg.code)

    @set_ev_cls(ofp_event.EventOFPFlowRemoved, MAIN_DISPATCHER)
    def on_flow_removed(self, ev):
        pass  # the final counters; a real app would record them

    def send_confirmed(self, msgs):
        """Sends msgs then a barrier; returns the first error the switch sent for one of them, or None."""
        dp = self.dp
        if dp is None:
            raise HttpError(503, 'DMZ_SWITCH_DOWN', 'the switch is not connected')
        parser = dp.ofproto_parser
        slot = [hub.Event(), [], None]
        for m in msgs:
            dp.set_xid(m)
            slot[1].append(m.xid)
            self.errors[m.xid] = slot
            dp.send_msg(m)
        barrier = parser.OFPBarrierRequest(dp)
        dp.set_xid(barrier)
        self.waiting[barrier.xid] = slot
        try:
            dp.send_msg(barrier)
            if not slot[0].wait(timeout=BARRIER_TIMEOUT):
                self.waiting.pop(barrier.xid, None)
                raise HttpError(504, 'DMZ_SWITCH_TIMEOUT', 'no barrier reply')
        finally:
            for x in slot[1]:
                self.errors.pop(x, None)
        return slot[2]

    def flow_mods(self, t, command):
        dp = self.dp
        ofp = dp.ofproto
        parser = dp.ofproto_parser
        l4 = 'tcp' if t['protocol'] == 'tcp' else 'udp'
        inbound = parser.OFPMatch(**{'in_port': WAN_PORT, 'eth_type': 0x0800, 'ipv4_src': t['remote'], 'ipv4_dst': DTN_IPV4,
                                     'ip_proto': t['proto'], l4 + '_src': t['rport'], l4 + '_dst': t['lport']})
        outbound = parser.OFPMatch(**{'in_port': DTN_PORT, 'eth_type': 0x0800, 'ipv4_src': DTN_IPV4, 'ipv4_dst': t['remote'],
                                      'ip_proto': t['proto'], l4 + '_src': t['lport'], l4 + '_dst': t['rport']})
        out = []
        for match, port in ((inbound, DTN_PORT), (outbound, WAN_PORT)):
            inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, [parser.OFPActionOutput(port, 0)])]
            out.append(parser.OFPFlowMod(
                dp, cookie=t['cookie'], cookie_mask=0, table_id=0, command=command, idle_timeout=0,
                hard_timeout=t['duration'], priority=LEASE_PRIORITY, buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY,
                out_group=ofp.OFPG_ANY, flags=ofp.OFPFF_SEND_FLOW_REM, match=match, instructions=inst))
        return out

    def grant(self, remote, protocol, proto, lport, rport, duration):
        key = (remote, proto, lport, rport)
        if key in self.by_tuple:
            raise HttpError(409, 'DMZ_OVERLAP', 'overlaps transfer %d' % self.by_tuple[key])
        if self.dp is None:
            raise HttpError(503, 'DMZ_SWITCH_DOWN', 'the switch is not connected')
        tid = self.next_id
        self.next_id += 1
        t = {'id': tid, 'remote': remote, 'protocol': protocol, 'proto': proto, 'lport': lport, 'rport': rport,
             'duration': duration, 'cookie': (LEASE_OWNER << 48) | tid}
        self.by_tuple[key] = tid  # held while the switch round trip is under way
        try:
            err = self.send_confirmed(self.flow_mods(t, self.dp.ofproto.OFPFC_ADD))
        except Exception:
            del self.by_tuple[key]
            raise
        if err:
            del self.by_tuple[key]
            self.send_confirmed(self.flow_mods(t, self.dp.ofproto.OFPFC_DELETE_STRICT))
            raise HttpError(502, 'DMZ_SWITCH_REFUSED', err)
        self.active[tid] = t
        return {'id': tid, 'state': 'active', 'dtn': 'dtn1', 'remote': remote, 'protocol': protocol,
                'local_ports': [str(lport)], 'remote_ports': [str(rport)], 'path': 'routed', 'duration': duration}

    def release(self, tid):
        t = self.active.get(tid)
        if t is None:
            raise HttpError(404, 'DMZ_TRANSFER_NOT_FOUND', 'no transfer %d' % tid)
        err = self.send_confirmed(self.flow_mods(t, self.dp.ofproto.OFPFC_DELETE_STRICT))
        if err:
            raise HttpError(502, 'DMZ_SWITCH_REFUSED', err)
        del self.active[tid]
        del self.by_tuple[(t['remote'], t['proto'], t['lport'], t['rport'])]
        return {'id': tid, 'state': 'released'}
