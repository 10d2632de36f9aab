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
#include <memory>
#include <string>
#include <utility>
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
  // A mapping of NAME → section, e.g. `proxy_snapshotters: {ext: {address: …}}`. For each
  // entry, `declare` declares the section's keys on a binder pointed at a fresh T (so fields a
  // section leaves out keep T's defaults). Like StringMap, a present key replaces `*out`.
  template <typename T>
  ConfigBinder& SectionMap(std::string key, std::map<std::string, T>* out,
                           std::function<void(ConfigBinder&, T&)> declare) {
    return AddSectionMap(
        std::move(key), [out] { out->clear(); },
        [out, declare](const std::string& name) {
          auto staged = std::make_shared<T>();
          ConfigBinder b;
          declare(b, *staged);
          std::function<void()> store = [out, name, staged] { (*out)[name] = *staged; };
          return std::make_pair(std::move(b), std::move(store));
        });
  }

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
  // For a section map: a binder for entry NAME (pointed at staging storage) and the closure
  // that moves the staged value into place once the whole document is valid.
  using EntryFactory =
      std::function<std::pair<ConfigBinder, std::function<void()>>(const std::string& name)>;
  struct Field {
    std::string key;
    Parser parse;                                // for values
    std::function<void(ConfigBinder&)> section;  // for nested mappings
    std::function<void()> clear_map;             // for section maps
    EntryFactory entry;                          // for section maps
  };
  ConfigBinder& Add(std::string key, Parser parse);
  ConfigBinder& AddSectionMap(std::string key, std::function<void()> clear, EntryFactory entry);

  std::vector<Field> fields_;
};

}  // namespace berth

#endif  // BERTH_COMMON_CONFIG_H_
