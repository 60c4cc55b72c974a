// The C side of the Lua embedding: state creation with a capped allocator, the
// instruction-budget hook, protected loading and calling, host-function
// trampolines and wrappers for Lua's C macros. See include/CLuaShim.h.
#include "CLuaShim.h"

#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <lua5.4/lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MG_SANDBOX_CHUNKNAME "=mailgate"

int mg_install_bounds(lua_State *L);

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

/// Per-state bookkeeping, shared by every coroutine of the state (the extra space
/// of each thread holds a pointer to it; new threads copy the main thread's).
typedef struct mg_vm {
    size_t used;
    size_t limit;
    int enforce;            // 1 while Lua code runs: the cap applies
    int limit_hit;
    long long budget;       // instructions per call, as armed
    long long remaining;
    int granularity;        // hook count while the budget is not spent
    int exhausted;
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
    if (nsize > old && vm->enforce && vm->used - old + nsize > vm->limit) {
        vm->limit_hit = 1;
        return NULL;  // Lua collects garbage, retries, then raises LUA_ERRMEM
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

// ---- instruction budget ----------------------------------------------------

static void budget_hook(lua_State *L, lua_Debug *ar) {
    mg_vm *vm = vm_of(L);
    if (!vm->exhausted) {
        vm->remaining -= lua_gethookcount(L);
        if (vm->remaining > 0) {
            // A coroutine left at count 1 by an earlier call goes back to the grain.
            if (lua_gethookcount(L) != vm->granularity)
                lua_sethook(L, budget_hook, LUA_MASKCOUNT, vm->granularity);
            return;
        }
        vm->exhausted = 1;
    }
    // Spent: stop at every instruction from now on, so a pcall in the script
    // that catches this error cannot run on.
    (void)ar;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1);
    push_policy_position(L, 0);
    lua_pushfstring(L, "instruction budget of %I exceeded", (lua_Integer)vm->budget);
    lua_concat(L, 2);
    lua_error(L);
}

void mg_budget_arm(lua_State *L, long long instructions) {
    mg_vm *vm = vm_of(L);
    if (instructions < 1) instructions = 1;
    vm->budget = instructions;
    vm->remaining = instructions;
    vm->exhausted = 0;
    vm->limit_hit = 0;
    vm->granularity = instructions < 1000 ? (int)instructions : 1000;
    lua_sethook(L, budget_hook, LUA_MASKCOUNT, vm->granularity);
}

int mg_budget_exhausted(lua_State *L) { return vm_of(L)->exhausted; }

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
        // A library error raised on behalf of the prelude ("mailgate:163: ...")
        // belongs to the policy line that called into the prelude.
        const char *message = lua_tostring(L, 1);
        size_t prefix = strlen(MG_SANDBOX_CHUNKNAME) - 1;
        if (strncmp(message, MG_SANDBOX_CHUNKNAME + 1, prefix) == 0 && message[prefix] == ':') {
            const char *rest = message + prefix + 1;
            while (*rest >= '0' && *rest <= '9') rest++;
            if (rest[0] == ':' && rest[1] == ' ') {
                push_policy_position(L, 1);
                lua_pushstring(L, rest + 2);
                lua_concat(L, 2);
            }
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

static int host_trampoline(lua_State *L) {
    mg_vm *vm = vm_of(L);
    int function_id = (int)lua_tointeger(L, lua_upvalueindex(1));
    int saved = vm->enforce;
    vm->enforce = 0;
    int results = vm->dispatch(L, vm->context, function_id);
    vm->enforce = saved;
    if (results < 0) {  // Swift has returned: safe to unwind now
        push_policy_position(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
        return lua_error(L);
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
