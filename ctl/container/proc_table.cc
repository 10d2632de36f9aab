#include "ctl/container/proc_table.h"

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace berth::ctl {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

std::string UserName(uint32_t uid) {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return absl::StrCat(uid);
}

// The fields of /proc/<pid>/stat after "(comm)"; comm itself in `comm`.
bool StatFields(const std::string& stat, std::string* comm, std::vector<std::string>* fields) {
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return false;
  *comm = stat.substr(open + 1, close - open - 1);
  *fields =
      absl::StrSplit(absl::StripAsciiWhitespace(stat.substr(close + 1)), ' ', absl::SkipEmpty());
  return fields->size() > 19;
}

}  // namespace

absl::StatusOr<ProcClock> ProcClock::Read(const std::string& proc) {
  ProcClock c;
  c.now = absl::Now();
  c.zone = absl::LocalTimeZone();
  const long ticks = sysconf(_SC_CLK_TCK);
  if (ticks > 0) c.ticks_per_second = ticks;
  std::string stat;
  if (!ReadFile(proc + "/stat", &stat)) {
    return absl::UnavailableError(absl::StrCat("read ", proc, "/stat: cannot open"));
  }
  for (absl::string_view line : absl::StrSplit(stat, '\n')) {
    if (absl::ConsumePrefix(&line, "btime ")) {
      int64_t secs = 0;
      if (absl::SimpleAtoi(line, &secs)) {
        c.boot = absl::FromUnixSeconds(secs);
        return c;
      }
    }
  }
  return absl::UnavailableError(absl::StrCat(proc, "/stat has no btime"));
}

std::string PsStartTime(absl::Time start, absl::Time now, absl::TimeZone zone) {
  const absl::Duration age = now - start;
  if (age > absl::Hours(24 * 365)) return absl::FormatTime("%Y", start, zone);
  if (age > absl::Hours(24)) return absl::FormatTime("%b%d", start, zone);
  return absl::FormatTime("%H:%M", start, zone);
}

std::string PsCpuTime(int64_t seconds) {
  const int64_t days = seconds / 86400;
  seconds %= 86400;
  std::string out = days > 0 ? absl::StrCat(days, "-") : "";
  absl::StrAppendFormat(&out, "%02d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60);
  return out;
}

std::string PsTty(uint64_t tty_nr) {
  if (tty_nr == 0) return "?";
  const uint64_t major = (tty_nr >> 8) & 0xfff;
  const uint64_t minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return absl::StrCat("pts/", (major - 136) * 256 + minor);
  if (major == 4) return minor < 64 ? absl::StrCat("tty", minor) : absl::StrCat("ttyS", minor - 64);
  return "?";
}

ProcTable ReadPsEf(const std::set<int>& pids, const ProcClock& clock, const std::string& proc) {
  ProcTable t;
  t.titles = {"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"};
  for (int pid : pids) {
    const std::string dir = absl::StrCat(proc, "/", pid);
    std::string stat, status, cmdline;
    std::string comm;
    std::vector<std::string> f;
    if (!ReadFile(dir + "/stat", &stat) || !StatFields(stat, &comm, &f)) continue;
    ReadFile(dir + "/status", &status);
    ReadFile(dir + "/cmdline", &cmdline);
    uint32_t euid = 0;
    for (absl::string_view line : absl::StrSplit(status, '\n')) {
      if (absl::ConsumePrefix(&line, "Uid:")) {
        std::vector<absl::string_view> ids = absl::StrSplit(line, '\t', absl::SkipEmpty());
        if (ids.size() > 1) (void)absl::SimpleAtoi(ids[1], &euid);
      }
    }
    uint64_t tty = 0, utime = 0, stime = 0, start_ticks = 0;
    (void)absl::SimpleAtoi(f[4], &tty);
    (void)absl::SimpleAtoi(f[11], &utime);
    (void)absl::SimpleAtoi(f[12], &stime);
    (void)absl::SimpleAtoi(f[19], &start_ticks);
    const double tps = static_cast<double>(clock.ticks_per_second);
    const absl::Time start = clock.boot + absl::Seconds(static_cast<double>(start_ticks) / tps);
    const double cpu_seconds = static_cast<double>(utime + stime) / tps;
    const double elapsed = absl::ToDoubleSeconds(clock.now - start);
    const int c = elapsed > 0 ? static_cast<int>(cpu_seconds * 100.0 / elapsed) : 0;
    std::vector<std::string> args = absl::StrSplit(cmdline, '\0', absl::SkipEmpty());
    const std::string cmd = args.empty() ? absl::StrCat("[", comm, "]") : absl::StrJoin(args, " ");
    t.rows.push_back({UserName(euid), absl::StrCat(pid), f[1], absl::StrCat(std::min(c, 99)),
                      PsStartTime(start, clock.now, clock.zone), PsTty(tty),
                      PsCpuTime(static_cast<int64_t>(cpu_seconds)), cmd});
  }
  return t;
}

absl::StatusOr<ProcTable> FilterPsOutput(absl::string_view output, const std::set<int>& pids) {
  std::vector<absl::string_view> lines = absl::StrSplit(output, '\n', absl::SkipWhitespace());
  if (lines.empty()) return absl::FailedPreconditionError("Couldn't find PID field in ps output");
  ProcTable t;
  t.titles = absl::StrSplit(lines[0], absl::ByAnyChar(" \t"), absl::SkipEmpty());
  size_t pid_col = t.titles.size();
  for (size_t i = 0; i < t.titles.size(); ++i) {
    if (t.titles[i] == "PID") pid_col = i;
  }
  if (pid_col == t.titles.size()) {
    return absl::FailedPreconditionError("Couldn't find PID field in ps output");
  }
  for (size_t l = 1; l < lines.size(); ++l) {
    std::vector<std::string> fields;
    absl::string_view rest = absl::StripLeadingAsciiWhitespace(lines[l]);
    while (!rest.empty() && fields.size() + 1 < t.titles.size()) {
      const size_t end = rest.find_first_of(" \t");
      fields.emplace_back(rest.substr(0, end));
      rest = end == absl::string_view::npos ? absl::string_view()
                                            : absl::StripLeadingAsciiWhitespace(rest.substr(end));
    }
    if (!rest.empty()) fields.emplace_back(absl::StripTrailingAsciiWhitespace(rest));
    int pid = 0;
    if (pid_col >= fields.size() || !absl::SimpleAtoi(fields[pid_col], &pid)) continue;
    if (pids.count(pid) > 0) t.rows.push_back(std::move(fields));
  }
  return t;
}

}  // namespace berth::ctl
