/* bench:controller's round-trip client: N OpenFlow 1.3 switches with one packet-in outstanding at a time (taken in
 * turn), timing each packet-in to the flow-mod or packet-out that answers it with CLOCK_MONOTONIC. It answers what
 * a controller's handshake asks (features, multipart, config, barrier, role, async, echo) and nothing else, and
 * busy-polls its sockets (unless --block), so that its own cost stays far below the controller's.
 *
 *   of-latency-client --port P --packet-in HEX [--expect HEX] [--switches N] [--warm-ms MS] [--b2b N]
 *                     [--paced N] [--gap-us US] [--server-pid PID] [--block]
 *
 * Phases: warm-up back-to-back for MS (untimed), then N back-to-back, then N paced (the next packet-in US after the
 * previous answer). Prints one JSON object per timed phase, one line each: percentiles in microseconds, answers
 * that differ from --expect (xid aside), and CPU seconds of this process, of --server-pid and of CPUs 0 and 1
 * (busy time from /proc/stat) over the phase, so that the caller can tell other load from ours. */
#include <arpa/inet.h>
#include <sys/resource.h>
#include "of-wire.h"

#define MAX_SWITCHES 64

struct sw { int fd; struct stream in; uint64_t dpid; };

static struct sw sws[MAX_SWITCHES];
static int nsw = 1, busy_poll = 1;
static uint8_t pin[MAX_MSG], expect[MAX_MSG];
static size_t pin_len, expect_len;
static long answers, mismatched, errors, seen;

static void reply(int fd, uint8_t type, uint32_t xid, const uint8_t *body, size_t n) {
  uint8_t m[8 + 1100] = { OFP_VERSION, type };
  put16(m + 2, (uint16_t)(8 + n));
  put32(m + 4, xid);
  if (n) memcpy(m + 8, body, n);
  write_all(fd, m, 8 + n);
}

/* Everything a controller asks during and after its handshake; counts answers to packet-ins. */
static void handle(struct sw *s, const uint8_t *m, size_t n) {
  uint32_t xid = (uint32_t)m[4] << 24 | m[5] << 16 | m[6] << 8 | m[7];
  uint8_t body[1100] = { 0 };
  seen++;
  switch (m[1]) {
  case OFPT_FLOW_MOD:
  case OFPT_PACKET_OUT:
    answers++;
    if (expect_len && (n != expect_len || memcmp(m, expect, 4) || memcmp(m + 8, expect + 8, n - 8))) mismatched++;
    break;
  case OFPT_ECHO_REQUEST: reply(s->fd, OFPT_ECHO_REPLY, xid, m + 8, n - 8); break;
  case OFPT_FEATURES_REQUEST: /* OF1.3.5 §7.3.1: datapath_id, n_buffers 0, n_tables 254 */
    for (int i = 0; i < 8; i++) body[i] = (uint8_t)(s->dpid >> (56 - 8 * i));
    body[12] = 254;
    reply(s->fd, OFPT_FEATURES_REPLY, xid, body, 24);
    break;
  case OFPT_GET_CONFIG_REQUEST: put16(body + 2, 0xffff); reply(s->fd, OFPT_GET_CONFIG_REPLY, xid, body, 4); break;
  case OFPT_MULTIPART_REQUEST: /* same type, no more parts; OFPMP_DESC needs its fixed 1056-byte body, others none */
    if (n < 10) break;
    memcpy(body, m + 8, 2);
    reply(s->fd, OFPT_MULTIPART_REPLY, xid, body, get16(m + 8) == 0 ? 8 + 1056 : 8);
    break;
  case OFPT_BARRIER_REQUEST: send_header(s->fd, OFPT_BARRIER_REPLY, xid); break;
  case OFPT_ROLE_REQUEST: reply(s->fd, OFPT_ROLE_REPLY, xid, m + 8, n - 8); break;
  case OFPT_GET_ASYNC_REQUEST: reply(s->fd, OFPT_GET_ASYNC_REPLY, xid, body, 24); break;
  case OFPT_ERROR: errors++; break;
  default: break;
  }
}

/* Reads and handles what switch `s` has; waits up to `ms` in poll() first if asked (ms < 0: no wait). */
static void pump(struct sw *s, int ms) {
  if (ms >= 0) { struct pollfd r = { s->fd, POLLIN, 0 }; poll(&r, 1, ms); }
  for (;;) {
    ssize_t k = fill(s->fd, &s->in);
    if (k < 0) { fprintf(stderr, "switch %llu: the controller closed the connection\n", (unsigned long long)s->dpid); exit(1); }
    const uint8_t *m;
    size_t n;
    while ((m = next_msg(&s->in, &n))) handle(s, m, n);
    if (k == 0) return;
  }
}

/* With xid 0 as switches send asynchronous messages (the given bytes' xid is overwritten). */
static void send_packet_in(struct sw *s) {
  write_all(s->fd, pin, pin_len);
}

/* One round trip on switch `s`, in microseconds. */
static double round_trip(struct sw *s) {
  long want = answers + 1;
  double t0 = now_us();
  send_packet_in(s);
  double give_up = t0 + 30e6;
  while (answers < want) {
    pump(s, busy_poll ? -1 : 1000);
    if (answers < want && now_us() > give_up) { fprintf(stderr, "no answer to a packet-in in 30 s\n"); exit(1); }
  }
  return now_us() - t0;
}

static void connect_switch(struct sw *s, int port, uint64_t dpid) {
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->dpid = dpid;
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (s->fd < 0 || connect(s->fd, (struct sockaddr *)&a, sizeof a)) die("connect");
  no_delay(s->fd);
  send_header(s->fd, OFPT_HELLO, 0);
}

/* Packet-ins every 20 ms until one is answered (the controller drops those that come before its handshake is
 * done), then reads until 100 ms pass without a message, so that no late answer falls into a timed phase. */
static void prime(struct sw *s) {
  double give_up = now_us() + 30e6;
  long before = answers;
  while (answers == before) {
    if (now_us() > give_up) { fprintf(stderr, "switch %llu: no answer to packet-ins in 30 s\n", (unsigned long long)s->dpid); exit(1); }
    send_packet_in(s);
    pump(s, 20);
  }
  for (long had = -1; had != seen;) { had = seen; pump(s, 100); }
}

static double cpu_self(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double cpu_of(int pid) {
  char path[64], line[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = pid > 0 ? fopen(path, "r") : NULL;
  if (!f) return -1;
  size_t n = fread(line, 1, sizeof line - 1, f);
  fclose(f);
  line[n] = 0;
  char *p = strrchr(line, ')');
  unsigned long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (ut + st) / 100.0; /* USER_HZ */
}

/* Busy seconds (user, nice, system, steal) of CPUs 0 and 1, as bench/cores.ts counts them. */
static void cores_busy(double out[2]) {
  char line[512];
  FILE *f = fopen("/proc/stat", "r");
  out[0] = out[1] = 0;
  if (!f) return;
  while (fgets(line, sizeof line, f)) {
    int cpu;
    unsigned long long u, ni, sy, id, io, irq, sirq, steal;
    if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &u, &ni, &sy, &id, &io, &irq, &sirq, &steal) == 9 && cpu >= 0 && cpu < 2)
      out[cpu] = (u + ni + sy + steal) / 100.0;
  }
  fclose(f);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* `n` round trips, each on the next switch in turn; gap_us > 0: the next one that long after the previous answer. */
static void phase(const char *name, long n, long gap_us, int server_pid) {
  double *t = malloc(sizeof(double) * (size_t)n);
  if (!t) die("malloc");
  long mis0 = mismatched;
  double c0[2], c1[2], self0 = cpu_self(), srv0 = cpu_of(server_pid), w0 = now_us();
  cores_busy(c0);
  for (long i = 0; i < n; i++) {
    t[i] = round_trip(&sws[i % nsw]);
    if (gap_us > 0) {
      struct timespec d = { gap_us / 1000000, (gap_us % 1000000) * 1000 };
      nanosleep(&d, NULL);
    }
  }
  double wall = (now_us() - w0) / 1e6, self = cpu_self() - self0, srv = cpu_of(server_pid) - srv0;
  cores_busy(c1);
  qsort(t, (size_t)n, sizeof *t, cmp_double);
#define Q(x) t[(long)((x) * n) < n ? (long)((x) * n) : n - 1]
  printf("{\"phase\":\"%s\",\"n\":%ld,\"min\":%.2f,\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"max\":%.2f,\"mismatched\":%ld,"
         "\"errors\":%ld,\"wall_s\":%.4f,\"self_cpu_s\":%.4f,\"server_cpu_s\":%.4f,\"core_busy_s\":[%.2f,%.2f]}\n",
         name, n, t[0], Q(0.5), Q(0.9), Q(0.99), t[n - 1], mismatched - mis0, errors, wall, self,
         server_pid > 0 ? srv : -1, c1[0] - c0[0], c1[1] - c0[1]);
  fflush(stdout);
  free(t);
}

int main(int argc, char **argv) {
  int port = 0, server_pid = 0;
  long warm_ms = 0, b2b = 0, paced = 0, gap_us = 1000;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(a, "--block")) { busy_poll = 0; continue; }
    if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--packet-in")) pin_len = parse_hex(v, pin, sizeof pin);
    else if (!strcmp(a, "--expect")) expect_len = parse_hex(v, expect, sizeof expect);
    else if (!strcmp(a, "--switches")) nsw = atoi(v);
    else if (!strcmp(a, "--warm-ms")) warm_ms = atol(v);
    else if (!strcmp(a, "--b2b")) b2b = atol(v);
    else if (!strcmp(a, "--paced")) paced = atol(v);
    else if (!strcmp(a, "--gap-us")) gap_us = atol(v);
    else if (!strcmp(a, "--server-pid")) server_pid = atoi(v);
    else { fprintf(stderr, "of-latency-client: unknown argument %s\n", a); return 2; }
    i++;
  }
  if (port <= 0 || pin_len < 8 || pin[1] != OFPT_PACKET_IN || nsw < 1 || nsw > MAX_SWITCHES || b2b < 0 || paced < 0 || gap_us < 1) {
    fprintf(stderr, "usage: of-latency-client --port P --packet-in HEX [--expect HEX] [--switches 1..%d] [--warm-ms MS]"
            " [--b2b N] [--paced N] [--gap-us US] [--server-pid PID] [--block]\n", MAX_SWITCHES);
    return 2;
  }
  put32(pin + 4, 0);
  for (int i = 0; i < nsw; i++) connect_switch(&sws[i], port, 0x1000 + (uint64_t)i);
  for (int i = 0; i < nsw; i++) prime(&sws[i]);
  mismatched = 0;
  for (double until = now_us() + warm_ms * 1e3; now_us() < until;)
    for (int i = 0; i < nsw; i++) round_trip(&sws[i]);
  if (b2b) phase("b2b", b2b, 0, server_pid);
  if (paced) phase("paced", paced, gap_us, server_pid);
  for (int i = 0; i < nsw; i++) close(sws[i].fd);
  return 0;
}
