// The C side of the Lua embedding: state creation with a capped allocator, the
// instruction budget and deadline of a hook call, the call thread a hook runs on
// (so a long call can be suspended and continued on another thread), the
// coroutine library rebuilt so every coroutine draws from the call's budget,
// protected loading and calling, host-function trampolines and wrappers for Lua's
// C macros. See include/CLuaShim.h.
#include "CLuaShim.h"
#include "shim_internal.h"

#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <lua5.4/lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MG_SANDBOX_CHUNKNAME "=mailgate"

int mg_install_bounds(lua_State *L);
static int install_coroutine_library(lua_State *L);

// Blocks of up to MG_SMALL_MAX bytes (tables, their nodes, short strings: nearly all of
// what a hook call allocates) are recycled through per-state free lists, one per
// 16-byte size class. A state runs on one thread at a time, so the lists need no lock;
// glibc's malloc cost more and took its arena lock, which the store's writer thread
// also takes when it frees what an event loop allocated. Blocks in the lists are
// malloc'ed blocks at least as large as their class. The lists keep at most
// MG_SMALL_KEEP bytes (the rest goes back to malloc at once), and everything when the
// state closes, so a policy that once used its whole memory cap does not leave it held.
#define MG_SMALL_GRAIN 16
#define MG_SMALL_CLASSES 16
#define MG_SMALL_MAX (MG_SMALL_GRAIN * MG_SMALL_CLASSES)
#define MG_SMALL_KEEP (1024 * 1024)

typedef struct mg_free_block { struct mg_free_block *next; } mg_free_block;

/// Instructions charged per resume of a script's coroutine (and its count-hook
/// interval): Lua's public API cannot tell how many instructions a coroutine ran
/// since its hook last fired, so each resume pays one interval up front.
#define MG_COROUTINE_INTERVAL 100
/// Bytes allocated by Lua code charged as one instruction: copying work (string.rep,
/// concatenation, gsub and format results, table growth) costs what it allocates.
#define MG_BYTES_PER_UNIT 16

/// Per-state bookkeeping, shared by every coroutine of the state (the extra space
/// of each thread holds a pointer to it; new threads copy the main thread's).
typedef struct mg_vm {
    size_t used;
    size_t limit;
    int enforce;            // 1 while Lua code runs: the cap applies
    int limit_hit;
    long long budget;       // instructions per call, as armed
    long long remaining;
    int granularity;        // hook count of the main and call threads
    int stop;               // MG_STOP_*: once set, the call has failed
    char stop_where[512];   // "file:line: " where it stopped
    long long step_rest;    // C steps not yet charged (below MG_STEPS_PER_UNIT)
    size_t alloc_rest;      // bytes allocated not yet charged
    unsigned long long deadline_ns;   // CLOCK_MONOTONIC; 0: none
    long long deadline_ms;
    unsigned long long slice_end_ns;  // the call may be suspended after this; 0: never
    int can_preempt;        // every resumer between here and the call thread can yield
    int preempting;         // a suspension is on its way out to the call thread
    int can_wait;           // every resumer between here and the call thread can yield
    int waiting;            // the suspension on its way out is a wait for the host
    lua_State *main;
    lua_State *call_thread; // hook calls run on it (anchored in the registry)
    int call_ref;
    mg_host_dispatch dispatch;
    void *context;
    mg_free_block *small[MG_SMALL_CLASSES];
    size_t small_kept;      // bytes of the class sizes in the lists
} mg_vm;

static mg_vm *vm_of(lua_State *L) { return *(mg_vm **)lua_getextraspace(L); }

static size_t small_class(size_t size) { return (size - 1) / MG_SMALL_GRAIN; }

static void *small_take(mg_vm *vm, size_t size) {
    size_t class = small_class(size);
    mg_free_block *block = vm->small[class];
    if (block != NULL) {
        vm->small[class] = block->next;
        vm->small_kept -= (class + 1) * MG_SMALL_GRAIN;
        return block;
    }
    return malloc((class + 1) * MG_SMALL_GRAIN);
}

static void small_give(mg_vm *vm, void *ptr, size_t size) {
    size_t class = small_class(size);
    if (vm->small_kept >= MG_SMALL_KEEP) {
        free(ptr);
        return;
    }
    mg_free_block *block = ptr;
    block->next = vm->small[class];
    vm->small[class] = block;
    vm->small_kept += (class + 1) * MG_SMALL_GRAIN;
}

/// realloc for the block sizes Lua reports: small ones through the free lists. A
/// shrink never fails (Lua relies on that): when no smaller block is to be had, the
/// block stays where it is, as a larger-than-needed member of its new class.
static void *resize_block(mg_vm *vm, void *ptr, size_t old, size_t nsize) {
    int old_small = ptr != NULL && old <= MG_SMALL_MAX;
    int new_small = nsize <= MG_SMALL_MAX;
    if (ptr == NULL) return new_small ? small_take(vm, nsize) : malloc(nsize);
    if (!old_small && !new_small) return realloc(ptr, nsize);
    if (old_small && new_small && small_class(old) == small_class(nsize)) return ptr;
    void *block = new_small ? small_take(vm, nsize) : malloc(nsize);
    if (block == NULL) return nsize <= old ? ptr : NULL;
    memcpy(block, ptr, old < nsize ? old : nsize);
    if (old_small) small_give(vm, ptr, old); else free(ptr);
    return block;
}

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    mg_vm *vm = (mg_vm *)ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        if (ptr != NULL) {
            if (old <= MG_SMALL_MAX) small_give(vm, ptr, old); else free(ptr);
        }
        vm->used -= old;
        return NULL;
    }
    if (nsize > old && vm->enforce) {
        if (vm->used - old + nsize > vm->limit) {
            vm->limit_hit = 1;
            return NULL;  // Lua collects garbage, retries, then raises LUA_ERRMEM
        }
        // Copying work is charged by what it allocates; a spent call gets no more.
        if (vm->stop) return NULL;
        vm->alloc_rest += nsize - old;
        if (vm->alloc_rest >= 64 * MG_BYTES_PER_UNIT && vm->budget > 0) {
            vm->remaining -= (long long)(vm->alloc_rest / MG_BYTES_PER_UNIT);
            vm->alloc_rest %= MG_BYTES_PER_UNIT;
            if (vm->remaining <= 0) {
                vm->stop = MG_STOP_BUDGET;
                return NULL;
            }
        }
    }
    void *block = resize_block(vm, ptr, old, nsize);
    if (block == NULL) {
        if (!vm->enforce) {
            // Outside Lua code a failed allocation would raise through a Swift
            // frame: a real out-of-memory ends the process instead.
            fputs("mailgate: out of memory in the Lua host\n", stderr);
            abort();
        }
        return NULL;
    }
    vm->used = vm->used - old + nsize;
    return block;
}

static int panic_handler(lua_State *L) {
    const char *message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no message)";
    fprintf(stderr, "mailgate: unprotected Lua error: %s\n", message);
    abort();
    return 0;
}

static int open_safe_libraries(lua_State *L) {
    static const luaL_Reg libraries[] = {
        {LUA_GNAME, luaopen_base},
        {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},
        {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},
        {LUA_OSLIBNAME, luaopen_os},
        {LUA_COLIBNAME, luaopen_coroutine},
        {NULL, NULL},
    };
    for (const luaL_Reg *library = libraries; library->func; library++) {
        luaL_requiref(L, library->name, library->func, 1);
        lua_pop(L, 1);
    }
    mg_vm *vm = vm_of(L);
    vm->call_thread = lua_newthread(L);
    vm->call_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    install_coroutine_library(L);
    return mg_install_bounds(L);
}

lua_State *mg_state_open(size_t memory_limit, mg_host_dispatch dispatch, void *context) {
    mg_vm *vm = calloc(1, sizeof(mg_vm));
    if (vm == NULL) return NULL;
    vm->limit = memory_limit;
    vm->dispatch = dispatch;
    vm->context = context;
    vm->granularity = 1000;
    lua_State *L = lua_newstate(limited_alloc, vm);
    if (L == NULL) {
        free(vm);
        return NULL;
    }
    *(mg_vm **)lua_getextraspace(L) = vm;
    vm->main = L;
    lua_atpanic(L, panic_handler);
    lua_setwarnf(L, NULL, NULL);
    lua_pushcfunction(L, open_safe_libraries);
    if (mg_pcall(L, 0, 0) != LUA_OK) {
        mg_state_close(L);
        return NULL;
    }
    return L;
}

void mg_state_close(lua_State *L) {
    if (L == NULL) return;
    mg_vm *vm = vm_of(L);
    vm->enforce = 0;
    lua_close(L);
    for (int class = 0; class < MG_SMALL_CLASSES; class++) {
        while (vm->small[class] != NULL) {
            mg_free_block *block = vm->small[class];
            vm->small[class] = block->next;
            free(block);
        }
    }
    free(vm);
}

size_t mg_memory_used(lua_State *L) { return vm_of(L)->used; }
size_t mg_memory_limit(lua_State *L) { return vm_of(L)->limit; }
void mg_set_memory_limit(lua_State *L, size_t limit) { vm_of(L)->limit = limit; }

void mg_collect_garbage(lua_State *L) { lua_gc(L, LUA_GCCOLLECT, 0); }

// ---- positions -----------------------------------------------------------------

/// Pushes "file:line: " for the innermost Lua function at or above `level` that is
/// not part of the sandbox prelude (so errors point at the policy's own line), or "".
static void push_policy_position(lua_State *L, int level) {
    lua_Debug ar;
    for (; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (ar.currentline > 0 && strcmp(ar.source, MG_SANDBOX_CHUNKNAME) != 0) {
            lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
            return;
        }
    }
    lua_pushliteral(L, "");
}

/// The text after "mailgate:NN: " when `message` is an error raised on behalf of the
/// prelude (such an error belongs to the policy line that called into the prelude);
/// NULL otherwise.
static const char *prelude_error_text(const char *message) {
    static const char chunk[] = MG_SANDBOX_CHUNKNAME;
    const char *name = chunk + 1;  // without the '='
    size_t prefix = strlen(name);
    if (strncmp(message, name, prefix) != 0 || message[prefix] != ':') return NULL;
    const char *rest = message + prefix + 1;
    while (*rest >= '0' && *rest <= '9') rest++;
    return rest[0] == ':' && rest[1] == ' ' ? rest + 2 : NULL;
}

const char *mg_sandbox_chunkname(void) { return MG_SANDBOX_CHUNKNAME; }

/// error(message) for the prelude: positioned at the policy line that called in.
static int sandbox_error(lua_State *L) {
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    push_policy_position(L, 1);
    lua_insert(L, 1);
    lua_concat(L, 2);
    return lua_error(L);
}

void mg_push_sandbox_error_function(lua_State *L) { lua_pushcfunction(L, sandbox_error); }

// ---- budget, deadline and suspension ----------------------------------------

static unsigned long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static void budget_hook(lua_State *L, lua_Debug *ar);

/// The count-hook interval of a thread: the grain for the main and call threads, a
/// shorter one for coroutines (each resume pays one interval in advance).
static int interval_of(mg_vm *vm, lua_State *L) {
    if (L == vm->main || L == vm->call_thread) return vm->granularity;
    return vm->granularity < MG_COROUTINE_INTERVAL ? vm->granularity : MG_COROUTINE_INTERVAL;
}

static void check_deadline(mg_vm *vm) {
    if (!vm->stop && vm->deadline_ns != 0 && now_ns() >= vm->deadline_ns) vm->stop = MG_STOP_DEADLINE;
}

static void push_stop_text(lua_State *L, mg_vm *vm) {
    if (vm->stop == MG_STOP_DEADLINE) {
        if (vm->deadline_ms % 1000 == 0)
            lua_pushfstring(L, "deadline of %Is exceeded", (lua_Integer)(vm->deadline_ms / 1000));
        else
            lua_pushfstring(L, "deadline of %Ims exceeded", (lua_Integer)vm->deadline_ms);
    } else {
        lua_pushfstring(L, "instruction budget of %I exceeded", (lua_Integer)vm->budget);
    }
}

/// Keeps "file:line: " of the first place the call stopped, for its report.
static void record_stop_position(lua_State *L, mg_vm *vm) {
    if (vm->stop_where[0] != '\0') return;
    int saved = vm->enforce;
    vm->enforce = 0;
    push_policy_position(L, 0);
    const char *where = lua_tostring(L, -1);
    snprintf(vm->stop_where, sizeof vm->stop_where, "%s", where[0] ? where : " ");
    lua_pop(L, 1);
    vm->enforce = saved;
}

/// Raises the error of a spent call. The thread is left stopping at every
/// instruction, so a pcall in the script that catches the error cannot run on (and
/// the call has failed whatever it does: its result is ignored).
static int raise_stop(lua_State *L) {
    mg_vm *vm = vm_of(L);
    int saved = vm->enforce;
    vm->enforce = 0;  // the message must not fail for want of memory
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    record_stop_position(L, vm);
    lua_pushstring(L, vm->stop_where[0] == ' ' ? "" : vm->stop_where);
    push_stop_text(L, vm);
    lua_concat(L, 2);
    vm->enforce = saved;
    return lua_error(L);
}

static void budget_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    mg_vm *vm = vm_of(L);
    if (!vm->stop) {
        int count = lua_gethookcount(L);
        vm->remaining -= count;
        if (vm->remaining <= 0) {
            vm->stop = MG_STOP_BUDGET;
        } else {
            int suspend = 0;
            if (vm->deadline_ns != 0 || vm->slice_end_ns != 0) {
                unsigned long long now = now_ns();
                if (vm->deadline_ns != 0 && now >= vm->deadline_ns) vm->stop = MG_STOP_DEADLINE;
                else if (vm->slice_end_ns != 0 && now >= vm->slice_end_ns && vm->can_preempt && lua_isyieldable(L))
                    suspend = 1;
            }
            if (!vm->stop) {
                // A thread left at count 1 by an earlier call goes back to its interval.
                int interval = interval_of(vm, L);
                if (count != interval) lua_sethook(L, budget_hook, LUA_MASKCOUNT, interval);
                if (suspend) {
                    // The call goes on elsewhere: every resumer on the way out passes
                    // this yield up (co_run), and the runner continues the call thread.
                    vm->preempting = 1;
                    lua_yield(L, 0);
                }
                return;
            }
        }
    }
    // Stop by yielding where the thread can: an error thrown from inside a hook
    // leaves the thread's hooks disabled for good (Lua restores that flag only at a
    // pcall), so its __close handlers, or the next call on it, would run unbounded.
    // The resumer sees the stop and raises it from C (co_run, resume_call).
    if (L != vm->main && lua_isyieldable(L)) {
        record_stop_position(L, vm);
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
        lua_yield(L, 0);
        return;
    }
    raise_stop(L);
}

/// C work does not move the instruction count, so a loop of costly C calls would
/// reach the count hook (where a call suspends itself) only after many of them: once
/// the slice is over, make the hook fire at the thread's next instruction.
static void nudge_if_slice_over(lua_State *L, mg_vm *vm) {
    if (vm->slice_end_ns != 0 && vm->can_preempt && now_ns() >= vm->slice_end_ns)
        lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
}

void mg_charge(lua_State *L, long long units) {
    mg_vm *vm = vm_of(L);
    // One C call cannot be suspended: a price beyond this is refused whatever the
    // budget, so no single call holds its thread (maybe an event loop) for long.
    if (units > MG_MAX_CALL_UNITS)
        luaL_error(L, "call too costly: %I instructions' worth of work in one call (the sandbox limit is %I)",
                   (lua_Integer)units, (lua_Integer)MG_MAX_CALL_UNITS);
    if (!vm->stop) {
        vm->remaining -= units;
        if (vm->remaining <= 0) vm->stop = MG_STOP_BUDGET;
        else check_deadline(vm);
    }
    if (vm->stop) raise_stop(L);
    nudge_if_slice_over(L, vm);
}

void mg_charge_work(lua_State *L, long long steps) {
    mg_vm *vm = vm_of(L);
    steps += vm->step_rest;
    vm->step_rest = steps % MG_STEPS_PER_UNIT;
    mg_charge(L, steps / MG_STEPS_PER_UNIT);
}

static void arm(mg_vm *vm, long long instructions, long long deadline_ms, unsigned long long now) {
    if (instructions < 1) instructions = 1;
    vm->budget = instructions;
    vm->remaining = instructions;
    vm->stop = 0;
    vm->stop_where[0] = '\0';
    vm->step_rest = 0;
    vm->alloc_rest = 0;
    vm->limit_hit = 0;
    vm->preempting = 0;
    vm->slice_end_ns = 0;
    vm->can_preempt = 0;
    vm->deadline_ms = deadline_ms;
    vm->deadline_ns = deadline_ms > 0 ? now + (unsigned long long)deadline_ms * 1000000ull : 0;
    vm->granularity = instructions < 1000 ? (int)instructions : 1000;
}

void mg_budget_arm(lua_State *L, long long instructions) {
    mg_vm *vm = vm_of(L);
    arm(vm, instructions, 0, 0);
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, vm->granularity);
}

int mg_budget_exhausted(lua_State *L) { return vm_of(L)->stop == MG_STOP_BUDGET; }
int mg_stop_reason(lua_State *L) { return vm_of(L)->stop; }

void mg_push_stop_message(lua_State *L) {
    mg_vm *vm = vm_of(L);
    lua_pushstring(L, vm->stop_where[0] == ' ' ? "" : vm->stop_where);
    push_stop_text(L, vm);
    lua_concat(L, 2);
}

// ---- coroutines --------------------------------------------------------------
// coroutine.resume, wrap, close, yield, isyieldable and running are replaced:
//  - every resume pays one interval up front and runs with the count hook set, so
//    a coroutine that finishes within an interval is still charged;
//  - a spent call cannot resume anything: the stop is raised in the resumer;
//  - a suspension of the hook call (the count hook yielding once the call has used
//    its time slice on the event loop) is passed up through each resumer with a
//    continuation that resumes the inner coroutine again, so no script sees it;
//  - the hook function itself is not a coroutine to the script: yield refuses to
//    run there, isyieldable answers false and running answers (thread, true).

static int co_run(lua_State *L, lua_State *co, int narg, int wrapped);

static const char stopped_key = 0;  // registry: weak set of coroutines that died of a stop

static void mark_stopped(lua_State *L, int index) {
    mg_vm *vm = vm_of(L);
    int saved = vm->enforce;
    vm->enforce = 0;
    index = lua_absindex(L, index);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &stopped_key);
    lua_pushvalue(L, index);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    vm->enforce = saved;
}

static int is_stopped(lua_State *L, int index) {
    index = lua_absindex(L, index);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &stopped_key);
    lua_pushvalue(L, index);
    int found = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return found;
}

static int co_continue(lua_State *L, int status, lua_KContext ctx) {
    (void)status;
    int wrapped = (int)ctx;
    lua_State *co = lua_tothread(L, wrapped ? lua_upvalueindex(1) : 1);
    return co_run(L, co, 0, wrapped);
}

static int co_run(lua_State *L, lua_State *co, int narg, int wrapped) {
    mg_vm *vm = vm_of(L);
    for (;;) {
        int interval = interval_of(vm, co);
        mg_charge(L, interval);
        lua_sethook(co, budget_hook, LUA_MASKCOUNT, interval);
        int outer = vm->can_preempt, outer_wait = vm->can_wait;
        vm->can_preempt = outer && lua_isyieldable(L);
        vm->can_wait = outer_wait && lua_isyieldable(L);
        int nres = 0;
        int status = lua_resume(co, L, narg, &nres);
        vm->can_preempt = outer;
        vm->can_wait = outer_wait;
        if (vm->stop) {
            // A coroutine that died of the stop may have its hooks disabled (see
            // budget_hook): it must never run Lua again, not even __close handlers.
            if (status != LUA_OK && status != LUA_YIELD) mark_stopped(L, wrapped ? lua_upvalueindex(1) : 1);
            return raise_stop(L);
        }
        if (status == LUA_YIELD && (vm->preempting || vm->waiting)) {
            lua_pop(co, nres);
            // A wait only starts where mg_can_wait said every resumer can pass it up.
            if (lua_isyieldable(L)) return lua_yieldk(L, 0, (lua_KContext)wrapped, co_continue);
            vm->preempting = 0;  // cannot pass it up (can_preempt said so): run on
            narg = 0;
            continue;
        }
        if (status == LUA_OK || status == LUA_YIELD) {
            if (!lua_checkstack(L, nres + 1)) {
                lua_pop(co, nres);
                if (wrapped) return luaL_error(L, "too many results to resume");
                lua_pushboolean(L, 0);
                lua_pushliteral(L, "too many results to resume");
                return 2;
            }
            lua_xmove(co, L, nres);
            if (wrapped) return nres;
            lua_pushboolean(L, 1);
            lua_insert(L, -(nres + 1));
            return nres + 1;
        }
        if (!wrapped) {
            lua_xmove(co, L, 1);
            lua_pushboolean(L, 0);
            lua_insert(L, -2);
            return 2;
        }
        // As coroutine.wrap does: close the dead coroutine's pending variables, then
        // propagate the error with the caller's position.
        lua_sethook(co, budget_hook, LUA_MASKCOUNT, interval_of(vm, co));
        int closed = lua_resetthread(co);
        if (vm->stop) return raise_stop(L);
        lua_xmove(co, L, 1);
        if (closed != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
}

static int start_resume(lua_State *L, lua_State *co, int first_arg, int wrapped) {
    int narg = lua_gettop(L) - first_arg + 1;
    if (!lua_checkstack(co, narg)) {
        if (wrapped) return luaL_error(L, "too many arguments to resume");
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "too many arguments to resume");
        return 2;
    }
    lua_xmove(L, co, narg);
    return co_run(L, co, narg, wrapped);
}

static int co_resume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co != NULL, 1, "coroutine");
    return start_resume(L, co, 2, 0);
}

static int co_wrapped(lua_State *L) {
    return start_resume(L, lua_tothread(L, lua_upvalueindex(1)), 1, 1);
}

static int co_wrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, co_wrapped, 1);
    return 1;
}

static int co_close(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    if (co != NULL && is_stopped(L, 1)) {
        lua_pushboolean(L, 0);
        lua_pushliteral(L, "cannot close a coroutine stopped by the sandbox");
        return 2;
    }
    if (co != NULL) {
        mg_vm *vm = vm_of(L);
        int interval = interval_of(vm, co);
        mg_charge(L, interval);  // its __close handlers run now
        lua_sethook(co, budget_hook, LUA_MASKCOUNT, interval);
    }
    int results = lua_tocfunction(L, lua_upvalueindex(1))(L);
    if (vm_of(L)->stop) return raise_stop(L);
    return results;
}

static int co_yield(lua_State *L) {
    if (L == vm_of(L)->call_thread) return luaL_error(L, "attempt to yield from outside a coroutine");
    return lua_yield(L, lua_gettop(L));
}

static int co_isyieldable(lua_State *L) {
    lua_State *co = lua_isnone(L, 1) ? L : lua_tothread(L, 1);
    luaL_argexpected(L, co != NULL, 1, "coroutine");
    lua_pushboolean(L, co != vm_of(L)->call_thread && lua_isyieldable(co));
    return 1;
}

static int co_running(lua_State *L) {
    int is_main = lua_pushthread(L);
    lua_pushboolean(L, is_main || L == vm_of(L)->call_thread);
    return 2;
}

static int install_coroutine_library(lua_State *L) {
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &stopped_key);
    lua_getglobal(L, LUA_COLIBNAME);
    int library = lua_gettop(L);
    static const luaL_Reg replaced[] = {
        {"resume", co_resume}, {"wrap", co_wrap}, {"yield", co_yield},
        {"isyieldable", co_isyieldable}, {"running", co_running}, {NULL, NULL},
    };
    for (const luaL_Reg *entry = replaced; entry->name; entry++) {
        lua_pushcfunction(L, entry->func);
        lua_setfield(L, library, entry->name);
    }
    lua_getfield(L, library, "close");
    lua_pushcclosure(L, co_close, 1);
    lua_setfield(L, library, "close");
    lua_pop(L, 1);
    return 0;
}

// ---- the call thread -------------------------------------------------------------

/// Pushes onto L the failure of the call thread `T` (its stack is not unwound: the
/// positions are still there), the same text mg_pcall's handler would give.
static void push_call_error(lua_State *L, lua_State *T) {
    if (lua_type(T, -1) == LUA_TSTRING) {
        const char *message = lua_tostring(T, -1);
        const char *rest = prelude_error_text(message);
        if (rest != NULL) {
            push_policy_position(T, 0);
            lua_xmove(T, L, 1);
            lua_pushstring(L, rest);
            lua_concat(L, 2);
            return;
        }
        lua_pushstring(L, message);
        return;
    }
    const char *kind = luaL_typename(T, -1);
    lua_Debug ar;
    for (int level = 0; lua_getstack(T, level, &ar); level++) {
        if (lua_getinfo(T, "Sl", &ar) && ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: (error object is a %s value)", ar.short_src, ar.currentline, kind);
            return;
        }
    }
    lua_pushfstring(L, "(error object is a %s value)", kind);
}

static int resume_call(lua_State *L, int nargs, int *nresults) {
    mg_vm *vm = vm_of(L);
    lua_State *T = vm->call_thread;
    int saved = vm->enforce;
    vm->enforce = 1;
    int nres = 0;
    int status = lua_resume(T, L, nargs, &nres);
    vm->enforce = saved;
    *nresults = 0;
    if (status == LUA_YIELD && (vm->preempting || vm->waiting) && !vm->stop) return LUA_YIELD;
    if (status == LUA_OK && !vm->stop) {
        lua_xmove(T, L, nres);
        lua_settop(T, 0);
        *nresults = nres;
        return LUA_OK;
    }
    if (status == LUA_OK || status == LUA_YIELD) {
        lua_pushliteral(L, "the call stopped");  // replaced by the stop message
        status = LUA_ERRRUN;
    } else {
        push_call_error(L, T);
    }
    if (!vm->stop) {
        // Close what the failed call left open (its __close handlers run under what
        // is left of the call's budget).
        vm->enforce = 1;
        lua_resetthread(T);
        vm->enforce = saved;
        lua_settop(T, 0);
    }
    if (vm->stop) {
        // A stopped call thread may have its hooks disabled (see budget_hook) and
        // must not run again: its pending __close handlers are dropped with it.
        vm->call_thread = lua_newthread(L);
        lua_rawseti(L, LUA_REGISTRYINDEX, vm->call_ref);
    }
    return status;
}

int mg_call_begin(lua_State *L, int nargs, long long instructions, long long deadline_ms,
                  long long slice_us, int *nresults) {
    mg_vm *vm = vm_of(L);
    lua_State *T = vm->call_thread;
    if (lua_status(T) != LUA_OK) lua_resetthread(T);
    lua_settop(T, 0);
    // One clock read per call on the hot path: it serves the deadline and the slice.
    unsigned long long now = deadline_ms > 0 || slice_us > 0 ? now_ns() : 0;
    arm(vm, instructions, deadline_ms, now);
    if (slice_us > 0) {
        vm->slice_end_ns = now + (unsigned long long)slice_us * 1000ull;
        vm->can_preempt = 1;
    }
    vm->can_wait = 1;
    vm->waiting = 0;
    lua_sethook(T, budget_hook, LUA_MASKCOUNT, vm->granularity);
    lua_xmove(L, T, nargs + 1);
    return resume_call(L, nargs, nresults);
}

int mg_call_continue(lua_State *L, int *nresults) {
    mg_vm *vm = vm_of(L);
    vm->preempting = 0;
    vm->slice_end_ns = 0;
    vm->can_preempt = 0;
    vm->can_wait = 1;
    return resume_call(L, 0, nresults);
}

int mg_call_waiting(lua_State *L) { return vm_of(L)->waiting; }

long long mg_call_time_left_ms(lua_State *L) {
    mg_vm *vm = vm_of(L);
    if (vm->deadline_ns == 0) return -1;
    unsigned long long now = now_ns();
    return now >= vm->deadline_ns ? 0 : (long long)((vm->deadline_ns - now) / 1000000ull);
}

int mg_can_wait(lua_State *L) {
    mg_vm *vm = vm_of(L);
    return vm->can_wait && L != vm->main && lua_isyieldable(L);
}

void mg_call_detach(lua_State *L, mg_call_snapshot *out) {
    mg_vm *vm = vm_of(L);
    out->budget = vm->budget;
    out->remaining = vm->remaining;
    out->step_rest = vm->step_rest;
    out->deadline_ms = vm->deadline_ms;
    out->deadline_ns = vm->deadline_ns;
    out->alloc_rest = vm->alloc_rest;
    out->stop = vm->stop;
    out->granularity = vm->granularity;
    out->limit_hit = vm->limit_hit;
    memcpy(out->stop_where, vm->stop_where, sizeof out->stop_where);
    out->thread_ref = vm->call_ref;
    int saved = vm->enforce;
    vm->enforce = 0;
    vm->call_thread = lua_newthread(vm->main);
    vm->call_ref = luaL_ref(vm->main, LUA_REGISTRYINDEX);
    vm->enforce = saved;
    vm->waiting = 0;
    vm->preempting = 0;
    vm->can_preempt = 0;
    vm->slice_end_ns = 0;
    vm->deadline_ns = 0;
    vm->stop = 0;
}

void mg_call_attach(lua_State *L, const mg_call_snapshot *in) {
    mg_vm *vm = vm_of(L);
    luaL_unref(vm->main, LUA_REGISTRYINDEX, vm->call_ref);
    lua_rawgeti(vm->main, LUA_REGISTRYINDEX, in->thread_ref);
    vm->call_thread = lua_tothread(vm->main, -1);
    lua_pop(vm->main, 1);
    vm->call_ref = in->thread_ref;
    vm->budget = in->budget;
    vm->remaining = in->remaining;
    vm->step_rest = in->step_rest;
    vm->deadline_ms = in->deadline_ms;
    vm->deadline_ns = in->deadline_ns;
    vm->alloc_rest = (size_t)in->alloc_rest;
    vm->stop = in->stop;
    vm->granularity = in->granularity;
    vm->limit_hit = in->limit_hit;
    memcpy(vm->stop_where, in->stop_where, sizeof vm->stop_where);
    vm->waiting = 0;
    vm->preempting = 0;
}

int mg_declared_parameters(lua_State *L, int index) {
    lua_Debug ar;
    lua_pushvalue(L, index);
    if (!lua_getinfo(L, ">u", &ar) || ar.isvararg) return -1;
    return ar.nparams;
}

int mg_memory_limit_hit(lua_State *L) { return vm_of(L)->limit_hit; }

// ---- loading and calling ---------------------------------------------------

int mg_load_text(lua_State *L, const char *buffer, size_t length, const char *chunkname) {
    mg_vm *vm = vm_of(L);
    int saved = vm->enforce;
    vm->enforce = 1;
    int status = luaL_loadbufferx(L, buffer, length, chunkname, "t");
    vm->enforce = saved;
    if (status != LUA_OK && lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushstring(L, status == LUA_ERRMEM ? "not enough memory" : "cannot load chunk");
    }
    return status;
}

int mg_set_env(lua_State *L, int function_index) {
    if (lua_setupvalue(L, function_index, 1) == NULL) {
        lua_pop(L, 1);
        return 0;
    }
    return 1;
}

/// Runs at the error point. Written in C because a Lua handler would run with
/// hooks off. Strings pass through (they carry their position); other error values
/// are described with the position of the innermost Lua function.
static int message_handler(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING) {
        const char *rest = prelude_error_text(lua_tostring(L, 1));
        if (rest != NULL) {
            push_policy_position(L, 1);
            lua_pushstring(L, rest);
            lua_concat(L, 2);
        }
        return 1;
    }
    const char *kind = luaL_typename(L, 1);
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            lua_pushfstring(L, "%s:%d: (error object is a %s value)", ar.short_src, ar.currentline, kind);
            return 1;
        }
    }
    lua_pushfstring(L, "(error object is a %s value)", kind);
    return 1;
}

int mg_pcall(lua_State *L, int nargs, int nresults) {
    mg_vm *vm = vm_of(L);
    int base = lua_gettop(L) - nargs;  // the function's slot
    lua_pushcfunction(L, message_handler);
    lua_insert(L, base);
    int saved = vm->enforce;
    vm->enforce = 1;
    int status = lua_pcall(L, nargs, nresults, base);
    vm->enforce = saved;
    lua_remove(L, base);
    if (status != LUA_OK && lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        lua_pushstring(L, status == LUA_ERRMEM ? "not enough memory" : "error in error handling");
    }
    return status;
}

// ---- host functions ----------------------------------------------------------

static int host_results(lua_State *L, mg_vm *vm, int saved, int results);

/// Where a host function that waited goes on: the host pushes what the operation
/// gave (the values resume passed are none). A call past its deadline stops here.
static int host_resumed(lua_State *L, int status, lua_KContext ctx) {
    (void)status; (void)ctx;
    mg_vm *vm = vm_of(L);
    vm->waiting = 0;
    check_deadline(vm);
    if (vm->stop) return raise_stop(L);
    int saved = vm->enforce;
    vm->enforce = 0;
    int results = vm->dispatch(L, vm->context, MG_HOST_RESUME);
    vm->enforce = saved;
    return host_results(L, vm, saved, results);
}

static int host_trampoline(lua_State *L) {
    mg_vm *vm = vm_of(L);
    check_deadline(vm);
    if (vm->stop) return raise_stop(L);
    nudge_if_slice_over(L, vm);
    int function_id = (int)lua_tointeger(L, lua_upvalueindex(1));
    int saved = vm->enforce;
    vm->enforce = 0;
    int results = vm->dispatch(L, vm->context, function_id);
    vm->enforce = saved;
    if (results == MG_HOST_WAIT) {
        // Every resumer up to the call thread passes this yield up (co_run); the
        // runner parks the call until the host continues it (host_resumed).
        vm->waiting = 1;
        return lua_yieldk(L, 0, 0, host_resumed);
    }
    return host_results(L, vm, saved, results);
}

static int host_results(lua_State *L, mg_vm *vm, int saved, int results) {
    if (results < 0) {  // Swift has returned: safe to unwind now
        push_policy_position(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
    }
    // What the host built counts against the cap: it ran with the cap off (an
    // allocation failing in Swift could not unwind), so look now.
    if (saved && vm->used > vm->limit) {
        lua_gc(L, LUA_GCCOLLECT);
        if (vm->used > vm->limit) {
            vm->limit_hit = 1;
            lua_settop(L, 0);
            return luaL_error(L, "not enough memory");
        }
    }
    return results;
}

void mg_push_host_function(lua_State *L, int function_id) {
    lua_pushinteger(L, function_id);
    lua_pushcclosure(L, host_trampoline, 1);
}

// ---- macro wrappers ------------------------------------------------------------

int mg_registry_index(void) { return LUA_REGISTRYINDEX; }
void mg_pop(lua_State *L, int n) { lua_pop(L, n); }
void mg_newtable(lua_State *L) { lua_newtable(L); }

const char *mg_tostring(lua_State *L, int index, size_t *length) {
    if (lua_type(L, index) != LUA_TSTRING) return NULL;
    return lua_tolstring(L, index, length);
}

int mg_ref(lua_State *L) { return luaL_ref(L, LUA_REGISTRYINDEX); }
void mg_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
int mg_push_ref(lua_State *L, int ref) { return lua_rawgeti(L, LUA_REGISTRYINDEX, ref); }

void mg_rawset_field(lua_State *L, int table_index, const char *key) {
    table_index = lua_absindex(L, table_index);
    lua_pushstring(L, key);
    lua_insert(L, -2);
    lua_rawset(L, table_index);
}

int mg_rawget_field(lua_State *L, int table_index, const char *key) {
    table_index = lua_absindex(L, table_index);
    lua_pushstring(L, key);
    return lua_rawget(L, table_index);
}
