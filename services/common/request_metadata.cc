#include "services/common/request_metadata.h"

#include "absl/strings/str_cat.h"
#include "common/namespace.h"
#include "common/status_macros.h"

namespace berth::services {
namespace {

// The single value of `key`, or nullopt. Two values are refused rather than one picked.
absl::StatusOr<absl::optional<std::string>> SingleValue(const grpc::ServerContextBase& context,
                                                        const char* key) {
  auto [begin, end] = context.client_metadata().equal_range(key);
  if (begin == end) return absl::optional<std::string>();
  std::string value(begin->second.data(), begin->second.size());
  if (std::next(begin) != end) {
    return absl::InvalidArgumentError(
        absl::StrCat("request metadata \"", key, "\" is given more than once"));
  }
  return absl::optional<std::string>(std::move(value));
}

}  // namespace

absl::StatusOr<std::string> RequestNamespace(const grpc::ServerContextBase& context) {
  ASSIGN_OR_RETURN(absl::optional<std::string> ns, SingleValue(context, kNamespaceMetadataKey));
  if (!ns.has_value()) return std::string(kDefaultNamespace);
  RETURN_IF_ERROR(ValidateNamespace(*ns));
  return *std::move(ns);
}

absl::StatusOr<std::string> RequestLease(const grpc::ServerContextBase& context) {
  ASSIGN_OR_RETURN(absl::optional<std::string> lease, SingleValue(context, kLeaseMetadataKey));
  if (!lease.has_value()) return std::string();
  if (lease->empty())
    return absl::InvalidArgumentError("request metadata \"berth-lease\" is empty");
  return *std::move(lease);
}

}  // namespace berth::services
