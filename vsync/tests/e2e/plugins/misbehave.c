/* A destination plugin that misbehaves on purpose, for the out-of-process host tests.
 * Build: cc -shared -fPIC -DID='"segv"' -DMODE_SEGV [-DAT_LOAD] misbehave.c
 * It misbehaves in its first call (resolve_routing), or while loading with AT_LOAD; a call
 * that gets past the misbehaviour answers a config error. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct { uint8_t *ptr; size_t len; size_t cap; } VsyncBuf;

uint32_t vsync_dest_abi_version(void) { return 1; }

const char *vsync_dest_manifest(void) {
    return "{\"schema\":1,\"id\":\"" ID "\",\"name\":\"misbehaving " ID "\",\"version\":\"0.0.1\","
           "\"abi\":1,\"reentrant\":true}";
}

/* the host's frame channel: the first socket among our descriptors */
static int channel(void) {
    for (int fd = 3; fd < 1024; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) return fd;
    }
    return -1;
}

static void misbehave(void) {
#if defined(MODE_SEGV)
    *(volatile int *)0 = 1;
#elif defined(MODE_ABORT)
    abort();
#elif defined(MODE_EXIT0)
    exit(0);
#elif defined(MODE_LOOP)
    for (volatile int i = 0;; i++) {
    }
#elif defined(MODE_ENDLESS)
    /* a reply frame announcing 1 MiB, a few bytes of it, then nothing more */
    unsigned char h[24] = {0};
    h[2] = 0x10;
    h[4] = 1;
    h[16] = 1;
    int fd = channel();
    if (write(fd, h, sizeof h) < 0 || write(fd, "{\"ok\":", 6) < 0) abort();
    for (;;) sleep(1);
#elif defined(MODE_GARBAGE)
    const char *g = "this is not a frame, just noise from a plugin\n";
    if (write(channel(), g, strlen(g)) < 0) abort();
#elif defined(MODE_MARK)
    /* leaves a trace that its code ran */
    char path[4096];
    snprintf(path, sizeof path, "%s/ran-%s", getenv("HOME") ? getenv("HOME") : "/nonexistent", ID);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
#elif defined(MODE_STDOUT)
    printf("noise on stdout from a plugin; VAULT_TOKEN %s, HOME %s\n",
           getenv("VAULT_TOKEN") ? "set" : "unset", getenv("HOME") ? "set" : "unset");
    fflush(stdout);
#endif
}

#ifdef AT_LOAD
__attribute__((constructor)) static void at_load(void) { misbehave(); }
#endif

int32_t vsync_dest_call(const uint8_t *req, size_t len, VsyncBuf *out) {
    (void)req;
    (void)len;
#ifndef AT_LOAD
    misbehave();
#endif
    const char *r = "{\"error\":{\"kind\":\"config\",\"message\":\"the " ID " plugin answers nothing\"}}";
    size_t n = strlen(r);
    out->ptr = malloc(n);
    memcpy(out->ptr, r, n);
    out->len = n;
    out->cap = n;
    return 1;
}

void vsync_dest_free(VsyncBuf b) { free(b.ptr); }

void vsync_dest_cancel(uint64_t id) { (void)id; }
