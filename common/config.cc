#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/syscall.h"

namespace berth {
namespace {

std::string Where(const std::string& file, const YAML::Node& node) {
  // yaml-cpp marks are 0-based; people count lines from 1.
  return absl::StrCat(file, ":", node.Mark().line + 1);
}

std::string KindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return absl::StrCat("\"", node.Scalar(), "\"");
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

absl::Status TypeError(const std::string& where, const std::string& key, absl::string_view want,
                       const YAML::Node& got) {
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": key \"", key, "\": expected ", want, ", got ", KindName(got)));
}

// A scalar that YAML would also read as something else (true, 12) is still a fine string:
// paths and names are strings whatever they look like.
absl::StatusOr<std::string> AsString(const YAML::Node& n, const std::string& where,
                                     const std::string& key) {
  if (!n.IsScalar()) return TypeError(where, key, "a string", n);
  return n.Scalar();
}

}  // namespace

ConfigBinder& ConfigBinder::String(std::string key, std::string* out) {
  return Add(key,
             [key, out](const YAML::Node& n,
                        const std::string& where) -> absl::StatusOr<std::function<void()>> {
               ASSIGN_OR_RETURN(std::string v, AsString(n, where, key));
               return [out, v] { *out = v; };
             });
}

ConfigBinder& ConfigBinder::Bool(std::string key, bool* out) {
  return Add(key,
             [key, out](const YAML::Node& n,
                        const std::string& where) -> absl::StatusOr<std::function<void()>> {
               bool v = false;
               if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
                 return TypeError(where, key, "true or false", n);
               }
               return [out, v] { *out = v; };
             });
}

ConfigBinder& ConfigBinder::Int(std::string key, int64_t* out) {
  return Add(key,
             [key, out](const YAML::Node& n,
                        const std::string& where) -> absl::StatusOr<std::function<void()>> {
               int64_t v = 0;
               if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v)) {
                 return TypeError(where, key, "an integer", n);
               }
               return [out, v] { *out = v; };
             });
}

ConfigBinder& ConfigBinder::StringList(std::string key, std::vector<std::string>* out) {
  return Add(key,
             [key, out](const YAML::Node& n,
                        const std::string& where) -> absl::StatusOr<std::function<void()>> {
               if (!n.IsSequence()) return TypeError(where, key, "a list of strings", n);
               std::vector<std::string> v;
               for (const YAML::Node& item : n) {
                 ASSIGN_OR_RETURN(std::string s, AsString(item, where, key));
                 v.push_back(std::move(s));
               }
               return [out, v] { *out = v; };
             });
}

ConfigBinder& ConfigBinder::StringMap(std::string key, std::map<std::string, std::string>* out) {
  return Add(key,
             [key, out](const YAML::Node& n,
                        const std::string& where) -> absl::StatusOr<std::function<void()>> {
               if (!n.IsMap()) return TypeError(where, key, "a mapping of strings", n);
               std::map<std::string, std::string> v;
               for (const auto& kv : n) {
                 ASSIGN_OR_RETURN(std::string k, AsString(kv.first, where, key));
                 ASSIGN_OR_RETURN(std::string s,
                                  AsString(kv.second, where, absl::StrCat(key, ".", k)));
                 v[k] = std::move(s);
               }
               return [out, v] { *out = v; };
             });
}

ConfigBinder& ConfigBinder::Section(std::string key, std::function<void(ConfigBinder&)> declare) {
  fields_.push_back(Field{std::move(key), nullptr, std::move(declare), nullptr, nullptr});
  return *this;
}

ConfigBinder& ConfigBinder::Add(std::string key, Parser parse) {
  fields_.push_back(Field{std::move(key), std::move(parse), nullptr, nullptr, nullptr});
  return *this;
}

ConfigBinder& ConfigBinder::AddSectionMap(std::string key, std::function<void()> clear,
                                          EntryFactory entry) {
  fields_.push_back(Field{std::move(key), nullptr, nullptr, std::move(clear), std::move(entry)});
  return *this;
}

absl::Status ConfigBinder::Collect(const std::string& file, const std::string& prefix,
                                   const YAML::Node& node,
                                   std::vector<std::function<void()>>* commits) const {
  if (node.IsNull()) return absl::OkStatus();  // An empty document or section sets nothing.
  if (!node.IsMap()) {
    return absl::InvalidArgumentError(absl::StrCat(
        Where(file, node), ": ", prefix.empty() ? "the document" : "key \"" + prefix + "\"",
        ": expected a mapping of keys, got ", KindName(node)));
  }
  for (const auto& kv : node) {
    if (!kv.first.IsScalar()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Where(file, kv.first), ": keys must be plain strings"));
    }
    const std::string key = kv.first.Scalar();
    const std::string full = prefix.empty() ? key : absl::StrCat(prefix, ".", key);
    const Field* field = nullptr;
    for (const Field& f : fields_) {
      if (f.key == key) field = &f;
    }
    if (field == nullptr) {
      std::vector<std::string> known;
      for (const Field& f : fields_) known.push_back(f.key);
      return absl::InvalidArgumentError(
          absl::StrCat(Where(file, kv.first), ": unknown key \"", full,
                       "\" (known keys: ", absl::StrJoin(known, ", "), ")"));
    }
    if (field->section) {
      ConfigBinder sub;
      field->section(sub);
      RETURN_IF_ERROR(sub.Collect(file, full, kv.second, commits));
      continue;
    }
    if (field->entry) {
      const YAML::Node& entries = kv.second;
      if (!entries.IsNull() && !entries.IsMap()) {
        return TypeError(Where(file, entries), full, "a mapping of names to sections", entries);
      }
      commits->push_back(field->clear_map);
      if (entries.IsNull()) continue;
      for (const auto& e : entries) {
        if (!e.first.IsScalar()) {
          return absl::InvalidArgumentError(
              absl::StrCat(Where(file, e.first), ": key \"", full, "\": names must be strings"));
        }
        const std::string name = e.first.Scalar();
        auto [sub, store] = field->entry(name);
        // The entry's own setters fill staging storage; `store` then moves it into place.
        std::vector<std::function<void()>> inner;
        RETURN_IF_ERROR(sub.Collect(file, absl::StrCat(full, ".", name), e.second, &inner));
        commits->push_back([inner = std::move(inner), store = std::move(store)] {
          for (const auto& c : inner) c();
          store();
        });
      }
      continue;
    }
    ASSIGN_OR_RETURN(std::function<void()> commit, field->parse(kv.second, Where(file, kv.second)));
    commits->push_back(std::move(commit));
  }
  return absl::OkStatus();
}

absl::Status ConfigBinder::BindText(const std::string& file, const std::string& yaml) const {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ":", e.mark.line + 1, ": malformed YAML: ", e.msg));
  }
  std::vector<std::function<void()>> commits;
  // yaml-cpp throws on some conversions of odd nodes; keep its exceptions at this edge.
  try {
    RETURN_IF_ERROR(Collect(file, "", root, &commits));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(file, ":", e.mark.line + 1, ": ", e.msg));
  }
  for (auto& commit : commits) commit();
  return absl::OkStatus();
}

absl::Status ConfigBinder::BindFile(const std::string& file) const {
  absl::StatusOr<std::string> text = sys::ReadFile(file);
  if (!text.ok()) return Annotate(text.status(), "reading config file");
  return BindText(file, *text);
}

}  // namespace berth
