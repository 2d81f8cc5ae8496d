#ifndef KEYGATE_CSQLITETUNING_H
#define KEYGATE_CSQLITETUNING_H

/// Turns SQLite's memory statistics on or off for the whole process
/// (`SQLITE_CONFIG_MEMSTATUS`). `sqlite3_config` is variadic, which Swift
/// cannot call, hence this function. Returns SQLite's result code:
/// `SQLITE_MISUSE` once SQLite has been initialized.
int keygate_sqlite3_config_memstatus(int enabled);

#endif
