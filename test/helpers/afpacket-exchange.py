#!/usr/bin/env python3
"""Send one raw Ethernet frame on an interface and print what comes back.

Node has no AF_PACKET sockets, so the kernel packet test uses this helper.

Usage: afpacket-exchange.py IFNAME FRAME_HEX TIMEOUT_SECONDS [DST_MAC]

The socket is bound before the frame is sent, so a fast reply cannot be
missed. Frames we transmitted ourselves (PACKET_OUTGOING) are skipped. Each
received frame is printed as one line of hex. With DST_MAC, only frames
addressed to that MAC are printed and the helper exits after the first one.
Exit status is 0 whether or not anything arrived; the caller judges that.
"""
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main() -> int:
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    ifname, frame_hex, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    want = bytes.fromhex(sys.argv[4].replace(":", "")) if len(sys.argv) == 5 else None
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    try:
        sock.bind((ifname, 0))
        sock.send(bytes.fromhex(frame_hex))
        deadline = time.monotonic() + timeout
        while True:
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
            if want is not None:
                break
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
