/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The local test platform (target/debug/mondoo-platform) as a child process, and a
 * minimal HTTP/1.1 client for its /_admin/ endpoints. The platform prints its URL on
 * the first line of stdout and stops when its stdin closes.
 */
#ifndef MONDOO_TEST_PLATFORM_H
#define MONDOO_TEST_PLATFORM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

struct platform {
    pid_t pid;
    int stdin_fd; /* closing it stops the platform */
    char url[256];
    int port;
};

#define PLATFORM_MAX_ARGS 8

/* Start the platform binary ($MONDOO_PLATFORM_BIN, else ../../target/debug/mondoo-platform)
 * with the fixtures (--testdata, so the fixture service account is known to it) and extra
 * command-line arguments (NULL-terminated, or NULL for none), e.g.
 * {"--tls", "--ca-out", file, NULL} or {"--proxy", NULL}. */
static int platform_start_args(struct platform *p, const char *const *args) {
    const char *bin = getenv("MONDOO_PLATFORM_BIN");
    if (!bin || !*bin) bin = "../../target/debug/mondoo-platform";
    char *argv[PLATFORM_MAX_ARGS + 4];
    int argc = 0;
    argv[argc++] = (char *)bin;
    argv[argc++] = (char *)"--testdata";
    argv[argc++] = (char *)testdata("");
    for (; args && *args && argc <= PLATFORM_MAX_ARGS + 2; args++) argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(bin, argv);
        fprintf(stderr, "cannot run %s\n", bin);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->pid = pid;
    p->stdin_fd = in[1];
    /* Read the first line: the URL. */
    size_t n = 0;
    char c;
    while (n + 1 < sizeof p->url && read(out[0], &c, 1) == 1 && c != '\n') p->url[n++] = c;
    p->url[n] = '\0';
    close(out[0]);
    const char *colon = strrchr(p->url, ':');
    p->port = colon ? atoi(colon + 1) : 0;
    if ((strncmp(p->url, "http://127.0.0.1:", 17) != 0 && strncmp(p->url, "https://127.0.0.1:", 18) != 0) ||
        p->port <= 0) {
        fprintf(stderr, "platform did not print its URL (got \"%s\")\n", p->url);
        return -1;
    }
    return 0;
}

static int platform_start(struct platform *p) { return platform_start_args(p, NULL); }

static void platform_stop(struct platform *p) {
    if (p->stdin_fd >= 0) close(p->stdin_fd);
    p->stdin_fd = -1;
    if (p->pid > 0) waitpid(p->pid, NULL, 0);
    p->pid = 0;
}

/* POST a JSON body to http://127.0.0.1:port/_admin/<what> (plain HTTP: not for a --tls
 * platform); returns the response body
 * (free with free) or NULL. *status_out gets the HTTP status. */
static char *platform_admin(const struct platform *p, const char *what, const char *json, int *status_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)p->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return NULL;
    }
    char head[512];
    size_t body_len = strlen(json);
    int head_len = snprintf(head, sizeof head,
                            "POST /_admin/%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                            "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                            "Connection: close\r\n\r\n",
                            what, p->port, body_len);
    if (write(fd, head, (size_t)head_len) != head_len || write(fd, json, body_len) != (ssize_t)body_len) {
        close(fd);
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len - 1 == 0) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf) return NULL;
    buf[len] = '\0';
    int status = 0;
    sscanf(buf, "HTTP/1.1 %d", &status);
    if (status_out) *status_out = status;
    char *body = strstr(buf, "\r\n\r\n");
    char *result = strdup(body ? body + 4 : "");
    free(buf);
    return result;
}

/* The string value of "key" in a flat JSON object (no escapes in the value), or NULL.
 * Enough for tokens and MRNs. Free with free. */
static char *json_string_field(const char *json, const char *key) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *start = json ? strstr(json, pattern) : NULL;
    if (!start) return NULL;
    start += strlen(pattern);
    const char *end = strchr(start, '"');
    if (!end) return NULL;
    return strndup(start, (size_t)(end - start));
}

#endif
