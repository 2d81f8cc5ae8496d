#ifndef KEYGATE_CLIBPQ_SHIM_H
#define KEYGATE_CLIBPQ_SHIM_H
// PostgreSQL's own C client, from the system (Debian: libpq-dev).
#include <libpq-fe.h>

// libpq uses the system's OpenSSL for SCRAM logins and TLS, from the
// threads that connect and read (the change listener, rate-limit
// reservations). OpenSSL frees its state in an atexit handler, so a
// process that exits while one of those threads is in OpenSSL crashed
// (SIGSEGV, measured: 2 exits in 40 against a SCRAM server). Asked before
// OpenSSL's first initialisation, it registers no such handler; the
// system reclaims its memory at exit. (libpq-dev depends on libssl-dev.)
#if defined(__linux__) && __has_include(<openssl/crypto.h>)
#include <openssl/crypto.h>
static inline void keygate_openssl_without_atexit(void) {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL);
}
#else
static inline void keygate_openssl_without_atexit(void) {}
#endif
#endif
