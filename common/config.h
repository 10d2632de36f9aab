// Typed, validated loading of YAML config files.
//
// A component declares its keys on a ConfigBinder, pointing each at a field of its own struct;
// Bind() then fills the struct from a YAML mapping. Every problem is an INVALID_ARGUMENT naming
// the file, line and key: an unknown key (with the known ones listed), a value of the wrong
// type, a malformed document. Nothing is applied partially: on error the struct is untouched.
#ifndef BERTH_COMMON_CONFIG_H_
#define BERTH_COMMON_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace YAML {
class Node;
}

namespace berth {

class ConfigBinder {
 public:
  ConfigBinder& String(std::string key, std::string* out);
  ConfigBinder& Bool(std::string key, bool* out);
  ConfigBinder& Int(std::string key, int64_t* out);
  ConfigBinder& StringList(std::string key, std::vector<std::string>* out);
  ConfigBinder& StringMap(std::string key, std::map<std::string, std::string>* out);
  // A nested mapping whose keys are declared by `declare` on a binder of its own.
  ConfigBinder& Section(std::string key, std::function<void(ConfigBinder&)> declare);

  // Parses `yaml` (read from `file`, used in messages) and applies it.
  absl::Status BindText(const std::string& file, const std::string& yaml) const;
  // Reads and applies `file`. A missing file is NOT_FOUND, with the path in the message.
  absl::Status BindFile(const std::string& file) const;

 private:
  // Checks `node` against the declared keys and returns the setters that would apply it, so
  // that nothing is written unless the whole document is valid.
  absl::Status Collect(const std::string& file, const std::string& prefix, const YAML::Node& node,
                       std::vector<std::function<void()>>* commits) const;

  // Validates a value node (the string says where it is) and returns a closure that stores it.
  using Parser =
      std::function<absl::StatusOr<std::function<void()>>(const YAML::Node&, const std::string&)>;
  struct Field {
    std::string key;
    Parser parse;                                // for values
    std::function<void(ConfigBinder&)> section;  // for nested mappings
  };
  ConfigBinder& Add(std::string key, Parser parse);

  std::vector<Field> fields_;
};

}  // namespace berth

#endif  // BERTH_COMMON_CONFIG_H_
