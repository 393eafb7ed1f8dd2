// A two-switch site for topology tests: dmz1 and core1, each with the one-switch roles it must have, and fabric
// ports 5 and 6 on both; `links` is the config's links: section (YAML lines), by default one link dmz1:5 <-> core1:5.
export function fabricSiteYaml(links = ['  - { a: "dmz1:5", b: "core1:5", capacity-mbps: 10000 }']): string {
  const sw = (name: string, dpid: string) => `  - name: ${name}
    dpid: "${dpid}"
    ports:
      - { port: 1, role: wan-routed }
      - { port: 2, role: fw-outside }
      - { port: 3, role: fw-inside }
      - { port: 4, role: dtn }
      - { port: 5, role: fabric }
      - { port: 6, role: fabric }
`;
  return `site: fabric
switches:
${sw('dmz1', '0000000000000001')}${sw('core1', '0000000000000002')}dtns:
  - { name: dtn1, switch: dmz1, port: 4, mac: "02:00:00:00:01:04", ipv4: [10.10.1.10] }
${links.length ? `links:\n${links.join('\n')}\n` : ''}`;
}
