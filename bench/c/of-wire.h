/* What both C programs of bench:controller's round-trip case share: OpenFlow 1.3 framing over a TCP socket on
 * loopback, hex arguments, and the monotonic clock. Header-only: each program is one `cc` invocation. */
#ifndef OF_WIRE_H
#define OF_WIRE_H

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* OF1.3.5 §7.1: message types used here. */
enum {
  OFPT_HELLO = 0, OFPT_ERROR = 1, OFPT_ECHO_REQUEST = 2, OFPT_ECHO_REPLY = 3, OFPT_FEATURES_REQUEST = 5,
  OFPT_FEATURES_REPLY = 6, OFPT_GET_CONFIG_REQUEST = 7, OFPT_GET_CONFIG_REPLY = 8, OFPT_PACKET_IN = 10,
  OFPT_PACKET_OUT = 13, OFPT_FLOW_MOD = 14, OFPT_MULTIPART_REQUEST = 18, OFPT_MULTIPART_REPLY = 19,
  OFPT_BARRIER_REQUEST = 20, OFPT_BARRIER_REPLY = 21, OFPT_ROLE_REQUEST = 24, OFPT_ROLE_REPLY = 25,
  OFPT_GET_ASYNC_REQUEST = 26, OFPT_GET_ASYNC_REPLY = 27,
};
#define OFP_VERSION 0x04
#define MAX_MSG 65536

static inline void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, errno ? strerror(errno) : "failed");
  exit(1);
}

static inline double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static inline void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static inline void put32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* "0a0b..." -> bytes; exits on anything else. */
static inline size_t parse_hex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = strlen(hex);
  if (n % 2 || n / 2 > cap) { fprintf(stderr, "hex argument: even length up to %zu bytes\n", cap); exit(2); }
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) { fprintf(stderr, "hex argument: not hex at %zu\n", 2 * i); exit(2); }
    out[i] = (uint8_t)v;
  }
  return n / 2;
}

/* The whole buffer, waiting in poll() while the socket's send buffer is full (non-blocking sockets). */
static inline void write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k > 0) { p += k; n -= (size_t)k; continue; }
    if (k < 0 && errno == EAGAIN) { struct pollfd w = { fd, POLLOUT, 0 }; poll(&w, 1, 1000); continue; }
    if (k < 0 && errno == EINTR) continue;
    die("send");
  }
}

/* An 8-byte header-only message (hello, barrier reply, ...). */
static inline void send_header(int fd, uint8_t type, uint32_t xid) {
  uint8_t m[8] = { OFP_VERSION, type };
  put16(m + 2, 8);
  put32(m + 4, xid);
  write_all(fd, m, 8);
}

static inline void no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Inbound stream of one connection: bytes are appended by `fill` and taken one whole message at a time. */
struct stream { uint8_t buf[2 * MAX_MSG]; size_t len, off; };

/* Reads what the socket holds (non-blocking); 0 if nothing, -1 when the peer closed. */
static inline ssize_t fill(int fd, struct stream *s) {
  if (s->off && s->off == s->len) s->off = s->len = 0;
  if (s->len > MAX_MSG) { memmove(s->buf, s->buf + s->off, s->len - s->off); s->len -= s->off; s->off = 0; }
  ssize_t k = recv(fd, s->buf + s->len, sizeof s->buf - s->len, MSG_DONTWAIT);
  if (k > 0) { s->len += (size_t)k; return k; }
  if (k == 0) return -1;
  if (errno == EAGAIN || errno == EINTR) return 0;
  die("recv");
  return -1;
}

/* The next whole message, or NULL; `*len` its length. */
static inline const uint8_t *next_msg(struct stream *s, size_t *len) {
  if (s->len - s->off < 8) return NULL;
  const uint8_t *m = s->buf + s->off;
  size_t n = get16(m + 2);
  if (n < 8) { fprintf(stderr, "broken framing: length %zu\n", n); exit(1); }
  if (s->len - s->off < n) return NULL;
  s->off += n;
  *len = n;
  return m;
}

#endif
