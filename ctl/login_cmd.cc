// berth login / berth logout: credentials for a registry, checked by the daemon against the
// registry itself (Login RPC) and kept by the CLI in its credentials file (registry_auth.h).
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "berth/services/images/v1/images.grpc.pb.h"
#include "ctl/commands.h"
#include "ctl/container_query.h"
#include "ctl/registry_auth.h"

namespace berth::ctl {
namespace {

namespace pb = berth::services::images::v1;

struct LoginOptions {
  std::string server;
  std::string username;
  std::string password;
  bool password_stdin = false;
};

std::string ReadLine(bool echo) {
  termios old{};
  const bool tty = isatty(0) && tcgetattr(0, &old) == 0;
  if (tty && !echo) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(0, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty && !echo) {
    tcsetattr(0, TCSANOW, &old);
    std::fprintf(stderr, "\n");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int RunLogin(const GlobalOptions& global, LoginOptions opts) {
  const std::string registry = NormalizeRegistryHost(opts.server);
  if (opts.password_stdin) {
    if (!opts.password.empty()) {
      return ReportError(
          absl::InvalidArgumentError("--password and --password-stdin are exclusive"));
    }
    if (opts.username.empty()) {
      return ReportError(
          absl::InvalidArgumentError("must provide --username with --password-stdin"));
    }
    std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    while (!all.empty() && (all.back() == '\n' || all.back() == '\r')) all.pop_back();
    opts.password = all;
  } else if (!opts.password.empty()) {
    std::fprintf(stderr,
                 "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  }
  if (opts.username.empty() || opts.password.empty()) {
    if (!isatty(0)) {
      return ReportError(absl::InvalidArgumentError(
          "cannot prompt for credentials: stdin is not a terminal; use -u and --password-stdin"));
    }
    if (opts.username.empty()) {
      std::fprintf(stderr, "Username: ");
      opts.username = ReadLine(true);
    }
    if (opts.password.empty()) {
      std::fprintf(stderr, "Password: ");
      opts.password = ReadLine(false);
    }
  }
  if (opts.username.empty() || opts.password.empty()) {
    return ReportError(absl::InvalidArgumentError("a username and a password are required"));
  }
  absl::StatusOr<std::unique_ptr<Client>> client = ConnectClient(global);
  if (!client.ok()) return ReportError(client.status());
  auto stub = pb::Images::NewStub((*client)->channel());
  auto ctx = (*client)->Context();
  pb::LoginRequest req;
  req.set_registry(registry);
  req.mutable_options()->set_username(opts.username);
  req.mutable_options()->set_password(opts.password);
  pb::LoginResponse resp;
  grpc::Status st = stub->Login(ctx.get(), req, &resp);
  if (!st.ok()) return ReportError(CallError(**client, st));
  if (absl::Status s = StoreCredentials(registry, {opts.username, opts.password}); !s.ok()) {
    return ReportError(s);
  }
  std::printf("Login Succeeded\n");
  return 0;
}

int RunLogout(const std::string& server) {
  const std::string registry = NormalizeRegistryHost(server);
  absl::StatusOr<bool> removed = RemoveCredentials(registry);
  if (!removed.ok()) return ReportError(removed.status());
  if (*removed) {
    std::printf("Removing login credentials for %s\n", registry.c_str());
  } else {
    std::printf("Not logged in to %s\n", registry.c_str());
  }
  return 0;
}

}  // namespace

void AddLoginCommand(CLI::App& app, Run* run) {
  auto opts = std::make_shared<LoginOptions>();
  CLI::App* cmd = app.add_subcommand("login", "Log in to a registry");
  cmd->add_option("SERVER", opts->server, "registry host[:port] (default: docker.io)");
  cmd->add_option("-u,--username", opts->username, "username");
  cmd->add_option("-p,--password", opts->password, "password");
  cmd->add_flag("--password-stdin", opts->password_stdin, "take the password from stdin");
  cmd->callback(
      [run, opts] { *run = [opts](const GlobalOptions& g) { return RunLogin(g, *opts); }; });

  auto server = std::make_shared<std::string>();
  CLI::App* out = app.add_subcommand("logout", "Log out from a registry");
  out->add_option("SERVER", *server, "registry host[:port] (default: docker.io)");
  out->callback(
      [run, server] { *run = [server](const GlobalOptions&) { return RunLogout(*server); }; });
}

}  // namespace berth::ctl
