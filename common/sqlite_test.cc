#include "common/sqlite.h"

#include <gtest/gtest.h>

namespace berth::sqlite {
namespace {

Db OpenMemory() {
  absl::StatusOr<Db> db = Db::Open(":memory:");
  EXPECT_TRUE(db.ok()) << db.status();
  return *std::move(db);
}

TEST(Sqlite, BindStepAndReadColumns) {
  Db db = OpenMemory();
  ASSERT_TRUE(db.Exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER, n INTEGER)").ok());
  absl::StatusOr<Statement> ins = db.Prepare("INSERT INTO t VALUES (?1, ?2, ?3)");
  ASSERT_TRUE(ins.ok()) << ins.status();
  ASSERT_TRUE(ins->Bind(1, "a").Bind(2, int64_t{1} << 40).BindNull(3).Run().ok());
  ins->Reset();
  // Text with an embedded NUL survives: values are bound with their length.
  ASSERT_TRUE(
      ins->Bind(1, std::string("b\0c", 3)).Bind(2, int64_t{-7}).Bind(3, int64_t{3}).Run().ok());

  absl::StatusOr<Statement> sel = db.Prepare("SELECT k, v, n FROM t ORDER BY k");
  ASSERT_TRUE(sel.ok());
  ASSERT_TRUE(*sel->Step());
  EXPECT_EQ(sel->ColumnText(0), "a");
  EXPECT_EQ(sel->ColumnInt(1), int64_t{1} << 40);
  EXPECT_TRUE(sel->ColumnIsNull(2));
  ASSERT_TRUE(*sel->Step());
  EXPECT_EQ(sel->ColumnText(0), std::string("b\0c", 3));
  EXPECT_EQ(sel->ColumnInt(1), -7);
  EXPECT_FALSE(*sel->Step());
}

TEST(Sqlite, ErrorsNameTheStatementAndSqliteMessage) {
  Db db = OpenMemory();
  absl::StatusOr<Statement> bad = db.Prepare("SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sqlite3_prepare(SELEC 1)"), std::string::npos)
      << bad.status();
  EXPECT_NE(bad.status().message().find("syntax error"), std::string::npos) << bad.status();

  ASSERT_TRUE(db.Exec("CREATE TABLE t (k TEXT PRIMARY KEY)").ok());
  ASSERT_TRUE(db.Exec("INSERT INTO t VALUES ('x')").ok());
  absl::StatusOr<Statement> dup = db.Prepare("INSERT INTO t VALUES (?1)");
  ASSERT_TRUE(dup.ok());
  absl::Status st = dup->Bind(1, "x").Run();
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists) << st;
  EXPECT_NE(st.message().find("INSERT INTO t VALUES (?1)"), std::string::npos) << st;
  EXPECT_NE(st.message().find("UNIQUE constraint failed: t.k"), std::string::npos) << st;

  // A bind to a parameter that does not exist is reported by the next Step.
  absl::StatusOr<Statement> sel = db.Prepare("SELECT ?1");
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->Bind(5, int64_t{1}).Step().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  Db db = OpenMemory();
  ASSERT_TRUE(db.Exec("CREATE TABLE t (v INTEGER)").ok());
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(db);
    ASSERT_TRUE(txn.ok()) << txn.status();
    ASSERT_TRUE(db.Exec("INSERT INTO t VALUES (1)").ok());
  }
  EXPECT_EQ(*db.QueryInt("SELECT count(*) FROM t"), 0);
  {
    absl::StatusOr<Transaction> txn = Transaction::Begin(db);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(db.Exec("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(txn->Commit().ok());
    EXPECT_FALSE(txn->Commit().ok()) << "a second commit is refused";
  }
  EXPECT_EQ(*db.QueryInt("SELECT count(*) FROM t"), 1);
}

TEST(Sqlite, OpenReportsTheFailingPath) {
  absl::StatusOr<Db> db = Db::Open("/nonexistent-dir/x/metadata.db");
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("/nonexistent-dir/x/metadata.db"), std::string::npos)
      << db.status();
}

}  // namespace
}  // namespace berth::sqlite
