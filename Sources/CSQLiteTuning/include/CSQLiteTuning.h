#ifndef KEYGATE_CSQLITETUNING_H
#define KEYGATE_CSQLITETUNING_H

/// Turns SQLite's memory statistics on or off for the whole process
/// (`SQLITE_CONFIG_MEMSTATUS`). `sqlite3_config` is variadic, which Swift
/// cannot call, hence this function. Returns SQLite's result code:
/// `SQLITE_MISUSE` once SQLite has been initialized.
int keygate_sqlite3_config_memstatus(int enabled);

/// Sets how many bytes a statement or savepoint journal keeps in memory
/// before it moves to a temporary file, and the size of the blocks it
/// keeps them in (`SQLITE_CONFIG_STMTJRNL_SPILL`), for connections whose
/// `temp_store` is not `MEMORY`. Returns SQLite's result code, as above.
int keygate_sqlite3_config_stmtjrnl_spill(int bytes);

#endif
