// Keeping the shim's resident memory to what its loop uses.
//
// Most of a static shim's RSS is text, mapped by the kernel's fault-around in 64 kB blocks: the
// one-time work of a request (the runtime's fork and exec, JSON, protobuf, locale set-up) leaves
// two megabytes mapped that a sleeping container's shim never runs again, and any code added
// anywhere moves hot functions across block boundaries. So after each request the shim unmaps
// its text; what the loop runs next comes back on first use, as minor faults from the page
// cache (the pages stay cached, and shared with every other shim).
#ifndef BERTH_SHIM_RESIDENT_H_
#define BERTH_SHIM_RESIDENT_H_

namespace berth::shim {

// madvise(MADV_DONTNEED) over the executable's read-only, executable segment (.text, .rodata,
// .eh_frame): it is never written, so nothing is lost; data, heap and stacks are untouched.
// The one thing it drops is a breakpoint a debugger or uprobe wrote into this process's copy
// of a text page: debug a shim with the breakpoints set after its last request.
void ReleaseText();

}  // namespace berth::shim

#endif  // BERTH_SHIM_RESIDENT_H_
