// Names the calling thread as `top`, `perf` and gdb show it, so that a
// profile tells ECCL's I/O, op and event threads apart (all of a process's
// threads show its name otherwise).
#pragma once

namespace eccl {

// At most 15 characters reach the kernel; a longer name is cut there.
void nameThisThread(const char* name);

}  // namespace eccl
