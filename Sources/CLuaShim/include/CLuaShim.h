// CLuaShim: the only code that touches Lua API calls which may raise (longjmp) or
// that are C macros. Swift calls these functions and the non-raising parts of the
// Lua API; no Lua error ever unwinds through a Swift frame:
//  - scripts run only inside mg_pcall (a C-side lua_pcall with a C message handler);
//  - host functions are C trampolines: Swift reads arguments with non-raising calls
//    and returns a negative count to ask the trampoline to raise the error message
//    it pushed, after Swift has returned;
//  - the memory cap is enforced only while Lua code runs (mg_pcall, mg_load_text,
//    mg_call_*); while Swift pushes values, allocation cannot fail short of a real
//    out-of-memory, which aborts the process (as Swift itself does) instead of
//    unwinding. What a host function built is checked against the cap when it returns.
#ifndef MAILGATE_CLUASHIM_H
#define MAILGATE_CLUASHIM_H

#include <stddef.h>

typedef struct lua_State lua_State;

/// Called by the trampoline of every host function. Returns the number of results
/// pushed, -1 after pushing an error message that the trampoline then raises, or
/// MG_HOST_WAIT: the host started an operation (a DNS lookup) and the hook call is to
/// wait for it. The call then suspends itself (mg_call_waiting answers true); once
/// the host continues it, the dispatch is called again with MG_HOST_RESUME as the
/// function id on the same thread to push the operation's results (or an error).
typedef int (*mg_host_dispatch)(lua_State *L, void *context, int function_id);
#define MG_HOST_WAIT (-2)
#define MG_HOST_RESUME 0

/// A new state whose allocator refuses to grow past `memory_limit` bytes while Lua
/// code runs, with only base, string, table, math, utf8, os and coroutine opened
/// (no io, debug, package). Returns NULL when the state cannot be created.
lua_State *mg_state_open(size_t memory_limit, mg_host_dispatch dispatch, void *context);
void mg_state_close(lua_State *L);
size_t mg_memory_used(lua_State *L);
size_t mg_memory_limit(lua_State *L);
/// Changes the cap (tests: a VM left over its cap).
void mg_set_memory_limit(lua_State *L, size_t limit);
/// A full garbage collection (lua_gc is variadic: Swift cannot call it).
void mg_collect_garbage(lua_State *L);

/// Why a call stopped (mg_stop_reason): it is failed whatever the script did after.
#define MG_STOP_BUDGET 1
#define MG_STOP_DEADLINE 2

/// Re-arms the instruction budget before a load or init (no deadline, never
/// suspended). The count is shared by every coroutine of the state; once spent,
/// the hook fires on every instruction so a script's own pcall cannot swallow the stop.
void mg_budget_arm(lua_State *L, long long instructions);
/// True when the last call ran out of instructions.
int mg_budget_exhausted(lua_State *L);
/// 0, MG_STOP_BUDGET or MG_STOP_DEADLINE for the last call.
int mg_stop_reason(lua_State *L);
/// Pushes "file:line: instruction budget of N exceeded" (or "deadline of 5s
/// exceeded") for the call that stopped.
void mg_push_stop_message(lua_State *L);

/// Runs a hook call on the state's call thread: the function and `nargs` arguments
/// on top of L are moved there and resumed with a fresh budget of `instructions`
/// (shared by every coroutine the call creates, C work included), a wall-clock
/// deadline of `deadline_ms` (0: none) and, when `slice_us` > 0, a time slice after
/// which the call suspends itself at the next point where it can.
/// Returns LUA_OK (the results, `*nresults` of them, pushed on L), LUA_YIELD (the
/// call is suspended: finish it with mg_call_continue, on any thread) or an error
/// status with a message string pushed on L ("file:line: ..." when known). A call
/// that ran out of budget or time fails even when the script caught the error.
int mg_call_begin(lua_State *L, int nargs, long long instructions, long long deadline_ms,
                  long long slice_us, int *nresults);
/// Continues a suspended call (no slice: it is not suspended again for time, but it
/// may suspend again to wait for the host: LUA_YIELD with mg_call_waiting true).
int mg_call_continue(lua_State *L, int *nresults);
/// Milliseconds left before the running call's deadline; -1 when it has none.
long long mg_call_time_left_ms(lua_State *L);
/// True when the call came back LUA_YIELD to wait for a host operation (rather than
/// at the end of its slice).
int mg_call_waiting(lua_State *L);
/// True when a host function running on `L` can make the call wait: L is the call
/// thread or a coroutine every resumer of which can yield (not a metamethod or
/// comparator called from C, not a load or init).
int mg_can_wait(lua_State *L);

/// Everything that belongs to one hook call rather than to the VM: its budget,
/// deadline, stop state and call thread. A call waiting for the host is detached
/// (mg_call_detach) so the VM can run other calls, and attached again before it is
/// continued. Opaque to Swift beyond its size.
typedef struct mg_call_snapshot {
    long long budget, remaining, step_rest, deadline_ms;
    unsigned long long deadline_ns, alloc_rest;
    int stop, granularity, limit_hit, thread_ref;
    char stop_where[512];
} mg_call_snapshot;
/// Saves the waiting call's state into `out` and gives the VM a fresh call thread.
void mg_call_detach(lua_State *L, mg_call_snapshot *out);
/// Makes the call saved in `in` the VM's current call again (the VM's idle call
/// thread is dropped); continue it with mg_call_continue.
void mg_call_attach(lua_State *L, const mg_call_snapshot *in);
/// How many parameters the Lua function at `index` declares; -1 for a vararg function
/// (or a C function), which gets every argument.
int mg_declared_parameters(lua_State *L, int index);
/// True when the allocator refused memory since the last mg_budget_arm.
int mg_memory_limit_hit(lua_State *L);

/// Compiles a text-only chunk (binary chunks are refused). Pushes the function
/// (status 0) or an error message. `chunkname` is used as given ("@file" form).
int mg_load_text(lua_State *L, const char *buffer, size_t length, const char *chunkname);
/// Sets the first upvalue (_ENV of a main chunk) of the function at `function_index`
/// to the value on top of the stack, which is popped. Returns 0 when there was none.
int mg_set_env(lua_State *L, int function_index);
/// Calls the function below `nargs` arguments in protected mode with the budget and
/// memory cap in force. On error (status != 0) the top is always a string message
/// carrying "file:line:" whenever a Lua position is known.
int mg_pcall(lua_State *L, int nargs, int nresults);

/// The chunk name of the trusted sandbox prelude: error positions skip its frames.
const char *mg_sandbox_chunkname(void);
/// Pushes error(message) for the prelude: the message gets the position of the
/// policy line that called into the prelude, not the prelude's own.
void mg_push_sandbox_error_function(lua_State *L);

/// Pushes a C closure that forwards to the host dispatch with `function_id`.
void mg_push_host_function(lua_State *L, int function_id);

/// Macro wrappers and small helpers.
int mg_registry_index(void);
void mg_pop(lua_State *L, int n);
void mg_newtable(lua_State *L);
/// The bytes of a string value (no number conversion, so it never allocates);
/// NULL for any other type.
const char *mg_tostring(lua_State *L, int index, size_t *length);
/// Stores the top value in the registry (popping it) and returns its reference.
int mg_ref(lua_State *L);
void mg_unref(lua_State *L, int ref);
/// Pushes the registry value for `ref`; returns its type.
int mg_push_ref(lua_State *L, int ref);
/// Sets t[key] = top for the table at `table_index` without metamethods (pops the value).
void mg_rawset_field(lua_State *L, int table_index, const char *key);
/// Pushes t[key] for the table at `table_index` without metamethods; returns its type.
int mg_rawget_field(lua_State *L, int table_index, const char *key);

#endif
