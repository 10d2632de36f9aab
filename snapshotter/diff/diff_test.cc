#include "snapshotter/diff/diff.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/digest.h"
#include "gtest/gtest.h"
#include "snapshotter/apply/apply.h"

namespace berth::snapshotter {
namespace {

struct TarEntry {
  mode_t type;
  mode_t perm;
  std::string data;
  std::string link;
  std::string hardlink;
};

// name → entry, in archive order in `order`.
std::map<std::string, TarEntry> ReadTar(const std::string& blob, std::vector<std::string>* order) {
  std::map<std::string, TarEntry> out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, blob.data(), blob.size()), ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry t{archive_entry_filetype(e), archive_entry_perm(e), "", "", ""};
    if (archive_entry_symlink(e)) t.link = archive_entry_symlink(e);
    if (archive_entry_hardlink(e)) t.hardlink = archive_entry_hardlink(e);
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) t.data.append(buf, n);
    order->push_back(archive_entry_pathname(e));
    out[archive_entry_pathname(e)] = t;
  }
  archive_read_free(a);
  return out;
}

void Write(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

class DiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-diff-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    lower_ = top_ + "/lower";
    upper_ = top_ + "/upper";
    ASSERT_EQ(mkdir(lower_.c_str(), 0755), 0);
  }
  void TearDown() override { ::system(("rm -rf " + top_).c_str()); }

  std::string Diff(const std::string& lower, const DiffOptions& o, DiffResult* r) {
    std::string blob;
    absl::StatusOr<DiffResult> res = WriteDiff(lower, upper_, o, [&](absl::string_view d) {
      blob.append(d.data(), d.size());
      return absl::OkStatus();
    });
    EXPECT_TRUE(res.ok()) << res.status();
    if (res.ok()) *r = *res;
    return blob;
  }

  // `blob` applied on a copy of lower made at `dir`.
  absl::StatusOr<ApplyResult> ApplyOnCopyOfLower(const std::string& blob, const std::string& dir) {
    if (::system(("cp -a " + lower_ + " " + dir).c_str()) != 0) {
      return absl::InternalError("cp -a " + lower_ + " failed");
    }
    size_t pos = 0;
    return ApplyLayer(
        [&](char* buf, size_t n) -> absl::StatusOr<size_t> {
          size_t k = std::min(n, blob.size() - pos);
          memcpy(buf, blob.data() + pos, k);
          pos += k;
          return k;
        },
        dir, {});
  }

  std::string top_, lower_, upper_;
};

TEST_F(DiffTest, OverlayUpperBecomesWhiteoutsAndOpaqueDirs) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for whiteout devices and trusted xattrs";
  ASSERT_EQ(mkdir(upper_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((upper_ + "/etc").c_str(), 0755), 0);
  Write(upper_ + "/etc/hostname", "box\n");
  ASSERT_EQ(mknod((upper_ + "/etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0);
  ASSERT_EQ(mkdir((upper_ + "/opq").c_str(), 0700), 0);
  ASSERT_EQ(setxattr((upper_ + "/opq").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  Write(upper_ + "/opq/new", "n");
  ASSERT_EQ(symlink("etc/hostname", (upper_ + "/lnk").c_str()), 0);
  Write(upper_ + "/a", "aaa");
  ASSERT_EQ(link((upper_ + "/a").c_str(), (upper_ + "/b").c_str()), 0);

  DiffResult r;
  std::string blob = Diff("", {.overlay_upper = true}, &r);
  ASSERT_GE(blob.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(blob[0]), 0x1f);  // gzip
  EXPECT_EQ(r.digest, Sha256Of(blob).ToString());
  EXPECT_EQ(r.size, static_cast<int64_t>(blob.size()));

  std::vector<std::string> order;
  auto tar = ReadTar(blob, &order);
  EXPECT_EQ(order, (std::vector<std::string>{"a", "b", "etc/", "etc/.wh.gone", "etc/hostname",
                                             "lnk", "opq/", "opq/.wh..wh..opq", "opq/new"}));
  EXPECT_EQ(tar["a"].data, "aaa");
  EXPECT_EQ(tar["b"].hardlink, "a");
  EXPECT_EQ(tar["etc/.wh.gone"].type, AE_IFREG);
  EXPECT_EQ(tar["opq/"].perm, 0700u);
  EXPECT_EQ(tar["lnk"].link, "etc/hostname");
  EXPECT_EQ(tar["etc/hostname"].data, "box\n");
  EXPECT_EQ(r.entries, 9);
}

// A redirect (a directory renamed with redirect_dir=on) or a metacopy file keeps its contents
// in the lower layers; a layer made from the upper dir alone would lose them.
TEST_F(DiffTest, OverlayUpperRefusesRedirectsAndMetacopy) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for trusted xattrs";
  ASSERT_EQ(mkdir(upper_.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((upper_ + "/new").c_str(), 0755), 0);
  ASSERT_EQ(setxattr((upper_ + "/new").c_str(), "trusted.overlay.redirect", "/old", 4, 0), 0);
  std::string blob;
  auto sink = [&](absl::string_view d) {
    blob.append(d.data(), d.size());
    return absl::OkStatus();
  };
  absl::StatusOr<DiffResult> r = WriteDiff("", upper_, {.overlay_upper = true}, sink);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_NE(r.status().message().find("\"new\" has trusted.overlay.redirect"),
            absl::string_view::npos)
      << r.status();
  ASSERT_EQ(removexattr((upper_ + "/new").c_str(), "trusted.overlay.redirect"), 0);
  Write(upper_ + "/new/big", "");
  ASSERT_EQ(setxattr((upper_ + "/new/big").c_str(), "trusted.overlay.metacopy", "", 0, 0), 0);
  r = WriteDiff("", upper_, {.overlay_upper = true}, sink);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
}

TEST_F(DiffTest, TwoTreesGiveChangesAndWhiteoutsAndApplyBack) {
  Write(lower_ + "/keep", "same");
  Write(lower_ + "/mod", "old");
  Write(lower_ + "/del", "x");
  ASSERT_EQ(mkdir((lower_ + "/d").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((lower_ + "/d/sub").c_str(), 0755), 0);
  Write(lower_ + "/d/sub/f", "f");
  Write(lower_ + "/d/untouched", "u");
  ASSERT_EQ(mkdir((lower_ + "/rmdir").c_str(), 0755), 0);
  Write(lower_ + "/rmdir/inside", "i");
  // The upper tree starts as a copy, like the native snapshotter's.
  ASSERT_EQ(::system(("cp -a " + lower_ + " " + upper_).c_str()), 0);
  Write(upper_ + "/mod", "new contents");
  ASSERT_EQ(unlink((upper_ + "/del").c_str()), 0);
  ASSERT_EQ(::system(("rm -rf " + upper_ + "/rmdir").c_str()), 0);
  Write(upper_ + "/d/sub/added", "+");

  DiffResult r;
  std::string blob = Diff(lower_, {.compression = Compression::kNone}, &r);
  EXPECT_EQ(r.digest, r.diff_id);
  std::vector<std::string> order;
  auto tar = ReadTar(blob, &order);
  EXPECT_EQ(order, (std::vector<std::string>{".wh.del", ".wh.rmdir", "d/", "d/sub/", "d/sub/added",
                                             "mod"}));
  EXPECT_EQ(tar["mod"].data, "new contents");

  // Applied on a copy of lower, the layer gives upper back.
  const std::string again = top_ + "/again";
  absl::StatusOr<ApplyResult> ar = ApplyOnCopyOfLower(blob, again);
  ASSERT_TRUE(ar.ok()) << ar.status();
  EXPECT_EQ(ar->diff_id, r.diff_id);
  EXPECT_EQ(
      Shell("cd " + upper_ + " && find . -printf '%p %M %s\\n' | sort && cat mod d/sub/added"),
      Shell("cd " + again + " && find . -printf '%p %M %s\\n' | sort && cat mod d/sub/added"));
}

// Metadata-only changes: the native snapshotter's copy keeps ctime from being a guide, and an
// xattr change (a file capability, say) moves nothing else that stat shows.
TEST_F(DiffTest, TwoTreesSeeMetadataOnlyChanges) {
  for (const char* f : {"xattr", "cap", "mode", "owner", "mtime", "same"}) {
    Write(lower_ + "/" + f, "data");
  }
  ASSERT_EQ(mkdir((lower_ + "/dir").c_str(), 0755), 0);
  Write(lower_ + "/dir/inner", "i");
  ASSERT_EQ(setxattr((lower_ + "/same").c_str(), "user.k", "v", 1, 0), 0);
  ASSERT_EQ(::system(("cp -a " + lower_ + " " + upper_).c_str()), 0);
  ASSERT_EQ(setxattr((upper_ + "/xattr").c_str(), "user.note", "1", 1, 0), 0);
  ASSERT_EQ(setxattr((upper_ + "/dir").c_str(), "user.note", "d", 1, 0), 0);
  ASSERT_EQ(chmod((upper_ + "/mode").c_str(), 0600), 0);
  struct timespec t[2] = {{1, 0}, {1, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (upper_ + "/mtime").c_str(), t, 0), 0);
  std::vector<std::string> want = {"dir/", "mode", "mtime", "xattr"};
  if (geteuid() == 0) {
    // cap_net_raw+ep, as setcap writes it (VFS_CAP_REVISION_2).
    const unsigned char cap[20] = {0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0x20, 0, 0};
    ASSERT_EQ(setxattr((upper_ + "/cap").c_str(), "security.capability", cap, sizeof(cap), 0), 0);
    ASSERT_EQ(lchown((upper_ + "/owner").c_str(), 1000, 1000), 0);
    want = {"cap", "dir/", "mode", "mtime", "owner", "xattr"};
  }
  // The changes above move only ctime; the unchanged file's xattr is no change.
  DiffResult r;
  std::string blob = Diff(lower_, {.compression = Compression::kNone}, &r);
  std::vector<std::string> order;
  auto tar = ReadTar(blob, &order);
  EXPECT_EQ(order, want);
  EXPECT_EQ(tar["mode"].perm, 0600u);

  // Applied on a copy of lower, the layer carries the xattrs over.
  const std::string again = top_ + "/again";
  absl::StatusOr<ApplyResult> ar = ApplyOnCopyOfLower(blob, again);
  ASSERT_TRUE(ar.ok()) << ar.status();
  char v[8] = {};
  EXPECT_EQ(getxattr((again + "/xattr").c_str(), "user.note", v, sizeof(v)), 1);
  EXPECT_EQ(v[0], '1');
  EXPECT_EQ(getxattr((again + "/dir").c_str(), "user.note", v, sizeof(v)), 1);
  EXPECT_EQ(v[0], 'd');
}

// The same changes give the same blob, even though the first diff read the files (atime) and
// their metadata changed meanwhile (ctime).
TEST_F(DiffTest, SameChangesSameBlob) {
  ASSERT_EQ(mkdir(upper_.c_str(), 0755), 0);
  Write(upper_ + "/f", "contents");
  struct timespec t[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (upper_ + "/f").c_str(), t, 0), 0);
  DiffResult a, b;
  std::string first = Diff("", {}, &a);
  ASSERT_EQ(chmod((upper_ + "/f").c_str(), 0644), 0);  // same mode, new ctime
  ::usleep(20000);
  std::string second = Diff("", {}, &b);
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_EQ(first, second);
}

TEST_F(DiffTest, EmptyLowerAndZstd) {
  ASSERT_EQ(mkdir(upper_.c_str(), 0755), 0);
  Write(upper_ + "/x", "x");
  DiffResult r;
  std::string blob = Diff("", {.compression = Compression::kZstd}, &r);
  ASSERT_GE(blob.size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>(blob[0]), 0x28);  // zstd magic
  std::vector<std::string> order;
  auto tar = ReadTar(blob, &order);
  EXPECT_EQ(order, (std::vector<std::string>{"x"}));
  EXPECT_NE(r.diff_id, r.digest);
}

TEST(CompressionForMediaType, KnownTypes) {
  EXPECT_EQ(*CompressionForMediaType(""), Compression::kGzip);
  EXPECT_EQ(*CompressionForMediaType("application/vnd.oci.image.layer.v1.tar"), Compression::kNone);
  EXPECT_EQ(*CompressionForMediaType("application/vnd.oci.image.layer.v1.tar+zstd"),
            Compression::kZstd);
  EXPECT_FALSE(CompressionForMediaType("text/plain").ok());
}

}  // namespace
}  // namespace berth::snapshotter
