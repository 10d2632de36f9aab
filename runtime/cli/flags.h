// A command line in runc's dialect (urfave/cli): global flags, a command, its flags, then
// positional arguments. Long flags take one or two dashes ("-bundle", "--bundle"), values
// come as "--flag value" or "--flag=value", and flag parsing stops at the first positional
// argument (so `exec ID sh -c …` passes "-c" to the program).
#ifndef BERTH_RUNTIME_CLI_FLAGS_H_
#define BERTH_RUNTIME_CLI_FLAGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::runtime::cli {

struct FlagSpec {
  std::vector<std::string> names;  // "bundle", "b"
  bool takes_value = false;
  bool repeated = false;  // may be given many times (--env)
  std::string help;
};

class Flags {
 public:
  bool Has(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
  absl::StatusOr<bool> GetBool(const std::string& name) const;
  absl::StatusOr<int> GetInt(const std::string& name, int fallback) const;

  std::vector<std::string> positional;

 private:
  friend absl::StatusOr<Flags> ParseFlags(const std::vector<FlagSpec>&,
                                          const std::vector<std::string>&, size_t*, bool);
  std::map<std::string, std::vector<std::string>> values_;  // by the first name of each flag
  std::map<std::string, std::string> canonical_;            // any name → first name
};

// Parses args[*pos…]: flags, then (if `positionals`) everything after them. *pos is left at
// the first unconsumed argument.
absl::StatusOr<Flags> ParseFlags(const std::vector<FlagSpec>& specs,
                                 const std::vector<std::string>& args, size_t* pos,
                                 bool positionals);

std::string FlagsHelp(const std::vector<FlagSpec>& specs);

}  // namespace berth::runtime::cli

#endif  // BERTH_RUNTIME_CLI_FLAGS_H_
