// Which address a request comes from, for the failure limit, the audit trail and the logs. X-Forwarded-For is
// honoured only from the peers named as trusted proxies (addresses or CIDR prefixes): anyone else could write
// any address there, and so escape the failure limit or put a DTN's address in the audit trail. HTTP requests
// get it from fastify (its trustProxy); the event stream's handshakes, which fastify does not see, get it here
// from the same library, so both read a request alike.
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

export type ProxyTrust = (addr: string, hop: number) => boolean;

/** The trust function for these proxies; throws on an entry that is not an address or a prefix. */
export function trustProxies(proxies: readonly string[]): ProxyTrust {
  return proxyAddr.compile([...proxies]);
}

/** The client's address: the peer's, or with trusted proxies the last X-Forwarded-For hop they did not add. */
export function clientAddress(req: IncomingMessage, trust: ProxyTrust | undefined): string {
  return trust ? proxyAddr(req, trust) : (req.socket.remoteAddress ?? 'unknown');
}
