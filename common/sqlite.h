// A small RAII layer over sqlite3: a connection (Db), prepared statements (Statement) and
// transactions (Transaction) that roll back unless committed. Every error is an absl::Status
// naming the statement and carrying sqlite3_errmsg.
//
// A Db is one connection and is not for concurrent use: callers serialise access to it (as
// services/metadata/metadata.h does), which also keeps one transaction from picking up another
// thread's statements. It lives in common/ so that snapshotters (which may depend only on common/)
// keep their own databases with it.
#ifndef BERTH_COMMON_SQLITE_H_
#define BERTH_COMMON_SQLITE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/optional.h"

struct sqlite3;
struct sqlite3_stmt;

namespace berth::sqlite {

class Statement;

class Db {
 public:
  // Opens (creating if needed) the database at `path`. ":memory:" gives a private in-memory
  // database, for tests.
  static absl::StatusOr<Db> Open(const std::string& path);

  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Runs one or more statements that return no rows we need (DDL, PRAGMA settings).
  absl::Status Exec(absl::string_view sql);
  absl::StatusOr<Statement> Prepare(absl::string_view sql);
  // The first column of the first row of a query returning an integer (e.g. a PRAGMA).
  absl::StatusOr<int64_t> QueryInt(absl::string_view sql);
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int Changes() const;
  const std::string& path() const { return path_; }
  sqlite3* raw() const { return db_; }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are numbered from 1, as in sqlite3_bind_*. Bind* return *this so calls chain;
  // a failed bind is remembered and reported by the next Step().
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view value);
  Statement& Bind(int index, const std::string& value) {
    return Bind(index, absl::string_view(value));
  }
  Statement& Bind(int index, const char* value) { return Bind(index, absl::string_view(value)); }
  Statement& Bind(int index, absl::optional<int64_t> value);
  Statement& BindNull(int index);

  // Advances: true when a row is ready to read, false when the statement is done.
  absl::StatusOr<bool> Step();
  // Steps a statement that returns no rows (INSERT, UPDATE, DELETE) to completion.
  absl::Status Run();
  // Makes the statement ready to run again; bindings are cleared too.
  void Reset();

  // Columns are numbered from 0, as in sqlite3_column_*.
  int64_t ColumnInt(int col) const;
  std::string ColumnText(int col) const;
  bool ColumnIsNull(int col) const;

 private:
  friend class Db;
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  absl::Status Error(absl::string_view what, int rc) const;
  std::string Sql() const;

  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;
  absl::Status bind_status_;
};

// BEGIN IMMEDIATE on construction (taking the write lock at once, so a writer never fails
// halfway with SQLITE_BUSY on upgrade); ROLLBACK on destruction unless Commit() succeeded.
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(Db& db);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  absl::Status Commit();

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_;
};

// sqlite3_errmsg-based status for a failed call on `db`: "what: message (code N)".
absl::Status SqliteError(sqlite3* db, absl::string_view what, int rc);

}  // namespace berth::sqlite

#endif  // BERTH_COMMON_SQLITE_H_
