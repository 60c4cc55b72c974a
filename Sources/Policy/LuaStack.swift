// Swift's view of a Lua stack, limited to calls that cannot raise a Lua error:
// type checks, reads that never convert (so never allocate), raw table access and
// pushes (allocation only fails on a real out-of-memory, which aborts; see
// CLuaShim.h). Anything that may raise goes through CLuaShim.
import CLua
import CLuaShim

struct LuaStack {
    let state: OpaquePointer

    init(_ state: OpaquePointer) { self.state = state }

    var top: Int32 {
        get { lua_gettop(state) }
        nonmutating set { lua_settop(state, newValue) }
    }

    func pop(_ count: Int32 = 1) { mg_pop(state, count) }
    func absolute(_ index: Int32) -> Int32 { lua_absindex(state, index) }
    func type(at index: Int32) -> Int32 { lua_type(state, index) }
    func isNil(at index: Int32) -> Bool { lua_type(state, index) <= LUA_TNIL }

    // MARK: reading

    func string(at index: Int32) -> String? {
        var length = 0
        guard let bytes = mg_tostring(state, index, &length) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }

    /// An integer, or a float with an integral value.
    func integer(at index: Int32) -> Int? {
        guard lua_type(state, index) == LUA_TNUMBER else { return nil }
        var isInteger: Int32 = 0
        let value = lua_tointegerx(state, index, &isInteger)
        return isInteger != 0 ? Int(value) : nil
    }

    func number(at index: Int32) -> Double? {
        guard lua_type(state, index) == LUA_TNUMBER else { return nil }
        return lua_tonumberx(state, index, nil)
    }

    func bool(at index: Int32) -> Bool? {
        guard lua_type(state, index) == LUA_TBOOLEAN else { return nil }
        return lua_toboolean(state, index) != 0
    }

    /// Raw t[i] for the table at `index`, pushed; returns its type.
    @discardableResult
    func pushRawIndex(_ table: Int32, _ i: Int) -> Int32 { lua_rawgeti(state, table, lua_Integer(i)) }

    @discardableResult
    func pushRawField(_ table: Int32, _ key: String) -> Int32 { mg_rawget_field(state, table, key) }

    func rawLength(at index: Int32) -> Int { Int(lua_rawlen(state, index)) }

    // MARK: pushing

    func push(_ value: String) {
        var value = value
        value.withUTF8 { bytes in
            _ = lua_pushlstring(state, bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, bytes.count)
        }
    }

    func push(_ value: String?) {
        if let value { push(value) } else { lua_pushnil(state) }
    }

    func push(_ value: Int) { lua_pushinteger(state, lua_Integer(value)) }
    func push(_ value: Double) { lua_pushnumber(state, value) }
    func push(_ value: Bool) { lua_pushboolean(state, value ? 1 : 0) }
    func pushNil() { lua_pushnil(state) }
    func pushValue(_ index: Int32) { lua_pushvalue(state, index) }

    func newTable(arrayCount: Int = 0, fieldCount: Int = 0) {
        lua_createtable(state, Int32(clamping: arrayCount), Int32(clamping: fieldCount))
    }

    /// t[key] = top (popped) for the table at `table`, which has no metatable yet.
    func setField(_ table: Int32, _ key: String) { lua_setfield(state, table, key) }
    /// t[i] = top (popped), raw.
    func setIndex(_ table: Int32, _ i: Int) { lua_rawseti(state, table, lua_Integer(i)) }
    /// Sets the metatable of the value at `index` to the table on top (popped).
    func setMetatable(_ index: Int32) { lua_setmetatable(state, index) }

    func push(_ value: PolicyValue) {
        switch value {
        case .string(let text): push(text)
        case .integer(let number): push(number)
        case .double(let number): push(number)
        case .bool(let flag): push(flag)
        case .array(let elements):
            newTable(arrayCount: elements.count)
            for (offset, element) in elements.enumerated() {
                push(element)
                setIndex(-2, offset + 1)
            }
        case .table(let fields):
            newTable(fieldCount: fields.count)
            for (key, element) in fields {
                push(element)
                setField(-2, key)
            }
        }
    }

    /// Pushes the registry value for `ref`; returns its type.
    @discardableResult
    func pushRef(_ ref: Int32) -> Int32 { mg_push_ref(state, ref) }
    /// Moves the top value into the registry.
    func makeRef() -> Int32 { mg_ref(state) }
}
