#include "common/signal.h"

#include <signal.h>

#include <cstring>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace berth {
namespace {

struct Named {
  const char* name;
  int number;
};

// The standard signals, in number order so that SignalName finds the usual name first, then
// the aliases Docker's table also accepts. Real-time signals are RTMIN+n / RTMAX-n.
constexpr Named kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},   {"IOT", SIGIOT},
    {"CLD", SIGCHLD},  {"POLL", SIGPOLL},
};

absl::Status Unknown(absl::string_view text) {
  return absl::InvalidArgumentError(absl::StrCat("unknown signal \"", text, "\""));
}

}  // namespace

absl::StatusOr<int> ParseSignal(absl::string_view text) {
  int n = 0;
  if (absl::SimpleAtoi(text, &n)) {
    if (n <= 0 || n >= NSIG)
      return absl::InvalidArgumentError(absl::StrCat("invalid signal ", text));
    return n;
  }
  std::string name = absl::AsciiStrToUpper(text);
  if (absl::StartsWith(name, "SIG")) name = name.substr(3);
  for (const Named& s : kSignals) {
    if (name == s.name) return s.number;
  }
  // RTMIN, RTMIN+n, RTMAX, RTMAX-n, staying within the real-time range.
  for (const auto& [prefix, base, sign] :
       {std::tuple<const char*, int, int>{"RTMIN", SIGRTMIN, 1}, {"RTMAX", SIGRTMAX, -1}}) {
    if (!absl::StartsWith(name, prefix)) continue;
    absl::string_view rest = absl::string_view(name).substr(std::strlen(prefix));
    if (rest.empty()) return base;
    if (rest[0] != (sign > 0 ? '+' : '-')) return Unknown(text);
    int offset = 0;
    rest.remove_prefix(1);
    if (rest.empty() || !absl::ascii_isdigit(rest[0]) || !absl::SimpleAtoi(rest, &offset) ||
        offset > SIGRTMAX - SIGRTMIN) {
      return Unknown(text);
    }
    return base + sign * offset;
  }
  return Unknown(text);
}

std::string SignalName(int signal) {
  for (const Named& s : kSignals) {
    if (s.number == signal) return absl::StrCat("SIG", s.name);
  }
  if (signal == SIGRTMIN) return "SIGRTMIN";
  if (signal == SIGRTMAX) return "SIGRTMAX";
  // Docker's and the kernel's naming: the lower half counts up from RTMIN, the upper half
  // down from RTMAX.
  if (signal > SIGRTMIN && signal < SIGRTMAX) {
    const int mid = SIGRTMIN + (SIGRTMAX - SIGRTMIN) / 2;
    if (signal <= mid) return absl::StrCat("SIGRTMIN+", signal - SIGRTMIN);
    return absl::StrCat("SIGRTMAX-", SIGRTMAX - signal);
  }
  return absl::StrCat(signal);
}

}  // namespace berth
