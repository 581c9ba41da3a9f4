/* Sequential (concurrency 1) latency client for bench/compare: sends the same POST to
 * several targets in turn, one kept-alive connection each, rotating the order every round so
 * no target always goes first, and reports per target the latency distribution with
 * nanosecond timestamps (CLOCK_MONOTONIC). With --stream it also records, per response, the
 * time to the first byte of the body (first SSE event = first token) and the gaps between
 * consecutive SSE events ("\n\n"). Output: one JSON object, figures in microseconds.
 *
 *   client [--stream] --requests N --warmup W --body FILE \
 *          NAME=HOST:PORT/PATH[|BEARER[|EXPECT]] ...
 *
 * EXPECT is a string the body must contain (e.g. a restored e-mail address, "[DONE]"); a
 * response without it, or with a status other than 200, counts as an error and its time is
 * not used. Plain HTTP/1.1 over loopback; Content-Length and chunked bodies. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_TARGETS 8

typedef struct {
    char name[64], host[64], path[256], bearer[256], expect[256];
    int port, fd;
    char *request;
    size_t request_len;
    double *total, *ttfb, *gaps;
    size_t n_total, n_gaps, cap_gaps;
    long errors;
    char first_error[200];
} target_t;

typedef struct { char *data; size_t len, cap; } buf_t;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void buf_add(buf_t *b, const char *p, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data) { perror("realloc"); exit(2); }
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

static int connect_to(target_t *t) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)t->port);
    inet_pton(AF_INET, t->host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
    return fd;
}

static void fail(target_t *t, const char *what) {
    t->errors++;
    if (!t->first_error[0]) snprintf(t->first_error, sizeof t->first_error, "%s", what);
    if (t->fd >= 0) { close(t->fd); t->fd = -1; }
}

static void push_gap(target_t *t, double us) {
    if (t->n_gaps == t->cap_gaps) {
        t->cap_gaps = t->cap_gaps ? t->cap_gaps * 2 : 4096;
        t->gaps = realloc(t->gaps, t->cap_gaps * sizeof(double));
    }
    t->gaps[t->n_gaps++] = us;
}

/* One request/response on the target's connection. Returns 0 and fills the timings, or -1. */
static int exchange(target_t *t, int stream, int record) {
    static char raw[1 << 16];
    static double event_times[4096];
    buf_t head = {0}, body = {0};
    size_t n_events = 0;
    if (t->fd < 0 && (t->fd = connect_to(t)) < 0) { fail(t, "connect failed"); return -1; }
    uint64_t start = now_ns(), first_body = 0;
    size_t off = 0;
    while (off < t->request_len) {
        ssize_t w = write(t->fd, t->request + off, t->request_len - off);
        if (w <= 0) {
            /* A kept-alive connection the server closed: reconnect once. */
            close(t->fd);
            if ((t->fd = connect_to(t)) < 0) { fail(t, "reconnect failed"); return -1; }
            start = now_ns(); off = 0; continue;
        }
        off += (size_t)w;
    }
    /* State: headers, then a Content-Length body or chunked body. */
    int in_head = 1, chunked = 0, status = 0, close_after = 0;
    long content_length = -1, chunk_left = -1;
    size_t scan_from = 0; /* where to look for the next "\n\n" in body */
    buf_t pending = {0};  /* chunked framing bytes not yet decoded */
    for (;;) {
        ssize_t r = read(t->fd, raw, sizeof raw);
        uint64_t at = now_ns();
        if (r <= 0) { free(head.data); free(body.data); free(pending.data); fail(t, r == 0 ? "connection closed mid-response" : "read error/timeout"); return -1; }
        const char *p = raw;
        size_t n = (size_t)r;
        if (in_head) {
            buf_add(&head, p, n);
            char *end = strstr(head.data, "\r\n\r\n");
            if (!end) continue;
            size_t hl = (size_t)(end - head.data) + 4;
            sscanf(head.data, "HTTP/1.%*d %d", &status);
            for (char *line = head.data; line && line < end; line = strstr(line, "\r\n") ? strstr(line, "\r\n") + 2 : NULL) {
                if (!strncasecmp(line, "content-length:", 15)) content_length = atol(line + 15);
                else if (!strncasecmp(line, "transfer-encoding:", 18) && strcasestr(line, "chunked") && strcasestr(line, "chunked") < strstr(line, "\r\n")) chunked = 1;
                else if (!strncasecmp(line, "connection:", 11) && strcasestr(line, "close") && strcasestr(line, "close") < strstr(line, "\r\n")) close_after = 1;
            }
            in_head = 0;
            p = head.data + hl;
            n = head.len - hl;
            if (n == 0) { if (content_length == 0) break; continue; }
        }
        if (n > 0 && !first_body) first_body = at;
        size_t before = body.len;
        if (chunked) {
            buf_add(&pending, p, n);
            size_t i = 0;
            int done = 0;
            for (;;) {
                if (chunk_left <= 0) {
                    if (chunk_left == 0) { /* CRLF after a chunk's data */
                        if (pending.len - i < 2) break;
                        i += 2; chunk_left = -1;
                    }
                    char *crlf = memmem(pending.data + i, pending.len - i, "\r\n", 2);
                    if (!crlf) break;
                    long size = strtol(pending.data + i, NULL, 16);
                    i = (size_t)(crlf - pending.data) + 2;
                    if (size == 0) { done = 1; break; }
                    chunk_left = size;
                }
                size_t take = pending.len - i < (size_t)chunk_left ? pending.len - i : (size_t)chunk_left;
                if (take == 0) break;
                buf_add(&body, pending.data + i, take);
                i += take;
                chunk_left -= (long)take;
            }
            memmove(pending.data, pending.data + i, pending.len - i);
            pending.len -= i;
            if (stream && body.len > before) {
                char *hit;
                while ((hit = memmem(body.data + scan_from, body.len - scan_from, "\n\n", 2))) {
                    if (n_events < 4096) event_times[n_events++] = (double)(at - start) / 1000.0;
                    scan_from = (size_t)(hit - body.data) + 2;
                }
            }
            if (done) break; /* trailers are assumed empty */
        } else {
            buf_add(&body, p, n);
            if (stream) {
                char *hit;
                while ((hit = memmem(body.data + scan_from, body.len - scan_from, "\n\n", 2))) {
                    if (n_events < 4096) event_times[n_events++] = (double)(at - start) / 1000.0;
                    scan_from = (size_t)(hit - body.data) + 2;
                }
            }
            if (content_length >= 0 && (long)body.len >= content_length) break;
        }
    }
    uint64_t end = now_ns();
    int ok = status == 200 && (!t->expect[0] || (body.data && strstr(body.data, t->expect)));
    if (!ok) {
        char what[200];
        snprintf(what, sizeof what, status == 200 ? "expected text missing in the answer" : "HTTP status %d", status);
        free(head.data); free(body.data); free(pending.data);
        fail(t, what);
        return -1;
    }
    if (record) {
        t->total[t->n_total] = (double)(end - start) / 1000.0;
        t->ttfb[t->n_total] = first_body ? (double)(first_body - start) / 1000.0 : (double)(end - start) / 1000.0;
        t->n_total++;
        for (size_t k = 1; k < n_events; k++) push_gap(t, event_times[k] - event_times[k - 1]);
    }
    if (close_after) { close(t->fd); t->fd = -1; }
    free(head.data); free(body.data); free(pending.data);
    return 0;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summary(const char *key, double *v, size_t n, int comma) {
    printf("\"%s\":", key);
    if (!n) { printf("null%s", comma ? "," : ""); return; }
    qsort(v, n, sizeof(double), cmp);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
#define PCT(q) v[(size_t)((q) * (double)(n - 1) + 0.5)]
    printf("{\"count\":%zu,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"mean\":%.1f,\"min\":%.1f,\"max\":%.1f}%s",
           n, PCT(0.50), PCT(0.90), PCT(0.99), sum / (double)n, v[0], v[n - 1], comma ? "," : "");
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(2); }
    s[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return s;
}

int main(int argc, char **argv) {
    int stream = 0;
    long requests = 1000, warmup = 100;
    const char *body_path = NULL;
    target_t targets[MAX_TARGETS];
    int nt = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--stream")) stream = 1;
        else if (!strcmp(argv[i], "--requests") && i + 1 < argc) requests = atol(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc) warmup = atol(argv[++i]);
        else if (!strcmp(argv[i], "--body") && i + 1 < argc) body_path = argv[++i];
        else if (strchr(argv[i], '=') && nt < MAX_TARGETS) {
            target_t *t = &targets[nt++];
            memset(t, 0, sizeof *t);
            t->fd = -1;
            char spec[1024];
            snprintf(spec, sizeof spec, "%s", argv[i]);
            char *eq = strchr(spec, '=');
            *eq = 0;
            snprintf(t->name, sizeof t->name, "%s", spec);
            char *rest = eq + 1, *bar = strchr(rest, '|');
            if (bar) {
                *bar = 0;
                char *bar2 = strchr(bar + 1, '|');
                if (bar2) { *bar2 = 0; snprintf(t->expect, sizeof t->expect, "%s", bar2 + 1); }
                snprintf(t->bearer, sizeof t->bearer, "%s", bar + 1);
            }
            char *slash = strchr(rest, '/');
            if (!slash) { fprintf(stderr, "client: target %s needs HOST:PORT/PATH\n", t->name); return 2; }
            snprintf(t->path, sizeof t->path, "%s", slash);
            *slash = 0;
            char *colon = strchr(rest, ':');
            if (!colon) { fprintf(stderr, "client: target %s needs HOST:PORT/PATH\n", t->name); return 2; }
            *colon = 0;
            snprintf(t->host, sizeof t->host, "%s", rest);
            t->port = atoi(colon + 1);
        } else { fprintf(stderr, "client: unknown argument %s\n", argv[i]); return 2; }
    }
    if (!body_path || nt == 0 || requests <= 0) {
        fprintf(stderr, "usage: client [--stream] --requests N --warmup W --body FILE NAME=HOST:PORT/PATH[|BEARER[|EXPECT]]...\n");
        return 2;
    }
    size_t body_len;
    char *body = read_file(body_path, &body_len);
    for (int k = 0; k < nt; k++) {
        target_t *t = &targets[k];
        char auth[300] = "";
        if (t->bearer[0]) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", t->bearer);
        t->request = malloc(body_len + 1024);
        int h = snprintf(t->request, 1024,
                         "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
                         t->path, t->host, t->port, auth, body_len);
        memcpy(t->request + h, body, body_len);
        t->request_len = (size_t)h + body_len;
        t->total = calloc((size_t)requests, sizeof(double));
        t->ttfb = calloc((size_t)requests, sizeof(double));
    }
    /* Warm-up, then the measured rounds; the order rotates every round. */
    for (long r = 0; r < warmup; r++)
        for (int k = 0; k < nt; k++) exchange(&targets[(k + r) % nt], stream, 0);
    for (int k = 0; k < nt; k++) { targets[k].errors = 0; targets[k].first_error[0] = 0; }
    long max_errors = requests / 10 + 10;
    for (long r = 0; r < requests; r++) {
        for (int k = 0; k < nt; k++) {
            target_t *t = &targets[(k + r) % nt];
            if (t->errors > max_errors) continue; /* a broken target must not stall the others */
            exchange(t, stream, 1);
        }
    }
    printf("{");
    for (int k = 0; k < nt; k++) {
        target_t *t = &targets[k];
        printf("\"%s\":{\"errors\":%ld,\"first_error\":", t->name, t->errors);
        if (t->first_error[0]) printf("\"%s\",", t->first_error); else printf("null,");
        summary("total_us", t->total, t->n_total, 1);
        summary("first_byte_us", t->ttfb, t->n_total, 1);
        summary("event_gap_us", t->gaps, t->n_gaps, 0);
        printf("}%s", k + 1 < nt ? "," : "");
    }
    printf("}\n");
    return 0;
}
