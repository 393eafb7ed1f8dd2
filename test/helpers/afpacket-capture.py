#!/usr/bin/env python3
"""Print the frames that arrive on an interface (a companion of afpacket-exchange.py).

Node has no AF_PACKET sockets, so tests that follow real frames through a switch
listen with this helper while they send with afpacket-exchange.py.

Usage: afpacket-capture.py IFNAME SECONDS [DST_MAC [COUNT]]

Prints "ready" once the socket is bound (the caller sends only after that, so no
frame can be missed), then one line of hex per received frame. Frames the host
itself transmitted on IFNAME (PACKET_OUTGOING) are skipped. With DST_MAC, only
frames addressed to that MAC are printed; with COUNT, the helper exits after
that many. Otherwise it exits after SECONDS. Exit status is 0 whatever arrived;
the caller judges that.
"""
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main() -> int:
    if len(sys.argv) not in (3, 4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    ifname, seconds = sys.argv[1], float(sys.argv[2])
    want = bytes.fromhex(sys.argv[3].replace(":", "")) if len(sys.argv) >= 4 else None
    count = int(sys.argv[4]) if len(sys.argv) == 5 else None
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.bind((ifname, 0))
        print("ready", flush=True)
        deadline = time.monotonic() + seconds
        seen = 0
        while count is None or seen < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data, addr = sock.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            if want is not None and data[:6] != want:
                continue
            print(data.hex(), flush=True)
            seen += 1
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
