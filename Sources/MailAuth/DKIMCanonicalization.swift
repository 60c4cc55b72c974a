// RFC 6376 §3.4 canonicalization: "simple" and "relaxed" for header fields and for the
// body. The body is streamed in chunks to a sink (the hasher), never copied whole.
// Lines end at LF; a CR right before it belongs to the line end, so bare-LF messages
// canonicalize as if they had CRLF (what the wire would have carried).

enum HeaderCanonicalizer {
    /// The canonical form of `field` (raw bytes, folding kept, no final CRLF), with the
    /// final CRLF when `withCRLF` (every field but the signature being verified).
    static func canonicalize(_ raw: ArraySlice<UInt8>, _ mode: DKIMCanonicalization, withCRLF: Bool = true) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count + 2)
        switch mode {
        case .simple:
            out.append(contentsOf: raw)
        case .relaxed:
            // Name: lowercased, WSP before the colon dropped. Value: unfolded, WSP runs
            // to one SP, WSP at both ends dropped.
            guard let colon = raw.firstIndex(of: 58) else {
                out.append(contentsOf: raw.lazy.map(lowercaseASCII))
                break
            }
            var nameEnd = colon
            while nameEnd > raw.startIndex && isWSP(raw[nameEnd - 1]) { nameEnd -= 1 }
            out.append(contentsOf: raw[raw.startIndex..<nameEnd].lazy.map(lowercaseASCII))
            out.append(58)
            var pendingSpace = false
            var wroteValue = false
            for byte in raw[(colon + 1)...] {
                if byte == 13 || byte == 10 { continue }
                if isWSP(byte) { pendingSpace = true; continue }
                if pendingSpace && wroteValue { out.append(32) }
                pendingSpace = false
                wroteValue = true
                out.append(byte)
            }
        }
        if withCRLF { out.append(13); out.append(10) }
        return out
    }

    @inline(__always) static func isWSP(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 }
    @inline(__always) static func lowercaseASCII(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte + 32 : byte }
}

enum BodyCanonicalizer {
    /// Feeds the canonical form of `body` to `sink` in chunks.
    static func canonicalize(_ body: UnsafeBufferPointer<UInt8>, _ mode: DKIMCanonicalization,
                             _ sink: (UnsafeBufferPointer<UInt8>) -> Void) {
        withoutActuallyEscaping(sink) { run(body, mode, $0) }
    }

    private static func run(_ body: UnsafeBufferPointer<UInt8>, _ mode: DKIMCanonicalization,
                            _ sink: @escaping (UnsafeBufferPointer<UInt8>) -> Void) {
        var writer = ChunkWriter(sink: sink)
        var pendingEmptyLines = 0
        var wroteAny = false
        var index = 0
        let count = body.count
        while index < count {
            var lineEnd = index
            while lineEnd < count && body[lineEnd] != 10 { lineEnd += 1 }
            let terminated = lineEnd < count
            var contentEnd = lineEnd
            if terminated && contentEnd > index && body[contentEnd - 1] == 13 { contentEnd -= 1 }
            let next = terminated ? lineEnd + 1 : count
            defer { index = next }

            switch mode {
            case .simple:
                if contentEnd == index {
                    if terminated { pendingEmptyLines += 1 }
                    continue
                }
                writer.emitCRLF(pendingEmptyLines); pendingEmptyLines = 0
                writer.append(UnsafeBufferPointer(rebasing: body[index..<contentEnd]))
                writer.emitCRLF(1)
                wroteAny = true
            case .relaxed:
                // Find the line without trailing WSP; an all-WSP line is empty.
                var end = contentEnd
                while end > index && HeaderCanonicalizer.isWSP(body[end - 1]) { end -= 1 }
                if end == index {
                    if terminated || contentEnd > index { pendingEmptyLines += 1 }
                    continue
                }
                writer.emitCRLF(pendingEmptyLines); pendingEmptyLines = 0
                // Runs that canonicalization leaves alone (non-WSP bytes, and single SPs
                // between them) are copied whole; every other WSP run becomes one SP.
                var position = index
                while position < end {
                    var runEnd = position
                    while runEnd < end {
                        let byte = body[runEnd]
                        if !HeaderCanonicalizer.isWSP(byte) { runEnd += 1; continue }
                        // Trailing WSP was cut off above, so a WSP here has a byte after it.
                        if byte == 32 && runEnd > position && !HeaderCanonicalizer.isWSP(body[runEnd + 1]) {
                            runEnd += 1
                            continue
                        }
                        break
                    }
                    if runEnd > position { writer.append(UnsafeBufferPointer(rebasing: body[position..<runEnd])) }
                    guard runEnd < end else { break }
                    writer.append(32)
                    position = runEnd
                    while position < end && HeaderCanonicalizer.isWSP(body[position]) { position += 1 }
                }
                writer.emitCRLF(1)
                wroteAny = true
            }
        }
        // An empty simple body is one CRLF; an empty relaxed body is empty (RFC 6376
        // §3.4.3, §3.4.4 with erratum 1384). Trailing empty lines are never written.
        if mode == .simple && !wroteAny { writer.emitCRLF(1) }
        writer.flush()
    }

    /// Gathers small writes into 16 KiB chunks for the hasher.
    struct ChunkWriter {
        let sink: (UnsafeBufferPointer<UInt8>) -> Void
        var buffer: [UInt8] = []

        init(sink: @escaping (UnsafeBufferPointer<UInt8>) -> Void) {
            self.sink = sink
            buffer.reserveCapacity(16 * 1024)
        }

        mutating func append(_ byte: UInt8) {
            buffer.append(byte)
            if buffer.count >= 16 * 1024 { flush() }
        }

        mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            if buffer.count + bytes.count > 16 * 1024 { flush() }
            if bytes.count >= 16 * 1024 { sink(bytes); return }
            buffer.append(contentsOf: bytes)
        }

        mutating func emitCRLF(_ times: Int) {
            for _ in 0..<times { append(13); append(10) }
        }

        mutating func flush() {
            guard !buffer.isEmpty else { return }
            buffer.withUnsafeBufferPointer { sink($0) }
            buffer.removeAll(keepingCapacity: true)
        }
    }
}
