// Versioned schema migrations. The schema version lives in PRAGMA user_version; migration N
// moves the schema from version N-1 to N and runs in its own transaction, so a crash leaves
// the database at one version or the next, never between.
//
// To change the schema, append a Migration to kSchema in migrations.cc; never edit one that
// has shipped.
#ifndef BERTH_SERVICES_METADATA_MIGRATIONS_H_
#define BERTH_SERVICES_METADATA_MIGRATIONS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "common/sqlite.h"

namespace berth::metadata {

// The SQLite wrapper moved to common/; metadata code keeps naming it unqualified.
using ::berth::sqlite::Db;
using ::berth::sqlite::Statement;
using ::berth::sqlite::Transaction;

struct Migration {
  int64_t version;          // 1, 2, 3… in order, no gaps
  const char* description;  // for error messages
  const char* sql;          // one or more statements
};

// berth's schema, oldest first.
const std::vector<Migration>& Schema();

// Brings `db` to the last version in `migrations`. A database newer than the list (written by
// a later berthd) is refused rather than guessed at.
absl::Status Migrate(Db& db, const std::vector<Migration>& migrations);

}  // namespace berth::metadata

#endif  // BERTH_SERVICES_METADATA_MIGRATIONS_H_
