#include "CSQLiteTuning.h"
#include <sqlite3.h>

int keygate_sqlite3_config_memstatus(int enabled) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, enabled);
}
