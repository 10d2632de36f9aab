// berth-shim terminals, ResizePty, Attach, log rotation and log/timeout flags. Needs root.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e/shim_fixture.h"

namespace berth::e2e {
namespace {

// The init on a pty: ResizePty before Start sets the size `stty size` reports; the output
// comes through the pty as stdout, to the log and to an attachment made before Start.
TEST_F(Shim, TerminalTaskTakesTheSizeSetByResizePty) {
  BusyboxBundle b = Bundle({"sh", "-c", "stty size; tty"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  v1::Response mismatch = c.Call(Make([&](v1::Request& r) {
    r.mutable_create()->set_id(id_);
    r.mutable_create()->set_bundle(b.dir());
    r.mutable_create()->set_terminal(true);
  }));
  EXPECT_EQ(mismatch.code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(mismatch.message().find("process.terminal is false"), std::string::npos)
      << mismatch.message();

  b.spec()["process"]["terminal"] = true;
  b.Write();
  v1::Response created = c.Call(Make([&](v1::Request& r) {
    r.mutable_create()->set_id(id_);
    r.mutable_create()->set_bundle(b.dir());
    r.mutable_create()->set_terminal(true);
  }));
  ASSERT_EQ(created.code(), 0) << created.message();
  EXPECT_TRUE(c.Call(Make([](v1::Request& r) { r.mutable_state(); })).state().terminal());
  v1::Response resized = c.Call(Resize("", 100, 30));
  ASSERT_EQ(resized.code(), 0) << resized.message();
  std::vector<int> fds;
  v1::Response attached = Attach(c, "", false, true, true, &fds);
  ASSERT_EQ(attached.code(), 0) << attached.message();
  ASSERT_EQ(attached.attach().fds_size(), 1) << "a pty has no stderr of its own";
  EXPECT_EQ(attached.attach().fds(0), v1::FD_ROLE_STDOUT);
  ASSERT_EQ(fds.size(), 1u);

  ASSERT_EQ(c.Call(Start()).code(), 0);
  v1::Response waited = c.Call(Wait());
  EXPECT_EQ(waited.wait().exit_status(), 0u);
  Read out = ReadFd(fds[0]);
  EXPECT_TRUE(out.eof) << "the attachment ends with the output";
  EXPECT_NE(out.data.find("30 100\r\n"), std::string::npos) << out.data;
  EXPECT_NE(out.data.find("/dev/pts/"), std::string::npos) << out.data;
  const std::string log = Slurp(tmp_.path() + "/shim/log.json");
  EXPECT_NE(log.find(R"({"log":"30 100\r\n","stream":"stdout")"), std::string::npos) << log;

  EXPECT_EQ(c.Call(Resize("nope", 80, 24)).code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0) << shim->Stderr();
}

// An exec'd process on a pty: resized after Start, fed through a stdin attachment, and given
// the terminal's EOF (^D) by CloseIO.
TEST_F(Shim, TerminalExecResizesTakesStdinAndEndsWithCloseIO) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  EXPECT_EQ(c.Call(Resize("", 80, 24)).code(), kFailedPrecondition) << "the init has no pty";

  ASSERT_EQ(c.Call(ExecOf("t1", "read line; echo got-$line; stty size", true, true)).code(), 0);
  v1::Response started = c.Call(Start("t1"));
  ASSERT_EQ(started.code(), 0) << started.message();
  EXPECT_NE(Slurp(tmp_.path() + "/shim/process-t1.json").find("\"terminal\":true"),
            std::string::npos);
  ASSERT_EQ(c.Call(Resize("t1", 120, 40)).code(), 0);
  std::vector<int> fds;
  v1::Response attached = Attach(c, "t1", true, true, false, &fds);
  ASSERT_EQ(attached.code(), 0) << attached.message();
  ASSERT_EQ(attached.attach().fds_size(), 2);
  EXPECT_EQ(attached.attach().fds(0), v1::FD_ROLE_STDIN);
  EXPECT_EQ(attached.attach().fds(1), v1::FD_ROLE_STDOUT);
  ASSERT_EQ(write(fds[0], "hi\n", 3), 3);
  v1::Response waited = c.Call(Wait("t1"));
  EXPECT_EQ(waited.wait().exit_status(), 0u);
  Read out = ReadFd(fds[1]);
  EXPECT_TRUE(out.eof);
  EXPECT_NE(out.data.find("got-hi"), std::string::npos) << out.data;
  EXPECT_NE(out.data.find("40 120"), std::string::npos) << out.data;
  EXPECT_NE(Slurp(tmp_.path() + "/shim/log-t1.json").find("40 120"), std::string::npos);

  // `cat` on a terminal ends at ^D, which is what CloseIO sends.
  ASSERT_EQ(c.Call(ExecOf("t2", "cat; echo cat-done", true, true)).code(), 0);
  ASSERT_EQ(c.Call(Start("t2")).code(), 0);
  ASSERT_EQ(c.Call(Make([](v1::Request& r) {
               r.mutable_close_io()->set_exec_id("t2");
               r.mutable_close_io()->set_stdin(true);
             })).code(),
            0);
  v1::Response t2 = c.Call(Wait("t2"));
  EXPECT_EQ(t2.wait().exit_status(), 0u);
  EXPECT_NE(Slurp(tmp_.path() + "/shim/log-t2.json").find("cat-done"), std::string::npos);
  Finish(c, *shim);
}

// Two clients attached to one `cat`: what one writes to its stdin, both read back. One client
// attaches before Start and misses nothing; an attachment ending does not end the stdin.
TEST_F(Shim, AttachedClientsShareStdinAndOutput) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_), a(sock_), d(sock_);
  for (ShimClient* x : {&c, &a, &d}) ASSERT_EQ(x->Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  std::vector<int> fds;
  v1::Response no_stdin = Attach(c, "", true, true, false, &fds);
  EXPECT_EQ(no_stdin.code(), kFailedPrecondition);
  EXPECT_NE(no_stdin.message().find("was not created with stdin open"), std::string::npos)
      << no_stdin.message();
  EXPECT_TRUE(fds.empty());

  ASSERT_EQ(c.Call(ExecOf("e1", "echo early; cat", false, true)).code(), 0);
  std::vector<int> fa;
  v1::Response ra = Attach(a, "e1", true, true, true, &fa);
  ASSERT_EQ(ra.code(), 0) << ra.message();
  ASSERT_EQ(ra.attach().fds_size(), 3);
  EXPECT_EQ(ra.attach().fds(0), v1::FD_ROLE_STDIN);
  EXPECT_EQ(ra.attach().fds(1), v1::FD_ROLE_STDOUT);
  EXPECT_EQ(ra.attach().fds(2), v1::FD_ROLE_STDERR);
  ASSERT_EQ(fa.size(), 3u);
  ASSERT_EQ(c.Call(Start("e1")).code(), 0);
  EXPECT_EQ(ReadFd(fa[1], "early\n").data, "early\n") << "attached before Start: nothing missed";
  std::vector<int> fd;
  v1::Response rd = Attach(d, "e1", false, true, false, &fd);
  ASSERT_EQ(rd.code(), 0) << rd.message();
  ASSERT_EQ(fd.size(), 1u);
  EXPECT_EQ(c.Call(Resize("e1", 80, 24)).code(), kFailedPrecondition);

  ASSERT_EQ(write(fa[0], "hello\n", 6), 6);
  EXPECT_EQ(ReadFd(fa[1], "hello\n").data, "hello\n");
  EXPECT_EQ(ReadFd(fd[0], "hello\n").data, "hello\n");
  // The first client's stdin goes away; the process's stdin stays open for the second one.
  close(fa[0]);
  fds_.erase(std::find(fds_.begin(), fds_.end(), fa[0]));
  std::vector<int> fin;
  ASSERT_EQ(Attach(d, "e1", true, false, false, &fin).code(), 0);
  ASSERT_EQ(fin.size(), 1u);
  ASSERT_EQ(write(fin[0], "again\n", 6), 6);
  EXPECT_EQ(ReadFd(fa[1], "again\n").data, "again\n");
  EXPECT_EQ(ReadFd(fd[0], "again\n").data, "again\n");

  // Bytes written just before CloseIO still reach the process before its stdin closes.
  ASSERT_EQ(write(fin[0], "last\n", 5), 5);
  ASSERT_EQ(c.Call(Make([](v1::Request& r) {
               r.mutable_close_io()->set_exec_id("e1");
               r.mutable_close_io()->set_stdin(true);
             })).code(),
            0);
  EXPECT_EQ(c.Call(Wait("e1")).wait().exit_status(), 0u);
  for (int out : {fa[1], fd[0]}) {
    Read rest = ReadFd(out);
    EXPECT_TRUE(rest.eof) << "the attachments end when the output does";
    EXPECT_EQ(rest.data, "last\n");
  }
  Read err = ReadFd(fa[2]);
  EXPECT_TRUE(err.eof);
  EXPECT_EQ(err.data, "");
  EXPECT_NE(Slurp(tmp_.path() + "/shim/log-e1.json").find(R"("log":"last\n")"), std::string::npos);
  Finish(c, *shim);
}

// An exec id used again after Delete: a background child of the first process still holds
// its output pipe and writes later; that goes to neither the new process's log nor its
// attachments, and its EOF does not end them.
TEST_F(Shim, AReusedExecIdGetsOnlyItsOwnOutput) {
  BusyboxBundle b = Bundle({"sleep", "1000"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  ASSERT_EQ(c.Call(ExecOf("e1", "(sleep 1; echo stale) & echo first", false, false)).code(), 0);
  ASSERT_EQ(c.Call(Start("e1")).code(), 0);
  ASSERT_EQ(c.Call(Wait("e1")).code(), 0);
  ASSERT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_()->set_exec_id("e1"); })).code(), 0);
  ASSERT_EQ(c.Call(ExecOf("e1", "sleep 2; echo second", false, false)).code(), 0);
  std::vector<int> fds;
  ASSERT_EQ(Attach(c, "e1", false, true, false, &fds).code(), 0);
  ASSERT_EQ(c.Call(Start("e1")).code(), 0);
  Read out = ReadFd(fds[0]);
  EXPECT_TRUE(out.eof);
  EXPECT_EQ(out.data, "second\n");
  EXPECT_EQ(Slurp(tmp_.path() + "/shim/log-e1.json").find("stale"), std::string::npos);
  Finish(c, *shim);
}

TEST_F(Shim, AttachingToAnExitedProcessGivesEof) {
  BusyboxBundle b = Bundle({"sh", "-c", "echo done"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  ASSERT_EQ(c.Call(Wait()).code(), 0);
  std::vector<int> fds;
  v1::Response attached = Attach(c, "", false, true, true, &fds);
  ASSERT_EQ(attached.code(), 0) << attached.message();
  ASSERT_EQ(fds.size(), 2u);
  for (int fd : fds) {
    Read r = ReadFd(fd, "", std::chrono::seconds(2));
    EXPECT_TRUE(r.eof);
    EXPECT_EQ(r.data, "");
  }
  EXPECT_EQ(Attach(c, "nope", false, true, false, &fds).code(),
            static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0) << shim->Stderr();
}

// An attachment whose reader does not read is dropped once its pipe is full; the log still
// gets every byte, and the loop never waits for the reader.
TEST_F(Shim, ALaggingAttachmentIsDroppedTheLogKeepsEverything) {
  constexpr int kBytes = 3000000;
  BusyboxBundle b =
      Bundle({"sh", "-c",
              "head -c " + std::to_string(kBytes) + " /dev/zero | tr '\\0' x; echo; echo end"});
  auto shim = StartShim();
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  std::vector<int> fds;
  ASSERT_EQ(Attach(c, "", false, true, false, &fds).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  EXPECT_EQ(c.Call(Wait()).wait().exit_status(), 0u);
  Read r = ReadFd(fds[0]);
  EXPECT_TRUE(r.eof);
  EXPECT_GT(r.data.size(), 0u);
  EXPECT_LT(r.data.size(), static_cast<size_t>(kBytes));
  const std::string log = Slurp(tmp_.path() + "/shim/log.json");
  EXPECT_EQ(std::count(log.begin(), log.end(), 'x'), kBytes);
  EXPECT_NE(log.find(R"({"log":"end\n")"), std::string::npos);
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0);
  EXPECT_NE(shim->Stderr().find("dropped an attachment"), std::string::npos) << shim->Stderr();
}

// --log-max-size 300 --log-max-files 3: log.json is newest, then log.json.1, log.json.2; no
// more; each within the size; together the latest lines, in order.
TEST_F(Shim, LogRotationKeepsMaxFiles) {
  BusyboxBundle b = Bundle({"sh", "-c", "for i in $(seq 1 60); do echo line-$i; done"});
  auto shim = StartShim({"--log-max-size", "300", "--log-max-files", "3"});
  ShimClient c(sock_);
  ASSERT_EQ(c.Call(Connect()).code(), 0);
  ASSERT_EQ(c.Call(Create(b)).code(), 0);
  ASSERT_EQ(c.Call(Start()).code(), 0);
  EXPECT_EQ(c.Call(Wait()).wait().exit_status(), 0u);
  const std::string dir = tmp_.path() + "/shim/";
  std::string all;
  for (const char* name : {"log.json.2", "log.json.1", "log.json"}) {
    struct stat st;
    ASSERT_EQ(stat((dir + name).c_str(), &st), 0) << name;
    EXPECT_LE(st.st_size, 300) << name;
    EXPECT_GT(st.st_size, 0) << name;
    all += Slurp(dir + name);
  }
  EXPECT_NE(access((dir + "log.json.3").c_str(), F_OK), 0) << "at most 3 files in all";
  std::vector<int> lines;
  std::istringstream in(all);
  for (std::string rec; std::getline(in, rec);) {
    auto j = nlohmann::json::parse(rec);
    EXPECT_EQ(j["stream"], "stdout");
    lines.push_back(std::stoi(j["log"].get<std::string>().substr(5)));
  }
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), 60);
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_EQ(lines[i], lines[i - 1] + 1);
  EXPECT_EQ(c.Call(Make([](v1::Request& r) { r.mutable_delete_(); })).code(), 0);
  c.Call(Make([](v1::Request& r) { r.mutable_shutdown(); }));
  EXPECT_EQ(shim->Wait(), 0);
}

TEST_F(Shim, BadLogAndTimeoutFlagsAreRefused) {
  for (const auto& flags :
       std::vector<std::vector<std::string>>{{"--log-max-size", "10k"},
                                             {"--log-max-size", "1", "--log-max-files", "0"},
                                             {"--runtime-timeout", "0s"},
                                             {"--runtime-timeout", "90"}}) {
    std::vector<std::string> argv = {kShim,
                                     "--id",
                                     id_,
                                     "--socket",
                                     tmp_.path() + "/x.sock",
                                     "--state",
                                     tmp_.path() + "/x",
                                     "--foreground"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find(flags[flags.size() - 2]), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace berth::e2e
