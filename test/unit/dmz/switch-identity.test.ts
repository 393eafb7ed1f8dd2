// Certificate bindings in the site config (switches[].certificate) and the decision they make for a connection
// claiming a datapath id: bound ids only with their certificate, bound certificates only for their id.
import { describe, expect, it } from 'vitest';
import { parseSiteConfig, SiteConfigError } from '../../../apps/dmz/config.js';
import { refuseClaim } from '../../../apps/dmz/switch-identity.js';
import type { SwitchCertificate } from '../../../controller/switch-connection.js';

const SHA1_A = '65:96:F3:B1:2C:2A:21:FA:D7:D5:C5:71:3E:24:B8:8E:04:63:65:1C';
const SHA256_B = 'B2:3F:B0:55:D4:AA:32:45:D2:CC:C3:96:A7:7D:61:00:78:51:FB:74:A0:5E:93:D6:F5:E1:87:82:20:0E:48:D9';

const ports = '[{ port: 1, role: wan-routed }, { port: 2, role: fw-outside }, { port: 3, role: fw-inside }]';
const site = (a: string, b: string, c = '') =>
  parseSiteConfig(
    `site: t
switches:
  - { name: a, dpid: "1", ports: ${ports}${a} }
  - { name: b, dpid: "2", ports: ${ports}${b} }
  - { name: c, dpid: "3", ports: ${ports}${c} }
`,
    'site.yaml',
  );

const cert = (cn: string, sha1: string, sha256: string, extra: Record<string, string> = {}): SwitchCertificate => ({
  subject: { C: 'US', O: 'Open vSwitch', CN: cn, ...extra },
  fingerprint: sha1,
  fingerprint256: sha256,
});
const certA = cert('sw-a id:1111', SHA1_A, 'AA:'.repeat(31) + 'AA');
const certB = cert('sw-b id:2222', '11:'.repeat(19) + '11', SHA256_B);
const certC = cert('sw-c', '22:'.repeat(19) + '22', 'CC:'.repeat(31) + 'CC');
const claim = (dpid: bigint, certificate?: SwitchCertificate) => ({ dpid, remote: '192.0.2.9:40000', certificate });

describe('switch certificate bindings', () => {
  const s = site(
    `, certificate: { fingerprint: "${SHA1_A.replace(/:/g, '').toLowerCase()}" }`,
    `, certificate: { fingerprint: "${SHA256_B}", subject: "CN=sw-b id:2222, O=Open vSwitch" }`,
  );

  it('parses fingerprints (SHA-1 as ovs-pki prints it, SHA-256 with colons) and subjects', () => {
    expect(s.switches[0]!.certificate).toEqual({ fingerprint: SHA1_A.replace(/:/g, '') });
    expect(s.switches[1]!.certificate).toEqual({ fingerprint: SHA256_B.replace(/:/g, ''), subject: { CN: 'sw-b id:2222', O: 'Open vSwitch' } });
    expect(s.switches[2]!.certificate).toBeUndefined();
    expect(site('', '', ', certificate: { subject: "/CN=x/OU=y" }').switches[2]!.certificate).toEqual({ subject: { CN: 'x', OU: 'y' } });
  });

  it('refuses malformed and shared bindings, with the line', () => {
    expect(() => site(', certificate: { fingerprint: "abc" }', '')).toThrow(SiteConfigError);
    expect(() => site(', certificate: {}', '')).toThrow(/certificate/);
    expect(() => site(', certificate: { subject: "sw1" }', '')).toThrow(/subject/);
    expect(() => site(', certificate: { subject: "CN=x" }', ', certificate: { subject: "CN=x" }')).toThrow(
      /site\.yaml:\d+:\d+ switches\[1\]\.certificate: the same certificate is bound to switches\[0\]/,
    );
  });

  it('a bound datapath id: only its certificate, never plain TCP', () => {
    expect(refuseClaim(s, claim(1n, certA))).toBeUndefined();
    expect(refuseClaim(s, claim(2n, certB))).toBeUndefined();
    expect(refuseClaim(s, claim(1n, certB))).toMatch(/^datapath 0000000000000001 \(a\) is bound to another certificate than CN=sw-b id:2222/);
    expect(refuseClaim(s, claim(1n))).toMatch(/bound to a TLS certificate; it cannot connect over plain TCP/);
    // The subject must match too, attribute by attribute.
    expect(refuseClaim(s, claim(2n, { ...certB, subject: { ...certB.subject, O: 'Other' } }))).toMatch(/another certificate/);
  });

  it('a bound certificate claims no other datapath id; unbound ones claim unbound ids as before', () => {
    expect(refuseClaim(s, claim(3n, certA))).toMatch(
      /^certificate CN=sw-a id:1111 .* is bound to datapath 0000000000000001 \(a\), not 0000000000000003$/,
    );
    expect(refuseClaim(s, claim(0x99n, certB))).toMatch(/bound to datapath 0000000000000002 \(b\)/);
    expect(refuseClaim(s, claim(3n, certC))).toBeUndefined();
    expect(refuseClaim(s, claim(3n))).toBeUndefined();
    expect(refuseClaim(s, claim(0x99n))).toBeUndefined();
  });
});
