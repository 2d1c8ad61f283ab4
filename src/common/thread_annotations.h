// Locking rules the compiler checks: Clang's thread-safety analysis
// (-Wthread-safety, on in the `clang` preset) reads these attributes; other
// compilers see nothing. The same macros as abseil's and leveldb's.
//
//   class Account {
//    public:
//     void Deposit(int n) EXCLUDES(mu_) {
//       MutexLock lock(mu_);
//       balance_ += n;          // ok: mu_ is held
//     }
//    private:
//     void AddLocked(int n) REQUIRES(mu_);
//     Mutex mu_;
//     int balance_ GUARDED_BY(mu_) = 0;
//   };
//
// std::mutex carries no attributes in libstdc++: guard state with npc::Mutex
// (common/mutex.h), whose lock and unlock the analysis understands.
#pragma once

#if defined(__clang__)
#define NPC_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define NPC_THREAD_ANNOTATION(x)
#endif

// On a class: it is a lock ("mutex") the analysis tracks.
#define CAPABILITY(x) NPC_THREAD_ANNOTATION(capability(x))
// On an RAII class: holds a capability from construction to destruction.
#define SCOPED_CAPABILITY NPC_THREAD_ANNOTATION(scoped_lockable)
// On a member: read or written only with the lock held.
#define GUARDED_BY(x) NPC_THREAD_ANNOTATION(guarded_by(x))
// On a pointer member: what it points to is guarded.
#define PT_GUARDED_BY(x) NPC_THREAD_ANNOTATION(pt_guarded_by(x))
// On a function: callers must hold (REQUIRES) or must not hold (EXCLUDES) the lock.
#define REQUIRES(...) NPC_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) NPC_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
// On a function: it takes (ACQUIRE) or releases (RELEASE) the lock.
#define ACQUIRE(...) NPC_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) NPC_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) NPC_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
// On a function: asserts at run time that the lock is held.
#define ASSERT_CAPABILITY(x) NPC_THREAD_ANNOTATION(assert_capability(x))
// On a function returning a lock.
#define RETURN_CAPABILITY(x) NPC_THREAD_ANNOTATION(lock_returned(x))
// A function the analysis does not check (say why beside it).
#define NO_THREAD_SAFETY_ANALYSIS NPC_THREAD_ANNOTATION(no_thread_safety_analysis)
