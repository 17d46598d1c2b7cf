/*
 * nodelab's CNI plugin front: the small executable a runtime execs for every CNI call.
 *
 * nodelab's plugins are "thick" (as Multus thick, Cilium or Calico are): the work of a call
 * (bridge, host-local, loopback, portmap) is done by a long-running daemon of the node, which
 * has its Python code loaded already; the executable a runtime finds on its plugin path is only
 * this front. It keeps the CNI contract of an ordinary plugin, so any runtime can exec it:
 *
 *   - its name (argv[0], e.g. /opt/cni/bin/bridge -> "bridge") says which plugin is called;
 *   - the CNI_* environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS,
 *     CNI_PATH) and the network config on stdin are passed to the daemon unchanged;
 *   - the daemon's answer is this process's answer: the result or error JSON on stdout and
 *     the exit code (0, or 1 with {"code", "msg", "details"}).
 *
 * The daemon listens on the abstract unix socket "@nodelab-cni" of the network namespace the
 * front runs in (abstract sockets belong to a network namespace), so a front always reaches the
 * daemon of its own node, which does the netlink work in that same namespace.
 * NODELAB_CNI_SOCKET names another abstract socket (tests run daemons of their own).
 *
 * Request, as netstrings ("<length>:<bytes>,"): the plugin name, each CNI_* variable as
 * "NAME=value", an empty netstring, then stdin. Answer: "<exit code>\n" then stdout, then EOF.
 * If the daemon cannot be reached or does not answer in time, the front prints a CNI error
 * with code 11 ("try again later") itself: a down daemon is a clear error, never a hang.
 *
 * Built by nodelab/cni/front.py (cc -O2); the plugin names in nodelab/cni/bin/ are links to it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "nodelab-cni"
#define TIMEOUT_SECONDS 120
#define TRY_AGAIN_LATER 11

extern char **environ;

static char *input;  /* stdin: the network config */
static size_t input_len;

/* The config's cniVersion, for our own errors (as the plugin skeleton does), else 1.0.0. */
static const char *config_version(void) {
    static char version[16] = "1.0.0";
    char *at = input ? strstr(input, "\"cniVersion\"") : NULL;
    char *open_quote = at ? strchr(at + 12, '"') : NULL;
    char *close_quote = open_quote ? strchr(open_quote + 1, '"') : NULL;
    size_t len = close_quote ? (size_t)(close_quote - open_quote - 1) : 0;
    if (len > 0 && len < sizeof version && strspn(open_quote + 1, "0123456789.") == len) {
        memcpy(version, open_quote + 1, len);
        version[len] = '\0';
    }
    return version;
}

/* Print a CNI error and exit 1. msg and details hold no quotes or backslashes. */
static void fail(const char *msg, const char *details) {
    printf("{\"cniVersion\": \"%s\", \"code\": %d, \"msg\": \"%s\", \"details\": \"%s\"}\n",
           config_version(), TRY_AGAIN_LATER, msg, details);
    exit(1);
}

static void read_stdin(void) {
    size_t size = 65536;
    input = malloc(size + 1);
    ssize_t n;
    while (input && (n = read(0, input + input_len, size - input_len)) != 0) {
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("cannot read the network config on stdin", strerror(errno));
        }
        input_len += (size_t)n;
        if (input_len == size) input = realloc(input, (size *= 2) + 1);
    }
    if (!input) fail("out of memory reading stdin", "");
    input[input_len] = '\0';
}

static void send_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);  /* a closed peer: EPIPE, not SIGPIPE */
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("cannot send the call to nodelab's CNI daemon", strerror(errno));
        data += n;
        len -= (size_t)n;
    }
}

static void send_netstring(int fd, const char *data, size_t len) {
    char head[24];
    send_all(fd, head, (size_t)snprintf(head, sizeof head, "%zu:", len));
    send_all(fd, data, len);
    send_all(fd, ",", 1);
}

int main(int argc, char **argv) {
    const char *plugin = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *name = getenv("NODELAB_CNI_SOCKET") ? getenv("NODELAB_CNI_SOCKET") : DEFAULT_SOCKET;
    (void)argc;
    read_stdin();

    struct sockaddr_un address = {.sun_family = AF_UNIX};
    size_t name_len = strnlen(name, sizeof address.sun_path - 2);
    memcpy(address.sun_path + 1, name, name_len);  /* sun_path[0] == '\0': abstract */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval timeout = {.tv_sec = TIMEOUT_SECONDS};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    socklen_t address_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + name_len);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, address_len) != 0)
        fail("nodelab's CNI daemon is not running in this network namespace "
             "(the node's podnet daemon serves the plugins: see nodelab status)",
             strerror(errno));

    send_netstring(fd, plugin, strlen(plugin));
    for (char **entry = environ; *entry; entry++)
        if (strncmp(*entry, "CNI_", 4) == 0) send_netstring(fd, *entry, strlen(*entry));
    send_netstring(fd, "", 0);
    send_netstring(fd, input, input_len);
    shutdown(fd, SHUT_WR);

    /* The answer: "<exit code>\n", then what the plugin printed on stdout. */
    char buffer[65536];
    size_t have = 0;
    int code = -1;
    ssize_t n;
    while ((n = read(fd, buffer + have, sizeof buffer - have)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (code >= 0 || errno == ECONNRESET)) break;  /* as the end of the answer */
        if (n < 0)
            fail(errno == EAGAIN ? "no answer from nodelab's CNI daemon in time"
                                 : "cannot read the answer of nodelab's CNI daemon",
                 strerror(errno));
        have += (size_t)n;
        if (code < 0) {
            char *newline = memchr(buffer, '\n', have);
            if (!newline && have < sizeof buffer) continue;
            if (!newline) fail("malformed answer from nodelab's CNI daemon", "no exit code");
            code = atoi(buffer);
            size_t head = (size_t)(newline - buffer) + 1;
            memmove(buffer, newline + 1, have - head);
            have -= head;
        }
        fwrite(buffer, 1, have, stdout);
        have = 0;
    }
    if (code < 0)
        fail("nodelab's CNI daemon closed the connection without an answer",
             "it may have been restarted: try again");
    return code;
}
