// gzip (RFC 1952) through the system zlib: the DMARC aggregate report attachment
// (RFC 7489 §7.2.1.1 names "gzip" as the compression). One call, whole buffer, bounded
// by the input (deflateBound); no streaming needed for reports.
import CZlib

public enum Gzip {
    public struct Failure: Error, Sendable, Equatable {
        public var code: Int32
    }

    /// `bytes` as a gzip member (default compression level).
    public static func compress(_ bytes: [UInt8]) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
        var rc = deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw Failure(code: rc) }
        defer { deflateEnd(&stream) }
        // deflateBound does not count the gzip wrapper's 18 bytes beyond zlib's 6.
        let capacity = Int(deflateBound(&stream, UInt(bytes.count))) + 32
        var output = [UInt8](repeating: 0, count: capacity)
        var input = bytes
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                rc = deflate(&stream, Z_FINISH)
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        guard rc == Z_STREAM_END else { throw Failure(code: rc) }
        output.removeSubrange(produced...)
        return output
    }

    /// The bytes of a gzip member, at most `limit` of them (tests, and checking what we
    /// wrote); nil when the data is not gzip or expands beyond `limit`.
    public static func decompress(_ bytes: [UInt8], limit: Int = 64 << 20) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var input = bytes
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        return input.withUnsafeMutableBufferPointer { inBuffer -> [UInt8]? in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = uInt(inBuffer.count)
            while true {
                let (rc, produced) = chunk.withUnsafeMutableBufferPointer { outBuffer -> (Int32, Int) in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = uInt(outBuffer.count)
                    let rc = inflate(&stream, Z_NO_FLUSH)
                    return (rc, outBuffer.count - Int(stream.avail_out))
                }
                result.append(contentsOf: chunk[..<produced])
                guard result.count <= limit else { return nil }
                if rc == Z_STREAM_END { return result }
                guard rc == Z_OK, produced > 0 || stream.avail_in > 0 else { return nil }
            }
        }
    }
}
