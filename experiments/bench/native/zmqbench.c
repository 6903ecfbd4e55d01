/*
 * The native libzmq side of the bench: the physical limit zmp is measured
 * against. One program, one role per process, the same jobs as the raw
 * zeromq.js baselines (raw/child.ts, raw/contenders.ts) written the way
 * libzmq's own perf tools (perf/local_thr.cpp, remote_thr.cpp) are: plain
 * blocking zmq_send / zmq_recv on one socket, default high-water marks.
 *
 *   zmqbench ROLE ENDPOINT SIZE [TOPIC] [curve-server SECRET | curve-client SERVERPUB PUB SECRET]
 *
 * Roles that bind (pull, echo, pub) print `ready ENDPOINT` (tcp ports
 * resolved), the others `ready`. Then one command per line on stdin, one
 * JSON line answered on stdout; the process exits when stdin closes.
 *
 *   pull, sub:  reset | collect QUIET_MS EXPECTED   -> {"count":N,"last":EPOCH_MS}
 *               (EXPECTED -1: answer once no message came for QUIET_MS)
 *   push, pub:  run MS | probe                      -> {"t0":EPOCH_MS,"sent":N}
 *   dealer:     calls MS CONCURRENCY                -> {"calls":N,"ms":ELAPSED_MS}
 *               rtt MS                              -> {"count":N,"p50":US,"p99":US}
 *   echo:       (no commands) sends every request back
 *
 * Times are CLOCK_REALTIME, so the producer's start and the consumer's last
 * message compare across processes.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "zmqbench: %s: %s\n", what, zmq_strerror(zmq_errno()));
  exit(1);
}

/* Reads one line from stdin (blocking); returns 0 at end of input. */
static int read_line(char *line, size_t size) {
  if (fgets(line, (int)size, stdin) == NULL) return 0;
  line[strcspn(line, "\r\n")] = 0;
  return 1;
}

static void reply(const char *json) {
  fputs(json, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static void set_curve(void *socket, int argc, char **argv, int at) {
  if (at >= argc) return;
  if (strcmp(argv[at], "curve-server") == 0 && at + 1 < argc) {
    int one = 1;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &one, sizeof one) != 0) die("curve server");
    if (zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, argv[at + 1], 40) != 0) die("curve secret key");
  } else if (strcmp(argv[at], "curve-client") == 0 && at + 3 < argc) {
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVERKEY, argv[at + 1], 40) != 0) die("curve server key");
    if (zmq_setsockopt(socket, ZMQ_CURVE_PUBLICKEY, argv[at + 2], 40) != 0) die("curve public key");
    if (zmq_setsockopt(socket, ZMQ_CURVE_SECRETKEY, argv[at + 3], 40) != 0) die("curve secret key");
  }
}

/* Counts what a PULL or SUB socket receives, answering reset/collect from stdin in between. */
static void sink(void *socket, int frames) {
  long count = 0, stamped = -1;
  double last = 0, lastSeen = mono_ms();
  int collecting = 0;
  long expected = -1;
  double quietMs = 50, deadline = 0;
  char buf[4096];
  size_t have = 0;
  char payload[65536];
  zmq_pollitem_t items[2] = {{socket, 0, ZMQ_POLLIN, 0}, {NULL, 0, ZMQ_POLLIN, 0}};
  for (;;) {
    /* Drain what is there without a poll per message. */
    int got = 0, drained = 0;
    for (int i = 0; i < 4096; i++) {
      if (zmq_recv(socket, payload, sizeof payload, ZMQ_DONTWAIT) < 0) {
        if (zmq_errno() != EAGAIN) die("recv");
        drained = 1;
        break;
      }
      for (int f = 1; f < frames; f++)
        if (zmq_recv(socket, payload, sizeof payload, 0) < 0) die("recv");
      count++;
      got = 1;
    }
    if (got) {
      lastSeen = mono_ms();
      /* The stamp of the last message: taken once the socket has nothing more to give. */
      if (drained) {
        last = now_ms();
        stamped = count;
      }
    }
    if (collecting) {
      int done = expected >= 0 ? (count >= expected && stamped == count) || mono_ms() > deadline
                               : mono_ms() - lastSeen >= quietMs;
      if (done) {
        if (stamped != count) last = now_ms();
        char out[128];
        snprintf(out, sizeof out, "{\"count\":%ld,\"last\":%.3f}", count, count > 0 ? last : 0.0);
        reply(out);
        collecting = 0;
      }
    }
    int timeout = got ? 0 : collecting ? (expected >= 0 ? 2 : (int)quietMs) : -1;
    if (zmq_poll(items, 2, timeout) < 0) die("poll");
    if (items[1].revents != 0) { /* data, or POLLHUP: the parent went away */
      ssize_t n = read(0, buf + have, sizeof buf - have - 1);
      if (n <= 0) return; /* the parent went away */
      have += (size_t)n;
      buf[have] = 0;
      char *nl;
      while ((nl = strchr(buf, '\n')) != NULL) {
        *nl = 0;
        if (strncmp(buf, "reset", 5) == 0) {
          count = 0;
          stamped = -1;
          last = 0;
          reply("{}");
        } else if (strncmp(buf, "collect", 7) == 0) {
          sscanf(buf + 7, "%lf %ld", &quietMs, &expected);
          collecting = 1;
          lastSeen = mono_ms();
          deadline = mono_ms() + 60000;
        }
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, nl + 1, have - used + 1);
        have -= used;
      }
    }
  }
}

static void echo(void *socket) {
  char id[256], body[65536];
  zmq_pollitem_t items[2] = {{socket, 0, ZMQ_POLLIN, 0}, {NULL, 0, ZMQ_POLLIN, 0}};
  for (;;) {
    for (;;) {
      int idn = zmq_recv(socket, id, sizeof id, ZMQ_DONTWAIT);
      if (idn < 0) {
        if (zmq_errno() == EAGAIN) break;
        die("recv");
      }
      int n = zmq_recv(socket, body, sizeof body, 0);
      if (n < 0) die("recv");
      if (zmq_send(socket, id, (size_t)idn, ZMQ_SNDMORE) < 0 || zmq_send(socket, body, (size_t)n, 0) < 0)
        die("send");
    }
    if (zmq_poll(items, 2, -1) < 0) die("poll");
    if (items[1].revents != 0) { /* data, or POLLHUP: the parent went away */
      char scratch[256];
      if (read(0, scratch, sizeof scratch) <= 0) return;
    }
  }
}

/* Sends SIZE-byte messages (after TOPIC, as a first frame, for pub) for MS, checking the clock every 64. */
static void produce(void *socket, const char *topic, size_t size) {
  char line[256];
  char *payload = malloc(size > 0 ? size : 1);
  memset(payload, 0x5a, size);
  size_t topic_len = topic ? strlen(topic) : 0;
  while (read_line(line, sizeof line)) {
    double ms = 0;
    long sent = 0;
    double t0 = now_ms();
    if (strncmp(line, "probe", 5) == 0) ms = -1;
    else sscanf(line + 3, "%lf", &ms);
    double end = mono_ms() + ms;
    do {
      if (topic && zmq_send(socket, topic, topic_len, ZMQ_SNDMORE) < 0) die("send");
      if (zmq_send(socket, payload, size, 0) < 0) die("send");
    } while ((++sent & 63) != 0 || (ms >= 0 && mono_ms() < end));
    char out[128];
    snprintf(out, sizeof out, "{\"t0\":%.3f,\"sent\":%ld}", t0, sent);
    reply(out);
  }
  free(payload);
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double rank(double *sorted, long n, double q) {
  long k = (long)ceil(q * n) - 1;
  if (k < 0) k = 0;
  if (k > n - 1) k = n - 1;
  return sorted[k];
}

static void call(void *socket, size_t size) {
  char line[256], back[65536];
  char *payload = malloc(size > 0 ? size : 1);
  memset(payload, 0x5a, size);
  long cap = 1 << 20;
  double *times = malloc(sizeof(double) * (size_t)cap);
  while (read_line(line, sizeof line)) {
    char out[160];
    double ms = 0;
    if (strncmp(line, "calls", 5) == 0) {
      int concurrency = 1;
      sscanf(line + 5, "%lf %d", &ms, &concurrency);
      double t0 = mono_ms(), end = t0 + ms;
      long calls = 0;
      int outstanding = concurrency;
      for (int i = 0; i < concurrency; i++)
        if (zmq_send(socket, payload, size, 0) < 0) die("send");
      while (outstanding > 0) {
        if (zmq_recv(socket, back, sizeof back, 0) < 0) die("recv");
        calls++;
        if (mono_ms() < end) {
          if (zmq_send(socket, payload, size, 0) < 0) die("send");
        } else outstanding--;
      }
      snprintf(out, sizeof out, "{\"calls\":%ld,\"ms\":%.3f}", calls, mono_ms() - t0);
    } else {
      sscanf(line + 3, "%lf", &ms);
      double end = mono_ms() + ms;
      long n = 0;
      while (mono_ms() < end && n < cap) {
        double t = mono_ms();
        if (zmq_send(socket, payload, size, 0) < 0 || zmq_recv(socket, back, sizeof back, 0) < 0)
          die("call");
        times[n++] = (mono_ms() - t) * 1000;
      }
      qsort(times, (size_t)n, sizeof(double), compare);
      snprintf(out, sizeof out, "{\"count\":%ld,\"p50\":%.3f,\"p99\":%.3f}", n, rank(times, n, 0.5),
               rank(times, n, 0.99));
    }
    reply(out);
  }
  free(times);
  free(payload);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: zmqbench ROLE ENDPOINT SIZE [TOPIC] [curve-server SECRET | curve-client SERVERPUB PUB SECRET]\n");
    return 2;
  }
  const char *role = argv[1], *endpoint = argv[2];
  size_t size = (size_t)atol(argv[3]);
  int topical = strcmp(role, "pub") == 0 || strcmp(role, "sub") == 0;
  const char *topic = topical && argc > 4 ? argv[4] : NULL;
  int curve_at = topical ? 5 : 4;
  void *context = zmq_ctx_new();
  int type = strcmp(role, "pull") == 0     ? ZMQ_PULL
             : strcmp(role, "push") == 0   ? ZMQ_PUSH
             : strcmp(role, "pub") == 0    ? ZMQ_PUB
             : strcmp(role, "sub") == 0    ? ZMQ_SUB
             : strcmp(role, "echo") == 0   ? ZMQ_ROUTER
             : strcmp(role, "dealer") == 0 ? ZMQ_DEALER
                                           : -1;
  if (type < 0) {
    fprintf(stderr, "zmqbench: unknown role %s\n", role);
    return 2;
  }
  void *socket = zmq_socket(context, type);
  int zero = 0;
  zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
  set_curve(socket, argc, argv, curve_at);
  int binds = type == ZMQ_PULL || type == ZMQ_ROUTER || type == ZMQ_PUB;
  if (binds) {
    if (zmq_bind(socket, endpoint) != 0) die("bind");
    char last[256];
    size_t len = sizeof last;
    zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, last, &len);
    printf("ready %s\n", last);
  } else {
    if (zmq_connect(socket, endpoint) != 0) die("connect");
    if (type == ZMQ_SUB) zmq_setsockopt(socket, ZMQ_SUBSCRIBE, topic, strlen(topic));
    printf("ready\n");
  }
  fflush(stdout);
  switch (type) {
    case ZMQ_PULL:
    case ZMQ_SUB:
      sink(socket, type == ZMQ_SUB ? 2 : 1);
      break;
    case ZMQ_ROUTER:
      echo(socket);
      break;
    case ZMQ_PUSH:
    case ZMQ_PUB:
      produce(socket, topic, size);
      break;
    default:
      call(socket, size);
  }
  zmq_close(socket);
  zmq_ctx_term(context);
  return 0;
}
