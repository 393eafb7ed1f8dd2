// Connection set-up under packet-in load. A load generator that floods packet-ins from its first reply on, without
// waiting for its reader, queues every later reply behind megabytes of them: a set-up that waits for such a
// reply waits for the controller to read (and, before, decode) all of that, and runs out of time under enough
// load. The set-up must need no reply that the switch sends after its flood has begun, and the packet-ins read
// meanwhile must cost next to nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { Controller } from '../../../controller/controller.js';
import type { SwitchConnection } from '../../../controller/switch-connection.js';
import { RawSwitch } from '../../helpers/raw-switch.js';

const FLOOD = 32 << 20;

describe('connection set-up under packet-in load', () => {
  let ctl: Controller | undefined;
  const raws: RawSwitch[] = [];

  afterEach(async () => {
    for (const r of raws.splice(0)) r.destroy();
    await ctl?.close();
  });

  it('a switch flooding packet-ins from its features reply on is ready before the controller has read its flood', async () => {
    ctl = new Controller({ port: 0, host: '127.0.0.1' });
    const { port } = await ctl.listen();
    let unreadAtUp = -1;
    const up = new Promise<SwitchConnection>((resolve) => ctl!.once('switchUp', (c) => {
      unreadAtUp = raws[0]!.socket.writableLength; // what the switch queued and the controller has not read
      resolve(c);
    }));
    raws.push(await RawSwitch.connect(port!, { dpid: 0x51n, floodBytes: FLOOD }));
    const conn = await up;
    expect(conn.ports.size).toBe(3);
    // Its whole first flood (less what the kernel's socket buffers took) was still waiting to be read.
    expect(unreadAtUp).toBeGreaterThan(FLOOD / 2);
    // ...and the packet-ins it sends from then on reach the app.
    const got = await new Promise<number | undefined>((resolve) => ctl!.once('packetIn', (p) => resolve(p.inPort)));
    expect(got).toBe(1);
  });
});
