// @ts-check
// The leader's etcd lease, kept alive on a thread of its own (lease-keeper.ts starts it). The main thread's work
// (a leader stack starting, a reconcile, a counter poll, a long GC) cannot delay a keepalive, and the term's
// deadline is in shared memory, so a main thread that was busy reads it current when it looks.
// Plain JavaScript: a worker runs a file as Node finds it, under the test runner (sources) as from dist.
import { parentPort, workerData } from 'node:worker_threads';
import { Etcd3 } from 'etcd3';

/** @typedef {import('./lease-keeper.js').KeeperRequest} KeeperRequest */
/** @typedef {import('./lease-keeper.js').KeeperReport} KeeperReport */

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
/** @param {unknown} d @returns {import('./lease-keeper.js').KeeperData} what lease-keeper.ts passed */
const keeperData = (d) => /** @type {import('./lease-keeper.js').KeeperData} */ (d);
const data = keeperData(workerData);
// [0]: the term (seq) the deadline belongs to; [1]: until when its lease certainly holds (ms epoch).
const shared = new BigInt64Array(data.shared);
const client = new Etcd3({ hosts: data.hosts, dialTimeout: data.dialTimeoutMs, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } });

/** @type {Map<number, import('etcd3').Lease>} */
const leases = new Map();

/** @param {KeeperReport} m */
const report = (m) => port.postMessage(m);

/** @param {number} seq @param {number} until */
function extend(seq, until) {
  if (Atomics.load(shared, 0) !== BigInt(seq) || BigInt(until) <= Atomics.load(shared, 1)) return;
  Atomics.store(shared, 1, BigInt(until));
}

/** @param {number} seq @param {number} ttl */
async function grant(seq, ttl) {
  // One term at a time: the deadline belongs to this one from now on (0 until the grant is answered).
  Atomics.store(shared, 1, 0n);
  Atomics.store(shared, 0, BigInt(seq));
  const lease = client.lease(ttl, { autoKeepAlive: true });
  leases.set(seq, lease);
  /** Keepalives sent and not yet answered (send times, oldest first): a lease holds TTL from a renewal's sending. */
  const fired = /** @type {number[]} */ ([]);
  lease.on('keepaliveFired', () => fired.push(Date.now()));
  // A new stream: what the broken one sent will never be answered, and must not be matched with new answers.
  lease.on('keepaliveEstablished', () => {
    if (fired.length > 0)
      report({ op: 'log', seq, level: 'warn', msg: 'cluster: keepalive stream re-established', fields: { unanswered: fired.length } });
    fired.length = 0;
  });
  lease.on('keepaliveSucceeded', () => {
    const sent = fired.shift();
    if (sent === undefined) return;
    const waited = Date.now() - sent;
    // A third of the TTL is when the next keepalive goes out: slower answers eat into the term's margin.
    if (waited > (ttl * 1000) / 3) report({ op: 'log', seq, level: 'warn', msg: 'cluster: slow keepalive answer', fields: { ms: waited } });
    extend(seq, sent + ttl * 1000);
  });
  // etcd3 types this event's argument as a response; lease.js emits the error (castGrpcError).
  lease.on('keepaliveFailed', (/** @type {unknown} */ e) =>
    report({ op: 'log', seq, level: 'warn', msg: 'cluster: keepalive failed', fields: { err: String(e instanceof Error ? e.message : e) } }),
  );
  lease.on('lost', (e) => report({ op: 'lost', seq, why: `etcd lease lost: ${e.message}` }));
  const sent = Date.now();
  try {
    const id = await lease.grant();
    extend(seq, sent + ttl * 1000);
    report({ op: 'granted', seq, id });
  } catch (e) {
    leases.delete(seq);
    lease.release();
    report({ op: 'failed', seq, err: e instanceof Error ? e.message : String(e) });
  }
}

/** @param {number} seq @param {boolean} revoke */
async function release(seq, revoke) {
  const lease = leases.get(seq);
  leases.delete(seq);
  if (Atomics.load(shared, 0) === BigInt(seq)) Atomics.store(shared, 1, 0n);
  if (lease) {
    lease.release();
    if (revoke) await lease.revoke().catch(() => undefined);
  }
  report({ op: 'released', seq });
}

port.on('message', (/** @type {KeeperRequest} */ m) => {
  if (m.op === 'grant') void grant(m.seq, m.ttl);
  else if (m.op === 'release') void release(m.seq, m.revoke);
  else if (m.op === 'close') {
    void Promise.all([...leases.keys()].map((seq) => release(seq, true))).then(() => {
      client.close();
      port.close();
    });
  }
});
