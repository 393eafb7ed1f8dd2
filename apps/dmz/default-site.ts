// The embedded default: the prototype Science DMZ of the lab (mininet/), so the controller runs with no config
// file. One DMZ switch: a routed WAN uplink, a circuit trunk, the enterprise firewall's two legs, a DTN, a
// perfSONAR host and a LAN host.
export const DEFAULT_SITE_YAML = `# dmzgate site: the prototype Science DMZ (the lab's default topology)
site: prototype
switches:
  - name: dmz1
    dpid: "0000000000000001"
    ports:
      - { port: 1, role: wan-routed, name: border-router }
      - { port: 2, role: wan-circuit, name: circuit-trunk }
      - { port: 3, role: fw-outside, name: firewall-outside }
      - { port: 4, role: fw-inside, name: firewall-inside }
      - { port: 5, role: dtn, name: dtn1 }
      - { port: 6, role: perfsonar, name: perfsonar1 }
      - { port: 7, role: lan, name: lan1 }
dtns:
  - name: dtn1
    switch: dmz1
    port: 5
    mac: "02:00:00:00:01:05"
    ipv4: [10.10.1.10]
    ipv6: ["fd00:10:10:1::10"]
perfsonar:
  - name: ps1
    switch: dmz1
    port: 6
    mac: "02:00:00:00:01:06"
    ipv4: [10.10.1.20]
    ipv6: ["fd00:10:10:1::20"]
lan:
  - name: lan1
    switch: dmz1
    port: 7
    mac: "02:00:00:00:01:07"
    ipv4: [10.10.1.30]
    ipv6: ["fd00:10:10:1::30"]
circuits:
  - name: esnet
    switch: dmz1
    trunk-port: 2
    vlan: 3001
    far-end-mac: "02:00:00:00:02:0a"
    capacity-mbps: 500
policy:
  max-lease: 12h
  ports: [50000-51000, 5201]
  protocols: [tcp, udp]
`;
