#!/usr/bin/python3
"""A stand-in controller for testing the lab's controller plumbing (--controller-cmd, the namespace relay):
listens on 127.0.0.1:PORT, answers each switch's OFPT_HELLO with an OpenFlow 1.3 HELLO and its ECHO_REQUESTs
with ECHO_REPLYs, and ignores everything else. It installs no flows.

  python3 mininet/hellocontroller.py PORT [PIDFILE]
"""
import os
import socket
import struct
import sys
import threading

OFP13 = 4
HELLO, ECHO_REQUEST, ECHO_REPLY = 0, 2, 3


def serve_switch(conn):
    buf = b''
    conn.sendall(struct.pack('!BBHI', OFP13, HELLO, 8, 0))
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while len(buf) >= 8:
                version, mtype, length, xid = struct.unpack('!BBHI', buf[:8])
                if length < 8:
                    return
                if len(buf) < length:
                    break
                body, buf = buf[8:length], buf[length:]
                if mtype == ECHO_REQUEST:
                    conn.sendall(struct.pack('!BBHI', OFP13, ECHO_REPLY, 8 + len(body), xid) + body)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    port = int(sys.argv[1])
    if len(sys.argv) > 2:
        with open(sys.argv[2], 'w') as f:
            f.write('%d\n' % os.getpid())
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(('127.0.0.1', port))
    srv.listen(8)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_switch, args=(conn,), daemon=True).start()


if __name__ == '__main__':
    main()
