// Fabric site configs for the core's tests. `supercomputer`: border (WAN, circuit trunk, the firewall's legs), core
// and a DMZ leaf with two DTNs (a cluster) and a LAN host; border-core-leaf at cost 1 each and a direct leaf-border
// link at cost 5 (the way around when the core's link fails). `datasite`: a DMZ switch joined to the border by two
// parallel links. `twoEntries`: two WAN entries (border1, with the firewall, and border2), each linked to the DMZ
// leaf and to each other.
export function supercomputerYaml(policy = ''): string {
  return `site: supercomputer
switches:
  - name: border
    dpid: "0000000000000001"
    ports:
      - { port: 1, role: wan-routed }
      - { port: 2, role: fw-outside }
      - { port: 3, role: fw-inside }
      - { port: 4, role: wan-circuit }
      - { port: 10, role: fabric }
      - { port: 12, role: fabric }
  - name: core
    dpid: "0000000000000002"
    ports:
      - { port: 10, role: fabric }
      - { port: 11, role: fabric }
  - name: leaf
    dpid: "0000000000000003"
    ports:
      - { port: 1, role: dtn }
      - { port: 2, role: dtn }
      - { port: 3, role: lan }
      - { port: 10, role: fabric }
      - { port: 11, role: fabric }
dtns:
  - { name: dtn1, switch: leaf, port: 1, mac: "02:00:00:00:03:01", ipv4: [10.10.1.10] }
  - { name: dtn2, switch: leaf, port: 2, mac: "02:00:00:00:03:02", ipv4: [10.10.1.11] }
lan:
  - { name: lan1, switch: leaf, port: 3, mac: "02:00:00:00:03:03", ipv4: [10.10.1.30] }
clusters:
  - { name: dtns, members: [dtn1, dtn2] }
circuits:
  - { name: esnet, switch: border, trunk-port: 4, vlan: 3001, far-end-mac: "02:00:00:00:02:0a" }
links:
  - { a: "border:10", b: "core:10", capacity-mbps: 10000 }
  - { a: "core:11", b: "leaf:10", capacity-mbps: 10000 }
  - { a: "leaf:11", b: "border:12", capacity-mbps: 1000, cost: 5 }
policy:
  ports: [50000-51000, 5201]
${policy}`;
}

export function datasiteYaml(): string {
  return `site: datasite
switches:
  - name: border
    dpid: "0000000000000001"
    ports:
      - { port: 1, role: wan-routed }
      - { port: 2, role: fw-outside }
      - { port: 3, role: fw-inside }
      - { port: 10, role: fabric }
      - { port: 11, role: fabric }
  - name: dmz
    dpid: "0000000000000002"
    ports:
      - { port: 1, role: dtn }
      - { port: 10, role: fabric }
      - { port: 11, role: fabric }
dtns:
  - { name: dtn1, switch: dmz, port: 1, mac: "02:00:00:00:02:01", ipv4: [10.10.1.10] }
links:
  - { a: "border:10", b: "dmz:10", capacity-mbps: 1000 }
  - { a: "border:11", b: "dmz:11", capacity-mbps: 1000 }
`;
}

export function twoEntriesYaml(): string {
  return `site: two-entries
switches:
  - name: border1
    dpid: "0000000000000001"
    ports:
      - { port: 1, role: wan-routed }
      - { port: 2, role: fw-outside }
      - { port: 3, role: fw-inside }
      - { port: 10, role: fabric }
      - { port: 11, role: fabric }
  - name: border2
    dpid: "0000000000000002"
    ports:
      - { port: 1, role: wan-routed }
      - { port: 10, role: fabric }
      - { port: 11, role: fabric }
  - name: leaf
    dpid: "0000000000000003"
    ports:
      - { port: 1, role: dtn }
      - { port: 10, role: fabric }
      - { port: 11, role: fabric }
dtns:
  - { name: dtn1, switch: leaf, port: 1, mac: "02:00:00:00:03:01", ipv4: [10.10.1.10] }
links:
  - { a: "border1:10", b: "leaf:10", capacity-mbps: 10000 }
  - { a: "border2:10", b: "leaf:11", capacity-mbps: 10000 }
  - { a: "border1:11", b: "border2:11", capacity-mbps: 1000 }
policy:
  ports: [50000-51000]
`;
}
