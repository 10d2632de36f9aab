#include "common/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace berth::tar {
namespace {

struct Read {
  std::string name, link, data;
  mode_t type;
  unsigned mode;
  int64_t uid, mtime, size;
};

// Reads `tar` back with libarchive: an independent reader is the test of the format.
std::vector<Read> ReadBack(const std::string& tar) {
  std::vector<Read> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, tar.data(), tar.size()), ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Read r;
    r.name = archive_entry_pathname(e);
    if (archive_entry_symlink(e) != nullptr) r.link = archive_entry_symlink(e);
    if (archive_entry_hardlink(e) != nullptr) r.link = archive_entry_hardlink(e);
    r.type = archive_entry_filetype(e);
    r.mode = archive_entry_perm(e);
    r.uid = archive_entry_uid(e);
    r.mtime = archive_entry_mtime(e);
    r.size = archive_entry_size(e);
    char buf[4096];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof(buf))) > 0;) r.data.append(buf, n);
    out.push_back(std::move(r));
  }
  EXPECT_EQ(archive_read_free(a), ARCHIVE_OK);
  return out;
}

std::string Collect(const std::function<void(Writer&)>& fill) {
  std::string tar;
  Writer w([&](absl::string_view b) {
    tar.append(b.data(), b.size());
    return true;
  });
  fill(w);
  EXPECT_TRUE(w.Finish().ok());
  EXPECT_EQ(w.bytes(), tar.size());
  return tar;
}

TEST(TarWriter, EntriesReadBackAsWritten) {
  const std::string tar = Collect([](Writer& w) {
    ASSERT_TRUE(w.Add({.name = "dir", .type = Header::Type::kDirectory, .mode = 0750}).ok());
    ASSERT_TRUE(
        w.Add({.name = "dir/a", .mode = 04755, .uid = 1000, .size = 5, .mtime = 1700000000}).ok());
    ASSERT_TRUE(w.Write("he").ok());
    ASSERT_TRUE(w.Write("llo").ok());
    ASSERT_TRUE(w.Add({.name = "dir/b", .type = Header::Type::kHardlink, .link = "dir/a"}).ok());
    ASSERT_TRUE(
        w.Add({.name = "s", .type = Header::Type::kSymlink, .mode = 0777, .link = "dir/a"}).ok());
    ASSERT_TRUE(w.Add({.name = "empty"}).ok());
  });
  EXPECT_EQ(tar.size() % 512, 0u);
  std::vector<Read> r = ReadBack(tar);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].name, "dir/");
  EXPECT_EQ(r[0].type, AE_IFDIR);
  EXPECT_EQ(r[0].mode, 0750u);
  EXPECT_EQ(r[1].name, "dir/a");
  EXPECT_EQ(r[1].type, AE_IFREG);
  EXPECT_EQ(r[1].mode, 04755u);
  EXPECT_EQ(r[1].uid, 1000);
  EXPECT_EQ(r[1].mtime, 1700000000);
  EXPECT_EQ(r[1].data, "hello");
  EXPECT_EQ(r[2].name, "dir/b");
  EXPECT_EQ(r[2].link, "dir/a");
  EXPECT_EQ(r[3].type, AE_IFLNK);
  EXPECT_EQ(r[3].link, "dir/a");
  EXPECT_EQ(r[4].name, "empty");
  EXPECT_EQ(r[4].size, 0);
}

TEST(TarWriter, WhatUstarCannotHoldGoesIntoPaxRecords) {
  const std::string long_dir(150, 'd'), long_name = long_dir + "/" + std::string(120, 'f');
  const std::string long_target = "/" + std::string(300, 't');
  const std::string tar = Collect([&](Writer& w) {
    ASSERT_TRUE(w.Add({.name = long_dir, .type = Header::Type::kDirectory}).ok());
    ASSERT_TRUE(w.Add({.name = long_name, .uid = 1u << 30, .size = 3}).ok());
    ASSERT_TRUE(w.Write("abc").ok());
    ASSERT_TRUE(w.Add({.name = "l", .type = Header::Type::kSymlink, .link = long_target}).ok());
  });
  std::vector<Read> r = ReadBack(tar);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].name, long_dir + "/");
  EXPECT_EQ(r[1].name, long_name);
  EXPECT_EQ(r[1].uid, 1 << 30);
  EXPECT_EQ(r[1].data, "abc");
  EXPECT_EQ(r[2].link, long_target);
}

TEST(TarWriter, SizesAreKeptToTheLetter) {
  std::string tar;
  Writer w([&](absl::string_view b) {
    tar.append(b.data(), b.size());
    return true;
  });
  ASSERT_TRUE(w.Add({.name = "f", .size = 4}).ok());
  EXPECT_EQ(w.Write("12345").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(w.Write("123").ok());
  EXPECT_EQ(w.Add({.name = "g"}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.Finish().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(w.Write("4").ok());
  EXPECT_TRUE(w.Finish().ok());
  EXPECT_EQ(w.Add({.name = "late"}).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(w.Add({.name = ""}).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(TarWriter, AReaderThatGoesAwayStopsTheWriter) {
  Writer w([](absl::string_view) { return false; });
  EXPECT_EQ(w.Add({.name = "f"}).code(), absl::StatusCode::kAborted);
}

}  // namespace
}  // namespace berth::tar
