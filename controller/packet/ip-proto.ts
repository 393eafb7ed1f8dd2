/** IP protocol / IPv6 Next Header numbers we act on (IANA "Assigned Internet Protocol Numbers"). */
export const IPPROTO = {
  HOPOPTS: 0, // IPv6 Hop-by-Hop Options (RFC 8200 §4.3)
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ROUTING: 43, // IPv6 Routing header (RFC 8200 §4.4)
  FRAGMENT: 44, // IPv6 Fragment header (RFC 8200 §4.5)
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  NONE: 59, // IPv6 No Next Header (RFC 8200 §4.7)
  DSTOPTS: 60, // IPv6 Destination Options (RFC 8200 §4.6)
} as const;
