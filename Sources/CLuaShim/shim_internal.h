// Declarations shared by the shim's C files only (not part of the Swift-facing API).
#ifndef MAILGATE_SHIM_INTERNAL_H
#define MAILGATE_SHIM_INTERNAL_H

#include <lua5.4/lua.h>

/// Matcher steps (or bytes scanned) charged as one instruction of the budget.
#define MG_STEPS_PER_UNIT 4

/// The most one C call may be charged before it runs (see mg_charge).
#define MG_MAX_CALL_UNITS (1LL << 18)

/// Charges `units` instructions of C work to the hook call in progress; raises the
/// budget (or deadline) error when it is spent. Call only from a C function run by Lua.
void mg_charge(lua_State *L, long long units);
/// Charges `steps` steps of C work (MG_STEPS_PER_UNIT to an instruction).
void mg_charge_work(lua_State *L, long long steps);

int mg_pattern_find(lua_State *L);
int mg_pattern_match(lua_State *L);
int mg_pattern_gmatch(lua_State *L);
int mg_pattern_gsub(lua_State *L);

#endif
