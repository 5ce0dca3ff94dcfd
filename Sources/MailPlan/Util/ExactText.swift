import Foundation

/// A string as a dictionary key by its exact UTF-8 bytes. Swift's `String` equality is
/// Unicode canonical equivalence, so "café" written precomposed and decomposed, or "K" and
/// U+212A KELVIN SIGN, are one `String` key; file names, SPF terms and key texts that differ
/// in bytes are different things and must not share a cache entry.
struct ExactText: Hashable {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (a: ExactText, b: ExactText) -> Bool {
        let n = a.string.utf8.count
        guard n == b.string.utf8.count else { return false }
        // Native strings are contiguous UTF-8: one memcmp (a DKIM key text is hundreds of bytes).
        if let r = a.string.utf8.withContiguousStorageIfAvailable({ x in
            b.string.utf8.withContiguousStorageIfAvailable { y in n == 0 || memcmp(x.baseAddress!, y.baseAddress!, n) == 0 }
        }), let r { return r }
        return a.string.utf8.elementsEqual(b.string.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
