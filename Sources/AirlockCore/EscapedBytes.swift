extension [UInt8] {
    /// Appends `s`'s UTF-8, copying each run of bytes for which `isPlain` holds in one go
    /// and handing every other byte to `escape`. Text formats (JSON, COPY) written on the
    /// request path are mostly plain bytes; appending them one by one was the cost.
    @inlinable
    public mutating func appendEscaping(_ s: String, isPlain: (UInt8) -> Bool, escape: (UInt8, inout [UInt8]) -> Void) {
        var s = s  // native strings are contiguous UTF-8 already: no copy
        s.withUTF8 { bytes in
            var run = 0
            for i in 0..<bytes.count where !isPlain(bytes[i]) {
                if run < i { append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i])) }
                run = i + 1
                escape(bytes[i], &self)
            }
            if run < bytes.count { append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run...])) }
        }
    }
}
