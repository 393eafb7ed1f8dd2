/* The floor under bench:controller's round trips: a "controller" that does no work at all. It greets each switch
 * (HELLO, FEATURES_REQUEST), answers echo requests, and answers every packet-in with the same bytes (--reply HEX,
 * the controllers' flow-mod, so that the answer has the same size), with a fresh xid. It waits in poll() as a
 * controller's event loop does, or with --spin polls without waiting, so that no wake-up is in the round trip
 * either: what is left is the client's and loopback TCP's own cost. Prints its port on stdout once listening on
 * 127.0.0.1.
 *
 *   of-fixed-reply --reply HEX [--spin] */
#include <arpa/inet.h>
#include "of-wire.h"

#define MAX_CONNS 64

static struct stream in[MAX_CONNS];

int main(int argc, char **argv) {
  static uint8_t answer[MAX_MSG];
  size_t answer_len = 0;
  int spin = argc == 4 && !strcmp(argv[3], "--spin");
  if ((argc == 3 || spin) && !strcmp(argv[1], "--reply")) answer_len = parse_hex(argv[2], answer, sizeof answer);
  if (answer_len < 8) { fprintf(stderr, "usage: of-fixed-reply --reply HEX [--spin] (HEX: a whole OpenFlow message)\n"); return 2; }

  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t alen = sizeof a;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 16) || getsockname(ls, (struct sockaddr *)&a, &alen)) die("listen");
  printf("%d\n", ntohs(a.sin_port));
  fflush(stdout);

  struct pollfd fds[1 + MAX_CONNS] = { { ls, POLLIN, 0 } };
  int n = 1;
  uint32_t xid = 1;
  for (;;) {
    if (poll(fds, (nfds_t)n, spin ? 0 : -1) < 0 && errno != EINTR) die("poll");
    if (fds[0].revents & POLLIN) {
      int c = accept(ls, NULL, NULL);
      if (c >= 0 && n <= MAX_CONNS) {
        no_delay(c);
        fds[n] = (struct pollfd){ c, POLLIN, 0 };
        in[n - 1].len = in[n - 1].off = 0;
        n++;
        send_header(c, OFPT_HELLO, xid++);
        send_header(c, OFPT_FEATURES_REQUEST, xid++);
      } else if (c >= 0) {
        close(c);
      }
    }
    for (int i = 1; i < n; i++) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      struct stream *s = &in[i - 1];
      ssize_t k;
      while ((k = fill(fds[i].fd, s)) > 0) {
        const uint8_t *m;
        size_t len;
        while ((m = next_msg(s, &len))) {
          if (m[1] == OFPT_PACKET_IN) {
            put32(answer + 4, xid++);
            write_all(fds[i].fd, answer, answer_len);
          } else if (m[1] == OFPT_ECHO_REQUEST) {
            static uint8_t echo[MAX_MSG];
            memcpy(echo, m, len);
            echo[1] = OFPT_ECHO_REPLY; /* OF1.3.5 §7.5.3: the request's xid and data, unchanged */
            write_all(fds[i].fd, echo, len);
          }
        }
      }
      if (k < 0) { /* the switch went away: forget it */
        close(fds[i].fd);
        fds[i] = fds[n - 1];
        in[i - 1] = in[n - 2];
        n--;
        i--;
      }
    }
  }
}
