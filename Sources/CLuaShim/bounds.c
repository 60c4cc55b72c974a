// Bounds on the C library functions the instruction hook cannot interrupt (the
// count hook only fires between Lua instructions). Installed into the state's
// own `string` and `table` libraries at creation, so every policy, the string
// metatable (method calls such as s:find) and the prelude see the bounded ones:
//  - string.find/match/gmatch/gsub: subject <= MG_MAX_SUBJECT bytes, pattern <=
//    MG_MAX_PATTERN bytes, and a worst-case cost estimate of the backtracking
//    matcher <= MG_MAX_MATCH_COST: (n+1) start positions (1 when anchored with ^)
//    times (n+1) for every *, +, - repetition, %b and back-reference, times 2 for
//    every ?, where n is the subject length (a repetition at the very end of the
//    pattern does not count: nothing after it can make it backtrack). Size bounds alone do not help: a
//    pattern of 60 "a-" items on 64 KiB ran for minutes. Plain finds (4th argument
//    true, or no special characters) are linear and only size-bounded;
//  - string.rep with an empty string and separator returns "" at once (the real one
//    loops n times doing nothing);
//  - table.concat/insert/remove/unpack/sort/move: at most MG_MAX_TABLE_RANGE elements
//    (a __len metamethod can claim 2^62 elements and make them loop in C);
//  - string.dump is removed (binary chunks are refused anyway).
#include <lua5.4/lua.h>
#include <lua5.4/lauxlib.h>

#define MG_MAX_SUBJECT 65536
#define MG_MAX_PATTERN 256
#define MG_MAX_TABLE_RANGE ((lua_Integer)1 << 20)
#define MG_MAX_MATCH_COST 33554432.0  /* 2^25 steps: about 0.2 s at the measured ~1.7e8 steps/s */

#include <string.h>

static int has_specials(const char *pattern, size_t length) {
    for (size_t i = 0; i < length; i++)
        if (strchr("^$*+?.([%-", pattern[i]) != NULL) return 1;
    return 0;
}

/// The worst-case number of steps of Lua's backtracking matcher for a subject of
/// `n` bytes, by the rule in the file comment.
static double match_cost(const char *p, size_t length, size_t n, int anchor_allowed) {
    const char *end = p + length;
    double per_item = (double)n + 1.0;
    double cost = 1.0;
    if (anchor_allowed && p < end && *p == '^') p++;
    else cost = per_item;
    while (p < end) {
        int single = 1;  // a one-character item that may take a repetition suffix
        if (*p == '%' && p + 1 < end) {
            char c = p[1];
            if (c == 'b') { cost *= per_item; p += 4; single = 0; }
            else if (c == 'f') {
                p += 2;
                if (p < end && *p == '[') {
                    p++;
                    if (p < end && *p == '^') p++;
                    do { if (p < end && *p == '%') p++; if (p < end) p++; } while (p < end && *p != ']');
                    if (p < end) p++;
                }
                single = 0;
            }
            else if (c >= '0' && c <= '9') { cost *= per_item; p += 2; single = 0; }
            else p += 2;
        } else if (*p == '[') {
            p++;
            if (p < end && *p == '^') p++;
            do { if (p < end && *p == '%') p++; if (p < end) p++; } while (p < end && *p != ']');
            if (p < end) p++;
        } else if (*p == '(' || *p == ')') {
            p++;
            single = 0;
        } else {
            p++;
        }
        if (single && p < end) {
            if (*p == '*' || *p == '+' || *p == '-') {
                p++;
                // A last repetition (only closing captures after it) never backtracks
                // into: it succeeds right after its scan, which the start factor covers.
                const char *rest = p;
                while (rest < end && *rest == ')') rest++;
                if (rest != end) cost *= per_item;
            }
            else if (*p == '?') { cost *= 2.0; p++; }
        }
        if (cost > MG_MAX_MATCH_COST) return cost;
    }
    return cost;
}

static lua_CFunction real_function(lua_State *L) { return lua_tocfunction(L, lua_upvalueindex(1)); }
static const char *function_name(lua_State *L) { return lua_tostring(L, lua_upvalueindex(2)); }

static int bounded_pattern_function(lua_State *L) {
    size_t length;
    if (lua_type(L, 1) == LUA_TSTRING) {
        lua_tolstring(L, 1, &length);
        if (length > MG_MAX_SUBJECT)
            return luaL_error(L, "%s: subject of %I bytes exceeds the sandbox limit of %d bytes",
                              function_name(L), (lua_Integer)length, MG_MAX_SUBJECT);
    }
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *pattern = lua_tolstring(L, 2, &length);
        if (length > MG_MAX_PATTERN)
            return luaL_error(L, "%s: pattern of %I bytes exceeds the sandbox limit of %d bytes",
                              function_name(L), (lua_Integer)length, MG_MAX_PATTERN);
        int is_find = strcmp(function_name(L), "string.find") == 0;
        int plain = is_find && lua_toboolean(L, 4);
        if (!plain && lua_type(L, 1) == LUA_TSTRING && has_specials(pattern, length)) {
            size_t subject_length;
            lua_tolstring(L, 1, &subject_length);
            int anchor_allowed = strcmp(function_name(L), "string.gmatch") != 0;
            if (match_cost(pattern, length, subject_length, anchor_allowed) > MG_MAX_MATCH_COST)
                return luaL_error(L, "%s: pattern too costly for a subject of %I bytes (fewer repetitions, "
                                     "an anchor or a shorter subject)", function_name(L), (lua_Integer)subject_length);
        }
    }
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

static void check_range(lua_State *L, int first_arg, int has_default_last) {
    lua_Integer first = luaL_optinteger(L, first_arg, 1);
    lua_Integer last;
    if (lua_isnoneornil(L, first_arg + 1)) {
        if (!has_default_last) return;
        last = luaL_len(L, 1);
    } else {
        last = luaL_checkinteger(L, first_arg + 1);
    }
    if (last >= first && (lua_Unsigned)last - (lua_Unsigned)first >= (lua_Unsigned)MG_MAX_TABLE_RANGE)
        luaL_error(L, "%s: range of more than %I elements exceeds the sandbox limit",
                   function_name(L), MG_MAX_TABLE_RANGE);
}

/// Upvalue 3: the argument where a (first, last) range starts, 0 for none; negative
/// when `last` has no default (table.move), positive when it defaults to #t.
static int bounded_table_function(lua_State *L) {
    int range_arg = (int)lua_tointeger(L, lua_upvalueindex(3));
    if (range_arg == 0 && lua_type(L, 1) == LUA_TTABLE) {
        lua_Integer length = luaL_len(L, 1);
        if (length > MG_MAX_TABLE_RANGE)
            return luaL_error(L, "%s: table of %I elements exceeds the sandbox limit of %I",
                              function_name(L), length, MG_MAX_TABLE_RANGE);
    } else if (range_arg != 0) {
        check_range(L, range_arg > 0 ? range_arg : -range_arg, range_arg > 0);
    }
    return real_function(L)(L);
}

static void wrap(lua_State *L, int library, const char *library_name, const char *name,
                 lua_CFunction wrapper, int range_arg) {
    lua_getfield(L, library, name);
    lua_CFunction real = lua_tocfunction(L, -1);
    lua_pop(L, 1);
    if (real == NULL) return;
    lua_pushcfunction(L, real);
    lua_pushfstring(L, "%s.%s", library_name, name);
    lua_pushinteger(L, range_arg);
    lua_pushcclosure(L, wrapper, 3);
    lua_setfield(L, library, name);
}

/// Runs inside the protected library setup of mg_state_open.
int mg_install_bounds(lua_State *L) {
    lua_getglobal(L, "string");
    int string_library = lua_gettop(L);
    static const char *const pattern_functions[] = {"find", "match", "gmatch", "gsub", NULL};
    for (const char *const *name = pattern_functions; *name; name++)
        wrap(L, string_library, "string", *name, bounded_pattern_function, 0);
    wrap(L, string_library, "string", "rep", bounded_rep, 0);
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
    lua_pop(L, 2);
    return 0;
}
