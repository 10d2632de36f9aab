#include "services/images/reference.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace berth::images {
namespace {

using ::testing::HasSubstr;

const std::string kHex(64, 'a');

struct Case {
  std::string in;
  std::string want;
};

TEST(Reference, NormalizesAsDocker) {
  const Case cases[] = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36"},
      {"foo/bar", "docker.io/foo/bar:latest"},
      {"foo/bar/baz:v1", "docker.io/foo/bar/baz:v1"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"index.docker.io/library/busybox:x", "docker.io/library/busybox:x"},
      {"localhost/x", "localhost/x:latest"},
      {"localhost:5000/x", "localhost:5000/x:latest"},
      {"localhost:5000/a/b:tag", "localhost:5000/a/b:tag"},
      {"127.0.0.1:5000/x:1", "127.0.0.1:5000/x:1"},
      {"quay.io/coreos/etcd", "quay.io/coreos/etcd:latest"},
      {"my-registry.example.com/a.b_c__d-e---f:T_.-9",
       "my-registry.example.com/a.b_c__d-e---f:T_.-9"},
      {"busybox@sha256:" + kHex, "docker.io/library/busybox@sha256:" + kHex},
      {"busybox:1@sha256:" + kHex, "docker.io/library/busybox@sha256:" + kHex},
      {"localhost:5000/x@sha256:" + kHex, "localhost:5000/x@sha256:" + kHex},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> got = Normalize(c.in);
    ASSERT_TRUE(got.ok()) << c.in << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.in;
    // Normalising is idempotent.
    EXPECT_EQ(*Normalize(*got), c.want);
  }
}

TEST(Reference, Parts) {
  absl::StatusOr<Reference> r = ParseNormalized("localhost:5000/team/app:v2");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->domain, "localhost:5000");
  EXPECT_EQ(r->path, "team/app");
  EXPECT_EQ(r->tag, "v2");
  EXPECT_EQ(r->digest, "");
  EXPECT_EQ(r->Repository(), "localhost:5000/team/app");
}

TEST(Reference, FamiliarForms) {
  EXPECT_EQ(ParseNormalized("busybox")->FamiliarString(), "busybox:latest");
  EXPECT_EQ(ParseNormalized("busybox")->FamiliarRepository(), "busybox");
  EXPECT_EQ(ParseNormalized("foo/bar:1")->FamiliarString(), "foo/bar:1");
  EXPECT_EQ(ParseNormalized("docker.io/library/a/b")->FamiliarRepository(), "library/a/b");
  EXPECT_EQ(ParseNormalized("localhost:5000/x")->FamiliarRepository(), "localhost:5000/x");
  EXPECT_EQ(ParseNormalized("x@sha256:" + kHex)->FamiliarString(), "x@sha256:" + kHex);
}

struct Bad {
  std::string in;
  const char* why;
};

TEST(Reference, InvalidReferencesSayWhy) {
  const Bad cases[] = {
      {"", "it is empty"},
      {"BusyBox", "must be lowercase"},
      {"foo/Bar", "must be lowercase"},
      {"busybox:", "tag \"\""},
      {"busybox:-x", "tag \"-x\""},
      {"busybox:" + std::string(129, 'a'), "tag"},
      {"busybox@sha256:abc", "is not sha256:<64 lowercase hex digits>"},
      {"busybox@md5:" + kHex, "is not sha256"},
      {kHex, "image ID"},
      {":tag", "no repository name"},
      {"a//b", "name component \"\""},
      {"a/-b", "name component \"-b\""},
      {"a/b./c", "name component \"b.\""},
      {"a/b...c", "name component \"b...c\""},
      {"bad_host.com:port/x", "registry \"bad_host.com:port\""},
      {"localhost:5000/", "no repository name after the registry"},
      {"x/" + std::string(300, 'a'), "longer than 255"},
      {"a b", "name component \"a b\""},
      {"busybox@", "digest \"\""},
  };
  for (const Bad& c : cases) {
    absl::StatusOr<std::string> got = Normalize(c.in);
    ASSERT_FALSE(got.ok()) << c.in << " gave " << *got;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.in;
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(c.why)) << c.in;
    EXPECT_THAT(std::string(got.status().message()), HasSubstr("invalid reference")) << c.in;
  }
}

TEST(Reference, DanglingNamesAreValidReferencesOfNoRegistry) {
  const std::string digest = "sha256:" + std::string(64, 'a');
  const std::string name = DanglingName(digest);
  EXPECT_EQ(name, "berth.invalid/dangling@" + digest);
  EXPECT_TRUE(IsDanglingName(name));
  absl::StatusOr<Reference> ref = ParseNormalized(name);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->String(), name);
  EXPECT_EQ(ref->domain, "berth.invalid");
  EXPECT_FALSE(IsDanglingName("docker.io/library/busybox:latest"));
  EXPECT_FALSE(IsDanglingName("berth.invalid/dangling:latest"));
}

}  // namespace
}  // namespace berth::images
