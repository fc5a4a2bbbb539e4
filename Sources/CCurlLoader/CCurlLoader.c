// libcurl resolved at its first use (include/CCurlLoader.h says why).
//
// The prototypes come from libcurl's own headers (libcurl4-openssl-dev), so each definition
// here is checked against the declaration it replaces. The variadic setters and getters read
// their one argument as a pointer-sized word and pass it on: libcurl documents that argument as
// a long, a curl_off_t, an object pointer or a function pointer, which the x86_64 and arm64
// calling conventions pass alike.

#if defined(__linux__)  // elsewhere Foundation does not use libcurl

#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "CCurlLoader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/// The library's name as the dynamic loader knows it (its soname on Debian, Ubuntu and Fedora).
static const char *const library_name = "libcurl.so.4";

static struct {
    void *library;
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_pause)(CURL *, int);
    const char *(*easy_strerror)(CURLcode);
    void (*free)(void *);
    CURLcode (*global_init)(long);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLU *(*url)(void);
    void (*url_cleanup)(CURLU *);
    CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned int);
    CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
    char *(*version)(void);
    curl_version_info_data *(*version_info)(CURLversion);
} real;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

/// Why dlopen failed, kept for the message (dlerror's text belongs to the thread that loaded).
static char load_error[512];

static void *resolve(const char *name) {
    void *symbol = dlsym(real.library, name);
    if (symbol == NULL) {
        fprintf(stderr, "agent-memory: %s has no function %s (%s); install libcurl 7.62 or later.\n",
                library_name, name, dlerror());
        _exit(1);
    }
    return symbol;
}

static void load(void) {
    real.library = dlopen(library_name, RTLD_NOW | RTLD_LOCAL);
    if (real.library == NULL) {
        const char *error = dlerror();
        snprintf(load_error, sizeof load_error, "%s", error != NULL ? error : "no reason given");
        return;
    }
    *(void **)&real.easy_init = resolve("curl_easy_init");
    *(void **)&real.easy_cleanup = resolve("curl_easy_cleanup");
    *(void **)&real.easy_setopt = resolve("curl_easy_setopt");
    *(void **)&real.easy_getinfo = resolve("curl_easy_getinfo");
    *(void **)&real.easy_pause = resolve("curl_easy_pause");
    *(void **)&real.easy_strerror = resolve("curl_easy_strerror");
    *(void **)&real.free = resolve("curl_free");
    *(void **)&real.global_init = resolve("curl_global_init");
    *(void **)&real.multi_init = resolve("curl_multi_init");
    *(void **)&real.multi_cleanup = resolve("curl_multi_cleanup");
    *(void **)&real.multi_add_handle = resolve("curl_multi_add_handle");
    *(void **)&real.multi_remove_handle = resolve("curl_multi_remove_handle");
    *(void **)&real.multi_assign = resolve("curl_multi_assign");
    *(void **)&real.multi_info_read = resolve("curl_multi_info_read");
    *(void **)&real.multi_setopt = resolve("curl_multi_setopt");
    *(void **)&real.multi_socket_action = resolve("curl_multi_socket_action");
    *(void **)&real.slist_append = resolve("curl_slist_append");
    *(void **)&real.slist_free_all = resolve("curl_slist_free_all");
    *(void **)&real.url = resolve("curl_url");
    *(void **)&real.url_cleanup = resolve("curl_url_cleanup");
    *(void **)&real.url_get = resolve("curl_url_get");
    *(void **)&real.url_set = resolve("curl_url_set");
    *(void **)&real.version = resolve("curl_version");
    *(void **)&real.version_info = resolve("curl_version_info");
}

int ccurlloader_available(void) {
    pthread_once(&load_once, load);
    return real.library != NULL;
}

/// Every forwarding function starts here: a process that reaches libcurl without it stops with
/// a message that says what to install and exit status 1, instead of crashing on a missing
/// function. (`_exit`, not `exit`: this may run on any thread, inside URLSession's own work.)
static void need(void) {
    if (ccurlloader_available()) return;
    fprintf(stderr,
            "agent-memory: HTTP needs libcurl, and %s could not be loaded (%s); install it "
            "(Debian and Ubuntu: apt-get install libcurl4).\n",
            library_name, load_error);
    _exit(1);
}

/// Reads the one argument a variadic setter or getter takes after `last`, as a pointer-sized word.
#define READ_THE_ARGUMENT_AFTER(last, value)    \
    do {                                        \
        va_list arguments;                      \
        va_start(arguments, last);              \
        (value) = va_arg(arguments, void *);    \
        va_end(arguments);                      \
    } while (0)

CURL *curl_easy_init(void) { need(); return real.easy_init(); }
void curl_easy_cleanup(CURL *curl) { need(); real.easy_cleanup(curl); }
CURLcode curl_easy_pause(CURL *handle, int bitmask) { need(); return real.easy_pause(handle, bitmask); }
const char *curl_easy_strerror(CURLcode code) { need(); return real.easy_strerror(code); }
void curl_free(void *p) { need(); real.free(p); }
CURLcode curl_global_init(long flags) { need(); return real.global_init(flags); }

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...) {
    need();
    void *value;
    READ_THE_ARGUMENT_AFTER(option, value);
    return real.easy_setopt(curl, option, value);
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...) {
    need();
    void *value;
    READ_THE_ARGUMENT_AFTER(info, value);
    return real.easy_getinfo(curl, info, value);
}

CURLM *curl_multi_init(void) { need(); return real.multi_init(); }
CURLMcode curl_multi_cleanup(CURLM *multi) { need(); return real.multi_cleanup(multi); }
CURLMcode curl_multi_add_handle(CURLM *multi, CURL *curl) { need(); return real.multi_add_handle(multi, curl); }
CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *curl) { need(); return real.multi_remove_handle(multi, curl); }
CURLMcode curl_multi_assign(CURLM *multi, curl_socket_t socket, void *pointer) {
    need();
    return real.multi_assign(multi, socket, pointer);
}
CURLMsg *curl_multi_info_read(CURLM *multi, int *messages) { need(); return real.multi_info_read(multi, messages); }
CURLMcode curl_multi_socket_action(CURLM *multi, curl_socket_t socket, int events, int *running) {
    need();
    return real.multi_socket_action(multi, socket, events, running);
}

CURLMcode curl_multi_setopt(CURLM *multi, CURLMoption option, ...) {
    need();
    void *value;
    READ_THE_ARGUMENT_AFTER(option, value);
    return real.multi_setopt(multi, option, value);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data) {
    need();
    return real.slist_append(list, data);
}
void curl_slist_free_all(struct curl_slist *list) { need(); real.slist_free_all(list); }

CURLU *curl_url(void) { need(); return real.url(); }
void curl_url_cleanup(CURLU *handle) { need(); real.url_cleanup(handle); }
CURLUcode curl_url_get(CURLU *handle, CURLUPart what, char **part, unsigned int flags) {
    need();
    return real.url_get(handle, what, part, flags);
}
CURLUcode curl_url_set(CURLU *handle, CURLUPart what, const char *part, unsigned int flags) {
    need();
    return real.url_set(handle, what, part, flags);
}

char *curl_version(void) { need(); return real.version(); }
curl_version_info_data *curl_version_info(CURLversion age) { need(); return real.version_info(age); }

const char *ccurlloader_version(void) { return ccurlloader_available() ? curl_version() : NULL; }

#else

int ccurlloader_available(void) { return 0; }
const char *ccurlloader_version(void) { return NULL; }

#endif
