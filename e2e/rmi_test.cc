// rmi and inspect of an image whose names moved while a container uses it: the container
// records the image's ID at create (berth.io/image-id), so `rmi` of the image's remaining
// names still sees it, and `inspect` still shows "Image": "sha256:<config digest>" once the
// name it was created from is gone or names another image. Through the real CLI against a
// real berthd, in a namespace of its own. Needs root.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "e2e/harness/engine.h"
#include "e2e/harness/process.h"

namespace berth::e2e {
namespace {

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

class RmiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(engine_.started()) << engine_.Stderr();
    for (const auto& [name, extra] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"busybox", {}}, {"other", {"--cmd", "echo", "other"}}}) {
      CommandResult r = engine_.LoadImage(name, extra);
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }

  void TearDown() override { engine_.RemoveAll(); }

  CommandResult Berth(std::vector<std::string> args) { return engine_.Berth(std::move(args)); }

  std::string ImageId(const std::string& name) {
    return Trim(Berth({"images", "-q", "--no-trunc", name}).out);
  }

  // Exactly one line on stderr holding `text`, and the exit code.
  static void ExpectError(const CommandResult& r, int code, const std::string& text) {
    EXPECT_EQ(r.exit_code, code) << r.out << r.err;
    EXPECT_EQ(std::vector<std::string>(absl::StrSplit(r.err, '\n', absl::SkipEmpty())).size(), 1u)
        << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, text)) << r.err;
  }

  Engine engine_{{.prefix = "berth-rmi", .ns = "e2e-rmi"}};
};

TEST_F(RmiTest, AContainerKeepsItsImageByIdAfterItsNameMoves) {
  const std::string id = ImageId("busybox");
  ASSERT_EQ(id.size(), 71u) << id;
  const std::string short_id = id.substr(7, 12);
  const std::string other_id = ImageId("other");
  ASSERT_EQ(other_id.size(), 71u) << other_id;
  ASSERT_NE(other_id, id);

  CommandResult created = Berth({"create", "--name", "rmi-user", "busybox", "true"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string container = Trim(created.out);
  const std::string short_container = container.substr(0, 12);
  EXPECT_EQ(engine_.Labels(container)["berth.io/image-id"], id);

  // The image gets a second name; the one the container was created from goes.
  const std::string b = "localhost/rmi-b:1";
  ASSERT_EQ(Berth({"tag", "busybox", b}).exit_code, 0);
  CommandResult rmi = Berth({"rmi", "busybox"});
  EXPECT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out, "Untagged: busybox:latest\n");

  // The container's name for its image no longer resolves; rmi still sees it by ID.
  rmi = Berth({"rmi", b});
  ExpectError(rmi, 1,
              "Error response from daemon: conflict: unable to remove repository reference \"" + b +
                  "\" (must force) - container " + short_container +
                  " is using its referenced image " + short_id);
  EXPECT_EQ(rmi.out, "");
  rmi = Berth({"rmi", short_id});
  ExpectError(rmi, 1,
              "Error response from daemon: conflict: unable to delete " + short_id +
                  " (must be forced) - image is being used by stopped container " +
                  short_container);
  EXPECT_EQ(ImageId(b), id);

  // inspect: .Image is the ID, .Config.Image the name as given, even once that name is
  // another image's.
  EXPECT_EQ(Trim(Berth({"inspect", "-f", "{{.Image}}", "rmi-user"}).out), id);
  EXPECT_EQ(Trim(Berth({"inspect", "-f", "{{.Config.Image}}", "rmi-user"}).out), "busybox");
  ASSERT_EQ(Berth({"tag", "other", "busybox"}).exit_code, 0);
  EXPECT_EQ(Trim(Berth({"inspect", "-f", "{{.Image}}", "rmi-user"}).out), id);
  // That other image is not the container's: its names go without -f.
  rmi = Berth({"rmi", "busybox"});
  EXPECT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(rmi.out, "Untagged: busybox:latest\n");

  // -f removes the image's last name; the ID stays on the container.
  rmi = Berth({"rmi", "-f", b});
  EXPECT_EQ(rmi.exit_code, 0) << rmi.err;
  EXPECT_EQ(ImageId(b), "");
  EXPECT_EQ(Trim(Berth({"inspect", "-f", "{{.Image}}", "rmi-user"}).out), id);
  CommandResult start = Berth({"start", "-a", "rmi-user"});
  EXPECT_EQ(start.exit_code, 0) << start.err;
}

}  // namespace
}  // namespace berth::e2e
