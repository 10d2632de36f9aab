#include "shim/resident.h"

#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace berth::shim {
namespace {

struct Range {
  uintptr_t start = 0, end = 0;
};

// The executable's first loaded segment that is executable and not writable, in whole pages.
int FindText(dl_phdr_info* info, size_t, void* out) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0 || (ph.p_flags & PF_W) != 0) continue;
    Range* r = static_cast<Range*>(out);
    r->start = (info->dlpi_addr + ph.p_vaddr + page - 1) & ~(page - 1);
    r->end = (info->dlpi_addr + ph.p_vaddr + ph.p_filesz) & ~(page - 1);
    break;
  }
  return 1;  // the first object is the executable itself
}

}  // namespace

void ReleaseText() {
  static const Range text = [] {
    Range r;
    ::dl_iterate_phdr(FindText, &r);
    return r;
  }();
  if (text.end > text.start) {
    ::madvise(reinterpret_cast<void*>(text.start), text.end - text.start, MADV_DONTNEED);
  }
}

}  // namespace berth::shim
