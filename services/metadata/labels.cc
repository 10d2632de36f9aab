#include "services/metadata/labels.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace berth::metadata {

absl::Status ValidateLabels(const Labels& labels) {
  for (const auto& [key, value] : labels) {
    if (key.empty()) return absl::InvalidArgumentError("label key is empty");
    if (key.size() + value.size() > kMaxLabelBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "label \"", key.substr(0, 64), key.size() > 64 ? "…" : "", "\": key and value are ",
          key.size() + value.size(), " bytes, more than the limit of ", kMaxLabelBytes));
    }
  }
  return absl::OkStatus();
}

std::string EncodeLabels(const Labels& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : labels) j[key] = value;
  // Replace invalid UTF-8 rather than throw: labels come from clients.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<Labels> DecodeLabels(absl::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json.begin(), json.end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (!j.is_object()) {
    return absl::DataLossError(absl::StrCat(
        "labels in the metadata database are not a JSON object: ", json.substr(0, 100)));
  }
  Labels out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) {
      return absl::DataLossError(
          absl::StrCat("label \"", it.key(), "\" in the metadata database is not a string"));
    }
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

}  // namespace berth::metadata
