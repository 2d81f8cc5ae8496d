#include "CSQLiteTuning.h"
#include <sqlite3.h>

int keygate_sqlite3_config_memstatus(int enabled) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, enabled);
}

int keygate_sqlite3_config_stmtjrnl_spill(int bytes) {
    return sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, bytes);
}
