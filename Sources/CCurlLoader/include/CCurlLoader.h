// CCurlLoader: libcurl resolved at its first use instead of at process start.
//
// FoundationNetworking (URLSession) calls libcurl, so an executable that links it normally
// lists libcurl among the libraries the dynamic loader maps before `main`, and with it about
// thirty more (TLS, Kerberos, LDAP, SSH, HTTP/2...): 3.5 to 9 ms of every `agent-memory`
// start, although most commands never open a connection (BENCHMARKS.md, round twenty-eight).
//
// This target defines the libcurl functions FoundationNetworking calls. The first call loads
// `libcurl.so.4` with dlopen and each function forwards to the real one, so a link with
// `--as-needed` (scripts/build-release.sh) no longer needs libcurl at start. Without that flag
// libcurl is still loaded at start and these functions forward to it all the same.
//
// Nothing here is meant to be called from Swift; the header only names the target.

#ifndef CCURLLOADER_H
#define CCURLLOADER_H

/// Loads libcurl now if it is not loaded yet; returns 1 when it is available, 0 when it is not.
int ccurlloader_available(void);

/// The loaded libcurl's version line (`curl_version()`, through the loader), or NULL without it.
const char *ccurlloader_version(void);

#endif
