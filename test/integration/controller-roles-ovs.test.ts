/**
 * OpenFlow roles (OF1.3.5 §6.3.5) against real Open vSwitch: two controllers connected to one bridge claim
 * master and slave with generation ids. OVS judges: it refuses a stale master claim, demotes a deposed master
 * (whose flow-mods it then refuses with OFPBRC_IS_SLAVE), and reports each controller's role in OVSDB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../controller/controller.js';
import { SwitchError } from '../../controller/errors.js';
import { NotMasterError, RoleRefusedError } from '../../controller/role.js';
import type { SwitchConnection } from '../../controller/switch-connection.js';
import { OFPBRC, OFPET, OFPFC, OFPG, OFPP, type MessageOf } from '../../controller/openflow/index.js';
import { PrivateOvs } from '../../lab/private-ovs.js';

const DPID = 0xb1n;
const BRIDGE = 'br-roles';

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function flowMod(priority: number): MessageOf<'flowMod'> {
  return {
    type: 'flowMod',
    xid: 0,
    cookie: 0xab0n,
    cookieMask: 0n,
    tableId: 0,
    command: OFPFC.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority,
    bufferId: 0xffffffff,
    outPort: OFPP.ANY,
    outGroup: OFPG.ANY,
    flags: 0,
    match: [{ field: 'eth_type', value: 0x0806 }],
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 1, maxLen: 0 }] }],
  };
}

const sameRoles = (a: Record<string, string>, b: Record<string, string>): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

describe('OpenFlow roles on Open vSwitch', () => {
  let ovs: PrivateOvs;
  const a = new Controller({ port: 0, host: '127.0.0.1', echoIntervalMs: 1000 });
  const b = new Controller({ port: 0, host: '127.0.0.1', echoIntervalMs: 1000 });
  let portA = 0;
  let portB = 0;
  let connA: SwitchConnection;
  let connB: SwitchConnection;

  /** Each controller target's role as OVS reports it in OVSDB (master, slave or other). */
  async function ovsRoles(): Promise<Record<string, string>> {
    const out = await ovs.vsctl('--format=csv', '--data=bare', '--no-headings', '--columns=target,role', 'list', 'controller');
    const roles: Record<string, string> = {};
    for (const line of out.split('\n').filter(Boolean)) {
      const [target, role] = line.split(',');
      roles[target!] = role!;
    }
    return roles;
  }

  /** OVS writes controller status to OVSDB on a timer (a few seconds), so the roles are awaited there. */
  async function rolesInOvsdb(want: Record<string, string>): Promise<void> {
    let last: Record<string, string> = {};
    await until(`roles in OVSDB ${JSON.stringify(want)}`, async () => sameRoles((last = await ovsRoles()), want), 15_000).catch((e: Error) => {
      throw new Error(`${e.message}; last seen ${JSON.stringify(last)}`);
    });
  }

  async function flows(): Promise<string> {
    return ovs.ofctl('dump-flows', BRIDGE, '--no-stats');
  }

  beforeAll(async () => {
    ovs = new PrivateOvs();
    await ovs.start();
    portA = (await a.listen()).port!;
    portB = (await b.listen()).port!;
    await ovs.addBridge(BRIDGE, DPID, { ports: ['r1', 'r2'] });
    await ovs.setControllers(BRIDGE, [`tcp:127.0.0.1:${portA}`, `tcp:127.0.0.1:${portB}`]);
    await until('both controllers connected', () => a.get(DPID) !== undefined && b.get(DPID) !== undefined, 15_000);
    connA = a.get(DPID)!;
    connB = b.get(DPID)!;
  });

  afterAll(async () => {
    await a.close();
    await b.close();
    await ovs?.stop();
  });

  it('a controller that never claimed a role sends no role request and may write (equal by default)', async () => {
    expect(connA.role).toBeUndefined();
    expect(connA.mayModify).toBe(true);
    await rolesInOvsdb({ [`tcp:127.0.0.1:${portA}`]: 'other', [`tcp:127.0.0.1:${portB}`]: 'other' });
  });

  it('A claims master with generation 5; B claiming master with generation 4 is refused as stale', async () => {
    expect(await a.setRole('master', 5n)).toEqual([{ conn: connA }]);
    expect(connA.role).toBe('master');
    const heard: RoleRefusedError[] = [];
    b.on('roleRefused', (_c, e) => heard.push(e));
    const [outcome] = await b.setRole('master', 4n);
    expect(outcome!.error).toBeInstanceOf(RoleRefusedError);
    expect((outcome!.error as RoleRefusedError).stale).toBe(true);
    expect(heard.map((e) => e.stale)).toEqual([true]);
    // B holds no master role: it refuses locally to change the switch.
    expect(() => connB.send(flowMod(10))).toThrow(NotMasterError);
    await rolesInOvsdb({ [`tcp:127.0.0.1:${portA}`]: 'master', [`tcp:127.0.0.1:${portB}`]: 'other' });
  });

  it('a slave refuses flow-mods, group-mods and packet-outs locally, and keeps echo, port status and stats', async () => {
    expect(await b.setRole('slave', 5n)).toEqual([{ conn: connB }]);
    expect(connB.role).toBe('slave');
    expect(() => connB.send(flowMod(11))).toThrow(/not sending flowMod .* this controller is slave/);
    expect(() => connB.send({ type: 'groupMod', xid: 0, command: 0, groupType: 0, groupId: 1, buckets: [] })).toThrow(NotMasterError);
    expect(() =>
      connB.send({ type: 'packetOut', xid: 0, bufferId: 0xffffffff, inPort: OFPP.CONTROLLER, actions: [], data: Buffer.alloc(60) }),
    ).toThrow(NotMasterError);
    await expect(connB.request(flowMod(12))).rejects.toThrow(NotMasterError);
    // Stats and echo still work for a slave.
    await connB.request({ type: 'echoRequest', xid: 0, data: Buffer.alloc(0) });
    const stats = await connB.multipart({
      type: 'flowStatsRequest',
      xid: 0,
      flags: 0,
      tableId: 0xff,
      outPort: OFPP.ANY,
      outGroup: OFPG.ANY,
      match: [],
      cookie: 0n,
      cookieMask: 0n,
    });
    expect(Array.isArray(stats)).toBe(true);
    // Port status reaches a slave (our async config asks for it in the slave mask, OF1.3.5 §7.3.10).
    const seen: string[] = [];
    b.on('portStatus', (_c, m) => seen.push(m.desc.name));
    await ovs.vsctl('add-port', BRIDGE, 'r3', '--', 'set', 'interface', 'r3', 'type=internal', 'ofport_request=3');
    await until('port status for r3 at the slave', () => seen.includes('r3'));
    expect(await flows()).not.toMatch(/priority=1[012]\b/);
  });

  it("B takes master with generation 6: OVS demotes A, and the deposed master's flow-mod is refused (OFPBRC_IS_SLAVE)", async () => {
    expect(await b.setRole('master', 6n)).toEqual([{ conn: connB }]);
    await rolesInOvsdb({ [`tcp:127.0.0.1:${portA}`]: 'slave', [`tcp:127.0.0.1:${portB}`]: 'master' });
    // A has not heard (OF1.3 has no role status message) and still believes it is master: the switch refuses it.
    expect(connA.mayModify).toBe(true);
    const errors: SwitchError[] = [];
    a.on('switchError', (_c, e) => errors.push(e));
    connA.send(flowMod(20));
    await connA.barrier();
    expect(errors.map((e) => [e.errType, e.code, e.request?.type])).toEqual([[OFPET.BAD_REQUEST, OFPBRC.IS_SLAVE, 'flowMod']]);
    connB.send(flowMod(21));
    await connB.barrier();
    const dump = await flows();
    expect(dump).toMatch(/priority=21\b/);
    expect(dump).not.toMatch(/priority=20\b/);
  });

  it('a role set before a switch connects is claimed during its handshake', async () => {
    const c = new Controller({ port: 0, host: '127.0.0.1', echoIntervalMs: 1000 });
    try {
      const portC = (await c.listen()).port!;
      await c.setRole('slave', 6n);
      await ovs.setControllers(BRIDGE, [`tcp:127.0.0.1:${portA}`, `tcp:127.0.0.1:${portB}`, `tcp:127.0.0.1:${portC}`]);
      await until('C connected', () => c.get(DPID) !== undefined, 15_000);
      const connC = c.get(DPID)!;
      expect(connC.role).toBe('slave');
      expect(connC.mayModify).toBe(false);
      await until('OVSDB shows C as slave', async () => (await ovsRoles())[`tcp:127.0.0.1:${portC}`] === 'slave', 15_000);
      // Stale for a master claim now that B holds generation 6.
      const [outcome] = await c.setRole('master', 3n);
      expect((outcome!.error as RoleRefusedError).stale).toBe(true);
      expect(connC.mayModify).toBe(false);
    } finally {
      await c.close();
    }
  });

  it('a slave claim without a generation id stays here: no role request (none refused as stale), writes refused locally', async () => {
    const d = new Controller({ port: 0, host: '127.0.0.1', echoIntervalMs: 1000 });
    const refused: RoleRefusedError[] = [];
    d.on('roleRefused', (_c, e) => refused.push(e));
    try {
      const portD = (await d.listen()).port!;
      await d.setRole('slave');
      await ovs.setControllers(BRIDGE, [`tcp:127.0.0.1:${portA}`, `tcp:127.0.0.1:${portB}`, `tcp:127.0.0.1:${portD}`]);
      await until('D connected', () => d.get(DPID)?.state === 'ready', 15_000);
      const connD = d.get(DPID)!;
      expect(connD.mayModify).toBe(false);
      expect(() => connD.send(flowMod(30))).toThrow(NotMasterError);
      expect(connD.role).toBeUndefined(); // the switch was never asked
      expect(refused).toEqual([]); // B's generation 6 is above any a made-up one (0) could be
      // Told the leader's generation, it claims slave on the switch.
      expect(await d.setRole('slave', 6n)).toEqual([{ conn: connD }]);
      await until('OVSDB shows D as slave', async () => (await ovsRoles())[`tcp:127.0.0.1:${portD}`] === 'slave', 15_000);
      await expect(d.setRole('master')).rejects.toThrow(/needs a generation id/);
    } finally {
      await d.close();
    }
  });
});
