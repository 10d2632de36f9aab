#include "services/images/reference.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"

namespace berth::images {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool ValidPathComponent(absl::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !IsLowerAlnum(c[j])) ++j;
    absl::string_view sep = c.substr(i, j - i);
    const bool dashes = sep.find_first_not_of('-') == absl::string_view::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
    i = j;
  }
  return true;
}

// [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]
bool ValidHostComponent(absl::string_view c) {
  if (c.empty() || !absl::ascii_isalnum(c.front()) || !absl::ascii_isalnum(c.back())) {
    return false;
  }
  for (char ch : c) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '-') return false;
  }
  return true;
}

bool ValidDomain(absl::string_view domain) {
  absl::string_view host = domain;
  const size_t colon = domain.find(':');
  if (colon != absl::string_view::npos) {
    host = domain.substr(0, colon);
    absl::string_view port = domain.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
  }
  for (absl::string_view c : absl::StrSplit(host, '.')) {
    if (!ValidHostComponent(c)) return false;
  }
  return true;
}

bool ValidTag(absl::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength) return false;
  auto word = [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag[0])) return false;
  for (char c : tag) {
    if (!word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

bool IsHex64(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsDomain(absl::string_view first) {
  return absl::StrContains(first, '.') || absl::StrContains(first, ':') || first == "localhost";
}

}  // namespace

std::string Reference::String() const {
  std::string out = Repository();
  if (!digest.empty()) return absl::StrCat(out, "@", digest);
  return absl::StrCat(out, ":", tag);
}

std::string Reference::FamiliarRepository() const {
  if (domain != kDefaultDomain) return Repository();
  if (absl::StartsWith(path, kOfficialRepoPrefix) &&
      !absl::StrContains(path.substr(sizeof(kOfficialRepoPrefix) - 1), '/')) {
    return path.substr(sizeof(kOfficialRepoPrefix) - 1);
  }
  return path;
}

std::string Reference::FamiliarString() const {
  if (!digest.empty()) return absl::StrCat(FamiliarRepository(), "@", digest);
  return absl::StrCat(FamiliarRepository(), ":", tag);
}

absl::StatusOr<Reference> ParseNormalized(absl::string_view text) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid reference \"", text, "\": ", why));
  };
  if (text.empty()) return invalid("it is empty");
  if (text.size() > 1024) return invalid("it is longer than 1024 characters");

  Reference ref;
  absl::string_view rest = text;
  if (const size_t at = rest.find('@'); at != absl::string_view::npos) {
    absl::StatusOr<Digest> d = Digest::Parse(rest.substr(at + 1));
    if (!d.ok()) {
      return invalid(absl::StrCat("digest \"", rest.substr(at + 1),
                                  "\" is not sha256:<64 lowercase hex digits>"));
    }
    ref.digest = d->ToString();
    rest = rest.substr(0, at);
  }
  const size_t slash = rest.rfind('/');
  const size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos && (slash == absl::string_view::npos || colon > slash)) {
    absl::string_view tag = rest.substr(colon + 1);
    if (!ValidTag(tag)) {
      return invalid(absl::StrCat("tag \"", tag,
                                  "\" must be 1 to 128 of letters, digits, '_', '.' and '-', "
                                  "not starting with '.' or '-'"));
    }
    if (ref.digest.empty()) ref.tag = std::string(tag);  // a digest alone says which image
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return invalid("it has no repository name");
  if (IsHex64(rest)) {
    return invalid(
        "a 64-character hexadecimal string is an image ID, not a name; use a repository name");
  }

  absl::string_view remainder = rest;
  const size_t first_slash = rest.find('/');
  if (first_slash != absl::string_view::npos && IsDomain(rest.substr(0, first_slash))) {
    ref.domain = std::string(rest.substr(0, first_slash));
    remainder = rest.substr(first_slash + 1);
    if (!ValidDomain(ref.domain)) {
      return invalid(absl::StrCat("registry \"", ref.domain, "\" is not a host name[:port]"));
    }
  } else {
    ref.domain = kDefaultDomain;
  }
  if (ref.domain == "index.docker.io") ref.domain = kDefaultDomain;
  if (remainder.empty()) return invalid("it has no repository name after the registry");
  for (absl::string_view c : absl::StrSplit(remainder, '/')) {
    if (ValidPathComponent(c)) continue;
    if (absl::AsciiStrToLower(c) != c && ValidPathComponent(absl::AsciiStrToLower(c))) {
      return invalid("repository name must be lowercase");
    }
    return invalid(absl::StrCat("name component \"", c,
                                "\" must be lowercase letters and digits, separated by '.', "
                                "'_', '__' or '-'"));
  }
  ref.path = std::string(remainder);
  if (ref.domain == kDefaultDomain && !absl::StrContains(ref.path, '/')) {
    ref.path = absl::StrCat(kOfficialRepoPrefix, ref.path);
  }
  if (ref.Repository().size() > kMaxNameLength) {
    return invalid(absl::StrCat("repository name is longer than ", kMaxNameLength, " characters"));
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = kDefaultTag;
  return ref;
}

absl::StatusOr<std::string> Normalize(absl::string_view text) {
  absl::StatusOr<Reference> ref = ParseNormalized(text);
  if (!ref.ok()) return ref.status();
  return ref->String();
}

std::string DanglingName(absl::string_view target_digest) {
  return absl::StrCat(kDanglingRepository, "@", target_digest);
}

bool IsDanglingName(absl::string_view name) {
  return absl::StartsWith(name, absl::StrCat(kDanglingRepository, "@"));
}

}  // namespace berth::images
