#include "common/tar_writer.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace berth::tar {
namespace {

constexpr size_t kBlock = 512;

// Offsets of the ustar header fields (POSIX.1-2001, "ustar Interchange Format").
constexpr size_t kName = 0, kMode = 100, kUid = 108, kGid = 116, kSize = 124, kMtime = 136,
                 kChecksum = 148, kTypeflag = 156, kLinkname = 157, kMagic = 257, kVersion = 263;

// `value` as zero-padded octal filling `width - 1` digits and a NUL. False when it does not fit.
bool PutOctal(char* field, size_t width, uint64_t value) {
  const size_t digits = width - 1;
  if (digits < 22 && value >> (3 * digits) != 0) return false;
  for (size_t i = digits; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[digits] = '\0';
  return true;
}

// One pax record: "<length> <key>=<value>\n", where length counts the whole record.
std::string PaxRecord(absl::string_view key, absl::string_view value) {
  const size_t rest = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = rest + 1;
  while (absl::StrCat(len).size() + rest != len) len = absl::StrCat(len).size() + rest;
  return absl::StrCat(len, " ", key, "=", value, "\n");
}

char TypeFlag(Header::Type t) {
  switch (t) {
    case Header::Type::kFile:
      return '0';
    case Header::Type::kHardlink:
      return '1';
    case Header::Type::kSymlink:
      return '2';
    case Header::Type::kDirectory:
      return '5';
  }
  return '0';
}

// A ustar header block; fields that do not fit are left for the pax records in `pax`.
std::string Block(const std::string& name, char type, uint32_t mode, uint64_t uid, uint64_t gid,
                  uint64_t size, int64_t mtime, const std::string& link, std::string* pax) {
  std::string b(kBlock, '\0');
  if (name.size() <= 100) {
    std::memcpy(&b[kName], name.data(), name.size());
  } else {
    std::memcpy(&b[kName], name.data(), 100);
    if (pax != nullptr) *pax += PaxRecord("path", name);
  }
  if (link.size() <= 100) {
    std::memcpy(&b[kLinkname], link.data(), link.size());
  } else {
    std::memcpy(&b[kLinkname], link.data(), 100);
    if (pax != nullptr) *pax += PaxRecord("linkpath", link);
  }
  PutOctal(&b[kMode], 8, mode & 07777);
  if (!PutOctal(&b[kUid], 8, uid)) {
    PutOctal(&b[kUid], 8, 0);
    if (pax != nullptr) *pax += PaxRecord("uid", absl::StrCat(uid));
  }
  if (!PutOctal(&b[kGid], 8, gid)) {
    PutOctal(&b[kGid], 8, 0);
    if (pax != nullptr) *pax += PaxRecord("gid", absl::StrCat(gid));
  }
  if (!PutOctal(&b[kSize], 12, size)) {
    PutOctal(&b[kSize], 12, 0);
    if (pax != nullptr) *pax += PaxRecord("size", absl::StrCat(size));
  }
  if (mtime < 0 || !PutOctal(&b[kMtime], 12, static_cast<uint64_t>(mtime))) {
    PutOctal(&b[kMtime], 12, 0);
    if (pax != nullptr) *pax += PaxRecord("mtime", absl::StrCat(mtime));
  }
  b[kTypeflag] = type;
  std::memcpy(&b[kMagic], "ustar", 6);
  std::memcpy(&b[kVersion], "00", 2);
  // The checksum is taken with its own field as spaces, and written as six digits, NUL, ' '.
  std::memset(&b[kChecksum], ' ', 8);
  uint32_t sum = 0;
  for (unsigned char c : b) sum += c;
  PutOctal(&b[kChecksum], 7, sum);
  b[kChecksum + 7] = ' ';
  return b;
}

}  // namespace

absl::Status Writer::Emit(absl::string_view data) {
  if (!sink_(data)) return absl::AbortedError("the tar stream's reader went away");
  bytes_ += data.size();
  return absl::OkStatus();
}

absl::Status Writer::EndEntry() {
  if (left_ != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("tar: the previous entry is ", left_, " bytes short"));
  }
  if (padding_ > 0) {
    static const char kZeros[kBlock] = {};
    const uint64_t n = padding_;
    padding_ = 0;
    return Emit(absl::string_view(kZeros, n));
  }
  return absl::OkStatus();
}

absl::Status Writer::Add(const Header& h) {
  if (finished_) return absl::FailedPreconditionError("tar: the archive is finished");
  RETURN_IF_ERROR(EndEntry());
  if (h.name.empty()) return absl::InvalidArgumentError("tar: an entry needs a name");
  std::string name = h.name;
  if (h.type == Header::Type::kDirectory && name.back() != '/') name += '/';
  const uint64_t size = h.type == Header::Type::kFile ? h.size : 0;
  std::string pax;
  const std::string block =
      Block(name, TypeFlag(h.type), h.mode, h.uid, h.gid, size, h.mtime, h.link, &pax);
  if (!pax.empty()) {
    // An extended header entry ('x') applies to the entry that follows it.
    std::string xname =
        "PaxHeaders/" + (name.back() == '/' ? name.substr(0, name.size() - 1) : name);
    xname = xname.substr(0, std::min<size_t>(xname.size(), 100));
    RETURN_IF_ERROR(Emit(Block(xname, 'x', 0644, 0, 0, pax.size(), 0, "", nullptr)));
    RETURN_IF_ERROR(Emit(pax));
    padding_ = (kBlock - pax.size() % kBlock) % kBlock;
    RETURN_IF_ERROR(EndEntry());
  }
  RETURN_IF_ERROR(Emit(block));
  left_ = size;
  padding_ = (kBlock - size % kBlock) % kBlock;
  return absl::OkStatus();
}

absl::Status Writer::Write(absl::string_view data) {
  if (data.size() > left_) {
    return absl::FailedPreconditionError(
        absl::StrCat("tar: ", data.size() - left_, " bytes more than the entry's size"));
  }
  left_ -= data.size();
  return Emit(data);
}

absl::Status Writer::Finish() {
  if (finished_) return absl::OkStatus();
  RETURN_IF_ERROR(EndEntry());
  finished_ = true;
  return Emit(std::string(2 * kBlock, '\0'));
}

}  // namespace berth::tar
