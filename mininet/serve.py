"""The lab's machine interface: JSON lines on stdin/stdout, for the TypeScript end-to-end tests.

Once the lab is up it writes one line {"event": "ready", "info": {...}} (Lab.info(): hosts, addresses, ports,
site_file, ...). Then each request line

  {"id": 7, "op": "ping", "args": {"src": "rdtn", "dst": "dtn1", "count": 5}}

gets exactly one response line, {"id": 7, "ok": true, "result": ...} or {"id": 7, "ok": false, "error": "..."}.
Requests run concurrently (e.g. an iperf3 while counters are polled); responses carry the id. Ops (args are the
keyword arguments of the Lab method of the same name, lab.py):

  info                                    the lab's description (as in the ready event)
  cmd          host, command, timeout     {rc, out, err} of a shell command in a host
  ping         src, dst, count, interval, family             {sent, received, loss, min, avg, max, mdev, median, rtts}
  iperf3       src, dst, port, seconds, cc, reverse, parallel, udp, bitrate, family   {ok, sent_mbps, received_mbps,
                                                                                   retransmits, cc, intervals_mbps}
  fw_counters                             {forwarded: {in, out, packets, bytes}, dropped: {...}, counters: {...}}
  set_loss     n ("1/22000", 0), direction ("in" | "out" | "both")
  set_fw_rate  mbit
  set_rtt      rtt, circuit               restarts a delay line
  delay_stats  name ("wdl", "cdl", ...)   the delay line's counters
  circuit_route  remote, local, enable, circuit
  dump_flows   [switch]                   ovs-ofctl -O OpenFlow13 dump-flows text of the DMZ switch (or the named one)
  ofctl        command, args, [switch]    any ovs-ofctl command on the DMZ switch (or the named one)
  add_flows    lines                      ovs-ofctl add-flows --bundle (lines: list of flow texts)
  del_flows    match
  connected                               is every switch of the lab connected to its controller
  recable      switch, port, to_port      moves the cable on a switch's port to another port number
  cluster_state                           with --cluster: the members {name, api, openflow_port, pid, running, data,
                                          view (its GET /api/v1/cluster)}, the leader they all name (or null), etcd,
                                          and switches {switch: {target: {connected, role}}} as OVS reports them
  kill_member    name                     SIGKILL to a member's PID, answered once it is gone
  restart_member name                     starts a killed member again (same data dir and ports), once its API answers
  stop                                    stops the lab; the process exits after answering

End of input stops the lab too.
"""
import json
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

OPS = ('info', 'cmd', 'ping', 'iperf3', 'fw_counters', 'set_loss', 'set_fw_rate', 'set_rtt', 'delay_stats',
       'circuit_route', 'dump_flows', 'ofctl', 'add_flows', 'del_flows', 'connected', 'recable', 'cluster_state',
       'kill_member', 'restart_member')


def serve(lab, inp, out):
    lock = threading.Lock()

    def send(obj):
        line = json.dumps(obj)
        with lock:
            out.write(line + '\n')
            out.flush()

    def handle(req):
        rid = req.get('id')
        op = req.get('op')
        args = req.get('args') or {}
        try:
            if op not in OPS:
                raise ValueError('unknown op %r' % op)
            fn = getattr(lab, op)
            if op == 'ofctl':
                result = fn(args['command'], *args.get('args', []), switch=args.get('switch'))
            else:
                result = fn(**args)
            send({'id': rid, 'ok': True, 'result': result})
        except Exception as e:  # the error goes back to the caller; the lab keeps running
            print(traceback.format_exc(), file=sys.stderr)
            send({'id': rid, 'ok': False, 'error': '%s: %s' % (type(e).__name__, e)})

    send({'event': 'ready', 'info': lab.info()})
    with ThreadPoolExecutor(max_workers=8) as pool:
        for line in inp:
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
            except ValueError as e:
                send({'id': None, 'ok': False, 'error': 'bad JSON: %s' % e})
                continue
            if req.get('op') == 'stop':
                pool.shutdown(wait=True)
                lab.stop()
                send({'id': req.get('id'), 'ok': True, 'result': {'stopped': True}})
                return
            pool.submit(handle, req)
