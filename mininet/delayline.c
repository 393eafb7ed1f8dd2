// delayline: a userspace WAN emulator between two interfaces of a Mininet node, for kernels without netem.
//
// Every frame that arrives on one interface is held for the one-way delay and then sent out of the other, as an
// Ethernet wire would after a long fibre run. Per direction: a fixed delay, optional random loss (1 frame in N), and
// an optional rate limit whose queue (the bottleneck buffer) is bounded by a backlog in bytes and tail-drops beyond
// it. Optionally side A is a VLAN trunk: frames A->B must carry the VLAN (the tag is popped), frames B->A get it
// pushed (an access port of a remote switch, so a circuit's far end needs no 802.1Q support in the kernel).
//
// How: one AF_PACKET raw socket per interface, with PACKET_IGNORE_OUTGOING so we never re-read our own
// transmissions (nor anything else the node sends). Each direction keeps a FIFO: a byte ring of variable-length
// records {due time, length, data}; frames are received straight into the ring (no copy) with room for a jumbo
// frame plus a VLAN tag. Release times are monotonic within a direction (constant delay after a monotonic
// serialisation clock), so the FIFO head is always the next frame due. The loop sleeps in ppoll() with a
// nanosecond timeout until the next frame is due or a frame arrives.
//
// The kernel strips a received VLAN tag into the packet's metadata (skb_vlan_untag) before packet sockets see it;
// PACKET_AUXDATA hands it back and we re-insert it, so tagged frames cross the delay line intact.
//
// Build: cc -O2 -o delayline delayline.c
// Run:   delayline -a IF_A -b IF_B -d 44 [--loss-ab 22000] [--rate 500] [--backlog 4000000] [--vlan 3001]
// Stats: SIGUSR1 writes a JSON line of counters to --stats FILE (or stderr); SIGTERM/SIGINT write them and exit.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef TP_STATUS_VLAN_TPID_VALID
#define TP_STATUS_VLAN_TPID_VALID (1 << 6)
#endif

#define MAX_FRAME (9216 + 18) // jumbo MTU 9216 + Ethernet header + one VLAN tag
#define HDR_SIZE 16           // struct rec
#define SLOT (HDR_SIZE + 4 + MAX_FRAME + 8) // the most one record can take: header, tag headroom, frame, alignment
#define WRAP 0xffffffffu      // a record length that means "the ring continues at offset 0"
#define RX_BATCH 64           // frames read per socket per loop turn, so neither direction starves the other

struct rec {
  uint64_t due;  // CLOCK_MONOTONIC ns at which the frame leaves
  uint32_t len;  // frame length, or WRAP
  uint16_t off;  // offset of the frame's first byte after the header (0..4: VLAN headroom)
  uint16_t pad;
};

struct counters {
  uint64_t rx, rx_bytes, tx, tx_bytes;
  uint64_t drop_loss, drop_backlog, drop_ring, drop_trunc, drop_vlan, drop_send;
};

struct dir {
  const char *name;
  int in_fd, out_fd;
  uint64_t delay_ns;
  uint32_t loss_n;        // drop one frame in loss_n at random; 0: no loss
  uint64_t rate_bps;      // 0: unlimited
  uint64_t backlog_bytes; // bytes that may wait for the serialiser before tail drop
  uint64_t free_at;       // ns when the serialiser is free
  int vlan_pop, vlan_push; // VLAN handling on this direction (see --vlan)
  uint8_t *ring;
  size_t cap, head, tail, used; // byte ring: [head, tail) holds records, wrapping at cap
  int blocked;            // the output socket said EAGAIN: wait for POLLOUT
  struct counters c;
};

static volatile sig_atomic_t want_stats, want_exit;
static uint64_t rng_state;
static int vlan_vid = -1;
static const char *stats_path;
static const char *if_a, *if_b;

static void on_signal(int sig) {
  if (sig == SIGUSR1) want_stats = 1;
  else want_exit = 1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng(void) { // xorshift64*: fast, good enough to pick lost frames
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int open_if(const char *ifname) {
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) die("socket(AF_PACKET)");
  unsigned idx = if_nametoindex(ifname);
  if (idx == 0) {
    fprintf(stderr, "delayline: no interface %s\n", ifname);
    exit(1);
  }
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) die("PACKET_IGNORE_OUTGOING");
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) die("PACKET_AUXDATA");
  // Big socket buffers absorb bursts while the loop is busy sending (root may exceed rmem_max/wmem_max).
  int sz = 32 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  sz = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx};
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind");
  // Frames addressed to any MAC must be forwarded: we are a wire, not a host.
  struct packet_mreq mr = {.mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC};
  if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) die("PACKET_MR_PROMISC");
  // Drain anything queued between socket() and bind() (frames of other interfaces).
  char junk[64];
  while (recv(fd, junk, sizeof junk, MSG_TRUNC) >= 0) {
  }
  return fd;
}

static struct rec *rec_at(struct dir *d, size_t pos) { return (struct rec *)(d->ring + pos); }

// The ring: records live in [head, tail) going forward and wrapping at cap; `used` counts the bytes between them
// (including an end stretch skipped by a wrap), so used == 0 is empty and tail == head with used > 0 is full.
// Makes room for one maximal record at tail; returns 0 if the ring is too full (the frame will be dropped).
static int reserve(struct dir *d) {
  if (d->used == 0) {
    d->head = d->tail = 0;
    return 1;
  }
  if (d->tail > d->head) { // not wrapped: free space after tail, and before head
    if (d->cap - d->tail >= SLOT) return 1;
    if (d->head <= SLOT) return 0;
    if (d->cap - d->tail >= HDR_SIZE) rec_at(d, d->tail)->len = WRAP; // else the reader skips the short end itself
    d->used += d->cap - d->tail;
    d->tail = 0;
    return 1;
  }
  return d->head - d->tail > SLOT; // wrapped: the free gap is between tail and head (strictly, so tail != head)
}

// Removes the head record, then skips to offset 0 if the writer wrapped here.
static void pop(struct dir *d, size_t sz) {
  d->head += sz;
  d->used -= sz;
  if (d->used == 0) {
    d->head = d->tail = 0;
    return;
  }
  if (d->cap - d->head < HDR_SIZE || rec_at(d, d->head)->len == WRAP) {
    d->used -= d->cap - d->head;
    d->head = 0;
  }
}

static size_t rec_size(const struct rec *r) { return (HDR_SIZE + r->off + r->len + 7) & ~(size_t)7; }

// Reads up to RX_BATCH frames from d's input into its FIFO. Returns the number read.
static int receive(struct dir *d) {
  int n = 0;
  for (; n < RX_BATCH; n++) {
    uint8_t scratch[64];
    int room = reserve(d);
    uint8_t *buf = room ? d->ring + d->tail + HDR_SIZE + 4 : scratch;
    size_t buflen = room ? MAX_FRAME : sizeof scratch;
    union {
      struct cmsghdr h;
      char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
    } ctl;
    struct iovec iov = {.iov_base = buf, .iov_len = buflen};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof ctl};
    ssize_t len = recvmsg(d->in_fd, &mh, MSG_TRUNC);
    if (len < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
      // The interface went down (or away, at teardown): a cut wire carries nothing; keep waiting.
      if (errno == ENETDOWN || errno == ENXIO || errno == ENODEV) break;
      die("recvmsg");
    }
    uint64_t now = now_ns();
    d->c.rx++;
    d->c.rx_bytes += (uint64_t)len;
    if (!room) {
      d->c.drop_ring++;
      continue;
    }
    if ((size_t)len > buflen || (mh.msg_flags & MSG_TRUNC)) {
      d->c.drop_trunc++;
      continue;
    }
    // Restore a VLAN tag the kernel moved into metadata.
    int tagged = 0;
    uint16_t tci = 0, tpid = ETH_P_8021Q;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
      if (cm->cmsg_level != SOL_PACKET || cm->cmsg_type != PACKET_AUXDATA) continue;
      struct tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(cm), sizeof aux);
      if (aux.tp_status & TP_STATUS_VLAN_VALID) {
        tagged = 1;
        tci = aux.tp_vlan_tci;
        if (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) tpid = aux.tp_vlan_tpid;
      }
    }
    uint16_t off = 4;
    size_t flen = (size_t)len;
    if (flen < 14) {
      d->c.drop_trunc++;
      continue;
    }
    if (!tagged && (buf[12] << 8 | buf[13]) == ETH_P_8021Q) { // still in the frame (no offload): read it there
      tagged = 2;
      tci = (uint16_t)(buf[14] << 8 | buf[15]);
    }
    if (d->vlan_pop) {
      // Trunk -> access: only our VLAN passes, untagged.
      if (!tagged || (tci & 0x0fff) != vlan_vid) {
        d->c.drop_vlan++;
        continue;
      }
      if (tagged == 2) { // remove the in-frame tag: move the MACs 4 bytes on
        memmove(buf + 4, buf, 12);
        off += 4;
        flen -= 4;
      }
    } else if (tagged == 1 || d->vlan_push) {
      // Re-insert the tag (or push ours): move the MACs 4 bytes back into the headroom.
      if (d->vlan_push) {
        if (tagged) { // a tagged frame on the access side is not ours to carry
          d->c.drop_vlan++;
          continue;
        }
        tci = (uint16_t)vlan_vid;
        tpid = ETH_P_8021Q;
      }
      memmove(buf - 4, buf, 12);
      buf[8] = (uint8_t)(tpid >> 8);
      buf[9] = (uint8_t)tpid;
      buf[10] = (uint8_t)(tci >> 8);
      buf[11] = (uint8_t)tci;
      off -= 4;
      flen += 4;
    }
    if (d->loss_n && rng() % d->loss_n == 0) {
      d->c.drop_loss++;
      continue;
    }
    uint64_t leave = now;
    if (d->rate_bps) {
      // A serialiser at rate_bps with a backlog-byte queue in front of it (tail drop).
      uint64_t start = d->free_at > now ? d->free_at : now;
      uint64_t queued = (uint64_t)((double)(start - now) * (double)d->rate_bps / 8e9);
      if (queued + flen > d->backlog_bytes && start > now) {
        d->c.drop_backlog++;
        continue;
      }
      d->free_at = start + (uint64_t)((double)flen * 8e9 / (double)d->rate_bps);
      leave = d->free_at;
    }
    struct rec *r = rec_at(d, d->tail);
    r->due = leave + d->delay_ns;
    r->len = (uint32_t)flen;
    r->off = off;
    size_t sz = rec_size(r);
    d->tail += sz;
    d->used += sz;
    if (d->tail == d->cap) d->tail = 0;
  }
  return n;
}

// Sends every frame whose time has come. Returns the ns until the next one is due (or UINT64_MAX).
static uint64_t transmit(struct dir *d, uint64_t now) {
  while (d->used > 0) {
    struct rec *r = rec_at(d, d->head);
    if (r->due > now) return r->due - now;
    ssize_t s = send(d->out_fd, d->ring + d->head + HDR_SIZE + r->off, r->len, 0);
    if (s < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        d->blocked = 1;
        return UINT64_MAX;
      }
      if (errno == EINTR) continue;
      d->c.drop_send++; // ENOBUFS (a qdisc dropped it), ENETDOWN, ...: the frame is lost, as on a wire
    } else {
      d->c.tx++;
      d->c.tx_bytes += r->len;
    }
    d->blocked = 0;
    pop(d, rec_size(r));
  }
  return UINT64_MAX;
}

static void write_stats(struct dir *d) {
  FILE *f = stderr;
  char tmp[4096];
  if (stats_path) {
    snprintf(tmp, sizeof tmp, "%s.tmp", stats_path);
    f = fopen(tmp, "w");
    if (!f) return;
  }
  fprintf(f, "{\"a\":\"%s\",\"b\":\"%s\"", if_a, if_b);
  for (int i = 0; i < 2; i++) {
    struct counters *c = &d[i].c;
    fprintf(f,
            ",\"%s\":{\"delay_ns\":%llu,\"loss_n\":%u,\"rate_bps\":%llu,\"rx\":%llu,\"rx_bytes\":%llu,\"tx\":%llu,"
            "\"tx_bytes\":%llu,\"drop_loss\":%llu,\"drop_backlog\":%llu,\"drop_ring\":%llu,\"drop_trunc\":%llu,"
            "\"drop_vlan\":%llu,\"drop_send\":%llu,\"queued_bytes\":%zu}",
            i == 0 ? "ab" : "ba", (unsigned long long)d[i].delay_ns, d[i].loss_n, (unsigned long long)d[i].rate_bps,
            (unsigned long long)c->rx, (unsigned long long)c->rx_bytes, (unsigned long long)c->tx,
            (unsigned long long)c->tx_bytes, (unsigned long long)c->drop_loss, (unsigned long long)c->drop_backlog,
            (unsigned long long)c->drop_ring, (unsigned long long)c->drop_trunc, (unsigned long long)c->drop_vlan,
            (unsigned long long)c->drop_send, d[i].used);
  }
  fprintf(f, "}\n");
  if (stats_path) {
    fclose(f);
    rename(tmp, stats_path);
  } else {
    fflush(f);
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: delayline -a IF_A -b IF_B [options]\n"
          "  -d, --delay MS         one-way delay, both directions (float ms; default 0)\n"
          "      --delay-ab MS, --delay-ba MS   per direction\n"
          "  -l, --loss N           drop 1 frame in N at random, both directions (0: none)\n"
          "      --loss-ab N, --loss-ba N\n"
          "  -r, --rate MBIT        rate limit, both directions (float Mbit/s; 0: none)\n"
          "      --rate-ab MBIT, --rate-ba MBIT\n"
          "      --backlog BYTES    bytes queued behind the rate limit before tail drop (default: 25 ms at the rate,\n"
          "                         at least 256 KiB)\n"
          "      --ring-mb MB       FIFO size per direction (default: 2 x (delay x rate + backlog) + 16 MiB; rate 4 Gbit/s\n"
          "                         if unlimited). Frames that find it full are dropped (drop_ring)\n"
          "      --vlan VID         side A is a trunk carrying VID: popped A->B, pushed B->A, other frames dropped\n"
          "      --seed N           random seed for loss (default: time and pid)\n"
          "      --rt PRIO          run SCHED_FIFO at PRIO (1-99): frames leave on time on a busy machine\n"
          "      --stats FILE       where SIGUSR1 and exit write a JSON line of counters (default stderr)\n");
  exit(2);
}

int main(int argc, char **argv) {
  double delay[2] = {0, 0}, rate[2] = {0, 0};
  long loss[2] = {0, 0};
  long long backlog = -1, seed = 0;
  double ring_mb = 0;
  int rt_prio = 0;
  enum { O_DAB = 256, O_DBA, O_LAB, O_LBA, O_RAB, O_RBA, O_BACKLOG, O_RING, O_VLAN, O_SEED, O_STATS, O_RT };
  static const struct option opts[] = {
      {"a", required_argument, 0, 'a'},         {"b", required_argument, 0, 'b'},
      {"delay", required_argument, 0, 'd'},     {"delay-ab", required_argument, 0, O_DAB},
      {"delay-ba", required_argument, 0, O_DBA}, {"loss", required_argument, 0, 'l'},
      {"loss-ab", required_argument, 0, O_LAB},  {"loss-ba", required_argument, 0, O_LBA},
      {"rate", required_argument, 0, 'r'},      {"rate-ab", required_argument, 0, O_RAB},
      {"rate-ba", required_argument, 0, O_RBA},  {"backlog", required_argument, 0, O_BACKLOG},
      {"ring-mb", required_argument, 0, O_RING}, {"vlan", required_argument, 0, O_VLAN},
      {"seed", required_argument, 0, O_SEED},    {"stats", required_argument, 0, O_STATS},
      {"rt", required_argument, 0, O_RT},
      {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "a:b:d:l:r:h", opts, 0)) != -1) {
    switch (o) {
    case 'a': if_a = optarg; break;
    case 'b': if_b = optarg; break;
    case 'd': delay[0] = delay[1] = atof(optarg); break;
    case O_DAB: delay[0] = atof(optarg); break;
    case O_DBA: delay[1] = atof(optarg); break;
    case 'l': loss[0] = loss[1] = atol(optarg); break;
    case O_LAB: loss[0] = atol(optarg); break;
    case O_LBA: loss[1] = atol(optarg); break;
    case 'r': rate[0] = rate[1] = atof(optarg); break;
    case O_RAB: rate[0] = atof(optarg); break;
    case O_RBA: rate[1] = atof(optarg); break;
    case O_BACKLOG: backlog = atoll(optarg); break;
    case O_RING: ring_mb = atof(optarg); break;
    case O_VLAN: vlan_vid = atoi(optarg); break;
    case O_SEED: seed = atoll(optarg); break;
    case O_STATS: stats_path = optarg; break;
    case O_RT: rt_prio = atoi(optarg); break;
    default: usage();
    }
  }
  if (!if_a || !if_b || optind != argc) usage();
  if (vlan_vid > 4094 || (vlan_vid < 1 && vlan_vid != -1)) usage();
  for (int i = 0; i < 2; i++)
    if (delay[i] < 0 || rate[i] < 0 || loss[i] < 0 || loss[i] > 0xffffffffL) usage();
  rng_state = seed ? (uint64_t)seed : (uint64_t)time(0) ^ ((uint64_t)getpid() << 32) ^ now_ns();
  if (!rng_state) rng_state = 1;

  struct dir d[2];
  memset(d, 0, sizeof d);
  int fa = open_if(if_a), fb = open_if(if_b);
  for (int i = 0; i < 2; i++) {
    d[i].name = i == 0 ? "ab" : "ba";
    d[i].in_fd = i == 0 ? fa : fb;
    d[i].out_fd = i == 0 ? fb : fa;
    d[i].delay_ns = (uint64_t)(delay[i] * 1e6);
    d[i].loss_n = (uint32_t)loss[i];
    d[i].rate_bps = (uint64_t)(rate[i] * 1e6);
    d[i].backlog_bytes = backlog >= 0 ? (uint64_t)backlog : (uint64_t)(rate[i] * 1e6 / 8 * 0.025);
    if (backlog < 0 && d[i].backlog_bytes < 256 * 1024) d[i].backlog_bytes = 256 * 1024;
    double bps = rate[i] > 0 ? rate[i] * 1e6 : 4e9;
    double bytes = ring_mb > 0 ? ring_mb * 1048576 : (bps / 8 * delay[i] / 1e3 + (double)d[i].backlog_bytes) * 2 + 16 * 1048576;
    if (bytes < 16 * SLOT) bytes = 16 * SLOT;
    d[i].cap = ((size_t)bytes + 4095) & ~(size_t)4095; // 8-aligned, as records are
    // Anonymous memory: pages are only backed once a frame touches them.
    d[i].ring = mmap(0, d[i].cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (d[i].ring == MAP_FAILED) die("mmap");
  }
  if (vlan_vid > 0) {
    d[0].vlan_pop = 1;  // A (trunk) -> B (access)
    d[1].vlan_push = 1; // B -> A
  }

  if (rt_prio > 0) {
    // A wire keeps time whatever else runs. The kernel's RT throttling still leaves others 5 % of a CPU.
    struct sched_param sp = {.sched_priority = rt_prio};
    if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) perror("delayline: SCHED_FIFO (continuing without)");
  }
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); // wake on time: the default 50 us slack would show in RTTs

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; // no SA_RESTART: ppoll returns EINTR and the loop sees the flag
  sigaction(SIGUSR1, &sa, 0);
  sigaction(SIGTERM, &sa, 0);
  sigaction(SIGINT, &sa, 0);
  sigaction(SIGHUP, &sa, 0);

  printf("delayline ready a=%s b=%s delay_ms=%.3f/%.3f loss=1/%ld,1/%ld rate_mbit=%.1f/%.1f vlan=%d\n", if_a, if_b,
         delay[0], delay[1], loss[0], loss[1], rate[0], rate[1], vlan_vid);
  fflush(stdout);

  // The kernel wakes us a little after the time asked (timer and scheduling latency, ~50-150 us on a VM). We
  // measure that lateness and ask to be woken that much earlier, so frames leave on time on average.
  uint64_t late = 0, want = 0;
  while (!want_exit) {
    if (want_stats) {
      want_stats = 0;
      write_stats(d);
    }
    int busy = 0;
    for (int i = 0; i < 2; i++) busy |= receive(&d[i]) == RX_BATCH;
    uint64_t now = now_ns();
    if (want && now >= want) { // woken by the timer: learn its lateness (EWMA, 1/8)
      uint64_t l = now - want;
      if (l > 1000000) l = 1000000;
      late = late - (late >> 3) + (l >> 3);
    }
    want = 0;
    uint64_t wait = UINT64_MAX;
    for (int i = 0; i < 2; i++) {
      uint64_t w = transmit(&d[i], now + late);
      if (w < wait) wait = w;
    }
    if (busy) continue; // more frames are waiting: read them before sleeping
    struct pollfd pf[2] = {{.fd = fa, .events = POLLIN}, {.fd = fb, .events = POLLIN}};
    if (d[1].blocked) pf[0].events |= POLLOUT; // B->A writes to A
    if (d[0].blocked) pf[1].events |= POLLOUT;
    struct timespec ts, *tsp = 0;
    if (wait != UINT64_MAX) {
      want = now + wait;
      ts.tv_sec = (time_t)(wait / 1000000000ull);
      ts.tv_nsec = (long)(wait % 1000000000ull);
      tsp = &ts;
    }
    int ready = ppoll(pf, 2, tsp, 0);
    if (ready < 0 && errno != EINTR) die("ppoll");
    if (ready != 0) want = 0; // woken by a frame or a signal, not the timer
  }
  write_stats(d);
  return 0;
}
