// The cost of the C library functions a policy can call, charged to the hook call's
// instruction budget (the count hook only fires between Lua instructions, so C work
// is otherwise free and cannot be interrupted). Installed into the state's own
// `string`, `table`, `utf8` and base libraries at creation, so every policy, the
// string metatable (method calls such as s:find) and the prelude see them:
//  - string.find/match/gmatch/gsub run pattern.c's matcher, which charges every
//    step it takes as it goes (MG_STEPS_PER_UNIT steps per instruction) and stops
//    with the budget error when the budget is spent; subjects are limited to
//    MG_MAX_SUBJECT bytes and patterns to MG_MAX_PATTERN bytes (recursion depth);
//  - whatever Lua code allocates is charged by the allocator (luashim.c, one
//    instruction per MG_BYTES_PER_UNIT bytes): string.rep, sub, upper, lower,
//    reverse, format, concatenation and table.concat results cost what they copy;
//  - work that scans without allocating is charged before it runs: string.byte and
//    utf8.codepoint by the range, utf8.len/offset, string.pack/unpack/packsize and
//    tonumber by the bytes they read, string.char/utf8.char by their arguments;
//  - table.insert/remove (shifting), concat, unpack, move by their element counts,
//    table.sort by n·log2(n) comparisons (a Lua comparator is counted by the hook),
//    all at most MG_MAX_TABLE_RANGE elements (a __len metamethod can claim 2^62);
//  - string.rep with an empty string and separator returns "" at once (the real one
//    loops n times doing nothing);
//  - string.dump is removed (binary chunks are refused anyway).
// A call whose cost is beyond what is left of the budget fails before it runs.
#include <lua5.4/lua.h>
#include <lua5.4/lauxlib.h>

#define MG_MAX_SUBJECT 65536
#define MG_MAX_PATTERN 256
#define MG_MAX_TABLE_RANGE ((lua_Integer)1 << 20)

#include <string.h>

#include "shim_internal.h"

static lua_CFunction real_function(lua_State *L) { return lua_tocfunction(L, lua_upvalueindex(1)); }
static const char *function_name(lua_State *L) { return lua_tostring(L, lua_upvalueindex(2)); }

static int check_sizes(lua_State *L) {
    size_t length;
    if (lua_type(L, 1) == LUA_TSTRING) {
        lua_tolstring(L, 1, &length);
        if (length > MG_MAX_SUBJECT)
            return luaL_error(L, "%s: subject of %I bytes exceeds the sandbox limit of %d bytes",
                              function_name(L), (lua_Integer)length, MG_MAX_SUBJECT);
    }
    if (lua_type(L, 2) == LUA_TSTRING) {
        lua_tolstring(L, 2, &length);
        if (length > MG_MAX_PATTERN)
            return luaL_error(L, "%s: pattern of %I bytes exceeds the sandbox limit of %d bytes",
                              function_name(L), (lua_Integer)length, MG_MAX_PATTERN);
    }
    return 0;
}

/// Upvalue 1 here is the counting implementation from pattern.c.
static int bounded_pattern_function(lua_State *L) {
    check_sizes(L);
    return real_function(L)(L);
}

/// The length of argument `arg` when it is a string (numbers are short), else 0.
static long long string_length(lua_State *L, int arg) {
    size_t length = 0;
    if (lua_type(L, arg) == LUA_TSTRING) lua_tolstring(L, arg, &length);
    return (long long)length;
}

/// Charges by what the function reads before it runs. Upvalue 3 says how:
/// 1 the bytes of argument 1 (utf8.len/offset, tonumber, packsize), 2 the bytes
/// of arguments 1 and 2 (string.pack/unpack), 3 the (i, j) range of argument 1
/// (string.byte, utf8.codepoint), 4 the number of arguments (string.char, utf8.char).
static int charged_function(lua_State *L) {
    long long steps;
    switch (lua_tointeger(L, lua_upvalueindex(3))) {
        case 1: steps = string_length(L, 1); break;
        case 2: steps = string_length(L, 1) + string_length(L, 2) + 8 * (long long)lua_gettop(L); break;
        case 3: {
            long long length = string_length(L, 1);
            lua_Integer i = lua_isinteger(L, 2) ? lua_tointeger(L, 2) : 1;
            lua_Integer j = lua_isinteger(L, 3) ? lua_tointeger(L, 3) : i;
            if (i < 0) i = length + i + 1;
            if (j < 0) j = length + j + 1;
            if (j > length) j = length;
            steps = j >= i ? 4 * (long long)(j - i + 1) : 0;
            break;
        }
        default: steps = 4 * (long long)lua_gettop(L); break;
    }
    mg_charge_work(L, steps);
    return real_function(L)(L);
}

static int bounded_rep(lua_State *L) {
    size_t length, separator_length;
    luaL_checklstring(L, 1, &length);
    lua_Integer count = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &separator_length);
    if (count > 0 && length == 0 && separator_length == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return real_function(L)(L);
}

/// The number of elements of a (first, last) range, refused beyond MG_MAX_TABLE_RANGE.
static long long check_range(lua_State *L, int first_arg, int has_default_last) {
    lua_Integer first = luaL_optinteger(L, first_arg, 1);
    lua_Integer last;
    if (lua_isnoneornil(L, first_arg + 1)) {
        if (!has_default_last) return 0;
        last = luaL_len(L, 1);
    } else {
        last = luaL_checkinteger(L, first_arg + 1);
    }
    if (last < first) return 0;
    if ((lua_Unsigned)last - (lua_Unsigned)first >= (lua_Unsigned)MG_MAX_TABLE_RANGE)
        luaL_error(L, "%s: range of more than %I elements exceeds the sandbox limit",
                   function_name(L), MG_MAX_TABLE_RANGE);
    return (long long)(last - first) + 1;
}

/// Upvalue 3: the argument where a (first, last) range starts, 0 for none; negative
/// when `last` has no default (table.move), positive when it defaults to #t.
static int bounded_table_function(lua_State *L) {
    int range_arg = (int)lua_tointeger(L, lua_upvalueindex(3));
    long long elements = 0;
    if (range_arg == 0 && lua_type(L, 1) == LUA_TTABLE) {
        lua_Integer length = luaL_len(L, 1);
        if (length > MG_MAX_TABLE_RANGE)
            return luaL_error(L, "%s: table of %I elements exceeds the sandbox limit of %I",
                              function_name(L), length, MG_MAX_TABLE_RANGE);
        elements = length > 0 ? length : 0;
        if (strcmp(function_name(L), "table.sort") == 0) {
            long long log2 = 1;
            while ((1LL << log2) < elements) log2++;
            elements *= log2;
        }
    } else if (range_arg != 0) {
        elements = check_range(L, range_arg > 0 ? range_arg : -range_arg, range_arg > 0);
    }
    mg_charge(L, elements);
    return real_function(L)(L);
}

/// Replaces library[name] by `wrapper` with upvalues (implementation, "library.name",
/// extra); the implementation is `replacement` when given, else the original.
static void wrap_with(lua_State *L, int library, const char *library_name, const char *name,
                      lua_CFunction wrapper, lua_CFunction replacement, int extra) {
    lua_getfield(L, library, name);
    lua_CFunction real = lua_tocfunction(L, -1);
    lua_pop(L, 1);
    if (real == NULL) return;
    lua_pushcfunction(L, replacement != NULL ? replacement : real);
    lua_pushfstring(L, "%s.%s", library_name, name);
    lua_pushinteger(L, extra);
    lua_pushcclosure(L, wrapper, 3);
    lua_setfield(L, library, name);
}

static void wrap(lua_State *L, int library, const char *library_name, const char *name,
                 lua_CFunction wrapper, int extra) {
    wrap_with(L, library, library_name, name, wrapper, NULL, extra);
}

/// Runs inside the protected library setup of mg_state_open.
int mg_install_bounds(lua_State *L) {
    lua_getglobal(L, "string");
    int string_library = lua_gettop(L);
    wrap_with(L, string_library, "string", "find", bounded_pattern_function, mg_pattern_find, 0);
    wrap_with(L, string_library, "string", "match", bounded_pattern_function, mg_pattern_match, 0);
    wrap_with(L, string_library, "string", "gmatch", bounded_pattern_function, mg_pattern_gmatch, 0);
    wrap_with(L, string_library, "string", "gsub", bounded_pattern_function, mg_pattern_gsub, 0);
    wrap(L, string_library, "string", "rep", bounded_rep, 0);
    wrap(L, string_library, "string", "byte", charged_function, 3);
    wrap(L, string_library, "string", "char", charged_function, 4);
    wrap(L, string_library, "string", "pack", charged_function, 2);
    wrap(L, string_library, "string", "unpack", charged_function, 2);
    wrap(L, string_library, "string", "packsize", charged_function, 1);
    lua_pushnil(L);
    lua_setfield(L, string_library, "dump");

    lua_getglobal(L, "table");
    int table_library = lua_gettop(L);
    wrap(L, table_library, "table", "insert", bounded_table_function, 0);
    wrap(L, table_library, "table", "remove", bounded_table_function, 0);
    wrap(L, table_library, "table", "sort", bounded_table_function, 0);
    wrap(L, table_library, "table", "concat", bounded_table_function, 3);
    wrap(L, table_library, "table", "unpack", bounded_table_function, 2);
    wrap(L, table_library, "table", "move", bounded_table_function, -2);

    lua_getglobal(L, "utf8");
    int utf8_library = lua_gettop(L);
    wrap(L, utf8_library, "utf8", "len", charged_function, 1);
    wrap(L, utf8_library, "utf8", "offset", charged_function, 1);
    wrap(L, utf8_library, "utf8", "codepoint", charged_function, 3);
    wrap(L, utf8_library, "utf8", "char", charged_function, 4);

    lua_pushglobaltable(L);
    wrap(L, lua_gettop(L), "_G", "tonumber", charged_function, 1);
    lua_pop(L, 4);
    return 0;
}
