#ifndef KEYGATE_CLIBPQ_SHIM_H
#define KEYGATE_CLIBPQ_SHIM_H
// PostgreSQL's own C client, from the system (Debian: libpq-dev).
#include <libpq-fe.h>
#endif
