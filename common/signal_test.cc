#include "common/signal.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace berth {
namespace {

TEST(ParseSignal, NamesWithAndWithoutSigAnyCase) {
  EXPECT_EQ(*ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("TERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("sigkill"), SIGKILL);
  EXPECT_EQ(*ParseSignal("Hup"), SIGHUP);
  EXPECT_EQ(*ParseSignal("SIGWINCH"), SIGWINCH);
}

TEST(ParseSignal, Numbers) {
  EXPECT_EQ(*ParseSignal("15"), 15);
  EXPECT_EQ(*ParseSignal("9"), 9);
  EXPECT_EQ(*ParseSignal("64"), 64);
  EXPECT_FALSE(ParseSignal("0").ok());
  EXPECT_FALSE(ParseSignal("-9").ok());
  EXPECT_FALSE(ParseSignal("65").ok());
  EXPECT_EQ(ParseSignal("0").status().message(), "invalid signal 0");
}

TEST(ParseSignal, Aliases) {
  EXPECT_EQ(*ParseSignal("IOT"), SIGABRT);
  EXPECT_EQ(*ParseSignal("CLD"), SIGCHLD);
  EXPECT_EQ(*ParseSignal("SIGPOLL"), SIGIO);
}

TEST(ParseSignal, RealTime) {
  EXPECT_EQ(*ParseSignal("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(*ParseSignal("RTMIN+3"), SIGRTMIN + 3);
  EXPECT_EQ(*ParseSignal("rtmax-1"), SIGRTMAX - 1);
  EXPECT_EQ(*ParseSignal("SIGRTMAX"), SIGRTMAX);
  EXPECT_FALSE(ParseSignal("RTMIN-1").ok());
  EXPECT_FALSE(ParseSignal("RTMAX+1").ok());
  EXPECT_FALSE(ParseSignal("RTMIN+").ok());
  EXPECT_FALSE(ParseSignal("RTMIN+99").ok());
  EXPECT_FALSE(ParseSignal("RTMIN+-1").ok());
}

TEST(ParseSignal, UnknownNamesTheInput) {
  absl::StatusOr<int> s = ParseSignal("SIGFOO");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "unknown signal \"SIGFOO\"");
  EXPECT_FALSE(ParseSignal("").ok());
  EXPECT_FALSE(ParseSignal("SIG").ok());
}

TEST(SignalName, NamesAndRoundTrip) {
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
  EXPECT_EQ(SignalName(SIGCHLD), "SIGCHLD");
  EXPECT_EQ(SignalName(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(SignalName(SIGRTMIN + 3), "SIGRTMIN+3");
  EXPECT_EQ(SignalName(SIGRTMAX - 2), "SIGRTMAX-2");
  EXPECT_EQ(SignalName(SIGRTMAX), "SIGRTMAX");
  EXPECT_EQ(SignalName(200), "200");
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == 32 || sig == 33) continue;  // reserved by glibc below SIGRTMIN
    absl::StatusOr<int> back = ParseSignal(SignalName(sig));
    ASSERT_TRUE(back.ok()) << sig << " " << SignalName(sig);
    EXPECT_EQ(*back, sig);
  }
}

}  // namespace
}  // namespace berth
