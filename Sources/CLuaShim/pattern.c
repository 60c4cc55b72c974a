// string.find/match/gmatch/gsub for the sandbox: Lua 5.4's pattern language with a
// matcher that counts its own work. Lua's matcher backtracks and cannot be
// interrupted (the count hook only fires between Lua instructions), so no estimate
// made before a call bounds it well: a class of 80 ranges made each step ~240 times
// dearer than the estimate assumed. This one counts every step it takes (a position
// tried, a character matched against an item, each range of a class scanned, each
// byte compared by a back-reference, %b or a plain find) and charges them to the
// hook call's instruction budget as it goes (mg_charge_work: MG_STEPS_PER_UNIT steps
// per instruction), so a call stops, with the budget error, as soon as the budget is
// spent, and the wall time of a whole budget of pattern work is bounded. One call
// may take at most MG_MAX_CALL_STEPS steps whatever the budget. Semantics
// follow the Lua 5.4 manual (§6.4.1); error texts are Lua's.
#include <lua5.4/lua.h>
#include <lua5.4/lauxlib.h>
#include <ctype.h>
#include <string.h>

#include "shim_internal.h"

#define MG_MAX_CAPTURES 32
#define MG_MAX_MATCH_DEPTH 200
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
/// Steps counted before they are charged (and the deadline looked at).
#define MG_STEP_FLUSH 4096
/// Steps one call may take whatever the budget left: a C call cannot be suspended,
/// so this bounds how long one holds its thread (an event loop, for a call that
/// starts there) even under a budget raised far above the default.
#define MG_MAX_CALL_STEPS (1LL << 20)

typedef struct {
    const char *src_init, *src_end, *p_end;
    lua_State *L;
    int depth;
    int level;
    long long steps;
    long long total;
    struct { const char *init; ptrdiff_t len; } capture[MG_MAX_CAPTURES];
} matcher;

static void flush_steps(matcher *m) {
    if (m->steps > 0) {
        long long steps = m->steps;
        m->steps = 0;
        m->total += steps;
        mg_charge_work(m->L, steps);
        if (m->total > MG_MAX_CALL_STEPS)
            luaL_error(m->L, "pattern too costly: more than %I steps in one call (the sandbox limit)",
                       (lua_Integer)MG_MAX_CALL_STEPS);
    }
}

static inline void count(matcher *m, long long steps) {
    m->steps += steps;
    if (m->steps >= MG_STEP_FLUSH) flush_steps(m);
}

static const char *do_match(matcher *m, const char *s, const char *p);

static const char *class_end(matcher *m, const char *p) {
    if (*p++ == '%') {
        if (p >= m->p_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
        return p + 1;
    }
    if (p[-1] == '[') {
        if (p < m->p_end && *p == '^') p++;
        do {
            if (p >= m->p_end) luaL_error(m->L, "malformed pattern (missing ']')");
            if (*(p++) == '%' && p < m->p_end) p++;
        } while (p >= m->p_end || *p != ']');
        return p + 1;
    }
    return p;
}

static int match_class(int c, int cl) {
    int res;
    switch (tolower(cl)) {
        case 'a': res = isalpha(c); break;
        case 'c': res = iscntrl(c); break;
        case 'd': res = isdigit(c); break;
        case 'g': res = isgraph(c); break;
        case 'l': res = islower(c); break;
        case 'p': res = ispunct(c); break;
        case 's': res = isspace(c); break;
        case 'u': res = isupper(c); break;
        case 'w': res = isalnum(c); break;
        case 'x': res = isxdigit(c); break;
        default: return cl == c;
    }
    if (isupper(cl)) res = !res;
    return res;
}

/// `p` at '[', `ec` at the closing ']'. Every item scanned is a step.
static int match_bracket(matcher *m, int c, const char *p, const char *ec) {
    int matched = 0, negate = 0;
    const char *start = p;
    p++;
    if (*p == '^') { negate = 1; p++; }
    while (p < ec) {
        if (*p == '%') {
            p++;
            if (match_class(c, (unsigned char)*p)) { matched = 1; break; }
            p++;
        } else if (p[1] == '-' && p + 2 < ec) {
            if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) { matched = 1; break; }
            p += 3;
        } else {
            if ((unsigned char)*p == c) { matched = 1; break; }
            p++;
        }
    }
    count(m, 1 + (p - start) / 2);
    return negate ? !matched : matched;
}

static int single_match(matcher *m, const char *s, const char *p, const char *ep) {
    if (s >= m->src_end) return 0;
    int c = (unsigned char)*s;
    switch (*p) {
        case '.': count(m, 1); return 1;
        case '%': count(m, 1); return match_class(c, (unsigned char)p[1]);
        case '[': return match_bracket(m, c, p, ep - 1);
        default: count(m, 1); return (unsigned char)*p == c;
    }
}

static const char *match_balance(matcher *m, const char *s, const char *p) {
    if (p + 1 >= m->p_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
    if (s >= m->src_end || *s != *p) return NULL;
    int open = *p, close = p[1], depth = 1;
    const char *start = s;
    const char *found = NULL;
    while (++s < m->src_end) {
        if (*s == close) {
            if (--depth == 0) { found = s + 1; break; }
        } else if (*s == open) {
            depth++;
        }
    }
    count(m, 1 + (s - start));
    return found;
}

static const char *max_expand(matcher *m, const char *s, const char *p, const char *ep) {
    ptrdiff_t i = 0;
    while (single_match(m, s + i, p, ep)) i++;
    while (i >= 0) {
        const char *res = do_match(m, s + i, ep + 1);
        if (res) return res;
        i--;
    }
    return NULL;
}

static const char *min_expand(matcher *m, const char *s, const char *p, const char *ep) {
    for (;;) {
        const char *res = do_match(m, s, ep + 1);
        if (res != NULL) return res;
        if (single_match(m, s, p, ep)) s++;
        else return NULL;
    }
}

static const char *start_capture(matcher *m, const char *s, const char *p, ptrdiff_t what) {
    if (m->level >= MG_MAX_CAPTURES) luaL_error(m->L, "too many captures");
    m->capture[m->level].init = s;
    m->capture[m->level].len = what;
    m->level++;
    const char *res = do_match(m, s, p);
    if (res == NULL) m->level--;
    return res;
}

static const char *end_capture(matcher *m, const char *s, const char *p) {
    int l = -1;
    for (int i = m->level - 1; i >= 0; i--)
        if (m->capture[i].len == CAP_UNFINISHED) { l = i; break; }
    if (l < 0) luaL_error(m->L, "invalid pattern capture");
    m->capture[l].len = s - m->capture[l].init;
    const char *res = do_match(m, s, p);
    if (res == NULL) m->capture[l].len = CAP_UNFINISHED;
    return res;
}

static const char *match_capture(matcher *m, const char *s, int digit) {
    int l = digit - '1';
    if (l < 0 || l >= m->level || m->capture[l].len == CAP_UNFINISHED)
        luaL_error(m->L, "invalid capture index %%%d", l + 1);
    size_t len = (size_t)m->capture[l].len;
    count(m, 1 + (long long)len);
    if ((size_t)(m->src_end - s) >= len && memcmp(m->capture[l].init, s, len) == 0) return s + len;
    return NULL;
}

static const char *do_match(matcher *m, const char *s, const char *p) {
    if (m->depth-- == 0) luaL_error(m->L, "pattern too complex");
    count(m, MG_STEPS_PER_UNIT);  // a call costs about as much as a Lua instruction
    for (;;) {
        count(m, 1);
        if (p == m->p_end) break;
        if (*p == '(') {
            s = p + 1 < m->p_end && p[1] == ')' ? start_capture(m, s, p + 2, CAP_POSITION)
                                                : start_capture(m, s, p + 1, CAP_UNFINISHED);
            break;
        }
        if (*p == ')') { s = end_capture(m, s, p + 1); break; }
        if (*p == '$' && p + 1 == m->p_end) {
            if (s != m->src_end) s = NULL;
            break;
        }
        if (*p == '%' && p + 1 < m->p_end) {
            if (p[1] == 'b') {
                s = match_balance(m, s, p + 2);
                if (s == NULL) break;
                p += 4;
                continue;
            }
            if (p[1] == 'f') {
                p += 2;
                if (p >= m->p_end || *p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
                const char *ep = class_end(m, p);
                int previous = s == m->src_init ? '\0' : (unsigned char)s[-1];
                int current = s < m->src_end ? (unsigned char)*s : '\0';
                if (!match_bracket(m, previous, p, ep - 1) && match_bracket(m, current, p, ep - 1)) {
                    p = ep;
                    continue;
                }
                s = NULL;
                break;
            }
            if (isdigit((unsigned char)p[1])) {
                s = match_capture(m, s, (unsigned char)p[1]);
                if (s == NULL) break;
                p += 2;
                continue;
            }
        }
        const char *ep = class_end(m, p);
        int suffix = ep < m->p_end ? *ep : '\0';
        if (!single_match(m, s, p, ep)) {
            if (suffix == '*' || suffix == '?' || suffix == '-') { p = ep + 1; continue; }
            s = NULL;
            break;
        }
        if (suffix == '?') {
            const char *res = do_match(m, s + 1, ep + 1);
            if (res != NULL) { s = res; break; }
            p = ep + 1;
            continue;
        }
        if (suffix == '+') { s = max_expand(m, s + 1, p, ep); break; }
        if (suffix == '*') { s = max_expand(m, s, p, ep); break; }
        if (suffix == '-') { s = min_expand(m, s, p, ep); break; }
        s++;
        p = ep;
    }
    m->depth++;
    return s;
}

static void prepare(matcher *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
    m->L = L;
    m->src_init = s;
    m->src_end = s + ls;
    m->p_end = p + lp;
    m->steps = 0;
    m->total = 0;
}

static void restart(matcher *m) {
    m->level = 0;
    m->depth = MG_MAX_MATCH_DEPTH;
}

static size_t get_capture(matcher *m, int i, const char *s, const char *e, const char **cap) {
    if (i >= m->level) {
        if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
        *cap = s;
        return (size_t)(e - s);
    }
    ptrdiff_t len = m->capture[i].len;
    *cap = m->capture[i].init;
    if (len == CAP_UNFINISHED) luaL_error(m->L, "unfinished capture");
    if (len == CAP_POSITION) lua_pushinteger(m->L, (m->capture[i].init - m->src_init) + 1);
    return (size_t)len;
}

static void push_capture(matcher *m, int i, const char *s, const char *e) {
    const char *cap;
    ptrdiff_t len = m->capture[i < m->level ? i : 0].len;
    size_t l = get_capture(m, i, s, e, &cap);
    if (i >= m->level || len != CAP_POSITION) lua_pushlstring(m->L, cap, l);
}

static int push_captures(matcher *m, const char *s, const char *e) {
    int n = m->level == 0 && s != NULL ? 1 : m->level;
    luaL_checkstack(m->L, n, "too many captures");
    for (int i = 0; i < n; i++) push_capture(m, i, s, e);
    return n;
}

static size_t start_position(lua_Integer pos, size_t len) {
    if (pos > 0) return (size_t)pos;
    if (pos == 0) return 1;
    if (pos < -(lua_Integer)len) return 1;
    return len + (size_t)pos + 1;
}

static int has_specials(const char *p, size_t lp) {
    for (size_t i = 0; i < lp; i++)
        if (strchr("^$*+?.([%-", p[i]) != NULL && p[i] != '\0') return 1;
    return 0;
}

/// A plain search; every byte looked at is a step.
static const char *plain_find(matcher *m, const char *s, size_t ls, const char *p, size_t lp) {
    if (lp == 0) return s;
    if (lp > ls) return NULL;
    const char *init = s;
    const char *last = s + (ls - lp);
    while (init <= last) {
        const char *hit = memchr(init, *p, (size_t)(last - init) + 1);
        if (hit == NULL) { count(m, 1 + (last - init) / 8); return NULL; }
        count(m, 1 + (hit - init) / 8 + (long long)lp);
        if (memcmp(hit + 1, p + 1, lp - 1) == 0) return hit;
        init = hit + 1;
    }
    return NULL;
}

static int find_or_match(lua_State *L, int find) {
    size_t ls, lp;
    const char *s = luaL_checklstring(L, 1, &ls);
    const char *p = luaL_checklstring(L, 2, &lp);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    matcher m;
    prepare(&m, L, s, ls, p, lp);
    if (find && (lua_toboolean(L, 4) || !has_specials(p, lp))) {
        const char *hit = plain_find(&m, s + init, ls - init, p, lp);
        flush_steps(&m);
        if (hit != NULL) {
            lua_pushinteger(L, (hit - s) + 1);
            lua_pushinteger(L, (lua_Integer)((hit - s) + lp));
            return 2;
        }
    } else {
        int anchor = lp > 0 && *p == '^';
        if (anchor) { p++; lp--; prepare(&m, L, s, ls, p, lp); }
        const char *s1 = s + init;
        do {
            restart(&m);
            const char *e = do_match(&m, s1, p);
            if (e != NULL) {
                flush_steps(&m);
                if (find) {
                    lua_pushinteger(L, (s1 - s) + 1);
                    lua_pushinteger(L, e - s);
                    return push_captures(&m, NULL, NULL) + 2;
                }
                return push_captures(&m, s1, e);
            }
        } while (s1++ < m.src_end && !anchor);
        flush_steps(&m);
    }
    luaL_pushfail(L);
    return 1;
}

int mg_pattern_find(lua_State *L) { return find_or_match(L, 1); }
int mg_pattern_match(lua_State *L) { return find_or_match(L, 0); }

/// The iterator of gmatch. Upvalues: subject, pattern, next start offset, offset of
/// the end of the last match (-1 for none).
static int gmatch_step(lua_State *L) {
    size_t ls, lp;
    const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    lua_Integer start = lua_tointeger(L, lua_upvalueindex(3));
    lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
    matcher m;
    prepare(&m, L, s, ls, p, lp);
    for (const char *src = s + start; src <= m.src_end; src++) {
        restart(&m);
        const char *e = do_match(&m, src, p);
        if (e != NULL && (last < 0 || e != s + last)) {
            flush_steps(&m);
            lua_pushinteger(L, e - s);
            lua_copy(L, -1, lua_upvalueindex(3));
            lua_replace(L, lua_upvalueindex(4));
            return push_captures(&m, src, e);
        }
    }
    flush_steps(&m);
    lua_pushinteger(L, (lua_Integer)ls + 1);
    lua_replace(L, lua_upvalueindex(3));
    return 0;
}

int mg_pattern_gmatch(lua_State *L) {
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) init = ls + 1;
    lua_settop(L, 2);
    lua_pushinteger(L, (lua_Integer)init);
    lua_pushinteger(L, -1);
    lua_pushcclosure(L, gmatch_step, 4);
    return 1;
}

static void add_string_replacement(matcher *m, luaL_Buffer *b, const char *s, const char *e) {
    size_t l;
    lua_State *L = m->L;
    const char *news = lua_tolstring(L, 3, &l);
    const char *end = news + l;
    count(m, 1 + (long long)l / 8);
    for (const char *p = news; p < end; p++) {
        if (*p != '%') { luaL_addchar(b, *p); continue; }
        p++;
        if (p < end && *p == '%') { luaL_addchar(b, '%'); continue; }
        if (p < end && isdigit((unsigned char)*p)) {
            if (*p == '0') {
                luaL_addlstring(b, s, (size_t)(e - s));
            } else {
                push_capture(m, *p - '1', s, e);
                luaL_tolstring(L, -1, NULL);
                lua_remove(L, -2);
                luaL_addvalue(b);
            }
            continue;
        }
        luaL_error(L, "invalid use of '%c' in replacement string", '%');
    }
}

static void add_value(matcher *m, luaL_Buffer *b, const char *s, const char *e, int tr) {
    lua_State *L = m->L;
    if (tr == LUA_TFUNCTION) {
        lua_pushvalue(L, 3);
        int n = push_captures(m, s, e);
        lua_call(L, n, 1);
    } else if (tr == LUA_TTABLE) {
        push_capture(m, 0, s, e);
        lua_gettable(L, 3);
    } else {
        add_string_replacement(m, b, s, e);
        return;
    }
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        luaL_addlstring(b, s, (size_t)(e - s));
    } else if (!lua_isstring(L, -1)) {
        luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    } else {
        luaL_addvalue(b);
    }
}

int mg_pattern_gsub(lua_State *L) {
    size_t srcl, lp;
    const char *src = luaL_checklstring(L, 1, &srcl);
    const char *p = luaL_checklstring(L, 2, &lp);
    const char *lastmatch = NULL;
    int tr = lua_type(L, 3);
    lua_Integer max_s = luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
    int anchor = lp > 0 && *p == '^';
    lua_Integer n = 0;
    int changed = 0;
    luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                     "string/function/table");
    if (anchor) { p++; lp--; }
    matcher m;
    prepare(&m, L, src, srcl, p, lp);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    while (n < max_s) {
        restart(&m);
        const char *e = do_match(&m, src, p);
        if (e != NULL && e != lastmatch) {
            n++;
            changed = 1;
            add_value(&m, &b, src, e, tr);
            src = lastmatch = e;
        } else if (src < m.src_end) {
            luaL_addchar(&b, *src++);
        } else {
            break;
        }
        if (anchor) break;
    }
    flush_steps(&m);
    if (!changed) {
        lua_pushvalue(L, 1);
    } else {
        luaL_addlstring(&b, src, (size_t)(m.src_end - src));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}
