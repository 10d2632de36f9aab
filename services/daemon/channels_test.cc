// Channels: the in-process channel is lent, counted, and refused once closing begins.
#include <grpcpp/grpcpp.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "berth/services/version/v1/version.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/daemon/registry.h"

namespace berth::daemon {
namespace {

class ChannelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&version_);  // a server needs a service to start
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channels_.MarkLocal("events");
    channels_.SetServer(server_.get());
  }
  void TearDown() override {
    server_->Shutdown();
    channels_.SetServer(nullptr);
  }

  ::berth::services::version::v1::Version::Service version_;
  std::unique_ptr<grpc::Server> server_;
  Channels channels_;
};

TEST_F(ChannelsTest, OnlyKnownServicesGetAChannel) {
  EXPECT_NE(channels_.Get("events"), nullptr);
  EXPECT_EQ(channels_.Get("images"), nullptr);
}

TEST_F(ChannelsTest, CloseRunsCallbacksThenRefusesAndWaitsForWhatIsLent) {
  std::shared_ptr<grpc::Channel> lent = channels_.Get("events");
  ASSERT_NE(lent, nullptr);
  bool called = false;
  channels_.OnClose([&] {
    called = true;
    // Callbacks run once no new channel is lent, so a stopping thread cannot get one.
    EXPECT_EQ(channels_.Get("events"), nullptr);
  });
  absl::Notification closed;
  std::thread closer([&] {
    EXPECT_TRUE(channels_.Close(absl::Seconds(30)));
    closed.Notify();
  });
  // Close must wait while a copy is still held.
  EXPECT_FALSE(closed.WaitForNotificationWithTimeout(absl::Milliseconds(200)));
  std::shared_ptr<grpc::Channel> copy = lent;  // copies share the one loan
  lent.reset();
  EXPECT_FALSE(closed.WaitForNotificationWithTimeout(absl::Milliseconds(100)));
  copy.reset();
  EXPECT_TRUE(closed.WaitForNotificationWithTimeout(absl::Seconds(30)));
  closer.join();
  EXPECT_TRUE(called);
  EXPECT_EQ(channels_.Get("events"), nullptr);
}

TEST_F(ChannelsTest, CloseGivesUpAfterItsTimeout) {
  std::shared_ptr<grpc::Channel> kept = channels_.Get("events");
  EXPECT_FALSE(channels_.Close(absl::Milliseconds(50)));
}

}  // namespace
}  // namespace berth::daemon
