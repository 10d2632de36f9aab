// `--detach-keys`: Docker's key-sequence syntax, and the matcher `attach`/`run -it` put
// between stdin and the container.
#ifndef BERTH_CTL_CONTAINER_DETACH_KEYS_H_
#define BERTH_CTL_CONTAINER_DETACH_KEYS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ctl {

inline constexpr char kDefaultDetachKeys[] = "ctrl-p,ctrl-q";

// "ctrl-p,ctrl-q" → "\x10\x11". Each comma-separated key is a single character, or ctrl-
// followed by a-z (either case), @, [, \, ], ^ or _ (ctrl-@ is NUL, ctrl-[ is ESC).
// INVALID_ARGUMENT naming the key otherwise, and for an empty sequence or key.
absl::StatusOr<std::string> ParseDetachKeys(absl::string_view keys);

// Scans what the user types for the detach sequence. Bytes that could still begin the
// sequence are held back; once they cannot, they are passed on unchanged, so a partial
// sequence followed by anything else reaches the container as typed. Unlike Docker, which
// only matches key presses read one byte at a time, the sequence is found whatever the
// chunking (a paste included).
class DetachMatcher {
 public:
  explicit DetachMatcher(std::string sequence) : sequence_(std::move(sequence)) {}

  struct Result {
    std::string forward;  // bytes for the container, in order
    bool detach = false;  // the sequence was typed: stop forwarding, detach
  };

  // Feeds bytes read from stdin. After a detach, the rest of `input` is dropped, as are
  // later calls' bytes.
  Result Feed(absl::string_view input);

  // The held bytes of an incomplete sequence, at end of input: they belong to the container.
  std::string Flush();

 private:
  std::string sequence_;
  std::string held_;  // always a proper prefix of sequence_
  bool detached_ = false;
};

}  // namespace berth::ctl

#endif  // BERTH_CTL_CONTAINER_DETACH_KEYS_H_
